//! What every integration test binary needs: the built binary run with a clean environment,
//! the recorded fixtures, a lock for tests that spawn processes, and waiting on a condition
//! with a deadline (never sleeping and hoping).
//!
//! Each test binary compiles its own copy of this module and uses a different part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The tcpstat binary under test, with an empty environment but for `PATH` (so neither
/// `NO_COLOR`, `COLUMNS` nor a developer's settings change what a test sees).
pub fn tcpstat() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcpstat"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// Runs tcpstat with `args` to completion.
pub fn run(args: &[&str]) -> Output {
    tcpstat().args(args).output().expect("tcpstat runs")
}

/// `tcpstat args` and what it printed, for assertion messages.
pub fn describe(args: &[&str], o: &Output) -> String {
    format!(
        "tcpstat {} -> {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs tcpstat, which must succeed, and returns its stdout.
pub fn text(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{}", describe(args, &o));
    String::from_utf8(o.stdout).expect("utf-8")
}

/// Runs tcpstat, which must succeed and print one JSON document.
pub fn json(args: &[&str]) -> Value {
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

/// Owner scans see every process that holds a socket, including a child between fork and
/// exec, which briefly holds all of its parent's descriptors; and some tests count every
/// socket of a port range. Tests of one binary that spawn processes or sockets take this lock
/// so that they run one at a time and their numbers stay exact.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Polls `check` every 20 ms until it returns `Some`, and panics naming `what` after 15 s.
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether this test runs as root (effective uid 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"))
}
