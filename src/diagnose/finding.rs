//! What `doctor` concludes, as plain data: [`Finding`]s, their [`Severity`], what they are
//! about ([`Subject`]) and what they rest on ([`Evidence`]: counts of sockets by port, remote
//! address and process, kernel settings and counters, and typed [`Number`]s).
//!
//! Owns: the finding types, the advice a finding's own evidence adapts ([`Finding::action`]),
//! and the one kernel rule that advice needs ([`tw_reuse`]). Must not judge (the rules do)
//! nor write sentences (`render::doctor` does, reading numbers by their [`Number`], never by
//! a string).

use std::fmt;
use std::net::IpAddr;

use super::Check;
use crate::aggregate::Direction;
use crate::model::kernel::Sysctls;

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

/// A number that supports a finding, named by what it counts. Each knows its JSON key (in
/// `evidence.numbers`) and its words for people, so a rule cannot give one number two names
/// and a renderer cannot ask for a number that does not exist: a misspelt variant does not
/// compile, where a misspelt string key used to print 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Number {
    /// Findings over a threshold beyond [`MAX_LISTED`](super::MAX_LISTED), summed into one.
    MoreSubjects,
    /// Listening sockets judged (the accept-queue summary).
    Listeners,
    /// Source addresses of one port's half-open connections.
    DistinctSources,
    /// TIME_WAIT sockets counted in the census.
    TimeWaitCounted,
    /// The kernel's time-wait entries (`tw` in /proc/net/sockstat): TIME_WAIT and orphaned
    /// FIN_WAIT_2 sockets.
    SockstatTw,
    /// A route's local ports held by TIME_WAIT sockets.
    TimeWait,
    /// A route's local ports held by sockets in other states.
    OtherStates,
    /// A route's TIME_WAIT sockets not counted: `tcp_tw_reuse` lets new connections take
    /// their ports over ([`tw_reuse`]).
    TimeWaitReusable,
    /// Destinations of SYN_SENT sockets.
    Destinations,
    /// Sockets of one closing state without a file (closed by their process).
    Orphaned,
    /// Orphans counted per closing state.
    FinWait1Orphans,
    FinWait2Orphans,
    ClosingOrphans,
    LastAckOrphans,
    /// Orphans in /proc/net/sockstat (host-wide).
    SockstatOrphan,
    /// Memory of TCP socket buffers, bytes (host-wide).
    MemoryBytes,
    /// `tcp_mem`'s max, bytes.
    MemoryMaxBytes,
    /// Connections the kernel sent `tcp_info` for (toward one peer, or on the host).
    Connections,
    /// Peers judged.
    Peers,
    /// Segments sent to a peer (`tcpi_segs_out`, retransmissions included).
    SegmentsSent,
    /// Connections with retransmitted segments not acknowledged yet (`tcpi_retrans` > 0).
    RetransmittingConnections,
    /// Segments the kernel counts as lost (`tcpi_lost`).
    LostSegments,
    /// Sockets of one state whose retransmissions go unanswered.
    SynSent,
    FinWait1,
    Closing,
    LastAck,
    /// Bytes in the send queues of the sockets a finding is about.
    SendQueueBytes,
    /// Bytes unread in the receive queues of the sockets a finding is about.
    RecvQueueBytes,
    /// The longest time without an acknowledgement among stalled connections, ms.
    LongestAckWaitMs,
    /// How long without an acknowledgement makes a connection stalled, ms.
    StallMs,
    /// A peer's median smoothed RTT, microseconds.
    MedianRttUs,
    /// The host's median RTT (the median of the peers' medians), microseconds.
    HostMedianRttUs,
    /// Connections with unread data whose advertised window the kernel did not report.
    RecvWindowUnknown,
}

