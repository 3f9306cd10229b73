//! `wrap publish` judged by the real apt: a repository published from the example's packages
//! passes `apt-get update` with its exported key as `Signed-By`, serves the packages with their
//! hashes, refuses a changed index and another key's signature, keeps only the newest versions
//! when asked, and is byte-identical when published again or elsewhere.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{Workspace, root};

/// apt with state, cache and sources of its own under `dir`, reading one repository.
struct Apt {
    dir: PathBuf,
}

impl Apt {
    fn new(dir: PathBuf, repo: &Path, keyring: &Path) -> Apt {
        for sub in ["lists/partial", "cache/archives/partial", "sources.d"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let sources = format!(
            "Types: deb\nURIs: file:{}\nSuites: stable\nComponents: main\nSigned-By: {}\n",
            repo.display(),
            keyring.display()
        );
        std::fs::write(dir.join("sources.d/wrap.sources"), sources).unwrap();
        Apt { dir }
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let d = |sub: &str| self.dir.join(sub).display().to_string();
        let options = [
            "Dir::Etc::SourceList=/dev/null".to_string(),
            format!("Dir::Etc::SourceParts={}", d("sources.d")),
            format!("Dir::State::Lists={}", d("lists")),
            format!("Dir::Cache={}", d("cache")),
            "Dir::Etc::Preferences=/dev/null".into(),
            "Dir::Etc::PreferencesParts=/dev/null".into(),
            "APT::Sandbox::User=root".into(),
            "Debug::NoLocking=true".into(),
        ];
        let mut cmd = Command::new(program);
        for option in &options {
            cmd.args(["-o", option]);
        }
        cmd.args(args).current_dir(&self.dir).output().unwrap()
    }

    fn update(&self) -> (bool, String) {
        let out = self.run("apt-get", &["update"]);
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        // apt-get update exits 0 on some signature problems and only warns: any W:/E: line fails.
        let clean = out.status.success() && !text.lines().any(|l| l.starts_with("W:") || l.starts_with("E:"));
        (clean, text)
    }
}

fn key(ws: &Workspace, name: &str) -> PathBuf {
    let to = ws.path().join(name);
    std::fs::copy(root().join("tests/fixtures/keys").join(name), &to).unwrap();
    to
}

fn publish(ws: &Workspace, args: &[&str]) -> String {
    ws.wrap_env(&[&["publish"], args].concat(), &[("WRAP_SIGN_PASSPHRASE", "wrap-test-passphrase")]).ok()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn apt_reads_published_repositories_and_refuses_changed_or_foreign_ones() {
    let ws = Workspace::offline_example();
    let debs = ws.build_format("deb", "out");
    let ed25519 = key(&ws, "ed25519.asc");
    let repo = ws.path().join("repo");
    let out = publish(&ws, &["--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), "out"]);
    let arch = wrap::artifact::Format::Deb.host_arch();
    let hello_file = format!("pool/main/w/wrap-example-hello/wrap-example-hello_1.1.0-1_{arch}.deb");
    assert!(out.contains(&format!("added {hello_file}")), "{out}");
    assert!(out.contains("Signed-By: ") && out.contains("Types: deb"), "{out}");
    let keyring = repo.join("wrap-archive-keyring.gpg");

    let apt = Apt::new(ws.path().join("apt"), &repo, &keyring);
    let (ok, text) = apt.update();
    assert!(ok, "{text}");
    let policy = apt.run("apt-cache", &["policy", "wrap-example-hello"]);
    assert!(String::from_utf8_lossy(&policy.stdout).contains("Candidate: 1.1.0-1"), "{policy:?}");
    let download = apt.run("apt-get", &["download", "wrap-example-hello"]);
    assert!(download.status.success(), "{download:?}");
    let built = debs.iter().find(|d| d.to_string_lossy().contains("wrap-example-hello_")).unwrap();
    assert_eq!(read(&apt.dir.join(format!("wrap-example-hello_1.1.0-1_{arch}.deb"))), read(built));

    // Published again, or into another directory: the same index bytes.
    let release = read(&repo.join("dists/stable/InRelease"));
    let again = publish(&ws, &["--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), "out"]);
    // As JSON: one `published` event, every package unchanged.
    let args = [
        "--message-format",
        "json",
        "publish",
        "--repo",
        "repo",
        "--sign-key",
        ed25519.to_str().unwrap(),
        "out",
    ];
    let json = ws.wrap_env(&args, &[("WRAP_SIGN_PASSPHRASE", "wrap-test-passphrase")]);
    json.ok();
    let apt_outcome = &json.event("published")["published"]["apt"];
    assert!(apt_outcome["added"].as_array().unwrap().is_empty(), "{apt_outcome}");
    assert_eq!(apt_outcome["unchanged"].as_array().unwrap().len(), 3, "{apt_outcome}");
    assert!(again.contains(&format!("unchanged {hello_file}")), "{again}");
    assert_eq!(read(&repo.join("dists/stable/InRelease")), release);
    publish(&ws, &["--repo", "elsewhere", "--sign-key", ed25519.to_str().unwrap(), "out"]);
    assert_eq!(read(&ws.path().join("elsewhere/dists/stable/InRelease")), release);

    // One byte of the index changed (every form of it): apt refuses it.
    let tampered = ws.path().join("tampered");
    support::copy_tree(&repo, &tampered);
    for file in walkdir::WalkDir::new(tampered.join("dists/stable/main")).into_iter().flatten() {
        if file.file_type().is_file() {
            let mut bytes = read(file.path());
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            std::fs::write(file.path(), bytes).unwrap();
        }
    }
    let apt_tampered = Apt::new(ws.path().join("apt-tampered"), &tampered, &keyring);
    let (ok, text) = apt_tampered.update();
    assert!(!ok && (text.contains("Hash Sum mismatch") || text.contains("unexpected size")), "{text}");

    // Signed by another key than the one the client trusts: refused.
    let rsa = key(&ws, "rsa.asc");
    publish(&ws, &["--repo", "other", "--sign-key", rsa.to_str().unwrap(), "out"]);
    let apt_other = Apt::new(ws.path().join("apt-other"), &ws.path().join("other"), &keyring);
    let (ok, text) = apt_other.update();
    assert!(!ok && text.contains("NO_PUBKEY"), "{text}");

    // A new release with --keep 1: the old one leaves the index and the pool.
    ws.write_manifest(&ws.manifest().replace("release = \"1\"", "release = \"2\""));
    let out = ws.wrap(&["build", "--format", "deb", "--out", "out2", "--project", "hello"]).ok();
    let newer = PathBuf::from(out.trim());
    let out = publish(
        &ws,
        &["--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), "--keep", "1", newer.to_str().unwrap()],
    );
    assert!(out.contains(&format!("removed {hello_file}")), "{out}");
    assert!(!repo.join(&hello_file).exists());
    let (ok, text) = apt.update();
    assert!(ok, "{text}");
    let policy = apt.run("apt-cache", &["policy", "wrap-example-hello"]);
    let policy = String::from_utf8_lossy(&policy.stdout).to_string();
    assert!(policy.contains("Candidate: 1.1.0-2") && !policy.contains("1.1.0-1 "), "{policy}");
    // The other packages stay.
    let greet = apt.run("apt-cache", &["policy", "wrap-example-greet"]);
    assert!(String::from_utf8_lossy(&greet.stdout).contains("Candidate: 0.9.0"), "{greet:?}");
}

#[test]
fn publishing_needs_a_key_and_refuses_changed_bytes_under_one_version() {
    let ws = Workspace::offline_example();
    ws.build_format("deb", "out");
    let stderr = ws.wrap(&["publish", "--repo", "repo", "out"]).fails(1);
    assert!(stderr.contains("no key was given"), "{stderr}");
    let ed25519 = key(&ws, "ed25519.asc");
    let stderr = ws
        .wrap(&[
            "publish",
            "--repo",
            "repo",
            "--suite",
            "../../etc",
            "--sign-key",
            ed25519.to_str().unwrap(),
            "out",
        ])
        .fails(1);
    assert!(stderr.contains("the suite `../../etc` is not a plain name"), "{stderr}");
    assert!(!ws.path().join("repo").exists());
    publish(&ws, &["--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), "out"]);
    // The same version-release with other bytes (a patch added, release not bumped).
    ws.write_manifest(&ws.manifest().replace("wrap example <wrap@", "wrap example team <wrap@"));
    ws.wrap(&["build", "--format", "deb", "--out", "out-changed", "--project", "hello"]).ok();
    let stderr = ws
        .wrap(&["publish", "--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), "out-changed"])
        .fails(1);
    assert!(stderr.contains("already holds") && stderr.contains("with other content"), "{stderr}");
    // With --replace, the new bytes replace the old, and the index names them.
    let out = publish(
        &ws,
        &["--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), "--replace", "out-changed"],
    );
    assert!(out.contains("replaced pool/main/w/wrap-example-hello/"), "{out}");
    let arch = wrap::artifact::Format::Deb.host_arch();
    let changed = std::fs::read_dir(ws.path().join("out-changed")).unwrap().flatten();
    let changed = changed.map(|f| f.path()).find(|p| p.extension().is_some_and(|e| e == "deb")).unwrap();
    let packages =
        std::fs::read_to_string(ws.path().join(format!("repo/dists/stable/main/binary-{arch}/Packages")));
    let sha = wrap::digest::sha256_hex(&read(&changed));
    assert!(packages.unwrap().contains(&format!("SHA256: {sha}\n")));
}

/// Purges the `wrap-test-pub-` packages and their tree when dropped.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "wrap-test-pub-hello"]).output();
        let _ = std::fs::remove_dir_all("/opt/wrap-test-pub");
    }
}

#[test]
fn apt_get_installs_and_upgrades_from_a_published_repository() {
    if !support::is_root_or_skip("installing packages") {
        return;
    }
    let ws = Workspace::offline_example();
    ws.write_manifest(
        &ws.manifest()
            .replace("package_name = \"wrap-example-{name}\"", "package_name = \"wrap-test-pub-{name}\"")
            .replace(
                "install_path = \"/opt/wrap-example/{name}-{version}\"",
                "install_path = \"/opt/wrap-test-pub/{name}\"",
            ),
    );
    let ed25519 = key(&ws, "ed25519.asc");
    let build_and_publish = |out: &str| {
        ws.wrap(&["build", "--format", "deb", "--out", out, "--project", "hello"]).ok();
        publish(&ws, &["--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), "--keep", "1", out]);
    };
    build_and_publish("out1");
    let repo = ws.path().join("repo");
    let apt = Apt::new(ws.path().join("apt"), &repo, &repo.join("wrap-archive-keyring.gpg"));
    let _cleanup = Cleanup;
    let (ok, text) = apt.update();
    assert!(ok, "{text}");
    let install = apt.run("apt-get", &["install", "-y", "-q", "wrap-test-pub-hello"]);
    assert!(install.status.success(), "{install:?}");
    let version = || {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f", "${Version}", "wrap-test-pub-hello"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(version(), "1.1.0-1");
    let hello = Command::new("/opt/wrap-test-pub/hello/bin/hello").arg("apt").output().unwrap();
    assert!(String::from_utf8_lossy(&hello.stdout).contains("Hello, apt!"), "{hello:?}");

    ws.write_manifest(&ws.manifest().replace("release = \"1\"", "release = \"2\""));
    build_and_publish("out2");
    let (ok, text) = apt.update();
    assert!(ok, "{text}");
    let upgrade = apt.run("apt-get", &["upgrade", "-y", "-q"]);
    assert!(upgrade.status.success(), "{upgrade:?}");
    assert_eq!(version(), "1.1.0-2");
}

/// Python's http.server on 127.0.0.1 serving `dir`, stopped when dropped.
struct Server {
    child: std::process::Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        use std::io::BufRead;
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line.split(" port ").nth(1).and_then(|r| r.split(' ').next()).and_then(|p| p.parse().ok());
        Server { port: port.unwrap_or_else(|| panic!("no port in {line:?}")), child }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_publishes_at_once_both_land_and_apt_reads_the_repository_over_http() {
    let ws = Workspace::offline_example();
    ws.wrap(&["build", "--format", "deb", "--out", "one", "--project", "hello"]).ok();
    ws.wrap(&["build", "--format", "deb", "--out", "two", "--project", "greet"]).ok();
    let ed25519 = key(&ws, "ed25519.asc");
    let start = |dir: &str| {
        ws.command(&["publish", "--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), dir], &[])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (start("one"), start("two"));
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let packages = std::fs::read_to_string(
        ws.path()
            .join("repo/dists/stable/main")
            .join(format!("binary-{}/Packages", wrap::artifact::Format::Deb.host_arch())),
    )
    .unwrap();
    assert!(
        packages.contains("Package: wrap-example-hello\n")
            && packages.contains("Package: wrap-example-greet\n"),
        "{packages}"
    );

    let repo = ws.path().join("repo");
    let server = Server::start(&repo);
    let apt = Apt::new(ws.path().join("apt"), &repo, &repo.join("wrap-archive-keyring.gpg"));
    let sources = format!(
        "Types: deb\nURIs: http://127.0.0.1:{}/\nSuites: stable\nComponents: main\nSigned-By: {}\n",
        server.port,
        repo.join("wrap-archive-keyring.gpg").display()
    );
    std::fs::write(apt.dir.join("sources.d/wrap.sources"), sources).unwrap();
    let (ok, text) = apt.update();
    assert!(ok, "{text}");
    let download = apt.run("apt-get", &["download", "wrap-example-greet"]);
    assert!(download.status.success(), "{download:?}");
}

/// dnf with an install root, configuration, repositories and cache of its own under `dir`.
struct Dnf {
    dir: PathBuf,
}

impl Dnf {
    fn new(dir: PathBuf, repo_file: &str) -> Dnf {
        for sub in ["root", "repos", "cache"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("repos/wrap.repo"), repo_file).unwrap();
        let conf = "[main]\ngpgcheck=1\nskip_if_unavailable=0\ntsflags=noscripts\n";
        std::fs::write(dir.join("dnf.conf"), conf).unwrap();
        Dnf { dir }
    }

    fn run(&self, args: &[&str]) -> (bool, String) {
        let d = |sub: &str| self.dir.join(sub).display().to_string();
        let out = Command::new("dnf")
            .args(["-y", "-c", &d("dnf.conf"), "--installroot", &d("root"), "--releasever", "1"])
            .arg(format!("--setopt=reposdir={}", d("repos")))
            .arg(format!("--setopt=cachedir={}", d("cache")))
            .args(args)
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// `name evr` of every package the repository offers, sorted.
    fn available(&self) -> String {
        let (ok, text) = self.run(&["repoquery", "--available", "-q", "--qf", "%{name} %{evr}"]);
        assert!(ok, "{text}");
        let mut lines: Vec<&str> = text.lines().filter(|l| l.starts_with("wrap-")).collect();
        lines.sort();
        lines.join("\n")
    }

    fn installed(&self, name: &str) -> String {
        let root = self.dir.join("root");
        let out = Command::new("rpm")
            .args(["--root", root.to_str().unwrap(), "-q", "--qf", "%{version}-%{release}", name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

/// The .repo section `wrap publish` printed.
fn printed_repo_file(out: &str) -> String {
    let start = out.find("[wrap-").unwrap_or_else(|| panic!("no .repo section in {out}"));
    out[start..].lines().take_while(|l| !l.is_empty()).map(|l| format!("{l}\n")).collect()
}

/// A library-built package that stands in for the host in an empty root: it provides what the
/// example's packages require (their scripts do not run: tsflags=noscripts), at release
/// `release`, signed by `key`.
fn host_rpm(ws: &Workspace, key: &Path, release: &str) -> PathBuf {
    let root = ws.path().join(format!("host-{release}"));
    std::fs::create_dir_all(root.join("opt/wrap-test/big")).unwrap();
    std::fs::write(root.join("opt/wrap-test/big/README"), format!("release {release}\n")).unwrap();
    let signer = wrap::signing::Signer::load(
        &wrap::signing::KeySource::File(key.to_path_buf()),
        "WRAP_TEST_NO_PASSPHRASE",
    )
    .unwrap();
    let mut spec = support::tree_spec(&root, "wrap-test-dnf-host", release);
    for provided in ["/bin/sh", "/usr/bin/python3.11", "/usr/sbin/update-alternatives"] {
        spec.relations.provides.push(wrap::manifest::Relation::parse_rpm(provided).unwrap());
    }
    let out = ws.path().join(format!("host-out-{release}"));
    support::pack_rpm(&spec, &out, "gzip", Some(&signer)).unwrap()
}

/// The three metadata documents of the dnf repository at `base`, decompressed, with the times
/// createrepo_c takes from the file system (`time file=`) left out.
fn metadata(base: &Path) -> Vec<String> {
    ["primary", "filelists", "other"]
        .iter()
        .map(|kind| {
            let file = std::fs::read_dir(base.join("repodata"))
                .unwrap()
                .flatten()
                .find(|f| f.file_name().to_string_lossy().ends_with(&format!("-{kind}.xml.gz")))
                .unwrap_or_else(|| panic!("no {kind} in {}", base.display()));
            let mut text = String::new();
            use std::io::Read;
            flate2::read::GzDecoder::new(std::fs::File::open(file.path()).unwrap())
                .read_to_string(&mut text)
                .unwrap();
            let lines = text.trim_end().lines().map(|l| {
                if l.trim_start().starts_with("<time file=") {
                    l.split_once(" build=").map_or(l.to_string(), |(_, rest)| format!("<time build={rest}"))
                } else {
                    l.to_string()
                }
            });
            lines.collect::<Vec<_>>().join("\n")
        })
        .collect()
}

#[test]
fn dnf_installs_and_upgrades_from_a_published_repository_and_refuses_changed_metadata() {
    let ws = Workspace::offline_example();
    let ed25519 = key(&ws, "ed25519.asc");
    let sign = ed25519.to_str().unwrap();
    ws.wrap(&["build", "--format", "rpm", "--out", "out", "--sign-key", sign]).ok();
    let host = host_rpm(&ws, &ed25519, "1");
    let out = publish(&ws, &["--repo", "repo", "--sign-key", sign, "out", host.to_str().unwrap()]);
    let arch = wrap::artifact::Format::Rpm.host_arch();
    let hello_file = format!("rpm/stable/main/Packages/w/wrap-example-hello-1.1.0-1.{arch}.rpm");
    assert!(out.contains(&format!("added {hello_file}")), "{out}");
    let repo = ws.path().join("repo");
    let base = repo.join("rpm/stable/main");
    assert!(repo.join("RPM-GPG-KEY-wrap").is_file());
    let repo_file = printed_repo_file(&out);
    assert!(repo_file.contains("gpgcheck=1\nrepo_gpgcheck=1\n"), "{repo_file}");

    // createrepo_c, on the same packages, writes the same entries.
    let oracle = ws.path().join("createrepo");
    std::fs::create_dir(&oracle).unwrap();
    let created = Command::new("createrepo_c")
        .args(["--no-database", "-q", "-o", oracle.to_str().unwrap(), base.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let (ours, theirs) = (metadata(&base), metadata(&oracle));
    for (ours, theirs) in ours.iter().zip(&theirs) {
        assert_eq!(ours, theirs);
    }
    assert!(ours[0].contains("<rpm:entry name=\"/usr/bin/python3.11\"/>"), "{}", ours[0]);

    // dnf checks repomd.xml's signature with the key (repo_gpgcheck) and the packages'
    // (gpgcheck), and installs the example's package into an empty root, where it runs.
    let dnf = Dnf::new(ws.path().join("dnf"), &repo_file);
    assert_eq!(
        dnf.available(),
        "wrap-example-greet 0.9.0+git20260620.8b76a39b9f6c-1\nwrap-example-hello 1.1.0-1\nwrap-example-tally 2.0.0-1\nwrap-test-dnf-host 1.0-1"
    );
    let (ok, text) = dnf.run(&["install", "wrap-example-hello"]);
    assert!(ok, "{text}");
    assert_eq!(dnf.installed("wrap-example-hello"), "1.1.0-1");
    let bin = dnf.dir.join("root/opt/wrap-example/hello-1.1.0/bin");
    let hello = Command::new(bin.join("python")).arg(bin.join("hello")).arg("dnf").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&hello.stdout), "Hello, dnf! (patched)\n", "{hello:?}");

    // A new release with --keep 1: dnf upgrades to it, the old one leaves the repository.
    ws.write_manifest(&ws.manifest().replace("release = \"1\"", "release = \"2\""));
    ws.wrap(&["build", "--format", "rpm", "--out", "out2", "--project", "hello", "--sign-key", sign]).ok();
    let out = publish(&ws, &["--repo", "repo", "--sign-key", sign, "--keep", "1", "out2"]);
    assert!(out.contains(&format!("removed {hello_file}")), "{out}");
    assert!(!repo.join(&hello_file).exists());
    let (ok, text) = dnf.run(&["upgrade", "--refresh"]);
    assert!(ok, "{text}");
    assert_eq!(dnf.installed("wrap-example-hello"), "1.1.0-2");
    let available = dnf.available();
    assert!(available.contains("hello 1.1.0-2\n") && !available.contains("hello 1.1.0-1"), "{available}");

    // The same packages published elsewhere at once: the same metadata, byte for byte.
    let repomd = read(&base.join("repodata/repomd.xml"));
    publish(
        &ws,
        &["--repo", "elsewhere", "--sign-key", sign, "--keep", "1", "out", "out2", host.to_str().unwrap()],
    );
    assert_eq!(read(&ws.path().join("elsewhere/rpm/stable/main/repodata/repomd.xml")), repomd);

    // One byte of repomd.xml, or of primary.xml.gz, changed: dnf refuses the repository.
    // The primary.xml.gz that repomd.xml names (older ones are kept for clients mid-update).
    let repomd_text = String::from_utf8(repomd.clone()).unwrap();
    let primary = repomd_text
        .split("href=\"repodata/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|name| name.ends_with("-primary.xml.gz"))
        .unwrap()
        .to_string();
    for (name, file, expected) in [
        ("repomd", "repomd.xml", "GPG signature verification error"),
        ("primary", primary.as_str(), "checksum"),
    ] {
        let tampered = ws.path().join(format!("tampered-{name}"));
        support::copy_tree(&repo, &tampered);
        let path = tampered.join("rpm/stable/main/repodata").join(file);
        let mut bytes = read(&path);
        let at = bytes.len() / 2;
        bytes[at] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let repo_file = repo_file.replace(repo.to_str().unwrap(), tampered.to_str().unwrap());
        let client = Dnf::new(ws.path().join(format!("dnf-{name}")), &repo_file);
        let (ok, text) = client.run(&["repoquery", "--available"]);
        assert!(!ok && text.contains(expected), "{name}: {text}");
    }
}

#[test]
fn rpms_the_repository_key_did_not_sign_are_refused_and_nothing_is_written() {
    let ws = Workspace::offline_example();
    let (ed25519, rsa) = (key(&ws, "ed25519.asc"), key(&ws, "rsa.asc"));
    ws.wrap(&["build", "--format", "rpm", "--out", "unsigned", "--project", "hello"]).ok();
    let stderr =
        ws.wrap(&["publish", "--repo", "repo", "--sign-key", ed25519.to_str().unwrap(), "unsigned"]).fails(1);
    assert!(stderr.contains("has no signature, and dnf installs only signed packages"), "{stderr}");
    assert!(!ws.path().join("repo").exists(), "a refused publish wrote the repository");

    let host = host_rpm(&ws, &ed25519, "1");
    let stderr = ws
        .wrap_env(
            &["publish", "--repo", "repo", "--sign-key", rsa.to_str().unwrap(), host.to_str().unwrap()],
            &[("WRAP_SIGN_PASSPHRASE", "wrap-test-passphrase")],
        )
        .fails(1);
    assert!(
        stderr.contains(
            "is not signed by the repository's key DE1BCFF2DB6A9F1E (its signature is key 372A3C652B1FED09)"
        ),
        "{stderr}"
    );

    // A directory of other files is not taken for a repository.
    std::fs::create_dir_all(ws.path().join("srv/www")).unwrap();
    std::fs::write(ws.path().join("srv/index.html"), "hi").unwrap();
    let stderr = ws
        .wrap(&["publish", "--repo", "srv", "--sign-key", ed25519.to_str().unwrap(), host.to_str().unwrap()])
        .fails(1);
    assert!(stderr.contains("is not a repository wrap publishes"), "{stderr}");
    assert_eq!(std::fs::read_dir(ws.path().join("srv")).unwrap().count(), 2);
}
