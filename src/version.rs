//! PEP 440 versions, through the `pep440_rs` crate (uv's): which git tags are versions, which of
//! several is highest, and how a version maps onto dpkg and rpm so that both order the packages
//! as PEP 440 orders the versions. A bottom module: it imports nothing of wrap's.
//!
//! The mapping, applied in this order to `epoch!release[{a|b|rc}N][.postN][.devN][+local]`:
//! release segments as written, but zero segments past the third dropped (OpenStack tags its
//! release candidates `33.0.0.0rc1`, which PEP 440 orders before `33.0.0`; dpkg and rpm would
//! not); a pre-release as `~aN`, `~bN`, `~rcN` (`~` sorts before the end of the string in both);
//! a post-release as `+postN` (after the release and its local builds, before the next release:
//! `+` sorts before `.` in dpkg, and rpm ranks the alphabetic `post` below any number); a
//! development release as `~~devN` (before every pre-release of the same version); a local
//! version as `+` and its segments. The PEP 440 epoch becomes the package epoch.

use std::cmp::Ordering;
use std::str::FromStr;

pub use pep440_rs::Version;
use pep440_rs::{LocalSegment, PrereleaseKind};

/// Parses a PEP 440 version in any of the spellings PEP 440 accepts (`1.0-rc1`, `v1.0`, …).
pub fn parse(text: &str) -> Option<Version> {
    Version::from_str(text.trim()).ok()
}

/// Parses a version that must already be in PEP 440's normal form; `Err` carries the normal
/// form when the text is a version written another way.
pub fn parse_normalized(text: &str) -> Result<Version, Option<String>> {
    let version = parse(text).ok_or(None)?;
    let normal = version.to_string();
    if normal == text { Ok(version) } else { Err(Some(normal)) }
}

/// The version a git tag names, if it names one: `10.2.1`, `v1.0`, `11.0.0rc1`, `2.0.0.post1`.
/// Anything PEP 440 does not read as a version is not a version tag (`2023.1-eol`, `stable`).
pub fn tag_version(tag: &str) -> Option<Version> {
    // A tag is a whole version: PEP 440's leading/trailing white space allowance does not apply.
    if tag.is_empty() || tag.chars().any(char::is_whitespace) {
        return None;
    }
    parse(tag)
}

/// Orders two versions as PEP 440 does: `33.0.0` is higher than `33.0.0.0rc1`.
pub fn compare(a: &Version, b: &Version) -> Ordering {
    a.cmp(b)
}

/// A version as dpkg and rpm write it: the epoch apart, and the upstream version string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageVersion {
    /// PEP 440 epoch, when not 0.
    pub epoch: Option<u64>,
    /// The version string for dpkg's upstream version and rpm's Version.
    pub upstream: String,
}

/// Maps `version` onto dpkg and rpm (see the module documentation).
pub fn package_version(version: &Version) -> PackageVersion {
    let mut release: Vec<u64> = version.release().to_vec();
    while release.len() > 3 && release.last() == Some(&0) {
        release.pop();
    }
    let mut out = release.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
    if let Some(pre) = version.pre() {
        let kind = match pre.kind {
            PrereleaseKind::Alpha => "a",
            PrereleaseKind::Beta => "b",
            PrereleaseKind::Rc => "rc",
        };
        out.push_str(&format!("~{kind}{}", pre.number));
    }
    if let Some(post) = version.post() {
        out.push_str(&format!("+post{post}"));
    }
    if let Some(dev) = version.dev() {
        out.push_str(&format!("~~dev{dev}"));
    }
    if !version.local().is_empty() {
        let local: Vec<String> = version
            .local()
            .iter()
            .map(|s| match s {
                LocalSegment::String(s) => s.clone(),
                LocalSegment::Number(n) => n.to_string(),
            })
            .collect();
        out.push('+');
        out.push_str(&local.join("."));
    }
    PackageVersion { epoch: (version.epoch() != 0).then_some(version.epoch()), upstream: out }
}

