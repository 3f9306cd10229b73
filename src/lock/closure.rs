//! The dependency closure in `wrap.lock`: for each project, what its installer resolved (every
//! distribution it installs, and the build requirements of its own wheel and of its sdists) as
//! `name==version`, and, once per distribution for the whole lock, the files with their sha256
//! that may be installed for it. A closure holds for the inputs it was resolved from (commit,
//! the patches that touch requirement files, constraints, extras, extra dependencies:
//! [`inputs_digest`]) and for one interpreter version.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A project's resolved closure, as the lock records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    /// The interpreter version it was resolved for (`3.11.2`).
    pub python: String,
    /// The digest of the inputs it was resolved from ([`inputs_digest`]).
    pub inputs: String,
    /// The build requirements, `name==version`, sorted: of the project's own wheel and of every
    /// distribution of the closure that is built from an sdist.
    pub build: Vec<String>,
    /// Every distribution installed besides the project, `name==version`, sorted.
    pub install: Vec<String>,
}

/// One distribution's files in the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    /// The normalized name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The files that may be installed for it (the wheels the interpreter can install; the sdist
    /// where there is none), sorted by name.
    pub files: Vec<DistFile>,
}

/// A file of a distribution.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistFile {
    /// The file name (`shout-1.0.0-py3-none-any.whl`).
    pub name: String,
    /// Its sha256.
    pub sha256: String,
    /// Where an index served it (`https://…`); none for files from `find_links`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Distribution {
    /// `name==version`: how a closure names it.
    pub fn pin(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }

    /// What in it cannot stand in a requirements file or a path, if anything: its name (not a
    /// normalized distribution name), its version (not PEP 440), a file (no files, a name that
    /// is not a plain file name, a sha256 that is not 64 hex digits) or a URL (not http(s), or
    /// with spaces or control characters). Checked where a lock is read and where uv's
    /// resolution is taken in: these values are written into installer requirement lines.
    pub fn problem(&self) -> Option<String> {
        let what = || {
            format!(
                "distribution `{}=={}`",
                crate::error::printable(&self.name),
                crate::error::printable(&self.version)
            )
        };
        let plain_name = !self.name.is_empty()
            && self.name == crate::pyenv::normalize(&self.name)
            && self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c))
            && self.name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && self.name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !plain_name {
            return Some(format!("{}: the name is not a normalized distribution name", what()));
        }
        let version_chars = self.version.chars().all(|c| c.is_ascii_alphanumeric() || ".+!-_".contains(c));
        if !version_chars || crate::version::parse(&self.version).is_none() {
            return Some(format!("{}: the version is not a PEP 440 version", what()));
        }
        if self.files.is_empty() {
            return Some(format!("{}: no file is pinned", what()));
        }
        for f in &self.files {
            let plain_file = !f.name.starts_with('.')
                && !f.name.is_empty()
                && f.name.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
            if !plain_file {
                return Some(format!(
                    "{}: `{}` is not a plain file name",
                    what(),
                    crate::error::printable(&f.name)
                ));
            }
            if !crate::lock::is_sha256(&f.sha256) {
                return Some(format!(
                    "{}: the sha256 `{}` of `{}` is not 64 hex digits",
                    what(),
                    crate::error::printable(&f.sha256),
                    f.name
                ));
            }
            let url_ok = f.url.as_deref().is_none_or(|u| {
                (u.starts_with("https://") || u.starts_with("http://"))
                    && !u.chars().any(|c| c.is_whitespace() || c.is_control())
            });
            if !url_ok {
                return Some(format!("{}: the URL of `{}` is not an http(s) URL", what(), f.name));
            }
        }
        None
    }

    /// The requirement line that installs exactly one of its files:
    /// `name==version --hash=sha256:… …`.
    pub fn hashed_requirement(&self) -> String {
        let mut line = self.pin();
        for file in &self.files {
            line.push_str(&format!(" --hash=sha256:{}", file.sha256));
        }
        line
    }
}

