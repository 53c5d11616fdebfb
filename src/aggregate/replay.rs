//! `history --replay`: recorded samples turned into what live `watch` shows, so the one
//! screen (`render::watch`) and the one NDJSON tick draw both.
//!
//! Owns: the [`History`] of a position (the recorded counts up to it, pushed as live ticks
//! are), the [`Sample`] of a recorded sample (its top ports by the tracked states, the
//! deltas' time span), the [`Replay`] facts the screen adds (position, pause, speed, the
//! recorded time, top workloads), and the [`Player`] that keys move. Pure: the samples come
//! from `store` through the caller; nothing here reads a clock, a file or a key.

use std::time::Duration;

use super::track::History;
pub use super::watch::Replay;
use super::watch::{Group, GroupKey, Sample};
use super::Direction;
use crate::model::history::{PortSample, ProcessSample, WorkloadSample, UNATTRIBUTED};
use crate::model::{Outcome, SourceKind, StateRow, StateSet};

/// How much each of `now` changed since `before` (all groups of the sample before, uncut):
/// `None` without a sample before; a group absent then counts from 0.
pub fn changes(now: &[Group], before: Option<&[Group]>) -> Vec<Option<i64>> {
    now.iter()
        .map(|g| {
            let before = before?;
            let was = before
                .iter()
                .find(|b| b.key == g.key)
                .map_or(0, |b| b.count);
            Some(g.count as i64 - was as i64)
        })
        .collect()
}

/// A recorded sample, as the screen needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub t_ms: i64,
    pub counts: StateRow,
    pub partial: bool,
    /// `netlink` or `proc`.
    pub source: String,
}

/// The history live watch would have after the samples up to `index` (inclusive): deltas,
/// min, max and the sparkline of that moment.
pub fn history_at(samples: &[Recorded], index: usize) -> History {
    let mut h = History::new();
    for s in &samples[..=index.min(samples.len().saturating_sub(1))] {
        h.push(s.counts.counts);
    }
    h
}

/// Groups of `rows` by their sockets in `tracked`, busiest first, at most `top`.
fn ranked<T>(
    rows: &[T],
    tracked: StateSet,
    top: usize,
    key: impl Fn(&T) -> GroupKey,
    counts: impl Fn(&T) -> &StateRow,
) -> (Vec<Group>, usize) {
    let mut groups: Vec<Group> = rows
        .iter()
        .map(|r| Group {
            netns: 0,
            key: key(r),
            count: tracked.iter().map(|s| counts(r).get(s)).sum(),
        })
        .filter(|g| g.count > 0)
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    let total = groups.len();
    groups.truncate(top);
    (groups, total)
}

/// The recorded ports as watch's `--by port` top list (port 0, the ports folded together by
/// the recorder, included as it was recorded).
pub fn top_ports(ports: &[PortSample], tracked: StateSet, top: usize) -> (Vec<Group>, usize) {
    ranked(
        ports,
        tracked,
        top,
        |p| GroupKey::Port {
            port: p.port,
            direction: if p.outgoing {
                Direction::Out
            } else {
                Direction::In
            },
        },
        |p| &p.counts,
    )
}

/// The recorded processes as watch's `--by process` top list (by pid; the summed rows
/// "(other)" and "(no process)" left out: they are no process).
pub fn top_processes(
    processes: &[ProcessSample],
    tracked: StateSet,
    top: usize,
) -> (Vec<Group>, usize) {
    let real: Vec<&ProcessSample> = processes.iter().filter(|p| p.pid > 0).collect();
    ranked(
        &real,
        tracked,
        top,
        |p| GroupKey::Process {
            pid: u32::try_from(p.pid).unwrap_or(0),
            command: p.command.clone(),
        },
        |p| &p.counts,
    )
}

/// The recorded workloads as watch's `--by workload` top list.
pub fn top_workloads(
    workloads: &[WorkloadSample],
    tracked: StateSet,
    top: usize,
) -> (Vec<Group>, usize) {
    ranked(
        workloads,
        tracked,
        top,
        |w| {
            if w.name == UNATTRIBUTED {
                GroupKey::NoWorkload
            } else {
                GroupKey::Workload(w.name.clone())
            }
        },
        |w| &w.counts,
    )
}

/// The sample at `index` as a live tick's: numbered from 1, its recorded time (`timestamp`,
/// RFC 3339 UTC), the seconds since the sample before (the deltas' span; `None` for the
/// first), and its top ports. Ages are not recorded: the age list is empty.
pub fn sample(
    samples: &[Recorded],
    index: usize,
    timestamp: String,
    top: (Vec<Group>, usize),
) -> Sample {
    let s = &samples[index];
    let elapsed = index
        .checked_sub(1)
        .map(|before| (s.t_ms - samples[before].t_ms) as f64 / 1000.0);
    Sample {
        number: index as u64 + 1,
        timestamp,
        elapsed,
        outcome: Outcome {
            source: if s.source == "proc" {
                SourceKind::Proc
            } else {
                SourceKind::Netlink
            },
            covers: StateSet::ALL,
            fallback_reason: None,
            warnings: if s.partial {
                vec!["this sample was partial when recorded (some of the socket table could not be read)".to_string()]
            } else {
                Vec::new()
            },
            complete: !s.partial,
        },
        unknown: s.counts.unknown,
        top: top.0,
        top_total: top.1,
        aged: Vec::new(),
        aged_total: 0,
        tracked_count: 0,
        changes: None,
        error: None,
        // A recording holds no tcp_info.
        health: None,
        owners_as_root: false,
    }
}

