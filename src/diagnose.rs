//! `tcpstat doctor`: from sockets, their owners and the kernel's settings and counters to
//! findings: what is wrong, who is causing it, what it means and what to do.
//!
//! Owns: the checks ([`Check`]), their thresholds (keys, documented defaults, `--threshold`
//! overrides), [`Census`] (a [`Sink`] that keeps only what the checks need, so a host with a
//! million ESTABLISHED sockets costs a few counters) and [`Finding`]s. Pure: it must not read
//! the kernel (`lib.rs` gathers sockets, owners and [`KernelFacts`]) nor format text
//! (`render::doctor` writes sentences from the structured findings).
//!
//! Kernel behaviour the checks rely on (Linux 6.x):
//! - A listener's accept queue is full when `sk_ack_backlog > sk_max_ack_backlog`
//!   (`sk_acceptq_is_full`, `include/net/sock.h`): it holds backlog + 1 connections, then new
//!   SYNs are dropped (`tcp_conn_request`: `ListenOverflows`, `ListenDrops`). sock_diag reports
//!   the queue length as `idiag_rqueue` and the backlog as `idiag_wqueue` (`inet_diag_msg_
//!   common_fill` / `tcp_diag_get_info`); /proc reports the queue but not the backlog.
//! - The SYN queue of a listener is full at its backlog (`inet_csk_reqsk_queue_is_full`); then
//!   SYNs get cookies if `tcp_syncookies` allows, else are dropped (`TCPReqQFullDrop`). With
//!   syncookies off, unverified SYNs are also dropped once the queue reaches three quarters of
//!   `tcp_max_syn_backlog`.
//! - TIME_WAIT sockets beyond `tcp_max_tw_buckets` are not created (`inet_twsk_alloc`,
//!   `TCPTimeWaitOverflow`): the connection closes at once, without protection against old
//!   duplicates.
//! - An outgoing connection needs a local port from `ip_local_port_range` that is not in use
//!   toward the same remote address and port from the same local address
//!   (`__inet_hash_connect`); TIME_WAIT sockets hold theirs until they expire (60 s,
//!   `TCP_TIMEWAIT_LEN`) unless `tcp_tw_reuse` lets a new connection take them over.
//! - Orphans (closed by their process, still finishing the close: FIN_WAIT_1, FIN_WAIT_2,
//!   CLOSING, LAST_ACK with no file) beyond `tcp_max_orphans` are reset
//!   (`tcp_too_many_orphans`, `TCPAbortOnMemory`); orphaned FIN_WAIT_2 sockets live
//!   `tcp_fin_timeout` seconds.
//! - Memory for socket buffers is host-wide and bounded by `tcp_mem` (pages): above its
//!   `pressure` value the kernel shrinks buffers (`tcp_enter_memory_pressure`,
//!   `TCPMemoryPressures`), at `max` it refuses them and drops or resets
//!   (`TCPAbortOnMemory`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use crate::aggregate::{service_group_in, Direction, DEFAULT_EPHEMERAL_PORTS};
use crate::model::kernel::{KernelFacts, Sysctls};
use crate::model::OwnerMap;
use crate::model::Sink;
use crate::model::StateCounts;
use crate::model::{KernelState, SocketRecord, StateSet, TcpState};

/// How bad a finding is. Ordered: the worst finding decides `doctor`'s exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Checked, nothing wrong.
    Ok,
    /// Worth knowing, not a problem by itself (or not judged: a limit was unreadable).
    Info,
    /// Over a warning threshold.
    Warning,
    /// Over a critical threshold.
    Critical,
}

impl Severity {
    /// The JSON name: `ok`, `info`, `warning`, `critical`.
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// The table label: `OK`, `INFO`, `WARNING`, `CRITICAL`.
    pub const fn label(self) -> &'static str {
        match self {
            Severity::Ok => "OK",
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// The checks `doctor` runs, in the order it reports them (after severity).
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
}

impl Check {
    pub const ALL: [Check; 12] = [
        Check::CloseWait,
        Check::AcceptQueue,
        Check::SynRecv,
        Check::TimeWait,
        Check::EphemeralPorts,
        Check::SynSent,
        Check::FinWait1,
        Check::FinWait2,
        Check::Closing,
        Check::LastAck,
        Check::Orphans,
        Check::TcpMemory,
    ];

    /// The `--threshold` key.
    pub const fn key(self) -> &'static str {
        match self {
            Check::CloseWait => "CLOSE_WAIT",
            Check::AcceptQueue => "ACCEPT_QUEUE",
            Check::SynRecv => "SYN_RECV",
            Check::TimeWait => "TIME_WAIT",
            Check::EphemeralPorts => "EPHEMERAL_PORTS",
            Check::SynSent => "SYN_SENT",
            Check::FinWait1 => "FIN_WAIT_1",
            Check::FinWait2 => "FIN_WAIT_2",
            Check::Closing => "CLOSING",
            Check::LastAck => "LAST_ACK",
            Check::Orphans => "ORPHANS",
            Check::TcpMemory => "TCP_MEMORY",
        }
    }

