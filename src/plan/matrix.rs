//! The CI matrix (`wrap plan --matrix`): shards of the projects ([`super::shard`]) crossed with
//! the manifest's `[[target]]`s, written for GitHub Actions (`strategy.matrix` via
//! `fromJSON`), GitLab CI (a child pipeline with `parallel:matrix`) or as plain JSON. Pure: the
//! weights come from the caller. The GitLab pipeline is YAML written in its JSON subset, which
//! every YAML 1.2 reader (GitLab's included) reads, so no YAML writer is needed.

use serde::Serialize;
use serde_json::{Value, json};

use super::shard::{Shard, Weight, assign};
use crate::manifest::Target;

/// The matrix's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// GitHub Actions.
    Github,
    /// GitLab CI.
    Gitlab,
    /// Plain JSON.
    Json,
}

/// One job: a shard on a target.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Job {
    /// `K/N@weights`, as `wrap build --shard` takes it: the split is made again from the same
    /// weights.
    pub shard: String,
    /// `K/N`, for people.
    pub label: String,
    /// The target's name, when the manifest has targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The projects it builds, in manifest order.
    pub projects: Vec<String>,
    /// Their weights' sum, in seconds.
    pub seconds: u64,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Matrix {
    /// Shards per target.
    pub shards: usize,
    /// The targets (none: one job per shard, on whatever runs it).
    pub targets: Vec<Target>,
    /// Every job: each target's shards in order.
    pub jobs: Vec<Job>,
    /// Each project's weight and where it came from, in manifest order.
    pub weights: Vec<Weight>,
}

/// The matrix of `weights` split into `shards`, for each of `targets`.
pub fn matrix(weights: Vec<Weight>, shards: usize, targets: Vec<Target>) -> Matrix {
    let split = assign(&weights, shards);
    let seconds = |projects: &[String]| {
        weights.iter().filter(|w| projects.contains(&w.project)).map(|w| w.seconds.max(1)).sum()
    };
    let names: Vec<Option<String>> =
        if targets.is_empty() { vec![None] } else { targets.iter().map(|t| Some(t.name.clone())).collect() };
    let pinned: Vec<(String, u64)> = weights.iter().map(|w| (w.project.clone(), w.seconds)).collect();
    let mut jobs = Vec::new();
    for target in &names {
        for (i, projects) in split.iter().enumerate() {
            let shard = Shard { index: i + 1, count: split.len(), weights: Some(pinned.clone()) };
            jobs.push(Job {
                shard: shard.to_string(),
                label: shard.label(),
                target: target.clone(),
                projects: projects.clone(),
                seconds: seconds(projects),
            });
        }
    }
    Matrix { shards: split.len(), targets, jobs, weights }
}

impl Matrix {
    fn target(&self, name: &Option<String>) -> Option<&Target> {
        self.targets.iter().find(|t| Some(&t.name) == name.as_ref())
    }

    /// The matrix in `form`: GitHub's on one line (for `$GITHUB_OUTPUT`), the others indented.
    pub fn render(&self, form: Form, manifest: &str) -> String {
        match form {
            Form::Github => self.github().to_string(),
            Form::Gitlab => serde_json::to_string_pretty(&self.gitlab(manifest)).expect("serializes"),
            Form::Json => serde_json::to_string_pretty(self).expect("serializes"),
        }
    }

    /// `{"include": [...]}`: per job its shard, projects (space-separated, for display) and,
    /// with targets, the target's name, `runs_on` (a label, or a list of labels as `runs-on`
    /// takes them) and `image`.
    fn github(&self) -> Value {
        let include: Vec<Value> = self
            .jobs
            .iter()
            .map(|job| {
                let mut entry =
                    json!({ "shard": job.shard, "label": job.label, "projects": job.projects.join(" ") });
                if let Some(target) = self.target(&job.target) {
                    entry["target"] = json!(target.name);
                    match target.runs_on.as_slice() {
                        [] => {}
                        [one] => entry["runs_on"] = json!(one),
                        many => entry["runs_on"] = json!(many),
                    }
                    if let Some(image) = &target.image {
                        entry["image"] = json!(image);
                    }
                }
                entry
            })
            .collect();
        json!({ "include": include })
    }

