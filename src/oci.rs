//! OCI image layouts (image-spec v1.1), read and written: a base image from a layout directory,
//! its blobs checked against their digests, and its filesystem as the union of its layers
//! (whiteouts applied), for what a bundle needs of it. Documents are handled as JSON values
//! (serde_json, whose maps sort their keys): the base's configuration is kept field for field,
//! fields a typed model does not know included, and every document wrap writes has one byte form,
//! which its digest needs (oci-spec's types keep labels in hash maps, in no fixed order).
//! A bottom module: the plan reads a base's digest, the OCI writer the rest.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};

/// Media types wrap reads and writes.
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// An image manifest.
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An image configuration.
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// A gzip-compressed layer.
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// An uncompressed layer.
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// A Docker (schema 2) image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The image manifest annotation that names the service an image runs, when a project has
/// one image per service.
pub const SERVICE: &str = "wrap.service";

/// `text` as a tag: what a tag cannot hold as `_`, at most 128 characters.
pub fn tag_of(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
        .take(128)
        .collect()
}

/// A content descriptor: what a blob is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Bytes.
    pub size: u64,
}

impl Descriptor {
    /// The descriptor of `bytes` as `media_type`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: format!("sha256:{}", crate::digest::sha256_hex(bytes)),
            size: bytes.len() as u64,
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }

    /// The hex digest (what follows `sha256:`).
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// A base image in an OCI layout directory.
#[derive(Debug, Clone)]
pub struct Base {
    /// The layout directory.
    pub dir: PathBuf,
    /// Its image manifest's descriptor.
    pub manifest: Descriptor,
    /// The configuration, as the base has it.
    pub config: Value,
    /// Its layers, bottom first.
    pub layers: Vec<Descriptor>,
}

impl Base {
    /// Opens the image of layout `dir` for `arch` (GOARCH): the one manifest of its index, or
    /// the one for `arch` (an index nested in the index is followed). Every blob read is
    /// checked against its digest; `verify_layers` checks the layers' too.
    pub fn open(dir: &Path, arch: &str, verify_layers: bool) -> Result<Base, String> {
        let layout = read_small(&dir.join("oci-layout")).map_err(|_| {
            "it is not an OCI image layout (no `oci-layout` file); make one with `skopeo copy … oci:DIR`"
                .to_string()
        })?;
        let version = json_of(&layout, "oci-layout")?;
        if version["imageLayoutVersion"] != "1.0.0" {
            return Err(format!("`oci-layout` says version {}, not 1.0.0", version["imageLayoutVersion"]));
        }
        let mut index =
            json_of(&read_small(&dir.join("index.json")).map_err(|e| e.to_string())?, "index.json")?;
        for _ in 0..4 {
            let chosen = choose(&index, arch)?;
            let bytes = blob(dir, &chosen)?;
            match chosen.media_type.as_str() {
                INDEX => index = json_of(&bytes, &chosen.digest)?,
                MANIFEST | DOCKER_MANIFEST => {
                    let manifest = json_of(&bytes, &chosen.digest)?;
                    let config = descriptor(&manifest["config"])?;
                    let config_json = json_of(&blob(dir, &config)?, &config.digest)?;
                    let layers = manifest["layers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(descriptor)
                        .collect::<Result<Vec<_>, _>>()?;
                    let base = Base { dir: dir.into(), manifest: chosen, config: config_json, layers };
                    if verify_layers {
                        for layer in &base.layers {
                            check_file(&base.blob_path(layer), layer)?;
                        }
                    }
                    return Ok(base);
                }
                other => return Err(format!("`{}` is a {other}, not an image manifest", chosen.digest)),
            }
        }
        Err("its indexes nest more than four deep".into())
    }

    /// Where blob `d` is.
    pub fn blob_path(&self, d: &Descriptor) -> PathBuf {
        self.dir.join("blobs/sha256").join(d.hex())
    }

    /// The union of the layers' files, whiteouts applied.
    pub fn files(&self) -> Result<Files, String> {
        let mut files = Files::default();
        for layer in &self.layers {
            let file = fs_err::File::open(self.blob_path(layer)).map_err(|e| e.to_string())?;
            let reader: Box<dyn Read> = if layer.media_type.ends_with("gzip") {
                Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file)))
            } else if layer.media_type.ends_with(".tar") || layer.media_type.ends_with("tar") {
                Box::new(std::io::BufReader::new(file))
            } else {
                return Err(format!(
                    "layer {} is {}, which wrap cannot read",
                    layer.digest, layer.media_type
                ));
            };
            files.apply(reader).map_err(|e| format!("layer {}: {e}", layer.digest))?;
        }
        Ok(files)
    }
}

