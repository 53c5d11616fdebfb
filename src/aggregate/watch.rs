//! What `watch` computes from each tick's sockets: the per-state history, how long each
//! watched socket has been in its state, the busiest groups and the longest-stuck ones.
//!
//! Owns: [`Watcher`] (the state kept between ticks, fed one [`Observed`] tick at a time) and
//! the [`Sample`] it makes of each, which renderers print. Pure: the caller passes the time
//! in and collects the sockets; nothing here reads a clock or the kernel.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::port_health::{HealthScrape, PortHealthRow};
use super::track::{Changes, History, Tracker};
use super::{Direction, PortGrouping, PortMatrix};
use crate::model::netns::NetnsView;
use crate::model::{KernelState, Outcome, OwnerMap, SocketRecord, StateSet, TcpState};

/// What the top and age lists group sockets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// Service port (as `tcpstat ports`).
    #[default]
    Port,
    /// Owning process.
    Process,
    /// Remote address.
    Remote,
    /// Workload: systemd unit, container, pod (as `tcpstat workloads`).
    Workload,
}

impl GroupBy {
    /// How outputs name it: `port`, `process`, `remote`.
    pub const fn name(self) -> &'static str {
        match self {
            GroupBy::Port => "port",
            GroupBy::Process => "process",
            GroupBy::Remote => "remote",
            GroupBy::Workload => "workload",
        }
    }
}

/// How a watch groups and cuts its lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub by: GroupBy,
    /// Length of the top and age lists.
    pub top: usize,
    /// Only sockets in their state at least this long.
    pub older_than: Option<Duration>,
    /// Report the sockets that entered or left the watched states.
    pub events: bool,
    /// The states whose sockets are tracked for ages and events.
    pub tracked: StateSet,
    /// `ip_local_port_range` (see [`super::service_group_in`]).
    pub ephemeral: (u16, u16),
}

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
    /// A workload, by name (raw: renderers escape it).
    Workload(String),
    /// A socket no workload claims (as `workloads`' unattributed row).
    NoWorkload,
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
    pub by: GroupBy,
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
    /// With `--health`: the service ports' connection health.
    pub health: Option<HealthTick>,
}

/// The service ports' connection health at a tick (`watch --health`).
#[derive(Debug, Clone, Default)]
pub struct HealthTick {
    /// Ports with connections now, those that retransmitted most since the tick before
    /// first, then the busiest; at most `--top`.
    pub rows: Vec<PortHealthRow>,
    /// Ports with connections, before `--top` cut the list.
    pub total: usize,
}

impl HealthTick {
    /// The ports of a scrape that have connections now, ordered and cut to `top`.
    pub fn of(scrape: HealthScrape, top: usize) -> HealthTick {
        let mut rows: Vec<PortHealthRow> = scrape
            .rows
            .into_iter()
            .filter(|r| r.gauges.is_some())
            .collect();
        let sockets = |r: &PortHealthRow| r.gauges.as_ref().map_or(0, |g| g.sockets);
        rows.sort_by(|a, b| {
            b.grown
                .retransmits
                .cmp(&a.grown.retransmits)
                .then(sockets(b).cmp(&sockets(a)))
                .then((a.netns, a.port, a.direction).cmp(&(b.netns, b.port, b.direction)))
        });
        let total = rows.len();
        rows.truncate(top);
        HealthTick { rows, total }
    }
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
    /// `history --replay`: a recorded sample, with what only a replay shows; `None` live.
    pub replay: Option<&'a Replay>,
}

/// What the screen shows of a replay (`history --replay`, built by `aggregate::replay`)
/// besides a live tick's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// 1-based position of the sample shown, and the samples of the period.
    pub position: usize,
    pub total: usize,
    pub paused: bool,
    /// Samples shown per second while playing.
    pub speed: f64,
    /// The sample's recorded time, in the local time zone (with its offset).
    pub local_time: String,
    /// The busiest workloads by the tracked states, at most `--top`, and how many in all.
    pub workloads: Vec<Group>,
    pub workloads_total: usize,
    /// The change of each of the sample's top ports, and of each of `workloads`, since the
    /// sample before (`None` for the first sample).
    pub top_changes: Vec<Option<i64>>,
    pub workload_changes: Vec<Option<i64>>,
}

/// One tick's sockets, as the pipeline read them.
#[derive(Debug)]
pub struct Observed {
    /// Every selected socket, of every namespace read.
    pub records: Vec<SocketRecord>,
    pub outcome: Outcome,
    /// Listening ports by namespace tag (service grouping is per namespace).
    pub listening: HashMap<u64, HashSet<u16>>,
    /// With `--by process` or owner filters: the owners of the watched sockets.
    pub owners: Option<OwnerMap>,
    /// With `--by workload`: the workload of each socket, by [`workload_key`].
    pub workloads: HashMap<(u64, u64), String>,
    /// `--all-netns`: groups are per namespace.
    pub per_netns: bool,
    /// With `--health`: the scrape of the service ports' health.
    pub health: Option<HealthScrape>,
}

/// What a watch remembers between ticks.
#[derive(Debug)]
pub struct Watcher {
    spec: Spec,
    history: History,
    tracker: Tracker,
    last_good: Option<Instant>,
}

impl Watcher {
    pub fn new(spec: Spec) -> Watcher {
        Watcher {
            spec,
            history: History::new(),
            tracker: Tracker::new(),
            last_good: None,
        }
    }

