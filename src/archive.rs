//! Deterministic tar and gzip writing shared by every artifact: entries sorted by name with
//! parents first, uid/gid 0 and owner names root, modes normalized (0755 for directories and
//! executables, 0644 for other files, 0777 for symlinks), one fixed mtime, and a gzip header
//! without timestamp or file name.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What was archived for one entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Path relative to the tree.
    pub rel: PathBuf,
    /// Directory, file or symlink.
    pub kind: Kind,
    /// Bytes (files only).
    pub size: u64,
    /// md5 of the content (files only, when asked for).
    pub md5: Option<[u8; 16]>,
}

/// Kinds of tree entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
}

/// What one entry of an archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// A directory.
    Dir,
    /// A regular file, read from this path when it is written.
    File(PathBuf),
    /// A regular file made in memory (a changelog, an overrides file).
    Bytes(Vec<u8>),
    /// A symbolic link to this target.
    Symlink(PathBuf),
}

/// One entry to archive: its path relative to the tree (empty for the tree itself), what it
/// holds, and whether it is executable (its mode is 0755, else 0644; 0777 for links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Path relative to the tree.
    pub rel: PathBuf,
    /// Its content.
    pub data: Data,
    /// The executable bit (files).
    pub executable: bool,
    /// Bytes (files).
    pub size: u64,
    /// A mode the manifest gives (`[[project.files]]`), instead of the normalized one.
    pub mode: Option<u32>,
    /// Numeric owner and group, instead of root's (an image's service user).
    pub owner: Option<(u64, u64)>,
}

impl Member {
    /// An entry with the normalized mode, owned by root.
    pub fn new(rel: PathBuf, data: Data, executable: bool, size: u64) -> Member {
        Member { rel, data, executable, size, mode: None, owner: None }
    }

    /// The entry's mode: the manifest's, else the normalized one.
    pub fn mode(&self) -> u32 {
        if let (Some(mode), false) = (self.mode, matches!(self.data, Data::Symlink(_))) {
            return mode;
        }
        match self.data {
            Data::Dir => 0o755,
            Data::Symlink(_) => 0o777,
            _ if self.executable => 0o755,
            _ => 0o644,
        }
    }
}

