//! The templates of packaging/ filled in: [`fill`] for units, overrides and filters, and
//! maintainer scripts, assembled by one function per format:
//! [`deb_scripts`] (postinst, prerm, postrm) and [`rpm_scriptlets`] (%post, %postun). Every
//! value is shell-quoted where it is substituted (`@INSTALL_PATH@` becomes `'/opt/x'`), on top
//! of the grammar the manifest checked it against when it was read: a value can never become
//! shell code. A value with a control character is refused here too: no quoting survives a
//! newline inside a shell comment. Fragments (adding the user, registering the stable path)
//! are templates of their own, filled the same way and indented into the script.

use crate::error::{Error, Result};
use crate::manifest::Bytecode;
use crate::package::spec::PackageSpec;
use crate::package::systemd::units_fragment;

/// What replaces a `@KEY@` of a script template.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// One shell word, quoted where it is placed.
    Word(&'a str),
    /// Script text assembled by this module; a line holding only an empty fragment is dropped.
    Fragment(&'a str),
}

/// `word` as one single-quoted shell word: `it's` → `'it'\''s'`.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Replaces every `@KEY@` of `template`; a line whose placeholder is empty and that holds
/// nothing else (or only `Key=`) is dropped.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    for line in template.split_inclusive('\n') {
        // One pass over the template's text: a value is never read again, so one that holds
        // `@KEY@` stays as it is.
        let mut filled = String::with_capacity(line.len());
        let mut emptied = false;
        let mut rest = line;
        while let Some(at) = rest.find('@') {
            filled.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let known = after.find('@').and_then(|end| {
                values.iter().find(|(key, _)| *key == &after[..end]).map(|(_, value)| (end, *value))
            });
            match known {
                Some((end, value)) => {
                    emptied |= value.is_empty();
                    filled.push_str(value);
                    rest = &after[end + 1..];
                }
                None => {
                    filled.push('@');
                    rest = after;
                }
            }
        }
        filled.push_str(rest);
        let bare = filled.trim();
        if emptied && (bare.is_empty() || bare.ends_with('=')) {
            continue;
        }
        out.push_str(&filled);
    }
    out
}

/// Fills a shell `template`: each `@KEY@` of `values` is replaced, words quoted; a line whose
/// only content was an empty fragment is dropped. A word holding a control character is an
/// error.
pub fn assemble(template: &str, values: &[(&str, Value<'_>)]) -> Result<String> {
    let mut texts = Vec::with_capacity(values.len());
    for (key, value) in values {
        texts.push(match value {
            Value::Word(w) if w.chars().any(char::is_control) => {
                return Err(Error::ScriptValue { key: key.to_string(), value: w.to_string() });
            }
            Value::Word(w) => quote(w),
            Value::Fragment(f) => f.trim_end_matches('\n').to_string(),
        });
    }
    let pairs: Vec<(&str, &str)> =
        values.iter().zip(&texts).map(|((key, _), text)| (*key, text.as_str())).collect();
    Ok(fill(template, &pairs))
}

/// `text` with every line indented by `spaces`.
pub(super) fn indent(text: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    text.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("{pad}{l}\n") }).collect()
}

/// The fragment that creates the system user and group, for `format` (`deb` or `rpm`).
fn add_user(spec: &PackageSpec, template: &str, spaces: usize) -> Result<String> {
    let Some(user) = spec.user.as_deref() else { return Ok(String::new()) };
    // The home is written `/var/lib/'name'`: one word, and lintian sees the `--home /` it wants.
    Ok(indent(&assemble(template, &[("USER", Value::Word(user))])?, spaces))
}

