//! `tcpstat list`: one row per socket, written as it arrives.
//!
//! Owns: the streaming row writer for the table, JSON and NDJSON formats, and their wire
//! types. Nothing is kept per row: each socket is formatted into one reused buffer and
//! written, so 100k rows never cost 100k formatted rows of memory (comfy-table would, and
//! would print nothing until the end). Columns have fixed minimum widths and grow for longer
//! values instead of truncating them: an address is never cut.
//!
//! JSON is one object whose `sockets` array is written row by row: the keys known at the
//! start ([`Header`]) come before it, those known only at the end (`total` and the
//! [`Footer`]: source, completeness, namespaces) after it. NDJSON is one `socket` line per
//! row and one `end` line with the same closing keys.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;

use super::detail::{self, MemoryJson, TcpInfoJson};
use super::json::WorkloadJson;
use super::json::{Footer, Header, SCHEMA_VERSION};
use super::text::escape;
use crate::model::netns::NetnsView;
use crate::model::workload::Workload;
use crate::model::{
    Extensions, Family, KernelState, Outcome, SocketDetail, SocketRecord, TimerKind,
};

/// Output format of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Table { header: bool },
    Json,
    Ndjson,
}

/// What is known of a socket's owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners<'a> {
    /// Owners were not asked for (no `-p`).
    NotResolved,
    /// The processes holding the socket (empty: none found, e.g. no file).
    Found(&'a [OwnerRef<'a>]),
    /// Not found while some processes could not be read: probably one of those.
    Hidden,
    /// A connection its listening process has not accept()ed yet: no process holds it
    /// (`aggregate::is_not_accepted`). JSON shows it as no owners, as before.
    NotAccepted,
}

/// An owner of a socket as the list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerRef<'a> {
    pub pid: u32,
    pub command: &'a str,
}

/// Column widths: the widest common value, so most rows line up; wider values push the row.
const STATE_W: usize = 11;
const ADDR_W: usize = 22;
const QUEUE_W: usize = 7;
const USER_W: usize = 9;
const INODE_W: usize = 9;

/// Writes `ADDR:PORT` the way ss does: IPv6 in brackets, port 0 as `*`.
pub fn write_endpoint(buf: &mut String, ip: IpAddr, port: u16) {
    match ip {
        // Four small numbers: cheaper by hand than through `Display` (a million rows).
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf.push('.');
                }
                push_u64(buf, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(buf, "[{v6}]");
        }
    }
    if port == 0 {
        buf.push_str(":*");
    } else {
        buf.push(':');
        push_u64(buf, u64::from(port));
    }
}

/// Appends `value` in decimal (what `write!(buf, "{value}")` does, without the formatting
/// machinery).
fn push_u64(buf: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        buf.push(char::from(d));
    }
}

/// Appends `value` right-aligned in `width` columns (`{value:>width$}`).
fn push_u64_right(buf: &mut String, value: u64, width: usize) {
    let len = value.checked_ilog10().map_or(1, |l| l as usize + 1);
    buf.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    push_u64(buf, value);
}

fn timer_name(kind: TimerKind) -> &'static str {
    match kind {
        TimerKind::None => "none",
        TimerKind::Retransmit => "retransmit",
        TimerKind::KeepAlive => "keepalive",
        TimerKind::TimeWait => "timewait",
        TimerKind::ZeroWindowProbe => "probe",
        TimerKind::Other(_) => "other",
    }
}

/// `timewait:52.1s`, `keepalive:7199.9s`, `-` when no timer.
fn write_timer(buf: &mut String, record: &SocketRecord) {
    if record.timer == TimerKind::None {
        buf.push('-');
    } else {
        let _ = write!(
            buf,
            "{}:{}.{}s",
            timer_name(record.timer),
            record.timer_ms / 1000,
            record.timer_ms % 1000 / 100
        );
    }
}

fn pad(buf: &mut String, from: usize, width: usize, right: bool) {
    let text = &buf[from..];
    let len = if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    };
    if len < width {
        let fill = width - len;
        if right {
            buf.insert_str(from, &" ".repeat(fill));
        } else {
            buf.extend(std::iter::repeat_n(' ', fill));
        }
    }
}

