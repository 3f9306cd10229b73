//! The staged filesystem root of a package: the relocated bundle at its install path, the
//! project's own `etc/` tree (and its `etc/<name>/`, where OpenStack keeps it) as `/etc/<name>/`
//! (conffiles), `/usr/share/doc/<package>/copyright`,
//! and a systemd unit per named service. The .deb and .rpm writers archive this one tree.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::manifest::Unit;
use crate::package::script::fill;

/// Where systemd units go: the path both Debian and RPM distributions read.
pub const UNIT_DIR: &str = "usr/lib/systemd/system";

/// What the layout needs to know.
pub struct Layout<'a> {
    /// The staged root (empty when called, but for the bundle at its install path).
    pub root: &'a Path,
    /// Project name: `/etc/<name>/`.
    pub project: &'a str,
    /// Package name: `/usr/share/doc/<package>/`.
    pub package: &'a str,
    /// A tree holding the patched checkout's `etc/`, which is shipped.
    pub checkout: &'a Path,
    /// Install path of the bundle.
    pub install_path: &'a str,
    /// Path units run scripts from: the stable path when there is one.
    pub run_path: &'a str,
    /// Console scripts to write units for.
    pub services: &'a [String],
    /// Console scripts put on PATH as `/usr/bin/<name>`.
    pub links: &'a [String],
    /// What services' units say beyond the defaults, by service.
    pub units: &'a std::collections::BTreeMap<String, Unit>,
    /// Whether the package ships those links (to the install path); with a stable path,
    /// update-alternatives makes them instead, so that side-by-side versions never both own one.
    pub ship_links: bool,
    /// User and group the services run as.
    pub user: Option<&'a str>,
    /// One-line description.
    pub summary: &'a str,
    /// Project home page.
    pub homepage: Option<&'a str>,
    /// Text of the copyright file.
    pub copyright: &'a str,
}

/// What the layout put in the root.
#[derive(Debug, Default)]
pub struct Staged {
    /// Absolute paths of configuration files.
    pub conffiles: Vec<String>,
    /// Absolute paths of unit files.
    pub units: Vec<String>,
}

/// Where the bundle goes inside `root`.
pub fn bundle_dir(root: &Path, install_path: &str) -> PathBuf {
    root.join(install_path.trim_start_matches('/'))
}

/// Writes everything but the bundle into the root.
pub fn stage(layout: &Layout<'_>) -> Result<Staged> {
    let mut staged = Staged::default();
    // OpenStack projects keep their configuration in `etc/<name>/` (nova, neutron, cinder),
    // others in `etc/` itself (keystone, glance): both go to /etc/<name>/, `etc/<name>/`'s file
    // winning where both have one.
    let etc = layout.checkout.join("etc");
    let own = etc.join(layout.project);
    for (tree, skip) in [(&etc, Some(&own)), (&own, None)] {
        if tree.is_dir() {
            stage_etc(layout, tree, skip.map(PathBuf::as_path), &mut staged.conffiles)?;
        }
    }
    staged.conffiles.sort();
    staged.conffiles.dedup();
    let doc = layout.root.join("usr/share/doc").join(layout.package);
    fs_err::create_dir_all(&doc)?;
    fs_err::write(doc.join("copyright"), layout.copyright)?;

    let bin = bundle_dir(layout.root, layout.install_path).join("bin");
    for (key, scripts) in [("links", layout.links), ("services", layout.services)] {
        if let Some(script) = scripts.iter().find(|s| !bin.join(s).is_file()) {
            return Err(Error::ServiceMissing {
                project: layout.project.into(),
                key,
                script: script.clone(),
            });
        }
    }
    if layout.ship_links && !layout.links.is_empty() {
        let dir = layout.root.join("usr/bin");
        fs_err::create_dir_all(&dir)?;
        for link in layout.links {
            fs_err::os::unix::fs::symlink(format!("{}/bin/{link}", layout.run_path), dir.join(link))?;
        }
    }
    for script in layout.services {
        let unit = unit_file(layout, script, layout.units.get(script).cloned().unwrap_or_default());
        let dir = layout.root.join(UNIT_DIR);
        fs_err::create_dir_all(&dir)?;
        fs_err::write(dir.join(format!("{script}.service")), unit)?;
        staged.units.push(format!("/{UNIT_DIR}/{script}.service"));
    }
    Ok(staged)
}

