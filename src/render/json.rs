//! JSON output: a contract with scripts.
//!
//! Owns: the wire types, separate from the model so the model can change without the JSON
//! changing shape, and the envelope every document shares ([`Header`] first, [`Footer`]
//! last). Keys are snake_case except state names, which are the canonical upper-case names;
//! every state key is always present; numbers are numbers. One name and one type per concept
//! across every document: `states` / `unknown` / `total` for sockets by state, sockets in
//! states tcpstat does not know and every socket of an object; `netns` for the namespaces
//! read, `netns_label` for a row's namespace; `<array>_omitted` for what `--top` left out.
//! Bump [`SCHEMA_VERSION`] on any change that could break a reader. The schema is described
//! in docs/GUIDE.md and published as JSON Schema in `docs/schema/`.

use std::io::{self, Write};

use serde::Serialize;

use crate::model::workload::Workload;

use super::text::is_unsafe_for_terminals;
use super::{NetnsView, PortsReport, ProcsReport, SummaryReport};
use crate::aggregate::PortGrouping;
use crate::model::{Family, Outcome, StateSet, TcpState};
use crate::model::{StateCounts, StateRow};

/// Version of every JSON document tcpstat prints (each JSON document, each NDJSON line).
/// 2: one vocabulary across documents (see docs/GUIDE.md's list of changes from 1).
pub const SCHEMA_VERSION: u32 = 2;

/// The keys every document starts with: which schema, when, where.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Header<'a> {
    pub schema_version: u32,
    /// RFC 3339, UTC, milliseconds: when the numbers were taken.
    pub timestamp: &'a str,
    /// The kernel's host name; `null` when unreadable.
    pub hostname: Option<&'a str>,
}

impl<'a> Header<'a> {
    pub fn new(timestamp: &'a str, hostname: Option<&'a str>) -> Header<'a> {
        Header {
            schema_version: SCHEMA_VERSION,
            timestamp,
            hostname,
        }
    }
}

/// The keys every document ends with: where the numbers came from and what is partial. Last,
/// because a streamed document (`list --json`) knows them only once every row is written.
#[derive(Debug, Serialize)]
pub struct Footer<'a> {
    /// `netlink` or `proc`.
    pub source: &'static str,
    /// Why netlink was not used, when `--source auto` fell back to /proc.
    pub fallback_reason: Option<&'a str>,
    /// `false` when some sockets could not be read; `warnings` says which.
    pub complete: bool,
    pub warnings: &'a [String],
    /// The namespaces read (see [`NetnsJson`]); absent without namespace options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<Vec<NetnsJson<'a>>>,
}

