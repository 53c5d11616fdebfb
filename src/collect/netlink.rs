//! sock_diag netlink: the primary socket source.
//!
//! Owns: the dump requests (the state filter in the kernel's `idiag_states` mask, the
//! `idiag_ext` extensions a plan asks for, none by default), the receive loop, and a pure parser of the kernel's datagrams
//! ([`parse_datagram`]) that reads each 72-byte `inet_diag_msg` in place and hands a
//! [`SocketRecord`] to the sink: nothing is allocated per socket.
//!
//! Two requests:
//! - `SOCK_DIAG_BY_FAMILY` with an `inet_diag_req_v2`, one per address family. Each one walks
//!   the whole socket hash table (IPv4 and IPv6 sockets share it) and skips the other family.
//! - The legacy `TCPDIAG_GETSOCK` with the old `struct inet_diag_req`, which the kernel dumps
//!   with `sdiag_family = AF_UNSPEC` (`inet_diag_dump_compat`): both families in one walk,
//!   about a quarter cheaper at a million sockets. It carries the same state mask (bit 13, bound
//!   inactive, included) and the same `INET_DIAG_REQ_BYTECODE` attribute
//!   (`inet_diag_dump_start_compat` audits it). [`NetlinkSource::dump_families`] uses it when
//!   both families are wanted and the filter compiles to the same program for both, and falls
//!   back to the per-family requests if the kernel refuses it.
//!
//! Kernel references: `include/uapi/linux/inet_diag.h` (layouts), `net/ipv4/inet_diag.c`
//! (`inet_diag_dump_icsk` adds `TCPF_NEW_SYN_RECV` when SYN_RECV is asked for and walks bound
//! inactive sockets only for bit 13; `inet_diag_rcv_msg_compat` / `inet_diag_dump_compat`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, SOCK_DIAG_BY_FAMILY};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr};

use super::bytecode::{self, Program, INET_DIAG_REQ_BYTECODE};
use super::nlattr::attribute;
use super::nlattr::NLA_HDR_LEN;
use super::tcpinfo;
use crate::error::Error;
use crate::model::{
    Extensions, Family, Filter, Namespace, Outcome, Sink, SocketRecord, SourceKind, StateSet,
    TcpState, TimerKind,
};

/// The kernel never sends dump datagrams larger than 32 KiB (`netlink_recvmsg` caps
/// `max_recvmsg_len` there); `MSG_TRUNC` makes a larger one an error instead of lost sockets.
const RECV_BUFFER: usize = 32 * 1024;
/// `MSG_TRUNC` from `<sys/socket.h>`: recv returns the real datagram length.
const MSG_TRUNC: i32 = 0x20;
/// `EINTR`: a signal arrived during recv; retry.
const EINTR: i32 = 4;
/// Size of `struct inet_diag_msg`.
const INET_DIAG_MSG_LEN: usize = 72;
/// Size of `struct nlmsghdr`.
const NLMSG_HDR_LEN: usize = 16;
/// `INET_DIAG_CGROUP_ID` (`enum inet_diag_attr`, Linux 5.9+): a u64 the kernel adds to every
/// full socket's message without being asked (`inet_diag_msg_attrs_fill`).
pub const INET_DIAG_CGROUP_ID: u16 = 21;
/// `TCPDIAG_GETSOCK` (`include/uapi/linux/inet_diag.h`): the legacy TCP dump request. The
/// kernel answers it with messages of the same type.
pub const TCPDIAG_GETSOCK: u16 = 18;
/// Size of the legacy `struct inet_diag_req`: family, src_len, dst_len, ext (u8 each),
/// `inet_diag_sockid` (48 bytes), states u32, dbs u32.
const INET_DIAG_REQ_LEN: usize = 60;

/// An open sock_diag socket plus its receive buffer; reusable across dumps (`watch`).
pub struct NetlinkSource {
    socket: Socket,
    buf: Vec<u8>,
    seq: u32,
    /// The namespace the socket was created in (`None`: the caller's own): a replacement is
    /// created there too, never in whatever namespace the replacing thread is in.
    netns: Option<Namespace>,
}

/// Which sockets one dump covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpScope {
    /// A `SOCK_DIAG_BY_FAMILY` dump of one family.
    Family(Family),
    /// A `TCPDIAG_GETSOCK` dump of both families in one pass.
    Both,
}

impl DumpScope {
    /// `IPv4`, `IPv6` or `IPv4+IPv6`, for messages.
    pub const fn label(self) -> &'static str {
        match self {
            DumpScope::Family(family) => family.label(),
            DumpScope::Both => "IPv4+IPv6",
        }
    }
}

/// Counters of one dump, for diagnostics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DumpStats {
    /// Socket messages parsed.
    pub sockets: u64,
    /// Messages skipped because they answered another request (stale sequence number).
    pub stale: u64,
    /// The kernel flagged the dump as interrupted (`NLM_F_DUMP_INTR`).
    pub interrupted: bool,
}

impl NetlinkSource {
    /// Opens a sock_diag socket in the caller's network namespace. Needs no privileges.
    pub fn open() -> Result<NetlinkSource, Error> {
        NetlinkSource::open_in(None)
    }

    /// Opens a sock_diag socket in `netns` (`None`: the caller's own), entering it on a
    /// short-lived thread when it is another one (see `netns::within`).
    pub fn open_in(netns: Option<&Namespace>) -> Result<NetlinkSource, Error> {
        Ok(NetlinkSource {
            socket: socket_in(netns)?,
            buf: vec![0; RECV_BUFFER],
            seq: 0,
            netns: netns.cloned(),
        })
    }

    /// Dumps one family's sockets in the filter's states into `sink`.
    pub fn dump(
        &mut self,
        family: Family,
        filter: &Filter,
        sink: &mut dyn Sink,
    ) -> Result<DumpStats, Error> {
        self.dump_with(family, filter, Extensions::NONE, sink)
    }

