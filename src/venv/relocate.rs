//! Relocation: turns a staged virtualenv into a tree that runs at its final place, with no
//! byte of the staging path left: a fresh tree of hard links, or the staged venv itself, moved.
//! Two targets: a fixed install path (for .deb and .rpm: absolute shebangs, activate scripts
//! naming the path) and relocatable (for the tarball: scripts and activate find the bundle from
//! their own location). Console scripts, activate scripts, pyvenv.cfg and the project's
//! direct_url.json are rewritten and their RECORD entries updated; absolute symlinks into the
//! tree become relative; any other file that still holds the staging path is an error.
//! [`compile`] then byte-compiles the tree (for the formats that ship bytecode), recording the
//! final path, in checked-hash mode: reproducible, and a module an operator edits in place is
//! compiled again instead of being shadowed by its old bytecode.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::host::on_every_core;
use crate::venv::build::normalize_path;
use crate::venv::python::Interpreter;

/// The longest shebang line Linux executes (BINPRM_BUF_SIZE is 128, with the newline).
const MAX_SHEBANG: usize = 127;

/// Where the relocated tree will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// At this absolute install path only.
    Fixed(&'a str),
    /// Anywhere: every path is found at run time.
    Relocatable,
}

/// Where the project's source came from, written into its direct_url.json (PEP 610).
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// Git URL; `None` for a repository on the build machine, whose path would tie the bundle
    /// to the checkout it was built in (its direct_url.json is left out instead).
    pub git: Option<&'a str>,
    /// The ref as written.
    pub git_ref: &'a str,
    /// The commit.
    pub commit: &'a str,
}

/// Relocates `staged` (the staging directory holding `venv/` and `src/`) into `out` for
/// `target`, interpreted by `python`. Paths (relative to the venv) that `exclude` matches are
/// left out, directories with everything below them, and the RECORD files follow. The staged
/// venv is left as it was: `out` is a new tree (hard links to the files it keeps as they are);
/// [`Relocator::run`] can take the staged venv itself instead.
pub fn relocate(
    project: &str,
    staged: &Path,
    out: &Path,
    target: Target<'_>,
    python: &Interpreter,
    origin: &Origin<'_>,
    exclude: &globset::GlobSet,
) -> Result<()> {
    Relocator::new(project, staged, target, python, origin).run(out, exclude, false)
}

/// A file whose content relocation changed: its new bytes, or `None` when it was left out.
type Change = (PathBuf, Option<Vec<u8>>);

pub(crate) struct Relocator<'a> {
    project: &'a str,
    /// The staging directory: no byte of it may remain.
    build_root: String,
    /// The staged venv (inside `build_root`).
    venv: String,
    target: Target<'a>,
    python: &'a Interpreter,
    origin: &'a Origin<'a>,
}

