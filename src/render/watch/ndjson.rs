//! The watch wire format: one JSON object per tick (NDJSON), and event objects.
//!
//! Owns: the wire types of a tick, of an event and of the error line, separate from the
//! aggregate's types so they can change without the JSON changing shape (`schema_version`).
//! Every line says its `type` first, then the [`Header`] every document starts with; a tick
//! ends with the [`Footer`] every document ends with.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use super::by_name;
use crate::aggregate::port_health::{PortHealthRow, SeriesPort};
use crate::aggregate::watch::{GroupKey, Tick};
use crate::model::{KernelState, SocketRecord, TcpState};
use crate::render::json::{Footer, Header, StatesJson};

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
    /// No owner found: `owners_hidden` when some processes could not be read (so it is
    /// probably one of them), as `list`'s rows say it.
    NoProcess {
        pid: Option<u32>,
        command: Option<&'a str>,
        owners_hidden: bool,
    },
    Remote {
        remote_address: String,
    },
    /// `workload: null`: no workload claims the sockets.
    Workload {
        workload: Option<&'a str>,
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
            owners_hidden: false,
        },
        GroupKey::Hidden => GroupJson::NoProcess {
            pid: None,
            command: None,
            owners_hidden: true,
        },
        GroupKey::Remote(ip) => GroupJson::Remote {
            remote_address: ip.to_string(),
        },
        GroupKey::Workload(name) => GroupJson::Workload {
            workload: Some(name),
        },
        GroupKey::NoWorkload => GroupJson::Workload { workload: None },
    }
}

#[derive(Serialize)]
struct TopJson<'a> {
    /// The group's namespace label; only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns_label: Option<&'a str>,
    #[serde(flatten)]
    group: GroupJson<'a>,
    /// The group's sockets in the watched states.
    total: u64,
}

#[derive(Serialize)]
struct AgedJson<'a> {
    state: &'static str,
    /// As in [`TopJson`].
    #[serde(skip_serializing_if = "Option::is_none")]
    netns_label: Option<&'a str>,
    #[serde(flatten)]
    group: GroupJson<'a>,
    /// Every socket of this entry has been in `state` at least this long (seconds).
    at_least_s: f64,
    /// Sockets of the group in `state` for at least `at_least_s`.
    total: u64,
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

/// One NDJSON tick (schema in `docs/schema/`).
#[derive(Serialize)]
struct TickJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    header: Header<'a>,
    tick: u64,
    started: &'a str,
    interval_ms: u64,
    /// Seconds since the previous good tick, which `deltas` spans; `null` on the first good
    /// tick and on a failed one.
    elapsed_s: Option<f64>,
    counted_states: Vec<&'static str>,
    watched_states: Vec<&'static str>,
    states: StatesJson,
    /// Sockets in kernel states tcpstat does not know.
    unknown: u64,
    total: u64,
    /// Change since the previous good tick (0 on the first); `null` on a failed tick, so
    /// the deltas that are numbers add up to the net change.
    deltas: Option<DeltasJson>,
    min: StatesJson,
    max: StatesJson,
    /// `--by`: `port`, `process` or `remote`.
    grouping: &'static str,
    top: Vec<TopJson<'a>>,
    /// Groups left out of `top` by `--top` (0 when all are there).
    top_omitted: usize,
    older_than_s: Option<f64>,
    tracked_sockets: usize,
    aged: Vec<AgedJson<'a>>,
    /// Entries left out of `aged` by `--top`.
    aged_omitted: usize,
    /// With `--health`: the service ports' connection health.
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<Vec<HealthJson<'a>>>,
    /// With `--health`: ports left out of `health` by `--top`.
    #[serde(skip_serializing_if = "Option::is_none")]
    health_omitted: Option<usize>,
    /// The collection error of this tick, if it failed (counts are the last good tick's).
    error: Option<&'a str>,
    /// With `--all-netns`, each namespace with its counts.
    #[serde(flatten)]
    footer: Footer<'a>,
}

