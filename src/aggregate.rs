//! Pure functions from sockets to numbers.
//!
//! Owns: [`StateCounts`], the per-family x per-state census that `summary` prints. It is a
//! [`Sink`], so the collector streams into it and memory stays a few hundred bytes whatever the
//! number of sockets. No I/O.

use crate::collect::owners::OwnerMap;
use crate::collect::Sink;
use crate::model::{Family, KernelState, SocketRecord, TcpState};

/// Sockets whose kernel state value is not one we know, kept with that value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownBucket {
    pub value: u8,
    /// Counts by [`Family::index`].
    pub by_family: [u64; 2],
}

impl UnknownBucket {
    pub fn total(&self) -> u64 {
        self.by_family.iter().sum()
    }
}

/// Socket counts by family and state, plus unknown kernel values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    by_family: [[u64; 11]; 2],
    unknown: Vec<UnknownBucket>,
}

impl StateCounts {
    pub fn new() -> StateCounts {
        StateCounts::default()
    }

    pub fn add(&mut self, family: Family, state: KernelState) {
        match state {
            KernelState::Known(s) => self.by_family[family.index()][s.index()] += 1,
            KernelState::Unknown(value) => {
                // Rare: a linear search over a handful of buckets, allocating only for a new value.
                match self.unknown.iter_mut().find(|b| b.value == value) {
                    Some(bucket) => bucket.by_family[family.index()] += 1,
                    None => {
                        let mut by_family = [0; 2];
                        by_family[family.index()] = 1;
                        self.unknown.push(UnknownBucket { value, by_family });
                        self.unknown.sort_by_key(|b| b.value);
                    }
                }
            }
        }
    }

    pub fn get(&self, family: Family, state: TcpState) -> u64 {
        self.by_family[family.index()][state.index()]
    }

    /// Both families together.
    pub fn state_total(&self, state: TcpState) -> u64 {
        Family::ALL.iter().map(|&f| self.get(f, state)).sum()
    }

    /// Every socket of a family, unknown states included.
    pub fn family_total(&self, family: Family) -> u64 {
        self.by_family[family.index()].iter().sum::<u64>()
            + self
                .unknown
                .iter()
                .map(|b| b.by_family[family.index()])
                .sum::<u64>()
    }

    /// Every socket counted, unknown states included.
    pub fn total(&self) -> u64 {
        Family::ALL.iter().map(|&f| self.family_total(f)).sum()
    }

    /// Unknown kernel values, sorted by value.
    pub fn unknown(&self) -> &[UnknownBucket] {
        &self.unknown
    }

    /// Adds another census into this one (`--all-netns`: the host's total; a table read on
    /// another thread).
    pub fn merge(&mut self, other: &StateCounts) {
        for (mine, theirs) in self.by_family.iter_mut().zip(&other.by_family) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        for bucket in &other.unknown {
            match self.unknown.iter_mut().find(|b| b.value == bucket.value) {
                Some(mine) => {
                    for (a, b) in mine.by_family.iter_mut().zip(bucket.by_family) {
                        *a += b;
                    }
                }
                None => self.unknown.push(*bucket),
            }
        }
        self.unknown.sort_by_key(|b| b.value);
    }

    /// Both families in one row.
    pub fn row(&self) -> StateRow {
        let mut row = StateRow::default();
        for state in TcpState::ALL {
            row.counts[state.index()] = self.state_total(state);
        }
        row.unknown = self.unknown.iter().map(UnknownBucket::total).sum();
        row
    }
}

impl Sink for StateCounts {
    fn record(&mut self, record: &SocketRecord) {
        self.add(record.family, record.state);
    }

    fn reset(&mut self) -> bool {
        *self = StateCounts::default();
        true
    }

    fn counts_mut(&mut self) -> Option<&mut StateCounts> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_and_unknown_per_family() {
        let mut c = StateCounts::new();
        c.add(Family::V4, KernelState::Known(TcpState::CloseWait));
        c.add(Family::V4, KernelState::Known(TcpState::CloseWait));
        c.add(Family::V6, KernelState::Known(TcpState::CloseWait));
        c.add(Family::V6, KernelState::Unknown(99));
        c.add(Family::V4, KernelState::Unknown(14));
        c.add(Family::V6, KernelState::Unknown(14));
        assert_eq!(c.get(Family::V4, TcpState::CloseWait), 2);
        assert_eq!(c.state_total(TcpState::CloseWait), 3);
        assert_eq!(c.state_total(TcpState::Listen), 0);
        assert_eq!(c.family_total(Family::V4), 3);
        assert_eq!(c.family_total(Family::V6), 3);
        assert_eq!(c.total(), 6);
        let values: Vec<u8> = c.unknown().iter().map(|b| b.value).collect();
        assert_eq!(values, [14, 99]);
        assert_eq!(c.unknown()[0].total(), 2);
        assert!(c.reset());
        assert_eq!(c.total(), 0);
        assert!(c.unknown().is_empty());
    }

