//! `wrap publish`: adds built packages to signed repositories that hosts install from: the .deb
//! files to an apt repository (apt.rs), the .rpm files to a dnf/yum repository (dnf.rs), both
//! under one directory with one key. One publish at a time per repository (a file lock); every
//! file is renamed into place, the signed index last.

pub mod apt;
pub mod dnf;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::lock::{FileLock, Kind};
use crate::error::{Error, Result};
use crate::signing::Signer;

/// What `wrap publish` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// The repository's root (absolute).
    pub repo: PathBuf,
    /// The suite: apt's suite and codename, and the dnf repository's first directory.
    pub suite: String,
    /// The component: apt's, and the dnf repository's second directory.
    pub component: String,
    /// Keep the newest N versions of each package.
    pub keep: Option<usize>,
    /// Replace a package already published under the same file name with other bytes.
    pub replace: bool,
    /// SOURCE_DATE_EPOCH, for the indexes' dates.
    pub date: Option<i64>,
}

/// What a publish did, and how clients use the repository.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Published {
    /// The repository.
    pub repo: PathBuf,
    /// The apt part, when the repository has one.
    pub apt: Option<Outcome>,
    /// The dnf part, when the repository has one.
    pub dnf: Option<Outcome>,
    /// The public key, binary, for apt's `Signed-By`.
    pub keyring: PathBuf,
    /// The public key, armored (also `RPM-GPG-KEY-wrap`, for dnf's `gpgkey`).
    pub key: PathBuf,
    /// A deb822 sources entry for apt clients, when there is an apt part.
    pub sources: Option<String>,
    /// A .repo section for dnf clients, when there is a dnf part.
    pub repo_file: Option<String>,
}

/// What a publish did to one repository (apt or dnf).
#[derive(Debug, Default, Clone, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    /// Packages added (repository paths).
    pub added: Vec<String>,
    /// Packages already there with the same bytes.
    pub unchanged: Vec<String>,
    /// Packages that were there with other bytes, replaced (`--replace`).
    pub replaced: Vec<String>,
    /// Packages removed by retention.
    pub removed: Vec<String>,
}

/// Where and how to publish, for apt.rs and dnf.rs.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The repository's root.
    pub repo: &'a Path,
    /// The suite: `stable`.
    pub suite: &'a str,
    /// The component: `main`.
    pub component: &'a str,
    /// Keep the newest N versions of each package and architecture.
    pub keep: Option<usize>,
    /// Replace a file already published with other bytes.
    pub replace: bool,
    /// The indexes' date (seconds), when fixed (SOURCE_DATE_EPOCH); else the newest package's.
    pub date: Option<i64>,
}

impl Target<'_> {
    /// Where the state of `kind` (`apt`, `dnf`) for this suite and component is kept.
    fn state_file(&self, kind: &str) -> PathBuf {
        self.repo.join(".wrap").join(kind).join(self.suite).join(format!("{}.json", self.component))
    }
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

/// Refuses what would make a wrong repository before anything is written: a suite or component
/// that is not a plain name (they become directories), a directory that holds files but is not
/// a wrap repository.
fn check(options: &Options) -> Result<()> {
    let refuse = |problem: String, hint: &str| Error::Repository {
        repo: options.repo.clone(),
        problem,
        hint: Some(hint.into()),
    };
    for (what, value) in [("suite", &options.suite), ("component", &options.component)] {
        let plain = !value.is_empty()
            && value.len() <= 100
            && !value.starts_with('.')
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !plain {
            return Err(refuse(
                format!("the {what} `{}` is not a plain name", crate::error::printable(value)),
                &format!("a {what} is letters, digits and `. _ -`, such as `stable` or `main`"),
            ));
        }
    }
    let occupied = fs_err::read_dir(&options.repo).map(|mut d| d.next().is_some()).unwrap_or(false);
    if occupied && !options.repo.join(".wrap").is_dir() {
        return Err(refuse(
            "it holds files but is not a repository wrap publishes (it has no .wrap directory)".into(),
            "publish into a new directory, or into one an earlier `wrap publish` made",
        ));
    }
    Ok(())
}

