//! The host platform: its native package format, read from os-release (`ID`, `ID_LIKE`).

use crate::manifest::Format;

/// The number of cores wrap may use (1 when the system will not say).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The native format of the host running wrap, when os-release tells it.
pub fn native_format() -> Option<Format> {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| format_from_os_release(&text))
}

/// The native format named by an os-release file's `ID` and `ID_LIKE`.
pub fn format_from_os_release(text: &str) -> Option<Format> {
    let mut ids = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        if key.trim() == "ID" || key.trim() == "ID_LIKE" {
            let value = value.trim().trim_matches(['"', '\'']);
            ids.extend(value.split_whitespace().map(str::to_ascii_lowercase));
        }
    }
    ids.iter().find_map(|id| match id.as_str() {
        "debian" | "ubuntu" => Some(Format::Deb),
        "rhel" | "fedora" | "centos" | "rocky" | "almalinux" | "suse" | "opensuse" | "sles" => {
            Some(Format::Rpm)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_ids() {
        assert_eq!(format_from_os_release("ID=debian\nVERSION_ID=\"12\"\n"), Some(Format::Deb));
        assert_eq!(format_from_os_release("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"), Some(Format::Deb));
        assert_eq!(
            format_from_os_release("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"),
            Some(Format::Rpm)
        );
        assert_eq!(
            format_from_os_release("ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n"),
            Some(Format::Rpm)
        );
        assert_eq!(format_from_os_release("ID=alpine\n"), None);
    }
}
