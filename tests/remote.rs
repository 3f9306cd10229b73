//! The CI matrix and the shared remote cache against real servers on 127.0.0.1: nginx with its
//! WebDAV modules, moto's S3 server and a GCS emulator. Runners are separate workspaces (own
//! checkout, own cache) building their shards of the offline example against one remote; a
//! fourth finds everything there. Damaged, unsigned and tampered remote objects are refused,
//! never shipped, and a server killed in the middle of an upload keeps nothing that reads back
//! as valid.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use support::{Server, Workspace, root};

/// nginx serving `dir/root` over WebDAV: `/cache/` read-write, `/ro/` read-only.
struct Dav {
    server: Server,
    dir: tempfile::TempDir,
}

impl Dav {
    fn start() -> Dav {
        let dir = tempfile::tempdir().unwrap();
        let port = Server::free_port();
        let d = dir.path().display();
        for sub in ["root/cache", "root/ro", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let config = format!(
            "daemon off; user root; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
events {{}}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port};
    root {d}/root;
    location /cache/ {{
      dav_methods PUT DELETE MKCOL COPY MOVE; dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on; dav_access user:rw group:r all:r;
    }}
    location /ro/ {{ dav_ext_methods PROPFIND OPTIONS; }}
  }}
}}
"
        );
        std::fs::write(dir.path().join("nginx.conf"), config).unwrap();
        let server = Dav::serve(dir.path(), port);
        Dav { server, dir }
    }

    fn serve(dir: &Path, port: u16) -> Server {
        let mut nginx = Command::new("nginx");
        nginx.arg("-c").arg(dir.join("nginx.conf")).arg("-e").arg(dir.join("error.log"));
        Server::start(&mut nginx, port, "nginx (Debian's nginx-light and libnginx-mod-http-dav-ext)")
    }

    /// Starts it again, on the same port and files, after it was killed.
    fn restart(&mut self) {
        self.server.stop();
        self.server = Dav::serve(self.dir.path(), self.server.port);
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.server.port)
    }

    /// What the server holds under `/cache/`.
    fn store(&self) -> PathBuf {
        self.dir.path().join("root/cache")
    }
}

/// A runner: the offline example in a workspace of its own with `lock` as its lock file.
fn runner(lock: &str) -> Workspace {
    let ws = Workspace::offline_example();
    std::fs::write(ws.path().join("wrap.lock"), lock).unwrap();
    ws
}

fn build(ws: &Workspace, remote: &str, extra: &[&str], env: &[(&str, &str)]) -> support::Run {
    let mut args = vec!["--remote", remote, "--message-format", "json", "build", "--locked"];
    args.extend(["--format", "tar", "--format", "deb", "--out", "out"]);
    args.extend(extra);
    ws.wrap_env(&args, env)
}

/// Each project's status in a build's summary.
fn statuses(run: &support::Run) -> Vec<(String, String)> {
    let summary = run.event("summary");
    let projects = summary["projects"].as_array().unwrap();
    projects
        .iter()
        .map(|p| (p["project"].as_str().unwrap().into(), p["status"].as_str().unwrap().into()))
        .collect()
}

