//! All kernel and filesystem I/O: socket tables, owners, namespaces, and the settings and
//! counters around them, nothing else.
//!
//! Owns: choosing a source (`auto` = netlink, falling back to /proc), streaming every matching
//! socket of one namespace to a [`Sink`] as it is parsed ([`Reader`]), and reporting what the
//! source could and could not see in an [`Outcome`]. Collectors never format output and never
//! keep the table: memory is the sink's business. Which namespaces are read, and in how many
//! passes, is the pipeline's.
//!
//! - [`netlink`]: sock_diag (`SOCK_DIAG_BY_FAMILY`), the primary source.
//! - [`procnet`]: `/proc/net/tcp` and `/proc/net/tcp6`, the fallback.
//! - [`netns`]: which network namespace to read, and reading inside another one.
//! - [`owners`]: which processes hold which sockets.
//! - [`kernel`]: the sysctls and counters that give socket counts their meaning.

pub mod bytecode;
pub mod cgroups;
pub mod host;
pub mod kernel;
pub mod netlink;
pub mod netns;
pub mod nlattr;
pub mod owners;
pub mod procnet;
pub mod tcpinfo;
pub mod users;
pub mod workloads;

use std::fs::File;
use std::io;
use std::path::PathBuf;

use crate::error::Error;
use crate::model::sink::AsideSink;
use crate::model::{
    Extensions, Family, Filter, Half, Namespace, Outcome, Sink, SocketDetail, SocketRecord,
    SourceChoice, SourceKind, StateCounts, StateSet, TcpState,
};

/// Where one namespace is read from.
#[derive(Debug, Clone)]
pub struct Target {
    pub choice: SourceChoice,
    /// Root of the proc filesystem (`--proc-root`, default `/proc`).
    pub proc_root: PathBuf,
    /// The network namespace to read; `None`: tcpstat's own. Its sockets are tagged with its
    /// inode ([`SocketRecord::netns`]).
    pub netns: Option<Namespace>,
}

impl Target {
    /// Reads the /proc tables of the namespace to read: `<proc_root>/net/tcp{,6}` for
    /// tcpstat's own, `<proc_root>/PID/net/tcp{,6}` of a process in it when one is known (no
    /// privileges needed), else `/proc/thread-self/net/tcp{,6}` opened inside it.
    fn collect_proc(&self, filter: &Filter, sink: &mut dyn Sink) -> Result<Outcome, Error> {
        let ns = match &self.netns {
            Some(ns) if !ns.current => ns,
            _ => return procnet::collect(&self.proc_root, filter, sink),
        };
        if let Some(member) = &ns.process {
            return procnet::collect(&self.proc_root.join(member.pid.to_string()), filter, sink);
        }
        let root = self.proc_root.join("thread-self");
        let mut tables = netns::within(ns, || {
            Family::ALL.map(|family| {
                let path = procnet::table_path(&root, family);
                let file = File::open(&path);
                Some((path, file))
            })
        })?;
        // Each family is read once (the filter's families are distinct), so each open table
        // is taken once.
        procnet::collect_opened(filter, sink, |family| {
            tables[family.index()].take().unwrap_or_else(|| {
                let path = procnet::table_path(&root, family);
                (path, Err(io::Error::other("already read")))
            })
        })
    }

    fn open_netlink(&self) -> Result<netlink::NetlinkSource, Error> {
        netlink::NetlinkSource::open_in(self.netns.as_ref())
    }

    fn tag(&self) -> u64 {
        self.netns.as_ref().map_or(0, |ns| ns.inode)
    }
}

/// Tags every socket with the namespace it was read from.
struct Tagged<'s> {
    netns: u64,
    inner: &'s mut dyn Sink,
}

impl Sink for Tagged<'_> {
    fn record(&mut self, record: &SocketRecord) {
        if self.netns == 0 {
            self.inner.record(record);
        } else {
            let mut tagged = *record;
            tagged.netns = self.netns;
            self.inner.record(&tagged);
        }
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        if self.netns == 0 {
            self.inner.record_detail(record, detail);
        } else {
            let mut tagged = *record;
            tagged.netns = self.netns;
            self.inner.record_detail(&tagged, detail);
        }
    }

    fn reset(&mut self) -> bool {
        self.inner.reset()
    }

    fn counts_mut(&mut self) -> Option<&mut StateCounts> {
        // Counts carry no namespace: nothing to tag.
        self.inner.counts_mut()
    }

    fn aside(&self) -> Option<Box<dyn AsideSink>> {
        self.inner.aside()
    }

    fn absorb(&mut self, aside: Box<dyn AsideSink>) {
        self.inner.absorb(aside);
    }
}

