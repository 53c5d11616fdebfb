//! The watch screen: a frame that fits the terminal.
//!
//! Owns: turning a [`Tick`] into lines of a frame (no escape codes except what
//! `term::Screen` adds; outside text escaped; lines measured in display columns with
//! [`width`], cut with [`fit`] by the caller): the header, notes, the state table with
//! sparklines, and the namespace, top, age and event lists within the rows left.

use super::{
    by_name, format_rate, group_label, health_port, rate, retransmit_rate, state_names,
    COLUMNS_FULL, COLUMNS_NARROW, MIN_SPARKLINE, NETNS_LINES,
};
use crate::aggregate::port_health::PortGauges;
use crate::aggregate::replay::Replay;
use crate::aggregate::track::{sparkline, HISTORY_LEN};
use crate::aggregate::watch::{Aged, HealthTick, Tick};
use crate::model::duration::format_age;
use crate::model::SocketRecord;
use crate::render::list::write_endpoint;
use crate::render::text::{self, escape};

/// The lines of one screen of `width` columns and at most `height` rows. Lines may still be
/// longer than `width` (the caller cuts them with `fit`), never more than `height`:
/// the header (split on a narrow screen), warnings and errors right under it, the state
/// table, then the namespace, top, age and event lists within what rows are left. Events go
/// first, then the lists shrink to their busiest entries and a `... N more` line, then blank
/// lines go, and only then whole lists (namespaces, top, ages).
pub fn frame(tick: &Tick<'_>, width: usize, height: usize) -> Vec<String> {
    let header = header(tick, width);
    let notes = notes(tick, width, (height / 6).clamp(1, 4));
    let mut table = state_table(tick, width);
    // A screen too short for every state row keeps the first ones (lifecycle order, the
    // heading included) and says how many are not shown, instead of cutting them silently.
    let table_room = height.saturating_sub(header.len() + notes.len());
    if table.len() > table_room && table_room >= 3 {
        let cut = table.len() - (table_room - 1);
        table.truncate(table_room - 1);
        table.push(format!(
            "... {cut} more state row{} (taller screen, or fewer with --state)",
            plural(cut)
        ));
    }
    let blocks = blocks(tick, width);
    let fixed = header.len() + notes.len() + table.len();
    let (gap, lines_per_block) = match allocate(&blocks, height.saturating_sub(fixed + 1), 1) {
        Some(lines) => (1, lines),
        None => (
            0,
            allocate(&blocks, height.saturating_sub(fixed), 0).unwrap_or_default(),
        ),
    };
    let mut lines = header;
    lines.extend(notes);
    if gap > 0 {
        lines.push(String::new());
    }
    lines.extend(table);
    for (block, n) in blocks.iter().zip(lines_per_block) {
        if n > 0 {
            if gap > 0 {
                lines.push(String::new());
            }
            block.render(n, &mut lines);
        }
    }
    // Only a screen too small for the header and the table gets here.
    lines.truncate(height);
    lines
}

/// `tcpstat watch  host vm  source netlink  every 1s  2026-11-21T12:24:58.514Z  tick 3`; on
/// a narrower screen the time of day only, then two lines (the tick number always first).
fn header(tick: &Tick<'_>, width: usize) -> Vec<String> {
    if let Some(replay) = tick.replay {
        return replay_header(tick, replay, width);
    }
    let s = tick.sample;
    let source = match s.outcome.fallback_reason {
        Some(_) => "proc (netlink unavailable)",
        None => s.outcome.source.name(),
    };
    let mut facts = vec![format!(
        "host {}",
        escape(tick.setup.hostname.as_deref().unwrap_or("?"))
    )];
    match (tick.netns.per_row, tick.netns.entries.as_slice()) {
        (true, entries) => facts.push(format!("netns all ({})", entries.len())),
        (false, [one]) => facts.push(format!("netns {}", escape(&one.ns.label))),
        _ => {}
    }
    facts.push(format!("source {source}"));
    facts.push(format!("every {}", format_age(tick.setup.interval)));
    let facts = facts.join("  ");
    let time_of_day = s
        .timestamp
        .get(11..19)
        .map_or_else(|| s.timestamp.clone(), |t| format!("{t}Z"));
    let number = format!("tick {}", s.number);
    for time in [&s.timestamp, &time_of_day] {
        let one = format!("tcpstat watch  {facts}  {time}  {number}");
        if text::width(&one) <= width {
            return vec![one];
        }
    }
    let first = [
        format!("tcpstat watch  {}  {number}", s.timestamp),
        format!("tcpstat watch  {time_of_day}  {number}"),
    ]
    .into_iter()
    .find(|l| text::width(l) <= width)
    .unwrap_or_else(|| format!("{time_of_day}  {number}"));
    vec![first, facts]
}

