//! The verify stage: run on a relocated tree before any artifact is written, so that a bundle
//! that installs but cannot run fails its build instead of a host. Four checks:
//! - every file that each installed distribution's RECORD names exists in the tree;
//! - every entry point of the project itself (console scripts and all other groups) imports:
//!   its module is imported and its attribute found, with the tree's own interpreter, nothing
//!   called (`verify_skip` names the ones that need hardware or configuration to import);
//! - the installed distributions' requirements are consistent (`uv pip check` / `pip check`);
//! - every script in `bin/` names an interpreter the host will have: the tree's own, below the
//!   install path (or found from the script's place, in a relocatable tree), or the system's.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ImportFailure, Result};
use crate::venv::installer::Backend;
use crate::venv::relocate::Target;

/// Imports the entry points of the distributions named on stdin (JSON: `dists`, normalized
/// names; `skip`, fnmatch patterns of `NAME` or `GROUP:NAME`; `only`, when not empty, the
/// `GROUP:NAME`s to import) and writes what happened to the file named by argv[1]. An
/// attribute that is a submodule not imported yet is imported, as `from MODULE import NAME`
/// would. Module output goes to stderr; a module that blocks is stopped after a minute.
const IMPORT_ENTRY_POINTS: &str = r#"
import fnmatch, importlib, json, re, signal, sys, traceback
from importlib import metadata
request = json.load(sys.stdin)
def load(ep):
    try:
        return ep.load()
    except AttributeError:
        # `from MODULE import NAME` imports a submodule NAME; an entry point may name one.
        module, _, attrs = ep.value.partition(":")
        first = attrs.strip().split(".")[0]
        if not first:
            raise
        try:
            importlib.import_module(module.strip() + "." + first)
        except ImportError:
            raise
        return ep.load()
sys.stdout = sys.stderr
def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()
def timeout(signum, frame):
    raise TimeoutError("importing took longer than 60 seconds")
signal.signal(signal.SIGALRM, timeout)
checked, skipped, failed, found = [], [], [], []
for dist in metadata.distributions():
    # A venv's lib64 -> lib link lists every distribution twice.
    name = norm(dist.metadata["Name"] or "")
    if name not in request["dists"] or name in found:
        continue
    found.append(name)
    for ep in sorted(dist.entry_points, key=lambda e: (e.group, e.name)):
        label = ep.group + ":" + ep.name
        if request["only"] and label not in request["only"]:
            continue
        if any(fnmatch.fnmatchcase(label, p) or fnmatch.fnmatchcase(ep.name, p) for p in request["skip"]):
            skipped.append(label)
            continue
        signal.alarm(60)
        try:
            load(ep)
            checked.append(label)
        except BaseException as e:
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            failed.append({"entry_point": label, "value": ep.value, "error": last})
        finally:
            signal.alarm(0)
with open(sys.argv[1], "w") as out:
    json.dump({"found": found, "checked": checked, "skipped": skipped, "failed": failed}, out)
"#;

/// What the verify stage checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Verified {
    /// Entry points imported (`GROUP:NAME`).
    pub entry_points: Vec<String>,
    /// Entry points `verify_skip` left out.
    pub skipped: Vec<String>,
    /// Installed distributions whose requirements were checked.
    pub distributions: usize,
    /// Files named by RECORD files, all present.
    pub files: usize,
}

#[derive(Deserialize)]
struct Report {
    found: Vec<String>,
    checked: Vec<String>,
    skipped: Vec<String>,
    failed: Vec<ImportFailure>,
}

/// Verifies the relocated virtualenv `tree` of `project`, whose own distributions have the
/// normalized `names`.
pub fn verify(
    project: &str,
    tree: &Path,
    target: Target<'_>,
    names: &[String],
    skip: &[String],
    backend: &Backend,
) -> Result<Verified> {
    // The checks are independent: the records, the scripts and the requirements are checked
    // while the entry points import; failures are reported in that order.
    let (files, imports, distributions) = std::thread::scope(|scope| {
        let files = scope.spawn(|| {
            check_interpreters(project, tree, target)?;
            check_records(project, tree)
        });
        let distributions = scope.spawn(|| check_requirements(project, tree, backend));
        let imports = imports(project, tree, names, skip);
        let joined = |h: std::thread::ScopedJoinHandle<'_, Result<usize>>| {
            h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        (joined(files), imports, joined(distributions))
    });
    let (files, (entry_points, skipped)) = (files?, imports?);
    Ok(Verified { entry_points, skipped, distributions: distributions?, files })
}

