//! `tcpstat watch`: the pipeline, repeated.
//!
//! Owns: the tick loop (run the pipeline through readers kept between ticks, hand the sockets
//! to the [`Watcher`], render, wait), its exits (count reached, Ctrl-C, closed pipe, repeated
//! collection errors), and the screen's life between ticks (redrawn at once on a resize,
//! given back on Ctrl-Z and taken again on `fg`). It reads the kernel only through the
//! pipeline and writes only through `render::watch` and `term`.
//!
//! A failed tick adds nothing to the history: it shows the last good tick's numbers with its
//! error, and its deltas are unknown (`null`), so the next good tick's deltas span the gap
//! and the deltas of the good ticks add up to the net change.
//!
//! With `--all-netns` the namespaces are found again every tick (containers come and go),
//! each read through a netlink socket kept for it while it exists (or, short of descriptors,
//! opened for each read); sockets, groups and ages carry their namespace.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use super::rfc3339;
use crate::aggregate::port_health::{HealthSeries, PortHealth};
use crate::aggregate::watch::{
    self as watching, workload_key, GroupBy, Observed, Sample, Setup, Spec, Tick, Watcher,
};
use crate::aggregate::DEFAULT_EPHEMERAL_PORTS;
use crate::collect;
use crate::collect::workloads::Resolver;
use crate::config::{Config, WatchOptions};
use crate::error::Error;
use crate::model::netns::{NetnsView, Scope};
use crate::model::workload::{claim, port_claims};
use crate::model::{
    Extensions, Listeners, OwnerMap, OwnerWalk, Plan, Sink, Snapshot, SocketDetail, SocketRecord,
    StateRow,
};
use crate::pipeline::{self, Collection, Readers};
use crate::render::text::escape;
use crate::render::watch as view;
use crate::term::{self, Screen, ScreenEvent, ScreenSignals, StopFlag};

/// Consecutive failed collections that end the run (over at least [`MIN_FAILING`]).
const MAX_FAILURES: u32 = 3;
/// How long collections must have been failing before the run gives up.
const MIN_FAILING: Duration = Duration::from_secs(3);

