//! Support code for the `tcpstat` integration tests.
//!
//! The helpers here drive real loopback TCP sockets into each of the eleven
//! kernel TCP states, wait (by polling the kernel, never by sleeping and
//! hoping) until the kernel shows exactly the expected sockets, and then run
//! the real `tcpstat` binary (and `ss`, when installed) to compare.
//!
//! Isolation:
//! * Every scenario part owns its own listener port, obtained by binding port
//!   0, checked against every socket visible in `/proc` and against a
//!   process-wide registry (so no two parts of this test binary ever share a
//!   port, even across address families).  Queries are then filtered with
//!   `--port P`, which makes counts exact even on a busy host.
//! * When the process may create network namespaces (root), the same
//!   scenarios also run on a dedicated thread that has `unshare(CLONE_NEWNET)`
//!   itself into a fresh, private namespace: there the counts for the whole
//!   namespace are exact too.  Child processes spawned from that thread
//!   (tcpstat, ss, nft) inherit the thread's namespace; `/proc/thread-self/net`
//!   shows that namespace to us.  The namespace disappears with the thread.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Write};
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_tcpstat");

/// How long any single wait on the kernel may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Requested SO_RCVBUF / SO_SNDBUF for the "fill the peer's window" recipes.
/// The kernel doubles the value; it only needs to be small compared with the
/// amount of data we manage to queue.
const SMALL_BUF: libc::c_int = 4096;

// ---------------------------------------------------------------------------
// TCP states and families
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Listen,
    SynSent,
    SynRecv,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Closed,
}

impl State {
    /// All eleven states, in the order of the JSON `states` object.
    pub const ALL: [State; 11] = [
        State::Listen,
        State::SynSent,
        State::SynRecv,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
        State::Closed,
    ];

    fn idx(self) -> usize {
        self as usize
    }

    /// The key used in tcpstat's JSON output.
    pub fn json_name(self) -> &'static str {
        match self {
            State::Listen => "LISTEN",
            State::SynSent => "SYN_SENT",
            State::SynRecv => "SYN_RECV",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN_WAIT_1",
            State::FinWait2 => "FIN_WAIT_2",
            State::CloseWait => "CLOSE_WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST_ACK",
            State::TimeWait => "TIME_WAIT",
            State::Closed => "CLOSED",
        }
    }

    pub fn from_json_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.json_name() == name)
    }

    /// The name `ss -tan` prints in its first column.
    pub fn ss_name(self) -> &'static str {
        match self {
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynRecv => "SYN-RECV",
            State::Established => "ESTAB",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
            State::Closed => "UNCONN",
        }
    }

    pub fn from_ss_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.ss_name() == name)
    }

    /// The kernel's `TCP_*` number (as shown in the `st` column of /proc/net/tcp).
    pub fn from_kernel(code: u8) -> Option<State> {
        Some(match code {
            1 => State::Established,
            2 => State::SynSent,
            3 => State::SynRecv,
            4 => State::FinWait1,
            5 => State::FinWait2,
            6 => State::TimeWait,
            7 => State::Closed,
            8 => State::CloseWait,
            9 => State::LastAck,
            10 => State::Listen,
            11 => State::Closing,
            12 => State::SynRecv, // TCP_NEW_SYN_RECV (request sockets)
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    fn idx(self) -> usize {
        match self {
            Family::V4 => 0,
            Family::V6 => 1,
        }
    }

    pub fn json_key(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    pub fn loopback(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Family::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }

    fn domain(self) -> libc::c_int {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
        }
    }
}

// ---------------------------------------------------------------------------
// Counts
// ---------------------------------------------------------------------------

/// Socket counts per family and state.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    by_family: [[u64; 11]; 2],
}

impl Counts {
    pub fn get(&self, fam: Family, st: State) -> u64 {
        self.by_family[fam.idx()][st.idx()]
    }

    pub fn add(&mut self, fam: Family, st: State, n: u64) {
        self.by_family[fam.idx()][st.idx()] += n;
    }

    pub fn with(mut self, fam: Family, st: State, n: u64) -> Counts {
        self.add(fam, st, n);
        self
    }

    pub fn state_total(&self, st: State) -> u64 {
        Family::BOTH.iter().map(|&f| self.get(f, st)).sum()
    }

    pub fn family_total(&self, fam: Family) -> u64 {
        self.by_family[fam.idx()].iter().sum()
    }

    pub fn total(&self) -> u64 {
        Family::BOTH.iter().map(|&f| self.family_total(f)).sum()
    }

    pub fn merge(&mut self, other: &Counts) {
        for f in Family::BOTH {
            for s in State::ALL {
                self.add(f, s, other.get(f, s));
            }
        }
    }

    /// The same counts with one state zeroed (e.g. CLOSED for /proc and ss).
    pub fn without(mut self, st: State) -> Counts {
        for f in Family::BOTH {
            self.by_family[f.idx()][st.idx()] = 0;
        }
        self
    }

    /// Only the given family.
    pub fn only_family(self, fam: Family) -> Counts {
        let mut out = Counts::default();
        out.by_family[fam.idx()] = self.by_family[fam.idx()];
        out
    }

    /// Only the given states.
    pub fn only_states(self, states: &[State]) -> Counts {
        let mut out = Counts::default();
        for f in Family::BOTH {
            for &s in states {
                out.add(f, s, self.get(f, s));
            }
        }
        out
    }
}

impl fmt::Debug for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first_fam = true;
        for fam in Family::BOTH {
            if !first_fam {
                write!(f, " ")?;
            }
            first_fam = false;
            write!(f, "{}{{", fam.json_key())?;
            let mut first = true;
            for s in State::ALL {
                let n = self.get(fam, s);
                if n != 0 {
                    if !first {
                        write!(f, ", ")?;
                    }
                    first = false;
                    write!(f, "{}: {}", s.json_name(), n)?;
                }
            }
            write!(f, "}}")?;
        }
        write!(f, " total {}", self.total())
    }
}

// ---------------------------------------------------------------------------
// Scope: which sockets a query covers
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Sockets whose local or remote port is P (`--port P`).
    Port(u16),
    /// Every socket of the current network namespace.
    Whole,
}

