//! `tcpstat history --replay`: a recorded period stepped through on live `watch`'s screen.
//!
//! Owns: reading the period (through [`crate::store::Reader`], with history's `--port` /
//! `--workload` selection), turning each position into the tick live watch would show
//! (`aggregate::replay`: the same [`History`](crate::aggregate::track::History), [`Sample`]
//! and [`Tick`], drawn by the same `render::watch::frame` or written as the same NDJSON
//! tick), and the loop: play at `--speed`, keys (`term::KeyInput`), a resize redraws, Ctrl-Z
//! gives the terminal back, Ctrl-C or `q` end. Reads no socket.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::history::{no_samples, select};
use super::watch::terminal_size;
use crate::aggregate::replay::{
    self as replaying, changes, history_at, top_ports, top_processes, top_workloads, Command,
    Player, Recorded, Replay,
};
use crate::aggregate::watch::{Group, GroupBy, Sample, Setup, Tick};
use crate::config::{HistoryOptions, ReplayOptions};
use crate::error::Error;
use crate::model::history::{resolve_when, STUCK};
use crate::model::netns::NetnsView;
use crate::model::StateSet;
use crate::render::history::{local, Selection};
use crate::render::text::{fit, rfc3339_utc};
use crate::render::watch as view;
use crate::store::{Point, Reader};
use crate::term::{self, Key, KeyInput, Screen, ScreenEvent, ScreenSignals};

/// Length of the top lists (live watch's default `--top`).
const TOP: usize = 5;

/// A recorded period, ready to be shown at any position.
struct Period {
    reader: Reader,
    tz: TimeZone,
    setup: Setup,
    points: Vec<Point>,
    samples: Vec<Recorded>,
    selection: Selection,
}

impl Period {
    /// The tick live watch would show at `index`, with the replay's facts.
    /// The ports (or with `--process`, the processes of those commands) and workloads of
    /// sample `index`, as groups by the tracked states, all.
    fn groups(&self, index: usize) -> Result<(Vec<Group>, Vec<Group>), Error> {
        let id = self.points[index].id;
        let (mut ports, mut workloads) = self.reader.detail(id)?;
        if !self.selection.ports.is_empty() {
            ports.retain(|p| self.selection.ports.contains(&p.port));
        }
        if !self.selection.workloads.is_empty() {
            workloads.retain(|w| self.selection.workloads.contains(&w.name));
        }
        let tracked = self.setup.tracked;
        let first = if self.selection.processes.is_empty() {
            top_ports(&ports, tracked, usize::MAX).0
        } else {
            // The recording has no port of a process: its processes are the list.
            let mut processes = self.reader.processes(id)?.unwrap_or_default();
            processes.retain(|p| self.selection.processes.contains(&p.command));
            top_processes(&processes, tracked, usize::MAX).0
        };
        Ok((first, top_workloads(&workloads, tracked, usize::MAX).0))
    }

    fn at(&self, index: usize, player: &Player) -> Result<(Sample, Replay), Error> {
        let (mut ports, mut workloads) = self.groups(index)?;
        let before = index.checked_sub(1).map(|i| self.groups(i)).transpose()?;
        let (port_total, workload_total) = (ports.len(), workloads.len());
        ports.truncate(TOP);
        workloads.truncate(TOP);
        let t = self.samples[index].t_ms;
        let top_changes = changes(&ports, before.as_ref().map(|b| b.0.as_slice()));
        let workload_changes = changes(&workloads, before.as_ref().map(|b| b.1.as_slice()));
        let sample = replaying::sample(&self.samples, index, utc(t), (ports, port_total));
        let (top, total) = (workloads, workload_total);
        let replay = Replay {
            position: index + 1,
            total: self.samples.len(),
            paused: player.paused,
            speed: player.speed(),
            local_time: local(t, &self.tz),
            workloads: top,
            workloads_total: total,
            top_changes,
            workload_changes,
        };
        Ok((sample, replay))
    }

