//! `tcpstat serve` follows the exporter conventions (issue 18): gzip when the scraper asks
//! for it, the standard `process_*` metrics of the serving process, and `tcpstat_build_info`
//! with the version and the git revision it was built from. A real server, real requests,
//! every body through `promtool check metrics`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::prometheus::{parse, promtool, value, Server};
use crate::util::{serial, tcpstat};

/// The status line and headers (as text) and the body (as bytes: it may be compressed).
fn scrape(addr: SocketAddr, headers: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(s, "GET /metrics HTTP/1.1\r\nHost: test\r\n{headers}\r\n").expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of the head");
    let head = String::from_utf8(raw[..end].to_vec()).expect("utf-8 head");
    (head, raw[end + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n")
        .filter_map(|l| l.split_once(": "))
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn loopback() -> Server {
    let mut cmd = tcpstat();
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    Server::spawn(cmd)
}

#[test]
fn gzip_only_when_the_scraper_asks_for_it() {
    let _serial = serial();
    let server = loopback();
    // What Prometheus sends.
    let (head, body) = scrape(server.addr, "Accept-Encoding: gzip\r\n");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(header(&head, "Content-Encoding"), Some("gzip"), "{head}");
    assert_eq!(header(&head, "Vary"), Some("Accept-Encoding"), "{head}");
    assert_eq!(
        header(&head, "Content-Length"),
        Some(body.len().to_string().as_str())
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .expect("a gzip body");
    assert!(
        body.len() * 3 < text.len(),
        "{} -> {}",
        text.len(),
        body.len()
    );
    promtool(&text);
    let zipped = parse(&text);
    assert_eq!(value(&zipped, "tcpstat_collection_success", &[]), 1.0);

    // Refused, or not asked for: plain text, and the same families.
    for headers in [
        "",
        "Accept-Encoding: gzip;q=0, identity\r\n",
        "Accept-Encoding: br\r\n",
    ] {
        let (head, body) = scrape(server.addr, headers);
        assert_eq!(header(&head, "Content-Encoding"), None, "{headers}: {head}");
        let text = String::from_utf8(body).expect("plain text");
        promtool(&text);
        let names = |s: &[crate::prometheus::Sample]| {
            let mut n: Vec<String> = s.iter().map(|x| x.name.clone()).collect();
            n.dedup();
            n
        };
        assert_eq!(names(&parse(&text)), names(&zipped), "{headers}");
    }
}

#[test]
fn process_metrics_describe_the_serving_process() {
    let _serial = serial();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    let server = loopback();
    let (_, body) = scrape(server.addr, "");
    let text = String::from_utf8(body).expect("utf-8");
    promtool(&text);
    let s = parse(&text);
    let kind = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("# TYPE {name} ")))
            .unwrap_or_else(|| panic!("no TYPE for {name}"))
            .to_string()
    };
    assert_eq!(kind("process_cpu_seconds_total"), "counter");
    assert!(value(&s, "process_cpu_seconds_total", &[]) >= 0.0);

    // Against what the kernel says of the server's pid, not of this test's.
    let pid = server.child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {status}"))
    };
    let rss = value(&s, "process_resident_memory_bytes", &[]);
    let vsz = value(&s, "process_virtual_memory_bytes", &[]);
    assert!(rss > 1e6 && rss < 200e6, "{rss}");
    assert!(vsz >= rss, "{vsz} {rss}");
    // The resident size moves a little between the scrape and this read.
    let now_rss = kib("VmRSS:") * 1024.0;
    assert!((rss - now_rss).abs() < now_rss / 2.0, "{rss} vs {now_rss}");
    // The connection thread's stack is unmapped once it has answered: close, not equal.
    let now_vsz = kib("VmSize:") * 1024.0;
    assert!((vsz - now_vsz).abs() < now_vsz / 4.0, "{vsz} vs {now_vsz}");

    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .count() as f64;
    let open = value(&s, "process_open_fds", &[]);
    // During the scrape it also held the connection (and the directory it counted with).
    assert!(open >= 3.0 && (open - fds).abs() <= 3.0, "{open} vs {fds}");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let soft: f64 = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("a numeric soft limit");
    assert_eq!(value(&s, "process_max_fds", &[]), soft);

    let started = value(&s, "process_start_time_seconds", &[]);
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    // Whole clock ticks, and the boot time is whole seconds: a second of slack each side.
    assert!(
        started >= before - 1.5 && started <= after + 1.0,
        "{before} <= {started} <= {after}"
    );
}

#[test]
fn build_info_names_the_version_and_the_git_revision() {
    let _serial = serial();
    let server = loopback();
    let (_, body) = scrape(server.addr, "");
    let s = parse(&String::from_utf8(body).expect("utf-8"));
    let info: Vec<_> = s
        .iter()
        .filter(|x| x.name == "tcpstat_build_info")
        .collect();
    assert_eq!(info.len(), 1, "{info:?}");
    let labels = &info[0].labels;
    assert_eq!(labels["version"], env!("CARGO_PKG_VERSION"));
    // What build.rs saw: the checkout's HEAD, or unknown without git (a source tarball).
    let repo = env!("CARGO_MANIFEST_DIR");
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let want = match head {
        Some(h) if std::path::Path::new(repo).join(".git").exists() => h,
        _ => "unknown".to_string(),
    };
    assert_eq!(labels["revision"], want);
}
