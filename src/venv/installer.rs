//! Installer backends: uv (`uv pip install`, hard-links from its cache, never downloads a Python)
//! or pip (run from a tools virtualenv kept in the cache, pointed at the bundle with
//! `--python`). Both install into a venv that CPython's own `venv` module made, so bundles have
//! the same layout whichever backend built them. Output goes to a log file; a failure reports
//! the requirement it could not find, or the log's last lines.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::fs::create_dir_atomically;
use crate::lock::closure::Resolved;
use crate::manifest::Installer;
use crate::venv::built::Prebuilt;
use crate::venv::python::Interpreter;

/// How many lines of installer output a failure shows.
const TAIL_LINES: usize = 20;

/// A resolved installer backend.
#[derive(Debug, Clone)]
pub enum Backend {
    /// uv at this path.
    Uv(PathBuf),
    /// pip from the tools virtualenv whose python is at this path.
    Pip(PathBuf),
}

/// What to install, and from where.
#[derive(Clone)]
pub struct Request<'a> {
    /// The project being built (for messages).
    pub project: &'a str,
    /// The bundle's `bin/python`.
    pub python: &'a Path,
    /// The project's source tree.
    pub source: &'a Path,
    /// Extras of the project to install.
    pub extras: &'a [String],
    /// Extra requirements besides the project.
    pub dependencies: &'a [String],
    /// Where uv builds the project's wheel first (it creates the directory).
    pub wheel_dir: &'a Path,
    /// Local wheel directories.
    pub find_links: Vec<PathBuf>,
    /// Constraints files (already filtered).
    pub constraints: Vec<PathBuf>,
    /// No index, no network.
    pub offline: bool,
    /// Environment of the project's own wheel build only (PBR_VERSION, …).
    pub build_env: Vec<(String, String)>,
    /// Environment of every installer command (SOURCE_DATE_EPOCH).
    pub env: Vec<(String, String)>,
    /// Where the installer's output goes.
    pub log: &'a Path,
    /// wrap's cache: the installers keep their downloads and built wheels under it.
    pub cache: &'a Cache,
    /// The lock's closure, when the build is locked: exactly these distributions are installed,
    /// every file checked against its sha256, and the wheel is built with these build
    /// requirements.
    pub locked: Option<&'a Resolved>,
    /// The shared remote cache: wheels built from the closure's sdists come from it, and go to it.
    pub remote: Option<&'a crate::cache::remote::Remote>,
    /// Told the installer's latest output line while it runs, when someone watches.
    pub progress: Option<&'a (dyn Fn(&str) + Sync)>,
}

impl Backend {
    /// Chooses the backend `setting` names: `auto` is uv when on PATH, else pip.
    pub fn choose(
        installer: Installer,
        uv: Option<&Path>,
        cache: &Cache,
        python: &Interpreter,
    ) -> Result<Backend> {
        match (installer, uv) {
            (Installer::Uv | Installer::Auto, Some(uv)) => Ok(Backend::Uv(uv.to_path_buf())),
            (Installer::Uv, None) => Err(Error::UvMissing),
            (Installer::Pip | Installer::Auto, _) => Ok(Backend::Pip(pip_tools(cache, python)?)),
        }
    }

