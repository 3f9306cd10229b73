//! The files a lock pins, kept in wrap's cache: each under its sha256 (`downloads/<sha256>`,
//! written only after the sha256 matched the lock) and hard-linked under its own name into one
//! flat directory (`wheels/`) that locked builds give the installer as their only source
//! (`--no-index --find-links`). A warm locked build touches no network and resolves nothing; a
//! cold one fetches the missing files here, several at a time, from `find_links` or the URL the
//! lock names.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::lock::closure::{DistFile, Distribution};

/// Downloads at a time: the work is waiting on the network, not the two cores.
const WORKERS: usize = 8;

/// Where a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// It was in the cache.
    Cached,
    /// Copied from a `find_links` directory.
    Copied,
    /// Downloaded from the URL the lock names.
    Downloaded,
}

/// A file in the cache, and where it came from.
pub type Placed = (PathBuf, Origin);

/// The flat directory of locked files that locked builds install from.
pub fn dir(cache: &Cache) -> PathBuf {
    cache.root().join("wheels")
}

/// One file of a distribution, as [`ensure`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The distribution it belongs to.
    pub distribution: &'a Distribution,
    /// The file.
    pub file: &'a DistFile,
}

/// Every file of `distributions`.
pub fn files_of<'a>(distributions: impl IntoIterator<Item = &'a Distribution>) -> Vec<Wanted<'a>> {
    let mut out: Vec<Wanted<'a>> = distributions
        .into_iter()
        .flat_map(|d| d.files.iter().map(move |file| Wanted { distribution: d, file }))
        .collect();
    out.sort_by(|a, b| (&a.file.name, &a.file.sha256).cmp(&(&b.file.name, &b.file.sha256)));
    out.dedup_by(|a, b| a.file == b.file);
    out
}

