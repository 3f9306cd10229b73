//! The maintainer scripts, run: hostile values stay words, every policy's scripts under dash.
use super::*;
use crate::manifest::EnableUnits;
use crate::package::spec::Alternative;
use std::path::Path;
use std::process::Command;

#[test]
fn templates_fill_and_drop_empty_lines() {
    let t = "a=@A@\n@B@\nUser=@C@\nend @A@\n";
    assert_eq!(fill(t, &[("A", "1"), ("B", ""), ("C", "")]), "a=1\nend 1\n");
    assert_eq!(fill(t, &[("A", "1"), ("B", "b"), ("C", "nova")]), "a=1\nb\nUser=nova\nend 1\n");
    // A value is not filled in again, and an unknown `@X@` stays.
    assert_eq!(fill("@A@ @B@ @X@\n", &[("A", "@B@"), ("B", "b")]), "@B@ b @X@\n");
    assert_eq!(fill("a@b.c @A@\n", &[("A", "1")]), "a@b.c 1\n");
}

#[test]
fn words_are_quoted_and_empty_fragments_dropped() {
    assert_eq!(quote("/opt/x"), "'/opt/x'");
    assert_eq!(quote("it's"), "'it'\\''s'");
    let t = "a @W@/bin\n@F@\nb\n";
    let fill = |w, f| assemble(t, &[("W", Value::Word(w)), ("F", Value::Fragment(f))]);
    assert_eq!(fill("$(x)", "").unwrap(), "a '$(x)'/bin\nb\n");
    assert_eq!(fill("y", "  f\n").unwrap(), "a 'y'/bin\n  f\nb\n");
    let e = fill("/opt/x\ntouch PWNED", "").unwrap_err();
    assert_eq!(
        e.to_string(),
        "`/opt/x\\ntouch PWNED` cannot be written into a maintainer script as @W@: it holds a control character"
    );
}

/// Values no manifest would let through: what the scripts must survive by quoting alone.
/// (Control characters are refused by [`assemble`]; see the test above.)
const HOSTILE: [&str; 6] = [
    "/opt/x$(touch PWNED)",
    "/opt/x'; touch PWNED; '",
    "/opt/x`touch PWNED`",
    "/opt/x\"; touch PWNED; \"",
    "/opt/x&>PWNED&b",
    "/opt/x;touch PWNED #",
];

fn hostile_spec(value: &str) -> PackageSpec {
    let mut spec = crate::package::spec::tests::spec(Path::new("/nonexistent"));
    spec.name = format!("pkg{value}");
    spec.install_path = value.to_string();
    spec.user = Some(format!("u{value}"));
    spec.bytecode = Bytecode::Install;
    spec.alternative = Some(Alternative {
        name: format!("n{value}"),
        link: format!("{value}-link"),
        path: value.to_string(),
        priority: 7,
        commands: vec![format!("c{value}")],
    });
    // A manifest's directory given to the user: its owner and path reach the postinst.
    spec.extra_files = vec![crate::plan::files::PlannedFile {
        dest: format!("/var/lib/d{value}"),
        kind: crate::manifest::files::FileKind::Directory,
        mode: None,
        owner: format!("u{value}"),
        group: format!("g{value}"),
        config: false,
        only: None,
    }];
    spec
}

/// Runs `script` with `args` under dash in `dir`, with every command it calls replaced by
/// a stub that records its arguments; returns the record.
fn run_in_dash(dir: &Path, script: &str, args: &[&str]) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let tools =
        ["getent", "addgroup", "adduser", "groupadd", "useradd", "update-alternatives", "find", "chown"];
    for tool in tools.into_iter().chain(["deb-systemd-helper", "deb-systemd-invoke", "systemctl"]) {
        let stub = format!(
            "#!/bin/sh\nprintf '%s' {tool} >> calls\nfor a in \"$@\"; do printf ' [%s]' \"$a\" >> calls; done\necho >> calls\n[ {tool} != getent ]\n"
        );
        std::fs::write(bin.join(tool), stub).unwrap();
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(bin.join(tool), executable).unwrap();
    }
    std::fs::write(dir.join("script"), script).unwrap();
    let syntax = Command::new("sh").arg("-n").arg(dir.join("script")).output().unwrap();
    assert!(syntax.status.success(), "sh -n: {}\n{script}", String::from_utf8_lossy(&syntax.stderr));
    Command::new("dash")
        .arg(dir.join("script"))
        .args(args)
        .current_dir(dir)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    std::fs::read_to_string(dir.join("calls")).unwrap_or_default()
}

