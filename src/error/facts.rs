//! The facts that errors carry and that lower stages produce: where in a user's file
//! ([`Location`]), what is wrong with a manifest ([`ManifestError`]) or a lock ([`Drift`]), an
//! interpreter ([`InterpreterProblem`]), a build's missing system library ([`Missing`]), an entry
//! point that does not import ([`ImportFailure`]). Kept here, at the bottom, so that the error
//! type never imports a stage.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::{printable, short};

/// A place in a file the user wrote: `wrap.toml:12:5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user named it.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub col: Option<usize>,
    /// How many characters from the column the fault spans on that line (0: not known).
    pub width: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.col {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// What is wrong inside a manifest; always reported with a [`Location`].
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// TOML syntax, an unknown key, a missing key or a value of the wrong type.
    #[error("{message}")]
    Syntax { message: String },
    /// A `{placeholder}` that templates do not know.
    #[error("`{key}` uses unknown placeholder `{{{placeholder}}}`")]
    UnknownPlaceholder { key: String, placeholder: String },
    /// A `{` without its `}` or the reverse.
    #[error("`{key}` has an unbalanced `{{` or `}}` in `{template}`")]
    UnbalancedTemplate { key: String, template: String },
    /// The templated package name is not valid for dpkg and rpm.
    #[error("project `{project}`: package name `{}` is not valid: {reason}", printable(name))]
    InvalidPackageName { project: String, name: String, reason: &'static str },
    /// The templated install path or stable path is unusable.
    #[error("project `{project}`: {key} `{}` {reason}", printable(path))]
    InvalidInstallPath { project: String, key: &'static str, path: String, reason: String },
    /// A patch, find_links or constraints path that leaves the manifest's directory.
    #[error("`{key}` path `{path}` leaves the manifest's directory")]
    PathEscapes { key: &'static str, path: String },
    /// A patch, constraints file or wheel directory that does not exist.
    #[error("`{key}` path `{path}` does not exist")]
    FileMissing { key: &'static str, path: String },
    /// Two projects with one name.
    #[error("duplicate project `{name}` (first defined on line {first_line})")]
    DuplicateProject { name: String, first_line: usize },
    /// No `[[project]]` table at all.
    #[error("the manifest names no project")]
    NoProjects,
    /// A value that parses but is not acceptable.
    #[error("`{key}` = `{}` is not valid: {expected}", printable(value))]
    InvalidValue { key: String, value: String, expected: String },
    /// A version that is not PEP 440, or not in its normal form.
    #[error("`{key}` = `{}` is not a PEP 440 version in normal form", printable(value))]
    InvalidVersion { key: String, value: String, normal: Option<String> },
    /// Two projects that are one Python distribution (equal after PEP 503 normalization).
    #[error("projects `{name}` and `{other}` (line {other_line}) are the same Python distribution name")]
    SameDistribution { name: String, other: String, other_line: usize },
    /// Two projects that render to one package name.
    #[error("projects `{name}` and `{other}` (line {other_line}) both make package `{package}`")]
    DuplicatePackage { name: String, other: String, other_line: usize, package: String },
    /// The manifest is not UTF-8 text.
    #[error("the manifest is not UTF-8 text")]
    NotText,
}

impl ManifestError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::UnknownPlaceholder { .. } | Self::UnbalancedTemplate { .. } => {
                "templates accept `{name}` and `{version}` only".into()
            }
            Self::InvalidPackageName { .. } => {
                "package names use lowercase letters, digits and `+ - .`, and start with a letter or digit; set `package_name`".into()
            }
            Self::InvalidInstallPath { key: "image.volumes", .. } => {
                "a volume is an absolute path in the image, such as `/var/lib/{name}`".into()
            }
            Self::InvalidInstallPath { key: "files.dest", .. } => {
                "give `dest` a path of its own: wrap writes the bundle, the stable path, units, `/usr/bin` links and `/usr/share/doc/<package>` itself".into()
            }
            Self::InvalidInstallPath { .. } => {
                "use an absolute path of its own, such as `/opt/wrap/{name}`".into()
            }
            Self::PathEscapes { .. } => {
                "keep patches, constraints, wheels, scripts and files in the manifest's directory tree".into()
            }
            Self::NoProjects => "add a `[[project]]` table with `name`, `git` and `ref`".into(),
            Self::DuplicateProject { .. } => "give every project its own `name`".into(),
            Self::SameDistribution { .. } => {
                "one virtualenv holds one distribution of a name; keep one of the two projects".into()
            }
            Self::DuplicatePackage { .. } => {
                "give each project its own `package_name` (the packages would overwrite each other)".into()
            }
            Self::InvalidVersion { normal: Some(normal), .. } => format!("write `{normal}`"),
            Self::InvalidVersion { normal: None, .. } => {
                "versions are PEP 440 versions such as `10.2.1`, `11.0.0rc1`, `2026.1.0` or `1.0.post1`".into()
            }
            _ => return None,
        })
    }
}

