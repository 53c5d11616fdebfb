//! The kernel's TCP settings and counters, as plain data: the limits a count is measured
//! against (sysctls), what the kernel already dropped (`TcpExt` counters) and its own socket
//! totals (sockstat). Reading and parsing the files is `collect::kernel`. No I/O.

use std::collections::BTreeMap;

/// The kernel's default `net.ipv4.ip_local_port_range`, for when it cannot be read.
pub const DEFAULT_EPHEMERAL_PORTS: (u16, u16) = (32768, 60999);

/// The sysctls that bound TCP socket states. `None`: not readable (missing file in a fixture,
/// an older kernel, a value that did not parse); the name is then in [`KernelFacts::missing`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sysctls {
    /// `net.ipv4.tcp_max_tw_buckets`: TIME_WAIT sockets the namespace may hold; beyond it the
    /// kernel closes connections without TIME_WAIT (`inet_twsk_alloc`, counter
    /// `TCPTimeWaitOverflow`).
    pub tcp_max_tw_buckets: Option<u64>,
    /// `net.ipv4.ip_local_port_range`: the ephemeral ports for outgoing connections,
    /// inclusive.
    pub ip_local_port_range: Option<(u16, u16)>,
    /// `net.ipv4.tcp_syncookies`: 0 off, 1 when the SYN queue overflows, 2 always.
    pub tcp_syncookies: Option<u64>,
    /// `net.ipv4.tcp_max_syn_backlog`: with syncookies off, unverified SYNs are dropped once a
    /// listener's SYN queue is three quarters of this (`tcp_conn_request`).
    pub tcp_max_syn_backlog: Option<u64>,
    /// `net.core.somaxconn`: the cap on every listen() backlog.
    pub somaxconn: Option<u64>,
    /// `net.ipv4.tcp_fin_timeout`, seconds: how long an orphaned FIN_WAIT_2 socket lives.
    pub tcp_fin_timeout: Option<u64>,
    /// `net.ipv4.tcp_max_orphans` (host-wide): orphaned sockets allowed before the kernel
    /// resets new orphans ("too many orphaned sockets", `tcp_too_many_orphans`).
    pub tcp_max_orphans: Option<u64>,
    /// `net.ipv4.tcp_orphan_retries`: FIN retransmissions before an orphan is dropped
    /// (0 means the kernel default of 8, `tcp_orphan_retries()`).
    pub tcp_orphan_retries: Option<u64>,
    /// `net.ipv4.tcp_tw_reuse`: 0 off, 1 on, 2 loopback only: whether outgoing connections
    /// may take over a TIME_WAIT socket's 4-tuple.
    pub tcp_tw_reuse: Option<u64>,
    /// `net.ipv4.tcp_timestamps`: 0 off, 1 on, 2 on without random offsets. TIME_WAIT reuse
    /// needs the timestamps of the old connection (`tcp_twsk_unique`), so with 0 it is off
    /// whatever `tcp_tw_reuse` says.
    pub tcp_timestamps: Option<u64>,
    /// `net.ipv4.tcp_syn_retries`: SYN retransmissions before connect() fails.
    pub tcp_syn_retries: Option<u64>,
    /// `net.ipv4.tcp_abort_on_overflow`: 1 resets connections that find the accept queue full.
    pub tcp_abort_on_overflow: Option<u64>,
    /// `net.ipv4.tcp_mem` (host-wide), in pages: `[min, pressure, max]`. Above `pressure` the
    /// kernel is in memory-pressure mode and shrinks socket buffers; at `max` it refuses new
    /// buffer memory and drops or resets (`TCP: out of memory -- consider tuning tcp_mem`,
    /// counter `TCPAbortOnMemory`). `tcp_mem_over` / `tcp_under_memory_limits` in the kernel.
    pub tcp_mem: Option<TcpMem>,
}

/// `net.ipv4.tcp_mem`, in pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpMem {
    pub min: u64,
    pub pressure: u64,
    pub max: u64,
}

/// The TCP line of `/proc/net/sockstat` (`sockstat_seq_show`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SockStat {
    /// Sockets in use in this namespace (not TIME_WAIT).
    pub inuse: u64,
    /// Orphaned sockets, host-wide: closed by their process, still finishing the close.
    pub orphan: u64,
    /// TIME_WAIT minisockets of this namespace (FIN_WAIT_2 orphans handed to the timewait
    /// machinery included), the number `tcp_max_tw_buckets` bounds.
    pub tw: u64,
    /// Allocated sockets.
    pub alloc: u64,
    /// Memory allocated to TCP socket buffers, host-wide, in pages (the number `tcp_mem`
    /// bounds).
    pub mem_pages: u64,
}

/// Everything read, plus what could not be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelFacts {
    pub sysctls: Sysctls,
    /// `TcpExt` counters of `/proc/net/netstat` by the kernel's name (`ListenOverflows`,
    /// `ListenDrops`, ...): counts since boot (or since the namespace was created). Empty when
    /// the file could not be read.
    pub tcp_ext: BTreeMap<String, u64>,
    pub sockstat: Option<SockStat>,
    /// The size of a page in bytes (sockstat's `mem` and `tcp_mem` count pages).
    pub page_size: u64,
    /// What could not be read, as `name (cause)`: shown so a missing limit is never mistaken
    /// for a reassuring one.
    pub missing: Vec<String>,
}

impl KernelFacts {
    /// A `TcpExt` counter by its kernel name.
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.tcp_ext.get(name).copied()
    }
}
