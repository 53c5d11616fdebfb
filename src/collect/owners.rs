//! Which processes own which socket inodes: one walk over `<proc_root>/<PID>/fd`.
//!
//! Owns: listing the processes under a proc root, reading each one's fd table with one
//! `readlink` per descriptor, keeping the descriptors that name a wanted socket
//! (`socket:[INODE]`), and describing the owners found (pid, uid, command). It must not read
//! socket tables, filter, count sockets by state or format anything: callers say which inodes
//! they need and decide what an owner means for their output.
//!
//! Linux has no other way to map sockets to processes: a socket knows its inode, not who holds
//! descriptors to it. Cost is one `open` + `getdents64` per process plus one `readlinkat` per
//! descriptor of every process, relative to the open fd directory (not the procfs crate, whose
//! per-fd API costs four syscalls), plus a `stat` of `/proc/PID` and a read of
//! `/proc/PID/comm` only for processes that own a wanted socket. That is all kernel time, so
//! the processes are shared out among a few threads, and [`scan_alongside`] walks
//! while the caller's socket dump runs (both are kernel work, independent of each other). Lookups go through the caller's `HashSet`
//! and a `HashMap`, so the walk is linear in descriptors (`ss -p` and `netstat -p` use small
//! fixed hash tables and become quadratic near a million sockets).
//!
//! Counting rules:
//! - A socket shared by several processes (inherited across `fork`, passed over a Unix socket)
//!   is attributed to each of them. Per-process totals can therefore add up to more than the
//!   number of sockets; whoever prints them must say so.
//! - A process holding the same socket on several descriptors counts once for it.
//! - Between `fork` and `exec` a child holds copies of all its parent's descriptors, even
//!   close-on-exec ones, and is reported as an owner of all those sockets: it is one.
//! - The walk never stops early. Stopping once every wanted inode has an owner would save the
//!   rest of the walk, but a socket shared after `fork` would then be attributed only to the
//!   lowest pid, and `--pid CHILD` would silently miss it. There is no option for it: no caller
//!   needs "some owner" rather than "the owners".
//!
//! What cannot be seen is counted, never guessed, and never fails the walk:
//! - hidden: the fd table could not be listed, or its links could not be read (`EACCES`:
//!   another user's process, or one of yours that is not dumpable, when not root). Listing
//!   needs only the directory's mode but reading a link needs ptrace read access, which a
//!   sandbox or LSM can refuse even to root (seen: a sandbox's pid 1 lists 270 fds to root
//!   and refuses every link). Hidden processes may own wanted sockets; whatever was read of
//!   them is dropped.
//! - vanished: the process exited during the walk (`ENOENT` / `ESRCH` on its fd table, its
//!   `comm` or its directory). A process that vanishes after its fds were read but before its
//!   uid or command could be read is dropped with everything it owned: an owner is never
//!   reported with a made-up name or uid, and the socket, unless shared, is closing anyway.
//! - A descriptor closed between the listing and its `readlink` is counted in
//!   [`ScanStats::fds_lost`] and skipped.
//!
//! Limits (shared with `ss -p`): only the thread group's descriptor table (`/proc/PID/fd`) is
//! read, so a thread created without `CLONE_FILES`, or threads outliving their group leader,
//! are not seen; a pid reused between reading its fds and its `comm` would be described by the
//! new process. The result is a snapshot of a moving system.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::hash::BuildHasher;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;

use crate::error::Error;
use crate::model::owners::{OwnerMap, Process, ScanStats};

/// `ESRCH` on Linux (every architecture): a /proc file whose task has gone.
const ESRCH: i32 = 3;
/// `getdents64` buffer: an fd directory of 20000 entries fits in a few dozen reads.
const DIRENT_BUFFER: usize = 32 * 1024;
/// `readlinkat` buffer: `socket:[18446744073709551615]` is 29 bytes.
const LINK_BUFFER: usize = 64;

/// How a process's walk ended, when it did not end with its fd table read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lost {
    Hidden,
    Vanished,
    Failed,
}

impl Lost {
    fn of(error: &io::Error) -> Lost {
        match error.kind() {
            io::ErrorKind::NotFound => Lost::Vanished,
            io::ErrorKind::PermissionDenied => Lost::Hidden,
            _ if error.raw_os_error() == Some(ESRCH) => Lost::Vanished,
            _ => Lost::Failed,
        }
    }
}

