//! `wrap inspect`: reads an artifact back — a .deb, an .rpm or a tarball bundle — and reports its
//! metadata fields, its files with modes and sizes, and the provenance wrap put in it, verifying
//! every digest on the way (md5sums for a .deb, the `.sha256` file beside an artifact). Streams
//! the file, so memory stays flat; anything corrupt or cut short is an error. A package may come
//! from anywhere, so only a regular file is opened (never a FIFO or a device), and a member that
//! would land outside the package's root when unpacked is an error: an absolute or `..` path, a
//! symlink that leads out, a hard link to a name the archive does not hold, a device node.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use md5::Digest as _;
use serde::Serialize;

use super::members::{Members, Root};
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::fs::link_leaves_tree;

/// One file of a package.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileInfo {
    /// Path as stored.
    pub path: String,
    /// Permission bits.
    pub mode: u32,
    /// Bytes.
    pub size: u64,
    /// `d`, `-` or `l`.
    pub kind: char,
    /// Symlink target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// What `wrap inspect` found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Inspection {
    /// The file.
    pub path: PathBuf,
    /// `deb` or `tar`.
    pub format: &'static str,
    /// Metadata fields in file order (a .deb's control file).
    pub fields: Vec<(String, String)>,
    /// Configuration files.
    pub conffiles: Vec<String>,
    /// Maintainer scripts (a .deb's) or scriptlets (an .rpm's): name and text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<(String, String)>,
    /// Every entry.
    pub files: Vec<FileInfo>,
    /// `.wrap/build-info.json`, when present.
    pub build_info: Option<serde_json::Value>,
    /// `.wrap/sbom.cdx.json`, when present.
    pub sbom: Option<serde_json::Value>,
    /// How many digests were checked (all matched, or inspect fails).
    pub verified: usize,
    /// The package's OpenPGP signature (an .rpm's header signature), when it has one. Shown,
    /// not verified: `rpm -K` with the key imported verifies it.
    pub signature: Option<crate::signing::SignatureInfo>,
}

/// Inspects the artifact at `path`.
pub fn inspect(path: &Path) -> Result<Inspection> {
    let bad = |format, problem: String| Error::BadPackage { path: path.into(), format, problem };
    if !fs_err::metadata(path)?.is_file() {
        return Err(bad("wrap", "it is not a regular file".into()));
    }
    let mut head = [0u8; 8];
    let mut file = fs_err::File::open(path)?;
    let n = file.read(&mut head)?;
    let mut inspection = if n == 8 && &head == b"!<arch>\n" {
        inspect_deb(path).map_err(|e| match e {
            Error::Io(io) => bad("deb", io.to_string()),
            other => other,
        })?
    } else if n >= 4 && head[..4] == [0xed, 0xab, 0xee, 0xdb] {
        without_panics(path, || inspect_rpm(path))?
    } else if n >= 2 && head[..2] == [0x1f, 0x8b] {
        let gz = flate2::read::MultiGzDecoder::new(fs_err::File::open(path)?);
        tar_inspection(path, gz, Root::Bundle, "tar").map_err(|e| io_as(e, path, "tarball"))?
    } else if n == 8 && head.starts_with(b"blobs/") {
        super::inspect_oci::inspect(path).map_err(|e| io_as(e, path, "oci"))?
    } else {
        return Err(bad("wrap", "it is neither a .deb, an .rpm, a .tar.gz nor an .oci.tar".into()));
    };
    let sum = crate::artifact::checksum_path(path);
    let sum_is_file = std::fs::metadata(&sum).is_ok_and(|m| m.is_file());
    if let Some(text) = sum_is_file.then(|| fs_err::read_to_string(&sum).ok()).flatten() {
        let expected = text.split_whitespace().next().unwrap_or("");
        let actual = sha256_hex(&fs_err::read(path)?);
        if expected != actual {
            return Err(bad(
                inspection.format,
                format!("sha256 {actual} does not match its .sha256 file ({expected})"),
            ));
        }
        inspection.verified += 1;
    }
    Ok(inspection)
}

fn decompressor<'a>(name: &str, reader: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
    Ok(match name.rsplit('.').next() {
        Some("gz") => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Some("xz") => Box::new(liblzma::read::XzDecoder::new(reader)),
        Some("zst") => Box::new(zstd::Decoder::new(reader)?),
        Some("tar") => Box::new(reader),
        _ => return Err(Error::Io(std::io::Error::other(format!("unknown member `{name}`")))),
    })
}

