//! `wrap.toml`: reads the manifest, rejects unknown keys and bad values with their line and column,
//! and hands on a validated [`Manifest`] whose local paths are resolved against the manifest's
//! directory and whose templates are parsed. Nothing here touches git or the network.

use std::path::{Path, PathBuf};

pub use crate::artifact::Format;
pub use crate::compress::{Algorithm, Compression};
use crate::digest::sha256_hex;
pub use crate::signing::KeySource;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};

pub mod edit;
pub mod files;
mod parse;
pub mod relation;
mod rules;
mod target;
mod template;

pub use files::FileEntry;
pub use relation::Relation;
pub use rules::{
    MAX_NAME, RELEASE_FORM, VERSION_FORM, check_install_path, check_package_name, check_version,
    is_valid_release,
};
pub use target::Target;
use template::Part;
pub use template::Template;

/// Which tool installs packages into the virtualenv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema)]
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

/// When a bundle's modules are byte-compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Bytecode {
    /// At build time, once, into every artifact (checked-hash pycs): installing compiles nothing,
    /// and a module that does not compile fails the build.
    #[default]
    Build,
    /// On each host by the package's install script (timestamp pycs), as Debian's Python policy
    /// asks; the artifacts carry none.
    Install,
    /// Never: Python compiles a module when it is imported, where it may write.
    None,
}

/// What installing and upgrading a package does with its services' units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EnableUnits {
    /// Installed only: the operator enables and starts them.
    #[default]
    None,
    /// Enabled on the first install (an administrator's `disable` survives upgrades).
    Enable,
    /// Enabled and, where systemd runs, started on the first install.
    EnableAndStart,
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

impl GitSource {
    /// The URL as written when it names a repository elsewhere (not a path on this machine,
    /// which would tie a bundle's provenance to the machine it was built on). A mirror the
    /// build fetched from is not named: the URL as written is the project's origin.
    pub fn public_url(&self) -> Option<&str> {
        let w = self.written.as_str();
        let scp_like = w.split_once(':').is_some_and(|(host, _)| host.contains('@') && !host.contains('/'));
        ((w.contains("://") && !w.starts_with("file://")) || scp_like).then_some(w)
    }
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
    /// When every project's bytecode is compiled.
    pub bytecode: Bytecode,
    /// Versions side by side: a versioned package per version and an unversioned metapackage;
    /// `None`: when `install_path` holds `{version}` and `package_name` does not.
    pub side_by_side: Option<bool>,
    /// Debian epoch, when the version scheme changed.
    pub epoch: Option<u32>,
    /// Debian section.
    pub section: String,
    /// Debian priority.
    pub priority: String,
    /// Stable path template pointing at the newest installed version.
    pub link_path: Option<Template>,
    /// Glob patterns of bundle files every project leaves out.
    pub exclude: Vec<String>,
    /// Lintian overrides every .deb carries (after `<package>: `).
    pub lintian_overrides: Vec<String>,
    /// rpmlint filters for every .rpm.
    pub rpmlint_filters: Vec<String>,
    /// The key that signs packages (`sign_key` or `sign_key_env`).
    pub sign_key: Option<KeySource>,
    /// The environment variable holding the key's passphrase.
    pub sign_passphrase_env: String,
    /// The shared remote cache (`remote`): `s3://`, `gs://`, `az://`, `https://` (WebDAV) or
    /// `file://`.
    pub remote: Option<String>,
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
    /// System packages the installed package depends on (Debian relations).
    pub system_dependencies: Vec<Relation>,
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
    /// Overrides the settings' bytecode policy.
    pub bytecode: Option<Bytecode>,
    /// Overrides the settings' `side_by_side`.
    pub side_by_side: Option<bool>,
    /// What installing does with the services' units.
    pub enable_units: EnableUnits,
    /// Whether an upgrade restarts the running services (`try-restart`).
    pub restart_on_upgrade: bool,
    /// Console scripts to install systemd units for (installed, not started).
    pub services: Vec<String>,
    /// Console scripts put on PATH as `/usr/bin/<name>`.
    pub links: Vec<String>,
    /// What services' units say beyond wrap's defaults, by service.
    pub units: std::collections::BTreeMap<String, Unit>,
    /// The operator's maintainer-script fragments, by hook (`postinst`, `preun`, …).
    pub scripts: std::collections::BTreeMap<String, Script>,
    /// `[[project.files]]`: files, directories and links beside the bundle.
    pub files: Vec<FileEntry>,
    /// Extra package relations (Debian syntax, rendered for each format).
    pub relations: Relations,
    /// `[project.rpm] system_dependencies`: the RPM names, where they differ from Debian's.
    pub rpm_system_dependencies: Option<Vec<Relation>>,
    /// `[project.rpm]` relations: the .rpm's, where they differ from the Debian ones.
    pub rpm_relations: Option<Relations>,
    /// `[project.image]`: what its container image declares.
    pub image: ProjectImage,
    /// Entry points the verify stage does not import (`NAME` or `GROUP:NAME`, globs allowed).
    pub verify_skip: Vec<String>,
    /// Glob patterns of bundle files to leave out (besides the settings' ones).
    pub exclude: Vec<String>,
    /// Lintian overrides of this project's .deb (besides the settings' ones).
    pub lintian_overrides: Vec<String>,
    /// rpmlint filters of this project's .rpm (besides the settings' ones).
    pub rpmlint_filters: Vec<String>,
    /// Line of the project's table in the manifest, for errors found later.
    pub line: usize,
}

