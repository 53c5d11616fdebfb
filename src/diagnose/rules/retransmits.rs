//! Retransmitted segments per peer, as a share of the segments sent to it (`tcpi_total_retrans`
//! over `tcpi_segs_out`, summed over the peer's connections): loss on the path to one peer, or
//! a peer dropping packets. Peers with fewer than [`MIN_SEGMENTS`] segments sent are not
//! judged: one retransmitted SYN of ten segments is 10% and means nothing.

use std::collections::BTreeMap;

use super::finding;
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Severity, Subject};

/// Below this many segments sent to a peer, its share of retransmissions is not judged.
pub const MIN_SEGMENTS: u64 = 100;

/// A finding per peer over its levels, the highest share first; else one `ok` summary.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let Some(health) = inputs.health else {
        return Vec::new();
    };
    let peers: BTreeMap<_, _> = health.peers.iter().collect();
    let mut out = Vec::new();
    let (mut judged, mut retrans) = (0, 0);
    for (address, p) in &peers {
        retrans += p.total_retrans;
        if p.segs_out < MIN_SEGMENTS {
            continue;
        }
        judged += 1;
        let f = finding(
            inputs,
            check,
            Subject::Peer(**address),
            p.total_retrans,
            Some(p.segs_out),
            Evidence {
                numbers: vec![
                    (Number::Connections, p.connections),
                    (Number::RetransmittingConnections, p.retransmitting),
                    (Number::LostSegments, p.lost),
                ],
                ..Evidence::default()
            },
        );
        if f.severity > Severity::Ok {
            out.push(f);
        }
    }
    // Highest share first: value / limit, compared without division.
    out.sort_by(|a, b| {
        let (la, lb) = (a.limit.unwrap_or(1), b.limit.unwrap_or(1));
        (u128::from(b.value) * u128::from(la)).cmp(&(u128::from(a.value) * u128::from(lb)))
    });
    if out.is_empty() {
        let mut f = finding(
            inputs,
            check,
            Subject::Host,
            retrans,
            None,
            Evidence {
                numbers: vec![
                    (Number::Peers, judged),
                    (Number::Connections, health.connections),
                ],
                ..Evidence::default()
            },
        );
        f.severity = Severity::Ok;
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{ip, of, run, sock};
    use crate::diagnose::{Census, Check, Severity, Subject, Thresholds};
    use crate::model::{Sink, SocketDetail, TcpInfo, TcpState};

    fn conn(census: &mut Census, peer: u8, port: u16, segs: u32, retrans: u32) {
        let detail = SocketDetail {
            info: Some(TcpInfo {
                segs_out: Some(segs),
                total_retrans: Some(retrans),
                ..TcpInfo::default()
            }),
            ..SocketDetail::default()
        };
        census.record_detail(&sock(TcpState::Established, (1, port), (peer, 80)), &detail);
    }

    #[test]
    fn the_lossy_peer_is_named_and_small_samples_are_not_judged() {
        let mut census = Census::new(Default::default(), None, Vec::new());
        conn(&mut census, 2, 40000, 1000, 150);
        conn(&mut census, 2, 40001, 1000, 50);
        conn(&mut census, 3, 40002, 5000, 1);
        conn(&mut census, 4, 40003, 50, 10);
        conn(&mut census, 5, 40004, 1000, 30);
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::Retransmits);
        let named: Vec<_> = f.iter().map(|f| (&f.subject, f.severity)).collect();
        assert_eq!(
            named,
            [
                (&Subject::Peer(ip(2)), Severity::Critical),
                (&Subject::Peer(ip(5)), Severity::Warning)
            ],
            "10% and 3%; 0.02% is clean and 50 segments are too few to judge"
        );
        assert_eq!((f[0].value, f[0].limit), (200, Some(2000)));
        assert_eq!((f[0].warning_at, f[0].critical_at), (Some(40), Some(200)));
    }

    #[test]
    fn a_clean_host_gets_one_ok_summary() {
        let mut census = Census::new(Default::default(), None, Vec::new());
        conn(&mut census, 3, 40002, 5000, 1);
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::Retransmits);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].severity, &f[0].subject),
            (Severity::Ok, &Subject::Host)
        );
    }
}
