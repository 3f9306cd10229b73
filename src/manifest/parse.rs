//! Reading `wrap.toml`: the raw TOML shapes (unknown keys refused, with their line and column),
//! and the validation that turns them into a [`Manifest`]: templates parsed, names, versions and
//! paths checked where they were written, local paths resolved inside the manifest's tree.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::relation::Relation;
use super::rules::{
    PRIORITIES, RELEASE_FORM, check_install_path, check_package_name, check_project_name, check_version,
    is_one_line, is_valid_extra, is_valid_release, is_valid_script_name, is_valid_section, is_valid_user,
};
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
    section: Option<Spanned<String>>,
    priority: Option<Spanned<String>>,
    link_path: Option<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    lintian_overrides: Vec<Spanned<String>>,
    #[serde(default)]
    rpmlint_filters: Vec<Spanned<String>>,
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
    extras: Vec<Spanned<String>>,
    #[serde(default)]
    system_dependencies: Vec<Spanned<String>>,
    version: Option<Spanned<String>>,
    package_name: Option<Spanned<String>>,
    install_path: Option<Spanned<String>>,
    link_path: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    #[serde(default)]
    services: Vec<Spanned<String>>,
    #[serde(default)]
    recommends: Vec<Spanned<String>>,
    #[serde(default)]
    provides: Vec<Spanned<String>>,
    #[serde(default)]
    conflicts: Vec<Spanned<String>>,
    #[serde(default)]
    replaces: Vec<Spanned<String>>,
    #[serde(default)]
    verify_skip: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    lintian_overrides: Vec<Spanned<String>>,
    #[serde(default)]
    rpmlint_filters: Vec<Spanned<String>>,
    rpm: Option<RawRpm>,
}

