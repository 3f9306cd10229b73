//! `wrap init`: a commented manifest that passes `wrap check`, for a repository when given (its
//! name from setup.cfg or pyproject.toml, its newest version tag, its console scripts as
//! candidate services); never over an existing file.

mod support;

use support::{Workspace, git};

#[test]
fn init_of_a_repository_writes_a_manifest_that_checks_and_plans() {
    let ws = Workspace::offline_example();
    std::fs::remove_file(ws.path().join("wrap.toml")).unwrap();
    // greet: pbr's setup.cfg, one version tag (0.9.0) and two commits after it on main.
    let run = ws.wrap(&["--message-format", "json", "init", "repos/greet"]);
    let init = run.event("initialized");
    assert_eq!((init["project"].as_str(), init["ref"].as_str()), (Some("greet"), Some("0.9.0")));
    assert_eq!(init["scripts"], serde_json::json!(["greet"]));
    let text = ws.manifest();
    assert!(text.contains("name = \"greet\"\ngit = \"repos/greet\"\n"), "{text}");
    assert!(text.contains("\nref = \"0.9.0\"\n"), "{text}");
    assert!(text.contains("\n# services = [\"greet\"]\n"), "{text}");
    ws.wrap(&["check"]).ok();
    // It plans: the ref pins to the tag's commit.
    let plan = ws.wrap(&["--message-format", "json", "plan", "--format", "tar"]).event("plan");
    let tagged = git(&ws.repo("greet"), &["rev-parse", "0.9.0^{commit}"]);
    assert_eq!(plan["plan"]["projects"][0]["commit"], tagged.as_str());
    assert_eq!(plan["plan"]["projects"][0]["version"], "0.9.0");

    // Never over an existing file: the manifest is left as it was.
    let e = ws.wrap(&["init", "repos/tally"]).fails(1);
    assert_eq!(e, "error: `wrap.toml` already exists; wrap init writes only a new file");
    assert_eq!(ws.manifest(), text);
}

#[test]
fn init_picks_the_newest_final_release_else_a_branch() {
    let ws = Workspace::offline_example();
    let repo = ws.path().join("fresh");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(
        repo.join("pyproject.toml"),
        "[project]\nname = \"My_Tool\"\n[project.scripts]\nmy-tool = \"t:main\"\n",
    )
    .unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "start"]);
    // No tag: the main branch.
    let run = ws.wrap(&["--message-format", "json", "-m", "a.toml", "init", "fresh"]);
    assert_eq!(run.event("initialized")["ref"], "main");
    for tag in ["1.0.0", "1.2.0", "2.0.0rc1", "not-a-version"] {
        git(&repo, &["tag", tag]);
    }
    // 2.0.0rc1 is higher, but a release candidate: 1.2.0 is the newest release.
    let run = ws.wrap(&["--message-format", "json", "-m", "b.toml", "init", "fresh"]);
    let init = run.event("initialized");
    assert_eq!((init["project"].as_str(), init["ref"].as_str()), (Some("my-tool"), Some("1.2.0")));
    ws.wrap(&["-m", "b.toml", "check"]).ok();
    // A directory that is no repository: an error naming it, and no manifest written.
    std::fs::create_dir(ws.path().join("empty")).unwrap();
    let run = ws.wrap(&["-m", "c.toml", "init", "empty"]);
    assert!(run.code() == Some(2) || run.code() == Some(1), "{}", run.stderr());
    assert!(run.stderr().contains("empty"), "{}", run.stderr());
    assert!(!ws.path().join("c.toml").exists());
}

#[test]
fn hostile_paths_are_quoted_or_refused_never_pasted() {
    let ws = Workspace::offline_example();
    // A repository whose path holds a quote and a backslash: quoted in the manifest, read back.
    let odd = ws.path().join("we\"ird\\repo");
    support::copy_tree(&ws.repo("tally"), &odd);
    let run = ws.wrap(&["--message-format", "json", "-m", "q.toml", "init", "we\"ird\\repo"]);
    assert_eq!(run.event("initialized")["git"], "we\"ird\\repo");
    let plan =
        ws.wrap(&["--message-format", "json", "-m", "q.toml", "plan", "--format", "tar"]).event("plan");
    assert_eq!(plan["plan"]["projects"][0]["git"], "we\"ird\\repo");
    // One whose path holds a newline and a table header: no key is added; the manifest's own
    // rule (one line) refuses it, and nothing is written.
    let injected = ws.path().join("x\n[settings]\nrelease = \"9\"");
    support::copy_tree(&ws.repo("tally"), &injected);
    let run = ws.wrap(&["-m", "n.toml", "init", "x\n[settings]\nrelease = \"9\""]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(!ws.path().join("n.toml").exists());
}
