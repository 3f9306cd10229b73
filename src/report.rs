//! Output. The core never prints: it hands [`Event`]s to a [`Reporter`]. [`Human`] writes
//! progress to stderr (on a terminal a live line per project showing its stage, above them
//! cargo-style status lines; plain status lines otherwise; nothing with `-q`) and results to
//! stdout; [`Json`] writes every event as one JSON object per line on stdout.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use anstyle::{AnsiColor, Style};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::artifact::Artifact;
use crate::cache::prune::{Removed, Usage, human_size};
use crate::manifest::Format;
use crate::package::inspect::{Inspection, mode_string};
use crate::plan::BuildPlan;

/// Something worth telling the user.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// Progress: a verb and what it acts on.
    Status { verb: &'a str, message: String },
    /// Something the user should know that does not stop the run.
    Warning { message: String },
    /// A project of a build moved to another stage.
    Stage {
        project: &'a str,
        stage: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        format: Option<Format>,
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
    /// The end of a build: every project's outcome.
    Summary { projects: &'a [Outcome] },
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
#[derive(Debug, Clone, Serialize)]
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
        }
    }
}

/// How one project of a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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

    /// Shorthand for a status line.
    fn status(&self, verb: &str, message: String) {
        self.report(&Event::Status { verb, message });
    }

    /// Shorthand for a warning.
    fn warn(&self, message: String) {
        self.report(&Event::Warning { message });
    }

    /// Shorthand for a stage change.
    fn stage(&self, project: &str, stage: Stage) {
        self.report(&Event::Stage { project, stage: stage.name(), format: stage.format() });
    }
}

/// Terminal and plain-text output.
pub struct Human {
    quiet: bool,
    /// `-v`: say why each project is rebuilt.
    verbose: bool,
    /// The live lines, on a terminal.
    progress: Option<Progress>,
}

struct Progress {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Human {
    /// Output for people: `quiet` shows only errors; `live` draws a line per project (when
    /// stderr is a terminal).
    pub fn new(quiet: bool, verbose: bool, live: bool) -> Human {
        let progress = (live && !quiet).then(|| Progress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(BTreeMap::new()),
        });
        Human { quiet, verbose, progress }
    }

    fn show_stage(&self, project: &str, stage: &str, format: Option<Format>) {
        let Some(p) = &self.progress else { return };
        let mut bars = p.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(project.to_string()).or_insert_with(|| {
            let bar = p.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.green} {prefix:<20} {wide_msg}")
                    .expect("a valid template")
                    .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✓"),
            );
            bar.set_prefix(project.to_string());
            bar
        });
        let text = match format {
            Some(f) => format!("{stage} {}", f.as_str()),
            None => stage.to_string(),
        };
        match stage {
            "done" | "reused" | "failed" => bar.finish_with_message(text),
            "queued" => bar.set_message(text),
            _ => {
                bar.enable_steady_tick(std::time::Duration::from_millis(100));
                bar.set_message(text);
            }
        }
    }
}

const VERB: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();

/// `error: …`, the installer's lines, `caused by: …` lines and the hint, on stderr: errors are
/// shown whatever the output mode.
fn write_failure(err: &mut impl Write, failure: &Failure) -> std::io::Result<()> {
    writeln!(err, "{ERROR}error{ERROR:#}: {}", failure.message)?;
    for line in &failure.details {
        writeln!(err, "  | {line}")?;
    }
    for cause in &failure.causes {
        writeln!(err, "  caused by: {cause}")?;
    }
    if let Some(hint) = &failure.hint {
        writeln!(err, "{HINT}hint{HINT:#}: {hint}")?;
    }
    Ok(())
}

impl Reporter for Human {
    fn report(&self, event: &Event<'_>) {
        if let Event::Stage { project, stage, format } = event {
            return self.show_stage(project, stage, *format);
        }
        if let (Event::Summary { .. }, Some(p)) = (event, &self.progress) {
            // The summary replaces the live lines.
            for bar in p.bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
                bar.finish_and_clear();
            }
            let _ = p.multi.clear();
            p.multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        match &self.progress {
            Some(p) => p.multi.suspend(|| self.write(event)),
            None => self.write(event),
        }
    }
}

