//! `tcpstat serve`: a small, read-only HTTP/1.1 server for Prometheus scrapes.
//!
//! Owns: the listening socket, one thread per connection (at most `--max-connections`; more
//! are answered 503 at once), reading a request within limits ([`MAX_HEAD`] bytes of request
//! line and headers, all of it within [`READ_TIMEOUT`]), the routes (`/metrics`, `/healthz`,
//! `/`), and sharing one collection among concurrent scrapes (the first scrape asks for a
//! collection, the ones that arrive meanwhile wait for its result instead of starting dumps of
//! their own).
//!
//! Every collection runs on one long-lived collector thread, not on the connection thread that
//! asked for it. Collections are what allocate (owner maps, port matrices), and glibc's malloc
//! gives each allocating thread an arena of its own: run on whichever connection thread led
//! the scrape, successive collections warmed one arena after another, and the resident size
//! climbed by about one collection's peak per arena before it levelled off (12.7 to 17 MiB over
//! the first minutes of `benches/soak.sh` with `SOAK=serve`). On one thread they reuse one
//! arena's memory. It
//! reads the kernel only through [`crate::collect_metrics`] and writes metrics only through
//! `render::prometheus`.
//!
//! It never reads a request body and answers every request with `Connection: close`: one
//! request per connection is all a scraper needs, and it keeps the state machine trivial.
//! Only GET and HEAD are served (405 otherwise); anything that does not parse as HTTP/1.x is
//! a 400, a request head that does not arrive in time a 408, an oversized one a 431. A slow or
//! stuck client holds only its own thread, for at most [`READ_TIMEOUT`] + [`WRITE_TIMEOUT`].
//!
//! Written on `std::net` rather than with an HTTP crate: the whole protocol surface needed is
//! a request line and headers to skip, and a server library would bring an async runtime or a
//! large dependency tree into a tool whose other dependencies are a handful of small crates.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::{Config, ServeOptions};
use crate::error::Error;
use crate::render::prometheus::{self, Meta, ServeStats};
use crate::term;

/// The request line and headers may be at most this long.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the response.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a scrape waits for a collection another scrape started before giving up (503).
const SHARED_WAIT: Duration = Duration::from_secs(60);
/// How often the accept loop checks for Ctrl-C when idle.
const POLL: Duration = Duration::from_millis(50);
/// After answering, how long unread request bytes are drained so that closing does not send
/// a reset that could destroy the response in flight.
const LINGER: Duration = Duration::from_millis(200);

const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>tcpstat</title></head><body>\n\
<h1>tcpstat</h1>\n<p>TCP socket states of this host, for Prometheus.</p>\n<ul>\n\
<li><a href=\"/metrics\">/metrics</a>: metrics (a fresh collection on each scrape)</li>\n\
<li><a href=\"/healthz\">/healthz</a>: liveness</li>\n</ul>\n</body></html>\n";

/// Runs the server until SIGTERM (a service manager's normal stop: `Ok`, exit 0) or Ctrl-C
/// / SIGHUP ([`Error::Interrupted`], exit 130).
pub fn run(config: &Config, options: &ServeOptions, err: &mut dyn Write) -> Result<(), Error> {
    let stop = term::stop_flag();
    let listener = TcpListener::bind(options.listen).map_err(|source| Error::Listen {
        address: options.listen,
        source,
    })?;
    let local = listener.local_addr().map_err(|source| Error::Listen {
        address: options.listen,
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| Error::Listen {
            address: options.listen,
            source,
        })?;
    writeln!(
        err,
        "tcpstat: serving metrics on http://{}/metrics",
        host_port(local)
    )?;
    if !local.ip().is_loopback() {
        writeln!(
            err,
            "tcpstat: warning: listening on {}, not loopback: whoever can reach this port can \
             read this host's connection counts",
            local.ip()
        )?;
    }
    err.flush()?;
    let (collector, requests) = mpsc::channel();
    let shared = Arc::new(Shared {
        config: config.clone(),
        options: options.clone(),
        flights: Flights::default(),
        collector,
        counters: Mutex::new(Counters::default()),
        active: AtomicUsize::new(0),
    });
    let worker = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("tcpstat-collect".into())
        .spawn(move || collector_loop(&worker, &requests))
        .map_err(|source| Error::Thread {
            what: "collector thread",
            source,
        })?;
    loop {
        match stop.get() {
            // `systemctl stop` must not mark the unit failed.
            Some(term::StopSignal::Terminate) => return Ok(()),
            Some(_) => return Err(Error::Interrupted),
            None => {}
        }
        match listener.accept() {
            Ok((stream, _peer)) => dispatch(stream, &shared),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Out of descriptors, a connection reset before accept: not fatal.
                log(&format!("accept failed: {e}"));
                std::thread::sleep(POLL);
            }
        }
    }
}

