//! sock_diag bytecode: the port and address filters, compiled for the kernel.
//!
//! Owns: turning a [`Filter`]'s port sets and address lists into an `INET_DIAG_REQ_BYTECODE`
//! program for one address family ([`compile`]), so a dump carries only the sockets that can
//! match. Carrying the program in the request is `netlink::build_request`'s business. States
//! stay in the request's `idiag_states` mask; socket uids, owner pids and process names stay in
//! user space (the bytecode has no op for them: `inet_diag_entry` holds ports, addresses,
//! family, interface, mark, cgroup and userlocks, nothing else). The collector still applies
//! [`Filter::matches`] to every socket the kernel sends, so the program only ever shrinks the
//! dump: correctness never depends on it.
//!
//! Kernel references: `include/uapi/linux/inet_diag.h` (`struct inet_diag_bc_op`,
//! `struct inet_diag_hostcond`, the `INET_DIAG_BC_*` codes), `net/ipv4/inet_diag.c`
//! (`inet_diag_bc_run` runs the program on every socket, `inet_diag_bc_audit` checks it once
//! when the dump starts and fails the whole request with `EINVAL` if any jump is bad) and
//! iproute2 `misc/ss.c` (`ssfilter_bytecompile`), whose conventions this follows.
//!
//! # Encoding
//!
//! A program is a sequence of 4-byte ops `{ u8 code; u8 yes; u16 no }` (host byte order), some
//! followed by operands. The kernel runs the op at the current offset; if its condition holds
//! it advances `yes` bytes, otherwise `no` bytes. Reaching exactly the end of the program
//! accepts the socket; jumping past it rejects it. As in ss:
//!
//! - `yes` is always the op's own length (with operands): a true condition falls through. The
//!   audit walks the program along `yes`, so every op is reached that way.
//! - A failed condition jumps to the enclosing alternative's next branch, or to
//!   `length + 4` (reject) — the target ss uses, and the largest one the audit allows.
//! - AND is concatenation. OR is `a, JMP, b, ...`: a failure in `a` jumps to the start of `b`,
//!   success in `a` falls into a `JMP` (whose condition is always false) that jumps over the
//!   other branches to the end of the OR.
//! - Port tests are an op plus a second op whose `no` carries the port: `S_EQ`/`D_EQ` for a
//!   single port, `S_GE` then `S_LE` (`D_GE`, `D_LE`) for a range `lo-hi`. (ss 6.1 writes
//!   `sport = :P` as an `AF_UNSPEC` host condition with a port; the kernel's `EQ` ops say the
//!   same in half the bytes.)
//! - Address tests are `S_COND`/`D_COND` followed by `inet_diag_hostcond { u8 family;
//!   u8 prefix_len; int port = -1 (any); __be32 addr[] }`, 4 address bytes for `AF_INET`, 16 for
//!   `AF_INET6`.
//!
//! Worked example: `--dport 5432,6432 --src 10.0.0.0/8`, IPv4 dump, 36 bytes (little-endian):
//!
//! ```text
//! off bytes        op
//!   0 0c 08 0c 00  D_EQ   yes +8 (next op), no +12 (-> 12, the next alternative)
//!   4 00 00 38 15           operand: port 5432 in `no`
//!   8 01 04 0c 00  JMP    always "no": +12 (-> 20, past the OR)
//!  12 0c 08 1c 00  D_EQ   yes +8 (-> 20), no +28 (-> 40 = length + 4: reject)
//!  16 00 00 20 19           operand: port 6432
//!  20 07 10 14 00  S_COND yes +16 (-> 36 = length: accept), no +20 (-> 40: reject)
//!  24 02 08 00 00           hostcond: AF_INET, /8, padding
//!  28 ff ff ff ff           port -1 (any)
//!  32 0a 00 00 00           10.0.0.0
//! ```
//!
//! A unit test checks this table byte for byte, and two programs against what ss sends.
//!
//! # Families
//!
//! A program is compiled for the family being dumped. An IPv6 network never matches an IPv4
//! socket, so on an IPv4 dump it compiles to "false" (an address list of IPv6 networks only
//! becomes a program that rejects everything: one `JMP` to `length + 4`). An IPv4 network on an
//! IPv6 dump is kept as an `AF_INET` host condition: `inet_diag_bc_run` matches it against
//! IPv4-mapped addresses (`::ffff:a.b.c.d`: words 0 and 1 zero, word 2 `htonl(0xffff)`, then
//! `bitstring_match` on word 3), which is exactly what [`Cidr::contains`] does. That branch is
//! older than the `S_EQ`/`D_EQ` ops (4.x sources have it but not them); a kernel too old for
//! `S_EQ`/`D_EQ` fails the dump with `EINVAL` rather than filtering wrongly.
//!
//! # What the kernel filters
//!
//! The dump (`tcp_diag_dump` in `net/ipv4/tcp_diag.c`, `inet_diag_dump_icsk` in older kernels)
//! calls `inet_diag_bc_sk` before filling every socket of all three walks: the listening hash,
//! the established hash (TIME_WAIT and request sockets included), and the `bhash2` walk of
//! bound-inactive sockets asked for with `TCP_BOUND_INACTIVE` (the patch that added that walk
//! ran the bytecode there from the start). So CLOSED sockets are filtered in the kernel too.

