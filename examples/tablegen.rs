//! `tablegen`: the socket-table builder and process timer behind `benches/bench.sh`.
//!
//! Not part of tcpstat: a Cargo example (never installed), driven by the script, which owns
//! the namespaces, sysctls, packet filter and cleanup. Three subcommands:
//!
//! - `build`: fills a prepared "server" network namespace with N TCP sockets (about 60%
//!   ESTABLISHED, 25% TIME_WAIT, 10% CLOSE_WAIT, 5% LISTEN, 10% of them IPv6 by default) whose
//!   peers live in a second "peer" namespace. Sockets with descriptors are spread over holder
//!   processes of at most `--fds` descriptors each (RLIMIT_NOFILE is 20000 here); the peer
//!   ends are dropped as soon as the server end is in its state:
//!   - ESTABLISHED / CLOSE_WAIT: the peer closes with SO_LINGER {1, 0}, whose RST the peer's
//!     packet filter drops, so the server end never learns and stays as it is, with no timer;
//!   - TIME_WAIT: the server closes first; the peer closes normally and sits in LAST_ACK as an
//!     orphan, re-sending its FIN because the filter drops the final ACK; each FIN re-arms the
//!     server's 60 s TIME_WAIT timer (the script caps the peer's RTO below 60 s).
//!
//!   Prints `READY <counts>` when every holder is done, then waits; SIGTERM / SIGINT kill the
//!   holders (and wait for them) before it exits. Holders also die with it (PR_SET_PDEATHSIG).
//! - `time`: runs a command inside a namespace with stdout to /dev/null, bounded by a timeout,
//!   and prints `<wall seconds> <peak RSS KiB> <status>` (from wait4, like GNU time's `%M`).
//! - `report`: medians, ranges, time per socket, and ratios against the targets of issue 6,
//!   as Markdown, from the TSV the script writes.
//! - `hold`: in the namespace it runs in, a listener on 127.0.0.1:8080 and N loopback
//!   connections (both ends kept: 2N + 1 sockets); prints `READY` and holds them until its
//!   standard input closes (`benches/netns.sh`, many small namespaces).
#![allow(unsafe_code)] // raw socket / namespace / process syscalls through libc

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build(&args[1..]),
        Some("time") => time(&args[1..]),
        Some("report") => report(&args[1..]),
        Some("hold") => hold_small(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tablegen: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage:
  tablegen build --srv NETNS_PATH --peer NETNS_PATH --n N [--v6 PCT] [--fds N] [--jobs N]
  tablegen time --netns NETNS_PATH --timeout SECS [--stderr FILE] -- CMD [ARGS...]
  tablegen report RESULTS.tsv
  tablegen hold --conns N";

/// `--name value` pairs (and a trailing `-- rest`).
struct Flags {
    named: BTreeMap<String, String>,
    rest: Vec<String>,
}

impl Flags {
    fn parse(args: &[String]) -> Result<Flags> {
        let mut named = BTreeMap::new();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "--" {
                return Ok(Flags {
                    named,
                    rest: args[i + 1..].to_vec(),
                });
            }
            let key = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {a:?}\n{USAGE}"))?;
            let value = args
                .get(i + 1)
                .ok_or_else(|| format!("--{key} needs a value"))?;
            named.insert(key.to_string(), value.clone());
            i += 2;
        }
        Ok(Flags {
            named,
            rest: Vec::new(),
        })
    }

    fn get(&self, key: &str) -> Result<&str> {
        self.named
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("--{key} is required\n{USAGE}"))
    }

    fn num<T: std::str::FromStr>(&self, key: &str, default: Option<T>) -> Result<T> {
        match self.named.get(key) {
            Some(v) => v.parse().map_err(|_| format!("--{key}: bad number {v:?}")),
            None => default.ok_or_else(|| format!("--{key} is required\n{USAGE}")),
        }
    }
}

