//! `wrap lock`'s second half: each project's dependency closure, resolved by uv for the
//! manifest's interpreter from the patched source at the pinned commit. A closure is kept while
//! what it was resolved from stands (commit, patches, constraints, extras, extra requirements,
//! interpreter version), and resolved again when that changes or `--update` names the project;
//! what changed is reported per project.

use std::path::{Path, PathBuf};

use super::{LockMode, Session};
use crate::error::{Drift, Error, Result};
use crate::lock::closure::{self, Resolved};
use crate::lock::{self, Lock, LockedProject};
use crate::plan::{BuildPlan, PlanInputs};
use crate::report::{Event, Pinned};
use crate::venv;
use crate::venv::python::Interpreter;

impl Session<'_> {
    /// `wrap lock`: pins every project's commit, resolves the closures that are missing, stale,
    /// or named by `mode` with the manifest's installer's resolver, and writes the lock when it
    /// changed. With `installer = "uv"` and no uv, the lock keeps no closures, with a warning.
    pub fn lock_all(&self, mode: &LockMode) -> Result<Lock> {
        let path = Lock::path_for(&self.manifest.path);
        let before = Lock::load(&path).ok().flatten().unwrap_or_default();
        let lock = self.pinned(mode, true)?;
        let uv = venv::installer::find_on_path("uv");
        let lock = match (self.manifest.settings.installer, uv) {
            (crate::manifest::Installer::Uv, None) => {
                let unresolved: Vec<&str> =
                    lock.projects.iter().filter(|p| p.closure.is_none()).map(|p| p.name.as_str()).collect();
                if !unresolved.is_empty() {
                    self.reporter.warn(format!(
                        "uv is not on PATH: no dependency closure for {}, which `--locked` builds need",
                        unresolved.join(", ")
                    ));
                }
                lock
            }
            (_, uv) => self.closures(lock, mode, uv.as_deref())?,
        };
        // `release = "auto"`: the releases as a build would give them (the format does not
        // change a project's inputs).
        let mut lock = lock;
        let inputs = PlanInputs { formats: vec![crate::artifact::Format::Tar], ..Default::default() };
        self.releases(&mut lock, mode, &inputs)?;
        let written = self.write_lock(&lock)?;
        let projects = lock
            .projects
            .iter()
            .map(|p| Pinned {
                project: &p.name,
                git_ref: &p.git_ref,
                commit: &p.commit,
                version: &p.version,
                previous: before.project(&p.name).map(|b| b.commit.as_str()).filter(|c| *c != p.commit),
                distributions: p.closure.as_ref().map(|c| c.install.len()),
            })
            .collect();
        self.reporter.report(&Event::Locked { path: path.display().to_string(), written, projects });
        Ok(lock)
    }

    /// `lock` with its missing, stale and `--update`d closures resolved by the manifest's
    /// installer (for `auto`, uv when on PATH, else pip).
    fn closures(&self, mut lock: Lock, mode: &LockMode, uv: Option<&Path>) -> Result<Lock> {
        let _cache = self.hold_cache()?;
        let _busy = crate::interrupt::Busy::start();
        let settings = &self.manifest.settings;
        let python = venv::python::probe(&settings.python, false)?;
        // Chosen when a closure needs resolving (pip's is a tools venv, made once).
        let mut backend = None;
        let constraints = self.constraint_files(&lock)?;
        let updating = |name: &str| match mode {
            LockMode::Update(names) => names.is_empty() || names.iter().any(|n| n == name),
            _ => false,
        };
        let mut all: Vec<Resolved> = Vec::new();
        for i in 0..lock.projects.len() {
            let locked = &lock.projects[i];
            let fresh = locked.closure.as_ref().is_some_and(|c| c.python == python.version);
            if fresh && !updating(&locked.name) {
                all.extend(lock.resolved(&locked.name));
                continue;
            }
            let project = self.manifest.project(&locked.name).expect("the lock follows the manifest");
            if backend.is_none() {
                backend =
                    Some(venv::installer::Backend::choose(settings.installer, uv, &self.cache, &python)?);
            }
            let backend = backend.as_ref().expect("chosen above");
            let resolved = self.resolve_closure(project, locked, backend, &python, &constraints)?;
            let record = closure::record(&resolved, lock::closure_inputs(project, locked, &lock.constraints));
            if let Some(old) = &locked.closure {
                let changes = closure::changes(&old.install, &record.install);
                if !changes.is_empty() {
                    self.reporter.report(&Event::ClosureChanged { project: &locked.name, changes: &changes });
                }
            }
            lock.projects[i].closure = Some(record);
            all.push(resolved);
        }
        lock.distributions = closure::merge(&all);
        Ok(lock)
    }

    /// `plan` without the closures resolved for another interpreter than `python`: with
    /// `--locked` an error naming them; else their projects build unlocked, with a warning.
    pub(super) fn for_python(
        &self,
        mode: &LockMode,
        lock: &mut Lock,
        plan: BuildPlan,
        inputs: &PlanInputs,
        python: &Interpreter,
    ) -> Result<BuildPlan> {
        let other: Vec<Drift> = plan
            .projects
            .iter()
            .filter_map(|p| Some((p, p.closure.as_ref()?)))
            .filter(|(_, c)| c.python != python.version)
            .map(|(p, c)| Drift::ClosurePython {
                project: p.name.clone(),
                locked: c.python.clone(),
                now: python.version.clone(),
            })
            .collect();
        if other.is_empty() {
            return Ok(plan);
        }
        if *mode == LockMode::Locked {
            return Err(Error::LockDrift { path: Lock::path_for(&self.manifest.path), differences: other });
        }
        for drift in &other {
            self.reporter.warn(format!("{drift}: built unlocked (run `wrap lock`)"));
            if let Drift::ClosurePython { project, .. } = drift {
                lock.projects.iter_mut().filter(|p| p.name == *project).for_each(|p| p.closure = None);
            }
        }
        self.make_plan(lock, inputs)
    }

    /// The closure of `project`, pinned as `locked`: its patched source materialized in a
    /// scratch directory, resolved there by uv.
    fn resolve_closure(
        &self,
        project: &crate::manifest::Project,
        locked: &LockedProject,
        backend: &venv::installer::Backend,
        python: &Interpreter,
        constraints: &[PathBuf],
    ) -> Result<Resolved> {
        self.reporter.project_status(
            "Resolving",
            &project.name,
            format!("dependencies for Python {}", python.version),
        );
        let checkout = self.checkout(project, locked, self.offline)?;
        let work = tempfile::Builder::new()
            .prefix(&format!("{}lock-{}-", crate::interrupt::temp_prefix(), project.name))
            .tempdir_in(self.cache.staging_dir()?)?;
        let src = work.path().join("src");
        checkout.materialize(&project.name, &src, false)?;
        let names = venv::build::distribution_names(&src, &project.name);
        let constraints = venv::build::own_pins_dropped(&project.name, constraints, &names, work.path())?;
        let logs = self.cache.root().join("logs");
        fs_err::create_dir_all(&logs)?;
        let find_links: Vec<PathBuf> =
            self.manifest.settings.find_links.iter().map(|l| l.abs.clone()).collect();
        venv::resolve::resolve(&venv::resolve::Request {
            project: &project.name,
            backend,
            python,
            source: &src,
            extras: &project.extras,
            dependencies: &project.pip_dependencies,
            constraints: &constraints,
            find_links: &find_links,
            offline: self.offline,
            build_env: venv::build::version_overrides(&names, &locked.version),
            names: &names,
            work: &work.path().join("resolve"),
            log: &logs.join(format!("lock-{}.log", project.name)),
            cache: &self.cache,
        })
    }
}

