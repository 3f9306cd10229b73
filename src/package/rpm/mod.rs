//! The .rpm writer, wrap's own: the RPM v4 file (lead, signature header, main header,
//! payload) as rpm 4.14 and later read it, from the same [`PackageSpec`] and content as the .deb.
//! Written natively rather than by the rpm crate (kept as the independent reader of `wrap
//! inspect` and the tests), whose builder holds the whole payload in memory, compresses on one
//! core and reads every file twice: here the payload streams through a compressor that uses
//! every core into a temporary file, each file read once (payload.rs), then the headers that
//! depend on it are written, then the payload is copied after them. Requires come from the
//! computed requirements as RPM names them (`/usr/bin/python3.11`, `libc.so.6(GLIBC_2.17)(64bit)`,
//! `libssl.so.3()(64bit)`), then the manifest's RPM system dependencies. Files under /etc are
//! `%config(noreplace)`; the package owns every directory of its own trees and never a system
//! directory. Scriptlets come from packaging/rpm/. The source date clamps every mtime and the
//! build time, and the build host is fixed, so the same input gives the same bytes; a signing
//! key adds an OpenPGP signature of the main header (what rpm 4.16 and later check).

mod header;
mod lint;
mod payload;

use std::io::Write;
use std::path::Path;

use crate::archive::Data;
use crate::error::{Error, Result};
use crate::manifest::files::is_under;
use crate::manifest::relation::{Clause, Op};
use crate::manifest::{Compression, Format, Relation};
use crate::package::content::Content;
use crate::package::depends::Requirement;
use crate::package::spec::{PackageSpec, wrap_words};
use crate::package::{Options, Packager};
use header::{Header, Value, sigtag, tag};
pub use lint::{RPMLINT_SUFFIX, rpmlint_config};
use payload::{Entry, Payload};

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
        options: &Options,
        scratch: &Path,
        out: &mut dyn Write,
    ) -> Result<Vec<String>> {
        let mut entries = entries(spec, content)?;
        let mtime = spec.mtime as u32;
        let payload = payload::write(&mut entries, mtime, options, scratch)?;
        let main = main_header(spec, &entries, &payload, options.compression)?.encode(header::IMMUTABLE);
        let mut signature = Header::default();
        signature.set(sigtag::SHA256, Value::Str(crate::digest::sha256_hex(&main)));
        let total = main.len() as u64 + payload.size;
        match u32::try_from(total) {
            Ok(n) => signature.set(sigtag::SIZE, Value::Int32(vec![n])),
            Err(_) => signature.set(sigtag::LONGSIZE, Value::Int64(vec![total])),
        }
        match u32::try_from(payload.archive_size) {
            Ok(n) => signature.set(sigtag::PAYLOADSIZE, Value::Int32(vec![n])),
            Err(_) => signature.set(sigtag::LONGARCHIVESIZE, Value::Int64(vec![payload.archive_size])),
        }
        if let Some(signer) = options.signer {
            let tag = if signer.algorithm == "RSA" { sigtag::RSA } else { sigtag::DSA };
            signature.set(tag, Value::Bin(signer.sign(&main, mtime)?));
        }
        let signature = signature.encode(header::SIGNATURES);
        let nvr = format!("{}-{}-{}", spec.name, spec.upstream_version(), spec.release);
        out.write_all(&header::lead(&nvr, Format::Rpm.host_arch()))?;
        out.write_all(&signature)?;
        // The signature header is padded to eight bytes (the lead's 96 are).
        out.write_all(&[0u8; 7][..(8 - signature.len() % 8) % 8])?;
        out.write_all(&main)?;
        let mut file = payload.file.reopen()?;
        std::io::copy(&mut file, out)?;
        Ok(Vec::new())
    }

    /// The rpmlint configuration (rpmlint has no place in a package for filters).
    fn sidecars(&self, spec: &PackageSpec) -> Vec<(&'static str, Vec<u8>)> {
        vec![(RPMLINT_SUFFIX, rpmlint_config(spec).into_bytes())]
    }
}

/// rpm's file flags.
const FILE_CONFIG: u32 = 1;
const FILE_DOC: u32 = 1 << 1;
const FILE_NOREPLACE: u32 = 1 << 4;

