//! `tcpstat record`: the pipeline run every `--interval`, each run stored as one sample in
//! the history database ([`crate::store`]).
//!
//! Owns: the plan of a sample and the sink its sockets go into ([`Tick`]: per-state counts,
//! the port matrix `ports` builds, the cgroup tally `workloads` builds, in one pass), turning
//! a collection into a [`Sample`] (ports and workloads capped, the rest folded), and the loop:
//! ticks on a fixed grid, SIGTERM/SIGINT/SIGHUP end it cleanly (exit 0), a failed write is
//! retried with a back-off, never in a spin.
//!
//! Cost: `--cpu-budget` (1% of one core by default) bounds the recorder's CPU over any
//! period, measured around each sample ([`Governor`]): on a host where a sample costs more
//! than the budget allows at `--interval`, the samples are spaced further apart (and the
//! recorder says so) rather than taking more of the machine it watches.
//!
//! Owners: a walk of `/proc/*/fd` finds the process of every socket that has a file, and the
//! top `--top-processes` by stuck states are stored with their per-state counts. It costs
//! with the descriptors on the host (docs/history.md has figures), so by default
//! (`--processes auto`) it runs on every sample only while the walks fit in the CPU budget,
//! and less often on busier hosts. Workloads need no walk: they come from the cgroup id
//! netlink reports for every socket (with the /proc source, which has no cgroup ids, the
//! owners are walked for their cgroups, as `workloads` does).

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

/// With `--processes auto`, the share of the budget kept for the owner walks when the samples
/// alone would take it all (the samples are then spaced further apart to leave it).
const WALK_RESERVE: f64 = 0.25;

/// Weight of the newest sample in the smoothed CPU costs (one slow sample, a retention
/// pass, does not swing the pace; a table that grew tenfold is followed within a few).
const SMOOTHING: f64 = 0.3;

/// The longest spacing the budget may stretch the samples to (the longest `--interval`).
const MAX_SPACING: Duration = Duration::from_secs(3600);

/// The recorder's pace under `--cpu-budget`: when the next sample comes and which samples
/// walk the owners, so that the recorder takes at most the budget of one core. Its whole CPU
/// counts (collection, owner walk, database write, retention: `getrusage` of the process
/// around each sample), measured, not estimated.
///
/// A credit of CPU time: the recorder earns `budget` seconds of CPU per second of wall time
/// and spends what each sample measured; a sample never starts in debt (it waits until the
/// debt is paid). So over any period T the recorder takes at most `budget * T` plus the
/// credit's cap (the cost of one sample) plus the sample in progress, whatever the costs do:
/// a slow start, a spike, an estimate that lags all come back out of later samples.
///
/// Within that, the samples keep a regular spacing: `--interval`, or `base / budget` where a
/// sample without a walk costs `base` and that would pass the budget (less [`WALK_RESERVE`]
/// with `--processes auto`, so the credit grows between samples). With `auto` a sample walks
/// when the credit covers what a walk adds (`with - base`); the first sample walks and the
/// second does not, to learn that. Without a budget the samples keep `--interval` and `auto`
/// walks on every one.
#[derive(Debug)]
struct Governor {
    /// Share of one core (0.01 = 1%), or none.
    budget: Option<f64>,
    lookup: OwnerLookup,
    configured: Duration,
    /// Smoothed CPU seconds of a sample without a walk, and of one with.
    base: Option<f64>,
    with: Option<f64>,
    /// CPU seconds the recorder may spend now; negative: owed.
    credit: f64,
    /// When the credit was last earned up to.
    earned_to: Option<Instant>,
}

/// What the recorder does at its current pace, as it is said on standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pace {
    spacing: Duration,
    /// With `--processes auto`, about how often the owners are looked up, when it is less
    /// often than every sample.
    walk_every: Option<Duration>,
}

impl Governor {
    fn new(budget: Option<f64>, lookup: OwnerLookup, configured: Duration) -> Governor {
        Governor {
            budget,
            lookup,
            configured,
            base: None,
            with: None,
            credit: 0.0,
            earned_to: None,
        }
    }