/// `hold`: a small table in the current namespace, held until stdin closes.
fn hold_small(args: &[String]) -> Result<()> {
    let flags = Flags::parse(args)?;
    let conns: usize = flags.num("conns", None)?;
    let listener =
        std::net::TcpListener::bind("127.0.0.1:8080").map_err(|e| format!("bind: {e}"))?;
    let mut kept = Vec::with_capacity(2 * conns);
    for _ in 0..conns {
        let client =
            std::net::TcpStream::connect("127.0.0.1:8080").map_err(|e| format!("connect: {e}"))?;
        let (server, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        kept.push(client);
        kept.push(server);
    }
    println!("READY {}", 2 * conns + 1);
    io::stdout().flush().map_err(|e| format!("stdout: {e}"))?;
    // Until whoever started us closes our stdin (or kills us).
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    drop(kept);
    Ok(())
}

fn os_err(what: &str) -> String {
    format!("{what}: {}", io::Error::last_os_error())
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Address plan. Every socket's endpoints follow from a global index, so holders never collide
// and an accepted connection's peer address says which connection it is.

/// Listener `l` listens on 10.1.A.B:PORT or [fd00:1::X]:PORT, 40000 ports per address.
const LISTEN_PORTS: u32 = 40_000;
const LISTEN_PORT_BASE: u32 = 20_000;
/// Connection `g` comes from 10.2.A.B:PORT or [fd00:2::X]:PORT, 50000 ports per address.
const CLIENT_PORTS: u64 = 50_000;
const CLIENT_PORT_BASE: u64 = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fam {
    V4,
    V6,
}

/// Whether listener `l` is IPv6; its connections share its family.
fn listener_family(l: u32, v6_percent: u32) -> Fam {
    // Spread evenly: with 10%, listeners 0, 10, 20, ...; with 25%, 0, 4, 8, ...
    if (l * v6_percent) % 100 < v6_percent {
        Fam::V6
    } else {
        Fam::V4
    }
}

/// A socket address as the kernel wants it.
enum SockAddr {
    V4(libc::sockaddr_in),
    V6(libc::sockaddr_in6),
}

impl SockAddr {
    /// `net` is 1 (servers) or 2 (clients); `host` counts from 0.
    fn new(fam: Fam, net: u8, host: u32, port: u16) -> SockAddr {
        let host = host + 1;
        match fam {
            Fam::V4 => {
                // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
                let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_port = port.to_be();
                let ip = u32::from_be_bytes([10, net, 0, 0]) | (host & 0xffff);
                sa.sin_addr.s_addr = ip.to_be();
                SockAddr::V4(sa)
            }
            Fam::V6 => {
                // SAFETY: as above.
                let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_port = port.to_be();
                let mut a = [0u8; 16];
                a[0] = 0xfd;
                a[3] = net;
                a[12..].copy_from_slice(&host.to_be_bytes());
                sa.sin6_addr.s6_addr = a;
                SockAddr::V6(sa)
            }
        }
    }

    fn ptr_len(&self) -> (*const libc::sockaddr, libc::socklen_t) {
        match self {
            SockAddr::V4(sa) => (
                (sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ),
            SockAddr::V6(sa) => (
                (sa as *const libc::sockaddr_in6).cast(),
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            ),
        }
    }
}

fn listener_addr(l: u32, v6_percent: u32) -> SockAddr {
    let port = (LISTEN_PORT_BASE + l % LISTEN_PORTS) as u16;
    SockAddr::new(listener_family(l, v6_percent), 1, l / LISTEN_PORTS, port)
}

fn client_addr(g: u64, fam: Fam) -> SockAddr {
    let port = (CLIENT_PORT_BASE + g % CLIENT_PORTS) as u16;
    SockAddr::new(fam, 2, (g / CLIENT_PORTS) as u32, port)
}

/// Client hosts from here on are second addresses: [`client_addr_again`].
const ALT_HOSTS: u32 = 0x4000;

/// Another address for connection `g`, for a client made again after its connection never
/// arrived (at a million sockets one 4-tuple failed every time at its own address): the same
/// port on a host [`ALT_HOSTS`] further, which [`connection_of`] maps back to `g`.
fn client_addr_again(g: u64, fam: Fam) -> SockAddr {
    let port = (CLIENT_PORT_BASE + g % CLIENT_PORTS) as u16;
    SockAddr::new(fam, 2, (g / CLIENT_PORTS) as u32 + ALT_HOSTS, port)
}

/// The connection index of an accepted socket's peer address (inverse of [`client_addr`]).
fn connection_of(peer: &libc::sockaddr_storage) -> Option<u64> {
    let (host, port) = match i32::from(peer.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says this storage holds a sockaddr_in.
            let sa =
                unsafe { &*(peer as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            (
                u32::from_be(sa.sin_addr.s_addr) & 0xffff,
                u16::from_be(sa.sin_port),
            )
        }
        libc::AF_INET6 => {
            // SAFETY: ss_family says this storage holds a sockaddr_in6.
            let sa =
                unsafe { &*(peer as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let a = sa.sin6_addr.s6_addr;
            (
                u32::from_be_bytes([a[12], a[13], a[14], a[15]]),
                u16::from_be(sa.sin6_port),
            )
        }
        _ => return None,
    };
    let port = u64::from(port).checked_sub(CLIENT_PORT_BASE)?;
    let host = if host > ALT_HOSTS {
        host - ALT_HOSTS
    } else {
        host
    };
    Some(u64::from(host.checked_sub(1)?) * CLIENT_PORTS + port)
}

// ---------------------------------------------------------------------------------------------
// Socket helpers.

fn set_opt<T>(fd: RawFd, level: i32, name: i32, value: &T, what: &str) -> Result<()> {
    // SAFETY: value points to a live T of the given size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(os_err(what))
    }
}

fn new_socket(fam: Fam, nonblock: bool) -> Result<OwnedFd> {
    let domain = match fam {
        Fam::V4 => libc::AF_INET,
        Fam::V6 => libc::AF_INET6,
    };
    let flags =
        libc::SOCK_STREAM | libc::SOCK_CLOEXEC | if nonblock { libc::SOCK_NONBLOCK } else { 0 };
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(domain, flags, 0) };
    if fd < 0 {
        return Err(os_err("socket"));
    }
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn bind(fd: RawFd, addr: &SockAddr) -> Result<()> {
    let (p, len) = addr.ptr_len();
    // SAFETY: p/len describe a live sockaddr.
    if unsafe { libc::bind(fd, p, len) } == 0 {
        Ok(())
    } else {
        Err(os_err("bind"))
    }
}

/// `tcpi_state`, the socket's TCP state as the kernel numbers it.
fn tcp_state(fd: RawFd) -> Result<u8> {
    let mut info = [0u8; 8];
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: info is a writable buffer of len bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(info[0])
    } else {
        Err(os_err("getsockopt(TCP_INFO)"))
    }
}

const TCP_ESTABLISHED: u8 = 1;
const TCP_CLOSE_WAIT: u8 = 8;
const TCP_LISTEN: u8 = 10;

fn setns(fd: &File, what: &str) -> Result<()> {
    // SAFETY: plain syscall on a namespace file we hold open.
    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } == 0 {
        Ok(())
    } else {
        Err(os_err(&format!("setns({what})")))
    }
}

/// Waits until `fd` is in `state`, up to a deadline.
fn wait_state(fd: RawFd, state: u8, deadline: Instant, what: &str) -> Result<()> {
    loop {
        let now = tcp_state(fd)?;
        if now == state {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{what}: socket stuck in state {now}, expected {state}"
            ));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

// ---------------------------------------------------------------------------------------------
// build

/// One holder's share.
#[derive(Clone, Copy, Debug)]
struct Share {
    /// First global listener index, and how many.
    listener0: u32,
    listeners: u32,
    /// First global connection index; the holder's connections are ESTABLISHED, then
    /// CLOSE_WAIT, then TIME_WAIT.
    conn0: u64,
    estab: u64,
    close_wait: u64,
    time_wait: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Established,
    CloseWait,
    TimeWait,
}

/// Sockets created per round: a batch holds 2 descriptors per connection for a moment.
const BATCH: u64 = 500;

fn split(total: u64, parts: u64, i: u64) -> u64 {
    total / parts + u64::from(i < total % parts)
}

fn build(args: &[String]) -> Result<()> {
    let flags = Flags::parse(args)?;
    let n: u64 = flags.num("n", None)?;
    let v6: u32 = flags.num("v6", Some(10))?;
    let fd_cap: u64 = flags.num("fds", Some(15_000))?;
    let jobs: usize = flags.num("jobs", Some(2))?;
    let srv = File::open(flags.get("srv")?).map_err(|e| format!("--srv: {e}"))?;
    let peer = File::open(flags.get("peer")?).map_err(|e| format!("--peer: {e}"))?;
    if v6 > 100 {
        return Err("--v6 is a percentage".into());
    }

    // The mix: 5% LISTEN, 60% ESTABLISHED, 10% CLOSE_WAIT, the rest (25%) TIME_WAIT.
    let listeners = (n / 20).max(1);
    let estab = n * 60 / 100;
    let close_wait = n / 10;
    let time_wait = n.saturating_sub(listeners + estab + close_wait);
    let persistent = listeners + estab + close_wait;
    let holders = persistent.div_ceil(fd_cap).max(4).min(listeners);
    eprintln!(
        "tablegen: {n} sockets: {listeners} LISTEN, {estab} ESTABLISHED, {close_wait} CLOSE_WAIT, \
         {time_wait} TIME_WAIT ({v6}% IPv6) over {holders} holder processes"
    );

    let mut shares = Vec::new();
    let (mut l0, mut c0) = (0u64, 0u64);
    for i in 0..holders {
        let s = Share {
            listener0: l0 as u32,
            listeners: split(listeners, holders, i) as u32,
            conn0: c0,
            estab: split(estab, holders, i),
            close_wait: split(close_wait, holders, i),
            time_wait: split(time_wait, holders, i),
        };
        l0 += u64::from(s.listeners);
        c0 += s.estab + s.close_wait + s.time_wait;
        shares.push(s);
    }

    // SIGINT / SIGTERM / SIGHUP are taken with sigwait / sigtimedwait, so that the holders are
    // always killed and reaped before the builder exits. Holders unblock them again.
    let set = signal_set(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP]);
    // SAFETY: plain syscall on a valid sigset.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };

    let started = Instant::now();
    let parent = std::process::id() as i32;
    let mut pids: Vec<i32> = Vec::new();
    let mut pending: std::collections::VecDeque<(usize, File)> = Default::default();
    let mut next = 0;
    let mut outcome = Ok(());
    while next < shares.len() || !pending.is_empty() {
        while next < shares.len() && pending.len() < jobs {
            let (pid, pipe) = spawn_holder(parent, &shares[next], v6, &srv, &peer)?;
            pids.push(pid);
            pending.push_back((next, pipe));
            next += 1;
        }
        let Some((i, pipe)) = pending.pop_front() else {
            break;
        };
        if let Some(sig) = pending_signal(&set) {
            outcome = Err(format!("signal {sig} during the build"));
            break;
        }
        let mut line = String::new();
        let _ = BufReader::new(pipe).read_line(&mut line);
        if !line.starts_with("ok") {
            let why = if line.is_empty() {
                "died without a word".to_string()
            } else {
                line.trim().to_string()
            };
            outcome = Err(format!("holder {i}: {why}"));
            break;
        }
    }
    if outcome.is_ok() {
        println!(
            "READY sockets={n} listen={listeners} established={estab} close_wait={close_wait} \
             time_wait={time_wait} holders={holders} seconds={:.1}",
            started.elapsed().as_secs_f64()
        );
        let _ = io::stdout().flush();
        // Hold until told to stop.
        let mut sig = 0;
        // SAFETY: set is a valid sigset, sig a valid out pointer.
        unsafe { libc::sigwait(&set, &mut sig) };
        eprintln!("tablegen: signal {sig}: releasing the sockets");
    }
    for &pid in &pids {
        // SAFETY: plain syscalls on our own children.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    for &pid in &pids {
        let mut status = 0;
        // SAFETY: as above.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    outcome
}

/// A blocked signal of `set` that is pending, taking it.
fn pending_signal(set: &libc::sigset_t) -> Option<i32> {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid set and timeout; no siginfo wanted.
    let sig = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &zero) };
    (sig > 0).then_some(sig)
}

fn signal_set(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe { libc::sigemptyset(&mut set) };
    for &s in signals {
        // SAFETY: valid set, valid signal.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    set
}

/// Forks a holder; returns its pid and the read end of the pipe it reports on.
fn spawn_holder(
    parent: i32,
    share: &Share,
    v6: u32,
    srv: &File,
    peer: &File,
) -> Result<(i32, File)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(os_err("pipe2"));
    }
    // SAFETY: the pipe descriptors are fresh and ours.
    let (reader, writer) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // SAFETY: this program is single-threaded, so the child may run Rust code after fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(os_err("fork"));
    }
    if pid == 0 {
        drop(reader);
        // SAFETY: plain syscalls. Die with the builder; check it did not die already.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            let set = signal_set(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP]);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
        let mut writer = writer;
        match hold(share, v6, srv, peer) {
            Ok(kept) => {
                let _ = writeln!(writer, "ok {}", kept.len());
                drop(writer);
                // Keep the sockets until killed.
                loop {
                    // SAFETY: plain syscall.
                    unsafe { libc::pause() };
                }
            }
            Err(e) => {
                let _ = writeln!(writer, "error: {e}");
                // SAFETY: leave without running the parent's destructors.
                unsafe { libc::_exit(1) };
            }
        }
    }
    drop(writer);
    Ok((pid, reader))
}

