//! `tcpstat watch` with real sockets changing state between ticks: deltas, events, growing
//! ages, NDJSON readable while it runs, exits (count, closed pipe, Ctrl-C), and the terminal
//! as a person sees it (tmux).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A listener whose accepted connections are half-closed by their clients: the server ends
/// sit in CLOSE_WAIT for as long as this value keeps them.
struct Leak {
    listener: TcpListener,
    pairs: Vec<(TcpStream, TcpStream)>,
}

impl Leak {
    fn new() -> Leak {
        Leak {
            listener: TcpListener::bind("127.0.0.1:0").expect("bind"),
            pairs: Vec::new(),
        }
    }

    fn port(&self) -> String {
        self.listener.local_addr().expect("addr").port().to_string()
    }

    fn leak(&mut self, n: usize) {
        for _ in 0..n {
            let c = TcpStream::connect(self.listener.local_addr().expect("addr")).expect("connect");
            let (s, _) = self.listener.accept().expect("accept");
            c.shutdown(Shutdown::Write).expect("shutdown");
            self.pairs.push((c, s));
        }
    }
}

struct Watch {
    child: Child,
    lines: BufReader<ChildStdout>,
}

impl Watch {
    fn start(args: &[&str]) -> Watch {
        let mut child = tcpstat()
            .arg("watch")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watch");
        let lines = BufReader::new(child.stdout.take().expect("stdout"));
        Watch { child, lines }
    }

