//! `watch` output: a screen frame for people, NDJSON for pipes.
//!
//! Owns: turning a [`Tick`] into lines of a frame (no escape codes except what
//! `term::Screen` adds; outside text escaped) and into one JSON object per tick plus event
//! objects. Never reads the kernel, never decides when to draw.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use super::json::{netns as netns_json, NetnsJson, StatesJson, SCHEMA_VERSION};
use super::list::write_endpoint;
use super::text::escape;
use crate::cli::WatchByArg;
use crate::model::duration::format_age;
use crate::model::{KernelState, SocketRecord, TcpState};
use crate::track::sparkline;
use crate::watch::{Aged, GroupKey, Tick};

/// Namespaces listed on the screen with `--all-netns`, busiest first.
const NETNS_LINES: usize = 10;

fn by_name(by: WatchByArg) -> &'static str {
    match by {
        WatchByArg::Port => "port",
        WatchByArg::Process => "process",
        WatchByArg::Remote => "remote",
    }
}

fn group_label(key: &GroupKey) -> String {
    match key {
        GroupKey::Port { port, direction } => format!("{port} {}", direction.name()),
        GroupKey::Process { pid, command } => format!("pid {pid} {}", escape(command)),
        GroupKey::NoProcess => "(no process)".to_string(),
        GroupKey::Remote(ip) => ip.to_string(),
    }
}

fn rate(tick: &Tick<'_>, state: TcpState) -> Option<f64> {
    let secs = tick.elapsed?;
    (secs > 0.0).then(|| tick.history.delta(state) as f64 / secs)
}

fn state_names(set: crate::model::StateSet) -> String {
    set.iter().map(TcpState::name).collect::<Vec<_>>().join(",")
}

/// The lines of one screen, at most `height` of them (events are cut first).
pub fn frame(tick: &Tick<'_>, width: usize, height: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let source = match tick.outcome.fallback_reason {
        Some(_) => "proc (netlink unavailable)",
        None => tick.outcome.source.name(),
    };
    let netns = match (tick.netns.per_row, tick.netns.entries.as_slice()) {
        (true, entries) => format!("  netns all ({})", entries.len()),
        (false, [one]) => format!("  netns {}", escape(&one.ns.label)),
        _ => String::new(),
    };
    lines.push(format!(
        "tcpstat watch  host {}{netns}  source {}  every {}  {}  tick {}",
        escape(tick.hostname.unwrap_or("?")),
        source,
        format_age(tick.interval),
        tick.timestamp,
        tick.number
    ));
    lines.push(String::new());
    lines.push(format!(
        "{:<12} {:>9} {:>8} {:>9} {:>9} {:>9}  HISTORY",
        "STATE", "COUNT", "DELTA", "RATE/s", "MIN", "MAX"
    ));
    for state in tick.shown.iter() {
        let h = tick.history;
        let delta = h.delta(state);
        let rate = rate(tick, state).map_or("-".to_string(), |r| format!("{r:+.1}"));
        let delta = if tick.elapsed.is_none() {
            "-".to_string()
        } else {
            format!("{delta:+}")
        };
        lines.push(format!(
            "{:<12} {:>9} {:>8} {:>9} {:>9} {:>9}  {}",
            state.name(),
            h.latest(state),
            delta,
            rate,
            h.min(state),
            h.max(state),
            sparkline(h.recent(state))
        ));
    }
    if tick.unknown > 0 {
        lines.push(format!("{:<12} {:>9}", "UNKNOWN", tick.unknown));
    }
    if tick.netns.per_row {
        lines.push(String::new());
        lines.push(netns_heading(tick));
        let mut read: Vec<(u64, &str)> = tick
            .netns
            .entries
            .iter()
            .filter_map(|e| Some((e.counts?.total(), e.ns.label.as_str())))
            .collect();
        read.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        for (count, label) in read.iter().take(NETNS_LINES) {
            lines.push(format!("  {count:>8}  {}", escape(label)));
        }
        if read.len() > NETNS_LINES {
            lines.push(format!("  ... {} more", read.len() - NETNS_LINES));
        }
    }
    lines.push(String::new());
    let watched = state_names(tick.tracked);
    let older = tick.older_than.map_or(String::new(), |d| {
        format!(", in state >= {}", format_age(d))
    });
    lines.push(format!(
        "TOP BY {} ({watched}{older})",
        by_name(tick.by).to_uppercase()
    ));
    if tick.top.is_empty() {
        lines.push("  none".to_string());
    }
    for g in &tick.top {
        lines.push(format!(
            "  {:>8}  {}",
            g.count,
            in_netns(tick, g.netns, &group_label(&g.key))
        ));
    }
    lines.push(String::new());
    let since = tick.started.get(11..19).unwrap_or(&tick.started);
    lines.push(format!(
        "LONGEST IN STATE ({} tracked; lower bounds: ages count from {since} for sockets already there)",
        tick.tracked_count
    ));
    if tick.aged.is_empty() {
        lines.push("  none".to_string());
    }
    for a in &tick.aged {
        lines.push(aged_line(tick, a));
    }
    for w in &tick.outcome.warnings {
        lines.push(format!("warning: {}", escape(w)));
    }
    if let Some(e) = &tick.error {
        lines.push(format!(
            "error: {} (showing the last good tick; retrying)",
            escape(e)
        ));
    }
    if let Some(changes) = tick.changes {
        lines.push(String::new());
        lines.push(format!(
            "EVENTS since the previous tick: {} entered, {} left",
            changes.entered.len(),
            changes.left.len()
        ));
        for r in &changes.entered {
            lines.push(format!("  + {}", in_netns(tick, r.netns, &socket_line(r))));
        }
        for (r, age) in &changes.left {
            lines.push(format!(
                "  - {}  after >= {}",
                in_netns(tick, r.netns, &socket_line(r)),
                format_age(*age)
            ));
        }
    }
    if lines.len() > height {
        lines.truncate(height.saturating_sub(1));
        lines.push("...".to_string());
    }
    let _ = width;
    lines
}

