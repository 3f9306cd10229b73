//! The patch workflow: `wrap patch edit` makes a checkout with the patch queue as commits,
//! `wrap patch refresh` writes the commits back (an unchanged queue byte-identical, a new
//! commit a new file in the manifest's list), a patch that does not apply stops the edit with
//! its rejected hunks in the tree and `--continue` goes on; `fetch` names the line that does not
//! match and the hint names `wrap patch edit`, and the ref only when this run moved it.

mod support;

use std::path::Path;

use support::{Workspace, git};

const SECOND: &str = "patches/hello/0002-Add-region-for-the-operators.patch";

fn log(dir: &Path) -> Vec<String> {
    git(dir, &["log", "--format=%s", "59919ed2f4e3e9c21fa9235e2baa2ede053bdd52..HEAD"])
        .lines()
        .rev()
        .map(String::from)
        .collect()
}

#[test]
fn edit_then_refresh_round_trips_and_adds_a_commit_as_a_patch() {
    let ws = Workspace::offline_example();
    let run = ws.wrap(&["--message-format", "json", "patch", "edit", "hello"]);
    let event = run.event("patch_checkout");
    let dir = ws.path().join(".wrap/patch/hello");
    assert_eq!(event["dir"], dir.to_str().unwrap());
    assert_eq!(log(&dir), ["Mark patched greetings", "Add --region for the operators"]);
    // The commits carry the patches' authors and dates.
    assert_eq!(
        git(&dir, &["log", "-1", "--format=%an <%ae> %ad", "--date=iso-strict"]),
        "Cloud Ops <ops@example.com> 2026-03-02T10:00:00Z"
    );
    // The tree is what `wrap fetch` builds from.
    let fetched = ws.wrap(&["--message-format", "json", "fetch", "-p", "hello"]).event("fetched");
    let checkout = Path::new(fetched["path"].as_str().unwrap());
    assert_eq!(
        std::fs::read(dir.join("hello/cli.py")).unwrap(),
        std::fs::read(checkout.join("hello/cli.py")).unwrap()
    );
    // A second edit into the same directory is refused.
    assert!(ws.wrap(&["patch", "edit", "hello"]).fails(1).contains("exists already"));

    // The first refresh writes the stable form; the second changes no byte.
    ws.wrap(&["patch", "refresh", "hello"]).ok();
    let first = std::fs::read(ws.path().join(SECOND)).unwrap();
    let text = String::from_utf8(first.clone()).unwrap();
    assert!(text.starts_with("From 0000000000000000000000000000000000000000 "), "{text}");
    assert!(text.contains("Subject: [PATCH] Add --region for the operators\n"), "{text}");
    let manifest = ws.manifest();
    let again =
        ws.wrap(&["--message-format", "json", "patch", "refresh", "hello"]).event("patches_refreshed");
    assert!(again["files"].as_array().unwrap().iter().all(|f| f["state"] == "unchanged"), "{again}");
    assert_eq!(std::fs::read(ws.path().join(SECOND)).unwrap(), first);
    assert_eq!(ws.manifest(), manifest);

    // An operator's commit becomes the third patch, listed in the manifest; fetch applies it.
    std::fs::write(dir.join("hello/ops.txt"), "carried by ops\n").unwrap();
    git(&dir, &["add", "hello/ops.txt"]);
    git(&dir, &["commit", "-q", "-m", "Carry the ops note"]);
    ws.wrap(&["patch", "refresh", "hello"]).ok();
    let manifest = ws.manifest();
    assert!(manifest.contains("    \"patches/hello/0003-Carry-the-ops-note.patch\",\n]"), "{manifest}");
    assert!(manifest.starts_with("# An offline example"), "the manifest's comments stay");
    let fetched = ws.wrap(&["--message-format", "json", "fetch", "-p", "hello"]).event("fetched");
    let checkout = Path::new(fetched["path"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(checkout.join("hello/ops.txt")).unwrap(), "carried by ops\n");

    // Uncommitted work is never written back half done.
    std::fs::write(dir.join("hello/cli.py"), "changed\n").unwrap();
    assert!(ws.wrap(&["patch", "refresh", "hello"]).fails(1).contains("has changes not committed"));
}

#[test]
fn a_patch_that_does_not_apply_stops_the_edit_and_continue_goes_on() {
    let ws = Workspace::offline_example();
    // The second patch's context no longer matches the code.
    let path = ws.path().join(SECOND);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(" def main(argv=None):", " def main(args=None):")).unwrap();

    // fetch says which line does not match, and points at `wrap patch edit`; the ref did not
    // move, so the hint does not say it did.
    let run = ws.wrap(&["fetch", "-p", "hello"]);
    run.fails(1);
    let stderr = run.stderr();
    assert!(stderr.contains("  | line 10 of `hello/cli.py` does not match:\n  |   the patch expects `def main(args=None):`\n  |   the file has      `def main(argv=None):`\n"), "{stderr}");
    assert!(stderr.contains("hint: `wrap patch edit hello` makes a checkout"), "{stderr}");
    assert!(!stderr.contains("moved"), "{stderr}");

    let run = ws.wrap(&["patch", "edit", "hello"]);
    let e = run.fails(1);
    assert!(
        e.contains(
            "patch 2 of 2, `patches/hello/0002-Add-region-for-the-operators.patch`, does not apply to hello"
        ),
        "{e}"
    );
    assert!(run.stderr().contains("  | left: hello/cli.py.rej"), "{}", run.stderr());
    let dir = ws.path().join(".wrap/patch/hello");
    assert_eq!(log(&dir), ["Mark patched greetings"]);
    assert!(dir.join("hello/cli.py.rej").is_file());

    // The operator applies the hunk by hand and commits; --continue has nothing left to apply.
    let cli = std::fs::read_to_string(dir.join("hello/cli.py")).unwrap();
    let fixed = cli.replacen("    loud = ", "    if args and args[0] == \"--region\":\n        print(\"region: RegionOne\")\n        return 0\n    loud = ", 1);
    std::fs::write(dir.join("hello/cli.py"), fixed).unwrap();
    std::fs::remove_file(dir.join("hello/cli.py.rej")).unwrap();
    git(&dir, &["commit", "-q", "-am", "Add --region for the operators"]);
    ws.wrap(&["patch", "edit", "hello", "--continue"]).ok();
    ws.wrap(&["patch", "refresh", "hello"]).ok();
    // The refreshed queue applies again.
    let fetched = ws.wrap(&["--message-format", "json", "fetch", "-p", "hello"]).event("fetched");
    let checkout = Path::new(fetched["path"].as_str().unwrap());
    assert!(std::fs::read_to_string(checkout.join("hello/cli.py")).unwrap().contains("region: RegionOne"));
}