impl Human {
    fn write(&self, event: &Event<'_>) {
        let mut err = anstream::stderr().lock();
        let mut out = anstream::stdout().lock();
        let quiet = self.quiet;
        // Output that cannot be written (a closed pipe) is not worth failing the build for.
        let _ = match event {
            Event::Status { verb, message } if !quiet => writeln!(err, "{VERB}{verb:>12}{VERB:#} {message}"),
            Event::Warning { message } if !quiet => writeln!(err, "{WARN}warning{WARN:#}: {message}"),
            Event::Rebuilding { project, format, why } if self.verbose && !quiet => writeln!(
                err,
                "{VERB}{:>12}{VERB:#} {project} as {}: {}",
                "Rebuilding",
                format.as_str(),
                why.join(", ")
            ),
            Event::Verified { project, verified } if !quiet => {
                let skipped = if verified.skipped.is_empty() {
                    String::new()
                } else {
                    format!("; skipped {}", verified.skipped.join(", "))
                };
                writeln!(
                    err,
                    "{VERB}{:>12}{VERB:#} {project}: {} entry point(s) import, {} distribution(s) consistent, {} file(s) present{skipped}",
                    "Verified",
                    verified.entry_points.len(),
                    verified.distributions,
                    verified.files,
                )
            }
            Event::Checked { manifest, projects, lock } if !quiet => {
                writeln!(
                    err,
                    "{VERB}{:>12}{VERB:#} {manifest}: {projects} project(s), lock {lock}",
                    "Checked"
                )
            }
            Event::Fetched { project, commit, version, patches, path, .. } => {
                // A tab-separated field: empty when there are none, like every other empty field.
                let patches = patches.join(", ");
                writeln!(out, "{project}\t{}\t{version}\t{patches}\t{path}", crate::error::short(commit, 12))
            }
            Event::Plan { plan, bindep } => write_plan(&mut out, plan, bindep),
            Event::Artifact { artifact } => writeln!(out, "{}", artifact.path.display()),
            Event::Inspected { inspection } => write_inspection(&mut out, inspection),
            Event::Error { failure } => write_failure(&mut err, failure),
            Event::Summary { projects } if !quiet => write_summary(&mut err, projects),
            Event::CacheInfo { usage } => write_usage(&mut out, usage),
            Event::Cleaned { removed, dry_run } => write_cleaned(&mut out, removed, *dry_run),
            Event::Published { published } => write_published(&mut out, published),
            Event::Pushed { pushed } => {
                for p in pushed.iter() {
                    let also = p.tags.iter().skip(1).map(|t| format!(", also :{t}")).collect::<String>();
                    let _ = writeln!(
                        out,
                        "{}@{} ({} blob(s) uploaded, {} bytes; {} present{also}{}{})",
                        p.reference,
                        p.digest,
                        p.uploaded,
                        p.uploaded_bytes,
                        p.present,
                        if p.replaced { "; the tag was moved from other bytes" } else { "" },
                        p.sbom.as_ref().map(|d| format!("; SBOM attached: {d}")).unwrap_or_default()
                    );
                }
                Ok(())
            }
            Event::ClosureChanged { project, changes } => {
                for c in changes.iter() {
                    let (before, after) =
                        (c.before.as_deref().unwrap_or("-"), c.after.as_deref().unwrap_or("-"));
                    let _ =
                        writeln!(out, "{project:<16} {:<28} {before:>14} -> {after:<14} {}", c.name, c.kind);
                }
                Ok(())
            }
            _ => Ok(()),
        };
    }
}

fn write_summary(err: &mut impl Write, projects: &[Outcome]) -> std::io::Result<()> {
    for o in projects {
        let what = match o.status {
            Status::Ok => format!("ok in {:.1}s, {} artifact(s)", o.seconds, o.artifacts.len()),
            Status::Reused => {
                format!("reused {} artifact(s): build key unchanged", o.artifacts.len())
            }
            Status::Failed => format!("failed in {:.1}s: {}", o.seconds, o.reason.as_deref().unwrap_or("")),
            Status::Skipped => "skipped after a failure (--fail-fast)".into(),
        };
        writeln!(err, "{VERB}{:>12}{VERB:#} {}: {what}", "Summary", o.project)?;
    }
    Ok(())
}

fn write_usage(out: &mut impl Write, usage: &Usage) -> std::io::Result<()> {
    writeln!(out, "cache: {}", usage.root.display())?;
    for c in &usage.categories {
        writeln!(
            out,
            "  {:<10} {:>6} entr{}  {:>10}",
            c.name,
            c.entries,
            if c.entries == 1 { "y  " } else { "ies" },
            human_size(c.bytes)
        )?;
    }
    writeln!(out, "  {:<10} {:>6}          {:>10}", "total", "", human_size(usage.bytes))
}

