//! `tcpstat record`: the pipeline run every `--interval`, each run stored as one sample in
//! the history database ([`crate::store`]).
//!
//! Owns: the plan of a sample and the sink its sockets go into ([`Tick`]: per-state counts,
//! the port matrix `ports` builds, the cgroup tally `workloads` builds, in one pass), turning
//! a collection into a [`Sample`] (ports and workloads capped, the rest folded), and the loop:
//! ticks on a fixed grid, SIGTERM/SIGINT/SIGHUP end it cleanly (exit 0), a failed write is
//! retried with a back-off, never in a spin.
//!
//! Owners: a walk of `/proc/*/fd` finds the process of every socket that has a file, and the
//! top `--top-processes` by stuck states are stored with their per-state counts. It costs
//! with the descriptors on the host (docs/history.md has figures), so by default
//! (`--processes auto`, [`WalkPacer`]) it runs on every sample only while the walks average
//! under [`WALK_BUDGET`] of a core, and less often on busier hosts. Workloads need no walk: they come from the cgroup id netlink reports
//! for every socket (with the /proc source, which has no cgroup ids, the owners are walked for
//! their cgroups, as `workloads` does).

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::ports::{merged_rows, port_matrix};
use super::workloads::matrix;
use crate::aggregate::workloads::CgroupTally;
use crate::aggregate::{bound_ports, Direction, PortBudget, PortGrouping, PortMatrix};
use crate::collect;
use crate::collect::workloads::Resolver;
use crate::config::{Config, OwnerLookup, RecordOptions};
use crate::error::Error;
use crate::model::history::{
    ListenerSample, PortSample, ProcessSample, Sample, WorkloadSample, MAX_LISTENERS, NO_PROCESS,
    NO_PROCESS_PID, OTHER_PID, OTHER_PROCESSES, OTHER_WORKLOADS, UNATTRIBUTED,
};
use crate::model::workload::WorkloadBy;
use crate::model::{
    KernelState, Listeners, OwnerMap, OwnerWalk, Plan, Sink, SocketRecord, StateCounts, StateRow,
};
use crate::pipeline::{self, Readers};
use crate::store::{self, Recorder, Retention};
use crate::term;

/// The longest pause between two tries of a failing write.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// `--processes auto`: the share of one core the owner walks may take on average.
pub const WALK_BUDGET: f64 = 0.01;

/// When `--processes auto` walks: often enough to spend [`WALK_BUDGET`] of a core, no more.
/// A walk's cost is estimated as the collection time of samples with it minus that of
/// samples without it (wall time: the walk is one thread in system calls, so it is close to
/// its CPU time; contention only makes the estimate larger, the walks rarer).
#[derive(Debug, Default)]
struct WalkPacer {
    /// Collection time of the last sample with a walk, and without.
    with: Option<Duration>,
    without: Option<Duration>,
    last_walk: Option<Instant>,
}

impl WalkPacer {
    fn due(&self, now: Instant) -> bool {
        let (Some(with), Some(last)) = (self.with, self.last_walk) else {
            return true;
        };
        // Until a sample without a walk was timed, the whole collection counts as the walk.
        let cost = with.saturating_sub(self.without.unwrap_or_default());
        now.duration_since(last).as_secs_f64() * WALK_BUDGET >= cost.as_secs_f64()
    }

    fn took(&mut self, walked: bool, began: Instant, took: Duration) {
        if walked {
            self.with = Some(took);
            self.last_walk = Some(began);
        } else {
            self.without = Some(took);
        }
    }
}

/// One namespace's sockets counted per state, per service port and per cgroup in one pass,
/// and (with processes) the state of each socket that has a file, for its owners.
struct Tick {
    counts: StateCounts,
    ports: PortMatrix,
    tally: CgroupTally,
    owned: Option<OwnedTally>,
}

/// The sockets whose owners are looked up: inode and state of those with a file; the
/// others (TIME_WAIT, SYN_RECV, orphans, connections not accepted yet) have no process.
#[derive(Default)]
struct OwnedTally {
    with_file: Vec<(u64, KernelState)>,
    without: StateRow,
}