/// Runs the watch loop until `--count`, Ctrl-C ([`Error::Interrupted`]), a closed pipe or
/// repeated failures.
pub fn run(
    config: &Config,
    options: &WatchOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let stop = term::stop_flag();
    // Signals are taken only while the loop sleeps (no thread has started yet).
    term::defer_signals()?;
    let mut readers = Readers::naming_workloads(&config.proc_root, &config.host_root);
    // The namespaces are found before the first tick (one that does not exist is an error at
    // once), then again every tick: containers come and go, and a named namespace can be
    // deleted and created again under its name.
    let first = readers.resolve(&config.netns, &config.proc_root)?;
    let mut followed = match &first {
        Scope::One(ns) => Some(ns.inode),
        _ => None,
    };
    // Picks the service port of a connection whose listener is gone (read once: the
    // setting rarely changes, and a tick should cost what its dump costs).
    let target = match &first {
        Scope::One(ns) => Some(ns),
        _ => None,
    };
    let ephemeral = collect::kernel::local_port_range(&config.proc_root, target)
        .unwrap_or(DEFAULT_EPHEMERAL_PORTS);
    let plan = Plan {
        listeners: if matches!(options.by, GroupBy::Port | GroupBy::Workload)
            || options.health.is_some()
        {
            Listeners::All
        } else {
            Listeners::None
        },
        owners: if options.by == GroupBy::Process {
            OwnerWalk::Every
        } else if options.by == GroupBy::Workload {
            OwnerWalk::NoCgroup
        } else {
            OwnerWalk::None
        },
        extensions: Extensions {
            info: options.health.is_some(),
            memory: false,
        },
        ..config.plan()
    };
    // With --health: each connection's retransmits at the tick before (their growth is the
    // rate), by socket cookie.
    let mut health = options
        .health
        .map(|stall_ms| (HealthSeries::new(usize::MAX), stall_ms));
    let setup = Setup {
        hostname: collect::host::hostname(&config.proc_root),
        started: rfc3339(SystemTime::now()),
        interval: options.interval,
        shown: config.filter.states,
        tracked: options.tracked,
        by: options.by,
        older_than: options.older_than,
    };
    let mut watcher = Watcher::new(Spec {
        by: options.by,
        top: options.top,
        older_than: options.older_than,
        events: options.events,
        tracked: options.tracked,
        ephemeral,
    });
    let mut last: Option<Collection<StateRow>> = None;
    // Kept between ticks: a cgroup is looked up once, and the hierarchy walked again only
    // when a new one turns up.
    let mut resolver = (options.by == GroupBy::Workload)
        .then(|| Resolver::new(&config.proc_root, &config.host_root));
    let mut skipped_said: HashSet<u64> = HashSet::new();
    let mut failing = Failing::default();
    let mut fallback_said = false;

    let mut output = if options.interactive {
        Output::Screen(Screen::enter(out)?, ScreenSignals::install())
    } else {
        Output::Plain(out)
    };
    let mut shown = Shown::Nothing;
    let mut ticks = 0u64;
    loop {
        if let Some(signal) = stop.get() {
            return Err(signal.error());
        }
        let began = Instant::now();
        let collected = collect_tick(
            &plan,
            config,
            &mut followed,
            &mut readers,
            resolver.as_mut(),
            health.as_mut(),
        );
        let now = Instant::now();
        ticks += 1;
        let last_tick = options.count.is_some_and(|n| ticks >= n);
        match collected {
            Ok((observed, collection)) => {
                failing = Failing::default();
                if collection.per_row && !options.interactive {
                    say_skipped(&collection, &mut skipped_said, err)?;
                }
                last = Some(collection);
                if let (Some(reason), false, false) = (
                    &observed.outcome.fallback_reason,
                    fallback_said,
                    options.interactive,
                ) {
                    writeln!(
                        err,
                        "tcpstat: warning: netlink unavailable ({}); reading /proc instead",
                        escape(reason)
                    )?;
                    fallback_said = true;
                }
                let timestamp = rfc3339(SystemTime::now());
                shown = Shown::Tick(Box::new(watcher.observe(ticks, timestamp, now, observed)));
            }
            // A missing privilege is not something a retry mends: say it now. A namespace that
            // is gone may be created again (a restarted container): a failed tick, retried.
            Err(e) if crate::collect::netns::is_permission_error(&e) => return Err(e),
            Err(e) => {
                let times = failing.add(now);
                let never_good = !matches!(shown, Shown::Tick(_));
                if failing.ends_run(now) || (last_tick && never_good) {
                    if let Output::Screen(s, _) = &mut output {
                        s.leave()?;
                    }
                    return Err(if times == 1 {
                        e
                    } else {
                        Error::Repeated {
                            times,
                            last: Box::new(e),
                        }
                    });
                }
                shown = match shown {
                    // Not one successful collection yet: say why and try again.
                    Shown::Nothing | Shown::Waiting(_) => {
                        if let Output::Plain(w) = &mut output {
                            view::write_error(
                                &mut **w,
                                ticks,
                                &rfc3339(SystemTime::now()),
                                setup.hostname.as_deref(),
                                &e.report(),
                            )?;
                        }
                        Shown::Waiting(e.report())
                    }
                    // The last good tick again, with this tick's number, time and error.
                    Shown::Tick(sample) => Shown::Tick(Box::new(watching::failed(
                        *sample,
                        ticks,
                        rfc3339(SystemTime::now()),
                        e.report(),
                    ))),
                };
            }
        }
        let painter = Painter {
            setup: &setup,
            history: watcher.history(),
            last: last.as_ref(),
            fallback_size: options.fallback_size,
        };
        match &mut output {
            Output::Screen(s, _) => {
                if s.is_active() {
                    painter.draw(s, &shown)?;
                }
            }
            Output::Plain(w) => {
                if let Shown::Tick(sample) = &shown {
                    painter.write(&mut **w, sample)?;
                }
            }
        }
        if last_tick {
            if let Output::Screen(s, _) = &mut output {
                // Leave the last frame on the normal screen: --count is often used to look.
                // Whole: the normal screen scrolls, so no list is cut to the height.
                s.leave()?;
                let (width, _) = terminal_size(options.fallback_size);
                let w = s.writer();
                for line in painter.lines(&shown, width, FULL_HEIGHT) {
                    writeln!(w, "{line}")?;
                }
                w.flush()?;
            }
            return Ok(());
        }
        wait(
            began + options.interval,
            &stop,
            &mut output,
            &painter,
            &shown,
        )?;
    }
}

/// Consecutive failed collections.
#[derive(Debug, Default)]
struct Failing {
    times: u32,
    since: Option<Instant>,
}

impl Failing {
    /// Counts one more failure at `now`; returns how many in a row.
    fn add(&mut self, now: Instant) -> u32 {
        self.times += 1;
        self.since.get_or_insert(now);
        self.times
    }

