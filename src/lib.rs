//! tcpstat: a live TCP socket-state monitor that replaces `netstat` and `ss`.
//!
//! Data flows one way:
//!
//! ```text
//! cli (flags) -> config (flags + environment) -> collect (kernel: netlink or /proc)
//!     -> model (SocketRecord, TcpState) -> aggregate (counts) -> render (table, JSON) -> writer
//! ```
//!
//! Collectors stream each socket into a sink as they parse it, so a census of a million
//! sockets needs memory for the counts only. Collectors never format; renderers never read the
//! kernel. [`run`] reads like the table of contents.

pub mod aggregate;
pub mod cli;
pub mod collect;
pub mod config;
pub mod error;
pub mod model;
pub mod render;

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use aggregate::StateCounts;
use config::{Config, Task};
use error::Error;
use render::{json, table, SummaryReport};

/// Runs one invocation, writing results to `out` and warnings to `err`.
pub fn run(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
    match config.task {
        Task::Summary { json } => summary(config, json, out, err),
    }
}

fn summary(
    config: &Config,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut counts = StateCounts::new();
    let outcome = collect::collect(&config.source, &config.filter, &mut counts)?;
    report_warnings(&outcome, err)?;
    let report = SummaryReport {
        counts: &counts,
        outcome: &outcome,
        filter: &config.filter,
        hostname: collect::host::hostname(&config.source.proc_root),
        timestamp: now_rfc3339(),
    };
    if as_json {
        json::write_line(out, &json::SummaryJson::new(&report))?;
    } else {
        table::summary(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}

/// Says on stderr, once, what made the numbers partial or where they came from instead.
fn report_warnings(outcome: &collect::Outcome, err: &mut dyn Write) -> io::Result<()> {
    if let Some(reason) = &outcome.fallback_reason {
        writeln!(
            err,
            "tcpstat: warning: netlink unavailable ({reason}); reading /proc instead"
        )?;
    }
    for warning in &outcome.warnings {
        writeln!(err, "tcpstat: warning: {warning}")?;
    }
    Ok(())
}

fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    render::text::rfc3339_utc(now.as_secs(), now.subsec_millis())
}