fn sha256(path: &Path) -> String {
    support::run("sha256sum", &[path.to_str().unwrap()], Path::new("/"))
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

/// The files of `dir` and their sha256, by name.
fn digests(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = support::list(dir)
        .into_iter()
        .filter(|n| !n.ends_with(".sha256"))
        .map(|n| (n.clone(), sha256(&dir.join(&n))))
        .collect();
    out.sort();
    out
}

#[test]
fn three_shards_share_a_webdav_remote_and_a_fourth_runner_builds_nothing() {
    let dav = Dav::start();
    let remote = dav.url("cache/ci");
    let planner = Workspace::offline_example();
    planner.wrap(&["lock"]).ok();
    let lock = planner.lock_text();

    // The matrix: three shards, every project in exactly one.
    let plan =
        planner.wrap(&["--remote", &remote, "plan", "--locked", "--matrix", "github", "--shards", "3"]);
    let matrix: serde_json::Value = serde_json::from_str(plan.ok().trim()).unwrap();
    let include = matrix["include"].as_array().unwrap();
    assert_eq!(include.len(), 3);
    let mut all: Vec<&str> =
        include.iter().flat_map(|j| j["projects"].as_str().unwrap().split(' ')).collect();
    all.sort();
    assert_eq!(all, ["greet", "hello", "tally"]);

    // Three runners build their shards; each uploads what it built.
    for job in include {
        let ws = runner(&lock);
        let run = build(&ws, &remote, &["--shard", job["shard"].as_str().unwrap()], &[]);
        run.ok();
        let built: Vec<String> = statuses(&run).into_iter().map(|(p, s)| format!("{p} {s}")).collect();
        assert_eq!(built, vec![format!("{} ok", job["projects"].as_str().unwrap())], "{}", run.stderr());
    }
    for project in ["hello", "greet", "tally"] {
        assert!(dav.store().join(format!("ci/times/{project}.json")).is_file(), "{project}'s build time");
    }

    // A fourth runner with an empty cache downloads everything: no project is built.
    let fourth = runner(&lock);
    let run = build(&fourth, &remote, &[], &[]);
    run.ok();
    assert!(statuses(&run).iter().all(|(_, s)| s == "reused"), "{:?}", statuses(&run));
    assert!(!run.events().iter().any(|e| e["event"] == "stage" && e["stage"] == "venv"), "no venv stage ran");
    assert_eq!(run.events().iter().filter(|e| e["verb"] == "Downloaded").count(), 6, "{}", run.stdout());

    // Byte for byte what one box builds alone.
    let single = runner(&lock);
    build(&single, "file:///nonexistent-is-not-used", &[], &[]).ok();
    assert_eq!(digests(&fourth.path().join("out")), digests(&single.path().join("out")));

    // A flipped byte in a remote artifact, and a truncated one: refused, rebuilt, replaced.
    let hello_deb = fourth.path().join("out").join("wrap-example-hello_1.1.0-1_amd64.deb");
    let greet_tar = support::list(&fourth.path().join("out"))
        .into_iter()
        .find(|n| n.starts_with("wrap-example-greet-") && n.ends_with(".tar.gz"))
        .unwrap();
    let blob = |path: &Path| dav.store().join("ci/blobs/sha256").join(sha256(path));
    let flipped = blob(&hello_deb);
    let mut bytes = std::fs::read(&flipped).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&flipped, &bytes).unwrap();
    let truncated = blob(&fourth.path().join("out").join(&greet_tar));
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let fifth = runner(&lock);
    let run = build(&fifth, &remote, &[], &[]);
    run.ok();
    let warnings: Vec<String> =
        run.events().iter().filter(|e| e["event"] == "warning").map(|e| e["message"].to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("deb artifact is refused") && w.contains("is damaged")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("tar artifact is refused") && w.contains("is damaged")),
        "{warnings:?}"
    );
    let status = statuses(&run);
    assert!(
        status.contains(&("hello".into(), "ok".into())) && status.contains(&("greet".into(), "ok".into())),
        "{status:?}"
    );
    assert!(status.contains(&("tally".into(), "reused".into())), "{status:?}");
    assert_eq!(
        digests(&fifth.path().join("out")),
        digests(&single.path().join("out")),
        "nothing damaged shipped"
    );
    assert_eq!(
        sha256(&flipped),
        flipped.file_name().unwrap().to_str().unwrap(),
        "the rebuild put the blob back"
    );
    assert_eq!(sha256(&truncated), truncated.file_name().unwrap().to_str().unwrap());

    // The final job publishes what the shards built, from the remote, building nothing.
    let publisher = runner(&lock);
    std::fs::copy(root().join("tests/fixtures/keys/ed25519.asc"), publisher.path().join("key.asc")).unwrap();
    let run = publisher.wrap(&[
        "--remote",
        &remote,
        "publish",
        "--from-remote",
        "--repo",
        "repo",
        "--sign-key",
        "key.asc",
    ]);
    run.ok();
    let debs: Vec<String> =
        support::list(&publisher.path().join("repo")).into_iter().filter(|n| n.ends_with(".deb")).collect();
    assert_eq!(debs.len(), 3, "{debs:?}");
    assert!(run.stderr().contains("Downloaded"), "{}", run.stderr());
}

