//! `wrap.toml`: reads the manifest, rejects unknown keys and bad values with their line and column,
//! and hands on a validated [`Manifest`] whose local paths are resolved against the manifest's
//! directory and whose templates are parsed. Nothing here touches git or the network.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::error::{Error, Location, ManifestError, Result};

/// Package formats wrap writes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Debian package.
    Deb,
    /// RPM package.
    Rpm,
    /// Relocatable tarball bundle.
    Tar,
}

impl Format {
    /// The lowercase name used in manifests, flags and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Rpm => "rpm",
            Self::Tar => "tar",
        }
    }
}

/// Compression of a package's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip: the default, and the only one lintian's Debian profile accepts in a .deb.
    #[default]
    Gzip,
    /// xz (multi-threaded).
    Xz,
    /// zstd (multi-threaded).
    Zstd,
}

/// Which tool installs packages into the virtualenv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Installer {
    /// uv when it is on PATH, else pip.
    #[default]
    Auto,
    /// Astral's uv.
    Uv,
    /// The interpreter's own pip.
    Pip,
}

/// A `{name}`/`{version}` template such as `/opt/openstack/{name}-{version}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Name,
    Version,
}

impl Template {
    /// Parses `text`; `key` names the manifest key in errors.
    pub fn parse(key: &str, text: &str) -> Result<Self, ManifestError> {
        let unbalanced = || ManifestError::UnbalancedTemplate { key: key.into(), template: text.into() };
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let open = rest.find('{');
            let close = rest.find('}');
            match (open, close) {
                (None, None) => {
                    parts.push(Part::Literal(rest.into()));
                    break;
                }
                (Some(o), Some(c)) if o < c => {
                    if o > 0 {
                        parts.push(Part::Literal(rest[..o].into()));
                    }
                    let placeholder = &rest[o + 1..c];
                    parts.push(match placeholder {
                        "name" => Part::Name,
                        "version" => Part::Version,
                        p if p.contains('{') => return Err(unbalanced()),
                        p => {
                            return Err(ManifestError::UnknownPlaceholder {
                                key: key.into(),
                                placeholder: p.into(),
                            });
                        }
                    });
                    rest = &rest[c + 1..];
                }
                _ => return Err(unbalanced()),
            }
        }
        Ok(Self { parts })
    }

    /// Fills in the placeholders.
    pub fn render(&self, name: &str, version: &str) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Literal(s) => s.as_str(),
                Part::Name => name,
                Part::Version => version,
            })
            .collect()
    }
}

/// A file or directory inside the manifest's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPath {
    /// As written in the manifest, relative to its directory.
    pub rel: String,
    /// Absolute.
    pub abs: PathBuf,
}

/// A pip constraints file: local, or fetched over https.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// A file in the manifest's tree.
    File(LocalPath),
    /// An https URL.
    Url(String),
}

impl Constraint {
    /// The path or URL as written; the lock file keys constraints by it.
    pub fn source(&self) -> &str {
        match self {
            Self::File(p) => &p.rel,
            Self::Url(u) => u,
        }
    }
}

/// Where a project's git repository lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// As written in the manifest (and recorded in the lock).
    pub written: String,
    /// What git is given: the URL, or the absolute path of a local repository.
    pub url: String,
}

/// `[settings]`, validated, with defaults filled in.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Overrides every project's derived version.
    pub version: Option<String>,
    /// Package release/iteration.
    pub release: String,
    /// Package name template.
    pub package_name: Template,
    /// Install path template.
    pub install_path: Template,
    /// Interpreter the virtualenv is built on.
    pub python: PathBuf,
    /// Installer backend.
    pub installer: Installer,
    /// pip constraints, in order.
    pub constraints: Vec<Constraint>,
    /// Local wheel directories.
    pub find_links: Vec<LocalPath>,
    /// Never touch the network.
    pub offline: bool,
    /// `Name <email>` for package metadata.
    pub maintainer: Option<String>,
    /// Formats to build; `None` means the host's native format.
    pub formats: Option<Vec<Format>>,
    /// Where artifacts go (absolute).
    pub output_dir: PathBuf,
    /// Payload compression of .deb and .rpm.
    pub compression: Compression,
    /// Debian epoch, when the version scheme changed.
    pub epoch: Option<u32>,
    /// Debian section.
    pub section: String,
    /// Debian priority.
    pub priority: String,
    /// Stable path template pointing at the newest installed version.
    pub link_path: Option<Template>,
}

