//! Interruption. Everything wrap writes goes first to a temporary file or directory whose name
//! starts with [`temp_prefix`] (it holds the process id), in a directory registered with
//! [`watch`], and is renamed into place when complete. Subprocesses run through [`output`] and
//! [`status`], each in its own process group. On SIGINT, SIGTERM or SIGHUP the handler stops
//! those process groups (an installer and the build backends it started), waits for them, removes
//! this process's temporaries from every watched directory and exits with 130, so an interrupted
//! build leaves no partial artifact or cache entry and nothing running. File locks are released
//! by the kernel when the process ends, so none is left stale.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Directories that may hold this process's temporaries.
static WATCHED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Running subprocesses (each leads its own process group).
static CHILDREN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Set once a signal arrived: no new subprocess starts, and work stops at its next [`check`].
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Pieces of work under way that may write temporaries (see [`Busy`]).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// How long the handler gives subprocesses, then the work in flight, to end.
const GRACE: Duration = Duration::from_secs(10);

/// Marks a piece of work (a project's build, a fetch) as under way while it lives. On a signal
/// the handler waits for every such piece to stop (each does at its next [`check`], its
/// temporaries removed as it unwinds) before it removes what is left: nothing is written into a
/// directory after the handler cleaned it.
pub struct Busy(());

impl Busy {
    /// Starts a piece of work.
    pub fn start() -> Busy {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        Busy(())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An error once a signal arrived: long in-process work (copying, archiving, cloning) calls it
/// between steps so that it stops soon after an interruption.
pub fn check() -> std::io::Result<()> {
    if interrupted() {
        Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted"))
    } else {
        Ok(())
    }
}

/// The exit code after an interruption (128 + SIGINT, as shells report it).
pub const EXIT_CODE: i32 = 130;

/// What the name of every wrap temporary starts with, whichever process made it.
pub const TEMP_MARK: &str = ".wrap-tmp-";

/// The name prefix of this process's temporary files and directories.
pub fn temp_prefix() -> String {
    format!("{TEMP_MARK}{}-", std::process::id())
}

/// Remembers that `dir` may hold temporaries of this process.
pub fn watch(dir: &Path) {
    let mut watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    if !watched.contains(dir) {
        watched.insert(dir.to_path_buf());
    }
}

/// Whether a signal arrived. Work that fails because of it (a stopped subprocess) is not worth
/// reporting; the handler is cleaning up and will end the process.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Blocks until the handler ends the process, when a signal arrived; returns otherwise. The
/// binary calls it before exiting, so that a build stopped by a signal does not end with its own
/// exit code (and half cleaned up) before the handler has finished.
pub fn wait_for_handler() {
    while interrupted() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `cmd` to its end with stdin closed and stdout and stderr captured.
pub fn output(cmd: &mut Command) -> std::io::Result<Output> {
    output_with_input(cmd, None)
}

/// Runs `cmd` to its end with `input` (if any) on its stdin and stdout and stderr captured.
pub fn output_with_input(cmd: &mut Command, input: Option<Vec<u8>>) -> std::io::Result<Output> {
    let stdin = if input.is_some() { Stdio::piped() } else { Stdio::null() };
    cmd.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = spawn(cmd)?;
    let id = child.id();
    // Written from a thread of its own, so that a child filling its stdout pipe cannot block it.
    let feeder = match (input, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || pipe.write_all(&bytes))),
        _ => None,
    };
    let result = child.wait_with_output();
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    forget(id);
    result
}

/// Runs `cmd` to its end with stdin closed and stdout and stderr as set up by the caller.
pub fn status(cmd: &mut Command) -> std::io::Result<ExitStatus> {
    let mut child = spawn(cmd.stdin(Stdio::null()))?;
    let result = child.wait();
    forget(child.id());
    result
}

fn spawn(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    // Checked under the lock the handler takes to set the flag: no child starts after it looked.
    let mut children = CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
    check()?;
    // Its own process group: a terminal's Ctrl-C reaches wrap alone, and the handler stops the
    // whole group (an installer and the build backends it runs).
    let child = cmd.process_group(0).spawn()?;
    children.insert(child.id());
    Ok(child)
}

fn forget(id: u32) {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
}

/// Stops every running subprocess group and waits (up to [`GRACE`]) until the threads that
/// started them have seen them end.
fn stop_children() {
    let running: Vec<u32> = {
        let children = CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
        INTERRUPTED.store(true, Ordering::SeqCst);
        children.iter().copied().collect()
    };
    for id in running {
        let group = nix::unistd::Pid::from_raw(-(id as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGTERM);
    }
    let started = Instant::now();
    while !CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).is_empty() && started.elapsed() < GRACE {
        std::thread::sleep(Duration::from_millis(20));
    }
    while ACTIVE.load(Ordering::SeqCst) > 0 && started.elapsed() < GRACE {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Installs the signal handler. Called once, by the binary.
pub fn install() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        stop_children();
        let removed = remove_temporaries();
        tracing::debug!(removed, "temporaries removed after the interruption");
        let _ =
            writeln!(std::io::stderr(), "error: interrupted; unfinished files removed, nothing partial left");
        std::process::exit(EXIT_CODE);
    })
}

/// Removes this process's temporaries from every watched directory; returns how many.
pub fn remove_temporaries() -> usize {
    let watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    watched.iter().map(|dir| remove_temporaries_in(dir)).sum()
}

fn remove_temporaries_in(dir: &Path) -> usize {
    let prefix = temp_prefix();
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let path = entry.path();
        let remove = || match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        // A second try for a directory a finishing subprocess was still writing to.
        if remove().or_else(|_| remove()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_this_process_temporaries() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join(format!("{}file", temp_prefix())), b"half").unwrap();
        std::fs::create_dir_all(dir.join(format!("{}dir/sub", temp_prefix()))).unwrap();
        std::fs::write(dir.join(".wrap-tmp-1-other-process"), b"theirs").unwrap();
        std::fs::write(dir.join("artifact.deb"), b"done").unwrap();
        assert_eq!(remove_temporaries_in(dir), 2);
        let mut left: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, [".wrap-tmp-1-other-process", "artifact.deb"]);
    }
}
