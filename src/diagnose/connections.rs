//! [`ConnHealth`]: what `doctor` keeps of each connection's `tcp_info` (sock_diag
//! `INET_DIAG_INFO`), for the rules about retransmits, zero windows, stalls, full receive
//! queues and round-trip times. Filled by the [`Census`](super::Census) as the dump streams
//! (`Sink::record_detail`); a census fed without `tcp_info` (the /proc source, a recorded
//! sample) leaves it empty, and `doctor` then hands the rules none ([`Inputs::health`]
//! is `None`): they are not judged, never "ok".
//!
//! Owns: the per-peer tallies (sums and RTTs, so a million healthy connections cost a few
//! numbers per peer) and the few sockets a finding names a process for (zero window, stalled,
//! full receive queue, unanswered retransmissions). Must not judge (the rules do) nor read
//! the kernel.
//!
//! [`Inputs::health`]: super::Inputs::health

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::model::{KernelState, SocketRecord, TcpInfo, TcpState};

/// A connection with data queued and nothing acknowledged for this long is stalled (as
/// `tcpstat health`'s default `--stall`): 5 s is more than a dozen round trips on any path
/// and several retransmission timeouts (200 ms, then doubling).
pub const STALL_MS: u32 = 5_000;

/// The states whose sockets wait for the peer to acknowledge a SYN or a FIN: a pile-up of
/// them retransmitting toward one peer means the peer (or the path) does not answer.
pub const WAITING_STATES: [TcpState; 4] = [
    TcpState::SynSent,
    TcpState::FinWait1,
    TcpState::Closing,
    TcpState::LastAck,
];

/// What one peer's connections say, summed over those with `tcp_info`.
#[derive(Debug, Clone, Default)]
pub struct PeerTally {
    /// Connections to the peer with `tcp_info`.
    pub connections: u64,
    /// Segments sent (`tcpi_segs_out`), retransmissions included.
    pub segs_out: u64,
    /// Segments retransmitted over the connections' lives (`tcpi_total_retrans`).
    pub total_retrans: u64,
    /// Connections with retransmitted segments not acknowledged yet (`tcpi_retrans` > 0).
    pub retransmitting: u64,
    /// Segments the kernel counts as lost (`tcpi_lost`).
    pub lost: u64,
    /// Smoothed RTTs (`tcpi_rtt`), microseconds, of the connections that measured one.
    pub rtts_us: Vec<u32>,
    /// Bytes waiting in the connections' send queues.
    pub send_q: u64,
    /// Sockets in [`WAITING_STATES`] whose retransmission timer fired and was not answered
    /// (`tcpi_retransmits` > 0), by state (indexed like [`WAITING_STATES`]).
    pub unanswered: [Vec<SocketRecord>; 4],
    /// Connections whose peer advertises a zero window while data waits
    /// ([`TcpInfo::zero_window`]).
    pub zero_window: Vec<SocketRecord>,
    /// Connections with data queued and nothing acknowledged for [`STALL_MS`].
    pub stalled: Vec<SocketRecord>,
    /// The longest time without an acknowledgement among the stalled, milliseconds.
    pub stalled_longest_ms: u32,
}

impl PeerTally {
    /// The sockets of [`PeerTally::unanswered`], every state.
    pub fn unanswered_all(&self) -> impl Iterator<Item = &SocketRecord> {
        self.unanswered.iter().flatten()
    }

    /// How many sockets of [`PeerTally::unanswered`].
    pub fn unanswered_count(&self) -> u64 {
        self.unanswered.iter().map(|v| v.len() as u64).sum()
    }
}

/// The connections `doctor` read `tcp_info` for, by peer, and the ones whose receive queue
/// our side does not read.
#[derive(Debug, Clone, Default)]
pub struct ConnHealth {
    /// Connections with `tcp_info` (not listening, not bound-only, not minisockets).
    pub connections: u64,
    pub peers: HashMap<IpAddr, PeerTally>,
    /// Connections whose receive queue holds unread data while the window our side
    /// advertises is closed (less than one segment: `tcpi_rcv_wnd` < `tcpi_rcv_mss`).
    pub recv_full: Vec<SocketRecord>,
    /// Connections with unread data whose advertised window the kernel did not report (a
    /// kernel before 6.2 sends no `tcpi_rcv_wnd`): not judged.
    pub recv_unknown: u64,
}

