//! `tcpstat watch`: the pipeline, repeated.
//!
//! Owns: the tick loop (collect through one kept netlink socket, aggregate, render, wait),
//! its exits (count reached, Ctrl-C, closed pipe, repeated collection errors), the building
//! of each tick's [`Sample`] from the snapshot, and the screen's life between ticks (redrawn
//! at once on a resize, given back on Ctrl-Z and taken again on `fg`). It reads the kernel
//! only through `collect` and writes only through `render::watch` and `term`.
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
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::aggregate::{Direction, PortGrouping, PortMatrix, Snapshot, StateRow};
use crate::all_netns::{self, read_each, Host};
use crate::cli::WatchByArg;
use crate::collect::netns::Namespace;
use crate::collect::owners::OwnerMap;
use crate::collect::{Collector, Outcome};
use crate::config::{Config, NetnsRequest, WatchOptions};
use crate::error::Error;
use crate::model::{Filter, KernelState, SocketRecord, StateSet, TcpState};
use crate::render::text::escape;
use crate::render::watch as view;
use crate::render::NetnsView;
use crate::term::{self, Screen, ScreenEvent, ScreenSignals, StopFlag};
use crate::track::{self, Changes, History, Tracker};

/// Consecutive failed collections that end the run (over at least [`MIN_FAILING`]).
const MAX_FAILURES: u32 = 3;
/// How long collections must have been failing before the run gives up.
const MIN_FAILING: Duration = Duration::from_secs(3);
/// How often the wait between ticks checks for signals.
const POLL: Duration = Duration::from_millis(50);

/// The key a socket is grouped under in the top and age lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    Port {
        port: u16,
        direction: Direction,
    },
    Process {
        pid: u32,
        command: String,
    },
    /// A socket without an owner (a minisocket, an orphan), or whose owner was not found
    /// although every process was read.
    NoProcess,
    /// A socket whose owner was not found while some processes could not be read: probably
    /// one of those (as `procs`' hidden row).
    Hidden,
    Remote(IpAddr),
}

/// One line of the top list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The namespace of the group's sockets with `--all-netns`; else 0.
    pub netns: u64,
    pub key: GroupKey,
    pub count: u64,
}

/// Sockets stuck in a state, by group and age band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aged {
    pub state: TcpState,
    /// As [`Group::netns`].
    pub netns: u64,
    pub key: GroupKey,
    /// The band's lower bound: every socket here has been in `state` at least this long.
    pub at_least: Duration,
    pub count: u64,
    pub oldest: Duration,
}

/// Age bands of the "longest in state" list, longest first.
pub const AGE_BANDS: [Duration; 5] = [
    Duration::from_secs(3600),
    Duration::from_secs(300),
    Duration::from_secs(60),
    Duration::from_secs(10),
    Duration::ZERO,
];

fn band(age: Duration) -> Duration {
    AGE_BANDS
        .into_iter()
        .find(|b| age >= *b)
        .unwrap_or(Duration::ZERO)
}

/// What stays the same for a whole run.
#[derive(Debug, Clone)]
pub struct Setup {
    pub hostname: Option<String>,
    /// When the watch started (RFC 3339, UTC).
    pub started: String,
    pub interval: Duration,
    /// The states counted and shown.
    pub shown: StateSet,
    /// The states whose sockets are tracked for ages and events.
    pub tracked: StateSet,
    pub by: WatchByArg,
    pub older_than: Option<Duration>,
}

