//! Prometheus output: `--format prometheus` on summary, ports and procs (recorded fixture and
//! live sockets) and `tcpstat serve` scraped over loopback by concurrent clients, slow
//! clients, idle connections filling every slot, slow readers, malformed requests and a
//! server out of file descriptors.
//!
//! Every exposition goes through `promtool check metrics` (the Prometheus project's own
//! parser and linter; Debian package `prometheus`, installed by `.ci/run`; outside CI a
//! missing promtool is a skip, said on stderr) and through [`parse`], a strict reader that
//! fails on anything it does not understand, used to look values up.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use crate::util::netns::{in_private_netns, netns_available};
use crate::util::sockets::{Family, Sock};
use crate::util::ss::ss_lines;
use crate::util::states::{fresh_listener, proc_sockets, State};
use crate::util::{fixture, run, serial, skip, tcpstat, wait_until, WAIT};

fn exposition(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {:?} {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

// ---------------------------------------------------------------------------
// Reading the format
// ---------------------------------------------------------------------------

/// Runs `promtool check metrics` on `text`: it must parse and pass the linter.
pub(crate) fn promtool(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skip(
                "promtool check metrics: promtool is not installed (.ci/run installs the \
                 prometheus package)",
            );
            return;
        }
        Err(e) => panic!("running promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics failed ({:?}):\n{}{}\n--- input ---\n{text}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// A strict reader of the text format as tcpstat writes it: HELP and TYPE before each
/// family, a family's samples together, labels with the three escapes, no timestamps; a
/// histogram's `_bucket` series with `le` bounds in order, cumulative, the last `+Inf` and
/// equal to `_count`.
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped: Vec<String> = Vec::new();
    let mut finished: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let name_ok = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", i + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or_else(|| panic!("{at}"));
            assert!(name_ok(name) && !help.is_empty(), "{at}");
            assert!(!helped.contains(&name.to_string()), "HELP twice: {at}");
            helped.push(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("{at}"));
            assert!(matches!(kind, "gauge" | "counter" | "histogram"), "{at}");
            assert!(
                helped.last().map(String::as_str) == Some(name),
                "TYPE after HELP: {at}"
            );
            assert!(
                typed.insert(name.to_string(), kind.to_string()).is_none(),
                "{at}"
            );
            if let Some(prev) = current.replace(name.to_string()) {
                finished.push(prev);
            }
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{at}");
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value: {at}"));
        let name = &line[..name_end];
        assert!(name_ok(name), "{at}");
        let family = match current.as_deref() {
            Some(f) if typed.get(f).map(String::as_str) == Some("histogram") => {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| {
                        name.strip_prefix(f)
                            .filter(|rest| rest == suffix)
                            .map(|_| f)
                    })
                    .unwrap_or(name)
            }
            _ => name,
        };
        assert_eq!(
            current.as_deref(),
            Some(family),
            "sample outside its family: {at}"
        );
        assert!(!finished.contains(&name.to_string()), "{at}");
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end;
            loop {
                // label name
                let start = chars
                    .peek()
                    .map(|(i, _)| *i)
                    .unwrap_or_else(|| panic!("{at}"));
                let mut eq = None;
                for (i, c) in chars.by_ref() {
                    if c == '=' {
                        eq = Some(i);
                        break;
                    }
                    assert!(c.is_ascii_alphanumeric() || c == '_', "label name: {at}");
                }
                let eq = eq.unwrap_or_else(|| panic!("no '=': {at}"));
                let label = &body[start..eq];
                assert!(name_ok(label), "{at}");
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{at}");
                let mut value = String::new();
                loop {
                    match chars
                        .next()
                        .unwrap_or_else(|| panic!("unterminated: {at}"))
                        .1
                    {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("bad escape {other:?}: {at}"),
                        },
                        '\n' => panic!("raw line feed: {at}"),
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(label.to_string(), value).is_none(), "{at}");
                match chars.next() {
                    Some((_, ',')) => continue,
                    Some((i, '}')) => {
                        end = i;
                        break;
                    }
                    other => panic!("after a label {other:?}: {at}"),
                }
            }
            rest = &body[end + 1..];
        }
        let value = rest.strip_prefix(' ').unwrap_or_else(|| panic!("{at}"));
        assert!(!value.contains(' '), "no timestamps: {at}");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {at}"));
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    let mut series = std::collections::BTreeSet::new();
    let family_of = |name: &str| {
        ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|f| typed.get(*f).map(String::as_str) == Some("histogram"))
            })
            .unwrap_or(name)
            .to_string()
    };
    check_histograms(&samples, &typed);
    for s in &samples {
        assert!(
            typed.contains_key(&family_of(&s.name)),
            "{} has no TYPE",
            s.name
        );
        // What node_exporter's textfile collector rejects ("collected before with the same
        // name and label values") and Prometheus silently collapses.
        assert!(
            series.insert((s.name.clone(), s.labels.clone())),
            "one series twice: {} {:?}",
            s.name,
            s.labels
        );
    }
    samples
}

/// Label names and values, in order.
type Labels = Vec<(String, String)>;

/// Each histogram series: buckets in increasing `le`, counts never going down, the last
/// bucket `+Inf` and equal to `_count`.
fn check_histograms(samples: &[Sample], typed: &BTreeMap<String, String>) {
    for (family, _) in typed.iter().filter(|(_, kind)| *kind == "histogram") {
        let bucket = format!("{family}_bucket");
        // Per label set but le, its (le, count) buckets.
        let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.name == bucket) {
            let le = s.labels.get("le").expect("a bucket without le");
            let le: f64 = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().expect("le")
            };
            let key = s
                .labels
                .iter()
                .filter(|(k, _)| *k != "le")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            series.entry(key).or_default().push((le, s.value));
        }
        for (key, buckets) in &series {
            assert!(
                buckets
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                "{family}{key:?}: buckets out of order or not cumulative: {buckets:?}"
            );
            let last = buckets.last().expect("a bucket");
            assert!(last.0.is_infinite(), "{family}{key:?}: no +Inf bucket");
            let count = samples
                .iter()
                .find(|s| {
                    s.name == format!("{family}_count")
                        && s.labels
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .eq(key.iter().cloned())
                })
                .unwrap_or_else(|| panic!("{family}{key:?}: no _count"));
            assert_eq!(
                count.value, last.1,
                "{family}{key:?}: +Inf bucket != _count"
            );
        }
    }
}

