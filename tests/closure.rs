//! The lock's dependency closure judged against a real index: a PEP 503 simple index on
//! 127.0.0.1 (Python's http.server over a directory), which the test changes under a locked
//! build. `wrap lock` pins every distribution with its files' sha256; a locked build installs
//! exactly those, bit for bit the same after the index moved on, with uv and with pip; a file
//! whose bytes changed on the index is refused, naming it; `wrap lock --update` reports what moved;
//! a wheel built from an sdist of the closure is built once and shared through a remote.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::{Workspace, root};

/// A simple index over `dir/simple/<name>/index.html`, files in `dir/files/`, served by Python's
/// http.server on 127.0.0.1, stopped when dropped.
struct Index {
    dir: PathBuf,
    child: std::process::Child,
    port: u16,
}

impl Index {
    fn start(dir: &Path) -> Index {
        use std::io::BufRead;
        std::fs::create_dir_all(dir.join("files")).unwrap();
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.split(" port ").nth(1).and_then(|r| r.split(' ').next()).and_then(|p| p.parse().ok());
        let index = Index {
            dir: dir.to_path_buf(),
            port: port.unwrap_or_else(|| panic!("no port in {line:?}")),
            child,
        };
        index.pages();
        index
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/simple", self.port)
    }

    /// Serves `file` from now on.
    fn add(&self, file: &Path) {
        std::fs::copy(file, self.dir.join("files").join(file.file_name().unwrap())).unwrap();
        self.pages();
    }

    fn remove(&self, name: &str) {
        std::fs::remove_file(self.dir.join("files").join(name)).unwrap();
        self.pages();
    }

    /// Writes each project's page: a link per file, with its sha256.
    fn pages(&self) {
        let _ = std::fs::remove_dir_all(self.dir.join("simple"));
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(self.dir.join("files")).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let mut projects: std::collections::BTreeMap<String, String> = Default::default();
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let project = name.split('-').next().unwrap().to_lowercase().replace('_', "-");
            let sha = wrap::digest::sha256_hex(&std::fs::read(&file).unwrap());
            projects
                .entry(project)
                .or_default()
                .push_str(&format!("<a href=\"../../files/{name}#sha256={sha}\">{name}</a>\n"));
        }
        for (project, links) in projects {
            let dir = self.dir.join("simple").join(project);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("index.html"),
                format!("<!DOCTYPE html><html><body>\n{links}</body></html>\n"),
            )
            .unwrap();
        }
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A copy of the offline example's `shout` wheel as version `version`, `marker` in its code (so
/// that its bytes differ from another copy of the same version).
fn shout_wheel(dir: &Path, version: &str, marker: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let to = dir.join(format!("shout-{version}-py3-none-any.whl"));
    let script = r##"
import base64, hashlib, sys, zipfile
src, dst, version, marker = sys.argv[1:5]
old = zipfile.ZipFile(src)
files = {}
for name in old.namelist():
    data = old.read(name)
    name = name.replace("shout-1.0.0.dist-info", f"shout-{version}.dist-info")
    if name.endswith("METADATA"):
        data = data.replace(b"Version: 1.0.0", f"Version: {version}".encode())
    if name == "shout/__init__.py":
        data += f"# {marker}\n".encode()
    files[name] = data
record = f"shout-{version}.dist-info/RECORD"
lines = []
for name, data in files.items():
    if name != record:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(data)}")
lines.append(f"{record},,")
files[record] = ("\n".join(lines) + "\n").encode()
with zipfile.ZipFile(dst, "w") as new:
    for name, data in files.items():
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        new.writestr(info, data)
"##;
    let src = root().join("manifests/offline/wheels/shout-1.0.0-py3-none-any.whl");
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&src)
        .arg(&to)
        .args([version, marker])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    to
}

