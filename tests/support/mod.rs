//! Test workspaces: a copy of the offline example manifest and its patches in a temporary
//! directory, real git repositories made from fixtures/ by fixtures/make-repos.sh, and a cache of
//! its own. `wrap` runs as the real binary.
#![allow(dead_code)]

pub mod cut;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A workspace in a temporary directory.
pub struct Workspace {
    pub tmp: tempfile::TempDir,
}

impl Workspace {
    /// The offline example with fresh repositories and an empty cache.
    pub fn offline_example() -> Workspace {
        let tmp = tempfile::tempdir().unwrap();
        let src = root().join("manifests/offline");
        copy_tree(&src.join("patches"), &tmp.path().join("patches"));
        copy_tree(&src.join("wheels"), &tmp.path().join("wheels"));
        std::fs::copy(src.join("wrap.toml"), tmp.path().join("wrap.toml")).unwrap();
        let ws = Workspace { tmp };
        run_ok(Command::new("cp").arg("-a").arg(fixture_repos()).arg(ws.path().join("repos")));
        ws
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    pub fn repo(&self, name: &str) -> PathBuf {
        self.path().join("repos").join(name)
    }

    pub fn manifest(&self) -> String {
        std::fs::read_to_string(self.path().join("wrap.toml")).unwrap()
    }

    pub fn write_manifest(&self, text: &str) {
        std::fs::write(self.path().join("wrap.toml"), text).unwrap();
    }

    pub fn lock_text(&self) -> String {
        std::fs::read_to_string(self.path().join("wrap.lock")).unwrap()
    }

    /// Runs wrap in the workspace.
    pub fn wrap(&self, args: &[&str]) -> Run {
        self.wrap_env(args, &[])
    }

    /// Runs wrap in the workspace with extra environment variables.
    pub fn wrap_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = self.command(args, env).output().unwrap();
        Run { args: args.join(" "), output, dir: self.path().to_path_buf() }
    }

    /// The command that runs wrap in the workspace (its own cache, no colour, no
    /// SOURCE_DATE_EPOCH, no package index, no registry credentials), then with `env` on top.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wrap"));
        cmd.args(args)
            .current_dir(self.path())
            .env("WRAP_CACHE", self.cache())
            .env_remove("SOURCE_DATE_EPOCH")
            .env("NO_COLOR", "1")
            // No index: tests install from their wheelhouses (tests/closure.rs serves its own
            // index on 127.0.0.1 and lifts this).
            .env("UV_NO_INDEX", "1")
            .env("PIP_NO_INDEX", "1")
            // No registry credentials of the machine's.
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("WRAP_REGISTRY_USERNAME")
            .env_remove("XDG_RUNTIME_DIR")
            .env("DOCKER_CONFIG", self.path().join(".docker"))
            .envs(env.iter().copied());
        cmd
    }

    /// Runs git in a repository of the workspace, as the fixtures' author.
    pub fn git(&self, repo: &Path, args: &[&str]) -> String {
        git(repo, args)
    }

    /// Adds a commit to `branch` of fixture repository `name`; returns its id.
    pub fn advance(&self, name: &str, branch: &str, file: &str) -> String {
        let repo = self.repo(name);
        git(&repo, &["checkout", "-q", branch]);
        std::fs::write(repo.join(file), "moved upstream\n").unwrap();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "Move the branch"]);
        git(&repo, &["rev-parse", "HEAD"])
    }
}

