//! tcpstat: a live TCP socket-state monitor that replaces `netstat` and `ss`.
//!
//! Data flows one way:
//!
//! ```text
//! cli (flags) -> config (flags + environment) -> collect (kernel: netlink or /proc)
//!     -> model (SocketRecord, TcpState) -> aggregate (counts) / diagnose (findings) / check
//!     (verdict) -> render (table, JSON, Prometheus, plugin line, findings) -> writer
//! ```
//!
//! Collectors stream each socket into a sink as they parse it, so a census of a million
//! sockets needs memory for the counts only. Collectors never format; renderers never read the
//! kernel. [`run`] reads like the table of contents.

pub mod aggregate;
mod all_netns;
pub mod check;
pub mod cli;
pub mod collect;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod generate;
pub mod model;
pub mod render;
pub mod serve;
pub mod term;
pub mod track;
pub mod watch;

use std::collections::{BTreeSet, HashSet};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aggregate::{PortGrouping, PortMatrix, PortRow, ProcMatrix, Snapshot, StateCounts};
use cli::{ByArg, SortArg};
use collect::netns;
use collect::owners::OwnerMap;
use collect::users::Users;
use collect::{Outcome, Sink, SourceChoice, SourceKind, SourceOptions};
use config::{CheckOptions, Config, Format, ListOptions, NetnsRequest, ServeOptions, Task};
use diagnose::{Census, Severity};
use error::{Error, Exit, ExitCode};
use model::{Filter, SocketRecord, StateSet, TcpState};
use render::list::{ListWriter, OwnerRef, Owners};
use render::{
    json, prometheus, table, DoctorReport, NetnsEntry, NetnsView, PortsReport, ProcsReport,
    SummaryReport, TopCut,
};

/// Where user names come from.
pub(crate) const PASSWD: &str = "/etc/passwd";

/// Runs one invocation, writing results to `out` and warnings to `err`; says how it ended
/// (0, or `doctor`'s and `check`'s own statuses).
pub fn run(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, Error> {
    if let Task::Generate { target, dir } = &config.task {
        return generate::write(*target, dir.as_deref(), out).map(|()| Exit::SUCCESS);
    }
    let proc_root = &config.source.proc_root;
    let ns = match &config.netns {
        NetnsRequest::Own => return run_in(config, &NetnsView::default(), out, err),
        NetnsRequest::All => return all_netns::run(config, out, err),
        NetnsRequest::NameOrPath(target) => {
            netns::by_name_or_path(target, proc_root, Path::new(netns::RUN_NETNS))?
        }
        NetnsRequest::Pid(pid) => netns::of_process(*pid, proc_root)?,
    };
    let view = NetnsView {
        entries: vec![NetnsEntry {
            ns: &ns,
            skipped: None,
            counts: None,
        }],
        per_row: false,
    };
    run_in(&config.in_netns(ns.clone()), &view, out, err)
}

/// Runs the task on one namespace: `config.source.netns`, or tcpstat's own.
pub(crate) fn run_in(
    config: &Config,
    view: &NetnsView<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Error> {
    let done = |result: Result<(), Error>| result.map(|()| Exit::SUCCESS);
    match &config.task {
        Task::Summary { format } => done(summary(config, view, *format, out, err)),
        Task::Ports {
            by,
            all_states,
            top,
            format,
        } => done(ports(
            config,
            view,
            *by,
            *all_states,
            *top,
            *format,
            out,
            err,
        )),
        Task::Procs {
            all_states,
            top,
            format,
        } => done(procs(config, view, *all_states, *top, *format, out, err)),
        Task::List(options) => done(list(config, view, options, out, err)),
        Task::Watch(options) => done(watch::run(config, view, options, out, err)),
        Task::Generate { target, dir } => done(generate::write(*target, dir.as_deref(), out)),
        Task::Doctor { thresholds, json } => doctor(config, thresholds, *json, out, err),
        Task::Check(options) => check(config, options, out, err),
        Task::Serve(options) => done(serve::run(config, options, err)),
    }
}

/// The states whose numbers are measurements: selected and visible to the source.
fn counted_states(config: &Config, outcome: &Outcome) -> StateSet {
    config.filter.states.intersect(outcome.source.covers())
}

/// Why a state was not counted, as a phrase after its name.
fn not_counted_reason(outcome: &Outcome) -> impl Fn(TcpState) -> &'static str {
    let covers = outcome.source.covers();
    let blind = match outcome.source {
        SourceKind::Netlink => {
            "is not visible to this source (this kernel's sock_diag does not dump bound-only \
             sockets; Linux 6.8 and newer do)"
        }
        SourceKind::Proc => "is not visible to this source (/proc cannot see it)",
    };
    move |state| {
        if covers.contains(state) {
            "is not selected by --state"
        } else {
            blind
        }
    }
}

fn summary(
    config: &Config,
    view: &NetnsView<'_>,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let began = Instant::now();
    let mut counts = StateCounts::new();
    let outcome = collect_filtered(config, &mut counts)?;
    report_warnings(&outcome, err)?;
    let report = SummaryReport {
        counts: &counts,
        outcome: &outcome,
        filter: &config.filter,
        hostname: collect::host::hostname(&config.source.proc_root),
        timestamp: now_rfc3339(),
        netns: view,
    };
    if format == Format::Prometheus {
        prometheus::sockets(
            out,
            &counts,
            report.counted_states(),
            &config.filter.families,
        )?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "summary",
                outcome: Some(&outcome),
                duration: began.elapsed(),
            },
        )?;
        out.flush()?;
        return Ok(());
    }
    write_summary(config, &report, format == Format::Json, out)
}

