//! Lock, fetch and plan on the offline example: two real git repositories, one pinned to a tag
//! with two patches, one following a branch.

mod support;

use support::{Workspace, git, list};

fn locked_commit(lock: &str, project: &str) -> String {
    let start = lock.find(&format!("name = \"{project}\"")).unwrap();
    let rest = &lock[start..];
    let line = rest.lines().find(|l| l.starts_with("commit = ")).unwrap();
    line.trim_start_matches("commit = ").trim_matches('"').to_string()
}

#[test]
fn lock_then_fetch_locked_gives_patched_checkouts_at_the_recorded_commits() {
    let ws = Workspace::offline_example();
    ws.wrap(&["lock"]).ok();
    let lock = ws.lock_text();

    let hello_tag = git(&ws.repo("hello"), &["rev-parse", "1.1.0^{commit}"]);
    let greet_main = git(&ws.repo("greet"), &["rev-parse", "main"]);
    assert_eq!(locked_commit(&lock, "hello"), hello_tag);
    assert_eq!(locked_commit(&lock, "greet"), greet_main);
    assert!(lock.contains("version = \"1.1.0\""), "{lock}");
    // The branch is past tag 0.9.0; its last commit is dated 2026-06-20.
    let nightly = format!("0.9.0+git20260620.{}", &greet_main[..12]);
    assert!(lock.contains(&format!("version = \"{nightly}\"")), "{lock}");
    for patch in ["0001-Mark-patched-greetings.patch", "0002-Add-region-for-the-operators.patch"] {
        assert!(lock.contains(patch), "{lock}");
    }

    let out = ws.wrap(&["fetch", "--locked"]).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(&fields[..3], ["hello", &hello_tag[..12], "1.1.0"]);
    assert!(fields[3].contains("0001-Mark-patched-greetings.patch, patches/hello/0002"), "{out}");
    let hello = std::path::PathBuf::from(fields[4]);
    assert!(hello.starts_with(ws.cache()), "{out}");
    let fields: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(&fields[..4], ["greet", &greet_main[..12], nightly.as_str(), ""]);
    let greet = std::path::PathBuf::from(fields[4]);

    // The checkouts sit at the pinned commits, patched, with history and tags for pbr.
    assert_eq!(git(&hello, &["rev-parse", "HEAD"]), hello_tag);
    let init = std::fs::read_to_string(hello.join("hello/__init__.py")).unwrap();
    assert!(init.contains("Hello, %s! (patched)"), "{init}");
    let cli = std::fs::read_to_string(hello.join("hello/cli.py")).unwrap();
    assert!(cli.contains("--region"), "{cli}");
    assert_eq!(git(&hello, &["tag", "--list"]), "1.0.0\n1.1.0");
    assert_eq!(git(&hello, &["describe", "--tags"]), "1.1.0");
    assert_eq!(git(&greet, &["rev-parse", "HEAD"]), greet_main);
    assert_eq!(git(&greet, &["status", "--porcelain"]), "");

    // The patched code runs.
    let run = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; sys.path.insert(0, '.'); from hello import greeting; print(greeting('ops'))",
        ])
        .current_dir(&hello)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "Hello, ops! (patched)\n");

    // A second fetch reuses the checkouts.
    let again = ws.wrap(&["fetch", "--locked"]);
    assert_eq!(again.ok(), out);
    assert!(!again.stderr().contains("Fetched"), "{}", again.stderr());
}

#[test]
fn relocking_is_byte_identical_and_a_moved_branch_waits_for_update() {
    let ws = Workspace::offline_example();
    ws.wrap(&["lock"]).ok();
    let first = ws.lock_text();
    let again = ws.wrap(&["lock"]);
    again.ok();
    assert_eq!(ws.lock_text(), first);
    assert!(!again.stderr().contains("Writing"), "{}", again.stderr());

    let old_main = locked_commit(&first, "greet");
    let moved = ws.advance("greet", "main", "NEWS");
    assert_ne!(moved, old_main);
    ws.wrap(&["lock"]).ok();
    assert_eq!(ws.lock_text(), first, "a moved branch must not change the lock");
    ws.wrap(&["fetch", "--locked"]).ok();

    // Updating another project leaves greet where it was.
    ws.wrap(&["lock", "--update", "hello"]).ok();
    assert_eq!(ws.lock_text(), first);

    let update = ws.wrap(&["lock", "--update", "greet"]);
    update.ok();
    let updated = ws.lock_text();
    assert_eq!(locked_commit(&updated, "greet"), moved);
    assert_eq!(locked_commit(&updated, "hello"), locked_commit(&first, "hello"));
    assert!(
        update.stderr().contains(&format!("Locking greet {} -> {}", &old_main[..12], &moved[..12])),
        "{}",
        update.stderr()
    );

    let out = ws.wrap(&["fetch", "--locked", "--project", "greet"]).ok();
    assert!(out.starts_with(&format!("greet\t{}", &moved[..12])), "{out}");
}

