//! Bad inputs to `wrap build`: each gives its one-line error, hint and exit code, and leaves no
//! partial artifact in the output directory.

mod support;

use support::{Workspace, list};

fn build(ws: &Workspace) -> support::Run {
    ws.wrap(&["build", "--format", "tar", "--out", "out"])
}

/// Nothing half-written: no temporary files, and only finished artifacts with their checksums.
fn assert_no_partial_artifacts(ws: &Workspace) {
    for name in list(&ws.path().join("out")) {
        assert!(!name.starts_with(".tmp"), "temporary file left: {name}");
        assert!(name.ends_with(".tar.gz") || name.ends_with(".tar.gz.sha256"), "{name}");
    }
}

#[test]
fn missing_interpreter() {
    let ws = Workspace::offline_example();
    ws.setting("python = \"/nonexistent/python3\"");
    let run = build(&ws);
    assert_eq!(run.fails(2), "error: interpreter `/nonexistent/python3` does not exist");
    assert!(run.stderr().contains("hint: install Python 3"), "{}", run.stderr());
    assert!(!ws.path().join("out").exists());
}

#[test]
fn interpreter_that_is_not_python_3() {
    let ws = Workspace::offline_example();
    ws.setting("python = \"/bin/sh\"");
    let run = build(&ws);
    assert_eq!(run.fails(1), "error: interpreter `/bin/sh` is not CPython 3");
}

#[test]
fn interpreter_without_venv() {
    let ws = Workspace::offline_example();
    // A Python 3 whose `import venv` fails, as on Debian without python3-venv.
    let fake = ws.path().join("python3-novenv");
    std::fs::write(
        &fake,
        "#!/bin/sh\nshift 2\nexec /usr/bin/python3 -I -c 'import sys; sys.modules[\"venv\"] = None; exec(sys.argv[1])' \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    ws.setting(&format!("python = \"{}\"", fake.display()));
    let run = build(&ws);
    assert_eq!(run.fails(2), format!("error: interpreter `{}` has no venv module", fake.display()));
    assert!(
        run.stderr().contains("hint: install the venv module: `apt-get install python3-venv`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn project_that_fails_to_build_shows_the_log_tail() {
    let ws = Workspace::offline_example();
    ws.break_greet();
    let run = build(&ws);
    let e = run.fails(1);
    let log = ws.cache().join("logs/greet.log");
    assert!(e.starts_with("error: project `greet`: "), "{e}");
    assert!(e.ends_with(&format!(" install failed (full log: {})", log.display())), "{e}");
    let stderr = run.stderr();
    let tail: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  | ")).collect();
    assert!(!tail.is_empty() && tail.len() <= 20, "{}", run.stderr());
    assert!(tail.iter().any(|l| l.contains("greet is broken on purpose")), "{}", run.stderr());
    assert!(std::fs::read_to_string(log).unwrap().contains("greet is broken on purpose"));
    assert_no_partial_artifacts(&ws);
}

#[test]
fn offline_build_with_a_missing_wheel_names_it() {
    let ws = Workspace::offline_example();
    std::fs::remove_file(ws.path().join("wheels/shout-1.0.0-py3-none-any.whl")).unwrap();
    let run = ws.wrap(&["build", "--format", "tar", "--out", "out", "--project", "hello"]);
    let e = run.fails(1);
    assert!(e.starts_with("error: project `hello`: no distribution found for requirement `shout"), "{e}");
    assert!(run.stderr().contains("hint: offline builds take every requirement"), "{}", run.stderr());
    assert_no_partial_artifacts(&ws);
}

#[test]
fn constraints_conflict_fails_and_the_projects_own_pin_does_not() {
    let ws = Workspace::offline_example();
    std::fs::write(ws.path().join("constraints.txt"), "shout==0.5\n").unwrap();
    ws.setting("constraints = [\"constraints.txt\"]");
    let run = ws.wrap(&["build", "--format", "tar", "--out", "out", "--project", "hello"]);
    let e = run.fails(1);
    assert!(e.starts_with("error: project `hello`: "), "{e}");
    assert!(run.stderr().contains("shout"), "{}", run.stderr());
    assert_no_partial_artifacts(&ws);

    // Upper-constraints pin the very projects being built; those pins are dropped for them.
    std::fs::write(ws.path().join("constraints.txt"), "hello===0.0.1\nshout==1.0.0\nGreet==0.1\n").unwrap();
    let run = ws.wrap(&["-v", "build", "--format", "tar", "--out", "out"]);
    assert_eq!(run.ok().lines().count(), 3);
    assert!(run.stderr().contains("dropped the project's own pin"), "{}", run.stderr());
    assert!(run.stderr().contains("hello===0.0.1"), "{}", run.stderr());
}

#[test]
fn editable_requirements_are_refused() {
    let ws = Workspace::offline_example();
    ws.greet_keys("pip_dependencies = [\"-e ./tools\"]");
    let run = build(&ws);
    let e = run.fails(1);
    assert!(e.contains("`pip_dependencies` = `-e ./tools` is not valid"), "{e}");
    assert!(e.contains("editable installs cannot be packaged"), "{e}");
}

#[test]
fn uv_asked_for_but_missing() {
    if std::path::Path::new("/usr/bin/uv").exists() || std::path::Path::new("/bin/uv").exists() {
        return; // the PATH below would still find it
    }
    let ws = Workspace::offline_example();
    ws.setting("installer = \"uv\"");
    let run = ws.wrap_env(&["build", "--format", "tar"], &[("PATH", "/usr/bin:/bin")]);
    assert_eq!(run.fails(2), "error: installer `uv` was asked for but `uv` is not on PATH");
}

#[test]
fn a_project_that_fails_leaves_none_of_its_artifacts_not_even_cached_ones() {
    let ws = Workspace::offline_example();
    ws.wrap(&["build", "-p", "greet", "--format", "deb", "--out", "out"]).ok();
    let deb: Vec<String> = list(&ws.path().join("out")).into_iter().filter(|f| f.ends_with(".deb")).collect();
    assert_eq!(deb.len(), 1);
    // The .deb's key is unchanged (it comes from the cache), but the tarball must be built, and
    // greet's repository, mirror and checkout are gone.
    std::fs::rename(ws.repo("greet"), ws.path().join("greet-moved")).unwrap();
    std::fs::remove_dir_all(ws.cache().join("git")).unwrap();
    std::fs::remove_dir_all(ws.cache().join("checkouts")).unwrap();
    let run = ws.wrap(&["build", "-p", "greet", "--format", "deb", "--format", "tar", "--out", "out"]);
    run.fails(2);
    let left = list(&ws.path().join("out"));
    assert!(left.iter().all(|f| !f.starts_with("wrap-example-greet")), "{left:?}");
}