/// One `[[project]]`, validated.
#[derive(Debug, Clone)]
pub struct Project {
    /// Unique name, the `{name}` of templates.
    pub name: String,
    /// Repository.
    pub git: GitSource,
    /// Tag, branch or full commit id.
    pub git_ref: String,
    /// Patch queue, applied in order.
    pub patches: Vec<LocalPath>,
    /// Extra requirements installed into the virtualenv.
    pub pip_dependencies: Vec<String>,
    /// Extras of the project itself.
    pub extras: Vec<String>,
    /// System packages the installed package depends on.
    pub system_dependencies: Vec<String>,
    /// Overrides the derived and the settings version.
    pub version: Option<String>,
    /// Overrides the settings package name template.
    pub package_name: Option<Template>,
    /// Overrides the settings install path template.
    pub install_path: Option<Template>,
    /// Overrides the settings stable path template.
    pub link_path: Option<Template>,
    /// System user (and group) the package creates if absent.
    pub user: Option<String>,
    /// Console scripts to install systemd units for (installed, not started).
    pub services: Vec<String>,
    /// Extra package relations, as written (Debian syntax).
    pub relations: Relations,
    /// `[project.rpm] system_dependencies`: the RPM names, where they differ from Debian's.
    pub rpm_system_dependencies: Option<Vec<String>>,
    /// Line of the project's table in the manifest, for errors found later.
    pub line: usize,
}

/// Package relations the manifest adds to the computed ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relations {
    /// Recommends.
    pub recommends: Vec<String>,
    /// Provides.
    pub provides: Vec<String>,
    /// Conflicts.
    pub conflicts: Vec<String>,
    /// Replaces.
    pub replaces: Vec<String>,
}

/// A validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file as the user named it.
    pub path: PathBuf,
    /// The manifest's directory, absolute.
    pub dir: PathBuf,
    /// sha256 of the manifest's bytes.
    pub sha256: String,
    /// `[settings]`.
    pub settings: Settings,
    /// `[[project]]` tables in manifest order.
    pub projects: Vec<Project>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    project: Vec<Spanned<RawProject>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    version: Option<Spanned<String>>,
    release: Option<Spanned<String>>,
    package_name: Option<Spanned<String>>,
    install_path: Option<Spanned<String>>,
    python: Option<Spanned<String>>,
    #[serde(default)]
    installer: Installer,
    #[serde(default)]
    constraints: Vec<Spanned<String>>,
    #[serde(default)]
    find_links: Vec<Spanned<String>>,
    #[serde(default)]
    offline: bool,
    maintainer: Option<Spanned<String>>,
    formats: Option<Vec<Format>>,
    output_dir: Option<Spanned<String>>,
    #[serde(default)]
    compression: Compression,
    epoch: Option<u32>,
    section: Option<String>,
    priority: Option<String>,
    link_path: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    name: Spanned<String>,
    git: Spanned<String>,
    #[serde(rename = "ref")]
    git_ref: Spanned<String>,
    #[serde(default)]
    patches: Vec<Spanned<String>>,
    #[serde(default)]
    pip_dependencies: Vec<Spanned<String>>,
    #[serde(default)]
    extras: Vec<String>,
    #[serde(default)]
    system_dependencies: Vec<String>,
    version: Option<Spanned<String>>,
    package_name: Option<Spanned<String>>,
    install_path: Option<Spanned<String>>,
    link_path: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    recommends: Vec<String>,
    #[serde(default)]
    provides: Vec<String>,
    #[serde(default)]
    conflicts: Vec<String>,
    #[serde(default)]
    replaces: Vec<String>,
    rpm: Option<RawRpm>,
}

