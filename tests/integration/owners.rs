//! Socket owner resolution against the real /proc, with real processes.
//!
//! - This test process's own listener is found, once, although it sits on two descriptors.
//! - A socket inherited by a child (`sleep`, with the listener as its stdin) is attributed to
//!   both processes, and to the parent alone once the child is gone.
//! - As root: a copy of this test binary, started with uid/gid 65534, scans /proc and must see
//!   its own socket, not root's, and count root's processes as hidden; another copy drops
//!   privileges itself (so it is not dumpable) and must still be reported with uid 65534.
//!
//! Waits poll the kernel with a deadline; nothing sleeps and hopes.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use nix::unistd::{Gid, Uid};

use tcpstat::collect::owners;
use tcpstat::collect::procnet;
use tcpstat::model::Family;
use tcpstat::model::{OwnerMap, ScanStats};

use crate::util::{serial, skip, wait_until, WAIT};

const NOBODY: u32 = 65534;
/// Set in the environment of a helper copy of this binary: what the helper must do.
const HELPER_ENV: &str = "TCPSTAT_OWNERS_HELPER";
/// The inode of a socket held by the root parent, for the `scan` helper.
const ROOT_INODE_ENV: &str = "TCPSTAT_OWNERS_ROOT_INODE";

fn proc_root() -> &'static Path {
    Path::new("/proc")
}

/// The socket inode behind a descriptor (stat follows the /proc/self/fd link to the socket).
fn inode_of(fd: &impl AsRawFd) -> u64 {
    fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .expect("stat own fd")
        .ino()
}

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind a loopback listener")
}

/// Every test here that forks or scans holds [`serial`]: between `fork` and `exec` a child
/// holds a copy of every descriptor, CLOEXEC or not, so a scan racing with another test's
/// spawn would rightly see that child as a second owner of our sockets. (`Command::spawn`
/// returns after the child's `exec`, when its CLOEXEC copies are closed.)
fn scan(wanted: &[u64]) -> OwnerMap {
    owners::scan(proc_root(), &wanted.iter().copied().collect::<HashSet<_>>()).expect("/proc lists")
}

fn owners(map: &OwnerMap, inode: u64) -> Vec<(u32, String)> {
    map.owner_processes(inode)
        .map(|p| (p.pid, p.command.clone()))
        .collect()
}

fn comm_of(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .expect("read comm")
        .trim_end_matches('\n')
        .to_string()
}

/// Effective uid of this process, from `/proc/self/status` (no libc call needed).
fn euid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
        .expect("Uid line")
}

fn assert_partition(stats: &ScanStats) {
    assert_eq!(
        stats.processes_seen,
        stats.processes_read
            + stats.processes_hidden
            + stats.processes_vanished
            + stats.processes_failed,
        "every process ends in exactly one bucket: {stats:?}"
    );
}

/// Kills and reaps the child when the test ends, passing or not.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `scan` until `done` holds, for at most [`WAIT`].
fn scan_until(wanted: &[u64], what: &str, done: impl Fn(&OwnerMap) -> bool) -> OwnerMap {
    wait_until(what, WAIT, || {
        let map = scan(wanted);
        if done(&map) {
            Ok(map)
        } else {
            Err(format!(
                "last owners: {:?}",
                wanted.iter().map(|&i| owners(&map, i)).collect::<Vec<_>>()
            ))
        }
    })
}

#[test]
fn own_listener_is_found_once_with_pid_comm_and_uid() {
    let _serial = serial();
    let listener = listener();
    let second_fd = listener.try_clone().expect("dup");
    let inode = inode_of(&listener);
    assert_eq!(inode, inode_of(&second_fd), "a dup shares the socket");

    // The inode from stat(2) is the one the kernel's socket table shows for our port.
    let port = listener.local_addr().expect("addr").port();
    let table = fs::read_to_string("/proc/self/net/tcp").expect("read tcp table");
    let row = table
        .lines()
        .skip(1)
        .filter_map(|l| procnet::parse_line(l.as_bytes(), Family::V4).ok())
        .find(|r| r.local_port == port && r.remote_port == 0)
        .expect("our listener is in /proc/self/net/tcp");
    assert_eq!(row.inode, inode);

    let map = scan(&[inode]);
    let me = std::process::id();
    assert_eq!(
        owners(&map, inode),
        [(me, comm_of(me))],
        "once, by this process"
    );
    let process = map.owner_processes(inode).next().expect("one owner");
    assert_eq!(process.uid, euid());
    assert!(
        process.command.starts_with("integration"),
        "the leader thread's comm is the test binary's name: {:?}",
        process.command
    );
    let stats = map.stats();
    assert_partition(&stats);
    assert!(
        stats.processes_owning >= 1 && stats.fds_read >= 2,
        "{stats:?}"
    );
    println!("scan of this host's /proc: {stats:?}");
}

