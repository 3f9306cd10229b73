//! `wrap.lock`: the pinned state of a manifest. For every project it records the git URL and ref
//! as written, the exact commit, its committer time and derived version, and the sha256 of each
//! patch, and the project's dependency closure (closure.rs); for the settings, the sha256 of each
//! constraints file; once for all projects, the files of every distribution a closure installs,
//! with their sha256. Written sorted and stable, so an unchanged manifest gives a byte-identical
//! lock. [`drift`] lists how a lock and a manifest differ.

pub mod closure;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Drift, Error, Location, Result};
use crate::fs::write_atomically;
use crate::manifest::{Manifest, Project};

/// The lock format this wrap writes (it reads 1, which has no closures, too).
pub const LOCK_VERSION: u32 = 2;

const HEADER: &str = "# wrap.lock: written by `wrap lock`; pins every project to an exact commit, and every\n# distribution it installs to a version and its files' sha256.\n# Commit it beside the manifest; change it with `wrap lock` and `wrap lock --update`.\n\n";

use closure::{Closure, Distribution, Resolved};

/// A hashed file: a patch or a constraints file (path as written, or URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LockedFile {
    /// Path relative to the manifest, or URL, as written in the manifest.
    pub source: String,
    /// sha256 of the content.
    pub sha256: String,
}

/// One project's pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockedProject {
    /// Project name.
    pub name: String,
    /// Git URL or path, as written in the manifest.
    pub git: String,
    /// The ref as written in the manifest.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// 40-hex commit id the ref resolved to.
    pub commit: String,
    /// The commit's committer time (Unix seconds): the default source date of every artifact.
    pub commit_time: i64,
    /// Version derived from git at lock time.
    pub version: String,
    /// Patches in application order.
    pub patches: Vec<LockedFile>,
    /// The dependency closure, once `wrap lock` resolved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closure: Option<Closure>,
    /// `release = "auto"`: the release each built version was given, with the inputs it was
    /// given for (the newest per version, sorted by version).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub releases: Vec<LockedRelease>,
}

/// The release `release = "auto"` gave one version of a project: the first build of a version
/// is 1, and each build whose inputs differ from the last one's takes the next number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedRelease {
    /// The version (PEP 440).
    pub version: String,
    /// The digest of the build inputs it was given for (the plan's key with the release left out).
    pub inputs: String,
    /// The release.
    pub release: u32,
}

/// A registry base image's pin: the digest its reference named when locked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedImage {
    /// `docker://REFERENCE`, as the manifest writes it.
    pub base: String,
    /// `sha256:…`: what the reference named (an index, for a multi-platform image).
    pub digest: String,
}

/// The whole lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// Format version.
    pub version: u32,
    /// Constraints files in manifest order.
    pub constraints: Vec<LockedFile>,
    /// The registry base image's pin, when `[image] base` is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<LockedImage>,
    /// Projects sorted by name.
    #[serde(rename = "project")]
    pub projects: Vec<LockedProject>,
    /// The files of every distribution the closures name, sorted by name and version.
    #[serde(rename = "distribution", skip_serializing_if = "Vec::is_empty")]
    pub distributions: Vec<Distribution>,
}

impl Lock {
    /// An empty lock.
    pub fn new() -> Lock {
        Lock {
            version: LOCK_VERSION,
            constraints: Vec::new(),
            image: None,
            projects: Vec::new(),
            distributions: Vec::new(),
        }
    }

    /// The lock file that belongs to a manifest: `wrap.toml` → `wrap.lock`.
    pub fn path_for(manifest: &Path) -> PathBuf {
        manifest.with_extension("lock")
    }