/// What one tick found: on a failed tick, the last good tick's findings with this tick's
/// number, time and error.
#[derive(Debug, Clone)]
pub struct Sample {
    pub number: u64,
    pub timestamp: String,
    /// Seconds since the previous good tick, which the deltas span; `None` on the first good
    /// tick and on a failed one (its deltas are unknown).
    pub elapsed: Option<f64>,
    pub outcome: Outcome,
    pub unknown: u64,
    /// The busiest groups, at most `--top`.
    pub top: Vec<Group>,
    /// Groups in all, before `--top` cut the list.
    pub top_total: usize,
    /// As `top`, for the age list.
    pub aged: Vec<Aged>,
    pub aged_total: usize,
    pub tracked_count: usize,
    /// With `--events`: the sockets that entered or left since the previous good tick.
    pub changes: Option<Changes>,
    /// This tick's collection error: everything else is the last good tick's.
    pub error: Option<String>,
    /// The owner walk ran as root (what it could not read needs more than root).
    pub owners_as_root: bool,
}

impl Sample {
    /// True when this tick's collection failed.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Groups `--top` left out of [`Sample::top`] (the screen's `... N more`, JSON's
    /// `top_omitted`).
    pub fn top_omitted(&self) -> usize {
        self.top_total.saturating_sub(self.top.len())
    }

    /// As [`Sample::top_omitted`], for the age list.
    pub fn aged_omitted(&self) -> usize {
        self.aged_total.saturating_sub(self.aged.len())
    }
}

/// Everything one tick shows.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    pub setup: &'a Setup,
    pub sample: &'a Sample,
    /// Good ticks only: a failed tick adds nothing.
    pub history: &'a History,
    /// The namespaces read (empty without namespace options).
    pub netns: &'a NetnsView<'a>,
}