/// Builds one share; returns the descriptors to keep (listeners, ESTABLISHED, CLOSE_WAIT).
fn hold(share: &Share, v6: u32, srv: &File, peer: &File) -> Result<Vec<OwnedFd>> {
    // Use the whole hard descriptor limit.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid out pointer.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    setns(srv, "server namespace")?;
    let mut listeners = Vec::with_capacity(share.listeners as usize);
    for i in 0..share.listeners {
        let l = share.listener0 + i;
        let fam = listener_family(l, v6);
        let fd = new_socket(fam, false)?;
        set_opt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &1i32,
            "SO_REUSEADDR",
        )?;
        if fam == Fam::V6 {
            set_opt(
                fd.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                &1i32,
                "IPV6_V6ONLY",
            )?;
        }
        // accept() gives up after 30 s instead of hanging the build.
        let tv = libc::timeval {
            tv_sec: 30,
            tv_usec: 0,
        };
        set_opt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv,
            "SO_RCVTIMEO",
        )?;
        bind(fd.as_raw_fd(), &listener_addr(l, v6)).map_err(|e| format!("listener {l}: {e}"))?;
        // SAFETY: plain syscall.
        if unsafe { libc::listen(fd.as_raw_fd(), 4096) } != 0 {
            return Err(os_err("listen"));
        }
        listeners.push(fd);
    }
    let mut kept: Vec<OwnedFd> = Vec::new();
    // Connections given up on (see `connect_batch`), by the kind that keeps a server end.
    let (mut short_estab, mut short_close_wait) = (0u64, 0u64);
    let total = share.estab + share.close_wait + share.time_wait;
    let mut j = 0u64;
    while j < total {
        // Batches never mix kinds.
        let (kind, end_of_kind) = if j < share.estab {
            (Kind::Established, share.estab)
        } else if j < share.estab + share.close_wait {
            (Kind::CloseWait, share.estab + share.close_wait)
        } else {
            (Kind::TimeWait, total)
        };
        let end = (j + BATCH).min(end_of_kind);
        connect_batch(share, &listeners, j, end, v6, peer, srv)
            .and_then(|pairs| {
                let short = (end - j) - pairs.len() as u64;
                match kind {
                    Kind::Established => short_estab += short,
                    Kind::CloseWait => short_close_wait += short,
                    Kind::TimeWait => {}
                }
                settle(kind, pairs, &mut kept)
            })
            .map_err(|e| format!("{kind:?} connections {j}..{end}: {e}"))?;
        j = end;
    }
    // Check what is kept is in the state it should be.
    for fd in &listeners {
        let s = tcp_state(fd.as_raw_fd())?;
        if s != TCP_LISTEN {
            return Err(format!("a listener is in state {s}"));
        }
    }
    let estab = share.estab - short_estab;
    let mut want = vec![TCP_ESTABLISHED; estab as usize];
    want.resize(
        (estab + share.close_wait - short_close_wait) as usize,
        TCP_CLOSE_WAIT,
    );
    for (fd, &w) in kept.iter().zip(&want) {
        let s = tcp_state(fd.as_raw_fd())?;
        if s != w {
            return Err(format!("a server socket is in state {s}, expected {w}"));
        }
    }
    kept.extend(listeners);
    // Live in the namespace whose sockets this process holds.
    setns(srv, "server namespace")?;
    Ok(kept)
}