    /// The JSON name.
    pub const fn id(self) -> &'static str {
        match self {
            Check::CloseWait => "close_wait",
            Check::AcceptQueue => "accept_queue",
            Check::SynRecv => "syn_recv",
            Check::TimeWait => "time_wait",
            Check::EphemeralPorts => "ephemeral_ports",
            Check::SynSent => "syn_sent",
            Check::FinWait1 => "fin_wait_1",
            Check::FinWait2 => "fin_wait_2",
            Check::Closing => "closing",
            Check::LastAck => "last_ack",
            Check::Orphans => "orphans",
            Check::TcpMemory => "tcp_memory",
        }
    }

    /// What the threshold counts.
    pub const fn measures(self) -> &'static str {
        match self {
            Check::CloseWait => "CLOSE_WAIT sockets held by one process",
            Check::AcceptQueue => "connections waiting in one listener's accept queue",
            Check::SynRecv => "half-open connections (SYN_RECV) on one listening port",
            Check::TimeWait => {
                "time-wait entries (TIME_WAIT + orphaned FIN_WAIT_2) in the network namespace"
            }
            Check::EphemeralPorts => {
                "local ports in use from one local address to one remote address:port \
                 (TIME_WAIT not counted where tcp_tw_reuse lets new connections reuse it)"
            }
            Check::SynSent => "unanswered connection attempts (SYN_SENT) to one address:port",
            Check::FinWait1 => "FIN_WAIT_1 sockets",
            Check::FinWait2 => "FIN_WAIT_2 sockets",
            Check::Closing => "CLOSING sockets",
            Check::LastAck => "LAST_ACK sockets",
            Check::Orphans => "orphaned sockets (host-wide)",
            Check::TcpMemory => "pages of memory TCP socket buffers use (host-wide)",
        }
    }

    /// What a percentage level is a percentage of; `None`: counts only.
    pub const fn limit_name(self) -> Option<&'static str> {
        match self {
            Check::AcceptQueue => Some("the listener's backlog"),
            Check::SynRecv => Some("the listeners' backlog"),
            Check::TimeWait => Some("net.ipv4.tcp_max_tw_buckets"),
            Check::EphemeralPorts => Some("the size of net.ipv4.ip_local_port_range"),
            Check::Orphans => Some("net.ipv4.tcp_max_orphans"),
            Check::TcpMemory => Some("the net.ipv4.tcp_mem pressure threshold"),
            _ => None,
        }
    }

    /// The documented defaults (README, `doctor --help`).
    pub const fn default_levels(self) -> Levels {
        use Level::{Count, Percent};
        let (warning, critical) = match self {
            Check::CloseWait => (Count(10), Count(100)),
            Check::AcceptQueue => (Percent(80), Percent(100)),
            Check::SynRecv => (Count(100), Percent(100)),
            Check::TimeWait => (Percent(50), Percent(90)),
            Check::EphemeralPorts => (Percent(50), Percent(90)),
            Check::SynSent => (Count(10), Count(100)),
            Check::FinWait1 => (Count(100), Count(1000)),
            Check::FinWait2 => (Count(1000), Count(10000)),
            Check::Closing => (Count(100), Count(1000)),
            Check::LastAck => (Count(100), Count(1000)),
            Check::Orphans => (Percent(50), Percent(90)),
            Check::TcpMemory => (Percent(80), Percent(100)),
        };
        Levels {
            warning,
            critical,
            critical_follows: false,
        }
    }

    /// The states whose sockets the check reads; when none of them was counted (`--state`)
    /// the check is not run. Empty: the check reads listeners or kernel totals only.
    pub fn needs(self) -> StateSet {
        match self {
            Check::CloseWait => StateSet::of(TcpState::CloseWait),
            Check::SynRecv => StateSet::of(TcpState::SynRecv),
            Check::TimeWait | Check::EphemeralPorts => StateSet::of(TcpState::TimeWait),
            Check::SynSent => StateSet::of(TcpState::SynSent),
            Check::FinWait1 => StateSet::of(TcpState::FinWait1),
            Check::FinWait2 => StateSet::of(TcpState::FinWait2),
            Check::Closing => StateSet::of(TcpState::Closing),
            Check::LastAck => StateSet::of(TcpState::LastAck),
            Check::AcceptQueue | Check::Orphans | Check::TcpMemory => StateSet::EMPTY,
        }
    }

    /// What the state or condition means.
    pub const fn meaning(self) -> &'static str {
        match self {
            Check::CloseWait => {
                "the peer closed its side and the kernel acknowledged it, but the process never \
                 called close() on these sockets: a bug (or a stall) in that application, not in \
                 the network. They stay until the process closes them or exits, holding a file \
                 descriptor and memory each."
            }
            Check::AcceptQueue => {
                "connections have completed the handshake and wait for the process to accept() \
                 them. A queue at its backlog means the process accepts too slowly (overloaded, \
                 blocked, or not accepting at all); once it is over the backlog the kernel drops \
                 new SYNs and handshake ACKs (ListenOverflows / ListenDrops), so clients see \
                 timeouts and retries."
            }
            Check::SynRecv => {
                "the kernel answered a SYN and waits for the handshake's final ACK. Many of them \
                 on one port mean a SYN flood (many source addresses, often spoofed), a path \
                 that loses the clients' ACKs, or clients that vanish mid-handshake. When the \
                 SYN queue is full, new SYNs get SYN cookies (tcp_syncookies) or are dropped."
            }
            Check::TimeWait => {
                "TIME_WAIT by itself is normal: the side that closes first keeps the connection \
                 for 60 s so late packets cannot corrupt a new one. It only matters near \
                 net.ipv4.tcp_max_tw_buckets, beyond which connections close without TIME_WAIT \
                 (TCPTimeWaitOverflow), or when it ties up the ports of outgoing connections \
                 (see ephemeral ports)."
            }
            Check::EphemeralPorts => {
                "each outgoing connection from one local address to one remote address and port \
                 needs its own local port from net.ipv4.ip_local_port_range. TIME_WAIT sockets \
                 keep theirs for 60 s, unless net.ipv4.tcp_tw_reuse lets a new connection take \
                 one over (1: always; 2, the default: when either address is loopback; in both \
                 cases once it is a second old, and only if the connection used TCP \
                 timestamps, which most peers do): then only the other states are counted. \
                 When the ports run out, connect() fails with EADDRNOTAVAIL: this, not the \
                 TIME_WAIT total, is the real limit for a client that opens many short \
                 connections to one backend."
            }
            Check::SynSent => {
                "connect() sent a SYN and got no answer yet: the destination is down, \
                 unreachable or filtered (a firewall dropping SYNs), or its accept queue is full \
                 so its kernel drops them. Each attempt retries for about two minutes \
                 (tcp_syn_retries) before failing with ETIMEDOUT."
            }
            Check::FinWait1 => {
                "this side sent its FIN and the peer has not acknowledged it: the peer is gone \
                 or unreachable, packets are lost, or the FIN waits behind data a peer with a \
                 zero window does not read. Orphaned ones are retried tcp_orphan_retries times, \
                 then dropped."
            }
            Check::FinWait2 => {
                "this side closed, the peer acknowledged, and the peer has not closed its own \
                 side: usually the peer application holds the connection in CLOSE_WAIT (its \
                 bug). Orphaned ones expire after tcp_fin_timeout; sockets still held by a \
                 process (shutdown() without close()) wait as long as the peer does."
            }
            Check::Closing => {
                "both sides sent FINs at the same time and this side's FIN is not acknowledged: \
                 packets are being lost, or the peer vanished. Rare; many of them point at the \
                 network."
            }
            Check::LastAck => {
                "the peer closed first, this side then closed, and its FIN is not acknowledged: \
                 the peer is gone or unreachable, or packets are lost. They are retried and then \
                 dropped."
            }
            Check::Orphans => {
                "orphans are sockets their process already closed that the kernel is still \
                 shutting down (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK). Beyond \
                 net.ipv4.tcp_max_orphans the kernel resets them at once (\"too many orphaned \
                 sockets\", TCPAbortOnMemory), and each costs up to 64 KiB of unswappable \
                 memory."
            }
            Check::TcpMemory => {
                "the kernel bounds the memory of all TCP socket buffers on the host with \
                 net.ipv4.tcp_mem (min, pressure, max, in pages). Above the pressure value it \
                 is in memory-pressure mode: it shrinks buffers and throughput drops \
                 (TCPMemoryPressures). At max it refuses buffer memory: packets are dropped \
                 and connections reset (\"TCP: out of memory -- consider tuning tcp_mem\", \
                 TCPAbortOnMemory). Many sockets with unread data (a slow reader, a full \
                 receive queue) or many orphans fill it."
            }
        }
    }

    /// What to do about it.
    pub const fn action(self) -> &'static str {
        match self {
            Check::CloseWait => {
                "fix the application to close() sockets once it reads end-of-file (also on \
                 error paths and in connection pools); restarting the process frees them for \
                 now. Kernel settings cannot help: the kernel is waiting for the application."
            }
            Check::AcceptQueue => {
                "find out why the process is not accepting (stuck threads, too few workers, CPU \
                 saturation; `tcpstat procs --port P`), add capacity, and raise its listen() \
                 backlog together with net.core.somaxconn if bursts are legitimate."
            }
            Check::SynRecv => {
                "if the sources are many and unknown, it is a SYN flood: keep \
                 net.ipv4.tcp_syncookies=1 and filter upstream. If they are few and known, look \
                 for a path dropping packets between them and this host; raise the listen() \
                 backlog and net.ipv4.tcp_max_syn_backlog for legitimate bursts."
            }
            Check::TimeWait => {
                "usually nothing. Near the limit: reuse connections (HTTP keep-alive, connection \
                 pools) instead of opening one per request, let the clients close first, or \
                 raise net.ipv4.tcp_max_tw_buckets. Do not shorten TIME_WAIT."
            }
            Check::EphemeralPorts => {
                "reuse connections (keep-alive, pools), spread connections over more local or \
                 remote addresses or ports, widen net.ipv4.ip_local_port_range, and for \
                 outgoing connections consider net.ipv4.tcp_tw_reuse=1."
            }
            Check::SynSent => {
                "check that the destination is up and listening, and what filters the path \
                 (firewalls, security groups, routes); `tcpstat ports --port P` on the \
                 destination shows whether its accept queue is full. Clients should use connect \
                 timeouts and back off."
            }
            Check::FinWait1 => {
                "look at the remote addresses: one peer or network points at a path problem or \
                 a client that stopped reading; lower net.ipv4.tcp_orphan_retries to drop dead \
                 orphans sooner."
            }
            Check::FinWait2 => {
                "look at the remote side's CLOSE_WAIT (tcpstat doctor on the peer): the fix is \
                 usually there. net.ipv4.tcp_fin_timeout bounds orphaned ones."
            }
            Check::Closing => {
                "look for packet loss toward the remote addresses shown (interface errors, \
                 congestion, a middlebox dropping FINs)."
            }
            Check::LastAck => {
                "look at the remote addresses shown: a peer that vanishes, or packet loss on \
                 the way to it."
            }
            Check::Orphans => {
                "find which state holds the orphans (FIN_WAIT_1 and LAST_ACK: unreachable \
                 peers; FIN_WAIT_2: peers not closing) and fix that; raise \
                 net.ipv4.tcp_max_orphans only if memory allows."
            }
            Check::TcpMemory => {
                "find the sockets holding memory (`tcpstat list --sort queue`: large Recv-Q \
                 means a process that does not read, large Send-Q a peer that does not), and \
                 orphans; raise net.ipv4.tcp_mem only if the host has the memory to spare."
            }
        }
    }

    /// Parses a `--threshold` key: the names above, case-insensitive, `-` or `_` between
    /// words, and every spelling of the state names (`close-wait`, `fin-wait1`, ...).
    pub fn parse_key(name: &str) -> Option<Check> {
        let squashed: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match squashed.as_str() {
            "acceptqueue" => return Some(Check::AcceptQueue),
            "ephemeralports" => return Some(Check::EphemeralPorts),
            "orphans" | "orphan" => return Some(Check::Orphans),
            "tcpmemory" | "tcpmem" | "memory" => return Some(Check::TcpMemory),
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

/// One threshold level: a number of sockets, or a percentage of the check's kernel limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Count(u64),
    /// Percent of [`Check::limit_name`].
    Percent(u32),
}

impl Level {
    /// The level as a number of sockets: `None` when it is a percentage of an unknown limit.
    /// A percentage rounds up and is at least 1, so 100% of a backlog of 0 is 1.
    pub fn resolve(self, limit: Option<u64>) -> Option<u64> {
        match self {
            Level::Count(n) => Some(n),
            Level::Percent(p) => {
                let limit = limit?;
                Some((limit.saturating_mul(u64::from(p)).saturating_add(99) / 100).max(1))
            }
        }
    }

    fn parse(text: &str, check: Check) -> Result<Level, String> {
        let text = text.trim();
        if let Some(p) = text.strip_suffix('%') {
            if check.limit_name().is_none() {
                return Err(format!(
                    "{} takes a number of sockets, not a percentage",
                    check.key()
                ));
            }
            let p: u32 = p
                .trim()
                .parse()
                .map_err(|_| format!("{text:?} is not a whole percentage"))?;
            if p == 0 || p > 1000 {
                return Err(format!("{text:?}: a percentage is 1% to 1000%"));
            }
            return Ok(Level::Percent(p));
        }
        let n: u64 = text
            .parse()
            .map_err(|_| format!("{text:?} is not a whole number of sockets (or N%)"))?;
        if n == 0 {
            return Err(format!("{text:?}: a level is at least 1"));
        }
        Ok(Level::Count(n))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Count(n) => write!(f, "{n}"),
            Level::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The warning and critical levels of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub warning: Level,
    pub critical: Level,
    /// Which level gives way when, once resolved against the limit, the critical level would
    /// be below the warning one (levels of different kinds can only be compared then).
    /// `true`: the critical level is a default kept under a `--threshold KEY=WARN` given
    /// without CRIT, and is raised to the warning level (as `--help` says). `false` (the
    /// defaults, or both levels given): the critical level stands and the warning level is
    /// lowered to it (SYN_RECV's 100% of a backlog of 6 stays critical at 6, below the
    /// default warning level of 100).
    pub critical_follows: bool,
}

/// One `--threshold KEY=WARN[,CRIT]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdOverride {
    pub check: Check,
    pub warning: Level,
    pub critical: Option<Level>,
}

/// Parses `KEY=WARN[,CRIT]`, each level a number of sockets or, for checks with a kernel
/// limit, `N%` of it.
pub fn parse_threshold(text: &str) -> Result<ThresholdOverride, String> {
    let keys: Vec<&str> = Check::ALL.iter().map(|c| c.key()).collect();
    let (key, levels) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected KEY=WARN[,CRIT], e.g. CLOSE_WAIT=100"))?;
    let check = Check::parse_key(key.trim()).ok_or_else(|| {
        format!(
            "{text:?}: unknown threshold {:?}; the keys are {}",
            key.trim(),
            keys.join(", ")
        )
    })?;
    let (warning, critical) = match levels.split_once(',') {
        Some((w, c)) => (
            Level::parse(w, check).map_err(|e| format!("{text:?}: {e}"))?,
            Some(Level::parse(c, check).map_err(|e| format!("{text:?}: {e}"))?),
        ),
        None => (
            Level::parse(levels, check).map_err(|e| format!("{text:?}: {e}"))?,
            None,
        ),
    };
    if let Some(c) = critical {
        let backwards = match (warning, c) {
            (Level::Count(w), Level::Count(c)) => w > c,
            (Level::Percent(w), Level::Percent(c)) => w > c,
            _ => false,
        };
        if backwards {
            return Err(format!(
                "{text:?}: the warning level is above the critical one"
            ));
        }
    }
    Ok(ThresholdOverride {
        check,
        warning,
        critical,
    })
}

/// The levels of every check: defaults with overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    levels: [Levels; 12],
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            levels: Check::ALL.map(Check::default_levels),
        }
    }
}

