//! CLOSE_WAIT per owning process: the peer closed, the kernel acknowledged, and the process
//! never called close() (`tcp_fin` moves the socket to CLOSE_WAIT; only the application
//! leaves it). A leak is an application's, so findings name the process holding the sockets,
//! or say why none can be named.

use std::collections::BTreeMap;

use super::{finding, top_addrs, top_ports};
use crate::diagnose::census::Tally;
use crate::diagnose::{Check, Evidence, Finding, Inputs, Severity, Subject};
use crate::model::{OwnerMap, Process, SocketRecord};

/// One finding per holder (a socket shared after fork counts for each process holding it),
/// most sockets first; any CLOSE_WAIT is at least worth knowing.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let census = inputs.census;
    if census.close_wait.is_empty() {
        return vec![finding(
            inputs,
            check,
            Subject::Host,
            0,
            None,
            Evidence::default(),
        )];
    }
    // Group by owner: a socket shared after fork counts for each process holding it.
    let mut groups: BTreeMap<GroupKey, Tally> = BTreeMap::new();
    for r in &census.close_wait {
        let keys = match owned(inputs.owners, r) {
            Owned::By(ps) => ps
                .into_iter()
                .map(|p| GroupKey::Process(p.pid, p.command.clone()))
                .collect(),
            Owned::Hidden => vec![GroupKey::Hidden],
            Owned::NotFound => vec![GroupKey::NotFound],
        };
        for key in keys {
            groups
                .entry(key)
                .or_default()
                .add(r, &census.listening, census.ephemeral);
        }
    }
    let mut out: Vec<Finding> = groups
        .into_iter()
        .map(|(key, tally)| {
            let subject = match key {
                GroupKey::Process(pid, command) => Subject::Process { pid, command },
                GroupKey::Hidden => Subject::OwnerHidden,
                GroupKey::NotFound => Subject::OwnerNotFound,
            };
            let mut f = finding(
                inputs,
                check,
                subject,
                tally.count,
                None,
                Evidence {
                    ports: top_ports(&tally.ports),
                    remotes: top_addrs(&tally.remotes),
                    ..Evidence::default()
                },
            );
            // Any CLOSE_WAIT that stays is a leak: below the warning level it is still worth
            // knowing who holds them.
            if f.severity == Severity::Ok {
                f.severity = Severity::Info;
            }
            f
        })
        .collect();
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    out
}

/// Who a group of CLOSE_WAIT sockets belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Process(u32, String),
    Hidden,
    NotFound,
}

/// The owners of a socket, or why there are none.
pub(super) enum Owned<'a> {
    By(Vec<&'a Process>),
    Hidden,
    NotFound,
}

pub(super) fn owned<'a>(owners: &'a OwnerMap, r: &SocketRecord) -> Owned<'a> {
    let found: Vec<_> = owners.owner_processes(r.inode).collect();
    if !found.is_empty() {
        Owned::By(found)
    } else if r.inode != 0 && owners.stats().unreadable() > 0 {
        Owned::Hidden
    } else {
        Owned::NotFound
    }
}

#[cfg(test)]
mod tests {
    use crate::aggregate::Direction;
    use crate::diagnose::fixtures::{of, run, sock};
    use crate::diagnose::{
        parse_threshold, Census, Check, PortCount, Severity, Subject, Thresholds,
    };
    use crate::model::{Sink, TcpState};

    #[test]
    fn close_wait_without_owners_is_grouped_and_graded() {
        let mut census = Census::new([8080].into_iter().collect(), None, Vec::new());
        for i in 0..12 {
            let mut r = sock(TcpState::CloseWait, (1, 8080), (2, 50000 + i));
            r.inode = 1000 + u64::from(i);
            census.record(&r);
        }
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::CloseWait);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].value), (Severity::Warning, 12));
        assert_eq!(f[0].subject, Subject::OwnerNotFound);
        assert_eq!(
            f[0].evidence.ports,
            [PortCount {
                port: 8080,
                direction: Direction::In,
                sockets: 12
            }]
        );
        assert_eq!(f[0].evidence.remotes[0].sockets, 12);
        let mut t = Thresholds::default();
        t.apply(&parse_threshold("CLOSE_WAIT=20").expect("valid"));
        let d = run(&census, &[], &t);
        assert_eq!(of(&d, Check::CloseWait)[0].severity, Severity::Info);
    }
}
