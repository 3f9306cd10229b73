//! Payload compression shared by every artifact: an algorithm and a level (`gzip:6`, `zstd:19`),
//! and compressors that use every core yet write the same bytes whatever the core count: gzip
//! as independent members cut where the content says (FastCDC, the `fastcdc` crate), each kept
//! in a cache of members so that a rebuild compresses only what changed; xz and zstd through
//! their libraries' multi-threaded encoders, whose output depends on the level and block size
//! only.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A compression algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// gzip: the default, and the only one lintian's Debian profile accepts in a .deb; every
    /// rpm since EL7 reads it.
    Gzip,
    /// xz (multi-threaded).
    Xz,
    /// zstd (multi-threaded); what Fedora and RHEL 9 use, at level 19.
    Zstd,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 3] = [Algorithm::Gzip, Algorithm::Xz, Algorithm::Zstd];

    /// The name as the manifest writes it (and as rpm's PAYLOADCOMPRESSOR names it).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Gzip => "gzip",
            Algorithm::Xz => "xz",
            Algorithm::Zstd => "zstd",
        }
    }

    /// The levels it accepts.
    pub fn levels(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Algorithm::Gzip => 1..=9,
            Algorithm::Xz => 0..=9,
            Algorithm::Zstd => 1..=22,
        }
    }

    /// The level used when none is given: gzip 6 and xz 6 (their tools' defaults, far faster
    /// than 9 for little size), zstd 19 (Fedora's and RHEL 9's).
    pub fn default_level(self) -> u32 {
        match self {
            Algorithm::Gzip | Algorithm::Xz => 6,
            Algorithm::Zstd => 19,
        }
    }

    /// File name extension: `gz`, `xz`, `zst`.
    pub fn extension(self) -> &'static str {
        match self {
            Algorithm::Gzip => "gz",
            Algorithm::Xz => "xz",
            Algorithm::Zstd => "zst",
        }
    }
}

/// Compression of a payload: an algorithm at a level. Written `gzip`, `gzip:9`, `zstd:19`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct Compression {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Its level.
    pub level: u32,
}

impl Default for Compression {
    fn default() -> Self {
        Compression::GZIP
    }
}

impl Compression {
    /// gzip at level 6.
    pub const GZIP: Compression = Compression { algorithm: Algorithm::Gzip, level: 6 };

    /// `algorithm` at its default level.
    pub fn new(algorithm: Algorithm) -> Self {
        Compression { algorithm, level: algorithm.default_level() }
    }

    /// Reads `gzip`, `xz`, `zstd`, each with an optional `:LEVEL`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let (name, level) = match text.split_once(':') {
            Some((name, level)) => (name, Some(level)),
            None => (text, None),
        };
        let Some(algorithm) = Algorithm::ALL.into_iter().find(|a| a.as_str() == name) else {
            return Err(format!(
                "unknown compression `{text}`: expected gzip, xz or zstd, with an optional level (`zstd:19`)"
            ));
        };
        let levels = algorithm.levels();
        let level = match level {
            None => algorithm.default_level(),
            Some(level) => match level.parse::<u32>() {
                Ok(n) if levels.contains(&n) => n,
                _ => {
                    return Err(format!(
                        "compression level `{level}` of {name}: expected {}..={}",
                        levels.start(),
                        levels.end()
                    ));
                }
            },
        };
        Ok(Compression { algorithm, level })
    }

    /// File name extension: `gz`, `xz`, `zst`.
    pub fn extension(self) -> &'static str {
        self.algorithm.extension()
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.level)
    }
}

impl TryFrom<String> for Compression {
    type Error = String;
    fn try_from(text: String) -> std::result::Result<Self, String> {
        Compression::parse(&text)
    }
}

impl From<Compression> for String {
    fn from(c: Compression) -> String {
        c.to_string()
    }
}

/// Bounds of the input of one gzip member of [`ParallelGzip`]: content-defined cuts (FastCDC)
/// at least 256 KiB apart, about 1 MiB on average, at most 4 MiB. A member depends on its own
/// bytes only, so an insertion or a change moves the cuts near it and leaves the others.
const GZIP_MIN: u32 = 256 << 10;
const GZIP_AVG: u32 = 1 << 20;
const GZIP_MAX: u32 = 4 << 20;

/// The length of the first member of `data` (all of it when it holds less than the maximum).
fn first_member(data: &[u8]) -> usize {
    fastcdc::v2020::FastCDC::new(data, GZIP_MIN, GZIP_AVG, GZIP_MAX).next().map_or(data.len(), |c| c.length)
}

