//! Git through libgit2 (no `git` subprocess): one bare mirror per URL in the cache, fetched
//! incrementally with all branches and tags; ref resolution with suggestions; the version of a
//! commit; and checkouts of a pinned commit with full history and tags (pbr derives versions
//! from them).

use std::cell::Cell;
use std::collections::HashMap;
use std::path::Path;

use git2::{FetchOptions, Oid, Repository, Sort};

use crate::cache::Cache;
use crate::cache::lock::{FileLock, Kind};
use crate::error::{Error, Result};
use crate::fs::{create_dir_atomically, touch};
use crate::manifest::GitSource;
use crate::source::version;
use crate::version::Version;

/// Branches and tags, mirrored under the same names.
const MIRROR_REFSPECS: [&str; 2] = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/// Removes the `*.lock` files libgit2 leaves in a mirror when its process is killed mid-fetch
/// (`packed-refs.lock`, `refs/heads/x.lock`, …); they would make every later fetch fail. Only
/// called while holding the mirror's own lock, so no live fetch owns them.
fn remove_stale_git_locks(mirror: &Path) {
    let top = std::fs::read_dir(mirror).into_iter().flatten().flatten().map(|e| e.path());
    let refs = walkdir::WalkDir::new(mirror.join("refs")).into_iter().flatten().map(|e| e.into_path());
    for path in top.chain(refs) {
        if path.extension().is_some_and(|e| e == "lock") && path.is_file() {
            tracing::debug!(path = %path.display(), "removing a stale git lock file");
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A ref resolved to a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The commit.
    pub commit: Oid,
    /// The ref named a tag.
    pub is_tag: bool,
}

/// A bare mirror of one upstream repository in the cache.
pub struct Mirror {
    repo: Repository,
    project: String,
    /// What git fetches from.
    url: String,
    /// The URL or path as the manifest wrote it, for messages.
    written: String,
    /// Fetched during this run already.
    fresh: Cell<bool>,
    /// Held while the mirror is open: one fetch at a time per mirror, across processes.
    _lock: FileLock,
}

impl Mirror {
    /// Opens the mirror of `url`, creating and fetching it when it does not exist yet (unless
    /// `offline`). A first fetch that fails leaves no mirror behind.
    /// A mirror that git cannot open is removed and made again (online), with a warning.
    pub fn open(
        cache: &Cache,
        project: &str,
        git: &GitSource,
        offline: bool,
        warnings: &mut Vec<String>,
    ) -> Result<Mirror> {
        let (url, written) = (git.url.as_str(), git.written.as_str());
        let dir = cache.mirror_dir(url);
        let name = dir.file_name().expect("mirror dirs have a name").to_string_lossy();
        let lock = FileLock::acquire(&cache.lock_path(&format!("git-{name}")), Kind::Exclusive, || {
            tracing::info!(project, url = written, "waiting for another wrap process using the mirror")
        })?;
        if dir.exists()
            && let Err(e) = Repository::open_bare(&dir)
            && (!offline || is_local(url))
        {
            warnings.push(format!(
                "project `{project}`: the git mirror of `{written}` could not be opened ({}); it is fetched again",
                e.message()
            ));
            crate::fs::remove_atomically(&dir)?;
        }
        let created = !dir.exists();
        if created {
            if offline && !is_local(url) {
                return Err(Error::OfflineNoMirror { project: project.into(), url: written.into() });
            }
            if url.starts_with('/') && !Path::new(url).is_dir() {
                // libgit2 would call a missing directory an "unsupported URL protocol".
                return Err(Error::Unreachable {
                    project: project.into(),
                    url: written.into(),
                    source: git2::Error::from_str(&format!("no directory at {url}")),
                });
            }
            create_dir_atomically(&dir, |tmp| {
                let repo = Repository::init_bare(tmp).map_err(|e| git_err(project, "create a mirror", e))?;
                repo.remote("origin", url).map_err(|e| git_err(project, "create a mirror", e))?;
                fetch(&repo, project, written, &MIRROR_REFSPECS)
            })?;
            tracing::debug!(project, url, path = %dir.display(), "created mirror");
        }
        remove_stale_git_locks(&dir);
        let repo = Repository::open_bare(&dir).map_err(|e| git_err(project, "open the mirror", e))?;
        touch(&dir);
        Ok(Mirror {
            repo,
            project: project.into(),
            url: url.into(),
            written: written.into(),
            fresh: Cell::new(created),
            _lock: lock,
        })
    }

    /// The mirror's directory.
    pub fn path(&self) -> &Path {
        self.repo.path()
    }

    /// Removes the mirror (while still holding its lock, so that no other wrap process reads
    /// it half removed); the next [`Mirror::open`] fetches it anew.
    pub fn discard(self) -> Result<()> {
        let path = self.repo.path().to_path_buf();
        let Mirror { repo, _lock, .. } = self;
        drop(repo);
        crate::fs::remove_atomically(&path)?;
        drop(_lock);
        Ok(())
    }

    /// Whether fetching needs no network (a local repository).
    pub fn is_local(&self) -> bool {
        is_local(&self.url)
    }

    /// Brings branches and tags up to date with upstream, once per run.
    pub fn update(&self) -> Result<()> {
        if !self.fresh.get() {
            fetch(&self.repo, &self.project, &self.written, &MIRROR_REFSPECS)?;
            self.fresh.set(true);
        }
        Ok(())
    }

    /// Whether the mirror holds `commit`.
    pub fn has_commit(&self, commit: Oid) -> bool {
        self.repo.find_commit(commit).is_ok()
    }

    /// Fetches one commit by id, for servers that allow it (a commit no branch or tag reaches).
    pub fn fetch_commit(&self, commit: Oid) -> Result<()> {
        fetch(&self.repo, &self.project, &self.written, &[&commit.to_string()])
    }

    /// Fetches one ref outside heads and tags (Gerrit's `refs/changes/…`, GitHub's
    /// `refs/pull/…`) into the same name.
    pub fn fetch_ref(&self, name: &str) -> Result<()> {
        fetch(&self.repo, &self.project, &self.written, &[&format!("+{name}:{name}")])
    }

    /// Resolves a tag, branch, `refs/…` name or full commit id, without fetching.
    pub fn resolve(&self, git_ref: &str) -> Result<Resolved> {
        // The commit a reference names; an error when it names a tree or a blob.
        let peel = |name: &str| -> Result<Option<Oid>> {
            let Ok(reference) = self.repo.find_reference(name) else { return Ok(None) };
            match reference.peel(git2::ObjectType::Any).map(|o| (o.kind(), o.id())) {
                Ok((Some(git2::ObjectType::Commit), id)) => Ok(Some(id)),
                Ok((kind, _)) => Err(Error::RefNotCommit {
                    project: self.project.clone(),
                    url: self.written.clone(),
                    git_ref: git_ref.into(),
                    kind: kind.map_or("thing".into(), |k| k.str().to_string()),
                }),
                Err(e) => Err(git_err(&self.project, "read a reference", e)),
            }
        };
        if names_a_commit(git_ref) {
            let oid = Oid::from_str(git_ref).expect("40 hex digits");
            if self.has_commit(oid) {
                return Ok(Resolved { commit: oid, is_tag: false });
            }
        } else if let Some(oid) = peel(&format!("refs/tags/{git_ref}"))? {
            return Ok(Resolved { commit: oid, is_tag: true });
        } else if let Some(oid) = peel(&format!("refs/heads/{git_ref}"))? {
            return Ok(Resolved { commit: oid, is_tag: false });
        } else if git_ref.starts_with("refs/")
            && let Some(oid) = peel(git_ref)?
        {
            return Ok(Resolved { commit: oid, is_tag: git_ref.starts_with("refs/tags/") });
        }
        Err(Error::RefNotFound {
            project: self.project.clone(),
            url: self.written.clone(),
            git_ref: git_ref.into(),
            nearest: self.nearest_names(git_ref),
        })
    }

    /// Up to five tag and branch names closest to `wanted`.
    fn nearest_names(&self, wanted: &str) -> Vec<String> {
        let mut names: Vec<(usize, String)> = self
            .repo
            .references()
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|r| r.name().ok().map(str::to_string))
            .filter_map(|n| {
                let short = n.strip_prefix("refs/tags/").or_else(|| n.strip_prefix("refs/heads/"))?;
                Some((strsim::damerau_levenshtein(wanted, short), short.to_string()))
            })
            .collect();
        names.sort();
        names.dedup_by(|a, b| a.1 == b.1);
        names.into_iter().take(5).map(|(_, n)| n).collect()
    }

    /// Committer time of `commit`, Unix seconds.
    pub fn commit_time(&self, commit: Oid) -> Result<i64> {
        let c = self.repo.find_commit(commit).map_err(|e| git_err(&self.project, "read a commit", e))?;
        Ok(c.committer().when().seconds())
    }

    /// The version of `commit`: the highest version among the tags that point at it (so a
    /// commit tagged both `33.0.0.0rc1` and `33.0.0` is `33.0.0`, whichever of them the ref
    /// names, as pbr would say), else the nightly form built on the nearest version tag
    /// reachable from it (in git's topological walk, as `git describe` would find it).
    pub fn version_of(&self, resolved: &Resolved) -> Result<Version> {
        let tags = self.version_tags()?;
        if let Some(v) = tags.get(&resolved.commit) {
            return Ok(v.clone());
        }
        let fail = |e| git_err(&self.project, "walk the history", e);
        let mut walk = self.repo.revwalk().map_err(fail)?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME).map_err(fail)?;
        walk.push(resolved.commit).map_err(fail)?;
        let mut nearest = None;
        for oid in walk {
            if let Some(v) = tags.get(&oid.map_err(fail)?) {
                nearest = Some(v);
                break;
            }
        }
        let time = self.commit_time(resolved.commit)?;
        Ok(version::derived(nearest, time, &resolved.commit.to_string()))
    }

    /// Commit → highest version among the version tags that point at it.
    fn version_tags(&self) -> Result<HashMap<Oid, Version>> {
        let mut map: HashMap<Oid, Version> = HashMap::new();
        for (_, v, commit) in self.tagged_versions()? {
            let slot = map.entry(commit).or_insert_with(|| v.clone());
            if crate::version::compare(&v, slot).is_gt() {
                *slot = v;
            }
        }
        Ok(map)
    }

    /// Every tag that names a version, with the version and the commit it points at.
    fn tagged_versions(&self) -> Result<Vec<(String, Version, Oid)>> {
        let refs =
            self.repo.references_glob("refs/tags/*").map_err(|e| git_err(&self.project, "list tags", e))?;
        Ok(refs
            .flatten()
            .filter_map(|reference| {
                let name = reference.name().ok()?.strip_prefix("refs/tags/")?.to_string();
                let version = crate::version::tag_version(&name)?;
                Some((name, version, reference.peel_to_commit().ok()?.id()))
            })
            .collect())
    }

    /// The newest version tag and its commit: the highest final release, else the highest
    /// version of any kind (a project that has only tagged release candidates).
    pub fn newest_version_tag(&self) -> Result<Option<(String, Oid)>> {
        let mut best: Option<(bool, Version, String, Oid)> = None;
        for (name, v, commit) in self.tagged_versions()? {
            let is_final = !v.any_prerelease();
            let better = best.as_ref().is_none_or(|(f, b, _, _)| {
                (is_final, crate::version::compare(&v, b)) > (*f, std::cmp::Ordering::Equal)
            });
            if better {
                best = Some((is_final, v, name, commit));
            }
        }
        Ok(best.map(|(_, _, name, commit)| (name, commit)))
    }

    /// The branch to follow when a repository has no version tag: `main`, else `master`, else
    /// the first branch by name.
    pub fn default_branch(&self) -> Option<(String, Oid)> {
        let mut branches: Vec<(String, Oid)> = self
            .repo
            .references_glob("refs/heads/*")
            .ok()?
            .flatten()
            .filter_map(|r| {
                let name = r.name().ok()?.strip_prefix("refs/heads/")?.to_string();
                Some((name, r.peel_to_commit().ok()?.id()))
            })
            .collect();
        branches.sort_by_key(|(name, _)| (name != "main", name != "master", name.clone()));
        branches.into_iter().next()
    }

    /// The bytes of the file at `path` in `commit`, if it has one.
    pub fn read_at(&self, commit: Oid, path: &str) -> Option<Vec<u8>> {
        blob_at(&self.repo, commit, path)
    }

    /// A working clone of the mirror (objects hard-linked where the file system allows) with
    /// `commit` checked out detached, `origin` pointing upstream, and every tag present.
    pub fn clone_at(&self, dest: &Path, commit: Oid) -> Result<Repository> {
        let repo = self.clone_index_at(dest, commit)?;
        repo.checkout_head(Some(&mut forced_checkout()))
            .map_err(|e| git_err(&self.project, "check out the commit", e))?;
        Ok(repo)
    }

    /// Like [`Mirror::clone_at`], but with no working files: `commit`'s tree is in the index
    /// only (what a cached build checkout needs, and a fraction of the file writes).
    pub fn clone_index_at(&self, dest: &Path, commit: Oid) -> Result<Repository> {
        let fail = |action| move |e| git_err(&self.project, action, e);
        crate::interrupt::check()?;
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.dry_run();
        let repo = git2::build::RepoBuilder::new()
            .clone_local(git2::build::CloneLocal::Local)
            .with_checkout(checkout)
            .clone(&self.path().to_string_lossy(), dest)
            .map_err(fail("clone the mirror"))?;
        crate::interrupt::check()?;
        repo.set_head_detached(commit).map_err(fail("check out the commit"))?;
        {
            let tree = repo.find_commit(commit).and_then(|c| c.tree()).map_err(fail("read the commit"))?;
            let mut index = repo.index().map_err(fail("read the index"))?;
            index.read_tree(&tree).map_err(fail("read the commit's tree"))?;
            index.write().map_err(fail("write the index"))?;
        }
        repo.remote_set_url("origin", &self.url).map_err(fail("set the origin URL"))?;
        Ok(repo)
    }
}