/// One way in which the lock file no longer matches the manifest or the files it hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// A project in the manifest but not in the lock.
    ProjectAdded(String),
    /// A project in the lock but no longer in the manifest.
    ProjectRemoved(String),
    /// The project's git URL or ref changed.
    SourceChanged { project: String, key: &'static str, locked: String, now: String },
    /// The patch list (names or order) changed.
    PatchesChanged { project: String },
    /// A patch's content changed.
    FileChanged { path: String, locked: String, now: String },
    /// The constraints list changed.
    ConstraintsChanged,
    /// The registry base image changed (`none`: a layout directory, or no `[image]`).
    BaseChanged { locked: String, now: String },
    /// The lock has no dependency closure for the project.
    ClosureMissing(String),
    /// The project's closure was resolved from other inputs.
    ClosureStale(String),
    /// The project's closure was resolved for another interpreter version.
    ClosurePython { project: String, locked: String, now: String },
    /// `release = "auto"`: the project's build inputs are not those its release was given for.
    ReleaseChanged { project: String, version: String, release: u32 },
}

impl Drift {
    /// Whether it is about a dependency closure (which only builds and plans need).
    pub fn is_closure(&self) -> bool {
        matches!(self, Self::ClosureMissing(_) | Self::ClosureStale(_) | Self::ClosurePython { .. })
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ProjectAdded(p) => write!(f, "project `{p}` is not in the lock"),
            Self::ProjectRemoved(p) => write!(f, "project `{p}` is locked but not in the manifest"),
            Self::SourceChanged { project, key, locked, now } => {
                write!(f, "project `{project}`: {key} changed from `{locked}` to `{now}`")
            }
            Self::PatchesChanged { project } => {
                write!(f, "project `{project}`: the patch list changed")
            }
            Self::FileChanged { path, locked, now } => {
                write!(f, "`{path}` changed (sha256 {} locked, {} now)", short(locked, 12), short(now, 12))
            }
            Self::ConstraintsChanged => write!(f, "the constraints list changed"),
            Self::BaseChanged { locked, now } => {
                write!(f, "the registry base image changed from `{locked}` to `{now}`")
            }
            Self::ClosurePython { project, locked, now } => write!(
                f,
                "project `{project}`: its dependency closure was resolved for Python {locked}, and this build uses {now}"
            ),
            Self::ClosureMissing(p) => write!(f, "project `{p}`: the lock pins no dependency closure"),
            Self::ReleaseChanged { project, version, release: 1 } => {
                write!(
                    f,
                    "project `{project}`: the lock gives {version} no release yet (`release = \"auto\"`)"
                )
            }
            Self::ReleaseChanged { project, version, release } => write!(
                f,
                "project `{project}`: its build inputs changed since the lock gave {version} release {} (`release = \"auto\"` makes it {release})",
                release - 1
            ),
            Self::ClosureStale(p) => write!(
                f,
                "project `{p}`: its dependency closure was resolved for another commit, requirement-changing patches, constraints, extras or pip_dependencies (or by an older wrap)"
            ),
        }
    }
}

/// What is wrong with the configured interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterpreterProblem {
    /// Nothing at that path.
    Missing,
    /// Not CPython 3 (or not Python at all).
    NotCPython3,
    /// No `venv` (or, for pip, no `ensurepip`) module.
    NoVenv,
}

impl fmt::Display for InterpreterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "does not exist",
            Self::NotCPython3 => "is not CPython 3",
            Self::NoVenv => "has no venv module",
        })
    }
}

/// What a build was missing, and where to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The distribution whose build failed, when the log names it (`libvirt-python==10.0.0`).
    pub distribution: Option<String>,
    /// What was missing, as the log says it (`libvirt/libvirt.h`, `pkg-config module libvirt`).
    pub what: String,
    /// The library or tool it belongs to (`libvirt`).
    pub component: &'static str,
    /// The Debian package that provides it.
    pub deb: &'static str,
    /// The RPM package that provides it.
    pub rpm: &'static str,
}

/// One entry point that does not import.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ImportFailure {
    /// `GROUP:NAME`.
    pub entry_point: String,
    /// `module:attribute`.
    pub value: String,
    /// The last line of the traceback.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_formats_line_and_column() {
        let loc = Location { file: "wrap.toml".into(), line: Some(3), col: Some(7), width: 0 };
        assert_eq!(loc.to_string(), "wrap.toml:3:7");
        let loc = Location { file: "wrap.toml".into(), line: None, col: None, width: 0 };
        assert_eq!(loc.to_string(), "wrap.toml");
    }
}
