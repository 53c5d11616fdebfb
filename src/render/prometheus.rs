//! Prometheus text exposition (format 0.0.4): what node_exporter's textfile collector and a
//! Prometheus scrape of `tcpstat serve` read.
//!
//! Owns: metric names, their HELP and TYPE lines, label escaping (outside text made inert,
//! then escaped as the format requires; injective, see [`escape_label`]) and the layout of
//! each report. Label sets are bounded by the caller (`aggregate::bound_ports`,
//! `ProcMatrix::by_command`): this module writes what it is given. Never reads the kernel.
//!
//! Every family is written once, with all its samples together, and no timestamps (the
//! textfile collector rejects them). The meta families carry a `report` label (`summary`,
//! `ports`, `procs`, `serve`) so that several textfiles from one host do not collide.

use std::borrow::Cow;
use std::fmt::Display;
use std::io::{self, Write};
use std::time::Duration;

use crate::aggregate::workloads::WorkloadMatrix;
use crate::aggregate::{BoundedPorts, CommandRows, ListenerQueue, ProcMatrix};
use crate::model::Outcome;
use crate::model::StateSet;
use crate::model::{StateCounts, StateRow};

pub mod health;
mod process;
pub use health::port_health;
pub use process::{process_stats, ProcessStats};

/// The content type of this format, for HTTP.
use crate::render::text::escape;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value as the exposition writes it. Values (command names, namespace names) come
/// from other users and end up on terminals (`curl /metrics`, promtool, a console), so they
/// are first made inert exactly as every human-readable output does ([`escape`]: control,
/// bidi and invisible characters become their visible text form `\x1b`, `\u{200b}`, and a
/// backslash is doubled, so that the text form cannot be faked), then escaped as the format
/// requires (`\` -> `\\`, `"` -> `\"`; no line feed is left).
///
/// Both steps are injective, so two different names always give two different label values:
/// a process called `ev\x1bil` (the four characters) and one with a raw ESC get `ev\\x1bil`
/// and `ev\x1bil`, not one series (issue 14: a local user could make node_exporter reject the
/// scrape, or Prometheus collapse two series).
pub fn escape_label(value: &str) -> Cow<'_, str> {
    let inert = escape(value);
    if !inert.contains(['\\', '"']) {
        return inert;
    }
    let mut out = String::with_capacity(inert.len() + 8);
    for c in inert.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    /// Written as `NAME_bucket{le}`, `NAME_sum` and `NAME_count`.
    Histogram,
}

impl Kind {
    /// As the TYPE line says it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// A label of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub name: &'static str,
    /// Its values, when they are a fixed set (empty: any, such as a port or a command).
    pub values: &'static [&'static str],
}

impl Label {
    const fn free(name: &'static str) -> Label {
        Label { name, values: &[] }
    }

    const fn of(name: &'static str, values: &'static [&'static str]) -> Label {
        Label { name, values }
    }
}

/// A metric family, as the exposition writes it and the documentation describes it: the one
/// table ([`METRICS`]) that tcpstat-metrics(7) and the user guide's metrics table are generated
/// from (`src/generate`), so they cannot drift from what is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    /// Its labels, besides `netns`, which every series read from another network namespace
    /// than tcpstat's own carries.
    pub labels: &'static [Label],
    /// Which reports write it, and when.
    pub written: &'static str,
    /// Its HELP line. Ours: no escaping needed (no backslash, no line feed; a test checks).
    pub help: &'static str,
}

/// Writes one family's HELP and TYPE lines.
fn family(out: &mut dyn Write, metric: &Metric) -> io::Result<()> {
    writeln!(out, "# HELP {} {}", metric.name, metric.help)?;
    writeln!(out, "# TYPE {} {}", metric.name, metric.kind.name())
}

/// Writes one sample. Label names are ours; values are escaped.
fn sample(
    out: &mut dyn Write,
    name: &str,
    labels: &[(&str, &str)],
    value: impl Display,
) -> io::Result<()> {
    write!(out, "{name}")?;
    if !labels.is_empty() {
        write!(out, "{{")?;
        for (i, (label, v)) in labels.iter().enumerate() {
            if i > 0 {
                write!(out, ",")?;
            }
            write!(out, "{label}=\"{}\"", escape_label(v))?;
        }
        write!(out, "}}")?;
    }
    writeln!(out, " {value}")
}

