//! The patch workflow. `wrap patch edit NAME` makes a git checkout of the project's pinned commit
//! with its patch queue applied as one commit per patch (a patch that does not apply stops there,
//! its conflicts in the working tree and its rejected hunks in `.rej` files); the operator edits,
//! commits, rebases. `wrap patch refresh NAME` writes the commits after the pin back as the patch
//! files, `git format-patch` style with stable headers (a zero commit id, full blob ids, no git
//! version), so that a patch nobody changed stays byte-identical, and updates the manifest's list
//! with its formatting and comments kept (toml_edit).

use std::path::{Path, PathBuf};
use std::process::Output;

use super::{LockMode, Session};
use crate::error::{Error, Result, short};
use crate::lock::Lock;
use crate::manifest::LocalPath;
use crate::report::{Event, PatchFile};
use crate::source::patch::git_command;

/// Where `wrap patch` keeps a project's checkout unless told: `.wrap/patch/<name>` beside the
/// manifest.
pub fn default_dir(manifest_dir: &Path, project: &str) -> PathBuf {
    manifest_dir.join(".wrap").join("patch").join(project)
}

/// Runs git in `dir`; its output, or an error naming what it was doing.
fn git(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Output> {
    let mut cmd = git_command(dir);
    cmd.args(args).envs(env.iter().copied());
    crate::interrupt::output(&mut cmd)
        .map_err(|e| Error::Command { program: "git".into(), detail: format!("git {}: {e}", args.join(" ")) })
}

/// Runs git in `dir` and fails unless it succeeds; its stdout.
fn git_ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let output = git(dir, args, env)?;
    if !output.status.success() {
        return Err(Error::Command {
            program: "git".into(),
            detail: format!(
                "git {} in {}: {}",
                args.join(" "),
                dir.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Whether the checkout at `dir` has no change to a tracked file that is not committed.
fn committed(dir: &Path) -> Result<bool> {
    Ok(git_ok(dir, &["status", "--porcelain", "--untracked-files=no"], &[])?.trim().is_empty())
}

/// A patch file's author, date and message, from its mail header when it has one.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    author: (String, String),
    date: Option<String>,
    message: String,
}

/// Reads a `git format-patch` header (`From:`, `Date:`, `Subject:`, the body up to `---`);
/// a plain diff is committed under the file's name, by wrap.
fn header(text: &str, file_name: &str) -> Header {
    let fallback = Header {
        author: ("wrap".into(), "wrap@localhost".into()),
        date: None,
        message: file_name.trim_end_matches(".patch").trim_end_matches(".diff").to_string(),
    };
    if !text.starts_with("From ") {
        return fallback;
    }
    let (mut from, mut date, mut subject, mut body) = (None, None, String::new(), Vec::new());
    let mut lines = text.lines().skip(1);
    let mut last = "";
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) && last == "Subject" {
            subject.push_str(line);
            continue;
        }
        if let Some((key, value)) = line.split_once(": ") {
            last = key;
            match key {
                "From" => from = Some(value.to_string()),
                "Date" => date = Some(value.to_string()),
                "Subject" => subject = value.to_string(),
                _ => {}
            }
        }
    }
    for line in lines {
        if line == "---" || line.starts_with("diff --git ") {
            break;
        }
        body.push(line);
    }
    let subject = match subject.strip_prefix("[PATCH") {
        Some(rest) => rest.split_once("] ").map_or(rest, |(_, s)| s).to_string(),
        None => subject,
    };
    let author = from
        .and_then(|f| {
            let (name, email) = f.rsplit_once(" <")?;
            Some((name.trim_matches('"').to_string(), email.trim_end_matches('>').to_string()))
        })
        .unwrap_or(fallback.author);
    let body = body.join("\n").trim().to_string();
    let message = if body.is_empty() { subject } else { format!("{subject}\n\n{body}") };
    Header { author, date, message: if message.trim().is_empty() { fallback.message } else { message } }
}

impl Session<'_> {
    /// The project named `name`, the lock (pinned as `wrap lock` would), and the checkout
    /// directory `wrap patch` uses for it.
    fn patch_target(
        &self,
        name: &str,
        dir: Option<&Path>,
    ) -> Result<(&crate::manifest::Project, Lock, PathBuf)> {
        self.check_names(&[name.to_string()])?;
        let project = self.manifest.project(name).expect("checked");
        let lock = self.lock(&LockMode::Keep)?;
        let dir = dir.map_or_else(|| default_dir(&self.manifest.dir, name), Path::to_path_buf);
        Ok((project, lock, dir))
    }

    /// `wrap patch edit NAME [--dir DIR] [--continue]`.
    pub fn patch_edit(&self, name: &str, dir: Option<&Path>, resume: bool) -> Result<()> {
        let (project, lock, dir) = self.patch_target(name, dir)?;
        let locked = lock.project(name).expect("the lock covers every project");
        let done = if resume {
            if !dir.join(".git").exists() {
                return Err(Error::PatchCheckout { dir, problem: "holds no checkout to continue in".into() });
            }
            if !committed(&dir)? {
                return Err(Error::PatchCheckout {
                    dir,
                    problem: "has changes not committed: commit the fixed patch first (`git commit -a`)"
                        .into(),
                });
            }
            git_ok(&dir, &["rev-list", "--count", &format!("{}..HEAD", locked.commit)], &[])?
                .trim()
                .parse()
                .unwrap_or(0)
        } else {
            if dir.exists() {
                return Err(Error::PatchCheckout {
                    dir,
                    problem: "exists already: refresh its patches with `wrap patch refresh`, or remove it"
                        .into(),
                });
            }
            if let Some(parent) = dir.parent() {
                fs_err::create_dir_all(parent)?;
            }
            let mut warnings = Vec::new();
            let made =
                crate::source::clone_pinned(&self.cache, project, locked, self.offline, &dir, &mut warnings);
            self.warn_all(warnings);
            made?;
            git_ok(&dir, &["checkout", "-q", "-b", &format!("wrap/{name}")], &[])?;
            0
        };
        let total = project.patches.len();
        for (i, patch) in project.patches.iter().enumerate().skip(done) {
            self.apply_as_commit(name, &dir, patch, i, total)?;
        }
        self.reporter.report(&Event::PatchCheckout {
            project: name,
            dir: dir.display().to_string(),
            commit: &locked.commit,
            patches: total,
        });
        Ok(())
    }

    /// Applies `patch` (number `i` of `total`) in the checkout at `dir` and commits it; a patch
    /// that does not apply is left there, three-way merged where git can, else with its hunks
    /// that apply applied and the others in `.rej` files.
    fn apply_as_commit(
        &self,
        name: &str,
        dir: &Path,
        patch: &LocalPath,
        i: usize,
        total: usize,
    ) -> Result<()> {
        let text = fs_err::read_to_string(&patch.abs)?;
        let file_name = patch.abs.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let abs = patch.abs.to_string_lossy();
        let applied = git(dir, &["apply", "--index", "--whitespace=nowarn", &abs], &[])?;
        if !applied.status.success() {
            let merged = git(dir, &["apply", "--3way", "--whitespace=nowarn", &abs], &[])?;
            if !merged.status.success() && !String::from_utf8_lossy(&merged.stderr).contains("with conflicts")
            {
                // No three-way merge (no base blobs): apply what applies, reject the rest.
                git(dir, &["apply", "--reject", "--whitespace=nowarn", &abs], &[])?;
            }
            let status = git_ok(dir, &["status", "--porcelain", "--untracked-files=all"], &[])?;
            let left: Vec<String> =
                status.lines().filter(|l| l.len() > 3).map(|l| l[3..].to_string()).collect();
            return Err(Error::PatchEditStopped {
                project: name.into(),
                patch: patch.rel.clone().into(),
                number: i + 1,
                total,
                dir: dir.into(),
                left,
            });
        }
        let h = header(&text, &file_name);
        let mut env = vec![
            ("GIT_AUTHOR_NAME", h.author.0.as_str()),
            ("GIT_AUTHOR_EMAIL", h.author.1.as_str()),
            ("GIT_COMMITTER_NAME", h.author.0.as_str()),
            ("GIT_COMMITTER_EMAIL", h.author.1.as_str()),
        ];
        if let Some(date) = &h.date {
            env.extend([("GIT_AUTHOR_DATE", date.as_str()), ("GIT_COMMITTER_DATE", date.as_str())]);
        }
        git_ok(dir, &["commit", "-q", "--no-verify", "--allow-empty", "-m", &h.message], &env)?;
        Ok(())
    }

    /// `wrap patch refresh NAME [--dir DIR]`.
    pub fn patch_refresh(&self, name: &str, dir: Option<&Path>) -> Result<()> {
        let (project, lock, dir) = self.patch_target(name, dir)?;
        let locked = lock.project(name).expect("the lock covers every project");
        if !dir.join(".git").exists() {
            return Err(Error::PatchCheckout {
                dir,
                problem: format!("holds no checkout: run `wrap patch edit {name}`"),
            });
        }
        if !committed(&dir)? {
            return Err(Error::PatchCheckout {
                dir,
                problem: "has changes not committed: commit them first".into(),
            });
        }
        let pin = &locked.commit;
        if !git(&dir, &["merge-base", "--is-ancestor", pin, "HEAD"], &[])?.status.success() {
            return Err(Error::PatchCheckout {
                dir,
                problem: format!(
                    "is not based on {name}'s pinned commit {}: rebase it there (`git rebase --onto {} <old base>`), or move `ref` and run `wrap lock --update {name}` first",
                    short(pin, 12),
                    short(pin, 12)
                ),
            });
        }
        let commits = git_ok(&dir, &["rev-list", "--reverse", &format!("{pin}..HEAD")], &[])?;
        let files = self.write_back(project, &dir, commits.lines())?;
        let listed: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
        let current: Vec<String> = project.patches.iter().map(|p| p.rel.clone()).collect();
        let dropped: Vec<String> = current.iter().skip(listed.len()).cloned().collect();
        if listed != current {
            crate::manifest::edit::set_patches(&self.manifest.path, name, &listed)?;
        }
        self.reporter.report(&Event::PatchesRefreshed { project: name, files: &files, dropped: &dropped });
        Ok(())
    }

    /// Writes each commit of `commits` (in order) as the project's patch of that rank: the file
    /// the manifest lists there, else a new one beside the others. What each file became.
    fn write_back<'c>(
        &self,
        project: &crate::manifest::Project,
        dir: &Path,
        commits: impl Iterator<Item = &'c str>,
    ) -> Result<Vec<PatchFile>> {
        let name = project.name.as_str();
        let patch_dir = project
            .patches
            .first()
            .and_then(|p| Path::new(&p.rel).parent().map(Path::to_path_buf))
            .unwrap_or_else(|| Path::new("patches").join(name));
        let mut files = Vec::new();
        for (i, commit) in commits.enumerate() {
            let text = git_ok(
                dir,
                &[
                    "format-patch",
                    "-1",
                    "--stdout",
                    "--zero-commit",
                    "--full-index",
                    "--no-signature",
                    "--no-numbered",
                    "--subject-prefix=PATCH",
                    commit,
                ],
                &[],
            )?;
            let rel = match project.patches.get(i) {
                Some(p) => PathBuf::from(&p.rel),
                None => {
                    let subject = git_ok(dir, &["log", "-1", "--format=%s", commit], &[])?;
                    patch_dir.join(format!("{:04}-{}.patch", i + 1, slug(subject.trim())))
                }
            };
            let path = self.manifest.dir.join(&rel);
            let before = std::fs::read(&path).ok();
            let state = match &before {
                Some(b) if *b == text.as_bytes() => "unchanged",
                Some(_) => "written",
                None => "added",
            };
            if state != "unchanged" {
                // Its directory is made when missing.
                crate::fs::write_atomically(&path, text.as_bytes())?;
            }
            files.push(PatchFile { path: rel.display().to_string(), state });
        }
        Ok(files)
    }
}