impl Sink for Tick {
    fn record(&mut self, record: &SocketRecord) {
        self.counts.record(record);
        self.ports.record(record);
        self.tally.record(record);
        if let Some(owned) = &mut self.owned {
            if record.inode == 0 {
                owned.without.add(record.state);
            } else {
                owned.with_file.push((record.inode, record.state));
            }
        }
    }

    fn reset(&mut self) -> bool {
        if let Some(owned) = &mut self.owned {
            *owned = OwnedTally::default();
        }
        self.counts.reset() & self.ports.reset() & self.tally.reset()
    }

    fn counts_mut(&mut self) -> Option<&mut StateCounts> {
        None
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        self.tally.owners_wanted(wanted);
        if let Some(owned) = &self.owned {
            wanted.extend(owned.with_file.iter().map(|&(inode, _)| inode));
        }
    }
}

/// The process rows of a sample: the `top` processes by sockets in stuck states (then by
/// sockets), the rest summed as [`OTHER_PROCESSES`], and the sockets no process holds as
/// [`NO_PROCESS`]. A socket shared by several processes counts in each of their rows.
fn process_rows<'a>(
    parts: impl Iterator<Item = &'a OwnedTally>,
    owners: &OwnerMap,
    top: usize,
) -> Vec<ProcessSample> {
    let mut per_process = vec![StateRow::default(); owners.process_count()];
    let mut unowned = StateRow::default();
    for part in parts {
        unowned.merge(&part.without);
        for &(inode, state) in &part.with_file {
            let found = owners.owners(inode);
            if found.is_empty() {
                unowned.add(state);
            }
            for idx in found {
                per_process[idx.get()].add(state);
            }
        }
    }
    let mut rows: Vec<(&crate::model::Process, StateRow)> = owners
        .processes()
        .zip(per_process)
        .filter(|(_, c)| c.total() > 0)
        .collect();
    rows.sort_by(|a, b| {
        b.1.stuck()
            .cmp(&a.1.stuck())
            .then(b.1.total().cmp(&a.1.total()))
            .then(a.0.pid.cmp(&b.0.pid))
    });
    let mut names = crate::collect::users::Names::new();
    let mut out = Vec::new();
    let mut other = StateRow::default();
    for (i, (p, counts)) in rows.into_iter().enumerate() {
        if i < top {
            out.push(ProcessSample {
                pid: i64::from(p.pid),
                uid: Some(p.uid),
                user: names.name(p.uid).map(str::to_string),
                command: p.command.clone(),
                counts,
            });
        } else {
            other.merge(&counts);
        }
    }
    for (pid, command, counts) in [
        (OTHER_PID, OTHER_PROCESSES, other),
        (NO_PROCESS_PID, NO_PROCESS, unowned),
    ] {
        if counts.total() > 0 {
            out.push(ProcessSample {
                pid,
                uid: None,
                user: None,
                command: command.to_string(),
                counts,
            });
        }
    }
    out
}

