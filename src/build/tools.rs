//! The tools a build runs with, and what of them goes into every build key: wrap's own build
//! (its version and a digest of its executable, cached by path, size and time so that it is
//! read once per reinstall, and a reinstall of the same build keeps the cache), the interpreter
//! and the installer.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};

use crate::cache::Cache;
use crate::error::Result;
use crate::venv::installer::Backend;
use crate::venv::python::Interpreter;

/// The interpreter and installer every project of a build uses.
pub struct Tools {
    /// The interpreter.
    pub python: Interpreter,
    /// The installer backend.
    pub backend: Backend,
    /// Its version.
    pub installer_version: String,
    /// wrap's own build: `<version> <digest of the executable>`.
    pub wrap: String,
    /// The key that signs .rpm packages.
    pub signer: Option<crate::signing::Signer>,
    /// The cache's compressed gzip members, for this build of wrap.
    pub members: crate::compress::Members,
    /// The shared remote cache, for bytecode packs (artifacts are looked up before a build).
    pub remote: Option<std::sync::Arc<crate::cache::remote::Remote>>,
}

impl Tools {
    /// The build-key inputs of the tools, by name.
    pub fn key_inputs(&self) -> BTreeMap<String, String> {
        let python = format!("{} {} at {}", self.python.version, self.python.abi, self.python.path.display());
        BTreeMap::from([
            ("wrap".to_string(), self.wrap.clone()),
            ("python".to_string(), python),
            ("installer".to_string(), format!("{} {}", self.backend.name(), self.installer_version)),
        ])
    }
}

/// What the cache remembers of an executable it hashed.
#[derive(Serialize, Deserialize, PartialEq)]
struct Seen {
    path: String,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
    sha256: String,
}

/// wrap's identity in build keys: its version and the sha256 of the running executable's bytes.
/// The digest is kept in the cache under the executable's path, size and time, so it is read
/// once per install; two installs of the same build have the same identity.
pub fn wrap_identity(cache: &Cache) -> Result<String> {
    let exe = std::env::current_exe()?;
    let meta = fs_err::metadata(&exe)?;
    let path = exe.display().to_string();
    let record = cache
        .root()
        .join("tools")
        .join(format!("wrap-{}.json", &crate::digest::sha256_hex(path.as_bytes())[..16]));
    let seen = |sha256: String| Seen {
        path: path.clone(),
        size: meta.len(),
        mtime: meta.mtime(),
        mtime_nsec: meta.mtime_nsec(),
        sha256,
    };
    let cached = std::fs::read(&record).ok().and_then(|b| serde_json::from_slice::<Seen>(&b).ok());
    let sha256 = match cached {
        Some(s) if s == seen(s.sha256.clone()) => s.sha256,
        _ => {
            let mut hashing = crate::archive::Hashing::new(std::io::sink());
            std::io::copy(&mut fs_err::File::open(&exe)?, &mut hashing)?;
            let (_, sha256, _) = hashing.finish();
            let bytes = serde_json::to_vec(&seen(sha256.clone())).expect("serializes");
            // A read-only cache only costs reading the executable again next time.
            let _ = crate::fs::write_atomically(&record, &bytes);
            sha256
        }
    };
    Ok(format!("{} {}", env!("CARGO_PKG_VERSION"), &sha256[..16]))
}
