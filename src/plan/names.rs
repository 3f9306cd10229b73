//! A project's package names and paths for one version: the package name, install path and
//! stable path rendered and checked, and, for versions side by side, the versioned package's
//! name and the unversioned metapackage's (the kernel's pattern: `openstack-nova` depends on
//! `openstack-nova-34.0.0`).

use std::collections::BTreeMap;

use crate::artifact::Format;
use crate::error::ManifestError;
use crate::manifest::{Project, Settings, check_install_path, check_package_name};

/// What a project is packaged as, at one version.
pub struct Names {
    /// The package that holds the bundle (versioned when side by side).
    pub package_name: String,
    /// The unversioned metapackage, when versions install side by side.
    pub meta_package: Option<String>,
    /// Where the bundle goes.
    pub install_path: String,
    /// The stable path that follows the newest installed version.
    pub link_path: Option<String>,
}

/// The names and paths of `project` at `version`. Side by side (`side_by_side`, by default when
/// `install_path` holds `{version}` and `package_name` does not), the package name gains the
/// version and the rendered name goes to the metapackage.
pub fn names(project: &Project, settings: &Settings, version: &str) -> Result<Names, ManifestError> {
    let name_template = project.package_name_template(settings);
    let path_template = project.install_path_template(settings);
    let rendered = name_template.render(&project.name, version);
    check_package_name(&project.name, &rendered)?;
    let install_path = path_template.render(&project.name, version);
    check_install_path(&project.name, "install_path", &install_path)?;
    let link_path = project.link_path(settings, version);
    if let Some(link) = &link_path {
        super::check_link_path(&project.name, link, &install_path)?;
    }
    let possible = path_template.has_version() && !name_template.has_version();
    let side_by_side = match project.side_by_side.or(settings.side_by_side) {
        Some(true) if !possible => {
            return Err(ManifestError::InvalidInstallPath {
                project: project.name.clone(),
                key: "install_path",
                path: install_path,
                reason: "cannot hold versions side by side (`side_by_side = true`): it needs `{version}` in `install_path` and not in `package_name`".into(),
            });
        }
        Some(chosen) => chosen,
        None => possible,
    };
    if !side_by_side {
        return Ok(Names { package_name: rendered, meta_package: None, install_path, link_path });
    }
    let package_name = format!("{rendered}-{}", version.to_ascii_lowercase());
    check_package_name(&project.name, &package_name)?;
    Ok(Names { package_name, meta_package: Some(rendered), install_path, link_path })
}

/// The artifacts' file names per format (`version`: the version, the package version and the
/// release): the package's, and side by side, the metapackage's for the .deb and the .rpm. The
/// tarball and the image are one artifact whatever the version: they take the unversioned name.
pub fn file_names(
    package_name: &str,
    meta_package: Option<&str>,
    formats: &[Format],
    [version, upstream, release]: [&str; 3],
) -> (BTreeMap<Format, String>, BTreeMap<Format, String>) {
    let name_of = |f: &Format| match f {
        Format::Tar | Format::Oci => meta_package.unwrap_or(package_name),
        Format::Deb | Format::Rpm => package_name,
    };
    let files = formats.iter().map(|f| (*f, f.file_name(name_of(f), version, upstream, release))).collect();
    let meta_files = match meta_package {
        Some(meta) => formats
            .iter()
            .filter(|f| matches!(f, Format::Deb | Format::Rpm))
            .map(|f| (*f, f.file_name(meta, version, upstream, release)))
            .collect(),
        None => BTreeMap::new(),
    };
    (files, meta_files)
}
