//! Constraints files given as https URLs: downloaded once, stored in the cache under their
//! sha256, and verified against the lock before use. And the files of a wheelhouse, streamed to
//! their place and checked against the lock's sha256.

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

/// Downloads `url` to `dest` (through a temporary file beside it), refusing content whose
/// sha256 is not `sha256`: nothing is left under `dest` then.
pub fn download_to(url: &str, dest: &std::path::Path, sha256: &str) -> Result<()> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| Error::Download { url: url.into(), source };
    let response = ureq::get(url).call().map_err(|e| fail(e.into()))?;
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
