//! What the tests of this target share: running the binary in a clean environment, waiting
//! on a condition with a deadline, and deciding whether a test that needs root can run.

use std::ffi::OsStr;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_tcpstat");

/// How long any one wait on the kernel (or on a child process) may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// Tests of this target that fork while they hold sockets take this: a fork from another
/// test thread would briefly hold copies of their descriptors and show up as an owner.
static EXCLUSIVE: Mutex<()> = Mutex::new(());

pub fn exclusive() -> MutexGuard<'static, ()> {
    EXCLUSIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a finished command left: how it ended and what it printed.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn from_output(out: std::process::Output) -> Outcome {
        Outcome {
            status: out.status,
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// A `Command` for the binary with an empty environment but PATH (so NO_COLOR, COLUMNS,
/// TERM, LANG and the rest of the caller's environment cannot change what it prints), stdin
/// from /dev/null and stdout/stderr piped (not a terminal: no colour, no screen).
pub fn command<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the binary with `args` to the end (see [`command`]).
pub fn tcpstat<S: AsRef<OsStr>>(args: &[S]) -> Outcome {
    let out = command(args)
        .output()
        .unwrap_or_else(|e| panic!("running {BIN}: {e}"));
    Outcome::from_output(out)
}

/// Polls `probe` every 10 ms until it returns `Ok`; panics with the last reason once
/// `timeout` has passed.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}: {last}")
            }
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Why a test that needs root and private namespaces cannot run here, if it cannot: it
/// needs a thread of its own in new network, mount and pid namespaces, with a `proc`
/// mounted for the new pid namespace, and `ip` to bring `lo` up.
pub fn netns_unavailable() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root (the test unshares namespaces and mounts)".into());
    }
    if !std::path::Path::new("/proc/net/tcp6").exists() {
        return Some("no IPv6 (/proc/net/tcp6 is missing): the table has IPv6 sockets".into());
    }
    let ip = Command::new("ip").arg("-V").output();
    if !ip.is_ok_and(|o| o.status.success()) {
        return Some("`ip` (iproute2) is not installed: it brings lo up".into());
    }
    // The same steps as the test, on a thread that ends here (its namespaces with it).
    let probe = thread::spawn(|| -> Result<(), String> {
        use nix::mount::MsFlags;
        use nix::sched::CloneFlags;
        let flags = CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
        nix::sched::unshare(flags)
            .map_err(|e| format!("unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID): {e}"))?;
        let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
        nix::mount::mount(None::<&str>, "/", None::<&str>, private, None::<&str>)
            .map_err(|e| format!("mount --make-rprivate /: {e}"))?;
        let mount = Command::new("mount")
            .args(["-t", "proc", "proc", "/proc"])
            .stderr(Stdio::null())
            .status();
        match mount {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("mount -t proc in a new pid namespace: {s}")),
            Err(e) => Err(format!("running mount: {e}")),
        }
    });
    match probe.join() {
        Ok(Ok(())) => None,
        Ok(Err(why)) => Some(format!("private namespaces are refused here: {why}")),
        Err(_) => Some("the namespace probe thread panicked".into()),
    }
}

/// Returns early from a test that cannot run here, printing `skipped: <reason>`; under CI
/// (the `CI` variable set, running as root) not being able to run is a failure instead.
macro_rules! skip_unless_netns {
    () => {
        if let Some(why) = $crate::util::netns_unavailable() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run this test (as root): {why}"
            );
            println!("skipped: {why}");
            return;
        }
    };
}
pub(crate) use skip_unless_netns;
