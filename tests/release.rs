//! `release = "auto"`: the first build of a version is release 1, a build whose inputs changed
//! takes the next release, and the lock records which inputs each release was given for, so
//! that a rebuild of the same inputs keeps its release and repositories accept every changed
//! build. `--locked` refuses a build whose inputs moved on without a recorded release.

mod support;

use support::Workspace;

fn example() -> Workspace {
    let ws = Workspace::offline_example();
    ws.write_manifest(&ws.manifest().replace("release = \"1\"", "release = \"auto\""));
    ws
}

fn build(ws: &Workspace, extra: &[&str]) -> String {
    let mut args = vec!["build", "--format", "deb", "--out", "out", "--project", "hello"];
    args.extend_from_slice(extra);
    let built = ws.wrap(&args).ok();
    let path = std::path::PathBuf::from(built.trim());
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn each_changed_build_of_a_version_takes_the_next_release() {
    let ws = example();
    // `wrap lock` records the releases a build would give (and the closures `--locked` needs).
    ws.wrap(&["lock"]).ok();
    let lock = ws.lock_text();
    assert!(build(&ws, &[]).starts_with("wrap-example-hello_1.1.0-1_"));
    assert_eq!(ws.lock_text(), lock);
    assert!(lock.contains("[[project.releases]]\nversion = \"1.1.0\"\ninputs = \""), "{lock}");
    assert!(lock.contains("release = 1\n"), "{lock}");
    assert_eq!(lock.matches("[[project.releases]]").count(), 3, "{lock}");
    // The same inputs: the same release, and the lock unchanged.
    assert!(build(&ws, &[]).starts_with("wrap-example-hello_1.1.0-1_"));
    assert_eq!(ws.lock_text(), lock);
    // Changed inputs (package metadata): `--locked` refuses, a build takes release 2.
    let text = ws.manifest().replacen("ref = \"1.1.0\"\n", "ref = \"1.1.0\"\nrecommends = [\"less\"]\n", 1);
    ws.write_manifest(&text);
    let refused =
        ws.wrap(&["build", "--locked", "--format", "deb", "--out", "out", "--project", "hello"]).fails(1);
    assert!(
        refused.contains("project `hello`: its build inputs changed since the lock gave 1.1.0 release 1 (`release = \"auto\"` makes it 2)"),
        "{refused}"
    );
    let run = ws.wrap(&["build", "--format", "deb", "--out", "out", "--project", "hello"]);
    assert!(
        run.stdout().trim().ends_with(&format!(
            "wrap-example-hello_1.1.0-2_{}.deb",
            wrap::artifact::Format::Deb.host_arch()
        ))
    );
    assert!(run.stderr().contains("Releasing hello 1.1.0 as release 2"), "{}", run.stderr());
    assert!(ws.lock_text().contains("release = 2\n"));
    // A locked build of what the lock records is release 2 again.
    assert!(build(&ws, &["--locked"]).starts_with("wrap-example-hello_1.1.0-2_"));
    // Back to the first inputs: a later release still (a repository holds 1 and 2 already).
    ws.write_manifest(&text.replace("recommends = [\"less\"]\n", ""));
    assert!(build(&ws, &[]).starts_with("wrap-example-hello_1.1.0-3_"));
    // `wrap plan` shows it.
    let plan = ws.wrap(&["--message-format", "json", "plan", "--project", "hello"]).ok();
    assert!(plan.contains("\"release\":\"3\""), "{plan}");
}