impl<'a> Footer<'a> {
    pub fn new(outcome: &'a Outcome, view: &'a NetnsView<'a>) -> Footer<'a> {
        Footer {
            source: outcome.source.name(),
            fallback_reason: outcome.fallback_reason.as_deref(),
            complete: outcome.complete,
            warnings: &outcome.warnings,
            netns: netns(view),
        }
    }
}

/// The eleven states as fixed keys, in lifecycle order.
#[derive(Debug, Serialize)]
pub struct StatesJson {
    #[serde(rename = "LISTEN")]
    pub listen: u64,
    #[serde(rename = "SYN_SENT")]
    pub syn_sent: u64,
    #[serde(rename = "SYN_RECV")]
    pub syn_recv: u64,
    #[serde(rename = "ESTABLISHED")]
    pub established: u64,
    #[serde(rename = "FIN_WAIT_1")]
    pub fin_wait_1: u64,
    #[serde(rename = "FIN_WAIT_2")]
    pub fin_wait_2: u64,
    #[serde(rename = "CLOSE_WAIT")]
    pub close_wait: u64,
    #[serde(rename = "CLOSING")]
    pub closing: u64,
    #[serde(rename = "LAST_ACK")]
    pub last_ack: u64,
    #[serde(rename = "TIME_WAIT")]
    pub time_wait: u64,
    #[serde(rename = "CLOSED")]
    pub closed: u64,
}

impl StatesJson {
    /// Builds the object from a per-state lookup.
    pub fn from_fn(count: impl Fn(TcpState) -> u64) -> StatesJson {
        StatesJson {
            listen: count(TcpState::Listen),
            syn_sent: count(TcpState::SynSent),
            syn_recv: count(TcpState::SynRecv),
            established: count(TcpState::Established),
            fin_wait_1: count(TcpState::FinWait1),
            fin_wait_2: count(TcpState::FinWait2),
            close_wait: count(TcpState::CloseWait),
            closing: count(TcpState::Closing),
            last_ack: count(TcpState::LastAck),
            time_wait: count(TcpState::TimeWait),
            closed: count(TcpState::Closed),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FamilyJson {
    pub states: StatesJson,
    pub unknown: u64,
    pub total: u64,
}

#[derive(Debug, Serialize)]
pub struct FamiliesJson {
    pub ipv4: FamilyJson,
    pub ipv6: FamilyJson,
}

/// The sockets of one kernel state value tcpstat does not know.
#[derive(Debug, Serialize)]
pub struct UnknownStateJson {
    /// The raw kernel state value.
    pub state_value: u8,
    pub ipv4: u64,
    pub ipv6: u64,
    pub total: u64,
}

/// `tcpstat summary --json`.
#[derive(Debug, Serialize)]
pub struct SummaryJson<'a> {
    #[serde(flatten)]
    pub header: Header<'a>,
    pub source_covers: Vec<&'static str>,
    pub counted_states: Vec<&'static str>,
    pub counted_families: Vec<&'static str>,
    pub states: StatesJson,
    /// Sockets in kernel states tcpstat does not know (by value in `unknown_states`).
    pub unknown: u64,
    pub total: u64,
    pub families: FamiliesJson,
    pub unknown_states: Vec<UnknownStateJson>,
    #[serde(flatten)]
    pub footer: Footer<'a>,
}

/// A network namespace that was read or skipped, in the `netns` array that documents carry
/// when tcpstat was told which namespaces to read (`--netns`, `--netns-pid`, `--all-netns`).
#[derive(Debug, Serialize)]
pub struct NetnsJson<'a> {
    /// How tables and rows name it: the /run/netns name, the path given, or
    /// `ns:[INODE] (COMMAND)`.
    pub label: &'a str,
    /// Its name under /run/netns.
    pub name: Option<&'a str>,
    /// The nsfs inode (as `ip netns identify`, `lsns` and `/proc/PID/ns/net` show it).
    pub inode: u64,
    /// A process in it, when one is known.
    pub pid: Option<u32>,
    pub command: Option<&'a str>,
    /// tcpstat's own namespace.
    pub current: bool,
    /// Why it was not read (`--all-netns` skips namespaces it cannot enter); `null` when read.
    pub skipped: Option<&'a str>,
    /// `--all-netns`, when read: its counted sockets by state, in unknown states, and their
    /// total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub states: Option<StatesJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// The `netns` array of a document; `None` (no key) without namespace options.
pub fn netns<'a>(view: &'a NetnsView<'a>) -> Option<Vec<NetnsJson<'a>>> {
    if view.entries.is_empty() {
        return None;
    }
    Some(
        view.entries
            .iter()
            .map(|e| NetnsJson {
                label: &e.ns.label,
                name: e.ns.name.as_deref(),
                inode: e.ns.inode,
                pid: e.ns.process.as_ref().map(|p| p.pid),
                command: e.ns.process.as_ref().map(|p| p.command.as_str()),
                current: e.ns.current,
                skipped: e.skipped.as_deref(),
                states: e.counts.as_ref().map(row_states),
                unknown: e.counts.as_ref().map(|c| c.unknown),
                total: e.counts.as_ref().map(StateRow::total),
            })
            .collect(),
    )
}

/// A row's namespace label (`netns_label`), only with `--all-netns`.
pub fn row_netns<'a>(view: &'a NetnsView<'a>, inode: u64) -> Option<&'a str> {
    view.per_row.then(|| view.label(inode))
}

fn names(set: StateSet) -> Vec<&'static str> {
    set.iter().map(TcpState::name).collect()
}

fn family_json(counts: &StateCounts, family: Family) -> FamilyJson {
    FamilyJson {
        states: StatesJson::from_fn(|s| counts.get(family, s)),
        unknown: counts
            .unknown()
            .iter()
            .map(|b| b.by_family[family.index()])
            .sum(),
        total: counts.family_total(family),
    }
}

impl<'a> SummaryJson<'a> {
    pub fn new(report: &'a SummaryReport<'a>) -> SummaryJson<'a> {
        let counts = report.counts;
        SummaryJson {
            header: Header::new(&report.timestamp, report.hostname.as_deref()),
            source_covers: names(report.outcome.covers),
            counted_states: names(report.counted_states()),
            counted_families: report.families().iter().map(|f| f.key()).collect(),
            states: StatesJson::from_fn(|s| counts.state_total(s)),
            unknown: counts.unknown().iter().map(|b| b.total()).sum(),
            total: counts.total(),
            families: FamiliesJson {
                ipv4: family_json(counts, Family::V4),
                ipv6: family_json(counts, Family::V6),
            },
            unknown_states: counts
                .unknown()
                .iter()
                .map(|b| UnknownStateJson {
                    state_value: b.value,
                    ipv4: b.by_family[Family::V4.index()],
                    ipv6: b.by_family[Family::V6.index()],
                    total: b.total(),
                })
                .collect(),
            footer: Footer::new(report.outcome, report.netns),
        }
    }
}

/// serde_json's compact output, except that every character a terminal must not see raw
/// ([`is_unsafe_for_terminals`]: C0, DEL, C1, bidi controls, U+2028 / U+2029) is written as
/// `\uXXXX`. JSON allows the raw characters, so serde_json writes them as they are (all but
/// C0), and they would reach the terminal of whoever runs `tcpstat ... --json`; escaped, the
/// decoded strings are identical and the bytes are inert. Every JSON and NDJSON output goes
/// through [`write_line`] or [`to_string`], which use it.
#[derive(Debug, Default, Clone, Copy)]
pub struct InertFormatter;

impl serde_json::ser::Formatter for InertFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Fragments never hold C0 (serde_json escapes those itself); below DEL all is safe.
        if fragment.bytes().all(|b| b < 0x7f) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if is_unsafe_for_terminals(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                // JSON escapes are UTF-16 code units: a character beyond the Basic
                // Multilingual Plane (the tag characters) is a surrogate pair.
                for unit in c.encode_utf16(&mut [0; 2]) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Writes `value` as one line of JSON (through [`InertFormatter`]).
pub fn write_line(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, InertFormatter);
    value.serialize(&mut serializer).map_err(io::Error::from)?;
    writeln!(out)
}

/// `value` as compact JSON text (through [`InertFormatter`]), for outputs that assemble lines
/// themselves (`list`).
pub fn to_string(value: &impl Serialize) -> io::Result<String> {
    let mut bytes = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, InertFormatter);
    value.serialize(&mut serializer).map_err(io::Error::from)?;
    // The formatter writes only valid UTF-8: serde_json's output plus ASCII escapes.
    String::from_utf8(bytes).map_err(io::Error::other)
}

