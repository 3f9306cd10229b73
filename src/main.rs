//! The `wrap` binary: parses the command line, sets up output, runs the command and maps its
//! error to a message, causes, a hint and an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use wrap::cache::Cache;
use wrap::cache::prune::Policy;
use wrap::cli::{CacheCommand, Cli, ColorWhen, Command, MatrixFormat, MessageFormat, PatchCommand, PlanArgs};
use wrap::commands::{BuildOptions, LockMode, Session};
use wrap::error::{Error, Result};
use wrap::manifest::Format;
use wrap::plan::PlanInputs;
use wrap::plan::matrix::Form;
use wrap::report::{Event, Failure, Human, Json, Reporter, RunResult};
use wrap::signing::KeySource;

/// The exit code of a command line clap refuses: 1, a problem with the input, as the README
/// defines it (clap's own 2 means the environment here).
const USAGE: u8 = 1;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(USAGE) } else { ExitCode::SUCCESS };
        }
    };
    match cli.color {
        ColorWhen::Auto => {}
        ColorWhen::Always => anstream::ColorChoice::Always.write_global(),
        ColorWhen::Never => anstream::ColorChoice::Never.write_global(),
    }
    let level = match cli.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        // Colour only where stderr shows it: a terminal, unless NO_COLOR or `--color never`
        // (`wrap -v build 2>log` writes no escapes).
        .with_ansi(anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never)
        .without_time()
        .init();
    let reporter: Box<dyn Reporter> = match cli.message_format {
        MessageFormat::Human => {
            Box::new(Human::new(cli.quiet, cli.verbose > 0, std::io::stderr().is_terminal()))
        }
        MessageFormat::Json => Box::new(Json),
    };
    if let Err(e) = wrap::interrupt::install() {
        tracing::warn!("cannot handle interruptions: {e}");
    }
    let result = run(&cli, reporter.as_ref());
    wrap::interrupt::wait_for_handler();
    let exit_code = match result {
        Ok(()) => 0,
        Err(e) => {
            reporter.report(&Event::Error { failure: &Failure::new(None, &e) });
            e.exit_code()
        }
    };
    reporter.report(&Event::Finished {
        command: cli.command.name(),
        result: RunResult::of(exit_code),
        exit_code,
        seconds: started.elapsed().as_secs_f64(),
    });
    ExitCode::from(exit_code as u8)
}

