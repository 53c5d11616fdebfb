//! Golden outputs: every subcommand and output format of the binary on one fixed socket
//! table, compared byte for byte with `tests/golden/*.txt`.
//!
//! ```text
//! cargo test --test integration golden                    # compare
//! TCPSTAT_BLESS=1 cargo test --test integration golden    # rewrite the golden files
//! ```
//!
//! # The table
//!
//! A thread unshares a network, a mount and (for its children) a pid namespace, brings `lo`
//! up, pins the sysctls tcpstat reports (some defaults depend on the machine's memory), and
//! makes every socket with fixed addresses and ports (see [`expected_table`]):
//!
//! - LISTEN on 127.0.0.1:8080 (backlog 128), 0.0.0.0:9090 (128), [::1]:8443 (64) and a
//!   dual-stack [::]:9443 (256);
//! - to 8080 from 127.0.0.1:40001 and :40002 ESTABLISHED pairs; from :40003 a half-closed pair
//!   (client FIN_WAIT_2, server CLOSE_WAIT); from :40005 a connection the server closed first,
//!   then the client: TIME_WAIT on the server side; from :40004 a connection the kernel
//!   completed and nobody accepted (server end ESTABLISHED with inode 0, accept queue 1/128);
//! - 127.0.0.1:40006 -> 0.0.0.0:9090, [::1]:40011 -> [::1]:8443 ESTABLISHED pairs,
//!   [::1]:40012 -> [::1]:8443 half-closed, and 127.0.0.1:40013 -> [::]:9443, whose server
//!   end is the IPv6 socket [::ffff:127.0.0.1]:9443;
//! - bound, never listening (CLOSED): 127.0.0.1:9100 and [::1]:9101.
//!
//! Every socket with a file is then held by one of two `sleep 600` children, which inherit
//! them: the first child holds the listeners, the accepted ends and the bound sockets (13),
//! the second the client ends (8). They are the first two processes of the new pid namespace
//! (pids 1 and 2 there), and a `proc` mounted for that namespace over `/proc` (in the private
//! mount namespace) makes every tcpstat run inside see only them and itself: owners, pids
//! and the owner scan's counts are the same on every run and on every machine. The test
//! waits (polling /proc with a deadline) until the kernel shows exactly the expected table.
//!
//! # The commands
//!
//! [`CASES`]: run from that thread, so inside all three namespaces; the `Host` ones from the
//! test's main thread in the host's namespaces with `--netns-pid <host pid of the first
//! holder>`; then `serve` inside, scraped once from 127.0.0.1:40100 and stopped with SIGTERM.
//! The environment is empty but for PATH, stdin is /dev/null, stdout and stderr are pipes
//! (no terminal: no colour, no screen handling).
//!
//! # Golden files
//!
//! One per command, named after its arguments ([`file_name`]): a first line `# exit N` (or
//! `# signal N`), then stdout exactly as printed (masked), then, when not empty, `# stderr`
//! and stderr (masked). `serve` has `# GET /metrics` and the whole HTTP response before its
//! stderr. A section that does not end in a newline gets one, after a `# (no newline)` line.
//!
//! # Masking
//!
//! Only what differs between runs (or machines); each rule is commented in [`mask`]:
//!
//! - timestamps (RFC 3339) become their shape, `YYYY-MM-DDThh:mm:ss.fffZ` (same width);
//! - the hostname becomes `<hostname>`;
//! - socket inodes (but 0: no file) `<inode>`, socket cookies `<cookie>`, namespace inodes
//!   `ns:[<netns-inode>]`;
//! - timers' time left: JSON `remaining_ms` (but 0: no timer) `<ms>`, `list -o`'s
//!   `timewait:59.8s` `timewait:<left>`;
//! - durations: `tcpstat_scrape_duration_seconds`, watch's `elapsed_s` and sockets' ages
//!   (`oldest_s`) become `<seconds>`;
//! - the holders' pids as the host sees them (`--netns-pid` output) `<host-pid>`; inside
//!   their pid namespace they are always 1 and 2 and stay, as do the owner scan's counts;
//! - doctor's host-wide numbers from /proc/net/sockstat (TCP buffer memory, orphans);
//! - serve's `Content-Length` (first checked against the body) `<length>`.
//!
//! Widths: `list`'s INODE column has a fixed width, so `<inode>` is right-aligned in it and
//! every row keeps its layout; the other masked values are in JSON, in free text at a
//! line's end or in footers. No table has its spaces normalised. Two outputs are normalised
//! instead: a doctor finding with host-wide numbers has its summary joined onto one line
//! (it is wrapped by the numbers' width), and `list --sort state` rows that tie on its sort
//! key (state, local address and port) are sorted (they come in the kernel's hash order,
//! which changes with every namespace).

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use rustix::io::FdFlags;
use rustix::net::{AddressFamily, Shutdown, SocketFlags, SocketType};

use crate::util::snapshot::Snapshots;
use crate::util::{self, Outcome, WAIT};

/// The golden files, one per command.
const GOLDEN: Snapshots = Snapshots {
    dir: "tests/golden",
    filter: "golden",
};

// ---------------------------------------------------------------------------------------------
// The socket table
// ---------------------------------------------------------------------------------------------

const WEB: u16 = 8080;
const ANY4: u16 = 9090;
const WEB6: u16 = 8443;
const ANY6: u16 = 9443;
const BOUND4: u16 = 9100;
const BOUND6: u16 = 9101;
const C_EST1: u16 = 40001;
const C_EST2: u16 = 40002;
const C_HALF: u16 = 40003;
const C_QUEUED: u16 = 40004;
const C_TW: u16 = 40005;
const C_ANY4: u16 = 40006;
const C_EST6: u16 = 40011;
const C_HALF6: u16 = 40012;
const C_MAPPED: u16 = 40013;
/// `serve` listens here; the scrape comes from `SCRAPER`.
const SERVE: u16 = 9555;
const SCRAPER: u16 = 40100;