const STATE: Label = Label::free("state");
const FAMILY: Label = Label::of("family", &["ipv4", "ipv6"]);
const VALUE: Label = Label::free("value");
const PORT: Label = Label::free("port");
const DIRECTION: Label = Label::of("direction", &["in", "out"]);
const COMMAND: Label = Label::free("command");
const REASON: Label = Label::of(
    "reason",
    &["no_owner", "not_accepted", "hidden", "not_found"],
);
const REPORT: Label = Label::of(
    "report",
    &["summary", "ports", "procs", "workloads", "serve"],
);
const WORKLOAD: Label = Label::free("workload");
const KIND: Label = Label::of(
    "kind",
    &[
        "pod",
        "container",
        "service",
        "user-service",
        "unit",
        "host",
        "cgroup",
    ],
);
const SOURCE: Label = Label::of("source", &["netlink", "proc"]);
const VERSION: Label = Label::free("version");
const REVISION: Label = Label::free("revision");

pub const SOCKETS: Metric = Metric {
    name: "tcpstat_sockets",
    kind: Kind::Gauge,
    labels: &[STATE, FAMILY],
    written: "summary, serve",
    help: "TCP sockets by state and address family (ipv4, ipv6). States the source cannot see (CLOSED from /proc) or not selected are absent.",
};

pub const UNKNOWN_STATE: Metric = Metric {
    name: "tcpstat_unknown_state_sockets",
    kind: Kind::Gauge,
    labels: &[VALUE, FAMILY],
    written: "summary, serve; only when there are such sockets",
    help: "TCP sockets in a state value tcpstat does not know, by raw kernel value and address family.",
};

pub const PORT_SOCKETS: Metric = Metric {
    name: "tcpstat_port_sockets",
    kind: Kind::Gauge,
    labels: &[PORT, DIRECTION, STATE],
    written: "ports, serve",
    help: "TCP sockets by service port, direction and state: direction in is a port this host listens on, out the peer's port of a connection this host opened. The listening ports with the fullest queues and the busiest other ports, up to a limit; port other for the rest.",
};

pub const LISTEN_QUEUE: Metric = Metric {
    name: "tcpstat_listen_queue",
    kind: Kind::Gauge,
    labels: &[PORT],
    written: "ports, serve",
    help:
        "Connections waiting to be accepted on a listening port, summed over its listening sockets.",
};

pub const LISTEN_BACKLOG: Metric = Metric {
    name: "tcpstat_listen_backlog",
    kind: Kind::Gauge,
    labels: &[PORT],
    written: "ports, serve; only from netlink",
    help: "Accept-queue limit (listen backlog) of a listening port, summed over its listening sockets; the queue is full above it. Not reported by /proc.",
};

pub const PROCESS_SOCKETS: Metric = Metric {
    name: "tcpstat_process_sockets",
    kind: Kind::Gauge,
    labels: &[COMMAND, STATE],
    written: "procs, serve --processes",
    help: "TCP sockets by owning command name (/proc/PID/comm, summed over its processes) and state, for the busiest commands. A socket shared by several processes counts for each.",
};

pub const WORKLOAD_SOCKETS: Metric = Metric {
    name: "tcpstat_workload_sockets",
    kind: Kind::Gauge,
    labels: &[WORKLOAD, KIND, STATE],
    written: "workloads, serve --workloads",
    help: "TCP sockets by workload (systemd unit, container, Kubernetes namespace/pod/container, else cgroup path; from each socket's cgroup) and state, for the busiest workloads. TIME_WAIT and SYN_RECV sockets count for the workload listening on their port.",
};

pub const WORKLOAD_OTHER: Metric = Metric {
    name: "tcpstat_workload_other_sockets",
    kind: Kind::Gauge,
    labels: &[STATE],
    written: "workloads, serve --workloads",
    help: "TCP sockets of the workloads not listed in tcpstat_workload_sockets, by state.",
};

pub const WORKLOADS_FOLDED: Metric = Metric {
    name: "tcpstat_workloads_folded",
    kind: Kind::Gauge,
    labels: &[],
    written: "workloads, serve --workloads",
    help: "Workloads summed into tcpstat_workload_other_sockets instead of a series of their own (beyond --top).",
};

pub const UNATTRIBUTED: Metric = Metric {
    name: "tcpstat_unattributed_sockets",
    kind: Kind::Gauge,
    labels: &[STATE],
    written: "workloads, serve --workloads",
    help: "TCP sockets with no workload: no cgroup id and no listener or owner to attribute them to (a client's TIME_WAIT sockets; with the /proc source, sockets whose owner was not found).",
};

pub const PROCESS_OTHER: Metric = Metric {
    name: "tcpstat_process_other_sockets",
    kind: Kind::Gauge,
    labels: &[STATE],
    written: "procs, serve --processes",
    help: "TCP sockets of the commands not listed in tcpstat_process_sockets, by state.",
};

pub const COMMANDS_FOLDED: Metric = Metric {
    name: "tcpstat_process_commands_folded",
    kind: Kind::Gauge,
    labels: &[],
    written: "procs, serve --processes; only when commands were folded",
    help: "Command names summed into tcpstat_process_other_sockets (beyond --top).",
};

