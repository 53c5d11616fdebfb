//! Output: every renderer writes to any `io::Write` and never reads the kernel.
//!
//! Owns: the data a renderer is given ([`SummaryReport`]), the table and JSON renderers, and
//! the escaping of untrusted text. Colour and width arrive decided (see `config`).

pub mod json;
pub mod table;
pub mod text;

use crate::aggregate::StateCounts;
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
