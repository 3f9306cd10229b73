//! The commands: each runs the stages in order — manifest, lock, sources, plan — and reports what
//! it did through the [`Reporter`]. `main` parses flags into these calls.

mod build_one;
mod closures;
mod fetch;
mod hygiene;
mod image;
mod init;
mod matrix;
mod patch;
mod remote;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use crate::artifact::Artifact;
use crate::build;
use crate::cache::Cache;
use crate::cache::lock::{FileLock, Kind};
use crate::cache::prune::{self, Policy};
use crate::digest::sha256_hex;
use crate::error::{Drift, Error, Result, short};
use crate::lock::closure::Resolved;
use crate::lock::{self, Lock, LockedFile, LockedProject};
use crate::manifest::{Constraint, Format, Installer, Manifest};
use crate::plan::{self, BuildPlan, PlanInputs, PlannedProject};
use crate::report::{Event, Failure, Outcome, Reporter, Stage, Status};
use crate::source;
use crate::venv;
use crate::venv::installer::{self, Backend};

pub use self::init::init;

/// How `wrap build` runs.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Projects built at once.
    pub jobs: usize,
    /// Stop starting projects after the first failure.
    pub fail_fast: bool,
    /// Build even when the cache holds an artifact with the same build key.
    pub rebuild: bool,
    /// Build nothing: every artifact comes from the local or the remote cache, or the project
    /// fails (`--from-remote`).
    pub remote_only: bool,
}

/// Runs `build_one` over `projects`, `options.jobs` at a time, in plan order of start; returns
/// one outcome per project, in plan order.
fn run_parallel<F>(
    projects: &[PlannedProject],
    options: &BuildOptions,
    reporter: &dyn Reporter,
    build_one: F,
) -> Vec<Outcome>
where
    F: Fn(&PlannedProject) -> Result<Vec<Artifact>> + Sync,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; projects.len()]);
    for planned in projects {
        reporter.stage(&planned.name, Stage::Queued);
    }
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, projects.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= projects.len() || stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let planned = &projects[i];
                    let started = Instant::now();
                    let busy = crate::interrupt::Busy::start();
                    let result = build_one(planned);
                    drop(busy);
                    let seconds = started.elapsed().as_secs_f64();
                    let outcome = outcome(planned, result, seconds, reporter);
                    if outcome.status == Status::Failed && options.fail_fast {
                        stop.store(true, Ordering::SeqCst);
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(outcome);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results
        .into_iter()
        .zip(projects)
        .map(|(outcome, planned)| {
            outcome.unwrap_or_else(|| Outcome {
                project: planned.name.clone(),
                status: Status::Skipped,
                reason: None,
                seconds: 0.0,
                artifacts: Vec::new(),
                exit_code: 0,
            })
        })
        .collect()
}

/// The outcome of one project's build, reported as it ends.
fn outcome(
    planned: &PlannedProject,
    result: Result<Vec<Artifact>>,
    seconds: f64,
    reporter: &dyn Reporter,
) -> Outcome {
    match result {
        Ok(artifacts) => {
            let reused = !artifacts.is_empty() && artifacts.iter().all(|a| a.reused);
            let status = if reused { Status::Reused } else { Status::Ok };
            reporter.stage(&planned.name, if reused { Stage::Reused } else { Stage::Done });
            Outcome { project: planned.name.clone(), status, reason: None, seconds, artifacts, exit_code: 0 }
        }
        Err(e) => {
            let failure = Failure::new(Some(&planned.name), &e);
            if !crate::interrupt::interrupted() {
                reporter.stage(&planned.name, Stage::Failed);
                reporter.report(&Event::Error { failure: &failure });
            }
            Outcome {
                project: planned.name.clone(),
                status: Status::Failed,
                reason: Some(failure.message),
                seconds,
                artifacts: Vec::new(),
                exit_code: failure.exit_code,
            }
        }
    }
}

/// What every command works with.
pub struct Session<'a> {
    /// The validated manifest.
    pub manifest: Manifest,
    /// The cache.
    pub cache: Cache,
    /// Where output goes.
    pub reporter: &'a dyn Reporter,
    /// `--offline` or `settings.offline`.
    pub offline: bool,
    /// The projects whose pin this run moved, and the commit each was pinned to before.
    moved: Mutex<BTreeMap<String, String>>,
    /// The shared remote cache, when one is used.
    remote: Option<std::sync::Arc<crate::cache::remote::Remote>>,
}