/// The project's entry points that import, and those `skip` left out; the first failure.
fn imports(
    project: &str,
    tree: &Path,
    names: &[String],
    skip: &[String],
) -> Result<(Vec<String>, Vec<String>)> {
    let mut report = import_entry_points(project, tree, names, skip, &[])?;
    // Imported together, one entry point can break the next (nova's services set a threading
    // mode that its eventlet-based tools refuse). Each runs in a process of its own on a host:
    // what failed is tried again, first together in a fresh process (nova's eventlet tools agree
    // with each other), then each alone, on every core; only what fails alone fails the build.
    let retry: Vec<String> = report.failed.iter().map(|f| f.entry_point.clone()).collect();
    let mut failed = Vec::new();
    if !retry.is_empty() {
        let together = import_entry_points(project, tree, names, skip, &retry)?;
        report.checked.extend(together.checked);
        let alone = crate::host::on_every_core(&together.failed, |f| {
            import_entry_points(project, tree, names, skip, std::slice::from_ref(&f.entry_point))
        })?;
        for (first, alone) in together.failed.into_iter().zip(alone) {
            match alone.failed.into_iter().next() {
                Some(failure) => failed.push(failure),
                None => report.checked.push(first.entry_point),
            }
        }
    }
    if let Some(first) = failed.first() {
        return Err(Error::EntryPointImport {
            project: project.into(),
            entry_point: first.entry_point.clone(),
            error: first.error.clone(),
            failures: failed,
        });
    }
    report.checked.sort();
    Ok((report.checked, report.skipped))
}

/// Directories whose interpreters a script may name: every host has them.
const SYSTEM_BIN: [&str; 5] = ["/bin/", "/usr/bin/", "/usr/local/bin/", "/sbin/", "/usr/sbin/"];

/// Every script in `tree`'s `bin/` names an interpreter that runs where the tree is installed
/// at `target`: the tree's own (a path below the install path that the tree holds; in a
/// relocatable tree, a name next to the script) or one of [`SYSTEM_BIN`]. A script naming any
/// other path (the staging directory a tool wrote, another machine's) installs fine and fails
/// with "bad interpreter" when run.
fn check_interpreters(project: &str, tree: &Path, target: Target<'_>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(tree.join("bin")) else { return Ok(()) };
    let mut scripts: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    scripts.sort();
    for script in scripts {
        if script.is_symlink() || !script.is_file() {
            continue;
        }
        let mut head = vec![0; 4096];
        let n = std::io::Read::read(&mut fs_err::File::open(&script)?, &mut head)?;
        let Some(interpreter) = interpreter(&head[..n]) else { continue };
        let name = script.file_name().unwrap_or_default().to_string_lossy();
        let runs = match (&interpreter, target) {
            (Interpreter::Path(path), _) if SYSTEM_BIN.iter().any(|d| path.starts_with(d)) => true,
            (Interpreter::Path(path), Target::Fixed(install)) => {
                Path::new(path).strip_prefix(install).is_ok_and(|rel| tree.join(rel).exists())
            }
            (Interpreter::Path(_), Target::Relocatable) => false,
            (Interpreter::NextToScript(name), _) => tree.join("bin").join(name).exists(),
        };
        if !runs {
            let named = match &interpreter {
                Interpreter::Path(path) => path.clone(),
                Interpreter::NextToScript(name) => format!("bin/{name}"),
            };
            return Err(Error::Verify {
                project: project.into(),
                problem: format!(
                    "script `bin/{name}` names the interpreter `{named}`, which is neither the bundle's own nor in a system bin directory: it would fail with \"bad interpreter\" on a host"
                ),
            });
        }
    }
    Ok(())
}

/// The interpreter a script runs with.
#[derive(Debug, PartialEq, Eq)]
enum Interpreter {
    /// A path (after `#!`, or in the `/bin/sh` trampoline's `exec` line).
    Path(String),
    /// The relocatable trampoline's: a name in the script's own directory.
    NextToScript(String),
}

