//! `wrap fetch`: each project's patched checkout at its pinned commit, and the files its
//! locked closure pins, in wrap's cache, so that a build after it needs no network.

use std::path::PathBuf;

use super::{LockMode, Session};
use crate::error::{Result, short};
use crate::report::Event;
use crate::source;
use crate::venv;

impl Session<'_> {
    /// `wrap fetch`: a patched checkout per selected project, and its locked files.
    pub fn fetch(&self, mode: &LockMode, projects: &[String]) -> Result<Vec<source::Checkout>> {
        self.check_names(projects)?;
        let _cache = self.hold_cache()?;
        let lock = self.lock_with(mode, false)?;
        let _busy = crate::interrupt::Busy::start();
        self.constraint_files(&lock)?;
        let mut out = Vec::new();
        for project in &self.manifest.projects {
            if !projects.is_empty() && !projects.contains(&project.name) {
                continue;
            }
            let locked = lock.project(&project.name).expect("the lock covers every project");
            let checkout = self.checkout(project, locked, self.offline)?;
            // The path printed holds the patched files, for an operator to read (builds read
            // only the checkout's index).
            checkout.write_files(&project.name)?;
            if !checkout.reused {
                self.reporter.project_status(
                    "Fetched",
                    &project.name,
                    format!("{} ({})", short(&locked.commit, 12), locked.version),
                );
            }
            // The files its closure pins too, so that a locked build after it needs no network.
            if let Some(resolved) = lock.resolved(&project.name) {
                let links: Vec<PathBuf> =
                    self.manifest.settings.find_links.iter().map(|l| l.abs.clone()).collect();
                let fetched = venv::wheelhouse::ensure_closure(
                    &self.cache,
                    &project.name,
                    &resolved,
                    &links,
                    self.offline,
                )?;
                if fetched > 0 {
                    self.reporter.project_status(
                        "Fetched",
                        &project.name,
                        format!("{fetched} locked file(s)"),
                    );
                }
            }
            self.reporter.report(&Event::Fetched {
                project: &project.name,
                commit: &locked.commit,
                version: &locked.version,
                patches: project.patches.iter().map(|p| p.rel.as_str()).collect(),
                path: checkout.path.display().to_string(),
                reused: checkout.reused,
            });
            out.push(checkout);
        }
        // The locked registry base image too, for `--format oci`.
        self.pulled_base(&lock)?;
        Ok(out)
    }
}
