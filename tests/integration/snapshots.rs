//! Snapshots of every renderer on fixed data: no kernel, no process, no clock. One small
//! host (a table of sockets, their owners, the kernel's settings) is built through the
//! library's public API (`model`, `aggregate`, `diagnose`, `check`) and drawn by each
//! renderer; the bytes are compared with `tests/snapshots/*.txt`.
//!
//! ```text
//! cargo test --test integration snapshots                    # compare
//! TCPSTAT_BLESS=1 cargo test --test integration snapshots    # rewrite the snapshots
//! ```
//!
//! What is drawn is exactly what the binary writes, colour off. JSON documents, one line each
//! on the wire, are checked to be one line and then stored indented (whitespace added between
//! tokens, nothing reordered: [`indent_json`]) so that a change reads as a diff of one key.
//!
//! The host: `web` (pid 1200, nginx) serves 10.0.0.5:443 with a backlog of 2 and three
//! connections waiting in its accept queue; `api` (pid 2300, a name with an escape character)
//! listens on [::]:8080 and leaks two CLOSE_WAIT sockets; `app` (pid 3100) talks to
//! `postgres` (pid 900) on 127.0.0.1:5432 and has one connect in SYN_SENT; three TIME_WAIT
//! sockets have no owner, and one connection's owner could not be read (two processes were
//! hidden from a walk without root).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use tcpstat::aggregate::track::{Changes, History};
use tcpstat::aggregate::watch::{Aged, Group, GroupBy, GroupKey, Sample, Setup, Tick};
use tcpstat::aggregate::{bound_ports, PortBudget, PortGrouping, PortMatrix, PortRow, ProcMatrix};
use tcpstat::check::{self, CheckCounts};
use tcpstat::diagnose::{self, Census, Severity, Thresholds};
use tcpstat::model::kernel::{SockStat, Sysctls, TcpMem};
use tcpstat::model::netns::{Member, NetnsEntry, NetnsView};
use tcpstat::model::{
    Filter, KernelFacts, KernelState, Namespace, Outcome, OwnerMap, Process, ScanStats, Sink,
    SocketRecord, SourceKind, StateCounts, StateRow, StateSet, TcpState, TimerKind, Users,
};
use tcpstat::render::{self, json, prometheus, table, DoctorReport, PortsReport, ProcsReport};
use tcpstat::render::{SummaryReport, TopCut};

use crate::util::snapshot::Snapshots;

const SNAPSHOTS: Snapshots = Snapshots {
    dir: "tests/snapshots",
    filter: "snapshots",
};

const HOSTNAME: &str = "db1";
const TIMESTAMP: &str = "2026-12-05T13:54:13.250Z";
/// `net.ipv4.ip_local_port_range`.
const EPHEMERAL: (u16, u16) = (32768, 60999);
/// How long a collection took, as Prometheus' `tcpstat_scrape_duration_seconds` says.
const DURATION: Duration = Duration::from_micros(2500);
const NO_COLOUR: table::Paint = table::Paint(false);

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

const WEB: u32 = 1200;
const API: u32 = 2300;
const APP: u32 = 3100;
const POSTGRES: u32 = 900;
/// The owners' commands; `api`'s carries an escape character, which every output must make
/// inert.
const COMMANDS: [(u32, u32, &str); 4] = [
    (POSTGRES, 105, "postgres"),
    (WEB, 33, "nginx"),
    (API, 1000, "api\x1b[2J"),
    (APP, 1000, "app"),
];
const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                      www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n\
                      postgres:x:105:110::/var/lib/postgresql:/bin/bash\n\
                      dev:x:1000:1000::/home/dev:/bin/bash\n";

/// One socket: its state, addresses, the inode of its file (0: none) and its owner's uid.
fn socket(state: TcpState, local: &str, remote: &str, inode: u64, uid: u32) -> SocketRecord {
    let local: SocketAddr = local.parse().expect("a local address");
    let remote: SocketAddr = remote.parse().expect("a remote address");
    let family = if local.is_ipv4() {
        tcpstat::model::Family::V4
    } else {
        tcpstat::model::Family::V6
    };
    let mut r = SocketRecord::empty(family, KernelState::Known(state));
    (r.local, r.local_port) = (local.ip(), local.port());
    (r.remote, r.remote_port) = (remote.ip(), remote.port());
    r.inode = inode;
    r.uid = uid;
    if inode == 0 && state == TcpState::TimeWait {
        r.timer = TimerKind::TimeWait;
        r.timer_ms = 42_000;
    }
    r
}

