//! `tcpstat ports`: sockets per port and state, as a table, JSON or Prometheus text.

use std::io::Write;
use std::time::Instant;

use super::{report_warnings, scope};
use crate::aggregate::{bound_ports, PortBudget, PortGrouping, PortMatrix, PortRow};
use crate::collect::host;
use crate::config::{Config, Format, PortsOptions, DEFAULT_TOP_PORTS};
use crate::error::Error;
use crate::model::{Filter, Listeners, Plan, StateRow};
use crate::pipeline::{self, Collection, Context};
use crate::render::{json, prometheus, table, PortsReport, TopCut};

/// What `ports` and the port metrics read: the selected sockets, every listening socket
/// first (they decide which side of a connection is the service), and the ephemeral port
/// range (it decides for connections whose listener is gone).
pub fn port_plan(config: &Config) -> Plan {
    Plan {
        listeners: Listeners::All,
        port_range: true,
        ..config.plan()
    }
}

/// The port matrix of one namespace, with its selected listeners: what `ports` (every
/// format) and `serve` count into.
pub fn port_matrix(grouping: PortGrouping, filter: &Filter, ctx: &Context<'_>) -> PortMatrix {
    PortMatrix::with_listeners(
        grouping,
        ctx.listening.clone(),
        ctx.ephemeral,
        ctx.selected_listeners(filter),
    )
}

/// Every namespace's port rows, tagged with it (service ports are a per-namespace notion) and
/// merged busiest first: what `ports` and the port metrics print.
pub fn merged_rows<P>(
    collection: &Collection<P>,
    matrix: impl Fn(&P) -> &PortMatrix,
) -> Vec<PortRow> {
    let mut rows: Vec<PortRow> = Vec::new();
    for (netns, read) in collection.reads() {
        let tag = Collection::<()>::tag(netns);
        rows.extend(
            matrix(&read.part)
                .rows()
                .into_iter()
                .map(|r| PortRow { netns: tag, ..r }),
        );
    }
    rows.sort_by(|a, b| {
        b.counts
            .total()
            .cmp(&a.counts.total())
            .then(a.netns.cmp(&b.netns))
            .then(a.port.cmp(&b.port))
            .then(a.direction.cmp(&b.direction))
    });
    rows
}

pub fn run(
    config: &Config,
    options: &PortsOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let began = Instant::now();
    let (scope, mut readers) = scope(config)?;
    let collection = pipeline::run(&port_plan(config), &scope, &mut readers, |ctx| {
        port_matrix(options.grouping, &config.filter, ctx)
    })?;
    let outcome = collection.outcome();
    report_warnings(&outcome, err)?;
    let mut rows = merged_rows(&collection, |matrix| matrix);
    if options.format == Format::Prometheus {
        let budget = PortBudget {
            listening: options.top_listening,
            others: options.top.unwrap_or(DEFAULT_TOP_PORTS),
        };
        let bounded = bound_ports(&rows, budget);
        let labels = collection.metric_labels();
        prometheus::ports(
            out,
            &bounded,
            outcome.counted(config.filter.states),
            &|tag| labels.get(&tag).cloned(),
        )?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "ports",
                outcome: Some(&outcome),
                duration: began.elapsed(),
                netns: collection.one_metric_label(),
            },
        )?;
        out.flush()?;
        return Ok(());
    }
    // Each socket is in exactly one row of its namespace: the rows add up to its sockets.
    let view = collection.view(|matrix| {
        let mut sum = StateRow::default();
        for r in matrix.rows() {
            sum.merge(&r.counts);
        }
        sum
    });
    let cut = TopCut::apply(&mut rows, options.top);
    let report = PortsReport {
        rows: &rows,
        outcome: &outcome,
        filter: &config.filter,
        all_states: options.all_states,
        grouping: options.grouping,
        netns: &view,
        cut,
        hostname: host::hostname(&config.proc_root),
        timestamp: super::now_rfc3339(),
    };
    if options.format == Format::Json {
        json::write_line(out, &json::ports(&report))?;
    } else {
        table::ports(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}