    /// Calls `f` with the tick at `index`.
    fn with_tick<T>(
        &self,
        index: usize,
        player: &Player,
        f: impl FnOnce(&Tick<'_>) -> T,
    ) -> Result<T, Error> {
        let (sample, replay) = self.at(index, player)?;
        let history = history_at(&self.samples, index);
        let netns = NetnsView::default();
        Ok(f(&Tick {
            setup: &self.setup,
            sample: &sample,
            history: &history,
            netns: &netns,
            replay: Some(&replay),
        }))
    }
}

fn utc(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    rfc3339_utc(ms / 1000, (ms % 1000) as u32)
}

pub fn run(
    options: &HistoryOptions,
    replay: &ReplayOptions,
    out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), Error> {
    let period = load(options)?;
    let len = period.samples.len();
    let player = Player::new(len, replay.step);
    if !replay.interactive {
        // As live watch's --json: one tick per line, at once (a pipe wants the data).
        for i in 0..len {
            period.with_tick(i, &player, |tick| view::write_tick(out, tick))??;
        }
        return Ok(());
    }
    play(&period, player, replay, out)
}

fn load(options: &HistoryOptions) -> Result<Period, Error> {
    let tz = TimeZone::system();
    let now = Timestamp::now();
    let resolve = |when| resolve_when(when, now, &tz).map_err(Error::Usage);
    let reader = Reader::open(&options.db)?;
    let from = resolve(options.since)?;
    let until = resolve(options.until)?;
    if from > until {
        return Err(Error::Usage(format!(
            "--since ({}) is after --until ({})",
            local(from, &tz),
            local(until, &tz)
        )));
    }
    let mut points = reader.points(from, until, 0)?;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Err(no_samples(&reader, &options.db, from, until, &tz)?);
    };
    let (first, last) = (first.id, last.id);
    let selection = Selection {
        ports: options.ports.clone(),
        workloads: options.workloads.clone(),
        processes: options.processes.clone(),
    };
    select(&reader, &mut points, first, last, &selection)?;
    let sources = reader.sources(first, last)?;
    let samples: Vec<Recorded> = points
        .iter()
        .map(|p| Recorded {
            t_ms: p.t_ms,
            counts: p.counts,
            partial: p.partial,
            source: sources
                .iter()
                .find(|(id, _)| *id == p.id)
                .map_or_else(String::new, |(_, s)| s.clone()),
        })
        .collect();
    // The spacing the samples were taken at: the median gap of the period (`--cpu-budget`
    // may have spaced them beyond `--interval`), or the configured one for a lone sample.
    let mut gaps: Vec<i64> = samples.windows(2).map(|w| w[1].t_ms - w[0].t_ms).collect();
    gaps.sort_unstable();
    let interval = match gaps.get(gaps.len() / 2) {
        Some(&median) => Duration::from_millis(median.max(0) as u64),
        None => reader
            .meta("interval_ms")?
            .and_then(|v| v.parse().ok())
            .map_or(Duration::ZERO, Duration::from_millis),
    };
    let stuck = STUCK
        .iter()
        .fold(StateSet::EMPTY, |a, &s| a.union(StateSet::of(s)));
    let setup = Setup {
        hostname: reader.meta("hostname")?.filter(|h| !h.is_empty()),
        started: utc(samples[0].t_ms),
        interval,
        shown: if options.states.is_empty() {
            StateSet::ALL
        } else {
            options.states
        },
        tracked: if options.states.is_empty() {
            stuck
        } else {
            options.states
        },
        by: if options.processes.is_empty() {
            GroupBy::Port
        } else {
            GroupBy::Process
        },
        older_than: None,
    };
    Ok(Period {
        reader,
        tz,
        setup,
        points,
        samples,
        selection,
    })
}

/// The command of a key: live watch has no keys but Ctrl-C (a signal, here too), so these
/// follow the pagers and players people know (less, mpv): space, arrows or h/l, +/-, g/G, q.
fn command(key: Key) -> Option<Command> {
    Some(match key {
        Key::Char(' ' | 'p' | 'P') => Command::PlayPause,
        Key::Right | Key::Down | Key::Char('l' | 'n' | 'j' | '.') => Command::Next,
        Key::Left | Key::Up | Key::Char('h' | 'b' | 'k' | ',') => Command::Previous,
        Key::Char('+' | '=' | ']' | '>') => Command::Faster,
        Key::Char('-' | '_' | '[' | '<') => Command::Slower,
        Key::Home | Key::Char('g' | '0') => Command::First,
        Key::End | Key::Char('G' | '$') => Command::Last,
        Key::Char('q' | 'Q') => Command::Quit,
        Key::Char(_) => return None,
    })
}

fn draw(
    screen: &mut Screen<'_>,
    period: &Period,
    player: &Player,
    fallback: (usize, usize),
) -> Result<(), Error> {
    let (width, height) = terminal_size(fallback);
    let lines: Vec<String> = period.with_tick(player.position, player, |tick| {
        view::frame(tick, width, height)
            .iter()
            .map(|l| fit(l, width))
            .collect()
    })?;
    screen.draw(&lines)?;
    Ok(())
}

fn play(
    period: &Period,
    mut player: Player,
    replay: &ReplayOptions,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let stop = term::stop_flag();
    term::defer_signals()?;
    let mut keys = KeyInput::enable()?;
    let signals = ScreenSignals::install();
    let mut screen = Screen::enter(out)?;
    let mut next_at = Instant::now() + player.step;
    let mut dirty = true;
    loop {
        if let Some(signal) = stop.get() {
            return Err(signal.error());
        }
        while let Some(event) = signals.take() {
            let suspend = event == ScreenEvent::Suspend;
            if suspend || event == ScreenEvent::Continued {
                if suspend {
                    screen.leave()?;
                    if let Some(k) = &keys {
                        k.restore()?;
                    }
                    term::suspend()?;
                }
                if term::in_foreground() {
                    if let Some(k) = &keys {
                        k.reapply()?;
                    }
                    screen.reenter()?;
                }
            }
            dirty = true;
        }
        if dirty && screen.is_active() {
            draw(&mut screen, period, &player, replay.fallback_size)?;
            dirty = false;
        }
        // Without keys (stdin is not a terminal), the replay ends after the last sample.
        if keys.is_none() && player.paused && player.at_end() {
            return Ok(());
        }
        let timeout = (!player.paused).then(|| next_at.saturating_duration_since(Instant::now()));
        let stdin = io::stdin();
        let readable = stop.wait(keys.as_ref().map(|_| stdin.as_fd()), timeout)?;
        if readable {
            match keys.as_ref().map(KeyInput::read).transpose()?.flatten() {
                Some(pressed) => {
                    for key in pressed {
                        let Some(c) = command(key) else { continue };
                        let was_paused = player.paused;
                        if !player.apply(c) {
                            screen.leave()?;
                            return Ok(());
                        }
                        if matches!(c, Command::Faster | Command::Slower)
                            || (was_paused && !player.paused)
                        {
                            next_at = Instant::now() + player.step;
                        }
                        dirty = true;
                    }
                }
                // The end of input: play on without keys.
                None => keys = None,
            }
        }
        let now = Instant::now();
        if !player.paused && now >= next_at {
            player.forward();
            next_at = (next_at + player.step).max(now);
            dirty = true;
        }
    }
}