#[test]
fn a_failing_remote_is_a_warning_unless_required() {
    let dav = Dav::start();
    let ws = Workspace::offline_example();
    ws.wrap(&["lock"]).ok();
    // Writes refused (405): the build succeeds and says so once.
    let run = build(&ws, &dav.url("ro/ci"), &["-p", "hello"], &[]);
    run.ok();
    let warnings: Vec<serde_json::Value> =
        run.events().into_iter().filter(|e| e["event"] == "warning").collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0]["message"].as_str().unwrap().contains("building locally without it"), "{warnings:?}");
    // Nothing listening: the same, quickly; with --remote-required, exit 2.
    let closed = format!("http://127.0.0.1:{}/cache", Server::free_port());
    let fresh = Workspace::offline_example();
    std::fs::write(fresh.path().join("wrap.lock"), ws.lock_text()).unwrap();
    let run = build(&fresh, &closed, &["-p", "hello"], &[]);
    run.ok();
    assert!(run.stderr().is_empty() || !run.stderr().contains("panicked"));
    let run = build(&fresh, &closed, &["-p", "greet", "--remote-required"], &[]);
    let error = run.fails(2);
    assert!(error.contains("remote cache"), "{error}");
    assert!(
        !fresh.path().join("out").read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("greet"))
    );
    // A URL wrap cannot use is bad input.
    let run = ws.wrap(&["--remote", "ftp://example.invalid/x", "build", "--locked"]);
    assert!(run.fails(1).contains("not one of"), "{}", run.stderr());
}

/// The projects whose build said it took pycs from the remote.
fn bytecode_downloads(run: &support::Run) -> Vec<String> {
    let mut projects: Vec<String> = run
        .events()
        .iter()
        .filter(|e| e["verb"] == "Downloaded" && e["detail"].as_str().unwrap_or("").contains("bytecode"))
        .map(|e| e["project"].as_str().unwrap().to_string())
        .collect();
    projects.sort();
    projects
}

#[test]
fn a_fresh_runner_takes_bytecode_from_the_remote_and_refuses_a_damaged_pack() {
    let dav = Dav::start();
    let remote = dav.url("cache/pycs");
    let first = Workspace::offline_example();
    first.wrap(&["lock"]).ok();
    let lock = first.lock_text();
    build(&first, &remote, &[], &[]).ok();
    let store = dav.store().join("pycs/pycs");
    let packs = support::list(&store);
    assert!(!packs.is_empty(), "packs uploaded");

    // A runner with an empty cache that has to build (here: --rebuild) compiles nothing it
    // can fetch, and ships the same bytes.
    let second = runner(&lock);
    let run = build(&second, &remote, &["--rebuild"], &[]);
    run.ok();
    assert_eq!(bytecode_downloads(&run), ["greet", "hello", "tally"], "{}", run.stdout());
    assert_eq!(digests(&second.path().join("out")), digests(&first.path().join("out")));

    // A flipped byte in every pack: each refused with a warning, the pycs compiled, the same
    // bytes shipped, and the packs replaced by sound ones.
    for name in &packs {
        let path = store.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
    }
    let third = runner(&lock);
    let run = build(&third, &remote, &["--rebuild"], &[]);
    run.ok();
    assert!(bytecode_downloads(&run).is_empty(), "{}", run.stdout());
    let warnings: Vec<String> =
        run.events().iter().filter(|e| e["event"] == "warning").map(|e| e["message"].to_string()).collect();
    assert!(!warnings.is_empty() && warnings.iter().all(|w| w.contains("is damaged")), "{warnings:?}");
    assert_eq!(digests(&third.path().join("out")), digests(&first.path().join("out")));
    let fourth = runner(&lock);
    let run = build(&fourth, &remote, &["--rebuild"], &[]);
    assert_eq!(bytecode_downloads(&run), ["greet", "hello", "tally"], "replaced: {}", run.stdout());
}

