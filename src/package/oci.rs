//! The container image (`--format oci`): the base image's layers as they are, then one layer
//! with the package's content (the bundle at its install path, its config under /etc, docs)
//! and the service user merged into the base's /etc/passwd and /etc/group, with a configuration
//! that runs the first service as that user. Written as an OCI image layout in one tar (an
//! `oci-archive`: skopeo and podman read it as it is, `tar -x` gives the layout directory) by
//! the same deterministic tar writer as the packages, so the same inputs give the same digests.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::content::{Content, Generated};
use super::depends::Requirement;
use super::spec::{ImageSpec, PackageSpec};
use super::{Options, Packager};
use crate::archive::{Data, Hashing, Member, append_members};
use crate::artifact::Format;
use crate::error::{Error, Result};
use crate::oci::{self, Base, CONFIG, Descriptor, Files, INDEX, LAYER_GZIP, MANIFEST};

/// The OCI image writer.
pub struct Oci;

impl Packager for Oci {
    fn format(&self) -> Format {
        Format::Oci
    }

    /// The base's /etc/passwd and /etc/group with the service user added; before that, the
    /// base is checked for what the bundle runs on (its interpreter, the libraries it links).
    fn generated(&self, spec: &PackageSpec) -> Result<Vec<Generated>> {
        let (image, base) = open(spec, false)?;
        let files = base.files().map_err(|problem| failure(spec, image, problem, None))?;
        check_runs_on(spec, image, &files)?;
        let Some(user) = &spec.user else { return Ok(Vec::new()) };
        let text = |path: &str| files.kept(path).map(|b| String::from_utf8_lossy(b).into_owned());
        let (passwd, group) = with_user(text("etc/passwd"), text("etc/group"), user);
        Ok([("/etc/passwd", passwd), ("/etc/group", group)]
            .into_iter()
            .filter_map(|(path, bytes)| bytes.map(|b| Generated { path: path.into(), bytes: b.into_bytes() }))
            .collect())
    }

    fn write(
        &self,
        spec: &PackageSpec,
        content: &Content,
        options: &Options,
        scratch: &Path,
        out: &mut dyn Write,
    ) -> Result<Vec<String>> {
        let (image, base) = open(spec, true)?;
        let user = match &spec.user {
            Some(user) => Some(numeric_user(spec, image, &base, content, user)?),
            None => None,
        };
        let owned = owned_by_user(spec, content, user.as_deref());
        let layer_file = crate::fs::temp_file_in(scratch)?;
        let content = owned.as_ref().unwrap_or(content);
        let (diff_id, layer) = write_layer(spec, content, layer_file.as_file(), options.members)?;
        let layers: Vec<Descriptor> = base.layers.iter().cloned().chain([layer.clone()]).collect();
        let mut blobs: std::collections::BTreeMap<String, (Data, u64)> = base
            .layers
            .iter()
            .map(|d| (d.hex().to_string(), (Data::File(base.blob_path(d)), d.size)))
            .collect();
        blobs.insert(layer.hex().into(), (Data::File(layer_file.path().to_path_buf()), layer.size));
        let (mut entries, mut docker) = (Vec::new(), Vec::new());
        for (service, command) in &image.images {
            let tag = tag(spec, service.as_deref());
            let config = config(spec, image, &base, &diff_id, user.as_deref(), command.as_deref());
            let config = oci::to_bytes(&config);
            let config_d = Descriptor::of(CONFIG, &config);
            let manifest =
                oci::to_bytes(&image_manifest(spec, &base, &config_d, &layers, service.as_deref()));
            let manifest_d = Descriptor::of(MANIFEST, &manifest);
            entries.push(json!({
                "mediaType": MANIFEST,
                "digest": manifest_d.digest,
                "size": manifest_d.size,
                "platform": {"architecture": Format::Oci.host_arch(), "os": "linux"},
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }));
            docker.push(docker_entry(spec, &tag, &config_d, &layers));
            for (d, bytes) in [(config_d, config), (manifest_d, manifest)] {
                blobs.insert(d.hex().into(), (Data::Bytes(bytes), d.size));
            }
        }
        let index = oci::to_bytes(&json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}));
        let docker = oci::to_bytes(&json!(docker));
        let member = |rel: &str, data: Data, size: u64| Member::new(rel.into(), data, false, size);
        let mut members = vec![member("blobs", Data::Dir, 0), member("blobs/sha256", Data::Dir, 0)];
        members.extend(
            blobs.into_iter().map(|(hex, (data, size))| member(&format!("blobs/sha256/{hex}"), data, size)),
        );
        let layout = br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec();
        members.push(member("index.json", Data::Bytes(index.clone()), index.len() as u64));
        members.push(member("manifest.json", Data::Bytes(docker.clone()), docker.len() as u64));
        members.push(member("oci-layout", Data::Bytes(layout.clone()), layout.len() as u64));
        let mut builder = tar::Builder::new(out);
        append_members(&mut builder, &members, "", spec.mtime, false)?;
        builder.into_inner()?;
        Ok(Vec::new())
    }
}

