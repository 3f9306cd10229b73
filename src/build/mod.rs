//! One project's build, after its sources are fetched, from its plan and its checkout only: the
//! staged virtualenv, relocated once per kind of tree (the tarball's relocatable tree, and the
//! package root shared by .deb and .rpm), verified, then an artifact per format through the
//! [`crate::package::Packager`] of the format.

pub mod spec;
pub mod tools;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::artifact::{Artifact, Format};
use crate::error::Result;
use crate::manifest::Bytecode;
use crate::package::layout::bundle_dir;
use crate::package::{self, tarball};
use crate::plan::{BuildPlan, PlannedProject, key};
use crate::provenance::{self, BuildInfo, Metadata};
use crate::report::{Event, Reporter, Stage};
use crate::source::Checkout;
use crate::time::timed;
use crate::venv;
use crate::venv::bytecode::compile;
use crate::venv::relocate::{Origin, Target};
pub use tools::Tools;

/// The inputs of the build key of `planned`'s artifact in `format`: the plan's, the tools', the
/// format and its compression.
pub fn key_inputs(planned: &PlannedProject, tools: &Tools, format: Format) -> BTreeMap<String, String> {
    let compression = planned.compression.get(&format).map_or(String::new(), |c| c.to_string());
    let mut writer = format!("{} {compression}", format.as_str());
    if let Some(signer) = tools.signer.as_ref().filter(|_| format == Format::Rpm) {
        writer.push_str(&format!(" signed by {}", signer.fingerprint));
    }
    if let Some(image) = planned.image.as_ref().filter(|_| format == Format::Oci) {
        // Where the base lies and how it is named do not change the image; its digest and the
        // configuration do.
        let mut what = serde_json::to_value(image).expect("serializes");
        if let Some(m) = what.as_object_mut() {
            m.remove("base");
            m.remove("base_name");
        }
        writer.push_str(&format!(" on {}", crate::digest::sha256_hex(&crate::oci::to_bytes(&what))));
    }
    key::artifact_inputs(planned, &tools.key_inputs(), &writer)
}

/// What one project's build needs.
pub struct Job<'a> {
    /// The build-wide decisions.
    pub plan: &'a BuildPlan,
    /// The project's.
    pub planned: &'a PlannedProject,
    /// Its patched checkout.
    pub checkout: &'a Checkout,
    /// The plan's constraints, as local files.
    pub constraints: &'a [PathBuf],
    /// Formats to write (those the cache does not hold), each once.
    pub formats: &'a [Format],
    /// Where artifacts go.
    pub out_dir: &'a Path,
}

/// The `exclude` patterns as one matcher: `*` within one path component, `**` across them,
/// as in .gitignore. The manifest checked each pattern when it was read.
pub fn exclude_set(patterns: &[String]) -> Result<globset::GlobSet> {
    let mut set = globset::GlobSetBuilder::new();
    let bad = |e: globset::Error| crate::error::Error::Io(std::io::Error::other(e.to_string()));
    for pattern in patterns {
        set.add(globset::GlobBuilder::new(pattern).literal_separator(true).build().map_err(bad)?);
    }
    set.build().map_err(bad)
}

