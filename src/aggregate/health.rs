//! Connection health by service port, peer, peer network, process or workload (`tcpstat
//! health`): RTT percentiles, retransmits, zero windows, stalls and queued bytes, from each
//! connection's `tcp_info`.
//!
//! Owns: [`HealthTally`] (a sink: one small group per key, the RTTs of its connections kept
//! as `u32`s for exact percentiles) and [`HealthRow`]. Pure: no I/O. Service ports, peers and
//! networks are known as a socket streams by; a socket's cgroup too (groups by cgroup id,
//! merged into workloads once they are resolved: [`HealthTally::regroup`]); its process only
//! after the owner walk, so `--by process` keeps each connection's numbers (a few dozen bytes)
//! until then.
//! Listening sockets and minisockets (TIME_WAIT, SYN_RECV requests: no `tcp_info`) are not
//! connections to judge and are left out; a connection the kernel sent no `tcp_info` for (the
//! /proc source) counts in `sockets` but in none of the health numbers, which are then
//! `None`, never 0.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ports::{service_group_in, Direction};
use super::workloads::IdMap;
use crate::model::sink::AsideSink;
use crate::model::{KernelState, Sink, SocketDetail, SocketRecord, TcpState};

/// What connections are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthBy {
    /// The service port and its direction (the rule of `ports`).
    Service,
    /// The remote address.
    Peer,
    /// The remote address's network: the first `v4` bits of an IPv4 address, `v6` of an
    /// IPv6 one.
    Prefix { v4: u8, v6: u8 },
    /// The owning process (a socket shared by several counts for each).
    Process,
    /// The workload of the socket's cgroup.
    Workload,
}

/// One group's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HealthKey {
    Service {
        port: u16,
        direction: Direction,
    },
    Peer(IpAddr),
    /// A network and its prefix length.
    Prefix(IpAddr, u8),
    /// A process; `None`: no owner found (not readable, or gone).
    Process(Option<(u32, String)>),
    /// A cgroup id, before [`HealthTally::regroup`]; 0 when the kernel sent none.
    Cgroup(u64),
    /// A workload by name and kind; `None`: no cgroup to say.
    Workload(Option<(String, &'static str)>),
}

/// The network of `ip`: its first `bits` bits.
pub fn network(ip: IpAddr, v4: u8, v6: u8) -> (IpAddr, u8) {
    match ip {
        IpAddr::V4(a) => {
            let bits = v4.min(32);
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            (IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask)), bits)
        }
        IpAddr::V6(a) => {
            let bits = v6.min(128);
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            (IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask)), bits)
        }
    }
}

/// One connection's numbers, kept until its owner is known (`--by process`).
#[derive(Debug, Clone, Copy)]
struct Conn {
    inode: u64,
    recv_q: u32,
    send_q: u32,
    /// `None`: no tcp_info.
    info: Option<ConnInfo>,
}

#[derive(Debug, Clone, Copy)]
struct ConnInfo {
    rtt_us: Option<u32>,
    total_retrans: u32,
    lost: u32,
    retransmitting: bool,
    zero_window: bool,
    stalled: bool,
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

impl Group {
    fn add(&mut self, conn: &Conn) {
        self.sockets += 1;
        self.recv_q += u64::from(conn.recv_q);
        self.send_q += u64::from(conn.send_q);
        let Some(info) = &conn.info else {
            return;
        };
        self.with_info += 1;
        if let Some(rtt) = info.rtt_us {
            self.rtts_us.push(rtt);
        }
        self.total_retrans += u64::from(info.total_retrans);
        self.retransmitting += u64::from(info.retransmitting);
        self.lost += u64::from(info.lost);
        self.zero_window += u64::from(info.zero_window);
        self.stalled += u64::from(info.stalled);
    }