/// Options of a checkout that overwrites what is there and stops when wrap is interrupted (a
/// notify callback returning false cancels it).
pub fn forced_checkout<'a>() -> git2::build::CheckoutBuilder<'a> {
    let mut options = git2::build::CheckoutBuilder::new();
    options
        .force()
        .notify_on(git2::CheckoutNotificationType::all())
        .notify(|_, _, _, _, _| !crate::interrupt::interrupted());
    options
}

/// The bytes of the file at `path` in `commit` of the mirror of `url`, when the cache holds that
/// mirror and the commit has the file. Reads only: no fetch, no lock (objects are immutable).
pub fn read_file_at(cache: &Cache, url: &str, commit: &str, path: &str) -> Option<Vec<u8>> {
    let repo = Repository::open_bare(cache.mirror_dir(url)).ok()?;
    blob_at(&repo, Oid::from_str(commit).ok()?, path)
}

/// The bytes of the file at `path` in `commit` of `repo`, if it has one.
fn blob_at(repo: &Repository, commit: Oid, path: &str) -> Option<Vec<u8>> {
    let entry = repo.find_commit(commit).ok()?.tree().ok()?.get_path(Path::new(path)).ok()?;
    Some(repo.find_blob(entry.id()).ok()?.content().to_vec())
}

