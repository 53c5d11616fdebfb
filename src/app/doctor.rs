//! `tcpstat doctor`: findings from the sockets, their owners and the kernel's settings.

use std::io::Write;
use std::sync::Arc;

use super::{report_warnings, scope};
use crate::collect::host;
use crate::collect::workloads::Resolver;
use crate::config::Config;
use crate::diagnose::{self, Census, Severity, Subject, Thresholds, WorkloadEvidence};
use crate::error::{Error, Exit, ExitCode};
use crate::model::workload::{claim, port_claims, Workload};
use crate::model::{
    Extensions, KernelFacts, Listeners, OwnerMap, OwnerWalk, Plan, SocketRecord, SourceChoice,
    SourceKind,
};
use crate::pipeline;
use crate::render::{self, json, table, DoctorReport};

pub fn run(
    config: &Config,
    thresholds: &Thresholds,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Error> {
    // The sockets into a census (counts, and detail only for the states a check looks at
    // closely), the listeners (they decide the service side and are judged themselves), the
    // kernel's settings and counters, and the owners of what a finding names a process for.
    // tcp_info too (retransmits, windows, stalls, RTTs): the kernel sends it only for full
    // sockets, so the TIME_WAIT and SYN_RECV minisockets of a busy table cost nothing more,
    // and the census keeps per-peer sums, not the sockets. Not asked of /proc, which has none
    // (its checks are then "not checked", which says why; a fallback to /proc also warns).
    let base = config.plan();
    let plan = Plan {
        listeners: Listeners::All,
        owners: OwnerWalk::Wanted,
        kernel_facts: true,
        extensions: Extensions {
            info: base.source != SourceChoice::Proc,
            memory: false,
        },
        ..base
    };
    let (scope, mut readers) = scope(config)?;
    let collection = pipeline::run(&plan, &scope, &mut readers, |ctx| {
        Census::new(
            ctx.listening.clone(),
            ctx.port_range,
            ctx.selected_listeners(&config.filter).copied().collect(),
        )
    })?;
    let outcome = collection.outcome();
    report_warnings(&outcome, err)?;
    let owners = collection.owners.clone().unwrap_or_default();
    let Some((_, read)) = collection.reads().next() else {
        return Err(Error::Netns {
            netns: "(none)".into(),
            problem: "no network namespace could be read".into(),
            source: None,
        });
    };
    let facts: KernelFacts = read.facts.clone().unwrap_or_default();
    let census = &read.part;
    let reason = |state| outcome.not_counted_reason(state);
    let mut diagnosis = diagnose::diagnose(&diagnose::Inputs {
        census,
        listeners: &census.listeners,
        owners: &owners,
        facts: &facts,
        thresholds,
        counted: outcome.counted(config.filter.states),
        not_counted_reason: &reason,
        backlog_known: outcome.source == SourceKind::Netlink,
        // The /proc source has no tcp_info: those checks are not judged, never "ok".
        health: (outcome.source == SourceKind::Netlink).then_some(&census.health),
    });
    name_workloads(config, &mut diagnosis, &read.listeners, &owners, err)?;
    let code = match diagnosis.worst() {
        Severity::Ok | Severity::Info => ExitCode::Ok,
        Severity::Warning => ExitCode::Warning,
        Severity::Critical => ExitCode::Critical,
    };
    let view = collection.view(|census| census.counts.row());
    let report = DoctorReport {
        diagnosis: &diagnosis,
        thresholds,
        facts: &facts,
        outcome: &outcome,
        hostname: host::hostname(&config.proc_root),
        timestamp: super::now_rfc3339(),
        exit_code: code as u8,
        netns: &view,
    };
    if as_json {
        json::write_line(out, &render::doctor::json(&report))?;
    } else {
        render::doctor::text(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(Exit::Code(code))
}

/// Names the workload (service, container, pod) of each finding about a process or a
/// listening socket, from the process's cgroup or the listener's cgroup id.
fn name_workloads(
    config: &Config,
    diagnosis: &mut diagnose::Diagnosis,
    listeners: &[SocketRecord],
    owners: &OwnerMap,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut resolver = Resolver::new(&config.proc_root, &config.host_root);
    let by_port = port_claims(listeners);
    let of_listener = |l: &SocketRecord, resolver: &mut Resolver| -> Option<Arc<Workload>> {
        resolver.of_claim(claim(l, &by_port), Some(owners))
    };
    for f in &mut diagnosis.findings {
        let workload = match &f.subject {
            Subject::Process { pid, .. } => resolver.of_pid(*pid),
            Subject::Listener { address, port } => listeners
                .iter()
                .find(|l| l.local == *address && l.local_port == *port)
                .and_then(|l| of_listener(l, &mut resolver)),
            Subject::Port(port) => listeners
                .iter()
                .find(|l| l.local_port == *port)
                .and_then(|l| of_listener(l, &mut resolver)),
            _ => None,
        };
        f.evidence.workload = workload.map(|w| WorkloadEvidence {
            name: w.name(),
            kind: w.kind().key(),
            cgroup: w.cgroup.clone(),
        });
    }
    for note in resolver.notes() {
        writeln!(
            err,
            "tcpstat: warning: {}",
            crate::render::text::escape(&note)
        )?;
    }
    Ok(())
}