/// What wrap's resolution covers, as a number in every closure's inputs: a closure resolved by
/// a wrap that covered less is stale. 2: the build requirements of every distribution built
/// from an sdist, and those its build backend asks for (`get_requires_for_build_wheel`).
pub const RESOLUTION: u32 = 2;

/// What a closure's inputs are: the digest a closure records and is checked against.
#[derive(Debug, Serialize)]
pub struct Inputs<'a> {
    /// What wrap's resolution covers ([`RESOLUTION`]).
    pub resolution: u32,
    /// The pinned commit.
    pub commit: &'a str,
    /// The sha256 of the patches that change a file declaring requirements, in order.
    pub patches: Vec<&'a str>,
    /// The constraints files' sha256, in order.
    pub constraints: Vec<&'a str>,
    /// The extras installed.
    pub extras: &'a [String],
    /// The extra requirements.
    pub dependencies: &'a [String],
}

/// The digest of `inputs`.
pub fn inputs_digest(inputs: &Inputs<'_>) -> String {
    crate::digest::sha256_hex(&serde_json::to_vec(inputs).expect("serializes"))
}

/// Whether the patch at `path` changes a file where a Python project declares what it
/// requires to build or to run: setup.py, setup.cfg, pyproject.toml, a requirements file (pbr
/// reads requirements.txt). Only such patches can change a closure; a patch that cannot be
/// read counts as one.
pub fn touches_requirements(path: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read(path) else { return true };
    let text = String::from_utf8_lossy(&text);
    text.lines()
        .filter_map(|line| {
            let paths = line
                .strip_prefix("diff --git ")
                .or_else(|| line.strip_prefix("--- "))
                .or_else(|| line.strip_prefix("+++ "))
                .or_else(|| line.strip_prefix("rename from "))
                .or_else(|| line.strip_prefix("rename to "))?;
            Some(
                paths
                    .split([' ', '\t'])
                    .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .any(|name| {
            matches!(name.as_str(), "setup.py" | "setup.cfg" | "pyproject.toml")
                || (name.contains("requirements") && (name.ends_with(".txt") || name.ends_with(".in")))
        })
}

/// A closure with its distributions' files: what a locked build installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Resolved {
    /// The interpreter version it was resolved for.
    pub python: String,
    /// The build requirements of the project's wheel and of the sdists among `install`.
    pub build: Vec<Distribution>,
    /// What is installed besides the project.
    pub install: Vec<Distribution>,
}

/// The distributions of every closure in `resolved`, merged (one entry per name and version,
/// the union of their files), sorted by name and version.
pub fn merge<'a>(resolved: impl IntoIterator<Item = &'a Resolved>) -> Vec<Distribution> {
    let mut by_pin: BTreeMap<(String, String), BTreeSet<DistFile>> = BTreeMap::new();
    for r in resolved {
        for d in r.build.iter().chain(&r.install) {
            by_pin.entry((d.name.clone(), d.version.clone())).or_default().extend(d.files.iter().cloned());
        }
    }
    let mut out: Vec<Distribution> = by_pin
        .into_iter()
        .map(|((name, version), files)| Distribution { name, version, files: files.into_iter().collect() })
        .collect();
    out.sort_by(|a, b| {
        let v = |d: &Distribution| crate::version::parse(&d.version);
        (&a.name, v(a), &a.version).cmp(&(&b.name, v(b), &b.version))
    });
    out
}

/// The closure record of `resolved`, resolved from inputs with digest `inputs`.
pub fn record(resolved: &Resolved, inputs: String) -> Closure {
    let pins = |list: &[Distribution]| {
        let mut pins: Vec<String> = list.iter().map(Distribution::pin).collect();
        pins.sort();
        pins
    };
    Closure {
        python: resolved.python.clone(),
        inputs,
        build: pins(&resolved.build),
        install: pins(&resolved.install),
    }
}

/// How one distribution of a project's closure changed: what `wrap lock --update` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// The distribution's name.
    pub name: String,
    /// `added`, `removed`, `upgraded` or `downgraded`.
    pub kind: &'static str,
    /// Its version before, if it was there.
    pub before: Option<String>,
    /// Its version now, if it is there.
    pub after: Option<String>,
}