/// One service port's connection health (`--health`). Numbers from tcp_info are `null` when
/// the kernel sent none (the /proc source).
#[derive(Serialize)]
struct HealthJson<'a> {
    /// Only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns_label: Option<&'a str>,
    /// `null` for the ports summed as `other`.
    port: Option<u16>,
    direction: &'static str,
    sockets: u64,
    sockets_with_info: u64,
    rtt_p50_us: Option<u32>,
    rtt_p99_us: Option<u32>,
    /// Segments retransmitted per second since the previous good tick (the growth of each
    /// connection's total); `null` on the first tick and a failed one.
    retransmits_per_s: Option<f64>,
    retransmitting_sockets: Option<u64>,
    zero_window_sockets: Option<u64>,
    stalled_sockets: Option<u64>,
    send_q_bytes: u64,
    recv_q_bytes: u64,
}

fn health_json<'a>(tick: &'a Tick<'_>, row: &PortHealthRow) -> Option<HealthJson<'a>> {
    let g = row.gauges.as_ref()?;
    let known = |v: u64| (g.with_info > 0).then_some(v);
    Some(HealthJson {
        netns_label: tick.netns.per_row.then(|| tick.netns.label(row.netns)),
        port: match row.port {
            SeriesPort::Port(port) => Some(port),
            SeriesPort::Other => None,
        },
        direction: row.direction.name(),
        sockets: g.sockets,
        sockets_with_info: g.with_info,
        rtt_p50_us: g.rtt_p50_us,
        rtt_p99_us: g.rtt_p99_us,
        retransmits_per_s: super::retransmit_rate(tick, row),
        retransmitting_sockets: known(g.retransmitting),
        zero_window_sockets: known(g.zero_window),
        stalled_sockets: known(g.stalled),
        send_q_bytes: g.send_q_bytes,
        recv_q_bytes: g.recv_q_bytes,
    })
}

#[derive(Serialize)]
struct EventJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// The tick's.
    #[serde(flatten)]
    header: Header<'a>,
    event: &'static str,
    tick: u64,
    /// A state name, `UNKNOWN` for a value tcpstat does not know (as `list`'s rows).
    state: &'static str,
    /// The raw kernel state value.
    state_value: u8,
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
    netns_label: Option<&'a str>,
}

fn event<'a>(
    tick: &'a Tick<'_>,
    kind: &'static str,
    r: &SocketRecord,
    age: Option<Duration>,
) -> EventJson<'a> {
    EventJson {
        kind: "event",
        header: Header::new(&tick.sample.timestamp, tick.setup.hostname.as_deref()),
        event: kind,
        tick: tick.sample.number,
        state: match r.state {
            KernelState::Known(s) => s.name(),
            KernelState::Unknown(_) => "UNKNOWN",
        },
        state_value: r.raw_state,
        family: r.family.key(),
        local_address: r.local.to_string(),
        local_port: r.local_port,
        remote_address: r.remote.to_string(),
        remote_port: r.remote_port,
        inode: r.inode,
        cookie: (r.cookie != 0).then_some(r.cookie),
        age_s: age.map(|a| a.as_secs_f64()),
        netns_label: tick.netns.per_row.then(|| tick.netns.label(r.netns)),
    }
}