/// `[project.rpm]`: what differs in RPM distributions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRpm {
    system_dependencies: Option<Vec<String>>,
}

/// Default package name template.
pub const DEFAULT_PACKAGE_NAME: &str = "{name}";
/// Default install path template.
pub const DEFAULT_INSTALL_PATH: &str = "/opt/wrap/{name}";
/// Default interpreter.
pub const DEFAULT_PYTHON: &str = "/usr/bin/python3";
/// Version used to check templates before the real version is known.
const PROBE_VERSION: &str = "0.0.0";

/// Directories an install path must never be: installing a bundle there would mix with the system.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib64",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/local",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/lib",
];

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::ManifestMissing { path: path.into() });
            }
            Err(e) => return Err(e.into()),
        };
        let abs = std::path::absolute(path)?;
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
        Self::parse(path, &dir, &text)
    }

    /// Validates manifest `text`; `path` names it in errors, `dir` anchors relative paths.
    pub fn parse(path: &Path, dir: &Path, text: &str) -> Result<Manifest> {
        let ctx = Ctx { path, dir, text };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            ctx.err(e.span().map(|s| s.start), ManifestError::Syntax { message: e.message().trim().into() })
        })?;
        let spans = TemplateSpans {
            package_name: raw.settings.package_name.as_ref().map(|t| t.span().start),
            install_path: raw.settings.install_path.as_ref().map(|t| t.span().start),
        };
        let settings = ctx.settings(raw.settings)?;
        if raw.project.is_empty() {
            return Err(ctx.err(None, ManifestError::NoProjects));
        }
        let mut projects: Vec<Project> = Vec::new();
        for raw in raw.project {
            let project = ctx.project(raw, &settings, &spans)?;
            if let Some(first) = projects.iter().find(|p| p.name == project.name) {
                return Err(Error::Manifest {
                    location: ctx.location_at_line(project.line),
                    kind: ManifestError::DuplicateProject { name: project.name, first_line: first.line },
                });
            }
            projects.push(project);
        }
        Ok(Manifest {
            path: path.into(),
            dir: dir.into(),
            sha256: sha256_hex(text.as_bytes()),
            settings,
            projects,
        })
    }

    /// The project called `name`.
    pub fn project(&self, name: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.name == name)
    }

    /// A location at a project's table, for errors found after loading.
    pub fn location(&self, project: &Project) -> Location {
        Location { file: self.path.clone(), line: Some(project.line), col: None }
    }
}

impl Project {
    /// The package name template that applies to this project.
    pub fn package_name_template<'a>(&'a self, settings: &'a Settings) -> &'a Template {
        self.package_name.as_ref().unwrap_or(&settings.package_name)
    }

    /// The install path template that applies to this project.
    pub fn install_path_template<'a>(&'a self, settings: &'a Settings) -> &'a Template {
        self.install_path.as_ref().unwrap_or(&settings.install_path)
    }
}

/// Checks a rendered package name against the rules of both dpkg and rpm.
pub fn check_package_name(project: &str, name: &str) -> Result<(), ManifestError> {
    let reason = if name.len() < 2 {
        Some("it must be at least two characters long")
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        Some("it must start with a lowercase letter or a digit")
    } else if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c)) {
        Some("it may contain only lowercase letters, digits, `+`, `-` and `.`")
    } else {
        None
    };
    match reason {
        Some(reason) => {
            Err(ManifestError::InvalidPackageName { project: project.into(), name: name.into(), reason })
        }
        None => Ok(()),
    }
}

