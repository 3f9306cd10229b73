//! `wrap plan --matrix` and `wrap build --shard K/N`: the projects' weights (their last
//! recorded build times — the remote's, else this machine's — else an estimate from the locked
//! closure) and the shards they make. Both commands compute the same split from the same
//! weights.

use super::{LockMode, Session};
use crate::cache::store;
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::plan::matrix::{self, Form, Matrix};
use crate::plan::shard::{Shard, Weight, assign, estimate};
use crate::report::Event;

impl Session<'_> {
    /// Every project's weight, in manifest order.
    fn weights(&self, lock: &Lock) -> Result<Vec<Weight>> {
        let mut weights = Vec::new();
        for project in &self.manifest.projects {
            let mut recorded = None;
            if let Some(remote) = self.remote.as_ref().filter(|r| !r.is_down()) {
                match remote.time(&project.name) {
                    Ok(t) => recorded = t,
                    Err(failure) => self.remote_failed(None, failure)?,
                }
            }
            let recorded = recorded.or_else(|| store::recorded_time(&self.cache, &project.name));
            let weight = match recorded {
                Some(seconds) => Weight {
                    project: project.name.clone(),
                    seconds: seconds.ceil().max(1.0) as u64,
                    source: "recorded",
                },
                None => self.estimated(lock, &project.name),
            };
            weights.push(weight);
        }
        Ok(weights)
    }

    /// The weight of a project never built: an estimate from its locked closure.
    fn estimated(&self, lock: &Lock, project: &str) -> Weight {
        let distributions =
            lock.project(project).and_then(|p| p.closure.as_ref()).map_or(0, |c| c.install.len());
        Weight { project: project.into(), seconds: estimate(distributions), source: "estimated" }
    }

    /// The projects of `shard`, in manifest order (none when there are fewer projects than
    /// shards).
    pub fn shard_projects(&self, mode: &LockMode, shard: &Shard) -> Result<Vec<String>> {
        let lock = self.lock(mode)?;
        let weights = match &shard.weights {
            // The plan's weights; a project it did not know (the manifest changed since) is
            // estimated, as the plan would have.
            Some(pinned) => self
                .manifest
                .projects
                .iter()
                .map(|p| match pinned.iter().find(|(name, _)| *name == p.name) {
                    Some((_, seconds)) => {
                        Weight { project: p.name.clone(), seconds: *seconds, source: "recorded" }
                    }
                    None => self.estimated(&lock, &p.name),
                })
                .collect(),
            None => self.weights(&lock)?,
        };
        let split = assign(&weights, shard.count);
        Ok(split.into_iter().nth(shard.index - 1).unwrap_or_default())
    }

    /// `wrap plan --matrix`: the jobs of `shards` shards on each of `targets` (every target of
    /// the manifest when none is named), printed in `form`.
    pub fn matrix(&self, mode: &LockMode, shards: usize, targets: &[String], form: Form) -> Result<Matrix> {
        let lock = self.lock(mode)?;
        if let Some(unknown) = targets.iter().find(|t| !self.manifest.targets.iter().any(|m| &m.name == *t)) {
            return Err(Error::UnknownTarget {
                name: unknown.clone(),
                known: self.manifest.targets.iter().map(|t| t.name.clone()).collect(),
            });
        }
        let chosen = self
            .manifest
            .targets
            .iter()
            .filter(|t| targets.is_empty() || targets.contains(&t.name))
            .cloned()
            .collect();
        let matrix = matrix::matrix(self.weights(&lock)?, shards, chosen);
        let text = matrix.render(form, &self.manifest.path.display().to_string());
        self.reporter.report(&Event::Matrix { matrix: &matrix, text: &text });
        Ok(matrix)
    }
}
