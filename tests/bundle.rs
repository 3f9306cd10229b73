//! `wrap build --format tar` on the offline example: the relocatable bundle runs wherever it is
//! unpacked and after being moved, with either installer, holds no build path, and reproduces
//! bit for bit. The fixed-path target runs at its install path.

mod support;

use std::path::{Path, PathBuf};

use support::{Workspace, bytecode_used, files_containing, find, git, run, untar};
use wrap::digest::sha256_hex;

fn bundle_runs_anywhere(installer: &str) {
    let ws = Workspace::offline_example();
    ws.setting(&format!("installer = \"{installer}\""));
    let artifacts = ws.build_tar("out");
    assert_eq!(artifacts.len(), 3, "{artifacts:?}");
    let hello = find(&artifacts, "wrap-example-hello-1.1.0-1.linux-");
    assert!(hello.to_string_lossy().ends_with(".tar.gz"));
    assert!(hello.starts_with(ws.path().join("out")));
    for artifact in &artifacts {
        let sum = std::fs::read_to_string(format!("{}.sha256", artifact.display())).unwrap();
        let name = artifact.file_name().unwrap().to_string_lossy();
        assert_eq!(sum, format!("{}  {name}\n", sha256_hex(&std::fs::read(artifact).unwrap())));
    }

    // Unpacked at two places, then moved once more: it runs every time.
    let places = ws.path().join("places");
    untar(hello, &places.join("a"));
    untar(hello, &places.join("b/deeper"));
    let top = "wrap-example-hello-1.1.0";
    std::fs::rename(places.join("a").join(top), places.join("moved")).unwrap();
    for root in [places.join("b/deeper").join(top), places.join("moved")] {
        let out = run(root.join("bin/hello"), &["ops"], ws.path());
        assert_eq!(out, "Hello, ops! (patched)\n");
        // The dependency from the wheelhouse and the second patch are there.
        assert_eq!(run(root.join("bin/hello"), &["--loud", "ops"], ws.path()), "HELLO, OPS! (PATCHED)\n");
        assert_eq!(run(root.join("bin/hello"), &["--region"], ws.path()), "region: RegionOne\n");
        assert_eq!(
            run(root.join("bin/python"), &["-m", "hello", "module"], ws.path()),
            "Hello, module! (patched)\n"
        );
        // Sourcing activate in bash puts the bundle's bin first on PATH.
        let script = format!(". '{}/bin/activate' && echo \"$PATH\" && command -v hello", root.display());
        let out = run("bash", &["-c", &script], ws.path());
        let mut lines = out.lines();
        let bin = root.canonicalize().unwrap().join("bin");
        assert!(lines.next().unwrap().starts_with(&format!("{}:", bin.display())), "{out}");
        assert_eq!(lines.next().unwrap(), bin.join("hello").display().to_string());
        // No byte of the build path (the staging directory lives in the cache) anywhere.
        let leaks = files_containing(&root, &ws.cache().display().to_string());
        assert!(leaks.is_empty(), "build path left in {leaks:?}");
        // Bytecode is shipped.
        assert!(root.join("lib/python3.11/site-packages/hello/__pycache__").is_dir() || python_is_not_311());
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(".wrap/build-info.json")).unwrap())
                .unwrap();
        assert_eq!(info["installer"], installer);
        assert_eq!(info["python"], format!("/usr/bin/python{}", info["python_abi"].as_str().unwrap()));
        let dists: Vec<String> = info["distributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| format!("{}=={}", d["name"].as_str().unwrap(), d["version"].as_str().unwrap()))
            .collect();
        assert_eq!(dists, ["hello==1.1.0", "shout==1.0.0"]);
        let sbom: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(".wrap/sbom.cdx.json")).unwrap())
                .unwrap();
        assert_eq!(
            (sbom["bomFormat"].as_str(), sbom["specVersion"].as_str()),
            (Some("CycloneDX"), Some("1.5"))
        );
        assert_eq!(sbom["metadata"]["component"]["name"], "hello");
        assert_eq!(sbom["metadata"]["timestamp"], "2026-02-14T09:30:00Z"); // hello 1.1.0's commit time
        let purls: Vec<&str> =
            sbom["components"].as_array().unwrap().iter().map(|c| c["purl"].as_str().unwrap()).collect();
        assert_eq!(purls, ["pkg:pypi/hello@1.1.0", "pkg:pypi/shout@1.0.0"]);
        assert_eq!(sbom["components"][0]["licenses"][0]["expression"], "Apache-2.0");
    }
    assert!(!places.join("moved/bin/activate.csh").exists(), "csh cannot relocate; it is left out");

    // The shipped bytecode is used where the bundle was moved to; it is checked against its
    // source, so a module an operator edits in place runs as edited.
    if !python_is_not_311() {
        let package = places.join("moved/lib/python3.11/site-packages/hello");
        let pyc = package.join("__pycache__/__init__.cpython-311.pyc");
        let used = bytecode_used(&places.join("moved/bin/python"), "hello");
        assert!(used.iter().any(|p| Path::new(p) == pyc), "{used:?}");
        let flags = &std::fs::read(&pyc).unwrap()[4..8];
        assert_eq!(flags, [3, 0, 0, 0], "a checked-hash pyc");
        let source = std::fs::read_to_string(package.join("__init__.py")).unwrap();
        std::fs::write(package.join("__init__.py"), source.replace("Hello, %s!", "Howdy, %s!")).unwrap();
        assert_eq!(run(places.join("moved/bin/hello"), &["ops"], ws.path()), "Howdy, ops! (patched)\n");
    }

    // The pbr project reports its derived version.
    let greet = find(&artifacts, "wrap-example-greet-0.9.0+git20260620.");
    untar(greet, &places.join("greet"));
    let root = std::fs::read_dir(places.join("greet")).unwrap().next().unwrap().unwrap().path();
    assert_eq!(run(root.join("bin/greet"), &["ops"], ws.path()), "Good morning, ops.\n");
    let version = run(
        root.join("bin/python"),
        &["-c", "import importlib.metadata as m; print(m.version('greet'))"],
        ws.path(),
    );
    let lock = ws.lock_text();
    assert!(lock.contains(&format!("version = \"{}\"", version.trim())), "{version} not in {lock}");
}