pub const PORTS_FOLDED: Metric = Metric {
    name: "tcpstat_ports_folded",
    kind: Kind::Gauge,
    labels: &[DIRECTION],
    written: "ports, serve; only when ports were folded",
    help: "Ports summed into port other (beyond --top and --top-listening), by direction.",
};

pub const UNOWNED: Metric = Metric {
    name: "tcpstat_unowned_sockets",
    kind: Kind::Gauge,
    labels: &[REASON, STATE],
    written: "procs, serve --processes",
    help: "TCP sockets without a process by reason and state: no_owner (TIME_WAIT, SYN_RECV, orphans), not_accepted (completed connections the listening process has not accept()ed), hidden (owner not readable), not_found.",
};

pub const SOURCE_INFO: Metric = Metric {
    name: "tcpstat_source_info",
    kind: Kind::Gauge,
    labels: &[REPORT, SOURCE],
    written: "every report (serve: when its collection worked)",
    help: "Always 1; the source label says what produced the numbers: netlink (sock_diag) or proc (/proc/net/tcp and tcp6, which cannot see CLOSED).",
};

pub const COMPLETE: Metric = Metric {
    name: "tcpstat_collection_complete",
    kind: Kind::Gauge,
    labels: &[REPORT],
    written: "every report (serve: when its collection worked)",
    help: "1 when every socket could be read; 0 when some could not (malformed or changing /proc rows), see tcpstat's warnings.",
};

pub const DURATION: Metric = Metric {
    name: "tcpstat_scrape_duration_seconds",
    kind: Kind::Gauge,
    labels: &[REPORT],
    written: "every report",
    help: "Seconds spent reading the kernel and building this report.",
};

pub const SUCCESS: Metric = Metric {
    name: "tcpstat_collection_success",
    kind: Kind::Gauge,
    labels: &[],
    written: "serve",
    help: "1 when this scrape's collection worked, 0 when it failed (the socket metrics are then absent; the error is on tcpstat serve's stderr).",
};

pub const ERRORS: Metric = Metric {
    name: "tcpstat_collection_errors_total",
    kind: Kind::Counter,
    labels: &[],
    written: "serve",
    help: "Collections that failed since tcpstat serve started.",
};

pub const COLLECTIONS: Metric = Metric {
    name: "tcpstat_collections_total",
    kind: Kind::Counter,
    labels: &[],
    written: "serve",
    help: "Collections made since tcpstat serve started; concurrent scrapes share one.",
};

pub const SCRAPES: Metric = Metric {
    name: "tcpstat_scrapes_total",
    kind: Kind::Counter,
    labels: &[],
    written: "serve",
    help: "Answers to /metrics since tcpstat serve started.",
};

pub const BUILD_INFO: Metric = Metric {
    name: "tcpstat_build_info",
    kind: Kind::Gauge,
    labels: &[VERSION, REVISION],
    written: "serve",
    help: "Always 1; the version label is tcpstat's version, revision the git commit it was built from (unknown when built from a source tarball).",
};

/// Every metric family tcpstat writes, in the order the documentation lists them.
pub const METRICS: [Metric; 35] = [
    SOCKETS,
    UNKNOWN_STATE,
    PORT_SOCKETS,
    LISTEN_QUEUE,
    LISTEN_BACKLOG,
    PROCESS_SOCKETS,
    PROCESS_OTHER,
    COMMANDS_FOLDED,
    WORKLOAD_SOCKETS,
    WORKLOAD_OTHER,
    WORKLOADS_FOLDED,
    UNATTRIBUTED,
    PORTS_FOLDED,
    health::RTT,
    health::RETRANSMITS,
    health::RETRANSMITTING,
    health::ZERO_WINDOW,
    health::STALLED,
    health::QUEUED,
    health::FOLDED,
    UNOWNED,
    SOURCE_INFO,
    COMPLETE,
    DURATION,
    SUCCESS,
    ERRORS,
    COLLECTIONS,
    SCRAPES,
    BUILD_INFO,
    process::CPU_SECONDS,
    process::OPEN_FDS,
    process::MAX_FDS,
    process::VIRTUAL_MEMORY,
    process::RESIDENT_MEMORY,
    process::START_TIME,
];

/// How metrics name the namespace rows are tagged with ([`crate::model::SocketRecord::netns`]):
/// the value of their `netns` label, or `None` for tcpstat's own namespace, whose series have
/// no such label (they look as they always did). Every series read from another namespace
/// carries it, so that textfiles of several namespaces never collide.
pub type NetnsLabels<'a> = &'a dyn Fn(u64) -> Option<String>;

/// `labels`, then `netns` when there is one.
fn with_netns<'a>(
    labels: &[(&'a str, &'a str)],
    netns: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut all = labels.to_vec();
    if let Some(netns) = netns {
        all.push(("netns", netns));
    }
    all
}