/// Publishes the packages of `paths` into `options.repo`, signed by `signer`. Every package is
/// read and checked, and every refusal made, before anything is written.
pub fn publish(paths: &[PathBuf], options: &Options, signer: &Signer) -> Result<Published> {
    check(options)?;
    let (debs, rpms) = packages(paths)?;
    if debs.is_empty() && rpms.is_empty() {
        return Err(Error::Repository {
            repo: options.repo.clone(),
            problem: "there is no .deb or .rpm to publish in the paths given".into(),
            hint: Some("build first (`wrap build`), or name the packages or their directory".into()),
        });
    }
    let target = Target {
        repo: &options.repo,
        suite: &options.suite,
        component: &options.component,
        keep: options.keep,
        replace: options.replace,
        date: options.date,
    };
    let debs = debs.into_iter().map(|d| Ok((apt::entry(&d, target.component)?, d))).collect::<Result<_>>()?;
    let rpms =
        rpms.into_iter().map(|r| Ok((dnf::entry(&r, &options.repo, signer)?, r))).collect::<Result<_>>()?;
    fs_err::create_dir_all(options.repo.join(".wrap"))?;
    let _lock = FileLock::acquire(&options.repo.join(".wrap/lock"), Kind::Exclusive, || {
        tracing::info!("waiting for another publish into {}", options.repo.display());
    })?;
    // A part is written when packages come for it, or when it exists (retention applies).
    let apt = stage(&target, "apt", debs)?;
    let dnf = stage(&target, "dnf", rpms)?;
    let keyring = options.repo.join("wrap-archive-keyring.gpg");
    let key = options.repo.join("wrap-archive-keyring.asc");
    let armored = signer.public_key_armored()?;
    crate::fs::write_atomically(&keyring, &signer.public_key_binary()?)?;
    crate::fs::write_atomically(&key, armored.as_bytes())?;
    let apt = apt.map(|staged| apt::publish(staged, &target, signer)).transpose()?;
    let dnf = dnf
        .map(|staged| {
            crate::fs::write_atomically(&options.repo.join(dnf::KEY_FILE), armored.as_bytes())?;
            dnf::publish(staged, &target, signer)
        })
        .transpose()?;
    Ok(Published {
        repo: options.repo.clone(),
        sources: apt.is_some().then(|| apt::sources(&target, &keyring)),
        repo_file: dnf.is_some().then(|| dnf::repo_file(&target)),
        apt,
        dnf,
        keyring,
        key,
    })
}

/// A package entry of a part: its path in the part, and its digest.
trait Package: Serialize + DeserializeOwned {
    fn path(&self) -> &str;
    fn sha256(&self) -> &str;
}

/// A part's state, with the packages coming in and how each relates to what is there.
struct Staged<E> {
    state_file: PathBuf,
    state: State<E>,
    incoming: Vec<(E, PathBuf, Arrival)>,
}

/// Loads the state of part `kind` and decides every arrival (refusing other bytes under a path
/// already there or coming twice); `None` when the part neither exists nor gets packages.
fn stage<E: Package>(target: &Target, kind: &str, incoming: Vec<(E, PathBuf)>) -> Result<Option<Staged<E>>> {
    let state_file = target.state_file(kind);
    if incoming.is_empty() && !state_file.exists() {
        return Ok(None);
    }
    let state: State<E> = State::load(&state_file)?;
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut staged = Vec::new();
    for (entry, from) in incoming {
        let old = seen
            .get(entry.path())
            .map(String::as_str)
            .or_else(|| state.entries.get(entry.path()).map(|e| e.sha256()));
        let arrival = arrival(target, entry.path(), entry.sha256(), old)?;
        seen.insert(entry.path().to_string(), entry.sha256().to_string());
        staged.push((entry, from, arrival));
    }
    Ok(Some(Staged { state_file, state, incoming: staged }))
}

