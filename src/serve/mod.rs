//! `tcpstat serve`: a small, read-only HTTP/1.1 server for Prometheus scrapes.
//!
//! Owns: the listening socket, accepted on readiness (`poll(2)` on it and on the signal
//! wake-up pipe: an idle server sleeps, and a connection is taken the moment it arrives), one
//! thread per connection (at most `--max-connections`, with the slot policy of [`slots`]),
//! the routes (`/metrics`, `/healthz`, `/`), the collector thread, and sharing one
//! collection among concurrent scrapes ([`flights`]). What a collection is, is the
//! [`Exporter`]'s business (`app::serve` runs the pipeline); HTTP itself is [`http`].
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
//! It never reads a request body and answers every request with `Connection: close`: one
//! request per connection is all a scraper needs, and it keeps the state machine trivial.
//! Only GET and HEAD are served (405 otherwise); anything that does not parse as HTTP/1.x is
//! a 400 (at once, when the first bytes cannot start a request line: a TLS ClientHello, an SSH
//! banner), a request head that does not arrive in time a 408, an oversized one a 431. A slow
//! or stuck client holds only its own thread and slot, for at most [`http::READ_TIMEOUT`] (less
//! when its slot is needed) plus the collection plus [`http::WRITE_TIMEOUT`]: the write deadline is
//! one for the whole response, not per `write()` (where a reader taking a few bytes at a time
//! restarted it with every bit of progress and held its connection for minutes); when it
//! passes the connection is reset, so the kernel does not go on feeding the slow reader from
//! an orphaned socket.
//!
//! Written on `std::net` rather than with an HTTP crate: the whole protocol surface needed is
//! a request line and headers to skip, and a server library would bring an async runtime or a
//! large dependency tree into a tool whose other dependencies are a handful of small crates.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub mod accept;
pub mod flights;
pub mod http;
pub mod process_metrics;
pub mod slots;

use crate::error::Error;
use crate::render::prometheus::{self, ServeStats};
use crate::term;
use accept::AcceptFailures;
use flights::Flights;
pub use http::{parse_head, Refusal, Request};
use http::{read_head, reason, respond, Response, WRITE_TIMEOUT};
use slots::Connections;

/// Time a refused or evicted connection has to take its 503.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a scrape waits for a collection another scrape started before giving up (503).
const SHARED_WAIT: Duration = Duration::from_secs(60);
/// After answering, how long unread request bytes are drained so that closing does not send
/// a reset that could destroy the response in flight.
const LINGER: Duration = Duration::from_millis(200);

/// Where and how many at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub listen: SocketAddr,
    pub max_connections: usize,
}

/// What the server asks of whoever knows the metrics: one fresh collection, rendered. Called
/// on one long-lived thread only.
pub trait Exporter: Send + 'static {
    fn export(&mut self) -> Export;

    /// Called after `export` panicked (a bug): drop whatever state it may have left half
    /// done. The server answers that scrape 503 and carries on.
    fn recover(&mut self) {}
}

/// One collection, rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Export {
    /// The metric families, and the meta families saying where they came from.
    pub body: Vec<u8>,
    /// Why the collection failed (the body then holds only the meta families).
    pub error: Option<String>,
    /// What made the numbers partial: logged when they change.
    pub warnings: Vec<String>,
}

const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>tcpstat</title></head><body>\n\
<h1>tcpstat</h1>\n<p>TCP socket states of this host, for Prometheus.</p>\n<ul>\n\
<li><a href=\"/metrics\">/metrics</a>: metrics (a fresh collection on each scrape)</li>\n\
<li><a href=\"/healthz\">/healthz</a>: liveness</li>\n</ul>\n</body></html>\n";

