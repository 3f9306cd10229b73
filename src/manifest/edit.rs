//! Changes wrap makes to the manifest the operator wrote (`wrap patch refresh`'s patch list),
//! through toml_edit, so that every comment, key order and blank line stays as written.

use std::path::Path;

use crate::error::{Error, Location, ManifestError, Result};

/// Sets the `patches` list of the `[[project]]` named `project` in the manifest at `path`, one
/// path per line, and writes the file anew (atomically).
pub fn set_patches(path: &Path, project: &str, patches: &[String]) -> Result<()> {
    let text = fs_err::read_to_string(path)?;
    let invalid = |message: String| Error::Manifest {
        location: Location { file: path.into(), line: None, col: None, width: 0 },
        kind: ManifestError::Syntax { message },
    };
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e: toml_edit::TomlError| invalid(e.message().into()))?;
    let tables = doc
        .get_mut("project")
        .and_then(|p| p.as_array_of_tables_mut())
        .ok_or_else(|| invalid("no [[project]] tables".into()))?;
    let table = tables
        .iter_mut()
        .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(project))
        .ok_or_else(|| invalid(format!("no [[project]] named `{project}`")))?;
    if patches.is_empty() {
        table.remove("patches");
    } else {
        let mut list = toml_edit::Array::new();
        for p in patches {
            let mut value = toml_edit::Value::from(p.as_str());
            value.decor_mut().set_prefix("\n    ");
            list.push_formatted(value);
        }
        list.set_trailing_comma(true);
        list.set_trailing("\n");
        match table.get_mut("patches").and_then(|i| i.as_value_mut()) {
            // Keep the key where it is, with its comment.
            Some(existing) => {
                let decor = existing.decor().clone();
                *existing = toml_edit::Value::Array(list);
                *existing.decor_mut() = decor;
            }
            None => {
                table.insert("patches", toml_edit::value(list));
            }
        }
    }
    crate::fs::write_atomically(path, doc.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_changes_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrap.toml");
        let text = "# top\n[[project]]\nname = \"a\"  # first\ngit = \"x\"\nref = \"1\"\npatches = [\"p/1.patch\"]  # mine\n\n[[project]]\nname = \"b\"\ngit = \"y\"\nref = \"2\"\n";
        std::fs::write(&path, text).unwrap();
        set_patches(&path, "a", &["p/1.patch".into(), "p/2.patch".into()]).unwrap();
        set_patches(&path, "b", &["q/1.patch".into()]).unwrap();
        let after = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            after,
            "# top\n[[project]]\nname = \"a\"  # first\ngit = \"x\"\nref = \"1\"\npatches = [\n    \"p/1.patch\",\n    \"p/2.patch\",\n]  # mine\n\n[[project]]\nname = \"b\"\ngit = \"y\"\nref = \"2\"\npatches = [\n    \"q/1.patch\",\n]\n"
        );
        set_patches(&path, "a", &[]).unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("p/1.patch"));
        assert!(set_patches(&path, "c", &[]).is_err());
    }
}
