//! Loopback sockets driven into each of the eleven kernel TCP states, and the kernel's own
//! view of them (our parser of `/proc/net/tcp{,6}`, independent of tcpstat's), waited on
//! until it shows exactly the expected sockets.
//!
//! Isolation:
//! * Every scenario part owns its own listener port, obtained by binding port 0, checked
//!   against every socket visible in `/proc` and against a process-wide registry (so no two
//!   parts of this test process ever share a port, even across address families). Queries
//!   are then filtered with `--port P`, which makes counts exact even on a busy host.
//! * When the process may create network namespaces (root), the same scenarios also run on
//!   a dedicated thread that has moved itself into a fresh, private namespace
//!   ([`super::netns::in_private_netns`]): there the counts for the whole namespace are exact
//!   too. Child processes spawned from that thread (tcpstat, ss, nft) inherit the thread's
//!   namespace; `/proc/thread-self/net` shows that namespace to us. The namespace disappears
//!   with the thread.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::netns::Env;
use super::report::{expect_counts, Source};
use super::skip;
use super::sockets::{Family, Sock};
use super::ss::{ss_counts, ss_dump, ss_for};
use super::wait::{wait_until, WAIT};

/// Requested SO_RCVBUF / SO_SNDBUF for the "fill the peer's window" recipes. The kernel
/// doubles the value; it only needs to be small compared with the amount of data we manage
/// to queue.
const SMALL_BUF: usize = 4096;

// ---------------------------------------------------------------------------
// TCP states
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

    pub(crate) fn idx(self) -> usize {
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
    /// 0: no file (TIME_WAIT, not accepted yet, closed by its process).
    pub inode: u64,
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
            let inode = fields
                .get(9)
                .and_then(|f| f.parse().ok())
                .unwrap_or_else(|| panic!("no inode in {path}: {line:?}"));
            out.push(ProcSock {
                family,
                lport,
                rport,
                state,
                inode,
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

// ---------------------------------------------------------------------------
// Collision-free ports
// ---------------------------------------------------------------------------

/// Ports handed out to scenario parts by this test process, never reused.
static PORTS_USED: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Binds a socket made by `make` to port 0 of `ip` and keeps the port only if no other part
/// of this process ever had it and /proc shows no socket at all (e.g. a TIME_WAIT left over
/// by an earlier test or run) with it as local or remote port. Rejected sockets stay bound
/// until we are done so the kernel cannot hand the same port out again.
fn bind_fresh_port(ip: IpAddr, make: impl Fn() -> Sock) -> io::Result<(Sock, u16)> {
    let mut rejected = Vec::new();
    for _ in 0..200 {
        let sock = make();
        sock.bind(SocketAddr::new(ip, 0))?;
        let port = sock.port();
        let clean = !proc_sockets()
            .iter()
            .any(|s| s.lport == port || s.rport == port);
        let mut used = PORTS_USED.lock().unwrap_or_else(|e| e.into_inner());
        if clean && used.insert(port) {
            return Ok((sock, port));
        }
        drop(used);
        rejected.push(sock);
    }
    panic!("could not find a port nobody else uses");
}

/// A listener (backlog 128, as std's) on `ip` with a fresh port ([`bind_fresh_port`]): a
/// test that counts the sockets of its port (`--port P`) then counts its own only, even right
/// after another test or run left sockets with that port number behind. `Err` when `ip`
/// cannot be bound (no IPv6, no 127.0.0.2).
pub fn fresh_listener(ip: impl Into<IpAddr>) -> io::Result<TcpListener> {
    let ip = ip.into();
    let family = if ip.is_ipv4() { Family::V4 } else { Family::V6 };
    let (sock, _) = bind_fresh_port(ip, || Sock::new(family))?;
    sock.listen(128);
    Ok(TcpListener::from(sock.into_fd()))
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
    /// Kept open as long as the part.
    _socks: Vec<Sock>,
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

fn listener(family: Family, backlog: i32, small_bufs: bool) -> (Sock, u16) {
    let (sock, port) = bind_fresh_port(family.loopback(), || {
        let s = Sock::new(family);
        if small_bufs {
            // Inherited by accepted sockets; must be set before the handshake
            // for the window (scale) to be small.
            s.set_rcvbuf(SMALL_BUF).set_sndbuf(SMALL_BUF);
        }
        s
    })
    .unwrap_or_else(|e| panic!("{e}"));
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
            _socks: socks,
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
        let (first, port) = bind_fresh_port(family.loopback(), || {
            let s = Sock::new(family);
            s.set_reuseport();
            s
        })
        .unwrap_or_else(|e| panic!("{e}"));
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
        let (first, port) = bind_fresh_port(family.loopback(), || {
            let s = Sock::new(family);
            s.set_reuseaddr();
            s
        })
        .unwrap_or_else(|e| panic!("{e}"));
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
    /// Returns `None` when nft is missing (a [`skip`]: CI installs nftables).
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
            if ss_for("the comparison with ss") {
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

/// Applies an nftables script in the current thread's namespace. Returns false when nft is
/// not installed (a [`skip`]: CI installs nftables).
pub fn nft_apply(script: &str) -> bool {
    let child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            skip("SYN_RECV part: nft (nftables) is not installed");
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