/// A listening port's accept queue.
#[derive(Debug, Serialize)]
pub struct ListenerJson {
    /// Listening sockets on the port (several with SO_REUSEPORT or per address).
    pub listening_sockets: u64,
    /// Connections waiting to be accepted.
    pub queued: u64,
    /// Configured backlog (sum); `null` when the source does not report it (/proc).
    pub backlog: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct PortJson<'a> {
    /// The label of the row's network namespace; only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns_label: Option<&'a str>,
    pub port: u16,
    /// `in` / `out` (service grouping), `local` / `remote`.
    pub direction: &'static str,
    pub states: StatesJson,
    pub unknown: u64,
    pub total: u64,
    /// `null` unless the port is listened on (and the row is its local side).
    pub listener: Option<ListenerJson>,
}

/// `tcpstat ports --json`.
#[derive(Debug, Serialize)]
pub struct PortsJson<'a> {
    #[serde(flatten)]
    pub header: Header<'a>,
    /// `service`, `local` or `remote`.
    pub grouping: &'static str,
    pub counted_states: Vec<&'static str>,
    pub ports: Vec<PortJson<'a>>,
    /// Rows left out of `ports` by `--top` (0 without it).
    pub ports_omitted: usize,
    #[serde(flatten)]
    pub footer: Footer<'a>,
}

pub fn row_states(row: &StateRow) -> StatesJson {
    StatesJson::from_fn(|s| row.get(s))
}

pub fn ports<'a>(report: &'a PortsReport<'a>) -> PortsJson<'a> {
    PortsJson {
        header: Header::new(&report.timestamp, report.hostname.as_deref()),
        grouping: match report.grouping {
            PortGrouping::Service => "service",
            PortGrouping::Local => "local",
            PortGrouping::Remote => "remote",
        },
        counted_states: names(report.filter.states.intersect(report.outcome.covers)),
        ports: report
            .rows
            .iter()
            .map(|r| PortJson {
                netns_label: row_netns(report.netns, r.netns),
                port: r.port,
                direction: r.direction.name(),
                states: row_states(&r.counts),
                unknown: r.counts.unknown,
                total: r.counts.total(),
                listener: r.listener.map(|q| ListenerJson {
                    listening_sockets: q.sockets,
                    queued: q.queued,
                    backlog: q.backlog,
                }),
            })
            .collect(),
        ports_omitted: report.cut.omitted,
        footer: Footer::new(report.outcome, report.netns),
    }
}

