//! `tcpstat doctor` output: findings as text for a person and as JSON for machines.
//!
//! Owns: the sentence that sums up each finding ([`headline`], shared by both outputs), the
//! text layout (severity, headline, evidence, meaning, action, wrapped at [`WIDTH`]) and the
//! JSON wire types. Text from outside (command names) is escaped in the text output; JSON
//! carries it raw with JSON's own escaping. Never reads the kernel, never judges.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;

use super::json::{Footer, Header};
use super::table::Paint;
use super::text::escape;
use super::DoctorReport;
use crate::diagnose::{Check, Finding, Level, Number, Setting, Severity, Subject};

/// Text is wrapped at this many columns.
pub const WIDTH: usize = 100;
/// Width of the severity column.
const INDENT: usize = 10;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Ok => GREEN,
        Severity::Info => CYAN,
        Severity::Warning => YELLOW,
        Severity::Critical => RED,
    }
}

/// `addr:port`, with brackets for IPv6.
fn endpoint(address: &IpAddr, port: u16) -> String {
    match address {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn percent(value: u64, limit: u64) -> String {
    if limit == 0 {
        return "n/a".to_string();
    }
    let p = value as f64 * 100.0 / limit as f64;
    if p < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// Bytes as MiB (or KiB below one MiB), for memory figures.
fn mib(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// ` (warning at W, critical at C)`, or that the limit is unknown.
fn levels(f: &Finding) -> String {
    match (f.warning_at, f.critical_at) {
        (Some(w), Some(c)) => format!(" (warning at {w}, critical at {c})"),
        (Some(w), None) => format!(" (warning at {w}; critical level unknown: no limit)"),
        (None, Some(c)) => format!(" (critical at {c}; warning level unknown: no limit)"),
        (None, None) => " (not judged: the limit is unknown)".to_string(),
    }
}

/// One sentence with the numbers: what was found, about whom. Raw text (command names are
/// not escaped): the text renderer escapes it, JSON carries it.
pub fn headline(f: &Finding) -> String {
    if let Some(more) = f.evidence.number(Number::MoreSubjects) {
        return format!(
            "{more} more with too many {}, not listed ({} sockets together)",
            f.check.measures(),
            f.value
        );
    }
    match f.check {
        Check::CloseWait => close_wait(f),
        Check::AcceptQueue => accept_queue(f),
        Check::SynRecv => syn_recv(f),
        Check::TimeWait => time_wait(f),
        Check::EphemeralPorts => ephemeral_ports(f),
        Check::SynSent => syn_sent(f),
        Check::FinWait1 | Check::FinWait2 | Check::Closing | Check::LastAck => closing_state(f),
        Check::Orphans => format!(
            "{}, {}{}",
            plural(f.value, "orphaned socket", "orphaned sockets"),
            of_limit(f, "net.ipv4.tcp_max_orphans"),
            levels(f)
        ),
        Check::TcpMemory => format!(
            "TCP socket buffers use {} ({}), {}{}",
            plural(f.value, "page", "pages"),
            mib(f.evidence.number(Number::MemoryBytes).unwrap_or(0)),
            of_limit(f, "net.ipv4.tcp_mem pressure"),
            levels(f)
        ),
        Check::Retransmits => retransmits(f),
        Check::Unanswered => unanswered(f),
        Check::ZeroWindow => zero_window(f),
        Check::Stalled => stalled(f),
        Check::RecvQueue => recv_queue(f),
        Check::RttOutlier => rtt_outlier(f),
    }
}

/// `peer ADDRESS`, or what a host-wide finding is about.
fn peer(f: &Finding) -> Option<String> {
    match &f.subject {
        Subject::Peer(address) => Some(format!("peer {address}")),
        _ => None,
    }
}

/// Microseconds as milliseconds, one decimal.
fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn retransmits(f: &Finding) -> String {
    let Some(peer) = peer(f) else {
        let peers = f.evidence.number(Number::Peers).unwrap_or(0);
        return format!(
            "no peer retransmits over its level ({} with enough traffic to judge, {} \
             retransmitted in all)",
            plural(peers, "peer", "peers"),
            plural(f.value, "segment", "segments")
        );
    };
    let connections = f.evidence.number(Number::Connections).unwrap_or(0);
    format!(
        "{peer}: {} of {} segments sent retransmitted ({}), over {}{}",
        f.value,
        f.limit.unwrap_or(0),
        percent(f.value, f.limit.unwrap_or(0)),
        plural(connections, "connection", "connections"),
        levels(f)
    )
}

fn unanswered(f: &Finding) -> String {
    let Some(peer) = peer(f) else {
        return "no SYN or FIN waiting on unanswered retransmissions".to_string();
    };
    let states: Vec<String> = [
        (Number::SynSent, "SYN_SENT"),
        (Number::FinWait1, "FIN_WAIT_1"),
        (Number::Closing, "CLOSING"),
        (Number::LastAck, "LAST_ACK"),
    ]
    .iter()
    .filter_map(|(n, name)| Some(format!("{} {name}", f.evidence.number(*n)?)))
    .collect();
    format!(
        "{peer}: {} retransmitting without an answer ({}){}",
        plural(f.value, "socket", "sockets"),
        states.join(", "),
        levels(f)
    )
}

fn zero_window(f: &Finding) -> String {
    let Some(peer) = peer(f) else {
        return "no peer advertises a zero window".to_string();
    };
    format!(
        "{peer} advertises a zero window on {} ({} waiting to be sent): it is not reading{}",
        plural(f.value, "connection", "connections"),
        plural(
            f.evidence.number(Number::SendQueueBytes).unwrap_or(0),
            "byte",
            "bytes"
        ),
        levels(f)
    )
}

fn stalled(f: &Finding) -> String {
    let stall = f.evidence.number(Number::StallMs).unwrap_or(5000) / 1000;
    let Some(peer) = peer(f) else {
        return "no connection stalled (data queued, nothing acknowledged for 5 s)".to_string();
    };
    format!(
        "{peer}: {} stalled, nothing acknowledged for {stall} s or more (longest {} s, {} \
         queued){}",
        plural(f.value, "connection", "connections"),
        f.evidence.number(Number::LongestAckWaitMs).unwrap_or(0) / 1000,
        plural(
            f.evidence.number(Number::SendQueueBytes).unwrap_or(0),
            "byte",
            "bytes"
        ),
        levels(f)
    )
}

fn recv_queue(f: &Finding) -> String {
    let connections = plural(f.value, "connection", "connections");
    let unread = plural(
        f.evidence.number(Number::RecvQueueBytes).unwrap_or(0),
        "byte",
        "bytes",
    );
    match &f.subject {
        Subject::Process { pid, command } => format!(
            "pid {pid} ({command}) does not read {connections}: {unread} unread, receive \
             window closed{}",
            levels(f)
        ),
        Subject::OwnerHidden => format!(
            "{connections} with full receive queues ({unread} unread) held by processes that \
             could not be read{}",
            levels(f)
        ),
        Subject::OwnerNotFound => format!(
            "{connections} with full receive queues ({unread} unread), no owning process \
             found{}",
            levels(f)
        ),
        _ => "no full receive queues (every process reads its connections)".to_string(),
    }
}

fn rtt_outlier(f: &Finding) -> String {
    let Some(peer) = peer(f) else {
        let peers = f.evidence.number(Number::Peers).unwrap_or(0);
        return if peers >= 3 {
            format!("no RTT outliers among {}", plural(peers, "peer", "peers"))
        } else {
            format!(
                "RTT outliers not judged: {} measured, at least 3 needed",
                plural(peers, "peer", "peers")
            )
        };
    };
    let host = f.limit.unwrap_or(0);
    let times = if host == 0 {
        String::new()
    } else {
        format!(", {:.1}x", f.value as f64 / host as f64)
    };
    let levels = match (f.warning_at, f.critical_at) {
        (Some(w), Some(c)) => format!(" (warning at {}, critical at {})", ms(w), ms(c)),
        _ => String::new(),
    };
    format!(
        "{peer}: median RTT {} over {}{times} the host median {}{levels}",
        ms(f.value),
        plural(
            f.evidence.number(Number::Connections).unwrap_or(0),
            "connection",
            "connections"
        ),
        ms(host)
    )
}

/// `N% of name=limit`, or `name unknown`.
fn of_limit(f: &Finding, name: &str) -> String {
    match f.limit {
        Some(l) => format!("{} of {name}={l}", percent(f.value, l)),
        None => format!("{name} unknown"),
    }
}

fn close_wait(f: &Finding) -> String {
    let sockets = plural(f.value, "CLOSE_WAIT socket", "CLOSE_WAIT sockets");
    match &f.subject {
        Subject::Process { pid, command } => {
            format!("pid {pid} ({command}) holds {sockets}{}", levels(f))
        }
        Subject::OwnerHidden => format!(
            "{sockets} held by processes that could not be read{}",
            levels(f)
        ),
        Subject::OwnerNotFound => {
            format!("{sockets} with no owning process found{}", levels(f))
        }
        _ => "no CLOSE_WAIT sockets".to_string(),
    }
}

fn accept_queue(f: &Finding) -> String {
    let n = f.value;
    if let Subject::Listener { address, port } = &f.subject {
        let backlog = match f.limit {
            Some(b) => {
                let state = if n > b {
                    ": full, new connections are dropped"
                } else if n == b {
                    ": at the backlog, one more fills it"
                } else {
                    ""
                };
                format!("backlog {b}{state}")
            }
            None => "backlog unknown (/proc does not report it; use --source netlink)".to_string(),
        };
        return format!(
            "accept queue of {}: {} waiting to be accepted, {backlog}{}",
            endpoint(address, *port),
            plural(n, "connection", "connections"),
            if f.limit.is_some() {
                levels(f)
            } else {
                String::new()
            }
        );
    }
    let listeners = f.evidence.number(Number::Listeners).unwrap_or(0);
    let mut s = if listeners == 0 {
        "no listening sockets".to_string()
    } else {
        let fullest = match f.limit {
            Some(b) => format!("{n} of its backlog {b}"),
            None => format!("{n} (backlogs unknown from /proc)"),
        };
        format!(
            "{}; the fullest accept queue holds {fullest}",
            plural(listeners, "listening socket", "listening sockets")
        )
    };
    let overflows: u64 = f
        .evidence
        .counters
        .iter()
        .filter_map(|(name, v)| (*name == "ListenOverflows").then_some(*v).flatten())
        .sum();
    if overflows > 0 {
        s.push_str(&format!(
            "; but accept queues overflowed {overflows} times since boot (ListenOverflows)"
        ));
    }
    s
}

fn syn_recv(f: &Finding) -> String {
    let n = f.value;
    let half_open = plural(n, "half-open connection", "half-open connections");
    match &f.subject {
        Subject::Port(port) => format!(
            "{half_open} (SYN_RECV) on port {port}{}{}{}",
            // Absent in a recorded moment (`doctor --at`): sources are not recorded.
            f.evidence
                .number(Number::DistinctSources)
                .map(|n| format!(" from {}", plural(n, "source address", "source addresses")))
                .unwrap_or_default(),
            match f.limit {
                Some(b) => format!(", listeners' backlog {b}"),
                None => String::new(),
            },
            levels(f)
        ),
        _ if n == 0 => "no half-open connections (SYN_RECV)".to_string(),
        _ => format!("{half_open} (SYN_RECV), no port near its limit"),
    }
}

fn time_wait(f: &Finding) -> String {
    // `value` is the number judged: the kernel's time-wait entries, which include orphaned
    // FIN_WAIT_2 sockets (reported under FIN_WAIT_2 too). Headline the TIME_WAIT sockets, and
    // the entries only where they differ.
    let n = f.value;
    let counted = f.evidence.number(Number::TimeWaitCounted).unwrap_or(n);
    let mut s = if counted == 0 {
        "no TIME_WAIT sockets".to_string()
    } else {
        plural(counted, "TIME_WAIT socket", "TIME_WAIT sockets")
    };
    if counted != n {
        s.push_str(&format!(
            "; {} (TIME_WAIT + orphaned FIN_WAIT_2) in the namespace",
            plural(n, "time-wait entry", "time-wait entries")
        ));
    }
    s.push_str(&format!(
        ", {}{}",
        of_limit(f, "net.ipv4.tcp_max_tw_buckets"),
        levels(f)
    ));
    if f.severity == Severity::Ok {
        s.push_str("; TIME_WAIT by itself is normal");
    }
    s
}

fn ephemeral_ports(f: &Finding) -> String {
    let Subject::Route {
        local,
        remote,
        port,
    } = &f.subject
    else {
        return "no outgoing connections".to_string();
    };
    let mut s = format!(
        "{} in use from {local} to {}, {}{}",
        plural(f.value, "local port", "local ports"),
        endpoint(remote, *port),
        of_limit(f, "the net.ipv4.ip_local_port_range size"),
        levels(f)
    );
    let reusable = f.evidence.number(Number::TimeWaitReusable).unwrap_or(0);
    if reusable > 0 {
        let reuse = f
            .evidence
            .settings
            .iter()
            .find(|(name, _)| *name == "net.ipv4.tcp_tw_reuse")
            .and_then(|(_, v)| *v)
            .map_or_else(|| "?".to_string(), |v| v.to_string());
        s.push_str(&format!(
            "; {reusable} more in TIME_WAIT not counted: net.ipv4.tcp_tw_reuse={reuse} \
             lets new connections take them over"
        ));
    }
    s
}

fn syn_sent(f: &Finding) -> String {
    let n = f.value;
    match &f.subject {
        Subject::Destination { address, port } => format!(
            "{} (SYN_SENT) to {}{}",
            plural(
                n,
                "unanswered connection attempt",
                "unanswered connection attempts"
            ),
            endpoint(address, *port),
            levels(f)
        ),
        _ if n == 0 => "no connection attempts pending (SYN_SENT)".to_string(),
        _ => format!(
            "{} (SYN_SENT){}, none piling up",
            plural(n, "connection attempt", "connection attempts"),
            // Absent in a recorded moment (`doctor --at`): destinations are not recorded.
            f.evidence
                .number(Number::Destinations)
                .map(|d| format!(" to {}", plural(d, "destination", "destinations")))
                .unwrap_or_default()
        ),
    }
}

/// FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK: how many, how many orphaned.
fn closing_state(f: &Finding) -> String {
    let (n, state) = (f.value, f.check.key());
    if n == 0 {
        return format!("no {state} sockets");
    }
    format!(
        "{n} {state} {}{}{}",
        if n == 1 { "socket" } else { "sockets" },
        // Absent in a recorded moment (`doctor --at`): orphans per state are not recorded.
        f.evidence
            .number(Number::Orphaned)
            .map(|o| format!(", {o} orphaned"))
            .unwrap_or_default(),
        levels(f)
    )
}

/// Words of `text` wrapped to [`WIDTH`], every line after the first indented.
fn wrap(first_prefix: &str, text: &str, indent: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first_prefix.to_string();
    let mut width = first_prefix.chars().count();
    let mut empty = true;
    for word in text.split_whitespace() {
        let w = word.chars().count();
        if !empty && width + 1 + w > WIDTH {
            lines.push(line);
            line = " ".repeat(indent);
            width = indent;
            empty = true;
        }
        if !empty {
            line.push(' ');
            width += 1;
        }
        line.push_str(word);
        width += w;
        empty = false;
    }
    lines.push(line);
    lines
}

/// Evidence as labelled lines (`ports:`, `remote:`, `processes:`, ...), escaped.
fn evidence_lines(f: &Finding) -> Vec<(&'static str, String)> {
    let e = &f.evidence;
    let mut out = Vec::new();
    if let Some(w) = &e.workload {
        out.push(("workload", format!("{} ({})", escape(&w.name), w.kind)));
    }
    if !e.processes.is_empty() {
        let v: Vec<String> = e
            .processes
            .iter()
            .map(|p| {
                format!(
                    "pid {} {} ({})",
                    p.pid,
                    escape(&p.command),
                    plural(p.sockets, "socket", "sockets")
                )
            })
            .collect();
        out.push(("processes", v.join(", ")));
    }
    if !e.ports.is_empty() {
        let v: Vec<String> = e
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{} {} ({})",
                    p.port,
                    p.direction.name(),
                    plural(p.sockets, "socket", "sockets")
                )
            })
            .collect();
        out.push(("ports", v.join(", ")));
    }
    if !e.remotes.is_empty() {
        let v: Vec<String> = e
            .remotes
            .iter()
            .map(|a| format!("{} ({})", a.address, plural(a.sockets, "socket", "sockets")))
            .collect();
        out.push(("remote", v.join(", ")));
    }
    // The headline already says these.
    let numbers: Vec<String> = e
        .numbers
        .iter()
        .filter(|(n, _)| !matches!(n, Number::MoreSubjects | Number::Listeners))
        .map(|(n, value)| format!("{} {value}", n.label()))
        .collect();
    if !numbers.is_empty() {
        out.push(("numbers", numbers.join(", ")));
    }
    if !e.counters.is_empty() {
        let v: Vec<String> = e
            .counters
            .iter()
            .map(|(name, v)| match v {
                Some(v) => format!("{name} {v}"),
                None => format!("{name} unknown"),
            })
            .collect();
        out.push(("counters", format!("{} (since boot)", v.join(", "))));
    }
    if !e.settings.is_empty() {
        let v: Vec<String> = e
            .settings
            .iter()
            .map(|(name, v)| match v {
                Some(v) => format!("{name} {v}"),
                None => format!("{name} unreadable"),
            })
            .collect();
        out.push(("settings", v.join(", ")));
    }
    out
}

/// Writes the findings for a person.
pub fn text(out: &mut dyn Write, report: &DoctorReport<'_>, paint: Paint) -> io::Result<()> {
    let d = report.diagnosis;
    let mut tally: BTreeMap<std::cmp::Reverse<Severity>, u64> = BTreeMap::new();
    for f in &d.findings {
        *tally.entry(std::cmp::Reverse(f.severity)).or_default() += 1;
    }
    let counts: Vec<String> = tally
        .iter()
        .map(|(s, n)| format!("{n} {}", s.0.name()))
        .collect();
    writeln!(
        out,
        "{}",
        paint.apply(BOLD, &format!("tcpstat doctor: {}", counts.join(", ")))
    )?;
    let mut previous_detailed = true;
    for f in &d.findings {
        let label = format!("{:<width$}", f.severity.label(), width = INDENT);
        let head = escape(&headline(f)).into_owned();
        let detailed = f.severity > Severity::Ok;
        if detailed || previous_detailed {
            writeln!(out)?;
        }
        previous_detailed = detailed;
        let mut lines = wrap(&label, &head, INDENT);
        if let Some(first) = lines.first_mut() {
            let rest = first[INDENT.min(first.len())..].to_string();
            *first = format!(
                "{}{}",
                paint.apply(severity_colour(f.severity), &label),
                rest
            );
        }
        for line in lines {
            writeln!(out, "{line}")?;
        }
        if !detailed {
            continue;
        }
        let pad = " ".repeat(INDENT);
        for (name, value) in evidence_lines(f) {
            let prefix = format!("{pad}{name:<10}");
            for line in wrap(&prefix, &value, INDENT + 10) {
                writeln!(out, "{line}")?;
            }
        }
        for (name, value) in [("means", f.check.meaning()), ("do", f.action())] {
            let prefix = format!("{pad}{name:<10}");
            for line in wrap(&prefix, value, INDENT + 10) {
                writeln!(out, "{}", paint.apply(DIM, &line))?;
            }
        }
    }
    writeln!(out)?;
    // Checks not run for the same reason share a line (the tcp_info checks under /proc).
    let mut i = 0;
    while i < d.not_checked.len() {
        let why = &d.not_checked[i].1;
        let same = d.not_checked[i..]
            .iter()
            .take_while(|(_, w)| w == why)
            .count();
        let keys: Vec<&str> = d.not_checked[i..i + same]
            .iter()
            .map(|(c, _)| c.key())
            .collect();
        let prefix = "not checked: ";
        for line in wrap(
            prefix,
            &format!("{} ({why})", keys.join(", ")),
            prefix.len(),
        ) {
            writeln!(out, "{}", paint.apply(DIM, &line))?;
        }
        i += same;
    }
    if !report.facts.missing.is_empty() {
        for line in wrap(
            "not readable: ",
            &report.facts.missing.join(", "),
            "not readable: ".len(),
        ) {
            writeln!(out, "{}", paint.apply(DIM, &escape(&line)))?;
        }
    }
    let source = match report.outcome.source {
        crate::model::SourceKind::Netlink => "netlink (sock_diag)",
        crate::model::SourceKind::Proc => "/proc/net/tcp{,6}",
    };
    let mut footer = format!("source: {source}");
    if report.outcome.fallback_reason.is_some() {
        footer.push_str(" (fallback: netlink unavailable)");
    }
    if let Some(host) = &report.hostname {
        footer.push_str(&format!("  host: {}", escape(host)));
    }
    footer.push_str(&format!("  at {}", report.timestamp));
    writeln!(out, "{}", paint.apply(DIM, &footer))?;
    if !report.outcome.complete {
        writeln!(
            out,
            "{}",
            paint.apply(
                YELLOW,
                "incomplete: some sockets could not be read (see warnings on stderr)"
            )
        )?;
    }
    let worst = d.worst();
    let line = format!("worst: {} (exit status {})", worst.name(), report.exit_code);
    writeln!(out, "{}", paint.apply(severity_colour(worst), &line))
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubjectJson<'a> {
    Host,
    Process {
        pid: u32,
        command: &'a str,
    },
    OwnerHidden,
    OwnerNotFound,
    Listener {
        local_address: String,
        local_port: u16,
    },
    Port {
        port: u16,
    },
    Destination {
        remote_address: String,
        remote_port: u16,
    },
    Peer {
        remote_address: String,
    },
    Route {
        local_address: String,
        remote_address: String,
        remote_port: u16,
    },
}

impl<'a> SubjectJson<'a> {
    fn new(s: &'a Subject) -> SubjectJson<'a> {
        match s {
            Subject::Host => SubjectJson::Host,
            Subject::Process { pid, command } => SubjectJson::Process { pid: *pid, command },
            Subject::OwnerHidden => SubjectJson::OwnerHidden,
            Subject::OwnerNotFound => SubjectJson::OwnerNotFound,
            Subject::Listener { address, port } => SubjectJson::Listener {
                local_address: address.to_string(),
                local_port: *port,
            },
            Subject::Port(port) => SubjectJson::Port { port: *port },
            Subject::Destination { address, port } => SubjectJson::Destination {
                remote_address: address.to_string(),
                remote_port: *port,
            },
            Subject::Peer(address) => SubjectJson::Peer {
                remote_address: address.to_string(),
            },
            Subject::Route {
                local,
                remote,
                port,
            } => SubjectJson::Route {
                local_address: local.to_string(),
                remote_address: remote.to_string(),
                remote_port: *port,
            },
        }
    }
}

/// A port's sockets among those a finding is about.
#[derive(Debug, Serialize)]
pub struct PortCountJson {
    pub port: u16,
    pub direction: &'static str,
    pub total: u64,
}

/// A peer's sockets among those a finding is about.
#[derive(Debug, Serialize)]
pub struct AddrCountJson {
    pub remote_address: String,
    pub total: u64,
}

/// A process's sockets among those a finding is about.
#[derive(Debug, Serialize)]
pub struct ProcessCountJson<'a> {
    pub pid: u32,
    /// Raw: JSON escaping makes it inert.
    pub command: &'a str,
    pub total: u64,
}

/// A setting's value: a number, `"lo-hi"` for a port range, `[min, pressure, max]` for
/// `tcp_mem`; `null` when unreadable.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SettingJson {
    Number(u64),
    Text(String),
    Numbers([u64; 3]),
}

