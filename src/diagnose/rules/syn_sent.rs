//! Unanswered connection attempts (SYN_SENT) per destination address and port: the
//! destination is down, filtered, or its accept queue is full so its kernel drops the SYNs.
//! Each attempt is retried `tcp_syn_retries` times (about two minutes) before connect()
//! fails with ETIMEDOUT.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{finding, owning_processes, setting};
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Severity, Subject};
use crate::model::SocketRecord;

/// A finding per destination over its levels, most first, naming the processes waiting; else
/// one `ok` summary of how many attempts to how many destinations.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let facts = inputs.facts;
    let mut per: BTreeMap<(IpAddr, u16), Vec<&SocketRecord>> = BTreeMap::new();
    for r in &inputs.census.syn_sent {
        per.entry((r.remote, r.remote_port)).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((address, port), records) in &per {
        let f = finding(
            inputs,
            check,
            Subject::Destination {
                address: *address,
                port: *port,
            },
            records.len() as u64,
            None,
            Evidence {
                processes: owning_processes(inputs.owners, records.iter().copied()),
                settings: vec![setting(
                    "net.ipv4.tcp_syn_retries",
                    facts.sysctls.tcp_syn_retries,
                )],
                ..Evidence::default()
            },
        );
        if f.severity > Severity::Ok {
            out.push(f);
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    if out.is_empty() {
        out.push(finding(
            inputs,
            check,
            Subject::Host,
            inputs.census.syn_sent.len() as u64,
            None,
            Evidence {
                numbers: vec![(Number::Destinations, per.len() as u64)],
                ..Evidence::default()
            },
        ));
        // A host-wide total is not what the per-destination levels are for.
        if let Some(f) = out.first_mut() {
            f.severity = Severity::Ok;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{ip, of, run, sock};
    use crate::diagnose::{Census, Check, Severity, Subject, Thresholds};
    use crate::model::{Sink, TcpState};

    #[test]
    fn syn_sent_groups_destinations() {
        let mut census = Census::new([443].into_iter().collect(), None, Vec::new());
        for i in 0..11u16 {
            census.record(&sock(TcpState::SynSent, (1, 41000 + i), (7, 5432)));
        }
        census.record(&sock(TcpState::SynSent, (1, 42000), (8, 80)));
        let d = run(&census, &[], &Thresholds::default());
        let ss = of(&d, Check::SynSent);
        assert_eq!(ss.len(), 1, "only the destination over the level");
        assert_eq!(
            (ss[0].severity, ss[0].value, &ss[0].subject),
            (
                Severity::Warning,
                11,
                &Subject::Destination {
                    address: ip(7),
                    port: 5432
                }
            )
        );
    }
}