#[test]
fn an_inherited_socket_is_attributed_to_parent_and_child() {
    let _serial = serial();
    let listener = listener();
    let inode = inode_of(&listener);
    let me = std::process::id();
    // The child gets the listening socket as its stdin: no unsafe, no CLOEXEC games.
    let child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::from(OwnedFd::from(
            listener.try_clone().expect("dup"),
        )))
        .spawn()
        .expect("spawn sleep");
    let child = Reaped(child);
    let kid = child.0.id();

    let map = scan_until(&[inode], "the child to exec and hold the socket", |map| {
        owners(map, inode).contains(&(kid, "sleep".to_string()))
    });
    let mut expected = vec![(me, comm_of(me)), (kid, "sleep".to_string())];
    expected.sort();
    assert_eq!(owners(&map, inode), expected, "both owners, sorted by pid");
    assert_eq!(map.process_count(), 2);
    let pids: Vec<u32> = map.processes().map(|p| p.pid).collect();
    assert_eq!(pids, expected.iter().map(|e| e.0).collect::<Vec<_>>());
    for (n, idx) in map.owners(inode).iter().enumerate() {
        assert_eq!(idx.get(), n);
        assert_eq!(map.process(*idx).pid, expected[n].0);
    }

    drop(child); // kill + reap: the pid is gone from /proc
    let map = scan(&[inode]);
    assert_eq!(owners(&map, inode), [(me, comm_of(me))]);
}

#[test]
fn hidden_processes_are_counted_after_dropping_root() {
    let _serial = serial();
    if euid() != 0 {
        skip(format!(
            "needs root to start a copy of itself as uid {NOBODY}"
        ));
        return;
    }
    let listener = listener();
    let root_inode = inode_of(&listener);
    let Some(output) = run_helper("scan", |cmd| {
        cmd.uid(NOBODY)
            .gid(NOBODY)
            .env(ROOT_INODE_ENV, root_inode.to_string());
    }) else {
        return;
    };
    // HELPER pid own=<pids> root=<pids> seen read hidden vanished failed
    let fields: Vec<&str> = output.split_whitespace().collect();
    assert_eq!(fields.len(), 9, "helper said {output:?}");
    let number = |i: usize| fields[i].parse::<u64>().expect("number");
    let helper_pid = fields[1];
    assert_eq!(fields[2], format!("own={helper_pid}"), "{output}");
    assert_eq!(
        fields[3], "root=",
        "root's socket must not be attributed by an unprivileged scan: {output}"
    );
    let (seen, read, hidden, vanished, failed) =
        (number(4), number(5), number(6), number(7), number(8));
    assert_eq!(seen, read + hidden + vanished + failed, "{output}");
    assert!(
        hidden >= 1,
        "this root test process at least is hidden: {output}"
    );
    assert!(read >= 1, "the helper reads its own fd table: {output}");
    println!("as uid {NOBODY} (root inode {root_inode}): {output}");
    drop(listener);
}

#[test]
fn a_non_dumpable_process_is_reported_with_its_effective_uid() {
    let _serial = serial();
    if euid() != 0 {
        skip("needs root to drop privileges in a child");
        return;
    }
    let Some(mut child) = spawn_helper("hold", |_| {}) else {
        return;
    };
    let stdout = child.0.stdout.take().expect("piped stdout");
    // Blocks until the helper prints (it then blocks itself) or exits (EOF: no line).
    let mut said = Vec::new();
    let inode: u64 = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            let inode = l
                .split_once("READY ")
                .and_then(|(_, n)| n.trim().parse().ok());
            said.push(l);
            inode
        })
        .unwrap_or_else(|| panic!("helper exited without a socket: {said:?}"));
    let pid = child.0.id();
    let map = scan(&[inode]);
    let owner = map
        .owner_processes(inode)
        .next()
        .expect("root sees the helper");
    assert_eq!((owner.pid, owner.uid), (pid, NOBODY));
    let fd_dir_uid = fs::metadata(format!("/proc/{pid}/fd")).map(|m| m.uid());
    println!(
        "non-dumpable helper: /proc/{pid} uid {}, /proc/{pid}/fd uid {fd_dir_uid:?}",
        owner.uid
    );
}

/// Starts this test binary running only [`helper`], with `HELPER_ENV=mode`.
fn spawn_helper(mode: &str, configure: impl FnOnce(&mut Command)) -> Option<Reaped> {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "owners::helper",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(HELPER_ENV, mode)
    .current_dir("/")
    .stdout(Stdio::piped());
    configure(&mut cmd);
    match cmd.spawn() {
        Ok(child) => Some(Reaped(child)),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            skip(format!(
                "uid {NOBODY} cannot execute this test binary ({e}): check out where it can"
            ));
            None
        }
        Err(e) => panic!("cannot start the helper: {e}"),
    }
}

