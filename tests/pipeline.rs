//! `wrap build` as a pipeline step: projects build in parallel, one project's failure does not
//! stop the others (unless --fail-fast), a summary names every project, and JSON output is one
//! object per line with every artifact's path, format, size and sha256. Builds are incremental
//! (unchanged build keys reuse the cached artifacts), safe (interrupted or concurrent builds leave
//! nothing partial) and reproducible across cold and warm caches and checkout directories.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Workspace, find, list, run, untar};
use wrap::digest::sha256_hex;

/// The events of a successful `--message-format json` run, each checked against the schema.
fn events(run: &support::Run) -> Vec<Value> {
    run.ok();
    run.events()
}

/// Project → status from the summary event.
fn statuses(events: &[Value]) -> BTreeMap<String, String> {
    let summary = events.iter().find(|e| e["event"] == "summary").expect("a summary");
    summary["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["project"].as_str().unwrap().to_string(), p["status"].as_str().unwrap().to_string()))
        .collect()
}

/// File name → sha256 of every artifact (not the .sha256 files, nor the rpmlint configuration
/// beside each .rpm) in `dir`.
fn digests(dir: &Path) -> BTreeMap<String, String> {
    list(dir)
        .into_iter()
        .filter(|name| !name.ends_with(".sha256") && !name.ends_with(".rpmlint.toml"))
        .map(|name| {
            let digest = sha256_hex(&std::fs::read(dir.join(&name)).unwrap());
            (name, digest)
        })
        .collect()
}

/// Every file or directory under `dir` named like an unfinished temporary.
fn temporaries(dir: &Path) -> Vec<String> {
    list(dir).into_iter().filter(|p| p.split('/').any(|c| c.starts_with(".wrap-tmp-"))).collect()
}

/// Each artifact in `dir` is complete: its `.sha256` file names its digest.
fn assert_complete(dir: &Path) {
    for (name, digest) in digests(dir) {
        let sum = std::fs::read_to_string(dir.join(format!("{name}.sha256")))
            .unwrap_or_else(|_| panic!("{name} has no .sha256"));
        assert_eq!(sum, format!("{digest}  {name}\n"), "{name} is not what its .sha256 says");
    }
}

/// The offline example with greet broken by a patch that makes its build fail.
fn with_broken_greet() -> Workspace {
    let ws = Workspace::offline_example();
    ws.break_greet();
    ws
}

#[test]
fn one_failing_project_does_not_stop_the_others() {
    let ws = with_broken_greet();
    let run = ws.wrap(&["build", "--format", "tar", "--out", "out", "--jobs", "2"]);
    let e = run.fails(1);
    let log = ws.cache().join("logs/greet.log");
    assert!(e.starts_with("error: project `greet`: "), "{e}");
    assert!(e.ends_with(&format!(" install failed (full log: {})", log.display())), "{e}");
    let stderr = run.stderr();
    assert!(stderr.contains("error: 1 of 3 project(s) failed: greet\n"), "{stderr}");
    assert!(stderr.contains("Summary hello: ok in "), "{stderr}");
    assert!(stderr.contains("Summary greet: failed in "), "{stderr}");
    assert!(stderr.contains("Summary tally: ok in "), "{stderr}");
    // Off a terminal, progress is plain lines: no live-line drawing.
    assert!(!stderr.contains('\r') && !stderr.contains('\x1b'), "{stderr}");
    // stdout lists what was written: hello's and tally's bundles, complete and verifiable.
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains("wrap-example-hello-1.1.0-1.linux-"), "{stdout}");
    assert!(lines[1].contains("wrap-example-tally-2.0.0-1.linux-"), "{stdout}");
    ws.wrap(&["inspect", lines[0]]).ok();
    let written = list(&ws.path().join("out"));
    assert_eq!(written.len(), 4, "{written:?}"); // two tarballs and their .sha256, nothing of greet
    assert_complete(&ws.path().join("out"));
}