/// `addr:port`, with brackets for IPv6.
fn host_port(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

fn log(line: &str) {
    let _ = writeln!(io::stderr(), "tcpstat: {line}");
}

/// Hands a connection to a thread of its own, or answers 503 when too many are open.
fn dispatch(stream: TcpStream, shared: &Arc<Shared>) {
    // An accepted socket does not inherit O_NONBLOCK on Linux, but do not rely on it.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let active = shared.active.fetch_add(1, Ordering::SeqCst);
    let slot = Slot(Arc::clone(shared));
    if active >= shared.options.max_connections {
        drop(slot);
        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
        let mut stream = stream;
        let _ = respond(
            &mut stream,
            &Response::text(503, "too many connections\n"),
            false,
        );
        let _ = stream.shutdown(Shutdown::Write);
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("tcpstat-http".into())
        .spawn(move || {
            let _slot = slot;
            serve_connection(stream, &_slot.0);
        });
    if let Err(e) = spawned {
        log(&format!("cannot start a thread for a connection: {e}"));
    }
}

/// The collector thread: one collection per request, its body sent back to the asker. A
/// collection that panics (a bug) answers with an empty body, which `/metrics` turns into a
/// 503, and the thread carries on with the next request.
fn collector_loop(shared: &Shared, requests: &Receiver<SyncSender<Vec<u8>>>) {
    for reply in requests {
        let body = panic::catch_unwind(AssertUnwindSafe(|| shared.collect())).unwrap_or_default();
        // The asker is gone only if its own thread died; nothing to do then.
        let _ = reply.send(body);
    }
}

/// Counts a connection as active while it lives.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// State shared by the connection threads.
struct Shared {
    config: Config,
    options: ServeOptions,
    /// The collection in progress, if any: scrapes arriving meanwhile wait for it.
    flights: Flights,
    /// Requests to the collector thread: where to send the body.
    collector: Sender<SyncSender<Vec<u8>>>,
    counters: Mutex<Counters>,
    active: AtomicUsize,
}

#[derive(Debug, Default, Clone)]
struct Counters {
    stats: ServeStats,
    /// Warnings of the last collection, to log only changes.
    last_warnings: Vec<String>,
}

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

impl Shared {
    /// A `/metrics` body: a fresh collection (made on the collector thread), shared with
    /// every scrape that arrives while it runs. `None` when a shared collection did not finish
    /// within [`SHARED_WAIT`]; empty when the collection failed (a bug).
    fn scrape(&self) -> Option<Arc<Vec<u8>>> {
        self.counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
            .scrapes += 1;
        self.flights.share(SHARED_WAIT, || {
            let (reply, answer) = mpsc::sync_channel(1);
            if self.collector.send(reply).is_err() {
                return Vec::new();
            }
            answer.recv().unwrap_or_default()
        })
    }

    /// Collects and renders everything `/metrics` shows.
    fn collect(&self) -> Vec<u8> {
        let began = Instant::now();
        let result = crate::collect_metrics(&self.config, &self.options);
        let duration = began.elapsed();
        let stats = {
            let mut c = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
            c.stats.collections += 1;
            c.stats.success = result.is_ok();
            if result.is_err() {
                c.stats.errors += 1;
            }
            match &result {
                Ok(m) => {
                    let mut now: Vec<String> = m.outcome.warnings.clone();
                    if let Some(reason) = &m.outcome.fallback_reason {
                        now.push(format!(
                            "netlink unavailable ({reason}); reading /proc instead"
                        ));
                    }
                    if now != c.last_warnings {
                        for w in &now {
                            log(&format!("warning: {w}"));
                        }
                        c.last_warnings = now;
                    }
                }
                Err(e) => log(&format!("collection failed: {e}")),
            }
            c.stats
        };
        let mut body = Vec::with_capacity(16 * 1024);
        let written = (|| -> io::Result<()> {
            match &result {
                Ok(m) => {
                    prometheus::sockets(
                        &mut body,
                        &m.counts,
                        m.counted,
                        &self.config.filter.families,
                    )?;
                    prometheus::ports(&mut body, &m.ports, m.counted)?;
                    if let Some((commands, matrix)) = &m.processes {
                        prometheus::processes(&mut body, commands, matrix, m.counted)?;
                    }
                    prometheus::meta(
                        &mut body,
                        &Meta {
                            report: "serve",
                            outcome: Some(&m.outcome),
                            duration,
                        },
                    )?;
                }
                Err(_) => prometheus::meta(
                    &mut body,
                    &Meta {
                        report: "serve",
                        outcome: None,
                        duration,
                    },
                )?,
            }
            prometheus::serve_stats(&mut body, &stats)
        })();
        // Writing to memory cannot fail; an empty body would still parse.
        if written.is_err() {
            body.clear();
        }
        body
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

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Arc<Vec<u8>>,
    /// `Allow` header (405).
    pub allow: bool,
}

impl Response {
    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Arc::new(body.as_bytes().to_vec()),
            allow: false,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// What a request asked for, once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub head_only: bool,
    /// The path, without the query string.
    pub path: String,
}

/// Why a request is not served: the status to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(pub u16);

/// Parses a request head (request line and header lines, without the blank line).
pub fn parse_head(head: &[u8]) -> Result<Request, Refusal> {
    let text = std::str::from_utf8(head).map_err(|_| Refusal(400))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or(Refusal(400))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal(400));
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !token(method) {
        return Err(Refusal(400));
    }
    let Some(numbers) = version.strip_prefix("HTTP/") else {
        return Err(Refusal(400));
    };
    match numbers.split_once('.') {
        Some(("1", "0" | "1")) => {}
        Some((major, minor))
            if !major.is_empty()
                && !minor.is_empty()
                && major
                    .bytes()
                    .chain(minor.bytes())
                    .all(|b| b.is_ascii_digit()) =>
        {
            return Err(Refusal(505))
        }
        _ => return Err(Refusal(400)),
    }
    if !target.starts_with('/') || target.bytes().any(|b| b.is_ascii_control()) {
        return Err(Refusal(400));
    }
    for line in lines {
        let Some((name, _value)) = line.split_once(':') else {
            return Err(Refusal(400));
        };
        if !token(name) {
            return Err(Refusal(400));
        }
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(Refusal(405)),
    };
    let path = target
        .split(['?', '#'])
        .next()
        .unwrap_or(target)
        .to_string();
    Ok(Request { head_only, path })
}

/// Reads up to the blank line that ends the head, within [`MAX_HEAD`] and [`READ_TIMEOUT`].
fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, Refusal> {
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut buf = vec![0u8; MAX_HEAD + 4];
    let mut filled = 0;
    loop {
        if let Some(end) = head_end(&buf[..filled]) {
            buf.truncate(end);
            return Ok(buf);
        }
        if filled > MAX_HEAD {
            return Err(Refusal(431));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Refusal(408));
        }
        if stream.set_read_timeout(Some(deadline - now)).is_err() {
            return Err(Refusal(400));
        }
        match stream.read(&mut buf[filled..]) {
            // The client went away before finishing: nothing to answer, but a 400 harms no one.
            Ok(0) => return Err(Refusal(400)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Refusal(408))
            }
            Err(_) => return Err(Refusal(400)),
        }
    }
}

