//! The rules: one file per check (the four closing states share `closing`), each an
//! `examine` function from [`Inputs`] to the check's findings, named in the check table
//! (`checks.rs`). Here: what they share, judging a value against its levels ([`judge`]) and
//! the evidence lists (busiest first, at most [`TOP`]).
//!
//! Rules must not read the kernel (everything arrives in [`Inputs`]) nor write sentences
//! (`render::doctor` does). A rule that finds nothing wrong still returns one finding that
//! says what it looked at, so every check shows in the report.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::connections::PeerTally;
use super::{
    AddrCount, Check, Evidence, Finding, Inputs, Levels, Number, PortCount, ProcessCount, Setting,
    Severity, Subject,
};
use crate::aggregate::Direction;
use crate::model::kernel::KernelFacts;
use crate::model::{OwnerMap, SocketRecord};

pub mod accept_queue;
pub mod close_wait;
pub mod closing;
pub mod ephemeral_ports;
pub mod orphans;
pub mod recv_queue;
pub mod retransmits;
pub mod rtt;
pub mod stalled;
pub mod syn_recv;
pub mod syn_sent;
pub mod tcp_memory;
pub mod time_wait;
pub mod unanswered;
pub mod zero_window;

/// Length of evidence lists.
pub const TOP: usize = 5;

/// Severity of `value` against `levels` (resolved with `limit`), and the resolved levels.
/// Zero is always fine. The critical level is never below the warning level: levels of
/// different kinds (`--threshold TIME_WAIT=200000` against the default 90%) can only be
/// compared once the limit is known; then one of them gives way (see
/// [`Levels::critical_follows`]).
pub fn judge(
    value: u64,
    levels: Levels,
    limit: Option<u64>,
) -> (Severity, Option<u64>, Option<u64>) {
    let (warning_at, critical_at) = match (
        levels.warning.resolve(limit),
        levels.critical.resolve(limit),
    ) {
        (Some(w), Some(c)) if c < w && levels.critical_follows => (Some(w), Some(w)),
        (Some(w), Some(c)) if c < w => (Some(c), Some(c)),
        other => other,
    };
    let severity = if value == 0 {
        Severity::Ok
    } else if critical_at.is_some_and(|c| value >= c) {
        Severity::Critical
    } else if warning_at.is_some_and(|w| value >= w) {
        Severity::Warning
    } else {
        Severity::Ok
    };
    (severity, warning_at, critical_at)
}

/// A finding of `check`, judged against the check's levels.
pub fn finding(
    inputs: &Inputs<'_>,
    check: Check,
    subject: Subject,
    value: u64,
    limit: Option<u64>,
    evidence: Evidence,
) -> Finding {
    let (severity, warning_at, critical_at) = judge(value, inputs.thresholds.get(check), limit);
    Finding {
        check,
        severity,
        subject,
        value,
        limit,
        warning_at,
        critical_at,
        evidence,
    }
}

/// A finding named although it is below the warning level (a peer or process worth
/// knowing about): info, not OK.
pub fn at_least_info(mut f: Finding) -> Finding {
    if f.severity == Severity::Ok {
        f.severity = Severity::Info;
    }
    f
}

/// The findings, worst first; none: one OK finding for the host with `numbers` (what was
/// looked at), so that the check is seen to have run.
pub fn worst_first_or_ok(
    inputs: &Inputs<'_>,
    check: Check,
    mut out: Vec<Finding>,
    numbers: Vec<(Number, u64)>,
) -> Vec<Finding> {
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    if out.is_empty() {
        let evidence = Evidence {
            numbers,
            ..Evidence::default()
        };
        let mut f = finding(inputs, check, Subject::Host, 0, None, evidence);
        f.severity = Severity::Ok;
        out.push(f);
    }
    out
}

