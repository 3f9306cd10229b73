//! Wheels built from the sdists of a locked closure, built once for every box: before the
//! closure is installed, wrap builds the wheel of each distribution the lock has only as an
//! sdist (with the locked build requirements, and the same zip date whichever project asks)
//! and keeps it by what makes its bytes ([`key`]: the sdist's sha256, the interpreter, the
//! host's release and architecture, the installer, the locked build requirements, the compiler
//! flags) in the cache (`built/<key>/`) and, with a remote, on the remote
//! ([`crate::cache::remote::wheels`]). The closure is then installed from that wheel, its sha256
//! added to the sdist's in the hashed requirement: a runner with an empty cache downloads
//! keystone's python-ldap instead of compiling it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cache::Cache;
use crate::cache::remote::Remote;
use crate::cache::remote::wheels::{Wheel, plain_wheel_name};
use crate::error::{Error, Result};
use crate::lock::closure::{Distribution, Resolved};
use crate::venv::installer::{Backend, Request, wheel_in};

/// The date in the zip of the wheels built here (1980-01-01, the earliest a zip holds): the
/// same for every project, so the same sdist gives the same bytes whichever project built it.
const WHEEL_DATE: &str = "315532800";

/// The wheels of a closure's sdists, ready to install, and what the remote gave or failed to.
#[derive(Debug, Default)]
pub struct Prebuilt {
    /// Per distribution name: the directory holding its wheel, and the wheel's sha256.
    wheels: BTreeMap<String, (PathBuf, String)>,
    /// The distributions whose wheel came from the remote, `name==version`.
    pub fetched: Vec<String>,
    /// Why a remote wheel was refused (built here instead), one per refusal.
    pub refused: Vec<String>,
}

impl Prebuilt {
    /// The hashed requirement line of `d`: its locked files' sha256, and its built wheel's.
    pub fn requirement(&self, d: &Distribution) -> String {
        let mut line = d.hashed_requirement();
        if let Some((_, sha256)) = self.wheels.get(&d.name) {
            line.push_str(&format!(" --hash=sha256:{sha256}"));
        }
        line
    }

    /// The directories the installer finds the built wheels in.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.wheels.values().map(|(dir, _)| dir.as_path())
    }
}

/// The distributions of `locked` installed from an sdist: no wheel among their files.
fn from_sdists(locked: &Resolved) -> impl Iterator<Item = &Distribution> {
    locked.install.iter().filter(|d| !d.files.is_empty() && d.files.iter().all(|f| !f.name.ends_with(".whl")))
}

/// What the wheel built from `d`'s sdist is kept under.
pub fn key(d: &Distribution, locked: &Resolved, backend: &Backend) -> String {
    let mut hasher = Sha256::new();
    let mut field = |name: &str, value: &str| {
        hasher.update(format!("{name}={value}\n").as_bytes());
    };
    field("format", "wrap built wheel 1");
    field("distribution", &d.pin());
    for file in &d.files {
        field("sdist", &file.sha256);
    }
    field("python", &locked.python);
    field("platform", &crate::host::platform());
    field("installer", backend.name());
    for requirement in &locked.build {
        field("build", &requirement.hashed_requirement());
    }
    // What the compiler sees: the installer commands default the C flags to -g0.
    for var in ["CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS"] {
        field(var, &std::env::var(var).unwrap_or_else(|_| "(unset)".into()));
    }
    crate::digest::hex(hasher.finalize())
}

/// The sha256 of the wheel kept in `dir`, when it is there whole.
fn kept(dir: &Path) -> Option<String> {
    let record = std::fs::read_to_string(dir.join("sha256")).ok()?;
    let (sha256, name) = record.trim_end().split_once(' ')?;
    let whole = plain_wheel_name(name) && crate::lock::hash_file(&dir.join(name)).ok()? == sha256;
    whole.then(|| sha256.to_string())
}

/// Keeps `wheel` in `dir` (made at once, or not at all).
fn keep(dir: &Path, wheel: &Wheel) -> Result<()> {
    crate::fs::create_dir_atomically(dir, |tmp| -> Result<()> {
        fs_err::write(tmp.join(&wheel.name), &wheel.bytes)?;
        let sha256 = crate::digest::sha256_hex(&wheel.bytes);
        fs_err::write(tmp.join("sha256"), format!("{sha256} {}\n", wheel.name))?;
        Ok(())
    })
}

