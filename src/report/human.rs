//! Output for people: on a terminal a live line per project showing its stage and elapsed
//! time, above them cargo-style status lines; plain status lines otherwise; nothing with `-q`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use anstyle::{AnsiColor, Style};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Event, Failure, Outcome, Reporter, SourceLine, Status};
use crate::cache::prune::{Removed, Usage, human_size};
use crate::manifest::Format;
use crate::package::inspect::{Inspection, mode_string};
use crate::plan::BuildPlan;

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
    lines: Mutex<Lines>,
}

/// The live lines of a build: a total above one line per project.
#[derive(Default)]
struct Lines {
    /// `Building 2/5 done, 1 failed [elapsed]`, made at the first stage event.
    total: Option<ProgressBar>,
    /// Each project's line, and whether it has left the queue (its clock starts then).
    projects: BTreeMap<String, (ProgressBar, bool)>,
    /// How many have ended, and how many of those failed.
    ended: usize,
    failed: usize,
}

impl Human {
    /// Output for people: `quiet` shows only errors; `live` draws a line per project (when
    /// stderr is a terminal).
    pub fn new(quiet: bool, verbose: bool, live: bool) -> Human {
        let progress = (live && !quiet).then(|| Progress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            lines: Mutex::new(Lines::default()),
        });
        Human { quiet, verbose, progress }
    }

    fn show_stage(&self, project: &str, stage: &str, format: Option<Format>, detail: Option<&str>) {
        let Some(p) = &self.progress else { return };
        let mut lines = p.lines.lock().unwrap_or_else(|e| e.into_inner());
        let lines = &mut *lines;
        let total = lines.total.get_or_insert_with(|| {
            let bar = p.multi.insert(0, ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{prefix:>12.green.bold} {msg} [{elapsed}]")
                    .expect("a valid template"),
            );
            bar.set_prefix("Building");
            bar.enable_steady_tick(std::time::Duration::from_millis(500));
            bar
        });
        let (bar, started) = lines.projects.entry(project.to_string()).or_insert_with(|| {
            let bar = p.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.green} {prefix:<20} {msg:<14} {elapsed:>4}")
                    .expect("a valid template")
                    .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✓"),
            );
            bar.set_prefix(project.to_string());
            (bar, false)
        });
        let text = match (format, detail) {
            (Some(f), _) => format!("{stage} {}", f.as_str()),
            (None, Some(d)) => format!("{stage}: {d}"),
            (None, None) => stage.to_string(),
        };
        if stage != "queued" && !*started {
            // The clock counts the project's own time, not its wait for a job slot.
            *started = true;
            bar.reset_elapsed();
        }
        match stage {
            "done" | "reused" | "failed" => {
                bar.finish_with_message(text);
                lines.ended += 1;
                lines.failed += usize::from(stage == "failed");
            }
            "queued" => bar.set_message(text),
            _ => {
                bar.enable_steady_tick(std::time::Duration::from_millis(100));
                bar.set_message(text);
            }
        }
        let failed = if lines.failed > 0 { format!(", {} failed", lines.failed) } else { String::new() };
        total.set_message(format!("{}/{} project(s) done{failed}", lines.ended, lines.projects.len()));
    }

    /// Clears the live lines: the summary replaces them.
    fn clear_progress(&self) {
        let Some(p) = &self.progress else { return };
        let lines = p.lines.lock().unwrap_or_else(|e| e.into_inner());
        for bar in lines.total.iter().chain(lines.projects.values().map(|(bar, _)| bar)) {
            bar.finish_and_clear();
        }
        let _ = p.multi.clear();
        p.multi.set_draw_target(ProgressDrawTarget::hidden());
    }
}

const VERB: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();

/// `error: …`, the installer's lines, `caused by: …` lines and the hint, on stderr: errors are
/// shown whatever the output mode.
pub(super) fn write_failure(err: &mut impl Write, failure: &Failure) -> std::io::Result<()> {
    writeln!(err, "{ERROR}error{ERROR:#}: {}", failure.message)?;
    if let Some(source) = &failure.source {
        writeln!(err, "{}", snippet(source))?;
    }
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
        if let Event::Stage { project, stage, format, detail } = event {
            return self.show_stage(project, stage, *format, *detail);
        }
        if let Event::Summary { .. } = event {
            self.clear_progress();
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
            Event::Status { verb, project, format, detail } if !quiet => {
                let format = format.map(|f| format!("as {}", f.as_str()));
                let words: Vec<&str> = [*project, format.as_deref(), Some(detail.as_str())]
                    .into_iter()
                    .flatten()
                    .filter(|w| !w.is_empty())
                    .collect();
                writeln!(err, "{VERB}{verb:>12}{VERB:#} {}", words.join(" "))
            }
            Event::Warning { project, message } if !quiet => match project {
                Some(project) => writeln!(err, "{WARN}warning{WARN:#}: project `{project}`: {message}"),
                None => writeln!(err, "{WARN}warning{WARN:#}: {message}"),
            },
            Event::Initialized { .. }
            | Event::Locked { .. }
            | Event::PatchCheckout { .. }
            | Event::PatchesRefreshed { .. }
                if !quiet =>
            {
                write_done(&mut err, event)
            }
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
            Event::Matrix { matrix, text } => write_matrix(&mut out, &mut err, matrix, text, quiet),
            Event::Artifact { artifact } => writeln!(out, "{}", artifact.path.display()),
            Event::Inspected { inspection } => write_inspection(&mut out, inspection),
            Event::Error { failure } => write_failure(&mut err, failure),
            Event::Summary { projects, seconds, .. } if !quiet => write_summary(&mut err, projects, *seconds),
            Event::CacheInfo { usage } => write_usage(&mut out, usage),
            Event::Cleaned { removed, dry_run } => write_cleaned(&mut out, removed, *dry_run),
            Event::Published { published } => write_published(&mut out, published),
            Event::Pushed { pushed } => write_pushed(&mut out, pushed),
            Event::ClosureChanged { project, changes } => write_changes(&mut out, project, changes),
            _ => Ok(()),
        };
    }
}