/// Checks a rendered install path: absolute, no `.`/`..`, no white space, not a system directory.
pub fn check_install_path(project: &str, path: &str) -> Result<(), ManifestError> {
    let reason = if !path.starts_with('/') {
        Some("is not absolute")
    } else if path.split('/').any(|c| c == "..") {
        Some("contains `..`")
    } else if path.split('/').any(|c| c == ".") || path.contains("//") {
        Some("is not in normal form (`.` or `//`)")
    } else if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // Shebang lines split on white space: an interpreter path with a space cannot run.
        Some("contains white space")
    } else if path.chars().any(|c| "'\"$`\\".contains(c)) {
        // Scripts quote the path for /bin/sh; these characters would need escaping there.
        Some("contains a quote, `$`, a backquote or a backslash")
    } else if SYSTEM_DIRS.contains(&path.trim_end_matches('/')) || path == "/" {
        Some("is a system directory")
    } else {
        None
    };
    match reason {
        Some(reason) => {
            Err(ManifestError::InvalidInstallPath { project: project.into(), path: path.into(), reason })
        }
        None => Ok(()),
    }
}

/// A package version or release: starts with a digit, and holds only what dpkg and rpm both
/// accept (no `-`, which separates version from release).
pub fn is_valid_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || ".+~".contains(c))
}

/// A name adduser and useradd both take for a system user.
fn is_valid_user(name: &str) -> bool {
    name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl Project {
    /// The stable path: the project's or settings' `link_path`, else the install path template
    /// without its `{version}` when it has one (`/opt/os/{name}-{version}` → `/opt/os/{name}`),
    /// else none (one version at a time needs no stable path).
    pub fn link_path(&self, settings: &Settings, version: &str) -> Option<String> {
        if let Some(t) = self.link_path.as_ref().or(settings.link_path.as_ref()) {
            return Some(t.render(&self.name, version));
        }
        let install = self.install_path_template(settings);
        if !install.parts.contains(&Part::Version) {
            return None;
        }
        let mut out = String::new();
        for part in &install.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Name => out.push_str(&self.name),
                Part::Version => {
                    // Drop the separator that led into the version, and the version.
                    while out.ends_with(['-', '_', '.']) {
                        out.pop();
                    }
                }
            }
        }
        while out.contains("//") {
            out = out.replace("//", "/");
        }
        Some(out.trim_end_matches('/').to_string())
    }
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Validation context: the manifest's name, directory and text (for line numbers).
struct Ctx<'a> {
    path: &'a Path,
    dir: &'a Path,
    text: &'a str,
}

/// Where `[settings]` wrote its templates, so that a project's bad package name or install path
/// is blamed on the key that made it.
struct TemplateSpans {
    package_name: Option<usize>,
    install_path: Option<usize>,
}

