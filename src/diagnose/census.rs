//! [`Census`]: the [`Sink`] `doctor` collects into. It counts every socket, and keeps
//! detail only for the states a check looks at closely, so a host with a million ESTABLISHED
//! sockets costs a few counters.
//!
//! Owns: what is kept per socket and how it is grouped (by owner-to-be, port, remote
//! address, route). Must not judge (the rules read the census) nor read the kernel (the
//! collectors feed it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use super::connections::ConnHealth;
use super::Check;
use crate::aggregate::{service_group_in, Direction, DEFAULT_EPHEMERAL_PORTS};
use crate::model::Sink;
use crate::model::StateCounts;
use crate::model::{KernelState, SocketDetail, SocketRecord, TcpState};

/// Per-state tallies for the closing states and TIME_WAIT.
#[derive(Debug, Clone, Default)]
pub(super) struct Tally {
    pub(super) count: u64,
    /// Sockets without a file: closed by their process.
    pub(super) orphans: u64,
    pub(super) remotes: HashMap<IpAddr, u64>,
    pub(super) ports: HashMap<(u16, Direction), u64>,
}

impl Tally {
    /// `ephemeral`: `ip_local_port_range` when known (it picks the service port of a
    /// connection whose listener is gone, see [`service_group_in`]).
    pub(super) fn add(
        &mut self,
        r: &SocketRecord,
        listening: &HashSet<u16>,
        ephemeral: Option<(u16, u16)>,
    ) {
        self.count += 1;
        if r.inode == 0 {
            self.orphans += 1;
        }
        *self.remotes.entry(r.remote).or_default() += 1;
        let ephemeral = ephemeral.unwrap_or(DEFAULT_EPHEMERAL_PORTS);
        *self
            .ports
            .entry(service_group_in(listening, ephemeral, r))
            .or_default() += 1;
    }
}

/// Half-open connections on one listening port.
#[derive(Debug, Clone, Default)]
pub(super) struct HalfOpen {
    pub(super) count: u64,
    pub(super) sources: HashMap<IpAddr, u64>,
}

/// Local ports in use toward one destination.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PortUse {
    pub(super) time_wait: u64,
    pub(super) other: u64,
}

/// A route of outgoing connections: local address, remote address, remote port.
pub(super) type Route = (IpAddr, IpAddr, u16);

/// The sink `doctor` collects into: counts for everything, and per-socket detail only for
/// the states a check looks at closely.
#[derive(Debug, Clone)]
pub struct Census {
    pub(super) listening: HashSet<u16>,
    pub(super) ephemeral: Option<(u16, u16)>,
    /// The listening sockets the filters select (judged by the accept-queue and SYN checks).
    pub listeners: Vec<SocketRecord>,
    pub counts: StateCounts,
    /// CLOSE_WAIT sockets (their owners are resolved afterwards).
    pub close_wait: Vec<SocketRecord>,
    /// SYN_SENT sockets.
    pub syn_sent: Vec<SocketRecord>,
    pub(super) syn_recv: BTreeMap<u16, HalfOpen>,
    /// Indexed like [`CLOSING_STATES`].
    pub(super) closing: [Tally; 4],
    pub(super) time_wait: Tally,
    pub(super) routes: HashMap<Route, PortUse>,
    /// What the connections' `tcp_info` says, when the dump carried it (sock_diag asked for
    /// `INET_DIAG_INFO`); empty otherwise.
    pub health: ConnHealth,
}

/// The closing states tallied, in the order of `Census::closing`.
pub(super) const CLOSING_STATES: [(TcpState, Check); 4] = [
    (TcpState::FinWait1, Check::FinWait1),
    (TcpState::FinWait2, Check::FinWait2),
    (TcpState::Closing, Check::Closing),
    (TcpState::LastAck, Check::LastAck),
];

