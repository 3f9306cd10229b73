//! Snapshots of what users read that no other test pins word for word: the help of every
//! command. (Errors are snapshotted by every test that checks one, through `Run::fails`;
//! control files, RPM headers and plans by the tests of their own.) `cargo insta review` after
//! a deliberate change.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_wrap")).args(args).env("NO_COLOR", "1").output().unwrap();
    assert!(output.status.success(), "{args:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn help_of_every_command() {
    for command in [
        "",
        "init",
        "check",
        "lock",
        "fetch",
        "plan",
        "build",
        "inspect",
        "publish",
        "push",
        "clean",
        "cache",
        "patch",
        "patch edit",
        "patch refresh",
        "cache info",
    ] {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--help");
        let name = if command.is_empty() { "wrap".to_string() } else { format!("wrap {command}") };
        insta::assert_snapshot!(name.replace(' ', "-"), help(&args), &format!("{name} --help"));
    }
}
