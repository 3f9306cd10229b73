//! Builds a project's virtualenv in a staging directory (never at the install path, never as
//! root): writes the patched source tree there (with the `.git` pbr reads its file list and
//! tags from), makes the venv with CPython's own `venv` module, drops the project's own pins
//! from the constraints, builds the project's wheel with the version overrides (pbr's
//! `PBR_VERSION`, setuptools-scm's per-distribution variable), then installs that wheel with
//! its dependencies in an environment without them (a dependency built from an sdist must not
//! take the project's version), and refuses editable installs. The staged tree still names the
//! staging path everywhere; relocate.rs fixes that.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::venv::installer::{Backend, Request, run_captured};
use crate::venv::python::Interpreter;
use crate::venv::relocate::{Origin, Relocator, Target};

/// A built, not yet relocated, virtualenv. Dropping it removes the staging directory.
pub struct Staged {
    dir: tempfile::TempDir,
    /// The project's own distribution names, normalized.
    names: Vec<String>,
    /// Removing the venv and the source copy, once relocation no longer needs them.
    discarding: Option<std::thread::JoinHandle<()>>,
    /// Where the source copy is put back for the next build of the project.
    tree_home: PathBuf,
    /// The wheels of the locked closure's sdists: which came from the remote, which it refused.
    pub prebuilt: crate::venv::built::Prebuilt,
}

