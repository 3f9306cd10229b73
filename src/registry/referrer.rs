//! An image's SBOM and build-info, attached to it on the registry as an OCI artifact whose
//! `subject` is the image (image-spec 1.1), the way cosign, oras and trivy look for them: the
//! referrers API lists it on registries that have one, and the referrers tag schema
//! (`sha256-<hex>`, an index of the image's referrers, which the distribution spec names as the
//! fallback) lists it on every registry. The artifact is made from the files inside the image,
//! so it is the same bytes at every push.

use std::io::Read;

use oci_client::Reference;
use serde_json::{Value, json};

use super::{Failure, Session, failure, is_absent};
use crate::oci::{self, Archive, Descriptor, Image};

/// The artifact type: a CycloneDX SBOM (with wrap's build-info beside it).
pub const SBOM: &str = "application/vnd.cyclonedx+json";
const BUILD_INFO: &str = "application/vnd.wrap.build-info.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// A file of the artifact: its name, media type and bytes.
type File = (&'static str, &'static str, Vec<u8>);

/// `.wrap/sbom.cdx.json` and `.wrap/build-info.json` of the image's top layer (the bundle's),
/// with their media types; none for an image wrap did not write.
fn provenance(layer: &[u8]) -> std::result::Result<Vec<File>, String> {
    let mut found = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(layer));
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.to_string_lossy().into_owned();
        let kind = if path.ends_with("/.wrap/sbom.cdx.json") {
            ("sbom.cdx.json", SBOM)
        } else if path.ends_with("/.wrap/build-info.json") {
            ("build-info.json", BUILD_INFO)
        } else {
            continue;
        };
        let mut bytes = Vec::new();
        entry.by_ref().take(64 << 20).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        found.push((kind.0, kind.1, bytes));
    }
    found.sort_by_key(|(name, _, _)| *name);
    Ok(found)
}

impl Session {
    /// Attaches the image's provenance to it; returns the artifact's digest, if it has any.
    pub(super) async fn attach(
        &self,
        archive: &mut Archive,
        image: &Image,
    ) -> std::result::Result<Option<String>, Failure> {
        let fail = |e| failure(self.reference.registry(), e);
        let Some(top) = image.parts.iter().rev().nth(1).cloned() else { return Ok(None) };
        let layer = archive.blob(&top).map_err(|p| (p, None, false))?;
        let files = provenance(&layer).map_err(|p| (format!("layer {}: {p}", top.digest), None, false))?;
        if files.is_empty() {
            return Ok(None);
        }
        let mut blobs = vec![(Descriptor::of(EMPTY, b"{}"), b"{}".to_vec(), None)];
        for (name, media_type, bytes) in files {
            blobs.push((Descriptor::of(media_type, &bytes), bytes, Some(name)));
        }
        for (d, bytes, _) in &blobs {
            if !self.client.blob_exists(&self.reference, &d.digest).await.map_err(fail)? {
                self.client.push_blob(&self.reference, bytes.clone(), &d.digest).await.map_err(fail)?;
            }
        }
        let created = oci::json_of(&image.manifest_bytes, &image.manifest.digest)
            .map_err(|p| (p, None, false))?["annotations"]["org.opencontainers.image.created"]
            .clone();
        let layers: Vec<Value> = blobs[1..]
            .iter()
            .map(|(d, _, name)| {
                let mut v = d.to_json();
                v["annotations"] = json!({"org.opencontainers.image.title": name});
                v
            })
            .collect();
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": oci::MANIFEST,
            "artifactType": SBOM,
            "config": blobs[0].0.to_json(),
            "layers": layers,
            "subject": image.manifest.to_json(),
        });
        if created.is_string() {
            manifest["annotations"] = json!({"org.opencontainers.image.created": created});
        }
        let bytes = oci::to_bytes(&manifest);
        let artifact = Descriptor::of(oci::MANIFEST, &bytes);
        let content_type = |t: &'static str| http::HeaderValue::from_static(t);
        let by_digest = Reference::with_digest(
            self.reference.registry().into(),
            self.reference.repository().into(),
            artifact.digest.clone(),
        );
        self.client.push_manifest_raw(&by_digest, bytes, content_type(oci::MANIFEST)).await.map_err(fail)?;
        // The referrers tag schema: the index at `sha256-<hex>` lists the image's referrers. Only
        // an index that is not there starts empty: any other failure stops the push, so that
        // referrers others listed (signatures) are never written over.
        let tag = self.tagged_as(&format!("sha256-{}", image.manifest.hex()));
        let mut index = match self.client.pull_manifest_raw(&tag, &self.auth, &[oci::INDEX]).await {
            Ok((bytes, _)) => oci::json_of(&bytes, "the referrers index").map_err(|p| (p, None, true))?,
            Err(e) if is_absent(&e) => json!({"schemaVersion": 2, "mediaType": oci::INDEX, "manifests": []}),
            Err(e) => return Err(fail(e)),
        };
        let listed =
            index["manifests"].as_array().is_some_and(|m| m.iter().any(|e| e["digest"] == artifact.digest));
        if !listed {
            let mut entry = artifact.to_json();
            entry["artifactType"] = json!(SBOM);
            if !index["manifests"].is_array() {
                index["manifests"] = json!([]);
            }
            index["manifests"].as_array_mut().expect("an array").push(entry);
            self.client
                .push_manifest_raw(&tag, oci::to_bytes(&index), content_type(oci::INDEX))
                .await
                .map_err(fail)?;
        }
        Ok(Some(artifact.digest))
    }
}
