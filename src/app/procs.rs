//! `tcpstat procs`: sockets per owning process and state, as a table, JSON or Prometheus text.

use std::io::Write;
use std::time::Instant;

use super::{report_warnings, scope};
use crate::aggregate::ProcMatrix;
use crate::collect;
use crate::config::{Config, Format, ProcsOptions, DEFAULT_TOP_COMMANDS};
use crate::error::Error;
use crate::model::{Listeners, OwnerWalk, Plan, Snapshot, StateRow};
use crate::pipeline;
use crate::render::{json, prometheus, table, ProcsReport, TopCut};

pub fn run(
    config: &Config,
    options: &ProcsOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let began = Instant::now();
    // Every socket and its owners, found by one walk alongside the dumps; and the listening
    // sockets, to name the process whose accept queue holds a connection not accepted yet.
    let plan = Plan {
        listeners: Listeners::All,
        owners: OwnerWalk::Every,
        ..config.plan()
    };
    let (scope, mut readers) = scope(config)?;
    let collection = pipeline::run(&plan, &scope, &mut readers, |_| Snapshot::default())?;
    let outcome = collection.outcome();
    report_warnings(&outcome, err)?;
    let owners = collection.owners.clone().unwrap_or_default();
    // Each namespace's matrix (with `--all-netns`, merged with its rows tagged).
    let matrix = |with_queues: bool, merged: bool| {
        let parts: Vec<(u64, ProcMatrix)> = collection
            .reads()
            .map(|(netns, read)| {
                let listeners = if with_queues {
                    &read.listeners[..]
                } else {
                    &[]
                };
                let tag = pipeline::Collection::<()>::tag(netns);
                (tag, ProcMatrix::build(&read.part.0, listeners, &owners))
            })
            .collect();
        match (merged || collection.per_row, parts.len()) {
            (false, 1) => parts.into_iter().next().map(|(_, m)| m).unwrap_or_default(),
            _ => ProcMatrix::merge(parts),
        }
    };
    if options.format == Format::Prometheus {
        // Metrics have no accept-queue rows: the listeners are not needed. Merged, so that
        // rows carry their namespace, which labels them.
        let matrix = matrix(false, true);
        let commands = matrix.by_command(options.top.unwrap_or(DEFAULT_TOP_COMMANDS));
        let labels = collection.metric_labels();
        prometheus::processes(
            out,
            &commands,
            &matrix,
            outcome.counted(config.filter.states),
            &|tag| labels.get(&tag).cloned(),
        )?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "procs",
                outcome: Some(&outcome),
                duration: began.elapsed(),
                netns: collection.one_metric_label(),
            },
        )?;
        out.flush()?;
        return Ok(());
    }
    let mut matrix = matrix(true, false);
    let view = collection.view(|records| StateRow::of(&records.0));
    let cut = TopCut::apply(&mut matrix.processes, options.top);
    let users = collect::users::Names::new().table(matrix.processes.iter().map(|p| p.uid));
    let report = ProcsReport {
        matrix: &matrix,
        owner_stats: owners.stats(),
        outcome: &outcome,
        filter: &config.filter,
        all_states: options.all_states,
        users: &users,
        netns: &view,
        cut,
        hostname: collect::host::hostname(&config.proc_root),
        timestamp: super::now_rfc3339(),
    };
    if options.format == Format::Json {
        json::write_line(out, &json::procs(&report))?;
    } else {
        table::procs(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}