fn write_published(out: &mut impl Write, p: &crate::publish::Published) -> std::io::Result<()> {
    for outcome in [&p.apt, &p.dnf].into_iter().flatten() {
        for (verb, files) in [
            ("added", &outcome.added),
            ("unchanged", &outcome.unchanged),
            ("replaced", &outcome.replaced),
            ("removed", &outcome.removed),
        ] {
            for file in files {
                writeln!(out, "{verb:>9} {file}")?;
            }
        }
    }
    if let Some(sources) = &p.sources {
        // The entry ends with its newline.
        write!(
            out,
            "\napt clients (/etc/apt/sources.list.d/wrap.sources; copy the key to /etc/apt/keyrings/ on hosts):\n{sources}"
        )?;
    }
    if let Some(repo_file) = &p.repo_file {
        write!(out, "\ndnf clients (/etc/yum.repos.d/wrap.repo):\n{repo_file}")?;
    }
    Ok(())
}

fn write_cleaned(out: &mut impl Write, removed: &[Removed], dry_run: bool) -> std::io::Result<()> {
    for r in removed {
        writeln!(out, "{} ({}, {})", r.path.display(), r.reason, human_size(r.bytes))?;
    }
    let bytes: u64 = removed.iter().map(|r| r.bytes).sum();
    let verb = if dry_run { "would remove" } else { "removed" };
    writeln!(
        out,
        "{verb} {} entr{}, {}",
        removed.len(),
        if removed.len() == 1 { "y" } else { "ies" },
        human_size(bytes)
    )
}

fn write_plan(
    out: &mut impl Write,
    plan: &BuildPlan,
    bindep: &BTreeMap<String, crate::source::bindep::Bindep>,
) -> std::io::Result<()> {
    let formats: Vec<&str> = plan.formats.iter().map(|f| f.as_str()).collect();
    writeln!(out, "formats: {}", formats.join(", "))?;
    writeln!(out, "output:  {}", plan.output_dir.display())?;
    let rows: Vec<[String; 6]> = plan
        .projects
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                crate::error::short(&p.commit, 12).to_string(),
                format!("{}-{}", p.version, p.release),
                p.package_name.clone(),
                p.install_path.clone(),
                p.patches.len().to_string(),
            ]
        })
        .collect();
    let header = ["PROJECT", "COMMIT", "VERSION", "PACKAGE", "INSTALL PATH", "PATCHES"].map(String::from);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:w$}")).collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    for (project, b) in bindep {
        writeln!(out, "\n{project}: bindep.txt asks for")?;
        writeln!(out, "  deb: {}", if b.deb.is_empty() { "-".into() } else { b.deb.join(" ") })?;
        writeln!(out, "  rpm: {}", if b.rpm.is_empty() { "-".into() } else { b.rpm.join(" ") })?;
        if !b.missing.is_empty() {
            writeln!(out, "  not installed here: {}", b.missing.join(" "))?;
        }
    }
    Ok(())
}

fn write_inspection(out: &mut impl Write, i: &Inspection) -> std::io::Result<()> {
    writeln!(out, "{} ({})", i.path.display(), i.format)?;
    for (key, value) in &i.fields {
        writeln!(out, "{key}: {value}")?;
    }
    if !i.conffiles.is_empty() {
        writeln!(out, "\nconffiles:")?;
        for c in &i.conffiles {
            writeln!(out, "  {c}")?;
        }
    }
    for (name, text) in &i.scripts {
        writeln!(out, "\n{name}:")?;
        for line in text.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    writeln!(out, "\nfiles ({}):", i.files.len())?;
    for f in &i.files {
        let link = f.link.as_deref().map(|l| format!(" -> {l}")).unwrap_or_default();
        writeln!(out, "  {} {:>10}  {}{link}", mode_string(f.kind, f.mode), f.size, f.path)?;
    }
    for (name, value) in [("build-info.json", &i.build_info), ("sbom.cdx.json", &i.sbom)] {
        if let Some(value) = value {
            let text = serde_json::to_string_pretty(value).unwrap_or_default();
            writeln!(out, "\n{name}:\n{text}")?;
        }
    }
    writeln!(out, "\nverified: {} digest(s), all matching", i.verified)
}

/// One JSON object per line on stdout.
pub struct Json;

impl Reporter for Json {
    fn report(&self, event: &Event<'_>) {
        let line = serde_json::to_string(event).expect("events serialize");
        let _ = writeln!(std::io::stdout().lock(), "{line}");
        if let Event::Error { failure } = event {
            let _ = write_failure(&mut anstream::stderr().lock(), failure);
        }
    }
}