/// Whether a ref as the manifest writes it is a full commit id (40 hex digits, either case).
pub fn names_a_commit(git_ref: &str) -> bool {
    git_ref.len() == 40 && git_ref.chars().all(|c| c.is_ascii_hexdigit())
}

/// A repository on this machine: reading it is not network access, so offline mode allows it.
pub fn is_local(url: &str) -> bool {
    url.starts_with('/') || url.starts_with("file://")
}

/// Fetches `refspecs` from the `origin` remote; `url` names it in messages.
fn fetch(repo: &Repository, project: &str, url: &str, refspecs: &[&str]) -> Result<()> {
    let mut remote = repo.find_remote("origin").map_err(|e| git_err(project, "find the remote", e))?;
    if remote.url().is_ok_and(crate::giturl::is_ssh) {
        return fetch_with_git(repo.path(), project, url, refspecs);
    }
    let mut options = FetchOptions::new();
    let mut callbacks = git2::RemoteCallbacks::new();
    // Returning false cancels the transfer: an interrupted wrap stops fetching.
    callbacks.transfer_progress(|_| !crate::interrupt::interrupted());
    options.remote_callbacks(callbacks);
    options.download_tags(git2::AutotagOption::All);
    let mut proxy = git2::ProxyOptions::new();
    proxy.auto();
    options.proxy_options(proxy);
    tracing::debug!(project, url, "fetching");
    remote.fetch(refspecs, Some(&mut options), None).map_err(|source| Error::Unreachable {
        project: project.into(),
        url: url.into(),
        source,
    })
}

