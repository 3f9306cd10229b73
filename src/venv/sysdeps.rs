//! System build dependencies, explained: when a distribution built from an sdist fails because
//! the build machine lacks a C header, a `pkg-config` module, a `*-config` helper or a compiler,
//! the installer's log says so in a few well-known ways. This finds the first such line, names
//! the distribution that was being built and the missing piece, and looks up the Debian and
//! RPM packages that provide it in a table of what OpenStack's dependencies need.

use crate::error::Missing;

/// (match, component, Debian package, RPM package). A header matches by its path's start, a
/// pkg-config module, program or library by its whole name.
const TABLE: &[(&str, &str, &str, &str)] = &[
    ("libvirt/", "libvirt", "libvirt-dev", "libvirt-devel"),
    ("libvirt", "libvirt", "libvirt-dev", "libvirt-devel"),
    ("lber.h", "OpenLDAP", "libldap2-dev", "openldap-devel"),
    ("ldap.h", "OpenLDAP", "libldap2-dev", "openldap-devel"),
    ("ldap", "OpenLDAP", "libldap2-dev", "openldap-devel"),
    ("sasl/", "Cyrus SASL", "libsasl2-dev", "cyrus-sasl-devel"),
    ("libsasl2", "Cyrus SASL", "libsasl2-dev", "cyrus-sasl-devel"),
    ("Python.h", "the Python headers", "python3-dev", "python3-devel"),
    ("python3", "the Python headers", "python3-dev", "python3-devel"),
    ("ffi.h", "libffi", "libffi-dev", "libffi-devel"),
    ("libffi", "libffi", "libffi-dev", "libffi-devel"),
    ("openssl/", "OpenSSL", "libssl-dev", "openssl-devel"),
    ("openssl", "OpenSSL", "libssl-dev", "openssl-devel"),
    ("libssl", "OpenSSL", "libssl-dev", "openssl-devel"),
    ("libxml/", "libxml2", "libxml2-dev", "libxml2-devel"),
    ("libxml-2.0", "libxml2", "libxml2-dev", "libxml2-devel"),
    ("xml2-config", "libxml2", "libxml2-dev", "libxml2-devel"),
    ("libxslt/", "libxslt", "libxslt1-dev", "libxslt-devel"),
    ("libexslt/", "libxslt", "libxslt1-dev", "libxslt-devel"),
    ("libxslt", "libxslt", "libxslt1-dev", "libxslt-devel"),
    ("xslt-config", "libxslt", "libxslt1-dev", "libxslt-devel"),
    ("mysql.h", "the MySQL client library", "default-libmysqlclient-dev", "mariadb-connector-c-devel"),
    ("mysql/", "the MySQL client library", "default-libmysqlclient-dev", "mariadb-connector-c-devel"),
    ("mysqlclient", "the MySQL client library", "default-libmysqlclient-dev", "mariadb-connector-c-devel"),
    ("mariadb", "the MySQL client library", "default-libmysqlclient-dev", "mariadb-connector-c-devel"),
    ("mysql_config", "the MySQL client library", "default-libmysqlclient-dev", "mariadb-connector-c-devel"),
    ("libpq-fe.h", "libpq", "libpq-dev", "libpq-devel"),
    ("libpq", "libpq", "libpq-dev", "libpq-devel"),
    ("pg_config", "libpq", "libpq-dev", "libpq-devel"),
    ("krb5.h", "Kerberos", "libkrb5-dev", "krb5-devel"),
    ("krb5/", "Kerberos", "libkrb5-dev", "krb5-devel"),
    ("gssapi/", "Kerberos", "libkrb5-dev", "krb5-devel"),
    ("krb5", "Kerberos", "libkrb5-dev", "krb5-devel"),
    ("krb5-config", "Kerberos", "libkrb5-dev", "krb5-devel"),
    ("systemd/", "libsystemd", "libsystemd-dev", "systemd-devel"),
    ("libsystemd", "libsystemd", "libsystemd-dev", "systemd-devel"),
    ("yaml.h", "libyaml", "libyaml-dev", "libyaml-devel"),
    ("yaml-0.1", "libyaml", "libyaml-dev", "libyaml-devel"),
    ("zlib.h", "zlib", "zlib1g-dev", "zlib-devel"),
    ("zlib", "zlib", "zlib1g-dev", "zlib-devel"),
    ("uuid/", "libuuid", "uuid-dev", "libuuid-devel"),
    ("jpeglib.h", "libjpeg", "libjpeg-dev", "libjpeg-turbo-devel"),
    ("dbus/", "D-Bus", "libdbus-1-dev", "dbus-devel"),
    ("dbus-1", "D-Bus", "libdbus-1-dev", "dbus-devel"),
    ("pkg-config", "pkg-config", "pkg-config", "pkgconf-pkg-config"),
    ("gcc", "a C compiler", "gcc", "gcc"),
    ("cc", "a C compiler", "gcc", "gcc"),
    ("x86_64-linux-gnu-gcc", "a C compiler", "gcc", "gcc"),
    ("aarch64-linux-gnu-gcc", "a C compiler", "gcc", "gcc"),
    ("g++", "a C++ compiler", "g++", "gcc-c++"),
    ("c++", "a C++ compiler", "g++", "gcc-c++"),
];