/// A filesystem read from layers: each path (relative, no leading `/`) with what it is.
#[derive(Debug, Default)]
pub struct Files {
    entries: BTreeMap<PathBuf, Entry>,
}

/// One path of a [`Files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Dir,
    /// A regular file; its bytes are kept for the few files wrap reads (`/etc/passwd`).
    File(Option<Vec<u8>>),
    /// A symbolic link to this target.
    Symlink(PathBuf),
    /// A hard link to this path.
    Hardlink(PathBuf),
}

/// Files whose bytes are kept when layers are read.
const KEPT: [&str; 2] = ["etc/passwd", "etc/group"];

impl Files {
    fn apply(&mut self, reader: impl Read) -> std::io::Result<()> {
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = clean(&entry.path()?);
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(String::from) else { continue };
            let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
            if name == ".wh..wh..opq" {
                self.entries.retain(|p, _| !p.starts_with(&parent) || *p == parent);
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                let gone = parent.join(hidden);
                self.entries.retain(|p, _| !p.starts_with(&gone));
                continue;
            }
            let kind = entry.header().entry_type();
            let link = || entry.link_name().ok().flatten().map(|l| l.into_owned()).unwrap_or_default();
            let item = match kind {
                tar::EntryType::Directory => Entry::Dir,
                tar::EntryType::Symlink => Entry::Symlink(link()),
                tar::EntryType::Link => Entry::Hardlink(clean(&link())),
                _ if KEPT.iter().any(|k| Path::new(k) == path) => {
                    let mut bytes = Vec::new();
                    entry.read_to_end(&mut bytes)?;
                    Entry::File(Some(bytes))
                }
                _ => Entry::File(None),
            };
            // A file replacing a directory hides what the directory held.
            if item != Entry::Dir {
                self.entries.retain(|p, _| !p.starts_with(&path) || *p == path);
            }
            self.entries.insert(path, item);
        }
        Ok(())
    }

    /// What `path` (absolute, or relative to the root) is, symbolic links followed (in every
    /// component, as the kernel does, up to 40 of them).
    pub fn resolve(&self, path: &Path) -> Option<(PathBuf, &Entry)> {
        let mut pending: Vec<PathBuf> = vec![path.to_path_buf()];
        let mut links = 0;
        'again: while let Some(path) = pending.pop() {
            let mut at = PathBuf::new();
            let mut parts = path.components().peekable();
            while let Some(c) = parts.next() {
                match c {
                    Component::Normal(n) => at.push(n),
                    Component::ParentDir => {
                        at.pop();
                    }
                    _ => continue,
                }
                if let Some(Entry::Symlink(target)) = self.entries.get(&at) {
                    links += 1;
                    if links > 40 {
                        return None;
                    }
                    let base = at.parent().unwrap_or(Path::new("")).to_path_buf();
                    let mut next = if target.is_absolute() { PathBuf::from("/") } else { base };
                    next.push(target);
                    for rest in parts {
                        next.push(rest);
                    }
                    pending.push(next);
                    continue 'again;
                }
            }
            return self.entries.get(&at).map(|e| (at.clone(), e));
        }
        None
    }

    /// The bytes of a kept file (`etc/passwd`, `etc/group`), when the layers hold it.
    pub fn kept(&self, path: &str) -> Option<&[u8]> {
        match self.resolve(Path::new(path)) {
            Some((_, Entry::File(Some(bytes)))) => Some(bytes),
            _ => None,
        }
    }

    /// Paths whose file name is `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Path> {
        self.entries.keys().filter(move |p| p.file_name().is_some_and(|n| n == name)).map(PathBuf::as_path)
    }
}

/// `path` relative and without `.` components (`./usr/bin/` → `usr/bin`).
fn clean(path: &Path) -> PathBuf {
    path.components().filter(|c| matches!(c, Component::Normal(_))).collect()
}

