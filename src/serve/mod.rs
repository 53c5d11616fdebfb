//! `tcpstat serve`: a small, read-only HTTP/1.1 server for Prometheus scrapes.
//!
//! Owns: the listening socket, one thread per connection (at most `--max-connections`, with
//! the slot policy below), reading a request within limits ([`MAX_HEAD`] bytes of request line
//! and headers, all of it within [`READ_TIMEOUT`]), writing the response within one deadline
//! ([`WRITE_TIMEOUT`]), the routes (`/metrics`, `/healthz`, `/`), and sharing one collection
//! among concurrent scrapes (the first scrape asks for a collection, the ones that arrive
//! meanwhile wait for its result instead of starting dumps of their own).
//!
//! Slots: a connection that has not finished sending its request head can be evicted. When
//! every slot is taken, a new connection takes the slot of the oldest connection still
//! reading its request (that one is answered 503); only when every slot is answering a
//! request is the newcomer answered 503. Idle or dribbling clients therefore cannot keep a
//! scraper out: a scrape sends its request at once and reads for about a round trip, while an
//! idle connection stays a reader and soon is the oldest one (to evict a scrape, a client
//! would have to open `--max-connections` connections within that round trip). A cap per
//! peer address would not help: Prometheus and a misbehaving client can share an address
//! (loopback, a NAT).
//!
//! Every collection runs on one long-lived collector thread, not on the connection thread that
//! asked for it. Collections are what allocate (owner maps, port matrices), and glibc's malloc
//! gives each allocating thread an arena of its own: run on whichever connection thread led
//! the scrape, successive collections warmed one arena after another, and the resident size
//! climbed by about one collection's peak per arena before it levelled off (12.7 to 17 MiB over
//! the first minutes of `benches/soak.sh` with `SOAK=serve`). On one thread they reuse one
//! arena's memory. The connection threads still allocate a little (request heads, response
//! headers), and a new thread takes a new arena while there are fewer than eight per core:
//! 40000 scrapes from four clients under load took the resident size from 18 to 23 MiB
//! and still climbing. So `serve` also caps glibc at one arena (`limit_malloc_arenas`;
//! `MALLOC_ARENA_MAX` in the environment still wins): the same soak then stays at 8.3 MiB,
//! flat. The threads do not contend for it: collections run on one thread, and the rest
//! allocate a few hundred bytes per request.
//!
//! It reads the kernel only through the pipeline (`metrics::collect`) and writes metrics only
//! through `render::prometheus`.
//!
//! It never reads a request body and answers every request with `Connection: close`: one
//! request per connection is all a scraper needs, and it keeps the state machine trivial.
//! Only GET and HEAD are served (405 otherwise); anything that does not parse as HTTP/1.x is
//! a 400 (at once, when the first bytes cannot start a request line: a TLS ClientHello, an SSH
//! banner), a request head that does not arrive in time a 408, an oversized one a 431. A slow
//! or stuck client holds only its own thread and slot, for at most [`READ_TIMEOUT`] (less
//! when its slot is needed) plus the collection plus [`WRITE_TIMEOUT`]: the write deadline is
//! one for the whole response, not per `write()` (where a reader taking a few bytes at a time
//! restarted it with every bit of progress and held its connection for minutes); when it
//! passes the connection is reset, so the kernel does not go on feeding the slow reader from
//! an orphaned socket.
//!
//! Out of descriptors (EMFILE), `accept()` fails until a connection closes; the accept loop
//! then backs off ([`ACCEPT_BACKOFF`] doubling to [`ACCEPT_BACKOFF_MAX`]) and says so once,
//! then a count every [`ACCEPT_REPORT_EVERY`], instead of a line per attempt.
//!
//! Written on `std::net` rather than with an HTTP crate: the whole protocol surface needed is
//! a request line and headers to skip, and a server library would bring an async runtime or a
//! large dependency tree into a tool whose other dependencies are a handful of small crates.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

mod metrics;

use crate::config::{Config, ServeOptions};
use crate::error::Error;
use crate::pipeline::Readers;
use crate::render::prometheus::{self, Meta, ServeStats};
use crate::term;

