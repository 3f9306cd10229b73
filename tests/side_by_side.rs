//! Versions side by side by default: with `{version}` in `install_path` and not in
//! `package_name`, each .deb and .rpm is a versioned package (the bundle) and an unversioned
//! metapackage that depends on exactly it and holds what a host has once (configuration, units,
//! the user, the manifest's files). Judged by lintian, rpm, and (as root) apt-get and dpkg: two
//! versions of a service with a conffile and a unit install together through the metapackage,
//! the stable path and `/usr/bin` follow the newest, and removing the old version leaves the new
//! one working.
//!
//! Installing tests use names starting with `wrap-test-`, and purge what they installed whether
//! they pass or fail.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Workspace, run};

fn tool(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The example side by side (the default), packages named `wrap-test-…`, installed under
/// /opt/wrap-test; greet is a service with a user, a unit and a command on PATH, at `version`.
fn example(version: &str) -> Workspace {
    let ws = Workspace::offline_example();
    let text = ws
        .manifest()
        .replace("side_by_side = false\n", "")
        .replace("package_name = \"wrap-example-{name}\"", "package_name = \"wrap-test-{name}\"")
        .replace(
            "install_path = \"/opt/wrap-example/{name}-{version}\"",
            "install_path = \"/opt/wrap-test/{name}-{version}\"",
        );
    ws.write_manifest(&text);
    ws.greet_keys(&format!(
        "version = \"{version}\"\nuser = \"wrap-test-sbs\"\nservices = [\"greet\"]\nlinks = [\"greet\"]\nrecommends = [\"less\"]"
    ));
    ws
}

/// Builds greet in `format` into `out`: (versioned package, metapackage).
fn build(ws: &Workspace, format: &str, out: &str) -> (PathBuf, PathBuf) {
    let built = ws.wrap(&["build", "--format", format, "--out", out, "--project", "greet"]).ok();
    let paths: Vec<PathBuf> = built.lines().map(PathBuf::from).collect();
    assert_eq!(paths.len(), 2, "{built}");
    let name = |p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
    // The versioned package's file name holds the version twice (name and version).
    let (versioned, meta): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| name(p).matches("0.9.").count() == 2);
    (versioned[0].clone(), meta[0].clone())
}

fn deb_field(deb: &Path, field: &str) -> String {
    text(&tool("dpkg-deb", &["--field", deb.to_str().unwrap(), field])).trim().to_string()
}

#[test]
fn a_versioned_package_and_a_metapackage_that_lintian_and_rpm_accept() {
    let ws = example("0.9.0");
    let plan = ws.wrap(&["--message-format", "json", "plan", "--project", "greet"]).ok();
    assert!(plan.contains("\"package_name\":\"wrap-test-greet-0.9.0\""), "{plan}");
    assert!(plan.contains("\"meta_package\":\"wrap-test-greet\""), "{plan}");
    let (versioned, meta) = build(&ws, "deb", "out");
    assert!(
        versioned.ends_with("wrap-test-greet-0.9.0_0.9.0-1_amd64.deb")
            || versioned.to_string_lossy().contains("wrap-test-greet-0.9.0_0.9.0-1_")
    );
    assert_eq!(deb_field(&meta, "Package"), "wrap-test-greet");
    assert_eq!(deb_field(&meta, "Depends"), "adduser, wrap-test-greet-0.9.0 (= 0.9.0-1)");
    assert_eq!(deb_field(&meta, "Recommends"), "less");
    assert!(
        deb_field(&versioned, "Depends").starts_with("python3.11"),
        "{}",
        deb_field(&versioned, "Depends")
    );
    let contents = |deb: &Path| text(&tool("dpkg-deb", &["--contents", deb.to_str().unwrap()]));
    let (v, m) = (contents(&versioned), contents(&meta));
    // The metapackage: what a host has once. The versioned package: the bundle alone.
    for shared in ["./etc/greet/greet.conf", "./usr/lib/systemd/system/greet.service"] {
        assert!(m.contains(shared) && !v.contains(shared), "{shared}:\n{m}\n{v}");
    }
    assert!(!m.contains("./opt/"), "{m}");
    assert!(v.contains("./opt/wrap-test/greet-0.9.0/bin/greet"), "{v}");
    let conffiles = text(&tool("dpkg-deb", &["--info", meta.to_str().unwrap(), "conffiles"]));
    assert_eq!(conffiles, "/etc/greet/greet.conf\n");
    let postinst = text(&tool("dpkg-deb", &["--info", versioned.to_str().unwrap(), "postinst"]));
    assert!(postinst.contains("update-alternatives --install '/opt/wrap-test/greet'"), "{postinst}");
    assert!(!postinst.contains("adduser"), "{postinst}");
    for deb in [&versioned, &meta] {
        let report = text(&tool("lintian", &["--tag-display-limit", "0", deb.to_str().unwrap()]));
        let problems: Vec<&str> =
            report.lines().filter(|l| l.starts_with("E: ") || l.starts_with("W: ")).collect();
        assert!(problems.is_empty(), "lintian on {}:\n{report}", deb.display());
    }

    let (versioned, meta) = build(&ws, "rpm", "rpms");
    let requires =
        String::from_utf8_lossy(&tool("rpm", &["-qp", "--requires", meta.to_str().unwrap()]).stdout)
            .into_owned();
    assert!(requires.lines().any(|l| l == "wrap-test-greet-0.9.0 = 0.9.0-1"), "{requires}");
    for package in [&versioned, &meta] {
        let p = package.to_str().unwrap();
        let filters = format!("{p}.rpmlint.toml");
        let out = Command::new("rpmlint").args(["-c", &filters, p]).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(report.contains(" 0 errors, 0 warnings"), "rpmlint {p}:\n{report}");
    }
    // Two versions and the metapackage's upgrade in one rpm database: the old version stays.
    let newer = example("0.9.1");
    let (versioned_2, meta_2) = build(&newer, "rpm", "rpms");
    let root = tempfile::tempdir().unwrap();
    let r = root.path().to_str().unwrap();
    let rpm = |args: &[&str]| {
        let out = tool("rpm", &[&["--root", r, "--nodeps", "--noscripts"], args].concat());
        assert!(out.status.success(), "rpm {args:?}: {}", text(&out));
    };
    assert!(tool("rpm", &["--initdb", "--root", r]).status.success());
    rpm(&["-i", versioned.to_str().unwrap(), meta.to_str().unwrap()]);
    rpm(&["-U", versioned_2.to_str().unwrap(), meta_2.to_str().unwrap()]);
    let installed = text(&tool("rpm", &["-qa", "--root", r, "--queryformat", "%{NAME}-%{VERSION}\n"]));
    let mut names: Vec<&str> = installed.lines().collect();
    names.sort();
    assert_eq!(
        names,
        ["wrap-test-greet-0.9.0-0.9.0", "wrap-test-greet-0.9.1", "wrap-test-greet-0.9.1-0.9.1"]
    );
    assert!(root.path().join("opt/wrap-test/greet-0.9.0/bin/greet").exists());
    assert!(root.path().join("opt/wrap-test/greet-0.9.1/bin/greet").exists());
    assert!(root.path().join("etc/greet/greet.conf").exists());
}

