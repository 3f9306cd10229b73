//! Version derivation from git: which tags are versions, and the nightly form
//! `<nearest version tag>+git<YYYYMMDD>.<12 hex>` that sorts after its release in dpkg and rpm.
//! Pure functions; git.rs feeds them tags and commit times.

use std::cmp::Ordering;

/// The version a tag names, if it is one: `10.2.1`, `v1.0`, `11.0.0rc1`, `2.0.0.post1`.
/// A leading `v` is dropped; anything that is not a PEP 440 release (with optional pre-, post-
/// or dev-release) is not a version tag (`2023.1-eol`, `stable`, `juno-em`).
pub fn tag_version(tag: &str) -> Option<String> {
    let v = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    let mut rest = v;
    // Release: digits separated by dots.
    let mut segments = 0;
    loop {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        rest = &rest[digits..];
        segments += 1;
        match rest.strip_prefix('.') {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    if segments == 0 {
        return None;
    }
    for suffix in ["a", "b", "rc", ".post", ".dev"] {
        if let Some(r) = rest.strip_prefix(suffix) {
            let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return None;
            }
            rest = &r[digits..];
        }
    }
    rest.is_empty().then(|| v.to_string())
}

/// Orders two version strings by their numeric release segments, then as text. Used to pick one
/// of several version tags on the same commit.
pub fn compare(a: &str, b: &str) -> Ordering {
    fn numbers(v: &str) -> Vec<u64> {
        v.split(|c: char| !c.is_ascii_digit()).filter_map(|s| s.parse().ok()).collect()
    }
    numbers(a).cmp(&numbers(b)).then_with(|| a.cmp(b))
}

/// The nightly version of a commit that no version tag names.
pub fn derived(nearest_tag_version: Option<&str>, commit_time: i64, commit_hex: &str) -> String {
    let (y, m, d) = civil_date(commit_time);
    let base = nearest_tag_version.unwrap_or("0");
    format!("{base}+git{y:04}{m:02}{d:02}.{}", &commit_hex[..12.min(commit_hex.len())])
}

/// UTC time of day of a Unix time: hours, minutes, seconds.
pub fn time_of_day(unix: i64) -> (u32, u32, u32) {
    let secs = unix.rem_euclid(86_400) as u32;
    (secs / 3600, secs % 3600 / 60, secs % 60)
}

/// UTC calendar date of a Unix time (proleptic Gregorian; Howard Hinnant's days-to-civil).
pub fn civil_date(unix: i64) -> (i64, u32, u32) {
    let days = unix.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_tags() {
        assert_eq!(tag_version("10.2.1").as_deref(), Some("10.2.1"));
        assert_eq!(tag_version("v1.0").as_deref(), Some("1.0"));
        assert_eq!(tag_version("11.0.0rc1").as_deref(), Some("11.0.0rc1"));
        assert_eq!(tag_version("2.0.0.post1").as_deref(), Some("2.0.0.post1"));
        assert_eq!(tag_version("3").as_deref(), Some("3"));
        for not in ["2023.1-eol", "stable", "juno-em", "v", "1.", "1..2", "1.0rc", "1.0-beta", ""] {
            assert_eq!(tag_version(not), None, "{not}");
        }
    }

    #[test]
    fn derived_versions_name_date_and_commit() {
        // 2026-11-22T10:00:00Z
        let v = derived(Some("10.2.1"), 1_795_341_600, "abcdef0123456789abcdef0123456789abcdef01");
        assert_eq!(v, "10.2.1+git20261122.abcdef012345");
        assert_eq!(derived(None, 0, "0123456789abcdef"), "0+git19700101.0123456789ab");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(1_709_164_800), (2024, 2, 29));
        assert_eq!(civil_date(-86_400), (1969, 12, 31));
        assert_eq!(time_of_day(1_771_061_400), (9, 30, 0));
        assert_eq!(time_of_day(-1), (23, 59, 59));
    }

    #[test]
    fn comparison_is_numeric() {
        assert_eq!(compare("10.2.1", "9.9.9"), Ordering::Greater);
        assert_eq!(compare("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare("1.0", "1.0"), Ordering::Equal);
    }
}
