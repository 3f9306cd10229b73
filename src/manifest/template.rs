//! `{name}`/`{version}` templates of package names, install paths and stable paths: parsed
//! once when the manifest is read (an unknown placeholder is an error then), rendered per
//! project and version.

use crate::error::ManifestError;

/// A `{name}`/`{version}` template such as `/opt/openstack/{name}-{version}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub(super) parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    Literal(String),
    Name,
    Version,
}

impl Template {
    /// Parses `text`; `key` names the manifest key in errors.
    pub fn parse(key: &str, text: &str) -> Result<Self, ManifestError> {
        let unbalanced = || ManifestError::UnbalancedTemplate { key: key.into(), template: text.into() };
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let open = rest.find('{');
            let close = rest.find('}');
            match (open, close) {
                (None, None) => {
                    parts.push(Part::Literal(rest.into()));
                    break;
                }
                (Some(o), Some(c)) if o < c => {
                    if o > 0 {
                        parts.push(Part::Literal(rest[..o].into()));
                    }
                    let placeholder = &rest[o + 1..c];
                    parts.push(match placeholder {
                        "name" => Part::Name,
                        "version" => Part::Version,
                        p if p.contains('{') => return Err(unbalanced()),
                        p => {
                            return Err(ManifestError::UnknownPlaceholder {
                                key: key.into(),
                                placeholder: p.into(),
                            });
                        }
                    });
                    rest = &rest[c + 1..];
                }
                _ => return Err(unbalanced()),
            }
        }
        Ok(Self { parts })
    }

    /// Whether the template holds `{version}`.
    pub fn has_version(&self) -> bool {
        self.parts.contains(&Part::Version)
    }

    /// Fills in the placeholders.
    pub fn render(&self, name: &str, version: &str) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Literal(s) => s.as_str(),
                Part::Name => name,
                Part::Version => version,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_and_reject_unknown_placeholders() {
        let t = Template::parse("k", "/opt/openstack/{name}-{version}").unwrap();
        assert_eq!(t.render("nova", "30.0.0"), "/opt/openstack/nova-30.0.0");
        assert!(matches!(
            Template::parse("k", "{name}-{release}"),
            Err(ManifestError::UnknownPlaceholder { placeholder, .. }) if placeholder == "release"
        ));
        assert!(matches!(Template::parse("k", "{name"), Err(ManifestError::UnbalancedTemplate { .. })));
        assert!(matches!(Template::parse("k", "name}"), Err(ManifestError::UnbalancedTemplate { .. })));
    }
}