/// The image facts of `spec` and its base, opened (with every layer checked against its
/// digest when `verify`).
fn open(spec: &PackageSpec, verify: bool) -> Result<(&ImageSpec, Base)> {
    let image = spec.image.as_ref().ok_or_else(|| Error::Image {
        project: Some(spec.project.clone()),
        base: PathBuf::new(),
        problem: "the plan names no base image".into(),
        hint: None,
    })?;
    let base = Base::open(&image.base, Format::Oci.host_arch(), verify)
        .map_err(|problem| failure(spec, image, problem, None))?;
    Ok((image, base))
}

fn failure(spec: &PackageSpec, image: &ImageSpec, problem: String, hint: Option<String>) -> Error {
    Error::Image { project: Some(spec.project.clone()), base: image.base_name.clone().into(), problem, hint }
}

/// The base has the interpreter the bundle's `bin/python` leads to, and a file by the name of
/// every library the bundle links that it does not carry itself.
fn check_runs_on(spec: &PackageSpec, image: &ImageSpec, files: &Files) -> Result<()> {
    let bundle = spec.root.join(spec.install_path.trim_start_matches('/'));
    let python =
        interpreter(&bundle, &spec.install_path).unwrap_or_else(|| PathBuf::from("/usr/bin/python3"));
    if !matches!(files.resolve(&python), Some((_, oci::Entry::File(_) | oci::Entry::Hardlink(_)))) {
        return Err(failure(
            spec,
            image,
            format!("it has no `{}`, the interpreter the bundle runs on", python.display()),
            Some("build on a base image with the build machine's Python at the same path (on Debian, its python3.X-minimal package)".into()),
        ));
    }
    let missing: Vec<&str> = spec
        .requirements
        .iter()
        .filter_map(|r| match r {
            Requirement::Library { soname, .. } if files.named(soname).next().is_none() => {
                Some(soname.as_str())
            }
            _ => None,
        })
        .collect();
    if !missing.is_empty() {
        return Err(failure(
            spec,
            image,
            format!("it lacks the libraries the bundle links: {}", missing.join(", ")),
            Some(
                "add their packages to the base image (the .deb of this project lists them in Depends)"
                    .into(),
            ),
        ));
    }
    Ok(())
}

/// Where the bundle's `bin/python` leads, out of the bundle (links within it followed).
fn interpreter(bundle: &Path, install_path: &str) -> Option<PathBuf> {
    let mut link = bundle.join("bin/python");
    for _ in 0..8 {
        let target = std::fs::read_link(&link).ok()?;
        let target = if target.is_absolute() { target } else { link.parent()?.join(target) };
        if let Ok(inside) = target.strip_prefix(install_path) {
            link = bundle.join(inside);
        } else if target.starts_with(bundle) {
            link = target;
        } else {
            return Some(target);
        }
    }
    None
}

/// `passwd` and `group` with the system user `user` (and its group) added, as adduser
/// `--system` makes it: the first id from 100 that neither file uses, home /var/lib/<user>,
/// no login. A file that already has the name is kept as it is (none: nothing changes).
fn with_user(passwd: Option<String>, group: Option<String>, user: &str) -> (Option<String>, Option<String>) {
    let passwd = passwd.unwrap_or_else(|| "root:x:0:0:root:/root:/bin/sh\n".into());
    let group = group.unwrap_or_else(|| "root:x:0:\n".into());
    let field = |line: &str, n: usize| line.split(':').nth(n).map(str::to_string);
    let named = |text: &str| text.lines().find(|l| field(l, 0).as_deref() == Some(user)).map(str::to_string);
    let ids: Vec<u32> = passwd
        .lines()
        .flat_map(|l| [field(l, 2), field(l, 3)])
        .chain(group.lines().map(|l| field(l, 2)))
        .filter_map(|f| f?.parse().ok())
        .collect();
    let free = (100..1000).find(|id| !ids.contains(id)).unwrap_or(999);
    let gid = named(&group).and_then(|l| field(&l, 2)).unwrap_or_else(|| free.to_string());
    let add = |text: &str, line: String| {
        let mut text = text.to_string();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text + &line + "\n"
    };
    let new_group = named(&group).is_none().then(|| add(&group, format!("{user}:x:{gid}:")));
    let new_passwd = named(&passwd)
        .is_none()
        .then(|| add(&passwd, format!("{user}:x:{free}:{gid}:{user}:/var/lib/{user}:/usr/sbin/nologin")));
    (new_passwd, new_group)
}