    #[test]
    fn censuses_merge() {
        let mut a = StateCounts::new();
        a.add(Family::V4, KernelState::Known(TcpState::Listen));
        a.add(Family::V4, KernelState::Unknown(14));
        let mut b = StateCounts::new();
        b.add(Family::V6, KernelState::Known(TcpState::Listen));
        b.add(Family::V6, KernelState::Unknown(14));
        b.add(Family::V6, KernelState::Unknown(9));
        a.merge(&b);
        assert_eq!(a.state_total(TcpState::Listen), 2);
        assert_eq!(a.total(), 5);
        let unknown: Vec<(u8, u64)> = a.unknown().iter().map(|u| (u.value, u.total())).collect();
        assert_eq!(unknown, [(9, 1), (14, 2)]);
        let row = a.row();
        assert_eq!(
            (row.get(TcpState::Listen), row.unknown, row.total()),
            (2, 3, 5)
        );
    }
}

/// Counts of one group (a port, a process) by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateRow {
    /// By [`TcpState::index`].
    pub counts: [u64; 11],
    /// Sockets in a state value we do not know.
    pub unknown: u64,
}

impl StateRow {
    pub fn add(&mut self, state: KernelState) {
        match state {
            KernelState::Known(s) => self.counts[s.index()] += 1,
            KernelState::Unknown(_) => self.unknown += 1,
        }
    }

    pub fn get(&self, state: TcpState) -> u64 {
        self.counts[state.index()]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.unknown
    }

    /// Adds another row into this one.
    pub fn merge(&mut self, other: &StateRow) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.unknown += other.unknown;
    }
}

/// How a socket is assigned to a port group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// `--by service`: the local port is the service port (see [`service_group_in`]).
    In,
    /// `--by service`: the peer's port is the service port.
    Out,
    /// `--by local`.
    Local,
    /// `--by remote`.
    Remote,
}

impl Direction {
    pub const fn name(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Local => "local",
            Direction::Remote => "remote",
        }
    }
}

/// The kernel's default `net.ipv4.ip_local_port_range`, for when it cannot be read.
pub const DEFAULT_EPHEMERAL_PORTS: (u16, u16) = (32768, 60999);

/// [`service_group_in`] with the kernel's default ephemeral range.
pub fn service_group(
    listening: &std::collections::HashSet<u16>,
    record: &SocketRecord,
) -> (u16, Direction) {
    service_group_in(listening, DEFAULT_EPHEMERAL_PORTS, record)
}

/// The service port of a socket and its direction, in this order:
/// 1. a socket without a peer (LISTEN, CLOSED), or whose local port is listened on: its
///    local port, `in`;
/// 2. a connection to a port listened on in this namespace (a client on this host): the
///    peer's port, `out`;
/// 3. neither port is listened on (a connection this host opened to another host, or one
///    whose listener has closed, e.g. CLOSE_WAIT sockets after a server stopped listening):
///    the port outside `ephemeral` (`net.ipv4.ip_local_port_range`, where the kernel picks
///    the local ports of outgoing connections) is the service port; when both or neither
///    are in it, the lower port. `in` when that is the local port, `out` when the peer's.
///
/// "Listened on" is by port number only, whatever the address: a listener on 127.0.0.1:8080
/// makes 8080 a service port for connections on any local address.
pub fn service_group_in(
    listening: &std::collections::HashSet<u16>,
    ephemeral: (u16, u16),
    record: &SocketRecord,
) -> (u16, Direction) {
    let (local, remote) = (record.local_port, record.remote_port);
    if remote == 0 || listening.contains(&local) {
        return (local, Direction::In);
    }
    if listening.contains(&remote) {
        return (remote, Direction::Out);
    }
    let is_ephemeral = |port: u16| ephemeral.0 <= port && port <= ephemeral.1;
    let local_serves = match (is_ephemeral(local), is_ephemeral(remote)) {
        (false, true) => true,
        (true, false) => false,
        _ => local <= remote,
    };
    if local_serves {
        (local, Direction::In)
    } else {
        (remote, Direction::Out)
    }
}

/// The grouping rule of `ports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortGrouping {
    Service,
    Local,
    Remote,
}