#[derive(Serialize)]
struct TimerJson {
    kind: &'static str,
    remaining_ms: u64,
}

#[derive(Serialize)]
struct OwnerJson<'a> {
    pid: u32,
    command: &'a str,
}

/// One socket in `list --json`'s `sockets` (schema in `docs/schema/`).
#[derive(Serialize)]
struct SocketJson<'a> {
    state: String,
    state_value: u8,
    family: &'static str,
    local_address: String,
    local_port: u16,
    remote_address: String,
    remote_port: u16,
    recv_q: u32,
    /// `null` when the source does not report it: a LISTEN socket's backlog from /proc.
    send_q: Option<u32>,
    /// `null` for minisockets ([`SocketRecord::is_minisocket`]), which have no owner.
    uid: Option<u32>,
    user: Option<&'a str>,
    inode: u64,
    cookie: Option<u64>,
    timer: TimerJson,
    /// `null` when owners were not resolved (no `-p`).
    owners: Option<Vec<OwnerJson<'a>>>,
    /// True when no owner was found but some processes could not be read.
    owners_hidden: bool,
    /// The label of the socket's network namespace; only with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns_label: Option<&'a str>,
    /// Only with `-W`: the socket's workload, `null` when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    workload: Option<Option<WorkloadJson<'a>>>,
    /// Only with `-i`: the kernel's `tcp_info`, `null` when it sent none (minisockets, the
    /// /proc source).
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp_info: Option<Option<TcpInfoJson>>,
    /// Only with `-m`: the socket's memory, `null` when the kernel sent none.
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<Option<MemoryJson>>,
}

/// One `list --ndjson` line for a socket: the row, said to be one, with its schema.
#[derive(Serialize)]
struct SocketLineJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema_version: u32,
    #[serde(flatten)]
    socket: SocketJson<'a>,
}

/// What `list --json` writes after its array, and `list --ndjson` on its `end` line.
#[derive(Serialize)]
struct ClosingJson<'a> {
    /// Sockets written.
    total: u64,
    #[serde(flatten)]
    footer: Footer<'a>,
}

/// The last `list --ndjson` line.
#[derive(Serialize)]
struct EndLineJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    header: Header<'a>,
    #[serde(flatten)]
    closing: ClosingJson<'a>,
}

/// When and where a listing was taken: the keys JSON writes before the rows.
#[derive(Debug, Clone, Default)]
pub struct ListStamp {
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub hostname: Option<String>,
}

/// What JSON says after the rows, known once every namespace is read.
#[derive(Debug, Clone, Copy)]
pub struct ListEnd<'a> {
    pub outcome: &'a Outcome,
    pub netns: &'a NetnsView<'a>,
}

/// Appends a command name to the PROCESS column, escaped, and quoted when it contains what
/// the column uses as separators (`,` between owners, `/` between pid and name) or a quote or
/// whitespace: a process renamed `x,1/sshd root` would otherwise read as two owners. Inside
/// the quotes `"` is written `\"`; backslashes are already doubled by [`escape`].
pub(super) fn push_command(line: &mut String, command: &str) {
    let escaped = escape(command);
    let quote = escaped
        .chars()
        .any(|c| matches!(c, ',' | '/' | '"') || c.is_whitespace());
    if !quote {
        line.push_str(&escaped);
        return;
    }
    line.push('"');
    for c in escaped.chars() {
        if c == '"' {
            line.push('\\');
        }
        line.push(c);
    }
    line.push('"');
}

/// Streams rows in one format.
pub struct ListWriter<'w> {
    out: &'w mut dyn Write,
    format: ListFormat,
    processes: bool,
    timers: bool,
    /// `-W`: a WORKLOAD column, a `workload` key.
    workloads: bool,
    /// `-i`, `-m`: health columns and keys.
    detail: Extensions,
    /// `--all-netns`: the label of each namespace, by inode (a NETNS column, a `netns` key).
    netns: Option<HashMap<u64, String>>,
    /// Width of the NETNS column: the longest label (all are known before the first row).
    netns_w: usize,
    /// JSON's opening keys (and the NDJSON `end` line's).
    stamp: ListStamp,
    line: String,
    rows: u64,
    /// The first write error; after it, rows are dropped (a closed pipe ends the output).
    error: Option<io::Error>,
}