/// A file name from a commit subject, as `git format-patch` makes them: runs of anything but
/// letters, digits, `.` and `_` as one `-`, at most 52 characters.
fn slug(subject: &str) -> String {
    let mut out = String::new();
    for c in subject.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches(['-', '.']).chars().take(52).collect();
    let out = out.trim_end_matches(['-', '.']).to_string();
    if out.is_empty() { "patch".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_patch_headers_become_the_commit() {
        let text = "From 3eeb9341 Mon Sep 17 00:00:00 2001\nFrom: Cloud Ops <ops@example.com>\nDate: Mon, 2 Mar 2026 10:00:00 +0000\nSubject: [PATCH 2/2] Add --region for\n the operators\n\nWhy it matters.\n---\n a | 1 +\n\ndiff --git a/a b/a\n";
        let h = header(text, "0002-x.patch");
        assert_eq!(h.author, ("Cloud Ops".into(), "ops@example.com".into()));
        assert_eq!(h.date.as_deref(), Some("Mon, 2 Mar 2026 10:00:00 +0000"));
        assert_eq!(h.message, "Add --region for the operators\n\nWhy it matters.");
        let plain = header("--- a/x\n+++ b/x\n", "0003-fix-it.patch");
        assert_eq!((plain.message.as_str(), plain.author.0.as_str()), ("0003-fix-it", "wrap"));
    }

    #[test]
    fn slugs_are_format_patch_names() {
        assert_eq!(slug("Add --region for the operators"), "Add-region-for-the-operators");
        assert_eq!(slug("fix: a/b.py (ceph)!"), "fix-a-b.py-ceph");
        assert_eq!(slug("…"), "patch");
    }
}