/// The line at fault with a caret under the span, as cargo shows it (styled; anstream strips
/// the styles where colour is off).
fn snippet(source: &SourceLine) -> String {
    use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
    let text = source.text.as_str();
    let byte = |chars: usize| text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i);
    let span = match source.col {
        Some(col) => {
            let start = byte(col.saturating_sub(1));
            start..byte(col.saturating_sub(1) + source.width.max(1)).max(start)
        }
        // No column: the whole line, without its indentation.
        None => (text.len() - text.trim_start().len())..text.trim_end().len(),
    };
    let group = Group::with_level(Level::ERROR).element(
        Snippet::source(text)
            .line_start(source.line)
            .path(source.file.as_str())
            .annotation(AnnotationKind::Primary.span(span)),
    );
    Renderer::styled().render(&[group]).to_string()
}

/// The one-line results of `wrap init` and `wrap lock`, on stderr.
fn write_done(err: &mut impl Write, event: &Event<'_>) -> std::io::Result<()> {
    match event {
        Event::Initialized { manifest, project, git, git_ref, scripts } => {
            let scripts = match scripts.len() {
                0 => String::new(),
                n => format!("; {n} console script(s) listed as candidate services"),
            };
            writeln!(
                err,
                "{VERB}{:>12}{VERB:#} {manifest}: {project} from {git} at `{git_ref}`{scripts}\n{HINT}hint{HINT:#}: edit it, then run `wrap lock` and `wrap build`",
                "Created"
            )
        }
        Event::PatchCheckout { project, dir, commit, patches } => writeln!(
            err,
            "{VERB}{:>12}{VERB:#} {project}: {patches} patch(es) as commits on {} in {dir}\n{HINT}hint{HINT:#}: edit, commit (or rebase), then `wrap patch refresh {project}`",
            "Checked out",
            crate::error::short(commit, 12)
        ),
        Event::PatchesRefreshed { project, files, dropped } => {
            for f in files.iter() {
                writeln!(err, "{VERB}{:>12}{VERB:#} {project}: {} {}", "Refreshed", f.path, f.state)?;
            }
            for d in dropped.iter() {
                writeln!(
                    err,
                    "{WARN}warning{WARN:#}: {d} is no longer in the manifest (no commit holds it); the file is kept"
                )?;
            }
            Ok(())
        }
        Event::Locked { path, written, projects } => {
            let resolved = projects.iter().filter(|p| p.distributions.is_some()).count();
            writeln!(
                err,
                "{VERB}{:>12}{VERB:#} {} project(s), {resolved} with a dependency closure: {path} {}",
                "Locked",
                projects.len(),
                if *written { "written" } else { "unchanged" }
            )
        }
        _ => Ok(()),
    }
}

fn write_pushed(out: &mut impl Write, pushed: &[crate::registry::Pushed]) -> std::io::Result<()> {
    for p in pushed {
        let also = p.tags.iter().skip(1).map(|t| format!(", also :{t}")).collect::<String>();
        writeln!(
            out,
            "{}@{} ({} blob(s) uploaded, {} bytes; {} present{also}{}{})",
            p.reference,
            p.digest,
            p.uploaded,
            p.uploaded_bytes,
            p.present,
            if p.replaced { "; the tag was moved from other bytes" } else { "" },
            p.sbom.as_ref().map(|d| format!("; SBOM attached: {d}")).unwrap_or_default()
        )?;
    }
    Ok(())
}

fn write_changes(
    out: &mut impl Write,
    project: &str,
    changes: &[crate::lock::closure::Change],
) -> std::io::Result<()> {
    for c in changes {
        let (before, after) = (c.before.as_deref().unwrap_or("-"), c.after.as_deref().unwrap_or("-"));
        writeln!(out, "{project:<16} {:<28} {before:>14} -> {after:<14} {}", c.name, c.kind)?;
    }
    Ok(())
}

fn write_summary(err: &mut impl Write, projects: &[Outcome], seconds: f64) -> std::io::Result<()> {
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
    let count = |status: Status| projects.iter().filter(|o| o.status == status).count();
    let mut parts = vec![format!("{} ok", count(Status::Ok)), format!("{} reused", count(Status::Reused))];
    for (status, word) in [(Status::Failed, "failed"), (Status::Skipped, "skipped")] {
        if count(status) > 0 {
            parts.push(format!("{} {word}", count(status)));
        }
    }
    writeln!(
        err,
        "{VERB}{:>12}{VERB:#} {} project(s) in {seconds:.1}s: {}",
        "Total",
        projects.len(),
        parts.join(", ")
    )?;
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

/// The matrix on stdout, for the CI engine; its shards for people on stderr.
fn write_matrix(
    out: &mut impl Write,
    err: &mut impl Write,
    matrix: &crate::plan::matrix::Matrix,
    text: &str,
    quiet: bool,
) -> std::io::Result<()> {
    if !quiet {
        for job in &matrix.jobs {
            let target = job.target.as_deref().map(|t| format!(" on {t}")).unwrap_or_default();
            let (label, n, seconds, projects) =
                (&job.label, job.projects.len(), job.seconds, job.projects.join(" "));
            writeln!(
                err,
                "{VERB}{:>12}{VERB:#} {label}{target}: {n} project(s), ~{seconds}s: {projects}",
                "Shard"
            )?;
        }
    }
    writeln!(out, "{text}")
}