fn run(cli: &Cli, reporter: &dyn Reporter) -> Result<()> {
    let session = |offline| {
        let mut session = Session::new(&cli.manifest, Cache::from_env()?, reporter, offline)?;
        session.manifest.use_mirrors(&cli.git_mirror);
        Ok::<_, Error>(session)
    };
    let mode = |locked| if locked { LockMode::Locked } else { LockMode::Keep };
    match &cli.command {
        Command::Init { source } => {
            wrap::commands::init(&cli.manifest, source.as_deref(), &Cache::from_env()?, reporter)
        }
        Command::Check { locked } => session(false)?.check(*locked),
        Command::Lock { update, offline } => {
            let mode = update.clone().map_or(LockMode::Keep, LockMode::Update);
            session(*offline)?.lock_all(&mode).map(drop)
        }
        Command::Fetch { source: args, wheelhouse } => {
            let session = session(args.offline)?;
            session.fetch(&mode(args.locked), &args.projects)?;
            if let Some(dir) = wheelhouse {
                session.wheelhouse(&mode(args.locked), &args.projects, dir)?;
            }
            Ok(())
        }
        Command::Plan { plan: args, matrix } => plan(&mut session(args.source.offline)?, cli, args, matrix),
        Command::Inspect { file } => {
            let inspection = wrap::package::inspect::inspect(file)?;
            reporter.report(&Event::Inspected { inspection: &inspection });
            Ok(())
        }
        Command::Build { plan, out, jobs, fail_fast, rebuild, sign_key, shard, remote_required } => {
            let inputs = PlanInputs { out: out.clone(), sign_key: sign_key.clone(), ..plan_inputs(plan)? };
            let options = BuildOptions {
                jobs: jobs.map_or(wrap::host::cores(), usize::from),
                fail_fast: *fail_fast,
                rebuild: *rebuild,
                remote_only: false,
            };
            let mut session = session(plan.source.offline)?;
            session.use_remote(cli.remote.as_deref(), *remote_required)?;
            build(&session, plan, shard.as_ref(), inputs, &options, reporter)
        }
        Command::Clean { older_than, max_size, all, dry_run } => {
            let policy =
                Policy { older_than: *older_than, max_size: *max_size, all: *all, dry_run: *dry_run };
            wrap::commands::clean(&Cache::from_env()?, &policy, reporter)
        }
        Command::Publish { paths, repo, suite, component, keep, replace, sign_key, from_remote } => {
            let mut session = session(false)?;
            let from_remote = if *from_remote { Some(collect_from_remote(&mut session, cli)?) } else { None };
            let paths = from_remote.as_deref().unwrap_or(paths);
            let options =
                PublishArgs { paths, repo, suite, component, keep: *keep, replace: *replace, sign_key };
            publish(&session, &options, reporter)
        }
        Command::Push { paths, to, tag, plain_http, replace } => {
            let options =
                wrap::registry::PushOptions { tags: tag.clone(), plain_http: *plain_http, replace: *replace };
            let output_dir = || Ok(session(false)?.manifest.settings.output_dir.clone());
            push(paths, output_dir, to, &options, reporter)
        }
        Command::Patch(PatchCommand::Edit { name, dir, resume }) => {
            session(false)?.patch_edit(name, dir.as_deref(), *resume)
        }
        Command::Patch(PatchCommand::Refresh { name, dir }) => {
            session(false)?.patch_refresh(name, dir.as_deref())
        }
        Command::Cache(CacheCommand::Info) => wrap::commands::cache_info(&Cache::from_env()?, reporter),
    }
}

/// `wrap plan`, or with `--matrix`, the CI matrix.
fn plan(session: &mut Session<'_>, cli: &Cli, args: &PlanArgs, matrix: &wrap::cli::MatrixArgs) -> Result<()> {
    let mode = if args.source.locked { LockMode::Locked } else { LockMode::Keep };
    let Some(form) = matrix.matrix else {
        return session.plan(&mode, &plan_inputs(args)?).map(drop);
    };
    session.use_remote(cli.remote.as_deref(), false)?;
    let form = match form {
        MatrixFormat::Github => Form::Github,
        MatrixFormat::Gitlab => Form::Gitlab,
        MatrixFormat::Json => Form::Json,
    };
    session.matrix(&mode, usize::from(matrix.shards), &matrix.targets, form).map(drop)
}

/// `wrap build`, of the projects of one shard with `--shard`.
fn build(
    session: &Session<'_>,
    plan: &PlanArgs,
    shard: Option<&wrap::plan::shard::Shard>,
    mut inputs: PlanInputs,
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<()> {
    let mode = if plan.source.locked { LockMode::Locked } else { LockMode::Keep };
    if let Some(shard) = shard {
        let projects = session.shard_projects(&mode, shard)?;
        if projects.is_empty() {
            reporter.status("Shard", format!("{}: no project (fewer projects than shards)", shard.label()));
            return Ok(());
        }
        reporter.status("Shard", format!("{}: {}", shard.label(), projects.join(" ")));
        inputs.projects = projects;
    }
    session.build(&mode, &inputs, options).map(drop)
}

/// `wrap publish --from-remote`: the plan's packages (.deb, .rpm) as the remote cache holds
/// them under the lock's build keys, placed in the output directory; none is built.
fn collect_from_remote(session: &mut Session<'_>, cli: &Cli) -> Result<Vec<std::path::PathBuf>> {
    session.use_remote(cli.remote.as_deref(), true)?;
    let inputs = PlanInputs {
        host_format: wrap::host::native_format(),
        source_date_epoch: source_date_epoch()?,
        ..PlanInputs::default()
    };
    let options =
        BuildOptions { jobs: wrap::host::cores(), fail_fast: false, rebuild: false, remote_only: true };
    let artifacts = session.build(&LockMode::Locked, &inputs, &options)?;
    let packages = artifacts.into_iter().filter(|a| matches!(a.format, Format::Deb | Format::Rpm));
    Ok(packages.map(|a| a.path).collect())
}

/// `wrap publish`'s flags.
struct PublishArgs<'a> {
    paths: &'a [std::path::PathBuf],
    repo: &'a Option<std::path::PathBuf>,
    suite: &'a str,
    component: &'a str,
    keep: Option<u16>,
    replace: bool,
    sign_key: &'a Option<std::path::PathBuf>,
}

