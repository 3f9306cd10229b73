//! `--message-format json` as CI reads it: the committed JSON Schema is the one the event types
//! generate, every command's events are valid under it and end with `finished` (its result and
//! exit code), status and warning events carry the project as a field, and a command line clap
//! refuses exits 1 (input), not 2 (environment).

mod support;

use std::path::Path;

use support::Workspace;

#[test]
fn the_committed_schema_is_the_one_the_event_types_generate() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json");
    let generated = wrap::report::json_schema();
    if std::env::var_os("WRAP_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/events.schema.json is not what the event types generate: run `WRAP_UPDATE_SCHEMA=1 cargo test --test events` and review the difference"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    // Every event type is in it, with the envelope's fields required.
    let text = committed.as_str();
    for event in ["status", "warning", "stage", "plan", "artifact", "error", "summary", "locked", "finished"]
    {
        assert!(text.contains(&format!("\"const\": \"{event}\"")), "no `{event}` event in the schema");
    }
    let required = schema["required"].as_array().cloned().unwrap_or_default();
    for field in ["schema", "time"] {
        assert!(required.iter().any(|r| r == field), "`{field}` is not required: {required:?}");
    }
}

#[test]
fn every_command_writes_valid_events_and_ends_with_its_result() {
    let ws = Workspace::offline_example();
    let lock = ws.wrap(&["--message-format", "json", "lock"]);
    let locked = lock.event("locked");
    assert_eq!(locked["written"], true);
    let projects = locked["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 3);
    assert!(projects.iter().all(|p| p["commit"].as_str().is_some_and(|c| c.len() == 40)), "{locked}");
    // The status lines name their project in a field, not only in the prose.
    let statuses: Vec<_> = lock.events().into_iter().filter(|e| e["event"] == "status").collect();
    assert!(statuses.iter().any(|e| e["verb"] == "Locking" && e["project"] == "hello"), "{statuses:?}");
    // Again, nothing changes: the lock is not written.
    assert_eq!(ws.wrap(&["--message-format", "json", "lock"]).event("locked")["written"], false);

    for args in [&["check"][..], &["plan", "--locked"], &["cache", "info"], &["fetch", "--locked"]] {
        let run = ws.wrap(&[&["--message-format", "json"][..], args].concat());
        run.ok();
        let finished = run.event("finished");
        assert_eq!(finished["command"], args[..args.len().min(2)].join(" ").replace(" --locked", ""));
        assert_eq!((finished["result"].as_str(), finished["exit_code"].as_i64()), (Some("ok"), Some(0)));
        assert!(finished["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{finished}");
    }

    // A build: stages, status lines with project and format as fields, artifacts, the bundle's
    // verification, and the summary with the overall result, exit code and wall time.
    let build =
        ws.wrap(&["--message-format", "json", "build", "--format", "tar", "-p", "hello", "--out", "out"]);
    build.ok();
    let events = build.events();
    let kinds: std::collections::BTreeSet<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for kind in ["status", "stage", "verified", "artifact", "summary", "finished"] {
        assert!(kinds.contains(kind), "no `{kind}` event in {kinds:?}");
    }
    assert!(
        events.iter().any(|e| e["verb"] == "Packaging" && e["project"] == "hello" && e["format"] == "tar")
    );
    let summary = build.event("summary");
    assert_eq!((summary["result"].as_str(), summary["exit_code"].as_i64()), (Some("ok"), Some(0)));
    assert!(summary["seconds"].as_f64().is_some_and(|s| s > 0.0), "{summary}");
    let artifact = build.event("artifact")["artifact"]["path"].as_str().unwrap().to_string();
    assert!(
        ws.wrap(&["--message-format", "json", "inspect", &artifact]).event("inspected")["inspection"]
            .is_object()
    );
    let cleaned = ws.wrap(&["--message-format", "json", "clean", "--all", "--dry-run"]).event("cleaned");
    assert_eq!(cleaned["dry_run"], true);

    // A failure: the error event, then `finished` with the same exit code.
    let run = ws.wrap(&["--message-format", "json", "build", "-p", "nosuch"]);
    assert_eq!(run.code(), Some(1));
    assert_eq!(run.event("error")["exit_code"], 1);
    assert_eq!(run.event("finished")["result"], "failed");
}

#[test]
fn usage_errors_exit_1_and_version_stays_wraps_own() {
    let ws = Workspace::offline_example();
    let run = ws.wrap(&["build", "--no-such-flag"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(run.stderr().contains("unexpected argument '--no-such-flag'"), "{}", run.stderr());
    let version = ws.wrap(&["build", "--version"]);
    assert_eq!(version.code(), Some(1), "`build --version` is no longer the version override");
    let own = ws.wrap(&["--version"]).ok();
    assert!(own.starts_with("wrap "), "{own}");
    // The override is `--set-version`, checked as before.
    let plan = ws.wrap(&["--message-format", "json", "plan", "--set-version", "2026.1.0"]).event("plan");
    assert_eq!(plan["plan"]["projects"][0]["version"], "2026.1.0");
    assert_eq!(ws.wrap(&["plan", "--set-version", "2026.01"]).code(), Some(1));
}
