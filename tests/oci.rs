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
        "[project.image]\nports = [\"8000\", \"9000/udp\"]\nvolumes = [\"/var/lib/wrap-hello\"]\n\n[[project.files]]\ndest = \"/var/lib/{user}\"\ndirectory = true\nowner = \"{user}\"\nmode = \"0750\"\n\n[[project]]\nname = \"greet\"",
        1,
    );
    ws.write_manifest(&text);
    ws
}

/// The image of oci-archive `file` (tagged `1.1.0-1`), unpacked by umoci into `name` in `ws`.
fn unpack(ws: &Workspace, file: &Path, name: &str) -> PathBuf {
    let layout = ws.path().join(format!("{name}-layout"));
    std::fs::create_dir_all(&layout).unwrap();
    run("tar", &["-xf", file.to_str().unwrap(), "-C", layout.to_str().unwrap()], ws.path());
    let unpacked = ws.path().join(name);
    let image = format!("{}:1.1.0-1", layout.display());
    run("umoci", &["unpack", "--image", &image, unpacked.to_str().unwrap()], ws.path());
    unpacked
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

    // `wrap inspect` reads it back: the image's fields, its layer's files and provenance, and
    // every blob checked against its digest (a truncated copy is refused).
    let shown = ws.wrap(&["--message-format", "json", "inspect", hello.to_str().unwrap()]).event("inspected");
    let inspection = &shown["inspection"];
    assert_eq!(inspection["format"], "oci");
    let fields = inspection["fields"].as_array().unwrap();
    for (key, value) in [("Image", "wrap-example-hello:1.1.0-1"), ("User", "100:100"), ("Layers", "2")] {
        assert!(fields.contains(&serde_json::json!([key, value])), "{key}: {fields:?}");
    }
    assert!(inspection["verified"].as_u64().unwrap() >= 4, "{inspection}");
    assert!(inspection["files"].as_array().unwrap().iter().any(|f| f["path"] == "etc/passwd"));
    assert_eq!(inspection["sbom"]["bomFormat"], "CycloneDX");
    let bytes = std::fs::read(hello).unwrap();
    let truncated = ws.path().join("truncated.oci.tar");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    ws.wrap(&["inspect", truncated.to_str().unwrap()]).fails(1);

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
    assert_eq!(config["config"]["WorkingDir"], "/opt/wrap-example/hello-1.1.0");
    // What `docker load` reads of the same file (docker-archive, by its manifest.json): the
    // same configuration, the same layers, the image's name and tag.
    let docker = format!("docker-archive:{}", hello.display());
    assert_eq!(json(&run("skopeo", &["inspect", "--config", &docker], ws.path())), config);
    let copied = ws.path().join("from-docker-archive");
    run("skopeo", &["copy", "-q", &docker, &format!("oci:{}:x", copied.display())], ws.path());
    let docker_layers = json(&run("skopeo", &["inspect", &format!("oci:{}:x", copied.display())], ws.path()));
    assert_eq!(docker_layers["Layers"].as_array().map(Vec::len), Some(2));
    let listed = run("tar", &["-xOf", hello.to_str().unwrap(), "manifest.json"], ws.path());
    assert!(listed.contains("\"RepoTags\":[\"wrap-example-hello:1.1.0-1\"]"), "{listed}");
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
    let unpacked = unpack(&ws, hello, "unpacked");
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
        // The manifest's directory for the service user belongs to it in the image too.
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let state = std::fs::metadata(rootfs.join("var/lib/wrap-hello")).unwrap();
        assert_eq!((state.uid(), state.gid(), state.permissions().mode() & 0o7777), (100, 100, 0o750));
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

/// Debian's docker-registry on 127.0.0.1 with htpasswd authentication (user `ops`), its storage
/// in a temporary directory; stopped when dropped.
struct Registry {
    child: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = run("htpasswd", &["-Bbn", "ops", "s3cret"], dir.path());
        std::fs::write(dir.path().join("htpasswd"), htpasswd).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {0}/data\n\
             http:\n  addr: {address}\n  secret: wrap-test\nauth:\n  htpasswd:\n    realm: wrap-test\n    path: {0}/htpasswd\n",
            dir.path().display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = Command::new("docker-registry")
            .args(["serve", dir.path().join("config.yml").to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
            .spawn()
            .expect("docker-registry (Debian's docker-registry package)");
        let registry = Registry { child, address, _dir: dir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(&registry.address).is_ok() {
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("docker-registry did not listen on {}", registry.address);
    }
}

/// `ops:s3cret` as an auth file holds it (base64).
const TOKEN: &str = "b3BzOnMzY3JldA==";

impl Registry {
    /// An auth file in `dir` as `podman login` writes it, with the credentials for the registry.
    fn auth_file(&self, dir: &Path) -> PathBuf {
        let auth = dir.join("auth.json");
        let text = format!(r#"{{"auths":{{"{}":{{"auth":"{TOKEN}"}}}}}}"#, self.address);
        std::fs::write(&auth, text).unwrap();
        auth
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn push_uploads_what_the_registry_lacks_and_keeps_version_tags() {
    let ws = workspace(&base_image(true));
    let hello = ws
        .build_format("oci", "out")
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("wrap-example-hello-"));
    let hello = hello.unwrap();
    let registry = Registry::start();
    let to = format!("{}/ops", registry.address);
    let file = hello.to_str().unwrap();

    // No credentials: refused, nothing tagged.
    ws.wrap(&["push", "--to", &to, file]).fails(2);

    // Credentials from an auth file as `podman login` writes it; a JSON report.
    let auth = registry.auth_file(ws.path());
    let env = [("REGISTRY_AUTH_FILE", auth.to_str().unwrap())];
    let push = |args: &[&str]| {
        let mut all = vec!["--message-format", "json", "push", "--to", &to];
        all.extend_from_slice(args);
        let pushing = ws.wrap_env(&all, &env);
        pushing.ok();
        pushing.event("pushed")["pushed"][0].clone()
    };
    let first = push(&[file, "--tag", "latest"]);
    let local = json(&run("skopeo", &["inspect", &format!("oci-archive:{file}")], ws.path()));
    assert_eq!(first["digest"], local["Digest"]);
    assert_eq!(first["uploaded"], 3, "{first}"); // the base's layer, the bundle's, the configuration
    assert_eq!(first["present"], 0);
    assert_eq!(first["tags"], serde_json::json!(["1.1.0-1", "latest"]));

    // What the registry serves: the same manifest under both tags, and blobs skopeo can copy.
    let creds = ["--tls-verify=false", "--creds", "ops:s3cret"];
    let remote = format!("docker://{to}/wrap-example-hello");
    for tag in ["1.1.0-1", "latest"] {
        let mut args = vec!["inspect"];
        args.extend(creds);
        let reference = format!("{remote}:{tag}");
        args.push(&reference);
        assert_eq!(json(&run("skopeo", &args, ws.path()))["Digest"], local["Digest"], "{tag}");
    }
    let copied = ws.path().join("copied");
    let (source, dest) = (format!("{remote}:1.1.0-1"), format!("oci:{}:x", copied.display()));
    let mut args = vec!["copy", "--src-tls-verify=false", "--src-creds", "ops:s3cret", &source, &dest];
    args.retain(|a| !a.is_empty());
    run("skopeo", &args, ws.path());
    let copied_digest = json(&run("skopeo", &["inspect", &dest], ws.path()))["Digest"].clone();
    assert_eq!(copied_digest, local["Digest"]);

    // The SBOM and build-info, attached to the image: listed by the referrers tag schema, the
    // artifact's subject is the image, and its layer is the bundle's CycloneDX SBOM.
    let sbom = first["sbom"].as_str().expect("an SBOM artifact").to_string();
    let hex = local["Digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let raw = |reference: &str| {
        let mut args = vec!["inspect", "--raw"];
        args.extend(creds);
        args.push(reference);
        json(&run("skopeo", &args, ws.path()))
    };
    let referrers = raw(&format!("{remote}:sha256-{hex}"));
    assert_eq!(referrers["manifests"][0]["digest"], sbom.as_str(), "{referrers}");
    assert_eq!(referrers["manifests"][0]["artifactType"], "application/vnd.cyclonedx+json");
    let artifact = raw(&format!("{remote}@{sbom}"));
    assert_eq!(artifact["subject"]["digest"], local["Digest"], "{artifact}");
    let layer = &artifact["layers"][0];
    assert_eq!(layer["annotations"]["org.opencontainers.image.title"], "build-info.json", "{artifact}");
    let sbom_layer = &artifact["layers"][1];
    let url = format!(
        "http://{}/v2/ops/wrap-example-hello/blobs/{}",
        registry.address,
        sbom_layer["digest"].as_str().unwrap()
    );
    let body = ureq::get(&url)
        .header("Authorization", &format!("Basic {TOKEN}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(json(&body)["bomFormat"], "CycloneDX");
    assert_eq!(body.len() as u64, sbom_layer["size"].as_u64().unwrap());

    // Again: nothing uploaded.
    let again = push(&[file]);
    assert_eq!((again["uploaded"].as_u64(), again["present"].as_u64()), (Some(0), Some(3)), "{again}");

    // Other bytes under the same version-release: refused, the tag unmoved; moved with --replace.
    let other = ws.path().join("other");
    let rebuilt = ws
        .wrap_env(
            &["build", "--format", "oci", "-p", "hello", "--out", "other"],
            &[("SOURCE_DATE_EPOCH", "1700000000")],
        )
        .ok();
    assert!(rebuilt.contains(".oci.tar"), "{rebuilt}");
    let other_file = support::list(&other).into_iter().find(|f| f.ends_with(".oci.tar")).unwrap();
    let other_file = other.join(other_file);
    let line = ws.wrap_env(&["push", "--to", &to, other_file.to_str().unwrap()], &env).fails(1);
    assert!(line.contains("other bytes"), "{line}");
    let mut args = vec!["inspect"];
    args.extend(creds);
    let reference = format!("{remote}:1.1.0-1");
    args.push(&reference);
    assert_eq!(json(&run("skopeo", &args, ws.path()))["Digest"], local["Digest"]);
    let moved = push(&[other_file.to_str().unwrap(), "--replace"]);
    assert_eq!(moved["replaced"], true);
    assert_eq!(moved["uploaded"], 2, "{moved}"); // the base's layer was there
    assert_ne!(json(&run("skopeo", &args, ws.path()))["Digest"], local["Digest"]);
}

/// `skopeo copy` of layout `dir` to `reference` on `registry`.
fn copy_to(registry: &Registry, dir: &Path, reference: &str) {
    let source = format!("oci:{}", dir.display());
    let dest = format!("docker://{}/{reference}", registry.address);
    let args = ["copy", "-q", "--dest-tls-verify=false", "--dest-creds", "ops:s3cret", &source, &dest];
    run("skopeo", &args, Path::new("/"));
}

#[test]
fn a_registry_base_is_pinned_by_digest_pulled_once_and_makes_the_same_image() {
    let ws = workspace(&base_image(true));
    let hello = |dir: &str| ws.path().join(dir).join("wrap-example-hello-1.1.0-1.amd64.oci.tar");
    let same = |a: &str, b: &str| std::fs::read(hello(a)).unwrap() == std::fs::read(hello(b)).unwrap();
    let build = ["build", "--format", "oci", "-p", "hello", "--locked", "--rebuild", "--out"];
    ws.wrap(&["lock"]).ok();
    ws.wrap(&[&build[..], &["from-layout"]].concat()).ok();

    let registry = Registry::start();
    copy_to(&registry, &ws.path().join("base"), "base/debian-python:12");
    let reference = format!("{}/base/debian-python:12", registry.address);
    let layout_manifest = ws.manifest();
    let text = layout_manifest
        .replacen("base = \"base\"", &format!("base = \"docker://{reference}\""), 1)
        .replacen("offline = true", "offline = false", 1);
    ws.write_manifest(&text);
    // The lock says nothing of it yet.
    let line = ws.wrap(&["check", "--locked"]).fails(1);
    assert!(line.contains("the registry base image changed from `none`"), "{line}");

    // Locked: the digest the tag names, as skopeo reads it.
    let auth = registry.auth_file(ws.path());
    let env = [("REGISTRY_AUTH_FILE", auth.to_str().unwrap())];
    ws.wrap_env(&["lock"], &env).ok();
    let remote = format!("docker://{reference}");
    let inspected =
        json(&run("skopeo", &["inspect", "--tls-verify=false", "--creds", "ops:s3cret", &remote], ws.path()));
    let digest = inspected["Digest"].as_str().unwrap().to_string();
    let lock = ws.lock_text();
    assert!(lock.contains(&format!("[image]\nbase = \"{remote}\"\ndigest = \"{digest}\"\n")), "{lock}");

    // Pulled into the cache and built: the same bytes as from the layout directory.
    let built = ws.wrap_env(&[&build[..], &["from-registry"]].concat(), &env);
    built.ok();
    assert!(built.stderr().contains("Pulling"), "{}", built.stderr());
    assert!(same("from-layout", "from-registry"), "the image from the registry base differs");

    // The tag moves to a base without Python: a locked build does not follow it (nor pulls
    // again), until `wrap lock --update` pins the new digest, which is then refused.
    copy_to(&registry, &base_image(false), "base/debian-python:12");
    let built = ws.wrap_env(&[&build[..], &["moved"]].concat(), &env);
    built.ok();
    assert!(!built.stderr().contains("Pulling"), "{}", built.stderr());
    assert!(same("from-layout", "moved"), "the locked build followed the moved tag");
    // Without credentials the registry refuses to say where the tag is now.
    ws.wrap(&["lock", "--update"]).fails(2);
    ws.wrap_env(&["lock", "--update"], &env).ok();
    assert!(!ws.lock_text().contains(&digest));
    let line = ws.wrap_env(&["build", "--format", "oci", "-p", "hello", "--locked"], &env).fails(1);
    assert!(line.contains("has no `/usr/bin/python3."), "{line}");
}

#[test]
fn a_docker_archive_base_makes_an_image_that_runs() {
    let ws = workspace(&base_image(true));
    // `docker save`'s format, as skopeo writes it: a manifest.json and uncompressed layers.
    let archive = ws.path().join("base.tar");
    let source = format!("oci:{}:base", ws.path().join("base").display());
    let dest = format!("docker-archive:{}:debian-python:12", archive.display());
    run("skopeo", &["copy", "-q", &source, &dest], ws.path());
    ws.write_manifest(&ws.manifest().replacen("base = \"base\"", "base = \"base.tar\"", 1));
    let built = ws.wrap(&["build", "--format", "oci", "-p", "hello", "--out", "out"]).ok();
    let hello = PathBuf::from(built.trim());
    let reference = format!("oci-archive:{}", hello.display());
    let raw = json(&run("skopeo", &["inspect", "--raw", &reference], ws.path()));
    let layers = raw["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{raw}");
    assert_eq!(layers[0]["mediaType"], "application/vnd.oci.image.layer.v1.tar", "{raw}");
    let rootfs = unpack(&ws, &hello, "unpacked").join("rootfs");
    assert!(std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap().contains("\nwrap-hello:x:100:100:"));
    if is_root_or_skip("running the image's root file system with chroot") {
        let bin = "/opt/wrap-example/hello-1.1.0/bin/hello";
        let out = run("chroot", &["--userspec=100:100", rootfs.to_str().unwrap(), bin, "ops"], ws.path());
        assert_eq!(out, "Hello, ops! (patched)\n");
    }
    // A damaged archive is refused, naming it.
    std::fs::write(&archive, b"not a tar").unwrap();
    let line = ws.wrap(&["build", "--format", "oci", "-p", "hello", "--out", "again"]).fails(1);
    assert!(line.contains("base image `base.tar`"), "{line}");
}

#[test]
fn an_image_per_service_shares_the_layers_and_pushes_a_tag_for_each() {
    let ws = workspace(&base_image(true));
    let text =
        ws.manifest().replacen("services = [\"hello\"]", "services = [\"hello\", \"python3\"]", 1).replacen(
            "volumes = [\"/var/lib/wrap-hello\"]\n",
            "volumes = [\"/var/lib/wrap-hello\"]\nper_service = true\n",
            1,
        );
    ws.write_manifest(&text);
    // Only where there are services to run.
    let wrong = text.replacen(
        "[[project]]\nname = \"tally\"",
        "[project.image]\nper_service = true\n\n[[project]]\nname = \"tally\"",
        1,
    );
    ws.write_manifest(&wrong);
    let line = ws.wrap(&["check"]).fails(1);
    assert!(line.contains(":") && line.contains("image.per_service"), "{line}");
    ws.write_manifest(&text);

    let built = ws.wrap(&["build", "--format", "oci", "-p", "hello", "--out", "out"]).ok();
    let file = PathBuf::from(built.trim());
    let bin = "/opt/wrap-example/hello-1.1.0/bin";
    let mut digests = Vec::new();
    for service in ["hello", "python3"] {
        let reference = format!("oci-archive:{}:{service}-1.1.0-1", file.display());
        let config = json(&run("skopeo", &["inspect", "--config", &reference], ws.path()));
        assert_eq!(config["config"]["Cmd"], serde_json::json!([format!("{bin}/{service}")]), "{service}");
        assert_eq!(config["config"]["User"], "100:100");
        let raw = json(&run("skopeo", &["inspect", "--raw", &reference], ws.path()));
        assert_eq!(raw["annotations"]["wrap.service"], service, "{raw}");
        digests.push((
            raw["layers"].clone(),
            json(&run("skopeo", &["inspect", &reference], ws.path()))["Digest"].clone(),
        ));
    }
    assert_eq!(digests[0].0, digests[1].0, "the images share their layers");
    assert_ne!(digests[0].1, digests[1].1);
    let listed = run("tar", &["-xOf", file.to_str().unwrap(), "manifest.json"], ws.path());
    assert!(listed.contains("\"RepoTags\":[\"wrap-example-hello:python3-1.1.0-1\"]"), "{listed}");
    let shown = ws.wrap(&["--message-format", "json", "inspect", file.to_str().unwrap()]).event("inspected");
    let fields = shown["inspection"]["fields"].as_array().unwrap().clone();
    for service in ["hello", "python3"] {
        assert!(fields.contains(&serde_json::json!(["Service", service])), "{fields:?}");
    }

    // Pushed: a tag per service, `--tag latest` per service too; the second image uploads only
    // its configuration (the layers are there), and the registry serves each under its tag.
    let registry = Registry::start();
    let to = format!("{}/ops", registry.address);
    let auth = registry.auth_file(ws.path());
    let pushing = ws.wrap_env(
        &["--message-format", "json", "push", "--to", &to, file.to_str().unwrap(), "--tag", "latest"],
        &[("REGISTRY_AUTH_FILE", auth.to_str().unwrap())],
    );
    pushing.ok();
    let pushed = pushing.event("pushed")["pushed"].clone();
    assert_eq!(pushed[0]["tags"], serde_json::json!(["hello-1.1.0-1", "hello-latest"]), "{pushed}");
    assert_eq!(pushed[1]["tags"], serde_json::json!(["python3-1.1.0-1", "python3-latest"]), "{pushed}");
    assert_eq!(
        (pushed[0]["uploaded"].as_u64(), pushed[1]["uploaded"].as_u64()),
        (Some(3), Some(1)),
        "{pushed}"
    );
    for (n, service) in ["hello", "python3"].iter().enumerate() {
        let reference = format!("docker://{to}/wrap-example-hello:{service}-latest");
        let args = ["inspect", "--tls-verify=false", "--creds", "ops:s3cret", &reference];
        assert_eq!(json(&run("skopeo", &args, ws.path()))["Digest"], digests[n].1, "{service}");
    }

    // The second service's root file system runs its command.
    if is_root_or_skip("running the image's root file system with chroot") {
        let layout = ws.path().join("layout");
        std::fs::create_dir_all(&layout).unwrap();
        run("tar", &["-xf", file.to_str().unwrap(), "-C", layout.to_str().unwrap()], ws.path());
        let unpacked = ws.path().join("python3");
        let image = format!("{}:python3-1.1.0-1", layout.display());
        run("umoci", &["unpack", "--image", &image, unpacked.to_str().unwrap()], ws.path());
        let runtime = json(&std::fs::read_to_string(unpacked.join("config.json")).unwrap());
        let args: Vec<String> = runtime["process"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().into())
            .collect();
        let rootfs = unpacked.join("rootfs");
        let mut chroot = vec!["--userspec=100:100", rootfs.to_str().unwrap()];
        chroot.extend(args.iter().map(String::as_str));
        chroot.extend(["-c", "import hello.cli; print('imported')"]);
        assert_eq!(run("chroot", &chroot, ws.path()), "imported\n");
    }
}
