//! Resolving a project's dependency closure for `wrap lock` with uv's resolver (`uv pip compile
//! --format pylock.toml`, the PEP 751 lock format), not one of wrap's own: what the project's
//! wheel, extras and extra requirements install under the constraints, for the interpreter (its
//! version and platform), each distribution with the files that may be installed for it and
//! their sha256; and the same for the build requirements of the project's own wheel (its
//! pyproject.toml's `[build-system] requires`, else setuptools as PEP 517 says).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::lock::closure::{DistFile, Distribution, Resolved};
use crate::venv::python::Interpreter;

/// What to resolve, and from where.
pub struct Request<'a> {
    /// The project (for messages).
    pub project: &'a str,
    /// The uv executable.
    pub uv: &'a Path,
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
    let mut cmd = Command::new(request.uv);
    cmd.args(["build", "--wheel", "--no-progress", "--color", "never", "--no-python-downloads", "--python"])
        .arg(&request.python.path)
        .arg("--out-dir")
        .arg(&wheel_dir)
        .arg(request.source)
        .envs(request.build_env.iter().map(|(k, v)| (k, v)));
    run(request, "the project's wheel", &mut cmd)?;
    let mut project = super::installer::wheel_in(&wheel_dir)?.display().to_string();
    if !request.extras.is_empty() {
        project = format!("{project}[{}]", request.extras.join(","));
    }
    let runtime: Vec<String> = std::iter::once(project).chain(request.dependencies.iter().cloned()).collect();
    let install = compile(request, "requirements", &runtime, request.constraints)?;
    let build = compile(request, "build requirements", &build_requirements(request.source), &[])?;
    Ok(Resolved { python: request.python.version.clone(), build, install })
}

