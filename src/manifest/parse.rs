//! Reading `wrap.toml`: the raw TOML shapes (unknown keys refused, with their line and column),
//! and the validation that turns them into a [`Manifest`]: templates parsed, names, versions and
//! paths checked where they were written, local paths resolved inside the manifest's tree.

use std::path::{Component, Path};

use serde::Deserialize;
use toml::Spanned;

use super::relation::Relation;
use super::rules::{
    PRIORITIES, RELEASE_FORM, check_install_path, check_package_name, check_project_name, check_version,
    is_one_line, is_valid_extra, is_valid_release, is_valid_script_name, is_valid_section, is_valid_user,
};
use super::*;
use crate::error::{Error, Location, ManifestError, Result};

mod fields;
mod files;
mod hooks;
mod targets;
mod units;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    project: Vec<Spanned<RawProject>>,
    image: Option<RawImage>,
    #[serde(default)]
    target: Vec<Spanned<targets::RawTarget>>,
}

/// `[image]`: what container images are made from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    base: Spanned<String>,
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
    #[serde(default)]
    bytecode: Bytecode,
    side_by_side: Option<bool>,
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
    sign_key: Option<Spanned<String>>,
    sign_key_env: Option<Spanned<String>>,
    sign_passphrase_env: Option<Spanned<String>>,
    remote: Option<Spanned<String>>,
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
    bytecode: Option<Bytecode>,
    side_by_side: Option<bool>,
    #[serde(default)]
    enable_units: EnableUnits,
    #[serde(default)]
    restart_on_upgrade: bool,
    #[serde(default)]
    services: Vec<Spanned<String>>,
    #[serde(default)]
    links: Vec<Spanned<String>>,
    #[serde(default)]
    unit: std::collections::BTreeMap<Spanned<String>, units::RawUnit>,
    scripts: Option<hooks::RawScripts>,
    #[serde(default)]
    files: Vec<files::RawFile>,
    #[serde(default)]
    recommends: Vec<Spanned<String>>,
    #[serde(default)]
    suggests: Vec<Spanned<String>>,
    #[serde(default)]
    breaks: Vec<Spanned<String>>,
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
    image: Option<RawProjectImage>,
}

/// `[project.image]`: what the project's container image declares.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProjectImage {
    #[serde(default)]
    ports: Vec<Spanned<String>>,
    #[serde(default)]
    volumes: Vec<Spanned<String>>,
    per_service: Option<Spanned<bool>>,
}

/// `[project.rpm]`: what differs in RPM distributions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRpm {
    system_dependencies: Option<Vec<Spanned<String>>>,
    recommends: Option<Vec<Spanned<String>>>,
    suggests: Option<Vec<Spanned<String>>>,
    provides: Option<Vec<Spanned<String>>>,
    conflicts: Option<Vec<Spanned<String>>>,
    obsoletes: Option<Vec<Spanned<String>>>,
}

/// Validates manifest `text`; `path` names it in errors, `dir` anchors relative paths.
pub(super) fn parse(path: &Path, dir: &Path, text: &str) -> Result<Manifest> {
    let ctx = Ctx { path, dir, text };
    let raw: RawManifest = toml::from_str(text)
        .map_err(|e| ctx.err_span(e.span(), ManifestError::Syntax { message: e.message().trim().into() }))?;
    let spans = TemplateSpans {
        package_name: raw.settings.package_name.as_ref().map(|t| t.span().start),
        install_path: raw.settings.install_path.as_ref().map(|t| t.span().start),
    };
    let settings = ctx.settings(raw.settings)?;
    let targets = ctx.targets(&raw.target)?;
    let image = match &raw.image {
        Some(image) => Some(Image { base: ctx.base_image(&image.base)? }),
        None => None,
    };
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
        for (n, link) in project.links.iter().enumerate() {
            let other = projects.iter().find(|p| p.links.contains(link));
            if let Some(other) = other.filter(|_| !project.links[..n].contains(link)) {
                return Err(at_project(ManifestError::InvalidValue {
                    key: "links".into(),
                    value: link.clone(),
                    expected: format!(
                        "a command no other project puts on PATH (`{}`, line {}, links `/usr/bin/{link}` too)",
                        other.name, other.line
                    ),
                }));
            }
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
        image,
        targets,
    })
}

