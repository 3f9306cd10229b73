//! Reading `wrap.toml`: the raw TOML shapes (unknown keys refused, with their line and column),
//! and the validation that turns them into a [`Manifest`]: templates parsed, names, versions and
//! paths checked where they were written, local paths resolved inside the manifest's tree.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::rules::{VERSION_FORM, check_install_path, check_package_name, is_valid_user, is_valid_version};
use super::*;
use crate::error::{Error, Location, ManifestError, Result};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    project: Vec<Spanned<RawProject>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    version: Option<Spanned<String>>,
    release: Option<Spanned<String>>,
    package_name: Option<Spanned<String>>,
    install_path: Option<Spanned<String>>,
    python: Option<Spanned<String>>,
    #[serde(default)]
    installer: Installer,
    #[serde(default)]
    constraints: Vec<Spanned<String>>,
    #[serde(default)]
    find_links: Vec<Spanned<String>>,
    #[serde(default)]
    offline: bool,
    maintainer: Option<Spanned<String>>,
    formats: Option<Vec<Format>>,
    output_dir: Option<Spanned<String>>,
    #[serde(default)]
    compression: Compression,
    epoch: Option<u32>,
    section: Option<String>,
    priority: Option<String>,
    link_path: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    name: Spanned<String>,
    git: Spanned<String>,
    #[serde(rename = "ref")]
    git_ref: Spanned<String>,
    #[serde(default)]
    patches: Vec<Spanned<String>>,
    #[serde(default)]
    pip_dependencies: Vec<Spanned<String>>,
    #[serde(default)]
    extras: Vec<String>,
    #[serde(default)]
    system_dependencies: Vec<String>,
    version: Option<Spanned<String>>,
    package_name: Option<Spanned<String>>,
    install_path: Option<Spanned<String>>,
    link_path: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    recommends: Vec<String>,
    #[serde(default)]
    provides: Vec<String>,
    #[serde(default)]
    conflicts: Vec<String>,
    #[serde(default)]
    replaces: Vec<String>,
    rpm: Option<RawRpm>,
}

/// `[project.rpm]`: what differs in RPM distributions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRpm {
    system_dependencies: Option<Vec<String>>,
}

/// Validates manifest `text`; `path` names it in errors, `dir` anchors relative paths.
pub(super) fn parse(path: &Path, dir: &Path, text: &str) -> Result<Manifest> {
    let ctx = Ctx { path, dir, text };
    let raw: RawManifest = toml::from_str(text).map_err(|e| {
        ctx.err(e.span().map(|s| s.start), ManifestError::Syntax { message: e.message().trim().into() })
    })?;
    let spans = TemplateSpans {
        package_name: raw.settings.package_name.as_ref().map(|t| t.span().start),
        install_path: raw.settings.install_path.as_ref().map(|t| t.span().start),
    };
    let settings = ctx.settings(raw.settings)?;
    if raw.project.is_empty() {
        return Err(ctx.err(None, ManifestError::NoProjects));
    }
    let mut projects: Vec<Project> = Vec::new();
    for raw in raw.project {
        let project = ctx.project(raw, &settings, &spans)?;
        if let Some(first) = projects.iter().find(|p| p.name == project.name) {
            return Err(Error::Manifest {
                location: ctx.location_at_line(project.line),
                kind: ManifestError::DuplicateProject { name: project.name, first_line: first.line },
            });
        }
        projects.push(project);
    }
    Ok(Manifest {
        path: path.into(),
        dir: dir.into(),
        sha256: sha256_hex(text.as_bytes()),
        settings,
        projects,
    })
}

/// Validation context: the manifest's name, directory and text (for line numbers).
struct Ctx<'a> {
    path: &'a Path,
    dir: &'a Path,
    text: &'a str,
}

/// Where `[settings]` wrote its templates, so that a project's bad package name or install path
/// is blamed on the key that made it.
struct TemplateSpans {
    package_name: Option<usize>,
    install_path: Option<usize>,
}

