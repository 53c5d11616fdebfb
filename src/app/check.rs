//! `tcpstat check`: a monitoring plugin's verdict on the counts.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::mpsc;

use super::{report_warnings, scope};
use crate::check::{self, CheckCounts, Verdict};
use crate::collect;
use crate::config::{CheckOptions, Config};
use crate::error::{Error, Exit, PluginStatus};
use crate::model::Outcome;
use crate::pipeline;
use crate::render;

/// Counts and judges, within `--timeout`. Its errors are returned like every other
/// subcommand's; `main` turns each one (this function's, and those before it, such as a
/// namespace that cannot be found) into an UNKNOWN status line, so no failure can leave
/// stdout empty.
pub fn run(
    config: &Config,
    options: &CheckOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Error> {
    // The collection runs on a thread of its own, so that a read stuck in the kernel (a
    // namespace being torn down, an owner walk over a hung FUSE mount) still ends in an
    // UNKNOWN line before the monitoring system kills the plugin and calls it CRITICAL.
    // The process exits right after the line: a stuck thread is not waited for.
    let (done, finished) = mpsc::channel();
    let (config_, options_) = (config.clone(), options.clone());
    std::thread::Builder::new()
        .name("tcpstat-check".into())
        .spawn(move || {
            let _ = done.send(measure(&config_, &options_));
        })
        .map_err(|source| Error::Thread {
            what: "check thread",
            source,
        })?;
    let (verdict, outcome) = match finished.recv_timeout(options.timeout) {
        Ok(result) => result?,
        Err(_) => {
            return Err(Error::TimedOut {
                after: options.timeout,
            })
        }
    };
    report_warnings(&outcome, err)?;
    render::plugin::status_line(out, &verdict, &outcome, options.verbosity)?;
    out.flush()?;
    Ok(Exit::Plugin(verdict.status))
}

/// The counts, judged.
fn measure(config: &Config, options: &CheckOptions) -> Result<(Verdict, Outcome), Error> {
    let ports: BTreeSet<u16> = options
        .warn
        .iter()
        .chain(&options.crit)
        .filter_map(|t| t.metric.port)
        .collect();
    if config.filter.needs_owners() {
        require_matching_process(config)?;
    }
    let (scope, mut readers) = scope(config)?;
    let collection = pipeline::run(&config.plan(), &scope, &mut readers, |_| {
        CheckCounts::new(ports.iter().copied())
    })?;
    let outcome = collection.outcome();
    let mut counts = CheckCounts::new(ports.iter().copied());
    for part in collection.parts() {
        counts.merge(part);
    }
    let reason = |state| outcome.not_counted_reason(state);
    let mut verdict = check::evaluate(
        &counts,
        outcome.counted(config.filter.states),
        &reason,
        &options.warn,
        &options.crit,
    );
    // A plugin never says OK about what it could not measure (owners it could not read,
    // malformed table lines): an alert on what was counted stands, an OK becomes UNKNOWN.
    if !outcome.complete && verdict.status == PluginStatus::Ok {
        verdict.status = PluginStatus::Unknown;
    }
    Ok((verdict, outcome))
}

/// Fails unless some running process passes the owner filters (`--pid`, `--process`): for a
/// check, "0 sockets" from a filter that matches nothing (a typo, a renamed or stopped
/// service) would be a false OK. A process that exists with no sockets is a true 0.
fn require_matching_process(config: &Config) -> Result<(), Error> {
    let filter = &config.filter;
    let found = collect::owners::find_process(
        &config.proc_root,
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