impl<'w> ListWriter<'w> {
    pub fn new(
        out: &'w mut dyn Write,
        format: ListFormat,
        processes: bool,
        timers: bool,
        netns: &NetnsView<'_>,
        stamp: ListStamp,
    ) -> ListWriter<'w> {
        ListWriter::with_workloads(out, format, processes, timers, false, netns, stamp)
    }

    /// As [`ListWriter::new`], with a WORKLOAD column (`-W`) when `workloads`: rows then come
    /// through [`ListWriter::row_of`].
    pub fn with_workloads(
        out: &'w mut dyn Write,
        format: ListFormat,
        processes: bool,
        timers: bool,
        workloads: bool,
        netns: &NetnsView<'_>,
        stamp: ListStamp,
    ) -> ListWriter<'w> {
        ListWriter::with_detail(
            out,
            format,
            processes,
            timers,
            workloads,
            Extensions::NONE,
            netns,
            stamp,
        )
    }

    /// As [`ListWriter::with_workloads`], with the health columns and keys `detail` asks for
    /// (`-i`, `-m`): rows then come through [`ListWriter::row_detailed`].
    #[allow(clippy::too_many_arguments)] // the constructors' flags, plus one
    pub fn with_detail(
        out: &'w mut dyn Write,
        format: ListFormat,
        processes: bool,
        timers: bool,
        workloads: bool,
        detail: Extensions,
        netns: &NetnsView<'_>,
        stamp: ListStamp,
    ) -> ListWriter<'w> {
        let mut writer = ListWriter {
            out,
            format,
            processes,
            timers,
            workloads,
            detail,
            netns: netns.per_row.then(|| {
                netns
                    .entries
                    .iter()
                    .map(|e| (e.ns.inode, e.ns.label.clone()))
                    .collect()
            }),
            netns_w: netns
                .entries
                .iter()
                .map(|e| escape(&e.ns.label).chars().count())
                .max()
                .unwrap_or(0)
                .max("NETNS".len()),
            stamp,
            line: String::with_capacity(256),
            rows: 0,
            error: None,
        };
        writer.start();
        writer
    }

    fn start(&mut self) {
        match self.format {
            ListFormat::Table { header: true } => self.header(),
            ListFormat::Json => self.open_document(),
            _ => {}
        }
    }

    /// `{"schema_version":..,"timestamp":..,"hostname":..,"sockets":[`: the header object
    /// without its closing brace, and the array's start.
    fn open_document(&mut self) {
        let header = Header::new(&self.stamp.timestamp, self.stamp.hostname.as_deref());
        match super::json::to_string(&header) {
            Ok(text) => {
                let keys = text.strip_suffix('}').unwrap_or(&text);
                let open = format!("{keys},\"sockets\":[");
                self.emit(&open);
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// True once writing failed; the caller may stop feeding rows.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn emit(&mut self, text: &str) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(text.as_bytes()) {
                self.error = Some(e);
            }
        }
    }

    fn header(&mut self) {
        let mut line = String::new();
        if self.netns.is_some() {
            let _ = write!(line, "{:<w$} ", "NETNS", w = self.netns_w);
        }
        let _ = write!(
            line,
            "{:<STATE_W$} {:<ADDR_W$} {:<ADDR_W$} {:>QUEUE_W$} {:>QUEUE_W$} {:<USER_W$} {:>INODE_W$}",
            "STATE", "LOCAL", "REMOTE", "RECV-Q", "SEND-Q", "USER", "INODE"
        );
        if self.timers {
            line.push_str(" TIMER");
        }
        if self.detail.info {
            line.push_str(detail::INFO_HEADINGS);
        }
        if self.detail.memory {
            line.push_str(detail::MEMORY_HEADINGS);
        }
        if self.processes {
            line.push_str(" PROCESS");
        }
        if self.workloads {
            line.push_str(" WORKLOAD");
        }
        line.push('\n');
        self.emit(&line);
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one socket. `user` is the name of its uid when known.
    pub fn row(&mut self, record: &SocketRecord, user: Option<&str>, owners: Owners<'_>) {
        self.row_of(record, user, owners, None);
    }

    /// Writes one socket with its workload (`-W`; `None`: it has none).
    pub fn row_of(
        &mut self,
        record: &SocketRecord,
        user: Option<&str>,
        owners: Owners<'_>,
        workload: Option<&Workload>,
    ) {
        self.row_detailed(record, user, owners, workload, None);
    }

    /// Writes one socket with its workload and its health detail (`-i`, `-m`; `None`: the
    /// kernel sent none, or the source has none).
    pub fn row_detailed(
        &mut self,
        record: &SocketRecord,
        user: Option<&str>,
        owners: Owners<'_>,
        workload: Option<&Workload>,
        detail: Option<&SocketDetail>,
    ) {
        if self.error.is_some() {
            return;
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        match self.format {
            ListFormat::Table { .. } => {
                self.table_row(&mut line, record, user, owners, workload, detail)
            }
            ListFormat::Json | ListFormat::Ndjson => {
                if self.format == ListFormat::Json && self.rows > 0 {
                    line.push_str(",\n");
                } else if self.format == ListFormat::Json {
                    line.push('\n');
                }
                let mut socket = socket_json(record, user, owners);
                socket.netns_label = self.netns_label(record);
                if self.workloads {
                    socket.workload = Some(workload.map(WorkloadJson::of));
                }
                if self.detail.info {
                    socket.tcp_info =
                        Some(detail.and_then(|d| Some(TcpInfoJson::of(d.info.as_ref()?, d))));
                }
                if self.detail.memory {
                    socket.memory =
                        Some(detail.and_then(|d| Some(MemoryJson::of(d.memory.as_ref()?))));
                }
                let text = if self.format == ListFormat::Ndjson {
                    super::json::to_string(&SocketLineJson {
                        kind: "socket",
                        schema_version: SCHEMA_VERSION,
                        socket,
                    })
                } else {
                    super::json::to_string(&socket)
                };
                match text {
                    Ok(text) => line.push_str(&text),
                    Err(e) => self.error = Some(e),
                }
                if self.format == ListFormat::Ndjson {
                    line.push('\n');
                }
            }
        }
        self.rows += 1;
        self.emit(&line);
        if self.format == ListFormat::Ndjson && self.error.is_none() {
            // One object per line, flushed so a reader sees each as it comes.
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
        self.line = line;
    }

    fn netns_label(&self, r: &SocketRecord) -> Option<&str> {
        let labels = self.netns.as_ref()?;
        Some(labels.get(&r.netns).map_or("?", String::as_str))
    }

    fn table_row(
        &self,
        line: &mut String,
        r: &SocketRecord,
        user: Option<&str>,
        owners: Owners<'_>,
        workload: Option<&Workload>,
        detail: Option<&SocketDetail>,
    ) {
        if let Some(label) = self.netns_label(r) {
            let start = line.len();
            line.push_str(&escape(label));
            pad(line, start, self.netns_w, false);
            line.push(' ');
        }
        let start = line.len();
        match r.state {
            KernelState::Known(state) => line.push_str(state.name()),
            KernelState::Unknown(_) => {
                let _ = write!(line, "{}", r.state);
            }
        }
        pad(line, start, STATE_W, false);
        line.push(' ');
        let start = line.len();
        write_endpoint(line, r.local, r.local_port);
        pad(line, start, ADDR_W, false);
        line.push(' ');
        let start = line.len();
        write_endpoint(line, r.remote, r.remote_port);
        pad(line, start, ADDR_W, false);
        line.push(' ');
        push_u64_right(line, u64::from(r.recv_q), QUEUE_W);
        line.push(' ');
        match r.reported_send_q() {
            Some(send_q) => push_u64_right(line, u64::from(send_q), QUEUE_W),
            None => {
                line.extend(std::iter::repeat_n(' ', QUEUE_W - 1));
                line.push('-');
            }
        }
        line.push(' ');
        let start = line.len();
        match (r.owner_uid(), user) {
            (None, _) => line.push('-'),
            (Some(_), Some(name)) => line.push_str(&escape(name)),
            (Some(uid), None) => push_u64(line, u64::from(uid)),
        }
        pad(line, start, USER_W, false);
        line.push(' ');
        push_u64_right(line, r.inode, INODE_W);
        if self.timers {
            line.push(' ');
            write_timer(line, r);
        }
        if self.detail.info {
            detail::push_info_cells(line, detail);
        }
        if self.detail.memory {
            detail::push_memory_cells(line, detail);
        }
        match owners {
            Owners::NotResolved => {}
            Owners::Hidden => line.push_str(" (hidden)"),
            Owners::NotAccepted => line.push_str(" (not accepted)"),
            Owners::Found([]) => line.push_str(" -"),
            Owners::Found(found) => {
                line.push(' ');
                for (i, o) in found.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    push_u64(line, u64::from(o.pid));
                    line.push('/');
                    push_command(line, o.command);
                }
            }
        }
        if self.workloads {
            line.push(' ');
            match workload {
                // The last column: quoted only when spaces would make it look like two.
                Some(w) => {
                    let name = w.name();
                    let escaped = escape(&name);
                    if escaped.chars().any(|c| c == '"' || c.is_whitespace()) {
                        line.push('"');
                        line.push_str(&escaped.replace('"', "\\\""));
                        line.push('"');
                    } else {
                        line.push_str(&escaped);
                    }
                }
                None => line.push('-'),
            }
        }
        // Trailing padding is noise in a pipe.
        let trimmed = line.trim_end().len();
        line.truncate(trimmed);
        line.push('\n');
    }

    /// Ends the output (JSON: the array, then what `end` says; NDJSON: the `end` line) and
    /// reports the first write error.
    pub fn finish(mut self, end: ListEnd<'_>) -> io::Result<u64> {
        if matches!(self.format, ListFormat::Json | ListFormat::Ndjson) && self.error.is_none() {
            let closing = ClosingJson {
                total: self.rows,
                footer: Footer::new(end.outcome, end.netns),
            };
            let text = if self.format == ListFormat::Json {
                // `],"total":..,...}`: the closing object's keys continue the document.
                super::json::to_string(&closing).map(|object| {
                    let array_end = if self.rows == 0 { "]" } else { "\n]" };
                    let keys = object.strip_prefix('{').unwrap_or(&object);
                    format!("{array_end},{keys}\n")
                })
            } else {
                let header = Header::new(&self.stamp.timestamp, self.stamp.hostname.as_deref());
                super::json::to_string(&EndLineJson {
                    kind: "end",
                    header,
                    closing,
                })
                .map(|line| line + "\n")
            };
            match text {
                Ok(text) => self.emit(&text),
                Err(e) => self.error = Some(e),
            }
        }
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.rows),
        }
    }
}