/// The update-alternatives priority of a version: higher for a newer version, so that the
/// stable path follows the newest installed one. Priorities are 31-bit integers, so each part
/// has a fixed number of digits and is capped: major (up to 2146), minor and patch (two digits
/// each), then the stage (development 0, alpha 1, beta 2, rc 3, release 5, a local build of a
/// release 6, post-release 7) and its number (one digit). Versions equal in these parts (two
/// nightlies of one release) get equal priorities; update-alternatives then keeps its choice.
pub fn alternative_priority(version: &Version) -> u32 {
    let release = version.release();
    let part = |i: usize, cap: u64| release.get(i).copied().unwrap_or(0).min(cap);
    let (stage, number) = match (version.pre(), version.post(), version.dev()) {
        (Some(pre), _, _) => {
            let stage = match pre.kind {
                PrereleaseKind::Alpha => 1,
                PrereleaseKind::Beta => 2,
                PrereleaseKind::Rc => 3,
            };
            (stage, pre.number)
        }
        (None, Some(post), _) => (7, post),
        (None, None, Some(dev)) => (0, dev),
        (None, None, None) if version.is_local() => (6, 0),
        (None, None, None) => (5, 0),
    };
    let priority =
        part(0, 2146) * 1_000_000 + part(1, 99) * 10_000 + part(2, 99) * 100 + stage * 10 + number.min(9);
    u32::try_from(priority).unwrap_or(i32::MAX as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn version_tags() {
        for (tag, version) in [
            ("10.2.1", "10.2.1"),
            ("v1.0", "1.0"),
            ("11.0.0rc1", "11.0.0rc1"),
            ("33.0.0.0rc1", "33.0.0.0rc1"),
            ("2.0.0.post1", "2.0.0.post1"),
            ("3", "3"),
            ("1.0-beta", "1.0b0"),
        ] {
            assert_eq!(tag_version(tag).map(|v| v.to_string()).as_deref(), Some(version), "{tag}");
        }
        for not in ["2023.1-eol", "stable", "juno-em", "v", "1.", "1..2", "", " 1.0", "1.0 "] {
            assert_eq!(tag_version(not), None, "{not}");
        }
    }

    #[test]
    fn the_final_release_beats_its_candidate() {
        assert_eq!(compare(&v("33.0.0"), &v("33.0.0.0rc1")), Ordering::Greater);
        assert_eq!(compare(&v("1.10"), &v("1.9")), Ordering::Greater);
        assert_eq!(compare(&v("1.0"), &v("1.0.0")), Ordering::Equal);
    }

    #[test]
    fn normal_forms() {
        assert!(parse_normalized("2026.1.0").is_ok());
        assert!(parse_normalized("10.3.0+git20261122.abcdef012345").is_ok());
        assert_eq!(parse_normalized("1.0-2").unwrap_err().as_deref(), Some("1.0.post2"));
        assert_eq!(parse_normalized("v1.0").unwrap_err().as_deref(), Some("1.0"));
        assert_eq!(parse_normalized("11.0.0~rc1").unwrap_err(), None);
    }

    #[test]
    fn package_versions() {
        for (pep440, package) in [
            ("10.2.1", "10.2.1"),
            ("33.0.0.0rc1", "33.0.0~rc1"),
            ("1.0a2", "1.0~a2"),
            ("1.0.dev3", "1.0~~dev3"),
            ("1.0rc1.dev2", "1.0~rc1~~dev2"),
            ("1.0.post1", "1.0+post1"),
            ("1.0.post1.dev1", "1.0+post1~~dev1"),
            ("10.3.0+git20261122.abcdef012345", "10.3.0+git20261122.abcdef012345"),
            ("2.0b1+git20261122.ab12", "2.0~b1+git20261122.ab12"),
            ("1.2.3.4", "1.2.3.4"),
            ("1.0.0.0", "1.0.0"),
        ] {
            assert_eq!(package_version(&v(pep440)).upstream, package, "{pep440}");
        }
        assert_eq!(package_version(&v("2!1.0")).epoch, Some(2));
        assert_eq!(package_version(&v("1.0")).epoch, None);
    }

    #[test]
    fn priorities_follow_versions() {
        assert_eq!(alternative_priority(&v("10.2.1")), 10_020_150);
        let ordered = [
            "0.9.0+git20260620.d907fde28e93",
            "1.9.9",
            "1.10.0.dev1",
            "1.10.0a1",
            "1.10.0b2",
            "1.10.0rc1",
            "1.10.0",
            "1.10.0+git20261122.abcdef012345",
            "1.10.0.post1",
            "31.0.0",
            "2026.1.0",
        ];
        for pair in ordered.windows(2) {
            assert!(alternative_priority(&v(pair[0])) < alternative_priority(&v(pair[1])), "{pair:?}");
        }
        assert!(alternative_priority(&v("9999.0")) <= i32::MAX as u32);
    }
}