/// The value of the one sample with these labels.
pub(crate) fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name}{labels:?}: {found:?}");
    found[0].value
}

fn on_fixture(root: &std::path::Path, report: &[&str]) -> String {
    let mut args = report.to_vec();
    args.extend_from_slice(&["--format", "prometheus", "--source", "proc", "--proc-root"]);
    args.push(root.to_str().expect("utf-8"));
    exposition(&args)
}

// ---------------------------------------------------------------------------
// --format prometheus
// ---------------------------------------------------------------------------

#[test]
fn the_reader_rejects_what_the_format_forbids() {
    for bad in [
        "m 1\n",                                                                   // no TYPE
        "# HELP m x\n# TYPE m gauge\nm{a=\"x\"y\"} 1\n", // unescaped quote
        "# HELP m x\n# TYPE m gauge\nm{a=\"\\t\"} 1\n",  // unknown escape
        "# HELP m x\n# TYPE m gauge\nm 1 1700000000000\n", // timestamp
        "# HELP m x\n# TYPE m gauge\nm 1\n# HELP n x\n# TYPE n gauge\nn 1\nm 2\n", // split family
    ] {
        assert!(
            std::panic::catch_unwind(|| parse(bad)).is_err(),
            "accepted: {bad:?}"
        );
    }
}