/// A listening socket with `queued` connections waiting for `accept()` and its backlog.
fn listener(local: &str, queued: u32, backlog: u32, inode: u64, uid: u32) -> SocketRecord {
    let any = if local.starts_with('[') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    let mut r = socket(TcpState::Listen, local, any, inode, uid);
    (r.recv_q, r.send_q) = (queued, backlog);
    r
}

/// Every socket of the host, and which of their inodes each process holds.
struct Host {
    records: Vec<SocketRecord>,
    listeners: Vec<SocketRecord>,
    held: Vec<(u32, Vec<u64>)>,
}

fn host() -> Host {
    use TcpState::*;
    let listeners = vec![
        listener("10.0.0.5:443", 3, 2, 100, 33),
        listener("[::]:8080", 0, 64, 200, 1000),
        listener("127.0.0.1:5432", 0, 100, 300, 105),
    ];
    let mut records = listeners.clone();
    records.extend([
        // nginx: two clients served, three completed connections it has not accepted.
        socket(Established, "10.0.0.5:443", "203.0.113.7:51000", 101, 33),
        socket(Established, "10.0.0.5:443", "203.0.113.8:51001", 102, 33),
        socket(Established, "10.0.0.5:443", "203.0.113.9:51002", 0, 0),
        socket(Established, "10.0.0.5:443", "203.0.113.9:51003", 0, 0),
        socket(CloseWait, "10.0.0.5:443", "203.0.113.9:51004", 0, 0),
        socket(TimeWait, "10.0.0.5:443", "203.0.113.7:50990", 0, 0),
        socket(TimeWait, "10.0.0.5:443", "203.0.113.7:50991", 0, 0),
        socket(TimeWait, "10.0.0.5:443", "198.51.100.20:40000", 0, 0),
        // api: two clients hung up, it never closed its ends.
        socket(
            CloseWait,
            "[::ffff:10.0.0.5]:8080",
            "[::ffff:10.0.0.9]:41000",
            201,
            1000,
        ),
        socket(
            CloseWait,
            "[::ffff:10.0.0.5]:8080",
            "[::ffff:10.0.0.9]:41001",
            202,
            1000,
        ),
        socket(
            Established,
            "[2001:db8::5]:8080",
            "[2001:db8::77]:39000",
            203,
            1000,
        ),
        // app <-> postgres, and a connect nobody answers.
        socket(Established, "127.0.0.1:45000", "127.0.0.1:5432", 401, 1000),
        socket(Established, "127.0.0.1:5432", "127.0.0.1:45000", 301, 105),
        socket(SynSent, "10.0.0.5:46000", "198.51.100.9:5432", 402, 1000),
        // A connection whose owner was not readable.
        socket(Established, "10.0.0.5:47000", "192.0.2.1:22", 900, 0),
    ]);
    let held = vec![
        (POSTGRES, vec![300, 301]),
        (WEB, vec![100, 101, 102]),
        (API, vec![200, 201, 202, 203]),
        (APP, vec![401, 402]),
    ];
    Host {
        records,
        listeners,
        held,
    }
}

/// The owner walk: every process of [`COMMANDS`] read, two hidden (not root), one gone.
fn owners(host: &Host) -> OwnerMap {
    let mut map = OwnerMap::new(ScanStats {
        processes_seen: 41,
        processes_read: 38,
        processes_hidden: 2,
        processes_vanished: 1,
        processes_failed: 0,
        processes_owning: 4,
        fds_read: 312,
        fds_lost: 0,
        as_root: false,
    });
    for (pid, uid, command) in COMMANDS {
        let inodes = &host.held.iter().find(|(p, _)| *p == pid).expect("held").1;
        let process = Process {
            pid,
            uid,
            command: command.to_string(),
        };
        map.commit(process, inodes);
    }
    map
}

