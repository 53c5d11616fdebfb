//! `tcpstat watch` with real sockets changing state between ticks: deltas, events, growing
//! ages, NDJSON readable while it runs, exits (count, closed pipe, Ctrl-C), a /proc table that
//! vanishes mid-run (honest deltas across the failure), and the terminal as a person sees it
//! (tmux): narrow and short screens, resizes, Ctrl-Z and fg, and the terminal given back on
//! every signal that ends `watch` (Ctrl-\\, SIGUSR1, SIGTERM, SIGHUP).

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::states::fresh_listener;
use rustix::process::{kill_process, Pid, Signal};

use crate::util::{is_root, serial, skip, tcpstat, wait_for, WAIT};

/// A listener whose accepted connections are half-closed by their clients: the server ends
/// sit in CLOSE_WAIT for as long as this value keeps them.
struct Leak {
    listener: TcpListener,
    pairs: Vec<(TcpStream, TcpStream)>,
}

impl Leak {
    fn new() -> Leak {
        Leak {
            listener: fresh_listener(Ipv4Addr::LOCALHOST).expect("bind"),
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
        Watch::spawn(tcpstat().arg("watch").args(args))
    }

    fn spawn(cmd: &mut Command) -> Watch {
        let mut child = cmd
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
    v["states"]["CLOSE_WAIT"].as_u64().expect("count")
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
    assert_eq!(first["schema_version"], 2);
    assert_eq!(first["watched_states"], serde_json::json!(["CLOSE_WAIT"]));
    assert_eq!(first["counted_states"], serde_json::json!(["CLOSE_WAIT"]));
    assert_eq!(
        first["states"]["ESTABLISHED"], 0,
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
    assert_eq!(aged["total"], 3);
    assert_eq!(later["top"][0]["total"], 3);
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
        last["states"]["CLOSE_WAIT"], 2,
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
    assert_eq!(tick["top"][0]["total"], 2);
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
        (&["watch", "--top", "0"][..], "0"),
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
        skip("tmux is not installed");
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
    // The status line, not the typed command (`...; echo EXIT=$?`), which shows first.
    let after = pane("the shell back", &|p| {
        p.lines().any(|l| l.starts_with("EXIT="))
    });
    assert!(after.lines().any(|l| l == "EXIT=130"), "{after}");
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

// ---------------------------------------------------------------------------
// A /proc root whose table the test rewrites (--source proc --proc-root)
// ---------------------------------------------------------------------------

/// A fake proc root with a `net/tcp` the test rewrites between ticks: one listener on
/// 127.0.0.1:8080 and N CLOSE_WAIT server ends. No `net/tcp6` (a warning on every tick) and
/// a hostname.
struct ProcDir {
    root: PathBuf,
}

impl ProcDir {
    fn new(what: &str) -> ProcDir {
        let root =
            std::env::temp_dir().join(format!("tcpstat-watch-{what}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("net")).expect("mkdir net");
        fs::create_dir_all(root.join("sys/kernel")).expect("mkdir sys/kernel");
        fs::write(root.join("sys/kernel/hostname"), "fixture\n").expect("hostname");
        ProcDir { root }
    }

    fn path(&self) -> &str {
        self.root.to_str().expect("utf-8 temp dir")
    }

    fn table(&self) -> PathBuf {
        self.root.join("net/tcp")
    }

    /// Replaces `net/tcp` at once (rename), so a tick never reads half a table.
    fn set_close_wait(&self, n: usize) {
        let mut text = String::from(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  \
             timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 \
             00000000     0        0 10450 1 0000000000000000 100 0 0 10 0\n",
        );
        for i in 0..n {
            text.push_str(&format!(
                "{:4}: 0100007F:1F90 0100007F:{:04X} 08 00000000:00000001 00:00000000 00000000     \
                 0        0 {} 1 0000000000000000 20 4 0 10 -1\n",
                i + 1,
                40000 + i,
                20000 + i
            ));
        }
        let next = self.root.join("net/tcp.next");
        fs::write(&next, text).expect("write table");
        fs::rename(&next, self.table()).expect("replace table");
    }

    /// Takes `net/tcp` away: collections fail until it is back.
    fn remove_table(&self) {
        fs::remove_file(self.table()).expect("remove table");
    }
}

impl Drop for ProcDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

#[test]
fn a_failed_tick_is_retried_and_the_deltas_still_add_up() {
    let _serial = serial();
    let proc = ProcDir::new("retry");
    proc.set_close_wait(2);
    let mut w = Watch::start(&[
        "--source",
        "proc",
        "--proc-root",
        proc.path(),
        "--state",
        "close-wait",
        "--interval",
        "100ms",
    ]);
    // Every tick, in order: the deltas are summed at the end.
    let mut ticks: Vec<Value> = Vec::new();
    let mut read_until = |w: &mut Watch, what: &str, pred: &dyn Fn(&Value) -> bool| -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            let v = w.next();
            assert_eq!(v["type"], "tick", "{v}");
            ticks.push(v.clone());
            if pred(&v) {
                return v;
            }
        }
    };
    let good = |n: u64| move |v: &Value| v["error"].is_null() && close_wait(v) == n;
    let first = read_until(&mut w, "2 CLOSE_WAIT", &good(2));
    assert_eq!(first["tick"], 1, "the table was there from the start");
    proc.set_close_wait(5);
    read_until(&mut w, "5 CLOSE_WAIT", &good(5));

    proc.remove_table();
    let failed = read_until(&mut w, "a failed tick", &|v| v["error"].is_string());
    let error = failed["error"].as_str().expect("error");
    assert!(error.contains("net/tcp"), "{error}");
    assert!(
        failed["deltas"].is_null(),
        "unknown, not repeated: {failed}"
    );
    assert!(failed["elapsed_s"].is_null(), "{failed}");
    assert_eq!(close_wait(&failed), 5, "the last good counts, said as such");
    assert_eq!(failed["complete"], false);
    // A second failed tick: still no delta (the old code repeated +3 here).
    let again = read_until(&mut w, "another tick", &|_| true);
    assert!(
        again["error"].is_string() && again["deltas"].is_null(),
        "{again}"
    );

    proc.set_close_wait(3);
    let back = read_until(&mut w, "3 CLOSE_WAIT after the failure", &good(3));
    assert_eq!(
        back["deltas"]["CLOSE_WAIT"], -2,
        "the change since the last good tick: {back}"
    );
    let elapsed = back["elapsed_s"].as_f64().expect("elapsed");
    assert!(
        elapsed > 0.15,
        "elapsed spans the failed ticks too ({elapsed} s): {back}"
    );
    let sum: i64 = ticks
        .iter()
        .filter_map(|t| t["deltas"]["CLOSE_WAIT"].as_i64())
        .sum();
    assert_eq!(
        sum,
        3 - 2,
        "deltas add up to the net change over {} ticks",
        ticks.len()
    );
    assert!(w.child.try_wait().expect("wait").is_none(), "still running");
}

#[test]
fn by_remote_groups_by_peer_address() {
    let _serial = serial();
    let near = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let Ok(far) = fresh_listener(Ipv4Addr::new(127, 0, 0, 2)) else {
        skip("127.0.0.2 cannot be bound here");
        return;
    };
    // Half-closed clients wait in FIN_WAIT_2 with the listener as their remote end.
    let mut held = Vec::new();
    for (listener, n) in [(&near, 2), (&far, 1)] {
        for _ in 0..n {
            let c = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
            let (s, _) = listener.accept().expect("accept");
            c.shutdown(Shutdown::Write).expect("shutdown");
            held.push((c, s));
        }
    }
    let ports = format!(
        "{},{}",
        near.local_addr().expect("addr").port(),
        far.local_addr().expect("addr").port()
    );
    let mut w = Watch::start(&[
        "--state",
        "fin-wait-2",
        "--port",
        &ports,
        "--by",
        "remote",
        "--interval",
        "100ms",
    ]);
    let (tick, _) = w.until("3 FIN_WAIT_2", |v| v["states"]["FIN_WAIT_2"] == 3);
    assert_eq!(tick["grouping"], "remote");
    assert_eq!(
        tick["top"],
        serde_json::json!([
            {"remote_address": "127.0.0.1", "total": 2},
            {"remote_address": "127.0.0.2", "total": 1},
        ])
    );
    assert_eq!(tick["aged"][0]["remote_address"], "127.0.0.1");
    assert_eq!(tick["aged"][0]["total"], 2);
    assert_eq!(
        (&tick["top_omitted"], &tick["aged_omitted"]),
        (&0.into(), &0.into())
    );
    drop(w);

    // --top 1 keeps the busiest group and says how many were left out.
    let out = tcpstat()
        .args(["watch", "--state", "fin-wait-2", "--port", &ports])
        .args(["--by", "remote", "--top", "1", "--count", "1", "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let tick: Value = serde_json::from_slice(&out.stdout).expect("one tick");
    assert_eq!(
        tick["top"],
        serde_json::json!([{"remote_address": "127.0.0.1", "total": 2}])
    );
    assert_eq!(tick["top_omitted"], 1);
    assert_eq!(tick["aged"].as_array().map(Vec::len), Some(1));
    assert_eq!(tick["aged_omitted"], 1);
}

#[test]
fn unreadable_owners_are_hidden_not_ownerless() {
    let _serial = serial();
    if !is_root() {
        skip("needs root to run tcpstat as another user");
        return;
    }
    let mut leak = Leak::new();
    leak.leak(2);
    let port = leak.port();
    // As nobody, this (root) test process's descriptors cannot be read.
    let out = tcpstat()
        .args([
            "watch",
            "--state",
            "close-wait",
            "--port",
            &port,
            "--count",
            "1",
        ])
        .args(["--by", "process"])
        .uid(65534)
        .gid(65534)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tick: Value = serde_json::from_slice(&out.stdout).expect("one tick");
    assert_eq!(
        tick["top"],
        serde_json::json!([{"pid": null, "command": null, "owners_hidden": true, "total": 2}]),
        "{tick}"
    );
    assert_eq!(tick["aged"][0]["owners_hidden"], true);
    assert!(
        tick["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("could not be read"))),
        "{tick}"
    );
}

// ---------------------------------------------------------------------------
// The screen in tmux
// ---------------------------------------------------------------------------

/// A tmux server of its own, with one session running a clean shell; killed on drop. Also
/// drives `history --replay` (`history_report`).
pub(super) struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    pub(super) fn start(what: &str, width: u16, height: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            skip("tmux is not installed");
            return None;
        }
        let name = format!("tcpstat-{what}-{}", std::process::id());
        let t = Tmux {
            socket: name.clone(),
            session: name,
        };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "env -i PATH=/usr/bin:/bin TERM=xterm bash --norc --noprofile",
        ]);
        Some(t)
    }

    fn run(&self, args: &[&str]) -> String {
        let mut all = vec!["-L", &self.socket];
        all.extend_from_slice(args);
        tmux(&all)
    }

    pub(super) fn type_line(&self, line: &str) {
        self.run(&["send-keys", "-t", &self.session, line, "Enter"]);
    }

    pub(super) fn key(&self, key: &str) {
        self.run(&["send-keys", "-t", &self.session, key]);
    }

    fn resize(&self, width: u16, height: u16) {
        self.run(&[
            "resize-window",
            "-t",
            &self.session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// `alternate_on cursor_flag`: "1 0" on the watch screen, "0 1" given back.
    pub(super) fn modes(&self) -> String {
        self.run(&[
            "display",
            "-p",
            "-t",
            &self.session,
            "#{alternate_on} #{cursor_flag}",
        ])
        .trim()
        .to_string()
    }

    /// The pane once `pred` holds for it, within `within`.
    fn pane_within(&self, what: &str, within: Duration, pred: &dyn Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.run(&["capture-pane", "-p", "-t", &self.session]);
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; pane:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(super) fn pane(&self, what: &str, pred: &dyn Fn(&str) -> bool) -> String {
        self.pane_within(what, Duration::from_secs(10), pred)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// The tick number at the end of the header's first line.
fn header_tick(pane: &str) -> Option<u64> {
    pane.lines()
        .next()?
        .rsplit("tick ")
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The row of a state on the screen.
fn state_row<'a>(pane: &'a str, state: &str) -> Option<&'a str> {
    pane.lines().find(|l| l.starts_with(&format!("{state} ")))
}

fn bars(row: &str) -> String {
    row.chars().filter(|c| ('▁'..='█').contains(c)).collect()
}

#[test]
fn narrow_and_short_terminals_keep_the_newest_history_warnings_and_errors() {
    let _serial = serial();
    let Some(tm) = Tmux::start("narrow", 80, 24) else {
        return;
    };
    let proc = ProcDir::new("screen");
    proc.set_close_wait(1);
    let bin = env!("CARGO_BIN_EXE_tcpstat");
    tm.type_line(&format!(
        "{bin} watch --source proc --proc-root {} --interval 100ms; echo EXIT=$?",
        proc.path()
    ));
    // More ticks than the 17 columns the sparkline has at 80 columns.
    tm.pane("tick 25", &|p| header_tick(p).is_some_and(|n| n >= 25));
    proc.set_close_wait(9);
    let pane = tm.pane("the new count", &|p| {
        state_row(p, "CLOSE_WAIT").is_some_and(|r| r.split_whitespace().nth(1) == Some("9"))
    });
    let lines: Vec<&str> = pane.lines().collect();
    assert!(
        lines[0].starts_with("tcpstat watch  host fixture"),
        "{pane}"
    );
    assert!(
        lines[1].starts_with("warning: ") && lines[1].contains("tcp6"),
        "the warning right under the header: {pane}"
    );
    for line in &lines {
        assert!(line.chars().count() <= 80, "{line:?}\n{pane}");
    }
    let row = state_row(&pane, "CLOSE_WAIT").expect("row");
    assert_eq!(bars(row).chars().count(), 80 - 63, "{row}");
    assert!(
        row.trim_end().ends_with('█'),
        "the newest tick (9, the highest) is the last bar shown: {row}"
    );
    assert!(pane.contains("LONGEST IN STATE"), "{pane}");
    tm.key("C-c");
    tm.pane("the shell back", &|p| p.lines().any(|l| l == "EXIT=130"));

    // Short: 80 x 12, some states, with --events (which go first).
    tm.resize(80, 12);
    tm.type_line("clear");
    tm.type_line(&format!(
        "{bin} watch --source proc --proc-root {} --interval 100ms --events \
         --state close-wait,established,listen,time-wait; echo EXIT=$?",
        proc.path()
    ));
    let pane = tm.pane("the short frame", &|p| {
        header_tick(p).is_some_and(|n| n >= 3)
    });
    let lines: Vec<&str> = pane.lines().collect();
    assert!(lines[1].starts_with("warning: "), "{pane}");
    assert!(
        pane.contains("TOP BY PORT") && pane.contains("LONGEST IN STATE"),
        "{pane}"
    );
    assert!(pane.contains("8080 in"), "{pane}");
    proc.remove_table();
    let pane = tm.pane("the error line", &|p| p.contains("error: "));
    let lines: Vec<&str> = pane.lines().collect();
    assert!(
        lines[0].starts_with("tcpstat watch"),
        "no scrolling: {pane}"
    );
    assert!(
        lines[1].starts_with("error: cannot read ") && lines[2].starts_with("warning: "),
        "error, then warning, right under the header: {pane}"
    );
    let row = state_row(&pane, "CLOSE_WAIT").expect("row");
    assert_eq!(
        row.split_whitespace().take(4).collect::<Vec<_>>(),
        ["CLOSE_WAIT", "9", "-", "-"],
        "the last good count; delta and rate unknown: {pane}"
    );
    assert!(pane.contains("LONGEST IN STATE"), "{pane}");
    proc.set_close_wait(9);
    tm.pane("recovered", &|p| !p.contains("error: "));
    tm.key("C-c");
    tm.pane("the shell back", &|p| p.lines().any(|l| l == "EXIT=130"));
}

#[test]
fn resize_redraws_at_once_and_ctrl_z_gives_the_terminal_back() {
    let _serial = serial();
    let Some(tm) = Tmux::start("tstp", 100, 30) else {
        return;
    };
    let mut leak = Leak::new();
    leak.leak(1);
    // Alone on its line: in a list, a stopped job would let the shell run the rest.
    tm.type_line(&format!(
        "{} watch --state close-wait --port {} --interval 30s",
        env!("CARGO_BIN_EXE_tcpstat"),
        leak.port()
    ));
    let first = tm.pane("the first frame", &|p| {
        p.contains("HISTORY") && header_tick(p) == Some(1)
    });
    assert!(first.contains("MIN"), "{first}");
    assert_eq!(tm.modes(), "1 0", "alternate screen on, cursor hidden");
    // Narrower than 73 columns: MIN and MAX give way. Long before the next tick (30 s).
    tm.resize(60, 20);
    let narrow = tm.pane_within("the redraw at 60 columns", Duration::from_secs(3), &|p| {
        p.lines()
            .any(|l| l.starts_with("STATE") && !l.contains("MIN"))
    });
    assert!(
        narrow.lines().next().is_some_and(|l| l.ends_with("tick 1")),
        "the same tick, redrawn: {narrow}"
    );
    for line in narrow.lines() {
        assert!(line.chars().count() <= 60, "{line:?}\n{narrow}");
    }

    tm.key("C-z");
    let stopped = tm.pane("the shell after Ctrl-Z", &|p| p.contains("Stopped"));
    assert_eq!(tm.modes(), "0 1", "screen and cursor given back: {stopped}");
    tm.type_line("fg");
    tm.pane("the frame again", &|p| {
        p.contains("HISTORY") && p.contains("CLOSE_WAIT")
    });
    assert_eq!(tm.modes(), "1 0", "the screen taken again");
    tm.key("C-c");
    wait_for("the screen given back after Ctrl-C", || {
        (tm.modes() == "0 1").then_some(())
    });
    tm.type_line("echo EXIT=$?");
    let after = tm.pane("the exit status", &|p| {
        p.lines().any(|l| l.starts_with("EXIT="))
    });
    assert!(after.lines().any(|l| l == "EXIT=130"), "{after}");
}

#[test]
fn wide_process_names_do_not_wrap_the_screen() {
    let _serial = serial();
    // A process whose name is five CJK characters (15 bytes, all of comm), ten columns wide,
    // holding two CLOSE_WAIT server ends.
    let dir = std::env::temp_dir().join(format!("tcpstat-wide-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("mkdir");
    let name = dir.join("日本語の名");
    fs::copy("/bin/sleep", &name).expect("copy sleep");
    let mut leak = Leak::new();
    leak.leak(2);
    let port = leak.port();
    let (_, a) = leak.pairs.pop().expect("pair");
    let (_, b) = leak.pairs.pop().expect("pair");
    let mut holder = Command::new(&name)
        .arg("600")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(a)))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(b)))
        .spawn()
        .expect("spawn the holder");
    // Its age line, `  CLOSE_WAIT  any age         2 sockets  pid PID 日本語の名`, is 46
    // columns plus the pid's digits plus 10 for the name: the pane is one column narrower.
    let width = 55 + holder.id().to_string().len();
    let Some(tm) = Tmux::start("wide", width as u16, 24) else {
        let _ = holder.kill();
        let _ = holder.wait();
        return;
    };
    tm.type_line(&format!(
        "{} watch --state close-wait --port {port} --by process --interval 100ms; echo EXIT=$?",
        env!("CARGO_BIN_EXE_tcpstat")
    ));
    let pane = tm.pane("the holder in the lists", &|p| {
        p.matches("日本語").count() >= 2 && header_tick(p).is_some_and(|n| n >= 2)
    });
    let lines: Vec<&str> = pane.lines().collect();
    assert!(
        lines[0].starts_with("tcpstat watch"),
        "no scrolling: {pane}"
    );
    // A line cut by characters, not columns, would run past the pane and wrap: its tail
    // would start the next row.
    assert!(
        !lines
            .iter()
            .any(|l| l.chars().next().is_some_and(|c| !c.is_ascii())),
        "a wrapped line: {pane}"
    );
    // Cut at the pane's width: this line's name would reach one column past it, so its last
    // (two-column) character goes, leaving one column free.
    let columns = |l: &str| {
        l.chars()
            .map(|c| if c.is_ascii() { 1 } else { 2 })
            .sum::<usize>()
    };
    let aged = lines
        .iter()
        .find(|l| l.contains("socket") && l.contains("日本語"))
        .expect("the age line");
    assert!(
        aged.ends_with("日本語の") && columns(aged) == width - 1,
        "{aged}"
    );
    let top = lines
        .iter()
        .find(|l| l.trim_start().starts_with("2  pid"))
        .expect("the top line");
    assert!(top.ends_with("日本語の名"), "whole where it fits: {top}");
    tm.key("C-c");
    tm.pane("the shell back", &|p| p.lines().any(|l| l == "EXIT=130"));
    let _ = holder.kill();
    let _ = holder.wait();
    let _ = fs::remove_dir_all(&dir);
}

/// The pid of the process the pane's shell runs in the foreground (its child called
/// `tcpstat`), from /proc.
fn watch_pid(tm: &Tmux) -> i32 {
    let shell: i32 = tm
        .run(&["display", "-p", "-t", &tm.session, "#{pane_pid}"])
        .trim()
        .parse()
        .expect("the pane's pid");
    wait_for("watch to start in the pane", || {
        fs::read_dir("/proc").ok()?.find_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`: the name may hold spaces and parentheses.
            let (name, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
            let ppid: i32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == shell && name == "tcpstat").then_some(pid)
        })
    })
}

/// How a test ends `watch`: a key typed on its terminal or a signal sent to its pid.
enum Ending {
    Key(&'static str),
    Kill(Signal),
}

/// Every signal that ends `watch` gives the terminal back first: the alternate screen left,
/// the cursor shown again. Ctrl-\\ (SIGQUIT) and SIGUSR1 then end it with the signal's own
/// default action, so that the shell sees the signal (131, 138, and says how the job died);
/// SIGTERM and SIGHUP stop it like Ctrl-C (130). Before, SIGQUIT and SIGUSR1 killed it on
/// the alternate screen with the cursor hidden.
#[test]
fn every_ending_signal_gives_the_terminal_back() {
    let _serial = serial();
    let Some(tm) = Tmux::start("signals", 100, 40) else {
        return;
    };
    let mut leak = Leak::new();
    leak.leak(1);
    // SIGQUIT's default action dumps core: not into the working directory (a piped
    // core_pattern may still collect one; the wait below allows for that).
    tm.type_line("ulimit -c 0");
    for (name, ending, status, says) in [
        ("QUIT", Ending::Key("C-\\"), 131, Some("Quit")),
        (
            "USR1",
            Ending::Kill(Signal::USR1),
            138,
            Some("User defined signal 1"),
        ),
        ("TERM", Ending::Kill(Signal::TERM), 130, None),
        ("HUP", Ending::Kill(Signal::HUP), 130, None),
    ] {
        tm.type_line("clear");
        tm.type_line(&format!("echo BEFORE-{name}"));
        tm.pane("the prompt", &|p| {
            p.lines().any(|l| l == format!("BEFORE-{name}"))
        });
        tm.type_line(&format!(
            "{} watch --state close-wait --port {} --interval 30s; echo {name}-EXIT=$?",
            env!("CARGO_BIN_EXE_tcpstat"),
            leak.port()
        ));
        tm.pane("the first frame", &|p| {
            p.contains("HISTORY") && header_tick(p) == Some(1)
        });
        assert_eq!(
            tm.modes(),
            "1 0",
            "{name}: alternate screen on, cursor hidden"
        );
        match ending {
            Ending::Key(key) => tm.key(key),
            Ending::Kill(signal) => {
                let pid = Pid::from_raw(watch_pid(&tm)).expect("a pid");
                kill_process(pid, signal).expect("kill");
            }
        }
        // The status line, not the typed command (`...; echo NAME-EXIT=$?`), which shows
        // first and may wrap.
        let exit = format!("{name}-EXIT=");
        let after = tm.pane_within("the shell back", WAIT, &|p| {
            p.lines().any(|l| {
                l.strip_prefix(&exit)
                    .is_some_and(|n| n.parse::<u8>().is_ok())
            })
        });
        assert_eq!(
            tm.modes(),
            "0 1",
            "{name}: alternate screen off, cursor visible:\n{after}"
        );
        assert!(
            after.lines().any(|l| l == format!("{exit}{status}")),
            "{name}: exit status {status}:\n{after}"
        );
        assert!(
            after.lines().any(|l| l == format!("BEFORE-{name}")),
            "{name}: the previous screen is restored:\n{after}"
        );
        assert!(!after.contains("HISTORY"), "{name}:\n{after}");
        if let Some(says) = says {
            // The shell's word for a job killed by the signal (`Quit (core dumped)` where a
            // core was written): the default action, not an exit with 128 + N.
            assert!(
                after.lines().any(|l| l.starts_with(says)),
                "{name}: killed by the signal, as the shell says:\n{after}"
            );
        }
    }
}

/// `watch --health --json` over a lossy connection in a private namespace (nftables drops a
/// fifth of the segments arriving for its port, at input): every tick has the port's
/// health; the first tick's retransmit rate is null (nothing to compare with), each later
/// one is the growth of the connections' retransmit totals over the tick. Summed over the
/// ticks, that growth is more than zero and no more than `ss -ti`'s totals grew around the
/// whole run; every tick validates against its schema.
#[test]
fn watch_health_rates_retransmits_per_tick() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let _serial = serial();
    if let Err(why) = crate::util::netns::netns_available() {
        skip(format!("watch --health: {why}"));
        return;
    }
    if !crate::util::ss::ss_for("watch --health retransmits") {
        return;
    }
    crate::util::netns::in_private_netns(|| {
        let lossy = fresh_listener(Ipv4Addr::LOCALHOST).expect("listener");
        let port = lossy.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let threads = crate::prometheus::busy_connection(&lossy, &stop);
        let script = format!(
            "table inet tcpstat_loss {{\n chain input {{\n  type filter hook input priority 0;\n  \
             tcp dport {port} numgen random mod 100 < 20 drop\n }}\n}}\n"
        );
        if !crate::util::states::nft_apply(&script) {
            stop.store(true, Ordering::Relaxed);
            return;
        }
        let totals = || crate::prometheus::ss_total_retransmits(port);
        crate::util::wait_until(
            "the lossy connection to retransmit",
            WAIT,
            || match totals() {
                n if n < 5 => Err(format!("{n} retransmits so far")),
                _ => Ok(()),
            },
        );
        let before = totals();
        let out = tcpstat()
            .args([
                "watch",
                "--health",
                "--json",
                "--count",
                "4",
                "--interval",
                "500ms",
            ])
            .args(["--port", &port.to_string()])
            .output()
            .expect("watch");
        let after = totals();
        stop.store(true, Ordering::Relaxed);
        assert!(out.status.success(), "{out:?}");
        let ticks: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .filter(|v: &Value| v["type"] == "tick")
            .collect();
        assert_eq!(ticks.len(), 4);
        let mut grown = 0.0;
        for (i, tick) in ticks.iter().enumerate() {
            let errors = crate::schemas::schema_errors("watch-tick", tick);
            assert!(errors.is_empty(), "{errors:#?}\n{tick:#}");
            let rows = tick["health"].as_array().expect("health");
            let row = rows
                .iter()
                .find(|r| r["port"] == port && r["direction"] == "in")
                .unwrap_or_else(|| panic!("port {port} in {rows:#?}"));
            assert_eq!(row["sockets"], 1, "the server end: {row:#}");
            let out_row = rows
                .iter()
                .find(|r| r["port"] == port && r["direction"] == "out")
                .unwrap_or_else(|| panic!("the client end in {rows:#?}"));
            let rate = |r: &Value| r["retransmits_per_s"].as_f64();
            if i == 0 {
                assert_eq!(rate(out_row), None, "{out_row:#}");
                continue;
            }
            let elapsed = tick["elapsed_s"].as_f64().expect("elapsed");
            let segments = |r: &Value| rate(r).expect("a rate") * elapsed;
            for r in [row, out_row] {
                let n = segments(r);
                assert!((n - n.round()).abs() < 1e-6, "whole segments: {n} {r:#}");
                grown += n.round();
            }
        }
        assert!(
            grown > 0.0 && grown <= (after - before) as f64,
            "retransmits over the ticks: {grown}; ss's totals went {before} -> {after}"
        );
        for t in threads {
            t.join().expect("traffic thread");
        }
    });
}
