//! The remote cache in a build: artifacts looked up there before building (checked, then kept
//! in the local cache), artifacts built here uploaded, build times recorded for the CI matrix.
//! A remote that fails is a warning and the build goes on locally, unless it is required.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::Session;
use super::build_one::{is_meta, last_record};
use crate::artifact::Artifact;
use crate::cache::remote::records::Fetched;
use crate::cache::remote::{Remote, RemoteFailure};
use crate::cache::store;
use crate::error::{Error, Result};
use crate::manifest::Format;
use crate::plan::{PlannedProject, key};
use crate::report::Outcome;

/// What the remote gave a project: artifacts per format, and the formats whose remote record
/// was refused (replaced by the build's own upload).
#[derive(Default)]
pub(super) struct FromRemote {
    pub found: BTreeMap<Format, Vec<Artifact>>,
    pub refused: BTreeSet<Format>,
}

impl Session<'_> {
    /// Uses the remote at `url` (the command line's, else the manifest's) for this run.
    pub fn use_remote(&mut self, url: Option<&str>, required: bool) -> Result<()> {
        let url = url.map(str::to_string).or_else(|| self.manifest.settings.remote.clone());
        self.remote = match url {
            Some(url) => Some(std::sync::Arc::new(Remote::open(&url, required)?)),
            None if required => {
                return Err(Error::RemoteUrl {
                    url: "(none)".into(),
                    detail: "a remote is required and none is configured".into(),
                });
            }
            None => None,
        };
        if let Some(remote) = &self.remote {
            let trust = if remote.signed() { "records signed and checked" } else { "records unsigned" };
            tracing::debug!(url = %remote.url, trust, "remote cache");
        }
        Ok(())
    }

    /// Says a remote failure: the first as a warning (later ones were not tried), or as an
    /// error when the remote is required.
    pub(super) fn remote_failed(&self, project: Option<&str>, failure: RemoteFailure) -> Result<()> {
        let Some(remote) = &self.remote else { return Ok(()) };
        let detail = match failure {
            RemoteFailure::Failed(detail) => detail,
            RemoteFailure::Down if remote.required => "not reachable".into(),
            RemoteFailure::Down => return Ok(()),
        };
        if remote.required {
            return Err(Error::Remote { url: remote.url.clone(), detail });
        }
        let message = format!("remote cache `{}`: {detail}; building locally without it", remote.url);
        match project {
            Some(project) => self.reporter.project_warn(project, message),
            None => self.reporter.warn(message),
        }
        Ok(())
    }

    /// The artifacts of `planned` the remote has for the formats in `todo` (a format counts
    /// only when its package and metapackage are both there), each kept in the local cache.
    pub(super) fn remote_artifacts(
        &self,
        planned: &PlannedProject,
        todo: &[Format],
        keys: &BTreeMap<Format, String>,
        inputs: &BTreeMap<Format, BTreeMap<String, String>>,
        out_dir: &Path,
    ) -> Result<FromRemote> {
        let mut got = FromRemote::default();
        let Some(remote) = self.remote.as_ref().filter(|r| !r.is_down()) else { return Ok(got) };
        for format in todo {
            let meta = planned.meta_files.contains_key(format).then(|| key::meta_key(&keys[format]));
            let mut found = Vec::new();
            for key in std::iter::once(&keys[format]).chain(meta.as_ref()) {
                match remote.fetch(key, &planned.name, out_dir) {
                    Ok(Fetched::Found(artifact)) => found.push((key.clone(), artifact)),
                    Ok(Fetched::Missing) => break,
                    Ok(Fetched::Refused(why)) => {
                        self.reporter.project_warn(
                            &planned.name,
                            format!(
                                "the remote cache's {} artifact is refused: {why}; building it",
                                format.as_str()
                            ),
                        );
                        got.refused.insert(*format);
                        break;
                    }
                    Err(failure) => {
                        self.remote_failed(Some(&planned.name), failure)?;
                        break;
                    }
                }
            }
            if found.len() != 1 + usize::from(meta.is_some()) {
                for (_, artifact) in &found {
                    crate::artifact::remove(artifact);
                }
                continue;
            }
            for (key, artifact) in &found {
                let record = last_record(planned, Some(key) == meta.as_ref());
                store::save_as(&self.cache, key, &inputs[format], artifact, &record)?;
            }
            let names: Vec<String> = found
                .iter()
                .map(|(_, a)| a.path.file_name().unwrap_or_default().to_string_lossy().into_owned())
                .collect();
            self.reporter.project_status("Downloaded", &planned.name, names.join(", "));
            got.found.insert(*format, found.into_iter().map(|(_, a)| a).collect());
        }
        Ok(got)
    }

    /// Uploads `artifacts` of `planned` (built here, or from the local cache where the remote
    /// lacks them) to the remote, each under its key.
    pub(super) fn upload_artifacts(
        &self,
        planned: &PlannedProject,
        artifacts: &[Artifact],
        keys: &BTreeMap<Format, String>,
        inputs: &BTreeMap<Format, BTreeMap<String, String>>,
        refused: &BTreeSet<Format>,
    ) -> Result<()> {
        let Some(remote) = self.remote.as_ref().filter(|r| !r.is_down()) else { return Ok(()) };
        for artifact in artifacts {
            let format = artifact.format;
            let key = if is_meta(planned, artifact) {
                key::meta_key(&keys[&format])
            } else {
                keys[&format].clone()
            };
            let replace = refused.contains(&format);
            if artifact.reused && !replace {
                match remote.has_record(&key) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(failure) => return self.remote_failed(Some(&planned.name), failure),
                }
            }
            match remote.upload(&key, &inputs[&format], artifact, replace) {
                Ok(()) => {
                    tracing::debug!(project = %planned.name, key = %key, "uploaded to the remote cache")
                }
                Err(failure) => return self.remote_failed(Some(&planned.name), failure),
            }
        }
        Ok(())
    }

    /// Records each built project's time, locally and on the remote, for the CI matrix.
    pub(super) fn record_times(&self, outcomes: &[Outcome]) -> Result<()> {
        for outcome in outcomes.iter().filter(|o| o.status == crate::report::Status::Ok) {
            if let Err(e) = store::record_time(&self.cache, &outcome.project, outcome.seconds) {
                tracing::debug!(project = %outcome.project, "build time not recorded: {e}");
            }
            if let Some(remote) = self.remote.as_ref().filter(|r| !r.is_down())
                && let Err(failure) = remote.put_time(&outcome.project, outcome.seconds)
            {
                self.remote_failed(Some(&outcome.project), failure)?;
            }
        }
        Ok(())
    }
}
