//! `/proc/net/tcp` and `/proc/net/tcp6`: the fallback socket source.
//!
//! Owns: reading the two tables in large chunks and a streaming line parser
//! ([`parse_line`]) that allocates nothing per socket. One odd line never takes the table
//! down: unknown state values become UNKNOWN records, malformed lines are counted and reported
//! (file and line number) and the run is marked incomplete.
//!
//! Format (`net/ipv4/tcp_ipv4.c` `get_tcp4_sock`, `net/ipv6/tcp_ipv6.c` `get_tcp6_sock`):
//! `sl: local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...`.
//! Addresses are the raw `__be32` words printed with `%08X` as host-order integers (so the
//! bytes come back with `to_ne_bytes`); ports are `%04X` of the host-order port.
//! /proc never lists bound-only sockets, so it cannot see CLOSED (see
//! [`crate::model::source::PROC_COVERS`]).

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::model::source::PROC_COVERS;
use crate::model::{
    Family, Filter, Outcome, Sink, SocketRecord, SourceKind, StateCounts, TcpState, TimerKind,
};

/// Read size: the kernel's seq_file hands out whole rows per read; big reads mean few syscalls.
const CHUNK: usize = 256 * 1024;
/// `USER_HZ`: /proc prints timer expiry in clock ticks of 1/100 s.
const MS_PER_TICK: u64 = 10;

/// Why a line could not be read as a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError(pub &'static str);

/// Counters of one table scan.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanStats {
    pub rows: u64,
    /// Rows the kernel printed twice (see [`scan_table`]); dropped.
    pub repeated: u64,
    pub malformed: u64,
    /// Line number and reason of the first malformed line.
    pub first_malformed: Option<(u64, &'static str)>,
}

/// Collects the filter's families from `<proc_root>/net/tcp{,6}`.
pub fn collect(proc_root: &Path, filter: &Filter, sink: &mut dyn Sink) -> Result<Outcome, Error> {
    collect_opened(filter, sink, |family| {
        let path = table_path(proc_root, family);
        let file = File::open(&path);
        (path, file)
    })
}

/// Collects the filter's families from tables that `open` opens, by family: its path (for
/// messages) and the open result. A namespace entered on a helper thread has its tables
/// opened there.
pub fn collect_opened(
    filter: &Filter,
    sink: &mut dyn Sink,
    mut open: impl FnMut(Family) -> (PathBuf, io::Result<File>),
) -> Result<Outcome, Error> {
    let mut outcome = Outcome::new(SourceKind::Proc, PROC_COVERS);
    let opened: Vec<(Family, PathBuf, io::Result<File>)> = filter
        .families
        .iter()
        .map(|&family| {
            let (path, file) = open(family);
            (family, path, file)
        })
        .collect();
    // A sink that only counts can take the families from two threads: the kernel prints
    // each table on the reading thread (most of the cost), so two cores print both at once.
    if let ([v4, v6], Some(counts)) = (opened.as_slice(), sink.counts_mut()) {
        if v4.0 == Family::V4 && v6.0 == Family::V6 && parallel() {
            let mut opened = opened.into_iter();
            let (Some(first), Some(second)) = (opened.next(), opened.next()) else {
                unreachable!("two tables");
            };
            let mut side = StateCounts::new();
            let (main, other) = std::thread::scope(|scope| {
                let helper = std::thread::Builder::new()
                    .name("tcpstat-proc".into())
                    .spawn_scoped(scope, || {
                        let mut part = Outcome::new(SourceKind::Proc, PROC_COVERS);
                        let mut buf = vec![0; CHUNK];
                        scan_family(second, filter, &mut side, &mut buf, &mut part).map(|()| part)
                    });
                let mut buf = vec![0; CHUNK];
                let main = scan_family(first, filter, counts, &mut buf, &mut outcome);
                let other = match helper {
                    Ok(handle) => handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    Err(e) => Err(Error::ProcRead {
                        path: PathBuf::from("(thread)"),
                        source: e,
                    }),
                };
                (main, other)
            });
            main?;
            let other = other?;
            counts.merge(&side);
            outcome.complete &= other.complete;
            outcome.warnings.extend(other.warnings);
            return Ok(outcome);
        }
    }
    let mut buf = vec![0; CHUNK];
    for table in opened {
        scan_family(table, filter, sink, &mut buf, &mut outcome)?;
    }
    Ok(outcome)
}