/// The `[build-system] requires` of the project at `source`; setuptools when it has none.
pub fn build_requirements(source: &Path) -> Vec<String> {
    let declared = fs_err::read_to_string(source.join("pyproject.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| t.get("build-system")?.get("requires")?.as_array().cloned());
    match declared {
        Some(list) => list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        None => vec!["setuptools>=40.8.0".into()],
    }
}

/// Runs `uv pip compile` on `requirements` (`what` names them in errors) and reads its pylock.
fn compile(
    request: &Request<'_>,
    what: &str,
    requirements: &[String],
    constraints: &[PathBuf],
) -> Result<Vec<Distribution>> {
    let input = request.work.join(format!("{}.in", what.replace(' ', "-")));
    fs_err::write(&input, requirements.iter().map(|r| format!("{r}\n")).collect::<String>())?;
    let mut cmd = Command::new(request.uv);
    cmd.args(["pip", "compile", "--format", "pylock.toml", "--no-header", "--quiet", "--color", "never"])
        .args(["--no-progress", "--no-python-downloads", "--python"])
        .arg(&request.python.path)
        .arg(&input);
    for file in constraints {
        cmd.arg("--constraint").arg(file);
    }
    // What the index serves now, not what uv's cache remembers of it (uv refuses to refresh
    // offline, also when the environment says so).
    let uv_offline =
        std::env::var("UV_OFFLINE").is_ok_and(|v| ["1", "true", "yes", "on"].contains(&v.as_str()));
    if !request.offline && !uv_offline {
        cmd.arg("--refresh");
    }
    let text = run(request, what, &mut cmd)?;
    distributions(request.project, request.names, &text)
}

/// Runs uv command `cmd` for `what` with the request's cache, sources and environment; its
/// stderr goes to the log; returns its stdout.
fn run(request: &Request<'_>, what: &str, cmd: &mut Command) -> Result<String> {
    let uv = super::installer::Backend::Uv(request.uv.to_path_buf());
    uv.isolate(cmd, request.cache, request.find_links, request.offline);
    // The lock's constraints are the manifest's, and nothing else.
    cmd.env_remove("UV_CONSTRAINT").env_remove("UV_BUILD_CONSTRAINT");
    tracing::debug!(project = request.project, command = ?cmd, "resolving");
    let output = crate::interrupt::output(cmd)
        .map_err(|e| Error::Command { program: "uv".into(), detail: e.to_string() })?;
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

#[derive(Deserialize)]
struct Pylock {
    #[serde(default)]
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    #[serde(default)]
    wheels: Vec<File>,
    sdist: Option<File>,
    archive: Option<File>,
    directory: Option<toml::Value>,
    vcs: Option<toml::Value>,
}

#[derive(Deserialize)]
struct File {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
}

/// The distributions of pylock `text`, sorted by name; the project itself (its wheel, or a
/// directory; one of `names`) left out. A distribution without a version or a hashed file
/// cannot be pinned: an error.
fn distributions(project: &str, names: &[String], text: &str) -> Result<Vec<Distribution>> {
    let unpinnable = |detail: String| Error::ResolveFailed {
        project: project.into(),
        what: "requirements".into(),
        tail: vec![detail],
        log: PathBuf::new(),
    };
    let lock: Pylock = toml::from_str(text)
        .map_err(|e| unpinnable(format!("uv wrote a pylock.toml wrap cannot read: {e}")))?;
    let mut out = Vec::new();
    for p in lock.packages {
        let name = crate::pyenv::normalize(&p.name);
        if p.directory.is_some() || names.contains(&name) {
            continue;
        }
        if p.vcs.is_some() {
            return Err(unpinnable(format!(
                "`{name}` comes from a VCS URL, which has no file to pin by hash"
            )));
        }
        let version =
            p.version.ok_or_else(|| unpinnable(format!("`{name}` was resolved without a version")))?;
        let files: Vec<File> =
            if !p.wheels.is_empty() { p.wheels } else { p.sdist.into_iter().chain(p.archive).collect() };
        let mut pinned = Vec::new();
        for f in files {
            let sha256 = f.hashes.get("sha256").cloned();
            let sha256 = sha256
                .ok_or_else(|| unpinnable(format!("`{name}=={version}` has a file without a sha256")))?;
            let location = f.url.clone().or(f.path.clone()).unwrap_or_default();
            let file_name = f.name.clone().unwrap_or_else(|| file_name(&location));
            let url = f.url.filter(|u| u.starts_with("https://") || u.starts_with("http://"));
            pinned.push(DistFile { name: file_name, sha256, url });
        }
        if pinned.is_empty() {
            return Err(unpinnable(format!("`{name}=={version}` has no file to pin")));
        }
        pinned.sort();
        let distribution = Distribution { name, version, files: pinned };
        // What the lock could not read back is refused before it is written.
        if let Some(problem) = distribution.problem() {
            return Err(unpinnable(problem));
        }
        out.push(distribution);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The last segment of a URL or path, `%XX` escapes decoded.
fn file_name(location: &str) -> String {
    let last = location.split(['?', '#']).next().unwrap_or("").rsplit('/').next().unwrap_or("");
    let bytes = last.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = if bytes[i] == b'%' { last.get(i + 1..i + 3) } else { None };
        let hex = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pylock_packages_become_distributions() {
        let text = r#"
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "hello"
directory = { path = "/tmp/src", editable = false }

[[packages]]
name = "PyYAML"
version = "6.0.2"
sdist = { url = "https://files.example/pyyaml-6.0.2.tar.gz", hashes = { sha256 = "aa" } }
wheels = [{ url = "https://files.example/PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl", hashes = { sha256 = "bb" } }]

[[packages]]
name = "local"
version = "1.0+wrap"
sdist = { url = "file:///srv/wheels/local-1.0%2Bwrap.tar.gz", hashes = { sha256 = "cc" } }
"#;
        // 64 hex digits each.
        let text = ["aa", "bb", "cc"]
            .iter()
            .fold(text.to_string(), |t, h| t.replace(&format!("\"{h}\""), &format!("\"{}\"", h.repeat(32))));
        let d = distributions("hello", &["hello".into()], &text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].pin(), "local==1.0+wrap");
        assert_eq!(
            d[0].files,
            [DistFile { name: "local-1.0+wrap.tar.gz".into(), sha256: "c".repeat(64), url: None }]
        );
        // The wheel for this interpreter, not the sdist beside it.
        assert_eq!(d[1].pin(), "pyyaml==6.0.2");
        assert_eq!(d[1].files.len(), 1);
        assert_eq!(d[1].files[0].name, "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl");
        assert!(d[1].files[0].url.as_deref().unwrap().starts_with("https://"));
        let vcs = "[[packages]]\nname = \"x\"\nvcs = { type = \"git\", url = \"https://g/x\" }\n";
        let e = distributions("hello", &[], vcs).unwrap_err().to_string();
        assert!(e.contains("`x` comes from a VCS URL"), "{e}");
        // What the lock could not read back (it goes into requirement lines and paths) is
        // refused when uv's answer is taken in.
        let hostile =
            text.replace("local-1.0%2Bwrap.tar.gz", "..%2Fx%20--index-url%20http%3A%2F%2Fevil.tar.gz");
        let e = distributions("hello", &["hello".into()], &hostile).unwrap_err().to_string();
        assert!(e.contains("is not a plain file name"), "{e}");
    }
}