/// A listening port's accept queue, summed over its listening sockets (several with
/// SO_REUSEPORT, or one per address / family).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerQueue {
    pub sockets: u64,
    /// Connections waiting to be accepted.
    pub queued: u64,
    /// Sum of the configured backlogs; `None` when the source does not report it (/proc).
    pub backlog: Option<u64>,
}

/// The port x state matrix of `ports`.
#[derive(Debug, Clone)]
pub struct PortMatrix {
    grouping: PortGrouping,
    listening: std::collections::HashSet<u16>,
    rows: std::collections::HashMap<(u16, Direction), StateRow>,
    queues: std::collections::HashMap<u16, ListenerQueue>,
    /// Whether the source reports listener backlogs (netlink does, /proc does not).
    backlog_known: bool,
    /// `net.ipv4.ip_local_port_range`, for connections where neither port is listened on.
    ephemeral: (u16, u16),
}

impl PortMatrix {
    /// `listening` is every port with a listening socket in the families read: it decides the
    /// direction of each connection under service grouping, whatever the filters.
    pub fn new(
        grouping: PortGrouping,
        listening: std::collections::HashSet<u16>,
        backlog_known: bool,
    ) -> PortMatrix {
        PortMatrix {
            grouping,
            listening,
            rows: Default::default(),
            queues: Default::default(),
            backlog_known,
            ephemeral: DEFAULT_EPHEMERAL_PORTS,
        }
    }

    /// The ephemeral port range of the namespace read (default [`DEFAULT_EPHEMERAL_PORTS`]),
    /// which decides the service side of connections where neither port is listened on.
    pub fn with_ephemeral_ports(mut self, range: (u16, u16)) -> PortMatrix {
        self.ephemeral = range;
        self
    }

    /// The group of a socket.
    pub fn group_of(&self, record: &SocketRecord) -> (u16, Direction) {
        match self.grouping {
            PortGrouping::Local => (record.local_port, Direction::Local),
            PortGrouping::Remote => (record.remote_port, Direction::Remote),
            PortGrouping::Service => service_group_in(&self.listening, self.ephemeral, record),
        }
    }

    /// Records a listening socket's queue, and makes sure its port has a row even when the
    /// filter selects no socket on it.
    pub fn add_listener(&mut self, record: &SocketRecord) {
        self.add_listener_queue(record);
        let group = match self.grouping {
            PortGrouping::Service => (record.local_port, Direction::In),
            PortGrouping::Local => (record.local_port, Direction::Local),
            // Listeners have no remote port: under remote grouping they only add their queue.
            PortGrouping::Remote => return,
        };
        self.rows.entry(group).or_default();
    }

    /// Records a listening socket's queue only (its row comes from the sockets counted).
    pub fn add_listener_queue(&mut self, record: &SocketRecord) {
        let q = self.queues.entry(record.local_port).or_default();
        q.sockets += 1;
        q.queued += u64::from(record.recv_q);
        q.backlog = self
            .backlog_known
            .then(|| q.backlog.unwrap_or(0) + u64::from(record.send_q));
    }

    /// Rows sorted by total descending, then port and direction.
    pub fn rows(&self) -> Vec<PortRow> {
        let mut rows: Vec<PortRow> = self
            .rows
            .iter()
            .map(|(&(port, direction), counts)| PortRow {
                netns: 0,
                port,
                direction,
                counts: *counts,
                listener: match direction {
                    Direction::In | Direction::Local => self.queues.get(&port).copied(),
                    _ => None,
                },
            })
            .collect();
        rows.sort_by(|a, b| {
            b.counts
                .total()
                .cmp(&a.counts.total())
                .then(a.port.cmp(&b.port))
                .then(a.direction.cmp(&b.direction))
        });
        rows
    }
}

impl Sink for PortMatrix {
    fn record(&mut self, record: &SocketRecord) {
        let group = self.group_of(record);
        self.rows.entry(group).or_default().add(record.state);
    }

    fn reset(&mut self) -> bool {
        self.rows.clear();
        true
    }
}

/// One line of `ports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRow {
    /// The network namespace (`--all-netns`: each namespace has its own matrix); else 0.
    pub netns: u64,
    pub port: u16,
    pub direction: Direction,
    pub counts: StateRow,
    /// The accept queue when this row is a listening port.
    pub listener: Option<ListenerQueue>,
}

/// Two sinks fed from one collection (e.g. per-state and per-port counts in one pass).
impl<A: Sink, B: Sink> Sink for (A, B) {
    fn record(&mut self, record: &SocketRecord) {
        self.0.record(record);
        self.1.record(record);
    }