/// The service user as `uid:gid`, from the image's /etc/passwd (the one this writer made, else
/// the base's): numeric, so that Kubernetes' `runAsNonRoot` can check it.
fn numeric_user(
    spec: &PackageSpec,
    image: &ImageSpec,
    base: &Base,
    content: &Content,
    user: &str,
) -> Result<String> {
    let made = content.for_format(Format::Oci).find_map(|m| match &m.data {
        Data::Bytes(bytes) if m.rel == Path::new("etc/passwd") => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        _ => None,
    });
    let passwd = match made {
        Some(text) => text,
        None => {
            let files = base.files().map_err(|problem| failure(spec, image, problem, None))?;
            files.kept("etc/passwd").map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
        }
    };
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == user)
        .map(|f| format!("{}:{}", f[2], f[3]))
        .ok_or_else(|| failure(spec, image, format!("its /etc/passwd has no user `{user}`"), None))
}

/// `content` with the numeric ids of `user` (`uid:gid`) on the entries the manifest's files
/// give to the service user, when there are any.
fn owned_by_user(spec: &PackageSpec, content: &Content, user: Option<&str>) -> Option<Content> {
    let (uid, gid) = user?.split_once(':')?;
    let ids: (u64, u64) = (uid.parse().ok()?, gid.parse().ok()?);
    let files = &spec.extra_files;
    if !files.iter().any(|f| f.ships_in(Format::Oci) && (f.owner != "root" || f.group != "root")) {
        return None;
    }
    let mut owned = content.clone();
    owned.set_owners(&|m| {
        let abs = format!("/{}", m.rel.display());
        let (owner, group) = crate::package::extra::owner_of(files, &abs, Format::Oci)?;
        Some((if owner == "root" { 0 } else { ids.0 }, if group == "root" { 0 } else { ids.1 }))
    });
    Some(owned)
}

/// The layer: the package content for this format as a gzip-compressed tar, written to `file`;
/// its diff id (the tar's digest) and descriptor. Gzip members come from and go into `members`.
fn write_layer(
    spec: &PackageSpec,
    content: &Content,
    file: &std::fs::File,
    members: Option<&crate::compress::Members>,
) -> Result<(String, Descriptor)> {
    let compressed = Hashing::new(std::io::BufWriter::new(file));
    let gzip = crate::compress::gzip(compressed).with_members(members.cloned());
    let mut builder = tar::Builder::new(Hashing::new(gzip));
    let members = content.for_format(Format::Oci).filter(|m| !m.rel.as_os_str().is_empty());
    append_members(&mut builder, members, "", spec.mtime, false)?;
    let (gzip, diff_id, _) = builder.into_inner()?.finish();
    let (mut writer, digest, size) = gzip.finish()?.finish();
    writer.flush()?;
    let layer = Descriptor { media_type: LAYER_GZIP.into(), digest: format!("sha256:{digest}"), size };
    Ok((format!("sha256:{diff_id}"), layer))
}

