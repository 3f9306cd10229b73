//! Relocation's rules, file by file: shebangs, activate scripts, pyvenv.cfg, symlinks.
use super::*;

fn relocator<'a>(target: Target<'a>, python: &'a Interpreter, origin: &'a Origin<'a>) -> Relocator<'a> {
    Relocator {
        project: "hello",
        build_root: "/cache/tmp/build-hello-X".into(),
        venv: "/cache/tmp/build-hello-X/venv".into(),
        target,
        python,
        origin,
    }
}

fn python() -> Interpreter {
    Interpreter { path: "/usr/bin/python3.11".into(), version: "3.11.2".into(), abi: "3.11".into() }
}

const ORIGIN: Origin<'static> =
    Origin { git: Some("https://example.com/hello"), git_ref: "1.1.0", commit: "abc" };

#[test]
fn scripts_get_fixed_or_self_locating_shebangs() {
    let py = python();
    let script = b"#!/cache/tmp/build-hello-X/venv/bin/python\nimport sys\n";
    let fixed = relocator(Target::Fixed("/opt/wrap/hello"), &py, &ORIGIN);
    assert_eq!(
        fixed.file(Path::new("bin/hello"), script).unwrap().unwrap().into_owned(),
        b"#!/opt/wrap/hello/bin/python\nimport sys\n"
    );
    let long = format!("/opt/{}", "x".repeat(120));
    let fixed = relocator(Target::Fixed(&long), &py, &ORIGIN);
    let text =
        String::from_utf8(fixed.file(Path::new("bin/hello"), script).unwrap().unwrap().into_owned()).unwrap();
    assert!(
        text.starts_with(&format!(
            "#!/bin/sh\n'''exec' '{long}/bin/python' \"$0\" \"$@\"\n' '''\nimport sys\n"
        )),
        "{text}"
    );
    let anywhere = relocator(Target::Relocatable, &py, &ORIGIN);
    let text =
        String::from_utf8(anywhere.file(Path::new("bin/hello"), script).unwrap().unwrap().into_owned())
            .unwrap();
    assert!(
        text.starts_with("#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/python\""),
        "{text}"
    );
}

#[test]
fn build_paths_left_in_other_files_are_errors_or_rewritten() {
    let py = python();
    let data = b"prefix=/cache/tmp/build-hello-X/venv/share\n";
    let anywhere = relocator(Target::Relocatable, &py, &ORIGIN);
    let e = anywhere.file(Path::new("share/x.cfg"), data).unwrap_err();
    assert_eq!(
        e.to_string(),
        "project `hello`: `share/x.cfg` holds the build path and cannot be made relocatable"
    );
    let fixed = relocator(Target::Fixed("/opt/h"), &py, &ORIGIN);
    assert_eq!(
        fixed.file(Path::new("share/x.cfg"), data).unwrap().unwrap().into_owned(),
        b"prefix=/opt/h/share\n"
    );
    let binary = b"\0\x01/cache/tmp/build-hello-X/venv/lib\0";
    let e = fixed.file(Path::new("lib/x.so"), binary).unwrap_err();
    assert_eq!(e.to_string(), "project `hello`: `lib/x.so` is a binary file that holds the build path");
    let src = b"/cache/tmp/build-hello-X/src/hello.py\n";
    let e = fixed.file(Path::new("share/y"), src).unwrap_err();
    assert!(e.to_string().ends_with("holds a build path outside the virtualenv"), "{e}");
}