    fn next(&mut self) -> Value {
        let mut line = String::new();
        let n = self.lines.read_line(&mut line).expect("read");
        assert!(n > 0, "watch ended early");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}"))
    }

    /// Reads objects until `pred` holds for a tick, collecting the events seen on the way and
    /// those of that tick (consumes the tick after it), within 10 s.
    fn until(&mut self, what: &str, mut pred: impl FnMut(&Value) -> bool) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut events = Vec::new();
        loop {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            let v = self.next();
            match v["type"].as_str() {
                Some("tick") if pred(&v) => {
                    // A tick's events follow it: read them up to the next tick.
                    loop {
                        let e = self.next();
                        if e["type"] != "event" {
                            return (v, events);
                        }
                        events.push(e);
                    }
                }
                Some("event") => events.push(v),
                _ => {}
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn close_wait(v: &Value) -> u64 {
    v["counts"]["CLOSE_WAIT"].as_u64().expect("count")
}

#[test]
fn deltas_events_and_ages_follow_real_sockets() {
    let _serial = serial();
    let mut leak = Leak::new();
    leak.leak(2);
    let port = leak.port();
    let mut w = Watch::start(&[
        "--state",
        "close-wait",
        "--port",
        &port,
        "--interval",
        "100ms",
        "--events",
    ]);
    // The first line arrives while watch is still running (no --count): streamed, flushed.
    let (first, _) = w.until("2 CLOSE_WAIT", |v| close_wait(v) == 2);
    assert_eq!(first["schema_version"], 1);
    assert_eq!(first["watched_states"], serde_json::json!(["CLOSE_WAIT"]));
    assert_eq!(first["counted_states"], serde_json::json!(["CLOSE_WAIT"]));
    assert_eq!(
        first["counts"]["ESTABLISHED"], 0,
        "only the watched state is counted"
    );

    leak.leak(3);
    let (grown, events) = w.until("5 CLOSE_WAIT", |v| close_wait(v) == 5);
    let enters: Vec<&Value> = events.iter().filter(|e| e["event"] == "enter").collect();
    assert_eq!(enters.len(), 3, "{events:?}");
    assert!(enters.iter().all(
        |e| e["state"] == "CLOSE_WAIT" && e["local_port"] == port.parse::<u64>().expect("port")
    ));
    assert_eq!(grown["max"]["CLOSE_WAIT"], 5);
    assert!(grown["deltas"]["CLOSE_WAIT"].as_i64().expect("delta") > 0);
    // Deltas add up: the sum over ticks equals the change.
    let age_before = grown["aged"][0]["oldest_s"].as_f64().expect("age");

    // Close two leaked server ends: they leave CLOSE_WAIT.
    for (_, s) in leak.pairs.drain(..2) {
        drop(s);
    }
    let (shrunk, events) = w.until("3 CLOSE_WAIT", |v| close_wait(v) == 3);
    let leaves: Vec<&Value> = events.iter().filter(|e| e["event"] == "leave").collect();
    assert_eq!(leaves.len(), 2, "{events:?}");
    assert!(leaves
        .iter()
        .all(|e| e["age_s"].as_f64().expect("age") > 0.0));
    assert_eq!(shrunk["min"]["CLOSE_WAIT"], 2);
    assert_eq!(shrunk["tracked_sockets"], 3);

    // A socket kept in CLOSE_WAIT shows a growing age.
    let (later, _) = w.until("an older socket", |v| {
        v["aged"][0]["oldest_s"]
            .as_f64()
            .is_some_and(|a| a > age_before + 0.3)
    });
    let aged = &later["aged"][0];
    assert_eq!(aged["state"], "CLOSE_WAIT");
    assert_eq!(aged["port"].to_string(), port);
    assert_eq!(aged["direction"], "in");
    assert_eq!(aged["count"], 3);
    assert_eq!(later["top"][0]["count"], 3);
}

#[test]
fn older_than_and_by_process() {
    let _serial = serial();
    let mut leak = Leak::new();
    leak.leak(2);
    let port = leak.port();
    let out = tcpstat()
        .args([
            "watch",
            "--state",
            "close-wait",
            "--port",
            &port,
            "--count",
            "2",
            "--interval",
            "50ms",
        ])
        .args(["--older-than", "1h", "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let last: Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("line"),
    )
    .expect("json");
    assert_eq!(
        last["aged"],
        serde_json::json!([]),
        "nothing is an hour old"
    );
    assert_eq!(last["top"], serde_json::json!([]));
    assert_eq!(
        last["counts"]["CLOSE_WAIT"], 2,
        "counts are not filtered by age"
    );

    let out = tcpstat()
        .args([
            "watch",
            "--state",
            "close-wait",
            "--port",
            &port,
            "--count",
            "1",
            "--by",
            "process",
        ])
        .output()
        .expect("runs");
    let tick: Value = serde_json::from_slice(&out.stdout).expect("one tick");
    assert_eq!(tick["top"][0]["pid"], std::process::id());
    assert_eq!(tick["aged"][0]["pid"], std::process::id());
    assert_eq!(tick["top"][0]["count"], 2);
}

#[test]
fn count_ends_with_0_and_closed_pipe_with_0() {
    let _serial = serial();
    let out = tcpstat()
        .args(["watch", "--count", "3", "--interval", "20ms", "--port", "1"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ticks: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(ticks.len(), 3);
    assert_eq!(ticks[2]["tick"], 3);
    assert!(ticks[0]["elapsed_s"].is_null() && ticks[1]["elapsed_s"].as_f64().is_some());

    let mut child = tcpstat()
        .args(["watch", "--interval", "20ms", "--port", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    lines.read_line(&mut first).expect("first tick");
    assert!(first.starts_with('{'));
    drop(lines);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "watch kept running into a closed pipe"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert!(status.success(), "{status:?} {err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn bad_values_are_usage_errors() {
    let _serial = serial();
    for (args, needle) in [
        (&["watch", "--interval", "0"][..], "too short"),
        (&["watch", "--interval", "fast"][..], "\"fast\""),
        (&["watch", "--older-than", "5 m"][..], "\"5 m\""),
        (&["watch", "--count", "0"][..], "0"),
        (&["watch", "--by", "color"][..], "color"),
    ] {
        let o = tcpstat().args(args).output().expect("runs");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

fn tmux(args: &[&str]) -> String {
    let o = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn terminal_view_redraws_in_place_and_is_restored_after_ctrl_c() {
    let _serial = serial();
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI installs tmux");
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let mut leak = Leak::new();
    leak.leak(1);
    let port = leak.port();
    let session = format!("tcpstat-test-{}", std::process::id());
    let socket = format!("tcpstat-test-{}", std::process::id());
    let t = |args: &[&str]| {
        let mut all = vec!["-L", &socket];
        all.extend_from_slice(args);
        tmux(&all)
    };
    t(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "40",
        "env -i PATH=/usr/bin:/bin TERM=xterm bash --norc --noprofile",
    ]);
    let pane = |what: &str, pred: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = t(&["capture-pane", "-p", "-t", &session]);
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; pane:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    t(&["send-keys", "-t", &session, "echo BEFORE", "Enter"]);
    pane("the prompt", &|p| p.contains("BEFORE\n"));
    let cmd = format!(
        "{} watch --state close-wait --port {port} --interval 100ms; echo EXIT=$?",
        env!("CARGO_BIN_EXE_tcpstat")
    );
    t(&["send-keys", "-t", &session, &cmd, "Enter"]);
    let first = pane("the first frame", &|p| {
        p.contains("tcpstat watch") && p.contains("CLOSE_WAIT")
    });
    assert_eq!(
        t(&[
            "display",
            "-p",
            "-t",
            &session,
            "#{alternate_on} #{cursor_flag}"
        ])
        .trim(),
        "1 0",
        "alternate screen on, cursor hidden"
    );
    assert!(
        !first.contains("BEFORE"),
        "the view has the screen to itself"
    );
    // Redrawn in place: the tick number advances but the header stays on line 1, once.
    let later = pane("a later tick", &|p| {
        p.lines()
            .next()
            .and_then(|l| l.rsplit("tick ").next())
            .and_then(|n| n.trim().parse::<u64>().ok())
            .is_some_and(|n| n >= 5)
    });
    assert_eq!(later.matches("tcpstat watch").count(), 1, "{later}");
    assert!(later
        .lines()
        .next()
        .expect("line")
        .starts_with("tcpstat watch"));
    let row = later
        .lines()
        .find(|l| l.starts_with("CLOSE_WAIT"))
        .expect("state row");
    assert_eq!(row.split_whitespace().nth(1), Some("1"), "{row}");
    leak.leak(2);
    pane("the new count", &|p| {
        p.lines()
            .any(|l| l.starts_with("CLOSE_WAIT") && l.split_whitespace().nth(1) == Some("3"))
    });

    t(&["send-keys", "-t", &session, "C-c"]);
    let after = pane("the shell back", &|p| p.contains("EXIT="));
    assert!(after.contains("EXIT=130"), "{after}");
    assert!(
        after.contains("BEFORE"),
        "the previous screen is restored: {after}"
    );
    assert!(!after.contains("LONGEST IN STATE"), "{after}");
    assert_eq!(
        t(&[
            "display",
            "-p",
            "-t",
            &session,
            "#{alternate_on} #{cursor_flag}"
        ])
        .trim(),
        "0 1",
        "alternate screen off, cursor visible"
    );
    t(&["kill-server"]);
}
