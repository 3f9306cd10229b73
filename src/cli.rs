//! Command-line interface types (clap derive). The doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::manifest::Format;

/// Package upstream Python projects from git as relocatable virtualenvs in .deb, .rpm and
/// tarball form, reproducibly.
#[derive(Debug, Parser)]
#[command(name = "wrap", version, max_term_width = 100)]
pub struct Cli {
    /// The manifest.
    #[arg(
        short,
        long,
        global = true,
        help_heading = "Global options",
        default_value = "wrap.toml",
        value_name = "PATH"
    )]
    pub manifest: PathBuf,

    /// More detail on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print nothing but errors on stderr.
    #[arg(short, long, global = true, help_heading = "Global options", conflicts_with = "verbose")]
    pub quiet: bool,

    /// When to use colour.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Fetch git URLs that start with PREFIX from REPLACEMENT instead (a URL prefix or a local
    /// directory), e.g. `https://opendev.org/openstack/=/srv/git/openstack/`; repeatable, the
    /// longest prefix wins. The lock and the packages keep naming the URLs as written.
    #[arg(long, global = true, help_heading = "Global options", value_name = "PREFIX=REPLACEMENT", value_parser = parse_mirror, env = "WRAP_GIT_MIRROR", value_delimiter = ' ')]
    pub git_mirror: Vec<(String, String)>,

    /// The shared remote cache: s3://bucket/prefix, gs://bucket/prefix, az://container/prefix,
    /// https://host/path (WebDAV) or file:///path (default: the manifest's `remote`). Builds
    /// download what it holds for their build keys and upload what they build; records are
    /// signed and checked with the secret in $WRAP_REMOTE_SECRET when it is set.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "URL",
        env = "WRAP_REMOTE",
        hide_env_values = true
    )]
    pub remote: Option<String>,

    /// How to print results and progress: text for people, or one JSON object per line.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = MessageFormat::Human, value_name = "FMT")]
    pub message_format: MessageFormat,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when writing to a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// Text for people.
    Human,
    /// One JSON object per line on stdout.
    Json,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented manifest to start from (never over an existing file).
    ///
    /// Given a git URL or a local repository, the project's name comes from its setup.cfg or
    /// pyproject.toml, the ref is its newest version tag (else its main branch), and its
    /// console scripts are listed as candidate services. The result passes `wrap check`.
    Init {
        /// The project's git URL or local repository (none: an example project to edit).
        #[arg(value_name = "GIT_URL_OR_PATH")]
        source: Option<String>,
    },
    /// Validate the manifest and compare it with the lock (no network).
    Check {
        /// Fail when the lock is missing or does not match the manifest.
        #[arg(long)]
        locked: bool,
    },
    /// Pin every project's ref to a commit in the lock file.
    ///
    /// Pins that match the manifest's git URL and ref are kept: a branch that moved upstream
    /// changes nothing until `--update`.
    Lock {
        /// Re-resolve these projects' refs (all projects, and constraints URLs, if none named).
        #[arg(long, value_name = "NAME", num_args = 0..)]
        update: Option<Vec<String>>,
        /// Use cached git mirrors only.
        #[arg(long)]
        offline: bool,
    },
    /// Fetch each project's pinned commit and apply its patches.
    Fetch {
        /// What to fetch.
        #[command(flatten)]
        source: SourceArgs,
        /// Also put every file the lock's closures pin into DIR (downloaded or copied from
        /// `find_links`, each checked against its sha256): a wheelhouse for offline builds.
        #[arg(long, value_name = "DIR")]
        wheelhouse: Option<PathBuf>,
    },
    /// Print what a build would do: projects, commits, versions, package names, install paths.
    ///
    /// With `--matrix`, print the build as CI jobs instead: balanced shards of the projects
    /// (by their last recorded build times, else an estimate) crossed with the manifest's
    /// `[[target]]`s, for `wrap build --shard K/N` to run.
    Plan {
        /// What to plan.
        #[command(flatten)]
        plan: PlanArgs,
        /// The CI matrix.
        #[command(flatten)]
        matrix: MatrixArgs,
    },
    /// Build each project's virtualenv and write its artifacts.
    ///
    /// A project whose build key (its commit, patches and settings, the constraints, local
    /// wheels, interpreter, installer, wrap, format) is unchanged is not rebuilt: its artifacts
    /// come from the cache. With -v, wrap says which of these changed for each rebuilt project.
    Build {
        /// What to build.
        #[command(flatten)]
        plan: PlanArgs,
        /// Output directory (default: the manifest's `output_dir`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Projects built at once (default: the number of cores).
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
        /// Start no further project after one fails.
        #[arg(long)]
        fail_fast: bool,
        /// Build even when the cache holds artifacts with the same build key.
        #[arg(long)]
        rebuild: bool,
        /// Build only shard K of N, as `wrap plan --matrix --shards N` assigned it.
        #[arg(long, value_name = "K/N", conflicts_with = "projects")]
        shard: Option<crate::plan::shard::Shard>,
        /// Fail when the remote cache fails (unreachable, refusing, corrupt records are still
        /// ignored), instead of warning and building locally.
        #[arg(long)]
        remote_required: bool,
        /// Sign each .rpm with this armored OpenPGP secret key (RSA or Ed25519), unlocked with
        /// the passphrase in $WRAP_SIGN_PASSPHRASE (default: the manifest's `sign_key` or
        /// `sign_key_env`).
        #[arg(long, value_name = "FILE", env = "WRAP_SIGN_KEY")]
        sign_key: Option<PathBuf>,
    },
    /// Show a built artifact (.deb, .rpm, .tar.gz or .oci.tar): fields, files, provenance; verify its
    /// digests.
    Inspect {
        /// The artifact.
        file: PathBuf,
    },
    /// Trim the cache: leftovers of interrupted runs always, then what the options select.
    ///
    /// Waits until no other wrap process uses the cache. The installers' own caches (uv, pip)
    /// go only with `--all`.
    Clean {
        /// Remove entries (mirrors, checkouts, artifacts, downloads, logs) unused for this long:
        /// a number and a unit, s, m (minutes), h, d or w (30d, 12h, 2w, 1h 30m); a bare number
        /// is days.
        #[arg(long, value_name = "AGE", value_parser = crate::cache::prune::parse_age)]
        older_than: Option<std::time::Duration>,
        /// Then remove the least recently used entries until the cache is at most this big:
        /// 500MiB, 10GiB (powers of 1024; 500MB and 10G are powers of 1000). The installers'
        /// caches and wrap's tools go only with `--all`: a warning says when they keep the cache
        /// over this size.
        #[arg(long, value_name = "SIZE", value_parser = crate::cache::prune::parse_size)]
        max_size: Option<u64>,
        /// Remove everything.
        #[arg(long, conflicts_with_all = ["older_than", "max_size"])]
        all: bool,
        /// Show what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add built packages to a signed repository (a directory to serve over HTTP or use as
    /// `file:`): .deb files to its apt repository, .rpm files to its dnf/yum repository.
    Publish {
        /// Packages, or directories holding them (default: the manifest's output directory).
        paths: Vec<PathBuf>,
        /// The repository (default: `repo` beside the manifest).
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// The suite: apt's suite and codename; the dnf repository is `rpm/<suite>/<component>`.
        #[arg(long, value_name = "S", default_value = "stable")]
        suite: String,
        /// The component.
        #[arg(long, value_name = "C", default_value = "main")]
        component: String,
        /// Keep the newest N versions of each package; older ones leave the index and the pool.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        keep: Option<u16>,
        /// Replace a package already published under the same name, version and architecture
        /// with other bytes (by default refused: hosts may have installed the old one).
        #[arg(long)]
        replace: bool,
        /// Publish the artifacts of the plan as the remote cache holds them (built by CI shards),
        /// instead of files: each downloaded and checked, none built; a missing one fails.
        #[arg(long, conflicts_with = "paths")]
        from_remote: bool,
        /// The armored OpenPGP secret key that signs the repository (default: the manifest's
        /// `sign_key` or `sign_key_env`); its passphrase in $WRAP_SIGN_PASSPHRASE.
        #[arg(long, value_name = "FILE", env = "WRAP_SIGN_KEY")]
        sign_key: Option<PathBuf>,
    },
    /// Push images (`wrap build --format oci`) to a registry: `<REGISTRY/PREFIX>/<package>:<version>-<release>`.
    /// Blobs the registry has are not uploaded again; credentials from `podman login`/`docker
    /// login`'s files or WRAP_REGISTRY_USERNAME and WRAP_REGISTRY_PASSWORD.
    Push {
        /// Images (.oci.tar), or directories holding them (default: the manifest's output directory).
        paths: Vec<PathBuf>,
        /// The registry and repository prefix: `registry.example.com/openstack`, `localhost:5000`.
        #[arg(long, value_name = "REGISTRY[/PREFIX]", value_parser = parse_target)]
        to: crate::registry::Target,
        /// Also tag each image so (repeatable), moving the tag if it named another image: `latest`.
        #[arg(long, value_name = "TAG", value_parser = parse_tag)]
        tag: Vec<String>,
        /// Speak HTTP without TLS to the registry (always so for localhost and 127.0.0.0/8).
        #[arg(long)]
        plain_http: bool,
        /// Move an image's version-release tag that names another image (by default refused:
        /// hosts may run the old one under that name).
        #[arg(long)]
        replace: bool,
    },
    /// About the cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Carry a project's patches: edit them as commits in a checkout, write them back.
    #[command(subcommand)]
    Patch(PatchCommand),
}