/// How to treat the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockMode {
    /// `--locked`: use the lock as it is; any difference from the manifest is an error.
    Locked,
    /// Keep every pin whose URL and ref are unchanged; pin what is new; write the lock.
    Keep,
    /// Re-resolve these projects (every project, and URL constraints, when empty).
    Update(Vec<String>),
}

impl<'a> Session<'a> {
    /// Loads the manifest at `path`.
    pub fn new(
        path: &std::path::Path,
        cache: Cache,
        reporter: &'a dyn Reporter,
        offline: bool,
    ) -> Result<Self> {
        let manifest = Manifest::load(path)?;
        let offline = offline || manifest.settings.offline;
        Ok(Session { manifest, cache, reporter, offline, moved: Mutex::default(), remote: None })
    }

    /// `wrap check`: the manifest is valid (loading it checked that) and the lock's state.
    pub fn check(&self, locked: bool) -> Result<()> {
        let path = Lock::path_for(&self.manifest.path);
        let state = match Lock::load(&path)? {
            None if locked => return Err(Error::LockMissing { path }),
            None => "missing (run `wrap lock`)",
            Some(lock) => {
                let differences = lock::drift(&self.manifest, &lock, &lock::local_digests(&self.manifest)?);
                if differences.is_empty() {
                    "up to date"
                } else if locked {
                    return Err(Error::LockDrift { path, differences });
                } else {
                    for d in &differences {
                        self.reporter.warn(format!("lock out of date: {d}"));
                    }
                    "out of date (run `wrap lock`)"
                }
            }
        };
        self.reporter.report(&Event::Checked {
            manifest: self.manifest.path.display().to_string(),
            projects: self.manifest.projects.len(),
            lock: state,
        });
        Ok(())
    }

    /// Brings the lock in line with the manifest as `mode` says, writes it when it changed, and
    /// returns it. Closures are kept while they stand, never resolved here (`wrap lock` does).
    pub fn lock(&self, mode: &LockMode) -> Result<Lock> {
        self.lock_with(mode, true)
    }

    /// [`Session::lock`]; with `closures` false, `--locked` does not ask for closures (a fetch
    /// installs nothing).
    fn lock_with(&self, mode: &LockMode, closures: bool) -> Result<Lock> {
        let lock = self.pinned(mode, closures)?;
        if *mode != LockMode::Locked {
            self.write_lock(&lock)?;
        }
        Ok(lock)
    }

    /// Writes `lock` when the file does not already hold it; whether it did.
    fn write_lock(&self, lock: &Lock) -> Result<bool> {
        let path = Lock::path_for(&self.manifest.path);
        let written = lock.write(&path)?;
        if written {
            self.reporter.status("Writing", path.display().to_string());
        }
        Ok(written)
    }

