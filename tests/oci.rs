//! `wrap build --format oci` on the offline example, judged by the real tools: skopeo reads the
//! image and its configuration, umoci unpacks it, and the unpacked root file system runs the
//! service's console script (chroot, as the service user) with the patched output. Two
//! workspaces with two caches give the same bytes. The base image is made from this machine's
//! own Debian packages by tests/fixtures/make-base-image.sh, once per test binary.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Workspace, find, is_root_or_skip, root, run};

/// A base image layout (`with_python`: with the interpreter), made once per test binary.
fn base_image(with_python: bool) -> PathBuf {
    static BASES: std::sync::Mutex<Vec<(bool, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut bases = BASES.lock().unwrap();
    if let Some((_, dir)) = bases.iter().find(|(w, _)| *w == with_python) {
        return dir.clone();
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "oci-base-{}-{}",
        if with_python { "python" } else { "bare" },
        std::process::id()
    ));
    let python =
        run("python3", &["-c", "import sys; print(f'python3.{sys.version_info[1]}')"], Path::new("/"));
    let arg = if with_python { python.trim().to_string() } else { "--without-python".into() };
    run(root().join("tests/fixtures/make-base-image.sh"), &[dir.to_str().unwrap(), &arg], Path::new("/"));
    bases.push((with_python, dir.clone()));
    dir
}