impl Thresholds {
    pub fn get(&self, check: Check) -> Levels {
        self.levels[Check::ALL.iter().position(|&c| c == check).unwrap_or(0)]
    }

    /// Applies an override. With only a warning level, the critical level keeps its value,
    /// raised to the warning level when it is the same kind and lower.
    pub fn apply(&mut self, o: &ThresholdOverride) {
        let i = Check::ALL.iter().position(|&c| c == o.check).unwrap_or(0);
        let old = self.levels[i];
        let critical = o.critical.unwrap_or(match (o.warning, old.critical) {
            (Level::Count(w), Level::Count(c)) if c < w => Level::Count(w),
            (Level::Percent(w), Level::Percent(c)) if c < w => Level::Percent(w),
            _ => old.critical,
        });
        self.levels[i] = Levels {
            warning: o.warning,
            critical,
            critical_follows: o.critical.is_none(),
        };
    }
}

/// How many sockets of one kind: one row of evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortCount {
    pub port: u16,
    pub direction: Direction,
    pub sockets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrCount {
    pub address: IpAddr,
    pub sockets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessCount {
    pub pid: u32,
    /// Raw command name: renderers escape it.
    pub command: String,
    pub sockets: u64,
}

/// A kernel setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Number(u64),
    Range(u16, u16),
    /// `tcp_mem`: min, pressure, max.
    Triple(u64, u64, u64),
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Number(n) => write!(f, "{n}"),
            Setting::Range(lo, hi) => write!(f, "{lo}-{hi}"),
            Setting::Triple(a, b, c) => write!(f, "{a} {b} {c}"),
        }
    }
}

/// A number that supports a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number {
    /// The JSON key.
    pub key: &'static str,
    /// The words for people.
    pub label: &'static str,
    pub value: u64,
}

/// What a finding rests on: busiest first, at most [`TOP`] of each list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Service ports (as `tcpstat ports` groups them).
    pub ports: Vec<PortCount>,
    /// Remote addresses.
    pub remotes: Vec<AddrCount>,
    /// Owning processes.
    pub processes: Vec<ProcessCount>,
    /// Kernel settings by sysctl name; `None`: unreadable.
    pub settings: Vec<(&'static str, Option<Setting>)>,
    /// Kernel counters since boot (or since the namespace was created) by `TcpExt` name.
    pub counters: Vec<(&'static str, Option<u64>)>,
    pub numbers: Vec<Number>,
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The whole network namespace (or host, for host-wide limits).
    Host,
    Process {
        pid: u32,
        command: String,
    },
    /// Sockets whose owner could not be read (other users' processes, without root).
    OwnerHidden,
    /// Sockets with a file whose owner was not found.
    OwnerNotFound,
    /// One listening socket.
    Listener {
        address: IpAddr,
        port: u16,
    },
    /// A listening port (all its listening sockets).
    Port(u16),
    /// A remote address and port.
    Destination {
        address: IpAddr,
        port: u16,
    },
    /// Outgoing connections from one local address to one remote address and port.
    Route {
        local: IpAddr,
        remote: IpAddr,
        port: u16,
    },
}

/// One result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    pub subject: Subject,
    /// The measured number (sockets, or connections waiting).
    pub value: u64,
    /// The limit percentages refer to, when known (a kernel limit, a backlog).
    pub limit: Option<u64>,
    /// The levels as numbers; `None`: a percentage of an unknown limit.
    pub warning_at: Option<u64>,
    pub critical_at: Option<u64>,
    pub evidence: Evidence,
}

impl Finding {
    /// What to do: the check's advice ([`Check::action`]), adapted to the settings the
    /// finding's evidence shows where they change it (`tcp_tw_reuse` for ephemeral ports: do
    /// not advise turning on what is already on).
    pub fn action(&self) -> &'static str {
        if let (Check::EphemeralPorts, Subject::Route { local, remote, .. }) =
            (self.check, &self.subject)
        {
            let number = |name: &str| {
                self.evidence
                    .settings
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, v)| match v {
                        Some(Setting::Number(n)) => Some(*n),
                        _ => None,
                    })
            };
            let sysctls = Sysctls {
                tcp_tw_reuse: number("net.ipv4.tcp_tw_reuse"),
                tcp_timestamps: number("net.ipv4.tcp_timestamps"),
                ..Sysctls::default()
            };
            match tw_reuse(&sysctls, *local, *remote) {
                TwReuse::Applies => {
                    return "reuse connections (keep-alive, pools), spread them over more local \
                            or remote addresses or ports, or widen \
                            net.ipv4.ip_local_port_range. net.ipv4.tcp_tw_reuse already lets new \
                            connections take over this route's TIME_WAIT ports, so the ports \
                            counted belong to connections still open or closing: look for \
                            connections that are never closed."
                }
                TwReuse::NeedsTimestamps => {
                    return "reuse connections (keep-alive, pools), spread them over more local \
                            or remote addresses or ports, or widen \
                            net.ipv4.ip_local_port_range. net.ipv4.tcp_tw_reuse is on, but \
                            taking over a TIME_WAIT port needs TCP timestamps, which \
                            net.ipv4.tcp_timestamps=0 turns off: turn them back on."
                }
                TwReuse::LoopbackOnly => {
                    return "reuse connections (keep-alive, pools), spread them over more local \
                            or remote addresses or ports, widen net.ipv4.ip_local_port_range, \
                            and consider net.ipv4.tcp_tw_reuse=1: the current 2 lets new \
                            connections reuse TIME_WAIT ports only when an address is \
                            loopback."
                }
                TwReuse::Off => {}
            }
        }
        self.check.action()
    }
}

/// How `net.ipv4.tcp_tw_reuse` treats a new outgoing connection from `local` to `remote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwReuse {
    /// It may take over the port of a TIME_WAIT socket of the same route: TIME_WAIT does not
    /// exhaust the route's ports.
    Applies,
    /// `tcp_tw_reuse` allows it, but `tcp_timestamps` is 0, which rules it out.
    NeedsTimestamps,
    /// `tcp_tw_reuse` is 2 and neither address is loopback.
    LoopbackOnly,
    /// `tcp_tw_reuse` is 0, or it or `tcp_timestamps` could not be read (nothing is assumed).
    Off,
}

