//! The cache: where git mirrors, patched checkouts, downloaded constraints, installer caches and
//! built artifacts and bytecode live between runs. Root: `$WRAP_CACHE`, else `$XDG_CACHE_HOME/wrap`, else
//! `~/.cache/wrap`. Entries are created in a temporary sibling and renamed into place, so a failed
//! or interrupted step never leaves a half-written entry under its final name; file locks
//! ([`lock`]) let several wrap processes share one cache; [`store`] keeps artifacts by build key;
//! [`prune`] reports on and trims the cache.

pub mod lock;
pub mod prune;
pub mod remote;
pub mod store;

use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::interrupt;

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

    /// Where `project`'s source tree waits between builds: the last build's, put back once its
    /// wheel was built, taken by the next ([`crate::source::Checkout::materialize`] makes it
    /// equal to the new tree by content). A build that finds none writes a tree of its own.
    pub fn tree_dir(&self, project: &str) -> PathBuf {
        self.root.join("trees").join(project)
    }

    /// Where a downloaded file with this sha256 lives.
    pub fn download_path(&self, sha256: &str) -> PathBuf {
        self.root.join("downloads").join(sha256)
    }

    /// Where the bytecode with digest `key` (of source, recorded path and interpreter) is kept.
    pub fn pyc_path(&self, key: &str) -> PathBuf {
        self.root.join("pyc").join(&key[..2]).join(key)
    }

    /// Where compressed gzip members are kept ([`crate::compress::Members`]).
    pub fn members_dir(&self) -> PathBuf {
        self.root.join("gzip")
    }

    /// Where the image pulled by its digest's hex `hex` is kept (an OCI layout directory).
    pub fn image_dir(&self, hex: &str) -> PathBuf {
        self.root.join("images").join(hex)
    }

    /// Where the artifact with build key `key` is kept.
    pub fn artifact_dir(&self, key: &str) -> PathBuf {
        self.root.join("artifacts").join(key)
    }

    /// The lock file named `name` (the cache's own, a build's).
    pub fn lock_path(&self, name: &str) -> PathBuf {
        self.root.join("locks").join(format!("{name}.lock"))
    }

    /// The directory for staging directories, registered for cleanup on interruption. Its
    /// canonical path (no `..`, no symlink): the tools that build in a staging directory write
    /// its path in whichever form they resolve (uv canonicalizes, Python's venv only makes it
    /// absolute), and relocation must recognize every byte of it. With a `WRAP_CACHE` such as
    /// `../cache`, the forms differed and console scripts shipped the staging path.
    pub fn staging_dir(&self) -> Result<PathBuf> {
        let dir = self.root.join("tmp");
        fs_err::create_dir_all(&dir)?;
        let dir = fs_err::canonicalize(&dir)?;
        interrupt::watch(&dir);
        Ok(dir)
    }

    /// Takes the cache's shared lock: held by every command that uses the cache, so that
    /// `wrap clean` (which takes it exclusively) never removes what a running build uses.
    pub fn lock_shared(&self, waiting: impl FnOnce()) -> Result<lock::FileLock> {
        lock::FileLock::acquire(&self.lock_path("cache"), lock::Kind::Shared, waiting)
    }
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
}