/// The holders' pids inside the new pid namespace (the first two processes made there).
const SERVER_PID: u32 = 1;
const CLIENT_PID: u32 = 2;

/// The sysctls tcpstat reads, pinned to today's kernel defaults: `tcp_max_tw_buckets` and
/// `tcp_max_syn_backlog` default to a share of the machine's TCP hash table (its memory),
/// the others could differ on another kernel.
const SYSCTLS: &[(&str, &str)] = &[
    ("net/ipv4/tcp_max_tw_buckets", "131072"),
    ("net/ipv4/tcp_max_syn_backlog", "2048"),
    ("net/core/somaxconn", "4096"),
    ("net/ipv4/tcp_syncookies", "1"),
    ("net/ipv4/tcp_tw_reuse", "2"),
    ("net/ipv4/tcp_timestamps", "1"),
    ("net/ipv4/tcp_fin_timeout", "60"),
    ("net/ipv4/tcp_orphan_retries", "0"),
    ("net/ipv4/tcp_abort_on_overflow", "0"),
    ("net/ipv4/tcp_syn_retries", "6"),
    ("net/ipv4/ip_local_port_range", "32768 60999"),
];

fn v4(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

fn v6(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)
}

fn any4(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

fn any6(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
}

fn mapped(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()), port)
}

/// One socket as /proc/net/tcp{,6} shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    state: &'static str,
    local: SocketAddr,
    remote: SocketAddr,
    /// Has a file (inode != 0): not TIME_WAIT, not waiting in an accept queue.
    owned: bool,
}

fn seen(state: &'static str, local: SocketAddr, remote: SocketAddr, owned: bool) -> Seen {
    Seen {
        state,
        local,
        remote,
        owned,
    }
}

/// Every socket /proc must show once the table is built, sorted (the two CLOSED sockets are
/// not visible there).
fn expected_table() -> Vec<Seen> {
    let (l, e) = ("LISTEN", "ESTABLISHED");
    let mut t = vec![
        seen(l, v4(WEB), any4(0), true),
        seen(l, any4(ANY4), any4(0), true),
        seen(l, v6(WEB6), any6(0), true),
        seen(l, any6(ANY6), any6(0), true),
    ];
    // (client, server, client state, server state, server end has a file)
    let connections = [
        (v4(C_EST1), v4(WEB), e, e, true),
        (v4(C_EST2), v4(WEB), e, e, true),
        (v4(C_HALF), v4(WEB), "FIN_WAIT_2", "CLOSE_WAIT", true),
        (v4(C_QUEUED), v4(WEB), e, e, false),
        (v4(C_ANY4), v4(ANY4), e, e, true),
        (v6(C_EST6), v6(WEB6), e, e, true),
        (v6(C_HALF6), v6(WEB6), "FIN_WAIT_2", "CLOSE_WAIT", true),
    ];
    for (client, server, client_state, server_state, owned) in connections {
        t.push(seen(client_state, client, server, true));
        t.push(seen(server_state, server, client, owned));
    }
    // The dual-stack listener's connection: the client is IPv4, the server end IPv6.
    t.push(seen(e, v4(C_MAPPED), v4(ANY6), true));
    t.push(seen(e, mapped(ANY6), mapped(C_MAPPED), true));
    t.push(seen("TIME_WAIT", v4(WEB), v4(C_TW), false));
    t.sort();
    t
}

fn kernel_state(code: u8) -> &'static str {
    match code {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT_1",
        5 => "FIN_WAIT_2",
        6 => "TIME_WAIT",
        7 => "CLOSED",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6): the address words are printed
/// in host byte order.
fn proc_addr(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::new();
    for i in (0..addr.len()).step_by(8) {
        let word = u32::from_str_radix(addr.get(i..i + 8)?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match <[u8; 4]>::try_from(bytes.as_slice()) {
        Ok(b4) => IpAddr::V4(Ipv4Addr::from(b4)),
        Err(_) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
    };
    Some(SocketAddr::new(ip, port))
}

/// Where the calling thread reads its namespace's sockets: `/proc/net` is the thread-group
/// leader's namespace, so a thread that unshared its own reads `/proc/thread-self/net`; once
/// the new pid namespace's proc is mounted (where this thread has no pid), through the first
/// holder, `/proc/1/net`.
#[derive(Clone, Copy)]
enum ProcNet {
    ThreadSelf,
    Holder,
}

impl ProcNet {
    fn dir(self) -> &'static str {
        match self {
            ProcNet::ThreadSelf => "/proc/thread-self/net",
            ProcNet::Holder => "/proc/1/net",
        }
    }
}

/// Every TCP socket of the namespace as /proc shows it (our own reading, independent of
/// tcpstat), sorted.
fn kernel_table(at: ProcNet) -> Vec<Seen> {
    let mut out = Vec::new();
    for file in ["tcp", "tcp6"] {
        let path = format!("{}/{file}", at.dir());
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let parsed = (|| {
                let state = kernel_state(u8::from_str_radix(f.get(3)?, 16).ok()?);
                let inode: u64 = f.get(9)?.parse().ok()?;
                Some(seen(
                    state,
                    proc_addr(f.get(1)?)?,
                    proc_addr(f.get(2)?)?,
                    inode != 0,
                ))
            })();
            out.push(parsed.unwrap_or_else(|| panic!("unparseable line in {path}: {line:?}")));
        }
    }
    out.sort();
    out
}

