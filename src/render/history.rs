//! `tcpstat history`: a recorded period (per-state min/avg/max and a chart, counter rates,
//! onsets) or one recorded moment, as a table, JSON (`docs/schema/history.schema.json`,
//! `history-at.schema.json`) or CSV. Plain data in, bytes out.

use std::io::{self, Write};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use super::json::{write_line, SCHEMA_VERSION};
use super::text::{escape, rfc3339_utc};
use crate::aggregate::history::{Onset, Stats};
use crate::model::history::{PortSample, ProcessSample, WorkloadSample, COUNTERS};
use crate::model::TcpState;

/// What the period's numbers are of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub ports: Vec<u16>,
    pub workloads: Vec<String>,
    /// Command names (`--process`).
    pub processes: Vec<String>,
}

/// One state over the period.
#[derive(Debug, Clone)]
pub struct StateSeries {
    pub state: TcpState,
    /// One value per sample of the period.
    pub values: Vec<u64>,
    pub stats: Stats,
}

/// One counter over the period, as rates per second (one per sample; the first `None`).
#[derive(Debug, Clone)]
pub struct CounterSeries {
    pub name: &'static str,
    pub rates: Vec<Option<f64>>,
}

/// Who held a state at its onset.
#[derive(Debug, Clone)]
pub struct OnsetReport {
    pub state: TcpState,
    pub t_ms: i64,
    pub onset: Onset,
    /// Ports by that state's count at the onset, with the change since the sample before.
    pub ports: Vec<(PortSample, i64)>,
    pub workloads: Vec<(WorkloadSample, i64)>,
    /// `None`: the sample did not record processes.
    pub processes: Option<Vec<(ProcessSample, i64)>>,
}

/// A recorded period.
#[derive(Debug, Clone)]
pub struct PeriodReport<'a> {
    pub hostname: &'a str,
    pub db: &'a str,
    pub from_ms: i64,
    pub until_ms: i64,
    pub tz: &'a TimeZone,
    pub selection: &'a Selection,
    /// The time of each sample of the period.
    pub times: Vec<i64>,
    pub states: Vec<StateSeries>,
    pub counters: Vec<CounterSeries>,
    /// With `--onset`.
    pub onsets: Option<Vec<OnsetReport>>,
    /// Samples whose collection was partial.
    pub partial: usize,
}

/// One recorded moment.
#[derive(Debug, Clone)]
pub struct MomentReport<'a> {
    pub hostname: &'a str,
    pub db: &'a str,
    pub asked_ms: i64,
    pub t_ms: i64,
    pub tz: &'a TimeZone,
    pub states: Vec<(TcpState, u64)>,
    pub ports: Vec<PortSample>,
    pub workloads: Vec<WorkloadSample>,
    /// `None`: the sample did not record processes.
    pub processes: Option<Vec<ProcessSample>>,
    /// Rates since the sample before (`None`: no such sample, or a reset).
    pub rates: Vec<(&'static str, Option<f64>)>,
}

/// `ms` as local wall-clock time.
pub fn local(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts
            .to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        Err(_) => ms.to_string(),
    }
}

fn utc(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    rfc3339_utc(ms / 1000, (ms % 1000) as u32)
}

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A chart of `values` in at most `width` columns: each column the largest value of its
/// samples (a peak is never averaged away), scaled from 0 to the series' max; blank for 0.
pub fn sparkline(values: &[u64], width: usize) -> String {
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let columns = values.len().min(width);
    let max = values.iter().copied().max().unwrap_or(0);
    (0..columns)
        .map(|c| {
            let (a, b) = (
                c * values.len() / columns,
                ((c + 1) * values.len() / columns).max(c * values.len() / columns + 1),
            );
            let v = values[a..b].iter().copied().max().unwrap_or(0);
            if v == 0 || max == 0 {
                ' '
            } else {
                let level = ((v as f64 / max as f64) * 7.0).round() as usize;
                BLOCKS[level.min(7)]
            }
        })
        .collect()
}

fn avg_max(rates: &[Option<f64>]) -> Option<(f64, f64)> {
    let known: Vec<f64> = rates.iter().flatten().copied().collect();
    if known.is_empty() {
        return None;
    }
    let max = known.iter().copied().fold(0.0, f64::max);
    Some((known.iter().sum::<f64>() / known.len() as f64, max))
}

