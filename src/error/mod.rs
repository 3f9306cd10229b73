//! The one error type of wrap. Every stage returns [`Result`]; variants carry the facts (project,
//! file, line, ref, patch) as fields so that `main` can print a one-line message, its causes and a
//! hint, and map it to an exit code: 1 for bad user input, 2 for the environment or internal faults.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

mod facts;
mod hint;
pub use facts::{Drift, ImportFailure, InterpreterProblem, Location, ManifestError, Missing};

/// Every failure wrap reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest file does not exist.
    #[error("no manifest at `{}`", path.display())]
    ManifestMissing { path: PathBuf },

    /// `wrap patch`'s checkout directory is not as the command needs it.
    #[error("`{}` {problem}", dir.display())]
    PatchCheckout { dir: PathBuf, problem: String },

    /// `wrap patch edit` stopped at a patch that does not apply.
    #[error("patch {number} of {total}, `{}`, does not apply to {project}: it is left half applied in `{}`", patch.display(), dir.display())]
    PatchEditStopped {
        project: String,
        patch: PathBuf,
        number: usize,
        total: usize,
        dir: PathBuf,
        left: Vec<String>,
    },

    /// `--target` names no `[[target]]` of the manifest.
    #[error("no [[target]] is named `{name}`{}", if known.is_empty() { " (the manifest has none)".to_string() } else { format!(" (the manifest has {})", known.join(", ")) })]
    UnknownTarget { name: String, known: Vec<String> },

    /// A remote cache URL wrap cannot use.
    #[error("remote cache `{url}`: {detail}")]
    RemoteUrl { url: String, detail: String },

    /// The remote cache failed and `--remote-required` was given.
    #[error("remote cache `{url}`: {detail}")]
    Remote { url: String, detail: String },

    /// `--from-remote`: the remote holds no artifact for a planned project.
    #[error("{project}: the remote cache `{url}` holds no {format} artifact for build key {key}")]
    RemoteMissing { project: String, format: String, key: String, url: String },

    /// `wrap init` where a manifest already is.
    #[error("`{}` already exists; wrap init writes only a new file", path.display())]
    ManifestExists { path: PathBuf },

    /// `wrap init` of a repository with neither a version tag nor a branch.
    #[error("`{url}` has no version tag and no branch to start from")]
    EmptyRepository { url: String },

    /// A problem inside the manifest, at a place in it.
    #[error("{location}: {kind}")]
    Manifest { location: Location, kind: ManifestError },

    /// The lock file is not valid TOML or not a lock wrap wrote.
    #[error("{location}: {message}")]
    LockSyntax { location: Location, message: String },

    /// A lock value that is not what the lock holds there (a hand-edited lock).
    #[error("{location}: {}: {key} `{}` is not valid: {expected}", lock_owner(project), printable(value))]
    LockInvalid {
        location: Location,
        project: String,
        key: &'static str,
        value: String,
        expected: &'static str,
    },

    /// `--locked` with no lock file.
    #[error("`--locked` was given but there is no lock file `{}`", path.display())]
    LockMissing { path: PathBuf },

    /// `--locked` and the lock does not match.
    #[error("`--locked` was given but `{}` does not match: {}", path.display(), join(differences))]
    LockDrift { path: PathBuf, differences: Vec<Drift> },

    /// `--project NAME` that the manifest does not have.
    #[error("no project named `{name}` in the manifest")]
    UnknownProject { name: String, known: Vec<String> },

    /// The git URL could not be fetched.
    #[error("project `{project}`: cannot fetch `{url}`")]
    Unreachable {
        project: String,
        url: String,
        #[source]
        source: git2::Error,
    },

    /// The ref is neither a tag, a branch nor a commit of the repository.
    #[error("project `{project}`: ref `{git_ref}` not found in `{url}`")]
    RefNotFound { project: String, url: String, git_ref: String, nearest: Vec<String> },

    /// The pinned commit is not in the repository (or not in the cache while offline).
    #[error("project `{project}`: commit {commit} is not in `{url}`{}", if *offline { " (offline: cached mirror only)" } else { "" })]
    CommitMissing { project: String, url: String, commit: String, offline: bool },

    /// Offline and the mirror was never fetched.
    #[error("project `{project}`: `{url}` is not in the git cache and offline mode is on")]
    OfflineNoMirror { project: String, url: String },

    /// A patch file is not a patch git can read; `detail` holds git's words.
    #[error("patch `{}` of project `{project}` is not a valid patch", patch.display())]
    PatchParse { project: String, patch: PathBuf, detail: Vec<String> },

    /// A patch that does not apply to the pinned commit; `detail` holds git's words.
    #[error("patch `{}` does not apply to {project} at {commit}{}", patch.display(), where_failed(file, *line))]
    PatchApply {
        project: String,
        patch: PathBuf,
        commit: String,
        file: Option<String>,
        line: Option<usize>,
        detail: Vec<String>,
        /// The commit the project was pinned to before this run moved its ref, if it did.
        moved_from: Option<String>,
    },

    /// A ref that names a tag of a tree or a blob: nothing to build.
    #[error("project `{project}`: ref `{git_ref}` in `{url}` is a tag of a {kind}, not of a commit")]
    RefNotCommit { project: String, url: String, git_ref: String, kind: String },

    /// The lock pins a commit that its ref does not name (a hand-edited lock, or a tag that moved).
    #[error("project `{project}`: the lock pins {} for `{git_ref}`, but {problem}", short(locked, 12))]
    LockMismatch { project: String, git_ref: String, locked: String, problem: String },

    /// A checkout holds a submodule, which wrap does not fetch.
    #[error(
        "project `{project}`: `{path}` is a git submodule (at {}); wrap does not build projects with submodules",
        short(commit, 12)
    )]
    Submodule { project: String, path: String, commit: String },

    /// A symlink in a checkout that leads out of the repository.
    #[error("project `{project}`: symlink `{link}` -> `{target}` leads out of the repository")]
    SourceSymlinkEscapes { project: String, link: String, target: String },

    /// Any other git failure, with what wrap was doing.
    #[error("project `{project}`: git failed to {action}")]
    Git {
        project: String,
        action: &'static str,
        #[source]
        source: git2::Error,
    },

    /// No format given and the host's native one is unknown.
    #[error("cannot tell this host's package format from /etc/os-release")]
    UnknownHostFormat,

    /// A constraints URL could not be downloaded.
    #[error("cannot download `{url}`")]
    Download {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A constraints URL no longer serves what the lock pinned.
    #[error(
        "`{url}` changed since it was locked (sha256 {} locked, {} now)",
        short(locked, 12),
        short(now, 12)
    )]
    DownloadChanged { url: String, locked: String, now: String },

    /// An environment variable with a value wrap cannot use.
    #[error("environment variable {name}=`{value}` is not valid: {expected}")]
    BadEnv { name: &'static str, value: String, expected: &'static str },

    /// The configured interpreter cannot build a virtualenv.
    #[error("interpreter `{}` {problem}", path.display())]
    Interpreter { path: PathBuf, problem: InterpreterProblem },

    /// `installer = "uv"` and no uv on PATH.
    #[error("installer `uv` was asked for but `uv` is not on PATH")]
    UvMissing,

    /// The installer could not find a requirement.
    #[error("project `{project}`: no distribution found for requirement `{requirement}`")]
    MissingRequirement { project: String, requirement: String, log: PathBuf, offline: bool, locked: bool },

    /// uv could not resolve a project's dependency closure for the lock.
    #[error("project `{project}`: cannot resolve its {what} for the lock: {}", tail.last().map_or("", String::as_str))]
    ResolveFailed { project: String, what: String, tail: Vec<String>, log: PathBuf },

    /// A locked build found a file whose bytes differ from the lock's sha256.
    #[error("project `{project}`: `{distribution}` does not match the sha256 in the lock ({detail})")]
    LockedHashMismatch { project: String, distribution: String, detail: String },

    /// A file the lock pins cannot be had: not cached, not in `find_links`, not served (the
    /// index answered without it), or not reached.
    #[error(
        "project `{project}`: locked file {file} of `{distribution}` (sha256 {sha256}) cannot be had: {detail}"
    )]
    LockedFileUnavailable {
        project: String,
        distribution: String,
        file: String,
        sha256: String,
        detail: String,
        /// The network failed (exit 2); else the index answered without the file.
        unreachable: bool,
    },

    /// A distribution built from an sdist lacks a system header, library or tool.
    #[error(
        "project `{project}`: building {} needs {} ({} is missing on this machine)",
        missing.distribution.as_deref().map_or("a dependency".to_string(), |d| format!("`{d}`")),
        missing.component,
        missing.what
    )]
    SystemDependencyMissing { project: String, missing: Missing, bindep_missing: Vec<String>, log: PathBuf },

    /// The installer failed; `tail` holds its last lines.
    #[error("project `{project}`: {installer} install failed (full log: {})", log.display())]
    InstallFailed {
        project: String,
        installer: &'static str,
        log: PathBuf,
        tail: Vec<String>,
        disk_full: bool,
    },

    /// An editable install or a `.pth` entry that points outside the bundle.
    #[error("project `{project}`: `{}` points outside the bundle ({target}); editable installs cannot be packaged", file.display())]
    Editable { project: String, file: PathBuf, target: String },

    /// A file in the bundle that cannot be relocated.
    #[error("project `{project}`: `{}` {problem}", file.display())]
    Relocate { project: String, file: PathBuf, problem: &'static str },

    /// A symlink in the bundle that leads out of it.
    #[error("project `{project}`: symlink `{}` -> `{}` leads out of the bundle", link.display(), target.display())]
    SymlinkEscapes { project: String, link: PathBuf, target: PathBuf },

    /// An entry point of the project that does not import in the bundle.
    #[error("project `{project}`: entry point `{entry_point}` does not import: {error}")]
    EntryPointImport { project: String, entry_point: String, error: String, failures: Vec<ImportFailure> },

    /// A file a distribution's RECORD names is not in the bundle.
    #[error("project `{project}`: `{distribution}` lists `{file}` in its RECORD, but the bundle lacks it")]
    RecordFileMissing { project: String, distribution: String, file: String },

    /// The bundle's distributions do not satisfy each other's requirements.
    #[error("project `{project}`: the bundle's requirements are inconsistent: {}", problems.first().map_or("", String::as_str))]
    RequirementsInconsistent { project: String, problems: Vec<String> },

    /// The verify stage could not run.
    #[error("project `{project}`: cannot verify the bundle: {problem}")]
    Verify { project: String, problem: String },

    /// A service or link named in the manifest that the bundle has no console script for.
    #[error("project `{project}`: `{script}` in `{key}` is not a console script of the bundle")]
    ServiceMissing { project: String, key: &'static str, script: String },

    /// A `[[project.files]]` entry that cannot be put in the package.
    #[error("project `{project}`: files entry `{dest}` {problem}")]
    PackageFile { project: String, dest: String, problem: String },

    /// A package file that is not what it claims, or is cut short.
    #[error("`{}` is not a valid {format} package: {problem}", path.display())]
    BadPackage { path: PathBuf, format: &'static str, problem: String },

    /// A member of a package that would land outside its root when unpacked.
    #[error("`{}` holds an unsafe member: {problem}", path.display())]
    UnsafeMember { path: PathBuf, problem: String },

    /// The rpm crate refused to build a package.
    #[error("cannot write the rpm of `{package}`: {detail}")]
    Rpm { package: String, detail: String },

    /// A file the .rpm cannot hold (rpm's payload stores sizes in 32 bits).
    #[error(
        "cannot write the rpm of `{package}`: `{path}` is {size} bytes, and an .rpm holds files up to 4 GiB"
    )]
    RpmFileTooLarge { package: String, path: String, size: u64 },

    /// A package a repository cannot take as it is.
    #[error("cannot publish into `{}`: {problem}", repo.display())]
    Repository { repo: PathBuf, problem: String, hint: Option<String> },

    /// A base image the bundle cannot be built on (or none, for `--format oci`).
    #[error("{}base image `{}`: {problem}", project.as_ref().map(|p| format!("project `{p}`: ")).unwrap_or_default(), base.display())]
    Image { project: Option<String>, base: PathBuf, problem: String, hint: Option<String> },

    /// An image a registry did not take (or a file that is no image).
    #[error("push `{}`{}: {problem}", file.display(), if reference.is_empty() { String::new() } else { format!(" to `{reference}`") })]
    Push { file: PathBuf, reference: String, problem: String, hint: Option<String>, environment: bool },

    /// A base image that could not be resolved or pulled from its registry.
    #[error("base image `docker://{reference}`: {problem}")]
    Pull { reference: String, problem: String, hint: Option<String>, environment: bool },

    /// `--format oci` with no `[image]` in the manifest.
    #[error("`--format oci` needs a base image, and `{}` names none", manifest.display())]
    ImageMissing { manifest: PathBuf },

    /// A signing key that cannot be used (unreadable, public only, wrong passphrase).
    #[error("signing key {source_name}: {problem}")]
    SigningKey { source_name: String, problem: String, hint: Option<String> },

    /// A value with a control character on its way into a maintainer script (the manifest's
    /// grammar lets none through; this is the last line of defence).
    #[error(
        "`{}` cannot be written into a maintainer script as @{key}@: it holds a control character",
        printable(value)
    )]
    ScriptValue { key: String, value: String },

    /// An operator's maintainer-script fragment that the shell cannot read.
    #[error("project `{project}`: `{file}` (`scripts.{hook}`) is not valid shell: {problem}")]
    ScriptSyntax { project: String, hook: String, file: String, problem: String },

    /// A subprocess that could not be started or failed unexpectedly.
    #[error("`{program}` failed: {detail}")]
    Command { program: String, detail: String },

    /// Some projects of a build failed; each one's error was reported as it happened.
    #[error("{} of {total} project(s) failed: {}", failed.len(), failed.join(", "))]
    BuildFailed { failed: Vec<String>, total: usize, exit_code: i32 },

    /// Writing an artifact failed (a full disk, an I/O error).
    #[error("cannot write `{}`: {cause}", path.display())]
    Write { path: PathBuf, cause: std::io::Error },

    /// No cache directory could be chosen.
    #[error("cannot choose a cache directory: set WRAP_CACHE, XDG_CACHE_HOME or HOME")]
    NoCacheDir,

    /// I/O; fs-err puts the path in the message.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `value` with control characters escaped, for messages that quote user input on one line.
