//! A source tree's build requirements, as a PEP 517 frontend learns them: the static
//! `[build-system] requires` of its pyproject.toml, then what the backend's
//! `get_requires_for_build_wheel` hook returns, run in a scratch venv that holds the static ones
//! (the installer makes and fills it). sdists are taken from wrap's cache of locked files (checked against
//! their sha256) and unpacked with the `tar` and `zip` crates, which refuse entries that leave
//! the directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Request;
use crate::error::{Error, Result};
use crate::lock::closure::Distribution;
use crate::venv::installer::Backend;

/// Asks the backend for its dynamic build requirements: prints them, as a JSON list, on the
/// last line of its output (the backend may print before). Arguments: the backend
/// (`module:object`) and the backend path (a JSON list, relative to the source tree).
const HOOK: &str = r#"
import importlib, json, os, sys
backend, paths = sys.argv[1], json.loads(sys.argv[2])
sys.path[:0] = [os.path.abspath(p) for p in paths]
module, _, attribute = backend.partition(":")
hooks = importlib.import_module(module)
for part in filter(None, attribute.split(".")):
    hooks = getattr(hooks, part)
ask = getattr(hooks, "get_requires_for_build_wheel", None)
requires = list(ask({})) if ask else []
sys.stdout.flush()
print("\n" + json.dumps(requires))
"#;

/// Asks source trees for their build requirements, working under `tree`.
pub(super) struct Asker<'a> {
    pub request: &'a Request<'a>,
    pub tree: &'a Path,
}

impl Asker<'_> {
    /// The build requirements of `sdist` (a distribution with no wheel), which is fetched into
    /// wrap's cache and unpacked first.
    pub fn sdist_requirements(&self, sdist: &Distribution) -> Result<Vec<String>> {
        let r = self.request;
        let wanted = crate::venv::wheelhouse::files_of([sdist]);
        let got = crate::venv::wheelhouse::ensure(r.cache, r.project, &wanted, r.find_links, r.offline)?;
        let (archive, name) = (&got[0].0, &wanted[0].file.name);
        let into = self.tree.join(&sdist.name);
        let dir = unpack(archive, name, &into).map_err(|detail| self.failed(&sdist.pin(), detail))?;
        self.requirements(&format!("`{}`", sdist.pin()), &dir, &[])
    }

    /// The build requirements of the source tree at `dir` (`what` in messages), the hook run
    /// with `env`.
    pub fn requirements(&self, what: &str, dir: &Path, env: &[(String, String)]) -> Result<Vec<String>> {
        let system = BuildSystem::of(dir).map_err(|detail| self.failed(what, detail))?;
        // Checked before they reach the installer's command line, where `--index-url …` would
        // be an option.
        self.plain(what, &system.requires)?;
        fs_err::create_dir_all(self.tree)?;
        let venv = self.tree.join(format!("venv-{}", self.count()));
        self.venv_with(&venv, &system.requires, what)?;
        let paths = serde_json::to_string(&system.backend_path).expect("serializes");
        let output = crate::interrupt::output(
            Command::new(venv.join("bin/python"))
                .args(["-c", HOOK, &system.backend, &paths])
                .current_dir(dir)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .env_remove("PYTHONPATH")
                .env("PYTHONDONTWRITEBYTECODE", "1"),
        )
        .map_err(|e| Error::Command { program: "python".into(), detail: e.to_string() })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = |text: &str| text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
        if !output.status.success() {
            return Err(self.failed(
                what,
                format!("its build backend's get_requires_for_build_wheel failed: {}", last(&stderr)),
            ));
        }
        let dynamic: Vec<String> = serde_json::from_str(&last(&stdout)).map_err(|e| {
            self.failed(what, format!("its build backend answered something else than a list: {e}"))
        })?;
        self.plain(what, &dynamic)?;
        let mut all = system.requires;
        all.extend(dynamic);
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// Makes a scratch venv at `venv` with `requires` installed, with the request's installer.
    fn venv_with(&self, venv: &Path, requires: &[String], what: &str) -> Result<()> {
        let r = self.request;
        let what = format!("build requirements of {what}");
        let mut install = match r.backend {
            Backend::Uv(uv) => {
                let mut cmd = Command::new(uv);
                cmd.args(["venv", "--quiet", "--no-progress", "--color", "never", "--no-python-downloads"])
                    .arg("--python")
                    .arg(&r.python.path)
                    .arg(venv);
                super::run(r, &what, &mut cmd)?;
                let mut cmd = Command::new(uv);
                cmd.args(["pip", "install", "--quiet", "--no-progress", "--color", "never"])
                    .args(["--no-python-downloads", "--python"])
                    .arg(venv.join("bin/python"));
                cmd
            }
            Backend::Pip(tools) => {
                crate::venv::installer::run_captured(
                    Command::new(&r.python.path).args(["-m", "venv", "--without-pip"]).arg(venv),
                )?;
                let mut cmd = Command::new(tools);
                cmd.args(["-m", "pip", "--python"]).arg(venv.join("bin/python")).args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-input",
                ]);
                cmd
            }
        };
        if requires.is_empty() {
            return Ok(());
        }
        install.args(requires);
        super::run(r, &what, &mut install).map(drop)
    }

    /// An error naming the first of `requirements` that is not a [`plain_requirement`].
    fn plain(&self, what: &str, requirements: &[String]) -> Result<()> {
        match requirements.iter().find(|r| !plain_requirement(r)) {
            Some(bad) => {
                let bad = crate::error::printable(bad);
                Err(self.failed(what, format!("`{bad}` is not a requirement wrap passes on")))
            }
            None => Ok(()),
        }
    }

    /// A fresh number for a scratch venv.
    fn count(&self) -> usize {
        std::fs::read_dir(self.tree).map(|d| d.count()).unwrap_or(0)
    }

    fn failed(&self, what: &str, detail: String) -> Error {
        Error::ResolveFailed {
            project: self.request.project.into(),
            what: format!("build requirements of {what}"),
            tail: vec![detail],
            log: self.request.log.into(),
        }
    }
}