/// The fragment that registers (`install`) or unregisters the stable path.
fn alternatives(spec: &PackageSpec, install: bool, spaces: usize) -> Result<String> {
    let Some(a) = &spec.alternative else { return Ok(String::new()) };
    let priority = a.priority.to_string();
    // Each command on PATH follows the group: `--slave /usr/bin/<c> <group>-<c> <path>/bin/<c>`,
    // every word quoted here as a Word would be.
    let mut slaves = String::new();
    for c in &a.commands {
        let words = [format!("/usr/bin/{c}"), format!("{}-{c}", a.name), format!("{}/bin/{c}", a.path)];
        if let Some(w) = words.iter().find(|w| w.chars().any(char::is_control)) {
            return Err(Error::ScriptValue { key: "SLAVES".into(), value: w.clone() });
        }
        slaves.push_str(" --slave");
        for w in &words {
            slaves.push(' ');
            slaves.push_str(&quote(w));
        }
    }
    let values = [
        ("LINK", Value::Word(&a.link)),
        ("NAME", Value::Word(&a.name)),
        ("PATH", Value::Word(&a.path)),
        ("PRIORITY", Value::Word(&priority)),
        ("SLAVES", Value::Fragment(&slaves)),
    ];
    let template = if install {
        include_str!("../../packaging/fragments/alternatives-install")
    } else {
        include_str!("../../packaging/fragments/alternatives-remove")
    };
    Ok(indent(&assemble(template, &values)?, spaces))
}

/// The fragment that byte-compiles the bundle on the host, for `bytecode = "install"` only.
fn compile_bytecode(spec: &PackageSpec, spaces: usize) -> Result<String> {
    if spec.bytecode != Bytecode::Install {
        return Ok(String::new());
    }
    let template = include_str!("../../packaging/fragments/compile-bytecode");
    let values = [("INSTALL_PATH", Value::Word(&spec.install_path)), ("PACKAGE", Value::Word(&spec.name))];
    Ok(indent(&assemble(template, &values)?, spaces))
}

fn remove_bytecode(spec: &PackageSpec, spaces: usize) -> Result<String> {
    let template = include_str!("../../packaging/fragments/remove-bytecode");
    Ok(indent(&assemble(template, &[("INSTALL_PATH", Value::Word(&spec.install_path))])?, spaces))
}

/// The operator's own fragment for `hook`, as script text: a subshell (so that an `exit` in it
/// ends the fragment, not wrap's script; `set -e` holds in it) with the script's arguments.
fn operator(spec: &PackageSpec, hook: &str) -> String {
    spec.scripts.get(hook).map_or(String::new(), |s| {
        format!(
            "# The operator's own `scripts.{hook}` ({}), with this script's arguments.\n(\n{}\n)\n",
            s.rel,
            s.text.trim_end()
        )
    })
}

/// `text` (a script holding the operator's fragment for `hook`) as `sh -n` reads it: a
/// fragment that is not valid shell fails the build, not the host.
fn checked(spec: &PackageSpec, hook: &str, text: String) -> Result<String> {
    let Some(script) = spec.scripts.get(hook) else { return Ok(text) };
    let mut child = std::process::Command::new("sh")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::Command { program: "sh".into(), detail: e.to_string() })?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if out.status.success() {
        return Ok(text);
    }
    Err(Error::ScriptSyntax {
        project: spec.project.clone(),
        hook: hook.into(),
        file: script.rel.clone(),
        problem: String::from_utf8_lossy(&out.stderr).trim().replace('\n', "; "),
    })
}