impl Ctx<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn location_at_line(&self, line: usize) -> Location {
        Location { file: self.path.into(), line: Some(line), col: None }
    }

    fn err(&self, offset: Option<usize>, kind: ManifestError) -> Error {
        let (line, col) = match offset.map(|o| self.line_col(o)) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        Error::Manifest { location: Location { file: self.path.into(), line, col }, kind }
    }

    fn at<T>(&self, spanned: &Spanned<T>, kind: ManifestError) -> Error {
        self.err(Some(spanned.span().start), kind)
    }

    fn template(&self, key: &str, value: &Spanned<String>) -> Result<Template> {
        Template::parse(key, value.get_ref()).map_err(|kind| self.at(value, kind))
    }

    fn version(&self, key: &str, value: &Spanned<String>, expected: &'static str) -> Result<String> {
        if is_valid_version(value.get_ref()) {
            Ok(value.get_ref().clone())
        } else {
            Err(self.at(
                value,
                ManifestError::InvalidValue { key: key.into(), value: value.get_ref().clone(), expected },
            ))
        }
    }

    /// Resolves a path that must stay inside the manifest's directory tree.
    fn local_path(&self, key: &'static str, value: &Spanned<String>, must_exist: bool) -> Result<LocalPath> {
        let rel = value.get_ref();
        let escapes = || self.at(value, ManifestError::PathEscapes { key, path: rel.clone() });
        let mut depth = 0usize;
        for component in Path::new(rel).components() {
            match component {
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                Component::ParentDir => depth = depth.checked_sub(1).ok_or_else(escapes)?,
                Component::RootDir | Component::Prefix(_) => return Err(escapes()),
            }
        }
        let abs = self.dir.join(rel);
        if !abs.exists() {
            if must_exist {
                return Err(self.at(value, ManifestError::FileMissing { key, path: rel.clone() }));
            }
        } else if let (Ok(real), Ok(root)) = (abs.canonicalize(), self.dir.canonicalize()) {
            // A symlink inside the tree may still lead out of it.
            if !real.starts_with(root) {
                return Err(escapes());
            }
        }
        Ok(LocalPath { rel: rel.clone(), abs })
    }

    fn settings(&self, raw: RawSettings) -> Result<Settings> {
        let version = match &raw.version {
            Some(v) => Some(self.version(
                "settings.version",
                v,
                "a version starts with a digit and holds only letters, digits and `. + ~`",
            )?),
            None => None,
        };
        let release = match &raw.release {
            Some(r) => self.version(
                "settings.release",
                r,
                "a release starts with a digit and holds only letters, digits and `. + ~`",
            )?,
            None => "1".into(),
        };
        let package_name = match &raw.package_name {
            Some(t) => self.template("settings.package_name", t)?,
            None => Template::parse("settings.package_name", DEFAULT_PACKAGE_NAME).expect("default template"),
        };
        let install_path = match &raw.install_path {
            Some(t) => self.template("settings.install_path", t)?,
            None => Template::parse("settings.install_path", DEFAULT_INSTALL_PATH).expect("default template"),
        };
        let python = match &raw.python {
            Some(p) if !p.get_ref().starts_with('/') => {
                return Err(self.at(
                    p,
                    ManifestError::InvalidValue {
                        key: "settings.python".into(),
                        value: p.get_ref().clone(),
                        expected: "the interpreter must be an absolute path, such as /usr/bin/python3",
                    },
                ));
            }
            Some(p) => PathBuf::from(p.get_ref()),
            None => PathBuf::from(DEFAULT_PYTHON),
        };
        let mut constraints = Vec::new();
        for c in &raw.constraints {
            let text = c.get_ref();
            if text.starts_with("https://") {
                constraints.push(Constraint::Url(text.clone()));
            } else if text.contains("://") {
                return Err(self.at(
                    c,
                    ManifestError::InvalidValue {
                        key: "settings.constraints".into(),
                        value: text.clone(),
                        expected: "constraints are a path in the manifest's tree or an https:// URL",
                    },
                ));
            } else {
                constraints.push(Constraint::File(self.local_path("constraints", c, true)?));
            }
        }
        let find_links =
            raw.find_links.iter().map(|f| self.local_path("find_links", f, true)).collect::<Result<_>>()?;
        if let Some(m) = &raw.maintainer {
            let text = m.get_ref();
            let ok = text.find('<').is_some_and(|i| i > 0 && text[i..].contains('@')) && text.ends_with('>');
            if !ok {
                return Err(self.at(
                    m,
                    ManifestError::InvalidValue {
                        key: "settings.maintainer".into(),
                        value: text.clone(),
                        expected: "write it as `Name <email@example.com>`",
                    },
                ));
            }
        }
        let output_dir = self.dir.join(raw.output_dir.as_ref().map_or("dist", |o| o.get_ref().as_str()));
        Ok(Settings {
            version,
            release,
            package_name,
            install_path,
            python,
            installer: raw.installer,
            constraints,
            find_links,
            offline: raw.offline,
            maintainer: raw.maintainer.map(Spanned::into_inner),
            formats: raw.formats,
            output_dir,
            compression: raw.compression,
            epoch: raw.epoch,
            section: raw.section.unwrap_or_else(|| "misc".into()),
            priority: raw.priority.unwrap_or_else(|| "optional".into()),
            link_path: raw.link_path.as_ref().map(|t| self.template("settings.link_path", t)).transpose()?,
        })
    }

    fn project(
        &self,
        raw: Spanned<RawProject>,
        settings: &Settings,
        spans: &TemplateSpans,
    ) -> Result<Project> {
        let (line, _) = self.line_col(raw.span().start);
        let raw = raw.into_inner();
        let name = raw.name.get_ref().clone();
        let version = match &raw.version {
            Some(v) => Some(self.version(
                "version",
                v,
                "a version starts with a digit and holds only letters, digits and `. + ~`",
            )?),
            None => None,
        };
        let package_name = raw.package_name.as_ref().map(|t| self.template("package_name", t)).transpose()?;
        let install_path = raw.install_path.as_ref().map(|t| self.template("install_path", t)).transpose()?;
        // The real version comes from the lock; the probe catches what the templates alone get wrong.
        let probe = version.as_deref().or(settings.version.as_deref()).unwrap_or(PROBE_VERSION);
        let pkg = package_name.as_ref().unwrap_or(&settings.package_name).render(&name, probe);
        // Blame the project's own key, else the settings template, else the name itself.
        let blame = |own: &Option<Spanned<String>>, settings_key: Option<usize>| {
            Some(own.as_ref().map(|t| t.span().start).or(settings_key).unwrap_or(raw.name.span().start))
        };
        check_package_name(&name, &pkg)
            .map_err(|kind| self.err(blame(&raw.package_name, spans.package_name), kind))?;
        let path = install_path.as_ref().unwrap_or(&settings.install_path).render(&name, probe);
        check_install_path(&name, &path)
            .map_err(|kind| self.err(blame(&raw.install_path, spans.install_path), kind))?;
        let git_text = raw.git.get_ref();
        if git_text.trim().is_empty() {
            return Err(self.at(
                &raw.git,
                ManifestError::InvalidValue {
                    key: "git".into(),
                    value: git_text.clone(),
                    expected: "a git URL or a path to a repository",
                },
            ));
        }
        let git = GitSource { written: git_text.clone(), url: git_url(self.dir, git_text) };
        let git_ref = raw.git_ref.get_ref();
        if git_ref.trim().is_empty() || git_ref.chars().any(char::is_whitespace) {
            return Err(self.at(
                &raw.git_ref,
                ManifestError::InvalidValue {
                    key: "ref".into(),
                    value: git_ref.clone(),
                    expected: "a tag, a branch or a full commit id",
                },
            ));
        }
        let patches =
            raw.patches.iter().map(|p| self.local_path("patches", p, true)).collect::<Result<_>>()?;
        let user = match &raw.user {
            Some(u) if !is_valid_user(u.get_ref()) => {
                return Err(self.at(
                    u,
                    ManifestError::InvalidValue {
                        key: "user".into(),
                        value: u.get_ref().clone(),
                        expected: "a system user name: lowercase letters, digits, `-` and `_`, starting with a letter",
                    },
                ));
            }
            Some(u) => Some(u.get_ref().clone()),
            None => None,
        };
        for dep in &raw.pip_dependencies {
            // An option such as `-e path` would install something that cannot be packaged.
            if dep.get_ref().trim_start().starts_with('-') {
                return Err(self.at(
                    dep,
                    ManifestError::InvalidValue {
                        key: "pip_dependencies".into(),
                        value: dep.get_ref().clone(),
                        expected: "list requirements, not installer options (editable installs cannot be packaged)",
                    },
                ));
            }
        }
        Ok(Project {
            name,
            git,
            git_ref: git_ref.clone(),
            patches,
            pip_dependencies: raw.pip_dependencies.into_iter().map(Spanned::into_inner).collect(),
            extras: raw.extras,
            system_dependencies: raw.system_dependencies,
            version,
            package_name,
            install_path,
            link_path: raw.link_path.as_ref().map(|t| self.template("link_path", t)).transpose()?,
            user,
            services: raw.services,
            relations: Relations {
                recommends: raw.recommends,
                provides: raw.provides,
                conflicts: raw.conflicts,
                replaces: raw.replaces,
            },
            rpm_system_dependencies: raw.rpm.and_then(|r| r.system_dependencies),
            line,
        })
    }
}

