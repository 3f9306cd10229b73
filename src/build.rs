//! One project's build, after its sources are fetched: the staged virtualenv, then per format a
//! relocated tree and an artifact. The tarball gets the relocatable tree; .deb (and .rpm) get a
//! package root with the bundle at its install path, staged once and shared.

use std::path::{Path, PathBuf};

use crate::artifact::{Artifact, writing};
use crate::cache::Cache;
use crate::error::Result;
use crate::lock::{Lock, LockedProject};
use crate::manifest::{Format, Manifest, Project};
use crate::package::depends;
use crate::package::layout::{self, Layout, bundle_dir};
use crate::package::spec::{Alternative, PackageSpec, describe, home_page};
use crate::package::{deb, rpm, tarball};
use crate::plan::PlannedProject;
use crate::provenance::{self, BuildInfo};
use crate::report::{Event, Reporter, Stage};
use crate::time::timed;
use crate::venv;
use crate::venv::build::{Staged, distribution_names, normalize};
use crate::venv::installer::Backend;
use crate::venv::python::Interpreter;
use crate::venv::relocate::{Origin, Target, compile, relocate};
use crate::venv::verify::verify;

/// The interpreter and installer every project of a build uses.
pub struct Tools {
    /// The interpreter.
    pub python: Interpreter,
    /// The installer backend.
    pub backend: Backend,
    /// Its version.
    pub installer_version: String,
}

impl Tools {
    /// What of the tools can change an artifact: wrap itself (its version, and the executable's
    /// size and time, so that a rebuilt wrap does not reuse its predecessor's artifacts), the
    /// interpreter and the installer.
    pub fn fingerprint(&self) -> String {
        let exe = std::env::current_exe()
            .and_then(std::fs::metadata)
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                format!("{} {}.{}", m.len(), m.mtime(), m.mtime_nsec())
            })
            .unwrap_or_default();
        format!(
            "wrap {} ({exe}); python {} {} at {}; {} {}",
            env!("CARGO_PKG_VERSION"),
            self.python.version,
            self.python.abi,
            self.python.path.display(),
            self.backend.name(),
            self.installer_version
        )
    }
}

/// The build key of one project's artifact in one format: its plan key, the tools, the format.
pub fn build_key(plan_key: &str, tools_fingerprint: &str, format: Format) -> String {
    crate::digest::sha256_hex(format!("{plan_key}\n{tools_fingerprint}\n{}", format.as_str()).as_bytes())
}

/// What one project's build needs.
pub struct Job<'a> {
    /// The manifest.
    pub manifest: &'a Manifest,
    /// The lock.
    pub lock: &'a Lock,
    /// The project.
    pub project: &'a Project,
    /// Its pin.
    pub locked: &'a LockedProject,
    /// Its plan.
    pub planned: &'a PlannedProject,
    /// Its patched checkout.
    pub checkout: &'a crate::source::Checkout,
    /// Constraints files.
    pub constraints: &'a [PathBuf],
    /// Wheel directories.
    pub find_links: &'a [PathBuf],
    /// No network.
    pub offline: bool,
    /// Formats to write, each once.
    pub formats: &'a [Format],
    /// Where artifacts go.
    pub out_dir: &'a Path,
    /// Bundle files to leave out (the settings' and the project's `exclude` patterns).
    pub exclude: globset::GlobSet,
}

/// The `exclude` patterns as one matcher: `*` within one path component, `**` across them,
/// as in .gitignore. The manifest checked each pattern when it was read.
pub fn exclude_set(patterns: &[&str]) -> Result<globset::GlobSet> {
    let mut set = globset::GlobSetBuilder::new();
    for pattern in patterns {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| crate::error::Error::Io(std::io::Error::other(e.to_string())))?;
        set.add(glob);
    }
    set.build().map_err(|e| crate::error::Error::Io(std::io::Error::other(e.to_string())))
}

