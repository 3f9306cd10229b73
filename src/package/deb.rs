//! The .deb writer: formats a [`PackageSpec`] as dpkg reads it, in-process. An ar archive of
//! `debian-binary`, `control.tar.gz` and `data.tar.{gz,xz,zst}`. The data tarball streams from
//! the staged root into a temporary file (collecting md5sums and the installed size on the way),
//! so memory stays flat whatever the tree's size; then the control tarball is made in memory and
//! the three members are joined. Maintainer scripts come from packaging/deb/.

use std::io::{Seek, Write};
use std::path::Path;

use crate::archive::Member;
use crate::archive::{Kind, Listed, append_members, append_named};
use crate::compress::Encoder;
use crate::error::Result;
use crate::fs::temp_file_in;
use crate::manifest::{Bytecode, Compression, EnableUnits, Format, Relation};
use crate::package::content::{Content, Generated};
use crate::package::depends::Requirement;
use crate::package::script::fill;
use crate::package::spec::{PackageSpec, wrap_words};
use crate::package::{Options, Packager};

/// The .deb writer.
pub struct Deb;

impl Packager for Deb {
    fn format(&self) -> Format {
        Format::Deb
    }

    /// changelog.Debian.gz and the lintian overrides: Debian-only files.
    fn generated(&self, spec: &PackageSpec) -> Result<Vec<Generated>> {
        Ok([
            Generated {
                path: format!("/usr/share/doc/{}/changelog.Debian.gz", spec.name),
                bytes: changelog(spec)?,
            },
            Generated {
                path: format!("/usr/share/lintian/overrides/{}", spec.name),
                bytes: lintian_overrides(spec).into_bytes(),
            },
        ]
        .into_iter()
        .chain(copyright(spec)?)
        .collect())
    }

    fn write(
        &self,
        spec: &PackageSpec,
        content: &Content,
        options: &Options,
        scratch: &Path,
        out: &mut dyn Write,
    ) -> Result<Vec<String>> {
        let (depends, unresolved) = depends(spec);
        write(spec, content, &depends, options, scratch, out)?;
        Ok(unresolved)
    }
}

/// Depends, computed: the Python minor, libc, the packages that hold needed libraries, adduser
/// when a user is created, then the manifest's system_dependencies. Also returns what could not
/// be resolved on this machine (a library no package here provides).
pub fn depends(spec: &PackageSpec) -> (Vec<String>, Vec<String>) {
    let mut out: Vec<String> = Vec::new();
    let mut unresolved = Vec::new();
    let glibc = spec.requirements.iter().find_map(|r| match r {
        Requirement::Glibc(v) => Some(v.clone()),
        _ => None,
    });
    let push = |dep: String, out: &mut Vec<String>| {
        if !out.contains(&dep) {
            out.push(dep);
        }
    };
    for requirement in &spec.requirements {
        match requirement {
            Requirement::Python(abi) => push(format!("python{abi}"), &mut out),
            Requirement::Glibc(v) => push(format!("libc6 (>= {v})"), &mut out),
            Requirement::Library { soname, host_path, needed_by } => {
                match host_path.as_deref().and_then(crate::host::deb_package_owning) {
                    Some(package) if package == "libc6" => {
                        if glibc.is_none() {
                            push(package, &mut out);
                        }
                    }
                    Some(package) => push(package, &mut out),
                    None => unresolved.push(format!(
                        "`{soname}` (needed by {}) is not provided by any package on this machine; add its package to `system_dependencies`",
                        needed_by.display()
                    )),
                }
            }
        }
    }
    if spec.user.is_some() {
        push("adduser".into(), &mut out);
    }
    if !spec.units.is_empty() && (spec.enable_units != EnableUnits::None || spec.restart_on_upgrade) {
        // deb-systemd-helper and deb-systemd-invoke, which the scripts enable and start with:
        // an essential package, depended on with a version as debhelper's scripts do.
        push("init-system-helpers (>= 1.54~)".into(), &mut out);
    }
    for dep in &spec.system_dependencies {
        push(dep.deb(), &mut out);
    }
    (out, unresolved)
}