#[derive(Debug, Serialize)]
pub struct ProcessJson<'a> {
    /// The label of the row's network namespace; only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns_label: Option<&'a str>,
    pub pid: u32,
    /// The kernel's command name (/proc/PID/comm), as is: [`InertFormatter`] makes it inert.
    pub command: &'a str,
    pub uid: u32,
    pub user: Option<&'a str>,
    pub states: StatesJson,
    pub unknown: u64,
    pub total: u64,
}

#[derive(Debug, Serialize)]
pub struct SpecialRowJson {
    pub states: StatesJson,
    pub unknown: u64,
    pub total: u64,
    pub reason: String,
}

/// The connections not accepted yet, with where they wait.
#[derive(Debug, Serialize)]
pub struct NotAcceptedJson<'a> {
    pub states: StatesJson,
    pub unknown: u64,
    pub total: u64,
    pub reason: &'static str,
    /// Per listening address and port, busiest first.
    pub listeners: Vec<AcceptQueueJson<'a>>,
}

/// One listening socket's connections not accepted yet.
#[derive(Debug, Serialize)]
pub struct AcceptQueueJson<'a> {
    /// The label of its network namespace; only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns_label: Option<&'a str>,
    /// The listening address (`0.0.0.0` / `::` for every address).
    pub local_address: String,
    pub local_port: u16,
    /// Connections waiting on it to be accepted (as `ports`' `listener.queued`).
    pub queued: u64,
    /// Whether a listening socket was found (it can close while tcpstat reads).
    pub found: bool,
    /// The processes holding the listening socket: the ones that have not accept()ed.
    pub owners: Vec<QueueOwnerJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct QueueOwnerJson<'a> {
    pub pid: u32,
    pub command: &'a str,
}

/// What the owner walk could not see.
#[derive(Debug, Serialize)]
pub struct OwnerScanJson {
    pub processes_seen: u64,
    /// Processes whose descriptors could not be read (permission: run as root).
    pub processes_hidden: u64,
    /// Processes that exited during the walk.
    pub processes_vanished: u64,
    /// Processes whose descriptors could not be read because of an I/O error (EMFILE, ...);
    /// like hidden ones, they may own sockets shown as hidden.
    pub processes_failed: u64,
}

/// `tcpstat procs --json`.
#[derive(Debug, Serialize)]
pub struct ProcsJson<'a> {
    #[serde(flatten)]
    pub header: Header<'a>,
    pub counted_states: Vec<&'static str>,
    pub processes: Vec<ProcessJson<'a>>,
    /// Process rows left out of `processes` by `--top` (0 without it).
    pub processes_omitted: usize,
    pub not_accepted: NotAcceptedJson<'a>,
    pub no_owner: SpecialRowJson,
    pub hidden: SpecialRowJson,
    pub owner_not_found: SpecialRowJson,
    /// Distinct sockets counted; a shared socket is in several `processes` rows but once here.
    pub total: u64,
    pub counting_rule: &'static str,
    pub owner_scan: OwnerScanJson,
    #[serde(flatten)]
    pub footer: Footer<'a>,
}

fn special(row: &StateRow, reason: impl Into<String>) -> SpecialRowJson {
    SpecialRowJson {
        states: row_states(row),
        unknown: row.unknown,
        total: row.total(),
        reason: reason.into(),
    }
}

