//! The source stage: pinned commit → patched checkout. Mirrors and ref resolution live in
//! [`git`], the patch queue in [`patch`], version derivation in [`version`], constraints URLs in
//! [`download`]. A checkout is keyed by its commit and patch digests and created atomically, so
//! a patch that does not apply leaves the cache as it was.

pub mod download;
pub mod git;
pub mod patch;
pub mod version;

use std::path::PathBuf;

use git2::Oid;

use crate::cache::{Cache, create_dir_atomically, touch};
use crate::error::{Error, Result, short};
use crate::lock::LockedProject;
use crate::manifest::Project;
use git::{Mirror, Resolved};

/// A patched checkout ready to build.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// Its directory.
    pub path: PathBuf,
    /// It was in the cache already.
    pub reused: bool,
}

/// The commit, committer time and version that `project`'s ref resolves to now. Fetches the
/// mirror first unless `offline`.
pub fn resolve(cache: &Cache, project: &Project, offline: bool) -> Result<(String, i64, String)> {
    let mirror = Mirror::open(cache, &project.name, &project.git, offline)?;
    let online = !offline || mirror.is_local();
    if online {
        mirror.update()?;
    }
    let resolved = match mirror.resolve(&project.git_ref) {
        Ok(r) => r,
        Err(Error::RefNotFound { .. }) if online && is_commit_id(&project.git_ref) => {
            // A commit no branch or tag reaches: ask for it by id (servers may refuse).
            let oid = Oid::from_str(&project.git_ref).expect("commit id");
            let _ = mirror.fetch_commit(oid);
            mirror.resolve(&project.git_ref)?
        }
        Err(e) => return Err(e),
    };
    let Resolved { commit, .. } = resolved;
    let version = mirror.version_of(&project.git_ref, &resolved)?;
    Ok((commit.to_string(), mirror.commit_time(commit)?, version))
}

/// The patched checkout of `locked`'s commit, from the cache or made now.
pub fn checkout(cache: &Cache, project: &Project, locked: &LockedProject, offline: bool) -> Result<Checkout> {
    let key = git::source_key(&locked.commit, &locked.patch_digests());
    let path = cache.checkout_dir(&project.name, &key);
    if path.exists() {
        tracing::debug!(project = %project.name, path = %path.display(), "checkout reused");
        touch(&path);
        return Ok(Checkout { path, reused: true });
    }
    let mirror = Mirror::open(cache, &project.name, &project.git, offline)?;
    let oid = Oid::from_str(&locked.commit)
        .map_err(|e| git::git_err(&project.name, "read the locked commit", e))?;
    if !mirror.has_commit(oid) && (!offline || mirror.is_local()) {
        mirror.update()?;
        if !mirror.has_commit(oid) {
            let _ = mirror.fetch_commit(oid);
        }
    }
    if !mirror.has_commit(oid) {
        return Err(Error::CommitMissing {
            project: project.name.clone(),
            url: project.git.written.clone(),
            commit: locked.commit.clone(),
            offline,
        });
    }
    create_dir_atomically(&path, |tmp| {
        let repo = mirror.clone_at(tmp, oid)?;
        for patch in &project.patches {
            patch::apply(&repo, &project.name, short(&locked.commit, 12), patch)?;
        }
        Ok::<_, Error>(())
    })?;
    Ok(Checkout { path, reused: false })
}

fn is_commit_id(r: &str) -> bool {
    r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit())
}
