//! What wrap writes, at the bottom so that every stage can name it: the package [`Format`]s and
//! the written [`Artifact`] with the files beside it (`.sha256`, sidecars). An artifact is put in
//! place by a rename of a fully written temporary file, so the output directory never holds a
//! partial file under an artifact's name. A bottom module: it imports only the error type and
//! the file helpers.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// Package formats wrap writes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Debian package.
    Deb,
    /// RPM package.
    Rpm,
    /// Relocatable tarball bundle.
    Tar,
    /// OCI container image, as an OCI image layout in one tar (an `oci-archive`).
    Oci,
}

impl Format {
    /// The lowercase name used in manifests, flags and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Rpm => "rpm",
            Self::Tar => "tar",
            Self::Oci => "oci",
        }
    }

    /// Every format, in order.
    pub const ALL: [Format; 4] = [Format::Deb, Format::Rpm, Format::Tar, Format::Oci];

    /// The format named `name` (as [`Format::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Format> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl Format {
    /// The host's architecture as this format names it (`amd64` in a .deb, `x86_64` in an
    /// .rpm and a tarball's name, GOARCH in an OCI image: `amd64`).
    pub fn host_arch(self) -> &'static str {
        let arch = std::env::consts::ARCH;
        match (self, arch) {
            (Format::Deb | Format::Oci, "x86_64") => "amd64",
            (Format::Deb | Format::Oci, "aarch64") => "arm64",
            (Format::Deb | Format::Oci, "x86") => "i386",
            (Format::Deb, "arm") => "armhf",
            (Format::Oci, "arm") => "arm",
            (Format::Deb, "powerpc64") => "ppc64el",
            (Format::Oci, "powerpc64") => "ppc64le",
            (Format::Rpm, "x86") => "i686",
            (Format::Rpm, "arm") => "armv7hl",
            (Format::Rpm, "powerpc64") => "ppc64le",
            _ => arch,
        }
    }

    /// The artifact's file name: `<package>_<upstream>-<release>_<arch>.deb` (no epoch, as dpkg
    /// names it), `<package>-<upstream>-<release>.<arch>.rpm`, or
    /// `<package>-<version>-<release>.linux-<arch>.tar.gz` (the PEP 440 version), or
    /// `<package>-<version>-<release>.<arch>.oci.tar` (arch as OCI names it: `amd64`).
    pub fn file_name(self, package: &str, version: &str, upstream: &str, release: &str) -> String {
        let arch = self.host_arch();
        match self {
            Format::Deb => format!("{package}_{upstream}-{release}_{arch}.deb"),
            Format::Rpm => format!("{package}-{upstream}-{release}.{arch}.rpm"),
            Format::Tar => format!("{package}-{version}-{release}.linux-{arch}.tar.gz"),
            Format::Oci => format!("{package}-{version}-{release}.{arch}.oci.tar"),
        }
    }
}

/// A written artifact.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Artifact {
    /// Project it was built from.
    pub project: String,
    /// Its format.
    pub format: Format,
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Hex sha256.
    pub sha256: String,
    /// It came from the cache (its build key was unchanged), not from a build.
    pub reused: bool,
    /// Files written beside it, by suffix (`.rpmlint.toml`), besides its `.sha256`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<String>,
}

/// Puts a fully written (and flushed) temporary file in place as `path`, writes its `.sha256`
/// beside it, and describes it. Until this rename, the output directory holds no partial file
/// under an artifact's name.
pub fn place(
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    sha256: String,
    size: u64,
    project: &str,
    format: Format,
) -> Result<Artifact> {
    let fail = |cause| Error::Write { path: path.clone(), cause };
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(&path).map_err(|e| fail(e.error))?;
    let artifact =
        Artifact { project: project.into(), format, path, size, sha256, reused: false, sidecars: Vec::new() };
    // Never an artifact without its checksum.
    if let Err(e) = write_checksum(&artifact.path, &artifact.sha256) {
        remove(&artifact);
        return Err(e);
    }
    Ok(artifact)
}

/// Removes an artifact from the output directory, with its `.sha256` and its sidecars; what is
/// already gone is fine.
pub fn remove(artifact: &Artifact) {
    let mut paths = vec![artifact.path.clone(), checksum_path(&artifact.path)];
    paths.extend(artifact.sidecars.iter().map(|suffix| beside(&artifact.path, suffix)));
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}

/// Runs `write`, the writing of the artifact at `path`; an I/O error that names no file (a
/// full disk under a temporary file or a compressor) is reported as writing `path`.
pub fn writing<T>(path: &Path, write: impl FnOnce() -> Result<T>) -> Result<T> {
    write().map_err(|e| match e {
        Error::Io(cause) => Error::Write { path: path.into(), cause },
        other => other,
    })
}

/// Writes `<artifact>.sha256` in `sha256sum` format.
pub fn write_checksum(path: &Path, sha256: &str) -> Result<()> {
    write_atomically(&checksum_path(path), checksum_line(path, sha256).as_bytes())
}

/// Where the `.sha256` file of the artifact at `path` is.
pub fn checksum_path(path: &Path) -> PathBuf {
    beside(path, ".sha256")
}

/// The file beside the artifact at `path` whose name is the artifact's plus `suffix`
/// (`.sha256`, `.rpmlint.toml`).
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// The `sha256sum` line of the artifact at `path`.
pub fn checksum_line(path: &Path, sha256: &str) -> String {
    format!("{sha256}  {}\n", path.file_name().unwrap_or_default().to_string_lossy())
}