#[test]
fn a_server_stopped_mid_upload_leaves_nothing_that_reads_back_as_valid() {
    let mut dav = Dav::start();
    let nginx = dav.server.child.id().to_string();
    // The whole server, killed as a power cut would: the master held still so that it starts
    // no new worker, its workers, then the master.
    let proxy = support::cut::CutProxy::start(dav.server.port, move || {
        let _ = Command::new("kill").args(["-STOP", &nginx]).status();
        let _ = Command::new("pkill").args(["-KILL", "-P", &nginx]).status();
        let _ = Command::new("kill").args(["-KILL", &nginx]).status();
    });
    let first = Workspace::offline_example();
    first.wrap(&["lock"]).ok();
    let lock = first.lock_text();
    let run = build(&first, &format!("http://127.0.0.1:{}/cache/cut", proxy.port), &[], &[]);
    run.ok();
    assert!(proxy.fired.load(Ordering::SeqCst), "an upload was cut: {}", run.stdout());
    assert!(statuses(&run).iter().all(|(_, s)| s == "ok"), "{:?}", statuses(&run));
    let warnings: Vec<String> =
        run.events().iter().filter(|e| e["event"] == "warning").map(|e| e["message"].to_string()).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stdout());
    // (It names whatever failed first: the cut blob, or another project's request in flight.)
    assert!(warnings[0].contains("building locally without it"), "{warnings:?}");

    // The server back on the files it had: what it kept under a blob's name is whole. The
    // next runner reuses what was uploaded before the cut (another project's artifacts, when
    // they went first), builds the rest, and heals the remote.
    dav.restart();
    let blobs = dav.store().join("cut/blobs/sha256");
    for name in support::list(&blobs) {
        assert_eq!(sha256(&blobs.join(&name)), name, "a blob the server kept is whole");
    }
    let remote = dav.url("cache/cut");
    let second = runner(&lock);
    let run = build(&second, &remote, &[], &[]);
    run.ok();
    let status = statuses(&run);
    assert!(status.iter().any(|(_, s)| s == "ok"), "the cut project is built again: {status:?}");
    assert!(!run.events().iter().any(|e| e["event"] == "warning"), "{}", run.stdout());
    assert_eq!(digests(&second.path().join("out")), digests(&first.path().join("out")));
    let third = runner(&lock);
    let run = build(&third, &remote, &[], &[]);
    assert!(statuses(&run).iter().all(|(_, s)| s == "reused"), "{:?}", statuses(&run));
    assert_eq!(digests(&third.path().join("out")), digests(&first.path().join("out")));
}

#[test]
fn signed_records_unsigned_and_tampered_ones_are_ignored() {
    let dav = Dav::start();
    let remote = dav.url("cache/signed");
    let first = Workspace::offline_example();
    first.wrap(&["lock"]).ok();
    let lock = first.lock_text();
    let secret = [("WRAP_REMOTE_SECRET", "one secret")];
    build(&first, &remote, &["-p", "hello"], &secret).ok();

    // The same secret: downloaded.
    let run = build(&runner(&lock), &remote, &["-p", "hello"], &secret);
    assert_eq!(statuses(&run), vec![("hello".into(), "reused".into())]);
    // Another secret: refused, built.
    let run = build(&runner(&lock), &remote, &["-p", "hello"], &[("WRAP_REMOTE_SECRET", "another")]);
    assert_eq!(statuses(&run), vec![("hello".into(), "ok".into())]);
    assert!(run.stdout().contains("signature does not match"), "{}", run.stdout());

    // An unsigned record (written without a secret) is refused where a secret is set.
    let unsigned = dav.url("cache/unsigned");
    build(&runner(&lock), &unsigned, &["-p", "greet"], &[]).ok();
    let run = build(&runner(&lock), &unsigned, &["-p", "greet"], &secret);
    assert_eq!(statuses(&run), vec![("greet".into(), "ok".into())]);
    assert!(run.stdout().contains("is not signed"), "{}", run.stdout());

    // A signed record with one field changed (another file's sha256) is refused.
    let records = dav.store().join("signed/artifacts");
    let mut tampered = 0;
    for entry in std::fs::read_dir(&records).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut record: serde_json::Value = serde_json::from_str(&text).unwrap();
        if record["project"] == "hello" {
            record["inputs"]["tampered"] = "yes".into();
            std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
            tampered += 1;
        }
    }
    assert!(tampered >= 2);
    let run = build(&runner(&lock), &remote, &["-p", "hello"], &secret);
    assert_eq!(statuses(&run), vec![("hello".into(), "ok".into())]);
    assert!(run.stdout().contains("signature does not match"), "{}", run.stdout());
}

