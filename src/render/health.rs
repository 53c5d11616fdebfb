//! `tcpstat health`: connection health by service port or peer, as a table or JSON.
//!
//! Owns: the table layout and the JSON wire types of [`HealthRow`]s (schema:
//! `docs/schema/health.schema.json`). Plain data in, bytes out.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::json::{Footer, Header};
use crate::aggregate::health::{HealthKey, HealthRow};
use crate::model::netns::NetnsView;
use crate::model::Outcome;
use crate::render::text::escape;

/// Everything `health` prints.
pub struct HealthReport<'a> {
    pub rows: &'a [HealthRow],
    /// Groups left out by `--top`.
    pub omitted: usize,
    pub stall_ms: u32,
    pub outcome: &'a Outcome,
    pub netns: &'a NetnsView<'a>,
    pub timestamp: &'a str,
    pub hostname: Option<&'a str>,
}

/// A group as the table names it; names from outside (commands, cgroups) made inert.
fn group_name(key: &HealthKey) -> String {
    match key {
        HealthKey::Service { port, direction } => format!("{port}/{}", direction.name()),
        HealthKey::Peer(ip) => ip.to_string(),
        HealthKey::Prefix(net, bits) => format!("{net}/{bits}"),
        HealthKey::Process(Some((pid, command))) => format!("{} ({pid})", escape(command)),
        HealthKey::Process(None) => "(no owner found)".into(),
        HealthKey::Cgroup(id) => format!("cgroup {id}"),
        HealthKey::Workload(Some((name, _))) => escape(name).into_owned(),
        HealthKey::Workload(None) => "(unattributed)".into(),
    }
}

fn ms(us: Option<u32>) -> String {
    us.map_or_else(
        || "-".into(),
        |us| format!("{}.{:03}", us / 1000, us % 1000),
    )
}

fn num(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// The table: one row per group, RTTs in milliseconds.
pub fn write_table(out: &mut dyn Write, report: &HealthReport<'_>) -> io::Result<()> {
    let mut text = String::new();
    let per_row = report.netns.per_row;
    let netns_width = report
        .rows
        .iter()
        .map(|r| escape(report.netns.label(r.netns)).chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    if per_row {
        let _ = write!(text, "{:<netns_width$} ", "NETNS");
    }
    let _ = writeln!(
        text,
        "{:<24} {:>7} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>6} {:>6} {:>6} {:>10} {:>10}",
        "GROUP",
        "CONNS",
        "RTT-P50",
        "RTT-P90",
        "RTT-P99",
        "RTT-MAX",
        "RETRANS",
        "RETR-NOW",
        "LOST",
        "ZWIN",
        "STALL",
        "RECV-Q",
        "SEND-Q"
    );
    for r in report.rows {
        if per_row {
            let _ = write!(
                text,
                "{:<netns_width$} ",
                escape(report.netns.label(r.netns))
            );
        }
        let _ = writeln!(
            text,
            "{:<24} {:>7} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>6} {:>6} {:>6} {:>10} {:>10}",
            group_name(&r.key),
            r.sockets,
            ms(r.rtt_p50_us),
            ms(r.rtt_p90_us),
            ms(r.rtt_p99_us),
            ms(r.rtt_max_us),
            num(r.retransmitted_segments),
            num(r.retransmitting_sockets),
            num(r.lost_segments),
            num(r.zero_window_sockets),
            num(r.stalled_sockets),
            r.recv_q_bytes,
            r.send_q_bytes
        );
    }
    if report.rows.is_empty() {
        text.push_str("(no connections)\n");
    }
    if report.omitted > 0 {
        let _ = writeln!(text, "{} more group(s) not shown (--top)", report.omitted);
    }
    let _ = writeln!(
        text,
        "RTT in ms; RETRANS: segments retransmitted (total); RETR-NOW: connections with \
         retransmits in flight; ZWIN: zero window; STALL: data queued, nothing acked for {} s",
        f64::from(report.stall_ms) / 1000.0
    );
    out.write_all(text.as_bytes())
}

/// One group; the keys of the other groupings are null.
#[derive(Serialize, Default)]
struct GroupJson<'a> {
    /// Only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns_label: Option<&'a str>,
    port: Option<u16>,
    direction: Option<&'static str>,
    peer: Option<String>,
    /// `--by prefix`: `10.1.2.0/24`.
    prefix: Option<String>,
    /// `--by process` (null both: no owner found).
    pid: Option<u32>,
    command: Option<String>,
    /// `--by workload` (null both: unattributed).
    workload: Option<String>,
    workload_kind: Option<&'static str>,
    sockets: u64,
    sockets_with_info: u64,
    rtt_p50_us: Option<u32>,
    rtt_p90_us: Option<u32>,
    rtt_p99_us: Option<u32>,
    rtt_max_us: Option<u32>,
    retransmitted_segments: Option<u64>,
    retransmitting_sockets: Option<u64>,
    lost_segments: Option<u64>,
    zero_window_sockets: Option<u64>,
    stalled_sockets: Option<u64>,
    recv_q_bytes: u64,
    send_q_bytes: u64,
}

#[derive(Serialize)]
struct HealthJson<'a> {
    #[serde(flatten)]
    header: Header<'a>,
    stall_ms: u32,
    groups: Vec<GroupJson<'a>>,
    groups_omitted: usize,
    #[serde(flatten)]
    footer: Footer<'a>,
}

/// One JSON object.
pub fn write_json(out: &mut dyn Write, report: &HealthReport<'_>) -> io::Result<()> {
    let groups = report
        .rows
        .iter()
        .map(|r| {
            let mut group = GroupJson {
                netns_label: super::json::row_netns(report.netns, r.netns),
                ..GroupJson::default()
            };
            match &r.key {
                HealthKey::Service { port, direction } => {
                    (group.port, group.direction) = (Some(*port), Some(direction.name()));
                }
                HealthKey::Peer(ip) => group.peer = Some(ip.to_string()),
                HealthKey::Prefix(net, bits) => group.prefix = Some(format!("{net}/{bits}")),
                HealthKey::Process(owner) => {
                    if let Some((pid, command)) = owner {
                        (group.pid, group.command) = (Some(*pid), Some(command.clone()));
                    }
                }
                // Not left after regrouping; said as its id if it were.
                HealthKey::Cgroup(id) => group.workload = Some(format!("cgroup {id}")),
                HealthKey::Workload(workload) => {
                    if let Some((name, kind)) = workload {
                        (group.workload, group.workload_kind) = (Some(name.clone()), Some(*kind));
                    }
                }
            }
            GroupJson {
                sockets: r.sockets,
                sockets_with_info: r.with_info,
                rtt_p50_us: r.rtt_p50_us,
                rtt_p90_us: r.rtt_p90_us,
                rtt_p99_us: r.rtt_p99_us,
                rtt_max_us: r.rtt_max_us,
                retransmitted_segments: r.retransmitted_segments,
                retransmitting_sockets: r.retransmitting_sockets,
                lost_segments: r.lost_segments,
                zero_window_sockets: r.zero_window_sockets,
                stalled_sockets: r.stalled_sockets,
                recv_q_bytes: r.recv_q_bytes,
                send_q_bytes: r.send_q_bytes,
                ..group
            }
        })
        .collect();
    let doc = HealthJson {
        header: Header::new(report.timestamp, report.hostname),
        stall_ms: report.stall_ms,
        groups,
        groups_omitted: report.omitted,
        footer: Footer::new(report.outcome, report.netns),
    };
    let text = super::json::to_string(&doc)?;
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")
}
