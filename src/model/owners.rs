//! Which processes own which sockets: the result of one owner walk, as plain data.
//!
//! Owns: [`OwnerMap`] (socket inode -> owning processes), [`Process`], and [`ScanStats`], what
//! the walk could and could not see. The walk itself is `collect::owners`. No I/O.
//!
//! Counting rules (see `collect::owners` for why):
//! - A socket shared by several processes (inherited across `fork`, passed over a Unix socket)
//!   is attributed to each of them. Per-process totals can therefore add up to more than the
//!   number of sockets; whoever prints them must say so.
//! - A process holding the same socket on several descriptors counts once for it.

use std::collections::HashMap;

/// A process that owns at least one wanted socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Process id (thread-group id: the number under /proc).
    pub pid: u32,
    /// Effective uid: the owner of `<proc_root>/PID`. The kernel reports the effective uid
    /// there even for non-dumpable processes (whose other /proc entries show root).
    pub uid: u32,
    /// `/proc/PID/comm` without its trailing newline: the kernel's command name, at most 15
    /// bytes, unescaped (escaping control characters is the renderer's job). Bytes that are
    /// not UTF-8 become U+FFFD.
    pub command: String,
}

/// Position of a process in an [`OwnerMap`]: `0..map.process_count()`, in pid order.
/// Meaningful only for the map that returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessIndex(u32);

impl ProcessIndex {
    /// The index as a `usize`, for dense per-process arrays of length
    /// [`OwnerMap::process_count`].
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

/// What one walk saw. Every listed process ends in exactly one of `processes_read`,
/// `processes_hidden`, `processes_vanished` or `processes_failed`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    /// Numeric entries of the proc root (processes).
    pub processes_seen: u64,
    /// Processes whose fd table was read (kernel threads have empty ones).
    pub processes_read: u64,
    /// Processes whose fd table or fd links could not be read for lack of permission.
    pub processes_hidden: u64,
    /// Processes that exited during the walk.
    pub processes_vanished: u64,
    /// Processes that failed for any other reason (I/O error, not a directory).
    pub processes_failed: u64,
    /// Processes owning at least one wanted socket (included in `processes_read`).
    pub processes_owning: u64,
    /// Descriptors read (one `readlink` each).
    pub fds_read: u64,
    /// Descriptors listed but gone (or unreadable) by the time of their `readlink`.
    pub fds_lost: u64,
    /// The walk ran as root (owner of `/proc/self` is uid 0), so what it could not read
    /// belongs to a more privileged context (the host's init seen from a container, another
    /// user namespace) and "run as root" would be the wrong advice.
    pub as_root: bool,
}

impl ScanStats {
    /// Processes whose descriptors could not be read, for any reason but exiting: an owner
    /// not found may be one of them.
    pub fn unreadable(&self) -> u64 {
        self.processes_hidden + self.processes_failed
    }

    /// Why processes were hidden, for legends and warnings.
    pub fn hidden_reason(&self) -> &'static str {
        if self.as_root {
            "not readable even as root: processes of a more privileged context"
        } else {
            "permission denied; run as root, or with CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, to see every owner"
        }
    }
}

/// Owners of one inode: almost always one process, so no allocation for that case.
#[derive(Debug, Clone)]
enum Owners {
    One(ProcessIndex),
    Many(Vec<ProcessIndex>),
}

impl Owners {
    fn as_slice(&self) -> &[ProcessIndex] {
        match self {
            Owners::One(idx) => std::slice::from_ref(idx),
            Owners::Many(all) => all,
        }
    }

    fn push(&mut self, idx: ProcessIndex) {
        match self {
            Owners::One(first) => *self = Owners::Many(vec![*first, idx]),
            Owners::Many(all) => all.push(idx),
        }
    }
}

