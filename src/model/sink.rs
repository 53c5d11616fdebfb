//! The interface between collectors and whatever consumes their sockets.
//!
//! Owns: [`Sink`], which a collector hands each matching socket to as it parses it, and the
//! two plain sinks every layer uses: [`Snapshot`] (keeps every socket) and a pair (feeds two
//! sinks from one collection). [`StateCounts`] is a sink too: the one a collector may split
//! across threads.

use std::any::Any;
use std::collections::HashSet;

use super::{SocketDetail, SocketRecord, StateCounts};

/// Receives each matching socket as it is parsed.
pub trait Sink {
    fn record(&mut self, record: &SocketRecord);

    /// Receives a socket with what the plan's [`Extensions`](super::Extensions) asked for
    /// (`tcp_info`, memory), when a collector read any: the record stays a small `Copy` value
    /// and only the sinks that use the detail look at it. By default the detail is dropped.
    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        let _ = detail;
        self.record(record);
    }

    /// Forgets everything recorded so far, so a failed source can be replaced by another.
    /// Returns false when that is impossible (e.g. rows already written out).
    fn reset(&mut self) -> bool;

    /// The counts of a sink that only counts sockets by family and state (`summary`): a
    /// collector may then read part of the table on another thread into counts of its own
    /// and add them here. `None` (the default) for sinks that keep or order sockets.
    fn counts_mut(&mut self) -> Option<&mut StateCounts> {
        None
    }

    /// A fresh, empty sink of the same kind that another thread can fill with part of the
    /// table (the bound-only sockets, dumped aside) before [`Sink::absorb`] adds it to this
    /// one; `None` (the default) for sinks whose result depends on the order of sockets.
    fn aside(&self) -> Option<Box<dyn AsideSink>> {
        None
    }

    /// Adds what a sink made by [`Sink::aside`] recorded.
    fn absorb(&mut self, _aside: Box<dyn AsideSink>) {}

    /// Adds the inodes of the sockets whose owners this sink needs to `wanted` (the pipeline
    /// walks once for every namespace's sinks). None by default.
    fn owners_wanted(&self, _wanted: &mut HashSet<u64>) {}
}

/// A sink filled on another thread and handed back whole ([`Sink::aside`]).
pub trait AsideSink: Sink + Send {
    /// For [`Sink::absorb`], which knows the concrete type it made.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: Sink + Send + 'static> AsideSink for T {
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl Sink for StateCounts {
    fn record(&mut self, record: &SocketRecord) {
        self.add(record.family, record.state);
    }

    fn reset(&mut self) -> bool {
        *self = StateCounts::default();
        true
    }

    fn counts_mut(&mut self) -> Option<&mut StateCounts> {
        Some(self)
    }

    fn aside(&self) -> Option<Box<dyn AsideSink>> {
        Some(Box::new(StateCounts::new()))
    }

    fn absorb(&mut self, aside: Box<dyn AsideSink>) {
        if let Ok(counts) = aside.into_any().downcast::<StateCounts>() {
            self.merge(&counts);
        }
    }
}

/// Two sinks fed from one collection (e.g. per-state and per-port counts in one pass).
impl<A: Sink, B: Sink> Sink for (A, B) {
    fn record(&mut self, record: &SocketRecord) {
        self.0.record(record);
        self.1.record(record);
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        self.0.record_detail(record, detail);
        self.1.record_detail(record, detail);
    }

    fn reset(&mut self) -> bool {
        // Both must start over: `&`, not `&&`, which would skip the second.
        self.0.reset() & self.1.reset()
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        self.0.owners_wanted(wanted);
        self.1.owners_wanted(wanted);
    }
}

/// Keeps every matching socket: for outputs that need the whole table (owners, sorting).
#[derive(Debug, Default)]
pub struct Snapshot(pub Vec<SocketRecord>);

impl Sink for Snapshot {
    fn record(&mut self, record: &SocketRecord) {
        self.0.push(*record);
    }

    fn reset(&mut self) -> bool {
        self.0.clear();
        true
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        wanted.extend(self.0.iter().map(|r| r.inode).filter(|&i| i != 0));
    }
}

/// Keeps every matching socket and its detail, side by side (`list -i` sorted or with
/// owners). Details are boxed and only for sockets that have one: a record stays 72 bytes
/// in the vector every other consumer shares, and a socket without detail (a minisocket)
/// costs one null pointer more.
#[derive(Debug, Default)]
pub struct Detailed {
    pub records: Vec<SocketRecord>,
    /// `details[i]` belongs to `records[i]`.
    pub details: Vec<Option<Box<SocketDetail>>>,
}

impl Sink for Detailed {
    fn record(&mut self, record: &SocketRecord) {
        self.records.push(*record);
        self.details.push(None);
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        self.records.push(*record);
        let some = detail.info.is_some() || detail.memory.is_some() || detail.congestion.is_some();
        self.details.push(some.then(|| Box::new(*detail)));
    }

    fn reset(&mut self) -> bool {
        self.records.clear();
        self.details.clear();
        true
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        wanted.extend(self.records.iter().map(|r| r.inode).filter(|&i| i != 0));
    }
}
