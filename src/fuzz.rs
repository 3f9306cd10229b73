//! Harnesses for fuzzing (`fuzz/`, cargo-fuzz) and for replaying the seeds and past findings in
//! `cargo test`: each takes arbitrary bytes and must return, never panic, whatever they are.

use std::io::Write;
use std::path::Path;

/// Parses `data` as a manifest and as a lock file.
pub fn manifest(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let dir = Path::new("/nonexistent/wrap-fuzz");
    if let Ok(manifest) = crate::manifest::Manifest::parse(Path::new("wrap.toml"), dir, &text) {
        // What the plan derives from it must not panic either.
        let lock = crate::lock::Lock::new();
        let _ = crate::plan::plan(&manifest, &lock, &crate::plan::PlanInputs::default());
    }
    let _ = crate::lock::Lock::parse(Path::new("wrap.lock"), &text);
}

/// Inspects `data` as an artifact file (.deb, .rpm or .tar.gz, told apart by their magic).
pub fn inspect(data: &[u8]) {
    let Ok(mut file) = tempfile::Builder::new().prefix("wrap-fuzz-").tempfile() else { return };
    if file.write_all(data).and_then(|()| file.flush()).is_ok() {
        let _ = crate::package::inspect::inspect(file.path());
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every seed and every input a fuzzer once crashed on (fuzz/seeds/<target>/) still parses
    /// without a panic.
    #[test]
    fn seeds_and_past_findings_replay() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        let mut replayed = 0;
        for (target, harness) in [("manifest", super::manifest as fn(&[u8])), ("inspect", super::inspect)] {
            for entry in std::fs::read_dir(root.join(target)).unwrap() {
                harness(&std::fs::read(entry.unwrap().path()).unwrap());
                replayed += 1;
            }
        }
        assert!(replayed >= 6, "only {replayed} seeds");
    }
}
