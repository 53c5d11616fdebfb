//! Sockets by port: the service-port rule, the port x state matrix of `ports`, and the
//! bounded rows metrics export. Pure: no I/O.

use crate::model::{Sink, SocketRecord, StateRow};

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

pub use crate::model::kernel::DEFAULT_EPHEMERAL_PORTS;

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
    /// The groups of the listening sockets added: they have a row even with no socket in it.
    listener_groups: std::collections::HashSet<(u16, Direction)>,
    /// `net.ipv4.ip_local_port_range`, for connections where neither port is listened on.
    ephemeral: (u16, u16),
}

impl PortMatrix {
    /// `listening` is every port with a listening socket in the families read: it decides the
    /// direction of each connection under service grouping, whatever the filters.
    /// `ephemeral` is the namespace's `ip_local_port_range` (see [`service_group_in`]).
    pub fn new(
        grouping: PortGrouping,
        listening: std::collections::HashSet<u16>,
        ephemeral: (u16, u16),
    ) -> PortMatrix {
        PortMatrix {
            grouping,
            listening,
            rows: Default::default(),
            queues: Default::default(),
            listener_groups: Default::default(),
            ephemeral,
        }
    }

    /// The matrix of one namespace with its selected listening sockets already added (see
    /// [`PortMatrix::add_listener`]): what `ports`, its metrics and `serve` count into, so
    /// that they cannot disagree on which listeners a row has.
    pub fn with_listeners<'l>(
        grouping: PortGrouping,
        listening: std::collections::HashSet<u16>,
        ephemeral: (u16, u16),
        listeners: impl IntoIterator<Item = &'l SocketRecord>,
    ) -> PortMatrix {
        let mut matrix = PortMatrix::new(grouping, listening, ephemeral);
        for listener in listeners {
            matrix.add_listener(listener);
        }
        matrix
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
        self.listener_groups.insert(group);
    }

    /// Records a listening socket's queue only (its row comes from the sockets counted).
    fn add_listener_queue(&mut self, record: &SocketRecord) {
        let q = self.queues.entry(record.local_port).or_default();
        q.sockets += 1;
        q.queued += u64::from(record.recv_q);
        // The backlog is known from netlink only (`SocketRecord::send_q_known`).
        q.backlog = record
            .reported_send_q()
            .map(|backlog| q.backlog.unwrap_or(0) + u64::from(backlog));
    }

    /// Rows sorted by total descending, then port and direction.
    pub fn rows(&self) -> Vec<PortRow> {
        let empty = StateRow::default();
        let without_sockets = self
            .listener_groups
            .iter()
            .filter(|g| !self.rows.contains_key(g))
            .map(|g| (g, &empty));
        let mut rows: Vec<PortRow> = self
            .rows
            .iter()
            .chain(without_sockets)
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

/// How many port rows metrics keep; the rest are folded into `port="other"`. Every label
/// value set is a series: without a cap, an unprivileged user opening 2,000 listeners made
/// 26,636 series and a 1.7 MB scrape (issue 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortBudget {
    /// Listening ports kept: those with the fullest accept queues first, then the busiest.
    pub listening: usize,
    /// Other ports kept: the busiest.
    pub others: usize,
}

/// Listening ports kept in metrics unless `--top-listening` says otherwise.
pub const DEFAULT_TOP_LISTENING: usize = 50;

/// `ports` rows with a bounded number of distinct ports, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedPorts {
    /// The rows kept, in the order given (busiest first).
    pub rows: Vec<PortRow>,
    /// Everything else, per namespace and direction (only where a row was folded).
    pub other: Vec<FoldedPorts>,
}

/// The port rows folded into `port="other"` of one namespace and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoldedPorts {
    pub netns: u64,
    pub direction: Direction,
    /// How many port rows were folded.
    pub ports: usize,
    /// Their sockets, summed.
    pub counts: StateRow,
    /// The accept queues of the listening ports among them, summed.
    pub listener: Option<ListenerQueue>,
}