/// `[project.rpm]`: what differs in RPM distributions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRpm {
    system_dependencies: Option<Vec<Spanned<String>>>,
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
        let at_project = |kind| Error::Manifest { location: ctx.location_at_line(project.line), kind };
        if let Some(first) = projects.iter().find(|p| p.name == project.name) {
            return Err(at_project(ManifestError::DuplicateProject {
                name: project.name.clone(),
                first_line: first.line,
            }));
        }
        let normalized = crate::pyenv::normalize(&project.name);
        if let Some(other) = projects.iter().find(|p| crate::pyenv::normalize(&p.name) == normalized) {
            return Err(at_project(ManifestError::SameDistribution {
                name: project.name.clone(),
                other: other.name.clone(),
                other_line: other.line,
            }));
        }
        // Package names that do not depend on the version can be compared now; the plan
        // compares the others once the versions are known.
        let unversioned = |p: &Project| {
            let template = p.package_name_template(&settings);
            (!template.has_version()).then(|| template.render(&p.name, PROBE_VERSION))
        };
        if let Some(package) = unversioned(&project)
            && let Some(other) = projects.iter().find(|p| unversioned(p).as_ref() == Some(&package))
        {
            return Err(at_project(ManifestError::DuplicatePackage {
                name: project.name.clone(),
                other: other.name.clone(),
                other_line: other.line,
                package,
            }));
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

/// An exclude pattern's longest accepted length; a lintian override's, an rpmlint filter's.
const MAX_LINE: usize = 500;

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

    /// The error for a value at `value` that is not what `key` takes.
    fn invalid(&self, key: &str, value: &Spanned<String>, expected: impl Into<String>) -> Error {
        self.at(
            value,
            ManifestError::InvalidValue {
                key: key.into(),
                value: value.get_ref().clone(),
                expected: expected.into(),
            },
        )
    }

    /// Each value of a list, checked by `ok` (which returns what is wrong, if anything).
    fn each(
        &self,
        key: &str,
        values: &[Spanned<String>],
        ok: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>> {
        values
            .iter()
            .map(|v| match ok(v.get_ref()) {
                Some(problem) => Err(self.invalid(key, v, problem)),
                None => Ok(v.get_ref().clone()),
            })
            .collect()
    }

    fn template(&self, key: &str, value: &Spanned<String>) -> Result<Template> {
        Template::parse(key, value.get_ref()).map_err(|kind| self.at(value, kind))
    }

    fn version(&self, key: &str, value: &Spanned<String>) -> Result<String> {
        match check_version(value.get_ref()) {
            Ok(_) => Ok(value.get_ref().clone()),
            Err(normal) => Err(self.at(
                value,
                ManifestError::InvalidVersion { key: key.into(), value: value.get_ref().clone(), normal },
            )),
        }
    }

    /// Debian relations (`key` names the list in errors).
    fn relations(&self, key: &str, values: &[Spanned<String>]) -> Result<Vec<Relation>> {
        values
            .iter()
            .map(|v| Relation::parse_deb(v.get_ref()).map_err(|problem| self.invalid(key, v, problem)))
            .collect()
    }

    /// Glob patterns of files to leave out of the bundle, relative to it.
    fn patterns(&self, key: &str, values: &[Spanned<String>]) -> Result<Vec<String>> {
        self.each(key, values, |p| {
            if !is_one_line(p, MAX_LINE) || p.is_empty() || p.starts_with('/') {
                return Some(
                    "a pattern is one line, relative to the bundle, such as `lib/*/site-packages/*/tests`"
                        .into(),
                );
            }
            globset::Glob::new(p).err().map(|e| e.kind().to_string())
        })
    }

    /// Lintian overrides as written after `<package>: ` (a tag, then optional context).
    fn lintian_overrides(&self, key: &str, values: &[Spanned<String>]) -> Result<Vec<String>> {
        self.each(key, values, |o| {
            let tag = o.split_whitespace().next().unwrap_or("");
            let ok = is_one_line(o, MAX_LINE)
                && !tag.is_empty()
                && tag.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-+.".contains(c));
            (!ok).then(|| {
                "an override is one line: a lintian tag, then optional context such as `[opt/x/*]`".into()
            })
        })
    }

    /// rpmlint filters: regular expressions, one line each.
    fn rpmlint_filters(&self, key: &str, values: &[Spanned<String>]) -> Result<Vec<String>> {
        self.each(key, values, |f| {
            (!is_one_line(f, MAX_LINE) || f.is_empty() || f.contains('\''))
                .then(|| "a filter is one line of a regular expression, without `'`".into())
        })
    }

    /// Resolves a path that must stay inside the manifest's directory tree and (when
    /// `must_exist`) name a file, or a directory when `dir`.
    fn local_path(
        &self,
        key: &'static str,
        value: &Spanned<String>,
        must_exist: bool,
        dir: bool,
    ) -> Result<LocalPath> {
        let rel = value.get_ref();
        let escapes = || self.at(value, ManifestError::PathEscapes { key, path: rel.clone() });
        if rel.trim().is_empty() || rel.chars().any(char::is_control) {
            return Err(self.invalid(key, value, "a path in the manifest's directory tree"));
        }
        let mut depth = 0usize;
        for component in Path::new(rel).components() {
            match component {
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                Component::ParentDir => depth = depth.checked_sub(1).ok_or_else(escapes)?,
                Component::RootDir | Component::Prefix(_) => return Err(escapes()),
            }
        }
        if depth == 0 {
            return Err(self.invalid(
                key,
                value,
                "a path in the manifest's directory tree, not the tree itself",
            ));
        }
        let abs = self.dir.join(rel);
        match std::fs::metadata(&abs) {
            Err(_) if must_exist => {
                return Err(self.at(value, ManifestError::FileMissing { key, path: rel.clone() }));
            }
            Err(_) => {}
            Ok(meta) => {
                if let (Ok(real), Ok(root)) = (abs.canonicalize(), self.dir.canonicalize()) {
                    // A symlink inside the tree may still lead out of it.
                    if !real.starts_with(root) {
                        return Err(escapes());
                    }
                }
                if must_exist && meta.is_dir() != dir {
                    let expected = if dir { "a directory" } else { "a file" };
                    return Err(self.invalid(key, value, format!("`{rel}` is not {expected}")));
                }
            }
        }
        Ok(LocalPath { rel: rel.clone(), abs })
    }

    fn settings(&self, raw: RawSettings) -> Result<Settings> {
        let version = raw.version.as_ref().map(|v| self.version("settings.version", v)).transpose()?;
        let release = match &raw.release {
            Some(r) if !is_valid_release(r.get_ref()) => {
                return Err(self.invalid("settings.release", r, RELEASE_FORM));
            }
            Some(r) => r.get_ref().clone(),
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
            Some(p) if !p.get_ref().starts_with('/') || !is_one_line(p.get_ref(), 200) => {
                return Err(self.invalid(
                    "settings.python",
                    p,
                    "the interpreter must be an absolute path, such as /usr/bin/python3",
                ));
            }
            Some(p) => PathBuf::from(p.get_ref()),
            None => PathBuf::from(DEFAULT_PYTHON),
        };
        let mut constraints = Vec::new();
        for c in &raw.constraints {
            let text = c.get_ref();
            if text.starts_with("https://") && is_one_line(text, 2000) && !text.contains(char::is_whitespace)
            {
                constraints.push(Constraint::Url(text.clone()));
            } else if text.contains("://") {
                return Err(self.invalid(
                    "settings.constraints",
                    c,
                    "constraints are a path in the manifest's tree or an https:// URL",
                ));
            } else {
                constraints.push(Constraint::File(self.local_path("constraints", c, true, false)?));
            }
        }
        let find_links = raw
            .find_links
            .iter()
            .map(|f| self.local_path("find_links", f, true, true))
            .collect::<Result<_>>()?;
        if let Some(m) = &raw.maintainer {
            let text = m.get_ref();
            let ok = is_one_line(text, 200)
                && text.find('<').is_some_and(|i| i > 0 && text[i..].contains('@'))
                && text.ends_with('>')
                && !text.contains(',');
            if !ok {
                return Err(self.invalid("settings.maintainer", m, "write it as `Name <email@example.com>`"));
            }
        }
        let output_dir = match &raw.output_dir {
            Some(o) if o.get_ref().trim().is_empty() || o.get_ref().chars().any(char::is_control) => {
                return Err(self.invalid("settings.output_dir", o, "a directory, relative to the manifest"));
            }
            Some(o) => self.dir.join(o.get_ref()),
            None => self.dir.join("dist"),
        };
        let section = match &raw.section {
            Some(s) if !is_valid_section(s.get_ref()) => {
                return Err(self.invalid(
                    "settings.section",
                    s,
                    "a Debian section: lowercase letters, digits and `+ . / -`, such as `misc` or `contrib/net`",
                ));
            }
            Some(s) => s.get_ref().clone(),
            None => "misc".into(),
        };
        let priority = match &raw.priority {
            Some(p) if !PRIORITIES.contains(&p.get_ref().as_str()) => {
                return Err(self.invalid(
                    "settings.priority",
                    p,
                    format!("one of {}", PRIORITIES.join(", ")),
                ));
            }
            Some(p) => p.get_ref().clone(),
            None => "optional".into(),
        };
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
            section,
            priority,
            link_path: raw.link_path.as_ref().map(|t| self.template("settings.link_path", t)).transpose()?,
            exclude: self.patterns("settings.exclude", &raw.exclude)?,
            lintian_overrides: self
                .lintian_overrides("settings.lintian_overrides", &raw.lintian_overrides)?,
            rpmlint_filters: self.rpmlint_filters("settings.rpmlint_filters", &raw.rpmlint_filters)?,
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
        if let Err(expected) = check_project_name(&name) {
            return Err(self.invalid("name", &raw.name, expected));
        }
        let version = raw.version.as_ref().map(|v| self.version("version", v)).transpose()?;
        let package_name = raw.package_name.as_ref().map(|t| self.template("package_name", t)).transpose()?;
        let install_path = raw.install_path.as_ref().map(|t| self.template("install_path", t)).transpose()?;
        let link_path = raw.link_path.as_ref().map(|t| self.template("link_path", t)).transpose()?;
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
        check_install_path(&name, "install_path", &path)
            .map_err(|kind| self.err(blame(&raw.install_path, spans.install_path), kind))?;
        if let Some(link) = link_path.as_ref().or(settings.link_path.as_ref()) {
            check_install_path(&name, "link_path", &link.render(&name, probe))
                .map_err(|kind| self.err(blame(&raw.link_path, None), kind))?;
        }
        let git_text = raw.git.get_ref();
        if git_text.trim().is_empty() || !is_one_line(git_text, 2000) || git_text.starts_with('-') {
            return Err(self.invalid("git", &raw.git, "a git URL or a path to a repository"));
        }
        let git = GitSource { written: git_text.clone(), url: git_url(self.dir, git_text) };
        let git_ref = raw.git_ref.get_ref();
        let ref_ok = !git_ref.is_empty()
            && git_ref.len() <= 255
            && !git_ref.starts_with('-')
            && !git_ref.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ref_ok {
            return Err(self.invalid("ref", &raw.git_ref, "a tag, a branch or a full commit id"));
        }
        let patches =
            raw.patches.iter().map(|p| self.local_path("patches", p, true, false)).collect::<Result<_>>()?;
        let user = match &raw.user {
            Some(u) if !is_valid_user(u.get_ref()) => {
                return Err(self.invalid(
                    "user",
                    u,
                    "a system user name: lowercase letters, digits, `-` and `_`, starting with a letter",
                ));
            }
            Some(u) => Some(u.get_ref().clone()),
            None => None,
        };
        for dep in &raw.pip_dependencies {
            // An option such as `-e path` would install something that cannot be packaged.
            if dep.get_ref().trim_start().starts_with('-') || !is_one_line(dep.get_ref(), MAX_LINE) {
                return Err(self.invalid(
                    "pip_dependencies",
                    dep,
                    "list requirements, not installer options (editable installs cannot be packaged)",
                ));
            }
        }
        let extras = self.each("extras", &raw.extras, |e| {
            (!is_valid_extra(e)).then(|| "an extra's name: letters, digits, `.`, `_` and `-`".into())
        })?;
        let services = self.each("services", &raw.services, |s| {
            (!is_valid_script_name(s))
                .then(|| "a console script of the project: letters, digits and `. _ + -`, without `/`".into())
        })?;
        let verify_skip = self.each("verify_skip", &raw.verify_skip, |s| {
            (!is_one_line(s, MAX_LINE) || s.is_empty()).then(|| {
                "an entry point's name, or `GROUP:NAME`, as in `nova-compute` or `oslo.config.opts:nova.conf`".into()
            })
        })?;
        let rpm_system_dependencies = match raw.rpm.and_then(|r| r.system_dependencies) {
            Some(deps) => Some(
                deps.iter()
                    .map(|d| {
                        Relation::parse_rpm(d.get_ref())
                            .map_err(|p| self.invalid("rpm.system_dependencies", d, p))
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => None,
        };
        Ok(Project {
            name,
            git,
            git_ref: git_ref.clone(),
            patches,
            pip_dependencies: raw.pip_dependencies.into_iter().map(Spanned::into_inner).collect(),
            extras,
            system_dependencies: self.relations("system_dependencies", &raw.system_dependencies)?,
            version,
            package_name,
            install_path,
            link_path,
            user,
            services,
            relations: Relations {
                recommends: self.relations("recommends", &raw.recommends)?,
                provides: self.relations("provides", &raw.provides)?,
                conflicts: self.relations("conflicts", &raw.conflicts)?,
                replaces: self.relations("replaces", &raw.replaces)?,
            },
            rpm_system_dependencies,
            verify_skip,
            exclude: self.patterns("exclude", &raw.exclude)?,
            lintian_overrides: self.lintian_overrides("lintian_overrides", &raw.lintian_overrides)?,
            rpmlint_filters: self.rpmlint_filters("rpmlint_filters", &raw.rpmlint_filters)?,
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