/// Prints a summary as JSON or as a table.
pub(crate) fn write_summary(
    config: &Config,
    report: &SummaryReport<'_>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if as_json {
        json::write_line(out, &json::SummaryJson::new(report))?;
    } else {
        table::summary(out, report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn ports(
    config: &Config,
    view: &NetnsView<'_>,
    by: ByArg,
    all_states: bool,
    top: Option<usize>,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let began = Instant::now();
    let (mut rows, outcome) =
        port_rows(config, by, |pass2, matrix| collect_filtered(pass2, matrix))?;
    report_warnings(&outcome, err)?;
    if format == Format::Prometheus {
        let bounded = aggregate::bound_ports(&rows, top.unwrap_or(config::DEFAULT_TOP_PORTS));
        prometheus::ports(out, &bounded, counted_states(config, &outcome))?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "ports",
                outcome: Some(&outcome),
                duration: began.elapsed(),
            },
        )?;
        out.flush()?;
        return Ok(());
    }
    let cut = TopCut::apply(&mut rows, top);
    let report = PortsReport {
        rows: &rows,
        outcome: &outcome,
        filter: &config.filter,
        all_states,
        grouping: grouping(by),
        netns: view,
        cut,
    };
    write_ports(config, &report, format == Format::Json, out)
}

pub(crate) fn grouping(by: ByArg) -> PortGrouping {
    match by {
        ByArg::Service => PortGrouping::Service,
        ByArg::Local => PortGrouping::Local,
        ByArg::Remote => PortGrouping::Remote,
    }
}

/// The rows of `ports` for one namespace, sorted. `count` puts the selected sockets into the
/// matrix (pass 2), reading the same source as pass 1 through the config it is given.
pub(crate) fn port_rows(
    config: &Config,
    by: ByArg,
    count: impl FnOnce(&Config, &mut PortMatrix) -> Result<Outcome, Error>,
) -> Result<(Vec<PortRow>, Outcome), Error> {
    let (listeners, first, pass2) = listeners(config)?;
    let listening: HashSet<u16> = listeners.iter().map(|r| r.local_port).collect();
    let ephemeral = collect::kernel::local_port_range(&config.source)
        .unwrap_or(aggregate::DEFAULT_EPHEMERAL_PORTS);
    let mut matrix = PortMatrix::new(grouping(by), listening, first.source == SourceKind::Netlink)
        .with_ephemeral_ports(ephemeral);
    let mut outcome = count(&pass2, &mut matrix)?;
    outcome.fallback_reason = first.fallback_reason;
    // Listening ports get a row even when no selected socket is on them, if they pass the
    // address / port filters (owner filters: only listeners already counted).
    let row_filter = Filter {
        states: StateSet::ALL,
        ..config.filter.clone()
    };
    if !config.filter.needs_owners() {
        for listener in listeners.iter().filter(|r| row_filter.matches(r)) {
            matrix.add_listener(listener);
        }
    } else {
        for listener in &listeners {
            matrix.add_listener_queue(listener);
        }
    }
    Ok((matrix.rows(), outcome))
}