fn lookup(name: &str, header: bool) -> Option<(&'static str, &'static str, &'static str)> {
    TABLE.iter().find_map(|(key, component, deb, rpm)| {
        let hit = if header && (key.ends_with('/') || key.ends_with(".h")) {
            if key.ends_with('/') {
                name.starts_with(key)
            } else {
                name == *key || name.ends_with(&format!("/{key}"))
            }
        } else {
            name == *key
        };
        hit.then_some((*component, *deb, *rpm))
    })
}

/// The piece a build log says is missing: (what, name to look up, is a header).
fn missing_piece(line: &str) -> Option<(String, String, bool)> {
    // gcc: `libvirt-override.c:24:10: fatal error: libvirt/libvirt.h: No such file or directory`
    if let Some(rest) = line.split("fatal error: ").nth(1)
        && let Some(header) = rest.strip_suffix(": No such file or directory")
    {
        return Some((format!("`{header}`"), header.trim().to_string(), true));
    }
    // pkg-config: `Package libvirt was not found in the pkg-config search path.`
    if let Some(rest) = line.split("Package ").nth(1)
        && let Some(module) = rest.strip_suffix(" was not found in the pkg-config search path.")
    {
        return Some((format!("pkg-config module `{module}`"), module.to_string(), false));
    }
    // setuptools: `error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory`
    for marker in ["error: command '", "unable to execute '"] {
        if let Some(rest) = line.split(marker).nth(1)
            && let Some((program, tail)) = rest.split_once('\'')
            && (tail.contains("No such file") || tail.contains("not found"))
        {
            let program = program.rsplit('/').next().unwrap_or(program);
            return Some((format!("program `{program}`"), program.to_string(), false));
        }
    }
    // `mysql_config not found`, `pg_config executable not found`, `sh: 1: krb5-config: not found`
    for program in ["mysql_config", "pg_config", "krb5-config", "xml2-config", "xslt-config", "pkg-config"] {
        if line.contains(program)
            && (line.contains("not found") || line.contains("No such file or directory"))
        {
            return Some((format!("program `{program}`"), program.to_string(), false));
        }
    }
    None
}