fn describe(selection: &Selection) -> String {
    let mut parts = Vec::new();
    if !selection.ports.is_empty() {
        let ports: Vec<String> = selection.ports.iter().map(u16::to_string).collect();
        parts.push(format!("port {}", ports.join(",")));
    }
    if !selection.workloads.is_empty() {
        let names: Vec<String> = selection
            .workloads
            .iter()
            .map(|w| escape(w).into_owned())
            .collect();
        parts.push(format!("workload {}", names.join(",")));
    }
    if !selection.processes.is_empty() {
        let names: Vec<String> = selection
            .processes
            .iter()
            .map(|w| escape(w).into_owned())
            .collect();
        parts.push(format!("process {}", names.join(",")));
    }
    if parts.is_empty() {
        "all sockets".to_string()
    } else {
        parts.join(", ")
    }
}

/// `pid/command (user)`, or the summed row's name; escaped.
fn process_name(p: &ProcessSample) -> String {
    if p.pid <= 0 {
        return escape(&p.command).into_owned();
    }
    let user = match (&p.user, p.uid) {
        (Some(name), _) => format!(" ({})", escape(name)),
        (None, Some(uid)) => format!(" (uid {uid})"),
        (None, None) => String::new(),
    };
    format!("{}/{}{user}", p.pid, escape(&p.command))
}

fn port_name(p: &PortSample) -> String {
    let dir = if p.outgoing { "out" } else { "in" };
    if p.port == 0 {
        format!("other ({dir})")
    } else {
        format!("{} ({dir})", p.port)
    }
}

/// The period as a table with a chart per state.
pub fn period_table(out: &mut dyn Write, r: &PeriodReport<'_>, width: usize) -> io::Result<()> {
    writeln!(
        out,
        "{} from {} to {}: {} samples, {}{}",
        if r.hostname.is_empty() {
            "history".to_string()
        } else {
            escape(r.hostname).into_owned()
        },
        local(r.from_ms, r.tz),
        local(r.until_ms, r.tz),
        r.times.len(),
        describe(r.selection),
        if r.partial > 0 {
            format!(" ({} partial)", r.partial)
        } else {
            String::new()
        }
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<12} {:>8} {:>10} {:>8} {:>8}  CHART (max per column, 0 to max)",
        "STATE", "MIN", "AVG", "MAX", "LAST"
    )?;
    for s in &r.states {
        writeln!(
            out,
            "{:<12} {:>8} {:>10.1} {:>8} {:>8}  {}",
            s.state.name(),
            s.stats.min,
            s.stats.avg,
            s.stats.max,
            s.stats.last,
            sparkline(&s.values, width)
        )?;
    }
    let busy: Vec<(&CounterSeries, (f64, f64))> = r
        .counters
        .iter()
        .filter_map(|c| avg_max(&c.rates).map(|am| (c, am)))
        .filter(|(_, (_, max))| *max > 0.0)
        .collect();
    if !busy.is_empty() {
        writeln!(out)?;
        writeln!(out, "{:<20} {:>10} {:>10}", "COUNTER", "AVG/S", "MAX/S")?;
        for (c, (avg, max)) in busy {
            writeln!(out, "{:<20} {:>10.2} {:>10.2}", c.name, avg, max)?;
        }
    }
    if let Some(onsets) = &r.onsets {
        writeln!(out)?;
        if onsets.is_empty() {
            writeln!(out, "No state left its normal band in the period.")?;
        }
        for o in onsets {
            writeln!(
                out,
                "{} left its normal band at {}: {} (median before {:.0}, band up to {:.0})",
                o.state.name(),
                local(o.t_ms, r.tz),
                o.onset.value,
                o.onset.median,
                o.onset.upper
            )?;
            for (p, grew) in &o.ports {
                writeln!(
                    out,
                    "  port {:<16} {:>8} ({grew:+})",
                    port_name(p),
                    p.counts.get(o.state)
                )?;
            }
            for (w, grew) in &o.workloads {
                writeln!(
                    out,
                    "  workload {:<40} {:>8} ({grew:+})",
                    escape(&w.name),
                    w.counts.get(o.state)
                )?;
            }
            match &o.processes {
                Some(processes) => {
                    for (p, grew) in processes {
                        writeln!(
                            out,
                            "  process  {:<40} {:>8} ({grew:+})",
                            process_name(p),
                            p.counts.get(o.state)
                        )?;
                    }
                }
                None => writeln!(out, "  (processes not recorded in that sample)")?,
            }
        }
    }
    out.flush()
}

