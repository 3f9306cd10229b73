//! Projects as upstream builds them (issue 11), offline, on the fixture `relay`: a pbr.build
//! project that names only its top-level package, tagged `3.1.0.0rc1` and `3.1.0` on one
//! commit. Its wheel must hold what git tracks (subpackages, data, files a patch adds); version
//! overrides reach its own build only; PEP 440 versions order as dpkg and rpm order packages;
//! the verify stage stops a bundle whose entry point cannot import; a missing system library is
//! named with the packages that provide it.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{Workspace, find, run, untar};

const RELAY: &str = r#"[settings]
package_name = "wrap-test-{name}"
install_path = "/opt/wrap-test/{name}-{version}"
side_by_side = false
find_links = ["wheels"]
offline = true

[[project]]
name = "relay"
git = "repos/relay"
ref = "3.1.0.0rc1"
"#;

fn relay() -> Workspace {
    let ws = Workspace::offline_example();
    ws.write_manifest(RELAY);
    ws
}

/// Builds the tarball, unpacks it, and returns the bundle's directory.
fn bundle(ws: &Workspace) -> PathBuf {
    let artifacts = ws.build_tar("out");
    let tarball = find(&artifacts, "wrap-test-relay-");
    let dir = ws.path().join("unpacked");
    untar(tarball, &dir);
    std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path()
}

#[test]
fn a_pbr_build_wheel_holds_what_git_tracks_and_the_final_version_beats_its_candidate() {
    let ws = relay();
    let bundle = bundle(&ws);
    // Both tags are on one commit: the ref names the candidate, the version is the release.
    assert!(bundle.ends_with("wrap-test-relay-3.1.0"), "{}", bundle.display());
    assert!(ws.lock_text().contains("version = \"3.1.0\""), "{}", ws.lock_text());
    let site = bundle.join("lib/python3.11/site-packages/relay");
    // Only `relay` is named in pyproject.toml: these come from git's file list, through pbr.
    for file in ["transport/local.py", "transport/formats/json.py", "data/routes.json"] {
        assert!(site.join(file).is_file(), "{file} is missing from the wheel");
    }
    assert_eq!(run(bundle.join("bin/relay"), &["hi"], ws.path()), "relayed {\"message\": \"hi\"}\n");
    assert_eq!(run(bundle.join("bin/relay"), &["--routes"], ws.path()), "north, south\n");
}

#[test]
fn nightly_and_candidate_versions_come_from_pep440_tags() {
    let ws = relay();
    ws.write_manifest(&RELAY.replace("ref = \"3.1.0.0rc1\"", "ref = \"main\""));
    ws.wrap(&["lock"]).ok();
    let commit = ws.git(&ws.repo("relay"), &["rev-parse", "main"]);
    assert!(
        ws.lock_text().contains(&format!("version = \"3.1.0+git20260820.{}\"", &commit[..12])),
        "{}",
        ws.lock_text()
    );
    // A release candidate alone on a commit: `3.2.0.0rc1` is packaged as `3.2.0~rc1`.
    ws.git(&ws.repo("relay"), &["tag", "3.2.0.0rc1", "main"]);
    ws.wrap(&["lock", "--update", "relay"]).ok();
    assert!(ws.lock_text().contains("version = \"3.2.0.0rc1\""), "{}", ws.lock_text());
    let artifacts = ws.build_format("deb", "out");
    let deb = find(&artifacts, "wrap-test-relay_");
    let version = run("dpkg-deb", &["-f", deb.to_str().unwrap(), "Version"], ws.path());
    assert_eq!(version.trim(), "3.2.0~rc1-1");
}

/// `dpkg --compare-versions` and rpm's own `rpm.vercmp` on two package versions.
fn dpkg_and_rpm_order(a: &str, b: &str) -> (bool, String) {
    let dpkg = Command::new("dpkg").args(["--compare-versions", a, "lt", b]).status().unwrap().success();
    let rpm = Command::new("rpm")
        .args(["--eval", &format!("%{{lua: print(rpm.vercmp(\"{a}\", \"{b}\"))}}")])
        .output()
        .unwrap();
    (dpkg, String::from_utf8_lossy(&rpm.stdout).trim().to_string())
}

