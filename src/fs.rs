//! File-system helpers every stage uses: atomic writes, renames and removals through temporary
//! siblings (which an interruption cleans up), and the facts of trees wrap did not make (a
//! checkout, a package to inspect). A bottom module: it imports only the error type and the
//! interrupt registry.

use std::path::Path;

use crate::error::Result;
use crate::interrupt;

/// Whether a symlink at `link` (a relative path inside a tree) with `target` leads out of the
/// tree: an absolute or empty target, or a relative one whose `..` climb above the tree's root,
/// lexically (every other link of the tree is judged the same way, so chains cannot escape).
pub fn link_leaves_tree(link: &str, target: &str) -> bool {
    if target.starts_with('/') || target.is_empty() {
        return true;
    }
    let parents = link.trim_start_matches("./").split('/').filter(|c| !c.is_empty() && *c != ".").count();
    let mut depth = parents as i64 - 1;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// Marks `path` as used now, for `wrap clean --older-than`: its modification time is its
/// last use. Failing to (a read-only cache) only makes pruning less precise.
pub fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Creates `final_dir` by running `fill` on an empty temporary directory beside it and renaming
/// that into place. When `fill` fails, the temporary directory is removed and nothing is left.
/// When another process created `final_dir` first, its copy is kept and ours is dropped.
pub fn create_dir_atomically<E>(
    final_dir: &Path,
    fill: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E>
where
    E: From<std::io::Error>,
{
    let parent = final_dir.parent().expect("cache entries have a parent");
    fs_err::create_dir_all(parent)?;
    interrupt::watch(parent);
    let tmp = tempfile::Builder::new().prefix(&interrupt::temp_prefix()).tempdir_in(parent)?;
    fill(tmp.path())?;
    let tmp_path = tmp.keep();
    if let Err(e) = fs_err::rename(&tmp_path, final_dir) {
        let _ = fs_err::remove_dir_all(&tmp_path);
        if !final_dir.exists() {
            return Err(e.into());
        }
    }
    Ok(())
}

/// Removes the file or directory at `path` (if any) so that no reader ever sees it half
/// removed: it is renamed to a temporary name first (which an interruption cleans up).
pub fn remove_atomically(path: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
    let parent = path.parent().expect("cache entries have a parent");
    interrupt::watch(parent);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let doomed = parent.join(format!("{}removing-{name}", interrupt::temp_prefix()));
    fs_err::rename(path, &doomed)?;
    if meta.is_dir() {
        fs_err::remove_dir_all(&doomed)?;
    } else {
        fs_err::remove_file(&doomed)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    let mut tmp = temp_file_in(parent)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Copies `from` to `to`, streaming, through a temporary file beside `to` and a rename (its
/// directory is made when missing).
pub fn copy_atomically(from: &Path, to: &Path) -> Result<()> {
    let parent = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    let mut tmp = temp_file_in(parent)?;
    std::io::copy(&mut fs_err::File::open(from)?, &mut tmp)?;
    tmp.persist(to).map_err(|e| e.error)?;
    Ok(())
}

/// A temporary file in `dir` (for a later rename into place) with mode 0644, not tempfile's
/// 0600: what it becomes is a lock file or an artifact other users read. Its name marks it as
/// this process's, for cleanup on interruption.
pub fn temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    interrupt::watch(dir);
    let tmp = tempfile::Builder::new()
        .prefix(&interrupt::temp_prefix())
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    Ok(tmp)
}

/// Writes `bytes` as a new file at `path`, never through the file there: relocated trees
/// hard-link the staged venv's files, which uv hard-links from its cache.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    fs_err::write(path, bytes)?;
    Ok(())
}

/// A cache entry that checks itself, read: its sha256, then its bytes. None when it is missing
/// or damaged (entries are written without fsync, thousands per build: one that a crash left
/// damaged is made again).
pub fn read_checked(entry: &Path) -> Option<Vec<u8>> {
    use sha2::Digest;
    let bytes = std::fs::read(entry).ok()?;
    let (digest, content) = bytes.split_at_checked(32)?;
    (sha2::Sha256::digest(content).as_slice() == digest).then(|| content.to_vec())
}

/// Writes the cache entry `entry` that [`read_checked`] reads: the sha256 of `content`, then
/// `content`, into a temporary file renamed into place (its directory made if need be).
pub fn write_checked(entry: &Path, content: &[u8]) -> Result<()> {
    use sha2::Digest;
    write_parts(entry, &[&sha2::Sha256::digest(content), content])
}

/// Writes `bytes` at `path` through a temporary file renamed into place (its directory made if
/// need be), without waiting for the disk: a cache entry that checks itself otherwise.
pub fn write_checked_raw(path: &Path, bytes: &[u8]) -> Result<()> {
    write_parts(path, &[bytes])
}

/// Writes `parts`, one after the other, as the cache file `path` (see [`write_checked_raw`]).
fn write_parts(path: &Path, parts: &[&[u8]]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().expect("cache entries have a parent");
    fs_err::create_dir_all(dir)?;
    let mut tmp = temp_file_in(dir)?;
    let named = |e: std::io::Error| {
        crate::error::Error::Io(std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    };
    for part in parts {
        tmp.write_all(part).map_err(named)?;
    }
    tmp.persist(path).map_err(|e| named(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_that_leave_the_tree() {
        assert!(!link_leaves_tree("lib64", "lib"));
        assert!(!link_leaves_tree("a/b/link", "../c"));
        assert!(!link_leaves_tree("a/b/link", "../../c"));
        assert!(link_leaves_tree("a/b/link", "../../../c"));
        assert!(link_leaves_tree("etc", "/srv/secret"));
        assert!(link_leaves_tree("link", ".."));
        assert!(link_leaves_tree("a/link", "x/../../.."));
        assert!(!link_leaves_tree("a/link", "./x"));
        assert!(!link_leaves_tree("./bundle/bin/python", "python3.11"));
    }
    #[test]
    fn removal_is_a_rename_first() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = tmp.path().join("entry");
        fs_err::create_dir_all(entry.join("sub")).unwrap();
        fs_err::write(entry.join("sub/f"), b"x").unwrap();
        remove_atomically(&entry).unwrap();
        assert_eq!(fs_err::read_dir(tmp.path()).unwrap().count(), 0);
        remove_atomically(&entry).unwrap(); // nothing there: nothing to do
    }

    #[test]
    fn failed_fill_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("sub/entry");
        let r: std::result::Result<(), std::io::Error> = create_dir_atomically(&target, |dir| {
            fs_err::write(dir.join("half"), b"x")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert!(!target.exists());
        assert_eq!(fs_err::read_dir(tmp.path().join("sub")).unwrap().count(), 0);
        create_dir_atomically::<std::io::Error>(&target, |dir| fs_err::write(dir.join("f"), b"y")).unwrap();
        assert_eq!(fs_err::read(target.join("f")).unwrap(), b"y");
    }
}