impl Census {
    /// `listening`: every listening port (it decides which side is the service);
    /// `ephemeral`: `ip_local_port_range`, when known (outgoing connections use it);
    /// `listeners`: the listening sockets the filters select.
    pub fn new(
        listening: HashSet<u16>,
        ephemeral: Option<(u16, u16)>,
        listeners: Vec<SocketRecord>,
    ) -> Census {
        Census {
            listening,
            ephemeral,
            listeners,
            counts: StateCounts::new(),
            close_wait: Vec::new(),
            syn_sent: Vec::new(),
            syn_recv: BTreeMap::new(),
            closing: Default::default(),
            time_wait: Tally::default(),
            routes: HashMap::new(),
            health: ConnHealth::default(),
        }
    }

    /// Whether a socket is an outgoing connection holding an ephemeral local port.
    fn outgoing(&self, r: &SocketRecord) -> bool {
        r.remote_port != 0
            && !self.listening.contains(&r.local_port)
            && self
                .ephemeral
                .is_none_or(|(lo, hi)| (lo..=hi).contains(&r.local_port))
    }
}

impl Sink for Census {
    fn record(&mut self, r: &SocketRecord) {
        self.counts.add(r.family, r.state);
        let KernelState::Known(state) = r.state else {
            return;
        };
        match state {
            TcpState::CloseWait => self.close_wait.push(*r),
            TcpState::SynSent => self.syn_sent.push(*r),
            TcpState::SynRecv => {
                let h = self.syn_recv.entry(r.local_port).or_default();
                h.count += 1;
                *h.sources.entry(r.remote).or_default() += 1;
            }
            TcpState::TimeWait => self.time_wait.add(r, &self.listening, self.ephemeral),
            _ => {}
        }
        if let Some(i) = CLOSING_STATES.iter().position(|(s, _)| *s == state) {
            self.closing[i].add(r, &self.listening, self.ephemeral);
        }
        if !matches!(state, TcpState::Listen | TcpState::Closed) && self.outgoing(r) {
            let u = self
                .routes
                .entry((r.local, r.remote, r.remote_port))
                .or_default();
            if state == TcpState::TimeWait {
                u.time_wait += 1;
            } else {
                u.other += 1;
            }
        }
    }

    fn record_detail(&mut self, r: &SocketRecord, detail: &SocketDetail) {
        self.record(r);
        if let Some(info) = &detail.info {
            self.health.add(r, info);
        }
    }

    fn reset(&mut self) -> bool {
        *self = Census::new(
            std::mem::take(&mut self.listening),
            self.ephemeral,
            std::mem::take(&mut self.listeners),
        );
        true
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        // The processes a finding names: CLOSE_WAIT holders, unanswered connects (the
        // listeners' owners are looked for by the pipeline).
        wanted.extend(
            self.close_wait
                .iter()
                .chain(&self.syn_sent)
                .map(|r| r.inode),
        );
        self.health.owners_wanted(wanted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::fixtures::{ip, sock};

    #[test]
    fn only_outgoing_connections_in_the_ephemeral_range_hold_a_route_port() {
        let mut census = Census::new([80].into_iter().collect(), Some((40000, 40099)), Vec::new());
        census.record(&sock(TcpState::TimeWait, (1, 40000), (9, 5432)));
        census.record(&sock(TcpState::Established, (1, 40001), (9, 5432)));
        // Inbound on a listening port, outside the range, and a listener: no route port.
        census.record(&sock(TcpState::TimeWait, (1, 80), (3, 40001)));
        census.record(&sock(TcpState::TimeWait, (1, 30000), (9, 5432)));
        census.record(&sock(TcpState::Listen, (1, 40050), (0, 0)));
        assert_eq!(census.routes.len(), 1);
        let u = census.routes[&(ip(1), ip(9), 5432)];
        assert_eq!((u.time_wait, u.other), (1, 1));
        assert_eq!(census.time_wait.count, 3, "every TIME_WAIT is tallied");
        assert_eq!(census.counts.total(), 5);
        // A new round keeps what the census was given, and forgets what it counted.
        assert!(census.reset());
        assert!(census.listening.contains(&80));
        assert_eq!(census.ephemeral, Some((40000, 40099)));
        assert!(census.routes.is_empty());
        assert_eq!(census.time_wait.count, 0);
    }
}