pub fn procs<'a>(report: &'a ProcsReport<'a>) -> ProcsJson<'a> {
    let m = report.matrix;
    let stats = report.owner_stats;
    ProcsJson {
        header: Header::new(&report.timestamp, report.hostname.as_deref()),
        counted_states: names(report.filter.states.intersect(report.outcome.covers)),
        processes: m
            .processes
            .iter()
            .map(|p| ProcessJson {
                netns_label: row_netns(report.netns, p.netns),
                pid: p.pid,
                command: &p.command,
                uid: p.uid,
                user: report.users.name(p.uid),
                states: row_states(&p.counts),
                unknown: p.counts.unknown,
                total: p.counts.total(),
            })
            .collect(),
        processes_omitted: report.cut.omitted,
        not_accepted: NotAcceptedJson {
            states: row_states(&m.not_accepted),
            unknown: m.not_accepted.unknown,
            total: m.not_accepted.total(),
            reason: "connections the kernel completed that the listening process has not \
                     accept()ed yet: no file, so no process holds them until it does; they wait \
                     in the accept queue of the listening sockets in `listeners` (see `ports`)",
            listeners: m
                .accept_queues
                .iter()
                .map(|q| AcceptQueueJson {
                    netns_label: row_netns(report.netns, q.netns),
                    local_address: q.address.to_string(),
                    local_port: q.port,
                    queued: q.sockets,
                    found: q.listener_found,
                    owners: q
                        .owners
                        .iter()
                        .map(|(pid, command)| QueueOwnerJson { pid: *pid, command })
                        .collect(),
                })
                .collect(),
        },
        no_owner: special(
            &m.no_owner,
            "TIME_WAIT and SYN_RECV minisockets and orphans (closed by their process, still \
             finishing: FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK) belong to no process",
        ),
        hidden: special(&m.hidden, super::hidden_reason(&stats)),
        owner_not_found: special(
            &m.not_found,
            "no process held the socket when the processes were scanned",
        ),
        total: m.sockets,
        counting_rule: "a socket shared by several processes counts once in each of their rows",
        owner_scan: OwnerScanJson {
            processes_seen: stats.processes_seen,
            processes_hidden: stats.processes_hidden,
            processes_vanished: stats.processes_vanished,
            processes_failed: stats.processes_failed,
        },
        footer: Footer::new(report.outcome, report.netns),
    }
}

/// A workload's identity, as JSON: every key present, `null` when unknown.
#[derive(Debug, Serialize)]
pub struct WorkloadJson<'a> {
    /// The display name (see `Workload::name`).
    pub workload: String,
    /// `pod`, `container`, `service`, `user-service`, `unit`, `host` or `cgroup`.
    pub kind: &'static str,
    /// The cgroup v2 path.
    pub cgroup: &'a str,
    pub unit: Option<&'a str>,
    pub runtime: Option<&'static str>,
    pub container_id: Option<&'a str>,
    pub container: Option<&'a str>,
    pub pod: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub pod_uid: Option<&'a str>,
}

impl<'a> WorkloadJson<'a> {
    pub fn of(w: &'a Workload) -> WorkloadJson<'a> {
        let r = &w.recognised;
        let n = &w.names;
        WorkloadJson {
            workload: w.name(),
            kind: w.kind().key(),
            cgroup: &w.cgroup,
            unit: r.unit.as_deref(),
            runtime: r.runtime.or(n.runtime).map(|r| r.key()),
            container_id: r.container_id.as_deref(),
            container: n.container.as_deref().or(r.machine.as_deref()),
            pod: n.pod.as_deref(),
            namespace: n.namespace.as_deref(),
            pod_uid: r.pod_uid.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_escaped_and_decode_unchanged() {
        let raw = "a\u{1b}[2J\u{7}b\u{7f}c\u{9b}d\u{202e}e\u{2066}f\u{61c}g\u{200e}\u{2028}\u{2029}h\u{e9}\u{1f600}\u{200b}i\u{e0041}\u{3164}";
        let mut out = Vec::new();
        write_line(&mut out, &serde_json::json!({ raw: [raw] })).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        let body = text.strip_suffix('\n').expect("one line");
        assert!(!body.chars().any(is_unsafe_for_terminals), "{body:?}");
        for escaped in [
            "\\u001b",
            "\\u0007",
            "\\u007f",
            "\\u009b",
            "\\u202e",
            "\\u2066",
            "\\u061c",
            "\\u200e",
            "\\u2028",
            "\\u2029",
            "\\u200b",
            // A tag character, beyond the Basic Multilingual Plane: a surrogate pair.
            "\\udb40\\udc41",
            "\\u3164",
        ] {
            assert!(body.contains(escaped), "{escaped} in {body}");
        }
        assert!(
            body.contains("h\u{e9}\u{1f600}"),
            "other text stays as it is: {body}"
        );
        let back: serde_json::Value = serde_json::from_str(body).expect("valid JSON");
        assert_eq!(back[raw][0], raw, "the decoded value is unchanged");
        let string = to_string(&raw).expect("text");
        assert!(
            body.starts_with(&format!("{{{string}:[{string}]")),
            "keys too: {body}"
        );
    }
}
