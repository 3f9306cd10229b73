//! What the cache holds (`wrap cache info`) and trimming it (`wrap clean`). An entry is one
//! mirror, checkout, artifact, compiled module, compressed gzip member, download, locked file's link,
//! wheel built from an sdist or log; its
//! modification time is its last use (the stages touch what they reuse, except the locked
//! files: the installers key their caches of a local file on its time, so a trimmed one is
//! fetched again by the next build that needs it). Sizes count each file once, however many hard links it has
//! (checkouts share their git objects with the mirrors). The installers' own caches (uv, pip)
//! and wrap's pip tools are counted but only removed by `--all`: they prune themselves. Lock
//! files are never removed: a lock lives on its file, and a removed file would let the next
//! process lock a new one while another still holds the old.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::cache::Cache;
use crate::error::Result;
use crate::fs::remove_atomically;
use crate::interrupt;

/// Kinds of entries, in the order `wrap cache info` lists them: the directory and whether an
/// entry is one level down (`git/<mirror>`) or two (`checkouts/<project>/<key>`).
const KINDS: [(&str, Depth); 17] = [
    ("git", Depth::One),
    ("checkouts", Depth::Two),
    ("trees", Depth::One),
    ("artifacts", Depth::One),
    ("keys", Depth::One),
    ("pyc", Depth::Two),
    ("gzip", Depth::Two),
    ("downloads", Depth::One),
    ("images", Depth::One),
    ("wheels", Depth::One),
    ("built", Depth::One),
    ("buildenvs", Depth::One),
    ("logs", Depth::One),
    ("tmp", Depth::One),
    ("uv", Depth::Whole),
    ("pip", Depth::Whole),
    ("tools", Depth::Whole),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    One,
    Two,
    /// The directory is one entry, removed only by `--all`.
    Whole,
}

/// One kind of entry and what it takes.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Category {
    /// Directory under the cache root.
    pub name: &'static str,
    /// Entries in it.
    pub entries: usize,
    /// Bytes on disk.
    pub bytes: u64,
}

/// `wrap cache info`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Usage {
    /// The cache root.
    pub root: PathBuf,
    /// Per kind.
    pub categories: Vec<Category>,
    /// All of it, each file counted once.
    pub bytes: u64,
}

/// What `wrap clean` removes.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Entries not used for this long.
    pub older_than: Option<Duration>,
    /// Then the least recently used entries, until the cache is no bigger than this.
    pub max_size: Option<u64>,
    /// Everything.
    pub all: bool,
    /// Report, remove nothing.
    pub dry_run: bool,
}

/// One removed entry.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Removed {
    /// Its path.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Why: `age`, `size`, `all` or `leftover` (a temporary of an interrupted run).
    pub reason: &'static str,
}

struct Entry {
    path: PathBuf,
    used: SystemTime,
    bytes: u64,
    whole: bool,
}

/// Measures the cache.
pub fn usage(cache: &Cache) -> Result<Usage> {
    let mut seen = HashSet::new();
    let mut categories = Vec::new();
    let mut bytes = 0;
    for (name, depth) in KINDS {
        let entries = entries_of(&cache.root().join(name), depth, &mut seen)?;
        let size: u64 = entries.iter().map(|e| e.bytes).sum();
        bytes += size;
        categories.push(Category { name, entries: entries.len(), bytes: size });
    }
    Ok(Usage { root: cache.root().to_path_buf(), categories, bytes })
}