/// An sdist `chant-1.0.tar.gz` (no wheel) whose setup.py asks for `shout` at build time
/// (`setup_requires`, which only its build backend's hook reveals).
fn chant_sdist(dir: &Path) -> PathBuf {
    let tree = dir.join("chant-1.0");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("setup.py"),
        "from setuptools import setup\nsetup(name='chant', version='1.0', py_modules=['chant'], setup_requires=['shout>=1.0'])\n",
    )
    .unwrap();
    std::fs::write(tree.join("chant.py"), "def chant():\n    return 'la'\n").unwrap();
    let to = dir.join("chant-1.0.tar.gz");
    let out = Command::new("tar").arg("-czf").arg(&to).arg("-C").arg(dir).arg("chant-1.0").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    to
}

/// The offline example reduced to `hello`, installing from `index` instead of its wheelhouse.
fn workspace(index: &Index) -> Workspace {
    let ws = Workspace::offline_example();
    let manifest = ws.manifest();
    let manifest = manifest
        .replace("find_links = [\"wheels\"]    # setuptools, pbr and the `shout` dependency\n", "")
        .replace("offline = true\n", "");
    let manifest = &manifest[..manifest.find("[[project]]\nname = \"greet\"").unwrap()];
    ws.write_manifest(manifest);
    for wheel in ["setuptools-80.9.0-py3-none-any.whl", "shout-1.0.0-py3-none-any.whl"] {
        index.add(&root().join("manifests/offline/wheels").join(wheel));
    }
    ws
}

fn env(index: &Index) -> Vec<(&'static str, String)> {
    vec![
        ("UV_DEFAULT_INDEX", index.url()),
        ("PIP_INDEX_URL", index.url()),
        ("UV_NO_INDEX", "false".into()),
        ("PIP_NO_INDEX", "false".into()),
    ]
}

fn wrap(ws: &Workspace, index: &Index, args: &[&str]) -> support::Run {
    wrap_with(ws, index, args, &[])
}

/// `wrap` against `index`, with `extra` on top of its environment.
fn wrap_with(ws: &Workspace, index: &Index, args: &[&str], extra: &[(&str, &str)]) -> support::Run {
    let env = env(index);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra);
    ws.wrap_env(args, &env)
}