fn netlink() -> Outcome {
    Outcome::new(SourceKind::Netlink, StateSet::ALL)
}

/// Two namespaces read with `--all-netns`, and one that could not be.
fn namespaces() -> [Namespace; 3] {
    let mut own = Namespace::new(4026531840, "/proc/1/ns/net".into(), true);
    own.process = Some(Member {
        pid: 1,
        command: "systemd".into(),
    });
    own.relabel();
    let mut blue = Namespace::new(4026532301, "/run/netns/blue".into(), false);
    blue.name = Some("blue".into());
    blue.relabel();
    let mut other = Namespace::new(4026532455, "/proc/7001/ns/net".into(), false);
    other.process = Some(Member {
        pid: 7001,
        command: "containerd-shim".into(),
    });
    other.relabel();
    [own, blue, other]
}

fn row(counts: &[(TcpState, u64)]) -> StateRow {
    let mut r = StateRow::default();
    for &(state, n) in counts {
        for _ in 0..n {
            r.add(KernelState::Known(state));
        }
    }
    r
}

/// The view of [`namespaces`]: the host's own (this host's table), `blue` (a few sockets),
/// the container's skipped.
fn all_netns_view<'a>(namespaces: &'a [Namespace; 3], own: StateRow) -> NetnsView<'a> {
    use TcpState::*;
    NetnsView {
        entries: vec![
            NetnsEntry {
                ns: &namespaces[0],
                skipped: None,
                counts: Some(own),
            },
            NetnsEntry {
                ns: &namespaces[1],
                skipped: None,
                counts: Some(row(&[(Listen, 1), (Established, 4), (TimeWait, 2)])),
            },
            NetnsEntry {
                ns: &namespaces[2],
                skipped: Some("entering it needs CAP_SYS_ADMIN (run as root)".into()),
                counts: None,
            },
        ],
        per_row: true,
    }
}

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

/// What a renderer wrote, as text.
fn written(draw: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    draw(&mut out).expect("writing to memory");
    String::from_utf8(out).expect("renderers write UTF-8")
}

/// Lines of JSON (one document per line, as written) with whitespace between their tokens:
/// two spaces per level, one member or element per line, except that an array of scalars
/// stays on one line (`["LISTEN", "SYN_SENT"]`) and an empty object or array stays `{}` /
/// `[]`. Nothing is reordered or re-escaped: only spaces and newlines are added outside
/// strings.
fn indent_json(lines: &str) -> String {
    let mut out = String::new();
    for line in lines.lines() {
        let chars: Vec<char> = line.chars().collect();
        let mut depth = 0usize;
        // Inside an array of scalars kept on one line.
        let mut inline = false;
        let mut i = 0;
        let newline = |out: &mut String, depth: usize| {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        };
        while i < chars.len() {
            let c = chars[i];
            if c == '"' {
                let end = string_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
                continue;
            }
            match c {
                '[' if scalars_only(&chars, i) => {
                    inline = true;
                    out.push(c);
                }
                '{' | '[' if chars.get(i + 1) == Some(&if c == '{' { '}' } else { ']' }) => {
                    out.push(c);
                    out.push(chars[i + 1]);
                    i += 1;
                }
                '{' | '[' => {
                    out.push(c);
                    depth += 1;
                    newline(&mut out, depth);
                }
                ']' if inline => {
                    inline = false;
                    out.push(c);
                }
                '}' | ']' => {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                    out.push(c);
                }
                ',' if inline => out.push_str(", "),
                ',' => {
                    out.push(c);
                    newline(&mut out, depth);
                }
                ':' => out.push_str(": "),
                _ => out.push(c),
            }
            i += 1;
        }
        out.push('\n');
    }
    out
}