/// The distribution the log says failed to build: uv's `Failed to build `NAME==VERSION``,
/// pip's `Failed to build NAME` or `Failed building wheel for NAME`; else, for pip, which
/// names none when an sdist's build requirements fail, the last distribution it started on
/// before the error (`Processing …/NAME-VERSION.tar.gz`, `Collecting NAME`, `Building wheel
/// for NAME`).
fn failed_distribution(log: &str) -> Option<String> {
    for line in log.lines() {
        if let Some(rest) = line.split("Failed to build `").nth(1) {
            return rest.split('`').next().map(str::to_string);
        }
        for marker in ["Failed building wheel for ", "ERROR: Failed to build "] {
            if let Some(rest) = line.split(marker).nth(1) {
                return rest.split_whitespace().next().map(str::to_string);
            }
        }
    }
    let mut last = None;
    for line in log.lines().map(str::trim) {
        if line.starts_with("error:") || line.contains("did not run successfully") {
            break;
        }
        if let Some(rest) = line.strip_prefix("Processing ") {
            let file = rest.split_whitespace().next().unwrap_or(rest).rsplit('/').next().unwrap_or(rest);
            let stem =
                [".tar.gz", ".zip", ".tar.bz2"].iter().find_map(|ext| file.strip_suffix(ext)).unwrap_or(file);
            last = Some(stem.to_string());
        } else if let Some(rest) =
            line.strip_prefix("Collecting ").or_else(|| line.strip_prefix("Building wheel for "))
        {
            last = rest.split_whitespace().next().map(str::to_string);
        }
    }
    last
}

/// What the build in `log` was missing from the system, if that is why it failed.
pub fn diagnose(log: &str) -> Option<Missing> {
    log.lines().find_map(|line| {
        let (what, name, header) = missing_piece(line.trim())?;
        let (component, deb, rpm) = lookup(&name, header)?;
        Some(Missing { distribution: failed_distribution(log), what, component, deb, rpm })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uv_log_of_libvirt_python_without_headers() {
        let log = "  × Failed to build `libvirt-python==10.0.0`\n  ├─▶ The build backend returned an error\n      [stderr]\n      libvirt-override.c:24:10: fatal error: libvirt/libvirt.h: No such file or directory\n      error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1\n";
        let m = diagnose(log).unwrap();
        assert_eq!(m.distribution.as_deref(), Some("libvirt-python==10.0.0"));
        assert_eq!(
            (m.what.as_str(), m.component, m.deb, m.rpm),
            ("`libvirt/libvirt.h`", "libvirt", "libvirt-dev", "libvirt-devel")
        );
    }

    #[test]
    fn pip_logs_and_other_pieces() {
        let log = "Building wheel for python-ldap (pyproject.toml): finished with status 'error'\n  In file included from Modules/LDAPObject.c:3:\n  Modules/common.h:15:10: fatal error: lber.h: No such file or directory\nERROR: Failed building wheel for python-ldap\n";
        let m = diagnose(log).unwrap();
        assert_eq!(m.distribution.as_deref(), Some("python-ldap"));
        assert_eq!((m.deb, m.rpm), ("libldap2-dev", "openldap-devel"));
        let m = diagnose("Package libvirt was not found in the pkg-config search path.\n").unwrap();
        assert_eq!(m.what, "pkg-config module `libvirt`");
        let m =
            diagnose("error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory\n").unwrap();
        assert_eq!((m.component, m.deb), ("a C compiler", "gcc"));
        let m = diagnose("OSError: mysql_config not found\n").unwrap();
        assert_eq!(m.deb, "default-libmysqlclient-dev");
        let m = diagnose("x.c:1:10: fatal error: Python.h: No such file or directory\n").unwrap();
        assert_eq!((m.deb, m.rpm), ("python3-dev", "python3-devel"));
        let pip = "Processing ./wheels/virtbind-1.0.tar.gz\n  Getting requirements to build wheel: finished with status 'error'\n  error: subprocess-exited-with-error\n      Package libvirt was not found in the pkg-config search path.\n";
        assert_eq!(diagnose(pip).unwrap().distribution.as_deref(), Some("virtbind-1.0"));
        assert_eq!(diagnose("error: some other failure\n"), None);
        assert_eq!(diagnose("x.c:1:10: fatal error: unknown_thing.h: No such file or directory\n"), None);
    }
}