/// A requirement that is one line and no option: it goes into a requirements file.
fn plain_requirement(requirement: &str) -> bool {
    let r = requirement.trim();
    !r.is_empty() && !r.starts_with('-') && !requirement.chars().any(char::is_control)
}

/// A source tree's `[build-system]`.
#[derive(Debug, PartialEq, Eq)]
struct BuildSystem {
    requires: Vec<String>,
    backend: String,
    backend_path: Vec<String>,
}

impl BuildSystem {
    /// The `[build-system]` of the tree at `dir`; the legacy fallback when its pyproject.toml
    /// has none, or there is none: setuptools' legacy backend, with setuptools and wheel (what
    /// PEP 518 suggests, and pip 23 installs; uv takes setuptools alone).
    fn of(dir: &Path) -> std::result::Result<BuildSystem, String> {
        let legacy = || BuildSystem {
            requires: vec!["setuptools>=40.8.0".into(), "wheel".into()],
            backend: "setuptools.build_meta:__legacy__".into(),
            backend_path: Vec::new(),
        };
        let Ok(text) = std::fs::read_to_string(dir.join("pyproject.toml")) else { return Ok(legacy()) };
        let table: toml::Table =
            text.parse().map_err(|e| format!("its pyproject.toml does not parse: {e}"))?;
        let Some(system) = table.get("build-system") else { return Ok(legacy()) };
        let strings = |key: &str| -> std::result::Result<Option<Vec<String>>, String> {
            let Some(value) = system.get(key) else { return Ok(None) };
            let list = value.as_array().ok_or_else(|| format!("`build-system.{key}` is not a list"))?;
            list.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("`build-system.{key}` holds a non-string"))
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(Some)
        };
        let requires = strings("requires")?;
        let backend = system.get("build-backend").and_then(|b| b.as_str()).map(str::to_string);
        Ok(match (requires, backend) {
            (requires, Some(backend)) => BuildSystem {
                requires: requires.unwrap_or_default(),
                backend,
                backend_path: strings("backend-path")?.unwrap_or_default(),
            },
            (Some(requires), None) => BuildSystem { requires, ..legacy() },
            (None, None) => legacy(),
        })
    }
}

/// Unpacks the sdist `archive` (file name `name`: `.tar.gz`, `.tgz` or `.zip`) into `into`;
/// returns its top directory (the one directory it holds), or `into`.
fn unpack(archive: &Path, name: &str, into: &Path) -> std::result::Result<PathBuf, String> {
    let io = |e: std::io::Error| format!("cannot unpack {name}: {e}");
    std::fs::create_dir_all(into).map_err(io)?;
    let file = std::fs::File::open(archive).map_err(io)?;
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        tar.set_preserve_permissions(false);
        tar.unpack(into).map_err(io)?;
    } else if name.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("cannot unpack {name}: {e}"))?;
        zip.extract(into).map_err(|e| format!("cannot unpack {name}: {e}"))?;
    } else {
        return Err(format!("{name} is not an sdist wrap can unpack (.tar.gz or .zip)"));
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(into).map_err(io)?.flatten().map(|e| e.path()).collect();
    match entries.as_slice() {
        [only] if only.is_dir() => Ok(only.clone()),
        _ => Ok(into.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_systems_as_pep_517_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let at = |text: Option<&str>| {
            let dir = tmp.path().join(format!("t{}", text.map_or(0, str::len)));
            std::fs::create_dir_all(&dir).unwrap();
            if let Some(text) = text {
                std::fs::write(dir.join("pyproject.toml"), text).unwrap();
            }
            BuildSystem::of(&dir)
        };
        let legacy = at(None).unwrap();
        assert_eq!(legacy.backend, "setuptools.build_meta:__legacy__");
        assert_eq!(legacy.requires, ["setuptools>=40.8.0", "wheel"]);
        assert_eq!(at(Some("[tool.black]\n")).unwrap(), legacy);
        let declared =
            at(Some("[build-system]\nrequires = [\"pbr>=6\"]\nbuild-backend = \"pbr.build\"\n")).unwrap();
        assert_eq!(
            (declared.requires, declared.backend),
            (vec!["pbr>=6".to_string()], "pbr.build".to_string())
        );
        let no_backend = at(Some("[build-system]\nrequires = [\"setuptools>=61\"]\n")).unwrap();
        assert_eq!(
            (no_backend.requires, no_backend.backend.as_str()),
            (vec!["setuptools>=61".to_string()], "setuptools.build_meta:__legacy__")
        );
        assert!(at(Some("[build-system]\nrequires = \"x\"\n")).unwrap_err().contains("is not a list"));
        assert!(!plain_requirement("--index-url http://evil"));
        assert!(!plain_requirement("x\n--index-url"));
        assert!(plain_requirement("pbr>=1.3; python_version >= '3'"));
    }

    #[test]
    fn sdists_unpack_to_their_top_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("a-1.0.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&archive).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        tar.append_data(&mut header, "a-1.0/setup.py", &b"x=1"[..]).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let top = unpack(&archive, "a-1.0.tar.gz", &tmp.path().join("out")).unwrap();
        assert_eq!(top, tmp.path().join("out/a-1.0"));
        assert!(top.join("setup.py").is_file());
        let e = unpack(&archive, "a-1.0.tar.bz2", &tmp.path().join("o2")).unwrap_err();
        assert!(e.contains("not an sdist wrap can unpack"), "{e}");
    }
}