/// Runs the watch loop until `--count`, Ctrl-C ([`Error::Interrupted`]), a closed pipe or
/// repeated failures.
pub fn run(
    config: &Config,
    netns_view: &NetnsView<'_>,
    options: &WatchOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let stop = term::stop_flag();
    // Picks the service port of a connection whose listener is gone (read once: the
    // setting rarely changes, and a tick should cost what its dump costs).
    let ephemeral = crate::collect::kernel::local_port_range(&config.source)
        .unwrap_or(crate::aggregate::DEFAULT_EPHEMERAL_PORTS);
    let mut sources = if config.netns == NetnsRequest::All {
        Sources::All(AllSources::default())
    } else {
        Sources::One(Collector::new(config.source.clone()))
    };
    let setup = Setup {
        hostname: crate::collect::host::hostname(&config.source.proc_root),
        started: rfc3339(SystemTime::now()),
        interval: options.interval,
        shown: config.filter.states,
        tracked: options.tracked,
        by: options.by,
        older_than: options.older_than,
    };
    let mut last_host: Option<Host<StateRow>> = None;
    let mut skipped_said: HashSet<u64> = HashSet::new();
    let mut history = History::new();
    let mut tracker = Tracker::new();
    let mut failing = Failing::default();
    let mut last_good: Option<Instant> = None;
    let mut fallback_said = false;

    let mut output = if options.interactive {
        Output::Screen(Screen::enter(out)?, ScreenSignals::install())
    } else {
        Output::Plain(out)
    };
    let mut shown = Shown::Nothing;
    let mut ticks = 0u64;
    loop {
        if stop.get().is_some() {
            return Err(Error::Interrupted);
        }
        let began = Instant::now();
        let collected = collect_tick(&mut sources, config, options);
        let now = Instant::now();
        ticks += 1;
        let last_tick = options.count.is_some_and(|n| ticks >= n);
        match collected {
            Ok(c) => {
                failing = Failing::default();
                if let Some(host) = c.host {
                    if !options.interactive {
                        say_skipped(&host, &mut skipped_said, err)?;
                    }
                    last_host = Some(host);
                }
                if c.outcome.fallback_reason.is_some() && !fallback_said && !options.interactive {
                    writeln!(
                        err,
                        "tcpstat: warning: netlink unavailable ({}); reading /proc instead",
                        escape(c.outcome.fallback_reason.as_deref().unwrap_or(""))
                    )?;
                    fallback_said = true;
                }
                history.push(track::state_counts(&c.records));
                let watched: Vec<SocketRecord> = c
                    .records
                    .iter()
                    .filter(
                        |r| matches!(r.state, KernelState::Known(s) if options.tracked.contains(s)),
                    )
                    .copied()
                    .collect();
                let changes = tracker.update(now, &watched);
                let elapsed = last_good.map(|t| now.duration_since(t).as_secs_f64());
                last_good = Some(now);
                let netns = last_host.as_ref().map(|h| h.view(|row| *row));
                let grouper = Grouper {
                    by: options.by,
                    ports: c
                        .listening
                        .into_iter()
                        .map(|(ns, ports)| {
                            let matrix = PortMatrix::new(PortGrouping::Service, ports, false)
                                .with_ephemeral_ports(ephemeral);
                            (ns, matrix)
                        })
                        .collect(),
                    owners: c.owners.as_ref(),
                    hidden_possible: c
                        .owners
                        .as_ref()
                        .is_some_and(|m| m.stats().unreadable() > 0),
                    per_netns: netns.as_ref().unwrap_or(netns_view).per_row,
                    ephemeral,
                };
                let (top, top_total) = top_groups(&tracker, now, options, &grouper);
                let (aged, aged_total) = aged_groups(&tracker, now, options, &grouper);
                shown = Shown::Tick(Box::new(Sample {
                    number: ticks,
                    timestamp: rfc3339(SystemTime::now()),
                    elapsed,
                    unknown: c
                        .records
                        .iter()
                        .filter(|r| matches!(r.state, KernelState::Unknown(_)))
                        .count() as u64,
                    outcome: c.outcome,
                    top,
                    top_total,
                    aged,
                    aged_total,
                    tracked_count: tracker.len(),
                    changes: options.events.then_some(changes),
                    error: None,
                    owners_as_root: c.owners.as_ref().is_some_and(|m| m.stats().as_root),
                }));
            }
            // Not something a retry mends: say it now.
            Err(e @ Error::Netns { .. }) => return Err(e),
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
                            view::write_error(&mut **w, ticks, &e.to_string())?;
                        }
                        Shown::Waiting(e.to_string())
                    }
                    // The last good tick again, with this tick's number, time and error.
                    Shown::Tick(last) => Shown::Tick(Box::new(Sample {
                        number: ticks,
                        timestamp: rfc3339(SystemTime::now()),
                        elapsed: None,
                        changes: None,
                        error: Some(e.to_string()),
                        ..*last
                    })),
                };
            }
        }
        let painter = Painter {
            setup: &setup,
            history: &history,
            host: last_host.as_ref(),
            netns: netns_view,
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
    history: &'a History,
    host: Option<&'a Host<StateRow>>,
    netns: &'a NetnsView<'a>,
    fallback_size: (usize, usize),
}

