//! The source stage: pinned commit → patched checkout → the tree a build starts from. Mirrors
//! and ref resolution live in [`git`], the patch queue in [`patch`], nightly versions in
//! [`version`], constraints URLs in [`download`], the project's own system packages in
//! [`bindep`].
//!
//! A checkout is keyed by its commit and patch digests and created atomically, so a patch that
//! does not apply leaves the cache as it was. It is a repository with no working files: the
//! commit's tree is read into the index, patches land there (files a patch adds are tracked),
//! the resulting tree id is stamped into the checkout, and a checkout is refused if it holds a
//! submodule or a symlink leading out of the repository. A build writes the stamped tree from
//! git's object store into its own directory ([`Checkout::materialize`]), with a `.git` that
//! shares the checkout's objects, so that pbr and setuptools-scm find the tracked files and the
//! tags they expect. A cached checkout whose index was changed is made again; a mirror that
//! cannot be read is fetched again, once.

pub mod bindep;
pub mod download;
pub mod git;
pub mod patch;
pub mod version;

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use crate::cache::Cache;
use crate::error::{Error, Result, short};
use crate::fs::{create_dir_atomically, remove_atomically, touch};
use crate::lock::LockedProject;
use crate::manifest::Project;
use git::{Mirror, git_err};

/// Where a checkout keeps the id of the tree it holds (in `.git`, outside the working tree).
const STAMP: &str = "wrap-tree";

/// A patched checkout ready to build.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// Its directory (a git repository with full history and tags, the patched tree in its
    /// index, and no working files).
    pub path: PathBuf,
    /// The pinned commit.
    pub commit: String,
    /// The id of the tree the patched index holds.
    pub tree: String,
    /// It was in the cache already.
    pub reused: bool,
}

/// The commit, committer time and version that `project`'s ref resolves to now. Fetches the
/// mirror first unless `offline`. Problems wrap repaired are added to `warnings`.
pub fn resolve(
    cache: &Cache,
    project: &Project,
    offline: bool,
    warnings: &mut Vec<String>,
) -> Result<(String, i64, String)> {
    with_mirror(cache, project, offline, warnings, |mirror| {
        let online = !offline || mirror.is_local();
        if online {
            mirror.update()?;
        }
        let resolved = match mirror.resolve(&project.git_ref) {
            Ok(r) => r,
            Err(Error::RefNotFound { .. }) if online && is_other_ref(&project.git_ref) => {
                // A review or pull-request ref: fetched by name, on demand.
                mirror.fetch_ref(&project.git_ref)?;
                mirror.resolve(&project.git_ref)?
            }
            Err(Error::RefNotFound { .. }) if online && git::names_a_commit(&project.git_ref) => {
                // A commit no branch or tag reaches: ask for it by id (servers may refuse).
                let oid = Oid::from_str(&project.git_ref).expect("commit id");
                let _ = mirror.fetch_commit(oid);
                mirror.resolve(&project.git_ref)?
            }
            Err(e) => return Err(e),
        };
        let version = mirror.version_of(&resolved)?;
        Ok((resolved.commit.to_string(), mirror.commit_time(resolved.commit)?, version.to_string()))
    })
}

/// The patched checkout of `locked`'s commit: from the cache when it is there and intact, else
/// made now. Problems wrap repaired (a changed checkout, a damaged mirror) are added to
/// `warnings`.
pub fn checkout(
    cache: &Cache,
    project: &Project,
    locked: &LockedProject,
    offline: bool,
    warnings: &mut Vec<String>,
) -> Result<Checkout> {
    let key = git::source_key(&locked.commit, &locked.patch_digests());
    let path = cache.checkout_dir(&project.name, &key);
    if path.exists() {
        match verify(&path) {
            Ok(tree) => {
                tracing::debug!(project = %project.name, path = %path.display(), "checkout reused");
                touch(&path);
                return Ok(Checkout { path, commit: locked.commit.clone(), tree, reused: true });
            }
            Err(reason) => {
                warnings.push(format!(
                    "project `{}`: the cached checkout at {} {reason}; it was made again from the mirror",
                    project.name,
                    path.display()
                ));
                remove_atomically(&path)?;
            }
        }
    }
    let oid =
        Oid::from_str(&locked.commit).map_err(|e| git_err(&project.name, "read the locked commit", e))?;
    with_mirror(cache, project, offline, warnings, |mirror| {
        ensure_commit(mirror, project, locked, oid, offline)?;
        create_dir_atomically(&path, |tmp| {
            let repo = mirror.clone_index_at(tmp, oid)?;
            for patch in &project.patches {
                crate::interrupt::check()?;
                patch::apply(tmp, &project.name, short(&locked.commit, 12), patch)?;
            }
            let tree = stamp(&repo, &project.name)?;
            tracing::debug!(project = %project.name, tree, "checkout made");
            Ok::<_, Error>(())
        })
    })?;
    let tree = match verify(&path) {
        Ok(tree) => tree,
        Err(reason) => {
            remove_atomically(&path)?;
            return Err(Error::Command {
                program: "wrap".into(),
                detail: format!("the checkout just made at {} {reason}", path.display()),
            });
        }
    };
    Ok(Checkout { path, commit: locked.commit.clone(), tree, reused: false })
}

