//! Version hygiene: a rebuilt artifact whose name (package, version, release) is the one of an
//! earlier artifact, with other bytes, is named with both sha256 and the inputs that changed.
//! Hosts and repositories tell packages apart by version-release alone: two different files
//! under one name mean a repository that refuses the second, or hosts that silently differ.

use std::path::{Path, PathBuf};

use crate::artifact::{Artifact, checksum_path};
use crate::cache::store::Last;
use crate::error::short;

/// What an artifact's name stood for before this build.
#[derive(Debug)]
pub(super) struct Before {
    /// The output directory's file, when there is one.
    path: PathBuf,
    /// Its sha256 (from the output directory, else from the cache's record of the same file).
    sha256: Option<String>,
    /// The inputs that changed since the cache's last build of the same file, if it knows.
    changed: Option<Vec<String>>,
}

/// The sha256 the file at `path` had before this build: its `.sha256` line, else its bytes
/// hashed; none when there is no such file.
fn sha256_of(path: &Path) -> Option<String> {
    let line = std::fs::read_to_string(checksum_path(path)).ok();
    let recorded = line.as_deref().and_then(|l| l.split_whitespace().next()).filter(|h| h.len() == 64);
    match recorded {
        Some(hex) if path.is_file() => Some(hex.to_string()),
        _ => crate::cache::store::file_sha256(path).ok(),
    }
}

/// What `path` (the artifact about to be built) stood for: the output directory's file, else
/// the cache's last build of the project in that format when it had the same name. `changes`
/// are the key inputs that differ from that last build.
pub(super) fn before(path: PathBuf, last: Option<&Last>, changes: &[String]) -> Before {
    let same_file = last.filter(|l| path.file_name().is_some_and(|n| n.to_string_lossy() == l.file));
    let sha256 = sha256_of(&path).or_else(|| same_file.map(|l| l.sha256.clone()));
    Before { path, sha256, changed: same_file.map(|_| changes.to_vec()) }
}

/// The warning for `artifact` when its name stood for other bytes before.
pub(super) fn warning(before: &Before, artifact: &Artifact) -> Option<String> {
    let old = before.sha256.as_deref().filter(|old| *old != artifact.sha256)?;
    let changed = match &before.changed {
        Some(changes) if changes.is_empty() => "no input changed: the build is not reproducible".to_string(),
        Some(changes) => format!("changed: {}", changes.join(", ")),
        None => "the inputs of the earlier file are not known to this cache".to_string(),
    };
    Some(format!(
        "`{}` was built before with other bytes under the same version-release (sha256 {} then, {} now; {changed}); raise `release` in [settings] so that repositories and hosts can tell the two apart",
        before.path.display(),
        short(old, 12),
        short(&artifact.sha256, 12),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Format;

    fn artifact(path: &Path, sha256: &str) -> Artifact {
        Artifact {
            project: "hello".into(),
            format: Format::Deb,
            path: path.into(),
            size: 1,
            sha256: sha256.into(),
            reused: false,
            sidecars: Vec::new(),
        }
    }

    #[test]
    fn other_bytes_under_one_name_are_named_with_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello_1.0-1_amd64.deb");
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        // Nothing before: nothing to say.
        assert!(warning(&before(path.clone(), None, &[]), &artifact(&path, &a)).is_none());
        // The output directory's file, by its .sha256.
        std::fs::write(&path, b"x").unwrap();
        crate::artifact::write_checksum(&path, &a).unwrap();
        let was = before(path.clone(), None, &[]);
        assert!(warning(&was, &artifact(&path, &a)).is_none(), "the same bytes");
        let said = warning(&was, &artifact(&path, &b)).unwrap();
        assert!(
            said.contains("sha256 aaaaaaaaaaaa then, bbbbbbbbbbbb now; the inputs of the earlier file"),
            "{said}"
        );
        // The cache's last build of the same file, with the inputs that changed since.
        std::fs::remove_file(&path).unwrap();
        let last =
            Last { inputs: Default::default(), file: "hello_1.0-1_amd64.deb".into(), sha256: a.clone() };
        let changes = vec!["patch 0002-x.patch changed".to_string()];
        let said = warning(&before(path.clone(), Some(&last), &changes), &artifact(&path, &b)).unwrap();
        assert!(said.contains("changed: patch 0002-x.patch changed)"), "{said}");
        let said = warning(&before(path.clone(), Some(&last), &[]), &artifact(&path, &b)).unwrap();
        assert!(said.contains("not reproducible"), "{said}");
        // Another file name in the cache's record: not the same artifact.
        let other = Last { file: "hello_0.9-1_amd64.deb".into(), ..last };
        assert!(warning(&before(path.clone(), Some(&other), &changes), &artifact(&path, &b)).is_none());
    }
}