/// rpm's dependency flags ("sense"): what the writer sets, and what readers (the dnf
/// repository's metadata) interpret.
pub mod sense {
    pub const LESS: u32 = 1 << 1;
    pub const GREATER: u32 = 1 << 2;
    pub const EQUAL: u32 = 1 << 3;
    /// The comparison bits.
    pub const COMPARISON: u32 = LESS | GREATER | EQUAL;
    pub const PREREQ: u32 = 1 << 6;
    pub const INTERP: u32 = 1 << 8;
    pub const SCRIPT_PRE: u32 = 1 << 9;
    pub const SCRIPT_POST: u32 = 1 << 10;
    pub const SCRIPT_POSTUN: u32 = 1 << 12;
    pub const RPMLIB: u32 = 1 << 24;
    pub const CONFIG: u32 = 1 << 28;
}

/// A dependency as the header stores it: name, flags, version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// The name (a package, a file, a soname, a rich dependency).
    pub name: String,
    /// rpm's flags: comparison, script phase, rpmlib.
    pub flags: u32,
    /// The version compared with, or empty.
    pub version: String,
}

impl Dep {
    fn any(name: impl Into<String>) -> Dep {
        Dep { name: name.into(), flags: 0, version: String::new() }
    }

    fn with(name: impl Into<String>, flags: u32, version: impl Into<String>) -> Dep {
        Dep { name: name.into(), flags, version: version.into() }
    }

    fn rpmlib(feature: &str, version: &str) -> Dep {
        Dep::with(format!("rpmlib({feature})"), sense::RPMLIB | sense::LESS | sense::EQUAL, version)
    }
}

impl std::fmt::Display for Dep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.flags & sense::COMPARISON {
            x if x == sense::LESS => "<",
            x if x == sense::LESS | sense::EQUAL => "<=",
            x if x == sense::EQUAL => "=",
            x if x == sense::GREATER | sense::EQUAL => ">=",
            x if x == sense::GREATER => ">",
            _ => return f.write_str(&self.name),
        };
        write!(f, "{} {op} {}", self.name, self.version)
    }
}

/// Whether sonames carry RPM's `(64bit)` mark on this architecture.
fn is_64bit() -> bool {
    cfg!(target_pointer_width = "64")
}

/// A relation as an RPM dependency: a versioned clause with its comparison, alternatives as a
/// rich dependency (`(a or b)`, which requires `rpmlib(RichDependencies)`).
pub fn dependency(relation: &Relation) -> Dep {
    match relation.0.as_slice() {
        [Clause { name, version: Some((op, v)), .. }] => {
            let flags = match op {
                Op::Less => sense::LESS,
                Op::LessEq => sense::LESS | sense::EQUAL,
                Op::Eq => sense::EQUAL,
                Op::GreaterEq => sense::GREATER | sense::EQUAL,
                Op::Greater => sense::GREATER,
            };
            Dep::with(name, flags, v)
        }
        _ => Dep::any(relation.rpm()),
    }
}

/// Requires, computed, as RPM names them; then the RPM system dependencies (the manifest's
/// `[project.rpm]` list, else its `system_dependencies`).
pub fn requires(spec: &PackageSpec, rpm_system_dependencies: &[Relation]) -> Vec<Dep> {
    let bits = if is_64bit() { "(64bit)" } else { "" };
    let glibc = spec.requirements.iter().any(|r| matches!(r, Requirement::Glibc(_)));
    let mut out: Vec<Dep> = Vec::new();
    let mut push = |dep: Dep| {
        if !out.contains(&dep) {
            out.push(dep);
        }
    };
    for requirement in &spec.requirements {
        match requirement {
            Requirement::Python(abi) => push(Dep::any(format!("/usr/bin/python{abi}"))),
            Requirement::Glibc(v) => push(Dep::any(format!("libc.so.6(GLIBC_{v}){bits}"))),
            Requirement::Library { soname, .. } if soname == "libc.so.6" && glibc => {}
            Requirement::Library { soname, .. } => push(Dep::any(format!("{soname}(){bits}"))),
        }
    }
    for dep in rpm_system_dependencies {
        push(dependency(dep));
    }
    out
}

