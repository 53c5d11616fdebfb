//! Output: every renderer writes to any `io::Write` and never reads the kernel.
//!
//! Owns: the data a renderer is given ([`SummaryReport`]), the table and JSON renderers, and
//! the escaping of untrusted text. Colour and width arrive decided (see `config`).

pub mod json;
pub mod list;
pub mod table;
pub mod text;
pub mod watch;

use crate::aggregate::{PortGrouping, PortRow, ProcMatrix, StateCounts, StateRow};
use crate::collect::owners::ScanStats;
use crate::collect::users::Users;
use crate::collect::Outcome;
use crate::model::{Family, Filter, StateSet, TcpState};

/// Everything `summary` prints.
#[derive(Debug, Clone)]
pub struct SummaryReport<'a> {
    pub counts: &'a StateCounts,
    pub outcome: &'a Outcome,
    pub filter: &'a Filter,
    pub hostname: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
}

impl SummaryReport<'_> {
    /// States whose numbers are measurements: asked for, and visible to the source.
    pub fn counted_states(&self) -> StateSet {
        self.filter.states.intersect(self.outcome.source.covers())
    }

    /// Why a state's number is not a measurement, if it is not. A state with sockets is
    /// always shown: whatever the kernel reported is a measurement.
    pub fn not_counted_reason(&self, state: TcpState) -> Option<&'static str> {
        if self.counts.state_total(state) > 0 {
            None
        } else if !self.outcome.source.covers().contains(state) {
            Some("not visible to this source")
        } else if !self.filter.states.contains(state) {
            Some("not selected by --state")
        } else {
            None
        }
    }

    pub fn families(&self) -> &[Family] {
        &self.filter.families
    }
}

/// Everything `ports` prints.
#[derive(Debug, Clone)]
pub struct PortsReport<'a> {
    /// Already sorted and cut to `--top`.
    pub rows: &'a [PortRow],
    pub outcome: &'a Outcome,
    pub filter: &'a Filter,
    pub all_states: bool,
    pub grouping: PortGrouping,
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