/// A finding per peer that has any of the sockets `of` picks from its tally (the value is
/// their count; under the warning level: `info`), with their ports, the local processes, the
/// bytes they have queued and the `more` numbers; most first, else one `ok` summary. Empty
/// without tcp_info (the check is then not judged).
pub fn per_peer(
    inputs: &Inputs<'_>,
    check: Check,
    of: impl Fn(&PeerTally) -> &[SocketRecord],
    more: impl Fn(&PeerTally) -> Vec<(Number, u64)>,
) -> Vec<Finding> {
    let Some(health) = inputs.health else {
        return Vec::new();
    };
    let peers: BTreeMap<_, _> = health.peers.iter().collect();
    let mut out = Vec::new();
    for (address, p) in &peers {
        let sockets = of(p);
        if sockets.is_empty() {
            continue;
        }
        let queued: u64 = sockets.iter().map(|r| u64::from(r.send_q)).sum();
        let mut numbers = vec![(Number::SendQueueBytes, queued)];
        numbers.extend(more(p));
        let evidence = Evidence {
            ports: ports_of(inputs.census, sockets),
            processes: owning_processes(inputs.owners, sockets.iter()),
            numbers,
            ..Evidence::default()
        };
        let value = sockets.len() as u64;
        let f = finding(
            inputs,
            check,
            Subject::Peer(**address),
            value,
            None,
            evidence,
        );
        out.push(at_least_info(f));
    }
    let numbers = vec![(Number::Connections, health.connections)];
    worst_first_or_ok(inputs, check, out, numbers)
}

pub fn top_addrs(map: &HashMap<IpAddr, u64>) -> Vec<AddrCount> {
    let mut v: Vec<AddrCount> = map
        .iter()
        .map(|(&address, &sockets)| AddrCount { address, sockets })
        .collect();
    v.sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.address.cmp(&b.address)));
    v.truncate(TOP);
    v
}

pub fn top_ports(map: &HashMap<(u16, Direction), u64>) -> Vec<PortCount> {
    let mut v: Vec<PortCount> = map
        .iter()
        .map(|(&(port, direction), &sockets)| PortCount {
            port,
            direction,
            sockets,
        })
        .collect();
    v.sort_by(|a, b| {
        b.sockets
            .cmp(&a.sockets)
            .then(a.port.cmp(&b.port))
            .then(a.direction.cmp(&b.direction))
    });
    v.truncate(TOP);
    v
}

/// The service ports of `records`, as `tcpstat ports` groups them, busiest first.
pub fn ports_of(census: &super::Census, records: &[SocketRecord]) -> Vec<PortCount> {
    let ephemeral = census
        .ephemeral
        .unwrap_or(crate::aggregate::DEFAULT_EPHEMERAL_PORTS);
    let mut ports = HashMap::new();
    for r in records {
        *ports
            .entry(crate::aggregate::service_group_in(
                &census.listening,
                ephemeral,
                r,
            ))
            .or_default() += 1;
    }
    top_ports(&ports)
}

pub fn setting(name: &'static str, value: Option<u64>) -> (&'static str, Option<Setting>) {
    (name, value.map(Setting::Number))
}

pub fn counters(facts: &KernelFacts, names: &[&'static str]) -> Vec<(&'static str, Option<u64>)> {
    names.iter().map(|&n| (n, facts.counter(n))).collect()
}

/// Processes owning any of `records`, busiest first.
pub fn owning_processes<'r>(
    owners: &OwnerMap,
    records: impl Iterator<Item = &'r SocketRecord>,
) -> Vec<ProcessCount> {
    let mut per: BTreeMap<(u32, String), u64> = BTreeMap::new();
    for r in records {
        for p in owners.owner_processes(r.inode) {
            *per.entry((p.pid, p.command.clone())).or_default() += 1;
        }
    }
    let mut v: Vec<ProcessCount> = per
        .into_iter()
        .map(|((pid, command), sockets)| ProcessCount {
            pid,
            command,
            sockets,
        })
        .collect();
    v.sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.pid.cmp(&b.pid)));
    v.truncate(TOP);
    v
}
