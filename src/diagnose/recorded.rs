//! `doctor --at`: the checks over a recorded moment. The rules are the live ones; their
//! [`Inputs`] are rebuilt from what a history sample holds (per-state counts, service ports
//! with their listeners' queues, listeners with connections waiting, the top processes, the
//! kernel's settings, socket totals and counters), and what a sample does not hold is said,
//! never guessed: a check that needs it is reported as not checked (never `ok`), and a
//! finding whose evidence lacks a part says which ([`Recorded::gaps`]).
//!
//! Owns: the reconstruction and the judgement of what a recording can support, per check.
//! Pure: the sample comes from `store`, the words from `render`.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use super::census::{HalfOpen, CLOSING_STATES};
use super::{diagnose, Census, Check, Diagnosis, Inputs, Number, Thresholds};
use crate::aggregate::Direction;
use crate::model::history::{ListenerSample, PortSample, ProcessSample, NO_PROCESS_PID};
use crate::model::kernel::KernelFacts;
use crate::model::{
    Family, KernelState, OwnerMap, Process, ScanStats, SocketRecord, StateRow, StateSet, TcpState,
};

/// What one recorded sample holds, as `doctor --at` reads it.
#[derive(Debug, Clone, Copy)]
pub struct Recording<'a> {
    /// Sockets by state.
    pub states: StateRow,
    /// Service ports (the recorder's top ones; port 0 sums the rest).
    pub ports: &'a [PortSample],
    /// `None`: owners were not looked up for the sample.
    pub processes: Option<&'a [ProcessSample]>,
    /// Listening sockets with connections waiting; `None`: not recorded (schema version 1).
    pub listeners: Option<&'a [ListenerSample]>,
    /// Settings and socket totals, with the recorded counters in `tcp_ext`; `None`: not
    /// recorded (schema version 1).
    pub facts: Option<&'a KernelFacts>,
    /// Whether listener backlogs are known (the sample came from netlink).
    pub backlog_known: bool,
}

/// The diagnosis of a recorded moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Findings of the checks the recording supports; `not_checked` names the others, with
    /// what the recording lacks.
    pub diagnosis: Diagnosis,
    /// Per check judged: what its evidence would show live that the recording does not hold
    /// (left out of the findings, not shown as empty or zero), as a noun phrase.
    pub gaps: Vec<(Check, String)>,
}

const NO_REMOTES: &str = "remote addresses";
const NO_ORPHANS: &str = "orphans per state";
const NO_LISTENER_OWNERS: &str = "owners of the listening sockets";