/// Fetches over ssh with the git command (libgit2 is built without ssh): OpenSSH with the
/// user's ~/.ssh/config, agent, keys and known_hosts, or `GIT_SSH_COMMAND`. Never prompts: a
/// key that needs a passphrase without an agent, or an unknown host key, fails at once.
fn fetch_with_git(mirror: &Path, project: &str, url: &str, refspecs: &[&str]) -> Result<()> {
    let mut cmd = crate::source::patch::git_command(mirror);
    for keep in ["GIT_SSH_COMMAND", "GIT_SSH", "GIT_SSH_VARIANT"] {
        if let Some(value) = std::env::var_os(keep) {
            cmd.env(keep, value);
        }
    }
    if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
        cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd.args(["fetch", "--quiet", "--no-write-fetch-head", "--tags", "origin"]).args(refspecs);
    tracing::debug!(project, url, "fetching with git (ssh)");
    let output = crate::source::patch::run_git(&mut cmd, "git fetches ssh URLs; install it")?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    Err(Error::Unreachable {
        project: project.into(),
        url: url.into(),
        source: git2::Error::from_str(&why.join("; ")),
    })
}

pub(crate) fn git_err(project: &str, action: &'static str, source: git2::Error) -> Error {
    Error::Git { project: project.into(), action, source }
}

/// The checkout directory's key: the commit and every patch's content, in order.
pub fn source_key(commit: &str, patch_digests: &[&str]) -> String {
    let mut text = String::from(commit);
    for d in patch_digests {
        text.push('\n');
        text.push_str(d);
    }
    crate::digest::sha256_hex(text.as_bytes())[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_lock_files_of_a_killed_fetch_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let mirror = tmp.path().join("m");
        Repository::init_bare(&mirror).unwrap();
        fs_err::create_dir_all(mirror.join("refs/heads/stable")).unwrap();
        for stale in ["packed-refs.lock", "config.lock", "refs/heads/stable/2026.2.lock"] {
            fs_err::write(mirror.join(stale), b"").unwrap();
        }
        fs_err::write(mirror.join("refs/heads/main"), b"0000000000000000000000000000000000000000\n").unwrap();
        remove_stale_git_locks(&mirror);
        for stale in ["packed-refs.lock", "config.lock", "refs/heads/stable/2026.2.lock"] {
            assert!(!mirror.join(stale).exists(), "{stale}");
        }
        assert!(mirror.join("refs/heads/main").exists() && mirror.join("config").exists());
    }
}
