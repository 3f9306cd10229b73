//! The staged filesystem root of a package: the relocated bundle at its install path, the
//! project's own `etc/` tree as `/etc/<name>/` (conffiles), `/usr/share/doc/<package>/copyright`,
//! and a systemd unit per named service. The .deb and .rpm writers archive this one tree.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
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
    /// The patched checkout, whose `etc/` tree is shipped.
    pub checkout: &'a Path,
    /// Install path of the bundle.
    pub install_path: &'a str,
    /// Path units run scripts from: the stable path when there is one.
    pub run_path: &'a str,
    /// Console scripts to write units for.
    pub services: &'a [String],
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
    let etc = layout.checkout.join("etc");
    if etc.is_dir() {
        let dest = layout.root.join("etc").join(layout.project);
        for entry in walkdir::WalkDir::new(&etc).sort_by_file_name() {
            let entry = entry.map_err(|e| Error::Io(e.into()))?;
            let rel = entry.path().strip_prefix(&etc).expect("below etc");
            let target = dest.join(rel);
            // git keeps an empty directory alive with an empty hidden file: the directory ships,
            // the placeholder does not (it would be a zero-length conffile).
            let keep_file = entry.file_type().is_file()
                && [".placeholder", ".gitkeep", ".keep"]
                    .contains(&entry.file_name().to_string_lossy().as_ref())
                && entry.metadata().is_ok_and(|m| m.len() == 0);
            if entry.file_type().is_dir() {
                fs_err::create_dir_all(&target)?;
            } else if keep_file {
                continue;
            } else if entry.file_type().is_file() {
                fs_err::copy(entry.path(), &target)?;
                staged.conffiles.push(format!("/etc/{}/{}", layout.project, rel.display()));
            }
        }
    }
    let doc = layout.root.join("usr/share/doc").join(layout.package);
    fs_err::create_dir_all(&doc)?;
    fs_err::write(doc.join("copyright"), layout.copyright)?;

    for script in layout.services {
        if !bundle_dir(layout.root, layout.install_path).join("bin").join(script).is_file() {
            return Err(Error::ServiceMissing { project: layout.project.into(), script: script.clone() });
        }
        let unit = fill(
            include_str!("../../packaging/systemd.service"),
            &[
                // `%` starts a specifier in a unit file; the summary is upstream's text.
                ("SUMMARY", &layout.summary.replace('%', "%%")),
                ("SCRIPT", script),
                ("DOCUMENTATION", layout.homepage.unwrap_or("")),
                ("EXEC", &format!("{}/bin/{script}", layout.run_path)),
                ("USER", &layout.user.map(|u| format!("User={u}")).unwrap_or_default()),
                ("GROUP", &layout.user.map(|u| format!("Group={u}")).unwrap_or_default()),
            ],
        );
        let dir = layout.root.join(UNIT_DIR);
        fs_err::create_dir_all(&dir)?;
        fs_err::write(dir.join(format!("{script}.service")), unit)?;
        staged.units.push(format!("/{UNIT_DIR}/{script}.service"));
    }
    Ok(staged)
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
        let root = tmp.path().join("root");
        let bin = bundle_dir(&root, "/opt/h/hello-1").join("bin");
        fs_err::create_dir_all(&bin).unwrap();
        fs_err::write(bin.join("hello"), "#!/bin/sh\n").unwrap();
        let services = vec!["hello".to_string()];
        let layout = Layout {
            root: &root,
            project: "hello",
            package: "hello-pkg",
            checkout: &checkout,
            install_path: "/opt/h/hello-1",
            run_path: "/opt/h/hello",
            services: &services,
            user: Some("hello"),
            summary: "Says hello",
            homepage: None,
            copyright: "c\n",
        };
        let staged = stage(&layout).unwrap();
        assert_eq!(staged.conffiles, ["/etc/hello/hello.conf", "/etc/hello/sub/more.conf"]);
        assert_eq!(staged.units, ["/usr/lib/systemd/system/hello.service"]);
        let unit = fs_err::read_to_string(root.join("usr/lib/systemd/system/hello.service")).unwrap();
        assert!(unit.contains("ExecStart=/opt/h/hello/bin/hello\nUser=hello\nGroup=hello\n"), "{unit}");
        assert!(!unit.contains("Documentation"), "{unit}");
        assert!(root.join("usr/share/doc/hello-pkg/copyright").is_file());
        let missing = vec!["nope".to_string()];
        let e = stage(&Layout { services: &missing, ..layout }).unwrap_err();
        assert_eq!(e.to_string(), "project `hello`: service `nope` is not a console script of the bundle");
    }
}
