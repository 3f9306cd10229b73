//! The shared remote cache (`--remote`, `WRAP_REMOTE`, `settings.remote`): what one build box
//! built, the others download instead of building. One client for every store — S3, GCS, Azure,
//! WebDAV over HTTP(S) and a directory (NFS) — through `object_store`; what is kept there is in
//! [`records`]. A remote that fails (unreachable, refusing, slow) is said once as a warning and
//! then left alone for the rest of the run, unless it is required (`--remote-required`).

pub mod pycs;
pub mod records;
mod sealed;
pub mod wheels;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use object_store::path::Path as StorePath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
};

use crate::error::{Error, Result};

/// The environment variable with the secret that signs and verifies the remote's records.
pub const SECRET_ENV: &str = "WRAP_REMOTE_SECRET";

/// A connection to the remote cache.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    /// The URL as configured, for messages.
    pub url: String,
    /// The HMAC secret records are signed with and checked against.
    secret: Option<Vec<u8>>,
    /// Whether a failure of the remote fails the command.
    pub required: bool,
    /// Set at the first failure: the remote is not asked again in this run.
    down: AtomicBool,
    /// A failure met where it cannot be said (in the middle of a build), until it is.
    deferred: std::sync::Mutex<Option<RemoteFailure>>,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).field("signed", &self.secret.is_some()).finish()
    }
}

/// What went wrong with the remote: said as a warning, or an error when it is required.
#[derive(Debug)]
pub enum RemoteFailure {
    /// This operation failed: what and why.
    Failed(String),
    /// An earlier operation failed; this one was not tried.
    Down,
}

impl Remote {
    /// Opens `url`; the secret comes from [`SECRET_ENV`] when set. Opening contacts nothing.
    pub fn open(url: &str, required: bool) -> Result<Remote> {
        // TLS through rustls with ring, as the registry client has it (the first caller installs it).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let secret = std::env::var_os(SECRET_ENV).filter(|s| !s.is_empty()).map(|s| s.into_encoded_bytes());
        let store = store_for(url).map_err(|detail| Error::RemoteUrl { url: url.into(), detail })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Remote { url: url.into(), detail: e.to_string() })?;
        Ok(Remote {
            store,
            url: url.into(),
            secret,
            required,
            down: AtomicBool::new(false),
            deferred: std::sync::Mutex::default(),
            runtime,
        })
    }

    /// Whether records are signed and checked.
    pub fn signed(&self) -> bool {
        self.secret.is_some()
    }

    /// Whether an earlier failure put the remote out of use for this run.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }

    /// Keeps `failure` to be said later ([`Remote::take_deferred`]); a `Down` says nothing new.
    pub fn defer(&self, failure: RemoteFailure) {
        if let RemoteFailure::Failed(_) = failure {
            self.deferred.lock().expect("not poisoned").get_or_insert(failure);
        }
    }

    /// The failure kept by [`Remote::defer`], once.
    pub fn take_deferred(&self) -> Option<RemoteFailure> {
        self.deferred.lock().expect("not poisoned").take()
    }

    fn failed(&self, what: &str, path: &str, e: object_store::Error) -> RemoteFailure {
        // Operations in flight together fail together (two uploads when the server dies): the
        // first says why, the others are the remote being down, so the run warns once.
        if self.down.swap(true, Ordering::SeqCst) {
            return RemoteFailure::Down;
        }
        RemoteFailure::Failed(format!("{what} {}: {}", describe(path), deepest(&e)))
    }

    /// The object at `path`; `None` when the remote has none there.
    pub fn get(&self, path: &str) -> Result<Option<Vec<u8>>, RemoteFailure> {
        if self.is_down() {
            return Err(RemoteFailure::Down);
        }
        let location = StorePath::from(path);
        let result = self.runtime.block_on(async {
            match self.store.get(&location).await {
                Ok(got) => got.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        result.map(|b| b.map(|b| b.to_vec())).map_err(|e| self.failed("reading", path, e))
    }

    /// Whether the remote has an object at `path`.
    pub fn has(&self, path: &str) -> Result<bool, RemoteFailure> {
        if self.is_down() {
            return Err(RemoteFailure::Down);
        }
        let location = StorePath::from(path);
        match self.runtime.block_on(self.store.head(&location)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.failed("looking up", path, e)),
        }
    }

    /// Writes `bytes` at `path`; with `create_only`, an object already there is kept (a
    /// conditional put where the store has them, a plain one where it has not).
    pub fn put(&self, path: &str, bytes: Vec<u8>, create_only: bool) -> Result<(), RemoteFailure> {
        if self.is_down() {
            return Err(RemoteFailure::Down);
        }
        let location = StorePath::from(path);
        let result =
            self.runtime.block_on(async {
                let payload = PutPayload::from(bytes.clone());
                if !create_only {
                    return self.store.put(&location, payload).await.map(drop);
                }
                let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
                match self.store.put_opts(&location, payload, options).await {
                    // Another writer was first (stores answer with either): its object stands.
                    Ok(_)
                    | Err(
                        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
                    ) => Ok(()),
                    Err(
                        object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. },
                    ) => self.store.put(&location, PutPayload::from(bytes)).await.map(drop),
                    Err(e) => Err(e),
                }
            });
        result.map_err(|e| self.failed("writing", path, e))
    }

    /// Signs `bytes` with the secret, when there is one: hex HMAC-SHA256.
    fn sign(&self, bytes: &[u8]) -> Option<String> {
        use hmac::{KeyInit, Mac};
        let secret = self.secret.as_ref()?;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"wrap remote record 1\n");
        mac.update(bytes);
        Some(hex::encode(mac.finalize().into_bytes()))
    }
}