#[test]
fn the_hint_names_a_moved_ref_when_this_run_moved_it() {
    let ws = Workspace::offline_example();
    ws.wrap(&["lock"]).ok();
    // hello's patches were written for 1.1.0; upstream rewrites the file they patch on main,
    // and the manifest follows main.
    ws.advance("hello", "main", "hello/cli.py");
    ws.write_manifest(&ws.manifest().replacen("ref = \"1.1.0\"", "ref = \"main\"", 1));
    let run = ws.wrap(&["fetch", "-p", "hello"]);
    // (Not snapshotted: the new commit's id changes with the time the test runs.)
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(run.stderr().contains("hint: the ref moved from 59919ed2f4e3 to "), "{}", run.stderr());
    assert!(run.stderr().contains("`wrap patch edit hello`"), "{}", run.stderr());
}

#[test]
fn a_rebase_onto_a_new_ref_refreshes_and_builds() {
    let ws = Workspace::offline_example();
    ws.wrap(&["patch", "edit", "hello"]).ok();
    let dir = ws.path().join(".wrap/patch/hello");
    let old = git(&dir, &["rev-parse", "59919ed2f4e3e9c21fa9235e2baa2ede053bdd52^{commit}"]);
    // Upstream moves on (a commit on main that touches the file a patch changes); the manifest
    // follows main and the lock moves with it.
    let repo = ws.repo("hello");
    git(&repo, &["checkout", "-q", "main"]);
    let cli = std::fs::read_to_string(repo.join("hello/cli.py")).unwrap();
    std::fs::write(repo.join("hello/cli.py"), format!("# Upstream's header.\n{cli}")).unwrap();
    git(&repo, &["commit", "-q", "-am", "Upstream header"]);
    let new = git(&repo, &["rev-parse", "HEAD"]);
    ws.write_manifest(&ws.manifest().replacen("ref = \"1.1.0\"", "ref = \"main\"", 1));
    ws.wrap(&["lock"]).ok();
    assert!(ws.lock_text().contains(&new));
    // The operator rebases the patch commits onto the new pin, and refreshes.
    git(&dir, &["fetch", "-q", "origin", "main"]);
    git(&dir, &["rebase", "-q", "--onto", &new, &old]);
    let refreshed =
        ws.wrap(&["--message-format", "json", "patch", "refresh", "hello"]).event("patches_refreshed");
    assert_eq!(refreshed["files"].as_array().unwrap().len(), 2, "{refreshed}");
    // The refreshed queue builds on the new ref.
    let built = ws.wrap(&["build", "--format", "tar", "-p", "hello", "--out", "out"]).ok();
    assert!(built.contains("wrap-example-hello-"), "{built}");
}