impl ConnHealth {
    /// Counts one socket and its `tcp_info`.
    pub fn add(&mut self, r: &SocketRecord, info: &TcpInfo) {
        let KernelState::Known(state) = r.state else {
            return;
        };
        if matches!(state, TcpState::Listen | TcpState::Closed)
            || r.is_minisocket()
            || r.remote_port == 0
        {
            return;
        }
        self.connections += 1;
        let p = self.peers.entry(r.remote).or_default();
        p.connections += 1;
        p.segs_out += u64::from(info.segs_out.unwrap_or(0));
        p.total_retrans += u64::from(info.total_retrans.unwrap_or(0));
        p.retransmitting += u64::from(info.retrans.unwrap_or(0) > 0);
        p.lost += u64::from(info.lost.unwrap_or(0));
        p.send_q += u64::from(r.send_q);
        // A SYN_SENT socket has measured nothing yet: its 0 is not a round trip.
        if let Some(rtt) = info.measured_rtt_us(r).filter(|&rtt| rtt > 0) {
            p.rtts_us.push(rtt);
        }
        if let Some(i) = WAITING_STATES.iter().position(|s| *s == state) {
            if info.retransmits.unwrap_or(0) > 0 {
                p.unanswered[i].push(*r);
            }
        }
        if info.zero_window(r) {
            p.zero_window.push(*r);
        }
        if info.stalled(r, STALL_MS) == Some(true) {
            p.stalled.push(*r);
            p.stalled_longest_ms = p.stalled_longest_ms.max(info.last_ack_recv_ms.unwrap_or(0));
        }
        if r.recv_q > 0 {
            match (info.rcv_wnd, info.rcv_mss) {
                (Some(wnd), mss) if wnd < mss.unwrap_or(1).max(1) => self.recv_full.push(*r),
                (Some(_), _) => {}
                (None, _) => self.recv_unknown += 1,
            }
        }
    }

    /// Adds the inodes of every socket a finding may name a process for.
    pub fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        let named = self.peers.values().flat_map(|p| {
            p.unanswered_all()
                .chain(&p.zero_window)
                .chain(&p.stalled)
                .map(|r| r.inode)
        });
        wanted.extend(named.chain(self.recv_full.iter().map(|r| r.inode)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::fixtures::{ip, sock};

    #[test]
    fn only_connections_count_and_each_condition_is_kept() {
        let mut h = ConnHealth::default();
        let info = TcpInfo {
            segs_out: Some(100),
            total_retrans: Some(7),
            retrans: Some(1),
            rtt_us: Some(900),
            snd_wnd: Some(0),
            unacked: Some(3),
            last_ack_recv_ms: Some(6_000),
            rcv_wnd: Some(0),
            rcv_mss: Some(536),
            ..TcpInfo::default()
        };
        let mut r = sock(TcpState::Established, (1, 40000), (2, 80));
        r.recv_q = 10;
        h.add(&r, &info);
        h.add(&sock(TcpState::Listen, (1, 80), (0, 0)), &info);
        let mut syn = sock(TcpState::SynSent, (1, 40001), (2, 80));
        syn.inode = 9;
        h.add(
            &syn,
            &TcpInfo {
                retransmits: Some(2),
                rtt_us: Some(1),
                ..TcpInfo::default()
            },
        );
        assert_eq!(h.connections, 2, "the listener is not a connection");
        let p = &h.peers[&ip(2)];
        assert_eq!((p.segs_out, p.total_retrans, p.retransmitting), (100, 7, 1));
        assert_eq!(p.rtts_us, [900], "a SYN_SENT socket measured no round trip");
        assert_eq!((p.zero_window.len(), p.stalled.len()), (1, 1));
        assert_eq!(p.stalled_longest_ms, 6_000);
        assert_eq!(p.unanswered_count(), 1);
        assert_eq!(h.recv_full.len(), 1);
        let mut wanted = HashSet::new();
        h.owners_wanted(&mut wanted);
        assert!(wanted.contains(&9));
    }
}