#[test]
fn offline_fetch_uses_the_cached_mirrors() {
    let ws = Workspace::offline_example();
    ws.wrap(&["fetch"]).ok();
    // Without the upstream repositories and without checkouts, the mirrors still serve.
    std::fs::remove_dir_all(ws.path().join("repos")).unwrap();
    std::fs::remove_dir_all(ws.cache().join("checkouts")).unwrap();
    let out = ws.wrap(&["fetch", "--locked", "--offline"]).ok();
    assert_eq!(out.lines().count(), 3, "{out}");
    // A project the cache has never seen cannot be fetched offline.
    let mut text = ws.manifest();
    text.push_str("\n[[project]]\nname = \"other\"\ngit = \"repos/other\"\nref = \"main\"\n");
    ws.write_manifest(&text);
    let e = ws.wrap(&["lock", "--offline"]).fails(2);
    assert!(
        e.contains("project `other`: `repos/other` is not in the git cache") || e.contains("project `other`"),
        "{e}"
    );
}

#[test]
fn plan_shows_commits_versions_names_and_paths() {
    let ws = Workspace::offline_example();
    let out = ws.wrap(&["plan", "--format", "tar"]).ok();
    let hello_tag = git(&ws.repo("hello"), &["rev-parse", "1.1.0^{commit}"]);
    assert!(out.starts_with("formats: tar\n"), "{out}");
    let row = out.lines().find(|l| l.starts_with("hello ")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        ["hello", &hello_tag[..12], "1.1.0-1", "wrap-example-hello", "/opt/wrap-example/hello-1.1.0", "2"]
    );

    // --locked needs the closures too, which `wrap lock` resolves.
    ws.wrap(&["lock"]).ok();
    let event = ws.wrap(&["plan", "--locked", "--format", "deb", "--message-format", "json"]).event("plan");
    assert_eq!(event["event"], "plan");
    assert_eq!(event["plan"]["projects"][0]["commit"], hello_tag.as_str());
    assert_eq!(event["plan"]["projects"][1]["name"], "greet");
    assert_eq!(event["plan"]["formats"][0], "deb");
    assert_eq!(event["plan"]["projects"][0]["source_date_epoch"], 1_771_061_400);
}

#[test]
fn failed_patch_leaves_the_cache_clean() {
    let ws = Workspace::offline_example();
    std::fs::write(
        ws.path().join("patches/hello/0002-Add-region-for-the-operators.patch"),
        "--- a/hello/cli.py\n+++ b/hello/cli.py\n@@ -1,3 +1,3 @@\n-this line is not there\n+replacement\n context\n context\n",
    )
    .unwrap();
    let e = ws.wrap(&["fetch"]).fails(1);
    assert!(
        e.starts_with(
            "error: patch `patches/hello/0002-Add-region-for-the-operators.patch` does not apply to hello at "
        ),
        "{e}"
    );
    assert!(e.ends_with(": `hello/cli.py` at line 1"), "{e}");
    let stderr = ws.wrap(&["fetch"]).stderr();
    assert!(
        stderr.contains(
            "  | line 1 of `hello/cli.py` does not match:\n  |   the patch expects `this line is not there`\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: `wrap patch edit hello`"), "{stderr}");
    let checkouts = list(&ws.cache().join("checkouts"));
    assert!(checkouts.iter().all(|p| !p.starts_with("hello/")), "{checkouts:?}");
}

