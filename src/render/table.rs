//! Human-readable tables.
//!
//! Owns: the `summary` table (comfy-table: eleven rows is well inside what it handles fast),
//! its colours and its footer. Colour is decided by `config`; this module only applies it.

use std::io::{self, Write};

use comfy_table::{presets, CellAlignment, LineStyle, Table};

use super::{text::escape, SummaryReport};
use crate::model::StateRow;
use crate::model::{Family, StateSet, TcpState};

const BOLD: &str = "\x1b[1m";
pub const DIM: &str = "\x1b[2m";
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
    if report.netns.per_row {
        return summary_by_netns(out, report, paint);
    }
    let families = report.families();
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING.header_separator(LineStyle::none().fill('-').junction(' ')))
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    let mut header = vec![paint.apply(BOLD, "STATE")];
    header.extend(families.iter().map(|f| paint.apply(BOLD, f.label())));
    header.push(paint.apply(BOLD, "TOTAL"));
    table.set_header(header);

    let mut notes: Vec<(TcpState, &'static str)> = Vec::new();
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
    write_uncounted(out, &notes, paint)?;
    write_summary_footer(out, report, paint)
}

/// The footnote under a table with `-` cells: one line per reason, naming its states
/// (`- = not selected by --state: LISTEN, SYN_SENT`).
fn write_uncounted(
    out: &mut dyn Write,
    notes: &[(TcpState, &'static str)],
    paint: Paint,
) -> io::Result<()> {
    let mut reasons: Vec<&str> = Vec::new();
    for (_, why) in notes {
        if !reasons.contains(why) {
            reasons.push(why);
        }
    }
    for why in reasons {
        let states: Vec<&str> = notes
            .iter()
            .filter(|(_, w)| *w == why)
            .map(|(s, _)| s.name())
            .collect();
        let line = format!("- = {why}: {}", states.join(", "));
        writeln!(out, "{}", paint.apply(DIM, &line))?;
    }
    Ok(())
}

/// The `-` footnotes of a matrix's state columns.
fn column_notes(columns: &[super::StateColumn]) -> Vec<(TcpState, &'static str)> {
    columns
        .iter()
        .filter_map(|c| c.uncounted.map(|why| (c.state, why)))
        .collect()
}

/// A state cell of a matrix: the count, or `-` in a column that is not a measurement.
fn state_cell(paint: Paint, column: &super::StateColumn, row: &StateRow) -> String {
    if column.uncounted.is_some() {
        paint.apply(DIM, "-")
    } else {
        count(paint, row.get(column.state))
    }
}

/// The summary's last lines: skipped namespaces, source, namespaces, host, time, the family
/// not read, and whether anything could not be read.
fn write_summary_footer(
    out: &mut dyn Write,
    report: &SummaryReport<'_>,
    paint: Paint,
) -> io::Result<()> {
    write_skipped(out, report.netns, paint)?;
    let mut footer = source_footer(report.outcome);
    if let Some(netns) = super::netns_footer(report.netns) {
        footer.push_str(&format!("  {netns}"));
    }
    if let Some(host) = &report.hostname {
        footer.push_str(&format!("  host: {}", escape(host)));
    }
    footer.push_str(&format!("  at {}", report.timestamp));
    if let [only] = report.families() {
        let other = if *only == Family::V4 {
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

/// `summary --all-netns`: one row per network namespace, a column per state (those selected
/// with --state, else those with sockets), and the host's total.
fn summary_by_netns(
    out: &mut dyn Write,
    report: &SummaryReport<'_>,
    paint: Paint,
) -> io::Result<()> {
    let read: Vec<(&str, StateRow)> = report
        .netns
        .entries
        .iter()
        .filter_map(|e| Some((e.ns.label.as_str(), e.counts?)))
        .collect();
    let total = report.counts.row();
    let states: Vec<TcpState> = if report.filter.states == StateSet::ALL {
        super::state_columns(false, std::iter::once(&total))
    } else {
        report.counted_states().iter().collect()
    };
    let has_unknown = total.unknown > 0;
    let mut header = vec!["NETNS".to_string()];
    header.extend(states.iter().map(|s| s.name().to_string()));
    if has_unknown {
        header.push("UNKNOWN".into());
    }
    header.push("TOTAL".into());
    let mut table = matrix_table(paint, header);
    let cells = |row: &StateRow| {
        let mut cells: Vec<String> = states.iter().map(|&s| count(paint, row.get(s))).collect();
        if has_unknown {
            cells.push(count(paint, row.unknown));
        }
        cells
    };
    for (label, row) in &read {
        let mut line = vec![escape(label).into_owned()];
        line.extend(cells(row));
        line.push(paint.apply(BOLD, &row.total().to_string()));
        table.add_row(line);
    }
    let mut line = vec![paint.apply(BOLD, "TOTAL")];
    line.extend(cells(&total).into_iter().map(|c| paint.apply(BOLD, &c)));
    line.push(paint.apply(BOLD, &total.total().to_string()));
    table.add_row(line);
    write_table(out, &mut table, 1)?;
    writeln!(out)?;
    if report.filter.states == StateSet::ALL {
        let hidden: Vec<&str> = report
            .counted_states()
            .iter()
            .filter(|s| !states.contains(s))
            .map(TcpState::name)
            .collect();
        if !hidden.is_empty() {
            let line = format!("no sockets in any namespace: {}", hidden.join(", "));
            writeln!(out, "{}", paint.apply(DIM, &line))?;
        }
    }
    let not_covered: Vec<&str> = report
        .filter
        .states
        .without(report.outcome.covers)
        .iter()
        .map(TcpState::name)
        .collect();
    if !not_covered.is_empty() {
        let line = format!(
            "not visible to this source: {} ({})",
            not_covered.join(", "),
            report.outcome.source.blind_spot()
        );
        writeln!(out, "{}", paint.apply(DIM, &line))?;
    }
    write_summary_footer(out, report, paint)
}

fn count(paint: Paint, n: u64) -> String {
    if n == 0 {
        paint.apply(DIM, "0")
    } else {
        n.to_string()
    }
}

fn matrix_table(paint: Paint, header: Vec<String>) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING.header_separator(LineStyle::none().fill('-').junction(' ')))
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    table.set_header(
        header
            .into_iter()
            .map(|h| paint.apply(BOLD, &h))
            .collect::<Vec<_>>(),
    );
    table
}

fn write_table(out: &mut dyn Write, table: &mut Table, numeric_from: usize) -> io::Result<()> {
    for (i, column) in table.column_iter_mut().enumerate() {
        if i >= numeric_from {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    for line in table.lines() {
        let line = line.strip_prefix(' ').unwrap_or(&line);
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn source_footer(outcome: &crate::model::Outcome) -> String {
    let source = match outcome.source {
        crate::model::SourceKind::Netlink => "netlink (sock_diag)",
        crate::model::SourceKind::Proc => "/proc/net/tcp{,6}",
    };
    let mut footer = format!("source: {source}");
    if outcome.fallback_reason.is_some() {
        footer.push_str(" (fallback: netlink unavailable)");
    }
    footer
}

/// Writes the `ports` matrix.
pub fn ports(out: &mut dyn Write, report: &super::PortsReport<'_>, paint: Paint) -> io::Result<()> {
    let states = super::matrix_columns(
        report.all_states,
        report.filter.states,
        report.outcome.covers,
        report.rows.iter().map(|r| &r.counts),
    );
    let has_unknown = report.rows.iter().any(|r| r.counts.unknown > 0);
    let per_row = report.netns.per_row;
    let mut header = Vec::new();
    if per_row {
        header.push("NETNS".to_string());
    }
    header.extend(["PORT".to_string(), "DIR".to_string()]);
    header.extend(states.iter().map(|c| c.state.name().to_string()));
    if has_unknown {
        header.push("UNKNOWN".into());
    }
    header.push("TOTAL".into());
    header.push("ACCEPT-Q".into());
    let mut table = matrix_table(paint, header);
    for row in report.rows {
        let mut cells = Vec::new();
        if per_row {
            cells.push(escape(report.netns.label(row.netns)).into_owned());
        }
        cells.extend([row.port.to_string(), row.direction.name().to_string()]);
        cells.extend(states.iter().map(|c| state_cell(paint, c, &row.counts)));
        if has_unknown {
            cells.push(count(paint, row.counts.unknown));
        }
        cells.push(paint.apply(BOLD, &row.counts.total().to_string()));
        cells.push(match row.listener {
            None => String::new(),
            Some(q) => {
                let text = match q.backlog {
                    Some(b) => format!("{}/{}", q.queued, b),
                    None => format!("{}/?", q.queued),
                };
                if q.backlog.is_some_and(|b| b > 0 && q.queued >= b) {
                    paint.apply(YELLOW, &text)
                } else {
                    text
                }
            }
        });
        table.add_row(cells);
    }
    write_table(out, &mut table, if per_row { 3 } else { 2 })?;
    writeln!(out)?;
    write_uncounted(out, &column_notes(&states), paint)?;
    if let Some(line) = report.cut.footer() {
        writeln!(out, "{}", paint.apply(DIM, &line))?;
    }
    let rule = match report.grouping {
        crate::aggregate::PortGrouping::Service => {
            "grouped by service port: in = this host's port, out = the peer's port\nservice port \
             = the side listened on here (by port number), else the side outside \
             net.ipv4.ip_local_port_range, else the lower"
        }
        crate::aggregate::PortGrouping::Local => "grouped by local port",
        crate::aggregate::PortGrouping::Remote => "grouped by remote port",
    };
    for line in rule.lines() {
        writeln!(out, "{}", paint.apply(DIM, line))?;
    }
    let mut footer = String::from("ACCEPT-Q = connections waiting to be accepted / backlog");
    if report.outcome.source == crate::model::SourceKind::Proc {
        footer.push_str(" (? = /proc does not report the backlog)");
    }
    writeln!(out, "{}", paint.apply(DIM, &footer))?;
    write_source_footer(out, report.outcome, report.netns, paint)
}

/// A line per namespace that `--all-netns` skipped, with why.
fn write_skipped(
    out: &mut dyn Write,
    netns: &super::NetnsView<'_>,
    paint: Paint,
) -> io::Result<()> {
    for e in netns.entries.iter() {
        if let Some(why) = &e.skipped {
            let line = format!("skipped {}: {}", escape(&e.ns.label), escape(why));
            writeln!(out, "{}", paint.apply(YELLOW, &line))?;
        }
    }
    Ok(())
}

/// Skipped namespaces, then the last footer line: source and namespaces.
fn write_source_footer(
    out: &mut dyn Write,
    outcome: &crate::model::Outcome,
    netns: &super::NetnsView<'_>,
    paint: Paint,
) -> io::Result<()> {
    write_skipped(out, netns, paint)?;
    let mut footer = source_footer(outcome);
    if let Some(line) = super::netns_footer(netns) {
        footer.push_str(&format!("  {line}"));
    }
    writeln!(out, "{}", paint.apply(DIM, &footer))
}

/// A group x state matrix (`workloads`): `rows` are the leading text cells of each row and
/// its counts; a column per state of `states`, UNKNOWN when some row has unknown states, and
/// TOTAL. Then the notes on columns that are not measurements.
pub fn matrix(
    out: &mut dyn Write,
    paint: Paint,
    mut header: Vec<String>,
    states: &[super::StateColumn],
    rows: Vec<(Vec<String>, &StateRow)>,
) -> io::Result<()> {
    let has_unknown = rows.iter().any(|(_, r)| r.unknown > 0);
    let leading = header.len();
    header.extend(states.iter().map(|c| c.state.name().to_string()));
    if has_unknown {
        header.push("UNKNOWN".into());
    }
    header.push("TOTAL".into());
    let mut table = matrix_table(paint, header);
    for (mut cells, row) in rows {
        cells.extend(states.iter().map(|c| state_cell(paint, c, row)));
        if has_unknown {
            cells.push(count(paint, row.unknown));
        }
        cells.push(paint.apply(BOLD, &row.total().to_string()));
        table.add_row(cells);
    }
    write_table(out, &mut table, leading)?;
    writeln!(out)?;
    write_uncounted(out, &column_notes(states), paint)
}

/// Legend lines (dimmed), then skipped namespaces, source and namespaces.
pub fn footer(
    out: &mut dyn Write,
    legend: &[String],
    outcome: &crate::model::Outcome,
    netns: &super::NetnsView<'_>,
    paint: Paint,
) -> io::Result<()> {
    for line in legend {
        writeln!(out, "{}", paint.apply(DIM, line))?;
    }
    write_source_footer(out, outcome, netns, paint)
}

/// Listening sockets named in the legend of `(not accepted)`; JSON has them all.
const QUEUES_SHOWN: usize = 5;

/// Where the connections not accepted yet wait: `2 on 127.0.0.1:8080 (listening process:
/// 4242/leakyd)`, per listening socket, busiest first.
fn accept_queues(report: &super::ProcsReport<'_>) -> String {
    let queues = &report.matrix.accept_queues;
    let mut parts: Vec<String> = queues
        .iter()
        .take(QUEUES_SHOWN)
        .map(|q| {
            let mut part = format!("{} on ", q.sockets);
            super::list::write_endpoint(&mut part, q.address, q.port);
            if report.netns.per_row {
                part.push_str(&format!(" in {}", escape(report.netns.label(q.netns))));
            }
            if !q.listener_found {
                part.push_str(" (no listening socket found: it closed while tcpstat read)");
            } else if q.owners.is_empty() {
                part.push_str(" (the listening socket's process could not be found)");
            } else {
                part.push_str(" (listening process: ");
                for (i, (pid, command)) in q.owners.iter().enumerate() {
                    if i > 0 {
                        part.push_str(", ");
                    }
                    part.push_str(&format!("{pid}/"));
                    super::list::push_command(&mut part, command);
                }
                part.push(')');
            }
            part
        })
        .collect();
    if queues.len() > QUEUES_SHOWN {
        parts.push(format!(
            "and {} more listening socket(s) (see --json)",
            queues.len() - QUEUES_SHOWN
        ));
    }
    parts.join("; ")
}

/// Writes the `procs` matrix with its special rows and legend.
pub fn procs(out: &mut dyn Write, report: &super::ProcsReport<'_>, paint: Paint) -> io::Result<()> {
    let m = report.matrix;
    let specials = [&m.not_accepted, &m.no_owner, &m.hidden, &m.not_found];
    let states = super::matrix_columns(
        report.all_states,
        report.filter.states,
        report.outcome.covers,
        m.processes.iter().map(|p| &p.counts).chain(specials),
    );
    let has_unknown = m
        .processes
        .iter()
        .map(|p| &p.counts)
        .chain(specials)
        .any(|r| r.unknown > 0);
    let per_row = report.netns.per_row;
    let mut header = Vec::new();
    if per_row {
        header.push("NETNS".to_string());
    }
    header.extend(["PID".to_string(), "COMMAND".to_string(), "USER".to_string()]);
    header.extend(states.iter().map(|c| c.state.name().to_string()));
    if has_unknown {
        header.push("UNKNOWN".into());
    }
    header.push("TOTAL".into());
    let mut table = matrix_table(paint, header);
    let counts = |row: &crate::model::StateRow| {
        let mut cells: Vec<String> = states.iter().map(|c| state_cell(paint, c, row)).collect();
        if has_unknown {
            cells.push(count(paint, row.unknown));
        }
        cells.push(paint.apply(BOLD, &row.total().to_string()));
        cells
    };
    for p in &m.processes {
        let user = report
            .users
            .name(p.uid)
            .map_or_else(|| p.uid.to_string(), |n| escape(n).into_owned());
        let mut cells = Vec::new();
        if per_row {
            cells.push(escape(report.netns.label(p.netns)).into_owned());
        }
        cells.extend([p.pid.to_string(), escape(&p.command).into_owned(), user]);
        cells.extend(counts(&p.counts));
        table.add_row(cells);
    }
    let hidden_label = super::hidden_label(&report.owner_stats);
    // With --all-netns, the ownerless rows of each namespace; else the four totals.
    let ownerless: Vec<(Option<u64>, [&crate::model::StateRow; 4])> = if per_row {
        m.by_netns
            .iter()
            .map(|n| {
                (
                    Some(n.netns),
                    [&n.not_accepted, &n.no_owner, &n.hidden, &n.not_found],
                )
            })
            .collect()
    } else {
        vec![(None, specials)]
    };
    for (netns, rows) in ownerless {
        for (row, label) in rows.into_iter().zip([
            "(not accepted)",
            "(no owner)",
            hidden_label,
            "(owner not found)",
        ]) {
            if row.total() > 0 {
                let mut cells = Vec::new();
                if let Some(inode) = netns {
                    cells.push(escape(report.netns.label(inode)).into_owned());
                }
                cells.extend(["-".to_string(), paint.apply(DIM, label), String::new()]);
                cells.extend(counts(row));
                table.add_row(cells);
            }
        }
    }
    write_table(out, &mut table, if per_row { 4 } else { 3 })?;
    writeln!(out)?;
    write_uncounted(out, &column_notes(&states), paint)?;
    let mut legend: Vec<String> = report.cut.footer().into_iter().collect();
    if m.not_accepted.total() > 0 {
        legend.push(format!(
            "(not accepted): connections the kernel completed that the listening process has not \
             accept()ed yet (no file, so no process holds them, until it does; see ACCEPT-Q in \
             `tcpstat ports`): {}",
            accept_queues(report)
        ));
    }
    if m.no_owner.total() > 0 {
        legend.push("(no owner): TIME_WAIT and SYN_RECV sockets and orphans (closed by their process, still finishing: FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK) belong to no process".to_string());
    }
    if m.hidden.total() > 0 {
        legend.push(format!(
            "{hidden_label}: {}; these sockets probably belong to them",
            super::hidden_causes(&report.owner_stats).join(" and ")
        ));
    }
    if m.not_found.total() > 0 {
        legend.push("(owner not found): closed or handed over while processes were scanned, or held by a process this /proc cannot see".to_string());
    }
    legend.push(format!(
        "{} socket(s); a socket shared by several processes (e.g. after fork) counts in each of their rows",
        m.sockets
    ));
    for line in legend {
        writeln!(out, "{}", paint.apply(DIM, &line))?;
    }
    write_source_footer(out, report.outcome, report.netns, paint)
}