/// What the object at `path` is, for messages.
fn describe(path: &str) -> String {
    let short = |hex: &str| hex.chars().take(12).collect::<String>();
    if let Some(key) = path.strip_prefix("artifacts/").and_then(|k| k.strip_suffix(".json")) {
        format!("the record of build key {}", short(key))
    } else if let Some(hex) = path.strip_prefix("blobs/sha256/") {
        format!("blob {}", short(hex))
    } else if let Some(hex) = path.strip_prefix("pycs/") {
        format!("bytecode pack {}", short(hex))
    } else if let Some(hex) = path.strip_prefix("wheels/") {
        format!("built wheel {}", short(hex))
    } else {
        format!("`{path}`")
    }
}

/// The innermost cause's words (`Connection refused`, `Client error with status 403 …`): what
/// went wrong, without the client's retry bookkeeping, on one line.
fn deepest(e: &dyn std::error::Error) -> String {
    let mut inner = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    let words = inner.to_string();
    let words = if words.trim().is_empty() { e.to_string() } else { words };
    words.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The error's words on one line, with its causes.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let words = s.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = s.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The store `url` names, rooted at its path.
fn store_for(url: &str) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    let (scheme, rest) = url.split_once("://").ok_or("not a URL")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    let client = ClientOptions::new()
        .with_allow_http(true)
        .with_connect_timeout(Duration::from_secs(10))
        .with_timeout(Duration::from_secs(120));
    // A slow or failing remote costs seconds, not the minutes of the default retries: the build
    // goes on locally.
    let retry =
        RetryConfig { max_retries: 2, retry_timeout: Duration::from_secs(20), ..RetryConfig::default() };
    let store: Arc<dyn ObjectStore> = match scheme {
        "file" => {
            let dir = std::path::Path::new(rest);
            if !dir.is_absolute() {
                return Err("a file:// URL names an absolute directory: file:///srv/wrap-cache".into());
            }
            std::fs::create_dir_all(dir).map_err(|e| format!("`{}`: {e}", dir.display()))?;
            return object_store::local::LocalFileSystem::new_with_prefix(dir)
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
                .map_err(|e| one_line(&e));
        }
        "http" | "https" => {
            let store = object_store::http::HttpBuilder::new()
                .with_url(url.trim_end_matches('/'))
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| one_line(&e))?;
            return Ok(Arc::new(store));
        }
        "s3" => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| one_line(&e))?,
        ),
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| one_line(&e))?,
        ),
        "az" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_container_name(bucket)
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| one_line(&e))?,
        ),
        _ => {
            return Err(format!(
                "`{scheme}://` is not one of s3://, gs://, az://, https://, http://, file://"
            ));
        }
    };
    if bucket.is_empty() {
        return Err("the URL names no bucket".into());
    }
    Ok(if prefix.is_empty() {
        store
    } else {
        Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
    })
}