/// `wrap patch …`.
#[derive(Debug, Subcommand)]
pub enum PatchCommand {
    /// Make a git checkout of NAME's pinned commit with its patches applied, one commit each.
    ///
    /// A patch that does not apply stops there: its conflicts are in the working tree and its
    /// rejected hunks in `.rej` files; fix, `git commit`, then `--continue`.
    Edit {
        /// The project.
        name: String,
        /// The checkout (default: `.wrap/patch/NAME` beside the manifest).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Apply the patches after those the checkout holds as commits.
        #[arg(long = "continue")]
        resume: bool,
    },
    /// Write the checkout's commits after NAME's pinned commit back as its patch files, and the
    /// manifest's `patches` list. Unchanged patches stay byte-identical.
    Refresh {
        /// The project.
        name: String,
        /// The checkout (default: `.wrap/patch/NAME` beside the manifest).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

impl Command {
    /// The command's name, as typed (`cache info`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init { .. } => "init",
            Command::Check { .. } => "check",
            Command::Lock { .. } => "lock",
            Command::Fetch { .. } => "fetch",
            Command::Plan { .. } => "plan",
            Command::Build { .. } => "build",
            Command::Inspect { .. } => "inspect",
            Command::Clean { .. } => "clean",
            Command::Publish { .. } => "publish",
            Command::Push { .. } => "push",
            Command::Cache(CacheCommand::Info) => "cache info",
            Command::Patch(PatchCommand::Edit { .. }) => "patch edit",
            Command::Patch(PatchCommand::Refresh { .. }) => "patch refresh",
        }
    }
}

