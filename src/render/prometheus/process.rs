//! The standard process metrics of the Prometheus client libraries (`process_*`, as the
//! exporter guidelines ask of every exporter), for `tcpstat serve`.
//!
//! Owns: their names, HELP and TYPE lines, and their layout. Plain data in ([`ProcessStats`],
//! read from `/proc/self` by `serve::process_metrics`), bytes out. The names, units and
//! meaning are those of client_golang's process collector, so dashboards and alerts written
//! for any other exporter's `process_*` series work unchanged.

use std::io::{self, Write};

use super::{family, sample, Kind, Metric};

pub const CPU_SECONDS: Metric = Metric {
    name: "process_cpu_seconds_total",
    kind: Kind::Counter,
    labels: &[],
    written: "serve",
    help: "Total user and system CPU time spent by tcpstat serve in seconds.",
};

pub const RESIDENT_MEMORY: Metric = Metric {
    name: "process_resident_memory_bytes",
    kind: Kind::Gauge,
    labels: &[],
    written: "serve",
    help: "Resident memory size of tcpstat serve in bytes.",
};

pub const VIRTUAL_MEMORY: Metric = Metric {
    name: "process_virtual_memory_bytes",
    kind: Kind::Gauge,
    labels: &[],
    written: "serve",
    help: "Virtual memory size of tcpstat serve in bytes.",
};

pub const OPEN_FDS: Metric = Metric {
    name: "process_open_fds",
    kind: Kind::Gauge,
    labels: &[],
    written: "serve",
    help: "Open file descriptors of tcpstat serve.",
};

pub const MAX_FDS: Metric = Metric {
    name: "process_max_fds",
    kind: Kind::Gauge,
    labels: &[],
    written: "serve; not when the limit is unlimited",
    help: "Maximum number of open file descriptors of tcpstat serve (the soft limit).",
};

pub const START_TIME: Metric = Metric {
    name: "process_start_time_seconds",
    kind: Kind::Gauge,
    labels: &[],
    written: "serve",
    help: "Start time of tcpstat serve since the Unix epoch in seconds.",
};

/// What `/proc/self` said. A value that could not be read is `None`, and its family is left
/// out rather than written as 0 (a resident size of 0 would be a lie a graph believes).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    /// User plus system time, seconds.
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    /// The soft RLIMIT_NOFILE; `None` also when unlimited.
    pub max_fds: Option<u64>,
    /// Seconds since the Unix epoch (whole clock ticks: 10 ms with USER_HZ 100).
    pub start_time_seconds: Option<f64>,
}

/// Writes the families of the values present, in the order client_golang does.
pub fn process_stats(out: &mut dyn Write, stats: &ProcessStats) -> io::Result<()> {
    fn one(out: &mut dyn Write, m: &Metric, v: Option<impl std::fmt::Display>) -> io::Result<()> {
        match v {
            Some(v) => {
                family(out, m)?;
                sample(out, m.name, &[], v)
            }
            None => Ok(()),
        }
    }
    one(out, &CPU_SECONDS, stats.cpu_seconds)?;
    one(out, &OPEN_FDS, stats.open_fds)?;
    one(out, &MAX_FDS, stats.max_fds)?;
    one(out, &VIRTUAL_MEMORY, stats.virtual_bytes)?;
    one(out, &RESIDENT_MEMORY, stats.resident_bytes)?;
    one(out, &START_TIME, stats.start_time_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_values_leave_their_family_out() {
        let mut buf = Vec::new();
        let stats = ProcessStats {
            cpu_seconds: Some(1.25),
            open_fds: Some(7),
            ..ProcessStats::default()
        };
        process_stats(&mut buf, &stats).expect("write to memory");
        let text = String::from_utf8(buf).expect("utf-8");
        assert_eq!(
            text,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent by tcpstat \
             serve in seconds.\n# TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total 1.25\n# HELP process_open_fds Open file descriptors of \
             tcpstat serve.\n# TYPE process_open_fds gauge\nprocess_open_fds 7\n"
        );
    }
}
