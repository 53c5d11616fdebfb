//! Connections whose peer advertises a zero window while this side has data to send (or is
//! probing the window: `tcpi_snd_wnd` 0 with data queued, or `tcpi_probes` > 0): the peer's
//! application does not read. Named per peer, with the local processes writing to it.

use super::per_peer;
use crate::diagnose::{Check, Finding, Inputs};

/// A finding per peer with zero-window connections (under the warning level: `info`), most
/// first; else one `ok` summary.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    per_peer(inputs, check, |p| &p.zero_window, |_| Vec::new())
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
