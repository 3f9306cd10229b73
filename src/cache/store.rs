//! Built artifacts, kept by build key under `<cache>/artifacts/<key>/`: the file, `entry.json`
//! (name, format, size, sha256) and one stamp per output path it was placed at. A build whose
//! key is unchanged gets its artifact from here instead of building it: when the output
//! directory still holds the same file (same stamp, or same sha256) it stays untouched,
//! otherwise it is copied back, checked against the recorded sha256 on the way.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::archive::Hashing;
use crate::artifact::Format;
use crate::artifact::{Artifact, beside, checksum_line, checksum_path, write_checksum};
use crate::cache::Cache;
use crate::digest::sha256_hex;
use crate::error::Result;
use crate::fs::{create_dir_atomically, remove_atomically, temp_file_in, touch, write_atomically};

/// What an entry holds.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    file: String,
    format: Format,
    size: u64,
    sha256: String,
    /// Suffixes of the files kept beside the artifact (`.rpmlint.toml`).
    #[serde(default)]
    sidecars: Vec<String>,
}

/// A sidecar suffix as the store accepts it: it names a file beside the artifact, nothing else.
fn is_sidecar(suffix: &str) -> bool {
    suffix.starts_with('.') && !suffix.contains('/') && suffix.len() <= 32
}

const ENTRY: &str = "entry.json";

/// The cached artifact of `key`, placed in `out_dir`; `None` when the cache does not hold it
/// (or holds a damaged copy, which is removed so that the build replaces it).
pub fn restore(cache: &Cache, key: &str, project: &str, out_dir: &Path) -> Result<Option<Artifact>> {
    let dir = cache.artifact_dir(key);
    let Some(entry) = read_entry(&dir) else { return Ok(None) };
    let cached = dir.join(&entry.file);
    let out = out_dir.join(&entry.file);
    let recorded = read_stamp(&dir, &out);
    let stays = match std::fs::metadata(&out) {
        Ok(m) if m.len() == entry.size => {
            Some(stamp_of(&m)) == recorded || file_sha256(&out)? == entry.sha256
        }
        _ => false,
    };
    if stays {
        tracing::debug!(project, path = %out.display(), "artifact unchanged");
    } else {
        fs_err::create_dir_all(out_dir)?;
        let mut tmp = temp_file_in(out_dir)?;
        let mut hashing = Hashing::new(tmp.as_file_mut());
        std::io::copy(&mut fs_err::File::open(&cached)?, &mut hashing)?;
        let (_, sha256, size) = hashing.finish();
        if sha256 != entry.sha256 || size != entry.size {
            tracing::warn!(project, path = %cached.display(), "damaged cache entry removed");
            drop(tmp);
            remove_atomically(&dir)?;
            return Ok(None);
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&out).map_err(|e| e.error)?;
        tracing::debug!(project, path = %out.display(), "artifact restored from the cache");
    }
    let sum = checksum_path(&out);
    if std::fs::read_to_string(&sum).ok() != Some(checksum_line(&out, &entry.sha256)) {
        write_checksum(&out, &entry.sha256)?;
    }
    for suffix in &entry.sidecars {
        let kept = fs_err::read(beside(&cached, suffix))?;
        let placed = beside(&out, suffix);
        if std::fs::read(&placed).ok().as_deref() != Some(&kept[..]) {
            write_atomically(&placed, &kept)?;
        }
    }
    if recorded != Some(stamp_of(&fs_err::metadata(&out)?)) {
        write_stamp(&dir, &out)?;
    }
    touch(&dir);
    Ok(Some(Artifact {
        project: project.into(),
        format: entry.format,
        path: out,
        size: entry.size,
        sha256: entry.sha256,
        reused: true,
        sidecars: entry.sidecars,
    }))
}

/// Where the inputs of the last artifact built for `project` in `format` are kept.
fn last_path(cache: &Cache, project: &str, format: Format) -> PathBuf {
    let digest = sha256_hex(project.as_bytes());
    cache.root().join("keys").join(format!("{}-{}.json", &digest[..16], format.as_str()))
}