/// The interpreter of the script that starts with `head`; `None` for a file that is not a
/// script (no `#!`). A relative one (`#!python`, the placeholder of a wheel's scripts) is
/// returned as it is written, and runs nowhere.
fn interpreter(head: &[u8]) -> Option<Interpreter> {
    let text = String::from_utf8_lossy(head.strip_prefix(b"#!")?);
    let mut lines = text.lines();
    let first = lines.next()?.split_whitespace().next()?.to_string();
    let second = lines.next().unwrap_or_default();
    if first == "/bin/sh" {
        // wrap's trampolines: `'''exec' '/opt/x/bin/python' "$0" "$@"` (a fixed path too long
        // for the kernel) and `'''exec' "$(dirname -- "$(realpath -- "$0")")/python" "$0" "$@"`.
        if let Some(rest) = second.strip_prefix("'''exec' '") {
            return rest.split('\'').next().map(|p| Interpreter::Path(p.to_string()));
        }
        if let Some(rest) = second.strip_prefix("'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/") {
            return rest.split('"').next().map(|n| Interpreter::NextToScript(n.to_string()));
        }
    }
    Some(Interpreter::Path(first))
}

/// Every file each RECORD of `tree` names exists; returns how many were checked.
fn check_records(project: &str, tree: &Path) -> Result<usize> {
    let mut files = 0;
    for site in crate::pyenv::site_packages(tree)? {
        for entry in fs_err::read_dir(&site)? {
            let info = entry?.path();
            let record = info.join("RECORD");
            if info.extension().is_none_or(|e| e != "dist-info") || !record.is_file() {
                continue;
            }
            let rows = crate::pyenv::read_record(&fs_err::read(&record)?).map_err(|e| Error::Verify {
                project: project.into(),
                problem: format!("`{}` is not a valid RECORD: {e}", record.display()),
            })?;
            for row in rows {
                let path = crate::venv::build::normalize_path(&site.join(&row.path));
                if std::fs::symlink_metadata(&path).is_err() {
                    let dist = info.file_name().unwrap_or_default().to_string_lossy().into_owned();
                    return Err(Error::RecordFileMissing {
                        project: project.into(),
                        distribution: dist,
                        file: row.path,
                    });
                }
                files += 1;
            }
        }
    }
    Ok(files)
}

fn import_entry_points(
    project: &str,
    tree: &Path,
    names: &[String],
    skip: &[String],
    only: &[String],
) -> Result<Report> {
    let dir = tempfile::Builder::new().prefix(&crate::interrupt::temp_prefix()).tempdir()?;
    let out: PathBuf = dir.path().join("report.json");
    let request = serde_json::json!({ "dists": names, "skip": skip, "only": only });
    let mut cmd = Command::new(tree.join("bin/python"));
    // Isolated (no PYTHON* variables, no user site, not the working directory), no bytecode
    // written into the tree, warnings silenced, run from an empty directory.
    cmd.args(["-I", "-B", "-W", "ignore", "-c", IMPORT_ENTRY_POINTS])
        .arg(&out)
        .current_dir(dir.path())
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME");
    let output = crate::interrupt::output_with_input(&mut cmd, Some(request.to_string().into_bytes()))
        .map_err(|e| Error::Command { program: "python".into(), detail: e.to_string() })?;
    let report: Report = match std::fs::read(&out).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
        Some(report) => report,
        None => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            return Err(Error::Verify {
                project: project.into(),
                problem: format!("the bundle's interpreter could not check the entry points ({last})"),
            });
        }
    };
    if report.found.is_empty() {
        return Err(Error::Verify {
            project: project.into(),
            problem: format!("the bundle holds no distribution named {}", names.join(" or ")),
        });
    }
    for label in &report.checked {
        tracing::debug!(project, entry_point = %label, "imports");
    }
    Ok(report)
}

