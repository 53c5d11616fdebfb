//! The four closing states, one check each: FIN_WAIT_1, FIN_WAIT_2, CLOSING and LAST_ACK,
//! counted with how many are orphans (closed by their process, no file). Orphaned ones are
//! retried `tcp_orphan_retries` times (FIN_WAIT_1, CLOSING, LAST_ACK) or live
//! `tcp_fin_timeout` seconds (FIN_WAIT_2); the orphans rule judges their total.

use super::{finding, setting, top_addrs, top_ports};
use crate::diagnose::census::CLOSING_STATES;
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Subject};

/// One finding for the namespace: the state's sockets, busiest ports and remotes, orphans,
/// and the setting that bounds the orphaned ones.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let facts = inputs.facts;
    let i = CLOSING_STATES
        .iter()
        .position(|(_, c)| *c == check)
        .unwrap_or(0);
    let tally = &inputs.census.closing[i];
    let settings = match check {
        Check::FinWait2 => vec![setting(
            "net.ipv4.tcp_fin_timeout",
            facts.sysctls.tcp_fin_timeout,
        )],
        _ => vec![setting(
            "net.ipv4.tcp_orphan_retries",
            facts.sysctls.tcp_orphan_retries,
        )],
    };
    vec![finding(
        inputs,
        check,
        Subject::Host,
        tally.count,
        None,
        Evidence {
            ports: top_ports(&tally.ports),
            remotes: top_addrs(&tally.remotes),
            settings,
            numbers: vec![(Number::Orphaned, tally.orphans)],
            ..Evidence::default()
        },
    )]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::diagnose::fixtures::{facts, of, sock};
    use crate::diagnose::{diagnose, Census, Check, Inputs, Number, Thresholds};
    use crate::model::{OwnerMap, Sink, StateSet, TcpState};

    #[test]
    fn closing_states_count_orphans() {
        let mut census = Census::new(HashSet::new(), None, Vec::new());
        let mut held = sock(TcpState::FinWait2, (1, 40000), (2, 80));
        held.inode = 5;
        census.record(&held);
        census.record(&sock(TcpState::FinWait2, (1, 40001), (2, 80)));
        let owners = OwnerMap::default();
        let facts = facts();
        let d = diagnose(&Inputs {
            census: &census,
            listeners: &[],
            owners: &owners,
            facts: &facts,
            thresholds: &Thresholds::default(),
            counted: StateSet::of(TcpState::FinWait2),
            not_counted_reason: &|_| "not selected by --state",
            backlog_known: true,
            health: None,
        });
        let fw2 = of(&d, Check::FinWait2)[0];
        assert_eq!(fw2.value, 2);
        assert_eq!(fw2.evidence.number(Number::Orphaned), Some(1), "one orphan");
    }
}