/// The control tarball's control file, md5sums (by path) and conffiles.
/// A .deb's control member: control, md5sums, conffiles and maintainer scripts.
type ControlMember = (String, BTreeMap<String, String>, Vec<String>, Vec<(String, String)>);

fn read_control(name: &str, bytes: &[u8]) -> Result<ControlMember> {
    let mut control = String::new();
    let mut scripts = Vec::new();
    let mut md5sums: BTreeMap<String, String> = BTreeMap::new();
    let mut conffiles = Vec::new();
    let mut tar = tar::Archive::new(decompressor(name, bytes)?);
    for entry in tar.entries()? {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).trim_start_matches("./").to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text)?;
        match name.as_str() {
            "control" => control = text,
            "md5sums" => {
                for line in text.lines() {
                    if let Some((sum, file)) = line.split_once("  ") {
                        md5sums.insert(file.to_string(), sum.to_string());
                    }
                }
            }
            "conffiles" => conffiles = text.lines().map(str::to_string).collect(),
            "preinst" | "postinst" | "prerm" | "postrm" => scripts.push((name, text)),
            _ => {}
        }
    }
    Ok((control, md5sums, conffiles, scripts))
}

/// The control file of the .deb at `path` and the time of its control member, reading nothing
/// past the control tarball (for repository indexes).
pub fn deb_control(path: &Path) -> Result<(String, i64)> {
    let bad = |problem: String| Error::BadPackage { path: path.into(), format: "deb", problem };
    let mut archive = ar::Archive::new(fs_err::File::open(path)?.into_file());
    for _ in 0..2 {
        let mut entry = archive.next_entry().ok_or_else(|| bad("it has no control member".into()))??;
        let name = String::from_utf8_lossy(entry.header().identifier()).trim_end_matches('/').to_string();
        if name.starts_with("control.tar") {
            let date = entry.header().mtime() as i64;
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            let (control, ..) = read_control(&name, &bytes)?;
            return Ok((control, date));
        }
    }
    Err(bad("it has no control member".into()))
}

fn inspect_deb(path: &Path) -> Result<Inspection> {
    let bad = |problem: String| Error::BadPackage { path: path.into(), format: "deb", problem };
    let mut archive = ar::Archive::new(fs_err::File::open(path)?.into_file());
    let mut next = |what: &str| -> Result<(String, Vec<u8>)> {
        let mut entry = archive.next_entry().ok_or_else(|| bad(format!("it ends before its {what}")))??;
        let name = String::from_utf8_lossy(entry.header().identifier()).trim_end_matches('/').to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        if (bytes.len() as u64) < entry.header().size() {
            return Err(bad(format!("member `{name}` is cut short")));
        }
        Ok((name, bytes))
    };
    let (name, version) = next("debian-binary")?;
    if name != "debian-binary" || version != b"2.0\n" {
        return Err(bad("its first member is not debian-binary 2.0".into()));
    }
    let (control_name, control_bytes) = next("control member")?;
    if !control_name.starts_with("control.tar") {
        return Err(bad(format!("expected control.tar.*, found `{control_name}`")));
    }
    let (control, mut md5sums, conffiles, scripts) = read_control(&control_name, &control_bytes)?;
    if control.is_empty() {
        return Err(bad("it has no control file".into()));
    }
    // The data member can be large: stream it instead of reading it into memory.
    let entry = archive.next_entry().ok_or_else(|| bad("it ends before its data member".into()))??;
    let data_name = String::from_utf8_lossy(entry.header().identifier()).trim_end_matches('/').to_string();
    if !data_name.starts_with("data.tar") {
        return Err(bad(format!("expected data.tar.*, found `{data_name}`")));
    }
    let mut tar = tar::Archive::new(decompressor(&data_name, entry)?);
    let mut files = Vec::new();
    let mut extras = Extras::default();
    let mut verified = 0;
    let mut members = Members::new(Root::Filesystem);
    for entry in tar.entries()? {
        let mut entry = entry?;
        members.check(&entry).map_err(|problem| Error::UnsafeMember { path: path.into(), problem })?;
        let info = file_info(&entry)?;
        let rel = info.path.trim_start_matches("./").to_string();
        if info.kind == '-' {
            let hex = extras.read(&rel, &mut entry)?;
            if let Some(expected) = md5sums.remove(&rel) {
                if expected != hex {
                    return Err(bad(format!("md5sum mismatch for `{rel}`")));
                }
                verified += 1;
            }
        }
        files.push(info);
    }
    if let Some(missing) = md5sums.keys().next() {
        return Err(bad(format!("`{missing}` is in md5sums but not in the data")));
    }
    Ok(Inspection {
        path: path.into(),
        format: "deb",
        fields: parse_fields(&control),
        conffiles,
        scripts,
        files,
        build_info: extras.build_info,
        sbom: extras.sbom,
        verified,
        signature: None,
    })
}