pub fn printable(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars().take(200) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn join(items: &[Drift]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn where_failed(file: &Option<String>, line: Option<usize>) -> String {
    match (file, line) {
        (Some(file), Some(line)) => format!(": `{file}` at line {line}"),
        (Some(file), None) => format!(": `{file}`"),
        _ => String::new(),
    }
}

/// The first `n` characters of a hex digest.
pub fn short(hex: &str, n: usize) -> &str {
    &hex[..hex.len().min(n)]
}

impl Error {
    /// Exit code: 1 when the user's input is at fault, 2 for the environment or internal faults.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::BuildFailed { exit_code, .. } => *exit_code,
            Self::InstallFailed { disk_full: true, .. } => 2,
            Self::LockedFileUnavailable { unreachable: true, .. } => 2,
            Self::Push { environment: true, .. } | Self::Pull { environment: true, .. } => 2,
            Self::Manifest { .. }
            | Self::ManifestMissing { .. }
            | Self::ManifestExists { .. }
            | Self::PatchCheckout { .. }
            | Self::PatchEditStopped { .. }
            | Self::EmptyRepository { .. }
            | Self::LockSyntax { .. }
            | Self::LockInvalid { .. }
            | Self::LockMissing { .. }
            | Self::LockDrift { .. }
            | Self::UnknownProject { .. }
            | Self::UnknownHostFormat
            | Self::BadEnv { .. }
            | Self::DownloadChanged { .. }
            | Self::RefNotFound { .. }
            | Self::CommitMissing { .. }
            | Self::PatchParse { .. }
            | Self::ScriptSyntax { .. }
            | Self::PatchApply { .. }
            | Self::RefNotCommit { .. }
            | Self::LockMismatch { .. }
            | Self::Submodule { .. }
            | Self::SourceSymlinkEscapes { .. }
            | Self::Interpreter { problem: InterpreterProblem::NotCPython3, .. }
            | Self::MissingRequirement { .. }
            | Self::ResolveFailed { .. }
            | Self::LockedHashMismatch { .. }
            | Self::LockedFileUnavailable { .. }
            | Self::InstallFailed { .. }
            | Self::Editable { .. }
            | Self::Relocate { .. }
            | Self::SymlinkEscapes { .. }
            | Self::ServiceMissing { .. }
            | Self::PackageFile { .. }
            | Self::EntryPointImport { .. }
            | Self::RecordFileMissing { .. }
            | Self::RequirementsInconsistent { .. }
            | Self::BadPackage { .. }
            | Self::RpmFileTooLarge { .. }
            | Self::SigningKey { .. }
            | Self::Repository { .. }
            | Self::Image { .. }
            | Self::ImageMissing { .. }
            | Self::Push { .. }
            | Self::Pull { .. }
            | Self::UnsafeMember { .. }
            | Self::RemoteUrl { .. }
            | Self::UnknownTarget { .. } => 1,
            Self::Unreachable { .. }
            | Self::Remote { .. }
            | Self::RemoteMissing { .. }
            | Self::OfflineNoMirror { .. }
            | Self::Git { .. }
            | Self::Download { .. }
            | Self::Interpreter { .. }
            | Self::UvMissing
            | Self::Command { .. }
            | Self::Verify { .. }
            | Self::ScriptValue { .. }
            | Self::SystemDependencyMissing { .. }
            | Self::Rpm { .. }
            | Self::NoCacheDir
            | Self::Write { .. }
            | Self::Io(_) => 2,
        }
    }
}

impl Error {
    /// Where in a file the user wrote the fault is, for the errors that know.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Manifest { location, .. }
            | Self::LockSyntax { location, .. }
            | Self::LockInvalid { location, .. } => Some(location),
            _ => None,
        }
    }

    /// Extra lines printed under the message (an installer's last output lines, git's words,
    /// every entry point that failed).
    pub fn details(&self) -> Vec<String> {
        match self {
            Self::InstallFailed { tail, .. } => tail.clone(),
            Self::PatchApply { detail, .. } | Self::PatchParse { detail, .. } => detail.clone(),
            Self::PatchEditStopped { left, .. } => left.iter().map(|f| format!("left: {f}")).collect(),
            Self::RequirementsInconsistent { problems, .. } => problems.clone(),
            Self::EntryPointImport { failures, .. } if failures.len() > 1 => {
                failures.iter().map(|f| format!("{} ({}): {}", f.entry_point, f.value, f.error)).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// What a lock value belongs to: a project, or a table such as `[image]`.
fn lock_owner(project: &str) -> String {
    if project.starts_with('[') { project.to_string() } else { format!("project `{project}`") }
}

#[cfg(test)]
mod tests;
