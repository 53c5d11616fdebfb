//! Connection slots: at most `--max-connections` at once, and who gives way when they are
//! all taken.
//!
//! Owns: [`Connections`]. When every slot is taken, a new connection takes the slot of:
//! 1. the oldest connection still reading its request head (it is answered 503): idle or
//!    dribbling clients cannot keep a scraper out, because a scrape sends its request at once;
//! 2. else the connection that has been writing its response the longest, if that has taken
//!    more than [`STALLED`]: a client that asked and does not read (a tiny receive window,
//!    a stalled peer) has no claim on a slot a scraper needs (its connection is reset). A
//!    scraper takes a response of tens of kilobytes in milliseconds, even over a WAN;
//!    sixteen clients that never read used to lock every scraper out for the whole write
//!    deadline, again and again (issue 14).
//!
//! Only when every slot is reading nothing and answering something recent (a collection in
//! progress, a write under way for less than [`STALLED`]) is the newcomer answered 503.

use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a response may be under way before its slot can go to a newcomer.
pub const STALLED: Duration = Duration::from_secs(1);

/// The open connections, for the slot policy (see the module documentation).
#[derive(Debug, Default)]
pub struct Connections {
    next_id: u64,
    open: Vec<Open>,
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading its request head: its slot can be taken at once.
    Reading,
    /// Has its request; waiting for the collection.
    Answering,
    /// Writing its response since then.
    Writing(Instant),
}

#[derive(Debug)]
struct Open {
    id: u64,
    accepted: Instant,
    phase: Phase,
    /// Shared with the connection's thread; shutting it down wakes that thread.
    stream: Arc<TcpStream>,
}

impl Connections {
    /// Gives `stream` a slot: a free one, or one taken from another connection (see the
    /// module documentation). `None`: every slot is busy with something recent.
    pub fn admit(&mut self, stream: &Arc<TcpStream>, max: usize, now: Instant) -> Option<u64> {
        if self.open.len() >= max {
            let reader = self
                .open
                .iter()
                .enumerate()
                .filter(|(_, c)| c.phase == Phase::Reading)
                .min_by_key(|(_, c)| c.accepted)
                .map(|(i, _)| i);
            let stalled = || {
                self.open
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| match c.phase {
                        Phase::Writing(since) if now.saturating_duration_since(since) > STALLED => {
                            Some((i, since))
                        }
                        _ => None,
                    })
                    .min_by_key(|(_, since)| *since)
                    .map(|(i, _)| i)
            };
            if let Some(i) = reader {
                // Its thread sees the end of its request and answers 503.
                let evicted = self.open.swap_remove(i);
                let _ = evicted.stream.shutdown(Shutdown::Read);
            } else {
                let i = stalled()?;
                // Its write fails at once; the connection is reset, not left to an orphan.
                let evicted = self.open.swap_remove(i);
                let _ =
                    rustix::net::sockopt::set_socket_linger(&*evicted.stream, Some(Duration::ZERO));
                let _ = evicted.stream.shutdown(Shutdown::Both);
            }
        }
        self.next_id += 1;
        self.open.push(Open {
            id: self.next_id,
            accepted: now,
            phase: Phase::Reading,
            stream: Arc::clone(stream),
        });
        Some(self.next_id)
    }

    /// The connection `id` has its request: it can no longer be evicted as a reader. `false`
    /// when it was evicted already.
    pub fn answering(&mut self, id: u64) -> bool {
        self.set(id, Phase::Answering)
    }

    /// The connection `id` starts writing its response at `now`. `false` when it was evicted
    /// already.
    pub fn writing(&mut self, id: u64, now: Instant) -> bool {
        self.set(id, Phase::Writing(now))
    }

    fn set(&mut self, id: u64, phase: Phase) -> bool {
        match self.open.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                c.phase = phase;
                true
            }
            None => false,
        }
    }

    pub fn close(&mut self, id: u64) {
        self.open.retain(|c| c.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    #[test]
    fn a_full_house_evicts_the_oldest_connection_still_reading() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut clients = Vec::new();
        let mut accepted = || {
            clients.push(TcpStream::connect(addr).expect("connect"));
            Arc::new(listener.accept().expect("accept").0)
        };
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut c = Connections::default();
        let (a, b, d, e) = (accepted(), accepted(), accepted(), accepted());
        let ida = c.admit(&a, 2, at(0)).expect("free slot");
        let idb = c.admit(&b, 2, at(1)).expect("free slot");
        assert!(c.answering(idb), "b has its request");
        // Full: the newcomer takes the slot of the oldest reader (a), whose reads now end.
        let idd = c.admit(&d, 2, at(2)).expect("a evicted");
        assert!(!c.answering(ida), "a was evicted");
        let mut buf = [0u8; 1];
        assert_eq!((&mut &*a).read(&mut buf).expect("read after eviction"), 0);
        assert!(c.answering(idd));
        // Every slot answering: no room, nobody evicted.
        assert_eq!(c.admit(&e, 2, at(3)), None);
        // A response under way for less than STALLED keeps its slot; one stalled longer gives
        // it up, the oldest writer first.
        assert!(c.writing(idb, at(4)));
        assert!(c.writing(idd, at(5)));
        assert_eq!(c.admit(&e, 2, at(500)), None, "writes are recent");
        let later = at(4) + STALLED + Duration::from_millis(10);
        let ide = c
            .admit(&e, 2, later)
            .expect("the stalled writer b gives way");
        assert!(!c.writing(idb, later), "b was evicted");
        assert!(c.answering(ide));
        c.close(ide);
        assert!(
            c.admit(&e, 2, later).is_some(),
            "a closed slot is free again"
        );
        assert_eq!(c.open.len(), 2);
    }
}
