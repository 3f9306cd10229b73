//! Pushing wrap's images to a registry (the OCI distribution API) with oci-client, which speaks
//! the protocol, its token and basic authentication and its uploads; a current-thread tokio
//! runtime per push keeps the rest of wrap synchronous. Credentials come from the files that
//! `podman login`, `skopeo login` and `docker login` write, or from the environment.
//! A bottom module beside `oci`, whose archives it reads.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::oci::{self, Archive, Image};

mod pull;
mod referrer;
pub use pull::{check_reference, pull, resolve};

/// Where images go: a registry host (with its port) and a repository prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `registry.example.com`, `localhost:5000`.
    pub registry: String,
    /// Repository path below it, maybe empty: `openstack`, `ops/images`.
    pub prefix: String,
}

impl std::str::FromStr for Target {
    type Err = String;

    /// `HOST[:PORT][/PREFIX]`, as a registry reference starts.
    fn from_str(s: &str) -> std::result::Result<Target, String> {
        let s = s.trim_end_matches('/');
        let (registry, prefix) = s.split_once('/').unwrap_or((s, ""));
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(format!(
                "`{s}` does not start with a registry host (`registry.example.com/openstack`, `localhost:5000`)"
            ));
        }
        let component = |c: &str| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
        };
        if !prefix.is_empty() && !prefix.split('/').all(component) {
            return Err(format!(
                "`{prefix}` is not a repository path: lowercase letters, digits and `._-` between `/`"
            ));
        }
        Ok(Target { registry: registry.into(), prefix: prefix.into() })
    }
}

/// How to push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// More tags for each image, moved to it whatever they named before (`latest`).
    pub tags: Vec<String>,
    /// Speak plain HTTP to the registry (always so for a loopback host).
    pub plain_http: bool,
    /// Move an image's own tag (`<version>-<release>`) that names other bytes.
    pub replace: bool,
}

/// One image pushed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Pushed {
    /// The oci-archive file.
    pub file: PathBuf,
    /// `registry/prefix/name:version-release`.
    pub reference: String,
    /// The image manifest's digest.
    pub digest: String,
    /// Every tag that now names it.
    pub tags: Vec<String>,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Bytes uploaded.
    pub uploaded_bytes: u64,
    /// Blobs the registry had already.
    pub present: usize,
    /// The tag named other bytes before (`--replace`).
    pub replaced: bool,
    /// The digest of the artifact that carries the image's SBOM and build-info, attached to it.
    pub sbom: Option<String>,
}

/// The .oci.tar files of `paths`: files as named, directories' files (not recursing).
pub fn images(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = fs_err::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(".oci.tar") && p.is_file())
                .collect();
            files.sort();
            found.extend(files);
        } else if path.to_string_lossy().ends_with(".oci.tar") {
            found.push(path.clone());
        } else {
            return Err(Error::Push {
                file: path.clone(),
                reference: String::new(),
                problem: "not an image: wrap pushes the `.oci.tar` files `wrap build --format oci` writes"
                    .into(),
                hint: None,
                environment: false,
            });
        }
    }
    if found.is_empty() {
        let shown = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(Error::Push {
            file: shown.into(),
            reference: String::new(),
            problem: "no `.oci.tar` images there".into(),
            hint: Some("build them with `wrap build --format oci`".into()),
            environment: false,
        });
    }
    Ok(found)
}

