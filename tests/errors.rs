//! Every bad input a user can reach in the source stage: its one-line message (naming the file,
//! line, project, ref or patch), its hint, its exit code, and a cache left clean.

mod support;

use support::{Workspace, list};

/// The manifest these tests edit: the offline example's projects, with a layout (and so line
/// numbers) of its own.
const BASE: &str = r#"# An offline example: two fixture projects (repositories by fixtures/make-repos.sh).
[settings]
find_links = ["wheels"]
release = "1"
package_name = "wrap-example-{name}"
install_path = "/opt/wrap-example/{name}-{version}"
maintainer = "wrap example <wrap@example.invalid>"
output_dir = "dist"

[[project]]
name = "hello"
git = "repos/hello"
ref = "1.1.0"
patches = [
    "patches/hello/0001-Mark-patched-greetings.patch",
    "patches/hello/0002-Add-region-for-the-operators.patch",
]

[[project]]
name = "greet"
git = "repos/greet"
ref = "main"
"#;

/// The offline example's repositories and patches under [`BASE`] with `from` replaced by `to`.
fn edited(from: &str, to: &str) -> Workspace {
    let ws = base();
    let text = ws.manifest();
    assert!(text.contains(from), "the example manifest has no `{from}`");
    ws.write_manifest(&text.replacen(from, to, 1));
    ws
}

fn check_fails(ws: &Workspace, code: i32) -> (String, String) {
    let run = ws.wrap(&["check"]);
    (run.fails(code), run.stderr())
}

fn base() -> Workspace {
    let ws = Workspace::offline_example();
    ws.write_manifest(BASE);
    ws
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let (e, stderr) = check_fails(&edited("release = \"1\"", "release = "), 1);
    assert_eq!(e, "error: wrap.toml:4:11: string values must be quoted, expected literal string");
    // Then the line itself with a caret under the column, as cargo shows it.
    assert!(stderr.contains(" --> wrap.toml:4:11\n  |\n4 | release = \n  |           ^\n"), "{stderr}");
}

#[test]
fn a_bad_value_is_underlined_in_its_line() {
    let ws = edited("release = \"1\"", "release = \"one two\"");
    let (e, stderr) = check_fails(&ws, 1);
    assert!(e.starts_with("error: wrap.toml:4:11: `settings.release` = `one two` is not valid"), "{e}");
    assert!(stderr.contains("4 | release = \"one two\"\n  |           ^^^^^^^^^\n"), "{stderr}");
    // JSON carries the same line, as data.
    let run = ws.wrap(&["--message-format", "json", "check"]);
    let source = &run.event("error")["source"];
    assert_eq!(source["text"], "release = \"one two\"");
    assert_eq!(
        (source["line"].as_u64(), source["col"].as_u64(), source["width"].as_u64()),
        (Some(4), Some(11), Some(9))
    );
}

#[test]
fn unknown_key_has_line_and_column() {
    let (e, _) = check_fails(&edited("ref = \"main\"", "ref = \"main\"\ncolour = \"blue\""), 1);
    assert!(
        e.starts_with("error: wrap.toml:23:1: unknown field `colour`, expected one of `name`, `git`"),
        "{e}"
    );
    let (e, _) = check_fails(&edited("[settings]", "[settings]\njobs = 4"), 1);
    assert!(e.starts_with("error: wrap.toml:3:1: unknown field `jobs`"), "{e}");
}

#[test]
fn missing_required_key() {
    let (e, _) = check_fails(&edited("ref = \"main\"\n", ""), 1);
    assert_eq!(e, "error: wrap.toml:19:1: missing field `ref`");
}

#[test]
fn duplicate_project() {
    let (e, stderr) = check_fails(&edited("name = \"greet\"", "name = \"hello\""), 1);
    assert_eq!(e, "error: wrap.toml:19: duplicate project `hello` (first defined on line 10)");
    assert!(stderr.contains("hint: give every project its own `name`"), "{stderr}");
}

#[test]
fn bad_template_placeholder() {
    let (e, stderr) = check_fails(&edited("{name}-{version}", "{name}-{release}"), 1);
    assert_eq!(e, "error: wrap.toml:6:16: `settings.install_path` uses unknown placeholder `{release}`");
    assert!(stderr.contains("hint: templates accept `{name}` and `{version}` only"), "{stderr}");
}

