//! Output. The core never prints: it hands [`Event`]s to a [`Reporter`]. [`Human`] writes
//! progress to stderr and results to stdout; [`Json`] writes every event as one JSON object per
//! line on stdout, in the envelope [`SCHEMA`] versions (docs/events.schema.json).

mod human;

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

pub use self::human::Human;
use crate::artifact::Artifact;
use crate::cache::prune::{Removed, Usage};
use crate::manifest::Format;
use crate::package::inspect::Inspection;
use crate::plan::BuildPlan;

/// The version of the JSON events' shape, in every event's `schema` field: raised when a field
/// is removed or changes meaning (fields are added without raising it).
pub const SCHEMA: u32 = 1;

/// Something worth telling the user.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// Progress: a verb (`Resolving`, `Locking`, `Building`, `Packaging`, `Finished`, …), the
    /// project and format it acts on, if any, and the rest in words.
    Status {
        verb: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        project: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        format: Option<Format>,
        detail: String,
    },
    /// Something the user should know that does not stop the run, about a project if it names
    /// one.
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        project: Option<&'a str>,
        message: String,
    },
    /// A project of a build moved to another stage.
    Stage {
        project: &'a str,
        stage: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        format: Option<Format>,
        /// What the stage is doing now: the installer's latest output line, in the venv stage.
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'a str>,
    },
    /// A project's artifact in `format` is built again: the inputs of its build key that
    /// changed since the cached one (`patch 0002-fix.patch changed`, `wrap changed`).
    Rebuilding { project: &'a str, format: Format, why: &'a [String] },
    /// A project's bundle passed the verify stage.
    Verified { project: &'a str, verified: &'a crate::venv::verify::Verified },
    /// `wrap check` result.
    Checked { manifest: String, projects: usize, lock: &'a str },
    /// A project's patched checkout.
    Fetched {
        project: &'a str,
        commit: &'a str,
        version: &'a str,
        patches: Vec<&'a str>,
        path: String,
        reused: bool,
    },
    /// The plan of a build.
    Plan { plan: &'a BuildPlan, bindep: &'a BTreeMap<String, crate::source::bindep::Bindep> },
    /// `wrap plan --matrix`: the CI jobs, and the matrix as the chosen form writes it.
    Matrix { matrix: &'a crate::plan::matrix::Matrix, text: &'a str },
    /// An artifact was written.
    Artifact { artifact: &'a Artifact },
    /// What `wrap inspect` read back.
    Inspected { inspection: &'a Inspection },
    /// Something failed: a project of a build, or the command.
    Error {
        /// The failure.
        #[serde(flatten)]
        failure: &'a Failure,
    },
    /// The end of a build: the overall result, the exit code the command ends with, the wall
    /// time, every project's outcome.
    Summary { result: RunResult, exit_code: i32, seconds: f64, projects: &'a [Outcome] },
    /// `wrap lock` (and the lock a `fetch`, `plan` or `build` wrote): each project's pin.
    Locked { path: String, written: bool, projects: Vec<Pinned<'a>> },
    /// `wrap init` wrote a manifest for `project`: its git source and ref, and the scripts it
    /// lists as candidate services.
    Initialized {
        manifest: String,
        project: &'a str,
        git: &'a str,
        #[serde(rename = "ref")]
        git_ref: &'a str,
        scripts: &'a [String],
    },
    /// `wrap patch edit`: the checkout with the project's patches applied as commits.
    PatchCheckout { project: &'a str, dir: String, commit: &'a str, patches: usize },
    /// `wrap patch refresh`: each patch file written back, and those no commit holds any more.
    PatchesRefreshed { project: &'a str, files: &'a [PatchFile], dropped: &'a [String] },
    /// The last event of every command: its result and exit code.
    Finished { command: &'a str, result: RunResult, exit_code: i32, seconds: f64 },
    /// `wrap cache info`.
    CacheInfo { usage: &'a Usage },
    /// `wrap clean`: what it removed (or would, with `--dry-run`).
    Cleaned { removed: &'a [Removed], dry_run: bool },
    /// `wrap publish`: what was added, kept and removed, and the clients' sources entry.
    Published { published: &'a crate::publish::Published },
    /// `wrap push`: each image pushed.
    Pushed { pushed: &'a [crate::registry::Pushed] },
    /// `wrap lock`: how a project's dependency closure changed.
    ClosureChanged { project: &'a str, changes: &'a [crate::lock::closure::Change] },
}

/// Where a project of a build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for a job slot.
    Queued,
    /// Waiting for another wrap process building the same project.
    Waiting,
    /// Fetching and patching its source.
    Fetch,
    /// Building its virtualenv.
    Venv,
    /// Relocating the virtualenv.
    Relocate,
    /// Checking the relocated bundle.
    Verify,
    /// Writing an artifact.
    Package(Format),
    /// Built.
    Done,
    /// Every artifact came from the cache.
    Reused,
    /// Failed.
    Failed,
}

impl Stage {
    /// The stage's name in output.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Waiting => "waiting",
            Stage::Fetch => "fetch",
            Stage::Venv => "venv",
            Stage::Relocate => "relocate",
            Stage::Verify => "verify",
            Stage::Package(_) => "package",
            Stage::Done => "done",
            Stage::Reused => "reused",
            Stage::Failed => "failed",
        }
    }

    fn format(self) -> Option<Format> {
        match self {
            Stage::Package(f) => Some(f),
            _ => None,
        }
    }
}

/// An error flattened for output: message, causes, installer output, hint and exit code.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Failure {
    /// The project, when one failed in a build of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The one-line message.
    pub message: String,
    /// Each underlying error.
    pub causes: Vec<String>,
    /// Extra lines (an installer's last output lines).
    pub details: Vec<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// The exit code it maps to.
    pub exit_code: i32,
    /// The line of the user's file at fault, when the error names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLine>,
}

/// A line of a file the user wrote (a manifest, a lock), with the span at fault.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SourceLine {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column of the fault, when known.
    pub col: Option<usize>,
    /// How many characters from the column the fault spans (0: not known).
    pub width: usize,
    /// The line's text (at most 500 characters of it).
    pub text: String,
}

impl SourceLine {
    /// Reads `location`'s line from its file; none when the file or the line is gone.
    fn read(location: &crate::error::Location) -> Option<SourceLine> {
        let line = location.line?;
        let text = std::fs::read_to_string(&location.file).ok()?;
        let text: String = text.lines().nth(line.checked_sub(1)?)?.chars().take(500).collect();
        Some(SourceLine {
            file: location.file.display().to_string(),
            line,
            col: location.col,
            width: location.width,
            text,
        })
    }
}

impl Failure {
    /// Flattens `error`, failed in `project` if given.
    pub fn new(project: Option<&str>, error: &crate::error::Error) -> Failure {
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(error);
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        Failure {
            project: project.map(str::to_string),
            message: error.to_string(),
            causes,
            details: error.details(),
            hint: error.hint(),
            exit_code: error.exit_code(),
            source: error.location().and_then(SourceLine::read),
        }
    }
}

/// How a command or a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunResult {
    /// Everything asked for was done.
    Ok,
    /// Something failed: the exit code says what kind of problem.
    Failed,
}

impl RunResult {
    /// `Ok` for exit code 0.
    pub fn of(exit_code: i32) -> RunResult {
        if exit_code == 0 { RunResult::Ok } else { RunResult::Failed }
    }
}

/// A patch file `wrap patch refresh` wrote from a commit.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PatchFile {
    /// Its path, relative to the manifest.
    pub path: String,
    /// `unchanged`, `written` (its bytes changed) or `added` (a new file).
    pub state: &'static str,
}

/// A project's pin in a [`Event::Locked`].
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Pinned<'a> {
    /// Project name.
    pub project: &'a str,
    /// The ref the manifest names.
    #[serde(rename = "ref")]
    pub git_ref: &'a str,
    /// The commit it is pinned to.
    pub commit: &'a str,
    /// The version derived at that commit.
    pub version: &'a str,
    /// The commit before, when this run moved the pin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<&'a str>,
    /// Distributions in its locked closure (none: not resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributions: Option<usize>,
}

/// How one project of a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Built; its artifacts are written.
    Ok,
    /// Failed; the reason says why.
    Failed,
    /// Not started, because another project failed under `--fail-fast`.
    Skipped,
    /// Not built: every artifact's build key was unchanged, so they came from the cache.
    Reused,
}

/// One project's line of a build summary.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    /// Project name.
    pub project: String,
    /// How it ended.
    pub status: Status,
    /// The one-line error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Wall time of its build.
    pub seconds: f64,
    /// What it wrote: path, format, size, sha256.
    pub artifacts: Vec<Artifact>,
    /// The exit code its failure maps to (0 when it did not fail).
    #[serde(skip)]
    pub exit_code: i32,
}

