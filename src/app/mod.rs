//! The subcommands: each one builds its [`crate::model::Plan`], runs it through the
//! [`crate::pipeline`], aggregates and picks its renderer.
//!
//! Owns: dispatch (the one place a [`Task`] becomes a run) and what every subcommand shares:
//! saying an outcome's warnings on stderr, and the time of a report. One file per subcommand;
//! `watch` and `serve` are loops over the same pipeline.

mod check;
mod doctor;
mod doctor_at;
pub mod health;
mod history;
mod list;
mod ports;
mod procs;
mod record;
mod replay;
mod serve;
mod summary;
pub mod watch;
pub(crate) mod workloads;

use std::io::{self, Write};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::collect::workloads::Resolver;
use crate::config::{Config, Task};
use crate::error::{Error, Exit};
use crate::model::netns::Scope;
use crate::model::{CgroupMatch, Outcome, SourceChoice};
use crate::pipeline::Readers;
use crate::render;

pub use ports::port_matrix;

/// Runs one invocation, writing results to `out` and warnings to `err`; says how it ended
/// (0, or `doctor`'s and `check`'s own statuses).
pub fn run(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, Error> {
    let done = |result: Result<(), Error>| result.map(|()| Exit::SUCCESS);
    let resolved;
    let config = if config.filter.workloads.is_empty() {
        config
    } else {
        resolved = with_cgroups(config)?;
        &resolved
    };
    match &config.task {
        Task::Generate { target, dir } => {
            done(crate::generate::write(*target, dir.as_deref(), out))
        }
        Task::Summary { format } => done(summary::run(config, *format, out, err)),
        Task::Ports(options) => done(ports::run(config, options, out, err)),
        Task::Procs(options) => done(procs::run(config, options, out, err)),
        Task::Workloads(options) => done(workloads::run(config, options, out, err)),
        Task::List(options) => done(list::run(config, options, out, err)),
        Task::Health(options) => done(health::run(config, options, out, err)),
        Task::Watch(options) => done(watch::run(config, options, out, err)),
        Task::Doctor {
            thresholds,
            json,
            at: Some(at),
            db,
        } => doctor_at::run(config, thresholds, *json, *at, db, out),
        Task::Doctor {
            thresholds, json, ..
        } => doctor::run(config, thresholds, *json, out, err),
        Task::Check(options) => check::run(config, options, out, err),
        Task::Serve(options) => done(serve::run(config, options, err)),
        Task::Record(options) => done(record::run(config, options, err)),
        Task::History(options) => match &options.replay {
            Some(replay) => done(replay::run(options, replay, out, err)),
            None => done(history::run(config, options, out, err)),
        },
    }
}

/// `--cgroup` and `--workload` resolved into the cgroup ids the filter selects (the cgroups
/// that exist now: `watch` and `serve` do not pick up cgroups made later).
fn with_cgroups(config: &Config) -> Result<Config, Error> {
    let mut resolver = Resolver::new(&config.proc_root, &config.host_root);
    let ids = resolver
        .select(&config.filter.workloads)
        .map_err(Error::Usage)?;
    // /proc/net/tcp has no cgroup ids: a socket is the workload's when a process of its
    // cgroups holds it (read now, from their cgroup.procs and fds).
    let by_inode = config.source == SourceChoice::Proc;
    let inodes = if by_inode {
        resolver.socket_inodes(&ids)
    } else {
        Default::default()
    };
    let mut config = config.clone();
    config.filter.cgroups = Some(CgroupMatch {
        ids: Arc::new(ids),
        ports: Arc::default(),
        inodes: Arc::new(inodes),
        by_inode,
    });
    Ok(config)
}

/// The namespaces a one-shot run reads, with the readers it reads them through.
fn scope(config: &Config) -> Result<(Scope, Readers), Error> {
    let mut readers = Readers::naming_workloads(&config.proc_root, &config.host_root);
    let scope = readers.resolve(&config.netns, &config.proc_root)?;
    Ok((scope, readers))
}

/// Says on stderr, once, what made the numbers partial or where they came from instead.
pub fn report_warnings(outcome: &Outcome, err: &mut dyn Write) -> io::Result<()> {
    if let Some(reason) = &outcome.fallback_reason {
        writeln!(
            err,
            "tcpstat: warning: netlink unavailable ({}); reading /proc instead",
            render::text::escape(reason)
        )?;
    }
    for warning in &outcome.warnings {
        writeln!(err, "tcpstat: warning: {}", render::text::escape(warning))?;
    }
    Ok(())
}

/// Now, as RFC 3339 in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `t` as RFC 3339 in UTC with milliseconds.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    render::text::rfc3339_utc(d.as_secs(), d.subsec_millis())
}
