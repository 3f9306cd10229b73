//! The rpmlint configuration wrap writes beside each .rpm (rpmlint reads no filters from a
//! package): packaging/rpm/rpmlint.toml scoped to the bundle, the filters for what the
//! manifest's files set on purpose, then the manifest's own filters.

use crate::manifest::files::FileKind;
use crate::package::script::fill;
use crate::package::spec::PackageSpec;
use crate::plan::files::PlannedFile;

/// The suffix of the rpmlint configuration wrap writes beside each .rpm.
pub const RPMLINT_SUFFIX: &str = ".rpmlint.toml";

/// The rpmlint configuration of `spec`'s package (rpmlint has no place in a package for
/// filters): packaging/rpm/rpmlint.toml with the bundle's path, then the manifest's filters.
pub fn rpmlint_config(spec: &PackageSpec) -> String {
    let bundle = literal(&spec.install_path);
    let text = fill(
        include_str!("../../../packaging/rpm/rpmlint.toml"),
        &[("PACKAGE", &spec.name), ("BUNDLE", &bundle)],
    );
    let end = text.rfind(']').expect("the template ends its list");
    let mut out = text[..end].to_string();
    let files = file_filters(&spec.extra_files);
    if !files.is_empty() {
        out.push_str("    # What the manifest's files set on purpose: owners, modes, absolute links.\n");
        for filter in files {
            out.push_str(&format!("    '{filter}',\n"));
        }
    }
    if !spec.bundle {
        out.push_str(
            "    # A metapackage requires exactly the version it stands for (the kernel's pattern).\n",
        );
        out.push_str("    'requires-on-release',\n");
    }
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

/// `path` as a regular expression that matches it alone: install paths and destinations hold
/// letters, digits and `. _ + @ : = , ~ - /`, of which `.` and `+` mean something in one.
fn literal(path: &str) -> String {
    path.replace('.', "\\.").replace('+', "\\+")
}

/// rpmlint filters for what the manifest's files set on purpose, each scoped to its path: a
/// service user's ownership, a mode that is not 0644/0755 (a directory others cannot enter, a
/// file others cannot read), an absolute link.
fn file_filters(files: &[PlannedFile]) -> Vec<String> {
    let mut filters = Vec::new();
    for file in files.iter().filter(|f| f.ships_in(crate::artifact::Format::Rpm)) {
        let path = literal(&file.dest);
        if file.owner != "root" {
            filters.push(format!("non-standard-uid {path}(/|\\s)"));
        }
        if file.group != "root" {
            filters.push(format!("non-standard-gid {path}(/|\\s)"));
        }
        match (&file.kind, file.mode) {
            (FileKind::Directory, Some(mode)) if mode != 0o755 => {
                filters.push(format!("non-standard-dir-perm {path} {mode:o}"));
            }
            (FileKind::Symlink { target }, _) if target.starts_with('/') => {
                filters.push(format!("symlink-should-be-relative {path} "));
            }
            (_, Some(mode)) if mode & 0o004 == 0 => filters.push(format!("non-readable {path}(/|\\s)")),
            _ => {}
        }
    }
    filters
}
