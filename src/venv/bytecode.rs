//! Bytecode: compiles a relocated tree as its target will see it, with every pyc kept in the
//! cache under a digest of its source, recorded path and interpreter, so that a rebuild compiles
//! only what changed, and with a remote cache, packed per top-level package there so that
//! other build boxes fetch them. Receives a relocated tree; hands on the same tree with
//! `__pycache__`.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use crate::cache::Cache;
use crate::cache::remote::{Remote, pycs};
use crate::error::{Error, Result};
use crate::fs::replace_file;
use crate::host::on_every_core;
use crate::venv::installer::run_captured_with_input;
use crate::venv::python::Interpreter;
use crate::venv::relocate::Target;

/// Byte-compiles the relocated tree `out` as the target will see it: source paths recorded as
/// the install path (fixed) or relative to the bundle (relocatable). Checked-hash pycs are
/// reproducible, and Python compiles a source again when it no longer matches its pyc.
/// A pyc depends only on its source, the path recorded in it and the interpreter, so pycs are
/// kept in the cache under a digest of the three ([`Cache::pyc_path`]) and hard-linked from
/// there ([`Entry`]): a rebuild compiles only what changed, and creates no file for what did
/// not (a new file costs far more than a link on a busy file system). The rest is compiled by
/// one compileall per core, each given its share of the files (balanced by size) on stdin, and
/// then linked into the cache.
/// With a remote, the pycs the cache lacks are first looked for in the remote's packs (one per
/// top-level package: [`pycs`]), and the packs the remote lacked are uploaded after compiling;
/// a remote failure is kept for the caller to say ([`Remote::take_deferred`]).
pub fn compile(
    project: &str,
    out: &Path,
    target: Target<'_>,
    python: &Interpreter,
    cache: &Cache,
    remote: Option<&Remote>,
) -> Result<FromRemote> {
    crate::time::timed(project, "byte-compiled", || compile_tree(out, target, python, cache, remote))
}

/// How the pycs are checked against their source; part of every cached pyc's key.
const INVALIDATION: &str = "checked-hash";

/// A pyc in the cache: the pyc itself at `<key>.pyc`, hard-linked into trees (written once, then
/// only ever replaced, never written through), and its sha256 at `<key>`, which makes it an
/// entry: one that a crash left damaged, or an entry of the older one-file format, is missed
/// and made again.
struct Entry(PathBuf);

impl Entry {
    fn pyc(&self) -> PathBuf {
        self.0.with_extension("pyc")
    }

    /// The pyc's bytes, when the entry is whole.
    fn read(&self) -> Option<Vec<u8>> {
        let sum = std::fs::read(&self.0).ok()?;
        let bytes = std::fs::read(self.pyc()).ok()?;
        (sum.len() == 32 && Sha256::digest(&bytes).as_slice() == sum).then_some(bytes)
    }

    /// Puts the cached pyc at `pyc` in the tree (a hard link, or a copy where the file system
    /// cannot link), when the entry is whole; says whether it was.
    fn link_to(&self, pyc: &Path) -> Result<bool> {
        let Some(bytes) = self.read() else { return Ok(false) };
        fs_err::create_dir_all(pyc.parent().expect("in __pycache__"))?;
        let _ = std::fs::remove_file(pyc);
        if std::fs::hard_link(self.pyc(), pyc).is_err() {
            place(pyc, &bytes)?;
        }
        crate::fs::touch(&self.0);
        crate::fs::touch(&self.pyc());
        Ok(true)
    }

    /// Keeps the pyc at `pyc` in the tree (just compiled, or just placed) as this entry: the
    /// pyc linked (copied where the file system cannot link), then its sha256, each renamed
    /// into place.
    fn keep(&self, pyc: &Path) -> Result<()> {
        let bytes = fs_err::read(pyc)?;
        let dir = self.0.parent().expect("cache entries have a parent");
        fs_err::create_dir_all(dir)?;
        let name = self.0.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!("{}{name}.pyc", crate::interrupt::temp_prefix()));
        let _ = std::fs::remove_file(&tmp);
        if std::fs::hard_link(pyc, &tmp).is_err() {
            fs_err::write(&tmp, &bytes)?;
        }
        fs_err::rename(&tmp, self.pyc())?;
        crate::fs::write_checked_raw(&self.0, Sha256::digest(&bytes).as_slice())
    }
}

/// A source of the tree, and where its pyc goes.
struct Source {
    size: u64,
    path: PathBuf,
    /// Its pyc in the tree.
    pyc: PathBuf,
    /// The pyc's cache key, and its entry in the cache.
    key: String,
    entry: Entry,
    /// The group its pyc is packed with on the remote: a top-level package or module of
    /// site-packages, else its directory.
    group: String,
    /// Whether the cache had its pyc.
    cached: bool,
}

/// What the remote gave: how many pycs, and why the packs it had were refused, if any were.
#[derive(Default)]
pub struct FromRemote {
    pub fetched: usize,
    pub refused: Vec<String>,
    /// The packs found sound (not uploaded again), and those refused (replaced).
    found: HashSet<String>,
    replace: HashSet<String>,
}