/// Runs every check over `rec` with the live rules, then keeps what the recording supports.
pub fn diagnose_recorded(rec: &Recording<'_>, thresholds: &Thresholds) -> Recorded {
    let empty = KernelFacts::default();
    let facts = rec.facts.unwrap_or(&empty);
    let listening: HashSet<u16> = rec
        .ports
        .iter()
        .filter(|p| p.listeners > 0 && p.port != 0)
        .map(|p| p.port)
        .collect();
    let listeners = listeners(rec);
    let mut census = Census::new(
        listening,
        facts.sysctls.ip_local_port_range,
        listeners.clone(),
    );
    // The closing states and TIME_WAIT: their counts, and the service ports that held them.
    for (i, (state, _)) in CLOSING_STATES.iter().enumerate() {
        fill_tally(&mut census.closing[i], rec, *state);
    }
    fill_tally(&mut census.time_wait, rec, TcpState::TimeWait);
    for p in rec.ports.iter().filter(|p| !p.outgoing && p.port != 0) {
        let n = p.counts.get(TcpState::SynRecv);
        if n > 0 {
            census.syn_recv.insert(
                p.port,
                HalfOpen {
                    count: n,
                    sources: Default::default(),
                },
            );
        }
    }
    // CLOSE_WAIT per recorded process: one stand-in socket per socket a process held, its
    // own inode mapped to that process (so the rule groups them as live).
    let mut owners = OwnerMap::new(ScanStats::default());
    let mut inode = 1u64;
    let mut by_pid: Vec<&ProcessSample> = rec.processes.unwrap_or_default().iter().collect();
    by_pid.sort_by_key(|p| p.pid);
    for p in by_pid {
        let n = p.counts.get(TcpState::CloseWait);
        if n == 0 || (p.pid <= 0 && p.pid != NO_PROCESS_PID) {
            continue;
        }
        let mut inodes = Vec::new();
        for _ in 0..n {
            let mut r = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::CloseWait));
            if p.pid > 0 {
                r.inode = inode;
                inodes.push(inode);
                inode += 1;
            }
            census.close_wait.push(r);
        }
        if p.pid > 0 {
            owners.commit(
                Process {
                    pid: p.pid as u32,
                    uid: p.uid.unwrap_or(0),
                    command: p.command.clone(),
                },
                &inodes,
            );
        }
    }
    let mut diagnosis = diagnose(&Inputs {
        census: &census,
        listeners: &listeners,
        owners: &owners,
        facts,
        thresholds,
        counted: StateSet::ALL,
        not_counted_reason: &|_| "is not recorded",
        backlog_known: rec.backlog_known,
        health: None,
    });
    let mut gaps = Vec::new();
    let mut not_checked = Vec::new();
    for check in Check::ALL {
        match support(rec, thresholds, check) {
            Support::Judged(missing) => {
                for f in diagnosis.findings.iter_mut().filter(|f| f.check == check) {
                    strip(f, check);
                }
                gaps.extend(missing.into_iter().map(|m| (check, m)));
            }
            Support::NotJudged(why) => {
                diagnosis.findings.retain(|f| f.check != check);
                not_checked.push((check, why));
            }
        }
    }
    diagnosis.not_checked.extend(not_checked);
    // SYN_SENT judged in total (below the per-destination level): the rule counted no
    // stand-ins, so its summary takes the recorded total.
    for f in diagnosis
        .findings
        .iter_mut()
        .filter(|f| f.check == Check::SynSent && f.subject == super::Subject::Host)
    {
        f.value = rec.states.get(TcpState::SynSent);
    }
    Recorded { diagnosis, gaps }
}

/// How far a recording supports a check.
enum Support {
    /// Judged; the evidence lacks these parts.
    Judged(Vec<String>),
    /// Not judged, and why.
    NotJudged(String),
}

