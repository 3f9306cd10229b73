//! `[project.scripts]`: the operator's own maintainer-script fragments, files in the manifest's
//! tree read when the manifest is read (so that their text is part of the build key).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::*;

/// The hooks a fragment can be given: the .deb's maintainer scripts, then the .rpm's scriptlets.
pub const HOOKS: [&str; 8] = ["preinst", "postinst", "prerm", "postrm", "pre", "post", "preun", "postun"];

/// The largest fragment or template read.
const MAX_TEXT: u64 = 64 << 10;

/// `[project.scripts]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScripts {
    preinst: Option<Spanned<String>>,
    postinst: Option<Spanned<String>>,
    prerm: Option<Spanned<String>>,
    postrm: Option<Spanned<String>>,
    pre: Option<Spanned<String>>,
    post: Option<Spanned<String>>,
    preun: Option<Spanned<String>>,
    postun: Option<Spanned<String>>,
}

impl Ctx<'_> {
    /// Every fragment of `[project.scripts]`, read: a text file in the manifest's tree.
    pub(super) fn hooks(&self, raw: Option<&RawScripts>) -> Result<BTreeMap<String, Script>> {
        let Some(raw) = raw else { return Ok(BTreeMap::new()) };
        let written = [
            &raw.preinst,
            &raw.postinst,
            &raw.prerm,
            &raw.postrm,
            &raw.pre,
            &raw.post,
            &raw.preun,
            &raw.postun,
        ];
        let mut scripts = BTreeMap::new();
        for (hook, value) in HOOKS.iter().zip(written) {
            let Some(value) = value else { continue };
            let (path, text) = self.small_text("scripts", value, "a shell fragment: ")?;
            scripts.insert(hook.to_string(), Script { rel: path.rel, text });
        }
        Ok(scripts)
    }

    /// A text file of the manifest's tree named by `key` (a script fragment, a template), read
    /// when the manifest is: UTF-8, no NUL, at most 64 KiB; `what` starts the error's
    /// expectation.
    pub(super) fn small_text(
        &self,
        key: &'static str,
        value: &Spanned<String>,
        what: &str,
    ) -> Result<(LocalPath, String)> {
        let path = self.local_path(key, value, true, false)?;
        let not_text = || self.invalid(key, value, format!("{what}a UTF-8 text file of at most 64 KiB"));
        let size = std::fs::metadata(&path.abs).map(|m| m.len()).unwrap_or(u64::MAX);
        let bytes = std::fs::read(&path.abs).ok().filter(|_| size <= MAX_TEXT).ok_or_else(not_text)?;
        let text = String::from_utf8(bytes).ok().filter(|t| !t.contains('\0')).ok_or_else(not_text)?;
        Ok((path, text))
    }
}