/// `[epoch:]version-release`, as rpm compares it.
fn evr(spec: &PackageSpec) -> String {
    let epoch = spec.epoch.map(|e| format!("{e}:")).unwrap_or_default();
    format!("{epoch}{}-{}", spec.upstream_version(), spec.release)
}

/// rpm's name for the architecture in a package's `name(isa)` provide.
fn isa(arch: &str) -> Option<&'static str> {
    match arch {
        "x86_64" => Some("x86-64"),
        "aarch64" => Some("aarch-64"),
        "ppc64le" | "ppc64" => Some("ppc-64"),
        "s390x" => Some("s390-64"),
        _ => None,
    }
}

/// The package's requires: computed, system, scriptlets' tools and interpreter, its own config,
/// and the rpmlib features the file uses (rich dependencies: see [`dependency_lists`]).
fn all_requires(spec: &PackageSpec, entries: &[Entry], compression: Compression) -> Vec<Dep> {
    let mut out = requires(spec, spec.rpm_system_dependencies());
    let post = sense::SCRIPT_POST;
    // The user is made in %pre, before the payload that may hold its files.
    if spec.user.is_some() {
        for tool in ["/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/bin/getent"] {
            out.push(Dep::with(tool, sense::SCRIPT_PRE, ""));
        }
    }
    if spec.user.is_some() || spec.scripts.contains_key("pre") {
        out.push(Dep::with("/bin/sh", sense::INTERP | sense::SCRIPT_PRE, ""));
    }
    if spec.alternative.is_some() {
        out.push(Dep::with("/usr/sbin/update-alternatives", post, ""));
        out.push(Dep::with("/usr/sbin/update-alternatives", sense::SCRIPT_POSTUN, ""));
    }
    out.push(Dep::with("/bin/sh", sense::INTERP | post, ""));
    out.push(Dep::with("/bin/sh", sense::INTERP | sense::SCRIPT_POSTUN, ""));
    if entries.iter().any(|e| e.flags & FILE_CONFIG != 0) {
        out.push(Dep::with(format!("config({})", spec.name), sense::CONFIG | sense::EQUAL, evr(spec)));
    }
    out.push(Dep::rpmlib("CompressedFileNames", "3.0.4-1"));
    out.push(Dep::rpmlib("FileDigests", "4.6.0-1"));
    out.push(Dep::rpmlib("PayloadFilesHavePrefix", "4.0-1"));
    match compression.algorithm {
        crate::compress::Algorithm::Gzip => {}
        crate::compress::Algorithm::Xz => out.push(Dep::rpmlib("PayloadIsXz", "5.2-1")),
        crate::compress::Algorithm::Zstd => out.push(Dep::rpmlib("PayloadIsZstd", "5.4.18-1")),
    }
    out
}

/// The package's provides: itself (with and without its architecture), its config, the
/// manifest's.
fn provides(spec: &PackageSpec, entries: &[Entry]) -> Vec<Dep> {
    let evr = evr(spec);
    let mut out = vec![Dep::with(&spec.name, sense::EQUAL, &evr)];
    if let Some(isa) = isa(Format::Rpm.host_arch()) {
        out.push(Dep::with(format!("{}({isa})", spec.name), sense::EQUAL, &evr));
    }
    if entries.iter().any(|e| e.flags & FILE_CONFIG != 0) {
        out.push(Dep::with(format!("config({})", spec.name), sense::CONFIG | sense::EQUAL, &evr));
    }
    out.extend(spec.rpm_relations.as_ref().unwrap_or(&spec.relations).provides.iter().map(dependency));
    out
}

/// Sets the three parallel arrays of a dependency list, sorted and each once, as rpmbuild
/// writes them.
fn set_deps(header: &mut Header, [names, flags, versions]: [u32; 3], deps: &[Dep]) {
    let mut deps = deps.to_vec();
    deps.sort_by(|a, b| (&a.name, &a.version, a.flags).cmp(&(&b.name, &b.version, b.flags)));
    deps.dedup();
    header.set_array(names, Value::StrArray(deps.iter().map(|d| d.name.clone()).collect()));
    header.set_array(flags, Value::Int32(deps.iter().map(|d| d.flags).collect()));
    header.set_array(versions, Value::StrArray(deps.iter().map(|d| d.version.clone()).collect()));
}

