//! The patch queue: applies each patch of a project, in order, to a fresh checkout's index with
//! `git apply --cached`, so that patches apply exactly as operators expect from git (hunks found
//! at an offset, `git format-patch`, `git diff` and traditional `diff -u`/quilt patches,
//! binary patches, modes and renames) and land in the index: files a patch adds are then
//! tracked, which pbr needs to package them. The checkout has no working files (a build writes
//! its own from the index), so nothing is written twice. git also refuses, as it always does,
//! any path through a symbolic link and any path outside the tree. A patch that does not apply is
//! reported with the file and line git names. libgit2 cannot do this: its apply has no offsets.

use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};
use crate::manifest::LocalPath;

/// Applies `patch` to the index of the checkout at `repo`. `commit` (short) names the base in
/// errors.
pub fn apply(repo: &Path, project: &str, commit: &str, patch: &LocalPath) -> Result<()> {
    let mut cmd = git_command(repo);
    cmd.args(["apply", "--cached", "--whitespace=nowarn", "--"]).arg(&patch.abs);
    let output = run_git(&mut cmd, "git applies the patches; install it")?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<String> =
        stderr.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    let patch_name = patch.rel.clone().into();
    if lines.iter().any(|l| {
        l.contains("corrupt patch")
            || l.contains("No valid patches")
            || l.contains("patch fragment without header")
    }) {
        return Err(Error::PatchParse { project: project.into(), patch: patch_name, detail: lines });
    }
    let (file, line) = failed_at(&lines);
    let mut detail = match (&file, line) {
        (Some(f), Some(l)) => std::fs::read_to_string(&patch.abs)
            .ok()
            .and_then(|text| mismatch(&text, f, l, &indexed(repo, f)?))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    detail.extend(lines);
    Err(Error::PatchApply {
        project: project.into(),
        patch: patch_name,
        commit: commit.into(),
        file,
        line,
        detail,
        moved_from: None,
    })
}

/// The text of `file` as the index of the repository at `repo` holds it.
fn indexed(repo: &Path, file: &str) -> Option<String> {
    let repo = git2::Repository::open(repo).ok()?;
    let entry = repo.index().ok()?.get_path(Path::new(file), 0)?;
    String::from_utf8(repo.find_blob(entry.id).ok()?.content().to_vec()).ok()
}

/// Where the hunk of `patch` for `file` that starts at `line` stops matching `source` (the
/// file as the checkout has it): the line the hunk expects and the line that is there. None
/// when the hunk cannot be found or matches here (git found another reason).
fn mismatch(patch: &str, file: &str, line: usize, source: &str) -> Option<Vec<String>> {
    let mut in_file = false;
    let mut expected: Option<Vec<&str>> = None;
    for l in patch.lines() {
        if let Some(rest) = l.strip_prefix("--- ") {
            in_file = rest.trim_start_matches("a/") == file;
            expected = None;
        } else if in_file && l.starts_with("@@ -") {
            if expected.is_some() {
                break;
            }
            let start = l[4..].split([',', ' ']).next()?.parse::<usize>().ok()?;
            if start == line {
                expected = Some(Vec::new());
            }
        } else if let Some(lines) = expected.as_mut() {
            match l.as_bytes().first() {
                Some(b' ') | Some(b'-') => lines.push(&l[1..]),
                None => lines.push(""),
                Some(b'+') | Some(b'\\') => {}
                _ => break,
            }
        }
    }
    let expected = expected?;
    let have: Vec<&str> = source.lines().skip(line.saturating_sub(1)).collect();
    let (k, want) = expected.iter().enumerate().find(|(k, want)| have.get(*k) != Some(*want))?;
    let there = have.get(k).map_or("(the end of the file)".to_string(), |h| format!("`{h}`"));
    Some(vec![
        format!("line {} of `{file}` does not match:", line + k),
        format!("  the patch expects `{want}`"),
        format!("  the file has      {there}"),
    ])
}

/// Runs a git command (made by [`git_command`]) to its end, interruptibly; when git cannot be
/// run at all, the error says what git was for (`purpose`).
pub fn run_git(cmd: &mut Command, purpose: &str) -> Result<std::process::Output> {
    crate::interrupt::output(cmd)
        .map_err(|e| Error::Command { program: "git".into(), detail: format!("{e} ({purpose})") })
}

/// A `git` command run in `repo` that sees no user or system configuration and no GIT_*
/// variables of the caller (a hook's GIT_DIR would point it elsewhere), with messages in
/// English so that they can be read.
pub fn git_command(repo: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(repo);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GIT_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1").env("GIT_CONFIG_GLOBAL", "/dev/null").env("LC_ALL", "C");
    cmd
}

/// The file and line of the first failure git reports: `error: patch failed: a/b.py:12`,
/// else the file of `error: a/b.py: patch does not apply` (or of a path git refused).
fn failed_at(lines: &[String]) -> (Option<String>, Option<usize>) {
    for l in lines {
        if let Some(rest) = l.strip_prefix("error: patch failed: ")
            && let Some((file, line)) = rest.rsplit_once(':')
        {
            return (Some(file.to_string()), line.parse().ok());
        }
    }
    for l in lines {
        let Some(rest) = l.strip_prefix("error: ") else { continue };
        if let Some(file) = rest.strip_suffix(": patch does not apply") {
            return (Some(file.to_string()), None);
        }
        // `affected file 'x' is beyond a symbolic link`, `invalid path 'x'`
        if let Some(quoted) = rest.split('\'').nth(1) {
            return (Some(quoted.to_string()), None);
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_located() {
        let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            failed_at(&lines(
                "error: patch failed: hello/cli.py:9\nerror: hello/cli.py: patch does not apply"
            )),
            (Some("hello/cli.py".into()), Some(9))
        );
        assert_eq!(
            failed_at(&lines("error: affected file 'out/pwned.txt' is beyond a symbolic link")),
            (Some("out/pwned.txt".into()), None)
        );
        assert_eq!(failed_at(&lines("fatal: something else")), (None, None));
    }

    #[test]
    fn the_first_line_that_does_not_match_is_named() {
        let patch = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n--- a/y.py\n+++ b/y.py\n@@ -2,3 +2,4 @@ def f():\n one\n-two\n+TWO\n three\n";
        let found = mismatch(patch, "y.py", 2, "zero\none\ntwo!\nthree\n").unwrap();
        assert_eq!(
            found,
            ["line 3 of `y.py` does not match:", "  the patch expects `two`", "  the file has      `two!`"]
        );
        assert_eq!(mismatch(patch, "y.py", 2, "zero\none\ntwo\nthree\n"), None);
        let short = mismatch(patch, "y.py", 2, "zero\none\n").unwrap();
        assert_eq!(short[2], "  the file has      (the end of the file)");
        assert_eq!(mismatch(patch, "z.py", 2, "x"), None);
    }
}