impl Scope {
    pub fn tcpstat_args(self) -> Vec<String> {
        match self {
            Scope::Port(p) => vec!["--port".into(), p.to_string()],
            Scope::Whole => Vec::new(),
        }
    }

    fn matches(self, lport: u16, rport: u16) -> bool {
        match self {
            Scope::Port(p) => lport == p || rport == p,
            Scope::Whole => true,
        }
    }
}

// ---------------------------------------------------------------------------
// Reading the kernel's view from /proc (our own parser, independent of tcpstat)
// ---------------------------------------------------------------------------

/// One line of /proc/net/tcp{,6}.
#[derive(Clone, Copy, Debug)]
pub struct ProcSock {
    pub family: Family,
    pub lport: u16,
    pub rport: u16,
    pub state: State,
}

fn parse_port(addr: &str) -> Option<u16> {
    let (_, port) = addr.rsplit_once(':')?;
    u16::from_str_radix(port, 16).ok()
}

/// Every TCP socket /proc shows for the calling *thread's* network namespace.
/// (`/proc/net` is `/proc/self/net`, i.e. the namespace of the thread-group
/// leader; a thread that unshared its namespace has to use thread-self.)
pub fn proc_sockets() -> Vec<ProcSock> {
    let mut out = Vec::new();
    for (family, file) in [(Family::V4, "tcp"), (Family::V6, "tcp6")] {
        let path = format!("/proc/thread-self/net/{file}");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // No IPv6 in this kernel: nothing to see there.
            Err(e) if e.kind() == io::ErrorKind::NotFound && family == Family::V6 => continue,
            Err(e) => panic!("reading {path}: {e}"),
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 4 {
                continue;
            }
            let (Some(lport), Some(rport), Ok(code)) = (
                parse_port(fields[1]),
                parse_port(fields[2]),
                u8::from_str_radix(fields[3], 16),
            ) else {
                panic!("unparseable line in {path}: {line:?}");
            };
            let state = State::from_kernel(code)
                .unwrap_or_else(|| panic!("unknown state {code} in {path}: {line:?}"));
            out.push(ProcSock {
                family,
                lport,
                rport,
                state,
            });
        }
    }
    out
}

/// Counts of the sockets /proc shows in `scope` (CLOSED is never visible there).
pub fn kernel_counts(scope: Scope) -> Counts {
    let mut c = Counts::default();
    for s in proc_sockets() {
        if scope.matches(s.lport, s.rport) {
            c.add(s.family, s.state, 1);
        }
    }
    c
}

/// Poll `probe` every 10 ms until it returns `Ok`, for at most `timeout`.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) => {
                if Instant::now() >= deadline {
                    panic!("timed out after {timeout:?} waiting for {what}: {last}");
                }
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until /proc shows exactly `expected` (minus CLOSED) in `scope`.
pub fn wait_for_kernel(what: &str, scope: Scope, expected: Counts) {
    let want = expected.without(State::Closed);
    wait_until(what, WAIT, || {
        let got = kernel_counts(scope);
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "/proc in {scope:?} shows {got:?}, want {want:?}\n{}",
                ss_dump()
            ))
        }
    });
}

fn ss_dump() -> String {
    if !ss_available() {
        return String::new();
    }
    match Command::new(SS).args(["-tan"]).output() {
        Ok(o) => format!("ss -tan:\n{}", String::from_utf8_lossy(&o.stdout)),
        Err(_) => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Raw sockets via libc
// ---------------------------------------------------------------------------

fn os_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(a.ip().octets()),
            };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn from_sockaddr(storage: &libc::sockaddr_storage) -> SocketAddr {
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this is a sockaddr_in.
            let sin = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                u16::from_be(sin.sin_port),
            ))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this is a sockaddr_in6.
            let sin6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            ))
        }
        f => panic!("unexpected address family {f}"),
    }
}

/// A TCP socket.  Dropping it aborts the connection (SO_LINGER 0, i.e. RST)
/// so that scenarios leave no orphaned sockets behind on the host; use
/// [`Sock::close_gracefully`] for an ordinary close().
pub struct Sock {
    fd: Option<OwnedFd>,
    family: Family,
}

impl Sock {
    pub fn new(family: Family) -> Sock {
        // SAFETY: plain syscall.
        let fd =
            unsafe { libc::socket(family.domain(), libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0, "{}", os_err("socket()"));
        Sock {
            // SAFETY: fd is a fresh descriptor we own.
            fd: Some(unsafe { OwnedFd::from_raw_fd(fd) }),
            family,
        }
    }

    fn raw(&self) -> RawFd {
        self.fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1)
    }

    pub fn family(&self) -> Family {
        self.family
    }

    fn setsockopt<T>(&self, level: libc::c_int, name: libc::c_int, value: &T, what: &str) {
        // SAFETY: value points to a live T of the given size.
        let rc = unsafe {
            libc::setsockopt(
                self.raw(),
                level,
                name,
                value as *const T as *const libc::c_void,
                mem::size_of::<T>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "{}", os_err(what));
    }

    pub fn set_rcvbuf(&self, bytes: libc::c_int) -> &Self {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_RCVBUF, &bytes, "SO_RCVBUF");
        self
    }

