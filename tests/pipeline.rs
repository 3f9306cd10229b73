//! `wrap build` as a pipeline step: projects build in parallel, one project's failure does not
//! stop the others (unless --fail-fast), a summary names every project, and JSON output is one
//! object per line with every artifact's path, format, size and sha256.

mod support;

use support::{Workspace, list};
use wrap::manifest::sha256_hex;

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
    assert!(stderr.contains("error: 1 of 2 project(s) failed: greet\n"), "{stderr}");
    assert!(stderr.contains("Summary hello: ok in "), "{stderr}");
    assert!(stderr.contains("Summary greet: failed in "), "{stderr}");
    // stdout lists what was written: hello's bundle, which is complete and verifiable.
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].contains("wrap-example-hello-1.1.0-1.linux-"), "{stdout}");
    ws.wrap(&["inspect", lines[0]]).ok();
    let written = list(&ws.path().join("out"));
    assert_eq!(written.len(), 2, "{written:?}"); // the tarball and its .sha256, nothing of greet
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
    assert!(
        run.stderr().contains("Summary hello: skipped after a failure (--fail-fast)"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stdout(), "");
    assert!(!ws.path().join("out").exists() || list(&ws.path().join("out")).is_empty());
}

#[test]
fn json_output_is_one_object_per_line_with_every_artifact() {
    let ws = Workspace::offline_example();
    let run =
        ws.wrap(&["--message-format", "json", "build", "--format", "tar", "--format", "deb", "--jobs", "2"]);
    let stdout = run.ok();
    let events: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(events.iter().all(|e| e.is_object() && e["event"].is_string()), "{stdout}");
    assert!(events.iter().any(|e| e["event"] == "status" && e["verb"] == "Building"), "{stdout}");
    let summary = events.iter().find(|e| e["event"] == "summary").expect("a summary");
    let projects = summary["projects"].as_array().unwrap();
    assert_eq!(
        projects.iter().map(|p| p["project"].as_str().unwrap()).collect::<Vec<_>>(),
        ["hello", "greet"]
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
            count += 1;
        }
    }
    assert_eq!(count, 4);
    assert_eq!(events.iter().filter(|e| e["event"] == "artifact").count(), 4);
}