/// Socket inode -> owning processes, from one walk over a proc root.
#[derive(Debug, Clone, Default)]
pub struct OwnerMap {
    /// Owners, sorted by pid; a [`ProcessIndex`] is a position here.
    processes: Vec<Process>,
    /// Only inodes that were wanted and found. Index lists are ascending and duplicate-free.
    owners: HashMap<u64, Owners>,
    stats: ScanStats,
    /// Processes whose descriptors could not be read (hidden or failed), in pid order: their
    /// sockets' owners are unknown.
    unreadable: Vec<u32>,
}

impl OwnerMap {
    /// An empty map of a walk that saw `stats`; [`OwnerMap::commit`] fills it.
    pub fn new(stats: ScanStats) -> OwnerMap {
        OwnerMap {
            stats,
            ..OwnerMap::default()
        }
    }

    /// What the walk saw, to be completed while it is committed.
    pub fn stats_mut(&mut self) -> &mut ScanStats {
        &mut self.stats
    }

    /// Records a process whose descriptors could not be read (counted in the stats too).
    pub fn add_unreadable(&mut self, pid: u32) {
        self.unreadable.push(pid);
    }

    /// The processes whose descriptors could not be read, in pid order.
    pub fn unreadable_pids(&self) -> &[u32] {
        &self.unreadable
    }

    /// Records `process` as an owner of each of `inodes` (sorted, deduplicated). Processes
    /// arrive in ascending pid order, so every owner list stays sorted.
    pub fn commit(&mut self, process: Process, inodes: &[u64]) {
        let Ok(raw) = u32::try_from(self.processes.len()) else {
            return; // More than 4 billion processes: not a Linux system.
        };
        let idx = ProcessIndex(raw);
        self.processes.push(process);
        for &inode in inodes {
            self.owners
                .entry(inode)
                .and_modify(|owners| owners.push(idx))
                .or_insert(Owners::One(idx));
        }
    }

    /// Processes owning `inode`, sorted by pid, each once. Empty when no readable process
    /// owns it (or it was not wanted).
    pub fn owners(&self, inode: u64) -> &[ProcessIndex] {
        self.owners.get(&inode).map_or(&[], Owners::as_slice)
    }

    /// The processes owning `inode`, sorted by pid.
    pub fn owner_processes(&self, inode: u64) -> impl ExactSizeIterator<Item = &Process> + '_ {
        self.owners(inode).iter().map(|&idx| self.process(idx))
    }

    /// The process at `idx`.
    ///
    /// # Panics
    /// If `idx` came from another map and is out of range here.
    pub fn process(&self, idx: ProcessIndex) -> &Process {
        &self.processes[idx.get()]
    }

    /// Processes owning at least one wanted socket, sorted by pid; the n-th has index n.
    pub fn processes(&self) -> impl ExactSizeIterator<Item = &Process> + '_ {
        self.processes.iter()
    }

    /// Number of processes owning at least one wanted socket.
    pub fn process_count(&self) -> usize {
        self.processes.len()
    }

    /// Number of wanted inodes that have at least one owner.
    pub fn owned_inodes(&self) -> usize {
        self.owners.len()
    }

    /// What the walk saw and could not see.
    pub fn stats(&self) -> ScanStats {
        self.stats
    }
}

impl ScanStats {
    /// What a walk could not see, as warning lines (none when it saw everything). As root the
    /// advice for unreadable processes differs (see [`ScanStats::as_root`]).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.processes_hidden > 0 {
            warnings.push(format!(
                "{} process(es) could not be read ({}): sockets they may own are shown as hidden",
                self.processes_hidden,
                self.hidden_reason()
            ));
        }
        if self.processes_failed > 0 {
            warnings.push(format!(
                "{} process(es) could not be read because of I/O errors (e.g. too many open files): \
                 sockets they may own are shown as hidden or not found",
                self.processes_failed
            ));
        }
        if self.processes_vanished > 0 {
            warnings.push(format!(
                "{} process(es) exited during the owner scan",
                self.processes_vanished
            ));
        }
        warnings
    }
}