/// Builds `job`'s virtualenv and writes its artifacts, adding each to `placed` as soon as it is
/// in the output directory (so that a caller can remove them when a later step fails).
pub fn build(
    cache: &Cache,
    tools: &Tools,
    job: &Job<'_>,
    reporter: &dyn Reporter,
    placed: &mut Vec<Artifact>,
) -> Result<()> {
    let planned = job.planned;
    let project = job.project;
    reporter.stage(&planned.name, Stage::Venv);
    reporter.status(
        "Building",
        format!(
            "{} {} (Python {}, {} {})",
            planned.name,
            planned.version,
            tools.python.version,
            tools.backend.name(),
            tools.installer_version
        ),
    );
    let mut staged = venv::build::build(
        cache,
        &tools.python,
        &tools.backend,
        &venv::build::Input {
            project: &planned.name,
            checkout: job.checkout,
            extras: &project.extras,
            pip_dependencies: &project.pip_dependencies,
            constraints: job.constraints,
            find_links: job.find_links,
            offline: job.offline,
            python_version: &job.locked.version,
            prompt: &planned.package_name,
            source_date_epoch: planned.source_date_epoch,
        },
    )?;
    let git = project.git.public_url();
    let origin = Origin { git, git_ref: &planned.git_ref, commit: &planned.commit };
    // The package root and its model, made once and shared by the package formats.
    let mut package: Option<PackageSpec> = None;
    // Relocated trees to make: one for the tarball, one shared by .deb and .rpm.
    staged.expect_relocations(
        usize::from(job.formats.contains(&Format::Tar))
            + usize::from(job.formats.iter().any(|f| matches!(f, Format::Deb | Format::Rpm))),
    );
    // The project's own distribution names, from its metadata: whose entry points to verify.
    let names = distribution_names(&staged.src(), &planned.name);
    let mut verified = false;
    let mut verify_once = |tree: &Path| -> Result<()> {
        if !std::mem::replace(&mut verified, true) {
            reporter.stage(&planned.name, Stage::Verify);
            let report = timed(&planned.name, "verified", || {
                verify(&planned.name, tree, &names, &project.verify_skip, &tools.backend)
            })?;
            reporter.report(&Event::Verified { project: &planned.name, verified: &report });
        }
        Ok(())
    };
    for format in job.formats {
        reporter.status("Packaging", format!("{} as {}", planned.name, format.as_str()));
        let artifact = match format {
            Format::Tar => {
                reporter.stage(&planned.name, Stage::Relocate);
                let tree = staged.root().join("tar");
                relocate(
                    &planned.name,
                    staged.root(),
                    &tree,
                    Target::Relocatable,
                    &tools.python,
                    &origin,
                    &job.exclude,
                )?;
                verify_once(&tree)?;
                staged.relocated();
                compile(&planned.name, &tree, Target::Relocatable, &tools.python, cache)?;
                provenance::write(&tree, &build_info(job, tools, &tree)?, planned.source_date_epoch)?;
                reporter.stage(&planned.name, Stage::Package(*format));
                let path = job.out_dir.join(tarball::file_name(planned));
                writing(&path, || tarball::write(&tree, planned, job.out_dir))?
            }
            Format::Deb | Format::Rpm => {
                if package.is_none() {
                    reporter.stage(&planned.name, Stage::Relocate);
                    let spec = package_spec(job, tools, &staged, &origin, &names)?;
                    verify_once(&bundle_dir(&spec.root, &planned.install_path))?;
                    package = Some(spec);
                    staged.relocated();
                }
                let spec = package.as_ref().expect("made above");
                // The .rpm ships bytecode; the .deb leaves it out (its postinst compiles it, as
                // Debian's Python policy asks), so it is compiled only for the .rpm (formats
                // are distinct: once at most).
                if *format == Format::Rpm {
                    let bundle = bundle_dir(&spec.root, &planned.install_path);
                    compile(
                        &planned.name,
                        &bundle,
                        Target::Fixed(&planned.install_path),
                        &tools.python,
                        cache,
                    )?;
                }
                reporter.stage(&planned.name, Stage::Package(*format));
                let compression = job.manifest.settings.compression;
                timed(&planned.name, &format!("wrote the {}", format.as_str()), || {
                    if *format == Format::Deb {
                        let (depends, unresolved) = deb::depends(spec);
                        for problem in unresolved {
                            reporter.warn(format!("project `{}`: {problem}", planned.name));
                        }
                        let path = job.out_dir.join(deb::file_name(spec));
                        writing(&path, || deb::write(spec, &depends, compression, job.out_dir))
                    } else {
                        let path = job.out_dir.join(rpm::file_name(spec));
                        writing(&path, || {
                            rpm::write(spec, spec.rpm_system_dependencies(), compression, job.out_dir)
                        })
                    }
                })?
            }
        };
        reporter.status("Finished", format!("{} -> {}", planned.name, artifact.path.display()));
        placed.push(artifact);
    }
    Ok(())
}

