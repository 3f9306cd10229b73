//! Facts about Python environments that several stages need: PEP 503 name normalization, the
//! site-packages directories of a virtualenv, and the RECORD files of installed distributions
//! (read with the `csv` crate: RECORD is CSV, and paths may hold commas and quotes). A bottom
//! module: it imports nothing of wrap's above it.

use std::path::{Path, PathBuf};

/// PEP 503 normalized name: lowercase, runs of `-_.` as one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if "-_.".contains(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `lib/pythonX.Y/site-packages` directories of a venv, sorted.
pub fn site_packages(venv: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs_err::read_dir(venv.join("lib"))? {
        let site = entry?.path().join("site-packages");
        if site.is_dir() {
            out.push(site);
        }
    }
    out.sort();
    Ok(out)
}

/// One row of a RECORD file: a path relative to site-packages, its hash and its size (both
/// empty for RECORD itself and for files written after installation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    /// Path relative to site-packages (`../../../bin/x` for scripts).
    pub path: String,
    /// `sha256=<urlsafe base64>`, or empty.
    pub hash: String,
    /// Size in bytes, or empty.
    pub size: String,
}

/// Parses RECORD `bytes`.
pub fn read_record(bytes: &[u8]) -> Result<Vec<RecordRow>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        if !field(0).is_empty() {
            rows.push(RecordRow { path: field(0), hash: field(1), size: field(2) });
        }
    }
    Ok(rows)
}

/// RECORD text of `rows`, as installers write it (CSV, `\n` line ends).
pub fn write_record(rows: &[RecordRow]) -> Vec<u8> {
    let mut writer =
        csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    for row in rows {
        writer.write_record([&row.path, &row.hash, &row.size]).expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize() {
        assert_eq!(normalize("Oslo.Config"), "oslo-config");
        assert_eq!(normalize("python_openstackclient"), "python-openstackclient");
        assert_eq!(normalize("a-_.b"), "a-b");
    }

    #[test]
    fn records_round_trip_with_quoted_paths() {
        let text = b"pkg/__init__.py,sha256=abc,3\n\"pkg/a,b.py\",sha256=def,4\npkg-1.0.dist-info/RECORD,,\n";
        let rows = read_record(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].path, "pkg/a,b.py");
        assert_eq!(rows[2].hash, "");
        assert_eq!(write_record(&rows), text);
    }
}
