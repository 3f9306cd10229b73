//! The relocatable tarball: `<package>-<version>-<release>.linux-<arch>.tar.gz` holding one
//! directory `<package>-<version>/` with the bundle, which runs from wherever it is unpacked.

use std::io::Write;
use std::path::Path;

use crate::archive::{Hashing, append_tree, gzip};
use crate::artifact::{Artifact, place};
use crate::error::Result;
use crate::fs::temp_file_in;
use crate::manifest::Format;
use crate::package::host_arch;
use crate::plan::PlannedProject;

/// The tarball's file name.
pub fn file_name(project: &PlannedProject) -> String {
    format!("{}-{}-{}.linux-{}.tar.gz", project.package_name, project.version, project.release, host_arch())
}

/// Writes the tarball of `tree` into `out_dir`.
pub fn write(tree: &Path, project: &PlannedProject, out_dir: &Path) -> Result<Artifact> {
    fs_err::create_dir_all(out_dir)?;
    let path = out_dir.join(file_name(project));
    let tmp = temp_file_in(out_dir)?;
    let mut builder = tar::Builder::new(gzip(Hashing::new(std::io::BufWriter::new(tmp.as_file()))));
    let prefix = format!("{}-{}", project.package_name, project.version);
    append_tree(&mut builder, tree, &prefix, project.source_date_epoch.max(0) as u64, false, &|_| false)?;
    let (mut out, sha256, size) = builder.into_inner()?.finish()?.finish();
    out.flush()?;
    drop(out);
    place(tmp, path, sha256, size, &project.name, Format::Tar)
}
