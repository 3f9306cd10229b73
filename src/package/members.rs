//! The rules a tar archive's members must follow to be unpacked safely (no absolute or `..`
//! paths, no link out of the archive, nothing but files, directories and links), for
//! `wrap inspect`.

use std::io::Read;

use crate::fs::link_leaves_tree;

/// Where an archive's members land: a package's are relative to the filesystem root (absolute
/// symlink targets are fine there); a bundle's below the directory it is unpacked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Root {
    Filesystem,
    Bundle,
}

/// The members of a tar archive seen so far, and the rules each new one must follow.
pub(super) struct Members {
    root: Root,
    seen: std::collections::HashSet<String>,
}

impl Members {
    pub(super) fn new(root: Root) -> Members {
        Members { root, seen: std::collections::HashSet::new() }
    }

    /// What is unsafe about `entry`, if anything.
    pub(super) fn check<R: Read>(&mut self, entry: &tar::Entry<'_, R>) -> std::result::Result<(), String> {
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let plain = name.trim_start_matches("./").trim_end_matches('/').to_string();
        if name.starts_with('/') {
            return Err(format!("`{name}` is an absolute path"));
        }
        if plain.split('/').any(|c| c == "..") {
            return Err(format!("`{name}` climbs out with `..`"));
        }
        let link = entry.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned());
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {}
            tar::EntryType::Symlink => {
                let target = link.unwrap_or_default();
                let interpreter = self.root == Root::Bundle
                    && plain.rsplit('/').next().is_some_and(|n| n.starts_with("python"))
                    && plain.contains("/bin/")
                    && target.starts_with('/')
                    && target.rsplit('/').next().is_some_and(|n| n.starts_with("python3"));
                let absolute_out = target.starts_with('/') && self.root == Root::Bundle && !interpreter;
                if target.is_empty()
                    || absolute_out
                    || (!target.starts_with('/') && link_leaves_tree(&plain, &target))
                {
                    return Err(format!("symlink `{name}` -> `{target}` leads out of the archive"));
                }
            }
            tar::EntryType::Link => {
                let target = link.unwrap_or_default();
                let target_plain = target.trim_start_matches("./").to_string();
                if target.starts_with('/') || !self.seen.contains(&target_plain) {
                    return Err(format!(
                        "`{name}` is a hard link to `{target}`, which is not a member before it"
                    ));
                }
            }
            other => return Err(format!("`{name}` is a {other:?}, not a file, directory or link")),
        }
        self.seen.insert(plain);
        Ok(())
    }
}