    fn reset(&mut self) -> bool {
        // Both must start over: `&`, not `&&`, which would skip the second.
        self.0.reset() & self.1.reset()
    }
}

/// Keeps every matching socket: for outputs that need the whole table (owners, sorting).
#[derive(Debug, Default)]
pub struct Snapshot(pub Vec<SocketRecord>);

impl Sink for Snapshot {
    fn record(&mut self, record: &SocketRecord) {
        self.0.push(*record);
    }

    fn reset(&mut self) -> bool {
        self.0.clear();
        true
    }
}

#[cfg(test)]
mod port_tests {
    use super::*;
    use crate::model::Family;

    fn sock(state: TcpState, local: u16, remote: u16) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
        r.local_port = local;
        r.remote_port = remote;
        r
    }

    #[test]
    fn service_grouping_uses_listening_ports() {
        let mut m = PortMatrix::new(PortGrouping::Service, [443].into_iter().collect(), true);
        let mut listener = sock(TcpState::Listen, 443, 0);
        listener.recv_q = 3;
        listener.send_q = 128;
        m.add_listener(&listener);
        m.record(&listener);
        m.record(&sock(TcpState::Established, 443, 50000));
        m.record(&sock(TcpState::TimeWait, 443, 50001));
        m.record(&sock(TcpState::Established, 40000, 5432));
        m.record(&sock(TcpState::Established, 40001, 5432));
        m.record(&sock(TcpState::Closed, 9100, 0));
        let rows = m.rows();
        let summary: Vec<(u16, &str, u64)> = rows
            .iter()
            .map(|r| (r.port, r.direction.name(), r.counts.total()))
            .collect();
        assert_eq!(summary, [(443, "in", 3), (5432, "out", 2), (9100, "in", 1)]);
        assert_eq!(rows[0].counts.get(TcpState::TimeWait), 1);
        assert_eq!(
            rows[0].listener,
            Some(ListenerQueue {
                sockets: 1,
                queued: 3,
                backlog: Some(128)
            })
        );
        assert_eq!(rows[1].listener, None);
    }

    #[test]
    fn listeners_get_rows_without_connections_and_proc_has_no_backlog() {
        let mut m = PortMatrix::new(PortGrouping::Service, [22].into_iter().collect(), false);
        m.add_listener(&sock(TcpState::Listen, 22, 0));
        let rows = m.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].counts.total(), 0);
        assert_eq!(rows[0].listener.and_then(|q| q.backlog), None);
    }

    #[test]
    fn without_a_listener_the_port_outside_the_ephemeral_range_serves() {
        let range = (32768, 60999);
        let group = |local, remote| {
            let (port, dir) = service_group_in(
                &Default::default(),
                range,
                &sock(TcpState::CloseWait, local, remote),
            );
            (port, dir.name())
        };
        // The server closed its listener on 8080; its CLOSE_WAIT ends and the clients' ends
        // both count under 8080, not under the clients' ephemeral ports.
        assert_eq!(group(8080, 40000), (8080, "in"));
        assert_eq!(group(40000, 8080), (8080, "out"));
        // An outgoing connection to another host's service.
        assert_eq!(group(50000, 443), (443, "out"));
        // Both ephemeral, or neither: the lower port.
        assert_eq!(group(40001, 50000), (40001, "in"));
        assert_eq!(group(50000, 40001), (40001, "out"));
        assert_eq!(group(80, 443), (80, "in"));
        assert_eq!(group(443, 80), (80, "out"));
        // The range's bounds are ephemeral; a narrowed range changes the answer.
        assert_eq!(group(32768, 60999), (32768, "in"));
        let narrow = (50000, 50100);
        let (port, dir) = service_group_in(
            &Default::default(),
            narrow,
            &sock(TcpState::Established, 40000, 50050),
        );
        assert_eq!((port, dir), (40000, Direction::In));
        // A listened-on port always wins, on either side, by port number only.
        let listening: std::collections::HashSet<u16> = [45000].into_iter().collect();
        let s = sock(TcpState::Established, 45000, 80);
        assert_eq!(
            service_group_in(&listening, range, &s),
            (45000, Direction::In)
        );
        let s = sock(TcpState::Established, 80, 45000);
        assert_eq!(
            service_group_in(&listening, range, &s),
            (45000, Direction::Out)
        );
        // The matrix uses the range it is given.
        let mut m = PortMatrix::new(PortGrouping::Service, Default::default(), true)
            .with_ephemeral_ports(narrow);
        m.record(&sock(TcpState::Established, 40000, 50050));
        assert_eq!(
            (m.rows()[0].port, m.rows()[0].direction),
            (40000, Direction::In)
        );
    }

    #[test]
    fn local_and_remote_grouping() {
        let mut m = PortMatrix::new(PortGrouping::Remote, Default::default(), true);
        m.record(&sock(TcpState::Established, 443, 50000));
        assert_eq!(m.rows()[0].port, 50000);
        let mut m = PortMatrix::new(PortGrouping::Local, Default::default(), true);
        m.record(&sock(TcpState::Established, 443, 50000));
        assert_eq!(
            (m.rows()[0].port, m.rows()[0].direction),
            (443, Direction::Local)
        );
    }
}

