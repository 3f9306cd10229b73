//! The nightly version of a commit that no version tag names:
//! `<nearest version tag>+git<YYYYMMDD>.<12 hex>`, a PEP 440 local version that sorts after the
//! release it builds on, in PEP 440 and (through [`crate::version::package_version`]) in dpkg
//! and rpm. git.rs finds the nearest tag; the rules of versions are in [`crate::version`].

use crate::version::Version;

/// The nightly version of a commit, built on the nearest version tag reachable from it (`0`
/// when there is none). A local part the tag itself had is replaced: PEP 440 allows one.
pub fn derived(nearest_tag_version: Option<&Version>, commit_time: i64, commit_hex: &str) -> Version {
    let base = nearest_tag_version.map_or_else(|| "0".to_string(), |v| v.clone().without_local().to_string());
    let text = format!(
        "{base}+git{}.{}",
        crate::time::compact_date(commit_time),
        &commit_hex[..12.min(commit_hex.len())]
    );
    crate::version::parse(&text).expect("a release with a local version of letters and digits")
}

/// Whether `version` is a nightly version (`…+git<date>.<hex>`) that names a commit other than
/// `commit`. Compared as PEP 440 normalizes them: an all-digit hex prefix is a number there.
pub fn names_other_commit(version: &str, commit: &str) -> bool {
    let Some(version) = crate::version::parse(version) else { return false };
    let local = version.local();
    let [pep440_rs::LocalSegment::String(git), named] = local else { return false };
    if !git.starts_with("git") {
        return false;
    }
    let ours = derived(None, 0, commit);
    ours.local().get(1) != Some(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_versions_name_date_and_commit() {
        // 2026-11-22T10:00:00Z
        let base = crate::version::parse("10.2.1").unwrap();
        let v = derived(Some(&base), 1_795_341_600, "abcdef0123456789abcdef0123456789abcdef01");
        assert_eq!(v.to_string(), "10.2.1+git20261122.abcdef012345");
        assert_eq!(derived(None, 0, "0123456789abcdef").to_string(), "0+git19700101.0123456789ab");
        let rc = crate::version::parse("33.0.0.0rc1").unwrap();
        assert!(derived(Some(&rc), 0, "ab") > rc);
    }

    #[test]
    fn nightly_versions_name_their_commit() {
        let commit = "abcdef0123456789abcdef0123456789abcdef01";
        assert!(!names_other_commit("10.2.1+git20261122.abcdef012345", commit));
        assert!(names_other_commit("10.2.1+git20261122.bbcdef012345", commit));
        assert!(!names_other_commit("10.2.1", commit));
        // An all-digit prefix loses its leading zero in PEP 440's normal form.
        let digits = "0123456789012345678901234567890123456789";
        assert!(!names_other_commit(&derived(None, 0, digits).to_string(), digits));
    }
}
