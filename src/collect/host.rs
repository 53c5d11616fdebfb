//! Facts about the host that outputs carry next to the numbers.

use std::path::Path;

/// The kernel's host name (`<proc_root>/sys/kernel/hostname`, i.e. uname's nodename), or `None`
/// when it cannot be read. Read from the same proc root as the sockets so fixtures stay whole.
pub fn hostname(proc_root: &Path) -> Option<String> {
    let raw = std::fs::read_to_string(proc_root.join("sys/kernel/hostname")).ok()?;
    let name = raw.trim_end_matches('\n');
    (!name.is_empty()).then(|| name.to_string())
}

/// The CPU time (user + system, all threads) this process has used so far, to the
/// microsecond (`getrusage(RUSAGE_SELF)`), or `None` if the kernel refuses (it does not).
pub fn cpu_time() -> Option<std::time::Duration> {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let time = |t: nix::sys::time::TimeVal| {
        std::time::Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
            + std::time::Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
    };
    Some(time(usage.user_time()) + time(usage.system_time()))
}