/// A cache of gzip members by a digest of their input, their level and the compressor (wrap's
/// own build): the same input compressed once, whichever artifact holds it. Each entry checks
/// itself ([`crate::fs::read_checked`]), so a damaged one is compressed again, never shipped.
#[derive(Debug, Clone)]
pub struct Members {
    dir: std::path::PathBuf,
    salt: String,
}

impl Members {
    /// The cache in `dir`, for the compressor `build` (entries of another build are not used).
    pub fn new(dir: std::path::PathBuf, build: &str) -> Members {
        Members { dir, salt: build.to_string() }
    }

    fn entry(&self, block: &[u8], level: u32) -> std::path::PathBuf {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(format!("gzip {level}\0{}\0", self.salt).as_bytes());
        hasher.update(block);
        let key = crate::digest::hex(hasher.finalize());
        self.dir.join(&key[..2]).join(key)
    }

    /// `block` as a gzip member at `level`, from the cache or compressed (and then kept; a
    /// cache that cannot be written costs the next build time, never this one its artifact).
    fn member(&self, block: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
        let entry = self.entry(block, level);
        if let Some(member) = crate::fs::read_checked(&entry) {
            crate::fs::touch(&entry);
            return Ok(member);
        }
        let member = gzip_member(block, level)?;
        let _ = crate::fs::write_checked(&entry, &member);
        Ok(member)
    }
}

/// A gzip writer that compresses content-defined blocks on all cores, each into a gzip member
/// of its own (no timestamp, no name, at its level), written in order. A gzip file may hold
/// several members and every reader (gzip, zlib's gzread in dpkg, tar, Python) reads them as
/// one stream. Output depends on the content and level only, never on the number of threads
/// or the cache: reproducible on any machine. At most eight blocks are in flight, so memory
/// stays bounded.
pub struct ParallelGzip<W: Write> {
    out: W,
    /// Input not yet cut into members.
    pending: Vec<u8>,
    in_flight: std::collections::VecDeque<std::thread::JoinHandle<std::io::Result<Vec<u8>>>>,
    max_in_flight: usize,
    level: u32,
    members: Option<Members>,
}

impl<W: Write> ParallelGzip<W> {
    /// A compressor at `level` (1 to 9) writing to `out`.
    pub fn new(out: W, level: u32) -> Self {
        let threads = crate::host::cores();
        ParallelGzip {
            out,
            pending: Vec::with_capacity(2 * GZIP_MAX as usize),
            in_flight: std::collections::VecDeque::new(),
            max_in_flight: threads.clamp(1, 8),
            level,
            members: None,
        }
    }

    /// Takes members from, and keeps them in, `members`.
    pub fn with_members(mut self, members: Option<Members>) -> Self {
        self.members = members;
        self
    }

    fn send_block(&mut self, block: Vec<u8>) -> std::io::Result<()> {
        if self.in_flight.len() >= self.max_in_flight {
            self.write_oldest()?;
        }
        let (level, members) = (self.level, self.members.clone());
        self.in_flight.push_back(std::thread::spawn(move || match members {
            Some(members) => members.member(&block, level),
            None => gzip_member(&block, level),
        }));
        Ok(())
    }

    /// Sends the members of the pending input whose cut does not depend on input still to
    /// come (`all`: every one, at the end).
    fn cut(&mut self, all: bool) -> std::io::Result<()> {
        let mut start = 0;
        while self.pending.len() - start >= GZIP_MAX as usize || (all && start < self.pending.len()) {
            let len = first_member(&self.pending[start..]);
            let block = self.pending[start..start + len].to_vec();
            self.send_block(block)?;
            start += len;
        }
        self.pending.drain(..start);
        Ok(())
    }

    fn write_oldest(&mut self) -> std::io::Result<()> {
        if let Some(done) = self.in_flight.pop_front() {
            let member = done.join().map_err(|_| std::io::Error::other("a gzip thread panicked"))??;
            self.out.write_all(&member)?;
        }
        Ok(())
    }

