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
    if spec.bytecode != Bytecode::Install || !spec.bundle {
        return Ok(String::new());
    }
    let template = include_str!("../../packaging/fragments/compile-bytecode");
    let values = [("INSTALL_PATH", Value::Word(&spec.install_path)), ("PACKAGE", Value::Word(&spec.name))];
    Ok(indent(&assemble(template, &values)?, spaces))
}

/// Removing the bytecode below the install path (`template`: before or after dpkg's work); a
/// metapackage holds no bundle, and leaves its versioned package's alone.
fn remove_bytecode(spec: &PackageSpec, template: &str, spaces: usize) -> Result<String> {
    if !spec.bundle {
        return Ok(String::new());
    }
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
    // dpkg unpacked the manifest's files as root: their owners once the user exists (both
    // fragments are whole lines, or empty).
    let add_user = add_user(spec, include_str!("../../packaging/fragments/add-user.deb"), 8)?
        + &crate::package::extra::chown_fragment(&spec.extra_files, 8)?;
    let install = alternatives(spec, true, 8)?;
    let remove = alternatives(spec, false, 8)?;
    let bytecode = remove_bytecode(spec, include_str!("../../packaging/fragments/remove-bytecode"), 8)?;
    let compile = compile_bytecode(spec, 8)?;
    let package = Value::Word(&spec.name);
    let prerm_bytecode = remove_bytecode(spec, include_str!("../../packaging/fragments/prerm-bytecode"), 4)?;
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
            ("REMOVE_BYTECODE", Value::Fragment(&prerm_bytecode)),
            ("ALTERNATIVES", Value::Fragment(&remove)),
            ("UNITS", Value::Fragment(&units_fragment(spec, "prerm", 8))),
            ("OPERATOR", Value::Fragment(&own("prerm"))),
        ],
    )?;
    // A metapackage with nothing to undo has no prerm or postrm (lintian refuses empty ones).
    let units = |hook| units_fragment(spec, hook, 8);
    if spec.bundle || [&remove, &units("prerm"), &own("prerm")].iter().any(|f| !f.is_empty()) {
        scripts.push(("prerm", prerm));
    }
    let postrm = assemble(
        include_str!("../../packaging/deb/postrm"),
        &[
            ("PACKAGE", package),
            ("REMOVE_BYTECODE", Value::Fragment(&bytecode)),
            ("UNITS", Value::Fragment(&units_fragment(spec, "postrm", 8))),
            ("OPERATOR", Value::Fragment(&own("postrm"))),
        ],
    )?;
    if spec.bundle || [&bytecode, &units("postrm"), &own("postrm")].iter().any(|f| !f.is_empty()) {
        scripts.push(("postrm", postrm));
    }
    scripts.into_iter().map(|(name, text)| Ok((name, checked(spec, name, text)?))).collect()
}

/// The .rpm's scriptlets by name (`pre`, `post`, `preun`, `postun`): %postun unless a
/// metapackage has nothing to undo, %pre when
/// the package creates a user or the operator has one, %post when it makes a stable path,
/// compiles bytecode, enables units or the operator has one, %preun for units and the operator.
pub fn rpm_scriptlets(spec: &PackageSpec) -> Result<Vec<(&'static str, String)>> {
    let add_user = add_user(spec, include_str!("../../packaging/fragments/add-user.rpm"), 0)?;
    let install = alternatives(spec, true, 0)?;
    let compile = compile_bytecode(spec, 0)?;
    let package = Value::Word(&spec.name);
    let own = |hook| operator(spec, hook);
    let mut scripts = Vec::new();
    // The user is made before the payload is unpacked, so that rpm gives files their owner.
    if spec.scripts.contains_key("pre") || !add_user.is_empty() {
        let fragments =
            [("ADD_USER", Value::Fragment(&add_user)), ("OPERATOR", Value::Fragment(&own("pre")))];
        let text = assemble(
            include_str!("../../packaging/rpm/pre"),
            &[&[("PACKAGE", package)], &fragments[..]].concat(),
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
    if !(install.is_empty() && compile.is_empty() && post.is_empty() && enable.is_empty()) {
        let text = assemble(
            include_str!("../../packaging/rpm/post"),
            &[
                ("PACKAGE", package),
                ("ALTERNATIVES", Value::Fragment(&install)),
                ("COMPILE_BYTECODE", Value::Fragment(&compile)),
                ("UNITS", Value::Fragment(&enable)),
                ("OPERATOR", Value::Fragment(&post)),
            ],
        )?;
        scripts.push(("post", text));
    }
    let remove = alternatives(spec, false, 4)?;
    let bytecode = remove_bytecode(spec, include_str!("../../packaging/fragments/remove-bytecode"), 4)?;
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
    let units = units_fragment(spec, "postun", 0);
    if spec.bundle || [&remove, &units, &own("postun")].iter().any(|f| !f.is_empty()) {
        scripts.push(("postun", postun));
    }
    scripts.into_iter().map(|(name, text)| Ok((name, checked(spec, name, text)?))).collect()
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
