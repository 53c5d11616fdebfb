//! Output: every renderer writes to any `io::Write` and never reads the kernel.
//!
//! Owns: the data a renderer is given ([`SummaryReport`], ...), the table, JSON, Prometheus,
//! plugin and doctor renderers, and the escaping of untrusted text. Colour and width arrive
//! decided (see `config`).

pub mod detail;
pub mod doctor;
pub mod doctor_at;
pub mod health;
pub mod history;
pub mod history_html;
pub mod json;
pub mod list;
pub mod plugin;
pub mod prometheus;
pub mod table;
pub mod text;
pub mod watch;
pub mod workloads;

use crate::aggregate::{PortGrouping, PortRow, ProcMatrix};
pub use crate::model::netns::{NetnsEntry, NetnsView};
use crate::model::{
    Family, Filter, Outcome, ScanStats, SourceKind, StateCounts, StateRow, StateSet, TcpState,
    Users,
};

/// The one-line description of the namespaces read, for table footers: `None` without
/// namespace options.
pub fn netns_footer(view: &NetnsView<'_>) -> Option<String> {
    if view.entries.is_empty() {
        return None;
    }
    let read = view.entries.iter().filter(|e| e.skipped.is_none()).count();
    let skipped = view.entries.len() - read;
    Some(if view.per_row {
        let mut line = format!("network namespaces: {read} read");
        if skipped > 0 {
            line.push_str(&format!(", {skipped} skipped (see warnings)"));
        }
        line
    } else {
        let labels: Vec<String> = view
            .entries
            .iter()
            .map(|e| text::escape(&e.ns.label).into_owned())
            .collect();
        format!("network namespace: {}", labels.join(", "))
    })
}

/// Everything `summary` prints.
#[derive(Debug, Clone)]
pub struct SummaryReport<'a> {
    pub counts: &'a StateCounts,
    pub outcome: &'a Outcome,
    pub filter: &'a Filter,
    pub hostname: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub netns: &'a NetnsView<'a>,
}

impl SummaryReport<'_> {
    /// States whose numbers are measurements: asked for, and visible to the source.
    pub fn counted_states(&self) -> StateSet {
        self.filter.states.intersect(self.outcome.covers)
    }

    /// Why a state's number is not a measurement, if it is not. A state with sockets is
    /// always shown: whatever the kernel reported is a measurement.
    pub fn not_counted_reason(&self, state: TcpState) -> Option<&'static str> {
        let reason = not_counted_reason(
            state,
            self.counts.state_total(state) > 0,
            self.filter.states,
            self.outcome.covers,
        );
        // The summary says why a source is blind to a state; the matrices share the short
        // phrase and name the source in their footers.
        match (reason, self.outcome.source) {
            (Some(NOT_VISIBLE), SourceKind::Proc) => {
                Some("not visible to this source (/proc cannot see it)")
            }
            (Some(NOT_VISIBLE), SourceKind::Netlink) => Some(
                "not visible to this source (this kernel's sock_diag does not dump bound-only \
                 sockets; Linux 6.8 and newer do)",
            ),
            (other, _) => other,
        }
    }

    pub fn families(&self) -> &[Family] {
        &self.filter.families
    }
}

/// Everything `ports` prints.
#[derive(Debug, Clone)]
pub struct PortsReport<'a> {
    /// Already sorted and cut to `--top` (see `cut`).
    pub rows: &'a [PortRow],
    pub outcome: &'a Outcome,
    pub filter: &'a Filter,
    pub all_states: bool,
    pub grouping: PortGrouping,
    pub netns: &'a NetnsView<'a>,
    /// What `--top` cut: the N asked for and the rows left out.
    pub cut: TopCut,
    pub hostname: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
}

/// What `--top N` left out of a matrix, so that outputs can say it (a footer line, JSON
/// `ports_omitted` / `processes_omitted`) instead of dropping rows silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopCut {
    /// `--top N`, when given.
    pub top: Option<usize>,
    /// Rows left out.
    pub omitted: usize,
}

impl TopCut {
    /// Cuts `rows` (sorted busiest first) to `top` and says what was left out.
    pub fn apply<T>(rows: &mut Vec<T>, top: Option<usize>) -> TopCut {
        let omitted = top.map_or(0, |n| rows.len().saturating_sub(n));
        if let Some(n) = top {
            rows.truncate(n);
        }
        TopCut { top, omitted }
    }