/// Copies the configuration tree `tree` (but `skip`) to /etc/<name>/ in the root, each file a
/// conffile.
fn stage_etc(
    layout: &Layout<'_>,
    tree: &Path,
    skip: Option<&Path>,
    conffiles: &mut Vec<String>,
) -> Result<()> {
    let dest = layout.root.join("etc").join(layout.project);
    let walk = walkdir::WalkDir::new(tree).sort_by_file_name().into_iter();
    for entry in walk.filter_entry(|e| Some(e.path()) != skip) {
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        let rel = entry.path().strip_prefix(tree).expect("below etc");
        let target = dest.join(rel);
        // git keeps an empty directory alive with an empty hidden file: the directory ships,
        // the placeholder does not (it would be a zero-length conffile).
        let keep_file = entry.file_type().is_file()
            && [".placeholder", ".gitkeep", ".keep"].contains(&entry.file_name().to_string_lossy().as_ref())
            && entry.metadata().is_ok_and(|m| m.len() == 0);
        if entry.file_type().is_dir() {
            fs_err::create_dir_all(&target)?;
        } else if keep_file {
            continue;
        } else if entry.file_type().is_file() {
            fs_err::copy(entry.path(), &target)?;
            conffiles.push(format!("/etc/{}/{}", layout.project, rel.display()));
        }
    }
    Ok(())
}

