//! All kernel I/O for socket tables, and nothing else.
//!
//! Owns: choosing a source (`auto` = netlink, falling back to /proc), streaming every matching
//! socket to a [`Sink`] as it is parsed, and reporting what the source could and could not see.
//! Collectors never format output and never keep the table: memory is the sink's business.
//!
//! - [`netlink`]: sock_diag (`SOCK_DIAG_BY_FAMILY`), the primary source.
//! - [`procnet`]: `/proc/net/tcp` and `/proc/net/tcp6`, the fallback.

pub mod host;
pub mod netlink;
pub mod procnet;

use std::path::PathBuf;

use crate::error::Error;
use crate::model::{Filter, SocketRecord, StateSet, TcpState};

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

    /// The states this source can see at all. /proc never lists bound-only sockets (CLOSED):
    /// `tcp4_seq_show` walks only the listening and established hash tables.
    pub fn covers(self) -> StateSet {
        match self {
            SourceKind::Netlink => StateSet::ALL,
            SourceKind::Proc => StateSet::ALL.without(StateSet::of(TcpState::Closed)),
        }
    }
}

/// Where and how to read.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub choice: SourceChoice,
    /// Root of the proc filesystem (`--proc-root`, default `/proc`).
    pub proc_root: PathBuf,
}

/// Receives each matching socket as it is parsed.
pub trait Sink {
    fn record(&mut self, record: &SocketRecord);

    /// Forgets everything recorded so far, so a failed source can be replaced by another.
    /// Returns false when that is impossible (e.g. rows already written out).
    fn reset(&mut self) -> bool;
}

/// What a collection produced besides the sockets.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub source: SourceKind,
    /// Why netlink was not used, when `auto` fell back to /proc.
    pub fallback_reason: Option<String>,
    /// Problems that did not stop the run but may make numbers partial.
    pub warnings: Vec<String>,
    /// False when some sockets could not be read (malformed lines, missing tables).
    pub complete: bool,
}

impl Outcome {
    fn new(source: SourceKind) -> Outcome {
        Outcome {
            source,
            fallback_reason: None,
            warnings: Vec::new(),
            complete: true,
        }
    }
}

/// Streams every socket matching `filter` into `sink` from the chosen source.
pub fn collect(
    options: &SourceOptions,
    filter: &Filter,
    sink: &mut dyn Sink,
) -> Result<Outcome, Error> {
    match options.choice {
        SourceChoice::Netlink => netlink::collect(filter, sink),
        SourceChoice::Proc => procnet::collect(&options.proc_root, filter, sink),
        SourceChoice::Auto => match netlink::collect(filter, sink) {
            Ok(outcome) => Ok(outcome),
            Err(netlink_error) => {
                if !sink.reset() {
                    return Err(netlink_error);
                }
                let reason = netlink_error.to_string();
                match procnet::collect(&options.proc_root, filter, sink) {
                    Ok(mut outcome) => {
                        outcome.fallback_reason = Some(reason);
                        Ok(outcome)
                    }
                    Err(proc_error) => Err(Error::BothSourcesFailed {
                        netlink: Box::new(netlink_error),
                        proc: Box::new(proc_error),
                    }),
                }
            }
        },
    }
}
