//! A dnf/yum repository, written and signed by wrap: `rpm/<suite>/<component>/` holds
//! `Packages/<letter>/*.rpm` and `repodata/` with `primary`, `filelists` and `other` (.xml.gz,
//! named by their SHA-256) and `repomd.xml`, signed as `repomd.xml.asc`. The entries are what
//! createrepo_c writes for the same packages (the metadata schema of createrepo and libsolv):
//! names, versions, checksums, header range, dependencies filtered as createrepo_c filters them,
//! files (primary holds the `/etc/` and `bin/` ones) and changelogs.
//!
//! Incremental: the three XML entries of every package are kept in
//! `.wrap/dnf/<suite>/<component>.json`, so a publish reads only the packages it adds. The
//! packages must carry a header signature by the key that signs the repository (dnf checks it,
//! `gpgcheck=1`); it is checked here. Atomic for readers as far as dnf allows: the new metadata
//! files get new names, repomd.xml.asc and then repomd.xml are renamed into place, and the
//! previous metadata files stay for one more publish.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Outcome, Staged, State, Target};
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::fs::write_atomically;
use crate::signing::Signer;

/// The armored public key's file name in the repository, for `gpgkey=`.
pub const KEY_FILE: &str = "RPM-GPG-KEY-wrap";

/// One package in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `Name`.
    pub name: String,
    /// `Epoch`, 0 when the package has none.
    pub epoch: u32,
    /// `Version`.
    pub version: String,
    /// `Release`.
    pub release: String,
    /// `Arch`.
    pub arch: String,
    /// Path below the repository's base (`Packages/w/wrap-x-1.0-1.x86_64.rpm`).
    pub location: String,
    /// Hex SHA-256 of the file (the package id).
    pub sha256: String,
    /// The build time (wrap sets it to the source date).
    pub date: i64,
    /// The package's entry in primary.xml.
    pub primary: String,
    /// Its entry in filelists.xml.
    pub filelists: String,
    /// Its entry in other.xml.
    pub other: String,
}

/// The repository's base directory (what `baseurl` names), relative to its root.
pub fn base(target: &Target) -> PathBuf {
    Path::new("rpm").join(target.suite).join(target.component)
}

/// Whether `value` is safe in a file name and as rpm writes it: letters, digits, `. _ + ~ ^ -`
/// (and no `-` in a version or release), one character at least, no leading dot.
fn is_plain(value: &str, dash: bool) -> bool {
    (1..=200).contains(&value.len())
        && !value.starts_with('.')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "._+~^".contains(c) || (dash && c == '-'))
}

/// XML text with `& < > "` escaped and the characters XML 1.0 cannot hold dropped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `E:V-R` split into epoch, version and release, as createrepo_c splits a dependency's version:
/// the epoch is 0 when absent, the release absent when there is no `-`.
fn evr(text: &str) -> (String, String, Option<String>) {
    let (epoch, rest) = match text.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()) => (e.to_string(), rest),
        _ => ("0".to_string(), text),
    };
    match rest.rsplit_once('-') {
        Some((v, r)) => (epoch, v.to_string(), Some(r.to_string())),
        None => (epoch, rest.to_string(), None),
    }
}

/// The comparison of rpm's sense flags as the metadata names it.
fn sense(flags: u32) -> Option<&'static str> {
    use crate::package::rpm::sense::{EQUAL, GREATER, LESS};
    match flags & crate::package::rpm::sense::COMPARISON {
        x if x == LESS => Some("LT"),
        x if x == GREATER => Some("GT"),
        x if x == EQUAL => Some("EQ"),
        x if x == LESS | EQUAL => Some("LE"),
        x if x == GREATER | EQUAL => Some("GE"),
        _ => None,
    }
}

/// A requirement needed before install (what createrepo_c marks `pre="1"`).
const PRE: u32 = {
    use crate::package::rpm::sense::{PREREQ, SCRIPT_POST, SCRIPT_PRE};
    PREREQ | SCRIPT_PRE | SCRIPT_POST
};

/// One dependency: name, sense flags, version.
type Dep = (String, u32, String);

/// `<rpm:entry …/>` of a dependency.
fn dep_entry(out: &mut String, (name, flags, version): &Dep, pre: bool) {
    let _ = write!(out, "      <rpm:entry name=\"{}\"", esc(name));
    if let Some(sense) = sense(*flags) {
        let (e, v, r) = evr(version);
        let _ = write!(out, " flags=\"{sense}\" epoch=\"{}\" ver=\"{}\"", esc(&e), esc(&v));
        if let Some(r) = r {
            let _ = write!(out, " rel=\"{}\"", esc(&r));
        }
    }
    out.push_str(if pre { " pre=\"1\"/>\n" } else { "/>\n" });
}

