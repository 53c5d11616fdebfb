//! `tcpstat history --html FILE`: a recorded period as one self-contained HTML page for an
//! incident ticket. Plain data in, bytes out.
//!
//! Owns: the page (inline CSS, one inline SVG chart per state that was not always 0 and per
//! busy kernel counter, the min/avg/max table, the onsets, the period's top ports,
//! workloads and process commands, host, period and time zone). Nothing is loaded from
//! anywhere: no script, font, image or link. The markup is also well-formed XML (every
//! element closed, only the five XML entities), so a test can parse it. Outside text (host,
//! workload and command names) goes through [`super::text::escape`] (control and invisible
//! characters made visible) and then is HTML-escaped.

use std::fmt::Write as _;
use std::io::{self, Write};

use jiff::Timestamp;

use super::history::{local, CounterSeries, PeriodReport};
use super::text::escape;
use crate::model::history::{PortSample, WorkloadSample, STUCK};
use crate::model::{StateRow, TcpState};

/// The counters charted when they moved: what an incident usually turns on (retransmits,
/// accept-queue overflows, resets, aborts, failed connects). The others are in the table.
pub const CHARTED_COUNTERS: [&str; 9] = [
    "RetransSegs",
    "TCPSynRetrans",
    "ListenOverflows",
    "ListenDrops",
    "EstabResets",
    "OutRsts",
    "AttemptFails",
    "TCPAbortOnTimeout",
    "TCPTimeouts",
];

/// Rows of the top ports and workloads tables.
pub const TOP_ROWS: usize = 10;

/// The period with what the page adds to `history`'s report.
pub struct HtmlReport<'a> {
    pub period: &'a PeriodReport<'a>,
    /// Each port's peaks over the period (see `store::Reader::port_peaks`).
    pub ports: Vec<PortSample>,
    /// Each workload's peaks over the period.
    pub workloads: Vec<WorkloadSample>,
    /// Each process command's peaks over the period (see `store::Reader::process_peaks`),
    /// and how many of the period's samples looked the owners up.
    pub processes: Vec<WorkloadSample>,
    pub process_samples: u64,
    /// When the page was made.
    pub generated_ms: i64,
}