/// Removes what `policy` says, oldest first. The caller holds the cache's exclusive lock, so no
/// other wrap process is using any entry, and every temporary left in the cache is a leftover of
/// an interrupted run.
pub fn clean(cache: &Cache, policy: &Policy, now: SystemTime) -> Result<Vec<Removed>> {
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    let mut leftovers = Vec::new();
    for (name, depth) in KINDS {
        for e in entries_of(&cache.root().join(name), depth, &mut seen)? {
            if is_temporary(&e.path) || name == "tmp" {
                leftovers.push(e);
            } else {
                entries.push(e);
            }
        }
    }
    let mut removed = Vec::new();
    let mut remove = |e: &Entry, reason| -> Result<()> {
        if !policy.dry_run {
            remove_atomically(&e.path)?;
        }
        removed.push(Removed { path: e.path.clone(), bytes: e.bytes, reason });
        Ok(())
    };
    for e in &leftovers {
        remove(e, "leftover")?;
    }
    if policy.all {
        for e in &entries {
            remove(e, "all")?;
        }
        return Ok(removed);
    }
    let mut kept: Vec<&Entry> = Vec::new();
    for e in entries.iter().filter(|e| !e.whole) {
        let age = now.duration_since(e.used).unwrap_or_default();
        match policy.older_than {
            Some(limit) if age > limit => remove(e, "age")?,
            _ => kept.push(e),
        }
    }
    if let Some(max) = policy.max_size {
        let mut total: u64 = entries.iter().filter(|e| e.whole).map(|e| e.bytes).sum::<u64>()
            + kept.iter().map(|e| e.bytes).sum::<u64>();
        kept.sort_by_key(|e| e.used);
        for e in kept {
            if total <= max {
                break;
            }
            remove(e, "size")?;
            total = total.saturating_sub(e.bytes);
        }
    }
    Ok(removed)
}

/// Why the cache is still over `policy.max_size` after `removed` went, if it is: what size never
/// removes (the installers' caches and wrap's tools, which only `--all` removes), by size.
pub fn shortfall(cache: &Cache, policy: &Policy, removed: &[Removed]) -> Result<Option<String>> {
    let Some(max) = policy.max_size.filter(|_| !policy.all) else { return Ok(None) };
    let usage = usage(cache)?;
    let gone: u64 = if policy.dry_run { removed.iter().map(|r| r.bytes).sum() } else { 0 };
    let left = usage.bytes.saturating_sub(gone);
    if left <= max {
        return Ok(None);
    }
    let whole: Vec<String> = KINDS
        .iter()
        .filter(|(_, depth)| *depth == Depth::Whole)
        .filter_map(|(name, _)| usage.categories.iter().find(|c| c.name == *name && c.bytes > 0))
        .map(|c| format!("{} {}", c.name, human_size(c.bytes)))
        .collect();
    let held = if whole.is_empty() { "entries in use".to_string() } else { whole.join(", ") };
    Ok(Some(format!(
        "the cache is still {} after cleaning, over `--max-size` {}: what is left is {held}, which only `--all` removes",
        human_size(left),
        human_size(max)
    )))
}

fn is_temporary(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.starts_with(interrupt::TEMP_MARK) && !name.starts_with(&interrupt::temp_prefix())
}

fn entries_of(dir: &Path, depth: Depth, seen: &mut HashSet<(u64, u64)>) -> Result<Vec<Entry>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths = Vec::new();
    match depth {
        Depth::Whole => paths.push(dir.to_path_buf()),
        Depth::One => paths.extend(children(dir)?),
        Depth::Two => {
            for child in children(dir)? {
                if child.is_dir() && !is_temporary(&child) {
                    paths.extend(children(&child)?);
                } else {
                    paths.push(child);
                }
            }
        }
    }
    let mut out = Vec::new();
    for path in paths {
        let used = fs_err::symlink_metadata(&path)?.modified()?;
        out.push(Entry { bytes: size_of(&path, seen), path, used, whole: depth == Depth::Whole });
    }
    Ok(out)
}

fn children(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> =
        fs_err::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    out.sort();
    Ok(out)
}

/// Bytes on disk under `path`, skipping files already counted (hard links).
fn size_of(path: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file() && seen.insert((m.dev(), m.ino())))
        .map(|m| m.blocks() * 512)
        .sum()
}