fn python_is_not_311() -> bool {
    !Path::new("/usr/bin/python3.11").exists()
}

/// tally with an extra (added by a patch) and an extra dependency: both are installed.
fn extras_and_extra_dependencies_are_installed(installer: &str) {
    let ws = Workspace::offline_example();
    ws.setting(&format!("installer = \"{installer}\""));
    std::fs::create_dir_all(ws.path().join("patches/tally")).unwrap();
    std::fs::write(
        ws.path().join("patches/tally/0001-loud-extra.patch"),
        "diff --git a/pyproject.toml b/pyproject.toml\n--- a/pyproject.toml\n+++ b/pyproject.toml\n@@ -10,6 +10,9 @@\n license = { text = \"BSD-3-Clause\" }\n requires-python = \">=3.8\"\n \n+[project.optional-dependencies]\n+loud = [\"shout>=1.0\"]\n+\n [project.scripts]\n tally = \"tally:main\"\n \n",
    )
    .unwrap();
    let text = ws.manifest().replacen(
        "ref = \"2.0.0\"",
        "ref = \"2.0.0\"\npatches = [\"patches/tally/0001-loud-extra.patch\"]\nextras = [\"loud\"]\npip_dependencies = [\"pbr>=7\"]",
        1,
    );
    ws.write_manifest(&text);
    let stdout = ws.wrap(&["build", "--format", "tar", "--out", "out", "--project", "tally"]).ok();
    let tally = PathBuf::from(stdout.trim());
    untar(&tally, &ws.path().join("unpacked"));
    let root = std::fs::read_dir(ws.path().join("unpacked")).unwrap().next().unwrap().unwrap().path();
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(".wrap/build-info.json")).unwrap()).unwrap();
    let dists: Vec<&str> =
        info["distributions"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(dists, ["pbr", "setuptools", "shout", "tally"], "{info}"); // pbr needs setuptools
    run(root.join("bin/python"), &["-c", "import shout, pbr, tally"], ws.path());
}

#[test]
fn uv_installs_extras_and_extra_dependencies() {
    extras_and_extra_dependencies_are_installed("uv");
}

#[test]
fn pip_installs_extras_and_extra_dependencies() {
    extras_and_extra_dependencies_are_installed("pip");
}

#[test]
fn uv_bundle_runs_anywhere() {
    bundle_runs_anywhere("uv");
}

