//! `tcpstat doctor`: from sockets, their owners and the kernel's settings and counters to
//! findings: what is wrong, who is causing it, what it means and what to do.
//!
//! Owns: the checks (one table, `checks.rs`: a [`CheckSpec`] per [`Check`]), their
//! thresholds (`thresholds.rs`: keys, documented defaults, `--threshold` overrides),
//! [`Census`] (`census.rs`: a [`Sink`](crate::model::Sink) that keeps only what the checks
//! need, so a host with a million ESTABLISHED sockets costs a few counters), what the
//! connections' `tcp_info` says per peer ([`ConnHealth`], `connections.rs`: the checks that
//! read it are not judged without it, [`NOT_JUDGED`]), the finding
//! types with their typed evidence (`finding.rs`), and one rule per check (`rules/`). Here:
//! [`diagnose`], which runs each check of the table whose states were counted, and caps how
//! many findings one check lists. Pure: it must not read the kernel (`app::doctor` gathers
//! sockets, owners and [`KernelFacts`]) nor format text (`render::doctor` writes sentences
//! from the structured findings).
//!
//! Kernel behaviour the checks rely on (Linux 6.x):
//! - A listener's accept queue is full when `sk_ack_backlog > sk_max_ack_backlog`
//!   (`sk_acceptq_is_full`, `include/net/sock.h`): it holds backlog + 1 connections, then new
//!   SYNs are dropped (`tcp_conn_request`: `ListenOverflows`, `ListenDrops`). sock_diag reports
//!   the queue length as `idiag_rqueue` and the backlog as `idiag_wqueue` (`inet_diag_msg_
//!   common_fill` / `tcp_diag_get_info`); /proc reports the queue but not the backlog.
//! - The SYN queue of a listener is full at its backlog (`inet_csk_reqsk_queue_is_full`); then
//!   SYNs get cookies if `tcp_syncookies` allows, else are dropped (`TCPReqQFullDrop`). With
//!   syncookies off, unverified SYNs are also dropped once the queue reaches three quarters of
//!   `tcp_max_syn_backlog`.
//! - TIME_WAIT sockets beyond `tcp_max_tw_buckets` are not created (`inet_twsk_alloc`,
//!   `TCPTimeWaitOverflow`): the connection closes at once, without protection against old
//!   duplicates.
//! - An outgoing connection needs a local port from `ip_local_port_range` that is not in use
//!   toward the same remote address and port from the same local address
//!   (`__inet_hash_connect`); TIME_WAIT sockets hold theirs until they expire (60 s,
//!   `TCP_TIMEWAIT_LEN`) unless `tcp_tw_reuse` lets a new connection take them over.
//! - Orphans (closed by their process, still finishing the close: FIN_WAIT_1, FIN_WAIT_2,
//!   CLOSING, LAST_ACK with no file) beyond `tcp_max_orphans` are reset
//!   (`tcp_too_many_orphans`, `TCPAbortOnMemory`); orphaned FIN_WAIT_2 sockets live
//!   `tcp_fin_timeout` seconds.
//! - `tcp_info` (`tcp_get_info`, net/ipv4/tcp.c): `tcpi_retransmits` counts consecutive
//!   retransmission timeouts of the head segment (a SYN or FIN included), `tcpi_total_retrans`
//!   and `tcpi_segs_out` the connection's retransmitted and sent segments, `tcpi_snd_wnd` the
//!   window the peer last advertised, `tcpi_rcv_wnd` the one this side advertised (Linux 6.2+),
//!   `tcpi_last_ack_recv` the time since any ACK arrived (from the clock's origin when none
//!   ever did: a SYN_SENT socket). TIME_WAIT and SYN_RECV minisockets have none.
//! - Memory for socket buffers is host-wide and bounded by `tcp_mem` (pages): above its
//!   `pressure` value the kernel shrinks buffers (`tcp_enter_memory_pressure`,
//!   `TCPMemoryPressures`), at `max` it refuses them and drops or resets
//!   (`TCPAbortOnMemory`).

