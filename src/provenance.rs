//! Provenance written into every bundle as `<install_path>/.wrap/build-info.json`: where the
//! source came from (git URL, ref, commit, patches), what built it (interpreter and its ABI,
//! installer, wrap), and every installed Python distribution with its version. Sorted and free
//! of timestamps, so it never breaks reproducibility.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::lock::LockedFile;
use crate::venv::build::site_packages;

/// One installed distribution.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Distribution {
    /// Name as its metadata spells it.
    pub name: String,
    /// Version.
    pub version: String,
}

/// The content of build-info.json.
#[derive(Debug, Clone, Serialize)]
pub struct BuildInfo {
    /// wrap's version.
    pub wrap_version: &'static str,
    /// sha256 of the manifest.
    pub manifest_sha256: String,
    /// Project name.
    pub project: String,
    /// Package name and version-release.
    pub package: String,
    /// Version.
    pub version: String,
    /// Git URL as written.
    pub git: String,
    /// Ref as written.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Commit.
    pub commit: String,
    /// Patches in order, with sha256.
    pub patches: Vec<LockedFile>,
    /// Constraints files with sha256.
    pub constraints: Vec<LockedFile>,
    /// Interpreter version, e.g. 3.11.2.
    pub python_version: String,
    /// Interpreter ABI the bundle needs, e.g. 3.11.
    pub python_abi: String,
    /// Interpreter path the bundle runs on.
    pub python: String,
    /// `uv` or `pip`.
    pub installer: String,
    /// Installer version.
    pub installer_version: String,
    /// Installed distributions, sorted.
    pub distributions: Vec<Distribution>,
}

/// Every distribution installed in the venv at `tree`, from its `*.dist-info/METADATA`.
pub fn installed(tree: &Path) -> Result<Vec<Distribution>> {
    let mut out = Vec::new();
    for site in site_packages(tree)? {
        for entry in fs_err::read_dir(&site)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "dist-info") {
                continue;
            }
            let Ok(metadata) = fs_err::read_to_string(path.join("METADATA")) else { continue };
            let field = |key: &str| {
                metadata
                    .lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            };
            if let (Some(name), Some(version)) = (field("Name:"), field("Version:")) {
                out.push(Distribution { name, version });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes `.wrap/build-info.json` into `tree`.
pub fn write(tree: &Path, info: &BuildInfo) -> Result<()> {
    let dir = tree.join(".wrap");
    fs_err::create_dir_all(&dir)?;
    let mut json = serde_json::to_string_pretty(info).expect("build info serializes");
    json.push('\n');
    fs_err::write(dir.join("build-info.json"), json)?;
    Ok(())
}