    /// A child pipeline: one job per target (its image and runner tags), run once per shard by
    /// `parallel:matrix`, each running `wrap build --locked --shard "$WRAP_SHARD"`. The manifest
    /// path and the shard reach the script as variables, never as script text.
    fn gitlab(&self, manifest: &str) -> Value {
        let shards: Vec<&str> = self.jobs.iter().take(self.shards).map(|j| j.shard.as_str()).collect();
        let mut pipeline = serde_json::Map::new();
        pipeline.insert("stages".into(), json!(["build"]));
        let targets: Vec<Option<&Target>> =
            if self.targets.is_empty() { vec![None] } else { self.targets.iter().map(Some).collect() };
        for target in targets {
            let mut job = json!({
                "stage": "build",
                "variables": { "WRAP_MANIFEST": manifest },
                "parallel": { "matrix": [ { "WRAP_SHARD": shards } ] },
                "script": [ "wrap -m \"$WRAP_MANIFEST\" build --locked --shard \"$WRAP_SHARD\"" ],
                "artifacts": { "paths": ["dist/"], "expire_in": "1 week" },
            });
            let name = match target {
                Some(t) => {
                    job["variables"]["WRAP_TARGET"] = json!(t.name);
                    if let Some(image) = &t.image {
                        job["image"] = json!(image);
                    }
                    if !t.runs_on.is_empty() {
                        job["tags"] = json!(t.runs_on);
                    }
                    format!("build {}", t.name)
                }
                None => "build".into(),
            };
            pipeline.insert(name, job);
        }
        Value::Object(pipeline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights() -> Vec<Weight> {
        [("a", 30), ("b", 20), ("c", 10)]
            .map(|(p, s)| Weight { project: p.into(), seconds: s, source: "recorded" })
            .to_vec()
    }

    #[test]
    fn jobs_cross_shards_with_targets() {
        let targets = vec![
            Target {
                name: "debian-12".into(),
                runs_on: vec!["self-hosted".into(), "x64".into()],
                image: None,
            },
            Target {
                name: "rocky-9".into(),
                runs_on: vec!["ubuntu-24.04".into()],
                image: Some("rockylinux:9".into()),
            },
        ];
        let m = matrix(weights(), 2, targets);
        let jobs: Vec<(&str, Option<&str>, Vec<&str>, u64)> = m
            .jobs
            .iter()
            .map(|j| {
                (
                    j.label.as_str(),
                    j.target.as_deref(),
                    j.projects.iter().map(String::as_str).collect(),
                    j.seconds,
                )
            })
            .collect();
        assert_eq!(
            jobs,
            vec![
                ("1/2", Some("debian-12"), vec!["a"], 30),
                ("2/2", Some("debian-12"), vec!["b", "c"], 30),
                ("1/2", Some("rocky-9"), vec!["a"], 30),
                ("2/2", Some("rocky-9"), vec!["b", "c"], 30),
            ]
        );
        let github: Value = serde_json::from_str(&m.render(Form::Github, "wrap.toml")).unwrap();
        let shard2 = "2/2@a=30,b=20,c=10";
        assert_eq!(
            github["include"][1],
            json!({"shard": shard2, "label": "2/2", "projects": "b c", "target": "debian-12", "runs_on": ["self-hosted", "x64"]})
        );
        assert_eq!(github["include"][2]["runs_on"], json!("ubuntu-24.04"));
        assert_eq!(github["include"][2]["image"], json!("rockylinux:9"));
        let gitlab: Value = serde_json::from_str(&m.render(Form::Gitlab, "ops/wrap.toml")).unwrap();
        assert_eq!(
            gitlab["build rocky-9"]["parallel"]["matrix"][0]["WRAP_SHARD"],
            json!(["1/2@a=30,b=20,c=10", shard2])
        );
        assert_eq!(gitlab["build rocky-9"]["image"], json!("rockylinux:9"));
        assert_eq!(gitlab["build debian-12"]["tags"], json!(["self-hosted", "x64"]));
        assert_eq!(gitlab["build debian-12"]["variables"]["WRAP_MANIFEST"], json!("ops/wrap.toml"));
    }

    #[test]
    fn without_targets_one_job_per_shard() {
        let m = matrix(weights(), 3, Vec::new());
        assert_eq!(m.jobs.len(), 3);
        assert!(m.jobs.iter().all(|j| j.target.is_none() && j.projects.len() == 1));
        let gitlab: Value = serde_json::from_str(&m.render(Form::Gitlab, "wrap.toml")).unwrap();
        assert!(gitlab.get("build").is_some());
    }
}
