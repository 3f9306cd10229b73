//! Bytecode on the remote: the pycs of one group of sources (a top-level package or module of
//! site-packages, or one directory elsewhere) packed into one object, so that a runner with an
//! empty cache fetches a distribution's pycs in one request instead of compiling them.
//!
//! A pack is named by a digest of the cache keys of every source in its group (each key is
//! itself a digest of the interpreter, the recorded path and the source): the same sources
//! installed at the same path give the same name, and any change gives another. A pyc is code
//! that runs on the target, so a pack is trusted exactly as a record is: signed with the
//! remote's secret when one is set, and refused unless its signature matches.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{Remote, RemoteFailure};

/// The first line of every pack: format, group, the sha256 of the rest and its signature (`-`
/// when unsigned).
const MAGIC: &str = "wrap pycs 1";

/// The largest pyc a pack may hold (CPython's biggest stdlib pycs are under 1 MB).
const MAX_PYC: usize = 64 << 20;

/// The name of the pack holding the pycs of the sources with cache keys `keys`.
pub fn group_key(keys: &[&str]) -> String {
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hasher = Sha256::new();
    hasher.update(format!("{MAGIC}\0").as_bytes());
    for key in sorted {
        hasher.update(key.as_bytes());
        hasher.update(b"\n");
    }
    crate::digest::hex(hasher.finalize())
}

fn pack_path(group: &str) -> String {
    format!("pycs/{group}")
}

/// The entries as a pack's body: `<key> <length>\n<bytes>` each, sorted by key.
fn body(entries: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, bytes) in entries {
        out.extend_from_slice(format!("{key} {}\n", bytes.len()).as_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// The entries of a pack's body; `None` when it is not one wrap wrote.
fn parse(mut rest: &[u8]) -> Option<BTreeMap<String, Vec<u8>>> {
    let mut entries = BTreeMap::new();
    while !rest.is_empty() {
        let end = rest.iter().position(|b| *b == b'\n')?;
        let line = std::str::from_utf8(&rest[..end]).ok()?;
        let (key, length) = line.split_once(' ')?;
        let length: usize = length.parse().ok()?;
        let valid = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) && length <= MAX_PYC;
        if !valid || rest.len() < end + 1 + length {
            return None;
        }
        entries.insert(key.to_string(), rest[end + 1..end + 1 + length].to_vec());
        rest = &rest[end + 1 + length..];
    }
    Some(entries)
}

impl Remote {
    /// The pack `group`: its entries by cache key, `Ok(Err(why))` when it is refused (damaged,
    /// about another group, unsigned or badly signed while a secret is set).
    #[allow(clippy::type_complexity)]
    pub fn pycs(
        &self,
        group: &str,
    ) -> Result<Result<Option<BTreeMap<String, Vec<u8>>>, String>, RemoteFailure> {
        let Some(bytes) = self.get(&pack_path(group))? else { return Ok(Ok(None)) };
        Ok(self.read_pack(group, &bytes).map(Some))
    }

    /// The entries of the pack `bytes`, checked: about `group`, whole, signed when a secret is set.
    fn read_pack(&self, group: &str, bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
        let body = self.unseal(MAGIC, group, "bytecode pack", bytes)?;
        parse(body).ok_or_else(|| format!("its bytecode pack {} is damaged", &group[..12]))
    }

    /// Uploads the pack `group` of `entries` (pycs by cache key); one already there is kept
    /// unless `replace` (it was refused).
    pub fn put_pycs(
        &self,
        group: &str,
        entries: &BTreeMap<String, Vec<u8>>,
        replace: bool,
    ) -> Result<(), RemoteFailure> {
        self.put(&pack_path(group), self.seal(MAGIC, group, &body(entries)), !replace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_read_back_and_damage_is_refused() {
        let entries = BTreeMap::from([("a".repeat(64), b"pyc\none".to_vec()), ("b".repeat(64), Vec::new())]);
        let bytes = body(&entries);
        assert_eq!(parse(&bytes), Some(entries));
        assert_eq!(parse(&bytes[..bytes.len() - 3]), None, "truncated");
        assert_eq!(parse(b"xyz 3\nabc"), None, "not a key");
        assert_eq!(group_key(&["b", "a"]), group_key(&["a", "b", "a"]));
        assert_ne!(group_key(&["a"]), group_key(&["a", "b"]));
    }

    #[test]
    fn a_pack_reads_back_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let remote = Remote::open(&format!("file://{}", dir.path().display()), false).unwrap();
        let entries = BTreeMap::from([("c".repeat(64), b"\xa7\x0d\x0d\x0a code".to_vec())]);
        let group = group_key(&["c".repeat(64).as_str()]);
        assert_eq!(remote.pycs(&group).unwrap(), Ok(None));
        remote.put_pycs(&group, &entries, false).unwrap();
        assert_eq!(remote.pycs(&group).unwrap(), Ok(Some(entries.clone())));
        let path = dir.path().join("pycs").join(&group);
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(remote.pycs(&group).unwrap().unwrap_err().contains("is damaged"));
        assert!(remote.read_pack(&"d".repeat(64), &bytes).unwrap_err().contains("another object"));
        assert!(remote.read_pack(&group, b"no newline").unwrap_err().contains("not one wrap wrote"));
        // A refused pack is replaced; a sound one is kept.
        remote.put_pycs(&group, &entries, true).unwrap();
        assert_eq!(remote.pycs(&group).unwrap(), Ok(Some(entries)));
    }
}
