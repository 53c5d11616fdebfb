//! What `watch` remembers between ticks: per-state history, and each watched socket's age.
//!
//! Owns: [`Tracker`] (sockets keyed by namespace and kernel cookie, or by namespace and
//! 4-tuple when the source has no cookie, with the time each entered its current state) and [`History`] (bounded
//! per-state series for deltas, rates, min/max and sparklines). Pure data and arithmetic: the
//! caller passes the time in, nothing here reads a clock or the kernel. Memory is bounded by
//! the sockets currently watched plus a fixed history length: vanished sockets are dropped
//! on the tick they vanish.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::model::{Family, KernelState, SocketRecord, TcpState};

/// How a socket is recognised from one tick to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketKey {
    /// sock_diag's `idiag_cookie`: unique for the socket's lifetime within its namespace.
    /// Kernels before 5.3 number cookies per network namespace (`sock_gen_cookie` took the
    /// counter from `net->cookie_gen`; 5.3 made it global), so with `--all-netns` two
    /// namespaces can hand out the same cookie: the namespace is part of the key.
    Cookie { netns: u64, cookie: u64 },
    /// /proc has no cookie: the namespace (two containers can both have 127.0.0.1:8080
    /// TIME_WAITs), the family and the 4-tuple, which no two connected sockets of a
    /// namespace share. Not the inode: it becomes 0 when the process closes a socket that
    /// the kernel keeps (an orphan in FIN_WAIT_1, LAST_ACK, ...), which would restart its age
    /// though its state did not change. The inode is added only when the remote end is a
    /// wildcard (listeners and bound-only sockets, which `SO_REUSEPORT` lets share a local
    /// address).
    Tuple {
        netns: u64,
        family: Family,
        /// 0 unless the remote end is a wildcard.
        inode: u64,
        local: IpAddr,
        local_port: u16,
        remote: IpAddr,
        remote_port: u16,
    },
}

impl SocketKey {
    pub fn of(r: &SocketRecord) -> SocketKey {
        if r.cookie != 0 {
            SocketKey::Cookie {
                netns: r.netns,
                cookie: r.cookie,
            }
        } else {
            let wildcard = r.remote_port == 0 && r.remote.is_unspecified();
            SocketKey::Tuple {
                netns: r.netns,
                family: r.family,
                inode: if wildcard { r.inode } else { 0 },
                local: r.local,
                local_port: r.local_port,
                remote: r.remote,
                remote_port: r.remote_port,
            }
        }
    }
}

/// A watched socket and since when it has been in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub record: SocketRecord,
    /// When it was first seen in this state (the watch's start for sockets already there).
    pub since: Instant,
    /// True when it was already in this state at the first tick: its age is a lower bound.
    pub since_start: bool,
}

impl Tracked {
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }
}

/// Sockets that entered or left the watched states since the previous tick.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    pub entered: Vec<SocketRecord>,
    /// With how long each had been in its state (a lower bound).
    pub left: Vec<(SocketRecord, Duration)>,
}

/// The watched sockets of the last tick.
#[derive(Debug, Default)]
pub struct Tracker {
    sockets: HashMap<SocketKey, Tracked>,
    ticks: u64,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Replaces the tracked set with this tick's watched sockets. A socket keeps its age while
    /// it stays in the same state; a state change restarts it. On the first tick nothing has
    /// "entered": everything was already there.
    pub fn update(&mut self, now: Instant, current: &[SocketRecord]) -> Changes {
        let first = self.ticks == 0;
        self.ticks += 1;
        let mut previous = std::mem::take(&mut self.sockets);
        let mut changes = Changes::default();
        self.sockets.reserve(current.len());
        for r in current {
            let key = SocketKey::of(r);
            let tracked = match previous.remove(&key) {
                Some(old) if old.record.state == r.state => Tracked { record: *r, ..old },
                other => {
                    if let Some(old) = other {
                        changes.left.push((old.record, old.age(now)));
                    }
                    if !first {
                        changes.entered.push(*r);
                    }
                    Tracked {
                        record: *r,
                        since: now,
                        since_start: first,
                    }
                }
            };
            self.sockets.insert(key, tracked);
        }
        // Whatever was not seen again has left (closed, or moved to a state not watched).
        changes
            .left
            .extend(previous.into_values().map(|t| (t.record, t.age(now))));
        changes
    }

    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tracked> {
        self.sockets.values()
    }
}