/// `uv pip check` or `pip check` on the tree; returns how many distributions were checked.
fn check_requirements(project: &str, tree: &Path, backend: &Backend) -> Result<usize> {
    let python = tree.join("bin/python");
    let mut cmd = match backend {
        Backend::Uv(uv) => {
            let mut cmd = Command::new(uv);
            cmd.args(["pip", "check", "--no-progress", "--color", "never", "--python"]).arg(&python);
            cmd
        }
        Backend::Pip(tools) => {
            let mut cmd = Command::new(tools);
            cmd.args(["-m", "pip", "--python"]).arg(&python).args(["check", "--disable-pip-version-check"]);
            cmd
        }
    };
    cmd.env_remove("VIRTUAL_ENV").env_remove("PYTHONPATH");
    let output = crate::interrupt::output(&mut cmd)
        .map_err(|e| Error::Command { program: backend.name().into(), detail: e.to_string() })?;
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        let problems: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("Using Python") && !l.starts_with("Checked "))
            .map(str::to_string)
            .collect();
        return Err(Error::RequirementsInconsistent { project: project.into(), problems });
    }
    // uv: "Checked 96 packages in 3ms"; pip says "No broken requirements found."
    let checked = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Checked ")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| count_distributions(tree));
    Ok(checked)
}

fn count_distributions(tree: &Path) -> usize {
    crate::pyenv::site_packages(tree)
        .unwrap_or_default()
        .iter()
        .flat_map(|site| std::fs::read_dir(site).into_iter().flatten().flatten())
        .filter(|e| e.path().extension().is_some_and(|x| x == "dist-info"))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreters_are_read_from_shebangs_and_trampolines() {
        let read = |s: &str| interpreter(s.as_bytes());
        assert_eq!(
            read("#!/opt/x/bin/python\nimport sys\n"),
            Some(Interpreter::Path("/opt/x/bin/python".into()))
        );
        assert_eq!(read("#!/usr/bin/env python3\n"), Some(Interpreter::Path("/usr/bin/env".into())));
        let fixed = "#!/bin/sh\n'''exec' '/opt/long/bin/python' \"$0\" \"$@\"\n' '''\n";
        assert_eq!(read(fixed), Some(Interpreter::Path("/opt/long/bin/python".into())));
        let anywhere =
            "#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/python3\" \"$0\" \"$@\"\n' '''\n";
        assert_eq!(read(anywhere), Some(Interpreter::NextToScript("python3".into())));
        assert_eq!(read("#!/bin/sh\necho hi\n"), Some(Interpreter::Path("/bin/sh".into())));
        assert_eq!(read("#!python\n"), Some(Interpreter::Path("python".into())));
        assert_eq!(read("\x7fELF"), None);
    }

    #[test]
    fn a_script_naming_the_staging_directory_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("opt/x");
        std::fs::create_dir_all(tree.join("bin")).unwrap();
        std::os::unix::fs::symlink("/usr/bin/python3", tree.join("bin/python")).unwrap();
        let write = |name: &str, text: &str| std::fs::write(tree.join("bin").join(name), text).unwrap();
        write("activate", "# sourced, not run\n");
        write("tool", "#!/opt/x/bin/python\n");
        write("shell", "#!/usr/bin/env bash\n");
        assert!(check_interpreters("x", &tree, Target::Fixed("/opt/x")).is_ok());
        // The interpreter must be in the tree, not only below the install path.
        write("tool", "#!/opt/x/bin/python9\n");
        let err = check_interpreters("x", &tree, Target::Fixed("/opt/x")).unwrap_err().to_string();
        assert!(err.contains("`bin/tool` names the interpreter `/opt/x/bin/python9`"), "{err}");
        // What a tool wrote in the staging directory.
        write("tool", "#!/var/cache/wrap/tmp/.wrap-tmp-1-build-x/venv/bin/python\n");
        let err = check_interpreters("x", &tree, Target::Fixed("/opt/x")).unwrap_err().to_string();
        assert!(err.contains("/var/cache/wrap/tmp/.wrap-tmp-1-build-x/venv/bin/python"), "{err}");
        // A wheel's placeholder left as it was runs nowhere.
        write("tool", "#!python\n");
        assert!(check_interpreters("x", &tree, Target::Fixed("/opt/x")).is_err());
        // A relocatable tree has no fixed path: only its trampolines and the system's.
        write("tool", "#!/opt/x/bin/python\n");
        assert!(check_interpreters("x", &tree, Target::Relocatable).is_err());
        write(
            "tool",
            "#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/python\" \"$0\" \"$@\"\n' '''\n",
        );
        assert!(check_interpreters("x", &tree, Target::Relocatable).is_ok());
    }
}
