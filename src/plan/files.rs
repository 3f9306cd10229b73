//! The planned `[[project.files]]` of one project: placeholders filled in with its version,
//! install path and user, each destination checked against what wrap itself ships (the bundle,
//! the stable path, units, `/usr/bin` links, the package's documentation).

use serde::Serialize;

use crate::artifact::Format;
use crate::error::ManifestError;
use crate::manifest::files::{FileKind, check_dest, fill, is_under};
use crate::manifest::{FileEntry, Project};

/// One planned entry: where, what, with which mode, owner and flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PlannedFile {
    /// Absolute destination.
    pub dest: String,
    /// What is put there (a template's text filled in, a link's target too).
    #[serde(flatten)]
    pub kind: FileKind,
    /// The mode, when the manifest gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Owner name.
    pub owner: String,
    /// Group name.
    pub group: String,
    /// A conffile / `%config(noreplace)`.
    pub config: bool,
    /// The one format that ships it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<Format>,
}

impl PlannedFile {
    /// Whether it ships in `format`.
    pub fn ships_in(&self, format: Format) -> bool {
        self.only.is_none_or(|f| f == format)
    }

    /// Whether it gives the service user (or its group) what it holds.
    pub fn non_root(&self) -> bool {
        self.owner != "root" || self.group != "root"
    }
}

/// What wrap itself puts in the package, which no entry may take.
pub struct Reserved<'a> {
    /// The project's package name.
    pub package: &'a str,
    /// Where the bundle goes.
    pub install_path: &'a str,
    /// The stable path.
    pub link_path: Option<&'a str>,
}

/// The project's entries, planned for `version` at `reserved.install_path`.
pub fn plan(
    project: &Project,
    version: &str,
    reserved: &Reserved<'_>,
) -> Result<Vec<PlannedFile>, ManifestError> {
    let values =
        [Some(project.name.as_str()), Some(version), Some(reserved.install_path), project.user.as_deref()];
    project.files.iter().map(|entry| one(project, entry, values, reserved)).collect()
}

fn one(
    project: &Project,
    entry: &FileEntry,
    values: [Option<&str>; 4],
    reserved: &Reserved<'_>,
) -> Result<PlannedFile, ManifestError> {
    let refused = |path: &str, reason: String| ManifestError::InvalidInstallPath {
        project: project.name.clone(),
        key: "files.dest",
        path: path.into(),
        reason,
    };
    // The manifest was checked with probe values; a version can still bring a character the
    // grammar refuses.
    let filled =
        |text: &str| fill(text, values).map_err(|p| refused(text, format!("has `{{{p}}}` without a value")));
    let dest = filled(&entry.dest)?;
    check_dest(&dest).map_err(|expected| refused(&dest, format!("is not {expected}")))?;
    let taken = |dir: &str| is_under(&dest, dir) || is_under(dir, &dest);
    if taken(reserved.install_path) || reserved.link_path.is_some_and(taken) {
        return Err(refused(&dest, "overlaps the bundle's install path or stable path".into()));
    }
    let doc = format!("/usr/share/doc/{}", reserved.package);
    let wraps = project.services.iter().map(|s| format!("/usr/lib/systemd/system/{s}.service"));
    let wraps: Vec<String> = wraps.chain(project.links.iter().map(|l| format!("/usr/bin/{l}"))).collect();
    if is_under(&dest, &doc) || wraps.contains(&dest) {
        return Err(refused(&dest, "is a file wrap writes itself".into()));
    }
    let kind = match &entry.kind {
        FileKind::Template { source, text } => {
            FileKind::Template { source: source.clone(), text: filled(text)? }
        }
        FileKind::Symlink { target } => FileKind::Symlink { target: filled(target)? },
        other => other.clone(),
    };
    let file_like = matches!(kind, FileKind::Copy { .. } | FileKind::Template { .. });
    Ok(PlannedFile {
        config: file_like && entry.config.unwrap_or_else(|| is_under(&dest, "/etc")),
        dest,
        kind,
        mode: entry.mode,
        owner: entry.owner.clone(),
        group: entry.group.clone(),
        only: entry.only,
    })
}
