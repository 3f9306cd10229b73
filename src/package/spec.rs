//! The one package model both writers (deb.rs, and the rpm writer) read: names, versions,
//! descriptions, computed requirements, relations, the staged filesystem root with its
//! conffiles, and the operators' service bits (stable path, system user, systemd units).
//! Metadata is computed here once; the writers only format it.

use std::path::PathBuf;

use crate::manifest::{Relation, Relations};
use crate::package::depends::Requirement;
use crate::provenance::Metadata;

/// A stable path managed with alternatives, pointing at the newest installed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// Alternatives group name.
    pub name: String,
    /// The stable path (the link).
    pub link: String,
    /// This version's install path (the target).
    pub path: String,
    /// Higher wins; derived from the version so that the newest is chosen.
    pub priority: u32,
    /// Console scripts of this version's `bin/` that follow the group as `/usr/bin/<name>`
    /// (update-alternatives' slaves).
    pub commands: Vec<String>,
}

/// Everything a package writer needs.
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// The project it is built from (as the manifest names it).
    pub project: String,
    /// Package name.
    pub name: String,
    /// The project's version (PEP 440).
    pub version: String,
    /// The version as dpkg and rpm write it ([`crate::version::package_version`]).
    pub upstream: String,
    /// Release / Debian revision.
    pub release: String,
    /// Package epoch.
    pub epoch: Option<u64>,
    /// `Name <email>`.
    pub maintainer: String,
    /// One-line synopsis.
    pub summary: String,
    /// Extended description: paragraphs separated by blank lines, unwrapped.
    pub description: String,
    /// Project home page.
    pub homepage: Option<String>,
    /// The project's license, as its metadata states it.
    pub license: Option<String>,
    /// Debian section.
    pub section: String,
    /// Debian priority.
    pub priority: String,
    /// Computed requirements (Python, glibc, libraries).
    pub requirements: Vec<Requirement>,
    /// The manifest's system_dependencies.
    pub system_dependencies: Vec<Relation>,
    /// The manifest's `[project.rpm] system_dependencies`, where RPM names differ.
    pub rpm_system_dependencies: Option<Vec<Relation>>,
    /// The .rpm's relations, where they differ from `relations`.
    pub rpm_relations: Option<Relations>,
    /// Recommends, Provides, Conflicts, Replaces from the manifest.
    pub relations: Relations,
    /// Where the bundle is installed.
    pub install_path: String,
    /// Stable path, when the install path is versioned.
    pub alternative: Option<Alternative>,
    /// System user to create.
    pub user: Option<String>,
    /// systemd unit files shipped (absolute paths).
    pub units: Vec<String>,
    /// What installing does with them.
    pub enable_units: crate::manifest::EnableUnits,
    /// Whether an upgrade restarts the running services.
    pub restart_on_upgrade: bool,
    /// Files under /etc (absolute paths): kept across upgrades.
    pub conffiles: Vec<String>,
    /// The staged filesystem root holding every file of the package.
    pub root: PathBuf,
    /// Timestamp of every entry.
    pub mtime: u64,
    /// What went in: for changelogs and copyright files.
    pub origin: String,
    /// The manifest's lintian overrides (after `<package>: `).
    pub lintian_overrides: Vec<String>,
    /// The manifest's rpmlint filters.
    pub rpmlint_filters: Vec<String>,
    /// The container image's own facts (`--format oci`).
    pub image: Option<ImageSpec>,
    /// When the bundle's modules are byte-compiled: the artifacts carry pycs (`Build`), or the
    /// install scripts compile them (`Install`), or neither.
    pub bytecode: crate::manifest::Bytecode,
    /// The operator's maintainer-script fragments, by hook (`postinst`, `preun`, …).
    pub scripts: std::collections::BTreeMap<String, crate::manifest::Script>,
    /// Whether the package holds the bundle (a metapackage does not: its scripts leave the
    /// bundle's bytecode alone).
    pub bundle: bool,
    /// The manifest's `[[project.files]]`, staged in the root.
    pub extra_files: Vec<crate::plan::files::PlannedFile>,
}

/// What a container image adds to the package model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// The base image's OCI layout directory.
    pub base: PathBuf,
    /// The base as the manifest names it, for messages.
    pub base_name: String,
    /// The images, in order: the service each runs (none: the project's one image) and its
    /// `Cmd`, a console script of the bundle by absolute path.
    pub images: Vec<(Option<String>, Option<String>)>,
    /// Where the source lives (a public URL), for `org.opencontainers.image.source`.
    pub source: Option<String>,
    /// The pinned commit, for `org.opencontainers.image.revision`.
    pub revision: String,
    /// `ExposedPorts` (`8000/tcp`).
    pub ports: Vec<String>,
    /// `Volumes`.
    pub volumes: Vec<String>,
}

impl PackageSpec {
    /// The version as dpkg and rpm write it: `11.0.0rc1` → `11.0.0~rc1`.
    pub fn upstream_version(&self) -> &str {
        &self.upstream
    }

    /// `[epoch:]upstream-release`, as dpkg writes it.
    pub fn deb_version(&self) -> String {
        let epoch = self.epoch.map(|e| format!("{e}:")).unwrap_or_default();
        format!("{epoch}{}-{}", self.upstream, self.release)
    }
}

