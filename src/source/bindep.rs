//! `bindep.txt`: the system packages an OpenStack project says it needs, one per line with
//! optional selectors: `libvirt-dev [platform:dpkg]`, `mariadb-client [platform:debian]`,
//! `graphviz [doc test]`. wrap reads the packages that apply to building and running the
//! project on a Debian-family and on an RPM-family host: platform selectors are matched against
//! the host's platform (or a generic one of the other family), and every entry limited to a
//! profile (`test`, `doc`, …) is left out, as `bindep` itself does for its default profile.
//! Version constraints after the selectors are ignored.

use std::collections::BTreeSet;

/// One line of bindep.txt.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    package: String,
    /// `platform:` selectors, `!` kept.
    platforms: Vec<String>,
    /// Other selectors (profiles), `!` kept.
    profiles: Vec<String>,
}

/// The packages bindep.txt lists for each family.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Bindep {
    /// For Debian and its derivatives.
    pub deb: Vec<String>,
    /// For RPM distributions.
    pub rpm: Vec<String>,
    /// Of the host's family, those the host does not have installed.
    pub missing: Vec<String>,
}

/// What `text` (a bindep.txt) lists, with what this host lacks of its own family's list.
pub fn for_this_host(text: &str) -> Bindep {
    let deb = crate::host::native_format() != Some(crate::manifest::Format::Rpm);
    let mut bindep = read(text, &crate::host::os_release_ids(), deb);
    bindep.missing = crate::host::not_installed(if deb { &bindep.deb } else { &bindep.rpm }, deb);
    bindep
}

/// The platform atoms of a family, as bindep names them: the family (`dpkg`, `rpm`) and the
/// distributions (`debian`, `ubuntu`, `redhat`, …). `host` holds the host's os-release IDs
/// when the host is of that family.
fn atoms(deb: bool, host: &[String]) -> BTreeSet<String> {
    let mut atoms: BTreeSet<String> = host.iter().cloned().collect();
    if deb {
        atoms.insert("dpkg".into());
        if host.is_empty() {
            atoms.insert("debian".into());
        }
    } else {
        atoms.insert("rpm".into());
        if host.is_empty() {
            atoms.extend(["redhat", "rhel", "centos"].map(String::from));
        }
        // bindep's `redhat` covers the Red Hat family.
        if atoms.iter().any(|a| ["rhel", "centos", "fedora", "rocky", "almalinux"].contains(&a.as_str())) {
            atoms.insert("redhat".into());
        }
    }
    atoms
}

fn parse(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(package) = line.split_whitespace().next() else { continue };
        let selectors = match (line.find('['), line.find(']')) {
            (Some(open), Some(close)) if open < close => &line[open + 1..close],
            _ => "",
        };
        let (mut platforms, mut profiles) = (Vec::new(), Vec::new());
        for s in selectors.split_whitespace() {
            if s.trim_start_matches('!').starts_with("platform:") {
                platforms.push(s.to_string());
            } else {
                profiles.push(s.to_string());
            }
        }
        out.push(Entry { package: package.to_string(), platforms, profiles });
    }
    out
}

/// Whether `entry` applies on a platform with `atoms`, for the default profile.
fn applies(entry: &Entry, atoms: &BTreeSet<String>) -> bool {
    // An entry for named profiles only (`[test]`, `[doc test]`) is not for the default one.
    if entry.profiles.iter().any(|p| !p.starts_with('!')) {
        return false;
    }
    let matches = |s: &str| atoms.contains(s.trim_start_matches('!').trim_start_matches("platform:"));
    let positive: Vec<&String> = entry.platforms.iter().filter(|p| !p.starts_with('!')).collect();
    let negative = entry.platforms.iter().filter(|p| p.starts_with('!'));
    (positive.is_empty() || positive.iter().any(|p| matches(p))) && !negative.into_iter().any(|p| matches(p))
}

/// The packages of `text` (a bindep.txt) for each family; `host_ids` are the host's os-release
/// `ID` and `ID_LIKE` words, `host_is_deb` its family.
pub fn read(text: &str, host_ids: &[String], host_is_deb: bool) -> Bindep {
    let entries = parse(text);
    let pick = |deb: bool| {
        let host = if deb == host_is_deb { host_ids } else { &[] };
        let atoms = atoms(deb, host);
        let mut packages: Vec<String> =
            entries.iter().filter(|e| applies(e, &atoms)).map(|e| e.package.clone()).collect();
        packages.dedup();
        packages
    };
    Bindep { deb: pick(true), rpm: pick(false), missing: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYSTONE: &str = "# comment\ngettext\n\nlibffi-dev [platform:dpkg]\nlibffi-devel [platform:rpm]\nmysql-client [platform:dpkg !platform:debian]\nmariadb-client [platform:debian]\nmariadb-devel [platform:redhat]\nopenldap2-devel [platform:suse]\ngraphviz [test doc]\npython3-dev [platform:dpkg !test]\nlibvirt-dev [platform:dpkg] >= 1.2\n";

    #[test]
    fn packages_for_each_family_without_profiles() {
        let b = read(KEYSTONE, &["debian".to_string()], true);
        assert_eq!(b.deb, ["gettext", "libffi-dev", "mariadb-client", "python3-dev", "libvirt-dev"]);
        assert_eq!(b.rpm, ["gettext", "libffi-devel", "mariadb-devel"]);
        let b = read(KEYSTONE, &["ubuntu".to_string(), "debian".to_string()], true);
        assert!(b.deb.contains(&"mariadb-client".to_string()), "{b:?}");
        let b = read(KEYSTONE, &["ubuntu".to_string()], true);
        assert!(
            b.deb.contains(&"mysql-client".to_string()) && !b.deb.contains(&"mariadb-client".to_string())
        );
        let b = read(KEYSTONE, &["rocky".to_string(), "rhel".to_string()], false);
        assert_eq!(b.rpm, ["gettext", "libffi-devel", "mariadb-devel"]);
    }
}
