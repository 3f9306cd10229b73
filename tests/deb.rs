//! `wrap build --format deb`, judged by the real tools: dpkg-deb reads back what wrap says it
//! wrote, lintian passes with only the shipped overrides, the same input gives the same bytes,
//! and (as root) dpkg installs, runs, upgrades side by side and purges the packages.
//!
//! Installing tests use package names starting with `wrap-test-`, run one at a time, and purge
//! what they installed whether they pass or fail.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use support::{Workspace, bytecode_used, find, run};
use wrap::digest::sha256_hex;

/// Where greet's operator fragments say they ran.
const OPERATOR_LOG: &str = "/var/log/wrap-test-greet-operator.log";

/// Tests that change the machine's dpkg database run one at a time.
static DPKG: Mutex<()> = Mutex::new(());

fn tool(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The example with greet given a system user, a service (with arguments, environment and
/// ordering in its unit) and a command on PATH, and its bytecode
/// compiled on the host (hello's is built into its package, the default).
fn example_with_services() -> Workspace {
    let ws = Workspace::offline_example();
    ws.greet_keys(
        "user = \"wrap-test-greet\"\nservices = [\"greet\"]\nsystem_dependencies = [\"ca-certificates\"]\nrecommends = [\"less\"]\nsuggests = [\"jq\"]\nbreaks = [\"wrap-test-greet-old (<< 0.1)\"]\nbytecode = \"install\"\nlinks = [\"greet\"]\nenable_units = \"enable\"\n\n[project.unit.greet]\nargs = [\"ops\", \"100% of $USER\"]\nenvironment = [\"GREET_MODE=formal\"]\nrestart = \"always\"\nafter = [\"local-fs.target\"]\n\n[project.scripts]\npostinst = \"scripts/greet.postinst\"\npostrm = \"scripts/greet.postrm\"",
    );
    // The operator's own fragments: each says it ran, with its script's first argument.
    std::fs::create_dir_all(ws.path().join("scripts")).unwrap();
    for hook in ["postinst", "postrm"] {
        let text = format!("#!/bin/sh\necho \"{hook} $1\" >> {OPERATOR_LOG}\n");
        std::fs::write(ws.path().join(format!("scripts/greet.{hook}")), text).unwrap();
    }
    ws
}

#[test]
fn dpkg_deb_reads_back_what_wrap_wrote_and_lintian_passes() {
    let ws = example_with_services();
    let debs = ws.build_format("deb", "out");
    assert_eq!(debs.len(), 3, "{debs:?}");
    let greet = find(&debs, "wrap-example-greet_0.9.0+git20260620.");
    let hello = find(&debs, "wrap-example-hello_1.1.0-1_");

    let info = text(&tool("dpkg-deb", &["--field", greet.to_str().unwrap()]));
    insta::with_settings!({filters => vec![
        (r"Architecture: \S+", "Architecture: [ARCH]"),
        (r"python3\.[0-9]+", "python3.X"),
        (r"Installed-Size: [0-9]+", "Installed-Size: [KIB]"),
    ]}, {
        insta::assert_snapshot!("greet-control", info);
    });
    let inspect =
        ws.wrap(&["--message-format", "json", "inspect", greet.to_str().unwrap()]).event("inspected");
    let fields = inspect["inspection"]["fields"].as_array().unwrap();
    for field in fields {
        let (key, value) = (field[0].as_str().unwrap(), field[1].as_str().unwrap());
        let first = value.lines().next().unwrap_or("");
        assert!(info.contains(&format!("{key}: {first}")), "dpkg-deb lacks {key}: {first}\n{info}");
    }
    let field = |name: &str| {
        fields.iter().find(|f| f[0] == name).map(|f| f[1].as_str().unwrap().to_string()).unwrap_or_default()
    };
    // deb-systemd-helper enables the unit (`enable_units`).
    assert_eq!(field("Depends"), "python3.11, adduser, init-system-helpers (>= 1.54~), ca-certificates");
    assert_eq!(field("Recommends"), "less");
    assert_eq!(field("Suggests"), "jq");
    assert_eq!(field("Breaks"), "wrap-test-greet-old (<< 0.1)");
    assert_eq!(field("Architecture"), wrap::artifact::Format::Deb.host_arch());
    assert!(
        field("Description").starts_with("Formal greetings: a pbr fixture library"),
        "{}",
        field("Description")
    );
    assert!(inspect["inspection"]["verified"].as_u64().unwrap() > 10);
    assert_eq!(inspect["inspection"]["conffiles"], serde_json::json!(["/etc/greet/greet.conf"]));
    assert_eq!(inspect["inspection"]["build_info"]["project"], "greet");
    let purl = inspect["inspection"]["sbom"]["components"][0]["purl"].as_str().unwrap();
    assert!(purl.starts_with("pkg:pypi/greet@0.9.0+git20260620."), "{purl}");

    // dpkg-deb --contents lists the same entries, modes and sizes as wrap inspect.
    let contents = text(&tool("dpkg-deb", &["--contents", greet.to_str().unwrap()]));
    let files = inspect["inspection"]["files"].as_array().unwrap();
    assert_eq!(contents.lines().count(), files.len(), "{contents}");
    for (line, file) in contents.lines().zip(files) {
        let mode = wrap::package::inspect::mode_string(
            file["kind"].as_str().unwrap().chars().next().unwrap(),
            file["mode"].as_u64().unwrap() as u32,
        );
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], mode, "{line}");
        assert_eq!(cols[1], "root/root", "{line}");
        assert_eq!(cols[2], file["size"].as_u64().unwrap().to_string(), "{line}");
        assert_eq!(cols[5], file["path"].as_str().unwrap(), "{line}");
    }
    assert!(contents.contains(" ./usr/lib/systemd/system/greet.service\n"), "{contents}");
    assert!(contents.contains(" ./etc/greet/greet.conf\n"), "{contents}");
    let control = text(&tool("dpkg-deb", &["--info", greet.to_str().unwrap(), "postinst"]));
    // Every value is quoted where the script uses it.
    assert!(control.contains("adduser --system --ingroup 'wrap-test-greet'"), "{control}");
    // The operator's fragment, after wrap's own work, and shown by wrap inspect.
    assert!(
        control.contains("# The operator's own `scripts.postinst` (scripts/greet.postinst)"),
        "{control}"
    );
    let scripts = inspect["inspection"]["scripts"].as_array().unwrap();
    let postinst = scripts.iter().find(|s| s[0] == "postinst").expect("postinst shown");
    assert!(postinst[1].as_str().unwrap().contains(&format!("echo \"postinst $1\" >> {OPERATOR_LOG}")));
    // `bytecode = "install"`, Debian's Python policy: no bytecode in the package; the postinst
    // compiles it.
    assert!(!contents.contains("__pycache__"), "{contents}");
    assert!(
        control.contains(
            "/bin/python -I -m compileall -q -j 0 --invalidation-mode timestamp '/opt/wrap-example/greet-"
        ),
        "{control}"
    );

    // The default, `bytecode = "build"`: the package holds the checked-hash bytecode of every
    // module, and its postinst compiles nothing.
    let contents = text(&tool("dpkg-deb", &["--contents", hello.to_str().unwrap()]));
    assert!(contents.contains("/site-packages/hello/__pycache__/__init__.cpython-3"), "{contents}");
    let control = text(&tool("dpkg-deb", &["--info", hello.to_str().unwrap(), "postinst"]));
    assert!(!control.contains("compileall"), "{control}");

    // lintian: no error or warning beyond the overrides the package ships.
    for deb in [greet, hello] {
        let out = tool("lintian", &["--tag-display-limit", "0", deb.to_str().unwrap()]);
        let report = text(&out);
        let problems: Vec<&str> =
            report.lines().filter(|l| l.starts_with("E: ") || l.starts_with("W: ")).collect();
        assert!(problems.is_empty() && out.status.success(), "lintian on {}:\n{report}", deb.display());
    }
}