/// One walk over `<proc_root>/[0-9]*/fd`, keeping only the inodes in `wanted` (inode 0,
/// which TIME_WAIT and request sockets report, is never looked for). An empty `wanted`
/// returns at once without walking.
///
/// The processes are shared out among up to [`MAX_WALKERS`] threads (the walk is all
/// kernel time, one process's fd table at a time, so it scales with cores); the result is
/// the same as a walk in pid order.
///
/// Fails only when the proc root itself cannot be listed; each process's problems are
/// counted in [`ScanStats`].
pub fn scan<S: BuildHasher + Sync>(
    proc_root: &Path,
    wanted: &HashSet<u64, S>,
) -> Result<OwnerMap, Error> {
    if wanted.iter().all(|&inode| inode == 0) {
        return Ok(OwnerMap::default());
    }
    let pids = list_pids(proc_root)?;
    let keep = |inode: u64| wanted.contains(&inode);
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let helpers = walkers(pids.len()).saturating_sub(1);
    let walk = std::thread::scope(|scope| {
        let started = spawn_walkers(scope, helpers, proc_root, &pids, &next, &keep, &stop);
        finish_walk(proc_root, &pids, &next, &keep, &stop, started)
    });
    Ok(from_walk(proc_root, &pids, walk, wanted))
}

/// [`scan`] for inodes that are not known yet: walks every process's sockets
/// while `dump` runs on this thread (the socket dump and the walk are both kernel time
/// and independent, so on two cores they take about as long as the longer of the two),
/// then keeps the inodes of the `wanted` set `dump` returns. When that set is empty the
/// walk is stopped at once and nothing is reported as walked, as `scan` would not have
/// walked. A `dump` error stops the walk and is returned.
///
/// Costs memory for every socket inode of the host until `dump` is done (8 bytes each),
/// where `scan` keeps only the wanted ones: for callers that want most sockets' owners.
pub fn scan_alongside<T>(
    proc_root: &Path,
    dump: impl FnOnce() -> Result<(T, HashSet<u64>), Error>,
) -> Result<(T, OwnerMap), Error> {
    let pids = list_pids(proc_root)?;
    let keep = |inode: u64| inode != 0;
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    // Every core walks while this thread dumps; then this thread walks too.
    let helpers = walkers(pids.len());
    let (dumped, walk) = std::thread::scope(|scope| {
        let started = spawn_walkers(scope, helpers, proc_root, &pids, &next, &keep, &stop);
        let dumped = dump();
        let nothing_wanted = match &dumped {
            Ok((_, wanted)) => wanted.iter().all(|&inode| inode == 0),
            Err(_) => true,
        };
        if nothing_wanted {
            stop.store(true, Ordering::Relaxed);
        }
        // This thread walks too, once its dump is done.
        let walk = finish_walk(proc_root, &pids, &next, &keep, &stop, started);
        (dumped, walk)
    });
    let (value, wanted) = dumped?;
    if wanted.iter().all(|&inode| inode == 0) {
        return Ok((value, OwnerMap::default()));
    }
    Ok((value, from_walk(proc_root, &pids, walk, &wanted)))
}