/// Package relations the manifest adds to the computed ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Relations {
    /// Recommends.
    pub recommends: Vec<Relation>,
    /// Suggests (RPM: weak `Suggests:`).
    pub suggests: Vec<Relation>,
    /// Breaks (RPM has none: written as Conflicts, which also refuses the named versions).
    pub breaks: Vec<Relation>,
    /// Provides.
    pub provides: Vec<Relation>,
    /// Conflicts.
    pub conflicts: Vec<Relation>,
    /// Replaces.
    pub replaces: Vec<Relation>,
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
    /// `[image]`, for `--format oci`.
    pub image: Option<Image>,
    /// `[[target]]`: the build targets a CI matrix crosses its shards with, in manifest order.
    pub targets: Vec<Target>,
}

/// `[project.unit.<service>]`: what a service's systemd unit says beyond wrap's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Unit {
    /// Arguments after the console script in `ExecStart=`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// `Environment=` assignments, `NAME=VALUE`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<String>,
    /// `EnvironmentFile=` (optional: a missing file is no error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_file: Option<String>,
    /// `Restart=` (default `on-failure`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// Units started before this one (`After=`), besides `network-online.target`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Units this one wants started (`Wants=`), besides `network-online.target`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wants: Vec<String>,
    /// `User=`, instead of the project's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `Group=`, instead of the user's own group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// One of the operator's maintainer-script fragments (`[project.scripts]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Script {
    /// The file, as written (relative to the manifest).
    pub rel: String,
    /// Its text.
    pub text: String,
}

/// `[project.image]`: what a project's container image declares to its runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ProjectImage {
    /// `ExposedPorts`: `8000` or `8000/tcp`.
    pub ports: Vec<String>,
    /// `Volumes`: absolute paths.
    pub volumes: Vec<String>,
    /// One image per service (tagged `<service>-<version>-<release>`, `Cmd` that service)
    /// instead of one per project (`Cmd` its first service).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub per_service: bool,
}

/// `[image]`: what container images are built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The base image.
    pub base: BaseImage,
}

/// Where a base image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseImage {
    /// An OCI image layout directory in the manifest's tree.
    Layout(LocalPath),
    /// A `docker save` archive (docker-archive) in the manifest's tree.
    Archive(LocalPath),
    /// A registry reference, as written after `docker://` (`registry.example.com/base:12`); the
    /// lock pins the digest its tag names.
    Registry(String),
}