#[test]
fn fail_fast_starts_no_further_project() {
    let ws = with_broken_greet();
    // greet first, one job: hello never starts.
    let text = ws.manifest();
    let hello = text.find("[[project]]\nname = \"hello\"").unwrap();
    let greet = text.find("[[project]]\nname = \"greet\"").unwrap();
    ws.write_manifest(&format!("{}{}\n{}", &text[..hello], &text[greet..], &text[hello..greet]));
    let run = ws.wrap(&["build", "--format", "tar", "--out", "out", "--jobs", "1", "--fail-fast"]);
    run.fails(1);
    for skipped in ["hello", "tally"] {
        assert!(
            run.stderr().contains(&format!("Summary {skipped}: skipped after a failure (--fail-fast)")),
            "{}",
            run.stderr()
        );
    }
    assert_eq!(run.stdout(), "");
    assert!(!ws.path().join("out").exists() || list(&ws.path().join("out")).is_empty());
}

#[test]
fn json_output_is_one_object_per_line_with_every_artifact() {
    let ws = Workspace::offline_example();
    let run =
        ws.wrap(&["--message-format", "json", "build", "--format", "tar", "--format", "deb", "--jobs", "2"]);
    let events = events(&run);
    assert!(events.iter().any(|e| e["event"] == "status" && e["verb"] == "Building"));
    // Stage events for every project, in order; within the venv stage, the installer's output
    // lines as its detail.
    for project in ["hello", "greet", "tally"] {
        let details = events
            .iter()
            .filter(|e| e["event"] == "stage" && e["project"] == project && e["detail"].is_string());
        assert!(details.clone().all(|e| e["stage"] == "venv"), "{project}");
        assert!(details.count() > 0, "{project}: no installer progress");
        let stages: Vec<String> = events
            .iter()
            .filter(|e| e["event"] == "stage" && e["project"] == project && e["detail"].is_null())
            .map(|e| match e["format"].as_str() {
                Some(f) => format!("{} {f}", e["stage"].as_str().unwrap()),
                None => e["stage"].as_str().unwrap().to_string(),
            })
            .collect();
        assert_eq!(
            stages,
            ["queued", "fetch", "venv", "relocate", "verify", "package deb", "package tar", "done"],
            "{project}"
        );
    }
    let summary = events.iter().find(|e| e["event"] == "summary").expect("a summary");
    let projects = summary["projects"].as_array().unwrap();
    assert_eq!(
        projects.iter().map(|p| p["project"].as_str().unwrap()).collect::<Vec<_>>(),
        ["hello", "greet", "tally"]
    );
    let mut count = 0;
    for project in projects {
        assert_eq!(project["status"], "ok");
        for artifact in project["artifacts"].as_array().unwrap() {
            let path = artifact["path"].as_str().unwrap();
            let bytes = std::fs::read(path).unwrap();
            assert_eq!(artifact["size"].as_u64().unwrap(), bytes.len() as u64);
            assert_eq!(artifact["sha256"].as_str().unwrap(), sha256_hex(&bytes));
            assert!(["tar", "deb"].contains(&artifact["format"].as_str().unwrap()));
            assert_eq!(artifact["reused"], false);
            count += 1;
        }
    }
    assert_eq!(count, 6);
    assert_eq!(events.iter().filter(|e| e["event"] == "artifact").count(), 6);
    // Each artifact names the project it was built from (not its package).
    for e in events.iter().filter(|e| e["event"] == "artifact") {
        let file = e["artifact"]["path"].as_str().unwrap();
        let project = e["artifact"]["project"].as_str().unwrap();
        assert!(["hello", "greet", "tally"].contains(&project), "{project}");
        assert!(file.contains(&format!("wrap-example-{project}")), "{file} is not {project}'s");
    }
}

