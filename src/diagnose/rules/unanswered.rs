//! SYN_SENT, FIN_WAIT_1, CLOSING and LAST_ACK sockets piling up toward one peer while the
//! kernel retransmits their SYN or FIN without an answer (`tcpi_retransmits` > 0: the
//! retransmission timer fired, `icsk_retransmits` in `tcp_retransmit_timer`): the peer is
//! down, filtered, or the path loses the packets. Named per peer, with the processes still
//! holding the sockets (orphans have none).

use std::collections::{BTreeMap, HashMap};

use super::{finding, owning_processes, top_ports};
use crate::aggregate::service_group_in;
use crate::diagnose::{
    Check, Evidence, Finding, Inputs, Number, Severity, Subject, WAITING_STATES,
};
use crate::model::TcpState;

/// A finding per peer with unanswered sockets (under the warning level: `info`), most first;
/// else one `ok` summary.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let Some(health) = inputs.health else {
        return Vec::new();
    };
    let census = inputs.census;
    let ephemeral = census
        .ephemeral
        .unwrap_or(crate::aggregate::DEFAULT_EPHEMERAL_PORTS);
    let peers: BTreeMap<_, _> = health.peers.iter().collect();
    let mut out = Vec::new();
    for (address, p) in &peers {
        let n = p.unanswered_count();
        if n == 0 {
            continue;
        }
        let mut ports = HashMap::new();
        for r in p.unanswered_all() {
            *ports
                .entry(service_group_in(&census.listening, ephemeral, r))
                .or_default() += 1;
        }
        let numbers = WAITING_STATES
            .iter()
            .zip(&p.unanswered)
            .filter(|(_, v)| !v.is_empty())
            .map(|(state, v)| (state_number(*state), v.len() as u64))
            .collect();
        let mut f = finding(
            inputs,
            check,
            Subject::Peer(**address),
            n,
            None,
            Evidence {
                ports: top_ports(&ports),
                processes: owning_processes(inputs.owners, p.unanswered_all()),
                numbers,
                ..Evidence::default()
            },
        );
        if f.severity == Severity::Ok {
            f.severity = Severity::Info;
        }
        out.push(f);
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    if out.is_empty() {
        out.push(finding(
            inputs,
            check,
            Subject::Host,
            0,
            None,
            Evidence::default(),
        ));
    }
    out
}

fn state_number(state: TcpState) -> Number {
    match state {
        TcpState::SynSent => Number::SynSent,
        TcpState::FinWait1 => Number::FinWait1,
        TcpState::Closing => Number::Closing,
        _ => Number::LastAck,
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{ip, of, run, sock};
    use crate::diagnose::{Census, Check, Number, Severity, Subject, Thresholds};
    use crate::model::{Sink, SocketDetail, TcpInfo, TcpState};

    #[test]
    fn a_pile_up_toward_a_silent_peer_is_named() {
        let mut census = Census::new(Default::default(), None, Vec::new());
        let detail = |retransmits| SocketDetail {
            info: Some(TcpInfo {
                retransmits: Some(retransmits),
                ..TcpInfo::default()
            }),
            ..SocketDetail::default()
        };
        for i in 0..4 {
            census.record_detail(
                &sock(TcpState::SynSent, (1, 41000 + i), (7, 443)),
                &detail(2),
            );
        }
        for i in 0..2 {
            census.record_detail(
                &sock(TcpState::FinWait1, (1, 42000 + i), (7, 443)),
                &detail(1),
            );
        }
        // Answered so far: not counted.
        census.record_detail(&sock(TcpState::SynSent, (1, 43000), (8, 443)), &detail(0));
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::Unanswered);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (&f[0].subject, f[0].value, f[0].severity),
            (&Subject::Peer(ip(7)), 6, Severity::Warning)
        );
        assert_eq!(f[0].evidence.number(Number::SynSent), Some(4));
        assert_eq!(f[0].evidence.number(Number::FinWait1), Some(2));
    }
}
