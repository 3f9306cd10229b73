//! `[[project.files]]`, judged by the real tools: a service package with a sudoers entry, a
//! rootwrap filter tree, a logrotate template, state and log directories owned by the service
//! user, a link, and an rpm-only file. dpkg-deb and rpm read back modes, owners and conffiles;
//! lintian and rpmlint pass; (as root) dpkg installs it, keeps an edited conffile across an
//! upgrade, gives the directories to the user and purges it all; rpm installs it into a
//! temporary root. Bad entries are refused with the line, the key and a hint.
//!
//! Installing tests use names starting with `wrap-test-`, run one at a time, and purge what they
//! installed whether they pass or fail.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use support::Workspace;

const USER: &str = "wrap-test-files";

fn tool(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The manifest lines of greet's files.
const FILES: &str = r#"
[[project.files]]
dest = "/etc/sudoers.d/wrap-test-files"
source = "files/sudoers"
mode = "0440"

[[project.files]]
dest = "/etc/greet/rootwrap.d"
source = "files/rootwrap.d"

[[project.files]]
dest = "/etc/logrotate.d/wrap-test-greet"
template = "files/logrotate"

[[project.files]]
dest = "/var/lib/{user}"
directory = true
owner = "{user}"
mode = "0750"

[[project.files]]
dest = "/var/log/{user}"
directory = true
owner = "{user}"
group = "root"
mode = "0755"

[[project.files]]
dest = "/usr/share/wrap-test-files/greet.conf"
symlink = "/etc/greet/greet.conf"

[[project.files]]
dest = "/usr/lib/tmpfiles.d/wrap-test-files.conf"
template = "files/tmpfiles"
only = "rpm"
"#;

/// The example with greet as a service package named `wrap-test-greet`, with the files above.
fn service() -> Workspace {
    let ws = Workspace::offline_example();
    let dir = ws.path().join("files");
    std::fs::create_dir_all(dir.join("rootwrap.d")).unwrap();
    std::fs::write(dir.join("sudoers"), format!("{USER} ALL = (root) NOPASSWD: /usr/bin/true\n")).unwrap();
    std::fs::write(dir.join("rootwrap.d/compute.filters"), "[Filters]\nkill: CommandFilter, kill, root\n")
        .unwrap();
    std::fs::write(dir.join("rootwrap.d/network.filters"), "[Filters]\nip: IpFilter, ip, root\n").unwrap();
    std::fs::write(
        dir.join("logrotate"),
        "/var/log/{user}/*.log {\n    su {user} {user}\n    weekly\n    missingok\n}\n# {name} {version}\n",
    )
    .unwrap();
    std::fs::write(dir.join("tmpfiles"), "d /run/{user} 0750 {user} {user} -\n").unwrap();
    let text = ws
        .manifest()
        .replace("package_name = \"wrap-example-{name}\"", "package_name = \"wrap-test-{name}\"");
    ws.write_manifest(&text);
    // rpmlint wants a package with a logrotate file to require logrotate.
    let rpm = "\n[project.rpm]\nsystem_dependencies = [\"logrotate\"]\n";
    ws.greet_keys(&format!("user = \"{USER}\"\nservices = [\"greet\"]\n{FILES}{rpm}"));
    ws
}

fn build(ws: &Workspace, format: &str, out: &str) -> std::path::PathBuf {
    let built = ws.wrap(&["build", "--format", format, "--out", out, "--project", "greet"]).ok();
    std::path::PathBuf::from(built.trim())
}

#[test]
fn the_deb_ships_the_files_with_their_modes_and_conffiles_and_lintian_passes() {
    let ws = service();
    let deb = build(&ws, "deb", "out");
    let contents = text(&tool("dpkg-deb", &["--contents", deb.to_str().unwrap()]));
    let line = |path: &str| {
        contents
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")) || l.contains(&format!(" .{path} -> ")))
            .unwrap_or_else(|| panic!("{path} not in\n{contents}"))
            .to_string()
    };
    assert!(line("/etc/sudoers.d/wrap-test-files").starts_with("-r--r----- root/root"));
    assert!(line("/etc/greet/rootwrap.d/compute.filters").starts_with("-rw-r--r-- root/root"));
    assert!(line("/var/lib/wrap-test-files/").starts_with("drwxr-x--- root/root"));
    assert!(line("/usr/share/wrap-test-files/greet.conf").ends_with(" -> /etc/greet/greet.conf"));
    assert!(!contents.contains("tmpfiles.d"), "an rpm-only file in the .deb:\n{contents}");
    let conffiles = text(&tool("dpkg-deb", &["--info", deb.to_str().unwrap(), "conffiles"]));
    assert_eq!(
        conffiles,
        "/etc/greet/greet.conf\n/etc/greet/rootwrap.d/compute.filters\n/etc/greet/rootwrap.d/network.filters\n/etc/logrotate.d/wrap-test-greet\n/etc/sudoers.d/wrap-test-files\n"
    );
    let unpacked = ws.path().join("unpacked");
    assert!(tool("dpkg-deb", &["-x", deb.to_str().unwrap(), unpacked.to_str().unwrap()]).status.success());
    let logrotate = std::fs::read_to_string(unpacked.join("etc/logrotate.d/wrap-test-greet")).unwrap();
    assert!(
        logrotate.starts_with("/var/log/wrap-test-files/*.log {\n    su wrap-test-files wrap-test-files\n"),
        "{logrotate}"
    );
    assert!(
        logrotate.ends_with("# greet 0.9.0+git20260620.") || logrotate.contains("# greet 0.9.0"),
        "{logrotate}"
    );
    // The owners come from the postinst, once the user exists.
    let postinst = text(&tool("dpkg-deb", &["--info", deb.to_str().unwrap(), "postinst"]));
    assert!(
        postinst.contains("chown -h 'wrap-test-files:wrap-test-files' '/var/lib/wrap-test-files'"),
        "{postinst}"
    );
    assert!(postinst.contains("chown -h 'wrap-test-files:root' '/var/log/wrap-test-files'"), "{postinst}");
    let report = text(&tool("lintian", &["--tag-display-limit", "0", deb.to_str().unwrap()]));
    let problems: Vec<&str> =
        report.lines().filter(|l| l.starts_with("E: ") || l.starts_with("W: ")).collect();
    assert!(problems.is_empty(), "lintian:\n{report}");
    // A changed source is a changed build.
    std::fs::write(ws.path().join("files/rootwrap.d/network.filters"), "[Filters]\n").unwrap();
    let json = ws.wrap(&["--message-format", "json", "plan", "--project", "greet"]).ok();
    assert!(json.contains("\"extra_files\""), "{json}");
    let again = ws.wrap(&["-v", "build", "--format", "deb", "--out", "out2", "--project", "greet"]);
    assert!(again.stderr().contains("files changed"), "{}", again.stderr());
}

#[test]
fn the_rpm_names_the_owners_and_modes_and_rpmlint_passes() {
    let ws = service();
    let package = build(&ws, "rpm", "out");
    let p = package.to_str().unwrap();
    // --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
    let dump = String::from_utf8_lossy(&tool("rpm", &["-qlp", "--dump", p]).stdout).into_owned();
    let entry = |path: &str| -> Vec<String> {
        dump.lines()
            .find(|l| l.starts_with(&format!("{path} ")))
            .unwrap_or_else(|| panic!("{path} not in\n{dump}"))
            .split(' ')
            .map(String::from)
            .collect()
    };
    let cols = entry("/var/lib/wrap-test-files");
    assert_eq!((cols[4].as_str(), cols[5].as_str(), cols[6].as_str()), ("040750", USER, USER));
    let cols = entry("/var/log/wrap-test-files");
    assert_eq!((cols[4].as_str(), cols[5].as_str(), cols[6].as_str()), ("040755", USER, "root"));
    let cols = entry("/etc/sudoers.d/wrap-test-files");
    assert_eq!((cols[4].as_str(), cols[5].as_str(), cols[7].as_str()), ("0100440", "root", "1"));
    assert_eq!(entry("/etc/greet/rootwrap.d/network.filters")[7], "1");
    let tmpfiles = entry("/usr/lib/tmpfiles.d/wrap-test-files.conf");
    assert_eq!(tmpfiles[7], "0");
    // The user is made before the payload is unpacked, so rpm can give the files their owner.
    let scripts = String::from_utf8_lossy(&tool("rpm", &["-qp", "--scripts", p]).stdout).into_owned();
    let pre = scripts.split("postinstall scriptlet").next().unwrap();
    assert!(pre.contains("preinstall scriptlet") && pre.contains("useradd -r"), "{scripts}");
    // System directories stay the system's.
    for system in ["/etc/sudoers.d", "/var/lib", "/var/log", "/usr/lib/tmpfiles.d", "/usr/share"] {
        assert!(!dump.lines().any(|l| l.starts_with(&format!("{system} "))), "the package owns {system}");
    }
    let filters = format!("{p}.rpmlint.toml");
    let out = Command::new("rpmlint").args(["-c", &filters, p]).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains(" 0 errors, 0 warnings"), "rpmlint:\n{report}");
    // Into a temporary root, without scripts (no user there): rpm unpacks every entry.
    let root = tempfile::tempdir().unwrap();
    let r = root.path().to_str().unwrap();
    assert!(tool("rpm", &["--initdb", "--root", r]).status.success());
    let installed = tool("rpm", &["-i", "--root", r, "--nodeps", "--noscripts", p]);
    assert!(installed.status.success(), "{}", text(&installed));
    let sudoers = root.path().join("etc/sudoers.d/wrap-test-files");
    assert_eq!(std::fs::metadata(&sudoers).unwrap().permissions().mode() & 0o7777, 0o440);
    assert_eq!(
        std::fs::read_link(root.path().join("usr/share/wrap-test-files/greet.conf")).unwrap(),
        Path::new("/etc/greet/greet.conf")
    );
    let tmpfiles =
        std::fs::read_to_string(root.path().join("usr/lib/tmpfiles.d/wrap-test-files.conf")).unwrap();
    assert_eq!(tmpfiles, "d /run/wrap-test-files 0750 wrap-test-files wrap-test-files -\n");
}