    /// `uv` or `pip`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Uv(_) => "uv",
            Backend::Pip(_) => "pip",
        }
    }

    /// The backend's version, e.g. `0.13.9`.
    pub fn version(&self) -> Result<String> {
        let output = match self {
            Backend::Uv(uv) => run_captured(Command::new(uv).arg("--version"))?,
            Backend::Pip(python) => run_captured(Command::new(python).args(["-m", "pip", "--version"]))?,
        };
        // "uv 0.13.9 (…)" / "pip 23.0.1 from … (python 3.11)"
        Ok(output.split_whitespace().nth(1).unwrap_or("unknown").to_string())
    }

    /// Installs `request` into its virtualenv: builds the project's wheel first, with the
    /// version overrides (`build_env`), then installs that wheel, its extras and the extra
    /// dependencies without them, so that no dependency built from an sdist takes the
    /// project's version. (Building the wheel first also spares a pbr project its setup.py
    /// run for the metadata: about 1 s for python-openstackclient.) A locked build knows its
    /// whole closure before the wheel exists: it installs the closure while the wheel builds,
    /// the closure's sdists from the wheels built once ([`crate::venv::built`]), and with uv
    /// builds the wheel in a build environment kept between builds ([`crate::venv::hooks`]).
    pub fn install(&self, request: &Request<'_>) -> Result<Prebuilt> {
        let log = fs_err::File::create(request.log)?;
        let scratch = request.wheel_dir.parent().expect("the wheel directory has a parent");
        let mut cmd = self.wheel_command(request.python, request.wheel_dir);
        if let Some(locked) = request.locked {
            self.pin_build_requirements(&mut cmd, locked, scratch, "wheel", &[])?;
        }
        cmd.arg(request.source).envs(request.build_env.iter().map(|(k, v)| (k, v)));
        let Some(locked) = request.locked else {
            self.run(request, &mut cmd, &log)?;
            let project = wheel_in(request.wheel_dir)?;
            let mut requirement = project.to_string_lossy().into_owned();
            if !request.extras.is_empty() {
                requirement = format!("{requirement}[{}]", request.extras.join(","));
            }
            let mut install = self.install_command(request.python);
            for file in &request.constraints {
                install.arg("--constraint").arg(file);
            }
            install.arg(requirement).args(request.dependencies);
            self.run(request, &mut install, &log)?;
            return Ok(Prebuilt::default());
        };
        // Its own log: the closure is installed while the project's wheel builds.
        let closure_log = fs_err::File::create(request.log.with_extension("closure.log"))?;
        let (built, installed) = std::thread::scope(|scope| {
            let installing = scope.spawn(|| self.install_closure(request, locked, scratch, &closure_log));
            let built = match crate::venv::hooks::build_wheel(self, request, locked, &log) {
                Ok(true) => Ok(()),
                Ok(false) => self.run(request, &mut cmd, &log),
                Err(e) => Err(e),
            };
            (built, installing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        built?;
        let prebuilt = installed?;
        // Then the project's own wheel, just built, checked against its own hash.
        let project = wheel_in(request.wheel_dir)?;
        let own = format!("{} --hash=sha256:{}\n", project.display(), crate::lock::hash_file(&project)?);
        let mut install = self.install_command(request.python);
        self.hashed_requirements(&mut install, &scratch.join("locked-project.txt"), &own)?;
        self.run(request, &mut install, &log)?;
        Ok(prebuilt)
    }

    /// Installs exactly the closure `locked`: every requirement pinned with its files' sha256,
    /// nothing resolved; its sdists from their wheels built once, with the locked build
    /// requirements.
    fn install_closure(
        &self,
        request: &Request<'_>,
        locked: &Resolved,
        scratch: &Path,
        log: &fs_err::File,
    ) -> Result<Prebuilt> {
        let prebuilt = self.prebuild(request, locked, scratch, log)?;
        let lines: String = locked.install.iter().map(|d| format!("{}\n", prebuilt.requirement(d))).collect();
        let mut closure = self.install_command(request.python);
        self.hashed_requirements(&mut closure, &scratch.join("locked-requirements.txt"), &lines)?;
        self.pin_build_requirements(&mut closure, locked, scratch, "install", &locked.install)?;
        for dir in prebuilt.dirs() {
            closure.arg("--find-links").arg(dir);
        }
        self.run(request, &mut closure, log)?;
        Ok(prebuilt)
    }

    /// The command that installs into the venv of `python` (requirements to add).
    fn install_command(&self, python: &Path) -> Command {
        match self {
            Backend::Uv(uv) => {
                let mut cmd = Command::new(uv);
                // Hard links into uv's cache (in wrap's, on the staging directory's file system;
                // uv copies where it cannot link): nothing writes through a staged file, every
                // later writer replaces files (`crate::fs::replace_file`).
                cmd.args(["pip", "install", "--no-progress", "--color", "never", "--link-mode", "hardlink"])
                    .args(["--no-python-downloads", "--python"])
                    .arg(python);
                cmd
            }
            Backend::Pip(tools) => {
                let mut cmd = Command::new(tools);
                cmd.args(["-m", "pip", "--python"])
                    .arg(python)
                    .args(["install", "--no-compile", "--disable-pip-version-check", "--no-input"])
                    .args(["--progress-bar", "off"]);
                cmd
            }
        }
    }

    /// Makes `cmd` install exactly the hashed requirement `lines`, written to `file`, and
    /// nothing they depend on.
    fn hashed_requirements(&self, cmd: &mut Command, file: &Path, lines: &str) -> Result<()> {
        fs_err::write(file, lines)?;
        cmd.args(["--require-hashes", "--no-deps", "-r"]).arg(file);
        Ok(())
    }

    /// The command that builds a project's wheel (its source tree is the last argument to add)
    /// for `python` into `out_dir`, in an isolated build environment.
    pub(crate) fn wheel_command(&self, python: &Path, out_dir: &Path) -> Command {
        match self {
            Backend::Uv(uv) => {
                let mut cmd = Command::new(uv);
                cmd.args(["build", "--wheel", "--no-progress", "--color", "never", "--no-python-downloads"])
                    .arg("--python")
                    .arg(python)
                    .arg("--out-dir")
                    .arg(out_dir);
                cmd
            }
            Backend::Pip(tools) => {
                let mut cmd = Command::new(tools);
                cmd.args(["-m", "pip", "--python"])
                    .arg(python)
                    .args(["wheel", "--no-deps", "--disable-pip-version-check", "--no-input"])
                    .args(["--progress-bar", "off", "--wheel-dir"])
                    .arg(out_dir);
                cmd
            }
        }
    }

    /// Makes `cmd` (its `step` names its files) build with the locked build requirements: uv
    /// checks them against their sha256 (`--build-constraints`); pip, which cannot check build
    /// requirements' hashes, gets them as version pins (`PIP_CONSTRAINT`, which its build
    /// environments read). pip applies those pins to what `cmd` installs as well, so names
    /// that `installed` pins are left out of them (their build environments then take
    /// whichever version the lock's files hold).
    pub(crate) fn pin_build_requirements(
        &self,
        cmd: &mut Command,
        locked: &Resolved,
        scratch: &Path,
        step: &str,
        installed: &[crate::lock::closure::Distribution],
    ) -> Result<()> {
        match self {
            Backend::Uv(_) => {
                let file = scratch.join(format!("locked-build-constraints-{step}.txt"));
                let lines: String =
                    locked.build.iter().map(|d| format!("{}\n", d.hashed_requirement())).collect();
                fs_err::write(&file, lines)?;
                cmd.arg("--build-constraints").arg(file);
            }
            Backend::Pip(_) => {
                let file = scratch.join(format!("locked-build-pins-{step}.txt"));
                let pins: String = locked
                    .build
                    .iter()
                    .filter(|d| !installed.iter().any(|i| i.name == d.name))
                    .map(|d| format!("{}\n", d.pin()))
                    .collect();
                fs_err::write(&file, pins)?;
                cmd.env("PIP_CONSTRAINT", file);
            }
        }
        Ok(())
    }

    /// Points installer command `cmd` at its cache under wrap's, the manifest's `find_links`
    /// and, `offline`, no index. Wheels come from `find_links` only, so a build does not depend
    /// on what the machine's environment adds; index settings (a local mirror) are left alone.
    pub(crate) fn isolate(&self, cmd: &mut Command, cache: &Cache, find_links: &[PathBuf], offline: bool) {
        match self {
            Backend::Uv(_) => {
                cmd.env("UV_CACHE_DIR", cache.root().join("uv"));
                if offline {
                    cmd.args(["--offline", "--no-index"]);
                }
            }
            Backend::Pip(_) => {
                cmd.env("PIP_CACHE_DIR", cache.root().join("pip"));
                if offline {
                    cmd.arg("--no-index");
                }
            }
        }
        for dir in find_links {
            cmd.arg("--find-links").arg(dir);
        }
        scrub(cmd);
    }

    /// Runs one installer command of `request` with its cache and sources ([`Self::execute`]).
    pub(crate) fn run(&self, request: &Request<'_>, cmd: &mut Command, log: &fs_err::File) -> Result<()> {
        self.isolate(cmd, request.cache, &request.find_links, request.offline);
        self.execute(request, cmd, log)
    }

    /// Runs `cmd` of `request` with the environment every build step gets, its output appended
    /// to `log`; a failure names what was missing, or shows the log's end.
    pub(crate) fn execute(&self, request: &Request<'_>, cmd: &mut Command, log: &fs_err::File) -> Result<()> {
        let path = log.path();
        cmd.env("PYTHONDONTWRITEBYTECODE", "1").envs(request.env.iter().map(|(k, v)| (k, v)));
        // C and C++ extensions compiled here carry no debug information unless the environment
        // sets its own flags: DWARF records the directory the compiler ran in (the checkout
        // under the cache, the installer's temporary build directory), so two build boxes, or
        // two caches, would ship different bytes (keystone's python-ldap did).
        for key in ["CFLAGS", "CXXFLAGS"] {
            if std::env::var_os(key).is_none() {
                cmd.env(key, "-g0");
            }
        }
        tracing::debug!(project = request.project, command = ?cmd, "installing");

        cmd.stdout(log.file().try_clone()?).stderr(log.file().try_clone()?);
        let status = watch_log(path, request.progress, || crate::interrupt::status(cmd))
            .map_err(|e| Error::Command { program: self.name().into(), detail: e.to_string() })?;
        if status.success() {
            return Ok(());
        }
        let text = fs_err::read_to_string(path).unwrap_or_default();
        if let Some(distribution) = hash_mismatch(&text) {
            return Err(Error::LockedHashMismatch {
                project: request.project.into(),
                distribution,
                detail: format!("full log: {}", path.display()),
            });
        }
        if let Some(requirement) = missing_requirement(&text) {
            return Err(Error::MissingRequirement {
                project: request.project.into(),
                requirement,
                log: path.into(),
                offline: request.offline,
                locked: request.locked.is_some(),
            });
        }
        if let Some(missing) = crate::venv::sysdeps::diagnose(&text) {
            return Err(Error::SystemDependencyMissing {
                project: request.project.into(),
                missing,
                bindep_missing: bindep_missing(request.source),
                log: path.into(),
            });
        }
        let lines: Vec<&str> = text.lines().collect();
        Err(Error::InstallFailed {
            project: request.project.into(),
            installer: self.name(),
            log: path.into(),
            tail: lines[lines.len().saturating_sub(TAIL_LINES)..].iter().map(|l| l.to_string()).collect(),
            // A full disk is the machine's problem, not the input's (exit 2, not 1).
            disk_full: text.contains("No space left on device") || text.contains("[Errno 28]"),
        })
    }
}

/// Removes from `cmd`'s environment what would point an installer or an interpreter elsewhere.
pub(crate) fn scrub(cmd: &mut Command) {
    for key in [
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "PIP_REQUIRE_VIRTUALENV",
        "PIP_USER",
        "PIP_FIND_LINKS",
        "UV_FIND_LINKS",
    ] {
        cmd.env_remove(key);
    }
}

/// The packages the project's bindep.txt lists for this host that it does not have installed.
fn bindep_missing(source: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(source.join("bindep.txt")) else { return Vec::new() };
    crate::source::bindep::for_this_host(&text).missing
}

/// The one wheel a build wrote into `dir`.
pub(crate) fn wheel_in(dir: &Path) -> Result<PathBuf> {
    let mut wheels = Vec::new();
    for entry in fs_err::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "whl") {
            wheels.push(path);
        }
    }
    match <[PathBuf; 1]>::try_from(wheels) {
        Ok([wheel]) => Ok(wheel),
        Err(found) => Err(Error::Command {
            program: "wheel build".into(),
            detail: format!("the project's build left {} wheels in {}, not one", found.len(), dir.display()),
        }),
    }
}