/// Waits until /proc shows exactly `want` (sorted).
fn wait_for_table(what: &str, at: ProcNet, want: &[Seen]) {
    util::wait_until(what, WAIT, || {
        let got = kernel_table(at);
        if got == want {
            Ok(())
        } else {
            Err(format!("/proc shows\n{got:#?}\nwant\n{want:#?}"))
        }
    });
}

/// Waits until /proc shows a socket `local` -> `remote` in `state`.
fn wait_for_state(at: ProcNet, local: SocketAddr, remote: SocketAddr, state: &str) {
    util::wait_until(&format!("{local} -> {remote} in {state}"), WAIT, || {
        let table = kernel_table(at);
        if table
            .iter()
            .any(|s| s.local == local && s.remote == remote && s.state == state)
        {
            Ok(())
        } else {
            Err(format!("/proc shows {table:#?}"))
        }
    });
}

fn tcp_socket(addr: SocketAddr) -> OwnedFd {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)
        .expect("socket()")
}

/// A socket bound to `addr` (an IPv6 one is v6-only unless `addr` is the wildcard).
fn bound(addr: SocketAddr) -> OwnedFd {
    let s = tcp_socket(addr);
    if addr.is_ipv6() {
        rustix::net::sockopt::set_ipv6_v6only(&s, !addr.ip().is_unspecified()).expect("v6only");
    }
    rustix::net::bind(&s, &addr).unwrap_or_else(|e| panic!("bind({addr}): {e}"));
    s
}

/// A non-blocking listener (accepts poll with a deadline).
fn listener(addr: SocketAddr, backlog: i32) -> OwnedFd {
    let s = bound(addr);
    rustix::net::listen(&s, backlog).expect("listen()");
    rustix::io::ioctl_fionbio(&s, true).expect("O_NONBLOCK");
    s
}

/// A client bound to `local` and connected to `remote` (blocking: on loopback connect
/// returns once the handshake is done).
fn connect(local: SocketAddr, remote: SocketAddr) -> OwnedFd {
    let s = tcp_socket(local);
    rustix::net::bind(&s, &local).unwrap_or_else(|e| panic!("bind({local}): {e}"));
    rustix::net::connect(&s, &remote).unwrap_or_else(|e| panic!("connect({remote}): {e}"));
    s
}

fn accept(listener: &OwnedFd) -> OwnedFd {
    util::wait_until("a connection to accept", WAIT, || {
        rustix::net::accept_with(listener, SocketFlags::CLOEXEC).map_err(|e| e.to_string())
    })
}

/// The `sleep` processes that own every socket with a file; killed on drop.
struct Holders {
    /// Listeners, accepted server ends and the bound-only sockets (13).
    server: Child,
    /// The client ends (8).
    client: Child,
}

impl Drop for Holders {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.client.kill();
        // The server holder is the pid namespace's init: its exit waits until every other
        // process there is reaped, so the client first.
        let _ = self.client.wait();
        let _ = self.server.wait();
    }
}

/// A `sleep` child that inherits `fds`: they are made inheritable for this spawn only and the
/// parent's copies closed right after, so nothing else may fork meanwhile
/// ([`util::serial`]). (No PR_SET_PDEATHSIG: it fires when the forking *thread* ends.
/// Drop kills the holders; after a killed run `sleep 600` ends by itself.)
fn hold(fds: Vec<OwnedFd>) -> Child {
    for fd in &fds {
        rustix::io::fcntl_setfd(fd, FdFlags::empty()).expect("clear FD_CLOEXEC");
    }
    let child = Command::new("sleep")
        .arg("600")
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    drop(fds);
    child
}

/// The pid of (host) process `pid` in its own pid namespace (last field of `NSpid`).
fn pid_in_namespace(pid: u32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}

/// Moves the calling thread into a new network and mount namespace (mounts not propagated
/// back), with the pinned sysctls and `lo` up.
fn enter_new_namespaces() {
    nix::sched::unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS)
        .expect("unshare(CLONE_NEWNET | CLONE_NEWNS)");
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .expect("mount --make-rprivate /");
    for (key, value) in SYSCTLS {
        // /proc/sys/net shows the namespace of the thread that opens it.
        let path = format!("/proc/sys/{key}");
        fs::write(&path, value).unwrap_or_else(|e| panic!("writing {value} to {path}: {e}"));
    }
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    assert!(up.is_ok_and(|s| s.success()), "ip link set lo up");
}

