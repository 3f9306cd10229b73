//! The .rpm writer: formats the same [`PackageSpec`] and package root as the .deb, with the `rpm`
//! crate (SHA256 header, payload and file digests). Requires come from the computed
//! requirements as RPM names them (`/usr/bin/python3.11`, `libc.so.6(GLIBC_2.17)(64bit)`,
//! `libssl.so.3()(64bit)`), then the manifest's RPM system dependencies. Files under /etc are
//! `%config(noreplace)`; the package owns every directory of its own trees and never a system
//! directory. Scriptlets come from packaging/rpm/. The source date clamps every mtime and the
//! build time, and the build host is fixed, so the same input gives the same bytes.

use std::io::Write;
use std::path::Path;

use crate::artifact::{Artifact, place};
use crate::error::{Error, Result};
use crate::fs::{temp_file_in, write_atomically};
use crate::manifest::relation::{Clause, Op};
use crate::manifest::{Compression, Format, Relation};
use crate::package::depends::Requirement;
use crate::package::script::fill;
use crate::package::spec::{PackageSpec, wrap_words};

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

/// A relation as an RPM dependency: a versioned clause with its comparison, alternatives as a
/// rich dependency (`(a or b)`; the crate then requires `rpmlib(RichDependencies)`).
pub fn dependency(relation: &Relation) -> rpm::Dependency {
    match relation.0.as_slice() {
        [Clause { name, version: Some((op, v)), .. }] => match op {
            Op::Less => rpm::Dependency::less(name, v),
            Op::LessEq => rpm::Dependency::less_eq(name, v),
            Op::Eq => rpm::Dependency::eq(name, v),
            Op::GreaterEq => rpm::Dependency::greater_eq(name, v),
            Op::Greater => rpm::Dependency::greater(name, v),
        },
        _ => rpm::Dependency::any(relation.rpm()),
    }
}

/// Requires, computed, as RPM names them; then the RPM system dependencies (the manifest's
/// `[project.rpm]` list, else its `system_dependencies`).
pub fn requires(spec: &PackageSpec, rpm_system_dependencies: &[Relation]) -> Vec<rpm::Dependency> {
    let bits = if is_64bit() { "(64bit)" } else { "" };
    let glibc = spec.requirements.iter().any(|r| matches!(r, Requirement::Glibc(_)));
    let mut out: Vec<rpm::Dependency> = Vec::new();
    let mut push = |dep: rpm::Dependency| {
        if !out.contains(&dep) {
            out.push(dep);
        }
    };
    for requirement in &spec.requirements {
        match requirement {
            Requirement::Python(abi) => push(rpm::Dependency::any(format!("/usr/bin/python{abi}"))),
            Requirement::Glibc(v) => push(rpm::Dependency::any(format!("libc.so.6(GLIBC_{v}){bits}"))),
            Requirement::Library { soname, .. } if soname == "libc.so.6" && glibc => {}
            Requirement::Library { soname, .. } => push(rpm::Dependency::any(format!("{soname}(){bits}"))),
        }
    }
    for dep in rpm_system_dependencies {
        push(dependency(dep));
    }
    out
}

/// Writes the .rpm of `spec` into `out_dir`.
pub fn write(
    spec: &PackageSpec,
    rpm_system_dependencies: &[Relation],
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
        rpm::PackageBuilder::new(&spec.name, spec.upstream_version(), &license, host_arch(), &spec.summary);
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
        // RPM's epoch is 32 bits; the manifest's `epoch` is, and a PEP 440 epoch past that
        // is not a version anyone writes.
        builder.epoch(u32::try_from(epoch).unwrap_or(u32::MAX));
    }
    if let Some(url) = &spec.homepage {
        builder.url(url);
    }
    for dep in requires(spec, rpm_system_dependencies) {
        builder.requires(dep);
    }
    let relations = &spec.relations;
    for dep in &relations.recommends {
        builder.recommends(dependency(dep));
    }
    for dep in &relations.provides {
        builder.provides(dependency(dep));
    }
    for dep in &relations.conflicts {
        builder.conflicts(dependency(dep));
    }
    // RPM has no Replaces: a package that replaces another obsoletes it.
    for dep in &relations.replaces {
        builder.obsoletes(dependency(dep));
    }
    let (post, postun) = crate::package::script::rpm_scriptlets(spec)?;
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
    let mut artifact = place(tmp, path, sha256, size, &spec.name, Format::Rpm)?;
    write_atomically(
        &crate::artifact::beside(&artifact.path, RPMLINT_SUFFIX),
        rpmlint_config(spec).as_bytes(),
    )?;
    artifact.sidecars.push(RPMLINT_SUFFIX.into());
    Ok(artifact)
}

/// The suffix of the rpmlint configuration wrap writes beside each .rpm.
pub const RPMLINT_SUFFIX: &str = ".rpmlint.toml";

/// The rpmlint configuration of `spec`'s package (rpmlint has no place in a package for
/// filters): packaging/rpm/rpmlint.toml with the bundle's path, then the manifest's filters.
pub fn rpmlint_config(spec: &PackageSpec) -> String {
    // Install paths hold letters, digits and `. _ + @ / -`: of these, `.` and `+` mean something
    // in a regular expression.
    let bundle = spec.install_path.replace('.', "\\.").replace('+', "\\+");
    let text = fill(
        include_str!("../../packaging/rpm/rpmlint.toml"),
        &[("PACKAGE", &spec.name), ("BUNDLE", &bundle)],
    );
    let end = text.rfind(']').expect("the template ends its list");
    let mut out = text[..end].to_string();
    if !spec.rpmlint_filters.is_empty() {
        out.push_str("    # The manifest's own filters.\n");
        for filter in &spec.rpmlint_filters {
            // The manifest refused filters with `'`: a TOML literal string holds them as written.
            out.push_str(&format!("    '{filter}',\n"));
        }
    }
    out.push_str(&text[end..]);
    out
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
            upstream: "1.1.0".into(),
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
            system_dependencies: vec![Relation::parse_deb("libvirt0").unwrap()],
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
            lintian_overrides: vec![],
            rpmlint_filters: vec![],
        }
    }

    #[test]
    fn requires_name_files_sonames_and_glibc() {
        if !is_64bit() {
            return;
        }
        let deps = [
            Relation::parse_rpm("libvirt-libs").unwrap(),
            Relation::parse_rpm("openldap >= 2.4").unwrap(),
            Relation::parse_deb("libldap2 | libldap-2.5-0").unwrap(),
        ];
        let names: Vec<String> = requires(&spec(), &deps)
            .iter()
            .map(|d| if d.version.is_empty() { d.name.clone() } else { format!("{} {}", d.name, d.version) })
            .collect();
        assert_eq!(
            names,
            [
                "/usr/bin/python3.11",
                "libc.so.6(GLIBC_2.17)(64bit)",
                "libssl.so.3()(64bit)",
                "libvirt-libs",
                "openldap 2.4",
                "(libldap2 or libldap-2.5-0)"
            ]
        );
    }
}
