//! The checks of single fields and of `[settings]`, beside the project table's in parse.rs.

use std::path::PathBuf;

use toml::Spanned;

use super::*;

impl Ctx<'_> {
    pub(super) fn settings(&self, raw: RawSettings) -> Result<Settings> {
        let version = raw.version.as_ref().map(|v| self.version("settings.version", v)).transpose()?;
        let release = match &raw.release {
            Some(r) if !is_valid_release(r.get_ref()) && r.get_ref() != "auto" => {
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
        let constraints = self.constraints(&raw.constraints)?;
        let find_links = raw
            .find_links
            .iter()
            .map(|f| self.local_path("find_links", f, true, true))
            .collect::<Result<_>>()?;
        self.check_maintainer(raw.maintainer.as_ref())?;
        let output_dir = match &raw.output_dir {
            Some(o) if o.get_ref().trim().is_empty() || o.get_ref().chars().any(char::is_control) => {
                return Err(self.invalid("settings.output_dir", o, "a directory, relative to the manifest"));
            }
            Some(o) => self.dir.join(o.get_ref()),
            None => self.dir.join("dist"),
        };
        let (section, priority) = self.section_priority(&raw)?;
        let (sign_key, sign_passphrase_env) = self.signing(&raw)?;
        let remote = raw.remote.as_ref().map(|r| self.remote(r)).transpose()?;
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
            bytecode: raw.bytecode,
            side_by_side: raw.side_by_side,
            epoch: raw.epoch,
            section,
            priority,
            link_path: raw.link_path.as_ref().map(|t| self.template("settings.link_path", t)).transpose()?,
            exclude: self.patterns("settings.exclude", &raw.exclude)?,
            lintian_overrides: self
                .lintian_overrides("settings.lintian_overrides", &raw.lintian_overrides)?,
            rpmlint_filters: self.rpmlint_filters("settings.rpmlint_filters", &raw.rpmlint_filters)?,
            sign_key,
            sign_passphrase_env,
            remote,
        })
    }

    /// `sign_key` (a file, relative to the manifest) or `sign_key_env` (a variable holding the
    /// armored key), and the variable of the passphrase.
    fn signing(&self, raw: &RawSettings) -> Result<(Option<KeySource>, String)> {
        let env_name = |field: &str, value: &Spanned<String>| {
            let name = value.get_ref();
            let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && name.len() <= 100;
            if ok {
                Ok(name.clone())
            } else {
                Err(self.invalid(field, value, "an environment variable's name, such as WRAP_SIGN_KEY"))
            }
        };
        let key = match (&raw.sign_key, &raw.sign_key_env) {
            (Some(_), Some(env)) => {
                return Err(self.invalid(
                    "settings.sign_key_env",
                    env,
                    "give `sign_key` or `sign_key_env`, not both",
                ));
            }
            (Some(file), None)
                if file.get_ref().trim().is_empty() || file.get_ref().chars().any(char::is_control) =>
            {
                return Err(self.invalid("settings.sign_key", file, "a key file, relative to the manifest"));
            }
            (Some(file), None) => Some(KeySource::File(self.dir.join(file.get_ref()))),
            (None, Some(env)) => Some(KeySource::Env(env_name("settings.sign_key_env", env)?)),
            (None, None) => None,
        };
        let passphrase = match &raw.sign_passphrase_env {
            Some(env) => env_name("settings.sign_passphrase_env", env)?,
            None => crate::signing::PASSPHRASE_ENV.to_string(),
        };
        Ok((key, passphrase))
    }

    fn constraints(&self, raw: &[Spanned<String>]) -> Result<Vec<Constraint>> {
        let mut constraints = Vec::new();
        for c in raw {
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
        Ok(constraints)
    }

    fn check_maintainer(&self, maintainer: Option<&Spanned<String>>) -> Result<()> {
        if let Some(m) = maintainer {
            let text = m.get_ref();
            let ok = is_one_line(text, 200)
                && text.find('<').is_some_and(|i| i > 0 && text[i..].contains('@'))
                && text.ends_with('>')
                && !text.contains(',');
            if !ok {
                return Err(self.invalid("settings.maintainer", m, "write it as `Name <email@example.com>`"));
            }
        }
        Ok(())
    }

    fn section_priority(&self, raw: &RawSettings) -> Result<(String, String)> {
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
        Ok((section, priority))
    }

    pub(super) fn git(&self, raw: &RawProject) -> Result<(GitSource, String)> {
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
        Ok((git, git_ref.clone()))
    }

    pub(super) fn user(&self, raw: &RawProject) -> Result<Option<String>> {
        Ok(match &raw.user {
            Some(u) if !is_valid_user(u.get_ref()) => {
                return Err(self.invalid(
                    "user",
                    u,
                    "a system user name: lowercase letters, digits, `-` and `_`, starting with a letter",
                ));
            }
            Some(u) => Some(u.get_ref().clone()),
            None => None,
        })
    }

    /// `[project.image]`: ports as `N` or `N/tcp|udp|sctp` (1 to 65535), volumes as absolute
    /// paths in normal form (the install paths' rules); `per_service` only with services.
    pub(super) fn project_image(
        &self,
        project: &str,
        raw: Option<&RawProjectImage>,
        no_services: bool,
    ) -> Result<ProjectImage> {
        let Some(raw) = raw else { return Ok(ProjectImage::default()) };
        let ports = self.each("image.ports", &raw.ports, |p| {
            let (number, protocol) = p.split_once('/').unwrap_or((p, "tcp"));
            let number_ok = number.len() <= 5
                && number.bytes().all(|b| b.is_ascii_digit())
                && number.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n));
            (!number_ok || !["tcp", "udp", "sctp"].contains(&protocol))
                .then(|| "a port: a number from 1 to 65535, optionally with `/tcp`, `/udp` or `/sctp`".into())
        })?;
        for volume in &raw.volumes {
            check_install_path(project, "image.volumes", volume.get_ref())
                .map_err(|kind| self.err(Some(volume.span().start), kind))?;
        }
        let per_service = raw.per_service.as_ref().is_some_and(|p| *p.get_ref());
        if let Some(flag) = raw.per_service.as_ref().filter(|_| per_service && no_services) {
            return Err(self.at(
                flag,
                ManifestError::InvalidValue {
                    key: "image.per_service".into(),
                    value: "true".into(),
                    expected:
                        "`false` for a project without `services` (an image per service needs services)"
                            .into(),
                },
            ));
        }
        Ok(ProjectImage {
            ports,
            volumes: raw.volumes.iter().map(|v| v.get_ref().clone()).collect(),
            per_service,
        })
    }

    /// `[image] base`: `docker://REFERENCE` (checked as a registry reads it), else a layout
    /// directory in the manifest's tree.
    pub(super) fn base_image(&self, base: &Spanned<String>) -> Result<BaseImage> {
        match base.get_ref().strip_prefix("docker://") {
            Some(reference) => match crate::registry::check_reference(reference) {
                Ok(()) => Ok(BaseImage::Registry(reference.into())),
                Err(expected) => Err(self.invalid("image.base", base, &expected)),
            },
            None => {
                let archive = self.dir.join(base.get_ref()).is_file();
                let path = self.local_path("image.base", base, true, !archive)?;
                Ok(if archive { BaseImage::Archive(path) } else { BaseImage::Layout(path) })
            }
        }
    }

    pub(super) fn check_pip_dependencies(&self, raw: &RawProject) -> Result<()> {
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
        Ok(())
    }

    /// `[project.rpm]` relations in RPM syntax, each list replacing the one derived from the
    /// Debian relations (`obsoletes` replaces `replaces`, `conflicts` both `conflicts` and
    /// `breaks`); `None` when it gives none.
    pub(super) fn rpm_relations(
        &self,
        rpm: Option<&RawRpm>,
        debian: &Relations,
    ) -> Result<Option<Relations>> {
        let Some(rpm) = rpm else { return Ok(None) };
        let parse = |key: &str, list: &Option<Vec<Spanned<String>>>| -> Result<Option<Vec<Relation>>> {
            list.as_ref()
                .map(|l| {
                    l.iter()
                        .map(|d| Relation::parse_rpm(d.get_ref()).map_err(|p| self.invalid(key, d, p)))
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()
        };
        let lists = [
            parse("rpm.recommends", &rpm.recommends)?,
            parse("rpm.suggests", &rpm.suggests)?,
            parse("rpm.provides", &rpm.provides)?,
            parse("rpm.conflicts", &rpm.conflicts)?,
            parse("rpm.obsoletes", &rpm.obsoletes)?,
        ];
        if lists.iter().all(Option::is_none) {
            return Ok(None);
        }
        let [recommends, suggests, provides, conflicts, obsoletes] = lists;
        let mut out = debian.clone();
        out.recommends = recommends.unwrap_or(out.recommends);
        out.suggests = suggests.unwrap_or(out.suggests);
        out.provides = provides.unwrap_or(out.provides);
        if let Some(conflicts) = conflicts {
            (out.conflicts, out.breaks) = (conflicts, Vec::new());
        }
        out.replaces = obsoletes.unwrap_or(out.replaces);
        Ok(Some(out))
    }

    pub(super) fn rpm_dependencies(&self, rpm: Option<&RawRpm>) -> Result<Option<Vec<Relation>>> {
        Ok(match rpm.and_then(|r| r.system_dependencies.as_ref()) {
            Some(deps) => Some(
                deps.iter()
                    .map(|d| {
                        Relation::parse_rpm(d.get_ref())
                            .map_err(|p| self.invalid("rpm.system_dependencies", d, p))
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => None,
        })
    }
}