#[test]
fn pip_bundle_runs_anywhere() {
    bundle_runs_anywhere("pip");
}

#[test]
fn two_builds_in_two_places_are_identical() {
    let digests = |ws: &Workspace| -> Vec<String> {
        let mut artifacts = ws.build_tar("dist");
        artifacts.sort();
        artifacts.iter().map(|a| sha256_hex(&std::fs::read(a).unwrap())).collect()
    };
    let first = Workspace::offline_example();
    let second = Workspace::offline_example();
    assert_ne!(first.path(), second.path());
    let a = digests(&first);
    assert_eq!(a.len(), 3);
    assert_eq!(a, digests(&second));
    // Rebuilding in place gives the same bytes too.
    assert_eq!(a, digests(&first));
}

#[test]
fn the_fixed_path_target_runs_at_its_install_path() {
    use wrap::cache::Cache;
    use wrap::commands::{LockMode, Session};
    use wrap::report::Json;
    use wrap::venv::installer::Backend;
    use wrap::venv::relocate::{Origin, Target, relocate};

    let ws = Workspace::offline_example();
    let cache = Cache::at(ws.cache());
    let session = Session::new(&ws.path().join("wrap.toml"), cache.clone(), &Quiet, false).unwrap();
    let checkouts = session.fetch(&LockMode::Keep, &["hello".into()]).unwrap();
    let python = wrap::venv::python::probe(Path::new("/usr/bin/python3"), true).unwrap();
    let backend = Backend::choose(wrap::manifest::Installer::Pip, None, &cache, &python).unwrap();
    let staged = wrap::venv::build::build(
        &cache,
        &python,
        &backend,
        &wrap::venv::build::Input {
            project: "hello",
            checkout: &checkouts[0],
            extras: &[],
            pip_dependencies: &[],
            constraints: &[],
            find_links: &[ws.path().join("wheels")],
            offline: true,
            python_version: "1.1.0",
            prompt: "hello",
            source_date_epoch: 0,
            locked: None,
            remote: None,
            progress: &|_: &str| {},
        },
    )
    .unwrap();
    let origin = Origin { git: Some("https://example.com/hello"), git_ref: "1.1.0", commit: "0123" };
    // A short install path gets a plain shebang; one past the kernel's 127 bytes the sh trampoline.
    let short = ws.path().join("opt/hello");
    let long = ws.path().join(format!("opt/{}/hello", "x".repeat(120)));
    for install in [&short, &long] {
        let target = install.to_str().unwrap();
        let none = globset::GlobSet::empty();
        relocate("hello", staged.root(), install, Target::Fixed(target), &python, &origin, &none).unwrap();
        let script = std::fs::read_to_string(install.join("bin/hello")).unwrap();
        if install == &short {
            assert!(script.starts_with(&format!("#!{target}/bin/python\n")), "{script}");
        } else {
            assert!(script.starts_with(&format!("#!/bin/sh\n'''exec' '{target}/bin/python'")), "{script}");
        }
        assert_eq!(run(install.join("bin/hello"), &["fixed"], ws.path()), "Hello, fixed! (patched)\n");
        let activate = std::fs::read_to_string(install.join("bin/activate")).unwrap();
        assert!(activate.contains(target), "{activate}");
        let cfg = std::fs::read_to_string(install.join("pyvenv.cfg")).unwrap();
        let command = cfg.lines().find(|l| l.starts_with("command = ")).unwrap();
        assert!(command.ends_with(&format!(" -m venv --without-pip --prompt=\"hello\" {target}")), "{cfg}");
        let leaks = files_containing(install, &staged.root().display().to_string());
        assert!(leaks.is_empty(), "build path left in {leaks:?}");
        let direct = install.join("lib/python3.11/site-packages/hello-1.1.0.dist-info/direct_url.json");
        if direct.exists() {
            let json = std::fs::read_to_string(direct).unwrap();
            assert!(json.contains("\"commit_id\":\"0123\""), "{json}");
        }
    }
    let _ = Json;
}

/// A reporter that drops everything.
struct Quiet;