impl Checkout {
    /// Writes the checkout's stamped tree into `dest`, with a `.git` of its own that borrows
    /// the checkout's objects (git alternates) and holds its HEAD, tags and index: a working
    /// copy that pbr and setuptools-scm read as the upstream repository, and that a build may
    /// write into. The cached checkout itself is only read. `dest` is empty, or `reused`: it
    /// holds the tree an earlier build of the project left ([`crate::cache::Cache::tree_dir`]),
    /// which is made equal to this one by content: whatever the index does not hold is removed,
    /// every tracked file's bytes are hashed, and only those that differ (a patch changed them,
    /// the last build rewrote them) are written. Creating files is most of a warm rebuild's
    /// cost on some file systems; reading them is not.
    pub fn materialize(&self, project: &str, dest: &Path, reused: bool) -> Result<()> {
        let fail = |e| git_err(project, "write the source tree", e);
        let stale = if reused {
            let index = Repository::open(&self.path).and_then(|r| r.index()).map_err(fail)?;
            Some(converge(&index, dest, true)?)
        } else {
            None
        };
        let src = self.path.join(".git");
        let git = dest.join(".git");
        if git.exists() {
            fs_err::remove_dir_all(&git)?;
        }
        fs_err::create_dir_all(git.join("objects/info"))?;
        fs_err::write(git.join("objects/info/alternates"), format!("{}\n", src.join("objects").display()))?;
        fs_err::write(git.join("HEAD"), format!("{}\n", self.commit))?;
        fs_err::write(
            git.join("config"),
            "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n",
        )?;
        if src.join("packed-refs").is_file() {
            fs_err::copy(src.join("packed-refs"), git.join("packed-refs"))?;
        }
        copy_refs(&src.join("refs"), &git.join("refs"))?;
        fs_err::copy(src.join("index"), git.join("index"))?;
        let repo = Repository::open(dest).map_err(fail)?;
        let mut index = repo.index().map_err(fail)?;
        let tree = index.write_tree().map_err(fail)?.to_string();
        if tree != self.tree {
            return Err(Error::Command {
                program: "wrap".into(),
                detail: format!("the checkout at {} changed while it was read", self.path.display()),
            });
        }
        let mut options = git::forced_checkout();
        match stale {
            None => {}
            Some(paths) if paths.is_empty() => return Ok(()),
            Some(paths) => {
                // Literal paths, not patterns: a file named `*.py` is that file only.
                options.disable_pathspec_match(true);
                for path in paths {
                    options.path(path);
                }
            }
        }
        repo.checkout_index(Some(&mut index), Some(&mut options)).map_err(fail)?;
        tracing::debug!(project, reused, "source tree written");
        Ok(())
    }

    /// Writes the patched tree's files into the checkout's own directory, for people to read:
    /// builds never do, they write their tree from the index.
    pub fn write_files(&self, project: &str) -> Result<()> {
        let fail = |e| git_err(project, "write the checkout's files", e);
        let repo = Repository::open(&self.path).map_err(fail)?;
        let mut index = repo.index().map_err(fail)?;
        repo.checkout_index(Some(&mut index), Some(&mut git::forced_checkout())).map_err(fail)?;
        Ok(())
    }

