//! `--all-netns`: the pipeline of each subcommand once per network namespace of the host,
//! merged into one output with a namespace dimension.
//!
//! Owns: discovering the namespaces once per run, reading each one (a namespace that cannot
//! be entered is skipped with a warning; the run fails only when privileges are missing for
//! every namespace but tcpstat's own), one owner walk for all namespaces together, and merging
//! per-namespace results: summary counts per namespace and summed, `ports` and `procs` rows
//! tagged with their namespace, `list` rows in namespace order. It reads the kernel only
//! through `collect` and writes only through `render`; `watch` does its own discovery every
//! tick, as namespaces come and go (see `watch.rs`).
//!
//! Each namespace is read on its own because service ports (`ports`) are a per-namespace
//! notion: a port listened on in one container says nothing about another. Owners are not:
//! socket inodes are unique on the host (one sockfs, `sock_alloc`), so one walk over every
//! process finds the owners of every namespace's sockets, including owners that live in
//! another namespace (a socket passed over a Unix socket, or created by a thread that entered
//! the namespace, as tcpstat itself does). Filtering the walk by namespace would miss those.

use std::io::Write;
use std::path::Path;

use crate::aggregate::{PortMatrix, PortRow, ProcMatrix, Snapshot, StateCounts, StateRow};
use crate::cli::ByArg;
use crate::collect::netns::{self, Namespace};
use crate::collect::owners::OwnerMap;
use crate::collect::users::Users;
use crate::collect::{self, Outcome, Sink, SourceKind};
use crate::config::{Config, Format, ListOptions, Task};
use crate::error::{Error, Exit};
use crate::model::SocketRecord;
use crate::render::list::ListWriter;
use crate::render::{NetnsEntry, NetnsView, PortsReport, SummaryReport, TopCut};
use crate::track::state_row;
use crate::{
    accept_queue_listeners, collect_filtered, list_needs_owners, list_streams, now_rfc3339,
    owned_only, port_rows, report_warnings, scan_owners, write_list, write_ports, write_procs,
    write_summary, ListSink, PASSWD,
};

/// What reading one namespace gave: its result and outcome, or why it was skipped.
pub(crate) type Read<T> = Result<(T, Outcome), String>;

/// The namespaces of the host, each with what reading it gave.
pub(crate) struct Host<T> {
    pub namespaces: Vec<Namespace>,
    /// By position in `namespaces`.
    pub reads: Vec<Read<T>>,
    /// Namespaces that may be missing (processes whose namespace could not be read): the
    /// numbers are then incomplete.
    pub missing: Vec<String>,
    /// Other warnings of the run (the owner walk's).
    pub notes: Vec<String>,
}