/// Number of ticks kept per state (the sparkline width).
pub const HISTORY_LEN: usize = 40;

/// Per-state counts over time.
#[derive(Debug, Clone)]
pub struct History {
    series: [VecDeque<u64>; 11],
    min: [u64; 11],
    max: [u64; 11],
    ticks: u64,
}

impl Default for History {
    fn default() -> Self {
        History {
            series: std::array::from_fn(|_| VecDeque::with_capacity(HISTORY_LEN)),
            min: [u64::MAX; 11],
            max: [0; 11],
            ticks: 0,
        }
    }
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// Adds one tick's counts (indexed by [`TcpState::index`]).
    pub fn push(&mut self, counts: [u64; 11]) {
        self.ticks += 1;
        for (i, &n) in counts.iter().enumerate() {
            let s = &mut self.series[i];
            if s.len() == HISTORY_LEN {
                s.pop_front();
            }
            s.push_back(n);
            self.min[i] = self.min[i].min(n);
            self.max[i] = self.max[i].max(n);
        }
    }

    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    pub fn latest(&self, state: TcpState) -> u64 {
        self.series[state.index()].back().copied().unwrap_or(0)
    }

    /// Change since the previous tick; 0 on the first.
    pub fn delta(&self, state: TcpState) -> i64 {
        let s = &self.series[state.index()];
        match (s.len().checked_sub(2).map(|i| s[i]), s.back()) {
            (Some(prev), Some(&now)) => now as i64 - prev as i64,
            _ => 0,
        }
    }

    pub fn min(&self, state: TcpState) -> u64 {
        match self.min[state.index()] {
            u64::MAX => 0,
            n => n,
        }
    }

    pub fn max(&self, state: TcpState) -> u64 {
        self.max[state.index()]
    }

    /// The recent values, oldest first.
    pub fn recent(&self, state: TcpState) -> impl Iterator<Item = u64> + Clone + '_ {
        self.series[state.index()].iter().copied()
    }
}

/// Eight-level bars, scaled between the series' own min and max (a flat series is a flat
/// low line).
pub fn sparkline(values: impl Iterator<Item = u64> + Clone) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let lo = values.clone().min().unwrap_or(0);
    let hi = values.clone().max().unwrap_or(0);
    values
        .map(|v| {
            if hi == lo {
                BARS[0]
            } else {
                BARS[((v - lo) * 7 / (hi - lo)) as usize]
            }
        })
        .collect()
}