/// `SOCKETS BY NETNS (3 read, 1 skipped)`.
fn netns_heading(tick: &Tick<'_>) -> String {
    let read = tick
        .netns
        .entries
        .iter()
        .filter(|e| e.skipped.is_none())
        .count();
    let skipped = tick.netns.entries.len() - read;
    let mut line = format!("SOCKETS BY NETNS ({read} read");
    if skipped > 0 {
        line.push_str(&format!(", {skipped} skipped: see warnings"));
    }
    line.push(')');
    line
}

/// A group's label, after its namespace's with `--all-netns`.
fn in_netns(tick: &Tick<'_>, netns: u64, label: &str) -> String {
    if tick.netns.per_row {
        format!("{}  {label}", escape(tick.netns.label(netns)))
    } else {
        label.to_string()
    }
}

fn aged_line(tick: &Tick<'_>, a: &Aged) -> String {
    let band = if a.at_least.is_zero() {
        "any age".to_string()
    } else {
        format!(">= {}", format_age(a.at_least))
    };
    format!(
        "  {:<11} {:<9} {:>7} socket{}  {}  (oldest >= {})",
        a.state.name(),
        band,
        a.count,
        if a.count == 1 { " " } else { "s" },
        in_netns(tick, a.netns, &group_label(&a.key)),
        format_age(a.oldest)
    )
}

fn socket_line(r: &SocketRecord) -> String {
    let mut s = format!("{:<11} ", r.state.to_string());
    write_endpoint(&mut s, r.local, r.local_port);
    s.push_str(" -> ");
    write_endpoint(&mut s, r.remote, r.remote_port);
    s
}

#[derive(Serialize)]
#[serde(untagged)]
enum GroupJson<'a> {
    Port {
        port: u16,
        direction: &'static str,
    },
    Process {
        pid: u32,
        command: &'a str,
    },
    NoProcess {
        pid: Option<u32>,
        command: Option<&'a str>,
    },
    Remote {
        remote_address: String,
    },
}