/// The request line and headers may be at most this long.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the whole response, from its first byte: one deadline, however
/// the writes progress. Past it the connection is reset.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a refused or evicted connection has to take its 503.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// The first pause after `accept()` fails (out of descriptors); it doubles while it keeps
/// failing, up to [`ACCEPT_BACKOFF_MAX`].
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// After the first accept failure is logged, further ones are logged as a count this often.
pub const ACCEPT_REPORT_EVERY: Duration = Duration::from_secs(10);
/// Longer than any registered HTTP method (UPDATEREDIRECTREF has 17 letters): a first word
/// that long is not a method.
const MAX_METHOD: usize = 32;
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
    limit_malloc_arenas();
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
        connections: Mutex::new(Connections::default()),
    });
    let worker = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("tcpstat-collect".into())
        .spawn(move || collector_loop(&worker, &requests))
        .map_err(|source| Error::Thread {
            what: "collector thread",
            source,
        })?;
    let mut failures = AcceptFailures::default();
    loop {
        match stop.get() {
            // `systemctl stop` must not mark the unit failed.
            Some(term::StopSignal::Terminate) => return Ok(()),
            Some(_) => return Err(Error::Interrupted),
            None => {}
        }
        match listener.accept() {
            Ok((stream, _peer)) => {
                if let Some(line) = failures.succeeded() {
                    log(&line);
                }
                dispatch(stream, &shared);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Out of descriptors, a connection reset before accept: not fatal, but
                // retrying at once would spin (the pending connection stays queued).
                let (line, pause) = failures.failed(&e, Instant::now());
                if let Some(line) = line {
                    log(&line);
                }
                std::thread::sleep(pause);
            }
        }
    }
}

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

/// Hands a connection to a thread of its own, taking the slot of the oldest connection still
/// reading its request when every slot is taken, or answers 503 when every slot is answering.
fn dispatch(stream: TcpStream, shared: &Arc<Shared>) {
    // An accepted socket does not inherit O_NONBLOCK on Linux, but do not rely on it.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let stream = Arc::new(stream);
    let admitted = shared
        .connections
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .admit(&stream, shared.options.max_connections, Instant::now());
    let Some(id) = admitted else {
        refuse(
            &stream,
            "too many connections: every one is being answered\n",
        );
        return;
    };
    let ticket = Ticket {
        shared: Arc::clone(shared),
        id,
    };
    let spawned = std::thread::Builder::new()
        .name("tcpstat-http".into())
        .spawn(move || serve_connection(&stream, &ticket));
    if let Err(e) = spawned {
        log(&format!("cannot start a thread for a connection: {e}"));
    }
}

/// Answers 503 with `body` within [`REFUSAL_TIMEOUT`] and closes.
fn refuse(stream: &TcpStream, body: &str) {
    let deadline = Instant::now() + REFUSAL_TIMEOUT;
    if respond(stream, &Response::text(503, body), false, deadline).is_ok() {
        let _ = stream.shutdown(Shutdown::Write);
    } else {
        reset(stream);
    }
}

/// Caps glibc's malloc at one arena for this process, unless `MALLOC_ARENA_MAX` says
/// otherwise (see the module documentation for why and what it measured). Called before any
/// thread is spawned. Other C libraries do not have per-thread arenas: nothing to do there.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // The one unsafe call in tcpstat: mallopt only sets a tuning parameter of the
        // allocator; it takes no pointers, and M_ARENA_MAX may be set at any time.
        #[allow(unsafe_code)]
        // SAFETY: see above; the return value only says whether the parameter was accepted.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Drops the connection with a reset when it is closed: unsent data is discarded rather than
/// left to an orphaned socket that would keep feeding a slow reader.
fn reset(stream: &TcpStream) {
    let _ = rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO));
}

/// The open connections, for the slot policy (see the module documentation).
#[derive(Debug, Default)]
struct Connections {
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
    fn admit(&mut self, stream: &Arc<TcpStream>, max: usize, now: Instant) -> Option<u64> {
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
    fn answering(&mut self, id: u64) -> bool {
        match self.open.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                c.reading = false;
                true
            }
            None => false,
        }
    }

    fn close(&mut self, id: u64) {
        self.open.retain(|c| c.id != id);
    }
}