/// One runner builds the offline example against `remote`, a second with an empty cache finds
/// every artifact there, byte for byte.
fn two_runners_share(remote: &str, env: &[(&str, &str)]) {
    let first = Workspace::offline_example();
    first.wrap(&["lock"]).ok();
    let lock = first.lock_text();
    let run = build(&first, remote, &[], env);
    run.ok();
    assert!(statuses(&run).iter().all(|(_, s)| s == "ok"), "{:?}", statuses(&run));
    assert!(!run.events().iter().any(|e| e["event"] == "warning"), "{}", run.stdout());
    let second = runner(&lock);
    let run = build(&second, remote, &[], env);
    run.ok();
    assert!(statuses(&run).iter().all(|(_, s)| s == "reused"), "{:?}\n{}", statuses(&run), run.stdout());
    assert_eq!(digests(&first.path().join("out")), digests(&second.path().join("out")));
}

#[test]
fn shards_share_an_s3_remote() {
    let dir = tempfile::tempdir().unwrap();
    let port = Server::free_port();
    let mut moto = Command::new("moto_server");
    moto.args(["-H", "127.0.0.1", "-p", &port.to_string()]).current_dir(dir.path());
    let _s3 = Server::start(&mut moto, port, "moto_server (moto[server] from PyPI, installed by .ci/setup)");
    let endpoint = format!("http://127.0.0.1:{port}");
    support::run("curl", &["-sf", "-X", "PUT", &format!("{endpoint}/wrap-cache")], dir.path());
    let env = [
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    two_runners_share("s3://wrap-cache/nightly", &env);
}

#[test]
fn shards_share_a_gcs_remote() {
    let dir = tempfile::tempdir().unwrap();
    let port = Server::free_port();
    // The emulator from PyPI with the ETag header it leaves out of uploads put back
    // (tests/fixtures/gcs-emulator.py), run by the emulator's own interpreter.
    let script = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("gcp-storage-emulator"))
        .find(|p| p.is_file())
        .expect("gcp-storage-emulator (from PyPI, installed by .ci/setup) on PATH");
    let text = std::fs::read_to_string(&script).unwrap();
    let python = text.lines().next().and_then(|l| l.strip_prefix("#!")).unwrap().trim().to_string();
    let mut gcs = Command::new(python);
    gcs.arg(root().join("tests/fixtures/gcs-emulator.py")).arg("-d").arg(dir.path()).current_dir(dir.path());
    gcs.args(["start", "-H", "127.0.0.1", "--port", &port.to_string(), "--default-bucket", "wrapcache"]);
    let _gcs = Server::start(&mut gcs, port, "gcp-storage-emulator (from PyPI, installed by .ci/setup)");
    // A service-account key that points the client at the emulator and signs no tokens: the
    // form object_store reads for emulators.
    let key = serde_json::json!({
        "private_key": "unused",
        "private_key_id": "unused",
        "client_email": "wrap-test@example.invalid",
        "disable_oauth": true,
        "gcs_base_url": format!("http://127.0.0.1:{port}"),
    })
    .to_string();
    // (A bucket name without `-`: the emulator does not decode the `%2D` the client sends.)
    two_runners_share("gs://wrapcache/nightly", &[("GOOGLE_SERVICE_ACCOUNT_KEY", key.as_str())]);
}

