//! What the tests of this crate share. One module per concern:
//!
//! - [`run`]: the binary under test, run with a scrubbed environment; the recorded fixtures.
//! - [`wait`]: waiting on a condition with a deadline (never sleeping and hoping).
//! - [`sockets`]: a TCP socket driven step by step through safe system-call wrappers.
//! - [`states`]: loopback sockets in each TCP state, and the kernel's own view of them.
//! - [`report`]: `tcpstat summary --json`, checked for what must hold on any run.
//! - [`netns`]: private network (and mount, pid) namespaces for exact counts.
//! - [`ss`]: what `ss` says about the same sockets.
//! - [`cgroup`]: real cgroup v2 directories named as systemd, Docker, Podman and Kubernetes
//!   name theirs, sockets made and held inside them, runtime files under a `--host-root`.
//! - [`container`]: a real runc container (busybox rootfs) in a network namespace of its own.
//! - [`snapshot`]: comparing outputs with committed files (golden outputs, renderer
//!   snapshots), rewriting them on request.
//!
//! And here: the one lock that serialises tests, [`skip`] for a test that cannot run in this
//! environment, and [`is_root`].
//!
//! # One process, one lock
//!
//! Every test of every module runs in this one process, on threads of its own. A test that
//! spawns a process or creates sockets takes [`serial`] for its whole length: between `fork`
//! and `exec` a child holds a copy of every descriptor of this process (sockets of other tests
//! included), so an owner scan running meanwhile would rightly see it as one more owner; and
//! some tests count every socket of a port or of a namespace, or every process. Pure tests
//! (parsers, renderers on fixed data, the source layering) do not take it. Helpers never take
//! it themselves (a test takes it once; the lock is not re-entrant).

pub mod cgroup;
pub mod container;
pub mod netns;
pub mod report;
pub mod run;
pub mod snapshot;
pub mod sockets;
pub mod ss;
pub mod states;
pub mod wait;

use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use run::{describe, fixture, json, outcome, run, tcpstat, text, Outcome, BIN};
pub use wait::{wait_for, wait_until, WAIT};

/// Held by every test that spawns a process or creates sockets (see the module
/// documentation). A test that failed while holding it does not stop the others.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Says that a test, or a part of it, cannot run in this environment, and why: under CI (the
/// `CI` variable set: `.ci/run` runs as root with every tool the tests need installed) that is
/// a failure; elsewhere it is printed as `skipped: <reason>` on the test's stderr, past the
/// test harness's capture so that it shows in a plain `cargo test`. The caller then returns,
/// or goes on with what it can still check.
#[track_caller]
pub fn skip(reason: impl std::fmt::Display) {
    if std::env::var_os("CI").is_some() {
        panic!("CI must run this (as root, with the tools .ci/run installs): {reason}");
    }
    // Not eprintln!: the harness captures that, and a skip said only on failure is no
    // better than a silent pass.
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

/// Whether this process runs with effective uid 0.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