/// Reads one namespace, once or again and again (`watch`, `serve`), keeping one netlink
/// socket open between reads; a socket that failed is dropped and another opened next time,
/// in the same namespace.
pub struct Reader {
    target: Target,
    netlink: Option<netlink::NetlinkSource>,
}

impl Reader {
    pub fn new(target: Target) -> Reader {
        Reader {
            target,
            netlink: None,
        }
    }

    /// Where this reader reads.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Reads `ns` from now on: the same namespace (same inode) found again, perhaps with
    /// another process in it for the /proc source. The kept socket stays.
    pub fn retarget(&mut self, ns: Namespace) {
        self.target.netns = Some(ns);
    }

    /// Closes the kept socket, if any: the next read opens another (`watch --all-netns`
    /// short of descriptors keeps none between reads).
    pub fn release(&mut self) {
        self.netlink = None;
    }

    /// Streams every socket matching `filter` into `sink` from the chosen source. `split`: a
    /// sink that can merge ([`Sink::aside`]) may be filled on two threads (see
    /// `read_closed_aside`); worth it when one namespace is read, not when many
    /// already keep both cores busy.
    pub fn read(
        &mut self,
        filter: &Filter,
        sink: &mut dyn Sink,
        split: bool,
    ) -> Result<Outcome, Error> {
        let choice = self.target.choice;
        let split = split.then_some(crate::model::kernel::DEFAULT_EPHEMERAL_PORTS);
        self.read_from(choice, filter, Extensions::NONE, sink, split)
    }

    /// [`Reader::read`] from `choice` rather than the target's own choice (a second pass
    /// reads the source the first one read), with the `extensions` asked of the kernel (the
    /// sink gets them through [`Sink::record_detail`]; /proc has none, and says so).
    /// `split`: the sink may be filled on two threads; the namespace's ephemeral port range
    /// (a dump with extensions is split in two halves by port around its middle: see
    /// `read_halves`).
    pub fn read_from(
        &mut self,
        choice: SourceChoice,
        filter: &Filter,
        extensions: Extensions,
        sink: &mut dyn Sink,
        split: Option<(u16, u16)>,
    ) -> Result<Outcome, Error> {
        let Reader { target, netlink } = self;
        let mut sink = Tagged {
            netns: target.tag(),
            inner: sink,
        };
        let split = split.filter(|_| procnet::parallel());
        with_fallback(
            choice,
            &mut sink,
            |sink| {
                let source = match netlink {
                    Some(source) => source,
                    None => netlink.insert(target.open_netlink()?),
                };
                let result = match (split, extensions == Extensions::NONE) {
                    // A census: the bound-only sockets aside.
                    (Some(_), true) => match split_closed(filter).and(sink.aside()) {
                        Some(side) => read_closed_aside(target, source, filter, sink, side),
                        None => netlink::collect_on(source, filter, extensions, sink),
                    },
                    // tcp_info and the like: the kernel fills them for every socket, the
                    // most of a dump's cost; half the sockets on each thread.
                    (Some(ephemeral), false) if filter.half.is_none() => match sink.aside() {
                        Some(side) => {
                            read_halves(target, source, (filter, extensions, ephemeral), sink, side)
                        }
                        None => netlink::collect_on(source, filter, extensions, sink),
                    },
                    _ => netlink::collect_on(source, filter, extensions, sink),
                };
                if result.is_err() {
                    *netlink = None;
                }
                result
            },
            |sink| target.collect_proc(filter, sink),
        )
        .map(|outcome| warn_about_blind_spots(outcome, filter))
        .map(|outcome| warn_about_missing_detail(outcome, extensions))
    }
}