    pub fn set_sndbuf(&self, bytes: libc::c_int) -> &Self {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_SNDBUF, &bytes, "SO_SNDBUF");
        self
    }

    pub fn set_reuseaddr(&self) -> &Self {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, &1, "SO_REUSEADDR");
        self
    }

    pub fn set_reuseport(&self) -> &Self {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEPORT, &1, "SO_REUSEPORT");
        self
    }

    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        let (sa, len) = to_sockaddr(addr);
        // SAFETY: sa is a valid sockaddr of length len.
        let rc = unsafe { libc::bind(self.raw(), &sa as *const _ as *const libc::sockaddr, len) };
        if rc == 0 {
            Ok(())
        } else {
            Err(os_err(&format!("bind({addr})")))
        }
    }

    pub fn listen(&self, backlog: libc::c_int) {
        // SAFETY: plain syscall.
        let rc = unsafe { libc::listen(self.raw(), backlog) };
        assert_eq!(rc, 0, "{}", os_err("listen()"));
    }

    pub fn local_addr(&self) -> SocketAddr {
        // SAFETY: zeroed sockaddr_storage is valid; getsockname fills it.
        let mut sa: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockname(
                self.raw(),
                &mut sa as *mut _ as *mut libc::sockaddr,
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", os_err("getsockname()"));
        from_sockaddr(&sa)
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Blocking connect (on loopback it returns as soon as the SYN-ACK is in).
    pub fn connect(&self, addr: SocketAddr) {
        let (sa, len) = to_sockaddr(addr);
        // SAFETY: sa is a valid sockaddr of length len.
        let rc =
            unsafe { libc::connect(self.raw(), &sa as *const _ as *const libc::sockaddr, len) };
        assert_eq!(rc, 0, "{}", os_err(&format!("connect({addr})")));
    }

    /// Non-blocking connect: returns once the SYN is on its way.
    pub fn connect_nonblocking(&self, addr: SocketAddr) {
        self.set_nonblocking();
        let (sa, len) = to_sockaddr(addr);
        // SAFETY: sa is a valid sockaddr of length len.
        let rc =
            unsafe { libc::connect(self.raw(), &sa as *const _ as *const libc::sockaddr, len) };
        let err = io::Error::last_os_error();
        assert!(
            rc == -1 && err.raw_os_error() == Some(libc::EINPROGRESS),
            "non-blocking connect({addr}) should be EINPROGRESS, got rc={rc} {err}"
        );
    }

    pub fn set_nonblocking(&self) {
        // SAFETY: plain fcntl calls.
        unsafe {
            let flags = libc::fcntl(self.raw(), libc::F_GETFL);
            assert!(flags >= 0, "{}", os_err("F_GETFL"));
            let rc = libc::fcntl(self.raw(), libc::F_SETFL, flags | libc::O_NONBLOCK);
            assert_eq!(rc, 0, "{}", os_err("F_SETFL"));
        }
    }

    /// accept() with a deadline.
    pub fn accept(&self) -> Sock {
        let mut pfd = libc::pollfd {
            fd: self.raw(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: pfd is a valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, WAIT.as_millis() as libc::c_int) };
        assert!(rc >= 0, "{}", os_err("poll()"));
        assert!(rc == 1, "no connection to accept within {WAIT:?}");
        // SAFETY: plain syscall; we do not ask for the peer address.
        let fd = unsafe {
            libc::accept4(
                self.raw(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        assert!(fd >= 0, "{}", os_err("accept4()"));
        Sock {
            // SAFETY: fd is a fresh descriptor we own.
            fd: Some(unsafe { OwnedFd::from_raw_fd(fd) }),
            family: self.family,
        }
    }

    pub fn shutdown_write(&self) {
        // SAFETY: plain syscall.
        let rc = unsafe { libc::shutdown(self.raw(), libc::SHUT_WR) };
        assert_eq!(rc, 0, "{}", os_err("shutdown(SHUT_WR)"));
    }

    /// Send without blocking until the kernel says EAGAIN; returns bytes sent.
    pub fn send_until_eagain(&self) -> usize {
        let buf = [0x5au8; 16384];
        let mut total = 0;
        loop {
            // SAFETY: buf is valid for buf.len() bytes.
            let n = unsafe {
                libc::send(
                    self.raw(),
                    buf.as_ptr() as *const libc::c_void,
                    buf.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n > 0 {
                total += n as usize;
                continue;
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN) => return total,
                Some(libc::EINTR) => continue,
                _ => panic!("send(): {err}"),
            }
        }
    }

    /// Bytes in the send queue that have not been sent yet (SIOCOUTQNSD).
    pub fn unsent_bytes(&self) -> i64 {
        const SIOCOUTQNSD: libc::c_ulong = 0x894B;
        let mut n: libc::c_int = 0;
        // SAFETY: the ioctl writes one int.
        let rc = unsafe { libc::ioctl(self.raw(), SIOCOUTQNSD as _, &mut n) };
        assert_eq!(rc, 0, "{}", os_err("ioctl(SIOCOUTQNSD)"));
        i64::from(n)
    }

    /// Fill the peer's receive window: send until EAGAIN, and keep doing so
    /// until data is waiting unsent in our queue (the peer advertises a zero
    /// window) and stays there.  A FIN queued after that is stuck behind it.
    pub fn fill_peer_window(&self) {
        wait_until("the peer's receive window to fill up", WAIT, || {
            self.send_until_eagain();
            let before = self.unsent_bytes();
            if before == 0 {
                return Err("send queue empty: the peer still accepts data".into());
            }
            // Give the peer a moment to open its window again, if it would.
            thread::sleep(Duration::from_millis(20));
            let after = self.unsent_bytes();
            if after > 0 && after >= before {
                Ok(())
            } else {
                Err(format!(
                    "unsent bytes went {before} -> {after}: window still moving"
                ))
            }
        });
    }

    /// An ordinary close(): FIN, then the kernel carries on (orphaned).
    pub fn close_gracefully(mut self) {
        drop(self.fd.take());
    }

    /// The descriptor, to hand to another process (no abort on drop).
    pub fn into_fd(mut self) -> OwnedFd {
        self.fd.take().expect("an open socket")
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        if self.fd.is_some() {
            let l = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: l is a valid linger struct; failures are harmless here.
            unsafe {
                libc::setsockopt(
                    self.raw(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &l as *const _ as *const libc::c_void,
                    mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Collision-free ports
// ---------------------------------------------------------------------------

/// Ports handed out to scenario parts by this test process, never reused.
static PORTS_USED: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Bind a socket made by `make` to loopback port 0 and keep the port only if
/// no other part of this process ever had it and /proc shows no socket at all
/// (e.g. a TIME_WAIT left over by an earlier run) with it as local or remote
/// port.  Rejected sockets stay bound until we are done so the kernel cannot
/// hand the same port out again.
fn bind_fresh_port(family: Family, make: impl Fn() -> Sock) -> (Sock, u16) {
    let mut rejected = Vec::new();
    for _ in 0..200 {
        let sock = make();
        sock.bind(SocketAddr::new(family.loopback(), 0))
            .unwrap_or_else(|e| panic!("{e}"));
        let port = sock.port();
        let clean = !proc_sockets()
            .iter()
            .any(|s| s.lport == port || s.rport == port);
        let mut used = PORTS_USED.lock().unwrap_or_else(|e| e.into_inner());
        if clean && used.insert(port) {
            return (sock, port);
        }
        drop(used);
        rejected.push(sock);
    }
    panic!("could not find a port nobody else uses");
}

// ---------------------------------------------------------------------------
// Network namespaces
// ---------------------------------------------------------------------------

/// Whether this process can put a thread in a private network namespace;
/// `Err` holds the reason why not.
pub fn netns_available() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            // SAFETY: plain syscall.
            if unsafe { libc::geteuid() } != 0 {
                return Err("not running as root".into());
            }
            thread::spawn(|| {
                // SAFETY: only affects this short-lived thread.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    return Err(format!(
                        "unshare(CLONE_NEWNET) failed: {}",
                        io::Error::last_os_error()
                    ));
                }
                Ok(())
            })
            .join()
            .unwrap_or_else(|_| Err("namespace probe thread panicked".into()))
        })
        .clone()
}

fn bring_lo_up() {
    // SAFETY: ioctl on a throwaway datagram socket with a valid ifreq.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "{}", os_err("socket(AF_INET, SOCK_DGRAM)"));
        let fd = OwnedFd::from_raw_fd(fd);
        let mut ifr: libc::ifreq = mem::zeroed();
        for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let rc = libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut ifr);
        assert_eq!(rc, 0, "{}", os_err("SIOCGIFFLAGS lo"));
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        let rc = libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS as _, &mut ifr);
        assert_eq!(rc, 0, "{}", os_err("SIOCSIFFLAGS lo up"));
    }
}

/// Run `f` on a fresh thread inside a fresh, private network namespace with
/// `lo` up.  Panics inside `f` propagate to the caller.
pub fn in_private_netns<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let handle = thread::Builder::new()
        .name("netns".into())
        .spawn(move || {
            // SAFETY: only this thread changes namespace; it exits afterwards.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "{}", os_err("unshare(CLONE_NEWNET)"));
            bring_lo_up();
            // The new namespace must start empty, or whole-namespace counts
            // would mean nothing.
            let leftovers = proc_sockets();
            assert!(
                leftovers.is_empty(),
                "fresh namespace is not empty: {leftovers:?}"
            );
            f()
        })
        .expect("spawn netns thread");
    match handle.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Whether the calling thread's namespace has a usable IPv6 loopback; when
/// not, says so on stderr as a skip for `what`.
pub fn ipv6_available(what: &str) -> bool {
    // SAFETY: plain syscall; the descriptor is closed right away.
    let fd = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        eprintln!(
            "skipped: {what}: no IPv6 sockets: {}",
            io::Error::last_os_error()
        );
        return false;
    }
    // SAFETY: fd is a fresh descriptor we own.
    let sock = Sock {
        fd: Some(unsafe { OwnedFd::from_raw_fd(fd) }),
        family: Family::V6,
    };
    match sock.bind(SocketAddr::new(Family::V6.loopback(), 0)) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipped: {what}: no IPv6 loopback: {e}");
            false
        }
    }
}

