//! The patch queue: applies each patch of a project, in order, to the working tree of its
//! checkout, as `git apply` would (libgit2's apply). A patch that does not apply is reported with
//! the first file and hunk that failed. libgit2 reads only git-style diffs; traditional
//! `diff -u` and quilt patches, which `git apply` also takes, are rewritten into that form first.

use std::borrow::Cow;
use std::cell::RefCell;

use git2::{ApplyLocation, ApplyOptions, Diff, Repository};

use crate::error::{Error, Result};
use crate::manifest::LocalPath;

/// Applies `patch` to the working tree of `repo`. `commit` (short) names the base in errors.
pub fn apply(repo: &Repository, project: &str, commit: &str, patch: &LocalPath) -> Result<()> {
    let bytes = fs_err::read(&patch.abs)?;
    let parse_err =
        |source| Error::PatchParse { project: project.into(), patch: patch.rel.clone().into(), source };
    let diff = Diff::from_buffer(&to_git_form(&bytes)).map_err(parse_err)?;
    if diff.deltas().len() == 0 {
        return Err(parse_err(git2::Error::from_str("it contains no file changes")));
    }

    // libgit2 calls the delta callback before each file and the hunk callback before each hunk,
    // so the last ones seen when apply fails name the file and hunk that failed.
    let position: RefCell<(Option<String>, usize)> = RefCell::new((None, 0));
    let mut options = ApplyOptions::new();
    options.delta_callback(|delta| {
        let path = delta.and_then(|d| {
            d.new_file().path().or(d.old_file().path()).map(|p| p.to_string_lossy().into_owned())
        });
        *position.borrow_mut() = (path, 0);
        true
    });
    options.hunk_callback(|_| {
        position.borrow_mut().1 += 1;
        true
    });
    let result = repo.apply(&diff, ApplyLocation::WorkDir, Some(&mut options));
    drop(options);
    result.map_err(|source| {
        let (file, hunk) = position.into_inner();
        Error::PatchApply {
            project: project.into(),
            patch: patch.rel.clone().into(),
            commit: commit.into(),
            hunk: (hunk > 0).then_some(hunk),
            file,
            source,
        }
    })
}

/// Rewrites a traditional unified diff (`--- old` / `+++ new` headers, no `diff --git` line) into
/// git's form, stripping the first path component as `git apply -p1` does and dropping the
/// timestamps `diff -u` appends after a tab. A git-style patch is returned as it is.
fn to_git_form(patch: &[u8]) -> Cow<'_, [u8]> {
    let text = String::from_utf8_lossy(patch);
    if text.lines().any(|l| l.starts_with("diff --git ")) {
        return Cow::Borrowed(patch);
    }
    fn path(header: &str) -> &str {
        let p = header.split('\t').next().unwrap_or("").trim_end();
        if p == "/dev/null" { p } else { p.split_once('/').map_or(p, |(_, rest)| rest) }
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len() + 256);
    let mut i = 0;
    while i < lines.len() {
        let header = (lines[i].strip_prefix("--- "), lines.get(i + 1).and_then(|l| l.strip_prefix("+++ ")));
        match header {
            (Some(old), Some(new)) if lines.get(i + 2).is_some_and(|l| l.starts_with("@@ ")) => {
                let (old, new) = (path(old), path(new));
                let name = if new == "/dev/null" { old } else { new };
                out.push_str(&format!("diff --git a/{name} b/{name}\n"));
                if old == "/dev/null" {
                    out.push_str("new file mode 100644\n");
                } else if new == "/dev/null" {
                    out.push_str("deleted file mode 100644\n");
                }
                let side = |p: &str, prefix: &str| {
                    if p == "/dev/null" { p.to_string() } else { format!("{prefix}/{name}") }
                };
                out.push_str(&format!("--- {}\n+++ {}\n", side(old, "a"), side(new, "b")));
                i += 2;
            }
            _ => {
                out.push_str(lines[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_diffs_become_git_diffs() {
        let quilt = "Fix it\n\n--- nova.orig/nova/a.py\t2026-01-01 00:00:00.000000000 +0000\n+++ nova/nova/a.py\t2026-01-02 00:00:00.000000000 +0000\n@@ -1 +1 @@\n-x\n+y\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+new\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n";
        let git = String::from_utf8(to_git_form(quilt.as_bytes()).into_owned()).unwrap();
        assert_eq!(
            git,
            "Fix it\n\ndiff --git a/nova/a.py b/nova/a.py\n--- a/nova/a.py\n+++ b/nova/a.py\n@@ -1 +1 @@\n-x\n+y\n\
             diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+new\n\
             diff --git a/old.txt b/old.txt\ndeleted file mode 100644\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n"
        );
        let diff = Diff::from_buffer(git.as_bytes()).unwrap();
        assert_eq!(diff.deltas().len(), 3);
    }

    #[test]
    fn git_diffs_pass_unchanged() {
        let patch = b"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n";
        assert!(matches!(to_git_form(patch), Cow::Borrowed(_)));
    }
}
