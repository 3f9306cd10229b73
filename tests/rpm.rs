//! `wrap build --format rpm`, judged by the real tools on this Debian machine: `rpm -K` checks
//! every digest, `rpm -qp` and `rpm -qlp --dump` agree with the package model, rpmlint passes
//! with the documented filters, the same input gives the same bytes, and packages install side
//! by side into a temporary rpm root, upgrade keeping an edited config file, and erase.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Workspace, find, run};
use wrap::digest::sha256_hex;

fn rpm(args: &[&str]) -> String {
    let out = Command::new("rpm").args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "rpm {args:?}:\n{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The example with greet given a system user, a service, a command on PATH and RPM-specific
/// dependencies.
fn example_with_services() -> Workspace {
    let ws = Workspace::offline_example();
    ws.greet_keys(
        "user = \"wrap-test-greet\"\nservices = [\"greet\"]\nlinks = [\"greet\"]\nsuggests = [\"jq\"]\nbreaks = [\"wrap-test-greet-old (<< 0.1)\"]\nsystem_dependencies = [\"ca-certificates\"]\n\n[project.rpm]\nsystem_dependencies = [\"ca-certificates-rpm\"]\nprovides = [\"greeter = 1.0\", \"wrap-test-greeter = 1.0\"]\nobsoletes = [\"wrap-test-greeter < 1.0\"]",
    );
    ws
}

#[test]
fn rpm_checks_queries_and_rpmlint_agree_with_the_model() {
    let ws = example_with_services();
    let rpms = ws.build_format("rpm", "out");
    assert_eq!(rpms.len(), 3, "{rpms:?}");
    let greet = find(&rpms, "wrap-example-greet-0.9.0+git20260620.");
    let hello = find(&rpms, "wrap-example-hello-1.1.0-1.");
    let arch = wrap::artifact::Format::Rpm.host_arch();
    assert!(hello.to_string_lossy().ends_with(&format!(".{arch}.rpm")));

    for package in [greet, hello] {
        let checked = rpm(&["-K", package.to_str().unwrap()]);
        assert!(checked.trim_end().ends_with("digests OK"), "{checked}");
    }
    let query = rpm(&[
        "-qp",
        "--queryformat",
        "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{LICENSE}|%{URL}|%{BUILDHOST}|%{BUILDTIME}|%{SUMMARY}\n",
        hello.to_str().unwrap(),
    ]);
    assert_eq!(
        query,
        format!(
            "wrap-example-hello|1.1.0|1|{arch}|Apache-2.0|https://example.invalid/wrap/hello|wrap|1771061400|Says hello: a fixture project for wrap's tests\n"
        )
    );
    let requires = rpm(&["-qp", "--requires", greet.to_str().unwrap()]);
    let header = rpm(&[
        "-qp",
        "--queryformat",
        "Name: %{NAME}\nEpoch: %{EPOCH}\nVersion: %{VERSION}\nRelease: %{RELEASE}\nArch: %{ARCH}\nLicense: %{LICENSE}\nURL: %{URL}\nGroup: %{GROUP}\nPackager: %{PACKAGER}\nVendor: %{VENDOR}\nBuild host: %{BUILDHOST}\nBuild time: %{BUILDTIME}\nSummary: %{SUMMARY}\nDescription:\n%{DESCRIPTION}\n",
        greet.to_str().unwrap(),
    ]);
    let scriptlets = rpm(&["-qp", "--scripts", greet.to_str().unwrap()]);
    insta::with_settings!({filters => vec![
        (r"Arch: \S+", "Arch: [ARCH]"),
        (r"python3\.[0-9]+", "python3.X"),
        (r"GLIBC_[0-9.]+", "GLIBC_X"),
    ]}, {
        insta::assert_snapshot!("greet-header", format!("{header}\nRequires:\n{requires}\n{scriptlets}"));
    });
    for dep in
        ["/usr/bin/python3.11", "/usr/sbin/useradd", "/usr/sbin/update-alternatives", "ca-certificates-rpm"]
    {
        assert!(requires.lines().any(|l| l == dep), "{dep} not in\n{requires}");
    }
    assert!(!requires.contains("ca-certificates\n"), "the Debian name leaked into the rpm:\n{requires}");
    // Suggests as a weak dependency; Breaks, which RPM lacks, as a conflict.
    assert_eq!(rpm(&["-qp", "--suggests", greet.to_str().unwrap()]).trim(), "jq");
    // `[project.rpm]` relations where the RPM names differ: its own provides and obsoletes (what
    // it obsoletes, it provides: rpmlint's `obsolete-not-provided`).
    let provides = rpm(&["-qp", "--provides", greet.to_str().unwrap()]);
    assert!(provides.lines().any(|l| l == "greeter = 1.0"), "{provides}");
    assert_eq!(rpm(&["-qp", "--obsoletes", greet.to_str().unwrap()]).trim(), "wrap-test-greeter < 1.0");
    let conflicts = rpm(&["-qp", "--conflicts", greet.to_str().unwrap()]);
    assert!(conflicts.contains("wrap-test-greet-old < 0.1"), "{conflicts}");
    let scripts = rpm(&["-qp", "--scripts", greet.to_str().unwrap()]);
    // Every value quoted where the scriptlet uses it.
    assert!(scripts.contains("useradd -r -g 'wrap-test-greet' -d /var/lib/'wrap-test-greet'"), "{scripts}");
    assert!(
        scripts.contains("update-alternatives --install '/opt/wrap-example/greet' 'opt-wrap-example-greet'"),
        "{scripts}"
    );
    // The versioned install path has a stable path: /usr/bin/greet follows it as a slave of the
    // group, and the package does not own it.
    assert!(
        scripts.contains(" --slave '/usr/bin/greet' 'opt-wrap-example-greet-greet' '/opt/wrap-example/greet-0.9.0+git20260620."),
        "{scripts}"
    );

    // --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
    let dump = rpm(&["-qlp", "--dump", greet.to_str().unwrap()]);
    let install = "/opt/wrap-example/greet-0.9.0+git20260620.";
    let mut paths = Vec::new();
    for line in dump.lines() {
        let cols: Vec<&str> = line.split(' ').collect();
        let (path, mtime, mode, owner, group, config) =
            (cols[0], cols[2], cols[4], cols[5], cols[6], cols[7]);
        paths.push(path.to_string());
        assert_eq!((owner, group), ("root", "root"), "{line}");
        assert_eq!(mtime, "1781973900", "{line}"); // the pinned commit's time
        let mode = u32::from_str_radix(mode, 8).unwrap();
        assert!(matches!(mode & 0o7777, 0o755 | 0o644 | 0o777), "{line}");
        assert_eq!(config == "1", path == "/etc/greet/greet.conf", "{line}");
        let own_tree = path.starts_with(install)
            || path.starts_with("/etc/greet")
            || path.starts_with("/usr/share/doc/wrap-example-greet")
            || path == "/usr/lib/systemd/system/greet.service";
        assert!(own_tree, "the package owns {path}, outside its own trees");
    }
    for system in
        ["/", "/opt", "/opt/wrap-example", "/etc", "/usr", "/usr/lib/systemd/system", "/usr/share/doc"]
    {
        assert!(!paths.iter().any(|p| p == system), "the package owns system directory {system}");
    }
    assert!(paths.iter().any(|p| p.starts_with(install) && p.ends_with("/bin/greet")));
    assert!(!paths.iter().any(|p| p == "/usr/bin/greet"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("changelog.Debian") || p.contains("lintian")), "{paths:?}");
    // The .rpm ships its bytecode (`bytecode = "build"`, the default), as RPM distributions' Python
    // packages do.
    assert!(paths.iter().any(|p| p.starts_with(install) && p.contains("/greet/__pycache__/")), "{paths:?}");

    // wrap inspect lists the same files.
    let inspection =
        ws.wrap(&["--message-format", "json", "inspect", greet.to_str().unwrap()]).event("inspected");
    let listed: Vec<&str> = inspection["inspection"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(listed, paths);
    assert_eq!(inspection["inspection"]["conffiles"], serde_json::json!(["/etc/greet/greet.conf"]));
    assert_eq!(inspection["inspection"]["build_info"]["project"], "greet");
    assert_eq!(inspection["inspection"]["sbom"]["specVersion"], "1.5");
    assert_eq!(inspection["inspection"]["sbom"]["metadata"]["component"]["name"], "greet");

    // rpmlint: nothing beyond the filters wrap writes beside each package, scoped to its bundle.
    for package in [greet, hello] {
        let filters = format!("{}.rpmlint.toml", package.display());
        let config = std::fs::read_to_string(&filters).unwrap();
        assert!(config.contains("'non-executable-script /opt/wrap-example/"), "{config}");
        let out = Command::new("rpmlint").args(["-c", &filters, package.to_str().unwrap()]).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(report.contains(" 0 errors, 0 warnings"), "rpmlint {}:\n{report}", package.display());
    }
}

#[test]
fn the_same_input_gives_the_same_rpm() {
    let digests = |ws: &Workspace| -> Vec<String> {
        let mut rpms = ws.build_format("rpm", "out");
        rpms.sort();
        rpms.iter().map(|p| sha256_hex(&std::fs::read(p).unwrap())).collect()
    };
    let (a, b) = (Workspace::offline_example(), Workspace::offline_example());
    let first = digests(&a);
    assert_eq!(first.len(), 3);
    assert_eq!(first, digests(&b));
    for ws in [&a, &b] {
        ws.setting("compression = \"zstd\"");
    }
    let zstd = digests(&a);
    assert_eq!(zstd, digests(&b));
    assert_ne!(zstd, first);
    let rpms = a.build_format("rpm", "out");
    assert!(rpm(&["-K", rpms[0].to_str().unwrap()]).contains("digests OK"));
}

#[test]
fn rpms_install_side_by_side_into_a_temporary_root_upgrade_and_erase() {
    let ws = example_with_services();
    let text = ws
        .manifest()
        .replace("package_name = \"wrap-example-{name}\"", "package_name = \"wrap-test-{name}-{version}\"")
        .replace(
            "install_path = \"/opt/wrap-example/{name}-{version}\"",
            "install_path = \"/opt/wrap-test/{name}-{version}\"",
        );
    // greet keeps one name across releases, to be upgraded in place.
    let text = text.replace(
        "ref = \"main\"",
        "ref = \"main\"\npackage_name = \"wrap-test-greet\"\ninstall_path = \"/opt/wrap-test/greet\"",
    );
    ws.write_manifest(&text);
    let first = ws.build_format("rpm", "out11");
    let hello_11 = find(&first, "wrap-test-hello-1.1.0-1.").to_path_buf();
    let greet_1 = find(&first, "wrap-test-greet-").to_path_buf();
    ws.write_manifest(&text.replace("ref = \"1.1.0\"", "ref = \"1.0.0\""));
    let out = ws.wrap(&["build", "--format", "rpm", "--out", "out10", "--project", "hello"]).ok();
    let hello_10 = PathBuf::from(out.trim());
    ws.write_manifest(&text.replace("release = \"1\"", "release = \"2\""));
    let out = ws.wrap(&["build", "--format", "rpm", "--out", "out2", "--project", "greet"]).ok();
    let greet_2 = PathBuf::from(out.trim());

    // Scriptlets would run chrooted in the new root, which has no /bin/sh: leave them out here
    // (their text is checked above).
    let root = ws.path().join("rpmroot");
    let r = root.to_str().unwrap();
    rpm(&["--initdb", "--root", r]);
    let install =
        |package: &Path| rpm(&["-i", "--root", r, "--nodeps", "--noscripts", package.to_str().unwrap()]);
    install(&hello_10);
    install(&hello_11);
    let installed = rpm(&["-qa", "--root", r, "--queryformat", "%{NAME}\n"]);
    let mut names: Vec<&str> = installed.lines().collect();
    names.sort();
    assert_eq!(names, ["wrap-test-hello-1.0.0", "wrap-test-hello-1.1.0"]);
    for version in ["1.0.0", "1.1.0"] {
        let bundle = root.join(format!("opt/wrap-test/hello-{version}"));
        // bin/python links to the host's interpreter; the venv is found from its own place.
        let out = run(bundle.join("bin/python"), &["-m", "hello", "rpm"], ws.path());
        assert_eq!(out, "Hello, rpm! (patched)\n");
        let version_out = run(
            bundle.join("bin/python"),
            &["-c", "import importlib.metadata as m; print(m.version('hello'))"],
            ws.path(),
        );
        assert_eq!(version_out.trim(), version);
    }
    let verify = rpm(&["-V", "--root", r, "--nodeps", "--noscripts", "wrap-test-hello-1.1.0"]);
    assert_eq!(verify, "", "rpm -V found changes:\n{verify}");

    install(&greet_1);
    std::fs::write(root.join("etc/greet/greet.conf"), "salutation = Hi\n").unwrap();
    rpm(&["-U", "--root", r, "--nodeps", "--noscripts", greet_2.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(root.join("etc/greet/greet.conf")).unwrap(), "salutation = Hi\n");
    assert_eq!(rpm(&["-q", "--root", r, "--queryformat", "%{RELEASE}", "wrap-test-greet"]), "2");

    rpm(&["-e", "--root", r, "--nodeps", "--noscripts", "wrap-test-hello-1.1.0"]);
    assert!(!root.join("opt/wrap-test/hello-1.1.0").exists());
    assert!(root.join("opt/wrap-test/hello-1.0.0/bin/hello").exists());
    rpm(&["-e", "--root", r, "--nodeps", "--noscripts", "wrap-test-hello-1.0.0", "wrap-test-greet"]);
    for gone in ["opt/wrap-test/hello-1.0.0", "opt/wrap-test/greet", "usr/share/doc/wrap-test-greet"] {
        assert!(!root.join(gone).exists(), "{gone} left after erase");
    }
    // The edited config file is kept as .rpmsave, as rpm does.
    assert!(root.join("etc/greet/greet.conf.rpmsave").exists() || !root.join("etc/greet").exists());
}

#[test]
fn the_host_format_is_the_default() {
    let Some(native) = wrap::host::native_format() else { return };
    let ws = Workspace::offline_example();
    let out = ws.wrap(&["plan"]).ok();
    assert!(out.starts_with(&format!("formats: {}\n", native.as_str())), "{out}");
}

/// `rpm2cpio PACKAGE | cpio -t`: the payload's names, as rpm's own tools unpack them.
fn cpio_names(package: &Path) -> Vec<String> {
    let script = format!("rpm2cpio '{}' | cpio -t --quiet", package.display());
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

/// The header fields of `package` as the rpm crate reads them, in the order of `QUERY`.
fn crate_fields(package: &Path) -> String {
    let p = ::rpm::Package::open(package).unwrap();
    p.verify_digests().unwrap();
    let m = &p.metadata;
    let deps = |list: Vec<::rpm::Dependency>| {
        let mut out: Vec<String> = list
            .iter()
            .map(|d| if d.version.is_empty() { d.name.clone() } else { format!("{} {}", d.name, d.version) })
            .collect();
        out.sort();
        out.join(",")
    };
    let files: Vec<String> = m
        .get_file_entries()
        .unwrap()
        .iter()
        .map(|f| {
            let digest = f.digest().map(|d| d.to_string()).unwrap_or_default();
            let link = f.linkto().unwrap_or_default();
            let mode = u16::from(f.mode());
            format!("{} {} {} {mode:o} {digest} {link}", f.path().display(), f.size(), f.modified_at().0)
        })
        .collect();
    [
        m.get_name().unwrap().to_string(),
        m.get_version().unwrap().to_string(),
        m.get_release().unwrap().to_string(),
        m.get_arch().unwrap().to_string(),
        m.get_license().unwrap().to_string(),
        m.get_url().unwrap_or("").to_string(),
        m.get_vendor().unwrap().to_string(),
        m.get_packager().unwrap().to_string(),
        m.get_group().unwrap().to_string(),
        m.get_build_host().unwrap().to_string(),
        m.get_build_time().unwrap().to_string(),
        m.get_summary().unwrap().to_string(),
        m.get_description().unwrap().to_string(),
        m.get_payload_compressor().unwrap().to_string(),
        deps(m.get_requires().unwrap()),
        deps(m.get_provides().unwrap()),
        files.join("\n"),
    ]
    .join("\n")
}

/// The same fields as the real rpm reads them.
fn rpm_fields(package: &Path) -> String {
    let p = package.to_str().unwrap();
    let query = "%{NAME}\n%{VERSION}\n%{RELEASE}\n%{ARCH}\n%{LICENSE}\n%|URL?{%{URL}}|\n%{VENDOR}\n%{PACKAGER}\n%{GROUP}\n%{BUILDHOST}\n%{BUILDTIME}\n%{SUMMARY}\n%{DESCRIPTION}\n%{PAYLOADCOMPRESSOR}\n";
    let deps = |flag: &str| {
        let mut out: Vec<String> = rpm(&["-qp", flag, p])
            .lines()
            .map(|l| {
                // `name <= v` as `name <= v`, the crate's `name v` form without the operator.
                let parts: Vec<&str> = l.split(' ').collect();
                if parts.len() == 3 { format!("{} {}", parts[0], parts[2]) } else { l.to_string() }
            })
            .collect();
        out.sort();
        out.join(",")
    };
    // --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
    let files: Vec<String> = rpm(&["-qlp", "--dump", p])
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split(' ').collect();
            let mode = u32::from_str_radix(c[4], 8).unwrap();
            let digest = if mode & 0o170000 == 0o100000 { c[3] } else { "" };
            let link = if c[10] == "X" { "" } else { c[10] };
            format!("{} {} {} {:o} {} {}", c[0], c[1], c[2], mode, digest, link)
        })
        .collect();
    format!(
        "{}{}\n{}\n{}",
        rpm(&["-qp", "--queryformat", query, p]),
        deps("--requires"),
        deps("--provides"),
        files.join("\n")
    )
}

#[test]
fn the_rpm_crate_reads_what_rpm_reads_and_rpm2cpio_unpacks_it() {
    let ws = example_with_services();
    let rpms = ws.build_format("rpm", "out");
    for package in &rpms {
        assert_eq!(crate_fields(package), rpm_fields(package), "{}", package.display());
        let listed: Vec<String> =
            rpm(&["-qlp", package.to_str().unwrap()]).lines().map(|l| format!(".{l}")).collect();
        assert_eq!(cpio_names(package), listed);
    }
}

/// How many gzip members `data` holds.
fn gzip_members(mut data: &[u8]) -> usize {
    use std::io::Read;
    let mut n = 0;
    while !data.is_empty() {
        let mut decoder = flate2::bufread::GzDecoder::new(data);
        std::io::copy(&mut decoder, &mut std::io::sink()).unwrap();
        data = decoder.into_inner();
        n += 1;
        let _ = data.bytes();
    }
    n
}

#[test]
fn every_compression_and_level_round_trips_through_rpm() {
    let ws = Workspace::offline_example();
    for (setting, compressor, flags) in
        [("zstd:3", "zstd", "3"), ("xz:1", "xz", "1"), ("gzip:9", "gzip", "9")]
    {
        ws.setting(&format!("compression = \"{setting}\""));
        let out = ws.wrap(&["build", "--format", "rpm", "--out", setting, "--project", "hello"]).ok();
        let package = PathBuf::from(out.trim());
        let p = package.to_str().unwrap();
        assert!(rpm(&["-K", p]).trim_end().ends_with("digests OK"));
        assert_eq!(
            rpm(&["-qp", "--queryformat", "%{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}", p]),
            format!("{compressor} {flags}")
        );
        let listed: Vec<String> = rpm(&["-qlp", p]).lines().map(|l| format!(".{l}")).collect();
        assert_eq!(cpio_names(&package), listed, "{setting}");
        // Installed into a temporary root, every file as the header says.
        let root = ws.path().join(format!("root-{compressor}"));
        let r = root.to_str().unwrap();
        rpm(&["--initdb", "--root", r]);
        rpm(&["-i", "--root", r, "--nodeps", "--noscripts", p]);
        assert_eq!(rpm(&["-V", "--root", r, "--nodeps", "--noscripts", "wrap-example-hello"]), "");
        ws.write_manifest(&ws.manifest().replace(&format!("compression = \"{setting}\"\n"), ""));
    }
    ws.setting("compression = \"zstd:23\"");
    let stderr = ws.wrap(&["plan"]).fails(1);
    assert!(stderr.contains("compression level `23` of zstd: expected 1..=22"), "{stderr}");
}

/// Writes the .rpm of the tree at `root` (/opt/wrap-test/big) into `out` with the library.
fn pack(root: &Path, out: &Path, compression: &str) -> wrap::error::Result<PathBuf> {
    support::pack_rpm(&support::tree_spec(root, "wrap-test-big", "1"), out, compression, None)
}

#[test]
fn a_payload_of_many_gzip_members_and_zstd_frames_reads_as_one_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let tree = root.join("opt/wrap-test/big");
    std::fs::create_dir_all(&tree).unwrap();
    // 9 MiB that compress only a little (a linear congruential sequence), in three files.
    let mut state = 1u32;
    for name in ["a.bin", "b.bin", "c.bin"] {
        let data: Vec<u8> = (0..3 << 20)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (state >> 24) as u8 & 0x3f
            })
            .collect();
        std::fs::write(tree.join(name), data).unwrap();
    }
    for compression in ["gzip", "zstd:3"] {
        let out = tmp.path().join(compression);
        let package = pack(&root, &out, compression).unwrap();
        let p = package.to_str().unwrap();
        assert!(rpm(&["-K", p]).trim_end().ends_with("digests OK"));
        let read = ::rpm::Package::open(&package).unwrap();
        read.verify_digests().unwrap();
        if compression == "gzip" {
            let members = gzip_members(&read.payload);
            assert!(members >= 4, "{members} gzip member(s)");
        }
        // wrap inspect reads every member (the rpm crate's own decompress_payload stops after
        // the first gzip member), and checks every file's digest.
        let inspection = wrap::package::inspect::inspect(&package).unwrap();
        assert_eq!(inspection.files.iter().filter(|f| f.kind == '-').count(), 3);
        // The header and payload digests, three files', the .sha256 beside the package.
        assert_eq!(inspection.verified, 5);
        let listed: Vec<String> = rpm(&["-qlp", p]).lines().map(|l| format!(".{l}")).collect();
        assert_eq!(cpio_names(&package), listed);
        let target = tmp.path().join(format!("installed-{compression}"));
        let t = target.to_str().unwrap();
        rpm(&["--initdb", "--root", t]);
        rpm(&["-i", "--root", t, "--nodeps", "--noscripts", p]);
        assert_eq!(rpm(&["-V", "--root", t, "--nodeps", "wrap-test-big"]), "");
        for name in ["a.bin", "b.bin", "c.bin"] {
            assert!(
                std::fs::read(target.join("opt/wrap-test/big").join(name)).unwrap()
                    == std::fs::read(tree.join(name)).unwrap()
            );
        }
    }
}

#[test]
fn a_file_over_4_gib_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let tree = root.join("opt/wrap-test/big");
    std::fs::create_dir_all(&tree).unwrap();
    // Sparse: no disk is used.
    let file = std::fs::File::create(tree.join("huge.img")).unwrap();
    file.set_len((4 << 30) + 1).unwrap();
    let out = tmp.path().join("out");
    let error = pack(&root, &out, "gzip").unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot write the rpm of `wrap-test-big`: `/opt/wrap-test/big/huge.img` is 4294967297 bytes, and an .rpm holds files up to 4 GiB"
    );
    assert_eq!(error.exit_code(), 1);
    assert!(
        std::fs::read_dir(&out).map_or(true, |d| d.count() == 0),
        "something was left in {}",
        out.display()
    );
}