#[test]
fn invalid_package_name_blames_the_template() {
    let (e, _) = check_fails(&edited("\"wrap-example-{name}\"", "\"Wrap_{name}\""), 1);
    assert_eq!(
        e,
        "error: wrap.toml:5:16: project `hello`: package name `Wrap_hello` is not valid: it must start with a lowercase letter or a digit"
    );
    let (e, _) = check_fails(&edited("name = \"greet\"", "name = \"greet_lib\""), 1);
    assert!(e.contains("package name `wrap-example-greet_lib` is not valid: it may contain only"), "{e}");
}

#[test]
fn relative_or_dotdot_install_path() {
    let (e, _) = check_fails(&edited("\"/opt/wrap-example/{name}-{version}\"", "\"opt/{name}\""), 1);
    assert_eq!(e, "error: wrap.toml:6:16: project `hello`: install_path `opt/hello` is not absolute");
    let ws = edited("ref = \"main\"", "ref = \"main\"\ninstall_path = \"/opt/../srv/{name}\"");
    let (e, stderr) = check_fails(&ws, 1);
    assert_eq!(e, "error: wrap.toml:23:16: project `greet`: install_path `/opt/../srv/greet` contains `..`");
    assert!(stderr.contains("hint: use an absolute path of its own"), "{stderr}");
}

#[test]
fn path_escaping_the_manifest_directory() {
    let (e, stderr) = check_fails(&edited("\"patches/hello/0001", "\"../patches/hello/0001"), 1);
    assert_eq!(
        e,
        "error: wrap.toml:15:5: `patches` path `../patches/hello/0001-Mark-patched-greetings.patch` leaves the manifest's directory"
    );
    assert!(stderr.contains("hint: keep patches"), "{stderr}");
    let (e, _) = check_fails(&edited("[settings]", "[settings]\nconstraints = [\"/etc/hostname\"]"), 1);
    assert_eq!(
        e,
        "error: wrap.toml:3:16: `constraints` path `/etc/hostname` leaves the manifest's directory"
    );
    // A symlink inside the tree that leads out of it.
    let ws = edited("find_links = [\"wheels\"]", "find_links = [\"links\"]");
    std::os::unix::fs::symlink("/tmp", ws.path().join("links")).unwrap();
    let (e, _) = check_fails(&ws, 1);
    assert_eq!(e, "error: wrap.toml:3:15: `find_links` path `links` leaves the manifest's directory");
}

#[test]
fn missing_patch_file() {
    let (e, _) = check_fails(&edited("0002-Add-region", "0003-Add-region"), 1);
    assert_eq!(
        e,
        "error: wrap.toml:16:5: `patches` path `patches/hello/0003-Add-region-for-the-operators.patch` does not exist"
    );
}

#[test]
fn empty_project_list() {
    let ws = base();
    ws.write_manifest("[settings]\nrelease = \"2\"\n");
    let (e, _) = check_fails(&ws, 1);
    assert_eq!(e, "error: wrap.toml: the manifest names no project");
}

#[test]
fn missing_manifest() {
    let ws = base();
    let run = ws.wrap(&["-m", "other.toml", "check"]);
    assert_eq!(run.fails(1), "error: no manifest at `other.toml`");
}

#[test]
fn unknown_ref_suggests_the_nearest_tags_and_branches() {
    let ws = edited("ref = \"1.1.0\"", "ref = \"1.1.9\"");
    let run = ws.wrap(&["lock"]);
    assert_eq!(run.fails(1), "error: project `hello`: ref `1.1.9` not found in `repos/hello`");
    assert!(run.stderr().contains("hint: nearest tags and branches: 1.1.0, 1.0.0, main"), "{}", run.stderr());
    assert!(!ws.path().join("wrap.lock").exists());
}

#[test]
fn unreachable_git_url() {
    // Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    let ws = edited("git = \"repos/greet\"", "git = \"http://127.0.0.1:9/greet.git\"");
    let run = ws.wrap(&["lock"]);
    assert_eq!(run.fails(2), "error: project `greet`: cannot fetch `http://127.0.0.1:9/greet.git`");
    assert!(run.stderr().contains("caused by: "), "{}", run.stderr());
    assert!(run.stderr().contains("hint: check the URL"), "{}", run.stderr());
    // The failed first fetch leaves no mirror behind.
    let mirrors = list(&ws.cache().join("git"));
    assert!(mirrors.iter().all(|m| !m.starts_with("greet")), "{mirrors:?}");

    let ws = edited("git = \"repos/greet\"", "git = \"repos/nothere\"");
    let run = ws.wrap(&["lock"]);
    assert_eq!(run.fails(2), "error: project `greet`: cannot fetch `repos/nothere`");
    assert!(run.stderr().contains("caused by: no directory at "), "{}", run.stderr());
}