fn build_info(job: &Job<'_>, tools: &Tools, tree: &Path) -> Result<BuildInfo> {
    let planned = job.planned;
    Ok(BuildInfo {
        wrap_version: env!("CARGO_PKG_VERSION"),
        manifest_sha256: job.manifest.sha256.clone(),
        project: planned.name.clone(),
        package: format!("{} {}-{}", planned.package_name, planned.version, planned.release),
        version: planned.version.clone(),
        git: planned.git.clone(),
        git_ref: planned.git_ref.clone(),
        commit: planned.commit.clone(),
        patches: planned.patches.clone(),
        constraints: job.lock.constraints.clone(),
        python_version: tools.python.version.clone(),
        python_abi: tools.python.abi.clone(),
        python: tools.python.path.display().to_string(),
        installer: tools.backend.name().into(),
        installer_version: tools.installer_version.clone(),
        distributions: provenance::installed(tree)?,
    })
}

/// Stages the package root (the bundle at its install path, etc, docs, units) and describes it.
/// `names`: the project's own distribution names (normalized), to find its metadata.
fn package_spec(
    job: &Job<'_>,
    tools: &Tools,
    staged: &Staged,
    origin: &Origin<'_>,
    names: &[String],
) -> Result<PackageSpec> {
    let (planned, project, settings) = (job.planned, job.project, &job.manifest.settings);
    let root = staged.root().join("package");
    let bundle = bundle_dir(&root, &planned.install_path);
    if !bundle.exists() {
        relocate(
            &planned.name,
            staged.root(),
            &bundle,
            Target::Fixed(&planned.install_path),
            &tools.python,
            origin,
            &job.exclude,
        )?;
        timed(&planned.name, "provenance written", || {
            provenance::write(&bundle, &build_info(job, tools, &bundle)?, planned.source_date_epoch)
        })?;
    }
    let metadata = provenance::installed_metadata(&bundle)?;
    let own = metadata.iter().find(|m| names.contains(&normalize(&m.name)));
    let what = format!(
        "This package bundles {} {} and its Python dependencies in a virtualenv at {}, built by wrap from {} at commit {}.",
        planned.name,
        planned.version,
        planned.install_path,
        planned.git,
        &planned.commit[..12]
    );
    let (summary, description) = describe(&planned.name, own, &what);
    // The project's home page, else where its source lives (when that is not this machine).
    let upstream_home = own.and_then(|m| m.home_page.as_deref()).and_then(home_page);
    let homepage = upstream_home.clone().or_else(|| origin.git.and_then(home_page));
    let alternative = planned.link_path.clone().map(|link| Alternative {
        name: link.trim_start_matches('/').replace('/', "-"),
        link,
        path: planned.install_path.clone(),
        priority: planned.alternative_priority,
    });
    let patches: Vec<&str> = planned.patches.iter().map(|p| p.source.as_str()).collect();
    let origin_text = format!(
        "Built by wrap {} from {} {} at commit {}{}.",
        env!("CARGO_PKG_VERSION"),
        planned.git,
        planned.git_ref,
        planned.commit,
        if patches.is_empty() { String::new() } else { format!(", with patches {}", patches.join(", ")) }
    );
    let license = own.and_then(|m| m.license.clone());
    let common = license.as_deref().and_then(common_license).map_or(String::new(), |(name, file)| {
        format!("\nOn Debian systems, the complete text of the {name} can be found in\n/usr/share/common-licenses/{file}.\n")
    });
    let copyright = format!(
        "{package}: {summary}\n\n{what}\n\nCopyright: the authors of {name} and of each bundled Python distribution.\n\nLicense: {name} is distributed under {license}; each bundled distribution under its own\nlicense, as its metadata in {path}/lib/python{abi}/site-packages/*.dist-info states.\nThe bundled distributions are listed in {path}/.wrap/build-info.json.\n{common}",
        package = planned.package_name,
        name = planned.name,
        license = license.as_deref().unwrap_or("the terms stated in its source"),
        path = planned.install_path,
        abi = tools.python.abi,
    );
    let run_path = planned.link_path.clone().unwrap_or_else(|| planned.install_path.clone());
    let laid = layout::stage(&Layout {
        root: &root,
        project: &planned.name,
        package: &planned.package_name,
        checkout: &staged.src(),
        install_path: &planned.install_path,
        run_path: &run_path,
        services: &project.services,
        user: project.user.as_deref(),
        summary: &summary,
        homepage: upstream_home.as_deref(),
        copyright: &copyright,
    })?;
    Ok(PackageSpec {
        name: planned.package_name.clone(),
        version: planned.version.clone(),
        upstream: planned.package_version.clone(),
        release: planned.release.clone(),
        epoch: planned.epoch,
        maintainer: settings.maintainer.clone().unwrap_or_else(|| DEFAULT_MAINTAINER.into()),
        summary,
        description,
        homepage,
        license,
        section: settings.section.clone(),
        priority: settings.priority.clone(),
        requirements: timed(&planned.name, "dependencies scanned", || {
            depends::scan(&bundle, &tools.python.abi)
        })?,
        system_dependencies: project.system_dependencies.clone(),
        rpm_system_dependencies: project.rpm_system_dependencies.clone(),
        relations: project.relations.clone(),
        install_path: planned.install_path.clone(),
        alternative,
        user: project.user.clone(),
        units: laid.units,
        conffiles: laid.conffiles,
        root,
        mtime: planned.source_date_epoch.max(0) as u64,
        origin: origin_text,
        lintian_overrides: settings
            .lintian_overrides
            .iter()
            .chain(&project.lintian_overrides)
            .cloned()
            .collect(),
        rpmlint_filters: settings.rpmlint_filters.iter().chain(&project.rpmlint_filters).cloned().collect(),
    })
}

