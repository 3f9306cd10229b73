//! A locked project's own wheel, built by calling its PEP 517 hooks in one Python process, in a
//! build environment kept in the cache (`buildenvs/<key>`) instead of the one `uv build` makes
//! and throws away each time: about 0.5 s of a warm rebuild of python-openstackclient.
//!
//! The environment is the one uv would make: uv installs the project's `build-system.requires`
//! under the locked build requirements (each file checked against its sha256), with nothing
//! else in it; it is kept under what makes it ([`key`]) and only read afterwards. The hooks are
//! called the way uv calls them (positional arguments, `{}` settings, `backend-path` first on
//! `sys.path`, the environment's `bin` first on PATH). When the backend asks for a build
//! requirement the environment does not satisfy (`get_requires_for_build_wheel`), or the
//! project declares no `[build-system]` table, wrap says so in its debug log and `uv build`
//! builds the wheel in isolation as before; `WRAP_ISOLATED_BUILDS=1` asks for that every time.
//! pip builds keep `pip wheel`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::lock::closure::Resolved;
use crate::venv::installer::{Backend, Request, scrub};

/// Calls the backend's hooks: `result`, `wheel_dir` and `backend` are its first arguments, the
/// `backend-path` entries the rest. It answers in the JSON file `result`: `{"wheel": name}`, or
/// `{"missing": [requirement, …]}` when the environment does not satisfy what the backend asks
/// for (it builds nothing then). The backend's own output goes to stdout and stderr.
const RUNNER: &str = r#"
import importlib, json, sys
result, wheel_dir, backend = sys.argv[1:4]
if sys.path and sys.path[0] == "":
    del sys.path[0]
sys.path[:0] = sys.argv[4:]
module, _, attribute = backend.partition(":")
hooks = importlib.import_module(module)
for part in filter(None, attribute.split(".")):
    hooks = getattr(hooks, part)

def answer(value):
    with open(result, "w") as out:
        json.dump(value, out)

asked = getattr(hooks, "get_requires_for_build_wheel", None)
requires = list(asked({})) if asked is not None else []
missing = []
if requires:
    from importlib.metadata import PackageNotFoundError, version
    try:
        from packaging.requirements import Requirement
    except ImportError:
        missing = ["(no `packaging` here to check %s)" % ", ".join(requires)]
    else:
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue
            try:
                have = version(requirement.name)
            except PackageNotFoundError:
                missing.append(line)
                continue
            if requirement.extras or not requirement.specifier.contains(have, prereleases=True):
                missing.append(line)
if missing:
    answer({"missing": missing})
else:
    answer({"wheel": hooks.build_wheel(wheel_dir, {}, None)})
"#;

/// Set to `1`, every wheel is built by `uv build` in a fresh environment of its own.
pub const ISOLATED: &str = "WRAP_ISOLATED_BUILDS";

/// The backend setuptools' legacy behaviour stands for, when `[build-system]` names none.
const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// A project's `[build-system]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    /// `requires`, as written.
    pub requires: Vec<String>,
    /// `build-backend`: `module.path[:object.path]`.
    pub backend: String,
    /// `backend-path`, as written (relative to the source tree).
    pub backend_path: Vec<String>,
}

#[derive(Deserialize)]
struct Pyproject {
    #[serde(rename = "build-system")]
    build_system: Option<Table>,
}

