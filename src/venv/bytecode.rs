//! Bytecode: compiles a relocated tree as its target will see it, with every pyc kept in the
//! cache under a digest of its source, recorded path and interpreter, so that a rebuild compiles
//! only what changed. Receives a relocated tree; hands on the same tree with `__pycache__`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::fs::replace_file;
use crate::host::on_every_core;
use crate::venv::installer::run_captured_with_input;
use crate::venv::python::Interpreter;
use crate::venv::relocate::Target;

/// Byte-compiles the relocated tree `out` as the target will see it: source paths recorded as
/// the install path (fixed) or relative to the bundle (relocatable). Checked-hash pycs are
/// reproducible, and Python compiles a source again when it no longer matches its pyc.
/// A pyc depends only on its source, the path recorded in it and the interpreter, so pycs are
/// kept in the cache under a digest of the three ([`Cache::pyc_path`]) and copied from there:
/// a rebuild compiles only what changed. The rest is compiled by one compileall per core, each
/// given its share of the files (balanced by size) on stdin, and then added to the cache.
pub fn compile(
    project: &str,
    out: &Path,
    target: Target<'_>,
    python: &Interpreter,
    cache: &Cache,
) -> Result<()> {
    crate::time::timed(project, "byte-compiled", || compile_tree(out, target, python, cache))
}

/// How the pycs are checked against their source; part of every cached pyc's key.
const INVALIDATION: &str = "checked-hash";

fn compile_tree(out: &Path, target: Target<'_>, python: &Interpreter, cache: &Cache) -> Result<()> {
    let tag = format!("cpython-{}", python.abi.replace('.', ""));
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(out.join("lib")).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "py") {
            all.push(entry.into_path());
        }
    }
    // Each source: `None` when its pyc came from the cache, else what compiling it takes.
    let lookups = on_every_core(&all, |path| -> Result<Option<(u64, PathBuf, PathBuf, PathBuf)>> {
        crate::interrupt::check()?;
        let source = fs_err::read(path)?;
        let rel = path.strip_prefix(out).expect("below the tree").to_string_lossy();
        let recorded = match target {
            Target::Fixed(install) => format!("{install}/{rel}"),
            Target::Relocatable => rel.into_owned(),
        };
        let mut hasher = Sha256::new();
        hasher.update(format!("{}\0{}\0{INVALIDATION}\0{recorded}\0", python.version, python.abi).as_bytes());
        hasher.update(&source);
        let key = crate::digest::hex(hasher.finalize());
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let pyc =
            path.parent().expect("in a directory").join("__pycache__").join(format!("{stem}.{tag}.pyc"));
        let entry = cache.pyc_path(&key);
        let Some(bytes) = crate::fs::read_checked(&entry) else {
            return Ok(Some((source.len() as u64, path.clone(), pyc, entry)));
        };
        fs_err::create_dir_all(pyc.parent().expect("in __pycache__"))?;
        replace_file(&pyc, &bytes)?;
        // As compileall writes it: never executable (it masks the source's mode with 0o666).
        fs_err::set_permissions(&pyc, std::fs::Permissions::from_mode(0o644))?;
        crate::fs::touch(&entry);
        Ok(None)
    })?;
    let reused = lookups.iter().filter(|l| l.is_none()).count();
    let mut sources: Vec<(u64, PathBuf)> = Vec::new();
    let mut compiled: Vec<(PathBuf, PathBuf)> = Vec::new(); // (pyc in the tree, cache entry)
    for (size, path, pyc, entry) in lookups.into_iter().flatten() {
        sources.push((size, path));
        compiled.push((pyc, entry));
    }
    tracing::debug!(reused, compiling = sources.len(), "bytecode from the cache");
    if sources.is_empty() {
        return Ok(());
    }
    let workers = crate::host::cores().min(sources.len());
    let mut shares: Vec<(u64, Vec<u8>)> = vec![(0, Vec::new()); workers];
    sources.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (size, path) in sources {
        let least = shares.iter_mut().min_by_key(|(load, _)| *load).expect("at least one share");
        least.0 += size;
        least.1.extend_from_slice(path.as_os_str().as_encoded_bytes());
        least.1.push(b'\n');
    }
    // One share per core, so each compileall runs on a core of its own.
    on_every_core(&shares, |(_, list)| {
        let mut cmd = Command::new(&python.path);
        cmd.args(["-I", "-m", "compileall", "-q", "--invalidation-mode", INVALIDATION, "-s"])
            .arg(out)
            .env("SOURCE_DATE_EPOCH", "0")
            .env_remove("PYTHONPATH");
        if let Target::Fixed(path) = target {
            cmd.args(["-p", path]);
        }
        cmd.args(["-i", "-"]);
        run_captured_with_input(&mut cmd, list.clone())
    })?;
    on_every_core(&compiled, |(pyc, entry)| match std::fs::read(pyc) {
        Ok(bytes) => crate::fs::write_checked(entry, &bytes),
        // A source compileall skipped (it never does, short of a race) simply stays uncached.
        Err(_) => Ok(()),
    })?;
    Ok(())
}
