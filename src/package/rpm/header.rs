//! RPM headers as rpm 4 reads them (lib/header.c, and the rpm crate's parser): an 8-byte magic
//! and reserved word, the index count and data size, 16-byte index entries (tag, type, offset,
//! count) sorted by tag, then the data store with each value aligned to its type. The first
//! entry is the region tag (signature or immutable) whose 16-byte trailer at the end of the
//! data repeats it with a negative offset over the whole index. Also the 96-byte lead. Written
//! here rather than by the rpm crate, whose builder holds the payload in memory (see mod.rs).

use std::collections::BTreeMap;

/// Region tag of the signature header.
pub const SIGNATURES: u32 = 62;
/// Region tag of the main header.
pub const IMMUTABLE: u32 = 63;

/// Tags of the main header.
pub mod tag {
    #![allow(missing_docs)]
    pub const I18NTABLE: u32 = 100;
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const SUMMARY: u32 = 1004;
    pub const DESCRIPTION: u32 = 1005;
    pub const BUILDTIME: u32 = 1006;
    pub const BUILDHOST: u32 = 1007;
    pub const SIZE: u32 = 1009;
    pub const VENDOR: u32 = 1011;
    pub const LICENSE: u32 = 1014;
    pub const PACKAGER: u32 = 1015;
    pub const GROUP: u32 = 1016;
    pub const URL: u32 = 1020;
    pub const OS: u32 = 1021;
    pub const ARCH: u32 = 1022;
    pub const PREIN: u32 = 1023;
    pub const POSTIN: u32 = 1024;
    pub const PREUN: u32 = 1025;
    pub const POSTUN: u32 = 1026;
    pub const FILESIZES: u32 = 1028;
    pub const FILEMODES: u32 = 1030;
    pub const FILERDEVS: u32 = 1033;
    pub const FILEMTIMES: u32 = 1034;
    pub const FILEDIGESTS: u32 = 1035;
    pub const FILELINKTOS: u32 = 1036;
    pub const FILEFLAGS: u32 = 1037;
    pub const FILEUSERNAME: u32 = 1039;
    pub const FILEGROUPNAME: u32 = 1040;
    pub const SOURCERPM: u32 = 1044;
    pub const FILEVERIFYFLAGS: u32 = 1045;
    pub const PROVIDENAME: u32 = 1047;
    pub const REQUIREFLAGS: u32 = 1048;
    pub const REQUIRENAME: u32 = 1049;
    pub const REQUIREVERSION: u32 = 1050;
    pub const CONFLICTFLAGS: u32 = 1053;
    pub const CONFLICTNAME: u32 = 1054;
    pub const CONFLICTVERSION: u32 = 1055;
    pub const RPMVERSION: u32 = 1064;
    pub const CHANGELOGTIME: u32 = 1080;
    pub const CHANGELOGNAME: u32 = 1081;
    pub const CHANGELOGTEXT: u32 = 1082;
    pub const PREINPROG: u32 = 1085;
    pub const POSTINPROG: u32 = 1086;
    pub const PREUNPROG: u32 = 1087;
    pub const POSTUNPROG: u32 = 1088;
    pub const OBSOLETENAME: u32 = 1090;
    pub const FILEDEVICES: u32 = 1095;
    pub const FILEINODES: u32 = 1096;
    pub const FILELANGS: u32 = 1097;
    pub const PROVIDEFLAGS: u32 = 1112;
    pub const PROVIDEVERSION: u32 = 1113;
    pub const OBSOLETEFLAGS: u32 = 1114;
    pub const OBSOLETEVERSION: u32 = 1115;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const PAYLOADFORMAT: u32 = 1124;
    pub const PAYLOADCOMPRESSOR: u32 = 1125;
    pub const PAYLOADFLAGS: u32 = 1126;
    pub const LONGSIZE: u32 = 5009;
    pub const FILEDIGESTALGO: u32 = 5011;
    pub const RECOMMENDNAME: u32 = 5046;
    pub const RECOMMENDVERSION: u32 = 5047;
    pub const RECOMMENDFLAGS: u32 = 5048;
    pub const SUGGESTNAME: u32 = 5049;
    pub const SUGGESTVERSION: u32 = 5050;
    pub const SUGGESTFLAGS: u32 = 5051;
    pub const ENCODING: u32 = 5062;
    pub const PAYLOADDIGEST: u32 = 5092;
    pub const PAYLOADDIGESTALGO: u32 = 5093;
}