/// Whether a new connection from `local` to `remote` may reuse a TIME_WAIT socket's port, as
/// `tcp_twsk_unique` (net/ipv4/tcp_ipv4.c) decides: `tcp_tw_reuse` 1 always, 2 when the
/// TIME_WAIT socket's local or remote address is loopback (IPv4 127/8, `::1`, or IPv4-mapped
/// 127/8; a socket bound to `lo` by device is not visible here); and only if the old
/// connection used TCP timestamps (its `tw_ts_recent_stamp`), which `tcp_timestamps=0`
/// rules out. The kernel also waits until the TIME_WAIT socket is a second old
/// (`tcp_tw_reuse_delay`), so a burst faster than that still finds its ports taken.
pub fn tw_reuse(sysctls: &Sysctls, local: IpAddr, remote: IpAddr) -> TwReuse {
    let loopback = |a: IpAddr| a.to_canonical().is_loopback();
    match sysctls.tcp_tw_reuse {
        Some(1) => {}
        Some(2) if loopback(local) || loopback(remote) => {}
        Some(2) => return TwReuse::LoopbackOnly,
        _ => return TwReuse::Off,
    }
    match sysctls.tcp_timestamps {
        Some(0) => TwReuse::NeedsTimestamps,
        Some(_) => TwReuse::Applies,
        None => TwReuse::Off,
    }
}

/// Everything `doctor` concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Worst first; within a severity, in [`Check::ALL`] order, then by value.
    pub findings: Vec<Finding>,
    /// Checks not run, with why (their states were not counted).
    pub not_checked: Vec<(Check, String)>,
}

impl Diagnosis {
    /// The worst severity found (`Ok` when there are no findings).
    pub fn worst(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }
}

/// Length of evidence lists.
pub const TOP: usize = 5;
/// Findings over a threshold listed per check; the rest are summed in one more finding.
pub const MAX_LISTED: usize = 10;

/// Per-state tallies for the closing states and TIME_WAIT.
#[derive(Debug, Clone, Default)]
struct Tally {
    count: u64,
    /// Sockets without a file: closed by their process.
    orphans: u64,
    remotes: HashMap<IpAddr, u64>,
    ports: HashMap<(u16, Direction), u64>,
}

impl Tally {
    /// `ephemeral`: `ip_local_port_range` when known (it picks the service port of a
    /// connection whose listener is gone, see [`service_group_in`]).
    fn add(&mut self, r: &SocketRecord, listening: &HashSet<u16>, ephemeral: Option<(u16, u16)>) {
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
struct HalfOpen {
    count: u64,
    sources: HashMap<IpAddr, u64>,
}

/// Local ports in use toward one destination.
#[derive(Debug, Clone, Copy, Default)]
struct PortUse {
    time_wait: u64,
    other: u64,
}

/// The sink `doctor` collects into: counts for everything, and per-socket detail only for
/// the states a check looks at closely.
#[derive(Debug, Clone)]
pub struct Census {
    listening: HashSet<u16>,
    ephemeral: Option<(u16, u16)>,
    /// The listening sockets the filters select (judged by the accept-queue and SYN checks).
    pub listeners: Vec<SocketRecord>,
    pub counts: StateCounts,
    /// CLOSE_WAIT sockets (their owners are resolved afterwards).
    pub close_wait: Vec<SocketRecord>,
    /// SYN_SENT sockets.
    pub syn_sent: Vec<SocketRecord>,
    syn_recv: BTreeMap<u16, HalfOpen>,
    closing: [Tally; 4],
    time_wait: Tally,
    routes: HashMap<(IpAddr, IpAddr, u16), PortUse>,
}

/// The closing states tallied, in the order of `Census::closing`.
const CLOSING_STATES: [(TcpState, Check); 4] = [
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
    }
}

/// What the checks read besides the census.
pub struct Inputs<'a> {
    pub census: &'a Census,
    /// Every listening socket (of the families read, matching the address and port filters).
    pub listeners: &'a [SocketRecord],
    /// Owners of the CLOSE_WAIT, SYN_SENT and listening sockets.
    pub owners: &'a OwnerMap,
    pub facts: &'a KernelFacts,
    pub thresholds: &'a Thresholds,
    /// States counted: selected by `--state` and visible to the source.
    pub counted: StateSet,
    /// Why a state was not counted (for `not_checked`).
    pub not_counted_reason: &'a dyn Fn(TcpState) -> &'static str,
    /// Whether listener backlogs are known (netlink).
    pub backlog_known: bool,
}

/// Runs every check.
pub fn diagnose(inputs: &Inputs<'_>) -> Diagnosis {
    let mut findings = Vec::new();
    let mut not_checked = Vec::new();
    for check in Check::ALL {
        let needs = check.needs();
        if !needs.is_empty() && needs.intersect(inputs.counted).is_empty() {
            let why: Vec<String> = needs
                .iter()
                .map(|s| format!("{s} {}", (inputs.not_counted_reason)(s)))
                .collect();
            not_checked.push((check, why.join(", ")));
            continue;
        }
        let mut found = match check {
            Check::CloseWait => close_wait(inputs),
            Check::AcceptQueue => accept_queue(inputs),
            Check::SynRecv => syn_recv(inputs),
            Check::TimeWait => time_wait(inputs),
            Check::EphemeralPorts => ephemeral_ports(inputs),
            Check::SynSent => syn_sent(inputs),
            Check::FinWait1 | Check::FinWait2 | Check::Closing | Check::LastAck => {
                closing_state(inputs, check)
            }
            Check::Orphans => orphans(inputs),
            Check::TcpMemory => tcp_memory(inputs),
        };
        limit_listed(&mut found, check);
        findings.extend(found);
    }
    // Stable: within a severity the check order and each check's own order survive.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Diagnosis {
        findings,
        not_checked,
    }
}

/// Keeps at most [`MAX_LISTED`] findings over a threshold per check; the others are summed
/// into one more finding of the same severity as the worst of them.
fn limit_listed(found: &mut Vec<Finding>, check: Check) {
    let over: Vec<usize> = found
        .iter()
        .enumerate()
        .filter(|(_, f)| f.severity >= Severity::Warning)
        .map(|(i, _)| i)
        .collect();
    if over.len() <= MAX_LISTED {
        return;
    }
    let dropped: Vec<Finding> = over[MAX_LISTED..]
        .iter()
        .rev()
        .map(|&i| found.remove(i))
        .collect();
    let severity = dropped
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Warning);
    found.push(Finding {
        check,
        severity,
        subject: Subject::Host,
        value: dropped.iter().map(|f| f.value).sum(),
        limit: None,
        warning_at: None,
        critical_at: None,
        evidence: Evidence {
            numbers: vec![Number {
                key: "more_subjects",
                label: "more over the threshold, not listed",
                value: dropped.len() as u64,
            }],
            ..Evidence::default()
        },
    });
}

/// Severity of `value` against `levels` (resolved with `limit`), and the resolved levels.
/// Zero is always fine. The critical level is never below the warning level: levels of
/// different kinds (`--threshold TIME_WAIT=200000` against the default 90%) can only be
/// compared once the limit is known; then one of them gives way (see
/// [`Levels::critical_follows`]).
fn judge(value: u64, levels: Levels, limit: Option<u64>) -> (Severity, Option<u64>, Option<u64>) {
    let (warning_at, critical_at) = match (
        levels.warning.resolve(limit),
        levels.critical.resolve(limit),
    ) {
        (Some(w), Some(c)) if c < w && levels.critical_follows => (Some(w), Some(w)),
        (Some(w), Some(c)) if c < w => (Some(c), Some(c)),
        other => other,
    };
    let severity = if value == 0 {
        Severity::Ok
    } else if critical_at.is_some_and(|c| value >= c) {
        Severity::Critical
    } else if warning_at.is_some_and(|w| value >= w) {
        Severity::Warning
    } else {
        Severity::Ok
    };
    (severity, warning_at, critical_at)
}

fn finding(
    inputs: &Inputs<'_>,
    check: Check,
    subject: Subject,
    value: u64,
    limit: Option<u64>,
    evidence: Evidence,
) -> Finding {
    let (severity, warning_at, critical_at) = judge(value, inputs.thresholds.get(check), limit);
    Finding {
        check,
        severity,
        subject,
        value,
        limit,
        warning_at,
        critical_at,
        evidence,
    }
}

fn top_addrs(map: &HashMap<IpAddr, u64>) -> Vec<AddrCount> {
    let mut v: Vec<AddrCount> = map
        .iter()
        .map(|(&address, &sockets)| AddrCount { address, sockets })
        .collect();
    v.sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.address.cmp(&b.address)));
    v.truncate(TOP);
    v
}

fn top_ports(map: &HashMap<(u16, Direction), u64>) -> Vec<PortCount> {
    let mut v: Vec<PortCount> = map
        .iter()
        .map(|(&(port, direction), &sockets)| PortCount {
            port,
            direction,
            sockets,
        })
        .collect();
    v.sort_by(|a, b| {
        b.sockets
            .cmp(&a.sockets)
            .then(a.port.cmp(&b.port))
            .then(a.direction.cmp(&b.direction))
    });
    v.truncate(TOP);
    v
}

fn setting(name: &'static str, value: Option<u64>) -> (&'static str, Option<Setting>) {
    (name, value.map(Setting::Number))
}

fn counters(facts: &KernelFacts, names: &[&'static str]) -> Vec<(&'static str, Option<u64>)> {
    names.iter().map(|&n| (n, facts.counter(n))).collect()
}

/// The owners of a socket, or why there are none.
enum Owned<'a> {
    By(Vec<&'a crate::model::Process>),
    Hidden,
    NotFound,
}

fn owned<'a>(owners: &'a OwnerMap, r: &SocketRecord) -> Owned<'a> {
    let found: Vec<_> = owners.owner_processes(r.inode).collect();
    if !found.is_empty() {
        Owned::By(found)
    } else if r.inode != 0 && owners.stats().unreadable() > 0 {
        Owned::Hidden
    } else {
        Owned::NotFound
    }
}

