//! What `/metrics` exports: one run of the pipeline per scrape, counted per state, per
//! service port and (with `--processes`) per command.
//!
//! Owns: the plan of a scrape and the sink its sockets go into ([`Scrape`]). Port rows come
//! from the same matrix `tcpstat ports` builds ([`crate::app::port_matrix`]), so a scrape and
//! `ports --format prometheus` cannot disagree on a listener.

use std::collections::HashSet;

use crate::aggregate::{
    bound_ports, BoundedPorts, CommandRows, PortGrouping, PortMatrix, ProcMatrix,
};
use crate::config::{Config, ServeOptions};
use crate::error::Error;
use crate::model::{
    Listeners, Outcome, OwnerMap, OwnerWalk, Plan, Sink, Snapshot, SocketRecord, StateCounts,
    StateSet,
};
use crate::pipeline::{self, Readers};

/// Everything `serve` exports, from one collection.
#[derive(Debug)]
pub struct Metrics {
    pub counts: StateCounts,
    pub ports: BoundedPorts,
    /// With `--processes`.
    pub processes: Option<(CommandRows, ProcMatrix)>,
    /// States counted: selected and visible to the source.
    pub counted: StateSet,
    pub outcome: Outcome,
}

/// One namespace's sockets counted per state and per service port in one pass, and held
/// (for their owners) only with `--processes`.
struct Scrape {
    counts: StateCounts,
    ports: PortMatrix,
    records: Option<Snapshot>,
}

impl Sink for Scrape {
    fn record(&mut self, record: &SocketRecord) {
        self.counts.record(record);
        self.ports.record(record);
        if let Some(records) = &mut self.records {
            records.record(record);
        }
    }

    fn reset(&mut self) -> bool {
        self.counts.reset() & self.ports.reset() & self.records.as_mut().is_none_or(Snapshot::reset)
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        if let Some(records) = &self.records {
            records.owners_wanted(wanted);
        }
    }
}

/// One collection for a scrape, through the readers `serve` keeps between scrapes.
pub fn collect(
    config: &Config,
    options: &ServeOptions,
    readers: &mut Readers,
) -> Result<Metrics, Error> {
    let plan = Plan {
        listeners: Listeners::All,
        port_range: true,
        owners: if options.processes {
            OwnerWalk::Every
        } else {
            OwnerWalk::None
        },
        ..config.plan()
    };
    let scope = readers.resolve(&config.netns, &config.proc_root)?;
    let collection = pipeline::run(&plan, &scope, readers, |ctx| Scrape {
        counts: StateCounts::new(),
        ports: crate::app::port_matrix(PortGrouping::Service, &config.filter, ctx),
        records: options.processes.then(Snapshot::default),
    })?;
    let outcome = collection.outcome();
    let owners: OwnerMap = collection.owners.clone().unwrap_or_default();
    let mut counts = StateCounts::new();
    let mut rows = Vec::new();
    let mut records = Vec::new();
    for part in collection.parts() {
        counts.merge(&part.counts);
        rows.extend(part.ports.rows());
        if let Some(snap) = &part.records {
            records.extend_from_slice(&snap.0);
        }
    }
    let processes = options.processes.then(|| {
        let matrix = ProcMatrix::build(&records, &[], &owners);
        (matrix.by_command(options.top_processes), matrix)
    });
    Ok(Metrics {
        counted: outcome.counted(config.filter.states),
        counts,
        ports: bound_ports(&rows, options.top_ports),
        processes,
        outcome,
    })
}