/// Counts of a snapshot by state index (unknown states are not part of the history).
pub fn state_counts(records: &[SocketRecord]) -> [u64; 11] {
    let mut counts = [0; 11];
    for r in records {
        if let KernelState::Known(s) = r.state {
            counts[s.index()] += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(cookie: u64, state: TcpState) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
        r.cookie = cookie;
        r
    }

    #[test]
    fn ages_grow_while_the_state_holds_and_restart_on_change() {
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        let c = tr.update(
            t0,
            &[sock(1, TcpState::CloseWait), sock(2, TcpState::CloseWait)],
        );
        assert!(
            c.entered.is_empty() && c.left.is_empty(),
            "first tick: all already there"
        );
        assert!(tr.iter().all(|t| t.since_start));
        let t1 = t0 + Duration::from_secs(5);
        let c = tr.update(
            t1,
            &[sock(1, TcpState::CloseWait), sock(3, TcpState::CloseWait)],
        );
        assert_eq!(c.entered, [sock(3, TcpState::CloseWait)]);
        assert_eq!(
            c.left,
            [(sock(2, TcpState::CloseWait), Duration::from_secs(5))]
        );
        let one = tr.iter().find(|t| t.record.cookie == 1).expect("tracked");
        assert_eq!(one.age(t1), Duration::from_secs(5));
        let three = tr.iter().find(|t| t.record.cookie == 3).expect("tracked");
        assert_eq!(three.age(t1), Duration::ZERO);
        assert!(!three.since_start);
        let t2 = t1 + Duration::from_secs(1);
        let c = tr.update(t2, &[sock(1, TcpState::LastAck)]);
        assert_eq!(c.entered, [sock(1, TcpState::LastAck)]);
        assert_eq!(
            c.left.len(),
            2,
            "cookie 1 left CLOSE_WAIT, cookie 3 vanished"
        );
        assert_eq!(tr.len(), 1);
        assert_eq!(tr.iter().next().expect("one").age(t2), Duration::ZERO);
    }

    #[test]
    fn proc_sockets_are_keyed_by_tuple() {
        let mut a = sock(0, TcpState::CloseWait);
        a.inode = 10;
        a.local_port = 80;
        a.remote = IpAddr::from([127, 0, 0, 1]);
        a.remote_port = 4000;
        let mut b = a;
        b.remote_port = 5000;
        assert_ne!(SocketKey::of(&a), SocketKey::of(&b));
        assert_eq!(SocketKey::of(&a), SocketKey::of(&a.clone()));
        let mut elsewhere = a;
        elsewhere.netns = 4026532000;
        assert_ne!(
            SocketKey::of(&a),
            SocketKey::of(&elsewhere),
            "the same 4-tuple in another namespace is another socket"
        );
        let mut v6 = a;
        v6.family = Family::V6;
        assert_ne!(SocketKey::of(&a), SocketKey::of(&v6));
        // Listeners sharing a port (SO_REUSEPORT) differ only by inode.
        let mut l1 = sock(0, TcpState::Listen);
        l1.local_port = 80;
        l1.inode = 11;
        let mut l2 = l1;
        l2.inode = 12;
        assert_ne!(SocketKey::of(&l1), SocketKey::of(&l2));
    }

    #[test]
    fn an_orphaned_proc_socket_keeps_its_age() {
        // The process closes a socket in LAST_ACK: /proc shows it on with inode 0.
        let mut owned = sock(0, TcpState::LastAck);
        owned.inode = 77;
        owned.local_port = 8080;
        owned.remote = IpAddr::from([127, 0, 0, 1]);
        owned.remote_port = 40000;
        let orphan = SocketRecord { inode: 0, ..owned };
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        tr.update(t0, &[owned]);
        let t1 = t0 + Duration::from_secs(30);
        let c = tr.update(t1, &[orphan]);
        assert!(c.entered.is_empty() && c.left.is_empty(), "{c:?}");
        assert_eq!(
            tr.iter().next().expect("one").age(t1),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn cookies_are_per_namespace() {
        // Before Linux 5.3 each namespace numbers its own cookies from 1.
        let a = sock(1, TcpState::CloseWait);
        let b = SocketRecord {
            netns: 4026532000,
            ..a
        };
        assert_ne!(SocketKey::of(&a), SocketKey::of(&b));
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        tr.update(t0, &[a, b]);
        assert_eq!(tr.len(), 2, "both tracked");
    }

    #[test]
    fn memory_stays_bounded() {
        let mut tr = Tracker::new();
        let mut h = History::new();
        let t0 = Instant::now();
        for tick in 0..1000u64 {
            let now: Vec<_> = (0..10)
                .map(|i| sock(tick * 10 + i + 1, TcpState::TimeWait))
                .collect();
            tr.update(t0 + Duration::from_secs(tick), &now);
            h.push(state_counts(&now));
        }
        assert_eq!(tr.len(), 10, "vanished cookies are dropped");
        assert_eq!(h.recent(TcpState::TimeWait).count(), HISTORY_LEN);
    }

    #[test]
    fn history_deltas_min_max() {
        let mut h = History::new();
        let mut c = [0; 11];
        c[TcpState::CloseWait.index()] = 3;
        h.push(c);
        assert_eq!(h.delta(TcpState::CloseWait), 0);
        c[TcpState::CloseWait.index()] = 7;
        h.push(c);
        c[TcpState::CloseWait.index()] = 1;
        h.push(c);
        assert_eq!(h.delta(TcpState::CloseWait), -6);
        assert_eq!(
            (h.min(TcpState::CloseWait), h.max(TcpState::CloseWait)),
            (1, 7)
        );
        assert_eq!(h.latest(TcpState::CloseWait), 1);
        assert_eq!(sparkline(h.recent(TcpState::CloseWait)), "▃█▁");
        assert_eq!(sparkline([5, 5].into_iter()), "▁▁");
    }
}