    /// Reads the lock at `path`; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<Lock>> {
        let text = match fs_err::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Self::parse(path, &text).map(Some)
    }

    /// Parses lock `text`; `path` names it in errors. Every commit id, version, digest and
    /// time is checked here, so a hand-edited lock fails with its line, not later in git.
    pub fn parse(path: &Path, text: &str) -> Result<Lock> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        // A value's line, column and width on its line.
        let locate = |span: std::ops::Range<usize>| {
            let before = &text[..span.start.min(text.len())];
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let value = text.get(span.clone()).unwrap_or_default();
            let width = value.split('\n').next().map_or(0, |l| l.chars().count());
            Location { file: path.into(), line: Some(line_of(span.start)), col: Some(col), width }
        };
        let syntax = |span: Option<std::ops::Range<usize>>, message: String| Error::LockSyntax {
            location: span.map_or(Location { file: path.into(), line: None, col: None, width: 0 }, locate),
            message,
        };
        let raw: RawLock =
            toml::from_str(text).map_err(|e| syntax(e.span(), e.message().trim().to_string()))?;
        if !(1..=LOCK_VERSION).contains(&raw.version) {
            return Err(syntax(
                None,
                format!("lock format {} is not the {LOCK_VERSION} this wrap reads", raw.version),
            ));
        }
        let invalid =
            |project: &str, key: &'static str, value: String, span: std::ops::Range<usize>, expected| {
                Error::LockInvalid { location: locate(span), project: project.into(), key, value, expected }
            };
        let file = |project: &str, f: RawLockedFile| -> Result<LockedFile> {
            if !is_sha256(f.sha256.get_ref()) {
                let span = f.sha256.span();
                return Err(invalid(
                    project,
                    "sha256",
                    f.sha256.into_inner(),
                    span,
                    "a sha256 (64 hex digits)",
                ));
            }
            Ok(LockedFile { source: f.source, sha256: f.sha256.into_inner() })
        };
        // The distributions first: a closure names them, and their values reach requirement
        // lines and paths.
        if let Some(problem) = raw.distribution.iter().find_map(Distribution::problem) {
            return Err(syntax(None, problem));
        }
        let constraints =
            raw.constraints.into_iter().map(|f| file("(settings)", f)).collect::<Result<Vec<_>>>()?;
        let mut projects = Vec::new();
        for p in raw.project {
            if let Some((key, value, span, expected)) = pin_problem(&p) {
                return Err(invalid(&p.name, key, value, span, expected));
            }
            let name = p.name;
            let patches = p.patches.into_iter().map(|f| file(&name, f)).collect::<Result<Vec<_>>>()?;
            let closure = p.closure.map(|c| (c.span(), c.into_inner()));
            if let Some((span, c)) = &closure
                && let Some((value, expected)) = closure_problem(c, &raw.distribution)
            {
                return Err(invalid(&name, "closure", value, span.clone(), expected));
            }
            projects.push(LockedProject {
                releases: p.releases.into_iter().map(toml::Spanned::into_inner).collect(),
                name,
                git: p.git,
                git_ref: p.git_ref,
                commit: p.commit.into_inner(),
                commit_time: p.commit_time.into_inner(),
                version: p.version.into_inner(),
                patches,
                closure: closure.map(|(_, c)| c),
            });
        }
        let image = match raw.image {
            Some(image) if !crate::oci::is_digest(&image.get_ref().digest) => {
                let (span, image) = (image.span(), image.into_inner());
                return Err(invalid("[image]", "digest", image.digest, span, "`sha256:` and 64 hex digits"));
            }
            image => image.map(toml::Spanned::into_inner),
        };
        Ok(Lock { version: LOCK_VERSION, constraints, image, projects, distributions: raw.distribution })
    }

    /// The stable text of the lock: projects sorted by name, patches and constraints in order.
    pub fn to_toml(&self) -> String {
        let mut sorted = self.clone();
        sorted.projects.sort_by(|a, b| a.name.cmp(&b.name));
        let body = toml::to_string(&sorted).expect("lock serializes");
        format!("{HEADER}{body}")
    }

    /// Writes the lock to `path` unless the file already holds exactly this text; returns whether
    /// it wrote.
    pub fn write(&self, path: &Path) -> Result<bool> {
        let text = self.to_toml();
        if fs_err::read_to_string(path).is_ok_and(|old| old == text) {
            return Ok(false);
        }
        write_atomically(path, text.as_bytes())?;
        Ok(true)
    }

    /// The pin of project `name`.
    pub fn project(&self, name: &str) -> Option<&LockedProject> {
        self.projects.iter().find(|p| p.name == name)
    }

    /// The closure of project `name` with its distributions' files, if the lock has one.
    pub fn resolved(&self, name: &str) -> Option<Resolved> {
        let closure = self.project(name)?.closure.as_ref()?;
        let find = |pins: &[String]| -> Option<Vec<Distribution>> {
            pins.iter().map(|pin| self.distributions.iter().find(|d| d.pin() == *pin).cloned()).collect()
        };
        Some(Resolved {
            python: closure.python.clone(),
            build: find(&closure.build)?,
            install: find(&closure.install)?,
        })
    }
}

