//! Manifest + lock → [`BuildPlan`]: every decision of a build made before anything is built —
//! which projects, which commit, version, package name and metadata, install and stable path,
//! interpreter, installer, formats with their compression and file names, and the inputs of
//! each project's build key ([`key`]). Pure: no disk, no network; the callers pass in what they
//! read (host format, environment, where uv is). The stages after it read the plan, never the
//! manifest; `wrap plan --message-format json` prints it (schema [`PLAN_SCHEMA`]).

pub mod files;
pub mod key;
pub mod matrix;
mod names;
pub mod shard;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, ManifestError, Result};
use crate::lock::{Lock, LockedFile, LockedProject};
use crate::manifest::{
    BaseImage, Compression, Format, Installer, KeySource, Manifest, Project, Relation, Relations, Settings,
    check_install_path, check_version,
};

/// The version of the plan's JSON form; bumped when a field changes meaning or goes away.
pub const PLAN_SCHEMA: u32 = 2;

/// Maintainer when the manifest names none.
pub const DEFAULT_MAINTAINER: &str = "wrap <wrap@localhost>";

/// What the caller knows from outside the manifest and lock.
#[derive(Debug, Clone, Default)]
pub struct PlanInputs {
    /// `--project` names; empty means every project.
    pub projects: Vec<String>,
    /// `--format` values; empty means the manifest's, else the host's.
    pub formats: Vec<Format>,
    /// The host's native format, when known.
    pub host_format: Option<Format>,
    /// `SOURCE_DATE_EPOCH`, when set.
    pub source_date_epoch: Option<i64>,
    /// `--version`: overrides every version.
    pub version: Option<String>,
    /// Digest of the wheels in the manifest's `find_links` directories (names and sizes).
    pub find_links_digest: String,
    /// Where `uv` is on PATH, when it is.
    pub uv: Option<PathBuf>,
    /// `--offline`.
    pub offline: bool,
    /// `--out`: the output directory instead of the manifest's.
    pub out: Option<PathBuf>,
    /// `--sign-key`: the key file that signs packages, instead of the manifest's.
    pub sign_key: Option<PathBuf>,
    /// The layout directory a registry base image (`[image] base = "docker://…"`) was pulled
    /// into at its locked digest; the commands pull it before planning.
    pub base_layout: Option<PathBuf>,
    /// With `release = "auto"`: plan with the release `auto` itself, so that the keys weigh the
    /// inputs alone (which the lock's release records are compared with).
    pub release_probe: bool,
}

/// The key that signs packages (.rpm), as configured; loaded when a build starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Signing {
    /// Where the secret key is.
    pub key: KeySource,
    /// The environment variable holding its passphrase.
    pub passphrase_env: String,
}

/// Everything a build will do.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BuildPlan {
    /// [`PLAN_SCHEMA`].
    pub schema: u32,
    /// Formats every project is built into.
    pub formats: Vec<Format>,
    /// Where artifacts go (absolute).
    pub output_dir: PathBuf,
    /// The interpreter every bundle is built on, as configured.
    pub python: PathBuf,
    /// The installer: `uv` or `pip`.
    pub installer: Installer,
    /// The uv executable, when the installer is uv.
    pub uv: Option<PathBuf>,
    /// No network.
    pub offline: bool,
    /// Constraints files, in order, with their locked digests.
    pub constraints: Vec<LockedFile>,
    /// Local wheel directories (absolute).
    pub find_links: Vec<PathBuf>,
    /// The key that signs .rpm packages, if any.
    pub signing: Option<Signing>,
    /// Projects in manifest order.
    pub projects: Vec<PlannedProject>,
}

