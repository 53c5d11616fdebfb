//! Connection health by service port or by peer (`tcpstat health`): RTT percentiles,
//! retransmits, zero windows, stalls and queued bytes, from each connection's `tcp_info`.
//!
//! Owns: [`HealthTally`] (a sink: one small group per port or peer, the RTTs of its
//! connections kept as `u32`s for exact percentiles) and [`HealthRow`]. Pure: no I/O.
//! Listening sockets and minisockets (TIME_WAIT, SYN_RECV requests: no `tcp_info`) are not
//! connections to judge and are left out; a connection the kernel sent no `tcp_info` for (the
//! /proc source) counts in `sockets` but in none of the health numbers, which are then
//! `None`, never 0.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::ports::{service_group_in, Direction};
use crate::model::{KernelState, Sink, SocketDetail, SocketRecord, TcpState};

/// What connections are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthBy {
    /// The service port and its direction (the rule of `ports`).
    Service,
    /// The remote address.
    Peer,
}

/// One group's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HealthKey {
    Service { port: u16, direction: Direction },
    Peer(IpAddr),
}

#[derive(Debug, Clone, Default)]
struct Group {
    sockets: u64,
    with_info: u64,
    rtts_us: Vec<u32>,
    total_retrans: u64,
    retransmitting: u64,
    lost: u64,
    zero_window: u64,
    stalled: u64,
    recv_q: u64,
    send_q: u64,
}

/// Connections counted into groups as the dump streams.
#[derive(Debug)]
pub struct HealthTally {
    by: HealthBy,
    listening: HashSet<u16>,
    ephemeral: (u16, u16),
    /// Nothing acknowledged for this long while data is queued: stalled.
    stall_ms: u32,
    groups: HashMap<HealthKey, Group>,
}

/// One group's numbers. RTTs in microseconds over the connections with a measured RTT
/// (nearest-rank percentiles); `None` when none had `tcp_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    pub key: HealthKey,
    /// Connections in the group.
    pub sockets: u64,
    /// Of them, those the kernel sent `tcp_info` for.
    pub with_info: u64,
    pub rtt_p50_us: Option<u32>,
    pub rtt_p90_us: Option<u32>,
    pub rtt_p99_us: Option<u32>,
    pub rtt_max_us: Option<u32>,
    /// Segments retransmitted over the connections' lives (`tcpi_total_retrans`, summed).
    pub retransmitted_segments: Option<u64>,
    /// Connections with retransmitted segments in flight (`tcpi_retrans` > 0).
    pub retransmitting_sockets: Option<u64>,
    pub lost_segments: Option<u64>,
    /// Connections whose peer advertises a zero window with data queued, or being probed.
    pub zero_window_sockets: Option<u64>,
    /// Connections with data queued and nothing acknowledged for the stall time.
    pub stalled_sockets: Option<u64>,
    /// Bytes waiting in receive queues (not read by the application).
    pub recv_q_bytes: u64,
    /// Bytes waiting in send queues (not acknowledged by the peer).
    pub send_q_bytes: u64,
}

impl HealthTally {
    pub fn new(
        by: HealthBy,
        listening: HashSet<u16>,
        ephemeral: (u16, u16),
        stall_ms: u32,
    ) -> HealthTally {
        HealthTally {
            by,
            listening,
            ephemeral,
            stall_ms,
            groups: HashMap::new(),
        }
    }

    /// The group of a connection; `None` for what is not a connection.
    fn group(&mut self, r: &SocketRecord) -> Option<&mut Group> {
        let listen = r.state == KernelState::Known(TcpState::Listen);
        if listen || r.is_minisocket() || r.remote_port == 0 {
            return None;
        }
        let key = match self.by {
            HealthBy::Service => {
                let (port, direction) = service_group_in(&self.listening, self.ephemeral, r);
                HealthKey::Service { port, direction }
            }
            HealthBy::Peer => HealthKey::Peer(r.remote),
        };
        let g = self.groups.entry(key).or_default();
        g.sockets += 1;
        g.recv_q += u64::from(r.recv_q);
        g.send_q += u64::from(r.send_q);
        Some(g)
    }