/// The first value of pin `p` that is not valid: its key, the value, where, what was expected.
fn pin_problem(p: &RawLockedProject) -> Option<(&'static str, String, std::ops::Range<usize>, &'static str)> {
    let commit = p.commit.get_ref();
    if !is_commit_id(commit) {
        return Some(("commit", commit.clone(), p.commit.span(), "a full commit id (40 hex digits)"));
    }
    let time = *p.commit_time.get_ref();
    if !(0..=i64::from(u32::MAX)).contains(&time) {
        let expected = "a Unix time from 0 to 4294967295";
        return Some(("commit_time", time.to_string(), p.commit_time.span(), expected));
    }
    let version = p.version.get_ref();
    if crate::version::parse_normalized(version).is_err() {
        return Some(("version", version.clone(), p.version.span(), "a PEP 440 version in normal form"));
    }
    for r in &p.releases {
        let (record, span) = (r.get_ref(), r.span());
        let value = || format!("{} {}", record.version, record.release);
        if !is_sha256(&record.inputs) {
            return Some(("releases", value(), span, "`inputs`, a sha256 (64 hex digits)"));
        }
        if record.release == 0 || crate::version::parse_normalized(&record.version).is_err() {
            return Some((
                "releases",
                value(),
                span,
                "a PEP 440 version in normal form and a release from 1",
            ));
        }
    }
    None
}

/// What is wrong with closure `c` (the value, and what was expected), if anything: its inputs
/// digest, or a pin that is not `name==version` or has no distribution in `distributions`.
fn closure_problem(c: &Closure, distributions: &[Distribution]) -> Option<(String, &'static str)> {
    if !is_sha256(&c.inputs) {
        return Some((c.inputs.clone(), "an inputs digest (64 hex digits)"));
    }
    let known = |pin: &String| distributions.iter().any(|d| d.pin() == *pin);
    let bad = c.build.iter().chain(&c.install).find(|pin| !pin.contains("==") || !known(pin))?;
    Some((bad.clone(), "a `name==version` with a [[distribution]] entry"))
}

impl Default for Lock {
    fn default() -> Self {
        Self::new()
    }
}

impl LockedProject {
    /// Whether this pin was made from the project's current URL and ref (so its commit stands).
    pub fn same_source(&self, project: &Project) -> bool {
        self.git == project.git.written && self.git_ref == project.git_ref
    }

    /// The sha256 of each patch, in order.
    pub fn patch_digests(&self) -> Vec<&str> {
        self.patches.iter().map(|p| p.sha256.as_str()).collect()
    }
}