/// The `shout-*.dist-info` directory names in the tarball `artifact`.
fn shout_in(artifact: &Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tzf").arg(artifact).output().unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split('/').find(|part| part.starts_with("shout-") && part.ends_with(".dist-info")))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn a_locked_build_installs_the_locked_closure_after_the_index_moves_on() {
    let tmp = tempfile::tempdir().unwrap();
    let index = Index::start(&tmp.path().join("index"));
    let ws = workspace(&index);
    wrap(&ws, &index, &["lock"]).ok();
    let lock = ws.lock_text();
    let shout = wrap::digest::sha256_hex(
        &std::fs::read(root().join("manifests/offline/wheels/shout-1.0.0-py3-none-any.whl")).unwrap(),
    );
    assert!(lock.contains("install = [\"shout==1.0.0\"]"), "{lock}");
    assert!(lock.contains("build = [\"setuptools==80.9.0\"]"), "{lock}");
    assert!(
        lock.contains(&format!("name = \"shout-1.0.0-py3-none-any.whl\"\nsha256 = \"{shout}\"")),
        "{lock}"
    );
    // The index's address is in the lock, for `wrap fetch --wheelhouse`; nothing local is.
    let url = format!("url = \"{}/shout-1.0.0-py3-none-any.whl\"", index.url().replace("/simple", "/files"));
    assert!(lock.contains(&url), "{lock}");
    assert!(!lock.contains(tmp.path().to_str().unwrap()), "{lock}");
    // Nothing changed: the same bytes, nothing resolved again.
    let again = wrap(&ws, &index, &["lock"]);
    assert!(!again.stderr().contains("Resolving"), "{}", again.stderr());
    assert_eq!(ws.lock_text(), lock);

    let built = wrap(&ws, &index, &["build", "--locked", "--format", "tar", "--out", "one"]).ok();
    let first = PathBuf::from(built.trim());
    assert_eq!(shout_in(&first), ["shout-1.0.0.dist-info"]);
    // The provenance says so, with the file's sha256, in build-info.json and the SBOM.
    unpack(&first, &tmp.path().join("first"));
    let record = |name: &str| -> serde_json::Value {
        let path = tmp.path().join("first/wrap-example-hello-1.1.0/.wrap").join(name);
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let info = record("build-info.json");
    assert_eq!(info["locked"], true);
    let dists = info["distributions"].as_array().unwrap();
    let shout_info = dists.iter().find(|d| d["name"] == "shout").unwrap();
    assert_eq!(shout_info["sha256"], serde_json::json!([shout]));
    let sbom = record("sbom.cdx.json");
    let component =
        sbom["components"].as_array().unwrap().iter().find(|c| c["name"] == "shout").unwrap().clone();
    assert_eq!(component["hashes"], serde_json::json!([{ "alg": "SHA-256", "content": shout }]));

    // The index moves on: a locked build still installs 1.0.0, bit for bit the same, with uv
    // and with pip.
    index.add(&shout_wheel(&tmp.path().join("new"), "1.1.0", "newer"));
    let built =
        wrap(&ws, &index, &["build", "--locked", "--rebuild", "--format", "tar", "--out", "two"]).ok();
    let second = PathBuf::from(built.trim());
    assert_eq!(std::fs::read(&second).unwrap(), std::fs::read(&first).unwrap());
    ws.setting("installer = \"pip\"");
    let built = wrap(&ws, &index, &["build", "--locked", "--format", "tar", "--out", "pip"]).ok();
    assert_eq!(shout_in(&PathBuf::from(built.trim())), ["shout-1.0.0.dist-info"]);
    ws.write_manifest(&ws.manifest().replace("installer = \"pip\"\n", ""));

    // `wrap lock --update` moves the pin and says so, as JSON (the lock is put back after) and
    // as a table; the build key names the closure.
    let before = ws.lock_text();
    let json = wrap(&ws, &index, &["--message-format", "json", "lock", "--update", "hello"]);
    json.ok();
    let changed = json.event("closure_changed");
    assert_eq!(changed["project"], "hello");
    let shout = changed["changes"].as_array().unwrap().iter().find(|c| c["name"] == "shout").cloned();
    let shout = shout.unwrap_or_else(|| panic!("{changed}"));
    assert_eq!(
        (shout["before"].as_str(), shout["after"].as_str()),
        (Some("1.0.0"), Some("1.1.0")),
        "{changed}"
    );
    std::fs::write(ws.path().join("wrap.lock"), before).unwrap();
    let update = wrap(&ws, &index, &["lock", "--update", "hello"]).ok();
    assert!(
        update.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == ["hello", "shout", "1.0.0", "->", "1.1.0", "upgraded"]),
        "{update}"
    );
    let rebuilt = wrap(&ws, &index, &["-v", "build", "--locked", "--format", "tar", "--out", "three"]);
    assert!(rebuilt.stderr().contains("dependency closure changed"), "{}", rebuilt.stderr());
    assert_eq!(shout_in(&PathBuf::from(rebuilt.ok().trim())), ["shout-1.1.0.dist-info"]);

    // The file's bytes change on the index under the same name: refused, named. (A cache of
    // its own, so that the build downloads it again.)
    index.add(&shout_wheel(&tmp.path().join("swapped"), "1.1.0", "swapped"));
    let fresh = tmp.path().join("fresh-cache");
    let with_cache = [("WRAP_CACHE", fresh.to_str().unwrap())];
    let run = wrap_with(
        &ws,
        &index,
        &["build", "--locked", "--rebuild", "--format", "tar", "--out", "four"],
        &with_cache,
    );
    let e = run.fails(1);
    assert!(e.contains("project `hello`: `shout==1.1.0` does not match the sha256 in the lock"), "{e}");
    assert!(!ws.path().join("four").read_dir().map(|mut d| d.next().is_some()).unwrap_or(false));

    // The file is gone from the index: the error says where else it can come from.
    index.remove("shout-1.1.0-py3-none-any.whl");
    let run = wrap_with(
        &ws,
        &index,
        &["build", "--locked", "--rebuild", "--format", "tar", "--out", "five"],
        &with_cache,
    );
    let e = run.fails(1);
    assert!(
        e.contains("project `hello`: locked file shout-1.1.0-py3-none-any.whl of `shout==1.1.0` (sha256 "),
        "{e}"
    );
    assert!(e.contains("404"), "{e}");
    assert!(run.stderr().contains("wrap fetch --locked --wheelhouse DIR"), "{}", run.stderr());
}

