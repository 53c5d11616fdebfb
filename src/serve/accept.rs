//! Accepting connections when `accept()` fails: back off, and say so without flooding.
//!
//! Owns: [`AcceptFailures`]. Out of descriptors (EMFILE), `accept()` fails until a connection
//! closes; the loop then backs off ([`ACCEPT_BACKOFF`] doubling to [`ACCEPT_BACKOFF_MAX`]) and
//! says so once, then a count every [`ACCEPT_REPORT_EVERY`], instead of a line per attempt.

use std::io;
use std::time::{Duration, Instant};

/// The first pause after `accept()` fails (out of descriptors); it doubles while it keeps
/// failing, up to [`ACCEPT_BACKOFF_MAX`].
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// After the first accept failure is logged, further ones are logged as a count this often.
pub const ACCEPT_REPORT_EVERY: Duration = Duration::from_secs(10);

/// `accept()` failures in a row: the back-off, and what was logged of them.
#[derive(Debug, Default)]
pub struct AcceptFailures {
    /// The next pause; zero before the first failure.
    backoff: Duration,
    /// When the last line was logged (`None`: nothing failed since the last success).
    reported: Option<Instant>,
    /// Failures since that line.
    unreported: u64,
}

impl AcceptFailures {
    /// One more failure: the line to log, if it is time for one (the first failure, then a
    /// count every [`ACCEPT_REPORT_EVERY`]), and how long to pause before the next attempt.
    pub fn failed(&mut self, error: &io::Error, now: Instant) -> (Option<String>, Duration) {
        self.backoff = if self.backoff.is_zero() {
            ACCEPT_BACKOFF
        } else {
            (self.backoff * 2).min(ACCEPT_BACKOFF_MAX)
        };
        let line = match self.reported {
            None => {
                self.reported = Some(now);
                Some(format!(
                    "accept failed: {error}; retrying every {} s at most, repeated failures \
                     are counted every {} s",
                    ACCEPT_BACKOFF_MAX.as_secs(),
                    ACCEPT_REPORT_EVERY.as_secs()
                ))
            }
            Some(at) => {
                self.unreported += 1;
                let since = now.saturating_duration_since(at);
                (since >= ACCEPT_REPORT_EVERY).then(|| {
                    let line = format!(
                        "accept failed {} more times in the last {} s: {error}",
                        self.unreported,
                        since.as_secs()
                    );
                    self.reported = Some(now);
                    self.unreported = 0;
                    line
                })
            }
        };
        (line, self.backoff)
    }

    /// A connection was accepted: the back-off ends; says so if failures were logged.
    pub fn succeeded(&mut self) -> Option<String> {
        let line = self.reported.map(|_| {
            format!(
                "accept works again ({} more failures since the last report)",
                self.unreported
            )
        });
        *self = AcceptFailures::default();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_and_are_counted_not_repeated() {
        let emfile = io::Error::from_raw_os_error(24);
        let mut f = AcceptFailures::default();
        let t0 = Instant::now();
        let (line, pause) = f.failed(&emfile, t0);
        assert!(line.is_some_and(|l| l.starts_with("accept failed: Too many open files")));
        assert_eq!(pause, ACCEPT_BACKOFF);
        let mut pauses = Vec::new();
        let mut lines = 0;
        for i in 1..=100u32 {
            let (line, pause) = f.failed(&emfile, t0 + Duration::from_millis(100) * i);
            lines += usize::from(line.is_some());
            pauses.push(pause.as_millis());
        }
        assert_eq!(&pauses[..5], [200, 400, 800, 1000, 1000]);
        // 100 failures over 10 s: one count line, not 100.
        assert_eq!(lines, 1);
        let (line, _) = f.failed(&emfile, t0 + Duration::from_secs(21));
        assert!(
            line.is_some_and(|l| l.starts_with("accept failed 1 more times in the last 11 s")),
            "counted since the last line"
        );
        assert!(f
            .succeeded()
            .is_some_and(|l| l.starts_with("accept works again")));
        assert_eq!(f.succeeded(), None, "said once");
        assert_eq!(
            f.failed(&emfile, t0).1,
            ACCEPT_BACKOFF,
            "the back-off restarts"
        );
    }
}
