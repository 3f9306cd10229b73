//! `wrap init`: a commented manifest to start from, for a repository when one is given (its
//! name and newest version tag read from a mirror in the cache, its console scripts listed as
//! candidate services). It never overwrites a file, and what it writes passes `wrap check`.
//! setup.cfg is read with a few lines of our own (sections, keys and indented continuation lines
//! are all that the three keys we read need; no INI crate reads pbr's multi-line values as
//! Python's configparser does).

use std::io::Write;
use std::path::Path;

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::manifest::{GitSource, Manifest};
use crate::report::{Event, Reporter};
use crate::source::git::Mirror;

/// What `wrap init` found in a repository.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Discovered {
    /// The distribution's name (setup.cfg's `[metadata] name`, pyproject's `[project] name`).
    pub name: Option<String>,
    /// Console and WSGI scripts it installs, sorted.
    pub scripts: Vec<String>,
}

/// The manifest's project: where it comes from and at which ref.
struct Source {
    name: String,
    git: String,
    git_ref: String,
    scripts: Vec<String>,
}

/// Writes a commented manifest at `path` (never over an existing file), for the repository at
/// `source` when given.
pub fn init(path: &Path, source: Option<&str>, cache: &Cache, reporter: &dyn Reporter) -> Result<()> {
    if path.exists() {
        return Err(Error::ManifestExists { path: path.into() });
    }
    let abs = std::path::absolute(path)?;
    let dir = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
    let source = match source {
        Some(s) => discover(s, &dir, cache, reporter)?,
        None => Source {
            name: "python-openstackclient".into(),
            git: "https://opendev.org/openstack/python-openstackclient".into(),
            git_ref: "master".into(),
            scripts: vec![],
        },
    };
    let text = manifest_text(&source);
    // What is written must read back: a name or ref the manifest refuses fails here, not later.
    Manifest::parse(path, &dir, &text)?;
    let mut file = crate::fs::temp_file_in(&dir)?;
    file.write_all(text.as_bytes())?;
    file.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::ManifestExists { path: path.into() }
        } else {
            e.error.into()
        }
    })?;
    reporter.report(&Event::Initialized {
        manifest: path.display().to_string(),
        project: &source.name,
        git: &source.git,
        git_ref: &source.git_ref,
        scripts: &source.scripts,
    });
    Ok(())
}

/// Opens (or makes) the mirror of `written` and reads the project's name, newest version tag
/// and scripts from it.
fn discover(written: &str, dir: &Path, cache: &Cache, reporter: &dyn Reporter) -> Result<Source> {
    // As the manifest tells a URL from a path.
    let (git, url) = if written.contains("://") || crate::giturl::is_scp_like(written) {
        (written.to_string(), written.to_string())
    } else {
        let abs = std::path::absolute(written)?;
        // As written when relative to the manifest's directory (the usual `wrap init ../x`
        // beside it); else the absolute path.
        let shown = match Path::new(written).is_relative() && std::env::current_dir()? == dir {
            true => written.to_string(),
            false => abs.display().to_string(),
        };
        (shown, abs.display().to_string())
    };
    let fallback =
        git.trim_end_matches('/').trim_end_matches(".git").rsplit(['/', ':']).next().unwrap_or("project");
    let fallback = normalize(fallback);
    reporter.project_status("Fetching", &fallback, git.clone());
    let mut warnings = Vec::new();
    let source = GitSource { written: git.clone(), url };
    let mirror = Mirror::open(cache, &fallback, &source, false, &mut warnings);
    for w in warnings {
        reporter.warn(w);
    }
    let mirror = mirror?;
    // A mirror the cache already held learns the newest tags first.
    mirror.update()?;
    let (git_ref, commit) = match mirror.newest_version_tag()? {
        Some(tag) => tag,
        None => mirror.default_branch().ok_or_else(|| Error::EmptyRepository { url: git.clone() })?,
    };
    let text = |path: &str| mirror.read_at(commit, path).and_then(|b| String::from_utf8(b).ok());
    let found = read_metadata(text("setup.cfg").as_deref(), text("pyproject.toml").as_deref());
    let name = found.name.as_deref().map(normalize).unwrap_or(fallback);
    Ok(Source { name, git, git_ref, scripts: found.scripts })
}

/// A name for the manifest from metadata or a URL's last part: lowercase, every run of other
/// characters than letters and digits as one `-` (PEP 503's normalization, `pyenv::normalize`,
/// widened to any character a URL may hold), at most 64 characters: also a package name dpkg
/// and rpm take.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches(|c: char| !c.is_ascii_alphanumeric()).chars().take(64).collect();
    if out.is_empty() { "project".into() } else { out }
}

