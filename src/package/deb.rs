//! The .deb writer: formats a [`PackageSpec`] as dpkg reads it, in-process. An ar archive of
//! `debian-binary`, `control.tar.gz` and `data.tar.{gz,xz,zst}`. The data tarball streams from
//! the staged root into a temporary file (collecting md5sums and the installed size on the way),
//! so memory stays flat whatever the tree's size; then the control tarball is made in memory and
//! the three members are joined. Maintainer scripts come from packaging/deb/.

use std::io::{Seek, Write};
use std::path::Path;

use crate::archive::{Encoder, Hashing, Kind, Listed, append_named, append_tree};
use crate::artifact::{Artifact, place};
use crate::error::Result;
use crate::fs::temp_file_in;
use crate::manifest::{Compression, Format, Relation};
use crate::package::depends::Requirement;
use crate::package::script::fill;
use crate::package::spec::{PackageSpec, wrap_words};

/// The host's dpkg architecture.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        other => other,
    }
}

/// The package's file name: `<name>_<version>_<arch>.deb` (without the epoch, as dpkg names it).
pub fn file_name(spec: &PackageSpec) -> String {
    format!("{}_{}-{}_{}.deb", spec.name, spec.upstream_version(), spec.release, host_arch())
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
    field("Architecture", host_arch());
    field("Maintainer", &spec.maintainer);
    field("Installed-Size", &installed_kib.to_string());
    field("Depends", &depends.join(", "));
    let list = |relations: &[Relation]| relations.iter().map(Relation::deb).collect::<Vec<_>>().join(", ");
    field("Recommends", &list(&spec.relations.recommends));
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

/// Writes the .deb of `spec` into `out_dir`; `depends` as [`depends`] computed them.
pub fn write(
    spec: &PackageSpec,
    depends: &[String],
    compression: Compression,
    out_dir: &Path,
) -> Result<Artifact> {
    write_extras(spec)?;
    fs_err::create_dir_all(out_dir)?;

    // data.tar: streamed to a temporary file; md5sums and sizes are gathered on the way.
    let mut data = temp_file_in(out_dir)?;
    let listed = {
        let mut builder =
            tar::Builder::new(Encoder::new(compression, std::io::BufWriter::new(data.as_file_mut()))?);
        // Bytecode is left out: the postinst compiles it (Debian's Python policy).
        let bytecode = |rel: &Path| rel.file_name().is_some_and(|n| n == "__pycache__");
        let listed = append_tree(&mut builder, &spec.root, ".", spec.mtime, true, &bytecode)?;
        builder.into_inner()?.finish()?.flush()?;
        listed
    };
    let data_size = data.as_file().metadata()?.len();
    data.as_file_mut().rewind()?;

    let control_tar = control_tarball(spec, depends, &listed)?;

    let path = out_dir.join(file_name(spec));
    let out = temp_file_in(out_dir)?;
    let mut ar = ar::Builder::new(Hashing::new(std::io::BufWriter::new(out.as_file())));
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
    let data_name = format!("data.tar.{}", Encoder::<Vec<u8>>::extension(compression));
    ar.append(&member(&data_name, data_size), data.as_file_mut())?;
    let (mut writer, sha256, size) = ar.into_inner()?.finish();
    writer.flush()?;
    drop(writer);
    place(out, path, sha256, size, &spec.name, Format::Deb)
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
        let hex = crate::digest::hex(&l.md5.expect("md5 asked for"));
        md5sums.push_str(&format!("{hex}  {}\n", l.rel.display()));
    }
    let mut members: Vec<(String, Vec<u8>, u32)> = vec![
        ("control".into(), control(spec, depends, kib).into_bytes(), 0o644),
        ("md5sums".into(), md5sums.into_bytes(), 0o644),
    ];
    if !spec.conffiles.is_empty() {
        members.push(("conffiles".into(), (spec.conffiles.join("\n") + "\n").into_bytes(), 0o644));
    }
    for (name, text) in crate::package::script::deb_scripts(spec)? {
        members.push((name.into(), text.into_bytes(), 0o755));
    }
    members.sort();
    let mut builder = tar::Builder::new(Encoder::new(Compression::Gzip, Vec::new())?);
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

/// Debian-only files: changelog.Debian.gz and the lintian overrides.
fn write_extras(spec: &PackageSpec) -> Result<()> {
    let doc = spec.root.join("usr/share/doc").join(&spec.name);
    fs_err::create_dir_all(&doc)?;
    let mut entry = format!("{} ({}) unstable; urgency=medium\n\n", spec.name, spec.deb_version());
    for (i, line) in wrap_words(&spec.origin, 74).into_iter().enumerate() {
        entry.push_str(if i == 0 { "  * " } else { "    " });
        entry.push_str(&line);
        entry.push('\n');
    }
    entry.push_str(&format!("\n -- {}  {}\n", spec.maintainer, crate::time::rfc2822(spec.mtime as i64)));
    let mut gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    gz.write_all(entry.as_bytes())?;
    fs_err::write(doc.join("changelog.Debian.gz"), gz.finish()?)?;
    let overrides = spec.root.join("usr/share/lintian/overrides");
    fs_err::create_dir_all(&overrides)?;
    let bundle = spec.install_path.trim_start_matches('/');
    let mut text = fill(
        include_str!("../../packaging/deb/lintian-overrides"),
        &[("PACKAGE", &spec.name), ("BUNDLE", bundle)],
    );
    if !spec.lintian_overrides.is_empty() {
        text.push_str("# The manifest's own overrides.\n");
        for o in &spec.lintian_overrides {
            text.push_str(&format!("{}: {o}\n", spec.name));
        }
    }
    fs_err::write(overrides.join(&spec.name), text)?;
    Ok(())
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
                host_arch()
            )
        );
    }
}