/// Records until a stop signal (exit 0) or `--count` samples.
pub fn run(config: &Config, options: &RecordOptions, err: &mut dyn Write) -> Result<(), Error> {
    let stop = term::stop_flag();
    // Signals are taken only while the loop sleeps: a sample is never cut in half.
    term::defer_signals()?;
    let hostname = collect::host::hostname(&config.proc_root).unwrap_or_default();
    let mut recorder = Recorder::open(&options.db, &hostname, options.interval)?;
    let retention = Retention {
        keep: options.keep,
        max_size: options.max_size,
    };
    writeln!(
        err,
        "tcpstat: recording every {} into {} (keeping {} and at most {} bytes)",
        crate::model::duration::format_age(options.interval),
        options.db.display(),
        crate::model::duration::format_age(options.keep),
        options.max_size
    )?;
    err.flush()?;
    let plain = Plan {
        listeners: Listeners::All,
        port_range: true,
        kernel_facts: true,
        owners: OwnerWalk::NoCgroup,
        ..config.plan()
    };
    let walking = Plan {
        owners: OwnerWalk::Wanted,
        ..plain.clone()
    };
    let mut pacer = WalkPacer::default();
    let mut readers = Readers::default();
    let resolver = RefCell::new(Resolver::new(&config.proc_root, &config.host_root));
    let mut next = Instant::now();
    let mut written: u64 = 0;
    let mut failing: Option<(u32, Duration)> = None;
    loop {
        if stop.get().is_some() {
            // Every sample is committed already: a checkpoint that fails (the disk still
            // full) leaves them in the WAL, where the next open finds them. Said, not fatal.
            if let Err(e) = recorder.close() {
                writeln!(err, "tcpstat: warning: {}", e.report())?;
            }
            writeln!(err, "tcpstat: stopped; {written} samples written")?;
            return Ok(());
        }
        let now = Instant::now();
        if now < next {
            // Asleep until the next tick or a signal.
            stop.wait(None, Some(next - now))?;
            continue;
        }
        // On a fixed grid (no drift); a tick missed (a slow write) is skipped, not caught up.
        next += options.interval;
        if next <= now {
            next = now + options.interval;
        }
        let walk = match options.processes {
            OwnerLookup::Always => true,
            OwnerLookup::Never => false,
            OwnerLookup::Auto => pacer.due(now),
        };
        let plan = if walk { &walking } else { &plain };
        let result = sample(config, plan, &mut readers, &resolver, options, walk).and_then(|s| {
            pacer.took(walk, now, Duration::from_micros(s.collect_us));
            recorder.write(&s, retention)
        });
        match result {
            Ok(_) => {
                written += 1;
                if let Some((times, _)) = failing.take() {
                    writeln!(err, "tcpstat: recording again after {times} failed samples")?;
                }
                if options.count.is_some_and(|n| written >= n) {
                    recorder.close()?;
                    return Ok(());
                }
            }
            Err(e) if store::is_transient(&e) || !matches!(e, Error::Store { .. }) => {
                // A full disk, a read-only remount, a collection that failed: said, and tried
                // again after a pause that doubles up to MAX_BACKOFF (the samples meanwhile
                // are lost; the database is as it was after the last good one).
                let (times, pause) = match failing {
                    None => (1, options.interval.max(Duration::from_secs(1))),
                    Some((times, pause)) => (times + 1, (pause * 2).min(MAX_BACKOFF)),
                };
                failing = Some((times, pause));
                writeln!(
                    err,
                    "tcpstat: cannot record a sample: {}; trying again in {}",
                    e.report(),
                    crate::model::duration::format_age(pause)
                )?;
                err.flush()?;
                next = Instant::now() + pause;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One collection, as a sample.
fn sample(
    config: &Config,
    plan: &Plan,
    readers: &mut Readers,
    resolver: &RefCell<Resolver>,
    options: &RecordOptions,
    walk: bool,
) -> Result<Sample, Error> {
    let top = options.top;
    let t_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64;
    let began = Instant::now();
    resolver.borrow_mut().refresh();
    let scope = readers.resolve(&config.netns, &config.proc_root)?;
    let collection = pipeline::run(plan, &scope, readers, |ctx| Tick {
        counts: StateCounts::new(),
        ports: port_matrix(PortGrouping::Service, &config.filter, ctx),
        tally: CgroupTally::default(),
        owned: walk.then(OwnedTally::default),
    })?;
    let outcome = collection.outcome();
    let mut states = StateRow::default();
    for part in collection.parts() {
        states.merge(&part.counts.row());
    }
    let rows = merged_rows(&collection, |tick| &tick.ports);
    let bounded = bound_ports(
        &rows,
        PortBudget {
            listening: top,
            others: top,
        },
    );
    let mut ports: Vec<PortSample> = Vec::new();
    let mut add_port = |port: u16, outgoing: bool, counts: &StateRow, q: Option<_>| {
        let q: Option<crate::aggregate::ListenerQueue> = q;
        // Namespaces merged: the same port in two namespaces is one row.
        let at = match ports
            .iter()
            .position(|p| p.port == port && p.outgoing == outgoing)
        {
            Some(at) => at,
            None => {
                ports.push(PortSample {
                    port,
                    outgoing,
                    backlog: Some(0),
                    ..PortSample::default()
                });
                ports.len() - 1
            }
        };
        let p = &mut ports[at];
        p.counts.merge(counts);
        if let Some(q) = q {
            p.listeners += q.sockets;
            p.queued += q.queued;
            p.backlog = p.backlog.zip(q.backlog).map(|(a, b)| a + b);
        }
    };
    for row in &bounded.rows {
        add_port(
            row.port,
            row.direction == Direction::Out,
            &row.counts,
            row.listener,
        );
    }
    for folded in &bounded.other {
        add_port(
            0,
            folded.direction == Direction::Out,
            &folded.counts,
            folded.listener,
        );
    }
    for p in &mut ports {
        if p.listeners == 0 {
            p.backlog = None;
        }
    }
    let matrix = matrix(
        &collection,
        |tick| Some(&tick.tally),
        resolver,
        WorkloadBy::Workload,
    );
    let mut rows = matrix.rows;
    // Namespaces merged: one row per name.
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows.dedup_by(|b, a| {
        if a.key == b.key {
            a.counts.merge(&b.counts);
            true
        } else {
            false
        }
    });
    rows.sort_by(|a, b| {
        b.counts
            .stuck()
            .cmp(&a.counts.stuck())
            .then(b.counts.total().cmp(&a.counts.total()))
            .then(a.key.cmp(&b.key))
    });
    let mut workloads: Vec<WorkloadSample> = Vec::new();
    let mut other = StateRow::default();
    for (i, row) in rows.iter().enumerate() {
        if i < top {
            workloads.push(WorkloadSample {
                name: row.key.clone(),
                counts: row.counts,
            });
        } else {
            other.merge(&row.counts);
        }
    }
    let mut unattributed = matrix.unattributed;
    unattributed.merge(&matrix.ungrouped);
    for (name, counts) in [(OTHER_WORKLOADS, other), (UNATTRIBUTED, unattributed)] {
        if counts.total() > 0 {
            workloads.push(WorkloadSample {
                name: name.to_string(),
                counts,
            });
        }
    }
    let (counters, _missing) = collect::kernel::tcp_counters(&config.proc_root);
    let processes = match (&collection.owners, walk) {
        (Some(owners), true) => Some(process_rows(
            collection.parts().filter_map(|t| t.owned.as_ref()),
            owners,
            options.top_processes,
        )),
        _ => None,
    };
    let netlink = outcome.source == crate::model::SourceKind::Netlink;
    let mut listeners: Vec<ListenerSample> = collection
        .reads()
        .flat_map(|(_, read)| &read.listeners)
        .filter(|l| l.recv_q > 0)
        .map(|l| ListenerSample {
            address: l.local,
            port: l.local_port,
            queued: u64::from(l.recv_q),
            backlog: netlink.then_some(u64::from(l.send_q)),
        })
        .collect();
    listeners.sort_by(|a, b| b.queued.cmp(&a.queued).then(a.port.cmp(&b.port)));
    listeners.truncate(MAX_LISTENERS);
    let facts = collection
        .reads()
        .next()
        .and_then(|(_, read)| read.facts.clone());
    Ok(Sample {
        processes,
        listeners,
        facts,
        t_ms,
        source: outcome.source.name().to_string(),
        partial: !outcome.complete,
        states,
        ports,
        workloads,
        counters,
        collect_us: began.elapsed().as_micros() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_pacer_keeps_walks_under_their_budget() {
        let t0 = Instant::now();
        let mut pacer = WalkPacer::default();
        assert!(pacer.due(t0), "the first sample walks");
        // A collection of 100 ms with the walk: at 1% of a core, the next walk 10 s later.
        pacer.took(true, t0, Duration::from_millis(100));
        assert!(!pacer.due(t0 + Duration::from_secs(5)));
        assert!(pacer.due(t0 + Duration::from_secs(10)));
        // Once a sample without the walk took 60 ms, the walk is known to cost 40 ms: 4 s.
        pacer.took(
            false,
            t0 + Duration::from_secs(5),
            Duration::from_millis(60),
        );
        assert!(!pacer.due(t0 + Duration::from_secs(3)));
        assert!(pacer.due(t0 + Duration::from_secs(4)));
        // A cheap walk (a small host): every sample.
        pacer.took(true, t0, Duration::from_millis(61));
        assert!(pacer.due(t0 + Duration::from_millis(200)));
    }
}