    /// CPU seconds of one sample as the walks are made: what sets the spacing.
    fn sample_cost(&self) -> Option<f64> {
        match self.lookup {
            OwnerLookup::Always => self.with.or(self.base),
            OwnerLookup::Never => self.base.or(self.with),
            OwnerLookup::Auto => self.base,
        }
    }

    /// The regular time from one sample's start to the next one's (debt may delay a sample
    /// beyond it: [`Governor::paid_at`]).
    fn spacing(&self) -> Duration {
        let (Some(budget), Some(cost)) = (self.budget, self.sample_cost()) else {
            return self.configured;
        };
        let reserve = if self.lookup == OwnerLookup::Auto {
            WALK_RESERVE
        } else {
            0.0
        };
        let needed = cost / (budget * (1.0 - reserve));
        if needed <= self.configured.as_secs_f64() {
            return self.configured;
        }
        Duration::from_secs_f64(needed.min(MAX_SPACING.as_secs_f64()))
    }

    /// The most credit kept: one sample's cost (the dearer kind), at least one interval's
    /// earning; unbounded before anything was measured.
    fn cap(&self) -> f64 {
        let budget = self.budget.unwrap_or(0.0);
        match self.base.into_iter().chain(self.with).reduce(f64::max) {
            Some(cost) => cost.max(budget * self.configured.as_secs_f64()),
            None => f64::INFINITY,
        }
    }

    /// Earns the credit of the time up to `now`.
    fn earn(&mut self, now: Instant) {
        let Some(budget) = self.budget else {
            return;
        };
        if let Some(before) = self.earned_to {
            let earned = budget * now.saturating_duration_since(before).as_secs_f64();
            self.credit = (self.credit + earned).min(self.cap());
        }
        self.earned_to = Some(self.earned_to.map_or(now, |b| b.max(now)));
    }

    /// When the debt (if any) is paid, from `now`.
    fn paid_at(&mut self, now: Instant) -> Instant {
        self.earn(now);
        match self.budget {
            Some(budget) if self.credit < 0.0 => {
                now + Duration::from_secs_f64((-self.credit / budget).min(86_400.0))
            }
            _ => now,
        }
    }

    /// `auto`: the CPU a walk adds, once known (a sample with it and one without measured).
    fn walk_cost(&self) -> Option<f64> {
        Some((self.with? - self.base?).max(0.0))
    }

    /// Whether the sample starting `now` walks the owners.
    fn walks(&mut self, now: Instant) -> bool {
        match self.lookup {
            OwnerLookup::Always => true,
            OwnerLookup::Never => false,
            OwnerLookup::Auto if self.budget.is_none() => true,
            OwnerLookup::Auto => {
                self.earn(now);
                match (self.with, self.base) {
                    // The first sample walks (`--count 1` has its processes); its debt is
                    // paid before the next one.
                    (None, _) => true,
                    // Then a plain one, to learn what a walk adds.
                    (Some(_), None) => false,
                    (Some(_), Some(_)) => self.credit >= self.walk_cost().unwrap_or(0.0),
                }
            }
        }
    }

    /// A sample took `cpu`, with a walk or without: its cost learnt and spent.
    fn took(&mut self, walked: bool, cpu: Duration) {
        let cpu = cpu.as_secs_f64();
        let slot = if walked {
            &mut self.with
        } else {
            &mut self.base
        };
        *slot = Some(slot.map_or(cpu, |old| old + SMOOTHING * (cpu - old)));
        self.spend(Duration::from_secs_f64(cpu));
    }

    /// CPU spent, learnt from or not.
    fn spend(&mut self, cpu: Duration) {
        if self.budget.is_some() {
            self.credit -= cpu.as_secs_f64();
        }
    }