    /// [`NetlinkSource::dump`] asking the kernel for `extensions` too (handed to the sink
    /// through [`Sink::record_detail`]).
    pub fn dump_with(
        &mut self,
        family: Family,
        filter: &Filter,
        extensions: Extensions,
        sink: &mut dyn Sink,
    ) -> Result<DumpStats, Error> {
        self.seq = self.seq.wrapping_add(1);
        // Ports and addresses are filtered in the kernel too; `parse_datagram` still applies
        // the whole filter to what comes back.
        let program = bytecode::compile(filter, family);
        let mut request = build_request(
            family,
            filter.states.kernel_mask(),
            self.seq,
            program.as_ref(),
        );
        // idiag_ext, the third byte of inet_diag_req_v2.
        request[NLMSG_HDR_LEN + 2] = tcpinfo::ext_bits(extensions);
        self.exchange(&request, family, filter, extensions, sink)
    }

    /// Dumps both families with one `TCPDIAG_GETSOCK` request: one walk of the kernel's tables
    /// instead of two. Errors are labelled with IPv4, the first family the dump covers; callers
    /// normally fall back to [`NetlinkSource::dump`] instead of reporting them (see
    /// [`NetlinkSource::dump_families`]).
    pub fn dump_both(
        &mut self,
        filter: &Filter,
        extensions: Extensions,
        sink: &mut dyn Sink,
    ) -> Result<DumpStats, Error> {
        self.seq = self.seq.wrapping_add(1);
        let program = bytecode::compile(filter, Family::V4);
        let mut request =
            build_compat_request(filter.states.kernel_mask(), self.seq, program.as_ref());
        // idiag_ext, the fourth byte of the legacy inet_diag_req.
        request[NLMSG_HDR_LEN + 3] = tcpinfo::ext_bits(extensions);
        self.exchange(&request, Family::V4, filter, extensions, sink)
    }

    /// Dumps every family of the filter into `sink`: in one pass when both are wanted and the
    /// kernel-side filter is the same for both (ports only, or none), else one dump per family.
    /// If the one-pass request fails, the per-family dumps run instead (after `sink.reset()`
    /// when sockets were already handed over; if the sink cannot start over, the error stands).
    pub fn dump_families(
        &mut self,
        filter: &Filter,
        extensions: Extensions,
        sink: &mut dyn Sink,
    ) -> Result<Vec<(DumpScope, DumpStats)>, Error> {
        let both = filter.families.contains(&Family::V4) && filter.families.contains(&Family::V6);
        if both && bytecode::compile(filter, Family::V4) == bytecode::compile(filter, Family::V6) {
            match self.dump_both(filter, extensions, sink) {
                Ok(stats) => return Ok(vec![(DumpScope::Both, stats)]),
                Err(e) => {
                    if !self.compat_failed_cleanly(sink) {
                        return Err(e);
                    }
                }
            }
        }
        let mut all = Vec::with_capacity(filter.families.len());
        for &family in &filter.families {
            let stats = self.dump_with(family, filter, extensions, sink)?;
            all.push((DumpScope::Family(family), stats));
        }
        Ok(all)
    }

    /// After a failed one-pass dump: whether the per-family dumps may run. They may unless
    /// sockets were handed to a sink that cannot forget them. The socket is replaced, so no
    /// rest of the failed dump can be mistaken for an answer (sequence numbers guard that too).
    fn compat_failed_cleanly(&mut self, sink: &mut dyn Sink) -> bool {
        if !sink.reset() {
            return false;
        }
        // In the socket's own namespace: a socket made here would read the caller's.
        match socket_in(self.netns.as_ref()) {
            Ok(socket) => {
                self.socket = socket;
                true
            }
            Err(_) => false,
        }
    }

    /// Sends one dump request and streams its answer into `sink`. `family` labels errors.
    fn exchange(
        &mut self,
        request: &[u8],
        family: Family,
        filter: &Filter,
        extensions: Extensions,
        sink: &mut dyn Sink,
    ) -> Result<DumpStats, Error> {
        let kernel = SocketAddr::new(0, 0);
        self.socket
            .send_to(request, &kernel, 0)
            .map_err(|source| Error::NetlinkIo {
                family,
                op: "send",
                source,
            })?;
        let mut stats = DumpStats::default();
        loop {
            let len = match self.socket.recv(&mut &mut self.buf[..], MSG_TRUNC) {
                Ok(len) => len,
                Err(e) if e.raw_os_error() == Some(EINTR) => continue,
                Err(source) => {
                    return Err(Error::NetlinkIo {
                        family,
                        op: "recv",
                        source,
                    })
                }
            };
            if len > self.buf.len() {
                return Err(Error::NetlinkTruncated {
                    family,
                    len,
                    buffer: self.buf.len(),
                });
            }
            if len == 0 {
                return Err(Error::NetlinkIo {
                    family,
                    op: "recv",
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the kernel closed the dump without NLMSG_DONE",
                    ),
                });
            }
            let done = parse_datagram_with(
                &self.buf[..len],
                family,
                self.seq,
                filter,
                extensions,
                sink,
                &mut stats,
            )?;
            if done {
                return Ok(stats);
            }
        }
    }
}

/// A sock_diag socket created in `netns` (`None`: the caller's own namespace).
fn socket_in(netns: Option<&Namespace>) -> Result<Socket, Error> {
    let open = || Socket::new(NETLINK_SOCK_DIAG).map_err(Error::NetlinkOpen);
    match netns {
        Some(ns) if !ns.current => super::netns::within(ns, open)?,
        _ => open(),
    }
}

/// The states sock_diag can see on this kernel: every one, except CLOSED before Linux 6.8
/// ([`dumps_bound_inactive`]).
pub fn covers() -> StateSet {
    if dumps_bound_inactive() {
        StateSet::ALL
    } else {
        StateSet::ALL.without(StateSet::of(TcpState::Closed))
    }
}

/// Collects every requested family through an open socket (kept across ticks by `watch`).
pub fn collect_on(
    source: &mut NetlinkSource,
    filter: &Filter,
    extensions: Extensions,
    sink: &mut dyn Sink,
) -> Result<Outcome, Error> {
    let mut outcome = Outcome::new(SourceKind::Netlink, covers());
    for (scope, stats) in source.dump_families(filter, extensions, sink)? {
        if stats.interrupted {
            outcome.complete = false;
            outcome.warnings.push(format!(
                "the kernel marked the {} dump as interrupted (the table changed while it was \
                 read); a socket may be missing or counted twice",
                scope.label()
            ));
        }
    }
    Ok(outcome)
}

