//! The interpreter a bundle is built on: probed once, resolved to its versioned executable
//! (`/usr/bin/python3` → `/usr/bin/python3.11`), with the ABI (`3.11`) the packages depend on.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::error::{Error, InterpreterProblem, Result};

/// A CPython 3 interpreter that can make virtualenvs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The versioned executable the venv's `bin/python` points at.
    pub path: PathBuf,
    /// Full version, e.g. `3.11.2`.
    pub version: String,
    /// `major.minor`, e.g. `3.11`: what the packages depend on.
    pub abi: String,
}

/// Prints what wrap needs to know, as JSON; never fails on a Python 3 interpreter.
const PROBE: &str = r#"
import json, sys
def has(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False
print(json.dumps({
    "implementation": sys.implementation.name,
    "major": sys.version_info[0],
    "minor": sys.version_info[1],
    "version": "%d.%d.%d" % sys.version_info[:3],
    "venv": has("venv"),
    "ensurepip": has("ensurepip"),
}))
"#;

#[derive(Deserialize)]
struct Probe {
    implementation: String,
    major: u32,
    minor: u32,
    version: String,
    venv: bool,
    ensurepip: bool,
}

/// Probes `configured`; `need_ensurepip` when pip will be bootstrapped from it.
pub fn probe(configured: &Path, need_ensurepip: bool) -> Result<Interpreter> {
    let problem = |problem| Error::Interpreter { path: configured.into(), problem };
    if !configured.exists() {
        return Err(problem(InterpreterProblem::Missing));
    }
    let output = crate::interrupt::output(
        Command::new(configured).args(["-I", "-c", PROBE]).env_remove("PYTHONPATH").env_remove("PYTHONHOME"),
    )
    .map_err(|_| problem(InterpreterProblem::NotCPython3))?;
    let probe: Probe =
        serde_json::from_slice(&output.stdout).map_err(|_| problem(InterpreterProblem::NotCPython3))?;
    if probe.implementation != "cpython" || probe.major != 3 {
        return Err(problem(InterpreterProblem::NotCPython3));
    }
    if !probe.venv || (need_ensurepip && !probe.ensurepip) {
        return Err(problem(InterpreterProblem::NoVenv));
    }
    let abi = format!("{}.{}", probe.major, probe.minor);
    Ok(Interpreter { path: versioned(configured, &abi), version: probe.version, abi })
}

/// The versioned executable behind `configured`: its canonical path when that is named
/// `pythonX.Y`, else a `pythonX.Y` beside it that is the same file, else the canonical path.
fn versioned(configured: &Path, abi: &str) -> PathBuf {
    let name = format!("python{abi}");
    let canonical = configured.canonicalize().unwrap_or_else(|_| configured.into());
    if canonical.file_name().is_some_and(|n| n == name.as_str()) {
        return canonical;
    }
    if let Some(sibling) = configured.parent().map(|d| d.join(&name))
        && sibling.canonicalize().is_ok_and(|c| c == canonical)
    {
        return sibling;
    }
    canonical
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_python_resolves_to_its_versioned_name() {
        let Ok(python) = probe(Path::new("/usr/bin/python3"), false) else { return };
        assert!(python.path.to_string_lossy().ends_with(&format!("python{}", python.abi)), "{python:?}");
        assert!(python.version.starts_with(&python.abi));
    }

    #[test]
    fn problems_are_named() {
        let e = probe(Path::new("/nonexistent/python3"), false).unwrap_err();
        assert_eq!(e.to_string(), "interpreter `/nonexistent/python3` does not exist");
        let e = probe(Path::new("/bin/true"), false).unwrap_err();
        assert_eq!(e.to_string(), "interpreter `/bin/true` is not CPython 3");
    }
}
