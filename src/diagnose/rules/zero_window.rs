//! Connections whose peer advertises a zero window while this side has data to send (or is
//! probing the window: `tcpi_snd_wnd` 0 with data queued, or `tcpi_probes` > 0): the peer's
//! application does not read. Named per peer, with the local processes writing to it.

use std::collections::BTreeMap;

use super::{at_least_info, finding, owning_processes, ports_of, worst_first_or_ok};
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Subject};

/// A finding per peer with zero-window connections (under the warning level: `info`), most
/// first; else one `ok` summary.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let Some(health) = inputs.health else {
        return Vec::new();
    };
    let peers: BTreeMap<_, _> = health.peers.iter().collect();
    let mut out = Vec::new();
    for (address, p) in &peers {
        if p.zero_window.is_empty() {
            continue;
        }
        let queued: u64 = p.zero_window.iter().map(|r| u64::from(r.send_q)).sum();
        let f = finding(
            inputs,
            check,
            Subject::Peer(**address),
            p.zero_window.len() as u64,
            None,
            Evidence {
                ports: ports_of(inputs.census, &p.zero_window),
                processes: owning_processes(inputs.owners, p.zero_window.iter()),
                numbers: vec![(Number::SendQueueBytes, queued)],
                ..Evidence::default()
            },
        );
        out.push(at_least_info(f));
    }
    worst_first_or_ok(
        inputs,
        check,
        out,
        vec![(Number::Connections, health.connections)],
    )
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{ip, of, run, sock};
    use crate::diagnose::{Census, Check, Number, Severity, Subject, Thresholds};
    use crate::model::{Sink, SocketDetail, TcpInfo, TcpState};

    #[test]
    fn a_peer_that_does_not_read_is_named() {
        let mut census = Census::new([5000].into_iter().collect(), None, Vec::new());
        let mut r = sock(TcpState::Established, (1, 40000), (4, 5000));
        r.send_q = 4096;
        let detail = SocketDetail {
            info: Some(TcpInfo {
                snd_wnd: Some(0),
                ..TcpInfo::default()
            }),
            ..SocketDetail::default()
        };
        census.record_detail(&r, &detail);
        census.record_detail(&sock(TcpState::Established, (1, 40001), (5, 5000)), &detail);
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::ZeroWindow);
        assert_eq!(
            f.len(),
            1,
            "nothing queued toward .5: no zero window to speak of"
        );
        assert_eq!(
            (&f[0].subject, f[0].severity),
            (&Subject::Peer(ip(4)), Severity::Info)
        );
        assert_eq!(f[0].evidence.number(Number::SendQueueBytes), Some(4096));
        assert_eq!(f[0].evidence.ports[0].port, 5000);
    }
}
