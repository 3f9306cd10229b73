//! Dependencies computed from the bundle itself, never typed by hand: the exact Python minor it
//! was built on, the glibc floor of any manylinux wheels, and the shared libraries its compiled
//! modules need (ELF `DT_NEEDED`) that the bundle does not carry. Each package writer maps these
//! to its own names (deb.rs: dpkg packages; rpm: sonames).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pyenv::site_packages;

/// Something the bundle needs from the system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// The interpreter, by ABI (`3.11`).
    Python(String),
    /// glibc at least this version (`2.17`).
    Glibc(String),
    /// A shared library by soname, with where this machine has it.
    Library {
        /// e.g. `libssl.so.3`.
        soname: String,
        /// The file on this machine, when found.
        host_path: Option<PathBuf>,
        /// A bundle file that needs it (for messages).
        needed_by: PathBuf,
    },
}

/// What the tree at `tree` (a relocated virtualenv) needs, Python first.
pub fn scan(tree: &Path, python_abi: &str) -> Result<Vec<Requirement>> {
    let mut out = vec![Requirement::Python(python_abi.to_string())];
    if let Some(glibc) = manylinux_glibc(tree)? {
        out.push(Requirement::Glibc(glibc));
    }
    let ElfNeeds { needed, provided } = elf_needs(tree)?;
    for (soname, needed_by) in needed {
        if provided.contains(&soname) {
            continue;
        }
        out.push(Requirement::Library { host_path: find_library(&soname), soname, needed_by });
    }
    Ok(out)
}

/// The highest glibc version named by a manylinux tag in any installed wheel's WHEEL file.
fn manylinux_glibc(tree: &Path) -> Result<Option<String>> {
    let mut best: Option<String> = None;
    for site in site_packages(tree)? {
        for entry in fs_err::read_dir(&site)? {
            let wheel = entry?.path().join("WHEEL");
            let Ok(text) = fs_err::read_to_string(&wheel) else { continue };
            for tag in text.lines().filter_map(|l| l.strip_prefix("Tag:")) {
                let Some(glibc) = tag.trim().rsplit('-').next().and_then(glibc_of_platform) else { continue };
                let newer = |b: &String| match (crate::version::parse(&glibc), crate::version::parse(b)) {
                    (Some(new), Some(old)) => new > old,
                    _ => false,
                };
                if best.as_ref().is_none_or(newer) {
                    best = Some(glibc);
                }
            }
        }
    }
    Ok(best)
}

/// The glibc floor of a platform tag: `manylinux_2_17_x86_64` → 2.17, and the legacy aliases
/// (PEP 600): manylinux1 → 2.5, manylinux2010 → 2.12, manylinux2014 → 2.17.
fn glibc_of_platform(platform: &str) -> Option<String> {
    // A compressed tag set ("manylinux_2_17_x86_64.manylinux2014_x86_64") names one floor.
    let platform = platform.split('.').next()?;
    if let Some(rest) = platform.strip_prefix("manylinux_") {
        let mut parts = rest.splitn(3, '_');
        let (major, minor) = (parts.next()?, parts.next()?);
        if major.chars().all(|c| c.is_ascii_digit()) && minor.chars().all(|c| c.is_ascii_digit()) {
            return Some(format!("{major}.{minor}"));
        }
        return None;
    }
    [("manylinux1_", "2.5"), ("manylinux2010_", "2.12"), ("manylinux2014_", "2.17")]
        .iter()
        .find(|(prefix, _)| platform.starts_with(prefix))
        .map(|(_, v)| v.to_string())
}

/// What the ELF files of a tree need and carry.
struct ElfNeeds {
    /// Sonames needed, each with one file that needs it.
    needed: Vec<(String, PathBuf)>,
    /// File names and sonames of the ELF objects the tree carries (auditwheel's `.libs` copies
    /// satisfy needs).
    provided: BTreeSet<String>,
}