/// Runs a helper to completion and returns its `HELPER ...` line.
fn run_helper(mode: &str, configure: impl FnOnce(&mut Command)) -> Option<String> {
    let mut child = spawn_helper(mode, configure)?;
    let stdout = child.0.stdout.take().expect("piped stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .collect();
    let status = child.0.wait().expect("wait helper");
    assert!(status.success(), "helper failed: {lines:?}");
    // libtest prints "test helper ... " on the same line, before the test's own output.
    let line = lines
        .iter()
        .find_map(|l| l.find("HELPER ").map(|at| l[at..].to_string()))
        .unwrap_or_else(|| panic!("helper did not report: {lines:?}"));
    Some(line)
}

/// Not a test on its own: does nothing unless started by the tests above with `HELPER_ENV`.
#[test]
fn helper() {
    match std::env::var(HELPER_ENV).as_deref() {
        Ok("scan") => {
            // Running as NOBODY: our own socket must be found, root's must not.
            let own = listener();
            let own_inode = inode_of(&own);
            let root_inode: u64 = std::env::var(ROOT_INODE_ENV)
                .ok()
                .and_then(|v| v.parse().ok())
                .expect("root inode in the environment");
            let map = scan(&[own_inode, root_inode]);
            let pids = |inode| {
                map.owner_processes(inode)
                    .map(|p| p.pid.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let s = map.stats();
            println!(
                "HELPER {} own={} root={} {} {} {} {} {}",
                std::process::id(),
                pids(own_inode),
                pids(root_inode),
                s.processes_seen,
                s.processes_read,
                s.processes_hidden,
                s.processes_vanished,
                s.processes_failed
            );
        }
        Ok("hold") => {
            // Started as root: drop to NOBODY ourselves, which makes this process not
            // dumpable (fs.suid_dumpable is normally 0), then hold a socket until killed.
            // glibc's setgid and setuid (through nix) change every thread of the process.
            nix::unistd::setgroups(&[]).expect("setgroups");
            nix::unistd::setgid(Gid::from_raw(NOBODY)).expect("setgid");
            nix::unistd::setuid(Uid::from_raw(NOBODY)).expect("setuid");
            // Die with the test that started us, even if it is killed (set after setuid,
            // which clears it).
            let _ = rustix::process::set_parent_process_death_signal(Some(
                rustix::process::Signal::KILL,
            ));
            let held = listener();
            println!("READY {}", inode_of(&held));
            // Blocks until the parent kills us: nobody ever connects.
            let _ = held.accept();
        }
        _ => {}
    }
}

/// Every socket inode in this network namespace's TCP tables (v4 and v6).
fn all_socket_inodes() -> Vec<u64> {
    let mut inodes = Vec::new();
    for family in Family::ALL {
        let path = procnet::table_path(Path::new("/proc/self"), family);
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        inodes.extend(
            text.lines()
                .skip(1)
                .filter_map(|l| procnet::parse_line(l.as_bytes(), family).ok())
                .map(|r| r.inode)
                .filter(|&i| i != 0),
        );
    }
    inodes
}

/// Cost of one walk over this host's /proc, wanting every TCP socket of this namespace.
/// `cargo test --release --test integration -- --ignored --nocapture owners::measure`
#[test]
#[ignore = "measurement, not a check"]
fn measure_scan_of_this_host() {
    let _serial = serial();
    let wanted: HashSet<u64> = all_socket_inodes().into_iter().collect();
    for _ in 0..3 {
        let start = Instant::now();
        let map = owners::scan(proc_root(), &wanted).expect("scan");
        let took = start.elapsed();
        println!(
            "{} wanted, {} owned, {} owners: {took:?}; {:?}",
            wanted.len(),
            map.owned_inodes(),
            map.process_count(),
            map.stats()
        );
    }
}

/// Cost with many sockets: this process opens `pairs` Unix socket pairs (2 fds each), all
/// wanted. `cargo test --release --test integration -- --ignored --nocapture owners::measure`
#[test]
#[ignore = "measurement, not a check"]
fn measure_scan_with_many_sockets() {
    let _serial = serial();
    let pairs = 9_000;
    let held: Vec<_> = (0..pairs)
        .map(|_| std::os::unix::net::UnixStream::pair().expect("socketpair"))
        .collect();
    let wanted: HashSet<u64> = held
        .iter()
        .flat_map(|(a, b)| [inode_of(a), inode_of(b)])
        .collect();
    for _ in 0..3 {
        let start = Instant::now();
        let map = owners::scan(proc_root(), &wanted).expect("scan");
        let took = start.elapsed();
        assert_eq!(map.owned_inodes(), wanted.len());
        println!(
            "{} wanted, {} owned: {took:?} ({:.0} ns per fd); {:?}",
            wanted.len(),
            map.owned_inodes(),
            took.as_nanos() as f64 / map.stats().fds_read as f64,
            map.stats()
        );
    }
}