/// The .deb's maintainer scripts: (name, text); a preinst only for the operator's fragment, a
/// postinst only when it has something to do.
pub fn deb_scripts(spec: &PackageSpec) -> Result<Vec<(&'static str, String)>> {
    let add_user = add_user(spec, include_str!("../../packaging/fragments/add-user.deb"), 8)?;
    let install = alternatives(spec, true, 8)?;
    let remove = alternatives(spec, false, 8)?;
    let bytecode = remove_bytecode(spec, 8)?;
    let compile = compile_bytecode(spec, 8)?;
    let (package, path) = (Value::Word(&spec.name), Value::Word(&spec.install_path));
    let own = |hook| operator(spec, hook);
    let mut scripts = Vec::new();
    if spec.scripts.contains_key("preinst") {
        let preinst = assemble(
            include_str!("../../packaging/deb/preinst"),
            &[("PACKAGE", package), ("OPERATOR", Value::Fragment(&own("preinst")))],
        )?;
        scripts.push(("preinst", preinst));
    }
    // Nothing to do after unpacking: no postinst at all (lintian refuses an empty one).
    let enable = units_fragment(spec, "postinst", 8);
    let idle = [&add_user, &install, &compile, &enable, &own("postinst")].iter().all(|f| f.is_empty());
    let postinst = assemble(
        include_str!("../../packaging/deb/postinst"),
        &[
            ("PACKAGE", package),
            ("ADD_USER", Value::Fragment(&add_user)),
            ("ALTERNATIVES", Value::Fragment(&install)),
            ("COMPILE_BYTECODE", Value::Fragment(&compile)),
            ("UNITS", Value::Fragment(&enable)),
            ("OPERATOR", Value::Fragment(&own("postinst"))),
        ],
    )?;
    if !idle {
        scripts.push(("postinst", postinst));
    }
    let prerm = assemble(
        include_str!("../../packaging/deb/prerm"),
        &[
            ("PACKAGE", package),
            ("INSTALL_PATH", path),
            ("ALTERNATIVES", Value::Fragment(&remove)),
            ("UNITS", Value::Fragment(&units_fragment(spec, "prerm", 8))),
            ("OPERATOR", Value::Fragment(&own("prerm"))),
        ],
    )?;
    scripts.push(("prerm", prerm));
    let postrm = assemble(
        include_str!("../../packaging/deb/postrm"),
        &[
            ("PACKAGE", package),
            ("REMOVE_BYTECODE", Value::Fragment(&bytecode)),
            ("UNITS", Value::Fragment(&units_fragment(spec, "postrm", 8))),
            ("OPERATOR", Value::Fragment(&own("postrm"))),
        ],
    )?;
    scripts.push(("postrm", postrm));
    scripts.into_iter().map(|(name, text)| Ok((name, checked(spec, name, text)?))).collect()
}

/// The .rpm's scriptlets by name (`pre`, `post`, `preun`, `postun`): %postun always, %post when
/// the package creates a user or a stable path, compiles bytecode or the operator has one, %pre
/// and %preun for the operator's fragments only.
pub fn rpm_scriptlets(spec: &PackageSpec) -> Result<Vec<(&'static str, String)>> {
    let add_user = add_user(spec, include_str!("../../packaging/fragments/add-user.rpm"), 0)?;
    let install = alternatives(spec, true, 0)?;
    let compile = compile_bytecode(spec, 0)?;
    let package = Value::Word(&spec.name);
    let own = |hook| operator(spec, hook);
    let mut scripts = Vec::new();
    if spec.scripts.contains_key("pre") {
        let text = assemble(
            include_str!("../../packaging/rpm/operator"),
            &[
                ("HOOK", Value::Fragment("pre")),
                ("PACKAGE", package),
                ("OPERATOR", Value::Fragment(&own("pre"))),
            ],
        )?;
        scripts.push(("pre", text));
    }
    let preun = units_fragment(spec, "preun", 0);
    if spec.scripts.contains_key("preun") || !preun.is_empty() {
        let text = assemble(
            include_str!("../../packaging/rpm/preun"),
            &[
                ("PACKAGE", package),
                ("OPERATOR", Value::Fragment(&own("preun"))),
                ("UNITS", Value::Fragment(&preun)),
            ],
        )?;
        scripts.push(("preun", text));
    }
    let (post, enable) = (own("post"), units_fragment(spec, "post", 0));
    if !(add_user.is_empty()
        && install.is_empty()
        && compile.is_empty()
        && post.is_empty()
        && enable.is_empty())
    {
        let text = assemble(
            include_str!("../../packaging/rpm/post"),
            &[
                ("PACKAGE", package),
                ("ADD_USER", Value::Fragment(&add_user)),
                ("ALTERNATIVES", Value::Fragment(&install)),
                ("COMPILE_BYTECODE", Value::Fragment(&compile)),
                ("UNITS", Value::Fragment(&enable)),
                ("OPERATOR", Value::Fragment(&post)),
            ],
        )?;
        scripts.push(("post", text));
    }
    let remove = alternatives(spec, false, 4)?;
    let bytecode = remove_bytecode(spec, 4)?;
    let postun = assemble(
        include_str!("../../packaging/rpm/postun"),
        &[
            ("PACKAGE", package),
            ("ALTERNATIVES", Value::Fragment(&remove)),
            ("REMOVE_BYTECODE", Value::Fragment(&bytecode)),
            ("UNITS", Value::Fragment(&units_fragment(spec, "postun", 0))),
            ("OPERATOR", Value::Fragment(&own("postun"))),
        ],
    )?;
    scripts.push(("postun", postun));
    scripts.into_iter().map(|(name, text)| Ok((name, checked(spec, name, text)?))).collect()
}

