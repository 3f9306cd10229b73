//! ssh git URLs: a real OpenSSH server on loopback, started and stopped by the test, serves the
//! fixture repositories; wrap locks and fetches over it with the git command and OpenSSH (keys,
//! known_hosts and `GIT_SSH_COMMAND` as the operator has them), and an unknown host key is
//! refused with an environment error, never a prompt.

mod support;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Workspace, git};

/// sshd, killed when dropped.
struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn keygen(path: &Path) {
    let status =
        Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(path).status().unwrap();
    assert!(status.success());
}

/// Starts sshd on a free loopback port with a host key and one authorized key of its own.
fn sshd(dir: &Path) -> (Sshd, u16) {
    keygen(&dir.join("host_key"));
    keygen(&dir.join("user_key"));
    std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel ERROR\n",
        d = dir.display()
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    // Debian's unit makes sshd's privilege-separation directory (RuntimeDirectory=sshd); with
    // no systemd running, the test makes it as the unit would.
    if !Path::new("/run/sshd").exists() {
        std::fs::create_dir_all("/run/sshd").unwrap();
    }
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdout(Stdio::null())
        .spawn()
        .expect("sshd (openssh-server) is installed");
    let server = Sshd(child);
    let start = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "sshd did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

#[test]
fn ssh_git_urls_lock_and_fetch_through_openssh() {
    if !support::is_root_or_skip("starting sshd") {
        return;
    }
    let ws = Workspace::offline_example();
    let dir = ws.path().join("ssh");
    std::fs::create_dir(&dir).unwrap();
    let (_sshd, port) = sshd(&dir);
    let host_key = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
    std::fs::write(dir.join("known_hosts"), format!("[127.0.0.1]:{port} {host_key}")).unwrap();
    std::fs::write(dir.join("empty_known_hosts"), "").unwrap();
    let ssh = |known: &str| {
        format!(
            "ssh -i {d}/user_key -o IdentitiesOnly=yes -o UserKnownHostsFile={d}/{known} -o StrictHostKeyChecking=yes -o BatchMode=yes -F /dev/null",
            d = dir.display()
        )
    };
    let user = support::run("id", &["-un"], Path::new("/")).trim().to_string();
    let url = format!("ssh://{user}@127.0.0.1:{port}{}", ws.repo("hello").display());
    // The example is offline; this project is fetched over ssh (from loopback).
    let manifest = ws.manifest().replacen("offline = true", "offline = false", 1);
    ws.write_manifest(&manifest.replacen("git = \"repos/hello\"", &format!("git = \"{url}\""), 1));

    let trusted = ssh("known_hosts");
    let env = [("GIT_SSH_COMMAND", trusted.as_str())];
    ws.wrap_env(&["lock"], &env).ok();
    let plan = ws.wrap_env(&["--message-format", "json", "plan", "--format", "tar"], &env).event("plan");
    assert_eq!(plan["plan"]["projects"][0]["git"], url.as_str());
    assert_eq!(
        plan["plan"]["projects"][0]["commit"],
        git(&ws.repo("hello"), &["rev-parse", "1.1.0^{commit}"]).as_str()
    );
    let fetched = ws.wrap_env(&["--message-format", "json", "fetch", "-p", "hello"], &env).event("fetched");
    assert!(Path::new(fetched["path"].as_str().unwrap()).join("hello/cli.py").is_file());

    // An upstream commit arrives over ssh too.
    let moved = ws.advance("hello", "main", "NEWS");
    ws.write_manifest(&ws.manifest().replacen("ref = \"1.1.0\"", "ref = \"main\"", 1));
    ws.wrap_env(&["lock", "--update", "hello"], &env).ok();
    assert!(ws.lock_text().contains(&moved), "{}", ws.lock_text());

    // A host key nobody trusts: refused at once, as an environment problem, with ssh's words.
    std::fs::remove_dir_all(ws.cache().join("git")).unwrap();
    let untrusted = ssh("empty_known_hosts");
    let run = ws.wrap_env(&["lock", "--update", "hello"], &[("GIT_SSH_COMMAND", untrusted.as_str())]);
    // (Not snapshotted: ssh's words name the port.)
    assert_eq!(run.code(), Some(2), "{}", run.stderr());
    assert!(run.stderr().starts_with("   Resolving hello"), "{}", run.stderr());
    assert!(
        run.stderr().contains(&format!("error: project `hello`: cannot fetch `{url}`\n")),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("Host key verification failed"), "{}", run.stderr());
    assert!(run.stderr().contains("hint: ssh URLs are fetched by git with OpenSSH"), "{}", run.stderr());
}