/// Runs git with a fixed identity and no user configuration.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// One run of wrap.
pub struct Run {
    pub args: String,
    pub output: Output,
    /// The directory it ran in (filtered out of snapshots).
    pub dir: PathBuf,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// The events of a `--message-format json` run: every stdout line one JSON object that the
    /// committed schema (docs/events.schema.json) accepts, the last one `finished` with the
    /// run's exit code.
    pub fn events(&self) -> Vec<serde_json::Value> {
        static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
        let schema = SCHEMA.get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json");
            let text = std::fs::read_to_string(path).unwrap();
            jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
        });
        let events: Vec<serde_json::Value> = self
            .stdout()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
                if let Err(e) = schema.validate(&v) {
                    let kind = format!("{:?}", e.kind());
                    let short: String = l.chars().take(2000).collect();
                    panic!(
                        "wrap {}: an event the schema refuses ({} at `{}`):\n{short}",
                        self.args,
                        &kind[..kind.len().min(300)],
                        e.instance_path()
                    );
                }
                v
            })
            .collect();
        let last = events.last().unwrap_or_else(|| panic!("wrap {}: no events", self.args));
        assert_eq!(last["event"], "finished", "wrap {}", self.args);
        assert_eq!(last["exit_code"].as_i64(), self.code().map(i64::from), "wrap {}", self.args);
        events
    }

    /// The one event named `name` of a `--message-format json` run (see [`Run::events`]).
    pub fn event(&self, name: &str) -> serde_json::Value {
        let mut found = self.events().into_iter().filter(|e| e["event"] == name);
        let event = found.next().unwrap_or_else(|| panic!("wrap {}: no `{name}` event", self.args));
        assert!(found.next().is_none(), "wrap {}: more than one `{name}` event", self.args);
        event
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> String {
        assert!(
            self.output.status.success(),
            "wrap {} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }

    /// Asserts failure with `code` and returns the first line of stderr (the error message).
    pub fn fails(&self, code: i32) -> String {
        assert_eq!(
            self.code(),
            Some(code),
            "wrap {}\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.stdout(),
            self.stderr()
        );
        let stderr = self.stderr();
        let line = stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("no error line in:\n{stderr}"));
        self.snapshot_error(code);
        line.to_string()
    }

    /// Snapshots what the user reads of this failure: the exit code, then every `error:`,
    /// `caused by:` and `hint:` line (an installer's output lines are left out: they change with
    /// its version), with the workspace's path as `[WS]`. Named after the test, numbered.
    fn snapshot_error(&self, code: i32) {
        thread_local!(static COUNT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });
        let n = COUNT.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        let test = std::thread::current().name().unwrap_or("error").rsplit("::").next().unwrap().to_string();
        let ws = self.dir.display().to_string();
        // The source snippet under a manifest or lock error (` --> file:line:col`, then its
        // `|` lines) is part of what the user reads, and is kept.
        let mut in_snippet = false;
        let lines: Vec<String> = self
            .stderr()
            .lines()
            .filter(|l| {
                let t = l.trim_start();
                in_snippet = t.starts_with("--> ")
                    || in_snippet
                        && t.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start().starts_with('|');
                in_snippet
                    || l.starts_with("error: ")
                    || l.starts_with("  caused by: ")
                    || l.starts_with("hint: ")
            })
            .map(|l| l.replace(&ws, "[WS]"))
            .collect();
        let args = self.args.replace(&ws, "[WS]");
        let text = format!("$ wrap {args}\nexit code {code}\n{}\n", lines.join("\n"));
        insta::with_settings!({
            filters => vec![
                (r"\.wrap-tmp-[0-9]+-[^/ `]*", "[TEMP]"),
                (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"),
                (r"python3\.[0-9]+", "python3.X"),
                (r"127\.0\.0\.1:[0-9]+", "127.0.0.1:[PORT]"),
                (r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]"),
                // Build keys include wrap's own digest: they change with every build of wrap.
                (r"build key [0-9a-f]{12,64}", "build key [KEY]"),
                (r"_(amd64|arm64)\.deb", "_[ARCH].deb"),
                (r"\.(x86_64|aarch64)\.rpm", ".[ARCH].rpm"),
                (r"\.(amd64|arm64)\.oci\.tar", ".[ARCH].oci.tar"),
            ],
            prepend_module_to_snapshot => false,
            snapshot_path => "../snapshots/errors",
        }, {
            insta::assert_snapshot!(format!("{}__{test}-{n}", env!("CARGO_CRATE_NAME")), text);
        });
    }
}

/// The fixture repositories, made once per test binary by fixtures/make-repos.sh (authors and
/// dates fixed, so every copy has the same commit ids) under the target directory's temporary
/// directory; each workspace gets a copy. Those left by test binaries that have ended go.
fn fixture_repos() -> &'static Path {
    static REPOS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    REPOS.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(pid) = name.strip_prefix("fixture-repos-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = base.join(format!("fixture-repos-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        run_ok(Command::new(root().join("fixtures/make-repos.sh")).arg(&dir));
        dir
    })
}