#[test]
fn the_committed_example_lock_is_what_lock_writes_on_any_machine() {
    // make-repos.sh fixes authors and dates, so commit ids (and the lock) are the same everywhere.
    let ws = Workspace::offline_example();
    ws.wrap(&["lock"]).ok();
    let committed = std::fs::read_to_string(support::root().join("manifests/offline/wrap.lock")).unwrap();
    assert_eq!(ws.lock_text(), committed);
}

#[test]
fn git_mirrors_serve_urls_the_lock_keeps_as_written() {
    let ws = Workspace::offline_example();
    let text = ws.manifest().replace("git = \"repos/tally\"", "git = \"http://127.0.0.1:9/wrap/tally\"");
    ws.write_manifest(&text);
    // Without the mirror, the example (offline) cannot reach the URL; with it, a directory on this
    // machine serves it, which offline mode allows.
    let run = ws.wrap(&["lock"]);
    assert_eq!(
        run.fails(2),
        "error: project `tally`: `http://127.0.0.1:9/wrap/tally` is not in the git cache and offline mode is on"
    );
    let mirror = format!("http://127.0.0.1:9/wrap/={}/", ws.path().join("repos").display());
    ws.wrap(&["--git-mirror", &mirror, "lock"]).ok();
    let lock = ws.lock_text();
    assert!(lock.contains("git = \"http://127.0.0.1:9/wrap/tally\""), "{lock}");
    // The environment variable does the same; the longest prefix wins.
    let wrong = "http://127.0.0.1:9/=/nonexistent/";
    let both = format!("{wrong} {mirror}");
    let out = ws.wrap_env(&["fetch", "-p", "tally"], &[("WRAP_GIT_MIRROR", &both)]).ok();
    assert!(out.starts_with("tally\t"), "{out}");
    // The bundle names the URL as written as its origin, not the mirror.
    let artifacts: Vec<std::path::PathBuf> = ws
        .wrap(&["--git-mirror", &mirror, "build", "-p", "tally", "--format", "tar", "--out", "out"])
        .ok()
        .lines()
        .map(Into::into)
        .collect();
    let dir = ws.path().join("unpacked");
    support::untar(&artifacts[0], &dir);
    let info = std::fs::read_to_string(dir.join("wrap-example-tally-2.0.0/.wrap/build-info.json")).unwrap();
    assert!(info.contains("\"git\": \"http://127.0.0.1:9/wrap/tally\""), "{info}");
    let direct =
        std::fs::read_to_string(dir.join(
            "wrap-example-tally-2.0.0/lib/python3.11/site-packages/tally-2.0.0.dist-info/direct_url.json",
        ))
        .unwrap();
    assert!(direct.contains("\"url\":\"http://127.0.0.1:9/wrap/tally\""), "{direct}");
}

#[test]
fn a_gerrit_change_ref_locks_and_fetches_on_demand() {
    let ws = Workspace::offline_example();
    // A review's patch set: a commit no branch or tag reaches, under refs/changes/.
    let repo = ws.repo("hello");
    git(&repo, &["checkout", "-q", "--detach", "1.1.0"]);
    std::fs::write(repo.join("REVIEW"), "under review\n").unwrap();
    git(&repo, &["add", "REVIEW"]);
    git(&repo, &["commit", "-q", "-m", "Under review"]);
    let change = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["update-ref", "refs/changes/01/1/1", &change]);
    git(&repo, &["checkout", "-q", "main"]);
    ws.write_manifest(&ws.manifest().replacen("ref = \"1.1.0\"", "ref = \"refs/changes/01/1/1\"", 1));
    ws.wrap(&["lock"]).ok();
    let plan = ws.wrap(&["--message-format", "json", "plan", "--locked", "--format", "tar"]).event("plan");
    assert_eq!(plan["plan"]["projects"][0]["commit"], change.as_str());
    // With the mirror gone, the locked checkout fetches the ref again by its name.
    std::fs::remove_dir_all(ws.cache().join("git")).unwrap();
    let fetched = ws.wrap(&["--message-format", "json", "fetch", "--locked", "-p", "hello"]).event("fetched");
    assert!(std::path::Path::new(fetched["path"].as_str().unwrap()).join("REVIEW").is_file());
}