/// The package's metadata: names, texts, times, sizes, payload facts.
fn metadata(spec: &PackageSpec, entries: &[Entry], payload: &Payload, compression: Compression) -> Header {
    let mut h = Header::default();
    let s = |v: &str| Value::Str(v.to_string());
    let mtime = spec.mtime as u32;
    let arch = Format::Rpm.host_arch();
    h.set(tag::I18NTABLE, Value::StrArray(vec!["C".into()]));
    h.set(tag::NAME, s(&spec.name));
    h.set(tag::VERSION, s(spec.upstream_version()));
    h.set(tag::RELEASE, s(&spec.release));
    if let Some(epoch) = spec.epoch {
        // RPM's epoch is 32 bits; a PEP 440 epoch past that is not a version anyone writes.
        h.set(tag::EPOCH, Value::Int32(vec![u32::try_from(epoch).unwrap_or(u32::MAX)]));
    }
    h.set(tag::SUMMARY, Value::I18n(spec.summary.clone()));
    h.set(tag::DESCRIPTION, Value::I18n(wrap_words_paragraphs(&spec.description)));
    h.set(tag::BUILDTIME, Value::Int32(vec![mtime]));
    h.set(tag::BUILDHOST, s("wrap"));
    let size: u64 = entries.iter().map(|e| e.size).sum();
    match u32::try_from(size) {
        Ok(n) => h.set(tag::SIZE, Value::Int32(vec![n])),
        Err(_) => h.set(tag::LONGSIZE, Value::Int64(vec![size])),
    }
    h.set(tag::VENDOR, s(&spec.maintainer));
    h.set(tag::LICENSE, s(spec.license.as_deref().unwrap_or("LicenseRef-Unknown")));
    h.set(tag::PACKAGER, s(&spec.maintainer));
    h.set(tag::GROUP, Value::I18n("Applications/System".into()));
    if let Some(url) = &spec.homepage {
        h.set(tag::URL, s(url));
    }
    h.set(tag::OS, s("linux"));
    h.set(tag::ARCH, s(arch));
    h.set(
        tag::SOURCERPM,
        Value::Str(format!("{}-{}-{}.src.rpm", spec.name, spec.upstream_version(), spec.release)),
    );
    h.set(tag::RPMVERSION, Value::Str(format!("wrap {}", env!("CARGO_PKG_VERSION"))));
    h.set(tag::CHANGELOGTIME, Value::Int32(vec![mtime]));
    h.set(tag::CHANGELOGNAME, Value::StrArray(vec![format!("{} - {}", spec.maintainer, evr(spec))]));
    h.set(tag::CHANGELOGTEXT, Value::StrArray(vec![format!("- {}", spec.origin)]));
    h.set(tag::ENCODING, s("utf-8"));
    h.set(tag::PAYLOADFORMAT, s("cpio"));
    h.set(tag::PAYLOADCOMPRESSOR, s(compression.algorithm.as_str()));
    h.set(tag::PAYLOADFLAGS, Value::Str(compression.level.to_string()));
    h.set(tag::PAYLOADDIGEST, Value::StrArray(vec![payload.sha256.clone()]));
    h.set(tag::PAYLOADDIGESTALGO, Value::Int32(vec![header::SHA256_ALGO]));
    h
}

/// The main header: metadata, dependencies, scriptlets and the file list.
fn main_header(
    spec: &PackageSpec,
    entries: &[Entry],
    payload: &Payload,
    compression: Compression,
) -> Result<Header> {
    let mut h = metadata(spec, entries, payload, compression);
    for (tags, deps) in dependency_lists(spec, entries, compression) {
        set_deps(&mut h, tags, &deps);
    }
    for (name, text) in crate::package::script::rpm_scriptlets(spec)? {
        let (script, program) = match name {
            "pre" => (tag::PREIN, tag::PREINPROG),
            "post" => (tag::POSTIN, tag::POSTINPROG),
            "preun" => (tag::PREUN, tag::PREUNPROG),
            _ => (tag::POSTUN, tag::POSTUNPROG),
        };
        h.set(script, Value::Str(text));
        h.set(program, Value::Str("/bin/sh".into()));
    }
    file_list(&mut h, entries, spec.mtime as u32);
    Ok(h)
}

