//! What the remote cache holds, as objects under its root:
//!
//! - `blobs/sha256/<hex>`: artifact files and their sidecars, by content; a put of the same
//!   content is idempotent, so concurrent writers cannot conflict;
//! - `artifacts/<build key>.json`: the record of the artifact a build key made (file name,
//!   format, size, sha256, sidecars, the key's inputs), signed with HMAC-SHA256 when a secret is
//!   configured; written with a conditional put where the store has them;
//! - `times/<project>.json`: the project's last build time, which balances CI shards.
//!
//! Nothing read back is trusted: a record must be well-formed, name the key it was asked for and
//! carry a valid signature when a secret is set; a blob must have the recorded size and sha256.
//! What fails is ignored (and said), and the project is built.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Remote, RemoteFailure};
use crate::artifact::{Artifact, Format, beside, write_checksum};
use crate::digest::sha256_hex;
use crate::fs::{temp_file_in, write_atomically};

/// The record of one artifact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Record {
    key: String,
    project: String,
    file: String,
    format: Format,
    size: u64,
    sha256: String,
    sidecars: Vec<Sidecar>,
    inputs: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

/// A file kept beside an artifact (`.rpmlint.toml`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    suffix: String,
    size: u64,
    sha256: String,
}

/// What the remote gave for a build key.
#[derive(Debug)]
pub enum Fetched {
    /// The artifact, placed in the output directory and checked.
    Found(Artifact),
    /// The remote has no record of the key.
    Missing,
    /// The remote's record or its files were refused: why.
    Refused(String),
}

fn record_path(key: &str) -> String {
    format!("artifacts/{key}.json")
}

fn blob_path(sha256: &str) -> String {
    format!("blobs/sha256/{sha256}")
}

