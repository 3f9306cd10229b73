//! The relocatable tarball: `<package>-<version>-<release>.linux-<arch>.tar.gz` holding one
//! directory `<package>-<version>/` with the bundle, which runs from wherever it is unpacked.
//! A tree, not a package: no [`crate::package::Packager`], the same [`crate::package::emit`].

use std::path::Path;

use crate::archive::append_tree;
use crate::artifact::{Artifact, Format};
use crate::compress::gzip;
use crate::error::Result;
use crate::plan::PlannedProject;

/// Writes the tarball of `tree` into `out_dir` (gzip members from and into `members`), put in
/// place once `gate` allows it.
pub fn write(
    tree: &Path,
    project: &PlannedProject,
    out_dir: &Path,
    members: Option<&crate::compress::Members>,
    gate: Option<crate::package::Gate<'_>>,
) -> Result<Artifact> {
    let file_name = &project.files[&Format::Tar];
    crate::package::emit(out_dir, file_name, &project.name, Format::Tar, |out| {
        let mut builder = tar::Builder::new(gzip(out).with_members(members.cloned()));
        // Side by side, the tarball is one artifact whatever the version: the unversioned name.
        let name = project.meta_package.as_deref().unwrap_or(&project.package_name);
        let prefix = format!("{name}-{}", project.version);
        append_tree(&mut builder, tree, &prefix, project.source_date_epoch.max(0) as u64, false, &|_| false)?;
        builder.into_inner()?.finish()?;
        gate.map_or(Ok(()), |gate| gate.pass())
    })
}
