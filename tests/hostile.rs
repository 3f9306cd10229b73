//! Hostile and careless inputs (issue 12), one test per cause found: a manifest value that
//! would run as root, a path that leaves its directory, a repository or patch that reaches out
//! of the tree, a lock edited by hand, a cache changed behind wrap's back, a full disk, a
//! package built to escape when unpacked. Each asserts the refusal (message and exit code) and
//! that nothing was written where it must not be.

mod support;

use std::path::Path;
use std::process::Command;

use support::{Workspace, find, list, untar};

/// The offline example's manifest with `from` replaced by `to` (asserting it was there).
fn edited(ws: &Workspace, from: &str, to: &str) {
    let text = ws.manifest();
    assert!(text.contains(from), "the example manifest has no `{from}`");
    ws.write_manifest(&text.replacen(from, to, 1));
}

fn check_fails(ws: &Workspace) -> String {
    ws.wrap(&["check"]).fails(1)
}

#[test]
fn cause_01_link_paths_never_reach_a_script() {
    let ws = Workspace::offline_example();
    for (value, what) in [
        ("/opt/x/cur$(touch /tmp/pwned)", "contains `$`"),
        ("/opt/x/cur;touch /tmp/pwned", "contains `;`"),
        ("/opt/x/cur\\ntouch /tmp/pwned", "contains U+000A"),
    ] {
        for at in ["[settings]\n", "ref = \"2.0.0\"\n"] {
            let ws2 = Workspace { tmp: tempfile::tempdir().unwrap() };
            support::copy_tree(ws.path(), ws2.path());
            edited(&ws2, at, &format!("{at}link_path = \"{value}\"\n"));
            let e = check_fails(&ws2);
            assert!(e.contains("link_path `/opt/x/cur") && e.contains(what), "{e}");
        }
    }
}

#[test]
fn cause_02_install_paths_hold_no_shell_characters() {
    let ws = Workspace::offline_example();
    for (value, what) in [
        ("/opt/rt/a&>/tmp/pwned&b", "`&`"),
        ("/opt/rt/*", "`*`"),
        ("/opt/rt/a|b", "`|`"),
        ("/opt/rt/(x)", "`(`"),
        ("/opt/rt/a<b", "`<`"),
        ("/opt/rt/a b", "U+0020"),
    ] {
        edited(&ws, "install_path = \"", &format!("install_path = \"{value}\"\n#"));
        let e = check_fails(&ws);
        assert!(e.contains(&format!("install_path `{value}` contains {what}")), "{e}");
        ws.write_manifest(
            &std::fs::read_to_string(support::root().join("manifests/offline/wrap.toml")).unwrap(),
        );
    }
}

/// A git patch that adds the symlink `name` pointing at `target`.
fn symlink_patch(name: &str, target: &str) -> String {
    format!(
        "diff --git a/{name} b/{name}\nnew file mode 120000\n--- /dev/null\n+++ b/{name}\n@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n"
    )
}

#[test]
fn cause_03_patches_cannot_write_through_a_symlink_or_add_one_out_of_the_tree() {
    let ws = Workspace::offline_example();
    let outside = ws.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let dir = ws.path().join("patches/tally");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("0001-link.patch"), symlink_patch("out", outside.to_str().unwrap())).unwrap();
    std::fs::write(
        dir.join("0002-through.patch"),
        "diff --git a/out/pwned.txt b/out/pwned.txt\nnew file mode 100644\n--- /dev/null\n+++ b/out/pwned.txt\n@@ -0,0 +1 @@\n+pwned\n",
    )
    .unwrap();
    edited(
        &ws,
        "ref = \"2.0.0\"",
        "ref = \"2.0.0\"\npatches = [\"patches/tally/0001-link.patch\", \"patches/tally/0002-through.patch\"]",
    );
    let run = ws.wrap(&["fetch", "-p", "tally"]);
    let e = run.fails(1);
    assert!(e.contains("patch `patches/tally/0002-through.patch` does not apply to tally"), "{e}");
    assert!(run.stderr().contains("beyond a symbolic link"), "{}", run.stderr());
    assert!(list(&outside).is_empty(), "written outside: {:?}", list(&outside));

    // The link alone, leading out of the tree, is refused too.
    edited(&ws, ", \"patches/tally/0002-through.patch\"", "");
    let e = ws.wrap(&["fetch", "-p", "tally"]).fails(1);
    assert_eq!(
        e,
        format!(
            "error: project `tally`: symlink `out` -> `{}` leads out of the repository",
            outside.display()
        )
    );
    let checkouts = list(&ws.cache().join("checkouts"));
    assert!(checkouts.iter().all(|c| !c.starts_with("tally/")), "{checkouts:?}");
}

