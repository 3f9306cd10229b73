//! Constraints files given as https URLs: downloaded once, stored in the cache under their
//! sha256, and verified against the lock before use.

use std::io::Read;
use std::path::PathBuf;

use crate::cache::Cache;
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// Constraints files are small; anything larger is not one.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Downloads `url` into the cache and returns its sha256.
pub fn download(cache: &Cache, url: &str) -> Result<String> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| Error::Download { url: url.into(), source };
    let response = ureq::get(url).call().map_err(|e| fail(e.into()))?;
    let mut bytes = Vec::new();
    response.into_body().into_reader().take(MAX_BYTES).read_to_end(&mut bytes).map_err(|e| fail(e.into()))?;
    let sha = sha256_hex(&bytes);
    write_atomically(&cache.download_path(&sha), &bytes)?;
    Ok(sha)
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