/// True when a second core can take part of a collection.
pub(crate) fn parallel() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// Scans one opened table into `sink`, saying in `outcome` what it could not read.
fn scan_family(
    (family, path, opened): (Family, PathBuf, io::Result<File>),
    filter: &Filter,
    sink: &mut dyn Sink,
    buf: &mut [u8],
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let file = match opened {
        Ok(file) => file,
        // No tcp6 table: the kernel has IPv6 disabled or not built in. There are no IPv6
        // sockets to count, but say so instead of printing a silent zero.
        Err(e) if e.kind() == io::ErrorKind::NotFound && family == Family::V6 => {
            outcome.warnings.push(format!(
                "{} does not exist (IPv6 disabled?): no IPv6 sockets counted",
                path.display()
            ));
            return Ok(());
        }
        Err(source) => return Err(Error::ProcRead { path, source }),
    };
    let stats = scan_table(file, family, &path, filter, sink, buf)?;
    if stats.repeated > 0 {
        // Repeats mean the table moved under the read: rows may also have been skipped.
        outcome.complete = false;
        outcome.warnings.push(format!(
            "{}: the table changed while it was read; {} repeated row(s) dropped, and rows \
             may have been missed (/proc is not read atomically; netlink is)",
            path.display(),
            stats.repeated
        ));
    }
    if stats.malformed > 0 {
        outcome.complete = false;
        let (line, why) = stats.first_malformed.unwrap_or((0, "?"));
        outcome.warnings.push(format!(
            "{}: {} malformed line(s) skipped, those sockets are not counted (first: line \
             {line}, {why})",
            path.display(),
            stats.malformed
        ));
    }
    Ok(())
}

/// The table of one family under a proc root.
pub fn table_path(proc_root: &Path, family: Family) -> PathBuf {
    proc_root.join(match family {
        Family::V4 => "net/tcp",
        Family::V6 => "net/tcp6",
    })
}