#[test]
fn hostile_values_stay_words_in_every_script() {
    for value in HOSTILE {
        let spec = hostile_spec(value);
        let mut scripts: Vec<(String, String, &[&str])> = deb_scripts(&spec)
            .unwrap()
            .into_iter()
            .map(|(name, text)| {
                let args: &[&str] = match name {
                    "postinst" => &["configure"],
                    "prerm" | "postrm" => &["remove"],
                    _ => &[],
                };
                (name.to_string(), text, args)
            })
            .collect();
        let rpm: std::collections::BTreeMap<_, _> = rpm_scriptlets(&spec).unwrap().into_iter().collect();
        scripts.push(("%pre".into(), rpm["pre"].clone(), &["1"]));
        scripts.push(("%post".into(), rpm["post"].clone(), &["1"]));
        scripts.push(("%postun".into(), rpm["postun"].clone(), &["0"]));
        for (name, text, args) in scripts {
            let dir = tempfile::tempdir().unwrap();
            let calls = run_in_dash(dir.path(), &text, args);
            assert!(!dir.path().join("PWNED").exists(), "{name} ran a manifest value:\n{text}");
            // Each command saw the hostile value as one argument, unchanged.
            if name == "postinst" || name == "%pre" {
                assert!(calls.contains(&format!("[u{value}]")), "{name}: {calls}");
            }
            if name == "postinst" {
                let chown = format!("chown [-h] [u{value}:g{value}] [/var/lib/d{value}]");
                assert!(calls.contains(&chown), "{name}: {calls}");
            }
            if name == "postinst" || name == "%post" {
                assert!(calls.contains(&format!("[{value}-link]")), "{name}: {calls}");
                assert!(
                    calls.contains(&format!("[--slave] [/usr/bin/c{value}] [n{value}-c{value}]")),
                    "{name}: {calls}"
                );
            }
            if name == "prerm" || name == "%postun" {
                assert!(
                    calls.contains(&format!("update-alternatives [--remove] [n{value}] [{value}]")),
                    "{name}: {calls}"
                );
            }
        }
    }
}

#[test]
fn ordinary_scripts_pass_sh_n_and_dash() {
    let mut spec = crate::package::spec::tests::spec(Path::new("/nonexistent"));
    spec.alternative = Some(Alternative {
        name: "opt-wrap-hello".into(),
        link: "/opt/wrap/hello".into(),
        path: "/opt/wrap/hello-1.1.0".into(),
        priority: 1_010_050,
        commands: vec!["hello".into()],
    });
    let dir = tempfile::tempdir().unwrap();
    let (_, postinst) = deb_scripts(&spec).unwrap().remove(0);
    let calls = run_in_dash(dir.path(), &postinst, &["configure"]);
    assert!(
        calls.contains(
            "update-alternatives [--install] [/opt/wrap/hello] [opt-wrap-hello] [/opt/wrap/hello-1.1.0] [1010050] [--slave] [/usr/bin/hello] [opt-wrap-hello-hello] [/opt/wrap/hello-1.1.0/bin/hello]"
        ),
        "{calls}"
    );
    assert!(calls.contains("adduser [--system] [--ingroup] [hello] [--home] [/var/lib/hello]"), "{calls}");
    assert!(postinst.contains("--home /var/lib/'hello' "), "{postinst}");
}

#[test]
fn only_bytecode_install_compiles_on_the_host() {
    for (policy, compiles) in [(Bytecode::Build, false), (Bytecode::Install, true), (Bytecode::None, false)] {
        let mut spec = crate::package::spec::tests::spec(Path::new("/nonexistent"));
        spec.bytecode = policy;
        let scripts = deb_scripts(&spec).unwrap();
        let rpm: std::collections::BTreeMap<_, _> = rpm_scriptlets(&spec).unwrap().into_iter().collect();
        let (post, postun) = (rpm.get("post").cloned().unwrap_or_default(), rpm["postun"].clone());
        for text in [&scripts[0].1, &post] {
            assert_eq!(text.matches("-m compileall -q -j 0").count() > 0, compiles, "{policy:?}:\n{text}");
            let dir = tempfile::tempdir().unwrap();
            run_in_dash(dir.path(), text, &["configure"]);
        }
        // Whatever the policy, nothing Python wrote is left behind.
        assert!(scripts[2].1.contains("-name __pycache__"), "{}", scripts[2].1);
        assert!(postun.contains("-name __pycache__"), "{postun}");
    }
}

