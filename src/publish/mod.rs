//! `wrap publish`: adds built packages to a signed repository that hosts install from. The
//! apt repository is written by apt.rs; a dnf/yum repository (repodata) is not written yet, so
//! .rpm files are left out with a warning. One publish at a time per repository (a file lock);
//! every file is renamed into place, the signed index last.

pub mod apt;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cache::lock::{FileLock, Kind};
use crate::error::{Error, Result};
use crate::signing::Signer;

/// What `wrap publish` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// The repository's root (absolute).
    pub repo: PathBuf,
    /// The apt suite.
    pub suite: String,
    /// The apt component.
    pub component: String,
    /// Keep the newest N versions of each package.
    pub keep: Option<usize>,
    /// SOURCE_DATE_EPOCH, for the Release's date.
    pub date: Option<i64>,
}

/// What a publish did, and how clients use the repository.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The repository.
    pub repo: PathBuf,
    /// The apt part.
    pub apt: apt::Outcome,
    /// .rpm files left out (no dnf repository yet).
    pub skipped: Vec<PathBuf>,
    /// The public key, binary, for apt's `Signed-By`.
    pub keyring: PathBuf,
    /// The public key, armored.
    pub key: PathBuf,
    /// A deb822 sources entry for clients.
    pub sources: String,
}

/// The .deb and .rpm files of `paths` (directories are searched, sorted).
fn packages(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut debs, mut rpms) = (Vec::new(), Vec::new());
    for path in paths {
        let files: Vec<PathBuf> = if path.is_dir() {
            walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .flatten()
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .collect()
        } else {
            fs_err::metadata(path)?;
            vec![path.clone()]
        };
        for file in files {
            match file.extension().and_then(|e| e.to_str()) {
                Some("deb") => debs.push(file),
                Some("rpm") => rpms.push(file),
                _ if !path.is_dir() => {
                    return Err(Error::Io(std::io::Error::other(format!(
                        "`{}` is neither a .deb nor an .rpm",
                        file.display()
                    ))));
                }
                _ => {}
            }
        }
    }
    Ok((debs, rpms))
}

/// Publishes the packages of `paths` into `options.repo`, signed by `signer`.
pub fn publish(paths: &[PathBuf], options: &Options, signer: &Signer) -> Result<Published> {
    // Suite and component become directories of the repository: plain names only.
    for (what, value) in [("suite", &options.suite), ("component", &options.component)] {
        let plain = !value.is_empty()
            && value.len() <= 100
            && !value.starts_with('.')
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !plain {
            return Err(Error::Repository {
                repo: options.repo.clone(),
                problem: format!("the {what} `{}` is not a plain name", crate::error::printable(value)),
                hint: Some(format!("a {what} is letters, digits and `. _ -`, such as `stable` or `main`")),
            });
        }
    }
    let (debs, skipped) = packages(paths)?;
    fs_err::create_dir_all(options.repo.join(".wrap"))?;
    let _lock = FileLock::acquire(&options.repo.join(".wrap/lock"), Kind::Exclusive, || {
        tracing::info!("waiting for another publish into {}", options.repo.display());
    })?;
    let keyring = options.repo.join("wrap-archive-keyring.gpg");
    let key = options.repo.join("wrap-archive-keyring.asc");
    crate::fs::write_atomically(&keyring, &signer.public_key_binary()?)?;
    crate::fs::write_atomically(&key, signer.public_key_armored()?.as_bytes())?;
    let target = apt::Target {
        repo: &options.repo,
        suite: &options.suite,
        component: &options.component,
        keep: options.keep,
        date: options.date,
    };
    let apt = apt::publish(&debs, &target, signer)?;
    Ok(Published {
        repo: options.repo.clone(),
        apt,
        skipped,
        sources: sources(&options.repo, &options.suite, &options.component, &keyring),
        keyring,
        key,
    })
}

/// The deb822 sources entry of the repository at `repo`, read from the file system.
fn sources(repo: &Path, suite: &str, component: &str, keyring: &Path) -> String {
    format!(
        "Types: deb\nURIs: file:{}\nSuites: {suite}\nComponents: {component}\nSigned-By: {}\n",
        repo.display(),
        keyring.display()
    )
}
