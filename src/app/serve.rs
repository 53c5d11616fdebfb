//! `tcpstat serve`: the pipeline run once per scrape, for the HTTP server of `crate::serve`.
//!
//! Owns: the plan of a scrape and the sink its sockets go into ([`Scrape`]), and the body of
//! `/metrics`. Port rows come from the same matrix `tcpstat ports` builds
//! ([`port_matrix`]), so a scrape and `ports --format prometheus` cannot disagree on a
//! listener. The readers (one netlink socket per namespace) are kept between scrapes.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::time::Instant;

use super::ports::{merged_rows, port_matrix};
use crate::aggregate::port_health::{HealthScrape, HealthSeries, PortHealth};
use crate::aggregate::workloads::{CgroupTally, WorkloadMatrix};
use crate::aggregate::{
    bound_ports, BoundedPorts, CommandRows, PortBudget, PortGrouping, PortMatrix, ProcMatrix,
};
use crate::collect::workloads::Resolver;
use crate::config::{Config, ServeOptions};
use crate::error::Error;
use crate::model::workload::WorkloadBy;
use crate::model::{
    Listeners, Outcome, OwnerMap, OwnerWalk, Plan, Sink, Snapshot, SocketDetail, SocketRecord,
    StateCounts, StateSet,
};
use crate::pipeline::{self, Collection, Readers};
use crate::render::prometheus::{self, Meta};
use crate::serve::{self, Export, Exporter, Settings};

/// Serves until SIGTERM (exit 0) or Ctrl-C / SIGHUP ([`Error::Interrupted`]).
pub fn run(config: &Config, options: &ServeOptions, err: &mut dyn Write) -> Result<(), Error> {
    let settings = Settings {
        listen: options.listen,
        max_connections: options.max_connections,
    };
    let exporter = MetricsExporter {
        config: config.clone(),
        options: options.clone(),
        readers: Readers::default(),
        resolver: options
            .workloads
            .then(|| RefCell::new(Resolver::new(&config.proc_root, &config.host_root))),
        health: options
            .health
            .map(|_| HealthSeries::new(options.top_listening + options.top_ports)),
    };
    serve::run(&settings, exporter, err)
}

/// The exporter: what it needs between scrapes.
struct MetricsExporter {
    config: Config,
    options: ServeOptions,
    /// Kept between scrapes: one netlink socket per namespace read.
    readers: Readers,
    /// With `--workloads`, kept between scrapes: each cgroup is looked up once, and the
    /// hierarchy walked again only when an unknown id turns up.
    resolver: Option<RefCell<Resolver>>,
    /// With `--health`: the histograms and counters, and each connection's retransmits at
    /// the previous scrape.
    health: Option<HealthSeries>,
}

impl Exporter for MetricsExporter {
    fn export(&mut self) -> Export {
        let began = Instant::now();
        let result = collect(
            &self.config,
            &self.options,
            &mut self.readers,
            self.resolver.as_ref(),
            self.health.as_mut(),
        );
        let duration = began.elapsed();
        let mut body = Vec::with_capacity(16 * 1024);
        let written = write_body(&mut body, &self.config, &result, duration);
        if written.is_err() {
            // Writing to memory cannot fail; an empty body would still parse.
            body.clear();
        }
        match result {
            Ok(m) => {
                let mut warnings = m.outcome.warnings;
                if let Some(reason) = m.outcome.fallback_reason {
                    warnings.push(format!(
                        "netlink unavailable ({reason}); reading /proc instead"
                    ));
                }
                Export {
                    body,
                    error: None,
                    warnings,
                }
            }
            Err(e) => Export {
                body,
                error: Some(e.report()),
                warnings: Vec::new(),
            },
        }
    }

    fn recover(&mut self) {
        // A panic may have left a reader mid-dump: start afresh. (The health series are
        // counters: they are kept.)
        self.readers = Readers::default();
    }
}

/// The families of one scrape: sockets, ports, processes (with `--processes`), and where they
/// came from; only the latter when the collection failed.
fn write_body(
    body: &mut Vec<u8>,
    config: &Config,
    result: &Result<Metrics, Error>,
    duration: std::time::Duration,
) -> io::Result<()> {
    let Ok(m) = result else {
        return prometheus::meta(
            body,
            &Meta {
                report: "serve",
                outcome: None,
                duration,
                netns: None,
            },
        );
    };
    let label = |tag: u64| m.labels.get(&tag).cloned();
    let parts: Vec<(Option<String>, &StateCounts)> =
        m.counts.iter().map(|(tag, c)| (label(*tag), c)).collect();
    prometheus::sockets(body, &parts, m.counted, &config.filter.families)?;
    prometheus::ports(body, &m.ports, m.counted, &label)?;
    if let Some((commands, matrix)) = &m.processes {
        prometheus::processes(body, commands, matrix, m.counted, &label)?;
    }
    if let Some((matrix, top)) = &m.workloads {
        prometheus::workloads(body, matrix, *top, m.counted, &label)?;
    }
    if let Some(health) = &m.health {
        prometheus::port_health(body, &health.rows, &health.folded, &label)?;
    }
    prometheus::meta(
        body,
        &Meta {
            report: "serve",
            outcome: Some(&m.outcome),
            duration,
            netns: m.one_label.clone(),
        },
    )
}