/// Connects clients `[j0, j1)` of the share from the peer namespace and accepts them:
/// returns (server end, client end) per connection, in order.
fn connect_batch(
    share: &Share,
    listeners: &[OwnedFd],
    j0: u64,
    j1: u64,
    v6: u32,
    peer: &File,
    srv: &File,
) -> Result<Vec<(OwnedFd, OwnedFd)>> {
    let nl = u64::from(share.listeners);
    let listener_of = |j: u64| (j % nl) as u32;
    setns(peer, "peer namespace")?;
    let mut clients = Vec::with_capacity((j1 - j0) as usize);
    let mut per_listener = vec![0u32; listeners.len()];
    for j in j0..j1 {
        let li = listener_of(j);
        let l = share.listener0 + li;
        let fam = listener_family(l, v6);
        let fd = new_socket(fam, true)?;
        let g = share.conn0 + j;
        bind(fd.as_raw_fd(), &client_addr(g, fam)).map_err(|e| format!("client {g}: {e}"))?;
        let target = listener_addr(l, v6);
        let (p, len) = target.ptr_len();
        // SAFETY: p/len describe a live sockaddr.
        if unsafe { libc::connect(fd.as_raw_fd(), p, len) } != 0 && errno() != libc::EINPROGRESS {
            return Err(os_err(&format!("connect {g}")));
        }
        per_listener[li as usize] += 1;
        clients.push(Some(fd));
    }
    let mut servers: Vec<Option<OwnedFd>> = (j0..j1).map(|_| None).collect();
    for (li, &count) in per_listener.iter().enumerate() {
        let mut waiting = count;
        let mut retries = 0;
        while waiting > 0 {
            // SAFETY: storage/len are valid out pointers.
            let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            let fd = unsafe {
                libc::accept4(
                    listeners[li].as_raw_fd(),
                    (&mut storage as *mut libc::sockaddr_storage).cast(),
                    &mut len,
                    libc::SOCK_CLOEXEC,
                )
            };
            if fd < 0 {
                let why = os_err("accept");
                // Seen at a million sockets: a connection of the batch never reaches the
                // accept queue (its client ends in CLOSE), every time at that address. Its
                // client is made again from a second address, so the table keeps its exact
                // shape; after a few tries it is an error.
                if retries < CONNECT_RETRIES {
                    retries += 1;
                    let again =
                        reconnect_missing(share, li as u32, j0, v6, &mut clients, &servers)?;
                    eprintln!(
                        "tablegen: {again} connection(s) to listener {} did not arrive within \
                         30 s; made again (try {retries} of {CONNECT_RETRIES})",
                        share.listener0 + li as u32
                    );
                    continue;
                }
                // Give up on it: the table is that much short of N, which the harness's `ss`
                // census before the timings shows (it is the count that matters).
                let missing = clients
                    .iter()
                    .zip(&servers)
                    .enumerate()
                    .filter(|(k, (_, s))| s.is_none() && listener_of(j0 + *k as u64) == li as u32)
                    .count();
                eprintln!(
                    "tablegen: giving up on {missing} connection(s) to listener {}: {why}, \
                     {CONNECT_RETRIES} times ({}); the table is that much short",
                    share.listener0 + li as u32,
                    diagnose(&clients, &servers, srv)
                );
                // `diagnose` entered the server namespace; clients are made in the peer's.
                setns(peer, "peer namespace")?;
                break;
            }
            // SAFETY: fresh descriptor.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let g = connection_of(&storage).ok_or("accepted an unknown peer")?;
            let j = g
                .checked_sub(share.conn0 + j0)
                .filter(|&k| k < j1 - j0)
                .ok_or_else(|| format!("accepted connection {g}, not of this batch"))?;
            if servers[j as usize].replace(fd).is_none() {
                waiting -= 1;
            }
        }
    }
    let abort = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let mut pairs = Vec::with_capacity(servers.len());
    for (s, c) in servers.into_iter().zip(clients) {
        match (s, c) {
            (Some(s), Some(c)) => pairs.push((s, c)),
            // Given up on: its client goes, without a FIN the server could see.
            (None, Some(c)) => {
                set_opt(
                    c.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &abort,
                    "SO_LINGER",
                )?;
            }
            _ => return Err("a connection of the batch has no client".to_string()),
        }
    }
    Ok(pairs)
}