/// Streams one table through `sink` with a fixed-size buffer.
///
/// The kernel does not print the table atomically: each `read` gets about a page of rows and
/// the next one resumes by position (`tcp_seek_last_pos`), so a socket created or closed
/// between two reads can shift rows and make the kernel print some twice (measured: 2-20
/// extra rows in one read of 300 out of four while connections churned) or skip some. Repeats
/// are detectable: no two sockets share family, both endpoints and inode. The kernel resumes
/// at (hash bucket, offset in that bucket) (`tcp_seek_last_pos`), so a repeated row comes
/// from the bucket it was in when the previous read stopped: it is among the last rows
/// printed, never far back. So only the keys of the last [`REPEAT_WINDOW`] rows are kept
/// (far more than any bucket chain holds), which keeps memory fixed instead of 8 bytes per
/// socket and lookups in cache; a repeat is dropped and counted. Skips are not detectable;
/// netlink dumps do not have this problem.
pub fn scan_table(
    mut reader: impl Read,
    family: Family,
    path: &Path,
    filter: &Filter,
    sink: &mut dyn Sink,
    buf: &mut [u8],
) -> Result<ScanStats, Error> {
    let read_error = |source| Error::ProcRead {
        path: path.to_path_buf(),
        source,
    };
    let mut stats = ScanStats::default();
    // Keys are already hashes (with per-run random keys, so nobody can aim collisions at
    // them): the set uses them as they are.
    let keys = RandomState::new();
    let mut seen = RecentKeys::default();
    let mut filled = 0;
    let mut line_no = 0u64;
    let mut eof = false;
    while !eof {
        let n = loop {
            match reader.read(&mut buf[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(e)),
            }
        };
        eof = n == 0;
        filled += n;
        let mut start = 0;
        // At the end, a last line without its newline is still a line (and likely truncated).
        while let Some(end) = find_byte(&buf[start..filled], b'\n')
            .map(|i| start + i)
            .or_else(|| (eof && start < filled).then_some(filled))
        {
            line_no += 1;
            let line = &buf[start..end];
            // The kernel ends every row with a newline: a last row without one was cut off
            // (a short read, a truncated recording), even if what is left still parses (a
            // row cut inside its inode field does).
            let cut_off = end == filled;
            start = (end + 1).min(filled);
            if line_no == 1 {
                check_header(line, path)?;
                continue;
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if cut_off && line_no > 1 {
                stats.malformed += 1;
                stats
                    .first_malformed
                    .get_or_insert((line_no, "the last line has no newline (cut off)"));
                break;
            }
            match parse_line(line, family) {
                Ok(record) => {
                    stats.rows += 1;
                    if !seen.insert(row_key(&keys, &record)) {
                        stats.repeated += 1;
                    } else if filter.matches(&record) {
                        sink.record(&record);
                    }
                }
                Err(LineError(why)) => {
                    stats.malformed += 1;
                    stats.first_malformed.get_or_insert((line_no, why));
                }
            }
            if start >= filled {
                break;
            }
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            return Err(Error::ProcHeader {
                path: path.to_path_buf(),
                detail: format!("line {} is longer than {} bytes", line_no + 1, buf.len()),
            });
        }
    }
    if line_no == 0 {
        return Err(Error::ProcHeader {
            path: path.to_path_buf(),
            detail: "the file is empty (expected a header line)".into(),
        });
    }
    Ok(stats)
}

/// How many recent rows are checked for repeats (see [`scan_table`]).
pub const REPEAT_WINDOW: usize = 4096;

/// The keys of the last [`REPEAT_WINDOW`] rows.
#[derive(Default)]
struct RecentKeys {
    set: HashSet<u64, BuildHasherDefault<Prehashed>>,
    order: std::collections::VecDeque<u64>,
}

impl RecentKeys {
    /// False when `key` is among the recent rows (a repeat).
    fn insert(&mut self, key: u64) -> bool {
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > REPEAT_WINDOW {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

/// A 64-bit digest of what identifies a row: family, both endpoints, inode (one `write` of
/// their bytes, not one per field).
fn row_key(keys: &RandomState, r: &SocketRecord) -> u64 {
    let mut bytes = [0u8; 45];
    bytes[0] = r.family as u8;
    let octets = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    bytes[1..17].copy_from_slice(&octets(r.local));
    bytes[17..19].copy_from_slice(&r.local_port.to_ne_bytes());
    bytes[19..35].copy_from_slice(&octets(r.remote));
    bytes[35..37].copy_from_slice(&r.remote_port.to_ne_bytes());
    bytes[37..45].copy_from_slice(&r.inode.to_ne_bytes());
    let mut h = keys.build_hasher();
    h.write(&bytes);
    h.finish()
}

/// The hasher of a set whose keys are already hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys go in; fold anything else rather than drop it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

fn check_header(line: &[u8], path: &Path) -> Result<(), Error> {
    let ok = line
        .windows(b"local_address".len())
        .any(|w| w == b"local_address");
    if ok {
        Ok(())
    } else {
        Err(Error::ProcHeader {
            path: path.to_path_buf(),
            detail: format!(
                "line 1 is not the header ({:?})",
                String::from_utf8_lossy(&line[..line.len().min(60)])
            ),
        })
    }
}

/// Parses one row of `/proc/net/tcp` (`family` V4) or `/proc/net/tcp6` (V6).
pub fn parse_line(line: &[u8], family: Family) -> Result<SocketRecord, LineError> {
    parse_line_with(line, family, true)
}

/// [`parse_line`], with or without the positional fast path (tests compare the two).
fn parse_line_with(line: &[u8], family: Family, fast: bool) -> Result<SocketRecord, LineError> {
    let mut fields = Fields(line);
    let mut next = |what: &'static str| fields.next().ok_or(LineError(what));
    let slot = next("missing slot number")?;
    if slot.last() != Some(&b':') {
        return Err(LineError("first field is not a slot number"));
    }
    let (local, local_port, remote, remote_port, raw_state, tx, rx, timer, when) =
        if let Some((fixed, rest)) = fixed_fields(fields.0, family).filter(|_| fast) {
            // The kernel's own layout, read by position; the rest is tokenised as usual.
            fields.0 = rest;
            fixed
        } else {
            let mut next = |what: &'static str| fields.next().ok_or(LineError(what));
            let (local, local_port) = parse_endpoint(next("missing local address")?, family)?;
            let (remote, remote_port) = parse_endpoint(next("missing remote address")?, family)?;
            let raw_state =
                u8::try_from(hex(next("missing state")?).ok_or(LineError("bad state"))?)
                    .map_err(|_| LineError("state out of range"))?;
            let (tx, rx) =
                pair(next("missing queues")?).ok_or(LineError("bad tx_queue:rx_queue"))?;
            let (timer, when) = pair(next("missing timer")?).ok_or(LineError("bad tr:tm->when"))?;
            (
                local,
                local_port,
                remote,
                remote_port,
                raw_state,
                tx,
                rx,
                timer,
                when,
            )
        };
    let mut next = |what: &'static str| fields.next().ok_or(LineError(what));
    let _retransmits = next("missing retrnsmt")?;
    let uid = decimal(next("missing uid")?).ok_or(LineError("bad uid"))?;
    let _timeout = next("missing timeout")?;
    let inode = decimal(next("missing inode")?).ok_or(LineError("bad inode"))?;
    let timer = TimerKind::from_kernel(u8::try_from(timer).map_err(|_| LineError("bad timer"))?);
    let state = TcpState::from_kernel(raw_state);
    Ok(SocketRecord {
        family,
        state,
        raw_state,
        local,
        local_port,
        remote,
        remote_port,
        recv_q: u32::try_from(rx).map_err(|_| LineError("rx_queue out of range"))?,
        send_q: u32::try_from(tx).map_err(|_| LineError("tx_queue out of range"))?,
        // A listener's line has its send queue (0) where netlink has the backlog.
        send_q_known: state != crate::model::KernelState::Known(TcpState::Listen),
        uid: u32::try_from(uid).map_err(|_| LineError("uid out of range"))?,
        inode,
        timer,
        timer_ms: if timer == TimerKind::None {
            0
        } else {
            when.saturating_mul(MS_PER_TICK)
        },
        cookie: 0,
        netns: 0,
        // /proc/net/tcp has no cgroup: owners' /proc/PID/cgroup stand in (workloads).
        cgroup_id: 0,
    })
}

/// Endpoints, state, queues and timer, as [`parse_line`] reads them field by field.
type FixedFields = (IpAddr, u16, IpAddr, u16, u8, u64, u64, u64, u64);

/// The fields after the slot number when they are exactly as the kernel prints them
/// (`get_tcp4_sock` / `get_tcp6_sock`: `" %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX "`,
/// with 32 address digits for IPv6), read by position instead of token by token. Returns the
/// values and the rest of the line (from the retransmit count on), or `None` for anything else
/// (then the general path reads the line and says what is wrong with it). Same values as the
/// general path: every byte checked here is a digit or the separator the tokeniser would
/// have split on.
fn fixed_fields(line: &[u8], family: Family) -> Option<(FixedFields, &[u8])> {
    let a = match family {
        Family::V4 => 8,
        Family::V6 => 32,
    };
    let end = 46 + 2 * a;
    let f = line.get(..end)?;
    let separators = [
        (0, b' '),
        (1 + a, b':'),
        (6 + a, b' '),
        (7 + 2 * a, b':'),
        (12 + 2 * a, b' '),
        (15 + 2 * a, b' '),
        (24 + 2 * a, b':'),
        (33 + 2 * a, b' '),
        (36 + 2 * a, b':'),
        (45 + 2 * a, b' '),
    ];
    if separators.iter().any(|&(at, sep)| f[at] != sep) {
        return None;
    }
    let local = address(&f[1..1 + a], family)?;
    let local_port = hex_exact(&f[2 + a..6 + a])? as u16;
    let remote = address(&f[7 + a..7 + 2 * a], family)?;
    let remote_port = hex_exact(&f[8 + 2 * a..12 + 2 * a])? as u16;
    let state = hex_exact(&f[13 + 2 * a..15 + 2 * a])? as u8;
    let tx = hex_exact(&f[16 + 2 * a..24 + 2 * a])?;
    let rx = hex_exact(&f[25 + 2 * a..33 + 2 * a])?;
    let timer = hex_exact(&f[34 + 2 * a..36 + 2 * a])?;
    let when = hex_exact(&f[37 + 2 * a..45 + 2 * a])?;
    Some((
        (
            local,
            local_port,
            remote,
            remote_port,
            state,
            tx,
            rx,
            timer,
            when,
        ),
        &line[end..],
    ))
}

/// Whitespace-separated fields of a line (what `split` + `filter(non-empty)` gives, in one
/// pass over the bytes).
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0;
        let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        let len = rest[start..]
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(rest.len() - start);
        self.0 = &rest[start + len..];
        Some(&rest[start..start + len])
    }
}

/// `0100007F:1F90` (v4) or 32 hex digits `:port` (v6).
fn parse_endpoint(field: &[u8], family: Family) -> Result<(IpAddr, u16), LineError> {
    // The kernel's own rows: exactly 8 or 32 digits, a colon, 4 digits.
    let addr_len = match family {
        Family::V4 => 8,
        Family::V6 => 32,
    };
    if field.len() == addr_len + 5 && field[addr_len] == b':' {
        if let (Some(port), Some(ip)) = (
            hex_exact(&field[addr_len + 1..]),
            address(&field[..addr_len], family),
        ) {
            return Ok((ip, port as u16));
        }
    }
    // Anything else, or a bad digit: the general path says what is wrong.
    let colon = field
        .iter()
        .position(|&b| b == b':')
        .ok_or(LineError("address without port"))?;
    let (addr, port) = (&field[..colon], &field[colon + 1..]);
    if port.len() != 4 {
        return Err(LineError("bad port"));
    }
    let port = u16::try_from(hex(port).ok_or(LineError("bad port"))?)
        .map_err(|_| LineError("bad port"))?;
    let word = |chunk: &[u8]| -> Result<[u8; 4], LineError> {
        let value = u32::try_from(hex(chunk).ok_or(LineError("bad address"))?)
            .map_err(|_| LineError("bad address"))?;
        Ok(value.to_ne_bytes())
    };
    let ip = match (family, addr.len()) {
        (Family::V4, 8) => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        (Family::V6, 32) => {
            let mut octets = [0; 16];
            for (i, chunk) in addr.chunks(8).enumerate() {
                octets[i * 4..i * 4 + 4].copy_from_slice(&word(chunk)?);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => {
            return Err(LineError(
                "address length does not match the table's family",
            ))
        }
    };
    Ok((ip, port))
}

/// The address of an endpoint whose digits are all valid: 8 (v4) or 32 (v6) hex digits, each
/// group of 8 a `__be32` printed as a host-order integer.
fn address(digits: &[u8], family: Family) -> Option<IpAddr> {
    let word = |chunk: &[u8]| hex_exact(chunk).map(|v| (v as u32).to_ne_bytes());
    match family {
        Family::V4 => Some(IpAddr::V4(Ipv4Addr::from(word(digits)?))),
        Family::V6 => {
            let mut octets = [0; 16];
            for (i, chunk) in digits.chunks_exact(8).enumerate() {
                octets[i * 4..i * 4 + 4].copy_from_slice(&word(chunk)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
    }
}

/// `AAAAAAAA:BBBBBBBB` as two hex numbers.
fn pair(field: &[u8]) -> Option<(u64, u64)> {
    let colon = field.iter().position(|&b| b == b':')?;
    Some((hex(&field[..colon])?, hex(&field[colon + 1..])?))
}

/// Value of each byte as a hex digit (`0-9`, `a-f`, `A-F`), or `NOT_HEX`.
const HEX: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};
const NOT_HEX: u8 = 0xff;

/// 1 to 16 hex digits.
fn hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    hex_exact(digits)
}

/// Hex digits, no length check (at most 16 keep the value exact).
fn hex_exact(digits: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    let mut bad = 0u8;
    for &d in digits {
        let v = HEX[usize::from(d)];
        // No early exit: the loop stays branch-free and the rare bad digit is found at the end.
        bad |= v & 0x80;
        value = value << 4 | u64::from(v & 0x0f);
    }
    (bad == 0).then_some(value)
}

fn decimal(digits: &[u8]) -> Option<u64> {
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

/// Position of the first `byte` in `hay`, a word at a time (a row is ~150 bytes).
fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    const LO: u64 = u64::from_ne_bytes([0x01; 8]);
    const HI: u64 = u64::from_ne_bytes([0x80; 8]);
    let pattern = u64::from_ne_bytes([byte; 8]);
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word) ^ pattern;
        // Some byte of x is zero.
        if x.wrapping_sub(LO) & !x & HI != 0 {
            return chunk.iter().position(|&b| b == byte).map(|i| at + i);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KernelState;

    // Recorded from a Linux 6.18 host (x86_64, little-endian).
    const TCP4: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21915 1 0000000000000000 100 0 0 10 0                     
   1: 0100007F:9C40 0100007F:0CEA 08 00000000:00000001 00:00000000 00000000  1000        0 33417 1 0000000000000000 20 4 30 10 -1                    
   2: 0100007F:0CEA 0100007F:9C42 06 00000000:00000000 03:00001720 00000000     0        0 0 3 0000000000000000                                      
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000005 00:00000000 00000000     0        0 44021 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:B3A2 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 02:000AFB9C 00000000  1000        0 44100 1 0000000000000000 20 4 30 10 -1
   2: B80D0120000000000000000001000000:0050 B80D0120000000000000000002000000:D431 01 00000010:00000000 01:00000014 00000000  1000        0 44101 1 0000000000000000 20 4 30 10 -1
";

    /// The sink that keeps every record: the same one `list --sort` uses.
    use crate::model::Snapshot as Collect;

    fn scan(
        text: &str,
        family: Family,
        chunk: usize,
    ) -> Result<(ScanStats, Vec<SocketRecord>), Error> {
        let mut sink = Collect::default();
        let mut buf = vec![0; chunk];
        let stats = scan_table(
            text.as_bytes(),
            family,
            Path::new("/proc/net/tcp"),
            &Filter::default(),
            &mut sink,
            &mut buf,
        )?;
        Ok((stats, sink.0))
    }

    #[test]
    fn parses_recorded_ipv4_rows() {
        let (stats, rows) = scan(TCP4, Family::V4, CHUNK).expect("parses");
        assert_eq!(stats.rows, 3);
        assert_eq!(stats.malformed, 0);
        let listen = &rows[0];
        assert_eq!(listen.state, KernelState::Known(TcpState::Listen));
        assert_eq!(listen.local.to_string(), "127.0.0.1");
        assert_eq!(listen.local_port, 3306);
        assert_eq!(listen.inode, 21915);
        assert_eq!(listen.reported_send_q(), None, "/proc shows no backlog");
        let cw = &rows[1];
        assert_eq!(cw.reported_send_q(), Some(0));
        assert_eq!(cw.state, KernelState::Known(TcpState::CloseWait));
        assert_eq!(
            (cw.local_port, cw.remote_port, cw.uid, cw.recv_q),
            (40000, 3306, 1000, 1)
        );
        let tw = &rows[2];
        assert_eq!(tw.state, KernelState::Known(TcpState::TimeWait));
        assert_eq!(tw.timer, TimerKind::TimeWait);
        assert_eq!(tw.timer_ms, 0x1720 * 10);
        assert_eq!(tw.inode, 0);
    }

    #[test]
    fn parses_recorded_ipv6_rows_in_the_right_byte_order() {
        let (stats, rows) = scan(TCP6, Family::V6, CHUNK).expect("parses");
        assert_eq!(stats.rows, 3);
        assert_eq!(rows[0].local.to_string(), "::1");
        assert_eq!(rows[0].local_port, 8080);
        assert_eq!(rows[0].recv_q, 5);
        assert_eq!(rows[1].local.to_string(), "::ffff:127.0.0.1");
        assert_eq!(rows[1].timer, TimerKind::KeepAlive);
        assert_eq!(rows[2].local.to_string(), "2001:db8::1");
        assert_eq!(rows[2].remote.to_string(), "2001:db8::2");
        assert_eq!(rows[2].remote_port, 0xD431);
        assert_eq!(rows[2].send_q, 0x10);
    }

    #[test]
    fn tiny_chunks_give_the_same_rows() {
        let (_, whole) = scan(TCP6, Family::V6, CHUNK).expect("parses");
        let (_, tiny) = scan(TCP6, Family::V6, 200).expect("parses");
        assert_eq!(whole, tiny);
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_an_error_not_a_hang() {
        let err = scan(TCP6, Family::V6, 64).expect_err("too long");
        assert!(err.to_string().contains("longer than 64 bytes"), "{err}");
    }

    #[test]
    fn unknown_state_values_become_unknown_records() {
        let text = TCP4.replace(" 0A 0000", " 2A 0000");
        let (stats, rows) = scan(&text, Family::V4, CHUNK).expect("parses");
        assert_eq!(stats.malformed, 0);
        assert_eq!(rows[0].state, KernelState::Unknown(0x2A));
        assert_eq!(rows.len(), 3, "the rest of the table still counts");
    }

    #[test]
    fn malformed_lines_are_counted_with_their_line_number() {
        let mut text = TCP4.to_string();
        text.push_str("   3: garbage\n");
        text.push_str("   4: 0100007F:0CEA 00000000:0000 1FF 00000000:00000000 00:00000000 00000000 0 0 1 1\n");
        let (stats, rows) = scan(&text, Family::V4, CHUNK).expect("parses");
        assert_eq!(rows.len(), 3);
        assert_eq!(stats.malformed, 2);
        assert_eq!(stats.first_malformed, Some((5, "address without port")));
    }

    #[test]
    fn the_repeat_window_forgets_old_rows_and_keeps_memory_fixed() {
        let mut recent = RecentKeys::default();
        for key in 0..(REPEAT_WINDOW as u64 * 3) {
            assert!(recent.insert(key));
            assert!(!recent.insert(key), "an immediate repeat is caught");
        }
        assert_eq!(recent.set.len(), REPEAT_WINDOW);
        assert!(recent.insert(0), "rows far back are forgotten");
    }

    #[test]
    fn rows_repeated_by_the_kernel_are_dropped_and_counted() {
        let mut text = TCP4.to_string();
        let repeated = TCP4.lines().nth(2).expect("row");
        text.push_str(repeated);
        text.push('\n');
        let (stats, rows) = scan(&text, Family::V4, CHUNK).expect("parses");
        assert_eq!(rows.len(), 3);
        assert_eq!(stats.repeated, 1);
        assert_eq!(stats.rows, 4);
    }

    #[test]
    fn counts_from_two_threads_equal_counts_from_one() {
        // The recorded fixtures, both families: a counting sink reads them on two threads, a
        // keeping sink on one; the counts and warnings must not differ.
        for name in [
            "proc-recorded",
            "proc-unknown",
            "proc-malformed",
            "proc-no-tcp6",
        ] {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name);
            let mut counts = StateCounts::new();
            let two = collect(&root, &Filter::default(), &mut counts).expect("reads");
            let mut kept = Collect::default();
            let one = collect(&root, &Filter::default(), &mut kept).expect("reads");
            let mut expected = StateCounts::new();
            for r in &kept.0 {
                expected.record(r);
            }
            assert_eq!(counts, expected, "{name}");
            assert_eq!(two.warnings, one.warnings, "{name}");
            assert_eq!(two.complete, one.complete, "{name}");
        }
    }

    #[test]
    fn truncated_last_line_is_malformed_not_silent() {
        let cut = &TCP4[..TCP4.len() - 60];
        let (stats, rows) = scan(cut, Family::V4, CHUNK).expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(stats.malformed, 1);
    }

    #[test]
    fn a_last_line_cut_inside_its_inode_is_not_counted_even_though_it_parses() {
        // The header, row 0, then row 1 cut inside its inode (33417 -> 3341): every field is
        // still there, so only the missing newline tells.
        let row1 = TCP4.lines().nth(2).expect("row 1");
        let keep = row1.find(" 33417 ").expect("inode") + " 3341".len();
        let cut_row = &row1[..keep];
        assert!(
            parse_line(cut_row.as_bytes(), Family::V4).is_ok(),
            "still parses"
        );
        let text = format!(
            "{}\n{}\n{cut_row}",
            TCP4.lines().next().expect("header"),
            TCP4.lines().nth(1).expect("row 0")
        );
        let (stats, rows) = scan(&text, Family::V4, CHUNK).expect("parses");
        assert_eq!(rows.len(), 1, "the cut row is not counted");
        assert_eq!(stats.malformed, 1);
        assert_eq!(
            stats.first_malformed.map(|m| m.1),
            Some("the last line has no newline (cut off)")
        );
    }

    #[test]
    fn empty_file_and_wrong_header_are_errors() {
        let err = scan("", Family::V4, CHUNK).expect_err("empty");
        assert!(err.to_string().contains("empty"), "{err}");
        let err = scan("hello\n", Family::V4, CHUNK).expect_err("header");
        assert!(err.to_string().contains("not the header"), "{err}");
    }

    #[test]
    fn wrong_family_address_is_malformed() {
        let line = TCP6.lines().nth(1).expect("row").as_bytes();
        assert!(parse_line(line, Family::V4).is_err());
        let line = TCP4.lines().nth(1).expect("row").as_bytes();
        assert!(parse_line(line, Family::V6).is_err());
    }

    #[test]
    fn the_positional_fast_path_agrees_with_the_general_one() {
        let rows = TCP4
            .lines()
            .skip(1)
            .map(|l| (l, Family::V4))
            .chain(TCP6.lines().skip(1).map(|l| (l, Family::V6)));
        let mut checked = 0;
        for (row, family) in rows {
            let row = row.as_bytes();
            assert!(
                fixed_fields(&row[5..], family).is_some(),
                "the recorded rows take it"
            );
            // Every byte of the row replaced by a few interesting ones, and every cut.
            for at in 0..row.len() {
                for b in [b' ', b':', b'0', b'f', b'F', b'g', b'\t', b'-', 0xff] {
                    let mut bad = row.to_vec();
                    bad[at] = b;
                    for other in [Family::V4, Family::V6] {
                        assert_eq!(
                            parse_line_with(&bad, other, true),
                            parse_line_with(&bad, other, false),
                            "{:?} as {other:?}",
                            String::from_utf8_lossy(&bad)
                        );
                        checked += 1;
                    }
                }
                assert_eq!(
                    parse_line_with(&row[..at], family, true),
                    parse_line_with(&row[..at], family, false)
                );
            }
        }
        assert!(checked > 10_000);
    }

    #[test]
    fn every_field_is_checked() {
        let good = TCP4.lines().nth(2).expect("row");
        assert!(parse_line(good.as_bytes(), Family::V4).is_ok());
        let fields: Vec<&str> = good.split_whitespace().collect();
        for cut in 1..10 {
            let short = fields[..cut].join(" ");
            assert!(parse_line(short.as_bytes(), Family::V4).is_err(), "{short}");
        }
        for (i, bad) in [
            (1, "0100007G:0CEA"),
            (3, "XY"),
            (4, "0:"),
            (7, "-1"),
            (9, "12a"),
        ] {
            let mut f = fields.clone();
            f[i] = bad;
            assert!(
                parse_line(f.join(" ").as_bytes(), Family::V4).is_err(),
                "{i} {bad}"
            );
        }
    }
}