/// The index just past the string starting at `chars[start]` (a `"`).
fn string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Whether the array opening at `chars[start]` holds only scalars (at least one).
fn scalars_only(chars: &[char], start: usize) -> bool {
    let mut i = start + 1;
    if chars.get(i) == Some(&']') {
        return false;
    }
    while i < chars.len() {
        match chars[i] {
            '"' => i = string_end(chars, i),
            ']' => return true,
            '{' | '[' => return false,
            _ => i += 1,
        }
    }
    false
}

/// A JSON output: one line per document on the wire, stored indented.
fn json_lines(text: &str, documents: usize) -> String {
    assert!(
        text.ends_with('\n'),
        "JSON lines end with a newline: {text:?}"
    );
    assert_eq!(
        text.lines().count(),
        documents,
        "one line per document: {text}"
    );
    for line in text.lines() {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not JSON: {line}");
    }
    indent_json(text)
}

/// A watch frame as the terminal shows it: the lines, and `|` where the screen ends, so that
/// trailing spaces and the width are visible.
fn screen(lines: &[String], width: usize, height: usize) -> String {
    assert!(lines.len() <= height, "{} lines on {height}", lines.len());
    let mut out = String::new();
    for line in lines {
        // Every character of these frames is one column wide.
        let columns = line.chars().count();
        assert!(columns <= width, "{columns} columns on {width}: {line:?}");
        out.push_str(line);
        out.push_str(&" ".repeat(width - columns));
        out.push_str("|\n");
    }
    out
}

fn summary_outputs(files: &mut Vec<(String, String)>) {
    let host = host();
    let filter = Filter::default();
    let outcome = netlink();
    let mut counts = StateCounts::new();
    for r in &host.records {
        counts.add(r.family, r.state);
    }
    let none = NetnsView::default();
    let report = SummaryReport {
        counts: &counts,
        outcome: &outcome,
        filter: &filter,
        hostname: Some(HOSTNAME.into()),
        timestamp: TIMESTAMP.into(),
        netns: &none,
    };
    files.push((
        "summary.txt".into(),
        written(|out| table::summary(out, &report, NO_COLOUR)),
    ));
    let text = written(|out| json::write_line(out, &json::SummaryJson::new(&report)));
    files.push(("summary--json.txt".into(), json_lines(&text, 1)));

    // --all-netns: a row per namespace (their sum is the report's counts).
    let namespaces = namespaces();
    let view = all_netns_view(&namespaces, counts.row());
    let blue = view.entries[1].counts.expect("blue's counts");
    let mut all = counts.clone();
    for state in TcpState::ALL {
        for _ in 0..blue.get(state) {
            all.add(tcpstat::model::Family::V4, KernelState::Known(state));
        }
    }
    let mut outcome = netlink();
    outcome.complete = false;
    outcome.warnings = vec![format!(
        "network namespace {}: skipped: entering it needs CAP_SYS_ADMIN (run as root)",
        namespaces[2].label
    )];
    let report = SummaryReport {
        counts: &all,
        outcome: &outcome,
        netns: &view,
        ..report
    };
    files.push((
        "summary--all-netns.txt".into(),
        written(|out| table::summary(out, &report, NO_COLOUR)),
    ));
    let text = written(|out| json::write_line(out, &json::SummaryJson::new(&report)));
    files.push(("summary--all-netns--json.txt".into(), json_lines(&text, 1)));
}

/// `ports` cuts its rows to `--top 3`; the Prometheus output bounds them to 3 as well, the
/// rest summed per direction.
const TOP_PORTS: usize = 3;