#[test]
fn the_same_input_gives_the_same_deb() {
    let digests = |ws: &Workspace| -> Vec<String> {
        let mut debs = ws.build_format("deb", "out");
        debs.sort();
        debs.iter().map(|d| sha256_hex(&std::fs::read(d).unwrap())).collect()
    };
    let (a, b) = (Workspace::offline_example(), Workspace::offline_example());
    let first = digests(&a);
    assert_eq!(first.len(), 3);
    assert_eq!(first, digests(&b));
    // xz and zstd payloads are reproducible too, and dpkg-deb reads them.
    for compression in ["xz", "zstd"] {
        for ws in [&a, &b] {
            let manifest: String = ws
                .manifest()
                .lines()
                .filter(|l| !l.starts_with("compression"))
                .map(|l| format!("{l}\n"))
                .collect();
            ws.write_manifest(&manifest);
            ws.setting(&format!("compression = \"{compression}\""));
        }
        let (x, y) = (digests(&a), digests(&b));
        assert_eq!(x, y, "{compression}");
        assert_ne!(x, first);
        let debs = a.build_format("deb", "out");
        let listing = text(&tool("dpkg-deb", &["--contents", debs[0].to_str().unwrap()]));
        assert!(listing.contains("/bin/hello") || listing.contains("/bin/greet"), "{listing}");
    }
}