/// Tags of the signature header.
pub mod sigtag {
    #![allow(missing_docs)]
    /// A DSA, ECDSA or EdDSA signature of the main header.
    pub const DSA: u32 = 267;
    /// An RSA signature of the main header.
    pub const RSA: u32 = 268;
    pub const LONGSIZE: u32 = 270;
    pub const LONGARCHIVESIZE: u32 = 271;
    /// SHA-256 of the main header, hex.
    pub const SHA256: u32 = 273;
    /// Main header plus compressed payload, bytes.
    pub const SIZE: u32 = 1000;
    /// Uncompressed payload, bytes.
    pub const PAYLOADSIZE: u32 = 1007;
}

/// Hash algorithm number of SHA-256 (OpenPGP's, which rpm uses).
pub const SHA256_ALGO: u32 = 8;

/// A header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// INT16 array.
    Int16(Vec<u16>),
    /// INT32 array.
    Int32(Vec<u32>),
    /// INT64 array.
    Int64(Vec<u64>),
    /// One string.
    Str(String),
    /// Bytes.
    Bin(Vec<u8>),
    /// String array.
    StrArray(Vec<String>),
    /// A translatable string (one locale, "C").
    I18n(String),
}

impl Value {
    /// rpm's type number, alignment and count.
    fn shape(&self) -> (u32, usize, usize) {
        match self {
            Value::Int16(v) => (3, 2, v.len()),
            Value::Int32(v) => (4, 4, v.len()),
            Value::Int64(v) => (5, 8, v.len()),
            Value::Str(_) => (6, 1, 1),
            Value::Bin(v) => (7, 1, v.len()),
            Value::StrArray(v) => (8, 1, v.len()),
            Value::I18n(_) => (9, 1, 1),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        // A NUL would end a string early and shift every value after it: none is written
        // (the model's texts hold none; this keeps a stray one from corrupting the header).
        let strings = |out: &mut Vec<u8>, items: &mut dyn Iterator<Item = &String>| {
            for s in items {
                out.extend(s.bytes().filter(|b| *b != 0));
                out.push(0);
            }
        };
        match self {
            Value::Int16(v) => v.iter().for_each(|n| out.extend_from_slice(&n.to_be_bytes())),
            Value::Int32(v) => v.iter().for_each(|n| out.extend_from_slice(&n.to_be_bytes())),
            Value::Int64(v) => v.iter().for_each(|n| out.extend_from_slice(&n.to_be_bytes())),
            Value::Str(s) | Value::I18n(s) => strings(out, &mut std::iter::once(s)),
            Value::Bin(b) => out.extend_from_slice(b),
            Value::StrArray(v) => strings(out, &mut v.iter()),
        }
    }
}

/// A header under construction: one value per tag.
#[derive(Debug, Default, Clone)]
pub struct Header {
    entries: BTreeMap<u32, Value>,
}

/// The 8 bytes every header starts with: magic, version 1, four reserved bytes.
const MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];

impl Header {
    /// Sets `tag` to `value` (strings lose any NUL byte).
    pub fn set(&mut self, tag: u32, value: Value) {
        self.entries.insert(tag, value);
    }

    /// Sets `tag` unless `values` is empty (rpm wants no empty arrays).
    pub fn set_array(&mut self, tag: u32, value: Value) {
        if value.shape().2 > 0 {
            self.set(tag, value);
        }
    }

