//! `tcpstat workloads`: sockets per workload (systemd unit, container, pod, cgroup) and state,
//! as a table, JSON or Prometheus text.

use std::cell::RefCell;
use std::io::Write;
use std::time::Instant;

use super::{report_warnings, scope};
use crate::aggregate::workloads::{CgroupTally, WorkloadMatrix};
use crate::collect;
use crate::collect::workloads::Resolver;
use crate::config::{Config, Format, WorkloadsOptions, DEFAULT_TOP_WORKLOADS};
use crate::error::Error;
use crate::model::{Listeners, OwnerMap, OwnerWalk, Plan};
use crate::pipeline::{self, Collection};
use crate::render::workloads::{self as view, WorkloadsReport};
use crate::render::{json, prometheus, table, TopCut};

pub fn run(
    config: &Config,
    options: &WorkloadsOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let began = Instant::now();
    // Counted by cgroup id as the dump streams; the listening sockets claim the minisockets
    // on their ports. Owners only for sockets without an id (the /proc source).
    // The dump holds every listener when the filter keeps them all: no listener pass then.
    let plan = Plan {
        listeners: if config.filter.keeps_every_listener() {
            Listeners::None
        } else {
            Listeners::All
        },
        owners: OwnerWalk::NoCgroup,
        ..config.plan()
    };
    let (scope, mut readers) = scope(config)?;
    let collection = pipeline::run(&plan, &scope, &mut readers, |_| CgroupTally::default())?;
    let resolver = RefCell::new(Resolver::new(&config.proc_root, &config.host_root));
    let matrix = matrix(&collection, |tally| Some(tally), &resolver, options.by);
    let mut outcome = collection.outcome();
    let resolver = resolver.into_inner();
    outcome.warnings.extend(resolver.notes());
    report_warnings(&outcome, err)?;
    if options.format == Format::Prometheus {
        let labels = collection.metric_labels();
        prometheus::workloads(
            out,
            &matrix,
            options.top.unwrap_or(DEFAULT_TOP_WORKLOADS),
            outcome.counted(config.filter.states),
            &|tag| labels.get(&tag).cloned(),
        )?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "workloads",
                outcome: Some(&outcome),
                duration: began.elapsed(),
                netns: collection.one_metric_label(),
            },
        )?;
        out.flush()?;
        return Ok(());
    }
    let mut matrix = matrix;
    let view = collection.view(|tally| {
        let mut row = crate::model::StateRow::default();
        for counts in tally.by_id.values().chain(tally.minisockets.values()) {
            row.merge(counts);
        }
        for &(_, state) in &tally.no_id {
            row.add(state);
        }
        row
    });
    let cut = TopCut::apply(&mut matrix.rows, options.top);
    let report = WorkloadsReport {
        matrix: &matrix,
        by: options.by,
        outcome: &outcome,
        filter: &config.filter,
        all_states: options.all_states,
        netns: &view,
        cut,
        cgroup_mount: resolver.mount().map(|p| p.display().to_string()),
        hostname: collect::host::hostname(&config.proc_root),
        timestamp: super::now_rfc3339(),
    };
    if options.format == Format::Json {
        json::write_line(out, &view::json(&report))?;
    } else {
        view::table(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}

/// Every namespace's tally (`tally` finds it in the namespace's part) grouped under `by`,
/// merged (rows keep their namespace).
pub fn matrix<P>(
    collection: &Collection<P>,
    tally: impl Fn(&P) -> Option<&CgroupTally>,
    resolver: &RefCell<Resolver>,
    by: crate::model::workload::WorkloadBy,
) -> WorkloadMatrix {
    let none = OwnerMap::default();
    let owners = collection.owners.as_ref().unwrap_or(&none);
    let parts: Vec<WorkloadMatrix> = collection
        .reads()
        .filter_map(|(netns, read)| Some((netns, read, tally(&read.part)?)))
        .map(|(netns, read, tally)| {
            // Without a listener pass, the dump's own listeners (it held them all).
            let listeners = if read.listeners.is_empty() {
                &tally.listeners
            } else {
                &read.listeners
            };
            WorkloadMatrix::build(
                Collection::<()>::tag(netns),
                tally,
                listeners,
                by,
                &mut |id| resolver.borrow_mut().of_id(id),
                &mut |inode| {
                    let pid = owners.owner_processes(inode).next()?.pid;
                    resolver.borrow_mut().of_pid(pid)
                },
            )
        })
        .collect();
    WorkloadMatrix::merge(parts)
}