/// The distribution whose file did not match its hash, from an installer's output.
fn hash_mismatch(output: &str) -> Option<String> {
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        // uv: "  Caused by: Hash mismatch for `shout==1.0.0`"
        if let Some(rest) = line.split("Hash mismatch for `").nth(1) {
            return rest.split('`').next().map(str::to_string);
        }
        // pip: "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. …", then
        // "    shout==1.0.0 from http://…/shout-1.0.0-py3-none-any.whl:"
        if line.contains("DO NOT MATCH THE HASHES") {
            let culprit = lines.find(|l| l.starts_with("    ") && l.trim_end().ends_with(':'))?;
            return culprit.split_whitespace().next().map(str::to_string);
        }
    }
    None
}

/// The requirement an installer said it could not find, from its output.
pub(crate) fn missing_requirement(output: &str) -> Option<String> {
    // uv, for a file its cached index page still lists: "error: Failed to download
    // `shout==1.1.0`", then "…(404 File not found) for url (…)".
    if output.contains("(404 ")
        && let Some(rest) = output.split("Failed to download `").nth(1)
    {
        return rest.split('`').next().map(str::to_string);
    }
    for line in output.lines() {
        // pip: "ERROR: No matching distribution found for shout>=1.0"
        if let Some(rest) = line.split("No matching distribution found for ").nth(1) {
            return Some(rest.trim().to_string());
        }
        // uv: "Because there is no version of shout==1.1.0 and you require shout==1.1.0, …"
        if let Some(rest) = line.split("Because there is no version of ").nth(1)
            && let Some((requirement, _)) = rest.split_once(" and ")
        {
            return Some(requirement.trim().to_string());
        }
        // uv: "Because shout was not found in the provided package locations and …"
        if let Some(rest) = line.split("Because ").nth(1)
            && let Some((name, _)) = rest.split_once(" was not found in")
        {
            return Some(name.trim().to_string());
        }
    }
    None
}