    /// The encoded header with region tag `region` (`SIGNATURES` or `IMMUTABLE`).
    pub fn encode(&self, region: u32) -> Vec<u8> {
        let count = self.entries.len() + 1;
        let mut index = Vec::with_capacity(count * 16);
        let mut data = Vec::new();
        let entry = |index: &mut Vec<u8>, tag: u32, kind: u32, offset: i32, n: usize| {
            for word in [tag, kind, offset as u32, n as u32] {
                index.extend_from_slice(&word.to_be_bytes());
            }
        };
        // The region's own entry comes first (its tag is the lowest); its offset points at the
        // trailer, written after every value.
        let mut values = Vec::new();
        for (tag, value) in &self.entries {
            let (kind, align, n) = value.shape();
            while data.len() % align != 0 {
                data.push(0);
            }
            let offset = data.len() as i32;
            value.write(&mut data);
            values.push((*tag, kind, offset, n));
        }
        let trailer_offset = data.len() as i32;
        entry(&mut index, region, 7, trailer_offset, 16);
        for (tag, kind, offset, n) in values {
            entry(&mut index, tag, kind, offset, n);
        }
        let mut trailer = Vec::new();
        entry(&mut trailer, region, 7, -((count * 16) as i32), 16);
        data.extend_from_slice(&trailer);
        let mut out = Vec::with_capacity(16 + index.len() + data.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&(count as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&data);
        out
    }
}

/// The 96-byte lead: magic, format 3.0, binary, the architecture's number, the package's
/// name-version-release (at most 65 bytes), Linux, header-style signature.
pub fn lead(nvr: &str, arch: &str) -> [u8; 96] {
    let mut out = [0u8; 96];
    out[..4].copy_from_slice(&[0xed, 0xab, 0xee, 0xdb]);
    out[4] = 3;
    let archnum: u16 = match arch {
        "x86_64" | "i386" | "i586" | "i686" => 1,
        "aarch64" => 19,
        "ppc64le" | "ppc64" => 16,
        "s390x" => 15,
        _ => 0,
    };
    out[8..10].copy_from_slice(&archnum.to_be_bytes());
    let name = &nvr.as_bytes()[..nvr.len().min(65)];
    out[10..10 + name.len()].copy_from_slice(name);
    out[76..78].copy_from_slice(&1u16.to_be_bytes());
    out[78..80].copy_from_slice(&5u16.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_align_values_and_close_the_region() {
        let mut h = Header::default();
        h.set(tag::NAME, Value::Str("a".into()));
        h.set(tag::FILEMODES, Value::Int16(vec![0o100644]));
        h.set(tag::FILESIZES, Value::Int32(vec![7]));
        h.set(tag::LONGSIZE, Value::Int64(vec![1]));
        h.set_array(tag::BASENAMES, Value::StrArray(vec![]));
        let bytes = h.encode(IMMUTABLE);
        assert_eq!(bytes[..8], MAGIC);
        let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(word(8), 5, "four values and the region");
        let data = 16 + 5 * 16;
        assert_eq!(word(12) as usize, bytes.len() - data);
        // Index sorted by tag, the region first: 63, 1000 (name), 1028 (sizes), 1030, 5009.
        let tags: Vec<u32> = (0..5).map(|i| word(16 + i * 16)).collect();
        assert_eq!(tags, [63, 1000, 1028, 1030, 5009]);
        // name "a\0" at 0, INT32 aligned to 4, INT16 at 8, INT64 aligned to 16.
        let offsets: Vec<u32> = (0..5).map(|i| word(16 + i * 16 + 8)).collect();
        assert_eq!(offsets[1..], [0, 4, 8, 16]);
        // The trailer repeats the region with the index's negative length.
        let trailer = data + offsets[0] as usize;
        assert_eq!(word(trailer), 63);
        assert_eq!(word(trailer + 8) as i32, -(5 * 16));
        assert_eq!(trailer + 16, bytes.len());
    }
}
