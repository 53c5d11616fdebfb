//! `tcpstat health`: connection health (RTT percentiles, retransmits, zero windows, stalls,
//! queued bytes) by service port or peer, from each connection's `tcp_info`.

use std::io::Write;

use super::{report_warnings, scope};
use crate::aggregate::health::{HealthBy, HealthKey, HealthRow, HealthTally};
use crate::collect::host;
use crate::collect::workloads::Resolver;
use crate::config::{Config, HealthOptions};
use crate::error::Error;
use crate::model::{Extensions, OwnerWalk, StateSet, TcpState};
use crate::pipeline::{self, Collection};
use crate::render::health::{write_json, write_table, HealthReport};

pub fn run(
    config: &Config,
    options: &HealthOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    // The listeners and the ephemeral range decide the service side (as `ports`); tcp_info
    // is asked from the kernel for this dump only.
    let mut plan = crate::model::Plan {
        extensions: Extensions {
            info: true,
            memory: false,
        },
        ..super::ports::port_plan(config)
    };
    if options.by == HealthBy::Process {
        plan.owners = OwnerWalk::Wanted;
    }
    // Health leaves out listeners, TIME_WAIT and bound-only sockets (no peer, no tcp_info
    // worth reading): the kernel need not send them. TIME_WAIT is a quarter of a busy table,
    // and CLOSED a walk of the bind hash of its own. (The listeners still come from the
    // listener pass: they decide the service side.)
    let left_out = StateSet::of(TcpState::Listen)
        .union(StateSet::of(TcpState::TimeWait))
        .union(StateSet::of(TcpState::Closed));
    plan.filter.states = plan.filter.states.without(left_out);
    let (scope, mut readers) = scope(config)?;
    let collection = pipeline::run(&plan, &scope, &mut readers, |ctx| {
        HealthTally::new(
            options.by,
            ctx.listening.clone(),
            ctx.ephemeral,
            options.stall_ms,
        )
    })?;
    let mut outcome = collection.outcome();
    let owners = collection.owners.clone().unwrap_or_default();
    let mut resolver = (options.by == HealthBy::Workload)
        .then(|| Resolver::new(&config.proc_root, &config.host_root));
    let mut collection = collection;
    let mut rows: Vec<HealthRow> = Vec::new();
    for n in &mut collection.namespaces {
        let tag = Collection::<()>::tag(n.netns.as_ref());
        let Ok(read) = n.read.as_mut() else {
            continue;
        };
        let tally = &mut read.part;
        if options.by == HealthBy::Process {
            tally.count_owners(|inode| {
                owners
                    .owner_processes(inode)
                    .map(|p| (p.pid, p.command.clone()))
                    .collect()
            });
        }
        if let Some(resolver) = &mut resolver {
            tally.regroup(|key| match *key {
                HealthKey::Cgroup(id) if id != 0 => {
                    let workload = resolver.of_id(id);
                    HealthKey::Workload(Some((workload.name(), workload.kind().key())))
                }
                _ => HealthKey::Workload(None),
            });
        }
        rows.extend(tally.rows(tag));
    }
    if let Some(resolver) = &resolver {
        outcome.warnings.extend(resolver.notes());
    }
    report_warnings(&outcome, err)?;
    rows.sort_by(|a, b| {
        b.retransmitted_segments
            .cmp(&a.retransmitted_segments)
            .then(b.sockets.cmp(&a.sockets))
            .then(a.netns.cmp(&b.netns))
            .then(a.key.cmp(&b.key))
    });
    let omitted = match options.top {
        Some(top) if rows.len() > top => {
            let omitted = rows.len() - top;
            rows.truncate(top);
            omitted
        }
        _ => 0,
    };
    let view = collection.view(|_| crate::model::StateRow::default());
    let timestamp = super::now_rfc3339();
    let hostname = host::hostname(&config.proc_root);
    let report = HealthReport {
        rows: &rows,
        omitted,
        stall_ms: options.stall_ms,
        outcome: &outcome,
        netns: &view,
        timestamp: &timestamp,
        hostname: hostname.as_deref(),
    };
    if options.json {
        write_json(out, &report)?;
    } else {
        write_table(out, &report)?;
    }
    Ok(())
}