mod census;
mod checks;
mod connections;
mod finding;
#[cfg(test)]
mod fixtures;
mod levels;
mod recorded;
mod rules;
mod thresholds;

pub use census::Census;
pub use checks::{Check, CheckSpec, Rule, CHECKS};
pub use connections::{ConnHealth, PeerTally, STALL_MS, WAITING_STATES};
pub use finding::{
    tw_reuse, AddrCount, Evidence, Finding, Number, PortCount, ProcessCount, Setting, Severity,
    Subject, TwReuse, WorkloadEvidence,
};
pub use levels::{Level, Levels};
pub use recorded::{diagnose_recorded, Recorded, Recording};
pub use rules::TOP;
pub use thresholds::{parse_threshold, ThresholdOverride, Thresholds};

use crate::model::kernel::KernelFacts;
use crate::model::{OwnerMap, SocketRecord, StateSet, TcpState};

/// What the checks read besides the census.
pub struct Inputs<'a> {
    pub census: &'a Census,
    /// Every listening socket (of the families read, matching the address and port filters).
    pub listeners: &'a [SocketRecord],
    /// Owners of the CLOSE_WAIT, SYN_SENT and listening sockets.
    pub owners: &'a OwnerMap,
    pub facts: &'a KernelFacts,
    pub thresholds: &'a Thresholds,
    /// States counted: selected by `--state` and visible to the source.
    pub counted: StateSet,
    /// Why a state was not counted (for `not_checked`).
    pub not_counted_reason: &'a dyn Fn(TcpState) -> &'static str,
    /// Whether listener backlogs are known (netlink).
    pub backlog_known: bool,
    /// What the connections' `tcp_info` says; `None` when the source has none (/proc, a
    /// recorded sample): the checks that need it are then not judged ([`NOT_JUDGED`]).
    pub health: Option<&'a ConnHealth>,
}

/// Why a check that reads `tcp_info` was not run when there is none.
pub const NOT_JUDGED: &str = "not judged: it needs each connection's tcp_info, which only a live \
                              netlink (sock_diag) read has: not /proc, not a recorded sample";

/// Everything `doctor` concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Worst first; within a severity, in [`Check::ALL`] order, then by value.
    pub findings: Vec<Finding>,
    /// Checks not run, with why (their states were not counted).
    pub not_checked: Vec<(Check, String)>,
}

impl Diagnosis {
    /// The worst severity found (`Ok` when there are no findings).
    pub fn worst(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }
}

/// Findings over a threshold listed per check; the rest are summed in one more finding.
pub const MAX_LISTED: usize = 10;

/// Runs every check of [`CHECKS`] whose states were counted.
pub fn diagnose(inputs: &Inputs<'_>) -> Diagnosis {
    let mut findings = Vec::new();
    let mut not_checked = Vec::new();
    for spec in &CHECKS {
        let needs = spec.needs;
        if spec.needs_tcp_info && inputs.health.is_none() {
            not_checked.push((spec.check, NOT_JUDGED.to_string()));
            continue;
        }
        if !needs.is_empty() && needs.intersect(inputs.counted).is_empty() {
            let why: Vec<String> = needs
                .iter()
                .map(|s| format!("{s} {}", (inputs.not_counted_reason)(s)))
                .collect();
            not_checked.push((spec.check, why.join(", ")));
            continue;
        }
        let mut found = (spec.rule)(inputs, spec.check);
        limit_listed(&mut found, spec.check);
        findings.extend(found);
    }
    // Stable: within a severity the check order and each check's own order survive.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Diagnosis {
        findings,
        not_checked,
    }
}