/// Where a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Env {
    /// The host's namespace, shared with everything else: port-filtered only.
    Host,
    /// A private namespace owned by the current thread: exact everywhere.
    Netns,
}

/// Run `f` on the host (port-filtered checks) and then, when possible, again
/// in a private network namespace (whole-namespace checks as well).
pub fn run_everywhere(name: &str, f: fn(Env)) {
    f(Env::Host);
    match netns_available() {
        Ok(()) => in_private_netns(move || f(Env::Netns)),
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run {name} in a private network namespace (as root): {why}"
            );
            eprintln!("skipped: {name} in a private network namespace: {why}")
        }
    }
}

/// Run `f` only in a private network namespace; print why not otherwise.
/// Returns whether it ran.
pub fn run_in_netns_only(name: &str, f: fn(Env)) -> bool {
    match netns_available() {
        Ok(()) => {
            in_private_netns(move || f(Env::Netns));
            true
        }
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run {name} (as root): {why}"
            );
            eprintln!("skipped: {name}: {why}");
            false
        }
    }
}

// ---------------------------------------------------------------------------
// Running tcpstat and ss
// ---------------------------------------------------------------------------

pub fn tcpstat<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {BIN}: {e}"))
}

pub fn describe(args: &[String], out: &Output) -> String {
    format!(
        "`tcpstat {}` exited {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Netlink,
    Proc,
}

impl Source {
    pub const BOTH: [Source; 2] = [Source::Netlink, Source::Proc];

    pub fn name(self) -> &'static str {
        match self {
            Source::Netlink => "netlink",
            Source::Proc => "proc",
        }
    }

    /// The states this source can see.
    pub fn covers(self) -> Vec<State> {
        match self {
            Source::Netlink => State::ALL.to_vec(),
            Source::Proc => State::ALL
                .into_iter()
                .filter(|&s| s != State::Closed)
                .collect(),
        }
    }

    /// What this source should report for sockets that are really `c`.
    pub fn visible(self, c: Counts) -> Counts {
        match self {
            Source::Netlink => c,
            Source::Proc => c.without(State::Closed),
        }
    }
}

/// A parsed and structurally validated `tcpstat summary --json` document.
#[derive(Debug)]
pub struct Report {
    /// The command line that produced it.
    pub command: String,
    pub json: Value,
    pub counts: Counts,
    pub source: String,
    pub source_covers: Vec<String>,
    pub counted_states: Vec<String>,
    pub total: u64,
}

fn state_map(v: &Value, at: &str) -> Result<[u64; 11], String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{at} is not an object"))?;
    let mut out = [0u64; 11];
    for s in State::ALL {
        out[s.idx()] = obj
            .get(s.json_name())
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("{at}.{} missing or not a count", s.json_name()))?;
    }
    if obj.len() != 11 {
        let extra: Vec<&String> = obj
            .keys()
            .filter(|k| State::from_json_name(k).is_none())
            .collect();
        return Err(format!(
            "{at} has keys besides the eleven states: {extra:?}"
        ));
    }
    Ok(out)
}

fn string_list(v: &Value, at: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or_else(|| format!("{at} is not an array"))?
        .iter()
        .map(|x| {
            x.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{at} holds a non-string"))
        })
        .collect()
}

