//! The README stays true: its two set-up commands are the scripts CI runs (the second is
//! `.ci/run` itself, and both install through `.ci/setup`), every link to a file of the
//! repository names one that exists, and every link to a section names a heading.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || " _-".contains(*c))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The `(target)` of every markdown link in `text`.
fn links(text: &str) -> Vec<String> {
    text.split("](").skip(1).filter_map(|rest| rest.split_once(')').map(|(t, _)| t.to_string())).collect()
}

#[test]
fn the_two_set_up_commands_are_what_ci_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("```sh\nfixtures/run-example.sh\n```"), "the example command");
    assert!(readme.contains("```sh\n.ci/run\n```"), "the test command");
    let run = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let example = std::fs::read_to_string(root().join("fixtures/run-example.sh")).unwrap();
    assert!(run.contains("\n. .ci/setup tests\n"), ".ci/run installs through .ci/setup");
    assert!(example.contains("\n. .ci/setup example\n"), "the example installs through .ci/setup");
    assert!(run.contains("    cargo test --locked --features slow-tests\n"), "CI runs every test");
    assert!(run.contains("RUSTC_WORKSPACE_WRAPPER=\"$clippy_driver\""), "CI lints what it builds");
}

#[test]
fn every_link_of_the_docs_resolves() {
    for doc in ["README.md", "docs/architecture.md", "docs/benchmarks.md"] {
        let path = root().join(doc);
        let text = std::fs::read_to_string(&path).unwrap();
        let headings: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with('#') && l.contains("# "))
            .map(|l| anchor(l.trim_start_matches('#').trim()))
            .collect();
        for link in links(&text) {
            if link.starts_with("http") {
                continue;
            }
            let (file, section) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() { path.clone() } else { path.parent().unwrap().join(file) };
            assert!(target.exists(), "{doc}: a link to `{link}`, which does not exist");
            if !section.is_empty() {
                let text = std::fs::read_to_string(&target).unwrap();
                let found = text
                    .lines()
                    .any(|l| l.starts_with('#') && anchor(l.trim_start_matches('#').trim()) == section);
                assert!(
                    found || headings.contains(&section.to_string()) && file.is_empty(),
                    "{doc}: no heading for `{link}`"
                );
            }
        }
    }
}
