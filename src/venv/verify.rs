//! The verify stage: run on a relocated tree before any artifact is written, so that a bundle
//! that installs but cannot run fails its build instead of a host. Three checks:
//! - every file that each installed distribution's RECORD names exists in the tree;
//! - every entry point of the project itself (console scripts and all other groups) imports:
//!   its module is imported and its attribute found, with the tree's own interpreter, nothing
//!   called (`verify_skip` names the ones that need hardware or configuration to import);
//! - the installed distributions' requirements are consistent (`uv pip check` / `pip check`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ImportFailure, Result};
use crate::venv::installer::Backend;

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
    names: &[String],
    skip: &[String],
    backend: &Backend,
) -> Result<Verified> {
    // The three checks are independent: the records and the requirements are checked while
    // the entry points import; failures are reported in that order.
    let (files, imports, distributions) = std::thread::scope(|scope| {
        let files = scope.spawn(|| check_records(project, tree));
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