/// What a key asks of the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    PlayPause,
    Next,
    Previous,
    Faster,
    Slower,
    First,
    Last,
    Quit,
}

/// The fastest and slowest steps.
pub const FASTEST: Duration = Duration::from_millis(1);
pub const SLOWEST: Duration = Duration::from_secs(16);

/// Where a replay is, whether it plays, and how fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// 0-based.
    pub position: usize,
    pub len: usize,
    pub paused: bool,
    /// Time between samples while playing.
    pub step: Duration,
}

impl Player {
    pub fn new(len: usize, step: Duration) -> Player {
        Player {
            position: 0,
            len,
            paused: false,
            step: step.clamp(FASTEST, SLOWEST),
        }
    }

    pub fn at_end(&self) -> bool {
        self.position + 1 >= self.len
    }

    /// Samples a second.
    pub fn speed(&self) -> f64 {
        1.0 / self.step.as_secs_f64()
    }

    /// Applies a key; `false` for [`Command::Quit`]. Stepping by hand pauses; playing on at
    /// the end starts again from the first sample.
    pub fn apply(&mut self, command: Command) -> bool {
        match command {
            Command::PlayPause => {
                self.paused = !self.paused;
                if !self.paused && self.at_end() {
                    self.position = 0;
                }
            }
            Command::Next => {
                self.paused = true;
                self.forward();
            }
            Command::Previous => {
                self.paused = true;
                self.position = self.position.saturating_sub(1);
            }
            Command::Faster => self.step = (self.step / 2).max(FASTEST),
            Command::Slower => self.step = (self.step * 2).min(SLOWEST),
            Command::First => self.position = 0,
            Command::Last => self.position = self.len.saturating_sub(1),
            Command::Quit => return false,
        }
        true
    }

    /// One sample on while playing; pauses at the last.
    pub fn forward(&mut self) {
        if self.at_end() {
            self.paused = true;
        } else {
            self.position += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    fn rec(t_ms: i64, close_wait: u64) -> Recorded {
        let mut counts = StateRow::default();
        counts.counts[TcpState::CloseWait.index()] = close_wait;
        Recorded {
            t_ms,
            counts,
            partial: false,
            source: "netlink".into(),
        }
    }

    #[test]
    fn a_position_has_the_history_and_deltas_of_a_live_tick() {
        let s = [rec(0, 5), rec(10_000, 9), rec(20_000, 4)];
        let h = history_at(&s, 1);
        assert_eq!(h.latest(TcpState::CloseWait), 9);
        assert_eq!(h.delta(TcpState::CloseWait), 4);
        assert_eq!(h.max(TcpState::CloseWait), 9);
        let first = sample(&s, 0, "t".into(), (Vec::new(), 0));
        assert_eq!((first.number, first.elapsed), (1, None));
        assert_eq!(
            sample(&s, 2, "t".into(), (Vec::new(), 0)).elapsed,
            Some(10.0)
        );
    }

    #[test]
    fn top_lists_rank_by_the_tracked_states() {
        let mut busy = StateRow::default();
        busy.counts[TcpState::CloseWait.index()] = 7;
        busy.counts[TcpState::Established.index()] = 100;
        let mut quiet = StateRow::default();
        quiet.counts[TcpState::CloseWait.index()] = 2;
        let w = [
            WorkloadSample {
                name: "a".into(),
                counts: quiet,
            },
            WorkloadSample {
                name: UNATTRIBUTED.into(),
                counts: busy,
            },
        ];
        let (top, total) = top_workloads(&w, StateSet::of(TcpState::CloseWait), 1);
        assert_eq!(total, 2);
        assert_eq!(top[0].key, GroupKey::NoWorkload);
        assert_eq!(top[0].count, 7);
    }

    #[test]
    fn keys_move_pause_and_change_speed_within_bounds() {
        let mut p = Player::new(3, Duration::from_secs(1));
        assert!(p.apply(Command::Next));
        assert_eq!((p.position, p.paused), (1, true));
        p.apply(Command::Previous);
        p.apply(Command::Previous);
        assert_eq!(p.position, 0);
        p.apply(Command::Last);
        p.apply(Command::Next);
        assert_eq!(p.position, 2);
        // Play at the end: from the start again.
        p.apply(Command::PlayPause);
        assert_eq!((p.position, p.paused), (0, false));
        for _ in 0..20 {
            p.apply(Command::Faster);
        }
        assert_eq!(p.step, FASTEST);
        for _ in 0..40 {
            p.apply(Command::Slower);
        }
        assert_eq!(p.step, SLOWEST);
        assert!(!p.apply(Command::Quit));
    }
}