/// Purges what the install test put on the machine, pass or fail.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let listed = tool("dpkg-query", &["-W", "-f", "${Package}\n", "wrap-test-greet*"]);
        for package in
            String::from_utf8_lossy(&listed.stdout).lines().filter(|p| p.starts_with("wrap-test-greet"))
        {
            let _ = tool("dpkg", &["--purge", package]);
        }
        let _ = tool("deluser", &["--system", "wrap-test-sbs"]);
        let _ = tool("delgroup", &["--system", "wrap-test-sbs"]);
        let _ = std::fs::remove_dir_all("/opt/wrap-test");
        let _ = std::fs::remove_dir_all("/etc/greet");
    }
}

/// `apt-get install A.deb B.deb`, copied into a directory apt takes files from (it refuses a
/// path through a hidden directory, as a test's temporary directory is; and with
/// `--no-download` it fails on local files: "Pathname to install is not absolute").
fn apt_install(debs: &[&Path]) {
    let dir = tempfile::Builder::new().prefix("wrap-test-apt").tempdir().unwrap();
    let mut args = vec!["install".to_string(), "-y".into(), "--no-install-recommends".into()];
    for deb in debs {
        let copy = dir.path().join(deb.file_name().unwrap());
        std::fs::copy(deb, &copy).unwrap();
        args.push(copy.display().to_string());
    }
    let out = Command::new("apt-get").args(&args).env("DEBIAN_FRONTEND", "noninteractive").output().unwrap();
    assert!(out.status.success(), "apt-get {args:?}:\n{}", text(&out));
}

#[test]
fn apt_installs_two_versions_side_by_side_through_the_metapackage() {
    if !support::is_root_or_skip("installing packages") {
        return;
    }
    let _cleanup = Cleanup;
    drop(Cleanup);
    let older = example("0.9.0");
    let (old, old_meta) = build(&older, "deb", "out");
    let newer = example("0.9.1");
    let (new, new_meta) = build(&newer, "deb", "out");
    // apt resolves the metapackage's dependency on the versioned package given beside it.
    apt_install(&[&old_meta, &old]);
    assert!(tool("getent", &["passwd", "wrap-test-sbs"]).status.success());
    let greet = || run("/usr/bin/greet", &["ops"], Path::new("/"));
    assert_eq!(greet(), "Good morning, ops.\n");
    std::fs::write("/etc/greet/greet.conf", "salutation = Hi\n").unwrap();
    // The upgrade of the metapackage brings the new version beside the old one.
    apt_install(&[&new_meta, &new]);
    let version = |p: &str| text(&tool("dpkg-query", &["-W", "-f", "${Status} ${Version}", p]));
    assert_eq!(version("wrap-test-greet-0.9.0"), "install ok installed 0.9.0-1");
    assert_eq!(version("wrap-test-greet-0.9.1"), "install ok installed 0.9.1-1");
    assert_eq!(version("wrap-test-greet"), "install ok installed 0.9.1-1");
    let target = std::fs::canonicalize("/opt/wrap-test/greet").unwrap();
    assert_eq!(target, Path::new("/opt/wrap-test/greet-0.9.1"));
    assert_eq!(
        std::fs::canonicalize("/usr/bin/greet").unwrap(),
        Path::new("/opt/wrap-test/greet-0.9.1/bin/greet")
    );
    assert_eq!(std::fs::read_to_string("/etc/greet/greet.conf").unwrap(), "salutation = Hi\n");
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/greet.service").unwrap();
    assert!(unit.contains("ExecStart=/opt/wrap-test/greet/bin/greet\n"), "{unit}");
    // Removing the old version is an explicit step, and leaves the new one working.
    let out = tool("dpkg", &["--purge", "wrap-test-greet-0.9.0"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!Path::new("/opt/wrap-test/greet-0.9.0").exists());
    assert_eq!(greet(), "Good morning, ops.\n");
    let out = tool("dpkg", &["--purge", "wrap-test-greet", "wrap-test-greet-0.9.1"]);
    assert!(out.status.success(), "{}", text(&out));
    for gone in
        ["/opt/wrap-test/greet", "/usr/bin/greet", "/etc/greet", "/usr/lib/systemd/system/greet.service"]
    {
        assert!(std::fs::symlink_metadata(gone).is_err(), "{gone} left after purge");
    }
}