/// Runs the server until SIGTERM (a service manager's normal stop: `Ok`, exit 0) or Ctrl-C
/// / SIGHUP ([`Error::Interrupted`], exit 130).
pub fn run(settings: &Settings, exporter: impl Exporter, err: &mut dyn Write) -> Result<(), Error> {
    limit_malloc_arenas();
    let stop = term::stop_flag();
    // Signals are taken only while the loop sleeps (no thread has started yet).
    term::defer_signals()?;
    let listen_error = |source| Error::Listen {
        address: settings.listen,
        source,
    };
    let listener = TcpListener::bind(settings.listen).map_err(listen_error)?;
    let local = listener.local_addr().map_err(listen_error)?;
    // Nonblocking: a connection reset between poll and accept must not block the loop.
    listener.set_nonblocking(true).map_err(listen_error)?;
    writeln!(
        err,
        "tcpstat: serving metrics on http://{}/metrics",
        host_port(local)
    )?;
    if !local.ip().to_canonical().is_loopback() {
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
        max_connections: settings.max_connections,
        flights: Flights::default(),
        collector,
        counters: Mutex::new(Counters::default()),
        connections: Mutex::new(Connections::default()),
    });
    let worker = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("tcpstat-collect".into())
        .spawn(move || collector_loop(&worker, exporter, &requests))
        .map_err(|source| Error::Thread {
            what: "collector thread",
            source,
        })?;
    let mut failures = AcceptFailures::default();
    let mut pause: Option<Duration> = None;
    loop {
        match stop.get() {
            // `systemctl stop` must not mark the unit failed.
            Some(term::StopSignal::Terminate) => return Ok(()),
            Some(_) => return Err(Error::Interrupted),
            None => {}
        }
        match pause.take() {
            // Accept failed (out of descriptors): the pending connection keeps the listener
            // readable, so wait out the back-off on the signals alone.
            Some(pause) => {
                stop.wait(None, Some(pause))?;
                continue;
            }
            // Asleep until a connection or a signal arrives.
            None => {
                if !stop.wait(Some(listener.as_fd()), None)? {
                    continue;
                }
            }
        }
        match listener.accept() {
            Ok((stream, _peer)) => {
                if let Some(line) = failures.succeeded() {
                    log(&line);
                }
                dispatch(stream, &shared);
            }
            // Gone before it was taken (reset), or a signal: back to waiting.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                // Out of descriptors, a connection reset before accept: not fatal, but
                // retrying at once would spin (the pending connection stays queued).
                let (line, wait) = failures.failed(&e, Instant::now());
                if let Some(line) = line {
                    log(&line);
                }
                pause = Some(wait);
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
        .admit(&stream, shared.max_connections, Instant::now());
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
fn collector_loop(
    shared: &Shared,
    mut exporter: impl Exporter,
    requests: &Receiver<SyncSender<Vec<u8>>>,
) {
    for reply in requests {
        let body = panic::catch_unwind(AssertUnwindSafe(|| shared.collect(&mut exporter)))
            .unwrap_or_else(|_| {
                exporter.recover();
                Vec::new()
            });
        // The asker is gone only if its own thread died; nothing to do then.
        let _ = reply.send(body);
    }
}

/// State shared by the connection threads.
struct Shared {
    max_connections: usize,
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

    /// One collection and everything `/metrics` shows: the exporter's families, then the
    /// server's own (scrapes, collections, errors, build).
    fn collect(&self, exporter: &mut impl Exporter) -> Vec<u8> {
        let export = exporter.export();
        let stats = {
            let mut c = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
            c.stats.collections += 1;
            c.stats.success = export.error.is_none();
            if export.error.is_some() {
                c.stats.errors += 1;
            }
            match &export.error {
                None => {
                    if export.warnings != c.last_warnings {
                        for w in &export.warnings {
                            log(&format!("warning: {w}"));
                        }
                        c.last_warnings = export.warnings;
                    }
                }
                Some(e) => log(&format!("collection failed: {e}")),
            }
            c.stats
        };
        let mut body = export.body;
        // Writing to memory cannot fail; an empty body would still parse.
        let process = process_metrics::read();
        if prometheus::serve_stats(&mut body, &stats)
            .and_then(|()| prometheus::process_stats(&mut body, &process))
            .is_err()
        {
            body.clear();
        }
        body
    }
}

fn route(request: &Request, shared: &Shared) -> Response {
    match request.path.as_str() {
        "/metrics" => match shared.scrape() {
            // Only a collection that panicked leaves no body (metrics are never empty).
            Some(body) if body.is_empty() => {
                Response::text(503, "the collection failed; see the server's log\n")
            }
            // Compressed per scrape: concurrent scrapes share the body, not its encoding.
            Some(body) if request.gzip => Response {
                status: 200,
                content_type: prometheus::CONTENT_TYPE,
                body: Arc::new(http::gzip(&body)),
                allow: false,
                gzip: true,
            },
            Some(body) => Response {
                status: 200,
                content_type: prometheus::CONTENT_TYPE,
                body,
                allow: false,
                gzip: false,
            },
            None => Response::text(503, "a collection is taking too long\n"),
        },
        "/healthz" => Response::text(200, "ok\n"),
        "/" => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: Arc::new(INDEX.as_bytes().to_vec()),
            allow: false,
            gzip: false,
        },
        _ => Response::text(404, "not found: try /metrics\n"),
    }
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
    let now = Instant::now();
    if !ticket.connections().writing(ticket.id, now) {
        // Its slot went to a newcomer while the collection ran (it cannot: only writers and
        // readers give way), or it was reset: nothing to write to.
        return;
    }
    if respond(stream, &response, head_only, now + WRITE_TIMEOUT).is_err() {
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