#[test]
fn versions_order_in_dpkg_and_rpm_as_pep440_orders_them() {
    let ordered = [
        "31.0.0",
        "33.0.0.0a1",
        "33.0.0.0b1",
        "33.0.0.0b2.dev3",
        "33.0.0.0b2",
        "33.0.0.0rc1",
        "33.0.0.0rc1+git20260901.abcdef012345",
        "33.0.0.0rc2",
        "33.0.0",
        "33.0.0+git20261001.abcdef012345",
        "33.0.0+git20261002.0123456789ab",
        "33.0.0.post1.dev1",
        "33.0.0.post1",
        "33.0.0.post1+git20261101.abcdef012345",
        "33.0.0.post2",
        "33.0.1.dev5",
        "33.0.1",
        "2026.1.0",
    ];
    let versions: Vec<_> = ordered.iter().map(|v| wrap::version::parse(v).unwrap()).collect();
    for pair in versions.windows(2) {
        assert!(pair[0] < pair[1], "PEP 440: {} < {}", pair[0], pair[1]);
        let (a, b) = (
            wrap::version::package_version(&pair[0]).upstream,
            wrap::version::package_version(&pair[1]).upstream,
        );
        let (dpkg, rpm) = dpkg_and_rpm_order(&format!("{a}-1"), &format!("{b}-1"));
        assert!(dpkg, "dpkg orders {a} after {b} (PEP 440: {} < {})", pair[0], pair[1]);
        assert_eq!(rpm, "-1", "rpm orders {a} and {b} as {rpm} (PEP 440: {} < {})", pair[0], pair[1]);
    }
}

#[test]
fn a_file_a_patch_adds_is_in_the_wheel() {
    let ws = relay();
    std::fs::create_dir_all(ws.path().join("patches/relay")).unwrap();
    std::fs::write(
        ws.path().join("patches/relay/0001-Add-a-transport.patch"),
        "diff --git a/relay/transport/carrier.py b/relay/transport/carrier.py\nnew file mode 100644\n--- /dev/null\n+++ b/relay/transport/carrier.py\n@@ -0,0 +1 @@\n+PIGEON = \"coo\"\n",
    )
    .unwrap();
    ws.write_manifest(&format!("{RELAY}patches = [\"patches/relay/0001-Add-a-transport.patch\"]\n"));
    let bundle = bundle(&ws);
    let added = bundle.join("lib/python3.11/site-packages/relay/transport/carrier.py");
    assert_eq!(std::fs::read_to_string(added).unwrap(), "PIGEON = \"coo\"\n");
}