fn run_ok(cmd: &mut Command) {
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Copies a directory tree (regular files and directories).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every entry below `dir`, relative, sorted.
pub fn list(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            out.push(e.path().strip_prefix(base).unwrap().to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

impl Workspace {
    /// Adds `line` to the manifest's `[settings]` table.
    pub fn setting(&self, line: &str) {
        let text = self.manifest().replacen("[settings]\n", &format!("[settings]\n{line}\n"), 1);
        self.write_manifest(&text);
    }

    /// Adds `lines` to greet's `[[project]]` table (after its `ref`).
    pub fn greet_keys(&self, lines: &str) {
        let text = self.manifest().replacen("ref = \"main\"", &format!("ref = \"main\"\n{lines}"), 1);
        self.write_manifest(&text);
    }

    /// Adds to greet a patch that makes its build fail ("greet is broken on purpose").
    pub fn break_greet(&self) {
        std::fs::create_dir_all(self.path().join("patches/greet")).unwrap();
        std::fs::write(
            self.path().join("patches/greet/0001-break.patch"),
            "diff --git a/setup.py b/setup.py\n--- a/setup.py\n+++ b/setup.py\n@@ -1,3 +1,4 @@\n import setuptools\n \n+raise SystemExit(\"greet is broken on purpose\")\n setuptools.setup(setup_requires=[\"pbr\"], pbr=True)\n",
        )
        .unwrap();
        self.greet_keys("patches = [\"patches/greet/0001-break.patch\"]");
    }

    /// Runs `wrap build --format tar --out DIR` and returns the artifact paths it printed.
    pub fn build_tar(&self, out: &str) -> Vec<PathBuf> {
        self.build_format("tar", out)
    }

    /// Runs `wrap build --format FORMAT --out DIR` and returns the artifact paths it printed.
    pub fn build_format(&self, format: &str, out: &str) -> Vec<PathBuf> {
        let stdout = self.wrap(&["build", "--format", format, "--out", out]).ok();
        stdout.lines().map(PathBuf::from).collect()
    }
}

/// Whether the tests run as root (CI does); when not, says on stderr that the test needing root
/// for `what` is skipped.
pub fn is_root_or_skip(what: &str) -> bool {
    let root = run("id", &["-u"], Path::new("/")).trim() == "0";
    if !root {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped: {what} needs root (CI runs as root)");
    }
    root
}

/// Runs a program and returns its stdout, asserting success.
pub fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program.as_ref()).args(args).current_dir(dir).output().unwrap();
    assert!(
        output.status.success(),
        "{:?} {args:?} in {}: {}\n{}",
        program.as_ref(),
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The pycs `python` loads when it imports `module` (from `python -v`'s "code object from"
/// lines): the bytecode it found valid and used instead of compiling the source.
pub fn bytecode_used(python: &Path, module: &str) -> Vec<String> {
    let output = Command::new(python).args(["-v", "-c", &format!("import {module}")]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("# code object from ").map(|p| p.trim_matches('\'').to_string()))
        .collect()
}

/// Every file below `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for rel in list(dir) {
        let path = dir.join(&rel);
        if path.is_symlink() {
            if std::fs::read_link(&path).unwrap().to_string_lossy().contains(needle) {
                out.push(path);
            }
        } else if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                out.push(path);
            }
        }
    }
    out
}

/// Unpacks a tarball into `dir` with the system's tar.
pub fn untar(tarball: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    run("tar", &["-xzf", tarball.to_str().unwrap(), "-C", dir.to_str().unwrap()], dir);
}

/// The artifact whose file name starts with `prefix`.
pub fn find<'a>(artifacts: &'a [PathBuf], prefix: &str) -> &'a Path {
    artifacts
        .iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} artifact in {artifacts:?}"))
}

/// A package model of the tree at `root`, which holds `/opt/wrap-test/big`, as `wrap build` makes
/// it after relocation: no requirements, no scripts, no user; installable anywhere.
pub fn tree_spec(root: &Path, name: &str, release: &str) -> wrap::package::spec::PackageSpec {
    wrap::package::spec::PackageSpec {
        project: "big".into(),
        name: name.into(),
        version: "1.0".into(),
        upstream: "1.0".into(),
        release: release.into(),
        epoch: None,
        maintainer: "wrap tests <tests@example.invalid>".into(),
        summary: "A large tree".into(),
        description: "Files of several megabytes.".into(),
        homepage: None,
        license: Some("MIT".into()),
        section: "misc".into(),
        priority: "optional".into(),
        requirements: vec![],
        system_dependencies: vec![],
        rpm_system_dependencies: None,
        rpm_relations: None,
        relations: Default::default(),
        install_path: "/opt/wrap-test/big".into(),
        alternative: None,
        user: None,
        units: vec![],
        enable_units: Default::default(),
        restart_on_upgrade: false,
        conffiles: vec![],
        root: root.to_path_buf(),
        mtime: 1_700_000_000,
        origin: "Test.".into(),
        lintian_overrides: vec![],
        rpmlint_filters: vec![],
        image: None,
        bytecode: wrap::manifest::Bytecode::Build,
        scripts: Default::default(),
        bundle: true,
        extra_files: Vec::new(),
    }
}

/// Writes the .rpm of `spec` into `out` with the library's packager, signed by `signer`.
pub fn pack_rpm(
    spec: &wrap::package::spec::PackageSpec,
    out: &Path,
    compression: &str,
    signer: Option<&wrap::signing::Signer>,
) -> wrap::error::Result<PathBuf> {
    let options = wrap::package::Options {
        compression: wrap::manifest::Compression::parse(compression).unwrap(),
        signer,
        members: None,
        gate: None,
    };
    let packager = wrap::package::packager(wrap::artifact::Format::Rpm).unwrap();
    let content = wrap::package::content(spec, &[wrap::artifact::Format::Rpm])?;
    let (artifact, _) = wrap::package::write(packager, spec, &content, &options, "big.rpm", out)?;
    Ok(artifact.path)
}

/// A server process a test started on 127.0.0.1: killed and waited for when dropped, pass or
/// fail.
pub struct Server {
    pub child: std::process::Child,
    pub port: u16,
}

impl Server {
    /// A port nothing listens on now.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// Starts `command` and waits until it accepts connections on `port`.
    pub fn start(command: &mut Command, port: u16, what: &str) -> Server {
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut server = Server { child, port };
        for _ in 0..150 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{what} exited with {status} before listening on 127.0.0.1:{port}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{what} did not listen on 127.0.0.1:{port}");
    }

    /// Stops it now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
