//! The shape of the source tree, checked on every test run: no module imports one above it in
//! the pipeline, no file passes 600 lines, no function passes 80. Reads src/ as text; a
//! small lexer drops comments, strings and character literals before braces are counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The pipeline from the bottom up: a module may import its own rank and those below it.
const RANKS: &[(&str, u32)] = &[
    // Helpers that every stage may use.
    ("error", 0),
    ("fs", 0),
    ("giturl", 0),
    ("digest", 0),
    ("time", 0),
    ("version", 0),
    ("pyenv", 0),
    ("host", 0),
    ("interrupt", 0),
    ("archive", 0),
    ("compress", 0),
    ("signing", 0),
    ("artifact", 0),
    ("oci", 0),
    ("registry", 0),
    // The local store (mirrors, checkouts, artifacts by key, file locks).
    ("cache", 1),
    ("manifest", 2),
    ("lock", 3),
    ("plan", 4),
    ("source", 5),
    ("venv", 6),
    ("package", 7),
    ("provenance", 7),
    // Running the stages and talking to the user.
    ("build", 8),
    ("publish", 8),
    ("report", 8),
    ("commands", 9),
    ("cli", 9),
    ("fuzz", 9),
    ("lib", 10),
    ("main", 10),
];

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a file belongs to: `src/cache/store.rs` → `cache`.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

fn rank(module: &str) -> Option<u32> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// `text` with comments, string and character literals blanked (newlines kept), so that what
/// is left is code: its paths and its braces.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep_lines = |s: &[u8], out: &mut String| {
        out.extend(s.iter().filter(|c| **c == b'\n').map(|_| '\n'));
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|c| *c == b'\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(rest.len(), |e| e + 4);
            keep_lines(&rest[..end], &mut out);
            i += end;
        } else if rest.starts_with(b"r#") || rest.starts_with(b"r\"") || rest.starts_with(b"br") {
            let start = if rest[0] == b'b' { 2 } else { 1 };
            let hashes = rest[start..].iter().take_while(|c| **c == b'#').count();
            if rest.get(start + hashes) != Some(&b'"') {
                out.push(rest[0] as char);
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let body = start + hashes + 1;
            let end = text[i + body..].find(&close).map_or(rest.len(), |e| body + e + close.len());
            keep_lines(&rest[..end], &mut out);
            out.push_str("\"\"");
            i += end;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            keep_lines(&rest[..j.min(rest.len())], &mut out);
            out.push_str("\"\"");
            i += j + 1;
        } else if rest[0] == b'\'' {
            // A character literal ('x', '\n', '\''), else a lifetime or label.
            let len = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|c| *c == b'\'').map(|p| p + 3)
            } else {
                let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (rest.get(1 + ch) == Some(&b'\'')).then_some(ch + 2)
            };
            match len {
                Some(len) => {
                    out.push_str("' '");
                    i += len;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[test]
fn no_module_imports_one_above_it() {
    let mut wrong = Vec::new();
    for path in sources() {
        let module = module_of(&path);
        let own =
            rank(&module).unwrap_or_else(|| panic!("{}: module `{module}` has no rank", path.display()));
        let code = code_only(&std::fs::read_to_string(&path).unwrap());
        let mut seen = BTreeMap::new();
        for (n, line) in code.lines().enumerate() {
            for (at, _) in line.match_indices("crate::") {
                let name: String =
                    line[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let Some(theirs) = rank(&name) else { continue };
                if theirs > own {
                    seen.entry(name).or_insert(n + 1);
                }
            }
        }
        for (name, line) in seen {
            wrong.push(format!("{}:{line}: `{module}` imports `{name}`, above it", path.display()));
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn no_file_over_600_lines_no_function_over_80() {
    let mut wrong = Vec::new();
    for path in sources() {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text.lines().count();
        if lines > 600 {
            wrong.push(format!("{}: {lines} lines", path.display()));
        }
        for (name, line, length) in functions(&code_only(&text)) {
            if length > 80 {
                wrong.push(format!("{}:{line}: fn {name} is {length} lines", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "too long:\n{}", wrong.join("\n"));
}

/// Every `fn` with a body: its name, first line and length in lines (signature to closing brace).
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(at) = find_fn(line) else { continue };
        let name: String =
            line[at + 3..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        // The body opens at the first `{` after the signature, unless a `;` ends it first.
        let mut depth = 0i64;
        let mut opened = false;
        'scan: for (m, l) in lines.iter().enumerate().skip(n) {
            let from = if m == n { at } else { 0 };
            for c in l[from..].chars() {
                match c {
                    ';' if !opened && depth == 0 => break 'scan,
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth -= 1;
                        if opened && depth == 0 {
                            out.push((name.clone(), n + 1, m - n + 1));
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// Where `fn name` starts on a line, when one does.
fn find_fn(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let at = line.len() - trimmed.len();
    let mut rest = trimmed;
    for prefix in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe ", "extern \"\" "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.starts_with("fn ").then(|| at + (trimmed.len() - rest.len()))
}

#[test]
fn the_lexer_sees_code_only() {
    let code = code_only("let a = \"{ // }\"; // { \nlet b = '{'; let c: &'a str = r#\"}\"#;\n");
    assert_eq!(code, "let a = \"\"; \nlet b = ' '; let c: &'a str = \"\";\n");
    let f = functions("fn a() {\n    if x { y }\n}\nfn b();\npub fn c() -> T { 1 }\n");
    assert_eq!(f, [("a".to_string(), 1, 3), ("c".to_string(), 5, 1)]);
}
