//! Resolving a project's dependency closure for `wrap lock` with the installer's resolver (`uv
//! pip compile --format pylock.toml`, the PEP 751 lock format, or pip's `install --dry-run
//! --report`), not one of wrap's own: what the project's wheel, extras and extra requirements
//! install under the constraints, for the interpreter (its version and platform), each
//! distribution with the files that may be installed for it and their sha256; and the same for the build requirements of the project's own wheel and of every
//! distribution in the closure that is built from an sdist. A source tree's build requirements
//! are its pyproject.toml's `[build-system] requires` (setuptools and wheel when it has none)
//! and what its build backend adds when asked (`get_requires_for_build_wheel`: setup.py's
//! `setup_requires`), asked in a scratch venv that has the former; [`sources`] does that part.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::lock::closure::{Distribution, Resolved};
use crate::venv::installer::Backend;
use crate::venv::python::Interpreter;

mod answers;
mod sources;

/// What to resolve, and from where.
pub struct Request<'a> {
    /// The project (for messages).
    pub project: &'a str,
    /// The installer whose resolver resolves: uv's (`uv pip compile`) or pip's (`pip install
    /// --dry-run --report`).
    pub backend: &'a Backend,
    /// The interpreter the closure is for.
    pub python: &'a Interpreter,
    /// The patched source tree.
    pub source: &'a Path,
    /// Extras of the project.
    pub extras: &'a [String],
    /// Extra requirements.
    pub dependencies: &'a [String],
    /// Constraints files (the project's own pins dropped).
    pub constraints: &'a [PathBuf],
    /// Local wheel directories.
    pub find_links: &'a [PathBuf],
    /// No index, no network.
    pub offline: bool,
    /// The version overrides of the project's own wheel build (PBR_VERSION, …).
    pub build_env: Vec<(String, String)>,
    /// The project's own distribution names, normalized (left out of the closure).
    pub names: &'a [String],
    /// A scratch directory for the input files.
    pub work: &'a Path,
    /// Where uv's output goes.
    pub log: &'a Path,
    /// wrap's cache (uv's cache is under it).
    pub cache: &'a Cache,
}

/// Resolves the closure of `request`. The project's wheel is built first, with the version
/// overrides, and the closure resolved from it: a dependency built from an sdist during the
/// resolution must not see `PBR_VERSION` (it would take the project's version).
pub fn resolve(request: &Request<'_>) -> Result<Resolved> {
    fs_err::create_dir_all(request.work)?;
    fs_err::write(request.log, "")?;
    let wheel_dir = request.work.join("wheel");
    let mut cmd = request.backend.wheel_command(&request.python.path, &wheel_dir);
    cmd.arg(request.source).envs(request.build_env.iter().map(|(k, v)| (k, v)));
    run(request, "the project's wheel", &mut cmd)?;
    let mut project = super::installer::wheel_in(&wheel_dir)?.display().to_string();
    if !request.extras.is_empty() {
        project = format!("{project}[{}]", request.extras.join(","));
    }
    let runtime: Vec<String> = std::iter::once(project).chain(request.dependencies.iter().cloned()).collect();
    let install = compile(request, "requirements", &runtime, request.constraints)?;
    let asker = sources::Asker { request, tree: &request.work.join("build-requirements") };
    let mut requires: BTreeSet<String> =
        asker.requirements("the project", request.source, &request.build_env)?.into_iter().collect();
    // The sdists of the closure, then those among the build requirements, until no new one
    // appears: each round asks at least one more sdist, so this ends.
    let mut asked: BTreeSet<String> = BTreeSet::new();
    let mut build: Option<Vec<Distribution>> = None;
    let build = loop {
        let sdists: Vec<Distribution> = install
            .iter()
            .chain(build.iter().flatten())
            .filter(|d| d.files.iter().all(|f| !f.name.ends_with(".whl")) && !asked.contains(&d.pin()))
            .cloned()
            .collect();
        if sdists.is_empty()
            && let Some(done) = build.take()
        {
            break done;
        }
        for sdist in &sdists {
            requires.extend(asker.sdist_requirements(sdist)?);
            asked.insert(sdist.pin());
        }
        let list: Vec<String> = requires.iter().cloned().collect();
        build = Some(compile(request, "build requirements", &list, &[])?);
    };
    Ok(Resolved { python: request.python.version.clone(), build, install })
}