/// The offline example with `[image]` on a copy of `base`, and hello run as a service by a user.
fn workspace(base: &Path) -> Workspace {
    let ws = Workspace::offline_example();
    let copied = Command::new("cp").arg("-a").arg(base).arg(ws.path().join("base")).status().unwrap();
    assert!(copied.success());
    let text = ws.manifest().replacen(
        "[[project]]\nname = \"hello\"\n",
        "[image]\nbase = \"base\"\n\n[[project]]\nname = \"hello\"\nuser = \"wrap-hello\"\nservices = [\"hello\"]\n",
        1,
    );
    let text = text.replacen(
        "[[project]]\nname = \"greet\"",
        "[project.image]\nports = [\"8000\", \"9000/udp\"]\nvolumes = [\"/var/lib/wrap-hello\"]\n\n[[project]]\nname = \"greet\"",
        1,
    );
    ws.write_manifest(&text);
    ws
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn images_are_read_by_skopeo_and_umoci_run_the_service_and_reproduce() {
    let ws = workspace(&base_image(true));
    let artifacts = ws.build_format("oci", "out");
    assert_eq!(artifacts.len(), 3, "{artifacts:?}");
    let hello = find(&artifacts, "wrap-example-hello-1.1.0-1.");
    assert!(hello.to_string_lossy().ends_with(".oci.tar"), "{}", hello.display());
    let reference = format!("oci-archive:{}", hello.display());

    // What skopeo reads: labels, platform, the bundle first on PATH, the base's layer kept.
    let commit = ws.git(&ws.repo("hello"), &["rev-parse", "1.1.0^{commit}"]);
    let inspected = json(&run("skopeo", &["inspect", &reference], ws.path()));
    let labels = &inspected["Labels"];
    assert_eq!(labels["org.opencontainers.image.title"], "wrap-example-hello");
    assert_eq!(labels["org.opencontainers.image.version"], "1.1.0");
    assert_eq!(labels["org.opencontainers.image.revision"], commit.trim());
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
    assert_eq!(labels["org.opencontainers.image.created"], inspected["Created"]);
    assert_eq!(inspected["Os"], "linux");
    let base = json(&run(
        "skopeo",
        &["inspect", &format!("oci:{}:base", ws.path().join("base").display())],
        ws.path(),
    ));
    let layers = inspected["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0], base["Layers"][0]);
    let bin = "/opt/wrap-example/hello-1.1.0/bin";
    assert_eq!(
        inspected["Env"][0],
        format!("PATH={bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    );
    let config = json(&run("skopeo", &["inspect", "--config", &reference], ws.path()));
    // Numeric, for Kubernetes' runAsNonRoot.
    assert_eq!(config["config"]["User"], "100:100");
    assert_eq!(config["config"]["Cmd"], serde_json::json!([format!("{bin}/hello")]));
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert_eq!(config["config"]["ExposedPorts"], serde_json::json!({"8000/tcp": {}, "9000/udp": {}}));
    assert_eq!(config["config"]["Volumes"], serde_json::json!({"/var/lib/wrap-hello": {}}));
    // greet has no service: no Cmd, no user.
    let greet = find(&artifacts, "wrap-example-greet-");
    let greet_config = json(&run(
        "skopeo",
        &["inspect", "--config", &format!("oci-archive:{}", greet.display())],
        ws.path(),
    ));
    assert!(
        greet_config["config"]["Cmd"].is_null() && greet_config["config"]["User"].is_null(),
        "{greet_config}"
    );

    // umoci unpacks the layout; the root file system has the user and runs the service.
    let layout = ws.path().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    run("tar", &["-xf", hello.to_str().unwrap(), "-C", layout.to_str().unwrap()], ws.path());
    let unpacked = ws.path().join("unpacked");
    run(
        "umoci",
        &["unpack", "--image", &format!("{}:1.1.0-1", layout.display()), unpacked.to_str().unwrap()],
        ws.path(),
    );
    let rootfs = unpacked.join("rootfs");
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(passwd.starts_with("root:x:0:0:root:/root:/bin/sh\nnobody:"), "{passwd}");
    let user = passwd.lines().find(|l| l.starts_with("wrap-hello:")).expect("the service user");
    assert_eq!(user, "wrap-hello:x:100:100:wrap-hello:/var/lib/wrap-hello:/usr/sbin/nologin");
    let group = std::fs::read_to_string(rootfs.join("etc/group")).unwrap();
    assert!(group.ends_with("nogroup:x:65534:\nwrap-hello:x:100:\n"), "{group}");
    let runtime = json(&std::fs::read_to_string(unpacked.join("config.json")).unwrap());
    assert_eq!(runtime["process"]["args"], serde_json::json!([format!("{bin}/hello")]));
    assert_eq!(runtime["process"]["user"]["uid"], 100);
    if is_root_or_skip("running the image's root file system with chroot") {
        let out = run(
            "chroot",
            &["--userspec=100:100", rootfs.to_str().unwrap(), &format!("{bin}/hello"), "ops"],
            ws.path(),
        );
        assert_eq!(out, "Hello, ops! (patched)\n");
        let out = run("chroot", &[rootfs.to_str().unwrap(), &format!("{bin}/hello"), "--region"], ws.path());
        assert_eq!(out, "region: RegionOne\n");
    }

    // Another workspace, another cache: the same bytes, so the same digests.
    let again = workspace(&base_image(true));
    let second = again.build_format("oci", "out");
    for artifact in &artifacts {
        let name = artifact.file_name().unwrap();
        let twin = second.iter().find(|p| p.file_name() == Some(name)).unwrap();
        assert_eq!(
            std::fs::read(artifact).unwrap(),
            std::fs::read(twin).unwrap(),
            "{}",
            name.to_string_lossy()
        );
    }
}

#[test]
fn a_base_without_the_interpreter_or_none_at_all_is_refused() {
    let ws = workspace(&base_image(true));
    ws.wrap(&["build", "--format", "oci", "--out", "out", "-p", "tally"]).ok();
    // The base changes to one without Python: the image is not reused, and not written.
    std::fs::remove_dir_all(ws.path().join("base")).unwrap();
    let copied =
        Command::new("cp").arg("-a").arg(base_image(false)).arg(ws.path().join("base")).status().unwrap();
    assert!(copied.success());
    std::fs::remove_dir_all(ws.path().join("out")).unwrap();
    let line = ws.wrap(&["build", "--format", "oci", "--out", "out", "-p", "tally"]).fails(1);
    assert!(line.contains("has no `/usr/bin/python3."), "{line}");
    assert!(!ws.path().join("out").exists() || support::list(&ws.path().join("out")).is_empty());

    // A port that is none, where the manifest says it.
    let good = ws.manifest();
    ws.write_manifest(&good.replacen("\"9000/udp\"", "\"70000\"", 1));
    ws.wrap(&["check"]).fails(1);
    ws.write_manifest(&good.replacen("\"/var/lib/wrap-hello\"", "\"var/lib\"", 1));
    ws.wrap(&["check"]).fails(1);
    ws.write_manifest(&good);

    // No `[image]` at all.
    let text = ws.manifest().replacen("[image]\nbase = \"base\"\n", "", 1);
    ws.write_manifest(&text);
    ws.wrap(&["build", "--format", "oci", "-p", "tally"]).fails(1);
}
