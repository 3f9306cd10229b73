//! The cache: where git mirrors, patched checkouts, downloaded constraints, installer caches and
//! built artifacts and bytecode live between runs. Root: `$WRAP_CACHE`, else `$XDG_CACHE_HOME/wrap`, else
//! `~/.cache/wrap`. Entries are created in a temporary sibling and renamed into place, so a failed
//! or interrupted step never leaves a half-written entry under its final name; file locks
//! ([`lock`]) let several wrap processes share one cache; [`store`] keeps artifacts by build key;
//! [`prune`] reports on and trims the cache.

pub mod lock;
pub mod prune;
pub mod store;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::interrupt;
use crate::manifest::sha256_hex;

/// Handle on the cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache chosen by the environment.
    pub fn from_env() -> Result<Cache> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let root = var("WRAP_CACHE")
            .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("wrap")))
            .or_else(|| var("HOME").map(|h| h.join(".cache").join("wrap")))
            .ok_or(Error::NoCacheDir)?;
        Ok(Cache { root: std::path::absolute(root)? })
    }

    /// A cache rooted at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the bare mirror of `url` lives: a readable stem plus a digest of the whole URL.
    pub fn mirror_dir(&self, url: &str) -> PathBuf {
        let stem: String = url
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .rsplit(['/', ':'])
            .next()
            .unwrap_or("repo")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        let digest = sha256_hex(url.as_bytes());
        self.root.join("git").join(format!("{stem}-{}", &digest[..16]))
    }

    /// Where the patched checkout of `project` with source key `key` lives.
    pub fn checkout_dir(&self, project: &str, key: &str) -> PathBuf {
        self.root.join("checkouts").join(project).join(key)
    }

    /// Where a downloaded file with this sha256 lives.
    pub fn download_path(&self, sha256: &str) -> PathBuf {
        self.root.join("downloads").join(sha256)
    }

    /// Where the bytecode with digest `key` (of source, recorded path and interpreter) is kept.
    pub fn pyc_path(&self, key: &str) -> PathBuf {
        self.root.join("pyc").join(&key[..2]).join(key)
    }

    /// Where the artifact with build key `key` is kept.
    pub fn artifact_dir(&self, key: &str) -> PathBuf {
        self.root.join("artifacts").join(key)
    }

    /// The lock file named `name` (the cache's own, a build's).
    pub fn lock_path(&self, name: &str) -> PathBuf {
        self.root.join("locks").join(format!("{name}.lock"))
    }

    /// The directory for staging directories, registered for cleanup on interruption.
    pub fn staging_dir(&self) -> Result<PathBuf> {
        let dir = self.root.join("tmp");
        fs_err::create_dir_all(&dir)?;
        interrupt::watch(&dir);
        Ok(dir)
    }

    /// Takes the cache's shared lock: held by every command that uses the cache, so that
    /// `wrap clean` (which takes it exclusively) never removes what a running build uses.
    pub fn lock_shared(&self, waiting: impl FnOnce()) -> Result<lock::FileLock> {
        lock::FileLock::acquire(&self.lock_path("cache"), lock::Kind::Shared, waiting)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_dirs_are_readable_and_distinct() {
        let cache = Cache::at("/c");
        let a = cache.mirror_dir("https://opendev.org/openstack/nova");
        let b = cache.mirror_dir("https://github.com/openstack/nova.git");
        assert!(a.starts_with("/c/git"));
        assert!(a.file_name().unwrap().to_str().unwrap().starts_with("nova-"));
        assert!(b.file_name().unwrap().to_str().unwrap().starts_with("nova-"));
        assert_ne!(a, b);
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
