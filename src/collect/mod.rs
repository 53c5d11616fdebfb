//! All kernel I/O for socket tables, and nothing else.
//!
//! Owns: choosing a source (`auto` = netlink, falling back to /proc), streaming every matching
//! socket to a [`Sink`] as it is parsed, and reporting what the source could and could not see.
//! Collectors never format output and never keep the table: memory is the sink's business.
//!
//! - [`netlink`]: sock_diag (`SOCK_DIAG_BY_FAMILY`), the primary source.
//! - [`procnet`]: `/proc/net/tcp` and `/proc/net/tcp6`, the fallback.

pub mod bytecode;
pub mod host;
pub mod netlink;
pub mod owners;
pub mod procnet;
pub mod users;

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
    with_fallback(
        options.choice,
        sink,
        |sink| netlink::collect(filter, sink),
        |sink| procnet::collect(&options.proc_root, filter, sink),
    )
}

/// Collects again and again (`watch`), keeping one netlink socket open between collections.
pub struct Collector {
    options: SourceOptions,
    netlink: Option<netlink::NetlinkSource>,
}

impl Collector {
    pub fn new(options: SourceOptions) -> Collector {
        Collector {
            options,
            netlink: None,
        }
    }

    /// Like [`collect`], on the kept socket; a failed socket is dropped and reopened next time.
    pub fn collect(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<Outcome, Error> {
        let Collector { options, netlink } = self;
        with_fallback(
            options.choice,
            sink,
            |sink| {
                let source = match netlink {
                    Some(source) => source,
                    None => netlink.insert(netlink::NetlinkSource::open()?),
                };
                let result = netlink::collect_on(source, filter, sink);
                if result.is_err() {
                    *netlink = None;
                }
                result
            },
            |sink| procnet::collect(&options.proc_root, filter, sink),
        )
    }
}

/// The source policy, apart from the sources themselves (so it can be tested with failing
/// ones): `auto` tries netlink and, if it fails and the sink can start over, reads /proc and
/// records why.
fn with_fallback(
    choice: SourceChoice,
    sink: &mut dyn Sink,
    netlink: impl FnOnce(&mut dyn Sink) -> Result<Outcome, Error>,
    proc: impl FnOnce(&mut dyn Sink) -> Result<Outcome, Error>,
) -> Result<Outcome, Error> {
    match choice {
        SourceChoice::Netlink => netlink(sink),
        SourceChoice::Proc => proc(sink),
        SourceChoice::Auto => match netlink(sink) {
            Ok(outcome) => Ok(outcome),
            Err(netlink_error) => {
                if !sink.reset() {
                    return Err(netlink_error);
                }
                match proc(sink) {
                    Ok(mut outcome) => {
                        outcome.fallback_reason = Some(netlink_error.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::StateCounts;
    use crate::model::{Family, KernelState};

    fn half_then_fail(sink: &mut dyn Sink) -> Result<Outcome, Error> {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::Listen));
        r.local_port = 1;
        sink.record(&r);
        Err(Error::NetlinkOpen(std::io::Error::from_raw_os_error(93)))
    }

    fn one_established(sink: &mut dyn Sink) -> Result<Outcome, Error> {
        sink.record(&SocketRecord::empty(
            Family::V6,
            KernelState::Known(TcpState::Established),
        ));
        Ok(Outcome::new(SourceKind::Proc))
    }

    #[test]
    fn auto_falls_back_and_discards_partial_counts() {
        let mut counts = StateCounts::new();
        let outcome = with_fallback(
            SourceChoice::Auto,
            &mut counts,
            half_then_fail,
            one_established,
        )
        .expect("fallback works");
        assert_eq!(outcome.source, SourceKind::Proc);
        let reason = outcome.fallback_reason.expect("reason recorded");
        assert!(reason.contains("netlink socket"), "{reason}");
        assert_eq!(
            counts.total(),
            1,
            "the failed source's socket was discarded"
        );
        assert_eq!(counts.get(Family::V6, TcpState::Established), 1);
    }

    #[test]
    fn explicit_netlink_never_falls_back() {
        let mut counts = StateCounts::new();
        let err = with_fallback(
            SourceChoice::Netlink,
            &mut counts,
            half_then_fail,
            one_established,
        )
        .expect_err("must fail");
        assert!(matches!(err, Error::NetlinkOpen(_)));
    }

    #[test]
    fn both_failing_reports_both() {
        let mut counts = StateCounts::new();
        let err = with_fallback(
            SourceChoice::Auto,
            &mut counts,
            half_then_fail,
            half_then_fail,
        )
        .expect_err("must fail");
        assert!(
            err.to_string().contains("/proc fallback failed too"),
            "{err}"
        );
    }

    #[test]
    fn a_sink_that_cannot_restart_gets_the_netlink_error() {
        struct Streamed;
        impl Sink for Streamed {
            fn record(&mut self, _: &SocketRecord) {}
            fn reset(&mut self) -> bool {
                false
            }
        }
        let err = with_fallback(
            SourceChoice::Auto,
            &mut Streamed,
            half_then_fail,
            one_established,
        )
        .expect_err("no fallback after output");
        assert!(matches!(err, Error::NetlinkOpen(_)));
    }
}