/// Pass 1 of the reports that need to know the service side of each connection: every
/// listening socket of the families read, whatever the other filters (listeners are few, this
/// is cheap), and the configuration for pass 2, which reads the same source as pass 1 so that
/// the two never mix.
fn listeners(config: &Config) -> Result<(Vec<SocketRecord>, Outcome, Config), Error> {
    let listen_filter = Filter {
        states: StateSet::of(TcpState::Listen),
        families: config.filter.families.clone(),
        ..Filter::default()
    };
    let mut listeners = Snapshot::default();
    let first = collect::collect(&config.source, &listen_filter, &mut listeners)?;
    let same_source = SourceOptions {
        choice: match first.source {
            SourceKind::Netlink => SourceChoice::Netlink,
            SourceKind::Proc => SourceChoice::Proc,
        },
        ..config.source.clone()
    };
    let pass2 = Config {
        source: same_source,
        ..config.clone()
    };
    Ok((listeners.0, first, pass2))
}

/// Prints `ports` as JSON or as a table.
pub(crate) fn write_ports(
    config: &Config,
    report: &PortsReport<'_>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if as_json {
        json::write_line(out, &json::ports(report))?;
    } else {
        table::ports(out, report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}

fn procs(
    config: &Config,
    view: &NetnsView<'_>,
    all_states: bool,
    top: Option<usize>,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let began = Instant::now();
    if format == Format::Prometheus {
        let (records, owners, outcome) = snapshot_with_owners(config)?;
        report_warnings(&outcome, err)?;
        let matrix = ProcMatrix::build(&records, &[], &owners);
        let commands = matrix.by_command(top.unwrap_or(config::DEFAULT_TOP_COMMANDS));
        prometheus::processes(out, &commands, &matrix, counted_states(config, &outcome))?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "procs",
                outcome: Some(&outcome),
                duration: began.elapsed(),
            },
        )?;
        out.flush()?;
        return Ok(());
    }
    let (records, listeners, owners, outcome) = snapshot_for_procs(config)?;
    report_warnings(&outcome, err)?;
    let matrix = ProcMatrix::build(&records, &listeners, &owners);
    write_procs(
        config,
        view,
        matrix,
        owners.stats(),
        &outcome,
        (all_states, top, format == Format::Json),
        out,
    )
}