/// Parse the JSON document and check everything that must hold for any
/// run: schema, the eleven keys everywhere, the sums, completeness.
pub fn parse_report(stdout: &[u8]) -> Result<Report, String> {
    let json: Value = serde_json::from_slice(stdout).map_err(|e| format!("not JSON: {e}"))?;
    let get = |k: &str| json.get(k).ok_or_else(|| format!("missing key {k:?}"));
    if get("schema_version")?.as_u64() != Some(2) {
        return Err("schema_version is not 2".into());
    }
    let source = get("source")?
        .as_str()
        .ok_or("source is not a string")?
        .to_owned();
    let source_covers = string_list(get("source_covers")?, "source_covers")?;
    let counted_states = string_list(get("counted_states")?, "counted_states")?;
    for name in source_covers.iter().chain(&counted_states) {
        if State::from_json_name(name).is_none() {
            return Err(format!("unknown state name {name:?} in a state list"));
        }
    }
    get("timestamp")?
        .as_str()
        .ok_or("timestamp is not a string")?;
    get("hostname")?
        .as_str()
        .ok_or("hostname is not a string")?;
    let top = state_map(get("states")?, "states")?;
    let families = get("families")?;
    let mut counts = Counts::default();
    for fam in Family::BOTH {
        let f = families
            .get(fam.json_key())
            .ok_or_else(|| format!("families.{} missing", fam.json_key()))?;
        let at = format!("families.{}.states", fam.json_key());
        let states = state_map(f.get("states").ok_or_else(|| format!("{at} missing"))?, &at)?;
        for s in State::ALL {
            counts.add(fam, s, states[s.idx()]);
        }
        let ftotal = f
            .get("total")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("families.{}.total missing", fam.json_key()))?;
        if ftotal != counts.family_total(fam) {
            return Err(format!(
                "families.{}.total is {ftotal} but its states sum to {}",
                fam.json_key(),
                counts.family_total(fam)
            ));
        }
    }
    for s in State::ALL {
        if top[s.idx()] != counts.state_total(s) {
            return Err(format!(
                "states.{} is {} but ipv4 + ipv6 = {}",
                s.json_name(),
                top[s.idx()],
                counts.state_total(s)
            ));
        }
    }
    let total = get("total")?.as_u64().ok_or("total is not a count")?;
    if total != counts.total() {
        return Err(format!(
            "total is {total} but the states sum to {}",
            counts.total()
        ));
    }
    if !get("unknown_states")?
        .as_array()
        .ok_or("unknown_states is not an array")?
        .is_empty()
    {
        return Err("unknown_states is not empty".into());
    }
    if get("unknown")?.as_u64() != Some(0) {
        return Err("unknown is not 0".into());
    }
    // Incomplete is allowed only for the /proc churn warning (see json_report).
    let churn_only = get("warnings")?.as_array().is_some_and(|w| {
        !w.is_empty()
            && w.iter().all(|w| {
                w.as_str()
                    .is_some_and(|w| w.contains("the table changed while it was read"))
            })
    });
    if get("complete")?.as_bool() != Some(true) && !churn_only {
        return Err("complete is not true".into());
    }
    get("warnings")?
        .as_array()
        .ok_or("warnings is not an array")?;
    Ok(Report {
        command: String::new(),
        json,
        counts,
        source,
        source_covers,
        counted_states,
        total,
    })
}

/// Run tcpstat with `args` (which must ask for JSON): it must succeed with
/// an empty stderr and print a valid report.
pub fn json_report(args: &[String]) -> Report {
    let out = tcpstat(args);
    // The warnings a correct run may print: /proc changed under the read (repeated rows
    // were dropped), and CLOSED asked for (`--state big`) from /proc, which cannot see it.
    // Anything else on stderr is a failure.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let only_churn_warnings = stderr.lines().all(|l| {
        l.starts_with("tcpstat: warning: ")
            && (l.contains("the table changed while it was read")
                || l.starts_with(
                    "tcpstat: warning: CLOSED not counted: not visible to the proc source",
                ))
    });
    assert!(
        out.status.success() && only_churn_warnings,
        "expected success with empty stderr: {}",
        describe(args, &out)
    );
    let mut report = parse_report(&out.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON report ({e}): {}", describe(args, &out)));
    report.command = format!("tcpstat {}", args.join(" "));
    report
}

/// Run `tcpstat summary --json --source S <extra>` and validate the result,
/// including `source` and `source_covers`.
pub fn summary(source: Source, extra: &[String]) -> Report {
    let mut args: Vec<String> = vec![
        "summary".into(),
        "--json".into(),
        "--source".into(),
        source.name().into(),
    ];
    args.extend(extra.iter().cloned());
    let report = json_report(&args);
    assert_eq!(
        report.source,
        source.name(),
        "`{}`: wrong source",
        report.command
    );
    let mut got_covers: Vec<&str> = report.source_covers.iter().map(String::as_str).collect();
    got_covers.sort_unstable();
    let mut want_covers: Vec<&str> = source.covers().iter().map(|s| s.json_name()).collect();
    want_covers.sort_unstable();
    assert_eq!(
        got_covers, want_covers,
        "`{}`: source_covers\nreport: {}",
        report.command, report.json
    );
    report
}

/// Run `query` and expect it to report exactly `want`.
///
/// In a private namespace nothing but this thread's static sockets exists,
/// so one run must be right.  On the host, the kernel's /proc/net/tcp is
/// produced one page per read(), and sockets created or destroyed elsewhere
/// (other tests, other processes) between two reads can make an entry appear
/// twice (see `counts_stay_exact_while_other_sockets_come_and_go`); so there
/// the query is repeated until it matches, for at most [`WAIT`].  A
/// consistent error still fails.
pub fn expect_report(env: Env, want: Counts, ctx: &str, query: impl Fn() -> Report) -> Report {
    let attempt = || {
        let report = query();
        if report.counts == want {
            Ok(report)
        } else {
            Err(format!(
                "{ctx}: `{}`\n  expected {want:?}\n  got      {:?}\nreport: {}",
                report.command, report.counts, report.json
            ))
        }
    };
    match env {
        Env::Netns => attempt().unwrap_or_else(|e| panic!("{e}")),
        Env::Host => {
            let mut retries = 0;
            wait_until("tcpstat to report the expected counts", WAIT, || {
                let r = attempt();
                if let Err(e) = &r {
                    retries += 1;
                    eprintln!("note: host-mode retry {retries}: {e}");
                }
                r
            })
        }
    }
}