/// Makes every file of `wanted` present in [`dir`] with its locked sha256, taking what the
/// cache lacks from `find_links` or, unless `offline`, from its URL. `project` is named in
/// errors. Returns each file's cached copy and where it came from, in `wanted`'s order; on an
/// error nothing unchecked is left in the cache.
pub fn ensure(
    cache: &Cache,
    project: &str,
    wanted: &[Wanted<'_>],
    find_links: &[PathBuf],
    offline: bool,
) -> Result<Vec<Placed>> {
    let view = dir(cache);
    fs_err::create_dir_all(&view)?;
    fs_err::create_dir_all(cache.download_path("0").parent().expect("downloads/"))?;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<Placed>>>> = wanted.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..WORKERS.min(wanted.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= wanted.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let result = one(cache, project, &wanted[i], &view, find_links, offline);
                    failed.fetch_or(result.is_err(), Ordering::Relaxed);
                    *results[i].lock().expect("no worker panics holding it") = Some(result);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(wanted.len());
    for (slot, w) in results.into_iter().zip(wanted) {
        match slot.into_inner().expect("no worker panics holding it") {
            Some(result) => out.push(result?),
            // Left undone after another file failed: that error is returned below.
            None => out.push((view.join(&w.file.name), Origin::Cached)),
        }
    }
    Ok(out)
}

/// [`ensure`] for every file of `closure` (its build requirements and what it installs);
/// returns how many were not in the cache yet.
pub fn ensure_closure(
    cache: &Cache,
    project: &str,
    closure: &crate::lock::closure::Resolved,
    find_links: &[PathBuf],
    offline: bool,
) -> Result<usize> {
    let wanted = files_of(closure.build.iter().chain(&closure.install));
    let got = ensure(cache, project, &wanted, find_links, offline)?;
    Ok(got.iter().filter(|(_, origin)| *origin != Origin::Cached).count())
}

/// [`ensure`] for one file.
fn one(
    cache: &Cache,
    project: &str,
    wanted: &Wanted<'_>,
    view: &Path,
    find_links: &[PathBuf],
    offline: bool,
) -> Result<Placed> {
    let file = wanted.file;
    let stored = cache.download_path(&file.sha256);
    // A plain file name: the lock refuses any other when it is read.
    let linked = view.join(&file.name);
    let origin = if stored.is_file() {
        Origin::Cached
    } else {
        let local = find_links.iter().map(|l| l.join(&file.name)).find(|f| f.is_file());
        let local = match local {
            Some(path) => Some((crate::lock::hash_file(&path)?, path)),
            None => None,
        };
        match (local, &file.url) {
            (Some((sha256, from)), _) if sha256 == file.sha256 => {
                crate::fs::copy_atomically(&from, &stored)?;
                Origin::Copied
            }
            (_, Some(url)) if !offline => {
                crate::source::download::download_to(url, &stored, &file.sha256).map_err(|e| match e {
                    Error::DownloadChanged { url, now, .. } => Error::LockedHashMismatch {
                        project: project.into(),
                        distribution: wanted.distribution.pin(),
                        detail: format!("{} from {url} has sha256 {now}", file.name),
                    },
                    other => {
                        // The index answered, and not with the file; anything else is the network.
                        let answered = matches!(&other, Error::Download { source, .. }
                            if matches!(source.downcast_ref::<ureq::Error>(), Some(ureq::Error::StatusCode(_))));
                        unavailable(project, wanted, with_causes(&other), !answered)
                    }
                })?;
                Origin::Downloaded
            }
            (Some((sha256, from)), _) => {
                return Err(Error::LockedHashMismatch {
                    project: project.into(),
                    distribution: wanted.distribution.pin(),
                    detail: format!("{} has sha256 {sha256}", from.display()),
                });
            }
            (None, url) => {
                let why = match url {
                    Some(_) => "it is in no `find_links` directory, and offline mode is on",
                    None => "it is in no `find_links` directory, and the lock names no URL",
                };
                return Err(unavailable(project, wanted, why.into(), false));
            }
        }
    };
    link(&stored, &linked)?;
    Ok((stored, origin))
}

/// `error` and its causes, on one line.
fn with_causes(error: &Error) -> String {
    let mut line = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        line.push_str(&format!(": {c}"));
        cause = c.source();
    }
    line
}

/// The error for a locked file that cannot be had; `unreachable`, for want of a network.
fn unavailable(project: &str, wanted: &Wanted<'_>, detail: String, unreachable: bool) -> Error {
    Error::LockedFileUnavailable {
        project: project.into(),
        distribution: wanted.distribution.pin(),
        file: wanted.file.name.clone(),
        sha256: wanted.file.sha256.clone(),
        detail,
        unreachable,
    }
}

/// Makes `linked` the same file as `stored` (a hard link, through a temporary name; a copy
/// where the file system has no hard links). A file already there is kept when it is `stored`
/// itself, and replaced otherwise (another lock's bytes under the same name).
fn link(stored: &Path, linked: &Path) -> Result<()> {
    let same = |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
    if let (Ok(a), Ok(b)) = (std::fs::metadata(stored), std::fs::metadata(linked))
        && same(&a, &b)
    {
        return Ok(());
    }
    let dir = linked.parent().expect("a file in the directory");
    let tmp = crate::fs::temp_file_in(dir)?.into_temp_path();
    let tmp_path = tmp.to_path_buf();
    std::fs::remove_file(&tmp_path)?;
    if std::fs::hard_link(stored, &tmp_path).is_err() {
        fs_err::copy(stored, &tmp_path)?;
    }
    fs_err::rename(&tmp_path, linked)?;
    // Renamed away: nothing for the guard to remove.
    drop(tmp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(name: &str, files: &[(&str, &str)]) -> Distribution {
        Distribution {
            name: name.into(),
            version: "1.0".into(),
            files: files
                .iter()
                .map(|(n, bytes)| DistFile {
                    name: (*n).into(),
                    sha256: crate::digest::sha256_hex(bytes.as_bytes()),
                    url: None,
                })
                .collect(),
        }
    }

    #[test]
    fn files_come_from_find_links_once_and_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("cache"));
        let links = tmp.path().join("links");
        fs_err::create_dir_all(&links).unwrap();
        fs_err::write(links.join("a-1.0-py3-none-any.whl"), "a").unwrap();
        fs_err::write(links.join("b-1.0.tar.gz"), "not b").unwrap();
        let a = dist("a", &[("a-1.0-py3-none-any.whl", "a")]);
        let b = dist("b", &[("b-1.0.tar.gz", "b")]);

        let got = ensure(&cache, "p", &files_of([&a]), std::slice::from_ref(&links), true).unwrap();
        assert_eq!(got[0].1, Origin::Copied);
        assert_eq!(fs_err::read_to_string(dir(&cache).join("a-1.0-py3-none-any.whl")).unwrap(), "a");
        let again = ensure(&cache, "p", &files_of([&a]), &[], true).unwrap();
        assert_eq!(again[0].1, Origin::Cached);

        // Other bytes under the locked name: not taken, and named.
        let e = ensure(&cache, "p", &files_of([&b]), &[links], true).unwrap_err().to_string();
        assert!(e.contains("project `p`: `b==1.0` does not match the sha256 in the lock ("), "{e}");
        assert!(e.contains("links/b-1.0.tar.gz has sha256 "), "{e}");
        // Not there at all.
        let c = dist("c", &[("c-1.0.tar.gz", "c")]);
        let e = ensure(&cache, "p", &files_of([&c]), &[], true).unwrap_err().to_string();
        assert!(e.contains("locked file c-1.0.tar.gz of `c==1.0` (sha256 "), "{e}");
        assert!(e.contains("it is in no `find_links` directory, and the lock names no URL"), "{e}");
        assert!(!dir(&cache).join("b-1.0.tar.gz").exists());
        assert!(!cache.download_path(&b.files[0].sha256).exists());

        // A file of another lock under the same name is replaced by this lock's.
        let a2 = dist("a", &[("a-1.0-py3-none-any.whl", "a, again")]);
        fs_err::write(cache.download_path(&a2.files[0].sha256), "a, again").unwrap();
        ensure(&cache, "p", &files_of([&a2]), &[], true).unwrap();
        let linked = dir(&cache).join("a-1.0-py3-none-any.whl");
        assert_eq!(fs_err::read_to_string(linked).unwrap(), "a, again");
    }
}