/// A tools virtualenv with pip for `python`, made once per interpreter and kept in the cache.
fn pip_tools(cache: &Cache, python: &Interpreter) -> Result<PathBuf> {
    let key = crate::digest::sha256_hex(python.path.as_os_str().as_encoded_bytes());
    let dir = cache.root().join("tools").join(format!("pip-py{}-{}", python.abi, &key[..12]));
    if !dir.join("bin/python").exists() {
        // Made in a temporary directory and renamed: its `bin/pip` script then names the old
        // path, but wrap only runs `bin/python -m pip`, which finds the venv from its own place.
        create_dir_atomically(&dir, |tmp| {
            run_captured(Command::new(&python.path).args(["-m", "venv"]).arg(tmp)).map(drop)
        })?;
    }
    Ok(dir.join("bin/python"))
}

/// Runs `cmd`, returning stdout; a failure carries stderr.
/// Runs `run` while a thread tells `progress` (if any) the last line the installer has written
/// to `log`, each time it changes: a long install stage shows what it is doing.
fn watch_log<T>(log: &Path, progress: Option<&(dyn Fn(&str) + Sync)>, run: impl FnOnce() -> T) -> T {
    let Some(progress) = progress else { return run() };
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut shown = String::new();
            loop {
                // The last pass runs after the installer ended: its final line is always shown.
                let ended = done.load(std::sync::atomic::Ordering::Acquire);
                if let Some(line) = last_line(log).filter(|l| *l != shown) {
                    progress(&line);
                    shown = line;
                }
                if ended {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
        let result = run();
        done.store(true, std::sync::atomic::Ordering::Release);
        result
    })
}