/// The image of `index` for linux on `arch` (GOARCH): an entry without a platform counts.
pub fn choose(index: &Value, arch: &str) -> Result<Descriptor, String> {
    let manifests = index["manifests"].as_array().map(Vec::as_slice).unwrap_or_default();
    let matching: Vec<&Value> = manifests
        .iter()
        .filter(|m| m["platform"]["architecture"].as_str().is_none_or(|a| a == arch))
        .filter(|m| m["platform"]["os"].as_str().is_none_or(|o| o == "linux"))
        .collect();
    match matching.as_slice() {
        [one] => descriptor(one),
        [] if manifests.is_empty() => Err("its index lists no image".into()),
        [] => Err(format!("it has no image for architecture {arch}")),
        _ => Err(format!("its index lists {} images for {arch}; keep one in the layout", matching.len())),
    }
}

/// Whether `text` is a content digest wrap reads: `sha256:` and 64 lowercase hex digits.
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The descriptor `v` holds.
pub fn descriptor(v: &Value) -> Result<Descriptor, String> {
    let digest = v["digest"].as_str().unwrap_or_default();
    if !is_digest(digest) {
        return Err(format!("descriptor digest `{digest}` is not a sha256 digest"));
    }
    Ok(Descriptor {
        media_type: v["mediaType"].as_str().unwrap_or_default().to_string(),
        digest: digest.to_string(),
        size: v["size"].as_u64().ok_or_else(|| format!("descriptor {digest} has no size"))?,
    })
}

/// An oci-archive as wrap writes it: one tagged image per project or per service, sharing
/// their layers, with the blobs read where they lie in the archive.
pub struct Archive {
    file: fs_err::File,
    /// Blob hex digest → (offset, size) in the archive.
    blobs: BTreeMap<String, (u64, u64)>,
    /// The images, in the index's order.
    pub images: Vec<Image>,
}

/// One image of an [`Archive`].
#[derive(Debug, Clone)]
pub struct Image {
    /// The package name (the `org.opencontainers.image.title` label).
    pub name: String,
    /// The layout's tag: `<version>-<release>`, or `<service>-<version>-<release>`.
    pub tag: String,
    /// The service the image runs, when the project has one image per service.
    pub service: Option<String>,
    /// The image manifest's descriptor, and its bytes.
    pub manifest: Descriptor,
    /// The image manifest as it is in the archive.
    pub manifest_bytes: Vec<u8>,
    /// The configuration.
    pub config: Value,
    /// Layers, then the configuration.
    pub parts: Vec<Descriptor>,
}