/// Keeps at most [`MAX_LISTED`] findings over a threshold per check; the others are summed
/// into one more finding of the same severity as the worst of them.
fn limit_listed(found: &mut Vec<Finding>, check: Check) {
    let over: Vec<usize> = found
        .iter()
        .enumerate()
        .filter(|(_, f)| f.severity >= Severity::Warning)
        .map(|(i, _)| i)
        .collect();
    if over.len() <= MAX_LISTED {
        return;
    }
    let dropped: Vec<Finding> = over[MAX_LISTED..]
        .iter()
        .rev()
        .map(|&i| found.remove(i))
        .collect();
    let severity = dropped
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Warning);
    found.push(Finding {
        check,
        severity,
        subject: Subject::Host,
        value: dropped.iter().map(|f| f.value).sum(),
        limit: None,
        warning_at: None,
        critical_at: None,
        evidence: Evidence {
            numbers: vec![(Number::MoreSubjects, dropped.len() as u64)],
            ..Evidence::default()
        },
    });
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::fixtures::{facts, fin_wait_2_one_orphaned, of, run, run_with, sock};
    use super::*;
    use crate::model::Sink;

    #[test]
    fn a_quiet_host_is_ok_everywhere() {
        let census = Census::new(HashSet::new(), Some((40000, 40099)), Vec::new());
        let d = run(&census, &[], &Thresholds::default());
        assert_eq!(
            d.worst(),
            Severity::Info,
            "ListenOverflows 7 since boot is info"
        );
        for check in Check::ALL {
            assert_eq!(of(&d, check).len(), 1, "{check:?}: one summary finding");
        }
        let aq = of(&d, Check::AcceptQueue)[0];
        assert_eq!(aq.severity, Severity::Info);
        assert_eq!(of(&d, Check::CloseWait)[0].severity, Severity::Ok);
        assert!(d.not_checked.is_empty());
    }

    #[test]
    fn unchecked_states_are_listed() {
        let census = fin_wait_2_one_orphaned();
        let d = run_with(&census, &facts(), StateSet::of(TcpState::FinWait2), true);
        let unchecked: Vec<Check> = d.not_checked.iter().map(|(c, _)| *c).collect();
        assert!(unchecked.contains(&Check::CloseWait));
        assert!(
            !unchecked.contains(&Check::AcceptQueue),
            "listeners are always read"
        );
        assert!(d.not_checked[0].1.contains("not selected by --state"));
    }

    #[test]
    fn without_tcp_info_its_checks_are_not_judged_never_ok() {
        let census = Census::new(HashSet::new(), None, Vec::new());
        let d = run_with(&census, &facts(), StateSet::ALL, false);
        let needing: Vec<Check> = CHECKS
            .iter()
            .filter(|s| s.needs_tcp_info)
            .map(|s| s.check)
            .collect();
        assert_eq!(needing.len(), 6);
        for check in needing {
            assert!(
                of(&d, check).is_empty(),
                "{check:?} judged without tcp_info"
            );
            assert!(
                d.not_checked
                    .iter()
                    .any(|(c, why)| *c == check && why.as_str() == NOT_JUDGED),
                "{check:?} not listed as not judged"
            );
        }
        assert_eq!(of(&d, Check::CloseWait).len(), 1, "the others still run");
    }

    #[test]
    fn many_subjects_over_the_level_are_capped() {
        let mut census = Census::new(HashSet::new(), None, Vec::new());
        for dest in 0..(MAX_LISTED as u8 + 3) {
            for i in 0..10u16 {
                census.record(&sock(TcpState::SynSent, (1, 41000 + i), (dest, 80)));
            }
        }
        let d = run(&census, &[], &Thresholds::default());
        let ss = of(&d, Check::SynSent);
        assert_eq!(ss.len(), MAX_LISTED + 1);
        let rest = ss.last().expect("summary");
        assert_eq!((rest.subject.clone(), rest.value), (Subject::Host, 30));
        assert_eq!(rest.evidence.number(Number::MoreSubjects), Some(3));
    }
}