    /// Compresses what is left, writes every member and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.cut(true)?;
        // An empty input still makes one (empty) member: a valid gzip file.
        if self.in_flight.is_empty() {
            self.send_block(Vec::new())?;
        }
        while !self.in_flight.is_empty() {
            self.write_oldest()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One block as a gzip member, by libdeflate: whole-buffer compression, about twice as fast
/// as zlib at the same level for the same size, which is what whole blocks allow. Its header
/// has no timestamp and no name.
fn gzip_member(block: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let level = libdeflater::CompressionLvl::new(level as i32)
        .map_err(|_| std::io::Error::other(format!("gzip level {level} out of range")))?;
    let mut compressor = libdeflater::Compressor::new(level);
    let mut out = vec![0u8; compressor.gzip_compress_bound(block.len())];
    let n = compressor.gzip_compress(block, &mut out).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    out.truncate(n);
    Ok(out)
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= 2 * GZIP_MAX as usize {
            self.cut(false)?;
        }
        Ok(buf.len())
    }

    /// Flushing cannot end a member early (that would make the output depend on the caller's
    /// flushes); everything is written by [`ParallelGzip::finish`].
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `bytes` as one gzip member at level 9, without timestamp or name: for small files made in
/// memory (a changelog, a repository index), where the parallel writer's blocks buy nothing.
pub fn gzip_small(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// A gzip compressor at level 6 (see [`ParallelGzip`]).
pub fn gzip<W: Write>(out: W) -> ParallelGzip<W> {
    ParallelGzip::new(out, 6)
}

/// Bytes of input per zstd job.
const ZSTD_JOB: u32 = 4 << 20;

/// A payload compressor: gzip, or multi-threaded xz or zstd. The output depends on the level
/// and the block sizes, never on the number of threads, so it is reproducible on any machine.
pub enum Encoder<W: Write> {
    /// gzip without timestamp, multi-threaded.
    Gzip(ParallelGzip<W>),
    /// xz, multi-threaded.
    Xz(liblzma::write::XzEncoder<W>),
    /// zstd, multi-threaded.
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// A compressor of kind `compression` writing to `out`, on every core.
    pub fn new(compression: Compression, out: W) -> Result<Self> {
        Self::with_threads(compression, out, crate::host::cores() as u32)
    }

    /// [`Encoder::new`], taking gzip members from, and keeping them in, `members` (xz and zstd
    /// have no members to keep).
    pub fn cached(compression: Compression, out: W, members: Option<&Members>) -> Result<Self> {
        Ok(match Self::new(compression, out)? {
            Encoder::Gzip(gzip) => Encoder::Gzip(gzip.with_members(members.cloned())),
            other => other,
        })
    }

    /// A compressor of kind `compression` writing to `out` on `threads` threads (at least one);
    /// the bytes are the same whatever their number.
    pub fn with_threads(compression: Compression, out: W, threads: u32) -> Result<Self> {
        let threads = threads.max(1);
        let level = compression.level;
        Ok(match compression.algorithm {
            Algorithm::Gzip => {
                let mut gzip = ParallelGzip::new(out, level);
                gzip.max_in_flight = threads.clamp(1, 8) as usize;
                Encoder::Gzip(gzip)
            }
            Algorithm::Xz => {
                let stream = liblzma::stream::MtStreamBuilder::new()
                    .preset(level)
                    .threads(threads)
                    .check(liblzma::stream::Check::Crc64)
                    .encoder()
                    .map_err(|e| Error::Io(e.into()))?;
                Encoder::Xz(liblzma::write::XzEncoder::new_stream(out, stream))
            }
            Algorithm::Zstd => {
                let mut encoder = zstd::Encoder::new(out, level as i32)?;
                encoder.multithread(threads)?;
                // Fixed 4 MiB jobs: the output depends on the job size, never on the number of
                // workers, and fewer input bytes wait in buffers (at level 9, 55 MiB peak for
                // a 90 MB tree instead of 123 MiB with zstd's default job size).
                encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB))?;
                encoder.include_checksum(true)?;
                Encoder::Zstd(encoder)
            }
        })
    }

    /// Finishes the stream and returns the writer.
    pub fn finish(self) -> Result<W> {
        Ok(match self {
            Encoder::Gzip(e) => e.finish()?,
            Encoder::Xz(e) => e.finish()?,
            Encoder::Zstd(e) => e.finish()?,
        })
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_gzip_is_one_stream_to_readers_and_independent_of_threads() {
        use std::io::Read;
        // Several members and a bit, of text that compresses.
        let input: Vec<u8> = (0..(5 * GZIP_MAX as usize + 1234))
            .map(|i| b"wrap packages"[i % 13] ^ (i / 7919) as u8)
            .collect();
        let compress = |in_flight: usize| {
            let mut gz = ParallelGzip::new(Vec::new(), 6);
            gz.max_in_flight = in_flight;
            for chunk in input.chunks(100_000) {
                gz.write_all(chunk).unwrap();
            }
            gz.finish().unwrap()
        };
        let one = compress(1);
        assert_eq!(one, compress(8), "the thread count does not show in the bytes");
        assert!(one.len() < input.len() / 2);
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&one[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, input);
        // The first member's header carries no timestamp (bytes 4..8).
        assert_eq!(one[4..8], [0, 0, 0, 0]);
        // Empty input: a valid, empty gzip file.
        let empty = ParallelGzip::new(Vec::new(), 6).finish().unwrap();
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&empty[..]).read_to_end(&mut back).unwrap();
        assert!(back.is_empty() && !empty.is_empty());
    }

    /// `len` bytes that compress somewhat and have no repeating period (content-defined cuts).
    fn text(len: usize, seed: u32) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                b"wrap packages"[(state >> 28) as usize % 13]
            })
            .collect()
    }

    fn gzip_with(members: Option<&Members>, input: &[u8]) -> Vec<u8> {
        let mut gz = ParallelGzip::new(Vec::new(), 6).with_members(members.cloned());
        for chunk in input.chunks(100_000) {
            gz.write_all(chunk).unwrap();
        }
        gz.finish().unwrap()
    }

    fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let files = walkdir::WalkDir::new(dir).into_iter().flatten().filter(|e| e.file_type().is_file());
        files.map(|e| e.into_path()).collect()
    }

    #[test]
    fn cached_members_give_the_same_bytes_and_survive_an_insertion_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let members = Members::new(dir.path().to_path_buf(), "test build");
        let input = text(24 << 20, 11);
        let plain = gzip_with(None, &input);
        assert_eq!(gzip_with(Some(&members), &input), plain, "a cold cache changes nothing");
        let kept = entries(dir.path()).len();
        assert!(kept >= 6, "{kept} members for 24 MiB");
        assert_eq!(gzip_with(Some(&members), &input), plain, "a warm cache changes nothing");
        assert_eq!(entries(dir.path()).len(), kept, "nothing new to keep");
        // A few bytes inserted near the start: the cuts after it come back, so only the
        // members around the insertion are new.
        let mut changed = input.clone();
        changed.splice(3 << 20..3 << 20, *b"one patch changed");
        assert_eq!(gzip_with(Some(&members), &changed), gzip_with(None, &changed));
        let new = entries(dir.path()).len() - kept;
        assert!((1..=3).contains(&new), "{new} new members after one insertion");
        // A damaged entry is compressed again, never shipped.
        for entry in entries(dir.path()) {
            let mut bytes = std::fs::read(&entry).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            std::fs::write(&entry, bytes).unwrap();
        }
        assert_eq!(gzip_with(Some(&members), &input), plain);
        // Another build of the compressor does not use them.
        let other = Members::new(dir.path().to_path_buf(), "another build");
        let before = entries(dir.path()).len();
        assert_eq!(gzip_with(Some(&other), &input), plain);
        assert_eq!(entries(dir.path()).len(), before + kept);
    }

    #[test]
    fn every_compressor_writes_the_same_bytes_on_one_thread_and_on_four() {
        use std::io::Read;
        // 13 MiB that compress somewhat: several gzip members, zstd jobs and xz blocks.
        let input = text(13 << 20, 7);
        for text in ["gzip:6", "zstd:3", "xz:1"] {
            let compression = Compression::parse(text).unwrap();
            let compress = |threads: u32| {
                let mut encoder = Encoder::with_threads(compression, Vec::new(), threads).unwrap();
                for chunk in input.chunks(1 << 20) {
                    encoder.write_all(chunk).unwrap();
                }
                encoder.finish().unwrap()
            };
            let one = compress(1);
            assert!(one == compress(4), "{text}: the thread count shows in the bytes");
            let mut back = Vec::new();
            let mut reader: Box<dyn Read> = match compression.algorithm {
                Algorithm::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&one[..])),
                Algorithm::Zstd => Box::new(zstd::Decoder::new(&one[..]).unwrap()),
                Algorithm::Xz => Box::new(liblzma::read::XzDecoder::new(&one[..])),
            };
            reader.read_to_end(&mut back).unwrap();
            assert!(back == input, "{text} does not round-trip");
        }
    }

    #[test]
    fn compressions_read_with_and_without_levels_and_print_with_them() {
        assert_eq!(Compression::parse("gzip"), Ok(Compression::GZIP));
        assert_eq!(Compression::parse("zstd").unwrap().to_string(), "zstd:19");
        assert_eq!(Compression::parse("xz:0").unwrap(), Compression { algorithm: Algorithm::Xz, level: 0 });
        assert!(Compression::parse("gzip:0").unwrap_err().contains("expected 1..=9"));
        assert!(Compression::parse("zstd:x").unwrap_err().contains("expected 1..=22"));
        assert!(Compression::parse("bzip2").unwrap_err().contains("unknown compression `bzip2`"));
    }
}