fn group_of(rel: &str) -> String {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.iter().position(|p| *p == "site-packages") {
        Some(i) if i + 2 < parts.len() => parts[..i + 2].join("/"),
        Some(i) => format!("{}/{}", parts[..=i].join("/"), parts[i + 1].trim_end_matches(".py")),
        None => parts[..parts.len() - 1].join("/"),
    }
}

/// Puts `bytes` in the tree as `pyc`, as compileall writes it: never executable (it masks the
/// source's mode with 0o666).
fn place(pyc: &Path, bytes: &[u8]) -> Result<()> {
    fs_err::create_dir_all(pyc.parent().expect("in __pycache__"))?;
    replace_file(pyc, bytes)?;
    fs_err::set_permissions(pyc, std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}

fn compile_tree(
    out: &Path,
    target: Target<'_>,
    python: &Interpreter,
    cache: &Cache,
    remote: Option<&Remote>,
) -> Result<FromRemote> {
    let tag = format!("cpython-{}", python.abi.replace('.', ""));
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(out.join("lib")).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "py") {
            all.push(entry.into_path());
        }
    }
    // Each source, and whether its pyc came from the cache.
    let lookups = on_every_core(&all, |path| -> Result<Source> {
        crate::interrupt::check()?;
        let source = fs_err::read(path)?;
        let rel = path.strip_prefix(out).expect("below the tree").to_string_lossy();
        let recorded = match target {
            Target::Fixed(install) => format!("{install}/{rel}"),
            Target::Relocatable => rel.to_string(),
        };
        let mut hasher = Sha256::new();
        hasher.update(format!("{}\0{}\0{INVALIDATION}\0{recorded}\0", python.version, python.abi).as_bytes());
        hasher.update(&source);
        let key = crate::digest::hex(hasher.finalize());
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let pyc =
            path.parent().expect("in a directory").join("__pycache__").join(format!("{stem}.{tag}.pyc"));
        let entry = Entry(cache.pyc_path(&key));
        let cached = entry.link_to(&pyc)?;
        let group = group_of(&rel);
        Ok(Source { size: source.len() as u64, path: path.clone(), pyc, key, entry, group, cached })
    })?;
    let (from_remote, unpacked) = match remote.filter(|r| !r.is_down()) {
        Some(remote) => from_the_remote(remote, &lookups)?,
        None => (FromRemote::default(), HashSet::new()),
    };
    let reused = lookups.iter().filter(|s| s.cached).count();
    let mut sources: Vec<(u64, PathBuf)> = Vec::new();
    let mut compiled: Vec<(PathBuf, &Entry)> = Vec::new(); // (pyc in the tree, cache entry)
    for source in lookups.iter().filter(|s| !s.cached && !unpacked.contains(&s.key)) {
        sources.push((source.size, source.path.clone()));
        compiled.push((source.pyc.clone(), &source.entry));
    }
    tracing::debug!(
        reused,
        remote = from_remote.fetched,
        compiling = sources.len(),
        "bytecode from the cache"
    );
    if !sources.is_empty() {
        compile_sources(out, target, python, sources)?;
        // A source compileall skipped (it never does, short of a race) simply stays uncached.
        on_every_core(&compiled, |(pyc, entry)| if pyc.is_file() { entry.keep(pyc) } else { Ok(()) })?;
    }
    if let Some(remote) = remote.filter(|r| !r.is_down()) {
        upload_packs(remote, &lookups, &from_remote);
    }
    Ok(from_remote)
}

/// The groups of `lookups` with a source the cache lacked, each with its pack's name.
fn missing_groups(lookups: &[Source]) -> Vec<(String, Vec<&Source>)> {
    let mut groups: BTreeMap<&str, (bool, Vec<&Source>)> = BTreeMap::new();
    for source in lookups {
        let group = groups.entry(&source.group).or_default();
        group.0 |= !source.cached;
        group.1.push(source);
    }
    groups
        .into_values()
        .filter(|(missing, _)| *missing)
        .map(|(_, members)| {
            let keys: Vec<&str> = members.iter().map(|s| s.key.as_str()).collect();
            (pycs::group_key(&keys), members)
        })
        .collect()
}

/// Requests at once to the remote: it answers in latency, not in cores.
const REMOTE_REQUESTS: usize = 8;

