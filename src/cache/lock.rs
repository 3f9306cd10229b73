//! Advisory file locks (flock) on files under `<cache>/locks/` and beside git mirrors. The kernel
//! drops a lock when its process ends, however it ends, so a killed build leaves none behind.
//! Locks taken by different threads of one process exclude each other too (each opens its own
//! file description).

use std::fs::{File, TryLockError};
use std::path::Path;

use crate::error::Result;

/// Shared or exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Many holders at once (builds using the cache).
    Shared,
    /// One holder (a mirror fetch, a project's build, `wrap clean`).
    Exclusive,
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Takes the lock on `path` (created if missing), calling `waiting` once first if another
    /// holder makes it wait.
    pub fn acquire(path: &Path, kind: Kind, waiting: impl FnOnce()) -> Result<FileLock> {
        let held = FileLock { file: open(path)? };
        match held.attempt(kind) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                waiting();
                match kind {
                    Kind::Shared => held.file.lock_shared(),
                    Kind::Exclusive => held.file.lock(),
                }
                .map_err(|e| with_path(e, path))?;
            }
            Err(TryLockError::Error(e)) => return Err(with_path(e, path).into()),
        }
        tracing::trace!(path = %path.display(), ?kind, "locked");
        Ok(held)
    }

    /// Takes the lock if nobody holds it; `None` when somebody does.
    pub fn try_acquire(path: &Path, kind: Kind) -> Result<Option<FileLock>> {
        let held = FileLock { file: open(path)? };
        match held.attempt(kind) {
            Ok(()) => Ok(Some(held)),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(with_path(e, path).into()),
        }
    }

    fn attempt(&self, kind: Kind) -> std::result::Result<(), TryLockError> {
        match kind {
            Kind::Shared => self.file.try_lock_shared(),
            Kind::Exclusive => self.file.try_lock(),
        }
    }
}

fn open(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let file = fs_err::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    Ok(file.into_parts().0)
}

fn with_path(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("cannot lock {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_is_released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("locks/x.lock");
        let a = FileLock::try_acquire(&path, Kind::Exclusive).unwrap().expect("free");
        assert!(FileLock::try_acquire(&path, Kind::Exclusive).unwrap().is_none());
        assert!(FileLock::try_acquire(&path, Kind::Shared).unwrap().is_none());
        drop(a);
        let s1 = FileLock::try_acquire(&path, Kind::Shared).unwrap().expect("free again");
        let s2 = FileLock::try_acquire(&path, Kind::Shared).unwrap().expect("shared with shared");
        assert!(FileLock::try_acquire(&path, Kind::Exclusive).unwrap().is_none());
        drop((s1, s2));
        let mut waited = false;
        let _b = FileLock::acquire(&path, Kind::Exclusive, || waited = true).unwrap();
        assert!(!waited);
    }
}