/// `tcpstat summary --json --source S <args>` must report exactly `want`.
pub fn expect_counts(env: Env, source: Source, args: &[String], want: Counts, ctx: &str) -> Report {
    expect_report(env, want, ctx, || summary(source, args))
}

pub const SS: &str = "/usr/bin/ss";

pub fn ss_available() -> bool {
    std::path::Path::new(SS).exists()
}

/// Count the sockets `ss -tan` shows in `scope`, per family and state.
pub fn ss_counts(scope: Scope) -> Counts {
    let mut counts = Counts::default();
    for fam in Family::BOTH {
        let mut cmd = Command::new(SS);
        cmd.arg("-tanH").arg(match fam {
            Family::V4 => "-4",
            Family::V6 => "-6",
        });
        if let Scope::Port(p) = scope {
            cmd.arg(format!("( sport = :{p} or dport = :{p} )"));
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("running ss: {e}"));
        assert!(
            out.status.success(),
            "ss failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let st = State::from_ss_name(name)
                .unwrap_or_else(|| panic!("unknown ss state {name:?} in line {line:?}"));
            counts.add(fam, st, 1);
        }
    }
    counts
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// One recipe's sockets, on their own port P.
pub struct Part {
    pub label: String,
    pub port: u16,
    /// Every socket of the part (local or remote port P).
    pub expected: Counts,
    /// The sockets whose local port is P (the rest have remote port P).
    pub local: Counts,
    socks: Vec<Sock>,
}

impl Part {
    /// The sockets whose remote port is P.
    pub fn remote(&self) -> Counts {
        let mut c = Counts::default();
        for f in Family::BOTH {
            for s in State::ALL {
                c.add(f, s, self.expected.get(f, s) - self.local.get(f, s));
            }
        }
        c
    }
}

/// Counts of one family from (state, n) pairs.
fn side(family: Family, states: &[(State, usize)]) -> Counts {
    let mut c = Counts::default();
    for &(st, n) in states {
        c.add(family, st, n as u64);
    }
    c
}

/// A set of parts whose sockets live as long as the scenario.
pub struct Scenario {
    pub env: Env,
    pub parts: Vec<Part>,
}

fn listener(family: Family, backlog: libc::c_int, small_bufs: bool) -> (Sock, u16) {
    let (sock, port) = bind_fresh_port(family, || {
        let s = Sock::new(family);
        if small_bufs {
            // Inherited by accepted sockets; must be set before the handshake
            // for the window (scale) to be small.
            s.set_rcvbuf(SMALL_BUF).set_sndbuf(SMALL_BUF);
        }
        s
    });
    sock.listen(backlog);
    (sock, port)
}

fn client(family: Family, small_bufs: bool) -> Sock {
    let s = Sock::new(family);
    if small_bufs {
        s.set_rcvbuf(SMALL_BUF).set_sndbuf(SMALL_BUF);
    }
    s
}

/// `n` connected (client, server) pairs through `lst`.
fn pairs(lst: &Sock, port: u16, n: usize, small_bufs: bool) -> Vec<(Sock, Sock)> {
    let family = lst.family();
    (0..n)
        .map(|_| {
            let c = client(family, small_bufs);
            c.connect(SocketAddr::new(family.loopback(), port));
            let s = lst.accept();
            (c, s)
        })
        .collect()
}

impl Scenario {
    pub fn new(env: Env) -> Scenario {
        Scenario {
            env,
            parts: Vec::new(),
        }
    }

    /// Record a part once /proc shows exactly its sockets: `local` are those
    /// with local port P, `remote` those with remote port P.
    fn push(
        &mut self,
        label: String,
        port: u16,
        local: Counts,
        remote: Counts,
        socks: Vec<Sock>,
    ) -> u16 {
        let mut expected = local;
        expected.merge(&remote);
        wait_for_kernel(&label, Scope::Port(port), expected);
        self.parts.push(Part {
            label,
            port,
            expected,
            local,
            socks,
        });
        port
    }

    /// All sockets of the scenario together.
    pub fn expected(&self) -> Counts {
        let mut c = Counts::default();
        for p in &self.parts {
            c.merge(&p.expected);
        }
        c
    }

    /// `n` listeners sharing one port (SO_REUSEPORT): n LISTEN.
    pub fn listen(&mut self, family: Family, n: usize) -> u16 {
        assert!(n >= 1);
        let (first, port) = bind_fresh_port(family, || {
            let s = Sock::new(family);
            s.set_reuseport();
            s
        });
        first.listen(128);
        let mut socks = vec![first];
        for _ in 1..n {
            let s = Sock::new(family);
            s.set_reuseport();
            s.bind(SocketAddr::new(family.loopback(), port))
                .unwrap_or_else(|e| panic!("{e}"));
            s.listen(128);
            socks.push(s);
        }
        let local = side(family, &[(State::Listen, n)]);
        let label = format!("{n} LISTEN ({family:?})");
        self.push(label, port, local, Counts::default(), socks)
    }

    /// `n` connections, both ends open: 2n ESTABLISHED (listener closed).
    pub fn established(&mut self, family: Family, n: usize) -> u16 {
        let (lst, port) = listener(family, 128, false);
        let mut socks = Vec::new();
        for (c, s) in pairs(&lst, port, n, false) {
            socks.push(c);
            socks.push(s);
        }
        drop(lst);
        let one_side = side(family, &[(State::Established, n)]);
        let label = format!("{} ESTABLISHED ({family:?})", 2 * n);
        self.push(label, port, one_side, one_side, socks)
    }

    /// `n` connections whose client did shutdown(SHUT_WR) and whose server
    /// keeps its socket open without closing: n FIN_WAIT_2 + n CLOSE_WAIT.
    pub fn close_wait(&mut self, family: Family, n: usize) -> u16 {
        let (lst, port) = listener(family, 128, false);
        let mut socks = Vec::new();
        for (c, s) in pairs(&lst, port, n, false) {
            c.shutdown_write();
            socks.push(c);
            socks.push(s);
        }
        drop(lst);
        let server = side(family, &[(State::CloseWait, n)]);
        let client = side(family, &[(State::FinWait2, n)]);
        let label = format!("{n} CLOSE_WAIT + {n} FIN_WAIT_2 ({family:?})");
        self.push(label, port, server, client, socks)
    }

    /// `n` connections closed server first, then client: n TIME_WAIT (on the
    /// server side, so the port stays reserved while they exist).
    pub fn time_wait(&mut self, family: Family, n: usize) -> u16 {
        let (lst, port) = listener(family, 128, false);
        let ps = pairs(&lst, port, n, false);
        drop(lst);
        let mut clients = Vec::new();
        for (c, s) in ps {
            s.close_gracefully();
            clients.push(c);
        }
        let half = Counts::default()
            .with(family, State::FinWait2, n as u64)
            .with(family, State::CloseWait, n as u64);
        wait_for_kernel("servers' FIN to be acknowledged", Scope::Port(port), half);
        for c in clients {
            c.close_gracefully();
        }
        let server = side(family, &[(State::TimeWait, n)]);
        let label = format!("{n} TIME_WAIT ({family:?})");
        self.push(label, port, server, Counts::default(), Vec::new())
    }

    /// A backlog-0 listener that never accepts, holding one completed
    /// connection in its full accept queue, and `n` non-blocking clients
    /// whose SYNs it drops: LISTEN 1 + ESTABLISHED 2 + n SYN_SENT.
    pub fn syn_sent(&mut self, family: Family, n: usize) -> u16 {
        let (lst, port) = listener(family, 0, false);
        let addr = SocketAddr::new(family.loopback(), port);
        // With backlog 0 the kernel takes this first connection through a
        // SYN cookie (its SYN queue counts as full), so it needs
        // net.ipv4.tcp_syncookies != 0, the default everywhere.
        let first = client(family, false);
        first.connect_nonblocking(addr);
        let filled = side(family, &[(State::Listen, 1), (State::Established, 2)]);
        wait_for_kernel(
            "the backlog-0 accept queue to hold one connection \
             (needs net.ipv4.tcp_syncookies = 1 or 2)",
            Scope::Port(port),
            filled,
        );
        let mut socks = vec![lst, first];
        for _ in 0..n {
            let c = client(family, false);
            c.connect_nonblocking(addr);
            socks.push(c);
        }
        // The listener and the queued server end have local port P; the
        // first client and the SYN_SENT ones remote port P.
        let server = side(family, &[(State::Listen, 1), (State::Established, 1)]);
        let clients = side(family, &[(State::Established, 1), (State::SynSent, n)]);
        let label = format!("{n} SYN_SENT + LISTEN 1 + ESTABLISHED 2 ({family:?})");
        self.push(label, port, server, clients, socks)
    }

    /// Client fills the server's window (server never reads) and then does
    /// shutdown(SHUT_WR): its FIN is stuck behind unsent data.
    /// n FIN_WAIT_1 + n ESTABLISHED.
    pub fn fin_wait_1(&mut self, family: Family, n: usize) -> u16 {
        let (lst, port) = listener(family, 128, true);
        let mut socks = Vec::new();
        for (c, s) in pairs(&lst, port, n, true) {
            c.fill_peer_window();
            c.shutdown_write();
            socks.push(c);
            socks.push(s);
        }
        drop(lst);
        let server = side(family, &[(State::Established, n)]);
        let client = side(family, &[(State::FinWait1, n)]);
        let label = format!("{n} FIN_WAIT_1 + {n} ESTABLISHED ({family:?})");
        self.push(label, port, server, client, socks)
    }

    /// As `fin_wait_1`, then the server does shutdown(SHUT_WR) too: its FIN
    /// goes out at once and reaches the client while the client's own FIN is
    /// unacknowledged.  n CLOSING (client) + n FIN_WAIT_2 (server).
    pub fn closing(&mut self, family: Family, n: usize) -> u16 {
        let (lst, port) = listener(family, 128, true);
        let ps = pairs(&lst, port, n, true);
        drop(lst);
        for (c, _) in &ps {
            c.fill_peer_window();
            c.shutdown_write();
        }
        let stuck = Counts::default()
            .with(family, State::FinWait1, n as u64)
            .with(family, State::Established, n as u64);
        wait_for_kernel("clients' FIN to be stuck", Scope::Port(port), stuck);
        let mut socks = Vec::new();
        for (c, s) in ps {
            s.shutdown_write();
            socks.push(c);
            socks.push(s);
        }
        let server = side(family, &[(State::FinWait2, n)]);
        let client = side(family, &[(State::Closing, n)]);
        let label = format!("{n} CLOSING + {n} FIN_WAIT_2 ({family:?})");
        self.push(label, port, server, client, socks)
    }

    /// Client shutdown(SHUT_WR) first (FIN_WAIT_2 / CLOSE_WAIT); the server
    /// then fills the client's window (client never reads) and does
    /// shutdown(SHUT_WR): its FIN is stuck.  n LAST_ACK + n FIN_WAIT_2.
    pub fn last_ack(&mut self, family: Family, n: usize) -> u16 {
        let (lst, port) = listener(family, 128, true);
        let ps = pairs(&lst, port, n, true);
        drop(lst);
        for (c, _) in &ps {
            c.shutdown_write();
        }
        let half = Counts::default()
            .with(family, State::FinWait2, n as u64)
            .with(family, State::CloseWait, n as u64);
        wait_for_kernel("clients' FIN to be acknowledged", Scope::Port(port), half);
        let mut socks = Vec::new();
        for (c, s) in ps {
            s.fill_peer_window();
            s.shutdown_write();
            socks.push(c);
            socks.push(s);
        }
        let server = side(family, &[(State::LastAck, n)]);
        let client = side(family, &[(State::FinWait2, n)]);
        let label = format!("{n} LAST_ACK + {n} FIN_WAIT_2 ({family:?})");
        self.push(label, port, server, client, socks)
    }

    /// `n` sockets bound to one port (SO_REUSEADDR), never listening or
    /// connecting: n CLOSED (invisible to /proc).
    pub fn closed(&mut self, family: Family, n: usize) -> u16 {
        assert!(n >= 1);
        let (first, port) = bind_fresh_port(family, || {
            let s = Sock::new(family);
            s.set_reuseaddr();
            s
        });
        let mut socks = vec![first];
        for _ in 1..n {
            let s = Sock::new(family);
            s.set_reuseaddr();
            s.bind(SocketAddr::new(family.loopback(), port))
                .unwrap_or_else(|e| panic!("{e}"));
            socks.push(s);
        }
        let local = side(family, &[(State::Closed, n)]);
        let label = format!("{n} CLOSED ({family:?})");
        self.push(label, port, local, Counts::default(), socks)
    }

    /// Private namespace only: nftables drops the clients' final ACK of the
    /// handshake, so the listener keeps `n` request sockets.
    /// LISTEN 1 + n SYN_RECV (server) + n ESTABLISHED (clients).
    /// Returns `None` (after saying why on stderr) when nft is missing.
    pub fn syn_recv(&mut self, family: Family, n: usize) -> Option<u16> {
        assert_eq!(
            self.env,
            Env::Netns,
            "SYN_RECV needs a private namespace (it installs a firewall rule)"
        );
        let (lst, port) = listener(family, 128, false);
        let script = format!(
            "table inet tcpstat_test_{port} {{\n\
             \tchain input {{\n\
             \t\ttype filter hook input priority 0; policy accept;\n\
             \t\ttcp dport {port} tcp flags & (syn | ack | fin | rst) == ack drop\n\
             \t}}\n\
             }}\n"
        );
        if !nft_apply(&script) {
            return None;
        }
        let mut socks = vec![lst];
        for _ in 0..n {
            let c = client(family, false);
            c.connect(SocketAddr::new(family.loopback(), port));
            socks.push(c);
        }
        let server = side(family, &[(State::Listen, 1), (State::SynRecv, n)]);
        let clients = side(family, &[(State::Established, n)]);
        let label = format!("{n} SYN_RECV + {n} ESTABLISHED + LISTEN 1 ({family:?})");
        Some(self.push(label, port, server, clients, socks))
    }

    /// Every state but SYN_RECV (and SYN_RECV too in a private namespace
    /// with nft): returns whether SYN_RECV is included.
    pub fn all_states(&mut self, family: Family) -> bool {
        self.listen(family, 2);
        self.established(family, 2);
        self.close_wait(family, 2);
        self.time_wait(family, 2);
        self.syn_sent(family, 2);
        self.fin_wait_1(family, 1);
        self.closing(family, 1);
        self.last_ack(family, 1);
        self.closed(family, 2);
        if self.env == Env::Netns {
            self.syn_recv(family, 2).is_some()
        } else {
            false
        }
    }

    /// Wait until /proc shows every part (and, in a private namespace, the
    /// whole namespace) exactly as expected.
    pub fn settle(&self) {
        for p in &self.parts {
            wait_for_kernel(&p.label, Scope::Port(p.port), p.expected);
        }
        if self.env == Env::Netns {
            wait_for_kernel("the whole namespace", Scope::Whole, self.expected());
        }
    }

    /// The main check.  For every part, `--port P` from both sources must
    /// report exactly the part's sockets, `--sport P` exactly those with
    /// local port P and `--dport P` exactly those with remote port P; in a
    /// private namespace the unfiltered report must be exactly the whole
    /// scenario; and where ss is installed, ss must agree with tcpstat on
    /// every state but CLOSED.
    pub fn check(&self) {
        self.settle();
        let mut scopes: Vec<(Scope, Counts, String)> = self
            .parts
            .iter()
            .map(|p| (Scope::Port(p.port), p.expected, p.label.clone()))
            .collect();
        if self.env == Env::Netns {
            scopes.push((Scope::Whole, self.expected(), "whole namespace".into()));
        }
        for (scope, expected, label) in &scopes {
            let ctx = format!("{label} [{scope:?}, {:?}]", self.env);
            let mut netlink = None;
            for source in Source::BOTH {
                let report = expect_counts(
                    self.env,
                    source,
                    &scope.tcpstat_args(),
                    source.visible(*expected),
                    &ctx,
                );
                let mut counted = report.counted_states.clone();
                counted.sort();
                let mut covers = report.source_covers.clone();
                covers.sort();
                assert_eq!(
                    counted, covers,
                    "{ctx}: without --state, counted_states should be every state the source covers"
                );
                if source == Source::Netlink {
                    netlink = Some(report.counts);
                }
            }
            if let Scope::Port(p) = scope {
                let part = self.part(*p);
                for source in Source::BOTH {
                    for (flag, want) in [("--sport", part.local), ("--dport", part.remote())] {
                        let a = vec![flag.to_string(), p.to_string()];
                        expect_counts(self.env, source, &a, source.visible(want), &ctx);
                    }
                }
            }
            if ss_available() {
                // tcpstat's netlink counts equal `expected` at this point.
                let ours = netlink.expect("netlink report").without(State::Closed);
                assert_eq!(
                    ss_counts(*scope).without(State::Closed),
                    ours,
                    "{ctx}: `ss -tan` and `tcpstat --source netlink` disagree (ss left)"
                );
            }
        }
    }

    /// Every scope with exact expectations: each part's port and, in a
    /// private namespace, the whole namespace.
    pub fn scopes(&self) -> Vec<(Scope, Counts)> {
        let mut out: Vec<(Scope, Counts)> = self
            .parts
            .iter()
            .map(|p| (Scope::Port(p.port), p.expected))
            .collect();
        if self.env == Env::Netns {
            out.push((Scope::Whole, self.expected()));
        }
        out
    }

    pub fn part(&self, port: u16) -> &Part {
        self.parts
            .iter()
            .find(|p| p.port == port)
            .expect("no such part")
    }
}

/// Apply an nftables script in the current thread's namespace.  Returns false
/// (after explaining on stderr) when nft is not installed.
fn nft_apply(script: &str) -> bool {
    let child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI installs nftables for the SYN_RECV tests"
            );
            eprintln!("skipped: SYN_RECV part: nft (nftables) is not installed");
            return false;
        }
        Err(e) => panic!("running nft: {e}"),
    };
    child
        .stdin
        .take()
        .expect("nft stdin")
        .write_all(script.as_bytes())
        .expect("writing the nft script");
    let out = child.wait_with_output().expect("waiting for nft");
    assert!(
        out.status.success(),
        "nft -f - failed ({:?}): {}\nscript:\n{script}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}
