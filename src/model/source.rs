//! Where numbers come from, and how complete they are.
//!
//! Owns: [`SourceChoice`] (what the user asked for), [`SourceKind`] (what produced the
//! numbers) and [`Outcome`], everything a collection says besides its sockets: the source,
//! which states it could see at all ([`Outcome::covers`], decided by the collector and carried
//! here as data), why it fell back, what made it partial. No I/O.

use super::{StateSet, TcpState};

/// Which source to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChoice {
    /// Netlink, or /proc when netlink cannot be used (said once on stderr).
    Auto,
    /// Netlink only: fail rather than fall back.
    Netlink,
    /// `/proc/net/tcp{,6}` only.
    Proc,
}

/// The source that produced the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Netlink,
    Proc,
}

impl SourceKind {
    /// Name used in JSON and on screen.
    pub const fn name(self) -> &'static str {
        match self {
            SourceKind::Netlink => "netlink",
            SourceKind::Proc => "proc",
        }
    }

    /// How table footers name it.
    pub const fn description(self) -> &'static str {
        match self {
            SourceKind::Netlink => "netlink (sock_diag)",
            SourceKind::Proc => "/proc/net/tcp{,6}",
        }
    }

    /// The choice that reads this source again and nothing else: a second pass must read
    /// what the first one read, so that the two never mix.
    pub const fn only(self) -> SourceChoice {
        match self {
            SourceKind::Netlink => SourceChoice::Netlink,
            SourceKind::Proc => SourceChoice::Proc,
        }
    }

    /// Why this source cannot see a state it does not cover, as a phrase.
    pub const fn blind_spot(self) -> &'static str {
        match self {
            SourceKind::Netlink => {
                "this kernel's sock_diag does not dump bound-only sockets (Linux 6.8 and newer do)"
            }
            SourceKind::Proc => "/proc cannot see it",
        }
    }
}

/// What a collection produced besides the sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub source: SourceKind,
    /// The states this source could see at all: /proc never lists bound-only sockets
    /// (CLOSED), and sock_diag dumps them only since Linux 6.8. Set by the collector, which
    /// knows its kernel; a state outside it is not a zero but unknown.
    pub covers: StateSet,
    /// Why netlink was not used, when `auto` fell back to /proc.
    pub fallback_reason: Option<String>,
    /// Problems that did not stop the run but may make numbers partial.
    pub warnings: Vec<String>,
    /// False when some sockets could not be read (malformed lines, missing tables, owners
    /// that could not be read while an owner filter decided what was counted).
    pub complete: bool,
}

impl Outcome {
    /// A clean outcome of `source`, which sees `covers`.
    pub fn new(source: SourceKind, covers: StateSet) -> Outcome {
        Outcome {
            source,
            covers,
            fallback_reason: None,
            warnings: Vec::new(),
            complete: true,
        }
    }

    /// The states whose numbers are measurements: `selected` and visible to the source.
    pub fn counted(&self, selected: StateSet) -> StateSet {
        selected.intersect(self.covers)
    }

    /// Why `state` was not counted, as a phrase after its name (`CLOSED is not visible to
    /// this source (/proc cannot see it)`), for a state outside [`Outcome::counted`].
    pub fn not_counted_reason(&self, state: TcpState) -> &'static str {
        if self.covers.contains(state) {
            "is not selected by --state"
        } else {
            match self.source {
                SourceKind::Netlink => {
                    "is not visible to this source (this kernel's sock_diag does not dump \
                     bound-only sockets; Linux 6.8 and newer do)"
                }
                SourceKind::Proc => "is not visible to this source (/proc cannot see it)",
            }
        }
    }
}

/// The states /proc can see: all but CLOSED (`tcp4_seq_show` walks only the listening and
/// established hash tables, never the bind table bound-only sockets live in).
pub const PROC_COVERS: StateSet = StateSet::ALL.without(StateSet::of(TcpState::Closed));
