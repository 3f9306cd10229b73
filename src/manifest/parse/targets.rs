//! `[[target]]` tables and the `remote` setting: labels and a URL that wrap hands to the CI
//! engine and to the object store, checked here so that no later stage meets a bad one.

use serde::Deserialize;
use toml::Spanned;

use super::Ctx;
use crate::error::{ManifestError, Result};
use crate::manifest::Target;
use crate::manifest::rules::is_one_line;

/// `[[target]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    name: Spanned<String>,
    #[serde(default)]
    runs_on: Option<Spanned<Labels>>,
    image: Option<Spanned<String>>,
}

/// `runs_on`: one label or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Labels {
    One(String),
    Many(Vec<String>),
}

/// The schemes of `remote`.
pub const REMOTE_SCHEMES: [&str; 6] = ["s3://", "gs://", "az://", "https://", "http://", "file://"];

impl Ctx<'_> {
    /// The `[[target]]` tables: names unique and plain, labels and images one line each.
    pub(super) fn targets(&self, raw: &[Spanned<RawTarget>]) -> Result<Vec<Target>> {
        let mut targets: Vec<Target> = Vec::new();
        for spanned in raw {
            let t = spanned.get_ref();
            let name = t.name.get_ref();
            let plain = (1..=64).contains(&name.len())
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !plain {
                return Err(self.invalid(
                    "target.name",
                    &t.name,
                    "1 to 64 of `A-Za-z0-9._-`, starting with a letter or digit",
                ));
            }
            if targets.iter().any(|o| o.name == *name) {
                return Err(self.invalid("target.name", &t.name, "a name no other [[target]] has"));
            }
            let runs_on = match t.runs_on.as_ref().map(|r| (r, r.get_ref())) {
                None => Vec::new(),
                Some((_, Labels::One(l))) => vec![l.clone()],
                Some((_, Labels::Many(l))) => l.clone(),
            };
            if let (Some(bad), Some(at)) =
                (runs_on.iter().find(|l| l.is_empty() || !is_one_line(l, 200)), &t.runs_on)
            {
                return Err(self.at(
                    at,
                    ManifestError::InvalidValue {
                        key: "target.runs_on".into(),
                        value: bad.clone(),
                        expected: "runner labels of one line each, at most 200 characters".into(),
                    },
                ));
            }
            if let Some(image) = t.image.as_ref().filter(|i| !is_one_line(i.get_ref(), 300)) {
                return Err(self.invalid("target.image", image, "an image reference on one line"));
            }
            targets.push(Target {
                name: name.clone(),
                runs_on,
                image: t.image.as_ref().map(|i| i.get_ref().clone()),
            });
        }
        Ok(targets)
    }

    /// `remote`: a URL of one of the object stores wrap speaks to.
    pub(super) fn remote(&self, value: &Spanned<String>) -> Result<String> {
        let url = value.get_ref();
        let known = REMOTE_SCHEMES.iter().any(|s| url.len() > s.len() && url.starts_with(s));
        if !known || !is_one_line(url, 500) || url.contains(char::is_whitespace) {
            return Err(self.invalid(
                "settings.remote",
                value,
                "a URL: s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, https://host/path (WebDAV) or file:///path",
            ));
        }
        Ok(url.clone())
    }
}