#[test]
fn locked_builds_refuse_a_lock_without_a_closure_or_for_other_inputs() {
    let ws = Workspace::offline_example();
    ws.wrap(&["lock"]).ok();
    let lock = ws.lock_text();
    assert!(lock.contains("[project.closure]") && lock.contains("[[distribution]]"), "{lock}");
    ws.wrap(&["plan", "--locked"]).ok();
    // Another extra dependency: the closure no longer holds.
    ws.write_manifest(
        &ws.manifest().replace("ref = \"2.0.0\"", "ref = \"2.0.0\"\npip_dependencies = [\"shout\"]"),
    );
    let e = ws.wrap(&["plan", "--locked"]).fails(1);
    assert!(e.contains("project `tally`: its dependency closure was resolved for another commit"), "{e}");
    // A build without --locked keeps going, unlocked for that project; `wrap lock` pins it.
    let lock_run = ws.wrap(&["lock"]);
    lock_run.ok();
    assert!(lock_run.stderr().contains("Resolving tally"), "{}", lock_run.stderr());
    assert!(ws.lock_text().contains("install = [\"shout==1.0.0\"]"));
    ws.wrap(&["plan", "--locked"]).ok();
    // A lock of format 1 (commits only) reads, and --locked names what it lacks.
    let v1: String = lock
        .split("\n[")
        .filter(|part| !part.starts_with("project.closure]") && !part.starts_with("[distribution"))
        .collect::<Vec<_>>()
        .join("\n[")
        .replace("version = 2", "version = 1");
    std::fs::write(ws.path().join("wrap.lock"), v1).unwrap();
    let e = ws.wrap(&["plan", "--locked"]).fails(1);
    assert!(e.contains("project `hello`: the lock pins no dependency closure"), "{e}");
}

