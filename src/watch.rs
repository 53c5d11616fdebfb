//! `tcpstat watch`: the pipeline, repeated.
//!
//! Owns: the tick loop (collect through one kept netlink socket, aggregate, render, wait),
//! its exits (count reached, Ctrl-C, closed pipe, repeated collection errors) and the
//! building of each tick's [`Tick`] view from the snapshot. It reads the kernel only through
//! `collect` and writes only through `render::watch` and `term`.
//!
//! With `--all-netns` the namespaces are found again every tick (containers come and go),
//! each read through a netlink socket kept for it while it exists; sockets, groups and ages
//! carry their namespace.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::aggregate::{Direction, PortGrouping, PortMatrix, Snapshot, StateRow};
use crate::all_netns::{self, read_each, Host};
use crate::cli::WatchByArg;
use crate::collect::owners::OwnerMap;
use crate::collect::{Collector, Outcome};
use crate::config::{Config, NetnsRequest, WatchOptions};
use crate::error::Error;
use crate::model::{Filter, KernelState, SocketRecord, StateSet, TcpState};
use crate::render::text::escape;
use crate::render::watch as view;
use crate::render::NetnsView;
use crate::term::{self, Screen};
use crate::track::{self, Changes, History, Tracker};

/// Consecutive failed collections that end the run.
const MAX_FAILURES: u32 = 3;
/// How often the wait between ticks checks for Ctrl-C.
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
    /// A socket without a readable owner (minisocket, orphan, or hidden).
    NoProcess,
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

/// Everything one tick shows.
#[derive(Debug)]
pub struct Tick<'a> {
    pub number: u64,
    pub timestamp: String,
    pub started: String,
    pub hostname: Option<&'a str>,
    pub outcome: &'a Outcome,
    pub interval: Duration,
    /// Seconds since the previous tick (for rates); `None` on the first.
    pub elapsed: Option<f64>,
    pub shown: StateSet,
    pub tracked: StateSet,
    pub history: &'a History,
    pub unknown: u64,
    pub by: WatchByArg,
    pub top: Vec<Group>,
    pub aged: Vec<Aged>,
    pub older_than: Option<Duration>,
    pub tracked_count: usize,
    pub changes: Option<&'a Changes>,
    pub error: Option<String>,
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
    let stop = term::interrupt_flag();
    let mut sources = if config.netns == NetnsRequest::All {
        Sources::All(HashMap::new())
    } else {
        Sources::One(Collector::new(config.source.clone()))
    };
    let mut last_host: Option<Host<StateRow>> = None;
    let mut skipped_said: HashSet<u64> = HashSet::new();
    let hostname = crate::collect::host::hostname(&config.source.proc_root);
    let started_at = SystemTime::now();
    let started = rfc3339(started_at);
    let mut history = History::new();
    let mut tracker = Tracker::new();
    let mut failures = 0u32;
    let mut last_tick: Option<Instant> = None;
    let mut last_outcome: Option<Outcome> = None;
    let mut fallback_said = false;
    let shown = if config.filter.states == StateSet::ALL {
        StateSet::ALL
    } else {
        config.filter.states
    };

    let mut output = if options.interactive {
        Output::Screen(Screen::enter(out)?)
    } else {
        Output::Plain(out)
    };
    let mut last_frame: Vec<String> = Vec::new();
    let mut ticks = 0u64;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        let began = Instant::now();
        let collected = collect_tick(&mut sources, config, options);
        let now = Instant::now();
        ticks += 1;
        let (records, outcome, listening, owners, error) = match collected {
            Ok(c) => {
                failures = 0;
                if let Some(host) = c.host {
                    if !options.interactive {
                        say_skipped(&host, &mut skipped_said, err)?;
                    }
                    last_host = Some(host);
                }
                (c.records, Some(c.outcome), c.listening, c.owners, None)
            }
            // Not something a retry mends: say it now.
            Err(e @ Error::Netns { .. }) => {
                if let Output::Screen(s) = &mut output {
                    s.leave()?;
                }
                return Err(e);
            }
            Err(e) => {
                failures += 1;
                if failures >= MAX_FAILURES {
                    if let Output::Screen(s) = &mut output {
                        s.leave()?;
                    }
                    return Err(Error::Repeated {
                        times: failures,
                        last: Box::new(e),
                    });
                }
                (Vec::new(), None, HashMap::new(), None, Some(e.to_string()))
            }
        };
        if let Some(o) = &outcome {
            if o.fallback_reason.is_some() && !fallback_said && !options.interactive {
                writeln!(
                    err,
                    "tcpstat: warning: netlink unavailable ({}); reading /proc instead",
                    crate::render::text::escape(o.fallback_reason.as_deref().unwrap_or(""))
                )?;
                fallback_said = true;
            }
            last_outcome = Some(o.clone());
        }
        let elapsed = last_tick.map(|t| now.duration_since(t).as_secs_f64());
        let mut changes = None;
        if error.is_none() {
            history.push(track::state_counts(&records));
            let watched: Vec<SocketRecord> = records
                .iter()
                .filter(|r| matches!(r.state, KernelState::Known(s) if options.tracked.contains(s)))
                .copied()
                .collect();
            changes = Some(tracker.update(now, &watched));
            last_tick = Some(now);
        }
        let Some(outcome_ref) = last_outcome.as_ref() else {
            // Not one successful collection yet: say why and try again.
            let e = error.unwrap_or_default();
            match &mut output {
                Output::Screen(s) => {
                    s.draw(&[format!("tcpstat watch: collection failed: {e} (retrying)")])?
                }
                Output::Plain(w) => view::write_error(&mut **w, ticks, &e)?,
            }
            wait(began, options.interval, &stop)?;
            continue;
        };
        let all_view;
        let netns = match &last_host {
            Some(host) => {
                all_view = host.view(|row| *row);
                &all_view
            }
            None => netns_view,
        };
        let grouper = Grouper {
            by: options.by,
            ports: listening
                .into_iter()
                .map(|(ns, ports)| (ns, PortMatrix::new(PortGrouping::Service, ports, false)))
                .collect(),
            owners: owners.as_ref(),
            per_netns: netns.per_row,
        };
        let tick = Tick {
            number: ticks,
            timestamp: rfc3339(SystemTime::now()),
            started: started.clone(),
            hostname: hostname.as_deref(),
            outcome: outcome_ref,
            interval: options.interval,
            elapsed,
            shown,
            tracked: options.tracked,
            history: &history,
            unknown: records
                .iter()
                .filter(|r| matches!(r.state, KernelState::Unknown(_)))
                .count() as u64,
            by: options.by,
            top: top_groups(&tracker, now, options, &grouper),
            aged: aged_groups(&tracker, now, options, &grouper),
            older_than: options.older_than,
            tracked_count: tracker.len(),
            changes: if options.events {
                changes.as_ref()
            } else {
                None
            },
            error,
            netns,
        };
        match &mut output {
            Output::Screen(s) => {
                let (width, height) = terminal_size();
                last_frame = view::frame(&tick, width, height);
                let drawn: Vec<String> = last_frame.iter().map(|l| term::fit(l, width)).collect();
                s.draw(&drawn)?;
            }
            Output::Plain(w) => view::write_tick(&mut **w, &tick)?,
        }
        if options.count.is_some_and(|n| ticks >= n) {
            if let Output::Screen(s) = &mut output {
                // Leave the last frame on the normal screen: --count is often used to look.
                s.leave()?;
                let w = s.writer();
                for line in &last_frame {
                    writeln!(w, "{line}")?;
                }
                w.flush()?;
            }
            return Ok(());
        }
        wait(began, options.interval, &stop)?;
    }
}

