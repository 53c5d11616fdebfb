//! tcpstat: a live TCP socket-state monitor that replaces `netstat` and `ss`.
//!
//! Data flows one way:
//!
//! ```text
//! cli (flags) -> config (flags + environment) -> collect (kernel: netlink or /proc)
//!     -> model (SocketRecord, TcpState) -> aggregate (counts) -> render (table, JSON) -> writer
//! ```
//!
//! Collectors stream each socket into a sink as they parse it, so a census of a million
//! sockets needs memory for the counts only. Collectors never format; renderers never read the
//! kernel. [`run`] reads like the table of contents.

pub mod aggregate;
pub mod cli;
pub mod collect;
pub mod config;
pub mod error;
pub mod generate;
pub mod model;
pub mod render;
pub mod term;
pub mod track;
pub mod watch;

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aggregate::{PortGrouping, PortMatrix, ProcMatrix, Snapshot, StateCounts};
use cli::{ByArg, SortArg};
use collect::owners::OwnerMap;
use collect::users::Users;
use collect::{Outcome, Sink, SourceChoice, SourceKind, SourceOptions};
use config::{Config, ListOptions, Task};
use error::Error;
use model::{Filter, SocketRecord, StateSet, TcpState};
use render::list::{ListWriter, OwnerRef, Owners};
use render::{json, table, PortsReport, ProcsReport, SummaryReport};

/// Where user names come from.
const PASSWD: &str = "/etc/passwd";

/// Runs one invocation, writing results to `out` and warnings to `err`.
pub fn run(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
    match &config.task {
        Task::Summary { json } => summary(config, *json, out, err),
        Task::Ports {
            by,
            all_states,
            top,
            json,
        } => ports(config, *by, *all_states, *top, *json, out, err),
        Task::Procs {
            all_states,
            top,
            json,
        } => procs(config, *all_states, *top, *json, out, err),
        Task::List(options) => list(config, options, out, err),
        Task::Watch(options) => watch::run(config, options, out, err),
        Task::Generate { target, dir } => generate::write(*target, dir.as_deref(), out),
    }
}

