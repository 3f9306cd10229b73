//! What the resolvers answer, taken in as the lock's distributions: uv's pylock.toml (PEP 751:
//! every file the interpreter may install, with its sha256) and pip's installation report
//! (`pip install --dry-run --report`: the one file pip chose, with its sha256). Every value is
//! checked as the lock checks it before it is taken ([`Distribution::problem`]).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::lock::closure::{DistFile, Distribution};

#[derive(Deserialize)]
struct Pylock {
    #[serde(default)]
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    #[serde(default)]
    wheels: Vec<File>,
    sdist: Option<File>,
    archive: Option<File>,
    directory: Option<toml::Value>,
    vcs: Option<toml::Value>,
}

#[derive(Deserialize)]
struct File {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
}

/// The distributions of pylock `text`, sorted by name; the project itself (its wheel, or a
/// directory; one of `names`) left out. A distribution without a version or a hashed file
/// cannot be pinned: an error.
pub(super) fn pylock(project: &str, names: &[String], text: &str) -> Result<Vec<Distribution>> {
    let lock: Pylock = toml::from_str(text)
        .map_err(|e| unpinnable(project, format!("uv wrote a pylock.toml wrap cannot read: {e}")))?;
    let mut out = Vec::new();
    for p in lock.packages {
        let name = crate::pyenv::normalize(&p.name);
        if p.directory.is_some() || names.contains(&name) {
            continue;
        }
        if p.vcs.is_some() {
            return Err(unpinnable(
                project,
                format!("`{name}` comes from a VCS URL, which has no file to pin by hash"),
            ));
        }
        let files: Vec<File> =
            if !p.wheels.is_empty() { p.wheels } else { p.sdist.into_iter().chain(p.archive).collect() };
        let files = files
            .into_iter()
            .map(|f| {
                let location = f.url.clone().or(f.path.clone()).unwrap_or_default();
                (f.name.unwrap_or_else(|| file_name(&location)), f.hashes.get("sha256").cloned(), f.url)
            })
            .collect();
        out.push(pinned(project, name, p.version, files)?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    install: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    metadata: Metadata,
    download_info: DownloadInfo,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    version: Option<String>,
}

#[derive(Deserialize)]
struct DownloadInfo {
    url: String,
    archive_info: Option<ArchiveInfo>,
}

#[derive(Deserialize)]
struct ArchiveInfo {
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    hash: Option<String>,
}

/// The distributions of pip's installation report `text` (the project, one of `names`, left
/// out), sorted by name: each with the one file pip chose. A directory or VCS checkout has no
/// file to pin: an error.
pub(super) fn pip_report(project: &str, names: &[String], text: &str) -> Result<Vec<Distribution>> {
    let report: Report = serde_json::from_str(text)
        .map_err(|e| unpinnable(project, format!("pip wrote a report wrap cannot read: {e}")))?;
    let mut out = Vec::new();
    for item in report.install {
        let name = crate::pyenv::normalize(&item.metadata.name);
        if names.contains(&name) {
            continue;
        }
        let info = item.download_info;
        let Some(archive) = info.archive_info else {
            return Err(unpinnable(
                project,
                format!("`{name}` comes from a directory or VCS URL, which has no file to pin by hash"),
            ));
        };
        let sha256 = archive
            .hashes
            .get("sha256")
            .cloned()
            .or_else(|| archive.hash.and_then(|h| h.strip_prefix("sha256=").map(str::to_string)));
        let files = vec![(file_name(&info.url), sha256, Some(info.url))];
        out.push(pinned(project, name, item.metadata.version, files)?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The error for an answer that cannot be pinned.
fn unpinnable(project: &str, detail: String) -> Error {
    Error::ResolveFailed {
        project: project.into(),
        what: "requirements".into(),
        tail: vec![detail],
        log: PathBuf::new(),
    }
}

/// Distribution `name` at `version` with `files` (file name, sha256, URL; only an http(s) URL
/// is kept): every value present, and checked as the lock checks it, so that wrap never writes
/// a lock it would refuse.
fn pinned(
    project: &str,
    name: String,
    version: Option<String>,
    files: Vec<(String, Option<String>, Option<String>)>,
) -> Result<Distribution> {
    let version =
        version.ok_or_else(|| unpinnable(project, format!("`{name}` was resolved without a version")))?;
    let mut pinned = Vec::new();
    for (file, sha256, url) in files {
        let sha256 = sha256
            .ok_or_else(|| unpinnable(project, format!("`{name}=={version}` has a file without a sha256")))?;
        let url = url.filter(|u| u.starts_with("https://") || u.starts_with("http://"));
        pinned.push(DistFile { name: file, sha256, url });
    }
    if pinned.is_empty() {
        return Err(unpinnable(project, format!("`{name}=={version}` has no file to pin")));
    }
    pinned.sort();
    let distribution = Distribution { name, version, files: pinned };
    match distribution.problem() {
        Some(problem) => Err(unpinnable(project, problem)),
        None => Ok(distribution),
    }
}

/// The last segment of a URL or path, `%XX` escapes decoded.
fn file_name(location: &str) -> String {
    let last = location.split(['?', '#']).next().unwrap_or("").rsplit('/').next().unwrap_or("");
    let bytes = last.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = if bytes[i] == b'%' { last.get(i + 1..i + 3) } else { None };
        let hex = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pylock_packages_become_pylock() {
        let text = r#"
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "hello"
directory = { path = "/tmp/src", editable = false }

[[packages]]
name = "PyYAML"
version = "6.0.2"
sdist = { url = "https://files.example/pyyaml-6.0.2.tar.gz", hashes = { sha256 = "aa" } }
wheels = [{ url = "https://files.example/PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl", hashes = { sha256 = "bb" } }]

[[packages]]
name = "local"
version = "1.0+wrap"
sdist = { url = "file:///srv/wheels/local-1.0%2Bwrap.tar.gz", hashes = { sha256 = "cc" } }
"#;
        // 64 hex digits each.
        let text = ["aa", "bb", "cc"]
            .iter()
            .fold(text.to_string(), |t, h| t.replace(&format!("\"{h}\""), &format!("\"{}\"", h.repeat(32))));
        let d = pylock("hello", &["hello".into()], &text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].pin(), "local==1.0+wrap");
        assert_eq!(
            d[0].files,
            [DistFile { name: "local-1.0+wrap.tar.gz".into(), sha256: "c".repeat(64), url: None }]
        );
        // The wheel for this interpreter, not the sdist beside it.
        assert_eq!(d[1].pin(), "pyyaml==6.0.2");
        assert_eq!(d[1].files.len(), 1);
        assert_eq!(d[1].files[0].name, "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl");
        assert!(d[1].files[0].url.as_deref().unwrap().starts_with("https://"));
        let vcs = "[[packages]]\nname = \"x\"\nvcs = { type = \"git\", url = \"https://g/x\" }\n";
        let e = pylock("hello", &[], vcs).unwrap_err().to_string();
        assert!(e.contains("`x` comes from a VCS URL"), "{e}");
        // What the lock could not read back (it goes into requirement lines and paths) is
        // refused when uv's answer is taken in.
        let hostile =
            text.replace("local-1.0%2Bwrap.tar.gz", "..%2Fx%20--index-url%20http%3A%2F%2Fevil.tar.gz");
        let e = pylock("hello", &["hello".into()], &hostile).unwrap_err().to_string();
        assert!(e.contains("is not a plain file name"), "{e}");
    }
}