#[test]
fn summary_on_the_fixture() {
    let _serial = serial();
    let text = on_fixture(&fixture("proc-doctor"), &["summary"]);
    promtool(&text);
    let s = parse(&text);
    let sockets = |state, family| {
        value(
            &s,
            "tcpstat_sockets",
            &[("state", state), ("family", family)],
        )
    };
    assert_eq!(sockets("CLOSE_WAIT", "ipv4"), 3.0);
    assert_eq!(sockets("TIME_WAIT", "ipv4"), 5.0);
    assert_eq!(sockets("LISTEN", "ipv6"), 1.0);
    assert!(
        s.iter()
            .all(|x| x.labels.get("state").map(String::as_str) != Some("CLOSED")),
        "/proc cannot see CLOSED: absent, not 0"
    );
    assert_eq!(s.iter().filter(|x| x.name == "tcpstat_sockets").count(), 20);
    assert_eq!(
        value(
            &s,
            "tcpstat_source_info",
            &[("report", "summary"), ("source", "proc")]
        ),
        1.0
    );
    assert_eq!(
        value(&s, "tcpstat_collection_complete", &[("report", "summary")]),
        1.0
    );
    assert!(
        value(
            &s,
            "tcpstat_scrape_duration_seconds",
            &[("report", "summary")]
        ) >= 0.0
    );
    // -4 leaves the IPv6 series out.
    let v4 = parse(&on_fixture(&fixture("proc-doctor"), &["summary", "-4"]));
    assert!(v4
        .iter()
        .all(|x| x.labels.get("family").map(String::as_str) != Some("ipv6")));
    // `--json` still works and conflicts with --format.
    assert!(run(&["summary", "--json"]).status.success());
    assert_eq!(
        run(&["summary", "--json", "--format", "table"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn ports_on_the_fixture_are_bounded_and_add_up() {
    let _serial = serial();
    let text = on_fixture(&fixture("proc-doctor"), &["ports", "--top", "0"]);
    promtool(&text);
    let s = parse(&text);
    let ports: std::collections::BTreeSet<(String, String)> = s
        .iter()
        .filter(|x| x.name == "tcpstat_port_sockets")
        .map(|x| (x.labels["port"].clone(), x.labels["direction"].clone()))
        .collect();
    let want: std::collections::BTreeSet<(String, String)> = [
        ("8080", "in"),
        ("9000", "in"),
        ("9443", "in"),
        ("other", "out"),
    ]
    .iter()
    .map(|(p, d)| (p.to_string(), d.to_string()))
    .collect();
    assert_eq!(ports, want, "listening ports always; the rest summed");
    let total: f64 = s
        .iter()
        .filter(|x| x.name == "tcpstat_port_sockets")
        .map(|x| x.value)
        .sum();
    assert_eq!(total, 20.0, "every socket counted once");
    let port_state = |port, direction, state| {
        value(
            &s,
            "tcpstat_port_sockets",
            &[("port", port), ("direction", direction), ("state", state)],
        )
    };
    assert_eq!(port_state("8080", "in", "CLOSE_WAIT"), 3.0);
    assert_eq!(port_state("other", "out", "SYN_SENT"), 2.0);
    assert_eq!(value(&s, "tcpstat_listen_queue", &[("port", "8080")]), 2.0);
    assert!(
        s.iter().all(|x| x.name != "tcpstat_listen_backlog"),
        "/proc does not report backlogs"
    );
    // With room for it, the outbound port gets its own series.
    let s = parse(&on_fixture(&fixture("proc-doctor"), &["ports"]));
    assert_eq!(
        value(
            &s,
            "tcpstat_port_sockets",
            &[
                ("port", "8080"),
                ("direction", "out"),
                ("state", "FIN_WAIT_2")
            ]
        ),
        3.0
    );
    assert!(s
        .iter()
        .all(|x| x.labels.get("port").map(String::as_str) != Some("other")));
}

#[test]
fn procs_on_the_fixture_by_command() {
    let _serial = serial();
    let text = on_fixture(&fixture("proc-doctor"), &["procs"]);
    promtool(&text);
    let s = parse(&text);
    let by = |command, state| {
        value(
            &s,
            "tcpstat_process_sockets",
            &[("command", command), ("state", state)],
        )
    };
    assert_eq!(by("leakyd", "CLOSE_WAIT"), 3.0);
    assert_eq!(by("leakyd", "LISTEN"), 1.0);
    assert_eq!(by("client", "SYN_SENT"), 2.0);
    assert_eq!(by("client", "FIN_WAIT_2"), 3.0);
    assert_eq!(
        value(
            &s,
            "tcpstat_unowned_sockets",
            &[("reason", "no_owner"), ("state", "TIME_WAIT")]
        ),
        5.0
    );
    // --top 1 keeps the busiest command and sums the others.
    let s = parse(&on_fixture(
        &fixture("proc-doctor"),
        &["procs", "--top", "1"],
    ));
    let commands: std::collections::BTreeSet<&str> = s
        .iter()
        .filter(|x| x.name == "tcpstat_process_sockets")
        .map(|x| x.labels["command"].as_str())
        .collect();
    assert_eq!(commands.into_iter().collect::<Vec<_>>(), ["client"]);
    assert_eq!(
        value(
            &s,
            "tcpstat_process_other_sockets",
            &[("state", "CLOSE_WAIT")]
        ),
        3.0
    );
}

#[test]
fn hostile_command_names_are_escaped_per_the_format() {
    let _serial = serial();
    let tmp = std::env::temp_dir().join(format!("tcpstat-prom-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let ok = Command::new("cp")
        .arg("-a")
        .arg(fixture("proc-doctor"))
        .arg(&tmp)
        .status()
        .expect("cp")
        .success();
    assert!(ok);
    let name = "a\"b\\c\nd}";
    std::fs::write(tmp.join("4242/comm"), format!("{name}\n")).expect("comm");
    let text = on_fixture(&tmp, &["procs"]);
    // Made inert first (the backslash doubled, the line feed its text form `\n`), then
    // escaped as the format requires: two different names can never share a series.
    assert!(
        text.contains(
            "tcpstat_process_sockets{command=\"a\\\"b\\\\\\\\c\\\\nd}\",state=\"CLOSE_WAIT\"} 3\n"
        ),
        "{text}"
    );
    promtool(&text);
    let s = parse(&text);
    assert_eq!(
        value(
            &s,
            "tcpstat_process_sockets",
            &[("command", "a\"b\\\\c\\nd}"), ("state", "CLOSE_WAIT")]
        ),
        3.0
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn live_ports_report_the_accept_queue_and_backlog() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let p = port.to_string();
    // Two connections the listener never accepts.
    let _clients: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let (s, backlog) = loop {
        let json = run(&["ports", "--json", "--port", &p]);
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
        let listener = v["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|r| !r["listener"].is_null())
            .map(|r| r["listener"].clone());
        let text = exposition(&["ports", "--format", "prometheus", "--port", &p]);
        let s = parse(&text);
        let queued = value(&s, "tcpstat_listen_queue", &[("port", &p)]);
        if queued == 2.0 && listener.as_ref().is_some_and(|l| l["queued"] == 2) {
            promtool(&text);
            break (
                s,
                listener.expect("listener")["backlog"]
                    .as_f64()
                    .expect("netlink backlog"),
            );
        }
        assert!(Instant::now() < deadline, "queue never reached 2: {text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        value(&s, "tcpstat_listen_backlog", &[("port", &p)]),
        backlog
    );
    assert_eq!(
        value(
            &s,
            "tcpstat_source_info",
            &[("report", "ports"), ("source", "netlink")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "tcpstat_port_sockets",
            &[("port", &p), ("direction", "in"), ("state", "ESTABLISHED")]
        ),
        2.0
    );
}

/// `ports --format prometheus` and a `serve` scrape with the same owner and address filters
/// export the same accept queues: both count into one port matrix with the same listeners.
/// (Before the one pipeline, `ports` gave a port the queue of every listener on it while
/// `serve` took only those matching `--src`: here 3 queued against 1.)
#[test]
fn ports_and_serve_agree_on_listeners_under_owner_and_address_filters() {
    let _serial = serial();
    use std::os::fd::OwnedFd;
    // Two listeners on one port, on 127.0.0.1 and 127.0.0.2, both held by a `sleep` child
    // (as its stdin and stdout), with connections nobody accepts: 2 on the first, 1 on the
    // second.
    let (first, second) = (0..20)
        .find_map(|_| {
            let first = fresh_listener(Ipv4Addr::LOCALHOST).ok()?;
            let port = first.local_addr().ok()?.port();
            let second = TcpListener::bind(("127.0.0.2", port)).ok()?;
            Some((first, second))
        })
        .expect("a port free on 127.0.0.1 and 127.0.0.2");
    let port = first.local_addr().expect("addr").port();
    let _waiting: Vec<TcpStream> = [("127.0.0.1", 2), ("127.0.0.2", 1)]
        .into_iter()
        .flat_map(|(ip, n)| (0..n).map(move |_| (ip, port)))
        .map(|to| TcpStream::connect(to).expect("connect"))
        .collect();
    let mut holder = Command::new("sleep")
        .arg("60")
        .stdin(Stdio::from(OwnedFd::from(first)))
        .stdout(Stdio::from(OwnedFd::from(second)))
        .stderr(Stdio::null())
        .spawn()
        .expect("sleep");
    let pid = holder.id().to_string();
    let p = port.to_string();
    let filters = [
        "--pid",
        pid.as_str(),
        "--src",
        "127.0.0.2",
        "--port",
        p.as_str(),
    ];
    let queue = |text: &str| {
        let s = parse(text);
        (
            value(&s, "tcpstat_listen_queue", &[("port", &p)]),
            value(
                &s,
                "tcpstat_port_sockets",
                &[("port", &p), ("direction", "in"), ("state", "LISTEN")],
            ),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let from_ports = loop {
        let mut args = vec!["ports", "--format", "prometheus"];
        args.extend(filters);
        let text = exposition(&args);
        let found = parse(&text)
            .iter()
            .any(|s| s.name == "tcpstat_listen_queue");
        if found && queue(&text).0 == 1.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "the queue never showed: {text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut serve_args = vec!["--listen", "127.0.0.1:0"];
    serve_args.extend(filters);
    let server = Server::start(&serve_args);
    let scraped = get(server.addr, "/metrics");
    assert_eq!(scraped.status, 200, "{}", scraped.body);
    assert_eq!(queue(&from_ports), (1.0, 1.0), "{from_ports}");
    assert_eq!(queue(&scraped.body), queue(&from_ports), "{}", scraped.body);
    let _ = holder.kill();
    let _ = holder.wait();
}

// ---------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------

/// A running `tcpstat serve`, killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    stderr: BufReader<ChildStderr>,
    first_lines: Vec<String>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut cmd = tcpstat();
        cmd.arg("serve").args(extra);
        Server::spawn(cmd)
    }

    /// Runs `cmd`, which must start `tcpstat serve`, and reads the address it announces.
    pub(crate) fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("first line");
        let addr = line
            .trim_end()
            .strip_prefix("tcpstat: serving metrics on http://")
            .and_then(|s| s.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address");
        Server {
            child,
            addr,
            stderr,
            first_lines: vec![line],
        }
    }

    fn loopback() -> Server {
        Server::start(&["--listen", "127.0.0.1:0"])
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends raw bytes and reads the whole answer (the server closes after one).
fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(request).expect("send");
    read_reply(&mut s)
}

fn read_reply(s: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let text = String::from_utf8(raw).expect("utf-8 answer");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{status_line:?}"));
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").expect("header");
            (n.to_string(), v.to_string())
        })
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

pub(crate) fn get(addr: SocketAddr, path: &str) -> Reply {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes(),
    )
}

#[test]
fn serve_answers_scrapes_and_refuses_what_it_does_not_serve() {
    let _serial = serial();
    let server = Server::loopback();
    let addr = server.addr;
    assert!(addr.ip().is_loopback());

    let m = get(addr, "/metrics");
    assert_eq!(m.status, 200);
    assert_eq!(
        m.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(
        m.header("Content-Length"),
        Some(m.body.len().to_string().as_str())
    );
    promtool(&m.body);
    let s = parse(&m.body);
    assert_eq!(value(&s, "tcpstat_collection_success", &[]), 1.0);
    assert_eq!(
        value(
            &s,
            "tcpstat_source_info",
            &[("report", "serve"), ("source", "netlink")]
        ),
        1.0
    );
    assert!(s.iter().any(|x| x.name == "tcpstat_sockets"));
    assert!(s.iter().any(|x| x.name == "tcpstat_port_sockets"));
    assert!(
        s.iter().all(|x| x.name != "tcpstat_process_sockets"),
        "processes only with --processes"
    );
    // Each scrape is a fresh collection.
    let again = parse(&get(addr, "/metrics").body);
    assert_eq!(value(&again, "tcpstat_collections_total", &[]), 2.0);

    let head = exchange(addr, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(head.header("Content-Length").is_some_and(|n| n != "0"));

    let index = get(addr, "/");
    assert_eq!(index.status, 200);
    assert!(index.body.contains("href=\"/metrics\""), "{}", index.body);
    let health = get(addr, "/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    assert_eq!(get(addr, "/nope").status, 404);
    assert_eq!(get(addr, "/metrics?name[]=x").status, 200);

    let post = exchange(
        addr,
        b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("Allow"), Some("GET, HEAD"));
    for (request, status) in [
        (&b"garbage\r\n\r\n"[..], 400),
        (b"GET /metrics\r\n\r\n", 400),
        (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
        (b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
        (b"GET /\xff HTTP/1.1\r\n\r\n", 400),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ] {
        assert_eq!(
            exchange(addr, request).status,
            status,
            "{}",
            String::from_utf8_lossy(request)
        );
    }
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    assert_eq!(exchange(addr, huge.as_bytes()).status, 431);
    // A client that closes mid-request.
    drop(TcpStream::connect(addr).expect("connect"));
    // Still serving.
    assert_eq!(get(addr, "/healthz").status, 200);
}

#[test]
fn concurrent_scrapes_all_succeed_and_share_collections() {
    let _serial = serial();
    let server = Server::start(&["--listen", "127.0.0.1:0", "--processes"]);
    let addr = server.addr;
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (0..3).map(|_| get(addr, "/metrics")).collect::<Vec<_>>()
            })
        })
        .collect();
    let replies: Vec<Reply> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    assert_eq!(replies.len(), 24);
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
        let s = parse(&r.body);
        assert_eq!(value(&s, "tcpstat_collection_success", &[]), 1.0);
        assert!(s.iter().any(|x| x.name == "tcpstat_process_sockets"));
    }
    promtool(&replies[0].body);
    let last = parse(&get(addr, "/metrics").body);
    let scrapes = value(&last, "tcpstat_scrapes_total", &[]);
    let collections = value(&last, "tcpstat_collections_total", &[]);
    assert_eq!(scrapes, 25.0);
    assert!(
        (1.0..=25.0).contains(&collections),
        "collections {collections} for {scrapes} scrapes"
    );
    eprintln!("25 scrapes, {collections} collections");
}

#[test]
fn a_slow_or_silent_client_does_not_hold_up_other_scrapes() {
    let _serial = serial();
    let server = Server::loopback();
    let addr = server.addr;
    // One client sends half a request line and stalls; another sends nothing at all.
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.write_all(b"GET /metr").expect("send");
    let silent = TcpStream::connect(addr).expect("connect");
    let began = Instant::now();
    for _ in 0..3 {
        let r = get(addr, "/metrics");
        assert_eq!(r.status, 200);
    }
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "scrapes waited for the stalled clients: {:?}",
        began.elapsed()
    );
    // The stalled clients are answered 408 once their time is up, and let go.
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let r = read_reply(&mut slow);
    assert_eq!(r.status, 408);
    let waited = began.elapsed();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(12),
        "{waited:?}"
    );
    let mut silent = silent;
    silent
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    assert_eq!(read_reply(&mut silent).status, 408);
}

/// The answer a client that sent nothing gets, within `within`.
fn reply_within(s: &TcpStream, within: Duration) -> Reply {
    let mut s = s.try_clone().expect("clone");
    s.set_read_timeout(Some(within)).expect("timeout");
    read_reply(&mut s)
}

#[test]
fn idle_connections_cannot_keep_a_scrape_out() {
    let _serial = serial();
    // The default --max-connections is 16. Twenty clients connect and send nothing.
    let server = Server::loopback();
    let addr = server.addr;
    let idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    // Sixteen fill the slots; each of the last four takes the slot of the oldest one still
    // reading, which is answered 503 at once (not 408 after 5 s). Once the fourth has its
    // answer, all twenty were accepted.
    for (i, c) in idle[..4].iter().enumerate() {
        let r = reply_within(c, Duration::from_secs(3));
        assert_eq!(r.status, 503, "idle client {i}: {}", r.body);
        assert!(r.body.contains("had not sent its request"), "{}", r.body);
    }
    // Every slot is held by an idle connection: a scrape still gets in, at once.
    let began = Instant::now();
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(
        value(&parse(&r.body), "tcpstat_collection_success", &[]),
        1.0
    );
    // It took the slot of the oldest idle connection left.
    assert_eq!(reply_within(&idle[4], Duration::from_secs(3)).status, 503);
    // Sixteen fresh idle connections, as a client repeating this every few seconds would
    // open: they push out the older ones, and a scrape still gets in.
    let more: Vec<TcpStream> = (0..16)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    assert_eq!(reply_within(&idle[19], Duration::from_secs(3)).status, 503);
    let began = Instant::now();
    assert_eq!(get(addr, "/metrics").status, 200);
    assert!(began.elapsed() < Duration::from_secs(2));
    drop(more);
}

/// Two slow readers (SO_RCVBUF 1024, 256 bytes a second) of a body much larger than the
/// socket buffers (`tcp_wmem` 4096 in this namespace, 40 listening ports to describe): they
/// hold the only two slots while their responses are written, so a third client gets 503 at
/// once; the response deadline then cuts them off, however steadily they read.
fn slow_reader_scenario() {
    std::fs::write("/proc/sys/net/ipv4/tcp_wmem", "4096 4096 4096").expect("tcp_wmem");
    let _listeners: Vec<TcpListener> = (0..40)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let server = Server::start(&["--listen", "127.0.0.1:0", "--max-connections", "2"]);
    let addr = server.addr;
    let full = get(addr, "/metrics").body.len();
    assert!(
        full > 30_000,
        "the body must dwarf the buffers: {full} bytes"
    );
    // That request's slot is free once serve has closed its end (the slot holds the socket
    // until it is released): until then a reader could find both slots taken, be answered
    // 503, and leave a slot free for the third client.
    wait_until(
        "serve to close the first request's connection",
        WAIT,
        || {
            let open: Vec<_> = proc_sockets()
                .into_iter()
                .filter(|s| s.lport == addr.port() && s.state != State::Listen && s.inode != 0)
                .collect();
            if open.is_empty() {
                Ok(())
            } else {
                Err(format!("serve still holds {open:?}"))
            }
        },
    );
    let (started, answering) = mpsc::channel();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let started = started.clone();
            std::thread::spawn(move || {
                let sock = Sock::new(Family::V4);
                sock.set_rcvbuf(1024);
                sock.connect(addr);
                let mut s = TcpStream::from(sock.into_fd());
                s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                    .expect("request");
                s.set_read_timeout(Some(Duration::from_secs(15)))
                    .expect("timeout");
                let mut buf = [0u8; 256];
                let mut got = 0;
                let mut first: Option<Instant> = None;
                let ended = loop {
                    if first.is_some_and(|t| t.elapsed() > Duration::from_secs(20)) {
                        break Err("still connected after 20 s".to_string());
                    }
                    // A reset is seen when it arrives (checked every 100 ms): read() would
                    // first hand over what is still buffered, a few seconds' worth at this pace.
                    let reset = (0..10).find_map(|_| {
                        let e = s.take_error().ok().flatten();
                        if e.is_none() && first.is_some() {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        e
                    });
                    match reset {
                        Some(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                            break Ok("reset")
                        }
                        Some(e) => break Err(e.to_string()),
                        None => {}
                    }
                    match s.read(&mut buf) {
                        Ok(0) => break Ok("end of file"),
                        Ok(n) => {
                            got += n;
                            if first.is_none() {
                                first = Some(Instant::now());
                                started.send(()).expect("main thread");
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                            break Ok("reset")
                        }
                        Err(e) => break Err(e.to_string()),
                    }
                };
                (ended, first.map(|t| t.elapsed()), got)
            })
        })
        .collect();
    for _ in 0..2 {
        answering
            .recv_timeout(Duration::from_secs(10))
            .expect("both slow readers get their first bytes");
    }
    // Both slots are answering requests: nothing to evict, so 503 at once.
    let began = Instant::now();
    let r = get(addr, "/healthz");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("every one is being answered"), "{}", r.body);
    assert!(began.elapsed() < Duration::from_secs(2));
    for reader in readers {
        let (ended, took, got) = reader.join().expect("reader");
        let took = took.expect("first byte");
        eprintln!("slow reader: {ended:?} after {took:?}, {got} of {full} bytes");
        assert!(
            ended.is_ok(),
            "{ended:?} after {took:?}, {got} of {full} bytes"
        );
        assert!(got < full, "cut off before the end: {got} of {full}");
        assert!(
            took >= Duration::from_secs(9) && took < Duration::from_secs(12),
            "cut at the 10 s response deadline, not later: {took:?}"
        );
    }
    assert_eq!(
        get(addr, "/healthz").status,
        200,
        "the slots are free again"
    );
}

#[test]
fn a_slow_reader_is_cut_off_at_the_response_deadline() {
    let _serial = serial();
    match netns_available() {
        Ok(()) => in_private_netns(slow_reader_scenario),
        Err(why) => skip(format!(
            "serve slow-reader test (sets tcp_wmem in a namespace): {why}"
        )),
    }
}

#[test]
fn http_edge_cases_are_answered_at_once() {
    let _serial = serial();
    let server = Server::loopback();
    let addr = server.addr;
    // RFC 9112: an empty line before the request line is ignored; an absolute-form target
    // counts by its path.
    for request in [
        &b"\r\nGET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"[..],
        b"\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n",
        b"GET http://test:9555/healthz HTTP/1.1\r\nHost: test:9555\r\n\r\n",
    ] {
        let r = exchange(addr, request);
        assert_eq!(
            (r.status, r.body.as_str()),
            (200, "ok\n"),
            "{}",
            String::from_utf8_lossy(request)
        );
    }
    let r = exchange(addr, b"GET http://test/metrics HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 200);
    promtool(&r.body);
    // Bytes that cannot start a request get 400 at once, not 408 after the read timeout:
    // the client keeps its connection open and waits.
    for hello in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..], // TLS ClientHello
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"\x00\x00\x00\x01",
    ] {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(hello).expect("send");
        s.set_read_timeout(Some(Duration::from_secs(4)))
            .expect("timeout");
        let began = Instant::now();
        let r = read_reply(&mut s);
        assert_eq!(r.status, 400, "{hello:?}");
        assert!(
            began.elapsed() < Duration::from_secs(1),
            "{hello:?}: {:?}",
            began.elapsed()
        );
    }
}

#[test]
fn out_of_descriptors_the_server_backs_off_and_says_so_once() {
    let _serial = serial();
    // Nine descriptors: stdio, the listener, the Ctrl-C pipe and a few connections.
    let mut cmd = Command::new("sh");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args([
            "-c",
            "ulimit -n 9 && exec \"$0\" serve --listen 127.0.0.1:0",
            env!("CARGO_BIN_EXE_tcpstat"),
        ]);
    let mut server = Server::spawn(cmd);
    let addr = server.addr;
    let (lines, stderr) = mpsc::channel();
    let mut reader = std::mem::replace(&mut server.stderr, BufReader::new(empty_stderr()));
    std::thread::spawn(move || {
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if lines.send(std::mem::take(&mut line)).is_err() {
                break;
            }
        }
    });
    // Twelve clients that send nothing: the server runs out of descriptors after a few.
    let idle: Vec<TcpStream> = (0..12)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    let first = stderr
        .recv_timeout(Duration::from_secs(5))
        .expect("a line about the failing accept");
    assert!(
        first.starts_with("tcpstat: accept failed: Too many open files"),
        "{first}"
    );
    // Three seconds of failing accepts: no more lines (one attempt per second at most,
    // counted every 10 s; it used to be about 20 lines a second).
    let quiet_until = Instant::now() + Duration::from_secs(3);
    let mut more = Vec::new();
    while let Some(left) = quiet_until.checked_duration_since(Instant::now()) {
        match stderr.recv_timeout(left) {
            Ok(line) => more.push(line),
            Err(_) => break,
        }
    }
    assert!(more.is_empty(), "{more:?}");
    // The clients leave; the server recovers within its back-off.
    drop(idle);
    let began = Instant::now();
    assert_eq!(get(addr, "/healthz").status, 200);
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    let back = stderr
        .recv_timeout(Duration::from_secs(5))
        .expect("a line about recovering");
    assert!(back.starts_with("tcpstat: accept works again"), "{back}");
}

/// A stand-in for a child's stderr already handed to a reader thread.
fn empty_stderr() -> ChildStderr {
    let mut child = Command::new("true")
        .stderr(Stdio::piped())
        .spawn()
        .expect("true");
    let stderr = child.stderr.take().expect("stderr");
    let _ = child.wait();
    stderr
}

#[test]
fn ctrl_c_stops_the_server_with_130_and_other_addresses_are_flagged() {
    let _serial = serial();
    let mut server = Server::start(&["--listen", "0.0.0.0:0"]);
    let mut warning = String::new();
    server.stderr.read_line(&mut warning).expect("second line");
    assert!(
        warning.starts_with("tcpstat: warning: listening on 0.0.0.0, not loopback"),
        "{warning} (after {:?})",
        server.first_lines
    );
    let port = server.addr.port();
    let r = get(SocketAddr::from(([127, 0, 0, 1], port)), "/healthz");
    assert_eq!(r.status, 200);
    let pid = Pid::from_child(&server.child);
    kill_process(pid, Signal::INT).expect("kill(SIGINT)");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
}

#[test]
fn sigterm_stops_the_server_with_0() {
    let _serial = serial();
    // A service manager's normal stop (`systemctl stop`): not a failure.
    let mut server = Server::loopback();
    assert_eq!(get(server.addr, "/healthz").status, 200);
    let pid = Pid::from_child(&server.child);
    kill_process(pid, Signal::TERM).expect("kill(SIGTERM)");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn an_address_in_use_is_a_runtime_error() {
    let _serial = serial();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let o = run(&["serve", "--listen", &addr]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    let o = run(&["serve", "--listen", "localhost"]);
    assert_eq!(o.status.code(), Some(2), "not an address:port");
}

// ---------------------------------------------------------------------------
// Found by attacking it (issue 14): each of these failed before its fix
// ---------------------------------------------------------------------------

#[test]
fn names_that_escape_alike_never_share_a_series() {
    let _serial = serial();
    // A raw ESC and the four characters `\x1b` written out: made inert, they must still be
    // two label values (the backslash of the text is doubled), or node_exporter rejects the
    // file and Prometheus collapses the two.
    let tmp = std::env::temp_dir().join(format!("tcpstat-prom-alike-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let ok = Command::new("cp")
        .arg("-a")
        .arg(fixture("proc-doctor"))
        .arg(&tmp)
        .status()
        .expect("cp")
        .success();
    assert!(ok);
    std::fs::write(tmp.join("4242/comm"), "\x1b[2J\n").expect("comm");
    std::fs::write(tmp.join("4300/comm"), "\\x1b[2J\n").expect("comm");
    let text = on_fixture(&tmp, &["procs"]);
    promtool(&text);
    let samples = parse(&text);
    let commands: std::collections::BTreeSet<&str> = samples
        .iter()
        .filter(|s| s.name == "tcpstat_process_sockets")
        .map(|s| s.labels["command"].as_str())
        .collect();
    assert!(
        commands.contains("\\x1b[2J") && commands.contains("\\\\x1b[2J"),
        "the raw ESC as `\\x1b`, the typed text with its backslash doubled: {commands:?}"
    );
    assert_eq!(
        value(
            &samples,
            "tcpstat_process_sockets",
            &[("command", "\\x1b[2J"), ("state", "CLOSE_WAIT")]
        ),
        3.0,
        "leakyd's three CLOSE_WAIT sockets, under its own name"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The distinct values of `label` among the samples of `name` with `direction="in"`.
fn inbound_ports(samples: &[Sample], name: &str) -> std::collections::BTreeSet<String> {
    samples
        .iter()
        .filter(|s| s.name == name && s.labels.get("direction").is_none_or(|d| d == "in"))
        .map(|s| s.labels["port"].clone())
        .collect()
}

/// 300 listening ports (what any local user can open) against the default cap of 50: the
/// number of series stays bounded, the rest is summed as port="other", and the folded count
/// says how many ports that is. Nothing is lost: the LISTEN samples still add up to 300.
fn listeners_beyond_the_cap() {
    const LISTENERS: usize = 300;
    const CAP: usize = 50;
    let _listeners: Vec<TcpListener> = (0..LISTENERS)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let text = exposition(&["ports", "--format", "prometheus"]);
    promtool(&text);
    let samples = parse(&text);
    let ports = inbound_ports(&samples, "tcpstat_port_sockets");
    assert_eq!(ports.len(), CAP + 1, "{CAP} ports and `other`: {ports:?}");
    assert!(ports.contains("other"));
    for family in ["tcpstat_listen_queue", "tcpstat_listen_backlog"] {
        let ports = inbound_ports(&samples, family);
        assert!(
            ports.len() <= CAP + 1,
            "{family}: {} ports: {ports:?}",
            ports.len()
        );
    }
    assert_eq!(
        value(&samples, "tcpstat_ports_folded", &[("direction", "in")]),
        (LISTENERS - CAP) as f64
    );
    let listening: f64 = samples
        .iter()
        .filter(|s| s.name == "tcpstat_port_sockets" && s.labels["state"] == "LISTEN")
        .map(|s| s.value)
        .sum();
    assert_eq!(listening, LISTENERS as f64, "every listener counted once");
    // A series count that does not grow with the listeners: a few families of 11 states.
    assert!(samples.len() < 1500, "{} samples", samples.len());
    // serve bounds them the same way.
    let server = Server::loopback();
    let r = get(server.addr, "/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    let scraped = parse(&r.body);
    let ports = inbound_ports(&scraped, "tcpstat_port_sockets");
    assert_eq!(ports.len(), CAP + 1, "serve: {ports:?}");
}

#[test]
fn listening_ports_are_capped_and_the_rest_counted_as_folded() {
    let _serial = serial();
    match netns_available() {
        Ok(()) => in_private_netns(listeners_beyond_the_cap),
        Err(why) => skip(format!("300 listeners in a namespace of their own: {why}")),
    }
}

/// Sixteen clients (the default --max-connections) ask for /metrics with a 1 KiB receive
/// buffer and never read: their responses, much larger than the socket buffers, stall. A
/// scrape must still be served, by taking the slot of a writer that has made no progress
/// for a second, not after the 10 s response deadline.
fn stalled_readers_scenario() {
    std::fs::write("/proc/sys/net/ipv4/tcp_wmem", "4096 4096 4096").expect("tcp_wmem");
    let _listeners: Vec<TcpListener> = (0..40)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let server = Server::loopback();
    let addr = server.addr;
    let full = get(addr, "/metrics").body.len();
    assert!(full > 30_000, "the body must dwarf the buffers: {full}");
    let stalled: Vec<TcpStream> = (0..16)
        .map(|_| {
            let sock = Sock::new(Family::V4);
            sock.set_rcvbuf(1024);
            sock.connect(addr);
            let mut s = TcpStream::from(sock.into_fd());
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("request");
            s.set_nonblocking(true).expect("nonblocking");
            s
        })
        .collect();
    // Every one has been answered as far as its buffers allow (the first bytes are there,
    // peeked, never read): all sixteen slots are writing.
    wait_until("the sixteen responses to start", WAIT, || {
        let waiting = stalled
            .iter()
            .filter(|s| s.peek(&mut [0u8; 1]).map_or(true, |n| n == 0))
            .count();
        if waiting == 0 {
            Ok(())
        } else {
            Err(format!("{waiting} without data yet"))
        }
    });
    let stalled_at = Instant::now();
    let served = loop {
        let r = get(addr, "/metrics");
        if r.status == 200 {
            break r;
        }
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(
            stalled_at.elapsed() < Duration::from_secs(5),
            "still refused {:?} after the writers stalled (the response deadline is 10 s): {}",
            stalled_at.elapsed(),
            r.body
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        value(&parse(&served.body), "tcpstat_collection_success", &[]),
        1.0
    );
    eprintln!(
        "served {:?} after the writers stalled",
        stalled_at.elapsed()
    );
    drop(stalled);
}

#[test]
fn clients_that_never_read_cannot_lock_scrapes_out() {
    let _serial = serial();
    match netns_available() {
        Ok(()) => in_private_netns(stalled_readers_scenario),
        Err(why) => skip(format!(
            "serve stalled-reader test (sets tcp_wmem in a namespace): {why}"
        )),
    }
}

/// Context switches so far of each thread of `pid`, by thread id.
fn context_switches(pid: u32) -> BTreeMap<String, u64> {
    let mut per_thread = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
        let task = task.expect("task");
        // A thread that ended meanwhile has no status: it is simply not counted.
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let switches: u64 = status
            .lines()
            .filter_map(|line| {
                line.strip_prefix("voluntary_ctxt_switches:")
                    .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            })
            .map(|n| n.trim().parse::<u64>().expect("a number"))
            .sum();
        per_thread.insert(task.file_name().to_string_lossy().into_owned(), switches);
    }
    per_thread
}

#[test]
fn serve_answers_at_once_and_sleeps_when_idle() {
    let _serial = serial();
    let server = Server::loopback();
    // Latency: accept on readiness, not on a polling tick (50 ms before: 25 ms on average).
    let mut took: Vec<Duration> = (0..21)
        .map(|_| {
            let began = Instant::now();
            assert_eq!(get(server.addr, "/healthz").status, 200);
            began.elapsed()
        })
        .collect();
    took.sort();
    let median = took[took.len() / 2];
    eprintln!(
        "/healthz: median {median:?}, slowest {:?}",
        took[took.len() - 1]
    );
    assert!(median < Duration::from_millis(10), "{took:?}");
    // Idle: no timer ticks. One second with no client: the process is not woken (a polling
    // loop of 50 ms switched 20 times).
    let pid = server.child.id();
    let before = context_switches(pid);
    std::thread::sleep(Duration::from_secs(1));
    // Per thread, so that a connection's thread ending in between takes nothing away; a
    // thread started in between counts in full.
    let woken: u64 = context_switches(pid)
        .iter()
        .map(|(tid, after)| after - before.get(tid).copied().unwrap_or(0))
        .sum();
    assert!(woken <= 2, "woken {woken} times in an idle second");
}

// ---------------------------------------------------------------------------
// serve --health
// ---------------------------------------------------------------------------

/// The segments `ss -ti` says the connections to or from `port` retransmitted over their
/// lives (`retrans:IN_FLIGHT/TOTAL`, printed when either is non-zero), summed.
pub(crate) fn ss_total_retransmits(port: u16) -> u64 {
    let out = Command::new("ss")
        .args(["-tinH", "state", "connected"])
        .arg(format!("( sport = :{port} or dport = :{port} )"))
        .output()
        .expect("ss");
    assert!(out.status.success(), "ss: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("retrans:"))
        .map(|r| {
            let (_, total) = r.split_once('/').expect("retrans:N/M");
            total.parse::<u64>().expect("a number")
        })
        .sum()
}

/// A connection to `listener` with steady traffic: a thread writes 4 KiB to the client end
/// every 5 ms (about 200 segments a second, little enough for the reader to keep up: a full
/// receive queue drops segments, and they would be retransmitted too), another reads at the
/// server end, until `stop`.
pub(crate) fn busy_connection(
    listener: &TcpListener,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    use std::sync::atomic::Ordering;
    let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    client
        .set_write_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    server
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let (s1, s2) = (Arc::clone(stop), Arc::clone(stop));
    vec![
        std::thread::spawn(move || {
            let chunk = [0x5a_u8; 4 * 1024];
            while !s1.load(Ordering::Relaxed) {
                let _ = client.write(&chunk);
                std::thread::sleep(Duration::from_millis(5));
            }
        }),
        std::thread::spawn(move || {
            let mut buf = [0_u8; 64 * 1024];
            while !s2.load(Ordering::Relaxed) {
                if let Ok(0) = server.read(&mut buf) {
                    return;
                }
            }
        }),
    ]
}

/// The sum of a family's samples over both directions of `port`.
fn port_sum(samples: &[Sample], name: &str, port: u16, extra: &[(&str, &str)]) -> f64 {
    let port = port.to_string();
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && s.labels.get("port") == Some(&port)
                && extra
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// `serve --health` over real connections in a private namespace: one service whose
/// segments nftables drops at random (a fifth of them), one whose server stopped reading (the
/// client faces a zero window), one clean. The lossy port's retransmit counter is what `ss
/// -ti` says its connections retransmitted (taken just before and just after the scrape), the
/// clean port's stays 0, the zero window and the queued bytes are seen, the RTT histogram
/// gets one observation per connection per scrape, and promtool accepts the exposition.
#[test]
fn serve_health_counts_retransmits_zero_windows_and_rtts_per_port() {
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(format!("serve --health scenario: {why}"));
        return;
    }
    if !crate::util::ss::ss_for("serve --health retransmits") {
        return;
    }
    in_private_netns(|| {
        use std::sync::atomic::{AtomicBool, Ordering};
        let lossy = fresh_listener(Ipv4Addr::LOCALHOST).expect("listener");
        let clean = fresh_listener(Ipv4Addr::LOCALHOST).expect("listener");
        let stop = Arc::new(AtomicBool::new(false));
        let lossy_port = lossy.local_addr().expect("addr").port();
        let clean_port = clean.local_addr().expect("addr").port();
        let mut threads = busy_connection(&lossy, &stop);
        threads.extend(busy_connection(&clean, &stop));
        // Drop a fifth of what arrives for the lossy port once it is connected: at input, as
        // a lossy network would (dropped at output, the sender is told at once and sends again
        // without counting a retransmit).
        let script = format!(
            "table inet tcpstat_loss {{\n chain input {{\n  type filter hook input priority 0;\n  \
             tcp dport {lossy_port} numgen random mod 100 < 20 drop\n }}\n}}\n"
        );
        let mut nft = match Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                skip("serve --health scenario: nft (nftables) is not installed");
                stop.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => panic!("nft: {e}"),
        };
        nft.stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("nft script");
        assert!(nft.wait().expect("nft").success(), "nft -f: {script}");
        // A server that never reads, with a small buffer: its client's window closes.
        let (stuck_port, _not_reading) = super::util::sockets::not_reading();

        let server = Server::start(&["--listen", "127.0.0.1:0", "--health"]);
        let scrape = || {
            let reply = get(server.addr, "/metrics");
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.body
        };
        wait_until(
            "the lossy connection to retransmit",
            WAIT,
            || match ss_total_retransmits(lossy_port) {
                n if n < 10 => Err(format!("{n} retransmits so far")),
                _ => Ok(()),
            },
        );
        // Both ports' counters are what ss says (a clean loopback connection may retransmit
        // too: a tail loss probe counts), taken just before and just after the scrape.
        let mut counted = Vec::new();
        for _ in 0..2 {
            let before = [lossy_port, clean_port].map(ss_total_retransmits);
            let body = scrape();
            let after = [lossy_port, clean_port].map(ss_total_retransmits);
            promtool(&body);
            let samples = parse(&body);
            let ours = [lossy_port, clean_port]
                .map(|port| port_sum(&samples, "tcpstat_port_retransmits_total", port, &[]) as u64);
            for i in 0..2 {
                assert!(
                    before[i] <= ours[i] && ours[i] <= after[i],
                    "retransmits of port {}: ss said {} before the scrape and {} after, \
                     tcpstat {}\n{body}",
                    [lossy_port, clean_port][i],
                    before[i],
                    after[i],
                    ours[i]
                );
            }
            counted.push((samples, ours));
        }
        let (first, second) = (&counted[0].0, &counted[1].0);
        let ([lossy_1, clean_1], [lossy_2, clean_2]) = (counted[0].1, counted[1].1);
        assert!(
            lossy_2 >= lossy_1 && clean_2 >= clean_1,
            "a counter went down"
        );
        assert!(
            lossy_2 > clean_2,
            "the lossy port retransmitted {lossy_2}, the clean one {clean_2}"
        );
        // One RTT observation per connection with tcp_info per scrape: the client and the
        // server end of the lossy connection.
        let count = |s: &[Sample]| port_sum(s, "tcpstat_port_rtt_seconds_count", lossy_port, &[]);
        assert_eq!(count(first), 2.0);
        assert_eq!(count(second), 4.0);
        // The zero window: the writer (direction out of the stuck port) faces it; bytes wait
        // on both sides.
        let zero = value(
            second,
            "tcpstat_port_zero_window_sockets",
            &[("port", &stuck_port.to_string()), ("direction", "out")],
        );
        assert_eq!(zero, 1.0, "{}", ss_lines(&format!("sport = :{stuck_port}")));
        let queued = |direction: &str, queue: &str| {
            value(
                second,
                "tcpstat_port_queued_bytes",
                &[
                    ("port", &stuck_port.to_string()),
                    ("direction", direction),
                    ("queue", queue),
                ],
            )
        };
        assert!(queued("out", "send") > 0.0 && queued("in", "recv") > 0.0);
        stop.store(true, Ordering::Relaxed);
        drop(server);
        for t in threads {
            t.join().expect("traffic thread");
        }
    });
}