/// A connection's slot, held by its thread; dropping it frees the slot.
struct Ticket {
    shared: Arc<Shared>,
    id: u64,
}

impl Ticket {
    fn connections(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.shared
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let id = self.id;
        self.connections().close(id);
    }
}

/// The collector thread: one collection per request, its body sent back to the asker. A
/// collection that panics (a bug) answers with an empty body, which `/metrics` turns into a
/// 503, and the thread carries on with the next request.
fn collector_loop(shared: &Shared, requests: &Receiver<SyncSender<Vec<u8>>>) {
    // Kept between scrapes: one netlink socket per namespace read.
    let mut readers = Readers::default();
    for reply in requests {
        let body = panic::catch_unwind(AssertUnwindSafe(|| shared.collect(&mut readers)))
            .unwrap_or_else(|_| {
                // A panic may have left a reader mid-dump: start afresh.
                readers = Readers::default();
                Vec::new()
            });
        // The asker is gone only if its own thread died; nothing to do then.
        let _ = reply.send(body);
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
    connections: Mutex<Connections>,
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
    fn collect(&self, readers: &mut Readers) -> Vec<u8> {
        let began = Instant::now();
        let result = metrics::collect(&self.config, &self.options, readers);
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

/// Parses a request head (request line and header lines, without the blank line). Empty lines
/// before the request line are ignored (RFC 9112 section 2.2); the target may be in origin
/// form (`/metrics`) or absolute form (`http://host/metrics`, RFC 9112 section 3.2.2, sent to
/// proxies and allowed to servers), of which only the path counts.
pub fn parse_head(head: &[u8]) -> Result<Request, Refusal> {
    let head = &head[leading_empty_lines(head)..];
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
    if target.bytes().any(|b| b.is_ascii_control()) {
        return Err(Refusal(400));
    }
    let target = origin_form(target).ok_or(Refusal(400))?;
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

/// The path-and-query part of a request target: an origin-form target as it is, the part of
/// an absolute-form one (`http://host[:port]/path?q`) after its authority (`/` when it has no
/// path). `None`: neither form (`*`, an authority alone, another scheme, no host).
fn origin_form(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    let (scheme, rest) = target.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if authority_end == 0 {
        return None;
    }
    match &rest[authority_end..] {
        path if path.starts_with('/') => Some(path),
        // `http://host?x`: the path is empty, which means `/`.
        _ => Some("/"),
    }
}

/// How many bytes of empty lines (CRLF or LF) start `buf`.
fn leading_empty_lines(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len())
}

/// Whether the bytes received so far (empty lines skipped) can no longer become an HTTP/1.x
/// request line, so the connection is answered 400 at once instead of holding its slot
/// until [`READ_TIMEOUT`]: a first word that is not a method token (a TLS ClientHello starts
/// with 0x16, an SSH client with its banner `SSH-2.0-...\r\n`), a control character in the
/// target, a version that does not start `HTTP/`, or a complete line without three parts.
fn cannot_start_request(received: &[u8]) -> bool {
    let line_end = received
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(received.len());
    let complete = line_end < received.len();
    let line = &received[..line_end];
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let is_tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if method.len() > MAX_METHOD || !method.iter().all(is_tchar) {
        return true;
    }
    let target = parts.next();
    if method.is_empty() && target.is_some() {
        return true;
    }
    if target.is_some_and(|t| t.iter().any(u8::is_ascii_control)) {
        return true;
    }
    let version = parts.next();
    if let Some(v) = version {
        let n = v.len().min(5);
        if v[..n] != b"HTTP/"[..n] {
            return true;
        }
    }
    complete && version.is_none()
}

/// Reads up to the blank line that ends the head, within [`MAX_HEAD`] and [`READ_TIMEOUT`].
/// Returns the head without any empty lines that preceded it.
fn read_head(stream: &TcpStream) -> Result<Vec<u8>, Refusal> {
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut buf = vec![0u8; MAX_HEAD + 4];
    let mut filled = 0;
    loop {
        let start = leading_empty_lines(&buf[..filled]);
        if let Some(end) = head_end(&buf[start..filled]) {
            buf.truncate(start + end);
            buf.drain(..start);
            return Ok(buf);
        }
        if cannot_start_request(&buf[start..filled]) {
            return Err(Refusal(400));
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
        match (&mut &*stream).read(&mut buf[filled..]) {
            // The client went away before finishing (or its slot was taken: then the caller
            // answers 503): nothing to answer, but a 400 harms no one.
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

/// Writes the response, all of it before `deadline` (`TimedOut` otherwise).
fn respond(stream: &TcpStream, r: &Response, head_only: bool, deadline: Instant) -> io::Result<()> {
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
    write_by(stream, head.as_bytes(), deadline)?;
    if !head_only {
        write_by(stream, &r.body, deadline)?;
    }
    Ok(())
}

/// `write_all` with one deadline for all of it. The socket's send timeout is set to the time
/// left before each `write()`, so a reader that takes a few bytes at a time cannot stretch
/// the response: every call gets less time, not a fresh timeout.
fn write_by(stream: &TcpStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        let now = Instant::now();
        if now >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the response deadline passed",
            ));
        }
        stream.set_write_timeout(Some(deadline - now))?;
        match (&mut &*stream).write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // WouldBlock: the send timeout (the time left) passed with nothing written.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn serve_connection(stream: &TcpStream, ticket: &Ticket) {
    let request = read_head(stream).and_then(|h| parse_head(&h));
    if !ticket.connections().answering(ticket.id) {
        // Evicted while reading: a newer connection has the slot.
        refuse(
            stream,
            "too many connections: this one had not sent its request and its slot was needed\n",
        );
        return;
    }
    let (response, head_only) = match request {
        Ok(request) => (route(&request, &ticket.shared), request.head_only),
        Err(Refusal(status)) => {
            let mut r = Response::text(status, &format!("{}\n", reason(status).to_lowercase()));
            r.allow = status == 405;
            (r, false)
        }
    };
    if respond(stream, &response, head_only, Instant::now() + WRITE_TIMEOUT).is_err() {
        // Too slow a reader, or gone: do not leave the rest to an orphaned socket.
        reset(stream);
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
        match (&mut &*stream).read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

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
    fn absolute_form_targets_and_leading_empty_lines() {
        let path = |head: &str| req(head).map(|r| r.path);
        for (head, want) in [
            (
                "GET http://web1:9555/metrics HTTP/1.1\r\nHost: web1",
                "/metrics",
            ),
            ("GET HTTP://[::1]:9555/metrics?x=1 HTTP/1.1", "/metrics"),
            ("GET https://web1/healthz HTTP/1.1", "/healthz"),
            ("GET http://web1 HTTP/1.1", "/"),
            ("GET http://web1?x HTTP/1.1", "/"),
            ("\r\nGET /metrics HTTP/1.1", "/metrics"),
            ("\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x", "/metrics"),
            ("\nGET / HTTP/1.0", "/"),
        ] {
            assert_eq!(path(head), Ok(want.to_string()), "{head:?}");
        }
        for head in [
            "GET * HTTP/1.1",
            "GET web1:9555 HTTP/1.1",
            "GET http:///metrics HTTP/1.1",
            "GET ftp://web1/metrics HTTP/1.1",
            "GET http:/web1/metrics HTTP/1.1",
        ] {
            assert_eq!(req(head), Err(Refusal(400)), "{head:?}");
        }
    }

    #[test]
    fn hopeless_beginnings_are_refused_before_the_head_is_complete() {
        for hopeless in [
            &b"\x16\x03\x01\x02\x00"[..],
            b"SSH-2.0-OpenSSH_9.6\r\n",
            b" GET",
            b"GET /\x00",
            b"GET / FTP/1.1",
            b"GET / HTTX",
            b"garbage\r\n",
            b"GET /metrics\r\n",
            &[b'A'; MAX_METHOD + 1],
        ] {
            assert!(cannot_start_request(hopeless), "{hopeless:?}");
        }
        for hopeful in [
            &b""[..],
            b"G",
            b"GET",
            b"GET /met",
            b"GET /metrics HT",
            b"GET /metrics HTTP/1.1\r\nHost",
            b"GET http://web1/metrics HTTP/1.1",
            b"PRI * HTTP/2.0\r\n",
        ] {
            assert!(!cannot_start_request(hopeful), "{hopeful:?}");
        }
    }

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