/// What differs between two pin lists (`name==version`), by name.
pub fn changes(before: &[String], after: &[String]) -> Vec<Change> {
    let split = |pins: &[String]| -> BTreeMap<String, String> {
        pins.iter().filter_map(|p| p.split_once("==")).map(|(n, v)| (n.to_string(), v.to_string())).collect()
    };
    let (before, after) = (split(before), split(after));
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let kind = |b: Option<&String>, a: Option<&String>| match (b, a) {
        (None, _) => "added",
        (_, None) => "removed",
        (Some(b), Some(a)) if crate::version::parse(a) >= crate::version::parse(b) => "upgraded",
        _ => "downgraded",
    };
    names
        .into_iter()
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| Change {
            name: n.clone(),
            kind: kind(before.get(n), after.get(n)),
            before: before.get(n).cloned(),
            after: after.get(n).cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_patches_of_requirement_files_touch_the_closure() {
        let tmp = tempfile::tempdir().unwrap();
        let patch = |name: &str, text: &str| {
            let path = tmp.path().join(name);
            std::fs::write(&path, text).unwrap();
            touches_requirements(&path)
        };
        let code =
            "diff --git a/keystone/api.py b/keystone/api.py\n--- a/keystone/api.py\n+++ b/keystone/api.py\n";
        assert!(!patch("code.patch", code));
        assert!(!patch(
            "new.patch",
            "diff --git a/NIGHTLY b/NIGHTLY\nnew file mode 100644\n--- /dev/null\n+++ b/NIGHTLY\n"
        ));
        assert!(patch("reqs.patch", &format!("{code}diff --git a/requirements.txt b/requirements.txt\n")));
        assert!(patch("cfg.patch", "--- a/setup.cfg\t2026-01-01\n+++ b/setup.cfg\t2026-01-02\n"));
        assert!(patch("toml.patch", "--- x/pyproject.toml\n+++ y/pyproject.toml\n"));
        assert!(patch("rename.patch", "diff --git a/a b/b\nrename from setup.py\nrename to old_setup.py\n"));
        assert!(touches_requirements(&tmp.path().join("missing.patch")));
    }

    fn dist(name: &str, version: &str, file: &str) -> Distribution {
        Distribution {
            name: name.into(),
            version: version.into(),
            files: vec![DistFile { name: file.into(), sha256: "a".repeat(64), url: None }],
        }
    }

    #[test]
    fn shared_distributions_are_written_once_with_every_file() {
        let one = Resolved {
            python: "3.11.2".into(),
            build: vec![dist("setuptools", "80.9.0", "setuptools-80.9.0-py3-none-any.whl")],
            install: vec![dist("shout", "1.0.0", "shout-1.0.0-py3-none-any.whl")],
        };
        let mut two = one.clone();
        two.install = vec![dist("shout", "1.0.0", "shout-1.0.0.tar.gz"), dist("shout", "1.10.0", "s.whl")];
        two.install.push(dist("abc", "2.0", "abc-2.0-py3-none-any.whl"));
        let merged = merge([&one, &two]);
        let pins: Vec<String> = merged.iter().map(Distribution::pin).collect();
        // By name, then by version order (1.10.0 after 1.0.0, not by text).
        assert_eq!(pins, ["abc==2.0", "setuptools==80.9.0", "shout==1.0.0", "shout==1.10.0"]);
        assert_eq!(merged[2].files.len(), 2);
        assert_eq!(merged[0].hashed_requirement(), format!("abc==2.0 --hash=sha256:{}", "a".repeat(64)));
    }

    #[test]
    fn changes_are_named_by_kind() {
        let before = ["a==1.0".to_string(), "b==2.0".into(), "c==1.0".into()];
        let after = ["a==1.1".to_string(), "b==1.9".into(), "d==0.1".into()];
        let kinds: Vec<String> =
            changes(&before, &after).iter().map(|c| format!("{} {}", c.name, c.kind)).collect();
        assert_eq!(kinds, ["a upgraded", "b downgraded", "c removed", "d added"]);
    }
}