/// Streams every socket matching `filter` of the namespace `target` names into `sink`, once.
pub fn collect(target: &Target, filter: &Filter, sink: &mut dyn Sink) -> Result<Outcome, Error> {
    Reader::new(target.clone()).read(filter, sink, false)
}

/// The filter without CLOSED and the filter for CLOSED alone, when `filter` asks for CLOSED
/// and other states too.
fn split_closed(filter: &Filter) -> Option<(Filter, Filter)> {
    let closed = StateSet::of(TcpState::Closed);
    let rest = filter.states.without(closed);
    if !filter.states.contains(TcpState::Closed) || rest.is_empty() {
        return None;
    }
    Some((
        Filter {
            states: rest,
            ..filter.clone()
        },
        Filter {
            states: closed,
            ..filter.clone()
        },
    ))
}

/// A dump with extensions on two cores: the sockets in two disjoint halves by their ports
/// ([`Half`]: around the middle of the ephemeral range, so a service's connections split
/// evenly), see [`read_on_two`]. Each walk of the kernel's tables is cheap next to filling
/// every socket's `tcp_info` (at 100k sockets: 19 ms of 104), so two walks that fill half
/// each take a little over half the time.
fn read_halves(
    target: &Target,
    source: &mut netlink::NetlinkSource,
    (filter, extensions, ephemeral): (&Filter, Extensions, (u16, u16)),
    sink: &mut dyn Sink,
    side: Box<dyn AsideSink>,
) -> Result<Outcome, Error> {
    let [lower, upper] = Half::split(ephemeral).map(|half| Filter {
        half: Some(half),
        ..filter.clone()
    });
    let parts = TwoParts {
        main: &lower,
        side: &upper,
        extensions,
        thread: "second dump thread",
    };
    read_on_two(target, source, parts, sink, side)
}

/// A census on two cores: bound-only sockets (CLOSED) are dumped by a walk of the kernel's
/// bind hash table of their own (state bit 13), which costs about a third of the main dump,
/// so they are dumped aside ([`read_on_two`]). The two sets are disjoint (a CLOSED socket is
/// in no other table), so the counts add up.
fn read_closed_aside(
    target: &Target,
    source: &mut netlink::NetlinkSource,
    filter: &Filter,
    sink: &mut dyn Sink,
    side: Box<dyn AsideSink>,
) -> Result<Outcome, Error> {
    let Some((rest, closed)) = split_closed(filter) else {
        return netlink::collect_on(source, filter, Extensions::NONE, sink);
    };
    let parts = TwoParts {
        main: &rest,
        side: &closed,
        extensions: Extensions::NONE,
        thread: "CLOSED dump thread",
    };
    read_on_two(target, source, parts, sink, side)
}

/// Two disjoint filters of one dump, for [`read_on_two`].
struct TwoParts<'f> {
    main: &'f Filter,
    side: &'f Filter,
    extensions: Extensions,
    /// Names the second thread in errors.
    thread: &'static str,
}

/// Dumps `parts.main` through `source` into `sink` while a second netlink socket, opened in
/// the same namespace, dumps `parts.side` on another thread into `side` (a sink made by
/// [`Sink::aside`]), which `sink` then absorbs. The filters must be disjoint.
fn read_on_two(
    target: &Target,
    source: &mut netlink::NetlinkSource,
    parts: TwoParts<'_>,
    sink: &mut dyn Sink,
    mut side: Box<dyn AsideSink>,
) -> Result<Outcome, Error> {
    let netns = target.tag();
    let TwoParts {
        main,
        side: other_filter,
        extensions,
        thread,
    } = parts;
    let (main, other) = std::thread::scope(|scope| {
        let side = &mut side;
        let helper = std::thread::Builder::new()
            .name("tcpstat-dump".into())
            .spawn_scoped(scope, move || {
                let mut tagged = Tagged {
                    netns,
                    inner: &mut **side,
                };
                let mut socket = target.open_netlink()?;
                netlink::collect_on(&mut socket, other_filter, extensions, &mut tagged)
            });
        let main = netlink::collect_on(source, main, extensions, sink);
        let other = match helper {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => Err(Error::Thread {
                what: thread,
                source: e,
            }),
        };
        (main, other)
    });
    let mut outcome = main?;
    let other = other?;
    sink.absorb(side);
    outcome.complete &= other.complete;
    outcome.warnings.extend(other.warnings);
    Ok(outcome)
}