/// Pushes the images of oci-archive `file` to `target` as `<prefix>/<package>:<tag>` (the tag
/// `<version>-<release>`, or `<service>-<version>-<release>` for an image per service): the
/// blobs the registry lacks, then each manifest under its tag, then `options.tags`. Nothing
/// names an image before every blob it refers to is there; its own tag is not moved from other
/// bytes unless `options.replace`. Each image pushed is added to `pushed`, also when a later one
/// fails.
pub fn push(file: &Path, target: &Target, options: &PushOptions, pushed: &mut Vec<Pushed>) -> Result<()> {
    let fail = |reference: &str, problem: String, environment: bool| Error::Push {
        file: file.into(),
        reference: reference.into(),
        problem,
        hint: None,
        environment,
    };
    let mut archive = Archive::open(file).map_err(|p| fail("", p, false))?;
    let auth = credentials(&target.registry).map_err(|p| fail(&target.registry, p, false))?;
    let runtime =
        runtime().map_err(|(problem, _, environment)| fail(&target.registry, problem, environment))?;
    let client = client(&target.registry, options.plain_http);
    for image in archive.images.clone() {
        let repository = [target.prefix.as_str(), image.name.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>();
        let shown = format!("{}/{}:{}", target.registry, repository.join("/"), image.tag);
        let reference: Reference =
            shown.parse().map_err(|e| fail(&shown, format!("not a valid reference: {e}"), false))?;
        let session = Session { client: client.clone(), reference, auth: auth.clone(), shown: shown.clone() };
        let mut one = runtime.block_on(session.push(&mut archive, &image, options)).map_err(
            |(problem, hint, environment)| Error::Push {
                file: file.into(),
                reference: shown.clone(),
                problem,
                hint,
                environment,
            },
        )?;
        one.file = file.into();
        pushed.push(one);
    }
    Ok(())
}

/// A registry failure: the problem, a hint, whether it is the environment's.
type Failure = (String, Option<String>, bool);

/// One image's push over one client.
struct Session {
    client: Client,
    reference: Reference,
    auth: RegistryAuth,
    shown: String,
}

impl Session {
    async fn push(
        &self,
        archive: &mut Archive,
        image: &Image,
        options: &PushOptions,
    ) -> std::result::Result<Pushed, Failure> {
        for op in [RegistryOperation::Pull, RegistryOperation::Push] {
            self.client
                .auth(&self.reference, &self.auth, op)
                .await
                .map_err(|e| failure(self.reference.registry(), e))?;
        }
        let before = self.tagged(&self.reference).await?;
        let replaced = before.as_ref().is_some_and(|d| *d != image.manifest.digest);
        if replaced && !options.replace {
            return Err((
                format!(
                    "the tag names {}, not this image ({}): the same version-release with other bytes",
                    before.unwrap_or_default(),
                    image.manifest.digest
                ),
                Some("raise the release (`release` in [settings]) and build again, or pass `--replace` to move the tag".into()),
                false,
            ));
        }
        let mut pushed = Pushed {
            file: PathBuf::new(),
            reference: self.shown.clone(),
            digest: image.manifest.digest.clone(),
            tags: vec![image.tag.clone()],
            uploaded: 0,
            uploaded_bytes: 0,
            present: 0,
            replaced,
            sbom: None,
        };
        for part in image.parts.clone() {
            let exists = self
                .client
                .blob_exists(&self.reference, &part.digest)
                .await
                .map_err(|e| failure(self.reference.registry(), e))?;
            if exists {
                pushed.present += 1;
                continue;
            }
            let bytes = archive.blob(&part).map_err(|p| (p, None, false))?;
            self.client
                .push_blob(&self.reference, bytes, &part.digest)
                .await
                .map_err(|e| failure(self.reference.registry(), e))?;
            pushed.uploaded += 1;
            pushed.uploaded_bytes += part.size;
        }
        // An image per service: `--tag latest` is `<service>-latest`.
        let extra = options.tags.iter().map(|t| match &image.service {
            Some(service) => oci::tag_of(&format!("{service}-{t}")),
            None => t.clone(),
        });
        let mut tags = vec![image.tag.clone()];
        tags.extend(extra.filter(|t| *t != image.tag));
        for tag in &tags {
            let content_type = http::HeaderValue::from_static(oci::MANIFEST);
            self.client
                .push_manifest_raw(&self.tagged_as(tag), image.manifest_bytes.clone(), content_type)
                .await
                .map_err(|e| failure(self.reference.registry(), e))?;
        }
        pushed.tags = tags;
        pushed.sbom = self.attach(archive, image).await?;
        Ok(pushed)
    }

    /// The digest `reference`'s tag names, if it exists.
    async fn tagged(&self, reference: &Reference) -> std::result::Result<Option<String>, Failure> {
        match self.client.fetch_manifest_digest(reference, &self.auth).await {
            Ok(digest) => Ok(Some(digest)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(failure(self.reference.registry(), e)),
        }
    }

    /// This image's repository, at `tag`.
    fn tagged_as(&self, tag: &str) -> Reference {
        let (registry, repository) = (self.reference.registry(), self.reference.repository());
        Reference::with_tag(registry.into(), repository.into(), tag.into())
    }
}

/// Whether `e` says that what was asked for is not there (and nothing else went wrong).
fn is_absent(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .all(|e| matches!(e.code, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown)),
        OciDistributionError::ImageManifestNotFoundError(_)
        | OciDistributionError::ServerError { code: 404, .. } => true,
        _ => false,
    }
}

/// What the user reads of a registry error of `registry`, and whether it is the environment's.
fn failure(registry: &str, e: OciDistributionError) -> Failure {
    let login = format!(
        "log in with `podman login {registry}` or `docker login {registry}`, or set WRAP_REGISTRY_USERNAME and WRAP_REGISTRY_PASSWORD"
    );
    let denied = |envelope: &oci_client::errors::OciEnvelope| {
        envelope.errors.iter().any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied))
    };
    match e {
        OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => {
            ("the registry refused the credentials (or asked for some)".into(), Some(login), true)
        }
        OciDistributionError::RegistryError { ref envelope, .. } if denied(envelope) => {
            (format!("the registry refused: {envelope}"), Some(login), true)
        }
        OciDistributionError::RequestError(e) => {
            let mut problem = format!("cannot reach the registry: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                problem = format!("{problem}: {s}");
                source = s.source();
            }
            let hint = "check the host and port (`wrap push --plain-http` for a registry that speaks no TLS)";
            (problem, Some(hint.into()), true)
        }
        other => (format!("the registry failed: {other}"), None, true),
    }
}

