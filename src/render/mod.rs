//! Output: every renderer writes to any `io::Write` and never reads the kernel.
//!
//! Owns: the data a renderer is given ([`SummaryReport`], ...), the table, JSON, Prometheus,
//! plugin and doctor renderers, and the escaping of untrusted text. Colour and width arrive
//! decided (see `config`).

pub mod doctor;
pub mod json;
pub mod list;
pub mod plugin;
pub mod prometheus;
pub mod table;
pub mod text;
pub mod watch;

use crate::aggregate::{PortGrouping, PortRow, ProcMatrix, StateCounts, StateRow};
use crate::collect::netns::Namespace;
use crate::collect::owners::ScanStats;
use crate::collect::users::Users;
use crate::collect::{Outcome, SourceKind};
use crate::model::{Family, Filter, StateSet, TcpState};

/// The network namespaces an output covers, when tcpstat was told which to read.
#[derive(Debug, Clone, Default)]
pub struct NetnsView<'a> {
    /// Every namespace read or skipped, in order; empty when tcpstat read its own namespace
    /// without being asked to (then outputs look exactly as they always did).
    pub entries: Vec<NetnsEntry<'a>>,
    /// `--all-netns`: each row says its namespace (a NETNS column, a `netns` key).
    pub per_row: bool,
}

/// One namespace of a [`NetnsView`].
#[derive(Debug, Clone)]
pub struct NetnsEntry<'a> {
    pub ns: &'a Namespace,
    /// Why it was not read (`--all-netns` skips what it cannot enter).
    pub skipped: Option<String>,
    /// Its sockets that were counted, by state; `None` when skipped.
    pub counts: Option<StateRow>,
}

impl NetnsView<'_> {
    /// The label of the namespace a row was tagged with ([`crate::model::SocketRecord::netns`]).
    pub fn label(&self, inode: u64) -> &str {
        self.entries
            .iter()
            .find(|e| e.ns.inode == inode)
            .map_or("?", |e| e.ns.label.as_str())
    }

    /// The one-line description of what was read, for table footers: `None` without
    /// namespace options.
    pub fn footer(&self) -> Option<String> {
        if self.entries.is_empty() {
            return None;
        }
        let read = self.entries.iter().filter(|e| e.skipped.is_none()).count();
        let skipped = self.entries.len() - read;
        Some(if self.per_row {
            let mut line = format!("network namespaces: {read} read");
            if skipped > 0 {
                line.push_str(&format!(", {skipped} skipped (see warnings)"));
            }
            line
        } else {
            let labels: Vec<String> = self
                .entries
                .iter()
                .map(|e| text::escape(&e.ns.label).into_owned())
                .collect();
            format!("network namespace: {}", labels.join(", "))
        })
    }
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
        self.filter.states.intersect(self.outcome.source.covers())
    }

    /// Why a state's number is not a measurement, if it is not. A state with sockets is
    /// always shown: whatever the kernel reported is a measurement.
    pub fn not_counted_reason(&self, state: TcpState) -> Option<&'static str> {
        if self.counts.state_total(state) > 0 {
            None
        } else if !self.outcome.source.covers().contains(state) {
            Some(match self.outcome.source {
                SourceKind::Proc => "not visible to this source (/proc cannot see it)",
                SourceKind::Netlink => {
                    "not visible to this source (this kernel's sock_diag does not dump \
                     bound-only sockets; Linux 6.8 and newer do)"
                }
            })
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
    pub netns: &'a NetnsView<'a>,
}

/// Everything `doctor` prints.
#[derive(Debug, Clone)]
pub struct DoctorReport<'a> {
    pub diagnosis: &'a crate::diagnose::Diagnosis,
    pub thresholds: &'a crate::diagnose::Thresholds,
    pub facts: &'a crate::collect::kernel::KernelFacts,
    pub outcome: &'a Outcome,
    pub hostname: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// The exit status the findings give (0, 3 or 4).
    pub exit_code: u8,
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
