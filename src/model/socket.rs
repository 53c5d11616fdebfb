//! One TCP socket as the kernel reports it, in a form both collectors produce.
//!
//! Owns: [`SocketRecord`], a small `Copy` value with no heap data, so collectors can hand one
//! to a consumer per socket without allocating. No I/O, no formatting policy.

use std::net::{IpAddr, Ipv4Addr};

use super::state::KernelState;

/// Address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    pub const fn index(self) -> usize {
        self as usize
    }

    /// The JSON / metrics label: `ipv4` or `ipv6`.
    pub const fn key(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    /// The table heading: `IPv4` or `IPv6`.
    pub const fn label(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// Which timer the kernel has armed on a socket (sock_diag `idiag_timer`, /proc `tr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    None,
    Retransmit,
    KeepAlive,
    TimeWait,
    ZeroWindowProbe,
    Other(u8),
}

impl TimerKind {
    pub const fn from_kernel(value: u8) -> TimerKind {
        match value {
            0 => TimerKind::None,
            1 => TimerKind::Retransmit,
            2 => TimerKind::KeepAlive,
            3 => TimerKind::TimeWait,
            4 => TimerKind::ZeroWindowProbe,
            other => TimerKind::Other(other),
        }
    }
}

/// One socket, exactly as read from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketRecord {
    pub family: Family,
    pub state: KernelState,
    /// The raw state value the kernel sent (kept for diagnostics and UNKNOWN buckets).
    pub raw_state: u8,
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// Bytes in the receive queue; for LISTEN sockets the current accept-queue length.
    pub recv_q: u32,
    /// Bytes in the send queue; for LISTEN sockets the configured backlog (netlink only: see
    /// `send_q_known`).
    pub send_q: u32,
    /// False when `send_q` means nothing: a LISTEN socket read from /proc, which prints the
    /// send queue (always 0 for a listener) where netlink gives the backlog.
    pub send_q_known: bool,
    pub uid: u32,
    /// Socket inode; 0 for sockets with no file (TIME_WAIT, request sockets, orphans).
    pub inode: u64,
    pub timer: TimerKind,
    /// Time until the timer fires, in milliseconds (0 when no timer or unknown).
    pub timer_ms: u64,
    /// The kernel's socket cookie (sock_diag only; 0 from /proc).
    pub cookie: u64,
    /// The inode of the network namespace the socket was read from, when tcpstat was told
    /// which to read (`--netns`, `--netns-pid`, `--all-netns`); 0 for its own by default.
    /// Cookies and inodes are unique across namespaces, 4-tuples are not.
    pub netns: u64,
    /// The cgroup v2 id of the socket's cgroup (sock_diag's `INET_DIAG_CGROUP_ID`: the inode
    /// of the cgroup's directory in the cgroup2 mount), 0 when the kernel did not send one:
    /// minisockets (TIME_WAIT, SYN_RECV requests), kernels before 5.x, the /proc source.
    pub cgroup_id: u64,
}

impl SocketRecord {
    /// True for the kernel's minisockets, which have no owner, no file and no uid: TIME_WAIT
    /// sockets, SYN_RECV request sockets (inode 0), and orphans that were turned into
    /// time-wait minisockets in another sub-state (an orphaned FIN_WAIT_2 usually is: the
    /// kernel reports its `tw_substate`, with inode 0 and the TIME_WAIT timer, 3). The kernel
    /// fills their uid with 0 (`inet_twsk_diag_fill`, `inet_req_diag_fill`; /proc prints 0 as
    /// well), which is not root.
    pub fn is_minisocket(&self) -> bool {
        use super::state::{KernelState, TcpState};
        match self.state {
            KernelState::Known(TcpState::TimeWait) => true,
            KernelState::Known(TcpState::SynRecv) if self.inode == 0 => true,
            _ => self.inode == 0 && self.timer == TimerKind::TimeWait,
        }
    }

    /// The socket's owner uid, or `None` for minisockets ([`SocketRecord::is_minisocket`]),
    /// which the kernel reports with uid 0 although they have no owner at all. Reporting them
    /// as root would be a lie. Full orphans (closed by their process, still finishing, with
    /// another timer) keep the uid of the socket.
    pub fn owner_uid(&self) -> Option<u32> {
        (!self.is_minisocket()).then_some(self.uid)
    }

    /// `send_q` when the source reported it (`None` for a /proc listener's backlog).
    pub fn reported_send_q(&self) -> Option<u32> {
        self.send_q_known.then_some(self.send_q)
    }

    /// A record with every field zero (and `send_q` known), for building test values.
    pub const fn empty(family: Family, state: KernelState) -> SocketRecord {
        SocketRecord {
            family,
            state,
            raw_state: 0,
            local: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            local_port: 0,
            remote: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            remote_port: 0,
            recv_q: 0,
            send_q: 0,
            send_q_known: true,
            uid: 0,
            inode: 0,
            timer: TimerKind::None,
            timer_ms: 0,
            cookie: 0,
            netns: 0,
            cgroup_id: 0,
        }
    }
}
