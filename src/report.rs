//! Output. The core never prints: it hands [`Event`]s to a [`Reporter`]. [`Human`] writes
//! progress to stderr (cargo-style status lines, nothing with `-q`) and results to stdout;
//! [`Json`] writes every event as one JSON object per line on stdout.

use std::io::Write;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::package::Artifact;
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
    Plan { plan: &'a BuildPlan },
    /// An artifact was written.
    Artifact { artifact: &'a Artifact },
    /// What `wrap inspect` read back.
    Inspected { inspection: &'a Inspection },
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
}

/// Terminal and plain-text output.
pub struct Human {
    /// Only errors on stderr.
    pub quiet: bool,
}

const VERB: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();

impl Reporter for Human {
    fn report(&self, event: &Event<'_>) {
        let mut err = anstream::stderr().lock();
        let mut out = anstream::stdout().lock();
        // Output that cannot be written (a closed pipe) is not worth failing the build for.
        let _ = match event {
            Event::Status { verb, message } if !self.quiet => {
                writeln!(err, "{VERB}{verb:>12}{VERB:#} {message}")
            }
            Event::Warning { message } if !self.quiet => {
                writeln!(err, "{WARN}warning{WARN:#}: {message}")
            }
            Event::Checked { manifest, projects, lock } if !self.quiet => {
                writeln!(
                    err,
                    "{VERB}{:>12}{VERB:#} {manifest}: {projects} project(s), lock {lock}",
                    "Checked"
                )
            }
            Event::Fetched { project, commit, version, patches, path, .. } => {
                let patches = if patches.is_empty() { "no patches".to_string() } else { patches.join(", ") };
                writeln!(out, "{project}\t{}\t{version}\t{patches}\t{path}", &commit[..12])
            }
            Event::Plan { plan } => write_plan(&mut out, plan),
            Event::Artifact { artifact } => writeln!(out, "{}", artifact.path.display()),
            Event::Inspected { inspection } => write_inspection(&mut out, inspection),
            _ => Ok(()),
        };
    }
}

fn write_plan(out: &mut impl Write, plan: &BuildPlan) -> std::io::Result<()> {
    let formats: Vec<&str> = plan.formats.iter().map(|f| f.as_str()).collect();
    writeln!(out, "formats: {}", formats.join(", "))?;
    writeln!(out, "output:  {}", plan.output_dir.display())?;
    let rows: Vec<[String; 6]> = plan
        .projects
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.commit[..12].to_string(),
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
    }
}