fn group_json(key: &GroupKey) -> GroupJson<'_> {
    match key {
        GroupKey::Port { port, direction } => GroupJson::Port {
            port: *port,
            direction: direction.name(),
        },
        GroupKey::Process { pid, command } => GroupJson::Process { pid: *pid, command },
        GroupKey::NoProcess => GroupJson::NoProcess {
            pid: None,
            command: None,
        },
        GroupKey::Remote(ip) => GroupJson::Remote {
            remote_address: ip.to_string(),
        },
    }
}

#[derive(Serialize)]
struct TopJson<'a> {
    /// The group's namespace label; only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    #[serde(flatten)]
    group: GroupJson<'a>,
    count: u64,
}

#[derive(Serialize)]
struct AgedJson<'a> {
    state: &'static str,
    /// As in [`TopJson`].
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    #[serde(flatten)]
    group: GroupJson<'a>,
    /// Every socket of this entry has been in `state` at least this long (seconds).
    at_least_s: f64,
    count: u64,
    /// Seconds; a lower bound.
    oldest_s: f64,
}

#[derive(Serialize)]
struct DeltasJson {
    #[serde(rename = "LISTEN")]
    listen: i64,
    #[serde(rename = "SYN_SENT")]
    syn_sent: i64,
    #[serde(rename = "SYN_RECV")]
    syn_recv: i64,
    #[serde(rename = "ESTABLISHED")]
    established: i64,
    #[serde(rename = "FIN_WAIT_1")]
    fin_wait_1: i64,
    #[serde(rename = "FIN_WAIT_2")]
    fin_wait_2: i64,
    #[serde(rename = "CLOSE_WAIT")]
    close_wait: i64,
    #[serde(rename = "CLOSING")]
    closing: i64,
    #[serde(rename = "LAST_ACK")]
    last_ack: i64,
    #[serde(rename = "TIME_WAIT")]
    time_wait: i64,
    #[serde(rename = "CLOSED")]
    closed: i64,
}

impl DeltasJson {
    fn from_fn(f: impl Fn(TcpState) -> i64) -> DeltasJson {
        DeltasJson {
            listen: f(TcpState::Listen),
            syn_sent: f(TcpState::SynSent),
            syn_recv: f(TcpState::SynRecv),
            established: f(TcpState::Established),
            fin_wait_1: f(TcpState::FinWait1),
            fin_wait_2: f(TcpState::FinWait2),
            close_wait: f(TcpState::CloseWait),
            closing: f(TcpState::Closing),
            last_ack: f(TcpState::LastAck),
            time_wait: f(TcpState::TimeWait),
            closed: f(TcpState::Closed),
        }
    }
}

/// One NDJSON tick (schema in the README).
#[derive(Serialize)]
struct TickJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema_version: u32,
    tick: u64,
    timestamp: &'a str,
    started: &'a str,
    hostname: Option<&'a str>,
    source: &'static str,
    fallback_reason: Option<&'a str>,
    interval_ms: u64,
    /// Seconds since the previous tick; `null` on the first.
    elapsed_s: Option<f64>,
    counted_states: Vec<&'static str>,
    watched_states: Vec<&'static str>,
    counts: StatesJson,
    /// Change since the previous tick (0 on the first).
    deltas: DeltasJson,
    min: StatesJson,
    max: StatesJson,
    unknown: u64,
    by: &'static str,
    top: Vec<TopJson<'a>>,
    older_than_s: Option<f64>,
    tracked_sockets: usize,
    aged: Vec<AgedJson<'a>>,
    complete: bool,
    warnings: &'a [String],
    /// The collection error of this tick, if it failed (counts are the last good tick's).
    error: Option<&'a str>,
    /// The namespaces read, with `--all-netns` each with its counts; absent without
    /// namespace options.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<Vec<NetnsJson<'a>>>,
}

