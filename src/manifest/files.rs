//! `[[project.files]]`: what a package ships beside the bundle (nfpm's `contents`, cargo-deb's
//! assets): files and trees copied from the manifest's tree, small templates, directories and
//! symlinks, each with a mode, an owner, a config flag and optionally one format. The
//! placeholders `{name}`, `{version}`, `{install_path}` and `{user}` are filled in per project;
//! destinations are held to a grammar that is safe in a maintainer script.

use serde::Serialize;

use crate::artifact::Format;

/// One entry of `[[project.files]]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The absolute destination, placeholders not yet filled in.
    pub dest: String,
    /// What is put there.
    pub kind: FileKind,
    /// The mode, else 0644 for files (0755 when the source is executable) and 0755 for
    /// directories.
    pub mode: Option<u32>,
    /// `root` or the project's user (`{user}` filled in).
    pub owner: String,
    /// `root` or the project's user's group.
    pub group: String,
    /// A conffile / `%config(noreplace)`: by default, what lies under `/etc`.
    pub config: Option<bool>,
    /// The one format that ships it.
    pub only: Option<Format>,
}

/// What a [`FileEntry`] puts at its destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FileKind {
    /// A file or a tree of the manifest's tree, copied.
    Copy {
        /// As written, relative to the manifest.
        source: String,
        /// Absolute.
        #[serde(skip)]
        abs: std::path::PathBuf,
        /// What was read when the manifest was: the source itself (an empty path) or each
        /// entry of the tree.
        files: Vec<SourceFile>,
    },
    /// A text file of the manifest's tree with its placeholders filled in.
    Template {
        /// As written, relative to the manifest.
        source: String,
        /// Its text (filled in when planned).
        text: String,
    },
    /// An empty directory.
    Directory,
    /// A symbolic link to `target`.
    Symlink {
        /// The link's target.
        target: String,
    },
}

impl FileKind {
    /// Whether it is a copied directory tree (not a single file).
    pub fn is_tree(&self) -> bool {
        matches!(self, FileKind::Copy { files, .. } if files.iter().any(|f| !f.rel.is_empty()))
    }
}

/// One entry of a copied source, as read when the manifest was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SourceFile {
    /// Path below the source (empty: the source is this file).
    pub rel: String,
    /// sha256 of a file; empty for a directory.
    pub sha256: String,
    /// The source's executable bit.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub executable: bool,
}

impl SourceFile {
    /// Whether the entry is a directory of the tree.
    pub fn is_dir(&self) -> bool {
        self.sha256.is_empty()
    }
}

/// The placeholders of destinations, link targets and templates.
pub const PLACEHOLDERS: [&str; 4] = ["name", "version", "install_path", "user"];

/// `text` with every known `{placeholder}` filled in from `values` (in [`PLACEHOLDERS`]'
/// order); other braces stay as they are (a logrotate block). `Err` names a known placeholder
/// that has no value (`{user}` for a project without a user).
pub fn fill(text: &str, values: [Option<&str>; 4]) -> Result<String, &'static str> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = PLACEHOLDERS
            .iter()
            .zip(values)
            .find(|(p, _)| after.strip_prefix(**p).is_some_and(|tail| tail.starts_with('}')));
        match known {
            Some((name, Some(value))) => {
                out.push_str(value);
                rest = &after[name.len() + 1..];
            }
            Some((name, None)) => return Err(name),
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Why `dest` (filled in) is not a destination: absolute, normalized, each component of
/// letters, digits and `. _ + @ : = , ~ -`, not `/`.
pub fn check_dest(dest: &str) -> Result<(), String> {
    let expected = "an absolute path of letters, digits and `. _ + @ : = , ~ -`, without `.` or `..` \
                    components or a trailing `/`";
    let Some(rest) = dest.strip_prefix('/') else { return Err(expected.into()) };
    let component_ok = |c: &str| {
        !c.is_empty()
            && c != "."
            && c != ".."
            && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+@:=,~-".contains(&b))
    };
    if dest.len() > 4096 || !rest.split('/').all(component_ok) {
        return Err(expected.into());
    }
    Ok(())
}

/// Whether `path` is `dir` or lies below it.
pub fn is_under(path: &str, dir: &str) -> bool {
    // Called for every entry of a package (rpm's owners): no allocation.
    let dir = dir.trim_end_matches('/');
    path.strip_prefix(dir).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_and_other_braces_stay() {
        let values = [Some("nova"), Some("1.0"), Some("/opt/nova"), None];
        assert_eq!(
            fill("/var/log/{name}/*.log {\n  daily\n}\n", values).unwrap(),
            "/var/log/nova/*.log {\n  daily\n}\n"
        );
        assert_eq!(fill("{install_path}/bin {version}{x}", values).unwrap(), "/opt/nova/bin 1.0{x}");
        assert_eq!(fill("{name", values).unwrap(), "{name");
        assert_eq!(fill("run as {user}", values), Err("user"));
    }

    #[test]
    fn destinations_are_absolute_normal_and_plain() {
        assert!(check_dest("/etc/sudoers.d/nova").is_ok());
        assert!(check_dest("/var/lib/nova").is_ok());
        for bad in
            ["etc/x", "/", "/etc/", "/etc/../x", "/etc/./x", "/etc//x", "/etc/a b", "/etc/$(x)", "/etc/'x"]
        {
            assert!(check_dest(bad).is_err(), "{bad}");
        }
        assert!(
            is_under("/opt/a/b", "/opt/a") && is_under("/opt/a", "/opt/a") && !is_under("/opt/ab", "/opt/a")
        );
    }
}