/// `tcpstat_sockets{state,family[,netns]}` for every counted state and family read, and
/// `tcpstat_unknown_state_sockets{value,family[,netns]}` when the kernel reported a state
/// value tcpstat does not know; one set per namespace in `parts` (its label, its counts).
/// States not counted (not selected, or invisible to the source) are absent rather than a
/// false zero.
pub fn sockets(
    out: &mut dyn Write,
    parts: &[(Option<String>, &StateCounts)],
    counted: StateSet,
    families: &[crate::model::Family],
) -> io::Result<()> {
    family(out, &SOCKETS)?;
    for (netns, counts) in parts {
        for state in counted.iter() {
            for &f in families {
                let labels = [("state", state.name()), ("family", f.key())];
                sample(
                    out,
                    SOCKETS.name,
                    &with_netns(&labels, netns.as_deref()),
                    counts.get(f, state),
                )?;
            }
        }
    }
    if parts.iter().any(|(_, c)| !c.unknown().is_empty()) {
        family(out, &UNKNOWN_STATE)?;
        for (netns, counts) in parts {
            for bucket in counts.unknown() {
                let value = bucket.value.to_string();
                for &f in families {
                    let labels = [("value", value.as_str()), ("family", f.key())];
                    sample(
                        out,
                        UNKNOWN_STATE.name,
                        &with_netns(&labels, netns.as_deref()),
                        bucket.by_family[f.index()],
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn state_samples(
    out: &mut dyn Write,
    name: &str,
    labels: &[(&str, &str)],
    row: &StateRow,
    counted: StateSet,
) -> io::Result<()> {
    let mut all: Vec<(&str, &str)> = labels.to_vec();
    all.push(("state", ""));
    let last = all.len() - 1;
    for state in counted.iter() {
        all[last].1 = state.name();
        sample(out, name, &all, row.get(state))?;
    }
    Ok(())
}

/// `tcpstat_port_sockets{port,direction,state[,netns]}`, then the accept queue and backlog of
/// each listening port. `port="other"` sums the ports folded out of the list, and
/// `tcpstat_ports_folded` says how many there were.
pub fn ports(
    out: &mut dyn Write,
    bounded: &BoundedPorts,
    counted: StateSet,
    netns: NetnsLabels<'_>,
) -> io::Result<()> {
    family(out, &PORT_SOCKETS)?;
    for row in &bounded.rows {
        let port = row.port.to_string();
        let label = netns(row.netns);
        let labels = [("port", port.as_str()), ("direction", row.direction.name())];
        state_samples(
            out,
            PORT_SOCKETS.name,
            &with_netns(&labels, label.as_deref()),
            &row.counts,
            counted,
        )?;
    }
    for folded in &bounded.other {
        let label = netns(folded.netns);
        let labels = [("port", "other"), ("direction", folded.direction.name())];
        state_samples(
            out,
            PORT_SOCKETS.name,
            &with_netns(&labels, label.as_deref()),
            &folded.counts,
            counted,
        )?;
    }
    // Each listening port (and the folded ones together) with its queue.
    let listening: Vec<(String, Option<String>, ListenerQueue)> = bounded
        .rows
        .iter()
        .filter_map(|r| r.listener.map(|q| (r.port.to_string(), netns(r.netns), q)))
        .chain(
            bounded
                .other
                .iter()
                .filter_map(|f| f.listener.map(|q| ("other".to_string(), netns(f.netns), q))),
        )
        .collect();
    family(out, &LISTEN_QUEUE)?;
    for (port, label, q) in &listening {
        let labels = [("port", port.as_str())];
        sample(
            out,
            LISTEN_QUEUE.name,
            &with_netns(&labels, label.as_deref()),
            q.queued,
        )?;
    }
    if listening.iter().any(|(_, _, q)| q.backlog.is_some()) {
        family(out, &LISTEN_BACKLOG)?;
        for (port, label, q) in &listening {
            if let Some(b) = q.backlog {
                let labels = [("port", port.as_str())];
                sample(
                    out,
                    LISTEN_BACKLOG.name,
                    &with_netns(&labels, label.as_deref()),
                    b,
                )?;
            }
        }
    }
    if !bounded.other.is_empty() {
        family(out, &PORTS_FOLDED)?;
        for folded in &bounded.other {
            let label = netns(folded.netns);
            let labels = [("direction", folded.direction.name())];
            sample(
                out,
                PORTS_FOLDED.name,
                &with_netns(&labels, label.as_deref()),
                folded.ports,
            )?;
        }
    }
    Ok(())
}

/// `tcpstat_process_sockets{command,state[,netns]}` for the busiest commands,
/// `tcpstat_process_other_sockets{state[,netns]}` for the rest (and how many commands that
/// is), and `tcpstat_unowned_sockets{reason,state[,netns]}` for sockets without a readable
/// owner, per namespace when `matrix` is merged ([`ProcMatrix::merge`]).
/// `workloads --format prometheus`: the first `top` rows of `matrix`, the rest summed, and the
/// sockets without a workload.
pub fn workloads(
    out: &mut dyn Write,
    matrix: &WorkloadMatrix,
    top: usize,
    counted: StateSet,
    netns: NetnsLabels<'_>,
) -> io::Result<()> {
    family(out, &WORKLOAD_SOCKETS)?;
    for row in matrix.rows.iter().take(top) {
        let label = netns(row.netns);
        let labels = [
            ("workload", row.key.as_str()),
            ("kind", row.workload.kind().key()),
        ];
        state_samples(
            out,
            WORKLOAD_SOCKETS.name,
            &with_netns(&labels, label.as_deref()),
            &row.counts,
            counted,
        )?;
    }
    let (rest, folded) = matrix.rest(top);
    family(out, &WORKLOAD_OTHER)?;
    state_samples(out, WORKLOAD_OTHER.name, &[], &rest, counted)?;
    family(out, &WORKLOADS_FOLDED)?;
    sample(out, WORKLOADS_FOLDED.name, &[], folded)?;
    family(out, &UNATTRIBUTED)?;
    let mut none = matrix.unattributed;
    none.merge(&matrix.ungrouped);
    state_samples(out, UNATTRIBUTED.name, &[], &none, counted)
}

pub fn processes(
    out: &mut dyn Write,
    commands: &CommandRows,
    matrix: &ProcMatrix,
    counted: StateSet,
    netns: NetnsLabels<'_>,
) -> io::Result<()> {
    family(out, &PROCESS_SOCKETS)?;
    for (tag, command, row) in &commands.commands {
        let label = netns(*tag);
        let labels = [("command", command.as_str())];
        state_samples(
            out,
            PROCESS_SOCKETS.name,
            &with_netns(&labels, label.as_deref()),
            row,
            counted,
        )?;
    }
    family(out, &PROCESS_OTHER)?;
    // Every namespace read has its `other` series, zero when nothing was folded there.
    let ownerless = matrix.ownerless();
    let zero = StateRow::default();
    let mut others: Vec<(u64, &StateRow)> = commands
        .other
        .iter()
        .map(|(tag, _, row)| (*tag, row))
        .collect();
    for rows in ownerless.iter() {
        if !others.iter().any(|(tag, _)| *tag == rows.netns) {
            others.push((rows.netns, &zero));
        }
    }
    others.sort_by_key(|(tag, _)| *tag);
    for (tag, row) in others {
        let label = netns(tag);
        state_samples(
            out,
            PROCESS_OTHER.name,
            &with_netns(&[], label.as_deref()),
            row,
            counted,
        )?;
    }
    if !commands.other.is_empty() {
        family(out, &COMMANDS_FOLDED)?;
        for (tag, n, _) in &commands.other {
            let label = netns(*tag);
            sample(
                out,
                COMMANDS_FOLDED.name,
                &with_netns(&[], label.as_deref()),
                n,
            )?;
        }
    }
    family(out, &UNOWNED)?;
    for rows in matrix.ownerless().iter() {
        let label = netns(rows.netns);
        for (reason, row) in [
            ("no_owner", &rows.no_owner),
            ("not_accepted", &rows.not_accepted),
            ("hidden", &rows.hidden),
            ("not_found", &rows.not_found),
        ] {
            let labels = [("reason", reason)];
            state_samples(
                out,
                UNOWNED.name,
                &with_netns(&labels, label.as_deref()),
                row,
                counted,
            )?;
        }
    }
    Ok(())
}

/// Where the numbers came from and how long it took.
#[derive(Debug, Clone)]
pub struct Meta<'a> {
    /// `summary`, `ports`, `procs` or `serve`.
    pub report: &'static str,
    /// `None` when the collection failed (serve only).
    pub outcome: Option<&'a Outcome>,
    pub duration: Duration,
    /// The `netns` label of the one namespace read, when it is not tcpstat's own.
    pub netns: Option<String>,
}

/// The meta families: source, completeness and duration.
pub fn meta(out: &mut dyn Write, meta: &Meta<'_>) -> io::Result<()> {
    let report = with_netns(&[("report", meta.report)], meta.netns.as_deref());
    if let Some(outcome) = meta.outcome {
        family(out, &SOURCE_INFO)?;
        let labels = [("report", meta.report), ("source", outcome.source.name())];
        sample(
            out,
            SOURCE_INFO.name,
            &with_netns(&labels, meta.netns.as_deref()),
            1,
        )?;
        family(out, &COMPLETE)?;
        sample(out, COMPLETE.name, &report, u8::from(outcome.complete))?;
    }
    family(out, &DURATION)?;
    sample(out, DURATION.name, &report, meta.duration.as_secs_f64())
}

/// What `serve` adds: whether this scrape's collection worked and the counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeStats {
    pub success: bool,
    /// Collections that failed since the server started.
    pub errors: u64,
    /// Collections made since the server started.
    pub collections: u64,
    /// `/metrics` answers since the server started (more than collections when concurrent
    /// scrapes shared one).
    pub scrapes: u64,
}

pub fn serve_stats(out: &mut dyn Write, stats: &ServeStats) -> io::Result<()> {
    family(out, &SUCCESS)?;
    sample(out, SUCCESS.name, &[], u8::from(stats.success))?;
    family(out, &ERRORS)?;
    sample(out, ERRORS.name, &[], stats.errors)?;
    family(out, &COLLECTIONS)?;
    sample(out, COLLECTIONS.name, &[], stats.collections)?;
    family(out, &SCRAPES)?;
    sample(out, SCRAPES.name, &[], stats.scrapes)?;
    family(out, &BUILD_INFO)?;
    sample(
        out,
        BUILD_INFO.name,
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            // Set by build.rs: the git commit, or `unknown`.
            ("revision", env!("TCPSTAT_REVISION")),
        ],
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{Direction, FoldedPorts, ListenerQueue, PortRow};
    use crate::model::{Family, KernelState, TcpState};

    fn text(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut buf).expect("write to memory");
        String::from_utf8(buf).expect("utf-8")
    }

    #[test]
    fn label_values_are_escaped_per_the_format() {
        assert_eq!(escape_label("nginx"), "nginx");
        assert!(matches!(escape_label("nginx"), Cow::Borrowed(_)));
        // A backslash is doubled twice (made inert, then for the format); a line feed is
        // first its text form.
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\\\b\"c"#);
        assert_eq!(escape_label("a\nb"), r"a\\nb");
        // Control, bidi and invisible characters become visible text (`\x1b`), whose
        // backslash the format escapes.
        assert_eq!(escape_label("x\x1by\tz"), r"x\\x1by\\tz");
        assert_eq!(
            escape_label("a\u{9b}b\u{202e}c\u{2028}\u{200b}"),
            r"a\\u{9b}b\\u{202e}c\\u{2028}\\u{200b}"
        );
        assert_eq!(escape_label("caf\u{e9} \u{1f600}"), "caf\u{e9} \u{1f600}");
        let t = text(|o| sample(o, "m", &[("command", "ev\x1b[2Jil")], 1));
        assert_eq!(t, "m{command=\"ev\\\\x1b[2Jil\"} 1\n");
        let t = text(|o| sample(o, "m", &[("command", "ev\"il\n")], 1));
        assert_eq!(t, "m{command=\"ev\\\"il\\\\n\"} 1\n");
    }

    #[test]
    fn label_escaping_keeps_different_names_apart() {
        // A raw ESC and the four characters `\x1b` must not become one series; nor a raw
        // line feed and the two characters `\n`; nor a zero-width space and its text form.
        for (a, b) in [
            ("ev\x1bil", r"ev\x1bil"),
            ("a\nb", r"a\nb"),
            ("\u{200b}nginx", r"\u{200b}nginx"),
            (r#"a\"b"#, r#"a\\"b"#),
        ] {
            assert_ne!(escape_label(a), escape_label(b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn sockets_lists_counted_states_per_family_and_unknown_values() {
        let mut c = StateCounts::new();
        c.add(Family::V4, KernelState::Known(TcpState::CloseWait));
        c.add(Family::V6, KernelState::Unknown(42));
        let counted = StateSet::ALL.without(StateSet::of(TcpState::Closed));
        let t = text(|o| sockets(o, &[(None, &c)], counted, &Family::ALL));
        assert!(t.starts_with("# HELP tcpstat_sockets "), "{t}");
        assert!(t.contains("# TYPE tcpstat_sockets gauge\n"));
        assert!(t.contains("tcpstat_sockets{state=\"CLOSE_WAIT\",family=\"ipv4\"} 1\n"));
        assert!(t.contains("tcpstat_sockets{state=\"CLOSE_WAIT\",family=\"ipv6\"} 0\n"));
        assert!(
            !t.contains("state=\"CLOSED\""),
            "not counted: absent, not zero"
        );
        assert_eq!(t.matches("tcpstat_sockets{").count(), 20);
        assert!(t.contains("tcpstat_unknown_state_sockets{value=\"42\",family=\"ipv6\"} 1\n"));
    }

    #[test]
    fn ports_write_other_and_listener_queues() {
        let mut counts = StateRow::default();
        counts.counts[TcpState::Listen.index()] = 1;
        let bounded = BoundedPorts {
            rows: vec![PortRow {
                netns: 0,
                port: 8080,
                direction: Direction::In,
                counts,
                listener: Some(ListenerQueue {
                    sockets: 1,
                    queued: 2,
                    backlog: Some(1),
                }),
            }],
            other: vec![FoldedPorts {
                netns: 0,
                direction: Direction::Out,
                ports: 3,
                counts,
                listener: None,
            }],
        };
        let t = text(|o| ports(o, &bounded, StateSet::of(TcpState::Listen), &|_| None));
        assert!(
            t.contains("tcpstat_port_sockets{port=\"8080\",direction=\"in\",state=\"LISTEN\"} 1\n")
        );
        assert!(t.contains(
            "tcpstat_port_sockets{port=\"other\",direction=\"out\",state=\"LISTEN\"} 1\n"
        ));
        assert!(t.contains("tcpstat_listen_queue{port=\"8080\"} 2\n"));
        assert!(t.contains("tcpstat_listen_backlog{port=\"8080\"} 1\n"));
        assert!(
            t.contains("tcpstat_ports_folded{direction=\"out\"} 3\n"),
            "{t}"
        );
    }

    #[test]
    fn other_namespaces_are_labelled_and_do_not_collide() {
        let mut own = StateCounts::new();
        own.add(Family::V4, KernelState::Known(TcpState::CloseWait));
        let mut blue = StateCounts::new();
        blue.add(Family::V4, KernelState::Known(TcpState::CloseWait));
        blue.add(Family::V4, KernelState::Known(TcpState::CloseWait));
        let counted = StateSet::of(TcpState::CloseWait);
        let t = text(|o| {
            sockets(
                o,
                &[(None, &own), (Some("blue".into()), &blue)],
                counted,
                &[Family::V4],
            )
        });
        assert!(
            t.contains("tcpstat_sockets{state=\"CLOSE_WAIT\",family=\"ipv4\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("tcpstat_sockets{state=\"CLOSE_WAIT\",family=\"ipv4\",netns=\"blue\"} 2\n"),
            "{t}"
        );
        assert_eq!(
            t.matches("# TYPE tcpstat_sockets").count(),
            1,
            "one family: {t}"
        );
        let t = text(|o| {
            meta(
                o,
                &Meta {
                    report: "summary",
                    outcome: None,
                    duration: Duration::ZERO,
                    netns: Some("blue".into()),
                },
            )
        });
        assert!(
            t.contains("tcpstat_scrape_duration_seconds{report=\"summary\",netns=\"blue\"} 0\n"),
            "{t}"
        );
    }

    /// Every family written, from inputs that make each appear (unknown states, a listener
    /// with a backlog, folded ports and commands, a known source, serve's counters).
    fn every_family() -> String {
        let mut all = String::new();
        let mut c = StateCounts::new();
        c.add(Family::V4, KernelState::Unknown(42));
        let counted = StateSet::of(TcpState::Listen);
        let parts = [(None, &c), (Some("blue".to_owned()), &c)];
        all += &text(|o| sockets(o, &parts, counted, &Family::ALL));
        let queue = Some(ListenerQueue {
            sockets: 1,
            queued: 0,
            backlog: Some(4),
        });
        let bounded = BoundedPorts {
            rows: vec![PortRow {
                netns: 0,
                port: 80,
                direction: Direction::In,
                counts: StateRow::default(),
                listener: queue,
            }],
            other: vec![FoldedPorts {
                netns: 1,
                direction: Direction::Out,
                ports: 2,
                counts: StateRow::default(),
                listener: None,
            }],
        };
        let label = |ns: u64| (ns == 1).then(|| "blue".to_owned());
        all += &text(|o| ports(o, &bounded, counted, &label));
        let m = ProcMatrix::merge(vec![(0, ProcMatrix::default())]);
        let commands = CommandRows {
            commands: vec![(1, "nginx".to_owned(), StateRow::default())],
            other: vec![(0, 2, StateRow::default())],
        };
        all += &text(|o| processes(o, &commands, &m, counted, &label));
        let workload = std::sync::Arc::new(crate::model::workload::Workload::from_path(
            "/system.slice/nginx.service",
        ));
        let w = WorkloadMatrix {
            rows: vec![crate::aggregate::workloads::WorkloadRow {
                netns: 1,
                key: "nginx.service".into(),
                workload,
                counts: StateRow::default(),
            }],
            ..WorkloadMatrix::default()
        };
        all += &text(|o| workloads(o, &w, 1, counted, &label));
        let mut totals = crate::aggregate::port_health::PortTotals::default();
        totals.rtt_buckets[3] = 2;
        let health = [crate::aggregate::port_health::PortHealthRow {
            netns: 1,
            port: crate::aggregate::port_health::SeriesPort::Port(443),
            direction: Direction::In,
            gauges: Some(crate::aggregate::port_health::PortGauges {
                sockets: 2,
                with_info: 2,
                ..Default::default()
            }),
            totals,
            grown: Default::default(),
        }];
        all += &text(|o| port_health(o, &health, &[(0, Direction::Out, 3)], &label));
        let outcome = Outcome::new(crate::model::SourceKind::Netlink, StateSet::ALL);
        let report = Meta {
            report: "summary",
            outcome: Some(&outcome),
            duration: Duration::ZERO,
            netns: Some("blue".into()),
        };
        all += &text(|o| meta(o, &report));
        all += &text(|o| serve_stats(o, &ServeStats::default()));
        let every = ProcessStats {
            cpu_seconds: Some(0.5),
            resident_bytes: Some(1),
            virtual_bytes: Some(2),
            open_fds: Some(3),
            max_fds: Some(4),
            start_time_seconds: Some(5.0),
        };
        all += &text(|o| process_stats(o, &every));
        all
    }

    #[test]
    fn the_table_of_metrics_is_what_is_written() {
        let all = every_family();
        let mut written: Vec<&str> = Vec::new();
        let mut netns = false;
        for line in all.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("name and help");
                let metric = METRICS.iter().find(|m| m.name == name);
                let metric = metric.unwrap_or_else(|| panic!("{name} is not in METRICS"));
                assert_eq!(help, metric.help, "{name}");
                written.push(name);
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("name and type");
                let metric = METRICS.iter().find(|m| m.name == name).expect("listed");
                assert_eq!(kind, metric.kind.name(), "{name}");
            } else {
                // name{label="value",...} value: the table's labels, and maybe netns (and
                // a histogram's le on its buckets).
                let name = line.split(['{', ' ']).next().expect("a name");
                let histogram = ["_bucket", "_sum", "_count"]
                    .iter()
                    .filter_map(|suffix| name.strip_suffix(suffix))
                    .find(|family| {
                        METRICS
                            .iter()
                            .any(|m| m.name == *family && m.kind == Kind::Histogram)
                    });
                let name = histogram.unwrap_or(name);
                let metric = METRICS.iter().find(|m| m.name == name).expect("listed");
                let labels: Vec<&str> = line
                    .split_once('{')
                    .map(|(_, rest)| rest.split(',').filter_map(|kv| kv.split_once('=')))
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                    .filter(|k| *k != "netns" && (histogram.is_none() || *k != "le"))
                    .collect();
                let want: Vec<&str> = metric.labels.iter().map(|l| l.name).collect();
                assert_eq!(labels, want, "{line}");
                netns |= line.contains("netns=");
            }
        }
        let listed: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        written.sort_unstable();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(
            written, sorted,
            "every family of the table is written, once"
        );
        assert!(netns, "the netns label was written: {all}");
        for metric in METRICS {
            assert!(
                !metric.help.contains(['\\', '\n']),
                "{}: HELP needs no escaping",
                metric.name
            );
            let names: Vec<&str> = metric.labels.iter().map(|l| l.name).collect();
            assert!(!names.contains(&"netns"), "{}", metric.name);
        }
    }

    #[test]
    fn help_texts_need_no_escaping_and_families_are_unique() {
        let mut all = String::new();
        let c = StateCounts::new();
        all += &text(|o| sockets(o, &[(None, &c)], StateSet::ALL, &Family::ALL));
        let folded = FoldedPorts {
            netns: 0,
            direction: Direction::In,
            ports: 1,
            counts: StateRow::default(),
            listener: Some(ListenerQueue::default()),
        };
        all += &text(|o| {
            ports(
                o,
                &BoundedPorts {
                    rows: vec![],
                    other: vec![folded],
                },
                StateSet::ALL,
                &|_| None,
            )
        });
        let m = ProcMatrix::merge(vec![(0, ProcMatrix::default())]);
        let commands = CommandRows {
            commands: Vec::new(),
            other: vec![(0, 2, StateRow::default())],
        };
        all += &text(|o| processes(o, &commands, &m, StateSet::ALL, &|_| None));
        all += &text(|o| serve_stats(o, &ServeStats::default()));
        let every = ProcessStats {
            cpu_seconds: Some(0.0),
            resident_bytes: Some(0),
            virtual_bytes: Some(0),
            open_fds: Some(0),
            max_fds: Some(0),
            start_time_seconds: Some(0.0),
        };
        all += &text(|o| process_stats(o, &every));
        let mut names = Vec::new();
        for line in all.lines().filter(|l| l.starts_with("# HELP ")) {
            assert!(!line.contains('\\'), "{line}");
            names.push(line.split(' ').nth(2).expect("name"));
        }
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a family written twice");
    }
}