/// One project's build: every decision, as the stages after the plan read it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlannedProject {
    /// Project name.
    pub name: String,
    /// Git URL or path as written.
    pub git: String,
    /// The URL as written when it names a repository elsewhere (for provenance and home
    /// pages): never a path on this machine.
    pub public_git: Option<String>,
    /// Ref as written.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Pinned commit.
    pub commit: String,
    /// Patches in order with their digests.
    pub patches: Vec<LockedFile>,
    /// The version the project's own metadata gets (the locked one, from its tags).
    pub source_version: String,
    /// Version of the package: PEP 440, in normal form.
    pub version: String,
    /// The version as dpkg and rpm write it (PEP 440 pre-releases with `~`, post-releases
    /// with `+post`: see [`crate::version::package_version`]).
    pub package_version: String,
    /// Package epoch: the manifest's `epoch`, else the version's PEP 440 epoch.
    pub epoch: Option<u64>,
    /// Package release.
    pub release: String,
    /// Package name.
    pub package_name: String,
    /// `Name <email>` of the packages.
    pub maintainer: String,
    /// Debian section.
    pub section: String,
    /// Debian priority.
    pub priority: String,
    /// Where the bundle runs.
    pub install_path: String,
    /// The stable path that follows the newest installed version, when there is one.
    pub link_path: Option<String>,
    /// update-alternatives priority of this version at the stable path.
    pub alternative_priority: u32,
    /// Per format: the artifact's file name.
    pub files: BTreeMap<Format, String>,
    /// The unversioned metapackage that depends on this version's package, when versions
    /// install side by side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_package: Option<String>,
    /// Per package format: the metapackage's file name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub meta_files: BTreeMap<Format, String>,
    /// Per format: the payload's compression.
    pub compression: BTreeMap<Format, Compression>,
    /// Extras of the project installed with it.
    pub extras: Vec<String>,
    /// Extra requirements installed into the virtualenv.
    pub pip_dependencies: Vec<String>,
    /// Entry points the verify stage does not import.
    pub verify_skip: Vec<String>,
    /// Glob patterns of bundle files left out (the settings' then the project's).
    pub exclude: Vec<String>,
    /// System packages the .deb depends on.
    pub system_dependencies: Vec<Relation>,
    /// System packages the .rpm requires (the `[project.rpm]` list, else the Debian one).
    pub rpm_system_dependencies: Vec<Relation>,
    /// The .rpm's relations, where `[project.rpm]` gives its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpm_relations: Option<Relations>,
    /// Recommends, Provides, Conflicts, Replaces.
    pub relations: Relations,
    /// System user the packages create.
    pub user: Option<String>,
    /// Console scripts that get a systemd unit.
    pub services: Vec<String>,
    /// Console scripts put on PATH as `/usr/bin/<name>`.
    pub links: Vec<String>,
    /// What installing does with the services' units.
    pub enable_units: crate::manifest::EnableUnits,
    /// Whether an upgrade restarts the running services.
    pub restart_on_upgrade: bool,
    /// What services' units say beyond wrap's defaults, by service.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub units: BTreeMap<String, crate::manifest::Unit>,
    /// The operator's maintainer-script fragments, by hook.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub scripts: BTreeMap<String, crate::manifest::Script>,
    /// `[[project.files]]`, planned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_files: Vec<files::PlannedFile>,
    /// When the bundle's modules are byte-compiled.
    pub bytecode: crate::manifest::Bytecode,
    /// Lintian overrides of the .deb (the settings' then the project's).
    pub lintian_overrides: Vec<String>,
    /// rpmlint filters of the .rpm (the settings' then the project's).
    pub rpmlint_filters: Vec<String>,
    /// Timestamp of every file in the artifacts.
    pub source_date_epoch: i64,
    /// The container image of `--format oci`: none for the other formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<PlannedImage>,
    /// The dependency closure the lock pins (with every file's sha256): what a locked build
    /// installs, exactly; none when the lock has no closure for the project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closure: Option<crate::lock::closure::Resolved>,
    /// The inputs of the build key that the manifest and lock decide, by name, each as a
    /// digest: a changed one names why a project is rebuilt. The build adds the tools.
    pub key_inputs: BTreeMap<String, String>,
    /// Digest of `key_inputs`.
    pub key: String,
}

/// What a project's container image is made of, beyond its package.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlannedImage {
    /// The base image's OCI layout directory (absolute).
    pub base: PathBuf,
    /// The base as the manifest names it (`docker://…`, or the directory as written).
    pub base_name: String,
    /// The base's image manifest digest (`sha256:…`): another base, another image.
    pub base_digest: String,
    /// The image's `Cmd`: the first service's console script in the bundle, if any.
    pub command: Option<String>,
    /// `ExposedPorts` (`8000/tcp`) and `Volumes`, from `[project.image]`.
    #[serde(flatten)]
    pub declared: crate::manifest::ProjectImage,
}

/// The base image of `--format oci`, opened to read its digest; none for other formats.
fn base_image(
    manifest: &Manifest,
    inputs: &PlanInputs,
    formats: &[Format],
) -> Result<Option<(PathBuf, String, String)>> {
    if !formats.contains(&Format::Oci) {
        return Ok(None);
    }
    let Some(image) = &manifest.image else {
        return Err(Error::ImageMissing { manifest: manifest.path.clone() });
    };
    let (dir, name) = match &image.base {
        BaseImage::Layout(dir) => (dir.abs.clone(), dir.rel.clone()),
        BaseImage::Archive(archive) => {
            let unpacked = inputs.base_layout.clone().ok_or_else(|| Error::Image {
                project: None,
                base: archive.rel.clone().into(),
                problem: "it was not unpacked before planning".into(),
                hint: None,
            })?;
            (unpacked, archive.rel.clone())
        }
        BaseImage::Registry(reference) => {
            let pulled = inputs.base_layout.clone().ok_or_else(|| Error::Pull {
                reference: reference.clone(),
                problem: "it was not pulled before planning".into(),
                hint: None,
                environment: false,
            })?;
            (pulled, format!("docker://{reference}"))
        }
    };
    let base = crate::oci::Base::open(&dir, Format::Oci.host_arch(), false)
        .map_err(|problem| Error::Image { project: None, base: name.clone().into(), problem, hint: None })?;
    Ok(Some((dir, name, base.manifest.digest)))
}

