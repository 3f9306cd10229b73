//! Packages: one model ([`spec::PackageSpec`]), one content list ([`content::Content`]) and one
//! [`Packager`] interface that every format's writer implements (deb.rs, rpm/, oci.rs); the
//! relocatable tarball (tarball.rs) writes a tree as it is. Writers stream into the writer they
//! are given; [`write`] does the temporary file, the rename, the checksum and the sidecars, once
//! for every format. Adding a format means adding one writer file.

pub mod content;
pub mod deb;
pub mod depends;
pub mod extra;
pub mod inspect;
mod inspect_oci;
pub mod layout;
mod members;
pub mod meta;
pub mod oci;
pub mod rpm;
pub mod script;
pub mod spec;
mod systemd;
pub mod tarball;

use std::io::Write;
use std::path::Path;

use crate::archive::Hashing;
use crate::artifact::{Artifact, Format, beside, place, writing};
use crate::compress::Compression;
use crate::error::Result;
use crate::fs::{temp_file_in, write_atomically};
use crate::signing::Signer;
use content::{Content, Generated};
use spec::PackageSpec;

/// How a package is written: its payload's compression, and the key that signs it, if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// The payload's compression.
    pub compression: Compression,
    /// The signing key (formats that sign themselves: the .rpm).
    pub signer: Option<&'a Signer>,
    /// Compressed gzip members kept between builds.
    pub members: Option<&'a crate::compress::Members>,
    /// Asked once the artifact is written, before it is put in place: an error leaves nothing
    /// (the bundle's verification, which runs while the packages are written).
    pub gate: Option<Gate<'a>>,
}

/// What a written artifact waits for before it is put in place: an error leaves nothing.
#[derive(Clone, Copy)]
pub struct Gate<'a>(pub &'a (dyn Fn() -> Result<()> + Sync));

impl Gate<'_> {
    /// Waits until the artifact may be put in place, or why it may not.
    pub fn pass(&self) -> Result<()> {
        (self.0)()
    }
}

impl std::fmt::Debug for Gate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// A package format's writer.
pub trait Packager: Sync {
    /// The format it writes.
    fn format(&self) -> Format;

    /// Entries only this format ships, made in memory (a changelog, lintian overrides).
    fn generated(&self, _spec: &PackageSpec) -> Result<Vec<Generated>> {
        Ok(Vec::new())
    }

    /// Writes the package of `spec` holding `content`'s entries for this format, as `options`
    /// say, into `out`; `scratch` is a directory for temporary files.
    /// Returns warnings (a library no package on this machine provides).
    fn write(
        &self,
        spec: &PackageSpec,
        content: &Content,
        options: &Options,
        scratch: &Path,
        out: &mut dyn Write,
    ) -> Result<Vec<String>>;

    /// Files kept beside the artifact, by suffix (`.rpmlint.toml`), with their bytes.
    fn sidecars(&self, _spec: &PackageSpec) -> Vec<(&'static str, Vec<u8>)> {
        Vec::new()
    }
}

/// The packager of `format` (the tarball has none: it is a tree, not a package).
pub fn packager(format: Format) -> Option<&'static dyn Packager> {
    match format {
        Format::Deb => Some(&deb::Deb),
        Format::Rpm => Some(&rpm::Rpm),
        Format::Oci => Some(&oci::Oci),
        Format::Tar => None,
    }
}

/// The content list of `spec`'s staged root with every packager's generated entries, each
/// limited to its format.
pub fn content(spec: &PackageSpec, formats: &[Format]) -> Result<Content> {
    let mut content = Content::from_tree(&spec.root, &|_| false)?;
    for packager in formats.iter().filter_map(|f| packager(*f)) {
        for generated in packager.generated(spec)? {
            content.add(generated, packager.format());
        }
    }
    extra::apply(&mut content, &spec.extra_files);
    Ok(content)
}

/// Writes `spec`'s package with `packager` as `file_name` in `out_dir`; returns the artifact and
/// the packager's warnings.
pub fn write(
    packager: &dyn Packager,
    spec: &PackageSpec,
    content: &Content,
    options: &Options,
    file_name: &str,
    out_dir: &Path,
) -> Result<(Artifact, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut artifact = emit(out_dir, file_name, &spec.project, packager.format(), |out| {
        warnings = packager.write(spec, content, options, out_dir, out)?;
        options.gate.map_or(Ok(()), |gate| gate.pass())
    })?;
    for (suffix, bytes) in packager.sidecars(spec) {
        if let Err(e) = write_atomically(&beside(&artifact.path, suffix), &bytes) {
            crate::artifact::remove(&artifact);
            return Err(e);
        }
        artifact.sidecars.push(suffix.into());
    }
    Ok((artifact, warnings))
}

/// Runs `write` on a temporary file in `out_dir` (counting and hashing what it writes), then
/// puts the file in place as `file_name` with its `.sha256`: never a partial file under an
/// artifact's name. An I/O error that names no file (a full disk) is reported as writing it.
pub fn emit(
    out_dir: &Path,
    file_name: &str,
    project: &str,
    format: Format,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<Artifact> {
    let path = out_dir.join(file_name);
    writing(&path, || {
        fs_err::create_dir_all(out_dir)?;
        let tmp = temp_file_in(out_dir)?;
        let mut out = Hashing::new(std::io::BufWriter::new(tmp.as_file()));
        write(&mut out)?;
        let (mut writer, sha256, size) = out.finish();
        writer.flush()?;
        drop(writer);
        place(tmp, path.clone(), sha256, size, project, format)
    })
}