impl Staged {
    /// The names the project's own distributions may have (the manifest's name, and what its
    /// pyproject.toml or setup.cfg declares), normalized: whose entry points to verify.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Relocates the virtualenv into each of `targets` (a tree and what it is for; the last
    /// one takes the staged venv itself), then starts removing what is left of the staged venv
    /// and putting the source copy back, in the background, while the packages are written.
    pub fn relocate_all(
        &mut self,
        project: &str,
        targets: &[(PathBuf, Target<'_>)],
        python: &Interpreter,
        origin: &Origin<'_>,
        exclude: &globset::GlobSet,
    ) -> Result<()> {
        // The last tree takes the staged venv itself.
        for (i, (tree, target)) in targets.iter().enumerate() {
            let in_place = i + 1 == targets.len();
            Relocator::new(project, self.root(), *target, python, origin).run(tree, exclude, in_place)?;
        }
        if self.discarding.is_none() {
            let (venv, src, home) = (self.venv(), self.src(), self.tree_home.clone());
            self.discarding = Some(std::thread::spawn(move || {
                // Whatever is left (an interruption's cleanup may race this) goes with the
                // staging directory.
                let _ = std::fs::remove_dir_all(venv);
                if put_back(&src, &home).is_err() {
                    let _ = std::fs::remove_dir_all(src);
                }
            }));
        }
        Ok(())
    }

    /// The staging directory: every path below it is a build path.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The virtualenv.
    pub fn venv(&self) -> PathBuf {
        self.dir.path().join("venv")
    }

    /// The copy of the source tree the wheel was built from.
    pub fn src(&self) -> PathBuf {
        self.dir.path().join("src")
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(discarding) = self.discarding.take() {
            let _ = discarding.join();
        }
    }
}

/// What one project's virtualenv is built from.
pub struct Input<'a> {
    /// Project name.
    pub project: &'a str,
    /// The patched checkout.
    pub checkout: &'a crate::source::Checkout,
    /// Extras of the project to install.
    pub extras: &'a [String],
    /// Extra requirements.
    pub pip_dependencies: &'a [String],
    /// Constraints files (local paths; URLs already downloaded).
    pub constraints: &'a [PathBuf],
    /// Local wheel directories.
    pub find_links: &'a [PathBuf],
    /// No network.
    pub offline: bool,
    /// The version pbr and setuptools-scm must report.
    pub python_version: &'a str,
    /// Prompt of the venv's activate scripts.
    pub prompt: &'a str,
    /// Source date for the wheel build.
    pub source_date_epoch: i64,
    /// The lock's closure, for a locked build.
    pub locked: Option<&'a crate::lock::closure::Resolved>,
    /// The shared remote cache, for the wheels built from the closure's sdists.
    pub remote: Option<&'a crate::cache::remote::Remote>,
    /// Told the installer's latest output line while it runs.
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// Builds the virtualenv of `input` with `python` and `backend`.
pub fn build(cache: &Cache, python: &Interpreter, backend: &Backend, input: &Input<'_>) -> Result<Staged> {
    let tmp = cache.staging_dir()?;
    let mut staged = Staged {
        dir: tempfile::Builder::new()
            .prefix(&format!("{}build-{}-", crate::interrupt::temp_prefix(), input.project))
            .tempdir_in(&tmp)?,
        names: Vec::new(),
        discarding: None,
        tree_home: cache.tree_dir(input.project),
        prebuilt: Default::default(),
    };

    // The cached checkout is only read: the build gets a tree of its own, written from git
    // over the one the last build of the project left, when no other build has taken it.
    let reused = std::fs::rename(&staged.tree_home, staged.src()).is_ok();
    input.checkout.materialize(input.project, &staged.src(), reused)?;

    run_captured(
        Command::new(&python.path)
            .args(["-m", "venv", "--without-pip", "--prompt", input.prompt])
            .arg(staged.venv())
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME"),
    )?;

    staged.names = distribution_names(&staged.src(), input.project);
    let names = staged.names.clone();
    let constraints = own_pins_dropped(input.project, input.constraints, &names, staged.root())?;

    let logs = cache.root().join("logs");
    fs_err::create_dir_all(&logs)?;
    let log = logs.join(format!("{}.log", input.project));
    let python_bin = staged.venv().join("bin/python");
    let (source, wheel_dir) = (staged.src(), staged.root().join("wheel"));
    staged.prebuilt = backend.install(&Request {
        project: input.project,
        python: &python_bin,
        source: &source,
        extras: input.extras,
        dependencies: input.pip_dependencies,
        wheel_dir: &wheel_dir,
        find_links: input.find_links.to_vec(),
        constraints,
        offline: input.offline,
        build_env: version_overrides(&names, input.python_version),
        env: vec![("SOURCE_DATE_EPOCH".into(), wheel_date(input.source_date_epoch).to_string())],
        log: &log,
        cache,
        locked: input.locked,
        remote: input.remote,
        progress: Some(input.progress),
    })?;
    refuse_editable(input.project, &staged.venv())?;
    Ok(staged)
}

pub use crate::pyenv::normalize;

/// Puts the source tree `src` back at `home` for the next build, without what the build added
/// to it (build/, *.egg-info: removed here, off the next build's path); fails, leaving `src`,
/// when another build put its tree back first.
fn put_back(src: &Path, home: &Path) -> Result<()> {
    let index = git2::Index::open(&src.join(".git/index"))
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    crate::source::converge(&index, src, false)?;
    fs_err::create_dir_all(home.parent().expect("below the cache"))?;
    fs_err::rename(src, home)?;
    crate::fs::touch(home);
    Ok(())
}

/// `constraints` without the lines that pin one of the project's `names` (its own version comes
/// from its source), written into `dir`.
pub fn own_pins_dropped(
    project: &str,
    constraints: &[PathBuf],
    names: &[String],
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (i, file) in constraints.iter().enumerate() {
        let text = fs_err::read_to_string(file)?;
        let (kept, dropped) = drop_own_pins(&text, names);
        for line in dropped {
            tracing::info!(project, constraints = %file.display(), line, "dropped the project's own pin from the constraints");
        }
        let filtered = dir.join(format!("constraints-{i}.txt"));
        fs_err::write(&filtered, kept)?;
        out.push(filtered);
    }
    Ok(out)
}

/// The names the project may be pinned under: the manifest's name and the distribution name
/// its pyproject.toml or setup.cfg declares, normalized.
pub fn distribution_names(src: &Path, project: &str) -> Vec<String> {
    let mut names = vec![normalize(project)];
    if let Ok(text) = fs_err::read_to_string(src.join("pyproject.toml"))
        && let Ok(value) = text.parse::<toml::Table>()
        && let Some(name) = value.get("project").and_then(|p| p.get("name")).and_then(|n| n.as_str())
    {
        names.push(normalize(name));
    }
    if let Ok(text) = fs_err::read_to_string(src.join("setup.cfg")) {
        let mut in_metadata = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_metadata = line == "[metadata]";
            } else if in_metadata
                && let Some((key, value)) = line.split_once('=')
                && key.trim() == "name"
            {
                names.push(normalize(value.trim()));
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The earliest time a wheel (a zip file) can hold: 1980-01-01. A source date before it is
/// raised to it for building wheels only; the artifacts keep the source date.
pub const ZIP_EPOCH: i64 = 315_532_800;

/// `SOURCE_DATE_EPOCH` for the wheels of a build.
fn wheel_date(source_date_epoch: i64) -> i64 {
    source_date_epoch.max(ZIP_EPOCH)
}

/// The variables that make the project's own build report `version`: pbr's `PBR_VERSION`, and
/// setuptools-scm's variable for each of the project's distribution names
/// (`SETUPTOOLS_SCM_PRETEND_VERSION_FOR_OSLO_CONFIG`). Only the project's wheel build sees
/// them. A build requirement of the project that is itself built from an sdist there would
/// see `PBR_VERSION` too: pbr has no per-distribution form.
pub fn version_overrides(names: &[String], version: &str) -> Vec<(String, String)> {
    let mut env = vec![("PBR_VERSION".to_string(), version.to_string())];
    for name in names {
        let var = name.to_ascii_uppercase().replace(['-', '.'], "_");
        env.push((format!("SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{var}"), version.to_string()));
    }
    env
}

/// Splits constraints `text` into what is kept and the lines that pin one of `names`.
fn drop_own_pins<'a>(text: &'a str, names: &[String]) -> (String, Vec<&'a str>) {
    let mut kept = String::with_capacity(text.len());
    let mut dropped = Vec::new();
    for line in text.lines() {
        let name: String = line
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        if !name.is_empty() && names.contains(&normalize(&name)) {
            dropped.push(line);
        } else {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    (kept, dropped)
}

/// Fails when an installed distribution is editable or a `.pth` file points outside the venv.
fn refuse_editable(project: &str, venv: &Path) -> Result<()> {
    for site in site_packages(venv)? {
        for entry in fs_err::read_dir(&site)? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            if name.ends_with(".pth") {
                let text = fs_err::read_to_string(&path)?;
                for line in text.lines().map(str::trim) {
                    if line.is_empty()
                        || line.starts_with('#')
                        || line.starts_with("import ")
                        || line.starts_with("import\t")
                    {
                        continue;
                    }
                    let target = site.join(line);
                    let inside = normalize_path(&target).starts_with(normalize_path(venv));
                    if !inside {
                        return Err(Error::Editable {
                            project: project.into(),
                            file: path.clone(),
                            target: line.into(),
                        });
                    }
                }
            } else if name.ends_with(".dist-info") {
                let direct = path.join("direct_url.json");
                if let Ok(text) = fs_err::read_to_string(&direct)
                    && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
                    && json["dir_info"]["editable"] == true
                {
                    return Err(Error::Editable {
                        project: project.into(),
                        file: direct,
                        target: json["url"].as_str().unwrap_or("?").into(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// `lib/pythonX.Y/site-packages` directories of a venv.
pub fn site_packages(venv: &Path) -> Result<Vec<PathBuf>> {
    Ok(crate::pyenv::site_packages(venv)?)
}

/// `path` with `.` and `..` resolved lexically.
pub fn normalize_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pins_are_dropped_and_others_kept() {
        let text = "# upper constraints\nnova===30.0.0\noslo.config===9.6.0\nNova===31.0.0;python_version>='3.9'\npython-novaclient===18.0.0\n";
        let (kept, dropped) = drop_own_pins(text, &["nova".to_string()]);
        assert_eq!(kept, "# upper constraints\noslo.config===9.6.0\npython-novaclient===18.0.0\n");
        assert_eq!(dropped, ["nova===30.0.0", "Nova===31.0.0;python_version>='3.9'"]);
    }

    #[test]
    fn distribution_names_come_from_the_metadata() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(
            dir.path().join("setup.cfg"),
            "[metadata]\nname = python-openstackclient\n[files]\nname = x\n",
        )
        .unwrap();
        assert_eq!(distribution_names(dir.path(), "osc"), ["osc", "python-openstackclient"]);
    }
}