#[test]
fn a_warm_locked_build_and_a_wheelhouse_need_no_index() {
    let tmp = tempfile::tempdir().unwrap();
    let index = Index::start(&tmp.path().join("index"));
    let ws = workspace(&index);
    wrap(&ws, &index, &["lock"]).ok();
    let fetched = wrap(&ws, &index, &["fetch", "--locked", "--wheelhouse", "wheelhouse"]);
    fetched.ok();
    let counts = |run: &support::Run| {
        let line = run.stderr().lines().find(|l| l.contains("Wheelhouse")).unwrap_or_default().to_string();
        line.split(": ").last().unwrap_or_default().to_string()
    };
    // `wrap fetch` puts the locked files into wrap's cache; the wheelhouse is filled from there.
    assert!(fetched.stderr().contains("Fetched hello 2 locked file(s)"), "{}", fetched.stderr());
    assert_eq!(counts(&fetched), "0 downloaded, 0 copied from find_links, 2 from the cache, 0 already there");
    let mut files: Vec<String> = std::fs::read_dir(ws.path().join("wheelhouse"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert_eq!(files, ["setuptools-80.9.0-py3-none-any.whl", "shout-1.0.0-py3-none-any.whl"]);
    let again = wrap(&ws, &index, &["fetch", "--locked", "--wheelhouse", "wheelhouse"]);
    assert_eq!(counts(&again), "0 downloaded, 0 copied from find_links, 0 from the cache, 2 already there");
    let online = PathBuf::from(
        wrap(&ws, &index, &["build", "--locked", "--format", "tar", "--out", "online"]).ok().trim(),
    );

    // The index is gone. A warm locked build needs nothing from it: the lock's files are in
    // wrap's cache, and nothing is resolved.
    drop(index);
    let warm = ws.wrap(&["build", "--locked", "--rebuild", "--format", "tar", "--out", "warm"]).ok();
    assert_eq!(std::fs::read(warm.trim()).unwrap(), std::fs::read(&online).unwrap());

    // And with the caches gone too (wrap's and uv's), the index unreachable is the network's
    // fault (exit 2), and the wheelhouse is all there is.
    std::fs::remove_dir_all(ws.cache()).unwrap();
    let e = ws.wrap(&["build", "--locked", "--format", "tar", "--out", "unreachable"]).fails(2);
    assert!(e.contains("cannot be had: cannot download `http://127.0.0.1:"), "{e}");
    ws.setting("find_links = [\"wheelhouse\"]\noffline = true");
    let offline = ws.wrap(&["build", "--locked", "--rebuild", "--format", "tar", "--out", "offline"]).ok();
    let (a, b) =
        (unpack(&online, &tmp.path().join("a")), unpack(Path::new(offline.trim()), &tmp.path().join("b")));
    let mut differ: Vec<&String> = a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).collect();
    differ.dedup();
    // Every installed file the same; the build record says where the files came from.
    assert_eq!(differ, ["wrap-example-hello-1.1.0/.wrap/build-info.json"]);
}

#[test]
fn an_sdist_in_the_closure_builds_with_locked_build_requirements() {
    let tmp = tempfile::tempdir().unwrap();
    let index = Index::start(&tmp.path().join("index"));
    let ws = workspace(&index);
    index.add(&chant_sdist(&tmp.path().join("sdist")));
    index.add(&root().join("tests/fixtures/wheels/wheel-0.45.1-py3-none-any.whl"));
    ws.write_manifest(
        &ws.manifest().replace("name = \"hello\"\n", "name = \"hello\"\npip_dependencies = [\"chant\"]\n"),
    );
    wrap(&ws, &index, &["lock"]).ok();
    let lock = ws.lock_text();
    assert!(lock.contains("install = [\"chant==1.0\", \"shout==1.0.0\"]"), "{lock}");
    // chant's own build requirements: what an installer assumes of a setup.py without a
    // pyproject.toml (setuptools, wheel) and its setup_requires.
    assert!(lock.contains("build = [\"setuptools==80.9.0\", \"shout==1.0.0\", \"wheel==0.45.1\"]"), "{lock}");
    assert!(lock.contains("name = \"chant-1.0.tar.gz\""), "{lock}");
    // pip's resolver (its installation report, and its own build frontend asked the same way)
    // pins the same closure, byte for byte.
    ws.setting("installer = \"pip\"");
    let by_pip = wrap(&ws, &index, &["lock", "--update"]);
    assert!(by_pip.stderr().contains("Resolving hello"), "{}", by_pip.stderr());
    assert_eq!(ws.lock_text(), lock);
    ws.write_manifest(&ws.manifest().replace("installer = \"pip\"\n", ""));

    // One build fetches the lock's files into wrap's cache. Then the index is gone.
    wrap(&ws, &index, &["build", "--locked", "--format", "tar", "--out", "online"]).ok();
    drop(index);
    for installer in ["uv", "pip"] {
        // No index, no installer cache: chant is built from the locked sdist with the locked
        // build requirements, all from wrap's cache.
        let _ = std::fs::remove_dir_all(ws.cache().join("uv"));
        let _ = std::fs::remove_dir_all(ws.cache().join("pip"));
        ws.setting(&format!("installer = \"{installer}\""));
        let built = ws.wrap(&["build", "--locked", "--rebuild", "--format", "tar", "--out", installer]);
        let names = String::from_utf8_lossy(
            &Command::new("tar").arg("-tzf").arg(built.ok().trim()).output().unwrap().stdout,
        )
        .to_string();
        assert!(names.contains("/chant-1.0.dist-info/"), "{installer}: {names}");
        ws.write_manifest(&ws.manifest().replace(&format!("installer = \"{installer}\"\n"), ""));
    }
}

/// The files of the tarball `artifact` (unpacked under `dir`) by path, with their sha256.
fn unpack(artifact: &Path, dir: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("tar").arg("-xzf").arg(artifact).arg("-C").arg(dir).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            (rel, wrap::digest::sha256_hex(&std::fs::read(e.path()).unwrap()))
        })
        .collect()
}