impl<T> Host<T> {
    /// The namespaces that were read, with their results.
    pub fn read(&self) -> impl Iterator<Item = (&Namespace, &T, &Outcome)> + '_ {
        self.namespaces
            .iter()
            .zip(&self.reads)
            .filter_map(|(ns, read)| read.as_ref().ok().map(|(t, o)| (ns, t, o)))
    }

    /// The view outputs show: every namespace, read or skipped, with its counts.
    pub fn view(&self, counts: impl Fn(&T) -> StateRow) -> NetnsView<'_> {
        NetnsView {
            entries: self
                .namespaces
                .iter()
                .zip(&self.reads)
                .map(|(ns, read)| NetnsEntry {
                    ns,
                    skipped: read.as_ref().err().cloned(),
                    counts: read.as_ref().ok().map(|(t, _)| counts(t)),
                })
                .collect(),
            per_row: true,
        }
    }

    /// One outcome for the whole host: /proc if any namespace was read from /proc (it sees
    /// less), each namespace's warnings under its label, skipped namespaces as warnings, and
    /// incomplete when anything was.
    pub fn outcome(&self) -> Outcome {
        let mut merged = Outcome {
            source: SourceKind::Netlink,
            fallback_reason: None,
            warnings: self.missing.clone(),
            complete: self.missing.is_empty(),
        };
        // A warning every namespace gave alike (a --state the source cannot see) is said
        // once, not once per namespace.
        let read: Vec<&Outcome> = self
            .reads
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|(_, o)| o))
            .collect();
        let everywhere: Vec<&String> = match read.split_first() {
            Some((first, rest)) if !rest.is_empty() => first
                .warnings
                .iter()
                .filter(|w| rest.iter().all(|o| o.warnings.contains(w)))
                .collect(),
            _ => Vec::new(),
        };
        merged
            .warnings
            .extend(everywhere.iter().map(|w| w.to_string()));
        for (ns, read) in self.namespaces.iter().zip(&self.reads) {
            match read {
                Ok((_, outcome)) => {
                    if outcome.source == SourceKind::Proc {
                        merged.source = SourceKind::Proc;
                    }
                    if let (None, Some(reason)) =
                        (&merged.fallback_reason, &outcome.fallback_reason)
                    {
                        merged.fallback_reason = Some(format!("netns {}: {reason}", ns.label));
                    }
                    merged.complete &= outcome.complete;
                    merged.warnings.extend(
                        outcome
                            .warnings
                            .iter()
                            .filter(|w| !everywhere.contains(w))
                            .map(|w| format!("netns {}: {w}", ns.label)),
                    );
                }
                Err(why) => {
                    merged.complete = false;
                    merged
                        .warnings
                        .push(format!("network namespace {} skipped: {why}", ns.label));
                }
            }
        }
        merged.warnings.extend(self.notes.iter().cloned());
        merged
    }
}

impl<T> Host<T> {
    /// Each read namespace's result turned into another by `f`.
    pub fn map<U>(self, mut f: impl FnMut(&Namespace, T) -> U) -> Host<U> {
        let reads = self
            .namespaces
            .iter()
            .zip(self.reads)
            .map(|(ns, read)| read.map(|(value, outcome)| (f(ns, value), outcome)))
            .collect();
        Host {
            namespaces: self.namespaces,
            reads,
            missing: self.missing,
            notes: self.notes,
        }
    }

    /// Carries each read namespace's result on with `f`, given that namespace's config; a
    /// namespace that cannot be entered any more is skipped.
    pub fn then<U>(
        self,
        config: &Config,
        mut f: impl FnMut(&Config, T, Outcome) -> Result<(U, Outcome), Error>,
    ) -> Result<Host<U>, Error> {
        let mut reads = Vec::with_capacity(self.reads.len());
        for (ns, read) in self.namespaces.iter().zip(self.reads) {
            reads.push(match read {
                Err(why) => Err(why),
                Ok((value, outcome)) => match f(&config.in_netns(ns.clone()), value, outcome) {
                    Ok(result) => Ok(result),
                    Err(e @ Error::Netns { .. }) => Err(skip_reason(&e)),
                    Err(e) => return Err(e),
                },
            });
        }
        Ok(Host {
            namespaces: self.namespaces,
            reads,
            missing: self.missing,
            notes: self.notes,
        })
    }
}

/// Why a namespace was skipped, without its label (outputs put the label next to it).
fn skip_reason(e: &Error) -> String {
    match e {
        Error::Netns {
            problem,
            source: Some(source),
            ..
        } => format!("{problem}: {source}"),
        Error::Netns { problem, .. } => problem.clone(),
        other => other.to_string(),
    }
}

/// The namespaces of the host (see [`netns::discover`]).
pub(crate) fn discover(config: &Config) -> Result<netns::Discovery, Error> {
    netns::discover(&config.source.proc_root, Path::new(netns::RUN_NETNS))
}