/// Every dependency list with its three tags: requires, provides, recommends, suggests,
/// conflicts, obsoletes (RPM has no Replaces: a package that replaces another obsoletes it; nor
/// Breaks: a package that breaks another's versions conflicts with them). A rich
/// dependency (`(a or b)`) in any of them makes the package require rpm's feature for it.
fn dependency_lists(
    spec: &PackageSpec,
    entries: &[Entry],
    compression: Compression,
) -> Vec<([u32; 3], Vec<Dep>)> {
    let relations = spec.rpm_relations.as_ref().unwrap_or(&spec.relations);
    let list = |deps: &[Relation]| deps.iter().map(dependency).collect::<Vec<_>>();
    let mut lists = vec![
        (
            [tag::REQUIRENAME, tag::REQUIREFLAGS, tag::REQUIREVERSION],
            all_requires(spec, entries, compression),
        ),
        ([tag::PROVIDENAME, tag::PROVIDEFLAGS, tag::PROVIDEVERSION], provides(spec, entries)),
        ([tag::RECOMMENDNAME, tag::RECOMMENDFLAGS, tag::RECOMMENDVERSION], list(&relations.recommends)),
        ([tag::SUGGESTNAME, tag::SUGGESTFLAGS, tag::SUGGESTVERSION], list(&relations.suggests)),
        (
            [tag::CONFLICTNAME, tag::CONFLICTFLAGS, tag::CONFLICTVERSION],
            list(&[&relations.conflicts[..], &relations.breaks[..]].concat()),
        ),
        ([tag::OBSOLETENAME, tag::OBSOLETEFLAGS, tag::OBSOLETEVERSION], list(&relations.replaces)),
    ];
    if lists.iter().flat_map(|(_, deps)| deps).any(|d| d.name.starts_with('(')) {
        lists[0].1.push(Dep::rpmlib("RichDependencies", "4.12.0-1"));
    }
    lists
}

/// The file list: rpm's parallel arrays, directories and base names split.
fn file_list(h: &mut Header, entries: &[Entry], mtime: u32) {
    if entries.is_empty() {
        return;
    }
    let n = entries.len();
    let strings = |f: &dyn Fn(&Entry) -> String| Value::StrArray(entries.iter().map(f).collect());
    let mut dirs: Vec<String> = Vec::new();
    let mut dir_index = std::collections::HashMap::new();
    let mut indexes = Vec::with_capacity(n);
    let mut basenames = Vec::with_capacity(n);
    for entry in entries {
        let cut = entry.path.rfind('/').expect("absolute") + 1;
        let dir = &entry.path[..cut];
        let index = *dir_index.entry(dir.to_string()).or_insert_with(|| {
            dirs.push(dir.to_string());
            dirs.len() as u32 - 1
        });
        indexes.push(index);
        basenames.push(entry.path[cut..].to_string());
    }
    // Sizes were checked to fit in 32 bits (see `entries`).
    h.set(tag::FILESIZES, Value::Int32(entries.iter().map(|e| e.size as u32).collect()));
    h.set(tag::FILEMODES, Value::Int16(entries.iter().map(|e| e.mode as u16).collect()));
    h.set(tag::FILERDEVS, Value::Int16(vec![0; n]));
    h.set(tag::FILEMTIMES, Value::Int32(vec![mtime; n]));
    h.set(tag::FILEDIGESTS, strings(&|e| e.digest.clone()));
    h.set(tag::FILELINKTOS, strings(&|e| e.link.clone()));
    h.set(tag::FILEFLAGS, Value::Int32(entries.iter().map(|e| e.flags).collect()));
    h.set(tag::FILEUSERNAME, strings(&|e| e.user.clone()));
    h.set(tag::FILEGROUPNAME, strings(&|e| e.group.clone()));
    h.set(tag::FILEVERIFYFLAGS, Value::Int32(vec![u32::MAX; n]));
    h.set(tag::FILEDEVICES, Value::Int32(vec![1; n]));
    h.set(tag::FILEINODES, Value::Int32((1..=n as u32).collect()));
    h.set(tag::FILELANGS, strings(&|_| String::new()));
    h.set(tag::DIRINDEXES, Value::Int32(indexes));
    h.set(tag::BASENAMES, Value::StrArray(basenames));
    h.set(tag::DIRNAMES, Value::StrArray(dirs));
    h.set(tag::FILEDIGESTALGO, Value::Int32(vec![header::SHA256_ALGO]));
}

