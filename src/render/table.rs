//! Human-readable tables.
//!
//! Owns: the `summary` table (comfy-table: eleven rows is well inside what it handles fast),
//! its colours and its footer. Colour is decided by `config`; this module only applies it.

use std::io::{self, Write};

use comfy_table::{presets, CellAlignment, LineStyle, Table};

use super::{text::escape, SummaryReport};
use crate::model::{Family, TcpState};

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// A tiny styler: wraps text in SGR codes only when colour is on.
#[derive(Debug, Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    pub fn apply(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// The colour of a state's name when it has sockets: steady states green, states that mean
/// someone is waiting on a close or a handshake yellow, TIME_WAIT (normal, but worth seeing)
/// cyan.
fn state_colour(state: TcpState) -> &'static str {
    match state {
        TcpState::Listen | TcpState::Established => GREEN,
        TcpState::TimeWait => CYAN,
        _ => YELLOW,
    }
}

/// Writes the summary table and its footer.
pub fn summary(out: &mut dyn Write, report: &SummaryReport<'_>, paint: Paint) -> io::Result<()> {
    let families = report.families();
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING.header_separator(LineStyle::none().fill('-').junction(' ')))
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    let mut header = vec![paint.apply(BOLD, "STATE")];
    header.extend(families.iter().map(|f| paint.apply(BOLD, f.label())));
    header.push(paint.apply(BOLD, "TOTAL"));
    table.set_header(header);

    let mut notes: Vec<(TcpState, &str)> = Vec::new();
    for state in TcpState::ALL {
        let reason = report.not_counted_reason(state);
        let total = report.counts.state_total(state);
        let name = match (reason, total) {
            (Some(_), _) | (None, 0) => paint.apply(DIM, state.name()),
            (None, _) => paint.apply(state_colour(state), state.name()),
        };
        let mut row = vec![name];
        match reason {
            Some(why) => {
                notes.push((state, why));
                row.extend(families.iter().map(|_| paint.apply(DIM, "-")));
                row.push(paint.apply(DIM, "-"));
            }
            None => {
                row.extend(
                    families
                        .iter()
                        .map(|&f| count(paint, report.counts.get(f, state))),
                );
                row.push(count(paint, total));
            }
        }
        table.add_row(row);
    }
    for bucket in report.counts.unknown() {
        let mut row = vec![paint.apply(YELLOW, &format!("UNKNOWN({})", bucket.value))];
        row.extend(
            families
                .iter()
                .map(|f| count(paint, bucket.by_family[f.index()])),
        );
        row.push(count(paint, bucket.total()));
        table.add_row(row);
    }
    let mut total_row = vec![paint.apply(BOLD, "TOTAL")];
    total_row.extend(
        families
            .iter()
            .map(|&f| paint.apply(BOLD, &report.counts.family_total(f).to_string())),
    );
    total_row.push(paint.apply(BOLD, &report.counts.total().to_string()));
    table.add_row(total_row);
    for column in table.column_iter_mut().skip(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }

    for line in table.lines() {
        // comfy-table pads every cell by one space; the left margin is noise.
        let line = line.strip_prefix(' ').unwrap_or(&line);
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    let mut reasons: Vec<&str> = notes.iter().map(|(_, why)| *why).collect();
    reasons.dedup();
    for why in reasons {
        let states: Vec<&str> = notes
            .iter()
            .filter(|(_, w)| *w == why)
            .map(|(s, _)| s.name())
            .collect();
        let line = format!("- = {why}: {}", states.join(", "));
        writeln!(out, "{}", paint.apply(DIM, &line))?;
    }
    let source = match report.outcome.source {
        crate::collect::SourceKind::Netlink => "netlink (sock_diag)",
        crate::collect::SourceKind::Proc => "/proc/net/tcp{,6}",
    };
    let mut footer = format!("source: {source}");
    if report.outcome.fallback_reason.is_some() {
        footer.push_str(" (fallback: netlink unavailable)");
    }
    if let Some(host) = &report.hostname {
        footer.push_str(&format!("  host: {}", escape(host)));
    }
    footer.push_str(&format!("  at {}", report.timestamp));
    if families.len() == 1 {
        let only = families[0];
        let other = if only == Family::V4 {
            Family::V6
        } else {
            Family::V4
        };
        footer.push_str(&format!("  ({} not read)", other.label()));
    }
    writeln!(out, "{}", paint.apply(DIM, &footer))?;
    if !report.outcome.complete {
        writeln!(
            out,
            "{}",
            paint.apply(
                YELLOW,
                "incomplete: some sockets could not be read (see warnings on stderr)"
            )
        )?;
    }
    Ok(())
}

fn count(paint: Paint, n: u64) -> String {
    if n == 0 {
        paint.apply(DIM, "0")
    } else {
        n.to_string()
    }
}
