//! Deterministic tar and gzip writing shared by every artifact: entries sorted by name with
//! parents first, uid/gid 0 and owner names root, modes normalized (0755 for directories and
//! executables, 0644 for other files, 0777 for symlinks), one fixed mtime, and a gzip header
//! without timestamp or file name.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Appends every entry of `tree` below `prefix` (e.g. `hello-1.1.0`) to `builder`.
pub fn append_tree<W: Write>(
    builder: &mut tar::Builder<W>,
    tree: &Path,
    prefix: &str,
    mtime: u64,
) -> Result<()> {
    for entry in walkdir::WalkDir::new(tree).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        let rel = entry.path().strip_prefix(tree).expect("below the tree");
        let name = if rel.as_os_str().is_empty() {
            Path::new(prefix).to_path_buf()
        } else {
            Path::new(prefix).join(rel)
        };
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("root").map_err(Error::Io)?;
        header.set_groupname("root").map_err(Error::Io)?;
        let kind = entry.file_type();
        if kind.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder.append_data(&mut header, &name, std::io::empty())?;
        } else if kind.is_symlink() {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            builder.append_link(&mut header, &name, fs_err::read_link(entry.path())?)?;
        } else {
            let meta = entry.metadata().map_err(|e| Error::Io(e.into()))?;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 });
            header.set_size(meta.len());
            builder.append_data(&mut header, &name, fs_err::File::open(entry.path())?)?;
        }
    }
    Ok(())
}

/// A gzip encoder whose header holds no timestamp and no name.
pub fn gzip<W: Write>(out: W) -> flate2::write::GzEncoder<W> {
    flate2::GzBuilder::new().mtime(0).write(out, flate2::Compression::default())
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
        let digest = self.hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
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
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
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
            let mut builder = tar::Builder::new(gzip(Vec::new()));
            append_tree(&mut builder, &tree, "pkg-1.0", 1_700_000_000).unwrap();
            builder.into_inner().unwrap().finish().unwrap()
        };
        let bytes = build();
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "gzip mtime must be zero");
        let got = entries(&bytes);
        let expect = [
            ("pkg-1.0", 0o755),
            ("pkg-1.0/a.txt", 0o644),
            ("pkg-1.0/b", 0o755),
            ("pkg-1.0/b/c", 0o755),
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
}
