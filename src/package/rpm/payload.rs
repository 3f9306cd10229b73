//! The .rpm's payload: a newc ("070701") cpio archive of the package's entries, names prefixed
//! with `./`, streamed through the compressor into a temporary file. Every file is read once:
//! the same read feeds its SHA-256 (the header's file digest) and the archive. The archive's
//! size and the compressed stream's SHA-256 and size are counted on the way, for the headers
//! (the uncompressed payload's digest, which rpm does not check, is not computed).

use std::io::{Read, Write};
use std::path::Path;

use crate::archive::{Data, Hashing};
use crate::compress::Encoder;
use crate::error::{Error, Result};
use crate::package::Options;

/// One entry of the package: what the header lists and the archive holds.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Absolute path on the installed system.
    pub path: String,
    /// Mode with its file-type bits (0o100644, 0o040755, 0o120777).
    pub mode: u32,
    /// Bytes: the file's, or the link target's.
    pub size: u64,
    /// Hex SHA-256 of a regular file (filled by [`write`]); empty for others.
    pub digest: String,
    /// A symlink's target; empty for others.
    pub link: String,
    /// rpm's file flags (config, noreplace, doc).
    pub flags: u32,
    /// Where the bytes come from.
    pub data: Data,
    /// Owner name.
    pub user: String,
    /// Group name.
    pub group: String,
}

/// The compressed payload, in a temporary file, and what the header says of it.
pub struct Payload {
    /// The compressed archive (removed when dropped).
    pub file: tempfile::NamedTempFile,
    /// Its size in bytes.
    pub size: u64,
    /// Its hex SHA-256.
    pub sha256: String,
    /// The uncompressed archive's size.
    pub archive_size: u64,
}

/// A writer that counts what passes through it.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Bytes read from a file at a time.
const CHUNK: usize = 256 << 10;

/// Writes the payload of `entries` (in their order, inode numbers from 1) compressed with
/// `options`' compression into a temporary file in `scratch`, filling each regular file's digest.
pub fn write(entries: &mut [Entry], mtime: u32, options: &Options<'_>, scratch: &Path) -> Result<Payload> {
    let tmp = crate::fs::temp_file_in(scratch)?;
    let compressed = Hashing::new(std::io::BufWriter::with_capacity(1 << 20, tmp.as_file().try_clone()?));
    let mut archive =
        Counting { inner: Encoder::cached(options.compression, compressed, options.members)?, count: 0 };
    let mut buf = vec![0u8; CHUNK];
    for (i, entry) in entries.iter_mut().enumerate() {
        crate::interrupt::check()?;
        let name = format!(".{}", entry.path);
        write_header(&mut archive, i as u32 + 1, entry.mode, mtime, entry.size, &name)?;
        match &entry.data {
            Data::Dir => {}
            Data::Symlink(_) => archive.write_all(entry.link.as_bytes())?,
            Data::Bytes(bytes) => {
                entry.digest = crate::digest::sha256_hex(bytes);
                archive.write_all(bytes)?;
            }
            Data::File(source) => {
                let mut file = fs_err::File::open(source)?;
                let mut hasher = sha2::Sha256::default();
                let mut copied = 0u64;
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    sha2::Digest::update(&mut hasher, &buf[..n]);
                    archive.write_all(&buf[..n])?;
                    copied += n as u64;
                }
                if copied != entry.size {
                    return Err(Error::Io(std::io::Error::other(format!(
                        "`{}` changed while it was packaged ({} bytes, then {copied})",
                        source.display(),
                        entry.size
                    ))));
                }
                entry.digest = crate::digest::hex(sha2::Digest::finalize(hasher));
            }
        }
        pad(&mut archive, entry.size as usize)?;
    }
    write_header(&mut archive, 0, 0, 0, 0, "TRAILER!!!")?;
    let archive_size = archive.count;
    let (buffered, sha256, size) = archive.inner.finish()?.finish();
    buffered.into_inner().map_err(|e| Error::Io(e.into_error()))?;
    Ok(Payload { file: tmp, size, sha256, archive_size })
}

/// A newc header and the entry's name, padded to four bytes.
fn write_header(out: &mut impl Write, ino: u32, mode: u32, mtime: u32, size: u64, name: &str) -> Result<()> {
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    let fields = [ino, mode, 0, 0, 1, mtime, size as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
    let mut header = String::with_capacity(110 + name.len() + 4);
    header.push_str("070701");
    for field in fields {
        header.push_str(&format!("{field:08X}"));
    }
    header.push_str(name);
    header.push('\0');
    out.write_all(header.as_bytes())?;
    pad(out, header.len())
}

/// Zero bytes up to the next multiple of four after `len`.
fn pad(out: &mut impl Write, len: usize) -> Result<()> {
    out.write_all(&[0u8; 3][..(4 - len % 4) % 4])?;
    Ok(())
}
