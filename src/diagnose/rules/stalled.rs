//! Connections with data queued and nothing acknowledged for [`STALL_MS`] (`tcpi_last_ack_recv`):
//! the peer vanished or every packet is lost; the kernel retransmits until
//! `tcp_retries2`. Named per peer, with the local processes.

use super::per_peer;
use crate::diagnose::{Check, Finding, Inputs, Number, STALL_MS};

/// A finding per peer with stalled connections (under the warning level: `info`), most
/// first; else one `ok` summary.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    per_peer(
        inputs,
        check,
        |p| &p.stalled,
        |p| {
            vec![
                (Number::LongestAckWaitMs, u64::from(p.stalled_longest_ms)),
                (Number::StallMs, u64::from(STALL_MS)),
            ]
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{ip, of, run, sock};
    use crate::diagnose::{parse_threshold, Census, Check, Number, Severity, Subject, Thresholds};
    use crate::model::{Sink, SocketDetail, TcpInfo, TcpState};

    #[test]
    fn data_unacknowledged_for_the_stall_time_is_stalled() {
        let mut census = Census::new(Default::default(), None, Vec::new());
        let detail = |age| SocketDetail {
            info: Some(TcpInfo {
                unacked: Some(4),
                last_ack_recv_ms: Some(age),
                ..TcpInfo::default()
            }),
            ..SocketDetail::default()
        };
        census.record_detail(
            &sock(TcpState::Established, (1, 40000), (6, 22)),
            &detail(61_000),
        );
        census.record_detail(
            &sock(TcpState::FinWait1, (1, 40001), (6, 22)),
            &detail(7_000),
        );
        census.record_detail(
            &sock(TcpState::Established, (1, 40002), (7, 22)),
            &detail(100),
        );
        let mut t = Thresholds::default();
        t.apply(&parse_threshold("STALLED=2").expect("valid"));
        let d = run(&census, &[], &t);
        let f = of(&d, Check::Stalled);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (&f[0].subject, f[0].value, f[0].severity),
            (&Subject::Peer(ip(6)), 2, Severity::Warning)
        );
        assert_eq!(f[0].evidence.number(Number::LongestAckWaitMs), Some(61_000));
    }
}