/// Builds the table in the calling thread's fresh namespaces, starts the holders as the
/// first processes of a new pid namespace and mounts its proc over /proc.
fn build_table() -> Holders {
    let at = ProcNet::ThreadSelf;
    let before = kernel_table(at);
    assert!(
        before.is_empty(),
        "the new namespace has sockets: {before:?}"
    );
    let mut server = Vec::new();
    let mut client = Vec::new();

    let web = listener(v4(WEB), 128);
    for port in [C_EST1, C_EST2, C_HALF] {
        client.push(connect(v4(port), v4(WEB)));
        server.push(accept(&web));
    }
    rustix::net::shutdown(&client[2], Shutdown::Write).expect("half-close");

    // TIME_WAIT: the server end closes first; once the client has acknowledged (server
    // FIN_WAIT_2, client CLOSE_WAIT) the client closes too, and the server end stays.
    let tw_client = connect(v4(C_TW), v4(WEB));
    drop(accept(&web));
    wait_for_state(at, v4(C_TW), v4(WEB), "CLOSE_WAIT");
    wait_for_state(at, v4(WEB), v4(C_TW), "FIN_WAIT_2");
    drop(tw_client);
    wait_for_state(at, v4(WEB), v4(C_TW), "TIME_WAIT");

    // Completed by the kernel, never accepted: it waits in the accept queue, inode 0.
    client.push(connect(v4(C_QUEUED), v4(WEB)));
    server.push(web);

    let wild4 = listener(any4(ANY4), 128);
    client.push(connect(v4(C_ANY4), v4(ANY4)));
    server.push(accept(&wild4));
    server.push(wild4);

    let web6 = listener(v6(WEB6), 64);
    for port in [C_EST6, C_HALF6] {
        client.push(connect(v6(port), v6(WEB6)));
        server.push(accept(&web6));
    }
    rustix::net::shutdown(client.last().expect("the last client"), Shutdown::Write)
        .expect("half-close");
    server.push(web6);

    let wild6 = listener(any6(ANY6), 256);
    client.push(connect(v4(C_MAPPED), v4(ANY6)));
    server.push(accept(&wild6));
    server.push(wild6);

    server.push(bound(v4(BOUND4)));
    server.push(bound(v6(BOUND6)));
    assert_eq!((server.len(), client.len()), (13, 8));

    // Children from now on are in a new pid namespace; the first one is its init.
    nix::sched::unshare(CloneFlags::CLONE_NEWPID).expect("unshare(CLONE_NEWPID)");
    let holders = Holders {
        server: hold(server),
        client: hold(client),
    };
    let inner = [holders.server.id(), holders.client.id()].map(pid_in_namespace);
    assert_eq!(
        inner,
        [Some(SERVER_PID), Some(CLIENT_PID)],
        "the holders' pids in their pid namespace"
    );
    // A proc for the new pid namespace: it has to be mounted from inside it.
    let mounted = Command::new("mount")
        .args(["-t", "proc", "proc", "/proc"])
        .status();
    assert!(
        mounted.is_ok_and(|s| s.success()),
        "mount -t proc proc /proc (in the new pid namespace)"
    );
    wait_for_table("the whole table", ProcNet::Holder, &expected_table());
    holders
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// Where a command runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In the table's namespaces.
    Inside,
    /// In the host's namespaces, with `--netns-pid <host pid of the first holder>` appended.
    Host,
}

/// Every command pinned (besides `serve`). `--pid 1` is the first holder.
const CASES: &[(Place, &[&str])] = &[
    (Place::Inside, &["summary"]),
    (Place::Inside, &["summary", "--json"]),
    (Place::Inside, &["summary", "--format", "prometheus"]),
    (Place::Inside, &["summary", "--source", "proc"]),
    (Place::Inside, &["summary", "--source", "proc", "--json"]),
    (Place::Inside, &["summary", "--state", "close-wait"]),
    (Place::Inside, &["summary", "-4"]),
    (Place::Inside, &["summary", "-6", "--json"]),
    (Place::Inside, &["summary", "--port", "8080", "--json"]),
    (Place::Inside, &["ports"]),
    (Place::Inside, &["ports", "--json"]),
    (Place::Inside, &["ports", "--format", "prometheus"]),
    (Place::Inside, &["ports", "--by", "local"]),
    (Place::Inside, &["ports", "--by", "remote"]),
    (Place::Inside, &["ports", "--all-states"]),
    (Place::Inside, &["ports", "--top", "1"]),
    (Place::Inside, &["ports", "--source", "proc"]),
    (Place::Inside, &["procs"]),
    (Place::Inside, &["procs", "--json"]),
    (Place::Inside, &["procs", "--format", "prometheus"]),
    (Place::Inside, &["list", "--sort", "local"]),
    (Place::Inside, &["list", "--sort", "state", "-p", "-o"]),
    (Place::Inside, &["list", "--json", "--sort", "local"]),
    (Place::Inside, &["list", "--ndjson", "--sort", "local"]),
    (Place::Inside, &["list", "-p", "--sort", "local"]),
    (
        Place::Inside,
        &["watch", "--count", "2", "--interval", "100ms", "--json"],
    ),
    (Place::Inside, &["doctor"]),
    (Place::Inside, &["doctor", "--json"]),
    (
        Place::Inside,
        &["check", "--warn", "CLOSE_WAIT=0", "--crit", "total=100"],
    ),
    (
        Place::Inside,
        &["check", "--warn", "CLOSE_WAIT=10", "--crit", "total=100"],
    ),
    (Place::Inside, &["summary", "--process", "sleep", "--json"]),
    (
        Place::Inside,
        &["ports", "--pid", "1", "--format", "prometheus"],
    ),
    (Place::Host, &["summary", "--json"]),
    (Place::Host, &["list", "--sort", "local"]),
];

/// The golden file of a command line: the arguments joined with `-` (nothing before an
/// option), `{pid}` for the holder's host pid, characters other than `[A-Za-z0-9._=,-]` as
/// `_`; `.txt`.
fn file_name(args: &[&str]) -> String {
    let mut name = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 && !arg.starts_with('-') {
            name.push('-');
        }
        name.push_str(arg);
    }
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._=,-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}.txt")
}