impl Archive {
    /// Opens oci-archive `path`: its index, manifests and configurations read and checked.
    pub fn open(path: &Path) -> Result<Archive, String> {
        let file = fs_err::File::open(path).map_err(|e| e.to_string())?;
        let mut archive =
            tar::Archive::new(std::io::BufReader::new(file.file().try_clone().map_err(|e| e.to_string())?));
        let mut blobs = BTreeMap::new();
        let mut index = None;
        for entry in archive.entries().map_err(|e| format!("not a tar archive: {e}"))? {
            let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
            let member = entry.path().map_err(|e| e.to_string())?.to_string_lossy().into_owned();
            if member == "index.json" {
                let mut bytes = Vec::new();
                entry.by_ref().take(4 << 20).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
                index = Some(json_of(&bytes, "index.json")?);
            } else if let Some(hex) = member.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
                blobs.insert(hex.to_string(), (entry.raw_file_position(), entry.size()));
            }
        }
        let index = index.ok_or("it has no `index.json`: not an OCI image archive")?;
        let entries = index["manifests"].as_array().cloned().unwrap_or_default();
        if entries.is_empty() {
            return Err("its index names no image".into());
        }
        let mut archive = Archive { file, blobs, images: Vec::new() };
        for entry in &entries {
            let image = archive.image(entry)?;
            archive.images.push(image);
        }
        Ok(archive)
    }

    /// The image index entry `entry` names, read and checked.
    fn image(&mut self, entry: &Value) -> Result<Image, String> {
        let manifest = descriptor(entry)?;
        let tag = entry["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .ok_or("its image has no `org.opencontainers.image.ref.name` (its version-release tag)")?
            .to_string();
        let manifest_bytes = self.blob(&manifest)?;
        let doc = json_of(&manifest_bytes, &manifest.digest)?;
        let config = descriptor(&doc["config"])?;
        let config_doc = json_of(&self.blob(&config)?, &config.digest)?;
        let name = config_doc["config"]["Labels"]["org.opencontainers.image.title"]
            .as_str()
            .ok_or("its configuration has no `org.opencontainers.image.title` label (the package name)")?
            .to_string();
        let mut parts =
            doc["layers"].as_array().into_iter().flatten().map(descriptor).collect::<Result<Vec<_>, _>>()?;
        parts.push(config);
        Ok(Image {
            name,
            tag,
            service: doc["annotations"][SERVICE].as_str().map(String::from),
            manifest,
            manifest_bytes,
            config: config_doc,
            parts,
        })
    }

    /// Blob `d`, checked against its digest.
    pub fn blob(&mut self, d: &Descriptor) -> Result<Vec<u8>, String> {
        let &(offset, size) =
            self.blobs.get(d.hex()).ok_or_else(|| format!("blob {} is not in the archive", d.digest))?;
        if size != d.size {
            return Err(format!("blob {} is {size} bytes, not {}", d.digest, d.size));
        }
        self.file.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
        let mut bytes = vec![0; usize::try_from(size).map_err(|e| e.to_string())?];
        self.file.read_exact(&mut bytes).map_err(|e| format!("blob {}: {e}", d.digest))?;
        if crate::digest::sha256_hex(&bytes) != d.hex() {
            return Err(format!("blob {} does not match its digest: the archive is damaged", d.digest));
        }
        Ok(bytes)
    }
}

/// Writes the image of a `docker save` archive (a docker-archive; wrap's own .oci.tar carries
/// its manifest.json too) into the new layout directory `dest`: every member as a blob by its
/// digest, the configuration and layers as they are (an uncompressed layer stays so), under an
/// image manifest made for them, the same for the same archive.
pub fn layout_from_archive(archive: &Path, dest: &Path) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let file = fs_err::File::open(archive).map_err(io)?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    let blobs = dest.join("blobs/sha256");
    fs_err::create_dir_all(&blobs).map_err(io)?;
    let mut members: BTreeMap<String, Descriptor> = BTreeMap::new();
    let mut listed = None;
    for entry in tar.entries().map_err(|e| format!("not a tar archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path().map_err(io)?.to_string_lossy().trim_start_matches("./").to_string();
        if path == "manifest.json" {
            let mut bytes = Vec::new();
            entry.by_ref().take(4 << 20).read_to_end(&mut bytes).map_err(io)?;
            listed = Some(json_of(&bytes, "manifest.json")?);
            continue;
        }
        let partial = blobs.join(".partial");
        let mut hashing = crate::archive::Hashing::new(fs_err::File::create(&partial).map_err(io)?);
        std::io::copy(&mut entry, &mut hashing).map_err(io)?;
        let (_, hex, size) = hashing.finish();
        let mut magic = [0u8; 2];
        let gzip = fs_err::File::open(&partial).and_then(|mut f| f.read_exact(&mut magic)).is_ok()
            && magic == [0x1f, 0x8b];
        fs_err::rename(&partial, blobs.join(&hex)).map_err(io)?;
        let media_type = if gzip { LAYER_GZIP } else { LAYER_TAR };
        members.insert(
            path,
            Descriptor { media_type: media_type.into(), digest: format!("sha256:{hex}"), size },
        );
    }
    let listed = listed.ok_or("it has no `manifest.json`: not a `docker save` archive")?;
    let [image] = listed.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err("its manifest.json does not list exactly one image; save one".into());
    };
    let member = |key: &Value| {
        let path = key.as_str().unwrap_or_default();
        members.get(path).cloned().ok_or_else(|| format!("`{path}`, named by manifest.json, is not in it"))
    };
    let config = Descriptor { media_type: CONFIG.into(), ..member(&image["Config"])? };
    let config_json = json_of(&fs_err::read(blobs.join(config.hex())).map_err(io)?, "its configuration")?;
    let layers =
        image["Layers"].as_array().into_iter().flatten().map(member).collect::<Result<Vec<_>, _>>()?;
    let manifest = to_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config.to_json(),
        "layers": layers.iter().map(Descriptor::to_json).collect::<Vec<_>>(),
    }));
    let d = Descriptor::of(MANIFEST, &manifest);
    fs_err::write(blobs.join(d.hex()), &manifest).map_err(io)?;
    let mut entry = d.to_json();
    entry["platform"] = json!({"architecture": config_json["architecture"], "os": config_json["os"]});
    let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [entry]});
    fs_err::write(dest.join("index.json"), to_bytes(&index)).map_err(io)?;
    fs_err::write(dest.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io)
}