/// What `wrap fetch --wheelhouse` did.
#[derive(Debug, Default)]
pub struct Wheelhouse {
    /// Files downloaded from their index.
    pub downloaded: usize,
    /// Files copied from `find_links`.
    pub copied: usize,
    /// Files copied from wrap's cache.
    pub cached: usize,
    /// Files already there with the locked sha256.
    pub present: usize,
}

impl Session<'_> {
    /// Puts every file the closures of `projects` (all when empty) pin into `dir`, each checked
    /// against its sha256: from wrap's cache of locked files, which takes what it lacks from
    /// `find_links` or the URL the lock names. A manifest whose `find_links` names `dir`, with
    /// `offline = true`, then builds `--locked` without a network.
    pub fn wheelhouse(&self, mode: &LockMode, projects: &[String], dir: &Path) -> Result<Wheelhouse> {
        let lock = self.lock(mode)?;
        let done = self.fill_wheelhouse(&lock, projects, dir)?;
        let (d, c, k, p) = (done.downloaded, done.copied, done.cached, done.present);
        let message = format!(
            "{}: {d} downloaded, {c} copied from find_links, {k} from the cache, {p} already there",
            dir.display()
        );
        self.reporter.status("Wheelhouse", message);
        Ok(done)
    }

    /// The work of [`Session::wheelhouse`] with `lock`.
    fn fill_wheelhouse(&self, lock: &Lock, projects: &[String], dir: &Path) -> Result<Wheelhouse> {
        let mut pins = std::collections::BTreeSet::new();
        let mut names = Vec::new();
        for p in lock.projects.iter().filter(|p| projects.is_empty() || projects.contains(&p.name)) {
            names.push(p.name.as_str());
            let closure = p.closure.as_ref().ok_or_else(|| Error::LockDrift {
                path: Lock::path_for(&self.manifest.path),
                differences: vec![Drift::ClosureMissing(p.name.clone())],
            })?;
            pins.extend(closure.build.iter().chain(&closure.install).cloned());
        }
        fs_err::create_dir_all(dir)?;
        let mut done = Wheelhouse::default();
        let mut wanted =
            venv::wheelhouse::files_of(lock.distributions.iter().filter(|d| pins.contains(&d.pin())));
        // A plain file name: the lock refuses any other when it is read.
        wanted.retain(|w| {
            let there = dir.join(&w.file.name);
            let present = there.exists() && lock::hash_file(&there).is_ok_and(|h| h == w.file.sha256);
            done.present += usize::from(present);
            !present
        });
        let _cache = self.hold_cache()?;
        let find_links: Vec<PathBuf> =
            self.manifest.settings.find_links.iter().map(|l| l.abs.clone()).collect();
        let got =
            venv::wheelhouse::ensure(&self.cache, &names.join(", "), &wanted, &find_links, self.offline)?;
        for (w, (stored, origin)) in wanted.iter().zip(got) {
            crate::fs::copy_atomically(&stored, &dir.join(&w.file.name))?;
            match origin {
                venv::wheelhouse::Origin::Downloaded => done.downloaded += 1,
                venv::wheelhouse::Origin::Copied => done.copied += 1,
                venv::wheelhouse::Origin::Cached => done.cached += 1,
            }
        }
        Ok(done)
    }
}