/// One recorded run: its golden file and what it printed, unmasked.
struct Record {
    file: String,
    status: ExitStatus,
    /// (title, text); the first, untitled, is stdout.
    sections: Vec<(&'static str, String)>,
}

fn run_cases(place: Place, holder_host_pid: u32) -> Vec<Record> {
    let mut records = Vec::new();
    for (_, template) in CASES.iter().filter(|(p, _)| *p == place) {
        let mut args: Vec<String> = template.iter().map(|a| a.to_string()).collect();
        let mut name: Vec<&str> = template.to_vec();
        if place == Place::Host {
            args.extend(["--netns-pid".into(), holder_host_pid.to_string()]);
            name.extend(["--netns-pid", "PID"]);
        }
        let out: Outcome = util::outcome(&args);
        records.push(Record {
            file: file_name(&name),
            status: out.status,
            sections: vec![("", out.stdout), ("stderr", out.stderr)],
        });
    }
    records
}

/// `serve --listen 127.0.0.1:SERVE` in the table's namespaces: one `GET /metrics` from
/// 127.0.0.1:SCRAPER once it listens, then SIGTERM.
fn run_serve() -> Record {
    let listen = v4(SERVE).to_string();
    let args = ["serve", "--listen", listen.as_str()];
    let mut child = util::run::command(&args).spawn().expect("spawn serve");
    wait_for_state(ProcNet::Holder, v4(SERVE), any4(0), "LISTEN");
    let mut stream = TcpStream::from(connect(v4(SCRAPER), v4(SERVE)));
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response to its end");
    drop(stream);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let status = util::wait_until("serve to exit after SIGTERM", WAIT, || {
        child
            .try_wait()
            .expect("wait for serve")
            .ok_or_else(|| "still running".to_string())
    });
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("serve's stdout")
        .read_to_string(&mut stdout)
        .expect("read serve's stdout");
    child
        .stderr
        .take()
        .expect("serve's stderr")
        .read_to_string(&mut stderr)
        .expect("read serve's stderr");
    Record {
        file: file_name(&args),
        status,
        sections: vec![("", stdout), ("GET /metrics", response), ("stderr", stderr)],
    }
}

// ---------------------------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------------------------

/// What masking needs to know of this run.
struct Run {
    hostname: String,
    /// The holders' pids in the host's pid namespace (they appear in `--netns-pid` output).
    host_pids: [u32; 2],
}

/// Calls `f(value)` for every JSON number that follows `"key":`; `Some(text)` replaces it.
fn json_numbers(text: &str, key: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let needle = format!("\"{key}\":");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let start = at + needle.len();
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let len = after
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
            .unwrap_or(after.len());
        let value = &after[..len];
        match (len > 0).then(|| f(value)).flatten() {
            Some(replacement) => out.push_str(&replacement),
            None => out.push_str(value),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

fn nonzero(placeholder: &'static str) -> impl Fn(&str) -> Option<String> {
    move |v| (v != "0").then(|| placeholder.to_string())
}

/// Replaces every `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)` by its shape: `2026-12-05T13:54:13.250Z`
/// becomes `YYYY-MM-DDThh:mm:ss.fffZ` (same width, the format itself stays pinned).
fn mask_timestamps(text: &str) -> String {
    const SHAPE: &[u8] = b"YYYY-MM-DDThh:mm:ss";
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + SHAPE.len() <= b.len() {
        let head = SHAPE.iter().enumerate().all(|(k, &s)| {
            let c = b[i + k];
            if s.is_ascii_alphabetic() && s != b'T' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        });
        if !head {
            i += 1;
            continue;
        }
        let mut j = i + SHAPE.len();
        let mut masked = String::from_utf8_lossy(SHAPE).into_owned();
        if b.get(j) == Some(&b'.') {
            let digits = b[j + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            masked.push('.');
            masked.extend(std::iter::repeat_n('f', digits));
            j += 1 + digits;
        }
        if b.get(j) == Some(&b'Z') {
            masked.push('Z');
            j += 1;
        } else if matches!(b.get(j), Some(b'+' | b'-')) && b.len() >= j + 6 {
            masked.push_str("+hh:mm");
            j += 6;
        }
        out.push_str(&text[copied..i]);
        out.push_str(&masked);
        i = j;
        copied = j;
    }
    out.push_str(&text[copied..]);
    out
}

/// `ns:[4026532238]` -> `ns:[<netns-inode>]`.
fn mask_netns_inodes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("ns:[") {
        let start = at + 4;
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(']') {
            out.push_str("<netns-inode>");
        } else {
            out.push_str(&after[..digits]);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// `list`'s INODE column is right-aligned in a fixed width (`INODE_W` in src/render/list.rs):
/// a non-zero inode is replaced by `<inode>` right-aligned in that width, so the row keeps
/// its layout whatever the number of digits. Its TIMER column (`-o`) is free text: the time
/// left (`timewait:59.8s`) becomes `timewait:<left>`.
fn mask_list_table(text: &str) -> String {
    const INODE_W: usize = 9;
    let mut out = String::with_capacity(text.len());
    let mut columns: Option<(usize, Option<usize>)> = None;
    for line in text.split_inclusive('\n') {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"STATE") && words.contains(&"INODE") {
            let inode = words.iter().position(|w| *w == "INODE").expect("INODE");
            let timer = words.iter().position(|w| *w == "TIMER");
            columns = Some((inode, timer));
            out.push_str(line);
            continue;
        }
        let Some((inode_col, timer_col)) = columns.filter(|_| !words.is_empty()) else {
            columns = None;
            out.push_str(line);
            continue;
        };
        // Byte ranges of the whitespace-separated words.
        let mut spans = Vec::new();
        let mut start = None;
        for (i, c) in line.char_indices() {
            match (c.is_whitespace(), start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    spans.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            spans.push((s, line.len()));
        }
        let mut masked = line.to_string();
        // Right to left, so earlier spans stay valid.
        if let Some(&(s, e)) = timer_col.and_then(|c| spans.get(c)) {
            if let Some((kind, _)) = line[s..e].split_once(':') {
                masked.replace_range(s..e, &format!("{kind}:<left>"));
            }
        }
        if let Some(&(s, e)) = spans.get(inode_col) {
            if &line[s..e] != "0" {
                let field_start = e.saturating_sub(INODE_W.max(e - s));
                masked.replace_range(field_start..e, &format!("{:>INODE_W$}", "<inode>"));
            }
        }
        out.push_str(&masked);
    }
    out
}

/// Sorts each run of consecutive table rows with the same first two columns (STATE, LOCAL).
fn sort_tied_rows(text: &str) -> String {
    let key = |line: &str| -> Option<(String, String)> {
        let mut words = line.split_whitespace();
        let state = words.next()?;
        let local = words.next()?;
        (!line.starts_with('#')).then(|| (state.to_string(), local.to_string()))
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let k = key(lines[i]);
        let mut j = i + 1;
        while j < lines.len() && k.is_some() && key(lines[j]) == k {
            j += 1;
        }
        let mut group = lines[i..j].to_vec();
        group.sort_unstable();
        out.extend(group);
        i = j;
    }
    out
}

/// A finding of `doctor`'s text output whose numbers are host-wide: its summary, wrapped at
/// word boundaries by the value's width, is joined onto one line and the numbers replaced.
fn mask_doctor_text(text: &str, mask: impl Fn(&str) -> Option<String>) -> String {
    const INDENT: &str = "          ";
    let mut out = String::new();
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let Some(masked) = line.get(INDENT.len()..).and_then(&mask) else {
            out.push_str(line);
            continue;
        };
        let mut joined = line.trim_end_matches('\n').to_string();
        // Continuation lines of the summary: indented, not an evidence label ("ports   ...").
        while let Some(next) = lines.peek() {
            let body = next.strip_prefix(INDENT).unwrap_or("");
            let label = body
                .split_once("  ")
                .is_some_and(|(w, _)| w.chars().all(|c| c.is_ascii_lowercase()));
            if body.is_empty() || body.starts_with(' ') || label {
                break;
            }
            joined.push(' ');
            joined.push_str(body.trim_end_matches('\n'));
            lines.next();
        }
        let full = mask(&joined[INDENT.len()..]).unwrap_or(masked);
        out.push_str(&joined[..INDENT.len()]);
        out.push_str(&full);
        out.push('\n');
    }
    out
}

/// `TCP socket buffers use 101 pages (404 KiB), ...` and `0 orphaned sockets, ...`: both
/// come from /proc/net/sockstat's `mem` and `orphan`, which count the whole host, not the
/// namespace.
fn mask_host_wide_summary(summary: &str) -> Option<String> {
    if let Some(rest) = summary.strip_prefix("TCP socket buffers use ") {
        // The size is KiB below one MiB and MiB above: the unit is masked with the number.
        let (_, rest) = rest.split_once(" (")?;
        let (size, rest) = rest.split_once(')')?;
        let (n, unit) = size.split_once(' ')?;
        n.parse::<f64>().ok()?;
        matches!(unit, "KiB" | "MiB").then_some(())?;
        return Some(format!(
            "TCP socket buffers use <pages> pages (<size>){rest}"
        ));
    }
    let (n, rest) = summary.split_once(' ')?;
    let rest = rest.strip_prefix("orphaned socket")?;
    n.parse::<u64>().ok()?;
    let rest = rest.strip_prefix('s').unwrap_or(rest);
    Some(format!("<n> orphaned sockets{rest}"))
}

/// The same two findings in `doctor --json`: their summary, `value` and the sockstat numbers.
fn mask_doctor_json(text: &str) -> String {
    let mut out = text.to_string();
    for (check, numbers) in [
        ("orphans", &["value", "sockstat_orphan"][..]),
        ("tcp_memory", &["value", "bytes"][..]),
    ] {
        let head = format!("{{\"check\":\"{check}\"");
        let Some(start) = out.find(&head) else {
            continue;
        };
        let end = out[start + 1..]
            .find("{\"check\":")
            .map_or(out.len(), |e| start + 1 + e);
        let mut finding = out[start..end].to_string();
        for key in numbers {
            finding = json_numbers(&finding, key, |_| Some(format!("<{key}>")));
        }
        if let Some(s) = finding.find("\"summary\":\"") {
            let from = s + "\"summary\":\"".len();
            if let Some(len) = finding[from..].find('"') {
                let summary = finding[from..from + len].to_string();
                if let Some(masked) = mask_host_wide_summary(&summary) {
                    finding.replace_range(from..from + len, &masked);
                }
            }
        }
        out.replace_range(start..end, &finding);
    }
    out
}

/// Every masking rule, in order. Only what differs between runs (or machines):
fn mask(file: &str, title: &str, text: &str, run: &Run) -> String {
    // serve: Content-Length follows the body's length (the duration's digits); checked
    // against the body before anything is masked.
    let mut t = if title == "GET /metrics" {
        mask_content_length(text)
    } else {
        text.to_string()
    };
    // Timestamps (RFC 3339: footers, JSON `timestamp`, watch's `started`).
    t = mask_timestamps(&t);
    // The hostname (`host: NAME` in footers, JSON `hostname`).
    if !run.hostname.is_empty() {
        let h = &run.hostname;
        t = t
            .replace(
                &format!("\"hostname\":\"{h}\""),
                "\"hostname\":\"<hostname>\"",
            )
            .replace(&format!("host: {h} "), "host: <hostname> ");
    }
    // Socket inodes and cookies: numbered by the kernel for the whole host. Inode 0 (no
    // file: TIME_WAIT, not accepted) is kept.
    t = json_numbers(&t, "inode", nonzero("<inode>"));
    t = json_numbers(&t, "cookie", |_| Some("<cookie>".into()));
    // Network namespace inodes (`ns:[...]` labels; JSON `inode` above).
    t = mask_netns_inodes(&t);
    // Timers: the time left (TIME_WAIT's 60 s counting down); 0 means no timer.
    t = json_numbers(&t, "remaining_ms", nonzero("<ms>"));
    if file.starts_with("list") {
        t = mask_list_table(&t);
    }
    // `list --sort state` sorts by state and local address and port only: the accepted
    // connections of one listener tie, and come out in the kernel's hash order, which
    // changes with every namespace. Rows that tie on that key are put in text order.
    if file.starts_with("list--sort-state") {
        t = sort_tied_rows(&t);
    }
    // Durations: how long a collection took, watch's time since the last tick and the ages of
    // the sockets it tracks (set by when the ticks happen to run).
    t = json_numbers(&t, "elapsed_s", |_| Some("<seconds>".into()));
    t = json_numbers(&t, "oldest_s", |_| Some("<seconds>".into()));
    t = t.split_inclusive('\n').map(mask_scrape_duration).collect();
    // serve's own process (`process_*`: memory, CPU time, descriptors, start time) and the
    // git revision it was built from.
    t = t.split_inclusive('\n').map(mask_own_process).collect();
    // The holders' pids as the host sees them (in `--netns-pid` output; inside their pid
    // namespace they are always 1 and 2).
    for pid in run.host_pids {
        t = json_numbers(&t, "pid", |v| {
            (v == pid.to_string()).then(|| "<host-pid>".into())
        });
    }
    // doctor: host-wide sockstat numbers (TCP buffer memory in pages, orphans).
    if file.starts_with("doctor--json") {
        t = mask_doctor_json(&t);
        t = mask_json_workloads(&t);
    } else if file.starts_with("doctor") {
        t = mask_doctor_text(&t, mask_host_wide_summary);
        t = mask_workload_lines(&t);
    }
    t
}

/// doctor's `workload` evidence names the cgroup the test's processes run in, which is the
/// test runner's (a session scope here, anything on CI): `workload  <workload>`, with the
/// lines a long name wrapped onto.
fn mask_workload_lines(text: &str) -> String {
    const LABEL: &str = "          workload  ";
    const CONTINUED: &str = "                    ";
    let mut out = String::new();
    let mut masking = false;
    for line in text.split_inclusive('\n') {
        if line.starts_with(LABEL) {
            out.push_str(LABEL);
            out.push_str("<workload>\n");
            masking = true;
        } else if masking && line.starts_with(CONTINUED) {
            continue;
        } else {
            masking = false;
            out.push_str(line);
        }
    }
    out
}

/// The same in JSON: `"workload":{...}` (a finding's evidence) -> `"workload":"<workload>"`.
fn mask_json_workloads(text: &str) -> String {
    const KEY: &str = "\"workload\":{";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        out.push_str(&rest[..at]);
        let after = &rest[at + KEY.len()..];
        match after.find('}') {
            Some(end) => {
                out.push_str("\"workload\":\"<workload>\"");
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `tcpstat_scrape_duration_seconds{report="ports"} 0.0017` -> `... <seconds>`.
fn mask_scrape_duration(line: &str) -> String {
    const NAME: &str = "tcpstat_scrape_duration_seconds";
    let (body, end) = line
        .strip_suffix('\n')
        .map_or((line, ""), |body| (body, "\n"));
    match body.rsplit_once(' ') {
        Some((sample, _)) if sample.starts_with(NAME) && !sample.starts_with('#') => {
            format!("{sample} <seconds>{end}")
        }
        _ => line.to_string(),
    }
}

/// `process_open_fds 9` -> `process_open_fds <value>`;
/// `tcpstat_build_info{version="0.1.0",revision="3e81db6f4eeb"} 1` -> `revision="<revision>"`.
fn mask_own_process(line: &str) -> String {
    if line.starts_with("process_") {
        if let Some((sample, _)) = line.trim_end().rsplit_once(' ') {
            return format!("{sample} <value>\n");
        }
    }
    if let Some(rest) = line.strip_prefix("tcpstat_build_info{") {
        if let Some((before, after)) = rest.split_once("revision=\"") {
            if let Some((_, tail)) = after.split_once('"') {
                return format!("tcpstat_build_info{{{before}revision=\"<revision>\"{tail}");
            }
        }
    }
    line.to_string()
}

fn mask_content_length(response: &str) -> String {
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("an HTTP response with a body");
    let mut out = String::new();
    for line in head.split("\r\n") {
        match line.strip_prefix("Content-Length: ") {
            Some(n) => {
                assert_eq!(
                    n.parse::<usize>().ok(),
                    Some(body.len()),
                    "Content-Length against the body"
                );
                out.push_str("Content-Length: <length>");
            }
            None => out.push_str(line),
        }
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

// ---------------------------------------------------------------------------------------------
// Golden files
// ---------------------------------------------------------------------------------------------

fn status_line(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("# exit {code}\n"),
        (None, Some(signal)) => format!("# signal {signal}\n"),
        _ => format!("# {status}\n"),
    }
}

/// A golden file's text (see the module documentation).
fn render(rec: &Record, run: &Run) -> String {
    let mut out = status_line(rec.status);
    for (title, raw) in &rec.sections {
        let text = mask(&rec.file, title, raw, run);
        if !title.is_empty() {
            if text.is_empty() {
                continue;
            }
            let _ = writeln!(out, "# {title}");
        }
        out.push_str(&text);
        if !text.is_empty() && !text.ends_with('\n') {
            out.push_str("\n# (no newline)\n");
        }
    }
    out
}

#[test]
fn golden() {
    let _serial = util::serial();
    if let Some(why) = util::netns::namespaces_unavailable() {
        util::skip(why);
        return;
    }
    let started = Instant::now();
    let hostname = fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim_end()
        .to_string();

    // The table's thread: builds it, runs the commands inside, hands the holders' host pids
    // over for the `--netns-pid` runs, and once they are done runs serve.
    let (ready_tx, ready_rx) = mpsc::channel::<[u32; 2]>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let inside = thread::Builder::new()
        .name("golden-netns".into())
        .spawn(move || {
            enter_new_namespaces();
            let holders = build_table();
            let mut records = run_cases(Place::Inside, 0);
            wait_for_table("the table, unchanged", ProcNet::Holder, &expected_table());
            let host_pids = [holders.server.id(), holders.client.id()];
            ready_tx.send(host_pids).expect("the main thread waits");
            if go_rx.recv().is_ok() {
                wait_for_table("the table, unchanged", ProcNet::Holder, &expected_table());
                records.push(run_serve());
            }
            drop(holders);
            (host_pids, records)
        })
        .expect("spawn the namespace thread");
    let host_records = match ready_rx.recv() {
        Ok([server, _]) => run_cases(Place::Host, server),
        // The thread failed before: its panic says why.
        Err(_) => Vec::new(),
    };
    let _ = go_tx.send(());
    let (host_pids, mut records) = inside
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    records.extend(host_records);

    let run = Run {
        hostname,
        host_pids,
    };
    let files: Vec<(String, String)> = records
        .iter()
        .map(|r| (r.file.clone(), render(r, &run)))
        .collect();
    GOLDEN.check(&files);
    println!(
        "golden: {} outputs in {:.1?}",
        files.len(),
        started.elapsed()
    );
}

#[cfg(test)]
mod mask_tests {
    use super::*;
    use crate::util::snapshot::line_diff;

    #[test]
    fn timestamps_keep_their_shape() {
        assert_eq!(
            mask_timestamps("at 2026-12-05T13:54:13.250Z  (x)"),
            "at YYYY-MM-DDThh:mm:ss.fffZ  (x)"
        );
        assert_eq!(
            mask_timestamps("\"t\":\"2026-12-05T13:54:13Z\",\"u\":\"2026-12-05T13:54:13.1+01:00\""),
            "\"t\":\"YYYY-MM-DDThh:mm:ssZ\",\"u\":\"YYYY-MM-DDThh:mm:ss.f+hh:mm\""
        );
    }

    #[test]
    fn list_inodes_keep_the_column_width() {
        let table = "STATE       LOCAL                  REMOTE                  RECV-Q  SEND-Q USER          INODE TIMER PROCESS\n\
                     LISTEN      0.0.0.0:9090           0.0.0.0:*                    0     128 root          74968 - 1/sleep\n\
                     LISTEN      0.0.0.0:9091           0.0.0.0:*                    0     128 root      123456789 - 1/sleep\n\
                     TIME_WAIT   127.0.0.1:8080         127.0.0.1:40005              0       0 -                 0 timewait:59.8s -\n";
        let masked = mask_list_table(table);
        let lines: Vec<&str> = masked.lines().collect();
        assert_eq!(lines[1], "LISTEN      0.0.0.0:9090           0.0.0.0:*                    0     128 root        <inode> - 1/sleep");
        assert_eq!(lines[2], "LISTEN      0.0.0.0:9091           0.0.0.0:*                    0     128 root        <inode> - 1/sleep");
        assert_eq!(lines[3], "TIME_WAIT   127.0.0.1:8080         127.0.0.1:40005              0       0 -                 0 timewait:<left> -");
    }

    #[test]
    fn doctor_host_wide_findings_are_joined_and_masked() {
        let text = "OK        no LAST_ACK sockets\n\
                    OK        TCP socket buffers use 101 pages (404 KiB), net.ipv4.tcp_mem pressure unknown (not judged:\n          \
                    the limit is unknown)\n\
                    \n\
                    not readable: x\n";
        assert_eq!(
            mask_doctor_text(text, mask_host_wide_summary),
            "OK        no LAST_ACK sockets\n\
             OK        TCP socket buffers use <pages> pages (<size>), net.ipv4.tcp_mem pressure unknown (not judged: the limit is unknown)\n\
             \n\
             not readable: x\n"
        );
        // CI once had 371.4 MiB of buffers: the unit changes with the size, and the wrap point.
        let text = "OK        TCP socket buffers use 95077 pages (371.4 MiB), net.ipv4.tcp_mem pressure unknown (not\n          \
                    judged: the limit is unknown)\n";
        assert_eq!(
            mask_doctor_text(text, mask_host_wide_summary),
            "OK        TCP socket buffers use <pages> pages (<size>), net.ipv4.tcp_mem pressure unknown (not judged: the limit is unknown)\n"
        );
        assert_eq!(
            mask_host_wide_summary("1 orphaned socket, limit"),
            Some("<n> orphaned sockets, limit".into())
        );
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(
            json_numbers(
                r#"{"inode":0,"inode":123,"x":{"inode":null}}"#,
                "inode",
                nonzero("<inode>")
            ),
            r#"{"inode":0,"inode":<inode>,"x":{"inode":null}}"#
        );
        assert_eq!(
            mask_scrape_duration("tcpstat_scrape_duration_seconds{report=\"ports\"} 0.0017\n"),
            "tcpstat_scrape_duration_seconds{report=\"ports\"} <seconds>\n"
        );
        let help = "# HELP tcpstat_scrape_duration_seconds Seconds spent reading.";
        assert_eq!(mask_scrape_duration(help), help);
    }

    #[test]
    fn diff_shows_where_lines_differ() {
        let d = line_diff("a\nb\nc\n", "a\nB\nc\n");
        assert!(d.contains("-   2 | b") && d.contains("+   2 | B"), "{d}");
        assert!(d.contains("column 1"), "{d}");
    }
}