/// The unit of `script`: wrap's template with the manifest's `[project.unit.<script>]`. Values
/// were held to their grammar when the manifest was read (one line, unit names, `NAME=VALUE`);
/// here they are quoted as systemd reads them: `%` doubled (a specifier), `$` doubled in
/// `ExecStart=` (a variable), `\` and `"` escaped inside double quotes.
fn unit_file(layout: &Layout<'_>, script: &str, unit: Unit) -> String {
    let quoted = |text: &str, dollar: bool| {
        let mut out = text.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%");
        if dollar {
            out = out.replace('$', "$$");
        }
        format!("\"{out}\"")
    };
    let mut exec = format!("{}/bin/{script}", layout.run_path);
    for arg in &unit.args {
        exec.push(' ');
        exec.push_str(&quoted(arg, true));
    }
    let environment: Vec<String> =
        unit.environment.iter().map(|e| format!("Environment={}", quoted(e, false))).collect();
    // The unit's own account, else the project's user and its group; a unit's own user without
    // a group runs in that user's primary group (systemd's default, when `Group=` is absent).
    let user = unit.user.as_deref().or(layout.user);
    let group = unit.group.as_deref().or(if unit.user.is_some() { None } else { layout.user });
    let together = |extra: &[String]| {
        let mut all = vec!["network-online.target".to_string()];
        all.extend(extra.iter().filter(|u| *u != "network-online.target").cloned());
        all.join(" ")
    };
    fill(
        include_str!("../../packaging/systemd.service"),
        &[
            // `%` starts a specifier in a unit file; the summary is upstream's text.
            ("SUMMARY", &layout.summary.replace('%', "%%")),
            ("SCRIPT", script),
            ("DOCUMENTATION", layout.homepage.unwrap_or("")),
            ("AFTER", &together(&unit.after)),
            ("WANTS", &together(&unit.wants)),
            ("EXEC", &exec),
            ("ENVIRONMENT", &environment.join("\n")),
            ("ENVIRONMENT_FILE", &unit.environment_file.map(|f| format!("-{f}")).unwrap_or_default()),
            ("USER", &user.map(|u| format!("User={u}")).unwrap_or_default()),
            ("GROUP", &group.map(|g| format!("Group={g}")).unwrap_or_default()),
            ("RESTART", unit.restart.as_deref().unwrap_or("on-failure")),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_ships_etc_docs_and_units() {
        let tmp = tempfile::tempdir().unwrap();
        let checkout = tmp.path().join("src");
        fs_err::create_dir_all(checkout.join("etc/sub")).unwrap();
        fs_err::write(checkout.join("etc/hello.conf"), "x=1\n").unwrap();
        fs_err::write(checkout.join("etc/sub/more.conf"), "y=2\n").unwrap();
        // OpenStack's `etc/<name>/` is /etc/<name>/ too, not /etc/<name>/<name>/.
        fs_err::create_dir_all(checkout.join("etc/hello/rootwrap.d")).unwrap();
        fs_err::write(checkout.join("etc/hello/rootwrap.conf"), "[DEFAULT]\n").unwrap();
        fs_err::write(checkout.join("etc/hello/rootwrap.d/a.filters"), "[Filters]\n").unwrap();
        fs_err::write(checkout.join("etc/hello/hello.conf"), "x=2\n").unwrap();
        let root = tmp.path().join("root");
        let bin = bundle_dir(&root, "/opt/h/hello-1").join("bin");
        fs_err::create_dir_all(&bin).unwrap();
        fs_err::write(bin.join("hello"), "#!/bin/sh\n").unwrap();
        let services = vec!["hello".to_string()];
        let units = std::collections::BTreeMap::new();
        let layout = Layout {
            root: &root,
            project: "hello",
            package: "hello-pkg",
            checkout: &checkout,
            install_path: "/opt/h/hello-1",
            run_path: "/opt/h/hello",
            services: &services,
            links: &services,
            units: &units,
            ship_links: true,
            user: Some("hello"),
            summary: "Says hello",
            homepage: None,
            copyright: "c\n",
        };
        let staged = stage(&layout).unwrap();
        assert_eq!(
            staged.conffiles,
            [
                "/etc/hello/hello.conf",
                "/etc/hello/rootwrap.conf",
                "/etc/hello/rootwrap.d/a.filters",
                "/etc/hello/sub/more.conf"
            ]
        );
        assert_eq!(fs_err::read_to_string(root.join("etc/hello/hello.conf")).unwrap(), "x=2\n");
        assert!(!root.join("etc/hello/hello").exists());
        assert_eq!(staged.units, ["/usr/lib/systemd/system/hello.service"]);
        let unit = fs_err::read_to_string(root.join("usr/lib/systemd/system/hello.service")).unwrap();
        assert!(unit.contains("ExecStart=/opt/h/hello/bin/hello\nUser=hello\nGroup=hello\n"), "{unit}");
        assert!(!unit.contains("Documentation"), "{unit}");
        assert!(root.join("usr/share/doc/hello-pkg/copyright").is_file());
        // The link points at the run path (the stable path when there is one).
        let link = std::fs::read_link(root.join("usr/bin/hello")).unwrap();
        assert_eq!(link, Path::new("/opt/h/hello/bin/hello"));
        let missing = vec!["nope".to_string()];
        let e = stage(&Layout { services: &missing, ..layout }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "project `hello`: `nope` in `services` is not a console script of the bundle"
        );
        let e = stage(&Layout { links: &missing, ..layout }).unwrap_err();
        assert_eq!(e.to_string(), "project `hello`: `nope` in `links` is not a console script of the bundle");
    }

    #[test]
    fn unit_settings_are_quoted_as_systemd_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let bin = bundle_dir(&root, "/opt/h/hello-1").join("bin");
        fs_err::create_dir_all(&bin).unwrap();
        fs_err::write(bin.join("hello"), "#!/bin/sh\n").unwrap();
        let services = vec!["hello".to_string()];
        let unit = Unit {
            args: vec![
                "--config-file".into(),
                "/etc/hello/a b.conf".into(),
                "100%".into(),
                "$HOME \"q\" \\".into(),
            ],
            environment: vec!["OS_REGION=Region One".into(), "LIMIT=50%".into()],
            environment_file: Some("/etc/default/hello".into()),
            restart: Some("always".into()),
            after: vec!["mysql.service".into(), "network-online.target".into()],
            wants: vec![],
            user: Some("libvirt-qemu".into()),
            group: None,
        };
        let units = std::collections::BTreeMap::from([("hello".to_string(), unit)]);
        let layout = Layout {
            root: &root,
            project: "hello",
            package: "hello-pkg",
            checkout: tmp.path(),
            install_path: "/opt/h/hello-1",
            run_path: "/opt/h/hello-1",
            services: &services,
            links: &[],
            units: &units,
            ship_links: false,
            user: None,
            summary: "Says @USER@ 100%",
            homepage: None,
            copyright: "c\n",
        };
        stage(&layout).unwrap();
        let text = fs_err::read_to_string(root.join("usr/lib/systemd/system/hello.service")).unwrap();
        assert_eq!(
            text,
            "[Unit]\nDescription=Says @USER@ 100%% (hello)\nAfter=network-online.target mysql.service\nWants=network-online.target\n\n\
             [Service]\nType=exec\nExecStart=/opt/h/hello-1/bin/hello \"--config-file\" \"/etc/hello/a b.conf\" \"100%%\" \"$$HOME \\\"q\\\" \\\\\"\n\
             Environment=\"OS_REGION=Region One\"\nEnvironment=\"LIMIT=50%%\"\nEnvironmentFile=-/etc/default/hello\nUser=libvirt-qemu\nRestart=always\n\n\
             [Install]\nWantedBy=multi-user.target\n"
        );
        // systemd reads it back as meant: the arguments one by one, unexpanded.
        if std::process::Command::new("systemd-analyze").arg("--version").output().is_ok() {
            let unit_dir = root.join("usr/lib/systemd/system");
            let out = std::process::Command::new("systemd-analyze")
                .args(["verify", "--man=no"])
                .arg(unit_dir.join("hello.service"))
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            // The script is not installed here; nothing else may be wrong.
            let problems: Vec<&str> =
                said.lines().filter(|l| !l.contains("/opt/h/hello-1/bin/hello")).collect();
            assert!(problems.is_empty(), "{said}");
        }
    }
}