#[test]
fn unchanged_builds_reuse_their_artifacts_and_a_changed_patch_rebuilds_one_project() {
    let ws = Workspace::offline_example();
    let out = ws.path().join("out");
    let build = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["--message-format", "json", "build", "--format", "tar", "--format", "deb"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", "out"]);
        events(&ws.wrap(&args))
    };
    let cold = build(&[]);
    assert!(statuses(&cold).values().all(|s| s == "ok"), "{:?}", statuses(&cold));
    let built = digests(&out);
    assert_eq!(built.len(), 6);
    let identity = |name: &str| {
        let m = std::fs::metadata(out.join(name)).unwrap();
        (m.ino(), m.mtime(), m.mtime_nsec())
    };
    let before: Vec<_> = built.keys().map(|n| identity(n)).collect();

    // No-op: every project reused, every file left as it was, the same artifacts reported.
    let noop = build(&[]);
    assert!(statuses(&noop).values().all(|s| s == "reused"), "{:?}", statuses(&noop));
    assert_eq!(before, built.keys().map(|n| identity(n)).collect::<Vec<_>>());
    let reported: Vec<&Value> = noop.iter().filter(|e| e["event"] == "artifact").collect();
    assert_eq!(reported.len(), 6);
    for e in reported {
        let name = Path::new(e["artifact"]["path"].as_str().unwrap()).file_name().unwrap().to_str().unwrap();
        assert_eq!(e["artifact"]["sha256"].as_str(), built.get(name).map(String::as_str));
        assert_eq!(e["artifact"]["reused"], true);
    }
    // No project went past its queue: nothing was fetched, built or packaged.
    assert!(
        !noop
            .iter()
            .any(|e| e["event"] == "stage" && ["fetch", "venv"].contains(&e["stage"].as_str().unwrap()))
    );

    // A lost artifact comes back from the cache, byte for byte, without a build.
    let tally = built.keys().find(|n| n.starts_with("wrap-example-tally_")).unwrap().clone();
    std::fs::remove_file(out.join(&tally)).unwrap();
    std::fs::write(out.join(format!("{tally}.sha256")), "stale").unwrap();
    assert!(statuses(&build(&[])).values().all(|s| s == "reused"));
    assert_eq!(digests(&out), built);
    assert_complete(&out);

    // A comment in the manifest rebuilds nothing, nor does the same wrap build installed
    // elsewhere (another path, another file time).
    ws.write_manifest(&format!("# The operators' notes.\n{}", ws.manifest()));
    assert!(statuses(&build(&[])).values().all(|s| s == "reused"));
    let copy = ws.path().join("bin/wrap");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_wrap"), &copy).unwrap();
    let cmd = ws.command(&["-v", "build", "--format", "tar", "--format", "deb", "--out", "out"], &[]);
    let reinstalled = cmd.get_args().map(|a| a.to_os_string()).collect::<Vec<_>>();
    let output = std::process::Command::new(&copy)
        .args(reinstalled)
        .current_dir(ws.path())
        .env("WRAP_CACHE", ws.cache())
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.matches("Unchanged").count(), 3, "{stderr}");
    assert!(!stderr.contains("Rebuilding"), "{stderr}");

    // One project's setting changed: that project alone is rebuilt, and -v says why.
    ws.write_manifest(
        &ws.manifest()
            .replace("name = \"greet\"\n", "name = \"greet\"\nverify_skip = [\"nothing-by-this-name\"]\n"),
    );
    let verbose = ws.wrap(&["-v", "build", "--format", "tar", "--format", "deb", "--out", "out"]);
    let stderr = verbose.stderr();
    verbose.ok();
    let rebuilding: Vec<&str> = stderr.lines().filter(|l| l.contains("Rebuilding")).map(str::trim).collect();
    assert_eq!(
        rebuilding,
        ["Rebuilding greet as deb: virtualenv changed", "Rebuilding greet as tar: virtualenv changed"],
        "{stderr}"
    );
    let built = digests(&out);

    // One patch changed: hello alone is rebuilt, and its bundle carries the change.
    let patch = ws.path().join("patches/hello/0002-Add-region-for-the-operators.patch");
    let text = std::fs::read_to_string(&patch).unwrap();
    std::fs::write(&patch, text.replace("RegionOne", "RegionTwo")).unwrap();
    let after = build(&[]);
    let status = statuses(&after);
    assert_eq!(status["hello"], "ok");
    let why: Vec<&Value> = after.iter().filter(|e| e["event"] == "rebuilding").collect();
    assert_eq!(why.len(), 2, "{why:?}");
    for e in why {
        assert_eq!(e["project"], "hello");
        assert_eq!(e["why"], serde_json::json!(["patch 0002-Add-region-for-the-operators.patch changed"]));
    }
    assert_eq!((status["greet"].as_str(), status["tally"].as_str()), ("reused", "reused"));
    // Its version-release is unchanged, its bytes are not: said, with both sha256 and the cause.
    let warnings: Vec<&Value> = after.iter().filter(|e| e["event"] == "warning").collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| w["project"] == "hello"), "{warnings:?}");
    let warnings: Vec<&str> = warnings.iter().filter_map(|e| e["message"].as_str()).collect();
    for (warning, file) in warnings.iter().zip(["wrap-example-hello_1.1.0-1_", "wrap-example-hello-1.1.0-1."])
    {
        assert!(warning.starts_with('`') && warning.contains(file), "{warning}");
        assert!(
            warning.contains("other bytes under the same version-release (sha256 ")
                && warning.contains(
                    "; changed: patch 0002-Add-region-for-the-operators.patch changed); raise `release`"
                ),
            "{warning}"
        );
    }
    let now = digests(&out);
    for (name, digest) in &now {
        assert_eq!(name.starts_with("wrap-example-hello"), digest != &built[name], "{name}");
    }
    let hello = out.join(now.keys().find(|n| n.ends_with(".tar.gz") && n.contains("hello")).unwrap());
    let unpacked = ws.path().join("unpacked");
    untar(&hello, &unpacked);
    let region = run(unpacked.join("wrap-example-hello-1.1.0/bin/hello"), &["--region"], &unpacked);
    assert_eq!(region, "region: RegionTwo\n");

    // --rebuild builds everything again, and gives the same bytes.
    let rebuilt = build(&["--rebuild"]);
    assert!(statuses(&rebuilt).values().all(|s| s == "ok"));
    assert!(!rebuilt.iter().any(|e| e["event"] == "warning"), "{rebuilt:?}");
    assert_eq!(digests(&out), now);
}