    /// The lock as `mode` makes it from the file and the manifest, not written; `closures`:
    /// whether a missing or stale closure is drift.
    fn pinned(&self, mode: &LockMode, closures: bool) -> Result<Lock> {
        let _cache = self.hold_cache()?;
        let _busy = crate::interrupt::Busy::start();
        let manifest = &self.manifest;
        let path = Lock::path_for(&manifest.path);
        let old = Lock::load(&path)?;
        let digests = lock::local_digests(manifest)?;
        if *mode == LockMode::Locked {
            let lock = old.ok_or_else(|| Error::LockMissing { path: path.clone() })?;
            let differences: Vec<Drift> = lock::drift(manifest, &lock, &digests)
                .into_iter()
                .filter(|d| closures || !d.is_closure())
                .collect();
            if !differences.is_empty() {
                return Err(Error::LockDrift { path, differences });
            }
            return Ok(lock);
        }
        let updating = |name: &str| match mode {
            LockMode::Update(names) => names.is_empty() || names.iter().any(|n| n == name),
            _ => false,
        };
        if let LockMode::Update(names) = mode {
            self.check_names(names)?;
        }
        let old = old.unwrap_or_default();

        let mut new = Lock::new();
        for c in &manifest.settings.constraints {
            let sha256 = match c {
                Constraint::File(p) => digests[&p.rel].clone(),
                Constraint::Url(url) => {
                    let kept = old.constraints.iter().find(|l| l.source == *url);
                    match kept {
                        Some(l) if !(matches!(mode, LockMode::Update(n) if n.is_empty())) => l.sha256.clone(),
                        _ => {
                            self.reporter.status("Downloading", url.clone());
                            source::download::download(&self.cache, url)?
                        }
                    }
                }
            };
            new.constraints.push(LockedFile { source: c.source().into(), sha256 });
        }
        for project in &manifest.projects {
            let patches = project
                .patches
                .iter()
                .map(|p| LockedFile { source: p.rel.clone(), sha256: digests[&p.rel].clone() })
                .collect();
            let previous = old.project(&project.name);
            let kept = previous.filter(|l| l.same_source(project) && !updating(&project.name));
            let (commit, commit_time, version) = match kept {
                Some(l) => (l.commit.clone(), l.commit_time, l.version.clone()),
                None => self.pin(project, &old)?,
            };
            let mut pinned = LockedProject {
                name: project.name.clone(),
                git: project.git.written.clone(),
                git_ref: project.git_ref.clone(),
                commit,
                commit_time,
                version,
                patches,
                closure: None,
                releases: previous.map(|l| l.releases.clone()).unwrap_or_default(),
            };
            // A closure stands while what it was resolved from does.
            let inputs = lock::closure_inputs(project, &pinned, &new.constraints);
            pinned.closure = previous.and_then(|l| l.closure.clone()).filter(|c| c.inputs == inputs);
            new.projects.push(pinned);
        }
        let kept: Vec<Resolved> = new
            .projects
            .iter()
            .filter_map(|p| old.resolved(&p.name).filter(|_| p.closure.is_some()))
            .collect();
        new.distributions = lock::closure::merge(&kept);
        Ok(Lock { image: self.pin_base(&old, mode)?, ..new })
    }

    /// Resolves `project`'s ref now and reports a pin that moved.
    fn pin(&self, project: &crate::manifest::Project, old: &Lock) -> Result<(String, i64, String)> {
        self.reporter.project_status(
            "Resolving",
            &project.name,
            format!("`{}` in {}", project.git_ref, project.git.written),
        );
        let mut warnings = Vec::new();
        let resolved = source::resolve(&self.cache, project, self.offline, &mut warnings);
        self.warn_all(warnings);
        let (commit, time, version) = resolved?;
        let before = old.project(&project.name).map(|l| l.commit.as_str());
        if let Some(before) = before.filter(|b| *b != commit) {
            self.moved.lock().unwrap_or_else(|e| e.into_inner()).insert(project.name.clone(), before.into());
        }
        if before != Some(commit.as_str()) {
            let from = before.map(|c| format!("{} -> ", short(c, 12))).unwrap_or_default();
            self.reporter.project_status(
                "Locking",
                &project.name,
                format!("{from}{} ({version})", short(&commit, 12)),
            );
        }
        Ok((commit, time, version))
    }

    /// `wrap plan`: what a build would do.
    pub fn plan(&self, mode: &LockMode, inputs: &PlanInputs) -> Result<BuildPlan> {
        let mut lock = self.lock(mode)?;
        self.releases(&mut lock, mode, inputs)?;
        let plan = self.make_plan(&lock, inputs)?;
        // What each project's bindep.txt asks of the system, read from its mirror at the pinned
        // commit (nothing is fetched for it).
        let mut bindep = BTreeMap::new();
        for planned in &plan.projects {
            let Some(project) = self.manifest.project(&planned.name) else { continue };
            let text =
                source::git::read_file_at(&self.cache, &project.git.url, &planned.commit, "bindep.txt");
            if let Some(text) = text {
                bindep.insert(
                    planned.name.clone(),
                    source::bindep::for_this_host(&String::from_utf8_lossy(&text)),
                );
            }
        }
        self.reporter.report(&Event::Plan { plan: &plan, bindep: &bindep });
        Ok(plan)
    }

    /// The plan, with what it needs from this machine: the digest of the local wheels the
    /// manifest points at, where uv is, `--offline`; the output directory made absolute, so
    /// that the artifact paths printed on stdout work from any directory.
    fn make_plan(&self, lock: &Lock, inputs: &PlanInputs) -> Result<BuildPlan> {
        let out = inputs.out.as_ref().map(std::path::absolute).transpose()?;
        let sign_key = inputs.sign_key.as_ref().map(std::path::absolute).transpose()?;
        let inputs = PlanInputs {
            sign_key,
            find_links_digest: self.find_links_digest()?,
            uv: installer::find_on_path("uv"),
            offline: self.offline,
            out,
            base_layout: self.base_for_plan(lock, inputs)?,
            ..inputs.clone()
        };
        plan::plan(&self.manifest, lock, &inputs)
    }

