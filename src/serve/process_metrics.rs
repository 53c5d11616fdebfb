//! Reads tcpstat serve's own process metrics from `/proc/self` (through `procfs`), for the
//! `process_*` families every exporter is expected to export.
//!
//! Owns: turning `/proc/self/{stat,limits,fd}` and `/proc/stat`'s boot time into a
//! [`ProcessStats`]. What cannot be read is left out (`None`), never a reason to fail a
//! scrape. Written on the collector thread, once per collection.

use procfs::process::{LimitValue, Process};

use crate::render::prometheus::ProcessStats;

/// The process metrics as they are now; all `None` without a readable `/proc/self`.
pub fn read() -> ProcessStats {
    let Ok(me) = Process::myself() else {
        return ProcessStats::default();
    };
    let mut stats = ProcessStats {
        open_fds: me.fd_count().ok().and_then(|n| u64::try_from(n).ok()),
        ..ProcessStats::default()
    };
    if let Ok(limits) = me.limits() {
        stats.max_fds = match limits.max_open_files.soft_limit {
            LimitValue::Value(n) => Some(n),
            LimitValue::Unlimited => None,
        };
    }
    if let Ok(stat) = me.stat() {
        // Clock ticks (USER_HZ) and pages, as the kernel reports them (proc_pid_stat(5)).
        let ticks = procfs::ticks_per_second() as f64;
        stats.cpu_seconds = Some((stat.utime + stat.stime) as f64 / ticks);
        stats.virtual_bytes = Some(stat.vsize);
        stats.resident_bytes = Some(stat.rss.saturating_mul(procfs::page_size()));
        stats.start_time_seconds = procfs::boot_time_secs()
            .ok()
            .map(|boot| boot as f64 + stat.starttime as f64 / ticks);
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_read() {
        let stats = read();
        assert!(stats.resident_bytes.is_some_and(|b| b > 0), "{stats:?}");
        assert!(stats.virtual_bytes >= stats.resident_bytes, "{stats:?}");
        assert!(stats.open_fds.is_some_and(|n| n >= 3), "{stats:?}");
        assert!(stats.cpu_seconds.is_some_and(|s| s >= 0.0), "{stats:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let started = stats.start_time_seconds.expect("start time");
        // Started before now, and not before the tests did (a day is ample).
        assert!(
            started <= now + 1.0 && started > now - 86_400.0,
            "{started} {now}"
        );
    }
}
