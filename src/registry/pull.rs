//! A base image from a registry: a reference checked as the manifest gives it, its tag resolved
//! to the digest the lock pins, and the image that digest names (for linux on the host's
//! architecture) pulled into an OCI layout directory that the image writer reads like any other.

use std::path::Path;

use oci_client::{Reference, RegistryOperation};
use serde_json::json;

use super::{Failure, client, credentials, failure, runtime};
use crate::error::{Error, Result};
use crate::oci::{self, Descriptor};

const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Checks a registry reference as the manifest writes it after `docker://`:
/// `HOST[:PORT]/REPOSITORY[:TAG][@sha256:…]`, with the registry host written out.
pub fn check_reference(text: &str) -> std::result::Result<(), String> {
    let host = text.split('/').next().unwrap_or_default();
    if !text.contains('/') || !(host.contains('.') || host.contains(':') || host == "localhost") {
        return Err("a registry reference that names its host: `registry.example.com/debian-python:12`, `docker.io/library/debian:12-slim`".into());
    }
    let reference: Reference = text.parse().map_err(|e| format!("not a registry reference: {e}"))?;
    if reference.digest().is_some_and(|d| !oci::is_digest(d)) {
        return Err("a digest is `sha256:` and 64 hex digits".into());
    }
    Ok(())
}

/// The digest `reference` names now: its own when it has one, else what its tag names on the
/// registry (an index's digest for a multi-platform image).
pub fn resolve(reference: &str) -> Result<String> {
    let parsed = parse(reference)?;
    if let Some(digest) = parsed.digest() {
        return Ok(digest.to_string());
    }
    let (runtime, client, auth) = connect(reference, &parsed)?;
    runtime
        .block_on(async {
            client.auth(&parsed, &auth, RegistryOperation::Pull).await?;
            client.fetch_manifest_digest(&parsed, &auth).await
        })
        .map_err(|e| pull_error(reference, failure(parsed.registry(), e)))
}

/// Pulls the image `reference`'s repository holds under `digest` (for linux on `arch`) into the
/// new OCI layout directory `dest`, every blob checked against its digest. The caller renames
/// `dest` into place, so a layout is whole or absent.
pub fn pull(reference: &str, digest: &str, arch: &str, dest: &Path) -> Result<()> {
    let parsed = parse(reference)?;
    let (runtime, client, auth) = connect(reference, &parsed)?;
    let at = |d: &str| Reference::with_digest(parsed.registry().into(), parsed.repository().into(), d.into());
    let written = runtime.block_on(async {
        let fail = |e| failure(parsed.registry(), e);
        client.auth(&at(digest), &auth, RegistryOperation::Pull).await.map_err(fail)?;
        let accepted = [oci::INDEX, DOCKER_LIST, oci::MANIFEST, oci::DOCKER_MANIFEST];
        let (mut bytes, _) = client.pull_manifest_raw(&at(digest), &auth, &accepted).await.map_err(fail)?;
        let mut doc = checked_json(&bytes, digest)?;
        let mut manifest = Descriptor {
            media_type: doc["mediaType"].as_str().unwrap_or(oci::MANIFEST).to_string(),
            digest: digest.to_string(),
            size: bytes.len() as u64,
        };
        if doc["manifests"].is_array() {
            manifest = oci::choose(&doc, arch).map_err(|p| (p, None, false))?;
            bytes = client.pull_manifest_raw(&at(&manifest.digest), &auth, &accepted).await.map_err(fail)?.0;
            doc = checked_json(&bytes, &manifest.digest)?;
        }
        write_blob(dest, &manifest.digest, &bytes)?;
        let config = oci::descriptor(&doc["config"]).map_err(|p| (p, None, false))?;
        let layers = doc["layers"].as_array().cloned().unwrap_or_default();
        let mut parts = vec![config];
        for layer in &layers {
            parts.push(oci::descriptor(layer).map_err(|p| (p, None, false))?);
        }
        for part in &parts {
            let mut blob = Vec::with_capacity(usize::try_from(part.size).unwrap_or(0).min(1 << 30));
            client.pull_blob(&at(digest), part.digest.as_str(), &mut blob).await.map_err(fail)?;
            if blob.len() as u64 != part.size {
                return Err((
                    format!("blob {} came as {} bytes, not {}", part.digest, blob.len(), part.size),
                    None,
                    true,
                ));
            }
            write_blob(dest, &part.digest, &blob)?;
        }
        Ok::<Descriptor, Failure>(manifest)
    });
    let manifest = written.map_err(|f| pull_error(reference, f))?;
    let mut entry = manifest.to_json();
    entry["platform"] = json!({"architecture": arch, "os": "linux"});
    let index = json!({"schemaVersion": 2, "mediaType": oci::INDEX, "manifests": [entry]});
    fs_err::write(dest.join("index.json"), oci::to_bytes(&index))?;
    fs_err::write(dest.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(())
}

fn parse(reference: &str) -> Result<Reference> {
    reference
        .parse()
        .map_err(|e| pull_error(reference, (format!("not a registry reference: {e}"), None, false)))
}

fn connect(
    reference: &str,
    parsed: &Reference,
) -> Result<(tokio::runtime::Runtime, oci_client::Client, oci_client::secrets::RegistryAuth)> {
    let auth = credentials(parsed.registry()).map_err(|p| pull_error(reference, (p, None, false)))?;
    let runtime = runtime().map_err(|f| pull_error(reference, f))?;
    Ok((runtime, client(parsed.registry(), false), auth))
}

/// `bytes` as JSON, after checking that they are what `digest` names.
fn checked_json(bytes: &[u8], digest: &str) -> std::result::Result<serde_json::Value, Failure> {
    if format!("sha256:{}", crate::digest::sha256_hex(bytes)) != digest {
        return Err((format!("the registry served other bytes for {digest}"), None, true));
    }
    oci::json_of(bytes, digest).map_err(|p| (p, None, false))
}

fn write_blob(dest: &Path, digest: &str, bytes: &[u8]) -> std::result::Result<(), Failure> {
    if format!("sha256:{}", crate::digest::sha256_hex(bytes)) != digest {
        return Err((format!("blob {digest} came with other bytes"), None, true));
    }
    let dir = dest.join("blobs/sha256");
    let path = dir.join(digest.trim_start_matches("sha256:"));
    fs_err::create_dir_all(&dir)
        .and_then(|()| fs_err::write(&path, bytes))
        .map_err(|e| (e.to_string(), None, true))
}

fn pull_error(reference: &str, (problem, hint, environment): Failure) -> Error {
    Error::Pull { reference: reference.into(), problem, hint, environment }
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_name_their_registry_host() {
        for good in [
            "registry.example.com/debian-python:12",
            "localhost:5000/base",
            "docker.io/library/debian:12-slim",
            "127.0.0.1:5000/ops/base@sha256:0123456789012345678901234567890123456789012345678901234567890123",
        ] {
            assert_eq!(super::check_reference(good), Ok(()), "{good}");
        }
        for bad in [
            "debian:12",
            "library/debian",
            "registry.example.com/Debian",
            "localhost:5000/x@sha256:12",
            "registry.example.com/x:$(touch /tmp/pwned)",
            "registry.example.com/x:1\nrm -rf /",
            "registry.example.com/x y:1",
            "registry.example.com/../x:1",
        ] {
            assert!(super::check_reference(bad).is_err(), "{bad}");
        }
    }
}