/// Whether this kernel's sock_diag dumps bound-only sockets (CLOSED) for state bit 13.
///
/// Linux 6.8 added it (commit 91051f003948, "tcp: Dump bound-only sockets in inet_diag");
/// older kernels ignore the bit and would let a census print a CLOSED count of 0 that was never
/// measured. A kernel that says it is 6.8 or newer is believed; an older one (perhaps with the
/// change backported) is asked once: a socket bound here and not listening, then a dump of
/// bound-only sockets on its port. Any failure of the probe counts as "no": CLOSED is then
/// shown as not counted rather than as a zero. Kernel-wide, so settled once per process.
pub fn dumps_bound_inactive() -> bool {
    *BOUND_INACTIVE.get_or_init(|| {
        let release = rustix::system::uname();
        let release = release.release().to_string_lossy();
        release_has_bound_inactive(&release) || probe_bound_inactive().unwrap_or(false)
    })
}

static BOUND_INACTIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// True for a kernel release string (`uname -r`) of 6.8 or newer.
pub fn release_has_bound_inactive(release: &str) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (6, 8),
        _ => false,
    }
}

/// Binds a TCP socket to an ephemeral port of `0.0.0.0` without listening and asks for
/// bound-only sockets on that port: found means the kernel dumps them. Runs in the caller's
/// own network namespace (the feature is the kernel's, not a namespace's).
pub fn probe_bound_inactive() -> Result<bool, Error> {
    use rustix::net::{bind, getsockname, socket, AddressFamily, SocketType};
    let probe_error = |e: rustix::io::Errno| Error::NetlinkOpen(io::Error::from(e));
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).map_err(probe_error)?;
    bind(&fd, &std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).map_err(probe_error)?;
    let port = match std::net::SocketAddr::try_from(getsockname(&fd).map_err(probe_error)?) {
        Ok(addr) => addr.port(),
        Err(_) => return Ok(false),
    };
    let mut filter = Filter {
        states: crate::model::StateSet::of(TcpState::Closed),
        families: vec![Family::V4],
        ..Filter::default()
    };
    filter.local_port = crate::model::PortSet::parse(&port.to_string())
        .map_err(|e| Error::NetlinkOpen(io::Error::other(format!("probe port {port}: {e}"))))?;
    struct Found(bool);
    impl Sink for Found {
        fn record(&mut self, _: &SocketRecord) {
            self.0 = true;
        }
        fn reset(&mut self) -> bool {
            self.0 = false;
            true
        }
    }
    let mut found = Found(false);
    NetlinkSource::open()?.dump(Family::V4, &filter, &mut found)?;
    drop(fd);
    Ok(found.0)
}