/// How many times a batch's missing connections are made again before they are given up.
const CONNECT_RETRIES: u32 = 1;

/// Closes and reconnects (from the peer namespace, where the caller is) the clients of
/// listener `li` that have no server end yet, from their second address
/// ([`client_addr_again`]); returns how many.
fn reconnect_missing(
    share: &Share,
    li: u32,
    j0: u64,
    v6: u32,
    clients: &mut [Option<OwnedFd>],
    servers: &[Option<OwnedFd>],
) -> Result<u32> {
    let nl = u64::from(share.listeners);
    let abort = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let mut again = 0;
    for (k, (client, server)) in clients.iter_mut().zip(servers).enumerate() {
        let j = j0 + k as u64;
        if server.is_some() || (j % nl) as u32 != li {
            continue;
        }
        if let Some(old) = client.take() {
            set_opt(
                old.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &abort,
                "SO_LINGER",
            )?;
            drop(old);
        }
        let l = share.listener0 + li;
        let fam = listener_family(l, v6);
        let fd = new_socket(fam, true)?;
        let g = share.conn0 + j;
        bind(fd.as_raw_fd(), &client_addr_again(g, fam))
            .map_err(|e| format!("client {g} again: {e}"))?;
        let (p, len) = listener_addr(l, v6).ptr_len();
        // SAFETY: p/len describe a live sockaddr.
        if unsafe { libc::connect(fd.as_raw_fd(), p, len) } != 0 && errno() != libc::EINPROGRESS {
            return Err(os_err(&format!("connect {g} again")));
        }
        *client = Some(fd);
        again += 1;
    }
    Ok(again)
}

