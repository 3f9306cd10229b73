//! Manifest + lock → [`BuildPlan`]: every decision of a build made before anything is built —
//! which projects, which commit, version, package name, install path, formats and source date.
//! Pure: no disk, no network; the callers pass in what they read (host format, environment).

use std::path::PathBuf;

use serde::Serialize;

use crate::digest::sha256_hex;
use crate::error::{Error, ManifestError, Result};
use crate::lock::{Lock, LockedFile};
use crate::manifest::{Format, Manifest, check_install_path, check_package_name, check_version};

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
}

/// Everything a build will do.
#[derive(Debug, Clone, Serialize)]
pub struct BuildPlan {
    /// Formats every project is built into.
    pub formats: Vec<Format>,
    /// Where artifacts go.
    pub output_dir: PathBuf,
    /// Projects in manifest order.
    pub projects: Vec<PlannedProject>,
}

/// One project's build.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedProject {
    /// Project name.
    pub name: String,
    /// Git URL or path as written.
    pub git: String,
    /// Ref as written.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Pinned commit.
    pub commit: String,
    /// Patches in order with their digests.
    pub patches: Vec<LockedFile>,
    /// Version of the project: PEP 440, in normal form.
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
    /// Where the bundle runs.
    pub install_path: String,
    /// The stable path that follows the newest installed version, when there is one.
    pub link_path: Option<String>,
    /// update-alternatives priority of this version at the stable path.
    pub alternative_priority: u32,
    /// Timestamp of every file in the artifacts.
    pub source_date_epoch: i64,
    /// Digest of every input above plus the manifest, the constraints and the local wheels:
    /// the part of the build key that the manifest and lock decide. The build adds the tools
    /// (wrap, interpreter, installer) and the format.
    pub key: String,
}