/// Serialises a `SOCK_DIAG_BY_FAMILY` dump request for TCP sockets of `family` in the states of
/// `states_mask` (kernel bits, see [`TcpState::kernel_mask`]), with no extensions, and, when
/// given, `program` as an `INET_DIAG_REQ_BYTECODE` attribute after the `inet_diag_req_v2`
/// (`inet_diag_dump_start` finds it among the request's attributes and audits it).
pub fn build_request(
    family: Family,
    states_mask: u32,
    seq: u32,
    program: Option<&Program>,
) -> Vec<u8> {
    let (af, socket_id) = match family {
        Family::V4 => (AF_INET, SocketId::new_v4()),
        Family::V6 => (AF_INET6, SocketId::new_v6()),
    };
    let request = InetRequest {
        family: af,
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::empty(),
        // from_bits_retain: the crate's flags stop at bit 11; bits 12-13 must survive.
        states: StateFlags::from_bits_retain(states_mask),
        socket_id,
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(
        header,
        NetlinkPayload::InnerMessage(SockDiagMessage::InetRequest(request)),
    );
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    if let Some(program) = program {
        // struct nlattr { u16 nla_len; u16 nla_type; } + data, padded to 4 (NLA_ALIGN).
        // `Program` is at most MAX_PROGRAM_LEN bytes, so nla_len fits its u16.
        let nla_len = NLA_HDR_LEN + program.len();
        bytes.extend_from_slice(&(nla_len as u16).to_ne_bytes());
        bytes.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        bytes.extend_from_slice(program.as_bytes());
        bytes.resize(bytes.len().next_multiple_of(4), 0);
        // nlmsg_len covers the attribute.
        let total = bytes.len() as u32;
        bytes[..4].copy_from_slice(&total.to_ne_bytes());
    }
    bytes
}

/// Serialises a legacy `TCPDIAG_GETSOCK` dump request: `struct inet_diag_req` with
/// `idiag_family` 0 (the kernel ignores it and dumps both families), no extensions, the state
/// mask, and `program` as an `INET_DIAG_REQ_BYTECODE` attribute after it.
pub fn build_compat_request(states_mask: u32, seq: u32, program: Option<&Program>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(NLMSG_HDR_LEN + INET_DIAG_REQ_LEN + 64);
    // struct nlmsghdr: len (patched below), type, flags, seq, pid.
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.extend_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
    bytes.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    bytes.extend_from_slice(&seq.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    // struct inet_diag_req: family, src_len, dst_len, ext; a zero sockid; states; dbs.
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes.extend_from_slice(&[0; 48]);
    bytes.extend_from_slice(&states_mask.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    debug_assert_eq!(bytes.len(), NLMSG_HDR_LEN + INET_DIAG_REQ_LEN);
    if let Some(program) = program {
        // As in build_request; 60 is a multiple of 4, so the attribute is aligned.
        let nla_len = NLA_HDR_LEN + program.len();
        bytes.extend_from_slice(&(nla_len as u16).to_ne_bytes());
        bytes.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        bytes.extend_from_slice(program.as_bytes());
        bytes.resize(bytes.len().next_multiple_of(4), 0);
    }
    let total = bytes.len() as u32;
    bytes[..4].copy_from_slice(&total.to_ne_bytes());
    bytes
}

/// Parses one datagram of a dump answer, passing each matching socket to `sink`.
///
/// Returns `Ok(true)` at `NLMSG_DONE`. Messages carrying another sequence number (left over
/// from an abandoned dump) are skipped and counted. An `NLMSG_ERROR`, a `NLMSG_DONE` carrying an
/// errno, or any message that does not fit its declared length is an error: a partial table
/// must never pass for a whole one.
pub fn parse_datagram(
    data: &[u8],
    family: Family,
    seq: u32,
    filter: &Filter,
    sink: &mut dyn Sink,
    stats: &mut DumpStats,
) -> Result<bool, Error> {
    parse_datagram_with(data, family, seq, filter, Extensions::NONE, sink, stats)
}

/// [`parse_datagram`] for a dump that asked for `extensions`: each socket's detail (read from
/// its attributes, `collect::tcpinfo`) goes to [`Sink::record_detail`] with it.
pub fn parse_datagram_with(
    data: &[u8],
    family: Family,
    seq: u32,
    filter: &Filter,
    extensions: Extensions,
    sink: &mut dyn Sink,
    stats: &mut DumpStats,
) -> Result<bool, Error> {
    let malformed = |detail: String| Error::NetlinkMalformed { family, detail };
    let mut offset = 0;
    while offset < data.len() {
        let rest = &data[offset..];
        let message = NetlinkBuffer::new_checked(rest).map_err(|e| {
            malformed(format!(
                "bad netlink header at offset {offset} of a {}-byte datagram: {e}",
                data.len()
            ))
        })?;
        let len = message.length() as usize;
        if len < NLMSG_HDR_LEN {
            return Err(malformed(format!(
                "netlink message length {len} at offset {offset}"
            )));
        }
        let payload = &rest[NLMSG_HDR_LEN..len];
        if message.sequence_number() != seq {
            stats.stale += 1;
        } else {
            if message.flags() & NLM_F_DUMP_INTR != 0 {
                stats.interrupted = true;
            }
            match message.message_type() {
                NLMSG_DONE => {
                    let errno = read_i32(payload).unwrap_or(0);
                    if errno != 0 {
                        return Err(Error::NetlinkKernel {
                            family,
                            errno: errno.saturating_neg(),
                            during: "at the end of the dump",
                        });
                    }
                    return Ok(true);
                }
                NLMSG_ERROR => {
                    let errno = read_i32(payload)
                        .ok_or_else(|| malformed("NLMSG_ERROR without an errno".into()))?;
                    return Err(Error::NetlinkKernel {
                        family,
                        errno: errno.saturating_neg(),
                        during: "for the dump request",
                    });
                }
                NLMSG_NOOP => {}
                NLMSG_OVERRUN => return Err(malformed("NLMSG_OVERRUN: data was lost".into())),
                // Answers carry the request's type: SOCK_DIAG_BY_FAMILY, or TCPDIAG_GETSOCK.
                SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK => {
                    let record = parse_inet_diag_msg(payload).ok_or_else(|| {
                        malformed(format!(
                            "inet_diag_msg of {} bytes at offset {offset} (need {INET_DIAG_MSG_LEN}, \
                             family AF_INET or AF_INET6)",
                            payload.len()
                        ))
                    })?;
                    stats.sockets += 1;
                    if filter.matches(&record) {
                        if extensions.any() {
                            let attrs = payload.get(INET_DIAG_MSG_LEN..).unwrap_or(&[]);
                            let detail = tcpinfo::parse_detail(attrs, extensions);
                            sink.record_detail(&record, &detail);
                        } else {
                            sink.record(&record);
                        }
                    }
                }
                other => {
                    return Err(malformed(format!("unexpected message type {other}")));
                }
            }
        }
        // Messages are aligned to 4 bytes (NLMSG_ALIGN).
        offset += (len + 3) & !3;
    }
    Ok(false)
}

fn read_i32(bytes: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_ne_bytes(word)
}

/// Reads one `struct inet_diag_msg` in place.
///
/// Layout (`include/uapi/linux/inet_diag.h`): family u8, state u8, timer u8, retrans u8,
/// `inet_diag_sockid` (sport be16, dport be16, src `[16]`, dst `[16]`, if u32, cookie `[2]u32`),
/// expires u32 (ms), rqueue u32, wqueue u32, uid u32, inode u32. Returns `None` when too short
/// or of a family other than AF_INET / AF_INET6.
pub fn parse_inet_diag_msg(msg: &[u8]) -> Option<SocketRecord> {
    if msg.len() < INET_DIAG_MSG_LEN {
        return None;
    }
    let family = match msg[0] {
        AF_INET => Family::V4,
        AF_INET6 => Family::V6,
        _ => return None,
    };
    let address = |at: usize| -> IpAddr {
        match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(
                msg[at],
                msg[at + 1],
                msg[at + 2],
                msg[at + 3],
            )),
            Family::V6 => {
                let mut octets = [0; 16];
                octets.copy_from_slice(&msg[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(octets))
            }
        }
    };
    let raw_state = msg[1];
    let timer = TimerKind::from_kernel(msg[2]);
    let mut cookie = [0; 8];
    cookie.copy_from_slice(&msg[44..52]);
    Some(SocketRecord {
        family,
        state: TcpState::from_kernel(raw_state),
        raw_state,
        local_port: u16::from_be_bytes([msg[4], msg[5]]),
        remote_port: u16::from_be_bytes([msg[6], msg[7]]),
        local: address(8),
        remote: address(24),
        timer,
        timer_ms: if timer == TimerKind::None {
            0
        } else {
            u64::from(read_u32(msg, 52))
        },
        recv_q: read_u32(msg, 56),
        send_q: read_u32(msg, 60),
        send_q_known: true,
        uid: read_u32(msg, 64),
        inode: u64::from(read_u32(msg, 68)),
        cookie: u64::from_ne_bytes(cookie),
        netns: 0,
        cgroup_id: attribute(&msg[INET_DIAG_MSG_LEN..], INET_DIAG_CGROUP_ID)
            .and_then(|v| Some(u64::from_ne_bytes(v.get(..8)?.try_into().ok()?)))
            .unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detailed, KernelState, StateSet};

    /// The sink that keeps every record: the same one `list --sort` uses.
    use crate::model::Snapshot as Collect;

    /// One netlink message: header + payload, padded to 4 bytes.
    fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = NLMSG_HDR_LEN + payload.len();
        let mut out = Vec::new();
        out.extend_from_slice(&(len as u32).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&flags.to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&4242u32.to_ne_bytes());
        out.extend_from_slice(payload);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    /// An inet_diag_msg as the kernel lays it out.
    #[allow(clippy::too_many_arguments)]
    fn diag_msg(
        af: u8,
        state: u8,
        sport: u16,
        dport: u16,
        src: &[u8],
        dst: &[u8],
        inode: u32,
    ) -> Vec<u8> {
        let mut m = vec![af, state, 3, 0];
        m.extend_from_slice(&sport.to_be_bytes());
        m.extend_from_slice(&dport.to_be_bytes());
        let mut a = [0u8; 16];
        a[..src.len()].copy_from_slice(src);
        m.extend_from_slice(&a);
        let mut b = [0u8; 16];
        b[..dst.len()].copy_from_slice(dst);
        m.extend_from_slice(&b);
        m.extend_from_slice(&0u32.to_ne_bytes()); // interface
        m.extend_from_slice(&0x1122_3344_5566_7788u64.to_ne_bytes()); // cookie
        m.extend_from_slice(&59_000u32.to_ne_bytes()); // expires
        m.extend_from_slice(&7u32.to_ne_bytes()); // rqueue
        m.extend_from_slice(&128u32.to_ne_bytes()); // wqueue
        m.extend_from_slice(&1000u32.to_ne_bytes()); // uid
        m.extend_from_slice(&inode.to_ne_bytes());
        assert_eq!(m.len(), INET_DIAG_MSG_LEN);
        m
    }

    /// The attributes after a LISTEN socket's message exactly as Linux 6.18 sent them to
    /// `ss -tln` (strace): INET_DIAG_SHUTDOWN (5 bytes, padded to 8), INET_DIAG_MARK,
    /// INET_DIAG_CGROUP_ID and INET_DIAG_SOCKOPT (6 bytes, the message's last, unpadded).
    fn recorded_attributes(cgroup_id: u64) -> Vec<u8> {
        let mut a = Vec::new();
        let mut put = |len: u16, ty: u16, data: &[u8]| {
            a.extend_from_slice(&len.to_ne_bytes());
            a.extend_from_slice(&ty.to_ne_bytes());
            a.extend_from_slice(data);
        };
        put(5, 8, &[0, 0, 0, 0]);
        put(8, 15, &0u32.to_ne_bytes());
        put(12, INET_DIAG_CGROUP_ID, &cgroup_id.to_ne_bytes());
        put(6, 22, &[0x07, 0x00]);
        a
    }

    #[test]
    fn the_cgroup_id_is_read_from_the_attributes() {
        let parse = |m: &[u8]| parse_inet_diag_msg(m).expect("a whole inet_diag_msg");
        let mut msg = diag_msg(AF_INET, 10, 47123, 0, &[127, 0, 0, 1], &[0; 4], 4_046_209);
        msg.extend_from_slice(&recorded_attributes(82));
        let record = parse(&msg);
        assert_eq!(record.cgroup_id, 82);
        assert_eq!(record.local_port, 47123);
        // No attributes (a minisocket), or a cut tail: no cgroup, and the socket stays.
        let bare = diag_msg(AF_INET, 6, 80, 4000, &[127, 0, 0, 1], &[127, 0, 0, 1], 0);
        assert_eq!(parse(&bare).cgroup_id, 0);
        let cut = &msg[..msg.len() - 10];
        let record = parse(cut);
        assert_eq!(record.cgroup_id, 0);
        assert_eq!(record.inode, 4_046_209);
        // A zero-length attribute cannot loop the walk.
        let mut looping = diag_msg(AF_INET, 1, 1, 2, &[127, 0, 0, 1], &[127, 0, 0, 1], 9);
        looping.extend_from_slice(&[0, 0, 21, 0, 0, 0, 0, 0]);
        assert_eq!(parse(&looping).cgroup_id, 0);
        // Flag bits in nla_type do not hide the attribute.
        let mut flagged = diag_msg(AF_INET6, 1, 1, 2, &[0; 16], &[0; 16], 9);
        flagged.extend_from_slice(&12u16.to_ne_bytes());
        flagged.extend_from_slice(&(INET_DIAG_CGROUP_ID | 0x4000).to_ne_bytes());
        flagged.extend_from_slice(&7u64.to_ne_bytes());
        assert_eq!(parse(&flagged).cgroup_id, 7);
    }

    #[test]
    fn health_attributes_reach_the_sink_only_when_asked() {
        use crate::collect::tcpinfo::tests::{recorded_skmeminfo, RECORDED_6_18};
        use crate::model::{Detailed, SocketDetail};
        let mut msg = diag_msg(
            AF_INET,
            1,
            39999,
            48436,
            &[127, 0, 0, 1],
            &[127, 0, 0, 1],
            5,
        );
        msg.extend_from_slice(&recorded_attributes(1));
        // The recorded tail ends unpadded (it was the message's last attribute).
        msg.resize(msg.len().next_multiple_of(4), 0);
        let mut put = |ty: u16, data: &[u8]| {
            msg.extend_from_slice(&((NLA_HDR_LEN + data.len()) as u16).to_ne_bytes());
            msg.extend_from_slice(&ty.to_ne_bytes());
            msg.extend_from_slice(data);
            msg.resize(msg.len().next_multiple_of(4), 0);
        };
        put(tcpinfo::INET_DIAG_SKMEMINFO, &recorded_skmeminfo());
        put(tcpinfo::INET_DIAG_INFO, RECORDED_6_18);
        put(tcpinfo::INET_DIAG_CONG, b"bbr\0");
        let mut data = nlmsg(SOCK_DIAG_BY_FAMILY, 2, 1, &msg);
        data.extend(nlmsg(NLMSG_DONE, 2, 1, &0i32.to_ne_bytes()));
        let run = |extensions: Extensions| {
            let mut sink = Detailed::default();
            let mut stats = DumpStats::default();
            let done = parse_datagram_with(
                &data,
                Family::V4,
                1,
                &Filter::default(),
                extensions,
                &mut sink,
                &mut stats,
            )
            .expect("parses");
            assert!(done);
            assert_eq!(sink.records.len(), 1);
            assert_eq!(sink.records[0].cgroup_id, 1);
            sink.details.pop().expect("one")
        };
        assert_eq!(run(Extensions::NONE), None, "a plain dump hands no detail");
        let both = run(Extensions {
            info: true,
            memory: true,
        })
        .expect("detail");
        let info = both.info.expect("tcp_info");
        assert_eq!((info.rtt_us, info.length), (Some(19), 280));
        assert_eq!(
            both.congestion.map(|c| c.as_str().to_owned()),
            Some("bbr".into())
        );
        assert_eq!(both.memory.and_then(|m| m.rcvbuf), Some(131_072));
        let memory_only: SocketDetail = *run(Extensions {
            info: false,
            memory: true,
        })
        .expect("detail");
        assert_eq!(memory_only.info, None, "not asked: not parsed");
        assert!(memory_only.memory.is_some());
        // A minisocket (no attributes) asked for both: a detail of nothing, no zeros.
        let bare = diag_msg(AF_INET, 6, 80, 4000, &[127, 0, 0, 1], &[127, 0, 0, 1], 0);
        let detail = tcpinfo::parse_detail(
            &bare[INET_DIAG_MSG_LEN..],
            Extensions {
                info: true,
                memory: true,
            },
        );
        assert_eq!(detail, SocketDetail::default());
    }

    #[test]
    fn extension_bits_land_in_the_request() {
        let mut source = NetlinkSource::open().expect("sock_diag opens unprivileged");
        // Through the kernel: a dump with both extensions parses (the answer is checked by
        // the integration tests against ss).
        let mut sink = Detailed::default();
        source
            .dump_with(
                Family::V4,
                &Filter::default(),
                Extensions {
                    info: true,
                    memory: true,
                },
                &mut sink,
            )
            .expect("dumps");
        assert_eq!(sink.records.len(), sink.details.len());
    }

    #[test]
    fn bound_only_dumps_start_with_linux_6_8() {
        for (release, has) in [
            ("6.8.0", true),
            ("6.18.44-fc-v657", true),
            ("7.0.0-rc1", true),
            ("6.7.12-arch1", false),
            ("6.1.0-28-amd64", false),
            ("5.15.0-91-generic", false),
            ("5.14.0-427.el9.x86_64", false),
            ("", false),
            ("garbage", false),
        ] {
            assert_eq!(release_has_bound_inactive(release), has, "{release}");
        }
    }

    #[test]
    fn the_probe_finds_its_bound_socket_on_a_kernel_that_dumps_them() {
        let release = rustix::system::uname();
        let release = release.release().to_string_lossy().into_owned();
        let found = probe_bound_inactive().expect("the probe runs unprivileged");
        // The version rule and the probe must agree on a kernel that has the feature; an
        // older one may have it backported, so only that direction is certain.
        if release_has_bound_inactive(&release) {
            assert!(
                found,
                "kernel {release} dumps bound-only sockets but the probe missed it"
            );
        }
        assert_eq!(
            dumps_bound_inactive(),
            found || release_has_bound_inactive(&release)
        );
    }

    #[test]
    fn request_has_the_kernel_layout() {
        let req = build_request(Family::V6, StateSet::ALL.kernel_mask(), 9, None);
        assert_eq!(req.len(), NLMSG_HDR_LEN + 56, "nlmsghdr + inet_diag_req_v2");
        assert_eq!(u32::from_ne_bytes(req[0..4].try_into().expect("4")), 72);
        assert_eq!(
            u16::from_ne_bytes(req[4..6].try_into().expect("2")),
            SOCK_DIAG_BY_FAMILY
        );
        assert_eq!(
            u16::from_ne_bytes(req[6..8].try_into().expect("2")),
            NLM_F_REQUEST | NLM_F_DUMP
        );
        assert_eq!(u32::from_ne_bytes(req[8..12].try_into().expect("4")), 9);
        assert_eq!(req[16], AF_INET6);
        assert_eq!(req[17], IPPROTO_TCP);
        assert_eq!(req[18], 0, "no extensions requested");
        let states = u32::from_ne_bytes(req[20..24].try_into().expect("4"));
        assert_eq!(
            states, 0x3ffe,
            "bits 1-13: eleven states, NEW_SYN_RECV, BOUND_INACTIVE"
        );
    }

    #[test]
    fn request_carries_the_bytecode_attribute() {
        let filter = Filter {
            remote_port: crate::model::PortSet::parse("5432").expect("valid"),
            ..Filter::default()
        };
        let program = bytecode::compile(&filter, Family::V4).expect("a port filter compiles");
        let plain = build_request(Family::V4, filter.states.kernel_mask(), 3, None);
        let req = build_request(Family::V4, filter.states.kernel_mask(), 3, Some(&program));
        let bare = NLMSG_HDR_LEN + 56;
        assert_eq!(
            &req[4..bare],
            &plain[4..],
            "same header fields and inet_diag_req_v2"
        );
        assert_eq!(req.len(), bare + NLA_HDR_LEN + 8, "D_EQ + its port operand");
        assert_eq!(
            u32::from_ne_bytes(req[0..4].try_into().expect("4")) as usize,
            req.len(),
            "nlmsg_len includes the attribute"
        );
        let nla_len = u16::from_ne_bytes(req[bare..bare + 2].try_into().expect("2"));
        let nla_type = u16::from_ne_bytes(req[bare + 2..bare + 4].try_into().expect("2"));
        assert_eq!((nla_len, nla_type), (12, 1), "INET_DIAG_REQ_BYTECODE");
        let mut op = vec![12, 8]; // D_EQ, yes: next op
        op.extend_from_slice(&12u16.to_ne_bytes()); // no: past the end, reject
        op.extend_from_slice(&[0, 0]);
        op.extend_from_slice(&5432u16.to_ne_bytes()); // the port, in the operand's `no`
        assert_eq!(&req[bare + NLA_HDR_LEN..], &op[..]);
        assert_eq!(&req[bare + NLA_HDR_LEN..], program.as_bytes());
        // The checked parser of the crate agrees on the lengths.
        let parsed = NetlinkBuffer::new_checked(&req[..]).expect("valid netlink message");
        assert_eq!(parsed.length() as usize, req.len());
    }

    #[test]
    fn compat_request_has_the_legacy_layout() {
        let req = build_compat_request(StateSet::ALL.kernel_mask(), 11, None);
        assert_eq!(
            req.len(),
            NLMSG_HDR_LEN + 60,
            "nlmsghdr + struct inet_diag_req"
        );
        assert_eq!(u32::from_ne_bytes(req[0..4].try_into().expect("4")), 76);
        assert_eq!(u16::from_ne_bytes(req[4..6].try_into().expect("2")), 18);
        assert_eq!(
            u16::from_ne_bytes(req[6..8].try_into().expect("2")),
            NLM_F_REQUEST | NLM_F_DUMP
        );
        assert_eq!(u32::from_ne_bytes(req[8..12].try_into().expect("4")), 11);
        assert_eq!(
            &req[16..20],
            &[0, 0, 0, 0],
            "AF_UNSPEC, no lengths, no extensions"
        );
        assert!(req[20..68].iter().all(|&b| b == 0), "a zero sockid");
        let states = u32::from_ne_bytes(req[68..72].try_into().expect("4"));
        assert_eq!(states, 0x3ffe, "bit 13 (bound inactive) too");
        assert_eq!(&req[72..76], &[0; 4], "idiag_dbs");
    }

    #[test]
    fn compat_request_carries_the_bytecode_attribute() {
        let filter = Filter {
            remote_port: crate::model::PortSet::parse("5432").expect("valid"),
            ..Filter::default()
        };
        let program = bytecode::compile(&filter, Family::V4).expect("a port filter compiles");
        assert_eq!(
            Some(&program),
            bytecode::compile(&filter, Family::V6).as_ref(),
            "a port-only program is the same for both families"
        );
        let req = build_compat_request(filter.states.kernel_mask(), 3, Some(&program));
        let bare = NLMSG_HDR_LEN + 60;
        assert_eq!(req.len(), bare + NLA_HDR_LEN + program.len());
        assert_eq!(
            u32::from_ne_bytes(req[0..4].try_into().expect("4")) as usize,
            req.len()
        );
        let nla_len = u16::from_ne_bytes(req[bare..bare + 2].try_into().expect("2"));
        let nla_type = u16::from_ne_bytes(req[bare + 2..bare + 4].try_into().expect("2"));
        assert_eq!(usize::from(nla_len), NLA_HDR_LEN + program.len());
        assert_eq!(nla_type, INET_DIAG_REQ_BYTECODE);
        assert_eq!(&req[bare + NLA_HDR_LEN..], program.as_bytes());
    }

    #[test]
    fn compat_answers_parse_like_by_family_ones() {
        let v6 = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let mut data = nlmsg(
            TCPDIAG_GETSOCK,
            2,
            4,
            &diag_msg(AF_INET, 10, 80, 0, &[10, 0, 0, 1], &[0; 4], 5),
        );
        data.extend(nlmsg(
            TCPDIAG_GETSOCK,
            2,
            4,
            &diag_msg(AF_INET6, 1, 443, 5555, &v6, &v6, 6),
        ));
        data.extend(nlmsg(NLMSG_DONE, 2, 4, &0i32.to_ne_bytes()));
        let mut sink = Collect::default();
        let mut stats = DumpStats::default();
        let done = parse_datagram(
            &data,
            Family::V4,
            4,
            &Filter::default(),
            &mut sink,
            &mut stats,
        )
        .expect("parses");
        assert!(done);
        let families: Vec<Family> = sink.0.iter().map(|r| r.family).collect();
        assert_eq!(
            families,
            [Family::V4, Family::V6],
            "each message says its family"
        );
    }

    #[test]
    fn one_pass_only_when_the_program_is_the_same_for_both_families() {
        let ports = Filter {
            any_port: crate::model::PortSet::parse("80").expect("valid"),
            ..Filter::default()
        };
        assert_eq!(
            bytecode::compile(&ports, Family::V4),
            bytecode::compile(&ports, Family::V6)
        );
        // An IPv4 network compiles the same for both (IPv6 sockets match it on IPv4-mapped
        // addresses); an IPv6 one cannot match any IPv4 socket: per-family dumps.
        let v4 = Filter {
            local_addr: vec![crate::model::Cidr::parse("10.0.0.0/8").expect("valid")],
            ..Filter::default()
        };
        assert_eq!(
            bytecode::compile(&v4, Family::V4),
            bytecode::compile(&v4, Family::V6)
        );
        let v6 = Filter {
            local_addr: vec![crate::model::Cidr::parse("2001:db8::/32").expect("valid")],
            ..Filter::default()
        };
        assert_ne!(
            bytecode::compile(&v6, Family::V4),
            bytecode::compile(&v6, Family::V6)
        );
    }

    #[test]
    fn datagram_with_two_sockets_then_done() {
        let mut data = nlmsg(
            SOCK_DIAG_BY_FAMILY,
            2,
            5,
            &diag_msg(
                AF_INET,
                8,
                8080,
                40000,
                &[127, 0, 0, 1],
                &[10, 0, 0, 2],
                777,
            ),
        );
        let v6 = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        data.extend(nlmsg(
            SOCK_DIAG_BY_FAMILY,
            2,
            5,
            &diag_msg(AF_INET6, 6, 443, 5555, &v6, &v6, 0),
        ));
        data.extend(nlmsg(NLMSG_DONE, 2, 5, &0i32.to_ne_bytes()));
        let mut sink = Collect::default();
        let mut stats = DumpStats::default();
        let done = parse_datagram(
            &data,
            Family::V4,
            5,
            &Filter::default(),
            &mut sink,
            &mut stats,
        )
        .expect("parses");
        assert!(done);
        assert_eq!(stats.sockets, 2);
        let [a, b] = sink.0.as_slice() else {
            panic!("two records, got {:?}", sink.0)
        };
        assert_eq!(a.state, KernelState::Known(TcpState::CloseWait));
        assert_eq!((a.local_port, a.remote_port), (8080, 40000));
        assert_eq!(a.local.to_string(), "127.0.0.1");
        assert_eq!(a.remote.to_string(), "10.0.0.2");
        assert_eq!((a.recv_q, a.send_q, a.uid, a.inode), (7, 128, 1000, 777));
        assert_eq!(a.timer, TimerKind::TimeWait);
        assert_eq!(a.timer_ms, 59_000);
        assert_eq!(a.cookie, 0x1122_3344_5566_7788);
        assert_eq!(b.family, Family::V6);
        assert_eq!(b.local.to_string(), "::1");
        assert_eq!(b.state, KernelState::Known(TcpState::TimeWait));
    }

    #[test]
    fn unknown_state_is_kept_with_its_value() {
        let data = nlmsg(
            SOCK_DIAG_BY_FAMILY,
            2,
            1,
            &diag_msg(AF_INET, 99, 1, 2, &[1, 2, 3, 4], &[0; 4], 1),
        );
        let mut sink = Collect::default();
        let mut stats = DumpStats::default();
        let done = parse_datagram(
            &data,
            Family::V4,
            1,
            &Filter::default(),
            &mut sink,
            &mut stats,
        )
        .expect("parses");
        assert!(!done, "no NLMSG_DONE yet");
        assert_eq!(sink.0[0].state, KernelState::Unknown(99));
        assert_eq!(sink.0[0].raw_state, 99);
    }

    #[test]
    fn errors_are_errors() {
        let mut stats = DumpStats::default();
        let filter = Filter::default();
        let mut sink = Collect::default();
        // NLMSG_ERROR with -ENOENT (2), as when inet_diag is not loaded.
        let mut err = (-2i32).to_ne_bytes().to_vec();
        err.extend_from_slice(&[0; 16]);
        let data = nlmsg(NLMSG_ERROR, 0, 3, &err);
        match parse_datagram(&data, Family::V6, 3, &filter, &mut sink, &mut stats) {
            Err(Error::NetlinkKernel { errno: 2, .. }) => {}
            other => panic!("expected ENOENT, got {other:?}"),
        }
        // NLMSG_DONE carrying an errno.
        let data = nlmsg(NLMSG_DONE, 2, 3, &(-4i32).to_ne_bytes());
        assert!(matches!(
            parse_datagram(&data, Family::V4, 3, &filter, &mut sink, &mut stats),
            Err(Error::NetlinkKernel { errno: 4, .. })
        ));
        // A truncated socket message.
        let msg = diag_msg(AF_INET, 1, 1, 2, &[1, 2, 3, 4], &[0; 4], 1);
        let data = nlmsg(SOCK_DIAG_BY_FAMILY, 2, 3, &msg[..40]);
        assert!(matches!(
            parse_datagram(&data, Family::V4, 3, &filter, &mut sink, &mut stats),
            Err(Error::NetlinkMalformed { .. })
        ));
        // A datagram cut inside a message (declared length beyond the data).
        let mut data = nlmsg(SOCK_DIAG_BY_FAMILY, 2, 3, &msg);
        data.truncate(50);
        assert!(matches!(
            parse_datagram(&data, Family::V4, 3, &filter, &mut sink, &mut stats),
            Err(Error::NetlinkMalformed { .. })
        ));
        // An unknown address family.
        let mut bad = msg.clone();
        bad[0] = 1;
        let data = nlmsg(SOCK_DIAG_BY_FAMILY, 2, 3, &bad);
        assert!(parse_datagram(&data, Family::V4, 3, &filter, &mut sink, &mut stats).is_err());
        assert!(sink.0.is_empty(), "nothing recorded from bad input");
    }

    #[test]
    fn stale_sequence_numbers_are_skipped_and_interrupts_flagged() {
        let msg = diag_msg(AF_INET, 1, 1, 2, &[1, 2, 3, 4], &[0; 4], 1);
        let mut data = nlmsg(SOCK_DIAG_BY_FAMILY, 2, 7, &msg);
        data.extend(nlmsg(SOCK_DIAG_BY_FAMILY, 2 | NLM_F_DUMP_INTR, 8, &msg));
        let mut sink = Collect::default();
        let mut stats = DumpStats::default();
        parse_datagram(
            &data,
            Family::V4,
            8,
            &Filter::default(),
            &mut sink,
            &mut stats,
        )
        .expect("parses");
        assert_eq!(stats.stale, 1);
        assert_eq!(sink.0.len(), 1);
        assert!(stats.interrupted);
    }

    #[test]
    fn filter_applies_per_record() {
        let mut data = nlmsg(
            SOCK_DIAG_BY_FAMILY,
            2,
            1,
            &diag_msg(AF_INET, 1, 80, 5000, &[1; 4], &[2; 4], 1),
        );
        data.extend(nlmsg(
            SOCK_DIAG_BY_FAMILY,
            2,
            1,
            &diag_msg(AF_INET, 1, 81, 5000, &[1; 4], &[2; 4], 2),
        ));
        let filter = Filter {
            local_port: crate::model::PortSet::parse("81").expect("valid"),
            ..Filter::default()
        };
        let mut sink = Collect::default();
        let mut stats = DumpStats::default();
        parse_datagram(&data, Family::V4, 1, &filter, &mut sink, &mut stats).expect("parses");
        assert_eq!(stats.sockets, 2);
        assert_eq!(sink.0.len(), 1);
        assert_eq!(sink.0[0].inode, 2);
    }
}
