//! `tcpstat summary`: sockets per state and family, as a table, JSON or Prometheus text.

use std::io::Write;
use std::time::Instant;

use super::{report_warnings, scope};
use crate::collect::host;
use crate::config::{Config, Format};
use crate::error::Error;
use crate::model::StateCounts;
use crate::pipeline;
use crate::render::{json, prometheus, table, SummaryReport};

pub fn run(
    config: &Config,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let began = Instant::now();
    let (scope, mut readers) = scope(config)?;
    // A census streams: memory for the counts, not for the sockets.
    let collection = pipeline::run(&config.plan(), &scope, &mut readers, |_| StateCounts::new())?;
    let outcome = collection.outcome();
    report_warnings(&outcome, err)?;
    let mut counts = StateCounts::new();
    for part in collection.parts() {
        counts.merge(part);
    }
    if format == Format::Prometheus {
        // One set of series per namespace, labelled with it (tcpstat's own has no label).
        let labels = collection.metric_labels();
        let parts: Vec<(Option<String>, &StateCounts)> = collection
            .reads()
            .map(|(netns, read)| {
                let tag = pipeline::Collection::<()>::tag(netns);
                (labels.get(&tag).cloned(), &read.part)
            })
            .collect();
        prometheus::sockets(
            out,
            &parts,
            outcome.counted(config.filter.states),
            &config.filter.families,
        )?;
        prometheus::meta(
            out,
            &prometheus::Meta {
                report: "summary",
                outcome: Some(&outcome),
                duration: began.elapsed(),
                netns: collection.one_metric_label(),
            },
        )?;
        out.flush()?;
        return Ok(());
    }
    let view = collection.view(StateCounts::row);
    let report = SummaryReport {
        counts: &counts,
        outcome: &outcome,
        filter: &config.filter,
        hostname: host::hostname(&config.proc_root),
        timestamp: super::now_rfc3339(),
        netns: &view,
    };
    if format == Format::Json {
        json::write_line(out, &json::SummaryJson::new(&report))?;
    } else {
        table::summary(out, &report, table::Paint(config.color))?;
    }
    out.flush()?;
    Ok(())
}
