//! Plans of small manifests: names, paths and versions, overrides, keys.
use super::*;
use crate::lock::LockedProject;
use std::path::Path;

fn manifest(extra: &str) -> Manifest {
    let text = format!(
        "[settings]\npackage_name = \"openstack-{{name}}\"\ninstall_path = \"/opt/openstack/{{name}}-{{version}}\"\n{extra}\n[[project]]\nname = \"nova\"\ngit = \"https://opendev.org/openstack/nova\"\nref = \"master\"\n[[project]]\nname = \"glance\"\ngit = \"https://opendev.org/openstack/glance\"\nref = \"30.0.0\"\nversion = \"30.0.0\"\n"
    );
    Manifest::parse(Path::new("wrap.toml"), Path::new("/m"), &text).unwrap()
}

fn lock() -> Lock {
    let pin = |name: &str, version: &str| LockedProject {
        name: name.into(),
        git: format!("https://opendev.org/openstack/{name}"),
        git_ref: "x".into(),
        commit: "c".repeat(40),
        commit_time: 1_700_000_000,
        version: version.into(),
        patches: vec![],
        closure: None,
        releases: Vec::new(),
    };
    Lock {
        projects: vec![pin("nova", "31.0.0+git20261122.cccccccccccc"), pin("glance", "29.0.0")],
        ..Lock::new()
    }
}

#[test]
fn plans_versions_names_and_paths() {
    let plan =
        plan(&manifest(""), &lock(), &PlanInputs { host_format: Some(Format::Deb), ..Default::default() })
            .unwrap();
    assert_eq!(plan.formats, [Format::Deb]);
    let nova = &plan.projects[0];
    assert_eq!(nova.version, "31.0.0+git20261122.cccccccccccc");
    // Side by side (`{version}` in the path, not in the name): a versioned package and the
    // metapackage; the tarball and the image take the unversioned name.
    assert_eq!(nova.package_name, "openstack-nova-31.0.0+git20261122.cccccccccccc");
    assert_eq!(nova.meta_package.as_deref(), Some("openstack-nova"));
    assert!(
        nova.files[&Format::Deb].starts_with("openstack-nova-31.0.0+git20261122.cccccccccccc_31.0.0+git")
    );
    assert!(nova.meta_files[&Format::Deb].starts_with("openstack-nova_31.0.0+git"));
    assert_eq!(nova.install_path, "/opt/openstack/nova-31.0.0+git20261122.cccccccccccc");
    assert_eq!(nova.source_date_epoch, 1_700_000_000);
    // The project's own version beats the locked one.
    assert_eq!(plan.projects[1].version, "30.0.0");
}

#[test]
fn overrides_and_selection() {
    let inputs = PlanInputs {
        projects: vec!["glance".into()],
        formats: vec![Format::Rpm, Format::Tar, Format::Rpm],
        source_date_epoch: Some(42),
        version: Some("2026.1.0".into()),
        ..Default::default()
    };
    let plan = plan(&manifest("version = \"9.9\"\nformats = [\"deb\"]"), &lock(), &inputs).unwrap();
    assert_eq!(plan.formats, [Format::Rpm, Format::Tar]);
    assert_eq!(plan.projects.len(), 1);
    assert_eq!(plan.projects[0].version, "2026.1.0");
    assert_eq!(plan.projects[0].source_date_epoch, 42);
    assert!(plan.projects[0].files[&Format::Tar].starts_with("openstack-glance-2026.1.0-1.linux-"));
    assert_eq!(plan.projects[0].meta_files.keys().collect::<Vec<_>>(), [&Format::Rpm]);
    // `side_by_side = false`: one package per project.
    let plan = super::plan(&manifest("side_by_side = false"), &lock(), &inputs).unwrap();
    assert_eq!(
        (plan.projects[0].package_name.as_str(), plan.projects[0].meta_package.as_ref()),
        ("openstack-glance", None)
    );
    // `true` needs a versioned install path and a name without the version.
    let unversioned = "[settings]\ninstall_path = \"/opt/o/{name}\"\nside_by_side = true\n[[project]]\nname = \"glance\"\ngit = \"https://opendev.org/openstack/glance\"\nref = \"30.0.0\"\n";
    let unversioned = Manifest::parse(Path::new("wrap.toml"), Path::new("/m"), unversioned).unwrap();
    let err = super::plan(&unversioned, &lock(), &inputs).unwrap_err().to_string();
    assert!(err.contains("cannot hold versions side by side"), "{err}");
}

