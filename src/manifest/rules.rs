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
    let reason = if name.len() < 2 {
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

/// Checks a rendered install path: absolute, no `.`/`..`, no white space, not a system directory.
pub fn check_install_path(project: &str, path: &str) -> Result<(), ManifestError> {
    let reason = if !path.starts_with('/') {
        Some("is not absolute")
    } else if path.split('/').any(|c| c == "..") {
        Some("contains `..`")
    } else if path.split('/').any(|c| c == ".") || path.contains("//") {
        Some("is not in normal form (`.` or `//`)")
    } else if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // Shebang lines split on white space: an interpreter path with a space cannot run.
        Some("contains white space")
    } else if path.chars().any(|c| "'\"$`\\".contains(c)) {
        // Scripts quote the path for /bin/sh; these characters would need escaping there.
        Some("contains a quote, `$`, a backquote or a backslash")
    } else if SYSTEM_DIRS.contains(&path.trim_end_matches('/')) || path == "/" {
        Some("is a system directory")
    } else {
        None
    };
    match reason {
        Some(reason) => {
            Err(ManifestError::InvalidInstallPath { project: project.into(), path: path.into(), reason })
        }
        None => Ok(()),
    }
}

/// What [`is_valid_version`] accepts, as error messages say it.
pub const VERSION_FORM: &str = "a version starts with a digit and holds only letters, digits and `. + ~`";

/// A package version or release: starts with a digit, and holds only what dpkg and rpm both
/// accept (no `-`, which separates version from release).
pub fn is_valid_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
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
    fn versions_fit_both_formats() {
        assert!(is_valid_version("10.2.1"));
        assert!(is_valid_version("10.3.0+git20261122.abcdef012345"));
        assert!(is_valid_version("11.0.0~rc1"));
        assert!(!is_valid_version("v1"));
        assert!(!is_valid_version("1.0-1"));
        assert!(!is_valid_version(""));
    }
}