/// Resolves `requirements` (`what` names them in errors) under `constraints` with the
/// backend's resolver: `uv pip compile` to a pylock.toml, or `pip install --dry-run --report`
/// (pip of the tools venv made from the manifest's interpreter, so the same version and
/// platform).
fn compile(
    request: &Request<'_>,
    what: &str,
    requirements: &[String],
    constraints: &[PathBuf],
) -> Result<Vec<Distribution>> {
    let stem = what.replace(' ', "-");
    let input = request.work.join(format!("{stem}.in"));
    fs_err::write(&input, requirements.iter().map(|r| format!("{r}\n")).collect::<String>())?;
    match request.backend {
        Backend::Uv(uv) => {
            let mut cmd = Command::new(uv);
            cmd.args([
                "pip",
                "compile",
                "--format",
                "pylock.toml",
                "--no-header",
                "--quiet",
                "--color",
                "never",
            ])
            .args(["--no-progress", "--no-python-downloads", "--python"])
            .arg(&request.python.path)
            .arg(&input);
            for file in constraints {
                cmd.arg("--constraint").arg(file);
            }
            // What the index serves now, not what uv's cache remembers of it (uv refuses to
            // refresh offline, also when the environment says so).
            let uv_offline =
                std::env::var("UV_OFFLINE").is_ok_and(|v| ["1", "true", "yes", "on"].contains(&v.as_str()));
            if !request.offline && !uv_offline {
                cmd.arg("--refresh");
            }
            let text = run(request, what, &mut cmd)?;
            answers::pylock(request.project, request.names, &text)
        }
        Backend::Pip(tools) => {
            let report = request.work.join(format!("{stem}.report.json"));
            let mut cmd = Command::new(tools);
            cmd.args(["-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"])
                .args(["--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--report"])
                .arg(&report)
                .arg("-r")
                .arg(&input);
            for file in constraints {
                cmd.arg("--constraint").arg(file);
            }
            run(request, what, &mut cmd)?;
            answers::pip_report(request.project, request.names, &fs_err::read_to_string(&report)?)
        }
    }
}

/// Runs installer command `cmd` for `what` with the request's cache, sources and environment;
/// its stderr goes to the log; returns its stdout.
pub(super) fn run(request: &Request<'_>, what: &str, cmd: &mut Command) -> Result<String> {
    request.backend.isolate(cmd, request.cache, request.find_links, request.offline);
    // The lock's constraints are the manifest's, and nothing else.
    for key in ["UV_CONSTRAINT", "UV_BUILD_CONSTRAINT", "PIP_CONSTRAINT"] {
        cmd.env_remove(key);
    }
    tracing::debug!(project = request.project, command = ?cmd, "resolving");
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output =
        crate::interrupt::output(cmd).map_err(|e| Error::Command { program, detail: e.to_string() })?;
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let mut log = fs_err::OpenOptions::new().create(true).append(true).open(request.log)?;
    std::io::Write::write_all(&mut log, stderr.as_bytes())?;
    if !output.status.success() {
        if let Some(requirement) = super::installer::missing_requirement(&stderr) {
            return Err(Error::MissingRequirement {
                project: request.project.into(),
                requirement,
                log: request.log.into(),
                offline: request.offline,
                locked: false,
            });
        }
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        return Err(Error::ResolveFailed {
            project: request.project.into(),
            what: what.into(),
            tail: lines[lines.len().saturating_sub(12)..].iter().map(|l| l.to_string()).collect(),
            log: request.log.into(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
