//! One project of `wrap build`: its artifacts from the cache where their build keys are
//! unchanged, the others built, each kept in the cache under its key (side by side, the
//! metapackage under a key of its own), with a warning where a rebuilt artifact has the name of
//! an earlier one with other bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{BuildOptions, Session, hygiene};
use crate::artifact::Artifact;
use crate::build;
use crate::cache::lock::{FileLock, Kind};
use crate::cache::store;
use crate::error::{Error, Result, short};
use crate::lock::Lock;
use crate::manifest::Format;
use crate::plan::{BuildPlan, PlannedProject, key};
use crate::report::{Event, Stage};
use crate::time::timed;

impl Session<'_> {
    /// Says, per format of `todo`, why `planned` is rebuilt (the key inputs that changed since
    /// its last build); returns what each artifact's name stood for before.
    fn rebuilding(
        &self,
        planned: &PlannedProject,
        todo: &[Format],
        inputs: &BTreeMap<Format, BTreeMap<String, String>>,
        rebuild: bool,
        out_dir: &std::path::Path,
    ) -> BTreeMap<Format, hygiene::Before> {
        let mut before = BTreeMap::new();
        for format in todo {
            let last = store::last_built(&self.cache, &planned.name, *format);
            let changes = last.as_ref().map(|l| key::changes(&l.inputs, &inputs[format]));
            let why = match &changes {
                _ if rebuild => vec!["--rebuild".to_string()],
                Some(changes) => changes.clone(),
                None => vec!["not built before".to_string()],
            };
            self.reporter.report(&Event::Rebuilding { project: &planned.name, format: *format, why: &why });
            let path = out_dir.join(&planned.files[format]);
            before.insert(
                *format,
                hygiene::before(path, last.as_ref(), changes.as_deref().unwrap_or_default()),
            );
        }
        before
    }

    /// One project: its artifacts from the cache where their keys are unchanged, the others
    /// built (saying, per format, which inputs changed since the last build).
    pub(super) fn build_one(
        &self,
        plan: &BuildPlan,
        lock: &Lock,
        planned: &PlannedProject,
        tools: &build::Tools,
        constraints: &[PathBuf],
        options: &BuildOptions,
    ) -> Result<Vec<Artifact>> {
        // One build of a project at a time across processes sharing the cache: a second one
        // waits, then finds the first one's artifacts.
        let lock_name = format!("build-{}-{}", planned.name, short(&planned.key, 16));
        let _building = FileLock::acquire(&self.cache.lock_path(&lock_name), Kind::Exclusive, || {
            self.reporter.stage(&planned.name, Stage::Waiting);
            self.reporter.project_status(
                "Waiting",
                &planned.name,
                "for another wrap process building it".into(),
            );
        })?;
        let inputs: BTreeMap<Format, BTreeMap<String, String>> =
            plan.formats.iter().map(|f| (*f, build::key_inputs(planned, tools, *f))).collect();
        let keys: BTreeMap<Format, String> = inputs.iter().map(|(f, i)| (*f, key::key_of(i))).collect();
        let out_dir = &plan.output_dir;
        let mut artifacts =
            if options.rebuild { BTreeMap::new() } else { self.restore_all(planned, &keys, out_dir)? };
        let mut todo: Vec<Format> = keys.keys().filter(|f| !artifacts.contains_key(f)).copied().collect();
        let from_local: Vec<Artifact> = artifacts.values().flatten().cloned().collect();
        self.upload_artifacts(planned, &from_local, &keys, &inputs, &Default::default())?;
        let remote = if options.rebuild {
            Default::default()
        } else {
            self.remote_artifacts(planned, &todo, &keys, &inputs, out_dir)?
        };
        todo.retain(|f| !remote.found.contains_key(f));
        artifacts.extend(remote.found);
        if todo.is_empty() {
            let message = format!("{}: artifacts from the cache", planned.version);
            self.reporter.project_status("Unchanged", &planned.name, message);
            return Ok(artifacts.into_values().flatten().collect());
        }
        if options.remote_only {
            return Err(self.remote_missing(planned, &artifacts, todo[0], &keys[&todo[0]]));
        }
        let before = self.rebuilding(planned, &todo, &inputs, options.rebuild, out_dir);
        self.reporter.stage(&planned.name, Stage::Fetch);
        let mut placed = Vec::new();
        let result = (|| -> Result<()> {
            let unknown = || Error::UnknownProject { name: planned.name.clone(), known: Vec::new() };
            let project = self.manifest.project(&planned.name).ok_or_else(unknown)?;
            let locked = lock.project(&planned.name).ok_or_else(unknown)?;
            let checkout = self.checkout(project, locked, plan.offline)?;
            let job = build::Job { plan, planned, checkout: &checkout, constraints, formats: &todo, out_dir };
            build::build(&self.cache, tools, &job, self.reporter, &mut placed)?;
            if let Some(failure) = self.remote.as_ref().and_then(|r| r.take_deferred()) {
                self.remote_failed(Some(&planned.name), failure)?;
            }
            for artifact in &placed {
                self.keep(planned, artifact, &keys, &inputs, &before)?;
            }
            self.upload_artifacts(planned, &placed, &keys, &inputs, &remote.refused)
        })();
        if let Err(e) = result {
            // A failed project leaves nothing that looks complete: neither what it wrote
            // before failing nor what it took from the cache.
            for artifact in placed.iter().chain(artifacts.values().flatten()) {
                crate::artifact::remove(artifact);
            }
            return Err(e);
        }
        for artifact in placed {
            artifacts.entry(artifact.format).or_default().push(artifact);
        }
        Ok(artifacts.into_values().flatten().collect())
    }

    /// `--remote-only` and `format` is in neither cache: what was restored goes again.
    fn remote_missing(
        &self,
        planned: &PlannedProject,
        restored: &BTreeMap<Format, Vec<Artifact>>,
        format: Format,
        key: &str,
    ) -> Error {
        for artifact in restored.values().flatten() {
            crate::artifact::remove(artifact);
        }
        Error::RemoteMissing {
            project: planned.name.clone(),
            format: format.as_str().into(),
            key: key.to_string(),
            url: self.remote.as_ref().map_or_else(|| "(none)".into(), |r| r.url.clone()),
        }
    }

    /// The cached artifacts of `planned` whose keys are unchanged, per format: the package and,
    /// side by side, the metapackage (a format counts only when both are there).
    fn restore_all(
        &self,
        planned: &PlannedProject,
        keys: &BTreeMap<Format, String>,
        out_dir: &std::path::Path,
    ) -> Result<BTreeMap<Format, Vec<Artifact>>> {
        let mut artifacts = BTreeMap::new();
        for (format, key) in keys {
            let meta = planned.meta_files.contains_key(format).then(|| key::meta_key(key));
            let mut found = Vec::new();
            for key in std::iter::once(key).chain(meta.as_ref()) {
                if let Some(artifact) = store::restore(&self.cache, key, &planned.name, out_dir)? {
                    tracing::debug!(project = %planned.name, key = %key, "build key unchanged");
                    found.push(artifact);
                }
            }
            if found.len() == 1 + usize::from(meta.is_some()) {
                artifacts.insert(*format, found);
            }
        }
        Ok(artifacts)
    }

    /// Keeps a freshly built `artifact` in the cache under its key (the metapackage under its
    /// own, with its own record of the last build), after the hygiene check of its name.
    fn keep(
        &self,
        planned: &PlannedProject,
        artifact: &Artifact,
        keys: &BTreeMap<Format, String>,
        inputs: &BTreeMap<Format, BTreeMap<String, String>>,
        before: &BTreeMap<Format, hygiene::Before>,
    ) -> Result<()> {
        let format = artifact.format;
        if is_meta(planned, artifact) {
            let record = last_record(planned, true);
            return timed(&planned.name, "metapackage cached", || {
                store::save_as(
                    &self.cache,
                    &key::meta_key(&keys[&format]),
                    &inputs[&format],
                    artifact,
                    &record,
                )
            });
        }
        if let Some(warning) = before.get(&format).and_then(|b| hygiene::warning(b, artifact)) {
            self.reporter.project_warn(&planned.name, warning);
        }
        timed(&planned.name, "artifact cached", || {
            store::save(&self.cache, &keys[&format], &inputs[&format], artifact)
        })
    }
}

/// Whether `artifact` is `planned`'s metapackage (side by side), not its package.
pub(super) fn is_meta(planned: &PlannedProject, artifact: &Artifact) -> bool {
    let name = artifact.path.file_name().map(|n| n.to_string_lossy().into_owned());
    planned.meta_files.get(&artifact.format).is_some_and(|f| Some(f) == name.as_ref())
}

/// The name the cache remembers `planned`'s last package, or metapackage, under.
pub(super) fn last_record(planned: &PlannedProject, meta: bool) -> String {
    if meta { format!("{} (metapackage)", planned.name) } else { planned.name.clone() }
}