#[test]
fn bad_entries_are_refused_with_the_line_and_the_key() {
    let cases: [(&str, &str); 8] = [
        ("dest = \"/etc/../x\"\ndirectory = true", "`files.dest` = `/etc/../x` is not valid"),
        (
            "dest = \"/var/lib/x\"\ndirectory = true\nowner = \"nobody\"",
            "`files.owner` = `nobody` is not valid: `root` or the project's user",
        ),
        (
            "dest = \"/usr/bin/x\"\nsource = \"files/sudoers\"\nmode = \"4755\"",
            "without the setuid or setgid bit",
        ),
        ("dest = \"/etc/x\"\nsource = \"../outside\"", "leaves the manifest's directory"),
        (
            "dest = \"/etc/x\"\nsource = \"files/sudoers\"\ndirectory = true",
            "exactly one of `source`, `template`",
        ),
        (
            "dest = \"/opt/wrap-example/greet-{version}/x\"\ndirectory = true",
            "overlaps the bundle's install path",
        ),
        (
            "dest = \"/usr/lib/systemd/system/greet.service\"\nsource = \"files/sudoers\"",
            "is a file wrap writes itself",
        ),
        ("dest = \"/etc/x\"\nsymlink = \"/y\"\nmode = \"0644\"", "no mode: a symlink's is 0777"),
    ];
    for (entry, expected) in cases {
        let ws = Workspace::offline_example();
        std::fs::create_dir_all(ws.path().join("files")).unwrap();
        std::fs::write(ws.path().join("files/sudoers"), "x\n").unwrap();
        ws.greet_keys(&format!(
            "user = \"wrap-test-files\"\nservices = [\"greet\"]\n\n[[project.files]]\n{entry}"
        ));
        let err = ws.wrap(&["plan"]).fails(1);
        assert!(err.contains(expected), "{entry}:\n{err}");
        assert!(err.contains("wrap.toml:"), "no location for {entry}:\n{err}");
    }
}