#[test]
fn corrupt_and_truncated_debs_are_refused_by_inspect() {
    let ws = Workspace::offline_example();
    let debs = ws.build_format("deb", "out");
    let bytes = std::fs::read(&debs[0]).unwrap();
    let truncated = ws.path().join("truncated.deb");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = ws.wrap(&["inspect", truncated.to_str().unwrap()]).fails(1);
    assert!(e.starts_with(&format!("error: `{}` is not a valid deb package: ", truncated.display())), "{e}");
    // A byte flipped inside a file's content: the md5sums catch it (or the compression's CRC).
    let mut corrupt = bytes.clone();
    let at = bytes.len() - 200;
    corrupt[at] ^= 0xff;
    let path = ws.path().join("corrupt.deb");
    std::fs::write(&path, corrupt).unwrap();
    let e = ws.wrap(&["inspect", path.to_str().unwrap()]).fails(1);
    assert!(e.contains("is not a valid deb package"), "{e}");
    // The .sha256 beside an artifact is checked too.
    std::fs::write(format!("{}.sha256", debs[0].display()), format!("{}  x.deb\n", "0".repeat(64))).unwrap();
    let e = ws.wrap(&["inspect", debs[0].to_str().unwrap()]).fails(1);
    assert!(e.contains("does not match its .sha256 file"), "{e}");
}

/// Purges every `wrap-test-` package, the test user and /opt/wrap-test when dropped.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let listed = tool("dpkg-query", &["-W", "-f", "${Package}\n", "wrap-test-*"]);
        for package in String::from_utf8_lossy(&listed.stdout).lines().filter(|p| p.starts_with("wrap-test-"))
        {
            let _ = tool("dpkg", &["--purge", package]);
        }
        let _ = tool("deluser", &["--system", "wrap-test-greet"]);
        let _ = tool("delgroup", &["--system", "wrap-test-greet"]);
        let _ = std::fs::remove_dir_all("/opt/wrap-test");
        let _ = std::fs::remove_dir_all("/etc/greet");
        let _ = std::fs::remove_file(OPERATOR_LOG);
    }
}

fn dpkg(args: &[&str]) {
    let out = tool("dpkg", args);
    assert!(out.status.success(), "dpkg {args:?}:\n{}", text(&out));
}

fn stable_target() -> String {
    std::fs::canonicalize("/opt/wrap-test/hello").map(|p| p.display().to_string()).unwrap_or_default()
}