/// A project's own version, then its package name, install path and stable path templates.
type ProjectPaths = (Option<String>, Option<Template>, Option<Template>, Option<Template>);

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
        Location { file: self.path.into(), line: Some(line), col: None, width: 0 }
    }

    fn err(&self, offset: Option<usize>, kind: ManifestError) -> Error {
        self.err_span(offset.map(|o| o..o), kind)
    }

    /// The error at `span` of the text: its line and column, and its width on that line.
    fn err_span(&self, span: Option<std::ops::Range<usize>>, kind: ManifestError) -> Error {
        let location = match span {
            Some(span) => {
                let (line, col) = self.line_col(span.start);
                let spanned = self.text.get(span).unwrap_or_default();
                let width = spanned.split('\n').next().map_or(0, |l| l.chars().count());
                Location { file: self.path.into(), line: Some(line), col: Some(col), width }
            }
            None => Location { file: self.path.into(), line: None, col: None, width: 0 },
        };
        Error::Manifest { location, kind }
    }

    fn at<T>(&self, spanned: &Spanned<T>, kind: ManifestError) -> Error {
        self.err_span(Some(spanned.span()), kind)
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
        let (version, package_name, install_path, link_path) = self.paths(&raw, &name, settings, spans)?;
        let (git, git_ref) = self.git(&raw)?;
        let patches =
            raw.patches.iter().map(|p| self.local_path("patches", p, true, false)).collect::<Result<_>>()?;
        let user = self.user(&raw)?;
        self.check_pip_dependencies(&raw)?;
        let extras = self.each("extras", &raw.extras, |e| {
            (!is_valid_extra(e)).then(|| "an extra's name: letters, digits, `.`, `_` and `-`".into())
        })?;
        let (services, links) =
            (self.scripts("services", &raw.services)?, self.scripts("links", &raw.links)?);
        let verify_skip = self.each("verify_skip", &raw.verify_skip, |s| {
            (!is_one_line(s, MAX_LINE) || s.is_empty()).then(|| {
                "an entry point's name, or `GROUP:NAME`, as in `nova-compute` or `oslo.config.opts:nova.conf`".into()
            })
        })?;
        let rpm_system_dependencies = self.rpm_dependencies(raw.rpm.as_ref())?;
        let image = self.project_image(&name, raw.image.as_ref(), services.is_empty())?;
        let relations = self.project_relations(&raw)?;
        let rpm_relations = self.rpm_relations(raw.rpm.as_ref(), &relations)?;
        let units = self.units(&name, &raw.unit, &services)?;
        let scripts = self.hooks(raw.scripts.as_ref())?;
        let files = self.files(&name, user.as_deref(), &raw.files)?;
        Ok(Project {
            name,
            git,
            git_ref,
            patches,
            pip_dependencies: raw.pip_dependencies.into_iter().map(Spanned::into_inner).collect(),
            extras,
            system_dependencies: self.relations("system_dependencies", &raw.system_dependencies)?,
            version,
            package_name,
            install_path,
            link_path,
            user,
            bytecode: raw.bytecode,
            side_by_side: raw.side_by_side,
            enable_units: raw.enable_units,
            restart_on_upgrade: raw.restart_on_upgrade,
            services,
            links,
            units,
            scripts,
            files,
            relations,
            rpm_system_dependencies,
            rpm_relations,
            verify_skip,
            exclude: self.patterns("exclude", &raw.exclude)?,
            lintian_overrides: self.lintian_overrides("lintian_overrides", &raw.lintian_overrides)?,
            rpmlint_filters: self.rpmlint_filters("rpmlint_filters", &raw.rpmlint_filters)?,
            image,
            line,
        })
    }

    /// The project's version and its package name, install path and stable path templates,
    /// each checked as rendered with the version (or a probe when the lock has it).
    fn paths(
        &self,
        raw: &RawProject,
        name: &str,
        settings: &Settings,
        spans: &TemplateSpans,
    ) -> Result<ProjectPaths> {
        let version = raw.version.as_ref().map(|v| self.version("version", v)).transpose()?;
        let package_name = raw.package_name.as_ref().map(|t| self.template("package_name", t)).transpose()?;
        let install_path = raw.install_path.as_ref().map(|t| self.template("install_path", t)).transpose()?;
        let link_path = raw.link_path.as_ref().map(|t| self.template("link_path", t)).transpose()?;
        // The real version comes from the lock; the probe catches what the templates alone get wrong.
        let probe = version.as_deref().or(settings.version.as_deref()).unwrap_or(PROBE_VERSION);
        let pkg = package_name.as_ref().unwrap_or(&settings.package_name).render(name, probe);
        // Blame the project's own key, else the settings template, else the name itself.
        let blame = |own: &Option<Spanned<String>>, settings_key: Option<usize>| {
            Some(own.as_ref().map(|t| t.span().start).or(settings_key).unwrap_or(raw.name.span().start))
        };
        check_package_name(name, &pkg)
            .map_err(|kind| self.err(blame(&raw.package_name, spans.package_name), kind))?;
        let path = install_path.as_ref().unwrap_or(&settings.install_path).render(name, probe);
        check_install_path(name, "install_path", &path)
            .map_err(|kind| self.err(blame(&raw.install_path, spans.install_path), kind))?;
        if let Some(link) = link_path.as_ref().or(settings.link_path.as_ref()) {
            check_install_path(name, "link_path", &link.render(name, probe))
                .map_err(|kind| self.err(blame(&raw.link_path, None), kind))?;
        }
        Ok((version, package_name, install_path, link_path))
    }

    /// Console script names (`services`, `links`).
    /// A name given twice counts once: a second `--slave` for one link makes update-alternatives
    /// fail at install, and a second image per service would carry the first one's tag.
    fn scripts(&self, key: &str, values: &[Spanned<String>]) -> Result<Vec<String>> {
        let mut names = self.each(key, values, |s| {
            (!is_valid_script_name(s))
                .then(|| "a console script of the project: letters, digits and `. _ + -`, without `/`".into())
        })?;
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        Ok(names)
    }

    /// A project's `recommends`, `suggests`, `breaks`, `provides`, `conflicts` and `replaces`.
    fn project_relations(&self, raw: &RawProject) -> Result<Relations> {
        Ok(Relations {
            recommends: self.relations("recommends", &raw.recommends)?,
            suggests: self.relations("suggests", &raw.suggests)?,
            breaks: self.relations("breaks", &raw.breaks)?,
            provides: self.relations("provides", &raw.provides)?,
            conflicts: self.relations("conflicts", &raw.conflicts)?,
            replaces: self.relations("replaces", &raw.replaces)?,
        })
    }
}

/// A URL (`scheme://…` or scp-like `user@host:path`) stays as written; anything else is a path
/// relative to the manifest's directory.
fn git_url(dir: &Path, written: &str) -> String {
    if written.contains("://") || crate::giturl::is_scp_like(written) {
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
