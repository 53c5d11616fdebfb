//! What one collection reads: the plan each subcommand builds and the pipeline runs.
//!
//! Owns: [`Plan`] (the source, the filter, and what besides the sockets is needed: listening
//! sockets, owners, kernel settings) and [`NetnsRequest`] (which network namespaces, as the
//! flags ask). A subcommand says *what* it needs here; `pipeline` decides how to read it (in
//! one pass or two, on how many threads, with one owner walk for every namespace). No I/O.

use std::path::PathBuf;

use super::{Extensions, Filter, SourceChoice};

/// What to collect, per network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Which source to read (`auto`: netlink, falling back to /proc).
    pub source: SourceChoice,
    /// Root of the proc filesystem (`--proc-root`, default `/proc`).
    pub proc_root: PathBuf,
    /// The sockets to read.
    pub filter: Filter,
    /// Listening sockets to read besides them.
    pub listeners: Listeners,
    /// Whether the processes that own sockets are looked for.
    pub owners: OwnerWalk,
    /// Read `net.ipv4.ip_local_port_range` (it decides the service side of connections whose
    /// listener is gone).
    pub port_range: bool,
    /// Read the kernel's TCP settings and counters (`doctor`).
    pub kernel_facts: bool,
    /// What to read about each socket beyond its message (`tcp_info`, memory): asked from
    /// the kernel only when set, since it makes every message of the dump larger.
    pub extensions: Extensions,
}

impl Plan {
    /// A plan that reads the sockets `filter` selects from `source`, and nothing else.
    pub fn sockets(source: SourceChoice, proc_root: PathBuf, filter: Filter) -> Plan {
        Plan {
            source,
            proc_root,
            filter,
            listeners: Listeners::None,
            owners: OwnerWalk::None,
            port_range: false,
            kernel_facts: false,
            extensions: Extensions::NONE,
        }
    }

    /// Whether an owner walk is needed: asked for, or owner filters (`--pid`, `--process`)
    /// decide which sockets count.
    pub fn walks_owners(&self) -> bool {
        self.owners != OwnerWalk::None || self.filter.needs_owners()
    }
}

/// Which listening sockets a collection reads besides the sockets of its filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listeners {
    None,
    /// Every listening socket of the families read, whatever the other filters, before the
    /// sockets themselves (they decide which side of a connection is the service), from the
    /// source the sockets are then read from. Cheap with netlink: a LISTEN-only dump walks
    /// only the listening hash table.
    All,
    /// The same, read only when some socket waits in an accept queue (a connection not
    /// accepted yet), to name the process that has not accepted it (`procs`).
    ForAcceptQueues,
}

/// Whether the owners of sockets are looked for (one walk over `/proc/*/fd` for every
/// namespace read: socket inodes are unique on the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerWalk {
    None,
    /// After the sockets are read, for the ones the aggregation asks about (`doctor`'s
    /// CLOSE_WAIT and SYN_SENT sockets), and for the listeners read.
    Wanted,
    /// Of every socket, walking while the sockets are read (`procs`, `list -p`).
    Every,
    /// As `Wanted`, for sockets and listeners without a cgroup id only (workloads: the /proc
    /// source has no ids, so a socket's owner's cgroup stands in). Nothing to walk for with
    /// netlink.
    NoCgroup,
}

/// The network namespaces a run reads, as the flags ask for them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NetnsRequest {
    /// tcpstat's own (no flag).
    #[default]
    Own,
    /// `--netns NAME|PATH`.
    NameOrPath(String),
    /// `--netns-pid PID`.
    Pid(u32),
    /// `--all-netns`.
    All,
}
