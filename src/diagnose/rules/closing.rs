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
    use crate::diagnose::fixtures::{facts, fin_wait_2_one_orphaned, of, run_with};
    use crate::diagnose::{Check, Number};
    use crate::model::{StateSet, TcpState};

    #[test]
    fn closing_states_count_orphans() {
        let census = fin_wait_2_one_orphaned();
        let d = run_with(&census, &facts(), StateSet::of(TcpState::FinWait2), true);
        let fw2 = of(&d, Check::FinWait2)[0];
        assert_eq!(fw2.value, 2);
        assert_eq!(fw2.evidence.number(Number::Orphaned), Some(1), "one orphan");
    }
}
