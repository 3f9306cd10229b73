//! Timestamps as the formats write them, from Unix seconds, through `jiff`: the compact date of
//! nightly versions, RFC 2822 (Debian changelogs) and RFC 3339 (the SBOM); and [`timed`], which logs
//! how long a step took (`-v`). A bottom module: it
//! imports nothing of wrap's. Every caller passes a source date that was checked to lie in
//! 0 ..= 2^32 - 1, which jiff always represents.

use jiff::Timestamp;

fn at(unix: i64) -> Timestamp {
    Timestamp::from_second(unix).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `20261122`: the UTC date, as nightly versions carry it.
pub fn compact_date(unix: i64) -> String {
    at(unix).strftime("%Y%m%d").to_string()
}

/// `Sat, 14 Feb 2026 09:30:00 +0000`, as Debian changelogs want it.
pub fn rfc2822(unix: i64) -> String {
    at(unix).strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// `2026-02-14T09:30:00Z`.
pub fn rfc3339(unix: i64) -> String {
    at(unix).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Runs `step` of `project`'s build and logs how long it took (`-v`): the figures behind the
/// benchmark's breakdown of where a build's time goes.
pub fn timed<T>(project: &str, step: &str, f: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let result = f();
    tracing::debug!(project, seconds = started.elapsed().as_secs_f64(), "{step}");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc2822(1_771_061_400), "Sat, 14 Feb 2026 09:30:00 +0000");
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc3339(1_771_061_400), "2026-02-14T09:30:00Z");
        assert_eq!(compact_date(1_795_341_600), "20261122");
        assert_eq!(compact_date(951_782_400), "20000229");
        assert_eq!(rfc3339(4_294_967_295), "2106-02-07T06:28:15Z");
    }
}