/// `check-jsonschema` with one of its vendored schemas (no network) on `file`.
fn schema_valid(schema: &str, file: &Path) {
    let output = Command::new("check-jsonschema")
        .args(["--builtin-schema", schema])
        .arg(file)
        .output()
        .expect("check-jsonschema (from PyPI, installed by .ci/setup)");
    assert!(
        output.status.success(),
        "{} is not a valid {schema}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_ci_examples_and_the_matrices_are_what_the_engines_accept() {
    schema_valid("vendor.github-workflows", &root().join("examples/ci/github-actions.yml"));
    schema_valid("vendor.gitlab-ci", &root().join("examples/ci/gitlab-ci.yml"));

    let ws = Workspace::offline_example();
    let targets = "[[target]]\nname = \"debian-12\"\nruns_on = [\"self-hosted\", \"debian-12\"]\nimage = \"debian:12\"\n\n\
                   [[target]]\nname = \"ubuntu-24.04\"\nruns_on = \"ubuntu-24.04\"\n\n";
    ws.write_manifest(&ws.manifest().replacen("[[project]]", &format!("{targets}[[project]]"), 1));
    ws.wrap(&["lock"]).ok();

    // GitLab: the child pipeline as the engine's schema reads it.
    let gitlab = ws.wrap(&["plan", "--locked", "--matrix", "gitlab", "--shards", "2"]).ok();
    std::fs::write(ws.path().join("builds.yml"), &gitlab).unwrap();
    schema_valid("vendor.gitlab-ci", &ws.path().join("builds.yml"));
    let pipeline: serde_json::Value = serde_json::from_str(&gitlab).unwrap();
    assert_eq!(pipeline["build debian-12"]["tags"], serde_json::json!(["self-hosted", "debian-12"]));
    assert_eq!(
        pipeline["build ubuntu-24.04"]["parallel"]["matrix"][0]["WRAP_SHARD"].as_array().unwrap().len(),
        2
    );

    // GitHub: every key the example workflow reads, and a valid `strategy.matrix` in a workflow.
    let github =
        ws.wrap(&["plan", "--locked", "--matrix", "github", "--shards", "2", "--target", "debian-12"]).ok();
    let matrix: serde_json::Value = serde_json::from_str(github.trim()).unwrap();
    let include = matrix["include"].as_array().unwrap();
    assert_eq!(include.len(), 2, "one target, two shards");
    for job in include {
        for key in ["shard", "label", "projects", "target", "runs_on", "image"] {
            assert!(job.get(key).is_some(), "{key} missing from {job}");
        }
    }
    let workflow = serde_json::json!({
        "on": "push",
        "jobs": { "build": {
            "runs-on": "${{ matrix.runs_on }}",
            "strategy": { "matrix": matrix },
            "steps": [ { "run": "wrap build --locked --shard \"${{ matrix.shard }}\"" } ],
        } },
    });
    std::fs::write(ws.path().join("workflow.yml"), workflow.to_string()).unwrap();
    schema_valid("vendor.github-workflows", &ws.path().join("workflow.yml"));

    // Machine output: the `matrix` event, read through the events' schema.
    let run = ws.wrap(&["--message-format", "json", "plan", "--locked", "--matrix", "json", "--shards", "2"]);
    let event = run.event("matrix");
    assert_eq!(event["matrix"]["jobs"].as_array().unwrap().len(), 4, "two targets, two shards");
    assert!(event["matrix"]["weights"].as_array().unwrap().iter().all(|w| w["source"] == "estimated"));
    let text: serde_json::Value = serde_json::from_str(event["text"].as_str().unwrap()).unwrap();
    assert_eq!(text["shards"], 2);

    // A target the manifest lacks is named.
    let run = ws.wrap(&["plan", "--locked", "--matrix", "--target", "rocky-9"]);
    assert!(run.fails(1).contains("no [[target]] is named `rocky-9`"), "{}", run.stderr());
}
