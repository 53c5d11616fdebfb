//! The catalogue of `doctor`'s checks: [`CHECKS`], one [`CheckSpec`] per [`Check`], saying
//! what the check measures, what a percentage level is of, its default levels, the states it
//! reads, what a finding means, what to do, and the rule that judges it.
//!
//! Owns: everything about a check that is not its judgement. Adding a check is one entry
//! here (with a variant of [`Check`] to name it) and its rule file under `rules/`; the
//! compiler then points at the one other place that must learn it, the headline `match` in
//! `render::doctor`. The order of [`CHECKS`] is the order `doctor` reports checks in (after
//! severity), and `--threshold` accepts every key of the table. Must not judge (the rules
//! do) nor format findings (`render::doctor`).

use super::levels::Level::{Count, Percent};
use super::levels::Levels;
use super::rules::{
    accept_queue, close_wait, closing, ephemeral_ports, orphans, recv_queue, retransmits, rtt,
    stalled, syn_recv, syn_sent, tcp_memory, time_wait, unanswered, zero_window,
};
use super::{Finding, Inputs};
use crate::model::{StateSet, TcpState};

/// The checks `doctor` runs, by name. Declared in the order of [`CHECKS`] (a compile-time
/// assertion below keeps them in step), so a check is also its index in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    CloseWait,
    AcceptQueue,
    SynRecv,
    TimeWait,
    EphemeralPorts,
    SynSent,
    FinWait1,
    FinWait2,
    Closing,
    LastAck,
    Orphans,
    TcpMemory,
    Retransmits,
    Unanswered,
    ZeroWindow,
    Stalled,
    RecvQueue,
    RttOutlier,
}