/// Writes one tick as a JSON line, then its events (with `--events`), and flushes.
pub fn write_tick(out: &mut dyn Write, tick: &Tick<'_>) -> io::Result<()> {
    let h = tick.history;
    let (setup, s) = (tick.setup, tick.sample);
    let mut footer = Footer::new(&s.outcome, tick.netns);
    footer.complete = s.outcome.complete && !s.failed();
    let latest = StatesJson::from_fn(|state| h.latest(state));
    let value = TickJson {
        kind: "tick",
        header: Header::new(&s.timestamp, setup.hostname.as_deref()),
        tick: s.number,
        started: &setup.started,
        interval_ms: setup.interval.as_millis() as u64,
        elapsed_s: s.elapsed,
        counted_states: setup
            .shown
            .intersect(s.outcome.covers)
            .iter()
            .map(TcpState::name)
            .collect(),
        watched_states: setup.tracked.iter().map(TcpState::name).collect(),
        total: TcpState::ALL
            .iter()
            .map(|&state| h.latest(state))
            .sum::<u64>()
            + s.unknown,
        states: latest,
        unknown: s.unknown,
        // A failed tick's change is unknown; the next good tick's spans the gap.
        deltas: (!s.failed()).then(|| DeltasJson::from_fn(|state| h.delta(state))),
        min: StatesJson::from_fn(|state| h.min(state)),
        max: StatesJson::from_fn(|state| h.max(state)),
        grouping: by_name(setup.by),
        top: s
            .top
            .iter()
            .map(|g| TopJson {
                netns_label: tick.netns.per_row.then(|| tick.netns.label(g.netns)),
                group: group_json(&g.key),
                total: g.count,
            })
            .collect(),
        top_omitted: s.top_omitted(),
        older_than_s: setup.older_than.map(|d| d.as_secs_f64()),
        tracked_sockets: s.tracked_count,
        aged: s
            .aged
            .iter()
            .map(|a| AgedJson {
                state: a.state.name(),
                netns_label: tick.netns.per_row.then(|| tick.netns.label(a.netns)),
                group: group_json(&a.key),
                at_least_s: a.at_least.as_secs_f64(),
                total: a.count,
                oldest_s: a.oldest.as_secs_f64(),
            })
            .collect(),
        aged_omitted: s.aged_omitted(),
        health: s
            .health
            .as_ref()
            .map(|h| h.rows.iter().filter_map(|r| health_json(tick, r)).collect()),
        health_omitted: s
            .health
            .as_ref()
            .map(|h| h.total.saturating_sub(h.rows.len())),
        error: s.error.as_deref(),
        footer,
    };
    crate::render::json::write_line(out, &value)?;
    if let Some(changes) = &s.changes {
        for r in &changes.entered {
            crate::render::json::write_line(out, &event(tick, "enter", r, None))?;
        }
        for (r, age) in &changes.left {
            crate::render::json::write_line(out, &event(tick, "leave", r, Some(*age)))?;
        }
    }
    out.flush()
}

/// A tick that failed before any tick succeeded, at `timestamp` (RFC 3339, UTC).
pub fn write_error(
    out: &mut dyn Write,
    tick: u64,
    timestamp: &str,
    hostname: Option<&str>,
    message: &str,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct ErrorJson<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(flatten)]
        header: Header<'a>,
        tick: u64,
        error: &'a str,
    }
    crate::render::json::write_line(
        out,
        &ErrorJson {
            kind: "error",
            header: Header::new(timestamp, hostname),
            tick,
            error: message,
        },
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    #[test]
    fn a_failed_tick_has_null_deltas_in_json_and_hidden_owners_are_marked() {
        let setup = setup(
            StateSet::of(TcpState::CloseWait),
            StateSet::of(TcpState::CloseWait),
        );
        let history = history();
        let mut s = sample();
        s.top = vec![
            Group {
                netns: 0,
                key: GroupKey::Hidden,
                count: 3,
            },
            Group {
                netns: 0,
                key: GroupKey::NoProcess,
                count: 1,
            },
        ];
        s.top_total = 2;
        s.owners_as_root = false;
        let netns = NetnsView::default();
        let json = |s: &Sample| -> serde_json::Value {
            let mut out = Vec::new();
            let tick = Tick {
                setup: &setup,
                sample: s,
                history: &history,
                netns: &netns,
                replay: None,
            };
            write_tick(&mut out, &tick).expect("write");
            serde_json::from_slice(&out).expect("one object")
        };
        let good = json(&s);
        assert_eq!(good["deltas"]["CLOSE_WAIT"], 251);
        assert_eq!(good["elapsed_s"], 1.0);
        assert_eq!(good["total"], 420, "400 CLOSE_WAIT + 20 ESTABLISHED");
        assert_eq!(
            good["top"],
            serde_json::json!([
                {"pid": null, "command": null, "owners_hidden": true, "total": 3},
                {"pid": null, "command": null, "owners_hidden": false, "total": 1},
            ])
        );
        let lines = render(&setup, &s, &history, 80, 24);
        assert!(
            lines.iter().any(|l| l.ends_with("3  (hidden: needs root)")),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.ends_with("1  (no process)")),
            "{lines:#?}"
        );
        s.error = Some("boom".into());
        s.elapsed = None;
        let failed = json(&s);
        assert!(failed["deltas"].is_null(), "{failed}");
        assert!(failed["elapsed_s"].is_null(), "{failed}");
        assert_eq!(failed["states"]["CLOSE_WAIT"], 400, "the last good counts");
        assert_eq!(failed["error"], "boom");
        assert_eq!(failed["complete"], false);
    }
}