#[test]
fn patch_that_does_not_apply_names_file_and_hunk() {
    let ws = base();
    // The second patch is rewritten so that its only hunk no longer matches the code.
    let path = ws.path().join("patches/hello/0002-Add-region-for-the-operators.patch");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(" def main(argv=None):", " def main(args=None):")).unwrap();
    let run = ws.wrap(&["fetch"]);
    let e = run.fails(1);
    assert!(
        e.starts_with(
            "error: patch `patches/hello/0002-Add-region-for-the-operators.patch` does not apply to hello at "
        ),
        "{e}"
    );
    assert!(e.ends_with(": `hello/cli.py` at line 9"), "{e}");
    // The line that does not match, git's own words, and the hint of the patch workflow.
    assert!(run.stderr().contains("  | line 10 of `hello/cli.py` does not match:"), "{}", run.stderr());
    assert!(run.stderr().contains("  | error: patch failed: hello/cli.py:9"), "{}", run.stderr());
    assert!(run.stderr().contains("hint: `wrap patch edit hello` makes a checkout"), "{}", run.stderr());
    let checkouts = list(&ws.cache().join("checkouts"));
    assert!(checkouts.iter().all(|p| !p.starts_with("hello/")), "{checkouts:?}");

    // A file that is not a patch at all.
    std::fs::write(&path, "this is not a patch\n").unwrap();
    let run = ws.wrap(&["fetch"]);
    assert_eq!(
        run.fails(1),
        "error: patch `patches/hello/0002-Add-region-for-the-operators.patch` of project `hello` is not a valid patch"
    );
}

#[test]
fn traditional_diffs_apply_like_git_apply() {
    let ws = base();
    // A quilt-style patch: no `diff --git` line, `orig/` and `new/` prefixes, timestamps.
    std::fs::write(
        ws.path().join("patches/hello/0002-Add-region-for-the-operators.patch"),
        "Use a plainer default.\n\n--- hello.orig/hello/cli.py\t2026-03-02 10:00:00.000000000 +0000\n+++ hello/hello/cli.py\t2026-03-02 10:00:00.000000000 +0000\n@@ -13,3 +13,3 @@\n     args = [a for a in args if a != \"--loud\"]\n-    name = args[0] if args else \"world\"\n+    name = args[0] if args else \"operator\"\n     text = greeting(name)\n",
    )
    .unwrap();
    let out = ws.wrap(&["fetch", "--project", "hello"]).ok();
    let path = out.trim().rsplit('\t').next().unwrap();
    let cli = std::fs::read_to_string(std::path::Path::new(path).join("hello/cli.py")).unwrap();
    assert!(cli.contains("else \"operator\""), "{cli}");
}

#[test]
fn lock_drift_under_locked_names_each_difference() {
    let ws = base();
    ws.wrap(&["lock"]).ok();
    let lock = ws.lock_text();
    let path = ws.path().join("patches/hello/0001-Mark-patched-greetings.patch");
    let patch = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, patch.replace("(patched)", "(patched again)")).unwrap();
    ws.write_manifest(&ws.manifest().replace("ref = \"main\"", "ref = \"stable/0.9\""));
    for args in [&["fetch", "--locked"][..], &["check", "--locked"], &["plan", "--locked"]] {
        let run = ws.wrap(args);
        let e = run.fails(1);
        assert!(e.starts_with("error: `--locked` was given but `wrap.lock` does not match: "), "{e}");
        assert!(e.contains("`patches/hello/0001-Mark-patched-greetings.patch` changed (sha256 "), "{e}");
        assert!(e.contains("project `greet`: ref changed from `main` to `stable/0.9`"), "{e}");
        assert!(run.stderr().contains("hint: run `wrap lock`"), "{}", run.stderr());
    }
    assert_eq!(ws.lock_text(), lock, "--locked must not touch the lock");

    // Without --locked, check only warns; lock then records the changes.
    let run = ws.wrap(&["check"]);
    run.ok();
    assert!(
        run.stderr().contains("warning: lock out of date: project `greet`: ref changed"),
        "{}",
        run.stderr()
    );
    ws.wrap(&["lock"]).ok();
    ws.wrap(&["fetch", "--locked"]).ok();

    std::fs::remove_file(ws.path().join("wrap.lock")).unwrap();
    let e = ws.wrap(&["fetch", "--locked"]).fails(1);
    assert_eq!(e, "error: `--locked` was given but there is no lock file `wrap.lock`");
}

