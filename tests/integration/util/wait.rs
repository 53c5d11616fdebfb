//! Waiting on the kernel or on a child process: poll a condition until it holds, and fail
//! with the last reason once a deadline has passed. Nothing sleeps and hopes.

use std::thread;
use std::time::{Duration, Instant};

/// How long any one wait on the kernel (or on a child process) may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// Polls `probe` every 10 ms until it returns `Ok`; panics with the last reason once
/// `timeout` has passed.
#[track_caller]
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

/// Polls `check` until it returns `Some`, for at most [`WAIT`].
#[track_caller]
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    wait_until(what, WAIT, || check().ok_or_else(|| "not yet".to_string()))
}