    /// Writes the files the checkout's index holds below `dir` (as `etc`) into `dest/dir`:
    /// regular files with their modes; symbolic links are left out, as a walk of a working
    /// tree that follows none leaves them out.
    pub fn write_dir(&self, project: &str, dir: &str, dest: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let fail = |e| git_err(project, "read the checkout's index", e);
        let repo = Repository::open(&self.path).map_err(fail)?;
        let index = repo.index().map_err(fail)?;
        let prefix = format!("{dir}/");
        for entry in index.iter() {
            let path = String::from_utf8_lossy(&entry.path).into_owned();
            let mode = match entry.mode {
                0o100644 => 0o644,
                0o100755 => 0o755,
                _ => continue,
            };
            if !path.starts_with(&prefix) {
                continue;
            }
            let to = dest.join(&path);
            fs_err::create_dir_all(to.parent().expect("below dest"))?;
            fs_err::write(&to, repo.find_blob(entry.id).map_err(fail)?.content())?;
            fs_err::set_permissions(&to, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }
}

/// Makes the working tree `dir` hold nothing `index` does not track: every other file, link
/// and directory is removed (`.git` is left alone). With `check`, also returns the tracked
/// paths whose bytes or mode differ from the index, or that are missing (the wrong kind of
/// entry is removed first): what a checkout of those paths must write. Without, tracked files
/// are not read.
pub fn converge(index: &git2::Index, dir: &Path, check: bool) -> Result<Vec<PathBuf>> {
    use std::collections::{HashMap, HashSet};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::os::unix::fs::PermissionsExt;
    let mut wanted: HashMap<PathBuf, (Oid, u32)> = HashMap::new();
    let mut dirs: HashSet<PathBuf> = HashSet::new();
    for entry in index.iter() {
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(&entry.path));
        for parent in path.ancestors().skip(1) {
            if !dirs.insert(parent.to_path_buf()) {
                break;
            }
        }
        wanted.insert(path, (entry.id, entry.mode));
    }
    let mut tracked = Vec::new();
    let mut walk = walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name().into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        let rel = entry.path().strip_prefix(dir).expect("below the tree").to_path_buf();
        let kind = entry.file_type();
        if rel == Path::new(".git") || (kind.is_dir() && dirs.contains(&rel)) {
            if kind.is_dir() && rel == Path::new(".git") {
                walk.skip_current_dir();
            }
            continue;
        }
        match wanted.get(&rel) {
            Some(&(id, mode)) if !kind.is_dir() => tracked.push((rel, id, mode, kind.is_symlink())),
            _ => {
                if kind.is_dir() {
                    walk.skip_current_dir();
                    fs_err::remove_dir_all(entry.path())?;
                } else {
                    fs_err::remove_file(entry.path())?;
                }
            }
        }
    }
    if !check {
        return Ok(Vec::new());
    }
    let same = |(rel, id, mode, link): &(PathBuf, Oid, u32, bool)| -> Result<bool> {
        let path = dir.join(rel);
        let bytes = match (mode, link) {
            (0o120000, true) => fs_err::read_link(&path)?.into_os_string().into_vec(),
            (0o100644 | 0o100755, false) => {
                let executable = fs_err::metadata(&path)?.permissions().mode() & 0o111 != 0;
                if executable != (*mode == 0o100755) {
                    return Ok(false);
                }
                fs_err::read(&path)?
            }
            _ => return Ok(false),
        };
        Ok(Oid::hash_object(git2::ObjectType::Blob, &bytes).is_ok_and(|h| h == *id))
    };
    let verdicts = crate::host::on_every_core(&tracked, same)?;
    let seen: HashSet<&PathBuf> = tracked.iter().map(|t| &t.0).collect();
    let mut stale = Vec::new();
    for (t, same) in tracked.iter().zip(verdicts) {
        if !same {
            fs_err::remove_file(dir.join(&t.0))?;
            stale.push(t.0.clone());
        }
    }
    stale.extend(wanted.into_keys().filter(|p| !seen.contains(p)));
    stale.sort();
    Ok(stale)
}

