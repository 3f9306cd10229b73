//! Benchmark helper: packages an existing directory tree as a .deb or .rpm with wrap's writers,
//! the way `wrap build` does after relocation. Used by bench/packages.sh to compare wrap with
//! dpkg-deb and nfpm on the same tree.
//!
//! Usage: pack deb|rpm TREE INSTALL_PATH OUT_DIR [gzip|xz|zstd[:LEVEL]]

use std::path::PathBuf;

use wrap::artifact::Format;
use wrap::manifest::{Compression, Relations};
use wrap::package::depends::Requirement;
use wrap::package::spec::PackageSpec;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().collect();
    if args.len() < 5 || !["deb", "rpm"].contains(&args[1].as_str()) {
        return Err("usage: pack deb|rpm TREE INSTALL_PATH OUT_DIR [gzip|xz|zstd[:LEVEL]]".into());
    }
    let format = args.remove(1);
    let (tree, install_path, out) = (PathBuf::from(&args[1]), args[2].clone(), PathBuf::from(&args[3]));
    let compression = Compression::parse(args.get(4).map_or("gzip", String::as_str))?;
    // WRAP_SIGN_KEY: a secret key file that signs the .rpm (passphrase in WRAP_SIGN_PASSPHRASE).
    let signer = match std::env::var_os("WRAP_SIGN_KEY") {
        Some(file) => Some(wrap::signing::Signer::load(
            &wrap::signing::KeySource::File(file.into()),
            wrap::signing::PASSPHRASE_ENV,
        )?),
        None => None,
    };
    let options = wrap::package::Options { compression, signer: signer.as_ref(), members: None, gate: None };
    // The writer archives a package root; the tree is its install path inside it.
    let root = tree.parent().ok_or("TREE needs a parent")?.join("pack-root");
    let _ = std::fs::remove_dir_all(&root);
    let target = root.join(install_path.trim_start_matches('/'));
    std::fs::create_dir_all(target.parent().ok_or("INSTALL_PATH needs a parent")?)?;
    std::fs::rename(&tree, &target)?;
    let spec = PackageSpec {
        project: "bench".into(),
        name: "wrap-bench".into(),
        version: "1.0.0".into(),
        upstream: "1.0.0".into(),
        release: "1".into(),
        epoch: None,
        maintainer: "wrap bench <bench@example.invalid>".into(),
        summary: "A benchmark tree".into(),
        description: "A large virtualenv packaged to measure the writer.".into(),
        homepage: None,
        license: None,
        section: "misc".into(),
        priority: "optional".into(),
        requirements: vec![Requirement::Python("3.11".into())],
        system_dependencies: vec![],
        rpm_system_dependencies: None,
        rpm_relations: None,
        relations: Relations::default(),
        install_path: install_path.clone(),
        alternative: None,
        user: None,
        units: vec![],
        enable_units: Default::default(),
        restart_on_upgrade: false,
        conffiles: vec![],
        root: root.clone(),
        mtime: 1_700_000_000,
        lintian_overrides: vec![],
        rpmlint_filters: vec![],
        image: None,
        bytecode: wrap::manifest::Bytecode::Build,
        scripts: Default::default(),
        bundle: true,
        extra_files: Vec::new(),
        origin: "Benchmark.".into(),
    };
    let format = if format == "deb" { Format::Deb } else { Format::Rpm };
    let packager = wrap::package::packager(format).ok_or("no packager")?;
    let file_name = format.file_name(&spec.name, &spec.version, &spec.upstream, &spec.release);
    let result = wrap::package::content(&spec, &[format])
        .and_then(|content| wrap::package::write(packager, &spec, &content, &options, &file_name, &out));
    // Put the tree back where it was, whatever happened.
    std::fs::rename(&target, &tree)?;
    let (artifact, _) = result?;
    use std::io::Write;
    writeln!(std::io::stdout(), "{}", artifact.path.display())?;
    Ok(())
}
