//! Build keys: per project and format, a digest of named inputs, each itself a digest — only what
//! changes that project's output. The plan supplies the inputs the manifest and lock decide
//! (source, each patch, constraints, wheels, version, package metadata, paths, virtualenv, source
//! date); the build adds the tools (wrap's own build, the interpreter, the installer) and the
//! format. Kept with each cached artifact, the names of the inputs that differ say why a project
//! is rebuilt (`patch 0002-fix.patch changed`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::digest::sha256_hex;
use crate::lock::LockedFile;
use crate::plan::PlannedProject;

/// Bumped when what goes into a key changes meaning.
pub const KEY_SCHEMA: u32 = 2;

/// The plan's fields grouped under the input names a rebuild is explained with. Fields in
/// none of them (`IGNORED`) do not change the output, or are keyed otherwise.
const GROUPS: &[(&str, &[&str])] = &[
    ("source", &["name", "git", "public_git", "ref", "commit"]),
    ("version", &["source_version", "version", "package_version", "epoch", "release"]),
    (
        "package metadata",
        &[
            "package_name",
            "meta_package",
            "maintainer",
            "section",
            "priority",
            "system_dependencies",
            "rpm_system_dependencies",
            "rpm_relations",
            "relations",
            "user",
            "services",
            "links",
            "units",
            "enable_units",
            "restart_on_upgrade",
            "scripts",
            "lintian_overrides",
            "rpmlint_filters",
        ],
    ),
    ("files", &["extra_files"]),
    ("paths", &["install_path", "link_path", "alternative_priority"]),
    ("virtualenv", &["extras", "pip_dependencies", "verify_skip", "exclude"]),
    ("bytecode", &["bytecode"]),
    ("source date", &["source_date_epoch"]),
];

/// Fields that are not inputs of their own: patches are keyed one by one, the closure on its
/// own when the lock has one, file names follow from the package fields, compression is keyed
/// per format (the image too: its base's digest and configuration go into the image's key
/// alone), and the key is the result.
const IGNORED: &[&str] =
    &["patches", "closure", "files", "meta_files", "compression", "image", "key_inputs", "key"];

/// The key of a project's metapackage (side by side), from its package's key: the same inputs,
/// another artifact.
pub fn meta_key(key: &str) -> String {
    sha256_hex(format!("{key} metapackage").as_bytes())
}

/// `planned` with its key inputs and key: its own decisions, its patches, the constraints and
/// the local wheels (which every project installs from).
pub fn with_key(mut planned: PlannedProject, constraints: &[LockedFile], wheels: &str) -> PlannedProject {
    let fields = serde_json::to_value(&planned).expect("serializes");
    let mut inputs = BTreeMap::new();
    inputs.insert("schema".to_string(), KEY_SCHEMA.to_string());
    for (name, keys) in GROUPS {
        let group: BTreeMap<&str, &Value> = keys.iter().map(|k| (*k, &fields[*k])).collect();
        inputs.insert(name.to_string(), digest_of(&group));
    }
    for patch in &planned.patches {
        let file = patch.source.rsplit('/').next().unwrap_or(&patch.source);
        inputs.insert(format!("patch {file}"), patch.sha256.clone());
    }
    if let Some(closure) = &planned.closure {
        inputs.insert("dependency closure".into(), digest_of(closure));
    }
    inputs.insert("constraints".into(), digest_of(&constraints));
    inputs.insert("wheels".into(), wheels.to_string());
    planned.key = digest_of(&inputs);
    planned.key_inputs = inputs;
    planned
}

/// The inputs of one artifact's key: the plan's, the tools', the format's.
pub fn artifact_inputs(
    planned: &PlannedProject,
    tools: &BTreeMap<String, String>,
    format: &str,
) -> BTreeMap<String, String> {
    let mut inputs = planned.key_inputs.clone();
    inputs.extend(tools.iter().map(|(k, v)| (k.clone(), v.clone())));
    inputs.insert("format".into(), format.to_string());
    inputs
}

/// The key of a set of inputs.
pub fn key_of(inputs: &BTreeMap<String, String>) -> String {
    digest_of(inputs)
}

/// What differs between the inputs of the cached artifact (`old`) and of this build (`new`),
/// in words: `patch 0002-fix.patch changed`, `constraints changed`, `patch 0003-x.patch added`.
pub fn changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in new {
        match old.get(name) {
            Some(before) if before != value => out.push(format!("{name} changed")),
            None => out.push(format!("{name} added")),
            _ => {}
        }
    }
    out.extend(old.keys().filter(|k| !new.contains_key(*k)).map(|k| format!("{k} removed")));
    out
}

fn digest_of(value: &impl serde::Serialize) -> String {
    sha256_hex(&serde_json::to_vec(value).expect("serializes"))
}

/// Every field of the plan is an input or named as not one (a new field must be placed).
pub fn unplaced_fields(planned: &PlannedProject) -> Vec<String> {
    let fields = serde_json::to_value(planned).expect("serializes");
    let placed = |k: &str| IGNORED.contains(&k) || GROUPS.iter().any(|(_, keys)| keys.contains(&k));
    fields.as_object().expect("a struct").keys().filter(|k| !placed(k)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn changes_name_what_differs() {
        let old = map(&[("patch 0001-a.patch", "1"), ("patch 0002-b.patch", "2"), ("wrap", "w1")]);
        let new = map(&[("patch 0002-b.patch", "3"), ("patch 0003-c.patch", "4"), ("wrap", "w1")]);
        assert_eq!(
            changes(&old, &new),
            ["patch 0002-b.patch changed", "patch 0003-c.patch added", "patch 0001-a.patch removed"]
        );
        assert!(changes(&new, &new).is_empty());
    }
}