#[test]
fn cause_04_services_are_console_script_names() {
    let ws = Workspace::offline_example();
    for service in ["../../../tmp/x/evil", "../bin/hello", "-x", ""] {
        edited(&ws, "ref = \"2.0.0\"", &format!("ref = \"2.0.0\"\nservices = [\"{service}\"]"));
        let e = check_fails(&ws);
        assert!(e.contains(&format!("`services` = `{service}` is not valid: a console script")), "{e}");
        edited(&ws, &format!("\nservices = [\"{service}\"]"), "");
    }
}

#[test]
fn cause_05_project_names_cannot_leave_the_cache() {
    let ws = Workspace::offline_example();
    for (name, expected) in [
        ("../evil", "a project name starts and ends with a letter or digit"),
        ("a/../../evil", "a project name holds only letters, digits, `.`, `_` and `-`"),
        (&"x".repeat(300), "a project name has 1 to 64 characters"),
    ] {
        edited(&ws, "name = \"tally\"", &format!("name = \"{name}\"\npackage_name = \"tally\""));
        let e = check_fails(&ws);
        assert!(e.contains("`name` = `") && e.ends_with(expected), "{e}");
        ws.write_manifest(
            &std::fs::read_to_string(support::root().join("manifests/offline/wrap.toml")).unwrap(),
        );
    }
    assert!(!ws.cache().exists());
}