#[derive(Debug, Serialize)]
pub struct EvidenceJson<'a> {
    pub ports: Vec<PortCountJson>,
    pub remotes: Vec<AddrCountJson>,
    pub processes: Vec<ProcessCountJson<'a>>,
    pub settings: BTreeMap<&'static str, Option<SettingJson>>,
    pub counters: BTreeMap<&'static str, Option<u64>>,
    pub numbers: BTreeMap<&'static str, u64>,
    /// The workload of the process or listener the finding is about; `null` when none was
    /// found (or the finding is about no process or listener).
    pub workload: Option<WorkloadEvidenceJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct WorkloadEvidenceJson<'a> {
    pub workload: &'a str,
    pub kind: &'static str,
    pub cgroup: &'a str,
}

#[derive(Debug, Serialize)]
pub struct FindingJson<'a> {
    pub check: &'static str,
    pub severity: &'static str,
    pub summary: String,
    pub subject: SubjectJson<'a>,
    pub value: u64,
    pub limit: Option<u64>,
    pub warning_at: Option<u64>,
    pub critical_at: Option<u64>,
    pub evidence: EvidenceJson<'a>,
    pub meaning: &'static str,
    pub action: &'static str,
}

#[derive(Debug, Serialize)]
pub struct LevelsJson {
    pub warning: LevelJson,
    pub critical: LevelJson,
    pub measures: &'static str,
    /// What a percentage is of; `null` when the levels are counts only.
    pub percent_of: Option<&'static str>,
}