    /// The walks' share of a core once the samples took theirs, and what a walk adds.
    fn walk_share(&self) -> Option<(f64, f64)> {
        let budget = self.budget?;
        let walk = self.walk_cost()?;
        let share = budget - self.base? / self.spacing().as_secs_f64();
        Some((walk, share))
    }

    fn pace(&self) -> Pace {
        let spacing = self.spacing();
        let walk_every = match (self.lookup, self.walk_share()) {
            (OwnerLookup::Auto, Some((walk, share))) => {
                let every = if share > 0.0 {
                    walk / share
                } else {
                    f64::INFINITY
                };
                (every > spacing.as_secs_f64())
                    .then(|| Duration::from_secs_f64(every.min(MAX_SPACING.as_secs_f64() * 24.0)))
            }
            _ => None,
        };
        Pace {
            spacing,
            walk_every,
        }
    }
}

impl Pace {
    /// Whether `self` differs enough from what was said (`said`) to be said again: a spacing
    /// or walk period 20% away, or one appearing or going.
    fn differs(&self, said: &Pace) -> bool {
        let far = |a: Duration, b: Duration| {
            let (a, b) = (a.as_secs_f64(), b.as_secs_f64());
            (a - b).abs() > 0.2 * a.max(b)
        };
        far(self.spacing, said.spacing)
            || match (self.walk_every, said.walk_every) {
                (Some(a), Some(b)) => far(a, b),
                (None, None) => false,
                _ => true,
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
    if options.cpu_budget.is_some() && collect::host::cpu_time().is_none() {
        // Not seen on Linux (getrusage cannot fail for RUSAGE_SELF), but a system call
        // filter could refuse it: said, not silently unbounded.
        writeln!(
            err,
            "tcpstat: warning: cannot measure the recorder's CPU (getrusage refused): \
             --cpu-budget is not applied; samples every {}",
            short(options.interval)
        )?;
    }
    let mut governor = Governor::new(options.cpu_budget, options.processes, options.interval);
    let mut said = governor.pace();
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
        let walk = governor.walks(now);
        let plan = if walk { &walking } else { &plain };
        let cpu_before = collect::host::cpu_time();
        let kept = governor.spacing();
        let result = sample(config, plan, &mut readers, &resolver, options, walk, kept)
            .and_then(|s| recorder.write(&s, retention));
        let cpu = cpu_before
            .zip(collect::host::cpu_time())
            .map(|(a, b)| b.saturating_sub(a));
        if let (Some(cpu), Err(_)) = (cpu, &result) {
            // A sample that failed (a full disk) learns nothing but still spends.
            governor.spend(cpu);
        }
        if result.is_ok() {
            if let Some(cpu) = cpu {
                governor.took(walk, cpu);
            }
            let pace = governor.pace();
            if pace.differs(&said) {
                say_pace(err, &governor, &pace, &said, options)?;
                said = pace;
            }
        }
        // On a grid from the tick's due time (no drift); a tick missed (a slow sample) is
        // skipped, not caught up.
        let spacing = governor.spacing();
        next += spacing;
        if next <= now {
            next = now + spacing;
        }
        // Never in debt: a sample that cost more than its share delays the next one.
        next = next.max(governor.paid_at(Instant::now()));
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

/// Says on standard error how the recorder paces itself now.
fn say_pace(
    err: &mut dyn Write,
    governor: &Governor,
    pace: &Pace,
    said: &Pace,
    options: &RecordOptions,
) -> Result<(), Error> {
    let budget = options.cpu_budget.unwrap_or_default();
    let moved = |now: Pace, before: Pace| now.differs(&before);
    let spacing_only = |p: &Pace| Pace {
        walk_every: None,
        ..*p
    };
    if !moved(spacing_only(pace), spacing_only(said)) {
        // Only the walks' pace moved.
    } else if pace.spacing > options.interval {
        writeln!(
            err,
            "tcpstat: a sample takes {} of CPU: one every {} instead of every {} keeps the \
             recorder within {} of a core (--cpu-budget)",
            short(Duration::from_secs_f64(
                governor.sample_cost().unwrap_or(0.0)
            )),
            short(pace.spacing),
            short(options.interval),
            crate::model::history::format_share(budget),
        )?;
    } else {
        writeln!(err, "tcpstat: recording every {}", short(pace.spacing))?;
    }
    let walks_only = |p: &Pace| Pace {
        spacing: Duration::ZERO,
        ..*p
    };
    if !moved(walks_only(pace), walks_only(said)) {
        // Only the spacing moved.
    } else if let (Some(every), Some((walk, _))) = (pace.walk_every, governor.walk_share()) {
        writeln!(
            err,
            "tcpstat: processes looked up about every {} (a lookup adds {} of CPU; \
             --processes auto keeps them within the budget; samples between hold none)",
            short(every),
            short(Duration::from_secs_f64(walk)),
        )?;
    } else {
        writeln!(err, "tcpstat: processes looked up on every sample")?;
    }
    err.flush()?;
    Ok(())
}

/// A duration as the pace messages say it: `110ms`, `14.7s`, `2m55s`.
fn short(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        crate::model::duration::format_age(d)
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
    kept: Duration,
) -> Result<Sample, Error> {
    let top = options.top;
    let t_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64;
    let began = Instant::now();
    let cpu_before = collect::host::cpu_time();
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
        cpu_us: cpu_before
            .zip(collect::host::cpu_time())
            .map(|(a, b)| b.saturating_sub(a).as_micros() as u64),
        interval_ms: kept.as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs the recorder's loop on a simulated clock for `period`: each sample costs `cost`
    /// (CPU, also its wall time) by whether it walks. The sample times, which walked, and
    /// the CPU spent.
    fn simulate(
        g: &mut Governor,
        period: Duration,
        cost: impl Fn(bool, usize) -> Duration,
    ) -> (Vec<(Duration, bool)>, Duration) {
        let t0 = Instant::now();
        let mut at = t0;
        let mut next = t0;
        let mut samples = Vec::new();
        let mut spent = Duration::ZERO;
        while at.duration_since(t0) < period {
            at = next;
            let walk = g.walks(at);
            let c = cost(walk, samples.len());
            g.took(walk, c);
            spent += c;
            samples.push((at.duration_since(t0), walk));
            next = (at + g.spacing()).max(g.paid_at(at + c));
        }
        (samples, spent)
    }

    #[test]
    fn small_hosts_keep_the_interval_and_walk_every_sample_after_the_first() {
        // 10k sockets: 12 ms a sample, 40 ms with the walk, at 1% and 10 s.
        let mut g = Governor::new(Some(0.01), OwnerLookup::Auto, ms(10_000));
        let (samples, _) = simulate(&mut g, Duration::from_secs(600), |walk, _| {
            ms(if walk { 40 } else { 12 })
        });
        assert!(samples[0].1, "the first sample walks");
        assert!(!samples[1].1, "the second learns what a plain one costs");
        assert!(samples[2..].iter().all(|s| s.1), "{samples:?}");
        let gaps: Vec<u64> = samples
            .windows(2)
            .map(|w| (w[1].0 - w[0].0).as_millis() as u64)
            .collect();
        assert!(gaps.iter().all(|&g| g == 10_000), "{gaps:?}");
        assert_eq!(g.pace().walk_every, None);
    }

    #[test]
    fn large_hosts_space_samples_out_and_walk_less_within_the_budget() {
        // 100k sockets: 110 ms a sample, 360 ms with the walk.
        let mut g = Governor::new(Some(0.01), OwnerLookup::Auto, ms(10_000));
        let hour = Duration::from_secs(3600);
        let (samples, spent) = simulate(&mut g, hour, |walk, _| ms(if walk { 360 } else { 110 }));
        // 110 ms within three quarters of 1%: 14.67 s apart.
        let spacing = g.spacing();
        assert!((spacing.as_secs_f64() - 14.667).abs() < 0.01, "{spacing:?}");
        // The walks get the quarter left: 250 ms at 0.25% of a core, about one every 100 s.
        let every = g.pace().walk_every.expect("walks are rarer than samples");
        assert!((every.as_secs_f64() - 100.0).abs() < 0.1, "{every:?}");
        let walks = samples.iter().filter(|s| s.1).count();
        assert!((30..=40).contains(&walks), "{walks} walks in an hour");
        // The budget holds over the hour, the start included.
        let span = samples.last().expect("samples").0;
        let share = spent.as_secs_f64() / span.as_secs_f64();
        assert!(share <= 0.01 * 1.01, "{share}");
    }

    #[test]
    fn costs_that_change_are_paid_for() {
        // A sample's cost swings between 50 ms and 500 ms (a busy host, retention passes):
        // the smoothed estimate lags, the credit does not let it pass the budget.
        let mut g = Governor::new(Some(0.01), OwnerLookup::Never, ms(10_000));
        let (samples, spent) = simulate(&mut g, Duration::from_secs(6 * 3600), |_, i| {
            ms(if i % 7 == 3 { 500 } else { 50 })
        });
        let span = samples.last().expect("samples").0;
        let share = spent.as_secs_f64() / span.as_secs_f64();
        assert!(share <= 0.01 * 1.01, "{share}");
        // Cheap samples alone would fit at 10 s; the dear ones push the next ones out.
        assert!(samples.len() < 6 * 360, "{}", samples.len());
    }

    #[test]
    fn without_walks_the_whole_budget_sets_the_spacing() {
        let mut g = Governor::new(Some(0.01), OwnerLookup::Never, ms(10_000));
        assert!(!g.walks(Instant::now()));
        g.took(false, ms(1_310));
        assert_eq!(g.spacing(), ms(131_000));
        assert_eq!(g.pace().walk_every, None);
        let mut g = Governor::new(Some(0.01), OwnerLookup::Always, ms(10_000));
        g.took(true, ms(4_190));
        assert_eq!(g.spacing(), ms(419_000));
        // A huge sample: never beyond an hour apart (the debt then delays the next one).
        g.took(true, ms(1_000_000));
        assert_eq!(g.spacing(), MAX_SPACING);
    }

    #[test]
    fn costs_are_smoothed_and_followed() {
        let mut g = Governor::new(Some(0.01), OwnerLookup::Never, ms(10_000));
        g.took(false, ms(100));
        // One slow sample (a retention pass) moves the pace by less than its own size.
        g.took(false, ms(1_100));
        let after_spike = g.spacing().as_secs_f64();
        assert!(after_spike < 110.0 * 0.5, "{after_spike}");
        // A table that stays ten times larger is followed within a few samples.
        for _ in 0..8 {
            g.took(false, ms(1_000));
        }
        assert!(g.spacing().as_secs_f64() > 95.0, "{:?}", g.spacing());
    }

    #[test]
    fn without_a_budget_the_interval_holds_and_auto_always_walks() {
        let mut g = Governor::new(None, OwnerLookup::Auto, ms(10_000));
        let (samples, _) = simulate(&mut g, Duration::from_secs(100), |walk, _| {
            ms(if walk { 5_000 } else { 2_000 })
        });
        assert!(samples.iter().all(|s| s.1));
        assert!(samples
            .windows(2)
            .all(|w| w[1].0 - w[0].0 == Duration::from_secs(10)));
    }

    #[test]
    fn the_pace_is_said_again_only_when_it_moves() {
        let pace = |s: u64, w: Option<u64>| Pace {
            spacing: ms(s),
            walk_every: w.map(ms),
        };
        assert!(!pace(14_700, Some(100_000)).differs(&pace(14_000, Some(95_000))));
        assert!(pace(20_000, None).differs(&pace(14_000, None)));
        assert!(pace(10_000, Some(30_000)).differs(&pace(10_000, None)));
        assert!(!pace(10_000, None).differs(&pace(10_000, None)));
    }
}