/// The name and the scripts that setup.cfg (pbr, setuptools) or pyproject.toml declare.
pub fn read_metadata(setup_cfg: Option<&str>, pyproject: Option<&str>) -> Discovered {
    let mut found = Discovered::default();
    if let Some(table) = pyproject.and_then(|t| t.parse::<toml::Table>().ok())
        && let Some(project) = table.get("project").and_then(|p| p.as_table())
    {
        found.name = project.get("name").and_then(|n| n.as_str()).map(str::to_string);
        if let Some(scripts) = project.get("scripts").and_then(|s| s.as_table()) {
            found.scripts.extend(scripts.keys().cloned());
        }
    }
    if let Some(cfg) = setup_cfg {
        let (mut section, mut key) = (String::new(), String::new());
        for line in cfg.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                // A continuation line of `key`: `name = module:function`.
                if section == "entry_points" && ["console_scripts", "wsgi_scripts"].contains(&key.as_str()) {
                    let script = trimmed.split('=').next().unwrap_or_default().trim();
                    if !script.is_empty() {
                        found.scripts.push(script.to_string());
                    }
                }
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                (section, key) = (name.trim().to_string(), String::new());
            } else if let Some((k, v)) = trimmed.split_once(['=', ':']) {
                key = k.trim().to_string();
                if section == "metadata" && key == "name" && found.name.is_none() {
                    found.name = Some(v.trim().to_string());
                }
            }
        }
    }
    found.scripts.sort();
    found.scripts.dedup();
    found
}

/// The commented manifest for `source`.
fn manifest_text(source: &Source) -> String {
    let Source { name, git, git_ref, scripts } = source;
    // Values from the repository and the command line are TOML-quoted, never pasted between
    // quotes: a path or tag holding `"`, `\` or a newline cannot add keys.
    let quoted = |text: &str| toml::Value::String(text.to_string()).to_string();
    let (q_name, q_git, q_ref) = (quoted(name), quoted(git), quoted(git_ref));
    let services = if scripts.is_empty() {
        "# Console scripts that get a systemd unit, and those put in /usr/bin:\n# services = [\"NAME\"]\n# links = [\"NAME\"]\n".to_string()
    } else {
        let list = scripts.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", ");
        format!(
            "# Its console scripts: those named in `services` get a systemd unit, those in `links` a\n\
             # command in /usr/bin.\n# services = [{list}]\n# links = [{list}]\n"
        )
    };
    format!(
        r#"# wrap.toml: what wrap builds. Written by `wrap init`; every key is in the README's manifest
# reference. Then: `wrap lock` pins the ref to a commit, `wrap build` writes the packages.

[settings]
# Templates: {{name}} is the project's name, {{version}} its version. A prefix keeps the packages
# apart from the distribution's own (`openstack-{{name}}`); `{{version}}` in install_path installs
# versions side by side.
package_name = "{{name}}"
install_path = "/opt/wrap/{{name}}"
# maintainer = "Cloud Ops <ops@example.com>"
# The formats to write (default: this host's native one):
# formats = ["deb", "rpm"]
# Pins for the dependencies, a file beside this one or an https URL:
# constraints = ["https://releases.openstack.org/constraints/upper/master"]

[[project]]
name = {q_name}
git = {q_git}
# A tag, a branch or a full commit id:
ref = {q_ref}
# Your patches, applied in this order:
# patches = ["patches/{name}/0001-fix.patch"]
# Extra requirements installed beside it:
# pip_dependencies = []
# A system user its services run as:
# user = {q_name}
{services}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pbr_setup_cfg_and_pyproject() {
        let cfg = "[metadata]\nname = keystone\nsummary = x\n\n[entry_points]\nconsole_scripts =\n    keystone-manage = keystone.cmd.manage:main\n    keystone-status = keystone.cmd.status:main\nwsgi_scripts =\n    keystone-wsgi-public = keystone.server.wsgi:initialize_public_application\noslo.config.opts =\n    keystone = keystone.conf.opts:list_opts\n";
        let found = read_metadata(Some(cfg), None);
        assert_eq!(found.name.as_deref(), Some("keystone"));
        assert_eq!(found.scripts, ["keystone-manage", "keystone-status", "keystone-wsgi-public"]);
        let pyproject = "[project]\nname = \"Tally\"\n[project.scripts]\ntally = \"tally:main\"\n";
        let found = read_metadata(None, Some(pyproject));
        assert_eq!(
            (found.name.as_deref(), found.scripts.as_slice()),
            (Some("Tally"), &["tally".to_string()][..])
        );
        assert_eq!(read_metadata(Some("garbage ["), Some("not = [toml")), Discovered::default());
    }

    #[test]
    fn names_are_normalized_for_the_manifest() {
        assert_eq!(normalize("Tally"), "tally");
        assert_eq!(normalize("my project!"), "my-project");
        assert_eq!(normalize("oslo.config"), "oslo-config");
        assert_eq!(normalize("My_Tool"), "my-tool");
        assert_eq!(normalize("--"), "project");
    }
}