/// Builds `job`'s virtualenv and writes its artifacts, adding each to `placed` as soon as it is
/// in the output directory (so that a caller can remove them when a later step fails).
pub fn build(
    cache: &crate::cache::Cache,
    tools: &Tools,
    job: &Job<'_>,
    reporter: &dyn Reporter,
    placed: &mut Vec<Artifact>,
) -> Result<()> {
    let planned = job.planned;
    let (python, backend) = (&tools.python, &tools.backend);
    let mut staged = build_venv(cache, tools, job, reporter)?;
    let origin =
        Origin { git: planned.public_git.as_deref(), git_ref: &planned.git_ref, commit: &planned.commit };
    let packages: Vec<Format> =
        job.formats.iter().copied().filter(|f| package::packager(*f).is_some()).collect();
    let (tar_tree, root) = (staged.root().join("tar"), staged.root().join("package"));
    let bundle = bundle_dir(&root, &planned.install_path);
    let mut targets = Vec::new();
    if !packages.is_empty() {
        targets.push((bundle.clone(), Target::Fixed(&planned.install_path)));
    }
    if job.formats.contains(&Format::Tar) {
        targets.push((tar_tree.clone(), Target::Relocatable));
    }
    reporter.stage(&planned.name, Stage::Relocate);
    staged.relocate_all(&planned.name, &targets, python, &origin, &exclude_set(&planned.exclude)?)?;
    let names = staged.names().to_vec();
    let Some((first, first_target)) = targets.first() else { return Ok(()) };
    // `bytecode = "build"`: every format ships the same checked-hash pycs, compiled (or taken
    // from the cache) before the entry points are imported, which then load them instead of
    // compiling every module in memory (python-openstackclient: 2.6 s -> 0.9 s of imports).
    if planned.bytecode == Bytecode::Build {
        compile_all(cache, tools, &planned.name, &targets, reporter)?;
    }
    // Every tree holds the same distributions: their metadata is read once.
    let metadata = provenance::installed_metadata(first)?;
    let info = build_info(job, tools, &metadata);
    for (tree, _) in &targets {
        timed(&planned.name, "provenance written", || {
            provenance::write(tree, &info, &metadata, planned.source_date_epoch)
        })?;
    }
    // The bundle is verified while the artifacts are written (on another core); none is put in
    // place before it passed, and a failure leaves none.
    reporter.stage(&planned.name, Stage::Verify);
    let verdict = Verdict::default();
    let gate = || verdict.wait();
    let (verified, written) = std::thread::scope(|scope| {
        let verifying = scope.spawn(|| {
            // A verification that panics fails the gate too, instead of leaving it waiting.
            let _failed_unless_passed = Unpassed(&verdict);
            let result = timed(&planned.name, "verified", || {
                venv::verify::verify(
                    &planned.name,
                    first,
                    *first_target,
                    &names,
                    &planned.verify_skip,
                    backend,
                )
            });
            if let Ok(report) = &result {
                reporter.report(&Event::Verified { project: &planned.name, verified: report });
            }
            verdict.set(result.is_ok());
            result
        });
        let gate = package::Gate(&gate);
        let written =
            write_artifacts(tools, job, &staged, &metadata, &names, &packages, reporter, placed, gate);
        (verifying.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), written)
    });
    verified?;
    written
}

/// Whether the bundle passed its verification, once known.
#[derive(Default)]
struct Verdict {
    passed: std::sync::Mutex<Option<bool>>,
    known: std::sync::Condvar,
}

impl Verdict {
    fn set(&self, passed: bool) {
        self.passed.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(passed);
        self.known.notify_all();
    }

    /// Waits for the verdict: an error when the bundle failed (the verification's own error is
    /// the one reported).
    fn wait(&self) -> Result<()> {
        let mut passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        while passed.is_none() {
            passed = self.known.wait(passed).unwrap_or_else(|e| e.into_inner());
        }
        match *passed {
            Some(true) => Ok(()),
            _ => Err(crate::error::Error::Command {
                program: "wrap".into(),
                detail: "the bundle failed its verification".into(),
            }),
        }
    }
}

/// Fails the verdict when dropped before it was given.
struct Unpassed<'a>(&'a Verdict);

impl Drop for Unpassed<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// The package formats' artifacts and the tarball of `job`, each put in place once `gate`
/// allows it.
#[allow(clippy::too_many_arguments)]
fn write_artifacts(
    tools: &Tools,
    job: &Job<'_>,
    staged: &venv::build::Staged,
    metadata: &[provenance::Metadata],
    names: &[String],
    packages: &[Format],
    reporter: &dyn Reporter,
    placed: &mut Vec<Artifact>,
    gate: package::Gate<'_>,
) -> Result<()> {
    let (python, planned) = (&tools.python, job.planned);
    let root = staged.root().join("package");
    if !packages.is_empty() {
        // The configuration the packages ship: the patched tree's `etc/`, from the index.
        let source = staged.root().join("source");
        job.checkout.write_dir(&planned.name, "etc", &source)?;
        let parts = spec::Parts {
            planned,
            root: &root,
            bundle: &bundle_dir(&root, &planned.install_path),
            checkout: &source,
            metadata,
            names,
            abi: &python.abi,
        };
        write_packages(tools, job, &parts, packages, reporter, placed, gate)?;
    }
    if job.formats.contains(&Format::Tar) {
        reporter.stage(&planned.name, Stage::Package(Format::Tar));
        reporter.report(&Event::Status {
            verb: "Packaging",
            project: Some(&planned.name),
            format: Some(Format::Tar),
            detail: String::new(),
        });
        let tar_tree = staged.root().join("tar");
        let artifact = tarball::write(&tar_tree, planned, job.out_dir, Some(&tools.members), Some(gate))?;
        finished(reporter, planned, artifact, placed);
    }
    Ok(())
}