use std::net::IpAddr;

use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6};

use crate::model::{Cidr, Family, Filter, Half, PortSet};

/// `INET_DIAG_REQ_BYTECODE`: the request attribute type that carries a program.
pub const INET_DIAG_REQ_BYTECODE: u16 = 1;

/// `INET_DIAG_BC_*` op codes (`include/uapi/linux/inet_diag.h`).
const JMP: u8 = 1;
const S_GE: u8 = 2;
const S_LE: u8 = 3;
const D_GE: u8 = 4;
const D_LE: u8 = 5;
const S_COND: u8 = 7;
const D_COND: u8 = 8;
const S_EQ: u8 = 11;
const D_EQ: u8 = 12;
/// `INET_DIAG_BC_CGROUP_COND`: the socket's cgroup v2 id equals the u64 after the op (Linux
/// 5.9+). Minisockets (TIME_WAIT, SYN_RECV requests) have id 0 here (`inet_diag_bc_sk` reads
/// it only from full sockets).
const CGROUP_COND: u8 = 13;
/// At most this many cgroup ids go into a program (16 bytes each with its JMP); a larger
/// selection (`--cgroup /` on a big host) is left to user space.
const MAX_CGROUP_IDS: usize = 256;

/// Size of `struct inet_diag_bc_op`.
const OP_LEN: usize = 4;
/// Size of `struct inet_diag_hostcond` without its address.
const HOSTCOND_LEN: usize = 8;

/// The longest program sent. The attribute's `nla_len` (u16) covers its 4-byte header plus the
/// program, and every `no` (u16) may be as large as the remaining length + 4, so 65531 bytes is
/// the hard limit; ops are 4-byte multiples. A filter needing more (thousands of port ranges)
/// is left to user space.
pub const MAX_PROGRAM_LEN: usize = 65528;

/// A compiled program: valid for `inet_diag_bc_audit` and at most [`MAX_PROGRAM_LEN`] bytes,
/// so its attribute length fits the u16 `nla_len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program(Vec<u8>);

impl Program {
    /// The bytecode, without the netlink attribute header.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a program has at least one op.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Compiles the port and address parts of `filter` for a dump of `family`.
///
/// Returns `None` when there is nothing for the kernel to check (no port or address filter, or
/// only networks the kernel cannot express, such as a prefix longer than the address), or when
/// the program would exceed [`MAX_PROGRAM_LEN`]. User space filters either way.
pub fn compile(filter: &Filter, family: Family) -> Option<Program> {
    let expr = Expr::all(vec![
        any_port(&filter.any_port),
        ports(&filter.local_port, Side::Local),
        ports(&filter.remote_port, Side::Remote),
        networks(&filter.local_addr, Side::Local, family),
        networks(&filter.remote_addr, Side::Remote, family),
        cgroups(filter),
        half(filter.half),
    ]);
    if matches!(expr, Expr::True) {
        return None;
    }
    let len = expr.len();
    if len > MAX_PROGRAM_LEN {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    // Rejection is a jump to the end + 4, as in ss.
    expr.emit(&mut out, len + OP_LEN);
    debug_assert_eq!(out.len(), len);
    Some(Program(out))
}

/// Which end of the connection a test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Local,
    Remote,
}

/// A port comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ge,
    Le,
}

/// One condition: an op and its operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    Port { side: Side, cmp: Cmp, port: u16 },
    Host { side: Side, cidr: Cidr },
    Cgroup(u64),
}

impl Test {
    fn len(self) -> usize {
        match self {
            // The op, then a second op whose `no` is the port.
            Test::Port { .. } => 2 * OP_LEN,
            Test::Host { cidr, .. } => OP_LEN + HOSTCOND_LEN + address_len(cidr.network),
            Test::Cgroup(_) => OP_LEN + 8,
        }
    }

    /// Writes the op at `out.len()`; a false condition jumps to `on_false` (an offset from the
    /// start of the program).
    fn emit(self, out: &mut Vec<u8>, on_false: usize) {
        let at = out.len();
        let len = self.len();
        match self {
            Test::Port { side, cmp, port } => {
                let code = match (side, cmp) {
                    (Side::Local, Cmp::Eq) => S_EQ,
                    (Side::Local, Cmp::Ge) => S_GE,
                    (Side::Local, Cmp::Le) => S_LE,
                    (Side::Remote, Cmp::Eq) => D_EQ,
                    (Side::Remote, Cmp::Ge) => D_GE,
                    (Side::Remote, Cmp::Le) => D_LE,
                };
                push_op(out, code, len, on_false - at);
                // `inet_diag_bc_run` compares against `op[1].no`, in host byte order.
                push_op(out, 0, 0, usize::from(port));
            }
            Test::Host { side, cidr } => {
                let code = match side {
                    Side::Local => S_COND,
                    Side::Remote => D_COND,
                };
                push_op(out, code, len, on_false - at);
                let af = match cidr.network {
                    IpAddr::V4(_) => AF_INET,
                    IpAddr::V6(_) => AF_INET6,
                };
                out.extend_from_slice(&[af, cidr.prefix, 0, 0]);
                out.extend_from_slice(&(-1i32).to_ne_bytes());
                match cidr.network {
                    IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
                    IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
                }
            }
            Test::Cgroup(id) => {
                push_op(out, CGROUP_COND, len, on_false - at);
                out.extend_from_slice(&id.to_ne_bytes());
            }
        }
    }
}