    /// The footer line of a cut table, if rows were left out.
    pub fn footer(&self) -> Option<String> {
        match (self.top, self.omitted) {
            (Some(n), omitted) if omitted > 0 => {
                Some(format!("{omitted} more row(s) not shown (--top {n})"))
            }
            _ => None,
        }
    }
}

/// Everything `doctor` prints.
#[derive(Debug, Clone)]
pub struct DoctorReport<'a> {
    pub diagnosis: &'a crate::diagnose::Diagnosis,
    pub thresholds: &'a crate::diagnose::Thresholds,
    pub facts: &'a crate::model::kernel::KernelFacts,
    pub outcome: &'a Outcome,
    pub hostname: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// The exit status the findings give (0, 3 or 4).
    pub exit_code: u8,
    /// The namespace examined, when one was asked for (`--netns`, `--netns-pid`).
    pub netns: &'a NetnsView<'a>,
}

/// Everything `procs` prints.
#[derive(Debug, Clone)]
pub struct ProcsReport<'a> {
    pub matrix: &'a ProcMatrix,
    pub owner_stats: ScanStats,
    pub outcome: &'a Outcome,
    pub filter: &'a Filter,
    pub all_states: bool,
    pub users: &'a Users,
    pub netns: &'a NetnsView<'a>,
    /// What `--top` cut from the process rows (the ownerless rows are never cut).
    pub cut: TopCut,
    pub hostname: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
}

/// [`not_counted_reason`] for a state the source cannot see.
const NOT_VISIBLE: &str = "not visible to this source";

/// Why a state's numbers are not measurements (its cells are then `-`), in the words of the
/// footnote under the table (`- = not visible to this source: CLOSED`): the source cannot see
/// it, or `--state` left it out. A state with sockets is always a measurement.
pub fn not_counted_reason(
    state: TcpState,
    has_sockets: bool,
    selected: StateSet,
    covers: StateSet,
) -> Option<&'static str> {
    if has_sockets {
        None
    } else if !covers.contains(state) {
        Some(NOT_VISIBLE)
    } else if !selected.contains(state) {
        Some("not selected by --state")
    } else {
        None
    }
}

/// One state column of a `ports` / `procs` matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateColumn {
    pub state: TcpState,
    /// Why its cells are `-` rather than numbers ([`not_counted_reason`]); `None`: counted.
    pub uncounted: Option<&'static str>,
}

/// The state columns of a `ports` / `procs` matrix: every state with `--all-states`; the
/// states selected with `--state`, zeros included (a state asked for is always shown);
/// otherwise those with sockets in any row (at least ESTABLISHED, so an empty table still has
/// a shape). Columns whose numbers are not measurements (not selected, not visible to the
/// source) are marked, to be printed as `-` with summary's footnote.
pub fn matrix_columns<'r>(
    all: bool,
    selected: StateSet,
    covers: StateSet,
    rows: impl Iterator<Item = &'r StateRow>,
) -> Vec<StateColumn> {
    let mut used = StateSet::EMPTY;
    for row in rows {
        for s in TcpState::ALL {
            if row.get(s) > 0 {
                used = used.union(StateSet::of(s));
            }
        }
    }
    let shown = if all {
        StateSet::ALL
    } else if selected != StateSet::ALL {
        selected.union(used)
    } else if used.is_empty() {
        StateSet::of(TcpState::Established)
    } else {
        used
    };
    shown
        .iter()
        .map(|state| StateColumn {
            state,
            uncounted: not_counted_reason(state, used.contains(state), selected, covers),
        })
        .collect()
}

/// The label of `procs`' row of sockets whose owner could not be read: `needs root` only when
/// permission is what stopped an unprivileged walk; `unreadable` as root (running as root
/// would not help) and when only I/O errors (EMFILE, ...) did.
pub fn hidden_label(stats: &ScanStats) -> &'static str {
    if stats.processes_hidden > 0 && !stats.as_root {
        "(hidden: needs root)"
    } else {
        "(hidden: unreadable)"
    }
}

/// The processes the owner walk could not read, counted per cause, for the legend of the
/// hidden row (which appears on either cause).
pub fn hidden_causes(stats: &ScanStats) -> Vec<String> {
    let mut causes = Vec::new();
    if stats.processes_hidden > 0 {
        causes.push(format!(
            "{} process(es) could not be read ({})",
            stats.processes_hidden,
            stats.hidden_reason()
        ));
    }
    if stats.processes_failed > 0 {
        causes.push(format!(
            "{} process(es) could not be read because of I/O errors (e.g. too many open files)",
            stats.processes_failed
        ));
    }
    if stats.processes_vanished > 0 {
        // An owner that exited during the scan is not hidden: its socket is closing.
        causes.push(format!(
            "{} process(es) exited during the scan (a socket they held is closing)",
            stats.processes_vanished
        ));
    }
    causes
}