/// One process's sockets by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcRow {
    /// The network namespace of these sockets (`--all-netns`); else 0. A process with sockets
    /// in several namespaces has a row in each.
    pub netns: u64,
    pub pid: u32,
    pub uid: u32,
    /// Raw command name (escaping is the renderer's job).
    pub command: String,
    pub counts: StateRow,
}

/// The process x state matrix of `procs`, with explicit rows for sockets without a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcMatrix {
    /// Sorted by total descending, then pid.
    pub processes: Vec<ProcRow>,
    /// Connections the kernel completed that their listening process has not accept()ed yet
    /// ([`is_not_accepted`]): no file, so no process holds them, but they are not orphans;
    /// they wait in the accept queue of a listener whose process is in `accept_queues`.
    pub not_accepted: StateRow,
    /// Where the sockets of `not_accepted` wait, per listening address and port.
    pub accept_queues: Vec<AcceptQueue>,
    /// Sockets that cannot have an owner: inode 0 and not waiting to be accepted (TIME_WAIT
    /// and SYN_RECV minisockets, orphans whose process already closed them).
    pub no_owner: StateRow,
    /// Sockets with a file whose owner was not found while some processes could not be read:
    /// their owner is probably one of those.
    pub hidden: StateRow,
    /// Sockets with a file whose owner was not found although every process was read (closed
    /// or passed on during the walk, or held only by a process in another pid namespace).
    pub not_found: StateRow,
    /// Distinct sockets counted (each once, however many owners).
    pub sockets: u64,
    /// The four rows above, per network namespace, when this matrix merges several
    /// ([`ProcMatrix::merge`]); the fields above are then their sums.
    pub by_netns: Vec<OwnerlessRows>,
}

/// The rows of sockets without a known owner, of one network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerlessRows {
    pub netns: u64,
    pub not_accepted: StateRow,
    pub no_owner: StateRow,
    pub hidden: StateRow,
    pub not_found: StateRow,
}

/// The connections not accepted yet on one listening address and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptQueue {
    /// The network namespace (`--all-netns`); else what the sockets were tagged with.
    pub netns: u64,
    /// The listening socket's address (a wildcard for a listener on every address); the
    /// connections' own local address when no listener was found.
    pub address: std::net::IpAddr,
    pub port: u16,
    /// Whether a listening socket matched (by namespace, family, port, and address or
    /// wildcard). It can be missing if it closed while tcpstat read, or was not read.
    pub listener_found: bool,
    /// Connections waiting, counted in [`ProcMatrix::not_accepted`].
    pub sockets: u64,
    /// The processes holding the listening socket(s), in pid order: `(pid, command)`.
    /// Empty when none was found (hidden, or no listener).
    pub owners: Vec<(u32, String)>,
}

/// A connection the kernel completed for a listener whose process has not `accept()`ed it yet:
/// ESTABLISHED, or CLOSE_WAIT when the client already hung up, with inode 0 because a socket
/// gets its file only from `accept()`. Not an orphan: its process (the listener's) has simply
/// not taken it. (Request sockets are SYN_RECV, and a Fast Open child in SYN_RECV with inode 0
/// cannot be told apart from them in what the kernel reports: both stay in `no_owner`.)
pub fn is_not_accepted(r: &SocketRecord) -> bool {
    r.inode == 0
        && matches!(
            r.state,
            KernelState::Known(TcpState::Established | TcpState::CloseWait)
        )
}