impl Painter<'_> {
    fn with_tick<T>(&self, sample: &Sample, f: impl FnOnce(&Tick<'_>) -> T) -> T {
        let all_view;
        let netns = match self.host {
            Some(host) => {
                all_view = host.view(|row| *row);
                &all_view
            }
            None => self.netns,
        };
        f(&Tick {
            setup: self.setup,
            sample,
            history: self.history,
            netns,
        })
    }

    fn lines(&self, shown: &Shown, width: usize, height: usize) -> Vec<String> {
        match shown {
            Shown::Nothing => Vec::new(),
            Shown::Waiting(e) => vec![term::fit(
                &format!("tcpstat watch: collection failed: {} (retrying)", escape(e)),
                width,
            )],
            Shown::Tick(sample) => self.with_tick(sample, |tick| {
                view::frame(tick, width, height)
                    .iter()
                    .map(|l| term::fit(l, width))
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

/// Sleeps until `until`, waking every [`POLL`] for a stop signal and for the screen's: a new
/// size redraws at once; Ctrl-Z gives the terminal back and stops; continued in the
/// foreground, the screen is taken again and redrawn.
fn wait(
    until: Instant,
    stop: &StopFlag,
    output: &mut Output<'_>,
    painter: &Painter<'_>,
    shown: &Shown,
) -> Result<(), Error> {
    loop {
        if stop.get().is_some() {
            return Err(Error::Interrupted);
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
        std::thread::sleep(POLL.min(until - now));
    }
}

/// The live screen's columns and rows: the terminal's own (it follows resizes), else
/// `COLUMNS` / `LINES` ([`WatchOptions::fallback_size`]).
fn terminal_size(fallback: (usize, usize)) -> (usize, usize) {
    let (cols, rows) = term::size().map_or(fallback, |(c, r)| (usize::from(c), usize::from(r)));
    (cols.max(20), rows.max(5))
}

/// One tick's collection.
struct Collected {
    records: Vec<SocketRecord>,
    outcome: Outcome,
    /// Listening ports by namespace tag (service grouping is per namespace).
    listening: HashMap<u64, HashSet<u16>>,
    /// With `--by process` or owner filters: the owners of the watched sockets.
    owners: Option<OwnerMap>,
    /// `--all-netns`: this tick's namespaces, each with its sockets by state.
    host: Option<Host<StateRow>>,
}

/// Where a watch reads.
enum Sources {
    /// One namespace (tcpstat's own, or the one asked for) through one kept socket.
    One(Collector),
    /// Every namespace of the host, found again each tick.
    All(AllSources),
}

/// `--all-netns`: a collector per namespace, each keeping its netlink socket between ticks,
/// until descriptors run short (`ulimit -n` below the number of namespaces): from then on
/// every namespace's socket is opened and closed within its read, one at a time.
#[derive(Default)]
struct AllSources {
    collectors: HashMap<u64, Collector>,
    /// Short of descriptors: keep no socket between reads.
    transient: bool,
}

impl AllSources {
    /// Closes every kept socket, and keeps none from now on.
    fn go_transient(&mut self) {
        self.transient = true;
        for collector in self.collectors.values_mut() {
            collector.release();
        }
    }

    /// One namespace's read. Out of descriptors, the kept sockets are closed and the read
    /// tried once more; still out, the namespace is skipped for this tick (said like one
    /// that cannot be entered), not the tick failed.
    fn read(
        &mut self,
        ns: &Namespace,
        config: &Config,
        options: &WatchOptions,
    ) -> Result<(OneNetns, Outcome), Error> {
        let attempt = |all: &mut AllSources| {
            let collector = all
                .collectors
                .entry(ns.inode)
                .or_insert_with(|| Collector::new(config.source.clone()));
            collector.retarget(ns.clone());
            let result = collect_one(collector, config, options);
            if all.transient {
                collector.release();
            }
            result
        };
        let mut result = attempt(self);
        if matches!(&result, Err(e) if e.is_out_of_descriptors()) && !self.transient {
            self.go_transient();
            result = attempt(self);
        }
        result.map_err(|e| match e {
            e if e.is_out_of_descriptors() => Error::Netns {
                netns: ns.label.clone(),
                problem: "cannot open a socket to read it (out of file descriptors: raise \
                          `ulimit -n`)"
                    .into(),
                source: None,
            },
            e => e,
        })
    }
}

/// One collection: the filtered sockets, the listening ports (for service grouping) and,
/// with `--by process`, the owners of the watched sockets.
fn collect_tick(
    sources: &mut Sources,
    config: &Config,
    options: &WatchOptions,
) -> Result<Collected, Error> {
    let (mut snap, mut outcome, listening, host) = match sources {
        Sources::One(collector) => {
            let ((records, ports), outcome) = collect_one(collector, config, options)?;
            let tag = config.source.netns.as_ref().map_or(0, |ns| ns.inode);
            (records, outcome, HashMap::from([(tag, ports)]), None)
        }
        Sources::All(all) => {
            let found = match all_netns::discover(config) {
                // The kept sockets took the descriptors the discovery needs.
                Err(e) if e.is_out_of_descriptors() && !all.transient => {
                    all.go_transient();
                    all_netns::discover(config)?
                }
                found => found?,
            };
            let host = read_each(config, found, |cfg| match &cfg.source.netns {
                Some(ns) => all.read(ns, cfg, options),
                None => collect_one(&mut Collector::new(cfg.source.clone()), cfg, options),
            })?;
            // Namespaces that are gone take their sockets with them.
            all.collectors
                .retain(|inode, _| host.namespaces.iter().any(|ns| ns.inode == *inode));
            let outcome = host.outcome();
            let mut records = Vec::new();
            let mut listening = HashMap::new();
            let host = host.map(|ns, (ns_records, ports)| {
                let row = track::state_row(&ns_records);
                records.extend(ns_records);
                listening.insert(ns.inode, ports);
                row
            });
            (records, outcome, listening, Some(host))
        }
    };
    let owners = if options.by == WatchByArg::Process || config.filter.needs_owners() {
        let wanted: HashSet<u64> = snap.iter().map(|r| r.inode).filter(|&i| i != 0).collect();
        let map = OwnerMap::scan(&config.source.proc_root, &wanted)?;
        outcome
            .warnings
            .extend(crate::collect::owners::scan_warnings(&map.stats()));
        Some(map)
    } else {
        None
    };
    if let Some(map) = &owners {
        if config.filter.needs_owners() {
            snap.retain(|r| {
                map.owner_processes(r.inode)
                    .any(|p| config.filter.matches_owner(p.pid, &p.command))
            });
        }
    }
    Ok(Collected {
        records: snap,
        outcome,
        listening,
        owners,
        host,
    })
}

/// One namespace's watched sockets and its listening ports.
type OneNetns = (Vec<SocketRecord>, HashSet<u16>);

/// One namespace's sockets through its collector, and its listening ports when grouping by
/// service port.
fn collect_one(
    collector: &mut Collector,
    config: &Config,
    options: &WatchOptions,
) -> Result<(OneNetns, Outcome), Error> {
    let mut snap = Snapshot::default();
    let outcome = collector.collect(&config.filter, &mut snap)?;
    let mut listening = HashSet::new();
    if options.by == WatchByArg::Port {
        let listen_filter = Filter {
            states: StateSet::of(TcpState::Listen),
            families: config.filter.families.clone(),
            ..Filter::default()
        };
        let mut listeners = Snapshot::default();
        collector.collect(&listen_filter, &mut listeners)?;
        listening = listeners.0.iter().map(|r| r.local_port).collect();
    }
    Ok(((snap.0, listening), outcome))
}

/// Says on stderr, once per namespace, that it was skipped (pipes; the screen shows it).
fn say_skipped<T>(
    host: &Host<T>,
    said: &mut HashSet<u64>,
    err: &mut dyn Write,
) -> Result<(), Error> {
    for (ns, read) in host.namespaces.iter().zip(&host.reads) {
        if let Err(why) = read {
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

struct Grouper<'a> {
    by: WatchByArg,
    /// Service grouping, per namespace tag.
    ports: HashMap<u64, PortMatrix>,
    owners: Option<&'a OwnerMap>,
    /// The owner walk could not read some processes: an owner not found is hidden.
    hidden_possible: bool,
    /// `--all-netns`: groups are per namespace.
    per_netns: bool,
    /// `ip_local_port_range` (see [`crate::aggregate::service_group_in`]).
    ephemeral: (u16, u16),
}

impl Grouper<'_> {
    /// The namespace a socket's groups belong to: its own with `--all-netns`, else 0.
    fn netns(&self, r: &SocketRecord) -> u64 {
        if self.per_netns {
            r.netns
        } else {
            0
        }
    }

    /// The groups of a socket: one, except a socket shared by several processes.
    fn keys(&self, r: &SocketRecord) -> Vec<GroupKey> {
        match self.by {
            WatchByArg::Port => {
                let (port, direction) = match self.ports.get(&r.netns) {
                    Some(ports) => ports.group_of(r),
                    // A namespace without a listener scan: nothing is a service port there.
                    None => PortMatrix::new(PortGrouping::Service, HashSet::new(), false)
                        .with_ephemeral_ports(self.ephemeral)
                        .group_of(r),
                };
                vec![GroupKey::Port { port, direction }]
            }
            WatchByArg::Remote => vec![GroupKey::Remote(r.remote)],
            WatchByArg::Process => {
                let owners: Vec<GroupKey> = self
                    .owners
                    .into_iter()
                    .flat_map(|m| m.owner_processes(r.inode))
                    .map(|p| GroupKey::Process {
                        pid: p.pid,
                        command: p.command.clone(),
                    })
                    .collect();
                if owners.is_empty() {
                    vec![if r.inode != 0 && self.hidden_possible {
                        GroupKey::Hidden
                    } else {
                        GroupKey::NoProcess
                    }]
                } else {
                    owners
                }
            }
        }
    }
}

fn old_enough(options: &WatchOptions, age: Duration) -> bool {
    options.older_than.is_none_or(|min| age >= min)
}

/// The busiest groups (at most `--top`) and how many there are in all.
fn top_groups(
    tracker: &Tracker,
    now: Instant,
    options: &WatchOptions,
    grouper: &Grouper<'_>,
) -> (Vec<Group>, usize) {
    let mut counts: HashMap<(u64, GroupKey), u64> = HashMap::new();
    for t in tracker.iter().filter(|t| old_enough(options, t.age(now))) {
        let netns = grouper.netns(&t.record);
        for key in grouper.keys(&t.record) {
            *counts.entry((netns, key)).or_default() += 1;
        }
    }
    let mut groups: Vec<Group> = counts
        .into_iter()
        .map(|((netns, key), count)| Group { netns, key, count })
        .collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.netns.cmp(&b.netns))
            .then_with(|| a.key.cmp(&b.key))
    });
    let total = groups.len();
    groups.truncate(options.top);
    (groups, total)
}

/// The age list (at most `--top` entries, longest first) and its length in all.
fn aged_groups(
    tracker: &Tracker,
    now: Instant,
    options: &WatchOptions,
    grouper: &Grouper<'_>,
) -> (Vec<Aged>, usize) {
    let mut groups: HashMap<(TcpState, u64, GroupKey, Duration), (u64, Duration)> = HashMap::new();
    for t in tracker.iter() {
        let age = t.age(now);
        if !old_enough(options, age) {
            continue;
        }
        let KernelState::Known(state) = t.record.state else {
            continue;
        };
        // With --older-than, one band starting there; else the fixed bands.
        let at_least = options.older_than.unwrap_or_else(|| band(age));
        let netns = grouper.netns(&t.record);
        for key in grouper.keys(&t.record) {
            let e = groups.entry((state, netns, key, at_least)).or_default();
            e.0 += 1;
            e.1 = e.1.max(age);
        }
    }
    let mut aged: Vec<Aged> = groups
        .into_iter()
        .map(|((state, netns, key, at_least), (count, oldest))| Aged {
            state,
            netns,
            key,
            at_least,
            count,
            oldest,
        })
        .collect();
    aged.sort_by(|a, b| {
        b.at_least
            .cmp(&a.at_least)
            .then(b.count.cmp(&a.count))
            .then(b.oldest.cmp(&a.oldest))
            .then(a.netns.cmp(&b.netns))
            .then_with(|| a.key.cmp(&b.key))
    });
    let total = aged.len();
    aged.truncate(options.top);
    (aged, total)
}

fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::render::text::rfc3339_utc(d.as_secs(), d.subsec_millis())
}
