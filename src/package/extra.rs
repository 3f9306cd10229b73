//! The manifest's `[[project.files]]` in the package: staged into the package root (a copied
//! source checked against the digest the plan holds, so that what ships is what was keyed), then
//! given their modes and formats in the content list, their owners in the .rpm's header and the
//! image's layer, and, in the .deb, by the postinst (dpkg unpacks as root, before the user
//! exists on a first install).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::artifact::Format;
use crate::error::{Error, Result};
use crate::manifest::files::{FileKind, is_under};
use crate::package::content::Content;
use crate::package::script::{Value, assemble, indent};
use crate::plan::files::PlannedFile;

/// Where `dest` is in the staged root.
fn staged(root: &Path, dest: &str) -> PathBuf {
    root.join(dest.trim_start_matches('/'))
}

/// Stages every entry into `root`, after wrap's own files: a path already there is an error
/// (but a directory entry may give an existing directory its mode and owner). Returns the
/// configuration files' absolute paths.
pub fn stage(root: &Path, project: &str, files: &[PlannedFile]) -> Result<Vec<String>> {
    let fail = |dest: &str, problem: String| Error::PackageFile {
        project: project.into(),
        dest: dest.into(),
        problem,
    };
    let mut conffiles = Vec::new();
    for file in files {
        let target = staged(root, &file.dest);
        let exists = std::fs::symlink_metadata(&target).ok();
        match (&file.kind, exists) {
            (FileKind::Directory, Some(meta)) if meta.is_dir() => continue,
            (_, Some(_)) => {
                let why = "is already in the package (the project's `etc/` tree, or a file wrap writes)";
                return Err(fail(&file.dest, why.into()));
            }
            _ => {}
        }
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        match &file.kind {
            FileKind::Directory => fs_err::create_dir_all(&target)?,
            FileKind::Symlink { target: to } => fs_err::os::unix::fs::symlink(to, &target)?,
            FileKind::Template { text, .. } => fs_err::write(&target, text)?,
            FileKind::Copy { abs, files: entries, source } => {
                for entry in entries {
                    let (from, to) = if entry.rel.is_empty() {
                        (abs.clone(), target.clone())
                    } else {
                        (abs.join(&entry.rel), target.join(&entry.rel))
                    };
                    if entry.is_dir() {
                        fs_err::create_dir_all(&to)?;
                        continue;
                    }
                    let bytes = fs_err::read(&from)?;
                    if crate::digest::sha256_hex(&bytes) != entry.sha256 {
                        let why =
                            format!("its source `{source}` changed while wrap was building; build again");
                        return Err(fail(&file.dest, why));
                    }
                    fs_err::create_dir_all(to.parent().expect("below the root"))?;
                    fs_err::write(&to, bytes)?;
                    let mode = if entry.executable { 0o755 } else { 0o644 };
                    fs_err::set_permissions(&to, std::fs::Permissions::from_mode(mode))?;
                    if file.config {
                        conffiles.push(format!("/{}", to.strip_prefix(root).expect("below").display()));
                    }
                }
            }
        }
        if file.config && matches!(file.kind, FileKind::Template { .. }) {
            conffiles.push(file.dest.clone());
        }
    }
    conffiles.sort();
    Ok(conffiles)
}

/// Gives `content` the entries' modes (a copied tree's mode goes to each of its files) and
/// limits the entries of one format to it.
pub fn apply(content: &mut Content, files: &[PlannedFile]) {
    for file in files {
        let rel = PathBuf::from(file.dest.trim_start_matches('/'));
        if let Some(mode) = file.mode {
            content.set_mode(&rel, mode, file.kind.is_tree());
        }
        if let Some(format) = file.only {
            content.limit(&rel, format);
        }
    }
}

/// The owner and group of `abs` (an entry's destination, or a path below a copied tree), when an
/// entry shipped in `format` gives it one other than root.
pub fn owner_of<'a>(files: &'a [PlannedFile], abs: &str, format: Format) -> Option<(&'a str, &'a str)> {
    files
        .iter()
        .filter(|f| f.ships_in(format) && f.non_root())
        .find(|f| match &f.kind {
            FileKind::Copy { .. } => is_under(abs, &f.dest),
            _ => abs == f.dest,
        })
        .map(|f| (f.owner.as_str(), f.group.as_str()))
}

/// Whether `abs` is a directory the package owns because an entry made it (the .rpm lists only
/// the directories of its own trees).
pub fn owns_dir(files: &[PlannedFile], abs: &str) -> bool {
    files.iter().any(|f| match &f.kind {
        FileKind::Directory => abs == f.dest,
        FileKind::Copy { .. } => f.kind.is_tree() && is_under(abs, &f.dest),
        _ => false,
    })
}

/// The postinst's lines that give entries their owners in the .deb (`chown` by name once the
/// user exists; `-h` so that a link is never followed), indented by `spaces`: each owner and
/// path quoted as one word, as every value of a maintainer script is.
pub fn chown_fragment(files: &[PlannedFile], spaces: usize) -> Result<String> {
    let mut lines = Vec::new();
    for file in files.iter().filter(|f| f.ships_in(Format::Deb) && f.non_root()) {
        let owner = format!("{}:{}", file.owner, file.group);
        let mut paths = vec![file.dest.clone()];
        if let FileKind::Copy { files: entries, .. } = &file.kind {
            paths.extend(
                entries.iter().filter(|e| !e.rel.is_empty()).map(|e| format!("{}/{}", file.dest, e.rel)),
            );
        }
        for path in paths {
            let values = [("OWNER", Value::Word(&owner)), ("PATH", Value::Word(&path))];
            lines.push(assemble("chown -h @OWNER@ @PATH@\n", &values)?);
        }
    }
    Ok(indent(&lines.concat(), spaces))
}

/// lintian's tags for the modes the manifest sets (the .deb carries them from unpack on, so a
/// file is never wider open than the manifest says, which lintian would have done in the
/// postinst), each with its path; a sudoers entry's 0440 is what lintian asks for.
pub fn lintian_overrides(files: &[PlannedFile]) -> Vec<String> {
    let mut tags = Vec::new();
    for file in files.iter().filter(|f| f.ships_in(Format::Deb)) {
        let Some(mode) = file.mode else { continue };
        let rel = file.dest.trim_start_matches('/');
        let paths: Vec<String> = match &file.kind {
            FileKind::Directory if mode != 0o755 => {
                tags.push(format!("non-standard-dir-perm {mode:04o} != 0755 [{rel}/]"));
                continue;
            }
            FileKind::Copy { files, .. } if file.kind.is_tree() => {
                files.iter().filter(|e| !e.is_dir()).map(|e| format!("{rel}/{}", e.rel)).collect()
            }
            FileKind::Copy { .. } | FileKind::Template { .. } => vec![rel.to_string()],
            _ => continue,
        };
        let sudoers = is_under(&file.dest, "/etc/sudoers.d") && mode == 0o440;
        for path in paths.into_iter().filter(|_| !sudoers) {
            match mode {
                0o644 | 0o755 => {}
                m if m & 0o111 != 0 => {
                    tags.push(format!("non-standard-executable-perm {m:04o} != 0755 [{path}]"))
                }
                m => tags.push(format!("non-standard-file-perm {m:04o} != 0644 [{path}]")),
            }
        }
    }
    tags
}
