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
    let parts = archive.parts.clone();
    let Some((_config, layers)) = parts.split_last() else { return Err(bad("it has no layers".into())) };
    let Some(top) = layers.last() else { return Err(bad("it has no layers".into())) };
    for layer in &layers[..layers.len() - 1] {
        archive.blob(layer).map_err(bad)?;
    }
    let bytes = archive.blob(top).map_err(bad)?;
    let mut inspection =
        tar_inspection(path, flate2::read::MultiGzDecoder::new(bytes.as_slice()), Root::Filesystem, "oci")?;
    inspection.fields = fields(&archive);
    // The manifest, the configuration and every layer.
    inspection.verified = parts.len() + 1;
    Ok(inspection)
}

/// The image's fields, in the order `skopeo inspect` and `podman image inspect` show them.
fn fields(archive: &Archive) -> Vec<(String, String)> {
    let config = &archive.config;
    let c = &config["config"];
    let list = |v: &Value| -> String {
        match v {
            Value::Array(items) => {
                items.iter().map(|i| i.as_str().unwrap_or_default()).collect::<Vec<_>>().join(" ")
            }
            Value::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
            Value::String(s) => s.clone(),
            _ => String::new(),
        }
    };
    let manifest: Value = serde_json::from_slice(&archive.manifest_bytes).unwrap_or_default();
    let mut fields = vec![
        ("Image".to_string(), format!("{}:{}", archive.name, archive.tag)),
        ("Digest".into(), archive.manifest.digest.clone()),
        ("Architecture".into(), list(&config["architecture"])),
        ("Created".into(), list(&config["created"])),
        ("Base".into(), list(&manifest["annotations"]["org.opencontainers.image.base.digest"])),
        ("Layers".into(), (archive.parts.len() - 1).to_string()),
        ("User".into(), list(&c["User"])),
        ("Cmd".into(), list(&c["Cmd"])),
        ("Entrypoint".into(), list(&c["Entrypoint"])),
        ("WorkingDir".into(), list(&c["WorkingDir"])),
        ("Env".into(), list(&c["Env"])),
        ("ExposedPorts".into(), list(&c["ExposedPorts"])),
        ("Volumes".into(), list(&c["Volumes"])),
    ];
    for (key, value) in c["Labels"].as_object().into_iter().flatten() {
        fields.push((format!("Label {key}"), list(value)));
    }
    fields.retain(|(_, v)| !v.is_empty());
    fields
}
