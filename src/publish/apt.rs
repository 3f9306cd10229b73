//! An apt repository, written and signed by wrap: `pool/<component>/<prefix>/<source>/*.deb`,
//! `dists/<suite>/<component>/binary-<arch>/Packages` (plain, `.gz`, `.xz`, and by hash), and
//! `dists/<suite>/Release` with the SHA-256 of every index, signed as `InRelease` (clear-signed)
//! and `Release.gpg` (detached). What apt's documentation calls the repository format
//! (wiki.debian.org/DebianRepository/Format) and what reprepro and aptly write.
//!
//! Incremental: the index entry of every package in the pool is kept in
//! `.wrap/apt/<suite>/<component>.json`, so a publish reads only the packages it adds. Atomic for
//! readers: index files are reached by hash (`Acquire-By-Hash: yes`), every file is renamed into
//! place, and the signed Release files come last; a client that read the old InRelease fetches
//! the old indexes by their hashes, which stay for one more publish.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Outcome, Staged, State, Target};
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::fs::write_atomically;
use crate::signing::Signer;

/// One package in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `Package`.
    pub package: String,
    /// `Version`.
    pub version: String,
    /// `Architecture`.
    pub architecture: String,
    /// Path in the repository (`pool/main/w/wrap-x/wrap-x_1.0-1_amd64.deb`).
    pub filename: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// The control paragraph, as the package holds it.
    pub control: String,
    /// The time of the package's control member (wrap sets it to the source date).
    pub date: i64,
}

/// The pool directory of a source package: `lib` sources by their first four letters.
fn pool_prefix(source: &str) -> &str {
    if source.starts_with("lib") && source.len() > 3 { &source[..4] } else { &source[..1] }
}

/// The fields of a control paragraph, by lower-case name (continuation lines kept), as
/// `wrap inspect` reads them.
fn fields(control: &str) -> BTreeMap<String, String> {
    let fields = crate::package::inspect::parse_fields(control);
    fields.into_iter().map(|(key, value)| (key.trim().to_ascii_lowercase(), value)).collect()
}

/// Whether `value` is a name dpkg allows (package, source: lowercase letters, digits, `+ - .`,
/// two characters at least) or, with `version`, a Debian version's characters.
fn is_plain(value: &str, version: bool) -> bool {
    let allowed = |c: char| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || "+-.".contains(c)
            || (version && (c.is_ascii_uppercase() || "~:".contains(c)))
    };
    (2..=200).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.chars().all(allowed)
}

/// Reads `deb` (its control file, and its bytes for the digest) into a repository entry for
/// `component`. Names that make a path are checked first: a package may come from anywhere.
pub fn entry(deb: &Path, component: &str) -> Result<Entry> {
    let (control, date) = crate::package::inspect::deb_control(deb)?;
    let f = fields(&control);
    let field = |name: &str, version: bool| {
        f.get(name).filter(|v| is_plain(v, version)).cloned().ok_or_else(|| Error::BadPackage {
            path: deb.into(),
            format: "deb",
            problem: format!("its control file has no valid {name}"),
        })
    };
    let package = field("package", false)?;
    let (version, architecture) = (field("version", true)?, field("architecture", false)?);
    let source = f.get("source").and_then(|s| s.split_whitespace().next()).filter(|s| is_plain(s, false));
    let source = source.unwrap_or(&package).to_string();
    let mut hashing = crate::archive::Hashing::new(std::io::sink());
    std::io::copy(&mut fs_err::File::open(deb)?, &mut hashing)?;
    let (_, sha256, size) = hashing.finish();
    let file_name =
        format!("{package}_{}_{architecture}.deb", version.split_once(':').map_or(&*version, |v| v.1));
    Ok(Entry {
        filename: format!("pool/{component}/{}/{source}/{file_name}", pool_prefix(&source)),
        size,
        sha256,
        package,
        version,
        architecture,
        control: control.trim_end().to_string(),
        date,
    })
}