/// A synopsis and an extended description from the project's metadata: the summary, then the
/// first paragraphs of its long description that are prose (not headings, badges or markup),
/// then what the package holds.
pub fn describe(project: &str, meta: Option<&Metadata>, what: &str) -> (String, String) {
    let summary = meta
        .and_then(|m| m.summary.clone())
        .unwrap_or_else(|| format!("{project} and its Python dependencies"));
    // Upstream metadata is input: one line, whatever its Summary held (a folded header would
    // otherwise start a new control field or unit directive).
    let summary = one_line(&summary);
    let mut summary = summary.trim().trim_end_matches('.').to_string();
    if summary.chars().count() > 79 {
        summary = summary.chars().take(76).collect::<String>() + "...";
    }
    let mut paragraphs: Vec<String> = Vec::new();
    if let Some(text) = meta.and_then(|m| m.description.as_deref()) {
        for para in text.split("\n\n") {
            let lines: Vec<&str> = para.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let Some(first) = lines.first() else { continue };
            let heading = first.starts_with('#')
                || lines.iter().any(|l| l.len() > 2 && l.chars().all(|c| "=-~^*#".contains(c)));
            let markup = [".. ", "[!", "|", "<", "```", ":"].iter().any(|m| first.starts_with(m));
            if heading || markup || !first.chars().any(char::is_alphabetic) {
                continue;
            }
            paragraphs.push(one_line(&lines.join(" ")));
            if paragraphs.len() == 2 {
                break;
            }
        }
    }
    paragraphs.push(what.to_string());
    (summary, paragraphs.join("\n\n"))
}

/// `text` on one line: every run of white space (newlines included) as one space, control
/// characters left out.
pub fn one_line(text: &str) -> String {
    text.split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A home page URL from upstream metadata, when it is one: `http(s)://` and no white space or
/// control characters (it reaches a control field and a unit's `Documentation=`).
pub fn home_page(url: &str) -> Option<String> {
    let url = url.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 500
        && !url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '%');
    ok.then(|| url.to_string())
}

/// Word-wraps `text` at `width` columns (longer words stand alone on their line).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

impl PackageSpec {
    /// System dependencies as RPM distributions name them.
    pub fn rpm_system_dependencies(&self) -> &[Relation] {
        self.rpm_system_dependencies.as_deref().unwrap_or(&self.system_dependencies)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::package::depends::Requirement;
    use std::path::Path;

    /// A package model for the writers' tests.
    pub(crate) fn spec(root: &Path) -> PackageSpec {
        PackageSpec {
            project: "hello".into(),
            name: "wrap-test-hello".into(),
            version: "1.1.0rc1".into(),
            upstream: "1.1.0~rc1".into(),
            release: "1".into(),
            epoch: None,
            maintainer: "Cloud Ops <ops@example.com>".into(),
            summary: "Says hello".into(),
            description: "A tiny program.\n\nBundled by wrap.".into(),
            homepage: Some("https://example.com/hello".into()),
            license: Some("Apache-2.0".into()),
            section: "misc".into(),
            priority: "optional".into(),
            requirements: vec![Requirement::Python("3.11".into()), Requirement::Glibc("2.17".into())],
            system_dependencies: vec![Relation::parse_deb("libvirt0").unwrap()],
            rpm_system_dependencies: None,
            rpm_relations: None,
            relations: Relations {
                recommends: vec![Relation::parse_deb("jq (>= 1.6)").unwrap()],
                ..Relations::default()
            },
            install_path: "/opt/wrap-test/hello-1.1.0".into(),
            alternative: None,
            user: Some("hello".into()),
            units: vec![],
            enable_units: Default::default(),
            restart_on_upgrade: false,
            conffiles: vec![],
            root: root.into(),
            mtime: 1_771_061_400,
            origin: "Built by wrap.".into(),
            lintian_overrides: vec![],
            rpmlint_filters: vec![],
            image: None,
            bytecode: crate::manifest::Bytecode::Build,
            scripts: Default::default(),
            bundle: true,
            extra_files: Vec::new(),
        }
    }

    #[test]
    fn descriptions_skip_markup() {
        let meta = Metadata {
            summary: Some("Says hello.".into()),
            description: Some(
                "# hello\n\n[![badge](x)](y)\n\nA tiny command-line\nprogram.\n\nUsage\n=====\n\nRun it."
                    .into(),
            ),
            ..Metadata::default()
        };
        let (summary, description) = describe("hello", Some(&meta), "Bundled by wrap.");
        assert_eq!(summary, "Says hello");
        assert_eq!(description, "A tiny command-line program.\n\nRun it.\n\nBundled by wrap.");
        let hostile =
            Metadata { summary: Some("Says\n hello\nEssential: yes\r".into()), ..Metadata::default() };
        assert_eq!(describe("hello", Some(&hostile), "x").0, "Says hello Essential: yes");
        assert_eq!(home_page("https://example.com/x").as_deref(), Some("https://example.com/x"));
        assert_eq!(home_page("https://example.com/x\nEssential: yes"), None);
        assert_eq!(home_page("javascript:alert(1)"), None);
        let (summary, description) = describe("hello", None, "Bundled by wrap.");
        assert_eq!(
            (summary.as_str(), description.as_str()),
            ("hello and its Python dependencies", "Bundled by wrap.")
        );
    }

    #[test]
    fn words_wrap() {
        assert_eq!(wrap_words("aa bb cc dd", 5), ["aa bb", "cc dd"]);
        assert_eq!(wrap_words("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
    }
}