/// The listening sockets a connection not accepted yet can be waiting for: same namespace,
/// family and port, and the same address, or a wildcard one when no listener has the exact
/// address (the kernel prefers the exact match too; with SO_REUSEPORT several can match).
fn listeners_for<'l>(
    by_port: &std::collections::HashMap<(u64, u16), Vec<&'l SocketRecord>>,
    r: &SocketRecord,
) -> Vec<&'l SocketRecord> {
    let Some(candidates) = by_port.get(&(r.netns, r.local_port)) else {
        return Vec::new();
    };
    let same_family = candidates.iter().filter(|l| l.family == r.family);
    let exact: Vec<&SocketRecord> = same_family
        .clone()
        .filter(|l| l.local == r.local)
        .copied()
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    same_family
        .filter(|l| l.local.is_unspecified())
        .copied()
        .collect()
}

impl ProcMatrix {
    /// Builds the matrix from sockets and a walk of their owners. A socket shared by several
    /// processes counts once in each of their rows; `sockets` counts it once. `listeners` are
    /// the LISTEN sockets of the namespace (their owners in `owners`), to name the process
    /// whose accept queue holds each connection not accepted yet; it may be empty.
    pub fn build(
        records: &[SocketRecord],
        listeners: &[SocketRecord],
        owners: &OwnerMap,
    ) -> ProcMatrix {
        let hidden_possible = owners.stats().unreadable() > 0;
        let mut per_process = vec![StateRow::default(); owners.process_count()];
        let mut m = ProcMatrix::default();
        let mut by_port: std::collections::HashMap<(u64, u16), Vec<&SocketRecord>> =
            Default::default();
        for l in listeners {
            by_port.entry((l.netns, l.local_port)).or_default().push(l);
        }
        for r in records {
            m.sockets += 1;
            let found = owners.owners(r.inode);
            if is_not_accepted(r) {
                m.not_accepted.add(r.state);
                m.add_to_queue(r, &listeners_for(&by_port, r), owners);
            } else if r.inode == 0 {
                m.no_owner.add(r.state);
            } else if found.is_empty() {
                if hidden_possible {
                    m.hidden.add(r.state);
                } else {
                    m.not_found.add(r.state);
                }
            }
            for idx in found {
                per_process[idx.get()].add(r.state);
            }
        }
        m.processes = owners
            .processes()
            .zip(per_process)
            .filter(|(_, counts)| counts.total() > 0)
            .map(|(p, counts)| ProcRow {
                netns: 0,
                pid: p.pid,
                uid: p.uid,
                command: p.command.clone(),
                counts,
            })
            .collect();
        sort_processes(&mut m.processes);
        m.accept_queues.sort_by(|a, b| {
            b.sockets
                .cmp(&a.sockets)
                .then(a.netns.cmp(&b.netns))
                .then(a.port.cmp(&b.port))
                .then(a.address.cmp(&b.address))
        });
        m
    }

    /// Counts a connection not accepted yet in the queue of its listener(s).
    fn add_to_queue(&mut self, r: &SocketRecord, listeners: &[&SocketRecord], owners: &OwnerMap) {
        let address = listeners.first().map_or(r.local, |l| l.local);
        if let Some(queue) = self
            .accept_queues
            .iter_mut()
            .find(|q| q.netns == r.netns && q.port == r.local_port && q.address == address)
        {
            queue.sockets += 1;
            return;
        }
        let mut processes: Vec<(u32, String)> = listeners
            .iter()
            .flat_map(|l| owners.owner_processes(l.inode))
            .map(|p| (p.pid, p.command.clone()))
            .collect();
        processes.sort();
        processes.dedup();
        self.accept_queues.push(AcceptQueue {
            netns: r.netns,
            address,
            port: r.local_port,
            listener_found: !listeners.is_empty(),
            sockets: 1,
            owners: processes,
        });
    }

    /// One matrix of several namespaces' matrices, each built from one namespace's sockets
    /// and given with its namespace: every process row and accept queue is kept and tagged
    /// with its namespace, the ownerless rows are summed and also kept per namespace in
    /// `by_netns`.
    pub fn merge(parts: Vec<(u64, ProcMatrix)>) -> ProcMatrix {
        let mut all = ProcMatrix::default();
        for (netns, mut part) in parts {
            for row in &mut part.processes {
                row.netns = netns;
            }
            for queue in &mut part.accept_queues {
                queue.netns = netns;
            }
            all.not_accepted.merge(&part.not_accepted);
            all.no_owner.merge(&part.no_owner);
            all.hidden.merge(&part.hidden);
            all.not_found.merge(&part.not_found);
            all.sockets += part.sockets;
            all.by_netns.push(OwnerlessRows {
                netns,
                not_accepted: part.not_accepted,
                no_owner: part.no_owner,
                hidden: part.hidden,
                not_found: part.not_found,
            });
            all.processes.extend(part.processes);
            all.accept_queues.extend(part.accept_queues);
        }
        sort_processes(&mut all.processes);
        all
    }
}