/// Writes an sdist `NAME-VERSION.tar.gz` into the workspace's wheelhouse: `files` are (path
/// inside the sdist's top directory, content).
fn sdist(ws: &Workspace, name: &str, version: &str, files: &[(&str, String)]) {
    let top = ws.path().join(format!("sdist-{name}/{name}-{version}"));
    for (path, content) in files {
        let file = top.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    let tarball = ws.path().join(format!("wheels/{name}-{version}.tar.gz"));
    let parent = top.parent().unwrap();
    run(
        "tar",
        &["-czf", tarball.to_str().unwrap(), "-C", parent.to_str().unwrap(), &format!("{name}-{version}")],
        ws.path(),
    );
}

#[test]
fn a_dependency_built_from_an_sdist_keeps_its_own_version() {
    // A pbr library published only as an sdist (as testresources 2.0.2 is): pbr takes its
    // version from PKG-INFO unless PBR_VERSION says otherwise, so a PBR_VERSION meant for the
    // project would make it 3.1.0 and the installer refuse it.
    let ws = relay();
    sdist(
        &ws,
        "tinypbr",
        "0.5.0",
        &[
            ("PKG-INFO", "Metadata-Version: 2.1\nName: tinypbr\nVersion: 0.5.0\nSummary: A pbr library\n".into()),
            ("setup.cfg", "[metadata]\nname = tinypbr\n\n[files]\npackages = tinypbr\n".into()),
            ("setup.py", "import setuptools\n\nsetuptools.setup(pbr=True)\n".into()),
            (
                "pyproject.toml",
                "[build-system]\nrequires = [\"pbr>=6.0.0\", \"setuptools>=64\"]\nbuild-backend = \"setuptools.build_meta\"\n".into(),
            ),
            ("tinypbr/__init__.py", "".into()),
        ],
    );
    ws.write_manifest(&format!("{RELAY}pip_dependencies = [\"tinypbr==0.5.0\"]\n"));
    let bundle = bundle(&ws);
    let site = bundle.join("lib/python3.11/site-packages");
    assert!(site.join("tinypbr-0.5.0.dist-info").is_dir(), "{:?}", support::list(&site));
    assert!(site.join("relay-3.1.0.dist-info").is_dir());
}

#[test]
fn an_entry_point_that_cannot_import_fails_the_build_unless_skipped() {
    let ws = relay();
    std::fs::create_dir_all(ws.path().join("patches/relay")).unwrap();
    std::fs::write(
        ws.path().join("patches/relay/0001-Name-a-missing-transport.patch"),
        "diff --git a/pyproject.toml b/pyproject.toml\n--- a/pyproject.toml\n+++ b/pyproject.toml\n@@ -21,3 +21,4 @@\n local = \"relay.transport.local:LocalTransport\"\n json = \"relay.transport.formats.json:encode\"\n+pigeon = \"relay.transport.pigeon:Pigeon\"\n \n",
    )
    .unwrap();
    let patched = format!("{RELAY}patches = [\"patches/relay/0001-Name-a-missing-transport.patch\"]\n");
    ws.write_manifest(&patched);
    // The artifacts are written while the bundle is verified: none may be put in place.
    let run = ws.wrap(&["build", "--format", "tar", "--format", "deb", "--out", "out"]);
    assert_eq!(
        run.fails(1),
        "error: project `relay`: entry point `relay.transports:pigeon` does not import: ModuleNotFoundError: No module named 'relay.transport.pigeon'"
    );
    assert!(
        run.stderr().contains("add `relay.transports:pigeon` to the project's `verify_skip`"),
        "{}",
        run.stderr()
    );
    assert!(!ws.path().join("out").exists() || support::list(&ws.path().join("out")).is_empty());

    ws.write_manifest(&format!("{patched}verify_skip = [\"relay.transports:pigeon\"]\n"));
    let run = ws.wrap(&["--message-format", "json", "build", "--format", "tar", "--out", "out"]);
    run.ok();
    let verified = run.event("verified");
    assert_eq!(verified["project"], "relay");
    assert_eq!(verified["verified"]["skipped"], serde_json::json!(["relay.transports:pigeon"]));
    let imported = verified["verified"]["entry_points"].as_array().unwrap();
    for ep in ["console_scripts:relay", "relay.transports:json", "relay.transports:local"] {
        assert!(imported.iter().any(|i| i == ep), "{ep} in {imported:?}");
    }
    assert!(verified["verified"]["files"].as_u64().unwrap() > 10);

    // A later build that fails its verification leaves the last good artifacts as they were,
    // and no temporary beside them.
    let out_files = || -> Vec<(String, Vec<u8>)> {
        let out = ws.path().join("out");
        support::list(&out)
            .into_iter()
            .map(|name| (name.clone(), std::fs::read(out.join(&name)).unwrap()))
            .collect()
    };
    let good = ws.wrap(&["build", "--format", "tar", "--format", "deb", "--out", "out"]).ok();
    let before = out_files();
    assert!(before.iter().any(|(n, _)| n.ends_with(".deb")), "{good}");
    ws.write_manifest(&patched);
    let run = ws.wrap(&["build", "--format", "tar", "--format", "deb", "--out", "out", "--rebuild"]);
    assert!(run.fails(1).contains("`relay.transports:pigeon` does not import"), "{}", run.stderr());
    let after = out_files();
    assert!(
        before.len() > 1 && before == after,
        "the failed build changed {:?}",
        after.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
}

#[test]
fn a_missing_system_library_is_named_with_its_packages() {
    for installer in ["uv", "pip"] {
        // As libvirt-python does before it compiles: ask pkg-config for libvirt.
        let ws = relay();
        sdist(
            &ws,
            "virtbind",
            "1.0",
            &[
                ("PKG-INFO", "Metadata-Version: 2.1\nName: virtbind\nVersion: 1.0\n".into()),
                (
                    "setup.py",
                    "import subprocess, sys\nimport setuptools\n\nprobe = subprocess.run([\"pkg-config\", \"--print-errors\", \"--exists\", \"libvirt\"], capture_output=True, text=True)\nif probe.returncode:\n    sys.stderr.write(probe.stderr)\n    sys.exit(\"libvirt development files are needed\")\nsetuptools.setup(name=\"virtbind\", version=\"1.0\")\n".into(),
                ),
                (
                    "pyproject.toml",
                    "[build-system]\nrequires = [\"setuptools>=64\"]\nbuild-backend = \"setuptools.build_meta\"\n".into(),
                ),
            ],
        );
        ws.write_manifest(&format!(
            "{}pip_dependencies = [\"virtbind==1.0\"]\n",
            RELAY.replace("offline = true", &format!("offline = true\ninstaller = \"{installer}\""))
        ));
        // An empty pkg-config path: libvirt's development files are missing, as on a build
        // machine without libvirt-dev, whatever this machine has.
        let empty = ws.path().join("no-pkgconfig");
        std::fs::create_dir_all(&empty).unwrap();
        let run = ws.wrap_env(
            &["build", "--format", "tar", "--out", "out"],
            &[("PKG_CONFIG_LIBDIR", empty.to_str().unwrap()), ("PKG_CONFIG_PATH", "")],
        );
        let e = run.fails(2);
        assert!(e.starts_with("error: project `relay`: building `virtbind"), "{installer}: {e}");
        assert!(
            e.ends_with("needs libvirt (pkg-config module `libvirt` is missing on this machine)"),
            "{installer}: {e}"
        );
        assert!(
            run.stderr().contains(
                "hint: install `libvirt-dev` (Debian, Ubuntu) or `libvirt-devel` (RPM distributions)"
            ),
            "{installer}: {}",
            run.stderr()
        );
    }
}

#[test]
fn plan_shows_what_bindep_asks_for() {
    let ws = relay();
    let repo = ws.repo("relay");
    std::fs::write(repo.join("bindep.txt"), "gettext\nlibvirt-dev [platform:dpkg]\nlibvirt-devel [platform:rpm]\ngraphviz [doc test]\nwrap-test-not-a-package [platform:dpkg]\n").unwrap();
    ws.git(&repo, &["add", "bindep.txt"]);
    ws.git(&repo, &["commit", "-q", "-m", "Add bindep.txt"]);
    ws.git(&repo, &["tag", "3.3.0"]);
    ws.write_manifest(&RELAY.replace("3.1.0.0rc1", "3.3.0"));
    let plan = ws.wrap(&["plan"]).ok();
    assert!(plan.contains("relay: bindep.txt asks for\n  deb: gettext libvirt-dev wrap-test-not-a-package\n  rpm: gettext libvirt-devel\n"), "{plan}");
    assert!(plan.contains("not installed here: ") && plan.contains("wrap-test-not-a-package"), "{plan}");
}

#[test]
fn exclude_patterns_and_lint_overrides_of_the_manifest() {
    let ws = relay();
    ws.write_manifest(&format!(
        "{}exclude = [\"lib/python*/site-packages/relay/data\", \"bin/activate.*\"]\nlintian_overrides = [\"wrap-test-made-up-tag [opt/wrap-test/*]\"]\nrpmlint_filters = ['made-up-tag /opt/wrap-test/']\n",
        RELAY.replace("[settings]\n", "[settings]\nexclude = [\"**/Activate.ps1\"]\n")
    ));
    let artifacts: Vec<PathBuf> = ws
        .wrap(&["build", "--format", "deb", "--format", "rpm", "--out", "out"])
        .ok()
        .lines()
        .map(Into::into)
        .collect();
    let deb = find(&artifacts, "wrap-test-relay_");
    let contents = run("dpkg-deb", &["--contents", deb.to_str().unwrap()], ws.path());
    for gone in ["relay/data/", "bin/activate.fish", "bin/activate.csh", "bin/Activate.ps1"] {
        assert!(!contents.contains(gone), "{gone} is still in\n{contents}");
    }
    assert!(contents.contains("/bin/activate\n"), "{contents}");
    // The RECORD forgot the files left out: the verify stage found every file it names.
    let record = ws.path().join("x");
    run("dpkg-deb", &["-x", deb.to_str().unwrap(), record.to_str().unwrap()], ws.path());
    let text = std::fs::read_to_string(
        record.join("opt/wrap-test/relay-3.1.0/lib/python3.11/site-packages/relay-3.1.0.dist-info/RECORD"),
    )
    .unwrap();
    assert!(!text.contains("relay/data/routes.json") && text.contains("relay/cli.py"), "{text}");
    let overrides =
        std::fs::read_to_string(record.join("usr/share/lintian/overrides/wrap-test-relay")).unwrap();
    assert!(
        overrides.ends_with(
            "# The manifest's own overrides.\nwrap-test-relay: wrap-test-made-up-tag [opt/wrap-test/*]\n"
        ),
        "{overrides}"
    );
    let rpm = find(&artifacts, "wrap-test-relay-3.1.0-1.");
    let filters = std::fs::read_to_string(format!("{}.rpmlint.toml", rpm.display())).unwrap();
    assert!(
        filters.contains("    # The manifest's own filters.\n    'made-up-tag /opt/wrap-test/',\n]"),
        "{filters}"
    );
    assert!(filters.contains("'non-executable-script /opt/wrap-test/relay-3\\.1\\.0/lib/'"), "{filters}");
}