/// Copies the loose refs of a checkout (tags, `HEAD` of the branches) into a build's `.git`.
fn copy_refs(from: &Path, to: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io(e.into()))?;
        let target = to.join(entry.path().strip_prefix(from).expect("below refs"));
        if entry.file_type().is_dir() {
            fs_err::create_dir_all(&target)?;
        } else if entry.file_type().is_file() {
            fs_err::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A full ref name outside the heads and tags a mirror fetches (`refs/changes/34/1234/2`).
fn is_other_ref(git_ref: &str) -> bool {
    git_ref.starts_with("refs/") && !git_ref.starts_with("refs/heads/") && !git_ref.starts_with("refs/tags/")
}

/// Makes sure the mirror holds the locked commit (fetching it unless `offline`) and that the
/// ref still names it.
fn ensure_commit(
    mirror: &Mirror,
    project: &Project,
    locked: &LockedProject,
    oid: Oid,
    offline: bool,
) -> Result<()> {
    if !mirror.has_commit(oid) && (!offline || mirror.is_local()) {
        mirror.update()?;
        if !mirror.has_commit(oid) && is_other_ref(&project.git_ref) {
            let _ = mirror.fetch_ref(&project.git_ref);
        }
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
    check_pin(mirror, project, locked, oid)
}

/// A working clone of `locked`'s commit at the new directory `dest`, unpatched, with `origin`
/// upstream and every tag: where `wrap patch edit` applies the patches as commits.
pub fn clone_pinned(
    cache: &Cache,
    project: &Project,
    locked: &LockedProject,
    offline: bool,
    dest: &Path,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let oid =
        Oid::from_str(&locked.commit).map_err(|e| git_err(&project.name, "read the locked commit", e))?;
    with_mirror(cache, project, offline, warnings, |mirror| {
        ensure_commit(mirror, project, locked, oid, offline)?;
        create_dir_atomically(dest, |tmp| mirror.clone_at(tmp, oid).map(drop))
    })
}

/// Runs `f` on the mirror of `project`. When the mirror cannot be read (a damaged object store,
/// an object its refs name gone missing), it is fetched anew, once, with a warning: a mirror is
/// a cache, and a damaged cache must not fail every build until someone deletes it by hand.
fn with_mirror<T>(
    cache: &Cache,
    project: &Project,
    offline: bool,
    warnings: &mut Vec<String>,
    f: impl Fn(&Mirror) -> Result<T>,
) -> Result<T> {
    let mirror = Mirror::open(cache, &project.name, &project.git, offline, warnings)?;
    match f(&mirror) {
        Err(e) if is_damage(&e) && (!offline || mirror.is_local()) => {
            warnings.push(format!(
                "project `{}`: the git mirror of `{}` could not be read ({e}); it was fetched again",
                project.name, project.git.written
            ));
            mirror.discard()?;
            let mirror = Mirror::open(cache, &project.name, &project.git, offline, warnings)?;
            f(&mirror)
        }
        result => result,
    }
}

/// Whether `e` says the mirror's own data is broken (rather than the network, or the input).
fn is_damage(e: &Error) -> bool {
    use git2::ErrorClass as C;
    match e {
        Error::Git { .. } | Error::CommitMissing { .. } => true,
        Error::Unreachable { source, .. } => {
            matches!(source.class(), C::Odb | C::Object | C::Zlib | C::Index | C::Repository | C::Reference)
        }
        _ => false,
    }
}

/// Checks that the lock's pin agrees with the repository: a tag or commit-id ref names the
/// locked commit, and a nightly version names it too (`…+git<date>.<commit>`). A lock edited
/// by hand, or a tag moved upstream, is stopped here rather than built under a wrong name.
fn check_pin(mirror: &Mirror, project: &Project, locked: &LockedProject, oid: Oid) -> Result<()> {
    let mismatch = |problem: String| Error::LockMismatch {
        project: project.name.clone(),
        git_ref: project.git_ref.clone(),
        locked: locked.commit.clone(),
        problem,
    };
    match mirror.resolve(&project.git_ref) {
        Ok(r) if (r.is_tag || git::names_a_commit(&project.git_ref)) && r.commit != oid => {
            return Err(mismatch(format!(
                "`{}` is {} in `{}`",
                project.git_ref,
                short(&r.commit.to_string(), 12),
                project.git.written
            )));
        }
        Err(e @ Error::RefNotCommit { .. }) => return Err(e),
        _ => {}
    }
    if version::names_other_commit(&locked.version, &locked.commit) {
        return Err(mismatch(format!("its locked version `{}` names another commit", locked.version)));
    }
    Ok(())
}

/// Refuses what a checkout must not hold, then writes the id of its index's tree into the
/// checkout's `.git`, and returns it.
fn stamp(repo: &Repository, project: &str) -> Result<String> {
    let fail = |e| git_err(project, "read the checkout's index", e);
    // `git apply` wrote the index; read it again from disk.
    let mut index = repo.index().map_err(fail)?;
    index.read(true).map_err(fail)?;
    for entry in index.iter() {
        let path = String::from_utf8_lossy(&entry.path).into_owned();
        match entry.mode {
            0o160000 => {
                return Err(Error::Submodule { project: project.into(), path, commit: entry.id.to_string() });
            }
            0o120000 => {
                let blob = repo.find_blob(entry.id).map_err(fail)?;
                let target = String::from_utf8_lossy(blob.content()).into_owned();
                if crate::fs::link_leaves_tree(&path, &target) {
                    return Err(Error::SourceSymlinkEscapes { project: project.into(), link: path, target });
                }
            }
            _ => {}
        }
    }
    let tree = index.write_tree().map_err(fail)?.to_string();
    let git_dir = repo.path();
    fs_err::write(git_dir.join(STAMP), format!("{tree}\n"))?;
    Ok(tree)
}

/// The stamped tree id of the checkout at `path`, when its index still holds that tree; else
/// what is wrong with it.
fn verify(path: &Path) -> std::result::Result<String, String> {
    let stamp = std::fs::read_to_string(path.join(".git").join(STAMP))
        .map_err(|_| "has no stamp of its tree (an older wrap made it)".to_string())?;
    let stamp = stamp.trim().to_string();
    let repo = Repository::open(path).map_err(|e| format!("cannot be opened ({})", e.message()))?;
    let mut index = repo.index().map_err(|e| format!("has no readable index ({})", e.message()))?;
    let tree = index.write_tree().map_err(|e| format!("has an unreadable index ({})", e.message()))?;
    if tree.to_string() != stamp {
        return Err("has an index that no longer holds the patched tree".into());
    }
    Ok(stamp)
}