/// A URL (`scheme://…` or scp-like `user@host:path`) stays as written; anything else is a path
/// relative to the manifest's directory.
fn git_url(dir: &Path, written: &str) -> String {
    let scp_like = written.split_once(':').is_some_and(|(host, _)| host.contains('@') && !host.contains('/'));
    if written.contains("://") || scp_like {
        written.into()
    } else {
        dir.join(written).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        Manifest::parse(Path::new("wrap.toml"), Path::new("/nonexistent/dir"), text)
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const ONE: &str = "[[project]]\nname = \"hello\"\ngit = \"https://example.com/hello\"\nref = \"1.0.0\"\n";

    #[test]
    fn defaults_fill_in() {
        let m = parse(ONE).unwrap();
        assert_eq!(m.settings.release, "1");
        assert_eq!(m.settings.python, PathBuf::from("/usr/bin/python3"));
        assert_eq!(m.settings.installer, Installer::Auto);
        assert_eq!(m.settings.output_dir, PathBuf::from("/nonexistent/dir/dist"));
        let p = &m.projects[0];
        assert_eq!(p.line, 1);
        assert_eq!(p.package_name_template(&m.settings).render("hello", "1"), "hello");
        assert_eq!(p.install_path_template(&m.settings).render("hello", "1"), "/opt/wrap/hello");
        assert_eq!(p.git.url, "https://example.com/hello");
    }

    #[test]
    fn templates_render_and_reject_unknown_placeholders() {
        let t = Template::parse("k", "/opt/openstack/{name}-{version}").unwrap();
        assert_eq!(t.render("nova", "30.0.0"), "/opt/openstack/nova-30.0.0");
        assert!(matches!(
            Template::parse("k", "{name}-{release}"),
            Err(ManifestError::UnknownPlaceholder { placeholder, .. }) if placeholder == "release"
        ));
        assert!(matches!(Template::parse("k", "{name"), Err(ManifestError::UnbalancedTemplate { .. })));
        assert!(matches!(Template::parse("k", "name}"), Err(ManifestError::UnbalancedTemplate { .. })));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        assert!(
            err("[settings]\nrelease = \n").starts_with("wrap.toml:2:"),
            "{}",
            err("[settings]\nrelease = \n")
        );
        let e = err(&format!("{ONE}colour = \"red\"\n"));
        assert!(e.starts_with("wrap.toml:5:1: unknown field `colour`"), "{e}");
        let e = err("[[project]]\nname = \"a\"\ngit = \"x\"\n");
        assert!(e.contains("missing field `ref`"), "{e}");
    }

    #[test]
    fn rejects_bad_values_at_their_line() {
        let e = err(&format!("[settings]\npackage_name = \"os-{{nam}}\"\n{ONE}"));
        assert_eq!(e, "wrap.toml:2:16: `settings.package_name` uses unknown placeholder `{nam}`");
        let e = err(&ONE.replace("hello\"", "Hello_World\""));
        assert!(e.contains("package name `Hello_World` is not valid"), "{e}");
        let e = err(&format!("{ONE}install_path = \"opt/x\"\n"));
        assert_eq!(e, "wrap.toml:5:16: project `hello`: install_path `opt/x` is not absolute");
        let e = err(&format!("{ONE}install_path = \"/opt/../etc/x\"\n"));
        assert!(e.ends_with("contains `..`"), "{e}");
        let e = err(&format!("{ONE}install_path = \"/opt/it's\"\n"));
        assert!(e.ends_with("contains a quote, `$`, a backquote or a backslash"), "{e}");
        let e = err(&format!("{ONE}install_path = \"/usr\"\n"));
        assert!(e.ends_with("is a system directory"), "{e}");
        let e = err(&format!("{ONE}patches = [\"../x.patch\"]\n"));
        assert_eq!(e, "wrap.toml:5:12: `patches` path `../x.patch` leaves the manifest's directory");
        let e = err(&format!("{ONE}patches = [\"/etc/passwd\"]\n"));
        assert!(e.contains("leaves the manifest's directory"), "{e}");
        let e = err(&format!("{ONE}{ONE}"));
        assert_eq!(e, "wrap.toml:5: duplicate project `hello` (first defined on line 1)");
        assert_eq!(err("[settings]\n"), "wrap.toml: the manifest names no project");
        let e = err(&format!("[settings]\nconstraints = [\"http://x/c.txt\"]\n{ONE}"));
        assert!(e.contains("https:// URL"), "{e}");
        let e = err(&format!("[settings]\nmaintainer = \"ops\"\n{ONE}"));
        assert!(e.contains("Name <email@example.com>"), "{e}");
        let e = err(&format!("[settings]\nversion = \"1.0-2\"\n{ONE}"));
        assert!(e.contains("`settings.version` = `1.0-2` is not valid"), "{e}");
    }

    #[test]
    fn stable_paths_drop_the_version() {
        let m =
            parse(&format!("[settings]\ninstall_path = \"/opt/os/{{name}}-{{version}}\"\n{ONE}")).unwrap();
        assert_eq!(m.projects[0].link_path(&m.settings, "1.0").as_deref(), Some("/opt/os/hello"));
        let m = parse(&format!("[settings]\ninstall_path = \"/opt/{{version}}/{{name}}\"\n{ONE}")).unwrap();
        assert_eq!(m.projects[0].link_path(&m.settings, "1.0").as_deref(), Some("/opt/hello"));
        let m = parse(ONE).unwrap();
        assert_eq!(m.projects[0].link_path(&m.settings, "1.0"), None);
        let m = parse(&format!("{ONE}link_path = \"/srv/{{name}}\"\nuser = \"hello\"\nservices = [\"hello\"]\nrecommends = [\"jq\"]\n")).unwrap();
        assert_eq!(m.projects[0].link_path(&m.settings, "1.0").as_deref(), Some("/srv/hello"));
        assert_eq!(m.projects[0].relations.recommends, ["jq"]);
        assert!(
            err(&format!("{ONE}user = \"Hello World\"\n")).contains("`user` = `Hello World` is not valid")
        );
    }

    #[test]
    fn package_names_follow_dpkg_and_rpm() {
        assert!(check_package_name("p", "openstack-nova").is_ok());
        assert!(check_package_name("p", "python3-foo+bar.1").is_ok());
        assert!(check_package_name("p", "a").is_err());
        assert!(check_package_name("p", "-a").is_err());
        assert!(check_package_name("p", "Nova").is_err());
        assert!(check_package_name("p", "nova_api").is_err());
    }

    #[test]
    fn git_sources_are_urls_or_paths() {
        let dir = Path::new("/m");
        assert_eq!(git_url(dir, "https://opendev.org/openstack/nova"), "https://opendev.org/openstack/nova");
        assert_eq!(git_url(dir, "git@github.com:org/repo.git"), "git@github.com:org/repo.git");
        assert_eq!(git_url(dir, "repos/hello"), "/m/repos/hello");
        assert_eq!(git_url(dir, "/srv/git/hello"), "/srv/git/hello");
    }

    #[test]
    fn versions_fit_both_formats() {
        assert!(is_valid_version("10.2.1"));
        assert!(is_valid_version("10.3.0+git20261122.abcdef012345"));
        assert!(is_valid_version("11.0.0~rc1"));
        assert!(!is_valid_version("v1"));
        assert!(!is_valid_version("1.0-1"));
        assert!(!is_valid_version(""));
    }
}
