//! The .rpm writer: formats the same [`PackageSpec`] and package root as the .deb, with the `rpm`
//! crate (SHA256 header, payload and file digests). Requires come from the computed
//! requirements as RPM names them (`/usr/bin/python3.11`, `libc.so.6(GLIBC_2.17)(64bit)`,
//! `libssl.so.3()(64bit)`), then the manifest's RPM system dependencies. Files under /etc are
//! `%config(noreplace)`; the package owns every directory of its own trees and never a system
//! directory. Scriptlets come from packaging/rpm/. The source date clamps every mtime and the
//! build time, and the build host is fixed, so the same input gives the same bytes.

use std::io::Write;
use std::path::Path;

use crate::cache::temp_file_in;
use crate::error::{Error, Result};
use crate::manifest::{Compression, Format};
use crate::package::depends::Requirement;
use crate::package::layout::fill;
use crate::package::spec::{PackageSpec, wrap_words};
use crate::package::{Artifact, place};

/// The host's RPM architecture.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86" => "i686",
        "arm" => "armv7hl",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Whether sonames carry RPM's `(64bit)` mark on this architecture.
fn is_64bit() -> bool {
    cfg!(target_pointer_width = "64")
}

/// The package's file name: `<name>-<version>-<release>.<arch>.rpm`.
pub fn file_name(spec: &PackageSpec) -> String {
    format!("{}-{}-{}.{}.rpm", spec.name, spec.upstream_version(), spec.release, host_arch())
}

/// Requires, computed, as RPM names them; then the RPM system dependencies (the manifest's
/// `[project.rpm]` list, else its `system_dependencies`).
pub fn requires(spec: &PackageSpec, rpm_system_dependencies: &[String]) -> Vec<String> {
    let bits = if is_64bit() { "(64bit)" } else { "" };
    let glibc = spec.requirements.iter().any(|r| matches!(r, Requirement::Glibc(_)));
    let mut out: Vec<String> = Vec::new();
    let mut push = |dep: String| {
        if !out.contains(&dep) {
            out.push(dep);
        }
    };
    for requirement in &spec.requirements {
        match requirement {
            Requirement::Python(abi) => push(format!("/usr/bin/python{abi}")),
            Requirement::Glibc(v) => push(format!("libc.so.6(GLIBC_{v}){bits}")),
            Requirement::Library { soname, .. } if soname == "libc.so.6" && glibc => {}
            Requirement::Library { soname, .. } => push(format!("{soname}(){bits}")),
        }
    }
    for dep in rpm_system_dependencies {
        push(dep.clone());
    }
    out
}

/// The scriptlets the package needs: (post, postun).
fn scriptlets(spec: &PackageSpec) -> (Option<String>, String) {
    let add_user = spec.user.as_deref().map(|u| {
        format!(
            "getent group {u} >/dev/null || groupadd -r {u}\ngetent passwd {u} >/dev/null || useradd -r -g {u} -d /var/lib/{u} -s /sbin/nologin -c {u} {u}"
        )
    });
    let alternatives = spec
        .alternative
        .as_ref()
        .map(|a| format!("update-alternatives --install {} {} {} {}", a.link, a.name, a.path, a.priority));
    let base = [("PACKAGE", spec.name.as_str()), ("INSTALL_PATH", spec.install_path.as_str())];
    let post = (add_user.is_some() || alternatives.is_some()).then(|| {
        let mut values = base.to_vec();
        values.push(("ADD_USER", add_user.as_deref().unwrap_or("")));
        values.push(("ALTERNATIVES", alternatives.as_deref().unwrap_or("")));
        fill(include_str!("../../packaging/rpm/post"), &values)
    });
    let remove = spec
        .alternative
        .as_ref()
        .map(|a| {
            format!(
                "    # The stable path falls back to the newest other installed version, if any.\n    update-alternatives --remove {} {}",
                a.name, a.path
            )
        })
        .unwrap_or_default();
    let mut values = base.to_vec();
    values.push(("ALTERNATIVES", &remove));
    (post, fill(include_str!("../../packaging/rpm/postun"), &values))
}