/// Adds the packages to the signed repository, with the manifest's key unless one is given.
fn publish(session: &Session<'_>, args: &PublishArgs<'_>, reporter: &dyn Reporter) -> Result<()> {
    let settings = &session.manifest.settings;
    let key = args.sign_key.clone().map(KeySource::File).or_else(|| settings.sign_key.clone());
    let Some(key) = key else {
        return Err(Error::SigningKey {
            source_name: "(none)".into(),
            problem: "apt and dnf refuse unsigned repositories, and no key was given".into(),
            hint: Some("pass `--sign-key FILE`, or set `sign_key` or `sign_key_env` in [settings]".into()),
        });
    };
    let signer = wrap::signing::Signer::load(&key, &settings.sign_passphrase_env)?;
    let options = wrap::publish::Options {
        repo: std::path::absolute(args.repo.clone().unwrap_or_else(|| session.manifest.dir.join("repo")))?,
        suite: args.suite.to_string(),
        component: args.component.to_string(),
        keep: args.keep.map(usize::from),
        replace: args.replace,
        date: source_date_epoch()?,
    };
    let paths = if args.paths.is_empty() { vec![settings.output_dir.clone()] } else { args.paths.to_vec() };
    let published = wrap::publish::publish(&paths, &options, &signer)?;
    reporter.report(&Event::Published { published: &published });
    Ok(())
}

/// Pushes each image of `paths` (none: of the output directory), and reports those pushed, also
/// when one fails (each image is whole or absent; those before it stand).
fn push(
    paths: &[std::path::PathBuf],
    output_dir: impl FnOnce() -> Result<std::path::PathBuf>,
    to: &wrap::registry::Target,
    options: &wrap::registry::PushOptions,
    reporter: &dyn Reporter,
) -> Result<()> {
    let mut pushed = Vec::new();
    let mut failed = None;
    let paths = if paths.is_empty() { vec![output_dir()?] } else { paths.to_vec() };
    for image in wrap::registry::images(&paths)? {
        if let Err(e) = wrap::registry::push(&image, to, options, &mut pushed) {
            failed = Some(e);
            break;
        }
    }
    reporter.report(&Event::Pushed { pushed: &pushed });
    failed.map_or(Ok(()), Err)
}

fn plan_inputs(args: &PlanArgs) -> Result<PlanInputs> {
    Ok(PlanInputs {
        projects: args.source.projects.clone(),
        formats: args.format.clone(),
        host_format: wrap::host::native_format(),
        source_date_epoch: source_date_epoch()?,
        version: args.version.clone(),
        ..PlanInputs::default()
    })
}

/// `SOURCE_DATE_EPOCH` as the reproducible-builds spec defines it: a decimal Unix time, here
/// one every format wrap writes can hold (tar, ar and RPM headers: 0 to 2^32 - 1). A date
/// before 1980, which a wheel (a zip file) cannot hold, is raised to 1980 for the wheel of the
/// build only; the artifacts keep it.
fn source_date_epoch() -> Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => match v.trim().parse::<i64>() {
            Ok(t) if (0..=i64::from(u32::MAX)).contains(&t) => Ok(Some(t)),
            _ => Err(Error::BadEnv {
                name: "SOURCE_DATE_EPOCH",
                value: v,
                expected: "a Unix time from 0 to 4294967295 (2106-02-07), which tar, ar and RPM headers can hold",
            }),
        },
        _ => Ok(None),
    }
}