/// Runners sharing a remote build a wheel from the closure's sdist once: the first builds
/// chant's and uploads it; a second, with an empty cache, installs that wheel and builds
/// nothing; a damaged one on the remote is refused, built again and replaced.
#[test]
fn a_wheel_built_from_an_sdist_is_built_once_and_shared_through_the_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let index = Index::start(&tmp.path().join("index"));
    index.add(&chant_sdist(&tmp.path().join("sdist")));
    index.add(&root().join("tests/fixtures/wheels/wheel-0.45.1-py3-none-any.whl"));
    let with_chant = |ws: &Workspace| {
        ws.write_manifest(
            &ws.manifest()
                .replace("name = \"hello\"\n", "name = \"hello\"\npip_dependencies = [\"chant\"]\n"),
        )
    };
    let first = workspace(&index);
    with_chant(&first);
    wrap(&first, &index, &["lock"]).ok();
    let remote = format!("file://{}", tmp.path().join("remote").display());
    // --rebuild: the artifacts themselves are on the remote too.
    let runner = |ws: &Workspace, out: &str| {
        let args = ["build", "--locked", "--rebuild", "--format", "tar", "--out", out, "--remote", &remote];
        let run = wrap(ws, &index, &args);
        let tarball = PathBuf::from(run.ok().trim());
        let log = std::fs::read_to_string(ws.cache().join("logs/hello.closure.log")).unwrap();
        // setuptools says this whenever it builds chant, whichever frontend runs it.
        (run, unpack(&tarball, &tmp.path().join(out)), log.contains("running bdist_wheel"))
    };
    let (_, built, compiled) = runner(&first, "first");
    assert!(compiled, "the first runner builds chant's wheel");
    let objects = support::list(&tmp.path().join("remote/wheels"));
    assert_eq!(objects.len(), 1, "one wheel on the remote: {objects:?}");
    let object = tmp.path().join("remote/wheels").join(&objects[0]);
    let uploaded = std::fs::read(&object).unwrap();

    // Another runner: its own checkouts and caches, the same lock.
    let second = workspace(&index);
    with_chant(&second);
    std::fs::write(second.path().join("wrap.lock"), first.lock_text()).unwrap();
    let (run, fetched, compiled) = runner(&second, "second");
    assert!(!compiled, "the second runner installs the wheel from the remote");
    let said = "Downloaded hello wheel(s) built from sdists from the remote cache: chant==1.0";
    assert!(run.stderr().contains(said), "{}", run.stderr());
    let differ: Vec<&String> = built.keys().filter(|k| built.get(*k) != fetched.get(*k)).collect();
    assert!(built.keys().any(|k| k.ends_with("/chant.py")), "{built:?}");
    assert_eq!(built.len(), fetched.len());
    assert_eq!(differ, Vec::<&String>::new());

    // A damaged wheel on the remote is refused, built here and replaced by the same bytes.
    let mut damaged = uploaded.clone();
    *damaged.last_mut().unwrap() ^= 1;
    std::fs::write(&object, damaged).unwrap();
    std::fs::remove_dir_all(second.cache().join("built")).unwrap();
    let (run, again, compiled) = runner(&second, "third");
    assert!(compiled, "a refused wheel is built here");
    assert!(
        run.stderr().contains("1 built wheel(s) refused (chant==1.0: its built wheel"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("is damaged"), "{}", run.stderr());
    assert_eq!(again, built);
    assert_eq!(std::fs::read(&object).unwrap(), uploaded, "the same sdist built again gives the same wheel");
}