/// By total descending, then namespace and pid.
fn sort_processes(rows: &mut [ProcRow]) {
    rows.sort_by(|a, b| {
        b.counts
            .total()
            .cmp(&a.counts.total())
            .then(a.netns.cmp(&b.netns))
            .then(a.pid.cmp(&b.pid))
    });
}

#[cfg(test)]
mod proc_tests {
    use super::*;

    fn row(pid: u32, netns: u64, established: u64) -> ProcRow {
        let mut counts = StateRow::default();
        counts.counts[TcpState::Established.index()] = established;
        ProcRow {
            netns,
            pid,
            uid: 0,
            command: "x".into(),
            counts,
        }
    }

    fn sock(state: TcpState, local: &str, port: u16, inode: u64) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
        r.local = local.parse().expect("ip");
        r.local_port = port;
        r.remote_port = if state == TcpState::Listen { 0 } else { 40000 };
        r.inode = inode;
        r
    }

    #[test]
    fn connections_not_accepted_are_neither_orphans_nor_minisockets() {
        let listeners = [
            sock(TcpState::Listen, "0.0.0.0", 8080, 11),
            sock(TcpState::Listen, "127.0.0.2", 8080, 12),
        ];
        let records = [
            sock(TcpState::Established, "127.0.0.1", 8080, 0),
            sock(TcpState::CloseWait, "127.0.0.1", 8080, 0),
            sock(TcpState::Established, "127.0.0.2", 8080, 0),
            sock(TcpState::Established, "127.0.0.1", 9090, 0),
            sock(TcpState::TimeWait, "127.0.0.1", 8080, 0),
            sock(TcpState::FinWait2, "127.0.0.1", 40000, 0),
            sock(TcpState::SynRecv, "127.0.0.1", 8080, 0),
            sock(TcpState::Established, "127.0.0.1", 8080, 77),
        ];
        let m = ProcMatrix::build(&records, &listeners, &OwnerMap::default());
        assert_eq!(m.not_accepted.get(TcpState::Established), 3);
        assert_eq!(m.not_accepted.get(TcpState::CloseWait), 1);
        assert_eq!(
            m.no_owner.total(),
            3,
            "TIME_WAIT, orphaned FIN_WAIT_2, request"
        );
        assert_eq!(
            m.not_found.total(),
            1,
            "a socket with a file and no owner found"
        );
        assert_eq!(m.sockets, 8);
        let queues: Vec<(String, u16, bool, u64)> = m
            .accept_queues
            .iter()
            .map(|q| (q.address.to_string(), q.port, q.listener_found, q.sockets))
            .collect();
        assert_eq!(
            queues,
            [
                // On 127.0.0.1, the wildcard listener's; on 127.0.0.2, the exact one's.
                ("0.0.0.0".to_string(), 8080, true, 2),
                ("127.0.0.2".to_string(), 8080, true, 1),
                ("127.0.0.1".to_string(), 9090, false, 1),
            ]
        );
    }

    #[test]
    fn namespaces_merge_with_their_rows_tagged_and_ownerless_rows_summed() {
        let mut a = ProcMatrix {
            processes: vec![row(10, 0, 1)],
            sockets: 2,
            ..ProcMatrix::default()
        };
        a.no_owner.add(KernelState::Known(TcpState::TimeWait));
        let mut b = ProcMatrix {
            processes: vec![row(10, 0, 3), row(20, 0, 1)],
            sockets: 5,
            ..ProcMatrix::default()
        };
        b.no_owner.add(KernelState::Known(TcpState::TimeWait));
        b.hidden.add(KernelState::Known(TcpState::Established));
        let m = ProcMatrix::merge(vec![(111, a), (222, b)]);
        let rows: Vec<(u64, u32, u64)> = m
            .processes
            .iter()
            .map(|p| (p.netns, p.pid, p.counts.total()))
            .collect();
        // A pid with sockets in two namespaces has a row in each; busiest first.
        assert_eq!(rows, [(222, 10, 3), (111, 10, 1), (222, 20, 1)]);
        assert_eq!((m.no_owner.total(), m.hidden.total(), m.sockets), (2, 1, 7));
        let per: Vec<(u64, u64, u64)> = m
            .by_netns
            .iter()
            .map(|n| (n.netns, n.no_owner.total(), n.hidden.total()))
            .collect();
        assert_eq!(per, [(111, 1, 0), (222, 1, 1)]);
    }
}