/// Where the head ends (the index of the blank line's start), accepting bare `\n` endings.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = buf.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn route(request: &Request, shared: &Shared) -> Response {
    match request.path.as_str() {
        "/metrics" => match shared.scrape() {
            // Only a collection that panicked leaves no body (metrics are never empty).
            Some(body) if body.is_empty() => {
                Response::text(503, "the collection failed; see the server's log\n")
            }
            Some(body) => Response {
                status: 200,
                content_type: prometheus::CONTENT_TYPE,
                body,
                allow: false,
            },
            None => Response::text(503, "a collection is taking too long\n"),
        },
        "/healthz" => Response::text(200, "ok\n"),
        "/" => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: Arc::new(INDEX.as_bytes().to_vec()),
            allow: false,
        },
        _ => Response::text(404, "not found: try /metrics\n"),
    }
}

fn respond(stream: &mut TcpStream, r: &Response, head_only: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    if r.allow {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(&r.body)?;
    }
    stream.flush()
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    if stream.set_write_timeout(Some(WRITE_TIMEOUT)).is_err() {
        return;
    }
    let (response, head_only) = match read_head(&mut stream).and_then(|h| parse_head(&h)) {
        Ok(request) => (route(&request, shared), request.head_only),
        Err(Refusal(status)) => {
            let mut r = Response::text(status, &format!("{}\n", reason(status).to_lowercase()));
            r.allow = status == 405;
            (r, false)
        }
    };
    if respond(&mut stream, &response, head_only).is_err() {
        return;
    }
    // Lingering close: take what the client still sends (a body we did not read) for a
    // moment, so closing does not reset the connection under the response.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER));
    let until = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while Instant::now() < until && drained < 64 * 1024 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(head: &str) -> Result<Request, Refusal> {
        parse_head(head.as_bytes())
    }

    #[test]
    fn well_formed_requests() {
        assert_eq!(
            req("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*"),
            Ok(Request {
                head_only: false,
                path: "/metrics".into()
            })
        );
        assert_eq!(
            req("HEAD /metrics?x=1 HTTP/1.0"),
            Ok(Request {
                head_only: true,
                path: "/metrics".into()
            })
        );
        assert_eq!(
            req("GET / HTTP/1.1\nHost: x").map(|r| r.path),
            Ok("/".into())
        );
    }

    #[test]
    fn refusals() {
        for (head, status) in [
            ("POST /metrics HTTP/1.1\r\nContent-Length: 0", 405),
            ("DELETE / HTTP/1.1", 405),
            ("GET /metrics HTTP/2.0", 505),
            ("GET /metrics", 400),
            ("GET  /metrics HTTP/1.1", 400),
            ("GET /metrics HTTP/1.1 extra", 400),
            ("GET metrics HTTP/1.1", 400),
            ("GET /metrics FTP/1.1", 400),
            ("GET /metrics HTTP/1.x", 400),
            ("G(T /metrics HTTP/1.1", 400),
            ("GET /metrics HTTP/1.1\r\nno colon here", 400),
            ("GET /metrics HTTP/1.1\r\nBad Name: x", 400),
            ("", 400),
            ("\u{0}\u{1}", 400),
        ] {
            assert_eq!(req(head), Err(Refusal(status)), "{head:?}");
        }
        assert_eq!(parse_head(b"GET /\xff HTTP/1.1"), Err(Refusal(400)));
    }

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

    #[test]
    fn head_ends_at_the_first_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(20));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