/// Says when `--state` named a state the source cannot see (`--state closed` on /proc): its
/// absence from the output is then not a zero. The default (every state) only gets the
/// renderers' footnotes.
fn warn_about_blind_spots(mut outcome: Outcome, filter: &Filter) -> Outcome {
    let unseen = filter.states.without(outcome.covers);
    if filter.states != StateSet::ALL && !unseen.is_empty() {
        let names: Vec<&str> = unseen.iter().map(TcpState::name).collect();
        outcome.warnings.push(format!(
            "{} not counted: not visible to the {} source ({})",
            names.join(", "),
            outcome.source.name(),
            outcome.source.blind_spot()
        ));
    }
    outcome
}

/// Says when `tcp_info` or socket memory was asked for and the source has none (/proc): the
/// columns are then empty (null in JSON), not zero.
fn warn_about_missing_detail(mut outcome: Outcome, extensions: Extensions) -> Outcome {
    if outcome.source == SourceKind::Proc && extensions.any() {
        let mut what = Vec::new();
        if extensions.info {
            what.push("tcp_info (RTT, retransmits, windows, congestion control)");
        }
        if extensions.memory {
            what.push("socket memory");
        }
        outcome.warnings.push(format!(
            "{} not shown: the /proc source does not report it (only sock_diag netlink does)",
            what.join(" and ")
        ));
    }
    outcome
}

/// The source policy, apart from the sources themselves (so it can be tested with failing
/// ones): `auto` tries netlink and, if it fails and the sink can start over, reads /proc and
/// records why. A namespace that cannot be entered is not a source failure: /proc is not
/// tried, so a missing privilege is said plainly instead of hidden behind a fallback. Nor is
/// a shortage of file descriptors: netlink is not unavailable, /proc needs a descriptor too,
/// and the caller may free some and try again (`watch --all-netns`).
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
            Err(e @ Error::Netns { .. }) => Err(e),
            Err(e) if e.is_out_of_descriptors() => Err(e),
            Err(netlink_error) => {
                if !sink.reset() {
                    return Err(netlink_error);
                }
                match proc(sink) {
                    Ok(mut outcome) => {
                        outcome.fallback_reason = Some(netlink_error.report());
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
    use crate::model::{Family, KernelState, SourceKind, StateCounts};

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
        Ok(Outcome::new(
            SourceKind::Proc,
            crate::model::source::PROC_COVERS,
        ))
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
        assert!(err.report().contains("/proc fallback failed too"), "{err}");
    }

    #[test]
    fn a_namespace_that_cannot_be_entered_is_not_a_reason_to_fall_back() {
        let refused = |_: &mut dyn Sink| -> Result<Outcome, Error> {
            Err(Error::Netns {
                netns: "blue".into(),
                problem: "cannot enter it".into(),
                source: Some(std::io::Error::from_raw_os_error(1)),
            })
        };
        let mut counts = StateCounts::new();
        let err = with_fallback(SourceChoice::Auto, &mut counts, refused, one_established)
            .expect_err("the privilege problem is said, not papered over");
        assert!(matches!(err, Error::Netns { .. }), "{err}");
        assert_eq!(counts.total(), 0, "/proc was not read");
    }

    #[test]
    fn out_of_descriptors_is_not_a_reason_to_fall_back() {
        let short = |_: &mut dyn Sink| -> Result<Outcome, Error> {
            Err(Error::NetlinkOpen(std::io::Error::from_raw_os_error(
                libc::EMFILE,
            )))
        };
        let mut counts = StateCounts::new();
        let err = with_fallback(SourceChoice::Auto, &mut counts, short, one_established)
            .expect_err("not 'netlink unavailable'");
        assert!(err.is_out_of_descriptors(), "{err}");
        assert_eq!(counts.total(), 0, "/proc was not read");
    }

    #[test]
    fn sockets_are_tagged_with_the_namespace_read() {
        let mut snap = crate::model::Snapshot::default();
        let mut tagged = Tagged {
            netns: 4026532000,
            inner: &mut snap,
        };
        one_established(&mut tagged).expect("records");
        assert_eq!(snap.0[0].netns, 4026532000);
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