/// `ports` rows with a bounded number of distinct ports, for metrics: every listening port,
/// the `top` busiest other groups, and the rest summed per direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedPorts {
    /// Listening ports (in the order given), then the busiest others.
    pub rows: Vec<PortRow>,
    /// Everything else, per direction (only directions that had any row cut).
    pub other: Vec<(Direction, StateRow)>,
}

/// Keeps the rows of listening ports (those with a listener queue) and the `top` others with
/// the most sockets (`rows` come sorted busiest first from [`PortMatrix::rows`]); sums the rest
/// per direction, so that totals still add up.
pub fn bound_ports(rows: &[PortRow], top: usize) -> BoundedPorts {
    let mut kept = Vec::new();
    let mut others = 0;
    let mut other: Vec<(Direction, StateRow)> = Vec::new();
    for row in rows {
        if row.listener.is_some() {
            kept.push(*row);
        } else if others < top {
            others += 1;
            kept.push(*row);
        } else {
            match other.iter_mut().find(|(d, _)| *d == row.direction) {
                Some((_, sum)) => sum.merge(&row.counts),
                None => other.push((row.direction, row.counts)),
            }
        }
    }
    other.sort_by_key(|(d, _)| *d);
    BoundedPorts { rows: kept, other }
}

/// Sockets per command name: the processes of one command summed, for metrics (pids come and
/// go; command names are few).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRows {
    /// The `top` commands with the most sockets, busiest first (ties by name).
    pub commands: Vec<(String, StateRow)>,
    /// All other commands summed.
    pub other: StateRow,
}

impl ProcMatrix {
    /// Sums processes per command name and keeps the `top` busiest. A socket shared by
    /// several processes of one command counts once per process, as in `procs`.
    pub fn by_command(&self, top: usize) -> CommandRows {
        let mut per: std::collections::BTreeMap<&str, StateRow> = Default::default();
        for p in &self.processes {
            per.entry(p.command.as_str()).or_default().merge(&p.counts);
        }
        let mut commands: Vec<(String, StateRow)> = per
            .into_iter()
            .map(|(c, row)| (c.to_string(), row))
            .collect();
        commands.sort_by(|a, b| b.1.total().cmp(&a.1.total()).then(a.0.cmp(&b.0)));
        let mut other = StateRow::default();
        for (_, row) in commands.iter().skip(top) {
            other.merge(row);
        }
        commands.truncate(top);
        CommandRows { commands, other }
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;

    fn row(port: u16, direction: Direction, n: u64, listening: bool) -> PortRow {
        let mut counts = StateRow::default();
        counts.counts[TcpState::Established.index()] = n;
        PortRow {
            netns: 0,
            port,
            direction,
            counts,
            listener: listening.then_some(ListenerQueue::default()),
        }
    }

    #[test]
    fn listening_ports_always_stay_and_the_rest_is_summed() {
        let rows = [
            row(443, Direction::Out, 50, false),
            row(80, Direction::In, 40, true),
            row(5432, Direction::Out, 30, false),
            row(6379, Direction::Out, 20, false),
            row(9100, Direction::In, 3, false),
            row(22, Direction::In, 0, true),
        ];
        let b = bound_ports(&rows, 1);
        let kept: Vec<u16> = b.rows.iter().map(|r| r.port).collect();
        assert_eq!(kept, [443, 80, 22]);
        assert_eq!(b.other.len(), 2);
        assert_eq!(b.other[0].0, Direction::In);
        assert_eq!(b.other[0].1.total(), 3);
        assert_eq!((b.other[1].0, b.other[1].1.total()), (Direction::Out, 50));
        assert!(bound_ports(&rows, 10).other.is_empty());
    }

    #[test]
    fn commands_are_summed_and_cut() {
        let proc_row = |pid: u32, command: &str, n: u64| {
            let mut counts = StateRow::default();
            counts.counts[TcpState::Established.index()] = n;
            ProcRow {
                netns: 0,
                pid,
                uid: 0,
                command: command.to_string(),
                counts,
            }
        };
        let m = ProcMatrix {
            processes: vec![
                proc_row(1, "nginx", 5),
                proc_row(2, "nginx", 5),
                proc_row(3, "sshd", 7),
                proc_row(4, "cron", 1),
            ],
            ..ProcMatrix::default()
        };
        let c = m.by_command(2);
        let names: Vec<(&str, u64)> = c
            .commands
            .iter()
            .map(|(n, r)| (n.as_str(), r.total()))
            .collect();
        assert_eq!(names, [("nginx", 10), ("sshd", 7)]);
        assert_eq!(c.other.total(), 1);
    }
}
