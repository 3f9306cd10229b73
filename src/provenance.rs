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

/// What a distribution's core metadata (`*.dist-info/METADATA`) says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// `Name`.
    pub name: String,
    /// `Version`.
    pub version: String,
    /// `Summary`.
    pub summary: Option<String>,
    /// `Home-page`, else the first `Project-URL`.
    pub home_page: Option<String>,
    /// `License-Expression`, else `License` when it is one line.
    pub license: Option<String>,
    /// The long description: the message body, else the `Description` field.
    pub description: Option<String>,
}

impl Metadata {
    /// Parses METADATA text: RFC 822 headers, then the description as the body.
    pub fn parse(text: &str) -> Metadata {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = fields.last_mut() {
                    last.1.push('\n');
                    last.1.push_str(line.trim_start_matches([' ', '\t', '|']));
                }
            } else if let Some((k, v)) = line.split_once(':') {
                fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty() && v != "UNKNOWN")
        };
        let project_url =
            get("project-url").and_then(|v| v.split_once(',').map(|(_, u)| u.trim().to_string()));
        let license = get("license-expression").or_else(|| get("license").filter(|l| !l.contains('\n')));
        let body = body.trim();
        Metadata {
            name: get("name").unwrap_or_default(),
            version: get("version").unwrap_or_default(),
            summary: get("summary"),
            home_page: get("home-page").or(project_url),
            license,
            description: if body.is_empty() { get("description") } else { Some(body.to_string()) },
        }
    }
}

/// Every distribution installed in the venv at `tree`, with its metadata, sorted by name.
pub fn installed_metadata(tree: &Path) -> Result<Vec<Metadata>> {
    let mut out = Vec::new();
    for site in site_packages(tree)? {
        for entry in fs_err::read_dir(&site)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "dist-info") {
                continue;
            }
            let Ok(text) = fs_err::read_to_string(path.join("METADATA")) else { continue };
            let metadata = Metadata::parse(&text);
            if !metadata.name.is_empty() {
                out.push(metadata);
            }
        }
    }
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(out)
}

/// Every distribution installed in the venv at `tree`: name and version, sorted.
pub fn installed(tree: &Path) -> Result<Vec<Distribution>> {
    let mut out: Vec<Distribution> = installed_metadata(tree)?
        .into_iter()
        .map(|m| Distribution { name: m.name, version: m.version })
        .collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_headers_and_body() {
        let text = "Metadata-Version: 2.1\nName: hello\nVersion: 1.1.0\nSummary: Says hello\nLicense: Apache-2.0\nProject-URL: Source, https://example.com/hello\nDescription-Content-Type: text/markdown\n\n# hello\n\nA tiny program.\n";
        let m = Metadata::parse(text);
        assert_eq!((m.name.as_str(), m.version.as_str()), ("hello", "1.1.0"));
        assert_eq!(m.summary.as_deref(), Some("Says hello"));
        assert_eq!(m.license.as_deref(), Some("Apache-2.0"));
        assert_eq!(m.home_page.as_deref(), Some("https://example.com/hello"));
        assert_eq!(m.description.as_deref(), Some("# hello\n\nA tiny program."));
        let old = "Name: greet\nVersion: 0.9\nHome-page: https://example.com/g\nLicense: UNKNOWN\nDescription: Formal greetings.\n        |\n        |More.\n";
        let m = Metadata::parse(old);
        assert_eq!(m.license, None);
        assert_eq!(m.description.as_deref(), Some("Formal greetings.\n\nMore."));
    }
}
