//! The interface between collectors and whatever consumes their sockets.
//!
//! Owns: [`Sink`], which a collector hands each matching socket to as it parses it, and the
//! two plain sinks every layer uses: [`Snapshot`] (keeps every socket) and a pair (feeds two
//! sinks from one collection). [`StateCounts`] is a sink too: the one a collector may split
//! across threads.

use std::collections::HashSet;

use super::{SocketRecord, StateCounts};

/// Receives each matching socket as it is parsed.
pub trait Sink {
    fn record(&mut self, record: &SocketRecord);

    /// Forgets everything recorded so far, so a failed source can be replaced by another.
    /// Returns false when that is impossible (e.g. rows already written out).
    fn reset(&mut self) -> bool;

    /// The counts of a sink that only counts sockets by family and state (`summary`): a
    /// collector may then read part of the table on another thread into counts of its own
    /// and add them here. `None` (the default) for sinks that keep or order sockets.
    fn counts_mut(&mut self) -> Option<&mut StateCounts> {
        None
    }

    /// Adds the inodes of the sockets whose owners this sink needs to `wanted` (the pipeline
    /// walks once for every namespace's sinks). None by default.
    fn owners_wanted(&self, _wanted: &mut HashSet<u64>) {}
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
}

/// Two sinks fed from one collection (e.g. per-state and per-port counts in one pass).
impl<A: Sink, B: Sink> Sink for (A, B) {
    fn record(&mut self, record: &SocketRecord) {
        self.0.record(record);
        self.1.record(record);
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