#[test]
fn keys_change_with_their_project_inputs_only() {
    let inputs = PlanInputs { host_format: Some(Format::Deb), ..Default::default() };
    let keys = |m: &Manifest, l: &Lock, i: &PlanInputs| -> Vec<String> {
        plan(m, l, i).unwrap().projects.into_iter().map(|p| p.key).collect()
    };
    let base = keys(&manifest(""), &lock(), &inputs);
    assert_eq!(base, keys(&manifest(""), &lock(), &inputs), "stable");
    assert_ne!(base[0], base[1]);
    // A comment in the manifest changes nothing.
    assert_eq!(base, keys(&manifest("# a comment\n"), &lock(), &inputs));
    // A patch of glance changes glance's key only, and says so.
    let mut patched = lock();
    patched.projects[1].patches =
        vec![LockedFile { source: "patches/glance/0001.patch".into(), sha256: "a".repeat(64) }];
    let after = keys(&manifest(""), &patched, &inputs);
    assert_eq!(after[0], base[0]);
    assert_ne!(after[1], base[1]);
    let (before, now) =
        (plan(&manifest(""), &lock(), &inputs).unwrap(), plan(&manifest(""), &patched, &inputs).unwrap());
    assert_eq!(
        key::changes(&before.projects[1].key_inputs, &now.projects[1].key_inputs),
        ["patch 0001.patch added"]
    );
    // Settings every project shares, the wheels and the source date reach every key.
    for changed in [
        keys(&manifest("release = \"2\""), &lock(), &inputs),
        keys(&manifest(""), &lock(), &PlanInputs { find_links_digest: "w".into(), ..inputs.clone() }),
        keys(&manifest(""), &lock(), &PlanInputs { source_date_epoch: Some(1), ..inputs.clone() }),
    ] {
        assert!(changed.iter().zip(&base).all(|(a, b)| a != b));
    }
}

#[test]
fn the_plan_as_json() {
    let inputs = PlanInputs {
        host_format: Some(Format::Deb),
        // An image needs a base image on disk: tests/oci.rs plans and builds one.
        formats: vec![Format::Deb, Format::Rpm, Format::Tar],
        ..Default::default()
    };
    let mut lock = lock();
    lock.projects[1].patches =
        vec![LockedFile { source: "patches/glance/0001.patch".into(), sha256: "a".repeat(64) }];
    let plan = plan(&manifest("maintainer = \"Ops <ops@example.com>\""), &lock, &inputs).unwrap();
    let host = [Format::Deb.host_arch(), Format::Rpm.host_arch()];
    insta::with_settings!({filters => host.iter().map(|a| (*a, "[ARCH]")).collect::<Vec<_>>()}, {
        insta::assert_json_snapshot!(plan);
    });
}

#[test]
fn every_planned_field_is_a_key_input_or_named_as_none() {
    let inputs = PlanInputs { host_format: Some(Format::Deb), ..Default::default() };
    let plan = plan(&manifest(""), &lock(), &inputs).unwrap();
    assert_eq!(key::unplaced_fields(&plan.projects[0]), Vec::<String>::new());
}

#[test]
fn refuses_what_it_cannot_decide() {
    let e = plan(&manifest(""), &lock(), &PlanInputs::default()).unwrap_err();
    assert!(matches!(e, Error::UnknownHostFormat));
    let inputs = PlanInputs {
        projects: vec!["keystone".into()],
        host_format: Some(Format::Deb),
        ..Default::default()
    };
    assert!(matches!(plan(&manifest(""), &lock(), &inputs), Err(Error::UnknownProject { .. })));
    // A hand-edited lock with a version dpkg and rpm cannot take.
    let mut bad = lock();
    bad.projects[0].version = "1 2".into();
    let inputs = PlanInputs { host_format: Some(Format::Deb), ..Default::default() };
    let e = plan(&manifest(""), &bad, &inputs).unwrap_err();
    assert_eq!(e.to_string(), "wrap.toml:5: `version` = `1 2` is not a PEP 440 version in normal form");
}