#[derive(Serialize)]
struct EventJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'static str,
    tick: u64,
    timestamp: &'a str,
    state: String,
    family: &'static str,
    local_address: String,
    local_port: u16,
    remote_address: String,
    remote_port: u16,
    inode: u64,
    cookie: Option<u64>,
    /// For `leave`: how long it had been in the state (a lower bound); `null` for `enter`.
    age_s: Option<f64>,
    /// The socket's namespace label; only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
}

fn event<'a>(
    tick: &'a Tick<'_>,
    kind: &'static str,
    r: &SocketRecord,
    age: Option<Duration>,
) -> EventJson<'a> {
    EventJson {
        kind: "event",
        event: kind,
        tick: tick.number,
        timestamp: &tick.timestamp,
        state: match r.state {
            KernelState::Known(s) => s.name().to_string(),
            KernelState::Unknown(v) => format!("UNKNOWN({v})"),
        },
        family: r.family.key(),
        local_address: r.local.to_string(),
        local_port: r.local_port,
        remote_address: r.remote.to_string(),
        remote_port: r.remote_port,
        inode: r.inode,
        cookie: (r.cookie != 0).then_some(r.cookie),
        age_s: age.map(|a| a.as_secs_f64()),
        netns: tick.netns.per_row.then(|| tick.netns.label(r.netns)),
    }
}

/// Writes one tick as a JSON line, then its events (with `--events`), and flushes.
pub fn write_tick(out: &mut dyn Write, tick: &Tick<'_>) -> io::Result<()> {
    let h = tick.history;
    let value = TickJson {
        kind: "tick",
        schema_version: SCHEMA_VERSION,
        tick: tick.number,
        timestamp: &tick.timestamp,
        started: &tick.started,
        hostname: tick.hostname,
        source: tick.outcome.source.name(),
        fallback_reason: tick.outcome.fallback_reason.as_deref(),
        interval_ms: tick.interval.as_millis() as u64,
        elapsed_s: tick.elapsed,
        counted_states: tick
            .shown
            .intersect(tick.outcome.source.covers())
            .iter()
            .map(TcpState::name)
            .collect(),
        watched_states: tick.tracked.iter().map(TcpState::name).collect(),
        counts: StatesJson::from_fn(|s| h.latest(s)),
        deltas: DeltasJson::from_fn(|s| h.delta(s)),
        min: StatesJson::from_fn(|s| h.min(s)),
        max: StatesJson::from_fn(|s| h.max(s)),
        unknown: tick.unknown,
        by: by_name(tick.by),
        top: tick
            .top
            .iter()
            .map(|g| TopJson {
                netns: tick.netns.per_row.then(|| tick.netns.label(g.netns)),
                group: group_json(&g.key),
                count: g.count,
            })
            .collect(),
        older_than_s: tick.older_than.map(|d| d.as_secs_f64()),
        tracked_sockets: tick.tracked_count,
        aged: tick
            .aged
            .iter()
            .map(|a| AgedJson {
                state: a.state.name(),
                netns: tick.netns.per_row.then(|| tick.netns.label(a.netns)),
                group: group_json(&a.key),
                at_least_s: a.at_least.as_secs_f64(),
                count: a.count,
                oldest_s: a.oldest.as_secs_f64(),
            })
            .collect(),
        complete: tick.outcome.complete && tick.error.is_none(),
        warnings: &tick.outcome.warnings,
        error: tick.error.as_deref(),
        netns: netns_json(tick.netns),
    };
    super::json::write_line(out, &value)?;
    if let Some(changes) = tick.changes {
        for r in &changes.entered {
            super::json::write_line(out, &event(tick, "enter", r, None))?;
        }
        for (r, age) in &changes.left {
            super::json::write_line(out, &event(tick, "leave", r, Some(*age)))?;
        }
    }
    out.flush()
}

/// A tick that failed before any tick succeeded.
pub fn write_error(out: &mut dyn Write, tick: u64, message: &str) -> io::Result<()> {
    #[derive(Serialize)]
    struct ErrorJson<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        tick: u64,
        error: &'a str,
    }
    super::json::write_line(
        out,
        &ErrorJson {
            kind: "error",
            tick,
            error: message,
        },
    )?;
    out.flush()
}
