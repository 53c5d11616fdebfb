//! `watch` output: a screen frame for people (`screen`), NDJSON for pipes (`ndjson`).
//!
//! Owns: what both share (how a group is labelled, rates). Never reads the kernel, never
//! decides when to draw.

mod ndjson;
mod screen;

use crate::aggregate::port_health::{PortHealthRow, SeriesPort};
use crate::aggregate::watch::{GroupBy, GroupKey, Tick};
use crate::model::TcpState;
use crate::render::text::escape;

pub use ndjson::{write_error, write_tick};
pub use screen::frame;

/// Namespaces listed on the screen with `--all-netns`, busiest first.
pub(super) const NETNS_LINES: usize = 10;

pub(super) fn by_name(by: GroupBy) -> &'static str {
    by.name()
}

pub(super) fn group_label(tick: &Tick<'_>, key: &GroupKey) -> String {
    match key {
        GroupKey::Port { port, direction } => format!("{port} {}", direction.name()),
        GroupKey::Process { pid, command } => format!("pid {pid} {}", escape(command)),
        GroupKey::NoProcess => "(no process)".to_string(),
        // As `procs`' row: what root cannot read either needs more than root.
        GroupKey::Hidden if tick.sample.owners_as_root => "(hidden: unreadable)".to_string(),
        GroupKey::Hidden => "(hidden: needs root)".to_string(),
        GroupKey::Remote(ip) => ip.to_string(),
        GroupKey::Workload(name) => escape(name).into_owned(),
        GroupKey::NoWorkload => "(no workload)".to_string(),
    }
}

/// The state table's columns before HISTORY, with and without MIN and MAX.
pub(super) const COLUMNS_FULL: usize = 63;
pub(super) const COLUMNS_NARROW: usize = 43;
/// Below this many sparkline columns, MIN and MAX give theirs to the sparkline.
pub(super) const MIN_SPARKLINE: usize = 10;

/// The rate since the previous good tick; `None` on the first good tick and a failed one.
pub(super) fn rate(tick: &Tick<'_>, state: TcpState) -> Option<f64> {
    let secs = tick.sample.elapsed?;
    (secs > 0.0).then(|| tick.history.delta(state) as f64 / secs)
}

/// A rate per second with two significant digits below 1 (so `--interval 1m` shows a change
/// of 1 as `+0.017`, not `+0.0`), one decimal up to 100, none above; `0` for no change.
pub fn format_rate(rate: f64) -> String {
    let size = rate.abs();
    if size == 0.0 {
        return "0".to_string();
    }
    let decimals = if size >= 100.0 {
        0
    } else if size >= 1.0 {
        1
    } else {
        // 0.0167: ceil(1.78) + 1 = 3 decimals.
        ((-size.log10()).ceil() as usize + 1).min(6)
    };
    format!("{rate:+.decimals$}")
}

/// A port's retransmitted segments per second since the previous good tick; `None` on the
/// first good tick, a failed one, and without tcp_info.
pub(super) fn retransmit_rate(tick: &Tick<'_>, row: &PortHealthRow) -> Option<f64> {
    let secs = tick.sample.elapsed?;
    let measured = row.gauges.as_ref().is_some_and(|g| g.with_info > 0);
    (secs > 0.0 && measured).then(|| row.grown.retransmits as f64 / secs)
}

/// A health row's port as lists show it: `443/in`.
pub(super) fn health_port(row: &PortHealthRow) -> String {
    match row.port {
        SeriesPort::Port(port) => format!("{port}/{}", row.direction.name()),
        SeriesPort::Other => format!("other/{}", row.direction.name()),
    }
}

pub(super) fn state_names(set: crate::model::StateSet) -> String {
    set.iter().map(TcpState::name).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
pub(super) mod fixtures {
    #![allow(dead_code)]
    pub(crate) use super::*;
    pub(crate) use crate::aggregate::track::{Changes, History};
    pub(crate) use crate::aggregate::watch::{Aged, Group, Sample, Setup};
    pub(crate) use crate::aggregate::Direction;
    pub(crate) use crate::model::{Family, Outcome, SourceKind, StateSet};
    pub(crate) use crate::render::NetnsView;
    pub(crate) use std::time::Duration;

    pub(crate) fn setup(shown: StateSet, tracked: StateSet) -> Setup {
        Setup {
            hostname: Some("vm".into()),
            started: "2026-11-21T12:20:00.000Z".into(),
            interval: Duration::from_secs(1),
            shown,
            tracked,
            by: GroupBy::Port,
            older_than: None,
        }
    }

    pub(crate) fn sample() -> Sample {
        Sample {
            number: 1234,
            timestamp: "2026-11-21T12:24:58.514Z".into(),
            elapsed: Some(1.0),
            outcome: Outcome {
                source: SourceKind::Netlink,
                covers: crate::model::StateSet::ALL,
                fallback_reason: None,
                warnings: Vec::new(),
                complete: true,
            },
            unknown: 0,
            top: Vec::new(),
            top_total: 0,
            aged: Vec::new(),
            aged_total: 0,
            tracked_count: 0,
            changes: None,
            error: None,
            owners_as_root: true,
            health: None,
        }
    }

    /// 50 ticks of CLOSE_WAIT growing by one, and one jump at the end.
    pub(crate) fn history() -> History {
        let mut h = History::new();
        let mut counts = [0; 11];
        for n in 0..50 {
            counts[TcpState::CloseWait.index()] = 100 + n;
            counts[TcpState::Established.index()] = 20;
            h.push(counts);
        }
        counts[TcpState::CloseWait.index()] = 400;
        h.push(counts);
        h
    }

    pub(crate) fn groups(n: u16) -> Vec<Group> {
        (0..n)
            .map(|i| Group {
                netns: 0,
                key: GroupKey::Port {
                    port: 8000 + i,
                    direction: Direction::In,
                },
                count: u64::from(100 - i),
            })
            .collect()
    }

    pub(crate) fn aged(n: u16) -> Vec<Aged> {
        (0..n)
            .map(|i| Aged {
                state: TcpState::CloseWait,
                netns: 0,
                key: GroupKey::Port {
                    port: 8000 + i,
                    direction: Direction::In,
                },
                at_least: Duration::from_secs(300),
                count: u64::from(50 - i),
                oldest: Duration::from_secs(400),
            })
            .collect()
    }

    pub(crate) fn render(
        setup: &Setup,
        sample: &Sample,
        history: &History,
        w: usize,
        h: usize,
    ) -> Vec<String> {
        let netns = NetnsView::default();
        let tick = Tick {
            setup,
            sample,
            history,
            netns: &netns,
            replay: None,
        };
        frame(&tick, w, h)
    }

    pub(crate) fn row<'a>(lines: &'a [String], state: &str) -> &'a str {
        lines
            .iter()
            .find(|l| l.starts_with(state))
            .unwrap_or_else(|| panic!("no {state} row in {lines:#?}"))
    }
}