/// The name and /usr/share/common-licenses file of a license Debian ships the text of.
fn common_license(license: &str) -> Option<(&'static str, &'static str)> {
    let l = license.trim();
    let table: [(&[&str], &str, &str); 9] = [
        (
            &["Apache-2.0", "Apache 2.0", "Apache License 2.0", "Apache License, Version 2.0", "ASL 2.0"],
            "Apache License 2.0",
            "Apache-2.0",
        ),
        (
            &["GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPLv2", "GPLv2+"],
            "GNU General Public License version 2",
            "GPL-2",
        ),
        (
            &["GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later", "GPLv3", "GPLv3+"],
            "GNU General Public License version 3",
            "GPL-3",
        ),
        (
            &["LGPL-2.1", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPLv2.1", "LGPLv2+"],
            "GNU Lesser General Public License version 2.1",
            "LGPL-2.1",
        ),
        (
            &["LGPL-3.0", "LGPL-3.0-only", "LGPL-3.0-or-later", "LGPLv3", "LGPLv3+"],
            "GNU Lesser General Public License version 3",
            "LGPL-3",
        ),
        (&["MPL-2.0"], "Mozilla Public License 2.0", "MPL-2.0"),
        (&["CC0-1.0"], "CC0 1.0 Universal license", "CC0-1.0"),
        (&["Artistic-1.0", "Artistic"], "Artistic License", "Artistic"),
        (&["BSD-3-Clause", "BSD"], "BSD License", "BSD"),
    ];
    table
        .iter()
        .find(|(names, _, _)| names.iter().any(|n| n.eq_ignore_ascii_case(l)))
        .map(|(_, name, file)| (*name, *file))
}

/// Maintainer when the manifest names none.
pub const DEFAULT_MAINTAINER: &str = "wrap <wrap@localhost>";