/// The map of a finished walk: the visits committed in pid order, each process that kept
/// a wanted inode described (uid, command) now.
fn from_walk<S: BuildHasher>(
    proc_root: &Path,
    pids: &[u32],
    mut walk: Walk,
    wanted: &HashSet<u64, S>,
) -> OwnerMap {
    let mut map = OwnerMap::new(ScanStats {
        processes_seen: pids.len() as u64,
        as_root: fs::metadata(proc_root.join("self")).is_ok_and(|m| m.uid() == 0),
        fds_read: walk.fds_read,
        fds_lost: walk.fds_lost,
        ..ScanStats::default()
    });
    // Pid order, as a single walk would have committed them.
    walk.visits.sort_unstable_by_key(|v| v.index);
    debug_assert_eq!(walk.visits.len(), pids.len());
    let mut path = proc_root.to_path_buf();
    for visit in walk.visits {
        let mut found = visit.found;
        found.retain(|inode| wanted.contains(inode));
        let outcome = visit.outcome.and_then(|()| {
            if found.is_empty() {
                return Ok(None);
            }
            found.sort_unstable();
            found.dedup();
            describe(&mut path, pids[visit.index]).map(Some)
        });
        match outcome {
            Ok(None) => map.stats_mut().processes_read += 1,
            Ok(Some(process)) => {
                map.stats_mut().processes_read += 1;
                map.stats_mut().processes_owning += 1;
                map.commit(process, &found);
            }
            Err(Lost::Hidden) => {
                map.stats_mut().processes_hidden += 1;
                map.add_unreadable(pids[visit.index]);
            }
            Err(Lost::Vanished) => map.stats_mut().processes_vanished += 1,
            Err(Lost::Failed) => {
                map.stats_mut().processes_failed += 1;
                map.add_unreadable(pids[visit.index]);
            }
        }
    }
    map
}

