//! Signed .rpm packages, judged by the real `rpm`: the header signature verifies once the
//! public key is imported into a temporary rpm database, and fails after one byte of the header
//! changes; `wrap inspect` shows it; Ed25519-signed packages are reproducible; a key that
//! cannot sign is a one-line error before anything is written.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Workspace, find, root};
use wrap::digest::sha256_hex;

const RSA_KEY_ID: &str = "DE1BCFF2DB6A9F1E";
const ED25519_KEY_ID: &str = "372A3C652B1FED09";

fn key(name: &str) -> PathBuf {
    root().join("tests/fixtures/keys").join(name)
}

/// `rpm -K` of `package` against a temporary database holding `public` (when given): its output
/// and whether it succeeded.
fn check(ws: &Workspace, public: Option<&Path>, package: &Path) -> (String, bool) {
    let db = ws.path().join("rpmdb");
    let db = db.to_str().unwrap();
    if let Some(public) = public {
        let out = Command::new("rpm").args(["--dbpath", db, "--import"]).arg(public).output().unwrap();
        assert!(out.status.success(), "rpm --import: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = Command::new("rpm").args(["--dbpath", db, "-Kv"]).arg(package).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (text, out.status.success())
}

fn inspect(ws: &Workspace, package: &Path) -> serde_json::Value {
    ws.wrap(&["--message-format", "json", "inspect", package.to_str().unwrap()]).event("inspected")["inspection"].clone()
}

#[test]
fn rsa_signed_rpms_verify_with_the_imported_key_and_not_after_a_byte_changes() {
    let ws = Workspace::offline_example();
    // Unsigned first: adding a key then rebuilds (the key's fingerprint is in the build key).
    let unsigned = ws.build_format("rpm", "out");
    let hello = find(&unsigned, "wrap-example-hello-1.1.0-1.").to_path_buf();
    assert!(inspect(&ws, &hello)["signature"].is_null());
    let rsa = key("rsa.asc");
    let out = ws
        .wrap_env(
            &["build", "--format", "rpm", "--out", "out", "--sign-key", rsa.to_str().unwrap()],
            &[("WRAP_SIGN_PASSPHRASE", "wrap-test-passphrase")],
        )
        .ok();
    let signed: Vec<PathBuf> = out.lines().map(PathBuf::from).collect();
    assert_eq!(signed.len(), 3);
    let public = key("rsa.pub.asc");
    for (i, package) in signed.iter().enumerate() {
        // Without the key rpm cannot check the signature; with it, it says OK.
        if i == 0 {
            let (text, _) = check(&ws, None, package);
            assert!(text.contains(&RSA_KEY_ID[8..].to_lowercase()) && text.contains("NOKEY"), "{text}");
        }
        let (text, ok) = check(&ws, (i == 0).then_some(public.as_path()), package);
        assert!(ok, "{text}");
        assert!(text.contains("Header V4 RSA/SHA256 Signature, key ID") && text.contains(": OK"), "{text}");
        assert!(!text.contains("NOT OK") && !text.contains("NOKEY"), "{text}");
        let inspection = inspect(&ws, package);
        assert_eq!(inspection["signature"]["key_id"], RSA_KEY_ID, "{inspection}");
        assert_eq!(inspection["signature"]["algorithm"], "RSA");
        assert_eq!(inspection["signature"]["hash"], "SHA256");
        let human = ws.wrap(&["inspect", package.to_str().unwrap()]).ok();
        assert!(human.contains("RSA/SHA256, made 2026-") && human.contains(RSA_KEY_ID), "{human}");
    }

    // One byte of the main header changed (a letter of the summary): rpm refuses it.
    let hello = find(&signed, "wrap-example-hello-1.1.0-1.");
    let mut bytes = std::fs::read(hello).unwrap();
    let at = bytes.windows(9).position(|w| w == b"Says hell").expect("the summary is in the header");
    bytes[at] = b's';
    let tampered = ws.path().join("tampered.rpm");
    std::fs::write(&tampered, &bytes).unwrap();
    let (text, ok) = check(&ws, None, &tampered);
    assert!(!ok, "{text}");
    assert!(text.contains("Header V4 RSA/SHA256 Signature, key ID") && text.contains("BAD"), "{text}");
}

#[test]
fn ed25519_signed_rpms_verify_and_are_reproducible() {
    let armored = std::fs::read_to_string(key("ed25519.asc")).unwrap();
    let build = || {
        let ws = Workspace::offline_example();
        ws.setting("sign_key_env = \"WRAP_TEST_SIGNING_KEY\"");
        let out = ws
            .wrap_env(
                &["build", "--format", "rpm", "--out", "out", "--project", "hello"],
                &[("WRAP_TEST_SIGNING_KEY", &armored)],
            )
            .ok();
        let package = PathBuf::from(out.trim());
        let digest = sha256_hex(&std::fs::read(&package).unwrap());
        (ws, package, digest)
    };
    let (ws, package, first) = build();
    let (_, _, second) = build();
    assert_eq!(first, second, "the same input and key give the same signed package");
    let (text, ok) = check(&ws, Some(&key("ed25519.pub.asc")), &package);
    assert!(ok, "{text}");
    assert!(text.contains(&ED25519_KEY_ID[8..].to_lowercase()) && text.contains(": OK"), "{text}");
    let inspection = inspect(&ws, &package);
    assert_eq!(inspection["signature"]["key_id"], ED25519_KEY_ID);
    assert_eq!(inspection["signature"]["algorithm"], "Ed25519");
}

#[test]
fn keys_that_cannot_sign_are_one_line_errors_and_nothing_is_written() {
    let ws = Workspace::offline_example();
    // In the workspace, so that the messages' paths are the workspace's.
    for name in ["rsa.asc", "rsa.pub.asc"] {
        std::fs::copy(key(name), ws.path().join(name)).unwrap();
    }
    type Case<'a> = (PathBuf, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (ws.path().join("rsa.asc"), &[("WRAP_SIGN_PASSPHRASE", "not the passphrase")], "cannot be unlocked"),
        (ws.path().join("rsa.asc"), &[], "cannot be unlocked with the passphrase in $WRAP_SIGN_PASSPHRASE"),
        (ws.path().join("rsa.pub.asc"), &[], "holds a public key"),
        (ws.path().join("no-such-key.asc"), &[], "cannot be read"),
    ];
    for (file, env, message) in cases {
        let run = ws.wrap_env(
            &["build", "--format", "rpm", "--out", "out", "--sign-key", file.to_str().unwrap()],
            env,
        );
        let stderr = run.fails(1);
        assert!(stderr.contains(message), "{stderr}");
        assert!(!ws.path().join("out").exists(), "something was written:\n{stderr}");
    }
    // Hostile or contradictory settings are refused when the manifest is read.
    let original = ws.manifest();
    for (line, message) in [
        ("sign_key_env = \"$(touch /tmp/x)\"", "settings.sign_key_env"),
        ("sign_passphrase_env = \"A B\"", "settings.sign_passphrase_env"),
        ("sign_key = \"k.asc\"\nsign_key_env = \"WRAP_K\"", "give `sign_key` or `sign_key_env`, not both"),
        ("sign_key = \"k\\n.asc\"", "settings.sign_key"),
    ] {
        ws.setting(line);
        let stderr = ws.wrap(&["plan"]).fails(1);
        assert!(stderr.contains(message), "{line}: {stderr}");
        ws.write_manifest(&original);
    }
    // A key named by a variable that is unset.
    ws.setting("sign_key_env = \"WRAP_TEST_UNSET_KEY\"");
    let stderr = ws.wrap(&["build", "--format", "rpm", "--out", "out"]).fails(1);
    assert!(
        stderr.contains("signing key in $WRAP_TEST_UNSET_KEY: the variable is unset or empty"),
        "{stderr}"
    );
    // Building only .debs needs no key.
    ws.wrap(&["plan", "--format", "deb"]).ok();
}