/// Bumped when what goes into a key changes meaning.
const KEY_SCHEMA: u32 = 1;

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
    let formats = if !inputs.formats.is_empty() {
        inputs.formats.clone()
    } else if let Some(f) = &manifest.settings.formats {
        f.clone()
    } else {
        vec![inputs.host_format.ok_or(Error::UnknownHostFormat)?]
    };
    let mut formats = formats;
    formats.sort();
    formats.dedup();

    let settings = &manifest.settings;
    let mut projects = Vec::new();
    for project in &manifest.projects {
        if !inputs.projects.is_empty() && !inputs.projects.contains(&project.name) {
            continue;
        }
        let locked = lock
            .project(&project.name)
            .ok_or_else(|| Error::LockMissing { path: Lock::path_for(&manifest.path) })?;
        let version = inputs
            .version
            .clone()
            .or_else(|| project.version.clone())
            .or_else(|| settings.version.clone())
            .unwrap_or_else(|| locked.version.clone());
        let at_project = |kind| Error::Manifest { location: manifest.location(project), kind };
        let parsed = check_version(&version).map_err(|normal| {
            at_project(ManifestError::InvalidVersion {
                key: "version".into(),
                value: version.clone(),
                normal,
            })
        })?;
        let package_version = crate::version::package_version(&parsed);
        let package_name = project.package_name_template(settings).render(&project.name, &version);
        check_package_name(&project.name, &package_name).map_err(at_project)?;
        let install_path = project.install_path_template(settings).render(&project.name, &version);
        check_install_path(&project.name, "install_path", &install_path).map_err(at_project)?;
        let link_path = project.link_path(settings, &version);
        if let Some(link) = &link_path {
            check_install_path(&project.name, "link_path", link).map_err(at_project)?;
            let nested = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
            if nested(link, &install_path) || nested(&install_path, link) {
                return Err(at_project(ManifestError::InvalidInstallPath {
                    project: project.name.clone(),
                    key: "link_path",
                    path: link.clone(),
                    reason: format!("must lie beside the install path `{install_path}`, not on or in it"),
                }));
            }
        }
        if let Some(other) = projects.iter().find(|p: &&PlannedProject| p.package_name == package_name) {
            return Err(at_project(ManifestError::DuplicatePackage {
                name: project.name.clone(),
                other: other.name.clone(),
                other_line: manifest.project(&other.name).map_or(0, |p| p.line),
                package: package_name,
            }));
        }
        let mut planned = PlannedProject {
            name: project.name.clone(),
            git: project.git.written.clone(),
            git_ref: project.git_ref.clone(),
            commit: locked.commit.clone(),
            patches: locked.patches.clone(),
            version,
            package_version: package_version.upstream,
            epoch: settings.epoch.map(u64::from).or(package_version.epoch),
            release: settings.release.clone(),
            package_name,
            install_path,
            alternative_priority: crate::version::alternative_priority(&parsed),
            link_path,
            source_date_epoch: inputs.source_date_epoch.unwrap_or(locked.commit_time),
            key: String::new(),
        };
        // The manifest digest covers every setting (it is in each artifact's build-info too).
        let key_inputs =
            (KEY_SCHEMA, &manifest.sha256, &lock.constraints, &inputs.find_links_digest, &planned);
        planned.key = sha256_hex(&serde_json::to_vec(&key_inputs).expect("serializes"));
        projects.push(planned);
    }
    Ok(BuildPlan { formats, output_dir: settings.output_dir.clone(), projects })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockedProject;
    use std::path::Path;

    fn manifest(extra: &str) -> Manifest {
        let text = format!(
            "[settings]\npackage_name = \"openstack-{{name}}\"\ninstall_path = \"/opt/openstack/{{name}}-{{version}}\"\n{extra}\n[[project]]\nname = \"nova\"\ngit = \"https://opendev.org/openstack/nova\"\nref = \"master\"\n[[project]]\nname = \"glance\"\ngit = \"https://opendev.org/openstack/glance\"\nref = \"30.0.0\"\nversion = \"30.0.0\"\n"
        );
        Manifest::parse(Path::new("wrap.toml"), Path::new("/m"), &text).unwrap()
    }

    fn lock() -> Lock {
        let pin = |name: &str, version: &str| LockedProject {
            name: name.into(),
            git: format!("https://opendev.org/openstack/{name}"),
            git_ref: "x".into(),
            commit: "c".repeat(40),
            commit_time: 1_700_000_000,
            version: version.into(),
            patches: vec![],
        };
        Lock {
            projects: vec![pin("nova", "31.0.0+git20261122.cccccccccccc"), pin("glance", "29.0.0")],
            ..Lock::new()
        }
    }

    #[test]
    fn plans_versions_names_and_paths() {
        let plan = plan(
            &manifest(""),
            &lock(),
            &PlanInputs { host_format: Some(Format::Deb), ..Default::default() },
        )
        .unwrap();
        assert_eq!(plan.formats, [Format::Deb]);
        let nova = &plan.projects[0];
        assert_eq!(nova.version, "31.0.0+git20261122.cccccccccccc");
        assert_eq!(nova.package_name, "openstack-nova");
        assert_eq!(nova.install_path, "/opt/openstack/nova-31.0.0+git20261122.cccccccccccc");
        assert_eq!(nova.source_date_epoch, 1_700_000_000);
        // The project's own version beats the locked one.
        assert_eq!(plan.projects[1].version, "30.0.0");
    }

    #[test]
    fn overrides_and_selection() {
        let inputs = PlanInputs {
            projects: vec!["glance".into()],
            formats: vec![Format::Rpm, Format::Tar, Format::Rpm],
            source_date_epoch: Some(42),
            version: Some("2026.1.0".into()),
            ..Default::default()
        };
        let plan = plan(&manifest("version = \"9.9\"\nformats = [\"deb\"]"), &lock(), &inputs).unwrap();
        assert_eq!(plan.formats, [Format::Rpm, Format::Tar]);
        assert_eq!(plan.projects.len(), 1);
        assert_eq!(plan.projects[0].version, "2026.1.0");
        assert_eq!(plan.projects[0].source_date_epoch, 42);
    }

    #[test]
    fn keys_change_with_their_project_inputs_only() {
        let inputs = PlanInputs { host_format: Some(Format::Deb), ..Default::default() };
        let keys = |m: &Manifest, l: &Lock, i: &PlanInputs| -> Vec<String> {
            plan(m, l, i).unwrap().projects.into_iter().map(|p| p.key).collect()
        };
        let base = keys(&manifest(""), &lock(), &inputs);
        assert_eq!(base, keys(&manifest(""), &lock(), &inputs), "stable");
        assert_ne!(base[0], base[1]);
        // A patch of glance changes glance's key only.
        let mut patched = lock();
        patched.projects[1].patches =
            vec![LockedFile { source: "patches/glance/0001.patch".into(), sha256: "a".repeat(64) }];
        let after = keys(&manifest(""), &patched, &inputs);
        assert_eq!(after[0], base[0]);
        assert_ne!(after[1], base[1]);
        // The manifest, the wheels and the source date reach every key.
        for changed in [
            keys(&manifest("release = \"2\""), &lock(), &inputs),
            keys(&manifest(""), &lock(), &PlanInputs { find_links_digest: "w".into(), ..inputs.clone() }),
            keys(&manifest(""), &lock(), &PlanInputs { source_date_epoch: Some(1), ..inputs.clone() }),
        ] {
            assert!(changed.iter().zip(&base).all(|(a, b)| a != b));
        }
    }

    #[test]
    fn refuses_what_it_cannot_decide() {
        let e = plan(&manifest(""), &lock(), &PlanInputs::default()).unwrap_err();
        assert!(matches!(e, Error::UnknownHostFormat));
        let inputs = PlanInputs {
            projects: vec!["keystone".into()],
            host_format: Some(Format::Deb),
            ..Default::default()
        };
        assert!(matches!(plan(&manifest(""), &lock(), &inputs), Err(Error::UnknownProject { .. })));
        // A hand-edited lock with a version dpkg and rpm cannot take.
        let mut bad = lock();
        bad.projects[0].version = "1 2".into();
        let inputs = PlanInputs { host_format: Some(Format::Deb), ..Default::default() };
        let e = plan(&manifest(""), &bad, &inputs).unwrap_err();
        assert_eq!(e.to_string(), "wrap.toml:5: `version` = `1 2` is not a PEP 440 version in normal form");
    }
}