    /// The groups, those retransmitting most first, then the busiest.
    pub fn rows(&self) -> Vec<HealthRow> {
        let mut rows: Vec<HealthRow> = self
            .groups
            .iter()
            .map(|(key, g)| {
                let mut rtts = g.rtts_us.clone();
                rtts.sort_unstable();
                let known = |v: u64| (g.with_info > 0).then_some(v);
                HealthRow {
                    key: *key,
                    sockets: g.sockets,
                    with_info: g.with_info,
                    rtt_p50_us: percentile(&rtts, 50),
                    rtt_p90_us: percentile(&rtts, 90),
                    rtt_p99_us: percentile(&rtts, 99),
                    rtt_max_us: rtts.last().copied(),
                    retransmitted_segments: known(g.total_retrans),
                    retransmitting_sockets: known(g.retransmitting),
                    lost_segments: known(g.lost),
                    zero_window_sockets: known(g.zero_window),
                    stalled_sockets: known(g.stalled),
                    recv_q_bytes: g.recv_q,
                    send_q_bytes: g.send_q,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.retransmitted_segments
                .cmp(&a.retransmitted_segments)
                .then(b.sockets.cmp(&a.sockets))
                .then(a.key.cmp(&b.key))
        });
        rows
    }
}

/// The nearest-rank `p`th percentile of sorted values.
pub fn percentile(sorted: &[u32], p: usize) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

impl Sink for HealthTally {
    fn record(&mut self, record: &SocketRecord) {
        self.group(record);
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        let stall_ms = self.stall_ms;
        let Some(g) = self.group(record) else {
            return;
        };
        let Some(info) = &detail.info else {
            return;
        };
        g.with_info += 1;
        if let Some(rtt) = info.rtt_us {
            g.rtts_us.push(rtt);
        }
        g.total_retrans += u64::from(info.total_retrans.unwrap_or(0));
        g.retransmitting += u64::from(info.retrans.unwrap_or(0) > 0);
        g.lost += u64::from(info.lost.unwrap_or(0));
        g.zero_window += u64::from(info.zero_window(record));
        g.stalled += u64::from(info.stalled(record, stall_ms).unwrap_or(false));
    }

    fn reset(&mut self) -> bool {
        self.groups.clear();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, TcpInfo};

    fn conn(remote: &str, lport: u16, rport: u16, send_q: u32) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::Established));
        r.local = "10.0.0.1".parse().expect("ip");
        r.remote = remote.parse().expect("ip");
        r.local_port = lport;
        r.remote_port = rport;
        r.inode = 1;
        r.send_q = send_q;
        r
    }

    fn detail(rtt: u32, retrans: u32, total: u32, snd_wnd: u32, ack_age: u32) -> SocketDetail {
        SocketDetail {
            info: Some(TcpInfo {
                rtt_us: Some(rtt),
                retrans: Some(retrans),
                total_retrans: Some(total),
                lost: Some(0),
                unacked: Some(0),
                snd_wnd: Some(snd_wnd),
                last_ack_recv_ms: Some(ack_age),
                ..TcpInfo::default()
            }),
            ..SocketDetail::default()
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 99), Some(99));
        assert_eq!(percentile(&[7], 99), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
    }

    #[test]
    fn groups_by_service_port_with_retransmits_zero_windows_and_stalls() {
        let listening: HashSet<u16> = [443].into();
        let mut t = HealthTally::new(HealthBy::Service, listening, (32768, 60999), 5000);
        t.record_detail(
            &conn("10.0.0.2", 443, 40000, 0),
            &detail(1000, 0, 0, 65535, 10),
        );
        t.record_detail(
            &conn("10.0.0.3", 443, 40001, 500),
            &detail(3000, 2, 9, 0, 8000),
        );
        t.record_detail(
            &conn("10.0.0.4", 443, 40002, 0),
            &detail(2000, 0, 1, 65535, 10),
        );
        // Another service, from /proc (no detail): counted, health unknown.
        t.record(&conn("10.0.0.9", 45000, 5432, 0));
        let mut listener = conn("0.0.0.0", 443, 0, 0);
        listener.state = KernelState::Known(TcpState::Listen);
        t.record_detail(&listener, &detail(0, 0, 0, 0, 0));
        let rows = t.rows();
        assert_eq!(rows.len(), 2);
        let https = &rows[0];
        assert_eq!(
            https.key,
            HealthKey::Service {
                port: 443,
                direction: Direction::In
            }
        );
        assert_eq!((https.sockets, https.with_info), (3, 3));
        assert_eq!(https.rtt_p50_us, Some(2000));
        assert_eq!(https.rtt_max_us, Some(3000));
        assert_eq!(https.retransmitted_segments, Some(10));
        assert_eq!(https.retransmitting_sockets, Some(1));
        assert_eq!(https.zero_window_sockets, Some(1));
        assert_eq!(https.stalled_sockets, Some(1));
        assert_eq!(https.send_q_bytes, 500);
        let pg = &rows[1];
        assert_eq!(pg.sockets, 1);
        assert_eq!(pg.rtt_p50_us, None);
        assert_eq!(pg.retransmitted_segments, None, "not measured, not zero");
    }
}
