//! `doctor --at`: what the report of a recorded moment adds to `doctor`'s own (which
//! `render::doctor` writes): which sample was judged, when and from where, and what the
//! recording does not hold. Plain data in, bytes out.

use std::io::{self, Write};

use jiff::tz::TimeZone;
use serde_json::{json, Value};

use super::history::local;
use super::text::{escape, rfc3339_utc};
use crate::diagnose::Check;

/// The recorded moment a `doctor --at` report is of.
#[derive(Debug, Clone)]
pub struct RecordedAt<'a> {
    pub db: &'a str,
    /// The time asked for (`--at`), ms since the epoch.
    pub asked_ms: i64,
    /// The time of the sample judged.
    pub t_ms: i64,
    /// The recorder's interval (from the database).
    pub interval_ms: i64,
    /// `netlink` or `proc`.
    pub source: &'a str,
    pub partial: bool,
    /// Whether the sample recorded owning processes.
    pub processes: bool,
    /// Whether it recorded the kernel's settings and socket totals.
    pub settings: bool,
    /// Per check judged: what its evidence lacks.
    pub gaps: &'a [(Check, String)],
    pub tz: &'a TimeZone,
}

fn utc(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    rfc3339_utc(ms / 1000, (ms % 1000) as u32)
}

/// A length of time in milliseconds, for people: `850ms`, `12.5s`, `3m20s`.
pub fn span(ms: i64) -> String {
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        crate::model::duration::format_age(std::time::Duration::from_millis(ms))
    }
}

fn distance(r: &RecordedAt<'_>) -> String {
    let d = r.t_ms - r.asked_ms;
    match d {
        0 => "exactly the time asked".to_string(),
        d if d < 0 => format!("{} before the time asked", span(d)),
        d => format!("{} after the time asked", span(d)),
    }
}

/// The lines before the findings.
pub fn header(out: &mut dyn Write, r: &RecordedAt<'_>) -> io::Result<()> {
    writeln!(
        out,
        "recorded at {}: the sample nearest to {} ({}) in {}, recorded every {} from {}{}",
        local(r.t_ms, r.tz),
        local(r.asked_ms, r.tz),
        distance(r),
        escape(r.db),
        span(r.interval_ms),
        r.source,
        if r.partial {
            " (partial: the recorder could not read all of the table)"
        } else {
            ""
        }
    )?;
    writeln!(out)
}

/// The lines after the findings: what the recording does not hold.
pub fn footer(out: &mut dyn Write, r: &RecordedAt<'_>) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "Not in the recording (live doctor shows it; a check that needs it is not checked):"
    )?;
    if !r.processes {
        writeln!(
            out,
            "  owning processes: this sample was recorded without them"
        )?;
    }
    if !r.settings {
        writeln!(
            out,
            "  kernel settings and socket totals: recorded by an older tcpstat"
        )?;
    }
    let mut checks: Vec<Check> = r.gaps.iter().map(|(c, _)| *c).collect();
    checks.dedup();
    for check in checks {
        let what: Vec<&str> = r
            .gaps
            .iter()
            .filter(|(c, _)| *c == check)
            .map(|(_, w)| w.as_str())
            .collect();
        writeln!(out, "  {:<16} {}", check.key(), what.join("; "))?;
    }
    writeln!(
        out,
        "  {:<16} the workloads of the processes and listeners named",
        "(all)"
    )?;
    out.flush()
}

/// The `recorded` member of the JSON report.
pub fn json(r: &RecordedAt<'_>) -> Value {
    json!({
        "db": r.db,
        "asked": utc(r.asked_ms),
        "time": utc(r.t_ms),
        "offset_ms": r.t_ms - r.asked_ms,
        "interval_ms": r.interval_ms,
        "source": r.source,
        "partial": r.partial,
        "processes_recorded": r.processes,
        "settings_recorded": r.settings,
        "not_recorded": r.gaps.iter().map(|(check, what)| json!({
            "check": check.id(),
            "what": what,
        })).collect::<Vec<_>>(),
    })
}
