//! Versions side by side: one project's .deb or .rpm split in two. The versioned package
//! (`openstack-nova-34.0.0`) holds the bundle at its versioned install path, its documentation,
//! the stable path's alternatives and the bytecode policy; nothing in it is shared with another
//! version, so versions install together. The unversioned metapackage (`openstack-nova`, the
//! kernel's pattern) depends on exactly that version and holds what a host has once: the
//! service user, `/etc/<name>`, units, `/usr/bin` links the package ships, the manifest's files,
//! relations and the operator's script fragments. `apt install openstack-nova` installs the
//! newest; an upgrade of it brings the new version beside the old one, which stays until it is
//! removed.

use std::path::{Path, PathBuf};

use crate::artifact::Format;
use crate::error::Result;
use crate::manifest::relation::{Clause, Op};
use crate::manifest::{EnableUnits, Relation, Relations};
use crate::package::content::Content;
use crate::package::spec::PackageSpec;

/// The versioned package and the metapackage named `meta`, each with its content for `format`.
pub fn split(
    spec: &PackageSpec,
    content: &Content,
    meta: &str,
    format: Format,
) -> Result<((PackageSpec, Content), (PackageSpec, Content))> {
    let rel = |abs: &str| PathBuf::from(abs.trim_start_matches('/'));
    let own = [
        rel(&spec.install_path),
        rel(&format!("/usr/share/doc/{}", spec.name)),
        rel(&format!("/usr/share/lintian/overrides/{}", spec.name)),
    ];
    let bundle_side = |p: &Path| own.iter().any(|o| p.starts_with(o));
    let above = |p: &Path| own.iter().any(|o| o.starts_with(p) && o != p);
    let versioned = versioned(spec);
    let versioned_content = content.select(&bundle_side);
    let mut meta_spec = meta_spec(spec, meta);
    let mut meta_content = content.select(&|p: &Path| !bundle_side(p) && !above(p));
    if let Some(packager) = crate::package::packager(format) {
        meta_spec.conffiles.retain(|c| !bundle_side(&rel(c)));
        for generated in packager.generated(&meta_spec)? {
            meta_content.add(generated, format);
        }
    }
    Ok(((versioned, versioned_content), (meta_spec, meta_content)))
}

/// The versioned package: the bundle and what belongs to this version alone.
fn versioned(spec: &PackageSpec) -> PackageSpec {
    PackageSpec {
        relations: Relations::default(),
        rpm_relations: None,
        user: None,
        units: Vec::new(),
        enable_units: EnableUnits::None,
        restart_on_upgrade: false,
        conffiles: Vec::new(),
        scripts: Default::default(),
        extra_files: Vec::new(),
        ..spec.clone()
    }
}

/// The metapackage: depends on exactly this version's package, and holds the host's one copy
/// of everything shared between versions.
fn meta_spec(spec: &PackageSpec, meta: &str) -> PackageSpec {
    let epoch = spec.epoch.map(|e| format!("{e}:")).unwrap_or_default();
    let version = format!("{epoch}{}-{}", spec.upstream_version(), spec.release);
    let relation =
        Relation(vec![Clause { name: spec.name.clone(), arch: None, version: Some((Op::Eq, version)) }]);
    let description = format!(
        "{}\n\nThis metapackage depends on {} and holds the configuration, units and files shared by every installed version; versions install side by side, and removing an old one is an explicit step.",
        spec.description, spec.name
    );
    PackageSpec {
        name: meta.into(),
        description,
        requirements: Vec::new(),
        system_dependencies: vec![relation.clone()],
        rpm_system_dependencies: Some(vec![relation]),
        alternative: None,
        bundle: false,
        ..spec.clone()
    }
}