#[test]
fn operator_fragments_run_at_their_points_and_bad_shell_fails_the_build() {
    let mut spec = crate::package::spec::tests::spec(Path::new("/nonexistent"));
    spec.alternative = Some(Alternative {
        name: "opt-wrap-hello".into(),
        link: "/opt/wrap/hello".into(),
        path: "/opt/wrap/hello-1.1.0".into(),
        priority: 1,
        commands: vec![],
    });
    let fragment = |text: &str| crate::manifest::Script { rel: "scripts/x".into(), text: text.into() };
    for hook in ["preinst", "postinst", "prerm", "postrm", "pre", "post", "preun", "postun"] {
        // `exit 0` ends the fragment, not wrap's script.
        spec.scripts.insert(hook.into(), fragment(&format!("find operator-{hook} \"$1\"\nexit 0\n")));
    }
    let deb: std::collections::BTreeMap<_, _> = deb_scripts(&spec).unwrap().into_iter().collect();
    assert_eq!(deb.keys().copied().collect::<Vec<_>>(), ["postinst", "postrm", "preinst", "prerm"]);
    let dir = tempfile::tempdir().unwrap();
    let calls = run_in_dash(dir.path(), &deb["postinst"], &["configure"]);
    let (wrap_at, operator_at) =
        (calls.find("update-alternatives [--install]"), calls.find("find [operator-postinst] [configure]"));
    assert!(wrap_at.is_some() && operator_at > wrap_at, "postinst: wrap's work first:\n{calls}");
    let dir = tempfile::tempdir().unwrap();
    let calls = run_in_dash(dir.path(), &deb["prerm"], &["remove"]);
    let (operator_at, wrap_at) =
        (calls.find("find [operator-prerm] [remove]"), calls.find("update-alternatives [--remove]"));
    assert!(operator_at.is_some() && wrap_at > operator_at, "prerm: the operator's first:\n{calls}");
    let dir = tempfile::tempdir().unwrap();
    assert!(
        run_in_dash(dir.path(), &deb["preinst"], &["install"]).contains("find [operator-preinst] [install]")
    );
    let rpm: std::collections::BTreeMap<_, _> = rpm_scriptlets(&spec).unwrap().into_iter().collect();
    assert_eq!(rpm.keys().copied().collect::<Vec<_>>(), ["post", "postun", "pre", "preun"]);
    for (hook, arg) in [("pre", "1"), ("preun", "0"), ("postun", "0")] {
        let dir = tempfile::tempdir().unwrap();
        let calls = run_in_dash(dir.path(), &rpm[hook], &[arg]);
        assert!(calls.contains(&format!("find [operator-{hook}] [{arg}]")), "{hook}: {calls}");
    }
    // A fragment the shell cannot read fails the build, naming its file and hook.
    spec.scripts.insert("postinst".into(), fragment("if true; then\n"));
    let e = deb_scripts(&spec).unwrap_err().to_string();
    assert!(e.starts_with("project `hello`: `scripts/x` (`scripts.postinst`) is not valid shell: "), "{e}");
}

#[test]
fn a_postinst_with_nothing_to_do_is_not_written() {
    let mut spec = crate::package::spec::tests::spec(Path::new("/nonexistent"));
    spec.user = None;
    let names =
        |spec: &PackageSpec| deb_scripts(spec).unwrap().into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(names(&spec), ["prerm", "postrm"]);
    spec.bytecode = Bytecode::Install;
    assert_eq!(names(&spec), ["postinst", "prerm", "postrm"]);
}

#[test]
fn units_are_enabled_on_the_first_install_only_and_disabled_on_erase() {
    let mut spec = crate::package::spec::tests::spec(Path::new("/nonexistent"));
    spec.units = vec!["/usr/lib/systemd/system/hello.service".into()];
    let deb = |spec: &PackageSpec| -> std::collections::BTreeMap<_, _> {
        deb_scripts(spec).unwrap().into_iter().collect()
    };
    // `none`, the default: installed only; stopped before a removal where systemd runs.
    let scripts = deb(&spec);
    assert!(!scripts["postinst"].contains("deb-systemd"), "{}", scripts["postinst"]);
    assert!(scripts["prerm"].contains("systemctl stop 'hello.service'"), "{}", scripts["prerm"]);
    spec.enable_units = EnableUnits::EnableAndStart;
    spec.restart_on_upgrade = true;
    let scripts = deb(&spec);
    let dir = tempfile::tempdir().unwrap();
    let first = run_in_dash(dir.path(), &scripts["postinst"], &["configure"]);
    assert!(first.contains("deb-systemd-helper [enable] [hello.service]"), "{first}");
    let dir = tempfile::tempdir().unwrap();
    let upgrade = run_in_dash(dir.path(), &scripts["postinst"], &["configure", "1.0.0-1"]);
    assert!(!upgrade.contains("[enable]"), "an upgrade enables nothing: {upgrade}");
    // Started and restarted only where systemd runs (not in this test's sandbox).
    assert!(scripts["postinst"].contains(
        "if [ -z \"$2\" ] && [ -d /run/systemd/system ]; then deb-systemd-invoke start 'hello.service'"
    ));
    assert!(scripts["postinst"].contains("deb-systemd-invoke try-restart 'hello.service'"));
    let dir = tempfile::tempdir().unwrap();
    let purge = run_in_dash(dir.path(), &scripts["postrm"], &["purge"]);
    assert!(purge.contains("deb-systemd-helper [purge] [hello.service]"), "{purge}");
    let rpm: std::collections::BTreeMap<_, _> = rpm_scriptlets(&spec).unwrap().into_iter().collect();
    let dir = tempfile::tempdir().unwrap();
    let post = run_in_dash(dir.path(), &rpm["post"], &["1"]);
    assert!(post.contains("systemctl [--no-reload] [enable] [hello.service]"), "{post}");
    let dir = tempfile::tempdir().unwrap();
    let erase = run_in_dash(dir.path(), &rpm["preun"], &["0"]);
    assert!(erase.contains("systemctl [--no-reload] [disable] [--now] [hello.service]"), "{erase}");
    let dir = tempfile::tempdir().unwrap();
    assert!(
        !run_in_dash(dir.path(), &rpm["preun"], &["1"]).contains("disable"),
        "an upgrade disables nothing"
    );
}