fn support(rec: &Recording<'_>, thresholds: &Thresholds, check: Check) -> Support {
    let count = |s: TcpState| rec.states.get(s);
    let no_facts = || {
        Support::NotJudged(
            "the kernel's settings and socket totals are not in this sample (recorded by a \
             tcpstat before version 2 of the database)"
                .to_string(),
        )
    };
    match check {
        Check::CloseWait => {
            let held = count(TcpState::CloseWait);
            let Some(processes) = rec.processes else {
                return if held == 0 {
                    Support::Judged(Vec::new())
                } else {
                    Support::NotJudged(format!(
                        "{held} CLOSE_WAIT sockets, but this sample did not record their \
                         processes (record --processes auto looks them up on fewer samples \
                         on a busy host, never on none; or a tcpstat before version 2 of \
                         the database)"
                    ))
                };
            };
            // The processes past the recorder's top ones were summed. Each of them had no
            // more sockets in stuck states than the last one kept, so none can be over the
            // warning level when that bound is below it.
            let other: u64 = processes
                .iter()
                .filter(|p| p.pid == 0)
                .map(|p| p.counts.get(TcpState::CloseWait))
                .sum();
            let bound = processes
                .iter()
                .filter(|p| p.pid > 0)
                .map(|p| p.counts.stuck())
                .min()
                .unwrap_or(0);
            let warning = super::rules::judge(u64::MAX, thresholds.get(Check::CloseWait), None).1;
            if other > 0 && warning.is_none_or(|w| bound >= w) {
                return Support::NotJudged(format!(
                    "{other} CLOSE_WAIT sockets belong to processes past the recorded top ones \
                     (summed as \"(other)\"), any of which may hold {bound} or more: record \
                     with a larger --top-processes"
                ));
            }
            let mut missing = vec!["ports and remote addresses per process".to_string()];
            if other > 0 {
                missing.push(format!(
                    "the holders of {other} CLOSE_WAIT sockets past the recorded top processes \
                     (each with fewer than {bound} sockets in stuck states: below the warning \
                     level)"
                ));
            }
            Support::Judged(missing)
        }
        Check::AcceptQueue => {
            if rec.listeners.is_none() {
                let waiting = rec.ports.iter().any(|p| p.queued > 0);
                return if waiting {
                    Support::NotJudged(
                        "connections were waiting, but this sample holds only each port's \
                         sum, not each listening socket's queue (a tcpstat before version 2 \
                         of the database)"
                            .to_string(),
                    )
                } else {
                    Support::Judged(vec![NO_LISTENER_OWNERS.to_string()])
                };
            }
            Support::Judged(vec![NO_LISTENER_OWNERS.to_string()])
        }
        Check::SynRecv => {
            let folded: u64 = rec
                .ports
                .iter()
                .filter(|p| !p.outgoing && p.port == 0)
                .map(|p| p.counts.get(TcpState::SynRecv))
                .sum();
            if folded > 0 {
                return Support::NotJudged(format!(
                    "{folded} half-open connections were on ports the recorder summed as port \
                     0 (past its --top): their ports are not recorded"
                ));
            }
            Support::Judged(vec![
                "source addresses".to_string(),
                NO_LISTENER_OWNERS.to_string(),
            ])
        }
        Check::TimeWait => match rec.facts {
            None => no_facts(),
            Some(_) => Support::Judged(vec![NO_REMOTES.to_string()]),
        },
        Check::EphemeralPorts => {
            if count(TcpState::TimeWait) + outgoing(rec) == 0 {
                return Support::Judged(Vec::new());
            }
            Support::NotJudged(
                "local ports in use per route (local address, remote address and port) are \
                 not recorded"
                    .to_string(),
            )
        }
        Check::SynSent => {
            let n = count(TcpState::SynSent);
            let warning = super::rules::judge(u64::MAX, thresholds.get(Check::SynSent), None).1;
            // Below the warning level in total, no destination can be over it.
            if n == 0 || warning.is_some_and(|w| n < w) {
                Support::Judged(vec![
                    "destinations (remote address and port): only the total".to_string(),
                ])
            } else {
                Support::NotJudged(format!(
                    "{n} SYN_SENT sockets in all, but the count per destination (remote \
                     address and port) is not recorded"
                ))
            }
        }
        Check::FinWait1 | Check::FinWait2 | Check::Closing | Check::LastAck => {
            Support::Judged(vec![NO_REMOTES.to_string(), NO_ORPHANS.to_string()])
        }
        Check::Orphans => match rec.facts.and_then(|f| f.sockstat) {
            None => no_facts(),
            Some(_) => Support::Judged(vec![NO_ORPHANS.to_string()]),
        },
        Check::TcpMemory => match rec.facts.and_then(|f| f.sockstat) {
            None => no_facts(),
            Some(_) => Support::Judged(Vec::new()),
        },
        // Connection health, from tcp_info: a sample holds none. `diagnose` already lists
        // these as not judged (without `Inputs::health`), with its reason.
        Check::Retransmits
        | Check::Unanswered
        | Check::ZeroWindow
        | Check::Stalled
        | Check::RecvQueue
        | Check::RttOutlier => Support::Judged(Vec::new()),
    }
}

/// Sockets of outgoing connections recorded (not LISTEN).
fn outgoing(rec: &Recording<'_>) -> u64 {
    rec.ports
        .iter()
        .filter(|p| p.outgoing)
        .map(|p| p.counts.total() - p.counts.get(TcpState::Listen))
        .sum()
}

/// Takes out of a finding's evidence what the stand-ins made up: remote addresses (none
/// recorded), the per-state orphan counts, distinct sources, and for SYN_SENT the
/// destinations (counted from stand-ins).
fn strip(f: &mut super::Finding, check: Check) {
    let e = &mut f.evidence;
    e.remotes.clear();
    e.numbers.retain(|(n, _)| {
        !matches!(
            n,
            Number::Orphaned
                | Number::FinWait1Orphans
                | Number::FinWait2Orphans
                | Number::ClosingOrphans
                | Number::LastAckOrphans
                | Number::DistinctSources
                | Number::Destinations
        )
    });
    if check == Check::CloseWait {
        e.ports.clear();
    }
}