/// The control file.
pub fn control(spec: &PackageSpec, depends: &[String], installed_kib: u64) -> String {
    let mut c = String::new();
    let mut field = |name: &str, value: &str| {
        if !value.is_empty() {
            c.push_str(&format!("{name}: {value}\n"));
        }
    };
    field("Package", &spec.name);
    field("Version", &spec.deb_version());
    field("Architecture", Format::Deb.host_arch());
    field("Maintainer", &spec.maintainer);
    field("Installed-Size", &installed_kib.to_string());
    field("Depends", &depends.join(", "));
    let list = |relations: &[Relation]| relations.iter().map(Relation::deb).collect::<Vec<_>>().join(", ");
    field("Recommends", &list(&spec.relations.recommends));
    field("Suggests", &list(&spec.relations.suggests));
    field("Breaks", &list(&spec.relations.breaks));
    field("Conflicts", &list(&spec.relations.conflicts));
    field("Replaces", &list(&spec.relations.replaces));
    field("Provides", &list(&spec.relations.provides));
    field("Section", &spec.section);
    field("Priority", &spec.priority);
    field("Homepage", spec.homepage.as_deref().unwrap_or(""));
    c.push_str(&format!("Description: {}\n", spec.summary));
    for (i, paragraph) in spec.description.split("\n\n").enumerate() {
        if i > 0 {
            c.push_str(" .\n");
        }
        for line in wrap_words(paragraph, 78) {
            c.push_str(&format!(" {line}\n"));
        }
    }
    c
}

