//! Constraints files given as https URLs: downloaded once, stored in the cache under their
//! sha256, and verified against the lock before use. And the files of a wheelhouse, streamed to
//! their place and checked against the lock's sha256.

use std::io::Read;
use std::path::PathBuf;

use crate::cache::Cache;
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// The one HTTP agent of the process, shared by every download so that connections to an
/// index are pooled and reused. It trusts the machine's certificate store (the platform
/// verifier: on Linux the system's CA bundle, `SSL_CERT_FILE`), as pip, uv and git do, so that
/// a proxy with the organization's own CA works for wrap too; and it looks each host up once
/// ([`OnceResolver`]).
fn agent() -> &'static ureq::Agent {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| {
        let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
        let config = ureq::Agent::config_builder().tls_config(tls).build();
        ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            OnceResolver::default(),
        )
    })
}

/// ureq's resolver with its answers kept, one lookup at a time. Eight downloads starting at
/// once made eight parallel lookups of one host, and a resolver that drops some of a burst
/// (glibc sends A and AAAA queries together) stalled each for its 5 s timeout, twice: 10 s
/// of a cold locked build were DNS. (ureq's resolver interface is its `unversioned` one; the
/// lock file pins the ureq it was written against.)
#[derive(Debug, Default)]
struct OnceResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    known:
        std::sync::Mutex<std::collections::HashMap<String, ureq::unversioned::resolver::ResolvedSocketAddrs>>,
}

impl ureq::unversioned::resolver::Resolver for OnceResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let key =
            format!("{}://{}", uri.scheme_str().unwrap_or(""), uri.authority().map_or("", |a| a.as_str()));
        // Held while looking up: the other threads wait for this answer instead of asking too.
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(addrs) = known.get(&key) {
            return Ok(addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        known.insert(key, addrs.clone());
        Ok(addrs)
    }
}

/// Constraints files are small; anything larger is not one.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Downloads `url` into the cache and returns its sha256.
pub fn download(cache: &Cache, url: &str) -> Result<String> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| Error::Download { url: url.into(), source };
    let response = agent().get(url).call().map_err(|e| fail(e.into()))?;
    let mut bytes = Vec::new();
    response.into_body().into_reader().take(MAX_BYTES).read_to_end(&mut bytes).map_err(|e| fail(e.into()))?;
    let sha = sha256_hex(&bytes);
    write_atomically(&cache.download_path(&sha), &bytes)?;
    Ok(sha)
}

/// Downloads `url` to `dest` (through a temporary file beside it), refusing content whose
/// sha256 is not `sha256`: nothing is left under `dest` then.
pub fn download_to(url: &str, dest: &std::path::Path, sha256: &str) -> Result<()> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| Error::Download { url: url.into(), source };
    let response = agent().get(url).call().map_err(|e| fail(e.into()))?;
    let dir = dest.parent().expect("a file in a directory");
    let tmp = crate::fs::temp_file_in(dir)?;
    let mut hashing = crate::archive::Hashing::new(tmp);
    std::io::copy(&mut response.into_body().into_reader(), &mut hashing).map_err(|e| fail(e.into()))?;
    let (tmp, now, _) = hashing.finish();
    if now != sha256 {
        return Err(Error::DownloadChanged { url: url.into(), locked: sha256.into(), now });
    }
    tmp.persist(dest).map_err(|e| Error::Io(e.error))?;
    Ok(())
}

/// The cached copy of `url` with content `sha256`, downloading it when the cache lacks it.
pub fn ensure(cache: &Cache, url: &str, sha256: &str, offline: bool) -> Result<PathBuf> {
    let path = cache.download_path(sha256);
    if path.exists() {
        crate::fs::touch(&path);
        return Ok(path);
    }
    if offline {
        return Err(Error::Download {
            url: url.into(),
            source: "not in the cache and offline mode is on".into(),
        });
    }
    let now = download(cache, url)?;
    if now != sha256 {
        return Err(Error::DownloadChanged { url: url.into(), locked: sha256.into(), now });
    }
    Ok(path)
}