/// The `reason` of JSON's `hidden` row: what kept owners from being read.
pub fn hidden_reason(stats: &ScanStats) -> String {
    let permission = if stats.as_root {
        "some processes could not be read even as root (a more privileged context)"
    } else {
        "some processes could not be read without root"
    };
    let mut parts = Vec::new();
    if stats.processes_hidden > 0 || stats.processes_failed == 0 {
        parts.push(permission);
    }
    if stats.processes_failed > 0 {
        parts.push(
            "some processes could not be read because of I/O errors (e.g. too many open files)",
        );
    }
    if stats.processes_vanished > 0 {
        parts.push("or the owner exited during the scan (the socket is closing)");
    }
    format!("owner not readable: {}", parts.join("; "))
}

/// The state columns of a matrix: every state with `--all-states`, else those with sockets
/// in any row (always at least one, so an empty table still has a shape).
pub fn state_columns<'r>(all: bool, rows: impl Iterator<Item = &'r StateRow>) -> Vec<TcpState> {
    if all {
        return TcpState::ALL.to_vec();
    }
    let mut used = StateSet::EMPTY;
    for row in rows {
        for s in TcpState::ALL {
            if row.get(s) > 0 {
                used = used.union(StateSet::of(s));
            }
        }
    }
    if used.is_empty() {
        used = StateSet::of(TcpState::Established);
    }
    used.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: TcpState, n: u64) -> StateRow {
        let mut r = StateRow::default();
        r.counts[state.index()] = n;
        r
    }

    fn shown(columns: &[StateColumn]) -> Vec<(&'static str, Option<&'static str>)> {
        columns
            .iter()
            .map(|c| (c.state.name(), c.uncounted))
            .collect()
    }

    #[test]
    fn top_cuts_say_what_they_left_out() {
        let mut rows = vec![1, 2, 3, 4, 5];
        let cut = TopCut::apply(&mut rows, Some(2));
        assert_eq!((rows.len(), cut.omitted), (2, 3));
        assert_eq!(
            cut.footer().as_deref(),
            Some("3 more row(s) not shown (--top 2)")
        );
        let cut = TopCut::apply(&mut rows, Some(5));
        assert_eq!((rows.len(), cut.omitted, cut.footer()), (2, 0, None));
        assert_eq!(TopCut::apply(&mut rows, None), TopCut::default());
    }

    #[test]
    fn matrix_columns_follow_the_selection_and_mark_what_is_not_counted() {
        let proc_covers = StateSet::ALL.without(StateSet::of(TcpState::Closed));
        let rows = [row(TcpState::TimeWait, 3)];
        // No --state: the states with sockets.
        let c = matrix_columns(false, StateSet::ALL, StateSet::ALL, rows.iter());
        assert_eq!(shown(&c), [("TIME_WAIT", None)]);
        // --state syn-sent with no such socket: SYN_SENT, not a made-up ESTABLISHED column.
        let syn_sent = StateSet::of(TcpState::SynSent);
        let c = matrix_columns(false, syn_sent, StateSet::ALL, [].iter());
        assert_eq!(shown(&c), [("SYN_SENT", None)]);
        // --state closed from /proc: shown, marked.
        let closed = StateSet::of(TcpState::Closed);
        let c = matrix_columns(false, closed, proc_covers, [].iter());
        assert_eq!(shown(&c), [("CLOSED", Some("not visible to this source"))]);
        // --all-states --state time-wait from /proc: eleven columns, ten marked.
        let tw = StateSet::of(TcpState::TimeWait);
        let c = matrix_columns(true, tw, proc_covers, rows.iter());
        assert_eq!(c.len(), 11);
        assert_eq!(
            c[0],
            StateColumn {
                state: TcpState::Listen,
                uncounted: Some("not selected by --state")
            }
        );
        assert_eq!(
            c.iter()
                .find(|c| c.state == TcpState::Closed)
                .and_then(|c| c.uncounted),
            Some("not visible to this source")
        );
        assert_eq!(c.iter().filter(|c| c.uncounted.is_none()).count(), 1);
        // No sockets, no --state: one ESTABLISHED column of zeros (a measurement).
        let c = matrix_columns(false, StateSet::ALL, StateSet::ALL, [].iter());
        assert_eq!(shown(&c), [("ESTABLISHED", None)]);
    }
}