fn ports_outputs(files: &mut Vec<(String, String)>) {
    let host = host();
    let filter = Filter::default();
    let outcome = netlink();
    let listening: HashSet<u16> = host.listeners.iter().map(|l| l.local_port).collect();
    let mut matrix =
        PortMatrix::with_listeners(PortGrouping::Service, listening, EPHEMERAL, &host.listeners);
    for r in &host.records {
        matrix.record(r);
    }
    let mut rows: Vec<PortRow> = matrix.rows();
    let bounded = bound_ports(
        &rows,
        PortBudget {
            listening: TOP_PORTS,
            others: TOP_PORTS,
        },
    );
    let text = written(|out| {
        prometheus::ports(out, &bounded, outcome.counted(filter.states), &|_| None)?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "ports",
                outcome: Some(&outcome),
                duration: DURATION,
                netns: None,
            },
        )
    });
    files.push(("ports--top-3--format-prometheus.txt".into(), text));

    let none = NetnsView::default();
    let cut = TopCut::apply(&mut rows, Some(TOP_PORTS));
    assert!(cut.omitted > 0, "the cut leaves rows out: {cut:?}");
    let report = PortsReport {
        rows: &rows,
        outcome: &outcome,
        filter: &filter,
        all_states: false,
        grouping: PortGrouping::Service,
        netns: &none,
        cut,
        hostname: Some(HOSTNAME.into()),
        timestamp: TIMESTAMP.into(),
    };
    files.push((
        "ports--top-3.txt".into(),
        written(|out| table::ports(out, &report, NO_COLOUR)),
    ));
    let text = written(|out| json::write_line(out, &json::ports(&report)));
    files.push(("ports--top-3--json.txt".into(), json_lines(&text, 1)));
}

fn procs_outputs(files: &mut Vec<(String, String)>) {
    let host = host();
    let filter = Filter::default();
    let outcome = netlink();
    let owners = owners(&host);
    let matrix = ProcMatrix::build(&host.records, &host.listeners, &owners);
    assert!(
        matrix.hidden.total() > 0 && matrix.not_accepted.total() > 0,
        "the rows without a process are all there: {matrix:?}"
    );
    let commands = matrix.by_command(3);
    let text = written(|out| {
        prometheus::processes(
            out,
            &commands,
            &matrix,
            outcome.counted(filter.states),
            &|_| None,
        )?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "procs",
                outcome: Some(&outcome),
                duration: DURATION,
                netns: None,
            },
        )
    });
    files.push(("procs--format-prometheus.txt".into(), text));

    let users = Users::from_pairs(PASSWD.lines().filter_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?.to_string();
        let uid = fields.nth(1)?.parse().ok()?;
        Some((uid, name))
    }));
    let none = NetnsView::default();
    let report = ProcsReport {
        matrix: &matrix,
        owner_stats: owners.stats(),
        outcome: &outcome,
        filter: &filter,
        all_states: false,
        users: &users,
        netns: &none,
        cut: TopCut::default(),
        hostname: Some(HOSTNAME.into()),
        timestamp: TIMESTAMP.into(),
    };
    files.push((
        "procs.txt".into(),
        written(|out| table::procs(out, &report, NO_COLOUR)),
    ));
    let text = written(|out| json::write_line(out, &json::procs(&report)));
    files.push(("procs--json.txt".into(), json_lines(&text, 1)));
}

/// The kernel's settings and counters doctor reads.
fn facts() -> KernelFacts {
    let mut facts = KernelFacts {
        sysctls: Sysctls {
            tcp_max_tw_buckets: Some(131072),
            ip_local_port_range: Some(EPHEMERAL),
            tcp_syncookies: Some(1),
            tcp_max_syn_backlog: Some(2048),
            somaxconn: Some(4096),
            tcp_fin_timeout: Some(60),
            tcp_max_orphans: Some(131072),
            tcp_orphan_retries: Some(0),
            tcp_tw_reuse: Some(2),
            tcp_timestamps: Some(1),
            tcp_syn_retries: Some(6),
            tcp_abort_on_overflow: Some(0),
            tcp_mem: Some(TcpMem {
                min: 185000,
                pressure: 246000,
                max: 370000,
            }),
        },
        sockstat: Some(SockStat {
            inuse: 12,
            orphan: 0,
            tw: 3,
            alloc: 15,
            mem_pages: 7,
        }),
        page_size: 4096,
        ..KernelFacts::default()
    };
    facts.tcp_ext.insert("ListenOverflows".into(), 17);
    facts.tcp_ext.insert("ListenDrops".into(), 17);
    facts
}