/// A rule: the findings of one check (given as the second argument, so one rule can serve
/// several checks, as the closing states share one).
pub type Rule = fn(&Inputs<'_>, Check) -> Vec<Finding>;

/// Everything about one check but its judgement.
pub struct CheckSpec {
    pub check: Check,
    /// The `--threshold` key.
    pub key: &'static str,
    /// The JSON name.
    pub id: &'static str,
    /// What the threshold counts.
    pub measures: &'static str,
    /// What a percentage level is a percentage of; `None`: counts only.
    pub limit_name: Option<&'static str>,
    /// The documented defaults (docs/GUIDE.md, `doctor --help`).
    pub default_levels: Levels,
    /// The states whose sockets the check reads; when none of them was counted (`--state`)
    /// the check is not run. Empty: the check reads listeners or kernel totals only.
    pub needs: StateSet,
    /// Whether the check reads the connections' `tcp_info` ([`Inputs::health`]): without it
    /// (the /proc source) the check is not judged, never "ok".
    pub needs_tcp_info: bool,
    /// What the state or condition means.
    pub meaning: &'static str,
    /// What to do about it.
    pub action: &'static str,
    pub rule: Rule,
}

/// Every check, in the order `doctor` reports them (after severity).
pub static CHECKS: [CheckSpec; 18] = [
    CheckSpec {
        check: Check::CloseWait,
        key: "CLOSE_WAIT",
        id: "close_wait",
        measures: "CLOSE_WAIT sockets held by one process",
        limit_name: None,
        default_levels: Levels::default_of(Count(10), Count(100)),
        needs: StateSet::of(TcpState::CloseWait),
        needs_tcp_info: false,
        meaning: "the peer closed its side and the kernel acknowledged it, but the process \
                  never called close() on these sockets: a bug (or a stall) in that \
                  application, not in the network. They stay until the process closes them or \
                  exits, holding a file descriptor and memory each.",
        action: "fix the application to close() sockets once it reads end-of-file (also on \
                 error paths and in connection pools); restarting the process frees them for \
                 now. Kernel settings cannot help: the kernel is waiting for the application.",
        rule: close_wait::examine,
    },
    CheckSpec {
        check: Check::AcceptQueue,
        key: "ACCEPT_QUEUE",
        id: "accept_queue",
        measures: "connections waiting in one listener's accept queue",
        limit_name: Some("the listener's backlog"),
        default_levels: Levels::default_of(Percent(80), Percent(100)),
        needs: StateSet::EMPTY,
        needs_tcp_info: false,
        meaning: "connections have completed the handshake and wait for the process to \
                  accept() them. A queue at its backlog means the process accepts too slowly \
                  (overloaded, blocked, or not accepting at all); once it is over the backlog \
                  the kernel drops new SYNs and handshake ACKs (ListenOverflows / ListenDrops), \
                  so clients see timeouts and retries.",
        action: "find out why the process is not accepting (stuck threads, too few workers, \
                 CPU saturation; `tcpstat procs --port P`), add capacity, and raise its \
                 listen() backlog together with net.core.somaxconn if bursts are legitimate.",
        rule: accept_queue::examine,
    },
    CheckSpec {
        check: Check::SynRecv,
        key: "SYN_RECV",
        id: "syn_recv",
        measures: "half-open connections (SYN_RECV) on one listening port",
        limit_name: Some("the listeners' backlog"),
        default_levels: Levels::default_of(Count(100), Percent(100)),
        needs: StateSet::of(TcpState::SynRecv),
        needs_tcp_info: false,
        meaning: "the kernel answered a SYN and waits for the handshake's final ACK. Many of \
                  them on one port mean a SYN flood (many source addresses, often spoofed), a \
                  path that loses the clients' ACKs, or clients that vanish mid-handshake. \
                  When the SYN queue is full, new SYNs get SYN cookies (tcp_syncookies) or are \
                  dropped.",
        action: "if the sources are many and unknown, it is a SYN flood: keep \
                 net.ipv4.tcp_syncookies=1 and filter upstream. If they are few and known, \
                 look for a path dropping packets between them and this host; raise the \
                 listen() backlog and net.ipv4.tcp_max_syn_backlog for legitimate bursts.",
        rule: syn_recv::examine,
    },
    CheckSpec {
        check: Check::TimeWait,
        key: "TIME_WAIT",
        id: "time_wait",
        measures: "time-wait entries (TIME_WAIT + orphaned FIN_WAIT_2) in the network namespace",
        limit_name: Some("net.ipv4.tcp_max_tw_buckets"),
        default_levels: Levels::default_of(Percent(50), Percent(90)),
        needs: StateSet::of(TcpState::TimeWait),
        needs_tcp_info: false,
        meaning: "TIME_WAIT by itself is normal: the side that closes first keeps the \
                  connection for 60 s so late packets cannot corrupt a new one. It only \
                  matters near net.ipv4.tcp_max_tw_buckets, beyond which connections close \
                  without TIME_WAIT (TCPTimeWaitOverflow), or when it ties up the ports of \
                  outgoing connections (see ephemeral ports).",
        action: "usually nothing. Near the limit: reuse connections (HTTP keep-alive, \
                 connection pools) instead of opening one per request, let the clients close \
                 first, or raise net.ipv4.tcp_max_tw_buckets. Do not shorten TIME_WAIT.",
        rule: time_wait::examine,
    },
    CheckSpec {
        check: Check::EphemeralPorts,
        key: "EPHEMERAL_PORTS",
        id: "ephemeral_ports",
        measures: "local ports in use from one local address to one remote address:port \
                   (TIME_WAIT not counted where tcp_tw_reuse lets new connections reuse it)",
        limit_name: Some("the size of net.ipv4.ip_local_port_range"),
        default_levels: Levels::default_of(Percent(50), Percent(90)),
        needs: StateSet::of(TcpState::TimeWait),
        needs_tcp_info: false,
        meaning: "each outgoing connection from one local address to one remote address and \
                  port needs its own local port from net.ipv4.ip_local_port_range. TIME_WAIT \
                  sockets keep theirs for 60 s, unless net.ipv4.tcp_tw_reuse lets a new \
                  connection take one over (1: always; 2, the default: when either address is \
                  loopback; in both cases once it is a second old, and only if the connection \
                  used TCP timestamps, which most peers do): then only the other states are \
                  counted. When the ports run out, connect() fails with EADDRNOTAVAIL: this, \
                  not the TIME_WAIT total, is the real limit for a client that opens many \
                  short connections to one backend.",
        action: "reuse connections (keep-alive, pools), spread connections over more local or \
                 remote addresses or ports, widen net.ipv4.ip_local_port_range, and for \
                 outgoing connections consider net.ipv4.tcp_tw_reuse=1.",
        rule: ephemeral_ports::examine,
    },
    CheckSpec {
        check: Check::SynSent,
        key: "SYN_SENT",
        id: "syn_sent",
        measures: "unanswered connection attempts (SYN_SENT) to one address:port",
        limit_name: None,
        default_levels: Levels::default_of(Count(10), Count(100)),
        needs: StateSet::of(TcpState::SynSent),
        needs_tcp_info: false,
        meaning: "connect() sent a SYN and got no answer yet: the destination is down, \
                  unreachable or filtered (a firewall dropping SYNs), or its accept queue is \
                  full so its kernel drops them. Each attempt retries for about two minutes \
                  (tcp_syn_retries) before failing with ETIMEDOUT.",
        action: "check that the destination is up and listening, and what filters the path \
                 (firewalls, security groups, routes); `tcpstat ports --port P` on the \
                 destination shows whether its accept queue is full. Clients should use \
                 connect timeouts and back off.",
        rule: syn_sent::examine,
    },
    CheckSpec {
        check: Check::FinWait1,
        key: "FIN_WAIT_1",
        id: "fin_wait_1",
        measures: "FIN_WAIT_1 sockets",
        limit_name: None,
        default_levels: Levels::default_of(Count(100), Count(1000)),
        needs: StateSet::of(TcpState::FinWait1),
        needs_tcp_info: false,
        meaning: "this side sent its FIN and the peer has not acknowledged it: the peer is \
                  gone or unreachable, packets are lost, or the FIN waits behind data a peer \
                  with a zero window does not read. Orphaned ones are retried \
                  tcp_orphan_retries times, then dropped.",
        action: "look at the remote addresses: one peer or network points at a path problem \
                 or a client that stopped reading; lower net.ipv4.tcp_orphan_retries to drop \
                 dead orphans sooner.",
        rule: closing::examine,
    },
    CheckSpec {
        check: Check::FinWait2,
        key: "FIN_WAIT_2",
        id: "fin_wait_2",
        measures: "FIN_WAIT_2 sockets",
        limit_name: None,
        default_levels: Levels::default_of(Count(1000), Count(10000)),
        needs: StateSet::of(TcpState::FinWait2),
        needs_tcp_info: false,
        meaning: "this side closed, the peer acknowledged, and the peer has not closed its own \
                  side: usually the peer application holds the connection in CLOSE_WAIT (its \
                  bug). Orphaned ones expire after tcp_fin_timeout; sockets still held by a \
                  process (shutdown() without close()) wait as long as the peer does.",
        action: "look at the remote side's CLOSE_WAIT (tcpstat doctor on the peer): the fix \
                 is usually there. net.ipv4.tcp_fin_timeout bounds orphaned ones.",
        rule: closing::examine,
    },
    CheckSpec {
        check: Check::Closing,
        key: "CLOSING",
        id: "closing",
        measures: "CLOSING sockets",
        limit_name: None,
        default_levels: Levels::default_of(Count(100), Count(1000)),
        needs: StateSet::of(TcpState::Closing),
        needs_tcp_info: false,
        meaning: "both sides sent FINs at the same time and this side's FIN is not \
                  acknowledged: packets are being lost, or the peer vanished. Rare; many of \
                  them point at the network.",
        action: "look for packet loss toward the remote addresses shown (interface errors, \
                 congestion, a middlebox dropping FINs).",
        rule: closing::examine,
    },
    CheckSpec {
        check: Check::LastAck,
        key: "LAST_ACK",
        id: "last_ack",
        measures: "LAST_ACK sockets",
        limit_name: None,
        default_levels: Levels::default_of(Count(100), Count(1000)),
        needs: StateSet::of(TcpState::LastAck),
        needs_tcp_info: false,
        meaning: "the peer closed first, this side then closed, and its FIN is not \
                  acknowledged: the peer is gone or unreachable, or packets are lost. They \
                  are retried and then dropped.",
        action: "look at the remote addresses shown: a peer that vanishes, or packet loss on \
                 the way to it.",
        rule: closing::examine,
    },
    CheckSpec {
        check: Check::Orphans,
        key: "ORPHANS",
        id: "orphans",
        measures: "orphaned sockets (host-wide)",
        limit_name: Some("net.ipv4.tcp_max_orphans"),
        default_levels: Levels::default_of(Percent(50), Percent(90)),
        needs: StateSet::EMPTY,
        needs_tcp_info: false,
        meaning: "orphans are sockets their process already closed that the kernel is still \
                  shutting down (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK). Beyond \
                  net.ipv4.tcp_max_orphans the kernel resets them at once (\"too many \
                  orphaned sockets\", TCPAbortOnMemory), and each costs up to 64 KiB of \
                  unswappable memory.",
        action: "find which state holds the orphans (FIN_WAIT_1 and LAST_ACK: unreachable \
                 peers; FIN_WAIT_2: peers not closing) and fix that; raise \
                 net.ipv4.tcp_max_orphans only if memory allows.",
        rule: orphans::examine,
    },
    CheckSpec {
        check: Check::TcpMemory,
        key: "TCP_MEMORY",
        id: "tcp_memory",
        measures: "pages of memory TCP socket buffers use (host-wide)",
        limit_name: Some("the net.ipv4.tcp_mem pressure threshold"),
        default_levels: Levels::default_of(Percent(80), Percent(100)),
        needs: StateSet::EMPTY,
        needs_tcp_info: false,
        meaning: "the kernel bounds the memory of all TCP socket buffers on the host with \
                  net.ipv4.tcp_mem (min, pressure, max, in pages). Above the pressure value \
                  it is in memory-pressure mode: it shrinks buffers and throughput drops \
                  (TCPMemoryPressures). At max it refuses buffer memory: packets are dropped \
                  and connections reset (\"TCP: out of memory -- consider tuning tcp_mem\", \
                  TCPAbortOnMemory). Many sockets with unread data (a slow reader, a full \
                  receive queue) or many orphans fill it.",
        action: "find the sockets holding memory (`tcpstat list --sort queue`: large Recv-Q \
                 means a process that does not read, large Send-Q a peer that does not), and \
                 orphans; raise net.ipv4.tcp_mem only if the host has the memory to spare.",
        rule: tcp_memory::examine,
    },
    CheckSpec {
        check: Check::Retransmits,
        key: "RETRANSMITS",
        id: "retransmits",
        measures: "segments retransmitted to one peer (over its connections' lives, peers with \
                   at least 100 segments sent)",
        limit_name: Some("the segments sent to the peer"),
        default_levels: Levels::default_of(Percent(2), Percent(10)),
        needs: CONNECTED,
        needs_tcp_info: true,
        meaning: "the kernel had to send these segments again: the first copy or its \
                  acknowledgement was lost (congestion, a faulty link or middlebox, a peer \
                  dropping packets) or came too late. A few tenths of a percent is normal on \
                  the internet; percents toward one peer, while other peers are clean, point at \
                  the path to that peer or the peer itself. Every retransmission costs at least \
                  a round trip, often a timeout (200 ms or more).",
        action: "compare with other peers on the same path (tcpstat health --by peer); look for \
                 interface errors and drops on both ends (ip -s link, ethtool -S), a congested \
                 or flapping link, MTU problems (retransmissions of full-size segments only), or \
                 a peer under memory or CPU pressure.",
        rule: retransmits::examine,
    },
    CheckSpec {
        check: Check::Unanswered,
        key: "UNANSWERED",
        id: "unanswered",
        measures: "SYN_SENT, FIN_WAIT_1, CLOSING and LAST_ACK sockets toward one peer whose \
                   retransmission timer fired without an answer",
        limit_name: None,
        default_levels: Levels::default_of(Count(5), Count(50)),
        needs: StateSet::of(TcpState::SynSent)
            .union(StateSet::of(TcpState::FinWait1))
            .union(StateSet::of(TcpState::Closing))
            .union(StateSet::of(TcpState::LastAck)),
        needs_tcp_info: true,
        meaning: "these sockets sent a SYN or a FIN, got no acknowledgement, and the kernel \
                  is retransmitting it with growing timeouts (tcpi_retransmits > 0): the peer \
                  is down or gone, a firewall drops the packets, or the path loses them. \
                  Connects fail after tcp_syn_retries (about two minutes), closing sockets are \
                  dropped after tcp_orphan_retries or tcp_retries2.",
        action: "check that the peer is up and reachable from here (ping, a traceroute to \
                 its port), and what filters the path; if the peer is gone for good, lower \
                 net.ipv4.tcp_orphan_retries so orphans are dropped sooner, and give clients \
                 connect timeouts.",
        rule: unanswered::examine,
    },
    CheckSpec {
        check: Check::ZeroWindow,
        key: "ZERO_WINDOW",
        id: "zero_window",
        measures: "connections to one peer that advertises a zero window while data waits to \
                   be sent",
        limit_name: None,
        default_levels: Levels::default_of(Count(5), Count(50)),
        needs: CONNECTED,
        needs_tcp_info: true,
        meaning: "the peer's receive buffer is full: its application does not read (stuck, \
                  overloaded, or waiting on something else) or reads slower than this side \
                  writes. This side keeps the data in its send queue and probes the window; \
                  the writing process blocks or buffers. Brief zero windows happen under \
                  load; many, or long ones, mean a stuck consumer.",
        action: "look at the peer application named by the address (its receive queues: \
                 tcpstat doctor on the peer, RECV_QUEUE); on this side, bound what a writer \
                 buffers and time out writes that make no progress (TCP_USER_TIMEOUT).",
        rule: zero_window::examine,
    },
    CheckSpec {
        check: Check::Stalled,
        key: "STALLED",
        id: "stalled",
        measures: "connections to one peer with data queued and nothing acknowledged for 5 s",
        limit_name: None,
        default_levels: Levels::default_of(Count(5), Count(50)),
        needs: CONNECTED,
        needs_tcp_info: true,
        meaning: "this side has data to deliver and the peer has acknowledged nothing for 5 \
                  seconds or more (tcpi_last_ack_recv): the peer vanished without closing \
                  (crashed, rebooted, its address moved), or every packet between the two is \
                  lost. The kernel retransmits with growing timeouts and gives up after \
                  net.ipv4.tcp_retries2 (about 15 minutes) unless the application set \
                  TCP_USER_TIMEOUT.",
        action: "check that the peer is alive and reachable; set TCP_USER_TIMEOUT (or \
                 application timeouts and keepalives) so dead connections fail in seconds, \
                 not after net.ipv4.tcp_retries2.",
        rule: stalled::examine,
    },
    CheckSpec {
        check: Check::RecvQueue,
        key: "RECV_QUEUE",
        id: "recv_queue",
        measures: "connections of one process whose receive queue is full (unread data, the \
                   advertised window closed)",
        limit_name: None,
        default_levels: Levels::default_of(Count(5), Count(50)),
        needs: CONNECTED,
        needs_tcp_info: true,
        meaning: "data arrived and the process has not read it, until the receive buffer \
                  filled and this side advertised a zero window (tcpi_rcv_wnd below one \
                  segment): the peer must stop sending. The application is stuck, overloaded, \
                  or not reading this connection; the buffered bytes count against tcp_mem.",
        action: "find out why the process does not read (stuck threads, a slow consumer \
                 downstream, an event loop blocked elsewhere; its stack with gdb or py-spy, \
                 /proc/PID/wchan); it is the application's problem, not the network's.",
        rule: recv_queue::examine,
    },
    CheckSpec {
        check: Check::RttOutlier,
        key: "RTT_OUTLIER",
        id: "rtt_outlier",
        measures: "a peer's median round-trip time (at least 3 peers measured, and at least \
                   10 ms above the host's median)",
        limit_name: Some("the host's median RTT (the median of every peer's median)"),
        default_levels: Levels::default_of(Percent(500), Percent(1000)),
        needs: CONNECTED,
        needs_tcp_info: true,
        meaning: "the kernel's smoothed RTT (tcpi_rtt) to this peer is far above what this \
                  host sees to its typical peer: the peer is far away, its path is congested \
                  (queues building up: bufferbloat), or it answers slowly (a loaded host \
                  delays its acknowledgements). Every request to it waits that much longer.",
        action: "if the peer should be near (same data centre), look for congestion or a \
                 detour on the path (traceroute, interface queues) or a loaded peer; if it is \
                 far by design, nothing to do: raise the levels with --threshold RTT_OUTLIER=.",
        rule: rtt::examine,
    },
];

/// The states of connections that carry data: the `tcp_info` checks read them.
const CONNECTED: StateSet = StateSet::of(TcpState::Established)
    .union(StateSet::of(TcpState::SynSent))
    .union(StateSet::of(TcpState::FinWait1))
    .union(StateSet::of(TcpState::FinWait2))
    .union(StateSet::of(TcpState::CloseWait))
    .union(StateSet::of(TcpState::Closing))
    .union(StateSet::of(TcpState::LastAck));

// `Check::spec` indexes the table by the enum's discriminant: a table out of step with the
// enum is a build error, not a wrong finding.
const _: () = {
    let mut i = 0;
    while i < CHECKS.len() {
        assert!(
            CHECKS[i].check as usize == i,
            "CHECKS lists the checks in the order Check declares them"
        );
        i += 1;
    }
};

impl Check {
    /// Every check, in the order of [`CHECKS`].
    pub const ALL: [Check; CHECKS.len()] = {
        let mut all = [Check::CloseWait; CHECKS.len()];
        let mut i = 0;
        while i < CHECKS.len() {
            all[i] = CHECKS[i].check;
            i += 1;
        }
        all
    };

    /// The check's entry in [`CHECKS`].
    pub const fn spec(self) -> &'static CheckSpec {
        &CHECKS[self.index()]
    }

    /// The check's position in [`CHECKS`] and [`Check::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The `--threshold` key.
    pub const fn key(self) -> &'static str {
        self.spec().key
    }

    /// The JSON name.
    pub const fn id(self) -> &'static str {
        self.spec().id
    }

    /// What the threshold counts.
    pub const fn measures(self) -> &'static str {
        self.spec().measures
    }

    /// What a percentage level is a percentage of; `None`: counts only.
    pub const fn limit_name(self) -> Option<&'static str> {
        self.spec().limit_name
    }

    /// The documented defaults (docs/GUIDE.md, `doctor --help`).
    pub const fn default_levels(self) -> Levels {
        self.spec().default_levels
    }

    /// The states whose sockets the check reads (see [`CheckSpec::needs`]).
    pub const fn needs(self) -> StateSet {
        self.spec().needs
    }

    /// What the state or condition means.
    pub const fn meaning(self) -> &'static str {
        self.spec().meaning
    }

    /// What to do about it (a finding may adapt it: [`Finding::action`]).
    pub const fn action(self) -> &'static str {
        self.spec().action
    }

    /// Parses a `--threshold` key: the keys of [`CHECKS`], case-insensitive, `-` or `_`
    /// between words, a few short forms, and every spelling of the state names
    /// (`close-wait`, `fin-wait1`, `syn-rcvd`, ...).
    pub fn parse_key(name: &str) -> Option<Check> {
        let squash = |text: &str| -> String {
            text.chars()
                .filter(|c| *c != '-' && *c != '_')
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let squashed = squash(name);
        if let Some(spec) = CHECKS.iter().find(|s| squash(s.key) == squashed) {
            return Some(spec.check);
        }
        match squashed.as_str() {
            "orphan" => return Some(Check::Orphans),
            "tcpmem" | "memory" => return Some(Check::TcpMemory),
            "rtt" => return Some(Check::RttOutlier),
            _ => {}
        }
        match TcpState::parse(name)? {
            TcpState::CloseWait => Some(Check::CloseWait),
            TcpState::SynRecv => Some(Check::SynRecv),
            TcpState::TimeWait => Some(Check::TimeWait),
            TcpState::SynSent => Some(Check::SynSent),
            TcpState::FinWait1 => Some(Check::FinWait1),
            TcpState::FinWait2 => Some(Check::FinWait2),
            TcpState::Closing => Some(Check::Closing),
            TcpState::LastAck => Some(Check::LastAck),
            TcpState::Listen | TcpState::Established | TcpState::Closed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_key_names_its_check() {
        for check in Check::ALL {
            assert_eq!(Check::parse_key(check.key()), Some(check));
            assert_eq!(
                Check::parse_key(&check.key().to_ascii_lowercase().replace('_', "-")),
                Some(check)
            );
        }
        for (name, check) in [
            ("orphan", Check::Orphans),
            ("memory", Check::TcpMemory),
            ("syn-rcvd", Check::SynRecv),
            ("timewait", Check::TimeWait),
            ("rtt", Check::RttOutlier),
        ] {
            assert_eq!(Check::parse_key(name), Some(check), "{name}");
        }
        for name in ["established", "listen", "closed", "queue", ""] {
            assert_eq!(Check::parse_key(name), None, "{name}");
        }
    }
}