/// Compiles the bytecode of every tree, taking what it can from the remote cache, and says
/// how much came from there and which packs it refused.
fn compile_all(
    cache: &crate::cache::Cache,
    tools: &Tools,
    project: &str,
    targets: &[(PathBuf, Target<'_>)],
    reporter: &dyn Reporter,
) -> Result<()> {
    let (mut fetched, mut refused) = (0, Vec::new());
    for (tree, target) in targets {
        let got = compile(project, tree, *target, &tools.python, cache, tools.remote.as_deref())?;
        fetched += got.fetched;
        refused.extend(got.refused);
    }
    if let Some(first) = refused.first() {
        let n = refused.len();
        let message = format!("remote cache: {n} bytecode pack(s) refused ({first}); compiled instead");
        reporter.project_warn(project, message);
    }
    if fetched > 0 {
        let detail = format!("{fetched} bytecode file(s) from the remote cache");
        reporter.project_status("Downloaded", project, detail);
    }
    Ok(())
}

/// The project's virtualenv, staged: the lock's closure installed when the plan has one.
fn build_venv(
    cache: &crate::cache::Cache,
    tools: &Tools,
    job: &Job<'_>,
    reporter: &dyn Reporter,
) -> Result<venv::build::Staged> {
    let planned = job.planned;
    reporter.stage(&planned.name, Stage::Venv);
    let (python, backend) = (&tools.python, &tools.backend);
    let locked = if planned.closure.is_some() { ", locked closure" } else { "" };
    let versions =
        format!("Python {}, {} {}{locked}", python.version, backend.name(), tools.installer_version);
    reporter.project_status("Building", &planned.name, format!("{} ({versions})", planned.version));
    // A locked build installs from the lock's files in the cache, and from nothing else.
    let from_lock = match &planned.closure {
        Some(closure) => {
            let (links, offline) = (&job.plan.find_links, job.plan.offline);
            let fetched = venv::wheelhouse::ensure_closure(cache, &planned.name, closure, links, offline)?;
            if fetched > 0 {
                reporter.project_status("Fetched", &planned.name, format!("{fetched} locked file(s)"));
            }
            Some(vec![venv::wheelhouse::dir(cache)])
        }
        None => None,
    };
    let staged = venv::build::build(
        cache,
        python,
        backend,
        &venv::build::Input {
            project: &planned.name,
            checkout: job.checkout,
            extras: &planned.extras,
            pip_dependencies: &planned.pip_dependencies,
            constraints: job.constraints,
            find_links: from_lock.as_deref().unwrap_or(&job.plan.find_links),
            offline: from_lock.is_some() || job.plan.offline,
            python_version: &planned.source_version,
            prompt: &planned.package_name,
            source_date_epoch: planned.source_date_epoch,
            locked: planned.closure.as_ref(),
            remote: tools.remote.as_deref(),
            progress: &|line: &str| {
                reporter.report(&Event::Stage {
                    project: &planned.name,
                    stage: Stage::Venv.name(),
                    format: None,
                    detail: Some(line),
                })
            },
        },
    )?;
    let prebuilt = &staged.prebuilt;
    if let Some(first) = prebuilt.refused.first() {
        let n = prebuilt.refused.len();
        let message = format!("remote cache: {n} built wheel(s) refused ({first}); built here instead");
        reporter.project_warn(&planned.name, message);
    }
    if !prebuilt.fetched.is_empty() {
        let detail =
            format!("wheel(s) built from sdists from the remote cache: {}", prebuilt.fetched.join(", "));
        reporter.project_status("Downloaded", &planned.name, detail);
    }
    Ok(staged)
}

/// The package model, its content list, then each package format through its packager.
fn write_packages(
    tools: &Tools,
    job: &Job<'_>,
    parts: &spec::Parts<'_>,
    formats: &[Format],
    reporter: &dyn Reporter,
    placed: &mut Vec<Artifact>,
    gate: package::Gate<'_>,
) -> Result<()> {
    let planned = job.planned;
    let spec = spec::package_spec(parts)?;
    let content = package::content(&spec, formats)?;
    for format in formats {
        let Some(packager) = package::packager(*format) else { continue };
        reporter.stage(&planned.name, Stage::Package(*format));
        reporter.report(&Event::Status {
            verb: "Packaging",
            project: Some(&planned.name),
            format: Some(*format),
            detail: String::new(),
        });
        let options = package::Options {
            compression: planned.compression[format],
            signer: tools.signer.as_ref(),
            members: Some(&tools.members),
            gate: Some(gate),
        };
        // Side by side, a .deb or .rpm is two packages: this version's and the metapackage.
        let packages = match (&planned.meta_package, planned.meta_files.get(format)) {
            (Some(meta), Some(meta_file)) => {
                let (versioned, metapackage) = package::meta::split(&spec, &content, meta, *format)?;
                let own = |(s, c): (package::spec::PackageSpec, package::content::Content)| {
                    (Cow::Owned(s), Cow::Owned(c))
                };
                vec![(own(versioned), &planned.files[format]), (own(metapackage), meta_file)]
            }
            // The image is one artifact whatever the version: the unversioned name.
            (Some(meta), None) if *format == Format::Oci => {
                let named = package::spec::PackageSpec { name: meta.clone(), ..spec.clone() };
                vec![((Cow::Owned(named), Cow::Borrowed(&content)), &planned.files[format])]
            }
            _ => vec![((Cow::Borrowed(&spec), Cow::Borrowed(&content)), &planned.files[format])],
        };
        for ((spec, content), file_name) in packages {
            let (artifact, warnings) = timed(&planned.name, &format!("wrote {file_name}"), || {
                package::write(packager, &spec, &content, &options, file_name, job.out_dir)
            })?;
            for warning in warnings {
                reporter.project_warn(&planned.name, warning);
            }
            finished(reporter, planned, artifact, placed);
        }
    }
    Ok(())
}

fn finished(
    reporter: &dyn Reporter,
    planned: &PlannedProject,
    artifact: Artifact,
    placed: &mut Vec<Artifact>,
) {
    reporter.report(&Event::Status {
        verb: "Finished",
        project: Some(&planned.name),
        format: Some(artifact.format),
        detail: format!("-> {}", artifact.path.display()),
    });
    placed.push(artifact);
}

fn build_info(job: &Job<'_>, tools: &Tools, metadata: &[Metadata]) -> BuildInfo {
    let planned = job.planned;
    BuildInfo {
        wrap_version: env!("CARGO_PKG_VERSION"),
        plan_sha256: planned.key.clone(),
        project: planned.name.clone(),
        package: format!("{} {}-{}", planned.package_name, planned.version, planned.release),
        version: planned.version.clone(),
        git: planned.git.clone(),
        git_ref: planned.git_ref.clone(),
        commit: planned.commit.clone(),
        patches: planned.patches.clone(),
        constraints: job.plan.constraints.clone(),
        python_version: tools.python.version.clone(),
        python_abi: tools.python.abi.clone(),
        python: tools.python.path.display().to_string(),
        installer: tools.backend.name().into(),
        installer_version: tools.installer_version.clone(),
        locked: planned.closure.is_some(),
        distributions: locked_hashes(provenance::distributions(metadata), planned.closure.as_ref()),
    }
}

/// `distributions` with the sha256 of the files `closure` allowed for each (by normalized name
/// and version).
fn locked_hashes(
    mut distributions: Vec<provenance::Distribution>,
    closure: Option<&crate::lock::closure::Resolved>,
) -> Vec<provenance::Distribution> {
    let Some(closure) = closure else { return distributions };
    for d in &mut distributions {
        let name = crate::pyenv::normalize(&d.name);
        if let Some(locked) = closure.install.iter().find(|l| l.name == name && l.version == d.version) {
            d.sha256 = locked.files.iter().map(|f| f.sha256.clone()).collect();
        }
    }
    distributions
}