/// The last complete, non-empty line of the file at `path` (of its last 4 KiB), at most 80
/// characters of it.
fn last_line(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(4096))).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let complete = &text[..text.rfind('\n')?];
    let line = complete.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(80).collect())
}

pub fn run_captured(cmd: &mut Command) -> Result<String> {
    run_captured_input(cmd, None)
}

/// [`run_captured`] with `input` on the command's stdin.
pub fn run_captured_with_input(cmd: &mut Command, input: Vec<u8>) -> Result<String> {
    run_captured_input(cmd, Some(input))
}

fn run_captured_input(cmd: &mut Command, input: Option<Vec<u8>>) -> Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output = crate::interrupt::output_with_input(cmd, input)
        .map_err(|e| Error::Command { program: program.clone(), detail: e.to_string() })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
        return Err(Error::Command { program, detail: format!("{} ({last})", output.status) });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The first executable named `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH")?.to_str()?.split(':').filter(|d| !d.is_empty()).find_map(|dir| {
        let candidate = Path::new(dir).join(name);
        let meta = candidate.metadata().ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(candidate)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_requirements_are_read_from_both_installers() {
        let pip = "ERROR: Could not find a version that satisfies the requirement shout>=1.0 (from hello) (from versions: none)\nERROR: No matching distribution found for shout>=1.0\n";
        assert_eq!(missing_requirement(pip).as_deref(), Some("shout>=1.0"));
        let uv = "  × No solution found when resolving dependencies:\n  ╰─▶ Because shout was not found in the provided package locations and hello==1.1.0 depends on shout>=1.0, we can conclude that hello==1.1.0 cannot be used.\n";
        assert_eq!(missing_requirement(uv).as_deref(), Some("shout"));
        let gone = "  cause: Because there is no version of shout==1.1.0 and you require shout==1.1.0, we can conclude that your requirements are unsatisfiable.\n";
        assert_eq!(missing_requirement(gone).as_deref(), Some("shout==1.1.0"));
        let removed = "error: Failed to download `shout==1.1.0`\n  cause: HTTP status client error (404 File not found) for url (http://i/shout.whl)\n";
        assert_eq!(missing_requirement(removed).as_deref(), Some("shout==1.1.0"));
        assert_eq!(missing_requirement("error: some other failure"), None);
    }
}