/// Runs `read` (the rpm crate reading `path`) and turns a panic of the crate into the error for a
/// package that is not valid: the crate (0.30.2) indexes its header data with offsets the file
/// gives, unchecked, and a file built to do so makes it panic (found by `fuzz/run.sh`; the
/// input is in fuzz/seeds/inspect/). The panic's own message is kept quiet meanwhile.
pub(crate) fn without_panics<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    std::panic::set_hook(hook);
    result.unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(Error::BadPackage {
            path: path.into(),
            format: "rpm",
            problem: format!("its headers are inconsistent ({detail})"),
        })
    })
}

/// The header's fields, named as `rpm -qi` names them; dependencies without rpmlib's.
fn rpm_fields(meta: &rpm::PackageMetadata) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut field = |key: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            fields.push((key.to_string(), v));
        }
    };
    field("Name", meta.get_name().ok().map(str::to_string));
    field("Epoch", meta.get_epoch().ok().map(|e| e.to_string()));
    field("Version", meta.get_version().ok().map(str::to_string));
    field("Release", meta.get_release().ok().map(str::to_string));
    field("Architecture", meta.get_arch().ok().map(str::to_string));
    field("Summary", meta.get_summary().ok().map(str::to_string));
    field("License", meta.get_license().ok().map(str::to_string));
    field("URL", meta.get_url().ok().map(str::to_string));
    field("Group", meta.get_group().ok().map(str::to_string));
    field("Packager", meta.get_packager().ok().map(str::to_string));
    field("Build Host", meta.get_build_host().ok().map(str::to_string));
    let deps =
        |list: std::result::Result<Vec<rpm::Dependency>, rpm::Error>| {
            list.ok().map(|deps| {
                deps.iter()
                    .filter(|d| !d.name.starts_with("rpmlib("))
                    .map(|d| {
                        if d.version.is_empty() {
                            d.name.clone()
                        } else {
                            format!("{} {}", d.name, d.version)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        };
    field("Requires", deps(meta.get_requires()));
    field("Recommends", deps(meta.get_recommends()));
    field("Suggests", deps(meta.get_suggests()));
    field("Provides", deps(meta.get_provides()));
    field("Conflicts", deps(meta.get_conflicts()));
    field("Obsoletes", deps(meta.get_obsoletes()));
    field("Description", meta.get_description().ok().map(str::to_string));
    fields
}

fn inspect_rpm(path: &Path) -> Result<Inspection> {
    let bad = |problem: String| Error::BadPackage { path: path.into(), format: "rpm", problem };
    let rpm_err = |e: rpm::Error| bad(e.to_string());
    let package = rpm::Package::open(path).map_err(rpm_err)?;
    package.verify_digests().map_err(rpm_err)?;
    let mut fields = rpm_fields(&package.metadata);
    let signature = rpm_signature(&package.metadata, &mut fields).map_err(bad)?;
    let meta = &package.metadata;
    let entries = meta.get_file_entries().map_err(rpm_err)?;
    let scripts = [
        ("%pre", meta.get_pre_install_script()),
        ("%post", meta.get_post_install_script()),
        ("%preun", meta.get_pre_uninstall_script()),
        ("%postun", meta.get_post_uninstall_script()),
    ]
    .into_iter()
    .filter_map(|(name, s)| s.ok().map(|s| (name.to_string(), s.script)))
    .collect();
    // verify_digests checked the header, the payload and, through it, every file's digest.
    let verified = 1 + entries.iter().filter(|e| e.file_type() == rpm::FileType::Regular).count();
    let mut files = Vec::new();
    let mut conffiles = Vec::new();
    for entry in &entries {
        let kind = match entry.file_type() {
            rpm::FileType::Dir => 'd',
            rpm::FileType::SymbolicLink => 'l',
            rpm::FileType::Regular => '-',
            other => {
                return Err(Error::UnsafeMember {
                    path: path.into(),
                    problem: format!(
                        "`{}` is a {other:?}, not a file, directory or symlink",
                        entry.path().display()
                    ),
                });
            }
        };
        let name = entry.path().display().to_string();
        if !name.starts_with('/') || name.split('/').any(|c| c == "..") {
            return Err(Error::UnsafeMember {
                path: path.into(),
                problem: format!("`{name}` is not a plain absolute path"),
            });
        }
        if let Some(target) = entry.linkto().filter(|t| !t.is_empty() && !t.starts_with('/'))
            && link_leaves_tree(&name, target)
        {
            return Err(Error::UnsafeMember {
                path: path.into(),
                problem: format!("symlink `{name}` -> `{target}` leads out of the root"),
            });
        }
        let path = name;
        if entry.flags().contains(rpm::FileFlags::CONFIG) {
            conffiles.push(path.clone());
        }
        let size = if kind == '-' { entry.size() as u64 } else { 0 };
        files.push(FileInfo { path, mode: u32::from(entry.permissions()), size, kind, link: None });
    }
    drop(entries);
    let payload = rpm_payload(&package).map_err(bad)?;
    let mut extras = Extras::default();
    for (name, data) in cpio_entries(&payload).map_err(bad)? {
        if name.ends_with("/.wrap/build-info.json") || name.ends_with("/.wrap/sbom.cdx.json") {
            extras.read(&name, &mut &data[..])?;
        }
    }
    Ok(Inspection {
        path: path.into(),
        format: "rpm",
        fields,
        conffiles,
        scripts,
        files,
        build_info: extras.build_info,
        sbom: extras.sbom,
        verified,
        signature,
    })
}

/// The OpenPGP packet of an .rpm's header signature (RSA tag, or DSA tag as for EdDSA), if any.
pub(crate) fn header_signature(meta: &rpm::PackageMetadata) -> Option<&[u8]> {
    [rpm::IndexSignatureTag::RPMSIGTAG_RSA, rpm::IndexSignatureTag::RPMSIGTAG_DSA]
        .into_iter()
        .find_map(|tag| meta.signature.get_entry_data_as_binary(tag).ok())
}

/// The header signature of an .rpm, if any, also added to `fields` as rpm -qi shows it.
fn rpm_signature(
    meta: &rpm::PackageMetadata,
    fields: &mut Vec<(String, String)>,
) -> std::result::Result<Option<crate::signing::SignatureInfo>, String> {
    let Some(packet) = header_signature(meta) else { return Ok(None) };
    let s = crate::signing::describe(packet).ok_or("its header signature is not an OpenPGP signature")?;
    let created =
        s.created.map(|t| format!(", made {}", crate::time::rfc3339(i64::from(t)))).unwrap_or_default();
    fields.push(("Signature".into(), format!("{}/{}{created}, key ID {}", s.algorithm, s.hash, s.key_id)));
    Ok(Some(s))
}

/// The .rpm's payload, decompressed: a newc cpio archive. Decompressed here, not by the crate,
/// whose gzip reader (0.30.2) stops after the first member of a payload of several, as wrap's
/// multi-threaded gzip writes them (rpm's zlib reads them all).
fn rpm_payload(package: &rpm::Package) -> std::result::Result<Vec<u8>, String> {
    let kind = match package.metadata.get_payload_compressor().map_err(|e| e.to_string())? {
        rpm::CompressionType::Gzip => "gz",
        rpm::CompressionType::Xz => "xz",
        rpm::CompressionType::Zstd => "zst",
        rpm::CompressionType::None => "tar",
        other => return Err(format!("its payload is compressed with {other:?}, which wrap does not read")),
    };
    let mut payload = Vec::new();
    decompressor(kind, &package.payload[..])
        .map_err(|e| e.to_string())?
        .read_to_end(&mut payload)
        .map_err(|e| format!("its payload cannot be decompressed: {e}"))?;
    Ok(payload)
}

/// Entries of an uncompressed newc ("070701") cpio archive: name and content.
fn cpio_entries(data: &[u8]) -> std::result::Result<Vec<(String, &[u8])>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    let field = |bytes: &[u8], i: usize| -> std::result::Result<usize, String> {
        let hex = std::str::from_utf8(&bytes[6 + i * 8..14 + i * 8]).map_err(|e| e.to_string())?;
        usize::from_str_radix(hex, 16).map_err(|e| e.to_string())
    };
    while at + 110 <= data.len() {
        let header = &data[at..at + 110];
        if &header[..6] != b"070701" && &header[..6] != b"070702" {
            return Err(format!("payload entry at byte {at} is not a newc cpio header"));
        }
        let (size, name_size) = (field(header, 6)?, field(header, 11)?);
        let name_start = at + 110;
        let name_end = name_start + name_size.saturating_sub(1);
        let data_start = (name_start + name_size).div_ceil(4) * 4;
        let data_end = data_start + size;
        if data_end > data.len() {
            return Err("the payload is cut short".into());
        }
        let name = String::from_utf8_lossy(&data[name_start..name_end]).into_owned();
        if name == "TRAILER!!!" {
            break;
        }
        out.push((name, &data[data_start..data_end]));
        at = data_end.div_ceil(4) * 4;
    }
    Ok(out)
}

/// `Io` errors reading `path` as `format`: a bad package.
fn io_as(e: Error, path: &Path, format: &'static str) -> Error {
    match e {
        Error::Io(io) => Error::BadPackage { path: path.into(), format, problem: io.to_string() },
        other => other,
    }
}

/// The files of tar stream `reader` (of artifact `path`), and its provenance files.
pub(super) fn tar_inspection(
    path: &Path,
    reader: impl Read,
    root: Root,
    format: &'static str,
) -> Result<Inspection> {
    let mut tar = tar::Archive::new(reader);
    let mut files = Vec::new();
    let mut extras = Extras::default();
    let mut members = Members::new(root);
    for entry in tar.entries()? {
        let mut entry = entry?;
        members.check(&entry).map_err(|problem| Error::UnsafeMember { path: path.into(), problem })?;
        let info = file_info(&entry)?;
        if info.kind == '-' {
            extras.read(&info.path, &mut entry)?;
        }
        files.push(info);
    }
    Ok(Inspection {
        path: path.into(),
        format,
        fields: Vec::new(),
        conffiles: Vec::new(),
        scripts: Vec::new(),
        files,
        build_info: extras.build_info,
        sbom: extras.sbom,
        verified: 0,
        signature: None,
    })
}

/// The provenance files, picked up while the data streams by.
#[derive(Default)]
struct Extras {
    build_info: Option<serde_json::Value>,
    sbom: Option<serde_json::Value>,
}

impl Extras {
    /// Reads one file's content, keeping it when it is a provenance file; returns its md5.
    fn read(&mut self, rel: &str, entry: &mut impl Read) -> Result<String> {
        let keep = rel.ends_with("/.wrap/build-info.json") || rel.ends_with("/.wrap/sbom.cdx.json");
        let mut hasher = md5::Md5::new();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let n = entry.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            hasher.update(&chunk[..n]);
            if keep {
                buf.extend_from_slice(&chunk[..n]);
            }
        }
        if keep {
            let value = serde_json::from_slice(&buf).ok();
            if rel.ends_with("build-info.json") {
                self.build_info = value;
            } else {
                self.sbom = value;
            }
        }
        Ok(crate::digest::hex(hasher.finalize()))
    }
}

fn file_info<R: Read>(entry: &tar::Entry<'_, R>) -> Result<FileInfo> {
    let header = entry.header();
    let kind = match header.entry_type() {
        tar::EntryType::Directory => 'd',
        tar::EntryType::Symlink => 'l',
        _ => '-',
    };
    Ok(FileInfo {
        path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
        mode: header.mode()?,
        size: header.size()?,
        kind,
        link: entry.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned()),
    })
}

/// `Key: value` fields with continuation lines folded in.
pub fn parse_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push('\n');
                last.1.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            fields.push((k.to_string(), v.trim().to_string()));
        }
    }
    fields
}

/// `drwxr-xr-x` for a kind and mode.
pub fn mode_string(kind: char, mode: u32) -> String {
    let mut s = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}