/// Processes owning any of `records`, busiest first.
fn owning_processes<'r>(
    owners: &OwnerMap,
    records: impl Iterator<Item = &'r SocketRecord>,
) -> Vec<ProcessCount> {
    let mut per: BTreeMap<(u32, String), u64> = BTreeMap::new();
    for r in records {
        for p in owners.owner_processes(r.inode) {
            *per.entry((p.pid, p.command.clone())).or_default() += 1;
        }
    }
    let mut v: Vec<ProcessCount> = per
        .into_iter()
        .map(|((pid, command), sockets)| ProcessCount {
            pid,
            command,
            sockets,
        })
        .collect();
    v.sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.pid.cmp(&b.pid)));
    v.truncate(TOP);
    v
}

fn close_wait(inputs: &Inputs<'_>) -> Vec<Finding> {
    let census = inputs.census;
    if census.close_wait.is_empty() {
        return vec![finding(
            inputs,
            Check::CloseWait,
            Subject::Host,
            0,
            None,
            Evidence::default(),
        )];
    }
    // Group by owner: a socket shared after fork counts for each process holding it.
    let mut groups: BTreeMap<GroupKey, Tally> = BTreeMap::new();
    for r in &census.close_wait {
        let keys = match owned(inputs.owners, r) {
            Owned::By(ps) => ps
                .into_iter()
                .map(|p| GroupKey::Process(p.pid, p.command.clone()))
                .collect(),
            Owned::Hidden => vec![GroupKey::Hidden],
            Owned::NotFound => vec![GroupKey::NotFound],
        };
        for key in keys {
            groups
                .entry(key)
                .or_default()
                .add(r, &census.listening, census.ephemeral);
        }
    }
    let mut out: Vec<Finding> = groups
        .into_iter()
        .map(|(key, tally)| {
            let subject = match key {
                GroupKey::Process(pid, command) => Subject::Process { pid, command },
                GroupKey::Hidden => Subject::OwnerHidden,
                GroupKey::NotFound => Subject::OwnerNotFound,
            };
            let mut f = finding(
                inputs,
                Check::CloseWait,
                subject,
                tally.count,
                None,
                Evidence {
                    ports: top_ports(&tally.ports),
                    remotes: top_addrs(&tally.remotes),
                    ..Evidence::default()
                },
            );
            // Any CLOSE_WAIT that stays is a leak: below the warning level it is still worth
            // knowing who holds them.
            if f.severity == Severity::Ok {
                f.severity = Severity::Info;
            }
            f
        })
        .collect();
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    out
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Process(u32, String),
    Hidden,
    NotFound,
}