fn doctor_outputs(files: &mut Vec<(String, String)>) {
    let host = host();
    let outcome = netlink();
    let owners = owners(&host);
    let listening: HashSet<u16> = host.listeners.iter().map(|l| l.local_port).collect();
    let mut census = Census::new(listening, Some(EPHEMERAL), host.listeners.clone());
    for r in &host.records {
        census.record(r);
    }
    // Connections with tcp_info: four peers (one far slower than the others), one losing a
    // tenth of its segments, one not reading, one gone silent.
    let info = |rtt_ms: u32, segs: u32, retrans: u32| tcpstat::model::TcpInfo {
        rtt_us: Some(rtt_ms * 1000),
        segs_out: Some(segs),
        total_retrans: Some(retrans),
        last_ack_recv_ms: Some(20),
        snd_wnd: Some(65535),
        ..Default::default()
    };
    let detail = |info| tcpstat::model::SocketDetail {
        info: Some(info),
        ..Default::default()
    };
    use TcpState::Established;
    for (remote, rtt, segs, retrans) in [
        ("10.1.0.1:5432", 1, 500, 0),
        ("10.1.0.2:5432", 2, 2000, 200),
        ("10.1.0.3:5432", 3, 500, 0),
        ("10.1.0.9:5432", 80, 500, 1),
    ] {
        let r = socket(Established, "10.0.0.5:41000", remote, 0, 0);
        census.record_detail(&r, &detail(info(rtt, segs, retrans)));
    }
    let mut slow = socket(Established, "10.0.0.5:41001", "10.1.0.3:5432", 0, 0);
    slow.send_q = 65536;
    let zero = tcpstat::model::TcpInfo {
        snd_wnd: Some(0),
        ..info(3, 500, 0)
    };
    census.record_detail(&slow, &detail(zero));
    let mut gone = socket(Established, "10.0.0.5:41002", "10.1.0.7:443", 0, 0);
    gone.send_q = 1200;
    let silent = tcpstat::model::TcpInfo {
        last_ack_recv_ms: Some(63_000),
        retransmits: Some(6),
        ..info(3, 120, 9)
    };
    census.record_detail(&gone, &detail(silent));
    let mut thresholds = Thresholds::default();
    thresholds.apply(&diagnose::parse_threshold("CLOSE_WAIT=2").expect("a threshold"));
    let facts = facts();
    let reason = |state| outcome.not_counted_reason(state);
    let diagnosis = diagnose::diagnose(&diagnose::Inputs {
        census: &census,
        listeners: &census.listeners,
        owners: &owners,
        facts: &facts,
        thresholds: &thresholds,
        counted: outcome.counted(StateSet::ALL),
        not_counted_reason: &reason,
        backlog_known: true,
        health: Some(&census.health),
    });
    let worst = diagnosis.worst();
    assert!(
        worst > Severity::Warning,
        "a few findings, one critical: {diagnosis:?}"
    );
    let report = DoctorReport {
        diagnosis: &diagnosis,
        thresholds: &thresholds,
        facts: &facts,
        outcome: &outcome,
        hostname: Some(HOSTNAME.into()),
        timestamp: TIMESTAMP.into(),
        exit_code: 4,
        netns: &NetnsView::default(),
    };
    files.push((
        "doctor.txt".into(),
        written(|out| render::doctor::text(out, &report, NO_COLOUR)),
    ));
    let text = written(|out| json::write_line(out, &render::doctor::json(&report)));
    files.push(("doctor--json.txt".into(), json_lines(&text, 1)));
}

fn plugin_outputs(files: &mut Vec<(String, String)>) {
    let host = host();
    let outcome = netlink();
    let mut counts = CheckCounts::new([443]);
    for r in &host.records {
        counts.record(r);
    }
    let threshold = |text: &str| check::parse_threshold(text).expect("a threshold");
    let reason = |state| outcome.not_counted_reason(state);
    let verdict = check::evaluate(
        &counts,
        outcome.counted(StateSet::ALL),
        &reason,
        &[threshold("CLOSE_WAIT=2"), threshold("TIME_WAIT:443=10")],
        &[threshold("CLOSE_WAIT=5"), threshold("total=1000")],
    );
    files.push((
        "check--status-line.txt".into(),
        written(|out| render::plugin::status_line(out, &verdict, &outcome, 0)),
    ));
}