/// Purges what the install test put on the machine, pass or fail.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = tool("dpkg", &["--purge", "wrap-test-greet"]);
        let _ = tool("deluser", &["--system", USER]);
        let _ = tool("delgroup", &["--system", USER]);
        for dir in ["/opt/wrap-example/greet", "/var/lib/wrap-test-files", "/var/log/wrap-test-files"] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn dpkg(args: &[&str]) {
    let out = tool("dpkg", args);
    assert!(out.status.success(), "dpkg {args:?}:\n{}", text(&out));
}

#[test]
fn dpkg_installs_the_files_gives_the_user_its_directories_and_keeps_conffiles() {
    if !support::is_root_or_skip("installing packages") {
        return;
    }
    let _cleanup = Cleanup;
    drop(Cleanup);
    let ws = service();
    let first = build(&ws, "deb", "out");
    ws.write_manifest(&ws.manifest().replace("release = \"1\"", "release = \"2\""));
    let second = build(&ws, "deb", "out2");
    dpkg(&["-i", first.to_str().unwrap()]);
    let uid = |name: &str| -> u32 {
        let out = String::from_utf8_lossy(&tool("id", &["-u", name]).stdout).trim().to_string();
        out.parse().unwrap_or_else(|_| panic!("no user {name}"))
    };
    let user = uid(USER);
    for (dir, mode, gid_root) in
        [("/var/lib/wrap-test-files", 0o750, false), ("/var/log/wrap-test-files", 0o755, true)]
    {
        let meta = std::fs::metadata(dir).unwrap();
        assert_eq!((meta.uid(), meta.permissions().mode() & 0o7777), (user, mode), "{dir}");
        assert_eq!(meta.gid() == 0, gid_root, "{dir}");
    }
    let sudoers = std::fs::metadata("/etc/sudoers.d/wrap-test-files").unwrap();
    assert_eq!((sudoers.uid(), sudoers.permissions().mode() & 0o7777), (0, 0o440));
    if Path::new("/usr/sbin/visudo").exists() {
        let checked = tool("visudo", &["-c", "-f", "/etc/sudoers.d/wrap-test-files"]);
        assert!(checked.status.success(), "{}", text(&checked));
    }
    // An operator's edit of a conffile survives the upgrade; the state directory keeps its owner.
    std::fs::write("/etc/greet/rootwrap.d/compute.filters", "[Filters]\n# local\n").unwrap();
    dpkg(&["-i", second.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string("/etc/greet/rootwrap.d/compute.filters").unwrap(),
        "[Filters]\n# local\n"
    );
    assert_eq!(std::fs::metadata("/var/lib/wrap-test-files").unwrap().uid(), user);
    assert_eq!(
        std::fs::read_link("/usr/share/wrap-test-files/greet.conf").unwrap(),
        Path::new("/etc/greet/greet.conf")
    );
    dpkg(&["--purge", "wrap-test-greet"]);
    for gone in [
        "/etc/sudoers.d/wrap-test-files",
        "/etc/greet",
        "/etc/logrotate.d/wrap-test-greet",
        "/var/lib/wrap-test-files",
        "/usr/share/wrap-test-files",
    ] {
        assert!(std::fs::symlink_metadata(gone).is_err(), "{gone} left after purge");
    }
}