/// Computes the plan. The lock must cover every selected project (callers resolve it first).
pub fn plan(manifest: &Manifest, lock: &Lock, inputs: &PlanInputs) -> Result<BuildPlan> {
    for name in &inputs.projects {
        if manifest.project(name).is_none() {
            return Err(Error::UnknownProject {
                name: name.clone(),
                known: manifest.projects.iter().map(|p| p.name.clone()).collect(),
            });
        }
    }
    let settings = &manifest.settings;
    let formats = formats(settings, inputs)?;
    let (installer, uv) = match (settings.installer, &inputs.uv) {
        (Installer::Uv | Installer::Auto, Some(uv)) => (Installer::Uv, Some(uv.clone())),
        (Installer::Uv, None) => return Err(Error::UvMissing),
        (Installer::Pip | Installer::Auto, _) => (Installer::Pip, None),
    };
    let base = base_image(manifest, inputs, &formats)?;
    let mut projects: Vec<PlannedProject> = Vec::new();
    for project in &manifest.projects {
        if !inputs.projects.is_empty() && !inputs.projects.contains(&project.name) {
            continue;
        }
        let locked = lock
            .project(&project.name)
            .ok_or_else(|| Error::LockMissing { path: Lock::path_for(&manifest.path) })?;
        let mut planned = plan_project(manifest, project, locked, inputs, &formats)?;
        planned.closure = lock.resolved(&project.name);
        planned.image = base.as_ref().map(|(base, name, digest)| PlannedImage {
            base: base.clone(),
            base_name: name.clone(),
            base_digest: digest.clone(),
            command: planned.services.first().map(|s| format!("{}/bin/{s}", planned.install_path)),
            declared: project.image.clone(),
        });
        if let Some(other) = projects.iter().find(|p| p.package_name == planned.package_name) {
            return Err(Error::Manifest {
                location: manifest.location(project),
                kind: ManifestError::DuplicatePackage {
                    name: project.name.clone(),
                    other: other.name.clone(),
                    other_line: manifest.project(&other.name).map_or(0, |p| p.line),
                    package: planned.package_name,
                },
            });
        }
        projects.push(key::with_key(planned, &lock.constraints, &inputs.find_links_digest));
    }
    Ok(BuildPlan {
        schema: PLAN_SCHEMA,
        formats,
        output_dir: inputs.out.clone().unwrap_or_else(|| settings.output_dir.clone()),
        python: settings.python.clone(),
        installer,
        uv,
        offline: inputs.offline || settings.offline,
        constraints: lock.constraints.clone(),
        find_links: settings.find_links.iter().map(|f| f.abs.clone()).collect(),
        signing: inputs
            .sign_key
            .clone()
            .map(KeySource::File)
            .or_else(|| settings.sign_key.clone())
            .map(|key| Signing { key, passphrase_env: settings.sign_passphrase_env.clone() }),
        projects,
    })
}

/// The formats: `--format`, else the manifest's, else the host's; sorted, each once.
pub fn formats(settings: &Settings, inputs: &PlanInputs) -> Result<Vec<Format>> {
    let mut formats = if !inputs.formats.is_empty() {
        inputs.formats.clone()
    } else if let Some(f) = &settings.formats {
        f.clone()
    } else {
        vec![inputs.host_format.ok_or(Error::UnknownHostFormat)?]
    };
    formats.sort();
    formats.dedup();
    Ok(formats)
}

/// `release = "auto"` in the manifest.
pub const AUTO_RELEASE: &str = "auto";

/// The release: the manifest's, or with `release = "auto"` the one the lock gave this version
/// (`auto` itself for a probe, [`PlanInputs::release_probe`]).
fn release_of(
    project: &Project,
    settings: &Settings,
    locked: &LockedProject,
    version: &str,
    inputs: &PlanInputs,
) -> Result<String, ManifestError> {
    if settings.release != AUTO_RELEASE || inputs.release_probe {
        return Ok(settings.release.clone());
    }
    let recorded = locked.releases.iter().find(|r| r.version == version);
    recorded.map(|r| r.release.to_string()).ok_or_else(|| ManifestError::InvalidValue {
        key: "release".into(),
        value: AUTO_RELEASE.into(),
        expected: format!(
            "a release the lock records for {} {version} (run `wrap lock` or `wrap build`)",
            project.name
        ),
    })
}