/// Whether `wheel` is a wheel of `d` (its file name starts with `d`'s name and version).
fn is_wheel_of(wheel: &Wheel, d: &Distribution) -> bool {
    let mut parts = wheel.name.split('-');
    let (name, version) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    crate::pyenv::normalize(name) == d.name && version == d.version
}

/// The wheel under `key` on `remote`: `Ok(None)` when it has none (or is down: the failure is
/// kept to be said), `Err(why)` when the one there is refused.
fn from_remote(remote: &Remote, key: &str, d: &Distribution) -> std::result::Result<Option<Wheel>, String> {
    match remote.wheel(key) {
        Ok(Ok(Some(wheel))) if is_wheel_of(&wheel, d) => Ok(Some(wheel)),
        Ok(Ok(Some(wheel))) => Err(format!("its built wheel {} is not one of {}", wheel.name, d.pin())),
        Ok(Ok(None)) => Ok(None),
        Ok(Err(why)) => Err(why),
        Err(failure) => {
            remote.defer(failure);
            Ok(None)
        }
    }
}

impl Backend {
    /// The wheels of the distributions `locked` installs from an sdist: from the cache, else
    /// from the remote, else built here from the locked sdist (and then uploaded). The
    /// installer's output goes to `log`; a remote failure is kept for the caller to say.
    pub(crate) fn prebuild(
        &self,
        request: &Request<'_>,
        locked: &Resolved,
        scratch: &Path,
        log: &fs_err::File,
    ) -> Result<Prebuilt> {
        let mut out = Prebuilt::default();
        let wheelhouse = crate::venv::wheelhouse::dir(request.cache);
        for d in from_sdists(locked) {
            let Some(source) = d.files.iter().map(|f| wheelhouse.join(&f.name)).find(|path| path.is_file())
            else {
                continue;
            };
            let key = key(d, locked, self);
            let dir = built_dir(request.cache, &key);
            if let Some(sha256) = kept(&dir) {
                crate::fs::touch(&dir);
                out.wheels.insert(d.name.clone(), (dir, sha256));
                continue;
            }
            crate::fs::remove_atomically(&dir)?;
            let remote = request.remote.filter(|r| !r.is_down());
            let (found, replace) = match remote.map(|r| from_remote(r, &key, d)) {
                Some(Ok(found)) => (found, false),
                Some(Err(why)) => {
                    out.refused.push(format!("{}: {why}", d.pin()));
                    (None, true)
                }
                None => (None, false),
            };
            let fetched = found.is_some();
            let wheel = match found {
                Some(wheel) => wheel,
                None => self.build_sdist(request, locked, scratch, d, &source, log)?,
            };
            keep(&dir, &wheel)?;
            if fetched {
                out.fetched.push(d.pin());
            } else if let Some(remote) = remote
                && let Err(failure) = remote.put_wheel(&key, &wheel, replace)
            {
                remote.defer(failure);
            }
            let sha256 = kept(&dir).ok_or_else(|| {
                Error::Io(std::io::Error::other(format!(
                    "{}: the wheel kept there does not read back",
                    dir.display()
                )))
            })?;
            out.wheels.insert(d.name.clone(), (dir, sha256));
        }
        Ok(out)
    }

    /// Builds the wheel of `d` from its locked sdist `source`, with the locked build requirements.
    fn build_sdist(
        &self,
        request: &Request<'_>,
        locked: &Resolved,
        scratch: &Path,
        d: &Distribution,
        source: &Path,
        log: &fs_err::File,
    ) -> Result<Wheel> {
        let out_dir = scratch.join(format!("sdist-{}", d.name));
        let mut cmd = self.wheel_command(request.python, &out_dir);
        self.pin_build_requirements(&mut cmd, locked, scratch, &format!("sdist-{}", d.name), &[])?;
        cmd.arg(source);
        let fixed = Request { env: vec![("SOURCE_DATE_EPOCH".into(), WHEEL_DATE.into())], ..request.clone() };
        self.run(&fixed, &mut cmd, log)?;
        let path = wheel_in(&out_dir)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        Ok(Wheel { name, bytes: fs_err::read(&path)? })
    }
}

/// Where the cache keeps the wheel built under `key`.
pub fn built_dir(cache: &Cache, key: &str) -> PathBuf {
    cache.root().join("built").join(key)
}