/// A replay's header: the recorded time first (it is what the screen is about), where in the
/// period, playing or paused; then the host, source, recording interval and the keys.
fn replay_header(tick: &Tick<'_>, r: &Replay, width: usize) -> Vec<String> {
    let state = if r.paused {
        "paused".to_string()
    } else {
        format!("playing {}/s", format_speed(r.speed))
    };
    let first = format!(
        "REPLAY  {}  sample {}/{}  {state}",
        r.local_time, r.position, r.total
    );
    let facts = format!(
        "host {}  source {}  recorded every {}",
        escape(tick.setup.hostname.as_deref().unwrap_or("?")),
        tick.sample.outcome.source.name(),
        format_age(tick.setup.interval)
    );
    let keys = [
        "keys: space pause  \u{2190}/\u{2192} step  +/- speed  g/G first/last  q quit",
        "space \u{2190}\u{2192} + - g G q",
    ];
    let second = keys
        .iter()
        .map(|k| format!("{facts}  {k}"))
        .find(|l| text::width(l) <= width)
        .unwrap_or(facts);
    vec![first, second]
}

fn format_speed(speed: f64) -> String {
    if speed >= 10.0 || speed.fract() == 0.0 {
        format!("{speed:.0}")
    } else {
        format!("{speed:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The error of a failed tick, then the warnings, in at most `cap` lines (each wrapped to
/// two lines when there is room), the rest counted.
fn notes(tick: &Tick<'_>, width: usize, cap: usize) -> Vec<String> {
    let mut all = Vec::new();
    if let Some(e) = &tick.sample.error {
        all.push(format!(
            "error: {} (showing the last good tick; retrying)",
            escape(e)
        ));
    }
    all.extend(
        tick.sample
            .outcome
            .warnings
            .iter()
            .map(|w| format!("warning: {}", escape(w))),
    );
    let per_note = if cap >= 4 { 2 } else { 1 };
    let mut lines = Vec::new();
    let mut shown = 0;
    for (i, note) in all.iter().enumerate() {
        let after = all.len() - i - 1;
        // The first note (the error, when there is one) is always shown.
        let room = cap
            .saturating_sub(lines.len() + usize::from(after > 0))
            .max(usize::from(i == 0));
        let wrapped = wrap(note, width, per_note.min(room));
        if wrapped.is_empty() {
            break;
        }
        lines.extend(wrapped);
        shown += 1;
    }
    let more = all.len() - shown;
    if more > 0 && lines.len() < cap {
        lines.push(format!("... {more} more warning{}", plural(more)));
    }
    lines
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `text` in at most `max_lines` lines of `width` columns, broken at spaces, continued with
/// an indent; what does not fit is cut (by `fit` later).
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    if max_lines == 0 {
        return lines;
    }
    let mut line = String::new();
    let mut words = text.split(' ').peekable();
    while let Some(word) = words.next() {
        let candidate = if line.trim().is_empty() {
            format!("{line}{word}")
        } else {
            format!("{line} {word}")
        };
        if text::width(&candidate) <= width || line.trim().is_empty() {
            line = candidate;
            continue;
        }
        if lines.len() + 1 == max_lines {
            // The last line allowed: the rest goes on it, to be cut.
            line = candidate;
            for rest in words.by_ref() {
                line.push(' ');
                line.push_str(rest);
            }
            break;
        }
        lines.push(std::mem::replace(&mut line, format!("  {word}")));
    }
    if max_lines > lines.len() && !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The heading and one row per shown state: the sparkline gets the columns left (the newest
/// ticks), and MIN and MAX give theirs up on a narrow screen.
fn state_table(tick: &Tick<'_>, width: usize) -> Vec<String> {
    let min_max = width >= COLUMNS_FULL + MIN_SPARKLINE;
    let before = if min_max {
        COLUMNS_FULL
    } else {
        COLUMNS_NARROW
    };
    let spark = width.saturating_sub(before).min(HISTORY_LEN);
    let mut lines = Vec::new();
    let mut heading = format!(
        "{:<12} {:>9} {:>8} {:>9}",
        "STATE", "COUNT", "DELTA", "RATE/s"
    );
    if min_max {
        heading.push_str(&format!(" {:>9} {:>9}", "MIN", "MAX"));
    }
    heading.push_str("  HISTORY");
    lines.push(heading);
    let h = tick.history;
    let known = tick.sample.elapsed.is_some() && !tick.sample.failed();
    for state in tick.setup.shown.iter() {
        let (delta, rate) = if known {
            (
                format!("{:+}", h.delta(state)),
                rate(tick, state).map_or("-".to_string(), format_rate),
            )
        } else {
            ("-".to_string(), "-".to_string())
        };
        let mut line = format!(
            "{:<12} {:>9} {:>8} {:>9}",
            state.name(),
            h.latest(state),
            delta,
            rate
        );
        if min_max {
            line.push_str(&format!(" {:>9} {:>9}", h.min(state), h.max(state)));
        }
        let recent: Vec<u64> = h.recent(state).collect();
        let newest = &recent[recent.len().saturating_sub(spark)..];
        line.push_str("  ");
        line.push_str(&sparkline(newest.iter().copied()));
        lines.push(line);
    }
    if tick.sample.unknown > 0 {
        lines.push(format!("{:<12} {:>9}", "UNKNOWN", tick.sample.unknown));
    }
    lines
}

/// A list under a heading, cut to the rows it is given.
struct Block {
    heading: String,
    items: Vec<String>,
    /// Entries left out before the screen (`--top`).
    more: usize,
    /// Said when there are no entries (`none`); without it the heading says enough.
    empty: Option<&'static str>,
    /// Lower ranks keep their rows longer.
    rank: u8,
    /// Given rows only when every other list is whole (events).
    extra: bool,
}

impl Block {
    /// Rows for everything, heading included.
    fn full(&self) -> usize {
        1 + if self.items.is_empty() && self.more == 0 {
            usize::from(self.empty.is_some())
        } else {
            self.items.len() + usize::from(self.more > 0)
        }
    }

    /// The fewest rows worth showing: the heading and one more.
    fn least(&self) -> usize {
        self.full().min(2)
    }

    /// Writes the block in `rows` rows (at least the heading): the first entries, and a
    /// `... N more` line for the rest.
    fn render(&self, rows: usize, out: &mut Vec<String>) {
        out.push(self.heading.clone());
        let body = rows.saturating_sub(1);
        if rows >= self.full() {
            out.extend(self.items.iter().cloned());
            if self.more > 0 {
                out.push(format!("  ... {} more", self.more));
            }
            if self.items.is_empty() && self.more == 0 {
                out.extend(self.empty.map(|e| format!("  {e}")));
            }
        } else if body > 0 {
            let kept = body - 1;
            out.extend(self.items[..kept].iter().cloned());
            out.push(format!(
                "  ... {} more",
                self.items.len() - kept + self.more
            ));
        }
    }
}

/// Rows for each block (0: left out) within `room`, each block after `gap` blank rows.
/// `None` when even the least of every list (events aside) needs more and the gaps should
/// go first; with no gaps, whole lists are left out, highest rank first.
fn allocate(blocks: &[Block], room: usize, gap: usize) -> Option<Vec<usize>> {
    let cost = |rows: &[usize]| -> usize { rows.iter().filter(|&&r| r > 0).map(|r| r + gap).sum() };
    let full: Vec<usize> = blocks.iter().map(Block::full).collect();
    if cost(&full) <= room {
        return Some(full);
    }
    // Lists whole, extras (events) in what is left.
    let mut rows: Vec<usize> = blocks
        .iter()
        .map(|b| if b.extra { 0 } else { b.full() })
        .collect();
    if cost(&rows) <= room {
        let mut left = room - cost(&rows);
        for i in (0..blocks.len()).filter(|&i| blocks[i].extra) {
            if left > gap {
                rows[i] = full[i].min(left - gap);
                left -= rows[i] + gap;
            }
        }
        return Some(rows);
    }
    // Every list at its least, then the rest shared one row at a time, lowest rank first.
    for (i, b) in blocks.iter().enumerate() {
        rows[i] = if b.extra { 0 } else { b.least() };
    }
    let mut order: Vec<usize> = (0..blocks.len()).filter(|&i| !blocks[i].extra).collect();
    order.sort_by_key(|&i| blocks[i].rank);
    while cost(&rows) > room {
        if gap > 0 {
            return None;
        }
        let Some(&last) = order.iter().rev().find(|&&i| rows[i] > 0) else {
            break;
        };
        rows[last] = 0;
    }
    let mut left = room.saturating_sub(cost(&rows));
    while left > 0 {
        let mut grew = false;
        for &i in &order {
            if left > 0 && rows[i] > 0 && rows[i] < full[i] {
                rows[i] += 1;
                left -= 1;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    Some(rows)
}

/// The lists under the table: namespaces (`--all-netns`), top groups, ages, events.
fn blocks(tick: &Tick<'_>, width: usize) -> Vec<Block> {
    let s = tick.sample;
    let mut blocks = Vec::new();
    if tick.netns.per_row {
        let mut read: Vec<(u64, &str)> = tick
            .netns
            .entries
            .iter()
            .filter_map(|e| Some((e.counts?.total(), e.ns.label.as_str())))
            .collect();
        read.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        blocks.push(Block {
            heading: netns_heading(tick),
            items: read
                .iter()
                .take(NETNS_LINES)
                .map(|(count, label)| format!("  {count:>8}  {}", escape(label)))
                .collect(),
            more: read.len().saturating_sub(NETNS_LINES),
            empty: None,
            rank: 2,
            extra: false,
        });
    }
    let older = tick.setup.older_than.map_or(String::new(), |d| {
        format!(", in state >= {}", format_age(d))
    });
    let by = by_name(tick.setup.by).to_uppercase();
    let mut heading = format!("TOP BY {by} ({}{older})", state_names(tick.setup.tracked));
    if text::width(&heading) > width {
        let n = tick.setup.tracked.iter().count();
        heading = format!("TOP BY {by} ({n} watched state{}{older})", plural(n));
    }
    blocks.push(Block {
        heading,
        items: s
            .top
            .iter()
            .enumerate()
            .map(|(i, g)| {
                format!(
                    "  {:>8}{}  {}",
                    g.count,
                    replay_change(tick.replay.map(|r| r.top_changes.get(i).copied().flatten())),
                    in_netns(tick, g.netns, &group_label(tick, &g.key))
                )
            })
            .collect(),
        more: s.top_omitted(),
        empty: Some("none"),
        rank: 1,
        extra: false,
    });
    if let Some(replay) = tick.replay {
        // A recording has the top workloads too, and no socket ages.
        let mut heading = format!("TOP BY WORKLOAD ({})", state_names(tick.setup.tracked));
        if text::width(&heading) > width {
            let n = tick.setup.tracked.iter().count();
            heading = format!("TOP BY WORKLOAD ({n} watched state{})", plural(n));
        }
        blocks.push(Block {
            heading,
            items: replay
                .workloads
                .iter()
                .zip(&replay.workload_changes)
                .map(|(g, change)| {
                    format!(
                        "  {:>8}{}  {}",
                        g.count,
                        replay_change(Some(*change)),
                        group_label(tick, &g.key)
                    )
                })
                .collect(),
            more: replay
                .workloads_total
                .saturating_sub(replay.workloads.len()),
            empty: Some("none"),
            rank: 0,
            extra: false,
        });
        return blocks;
    }
    if let Some(health) = &s.health {
        blocks.push(health_block(tick, health));
    }
    let since = tick
        .setup
        .started
        .get(11..19)
        .unwrap_or(&tick.setup.started);
    let mut heading = format!(
        "LONGEST IN STATE ({} tracked; lower bounds: ages count from {since} for sockets \
         already there)",
        s.tracked_count
    );
    if text::width(&heading) > width {
        heading = format!(
            "LONGEST IN STATE ({} tracked; ages are lower bounds, from {since})",
            s.tracked_count
        );
    }
    blocks.push(Block {
        heading,
        items: s.aged.iter().map(|a| aged_line(tick, a)).collect(),
        more: s.aged_omitted(),
        empty: Some("none"),
        rank: 0,
        extra: false,
    });
    if let Some(changes) = &s.changes {
        let mut items: Vec<String> = changes
            .entered
            .iter()
            .map(|r| format!("  + {}", in_netns(tick, r.netns, &socket_line(r))))
            .collect();
        items.extend(changes.left.iter().map(|(r, age)| {
            format!(
                "  - {}  after >= {}",
                in_netns(tick, r.netns, &socket_line(r)),
                format_age(*age)
            )
        }));
        blocks.push(Block {
            heading: format!(
                "EVENTS since the previous tick: {} entered, {} left",
                changes.entered.len(),
                changes.left.len()
            ),
            items,
            more: 0,
            empty: None,
            rank: 3,
            extra: true,
        });
    }
    blocks
}

/// `--health`: a line per service port with connections, those retransmitting most first.
fn health_block(tick: &Tick<'_>, health: &HealthTick) -> Block {
    let ms = |us: Option<u32>| {
        us.map_or_else(
            || "-".to_string(),
            |us| format!("{:.3}", f64::from(us) / 1000.0),
        )
    };
    let known = |g: &PortGauges, v: u64| {
        if g.with_info > 0 {
            v.to_string()
        } else {
            "-".to_string()
        }
    };
    let mut items = vec![format!(
        "  {:<12}{:>6} {:>15} {:>7} {:>5} {:>5} {:>5} {:>8} {:>8}",
        "PORT", "CONNS", "RTT P50/P99 ms", "RETR/S", "RETR", "ZWIN", "STALL", "SEND-Q", "RECV-Q"
    )];
    for row in &health.rows {
        let Some(g) = &row.gauges else {
            continue;
        };
        let rate = retransmit_rate(tick, row).map_or_else(
            || "-".to_string(),
            |r| format_rate(r).trim_start_matches('+').to_string(),
        );
        let line = format!(
            "{:<12}{:>6} {:>15} {:>7} {:>5} {:>5} {:>5} {:>8} {:>8}",
            health_port(row),
            g.sockets,
            format!("{}/{}", ms(g.rtt_p50_us), ms(g.rtt_p99_us)),
            rate,
            known(g, g.retransmitting),
            known(g, g.zero_window),
            known(g, g.stalled),
            g.send_q_bytes,
            g.recv_q_bytes,
        );
        items.push(format!("  {}", in_netns(tick, row.netns, &line)));
    }
    Block {
        heading: "CONNECTION HEALTH BY PORT (retransmits per second since the tick before)"
            .to_string(),
        items,
        more: health.total.saturating_sub(health.rows.len()),
        empty: None,
        rank: 1,
        extra: false,
    }
}

/// A replay's change of a group since the sample before, as a column (`+3`; `-` on the
/// first sample); nothing live.
fn replay_change(change: Option<Option<i64>>) -> String {
    match change {
        None => String::new(),
        Some(None) => format!(" {:>7}", "-"),
        Some(Some(n)) => format!(" {:>7}", format!("{n:+}")),
    }
}

/// `SOCKETS BY NETNS (3 read, 1 skipped)`.
fn netns_heading(tick: &Tick<'_>) -> String {
    let read = tick
        .netns
        .entries
        .iter()
        .filter(|e| e.skipped.is_none())
        .count();
    let skipped = tick.netns.entries.len() - read;
    let mut line = format!("SOCKETS BY NETNS ({read} read");
    if skipped > 0 {
        line.push_str(&format!(", {skipped} skipped: see warnings"));
    }
    line.push(')');
    line
}

/// A group's label, after its namespace's with `--all-netns`.
fn in_netns(tick: &Tick<'_>, netns: u64, label: &str) -> String {
    if tick.netns.per_row {
        format!("{}  {label}", escape(tick.netns.label(netns)))
    } else {
        label.to_string()
    }
}

fn aged_line(tick: &Tick<'_>, a: &Aged) -> String {
    let band = if a.at_least.is_zero() {
        "any age".to_string()
    } else {
        format!(">= {}", format_age(a.at_least))
    };
    format!(
        "  {:<11} {:<9} {:>7} socket{}  {}  (oldest >= {})",
        a.state.name(),
        band,
        a.count,
        if a.count == 1 { " " } else { "s" },
        in_netns(tick, a.netns, &group_label(tick, &a.key)),
        format_age(a.oldest)
    )
}

fn socket_line(r: &SocketRecord) -> String {
    let mut s = format!("{:<11} ", r.state.to_string());
    write_endpoint(&mut s, r.local, r.local_port);
    s.push_str(" -> ");
    write_endpoint(&mut s, r.remote, r.remote_port);
    s
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::aggregate::watch::{Group, GroupKey};
    use crate::model::KernelState;
    use crate::render::text::fit;
    #[test]
    fn at_80_columns_the_sparkline_ends_with_the_newest_tick_and_the_header_fits() {
        let setup = setup(StateSet::ALL, StateSet::of(TcpState::CloseWait));
        let (sample, history) = (sample(), history());
        let lines = render(&setup, &sample, &history, 80, 24);
        for l in &lines {
            assert!(text::width(l) <= 80, "{l:?} is {} wide", text::width(l));
        }
        assert!(lines.len() <= 24, "{lines:#?}");
        assert!(lines[0].ends_with("tick 1234"), "{lines:#?}");
        assert!(lines[0].contains("12:24:58Z"), "short time: {}", lines[0]);
        let cw = row(&lines, "CLOSE_WAIT");
        let spark: String = cw.chars().filter(|c| ('▁'..='█').contains(c)).collect();
        assert_eq!(spark.chars().count(), 80 - 63, "{cw}");
        assert!(
            spark.ends_with('█'),
            "the jump to 400 is the last bar: {cw}"
        );
        assert!(cw.contains("+251"), "{cw}");
        // Wider: all 40 ticks of history and the whole timestamp.
        let lines = render(&setup, &sample, &history, 140, 40);
        assert!(
            lines[0].contains("2026-11-21T12:24:58.514Z  tick 1234"),
            "{}",
            lines[0]
        );
        let cw = row(&lines, "CLOSE_WAIT");
        assert_eq!(cw.chars().filter(|c| ('▁'..='█').contains(c)).count(), 40);
    }

    #[test]
    fn a_narrow_screen_splits_the_header_and_gives_min_max_to_the_sparkline() {
        let mut setup = setup(
            StateSet::of(TcpState::CloseWait),
            StateSet::of(TcpState::CloseWait),
        );
        setup.hostname = Some("web-frontend-01.example.com".into());
        let (sample, history) = (sample(), history());
        let lines = render(&setup, &sample, &history, 60, 24);
        assert_eq!(
            lines[0],
            "tcpstat watch  2026-11-21T12:24:58.514Z  tick 1234"
        );
        assert!(lines[1].starts_with("host web-frontend-01"), "{lines:#?}");
        let heading = row(&lines, "STATE");
        assert!(!heading.contains("MIN"), "{heading}");
        let cw = row(&lines, "CLOSE_WAIT");
        assert!(text::width(cw) <= 60, "{cw}");
        assert!(cw.ends_with('█'), "{cw}");
        let lines = render(&setup, &sample, &history, 30, 24);
        assert_eq!(lines[0], "12:24:58Z  tick 1234", "{lines:#?}");
    }

    #[test]
    fn a_short_screen_keeps_warnings_and_errors_and_shortens_the_lists() {
        let setup = setup(StateSet::ALL, StateSet::of(TcpState::CloseWait));
        let history = history();
        let mut sample = sample();
        sample.error = Some("cannot read /proc/net/tcp: No such file or directory".into());
        sample.outcome.warnings = vec![
            "3 process(es) could not be read (permission denied; run as root to see every \
             owner): sockets they may own are shown as hidden"
                .into(),
            "netlink unavailable".into(),
        ];
        sample.top = groups(5);
        sample.top_total = 12;
        sample.aged = aged(5);
        sample.aged_total = 5;
        sample.changes = Some(Changes {
            entered: vec![SocketRecord::empty(
                Family::V4,
                KernelState::Known(TcpState::CloseWait),
            )],
            left: Vec::new(),
        });
        let lines = render(&setup, &sample, &history, 80, 24);
        assert_eq!(lines.len(), 24, "{lines:#?}");
        assert!(
            lines[1].starts_with("error: cannot read /proc/net/tcp"),
            "{lines:#?}"
        );
        assert_eq!(lines[2], "  good tick; retrying)", "wrapped: {lines:#?}");
        assert!(lines[3].starts_with("warning: 3 process(es)"), "{lines:#?}");
        assert!(
            lines.iter().any(|l| l == "warning: netlink unavailable"),
            "{lines:#?}"
        );
        let cw = row(&lines, "CLOSE_WAIT");
        assert!(
            cw.contains("       -         -"),
            "a failed tick's delta and rate are unknown: {cw}"
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("EVENTS")),
            "events go first"
        );
        let more: Vec<&String> = lines.iter().filter(|l| l.contains("... ")).collect();
        assert_eq!(more.len(), 2, "top and ages both cut: {lines:#?}");
        let top_more: usize = more[0]
            .trim()
            .split(' ')
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("a count");
        let top_shown = lines
            .iter()
            .skip_while(|l| !l.starts_with("TOP BY"))
            .skip(1)
            .take_while(|l| l.starts_with("     "))
            .count();
        assert_eq!(
            top_shown + top_more,
            12,
            "every group shown or counted: {lines:#?}"
        );
        assert!(lines.iter().any(|l| l.starts_with("LONGEST IN STATE")));
        // Taller: everything, events included, and the groups --top left out are counted.
        let lines = render(&setup, &sample, &history, 80, 50);
        assert!(lines.iter().any(|l| l == "  ... 7 more"), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("EVENTS")), "{lines:#?}");
        // Very short: never more rows than the screen has, and state rows that do not fit
        // are counted, not dropped.
        let states = setup.shown.iter().count();
        let is_state_row = |l: &String| {
            TcpState::ALL
                .iter()
                .any(|s| l.starts_with(&format!("{} ", s.name())))
        };
        for height in 5..24 {
            let lines = render(&setup, &sample, &history, 80, height);
            assert!(lines.len() <= height, "{height}: {lines:#?}");
            assert!(lines[1].starts_with("error:"), "{height}: {lines:#?}");
            let shown = lines.iter().filter(|l| is_state_row(l)).count();
            let more = lines
                .iter()
                .filter(|l| l.contains(" more state row"))
                .find_map(|l| {
                    l.strip_prefix("... ")?
                        .split(' ')
                        .next()?
                        .parse::<usize>()
                        .ok()
                })
                .unwrap_or(0);
            assert_eq!(shown + more, states, "{height}: {lines:#?}");
        }
    }

    #[test]
    fn rates_keep_two_significant_digits() {
        assert_eq!(format_rate(1.0 / 60.0), "+0.017");
        assert_eq!(format_rate(-1.0 / 25.0), "-0.040");
        assert_eq!(format_rate(0.5), "+0.50");
        assert_eq!(format_rate(2.0), "+2.0");
        assert_eq!(format_rate(-12.34), "-12.3");
        assert_eq!(format_rate(1234.5), "+1234");
        assert_eq!(format_rate(0.0), "0");
        assert_eq!(format_rate(1.0 / 3600.0), "+0.00028");
        // On screen: a change of 1 over a minute.
        let mut setup = setup(
            StateSet::of(TcpState::CloseWait),
            StateSet::of(TcpState::CloseWait),
        );
        setup.interval = Duration::from_secs(60);
        let mut h = History::new();
        let mut counts = [0; 11];
        h.push(counts);
        counts[TcpState::CloseWait.index()] = 1;
        h.push(counts);
        let mut s = sample();
        s.elapsed = Some(60.0);
        let lines = render(&setup, &s, &h, 100, 24);
        assert!(
            row(&lines, "CLOSE_WAIT").contains("+1    +0.017"),
            "{lines:#?}"
        );
    }

    #[test]
    fn wide_process_names_are_cut_by_columns() {
        let setup = setup(
            StateSet::of(TcpState::CloseWait),
            StateSet::of(TcpState::CloseWait),
        );
        let history = history();
        let mut s = sample();
        s.top = vec![Group {
            netns: 0,
            key: GroupKey::Process {
                pid: 7,
                command: "日本語の名前のプロセス".repeat(4),
            },
            count: 1,
        }];
        s.top_total = 1;
        let lines = render(&setup, &s, &history, 80, 24);
        let line = lines.iter().find(|l| l.contains("pid 7")).expect("listed");
        assert!(text::width(line) > 80, "the frame leaves cutting to fit");
        assert_eq!(text::width(&fit(line, 80)), 80);
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("aaa bbb ccc", 7, 2), ["aaa bbb", "  ccc"]);
        assert_eq!(wrap("aaa bbb ccc ddd", 7, 2), ["aaa bbb", "  ccc ddd"]);
        assert_eq!(wrap("aaa bbb", 7, 0), Vec::<String>::new());
        assert_eq!(wrap("aaaaaaaaaa bb", 7, 3), ["aaaaaaaaaa", "  bb"]);
    }

    #[test]
    fn a_replay_puts_the_recorded_time_first_and_lists_workloads_not_ages() {
        let setup = setup(StateSet::ALL, StateSet::of(TcpState::CloseWait));
        let (mut sample, history) = (sample(), history());
        sample.top = groups(2);
        sample.aged = aged(2);
        let replay = Replay {
            position: 7,
            total: 60,
            paused: false,
            speed: 0.5,
            local_time: "2024-06-19 14:00:10 +02:00".into(),
            workloads: vec![Group {
                netns: 0,
                key: GroupKey::Workload("app\u{1b}[2J.service".into()),
                count: 9,
            }],
            workloads_total: 3,
            top_changes: vec![Some(4), None],
            workload_changes: vec![Some(-2)],
        };
        let netns = NetnsView::default();
        let tick = Tick {
            setup: &setup,
            sample: &sample,
            history: &history,
            netns: &netns,
            replay: Some(&replay),
        };
        for (w, h) in [(80, 24), (140, 40)] {
            let lines: Vec<String> = frame(&tick, w, h).iter().map(|l| fit(l, w)).collect();
            assert_eq!(
                lines[0],
                "REPLAY  2024-06-19 14:00:10 +02:00  sample 7/60  playing 0.5/s"
            );
            assert!(lines[1].starts_with("host vm  source netlink  recorded every 1s"));
            assert!(lines.iter().all(|l| !l.contains("LONGEST")), "{lines:#?}");
            let at = lines
                .iter()
                .position(|l| l.starts_with("TOP BY WORKLOAD"))
                .expect("the workloads");
            assert_eq!(lines[at + 1], "         9      -2  app\\x1b[2J.service");
            let ports = lines
                .iter()
                .position(|l| l.starts_with("TOP BY PORT"))
                .expect("the ports");
            assert_eq!(lines[ports + 1], "       100      +4  8000 in");
            assert_eq!(lines[ports + 2], "        99       -  8001 in");
            assert_eq!(lines[at + 2], "  ... 2 more");
            assert!(lines.iter().all(|l| text::width(l) <= w));
        }
    }
}

#[cfg(test)]
mod health_tests {
    use super::super::fixtures::*;
    use crate::aggregate::port_health::{PortGauges, PortHealthRow, PortTotals, SeriesPort};
    use crate::aggregate::watch::HealthTick;
    use crate::model::TcpState;

    fn row(port: SeriesPort, grown: u64, with_info: u64) -> PortHealthRow {
        PortHealthRow {
            netns: 0,
            port,
            direction: Direction::In,
            gauges: Some(PortGauges {
                sockets: 3,
                with_info,
                retransmitting: 1,
                rtt_p50_us: (with_info > 0).then_some(1_500),
                rtt_p99_us: (with_info > 0).then_some(250_000),
                send_q_bytes: 12_345_678,
                ..PortGauges::default()
            }),
            totals: PortTotals::default(),
            grown: PortTotals {
                retransmits: grown,
                ..PortTotals::default()
            },
        }
    }

    /// `--health`: a line per port within 80 columns, the rate over the tick's elapsed time,
    /// `-` for what the kernel did not send and on the first tick.
    #[test]
    fn health_lines_fit_and_rate_over_the_tick() {
        let setup = setup(StateSet::ALL, StateSet::of(TcpState::CloseWait));
        let history = History::new();
        let mut sample = sample();
        sample.elapsed = Some(2.0);
        sample.health = Some(HealthTick {
            rows: vec![
                row(SeriesPort::Port(443), 9, 3),
                row(SeriesPort::Other, 0, 0),
            ],
            total: 3,
        });
        let lines = render(&setup, &sample, &history, 80, 60);
        let at = lines
            .iter()
            .position(|l| l.starts_with("CONNECTION HEALTH BY PORT"))
            .unwrap_or_else(|| panic!("{lines:#?}"));
        let body = &lines[at + 1..at + 5];
        assert!(body.iter().all(|l| l.chars().count() <= 80), "{body:#?}");
        let https: Vec<&str> = body[1].split_whitespace().collect();
        assert_eq!(
            https,
            [
                "443/in",
                "3",
                "1.500/250.000",
                "4.5",
                "1",
                "0",
                "0",
                "12345678",
                "0"
            ]
        );
        let other: Vec<&str> = body[2].split_whitespace().collect();
        assert_eq!(
            other,
            ["other/in", "3", "-/-", "-", "-", "-", "-", "12345678", "0"]
        );
        assert_eq!(body[3].trim(), "... 1 more");
        sample.elapsed = None;
        let lines = render(&setup, &sample, &history, 80, 60);
        let first = lines
            .iter()
            .find(|l| l.trim_start().starts_with("443/in"))
            .expect("row");
        assert_eq!(
            first.split_whitespace().nth(3),
            Some("-"),
            "no rate on the first tick"
        );
    }
}
