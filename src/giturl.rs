//! What a git URL as the manifest writes it names: a URL git reaches over ssh, an scp-like
//! `user@host:path`, or else a URL of another scheme or a local path. A bottom module: the
//! manifest reads paths with it, the source stage picks the transport, errors pick a hint.

/// Whether git reaches `url` over ssh: `ssh://`, `git+ssh://`, `ssh+git://`, or scp-like
/// `user@host:path`.
pub fn is_ssh(url: &str) -> bool {
    ["ssh://", "git+ssh://", "ssh+git://"].iter().any(|p| url.starts_with(p)) || is_scp_like(url)
}

/// `user@host:path`, git's scp-like ssh syntax (no scheme, and no `/` before the colon).
pub fn is_scp_like(url: &str) -> bool {
    !url.contains("://")
        && url.split_once(':').is_some_and(|(host, _)| host.contains('@') && !host.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_urls_are_told_apart() {
        for url in [
            "ssh://git@example.com/x.git",
            "git@example.com:org/x.git",
            "git+ssh://h/x",
            "ops@10.0.0.1:/srv/x",
        ] {
            assert!(is_ssh(url), "{url}");
        }
        for url in [
            "https://opendev.org/openstack/nova",
            "/srv/git/x",
            "repos/x",
            "file:///srv/x",
            "https://u@h:443/x",
        ] {
            assert!(!is_ssh(url), "{url}");
        }
    }
}