#[test]
fn unknown_project_selection() {
    let ws = base();
    let run = ws.wrap(&["fetch", "--project", "nova"]);
    assert_eq!(run.fails(1), "error: no project named `nova` in the manifest");
    assert!(run.stderr().contains("hint: the manifest has: hello, greet"), "{}", run.stderr());
    let run = ws.wrap(&["lock", "--update", "nova"]);
    assert_eq!(run.fails(1), "error: no project named `nova` in the manifest");
}

#[test]
fn json_errors_are_one_object() {
    let ws = edited("ref = \"1.1.0\"", "ref = \"1.1.9\"");
    let run = ws.wrap(&["--message-format", "json", "lock"]);
    assert_eq!(run.code(), Some(1));
    let v = run.event("error");
    assert_eq!(v["event"], "error");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["message"], "project `hello`: ref `1.1.9` not found in `repos/hello`");
}

#[test]
fn a_registry_base_by_digest_locks_offline_and_bad_pins_or_references_name_their_line() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let reference = format!("docker://registry.example.com/base/debian-python@{digest}");
    let ws = edited(
        "output_dir = \"dist\"\n",
        &format!("output_dir = \"dist\"\noffline = true\n\n[image]\nbase = \"{reference}\"\n"),
    );
    ws.wrap(&["lock"]).ok();
    let lock = ws.lock_text();
    let pin = format!("[image]\nbase = \"{reference}\"\ndigest = \"{digest}\"\n");
    assert!(lock.contains(&pin), "{lock}");
    ws.wrap(&["check", "--locked"]).ok();
    // Offline, with the image not in the cache: the build says so before building anything.
    let line = ws.wrap(&["build", "--format", "oci", "-p", "hello", "--locked"]).fails(2);
    assert!(line.contains("is not in the cache, and wrap is offline"), "{line}");
    assert!(!ws.path().join("dist").exists());

    // A hand-edited pin, named with its line.
    let lock_path = ws.path().join("wrap.lock");
    std::fs::write(&lock_path, lock.replace(&format!("digest = \"{digest}\""), "digest = \"sha256:abc\""))
        .unwrap();
    let (line, _) = check_fails(&ws, 1);
    assert!(line.contains("wrap.lock:"), "{line}");
    std::fs::write(&lock_path, &lock).unwrap();

    // A reference that does not name its registry.
    ws.write_manifest(&ws.manifest().replacen(&reference, "docker://debian:12-slim", 1));
    let (line, _) = check_fails(&ws, 1);
    assert!(line.contains("wrap.toml:"), "{line}");
}

#[test]
fn targets_and_the_remote_are_checked_where_written() {
    let target = |body: &str| edited("[[project]]", &format!("[[target]]\n{body}\n\n[[project]]"));
    let (e, _) = check_fails(&target("name = \"debian 12\""), 1);
    assert!(e.contains("`target.name` = `debian 12` is not valid"), "{e}");
    let (e, _) = check_fails(&target("name = \"a\"\n[[target]]\nname = \"a\""), 1);
    assert!(e.contains("a name no other [[target]] has"), "{e}");
    let (e, _) = check_fails(&target("name = \"a\"\nruns_on = [\"x\", \"\"]"), 1);
    assert!(e.contains("`target.runs_on`"), "{e}");
    let (e, _) = check_fails(&target("name = \"a\"\nimage = \"x\\ny\""), 1);
    assert!(e.contains("`target.image`"), "{e}");
    let (e, _) = check_fails(&target("name = \"a\"\nlabels = []"), 1);
    assert!(e.contains("unknown field `labels`"), "{e}");
    let (e, _) = check_fails(&edited("[settings]", "[settings]\nremote = \"ftp://host/cache\""), 1);
    assert!(
        e.starts_with("error: wrap.toml:3:10: `settings.remote` = `ftp://host/cache` is not valid"),
        "{e}"
    );
    // Well-formed: checked, then planned.
    let ws = target("name = \"debian-12\"\nruns_on = \"self-hosted\"\nimage = \"debian:12\"");
    ws.wrap(&["check"]).ok();
}
