//! `wrap inspect` of an image (.oci.tar): its name, tag and digest, the configuration a runtime
//! reads (user, command, environment, ports, volumes, labels), the base it was built on, and the
//! files and provenance of its top layer (the package's content); every blob is read and checked
//! against its digest.

use std::path::Path;

use serde_json::Value;

use super::inspect::{Inspection, tar_inspection};
use super::members::Root;
use crate::error::{Error, Result};
use crate::oci::Archive;

/// Inspects the oci-archive at `path`.
pub fn inspect(path: &Path) -> Result<Inspection> {
    let bad = |problem: String| Error::BadPackage { path: path.into(), format: "oci", problem };
    let mut archive = Archive::open(path).map_err(bad)?;
    let first = archive.images.first().cloned().ok_or_else(|| bad("it has no image".into()))?;
    if let Some(other) =
        archive.images.iter().find(|i| i.parts[..i.parts.len() - 1] != first.parts[..first.parts.len() - 1])
    {
        return Err(bad(format!(
            "its images {} and {} have other layers: not an archive wrap writes",
            first.tag, other.tag
        )));
    }
    let parts = first.parts.clone();
    let Some((_config, layers)) = parts.split_last() else { return Err(bad("it has no layers".into())) };
    let Some(top) = layers.last() else { return Err(bad("it has no layers".into())) };
    for layer in &layers[..layers.len() - 1] {
        archive.blob(layer).map_err(bad)?;
    }
    let bytes = archive.blob(top).map_err(bad)?;
    let mut inspection =
        tar_inspection(path, flate2::read::MultiGzDecoder::new(bytes.as_slice()), Root::Filesystem, "oci")?;
    inspection.fields = fields(&archive);
    // Every image's manifest and configuration (read when the archive was opened), and every
    // layer they share.
    inspection.verified = layers.len() + 2 * archive.images.len();
    Ok(inspection)
}

/// The images' fields, in the order `skopeo inspect` and `podman image inspect` show them: what
/// tells the images apart (name and tag, service, digest, command) for each, then what they
/// share, as the first has it.
fn fields(archive: &Archive) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for image in &archive.images {
        let c = &image.config["config"];
        fields.extend([
            ("Image".to_string(), format!("{}:{}", image.name, image.tag)),
            ("Service".into(), image.service.clone().unwrap_or_default()),
            ("Digest".into(), image.manifest.digest.clone()),
            ("Cmd".into(), list(&c["Cmd"])),
            ("Entrypoint".into(), list(&c["Entrypoint"])),
        ]);
    }
    let image = &archive.images[0];
    let config = &image.config;
    let c = &config["config"];
    let manifest: Value = serde_json::from_slice(&image.manifest_bytes).unwrap_or_default();
    fields.extend([
        ("Architecture".into(), list(&config["architecture"])),
        ("Created".into(), list(&config["created"])),
        ("Base".into(), list(&manifest["annotations"]["org.opencontainers.image.base.digest"])),
        ("Layers".into(), (image.parts.len() - 1).to_string()),
        ("User".into(), list(&c["User"])),
        ("WorkingDir".into(), list(&c["WorkingDir"])),
        ("Env".into(), list(&c["Env"])),
        ("ExposedPorts".into(), list(&c["ExposedPorts"])),
        ("Volumes".into(), list(&c["Volumes"])),
    ]);
    for (key, value) in c["Labels"].as_object().into_iter().flatten() {
        fields.push((format!("Label {key}"), list(value)));
    }
    fields.retain(|(_, v)| !v.is_empty());
    fields
}

/// A configuration value as one line: a list's items, an object's keys.
fn list(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            items.iter().map(|i| i.as_str().unwrap_or_default()).collect::<Vec<_>>().join(" ")
        }
        Value::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}