#[cfg(test)]
mod tests {
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
        spec
    }

    /// Runs `script` with `args` under dash in `dir`, with every command it calls replaced by
    /// a stub that records its arguments; returns the record.
    fn run_in_dash(dir: &Path, script: &str, args: &[&str]) -> String {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let tools = ["getent", "addgroup", "adduser", "groupadd", "useradd", "update-alternatives", "find"];
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
            scripts.push(("%post".into(), rpm["post"].clone(), &["1"]));
            scripts.push(("%postun".into(), rpm["postun"].clone(), &["0"]));
            for (name, text, args) in scripts {
                let dir = tempfile::tempdir().unwrap();
                let calls = run_in_dash(dir.path(), &text, args);
                assert!(!dir.path().join("PWNED").exists(), "{name} ran a manifest value:\n{text}");
                // Each command saw the hostile value as one argument, unchanged.
                if name == "postinst" || name == "%post" {
                    assert!(calls.contains(&format!("[{value}-link]")), "{name}: {calls}");
                    assert!(calls.contains(&format!("[u{value}]")), "{name}: {calls}");
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
        assert!(
            calls.contains("adduser [--system] [--ingroup] [hello] [--home] [/var/lib/hello]"),
            "{calls}"
        );
        assert!(postinst.contains("--home /var/lib/'hello' "), "{postinst}");
    }

    #[test]
    fn only_bytecode_install_compiles_on_the_host() {
        for (policy, compiles) in
            [(Bytecode::Build, false), (Bytecode::Install, true), (Bytecode::None, false)]
        {
            let mut spec = crate::package::spec::tests::spec(Path::new("/nonexistent"));
            spec.bytecode = policy;
            let scripts = deb_scripts(&spec).unwrap();
            let rpm: std::collections::BTreeMap<_, _> = rpm_scriptlets(&spec).unwrap().into_iter().collect();
            let (post, postun) = (rpm["post"].clone(), rpm["postun"].clone());
            for text in [&scripts[0].1, &post] {
                assert_eq!(
                    text.matches("-m compileall -q -j 0").count() > 0,
                    compiles,
                    "{policy:?}:\n{text}"
                );
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
        let (wrap_at, operator_at) = (
            calls.find("update-alternatives [--install]"),
            calls.find("find [operator-postinst] [configure]"),
        );
        assert!(wrap_at.is_some() && operator_at > wrap_at, "postinst: wrap's work first:\n{calls}");
        let dir = tempfile::tempdir().unwrap();
        let calls = run_in_dash(dir.path(), &deb["prerm"], &["remove"]);
        let (operator_at, wrap_at) =
            (calls.find("find [operator-prerm] [remove]"), calls.find("update-alternatives [--remove]"));
        assert!(operator_at.is_some() && wrap_at > operator_at, "prerm: the operator's first:\n{calls}");
        let dir = tempfile::tempdir().unwrap();
        assert!(
            run_in_dash(dir.path(), &deb["preinst"], &["install"])
                .contains("find [operator-preinst] [install]")
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
        assert!(
            e.starts_with("project `hello`: `scripts/x` (`scripts.postinst`) is not valid shell: "),
            "{e}"
        );
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
}