/// The version a project is packaged at (`--version`, the project's, the settings', else the
/// locked one), checked.
fn version_of(
    project: &Project,
    settings: &Settings,
    locked: &LockedProject,
    inputs: &PlanInputs,
) -> Result<(String, crate::version::Version), ManifestError> {
    let version = inputs
        .version
        .clone()
        .or_else(|| project.version.clone())
        .or_else(|| settings.version.clone())
        .unwrap_or_else(|| locked.version.clone());
    let parsed = check_version(&version).map_err(|normal| ManifestError::InvalidVersion {
        key: "version".into(),
        value: version.clone(),
        normal,
    })?;
    Ok((version, parsed))
}

/// One project's decisions (its key is added by [`key::with_key`]).
fn plan_project(
    manifest: &Manifest,
    project: &Project,
    locked: &LockedProject,
    inputs: &PlanInputs,
    formats: &[Format],
) -> Result<PlannedProject> {
    let settings = &manifest.settings;
    let at_project = |kind| Error::Manifest { location: manifest.location(project), kind };
    let (version, parsed) = version_of(project, settings, locked, inputs).map_err(at_project)?;
    let package_version = crate::version::package_version(&parsed);
    let names::Names { package_name, meta_package, install_path, link_path } =
        names::names(project, settings, &version).map_err(at_project)?;
    // Side by side, the files go to the metapackage: its documentation directory is taken.
    let reserved = files::Reserved {
        package: meta_package.as_deref().unwrap_or(&package_name),
        install_path: &install_path,
        link_path: link_path.as_deref(),
    };
    let extra_files = files::plan(project, &version, &reserved).map_err(at_project)?;
    let both = |a: &[String], b: &[String]| a.iter().chain(b).cloned().collect::<Vec<_>>();
    let release = release_of(project, settings, locked, &version, inputs).map_err(at_project)?;
    let upstream = package_version.upstream;
    let (files, meta_files) =
        names::file_names(&package_name, meta_package.as_deref(), formats, [&version, &upstream, &release]);
    Ok(PlannedProject {
        name: project.name.clone(),
        git: project.git.written.clone(),
        public_git: project.git.public_url().map(String::from),
        git_ref: project.git_ref.clone(),
        commit: locked.commit.clone(),
        patches: locked.patches.clone(),
        source_version: locked.version.clone(),
        files,
        meta_files,
        meta_package,
        compression: formats.iter().map(|f| (*f, compression(*f, settings))).collect(),
        version,
        package_version: upstream,
        epoch: settings.epoch.map(u64::from).or(package_version.epoch),
        release,
        package_name,
        maintainer: settings.maintainer.clone().unwrap_or_else(|| DEFAULT_MAINTAINER.into()),
        section: settings.section.clone(),
        priority: settings.priority.clone(),
        install_path,
        link_path,
        alternative_priority: crate::version::alternative_priority(&parsed),
        extras: project.extras.clone(),
        pip_dependencies: project.pip_dependencies.clone(),
        verify_skip: project.verify_skip.clone(),
        exclude: both(&settings.exclude, &project.exclude),
        system_dependencies: project.system_dependencies.clone(),
        rpm_system_dependencies: project
            .rpm_system_dependencies
            .clone()
            .unwrap_or_else(|| project.system_dependencies.clone()),
        relations: project.relations.clone(),
        rpm_relations: project.rpm_relations.clone(),
        user: project.user.clone(),
        services: project.services.clone(),
        links: project.links.clone(),
        units: project.units.clone(),
        enable_units: project.enable_units,
        restart_on_upgrade: project.restart_on_upgrade,
        scripts: project.scripts.clone(),
        extra_files,
        bytecode: project.bytecode.unwrap_or(settings.bytecode),
        lintian_overrides: both(&settings.lintian_overrides, &project.lintian_overrides),
        rpmlint_filters: both(&settings.rpmlint_filters, &project.rpmlint_filters),
        source_date_epoch: inputs.source_date_epoch.unwrap_or(locked.commit_time),
        closure: None,
        image: None,
        key_inputs: BTreeMap::new(),
        key: String::new(),
    })
}

/// The compression of `format`'s payload: the manifest's, but gzip for the tarball and the
/// image's layer (what every reader of them takes).
fn compression(format: Format, settings: &Settings) -> Compression {
    if matches!(format, Format::Tar | Format::Oci) { Compression::GZIP } else { settings.compression }
}

/// The stable path lies beside the install path, not on or in it (nor it in the link).
fn check_link_path(project: &str, link: &str, install_path: &str) -> Result<(), ManifestError> {
    check_install_path(project, "link_path", link)?;
    let nested = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
    if nested(link, install_path) || nested(install_path, link) {
        return Err(ManifestError::InvalidInstallPath {
            project: project.into(),
            key: "link_path",
            path: link.into(),
            reason: format!("must lie beside the install path `{install_path}`, not on or in it"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