/// Everything `serve` exports, from one collection.
#[derive(Debug)]
struct Metrics {
    /// Per namespace, by tag.
    counts: Vec<(u64, StateCounts)>,
    /// The `netns` label of each namespace read but tcpstat's own, by tag.
    labels: HashMap<u64, String>,
    /// The label of the one namespace asked for, if not tcpstat's own.
    one_label: Option<String>,
    ports: BoundedPorts,
    /// With `--processes`.
    processes: Option<(CommandRows, ProcMatrix)>,
    /// With `--workloads`: the matrix and how many workloads get series.
    workloads: Option<(WorkloadMatrix, usize)>,
    /// With `--health`.
    health: Option<HealthScrape>,
    /// States counted: selected and visible to the source.
    counted: StateSet,
    outcome: Outcome,
}

/// One namespace's sockets counted per state and per service port in one pass, and held
/// (for their owners) only with `--processes`.
struct Scrape {
    counts: StateCounts,
    ports: PortMatrix,
    records: Option<Snapshot>,
    /// With `--workloads`.
    cgroups: Option<CgroupTally>,
    /// With `--health`.
    health: Option<PortHealth>,
}

impl Scrape {
    /// Everything but health: counts, ports, the records kept, cgroups.
    #[inline]
    fn record_counts(&mut self, record: &SocketRecord) {
        self.counts.record(record);
        self.ports.record(record);
        if let Some(records) = &mut self.records {
            records.record(record);
        }
        if let Some(cgroups) = &mut self.cgroups {
            cgroups.record(record);
        }
    }
}

impl Sink for Scrape {
    fn record(&mut self, record: &SocketRecord) {
        self.record_counts(record);
        if let Some(health) = &mut self.health {
            health.record(record);
        }
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        match &mut self.health {
            Some(health) => health.record_detail(record, detail),
            None => return self.record(record),
        }
        self.record_counts(record);
    }

    fn reset(&mut self) -> bool {
        self.counts.reset()
            & self.ports.reset()
            & self.records.as_mut().is_none_or(Snapshot::reset)
            & self.cgroups.as_mut().is_none_or(CgroupTally::reset)
            & self.health.as_mut().is_none_or(PortHealth::reset)
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        if let Some(records) = &self.records {
            records.owners_wanted(wanted);
        }
        if let Some(cgroups) = &self.cgroups {
            cgroups.owners_wanted(wanted);
        }
    }
}

/// One collection for a scrape, through the readers `serve` keeps between scrapes.
fn collect(
    config: &Config,
    options: &ServeOptions,
    readers: &mut Readers,
    resolver: Option<&RefCell<Resolver>>,
    health: Option<&mut HealthSeries>,
) -> Result<Metrics, Error> {
    let plan = Plan {
        listeners: Listeners::All,
        port_range: true,
        owners: if options.processes {
            OwnerWalk::Every
        } else if options.workloads {
            // Only sockets without a cgroup id (the /proc source) need their owners.
            OwnerWalk::NoCgroup
        } else {
            OwnerWalk::None
        },
        extensions: crate::model::Extensions {
            info: health.is_some(),
            memory: false,
        },
        ..config.plan()
    };
    let scope = readers.resolve(&config.netns, &config.proc_root)?;
    let collection = pipeline::run(&plan, &scope, readers, |ctx| Scrape {
        counts: StateCounts::new(),
        ports: port_matrix(PortGrouping::Service, &config.filter, ctx),
        records: options.processes.then(Snapshot::default),
        cgroups: options.workloads.then(CgroupTally::default),
        health: health
            .as_deref()
            .zip(options.health)
            .map(|(series, stall_ms)| {
                let tag = Collection::<()>::tag(ctx.netns);
                PortHealth::new(
                    ctx.listening.clone(),
                    ctx.ephemeral,
                    stall_ms,
                    series.retransmits(tag),
                )
            }),
    })?;
    let mut outcome = collection.outcome();
    let owners: OwnerMap = collection.owners.clone().unwrap_or_default();
    let counts = collection
        .reads()
        .map(|(netns, read)| (Collection::<()>::tag(netns), read.part.counts.clone()))
        .collect();
    let rows = merged_rows(&collection, |scrape| &scrape.ports);
    let processes = options.processes.then(|| {
        let parts: Vec<(u64, ProcMatrix)> = collection
            .reads()
            .map(|(netns, read)| {
                let records = read.part.records.as_ref().map_or(&[][..], |s| &s.0[..]);
                let tag = Collection::<()>::tag(netns);
                (tag, ProcMatrix::build(records, &[], &owners))
            })
            .collect();
        let matrix = ProcMatrix::merge(parts);
        (matrix.by_command(options.top_processes), matrix)
    });
    let workloads = resolver.map(|resolver| {
        resolver.borrow_mut().refresh();
        let matrix = super::workloads::matrix(
            &collection,
            |scrape| scrape.cgroups.as_ref(),
            resolver,
            WorkloadBy::Workload,
        );
        (matrix, options.top_workloads)
    });
    if let Some(resolver) = resolver {
        outcome.warnings.extend(resolver.borrow().notes());
    }
    if health.is_some() && outcome.source == crate::model::SourceKind::Proc {
        outcome.warnings.push(
            "--health: /proc has no tcp_info; RTT, retransmit and stall series are absent"
                .to_string(),
        );
    }
    let mut collection = collection;
    let health = health.map(|series| {
        let parts = collection
            .namespaces
            .iter_mut()
            .filter_map(|n| {
                let tag = Collection::<()>::tag(n.netns.as_ref());
                let read = n.read.as_mut().ok()?;
                Some((tag, read.part.health.take()?))
            })
            .collect();
        series.add(parts)
    });
    let budget = PortBudget {
        listening: options.top_listening,
        others: options.top_ports,
    };
    Ok(Metrics {
        counted: outcome.counted(config.filter.states),
        counts,
        labels: collection.metric_labels(),
        one_label: collection.one_metric_label(),
        ports: bound_ports(&rows, budget),
        processes,
        workloads,
        health,
        outcome,
    })
}