/// `wrap cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Where the cache is and what each kind of entry takes.
    Info,
}

/// Flags that shape a build plan.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Project selection and lock handling.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Package format (repeatable); default: the manifest's `formats`, else the host's.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format())]
    pub format: Vec<Format>,
    /// Override every project's version (as `version` in [settings] does); `--version` alone
    /// stays wrap's own.
    #[arg(long = "set-version", value_name = "V", value_parser = parse_version)]
    pub version: Option<String>,
}

/// `wrap plan --matrix`'s flags.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Print the CI matrix: `github` (JSON for `strategy.matrix` via `fromJSON`), `gitlab` (a
    /// child pipeline with `parallel:matrix`) or `json` (plain, for anything else).
    #[arg(long, value_enum, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "json")]
    pub matrix: Option<MatrixFormat>,
    /// How many shards (build jobs per target).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256), requires = "matrix")]
    pub shards: u16,
    /// Only these targets (repeatable; default: every `[[target]]` of the manifest).
    #[arg(long = "target", value_name = "NAME", requires = "matrix")]
    pub targets: Vec<String>,
}

/// The matrix's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    /// GitHub Actions: `{"include": [...]}` on one line, for `fromJSON`.
    Github,
    /// GitLab CI: a child pipeline (YAML, written in its JSON subset) with `parallel:matrix`.
    Gitlab,
    /// Plain JSON: shards, targets, projects and weights.
    Json,
}

/// Flags shared by the commands that read sources.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Only this project (repeatable).
    #[arg(short, long = "project", value_name = "NAME")]
    pub projects: Vec<String>,
    /// Refuse to run when the lock does not match the manifest, a patch or a constraints file.
    #[arg(long)]
    pub locked: bool,
    /// Never touch the network: cached git mirrors only, and no package index (wheels from the
    /// cache and `find_links` only).
    #[arg(long)]
    pub offline: bool,
}

fn parse_mirror(v: &str) -> Result<(String, String), String> {
    match v.split_once('=') {
        Some((prefix, to)) if !prefix.is_empty() && !to.is_empty() && !v.chars().any(char::is_control) => {
            Ok((prefix.to_string(), to.to_string()))
        }
        _ => {
            Err("write PREFIX=REPLACEMENT, such as `https://opendev.org/openstack/=/srv/git/openstack/`"
                .into())
        }
    }
}

fn parse_target(v: &str) -> Result<crate::registry::Target, String> {
    v.parse()
}

/// A tag as the distribution spec allows it.
fn parse_tag(v: &str) -> Result<String, String> {
    let ok = (1..=128).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && v.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(v.into())
    } else {
        Err("a tag is 1 to 128 of `A-Za-z0-9._-`, not starting with `.` or `-`".into())
    }
}

fn parse_version(v: &str) -> Result<String, String> {
    match crate::manifest::check_version(v) {
        Ok(_) => Ok(v.into()),
        Err(Some(normal)) => Err(format!("not a PEP 440 version in normal form; write `{normal}`")),
        Err(None) => Err(crate::manifest::VERSION_FORM.into()),
    }
}

/// `--format`: one of the formats' names (listed in the help, as the manifest spells them).
fn parse_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Format::ALL.map(Format::as_str))
        .map(|name| Format::parse(&name).expect("one of the possible values"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn update_takes_zero_or_more_names() {
        let cli = Cli::parse_from(["wrap", "lock", "--update"]);
        assert!(matches!(cli.command, Command::Lock { update: Some(ref v), .. } if v.is_empty()));
        let cli = Cli::parse_from(["wrap", "lock", "--update", "a", "b"]);
        assert!(matches!(cli.command, Command::Lock { update: Some(ref v), .. } if v.len() == 2));
    }
}