/// The last artifact built for `project` in one format, as the cache remembers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Last {
    /// Its build key's inputs: what a rebuild is compared with, to say why it happens.
    pub inputs: BTreeMap<String, String>,
    /// Its file name.
    pub file: String,
    /// Its sha256.
    pub sha256: String,
}

/// The last artifact built for `project` in `format`, when the cache remembers it (a record of
/// an older wrap, its inputs alone, counts as none).
pub fn last_built(cache: &Cache, project: &str, format: Format) -> Option<Last> {
    serde_json::from_slice(&std::fs::read(last_path(cache, project, format)).ok()?).ok()
}

/// Keeps a copy of the freshly built `artifact` under `key`, replacing an older entry, and
/// remembers it with `inputs` (the key's) as the last of its project in its format.
pub fn save(cache: &Cache, key: &str, inputs: &BTreeMap<String, String>, artifact: &Artifact) -> Result<()> {
    save_as(cache, key, inputs, artifact, &artifact.project)
}

/// [`save`], remembered as the last of `record` (a project's metapackage has a record of its
/// own) in its format.
pub fn save_as(
    cache: &Cache,
    key: &str,
    inputs: &BTreeMap<String, String>,
    artifact: &Artifact,
    record: &str,
) -> Result<()> {
    let file = artifact.path.file_name().expect("artifacts are files").to_string_lossy().to_string();
    let last = Last { inputs: inputs.clone(), file: file.clone(), sha256: artifact.sha256.clone() };
    let last = serde_json::to_vec_pretty(&last).expect("serializes");
    write_atomically(&last_path(cache, record, artifact.format), &last)?;
    let dir = cache.artifact_dir(key);
    remove_atomically(&dir)?;
    create_dir_atomically(&dir, |tmp| -> Result<()> {
        fs_err::copy(&artifact.path, tmp.join(&file))?;
        for suffix in &artifact.sidecars {
            fs_err::copy(beside(&artifact.path, suffix), beside(&tmp.join(&file), suffix))?;
        }
        let entry = Entry {
            file: file.clone(),
            format: artifact.format,
            size: artifact.size,
            sha256: artifact.sha256.clone(),
            sidecars: artifact.sidecars.clone(),
        };
        fs_err::write(tmp.join(ENTRY), serde_json::to_vec_pretty(&entry).expect("serializes"))?;
        Ok(())
    })?;
    write_stamp(&dir, &artifact.path)
}

fn read_entry(dir: &Path) -> Option<Entry> {
    let text = std::fs::read(dir.join(ENTRY)).ok()?;
    let entry: Entry = serde_json::from_slice(&text).ok()?;
    let sane = !entry.file.is_empty()
        && !entry.file.contains('/')
        && !entry.file.starts_with('.')
        && entry.sidecars.iter().all(|s| is_sidecar(s));
    let present = std::fs::metadata(dir.join(&entry.file)).is_ok_and(|m| m.len() == entry.size)
        && entry.sidecars.iter().all(|s| beside(&dir.join(&entry.file), s).is_file());
    (sane && present).then_some(entry)
}

/// What identifies one placed copy without reading it: device, inode, size, modification time
/// and inode change time. Writing to the file changes its ctime, and setting its mtime back
/// (`touch -d`) changes it again: no user can restore a ctime, so a file changed since it was
/// stamped never passes for the placed copy (it is then read and compared by sha256).
fn stamp_of(m: &std::fs::Metadata) -> String {
    format!(
        "{} {} {} {}.{} {}.{}",
        m.dev(),
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    )
}

fn stamp_file(dir: &Path, out: &Path) -> PathBuf {
    let digest = sha256_hex(out.as_os_str().as_encoded_bytes());
    dir.join(format!("placed-{}", &digest[..16]))
}

fn read_stamp(dir: &Path, out: &Path) -> Option<String> {
    std::fs::read_to_string(stamp_file(dir, out)).ok()
}

fn write_stamp(dir: &Path, out: &Path) -> Result<()> {
    let stamp = stamp_of(&fs_err::metadata(out)?);
    write_atomically(&stamp_file(dir, out), stamp.as_bytes())
}

fn time_path(cache: &Cache, project: &str) -> PathBuf {
    cache.root().join("keys").join(format!("time-{project}.json"))
}