impl<E: Package> Staged<E> {
    /// Copies the new packages into `dir` (by their paths) and adds them to the state; returns
    /// the outcome so far, its paths shown through `shown`.
    fn add(&mut self, dir: &Path, shown: impl Fn(&str) -> String) -> Result<Outcome> {
        let mut outcome = Outcome::default();
        for (entry, from, arrival) in std::mem::take(&mut self.incoming) {
            let list = match arrival {
                Arrival::Same => &mut outcome.unchanged,
                Arrival::New => &mut outcome.added,
                Arrival::Replacing => &mut outcome.replaced,
            };
            list.push(shown(entry.path()));
            if !matches!(arrival, Arrival::Same) {
                crate::fs::copy_atomically(&from, &dir.join(entry.path()))?;
                self.state.entries.insert(entry.path().to_string(), entry);
            }
        }
        Ok(outcome)
    }
}

/// The state of a part (`kind` apt or dnf): its entries by path in the repository, and the index
/// files of the previous publish (kept one more round for clients that read the old index).
#[derive(Debug, serde::Deserialize, Serialize)]
#[serde(bound = "E: Serialize + DeserializeOwned")]
struct State<E> {
    entries: BTreeMap<String, E>,
    previous: std::collections::BTreeSet<String>,
}

impl<E> Default for State<E> {
    fn default() -> Self {
        State { entries: BTreeMap::new(), previous: Default::default() }
    }
}

impl<E: Serialize + DeserializeOwned> State<E> {
    fn load(path: &Path) -> Result<State<E>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Io(std::io::Error::other(format!(
                    "`{}` is damaged ({e}); publish into a new repository",
                    path.display()
                )))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, path: &Path) -> Result<()> {
        crate::fs::write_atomically(path, &serde_json::to_vec_pretty(self).expect("serializes"))
    }
}

/// How a package relates to what the repository holds under its path.
#[derive(Debug, Clone, Copy)]
enum Arrival {
    New,
    Same,
    Replacing,
}

/// Whether the package at repository path `path` with `sha256` is new, already there, or (with
/// `--replace`) replaces other bytes; an error for other bytes without `--replace`: hosts may
/// have installed what is there, and would differ under one version.
fn arrival(target: &Target, path: &str, sha256: &str, old: Option<&str>) -> Result<Arrival> {
    match old {
        None => Ok(Arrival::New),
        Some(old) if old == sha256 => Ok(Arrival::Same),
        Some(_) if target.replace => Ok(Arrival::Replacing),
        Some(old) => Err(Error::Repository {
            repo: target.repo.into(),
            problem: format!(
                "it already holds `{path}` with other content (sha256 {old}, this one {sha256}), and hosts would differ under one version"
            ),
            hint: Some(
                "raise the project's `release` (or its version) and build again; `--replace` overwrites"
                    .into(),
            ),
        }),
    }
}

/// Keeps the newest `keep` versions (by `order`) of each group (`group`) among `entries`;
/// returns the paths dropped, sorted.
fn retain<E, V: Ord>(
    entries: &mut BTreeMap<String, E>,
    keep: usize,
    group: impl Fn(&E) -> (String, String),
    version: impl Fn(&E) -> Option<V>,
) -> Vec<String> {
    let mut groups: BTreeMap<(String, String), Vec<(V, String)>> = BTreeMap::new();
    for (path, e) in entries.iter() {
        if let Some(v) = version(e) {
            groups.entry(group(e)).or_default().push((v, path.clone()));
        }
    }
    let mut removed = Vec::new();
    for (_, mut versions) in groups {
        versions.sort_by(|a, b| b.0.cmp(&a.0));
        for (_, path) in versions.into_iter().skip(keep.max(1)) {
            entries.remove(&path);
            removed.push(path);
        }
    }
    removed.sort();
    removed
}
