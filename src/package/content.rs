//! The content list of a package (nfpm's `files.Content`, cargo-deb's assets): every entry of
//! the staged package root, plus entries made in memory by a writer (a changelog, lintian
//! overrides), each entry for every format or limited to one. Writers iterate
//! [`Content::for_format`]; nothing format-specific is written into the shared root.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::archive::{Data, Member, list_tree};
use crate::artifact::Format;
use crate::error::Result;

/// An entry a packager makes in memory, at an absolute path of the installed system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// `/usr/share/doc/<package>/changelog.Debian.gz`.
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The entries of one package, in archive order (a sorted depth-first walk).
#[derive(Debug, Clone, Default)]
pub struct Content {
    entries: Vec<(Member, Option<Format>)>,
}

impl Content {
    /// Every entry of the staged root `root`, for every format, but what `skip` rejects.
    pub fn from_tree(root: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<Content> {
        Ok(Content { entries: list_tree(root, skip)?.into_iter().map(|m| (m, None)).collect() })
    }

    /// Adds `generated` for `format` only, with the directories above it that the tree lacks
    /// (limited to `format` too), keeping archive order.
    pub fn add(&mut self, generated: Generated, format: Format) {
        let rel = PathBuf::from(generated.path.trim_start_matches('/'));
        let mut parents: Vec<PathBuf> = rel.ancestors().skip(1).map(Path::to_path_buf).collect();
        parents.reverse();
        for dir in parents {
            if !self.entries.iter().any(|(m, _)| m.rel == dir) {
                let member = Member::new(dir, Data::Dir, false, 0);
                self.entries.push((member, Some(format)));
            }
        }
        let size = generated.bytes.len() as u64;
        let member = Member::new(rel, Data::Bytes(generated.bytes), false, size);
        // An entry every format ships at this path stays, for the other formats.
        let mut kept = Vec::new();
        for (m, only) in std::mem::take(&mut self.entries) {
            match only {
                _ if m.rel != member.rel => kept.push((m, only)),
                None => kept
                    .extend(Format::ALL.into_iter().filter(|f| *f != format).map(|f| (m.clone(), Some(f)))),
                Some(f) if f != format => kept.push((m, only)),
                Some(_) => {}
            }
        }
        self.entries = kept;
        self.entries.push((member, Some(format)));
        // Comparing paths component by component gives the walk's order: parents first,
        // siblings by name.
        self.entries.sort_by(|(a, _), (b, _)| components(&a.rel).cmp(&components(&b.rel)));
    }

    /// The entries `keep` accepts (by path), with the directories above them.
    pub fn select(&self, keep: &dyn Fn(&Path) -> bool) -> Content {
        let mut needed = std::collections::HashSet::new();
        for (member, _) in &self.entries {
            if !member.rel.as_os_str().is_empty() && keep(&member.rel) {
                needed.extend(member.rel.ancestors().map(Path::to_path_buf));
            }
        }
        let entries = self.entries.iter().filter(|(m, _)| needed.contains(&m.rel)).cloned().collect();
        Content { entries }
    }

    /// Gives the entry at `rel` the mode `mode`, or, for a `tree`, every file below it.
    pub fn set_mode(&mut self, rel: &Path, mode: u32, tree: bool) {
        for (member, _) in &mut self.entries {
            let hit = if tree {
                member.rel.starts_with(rel) && member.data != Data::Dir
            } else {
                member.rel == rel
            };
            if hit {
                member.mode = Some(mode);
            }
        }
    }

    /// Limits the entry at `rel`, what lies below it, and the directories above it that hold
    /// nothing else, to `format`.
    pub fn limit(&mut self, rel: &Path, format: Format) {
        for (member, only) in &mut self.entries {
            if member.rel.starts_with(rel) && only.is_none() {
                *only = Some(format);
            }
        }
        for dir in rel.ancestors().skip(1).filter(|d| !d.as_os_str().is_empty()) {
            let below = self.entries.iter().filter(|(m, _)| m.rel.starts_with(dir) && m.rel != dir);
            if below.clone().all(|(_, only)| *only == Some(format)) {
                for (member, only) in &mut self.entries {
                    if member.rel == dir {
                        *only = Some(format);
                    }
                }
            }
        }
    }

    /// Numeric owners for the entries `owner` names one for (an image's service user).
    pub fn set_owners(&mut self, owner: &dyn Fn(&Member) -> Option<(u64, u64)>) {
        for (member, _) in &mut self.entries {
            member.owner = owner(member);
        }
    }

    /// The entries `format` ships, in order.
    pub fn for_format(&self, format: Format) -> impl Iterator<Item = &Member> {
        self.entries.iter().filter(move |(_, only)| only.is_none_or(|f| f == format)).map(|(m, _)| m)
    }
}

fn components(path: &Path) -> Vec<&OsStr> {
    path.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_entries_take_their_place_and_their_format() {
        let tmp = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(tmp.path().join("usr/share/doc/p")).unwrap();
        fs_err::write(tmp.path().join("usr/share/doc/p/copyright"), "c").unwrap();
        fs_err::create_dir_all(tmp.path().join("usr/share/zz")).unwrap();
        let mut content = Content::from_tree(tmp.path(), &|_| false).unwrap();
        let generated = |path: &str| Generated { path: path.into(), bytes: b"x".to_vec() };
        content.add(generated("/usr/share/doc/p/changelog.Debian.gz"), Format::Deb);
        content.add(generated("/usr/share/lintian/overrides/p"), Format::Deb);
        content.add(generated("/usr/share/doc/p/copyright"), Format::Deb);
        let copyright = |f: Format| -> Vec<Data> {
            content.for_format(f).filter(|m| m.rel.ends_with("copyright")).map(|m| m.data.clone()).collect()
        };
        assert_eq!(copyright(Format::Deb), [Data::Bytes(b"x".to_vec())]);
        assert_eq!(copyright(Format::Rpm), [Data::File(tmp.path().join("usr/share/doc/p/copyright"))]);
        let names = |f: Format| -> Vec<String> {
            content.for_format(f).map(|m| m.rel.display().to_string()).collect()
        };
        assert_eq!(
            names(Format::Deb),
            [
                "",
                "usr",
                "usr/share",
                "usr/share/doc",
                "usr/share/doc/p",
                "usr/share/doc/p/changelog.Debian.gz",
                "usr/share/doc/p/copyright",
                "usr/share/lintian",
                "usr/share/lintian/overrides",
                "usr/share/lintian/overrides/p",
                "usr/share/zz",
            ]
        );
        assert_eq!(
            names(Format::Rpm),
            [
                "",
                "usr",
                "usr/share",
                "usr/share/doc",
                "usr/share/doc/p",
                "usr/share/doc/p/copyright",
                "usr/share/zz"
            ]
        );
    }
}