/// The runtime a registry call runs on: one thread, this one.
fn runtime() -> std::result::Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| (format!("cannot start the HTTP runtime: {e}"), None, true))
}

fn client(registry: &str, plain_http: bool) -> Client {
    let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    let protocol = if plain_http || loopback {
        ClientProtocol::HttpsExcept(vec![registry.to_string()])
    } else {
        ClientProtocol::Https
    };
    // The process's TLS provider, which reqwest's rustls takes (an error: one was installed).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new(ClientConfig {
        protocol,
        connect_timeout: Some(std::time::Duration::from_secs(30)),
        user_agent: concat!("wrap/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    })
}

/// The credentials for `registry`: WRAP_REGISTRY_USERNAME and WRAP_REGISTRY_PASSWORD, else the
/// first auth file that has an entry for it (`$REGISTRY_AUTH_FILE`,
/// `$XDG_RUNTIME_DIR/containers/auth.json`, `$DOCKER_CONFIG/config.json` or
/// `~/.docker/config.json`), else none.
fn credentials(registry: &str) -> std::result::Result<RegistryAuth, String> {
    if let (Ok(user), Ok(password)) =
        (std::env::var("WRAP_REGISTRY_USERNAME"), std::env::var("WRAP_REGISTRY_PASSWORD"))
    {
        return Ok(RegistryAuth::Basic(user, password));
    }
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let files = [
        var("REGISTRY_AUTH_FILE"),
        var("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")),
        var("DOCKER_CONFIG")
            .map(|d| d.join("config.json"))
            .or_else(|| var("HOME").map(|h| h.join(".docker/config.json"))),
    ];
    for file in files.into_iter().flatten() {
        let Ok(bytes) = fs_err::read(&file) else { continue };
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the auth file `{}` is not valid JSON: {e}", file.display()))?;
        let auths = &doc["auths"];
        let entry = [registry.to_string(), format!("https://{registry}"), format!("http://{registry}")]
            .iter()
            .find_map(|key| auths.get(key))
            .or_else(|| {
                (registry == "docker.io").then(|| auths.get("https://index.docker.io/v1/")).flatten()
            });
        if let Some(entry) = entry {
            return basic(entry)
                .map_err(|p| format!("the auth file `{}`, entry `{registry}`: {p}", file.display()));
        }
    }
    Ok(RegistryAuth::Anonymous)
}

fn basic(entry: &Value) -> std::result::Result<RegistryAuth, String> {
    if let Some(auth) = entry["auth"].as_str() {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .map_err(|e| format!("`auth` is not base64: {e}"))?;
        let text = String::from_utf8(decoded).map_err(|_| "`auth` is not UTF-8".to_string())?;
        let (user, password) = text.split_once(':').ok_or("`auth` is not `user:password`")?;
        return Ok(RegistryAuth::Basic(user.into(), password.into()));
    }
    match (entry["username"].as_str(), entry["password"].as_str()) {
        (Some(user), Some(password)) => Ok(RegistryAuth::Basic(user.into(), password.into())),
        _ => Err("no `auth` and no `username`/`password` (credential helpers are not read)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_start_with_a_host_and_hold_repository_paths() {
        let t: Target = "localhost:5000/ops/images/".parse().unwrap();
        assert_eq!((t.registry.as_str(), t.prefix.as_str()), ("localhost:5000", "ops/images"));
        let t: Target = "registry.example.com".parse().unwrap();
        assert_eq!((t.registry.as_str(), t.prefix.as_str()), ("registry.example.com", ""));
        assert!("openstack/keystone".parse::<Target>().unwrap_err().contains("registry host"));
        assert!("localhost:5000/Ops".parse::<Target>().unwrap_err().contains("repository path"));
        assert!("localhost:5000/ops//x".parse::<Target>().is_err());
        assert!("localhost:5000/-ops".parse::<Target>().is_err());
    }

    #[test]
    fn auth_entries_decode_or_say_why_not() {
        let entry = serde_json::json!({"auth": "b3BzOnMzY3JldA=="});
        assert!(matches!(basic(&entry), Ok(RegistryAuth::Basic(u, p)) if u == "ops" && p == "s3cret"));
        let entry = serde_json::json!({"username": "ops", "password": "x"});
        assert!(matches!(basic(&entry), Ok(RegistryAuth::Basic(u, _)) if u == "ops"));
        assert!(basic(&serde_json::json!({"auth": "%%%"})).unwrap_err().contains("base64"));
        assert!(basic(&serde_json::json!({})).unwrap_err().contains("credential helpers"));
    }
}