#[test]
fn cause_06_repository_symlinks_out_of_the_tree_are_refused() {
    let ws = Workspace::offline_example();
    let secret = ws.path().join("secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("key.pem"), "PRIVATE KEY").unwrap();
    let repo = ws.repo("tally");
    std::os::unix::fs::symlink(&secret, repo.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", repo.join("tally/passwd.txt")).unwrap();
    ws.git(&repo, &["add", "-A"]);
    ws.git(&repo, &["commit", "-q", "-m", "Link out"]);
    ws.git(&repo, &["tag", "2.0.1"]);
    edited(&ws, "ref = \"2.0.0\"", "ref = \"2.0.1\"");
    let run = ws.wrap(&["build", "-p", "tally", "--format", "deb", "--out", "out"]);
    assert_eq!(
        run.fails(1),
        format!(
            "error: project `tally`: symlink `etc` -> `{}` leads out of the repository",
            secret.display()
        )
    );
    assert!(!ws.path().join("out").exists() || list(&ws.path().join("out")).is_empty());
}

#[test]
fn cause_07_two_projects_cannot_make_one_package() {
    let ws = Workspace::offline_example();
    edited(&ws, "package_name = \"wrap-example-{name}\"", "package_name = \"same\"");
    let e = check_fails(&ws);
    assert_eq!(e, "error: wrap.toml:24: projects `greet` and `hello` (line 15) both make package `same`");
    // With {version} in the name, the versions decide: the plan compares them.
    edited(&ws, "package_name = \"same\"", "package_name = \"same-{version}\"\nversion = \"1.0\"");
    ws.wrap(&["check"]).ok();
    let e = ws.wrap(&["plan"]).fails(1);
    assert_eq!(e, "error: wrap.toml:25: projects `greet` and `hello` (line 16) both make package `same-1.0`");
}

#[test]
fn cause_08_control_fields_cannot_be_injected() {
    let ws = Workspace::offline_example();
    for (at, line, expected) in [
        (
            "[settings]\n",
            "section = \"misc\\nEssential: yes\"",
            "`settings.section` = `misc\\nEssential: yes` is not valid",
        ),
        (
            "[settings]\n",
            "priority = \"optional\\nX: y\"",
            "`settings.priority` = `optional\\nX: y` is not valid",
        ),
        (
            "maintainer = \"wrap example <wrap@example.invalid>\"",
            "maintainer = \"A <a@b.c>\\nEssential: yes\"",
            "`settings.maintainer` = `A <a@b.c>\\nEssential: yes` is not valid",
        ),
        (
            "ref = \"2.0.0\"\n",
            "recommends = [\"jq\\nPre-Depends: evil\"]",
            "`recommends` = `jq\\nPre-Depends: evil` is not valid: it holds the control character U+000A",
        ),
        (
            "ref = \"2.0.0\"\n",
            "system_dependencies = [\"libvirt0, evil\"]",
            "`system_dependencies` = `libvirt0, evil` is not valid",
        ),
        ("ref = \"2.0.0\"\n", "user = \"root\\nX\"", "`user` = `root\\nX` is not valid"),
        (
            "ref = \"2.0.0\"\n",
            "lintian_overrides = [\"tag\\nother-package: *\"]",
            "`lintian_overrides` = `tag\\nother-package: *` is not valid",
        ),
        (
            "[settings]\n",
            "rpmlint_filters = [\"x',\\n'.*\"]",
            "`settings.rpmlint_filters` = `x',\\n'.*` is not valid",
        ),
        (
            "ref = \"2.0.0\"\n",
            "rpmlint_filters = [\"x', '.*\"]",
            "`rpmlint_filters` = `x', '.*` is not valid",
        ),
        ("ref = \"2.0.0\"\n", "exclude = [\"/etc/passwd\"]", "`exclude` = `/etc/passwd` is not valid"),
    ] {
        let original = ws.manifest();
        if at.starts_with("maintainer") {
            edited(&ws, at, line);
        } else {
            edited(&ws, at, &format!("{at}{line}\n"));
        }
        let e = check_fails(&ws);
        assert!(e.contains(expected), "{e}");
        ws.write_manifest(&original);
    }
}

/// Builds tally's tarball into `out` and returns its sha256 and its unpacked tally.py.
fn tally_tarball(ws: &Workspace, args: &[&str]) -> (String, String, support::Run) {
    let mut all = vec!["build", "-p", "tally", "--format", "tar", "--out", "out"];
    all.extend_from_slice(args);
    let run = ws.wrap(&all);
    let artifacts: Vec<std::path::PathBuf> = run.ok().lines().map(Into::into).collect();
    let tarball = find(&artifacts, "wrap-example-tally-");
    let sha = wrap::digest::sha256_hex(&std::fs::read(tarball).unwrap());
    let dir = ws.path().join(format!("unpacked-{}", &sha[..8]));
    untar(tarball, &dir);
    let source = std::fs::read_to_string(
        dir.join("wrap-example-tally-2.0.0/lib/python3.11/site-packages/tally/__init__.py"),
    )
    .unwrap();
    (sha, source, run)
}

#[test]
fn cause_09_an_edited_cached_checkout_is_made_again() {
    let ws = Workspace::offline_example();
    let (clean, _, _) = tally_tarball(&ws, &[]);
    let checkout = ws.cache().join("checkouts/tally");
    let key = list(&checkout).into_iter().next().unwrap();
    let file = checkout.join(&key).join("tally/__init__.py");
    // The cached checkout has no working files: a build writes its tree from the index.
    assert!(!file.exists(), "the cached checkout has working files");
    // A file written into it is never read.
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "raise SystemExit('edited in the cache')\n").unwrap();
    let (sha, source, run) = tally_tarball(&ws, &["--rebuild"]);
    assert!(!source.contains("edited in the cache"));
    assert_eq!(sha, clean);
    assert!(!run.stderr().contains("it was made again"), "{}", run.stderr());
    // An edit staged in the checkout's index is found: the checkout is made again.
    ws.git(&checkout.join(&key), &["add", "--", "tally/__init__.py"]);
    let (sha, source, run) = tally_tarball(&ws, &["--rebuild"]);
    assert!(!source.contains("edited in the cache"));
    assert_eq!(sha, clean);
    assert!(
        run.stderr().contains(&format!(
            "the cached checkout at {} has an index that no longer holds the patched tree; it was made again",
            checkout.join(&key).display()
        )),
        "{}",
        run.stderr()
    );
}

#[test]
fn cause_10_a_damaged_mirror_is_fetched_again() {
    let ws = Workspace::offline_example();
    let (clean, _, _) = tally_tarball(&ws, &[]);
    let mirrors = ws.cache().join("git");
    let tally = mirrors.join(list(&mirrors).into_iter().find(|m| m.starts_with("tally-")).unwrap());
    // The commit is there but its tree is gone: what a disk error or an interrupted gc can
    // leave. Unpack the mirror's objects into loose ones, then delete the tree's.
    let packs = tally.join("objects/pack");
    let pack = walkdir(&packs).into_iter().find(|p| p.extension().is_some_and(|e| e == "pack")).unwrap();
    let moved = ws.path().join("moved.pack");
    std::fs::rename(&pack, &moved).unwrap();
    std::fs::remove_file(pack.with_extension("idx")).unwrap();
    let unpacked = Command::new("git")
        .arg("-C")
        .arg(&tally)
        .arg("unpack-objects")
        .stdin(std::fs::File::open(&moved).unwrap())
        .status()
        .unwrap();
    assert!(unpacked.success());
    let tree = ws.git(&tally, &["rev-parse", "2.0.0^{tree}"]);
    std::fs::remove_file(tally.join("objects").join(&tree[..2]).join(&tree[2..])).unwrap();
    std::fs::remove_dir_all(ws.cache().join("checkouts")).unwrap();
    let (sha, _, run) = tally_tarball(&ws, &["--rebuild"]);
    assert_eq!(sha, clean);
    assert!(
        run.stderr().contains("warning: project `tally`: the git mirror of `repos/tally` could not be read"),
        "{}",
        run.stderr()
    );
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    list(dir).into_iter().map(|p| dir.join(p)).collect()
}

#[test]
fn cause_11_submodules_are_refused_not_left_empty() {
    let ws = Workspace::offline_example();
    let repo = ws.repo("tally");
    let commit = ws.git(&repo, &["rev-parse", "HEAD"]);
    ws.git(&repo, &["update-index", "--add", "--cacheinfo", &format!("160000,{commit},vendor/lib")]);
    ws.git(&repo, &["commit", "-q", "-m", "Add a submodule"]);
    ws.git(&repo, &["tag", "2.0.1"]);
    edited(&ws, "ref = \"2.0.0\"", "ref = \"2.0.1\"");
    let run = ws.wrap(&["fetch", "-p", "tally"]);
    assert_eq!(
        run.fails(1),
        format!(
            "error: project `tally`: `vendor/lib` is a git submodule (at {}); wrap does not build projects with submodules",
            &commit[..12]
        )
    );
}

#[test]
fn cause_12_a_lock_edited_by_hand_is_refused_with_its_line() {
    let ws = Workspace::offline_example();
    ws.wrap(&["lock"]).ok();
    let lock = ws.lock_text();
    let path = ws.path().join("wrap.lock");
    let hello_commit =
        lock.split("name = \"hello\"").nth(1).unwrap().split("commit = \"").nth(1).unwrap()[..40].to_string();
    std::fs::write(&path, lock.replace(&hello_commit, "zzzz")).unwrap();
    let e = ws.wrap(&["check", "--locked"]).fails(1);
    assert!(
        e.starts_with("error: wrap.lock:")
            && e.ends_with("project `hello`: commit `zzzz` is not valid: a full commit id (40 hex digits)"),
        "{e}"
    );
    assert_eq!(ws.wrap(&["plan", "--locked"]).fails(1), e);

    // Another real commit of the repository: the tag names a different one.
    let older = ws.git(&ws.repo("hello"), &["rev-parse", "1.0.0^{commit}"]);
    std::fs::write(&path, lock.replace(&hello_commit, &older)).unwrap();
    let e = ws.wrap(&["fetch", "--locked", "-p", "hello"]).fails(1);
    assert_eq!(
        e,
        format!(
            "error: project `hello`: the lock pins {} for `1.1.0`, but `1.1.0` is {} in `repos/hello`",
            &older[..12],
            &hello_commit[..12]
        )
    );
    // A branch pin moved by hand to another commit: its nightly version names the old one.
    let greet_commit =
        lock.split("name = \"greet\"").nth(1).unwrap().split("commit = \"").nth(1).unwrap()[..40].to_string();
    let parent = ws.git(&ws.repo("greet"), &["rev-parse", &format!("{greet_commit}^")]);
    std::fs::write(&path, lock.replace(&greet_commit, &parent)).unwrap();
    let e = ws.wrap(&["fetch", "--locked", "-p", "greet"]).fails(1);
    assert!(e.ends_with("names another commit"), "{e}");
}

#[test]
fn cause_13_values_are_checked_when_the_manifest_is_read() {
    let ws = Workspace::offline_example();
    let original = ws.manifest();
    let cases: [(&str, &str, &str); 5] = [
        (
            "ref = \"2.0.0\"",
            "ref = \"2.0.0\"\npatches = [\"\"]",
            "`patches` = `` is not valid: a path in the manifest's directory tree",
        ),
        (
            "name = \"tally\"",
            "name = \"HELLO\"\npackage_name = \"hello-upper\"",
            "projects `HELLO` and `hello` (line 15) are the same Python distribution name",
        ),
        (
            "name = \"tally\"",
            "name = \"hello_\"\npackage_name = \"hello-under\"",
            "`name` = `hello_` is not valid: a project name starts and ends with a letter or digit",
        ),
        (
            "install_path = \"/opt/wrap-example/{name}-{version}\"",
            "install_path = \"/opt/wrap-example/{name}-{version}/\"",
            "is not in normal form (`.`, `//` or a trailing `/`)",
        ),
        (
            "ref = \"2.0.0\"",
            "ref = \"2.0.0\"\npatches = [\"patches\"]",
            "`patches` = `patches` is not valid: `patches` is not a file",
        ),
    ];
    for (from, to, expected) in cases {
        edited(&ws, from, to);
        let e = check_fails(&ws);
        assert!(e.contains(expected), "{e}");
        ws.write_manifest(&original);
    }
    // my-proj and my_proj: one distribution.
    let two = original
        .replace("name = \"greet\"", "name = \"my-proj\"")
        .replace("name = \"tally\"", "name = \"my_proj\"\npackage_name = \"my-proj-2\"");
    ws.write_manifest(&two);
    let e = check_fails(&ws);
    assert!(
        e.contains("projects `my_proj` and `my-proj` (line 24) are the same Python distribution name"),
        "{e}"
    );
    // A binary manifest: located, not an I/O failure.
    let mut bytes = b"[settings]\nrelease = \"1\xff\"\n".to_vec();
    bytes.extend_from_slice(original.as_bytes());
    std::fs::write(ws.path().join("wrap.toml"), bytes).unwrap();
    assert_eq!(check_fails(&ws), "error: wrap.toml:2:13: the manifest is not UTF-8 text");
}

#[test]
fn cause_14_a_full_disk_leaves_nothing_that_looks_complete() {
    if !support::is_root_or_skip("mounting a small file system") {
        return;
    }
    let ws = Workspace::offline_example();
    let out = ws.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // 40 KiB: room for a checksum file or two, not for the artifacts.
    let mounted =
        Command::new("mount").args(["-t", "tmpfs", "-o", "size=40k", "tmpfs"]).arg(&out).status().unwrap();
    assert!(mounted.success(), "root cannot mount a tmpfs here");
    let run =
        ws.wrap(&["--message-format", "json", "build", "--format", "deb", "--format", "tar", "--out", "out"]);
    let listed = list(&out);
    Command::new("umount").arg(&out).status().unwrap();
    assert_eq!(run.code(), Some(2), "{}", run.stderr());
    assert!(run.stderr().contains("No space left on device"), "{}", run.stderr());
    assert!(run.stderr().contains(&format!("cannot write `{}/", out.display())), "{}", run.stderr());
    let summary = run.event("summary");
    assert_eq!((summary["result"].as_str(), summary["exit_code"].as_i64()), (Some("failed"), Some(2)));
    for outcome in summary["projects"].as_array().unwrap() {
        let prefix = format!("wrap-example-{}", outcome["project"].as_str().unwrap());
        let present: Vec<&String> = listed.iter().filter(|f| f.starts_with(&prefix)).collect();
        if outcome["status"] == "failed" {
            assert!(present.is_empty(), "a failed project left {present:?}");
        }
    }
    for file in &listed {
        assert!(!file.starts_with(".wrap-tmp-"), "temporary file left: {file}");
        if !file.ends_with(".sha256") {
            assert!(listed.contains(&format!("{file}.sha256")), "{file} has no .sha256");
        }
    }
}

#[test]
fn cause_15_a_damaged_output_file_with_its_time_restored_is_replaced() {
    let ws = Workspace::offline_example();
    let (clean, _, run) = tally_tarball(&ws, &[]);
    let path = std::path::PathBuf::from(run.stdout().lines().next().unwrap());
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(before).unwrap();
    let (sha, _, _) = tally_tarball(&ws, &[]);
    assert_eq!(sha, clean);
}

#[test]
fn cause_16_source_date_epoch_out_of_range_is_named() {
    let ws = Workspace::offline_example();
    for value in ["-1", "4294967296", "99999999999", "yesterday"] {
        let run = ws.wrap_env(&["plan"], &[("SOURCE_DATE_EPOCH", value)]);
        assert_eq!(
            run.fails(1),
            format!(
                "error: environment variable SOURCE_DATE_EPOCH=`{value}` is not valid: a Unix time from 0 to 4294967295 (2106-02-07), which tar, ar and RPM headers can hold"
            )
        );
    }
    // 1970 is a date every artifact holds; the wheel of the build is made at 1980.
    let run = ws.wrap_env(
        &["build", "-p", "tally", "--format", "tar", "--out", "out"],
        &[("SOURCE_DATE_EPOCH", "0")],
    );
    let tarball = std::path::PathBuf::from(run.ok().lines().next().unwrap());
    let listing = run_tar_verbose(&tarball);
    assert!(listing.lines().all(|l| l.contains("1970-01-01")), "{listing}");
}

fn run_tar_verbose(tarball: &Path) -> String {
    let out = Command::new("tar").args(["--utc", "-tvzf"]).arg(tarball).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn cause_17_patches_apply_at_an_offset_and_a_tag_of_a_tree_is_named() {
    let ws = Workspace::offline_example();
    let patch = ws.path().join("patches/hello/0002-Add-region-for-the-operators.patch");
    let text = std::fs::read_to_string(&patch).unwrap();
    // Move every hunk three lines away from where it applies, as an older base would.
    let shifted: String = text
        .lines()
        .map(|l| match l.strip_prefix("@@ -").and_then(|r| r.split_once(',')) {
            Some((start, rest)) => format!("@@ -{},{rest}", start.parse::<u32>().unwrap() + 3),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_ne!(shifted, text);
    std::fs::write(&patch, shifted).unwrap();
    ws.wrap(&["fetch", "-p", "hello"]).ok();

    let repo = ws.repo("hello");
    ws.git(&repo, &["tag", "treetag", "HEAD^{tree}"]);
    edited(&ws, "ref = \"1.1.0\"", "ref = \"treetag\"");
    let e = ws.wrap(&["lock"]).fails(1);
    assert_eq!(
        e,
        "error: project `hello`: ref `treetag` in `repos/hello` is a tag of a tree, not of a commit"
    );
}

/// Writes `script` (Python, with `out` as sys.argv[1]) to craft an archive at `out`.
fn craft(dir: &Path, name: &str, script: &str) -> std::path::PathBuf {
    let out = dir.join(name);
    let status = Command::new("python3").args(["-c", script]).arg(&out).status().unwrap();
    assert!(status.success());
    out
}

#[test]
fn cause_18_inspect_reads_regular_files_and_refuses_unsafe_members() {
    let ws = Workspace::offline_example();
    let fifo = ws.path().join("pipe.deb");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let started = std::time::Instant::now();
    assert_eq!(
        ws.wrap(&["inspect", fifo.to_str().unwrap()]).fails(1),
        format!("error: `{}` is not a valid wrap package: it is not a regular file", fifo.display())
    );
    assert!(started.elapsed().as_secs() < 10);

    let tar_with = |name: &str, member: &str| {
        craft(
            ws.path(),
            name,
            &format!(
                "import io, sys, tarfile\nt = tarfile.open(sys.argv[1], 'w:gz')\ni = tarfile.TarInfo('bundle/')\ni.type = tarfile.DIRTYPE\nt.addfile(i)\n{member}\nt.close()\n"
            ),
        )
    };
    for (name, member, problem) in [
        (
            "dotdot.tar.gz",
            "i = tarfile.TarInfo('bundle/../../evil'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))",
            "`bundle/../../evil` climbs out with `..`",
        ),
        (
            "absolute.tar.gz",
            "i = tarfile.TarInfo('/etc/evil'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))",
            "`/etc/evil` is an absolute path",
        ),
        (
            "symlink.tar.gz",
            "i = tarfile.TarInfo('bundle/shadow'); i.type = tarfile.SYMTYPE; i.linkname = '/etc/shadow'; t.addfile(i)",
            "symlink `bundle/shadow` -> `/etc/shadow` leads out of the archive",
        ),
        (
            "uplink.tar.gz",
            "i = tarfile.TarInfo('bundle/up'); i.type = tarfile.SYMTYPE; i.linkname = '../../..'; t.addfile(i)",
            "symlink `bundle/up` -> `../../..` leads out of the archive",
        ),
        (
            "hardlink.tar.gz",
            "i = tarfile.TarInfo('bundle/shadow'); i.type = tarfile.LNKTYPE; i.linkname = '/etc/shadow'; t.addfile(i)",
            "`bundle/shadow` is a hard link to `/etc/shadow`, which is not a member before it",
        ),
        (
            "device.tar.gz",
            "i = tarfile.TarInfo('bundle/disk'); i.type = tarfile.BLKTYPE; i.devmajor = 8; t.addfile(i)",
            "`bundle/disk` is a Block, not a file, directory or link",
        ),
    ] {
        let path = tar_with(name, member);
        let e = ws.wrap(&["inspect", path.to_str().unwrap()]).fails(1);
        assert_eq!(e, format!("error: `{}` holds an unsafe member: {problem}", path.display()));
    }

    // A .deb whose data member climbs out of the root.
    let deb = craft(
        ws.path(),
        "evil.deb",
        "import io, sys, tarfile\ndef tgz(members):\n    b = io.BytesIO()\n    with tarfile.open(fileobj=b, mode='w:gz') as t:\n        for name, data in members:\n            i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))\n    return b.getvalue()\nmembers = [(b'debian-binary', b'2.0\\n'), (b'control.tar.gz', tgz([('./control', b'Package: evil\\nVersion: 1\\nArchitecture: all\\nMaintainer: x <x@example.com>\\nDescription: x\\n x\\n')])), (b'data.tar.gz', tgz([('./../../etc/cron.d/evil', b'* * * * * root true\\n')]))]\nout = b'!<arch>\\n'\nfor name, data in members:\n    out += name.ljust(16) + b'0'.ljust(12) + b'0'.ljust(6) + b'0'.ljust(6) + b'100644'.ljust(8) + str(len(data)).encode().ljust(10) + b'`\\n' + data + (b'\\n' if len(data) % 2 else b'')\nopen(sys.argv[1], 'wb').write(out)\n",
    );
    let e = ws.wrap(&["inspect", deb.to_str().unwrap()]).fails(1);
    assert_eq!(
        e,
        format!(
            "error: `{}` holds an unsafe member: `./../../etc/cron.d/evil` climbs out with `..`",
            deb.display()
        )
    );
    assert!(!Path::new("/etc/cron.d/evil").exists());
}
