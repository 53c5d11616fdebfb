//! One collection shared by the scrapes that arrive while it runs.
//!
//! Owns: [`Flights`]: the first caller runs the work, callers arriving while it runs wait for
//! its result, and the next caller after it finished runs it again, so every result is fresh.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One collection and the scrapes waiting for it.
#[derive(Default)]
struct Flight {
    body: Mutex<Option<Arc<Vec<u8>>>>,
    done: Condvar,
}

/// Work shared among concurrent callers: the first caller runs it, callers arriving while it
/// runs wait for its result, and the next caller after it finished runs it again (so every
/// result is fresh: it started after the caller asked, or while it was waiting).
#[derive(Default)]
pub struct Flights {
    current: Mutex<Option<Arc<Flight>>>,
}

impl Flights {
    /// Runs `work`, or waits (at most `wait`) for the run already in progress and returns its
    /// result. `None`: the run in progress did not finish in time.
    pub fn share(&self, wait: Duration, work: impl FnOnce() -> Vec<u8>) -> Option<Arc<Vec<u8>>> {
        let (flight, leader) = {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            match current.as_ref() {
                Some(f) => (Arc::clone(f), false),
                None => {
                    let f = Arc::new(Flight::default());
                    *current = Some(Arc::clone(&f));
                    (f, true)
                }
            }
        };
        if leader {
            // Clears the slot and wakes the waiters even if `work` panics.
            let guard = FlightGuard {
                flights: self,
                flight: &flight,
            };
            let body = Arc::new(work());
            guard.finish(Arc::clone(&body));
            return Some(body);
        }
        let deadline = Instant::now() + wait;
        let mut body = flight.body.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(b) = body.as_ref() {
                return Some(Arc::clone(b));
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            body = flight
                .done
                .wait_timeout(body, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Ends a run: publishes its body (or an empty one if it never got there) and lets the next
/// caller start a new run.
struct FlightGuard<'a> {
    flights: &'a Flights,
    flight: &'a Arc<Flight>,
}

impl FlightGuard<'_> {
    fn finish(self, body: Arc<Vec<u8>>) {
        *self
            .flight
            .body
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(body);
        // Drop runs next: clears the slot and wakes the waiters.
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        {
            let mut body = self
                .flight
                .body
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if body.is_none() {
                *body = Some(Arc::new(Vec::new()));
            }
        }
        self.flight.done.notify_all();
        *self
            .flights
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn concurrent_callers_share_one_run_and_later_ones_get_a_fresh_one() {
        use std::sync::atomic::AtomicU32;
        use std::sync::Barrier;
        let flights = Arc::new(Flights::default());
        let runs = Arc::new(AtomicU32::new(0));
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (flights, runs, barrier) = (
                    Arc::clone(&flights),
                    Arc::clone(&runs),
                    Arc::clone(&barrier),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    flights.share(Duration::from_secs(10), || {
                        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                        // Long enough for every other thread to arrive meanwhile.
                        std::thread::sleep(Duration::from_millis(500));
                        n.to_string().into_bytes()
                    })
                })
            })
            .collect();
        let bodies: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("no panic").expect("a body"))
            .collect();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one run for eight callers");
        assert!(bodies.iter().all(|b| b.as_slice() == b"1"));
        let again = flights.share(Duration::from_secs(1), || b"fresh".to_vec());
        assert_eq!(again.as_deref().map(Vec::as_slice), Some(&b"fresh"[..]));
    }

    #[test]
    fn a_panicking_run_releases_its_waiters() {
        let flights = Arc::new(Flights::default());
        let f2 = Arc::clone(&flights);
        let leader = std::thread::spawn(move || {
            f2.share(Duration::from_secs(1), || {
                std::thread::sleep(Duration::from_millis(200));
                panic!("collection bug")
            })
        });
        std::thread::sleep(Duration::from_millis(50));
        let waited = flights.share(Duration::from_secs(5), || b"not me".to_vec());
        assert!(leader.join().is_err());
        // Either it joined the failed run (empty body) or came after it (its own run).
        let body = waited.expect("released");
        assert!(body.is_empty() || body.as_slice() == b"not me");
        assert_eq!(
            flights
                .share(Duration::from_secs(1), || b"next".to_vec())
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"next"[..])
        );
    }
}