/// A boolean expression over tests, simplified as it is built.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    True,
    False,
    Test(Test),
    /// All must hold (at least two members, none of them `All`, `True` or `False`).
    All(Vec<Expr>),
    /// One must hold (at least two members, none of them `True` or `False`).
    Any(Vec<Expr>),
}

impl Expr {
    fn all(members: Vec<Expr>) -> Expr {
        let mut kept = Vec::new();
        for member in members {
            match member {
                Expr::True => {}
                Expr::False => return Expr::False,
                Expr::All(inner) => kept.extend(inner),
                other => kept.push(other),
            }
        }
        match kept.len() {
            0 => Expr::True,
            1 => kept.pop().unwrap_or(Expr::True),
            _ => Expr::All(kept),
        }
    }

    fn any(members: Vec<Expr>) -> Expr {
        let mut kept = Vec::new();
        for member in members {
            match member {
                Expr::True => return Expr::True,
                Expr::False => {}
                other => kept.push(other),
            }
        }
        match kept.len() {
            0 => Expr::False,
            1 => kept.pop().unwrap_or(Expr::False),
            _ => Expr::Any(kept),
        }
    }

    /// Bytes this expression compiles to.
    fn len(&self) -> usize {
        match self {
            Expr::True => 0,
            Expr::False => OP_LEN,
            Expr::Test(test) => test.len(),
            Expr::All(members) => members.iter().map(Expr::len).sum(),
            // A JMP after every branch but the last.
            Expr::Any(members) => {
                members.iter().map(Expr::len).sum::<usize>() + OP_LEN * (members.len() - 1)
            }
        }
    }

    /// Appends the code: when the expression holds, control reaches the end of what was
    /// appended; when it does not, control jumps to `on_false` (an offset from the start of the
    /// program, beyond the appended code).
    fn emit(&self, out: &mut Vec<u8>, on_false: usize) {
        match self {
            Expr::True => {}
            // JMP: its condition is always false, so it always takes `no`.
            Expr::False => {
                let at = out.len();
                push_op(out, JMP, OP_LEN, on_false - at);
            }
            Expr::Test(test) => test.emit(out, on_false),
            Expr::All(members) => {
                for member in members {
                    member.emit(out, on_false);
                }
            }
            Expr::Any(members) => {
                let end = out.len() + self.len();
                let last = members.len() - 1;
                for (i, member) in members.iter().enumerate() {
                    if i == last {
                        member.emit(out, on_false);
                    } else {
                        // Failure tries the next branch, after this one and its JMP.
                        let next = out.len() + member.len() + OP_LEN;
                        member.emit(out, next);
                        let at = out.len();
                        push_op(out, JMP, OP_LEN, end - at);
                    }
                }
            }
        }
    }
}

/// Writes one `struct inet_diag_bc_op`. Callers keep `yes` below 256 (an op is at most 28
/// bytes) and `no` below 65536 ([`compile`] refuses programs over [`MAX_PROGRAM_LEN`]).
fn push_op(out: &mut Vec<u8>, code: u8, yes: usize, no: usize) {
    out.push(code);
    out.push(yes as u8);
    out.extend_from_slice(&(no as u16).to_ne_bytes());
}

/// A workload filter: the socket's cgroup is one of the selected ids, or it has none (a
/// minisocket: user space decides by its port, see `CgroupMatch`).
fn cgroups(filter: &Filter) -> Expr {
    match &filter.cgroups {
        Some(c) if c.ids.len() <= MAX_CGROUP_IDS => {
            let mut members: Vec<Expr> = c
                .ids
                .iter()
                .map(|&id| Expr::Test(Test::Cgroup(id)))
                .collect();
            if !c.ports.is_empty() {
                members.push(Expr::Test(Test::Cgroup(0)));
            }
            Expr::any(members)
        }
        _ => Expr::True,
    }
}

fn address_len(ip: IpAddr) -> usize {
    match ip {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 16,
    }
}

/// `lo-hi` on one side: `EQ` for a single port, else `GE lo` and `LE hi`.
fn range(side: Side, (lo, hi): (u16, u16)) -> Expr {
    let test = |cmp, port| Expr::Test(Test::Port { side, cmp, port });
    if lo == hi {
        test(Cmp::Eq, lo)
    } else {
        Expr::all(vec![test(Cmp::Ge, lo), test(Cmp::Le, hi)])
    }
}

