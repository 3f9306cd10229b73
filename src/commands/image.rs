//! A registry base image (`[image] base = "docker://…"`): its tag pinned to a digest in the
//! lock, and the image that digest names pulled into the cache once (by `wrap fetch`, or the
//! first build that needs it), so that a locked build reads it offline and a tag that moved
//! changes nothing until `wrap lock --update`.

use std::path::PathBuf;

use super::{LockMode, Session};
use crate::error::{Error, Result};
use crate::lock::{Lock, LockedImage};
use crate::manifest::{BaseImage, Format};
use crate::plan::PlanInputs;

impl Session<'_> {
    /// The manifest's registry base reference, when it has one.
    fn registry_base(&self) -> Option<&str> {
        match &self.manifest.image.as_ref()?.base {
            BaseImage::Registry(reference) => Some(reference),
            BaseImage::Layout(_) => None,
        }
    }

    /// The base's pin: kept while the manifest names the same reference (and `--update` names
    /// no project), else what the reference's tag names on the registry now.
    pub(super) fn pin_base(&self, old: &Lock, mode: &LockMode) -> Result<Option<LockedImage>> {
        let Some(reference) = self.registry_base() else { return Ok(None) };
        let base = format!("docker://{reference}");
        let update_all = matches!(mode, LockMode::Update(names) if names.is_empty());
        if let Some(kept) = old.image.as_ref().filter(|i| i.base == base && !update_all) {
            return Ok(Some(kept.clone()));
        }
        // A reference with its digest needs no registry to be pinned.
        if self.offline && !reference.contains('@') {
            return Err(Error::Pull {
                reference: reference.into(),
                problem: "its tag is resolved on the registry, and wrap is offline".into(),
                hint: Some(
                    "run `wrap lock` online once; `wrap fetch` then pulls the locked image into the cache"
                        .into(),
                ),
                environment: true,
            });
        }
        self.reporter.status("Resolving", base.clone());
        let digest = crate::registry::resolve(reference)?;
        if old.image.as_ref().is_none_or(|i| i.digest != digest) {
            self.reporter.status("Locking", format!("{base} {digest}"));
        }
        Ok(Some(LockedImage { base, digest }))
    }

    /// Where the registry base is when the plan's formats include oci (pulled if need be).
    pub(super) fn base_for_plan(&self, lock: &Lock, inputs: &PlanInputs) -> Result<Option<PathBuf>> {
        if self.registry_base().is_none()
            || !crate::plan::formats(&self.manifest.settings, inputs)?.contains(&Format::Oci)
        {
            return Ok(None);
        }
        self.pulled_base(lock)
    }

    /// The layout directory in the cache that holds the locked registry base, pulled when it
    /// is not there: into a staging directory, then renamed, so it is whole or absent.
    pub(super) fn pulled_base(&self, lock: &Lock) -> Result<Option<PathBuf>> {
        let Some(reference) = self.registry_base() else { return Ok(None) };
        let base = format!("docker://{reference}");
        let Some(pin) = lock.image.as_ref().filter(|i| i.base == base) else {
            return Err(Error::LockMissing { path: Lock::path_for(&self.manifest.path) });
        };
        let dir = self.cache.image_dir(pin.digest.trim_start_matches("sha256:"));
        if dir.join("index.json").is_file() {
            return Ok(Some(dir));
        }
        if self.offline {
            return Err(Error::Pull {
                reference: reference.into(),
                problem: format!("{} is not in the cache, and wrap is offline", pin.digest),
                hint: Some("run `wrap fetch` online once: it pulls the locked image into the cache".into()),
                environment: true,
            });
        }
        let _cache = self.hold_cache()?;
        let staging = tempfile::tempdir_in(self.cache.staging_dir()?)?;
        self.reporter.status("Pulling", format!("{base} ({})", pin.digest));
        crate::registry::pull(reference, &pin.digest, Format::Oci.host_arch(), staging.path())?;
        fs_err::create_dir_all(dir.parent().expect("the images directory"))?;
        match std::fs::rename(staging.path(), &dir) {
            Ok(()) => {}
            // Another wrap pulled it meanwhile: the same digest, the same image.
            Err(_) if dir.join("index.json").is_file() => {}
            Err(e) => return Err(e.into()),
        }
        Ok(Some(dir))
    }
}
