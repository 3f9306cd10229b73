//! The host platform: its cores (and work spread over them), its native package format and
//! distribution, read from os-release (`ID`, `ID_LIKE`), and which system packages it has.

use crate::artifact::Format;

/// The number of cores wrap may use (1 when the system will not say).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` of every item, on every core; the results in item order, or the error of the first item
/// (in item order) that failed.
pub fn on_every_core<T: Sync, R: Send, E: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let threads = cores().min(items.len()).max(1);
    let parts: Vec<Vec<(usize, Result<R, E>)>> = std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    items.iter().enumerate().skip(t).step_by(threads).map(|(i, item)| (i, f(item))).collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker threads do not panic")).collect()
    });
    let mut slots: Vec<Option<Result<R, E>>> = (0..items.len()).map(|_| None).collect();
    for (i, result) in parts.into_iter().flatten() {
        slots[i] = Some(result);
    }
    slots.into_iter().map(|slot| slot.expect("every item ran")).collect()
}

fn os_release() -> Option<String> {
    ["/etc/os-release", "/usr/lib/os-release"].iter().find_map(|p| std::fs::read_to_string(p).ok())
}

/// The native format of the host running wrap, when os-release tells it.
pub fn native_format() -> Option<Format> {
    os_release().and_then(|text| format_from_os_release(&text))
}

/// The host's os-release `ID` and `ID_LIKE` words, lowercase (`debian`; `rocky rhel centos`).
pub fn os_release_ids() -> Vec<String> {
    os_release().map(|text| ids_of(&text)).unwrap_or_default()
}

/// The host's distribution release and architecture (`debian 12 x86_64`): what a compiled
/// extension's bytes depend on besides its sources and the interpreter.
pub fn platform() -> String {
    let text = os_release().unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_string())
            .unwrap_or_default()
    };
    format!("{} {} {}", field("ID"), field("VERSION_ID"), std::env::consts::ARCH)
}

fn ids_of(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        if key.trim() == "ID" || key.trim() == "ID_LIKE" {
            let value = value.trim().trim_matches(['"', '\'']);
            ids.extend(value.split_whitespace().map(str::to_ascii_lowercase));
        }
    }
    ids
}

/// Which of `packages` the host's package manager (dpkg, or rpm when `deb` is false) does not
/// have installed. Empty when it cannot be asked.
pub fn not_installed(packages: &[String], deb: bool) -> Vec<String> {
    if packages.is_empty() {
        return Vec::new();
    }
    let mut cmd = if deb {
        let mut cmd = std::process::Command::new("dpkg-query");
        cmd.args(["-W", "-f", "${Package} ${db:Status-Abbrev}\n"]);
        cmd
    } else {
        let mut cmd = std::process::Command::new("rpm");
        cmd.args(["-q", "--qf", "%{NAME} ii\n"]);
        cmd
    };
    cmd.arg("--").args(packages);
    let Ok(output) = crate::interrupt::output(&mut cmd) else { return Vec::new() };
    let text = String::from_utf8_lossy(&output.stdout);
    let installed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, status)| status.trim() == "ii")
        .map(|(name, _)| name.split(':').next().unwrap_or(name))
        .collect();
    packages.iter().filter(|p| !installed.contains(&p.as_str())).cloned().collect()
}

/// The Debian package dpkg says owns `path` (trying the /usr-merged twin too); `None` when
/// none does or dpkg cannot be asked.
pub fn deb_package_owning(path: &std::path::Path) -> Option<String> {
    let text = path.to_string_lossy();
    let twin = match text.strip_prefix("/usr") {
        Some(rest) => rest.to_string(),
        None => format!("/usr{text}"),
    };
    for candidate in [text.to_string(), twin] {
        let mut cmd = std::process::Command::new("dpkg-query");
        cmd.args(["-S", "--", &candidate]);
        let output = crate::interrupt::output(&mut cmd).ok()?;
        if output.status.success() {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let package = stdout.lines().next()?.split(':').next()?.trim().to_string();
            return (!package.is_empty()).then_some(package);
        }
    }
    None
}

/// The native format named by an os-release file's `ID` and `ID_LIKE`.
pub fn format_from_os_release(text: &str) -> Option<Format> {
    let ids = ids_of(text);
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