/// Where ticks go: a redrawn screen, or NDJSON lines.
enum Output<'w> {
    Screen(Screen<'w>),
    Plain(&'w mut dyn Write),
}

/// Sleeps until `began + interval`, waking every [`POLL`] for Ctrl-C.
fn wait(
    began: Instant,
    interval: Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), Error> {
    let until = began + interval;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        std::thread::sleep(POLL.min(until - now));
    }
}

fn terminal_size() -> (usize, usize) {
    let env_cols = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok());
    let (cols, rows) = term::size().map_or((80, 24), |(c, r)| (usize::from(c), usize::from(r)));
    (env_cols.unwrap_or(cols).max(20), rows.max(5))
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
    /// Every namespace of the host, found again each tick, each with a kept collector.
    All(HashMap<u64, Collector>),
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
        Sources::All(collectors) => {
            let host = read_each(config, all_netns::discover(config)?, |cfg| {
                let Some(ns) = &cfg.source.netns else {
                    return collect_one(&mut Collector::new(cfg.source.clone()), cfg, options);
                };
                let collector = collectors
                    .entry(ns.inode)
                    .or_insert_with(|| Collector::new(cfg.source.clone()));
                collector.retarget(ns.clone());
                collect_one(collector, cfg, options)
            })?;
            // Namespaces that are gone take their sockets with them.
            collectors.retain(|inode, _| host.namespaces.iter().any(|ns| ns.inode == *inode));
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
    /// `--all-netns`: groups are per namespace.
    per_netns: bool,
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
                    None => {
                        PortMatrix::new(PortGrouping::Service, HashSet::new(), false).group_of(r)
                    }
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
                    vec![GroupKey::NoProcess]
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

fn top_groups(
    tracker: &Tracker,
    now: Instant,
    options: &WatchOptions,
    grouper: &Grouper<'_>,
) -> Vec<Group> {
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
    groups.truncate(options.top);
    groups
}

fn aged_groups(
    tracker: &Tracker,
    now: Instant,
    options: &WatchOptions,
    grouper: &Grouper<'_>,
) -> Vec<Aged> {
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
    aged.truncate(options.top);
    aged
}

fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::render::text::rfc3339_utc(d.as_secs(), d.subsec_millis())
}