fn summary(
    config: &Config,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut counts = StateCounts::new();
    let outcome = collect_filtered(config, &mut counts)?;
    report_warnings(&outcome, err)?;
    let report = SummaryReport {
        counts: &counts,
        outcome: &outcome,
        filter: &config.filter,
        hostname: collect::host::hostname(&config.source.proc_root),
        timestamp: now_rfc3339(),
    };
    if as_json {
        json::write_line(out, &json::SummaryJson::new(&report))?;
    } else {
        table::summary(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn ports(
    config: &Config,
    by: ByArg,
    all_states: bool,
    top: Option<usize>,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    // Pass 1: every listener of the families read, whatever the other filters, because they
    // decide which side of each connection is the service. Listeners are few; this is cheap.
    let listen_filter = Filter {
        states: StateSet::of(TcpState::Listen),
        families: config.filter.families.clone(),
        ..Filter::default()
    };
    let mut listeners = Snapshot::default();
    let first = collect::collect(&config.source, &listen_filter, &mut listeners)?;
    let listening: HashSet<u16> = listeners.0.iter().map(|r| r.local_port).collect();
    let grouping = match by {
        ByArg::Service => PortGrouping::Service,
        ByArg::Local => PortGrouping::Local,
        ByArg::Remote => PortGrouping::Remote,
    };
    let mut matrix = PortMatrix::new(grouping, listening, first.source == SourceKind::Netlink);
    // Pass 2 reads the same source as pass 1, so the two never mix.
    let same_source = SourceOptions {
        choice: match first.source {
            SourceKind::Netlink => SourceChoice::Netlink,
            SourceKind::Proc => SourceChoice::Proc,
        },
        proc_root: config.source.proc_root.clone(),
    };
    let pass2 = Config {
        source: same_source,
        ..config.clone()
    };
    let mut outcome = collect_filtered(&pass2, &mut matrix)?;
    outcome.fallback_reason = first.fallback_reason;
    // Listening ports get a row even when no selected socket is on them, if they pass the
    // address / port filters (owner filters: only listeners already counted).
    let row_filter = Filter {
        states: StateSet::ALL,
        ..config.filter.clone()
    };
    if !config.filter.needs_owners() {
        for listener in listeners.0.iter().filter(|r| row_filter.matches(r)) {
            matrix.add_listener(listener);
        }
    } else {
        for listener in &listeners.0 {
            matrix.add_listener_queue(listener);
        }
    }
    report_warnings(&outcome, err)?;
    let mut rows = matrix.rows();
    if let Some(n) = top {
        rows.truncate(n);
    }
    let report = PortsReport {
        rows: &rows,
        outcome: &outcome,
        filter: &config.filter,
        all_states,
        grouping,
    };
    if as_json {
        json::write_line(out, &json::ports(&report))?;
    } else {
        table::ports(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}

fn procs(
    config: &Config,
    all_states: bool,
    top: Option<usize>,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let (records, owners, outcome) = snapshot_with_owners(config)?;
    report_warnings(&outcome, err)?;
    let mut matrix = ProcMatrix::build(&records, &owners);
    if let Some(n) = top {
        matrix.processes.truncate(n);
    }
    let users = Users::load(Path::new(PASSWD));
    let report = ProcsReport {
        matrix: &matrix,
        owner_stats: owners.stats(),
        outcome: &outcome,
        filter: &config.filter,
        all_states,
        users: &users,
    };
    if as_json {
        json::write_line(out, &json::procs(&report))?;
    } else {
        table::procs(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}

fn list(
    config: &Config,
    options: &ListOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let users = Users::load(Path::new(PASSWD));
    let needs_owners =
        options.processes || options.sort == Some(SortArg::Pid) || config.filter.needs_owners();
    if !needs_owners && options.sort.is_none() {
        // The streaming path: each socket is written as the kernel hands it over.
        let mut sink = ListSink {
            writer: ListWriter::new(out, options.format, false, options.timers),
            users: &users,
        };
        let outcome = collect::collect(&config.source, &config.filter, &mut sink)?;
        sink.writer.finish()?;
        report_warnings(&outcome, err)?;
        return Ok(());
    }
    let (mut records, owners, outcome) = if needs_owners {
        snapshot_with_owners(config)?
    } else {
        let mut snap = Snapshot::default();
        let outcome = collect::collect(&config.source, &config.filter, &mut snap)?;
        (snap.0, OwnerMap::default(), outcome)
    };
    report_warnings(&outcome, err)?;
    if let Some(key) = options.sort {
        sort_records(&mut records, key, &owners);
    }
    let mut writer = ListWriter::new(out, options.format, options.processes, options.timers);
    let hidden_possible = owners.stats().unreadable() > 0;
    let mut refs: Vec<OwnerRef<'_>> = Vec::new();
    for r in &records {
        if writer.failed() {
            break;
        }
        refs.clear();
        refs.extend(owners.owner_processes(r.inode).map(|p| OwnerRef {
            pid: p.pid,
            command: &p.command,
        }));
        let owner_column = if !options.processes {
            Owners::NotResolved
        } else if refs.is_empty() && r.inode != 0 && hidden_possible {
            Owners::Hidden
        } else {
            Owners::Found(&refs)
        };
        writer.row(r, users.name(r.uid), owner_column);
    }
    writer.finish()?;
    Ok(())
}

/// Streams rows of `list` straight to the writer.
struct ListSink<'w, 'u> {
    writer: ListWriter<'w>,
    users: &'u Users,
}

impl Sink for ListSink<'_, '_> {
    fn record(&mut self, record: &SocketRecord) {
        self.writer
            .row(record, self.users.name(record.uid), Owners::NotResolved);
    }

    fn reset(&mut self) -> bool {
        // Rows already written cannot be taken back: no fallback after the first row.
        self.writer.rows() == 0
    }
}

fn sort_records(records: &mut [SocketRecord], key: SortArg, owners: &OwnerMap) {
    let state_key = |r: &SocketRecord| match r.state {
        model::KernelState::Known(s) => s.index() as u16,
        model::KernelState::Unknown(v) => 100 + u16::from(v),
    };
    match key {
        SortArg::State => records.sort_by_key(|r| (state_key(r), r.local, r.local_port)),
        SortArg::Local => records.sort_by_key(|r| (r.local, r.local_port, r.remote, r.remote_port)),
        SortArg::Remote => {
            records.sort_by_key(|r| (r.remote, r.remote_port, r.local, r.local_port))
        }
        SortArg::Port => records.sort_by_key(|r| (r.local_port, r.local, r.remote, r.remote_port)),
        SortArg::Pid => records.sort_by_key(|r| {
            // Sockets without an owner last.
            let pid = owners
                .owner_processes(r.inode)
                .next()
                .map_or(u32::MAX, |p| p.pid);
            (pid, r.local_port)
        }),
        SortArg::Queue => records.sort_by_key(|r| {
            // A listener's send_q is its configured backlog, not queued data.
            let listening = r.state == model::KernelState::Known(TcpState::Listen);
            let send = if listening { 0 } else { u64::from(r.send_q) };
            (std::cmp::Reverse(u64::from(r.recv_q) + send), r.local_port)
        }),
    }
}

/// Collects into `sink`, applying owner filters (`--pid`, `--process`) when there are any:
/// then the matching sockets are held, their owners resolved, and only the owned ones passed
/// on.
fn collect_filtered(config: &Config, sink: &mut dyn Sink) -> Result<Outcome, Error> {
    if !config.filter.needs_owners() {
        return collect::collect(&config.source, &config.filter, sink);
    }
    let (records, _owners, outcome) = snapshot_with_owners(config)?;
    for r in &records {
        sink.record(r);
    }
    Ok(outcome)
}

/// Every socket matching the filter, with the owners of those that have a file, keeping only
/// sockets that pass the owner filters (if any). Walk problems become warnings.
fn snapshot_with_owners(config: &Config) -> Result<(Vec<SocketRecord>, OwnerMap, Outcome), Error> {
    let filter = &config.filter;
    let mut snap = Snapshot::default();
    let mut outcome = collect::collect(&config.source, filter, &mut snap)?;
    let wanted: HashSet<u64> = snap.0.iter().map(|r| r.inode).filter(|&i| i != 0).collect();
    let owners = OwnerMap::scan(&config.source.proc_root, &wanted)?;
    let stats = owners.stats();
    outcome
        .warnings
        .extend(collect::owners::scan_warnings(&stats));
    let mut records = snap.0;
    if filter.needs_owners() {
        records.retain(|r| {
            owners
                .owner_processes(r.inode)
                .any(|p| filter.matches_owner(p.pid, &p.command))
        });
    }
    Ok((records, owners, outcome))
}

/// Says on stderr, once, what made the numbers partial or where they came from instead.
fn report_warnings(outcome: &Outcome, err: &mut dyn Write) -> io::Result<()> {
    if let Some(reason) = &outcome.fallback_reason {
        writeln!(
            err,
            "tcpstat: warning: netlink unavailable ({}); reading /proc instead",
            render::text::escape(reason)
        )?;
    }
    for warning in &outcome.warnings {
        writeln!(err, "tcpstat: warning: {}", render::text::escape(warning))?;
    }
    Ok(())
}

fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    render::text::rfc3339_utc(now.as_secs(), now.subsec_millis())
}