    /// `release = "auto"`: gives each planned version whose build inputs changed since the lock
    /// gave it a release the next one (1 for a version built for the first time), and records it
    /// in the lock; with `--locked`, such a change is drift.
    fn releases(&self, lock: &mut Lock, mode: &LockMode, inputs: &PlanInputs) -> Result<()> {
        if self.manifest.settings.release != plan::AUTO_RELEASE {
            return Ok(());
        }
        let probe = self.make_plan(lock, &PlanInputs { release_probe: true, ..inputs.clone() })?;
        let mut changed = Vec::new();
        for planned in &probe.projects {
            let Some(locked) = lock.projects.iter_mut().find(|p| p.name == planned.name) else { continue };
            let release = match locked.releases.iter().find(|r| r.version == planned.version) {
                Some(r) if r.inputs == planned.key => continue,
                Some(r) => r.release + 1,
                None => 1,
            };
            locked.releases.retain(|r| r.version != planned.version);
            let (version, inputs) = (planned.version.clone(), planned.key.clone());
            locked.releases.push(lock::LockedRelease { version: version.clone(), inputs, release });
            locked.releases.sort_by(|a, b| a.version.cmp(&b.version));
            changed.push(Drift::ReleaseChanged { project: planned.name.clone(), version, release });
        }
        if changed.is_empty() {
            return Ok(());
        }
        if *mode == LockMode::Locked {
            return Err(Error::LockDrift { path: Lock::path_for(&self.manifest.path), differences: changed });
        }
        for drift in &changed {
            if let Drift::ReleaseChanged { project, version, release } = drift {
                self.reporter.project_status("Releasing", project, format!("{version} as release {release}"));
            }
        }
        self.write_lock(lock).map(drop)
    }

    /// Names and sizes of every file in the `find_links` directories (wheel names carry their
    /// versions); reading every wheel would make a no-op build slow on a large wheelhouse.
    fn find_links_digest(&self) -> Result<String> {
        let mut listing = String::new();
        for dir in &self.manifest.settings.find_links {
            for entry in walkdir::WalkDir::new(&dir.abs).sort_by_file_name() {
                let entry = entry.map_err(std::io::Error::from)?;
                if entry.file_type().is_file() {
                    let rel = entry.path().strip_prefix(&dir.abs).unwrap_or(entry.path());
                    let size = entry.metadata().map_err(std::io::Error::from)?.len();
                    listing.push_str(&format!("{}/{}\t{size}\n", dir.rel, rel.display()));
                }
            }
        }
        Ok(sha256_hex(listing.as_bytes()))
    }

    /// The cache's shared lock, held while a command uses the cache (see `wrap clean`).
    fn hold_cache(&self) -> Result<FileLock> {
        self.cache.lock_shared(|| {
            self.reporter.status("Waiting", "for `wrap clean` to finish with the cache".into())
        })
    }

    /// Reports what a stage repaired on its way.
    /// The project's patched checkout at its pin ([`source::checkout`]), its warnings reported;
    /// a patch that does not apply says whether this run moved the pin under it.
    fn checkout(
        &self,
        project: &crate::manifest::Project,
        locked: &LockedProject,
        offline: bool,
    ) -> Result<source::Checkout> {
        let mut warnings = Vec::new();
        let checkout = source::checkout(&self.cache, project, locked, offline, &mut warnings);
        self.warn_all(warnings);
        checkout.map_err(|e| match e {
            Error::PatchApply { project, patch, commit, file, line, detail, moved_from: None } => {
                let moved_from = self.moved.lock().unwrap_or_else(|e| e.into_inner()).get(&project).cloned();
                Error::PatchApply { project, patch, commit, file, line, detail, moved_from }
            }
            e => e,
        })
    }

    fn warn_all(&self, warnings: Vec<String>) {
        for warning in warnings {
            self.reporter.warn(warning);
        }
    }

    fn check_names(&self, names: &[String]) -> Result<()> {
        match names.iter().find(|n| self.manifest.project(n).is_none()) {
            Some(name) => Err(Error::UnknownProject {
                name: name.clone(),
                known: self.manifest.projects.iter().map(|p| p.name.clone()).collect(),
            }),
            None => Ok(()),
        }
    }
}