/// The period as CSV: a header, then one line per sample.
pub fn period_csv(out: &mut dyn Write, r: &PeriodReport<'_>) -> io::Result<()> {
    let mut header = vec!["time".to_string()];
    header.extend(r.states.iter().map(|s| s.state.name().to_string()));
    header.extend(r.counters.iter().map(|c| format!("{}/s", c.name)));
    writeln!(out, "{}", header.join(","))?;
    for (i, &t) in r.times.iter().enumerate() {
        let mut line = vec![utc(t)];
        line.extend(r.states.iter().map(|s| s.values[i].to_string()));
        line.extend(
            r.counters
                .iter()
                .map(|c| c.rates[i].map(|v| format!("{v:.3}")).unwrap_or_default()),
        );
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()
}

#[derive(Serialize)]
struct PeriodJson<'a> {
    schema_version: u32,
    hostname: &'a str,
    db: &'a str,
    from: String,
    until: String,
    ports: &'a [u16],
    workloads: &'a [String],
    processes: &'a [String],
    samples: usize,
    partial_samples: usize,
    states: Vec<StateJson>,
    counters: Vec<CounterJson>,
    series: Vec<PointJson>,
    onsets: Option<Vec<OnsetJson>>,
}

#[derive(Serialize)]
struct StateJson {
    state: &'static str,
    min: u64,
    avg: f64,
    max: u64,
    last: u64,
}

#[derive(Serialize)]
struct CounterJson {
    name: &'static str,
    avg_per_second: Option<f64>,
    max_per_second: Option<f64>,
}

