//! The .rpm writer: formats the same [`PackageSpec`] and package root as the .deb, with the `rpm`
//! crate (SHA256 header, payload and file digests). Requires come from the computed
//! requirements as RPM names them (`/usr/bin/python3.11`, `libc.so.6(GLIBC_2.17)(64bit)`,
//! `libssl.so.3()(64bit)`), then the manifest's RPM system dependencies. Files under /etc are
//! `%config(noreplace)`; the package owns every directory of its own trees and never a system
//! directory. Scriptlets come from packaging/rpm/. The source date clamps every mtime and the
//! build time, and the build host is fixed, so the same input gives the same bytes.

use std::io::Write;
use std::path::Path;

use crate::archive::Data;
use crate::error::{Error, Result};
use crate::manifest::relation::{Clause, Op};
use crate::manifest::{Compression, Format, Relation};
use crate::package::Packager;
use crate::package::content::Content;
use crate::package::depends::Requirement;
use crate::package::script::fill;
use crate::package::spec::{PackageSpec, wrap_words};

/// The .rpm writer.
pub struct Rpm;

impl Packager for Rpm {
    fn format(&self) -> Format {
        Format::Rpm
    }

    fn write(
        &self,
        spec: &PackageSpec,
        content: &Content,
        compression: Compression,
        _: &Path,
        out: &mut dyn Write,
    ) -> Result<Vec<String>> {
        let fail = |e: rpm::Error| Error::Rpm { package: spec.name.clone(), detail: e.to_string() };
        let mut builder = builder(spec, compression)?;
        add_files(&mut builder, spec, content)?;
        let mut out = out;
        builder.build().map_err(fail)?.write(&mut out).map_err(fail)?;
        Ok(Vec::new())
    }

    /// The rpmlint configuration (rpmlint has no place in a package for filters).
    fn sidecars(&self, spec: &PackageSpec) -> Vec<(&'static str, Vec<u8>)> {
        vec![(RPMLINT_SUFFIX, rpmlint_config(spec).into_bytes())]
    }
}

/// Whether sonames carry RPM's `(64bit)` mark on this architecture.
fn is_64bit() -> bool {
    cfg!(target_pointer_width = "64")
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

/// The package's metadata, dependencies and scriptlets.
fn builder(spec: &PackageSpec, compression: Compression) -> Result<rpm::PackageBuilder> {
    // The crate's defaults (gzip 9, xz 9) cost much time for little size; these match the .deb.
    let compression = match compression {
        Compression::Gzip => rpm::CompressionWithLevel::Gzip(6),
        Compression::Xz => rpm::CompressionWithLevel::Xz(6),
        Compression::Zstd => rpm::CompressionWithLevel::Zstd(19),
    };
    let config = rpm::BuildConfig::v4().compression(compression).source_date(spec.mtime as u32);
    let license = spec.license.clone().unwrap_or_else(|| "LicenseRef-Unknown".into());
    let mut builder = rpm::PackageBuilder::new(
        &spec.name,
        spec.upstream_version(),
        &license,
        Format::Rpm.host_arch(),
        &spec.summary,
    );
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
    for dep in requires(spec, spec.rpm_system_dependencies()) {
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
    Ok(builder)
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

/// Adds the content's entries for the .rpm: files (configuration and documentation marked),
/// links, and the directories of the package's own trees (never a system directory).
fn add_files(builder: &mut rpm::PackageBuilder, spec: &PackageSpec, content: &Content) -> Result<()> {
    let fail = |e: rpm::Error| Error::Rpm { package: spec.name.clone(), detail: e.to_string() };
    let doc = format!("/usr/share/doc/{}", spec.name);
    let mtime = rpm::Timestamp(spec.mtime as u32);
    let under = |abs: &str, dir: &str| abs == dir || abs.starts_with(&format!("{dir}/"));
    for member in content.for_format(Format::Rpm).filter(|m| !m.rel.as_os_str().is_empty()) {
        crate::interrupt::check()?;
        let abs = format!("/{}", member.rel.display());
        let file = |abs: &str| {
            let mut options = rpm::FileOptions::new(abs).permissions(member.mode() as u16).modified_at(mtime);
            if spec.conffiles.iter().any(|c| c == abs) {
                options = options.config().noreplace();
            } else if abs.starts_with(&format!("{doc}/")) {
                options = options.doc();
            }
            options
        };
        match &member.data {
            Data::Dir => {
                let own = under(&abs, &spec.install_path)
                    || under(&abs, &doc)
                    || (abs.starts_with("/etc/") && abs.matches('/').count() >= 2);
                if own {
                    let options = rpm::FileOptions::dir(&abs).permissions(0o755).modified_at(mtime);
                    builder.with_dir_entry(options).map_err(fail)?;
                }
            }
            Data::Symlink(target) => {
                let options = rpm::FileOptions::symlink(&abs, target.to_string_lossy()).modified_at(mtime);
                builder.with_symlink(options).map_err(fail)?;
            }
            Data::File(path) => {
                builder.with_file(path, file(&abs)).map_err(fail)?;
            }
            Data::Bytes(bytes) => {
                builder.with_file_contents(bytes.clone(), file(&abs)).map_err(fail)?;
            }
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
            project: "hello".into(),
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