    /// The per-state history of the good ticks.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// A good tick: its numbers into the history, its watched sockets into the tracker, and
    /// the sample of it. `number` and `timestamp` label the tick.
    pub fn observe(
        &mut self,
        number: u64,
        timestamp: String,
        now: Instant,
        tick: Observed,
    ) -> Sample {
        let spec = &self.spec;
        self.history.push(super::track::state_counts(&tick.records));
        let watched: Vec<SocketRecord> = tick
            .records
            .iter()
            .filter(|r| matches!(r.state, KernelState::Known(s) if spec.tracked.contains(s)))
            .copied()
            .collect();
        let changes = self.tracker.update(now, &watched);
        let elapsed = self.last_good.map(|t| now.duration_since(t).as_secs_f64());
        self.last_good = Some(now);
        let grouper = Grouper {
            by: spec.by,
            ports: tick
                .listening
                .into_iter()
                .map(|(ns, ports)| {
                    let matrix = PortMatrix::new(PortGrouping::Service, ports, spec.ephemeral);
                    (ns, matrix)
                })
                .collect(),
            owners: tick.owners.as_ref(),
            hidden_possible: tick
                .owners
                .as_ref()
                .is_some_and(|m| m.stats().unreadable() > 0),
            per_netns: tick.per_netns,
            ephemeral: spec.ephemeral,
            workloads: &tick.workloads,
        };
        let (top, top_total) = top_groups(&self.tracker, now, spec, &grouper);
        let (aged, aged_total) = aged_groups(&self.tracker, now, spec, &grouper);
        Sample {
            number,
            timestamp,
            elapsed,
            unknown: tick
                .records
                .iter()
                .filter(|r| matches!(r.state, KernelState::Unknown(_)))
                .count() as u64,
            outcome: tick.outcome,
            top,
            top_total,
            aged,
            aged_total,
            tracked_count: self.tracker.len(),
            changes: spec.events.then_some(changes),
            error: None,
            owners_as_root: tick.owners.as_ref().is_some_and(|m| m.stats().as_root),
            health: tick.health.map(|scrape| HealthTick::of(scrape, spec.top)),
        }
    }
}

/// A failed tick: the last good tick's findings with this tick's number, time and error, and
/// no deltas (they are unknown; the next good tick's span the gap).
pub fn failed(last: Sample, number: u64, timestamp: String, error: String) -> Sample {
    Sample {
        number,
        timestamp,
        elapsed: None,
        changes: None,
        error: Some(error),
        ..last
    }
}

struct Grouper<'a> {
    by: GroupBy,
    /// Service grouping, per namespace tag.
    ports: HashMap<u64, PortMatrix>,
    owners: Option<&'a OwnerMap>,
    /// The owner walk could not read some processes: an owner not found is hidden.
    hidden_possible: bool,
    /// `--all-netns`: groups are per namespace.
    per_netns: bool,
    /// `ip_local_port_range` (see [`crate::aggregate::service_group_in`]).
    ephemeral: (u16, u16),
    workloads: &'a HashMap<(u64, u64), String>,
}

/// How `--by workload` finds a socket's workload name in [`Observed::workloads`]: by
/// namespace and cookie (netlink: unique per socket), else by namespace and the 4-tuple's
/// ports and inode (/proc has no cookies; a socket is the same one while those are).
pub fn workload_key(r: &SocketRecord) -> (u64, u64) {
    let id = if r.cookie != 0 {
        r.cookie
    } else {
        (u64::from(r.local_port) << 48) ^ (u64::from(r.remote_port) << 32) ^ r.inode
    };
    (r.netns, id)
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
            GroupBy::Port => {
                let (port, direction) = match self.ports.get(&r.netns) {
                    Some(ports) => ports.group_of(r),
                    // A namespace without a listener scan: nothing is a service port there.
                    None => PortMatrix::new(PortGrouping::Service, HashSet::new(), self.ephemeral)
                        .group_of(r),
                };
                vec![GroupKey::Port { port, direction }]
            }
            GroupBy::Remote => vec![GroupKey::Remote(r.remote)],
            GroupBy::Workload => vec![match self.workloads.get(&workload_key(r)) {
                Some(name) => GroupKey::Workload(name.clone()),
                None => GroupKey::NoWorkload,
            }],
            GroupBy::Process => {
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

fn old_enough(spec: &Spec, age: Duration) -> bool {
    spec.older_than.is_none_or(|min| age >= min)
}

/// The busiest groups (at most `--top`) and how many there are in all.
fn top_groups(
    tracker: &Tracker,
    now: Instant,
    spec: &Spec,
    grouper: &Grouper<'_>,
) -> (Vec<Group>, usize) {
    let mut counts: HashMap<(u64, GroupKey), u64> = HashMap::new();
    for t in tracker.iter().filter(|t| old_enough(spec, t.age(now))) {
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
    groups.truncate(spec.top);
    (groups, total)
}

/// The age list (at most `--top` entries, longest first) and its length in all.
fn aged_groups(
    tracker: &Tracker,
    now: Instant,
    spec: &Spec,
    grouper: &Grouper<'_>,
) -> (Vec<Aged>, usize) {
    let mut groups: HashMap<(TcpState, u64, GroupKey, Duration), (u64, Duration)> = HashMap::new();
    for t in tracker.iter() {
        let age = t.age(now);
        if !old_enough(spec, age) {
            continue;
        }
        let KernelState::Known(state) = t.record.state else {
            continue;
        };
        // With --older-than, one band starting there; else the fixed bands.
        let at_least = spec.older_than.unwrap_or_else(|| band(age));
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
    aged.truncate(spec.top);
    (aged, total)
}