/// Every entry of `tree` (the tree itself first, as an empty path), in the order of a sorted
/// depth-first walk, except paths `skip` rejects (and what lies below them).
pub fn list_tree(tree: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<Vec<Member>> {
    let mut members = Vec::new();
    let walk = walkdir::WalkDir::new(tree).sort_by_file_name().into_iter();
    for entry in walk.filter_entry(|e| e.path().strip_prefix(tree).map_or(true, |rel| !skip(rel))) {
        crate::interrupt::check()?;
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        let rel = entry.path().strip_prefix(tree).expect("below the tree").to_path_buf();
        let kind = entry.file_type();
        let (data, executable, size) = if kind.is_dir() {
            (Data::Dir, false, 0)
        } else if kind.is_symlink() {
            (Data::Symlink(fs_err::read_link(entry.path())?), false, 0)
        } else {
            let meta = entry.metadata().map_err(|e| Error::Io(e.into()))?;
            (Data::File(entry.path().to_path_buf()), meta.permissions().mode() & 0o111 != 0, meta.len())
        };
        members.push(Member::new(rel, data, executable, size));
    }
    Ok(members)
}

/// Appends every entry of `tree` to `builder` as `<prefix>/<path>` (directories end in `/`;
/// `prefix` `.` gives dpkg's `./usr/` form), except paths `skip` rejects, and lists them.
pub fn append_tree<W: Write>(
    builder: &mut tar::Builder<W>,
    tree: &Path,
    prefix: &str,
    mtime: u64,
    md5: bool,
    skip: &dyn Fn(&Path) -> bool,
) -> Result<Vec<Listed>> {
    append_members(builder, &list_tree(tree, skip)?, prefix, mtime, md5)
}

/// Appends `members` in their order to `builder` as `<prefix>/<path>` (or `<path>`, when `prefix`
/// is empty: an OCI layer's names), owned by root with one
/// `mtime`, and lists them (with each file's md5 when `md5`).
pub fn append_members<'a, W: Write>(
    builder: &mut tar::Builder<W>,
    members: impl IntoIterator<Item = &'a Member>,
    prefix: &str,
    mtime: u64,
    md5: bool,
) -> Result<Vec<Listed>> {
    let mut listed = Vec::new();
    for member in members {
        crate::interrupt::check()?;
        let mut name = prefix.as_bytes().to_vec();
        if !member.rel.as_os_str().is_empty() {
            if !prefix.is_empty() {
                name.push(b'/');
            }
            name.extend_from_slice(member.rel.as_os_str().as_encoded_bytes());
        }
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        let (uid, gid) = member.owner.unwrap_or((0, 0));
        header.set_uid(uid);
        header.set_gid(gid);
        if member.owner.is_none() {
            header.set_username("root").map_err(Error::Io)?;
            header.set_groupname("root").map_err(Error::Io)?;
        }
        header.set_mode(member.mode());
        header.set_size(member.size);
        let (kind, digest) = match &member.data {
            Data::Dir => {
                name.push(b'/');
                header.set_entry_type(tar::EntryType::Directory);
                append_named(builder, &mut header, &name, None, std::io::empty())?;
                (Kind::Dir, None)
            }
            Data::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                let target = Some(target.as_os_str().as_encoded_bytes());
                append_named(builder, &mut header, &name, target, std::io::empty())?;
                (Kind::Symlink, None)
            }
            Data::File(path) => {
                header.set_entry_type(tar::EntryType::Regular);
                (Kind::File, append_file(builder, &mut header, &name, fs_err::File::open(path)?, md5)?)
            }
            Data::Bytes(bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                (Kind::File, append_file(builder, &mut header, &name, &bytes[..], md5)?)
            }
        };
        listed.push(Listed { rel: member.rel.clone(), kind, size: member.size, md5: digest });
    }
    Ok(listed)
}

/// Appends a regular file's `data`, hashing it on the way when `md5`.
fn append_file<W: Write>(
    builder: &mut tar::Builder<W>,
    header: &mut tar::Header,
    name: &[u8],
    data: impl Read,
    md5: bool,
) -> Result<Option<[u8; 16]>> {
    if !md5 {
        append_named(builder, header, name, None, data)?;
        return Ok(None);
    }
    let mut reader = Md5Reader { inner: data, hasher: md5::Md5::new() };
    append_named(builder, header, name, None, &mut reader)?;
    Ok(Some(reader.hasher.finalize().into()))
}

/// Appends one entry named `name` (and linking to `link`) exactly as given: tar's path
/// handling would drop a leading `./` and a trailing `/`, which dpkg's own archives have. Names
/// past the 100 bytes of the header go in GNU long-name records, as GNU tar writes them.
pub fn append_named<W: Write>(
    builder: &mut tar::Builder<W>,
    header: &mut tar::Header,
    name: &[u8],
    link: Option<&[u8]>,
    data: impl Read,
) -> Result<()> {
    fn long(builder: &mut tar::Builder<impl Write>, kind: tar::EntryType, value: &[u8]) -> Result<()> {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(value.len() as u64 + 1);
        h.set_cksum();
        builder.append(&h, value.chain(&[0u8][..]))?;
        Ok(())
    }
    let old = header.as_old_mut();
    if name.len() > old.name.len() {
        long(builder, tar::EntryType::GNULongName, name)?;
    }
    let old = header.as_old_mut();
    let n = name.len().min(old.name.len());
    old.name = [0; 100];
    old.name[..n].copy_from_slice(&name[..n]);
    if let Some(link) = link {
        if link.len() > old.linkname.len() {
            long(builder, tar::EntryType::GNULongLink, link)?;
        }
        let old = header.as_old_mut();
        let n = link.len().min(old.linkname.len());
        old.linkname = [0; 100];
        old.linkname[..n].copy_from_slice(&link[..n]);
    }
    header.set_cksum();
    builder.append(header, data)?;
    Ok(())
}