/// Writes the .deb of `spec` into `out`: `debian-binary`, the control tarball and the data
/// tarball, which streams into a temporary file in `scratch` first (md5sums and the installed
/// size are gathered on the way, and ar needs its size), so memory stays flat.
fn write(
    spec: &PackageSpec,
    content: &Content,
    depends: &[String],
    options: &Options,
    scratch: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let compression = options.compression;
    let mut data = temp_file_in(scratch)?;
    let listed = {
        let mut builder = tar::Builder::new(Encoder::cached(
            compression,
            std::io::BufWriter::new(data.as_file_mut()),
            options.members,
        )?);
        // Bytecode is shipped when it was compiled for the package (`bytecode = "build"`) only.
        let shipped =
            |m: &&Member| spec.bytecode == Bytecode::Build || !m.rel.iter().any(|c| c == "__pycache__");
        let members = content.for_format(Format::Deb).filter(shipped);
        let listed = append_members(&mut builder, members, ".", spec.mtime, true)?;
        builder.into_inner()?.finish()?.flush()?;
        listed
    };
    let data_size = data.as_file().metadata()?.len();
    data.as_file_mut().rewind()?;

    let control_tar = control_tarball(spec, depends, &listed)?;
    let mut ar = ar::Builder::new(out);
    let member = |name: &str, size: u64| {
        let mut header = ar::Header::new(name.as_bytes().to_vec(), size);
        header.set_mtime(spec.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(0o100644);
        header
    };
    ar.append(&member("debian-binary", 4), &b"2.0\n"[..])?;
    ar.append(&member("control.tar.gz", control_tar.len() as u64), &control_tar[..])?;
    let data_name = format!("data.tar.{}", compression.extension());
    ar.append(&member(&data_name, data_size), data.as_file_mut())?;
    ar.into_inner()?.flush()?;
    Ok(())
}

/// control.tar.gz: control, md5sums, conffiles and maintainer scripts.
fn control_tarball(spec: &PackageSpec, depends: &[String], listed: &[Listed]) -> Result<Vec<u8>> {
    // dpkg's estimate: every file rounded up to a KiB, one KiB per directory and symlink.
    let kib: u64 = listed.iter().map(|l| if l.kind == Kind::File { l.size.div_ceil(1024) } else { 1 }).sum();
    let mut md5sums = String::new();
    for l in listed.iter().filter(|l| l.kind == Kind::File) {
        let abs = format!("/{}", l.rel.display());
        if spec.conffiles.contains(&abs) {
            continue; // dpkg tracks conffiles by their own md5 in the status file
        }
        let hex = crate::digest::hex(l.md5.expect("md5 asked for"));
        md5sums.push_str(&format!("{hex}  {}\n", l.rel.display()));
    }
    let mut members: Vec<(String, Vec<u8>, u32)> = vec![
        ("control".into(), control(spec, depends, kib).into_bytes(), 0o644),
        ("md5sums".into(), md5sums.into_bytes(), 0o644),
    ];
    // Only the conffiles this package ships (an rpm-only file is not one of them).
    let shipped: std::collections::HashSet<String> =
        listed.iter().filter(|l| l.kind == Kind::File).map(|l| format!("/{}", l.rel.display())).collect();
    let conffiles: Vec<&str> =
        spec.conffiles.iter().filter(|c| shipped.contains(*c)).map(String::as_str).collect();
    if !conffiles.is_empty() {
        members.push(("conffiles".into(), (conffiles.join("\n") + "\n").into_bytes(), 0o644));
    }
    for (name, text) in crate::package::script::deb_scripts(spec)? {
        members.push((name.into(), text.into_bytes(), 0o755));
    }
    members.sort();
    let mut builder = tar::Builder::new(Encoder::new(Compression::GZIP, Vec::new())?);
    let mut header = entry_header(spec.mtime, tar::EntryType::Directory, 0o755, 0);
    append_named(&mut builder, &mut header, b"./", None, std::io::empty())?;
    for (name, bytes, mode) in &members {
        let mut header = entry_header(spec.mtime, tar::EntryType::Regular, *mode, bytes.len() as u64);
        append_named(&mut builder, &mut header, format!("./{name}").as_bytes(), None, &bytes[..])?;
    }
    builder.into_inner()?.finish()
}

fn entry_header(mtime: u64, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    let _ = header.set_username("root");
    let _ = header.set_groupname("root");
    header
}

/// changelog.Debian.gz: one entry, what went in, gzipped without a timestamp.
fn changelog(spec: &PackageSpec) -> Result<Vec<u8>> {
    let mut entry = format!("{} ({}) unstable; urgency=medium\n\n", spec.name, spec.deb_version());
    for (i, line) in wrap_words(&spec.origin, 74).into_iter().enumerate() {
        entry.push_str(if i == 0 { "  * " } else { "    " });
        entry.push_str(&line);
        entry.push('\n');
    }
    entry.push_str(&format!("\n -- {}  {}\n", spec.maintainer, crate::time::rfc2822(spec.mtime as i64)));
    Ok(crate::compress::gzip_small(entry.as_bytes())?)
}

/// The lintian overrides: packaging/deb/lintian-overrides for the bundle, then the manifest's.
fn lintian_overrides(spec: &PackageSpec) -> String {
    let bundle = spec.install_path.trim_start_matches('/');
    let mut text = fill(
        include_str!("../../packaging/deb/lintian-overrides"),
        &[("PACKAGE", &spec.name), ("BUNDLE", bundle)],
    );
    if !spec.bundle {
        text = without_bundle(&text, bundle);
    }
    let modes = crate::package::extra::lintian_overrides(&spec.extra_files);
    if !modes.is_empty() {
        text.push_str(
            "# Modes the manifest's files set: in the package, so never wider open, even before configure.\n",
        );
        for o in &modes {
            text.push_str(&format!("{}: {o}\n", spec.name));
        }
    }
    if !spec.lintian_overrides.is_empty() {
        text.push_str("# The manifest's own overrides.\n");
        for o in &spec.lintian_overrides {
            text.push_str(&format!("{}: {o}\n", spec.name));
        }
    }
    text
}

/// The overrides of a metapackage, which holds no bundle: those that name neither the bundle nor
/// /opt, each with the comment lines above it.
fn without_bundle(text: &str, bundle: &str) -> String {
    let (mut out, mut comments) = (String::new(), String::new());
    for line in text.lines() {
        if line.starts_with('#') {
            comments.push_str(line);
            comments.push('\n');
            continue;
        }
        if !line.contains(bundle)
            && !line.contains("dir-or-file-in-opt")
            && !line.contains("unusual-interpreter")
        {
            out.push_str(&comments);
            out.push_str(line);
            out.push('\n');
        }
        comments.clear();
    }
    out
}

/// The copyright file with, for a license Debian ships the text of, where that text is.
fn copyright(spec: &PackageSpec) -> Result<Option<Generated>> {
    let Some((name, file)) = spec.license.as_deref().and_then(common_license) else { return Ok(None) };
    let path = format!("/usr/share/doc/{}/copyright", spec.name);
    let mut text = fs_err::read_to_string(spec.root.join(path.trim_start_matches('/')))?;
    text.push_str(&format!(
        "\nOn Debian systems, the complete text of the {name} can be found in\n/usr/share/common-licenses/{file}.\n"
    ));
    Ok(Some(Generated { path, bytes: text.into_bytes() }))
}

/// The name and /usr/share/common-licenses file of a license Debian ships the text of.
fn common_license(license: &str) -> Option<(&'static str, &'static str)> {
    let l = license.trim();
    let table: [(&[&str], &str, &str); 9] = [
        (
            &["Apache-2.0", "Apache 2.0", "Apache License 2.0", "Apache License, Version 2.0", "ASL 2.0"],
            "Apache License 2.0",
            "Apache-2.0",
        ),
        (
            &["GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPLv2", "GPLv2+"],
            "GNU General Public License version 2",
            "GPL-2",
        ),
        (
            &["GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later", "GPLv3", "GPLv3+"],
            "GNU General Public License version 3",
            "GPL-3",
        ),
        (
            &["LGPL-2.1", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPLv2.1", "LGPLv2+"],
            "GNU Lesser General Public License version 2.1",
            "LGPL-2.1",
        ),
        (
            &["LGPL-3.0", "LGPL-3.0-only", "LGPL-3.0-or-later", "LGPLv3", "LGPLv3+"],
            "GNU Lesser General Public License version 3",
            "LGPL-3",
        ),
        (&["MPL-2.0"], "Mozilla Public License 2.0", "MPL-2.0"),
        (&["CC0-1.0"], "CC0 1.0 Universal license", "CC0-1.0"),
        (&["Artistic-1.0", "Artistic"], "Artistic License", "Artistic"),
        (&["BSD-3-Clause", "BSD"], "BSD License", "BSD"),
    ];
    table
        .iter()
        .find(|(names, _, _)| names.iter().any(|n| n.eq_ignore_ascii_case(l)))
        .map(|(_, name, file)| (*name, *file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_fields() {
        let spec = crate::package::spec::tests::spec(Path::new("/nonexistent"));
        let (depends, unresolved) = depends(&spec);
        assert_eq!(depends, ["python3.11", "libc6 (>= 2.17)", "adduser", "libvirt0"]);
        assert!(unresolved.is_empty());
        let control = control(&spec, &depends, 42);
        assert_eq!(
            control,
            format!(
                "Package: wrap-test-hello\nVersion: 1.1.0~rc1-1\nArchitecture: {}\nMaintainer: Cloud Ops <ops@example.com>\nInstalled-Size: 42\nDepends: python3.11, libc6 (>= 2.17), adduser, libvirt0\nRecommends: jq (>= 1.6)\nSection: misc\nPriority: optional\nHomepage: https://example.com/hello\nDescription: Says hello\n A tiny program.\n .\n Bundled by wrap.\n",
                Format::Deb.host_arch()
            )
        );
    }
}