/// The inode named by an fd link target of the form `socket:[INODE]`, or `None` for
/// anything else (`pipe:[1]`, `anon_inode:[eventfd]`, `/dev/null`, malformed numbers).
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Pids under the proc root, ascending. Only canonical decimal names are processes.
pub(crate) fn list_pids(proc_root: &Path) -> Result<Vec<u32>, Error> {
    let error = |source| Error::ProcRead {
        path: proc_root.to_path_buf(),
        source,
    };
    let mut pids = Vec::new();
    for entry in fs::read_dir(proc_root).map_err(error)? {
        if let Some(pid) = parse_pid(entry.map_err(error)?.file_name().as_bytes()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// The first process under the proc root (in pid order) that `matches` its pid and command
/// name, if any; `candidate` skips pids cheaply before `<pid>/comm` (world-readable) is
/// read. Answers "does anything match this owner filter at all?": the caller decides what
/// matching means. A process vanishing meanwhile does not match. Fails only when the proc
/// root itself cannot be listed.
pub fn find_process(
    proc_root: &Path,
    candidate: impl Fn(u32) -> bool,
    matches: impl Fn(u32, &str) -> bool,
) -> Result<Option<u32>, Error> {
    for pid in list_pids(proc_root)?.into_iter().filter(|&p| candidate(p)) {
        let Ok(comm) = fs::read(proc_root.join(pid.to_string()).join("comm")) else {
            continue;
        };
        if matches(pid, &command_name(comm)) {
            return Ok(Some(pid));
        }
    }
    Ok(None)
}

/// `"1234"` -> 1234; `self`, `net`, `0`, `0123`, `-1` and overflow -> `None`.
fn parse_pid(name: &[u8]) -> Option<u32> {
    if name.first().is_none_or(|&b| !(b'1'..=b'9').contains(&b)) {
        return None;
    }
    name.iter().try_fold(0u32, |acc, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// Most threads the walk uses: beyond a few, they contend in the kernel.
pub const MAX_WALKERS: usize = 4;

/// How many threads walk `processes` processes: one per core up to [`MAX_WALKERS`], and one
/// for a handful of processes (a thread costs more than it saves there).
fn walkers(processes: usize) -> usize {
    if processes < 32 {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WALKERS)
}

/// One walking thread's buffers and counters, reused across processes.
struct Walker {
    /// The proc root between visits; `<root>/<pid>/...` during one.
    path: PathBuf,
    /// The pid as text.
    name: String,
    /// The kept socket inodes of the current process.
    found: Vec<u64>,
    /// `getdents64` buffer for fd directories.
    dirents: Vec<MaybeUninit<u8>>,
    /// Descriptors read (one `readlinkat` each).
    fds_read: u64,
    /// Descriptors gone (or not links) by the time of their `readlinkat`.
    fds_lost: u64,
}

impl Walker {
    fn new(proc_root: &Path) -> Walker {
        Walker {
            path: proc_root.to_path_buf(),
            name: String::new(),
            found: Vec::new(),
            dirents: vec![MaybeUninit::uninit(); DIRENT_BUFFER],
            fds_read: 0,
            fds_lost: 0,
        }
    }

    /// Reads one process's fd table into `self.found` (the socket inodes `keep` accepts).
    /// Leaves `self.path` as it found it.
    fn visit(&mut self, pid: u32, keep: &dyn Fn(u64) -> bool) -> Result<(), Lost> {
        self.name.clear();
        let _ = write!(self.name, "{pid}"); // Writing to a String cannot fail.
        self.found.clear();
        self.path.push(&self.name);
        self.path.push("fd");
        let listed = self.read_fd_table(keep);
        self.path.pop();
        self.path.pop();
        listed.map_err(|e| Lost::of(&e))
    }

    /// With `path` = `<root>/<pid>/fd`: one `readlinkat` per descriptor, relative to the open
    /// directory (a full path would be walked again, `/proc/PID/fd` and all, for every
    /// descriptor); wanted socket inodes go to `found`. An error listing the directory, or a
    /// permission error on any link, is the process's; any other error on one descriptor (it
    /// was closed) is only that descriptor's.
    fn read_fd_table(&mut self, keep: &dyn Fn(u64) -> bool) -> io::Result<()> {
        let dir = rustix::fs::open(
            &self.path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut entries = RawDir::new(&dir, &mut self.dirents);
        let mut link = [0u8; LINK_BUFFER];
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = entry.file_name();
            if matches!(name.to_bytes(), b"." | b"..") {
                continue;
            }
            match rustix::fs::readlinkat_raw(&dir, name, &mut link) {
                Ok(len) => {
                    self.fds_read += 1;
                    // A target that filled the buffer may be cut short: not a socket link,
                    // which is at most 29 bytes.
                    if len < link.len() {
                        if let Some(inode) = socket_inode(&link[..len]) {
                            if inode != 0 && keep(inode) {
                                self.found.push(inode);
                            }
                        }
                    }
                }
                // Listing needs only the directory's mode; reading a link needs ptrace access,
                // which even root can be refused (sandbox, LSM). Its other links would fail the
                // same way: the process is hidden.
                Err(Errno::ACCESS) => return Err(Errno::ACCESS.into()),
                Err(_) => self.fds_lost += 1,
            }
        }
        Ok(())
    }
}

/// One process's fd table as a walker read it.
struct Visit {
    /// Position of the pid in the walk's list.
    index: usize,
    outcome: Result<(), Lost>,
    /// The socket inodes kept, in fd order (may repeat).
    found: Vec<u64>,
}

/// What the walkers read, before it is matched against the wanted inodes.
#[derive(Default)]
struct Walk {
    visits: Vec<Visit>,
    fds_read: u64,
    fds_lost: u64,
}

/// A socket-inode test shared by the walkers.
type Keep<'k> = &'k (dyn Fn(u64) -> bool + Sync);

/// Starts `count` walker threads in `scope`, taking processes from `next`.
fn spawn_walkers<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    count: usize,
    proc_root: &'env Path,
    pids: &'env [u32],
    next: &'env AtomicUsize,
    keep: Keep<'env>,
    stop: &'env AtomicBool,
) -> Vec<std::thread::ScopedJoinHandle<'scope, Walk>> {
    // A failed spawn only means fewer walkers: the caller walks too (`finish_walk`).
    (0..count)
        .filter_map(|_| {
            std::thread::Builder::new()
                .name("tcpstat-owners".into())
                .spawn_scoped(scope, move || walk_part(proc_root, pids, next, keep, stop))
                .ok()
        })
        .collect()
}

/// Walks on this thread too until no process is left, then gathers every walker's part.
fn finish_walk(
    proc_root: &Path,
    pids: &[u32],
    next: &AtomicUsize,
    keep: Keep<'_>,
    stop: &AtomicBool,
    helpers: Vec<std::thread::ScopedJoinHandle<'_, Walk>>,
) -> Walk {
    let mut all = walk_part(proc_root, pids, next, keep, stop);
    for handle in helpers {
        // A walker cannot panic short of a bug; its processes would then be missing from
        // the stats, which the debug assertion in `from_walk` catches in tests.
        if let Ok(part) = handle.join() {
            all.visits.extend(part.visits);
            all.fds_read += part.fds_read;
            all.fds_lost += part.fds_lost;
        }
    }
    all
}

/// Walks processes from the shared position `next` until none is left or `stop` is set.
fn walk_part(
    proc_root: &Path,
    pids: &[u32],
    next: &AtomicUsize,
    keep: Keep<'_>,
    stop: &AtomicBool,
) -> Walk {
    let mut walker = Walker::new(proc_root);
    let mut part = Walk::default();
    while !stop.load(Ordering::Relaxed) {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(&pid) = pids.get(index) else {
            break;
        };
        let outcome = walker.visit(pid, keep);
        let found = if outcome.is_ok() {
            walker.found.clone()
        } else {
            Vec::new()
        };
        part.visits.push(Visit {
            index,
            outcome,
            found,
        });
    }
    part.fds_read = walker.fds_read;
    part.fds_lost = walker.fds_lost;
    part
}

/// Uid and command of the process at `<path>/<pid>` (`path` is restored).
fn describe(path: &mut PathBuf, pid: u32) -> Result<Process, Lost> {
    path.push(pid.to_string());
    let uid = fs::metadata(&*path).map(|m| m.uid());
    let comm = uid.and_then(|uid| in_child(path, "comm", |p| fs::read(p)).map(|comm| (uid, comm)));
    path.pop();
    let (uid, comm) = comm.map_err(|e| Lost::of(&e))?;
    Ok(Process {
        pid,
        uid,
        command: command_name(comm),
    })
}

/// Runs `f` on `path/name`, then restores `path`.
fn in_child<T>(path: &mut PathBuf, name: &str, f: impl FnOnce(&Path) -> T) -> T {
    path.push(name);
    let result = f(path);
    path.pop();
    result
}

/// The command name of process `pid` (`<proc_root>/PID/comm`, readable by anyone), or
/// `None` when it is gone.
pub fn command_of(proc_root: &Path, pid: u32) -> Option<String> {
    fs::read(proc_root.join(pid.to_string()).join("comm"))
        .ok()
        .map(command_name)
}

/// `comm` bytes without the trailing newline, as text.
pub(crate) fn command_name(mut comm: Vec<u8>) -> String {
    if comm.last() == Some(&b'\n') {
        comm.pop();
    }
    String::from_utf8(comm).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fake proc root in the temp directory, removed on drop.
    struct FakeProc(PathBuf);

    impl FakeProc {
        fn new() -> FakeProc {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tcpstat-owners-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create fake proc root");
            FakeProc(dir)
        }

        /// `<root>/<pid>/comm` and an fd dir holding `links` (fd number, target).
        fn process(&self, pid: &str, comm: Option<&str>, links: &[(u32, &str)]) {
            let fd = self.0.join(pid).join("fd");
            fs::create_dir_all(&fd).expect("create fd dir");
            if let Some(comm) = comm {
                fs::write(self.0.join(pid).join("comm"), format!("{comm}\n")).expect("comm");
            }
            for (n, target) in links {
                symlink(target, fd.join(n.to_string())).expect("fd link");
            }
        }

        fn scan(&self, wanted: &[u64]) -> OwnerMap {
            scan(&self.0, &wanted.iter().copied().collect::<HashSet<u64>>())
                .expect("fake root lists")
        }
    }

    impl Drop for FakeProc {
        fn drop(&mut self) {
            // Undo any mode-000 directory so the tree can be removed.
            if let Ok(entries) = fs::read_dir(&self.0) {
                for entry in entries.flatten() {
                    let _ = fs::set_permissions(
                        entry.path().join("fd"),
                        fs::Permissions::from_mode(0o755),
                    );
                }
            }
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn pids(map: &OwnerMap, inode: u64) -> Vec<u32> {
        map.owner_processes(inode).map(|p| p.pid).collect()
    }

    #[test]
    fn socket_links_parse_and_everything_else_does_not() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"socket:[0]"), Some(0));
        assert_eq!(
            socket_inode(b"socket:[18446744073709551615]"),
            Some(u64::MAX)
        );
        for other in [
            &b"pipe:[1]"[..],
            b"anon_inode:[eventfd]",
            b"anon_inode:inotify",
            b"/dev/null",
            b"/tmp/socket:[5]",
            b"socket:[]",
            b"socket:[12a]",
            b"socket:[-1]",
            b"socket:[ 12]",
            b"socket:[12",
            b"socket:12]",
            b"socket:[12]x",
            b"socket:[18446744073709551616]",
            b"",
        ] {
            assert_eq!(
                socket_inode(other),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn only_canonical_numbers_are_pids() {
        assert_eq!(parse_pid(b"1"), Some(1));
        assert_eq!(parse_pid(b"4194304"), Some(4_194_304));
        for name in [
            &b"self"[..],
            b"thread-self",
            b"net",
            b"0",
            b"0123",
            b"12a",
            b"-1",
            b"",
            b"4294967296",
        ] {
            assert_eq!(parse_pid(name), None, "{}", String::from_utf8_lossy(name));
        }
    }

    #[test]
    fn comm_keeps_raw_bytes_but_drops_the_newline() {
        assert_eq!(command_name(b"nginx\n".to_vec()), "nginx");
        assert_eq!(command_name(b"a\tb\n".to_vec()), "a\tb");
        assert_eq!(command_name(b"no-newline".to_vec()), "no-newline");
        assert_eq!(command_name(b"bad\xff\n".to_vec()), "bad\u{fffd}");
    }

    #[test]
    fn fake_tree_attributes_shared_sockets_to_each_owner_once() {
        let proc = FakeProc::new();
        proc.process(
            "123",
            Some("server"),
            &[(3, "socket:[77]"), (4, "pipe:[9]")],
        );
        // Same socket on two fds, plus one not wanted and one wanted.
        let worker = [
            (0, "/dev/null"),
            (5, "socket:[77]"),
            (6, "socket:[77]"),
            (7, "socket:[88]"),
            (8, "socket:[99]"),
            (9, "anon_inode:[eventfd]"),
        ];
        proc.process("200", Some("worker"), &worker);
        // A kernel thread: empty fd table.
        proc.process("2", Some("kthreadd"), &[]);
        // Not processes.
        proc.process("self", Some("nope"), &[(3, "socket:[77]")]);
        proc.process("0123", Some("nope"), &[(3, "socket:[77]")]);
        fs::write(proc.0.join("uptime"), "1.0 1.0\n").expect("file");

        let map = proc.scan(&[77, 99, 0, 5]);
        assert_eq!(pids(&map, 77), [123, 200]);
        assert_eq!(pids(&map, 99), [200]);
        assert!(map.owners(88).is_empty(), "88 was not wanted");
        assert!(map.owners(5).is_empty(), "nobody holds 5");
        let commands: Vec<_> = map.processes().map(|p| p.command.as_str()).collect();
        assert_eq!(commands, ["server", "worker"]);
        assert_eq!(map.process_count(), 2);
        assert_eq!(map.owned_inodes(), 2);
        let uid = fs::metadata(proc.0.join("123")).expect("stat").uid();
        assert!(map.processes().all(|p| p.uid == uid));
        for (n, idx) in map.owners(77).iter().enumerate() {
            assert_eq!(idx.get(), n, "indices follow pid order");
        }
        assert_eq!(
            map.stats(),
            ScanStats {
                processes_seen: 3,
                processes_read: 3,
                processes_owning: 2,
                fds_read: 8,
                // The fake root's `self` is a directory this test created.
                as_root: uid == 0,
                ..ScanStats::default()
            }
        );
    }

    #[test]
    fn vanished_processes_are_counted_and_dropped() {
        let proc = FakeProc::new();
        proc.process("123", Some("alive"), &[(3, "socket:[77]")]);
        // Owns 77 but its comm is gone: exited after its fds were read.
        proc.process("125", None, &[(3, "socket:[77]"), (4, "socket:[78]")]);
        // Exited after its fds were read, but owned nothing wanted: no comm needed.
        proc.process("126", None, &[(3, "socket:[1]")]);
        // Exited between the listing and the fd read: no fd directory.
        fs::create_dir(proc.0.join("124")).expect("dir");
        // An fd entry that is not a link (cannot be readlink'd): lost, not fatal.
        fs::write(proc.0.join("123/fd/9"), "").expect("file");

        let map = proc.scan(&[77, 78]);
        assert_eq!(pids(&map, 77), [123]);
        assert!(map.owners(78).is_empty(), "the vanished owner is dropped");
        let stats = map.stats();
        assert_eq!(stats.processes_seen, 4);
        assert_eq!(stats.processes_read, 2);
        assert_eq!(stats.processes_vanished, 2);
        assert_eq!(stats.processes_owning, 1);
        assert_eq!(stats.fds_read, 4);
        assert_eq!(stats.fds_lost, 1);
    }

    #[test]
    fn other_errors_are_failures_not_panics() {
        let proc = FakeProc::new();
        fs::create_dir(proc.0.join("7")).expect("dir");
        fs::write(proc.0.join("7/fd"), "not a directory").expect("file");
        let stats = proc.scan(&[1]).stats();
        assert_eq!((stats.processes_seen, stats.processes_failed), (1, 1));
    }

    #[test]
    fn a_walk_alongside_the_dump_finds_what_a_walk_after_it_finds() {
        let proc = FakeProc::new();
        proc.process(
            "123",
            Some("server"),
            &[(3, "socket:[77]"), (4, "pipe:[9]")],
        );
        proc.process(
            "200",
            Some("worker"),
            &[(5, "socket:[77]"), (7, "socket:[88]"), (8, "socket:[99]")],
        );
        proc.process("2", Some("kthreadd"), &[]);
        let wanted = HashSet::from([77u64, 99, 0, 5]);
        let after = scan(&proc.0, &wanted).expect("walks");
        let (value, alongside) =
            scan_alongside(&proc.0, || Ok(("dumped", wanted.clone()))).expect("walks");
        assert_eq!(value, "dumped");
        assert_eq!(pids(&alongside, 77), pids(&after, 77));
        assert_eq!(pids(&alongside, 99), [200]);
        assert!(
            alongside.owners(88).is_empty(),
            "88 was walked but not wanted"
        );
        assert_eq!(alongside.stats(), after.stats());
        assert_eq!(
            alongside.processes().cloned().collect::<Vec<_>>(),
            after.processes().cloned().collect::<Vec<_>>()
        );
        // Nothing wanted after all: as if no walk had been made.
        let (_, none) = scan_alongside(&proc.0, || Ok(((), HashSet::from([0u64])))).expect("stops");
        assert_eq!(none.stats(), ScanStats::default());
        // The dump's error is the result.
        let err = scan_alongside(&proc.0, || -> Result<((), HashSet<u64>), Error> {
            Err(Error::NetlinkOpen(io::Error::from_raw_os_error(93)))
        })
        .expect_err("the dump failed");
        assert!(matches!(err, Error::NetlinkOpen(_)), "{err}");
    }

    #[test]
    fn nothing_wanted_means_no_walk() {
        let missing = Path::new("/nonexistent/tcpstat-proc-root");
        let map = scan(missing, &HashSet::<u64>::new()).expect("no walk");
        assert_eq!(map.stats(), ScanStats::default());
        let map = scan(missing, &HashSet::from([0u64])).expect("0 is never wanted");
        assert_eq!(map.stats(), ScanStats::default());
    }

    #[test]
    fn an_unlistable_root_is_an_error() {
        let missing = Path::new("/nonexistent/tcpstat-proc-root");
        let err = scan(missing, &HashSet::from([1u64])).expect_err("no root");
        assert!(
            err.to_string().contains("/nonexistent/tcpstat-proc-root"),
            "{err}"
        );
    }

    /// Root bypasses mode bits, so this only means something unprivileged; as root the
    /// integration test `hidden_processes_are_counted_after_dropping_root` covers it with real
    /// processes.
    #[test]
    fn unreadable_fd_tables_are_hidden() {
        let proc = FakeProc::new();
        proc.process("10", Some("mine"), &[(3, "socket:[77]")]);
        proc.process("11", Some("theirs"), &[(3, "socket:[77]")]);
        fs::set_permissions(proc.0.join("11/fd"), fs::Permissions::from_mode(0o000))
            .expect("chmod");
        if fs::read_dir(proc.0.join("11/fd")).is_ok() {
            println!("skipped: mode 000 does not stop this user (root); see tests/owners.rs");
            return;
        }
        let map = proc.scan(&[77]);
        assert_eq!(pids(&map, 77), [10]);
        let stats = map.stats();
        assert_eq!((stats.processes_read, stats.processes_hidden), (1, 1));
    }
}