fn elf_needs(tree: &Path) -> Result<ElfNeeds> {
    let mut needed: Vec<(String, PathBuf)> = Vec::new();
    let mut provided = BTreeSet::new();
    for entry in walkdir::WalkDir::new(tree).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        let small = || entry.metadata().map_or(0, |m| m.len()) < 64;
        if !entry.file_type().is_file() || !may_be_loaded(tree, entry.path()) || small() {
            continue;
        }
        let mut magic = [0u8; 4];
        {
            use std::io::Read;
            let mut file = fs_err::File::open(entry.path())?;
            if file.read_exact(&mut magic).is_err() || &magic != b"\x7fELF" {
                continue;
            }
        }
        let bytes = fs_err::read(entry.path())?;
        let Ok(elf) = goblin::elf::Elf::parse(&bytes) else { continue };
        provided.insert(entry.file_name().to_string_lossy().into_owned());
        if let Some(soname) = elf.soname {
            provided.insert(soname.to_string());
        }
        let rel = entry.path().strip_prefix(tree).unwrap_or(entry.path()).to_path_buf();
        for lib in elf.libraries {
            if !needed.iter().any(|(n, _)| n == lib) {
                needed.push((lib.to_string(), rel.clone()));
            }
        }
    }
    needed.sort();
    Ok(ElfNeeds { needed, provided })
}

/// Whether the dynamic linker may ever load the file at `path` of `tree`: not bytecode, and
/// not a Python module outside `bin/` (the interpreter reads those; no process executes them).
/// They are half of a bundle's files, each opened for nothing.
fn may_be_loaded(tree: &Path, path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("pyc") => false,
        Some("py") => path.parent() == Some(&tree.join("bin")),
        _ => true,
    }
}

/// Where this machine keeps shared library `soname`.
fn find_library(soname: &str) -> Option<PathBuf> {
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    let dirs = [
        format!("/lib/{multiarch}"),
        format!("/usr/lib/{multiarch}"),
        "/lib64".to_string(),
        "/usr/lib64".to_string(),
        "/lib".to_string(),
        "/usr/lib".to_string(),
    ];
    dirs.iter().map(|d| Path::new(d).join(soname)).find(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manylinux_tags_give_glibc_floors() {
        assert_eq!(glibc_of_platform("manylinux_2_28_x86_64").as_deref(), Some("2.28"));
        assert_eq!(glibc_of_platform("manylinux2014_aarch64").as_deref(), Some("2.17"));
        assert_eq!(glibc_of_platform("manylinux1_x86_64").as_deref(), Some("2.5"));
        assert_eq!(glibc_of_platform("manylinux_2_17_x86_64.manylinux2014_x86_64").as_deref(), Some("2.17"));
        assert_eq!(glibc_of_platform("any"), None);
        assert_eq!(glibc_of_platform("musllinux_1_1_x86_64"), None);
    }

    #[test]
    fn bytecode_and_modules_outside_bin_are_not_read_for_elf_headers() {
        let tree = Path::new("/t");
        assert!(!may_be_loaded(
            tree,
            Path::new("/t/lib/python3.11/site-packages/a/__pycache__/b.cpython-311.pyc")
        ));
        assert!(!may_be_loaded(tree, Path::new("/t/lib/python3.11/site-packages/a/b.py")));
        assert!(may_be_loaded(tree, Path::new("/t/bin/jp.py")));
        assert!(may_be_loaded(
            tree,
            Path::new("/t/lib/python3.11/site-packages/a/_b.cpython-311-x86_64-linux-gnu.so")
        ));
        assert!(may_be_loaded(tree, Path::new("/t/bin/tool")));
    }

    #[test]
    fn compiled_modules_need_libraries_the_bundle_lacks() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("lib/python3.11/site-packages");
        fs_err::create_dir_all(site.join("pkg-1.0.dist-info")).unwrap();
        fs_err::write(site.join("pkg-1.0.dist-info/WHEEL"), "Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_28_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\n").unwrap();
        // A real shared object from this machine stands in for a compiled module.
        let Some(libz) = find_library("libz.so.1") else { return };
        fs_err::copy(&libz, site.join("_zmod.so")).unwrap();
        let reqs = scan(tmp.path(), "3.11").unwrap();
        assert_eq!(reqs[0], Requirement::Python("3.11".into()));
        assert_eq!(reqs[1], Requirement::Glibc("2.28".into()));
        assert!(
            reqs.iter().any(|r| matches!(r, Requirement::Library { soname, host_path: Some(_), .. } if soname == "libc.so.6")),
            "{reqs:?}"
        );
        // The bundle carrying the library itself satisfies the need.
        let Some(libc) = find_library("libc.so.6") else { return };
        fs_err::copy(libc, site.join("libc.so.6")).unwrap();
        let reqs = scan(tmp.path(), "3.11").unwrap();
        assert!(
            !reqs.iter().any(|r| matches!(r, Requirement::Library { soname, .. } if soname == "libc.so.6")),
            "{reqs:?}"
        );
    }
}