impl wrap::report::Reporter for Quiet {
    fn report(&self, _: &wrap::report::Event<'_>) {}
}

/// A C extension of hello's, on branch `cext` of its repository.
const SPEED_C: &str = r#"#include <Python.h>
static PyObject *twice(PyObject *self, PyObject *arg) { return PyLong_FromLong(2 * PyLong_AsLong(arg)); }
static PyMethodDef methods[] = {{"twice", twice, METH_O, "twice"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};
PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
"#;

#[test]
fn a_c_extension_compiled_on_two_boxes_gives_the_same_bytes() {
    // Two workspaces: two caches, two checkout directories, one commit.
    let first = Workspace::offline_example();
    let repo = first.repo("hello");
    git(&repo, &["checkout", "-q", "-b", "cext", "1.1.0"]);
    std::fs::write(repo.join("hello/_speed.c"), SPEED_C).unwrap();
    let setup = "from setuptools import Extension, setup\n\
                 setup(ext_modules=[Extension(\"hello._speed\", [\"hello/_speed.c\"])])\n";
    std::fs::write(repo.join("setup.py"), setup).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "Speed"]);
    let second = Workspace::offline_example();
    git(&second.repo("hello"), &["fetch", "-q", repo.to_str().unwrap(), "cext:cext"]);
    let mut debs = Vec::new();
    for ws in [&first, &second] {
        ws.write_manifest(&ws.manifest().replacen("ref = \"1.1.0\"", "ref = \"cext\"", 1));
        ws.wrap(&["lock"]).ok();
        let deb = find(&ws.build_format("deb", "out"), "wrap-example-hello_").to_path_buf();
        let tree = ws.path().join("tree");
        run("dpkg-deb", &["-x", deb.to_str().unwrap(), tree.to_str().unwrap()], ws.path());
        let so = support::list(&tree).into_iter().find(|n| n.ends_with(".so") && n.contains("_speed"));
        let so = tree.join(so.expect("the extension is in the package"));
        let cache = ws.cache().to_string_lossy().into_owned();
        let bytes = std::fs::read(&so).unwrap();
        assert!(
            !bytes.windows(cache.len()).any(|w| w == cache.as_bytes()),
            "{} names the cache",
            so.display()
        );
        debs.push(sha256_hex(&std::fs::read(&deb).unwrap()));
    }
    assert_eq!(debs[0], debs[1], "the same .deb from two caches");
}

/// An operator's cache may be named relative, with `..`, through a symlink. The tools in the
/// staging directory write its path resolved (uv) or only made absolute (Python's venv): every
/// form must be relocated away, in the .deb's fixed tree and in the relocatable tarball.
#[test]
fn a_cache_named_through_dotdot_and_a_symlink_leaves_no_build_path() {
    let ws = Workspace::offline_example();
    let real = ws.path().join("caches/real");
    std::fs::create_dir_all(&real).unwrap();
    std::os::unix::fs::symlink(&real, ws.path().join("cache-link")).unwrap();
    std::fs::create_dir(ws.path().join("sub")).unwrap();
    let built = ws.wrap_env(
        &["build", "-p", "hello", "--format", "deb", "--format", "tar", "--out", "out"],
        &[("WRAP_CACHE", "sub/../cache-link")],
    );
    let artifacts: Vec<PathBuf> = built.ok().lines().map(PathBuf::from).collect();
    assert_eq!(artifacts.len(), 2, "{artifacts:?}");
    let (deb, tarball) = (find(&artifacts, "wrap-example-hello_"), find(&artifacts, "wrap-example-hello-"));
    let (fixed, anywhere) = (ws.path().join("x-deb"), ws.path().join("x-tar"));
    run("dpkg-deb", &["-x", deb.to_str().unwrap(), fixed.to_str().unwrap()], ws.path());
    untar(tarball, &anywhere);
    let install = "/opt/wrap-example/hello-1.1.0";
    let script = std::fs::read_to_string(fixed.join(&install[1..]).join("bin/hello")).unwrap();
    assert!(script.starts_with(&format!("#!{install}/bin/python\n")), "{script}");
    for tree in [&fixed, &anywhere] {
        for form in
            [real.join("tmp"), ws.path().join("cache-link/tmp"), ws.path().join("sub/../cache-link/tmp")]
        {
            let leaks = files_containing(tree, &form.display().to_string());
            assert!(leaks.is_empty(), "{} left in {leaks:?}", form.display());
        }
    }
    let bundle = anywhere.read_dir().unwrap().next().unwrap().unwrap().path();
    assert_eq!(run(bundle.join("bin/hello"), &["there"], ws.path()), "Hello, there! (patched)\n");
}