struct Md5Reader<R> {
    inner: R,
    hasher: md5::Md5,
}

impl<R: Read> Read for Md5Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes and counts what passes through it.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Hashing<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Hashing { inner, hasher: Sha256::new(), size: 0 }
    }

    /// The inner writer, the hex sha256 and the byte count of everything written.
    pub fn finish(self) -> (W, String, u64) {
        let digest = crate::digest::hex(self.hasher.finalize());
        (self.inner, digest, self.size)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(bytes: &[u8]) -> Vec<(String, u32, u64, u64, String)> {
        let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(bytes));
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                    h.username().unwrap().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn trees_archive_sorted_normalized_and_reproducibly() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("t");
        fs_err::create_dir_all(tree.join("b/c")).unwrap();
        fs_err::write(tree.join("b/c/run"), "#!/bin/sh\n").unwrap();
        fs_err::set_permissions(tree.join("b/c/run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        fs_err::write(tree.join("a.txt"), "a").unwrap();
        fs_err::set_permissions(tree.join("a.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink("a.txt", tree.join("link")).unwrap();
        let build = || {
            let mut builder = tar::Builder::new(crate::compress::gzip(Vec::new()));
            append_tree(&mut builder, &tree, "pkg-1.0", 1_700_000_000, false, &|_| false).unwrap();
            builder.into_inner().unwrap().finish().unwrap()
        };
        let bytes = build();
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "gzip mtime must be zero");
        let got = entries(&bytes);
        let expect = [
            ("pkg-1.0/", 0o755),
            ("pkg-1.0/a.txt", 0o644),
            ("pkg-1.0/b/", 0o755),
            ("pkg-1.0/b/c/", 0o755),
            ("pkg-1.0/b/c/run", 0o755),
            ("pkg-1.0/link", 0o777),
        ];
        assert_eq!(got.len(), expect.len());
        for ((path, mode, uid, mtime, user), (want_path, want_mode)) in got.iter().zip(expect) {
            assert_eq!((path.as_str(), *mode), (want_path, want_mode));
            assert_eq!((*uid, *mtime, user.as_str()), (0, 1_700_000_000, "root"));
        }
        // Touching the files changes nothing.
        fs_err::write(tree.join("a.txt"), "a").unwrap();
        assert_eq!(build(), bytes);
    }

    #[test]
    fn dpkg_names_long_names_md5_and_skips() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = format!("usr/{}/{}", "d".repeat(60), "e".repeat(60));
        fs_err::create_dir_all(tmp.path().join(&deep)).unwrap();
        fs_err::write(tmp.path().join(&deep).join("f"), "hello").unwrap();
        fs_err::create_dir_all(tmp.path().join("skip/me")).unwrap();
        let long_target = format!("/{}", "t".repeat(150));
        std::os::unix::fs::symlink(&long_target, tmp.path().join("usr/l")).unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let listed =
            append_tree(&mut builder, tmp.path(), ".", 5, true, &|rel| rel.starts_with("skip")).unwrap();
        let bytes = builder.into_inner().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let names: Vec<(String, Option<String>)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let link = e.link_name_bytes().map(|l| String::from_utf8(l.into_owned()).unwrap());
                (String::from_utf8(e.path_bytes().into_owned()).unwrap(), link)
            })
            .collect();
        let want = [
            "./".to_string(),
            "./usr/".into(),
            format!("./usr/{}/", "d".repeat(60)),
            format!("./{deep}/"),
            format!("./{deep}/f"),
            "./usr/l".into(),
        ];
        assert_eq!(names.iter().map(|n| n.0.clone()).collect::<Vec<_>>(), want);
        assert_eq!(names[5].1.as_deref(), Some(long_target.as_str()));
        let file = listed.iter().find(|l| l.kind == Kind::File).unwrap();
        // md5("hello")
        assert_eq!(crate::digest::hex(file.md5.unwrap()), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(file.size, 5);
    }
}