/// A level as configured, a number either way: `{"count": 10}` or `{"percent": 90}` (of
/// `percent_of`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelJson {
    Count(u64),
    Percent(u32),
}

impl From<Level> for LevelJson {
    fn from(level: Level) -> LevelJson {
        match level {
            Level::Count(n) => LevelJson::Count(n),
            Level::Percent(p) => LevelJson::Percent(p),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NotCheckedJson<'a> {
    pub check: &'static str,
    pub reason: &'a str,
}

/// `tcpstat doctor --json`.
#[derive(Debug, Serialize)]
pub struct DoctorJson<'a> {
    #[serde(flatten)]
    pub header: Header<'a>,
    /// The worst severity found.
    pub status: &'static str,
    pub exit_code: u8,
    pub findings: Vec<FindingJson<'a>>,
    /// By check, named as in `findings[].check`.
    pub thresholds: BTreeMap<&'static str, LevelsJson>,
    pub not_checked: Vec<NotCheckedJson<'a>>,
    pub unreadable: &'a [String],
    #[serde(flatten)]
    pub footer: Footer<'a>,
}

fn finding_json(f: &Finding) -> FindingJson<'_> {
    let e = &f.evidence;
    FindingJson {
        check: f.check.id(),
        severity: f.severity.name(),
        summary: headline(f),
        subject: SubjectJson::new(&f.subject),
        value: f.value,
        limit: f.limit,
        warning_at: f.warning_at,
        critical_at: f.critical_at,
        evidence: EvidenceJson {
            ports: e
                .ports
                .iter()
                .map(|p| PortCountJson {
                    port: p.port,
                    direction: p.direction.name(),
                    total: p.sockets,
                })
                .collect(),
            remotes: e
                .remotes
                .iter()
                .map(|a| AddrCountJson {
                    remote_address: a.address.to_string(),
                    total: a.sockets,
                })
                .collect(),
            processes: e
                .processes
                .iter()
                .map(|p| ProcessCountJson {
                    pid: p.pid,
                    command: &p.command,
                    total: p.sockets,
                })
                .collect(),
            workload: e.workload.as_ref().map(|w| WorkloadEvidenceJson {
                workload: &w.name,
                kind: w.kind,
                cgroup: &w.cgroup,
            }),
            settings: e
                .settings
                .iter()
                .map(|(name, v)| {
                    (
                        *name,
                        v.map(|v| match v {
                            Setting::Number(n) => SettingJson::Number(n),
                            r @ Setting::Range(..) => SettingJson::Text(r.to_string()),
                            Setting::Triple(a, b, c) => SettingJson::Numbers([a, b, c]),
                        }),
                    )
                })
                .collect(),
            counters: e.counters.iter().copied().collect(),
            numbers: e
                .numbers
                .iter()
                .map(|&(n, value)| (n.key(), value))
                .collect(),
        },
        meaning: f.check.meaning(),
        action: f.action(),
    }
}