#[test]
fn a_locked_wheel_is_built_in_a_kept_environment_as_uv_build_would() {
    let tmp = tempfile::tempdir().unwrap();
    let index = Index::start(&tmp.path().join("index"));
    let ws = workspace(&index);
    wrap(&ws, &index, &["lock"]).ok();
    let envs = || -> Vec<String> {
        let dir = ws.cache().join("buildenvs");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    let build = |out: &str, extra: &[(&str, &str)]| -> (Vec<u8>, String) {
        let run = wrap_with(
            &ws,
            &index,
            &["-vv", "build", "--locked", "--rebuild", "--format", "tar", "--out", out],
            extra,
        );
        let stderr = run.stderr().to_string();
        (std::fs::read(run.ok().trim()).unwrap(), stderr)
    };
    // hello's wheel through its hooks, in an environment of setuptools (its build-system.requires)
    // kept in the cache; then again from it.
    let (kept, log) = build("kept", &[]);
    assert!(log.contains("building the wheel through its hooks"), "{log}");
    let made = envs();
    assert_eq!(made.len(), 1, "{made:?}");
    let (again, log) = build("again", &[]);
    assert!(log.contains("building the wheel through its hooks"), "{log}");
    assert_eq!(envs(), made);
    assert_eq!(again, kept);
    // `uv build`, in an environment of its own, makes the same bytes.
    let (isolated, log) = build("isolated", &[("WRAP_ISOLATED_BUILDS", "1")]);
    assert!(!log.contains("building the wheel through its hooks"), "{log}");
    assert_eq!(isolated, kept);

    // A backend that asks for more than the kept environment holds (setup_requires, which only
    // its hook tells): `uv build` builds the wheel, with the locked build requirements.
    let patch = ws.path().join("patches/hello/0003-Ask-for-shout-at-build-time.patch");
    std::fs::write(
        &patch,
        "diff --git a/setup.py b/setup.py\nnew file mode 100644\n--- /dev/null\n+++ b/setup.py\n@@ -0,0 +1,2 @@\n+from setuptools import setup\n+setup(setup_requires=[\"shout>=1.0\"])\n",
    )
    .unwrap();
    ws.write_manifest(&ws.manifest().replace(
        "    \"patches/hello/0002-Add-region-for-the-operators.patch\",\n",
        "    \"patches/hello/0002-Add-region-for-the-operators.patch\",\n    \"patches/hello/0003-Ask-for-shout-at-build-time.patch\",\n",
    ));
    wrap(&ws, &index, &["lock", "--update"]).ok();
    assert!(
        ws.lock_text().contains("build = [\"setuptools==80.9.0\", \"shout==1.0.0\"]"),
        "{}",
        ws.lock_text()
    );
    let (asked, log) = build("asked", &[]);
    assert!(log.contains("the backend asks for what its kept environment lacks"), "{log}");
    assert!(log.contains("shout>=1.0"), "{log}");
    let (isolated, _) = build("asked-isolated", &[("WRAP_ISOLATED_BUILDS", "1")]);
    assert_eq!(asked, isolated);
    assert_ne!(asked, kept);

    // An environment that cannot be made (here its directory cannot be) costs the build
    // nothing but the time: `uv build` builds the wheel.
    let envs_dir = ws.cache().join("buildenvs");
    std::fs::remove_dir_all(&envs_dir).unwrap();
    std::fs::write(&envs_dir, "not a directory").unwrap();
    let (unkept, log) = build("unkept", &[]);
    assert!(log.contains("cannot make the kept build environment"), "{log}");
    assert_eq!(unkept, asked);
}