/// Receives events; implementations decide how they look.
pub trait Reporter: Sync {
    /// Reports one event.
    fn report(&self, event: &Event<'_>);

    /// Shorthand for a status line about no project in particular.
    fn status(&self, verb: &str, detail: String) {
        self.report(&Event::Status { verb, project: None, format: None, detail });
    }

    /// Shorthand for a status line about `project`.
    fn project_status(&self, verb: &str, project: &str, detail: String) {
        self.report(&Event::Status { verb, project: Some(project), format: None, detail });
    }

    /// Shorthand for a warning about no project in particular.
    fn warn(&self, message: String) {
        self.report(&Event::Warning { project: None, message });
    }

    /// Shorthand for a warning about `project`.
    fn project_warn(&self, project: &str, message: String) {
        self.report(&Event::Warning { project: Some(project), message });
    }

    /// Shorthand for a stage change.
    fn stage(&self, project: &str, stage: Stage) {
        self.report(&Event::Stage { project, stage: stage.name(), format: stage.format(), detail: None });
    }
}

/// An event as [`Json`] writes it: the schema version and the time around the event's fields.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(title = "wrap event", description = "One line of `wrap --message-format json`")]
pub struct Envelope<'a> {
    /// The version of this shape of events: 1.
    pub schema: u32,
    /// When it happened: RFC 3339, UTC.
    pub time: String,
    /// The event (its `event` field names its type).
    #[serde(flatten)]
    pub event: &'a Event<'a>,
}

/// The JSON Schema of [`Envelope`], as docs/events.schema.json holds it.
pub fn json_schema() -> String {
    // As written (a field skipped when empty is not required), not as read.
    let generator = schemars::generate::SchemaSettings::draft2020_12().for_serialize().into_generator();
    let schema = generator.into_root_schema_for::<Envelope<'static>>();
    serde_json::to_string_pretty(&schema).expect("a schema serializes") + "\n"
}

/// One JSON object per line on stdout; errors also on stderr, as people read them.
pub struct Json;

impl Reporter for Json {
    fn report(&self, event: &Event<'_>) {
        let time =
            jiff::Timestamp::now().round(jiff::Unit::Millisecond).unwrap_or_else(|_| jiff::Timestamp::now());
        let envelope = Envelope { schema: SCHEMA, time: time.to_string(), event };
        let line = serde_json::to_string(&envelope).expect("events serialize");
        let _ = writeln!(std::io::stdout().lock(), "{line}");
        if let Event::Error { failure } = event {
            let _ = human::write_failure(&mut anstream::stderr().lock(), failure);
        }
    }
}
