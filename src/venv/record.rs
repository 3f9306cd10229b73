//! RECORD files after relocation: the entries of files whose content relocation rewrote get
//! their new digest and size, those of files left out go (PEP 376/627). The RECORD is written as
//! a new file: relocated trees hard-link the staged venv's files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fs::replace_file;
use crate::venv::build::{normalize_path, site_packages};

/// Updates the RECORD entries of files whose content changed (`path,sha256=<b64>,<size>`) and
/// drops those of files left out.
pub fn update_records(out: &Path, rewritten: &BTreeMap<PathBuf, Option<Vec<u8>>>) -> Result<()> {
    if rewritten.is_empty() {
        return Ok(());
    }
    for site in site_packages(out)? {
        let site_rel = site.strip_prefix(out).expect("below the tree").to_path_buf();
        for entry in fs_err::read_dir(&site)? {
            let record = entry?.path().join("RECORD");
            if !record.is_file() {
                continue;
            }
            let bytes = fs_err::read(&record)?;
            let rows = crate::pyenv::read_record(&bytes).map_err(|e| {
                Error::Io(std::io::Error::other(format!("{}: not a valid RECORD: {e}", record.display())))
            })?;
            let mut changed = false;
            let mut new = Vec::with_capacity(rows.len());
            for mut row in rows {
                let tree_rel = normalize_path(&site_rel.join(&row.path));
                match rewritten.get(&tree_rel) {
                    None => new.push(row),
                    Some(None) => changed = true,
                    Some(Some(content)) => {
                        let digest =
                            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(content));
                        row.hash = format!("sha256={digest}");
                        row.size = content.len().to_string();
                        changed = true;
                        new.push(row);
                    }
                }
            }
            if changed {
                replace_file(&record, &crate::pyenv::write_record(&new))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_rewritten_and_dropped_files() {
        let tmp = tempfile::tempdir().unwrap();
        let info = tmp.path().join("lib/python3.11/site-packages/hello-1.0.dist-info");
        fs_err::create_dir_all(&info).unwrap();
        // As relocation leaves it: a hard link to the staged venv's RECORD.
        let staged = "../../../bin/hello,sha256=old,10\nhello/__init__.py,sha256=keep,3\nhello-1.0.dist-info/uv_cache.json,sha256=x,5\nhello-1.0.dist-info/RECORD,,\n";
        fs_err::write(tmp.path().join("staged-RECORD"), staged).unwrap();
        fs_err::hard_link(tmp.path().join("staged-RECORD"), info.join("RECORD")).unwrap();
        let mut changes = BTreeMap::new();
        changes.insert(PathBuf::from("bin/hello"), Some(b"new".to_vec()));
        changes.insert(PathBuf::from("lib/python3.11/site-packages/hello-1.0.dist-info/uv_cache.json"), None);
        update_records(tmp.path(), &changes).unwrap();
        assert_eq!(
            fs_err::read_to_string(info.join("RECORD")).unwrap(),
            "../../../bin/hello,sha256=EVB6Di9eadXfpApiob17buV-a82FxnybhDGzb_8hxDc,3\nhello/__init__.py,sha256=keep,3\nhello-1.0.dist-info/RECORD,,\n"
        );
        assert_eq!(
            fs_err::read_to_string(tmp.path().join("staged-RECORD")).unwrap(),
            staged,
            "written through"
        );
    }
}
