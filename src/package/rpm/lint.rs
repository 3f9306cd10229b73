//! The rpmlint configuration wrap writes beside each .rpm (rpmlint reads no filters from a
//! package): packaging/rpm/rpmlint.toml scoped to the bundle, the filters for what the
//! manifest's files set on purpose, then the manifest's own filters.

use crate::package::script::fill;
use crate::package::spec::PackageSpec;

/// The suffix of the rpmlint configuration wrap writes beside each .rpm.
pub const RPMLINT_SUFFIX: &str = ".rpmlint.toml";

/// The rpmlint configuration of `spec`'s package (rpmlint has no place in a package for
/// filters): packaging/rpm/rpmlint.toml with the bundle's path, then the manifest's filters.
pub fn rpmlint_config(spec: &PackageSpec) -> String {
    // Install paths hold letters, digits and `. _ + @ / -`: of these, `.` and `+` mean something
    // in a regular expression.
    let bundle = spec.install_path.replace('.', "\\.").replace('+', "\\+");
    let text = fill(
        include_str!("../../../packaging/rpm/rpmlint.toml"),
        &[("PACKAGE", &spec.name), ("BUNDLE", &bundle)],
    );
    let end = text.rfind(']').expect("the template ends its list");
    let mut out = text[..end].to_string();
    let files = crate::package::extra::rpmlint_filters(&spec.extra_files);
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
