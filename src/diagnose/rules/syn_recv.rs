//! Half-open connections (SYN_RECV) per listening port, against the listeners' backlog. The
//! SYN queue is full at the backlog (`inet_csk_reqsk_queue_is_full`); then SYNs get cookies
//! if `tcp_syncookies` allows, else are dropped (`TCPReqQFullDrop`). How many source
//! addresses they come from tells a flood from a lossy path.

use std::collections::HashMap;

use super::{counters, finding, owning_processes, setting, top_addrs, top_ports};
use crate::aggregate::Direction;
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Severity, Subject};
use crate::model::SocketRecord;

/// A finding per port over its levels, most first; else one `ok` summary of the total.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let facts = inputs.facts;
    let census = inputs.census;
    let mut out = Vec::new();
    let mut total = 0;
    for (&port, half) in &census.syn_recv {
        total += half.count;
        let listeners: Vec<&SocketRecord> = inputs
            .listeners
            .iter()
            .filter(|l| l.local_port == port)
            .collect();
        let backlog = (inputs.backlog_known && !listeners.is_empty())
            .then(|| listeners.iter().map(|l| u64::from(l.send_q)).sum());
        let mut ports = HashMap::new();
        ports.insert((port, Direction::In), half.count);
        let f = finding(
            inputs,
            check,
            Subject::Port(port),
            half.count,
            backlog,
            Evidence {
                ports: top_ports(&ports),
                remotes: top_addrs(&half.sources),
                processes: owning_processes(inputs.owners, listeners.into_iter()),
                settings: vec![
                    setting("net.ipv4.tcp_syncookies", facts.sysctls.tcp_syncookies),
                    setting(
                        "net.ipv4.tcp_max_syn_backlog",
                        facts.sysctls.tcp_max_syn_backlog,
                    ),
                    setting("net.core.somaxconn", facts.sysctls.somaxconn),
                ],
                counters: counters(
                    facts,
                    &[
                        "SyncookiesSent",
                        "SyncookiesFailed",
                        "TCPReqQFullDoCookies",
                        "TCPReqQFullDrop",
                        "ListenDrops",
                    ],
                ),
                numbers: vec![(Number::DistinctSources, half.sources.len() as u64)],
                workload: None,
            },
        );
        out.push(f);
    }
    out.retain(|f| f.severity > Severity::Ok);
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    if out.is_empty() {
        out.push(Finding {
            severity: Severity::Ok,
            ..finding(
                inputs,
                check,
                Subject::Host,
                total,
                None,
                Evidence {
                    settings: vec![setting(
                        "net.ipv4.tcp_syncookies",
                        facts.sysctls.tcp_syncookies,
                    )],
                    ..Evidence::default()
                },
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{of, run, sock};
    use crate::diagnose::{Census, Check, Number, Severity, Thresholds};
    use crate::model::{Sink, TcpState};

    #[test]
    fn syn_recv_counts_sources() {
        let mut census = Census::new([443].into_iter().collect(), None, Vec::new());
        for i in 0..6u8 {
            census.record(&sock(TcpState::SynRecv, (1, 443), (100 + i % 3, 50000)));
        }
        let mut l = sock(TcpState::Listen, (0, 443), (0, 0));
        l.send_q = 6;
        let d = run(&census, &[l], &Thresholds::default());
        let sr = of(&d, Check::SynRecv);
        assert_eq!(
            (sr[0].severity, sr[0].value),
            (Severity::Critical, 6),
            "at backlog"
        );
        assert_eq!(
            sr[0].evidence.number(Number::DistinctSources),
            Some(3),
            "distinct sources"
        );
    }
}
