//! RTT outliers: a peer whose median smoothed RTT (`tcpi_rtt`, over its connections) is far
//! above the host's median RTT, defined as the median of every peer's median (each peer one
//! vote, so one busy peer does not define what is normal). Judged as a percentage of the
//! host's median (default levels 500% and 1000%: five and ten times), and only when
//!
//! - at least [`MIN_PEERS`] peers measured an RTT (with fewer there is no typical peer), and
//! - the peer's median is at least [`FLOOR_US`] above the host's (on a LAN where the median
//!   is 100 µs, a peer at 1 ms is ten times slower and still fast).

use std::collections::BTreeMap;

use super::{finding, worst_first_or_ok};
use crate::aggregate::health::percentile;
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Severity, Subject};

/// Peers with an RTT needed to judge any.
pub const MIN_PEERS: usize = 3;
/// How far above the host's median a peer's median must be to be an outlier, microseconds.
pub const FLOOR_US: u64 = 10_000;

/// A finding per outlier, the slowest first; else one `ok` summary.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let Some(health) = inputs.health else {
        return Vec::new();
    };
    let medians: BTreeMap<_, _> = health
        .peers
        .iter()
        .filter_map(|(address, p)| {
            let mut rtts = p.rtts_us.clone();
            rtts.sort_unstable();
            Some((*address, (percentile(&rtts, 50)?, p.rtts_us.len() as u64)))
        })
        .collect();
    let mut all: Vec<u32> = medians.values().map(|(m, _)| *m).collect();
    all.sort_unstable();
    let host = percentile(&all, 50).map(u64::from);
    let mut out = Vec::new();
    if let (Some(host), true) = (host, medians.len() >= MIN_PEERS) {
        for (address, (median, connections)) in &medians {
            let median = u64::from(*median);
            let mut f = finding(
                inputs,
                check,
                Subject::Peer(*address),
                median,
                Some(host),
                Evidence {
                    numbers: vec![
                        (Number::Connections, *connections),
                        (Number::HostMedianRttUs, host),
                    ],
                    ..Evidence::default()
                },
            );
            if median < host.saturating_add(FLOOR_US) {
                f.severity = Severity::Ok;
            }
            if f.severity > Severity::Ok {
                out.push(f);
            }
        }
    }
    // Not the host's median: a summary's numbers should not move from run to run when
    // nothing is wrong (it is in every outlier's finding).
    let numbers = vec![(Number::Peers, medians.len() as u64)];
    worst_first_or_ok(inputs, check, out, numbers)
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{ip, of, run, sock};
    use crate::diagnose::{Census, Check, Number, Severity, Subject, Thresholds};
    use crate::model::{Sink, SocketDetail, TcpInfo, TcpState};

    fn conn(census: &mut Census, peer: u8, port: u16, rtt: u32) {
        let detail = SocketDetail {
            info: Some(TcpInfo {
                rtt_us: Some(rtt),
                ..TcpInfo::default()
            }),
            ..SocketDetail::default()
        };
        census.record_detail(&sock(TcpState::Established, (1, port), (peer, 80)), &detail);
    }

    #[test]
    fn a_peer_far_above_the_median_of_medians_is_an_outlier() {
        let mut census = Census::new(Default::default(), None, Vec::new());
        conn(&mut census, 2, 40000, 2_000);
        conn(&mut census, 3, 40001, 3_000);
        conn(&mut census, 4, 40002, 4_000);
        // Busy and slow: one vote all the same.
        for i in 0..20 {
            conn(&mut census, 9, 41000 + i, 40_000);
        }
        // Five times the median but within 10 ms of it: not an outlier.
        conn(&mut census, 5, 40003, 12_000);
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::RttOutlier);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (&f[0].subject, f[0].value, f[0].limit, f[0].severity),
            (
                &Subject::Peer(ip(9)),
                40_000,
                Some(4_000),
                Severity::Critical
            )
        );
        assert_eq!(f[0].evidence.number(Number::HostMedianRttUs), Some(4_000));
    }

    #[test]
    fn two_peers_are_too_few_to_have_outliers() {
        let mut census = Census::new(Default::default(), None, Vec::new());
        conn(&mut census, 2, 40000, 2_000);
        conn(&mut census, 9, 40001, 900_000);
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::RttOutlier);
        assert_eq!((f.len(), f[0].severity), (1, Severity::Ok));
        assert_eq!(f[0].evidence.number(Number::HostMedianRttUs), None);
    }
}
