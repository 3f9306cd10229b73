//! The package model of one project, from its plan, its relocated bundle and the metadata of
//! what was installed: descriptions, home page, license, the staged package root (bundle, etc,
//! docs, units) and the requirements scanned from the bundle.

use std::path::Path;

use crate::error::Result;
use crate::error::short;
use crate::package::depends;
use crate::package::layout::{self, Layout};
use crate::package::spec::{Alternative, ImageSpec, PackageSpec, describe, home_page};
use crate::plan::PlannedProject;
use crate::provenance::Metadata;
use crate::pyenv::normalize;
use crate::time::timed;

/// What the package model is made from.
pub struct Parts<'a> {
    /// The project's plan.
    pub planned: &'a PlannedProject,
    /// The package root (the bundle is at its install path below it).
    pub root: &'a Path,
    /// The relocated bundle.
    pub bundle: &'a Path,
    /// A tree holding the patched checkout's `etc/`, which is shipped.
    pub checkout: &'a Path,
    /// The installed distributions' metadata.
    pub metadata: &'a [Metadata],
    /// The project's own distribution names, normalized.
    pub names: &'a [String],
    /// The interpreter's `major.minor`.
    pub abi: &'a str,
}

/// Stages the package root and describes it.
pub fn package_spec(parts: &Parts<'_>) -> Result<PackageSpec> {
    let planned = parts.planned;
    let own = parts.metadata.iter().find(|m| parts.names.contains(&normalize(&m.name)));
    let what = format!(
        "This package bundles {} {} and its Python dependencies in a virtualenv at {}, built by wrap from {} at commit {}.",
        planned.name,
        planned.version,
        planned.install_path,
        planned.git,
        short(&planned.commit, 12)
    );
    let (summary, description) = describe(&planned.name, own, &what);
    // The project's home page, else where its source lives (when that is not this machine).
    let upstream_home = own.and_then(|m| m.home_page.as_deref()).and_then(home_page);
    let homepage = upstream_home.clone().or_else(|| planned.public_git.as_deref().and_then(home_page));
    let license = own.and_then(|m| m.license.clone());
    let run_path = planned.link_path.clone().unwrap_or_else(|| planned.install_path.clone());
    let copyright_text = copyright(planned, &summary, &what, license.as_deref(), parts.abi);
    let laid = layout::stage(&Layout {
        root: parts.root,
        project: &planned.name,
        package: &planned.package_name,
        checkout: parts.checkout,
        install_path: &planned.install_path,
        run_path: &run_path,
        services: &planned.services,
        links: &planned.links,
        units: &planned.units,
        ship_links: planned.link_path.is_none(),
        user: planned.user.as_deref(),
        summary: &summary,
        homepage: upstream_home.as_deref(),
        copyright: &copyright_text,
    })?;
    meta_copyright(planned, parts.root, &copyright_text)?;
    let mut conffiles = laid.conffiles;
    conffiles.extend(crate::package::extra::stage(parts.root, &planned.name, &planned.extra_files)?);
    conffiles.sort();
    Ok(PackageSpec {
        project: planned.name.clone(),
        name: planned.package_name.clone(),
        version: planned.version.clone(),
        upstream: planned.package_version.clone(),
        release: planned.release.clone(),
        epoch: planned.epoch,
        maintainer: planned.maintainer.clone(),
        summary,
        description,
        homepage,
        license,
        section: planned.section.clone(),
        priority: planned.priority.clone(),
        requirements: timed(&planned.name, "dependencies scanned", || {
            depends::scan(parts.bundle, parts.abi)
        })?,
        system_dependencies: planned.system_dependencies.clone(),
        rpm_system_dependencies: Some(planned.rpm_system_dependencies.clone()),
        rpm_relations: planned.rpm_relations.clone(),
        relations: planned.relations.clone(),
        install_path: planned.install_path.clone(),
        alternative: alternative(planned),
        user: planned.user.clone(),
        units: laid.units,
        enable_units: planned.enable_units,
        restart_on_upgrade: planned.restart_on_upgrade,
        conffiles,
        root: parts.root.to_path_buf(),
        mtime: planned.source_date_epoch.max(0) as u64,
        origin: origin(planned),
        lintian_overrides: planned.lintian_overrides.clone(),
        rpmlint_filters: planned.rpmlint_filters.clone(),
        image: planned.image.as_ref().map(|image| image_spec(planned, image)),
        bytecode: planned.bytecode,
        scripts: planned.scripts.clone(),
        bundle: true,
        extra_files: planned.extra_files.clone(),
    })
}

/// Side by side, the metapackage's own documentation directory, with the copyright file.
fn meta_copyright(planned: &PlannedProject, root: &Path, text: &str) -> Result<()> {
    if let Some(meta) = &planned.meta_package {
        let doc = root.join("usr/share/doc").join(meta);
        fs_err::create_dir_all(&doc)?;
        fs_err::write(doc.join("copyright"), text.replacen(&planned.package_name, meta, 1))?;
    }
    Ok(())
}

/// The image facts of `planned`: its base, the image or images it makes, labels and runtime.
fn image_spec(planned: &PlannedProject, image: &crate::plan::PlannedImage) -> ImageSpec {
    ImageSpec {
        base: image.base.clone(),
        base_name: image.base_name.clone(),
        images: if image.declared.per_service {
            let command = |s: &String| Some(format!("{}/bin/{s}", planned.install_path));
            planned.services.iter().map(|s| (Some(s.clone()), command(s))).collect()
        } else {
            vec![(None, image.command.clone())]
        },
        source: planned.public_git.clone(),
        revision: planned.commit.clone(),
        ports: image
            .declared
            .ports
            .iter()
            .map(|p| if p.contains('/') { p.clone() } else { format!("{p}/tcp") })
            .collect(),
        volumes: image.declared.volumes.clone(),
    }
}

/// The stable path as an alternative, when there is one.
fn alternative(planned: &PlannedProject) -> Option<Alternative> {
    planned.link_path.clone().map(|link| Alternative {
        name: link.trim_start_matches('/').replace('/', "-"),
        link,
        path: planned.install_path.clone(),
        priority: planned.alternative_priority,
        commands: planned.links.clone(),
    })
}

/// What went in, for changelogs.
fn origin(planned: &PlannedProject) -> String {
    let patches: Vec<&str> = planned.patches.iter().map(|p| p.source.as_str()).collect();
    format!(
        "Built by wrap {} from {} {} at commit {}{}.",
        env!("CARGO_PKG_VERSION"),
        planned.git,
        planned.git_ref,
        planned.commit,
        if patches.is_empty() { String::new() } else { format!(", with patches {}", patches.join(", ")) }
    )
}

/// The copyright file every format ships (the .deb adds where Debian keeps the license text).
fn copyright(
    planned: &PlannedProject,
    summary: &str,
    what: &str,
    license: Option<&str>,
    abi: &str,
) -> String {
    format!(
        "{package}: {summary}\n\n{what}\n\nCopyright: the authors of {name} and of each bundled Python distribution.\n\nLicense: {name} is distributed under {license}; each bundled distribution under its own\nlicense, as its metadata in {path}/lib/python{abi}/site-packages/*.dist-info states.\nThe bundled distributions are listed in {path}/.wrap/build-info.json.\n",
        package = planned.package_name,
        name = planned.name,
        license = license.unwrap_or("the terms stated in its source"),
        path = planned.install_path,
    )
}
