//! Test fixtures shared by the unit tests of `diagnose`: sockets on 10.0.0.x, kernel facts
//! with small limits, and a run of every check over a census. Tests only.

use std::net::{IpAddr, Ipv4Addr};

use super::{diagnose, Census, Check, Diagnosis, Finding, Inputs, Thresholds};
use crate::model::kernel::{KernelFacts, SockStat, Sysctls};
use crate::model::{Family, KernelState, OwnerMap, Sink, SocketRecord, StateSet, TcpState};

/// 10.0.0.`last`.
pub fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

/// An IPv4 socket from 10.0.0.`local.0`:`local.1` to 10.0.0.`remote.0`:`remote.1`.
pub fn sock(state: TcpState, local: (u8, u16), remote: (u8, u16)) -> SocketRecord {
    let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
    r.local = ip(local.0);
    r.local_port = local.1;
    r.remote = ip(remote.0);
    r.remote_port = remote.1;
    r
}

/// Small limits (1000 TIME_WAIT buckets, 100 ephemeral ports, 100 orphans), syncookies on,
/// ListenOverflows 7 since boot, 10 time-wait entries.
pub fn facts() -> KernelFacts {
    KernelFacts {
        sysctls: Sysctls {
            tcp_max_tw_buckets: Some(1000),
            ip_local_port_range: Some((40000, 40099)),
            tcp_syncookies: Some(1),
            tcp_max_orphans: Some(100),
            ..Sysctls::default()
        },
        tcp_ext: [("ListenOverflows".to_string(), 7)].into_iter().collect(),
        sockstat: Some(SockStat {
            tw: 10,
            ..SockStat::default()
        }),
        page_size: 4096,
        missing: Vec::new(),
    }
}

/// Every check over `census`, with [`facts`], no owners, every state counted, backlogs known, the
/// census's `tcp_info` judged.
pub fn run(census: &Census, listeners: &[SocketRecord], thresholds: &Thresholds) -> Diagnosis {
    let owners = OwnerMap::default();
    let facts = facts();
    diagnose(&Inputs {
        census,
        listeners,
        owners: &owners,
        facts: &facts,
        thresholds,
        counted: StateSet::ALL,
        not_counted_reason: &|_| "not counted",
        backlog_known: true,
        health: Some(&census.health),
    })
}

/// Every check over `census` with `facts`, no owners, no listener and no `tcp_info`: the
/// states of `counted` counted (the others "not selected by --state"), backlogs known or not.
pub fn run_with(
    census: &Census,
    facts: &KernelFacts,
    counted: StateSet,
    backlog_known: bool,
) -> Diagnosis {
    let owners = OwnerMap::default();
    diagnose(&Inputs {
        census,
        listeners: &[],
        owners: &owners,
        facts,
        thresholds: &Thresholds::default(),
        counted,
        not_counted_reason: &|_| "not selected by --state",
        backlog_known,
        health: None,
    })
}

/// Two FIN_WAIT_2 sockets toward 10.0.0.2:80, one held by a process (inode 5), one orphaned.
pub fn fin_wait_2_one_orphaned() -> Census {
    let mut census = Census::new(std::collections::HashSet::new(), None, Vec::new());
    let mut held = sock(TcpState::FinWait2, (1, 40000), (2, 80));
    held.inode = 5;
    census.record(&held);
    census.record(&sock(TcpState::FinWait2, (1, 40001), (2, 80)));
    census
}

/// The findings of one check.
pub fn of(d: &Diagnosis, check: Check) -> Vec<&Finding> {
    d.findings.iter().filter(|f| f.check == check).collect()
}