impl super::Package for Entry {
    fn path(&self) -> &str {
        &self.filename
    }
    fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// Adds the staged packages to the repository at `target`, applies retention, writes and signs
/// the indexes.
pub(super) fn publish(mut staged: Staged<Entry>, target: &Target, signer: &Signer) -> Result<Outcome> {
    let mut outcome = staged.add(target.repo, str::to_string)?;
    let state = &mut staged.state;
    if let Some(keep) = target.keep {
        outcome.removed = retain(&mut state.entries, keep);
    }
    let index_hashes = write_indexes(target, state, signer)?;
    let previous = std::mem::replace(&mut state.previous, index_hashes.clone());
    state.save(&staged.state_file)?;
    // Readers are on the new indexes now: what retention dropped, and index files two
    // publishes old, go.
    for removed in &outcome.removed {
        let _ = std::fs::remove_file(target.repo.join(removed));
    }
    remove_old_by_hash(target, &previous, &index_hashes);
    Ok(outcome)
}

/// Keeps the newest `keep` versions of each package and architecture, in dpkg's order.
fn retain(entries: &mut BTreeMap<String, Entry>, keep: usize) -> Vec<String> {
    super::retain(
        entries,
        keep,
        |e| (e.package.clone(), e.architecture.clone()),
        |e| e.version.parse::<debversion::Version>().ok(),
    )
}

/// The deb822 sources entry of the repository, read from the file system.
pub fn sources(target: &Target, keyring: &Path) -> String {
    format!(
        "Types: deb\nURIs: file:{}\nSuites: {}\nComponents: {}\nSigned-By: {}\n",
        target.repo.display(),
        target.suite,
        target.component,
        keyring.display()
    )
}

/// The Packages paragraph of `e`.
fn paragraph(e: &Entry) -> String {
    format!("{}\nFilename: {}\nSize: {}\nSHA256: {}\n", e.control, e.filename, e.size, e.sha256)
}

/// Writes every component's Packages files of the suite, by hash too, then Release and its
/// signatures; returns the hashes of the index files written.
fn write_indexes(target: &Target, state: &State<Entry>, signer: &Signer) -> Result<BTreeSet<String>> {
    let suite_dir = target.repo.join("dists").join(target.suite);
    // Every component of the suite: this one's state in memory, the others' from their files.
    let mut components: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    let states = target.repo.join(".wrap/apt").join(target.suite);
    for file in fs_err::read_dir(&states).into_iter().flatten().flatten() {
        let name = file.file_name().to_string_lossy().to_string();
        if let Some(component) = name.strip_suffix(".json").filter(|c| *c != target.component) {
            let other: State<Entry> = State::load(&file.path())?;
            components.insert(component.to_string(), other.entries.into_values().collect());
        }
    }
    components.insert(target.component.to_string(), state.entries.values().cloned().collect());
    let mut architectures: BTreeSet<String> =
        components.values().flatten().map(|e| e.architecture.clone()).collect();
    architectures.remove("all");
    if architectures.is_empty() {
        architectures.insert(crate::artifact::Format::Deb.host_arch().to_string());
    }
    let mut listed: Vec<(String, String, u64)> = Vec::new();
    let mut hashes = BTreeSet::new();
    for (component, entries) in &components {
        for arch in &architectures {
            let mut chosen: Vec<&Entry> =
                entries.iter().filter(|e| e.architecture == *arch || e.architecture == "all").collect();
            chosen.sort_by(|a, b| {
                let version = |e: &Entry| e.version.parse::<debversion::Version>().ok();
                (&a.package, version(a), &a.filename).cmp(&(&b.package, version(b), &b.filename))
            });
            let text: String = chosen.iter().map(|e| paragraph(e)).collect::<Vec<_>>().join("\n");
            let dir = format!("{component}/binary-{arch}");
            for (name, bytes) in [
                ("Packages", text.clone().into_bytes()),
                ("Packages.gz", crate::compress::gzip_small(text.as_bytes())?),
                ("Packages.xz", xz(text.as_bytes())?),
            ] {
                let sha = sha256_hex(&bytes);
                write_atomically(&suite_dir.join(&dir).join("by-hash/SHA256").join(&sha), &bytes)?;
                write_atomically(&suite_dir.join(&dir).join(name), &bytes)?;
                listed.push((format!("{dir}/{name}"), sha.clone(), bytes.len() as u64));
                hashes.insert(format!("{dir}/{sha}"));
            }
        }
    }
    let date = target.date.unwrap_or_else(|| newest(&components));
    let mut release = format!(
        "Origin: wrap\nLabel: wrap\nSuite: {suite}\nCodename: {suite}\nDate: {}\nArchitectures: {}\nComponents: {}\nAcquire-By-Hash: yes\nSHA256:\n",
        crate::time::rfc2822(date),
        architectures.iter().cloned().collect::<Vec<_>>().join(" "),
        components.keys().cloned().collect::<Vec<_>>().join(" "),
        suite = target.suite,
    );
    listed.sort();
    for (path, sha, size) in &listed {
        release.push_str(&format!(" {sha} {size:>16} {path}\n"));
    }
    let created = u32::try_from(date).unwrap_or(0);
    write_atomically(&suite_dir.join("Release"), release.as_bytes())?;
    write_atomically(
        &suite_dir.join("Release.gpg"),
        signer.sign_armored(release.as_bytes(), created)?.as_bytes(),
    )?;
    write_atomically(&suite_dir.join("InRelease"), signer.clearsign(&release, created)?.as_bytes())?;
    Ok(hashes)
}

/// The newest package's date: the time of its control member (wrap sets it to the source
/// date); 0 when none has one.
fn newest(components: &BTreeMap<String, Vec<Entry>>) -> i64 {
    components.values().flatten().map(|e| e.date).max().unwrap_or(0)
}

/// Index files by hash that neither this publish nor the one before wrote.
fn remove_old_by_hash(target: &Target, previous: &BTreeSet<String>, current: &BTreeSet<String>) {
    let suite_dir = target.repo.join("dists").join(target.suite);
    let walk = walkdir::WalkDir::new(&suite_dir).into_iter().flatten();
    for file in walk.filter(|f| f.file_type().is_file()) {
        let path = file.path();
        let Ok(rel) = path.strip_prefix(&suite_dir) else { continue };
        let rel = rel.to_string_lossy();
        let Some((dir, sha)) = rel.split_once("/by-hash/SHA256/") else { continue };
        let key = format!("{dir}/{sha}");
        if !current.contains(&key) && !previous.contains(&key) {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn xz(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 6);
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(package: &str, version: &str) -> Entry {
        Entry {
            package: package.into(),
            version: version.into(),
            architecture: "amd64".into(),
            filename: format!("pool/main/w/{package}/{package}_{version}_amd64.deb"),
            size: 1,
            sha256: "0".repeat(64),
            control: String::new(),
            date: 0,
        }
    }

    #[test]
    fn retention_keeps_the_newest_in_dpkg_order() {
        let mut state: State<Entry> = State::default();
        for (package, version) in
            [("a", "1.0~rc1-1"), ("a", "1.0-1"), ("a", "1.0+git1-1"), ("a", "1:0.1-1"), ("b", "2-1")]
        {
            let e = entry(package, version);
            state.entries.insert(e.filename.clone(), e);
        }
        let removed = retain(&mut state.entries, 2);
        let kept: Vec<&str> = state.entries.values().map(|e| e.version.as_str()).collect();
        // An epoch outranks everything; then 1.0+git1 > 1.0 > 1.0~rc1.
        assert_eq!(kept, ["1.0+git1-1", "1:0.1-1", "2-1"]);
        assert_eq!(removed.len(), 2);
    }

    #[test]
    fn control_fields_and_names_that_make_paths() {
        let f = fields("Package: wrap-x\nDescription: one\n two\n .\n three\nVersion: 1.0-1\n");
        assert_eq!(f["description"], "one\n two\n .\n three");
        assert_eq!(f["version"], "1.0-1");
        assert!(is_plain("wrap-x", false) && is_plain("1:1.0~rc1+git.abc-1", true));
        for bad in ["../x", "a/b", "x", "Wrap", "é-pkg", "-x"] {
            assert!(!is_plain(bad, false), "{bad}");
        }
        assert_eq!(pool_prefix("libfoo"), "libf");
        assert_eq!(pool_prefix("wrap-x"), "w");
    }
}