fn accept_queue(inputs: &Inputs<'_>) -> Vec<Finding> {
    let facts = inputs.facts;
    let evidence = |r: &SocketRecord| Evidence {
        processes: owning_processes(inputs.owners, std::iter::once(r)),
        settings: vec![
            setting("net.core.somaxconn", facts.sysctls.somaxconn),
            setting(
                "net.ipv4.tcp_abort_on_overflow",
                facts.sysctls.tcp_abort_on_overflow,
            ),
        ],
        counters: counters(facts, &["ListenOverflows", "ListenDrops"]),
        ..Evidence::default()
    };
    let mut out = Vec::new();
    let mut fullest: Option<(&SocketRecord, u64)> = None;
    for r in inputs.listeners {
        let queued = u64::from(r.recv_q);
        let backlog = inputs.backlog_known.then_some(u64::from(r.send_q));
        let subject = Subject::Listener {
            address: r.local,
            port: r.local_port,
        };
        let mut f = finding(
            inputs,
            Check::AcceptQueue,
            subject,
            queued,
            backlog,
            evidence(r),
        );
        if f.severity == Severity::Ok && queued > 0 && backlog.is_none() {
            // From /proc the backlog is unknown: say what is waiting, without judging.
            f.severity = Severity::Info;
        }
        if f.severity > Severity::Ok {
            out.push(f);
        }
        // Fullest by share of the backlog, else by length.
        let share = match backlog {
            Some(b) => queued.saturating_mul(1000) / b.max(1),
            None => queued,
        };
        if fullest.is_none_or(|(_, s)| share > s) {
            fullest = Some((r, share));
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    if out.is_empty() {
        let overflows = facts.counter("ListenOverflows").unwrap_or(0);
        let drops = facts.counter("ListenDrops").unwrap_or(0);
        let mut summary = match fullest {
            Some((r, _)) => {
                let mut f = finding(
                    inputs,
                    Check::AcceptQueue,
                    Subject::Host,
                    u64::from(r.recv_q),
                    inputs.backlog_known.then_some(u64::from(r.send_q)),
                    evidence(r),
                );
                f.evidence.numbers.push(Number {
                    key: "listeners",
                    label: "listening sockets",
                    value: inputs.listeners.len() as u64,
                });
                f
            }
            None => finding(
                inputs,
                Check::AcceptQueue,
                Subject::Host,
                0,
                None,
                Evidence {
                    counters: counters(facts, &["ListenOverflows", "ListenDrops"]),
                    ..Evidence::default()
                },
            ),
        };
        summary.severity = if overflows > 0 || drops > 0 {
            // Queues overflowed at some point since boot, not now.
            Severity::Info
        } else {
            Severity::Ok
        };
        out.push(summary);
    }
    out
}

fn syn_recv(inputs: &Inputs<'_>) -> Vec<Finding> {
    let facts = inputs.facts;
    let census = inputs.census;
    let mut out = Vec::new();
    let mut total = 0;
    for (&port, half) in &census.syn_recv {
        total += half.count;
        let listeners: Vec<&SocketRecord> = inputs
            .listeners
            .iter()
            .filter(|l| l.local_port == port)
            .collect();
        let backlog = (inputs.backlog_known && !listeners.is_empty())
            .then(|| listeners.iter().map(|l| u64::from(l.send_q)).sum());
        let mut ports = HashMap::new();
        ports.insert((port, Direction::In), half.count);
        let f = finding(
            inputs,
            Check::SynRecv,
            Subject::Port(port),
            half.count,
            backlog,
            Evidence {
                ports: top_ports(&ports),
                remotes: top_addrs(&half.sources),
                processes: owning_processes(inputs.owners, listeners.into_iter()),
                settings: vec![
                    setting("net.ipv4.tcp_syncookies", facts.sysctls.tcp_syncookies),
                    setting(
                        "net.ipv4.tcp_max_syn_backlog",
                        facts.sysctls.tcp_max_syn_backlog,
                    ),
                    setting("net.core.somaxconn", facts.sysctls.somaxconn),
                ],
                counters: counters(
                    facts,
                    &[
                        "SyncookiesSent",
                        "SyncookiesFailed",
                        "TCPReqQFullDoCookies",
                        "TCPReqQFullDrop",
                        "ListenDrops",
                    ],
                ),
                numbers: vec![Number {
                    key: "distinct_sources",
                    label: "distinct source addresses",
                    value: half.sources.len() as u64,
                }],
            },
        );
        out.push(f);
    }
    out.retain(|f| f.severity > Severity::Ok);
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    if out.is_empty() {
        out.push(Finding {
            severity: Severity::Ok,
            ..finding(
                inputs,
                Check::SynRecv,
                Subject::Host,
                total,
                None,
                Evidence {
                    settings: vec![setting(
                        "net.ipv4.tcp_syncookies",
                        facts.sysctls.tcp_syncookies,
                    )],
                    ..Evidence::default()
                },
            )
        });
    }
    out
}

fn time_wait(inputs: &Inputs<'_>) -> Vec<Finding> {
    let facts = inputs.facts;
    let tally = &inputs.census.time_wait;
    // The limit is per namespace, whatever the filters: compare the kernel's own count when
    // it is readable. That count is of time-wait entries, which include orphaned FIN_WAIT_2
    // sockets the kernel keeps as timewait minisockets (`tcp_time_wait(sk, TCP_FIN_WAIT2,
    // ..)`), so it is the value judged but not the number of TIME_WAIT sockets: the
    // headline gives both (`time_wait_counted` is the real TIME_WAIT count).
    let value = facts
        .sockstat
        .map_or(tally.count, |s| s.tw.max(tally.count));
    let mut numbers = vec![Number {
        key: "time_wait_counted",
        label: "TIME_WAIT sockets counted",
        value: tally.count,
    }];
    if let Some(s) = facts.sockstat {
        numbers.push(Number {
            key: "sockstat_tw",
            label: "time-wait entries (TIME_WAIT + orphaned FIN_WAIT_2) in /proc/net/sockstat",
            value: s.tw,
        });
    }
    let mut f = finding(
        inputs,
        Check::TimeWait,
        Subject::Host,
        value,
        facts.sysctls.tcp_max_tw_buckets,
        Evidence {
            ports: top_ports(&tally.ports),
            remotes: top_addrs(&tally.remotes),
            settings: vec![
                setting(
                    "net.ipv4.tcp_max_tw_buckets",
                    facts.sysctls.tcp_max_tw_buckets,
                ),
                setting("net.ipv4.tcp_tw_reuse", facts.sysctls.tcp_tw_reuse),
            ],
            counters: counters(facts, &["TCPTimeWaitOverflow"]),
            numbers,
            ..Evidence::default()
        },
    );
    if f.severity == Severity::Ok && facts.counter("TCPTimeWaitOverflow").unwrap_or(0) > 0 {
        f.severity = Severity::Info;
    }
    vec![f]
}

/// Local ports in use per route against the size of `ip_local_port_range`. TIME_WAIT counts
/// only where `tcp_tw_reuse` does not let new connections take it over ([`tw_reuse`]):
/// there it does not stand in the way of a connect() (the evidence still says how many).
fn ephemeral_ports(inputs: &Inputs<'_>) -> Vec<Finding> {
    let facts = inputs.facts;
    let range = facts.sysctls.ip_local_port_range;
    let size = range.map(|(lo, hi)| u64::from(hi - lo) + 1);
    let reusable = |&(local, remote, _): &(IpAddr, IpAddr, u16)| {
        tw_reuse(&facts.sysctls, local, remote) == TwReuse::Applies
    };
    // Ports a new connection on the route cannot have.
    let in_use = |route: &(IpAddr, IpAddr, u16), u: &PortUse| {
        if reusable(route) {
            u.other
        } else {
            u.time_wait + u.other
        }
    };
    let evidence = |u: PortUse, reusable: bool| Evidence {
        settings: vec![
            (
                "net.ipv4.ip_local_port_range",
                range.map(|(lo, hi)| Setting::Range(lo, hi)),
            ),
            setting("net.ipv4.tcp_tw_reuse", facts.sysctls.tcp_tw_reuse),
            setting("net.ipv4.tcp_timestamps", facts.sysctls.tcp_timestamps),
        ],
        numbers: vec![
            Number {
                key: "time_wait",
                label: "in TIME_WAIT",
                value: u.time_wait,
            },
            Number {
                key: "other_states",
                label: "in other states",
                value: u.other,
            },
            Number {
                key: "time_wait_reusable",
                label: "TIME_WAIT not counted (tcp_tw_reuse lets new connections reuse them)",
                value: if reusable { u.time_wait } else { 0 },
            },
        ],
        ..Evidence::default()
    };
    let mut routes: Vec<(&(IpAddr, IpAddr, u16), &PortUse)> = inputs.census.routes.iter().collect();
    routes.sort_by(|a, b| {
        in_use(b.0, b.1)
            .cmp(&in_use(a.0, a.1))
            .then((b.1.time_wait + b.1.other).cmp(&(a.1.time_wait + a.1.other)))
            .then(a.0.cmp(b.0))
    });
    let route_finding = |route: &(IpAddr, IpAddr, u16), u: &PortUse| {
        let &(local, remote, port) = route;
        finding(
            inputs,
            Check::EphemeralPorts,
            Subject::Route {
                local,
                remote,
                port,
            },
            in_use(route, u),
            size,
            evidence(*u, reusable(route)),
        )
    };
    let mut out = Vec::new();
    for &(route, u) in &routes {
        let f = route_finding(route, u);
        if f.severity == Severity::Ok {
            break; // Sorted: the rest are below too.
        }
        out.push(f);
    }
    if out.is_empty() {
        let f = match routes.first() {
            Some(&(route, u)) => route_finding(route, u),
            None => finding(
                inputs,
                Check::EphemeralPorts,
                Subject::Host,
                0,
                size,
                evidence(PortUse::default(), false),
            ),
        };
        out.push(f);
    }
    out
}

fn syn_sent(inputs: &Inputs<'_>) -> Vec<Finding> {
    let facts = inputs.facts;
    let mut per: BTreeMap<(IpAddr, u16), Vec<&SocketRecord>> = BTreeMap::new();
    for r in &inputs.census.syn_sent {
        per.entry((r.remote, r.remote_port)).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((address, port), records) in &per {
        let f = finding(
            inputs,
            Check::SynSent,
            Subject::Destination {
                address: *address,
                port: *port,
            },
            records.len() as u64,
            None,
            Evidence {
                processes: owning_processes(inputs.owners, records.iter().copied()),
                settings: vec![setting(
                    "net.ipv4.tcp_syn_retries",
                    facts.sysctls.tcp_syn_retries,
                )],
                ..Evidence::default()
            },
        );
        if f.severity > Severity::Ok {
            out.push(f);
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    if out.is_empty() {
        out.push(finding(
            inputs,
            Check::SynSent,
            Subject::Host,
            inputs.census.syn_sent.len() as u64,
            None,
            Evidence {
                numbers: vec![Number {
                    key: "destinations",
                    label: "destinations",
                    value: per.len() as u64,
                }],
                ..Evidence::default()
            },
        ));
        // A host-wide total is not what the per-destination levels are for.
        if let Some(f) = out.first_mut() {
            f.severity = Severity::Ok;
        }
    }
    out
}

fn closing_state(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let facts = inputs.facts;
    let i = CLOSING_STATES
        .iter()
        .position(|(_, c)| *c == check)
        .unwrap_or(0);
    let tally = &inputs.census.closing[i];
    let settings = match check {
        Check::FinWait2 => vec![setting(
            "net.ipv4.tcp_fin_timeout",
            facts.sysctls.tcp_fin_timeout,
        )],
        _ => vec![setting(
            "net.ipv4.tcp_orphan_retries",
            facts.sysctls.tcp_orphan_retries,
        )],
    };
    vec![finding(
        inputs,
        check,
        Subject::Host,
        tally.count,
        None,
        Evidence {
            ports: top_ports(&tally.ports),
            remotes: top_addrs(&tally.remotes),
            settings,
            numbers: vec![Number {
                key: "orphaned",
                label: "orphaned (closed by their process)",
                value: tally.orphans,
            }],
            ..Evidence::default()
        },
    )]
}

fn orphans(inputs: &Inputs<'_>) -> Vec<Finding> {
    let facts = inputs.facts;
    let census = inputs.census;
    let counted: u64 = census.closing.iter().map(|t| t.orphans).sum();
    let value = facts.sockstat.map_or(counted, |s| s.orphan);
    let mut numbers: Vec<Number> = CLOSING_STATES
        .iter()
        .zip(&census.closing)
        .map(|((state, _), t)| Number {
            key: match state {
                TcpState::FinWait1 => "fin_wait_1_orphans",
                TcpState::FinWait2 => "fin_wait_2_orphans",
                TcpState::Closing => "closing_orphans",
                _ => "last_ack_orphans",
            },
            label: match state {
                TcpState::FinWait1 => "FIN_WAIT_1 orphans counted",
                TcpState::FinWait2 => "FIN_WAIT_2 orphans counted",
                TcpState::Closing => "CLOSING orphans counted",
                _ => "LAST_ACK orphans counted",
            },
            value: t.orphans,
        })
        .collect();
    if let Some(s) = facts.sockstat {
        numbers.push(Number {
            key: "sockstat_orphan",
            label: "orphans in /proc/net/sockstat (host-wide)",
            value: s.orphan,
        });
    }
    vec![finding(
        inputs,
        Check::Orphans,
        Subject::Host,
        value,
        facts.sysctls.tcp_max_orphans,
        Evidence {
            settings: vec![
                setting("net.ipv4.tcp_max_orphans", facts.sysctls.tcp_max_orphans),
                setting("net.ipv4.tcp_fin_timeout", facts.sysctls.tcp_fin_timeout),
                setting(
                    "net.ipv4.tcp_orphan_retries",
                    facts.sysctls.tcp_orphan_retries,
                ),
            ],
            counters: counters(facts, &["TCPAbortOnMemory"]),
            numbers,
            ..Evidence::default()
        },
    )]
}

/// Host-wide TCP buffer memory (sockstat's `mem`) against the `tcp_mem` pressure value, with
/// `min` and `max` as evidence. Sockstat counts the whole host even inside a namespace, where
/// `tcp_mem` is not shown: then the finding says the limit is unknown.
fn tcp_memory(inputs: &Inputs<'_>) -> Vec<Finding> {
    let facts = inputs.facts;
    let Some(stat) = facts.sockstat else {
        return Vec::new();
    };
    let mem = facts.sysctls.tcp_mem;
    let mut numbers = vec![Number {
        key: "bytes",
        label: "bytes",
        value: stat.mem_pages.saturating_mul(facts.page_size),
    }];
    if let Some(m) = mem {
        numbers.push(Number {
            key: "max_bytes",
            label: "tcp_mem max, bytes",
            value: m.max.saturating_mul(facts.page_size),
        });
    }
    vec![finding(
        inputs,
        Check::TcpMemory,
        Subject::Host,
        stat.mem_pages,
        mem.map(|m| m.pressure),
        Evidence {
            settings: vec![(
                "net.ipv4.tcp_mem",
                mem.map(|m| Setting::Triple(m.min, m.pressure, m.max)),
            )],
            counters: counters(facts, &["TCPMemoryPressures", "TCPAbortOnMemory"]),
            numbers,
            ..Evidence::default()
        },
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernel::{SockStat, Sysctls};
    use crate::model::Family;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn sock(state: TcpState, local: (u8, u16), remote: (u8, u16)) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
        r.local = ip(local.0);
        r.local_port = local.1;
        r.remote = ip(remote.0);
        r.remote_port = remote.1;
        r
    }

    fn facts() -> KernelFacts {
        KernelFacts {
            sysctls: Sysctls {
                tcp_max_tw_buckets: Some(1000),
                ip_local_port_range: Some((40000, 40099)),
                tcp_syncookies: Some(1),
                tcp_max_orphans: Some(100),
                ..Sysctls::default()
            },
            tcp_ext: [("ListenOverflows".to_string(), 7)].into_iter().collect(),
            sockstat: Some(SockStat {
                tw: 10,
                ..SockStat::default()
            }),
            page_size: 4096,
            missing: Vec::new(),
        }
    }

    fn run(census: &Census, listeners: &[SocketRecord], thresholds: &Thresholds) -> Diagnosis {
        let owners = OwnerMap::default();
        let facts = facts();
        diagnose(&Inputs {
            census,
            listeners,
            owners: &owners,
            facts: &facts,
            thresholds,
            counted: StateSet::ALL,
            not_counted_reason: &|_| "not counted",
            backlog_known: true,
        })
    }

    fn of(d: &Diagnosis, check: Check) -> Vec<&Finding> {
        d.findings.iter().filter(|f| f.check == check).collect()
    }

    #[test]
    fn a_quiet_host_is_ok_everywhere() {
        let census = Census::new(HashSet::new(), Some((40000, 40099)), Vec::new());
        let d = run(&census, &[], &Thresholds::default());
        assert_eq!(
            d.worst(),
            Severity::Info,
            "ListenOverflows 7 since boot is info"
        );
        for check in Check::ALL {
            assert_eq!(of(&d, check).len(), 1, "{check:?}: one summary finding");
        }
        let aq = of(&d, Check::AcceptQueue)[0];
        assert_eq!(aq.severity, Severity::Info);
        assert_eq!(of(&d, Check::CloseWait)[0].severity, Severity::Ok);
        assert!(d.not_checked.is_empty());
    }

    #[test]
    fn levels_parse_resolve_and_override() {
        let o = parse_threshold("close-wait=5,50").expect("valid");
        assert_eq!(
            (o.check, o.warning, o.critical),
            (Check::CloseWait, Level::Count(5), Some(Level::Count(50)))
        );
        let o = parse_threshold("TIME_WAIT=70%").expect("valid");
        assert_eq!((o.warning, o.critical), (Level::Percent(70), None));
        let mut t = Thresholds::default();
        t.apply(&o);
        assert_eq!(t.get(Check::TimeWait).critical, Level::Percent(90));
        t.apply(&parse_threshold("TIME_WAIT=95%").expect("valid"));
        assert_eq!(
            t.get(Check::TimeWait).critical,
            Level::Percent(95),
            "raised"
        );
        t.apply(&parse_threshold("CLOSE_WAIT=500").expect("valid"));
        assert_eq!(t.get(Check::CloseWait).critical, Level::Count(500));
        for (bad, why) in [
            ("CLOSE_WAIT", "expected KEY=WARN"),
            ("ESTABLISHED=5", "unknown threshold"),
            ("CLOSE_WAIT=50%", "not a percentage"),
            ("CLOSE_WAIT=0", "at least 1"),
            ("CLOSE_WAIT=10,5", "above the critical"),
            ("ORPHANS=x%", "whole percentage"),
        ] {
            let err = parse_threshold(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        // A count above a percentage's resolution: the critical level is raised to it.
        let mut t = Thresholds::default();
        t.apply(&parse_threshold("TIME_WAIT=200000").expect("valid"));
        let levels = t.get(Check::TimeWait);
        assert_eq!(levels.critical, Level::Percent(90), "kinds differ: kept");
        assert_eq!(
            judge(150_000, levels, Some(131_072)),
            (Severity::Ok, Some(200_000), Some(200_000)),
            "90% of 131072 is 117965, below the warning level"
        );
        assert_eq!(
            judge(200_000, levels, Some(131_072)).0,
            Severity::Critical,
            "at both levels"
        );
        // Both given: the critical level stands, the warning level is lowered to it.
        let both = parse_threshold("EPHEMERAL_PORTS=500,10%").expect("valid: kinds differ");
        t.apply(&both);
        assert_eq!(
            judge(100, t.get(Check::EphemeralPorts), Some(1000)),
            (Severity::Critical, Some(100), Some(100))
        );
        // So do defaults: SYN_RECV is critical at a full SYN queue below its 100 warning.
        assert_eq!(
            judge(6, Check::SynRecv.default_levels(), Some(6)),
            (Severity::Critical, Some(6), Some(6))
        );
        // Unknown limit: the percentage stays unknown, the count stands.
        assert_eq!(judge(1, levels, None), (Severity::Ok, Some(200_000), None));
        for check in Check::ALL {
            for limit in [None, Some(0), Some(1), Some(100), Some(131_072)] {
                let (_, w, c) = judge(1, Check::default_levels(check), limit);
                if let (Some(w), Some(c)) = (w, c) {
                    assert!(c >= w, "{check:?} at {limit:?}: {w} > {c}");
                }
            }
        }
        assert_eq!(Level::Percent(80).resolve(Some(1)), Some(1));
        assert_eq!(Level::Percent(100).resolve(Some(0)), Some(1));
        assert_eq!(Level::Percent(50).resolve(Some(28232)), Some(14116));
        assert_eq!(Level::Percent(50).resolve(None), None);
        assert_eq!(Check::parse_key("fin-wait1"), Some(Check::FinWait1));
        assert_eq!(Check::parse_key("accept-queue"), Some(Check::AcceptQueue));
    }

    #[test]
    fn full_accept_queue_is_critical_and_names_the_listener() {
        let census = Census::new([8080].into_iter().collect(), None, Vec::new());
        let mut l = sock(TcpState::Listen, (1, 8080), (0, 0));
        l.recv_q = 2;
        l.send_q = 1;
        let mut quiet = sock(TcpState::Listen, (1, 22), (0, 0));
        quiet.send_q = 128;
        let d = run(&census, &[quiet, l], &Thresholds::default());
        let f = of(&d, Check::AcceptQueue);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(
            f[0].subject,
            Subject::Listener {
                address: ip(1),
                port: 8080
            }
        );
        assert_eq!(
            (f[0].value, f[0].limit, f[0].critical_at),
            (2, Some(1), Some(1))
        );
        assert_eq!(
            f[0].evidence.counters,
            [("ListenOverflows", Some(7)), ("ListenDrops", None)]
        );
        assert_eq!(d.findings[0].check, Check::AcceptQueue, "worst first");
    }

    #[test]
    fn close_wait_without_owners_is_grouped_and_graded() {
        let mut census = Census::new([8080].into_iter().collect(), None, Vec::new());
        for i in 0..12 {
            let mut r = sock(TcpState::CloseWait, (1, 8080), (2, 50000 + i));
            r.inode = 1000 + u64::from(i);
            census.record(&r);
        }
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::CloseWait);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].value), (Severity::Warning, 12));
        assert_eq!(f[0].subject, Subject::OwnerNotFound);
        assert_eq!(
            f[0].evidence.ports,
            [PortCount {
                port: 8080,
                direction: Direction::In,
                sockets: 12
            }]
        );
        assert_eq!(f[0].evidence.remotes[0].sockets, 12);
        let mut t = Thresholds::default();
        t.apply(&parse_threshold("CLOSE_WAIT=20").expect("valid"));
        let d = run(&census, &[], &t);
        assert_eq!(of(&d, Check::CloseWait)[0].severity, Severity::Info);
    }

    #[test]
    fn ephemeral_ports_per_route_and_time_wait_total() {
        let mut census = Census::new([80].into_iter().collect(), Some((40000, 40099)), Vec::new());
        for p in 0..60 {
            census.record(&sock(TcpState::TimeWait, (1, 40000 + p), (9, 5432)));
        }
        for p in 60..95 {
            census.record(&sock(TcpState::Established, (1, 40000 + p), (9, 5432)));
        }
        // Inbound TIME_WAIT on a listening port, and an outgoing one outside the range.
        census.record(&sock(TcpState::TimeWait, (1, 80), (3, 40001)));
        census.record(&sock(TcpState::TimeWait, (1, 30000), (9, 5432)));
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::EphemeralPorts);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].severity, f[0].value, f[0].limit),
            (Severity::Critical, 95, Some(100))
        );
        assert_eq!(
            f[0].subject,
            Subject::Route {
                local: ip(1),
                remote: ip(9),
                port: 5432
            }
        );
        let tw = of(&d, Check::TimeWait)[0];
        assert_eq!(
            (tw.value, tw.limit, tw.severity),
            (62, Some(1000), Severity::Ok)
        );
    }

    #[test]
    fn tw_reuse_follows_the_kernel_rules() {
        let s = |reuse, ts| Sysctls {
            tcp_tw_reuse: reuse,
            tcp_timestamps: ts,
            ..Sysctls::default()
        };
        let a = |t: &str| t.parse::<IpAddr>().expect("address");
        let (lo, lo8, lo6, mapped) = (
            a("127.0.0.1"),
            a("127.9.0.1"),
            a("::1"),
            a("::ffff:127.0.0.1"),
        );
        let (far, far6) = (a("10.0.0.1"), a("2001:db8::1"));
        use TwReuse::*;
        for (sysctls, local, remote, want) in [
            (s(Some(2), Some(1)), far, lo, Applies),
            (s(Some(2), Some(1)), lo8, far, Applies),
            (s(Some(2), Some(2)), far6, lo6, Applies),
            (s(Some(2), Some(1)), mapped, far6, Applies),
            (s(Some(2), Some(1)), far, far, LoopbackOnly),
            (s(Some(2), Some(1)), far6, far6, LoopbackOnly),
            (s(Some(1), Some(1)), far, far, Applies),
            (s(Some(1), Some(0)), far, far, NeedsTimestamps),
            (s(Some(2), Some(0)), lo, lo, NeedsTimestamps),
            (s(Some(0), Some(1)), lo, lo, Off),
            (s(None, Some(1)), lo, lo, Off),
            (s(Some(1), None), lo, lo, Off),
        ] {
            assert_eq!(
                tw_reuse(&sysctls, local, remote),
                want,
                "{sysctls:?} {local} -> {remote}"
            );
        }
    }

    #[test]
    fn time_wait_that_new_connections_can_reuse_does_not_exhaust_ports() {
        // 95 TIME_WAIT and 5 ESTABLISHED from 10.0.0.1 to `remote`:7000, range 40000-40099.
        let census = |remote: IpAddr| {
            let mut census = Census::new(HashSet::new(), Some((40000, 40099)), Vec::new());
            for p in 0..100 {
                let state = if p < 95 {
                    TcpState::TimeWait
                } else {
                    TcpState::Established
                };
                let mut r = sock(state, (1, 40000 + p), (0, 7000));
                r.remote = remote;
                census.record(&r);
            }
            census
        };
        let judge = |census: &Census, reuse: u64, timestamps: u64| {
            let mut facts = facts();
            facts.sysctls.tcp_tw_reuse = Some(reuse);
            facts.sysctls.tcp_timestamps = Some(timestamps);
            let owners = OwnerMap::default();
            let d = diagnose(&Inputs {
                census,
                listeners: &[],
                owners: &owners,
                facts: &facts,
                thresholds: &Thresholds::default(),
                counted: StateSet::ALL,
                not_counted_reason: &|_| "not counted",
                backlog_known: true,
            });
            of(&d, Check::EphemeralPorts)[0].clone()
        };
        let number = |f: &Finding, key: &str| {
            f.evidence
                .numbers
                .iter()
                .find(|n| n.key == key)
                .map(|n| n.value)
        };
        let loopback = census(IpAddr::V4(Ipv4Addr::LOCALHOST));
        // The default 2 reuses TIME_WAIT toward loopback: only the 5 open ones hold ports.
        let f = judge(&loopback, 2, 1);
        assert_eq!((f.severity, f.value, f.limit), (Severity::Ok, 5, Some(100)));
        assert_eq!(number(&f, "time_wait"), Some(95));
        assert_eq!(number(&f, "time_wait_reusable"), Some(95));
        assert!(
            f.action().contains("already lets new connections"),
            "{}",
            f.action()
        );
        assert_eq!(judge(&loopback, 1, 1).value, 5);
        // Off, or no timestamps: all 100 count, and the advice says what would help.
        let f = judge(&loopback, 0, 1);
        assert_eq!((f.severity, f.value), (Severity::Critical, 100));
        assert_eq!(number(&f, "time_wait_reusable"), Some(0));
        assert_eq!(f.action(), Check::EphemeralPorts.action());
        assert!(f.action().contains("consider net.ipv4.tcp_tw_reuse=1"));
        let f = judge(&loopback, 2, 0);
        assert_eq!((f.severity, f.value), (Severity::Critical, 100));
        assert!(f.action().contains("tcp_timestamps=0"), "{}", f.action());
        // 2 does not reach a remote host: advise 1, not "already on".
        let far = census(ip(9));
        let f = judge(&far, 2, 1);
        assert_eq!((f.severity, f.value), (Severity::Critical, 100));
        assert!(f
            .action()
            .contains("consider net.ipv4.tcp_tw_reuse=1: the current 2"));
        assert_eq!(judge(&far, 1, 1).value, 5);
    }

    #[test]
    fn syn_recv_counts_sources_and_syn_sent_groups_destinations() {
        let mut census = Census::new([443].into_iter().collect(), None, Vec::new());
        for i in 0..6u8 {
            census.record(&sock(TcpState::SynRecv, (1, 443), (100 + i % 3, 50000)));
        }
        for i in 0..11u16 {
            census.record(&sock(TcpState::SynSent, (1, 41000 + i), (7, 5432)));
        }
        census.record(&sock(TcpState::SynSent, (1, 42000), (8, 80)));
        let mut l = sock(TcpState::Listen, (0, 443), (0, 0));
        l.send_q = 6;
        let d = run(&census, &[l], &Thresholds::default());
        let sr = of(&d, Check::SynRecv);
        assert_eq!(
            (sr[0].severity, sr[0].value),
            (Severity::Critical, 6),
            "at backlog"
        );
        assert_eq!(sr[0].evidence.numbers[0].value, 3, "distinct sources");
        let ss = of(&d, Check::SynSent);
        assert_eq!(ss.len(), 1, "only the destination over the level");
        assert_eq!(
            (ss[0].severity, ss[0].value, &ss[0].subject),
            (
                Severity::Warning,
                11,
                &Subject::Destination {
                    address: ip(7),
                    port: 5432
                }
            )
        );
    }

    #[test]
    fn closing_states_count_orphans_and_unchecked_states_are_listed() {
        let mut census = Census::new(HashSet::new(), None, Vec::new());
        let mut held = sock(TcpState::FinWait2, (1, 40000), (2, 80));
        held.inode = 5;
        census.record(&held);
        census.record(&sock(TcpState::FinWait2, (1, 40001), (2, 80)));
        let owners = OwnerMap::default();
        let facts = facts();
        let d = diagnose(&Inputs {
            census: &census,
            listeners: &[],
            owners: &owners,
            facts: &facts,
            thresholds: &Thresholds::default(),
            counted: StateSet::of(TcpState::FinWait2),
            not_counted_reason: &|_| "not selected by --state",
            backlog_known: true,
        });
        let fw2 = of(&d, Check::FinWait2)[0];
        assert_eq!(fw2.value, 2);
        assert_eq!(fw2.evidence.numbers[0].value, 1, "one orphan");
        let unchecked: Vec<Check> = d.not_checked.iter().map(|(c, _)| *c).collect();
        assert!(unchecked.contains(&Check::CloseWait));
        assert!(
            !unchecked.contains(&Check::AcceptQueue),
            "listeners are always read"
        );
        assert!(d.not_checked[0].1.contains("not selected by --state"));
    }

    #[test]
    fn tcp_memory_is_judged_against_the_pressure_value() {
        use crate::model::kernel::TcpMem;
        let census = Census::new(HashSet::new(), None, Vec::new());
        let owners = OwnerMap::default();
        let judge_at = |pages: u64, tcp_mem: Option<TcpMem>| {
            let mut facts = facts();
            facts.sysctls.tcp_mem = tcp_mem;
            facts.sockstat = Some(SockStat {
                mem_pages: pages,
                ..SockStat::default()
            });
            let d = diagnose(&Inputs {
                census: &census,
                listeners: &[],
                owners: &owners,
                facts: &facts,
                thresholds: &Thresholds::default(),
                counted: StateSet::ALL,
                not_counted_reason: &|_| "not counted",
                backlog_known: true,
            });
            of(&d, Check::TcpMemory)[0].clone()
        };
        let mem = Some(TcpMem {
            min: 500,
            pressure: 1000,
            max: 1500,
        });
        for (pages, severity) in [
            (0, Severity::Ok),
            (799, Severity::Ok),
            (800, Severity::Warning),
            (999, Severity::Warning),
            (1000, Severity::Critical),
            (1600, Severity::Critical),
        ] {
            let f = judge_at(pages, mem);
            assert_eq!(f.severity, severity, "{pages} pages");
            assert_eq!((f.value, f.limit), (pages, Some(1000)));
        }
        let f = judge_at(800, mem);
        assert_eq!((f.warning_at, f.critical_at), (Some(800), Some(1000)));
        assert_eq!(f.evidence.numbers[0].value, 800 * 4096, "bytes");
        assert_eq!(f.evidence.numbers[1].value, 1500 * 4096, "max bytes");
        assert_eq!(
            f.evidence.settings,
            [("net.ipv4.tcp_mem", Some(Setting::Triple(500, 1000, 1500)))]
        );
        // Inside a namespace tcp_mem is not shown: counted, not judged.
        let f = judge_at(5000, None);
        assert_eq!(
            (f.severity, f.limit, f.warning_at),
            (Severity::Ok, None, None)
        );
        assert_eq!(Check::parse_key("tcp-mem"), Some(Check::TcpMemory));
        assert_eq!(Check::parse_key("TCP_MEMORY"), Some(Check::TcpMemory));
    }

    #[test]
    fn many_subjects_over_the_level_are_capped() {
        let mut census = Census::new(HashSet::new(), None, Vec::new());
        for dest in 0..(MAX_LISTED as u8 + 3) {
            for i in 0..10u16 {
                census.record(&sock(TcpState::SynSent, (1, 41000 + i), (dest, 80)));
            }
        }
        let d = run(&census, &[], &Thresholds::default());
        let ss = of(&d, Check::SynSent);
        assert_eq!(ss.len(), MAX_LISTED + 1);
        let rest = ss.last().expect("summary");
        assert_eq!((rest.subject.clone(), rest.value), (Subject::Host, 30));
        assert_eq!(rest.evidence.numbers[0].value, 3);
    }
}
