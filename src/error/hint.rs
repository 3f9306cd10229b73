//! What the user can do about each error, when wrap knows: the `hint:` line.

use super::*;

impl Error {
    /// What the user can do about it, when wrap knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Manifest { kind, .. } => kind.hint(),
            Self::ManifestMissing { .. } => {
                Some("run wrap in the manifest's directory, pass `-m PATH`, or start one with `wrap init [GIT_URL]`".into())
            }
            Self::PatchEditStopped { project, dir, .. } => Some(format!(
                "in `{}`: fix the files (conflict markers; rejected hunks in *.rej, then delete those), `git add` them and `git commit`; then `wrap patch edit {project} --continue` applies the rest",
                dir.display()
            )),
            Self::RemoteMissing { .. } | Self::Remote { .. } => Some(self.remote_hint().into()),
            Self::ManifestExists { .. } => Some("edit it, or pass `-m NEW.toml` to write another".into()),
            Self::LockSyntax { .. } => {
                Some("delete the lock file and run `wrap lock` to write it anew".into())
            }
            Self::LockInvalid { project, .. } if project.starts_with('[') => {
                Some("run `wrap lock --update` to pin it again".into())
            }
            Self::LockInvalid { project, .. } => {
                Some(format!("run `wrap lock --update {project}` to pin it again"))
            }
            Self::LockMissing { .. } => Some("run `wrap lock` and commit the lock file".into()),
            Self::LockDrift { .. } => Some(
                "run `wrap lock` to record the change (or `wrap lock --update NAME` to move a ref)".into(),
            ),
            Self::UnknownProject { known, .. } => Some(format!("the manifest has: {}", known.join(", "))),
            Self::Unreachable { url, .. } if crate::giturl::is_ssh(url) => Some(
                "ssh URLs are fetched by git with OpenSSH, never prompting: check the key (ssh-agent, ~/.ssh/config), that the host is in known_hosts, and `ssh -T` to the host; GIT_SSH_COMMAND is honoured".into(),
            ),
            Self::Unreachable { .. } => Some(
                "check the URL (or path) and the network; `offline = true` uses cached mirrors only".into(),
            ),
            Self::RefNotFound { nearest, .. } if !nearest.is_empty() => {
                Some(format!("nearest tags and branches: {}", nearest.join(", ")))
            }
            Self::RefNotFound { .. } => Some("the repository has no tags or branches".into()),
            Self::CommitMissing { offline: true, .. } | Self::OfflineNoMirror { .. } => {
                Some("run `wrap fetch` once with network access to fill the cache".into())
            }
            Self::CommitMissing { .. } => {
                Some("the commit may have been force-pushed away; run `wrap lock --update NAME`".into())
            }
            Self::PatchParse { .. } => Some("write patches with `git format-patch` or `git diff`".into()),
            Self::UnknownHostFormat => {
                Some("pass `--format deb|rpm|tar|oci`, or set `formats` in [settings]".into())
            }
            Self::DownloadChanged { .. } => {
                Some("review the new constraints, then run `wrap lock --update`".into())
            }
            Self::PatchApply { project, moved_from: None, .. } => Some(format!(
                "`wrap patch edit {project}` makes a checkout with the patches applied up to this one, to fix it in; then `wrap patch refresh {project}`"
            )),
            Self::PatchApply { project, commit, moved_from: Some(from), .. } => Some(format!(
                "the ref moved from {} to {commit} in this run: fix the patch for the new source with `wrap patch edit {project}` and `wrap patch refresh {project}`, or pin `ref` back",
                short(from, 12)
            )),
            Self::RefNotCommit { .. } => Some("set `ref` to a tag, branch or commit that names a commit".into()),
            Self::LockMismatch { project, .. } => Some(format!(
                "if the ref moved upstream, run `wrap lock --update {project}` to pin it again; if the lock was edited by hand, restore it"
            )),
            Self::Submodule { .. } => Some(
                "build from a repository without submodules, or vendor the submodule's files with a patch".into(),
            ),
            Self::SourceSymlinkEscapes { .. } => Some(
                "wrap ships only what the repository holds; replace the link with the files, by a patch if need be".into(),
            ),
            Self::SigningKey { hint, .. }
            | Self::Repository { hint, .. }
            | Self::Image { hint, .. }
            | Self::Push { hint, .. }
            | Self::Pull { hint, .. } => hint.clone(),
            Self::ImageMissing { .. } => Some(
                "add `[image]` with `base = \"DIR\"`, an OCI image layout directory beside the manifest (`skopeo copy docker://… oci:DIR:TAG` makes one)".into(),
            ),
            Self::RpmFileTooLarge { .. } => Some(
                "leave the file out with the project's `exclude`, or ship this project as a .deb or tarball".into(),
            ),
            _ => self.build_hint(),
        }
    }

    /// The hints of the build stages' errors (interpreter, installer, relocation, verify).
    fn build_hint(&self) -> Option<String> {
        match self {
            Self::Interpreter { problem: InterpreterProblem::Missing, .. } => {
                Some("install Python 3 (`apt-get install python3-venv`) or set `python` in [settings]".into())
            }
            Self::Interpreter { problem: InterpreterProblem::NotCPython3, .. } => {
                Some("set `python` in [settings] to a CPython 3 interpreter such as /usr/bin/python3".into())
            }
            Self::Interpreter { problem: InterpreterProblem::NoVenv, .. } => {
                Some("install the venv module: `apt-get install python3-venv` (Debian/Ubuntu)".into())
            }
            Self::UvMissing => Some("`pip install uv`, or set `installer = \"pip\"`".into()),
            Self::MissingRequirement { offline: true, locked: false, log, .. } => Some(format!(
                "offline builds take every requirement, build backends included, from `find_links`; add its wheel there (log: {})",
                log.display()
            )),
            Self::ResolveFailed { log, .. } => Some(format!(
                "check the requirements, extras and constraints; uv's output: {}",
                log.display()
            )),
            Self::LockedHashMismatch { .. } => Some(
                "the file changed on the index since `wrap lock` pinned it: a re-upload, or tampering; if the new file is trusted, `wrap lock --update PROJECT` pins it".into(),
            ),
            Self::LockedFileUnavailable { .. } => Some(
                "where the file can still be had, `wrap fetch --locked --wheelhouse DIR` copies every locked file into DIR; build with `find_links = [\"DIR\"]` (and `offline = true` on a machine without a network)".into(),
            ),
            Self::MissingRequirement { locked: true, log, .. } => Some(format!(
                "a locked build installs only what the lock pins, and this is not among it (a build requirement resolved at build time?); `wrap lock --update PROJECT` resolves the closure again (log: {})",
                log.display()
            )),
            Self::MissingRequirement { log, .. } => Some(format!(
                "check the requirement's name and version, and the constraints (log: {})",
                log.display()
            )),
            Self::Editable { .. } => {
                Some("install the requirement as a normal (non-editable) distribution".into())
            }
            Self::Relocate { .. } => Some(
                "the file holds the build path in a form wrap cannot rewrite; report the distribution that ships it".into(),
            ),
            Self::BuildFailed { .. } => Some(
                "each project's error is shown above; the projects that succeeded have their artifacts written".into(),
            ),
            Self::ServiceMissing { key, .. } => {
                Some(format!("`{key}` lists console scripts of the project (files in the bundle's bin/)"))
            }
            Self::EntryPointImport { entry_point, .. } => Some(format!(
                "install what it imports (`pip_dependencies`, `extras`); if it needs hardware or configuration to import, add `{entry_point}` to the project's `verify_skip`"
            )),
            Self::InstallFailed { disk_full: true, .. } | Self::Write { .. } => Some(
                "free space where the cache ($WRAP_CACHE) and the output directory are, then build again".into(),
            ),
            Self::SystemDependencyMissing { missing, bindep_missing, log, .. } => {
                let bindep = if bindep_missing.is_empty() {
                    String::new()
                } else {
                    format!("; the project's bindep.txt also lists, not installed here: {}", bindep_missing.join(" "))
                };
                Some(format!(
                    "install `{}` (Debian, Ubuntu) or `{}` (RPM distributions) on the build machine{bindep} (log: {})",
                    missing.deb,
                    missing.rpm,
                    log.display()
                ))
            }
            Self::RecordFileMissing { .. } => Some(
                "an `exclude` pattern may have removed a file the distribution needs; narrow the pattern".into(),
            ),
            Self::RequirementsInconsistent { .. } => Some(
                "pin compatible versions in the constraints, or add the missing requirement to `pip_dependencies`".into(),
            ),
            _ => None,
        }
    }
}

impl Error {
    /// The hint of a remote cache error.
    fn remote_hint(&self) -> &'static str {
        match self {
            Self::RemoteMissing { .. } => {
                "the shard that builds it failed or has not uploaded yet; or this machine's interpreter, installer or wrap differ from the build jobs' (the build key includes them)"
            }
            _ => "without `--remote-required`, a failing remote is a warning and the build goes on locally",
        }
    }
}