/// `text` made safe for a terminal-reader and then for HTML (text and attribute values).
pub fn html(text: &str) -> String {
    let visible = escape(text);
    let mut out = String::with_capacity(visible.len());
    for c in visible.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
:root { --ink: #1b1f24; --muted: #59636e; --line: #d0d7de; --state: #0a62c9;
  --counter: #8a4b00; --onset: #c4152b; --band: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI',
  Roboto, 'Helvetica Neue', Arial, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 980px; margin: 0 auto; }
h1 { font-size: 1.45em; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.15em; margin: 28px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
p { margin: 6px 0; }
.meta { color: var(--muted); margin: 0; }
.meta b { color: var(--ink); font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
td.name { white-space: normal; overflow-wrap: anywhere; min-width: 8em; }
thead th { font-weight: 600; color: var(--muted); font-size: 0.85em;
  text-transform: uppercase; letter-spacing: 0.03em; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
  gap: 14px 22px; }
figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
.charts { margin-top: 14px; }
.charts + p { margin-top: 12px; }
figcaption { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0 10px;
  font-size: 0.9em; }
figcaption b { font-weight: 600; }
figcaption span { color: var(--muted); font-variant-numeric: tabular-nums; }
.plot { position: relative; height: 96px; margin-top: 2px; border-left: 1px solid var(--line);
  border-bottom: 1px solid var(--line); background: var(--band); }
.plot svg { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.plot .ymax, .plot .ymin { position: absolute; left: 3px; font-size: 0.72em;
  color: var(--muted); line-height: 1; }
.plot .ymax { top: 2px; }
.plot .ymin { bottom: 2px; }
.x { display: flex; justify-content: space-between; font-size: 0.72em; color: var(--muted); }
.state polyline { stroke: var(--state); }
.state polygon { fill: var(--state); }
.counter polyline { stroke: var(--counter); }
.counter polygon { fill: var(--counter); }
polyline { fill: none; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
polygon { fill-opacity: 0.16; stroke: none; }
line.onset { stroke: var(--onset); stroke-width: 2; stroke-dasharray: 4 3;
  vector-effect: non-scaling-stroke; }
.onset-text { color: var(--onset); }
.note { color: var(--muted); font-size: 0.9em; }
footer { margin-top: 32px; color: var(--muted); font-size: 0.85em; }
@media (max-width: 600px) {
  body { padding: 10px; font-size: 14px; }
  th, td { padding: 3px 6px; }
  .charts { grid-template-columns: 1fr; }
}
@media print {
  body { padding: 0; font-size: 11pt; }
  main { max-width: none; }
  .plot { background: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, tr { break-inside: avoid; page-break-inside: avoid; }
  .scroll { overflow: visible; }
}
";

/// Chart width in the SVG's own units (it is stretched to the figure).
const VIEW_W: f64 = 600.0;
const VIEW_H: f64 = 100.0;
/// Most columns drawn: longer series are cut into this many buckets, each its largest value
/// (a peak is never averaged away).
const MAX_POINTS: usize = 600;

/// `values` bucketed to at most [`MAX_POINTS`], each bucket its largest known value, with the
/// index of its first sample.
fn buckets(values: &[Option<f64>]) -> Vec<(usize, Option<f64>)> {
    let n = values.len();
    let columns = n.min(MAX_POINTS);
    (0..columns)
        .map(|c| {
            let a = c * n / columns;
            let b = ((c + 1) * n / columns).max(a + 1);
            let v = values[a..b]
                .iter()
                .flatten()
                .copied()
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            (a, v)
        })
        .collect()
}

fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// An SVG chart of `values` from 0 to their max: an area and its line, broken where a value
/// is unknown; a dashed line at sample `marker`.
fn svg(values: &[Option<f64>], marker: Option<usize>, label: &str) -> String {
    let max = values.iter().flatten().copied().fold(0.0, f64::max);
    let n = values.len();
    let x = |i: usize| {
        if n <= 1 {
            VIEW_W / 2.0
        } else {
            i as f64 * VIEW_W / (n - 1) as f64
        }
    };
    let y = |v: f64| {
        if max > 0.0 {
            VIEW_H - v / max * (VIEW_H - 4.0)
        } else {
            VIEW_H
        }
    };
    let mut out = format!(
        "<svg viewBox=\"0 0 {VIEW_W} {VIEW_H}\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"{}\">",
        html(label)
    );
    // Runs of known values.
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for (i, v) in buckets(values) {
        match v {
            Some(v) => run.push((x(i), y(v))),
            None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    for mut run in runs {
        if run.len() == 1 {
            // One point: a short flat segment, so it shows.
            let (px, py) = run[0];
            run = vec![((px - 2.0).max(0.0), py), ((px + 2.0).min(VIEW_W), py)];
        }
        let line: Vec<String> = run
            .iter()
            .map(|(a, b)| format!("{},{}", num(*a), num(*b)))
            .collect();
        let (first, last) = (run[0].0, run[run.len() - 1].0);
        let _ = write!(
            out,
            "<polygon points=\"{},{VIEW_H} {} {},{VIEW_H}\"/><polyline points=\"{}\"/>",
            num(first),
            line.join(" "),
            num(last),
            line.join(" ")
        );
    }
    if let Some(m) = marker {
        let mx = num(x(m));
        let _ = write!(
            out,
            "<line class=\"onset\" x1=\"{mx}\" y1=\"0\" x2=\"{mx}\" y2=\"{VIEW_H}\"/>"
        );
    }
    out.push_str("</svg>");
    out
}

/// A time on the charts' axis: the time of day, with the date when the period spans days.
fn axis_time(ms: i64, r: &PeriodReport<'_>, with_date: bool) -> String {
    let full = local(ms, r.tz);
    if with_date {
        full.get(..16).unwrap_or(&full).to_string()
    } else {
        full.get(11..19).unwrap_or(&full).to_string()
    }
}

fn spans_days(r: &PeriodReport<'_>) -> bool {
    match (r.times.first(), r.times.last()) {
        (Some(&a), Some(&b)) => local(a, r.tz).get(..10) != local(b, r.tz).get(..10),
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn figure(
    out: &mut String,
    r: &PeriodReport<'_>,
    class: &str,
    id: &str,
    title: &str,
    summary: &str,
    values: &[Option<f64>],
    marker: Option<usize>,
    unit: &str,
) {
    let max = values.iter().flatten().copied().fold(0.0, f64::max);
    let days = spans_days(r);
    let (first, last) = (
        r.times.first().copied().unwrap_or(r.from_ms),
        r.times.last().copied().unwrap_or(r.until_ms),
    );
    let _ = write!(
        out,
        "<figure class=\"{class}\" id=\"{id}\"><figcaption><b>{title}</b><span>{summary}</span>\
         </figcaption><div class=\"plot\">{}<span class=\"ymax\">{}{unit}</span>\
         <span class=\"ymin\">0</span></div><div class=\"x\"><span>{}</span><span>{}</span>\
         </div></figure>",
        svg(values, marker, &format!("{title}: {summary}")),
        num(max),
        axis_time(first, r, days),
        axis_time(last, r, days),
    );
}

fn port_label(p: &PortSample) -> String {
    let dir = if p.outgoing { "out" } else { "in" };
    if p.port == 0 {
        format!("other ({dir})")
    } else {
        format!("{} ({dir})", p.port)
    }
}

/// The states with a column in the port and workload tables: those of the period's table.
fn columns(r: &PeriodReport<'_>) -> Vec<TcpState> {
    r.states.iter().map(|s| s.state).collect()
}

/// Rank by sockets in stuck states, then by all sockets.
fn weight(row: &StateRow) -> (u64, u64) {
    (row.stuck(), row.total())
}

/// The page.
pub fn write(out: &mut dyn Write, h: &HtmlReport<'_>) -> io::Result<()> {
    let r = h.period;
    let host = if r.hostname.is_empty() {
        "(unknown host)".to_string()
    } else {
        html(r.hostname)
    };
    let zone = match r.tz.iana_name() {
        Some(name) => format!("{} (UTC{})", html(name), offset_of(r)),
        None => format!("UTC{}", offset_of(r)),
    };
    let mut o = String::with_capacity(64 * 1024);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>");
    let _ = write!(
        o,
        "<title>TCP sockets on {host}, {} to {}</title><style>{STYLE}</style></head><body><main>",
        html(&local(r.from_ms, r.tz)),
        html(&local(r.until_ms, r.tz))
    );
    let _ = write!(o, "<h1>TCP sockets on <span id=\"host\">{host}</span></h1>");
    let _ = write!(
        o,
        "<p class=\"meta\">Period <b id=\"period\">{} to {}</b></p>\
         <p class=\"meta\">Time zone <b id=\"zone\">{zone}</b>; {} sample{}{}; {}{}</p>",
        html(&local(r.from_ms, r.tz)),
        html(&local(r.until_ms, r.tz)),
        r.times.len(),
        if r.times.len() == 1 { "" } else { "s" },
        match (r.times.first(), r.times.last()) {
            (Some(&a), Some(&b)) if r.times.len() > 1 => format!(
                " from {} to {}",
                html(&local(a, r.tz)),
                html(&local(b, r.tz))
            ),
            _ => String::new(),
        },
        html(&describe(r)),
        if r.partial > 0 {
            format!(
                "; <b>{} sample{} partial</b> (some of the socket table could not be read)",
                r.partial,
                if r.partial == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
    onsets(&mut o, r);
    states_section(&mut o, r);
    counters_section(&mut o, r);
    top_ports(&mut o, r, &h.ports);
    top_named(
        &mut o,
        r,
        &Named {
            id: "workloads",
            title: "Top workloads of the period",
            heading: "Workload",
            chosen: &r.selection.workloads,
            none: "No workload was recorded in the period.",
            note: None,
        },
        &h.workloads,
    );
    let samples = r.times.len();
    let process_note = format!(
        "Processes as recorded: the top ones of each sample that looked the owners up ({} of \
         the {samples} samples), summed per command; a command's numbers are its largest in \
         any of them.",
        h.process_samples
    );
    top_named(
        &mut o,
        r,
        &Named {
            id: "processes",
            title: "Top processes of the period",
            heading: "Command",
            chosen: &r.selection.processes,
            none: if h.process_samples == 0 {
                "No sample of the period looked the owning processes up (record --processes)."
            } else {
                "No process held sockets in the samples that looked them up."
            },
            note: (h.process_samples > 0).then_some(&process_note),
        },
        &h.processes,
    );
    let _ = writeln!(
        o,
        "<footer>Made by tcpstat {} (<code>tcpstat history --html</code>) at {} from \
         <code>{}</code>. Counts are sockets per sample; counters are rates per second \
         between samples; a port's, a workload's and a command's numbers are the largest of any \
         sample.\
         </footer></main></body></html>",
        env!("CARGO_PKG_VERSION"),
        html(&local(h.generated_ms, r.tz)),
        html(r.db)
    );
    out.write_all(o.as_bytes())?;
    out.flush()
}

fn offset_of(r: &PeriodReport<'_>) -> String {
    let at = r.times.last().copied().unwrap_or(r.until_ms);
    match Timestamp::from_millisecond(at) {
        Ok(ts) => {
            let offset = r.tz.to_offset(ts);
            let secs = offset.seconds();
            format!(
                "{}{:02}:{:02}",
                if secs < 0 { '-' } else { '+' },
                secs.abs() / 3600,
                secs.abs() % 3600 / 60
            )
        }
        Err(_) => String::new(),
    }
}

fn describe(r: &PeriodReport<'_>) -> String {
    let s = r.selection;
    if !s.ports.is_empty() {
        let ports: Vec<String> = s.ports.iter().map(u16::to_string).collect();
        format!("port {}", ports.join(", "))
    } else if !s.workloads.is_empty() {
        format!("workload {}", s.workloads.join(", "))
    } else if !s.processes.is_empty() {
        format!("process {}", s.processes.join(", "))
    } else {
        "all sockets".to_string()
    }
}

fn onsets(o: &mut String, r: &PeriodReport<'_>) {
    let Some(onsets) = &r.onsets else {
        return;
    };
    o.push_str("<h2>When did it start</h2>");
    if onsets.is_empty() {
        o.push_str("<p id=\"onset-none\">No state left its normal band in the period.</p>");
    }
    for x in onsets {
        let _ = write!(
            o,
            "<p class=\"onset-text\" id=\"onset-{}\"><b>{}</b> left its normal band at \
             <b>{}</b>: {} sockets (the samples before: median {}, band up to {}).</p>",
            x.state.name(),
            x.state.name(),
            html(&local(x.t_ms, r.tz)),
            x.onset.value,
            num(x.onset.median),
            num(x.onset.upper)
        );
        let processes = x.processes.as_deref().unwrap_or_default();
        if !x.ports.is_empty() || !x.workloads.is_empty() || !processes.is_empty() {
            let _ = write!(
                o,
                "<div class=\"scroll\"><table><thead><tr><th>Held by, then</th><th>{}</th>\
                 <th>Change</th></tr></thead><tbody>",
                x.state.name()
            );
            for (p, grew) in &x.ports {
                let _ = write!(
                    o,
                    "<tr><td class=\"name\">port {}</td><td>{}</td><td>{grew:+}</td></tr>",
                    port_label(p),
                    p.counts.get(x.state)
                );
            }
            for (w, grew) in &x.workloads {
                let _ = write!(
                    o,
                    "<tr><td class=\"name\">workload {}</td><td>{}</td><td>{grew:+}</td></tr>",
                    html(&w.name),
                    w.counts.get(x.state)
                );
            }
            for (p, grew) in processes {
                let name = if p.pid > 0 {
                    format!("{}/{}", p.pid, p.command)
                } else {
                    p.command.clone()
                };
                let _ = write!(
                    o,
                    "<tr><td class=\"name\">process {}</td><td>{}</td><td>{grew:+}</td></tr>",
                    html(&name),
                    p.counts.get(x.state)
                );
            }
            o.push_str("</tbody></table></div>");
        }
    }
}

fn states_section(o: &mut String, r: &PeriodReport<'_>) {
    o.push_str("<h2>Sockets by state</h2>");
    if r.states.is_empty() {
        o.push_str("<p>No socket in the states shown during the period.</p>");
        return;
    }
    o.push_str(
        "<div class=\"scroll\"><table id=\"states\"><thead><tr><th>State</th><th>Min</th>\
         <th>Avg</th><th>Max</th><th>Last</th></tr></thead><tbody>",
    );
    for s in &r.states {
        let _ = write!(
            o,
            "<tr id=\"state-{0}\"><td>{0}</td><td>{1}</td><td>{2:.1}</td><td>{3}</td>\
             <td>{4}</td></tr>",
            s.state.name(),
            s.stats.min,
            s.stats.avg,
            s.stats.max,
            s.stats.last
        );
    }
    o.push_str("</tbody></table></div>");
    let charted: Vec<_> = r.states.iter().filter(|s| s.stats.max > 0).collect();
    if charted.is_empty() {
        return;
    }
    o.push_str("<div class=\"charts\">");
    for s in charted {
        let values: Vec<Option<f64>> = s.values.iter().map(|&v| Some(v as f64)).collect();
        let marker = r
            .onsets
            .iter()
            .flatten()
            .find(|x| x.state == s.state)
            .and_then(|x| r.times.iter().position(|&t| t == x.t_ms));
        figure(
            o,
            r,
            "state",
            &format!("chart-{}", s.state.name()),
            s.state.name(),
            &format!(
                "min {} · avg {:.1} · max {}",
                s.stats.min, s.stats.avg, s.stats.max
            ),
            &values,
            marker,
            "",
        );
    }
    o.push_str("</div>");
    if r.onsets.as_ref().is_some_and(|v| !v.is_empty()) {
        o.push_str(
            "<p class=\"note\">The dashed red line marks where the state left its normal band.</p>",
        );
    }
}

fn avg_max(c: &CounterSeries) -> Option<(f64, f64)> {
    let known: Vec<f64> = c.rates.iter().flatten().copied().collect();
    if known.is_empty() {
        return None;
    }
    Some((
        known.iter().sum::<f64>() / known.len() as f64,
        known.iter().copied().fold(0.0, f64::max),
    ))
}

fn counters_section(o: &mut String, r: &PeriodReport<'_>) {
    o.push_str("<h2>Kernel TCP counters (per second)</h2>");
    let busy: Vec<(&CounterSeries, (f64, f64))> = r
        .counters
        .iter()
        .filter_map(|c| avg_max(c).map(|am| (c, am)))
        .filter(|(_, (_, max))| *max > 0.0)
        .collect();
    let charted: Vec<&(&CounterSeries, (f64, f64))> = CHARTED_COUNTERS
        .iter()
        .filter_map(|name| busy.iter().find(|(c, _)| c.name == *name))
        .collect();
    if !charted.is_empty() {
        o.push_str("<div class=\"charts\">");
        for (c, (avg, max)) in charted {
            figure(
                o,
                r,
                "counter",
                &format!("chart-{}", c.name),
                c.name,
                &format!("avg {}/s · max {}/s", num(*avg), num(*max)),
                &c.rates,
                None,
                "/s",
            );
        }
        o.push_str("</div>");
    }
    let quiet: Vec<&str> = CHARTED_COUNTERS
        .iter()
        .copied()
        .filter(|name| !busy.iter().any(|(c, _)| c.name == *name))
        .filter(|name| {
            r.counters
                .iter()
                .any(|c| c.name == *name && c.rates.iter().any(Option::is_some))
        })
        .collect();
    if !quiet.is_empty() {
        let _ = write!(
            o,
            "<p id=\"quiet-counters\">None in the period: {}.</p>",
            quiet.join(", ")
        );
    }
    if busy.is_empty() {
        o.push_str("<p>No counter moved (or fewer than two samples).</p>");
        return;
    }
    o.push_str(
        "<div class=\"scroll\"><table id=\"counters\"><thead><tr><th>Counter</th>\
         <th>Avg/s</th><th>Max/s</th></tr></thead><tbody>",
    );
    for (c, (avg, max)) in &busy {
        let _ = write!(
            o,
            "<tr id=\"counter-{0}\"><td>{0}</td><td>{1:.2}</td><td>{2:.2}</td></tr>",
            c.name, avg, max
        );
    }
    o.push_str("</tbody></table></div>");
}

fn heading_cells(o: &mut String, states: &[TcpState]) {
    for s in states {
        let _ = write!(o, "<th>{}</th>", s.name());
    }
}

fn top_ports(o: &mut String, r: &PeriodReport<'_>, ports: &[PortSample]) {
    o.push_str("<h2>Top ports of the period</h2>");
    let states = columns(r);
    let mut rows: Vec<&PortSample> = ports
        .iter()
        .filter(|p| r.selection.ports.is_empty() || r.selection.ports.contains(&p.port))
        .filter(|p| p.counts.total() > 0 || p.listeners > 0)
        .collect();
    rows.sort_by(|a, b| {
        weight(&b.counts)
            .cmp(&weight(&a.counts))
            .then(b.queued.cmp(&a.queued))
            .then(a.port.cmp(&b.port))
    });
    if rows.is_empty() {
        o.push_str("<p>No port was recorded in the period.</p>");
        return;
    }
    let more = rows.len().saturating_sub(TOP_ROWS);
    rows.truncate(TOP_ROWS);
    o.push_str(
        "<div class=\"scroll\"><table id=\"ports\"><thead><tr><th>Port</th>\
         <th>Stuck</th>",
    );
    heading_cells(o, &states);
    o.push_str("<th>Accept queue</th></tr></thead><tbody>");
    for p in rows {
        let _ = write!(
            o,
            "<tr><td class=\"name\">{}</td><td>{}</td>",
            port_label(p),
            p.counts.stuck()
        );
        for &s in &states {
            let _ = write!(o, "<td>{}</td>", p.counts.get(s));
        }
        let queue = match (p.listeners, p.backlog) {
            (0, _) => "-".to_string(),
            (_, Some(b)) => format!("{} / {b}", p.queued),
            (_, None) => p.queued.to_string(),
        };
        let _ = write!(o, "<td>{queue}</td></tr>");
    }
    o.push_str("</tbody></table></div>");
    let _ = write!(
        o,
        "<p class=\"note\">Each number is the port's largest in any sample of the period \
         (stuck: {}).{}</p>",
        STUCK
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", "),
        if more > 0 {
            format!(" {more} more not shown.")
        } else {
            String::new()
        }
    );
}

/// A table of named rows by state (workloads, process commands): what differs between them.
struct Named<'a> {
    id: &'a str,
    title: &'a str,
    heading: &'a str,
    /// The names `--workload` / `--process` chose; empty: all.
    chosen: &'a [String],
    none: &'a str,
    note: Option<&'a String>,
}

/// The rows of `named` by their peaks, busiest in stuck states first, at most [`TOP_ROWS`].
fn top_named(o: &mut String, r: &PeriodReport<'_>, named: &Named<'_>, all: &[WorkloadSample]) {
    let _ = write!(o, "<h2>{}</h2>", html(named.title));
    let states = columns(r);
    let mut rows: Vec<&WorkloadSample> = all
        .iter()
        .filter(|w| named.chosen.is_empty() || named.chosen.contains(&w.name))
        .filter(|w| w.counts.total() > 0)
        .collect();
    rows.sort_by(|a, b| {
        weight(&b.counts)
            .cmp(&weight(&a.counts))
            .then(a.name.cmp(&b.name))
    });
    if rows.is_empty() {
        let _ = write!(o, "<p>{}</p>", html(named.none));
        return;
    }
    let more = rows.len().saturating_sub(TOP_ROWS);
    rows.truncate(TOP_ROWS);
    let _ = write!(
        o,
        "<div class=\"scroll\"><table id=\"{}\"><thead><tr><th>{}</th><th>Stuck</th>",
        named.id,
        html(named.heading)
    );
    heading_cells(o, &states);
    o.push_str("</tr></thead><tbody>");
    for w in rows {
        let _ = write!(
            o,
            "<tr><td class=\"name\">{}</td><td>{}</td>",
            html(&w.name),
            w.counts.stuck()
        );
        for &s in &states {
            let _ = write!(o, "<td>{}</td>", w.counts.get(s));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
    if more > 0 {
        let _ = write!(o, "<p class=\"note\">{more} more not shown.</p>");
    }
    if let Some(note) = named.note {
        let _ = write!(o, "<p class=\"note\">{}</p>", html(note));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_makes_controls_visible() {
        assert_eq!(
            html("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(html("x\u{1b}[2Jy\u{202e}"), "x\\x1b[2Jy\\u{202e}");
    }

    #[test]
    fn buckets_keep_peaks_and_gaps() {
        let v: Vec<Option<f64>> = (0..1200).map(|i| Some(f64::from(i % 7))).collect();
        let b = buckets(&v);
        assert_eq!(b.len(), MAX_POINTS);
        assert!(b.iter().all(|(_, v)| v.is_some()));
        let short = [None, Some(1.0), None, Some(3.0)];
        assert_eq!(
            buckets(&short),
            [(0, None), (1, Some(1.0)), (2, None), (3, Some(3.0))]
        );
    }

    #[test]
    fn a_chart_breaks_at_unknown_values_and_marks_the_onset() {
        let s = svg(&[None, Some(1.0), Some(2.0), None, Some(2.0)], Some(2), "x");
        assert_eq!(s.matches("<polyline").count(), 2, "{s}");
        assert!(s.contains("class=\"onset\" x1=\"300\""), "{s}");
    }
}
