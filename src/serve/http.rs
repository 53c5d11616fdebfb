//! The HTTP/1.1 a metrics server needs, and nothing more: reading a request head within
//! limits, parsing it, writing a response within one deadline.
//!
//! Owns: [`MAX_HEAD`], [`READ_TIMEOUT`], [`WRITE_TIMEOUT`], [`parse_head`] (request line and
//! headers; only GET and HEAD are served, 405 otherwise; anything that does not parse as
//! HTTP/1.x is a 400, at once when the first bytes cannot start a request line: a TLS
//! ClientHello, an SSH banner), [`read_head`] and [`respond`]. No routing, no connection
//! policy.
//!
//! Hand-written rather than `httparse`: the parser is ~100 lines, fuzzed
//! (`fuzz/fuzz_targets/http_request.rs`) and property-tested, and it answers what a scraper
//! and an operator need to see that `httparse` does not tell apart: HTTP/2 is 505, not a
//! malformed request; an absolute-form target (`http://host/metrics`) is served by its path.
//! With `httparse` the version checks, the early refusal of non-HTTP bytes and the target
//! rules would all stay ours, for a dependency and about 40 fewer lines.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The request line and headers may be at most this long.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the whole response, from its first byte: one deadline, however
/// the writes progress. Past it the connection is reset.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than any registered HTTP method (UPDATEREDIRECTREF has 17 letters): a first word
/// that long is not a method.
const MAX_METHOD: usize = 32;

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Arc<Vec<u8>>,
    /// `Allow` header (405).
    pub allow: bool,
    /// The body is gzip-compressed (`Content-Encoding: gzip`).
    pub gzip: bool,
}

impl Response {
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Arc::new(body.as_bytes().to_vec()),
            allow: false,
            gzip: false,
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// What a request asked for, once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub head_only: bool,
    /// `Accept-Encoding` accepts gzip (as Prometheus sends it: `gzip`).
    pub gzip: bool,
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
    let mut gzip = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Refusal(400));
        };
        if !token(name) {
            return Err(Refusal(400));
        }
        if name.eq_ignore_ascii_case("accept-encoding") {
            gzip |= accepts_gzip(value);
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
    Ok(Request {
        head_only,
        gzip,
        path,
    })
}

/// Whether an `Accept-Encoding` value (RFC 9110 section 12.5.3) accepts gzip: `gzip` or
/// `x-gzip` with a q-value other than 0. `*` is not taken as a request for gzip: a client
/// that names no coding gets the identity it surely understands.
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|item| {
        let mut params = item.split(';').map(str::trim);
        let coding = params.next().unwrap_or_default();
        if !coding.eq_ignore_ascii_case("gzip") && !coding.eq_ignore_ascii_case("x-gzip") {
            return false;
        }
        let refused = params.any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f64>() == Ok(0.0)
            })
        });
        !refused
    })
}

/// `body` gzip-compressed at the fastest level: a scrape body is repetitive text (label sets
/// repeated per state), which the fastest level already shrinks fivefold (11 KB to 2.1 KB on a
/// small host), for a fraction
/// of the CPU time of the default level. Compressing to memory cannot fail.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    use flate2::write::GzEncoder;
    use flate2::Compression;
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 8), Compression::fast());
    if encoder.write_all(body).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
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
pub fn read_head(stream: &TcpStream) -> Result<Vec<u8>, Refusal> {
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
            // The client is gone: nothing to answer, but a 400 harms no one.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Err(Refusal(400))
            }
            // This end could not read (ENOMEM, ENOBUFS): the request was not at fault.
            Err(_) => return Err(Refusal(500)),
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

/// Writes the response, all of it before `deadline` (`TimedOut` otherwise).
pub fn respond(
    stream: &TcpStream,
    r: &Response,
    head_only: bool,
    deadline: Instant,
) -> io::Result<()> {
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
    if r.gzip {
        head.push_str("Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
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
                gzip: false,
                path: "/metrics".into()
            })
        );
        assert_eq!(
            req("HEAD /metrics?x=1 HTTP/1.0"),
            Ok(Request {
                head_only: true,
                gzip: false,
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
    fn head_ends_at_the_first_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(20));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n"), None);
    }

    #[test]
    fn accept_encoding_asks_for_gzip() {
        let asks = |value: &str| {
            let head = format!("GET /metrics HTTP/1.1\r\nAccept-Encoding:{value}");
            parse_head(head.as_bytes()).expect("parses").gzip
        };
        // What Prometheus sends, and what browsers and curl --compressed send.
        assert!(asks(" gzip"));
        assert!(asks(" gzip, deflate, br, zstd"));
        assert!(asks("deflate,GZIP;q=0.5"));
        assert!(asks(" x-gzip"));
        assert!(asks(" gzip;q=1.0"));
        assert!(!asks(" gzip;q=0"));
        assert!(!asks(" gzip; q=0.000"));
        assert!(!asks(" identity"));
        assert!(!asks(" *"));
        assert!(!asks(" gzipped"));
        assert!(!asks(""));
        let plain = parse_head(b"GET /metrics HTTP/1.1\r\nHost: x").expect("parses");
        assert!(!plain.gzip);
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let body = "tcpstat_sockets{state=\"LISTEN\"} 3\n".repeat(100);
        let packed = gzip(body.as_bytes());
        assert!(packed.len() < body.len() / 10, "{}", packed.len());
        let mut back = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut back)
            .expect("gunzip");
        assert_eq!(back, body);
    }
}