pub fn json<'a>(report: &'a DoctorReport<'a>) -> DoctorJson<'a> {
    DoctorJson {
        header: Header::new(&report.timestamp, report.hostname.as_deref()),
        status: report.diagnosis.worst().name(),
        exit_code: report.exit_code,
        findings: report.diagnosis.findings.iter().map(finding_json).collect(),
        thresholds: Check::ALL
            .iter()
            .map(|&c| {
                let l = report.thresholds.get(c);
                (
                    c.id(),
                    LevelsJson {
                        warning: l.warning.into(),
                        critical: l.critical.into(),
                        measures: c.measures(),
                        percent_of: c.limit_name(),
                    },
                )
            })
            .collect(),
        not_checked: report
            .diagnosis
            .not_checked
            .iter()
            .map(|(c, why)| NotCheckedJson {
                check: c.id(),
                reason: why,
            })
            .collect(),
        unreadable: &report.facts.missing,
        footer: Footer::new(report.outcome, report.netns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Evidence, ProcessCount};

    fn finding(check: Check, subject: Subject, value: u64, limit: Option<u64>) -> Finding {
        Finding {
            check,
            severity: Severity::Warning,
            subject,
            value,
            limit,
            warning_at: Some(10),
            critical_at: Some(100),
            evidence: Evidence::default(),
        }
    }

    #[test]
    fn headlines_carry_the_numbers_and_the_subject() {
        let f = finding(
            Check::CloseWait,
            Subject::Process {
                pid: 42,
                command: "py\x1bthon".into(),
            },
            12,
            None,
        );
        assert_eq!(
            headline(&f),
            "pid 42 (py\x1bthon) holds 12 CLOSE_WAIT sockets (warning at 10, critical at 100)"
        );
        let q = finding(
            Check::AcceptQueue,
            Subject::Listener {
                address: "::1".parse().expect("ip"),
                port: 8080,
            },
            2,
            Some(1),
        );
        assert!(
            headline(&q).starts_with(
                "accept queue of [::1]:8080: 2 connections waiting to be accepted, backlog 1: full"
            ),
            "{}",
            headline(&q)
        );
        let mut tw = finding(Check::TimeWait, Subject::Host, 25, Some(131072));
        tw.severity = Severity::Ok;
        assert!(headline(&tw).ends_with("; TIME_WAIT by itself is normal"));
        assert!(headline(&tw).contains("0.0% of net.ipv4.tcp_max_tw_buckets=131072"));
    }

    #[test]
    fn time_wait_headlines_count_time_wait_apart_from_orphaned_fin_wait_2() {
        let tw = |counted: u64, entries: u64| {
            let mut f = finding(Check::TimeWait, Subject::Host, entries, Some(131072));
            f.severity = Severity::Ok;
            f.evidence.numbers = vec![
                (Number::TimeWaitCounted, counted),
                (Number::SockstatTw, entries),
            ];
            headline(&f)
        };
        // 12 orphaned FIN_WAIT_2 minisockets are time-wait entries, not TIME_WAIT sockets.
        assert!(
            tw(0, 12).starts_with(
                "no TIME_WAIT sockets; 12 time-wait entries (TIME_WAIT + orphaned FIN_WAIT_2) \
                 in the namespace, 0.0% of net.ipv4.tcp_max_tw_buckets=131072"
            ),
            "{}",
            tw(0, 12)
        );
        assert!(
            tw(25, 25).starts_with("25 TIME_WAIT sockets, 0.0% of"),
            "{}",
            tw(25, 25)
        );
    }

    #[test]
    fn ephemeral_headlines_say_what_tw_reuse_leaves_out() {
        let mut f = finding(
            Check::EphemeralPorts,
            Subject::Route {
                local: "127.0.0.1".parse().expect("ip"),
                remote: "127.0.0.1".parse().expect("ip"),
                port: 7000,
            },
            0,
            Some(100),
        );
        f.evidence.settings = vec![("net.ipv4.tcp_tw_reuse", Some(Setting::Number(2)))];
        f.evidence.numbers = vec![(Number::TimeWaitReusable, 100)];
        assert_eq!(
            headline(&f),
            "0 local ports in use from 127.0.0.1 to 127.0.0.1:7000, 0.0% of the \
             net.ipv4.ip_local_port_range size=100 (warning at 10, critical at 100); 100 more \
             in TIME_WAIT not counted: net.ipv4.tcp_tw_reuse=2 lets new connections take them \
             over"
        );
    }

    #[test]
    fn wrapping_keeps_words_and_indents() {
        let text = "word ".repeat(60);
        let lines = wrap("WARNING   ", &text, 10);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert!(lines[1].starts_with("          word"));
    }

    #[test]
    fn evidence_escapes_process_names() {
        let mut f = finding(Check::SynSent, Subject::Host, 1, None);
        f.evidence.processes.push(ProcessCount {
            pid: 1,
            command: "a\x1b[2Jb".into(),
            sockets: 1,
        });
        let lines = evidence_lines(&f);
        assert_eq!(
            lines[0],
            ("processes", "pid 1 a\\x1b[2Jb (1 socket)".to_string())
        );
    }
}