/// The base's configuration with the new layer, the service as `Cmd`, the user, the bundle's
/// `bin/` first on PATH, and the OCI labels.
fn config(
    spec: &PackageSpec,
    image: &ImageSpec,
    base: &Base,
    diff_id: &str,
    user: Option<&str>,
    command: Option<&str>,
) -> Value {
    let created = crate::time::rfc3339(spec.mtime as i64);
    let mut config = base.config.clone();
    config["created"] = json!(created);
    if !config["config"].is_object() {
        config["config"] = json!({});
    }
    let c = &mut config["config"];
    if let Some(user) = user {
        c["User"] = json!(user);
    }
    let mut env: Vec<String> =
        c["Env"].as_array().into_iter().flatten().filter_map(|e| e.as_str().map(String::from)).collect();
    let bin = format!("{}/bin", spec.install_path);
    match env.iter_mut().find(|e| e.starts_with("PATH=")) {
        Some(path) => *path = format!("PATH={bin}:{}", &path[5..]),
        None => env.push(format!("PATH={bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")),
    }
    c["Env"] = json!(env);
    c["WorkingDir"] = json!(spec.install_path);
    if let Some(command) = command {
        c["Cmd"] = json!([command]);
        if let Some(map) = c.as_object_mut() {
            map.remove("Entrypoint");
        }
    }
    for (key, values) in [("ExposedPorts", &image.ports), ("Volumes", &image.volumes)] {
        if !values.is_empty() && !c[key].is_object() {
            c[key] = json!({});
        }
        for value in values {
            c[key][value.as_str()] = json!({});
        }
    }
    if !c["Labels"].is_object() {
        c["Labels"] = json!({});
    }
    let mut labels = vec![
        ("org.opencontainers.image.title", Some(spec.name.clone())),
        ("org.opencontainers.image.description", Some(spec.summary.clone())),
        ("org.opencontainers.image.version", Some(spec.version.clone())),
        ("org.opencontainers.image.revision", Some(image.revision.clone())),
        ("org.opencontainers.image.created", Some(created.clone())),
        ("org.opencontainers.image.source", image.source.clone()),
        ("org.opencontainers.image.licenses", spec.license.clone()),
    ];
    for (key, value) in labels.drain(..) {
        if let Some(value) = value {
            c["Labels"][key] = json!(value);
        }
    }
    if !config["rootfs"]["diff_ids"].is_array() {
        config["rootfs"] = json!({"type": "layers", "diff_ids": []});
    }
    if let Some(ids) = config["rootfs"]["diff_ids"].as_array_mut() {
        ids.push(json!(diff_id));
    }
    if let Some(history) = config["history"].as_array_mut() {
        history.push(json!({
            "created": created,
            "created_by": format!("wrap {}", env!("CARGO_PKG_VERSION")),
            "comment": format!("{} {} at {}", spec.name, spec.version, spec.install_path),
        }));
    }
    config
}

/// The image manifest: the configuration, the layers, the base's digest, the creation time,
/// and the service the image runs when there is one image per service.
fn image_manifest(
    spec: &PackageSpec,
    base: &Base,
    config: &Descriptor,
    layers: &[Descriptor],
    service: Option<&str>,
) -> Value {
    let mut annotations = json!({
        "org.opencontainers.image.base.digest": base.manifest.digest,
        "org.opencontainers.image.created": crate::time::rfc3339(spec.mtime as i64),
    });
    if let Some(service) = service {
        annotations[oci::SERVICE] = json!(service);
    }
    json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config.to_json(),
        "layers": layers.iter().map(Descriptor::to_json).collect::<Vec<_>>(),
        "annotations": annotations,
    })
}

/// An image's entry in the manifest.json of `docker save`, by which `docker load` reads the
/// same archive: the configuration and the layers by path, and the image's name and tag.
fn docker_entry(spec: &PackageSpec, tag: &str, config: &Descriptor, layers: &[Descriptor]) -> Value {
    let blob = |d: &Descriptor| format!("blobs/sha256/{}", d.hex());
    json!({
        "Config": blob(config),
        "RepoTags": [format!("{}:{tag}", spec.name)],
        "Layers": layers.iter().map(blob).collect::<Vec<_>>(),
    })
}

/// An image's tag: `<version>-<release>`, after `<service>-` when there is one image per
/// service, with what a tag cannot hold as `_`.
fn tag(spec: &PackageSpec, service: Option<&str>) -> String {
    let plain = format!("{}-{}", spec.version, spec.release);
    oci::tag_of(&service.map_or(plain.clone(), |s| format!("{s}-{plain}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_takes_the_first_free_id_and_an_existing_one_is_kept() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n_apt:x:100:65534::/nonexistent:/usr/sbin/nologin\n";
        let group = "root:x:0:\nsystemd-journal:x:101:";
        let (p, g) = with_user(Some(passwd.into()), Some(group.into()), "keystone");
        assert_eq!(
            p.unwrap(),
            format!("{passwd}keystone:x:102:102:keystone:/var/lib/keystone:/usr/sbin/nologin\n")
        );
        assert_eq!(g.unwrap(), format!("{group}\nkeystone:x:102:\n"));
        let (p, g) = with_user(Some(passwd.into()), Some(group.into()), "_apt");
        assert_eq!(p, None);
        assert_eq!(g.unwrap(), format!("{group}\n_apt:x:102:\n"));
        let (p, g) = with_user(None, None, "nova");
        assert_eq!(
            p.unwrap(),
            "root:x:0:0:root:/root:/bin/sh\nnova:x:100:100:nova:/var/lib/nova:/usr/sbin/nologin\n"
        );
        assert_eq!(g.unwrap(), "root:x:0:\nnova:x:100:\n");
    }
}