/// The lock as read, before its values are checked (spans kept for the errors).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLock {
    version: u32,
    #[serde(default)]
    constraints: Vec<RawLockedFile>,
    image: Option<toml::Spanned<LockedImage>>,
    #[serde(default)]
    project: Vec<RawLockedProject>,
    #[serde(default)]
    distribution: Vec<Distribution>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLockedFile {
    source: String,
    sha256: toml::Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLockedProject {
    name: String,
    git: String,
    #[serde(rename = "ref")]
    git_ref: String,
    commit: toml::Spanned<String>,
    commit_time: toml::Spanned<i64>,
    version: toml::Spanned<String>,
    #[serde(default)]
    patches: Vec<RawLockedFile>,
    closure: Option<toml::Spanned<Closure>>,
    #[serde(default)]
    releases: Vec<toml::Spanned<LockedRelease>>,
}

/// A full git commit id: 40 lowercase hex digits.
pub fn is_commit_id(text: &str) -> bool {
    text.len() == 40 && text.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// A hex sha256: 64 lowercase hex digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// sha256 of a file's content.
pub fn hash_file(path: &Path) -> Result<String> {
    let mut hashing = crate::archive::Hashing::new(std::io::sink());
    std::io::copy(&mut fs_err::File::open(path)?, &mut hashing)?;
    Ok(hashing.finish().1)
}

/// The current sha256 of every patch and local constraints file, keyed by source as written.
/// URL constraints are not read here: the lock pins their content when it is written.
pub fn local_digests(manifest: &Manifest) -> Result<BTreeMap<String, String>> {
    let mut digests = BTreeMap::new();
    for project in &manifest.projects {
        for patch in &project.patches {
            digests.insert(patch.rel.clone(), hash_file(&patch.abs)?);
        }
    }
    for c in &manifest.settings.constraints {
        if let crate::manifest::Constraint::File(p) = c {
            digests.insert(p.rel.clone(), hash_file(&p.abs)?);
        }
    }
    Ok(digests)
}

/// The digest of the inputs of `project`'s closure when pinned as `locked` under `constraints`.
pub fn closure_inputs(project: &Project, locked: &LockedProject, constraints: &[LockedFile]) -> String {
    closure::inputs_digest(&closure::Inputs {
        resolution: closure::RESOLUTION,
        commit: &locked.commit,
        patches: project
            .patches
            .iter()
            .zip(&locked.patches)
            .filter(|(patch, _)| closure::touches_requirements(&patch.abs))
            .map(|(_, locked)| locked.sha256.as_str())
            .collect(),
        constraints: constraints.iter().map(|c| c.sha256.as_str()).collect(),
        extras: &project.extras,
        dependencies: &project.pip_dependencies,
    })
}

/// Every way in which `lock` no longer matches `manifest` and the current file `digests`.
pub fn drift(manifest: &Manifest, lock: &Lock, digests: &BTreeMap<String, String>) -> Vec<Drift> {
    let mut out = Vec::new();
    let mut check_file = |locked: &LockedFile| {
        if let Some(now) = digests.get(&locked.source).filter(|now| **now != locked.sha256) {
            out.push(Drift::FileChanged {
                path: locked.source.clone(),
                locked: locked.sha256.clone(),
                now: now.clone(),
            });
        }
    };
    let sources: Vec<&str> = manifest.settings.constraints.iter().map(|c| c.source()).collect();
    let locked_sources: Vec<&str> = lock.constraints.iter().map(|c| c.source.as_str()).collect();
    let constraints_changed = sources != locked_sources;
    lock.constraints.iter().for_each(&mut check_file);
    let mut project_drift = Vec::new();
    for project in &manifest.projects {
        let Some(locked) = lock.project(&project.name) else {
            project_drift.push(Drift::ProjectAdded(project.name.clone()));
            continue;
        };
        for (key, locked_value, now) in
            [("git", &locked.git, &project.git.written), ("ref", &locked.git_ref, &project.git_ref)]
        {
            if locked_value != now {
                project_drift.push(Drift::SourceChanged {
                    project: project.name.clone(),
                    key,
                    locked: locked_value.clone(),
                    now: now.clone(),
                });
            }
        }
        let names: Vec<&str> = project.patches.iter().map(|p| p.rel.as_str()).collect();
        let locked_names: Vec<&str> = locked.patches.iter().map(|p| p.source.as_str()).collect();
        if names != locked_names {
            project_drift.push(Drift::PatchesChanged { project: project.name.clone() });
        }
        locked.patches.iter().for_each(&mut check_file);
        match &locked.closure {
            None => project_drift.push(Drift::ClosureMissing(project.name.clone())),
            Some(c) if c.inputs != closure_inputs(project, locked, &lock.constraints) => {
                project_drift.push(Drift::ClosureStale(project.name.clone()));
            }
            Some(_) => {}
        }
    }
    for locked in &lock.projects {
        if manifest.project(&locked.name).is_none() {
            project_drift.push(Drift::ProjectRemoved(locked.name.clone()));
        }
    }
    if constraints_changed {
        out.push(Drift::ConstraintsChanged);
    }
    let base = manifest.image.as_ref().and_then(|i| match &i.base {
        crate::manifest::BaseImage::Registry(r) => Some(format!("docker://{r}")),
        crate::manifest::BaseImage::Layout(_) | crate::manifest::BaseImage::Archive(_) => None,
    });
    if base != lock.image.as_ref().map(|i| i.base.clone()) {
        let or_none = |b: Option<String>| b.unwrap_or_else(|| "none".into());
        out.push(Drift::BaseChanged {
            locked: or_none(lock.image.as_ref().map(|i| i.base.clone())),
            now: or_none(base),
        });
    }
    out.extend(project_drift);
    out
}

#[cfg(test)]
mod tests;