#[derive(Deserialize)]
struct Table {
    requires: Option<Vec<String>>,
    #[serde(rename = "build-backend")]
    build_backend: Option<String>,
    #[serde(rename = "backend-path")]
    backend_path: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Answer {
    wheel: Option<String>,
    missing: Option<Vec<String>>,
}

impl BuildSystem {
    /// The `[build-system]` of the project in `source`, when it has one wrap can use as it is:
    /// `requires` given, every requirement a plain line of a requirements file (no option, no
    /// comment), the backend a dotted name, its paths inside the tree.
    pub fn read(source: &Path) -> Option<BuildSystem> {
        let text = std::fs::read_to_string(source.join("pyproject.toml")).ok()?;
        let table = toml::from_str::<Pyproject>(&text).ok()?.build_system?;
        let system = BuildSystem {
            requires: table.requires?,
            backend: table.build_backend.unwrap_or_else(|| LEGACY_BACKEND.into()),
            backend_path: table.backend_path.unwrap_or_default(),
        };
        let plain = |r: &String| {
            r.starts_with(|c: char| c.is_ascii_alphanumeric())
                && !r.contains(|c: char| c.is_control() || c == '#')
        };
        let dotted = |s: &str| {
            s.split('.').all(|part| {
                part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        let (module, object) = system.backend.split_once(':').unwrap_or((&system.backend, ""));
        let inside = |p: &String| {
            let path = Path::new(p);
            !p.is_empty()
                && path.is_relative()
                && path
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
        };
        let usable = system.requires.iter().all(plain)
            && dotted(module)
            && (object.is_empty() || dotted(object))
            && system.backend_path.iter().all(inside);
        usable.then_some(system)
    }
}

/// What the environment of `system`, for `locked` and the interpreter `python`, is kept under:
/// the interpreter, the host, uv's version, the requirements and the locked build requirements
/// with their hashes.
pub fn key(system: &BuildSystem, locked: &Resolved, python: &Path, uv_version: &str) -> String {
    let mut hasher = Sha256::new();
    let mut field = |name: &str, value: &str| {
        hasher.update(format!("{name}={value}\n").as_bytes());
    };
    field("format", "wrap build environment 1");
    field("interpreter", &python.to_string_lossy());
    field("python", &locked.python);
    field("platform", &crate::host::platform());
    field("uv", uv_version);
    let mut requires = system.requires.clone();
    requires.sort();
    for requirement in &requires {
        field("requires", requirement);
    }
    for d in &locked.build {
        field("build", &d.hashed_requirement());
    }
    crate::digest::hex(hasher.finalize())
}

/// Builds the project wheel of `request` into its `wheel_dir` through the backend's hooks, in
/// the kept environment (made first when missing), when the build is a uv build of a project
/// with a usable `[build-system]`. `Ok(false)`: it built nothing; `uv build` is to.
pub fn build_wheel(
    backend: &Backend,
    request: &Request<'_>,
    locked: &Resolved,
    log: &fs_err::File,
) -> Result<bool> {
    let Backend::Uv(_) = backend else { return Ok(false) };
    if std::env::var_os(ISOLATED).is_some_and(|v| v == "1") {
        return Ok(false);
    }
    let Some(system) = BuildSystem::read(request.source) else {
        tracing::debug!(
            project = request.project,
            "no usable [build-system] table: the wheel is built by `uv build`"
        );
        return Ok(false);
    };
    let Some(env) = kept_env(backend, request, locked, &system, log)? else { return Ok(false) };
    let scratch = request.wheel_dir.parent().expect("the wheel directory has a parent");
    let result = scratch.join("hooks-result.json");
    fs_err::create_dir_all(request.wheel_dir)?;
    let bin = env.join("bin");
    let mut path = std::ffi::OsString::from(&bin);
    if let Some(rest) = std::env::var_os("PATH") {
        path.push(":");
        path.push(rest);
    }
    let mut cmd = Command::new(bin.join("python"));
    cmd.arg("-c")
        .arg(RUNNER)
        .arg(&result)
        .arg(request.wheel_dir)
        .arg(&system.backend)
        .args(&system.backend_path)
        .current_dir(request.source);
    scrub(&mut cmd);
    cmd.env("PATH", path)
        .env("VIRTUAL_ENV", &env)
        .env("PYTHONIOENCODING", "utf-8:backslashreplace")
        .envs(request.build_env.iter().map(|(k, v)| (k, v)));
    tracing::debug!(project = request.project, environment = %env.display(), backend = system.backend, "building the wheel through its hooks");
    backend.execute(request, &mut cmd, log)?;
    let answer: Answer = serde_json::from_slice(&fs_err::read(&result)?)
        .map_err(|e| std::io::Error::other(format!("{}: {e}", result.display())))?;
    match (answer.wheel, answer.missing) {
        (Some(_), _) => Ok(true),
        (None, missing) => {
            tracing::debug!(project = request.project, missing = ?missing.unwrap_or_default(), "the backend asks for what its kept environment lacks: the wheel is built by `uv build`");
            Ok(false)
        }
    }
}

/// The kept environment of `system`: made with uv from the locked build requirements when
/// missing. `None` when it cannot be made, or uv installed something the lock does not name
/// (`uv build` builds the wheel then).
fn kept_env(
    backend: &Backend,
    request: &Request<'_>,
    locked: &Resolved,
    system: &BuildSystem,
    log: &fs_err::File,
) -> Result<Option<PathBuf>> {
    let Backend::Uv(uv) = backend else { return Ok(None) };
    let python = fs_err::canonicalize(request.python)?;
    let dir = request.cache.root().join("buildenvs").join(key(system, locked, &python, &backend.version()?));
    if dir.is_dir() {
        crate::fs::touch(&dir);
        return Ok(Some(dir));
    }
    let scratch = request.wheel_dir.parent().expect("the wheel directory has a parent");
    let requires = scratch.join("build-requires.txt");
    let constraints = scratch.join("locked-build-constraints-env.txt");
    fs_err::write(&requires, system.requires.iter().map(|r| format!("{r}\n")).collect::<String>())?;
    fs_err::write(
        &constraints,
        locked.build.iter().map(|d| format!("{}\n", d.hashed_requirement())).collect::<String>(),
    )?;
    let made = crate::fs::create_dir_atomically::<Made>(&dir, |tmp| {
        // Relocatable: its scripts (on the hooks' PATH) find their interpreter from where
        // they are, after the rename.
        let mut venv = Command::new(uv);
        venv.args(["venv", "--quiet", "--relocatable", "--no-python-downloads", "--python"])
            .arg(&python)
            .arg(tmp);
        venv.env("UV_CACHE_DIR", request.cache.root().join("uv"));
        backend.execute(request, &mut venv, log)?;
        // Copies, not links into uv's cache: the environment outlives the build that made it.
        let mut install = Command::new(uv);
        install
            .args([
                "pip",
                "install",
                "--no-progress",
                "--color",
                "never",
                "--link-mode",
                "copy",
                "--compile-bytecode",
            ])
            .args(["--no-python-downloads", "--python"])
            .arg(tmp.join("bin/python"))
            .arg("-r")
            .arg(&requires)
            .arg("-c")
            .arg(&constraints);
        backend.run(request, &mut install, log)?;
        let foreign = outside_lock(tmp, locked)?;
        if foreign.is_empty() { Ok(()) } else { Err(Made::Foreign(foreign)) }
    });
    match made {
        Ok(()) => Ok(Some(dir)),
        Err(Made::Foreign(foreign)) => {
            tracing::debug!(project = request.project, foreign = ?foreign, "the build environment would hold distributions the lock does not name: the wheel is built by `uv build`");
            Ok(None)
        }
        // The kept environment only saves time: a build it fails for is left to `uv build`,
        // which reports the problem if it is the build's own.
        Err(Made::Failed(e)) => {
            tracing::debug!(project = request.project, error = %e, "cannot make the kept build environment: the wheel is built by `uv build`");
            Ok(None)
        }
    }
}

/// Why a build environment was not kept.
enum Made {
    Failed(Error),
    /// uv installed these, which the lock does not pin.
    Foreign(Vec<String>),
}

impl From<Error> for Made {
    fn from(e: Error) -> Made {
        Made::Failed(e)
    }
}

impl From<std::io::Error> for Made {
    fn from(e: std::io::Error) -> Made {
        Made::Failed(e.into())
    }
}

/// The distributions installed in the environment at `env` that `locked` does not pin.
fn outside_lock(env: &Path, locked: &Resolved) -> Result<Vec<String>> {
    let mut foreign = Vec::new();
    for site in crate::venv::build::site_packages(env)? {
        for entry in fs_err::read_dir(&site)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".dist-info") else { continue };
            let (name, version) = stem.split_once('-').unwrap_or((stem, ""));
            let name = crate::pyenv::normalize(name);
            if !locked.build.iter().any(|d| d.name == name && d.version == version) {
                foreign.push(format!("{name}=={version}"));
            }
        }
    }
    foreign.sort();
    Ok(foreign)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Option<BuildSystem> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), text).unwrap();
        BuildSystem::read(dir.path())
    }

    #[test]
    fn the_build_system_table_is_read_and_odd_ones_left_to_uv() {
        let pbr =
            read("[build-system]\nrequires = [\"pbr>=6.1.1\"]\nbuild-backend = \"pbr.build\"\n").unwrap();
        assert_eq!(pbr.requires, ["pbr>=6.1.1"]);
        assert_eq!(pbr.backend, "pbr.build");
        let legacy = read("[build-system]\nrequires = [\"setuptools\"]\n").unwrap();
        assert_eq!(legacy.backend, LEGACY_BACKEND);
        let inside =
            read("[build-system]\nrequires = []\nbuild-backend = \"be:hooks\"\nbackend-path = [\"tools\"]\n")
                .unwrap();
        assert_eq!(inside.backend_path, ["tools"]);
        // No table, no requires: uv's defaults decide.
        assert_eq!(read("[project]\nname = \"x\"\n"), None);
        assert_eq!(read("[build-system]\nbuild-backend = \"x\"\n"), None);
        // Lines a requirements file would read as an option, or cut at a comment.
        assert_eq!(read("[build-system]\nrequires = [\"--index-url=http://x\"]\n"), None);
        assert_eq!(read("[build-system]\nrequires = [\"a #b\"]\n"), None);
        assert_eq!(read("[build-system]\nrequires = [\"a\\nb\"]\n"), None);
        // A backend that is no dotted name, a backend path outside the tree.
        assert_eq!(read("[build-system]\nrequires = []\nbuild-backend = \"os; x\"\n"), None);
        assert_eq!(
            read("[build-system]\nrequires = []\nbuild-backend = \"b\"\nbackend-path = [\"../up\"]\n"),
            None
        );
        assert_eq!(
            read("[build-system]\nrequires = []\nbuild-backend = \"b\"\nbackend-path = [\"/abs\"]\n"),
            None
        );
    }
}