/// Reads blob `d` of layout `dir` (a document: at most 4 MiB), checked against its digest.
fn blob(dir: &Path, d: &Descriptor) -> Result<Vec<u8>, String> {
    if d.size > 4 << 20 {
        return Err(format!("document {} is {} bytes, more than 4 MiB", d.digest, d.size));
    }
    let path = dir.join("blobs/sha256").join(d.hex());
    let bytes = fs_err::read(&path).map_err(|e| e.to_string())?;
    let found = Descriptor::of(&d.media_type, &bytes);
    if found.digest != d.digest || found.size != d.size {
        return Err(format!(
            "blob {} does not match its digest (it is {}, {} bytes)",
            d.digest, found.digest, found.size
        ));
    }
    Ok(bytes)
}

fn check_file(path: &Path, d: &Descriptor) -> Result<(), String> {
    let mut hashing = crate::archive::Hashing::new(std::io::sink());
    std::io::copy(&mut fs_err::File::open(path).map_err(|e| e.to_string())?, &mut hashing)
        .map_err(|e| e.to_string())?;
    let (_, sha256, size) = hashing.finish();
    if sha256 != d.hex() || size != d.size {
        return Err(format!(
            "layer {} does not match its digest (it is sha256:{sha256}, {size} bytes)",
            d.digest
        ));
    }
    Ok(())
}

fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs_err::File::open(path)?.take(4 << 20).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `bytes` as JSON, or an error naming `what`.
pub fn json_of(bytes: &[u8], what: &str) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("`{what}` is not valid JSON: {e}"))
}

/// The one byte form of a document wrap writes: compact JSON with its keys sorted at every
/// level (whether or not serde_json's maps keep insertion order in this build).
pub fn to_bytes(v: &Value) -> Vec<u8> {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(v)).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o755);
            h.set_size(0);
            match link {
                Some(target) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    b.append_link(&mut h, path, target).unwrap();
                }
                None if path.ends_with('/') => {
                    h.set_entry_type(tar::EntryType::Directory);
                    b.append_data(&mut h, path, std::io::empty()).unwrap();
                }
                None => {
                    h.set_size(1);
                    b.append_data(&mut h, path, &b"x"[..]).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn layers_union_with_whiteouts_and_links_followed() {
        let mut files = Files::default();
        let lower = [
            ("usr/", None),
            ("usr/bin/", None),
            ("usr/bin/python3.11", None),
            ("bin", Some("usr/bin")),
            ("usr/bin/python3", Some("python3.11")),
            ("opt/old/", None),
            ("opt/old/f", None),
            ("etc/passwd", None),
        ];
        files.apply(&layer(&lower)[..]).unwrap();
        assert!(
            matches!(files.resolve(Path::new("/bin/python3")), Some((p, Entry::File(_))) if p == Path::new("usr/bin/python3.11"))
        );
        assert_eq!(files.kept("/etc/passwd"), Some(&b"x"[..]));
        files.apply(&layer(&[("usr/bin/.wh.python3.11", None), ("opt/old/.wh..wh..opq", None)])[..]).unwrap();
        assert!(files.resolve(Path::new("/usr/bin/python3")).is_none());
        assert!(files.resolve(Path::new("opt/old/f")).is_none());
        assert!(files.resolve(Path::new("opt/old")).is_some());
        files.apply(&layer(&[("loop", Some("/loop"))])[..]).unwrap();
        assert!(files.resolve(Path::new("/loop/x")).is_none());
    }
}