fn watch_outputs(files: &mut Vec<(String, String)>) {
    use TcpState::*;
    let host = host();
    let tracked = StateSet::of(CloseWait).union(StateSet::of(SynSent));
    let setup = Setup {
        hostname: Some(HOSTNAME.into()),
        started: "2026-12-05T13:50:00.000Z".into(),
        interval: Duration::from_secs(1),
        shown: StateSet::ALL,
        tracked,
        by: GroupBy::Process,
        older_than: None,
    };
    // 30 ticks: CLOSE_WAIT creeping up, TIME_WAIT coming and going; the last is the host.
    let mut history = History::new();
    let now = tcpstat::aggregate::track::state_counts(&host.records);
    for n in 0..30u64 {
        let mut counts = now;
        counts[CloseWait.index()] = n / 15 + 1;
        counts[TimeWait.index()] = (n * 7) % 6;
        history.push(counts);
    }
    history.push(now);
    let process = |pid: u32| {
        let (_, _, command) = COMMANDS.iter().find(|c| c.0 == pid).expect("a process");
        GroupKey::Process {
            pid,
            command: command.to_string(),
        }
    };
    let mut outcome = netlink();
    outcome.warnings = vec!["2 process(es) could not be read (not running as root)".into()];
    let left = socket(CloseWait, "10.0.0.5:443", "203.0.113.9:51005", 0, 0);
    let sample = Sample {
        number: 31,
        timestamp: TIMESTAMP.into(),
        elapsed: Some(1.002),
        outcome,
        unknown: 0,
        top: vec![
            Group {
                netns: 0,
                key: process(API),
                count: 2,
            },
            Group {
                netns: 0,
                key: GroupKey::NoProcess,
                count: 1,
            },
        ],
        top_total: 3,
        aged: vec![
            Aged {
                state: CloseWait,
                netns: 0,
                key: process(API),
                at_least: Duration::from_secs(300),
                count: 2,
                oldest: Duration::from_secs(1342),
            },
            Aged {
                state: SynSent,
                netns: 0,
                key: process(APP),
                at_least: Duration::from_secs(10),
                count: 1,
                oldest: Duration::from_secs(21),
            },
        ],
        aged_total: 3,
        tracked_count: 4,
        changes: Some(Changes {
            entered: host
                .records
                .iter()
                .filter(|r| r.state == KernelState::Known(SynSent))
                .copied()
                .collect(),
            left: vec![(left, Duration::from_millis(20_350))],
        }),
        error: None,
        owners_as_root: false,
        health: None,
    };
    let none = NetnsView::default();
    let tick = Tick {
        setup: &setup,
        sample: &sample,
        history: &history,
        netns: &none,
        replay: None,
    };
    for (width, height) in [(80, 24), (132, 40)] {
        let lines = render::watch::frame(&tick, width, height);
        files.push((
            format!("watch--{width}x{height}.txt"),
            screen(&lines, width, height),
        ));
    }
    let text = written(|out| render::watch::write_tick(out, &tick));
    files.push(("watch--json--events.txt".into(), json_lines(&text, 3)));
}

#[test]
fn renderers_on_fixed_data() {
    let mut files = Vec::new();
    summary_outputs(&mut files);
    ports_outputs(&mut files);
    procs_outputs(&mut files);
    doctor_outputs(&mut files);
    plugin_outputs(&mut files);
    watch_outputs(&mut files);
    SNAPSHOTS.check(&files);
}

#[test]
fn indented_json_keeps_every_token_in_order() {
    let line = r#"{"a":[1,{"b":"x,y:{\"z\"]"}],"c":{},"d":[],"e":["f","g,]"]}"#;
    assert_eq!(
        indent_json(line),
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x,y:{\\\"z\\\"]\"\n    }\n  ],\n  \
         \"c\": {},\n  \"d\": [],\n  \"e\": [\"f\", \"g,]\"]\n}\n"
    );
    let back: String = indent_json(line)
        .lines()
        .map(str::trim_start)
        .collect::<String>()
        .replace("\": ", "\":")
        .replace("\", \"", "\",\"");
    assert_eq!(back, line);
}
