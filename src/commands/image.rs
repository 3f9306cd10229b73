//! A registry base image (`[image] base = "docker://…"`): its tag pinned to a digest in the
//! lock, and the image that digest names pulled into the cache once (by `wrap fetch`, or the
//! first build that needs it), so that a locked build reads it offline and a tag that moved
//! changes nothing until `wrap lock --update`.

use std::path::PathBuf;

use super::{LockMode, Session};
use crate::error::{Error, Result};
use crate::lock::{Lock, LockedImage};
use crate::manifest::{BaseImage, Format, LocalPath};
use crate::plan::PlanInputs;

impl Session<'_> {
    /// The manifest's registry base reference, when it has one.
    fn registry_base(&self) -> Option<&str> {
        match &self.manifest.image.as_ref()?.base {
            BaseImage::Registry(reference) => Some(reference),
            BaseImage::Layout(_) | BaseImage::Archive(_) => None,
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

    /// Where a registry or archive base is as a layout directory, when the plan's formats
    /// include oci (pulled or unpacked if need be).
    pub(super) fn base_for_plan(&self, lock: &Lock, inputs: &PlanInputs) -> Result<Option<PathBuf>> {
        let Some(image) = &self.manifest.image else { return Ok(None) };
        if !crate::plan::formats(&self.manifest.settings, inputs)?.contains(&Format::Oci) {
            return Ok(None);
        }
        match &image.base {
            BaseImage::Layout(_) => Ok(None),
            BaseImage::Registry(_) => self.pulled_base(lock),
            BaseImage::Archive(archive) => self.unpacked_archive(archive).map(Some),
        }
    }

    /// The layout directory in the cache that holds the image of a `docker save` archive, by
    /// the archive's sha256 (unpacked when it is not there).
    fn unpacked_archive(&self, archive: &LocalPath) -> Result<PathBuf> {
        let dir = self.cache.image_dir(&crate::lock::hash_file(&archive.abs)?);
        if dir.join("index.json").is_file() {
            return Ok(dir);
        }
        let _cache = self.hold_cache()?;
        let staging = tempfile::tempdir_in(self.cache.staging_dir()?)?;
        crate::oci::layout_from_archive(&archive.abs, staging.path()).map_err(|problem| Error::Image {
            project: None,
            base: archive.rel.clone().into(),
            problem,
            hint: Some("make one with `docker save` or `skopeo copy … docker-archive:FILE`".into()),
        })?;
        place(staging, &dir)?;
        Ok(dir)
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
        place(staging, &dir)?;
        Ok(Some(dir))
    }
}

/// Renames layout directory `staging` to `dir`, so that it is whole or absent there.
fn place(staging: tempfile::TempDir, dir: &std::path::Path) -> Result<()> {
    fs_err::create_dir_all(dir.parent().expect("the images directory"))?;
    match std::fs::rename(staging.path(), dir) {
        Ok(()) => Ok(()),
        // Another wrap placed it meanwhile: the same digest, the same image.
        Err(_) if dir.join("index.json").is_file() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