/// [`Half::holds`]: exactly one port at or above `at` (upper), or not (lower).
fn half(half: Option<Half>) -> Expr {
    let Some(Half { at, upper }) = half else {
        return Expr::True;
    };
    let Some(below) = at.checked_sub(1) else {
        // Every port is at or above 0: both are, so every socket is in the lower half.
        return if upper { Expr::False } else { Expr::True };
    };
    let test = |side, cmp, port| Expr::Test(Test::Port { side, cmp, port });
    let high = |side| test(side, Cmp::Ge, at);
    let low = |side| test(side, Cmp::Le, below);
    let (local, remote) = (Side::Local, Side::Remote);
    if upper {
        Expr::any(vec![
            Expr::all(vec![high(local), low(remote)]),
            Expr::all(vec![low(local), high(remote)]),
        ])
    } else {
        Expr::any(vec![
            Expr::all(vec![high(local), high(remote)]),
            Expr::all(vec![low(local), low(remote)]),
        ])
    }
}

/// `--sport` / `--dport`: the port is in one of the ranges (no ranges: no condition).
fn ports(set: &PortSet, side: Side) -> Expr {
    if set.is_empty() {
        return Expr::True;
    }
    Expr::any(set.ranges().iter().map(|&r| range(side, r)).collect())
}

/// `--port`: the local or the remote port is in one of the ranges.
fn any_port(set: &PortSet) -> Expr {
    if set.is_empty() {
        return Expr::True;
    }
    let local = set.ranges().iter().map(|&r| range(Side::Local, r));
    let remote = set.ranges().iter().map(|&r| range(Side::Remote, r));
    Expr::any(local.chain(remote).collect())
}

/// `--src` / `--dst`: the address is in one of the networks, on a socket of `family`.
fn networks(list: &[Cidr], side: Side, family: Family) -> Expr {
    if list.is_empty() {
        return Expr::True;
    }
    Expr::any(
        list.iter()
            .map(|&cidr| network(cidr, side, family))
            .collect(),
    )
}

