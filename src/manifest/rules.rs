//! The rules rendered names and paths must follow: package names both dpkg and rpm accept,
//! install paths that are absolute and safe in a shebang, versions and releases both formats
//! order the same way, and system user names.

use crate::error::ManifestError;

/// Directories an install path must never be: installing a bundle there would mix with the system.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib64",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/local",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/lib",
];

/// Checks a rendered package name against the rules of both dpkg and rpm.
pub fn check_package_name(project: &str, name: &str) -> Result<(), ManifestError> {
    let reason = if name.len() > 200 {
        Some("it must be at most 200 characters long")
    } else if name.len() < 2 {
        Some("it must be at least two characters long")
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        Some("it must start with a lowercase letter or a digit")
    } else if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c)) {
        Some("it may contain only lowercase letters, digits, `+`, `-` and `.`")
    } else {
        None
    };
    match reason {
        Some(reason) => {
            Err(ManifestError::InvalidPackageName { project: project.into(), name: name.into(), reason })
        }
        None => Ok(()),
    }
}

/// The characters a path that reaches a maintainer script, a unit or a shebang may hold:
/// letters, digits and `. _ + @ / -`. Nothing a shell, systemd or dpkg gives a meaning to.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._+@/-".contains(c)
}

/// Checks a rendered install path or stable path (`key` names it): absolute, in normal form
/// (no `.`, `..`, `//` or trailing `/`), only [`is_path_char`] characters, not a system
/// directory.
pub fn check_install_path(project: &str, key: &'static str, path: &str) -> Result<(), ManifestError> {
    let reason = if !path.starts_with('/') {
        Some("is not absolute")
    } else if path.split('/').any(|c| c == "..") {
        Some("contains `..`")
    } else if path.split('/').skip(1).any(|c| c == "." || c.is_empty()) {
        Some("is not in normal form (`.`, `//` or a trailing `/`)")
    } else if let Some(c) = path.chars().find(|c| !is_path_char(*c)) {
        // Shebangs split on white space; scripts, units and control files give meaning to the
        // rest. The path is also quoted wherever it is substituted.
        return Err(ManifestError::InvalidInstallPath {
            project: project.into(),
            key,
            path: path.into(),
            reason: format!(
                "contains {}, which install paths may not (letters, digits and `. _ + @ / -` only)",
                describe_char(c)
            ),
        });
    } else if path.len() > 200 {
        Some("is longer than 200 characters")
    } else if SYSTEM_DIRS.contains(&path) {
        Some("is a system directory")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ManifestError::InvalidInstallPath {
            project: project.into(),
            key,
            path: path.into(),
            reason: reason.into(),
        }),
        None => Ok(()),
    }
}

/// `` `x` `` for a printable character, its code point otherwise.
pub fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() { format!("U+{:04X}", c as u32) } else { format!("`{c}`") }
}

/// The longest project name: names become directory and file names in the cache.
pub const MAX_NAME: usize = 64;

/// A project name: a PEP 508 distribution name (letters, digits, `. _ -`, starting and ending
/// with a letter or digit), at most [`MAX_NAME`] characters. It becomes cache paths, log files
/// and `/etc/<name>`, so nothing else is allowed.
pub fn check_project_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err("a project name has 1 to 64 characters");
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Err("a project name starts and ends with a letter or digit");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err("a project name holds only letters, digits, `.`, `_` and `-`");
    }
    Ok(())
}

/// A console script name (as `services` names it): letters, digits and `. _ + -`, not starting
/// with `.` or `-`, at most 100 characters. It becomes a unit file name and an `ExecStart` path.
pub fn is_valid_script_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
}

/// An extra's name (PEP 685): letters, digits and `. _ -`.
pub fn is_valid_extra(name: &str) -> bool {
    (1..=100).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// A Debian section: `misc`, `contrib/net`.
pub fn is_valid_section(section: &str) -> bool {
    (1..=64).contains(&section.len())
        && section.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && section.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+./-".contains(c))
}

/// The Debian priorities.
pub const PRIORITIES: [&str; 5] = ["required", "important", "standard", "optional", "extra"];

/// Free text that reaches a control file, a unit or a header: one line, no control characters.
pub fn is_one_line(text: &str, max: usize) -> bool {
    text.len() <= max && !text.chars().any(char::is_control)
}

/// What a version must be, as error messages say it.
pub const VERSION_FORM: &str =
    "a version is a PEP 440 version in normal form, such as `10.2.1`, `11.0.0rc1` or `2026.1.0`";

/// Checks a version a user wrote: a PEP 440 version in normal form (the wheel, pbr and the
/// package all see it as written). `Err` holds the normal form when the text is a version
/// written another way (`1.0-2` is `1.0.post2`).
pub fn check_version(v: &str) -> Result<crate::version::Version, Option<String>> {
    crate::version::parse_normalized(v)
}

/// What [`is_valid_release`] accepts, as error messages say it.
pub const RELEASE_FORM: &str =
    "a release starts with a digit and holds only letters, digits and `. + ~`; or `auto`, numbered by wrap";

/// A package release (Debian revision, RPM Release): starts with a digit, and holds only what
/// dpkg and rpm both accept (no `-`, which separates version from release).
pub fn is_valid_release(v: &str) -> bool {
    v.len() <= 64
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || ".+~".contains(c))
}

/// A name adduser and useradd both take for a system user.
pub(super) fn is_valid_user(name: &str) -> bool {
    name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_dpkg_and_rpm() {
        assert!(check_package_name("p", "openstack-nova").is_ok());
        assert!(check_package_name("p", "python3-foo+bar.1").is_ok());
        assert!(check_package_name("p", "a").is_err());
        assert!(check_package_name("p", "-a").is_err());
        assert!(check_package_name("p", "Nova").is_err());
        assert!(check_package_name("p", "nova_api").is_err());
    }

    #[test]
    fn versions_are_pep440_and_releases_fit_both_formats() {
        assert!(check_version("10.2.1").is_ok());
        assert!(check_version("10.3.0+git20261122.abcdef012345").is_ok());
        assert!(check_version("11.0.0rc1").is_ok());
        assert_eq!(check_version("11.0.0~rc1").unwrap_err(), None);
        assert_eq!(check_version("v1").unwrap_err().as_deref(), Some("1"));
        assert_eq!(check_version("1.0-1").unwrap_err().as_deref(), Some("1.0.post1"));
        assert_eq!(check_version("").unwrap_err(), None);
        assert!(is_valid_release("1"));
        assert!(is_valid_release("2.el9~wrap1"));
        assert!(!is_valid_release("1-2"));
        assert!(!is_valid_release("1\nEssential: yes"));
    }
}
