//! Connection slots: at most `--max-connections` at once, and who gives way when they are
//! all taken.
//!
//! Owns: [`Connections`]. A connection that has not finished sending its request head can be
//! evicted: when every slot is taken, a new connection takes the slot of the oldest
//! connection still reading its request (that one is answered 503); only when every slot is
//! answering a request is the newcomer answered 503.

use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Instant;

/// The open connections, for the slot policy (see the module documentation).
#[derive(Debug, Default)]
pub struct Connections {
    next_id: u64,
    open: Vec<Open>,
}

#[derive(Debug)]
struct Open {
    id: u64,
    accepted: Instant,
    /// Still reading its request head: its slot can be taken.
    reading: bool,
    /// Shared with the connection's thread; shutting its read side down wakes that thread.
    stream: Arc<TcpStream>,
}

impl Connections {
    /// Gives `stream` a slot: a free one, or the one of the oldest connection still reading
    /// its request, which is evicted (its read side shut down, so its thread answers 503 at
    /// once). `None`: every slot is answering a request.
    pub fn admit(&mut self, stream: &Arc<TcpStream>, max: usize, now: Instant) -> Option<u64> {
        if self.open.len() >= max {
            let oldest = self
                .open
                .iter()
                .enumerate()
                .filter(|(_, c)| c.reading)
                .min_by_key(|(_, c)| c.accepted)
                .map(|(i, _)| i)?;
            let evicted = self.open.swap_remove(oldest);
            let _ = evicted.stream.shutdown(Shutdown::Read);
        }
        self.next_id += 1;
        self.open.push(Open {
            id: self.next_id,
            accepted: now,
            reading: true,
            stream: Arc::clone(stream),
        });
        Some(self.next_id)
    }

    /// The connection `id` has its request: it can no longer be evicted. `false` when it was
    /// evicted already.
    pub fn answering(&mut self, id: u64) -> bool {
        match self.open.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                c.reading = false;
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
        c.close(idb);
        assert!(
            c.admit(&e, 2, at(4)).is_some(),
            "a closed slot is free again"
        );
        assert_eq!(c.open.len(), 2);
    }
}