#[test]
fn pyvenv_cfg_and_activate() {
    let py = python();
    let cfg = b"home = /usr/bin\nversion = 3.11.2\ncommand = /usr/bin/python3.11 -m venv --without-pip /cache/tmp/build-hello-X/venv\n";
    let anywhere = relocator(Target::Relocatable, &py, &ORIGIN);
    assert_eq!(
        anywhere.file(Path::new("pyvenv.cfg"), cfg).unwrap().unwrap().into_owned(),
        b"home = /usr/bin\nversion = 3.11.2\n"
    );
    let fixed = relocator(Target::Fixed("/opt/h"), &py, &ORIGIN);
    let out = fixed.file(Path::new("pyvenv.cfg"), cfg).unwrap().unwrap().into_owned();
    assert!(String::from_utf8(out).unwrap().ends_with("-m venv --without-pip /opt/h\n"));
    for activate in [
        &b"deactivate () {\n}\nVIRTUAL_ENV=\"/cache/tmp/build-hello-X/venv\"\nexport VIRTUAL_ENV\n"[..],
        b"deactivate () {\n}\nVIRTUAL_ENV=/cache/tmp/build-hello-X/venv\nexport VIRTUAL_ENV\n",
    ] {
        let text = String::from_utf8(
            anywhere.file(Path::new("bin/activate"), activate).unwrap().unwrap().into_owned(),
        )
        .unwrap();
        assert!(text.contains("${BASH_SOURCE[0]}") && text.ends_with("fi\nexport VIRTUAL_ENV\n"), "{text}");
    }
    assert_eq!(anywhere.file(Path::new("bin/activate.csh"), b"setenv VIRTUAL_ENV \"x\"").unwrap(), None);
}

#[test]
fn symlinks_stay_inside() {
    let py = python();
    let r = relocator(Target::Relocatable, &py, &ORIGIN);
    assert_eq!(r.symlink(Path::new("lib64"), Path::new("lib")).unwrap(), PathBuf::from("lib"));
    assert_eq!(
        r.symlink(Path::new("bin/python3.11"), Path::new("/usr/bin/python3.11")).unwrap(),
        PathBuf::from("/usr/bin/python3.11")
    );
    assert_eq!(
        r.symlink(Path::new("bin/tool"), Path::new("/cache/tmp/build-hello-X/venv/lib/tool.py")).unwrap(),
        PathBuf::from("../lib/tool.py")
    );
    assert!(r.symlink(Path::new("lib/x"), Path::new("/etc/passwd")).is_err());
    assert!(r.symlink(Path::new("lib/x"), Path::new("../../../etc")).is_err());
}

#[test]
fn unchanged_files_are_hard_links_and_rewritten_ones_new_files() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let (venv, out) = (tmp.path().join("venv"), tmp.path().join("out"));
    for dir in [&venv, &out] {
        fs_err::create_dir_all(dir.join("bin")).unwrap();
    }
    fs_err::write(venv.join("bin/data.txt"), "plain\n").unwrap();
    let script = format!("#!{}/bin/python\nimport sys\n", venv.display());
    fs_err::write(venv.join("bin/hello"), &script).unwrap();
    let py = python();
    let mut r = relocator(Target::Fixed("/opt/wrap/hello"), &py, &ORIGIN);
    r.build_root = tmp.path().to_string_lossy().into_owned();
    r.venv = venv.to_string_lossy().into_owned();
    assert!(r.place_file(Path::new("bin/data.txt"), false, &venv, &out).unwrap().is_none());
    let changed = r.place_file(Path::new("bin/hello"), true, &venv, &out).unwrap().unwrap();
    assert_eq!(changed.0, Path::new("bin/hello"));
    let inode = |p: &Path| fs_err::metadata(p).unwrap().ino();
    assert_eq!(inode(&out.join("bin/data.txt")), inode(&venv.join("bin/data.txt")));
    assert_ne!(inode(&out.join("bin/hello")), inode(&venv.join("bin/hello")));
    assert_eq!(fs_err::read_to_string(venv.join("bin/hello")).unwrap(), script);
    assert_eq!(
        fs_err::read_to_string(out.join("bin/hello")).unwrap(),
        "#!/opt/wrap/hello/bin/python\nimport sys\n"
    );
}

#[test]
fn direct_url_names_the_git_origin() {
    let py = python();
    let r = relocator(Target::Relocatable, &py, &ORIGIN);
    let json = r
        .file(
            Path::new("lib/python3.11/site-packages/hello-1.1.0.dist-info/direct_url.json"),
            b"{\"url\": \"file:///cache/tmp/build-hello-X/src\"}",
        )
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["url"], "https://example.com/hello");
    assert_eq!(v["vcs_info"]["commit_id"], "abc");
    let local = Origin { git: None, ..ORIGIN };
    let r = relocator(Target::Relocatable, &py, &local);
    assert_eq!(
        r.file(Path::new("lib/x/h.dist-info/direct_url.json"), b"file:///cache/tmp/build-hello-X/src")
            .unwrap(),
        None
    );
}