/// Fills a state's tally from the port rows (its count from the state counts).
fn fill_tally(tally: &mut super::census::Tally, rec: &Recording<'_>, state: TcpState) {
    tally.count = rec.states.get(state);
    for p in rec.ports.iter().filter(|p| p.port != 0) {
        let n = p.counts.get(state);
        if n > 0 {
            let direction = if p.outgoing {
                Direction::Out
            } else {
                Direction::In
            };
            *tally.ports.entry((p.port, direction)).or_default() += n;
        }
    }
}

/// Listening sockets as the rules see them: the recorded ones with connections waiting,
/// exactly, and for each port the others (empty queues), sharing what is left of the
/// port's summed backlog.
fn listeners(rec: &Recording<'_>) -> Vec<SocketRecord> {
    let mut out = Vec::new();
    let listen = |address: IpAddr, port: u16, queued: u64, backlog: u64| {
        let mut r = SocketRecord::empty(
            if address.is_ipv6() {
                Family::V6
            } else {
                Family::V4
            },
            KernelState::Known(TcpState::Listen),
        );
        r.local = address;
        r.local_port = port;
        r.recv_q = u32::try_from(queued).unwrap_or(u32::MAX);
        r.send_q = u32::try_from(backlog).unwrap_or(u32::MAX);
        r
    };
    let waiting = rec.listeners.unwrap_or_default();
    for l in waiting {
        out.push(listen(l.address, l.port, l.queued, l.backlog.unwrap_or(0)));
    }
    let named: HashSet<u16> = rec
        .ports
        .iter()
        .filter(|p| p.listeners > 0 && p.port != 0)
        .map(|p| p.port)
        .collect();
    for p in rec.ports.iter().filter(|p| p.listeners > 0) {
        // Port 0 sums the listening ports past the recorder's top ones.
        let here: Vec<&ListenerSample> = waiting
            .iter()
            .filter(|l| {
                if p.port == 0 {
                    !named.contains(&l.port)
                } else {
                    l.port == p.port
                }
            })
            .collect();
        let rest = p.listeners.saturating_sub(here.len() as u64);
        if rest == 0 {
            continue;
        }
        let left = p
            .backlog
            .unwrap_or(0)
            .saturating_sub(here.iter().filter_map(|l| l.backlog).sum());
        // Without a listener table (schema version 1) a port's queue is known only summed:
        // its one listener, when it has one, holds it.
        let queued = if rec.listeners.is_none() && p.listeners == 1 {
            p.queued
        } else {
            0
        };
        for i in 0..rest {
            let share = left / rest + u64::from(i < left % rest);
            out.push(listen(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                p.port,
                queued,
                share,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::fixtures::facts;
    use crate::diagnose::{Severity, Subject};

    fn row(pairs: &[(TcpState, u64)]) -> StateRow {
        let mut r = StateRow::default();
        for &(s, n) in pairs {
            r.counts[s.index()] = n;
        }
        r
    }

    fn process(pid: i64, command: &str, counts: StateRow) -> ProcessSample {
        ProcessSample {
            pid,
            uid: (pid > 0).then_some(1000),
            user: None,
            command: command.into(),
            counts,
        }
    }

    fn run(rec: &Recording<'_>) -> Recorded {
        diagnose_recorded(rec, &Thresholds::default())
    }

    fn recording<'a>(
        states: StateRow,
        ports: &'a [PortSample],
        processes: Option<&'a [ProcessSample]>,
        facts: &'a KernelFacts,
    ) -> Recording<'a> {
        Recording {
            states,
            ports,
            processes,
            listeners: Some(&[]),
            facts: Some(facts),
            backlog_known: true,
        }
    }

    fn not_checked(r: &Recorded, check: Check) -> Option<&str> {
        r.diagnosis
            .not_checked
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, why)| why.as_str())
    }

    #[test]
    fn close_wait_is_judged_per_recorded_process() {
        let facts = facts();
        let cw = |n| row(&[(TcpState::CloseWait, n)]);
        let processes = [
            process(10, "leaky", cw(12)),
            process(11, "quiet", cw(3)),
            process(0, "(other)", cw(2)),
            process(-1, "(no process)", cw(1)),
        ];
        let r = run(&recording(cw(18), &[], Some(&processes), &facts));
        let found: Vec<(Subject, Severity, u64)> = r
            .diagnosis
            .findings
            .iter()
            .filter(|f| f.check == Check::CloseWait)
            .map(|f| (f.subject.clone(), f.severity, f.value))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Subject::Process {
                        pid: 10,
                        command: "leaky".into()
                    },
                    Severity::Warning,
                    12
                ),
                (
                    Subject::Process {
                        pid: 11,
                        command: "quiet".into()
                    },
                    Severity::Info,
                    3
                ),
                (Subject::OwnerNotFound, Severity::Info, 1),
            ]
        );
        // The 2 folded ones: each had fewer than 3 stuck sockets, below the level of 10.
        assert!(
            r.gaps
                .iter()
                .any(|(c, w)| *c == Check::CloseWait && w.contains("2 CLOSE_WAIT")),
            "{:?}",
            r.gaps
        );
        assert_eq!(not_checked(&r, Check::CloseWait), None);
        // When the last process kept had as many stuck sockets as the level, a folded one
        // could be over it: not judged.
        let processes = [process(10, "leaky", cw(12)), process(0, "(other)", cw(9))];
        let r = run(&recording(cw(21), &[], Some(&processes), &facts));
        assert!(not_checked(&r, Check::CloseWait).is_some_and(|w| w.contains("--top-processes")));
        assert!(!r
            .diagnosis
            .findings
            .iter()
            .any(|f| f.check == Check::CloseWait));
    }

    #[test]
    fn without_processes_close_wait_is_not_judged_unless_there_is_none() {
        let facts = facts();
        let r = run(&recording(
            row(&[(TcpState::CloseWait, 4)]),
            &[],
            None,
            &facts,
        ));
        assert!(not_checked(&r, Check::CloseWait)
            .is_some_and(|w| w.contains("4 CLOSE_WAIT") && w.contains("did not record")));
        let r = run(&recording(StateRow::default(), &[], None, &facts));
        assert_eq!(not_checked(&r, Check::CloseWait), None);
        let f: Vec<_> = r
            .diagnosis
            .findings
            .iter()
            .filter(|f| f.check == Check::CloseWait)
            .collect();
        assert_eq!((f.len(), f[0].severity, f[0].value), (1, Severity::Ok, 0));
    }

    #[test]
    fn syn_sent_is_judged_only_below_its_level_in_total() {
        let facts = facts();
        let r = run(&recording(
            row(&[(TcpState::SynSent, 5)]),
            &[],
            Some(&[]),
            &facts,
        ));
        let f = r
            .diagnosis
            .findings
            .iter()
            .find(|f| f.check == Check::SynSent)
            .expect("judged");
        assert_eq!((f.severity, f.value), (Severity::Ok, 5));
        assert_eq!(f.evidence.number(Number::Destinations), None);
        let r = run(&recording(
            row(&[(TcpState::SynSent, 50)]),
            &[],
            Some(&[]),
            &facts,
        ));
        assert!(not_checked(&r, Check::SynSent).is_some());
        assert!(!r
            .diagnosis
            .findings
            .iter()
            .any(|f| f.check == Check::SynSent));
    }

    #[test]
    fn a_full_recorded_queue_is_critical_and_settings_missing_are_not_judged() {
        let facts = facts();
        let ports = [PortSample {
            port: 8080,
            counts: row(&[(TcpState::Listen, 2)]),
            listeners: 2,
            queued: 129,
            backlog: Some(256),
            ..PortSample::default()
        }];
        let waiting = [ListenerSample {
            address: "10.0.0.1".parse().expect("address"),
            port: 8080,
            queued: 129,
            backlog: Some(128),
        }];
        let mut rec = recording(row(&[(TcpState::Listen, 2)]), &ports, Some(&[]), &facts);
        rec.listeners = Some(&waiting);
        let r = run(&rec);
        let f = r
            .diagnosis
            .findings
            .iter()
            .find(|f| f.check == Check::AcceptQueue)
            .expect("a finding");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.limit, Some(128));
        // A version 1 sample: no settings, no listener table.
        rec.facts = None;
        rec.listeners = None;
        let r = run(&rec);
        for check in [
            Check::TimeWait,
            Check::Orphans,
            Check::TcpMemory,
            Check::AcceptQueue,
        ] {
            assert!(not_checked(&r, check).is_some(), "{check:?}");
            assert!(!r.diagnosis.findings.iter().any(|f| f.check == check));
        }
    }
}