/// Prints `procs`, cut to `--top`, as JSON or as a table. `shape`: all states, top, JSON.
pub(crate) fn write_procs(
    config: &Config,
    view: &NetnsView<'_>,
    mut matrix: ProcMatrix,
    owner_stats: collect::owners::ScanStats,
    outcome: &Outcome,
    (all_states, top, as_json): (bool, Option<usize>, bool),
    out: &mut dyn Write,
) -> Result<(), Error> {
    let cut = TopCut::apply(&mut matrix.processes, top);
    let users = Users::load(Path::new(PASSWD));
    let report = ProcsReport {
        matrix: &matrix,
        owner_stats,
        outcome,
        filter: &config.filter,
        all_states,
        users: &users,
        netns: view,
        cut,
    };
    if as_json {
        json::write_line(out, &json::procs(&report))?;
    } else {
        table::procs(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}

/// Everything `serve` exports, from one collection.
#[derive(Debug)]
pub struct Metrics {
    pub counts: StateCounts,
    pub ports: aggregate::BoundedPorts,
    /// With `--processes`.
    pub processes: Option<(aggregate::CommandRows, ProcMatrix)>,
    /// States counted: selected and visible to the source.
    pub counted: StateSet,
    pub outcome: Outcome,
}

/// One collection for `serve`: the listeners, then every selected socket counted per state
/// and per service port in one pass (and held, with their owners, only with `--processes`).
pub fn collect_metrics(config: &Config, options: &ServeOptions) -> Result<Metrics, Error> {
    let (listeners, first, pass2) = listeners(config)?;
    let listening: HashSet<u16> = listeners.iter().map(|r| r.local_port).collect();
    let mut both = (
        StateCounts::new(),
        PortMatrix::new(
            PortGrouping::Service,
            listening,
            first.source == SourceKind::Netlink,
        )
        .with_ephemeral_ports(
            collect::kernel::local_port_range(&config.source)
                .unwrap_or(aggregate::DEFAULT_EPHEMERAL_PORTS),
        ),
    );
    let (mut outcome, processes) = if options.processes {
        let (records, owners, outcome) = snapshot_with_owners(&pass2)?;
        for r in &records {
            both.record(r);
        }
        let matrix = ProcMatrix::build(&records, &[], &owners);
        let commands = matrix.by_command(options.top_processes);
        (outcome, Some((commands, matrix)))
    } else {
        (collect_filtered(&pass2, &mut both)?, None)
    };
    outcome.fallback_reason = first.fallback_reason;
    let (counts, mut matrix) = both;
    let row_filter = Filter {
        states: StateSet::ALL,
        ..config.filter.clone()
    };
    for listener in listeners.iter().filter(|r| row_filter.matches(r)) {
        if config.filter.needs_owners() {
            matrix.add_listener_queue(listener);
        } else {
            matrix.add_listener(listener);
        }
    }
    Ok(Metrics {
        counted: counted_states(config, &outcome),
        counts,
        ports: aggregate::bound_ports(&matrix.rows(), options.top_ports),
        processes,
        outcome,
    })
}

fn doctor(
    config: &Config,
    thresholds: &diagnose::Thresholds,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Error> {
    let proc_root = &config.source.proc_root;
    let facts = collect::kernel::read_for(&config.source);
    let (mut listeners, first, pass2) = listeners(config)?;
    let listening: HashSet<u16> = listeners.iter().map(|r| r.local_port).collect();
    let mut census = Census::new(listening, facts.sysctls.ip_local_port_range);
    let mut outcome = collect_filtered(&pass2, &mut census)?;
    outcome.fallback_reason = first.fallback_reason;
    // The listeners judged are those the address and port filters select.
    let row_filter = Filter {
        states: StateSet::ALL,
        ..config.filter.clone()
    };
    listeners.retain(|r| row_filter.matches(r));
    // Owners of the sockets a finding names a process for.
    let owners = scan_owners(
        config,
        census
            .close_wait
            .iter()
            .chain(&census.syn_sent)
            .chain(&listeners),
        &mut outcome.warnings,
    )?;
    let listeners = owned_only(&config.filter, listeners, &owners);
    report_warnings(&outcome, err)?;
    let reason = not_counted_reason(&outcome);
    let diagnosis = diagnose::diagnose(&diagnose::Inputs {
        census: &census,
        listeners: &listeners,
        owners: &owners,
        facts: &facts,
        thresholds,
        counted: counted_states(config, &outcome),
        not_counted_reason: &reason,
        backlog_known: outcome.source == SourceKind::Netlink,
    });
    let code = match diagnosis.worst() {
        Severity::Ok | Severity::Info => ExitCode::Ok,
        Severity::Warning => ExitCode::Warning,
        Severity::Critical => ExitCode::Critical,
    };
    let report = DoctorReport {
        diagnosis: &diagnosis,
        thresholds,
        facts: &facts,
        outcome: &outcome,
        hostname: collect::host::hostname(proc_root),
        timestamp: now_rfc3339(),
        exit_code: code as u8,
    };
    if as_json {
        json::write_line(out, &render::doctor::json(&report))?;
    } else {
        render::doctor::text(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(Exit::Code(code))
}

/// `check`: counts and judges. Its errors are returned like every other subcommand's; `main`
/// turns each one (this function's, and those before it, such as a namespace that cannot be
/// found) into an UNKNOWN status line, so no failure can leave stdout empty.
fn check(
    config: &Config,
    options: &CheckOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Error> {
    let ports: BTreeSet<u16> = options
        .warn
        .iter()
        .chain(&options.crit)
        .filter_map(|t| t.metric.port)
        .collect();
    if config.filter.needs_owners() {
        require_matching_process(config)?;
    }
    let mut counts = check::CheckCounts::new(ports);
    let outcome = collect_filtered(config, &mut counts)?;
    report_warnings(&outcome, err)?;
    let reason = not_counted_reason(&outcome);
    let verdict = check::evaluate(
        &counts,
        counted_states(config, &outcome),
        &reason,
        &options.warn,
        &options.crit,
    );
    render::plugin::status_line(out, &verdict, &outcome)?;
    out.flush()?;
    Ok(Exit::Plugin(verdict.status))
}

/// Fails unless some running process passes the owner filters (`--pid`, `--process`): for a
/// check, "0 sockets" from a filter that matches nothing (a typo, a renamed or stopped
/// service) would be a false OK. A process that exists with no sockets is a true 0.
fn require_matching_process(config: &Config) -> Result<(), Error> {
    let filter = &config.filter;
    let found = collect::owners::find_process(
        &config.source.proc_root,
        |pid| filter.pids.is_empty() || filter.pids.contains(&pid),
        |pid, command| filter.matches_owner(pid, command),
    )?;
    if found.is_some() {
        return Ok(());
    }
    let mut given = Vec::new();
    if !filter.pids.is_empty() {
        let pids: Vec<String> = filter.pids.iter().map(u32::to_string).collect();
        given.push(format!("--pid {}", pids.join(",")));
    }
    for name in &filter.process_names {
        given.push(format!("--process {name}"));
    }
    Err(Error::NoMatchingProcess {
        filters: given.join(" "),
    })
}

fn list(
    config: &Config,
    view: &NetnsView<'_>,
    options: &ListOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let users = Users::load(Path::new(PASSWD));
    if list_streams(config, options) {
        // The streaming path: each socket is written as the kernel hands it over.
        let mut writer = ListWriter::new(out, options.format, false, options.timers, view);
        let outcome = collect::collect(
            &config.source,
            &config.filter,
            &mut ListSink::new(&mut writer, &users),
        )?;
        writer.finish()?;
        report_warnings(&outcome, err)?;
        return Ok(());
    }
    let (records, owners, outcome) = if list_needs_owners(config, options) {
        snapshot_with_owners(config)?
    } else {
        let mut snap = Snapshot::default();
        let outcome = collect::collect(&config.source, &config.filter, &mut snap)?;
        (snap.0, OwnerMap::default(), outcome)
    };
    report_warnings(&outcome, err)?;
    write_list(records, &owners, options, view, &users, out)
}

pub(crate) fn list_needs_owners(config: &Config, options: &ListOptions) -> bool {
    options.processes || options.sort == Some(SortArg::Pid) || config.filter.needs_owners()
}

/// True when `list` writes each socket as it is read: nothing to sort, no owners to find.
pub(crate) fn list_streams(config: &Config, options: &ListOptions) -> bool {
    !list_needs_owners(config, options) && options.sort.is_none()
}

/// Sorts (with `--sort`) and writes the sockets of `list`, with their owners (with `-p`).
pub(crate) fn write_list(
    mut records: Vec<SocketRecord>,
    owners: &OwnerMap,
    options: &ListOptions,
    view: &NetnsView<'_>,
    users: &Users,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if let Some(key) = options.sort {
        sort_records(&mut records, key, owners);
    }
    let mut writer = ListWriter::new(out, options.format, options.processes, options.timers, view);
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
        } else if aggregate::is_not_accepted(r) {
            Owners::NotAccepted
        } else {
            Owners::Found(&refs)
        };
        writer.row(r, users.name(r.uid), owner_column);
    }
    writer.finish()?;
    Ok(())
}

/// Streams rows of `list` straight to the writer.
pub(crate) struct ListSink<'a, 'w> {
    writer: &'a mut ListWriter<'w>,
    users: &'a Users,
    /// Rows the writer had written before this sink (earlier namespaces).
    before: u64,
}

impl<'a, 'w> ListSink<'a, 'w> {
    pub(crate) fn new(writer: &'a mut ListWriter<'w>, users: &'a Users) -> ListSink<'a, 'w> {
        let before = writer.rows();
        ListSink {
            writer,
            users,
            before,
        }
    }
}

impl Sink for ListSink<'_, '_> {
    fn record(&mut self, record: &SocketRecord) {
        self.writer
            .row(record, self.users.name(record.uid), Owners::NotResolved);
    }

    fn reset(&mut self) -> bool {
        // Rows already written cannot be taken back: no fallback after the first row.
        self.writer.rows() == self.before
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
pub(crate) fn collect_filtered(config: &Config, sink: &mut dyn Sink) -> Result<Outcome, Error> {
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
pub(crate) fn snapshot_with_owners(
    config: &Config,
) -> Result<(Vec<SocketRecord>, OwnerMap, Outcome), Error> {
    let ((snap, mut outcome), owners) = OwnerMap::scan_alongside(&config.source.proc_root, || {
        let mut snap = Snapshot::default();
        let outcome = collect::collect(&config.source, &config.filter, &mut snap)?;
        let wanted = wanted_inodes(snap.0.iter());
        Ok(((snap, outcome), wanted))
    })?;
    outcome
        .warnings
        .extend(collect::owners::scan_warnings(&owners.stats()));
    let records = owned_only(&config.filter, snap.0, &owners);
    Ok((records, owners, outcome))
}

/// The inodes whose owners a walk looks for: those of `records` that have a file.
fn wanted_inodes<'r>(records: impl Iterator<Item = &'r SocketRecord>) -> HashSet<u64> {
    records.map(|r| r.inode).filter(|&i| i != 0).collect()
}

/// `procs`' sockets ([`snapshot_with_owners`]) and, when some of them wait in an accept queue
/// ([`aggregate::is_not_accepted`]), the listening sockets of the families read, whose owners
/// the same walk finds: the process that has not accepted them.
pub(crate) fn snapshot_for_procs(
    config: &Config,
) -> Result<(Vec<SocketRecord>, Vec<SocketRecord>, OwnerMap, Outcome), Error> {
    let ((snap, listeners, mut outcome), owners) =
        OwnerMap::scan_alongside(&config.source.proc_root, || {
            let mut snap = Snapshot::default();
            let outcome = collect::collect(&config.source, &config.filter, &mut snap)?;
            let listeners = accept_queue_listeners(config, &outcome, &snap.0)?;
            let wanted = wanted_inodes(snap.0.iter().chain(&listeners));
            Ok(((snap, listeners, outcome), wanted))
        })?;
    outcome
        .warnings
        .extend(collect::owners::scan_warnings(&owners.stats()));
    let records = owned_only(&config.filter, snap.0, &owners);
    Ok((records, listeners, owners, outcome))
}

/// The listening sockets (of the families read, whatever the other filters) that connections
/// not accepted yet among `records` may wait for, read from the source `outcome` came from;
/// none when there is no such connection, or when owner filters (`--pid`, `--process`) will
/// drop them anyway (no process holds them).
pub(crate) fn accept_queue_listeners(
    config: &Config,
    outcome: &Outcome,
    records: &[SocketRecord],
) -> Result<Vec<SocketRecord>, Error> {
    if config.filter.needs_owners() || !records.iter().any(aggregate::is_not_accepted) {
        return Ok(Vec::new());
    }
    let listen_filter = Filter {
        states: StateSet::of(TcpState::Listen),
        families: config.filter.families.clone(),
        ..Filter::default()
    };
    let same_source = SourceOptions {
        choice: match outcome.source {
            SourceKind::Netlink => SourceChoice::Netlink,
            SourceKind::Proc => SourceChoice::Proc,
        },
        ..config.source.clone()
    };
    let mut listeners = Snapshot::default();
    collect::collect(&same_source, &listen_filter, &mut listeners)?;
    Ok(listeners.0)
}

/// One walk over /proc for the owners of `records` (of any namespaces: socket inodes are
/// unique host-wide), saying in `warnings` what it could not see.
pub(crate) fn scan_owners<'r>(
    config: &Config,
    records: impl Iterator<Item = &'r SocketRecord>,
    warnings: &mut Vec<String>,
) -> Result<OwnerMap, Error> {
    let owners = OwnerMap::scan(&config.source.proc_root, &wanted_inodes(records))?;
    let stats = owners.stats();
    warnings.extend(collect::owners::scan_warnings(&stats));
    Ok(owners)
}

/// The sockets that pass the owner filters (`--pid`, `--process`); all of them without any.
pub(crate) fn owned_only(
    filter: &Filter,
    mut records: Vec<SocketRecord>,
    owners: &OwnerMap,
) -> Vec<SocketRecord> {
    if filter.needs_owners() {
        records.retain(|r| {
            owners
                .owner_processes(r.inode)
                .any(|p| filter.matches_owner(p.pid, &p.command))
        });
    }
    records
}

/// Says on stderr, once, what made the numbers partial or where they came from instead.
pub(crate) fn report_warnings(outcome: &Outcome, err: &mut dyn Write) -> io::Result<()> {
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

pub(crate) fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    render::text::rfc3339_utc(now.as_secs(), now.subsec_millis())
}