/// The pycs the cache lacked, from the remote's packs: placed in the tree and the cache. Says
/// which keys it placed.
fn from_the_remote(remote: &Remote, lookups: &[Source]) -> Result<(FromRemote, HashSet<String>)> {
    let groups = missing_groups(lookups);
    let next = AtomicUsize::new(0);
    let result = Mutex::new((FromRemote::default(), HashSet::new()));
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..REMOTE_REQUESTS.min(groups.len()))
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    while let Some((name, members)) = groups.get(next.fetch_add(1, Ordering::SeqCst)) {
                        let entries = match remote.pycs(name) {
                            Ok(Ok(Some(entries))) => entries,
                            Ok(Ok(None)) => continue,
                            Ok(Err(why)) => {
                                let mut got = result.lock().expect("not poisoned");
                                got.0.refused.push(why);
                                got.0.replace.insert(name.clone());
                                continue;
                            }
                            Err(failure) => {
                                remote.defer(failure);
                                return Ok(());
                            }
                        };
                        result.lock().expect("not poisoned").0.found.insert(name.clone());
                        for source in members.iter().filter(|s| !s.cached) {
                            let Some(bytes) = entries.get(&source.key) else { continue };
                            place(&source.pyc, bytes)?;
                            source.entry.keep(&source.pyc)?;
                            let mut got = result.lock().expect("not poisoned");
                            got.0.fetched += 1;
                            got.1.insert(source.key.clone());
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().expect("worker threads do not panic"))
    })?;
    Ok(result.into_inner().expect("not poisoned"))
}

/// Uploads the pack of every group that had a source the cache lacked and the remote had no
/// sound pack of, now that the cache has all of them. A failure is kept to be said.
fn upload_packs(remote: &Remote, lookups: &[Source], from_remote: &FromRemote) {
    for (name, members) in missing_groups(lookups) {
        if from_remote.found.contains(&name) {
            continue;
        }
        let mut entries = BTreeMap::new();
        for source in &members {
            match source.entry.read() {
                Some(bytes) => entries.insert(source.key.clone(), bytes),
                None => break,
            };
        }
        if entries.len() != members.len() {
            continue;
        }
        if let Err(failure) = remote.put_pycs(&name, &entries, from_remote.replace.contains(&name)) {
            remote.defer(failure);
            return;
        }
    }
}

/// Compiles `sources` (size, path) with one compileall per core, each given its share of the
/// files (balanced by size) on stdin.
fn compile_sources(
    out: &Path,
    target: Target<'_>,
    python: &Interpreter,
    mut sources: Vec<(u64, PathBuf)>,
) -> Result<()> {
    let workers = crate::host::cores().min(sources.len());
    let mut shares: Vec<(u64, Vec<u8>)> = vec![(0, Vec::new()); workers];
    sources.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (size, path) in sources {
        let least = shares.iter_mut().min_by_key(|(load, _)| *load).expect("at least one share");
        least.0 += size;
        least.1.extend_from_slice(path.as_os_str().as_encoded_bytes());
        least.1.push(b'\n');
    }
    // One share per core, so each compileall runs on a core of its own.
    on_every_core(&shares, |(_, list)| {
        let mut cmd = Command::new(&python.path);
        cmd.args(["-I", "-m", "compileall", "-q", "--invalidation-mode", INVALIDATION, "-s"])
            .arg(out)
            .env("SOURCE_DATE_EPOCH", "0")
            .env_remove("PYTHONPATH");
        if let Target::Fixed(path) = target {
            cmd.args(["-p", path]);
        }
        cmd.args(["-i", "-"]);
        run_captured_with_input(&mut cmd, list.clone())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_pyc_entry_is_linked_into_trees_and_a_damaged_one_is_missed() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = Entry(tmp.path().join("cache/ab/abcdef"));
        let compiled = tmp.path().join("tree/__pycache__/m.cpython-311.pyc");
        fs_err::create_dir_all(compiled.parent().unwrap()).unwrap();
        fs_err::write(&compiled, b"\xa7\r\r\nPYC").unwrap();
        assert_eq!(entry.read(), None, "an empty cache has no entry");
        entry.keep(&compiled).unwrap();
        assert_eq!(entry.read().as_deref(), Some(&b"\xa7\r\r\nPYC"[..]));
        // Another tree gets a link: no new file.
        let other = tmp.path().join("other/__pycache__/m.cpython-311.pyc");
        assert!(entry.link_to(&other).unwrap());
        assert_eq!(fs_err::read(&other).unwrap(), b"\xa7\r\r\nPYC");
        assert_eq!(fs_err::metadata(&other).unwrap().ino(), fs_err::metadata(entry.pyc()).unwrap().ino());
        // A pyc whose bytes no longer match its sha256 is missed, and nothing is placed.
        std::fs::remove_file(&other).unwrap();
        crate::fs::replace_file(&entry.pyc(), b"\xa7\r\r\nPYX").unwrap();
        assert_eq!(entry.read(), None);
        assert!(!entry.link_to(&other).unwrap());
        assert!(!other.exists());
        // An entry of the older one-file format (sha256, then the pyc) is missed too.
        crate::fs::write_checked(&entry.0, b"\xa7\r\r\nPYC").unwrap();
        assert_eq!(entry.read(), None);
        // Kept again, it is whole.
        entry.keep(&compiled).unwrap();
        assert!(entry.link_to(&other).unwrap());
        assert_eq!(fs_err::read(&other).unwrap(), b"\xa7\r\r\nPYC");
    }
}