/// An age as `--older-than` takes it, read by humantime: `30d`, `12h`, `2w`, `90m` (minutes),
/// `1h 30m`, `30days`; a bare number is days.
pub fn parse_age(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        let days: u64 = t.parse().map_err(|_| format!("`{text}` is too large"))?;
        return days
            .checked_mul(86_400)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{text}` is too large"));
    }
    humantime::parse_duration(t).map_err(|e| format!("`{text}` is not an age like 30d, 12h or 2w ({e})"))
}

/// A size as `--max-size` takes it, read by bytesize: `500MiB`, `10GiB` (powers of 1024),
/// `500MB`, `10G` (powers of 1000, as bytesize reads them), a plain byte count.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|e| format!("`{text}` is not a size like 500MiB or 10GiB ({e})"))
}

/// Bytes as people read them, in powers of 1024: `1.4 GiB`.
pub fn human_size(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cache: &Cache, rel: &str, bytes: usize, days_ago: u64) -> PathBuf {
        let path = cache.root().join(rel);
        fs_err::create_dir_all(&path).unwrap();
        fs_err::write(path.join("data"), vec![7u8; bytes]).unwrap();
        let when = SystemTime::now() - Duration::from_secs(days_ago * 86_400);
        std::fs::File::open(&path).unwrap().set_modified(when).unwrap();
        path
    }

    #[test]
    fn prunes_by_age_then_size_oldest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path());
        let old = entry(&cache, "artifacts/old", 100_000, 40);
        let mid = entry(&cache, "checkouts/hello/mid", 100_000, 10);
        let new = entry(&cache, "git/hello-0123", 100_000, 1);
        let uv = entry(&cache, "uv", 10_000, 90);
        let leftover = entry(&cache, "checkouts/hello/.wrap-tmp-1-x", 10, 0);

        let usage = usage(&cache).unwrap();
        let count = |name| usage.categories.iter().find(|c| c.name == name).unwrap().entries;
        assert_eq!((count("artifacts"), count("checkouts"), count("git"), count("uv")), (1, 2, 1, 1));
        assert!(usage.bytes >= 310_000, "{}", usage.bytes);

        let policy =
            Policy { older_than: Some(Duration::from_secs(30 * 86_400)), dry_run: true, ..Policy::default() };
        let removed = clean(&cache, &policy, SystemTime::now()).unwrap();
        let what: Vec<(&Path, &str)> = removed.iter().map(|r| (r.path.as_path(), r.reason)).collect();
        assert_eq!(what, [(leftover.as_path(), "leftover"), (old.as_path(), "age")]);
        assert!(old.exists(), "a dry run removes nothing");

        // After `old` goes for its age, ~215 KB are left; 200 KB allowed: `mid`, the older, goes.
        let policy = Policy {
            older_than: Some(Duration::from_secs(30 * 86_400)),
            max_size: Some(200_000),
            ..Policy::default()
        };
        let removed = clean(&cache, &policy, SystemTime::now()).unwrap();
        let reasons: Vec<&str> = removed.iter().map(|r| r.reason).collect();
        assert_eq!(reasons, ["leftover", "age", "size"]);
        assert!(!old.exists() && !mid.exists() && !leftover.exists());
        assert!(new.exists() && uv.exists(), "installer caches go only with --all");
        assert_eq!(shortfall(&cache, &policy, &removed).unwrap(), None, "200 KB met");
        // 5 KB cannot be met without the installers' caches: said, with what is left.
        let small = Policy { max_size: Some(5_000), ..Policy::default() };
        let removed = clean(&cache, &small, SystemTime::now()).unwrap();
        let warning = shortfall(&cache, &small, &removed).unwrap().expect("over the size");
        assert!(
            warning.contains("over `--max-size` 4.9 KiB: what is left is uv ")
                && warning.ends_with("which only `--all` removes"),
            "{warning}"
        );

        clean(&cache, &Policy { all: true, ..Policy::default() }, SystemTime::now()).unwrap();
        assert!(!new.exists() && !uv.exists());
    }

    #[test]
    fn parses_ages_and_sizes() {
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert!(parse_age("soon").is_err());
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse_age("30"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_age("").is_err());
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("10X").is_err());
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(12), "12 B");
    }
}