/// Keeps at most `budget.listening` rows of listening ports (the fullest accept queues,
/// then the most sockets) and `budget.others` other rows (the most sockets; `rows` come
/// sorted busiest first); sums the rest per namespace and direction, so that totals still
/// add up and say how many ports they hold.
pub fn bound_ports(rows: &[PortRow], budget: PortBudget) -> BoundedPorts {
    let mut listening: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].listener.is_some())
        .collect();
    listening.sort_by(|&a, &b| {
        let queued = |i: usize| rows[i].listener.map_or(0, |q| q.queued);
        queued(b)
            .cmp(&queued(a))
            .then(rows[b].counts.total().cmp(&rows[a].counts.total()))
            .then(a.cmp(&b))
    });
    let mut keep = vec![false; rows.len()];
    for &i in listening.iter().take(budget.listening) {
        keep[i] = true;
    }
    let others = (0..rows.len()).filter(|&i| rows[i].listener.is_none());
    for i in others.take(budget.others) {
        keep[i] = true;
    }
    let mut kept = Vec::new();
    let mut other: Vec<FoldedPorts> = Vec::new();
    for (row, keep) in rows.iter().zip(keep) {
        if keep {
            kept.push(*row);
            continue;
        }
        let folded = match other
            .iter_mut()
            .find(|f| f.netns == row.netns && f.direction == row.direction)
        {
            Some(f) => f,
            None => {
                other.push(FoldedPorts {
                    netns: row.netns,
                    direction: row.direction,
                    ports: 0,
                    counts: StateRow::default(),
                    listener: None,
                });
                other.last_mut().expect("just pushed")
            }
        };
        folded.ports += 1;
        folded.counts.merge(&row.counts);
        if let Some(q) = row.listener {
            folded.listener = Some(match folded.listener {
                None => q,
                Some(sum) => ListenerQueue {
                    sockets: sum.sockets + q.sockets,
                    queued: sum.queued + q.queued,
                    // Known only if known for every one (netlink; /proc reports none).
                    backlog: sum.backlog.zip(q.backlog).map(|(a, b)| a + b),
                },
            });
        }
    }
    other.sort_by_key(|f| (f.netns, f.direction));
    BoundedPorts { rows: kept, other }
}

#[cfg(test)]
mod port_tests {
    use super::*;
    use crate::model::{Family, KernelState, TcpState};

    fn sock(state: TcpState, local: u16, remote: u16) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
        r.local_port = local;
        r.remote_port = remote;
        r
    }

    #[test]
    fn service_grouping_uses_listening_ports() {
        let mut m = PortMatrix::new(
            PortGrouping::Service,
            [443].into_iter().collect(),
            DEFAULT_EPHEMERAL_PORTS,
        );
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
        let mut m = PortMatrix::new(
            PortGrouping::Service,
            [22].into_iter().collect(),
            DEFAULT_EPHEMERAL_PORTS,
        );
        let mut from_proc = sock(TcpState::Listen, 22, 0);
        from_proc.send_q_known = false;
        m.add_listener(&from_proc);
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
        let mut m = PortMatrix::new(PortGrouping::Service, Default::default(), narrow);
        m.record(&sock(TcpState::Established, 40000, 50050));
        assert_eq!(
            (m.rows()[0].port, m.rows()[0].direction),
            (40000, Direction::In)
        );
    }

    #[test]
    fn local_and_remote_grouping() {
        let mut m = PortMatrix::new(
            PortGrouping::Remote,
            Default::default(),
            DEFAULT_EPHEMERAL_PORTS,
        );
        m.record(&sock(TcpState::Established, 443, 50000));
        assert_eq!(m.rows()[0].port, 50000);
        let mut m = PortMatrix::new(
            PortGrouping::Local,
            Default::default(),
            DEFAULT_EPHEMERAL_PORTS,
        );
        m.record(&sock(TcpState::Established, 443, 50000));
        assert_eq!(
            (m.rows()[0].port, m.rows()[0].direction),
            (443, Direction::Local)
        );
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;
    use crate::model::TcpState;

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
        let budget = |others| PortBudget {
            listening: DEFAULT_TOP_LISTENING,
            others,
        };
        let b = bound_ports(&rows, budget(1));
        let kept: Vec<u16> = b.rows.iter().map(|r| r.port).collect();
        assert_eq!(kept, [443, 80, 22]);
        assert_eq!(b.other.len(), 2);
        assert_eq!((b.other[0].direction, b.other[0].ports), (Direction::In, 1));
        assert_eq!(b.other[0].counts.total(), 3);
        assert_eq!(b.other[0].listener, None);
        assert_eq!(
            (
                b.other[1].direction,
                b.other[1].counts.total(),
                b.other[1].ports
            ),
            (Direction::Out, 50, 2)
        );
        assert!(bound_ports(&rows, budget(10)).other.is_empty());
    }

    #[test]
    fn listening_ports_are_capped_too_fullest_queues_first() {
        let mut rows: Vec<PortRow> = (0..2000u16)
            .map(|i| PortRow {
                listener: Some(ListenerQueue {
                    sockets: 1,
                    queued: 0,
                    backlog: Some(4),
                }),
                ..row(10_000 + i, Direction::In, 1, true)
            })
            .collect();
        rows[1500].listener = Some(ListenerQueue {
            sockets: 1,
            queued: 7,
            backlog: Some(8),
        });
        let b = bound_ports(
            &rows,
            PortBudget {
                listening: 50,
                others: 10,
            },
        );
        assert_eq!(b.rows.len(), 50, "2000 listeners, 50 kept");
        assert!(
            b.rows.iter().any(|r| r.port == 11_500),
            "the one with a queue is kept"
        );
        let folded = b
            .other
            .iter()
            .find(|f| f.direction == Direction::In)
            .expect("folded");
        assert_eq!(folded.ports, 1950);
        assert_eq!(folded.counts.total(), 1950);
        let q = folded.listener.expect("their queues");
        assert_eq!((q.sockets, q.queued, q.backlog), (1950, 0, Some(1950 * 4)));
    }
}