/// Whether createrepo_c lists `path` in primary.xml (what dependencies on files name).
fn is_primary_file(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

/// Reads the .rpm at `path` (its header, and its bytes for the digest) into a repository entry;
/// refuses a package the key of the repository `repo` did not sign.
pub fn entry(path: &Path, repo: &Path, signer: &Signer) -> Result<Entry> {
    let bad = |problem: String| Error::BadPackage { path: path.into(), format: "rpm", problem };
    let mut file = fs_err::File::open(path)?;
    let meta = crate::package::inspect::without_panics(path, || {
        rpm::PackageMetadata::parse(&mut std::io::BufReader::new(&mut file)).map_err(|e| bad(e.to_string()))
    })?;
    let name = text(meta.get_name());
    let (version, release, arch) =
        (text(meta.get_version()), text(meta.get_release()), text(meta.get_arch()));
    for (what, value, dash) in [
        ("name", &name, true),
        ("version", &version, false),
        ("release", &release, false),
        ("arch", &arch, false),
    ] {
        if !is_plain(value, dash) {
            return Err(bad(format!("its {what} `{}` is not valid", crate::error::printable(value))));
        }
    }
    let epoch = meta.get_epoch().unwrap_or(0);
    let offsets = meta.get_package_segment_offsets();
    let mut header = vec![0; usize::try_from(offsets.payload - offsets.header).expect("a header fits")];
    file.seek(std::io::SeekFrom::Start(offsets.header))?;
    file.read_exact(&mut header)?;
    check_signature(path, repo, &meta, &header, signer)?;
    file.rewind()?;
    let mut hashing = crate::archive::Hashing::new(std::io::sink());
    std::io::copy(&mut file, &mut hashing)?;
    let (_, sha256, size) = hashing.finish();

    let location = format!(
        "Packages/{}/{name}-{version}-{release}.{arch}.rpm",
        name.chars().next().expect("checked").to_ascii_lowercase()
    );
    let build = meta.get_build_time().unwrap_or(0);
    let files = files(&meta).map_err(|e| bad(e.to_string()))?;
    let mut entry = Entry {
        name,
        epoch,
        version,
        release,
        arch,
        location,
        sha256,
        date: i64::try_from(build).unwrap_or(0),
        primary: String::new(),
        filelists: String::new(),
        other: String::new(),
    };
    entry.primary = primary(&meta, &entry, size, &files);
    entry.filelists = filelists(&entry, &files);
    entry.other = other(&meta, &entry);
    Ok(entry)
}

/// A header string, empty when the header lacks it.
fn text(value: std::result::Result<&str, rpm::Error>) -> String {
    value.unwrap_or_default().to_string()
}

/// The package's entry in primary.xml: `e` read from `meta`, `size` bytes, holding `files`.
fn primary(meta: &rpm::PackageMetadata, e: &Entry, size: u64, files: &[(String, &str)]) -> String {
    let mut p = format!(
        "<package type=\"rpm\">\n  <name>{}</name>\n  <arch>{}</arch>\n  <version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>\n  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>\n",
        esc(&e.name),
        esc(&e.arch),
        e.epoch,
        esc(&e.version),
        esc(&e.release),
        e.sha256
    );
    for (tag, value) in [
        ("summary", text(meta.get_summary())),
        ("description", text(meta.get_description())),
        ("packager", text(meta.get_packager())),
        ("url", text(meta.get_url())),
    ] {
        let _ = writeln!(p, "  <{tag}>{}</{tag}>", esc(&value));
    }
    let archive = meta
        .signature
        .get_entry_data_as_u64(rpm::IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE)
        .or_else(|_| {
            meta.signature.get_entry_data_as_u32(rpm::IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE).map(u64::from)
        })
        .unwrap_or(0);
    let _ = write!(
        p,
        "  <time file=\"{build}\" build=\"{build}\"/>\n  <size package=\"{size}\" installed=\"{}\" archive=\"{archive}\"/>\n  <location href=\"{}\"/>\n  <format>\n",
        meta.get_installed_size().unwrap_or(0),
        esc(&e.location),
        build = e.date,
    );
    for (tag, value) in [
        ("license", text(meta.get_license())),
        ("vendor", text(meta.get_vendor())),
        ("group", text(meta.get_group())),
        ("buildhost", text(meta.get_build_host())),
        ("sourcerpm", text(meta.get_source_rpm())),
    ] {
        let _ = writeln!(p, "    <rpm:{tag}>{}</rpm:{tag}>", esc(&value));
    }
    let offsets = meta.get_package_segment_offsets();
    let _ = writeln!(p, "    <rpm:header-range start=\"{}\" end=\"{}\"/>", offsets.header, offsets.payload);
    write_dependencies(&mut p, meta, files);
    for (path, kind) in files.iter().filter(|(path, _)| is_primary_file(path)) {
        file_entry(&mut p, path, kind, "    ");
    }
    p.push_str("  </format>\n</package>\n");
    p
}

/// The opening of a package's entry in filelists.xml and other.xml.
fn package_id(e: &Entry) -> String {
    format!(
        "<package pkgid=\"{}\" name=\"{}\" arch=\"{}\">\n  <version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>\n",
        e.sha256,
        esc(&e.name),
        esc(&e.arch),
        e.epoch,
        esc(&e.version),
        esc(&e.release)
    )
}

/// The package's entry in filelists.xml: every file.
fn filelists(e: &Entry, files: &[(String, &str)]) -> String {
    let mut f = package_id(e);
    for (path, kind) in files {
        file_entry(&mut f, path, kind, "  ");
    }
    f.push_str("</package>\n");
    f
}

/// The package's entry in other.xml: its changelog.
fn other(meta: &rpm::PackageMetadata, e: &Entry) -> String {
    let mut o = package_id(e);
    let mut changelog = meta.get_changelog_entries().unwrap_or_default();
    // rpm keeps the newest first; createrepo_c lists the newest ten, oldest first.
    changelog.truncate(10);
    for c in changelog.iter().rev() {
        let _ = writeln!(
            o,
            "  <changelog author=\"{}\" date=\"{}\">{}</changelog>",
            esc(c.name.trim_end_matches(' ')),
            c.timestamp,
            esc(&c.description)
        );
    }
    o.push_str("</package>\n");
    o
}

/// The package's files in header order with their kind in the metadata: `dir`, `ghost` or "".
fn files(meta: &rpm::PackageMetadata) -> std::result::Result<Vec<(String, &'static str)>, rpm::Error> {
    let entries = match meta.get_file_entries() {
        Err(rpm::Error::TagNotFound(_)) => return Ok(Vec::new()),
        entries => entries?,
    };
    Ok(entries
        .iter()
        .map(|e| {
            let kind = if e.file_type() == rpm::FileType::Dir {
                "dir"
            } else if e.flags().contains(rpm::FileFlags::GHOST) {
                "ghost"
            } else {
                ""
            };
            (e.path().to_string_lossy().to_string(), kind)
        })
        .collect())
}

fn file_entry(out: &mut String, path: &str, kind: &str, indent: &str) {
    if kind.is_empty() {
        let _ = writeln!(out, "{indent}<file>{}</file>", esc(path));
    } else {
        let _ = writeln!(out, "{indent}<file type=\"{kind}\">{}</file>", esc(path));
    }
}

/// The dependency lists of primary.xml. Requires leave out rpmlib's, names the package provides,
/// its own primary files, and a repeat of the requirement before (createrepo_c's rules).
fn write_dependencies(out: &mut String, meta: &rpm::PackageMetadata, files: &[(String, &str)]) {
    let list = |deps: std::result::Result<Vec<rpm::Dependency>, rpm::Error>| -> Vec<Dep> {
        deps.unwrap_or_default().into_iter().map(|d| (d.name, d.flags.bits(), d.version)).collect()
    };
    let provides = list(meta.get_provides());
    let provided: BTreeSet<&str> = provides.iter().map(|d| d.0.as_str()).collect();
    let own: BTreeSet<&str> =
        files.iter().map(|f| f.0.as_str()).filter(|path| is_primary_file(path)).collect();
    let mut requires: Vec<(Dep, bool)> = Vec::new();
    let mut last: std::collections::BTreeMap<String, (u32, String, bool)> = Default::default();
    for dep in list(meta.get_requires()) {
        let name = dep.0.as_str();
        if name.starts_with("rpmlib(") || own.contains(name) || provided.contains(name) {
            continue;
        }
        let pre = dep.1 & PRE != 0;
        let comparison = crate::package::rpm::sense::COMPARISON;
        let key = (dep.1 & comparison, dep.2.clone(), pre);
        if last.get(name).is_some_and(|(flags, version, p)| (*flags & comparison, version.clone(), *p) == key)
        {
            continue;
        }
        last.insert(dep.0.clone(), (dep.1, dep.2.clone(), pre));
        requires.push((dep, pre));
    }
    let mut section = |tag: &str, deps: Vec<(Dep, bool)>| {
        if deps.is_empty() {
            return;
        }
        let _ = writeln!(out, "    <rpm:{tag}>");
        for (dep, pre) in &deps {
            dep_entry(out, dep, *pre);
        }
        let _ = writeln!(out, "    </rpm:{tag}>");
    };
    let plain = |deps: Vec<Dep>| deps.into_iter().map(|d| (d, false)).collect::<Vec<_>>();
    section("provides", plain(provides.clone()));
    section("requires", requires);
    section("conflicts", plain(list(meta.get_conflicts())));
    section("obsoletes", plain(list(meta.get_obsoletes())));
    section("suggests", plain(list(meta.get_suggests())));
    section("enhances", plain(list(meta.get_enhances())));
    section("recommends", plain(list(meta.get_recommends())));
    section("supplements", plain(list(meta.get_supplements())));
}

/// Refuses a package without a header signature by `signer`'s key: dnf would refuse to install
/// it from a repository whose `gpgkey` is that key.
fn check_signature(
    path: &Path,
    repo: &Path,
    meta: &rpm::PackageMetadata,
    header: &[u8],
    signer: &Signer,
) -> Result<()> {
    let packet = crate::package::inspect::header_signature(meta);
    let refuse = |problem: String| Error::Repository {
        repo: repo.into(),
        problem,
        hint: Some(format!(
            "build it with `--sign-key` (or `sign_key` in [settings]) set to the key that signs the repository, {}",
            signer.key_id
        )),
    };
    let Some(packet) = packet else {
        return Err(refuse(format!(
            "`{}` has no signature, and dnf installs only signed packages (gpgcheck=1)",
            path.display()
        )));
    };
    if signer.verifies(packet, header) {
        return Ok(());
    }
    let by = crate::signing::describe(packet).map(|s| s.key_id).unwrap_or_default();
    Err(refuse(format!(
        "`{}` is not signed by the repository's key {} (its signature is key {})",
        path.display(),
        signer.key_id,
        if by.is_empty() { "unknown".into() } else { by }
    )))
}

impl super::Package for Entry {
    fn path(&self) -> &str {
        &self.location
    }
    fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// Adds the staged packages to the repository at `target`, applies retention, writes and signs
/// the metadata.
pub(super) fn publish(mut staged: Staged<Entry>, target: &Target, signer: &Signer) -> Result<Outcome> {
    let relative = base(target);
    let base = target.repo.join(&relative);
    // Outcomes name repository paths, as apt's do.
    let shown = |location: &str| relative.join(location).display().to_string();
    let mut outcome = staged.add(&base, shown)?;
    let state = &mut staged.state;
    let mut removed = Vec::new();
    if let Some(keep) = target.keep {
        removed = retain(&mut state.entries, keep);
        outcome.removed = removed.iter().map(|r| shown(r)).collect();
    }
    let written = write_metadata(target, state, signer)?;
    let previous = std::mem::replace(&mut state.previous, written.clone());
    state.save(&staged.state_file)?;
    for removed in &removed {
        let _ = std::fs::remove_file(base.join(removed));
    }
    // Metadata files neither this publish nor the one before wrote.
    for file in fs_err::read_dir(base.join("repodata"))?.flatten() {
        let name = file.file_name().to_string_lossy().to_string();
        if name.ends_with(".xml.gz") && !written.contains(&name) && !previous.contains(&name) {
            let _ = std::fs::remove_file(file.path());
        }
    }
    Ok(outcome)
}

/// Keeps the newest `keep` versions of each name and architecture, in rpm's order.
fn retain(entries: &mut std::collections::BTreeMap<String, Entry>, keep: usize) -> Vec<String> {
    super::retain(
        entries,
        keep,
        |e| (e.name.clone(), e.arch.clone()),
        |e| Some(rpm_version::Evr::new(e.epoch.to_string(), e.version.clone(), e.release.clone())),
    )
}

/// Writes primary, filelists and other, then repomd.xml and its signature; returns the names of
/// the metadata files written.
fn write_metadata(target: &Target, state: &State<Entry>, signer: &Signer) -> Result<BTreeSet<String>> {
    let repodata = target.repo.join(base(target)).join("repodata");
    let mut entries: Vec<&Entry> = state.entries.values().collect();
    entries.sort_by(|a, b| (&a.name, &a.arch, &a.location).cmp(&(&b.name, &b.arch, &b.location)));
    let count = entries.len();
    let documents = [
        (
            "primary",
            format!(
                "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{count}\">\n"
            ),
            "</metadata>\n",
            entries.iter().map(|e| e.primary.as_str()).collect::<String>(),
        ),
        (
            "filelists",
            format!("<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"{count}\">\n"),
            "</filelists>\n",
            entries.iter().map(|e| e.filelists.as_str()).collect(),
        ),
        (
            "other",
            format!("<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"{count}\">\n"),
            "</otherdata>\n",
            entries.iter().map(|e| e.other.as_str()).collect(),
        ),
    ];
    let date = target.date.unwrap_or_else(|| entries.iter().map(|e| e.date).max().unwrap_or(0));
    let mut repomd = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n  <revision>{date}</revision>\n"
    );
    let mut written = BTreeSet::new();
    for (kind, open, close, body) in documents {
        let xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{open}{body}{close}");
        let gz = crate::compress::gzip_small(xml.as_bytes())?;
        let sha = sha256_hex(&gz);
        let name = format!("{sha}-{kind}.xml.gz");
        write_atomically(&repodata.join(&name), &gz)?;
        let _ = write!(
            repomd,
            "  <data type=\"{kind}\">\n    <checksum type=\"sha256\">{sha}</checksum>\n    <open-checksum type=\"sha256\">{}</open-checksum>\n    <location href=\"repodata/{name}\"/>\n    <timestamp>{date}</timestamp>\n    <size>{}</size>\n    <open-size>{}</open-size>\n  </data>\n",
            sha256_hex(xml.as_bytes()),
            gz.len(),
            xml.len()
        );
        written.insert(name);
    }
    repomd.push_str("</repomd>\n");
    let created = u32::try_from(date).unwrap_or(0);
    write_atomically(
        &repodata.join("repomd.xml.asc"),
        signer.sign_armored(repomd.as_bytes(), created)?.as_bytes(),
    )?;
    write_atomically(&repodata.join("repomd.xml"), repomd.as_bytes())?;
    Ok(written)
}

/// The .repo section of the repository, read from the file system.
pub fn repo_file(target: &Target) -> String {
    format!(
        "[wrap-{suite}-{component}]\nname=wrap {suite} {component}\nbaseurl=file://{}\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://{}\n",
        target.repo.join(base(target)).display(),
        target.repo.join(KEY_FILE).display(),
        suite = target.suite,
        component = target.component,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_flags_as_the_metadata_writes_them() {
        assert_eq!(evr("1:2.0-3"), ("1".into(), "2.0".into(), Some("3".into())));
        assert_eq!(evr("2.0"), ("0".into(), "2.0".into(), None));
        assert_eq!(evr("2.0-1-2"), ("0".into(), "2.0-1".into(), Some("2".into())));
        assert_eq!(sense(0x08), Some("EQ"));
        assert_eq!(sense(0x0c | 0x40), Some("GE"));
        assert_eq!(sense(0x40), None);
        let mut out = String::new();
        dep_entry(&mut out, &("a<b".into(), 0x0a, "1.0".into()), true);
        assert_eq!(
            out,
            "      <rpm:entry name=\"a&lt;b\" flags=\"LE\" epoch=\"0\" ver=\"1.0\" pre=\"1\"/>\n"
        );
        assert_eq!(esc("x\u{1}&\"\n"), "x&amp;&quot;\n");
    }

    #[test]
    fn retention_keeps_the_newest_in_rpm_order() {
        let mut entries = std::collections::BTreeMap::new();
        for (epoch, version) in [(0, "1.0~rc1"), (0, "1.0"), (0, "1.0^git1"), (1, "0.1"), (0, "1.0.1")] {
            let e = Entry {
                name: "a".into(),
                epoch,
                version: version.into(),
                release: "1".into(),
                arch: "x86_64".into(),
                location: format!("Packages/a/a-{epoch}{version}-1.x86_64.rpm"),
                sha256: String::new(),
                date: 0,
                primary: String::new(),
                filelists: String::new(),
                other: String::new(),
            };
            entries.insert(e.location.clone(), e);
        }
        retain(&mut entries, 2);
        let mut kept: Vec<&str> = entries.values().map(|e| e.version.as_str()).collect();
        kept.sort();
        // An epoch outranks everything; then 1.0.1 > 1.0^git1 > 1.0 > 1.0~rc1.
        assert_eq!(kept, ["0.1", "1.0.1"]);
        assert!(is_plain("1.0^git1", false) && !is_plain("1.0-1", false) && !is_plain("../x", true));
    }
}