    fn merge(&mut self, other: Group) {
        self.sockets += other.sockets;
        self.with_info += other.with_info;
        self.rtts_us.extend(other.rtts_us);
        self.total_retrans += other.total_retrans;
        self.retransmitting += other.retransmitting;
        self.lost += other.lost;
        self.zero_window += other.zero_window;
        self.stalled += other.stalled;
        self.recv_q += other.recv_q;
        self.send_q += other.send_q;
    }
}

/// Connections counted into groups as the dump streams.
#[derive(Debug)]
pub struct HealthTally {
    by: HealthBy,
    listening: HashSet<u16>,
    ephemeral: (u16, u16),
    /// Nothing acknowledged for this long while data is queued: stalled.
    stall_ms: u32,
    /// Hashed by one multiplication a word (the keys are ports and addresses from the
    /// kernel, not a peer's choice to flood): a lookup for every connection of the dump.
    groups: IdMap<HealthKey, Group>,
    /// `--by process`: each connection, until its owners are known.
    held: Vec<Conn>,
}

/// One group's numbers. RTTs in microseconds over the connections with a measured RTT
/// (nearest-rank percentiles); `None` when none had `tcp_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    /// The namespace the group's connections were read from ([`SocketRecord::netns`]).
    pub netns: u64,
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
            groups: IdMap::default(),
            held: Vec::new(),
        }
    }

    /// Counts a connection (not a listener, not a minisocket) into its group, or holds it
    /// until its owners are known.
    fn add(&mut self, r: &SocketRecord, detail: Option<&SocketDetail>) {
        let listen = r.state == KernelState::Known(TcpState::Listen);
        if listen || r.is_minisocket() || r.remote_port == 0 {
            return;
        }
        let info = detail.and_then(|d| d.info.as_ref()).map(|info| ConnInfo {
            rtt_us: info.measured_rtt_us(r),
            total_retrans: info.total_retrans.unwrap_or(0),
            lost: info.lost.unwrap_or(0),
            retransmitting: info.retrans.unwrap_or(0) > 0,
            zero_window: info.zero_window(r),
            stalled: info.stalled(r, self.stall_ms).unwrap_or(false),
        });
        let conn = Conn {
            inode: r.inode,
            recv_q: r.recv_q,
            send_q: r.send_q,
            info,
        };
        let key = match self.by {
            HealthBy::Service => {
                let (port, direction) = service_group_in(&self.listening, self.ephemeral, r);
                HealthKey::Service { port, direction }
            }
            HealthBy::Peer => HealthKey::Peer(r.remote),
            HealthBy::Prefix { v4, v6 } => {
                let (net, bits) = network(r.remote, v4, v6);
                HealthKey::Prefix(net, bits)
            }
            HealthBy::Workload => HealthKey::Cgroup(r.cgroup_id),
            HealthBy::Process => {
                self.held.push(conn);
                return;
            }
        };
        self.groups.entry(key).or_default().add(&conn);
    }

    /// `--by process`: counts the held connections into a group per process that owns them
    /// (`owners_of`: pid and command of each owner of an inode; none: no owner found).
    pub fn count_owners(&mut self, owners_of: impl Fn(u64) -> Vec<(u32, String)>) {
        for conn in std::mem::take(&mut self.held) {
            let owners = owners_of(conn.inode);
            if owners.is_empty() {
                self.groups
                    .entry(HealthKey::Process(None))
                    .or_default()
                    .add(&conn);
            }
            for owner in owners {
                self.groups
                    .entry(HealthKey::Process(Some(owner)))
                    .or_default()
                    .add(&conn);
            }
        }
    }

    /// Renames the groups (e.g. cgroup ids to their workloads), merging those that get the
    /// same key.
    pub fn regroup(&mut self, mut rename: impl FnMut(&HealthKey) -> HealthKey) {
        let groups = std::mem::take(&mut self.groups);
        for (key, group) in groups {
            let key = rename(&key);
            match self.groups.get_mut(&key) {
                Some(g) => g.merge(group),
                None => {
                    self.groups.insert(key, group);
                }
            }
        }
    }

    /// The keys of the groups so far.
    pub fn keys(&self) -> impl Iterator<Item = &HealthKey> {
        self.groups.keys()
    }

    /// The groups, those retransmitting most first, then the busiest; `netns` is the tag
    /// of the namespace they were read from.
    pub fn rows(&self, netns: u64) -> Vec<HealthRow> {
        let mut rows: Vec<HealthRow> = self
            .groups
            .iter()
            .map(|(key, g)| {
                let mut rtts = g.rtts_us.clone();
                rtts.sort_unstable();
                let known = |v: u64| (g.with_info > 0).then_some(v);
                HealthRow {
                    netns,
                    key: key.clone(),
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
        self.add(record, None);
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        self.add(record, Some(detail));
    }

    fn reset(&mut self) -> bool {
        self.groups.clear();
        self.held.clear();
        true
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        wanted.extend(self.held.iter().map(|c| c.inode).filter(|&i| i != 0));
    }

    /// Groups add up: half the dump can be counted on another thread.
    fn aside(&self) -> Option<Box<dyn AsideSink>> {
        Some(Box::new(HealthTally::new(
            self.by,
            self.listening.clone(),
            self.ephemeral,
            self.stall_ms,
        )))
    }

    fn absorb(&mut self, aside: Box<dyn AsideSink>) {
        if let Ok(other) = aside.into_any().downcast::<HealthTally>() {
            let other = *other;
            for (key, group) in other.groups {
                self.groups.entry(key).or_default().merge(group);
            }
            self.held.extend(other.held);
        }
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
        let rows = t.rows(0);
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

    #[test]
    fn networks_keep_their_first_bits() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(network(ip("10.1.2.3"), 24, 64), (ip("10.1.2.0"), 24));
        assert_eq!(network(ip("10.1.2.3"), 0, 64), (ip("0.0.0.0"), 0));
        assert_eq!(network(ip("10.1.2.3"), 40, 64), (ip("10.1.2.3"), 32));
        assert_eq!(
            network(ip("2001:db8:1:2:3:4:5:6"), 24, 48),
            (ip("2001:db8:1::"), 48)
        );
    }

    #[test]
    fn by_prefix_process_and_cgroup() {
        let mut t = HealthTally::new(
            HealthBy::Prefix { v4: 24, v6: 64 },
            HashSet::new(),
            (32768, 60999),
            5000,
        );
        t.record_detail(&conn("10.0.0.2", 443, 40000, 0), &detail(1000, 0, 2, 1, 0));
        t.record_detail(&conn("10.0.0.3", 443, 40001, 0), &detail(3000, 0, 3, 1, 0));
        t.record_detail(&conn("10.0.1.3", 443, 40001, 0), &detail(3000, 0, 0, 1, 0));
        let rows = t.rows(0);
        assert_eq!(
            rows[0].key,
            HealthKey::Prefix("10.0.0.0".parse().expect("ip"), 24)
        );
        assert_eq!(
            (rows[0].sockets, rows[0].retransmitted_segments),
            (2, Some(5))
        );

        let mut t = HealthTally::new(HealthBy::Process, HashSet::new(), (32768, 60999), 5000);
        let (mut a, mut b) = (
            conn("10.0.0.2", 443, 40000, 0),
            conn("10.0.0.3", 443, 40001, 0),
        );
        (a.inode, b.inode) = (11, 12);
        t.record_detail(&a, &detail(1000, 0, 2, 1, 0));
        t.record_detail(&b, &detail(1000, 0, 7, 1, 0));
        let mut wanted = HashSet::new();
        t.owners_wanted(&mut wanted);
        assert_eq!(wanted, [11, 12].into());
        // 11 is shared by two processes, 12 has no owner found.
        t.count_owners(|inode| match inode {
            11 => vec![(1, "nginx".into()), (2, "nginx".into())],
            _ => vec![],
        });
        let rows = t.rows(0);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (&rows[0].key, rows[0].retransmitted_segments),
            (&HealthKey::Process(None), Some(7))
        );

        let mut t = HealthTally::new(HealthBy::Workload, HashSet::new(), (32768, 60999), 5000);
        for (id, total) in [(5, 1), (6, 2), (0, 4)] {
            let mut c = conn("10.0.0.2", 443, 40000, 0);
            c.cgroup_id = id;
            t.record_detail(&c, &detail(1000, 0, total, 1, 0));
        }
        t.regroup(|key| match key {
            HealthKey::Cgroup(5 | 6) => HealthKey::Workload(Some(("web".into(), "service"))),
            _ => HealthKey::Workload(None),
        });
        let rows = t.rows(0);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1].key,
            HealthKey::Workload(Some(("web".into(), "service")))
        );
        assert_eq!(
            (rows[1].sockets, rows[1].retransmitted_segments),
            (2, Some(3))
        );
    }
}