impl<'a> Relocator<'a> {
    pub(crate) fn new(
        project: &'a str,
        staged: &Path,
        target: Target<'a>,
        python: &'a Interpreter,
        origin: &'a Origin<'a>,
    ) -> Relocator<'a> {
        Relocator {
            project,
            build_root: staged.to_string_lossy().into_owned(),
            venv: staged.join("venv").to_string_lossy().into_owned(),
            target,
            python,
            origin,
        }
    }

    /// Relocates the staged venv into `out`, a new tree, or (`in_place`: the staged venv itself
    /// becomes `out`, its files rewritten or removed where they are; for the last tree of a
    /// build, which then creates no link per file and leaves no staged venv to remove) by
    /// renaming it there.
    pub(crate) fn run(&self, out: &Path, exclude: &globset::GlobSet, in_place: bool) -> Result<()> {
        let venv = PathBuf::from(&self.venv);
        let started = std::time::Instant::now();
        // What is walked: the staged venv, or `out` once the venv is renamed there.
        let from = if in_place {
            fs_err::create_dir_all(out.parent().expect("a tree has a parent"))?;
            fs_err::rename(&venv, out)?;
            out.to_path_buf()
        } else {
            venv
        };
        // Directories and symlinks first, in order; regular files after, on every core.
        let mut files = Vec::new();
        let mut excluded: BTreeMap<PathBuf, Option<Vec<u8>>> = BTreeMap::new();
        let mut walk = walkdir::WalkDir::new(&from).sort_by_file_name().into_iter();
        while let Some(entry) = walk.next() {
            let entry = entry.map_err(|e| Error::Io(e.into()))?;
            let rel = entry.path().strip_prefix(&from).expect("below the venv").to_path_buf();
            let dest = out.join(&rel);
            let kind = entry.file_type();
            if !rel.as_os_str().is_empty() && exclude.is_match(&rel) {
                // Left out, with all below it; RECORD files forget what they listed of it.
                for inner in walkdir::WalkDir::new(entry.path()) {
                    let inner = inner.map_err(|e| Error::Io(e.into()))?;
                    if !inner.file_type().is_dir() {
                        let inner_rel = inner.path().strip_prefix(&from).expect("below the venv");
                        excluded.insert(inner_rel.to_path_buf(), None);
                    }
                }
                if kind.is_dir() {
                    walk.skip_current_dir();
                }
                if in_place {
                    if kind.is_dir() {
                        fs_err::remove_dir_all(&dest)?;
                    } else {
                        fs_err::remove_file(&dest)?;
                    }
                }
                continue;
            }
            if kind.is_dir() {
                fs_err::create_dir_all(&dest)?;
                fs_err::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))?;
            } else if kind.is_symlink() {
                let now = fs_err::read_link(entry.path())?;
                let link = self.symlink(&rel, &now)?;
                if in_place && link != now {
                    fs_err::remove_file(&dest)?;
                }
                if !in_place || link != now {
                    std::os::unix::fs::symlink(link, &dest)?;
                }
            } else {
                let executable =
                    entry.metadata().map_err(|e| Error::Io(e.into()))?.permissions().mode() & 0o111 != 0;
                files.push((rel, executable));
            }
        }
        // New content of rewritten files; `None` for files left out.
        let mut rewritten: BTreeMap<PathBuf, Option<Vec<u8>>> =
            on_every_core(&files, |(rel, executable)| self.place_file(rel, *executable, &from, out))?
                .into_iter()
                .flatten()
                .collect();
        let left_out = excluded.len();
        rewritten.append(&mut excluded);
        crate::venv::record::update_records(out, &rewritten)?;
        tracing::debug!(
            project = self.project,
            seconds = started.elapsed().as_secs_f64(),
            rewritten = rewritten.len() - left_out,
            excluded = left_out,
            in_place,
            "relocated"
        );
        Ok(())
    }

    /// Places the regular file `rel` of the staged venv in `out`, rewritten as
    /// [`Relocator::file`] says; returns what changed (new content, or `None` when left out).
    /// A file that needs no change is hard-linked, not copied (uv hard-links the staged venv's
    /// files from its cache too): whatever writes into the tree afterwards replaces files
    /// ([`replace_file`]) instead of writing through the link.
    /// In place (`venv` is `out`), a file left out is removed and a rewritten one replaced.
    fn place_file(&self, rel: &Path, executable: bool, venv: &Path, out: &Path) -> Result<Option<Change>> {
        crate::interrupt::check()?;
        let in_place = venv == out;
        let from = venv.join(rel);
        let bytes = fs_err::read(&from)?;
        let Some(new) = self.file(rel, &bytes)? else {
            if in_place {
                fs_err::remove_file(&from)?;
            }
            return Ok(Some((rel.to_path_buf(), None)));
        };
        let dest = out.join(rel);
        let Cow::Owned(new) = new else {
            if !in_place && std::fs::hard_link(&from, &dest).is_err() {
                fs_err::copy(&from, &dest)?;
            }
            return Ok(None);
        };
        crate::fs::replace_file(&dest, &new)?;
        let mode = if executable { 0o755 } else { 0o644 };
        fs_err::set_permissions(&dest, std::fs::Permissions::from_mode(mode))?;
        Ok((new != bytes).then(|| (rel.to_path_buf(), Some(new))))
    }

    fn fail(&self, rel: &Path, problem: &'static str) -> Error {
        Error::Relocate { project: self.project.into(), file: rel.into(), problem }
    }

    /// The new content of the file at `rel` (borrowed when unchanged), or `None` to leave it
    /// out of the tree.
    fn file<'b>(&self, rel: &Path, bytes: &'b [u8]) -> Result<Option<Cow<'b, [u8]>>> {
        let name = rel.file_name().unwrap_or_default().to_string_lossy();
        let in_bin = rel.parent() == Some(Path::new("bin"));
        let in_dist_info = rel.parent().and_then(Path::extension).is_some_and(|e| e == "dist-info");
        if rel == Path::new(".lock") || (in_dist_info && UV_PRIVATE.contains(&name.as_ref())) {
            // uv's own bookkeeping: a lock file and cache records with wall-clock timestamps.
            return Ok(None);
        }
        let new: Vec<u8> = if rel == Path::new("pyvenv.cfg") {
            self.pyvenv_cfg(bytes)
        } else if in_bin && name == "activate" {
            self.activate_sh(bytes)
        } else if in_bin && name == "activate.fish" {
            self.activate_fish(bytes)
        } else if in_bin && name == "activate.csh" {
            match self.target {
                Target::Fixed(path) => self.replace_venv(bytes, path),
                // csh cannot learn the path of a file it sources: a relocatable bundle has none.
                Target::Relocatable => return Ok(None),
            }
        } else if in_bin && bytes.starts_with(b"#!") && first_line(bytes).contains(&self.venv) {
            self.script(rel, bytes)?
        } else if name == "direct_url.json" && contains(bytes, self.build_root.as_bytes()) {
            match self.direct_url() {
                Some(json) => json,
                None => return Ok(None),
            }
        } else if !contains(bytes, self.build_root.as_bytes()) {
            return Ok(Some(Cow::Borrowed(bytes)));
        } else {
            bytes.to_vec()
        };
        if !contains(&new, self.build_root.as_bytes()) {
            return Ok(Some(Cow::Owned(new)));
        }
        if bytes.contains(&0) {
            return Err(self.fail(rel, "is a binary file that holds the build path"));
        }
        match self.target {
            Target::Relocatable => Err(self.fail(rel, "holds the build path and cannot be made relocatable")),
            Target::Fixed(path) => {
                let replaced = self.replace_venv(&new, path);
                if contains(&replaced, self.build_root.as_bytes()) {
                    Err(self.fail(rel, "holds a build path outside the virtualenv"))
                } else {
                    Ok(Some(Cow::Owned(replaced)))
                }
            }
        }
    }

    fn replace_venv(&self, bytes: &[u8], path: &str) -> Vec<u8> {
        replace(bytes, self.venv.as_bytes(), path.as_bytes())
    }

    /// `command = … -m venv <staging>` names the build path; the rest of pyvenv.cfg does not.
    fn pyvenv_cfg(&self, bytes: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(bytes);
        let mut out = String::new();
        for line in text.lines() {
            if line.starts_with("command") && line.contains(&self.venv) {
                match self.target {
                    Target::Fixed(path) => out.push_str(&line.replace(&self.venv, path)),
                    Target::Relocatable => continue,
                }
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        out.into_bytes()
    }

    fn activate_sh(&self, bytes: &[u8]) -> Vec<u8> {
        match self.target {
            Target::Fixed(path) => self.replace_venv(bytes, path),
            Target::Relocatable => {
                self.replace_assignment(bytes, "VIRTUAL_ENV=", ACTIVATE_FIND_SELF.trim_end())
            }
        }
    }

    fn activate_fish(&self, bytes: &[u8]) -> Vec<u8> {
        match self.target {
            Target::Fixed(path) => self.replace_venv(bytes, path),
            Target::Relocatable => self.replace_assignment(
                bytes,
                "set -gx VIRTUAL_ENV ",
                "set -gx VIRTUAL_ENV (realpath (dirname (status --current-filename))/..)",
            ),
        }
    }

    /// Replaces the first line that starts with `prefix` and names the staged venv (quoted or
    /// not, as Python versions differ) with `with`. Any other mention is left for the final
    /// check to refuse.
    fn replace_assignment(&self, bytes: &[u8], prefix: &str, with: &str) -> Vec<u8> {
        let text = String::from_utf8_lossy(bytes);
        let mut done = false;
        let mut out = String::with_capacity(text.len() + with.len());
        for line in text.split_inclusive('\n') {
            if !done && line.trim_start().starts_with(prefix) && line.contains(&self.venv) {
                out.push_str(with);
                out.push('\n');
                done = true;
            } else {
                out.push_str(line);
            }
        }
        out.into_bytes()
    }

    /// A console script: its shebang names the staged interpreter.
    fn script(&self, rel: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
        let first = first_line(bytes);
        let interpreter = first
            .trim_start_matches("#!")
            .trim()
            .strip_prefix(&format!("{}/bin/", self.venv))
            .filter(|name| !name.contains(char::is_whitespace) && !name.contains('/'))
            .ok_or_else(|| self.fail(rel, "has a shebang wrap cannot rewrite"))?;
        let header = match self.target {
            Target::Fixed(path) => {
                let shebang = format!("#!{path}/bin/{interpreter}");
                if shebang.len() <= MAX_SHEBANG {
                    shebang
                } else {
                    // Too long for the kernel: /bin/sh runs the interpreter, and Python reads
                    // the second line as a string literal.
                    format!("#!/bin/sh\n'''exec' '{path}/bin/{interpreter}' \"$0\" \"$@\"\n' '''")
                }
            }
            Target::Relocatable => format!(
                "#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/{interpreter}\" \"$0\" \"$@\"\n' '''"
            ),
        };
        let rest = &bytes[first.len()..];
        Ok([header.as_bytes(), rest].concat())
    }

    /// PEP 610 origin of the project itself: the git repository and commit it was built from.
    fn direct_url(&self) -> Option<Vec<u8>> {
        let json = serde_json::json!({
            "url": self.origin.git?,
            "vcs_info": {
                "vcs": "git",
                "requested_revision": self.origin.git_ref,
                "commit_id": self.origin.commit,
            },
        });
        Some(json.to_string().into_bytes())
    }

    /// Where a symlink at `rel` should point in the relocated tree.
    fn symlink(&self, rel: &Path, target: &Path) -> Result<PathBuf> {
        let escapes = || Error::SymlinkEscapes {
            project: self.project.into(),
            link: rel.into(),
            target: target.into(),
        };
        let parent = rel.parent().unwrap_or(Path::new(""));
        if target.is_absolute() {
            if let Ok(inside) = target.strip_prefix(&self.venv) {
                return Ok(relative_to(inside, parent));
            }
            // The one link allowed out of the tree: bin/pythonX.Y to the interpreter it runs on.
            if parent == Path::new("bin")
                && (target == self.python.path
                    || target.canonicalize().ok() == self.python.path.canonicalize().ok())
            {
                return Ok(target.into());
            }
            return Err(escapes());
        }
        let resolved = normalize_path(&Path::new("/venv").join(parent).join(target));
        if resolved.starts_with("/venv") { Ok(target.into()) } else { Err(escapes()) }
    }
}

/// Files uv adds to a dist-info directory for its own cache; pip has no such files.
const UV_PRIVATE: [&str; 2] = ["uv_cache.json", "uv_build.json"];

/// Replaces the `VIRTUAL_ENV="<staging>"` line of bin/activate in a relocatable bundle.
const ACTIVATE_FIND_SELF: &str = r#"# wrap: this bundle is relocatable; find it from this file's own location.
# bash and zsh know which file they source; POSIX sh does not, so there, source
# bin/activate from the bundle's own directory.
if [ -n "${BASH_SOURCE:-}" ]; then
    VIRTUAL_ENV=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
elif [ -n "${ZSH_VERSION:-}" ]; then
    VIRTUAL_ENV=$(cd "$(dirname -- "${(%):-%x}")/.." && pwd -P)
elif [ -f ./bin/activate ]; then
    VIRTUAL_ENV=$(pwd -P)
else
    echo "activate: cannot tell where this bundle is from POSIX sh; source bin/activate from the bundle's directory" >&2
    return 1 2>/dev/null || exit 1
fi
"#;

/// `target` (relative to the tree root) as seen from directory `from` (also relative).
fn relative_to(target: &Path, from: &Path) -> PathBuf {
    let ups = from.components().count();
    let mut out = PathBuf::new();
    for _ in 0..ups {
        out.push("..");
    }
    out.join(target)
}

fn first_line(bytes: &[u8]) -> &str {
    let end = bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len());
    std::str::from_utf8(&bytes[..end]).unwrap_or("")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = 0;
    for at in memchr::memmem::find_iter(bytes, from) {
        out.extend_from_slice(&bytes[rest..at]);
        out.extend_from_slice(to);
        rest = at + from.len();
    }
    out.extend_from_slice(&bytes[rest..]);
    out
}

#[cfg(test)]
#[path = "relocate_tests.rs"]
mod tests;
