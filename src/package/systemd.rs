//! The enable, start, stop and restart of a package's systemd units in its maintainer scripts
//! and scriptlets, per `enable_units` and `restart_on_upgrade`. Unit names are quoted as every
//! other value of the scripts is.

use crate::manifest::EnableUnits;
use crate::package::script::{indent, quote};
use crate::package::spec::PackageSpec;

/// What `hook` does with the package's units (`enable_units`, `restart_on_upgrade`), written
/// out as debhelper's and RPM's `%systemd_*` macros do it: enabled on the first install only
/// (an administrator's `disable` survives upgrades), started and restarted only where systemd
/// runs, stopped before a removal, masked on removal and forgotten on purge (.deb) or disabled
/// on erase (.rpm). Empty when there is nothing to do.
pub(super) fn units_fragment(spec: &PackageSpec, hook: &str, spaces: usize) -> String {
    if spec.units.is_empty() {
        return String::new();
    }
    let words: Vec<String> = spec.units.iter().filter_map(|u| u.rsplit('/').next()).map(quote).collect();
    let units = words.join(" ");
    let enable = spec.enable_units != EnableUnits::None;
    let start = spec.enable_units == EnableUnits::EnableAndStart;
    let running = "[ -d /run/systemd/system ]";
    let mut lines: Vec<String> = Vec::new();
    match hook {
        "postinst" if enable || spec.restart_on_upgrade => {
            lines.push("# The units: enabled on the first install only; started or restarted where systemd runs.".into());
            if enable {
                lines.push(format!("deb-systemd-helper unmask {units} >/dev/null || true"));
                lines.push(format!("if [ -z \"$2\" ]; then deb-systemd-helper enable {units} >/dev/null || true; fi"));
            }
            lines.push(format!("if {running}; then systemctl --system daemon-reload >/dev/null || true; fi"));
            if start {
                lines.push(format!("if [ -z \"$2\" ] && {running}; then deb-systemd-invoke start {units} >/dev/null || true; fi"));
            }
            if spec.restart_on_upgrade {
                lines.push(format!("if [ -n \"$2\" ] && {running}; then deb-systemd-invoke try-restart {units} >/dev/null || true; fi"));
            }
        }
        "prerm" => lines.push(format!("if {running}; then systemctl stop {units} >/dev/null || true; fi")),
        "postrm" if enable => {
            lines.push("if command -v deb-systemd-helper >/dev/null; then".into());
            lines.push(format!("    if [ \"$1\" = remove ]; then deb-systemd-helper mask {units} >/dev/null || true; fi"));
            lines.push(format!("    if [ \"$1\" = purge ]; then deb-systemd-helper purge {units} >/dev/null || true; deb-systemd-helper unmask {units} >/dev/null || true; fi"));
            lines.push("fi".into());
        }
        "post" if enable => {
            lines.push(format!("if [ \"$1\" -eq 1 ] && command -v systemctl >/dev/null; then systemctl --no-reload enable {units} >/dev/null 2>&1 || :; fi"));
            if start {
                lines.push(format!("if [ \"$1\" -eq 1 ] && {running}; then systemctl start {units} >/dev/null 2>&1 || :; fi"));
            }
        }
        "preun" => lines.push(format!(
            "if [ \"$1\" -eq 0 ] && command -v systemctl >/dev/null; then systemctl --no-reload disable --now {units} >/dev/null 2>&1 || :; fi"
        )),
        "postun" if spec.restart_on_upgrade => lines.push(format!(
            "if [ \"$1\" -ge 1 ] && {running}; then systemctl try-restart {units} >/dev/null 2>&1 || :; fi"
        )),
        _ => {}
    }
    indent(&lines.iter().map(|l| format!("{l}\n")).collect::<String>(), spaces)
}