impl Number {
    /// The JSON key.
    pub const fn key(self) -> &'static str {
        match self {
            Number::MoreSubjects => "more_subjects",
            Number::Listeners => "listening_sockets",
            Number::DistinctSources => "distinct_sources",
            Number::TimeWaitCounted => "time_wait_counted",
            Number::SockstatTw => "sockstat_tw",
            Number::TimeWait => "time_wait",
            Number::OtherStates => "other_states",
            Number::TimeWaitReusable => "time_wait_reusable",
            Number::Destinations => "destinations",
            Number::Orphaned => "orphaned",
            Number::FinWait1Orphans => "fin_wait_1_orphans",
            Number::FinWait2Orphans => "fin_wait_2_orphans",
            Number::ClosingOrphans => "closing_orphans",
            Number::LastAckOrphans => "last_ack_orphans",
            Number::SockstatOrphan => "sockstat_orphan",
            Number::MemoryBytes => "bytes",
            Number::MemoryMaxBytes => "max_bytes",
            Number::Connections => "connections",
            Number::Peers => "peers",
            Number::SegmentsSent => "segments_sent",
            Number::RetransmittingConnections => "retransmitting_connections",
            Number::LostSegments => "lost_segments",
            Number::SynSent => "syn_sent",
            Number::FinWait1 => "fin_wait_1",
            Number::Closing => "closing",
            Number::LastAck => "last_ack",
            Number::SendQueueBytes => "send_queue_bytes",
            Number::RecvQueueBytes => "recv_queue_bytes",
            Number::LongestAckWaitMs => "longest_ack_wait_ms",
            Number::StallMs => "stall_ms",
            Number::MedianRttUs => "median_rtt_us",
            Number::HostMedianRttUs => "host_median_rtt_us",
            Number::RecvWindowUnknown => "recv_window_unknown",
        }
    }

    /// The words for people.
    pub const fn label(self) -> &'static str {
        match self {
            Number::MoreSubjects => "more over the threshold, not listed",
            Number::Listeners => "listening sockets",
            Number::DistinctSources => "distinct source addresses",
            Number::TimeWaitCounted => "TIME_WAIT sockets counted",
            Number::SockstatTw => {
                "time-wait entries (TIME_WAIT + orphaned FIN_WAIT_2) in /proc/net/sockstat"
            }
            Number::TimeWait => "in TIME_WAIT",
            Number::OtherStates => "in other states",
            Number::TimeWaitReusable => {
                "TIME_WAIT not counted (tcp_tw_reuse lets new connections reuse them)"
            }
            Number::Destinations => "destinations",
            Number::Orphaned => "orphaned (closed by their process)",
            Number::FinWait1Orphans => "FIN_WAIT_1 orphans counted",
            Number::FinWait2Orphans => "FIN_WAIT_2 orphans counted",
            Number::ClosingOrphans => "CLOSING orphans counted",
            Number::LastAckOrphans => "LAST_ACK orphans counted",
            Number::SockstatOrphan => "orphans in /proc/net/sockstat (host-wide)",
            Number::MemoryBytes => "bytes",
            Number::MemoryMaxBytes => "tcp_mem max, bytes",
            Number::Connections => "connections with tcp_info",
            Number::Peers => "peers judged",
            Number::SegmentsSent => "segments sent",
            Number::RetransmittingConnections => "connections with retransmissions in flight",
            Number::LostSegments => "segments counted lost",
            Number::SynSent => "in SYN_SENT",
            Number::FinWait1 => "in FIN_WAIT_1",
            Number::Closing => "in CLOSING",
            Number::LastAck => "in LAST_ACK",
            Number::SendQueueBytes => "bytes in their send queues",
            Number::RecvQueueBytes => "bytes unread in their receive queues",
            Number::LongestAckWaitMs => "longest wait for an acknowledgement, ms",
            Number::StallMs => "stalled after, ms",
            Number::MedianRttUs => "the peer's median RTT, us",
            Number::HostMedianRttUs => "the host's median RTT (median of the peers' medians), us",
            Number::RecvWindowUnknown => {
                "connections with unread data whose advertised window is not reported"
            }
        }
    }
}

/// What a finding rests on: busiest first, at most [`TOP`](super::TOP) of each list.
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
    /// Supporting numbers, in the order people read them.
    pub numbers: Vec<(Number, u64)>,
    /// The workload (service, container, pod) of the process or listener a finding is about.
    pub workload: Option<WorkloadEvidence>,
}

/// A workload named in a finding (`tcpstat workloads` names it the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadEvidence {
    /// Raw name (untrusted text: renderers escape it).
    pub name: String,
    /// `service`, `container`, `pod`, ... (`WorkloadKind::key`).
    pub kind: &'static str,
    /// The cgroup v2 path.
    pub cgroup: String,
}

impl Evidence {
    /// The value of one supporting number; `None` when the finding does not carry it.
    pub fn number(&self, which: Number) -> Option<u64> {
        self.numbers
            .iter()
            .find(|(n, _)| *n == which)
            .map(|&(_, value)| value)
    }
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
    /// A remote address: every connection to it (the `tcp_info` checks).
    Peer(IpAddr),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