fn time_path(project: &str) -> String {
    format!("times/{project}.json")
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A name that stays one file in the output directory.
fn is_plain_file(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains('/') && !name.chars().any(char::is_control)
}

impl Remote {
    /// The record of `key`, checked: well-formed, about `key`, signed when a secret is set.
    fn record(&self, key: &str) -> Result<Result<Option<Record>, String>, RemoteFailure> {
        let Some(bytes) = self.get(&record_path(key))? else { return Ok(Ok(None)) };
        let record: Record = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("its record is not one wrap wrote ({e})"))),
        };
        let sane = record.key == key
            && is_plain_file(&record.file)
            && is_hex64(&record.sha256)
            && record.sidecars.iter().all(|s| {
                is_hex64(&s.sha256)
                    && s.suffix.starts_with('.')
                    && s.suffix.len() <= 32
                    && is_plain_file(&format!("x{}", s.suffix))
            });
        if !sane {
            return Ok(Err("its record names another key or a file wrap would not write".into()));
        }
        if self.signed() {
            let unsigned = Record { signature: None, ..record.clone() };
            let expected = self.sign(&serde_json::to_vec(&unsigned).expect("serializes"));
            match &record.signature {
                None => return Ok(Err("its record is not signed".into())),
                Some(s) if Some(s) != expected.as_ref() => {
                    return Ok(Err(
                        "its record's signature does not match (tampered, or another secret)".into()
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(Ok(Some(record)))
    }

    /// The artifact of `key` from the remote, placed in `out_dir` with its sidecars and
    /// `.sha256` once every byte is checked; nothing is placed when anything fails.
    pub fn fetch(&self, key: &str, project: &str, out_dir: &Path) -> Result<Fetched, RemoteFailure> {
        let record = match self.record(key)? {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(Fetched::Missing),
            Err(why) => return Ok(Fetched::Refused(why)),
        };
        let Some(bytes) = self.get(&blob_path(&record.sha256))? else {
            return Ok(Fetched::Refused(format!("`{}` is recorded but missing", record.file)));
        };
        if bytes.len() as u64 != record.size || sha256_hex(&bytes) != record.sha256 {
            return Ok(Fetched::Refused(format!(
                "`{}` is damaged: {} bytes with sha256 {}, the record says {} bytes with sha256 {}",
                record.file,
                bytes.len(),
                &sha256_hex(&bytes)[..16],
                record.size,
                &record.sha256[..16]
            )));
        }
        let mut sidecars = Vec::new();
        for sidecar in &record.sidecars {
            let Some(content) = self.get(&blob_path(&sidecar.sha256))? else {
                return Ok(Fetched::Refused(format!(
                    "`{}{}` is recorded but missing",
                    record.file, sidecar.suffix
                )));
            };
            if content.len() as u64 != sidecar.size || sha256_hex(&content) != sidecar.sha256 {
                return Ok(Fetched::Refused(format!("`{}{}` is damaged", record.file, sidecar.suffix)));
            }
            sidecars.push((sidecar.suffix.clone(), content));
        }
        let placed = (|| -> crate::error::Result<Artifact> {
            fs_err::create_dir_all(out_dir)?;
            let out = out_dir.join(&record.file);
            let mut tmp = temp_file_in(out_dir)?;
            std::io::Write::write_all(tmp.as_file_mut(), &bytes)?;
            tmp.as_file().sync_all()?;
            for (suffix, content) in &sidecars {
                write_atomically(&beside(&out, suffix), content)?;
            }
            tmp.persist(&out).map_err(|e| e.error)?;
            write_checksum(&out, &record.sha256)?;
            Ok(Artifact {
                project: project.into(),
                format: record.format,
                path: out,
                size: record.size,
                sha256: record.sha256.clone(),
                reused: true,
                sidecars: record.sidecars.iter().map(|s| s.suffix.clone()).collect(),
            })
        })();
        placed
            .map(Fetched::Found)
            .map_err(|e| RemoteFailure::Failed(format!("placing `{}`: {e}", record.file)))
    }

    /// Uploads `artifact`, built under `key` from `inputs`: its files by content, then its
    /// record (kept when one is there, unless `replace`: the one there was refused).
    pub fn upload(
        &self,
        key: &str,
        inputs: &BTreeMap<String, String>,
        artifact: &Artifact,
        replace: bool,
    ) -> Result<(), RemoteFailure> {
        let read = |path: &Path| fs_err::read(path).map_err(|e| RemoteFailure::Failed(e.to_string()));
        let bytes = read(&artifact.path)?;
        let mut sidecars = Vec::new();
        let mut blobs = vec![(artifact.sha256.clone(), bytes)];
        for suffix in &artifact.sidecars {
            let content = read(&beside(&artifact.path, suffix))?;
            let sha256 = sha256_hex(&content);
            sidecars.push(Sidecar {
                suffix: suffix.clone(),
                size: content.len() as u64,
                sha256: sha256.clone(),
            });
            blobs.push((sha256, content));
        }
        for (sha256, content) in blobs {
            self.put(&blob_path(&sha256), content, false)?;
        }
        let file = artifact.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut record = Record {
            key: key.into(),
            project: artifact.project.clone(),
            file,
            format: artifact.format,
            size: artifact.size,
            sha256: artifact.sha256.clone(),
            sidecars,
            inputs: inputs.clone(),
            signature: None,
        };
        record.signature = self.sign(&serde_json::to_vec(&record).expect("serializes"));
        self.put(&record_path(key), serde_json::to_vec_pretty(&record).expect("serializes"), !replace)
    }

    /// Whether the remote has a record for `key`.
    pub fn has_record(&self, key: &str) -> Result<bool, RemoteFailure> {
        self.has(&record_path(key))
    }

    /// Records that `project` took `seconds` to build.
    pub fn put_time(&self, project: &str, seconds: f64) -> Result<(), RemoteFailure> {
        self.put(&time_path(project), crate::cache::store::time_record(project, seconds), false)
    }

    /// The last recorded build time of `project`, in seconds.
    pub fn time(&self, project: &str) -> Result<Option<f64>, RemoteFailure> {
        Ok(self.get(&time_path(project))?.and_then(|bytes| crate::cache::store::time_of(&bytes)))
    }
}