/// What went wrong when a connection of a batch never arrived: the states of the clients
/// not accepted yet and the server namespace's drop counters.
fn diagnose(clients: &[Option<OwnedFd>], servers: &[Option<OwnedFd>], srv: &File) -> String {
    let mut states = BTreeMap::new();
    for (c, s) in clients.iter().zip(servers) {
        if let (Some(c), None) = (c, s) {
            *states
                .entry(tcp_state(c.as_raw_fd()).unwrap_or(0))
                .or_insert(0u32) += 1;
        }
    }
    let _ = setns(srv, "server namespace");
    let mut counters = String::new();
    if let Ok(text) = std::fs::read_to_string("/proc/self/net/netstat") {
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            if let [names, values] = pair {
                for (n, v) in names
                    .split_whitespace()
                    .zip(values.split_whitespace())
                    .skip(1)
                {
                    if v != "0"
                        && (n.contains("Drop") || n.contains("Overflow") || n.contains("Syn"))
                    {
                        counters.push_str(&format!(" {n}={v}"));
                    }
                }
            }
        }
    }
    format!("client states of the missing ones (kernel numbering): {states:?}; server counters:{counters}")
}

/// Drives a batch of connections into `kind`; keeps the server ends that stay open.
fn settle(kind: Kind, pairs: Vec<(OwnedFd, OwnedFd)>, kept: &mut Vec<OwnedFd>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let abort = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    match kind {
        Kind::Established => {
            for (server, client) in pairs {
                // The RST is dropped by the peer's filter: the server end stays ESTABLISHED.
                set_opt(
                    client.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &abort,
                    "SO_LINGER",
                )?;
                drop(client);
                kept.push(server);
            }
        }
        Kind::CloseWait => {
            for (_, client) in &pairs {
                // SAFETY: plain syscall.
                if unsafe { libc::shutdown(client.as_raw_fd(), libc::SHUT_WR) } != 0 {
                    return Err(os_err("shutdown"));
                }
            }
            for (server, client) in pairs {
                wait_state(server.as_raw_fd(), TCP_CLOSE_WAIT, deadline, "CLOSE_WAIT")?;
                set_opt(
                    client.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &abort,
                    "SO_LINGER",
                )?;
                drop(client);
                kept.push(server);
            }
        }
        Kind::TimeWait => {
            let mut clients = Vec::with_capacity(pairs.len());
            for (server, client) in pairs {
                drop(server); // FIN: the server end is the active closer
                clients.push(client);
            }
            for client in clients {
                wait_state(
                    client.as_raw_fd(),
                    TCP_CLOSE_WAIT,
                    deadline,
                    "peer CLOSE_WAIT",
                )?;
                // LAST_ACK, orphaned; its FIN makes the server end TIME_WAIT.
                drop(client);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// time

fn time(args: &[String]) -> Result<()> {
    let flags = Flags::parse(args)?;
    let timeout: f64 = flags.num("timeout", None)?;
    let netns = File::open(flags.get("netns")?).map_err(|e| format!("--netns: {e}"))?;
    let (program, rest) = flags.rest.split_first().ok_or("no command after --")?;
    let stderr = match flags.named.get("stderr") {
        Some(path) => Stdio::from(
            File::options()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("--stderr {path}: {e}"))?,
        ),
        None => Stdio::inherit(),
    };
    let ns_fd = netns.as_raw_fd();
    let mut command = Command::new(program);
    command
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // SAFETY: only async-signal-safe syscalls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setns(ns_fd, libc::CLONE_NEWNET) != 0 || libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Ctrl-C or a kill of the harness must not leave the command running in its own process
    // group: take those signals through a signalfd and kill the command first. (The child's
    // mask is reset by std before exec.)
    let set = signal_set(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP]);
    // SAFETY: valid set; signalfd returns a new descriptor or -1.
    let sigfd = unsafe {
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::signalfd(-1, &set, libc::SFD_CLOEXEC)
    };
    if sigfd < 0 {
        return Err(os_err("signalfd"));
    }
    // SAFETY: fresh descriptor.
    let sigfd = unsafe { OwnedFd::from_raw_fd(sigfd) };
    let start = Instant::now();
    let child = command.spawn().map_err(|e| format!("{program}: {e}"))?;
    let pid = child.id() as i32;
    // SAFETY: plain syscall; pidfd_open returns a new descriptor or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if pidfd < 0 {
        return Err(os_err("pidfd_open"));
    }
    // SAFETY: fresh descriptor.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let mut timed_out = false;
    let mut interrupted = false;
    loop {
        let left = timeout - start.elapsed().as_secs_f64();
        if left <= 0.0 {
            timed_out = true;
            // SAFETY: the child leads its own process group.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            break;
        }
        let mut pfds = [
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sigfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = (left * 1000.0).ceil().min(60_000.0) as i32;
        // SAFETY: two valid pollfds.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), 2, ms) };
        if rc > 0 && pfds[1].revents != 0 {
            interrupted = true;
            // SAFETY: as above.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            break;
        }
        if rc > 0 && pfds[0].revents != 0 {
            break;
        }
    }
    let mut status = 0;
    // SAFETY: rusage is a valid out pointer.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if rc != pid {
        return Err(os_err("wait4"));
    }
    std::mem::forget(child); // already reaped
    if interrupted {
        return Err("interrupted: the command was killed".into());
    }
    let verdict = if timed_out {
        "timeout".to_string()
    } else if libc::WIFEXITED(status) {
        format!("exit{}", libc::WEXITSTATUS(status))
    } else {
        format!("signal{}", libc::WTERMSIG(status))
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    println!("{wall:.6} {} {verdict} {cpu:.6}", usage.ru_maxrss);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// report

/// The targets: (what, tcpstat command, reference command, ratio limit, sizes).
const TARGETS: &[(&str, &str, &str, f64, &[u64])] = &[
    (
        "summary <= 0.5x ss -tan",
        "summary",
        "ss",
        0.5,
        &[100_000, 500_000, 1_000_000],
    ),
    (
        "summary --source proc <= 0.6x netstat -tan",
        "summary-proc",
        "netstat",
        0.6,
        &[],
    ),
    ("list <= 1.0x ss -tan", "list", "ss", 1.0, &[]),
    (
        "list --ndjson <= 1.5x ss -tan",
        "list-ndjson",
        "ss",
        1.5,
        &[],
    ),
    ("procs <= 0.1x ss -tanp", "procs", "ss-p", 0.1, &[100_000]),
    ("list -i <= 1.0x ss -tin", "list-i", "ss-i", 1.0, &[100_000]),
    (
        "health <= 1.5x summary",
        "health",
        "summary",
        1.5,
        &[1_000_000],
    ),
    (
        "workloads <= 1.15x summary",
        "workloads",
        "summary",
        1.15,
        &[100_000, 1_000_000],
    ),
    (
        "procs <= 0.02x ss -tanp",
        "procs",
        "ss-p",
        0.02,
        &[1_000_000],
    ),
    (
        "procs <= 0.5x lsof -nP -iTCP",
        "procs",
        "lsof",
        0.5,
        &[1_000_000],
    ),
    (
        "list -p <= 0.1x ss -tanp",
        "list-p",
        "ss-p",
        0.1,
        &[100_000],
    ),
    (
        "list -p <= 0.02x ss -tanp",
        "list-p",
        "ss-p",
        0.02,
        &[1_000_000],
    ),
    (
        "list -p <= 0.5x lsof -nP -iTCP",
        "list-p",
        "lsof",
        0.5,
        &[1_000_000],
    ),
    (
        "watch tick <= 1.2x ss -tan state close-wait",
        "watch",
        "ss-cw",
        1.2,
        &[],
    ),
];

fn median(values: &[f64]) -> Option<f64> {
    let mut w = values.to_vec();
    if w.is_empty() {
        return None;
    }
    w.sort_by(f64::total_cmp);
    let n = w.len();
    Some(if n % 2 == 1 {
        w[n / 2]
    } else {
        (w[n / 2 - 1] + w[n / 2]) / 2.0
    })
}

/// Results of one command at one size.
#[derive(Default)]
struct Runs {
    walls: Vec<f64>,
    /// User + system CPU seconds: less disturbed than wall time by other load.
    cpus: Vec<f64>,
    rss_kib: Vec<u64>,
    /// Set when a run hit the bound: the command takes at least this long.
    bound: Option<f64>,
    failed: Vec<String>,
}

impl Runs {
    fn median(&self) -> Option<f64> {
        median(&self.walls)
    }

    fn cpu_median(&self) -> Option<f64> {
        if self.bound.is_some() {
            return None;
        }
        median(&self.cpus)
    }

    /// Median, or the bound when a run timed out (then the value is a lower bound).
    fn time(&self) -> Option<(f64, bool)> {
        match self.bound {
            Some(b) => Some((b, true)),
            None => self.median().map(|m| (m, false)),
        }
    }
}

fn fmt_secs(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.1}")
    } else if s >= 1.0 {
        format!("{s:.2}")
    } else {
        format!("{s:.3}")
    }
}

fn fmt_n(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// Input, tab-separated: `cmd <id> <command line>` lines, `size <N> <counted sockets>` lines and
/// `run <N> <id> <round> <wall s> <rss KiB> <status> <bound s> <cpu s>` lines.
fn report(args: &[String]) -> Result<()> {
    let path = args.first().ok_or(USAGE)?;
    let mut text = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| format!("{path}: {e}"))?;
    let mut commands: Vec<(String, String)> = Vec::new();
    let mut sizes: BTreeMap<u64, String> = BTreeMap::new();
    let mut runs: BTreeMap<(u64, String), Runs> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["cmd", id, cmd] => {
                if !commands.iter().any(|(i, _)| i == id) {
                    commands.push((id.to_string(), cmd.to_string()));
                }
            }
            ["size", n, counted] => {
                sizes.insert(
                    n.parse().map_err(|_| format!("bad line {line:?}"))?,
                    counted.to_string(),
                );
            }
            ["run", n, id, _round, wall, rss, status, bound, cpu] => {
                let n: u64 = n.parse().map_err(|_| format!("bad line {line:?}"))?;
                let r = runs.entry((n, id.to_string())).or_default();
                let wall: f64 = wall.parse().map_err(|_| format!("bad line {line:?}"))?;
                let rss: u64 = rss.parse().map_err(|_| format!("bad line {line:?}"))?;
                let cpu: f64 = cpu.parse().map_err(|_| format!("bad line {line:?}"))?;
                match *status {
                    "exit0" => {
                        r.walls.push(wall);
                        r.cpus.push(cpu);
                        r.rss_kib.push(rss);
                    }
                    "timeout" => {
                        r.bound = Some(bound.parse().map_err(|_| format!("bad line {line:?}"))?);
                        r.rss_kib.push(rss);
                    }
                    other => r.failed.push(other.to_string()),
                }
            }
            [""] | [] => {}
            _ => return Err(format!("bad line {line:?}")),
        }
    }

    let mut out = String::new();
    use std::fmt::Write as _;
    for (&n, counted) in &sizes {
        let _ = writeln!(out, "### N = {} ({counted})\n", fmt_n(n));
        let _ = writeln!(
            out,
            "| command | median s | min - max s | runs | ns / socket | CPU s | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        for (id, cmd) in &commands {
            let Some(r) = runs.get(&(n, id.clone())) else {
                continue;
            };
            let rss = r
                .rss_kib
                .iter()
                .max()
                .map_or("-".into(), |&k| format!("{:.1}", k as f64 / 1024.0));
            let (median, range, per) = match (r.time(), r.walls.is_empty()) {
                (Some((t, true)), _) => (
                    format!(">= {}", fmt_secs(t)),
                    "timed out".to_string(),
                    format!(">= {:.0}", t * 1e9 / n as f64),
                ),
                (Some((t, false)), false) => {
                    let lo = r.walls.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = r.walls.iter().copied().fold(0.0, f64::max);
                    (
                        fmt_secs(t),
                        format!("{} - {}", fmt_secs(lo), fmt_secs(hi)),
                        format!("{:.0}", t * 1e9 / n as f64),
                    )
                }
                _ => ("failed".into(), r.failed.join(","), "-".into()),
            };
            let nruns = r.walls.len() + usize::from(r.bound.is_some());
            let cpu = r.cpu_median().map_or("-".into(), fmt_secs);
            let _ = writeln!(
                out,
                "| `{cmd}` | {median} | {range} | {nruns} | {per} | {cpu} | {rss} |"
            );
        }
        let _ = writeln!(out);
    }

    // Time per socket of tcpstat's commands across sizes: flat means linear.
    let ns: Vec<u64> = sizes.keys().copied().collect();
    let _ = writeln!(out, "### Time per socket (ns), tcpstat\n");
    let _ = write!(out, "| command |");
    for &n in &ns {
        let _ = write!(out, " {} |", fmt_n(n));
    }
    let _ = write!(out, "\n|---|");
    for _ in &ns {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out);
    for (id, cmd) in commands.iter().filter(|(_, c)| c.starts_with("tcpstat")) {
        let _ = write!(out, "| `{cmd}` |");
        for &n in &ns {
            let cell =
                runs.get(&(n, id.clone()))
                    .and_then(Runs::time)
                    .map_or("-".into(), |(t, lower)| {
                        format!(
                            "{}{:.0}",
                            if lower { ">= " } else { "" },
                            t * 1e9 / n as f64
                        )
                    });
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "### Targets (ratio = tcpstat median / reference median, same run)\n"
    );
    let _ = writeln!(
        out,
        "| target | N | tcpstat s | reference s | ratio | met | CPU-time ratio |\n|---|---:|---:|---:|---:|---|---:|"
    );
    for &(what, ours, theirs, limit, at) in TARGETS {
        for &n in &ns {
            if !at.is_empty() && !at.contains(&n) {
                continue;
            }
            if at.is_empty() && n < 100_000 {
                continue;
            }
            let ra = runs.get(&(n, ours.to_string()));
            let rb = runs.get(&(n, theirs.to_string()));
            let a = ra.and_then(Runs::time);
            let b = rb.and_then(Runs::time);
            let cpu_ratio = match (ra.and_then(Runs::cpu_median), rb.and_then(Runs::cpu_median)) {
                (Some(x), Some(y)) if y > 0.0 => format!("{:.3}", x / y),
                _ => "-".into(),
            };
            let row = match (a, b) {
                (Some((a, a_lower)), Some((b, b_lower))) => {
                    let ratio = a / b;
                    // A timed-out reference makes the ratio an upper bound; a timed-out
                    // tcpstat makes it a lower bound.
                    let (rel, met) = match (a_lower, b_lower) {
                        (false, false) => ("", ratio <= limit),
                        (false, true) => ("<= ", ratio <= limit),
                        (true, false) => (">= ", false),
                        (true, true) => ("? ", false),
                    };
                    let verdict = if met {
                        "yes"
                    } else if b_lower && !a_lower {
                        "not shown: the reference hit the bound"
                    } else if rel == "? " {
                        "unknown"
                    } else {
                        "**no**"
                    };
                    format!(
                        "| {what} | {} | {}{} | {}{} | {rel}{ratio:.3} | {verdict} | {cpu_ratio} |",
                        fmt_n(n),
                        if a_lower { ">= " } else { "" },
                        fmt_secs(a),
                        if b_lower { ">= " } else { "" },
                        fmt_secs(b),
                    )
                }
                _ => format!("| {what} | {} | - | - | - | not measured | - |", fmt_n(n)),
            };
            let _ = writeln!(out, "{row}");
        }
    }
    // Peak memory of summary: must not grow with N (<= 10 MiB at 1M).
    for &n in &ns {
        if let Some(r) = runs.get(&(n, "summary".to_string())) {
            if let Some(&k) = r.rss_kib.iter().max() {
                let mib = k as f64 / 1024.0;
                let met = if mib <= 10.0 { "yes" } else { "**no**" };
                let _ = writeln!(
                    out,
                    "| summary peak RSS <= 10 MiB | {} | {mib:.1} MiB | - | - | {met} | - |",
                    fmt_n(n)
                );
            }
        }
    }
    print!("{out}");
    Ok(())
}
