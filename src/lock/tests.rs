//! Lock files read, written and compared with manifests.
use super::*;

fn pin(name: &str) -> LockedProject {
    LockedProject {
        name: name.into(),
        git: format!("repos/{name}"),
        git_ref: "main".into(),
        commit: "a".repeat(40),
        commit_time: 1_700_000_000,
        version: "1.0.0".into(),
        patches: vec![LockedFile { source: format!("patches/{name}.patch"), sha256: "b".repeat(64) }],
        closure: None,
        releases: Vec::new(),
    }
}

#[test]
fn text_is_sorted_and_round_trips() {
    let mut lock = Lock::new();
    lock.projects = vec![pin("zeta"), pin("alpha")];
    lock.constraints = vec![LockedFile { source: "c.txt".into(), sha256: "c".repeat(64) }];
    let text = lock.to_toml();
    assert!(text.find("name = \"alpha\"").unwrap() < text.find("name = \"zeta\"").unwrap());
    let back = Lock::parse(Path::new("wrap.lock"), &text).unwrap();
    assert_eq!(back.to_toml(), text);
    assert_eq!(back.projects[0].name, "alpha");
}

#[test]
fn release_records_round_trip_and_bad_ones_are_named() {
    let mut lock = Lock::new();
    let mut alpha = pin("alpha");
    alpha.releases = vec![LockedRelease { version: "1.0.0".into(), inputs: "d".repeat(64), release: 2 }];
    lock.projects = vec![alpha];
    let text = lock.to_toml();
    assert!(text.contains("[[project.releases]]\nversion = \"1.0.0\"\n"), "{text}");
    assert_eq!(Lock::parse(Path::new("wrap.lock"), &text).unwrap().projects[0].releases[0].release, 2);
    for (from, to) in [("release = 2", "release = 0"), ("inputs = \"ddd", "inputs = \"xdd")] {
        let e = Lock::parse(Path::new("wrap.lock"), &text.replace(from, to)).unwrap_err().to_string();
        assert!(e.starts_with("wrap.lock:") && e.contains("project `alpha`: releases `1.0.0 "), "{e}");
    }
}

#[test]
fn bad_locks_are_named() {
    let e = Lock::parse(Path::new("wrap.lock"), "version = 1\n[[project]]\nname = 3\n").unwrap_err();
    assert!(e.to_string().starts_with("wrap.lock:3:8: "), "{e}");
    let e = Lock::parse(Path::new("wrap.lock"), "version = 9\n").unwrap_err();
    assert!(e.to_string().contains("lock format 9"), "{e}");
    let good = {
        let mut lock = Lock::new();
        lock.projects = vec![pin("alpha")];
        lock.to_toml()
    };
    for (from, to, message) in [
        (
            format!("commit = \"{}\"", "a".repeat(40)),
            "commit = \"abc\"".to_string(),
            "project `alpha`: commit `abc` is not valid: a full commit id (40 hex digits)",
        ),
        (
            "version = \"1.0.0\"".to_string(),
            "version = \"1.0-1\"".to_string(),
            "project `alpha`: version `1.0-1` is not valid: a PEP 440 version in normal form",
        ),
        (
            "commit_time = 1700000000".to_string(),
            "commit_time = -1".to_string(),
            "project `alpha`: commit_time `-1` is not valid: a Unix time from 0 to 4294967295",
        ),
        (
            "b".repeat(64),
            "zz".to_string(),
            "project `alpha`: sha256 `zz` is not valid: a sha256 (64 hex digits)",
        ),
    ] {
        assert!(good.contains(&from), "{from}");
        let e = Lock::parse(Path::new("wrap.lock"), &good.replace(&from, &to)).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("wrap.lock:") && text.ends_with(message), "{text}");
        assert_eq!(e.exit_code(), 1);
    }
}

#[test]
fn hostile_distributions_are_refused_when_the_lock_is_read() {
    let mut lock = Lock::new();
    let mut alpha = pin("alpha");
    alpha.closure = Some(Closure {
        python: "3.11.2".into(),
        inputs: "d".repeat(64),
        build: vec![],
        install: vec!["shout==1.0.0".into()],
    });
    lock.projects = vec![alpha];
    lock.distributions = vec![Distribution {
        name: "shout".into(),
        version: "1.0.0".into(),
        files: vec![closure::DistFile {
            name: "shout-1.0.0-py3-none-any.whl".into(),
            sha256: "e".repeat(64),
            url: Some("https://files.example/shout-1.0.0-py3-none-any.whl".into()),
        }],
    }];
    let good = lock.to_toml();
    Lock::parse(Path::new("wrap.lock"), &good).unwrap();
    // Values that would become installer options, other lines or other paths.
    for (from, to, message) in [
        (
            "name = \"shout\"",
            "name = \"shout --index-url http://evil\"",
            "the name is not a normalized distribution name",
        ),
        ("name = \"shout\"", "name = \"Shout\"", "the name is not a normalized distribution name"),
        (
            "version = \"1.0.0\"\n\n[[distribution.files]]",
            "version = \"1.0.0\\n-e .\"\n\n[[distribution.files]]",
            "the version is not a PEP 440 version",
        ),
        ("name = \"shout-1.0.0-py3-none-any.whl\"", "name = \"../../etc/x.whl\"", "is not a plain file name"),
        ("url = \"https://", "url = \"file:///etc/passwd?", "is not an http(s) URL"),
        ("url = \"https://files.example/", "url = \"https://files.example/ x\\n", "is not an http(s) URL"),
    ] {
        assert!(good.contains(from), "{from}\n{good}");
        let e = Lock::parse(Path::new("wrap.lock"), &good.replacen(from, to, 1)).unwrap_err().to_string();
        assert!(e.starts_with("wrap.lock: ") && e.contains(message), "{to}: {e}");
    }
}

#[test]
fn drift_names_each_difference() {
    let text = "[settings]\nconstraints = [\"c.txt\"]\n[[project]]\nname = \"alpha\"\ngit = \"repos/alpha\"\nref = \"stable\"\n[[project]]\nname = \"beta\"\ngit = \"repos/beta\"\nref = \"main\"\n";
    // Paths need not exist for this check: build the manifest without the file checks.
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("c.txt"), "x").unwrap();
    let manifest = Manifest::parse(Path::new("wrap.toml"), dir.path(), text).unwrap();
    let mut lock = Lock::new();
    lock.projects = vec![pin("alpha"), pin("gamma")];
    lock.constraints = vec![LockedFile { source: "c.txt".into(), sha256: "0".repeat(64) }];
    let mut digests = BTreeMap::new();
    digests.insert("c.txt".to_string(), "1".repeat(64));
    let d: Vec<String> = drift(&manifest, &lock, &digests).iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        [
            "`c.txt` changed (sha256 000000000000 locked, 111111111111 now)",
            "project `alpha`: ref changed from `main` to `stable`",
            "project `alpha`: the patch list changed",
            "project `alpha`: the lock pins no dependency closure",
            "project `beta` is not in the lock",
            "project `gamma` is locked but not in the manifest",
        ]
    );
}