/// Records that `project` took `seconds` to build (what balances CI shards).
pub fn record_time(cache: &Cache, project: &str, seconds: f64) -> Result<()> {
    write_atomically(&time_path(cache, project), &time_record(project, seconds))
}

/// The last recorded build time of `project`, in seconds.
pub fn recorded_time(cache: &Cache, project: &str) -> Option<f64> {
    time_of(&std::fs::read(time_path(cache, project)).ok()?)
}

/// A build-time record as the local cache and the remote keep it.
pub fn time_record(project: &str, seconds: f64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "project": project, "seconds": seconds })).expect("serializes")
}

/// The seconds of a build-time record; `None` for anything else.
pub fn time_of(record: &[u8]) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_slice(record).ok()?;
    value.get("seconds").and_then(serde_json::Value::as_f64).filter(|s| s.is_finite() && *s >= 0.0)
}

/// The sha256 of the file at `path`.
pub fn file_sha256(path: &Path) -> Result<String> {
    let mut hashing = Hashing::new(std::io::sink());
    std::io::copy(&mut fs_err::File::open(path)?, &mut hashing)?;
    Ok(hashing.finish().1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn artifact(out: &Path, bytes: &[u8]) -> Artifact {
        let path = out.join("p_1.0_amd64.deb");
        fs_err::create_dir_all(out).unwrap();
        fs_err::write(&path, bytes).unwrap();
        Artifact {
            project: "p".into(),
            format: Format::Deb,
            path,
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            reused: false,
            sidecars: Vec::new(),
        }
    }

    #[test]
    fn restores_stays_and_refuses_damaged_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("cache"));
        let out = tmp.path().join("out");
        assert!(restore(&cache, "k", "p", &out).unwrap().is_none());
        let built = artifact(&out, b"package bytes");
        save(&cache, "k", &BTreeMap::new(), &built).unwrap();

        // Unchanged output: stays (same inode), and is reported as reused.
        let ino = fs_err::metadata(&built.path).unwrap().ino();
        let again = restore(&cache, "k", "p", &out).unwrap().expect("cached");
        assert!(again.reused);
        assert_eq!(again.sha256, built.sha256);
        assert_eq!(fs_err::metadata(&built.path).unwrap().ino(), ino);
        assert_eq!(
            fs_err::read_to_string(out.join("p_1.0_amd64.deb.sha256")).unwrap(),
            checksum_line(&built.path, &built.sha256)
        );

        // Altered output whose size and modification time were put back (`touch -d`): the
        // inode change time gives it away, and the cache's copy replaces it.
        let mtime = fs_err::metadata(&built.path).unwrap().modified().unwrap();
        std::fs::OpenOptions::new().write(true).open(&built.path).unwrap().write_all(b"PACKAGE").unwrap();
        std::fs::File::options().write(true).open(&built.path).unwrap().set_modified(mtime).unwrap();
        assert_eq!(fs_err::metadata(&built.path).unwrap().ino(), ino);
        restore(&cache, "k", "p", &out).unwrap().expect("cached");
        assert_eq!(fs_err::read(&built.path).unwrap(), b"package bytes");

        // Removed or altered output: copied back from the cache.
        fs_err::write(&built.path, b"package bytez").unwrap();
        restore(&cache, "k", "p", &out).unwrap().expect("cached");
        assert_eq!(fs_err::read(&built.path).unwrap(), b"package bytes");
        fs_err::remove_file(&built.path).unwrap();
        restore(&cache, "k", "p", &out).unwrap().expect("cached");
        assert_eq!(fs_err::read(&built.path).unwrap(), b"package bytes");

        // A damaged cache copy is dropped, not handed on.
        fs_err::remove_file(&built.path).unwrap();
        fs_err::write(cache.artifact_dir("k").join("p_1.0_amd64.deb"), b"package bytez").unwrap();
        assert!(restore(&cache, "k", "p", &out).unwrap().is_none());
        assert!(!cache.artifact_dir("k").exists());
        assert!(!built.path.exists());
        assert_eq!(fs_err::read_dir(&out).unwrap().count(), 1, "only the stale .sha256 remains");
    }
}
