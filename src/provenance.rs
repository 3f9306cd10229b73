//! Provenance written into every bundle as `<install_path>/.wrap/build-info.json`: where the
//! source came from (git URL, ref, commit, patches), what built it (interpreter and its ABI,
//! installer, wrap), and every installed Python distribution with its version; and
//! `<install_path>/.wrap/sbom.cdx.json`, a CycloneDX 1.5 SBOM of those distributions (purl
//! `pkg:pypi/<name>@<version>`, license where the metadata states one). Both are sorted and carry
//! no time but the source date, so they never break reproducibility.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::lock::LockedFile;
use crate::pyenv::site_packages;

/// One installed distribution.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Distribution {
    /// Name as its metadata spells it.
    pub name: String,
    /// Version.
    pub version: String,
    /// The sha256 of the files the lock allowed for it, when the build was locked (one of them
    /// was installed, checked by the installer).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sha256: Vec<String>,
}

/// The content of build-info.json.
#[derive(Debug, Clone, Serialize)]
pub struct BuildInfo {
    /// wrap's version.
    pub wrap_version: &'static str,
    /// The project's plan key: the digest of every decision the manifest and lock made for it.
    pub plan_sha256: String,
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
    /// Whether the lock's dependency closure was installed (every file checked against it).
    pub locked: bool,
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

/// The installed distributions of `metadata`: name and version, sorted.
pub fn distributions(metadata: &[Metadata]) -> Vec<Distribution> {
    let mut out: Vec<Distribution> = metadata
        .iter()
        .map(|m| Distribution { name: m.name.clone(), version: m.version.clone(), sha256: vec![] })
        .collect();
    out.sort();
    out
}

/// Writes `.wrap/build-info.json` and `.wrap/sbom.cdx.json` into `tree` (a virtualenv).
pub fn write(tree: &Path, info: &BuildInfo, installed: &[Metadata], source_date_epoch: i64) -> Result<()> {
    let dir = tree.join(".wrap");
    fs_err::create_dir_all(&dir)?;
    let pretty =
        |value: &serde_json::Value| serde_json::to_string_pretty(value).expect("JSON serializes") + "\n";
    let info_json = serde_json::to_value(info).expect("build info serializes");
    // Replaced, never written through: the tree's files may be hard links (uv's cache).
    crate::fs::replace_file(&dir.join("build-info.json"), pretty(&info_json).as_bytes())?;
    let sbom = sbom(info, installed, source_date_epoch);
    crate::fs::replace_file(&dir.join("sbom.cdx.json"), pretty(&sbom).as_bytes())?;
    Ok(())
}

/// `pkg:pypi/<normalized name>@<version>` (the purl spec lowercases PyPI names, `_` → `-`).
pub fn purl(name: &str, version: &str) -> String {
    format!("pkg:pypi/{}@{version}", crate::pyenv::normalize(name))
}

/// Whether `text` reads as an SPDX license expression: identifiers (letters, digits, `.-`, an
/// optional `+`) joined by AND, OR or WITH, parentheses allowed. `MIT`, `Apache-2.0 OR MIT` are;
/// `BSD License (3 clause)` is not.
fn is_spdx_expression(text: &str) -> bool {
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let mut want_id = true;
    for token in spaced.split_whitespace().filter(|t| *t != "(" && *t != ")") {
        let is_op = matches!(token, "AND" | "OR" | "WITH");
        let is_id = !is_op
            && token.trim_end_matches('+').chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && !token.is_empty();
        if (want_id && !is_id) || (!want_id && !is_op) {
            return false;
        }
        want_id = !want_id;
    }
    !want_id
}

/// The CycloneDX 1.5 document of a bundle: the project as the metadata component, every
/// installed distribution as a library component.
pub fn sbom(info: &BuildInfo, installed: &[Metadata], source_date_epoch: i64) -> serde_json::Value {
    let timestamp = crate::time::rfc3339(source_date_epoch);
    let components: Vec<serde_json::Value> = installed
        .iter()
        .map(|dist| {
            let purl = purl(&dist.name, &dist.version);
            let mut component = serde_json::json!({
                "type": "library",
                "bom-ref": purl,
                "name": dist.name,
                "version": dist.version,
                "purl": purl,
            });
            let locked = info.distributions.iter().find(|d| d.name == dist.name && d.version == dist.version);
            if let Some(locked) = locked.filter(|d| !d.sha256.is_empty()) {
                let hashes: Vec<serde_json::Value> = locked
                    .sha256
                    .iter()
                    .map(|h| serde_json::json!({ "alg": "SHA-256", "content": h }))
                    .collect();
                component["hashes"] = serde_json::json!(hashes);
            }
            if let Some(license) = &dist.license {
                // An SPDX expression is an expression; anything else is a license name.
                component["licenses"] = if is_spdx_expression(license) {
                    serde_json::json!([{ "expression": license }])
                } else {
                    serde_json::json!([{ "license": { "name": license } }])
                };
            }
            component
        })
        .collect();
    serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": { "components": [{ "type": "application", "name": "wrap", "version": info.wrap_version }] },
            "component": {
                "type": "application",
                "bom-ref": format!("wrap:{}", info.package),
                "name": info.project,
                "version": info.version,
                "externalReferences": [{ "type": "vcs", "url": info.git, "comment": format!("{} at {}", info.git_ref, info.commit) }],
            },
        },
        "components": components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbom_lists_every_distribution_with_purl_and_license() {
        let info = BuildInfo {
            wrap_version: "0.1.0",
            plan_sha256: String::new(),
            project: "hello".into(),
            package: "hello 1.1.0-1".into(),
            version: "1.1.0".into(),
            git: "https://example.com/hello".into(),
            git_ref: "1.1.0".into(),
            commit: "abc".into(),
            patches: vec![],
            constraints: vec![],
            python_version: "3.11.2".into(),
            python_abi: "3.11".into(),
            python: "/usr/bin/python3.11".into(),
            installer: "uv".into(),
            installer_version: "0.13.9".into(),
            locked: true,
            distributions: vec![Distribution {
                name: "shout".into(),
                version: "1.0.0".into(),
                sha256: vec!["ab".repeat(32)],
            }],
        };
        let dists = [
            Metadata {
                name: "Oslo.Config".into(),
                version: "9.6.0".into(),
                license: Some("Apache-2.0".into()),
                ..Metadata::default()
            },
            Metadata {
                name: "shout".into(),
                version: "1.0.0".into(),
                license: Some("BSD License (3 clause)".into()),
                ..Metadata::default()
            },
            Metadata { name: "nolicense".into(), version: "2".into(), ..Metadata::default() },
        ];
        let bom = sbom(&info, &dists, 1_771_061_400);
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["specVersion"], "1.5");
        assert_eq!(bom["metadata"]["timestamp"], "2026-02-14T09:30:00Z");
        assert_eq!(bom["metadata"]["component"]["name"], "hello");
        let c = bom["components"].as_array().unwrap();
        assert_eq!(c[0]["purl"], "pkg:pypi/oslo-config@9.6.0");
        assert_eq!(c[0]["licenses"][0]["expression"], "Apache-2.0");
        assert_eq!(c[1]["licenses"][0]["license"]["name"], "BSD License (3 clause)");
        // The locked distribution carries its file's sha256; the others none.
        assert_eq!(c[1]["hashes"], serde_json::json!([{ "alg": "SHA-256", "content": "ab".repeat(32) }]));
        assert!(c[0].get("hashes").is_none());
        assert!(c[2].get("licenses").is_none());
        assert!(is_spdx_expression("Apache-2.0 OR (MIT AND BSD-3-Clause)"));
        assert!(is_spdx_expression("GPL-2.0+ WITH Classpath-exception-2.0"));
        assert!(!is_spdx_expression("BSD License (3 clause)"));
        assert!(!is_spdx_expression("MIT OR"));
    }

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