    /// [`MAX_FAILURES`] in a row over at least [`MIN_FAILING`]: a short interval does not
    /// give up on a hiccup of a few milliseconds.
    fn ends_run(&self, now: Instant) -> bool {
        self.times >= MAX_FAILURES
            && self
                .since
                .is_some_and(|since| now.duration_since(since) >= MIN_FAILING)
    }
}

/// What the screen shows (and redraws on SIGWINCH or after Ctrl-Z).
enum Shown {
    Nothing,
    /// No good tick yet: why.
    Waiting(String),
    Tick(Box<Sample>),
}

/// Height for a frame that is not cut to the terminal (the last frame of `--count`).
const FULL_HEIGHT: usize = 100_000;

/// Turns what is shown into a frame or NDJSON, at the size of the moment.
struct Painter<'a> {
    setup: &'a Setup,
    history: &'a crate::aggregate::track::History,
    /// The last good tick's collection: the namespaces it read.
    last: Option<&'a Collection<StateRow>>,
    fallback_size: (usize, usize),
}

impl Painter<'_> {
    fn with_tick<T>(&self, sample: &Sample, f: impl FnOnce(&Tick<'_>) -> T) -> T {
        let netns = self
            .last
            .map_or_else(NetnsView::default, |c| c.view(|row| *row));
        f(&Tick {
            setup: self.setup,
            sample,
            history: self.history,
            netns: &netns,
            replay: None,
        })
    }

    fn lines(&self, shown: &Shown, width: usize, height: usize) -> Vec<String> {
        match shown {
            Shown::Nothing => Vec::new(),
            Shown::Waiting(e) => vec![crate::render::text::fit(
                &format!("tcpstat watch: collection failed: {} (retrying)", escape(e)),
                width,
            )],
            Shown::Tick(sample) => self.with_tick(sample, |tick| {
                view::frame(tick, width, height)
                    .iter()
                    .map(|l| crate::render::text::fit(l, width))
                    .collect()
            }),
        }
    }

    /// Draws what is shown at the terminal's size of the moment.
    fn draw(&self, screen: &mut Screen<'_>, shown: &Shown) -> io::Result<()> {
        let (width, height) = terminal_size(self.fallback_size);
        screen.draw(&self.lines(shown, width, height))
    }

    fn write(&self, out: &mut dyn Write, sample: &Sample) -> io::Result<()> {
        self.with_tick(sample, |tick| view::write_tick(out, tick))
    }
}

/// Where ticks go: a redrawn screen (with the signals that concern it), or NDJSON lines.
enum Output<'w> {
    Screen(Screen<'w>, &'static ScreenSignals),
    Plain(&'w mut dyn Write),
}

/// Sleeps until `until`, waking at once for a stop signal and for the screen's: a new size
/// redraws at once; Ctrl-Z gives the terminal back and stops; continued in the foreground,
/// the screen is taken again and redrawn.
fn wait(
    until: Instant,
    stop: &StopFlag,
    output: &mut Output<'_>,
    painter: &Painter<'_>,
    shown: &Shown,
) -> Result<(), Error> {
    loop {
        if let Some(signal) = stop.get() {
            return Err(signal.error());
        }
        if let Output::Screen(screen, signals) = output {
            while let Some(event) = signals.take() {
                match event {
                    ScreenEvent::Suspend => {
                        screen.leave()?;
                        term::suspend()?;
                        // Continued (`fg`, or `bg`: then stay off the screen until `fg`).
                        if term::in_foreground() {
                            screen.reenter()?;
                            painter.draw(screen, shown)?;
                        }
                    }
                    ScreenEvent::Continued => {
                        if term::in_foreground() {
                            screen.reenter()?;
                            painter.draw(screen, shown)?;
                        }
                    }
                    ScreenEvent::Resized => {
                        if screen.is_active() {
                            painter.draw(screen, shown)?;
                        }
                    }
                }
            }
        }
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        // Asleep until the next tick or a signal: no wake-ups in between.
        stop.wait(None, Some(until - now))?;
    }
}

/// The live screen's columns and rows: the terminal's own (it follows resizes), else
/// `COLUMNS` / `LINES` ([`WatchOptions::fallback_size`]).
pub(super) fn terminal_size(fallback: (usize, usize)) -> (usize, usize) {
    let (cols, rows) = term::size().map_or(fallback, |(c, r)| (usize::from(c), usize::from(r)));
    (cols.max(20), rows.max(5))
}