impl Ctx<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn location_at_line(&self, line: usize) -> Location {
        Location { file: self.path.into(), line: Some(line), col: None }
    }

    fn err(&self, offset: Option<usize>, kind: ManifestError) -> Error {
        let (line, col) = match offset.map(|o| self.line_col(o)) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        Error::Manifest { location: Location { file: self.path.into(), line, col }, kind }
    }

    fn at<T>(&self, spanned: &Spanned<T>, kind: ManifestError) -> Error {
        self.err(Some(spanned.span().start), kind)
    }

    fn template(&self, key: &str, value: &Spanned<String>) -> Result<Template> {
        Template::parse(key, value.get_ref()).map_err(|kind| self.at(value, kind))
    }

    fn version(&self, key: &str, value: &Spanned<String>, expected: &'static str) -> Result<String> {
        if is_valid_version(value.get_ref()) {
            Ok(value.get_ref().clone())
        } else {
            Err(self.at(
                value,
                ManifestError::InvalidValue { key: key.into(), value: value.get_ref().clone(), expected },
            ))
        }
    }

    /// Resolves a path that must stay inside the manifest's directory tree.
    fn local_path(&self, key: &'static str, value: &Spanned<String>, must_exist: bool) -> Result<LocalPath> {
        let rel = value.get_ref();
        let escapes = || self.at(value, ManifestError::PathEscapes { key, path: rel.clone() });
        let mut depth = 0usize;
        for component in Path::new(rel).components() {
            match component {
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                Component::ParentDir => depth = depth.checked_sub(1).ok_or_else(escapes)?,
                Component::RootDir | Component::Prefix(_) => return Err(escapes()),
            }
        }
        let abs = self.dir.join(rel);
        if !abs.exists() {
            if must_exist {
                return Err(self.at(value, ManifestError::FileMissing { key, path: rel.clone() }));
            }
        } else if let (Ok(real), Ok(root)) = (abs.canonicalize(), self.dir.canonicalize()) {
            // A symlink inside the tree may still lead out of it.
            if !real.starts_with(root) {
                return Err(escapes());
            }
        }
        Ok(LocalPath { rel: rel.clone(), abs })
    }

    fn settings(&self, raw: RawSettings) -> Result<Settings> {
        let version = match &raw.version {
            Some(v) => Some(self.version("settings.version", v, VERSION_FORM)?),
            None => None,
        };
        let release = match &raw.release {
            Some(r) => self.version(
                "settings.release",
                r,
                "a release starts with a digit and holds only letters, digits and `. + ~`",
            )?,
            None => "1".into(),
        };
        let package_name = match &raw.package_name {
            Some(t) => self.template("settings.package_name", t)?,
            None => Template::parse("settings.package_name", DEFAULT_PACKAGE_NAME).expect("default template"),
        };
        let install_path = match &raw.install_path {
            Some(t) => self.template("settings.install_path", t)?,
            None => Template::parse("settings.install_path", DEFAULT_INSTALL_PATH).expect("default template"),
        };
        let python = match &raw.python {
            Some(p) if !p.get_ref().starts_with('/') => {
                return Err(self.at(
                    p,
                    ManifestError::InvalidValue {
                        key: "settings.python".into(),
                        value: p.get_ref().clone(),
                        expected: "the interpreter must be an absolute path, such as /usr/bin/python3",
                    },
                ));
            }
            Some(p) => PathBuf::from(p.get_ref()),
            None => PathBuf::from(DEFAULT_PYTHON),
        };
        let mut constraints = Vec::new();
        for c in &raw.constraints {
            let text = c.get_ref();
            if text.starts_with("https://") {
                constraints.push(Constraint::Url(text.clone()));
            } else if text.contains("://") {
                return Err(self.at(
                    c,
                    ManifestError::InvalidValue {
                        key: "settings.constraints".into(),
                        value: text.clone(),
                        expected: "constraints are a path in the manifest's tree or an https:// URL",
                    },
                ));
            } else {
                constraints.push(Constraint::File(self.local_path("constraints", c, true)?));
            }
        }
        let find_links =
            raw.find_links.iter().map(|f| self.local_path("find_links", f, true)).collect::<Result<_>>()?;
        if let Some(m) = &raw.maintainer {
            let text = m.get_ref();
            let ok = text.find('<').is_some_and(|i| i > 0 && text[i..].contains('@')) && text.ends_with('>');
            if !ok {
                return Err(self.at(
                    m,
                    ManifestError::InvalidValue {
                        key: "settings.maintainer".into(),
                        value: text.clone(),
                        expected: "write it as `Name <email@example.com>`",
                    },
                ));
            }
        }
        let output_dir = self.dir.join(raw.output_dir.as_ref().map_or("dist", |o| o.get_ref().as_str()));
        Ok(Settings {
            version,
            release,
            package_name,
            install_path,
            python,
            installer: raw.installer,
            constraints,
            find_links,
            offline: raw.offline,
            maintainer: raw.maintainer.map(Spanned::into_inner),
            formats: raw.formats,
            output_dir,
            compression: raw.compression,
            epoch: raw.epoch,
            section: raw.section.unwrap_or_else(|| "misc".into()),
            priority: raw.priority.unwrap_or_else(|| "optional".into()),
            link_path: raw.link_path.as_ref().map(|t| self.template("settings.link_path", t)).transpose()?,
        })
    }

    fn project(
        &self,
        raw: Spanned<RawProject>,
        settings: &Settings,
        spans: &TemplateSpans,
    ) -> Result<Project> {
        let (line, _) = self.line_col(raw.span().start);
        let raw = raw.into_inner();
        let name = raw.name.get_ref().clone();
        let version = match &raw.version {
            Some(v) => Some(self.version("version", v, VERSION_FORM)?),
            None => None,
        };
        let package_name = raw.package_name.as_ref().map(|t| self.template("package_name", t)).transpose()?;
        let install_path = raw.install_path.as_ref().map(|t| self.template("install_path", t)).transpose()?;
        // The real version comes from the lock; the probe catches what the templates alone get wrong.
        let probe = version.as_deref().or(settings.version.as_deref()).unwrap_or(PROBE_VERSION);
        let pkg = package_name.as_ref().unwrap_or(&settings.package_name).render(&name, probe);
        // Blame the project's own key, else the settings template, else the name itself.
        let blame = |own: &Option<Spanned<String>>, settings_key: Option<usize>| {
            Some(own.as_ref().map(|t| t.span().start).or(settings_key).unwrap_or(raw.name.span().start))
        };
        check_package_name(&name, &pkg)
            .map_err(|kind| self.err(blame(&raw.package_name, spans.package_name), kind))?;
        let path = install_path.as_ref().unwrap_or(&settings.install_path).render(&name, probe);
        check_install_path(&name, &path)
            .map_err(|kind| self.err(blame(&raw.install_path, spans.install_path), kind))?;
        let git_text = raw.git.get_ref();
        if git_text.trim().is_empty() {
            return Err(self.at(
                &raw.git,
                ManifestError::InvalidValue {
                    key: "git".into(),
                    value: git_text.clone(),
                    expected: "a git URL or a path to a repository",
                },
            ));
        }
        let git = GitSource { written: git_text.clone(), url: git_url(self.dir, git_text) };
        let git_ref = raw.git_ref.get_ref();
        if git_ref.trim().is_empty() || git_ref.chars().any(char::is_whitespace) {
            return Err(self.at(
                &raw.git_ref,
                ManifestError::InvalidValue {
                    key: "ref".into(),
                    value: git_ref.clone(),
                    expected: "a tag, a branch or a full commit id",
                },
            ));
        }
        let patches =
            raw.patches.iter().map(|p| self.local_path("patches", p, true)).collect::<Result<_>>()?;
        let user = match &raw.user {
            Some(u) if !is_valid_user(u.get_ref()) => {
                return Err(self.at(
                    u,
                    ManifestError::InvalidValue {
                        key: "user".into(),
                        value: u.get_ref().clone(),
                        expected: "a system user name: lowercase letters, digits, `-` and `_`, starting with a letter",
                    },
                ));
            }
            Some(u) => Some(u.get_ref().clone()),
            None => None,
        };
        for dep in &raw.pip_dependencies {
            // An option such as `-e path` would install something that cannot be packaged.
            if dep.get_ref().trim_start().starts_with('-') {
                return Err(self.at(
                    dep,
                    ManifestError::InvalidValue {
                        key: "pip_dependencies".into(),
                        value: dep.get_ref().clone(),
                        expected: "list requirements, not installer options (editable installs cannot be packaged)",
                    },
                ));
            }
        }
        Ok(Project {
            name,
            git,
            git_ref: git_ref.clone(),
            patches,
            pip_dependencies: raw.pip_dependencies.into_iter().map(Spanned::into_inner).collect(),
            extras: raw.extras,
            system_dependencies: raw.system_dependencies,
            version,
            package_name,
            install_path,
            link_path: raw.link_path.as_ref().map(|t| self.template("link_path", t)).transpose()?,
            user,
            services: raw.services,
            relations: Relations {
                recommends: raw.recommends,
                provides: raw.provides,
                conflicts: raw.conflicts,
                replaces: raw.replaces,
            },
            rpm_system_dependencies: raw.rpm.and_then(|r| r.system_dependencies),
            line,
        })
    }
}

/// A URL (`scheme://…` or scp-like `user@host:path`) stays as written; anything else is a path
/// relative to the manifest's directory.
fn git_url(dir: &Path, written: &str) -> String {
    let scp_like = written.split_once(':').is_some_and(|(host, _)| host.contains('@') && !host.contains('/'));
    if written.contains("://") || scp_like {
        written.into()
    } else {
        dir.join(written).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_sources_are_urls_or_paths() {
        let dir = Path::new("/m");
        assert_eq!(git_url(dir, "https://opendev.org/openstack/nova"), "https://opendev.org/openstack/nova");
        assert_eq!(git_url(dir, "git@github.com:org/repo.git"), "git@github.com:org/repo.git");
        assert_eq!(git_url(dir, "repos/hello"), "/m/repos/hello");
        assert_eq!(git_url(dir, "/srv/git/hello"), "/srv/git/hello");
    }
}