/// Writes the .rpm of `spec` into `out_dir`.
pub fn write(
    spec: &PackageSpec,
    rpm_system_dependencies: &[String],
    compression: Compression,
    out_dir: &Path,
) -> Result<Artifact> {
    let fail = |e: rpm::Error| Error::Rpm { package: spec.name.clone(), detail: e.to_string() };
    // The crate's defaults (gzip 9, xz 9) cost much time for little size; these match the .deb.
    let compression = match compression {
        Compression::Gzip => rpm::CompressionWithLevel::Gzip(6),
        Compression::Xz => rpm::CompressionWithLevel::Xz(6),
        Compression::Zstd => rpm::CompressionWithLevel::Zstd(19),
    };
    let config = rpm::BuildConfig::v4().compression(compression).source_date(spec.mtime as u32);
    let license = spec.license.clone().unwrap_or_else(|| "LicenseRef-Unknown".into());
    let mut builder =
        rpm::PackageBuilder::new(&spec.name, &spec.upstream_version(), &license, host_arch(), &spec.summary);
    builder
        .using_config(config)
        .release(&spec.release)
        .description(wrap_words_paragraphs(&spec.description))
        .packager(&spec.maintainer)
        .vendor(&spec.maintainer)
        .group("Applications/System")
        .build_host("wrap")
        .add_changelog_entry(
            format!("{} - {}-{}", spec.maintainer, spec.upstream_version(), spec.release),
            format!("- {}", spec.origin),
            rpm::Timestamp(spec.mtime as u32),
        );
    if let Some(epoch) = spec.epoch {
        builder.epoch(epoch);
    }
    if let Some(url) = &spec.homepage {
        builder.url(url);
    }
    for dep in requires(spec, rpm_system_dependencies) {
        builder.requires(rpm::Dependency::any(dep));
    }
    let relations = &spec.relations;
    for dep in &relations.recommends {
        builder.recommends(rpm::Dependency::any(dep.as_str()));
    }
    for dep in &relations.provides {
        builder.provides(rpm::Dependency::any(dep.as_str()));
    }
    for dep in &relations.conflicts {
        builder.conflicts(rpm::Dependency::any(dep.as_str()));
    }
    // RPM has no Replaces: a package that replaces another obsoletes it.
    for dep in &relations.replaces {
        builder.obsoletes(rpm::Dependency::any(dep.as_str()));
    }
    let (post, postun) = scriptlets(spec);
    if let Some(post) = post {
        if spec.user.is_some() {
            for tool in ["/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/bin/getent"] {
                builder.requires(rpm::Dependency::script_post(tool));
            }
        }
        if spec.alternative.is_some() {
            builder.requires(rpm::Dependency::script_post("/usr/sbin/update-alternatives"));
        }
        builder.post_install_script(rpm::Scriptlet::new(post).prog(vec!["/bin/sh"]));
    }
    if spec.alternative.is_some() {
        builder.requires(rpm::Dependency::script_postun("/usr/sbin/update-alternatives"));
    }
    builder.post_uninstall_script(rpm::Scriptlet::new(postun).prog(vec!["/bin/sh"]));
    add_files(&mut builder, spec)?;
    let package = builder.build().map_err(fail)?;

    fs_err::create_dir_all(out_dir)?;
    let path = out_dir.join(file_name(spec));
    let tmp = temp_file_in(out_dir)?;
    let mut out = crate::archive::Hashing::new(std::io::BufWriter::new(tmp.as_file()));
    package.write(&mut out).map_err(fail)?;
    let (mut writer, sha256, size) = out.finish();
    writer.flush()?;
    drop(writer);
    place(tmp, path, sha256, size, &spec.name, Format::Rpm)
}

