//! Tests of the error type's messages, hints and exit codes.

use super::*;

#[test]
fn patch_error_names_file_and_hunk() {
    let err = Error::PatchApply {
        project: "hello".into(),
        patch: "patches/0002-fix.patch".into(),
        commit: "1a2b3c4d5e6f".into(),
        file: Some("hello/cli.py".into()),
        line: Some(9),
        detail: vec!["error: patch failed: hello/cli.py:9".into()],
        moved_from: None,
    };
    assert_eq!(
        err.to_string(),
        "patch `patches/0002-fix.patch` does not apply to hello at 1a2b3c4d5e6f: `hello/cli.py` at line 9"
    );
    assert_eq!(err.exit_code(), 1);
    assert!(err.hint().unwrap().starts_with("`wrap patch edit hello`"), "{:?}", err.hint());
}