fn socket_json<'a>(r: &SocketRecord, user: Option<&'a str>, owners: Owners<'a>) -> SocketJson<'a> {
    let state = match r.state {
        KernelState::Known(s) => s.name().to_string(),
        KernelState::Unknown(_) => "UNKNOWN".to_string(),
    };
    SocketJson {
        state,
        state_value: r.raw_state,
        family: match r.family {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        },
        local_address: r.local.to_string(),
        local_port: r.local_port,
        remote_address: r.remote.to_string(),
        remote_port: r.remote_port,
        recv_q: r.recv_q,
        send_q: r.reported_send_q(),
        uid: r.owner_uid(),
        user: r.owner_uid().and(user),
        inode: r.inode,
        cookie: (r.cookie != 0).then_some(r.cookie),
        timer: TimerJson {
            kind: timer_name(r.timer),
            remaining_ms: r.timer_ms,
        },
        owners: match owners {
            Owners::NotResolved => None,
            Owners::Hidden | Owners::NotAccepted => Some(Vec::new()),
            Owners::Found(found) => Some(
                found
                    .iter()
                    .map(|o| OwnerJson {
                        pid: o.pid,
                        command: o.command,
                    })
                    .collect(),
            ),
        },
        owners_hidden: owners == Owners::Hidden,
        netns_label: None,
        workload: None,
        tcp_info: None,
        memory: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceKind, StateSet, TcpState};

    fn stamp() -> ListStamp {
        ListStamp {
            timestamp: "2026-11-21T12:00:00.000Z".into(),
            hostname: Some("vm".into()),
        }
    }

    /// Ends a writer as `list` does, with a clean netlink outcome.
    fn finish(w: ListWriter<'_>) -> u64 {
        let outcome = Outcome::new(SourceKind::Netlink, StateSet::ALL);
        let netns = NetnsView::default();
        w.finish(ListEnd {
            outcome: &outcome,
            netns: &netns,
        })
        .expect("writes")
    }

    fn record() -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V6, KernelState::Known(TcpState::CloseWait));
        r.local = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"
            .parse()
            .expect("ip");
        r.local_port = 8080;
        r.remote = "::1".parse().expect("ip");
        r.remote_port = 51000;
        r.recv_q = 1;
        r.inode = 4242;
        r.uid = 1000;
        r.timer = TimerKind::KeepAlive;
        r.timer_ms = 7_199_950;
        r
    }

    fn render(format: ListFormat, processes: bool, timers: bool, owners: Owners<'_>) -> String {
        let mut out = Vec::new();
        let mut w = ListWriter::new(
            &mut out,
            format,
            processes,
            timers,
            &NetnsView::default(),
            stamp(),
        );
        w.row(&record(), Some("alice"), owners);
        w.row(&record(), None, owners);
        finish(w);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn table_rows_never_truncate_addresses() {
        let text = render(
            ListFormat::Table { header: true },
            false,
            true,
            Owners::NotResolved,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("STATE") && lines[0].ends_with("TIMER"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:8080 [::1]:51000"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].contains(" alice ") && lines[2].contains(" 1000 "),
            "{text}"
        );
        assert!(lines[1].ends_with("keepalive:7199.9s"), "{}", lines[1]);
    }

    #[test]
    fn owners_are_escaped_in_tables() {
        let owners = [
            OwnerRef {
                pid: 7,
                command: "evil\x1b[2J",
            },
            OwnerRef {
                pid: 8,
                command: "b",
            },
        ];
        let text = render(
            ListFormat::Table { header: false },
            true,
            false,
            Owners::Found(&owners),
        );
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(
            text.lines()
                .next()
                .expect("row")
                .ends_with("7/evil\\x1b[2J,8/b"),
            "{text}"
        );
    }

    #[test]
    fn command_names_with_separators_are_quoted() {
        let owners = [
            OwnerRef {
                pid: 31279,
                command: "x,1/sshd root",
            },
            OwnerRef {
                pid: 8,
                command: "a\"b\\c d",
            },
            OwnerRef {
                pid: 9,
                command: "back\\slash",
            },
            OwnerRef {
                pid: 10,
                command: "tab\there",
            },
        ];
        let text = render(
            ListFormat::Table { header: false },
            true,
            false,
            Owners::Found(&owners),
        );
        let row = text.lines().next().expect("row");
        assert!(
            row.ends_with(r#" 31279/"x,1/sshd root",8/"a\"b\\c d",9/back\\slash,10/tab\there"#),
            "{row}"
        );
    }

    #[test]
    fn a_listener_from_proc_has_no_send_q() {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::Listen));
        r.recv_q = 2;
        r.send_q_known = false;
        let mut out = Vec::new();
        let mut w = ListWriter::new(
            &mut out,
            ListFormat::Table { header: false },
            false,
            false,
            &NetnsView::default(),
            stamp(),
        );
        w.row(&r, None, Owners::NotResolved);
        finish(w);
        let text = String::from_utf8(out).expect("utf-8");
        let fields: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(&fields[3..5], ["2", "-"], "{text}");
        let mut out = Vec::new();
        let mut w = ListWriter::new(
            &mut out,
            ListFormat::Ndjson,
            false,
            false,
            &NetnsView::default(),
            stamp(),
        );
        w.row(&r, None, Owners::NotResolved);
        r.send_q_known = true;
        r.send_q = 128;
        w.row(&r, None, Owners::NotResolved);
        finish(w);
        let rows: Vec<serde_json::Value> = String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("object"))
            .collect();
        assert_eq!(rows[0]["send_q"], serde_json::Value::Null);
        assert_eq!(rows[1]["send_q"], 128);
        assert_eq!(rows[2]["type"], "end");
    }

    #[test]
    fn json_array_and_ndjson_are_valid() {
        let owners = [OwnerRef {
            pid: 7,
            command: "x\u{7}",
        }];
        let text = render(ListFormat::Json, true, false, Owners::Found(&owners));
        let value: serde_json::Value = serde_json::from_str(&text).expect("one JSON object");
        assert_eq!(value["schema_version"], SCHEMA_VERSION);
        assert_eq!(value["timestamp"], "2026-11-21T12:00:00.000Z");
        let rows = value["sockets"].as_array().expect("array");
        assert_eq!(rows.len(), 2);
        assert_eq!(value["total"], 2);
        assert_eq!(value["complete"], true);
        assert_eq!(rows[0]["state"], "CLOSE_WAIT");
        assert_eq!(
            rows[0]["local_address"],
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"
        );
        assert_eq!(rows[0]["owners"][0]["command"], "x\u{7}");
        assert_eq!(rows[1]["user"], serde_json::Value::Null);
        // One row per line, as they were written.
        assert_eq!(text.lines().count(), 4, "{text}");
        let text = render(ListFormat::Ndjson, false, false, Owners::NotResolved);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("object per line"))
            .collect();
        let (end, sockets) = lines.split_last().expect("lines");
        assert_eq!(sockets.len(), 2);
        for v in sockets {
            assert_eq!(v["type"], "socket");
            assert_eq!(v["schema_version"], SCHEMA_VERSION);
            assert_eq!(v["owners"], serde_json::Value::Null);
            assert_eq!(v["timer"]["kind"], "keepalive");
        }
        assert_eq!(end["type"], "end");
        assert_eq!(
            (&end["total"], &end["source"]),
            (&2.into(), &"netlink".into())
        );
        let mut out = Vec::new();
        finish(ListWriter::new(
            &mut out,
            ListFormat::Json,
            false,
            false,
            &NetnsView::default(),
            stamp(),
        ));
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "{\"schema_version\":2,\"timestamp\":\"2026-11-21T12:00:00.000Z\",\"hostname\":\"vm\",\
             \"sockets\":[],\"total\":0,\"source\":\"netlink\",\"fallback_reason\":null,\
             \"complete\":true,\"warnings\":[]}\n"
        );
    }

    #[test]
    fn hand_written_numbers_match_format() {
        for v in [0u64, 7, 9, 10, 99, 100, 65_535, 4_294_967_295, u64::MAX] {
            let mut b = String::new();
            push_u64(&mut b, v);
            assert_eq!(b, v.to_string());
            for width in [0, 1, 7, 9, 25] {
                let mut b = String::from("x");
                push_u64_right(&mut b, v, width);
                assert_eq!(b, format!("x{v:>width$}"));
            }
        }
        for ip in ["0.0.0.0", "10.1.200.3", "255.255.255.255", "127.0.0.1"] {
            let mut b = String::new();
            write_endpoint(&mut b, ip.parse().expect("ip"), 8080);
            assert_eq!(b, format!("{ip}:8080"));
        }
    }

    #[test]
    fn endpoints_look_like_ss() {
        let mut b = String::new();
        write_endpoint(&mut b, "0.0.0.0".parse().expect("ip"), 0);
        b.push(' ');
        write_endpoint(&mut b, "::".parse().expect("ip"), 22);
        assert_eq!(b, "0.0.0.0:* [::]:22");
    }
}