fn network(cidr: Cidr, side: Side, family: Family) -> Expr {
    let max = 8 * address_len(cidr.network);
    if usize::from(cidr.prefix) > max {
        // `valid_hostcond` would reject the whole program; let user space decide.
        return Expr::True;
    }
    match (family, cidr.network) {
        // No IPv4 socket has an IPv6 address.
        (Family::V4, IpAddr::V6(_)) => Expr::False,
        // IPv4 on an IPv6 socket: the kernel matches IPv4-mapped addresses.
        _ => Expr::Test(Test::Host { side, cidr }),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::model::{KernelState, SocketRecord, TcpState};

    // The remaining op codes, for the kernel ports below.
    const NOP: u8 = 0;
    const AUTO: u8 = 6;
    const DEV_COND: u8 = 9;
    const MARK_COND: u8 = 10;

    /// What `inet_diag_bc_sk` gives `inet_diag_bc_run` for a socket.
    struct Entry {
        family: u8,
        saddr: Vec<u8>,
        daddr: Vec<u8>,
        sport: u16,
        dport: u16,
        cgroup_id: u64,
    }

    impl Entry {
        fn of(record: &SocketRecord) -> Entry {
            let bytes = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            Entry {
                family: match record.family {
                    Family::V4 => AF_INET,
                    Family::V6 => AF_INET6,
                },
                saddr: bytes(record.local),
                daddr: bytes(record.remote),
                sport: record.local_port,
                dport: record.remote_port,
                cgroup_id: record.cgroup_id,
            }
        }
    }

    fn op_at(bc: &[u8], at: usize) -> (u8, usize, usize) {
        (
            bc[at],
            usize::from(bc[at + 1]),
            usize::from(u16::from_ne_bytes([bc[at + 2], bc[at + 3]])),
        )
    }

    /// Port of `bitstring_match` (`net/ipv4/inet_diag.c`): the first `bits` bits are equal.
    fn bitstring_match(a1: &[u8], a2: &[u8], bits: usize) -> bool {
        let words = bits >> 5;
        let bits = bits & 0x1f;
        if words > 0 && a1[..words * 4] != a2[..words * 4] {
            return false;
        }
        if bits > 0 {
            let word = |a: &[u8]| {
                u32::from_be_bytes([
                    a[words * 4],
                    a[words * 4 + 1],
                    a[words * 4 + 2],
                    a[words * 4 + 3],
                ])
            };
            let mask = u32::MAX << (32 - bits);
            if (word(a1) ^ word(a2)) & mask != 0 {
                return false;
            }
        }
        true
    }

    /// Port of `inet_diag_bc_run` (`net/ipv4/inet_diag.c`), for the ops [`compile`] emits plus
    /// NOP and JMP; panics on the others (and on reads past the program, which the kernel
    /// would not survive either).
    fn run(bc: &[u8], entry: &Entry) -> bool {
        let mut at = 0usize;
        let mut len = bc.len() as isize;
        while len > 0 {
            let (code, yes_step, no_step) = op_at(bc, at);
            let port = || u16::from_ne_bytes([bc[at + 6], bc[at + 7]]);
            let yes = match code {
                NOP => true,
                JMP => false,
                S_EQ => entry.sport == port(),
                S_GE => entry.sport >= port(),
                S_LE => entry.sport <= port(),
                D_EQ => entry.dport == port(),
                D_GE => entry.dport >= port(),
                D_LE => entry.dport <= port(),
                CGROUP_COND => {
                    let mut id = [0; 8];
                    id.copy_from_slice(&bc[at + OP_LEN..at + OP_LEN + 8]);
                    entry.cgroup_id == u64::from_ne_bytes(id)
                }
                S_COND | D_COND => {
                    let cond = &bc[at + OP_LEN..];
                    let (family, prefix_len) = (cond[0], usize::from(cond[1]));
                    let cond_port = i32::from_ne_bytes([cond[4], cond[5], cond[6], cond[7]]);
                    let cond_addr = &cond[HOSTCOND_LEN..];
                    let (port, addr) = if code == S_COND {
                        (entry.sport, &entry.saddr)
                    } else {
                        (entry.dport, &entry.daddr)
                    };
                    if cond_port != -1 && cond_port != i32::from(port) {
                        false
                    } else if family != 0 && family != entry.family {
                        entry.family == AF_INET6
                            && family == AF_INET
                            && addr[..10] == [0; 10]
                            && addr[10..12] == [0xff, 0xff]
                            && bitstring_match(&addr[12..], cond_addr, prefix_len)
                    } else {
                        prefix_len == 0 || bitstring_match(addr, cond_addr, prefix_len)
                    }
                }
                other => panic!("op {other} at {at} is never emitted"),
            };
            let step = if yes { yes_step } else { no_step };
            len -= step as isize;
            at += step;
        }
        len == 0
    }

    /// Port of `valid_cc`: is `cc` (a remaining length) an op boundary on the `yes` walk?
    fn valid_cc(bc: &[u8], cc: isize) -> bool {
        let mut len = bc.len() as isize;
        let mut at = 0usize;
        while len >= 0 {
            if cc > len {
                return false;
            }
            if cc == len {
                return true;
            }
            let yes = usize::from(bc[at + 1]);
            if yes < 4 || yes & 3 != 0 {
                return false;
            }
            len -= yes as isize;
            at += yes;
        }
        false
    }

    /// Port of `inet_diag_bc_audit` (with `valid_hostcond`, `valid_port_comparison`, ...), as
    /// run with CAP_NET_ADMIN.
    fn audit(bc: &[u8]) -> Result<(), String> {
        if bc.len() < OP_LEN {
            return Err(format!("{} bytes: shorter than one op", bc.len()));
        }
        let mut len = bc.len() as isize;
        let mut at = 0usize;
        while len > 0 {
            let mut min_len = OP_LEN as isize;
            let (code, yes, no) = op_at(bc, at);
            let (yes, no) = (yes as isize, no as isize);
            match code {
                S_COND | D_COND => {
                    min_len += HOSTCOND_LEN as isize;
                    if len < min_len {
                        return Err(format!("hostcond at {at} cut short"));
                    }
                    let (family, prefix_len) = (bc[at + 4], isize::from(bc[at + 5]));
                    let addr_len = match family {
                        0 => 0,
                        AF_INET => 4,
                        AF_INET6 => 16,
                        other => return Err(format!("hostcond family {other} at {at}")),
                    };
                    min_len += addr_len;
                    if len < min_len {
                        return Err(format!("hostcond address at {at} cut short"));
                    }
                    if prefix_len > 8 * addr_len {
                        return Err(format!("prefix {prefix_len} at {at}"));
                    }
                }
                DEV_COND | S_EQ | S_GE | S_LE | D_EQ | D_GE | D_LE => {
                    min_len += 4;
                    if len < min_len {
                        return Err(format!("operand of op {code} at {at} cut short"));
                    }
                }
                MARK_COND | CGROUP_COND => {
                    min_len += 8;
                    if len < min_len {
                        return Err(format!("operand of op {code} at {at} cut short"));
                    }
                }
                AUTO | JMP | NOP => {}
                other => return Err(format!("unknown op {other} at {at}")),
            }
            if code != NOP {
                if no < min_len || no > len + 4 || no & 3 != 0 {
                    return Err(format!("bad no {no} at {at} (min {min_len}, left {len})"));
                }
                if no < len && !valid_cc(bc, len - no) {
                    return Err(format!("no {no} at {at} lands inside an op"));
                }
            }
            if yes < min_len || yes > len + 4 || yes & 3 != 0 {
                return Err(format!("bad yes {yes} at {at} (min {min_len}, left {len})"));
            }
            at += yes as usize;
            len -= yes;
        }
        if len == 0 {
            Ok(())
        } else {
            Err(format!("the yes walk overshoots the end by {}", -len))
        }
    }

    fn record(family: Family, local: &str, lport: u16, remote: &str, rport: u16) -> SocketRecord {
        let mut r = SocketRecord::empty(family, KernelState::Known(TcpState::Established));
        r.local = local.parse().expect("address");
        r.remote = remote.parse().expect("address");
        r.local_port = lport;
        r.remote_port = rport;
        r
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| Cidr::parse(c).expect("cidr")).collect()
    }

    /// `inet_diag_bc_op` bytes.
    fn op(code: u8, yes: u8, no: u16) -> Vec<u8> {
        let mut v = vec![code, yes];
        v.extend_from_slice(&no.to_ne_bytes());
        v
    }

    /// Checks that, for both families, the program is valid and the kernel would send exactly
    /// the records `Filter::matches` keeps (no program: all of them).
    fn check(filter: &Filter, records: &[SocketRecord]) {
        for family in Family::ALL {
            let program = compile(filter, family);
            if let Some(p) = &program {
                audit(p.as_bytes()).unwrap_or_else(|e| panic!("{e}: {filter:?} {p:?}"));
            }
            for r in records.iter().filter(|r| r.family == family) {
                let kernel = program
                    .as_ref()
                    .is_none_or(|p| run(p.as_bytes(), &Entry::of(r)));
                assert_eq!(
                    kernel,
                    filter.matches(r),
                    "{family:?} {r:?}\n{filter:?}\n{program:?}"
                );
            }
        }
    }

    #[test]
    fn no_port_or_address_filter_means_no_program() {
        let filter = Filter {
            uids: vec![0],
            states: crate::model::StateSet::of(TcpState::Listen),
            ..Filter::default()
        };
        assert_eq!(compile(&filter, Family::V4), None);
        assert_eq!(compile(&filter, Family::V6), None);
    }

    #[test]
    fn encoding_matches_ss_and_the_module_docs() {
        // `ss -tan '( sport >= :5432 and sport <= :6000 )'` sends these 16 bytes (strace).
        let filter = Filter {
            local_port: PortSet::parse("5432-6000").expect("valid"),
            ..Filter::default()
        };
        let mut want = op(S_GE, 8, 20);
        want.extend(op(0, 0, 5432));
        want.extend(op(S_LE, 8, 12));
        want.extend(op(0, 0, 6000));
        assert_eq!(
            compile(&filter, Family::V4).expect("program").as_bytes(),
            want
        );

        // `ss -tan '( dst 10.0.0.0/8 or dst 192.168.0.0/16 )'`: 36 bytes.
        let filter = Filter {
            remote_addr: cidrs(&["10.0.0.0/8", "192.168.0.0/16"]),
            ..Filter::default()
        };
        let mut want = op(D_COND, 16, 20);
        want.extend([AF_INET, 8, 0, 0]);
        want.extend((-1i32).to_ne_bytes());
        want.extend([10, 0, 0, 0]);
        want.extend(op(JMP, 4, 20));
        want.extend(op(D_COND, 16, 20));
        want.extend([AF_INET, 16, 0, 0]);
        want.extend((-1i32).to_ne_bytes());
        want.extend([192, 168, 0, 0]);
        assert_eq!(
            compile(&filter, Family::V4).expect("program").as_bytes(),
            want
        );

        // The module docs' worked example.
        let filter = Filter {
            remote_port: PortSet::parse("5432,6432").expect("valid"),
            local_addr: cidrs(&["10.0.0.0/8"]),
            ..Filter::default()
        };
        let mut want = op(D_EQ, 8, 12);
        want.extend(op(0, 0, 5432));
        want.extend(op(JMP, 4, 12));
        want.extend(op(D_EQ, 8, 28));
        want.extend(op(0, 0, 6432));
        want.extend(op(S_COND, 16, 20));
        want.extend([AF_INET, 8, 0, 0]);
        want.extend((-1i32).to_ne_bytes());
        want.extend([10, 0, 0, 0]);
        let program = compile(&filter, Family::V4).expect("program");
        assert_eq!(program.as_bytes(), want);
        assert_eq!(program.len(), 36);
    }

    #[test]
    fn other_family_networks() {
        // IPv6 networks only: an IPv4 dump rejects everything with one JMP past the end.
        let filter = Filter {
            local_addr: cidrs(&["2001:db8::/32", "::1"]),
            ..Filter::default()
        };
        let v4 = compile(&filter, Family::V4).expect("program");
        assert_eq!(v4.as_bytes(), op(JMP, 4, 8));
        audit(v4.as_bytes()).expect("valid");
        assert!(!run(
            v4.as_bytes(),
            &Entry::of(&record(Family::V4, "1.2.3.4", 1, "0.0.0.0", 0))
        ));
        // An IPv4 network on an IPv6 dump stays AF_INET: the kernel matches v4-mapped sockets.
        let filter = Filter {
            remote_addr: cidrs(&["10.0.0.0/8"]),
            ..Filter::default()
        };
        let v6 = compile(&filter, Family::V6).expect("program");
        assert_eq!(v6.as_bytes()[4], AF_INET);
        let mapped = record(Family::V6, "::1", 1, "::ffff:10.9.8.7", 2);
        let native = record(Family::V6, "::1", 1, "a00::1", 2);
        let compat = record(Family::V6, "::1", 1, "::10.9.8.7", 2);
        let translated = record(Family::V6, "::1", 1, "::ffff:0:10.9.8.7", 2);
        assert!(run(v6.as_bytes(), &Entry::of(&mapped)));
        for r in [native, compat, translated] {
            assert!(!run(v6.as_bytes(), &Entry::of(&r)), "{}", r.remote);
            assert!(!filter.matches(&r));
        }
        assert!(filter.matches(&mapped));
    }

    #[test]
    fn prefixes_the_kernel_would_refuse_are_left_to_user_space() {
        let filter = Filter {
            local_addr: vec![Cidr {
                network: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)),
                prefix: 33,
            }],
            ..Filter::default()
        };
        assert_eq!(compile(&filter, Family::V4), None);
    }

    #[test]
    fn big_programs_are_valid_and_huge_ones_are_not_sent() {
        let list = |n: u32| {
            (0..n)
                .map(|i| format!("{}-{}", i * 10, i * 10 + 3))
                .collect::<Vec<_>>()
                .join(",")
        };
        // 2000 ranges on one side: 2000 * 16 + 1999 * 4 = 39996 bytes, `no` offsets up to 40000.
        let filter = Filter {
            remote_port: PortSet::parse(&list(2000)).expect("valid"),
            ..Filter::default()
        };
        let program = compile(&filter, Family::V4).expect("fits");
        assert_eq!(program.len(), 39_996);
        audit(program.as_bytes()).expect("valid");
        let records: Vec<_> = [
            0u16, 3, 4, 9, 10, 13, 14, 19_990, 19_993, 19_994, 20_000, 65_535,
        ]
        .into_iter()
        .map(|p| record(Family::V4, "1.1.1.1", 1, "2.2.2.2", p))
        .collect();
        check(&filter, &records);
        // --port doubles it: 4000 * 16 + 3999 * 4 = 79996 bytes, over the limit.
        let filter = Filter {
            any_port: PortSet::parse(&list(2000)).expect("valid"),
            ..Filter::default()
        };
        assert_eq!(compile(&filter, Family::V4), None);
    }

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    const EDGE_PORTS: [u16; 14] = [
        0, 1, 2, 79, 80, 81, 443, 1023, 1024, 5432, 32768, 65533, 65534, 65535,
    ];
    const V4_POOL: [&str; 7] = [
        "0.0.0.0",
        "10.0.0.1",
        "10.1.2.3",
        "10.1.2.200",
        "127.0.0.1",
        "192.168.1.10",
        "255.255.255.255",
    ];
    const V6_POOL: [&str; 12] = [
        "::",
        "::1",
        "2001:db8::1",
        "2001:db8:1::5",
        "fe80::1",
        "::ffff:10.1.2.3",
        "::ffff:127.0.0.1",
        "::ffff:0.0.0.0",
        "::ffff:255.255.255.255",
        "::10.1.2.3",
        "::ffff:0:10.1.2.3",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ];

    fn port(rng: &mut Rng) -> u16 {
        if rng.below(3) == 0 {
            rng.next() as u16
        } else {
            rng.pick(&EDGE_PORTS)
        }
    }

    fn port_set(rng: &mut Rng) -> PortSet {
        let n = rng.pick(&[0, 0, 1, 1, 2, 3]);
        let items: Vec<String> = (0..n)
            .map(|_| {
                let (a, b) = (port(rng), port(rng));
                match rng.below(3) {
                    0 => a.to_string(),
                    _ => format!("{}-{}", a.min(b), a.max(b)),
                }
            })
            .collect();
        if items.is_empty() {
            PortSet::default()
        } else {
            PortSet::parse(&items.join(",")).expect("generated set")
        }
    }

    fn cidr_list(rng: &mut Rng) -> Vec<Cidr> {
        let n = rng.pick(&[0, 0, 1, 1, 2, 3]);
        (0..n)
            .map(|_| {
                let (ip, max) = if rng.below(2) == 0 {
                    (rng.pick(&V4_POOL), 32)
                } else {
                    (rng.pick(&V6_POOL), 128)
                };
                let prefix = match rng.below(4) {
                    0 => max,
                    1 => 0,
                    _ => rng.below(max + 1),
                };
                Cidr::parse(&format!("{ip}/{prefix}")).expect("generated cidr")
            })
            .collect()
    }

    fn random_record(rng: &mut Rng, filter: &Filter) -> SocketRecord {
        // Ports near the filter's bounds, edges, or anything.
        let mut bounds: Vec<u16> = EDGE_PORTS.to_vec();
        for set in [&filter.any_port, &filter.local_port, &filter.remote_port] {
            for &(lo, hi) in set.ranges() {
                bounds.extend([lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)]);
            }
        }
        let near = |rng: &mut Rng| {
            if rng.below(4) == 0 {
                rng.next() as u16
            } else {
                rng.pick(&bounds)
            }
        };
        let (family, pool): (Family, &[&str]) = if rng.below(2) == 0 {
            (Family::V4, &V4_POOL)
        } else {
            (Family::V6, &V6_POOL)
        };
        let (local, remote) = (rng.pick(pool), rng.pick(pool));
        let (lport, rport) = (near(rng), near(rng));
        record(family, local, lport, remote, rport)
    }

    #[test]
    fn the_kernel_interpreter_agrees_with_filter_matches() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut programs = 0;
        for _ in 0..3000 {
            let filter = Filter {
                any_port: if rng.below(3) == 0 {
                    port_set(&mut rng)
                } else {
                    PortSet::default()
                },
                local_port: port_set(&mut rng),
                remote_port: port_set(&mut rng),
                local_addr: cidr_list(&mut rng),
                remote_addr: cidr_list(&mut rng),
                // A dump split in two halves, sometimes around an edge port.
                half: (rng.below(3) == 0).then(|| crate::model::Half {
                    at: rng.pick(&EDGE_PORTS),
                    upper: rng.below(2) == 0,
                }),
                ..Filter::default()
            };
            let mut records: Vec<_> = (0..150).map(|_| random_record(&mut rng, &filter)).collect();
            // Every pool address on both sides, so each network meets its edges.
            for (family, pool) in [(Family::V4, &V4_POOL[..]), (Family::V6, &V6_POOL[..])] {
                for (i, a) in pool.iter().enumerate() {
                    let b = pool[(i + 1) % pool.len()];
                    let r = random_record(&mut rng, &filter);
                    records.push(record(family, a, r.local_port, b, r.remote_port));
                    records.push(record(family, b, r.local_port, a, r.remote_port));
                }
            }
            programs += Family::ALL
                .iter()
                .filter(|&&f| compile(&filter, f).is_some())
                .count();
            check(&filter, &records);
        }
        assert!(
            programs > 3000,
            "most filters compile to a program ({programs})"
        );
    }

    /// The two halves of a split dump hold every socket once, in the kernel as in user space.
    #[test]
    fn the_two_halves_of_a_dump_are_disjoint_and_complete() {
        let mut rng = Rng(7);
        for ephemeral in [
            (32768, 60999),
            (1024, 65535),
            (0, 0),
            (65535, 65535),
            (40000, 40001),
        ] {
            let [lower, upper] = crate::model::Half::split(ephemeral).map(|half| Filter {
                half: Some(half),
                ..Filter::default()
            });
            let records: Vec<_> = (0..2000)
                .map(|_| random_record(&mut rng, &Filter::default()))
                .collect();
            for r in &records {
                assert!(lower.matches(r) != upper.matches(r), "{ephemeral:?} {r:?}");
            }
            check(&lower, &records);
            check(&upper, &records);
        }
    }

    #[test]
    fn edge_cases_by_hand() {
        let records = [
            record(Family::V4, "10.0.0.1", 0, "10.1.2.3", 65535),
            record(Family::V4, "10.0.0.1", 65535, "10.1.2.3", 0),
            record(Family::V4, "127.0.0.1", 5432, "127.0.0.1", 40000),
            record(Family::V4, "127.0.0.1", 40000, "127.0.0.1", 5432),
            record(Family::V6, "::ffff:10.0.0.1", 1, "::ffff:10.1.2.3", 65534),
            record(Family::V6, "::1", 5432, "::1", 40000),
            record(Family::V6, "::", 5432, "::", 0),
            record(Family::V6, "2001:db8::1", 80, "2001:db8:1::5", 1),
        ];
        let filters = [
            "--dport 5432",
            "--sport 5432",
            "--port 5432",
            "--port 0",
            "--port 65535",
            "--sport 0-1 --dport 65534-65535",
            "--port 1-65534",
            "--sport 0-65535",
            "--src 10.0.0.0/8",
            "--src 10.0.0.0/8 --port 1",
            "--dst 0.0.0.0/0",
            "--dst ::/0",
            "--src ::ffff:10.0.0.0/104",
            "--src ::ffff:0:0/96",
            "--src 127.0.0.1,::1 --sport 5432",
            "--dst 2001:db8::/32 --src 2001:db8::1",
        ];
        for text in filters {
            let mut filter = Filter::default();
            let words: Vec<&str> = text.split_whitespace().collect();
            for pair in words.chunks(2) {
                let value = pair[1];
                let list = || {
                    value
                        .split(',')
                        .map(|c| Cidr::parse(c).expect("cidr"))
                        .collect()
                };
                match pair[0] {
                    "--port" => filter.any_port = PortSet::parse(value).expect("ports"),
                    "--sport" => filter.local_port = PortSet::parse(value).expect("ports"),
                    "--dport" => filter.remote_port = PortSet::parse(value).expect("ports"),
                    "--src" => filter.local_addr = list(),
                    "--dst" => filter.remote_addr = list(),
                    other => panic!("{other}"),
                }
            }
            check(&filter, &records);
        }
    }

    #[test]
    fn the_interpreter_and_audit_can_say_no() {
        // Guards against a test port that accepts everything.
        let accept_all = op(JMP, 4, 4);
        audit(&accept_all).expect("JMP to the end is valid");
        let r = record(Family::V6, "::1", 1, "::1", 2);
        assert!(run(&accept_all, &Entry::of(&r)));
        // A jump into an operand, a jump past end + 4, a short program, an unknown op.
        let mut bad = op(S_EQ, 8, 8);
        bad.extend(op(0, 0, 1));
        bad.extend(op(D_EQ, 8, 4));
        bad.extend(op(0, 0, 2));
        assert!(audit(&bad).is_err(), "no = 4 is shorter than the op");
        let mut bad = op(S_EQ, 8, 16);
        bad.extend(op(0, 0, 1));
        assert!(audit(&bad).is_err(), "no past end + 4");
        assert!(audit(&[1, 4]).is_err());
        assert!(audit(&op(99, 4, 8)).is_err());
        let mut into_operand = op(S_EQ, 8, 12);
        into_operand.extend(op(0, 0, 1));
        into_operand.extend(op(D_EQ, 8, 12));
        into_operand.extend(op(0, 0, 2));
        into_operand[2..4].copy_from_slice(&12u16.to_ne_bytes());
        assert!(
            audit(&into_operand).is_err(),
            "no = 12 lands on D_EQ's operand"
        );
    }
}