/// The content's entries for the .rpm, sorted by path as rpm lists them: files (configuration
/// and documentation marked), links, and the directories of the package's own trees (never a
/// system directory). A file too large for the payload's 32-bit sizes is refused.
fn entries(spec: &PackageSpec, content: &Content) -> Result<Vec<Entry>> {
    let doc = format!("/usr/share/doc/{}", spec.name);
    let mut out = Vec::new();
    for member in content.for_format(Format::Rpm).filter(|m| !m.rel.as_os_str().is_empty()) {
        crate::interrupt::check()?;
        let Some(rel) = member.rel.to_str() else {
            return Err(Error::Rpm {
                package: spec.name.clone(),
                detail: format!(
                    "`{}` is not a UTF-8 name, which an .rpm's file list needs",
                    member.rel.display()
                ),
            });
        };
        let path = format!("/{rel}");
        let mut flags = 0;
        if spec.conffiles.contains(&path) {
            flags = FILE_CONFIG | FILE_NOREPLACE;
        } else if path.starts_with(&format!("{doc}/")) {
            flags = FILE_DOC;
        }
        let (mode, size, link) = match &member.data {
            Data::Dir => {
                // Never a system directory (`/etc/sudoers.d` is sudo's): the project's own trees
                // and what its `[[project.files]]` make.
                let own = is_under(&path, &spec.install_path)
                    || is_under(&path, &doc)
                    || is_under(&path, &format!("/etc/{}", spec.project))
                    || crate::package::extra::owns_dir(&spec.extra_files, &path);
                if !own {
                    continue;
                }
                (0o040000 | member.mode(), 0, String::new())
            }
            Data::Symlink(target) => {
                let target = target.to_string_lossy().into_owned();
                (0o120777, target.len() as u64, target)
            }
            Data::File(_) | Data::Bytes(_) => (0o100000 | member.mode(), member.size, String::new()),
        };
        if size > u64::from(u32::MAX) {
            return Err(Error::RpmFileTooLarge { package: spec.name.clone(), path, size });
        }
        let (user, group) = crate::package::extra::owner_of(&spec.extra_files, &path, Format::Rpm)
            .map_or(("root".into(), "root".into()), |(u, g)| (u.to_string(), g.to_string()));
        let data = member.data.clone();
        out.push(Entry { path, mode, size, digest: String::new(), link, flags, data, user, group });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
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
            rpm_relations: None,
            relations: Relations::default(),
            install_path: "/opt/wrap-test/hello-1.1.0".into(),
            alternative: None,
            user: None,
            units: vec![],
            enable_units: Default::default(),
            restart_on_upgrade: false,
            conffiles: vec![],
            root: PathBuf::from("/nonexistent"),
            mtime: 0,
            origin: String::new(),
            lintian_overrides: vec![],
            rpmlint_filters: vec![],
            image: None,
            bytecode: crate::manifest::Bytecode::Build,
            scripts: Default::default(),
            bundle: true,
            extra_files: Vec::new(),
        }
    }

    #[test]
    fn a_rich_dependency_in_any_list_requires_rpms_feature_for_it() {
        let rich = |spec: &PackageSpec| {
            dependency_lists(spec, &[], Compression::GZIP)[0]
                .1
                .iter()
                .any(|d| d.name == "rpmlib(RichDependencies)")
        };
        assert!(!rich(&spec()));
        let mut recommends = spec();
        recommends.relations.recommends = vec![Relation::parse_deb("libldap2 | libldap-2.5-0").unwrap()];
        assert!(rich(&recommends));
        let mut conflicts = spec();
        conflicts.relations.conflicts = vec![Relation::parse_deb("old-greet | older-greet").unwrap()];
        assert!(rich(&conflicts));
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
        let names: Vec<String> = requires(&spec(), &deps).iter().map(Dep::to_string).collect();
        assert_eq!(
            names,
            [
                "/usr/bin/python3.11",
                "libc.so.6(GLIBC_2.17)(64bit)",
                "libssl.so.3()(64bit)",
                "libvirt-libs",
                "openldap >= 2.4",
                "(libldap2 or libldap-2.5-0)"
            ]
        );
    }
}
