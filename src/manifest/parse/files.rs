//! `[[project.files]]` as written, checked: one kind per entry, destinations in their grammar and
//! not given twice, modes without setuid, owners the package can name, sources in the
//! manifest's tree (a copied tree's entries read and hashed now, so that they are part of the
//! build key).

use serde::Deserialize;
use toml::Spanned;

use super::*;
use crate::manifest::files::{FileEntry, FileKind, SourceFile, check_dest, fill, is_under};

/// `[[project.files]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    dest: Spanned<String>,
    source: Option<Spanned<String>>,
    template: Option<Spanned<String>>,
    #[serde(default)]
    directory: bool,
    symlink: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    owner: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    config: Option<bool>,
    only: Option<Spanned<String>>,
}

impl Ctx<'_> {
    /// Every `[[project.files]]` entry of project `name`, whose user is `user`.
    pub(super) fn files(&self, name: &str, user: Option<&str>, raw: &[RawFile]) -> Result<Vec<FileEntry>> {
        let probe = [Some(name), Some(PROBE_VERSION), Some("/opt/wrap/probe"), user];
        let mut entries: Vec<FileEntry> = Vec::new();
        for file in raw {
            let dest = file.dest.get_ref().clone();
            let filled = fill(&dest, probe).map_err(|p| self.no_user("files.dest", &file.dest, p))?;
            check_dest(&filled).map_err(|expected| self.invalid("files.dest", &file.dest, expected))?;
            if let Some(other) = entries.iter().find(|e| {
                e.dest == dest
                    || (is_under(&dest, &e.dest) && !matches!(&e.kind, FileKind::Directory))
                    || (is_under(&e.dest, &dest) && !file.directory)
            }) {
                let expected = format!("a destination of its own (`{}` is given twice)", other.dest);
                return Err(self.invalid("files.dest", &file.dest, expected));
            }
            let kind = self.file_kind(file, probe)?;
            let mode = file.mode.as_ref().map(|m| self.mode(m, &kind)).transpose()?;
            let (owner, group) = self.owners(file, user)?;
            if file.config == Some(true) && !matches!(kind, FileKind::Copy { .. } | FileKind::Template { .. })
            {
                let what = "`config = true` only on copied files and templates";
                return Err(self.invalid("files.config", &file.dest, what));
            }
            let only = match &file.only {
                Some(f) => {
                    Some(Format::parse(f.get_ref()).filter(|f| *f != Format::Tar).ok_or_else(|| {
                        self.invalid("files.only", f, "`deb`, `rpm` or `oci`: the one format that ships it")
                    })?)
                }
                None => None,
            };
            entries.push(FileEntry { dest, kind, mode, owner, group, config: file.config, only });
        }
        Ok(entries)
    }

    /// The error for a `{user}` in a project without one.
    fn no_user(&self, key: &str, value: &Spanned<String>, placeholder: &str) -> Error {
        self.invalid(key, value, format!("no `{{{placeholder}}}`: the project sets no `user`"))
    }

    /// What an entry puts at its destination: exactly one of `source`, `template`,
    /// `directory = true` and `symlink`.
    fn file_kind(&self, file: &RawFile, probe: [Option<&str>; 4]) -> Result<FileKind> {
        let given = [file.source.is_some(), file.template.is_some(), file.directory, file.symlink.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            let expected =
                "exactly one of `source`, `template`, `directory = true` and `symlink` beside `dest`";
            return Err(self.invalid("files", &file.dest, expected));
        }
        if let Some(source) = &file.source {
            let is_dir = self.dir.join(source.get_ref()).is_dir();
            let path = self.local_path("files.source", source, true, is_dir)?;
            let files = self.source_files(source, &path.abs, is_dir)?;
            return Ok(FileKind::Copy { source: path.rel, abs: path.abs, files });
        }
        if let Some(template) = &file.template {
            let (path, text) = self.small_text("files.template", template, "")?;
            fill(&text, probe).map_err(|p| self.no_user("files.template", template, p))?;
            return Ok(FileKind::Template { source: path.rel, text });
        }
        if let Some(target) = &file.symlink {
            let filled =
                fill(target.get_ref(), probe).map_err(|p| self.no_user("files.symlink", target, p))?;
            if filled.is_empty() || !is_one_line(&filled, 4096) {
                return Err(self.invalid("files.symlink", target, "a link target: one line"));
            }
            return Ok(FileKind::Symlink { target: target.get_ref().clone() });
        }
        Ok(FileKind::Directory)
    }

    /// The entries of a copied source: the file itself, or every entry of the tree (files and
    /// directories, no links), names in the destination grammar.
    fn source_files(&self, source: &Spanned<String>, abs: &Path, is_dir: bool) -> Result<Vec<SourceFile>> {
        let unreadable = |why: String| self.invalid("files.source", source, why);
        let read = |path: &Path, rel: String| -> Result<SourceFile> {
            let bytes = std::fs::read(path).map_err(|e| unreadable(format!("a readable file ({e})")))?;
            let executable =
                std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path)?.permissions()) & 0o111 != 0;
            Ok(SourceFile { rel, sha256: crate::digest::sha256_hex(&bytes), executable })
        };
        if !is_dir {
            return Ok(vec![read(abs, String::new())?]);
        }
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(abs).min_depth(1).sort_by_file_name() {
            let entry = entry.map_err(|e| unreadable(format!("a readable tree ({e})")))?;
            let rel =
                entry.path().strip_prefix(abs).expect("below the source").to_string_lossy().into_owned();
            if check_dest(&format!("/{rel}")).is_err() {
                return Err(unreadable(format!(
                    "a tree whose names are letters, digits and `. _ + @ : = , ~ -` (`{rel}` is not)"
                )));
            }
            if entry.file_type().is_dir() {
                files.push(SourceFile { rel, sha256: String::new(), executable: false });
            } else if entry.file_type().is_file() {
                files.push(read(entry.path(), rel)?);
            } else {
                return Err(unreadable(format!("a tree of files and directories (`{rel}` is neither)")));
            }
        }
        Ok(files)
    }

    /// An octal mode: three or four digits, no setuid or setgid bit, no file others may write;
    /// none for a symlink.
    fn mode(&self, mode: &Spanned<String>, kind: &FileKind) -> Result<u32> {
        let text = mode.get_ref();
        let parsed = (matches!(text.len(), 3 | 4) && text.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .then(|| u32::from_str_radix(text, 8).ok())
            .flatten();
        let expected = match (parsed, kind) {
            (_, FileKind::Symlink { .. }) => "no mode: a symlink's is 0777",
            (None, _) => "an octal mode such as `0640` or `0750`",
            (Some(m), _) if m & 0o6000 != 0 => "a mode without the setuid or setgid bit",
            (Some(m), FileKind::Directory) if m & 0o002 != 0 && m & 0o1000 == 0 => {
                "a mode others cannot write to without the sticky bit"
            }
            (Some(m), FileKind::Copy { .. } | FileKind::Template { .. }) if m & 0o002 != 0 => {
                "a mode others cannot write to"
            }
            (Some(m), _) => return Ok(m),
        };
        Err(self.invalid("files.mode", mode, expected))
    }

    /// The owner and group: `root` (the default) or the project's user (`{user}` says so too);
    /// the group follows the owner unless given.
    fn owners(&self, file: &RawFile, user: Option<&str>) -> Result<(String, String)> {
        let one = |key: &str, value: &Spanned<String>| -> Result<String> {
            match value.get_ref().as_str() {
                "root" => Ok("root".into()),
                "{user}" => user.map(String::from).ok_or_else(|| self.no_user(key, value, "user")),
                v if Some(v) == user => Ok(v.into()),
                _ => Err(self.invalid(
                    key,
                    value,
                    match user {
                        Some(u) => format!("`root` or the project's user `{u}`"),
                        None => "`root`: the project sets no `user` for the package to create".into(),
                    },
                )),
            }
        };
        let owner =
            file.owner.as_ref().map(|o| one("files.owner", o)).transpose()?.unwrap_or_else(|| "root".into());
        let group =
            file.group.as_ref().map(|g| one("files.group", g)).transpose()?.unwrap_or_else(|| owner.clone());
        Ok((owner, group))
    }
}