/// Default package name template.
pub const DEFAULT_PACKAGE_NAME: &str = "{name}";
/// Default install path template.
pub const DEFAULT_INSTALL_PATH: &str = "/opt/wrap/{name}";
/// Default interpreter.
pub const DEFAULT_PYTHON: &str = "/usr/bin/python3";
/// Version used to check templates before the real version is known.
const PROBE_VERSION: &str = "0.0.0";

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest> {
        let bytes = match fs_err::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::ManifestMissing { path: path.into() });
            }
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            // Point at the first byte that is not UTF-8.
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let col = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            Error::Manifest {
                location: Location { file: path.into(), line: Some(line), col: Some(col), width: 1 },
                kind: crate::error::ManifestError::NotText,
            }
        })?;
        let abs = std::path::absolute(path)?;
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
        Self::parse(path, &dir, &text)
    }

    /// Validates manifest `text`; `path` names it in errors, `dir` anchors relative paths.
    pub fn parse(path: &Path, dir: &Path, text: &str) -> Result<Manifest> {
        parse::parse(path, dir, text)
    }

    /// Fetches every project whose git URL (as written) starts with a mirror's prefix from the
    /// mirror instead: the longest prefix wins, and the rest of the URL is appended to its
    /// replacement. What the lock and the packages record stays the URL as written.
    pub fn use_mirrors(&mut self, mirrors: &[(String, String)]) {
        for project in &mut self.projects {
            let best = mirrors
                .iter()
                .filter(|(prefix, _)| project.git.written.starts_with(prefix.as_str()))
                .max_by_key(|(prefix, _)| prefix.len());
            if let Some((prefix, to)) = best {
                let url = format!("{to}{}", &project.git.written[prefix.len()..]);
                tracing::debug!(project = %project.name, url, "fetched from a mirror");
                project.git.url = url;
            }
        }
    }

    /// The project called `name`.
    pub fn project(&self, name: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.name == name)
    }

    /// A location at a project's table, for errors found after loading.
    pub fn location(&self, project: &Project) -> Location {
        Location { file: self.path.clone(), line: Some(project.line), col: None, width: 0 }
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

    /// The glob patterns of files this project leaves out of its bundle.
    pub fn exclude<'a>(&'a self, settings: &'a Settings) -> Vec<&'a str> {
        settings.exclude.iter().chain(&self.exclude).map(String::as_str).collect()
    }
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
        assert!(
            e.ends_with("contains `'`, which install paths may not (letters, digits and `. _ + @ / -` only)"),
            "{e}"
        );
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
        assert_eq!(e, "wrap.toml:2:11: `settings.version` = `1.0-2` is not a PEP 440 version in normal form");
        // One command on PATH, two projects: the second is named, with the first's line.
        let other = ONE.replace("\"hello\"", "\"bye\"");
        let e = err(&format!("{ONE}links = [\"hi\"]\n{other}links = [\"hi\"]\n"));
        assert_eq!(
            e,
            "wrap.toml:6: `links` = `hi` is not valid: a command no other project puts on PATH (`hello`, line 1, links `/usr/bin/hi` too)"
        );
        let e = err(&format!("{ONE}links = [\"../hi\"]\n"));
        assert!(e.starts_with("wrap.toml:5:10: `links` = `../hi` is not valid"), "{e}");
        let m = parse(&format!("{ONE}links = [\"hi\", \"hi\"]\nbytecode = \"install\"\n")).unwrap();
        // A link given twice is one link (two `--slave`s of one name fail at install).
        assert_eq!((m.projects[0].links.len(), m.projects[0].bytecode), (1, Some(Bytecode::Install)));
        assert!(err(&format!("{ONE}bytecode = \"later\"\n")).contains("unknown variant `later`"));
        // Unit settings: for a listed service, each value in its grammar.
        let with = |unit: &str| format!("{ONE}services = [\"hello\"]\n\n[project.unit.hello]\n{unit}\n");
        let m = parse(&with("args = [\"-v\"]\nrestart = \"always\"\nafter = [\"mysql.service\"]")).unwrap();
        assert_eq!(m.projects[0].units["hello"].restart.as_deref(), Some("always"));
        let e = err(&format!("{ONE}services = [\"hello\"]\n\n[project.unit.bye]\nargs = []\n"));
        assert_eq!(
            e,
            "wrap.toml:7:15: `unit` = `bye` is not valid: a service the project lists in `services`"
        );
        assert!(err(&with("restart = \"sometimes\"")).contains("one of no, on-success, on-failure"));
        assert!(err(&with("after = [\"mysql\"]")).contains("`unit.after` = `mysql` is not valid"));
        assert!(err(&with("environment = [\"A B=1\"]")).contains("`NAME=VALUE`"));
        assert!(err(&with("args = [\"a\\nExecStartPre=/bin/sh\"]")).contains("one line"));
        assert!(err(&with("environment_file = \"etc/x\"")).contains("is not absolute"));
        assert!(
            err(&with("user = \"Nova\"")).contains("`unit.user` = `Nova` is not valid: a user or group name")
        );
        assert!(err(&with("colour = \"x\"")).contains("unknown field `colour`"));
        // Script fragments: files in the tree, for a known hook.
        let e = err(&format!("{ONE}\n[project.scripts]\npostinst = \"scripts/none.sh\"\n"));
        assert!(e.starts_with("wrap.toml:7:12:") && e.contains("scripts/none.sh"), "{e}");
        assert!(
            err(&format!("{ONE}\n[project.scripts]\nconfigure = \"x\"\n"))
                .contains("unknown field `configure`")
        );
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
        assert_eq!(m.projects[0].relations.recommends[0].deb(), "jq");
        assert!(
            err(&format!("{ONE}user = \"Hello World\"\n")).contains("`user` = `Hello World` is not valid")
        );
    }
}