/// One tick's collection: the selected sockets of every namespace read, their listening ports
/// (for service grouping) and, with `--by process` or owner filters, their owners; and the
/// collection by namespace, each with its sockets by state.
fn collect_tick(
    plan: &Plan,
    config: &Config,
    followed: &mut Option<u64>,
    readers: &mut Readers,
    resolver: Option<&mut Resolver>,
    health: Option<&mut (HealthSeries, u32)>,
) -> Result<(Observed, Collection<StateRow>), Error> {
    let scope = readers.resolve(&config.netns, &config.proc_root)?;
    // The one namespace asked for is another one now (deleted and created again under its
    // name): follow it, and say so: its sockets are new, their ages start again.
    let mut moved = None;
    if let (Scope::One(ns), Some(before)) = (&scope, *followed) {
        if ns.inode != before {
            moved = Some(format!(
                "network namespace {} is not the one read before (ns:[{before}] is gone; now \
                 ns:[{}]): reading the new one, whose sockets start afresh",
                ns.label, ns.inode
            ));
            *followed = Some(ns.inode);
        }
    }
    let series = health.as_deref().map(|(series, _)| series);
    let stall_ms = health.as_deref().map_or(0, |(_, stall)| *stall);
    let mut collection = pipeline::run(plan, &scope, readers, |ctx| TickSink {
        records: Snapshot::default(),
        health: series.map(|series| {
            PortHealth::new(
                ctx.listening.clone(),
                ctx.ephemeral,
                stall_ms,
                series.retransmits(Collection::<()>::tag(ctx.netns)),
            )
        }),
    })?;
    let health = health.map(|(series, _)| {
        let parts = collection
            .namespaces
            .iter_mut()
            .filter_map(|n| {
                let tag = Collection::<()>::tag(n.netns.as_ref());
                Some((tag, n.read.as_mut().ok()?.part.health.take()?))
            })
            .collect();
        series.add(parts)
    });
    let mut outcome = collection.outcome();
    outcome.warnings.extend(moved);
    let per_netns = collection.per_row;
    let mut records = Vec::new();
    let mut listening = HashMap::new();
    let owners = collection.owners.clone();
    let workloads = match resolver {
        Some(resolver) => {
            resolver.refresh();
            let names = workload_names(&collection, owners.as_ref(), resolver);
            outcome.warnings.extend(resolver.notes());
            names
        }
        None => HashMap::new(),
    };
    let by_netns = collection.map(|netns, read| {
        listening.insert(Collection::<()>::tag(netns), read.listening.clone());
        let row = StateRow::of(&read.part.records.0);
        records.extend(std::mem::take(&mut read.part.records.0));
        row
    });
    Ok((
        Observed {
            records,
            outcome,
            listening,
            owners,
            per_netns,
            workloads,
            health,
        },
        by_netns,
    ))
}

/// A tick's sockets, and with `--health` their connections' health by service port.
struct TickSink {
    records: Snapshot,
    health: Option<PortHealth>,
}

impl Sink for TickSink {
    fn record(&mut self, record: &SocketRecord) {
        self.records.record(record);
        if let Some(health) = &mut self.health {
            health.record(record);
        }
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        self.records.record(record);
        if let Some(health) = &mut self.health {
            health.record_detail(record, detail);
        }
    }

    fn reset(&mut self) -> bool {
        self.records.reset() & self.health.as_mut().is_none_or(PortHealth::reset)
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        self.records.owners_wanted(wanted);
    }
}

/// The workload name of every socket of a tick (`--by workload`), by [`workload_key`].
fn workload_names(
    collection: &Collection<TickSink>,
    owners: Option<&OwnerMap>,
    resolver: &mut Resolver,
) -> HashMap<(u64, u64), String> {
    let mut names = HashMap::new();
    for (_, read) in collection.reads() {
        let by_port = port_claims(&read.listeners);
        for r in &read.part.records.0 {
            let workload = resolver.of_claim(claim(r, &by_port), owners);
            if let Some(w) = workload {
                names.insert(workload_key(r), w.name());
            }
        }
    }
    names
}

/// Says on stderr, once per namespace, that it was skipped (pipes; the screen shows it).
fn say_skipped<T>(
    collection: &Collection<T>,
    said: &mut HashSet<u64>,
    err: &mut dyn Write,
) -> Result<(), Error> {
    for n in &collection.namespaces {
        if let (Some(ns), Err(why)) = (&n.netns, &n.read) {
            if said.insert(ns.inode) {
                writeln!(
                    err,
                    "tcpstat: warning: network namespace {} skipped: {why}",
                    escape(&ns.label)
                )?;
            }
        }
    }
    Ok(())
}