#[derive(Serialize)]
struct PointJson {
    time: String,
    counts: serde_json::Map<String, serde_json::Value>,
    rates: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct OnsetJson {
    state: &'static str,
    time: String,
    count: u64,
    median: f64,
    upper: f64,
    ports: Vec<PortJson>,
    workloads: Vec<WorkloadJson>,
    /// `None`: not recorded in that sample.
    processes: Option<Vec<ProcessJson>>,
}

#[derive(Serialize)]
struct ProcessJson {
    /// `null` for the summed rows.
    pid: Option<i64>,
    command: String,
    uid: Option<u32>,
    user: Option<String>,
    count: u64,
    change: i64,
}

fn process_json(p: &ProcessSample, count: u64, change: i64) -> ProcessJson {
    ProcessJson {
        pid: (p.pid > 0).then_some(p.pid),
        command: p.command.clone(),
        uid: p.uid,
        user: p.user.clone(),
        count,
        change,
    }
}

#[derive(Serialize)]
struct PortJson {
    port: u16,
    direction: &'static str,
    count: u64,
    change: i64,
}

#[derive(Serialize)]
struct WorkloadJson {
    name: String,
    count: u64,
    change: i64,
}

fn rate_value(v: Option<f64>) -> serde_json::Value {
    v.and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// The period as one JSON document.
pub fn period_json(out: &mut dyn Write, r: &PeriodReport<'_>) -> io::Result<()> {
    let series = r
        .times
        .iter()
        .enumerate()
        .map(|(i, &t)| PointJson {
            time: utc(t),
            counts: r
                .states
                .iter()
                .map(|s| (s.state.name().to_string(), s.values[i].into()))
                .collect(),
            rates: r
                .counters
                .iter()
                .map(|c| (c.name.to_string(), rate_value(c.rates[i])))
                .collect(),
        })
        .collect();
    let doc = PeriodJson {
        schema_version: SCHEMA_VERSION,
        hostname: r.hostname,
        db: r.db,
        from: utc(r.from_ms),
        until: utc(r.until_ms),
        ports: &r.selection.ports,
        workloads: &r.selection.workloads,
        processes: &r.selection.processes,
        samples: r.times.len(),
        partial_samples: r.partial,
        states: r
            .states
            .iter()
            .map(|s| StateJson {
                state: s.state.name(),
                min: s.stats.min,
                avg: s.stats.avg,
                max: s.stats.max,
                last: s.stats.last,
            })
            .collect(),
        counters: r
            .counters
            .iter()
            .map(|c| {
                let am = avg_max(&c.rates);
                CounterJson {
                    name: c.name,
                    avg_per_second: am.map(|a| a.0),
                    max_per_second: am.map(|a| a.1),
                }
            })
            .collect(),
        series,
        onsets: r.onsets.as_ref().map(|onsets| {
            onsets
                .iter()
                .map(|o| OnsetJson {
                    state: o.state.name(),
                    time: utc(o.t_ms),
                    count: o.onset.value,
                    median: o.onset.median,
                    upper: o.onset.upper,
                    ports: o
                        .ports
                        .iter()
                        .map(|(p, change)| PortJson {
                            port: p.port,
                            direction: if p.outgoing { "out" } else { "in" },
                            count: p.counts.get(o.state),
                            change: *change,
                        })
                        .collect(),
                    workloads: o
                        .workloads
                        .iter()
                        .map(|(w, change)| WorkloadJson {
                            name: w.name.clone(),
                            count: w.counts.get(o.state),
                            change: *change,
                        })
                        .collect(),
                    processes: o.processes.as_ref().map(|ps| {
                        ps.iter()
                            .map(|(p, change)| process_json(p, p.counts.get(o.state), *change))
                            .collect()
                    }),
                })
                .collect()
        }),
    };
    write_line(out, &doc)?;
    out.flush()
}

#[derive(Serialize)]
struct MomentJson<'a> {
    schema_version: u32,
    hostname: &'a str,
    db: &'a str,
    asked: String,
    time: String,
    counts: serde_json::Map<String, serde_json::Value>,
    ports: Vec<MomentPortJson>,
    workloads: Vec<MomentWorkloadJson>,
    /// `None`: not recorded in that sample.
    processes: Option<Vec<MomentProcessJson>>,
    rates: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct MomentProcessJson {
    pid: Option<i64>,
    command: String,
    uid: Option<u32>,
    user: Option<String>,
    counts: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct MomentPortJson {
    port: u16,
    direction: &'static str,
    counts: serde_json::Map<String, serde_json::Value>,
    listeners: u64,
    queued: u64,
    backlog: Option<u64>,
}

#[derive(Serialize)]
struct MomentWorkloadJson {
    name: String,
    counts: serde_json::Map<String, serde_json::Value>,
}

fn state_map(
    states: &[(TcpState, u64)],
    row: impl Fn(TcpState) -> u64,
) -> serde_json::Map<String, serde_json::Value> {
    states
        .iter()
        .map(|&(s, _)| (s.name().to_string(), row(s).into()))
        .collect()
}

/// One moment as one JSON document.
pub fn moment_json(out: &mut dyn Write, r: &MomentReport<'_>) -> io::Result<()> {
    let doc = MomentJson {
        schema_version: SCHEMA_VERSION,
        hostname: r.hostname,
        db: r.db,
        asked: utc(r.asked_ms),
        time: utc(r.t_ms),
        counts: r
            .states
            .iter()
            .map(|&(s, n)| (s.name().to_string(), n.into()))
            .collect(),
        ports: r
            .ports
            .iter()
            .map(|p| MomentPortJson {
                port: p.port,
                direction: if p.outgoing { "out" } else { "in" },
                counts: state_map(&r.states, |s| p.counts.get(s)),
                listeners: p.listeners,
                queued: p.queued,
                backlog: p.backlog,
            })
            .collect(),
        workloads: r
            .workloads
            .iter()
            .map(|w| MomentWorkloadJson {
                name: w.name.clone(),
                counts: state_map(&r.states, |s| w.counts.get(s)),
            })
            .collect(),
        processes: r.processes.as_ref().map(|ps| {
            ps.iter()
                .map(|p| MomentProcessJson {
                    pid: (p.pid > 0).then_some(p.pid),
                    command: p.command.clone(),
                    uid: p.uid,
                    user: p.user.clone(),
                    counts: state_map(&r.states, |s| p.counts.get(s)),
                })
                .collect()
        }),
        rates: r
            .rates
            .iter()
            .map(|&(name, v)| (name.to_string(), rate_value(v)))
            .collect(),
    };
    write_line(out, &doc)?;
    out.flush()
}

/// One moment as tables.
pub fn moment_table(out: &mut dyn Write, r: &MomentReport<'_>) -> io::Result<()> {
    writeln!(
        out,
        "{} at {} (the last sample at or before {})",
        if r.hostname.is_empty() {
            "history".to_string()
        } else {
            escape(r.hostname).into_owned()
        },
        local(r.t_ms, r.tz),
        local(r.asked_ms, r.tz)
    )?;
    writeln!(out)?;
    for &(s, n) in &r.states {
        writeln!(out, "{:<12} {:>8}", s.name(), n)?;
    }
    // Columns for the states anything held at that moment (eleven columns of zeros say
    // nothing).
    let shown: Vec<TcpState> = r
        .states
        .iter()
        .map(|&(s, _)| s)
        .filter(|&s| {
            r.ports.iter().any(|p| p.counts.get(s) > 0)
                || r.workloads.iter().any(|w| w.counts.get(s) > 0)
                || r.processes.iter().flatten().any(|p| p.counts.get(s) > 0)
        })
        .collect();
    if !r.ports.is_empty() {
        writeln!(out)?;
        write!(out, "{:<16} {:>8} {:>8}", "PORT", "QUEUED", "BACKLOG")?;
        for s in &shown {
            write!(out, " {:>11}", s.name())?;
        }
        writeln!(out)?;
        for p in &r.ports {
            write!(
                out,
                "{:<16} {:>8} {:>8}",
                port_name(p),
                if p.listeners > 0 {
                    p.queued.to_string()
                } else {
                    "-".into()
                },
                p.backlog.map_or("-".into(), |b| b.to_string())
            )?;
            for &s in &shown {
                write!(out, " {:>11}", p.counts.get(s))?;
            }
            writeln!(out)?;
        }
    }
    if !r.workloads.is_empty() {
        writeln!(out)?;
        write!(out, "{:<40}", "WORKLOAD")?;
        for s in &shown {
            write!(out, " {:>11}", s.name())?;
        }
        writeln!(out)?;
        for w in &r.workloads {
            write!(out, "{:<40}", escape(&w.name))?;
            for &s in &shown {
                write!(out, " {:>11}", w.counts.get(s))?;
            }
            writeln!(out)?;
        }
    }
    match &r.processes {
        Some(processes) if !processes.is_empty() => {
            writeln!(out)?;
            write!(out, "{:<40}", "PROCESS")?;
            for s in &shown {
                write!(out, " {:>11}", s.name())?;
            }
            writeln!(out)?;
            for p in processes {
                write!(out, "{:<40}", process_name(p))?;
                for &s in &shown {
                    write!(out, " {:>11}", p.counts.get(s))?;
                }
                writeln!(out)?;
            }
        }
        Some(_) => {}
        None => {
            writeln!(out)?;
            writeln!(
                out,
                "(processes not recorded in this sample: record --processes auto looks them up on \
                 fewer samples on a busy host, never on none; or an older tcpstat)"
            )?;
        }
    }
    let busy: Vec<_> = r
        .rates
        .iter()
        .filter(|(_, v)| v.is_some_and(|v| v > 0.0))
        .collect();
    if !busy.is_empty() {
        writeln!(out)?;
        writeln!(out, "{:<20} {:>10}", "COUNTER", "PER SECOND")?;
        for (name, v) in busy {
            writeln!(out, "{:<20} {:>10.2}", name, v.unwrap_or(0.0))?;
        }
    }
    out.flush()
}

/// The names of the counters, in the order rates are given.
pub fn counter_names() -> impl Iterator<Item = &'static str> {
    COUNTERS.iter().map(|&(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_keeps_peaks_and_blanks_zero() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8], 10), " ▂▃▅█");
        // Ten samples in five columns: each column the larger of two.
        assert_eq!(sparkline(&[0, 8, 0, 0, 0, 0, 0, 4, 0, 0], 5), "█  ▅ ");
        assert_eq!(sparkline(&[0, 0], 5), "  ");
        assert_eq!(sparkline(&[], 5), "");
    }
}
