//! `[project.unit.<service>]`: what a service's systemd unit says beyond wrap's defaults, each
//! value held to a grammar that can never become another unit directive.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::*;

/// `[project.unit.<service>]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUnit {
    #[serde(default)]
    args: Vec<Spanned<String>>,
    #[serde(default)]
    environment: Vec<Spanned<String>>,
    environment_file: Option<Spanned<String>>,
    restart: Option<Spanned<String>>,
    #[serde(default)]
    after: Vec<Spanned<String>>,
    #[serde(default)]
    wants: Vec<Spanned<String>>,
    user: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
}

/// `Restart=` values systemd takes.
const RESTART: [&str; 7] =
    ["no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"];

/// Unit types `After=` and `Wants=` may name.
const UNIT_TYPES: [&str; 11] = [
    "service",
    "socket",
    "target",
    "mount",
    "automount",
    "path",
    "timer",
    "device",
    "slice",
    "scope",
    "swap",
];

/// A unit name: letters, digits and `: _ . @ -`, then a unit type.
fn is_unit_name(name: &str) -> bool {
    name.len() <= 255
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b":_.@-".contains(&b))
        && name.rsplit_once('.').is_some_and(|(stem, kind)| !stem.is_empty() && UNIT_TYPES.contains(&kind))
}

/// An environment assignment: `NAME=VALUE`, NAME a shell variable's name, VALUE one line.
fn is_assignment(text: &str) -> bool {
    text.split_once('=').is_some_and(|(name, value)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && is_one_line(value, MAX_LINE)
    })
}

impl Ctx<'_> {
    /// Every `[project.unit.<service>]`, checked: each names one of the project's `services`.
    pub(super) fn units(
        &self,
        project: &str,
        raw: &BTreeMap<Spanned<String>, RawUnit>,
        services: &[String],
    ) -> Result<BTreeMap<String, Unit>> {
        let mut units = BTreeMap::new();
        for (name, raw) in raw {
            if !services.contains(name.get_ref()) {
                return Err(self.invalid("unit", name, "a service the project lists in `services`"));
            }
            let args = self.each("unit.args", &raw.args, |a| {
                (!is_one_line(a, MAX_LINE)).then(|| "one line, without control characters".into())
            })?;
            let environment = self.each("unit.environment", &raw.environment, |e| {
                (!is_assignment(e))
                    .then(|| "`NAME=VALUE`: NAME of letters, digits and `_`, VALUE one line".into())
            })?;
            if let Some(file) = &raw.environment_file {
                check_install_path(project, "unit.environment_file", file.get_ref())
                    .map_err(|kind| self.at(file, kind))?;
            }
            let restart = raw.restart.as_ref().map(|r| {
                if RESTART.contains(&r.get_ref().as_str()) {
                    Ok(r.get_ref().clone())
                } else {
                    Err(self.invalid("unit.restart", r, format!("one of {}", RESTART.join(", "))))
                }
            });
            let names = |key: &str, list: &[Spanned<String>]| {
                self.each(key, list, |u| {
                    (!is_unit_name(u))
                        .then(|| "a unit name, as `mysql.service` or `network-online.target`".into())
                })
            };
            // `User=`/`Group=`: the project's user by default; another account the host has (one
            // another package made: `libvirt-qemu`), or `root`.
            let account = |key: &str, value: &Option<Spanned<String>>| -> Result<Option<String>> {
                match value {
                    Some(v) if !is_valid_user(v.get_ref()) => Err(self.invalid(
                        key,
                        v,
                        "a user or group name: lowercase letters, digits, `-` and `_`, starting with a letter",
                    )),
                    v => Ok(v.as_ref().map(|v| v.get_ref().clone())),
                }
            };
            let unit = Unit {
                user: account("unit.user", &raw.user)?,
                group: account("unit.group", &raw.group)?,
                args,
                environment,
                environment_file: raw.environment_file.as_ref().map(|f| f.get_ref().clone()),
                restart: restart.transpose()?,
                after: names("unit.after", &raw.after)?,
                wants: names("unit.wants", &raw.wants)?,
            };
            units.insert(name.get_ref().clone(), unit);
        }
        Ok(units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_and_assignments() {
        for good in ["mysql.service", "network-online.target", "getty@tty1.service", "var-lib.mount"] {
            assert!(is_unit_name(good), "{good}");
        }
        for bad in ["mysql", ".service", "a b.service", "x.service\nExecStartPre=/bin/sh", "x.conf"] {
            assert!(!is_unit_name(bad), "{bad}");
        }
        assert!(is_assignment("OS_REGION=RegionOne") && is_assignment("_X=a b \"c\""));
        assert!(!is_assignment("1X=y") && !is_assignment("X") && !is_assignment("X=a\nExecStart=/bin/sh"));
    }
}
