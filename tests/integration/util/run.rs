//! Running the binary under test: with an empty environment but `PATH` (so neither
//! `NO_COLOR`, `COLUMNS`, `TERM`, `LANG` nor a developer's settings change what a test sees),
//! to the end or as a child; what it printed, for assertions and their messages; the recorded
//! `/proc` trees under `tests/fixtures`.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_tcpstat");

/// The binary with an empty environment but `PATH`; stdio as the caller sets it (`output()`
/// pipes stdout and stderr and gives stdin /dev/null; `spawn()` inherits unless told).
pub fn tcpstat() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// [`tcpstat`] with `args`, stdin from /dev/null and stdout/stderr piped (not a terminal:
/// no colour, no screen), ready to `spawn()`.
pub fn command<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut cmd = tcpstat();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the binary with `args` to the end.
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    command(args)
        .output()
        .unwrap_or_else(|e| panic!("running {BIN}: {e}"))
}

/// What a finished command left, as text: how it ended and what it printed.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn from_output(out: Output) -> Outcome {
        Outcome {
            status: out.status,
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Runs the binary with `args` to the end; its output must be UTF-8.
pub fn outcome<S: AsRef<OsStr>>(args: &[S]) -> Outcome {
    Outcome::from_output(run(args))
}

/// `tcpstat args` and what it printed, for assertion messages.
pub fn describe<S: AsRef<OsStr>>(args: &[S], o: &Output) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    format!(
        "`tcpstat {}` exited {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs the binary, which must succeed, and returns its stdout.
pub fn text<S: AsRef<OsStr>>(args: &[S]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{}", describe(args, &o));
    String::from_utf8(o.stdout).expect("utf-8")
}

/// Runs the binary, which must succeed and print one JSON document.
pub fn json<S: AsRef<OsStr>>(args: &[S]) -> Value {
    let o = run(args);
    assert!(o.status.success(), "{}", describe(args, &o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(args, &o)))
}

/// A recorded `/proc` tree under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A `sleep 600` running under the command name `name` (a symlink to /bin/sleep in a fresh
/// directory, which the caller removes), holding `fd` as its stdin: a socket owned by a
/// process of a chosen name. Killing the child is the caller's.
pub fn hold_as(name: &str, fd: std::os::fd::OwnedFd) -> (std::process::Child, PathBuf) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tcpstat-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let exe = dir.join(name);
    let _ = std::fs::remove_file(&exe);
    std::os::unix::fs::symlink("/bin/sleep", &exe).expect("symlink");
    let child = Command::new(&exe)
        .arg("600")
        .stdin(Stdio::from(fd))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the holder");
    (child, dir)
}