#[test]
fn dpkg_installs_runs_upgrades_side_by_side_and_purges() {
    if !support::is_root_or_skip("installing packages") {
        return;
    }
    let _serial = DPKG.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = Cleanup;
    drop(Cleanup); // start from a clean machine

    // hello twice, at 1.0.0 and 1.1.0, with the version in package name and install path.
    let ws = example_with_services();
    let text_ = ws
        .manifest()
        .replace("package_name = \"wrap-example-{name}\"", "package_name = \"wrap-test-{name}\"")
        .replace(
            "install_path = \"/opt/wrap-example/{name}-{version}\"",
            "install_path = \"/opt/wrap-test/{name}\"",
        );
    let hello_versioned = "[[project]]\nname = \"hello\"\ngit = \"repos/hello\"\nref = \"1.1.0\"\npackage_name = \"wrap-test-{name}-{version}\"\ninstall_path = \"/opt/wrap-test/{name}-{version}\"\nlinks = [\"hello\"]\n";
    let start = text_.find("[[project]]\nname = \"hello\"").unwrap();
    let end = text_.find("[[project]]\nname = \"greet\"").unwrap();
    let with_versions = format!(
        "{}{hello_versioned}patches = [\n    \"patches/hello/0001-Mark-patched-greetings.patch\",\n    \"patches/hello/0002-Add-region-for-the-operators.patch\",\n]\n\n{}",
        &text_[..start],
        &text_[end..]
    );
    ws.write_manifest(&with_versions);
    let debs = ws.build_format("deb", "out");
    let hello_11 = find(&debs, "wrap-test-hello-1.1.0_").to_path_buf();
    let greet_1 = find(&debs, "wrap-test-greet_").to_path_buf();
    ws.write_manifest(&with_versions.replace("ref = \"1.1.0\"", "ref = \"1.0.0\""));
    let debs = ws.wrap(&["build", "--format", "deb", "--out", "out10", "--project", "hello"]).ok();
    let hello_10 = PathBuf::from(debs.trim());
    // greet again with release 2, to upgrade over release 1.
    ws.write_manifest(&with_versions.replace("release = \"1\"", "release = \"2\""));
    let debs = ws.wrap(&["build", "--format", "deb", "--out", "out2", "--project", "greet"]).ok();
    let greet_2 = PathBuf::from(debs.trim());

    // Side by side: 1.0.0, then 1.1.0; the stable path follows the newest.
    dpkg(&["-i", hello_10.to_str().unwrap()]);
    assert_eq!(
        run("/opt/wrap-test/hello-1.0.0/bin/hello", &["ops"], Path::new("/")),
        "Hello, ops! (patched)\n"
    );
    assert_eq!(stable_target(), "/opt/wrap-test/hello-1.0.0");
    assert_eq!(run("/usr/bin/hello", &["ops"], Path::new("/")), "Hello, ops! (patched)\n", "/usr/bin/hello");
    // The package's bytecode (built once, checked-hash) is what Python uses, and a module edited
    // in place (a hot fix) runs as edited: the pyc's hash no longer matches its source.
    let package = Path::new("/opt/wrap-test/hello-1.0.0/lib/python3.11/site-packages/hello");
    if Path::new("/usr/bin/python3.11").exists() {
        let used = bytecode_used(Path::new("/opt/wrap-test/hello-1.0.0/bin/python"), "hello");
        assert!(
            used.iter().any(|p| Path::new(p) == package.join("__pycache__/__init__.cpython-311.pyc")),
            "{used:?}"
        );
        let source = std::fs::read_to_string(package.join("__init__.py")).unwrap();
        std::fs::write(package.join("__init__.py"), source.replace("Hello, %s!", "Howdy, %s!")).unwrap();
        assert_eq!(
            run("/opt/wrap-test/hello-1.0.0/bin/hello", &["ops"], Path::new("/")),
            "Howdy, ops! (patched)\n"
        );
    }
    dpkg(&["-i", hello_11.to_str().unwrap()]);
    assert!(Path::new("/opt/wrap-test/hello-1.0.0/bin/hello").exists());
    assert_eq!(stable_target(), "/opt/wrap-test/hello-1.1.0");
    assert_eq!(run("/opt/wrap-test/hello/bin/hello", &["--region"], Path::new("/")), "region: RegionOne\n");
    // /usr/bin/hello follows the newest version (update-alternatives' slave: neither package
    // owns it, so the two install side by side).
    let command =
        || std::fs::canonicalize("/usr/bin/hello").map(|p| p.display().to_string()).unwrap_or_default();
    assert_eq!(command(), "/opt/wrap-test/hello-1.1.0/bin/hello");
    let owner = tool("dpkg", &["-S", "/usr/bin/hello"]);
    assert!(!owner.status.success(), "{}", text(&owner));
    let version = run(
        "/opt/wrap-test/hello/bin/python",
        &["-c", "import importlib.metadata as m; print(m.version('hello'))"],
        Path::new("/"),
    );
    assert_eq!(version, "1.1.0\n");
    // Removing the newest switches the stable path back.
    dpkg(&["-r", "wrap-test-hello-1.1.0"]);
    assert!(!Path::new("/opt/wrap-test/hello-1.1.0").exists(), "removal left the bundle behind");
    assert_eq!(stable_target(), "/opt/wrap-test/hello-1.0.0");
    assert_eq!(command(), "/opt/wrap-test/hello-1.0.0/bin/hello");
    dpkg(&["--purge", "wrap-test-hello-1.1.0", "wrap-test-hello-1.0.0"]);
    assert!(std::fs::symlink_metadata("/usr/bin/hello").is_err(), "/usr/bin/hello left after purge");
    assert!(!Path::new("/opt/wrap-test/hello").exists() && !Path::new("/opt/wrap-test/hello-1.0.0").exists());
    assert!(!tool("update-alternatives", &["--query", "opt-wrap-test-hello"]).status.success());

    // greet: a system user, a unit (installed, not started), a conffile kept across upgrades.
    dpkg(&["-i", greet_1.to_str().unwrap()]);
    assert!(tool("getent", &["passwd", "wrap-test-greet"]).status.success());
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/greet.service").unwrap();
    assert!(
        unit.contains(
            "ExecStart=/opt/wrap-test/greet/bin/greet \"ops\" \"100%% of $$USER\"\nEnvironment=\"GREET_MODE=formal\"\nUser=wrap-test-greet\n"
        ),
        "{unit}"
    );
    assert!(
        unit.contains("After=network-online.target local-fs.target\n") && unit.contains("Restart=always\n")
    );
    // Enabled on the first install (`enable_units = "enable"`), by deb-systemd-helper.
    let wants = Path::new("/etc/systemd/system/multi-user.target.wants/greet.service");
    assert!(std::fs::symlink_metadata(wants).is_ok(), "greet.service is not enabled");
    // systemd reads the installed unit without a complaint (its script is there now).
    let verified = tool("systemd-analyze", &["verify", "--man=no", "/usr/lib/systemd/system/greet.service"]);
    assert!(verified.status.success() && text(&verified).trim().is_empty(), "{}", text(&verified));
    assert_eq!(run("/opt/wrap-test/greet/bin/greet", &["ops"], Path::new("/")), "Good morning, ops.\n");
    // greet has no stable path: its package ships the link on PATH.
    assert_eq!(std::fs::read_link("/usr/bin/greet").unwrap(), Path::new("/opt/wrap-test/greet/bin/greet"));
    assert_eq!(run("/usr/bin/greet", &["ops"], Path::new("/")), "Good morning, ops.\n");
    assert_eq!(std::fs::read_to_string(OPERATOR_LOG).unwrap_or_default(), "postinst configure\n");
    std::fs::write("/etc/greet/greet.conf", "salutation = Hi\n").unwrap();
    dpkg(&["-i", greet_1.to_str().unwrap()]); // reinstall: scripts are idempotent
    dpkg(&["-i", greet_2.to_str().unwrap()]);
    // The upgrade's prerm removed the old bytecode, its postinst compiled the new.
    let pycache = Path::new("/opt/wrap-test/greet/lib/python3.11/site-packages/greet/__pycache__");
    assert!(pycache.is_dir() || !Path::new("/usr/bin/python3.11").exists(), "no bytecode after the upgrade");
    assert_eq!(std::fs::read_to_string("/etc/greet/greet.conf").unwrap(), "salutation = Hi\n");
    let status = run("dpkg-query", &["-W", "-f", "${Version}", "wrap-test-greet"], Path::new("/"));
    assert!(status.ends_with("-2"), "{status}");
    dpkg(&["--purge", "wrap-test-greet"]);
    let log = std::fs::read_to_string(OPERATOR_LOG).unwrap_or_default();
    assert!(log.contains("postrm upgrade\n") && log.ends_with("postrm remove\npostrm purge\n"), "{log}");
    for gone in [
        "/opt/wrap-test/greet",
        "/etc/greet",
        "/usr/lib/systemd/system/greet.service",
        "/usr/share/doc/wrap-test-greet",
        "/usr/bin/greet",
        "/etc/systemd/system/multi-user.target.wants/greet.service",
    ] {
        assert!(std::fs::symlink_metadata(gone).is_err(), "{gone} left after purge");
    }
    // Policy keeps the system user; the cleanup removes it.
}