/// Adds every entry of the package root but the Debian-only files.
fn add_files(builder: &mut rpm::PackageBuilder, spec: &PackageSpec) -> Result<()> {
    let fail = |e: rpm::Error| Error::Rpm { package: spec.name.clone(), detail: e.to_string() };
    let doc = format!("/usr/share/doc/{}", spec.name);
    let debian_only = [format!("{doc}/changelog.Debian.gz"), "/usr/share/lintian".to_string()];
    let mtime = rpm::Timestamp(spec.mtime as u32);
    let walk = walkdir::WalkDir::new(&spec.root).sort_by_file_name().min_depth(1).into_iter();
    for entry in walk.filter_entry(|e| {
        let abs = format!("/{}", e.path().strip_prefix(&spec.root).unwrap_or(e.path()).display());
        !debian_only.iter().any(|d| abs == *d || abs.starts_with(&format!("{d}/")))
    }) {
        crate::interrupt::check()?;
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        let abs = format!("/{}", entry.path().strip_prefix(&spec.root).expect("below the root").display());
        let kind = entry.file_type();
        if kind.is_dir() {
            // Own the directories of the package's own trees, never the system's.
            let own = abs == spec.install_path
                || abs.starts_with(&format!("{}/", spec.install_path))
                || abs == doc
                || abs.starts_with(&format!("{doc}/"))
                || (abs.starts_with("/etc/") && abs.matches('/').count() >= 2);
            if own {
                builder
                    .with_dir_entry(rpm::FileOptions::dir(&abs).permissions(0o755).modified_at(mtime))
                    .map_err(fail)?;
            }
        } else if kind.is_symlink() {
            let target = fs_err::read_link(entry.path())?;
            builder
                .with_symlink(rpm::FileOptions::symlink(&abs, target.to_string_lossy()).modified_at(mtime))
                .map_err(fail)?;
        } else {
            use std::os::unix::fs::PermissionsExt;
            let executable =
                entry.metadata().map_err(|e| Error::Io(e.into()))?.permissions().mode() & 0o111 != 0;
            let mut options = rpm::FileOptions::new(&abs)
                .permissions(if executable { 0o755 } else { 0o644 })
                .modified_at(mtime);
            if spec.conffiles.contains(&abs) {
                options = options.config().noreplace();
            } else if abs.starts_with(&format!("{doc}/")) {
                options = options.doc();
            }
            builder.with_file(entry.path(), options).map_err(fail)?;
        }
    }
    Ok(())
}

/// Paragraphs word-wrapped at 79 columns, blank lines between them.
fn wrap_words_paragraphs(text: &str) -> String {
    text.split("\n\n").map(|p| wrap_words(p, 79).join("\n")).collect::<Vec<_>>().join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Relations;
    use std::path::PathBuf;

    fn spec() -> PackageSpec {
        PackageSpec {
            name: "wrap-test-hello".into(),
            version: "1.1.0".into(),
            release: "1".into(),
            epoch: None,
            maintainer: "Cloud Ops <ops@example.com>".into(),
            summary: "Says hello".into(),
            description: "A tiny program.".into(),
            homepage: None,
            license: Some("Apache-2.0".into()),
            section: "misc".into(),
            priority: "optional".into(),
            requirements: vec![
                Requirement::Python("3.11".into()),
                Requirement::Glibc("2.17".into()),
                Requirement::Library {
                    soname: "libc.so.6".into(),
                    host_path: None,
                    needed_by: PathBuf::from("x.so"),
                },
                Requirement::Library {
                    soname: "libssl.so.3".into(),
                    host_path: None,
                    needed_by: PathBuf::from("y.so"),
                },
            ],
            system_dependencies: vec!["libvirt0".into()],
            rpm_system_dependencies: None,
            relations: Relations::default(),
            install_path: "/opt/wrap-test/hello-1.1.0".into(),
            alternative: None,
            user: None,
            units: vec![],
            conffiles: vec![],
            root: PathBuf::from("/nonexistent"),
            mtime: 0,
            origin: String::new(),
        }
    }

    #[test]
    fn requires_name_files_sonames_and_glibc() {
        if !is_64bit() {
            return;
        }
        assert_eq!(
            requires(&spec(), &["libvirt-libs".into()]),
            ["/usr/bin/python3.11", "libc.so.6(GLIBC_2.17)(64bit)", "libssl.so.3()(64bit)", "libvirt-libs"]
        );
    }
}
