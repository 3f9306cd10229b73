//! Payload compression shared by every artifact: an algorithm and a level (`gzip:6`, `zstd:19`),
//! and compressors that use every core yet write the same bytes whatever the core count: gzip
//! as independent members of a fixed block size, xz and zstd through their libraries'
//! multi-threaded encoders, whose output depends on the level and block size only.

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

/// Bytes of input per gzip member of [`ParallelGzip`].
const GZIP_BLOCK: usize = 2 << 20;

/// A gzip writer that compresses 2 MiB blocks on all cores, each into a gzip member of its own
/// (no timestamp, no name, at its level), written in order. A gzip file may hold several members and
/// every reader (gzip, zlib's gzread in dpkg, tar, Python) reads them as one stream. Output
/// depends on the block size and level only, never on the number of threads: reproducible on
/// any machine. At most eight blocks are in flight, so memory stays bounded.
pub struct ParallelGzip<W: Write> {
    out: W,
    block: Vec<u8>,
    in_flight: std::collections::VecDeque<std::thread::JoinHandle<std::io::Result<Vec<u8>>>>,
    max_in_flight: usize,
    level: u32,
}

impl<W: Write> ParallelGzip<W> {
    /// A compressor at `level` (1 to 9) writing to `out`.
    pub fn new(out: W, level: u32) -> Self {
        let threads = crate::host::cores();
        ParallelGzip {
            out,
            block: Vec::with_capacity(GZIP_BLOCK),
            in_flight: std::collections::VecDeque::new(),
            max_in_flight: threads.clamp(1, 8),
            level,
        }
    }

    fn send_block(&mut self) -> std::io::Result<()> {
        if self.in_flight.len() >= self.max_in_flight {
            self.write_oldest()?;
        }
        let block = std::mem::replace(&mut self.block, Vec::with_capacity(GZIP_BLOCK));
        let level = self.level;
        self.in_flight.push_back(std::thread::spawn(move || gzip_member(&block, level)));
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
        // An empty input still makes one (empty) member: a valid gzip file.
        if !self.block.is_empty() || self.in_flight.is_empty() {
            self.send_block()?;
        }
        while !self.in_flight.is_empty() {
            self.write_oldest()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One block as a gzip member, by libdeflate: whole-buffer compression, about twice as fast
/// as zlib at the same level for the same size, which is what the fixed blocks allow. Its
/// header has no timestamp and no name.
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
        let n = buf.len().min(GZIP_BLOCK - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == GZIP_BLOCK {
            self.send_block()?;
        }
        Ok(n)
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
        // Five blocks and a bit, of text that compresses.
        let input: Vec<u8> =
            (0..(5 * GZIP_BLOCK + 1234)).map(|i| b"wrap packages"[i % 13] ^ (i / 7919) as u8).collect();
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

    #[test]
    fn every_compressor_writes_the_same_bytes_on_one_thread_and_on_four() {
        use std::io::Read;
        // 13 MiB that compress somewhat: several gzip members, zstd jobs and xz blocks.
        let mut state = 7u32;
        let input: Vec<u8> = (0..13 << 20)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                b"wrap packages"[(state >> 28) as usize % 13]
            })
            .collect();
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