#[test]
fn every_artifact_reproduces_across_cold_and_warm_caches_and_checkout_directories() {
    let all = ["build", "--format", "tar", "--format", "deb", "--format", "rpm", "--out", "out"];
    let first = Workspace::offline_example();
    first.wrap(&all).ok();
    let cold = digests(&first.path().join("out"));
    assert_eq!(cold.len(), 9, "{cold:?}");

    // Warm: the same workspace, its cache full (mirrors, checkouts, installer cache), built again.
    std::fs::remove_dir_all(first.path().join("out")).unwrap();
    let mut rebuild = all.to_vec();
    rebuild.push("--rebuild");
    first.wrap(&rebuild).ok();
    assert_eq!(digests(&first.path().join("out")), cold);

    // Each build leaves its source tree for the next, without what the build added (pbr's
    // AUTHORS and ChangeLog, egg-info, build/). Whatever happened to a kept tree, the next build
    // makes it the checkout's tree again: a file changed, one added inside a package (that
    // setuptools would ship), a mode changed, a file replaced by a directory, one removed.
    let trees = first.cache().join("trees");
    let greet = trees.join("greet");
    let kept = list(&greet);
    assert!(kept.iter().any(|p| p == "greet/__init__.py"), "{kept:?}");
    for added in ["AUTHORS", "ChangeLog", "build", "greet.egg-info"] {
        assert!(!kept.iter().any(|p| p.starts_with(added)), "{added} kept in {kept:?}");
    }
    std::fs::write(greet.join("greet/__init__.py"), "raise SystemExit('tampered')\n").unwrap();
    std::fs::write(greet.join("greet/stray.py"), "STRAY = 1\n").unwrap();
    std::fs::set_permissions(greet.join("setup.cfg"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_file(greet.join("README.rst")).unwrap();
    std::fs::create_dir_all(greet.join("README.rst/inside")).unwrap();
    std::fs::remove_file(greet.join("setup.py")).unwrap();
    let hello = trees.join("hello");
    std::fs::write(hello.join("hello/cli.py"), "").unwrap();
    first.wrap(&rebuild).ok();
    assert_eq!(digests(&first.path().join("out")), cold);
    assert!(!greet.join("greet/stray.py").exists());

    // Another checkout directory, building with the first one's warm cache.
    let second = Workspace::offline_example();
    assert_ne!(first.path(), second.path());
    let cache = first.cache();
    second.wrap_env(&rebuild, &[("WRAP_CACHE", cache.to_str().unwrap())]).ok();
    assert_eq!(digests(&second.path().join("out")), cold);
}

/// Starts `wrap build` of every format in the background, with `extra` arguments.
fn spawn_build(ws: &Workspace, out: &str, extra: &[&str]) -> std::process::Child {
    let mut args =
        vec!["build", "--format", "tar", "--format", "deb", "--format", "rpm", "--jobs", "2", "--out", out];
    args.extend_from_slice(extra);
    ws.command(&args, &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// The command lines of running processes that name `path`.
fn processes_naming(path: &Path) -> Vec<String> {
    let needle = path.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

/// Polls every millisecond until `ready` holds (true) or `child` has ended (false).
fn wait_for(child: &mut std::process::Child, ready: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if ready() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the build neither ended nor got there");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn an_interrupted_build_leaves_nothing_partial_and_no_stale_lock() {
    let ws = Workspace::offline_example();
    let out = ws.path().join("out");
    let mut interrupted = Vec::new();
    // Interrupt while a checkout is written, while a virtualenv is built, while an artifact is
    // written: whatever was under way, nothing partial may stay.
    use nix::sys::signal::Signal::{SIGINT, SIGTERM};
    let moments = [(SIGINT, "cache/checkouts"), (SIGTERM, "cache/tmp"), (SIGINT, "out"), (SIGTERM, "out")];
    for (signal, dir) in moments {
        let _ = std::fs::remove_dir_all(ws.cache().join("checkouts"));
        let mut child = spawn_build(&ws, "out", &["--rebuild"]);
        let watched = ws.path().join(dir);
        if !wait_for(&mut child, || !temporaries(&watched).is_empty()) {
            child.wait().unwrap();
            continue; // the build was quicker than the polling: nothing to interrupt this time
        }
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{signal} in {dir}: {stderr}");
        assert!(stderr.contains("error: interrupted"), "{stderr}");
        assert_eq!(temporaries(&out), Vec::<String>::new(), "{signal} in {dir}");
        assert_eq!(temporaries(&ws.cache()), Vec::<String>::new(), "{signal} in {dir}");
        if out.exists() {
            assert_complete(&out);
        }
        // The installer the build ran was stopped with it.
        let running = processes_naming(&ws.cache());
        assert!(running.is_empty(), "left running: {running:?}");
        interrupted.push(dir);
    }
    assert!(interrupted.contains(&"cache/tmp"), "never caught a build under way: {interrupted:?}");
    // No lock is left held: the next build does not wait, and completes.
    let run = ws.wrap(&["build", "--format", "tar", "--format", "deb", "--format", "rpm", "--out", "out"]);
    run.ok();
    assert!(!run.stderr().contains("Waiting"), "{}", run.stderr());
    assert_eq!(digests(&out).len(), 9);
    assert_complete(&out);
}

#[test]
fn two_builds_sharing_one_cache_both_succeed() {
    let ws = Workspace::offline_example();
    // Two processes at once, one cache, two output directories; then two into the same one.
    for outs in [["a", "b"], ["c", "c"]] {
        let first = spawn_build(&ws, outs[0], &[]);
        let second = spawn_build(&ws, outs[1], &[]);
        for child in [first, second] {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        }
    }
    let a = digests(&ws.path().join("a"));
    assert_eq!(a.len(), 9);
    for dir in ["a", "b", "c"] {
        assert_eq!(digests(&ws.path().join(dir)), a, "{dir}");
        assert_complete(&ws.path().join(dir));
        assert_eq!(temporaries(&ws.path().join(dir)), Vec::<String>::new());
    }
    assert_eq!(temporaries(&ws.cache()), Vec::<String>::new());
    // The cache is sound: a third build reuses every artifact.
    let events = events(&ws.wrap(&[
        "--message-format",
        "json",
        "build",
        "--format",
        "tar",
        "--format",
        "deb",
        "--format",
        "rpm",
        "--out",
        "a",
    ]));
    assert!(statuses(&events).values().all(|s| s == "reused"));
}

#[test]
fn a_terminal_gets_live_lines_per_project() {
    let ws = Workspace::offline_example();
    // A pseudo-terminal from Python's pty module; wrap's stderr and stdout go to it.
    let script = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";
    let wrap = env!("CARGO_BIN_EXE_wrap");
    let output = Command::new("python3")
        .args(["-c", script, wrap, "build", "--format", "tar", "--out", "out"])
        .current_dir(ws.path())
        .env("WRAP_CACHE", ws.cache())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    for project in ["hello", "greet", "tally"] {
        for stage in ["queued", "venv", "package tar"] {
            let line = format!("{project:<20} {stage}");
            assert!(text.contains(&line), "no `{line}` in:\n{text}");
        }
        assert!(text.contains(&format!("Summary {project}: ok in ")), "{text}");
    }
    assert!(text.contains('\r'), "live lines are redrawn in place");
    // -q: nothing but the artifact paths.
    let output = Command::new("python3")
        .args(["-c", script, wrap, "-q", "build", "--format", "tar", "--out", "out"])
        .current_dir(ws.path())
        .env("WRAP_CACHE", ws.cache())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines.iter().all(|l| l.trim_end().ends_with(".tar.gz")), "{text}");
}

#[test]
fn cache_info_and_clean() {
    let ws = Workspace::offline_example();
    let artifacts: Vec<PathBuf> =
        ws.wrap(&["build", "--format", "tar", "--out", "out"]).ok().lines().map(PathBuf::from).collect();
    let info = events(&ws.wrap(&["--message-format", "json", "cache", "info"]));
    let usage = &info[0]["usage"];
    assert_eq!(usage["root"], ws.cache().to_str().unwrap());
    let count = |name: &str| -> u64 {
        let c = usage["categories"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
        c["entries"].as_u64().unwrap()
    };
    assert_eq!((count("git"), count("checkouts"), count("artifacts")), (3, 3, 3));
    assert!(count("pyc") >= 3, "every project's modules are compiled once and kept");
    assert!(usage["bytes"].as_u64().unwrap() > 0);
    let human = ws.wrap(&["cache", "info"]).ok();
    assert!(human.starts_with(&format!("cache: {}\n", ws.cache().display())), "{human}");

    // Nothing is older than a day; the dry run removes nothing.
    let kept = ws.wrap(&["clean", "--older-than", "1d"]).ok();
    assert_eq!(kept, "removed 0 entries, 0 B\n");
    let dry = ws.wrap(&["clean", "--all", "--dry-run"]).ok();
    assert!(dry.contains("would remove "), "{dry}");
    assert!(ws.cache().join("artifacts").read_dir().unwrap().count() == 3);
    // Everything goes with --all; the next build fetches and builds again, to the same bytes.
    ws.wrap(&["clean", "--all"]).ok();
    assert_eq!(count_entries(&ws.cache()), 0, "{:?}", list(&ws.cache()));
    let again = events(&ws.wrap(&["--message-format", "json", "build", "--format", "tar", "--out", "out"]));
    assert!(statuses(&again).values().all(|s| s == "ok"));
    let hello = find(&artifacts, "wrap-example-hello-");
    assert_eq!(digests(&ws.path().join("out")).len(), 3);
    assert!(hello.exists());

    let bad = ws.wrap(&["clean", "--older-than", "soon"]);
    assert_eq!(bad.code(), Some(1));
    assert!(bad.stderr().contains("`soon` is not an age like 30d, 12h or 2w"), "{}", bad.stderr());
}

/// Files under `cache` other than lock files.
fn count_entries(cache: &Path) -> usize {
    list(cache).iter().filter(|p| !p.starts_with("locks") && cache.join(p).is_file()).count()
}

#[test]
fn logs_written_to_a_file_carry_no_colour_escapes() {
    let ws = Workspace::offline_example();
    for (color, escapes) in [(None, false), (Some("always"), true)] {
        let mut args = vec!["-v", "build", "--format", "tar", "-p", "tally", "--rebuild"];
        if let Some(when) = color {
            args.extend(["--color", when]);
        }
        // stderr is a pipe here, as `wrap -v build 2>log` makes it, and NO_COLOR is unset.
        let out = ws.command(&args, &[]).env_remove("NO_COLOR").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("DEBUG"), "{stderr}");
        assert_eq!(stderr.contains('\x1b'), escapes, "{color:?}: {stderr}");
    }
}