/// Reads each namespace found with `read` (given a config for that namespace). A namespace
/// that cannot be found, opened or entered is skipped; when there are namespaces besides
/// tcpstat's own and every one of them was refused for lack of privilege, the run fails with
/// the first refusal (it names the namespace and the capability). Any other error ends the
/// run.
pub(crate) fn read_each<T>(
    config: &Config,
    found: netns::Discovery,
    mut read: impl FnMut(&Config) -> Result<(T, Outcome), Error>,
) -> Result<Host<T>, Error> {
    let mut missing = Vec::new();
    if found.processes_unreadable > 0 {
        missing.push(format!(
            "the network namespace of {} process(es) could not be read (another user's \
             processes need root; a sandbox or LSM can refuse even root): a namespace only \
             they are in is missing",
            found.processes_unreadable
        ));
    }
    let mut reads = Vec::with_capacity(found.namespaces.len());
    let mut refused: Option<Error> = None;
    let mut entered_other = false;
    for ns in &found.namespaces {
        match read(&config.in_netns(ns.clone())) {
            Ok(result) => {
                entered_other |= !ns.current;
                reads.push(Ok(result));
            }
            Err(e @ Error::Netns { .. }) => {
                reads.push(Err(skip_reason(&e)));
                if netns::is_permission_error(&e) && refused.is_none() {
                    refused = Some(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    if let (Some(first), false) = (refused, entered_other) {
        return Err(first);
    }
    Ok(Host {
        namespaces: found.namespaces,
        reads,
        missing,
        notes: Vec::new(),
    })
}

/// Runs the task over every namespace (`watch` runs its own loop). `--format prometheus`,
/// `doctor`, `check` and `serve` read one namespace at a time (`config` refuses them with
/// `--all-netns`); should one get here, it reads tcpstat's own namespace.
pub(crate) fn run(
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Error> {
    let done = |result: Result<(), Error>| result.map(|()| Exit::SUCCESS);
    match &config.task {
        Task::Summary {
            format: format @ (Format::Table | Format::Json),
        } => done(summary(config, *format == Format::Json, out, err)),
        Task::Ports {
            by,
            all_states,
            top,
            format: format @ (Format::Table | Format::Json),
        } => done(ports(
            config,
            *by,
            (*all_states, *top, *format == Format::Json),
            out,
            err,
        )),
        Task::Procs {
            all_states,
            top,
            format: format @ (Format::Table | Format::Json),
        } => done(procs(
            config,
            (*all_states, *top, *format == Format::Json),
            out,
            err,
        )),
        Task::List(options) => done(list(config, options, out, err)),
        // Namespaces come and go during a watch: it finds them again every tick.
        Task::Summary { .. }
        | Task::Ports { .. }
        | Task::Procs { .. }
        | Task::Watch(_)
        | Task::Generate { .. }
        | Task::Doctor { .. }
        | Task::Check(_)
        | Task::Serve(_) => crate::run_in(config, &NetnsView::default(), out, err),
    }
}

/// `ports --all-netns`: each namespace's rows (service ports are per namespace), merged
/// busiest first; `--top` cuts the merged list. `shape`: all states, top, JSON.
fn ports(
    config: &Config,
    by: ByArg,
    (all_states, top, as_json): (bool, Option<usize>, bool),
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let host = if config.filter.needs_owners() {
        let (host, _) = snapshots_with_owners(config)?;
        host.then(config, |cfg, owned, outcome| {
            port_rows(cfg, by, |_, matrix: &mut PortMatrix| {
                for r in &owned {
                    matrix.record(r);
                }
                Ok(outcome)
            })
        })?
    } else {
        read_each(config, discover(config)?, |cfg| {
            port_rows(cfg, by, |pass2, matrix| collect_filtered(pass2, matrix))
        })?
    };
    let outcome = host.outcome();
    report_warnings(&outcome, err)?;
    let mut rows: Vec<PortRow> = Vec::new();
    for (ns, ns_rows, _) in host.read() {
        rows.extend(ns_rows.iter().map(|r| PortRow {
            netns: ns.inode,
            ..*r
        }));
    }
    rows.sort_by(|a, b| {
        b.counts
            .total()
            .cmp(&a.counts.total())
            .then(a.netns.cmp(&b.netns))
            .then(a.port.cmp(&b.port))
            .then(a.direction.cmp(&b.direction))
    });
    let cut = TopCut::apply(&mut rows, top);
    // Each socket is in exactly one row of its namespace: the rows add up to its sockets.
    let view = host.view(|ns_rows| {
        let mut sum = StateRow::default();
        for r in ns_rows {
            sum.merge(&r.counts);
        }
        sum
    });
    let report = PortsReport {
        rows: &rows,
        outcome: &outcome,
        filter: &config.filter,
        all_states,
        grouping: crate::grouping(by),
        netns: &view,
        cut,
    };
    write_ports(config, &report, as_json, out)
}

/// `procs --all-netns`: one owner walk, a matrix per namespace, merged.
fn procs(
    config: &Config,
    shape: (bool, Option<usize>, bool),
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    // Each namespace's sockets, and the listeners of its connections not accepted yet; one
    // owner walk for all of them.
    let mut host = read_each(config, discover(config)?, |cfg| {
        let mut snap = Snapshot::default();
        let outcome = collect::collect(&cfg.source, &cfg.filter, &mut snap)?;
        let listeners = accept_queue_listeners(cfg, &outcome, &snap.0)?;
        Ok(((snap.0, listeners), outcome))
    })?;
    let mut warnings = Vec::new();
    let owners = scan_owners(
        config,
        host.read()
            .flat_map(|(_, (records, listeners), _)| records.iter().chain(listeners)),
        &mut warnings,
    )?;
    host.notes.extend(warnings);
    for ((records, _), _) in host.reads.iter_mut().flatten() {
        *records = owned_only(&config.filter, std::mem::take(records), &owners);
    }
    let outcome = host.outcome();
    report_warnings(&outcome, err)?;
    let matrix = ProcMatrix::merge(
        host.read()
            .map(|(ns, (records, listeners), _)| {
                (ns.inode, ProcMatrix::build(records, listeners, &owners))
            })
            .collect(),
    );
    let view = host.view(|(records, _)| state_row(records));
    write_procs(config, &view, matrix, owners.stats(), &outcome, shape, out)
}

fn summary(
    config: &Config,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let host = if config.filter.needs_owners() {
        let (host, _) = snapshots_with_owners(config)?;
        host.then(config, |_, owned, outcome| {
            let mut counts = StateCounts::new();
            for r in &owned {
                counts.record(r);
            }
            Ok((counts, outcome))
        })?
    } else {
        read_each(config, discover(config)?, |cfg| {
            let mut counts = StateCounts::new();
            let outcome = collect_filtered(cfg, &mut counts)?;
            Ok((counts, outcome))
        })?
    };
    let outcome = host.outcome();
    report_warnings(&outcome, err)?;
    let mut total = StateCounts::new();
    for (_, counts, _) in host.read() {
        total.merge(counts);
    }
    let view = host.view(StateCounts::row);
    let report = SummaryReport {
        counts: &total,
        outcome: &outcome,
        filter: &config.filter,
        hostname: collect::host::hostname(&config.source.proc_root),
        timestamp: now_rfc3339(),
        netns: &view,
    };
    write_summary(config, &report, as_json, out)
}

fn list(
    config: &Config,
    options: &ListOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let users = Users::load(Path::new(PASSWD));
    if !list_streams(config, options) {
        let (host, owners) = if list_needs_owners(config, options) {
            snapshots_with_owners(config)?
        } else {
            (
                read_each(config, discover(config)?, |cfg| {
                    let mut snap = Snapshot::default();
                    let outcome = collect::collect(&cfg.source, &cfg.filter, &mut snap)?;
                    Ok((snap.0, outcome))
                })?,
                OwnerMap::default(),
            )
        };
        let outcome = host.outcome();
        report_warnings(&outcome, err)?;
        let view = host.view(|records| state_row(records));
        let records: Vec<SocketRecord> = host
            .read()
            .flat_map(|(_, records, _)| records.iter().copied())
            .collect();
        return write_list(records, &owners, options, &view, &users, out);
    }
    // Streamed, namespace after namespace. The NETNS column needs the labels before the first
    // row, so the namespaces are discovered first and the view filled in as they are read.
    let found = discover(config)?;
    let labels = NetnsView {
        entries: found
            .namespaces
            .iter()
            .map(|ns| NetnsEntry {
                ns,
                skipped: None,
                counts: None,
            })
            .collect(),
        per_row: true,
    };
    let mut writer = ListWriter::new(out, options.format, false, options.timers, &labels);
    let host = read_each(config, found.clone(), |cfg| {
        let outcome = collect::collect(
            &cfg.source,
            &cfg.filter,
            &mut ListSink::new(&mut writer, &users),
        )?;
        Ok(((), outcome))
    });
    writer.finish()?;
    let outcome = host?.outcome();
    report_warnings(&outcome, err)?;
    Ok(())
}

/// Every namespace's sockets matching the filter, one owner walk for all of them, and each
/// namespace's sockets cut to those passing the owner filters.
pub(crate) fn snapshots_with_owners(
    config: &Config,
) -> Result<(Host<Vec<SocketRecord>>, OwnerMap), Error> {
    let mut host = read_each(config, discover(config)?, |cfg| {
        let mut snap = Snapshot::default();
        let outcome = collect::collect(&cfg.source, &cfg.filter, &mut snap)?;
        Ok((snap.0, outcome))
    })?;
    let mut warnings = Vec::new();
    let owners = scan_owners(
        config,
        host.read().flat_map(|(_, records, _)| records.iter()),
        &mut warnings,
    )?;
    host.notes.extend(warnings);
    for (records, _) in host.reads.iter_mut().flatten() {
        *records = owned_only(&config.filter, std::mem::take(records), &owners);
    }
    Ok((host, owners))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn ns(inode: u64, label: &str) -> Namespace {
        Namespace {
            inode,
            path: PathBuf::from("/nonexistent"),
            name: Some(label.into()),
            process: None,
            current: inode == 1,
            label: label.into(),
        }
    }

    fn outcome(source: SourceKind, warning: Option<&str>) -> Outcome {
        Outcome {
            source,
            fallback_reason: (source == SourceKind::Proc).then(|| "no inet_diag".into()),
            warnings: warning.map(String::from).into_iter().collect(),
            complete: warning.is_none(),
        }
    }

    #[test]
    fn one_outcome_says_everything_per_namespace() {
        let host: Host<()> = Host {
            namespaces: vec![ns(1, "own"), ns(2, "blue"), ns(3, "red")],
            reads: vec![
                Ok(((), outcome(SourceKind::Netlink, None))),
                Ok(((), outcome(SourceKind::Proc, Some("1 malformed line")))),
                Err("cannot enter it: setns(2) needs CAP_SYS_ADMIN".into()),
            ],
            missing: Vec::new(),
            notes: vec!["owner walk note".into()],
        };
        let merged = host.outcome();
        assert_eq!(merged.source, SourceKind::Proc, "the weaker source of any");
        assert_eq!(
            merged.fallback_reason.as_deref(),
            Some("netns blue: no inet_diag")
        );
        assert!(!merged.complete);
        assert_eq!(
            merged.warnings,
            [
                "netns blue: 1 malformed line",
                "network namespace red skipped: cannot enter it: setns(2) needs CAP_SYS_ADMIN",
                "owner walk note",
            ]
        );
        let view = host.view(|()| StateRow::default());
        assert!(view.per_row);
        assert_eq!(view.entries.len(), 3);
        assert!(view.entries[2].skipped.is_some() && view.entries[2].counts.is_none());
        assert_eq!(view.label(2), "blue");
    }

    #[test]
    fn a_clean_host_is_complete() {
        let host: Host<()> = Host {
            namespaces: vec![ns(1, "own")],
            reads: vec![Ok(((), outcome(SourceKind::Netlink, None)))],
            missing: Vec::new(),
            notes: Vec::new(),
        };
        let merged = host.outcome();
        assert!(merged.complete && merged.warnings.is_empty());
        assert_eq!(merged.source, SourceKind::Netlink);
    }
}