impl Session<'_> {
    /// `wrap build`: every planned project into every planned format, `options.jobs` projects at
    /// a time. A project that fails does not stop the others unless `options.fail_fast`; the
    /// summary lists every project, and the artifacts are reported in plan order at the end.
    pub fn build(
        &self,
        mode: &LockMode,
        inputs: &PlanInputs,
        options: &BuildOptions,
    ) -> Result<Vec<Artifact>> {
        let started = Instant::now();
        let _cache = self.hold_cache()?;
        let mut lock = self.lock(mode)?;
        self.releases(&mut lock, mode, inputs)?;
        let plan = self.make_plan(&lock, inputs)?;
        let python = venv::python::probe(&plan.python, plan.installer == Installer::Pip)?;
        let plan = self.for_python(mode, &mut lock, plan, inputs, &python)?;
        let backend = Backend::choose(plan.installer, plan.uv.as_deref(), &self.cache, &python)?;
        let installer_version = backend.version()?;
        let wrap = build::tools::wrap_identity(&self.cache)?;
        // The key is loaded (and its passphrase checked) before anything is built.
        let signer = match &plan.signing {
            Some(signing) if plan.formats.contains(&Format::Rpm) => {
                Some(crate::signing::Signer::load(&signing.key, &signing.passphrase_env)?)
            }
            _ => None,
        };
        let members = crate::compress::Members::new(self.cache.members_dir(), &wrap);
        let remote = self.remote.clone();
        let tools = build::Tools { installer_version, python, backend, wrap, signer, members, remote };
        tracing::debug!(tools = ?tools.key_inputs(), "build keys include");
        let constraints = self.constraint_files(&lock)?;
        let build_one =
            |planned: &PlannedProject| self.build_one(&plan, &lock, planned, &tools, &constraints, options);
        let outcomes = run_parallel(&plan.projects, options, self.reporter, build_one);
        self.record_times(&outcomes)?;

        let mut artifacts = Vec::new();
        crate::interrupt::wait_for_handler();
        for outcome in &outcomes {
            for artifact in &outcome.artifacts {
                self.reporter.report(&Event::Artifact { artifact });
                artifacts.push(artifact.clone());
            }
        }
        let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == Status::Failed).collect();
        let exit_code = failed.first().map_or(0, |o| o.exit_code);
        let result = crate::report::RunResult::of(exit_code);
        let seconds = started.elapsed().as_secs_f64();
        self.reporter.report(&Event::Summary { result, exit_code, seconds, projects: &outcomes });
        if let Some(first) = failed.first() {
            return Err(Error::BuildFailed {
                failed: failed.iter().map(|o| o.project.clone()).collect(),
                total: outcomes.len(),
                exit_code: first.exit_code,
            });
        }
        Ok(artifacts)
    }

    /// Every constraints file as a local path: the manifest's own, or the cached download
    /// (fetched now if the cache lacks it, and checked against the lock).
    fn constraint_files(&self, lock: &Lock) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for c in &self.manifest.settings.constraints {
            out.push(match c {
                Constraint::File(p) => p.abs.clone(),
                Constraint::Url(url) => {
                    let locked = lock.constraints.iter().find(|l| l.source == *url).expect("locked");
                    source::download::ensure(&self.cache, url, &locked.sha256, self.offline)?
                }
            });
        }
        Ok(out)
    }
}

/// `wrap clean`: waits until no other wrap process uses the cache, then trims it.
pub fn clean(cache: &Cache, policy: &Policy, reporter: &dyn Reporter) -> Result<()> {
    let _only_us = FileLock::acquire(&cache.lock_path("cache"), Kind::Exclusive, || {
        reporter.status("Waiting", "for other wrap processes to finish with the cache".into())
    })?;
    let removed = prune::clean(cache, policy, std::time::SystemTime::now())?;
    reporter.report(&Event::Cleaned { removed: &removed, dry_run: policy.dry_run });
    // A size the cache could not be brought to is said, not passed over.
    if let Some(warning) = prune::shortfall(cache, policy, &removed)? {
        reporter.warn(warning);
    }
    Ok(())
}

/// `wrap cache info`.
pub fn cache_info(cache: &Cache, reporter: &dyn Reporter) -> Result<()> {
    let usage = prune::usage(cache)?;
    reporter.report(&Event::CacheInfo { usage: &usage });
    Ok(())
}
