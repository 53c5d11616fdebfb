//! `tcpstat doctor` with real sockets creating each condition (a child process leaking
//! CLOSE_WAIT, a backlog-1 listener with a full accept queue and clients in SYN_SENT behind it,
//! a TIME_WAIT burst, SYN_RECV behind a packet filter) and on the recorded `proc-doctor`
//! fixture: the right process, port and remote named, severities, exit statuses, escaping.
//!
//! Live tests filter on their own ephemeral port, so they are exact whatever else runs on the
//! machine; as root they also run in a private network namespace, where the kernel counters
//! (ListenOverflows) belong to the test alone.

use std::io::Read;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::netns::{self, Env};
use crate::util::sockets::{Family, Sock};
use crate::util::states::{fresh_listener, Scenario};
use crate::util::{describe, fixture, run, serial, skip, wait_for};

/// `doctor --json` plus `args`: the document and the exit status, which must be the one the
/// document states.
fn doctor(args: &[&str]) -> (Value, i32) {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let o = run(&all);
    let code = o.status.code().expect("exited");
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(&all, &o)));
    assert_eq!(v["exit_code"], code, "{}", describe(&all, &o));
    let want = match v["status"].as_str() {
        Some("ok" | "info") => 0,
        Some("warning") => 3,
        Some("critical") => 4,
        other => panic!("bad status {other:?}"),
    };
    assert_eq!(code, want, "{}", describe(&all, &o));
    (v, code)
}

fn findings<'v>(v: &'v Value, check: &str) -> Vec<&'v Value> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// Text with every run of whitespace (wrapped lines included) made one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `tcpstat summary --json --port P`'s count of one state.
fn count(port: u16, state: &str) -> u64 {
    let o = run(&["summary", "--json", "--port", &port.to_string()]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("summary JSON");
    v["states"][state].as_u64().expect("count")
}

/// A child running `/bin/sleep` under `name` with `fds` as its stdin, stdout and stderr: a
/// process of its own holding those sockets.
struct Holder {
    child: Child,
    dir: PathBuf,
}

impl Holder {
    fn spawn(name: &str, mut fds: Vec<OwnedFd>) -> Holder {
        assert!(fds.len() <= 3);
        let dir =
            std::env::temp_dir().join(format!("tcpstat-doctor-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let exe = dir.join(name);
        let _ = std::fs::remove_file(&exe);
        std::os::unix::fs::symlink("/bin/sleep", &exe).expect("symlink");
        let mut cmd = Command::new(&exe);
        cmd.arg("120");
        let mut stdio = || fds.pop().map_or_else(Stdio::null, Stdio::from);
        cmd.stderr(stdio()).stdout(stdio()).stdin(stdio());
        let child = cmd.spawn().expect("spawn holder");
        Holder { child, dir }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_close_wait_leak_is_pinned_on_the_process_holding_it() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..3 {
        let c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (s, _) = listener.accept().expect("accept");
        // The peer closes its side; the server end never calls close(): CLOSE_WAIT.
        c.shutdown(Shutdown::Write).expect("shutdown");
        clients.push(c);
        servers.push(OwnedFd::from(s));
    }
    // The server ends now belong to another process only.
    let holder = Holder::spawn("leakyd", servers);
    let p = port.to_string();
    let args = ["--port", p.as_str(), "--threshold", "CLOSE_WAIT=3"];
    let (v, _) = wait_for("doctor to pin the CLOSE_WAIT sockets on the holder", || {
        let (v, code) = doctor(&args);
        let f = findings(&v, "close_wait");
        (f.len() == 1 && f[0]["subject"]["pid"] == holder.pid()).then_some((v, code))
    });
    let f = findings(&v, "close_wait")[0];
    assert_eq!(f["severity"], "warning", "{f}");
    assert_eq!(f["value"], 3);
    assert_eq!(f["subject"]["kind"], "process");
    assert_eq!(f["subject"]["command"], "leakyd");
    assert_eq!(
        f["evidence"]["ports"],
        serde_json::json!([{"port": port, "direction": "in", "total": 3}])
    );
    assert_eq!(
        f["evidence"]["remotes"],
        serde_json::json!([{"remote_address": "127.0.0.1", "total": 3}])
    );
    assert!(f["meaning"]
        .as_str()
        .expect("text")
        .contains("never called close()"));
    assert_eq!(
        (f["warning_at"].as_u64(), f["critical_at"].as_u64()),
        (Some(3), Some(100))
    );

    // Critical, and the exit status says so.
    let (v, code) = doctor(&["--port", &p, "--threshold", "close-wait=2,3"]);
    assert_eq!(findings(&v, "close_wait")[0]["severity"], "critical");
    assert_eq!(code, 4);

    // For a person: the process, the port, the meaning, the advice.
    let text_args = [
        "doctor",
        "--port",
        p.as_str(),
        "--threshold",
        "CLOSE_WAIT=3",
        "--color",
        "never",
    ];
    let o = run(&text_args);
    let text = String::from_utf8(o.stdout.clone()).expect("utf-8");
    assert_eq!(o.status.code(), Some(3), "{}", describe(&text_args, &o));
    let line = format!("pid {} (leakyd) holds 3 CLOSE_WAIT sockets", holder.pid());
    assert!(text.contains(&format!("WARNING   {line}")), "{text}");
    assert!(
        text.contains(&format!("ports     {port} in (3 sockets)")),
        "{text}"
    );
    assert!(
        text.contains("fix the application to close() sockets"),
        "{text}"
    );
    assert!(text.contains("worst: warning (exit status 3)"), "{text}");

    // Below the level it is still named, as info, and the exit status is 0.
    let (v, code) = doctor(&["--port", &p]);
    let f = findings(&v, "close_wait");
    assert_eq!((f[0]["severity"].as_str(), code), (Some("info"), 0), "{v}");
    drop(clients);
}

/// A backlog-1 listener that never accepts: two connections fill its accept queue, three
/// more clients stay in SYN_SENT because the kernel drops their SYNs.
fn full_queue(env: Env) {
    let listener = Sock::new(Family::V4);
    listener
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    listener.listen(1);
    let port = listener.port();
    let p = port.to_string();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let queued = || {
        let o = run(&["ports", "--json", "--port", &p]);
        let v: Value = serde_json::from_slice(&o.stdout).expect("ports JSON");
        v["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find_map(|r| r["listener"]["queued"].as_u64())
            .unwrap_or(0)
    };
    let mut socks = Vec::new();
    for n in 1..=2 {
        let c = Sock::new(Family::V4);
        c.connect_nonblocking(addr);
        socks.push(c);
        wait_for("the accept queue to grow", || (queued() == n).then_some(()));
    }
    for _ in 0..3 {
        let c = Sock::new(Family::V4);
        c.connect_nonblocking(addr);
        socks.push(c);
    }
    wait_for("three clients in SYN_SENT", || {
        (count(port, "SYN_SENT") == 3).then_some(())
    });

    let (v, code) = doctor(&["--port", &p, "--threshold", "SYN_SENT=3"]);
    assert_eq!(code, 4, "{v}");
    let q = findings(&v, "accept_queue");
    assert_eq!(q.len(), 1, "{v}");
    let q = q[0];
    assert_eq!(q["severity"], "critical", "{q}");
    assert_eq!(
        q["subject"],
        serde_json::json!({"kind": "listener", "local_address": "127.0.0.1", "local_port": port})
    );
    assert_eq!(
        (q["value"].as_u64(), q["limit"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(q["evidence"]["processes"][0]["pid"], std::process::id());
    let overflows = q["evidence"]["counters"]["ListenOverflows"]
        .as_u64()
        .expect("ListenOverflows readable");
    assert!(overflows >= 1, "the dropped SYNs are counted: {q}");
    if env == Env::Netns {
        // This namespace's counters are this test's alone: every client SYN dropped so far.
        assert!(overflows >= 3, "{q}");
    }
    let s = findings(&v, "syn_sent");
    assert_eq!(s.len(), 1, "{v}");
    assert_eq!(s[0]["severity"], "warning");
    assert_eq!(
        s[0]["subject"],
        serde_json::json!({"kind": "destination", "remote_address": "127.0.0.1", "remote_port": port})
    );
    assert_eq!(s[0]["value"], 3);
    assert_eq!(s[0]["evidence"]["processes"][0]["pid"], std::process::id());
    assert_eq!(s[0]["evidence"]["processes"][0]["total"], 3);

    let args = ["doctor", "--port", p.as_str(), "--color", "never"];
    let o = run(&args);
    let text = flat(&String::from_utf8(o.stdout.clone()).expect("utf-8"));
    assert_eq!(o.status.code(), Some(4), "{}", describe(&args, &o));
    assert!(
        text.contains(&format!(
            "CRITICAL accept queue of 127.0.0.1:{port}: 2 connections waiting to be accepted, \
             backlog 1: full, new connections are dropped"
        )),
        "{text}"
    );
    assert!(text.contains("ListenOverflows"), "{text}");
    drop(socks);
    drop(listener);
}

#[test]
fn a_full_accept_queue_and_the_syn_sent_behind_it() {
    let _serial = serial();
    netns::run_everywhere("full accept queue", full_queue);
}

#[test]
fn a_time_wait_burst_is_normal_until_it_uses_up_the_ports_to_one_destination() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    for _ in 0..30 {
        let c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (mut s, _) = listener.accept().expect("accept");
        // The client closes first: its end (an ephemeral port) goes to TIME_WAIT.
        drop(c);
        let mut buf = [0u8; 1];
        assert_eq!(s.read(&mut buf).expect("eof"), 0);
    }
    wait_for("30 TIME_WAIT sockets", || {
        (count(port, "TIME_WAIT") == 30).then_some(())
    });
    let p = port.to_string();
    let (v, _) = doctor(&["--port", &p]);
    let tw = findings(&v, "time_wait")[0];
    assert_eq!(tw["evidence"]["numbers"]["time_wait_counted"], 30, "{tw}");
    if tw["severity"] == "ok" {
        let summary = tw["summary"].as_str().expect("summary");
        assert!(
            summary.ends_with("TIME_WAIT by itself is normal"),
            "{summary}"
        );
    }
    let e = findings(&v, "ephemeral_ports");
    assert_eq!(e[0]["severity"], "ok");
    assert_eq!(
        e[0]["subject"],
        serde_json::json!({"kind": "route", "local_address": "127.0.0.1", "remote_address": "127.0.0.1", "remote_port": port})
    );
    // Loopback: with tcp_tw_reuse 1 or 2 (the default) and timestamps on, new connections
    // reuse TIME_WAIT ports, which then do not count (tw_reuse_decides_whether_time_wait_
    // uses_up_the_ports covers each setting in a namespace of its own).
    let setting = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
            .expect(name)
            .trim()
            .to_string()
    };
    let reuse =
        matches!(setting("tcp_tw_reuse").as_str(), "1" | "2") && setting("tcp_timestamps") != "0";
    let (in_use, reusable) = if reuse { (0, 30) } else { (30, 0) };
    assert_eq!(e[0]["value"], in_use, "{}", e[0]);
    assert_eq!(e[0]["evidence"]["numbers"]["time_wait_reusable"], reusable);

    let (v, code) = doctor(&["--port", &p, "--threshold", "EPHEMERAL_PORTS=10,20"]);
    let e = findings(&v, "ephemeral_ports");
    let want = if reuse {
        (Some("ok"), 0)
    } else {
        (Some("critical"), 4)
    };
    assert_eq!((e[0]["severity"].as_str(), code), want, "{v}");
    assert_eq!(e[0]["evidence"]["numbers"]["time_wait"], 30);
    assert_eq!(e[0]["evidence"]["numbers"]["other_states"], 0);
    assert!(e[0]["evidence"]["settings"]["net.ipv4.ip_local_port_range"].is_string());
}

/// 12 leaked CLOSE_WAIT whose clients closed for good: the clients are orphaned FIN_WAIT_2
/// sockets, which the kernel keeps as timewait minisockets. They are FIN_WAIT_2 (orphaned),
/// and time-wait entries against tcp_max_tw_buckets, but not TIME_WAIT sockets.
fn orphaned_fin_wait_2_scenario() {
    let listener = TcpListener::bind("127.0.0.1:8080").expect("bind in a fresh namespace");
    let mut servers = Vec::new();
    for _ in 0..12 {
        let c = TcpStream::connect("127.0.0.1:8080").expect("connect");
        let (s, _) = listener.accept().expect("accept");
        drop(c); // close(): the client end is orphaned once its FIN is acknowledged.
        servers.push(s);
    }
    let (v, _) = wait_for("12 orphaned FIN_WAIT_2 time-wait entries", || {
        let (v, code) = doctor(&[]);
        let tw = findings(&v, "time_wait")[0];
        let fw2 = findings(&v, "fin_wait_2")[0];
        (tw["evidence"]["numbers"]["sockstat_tw"] == 12
            && fw2["evidence"]["numbers"]["orphaned"] == 12)
            .then_some((v, code))
    });
    let tw = findings(&v, "time_wait")[0];
    assert_eq!(tw["value"], 12, "judged against tcp_max_tw_buckets: {tw}");
    assert_eq!(tw["evidence"]["numbers"]["time_wait_counted"], 0, "{tw}");
    let summary = tw["summary"].as_str().expect("summary");
    assert!(
        summary.starts_with(
            "no TIME_WAIT sockets; 12 time-wait entries (TIME_WAIT + orphaned FIN_WAIT_2) in the \
             namespace, 0.0% of net.ipv4.tcp_max_tw_buckets="
        ),
        "{summary}"
    );
    let fw2 = findings(&v, "fin_wait_2")[0];
    assert_eq!(fw2["value"], 12, "{fw2}");
    let cw = findings(&v, "close_wait")[0];
    assert_eq!(
        (cw["value"].as_u64(), cw["subject"]["pid"].as_u64()),
        (Some(12), Some(u64::from(std::process::id())))
    );
    let args = ["doctor", "--color", "never"];
    let o = run(&args);
    let text = flat(&String::from_utf8(o.stdout.clone()).expect("utf-8"));
    assert!(
        text.contains("OK no TIME_WAIT sockets; 12 time-wait entries"),
        "{}",
        describe(&args, &o)
    );
    assert!(
        !text.contains("12 TIME_WAIT sockets"),
        "counted twice: {text}"
    );
    assert!(
        text.contains("12 FIN_WAIT_2 sockets, 12 orphaned"),
        "{text}"
    );
    drop(servers);
}

#[test]
fn orphaned_fin_wait_2_are_time_wait_entries_not_time_wait_sockets() {
    let _serial = serial();
    match netns::netns_available() {
        Ok(()) => netns::in_private_netns(orphaned_fin_wait_2_scenario),
        Err(why) => skip(format!(
            "orphaned FIN_WAIT_2 doctor test (exact sockstat): {why}"
        )),
    }
}

/// Writes a sysctl of the calling thread's network namespace.
fn sysctl(name: &str, value: &str) {
    std::fs::write(format!("/proc/sys/net/ipv4/{name}"), value)
        .unwrap_or_else(|e| panic!("writing net.ipv4.{name}: {e}"));
}

/// 100 TIME_WAIT sockets to 127.0.0.1:7000 with 100 ephemeral ports: exhausted only when
/// tcp_tw_reuse does not let new connections take them over, as connect() confirms.
fn tw_reuse_scenario() {
    sysctl("ip_local_port_range", "40000 40099");
    // No reuse while the TIME_WAIT sockets are made, so all 100 ports end up in TIME_WAIT.
    sysctl("tcp_tw_reuse", "0");
    let listener = TcpListener::bind("127.0.0.1:7000").expect("bind in a fresh namespace");
    for _ in 0..100 {
        let c = TcpStream::connect("127.0.0.1:7000").expect("connect");
        let (mut s, _) = listener.accept().expect("accept");
        drop(c); // The client closes first: its ephemeral port goes to TIME_WAIT.
        let mut buf = [0u8; 1];
        assert_eq!(s.read(&mut buf).expect("eof"), 0);
    }
    wait_for("100 TIME_WAIT sockets", || {
        (count(7000, "TIME_WAIT") == 100).then_some(())
    });
    let route = serde_json::json!({"kind": "route", "local_address": "127.0.0.1", "remote_address": "127.0.0.1", "remote_port": 7000});

    // Reuse off: every port is taken, and the kernel agrees.
    let (v, code) = doctor(&[]);
    let e = findings(&v, "ephemeral_ports")[0];
    assert_eq!(
        (
            e["severity"].as_str(),
            e["value"].as_u64(),
            e["limit"].as_u64(),
            code
        ),
        (Some("critical"), Some(100), Some(100), 4),
        "{e}"
    );
    assert_eq!(e["subject"], route);
    assert_eq!(e["evidence"]["numbers"]["time_wait"], 100);
    assert_eq!(e["evidence"]["numbers"]["time_wait_reusable"], 0);
    assert!(
        e["action"]
            .as_str()
            .is_some_and(|a| a.contains("consider net.ipv4.tcp_tw_reuse=1")),
        "{e}"
    );
    let refused = TcpStream::connect("127.0.0.1:7000").expect_err("no local port left");
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::AddrNotAvailable,
        "{refused}"
    );

    // The default 2 reuses TIME_WAIT ports toward loopback: nothing is exhausted.
    sysctl("tcp_tw_reuse", "2");
    let (v, _) = doctor(&[]);
    let e = findings(&v, "ephemeral_ports")[0];
    assert_eq!(
        (e["severity"].as_str(), e["value"].as_u64()),
        (Some("ok"), Some(0)),
        "{e}"
    );
    assert_eq!(e["subject"], route);
    assert_eq!(e["evidence"]["numbers"]["time_wait"], 100);
    assert_eq!(e["evidence"]["numbers"]["time_wait_reusable"], 100);
    assert_eq!(e["evidence"]["settings"]["net.ipv4.tcp_tw_reuse"], 2);
    let summary = e["summary"].as_str().expect("summary");
    assert!(
        summary.ends_with(
            "; 100 more in TIME_WAIT not counted: net.ipv4.tcp_tw_reuse=2 lets new connections \
             take them over"
        ),
        "{summary}"
    );
    assert!(
        e["action"]
            .as_str()
            .is_some_and(|a| a.contains("already lets new connections")),
        "{e}"
    );
    // And the kernel agrees: a connect() takes over a TIME_WAIT port (once it is a second
    // old, tcp_tw_reuse_delay).
    let c = wait_for("a connect() reusing a TIME_WAIT port", || {
        TcpStream::connect("127.0.0.1:7000").ok()
    });
    let (_s, _) = listener.accept().expect("accept");
    sysctl("tcp_tw_reuse", "1");
    let (v, _) = doctor(&[]);
    let e = findings(&v, "ephemeral_ports")[0];
    assert_eq!(
        (e["severity"].as_str(), e["value"].as_u64()),
        (Some("ok"), Some(1)),
        "only the new connection holds a port: {e}"
    );
    assert_eq!(e["evidence"]["numbers"]["time_wait_reusable"], 99);
    drop(c);
}

#[test]
fn tw_reuse_decides_whether_time_wait_uses_up_the_ports() {
    let _serial = serial();
    match netns::netns_available() {
        Ok(()) => netns::in_private_netns(tw_reuse_scenario),
        Err(why) => skip(format!(
            "tcp_tw_reuse doctor test (needs a namespace): {why}"
        )),
    }
}

fn syn_recv(env: Env) {
    let mut scenario = Scenario::new(env);
    let Some(port) = scenario.syn_recv(Family::V4, 5) else {
        return; // nft missing: a skip, said.
    };
    let p = port.to_string();
    let (v, code) = doctor(&["--port", &p, "--threshold", "SYN_RECV=5"]);
    assert_eq!(code, 3, "{v}");
    let f = findings(&v, "syn_recv");
    assert_eq!(f.len(), 1, "{v}");
    let f = f[0];
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        f["subject"],
        serde_json::json!({"kind": "port", "port": port})
    );
    assert_eq!(f["value"], 5);
    assert_eq!(f["limit"], 128, "the listener's backlog");
    assert_eq!(f["evidence"]["numbers"]["distinct_sources"], 1);
    assert_eq!(f["evidence"]["remotes"][0]["remote_address"], "127.0.0.1");
    assert!(f["evidence"]["settings"]["net.ipv4.tcp_syncookies"].is_u64());
    assert_eq!(f["evidence"]["processes"][0]["pid"], std::process::id());
    drop(scenario);
}

#[test]
fn half_open_connections_behind_a_packet_filter() {
    let _serial = serial();
    netns::run_in_netns_only(
        "SYN_RECV doctor test (needs a private namespace and nft)",
        syn_recv,
    );
}

fn on_fixture(extra: &[&str]) -> (Value, i32) {
    let root = fixture("proc-doctor");
    let mut args = vec![
        "--source",
        "proc",
        "--proc-root",
        root.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    doctor(&args)
}

#[test]
fn the_recorded_fixture_explains_its_leak_and_its_full_queue() {
    let _serial = serial();
    let (v, code) = on_fixture(&[]);
    assert_eq!(code, 0, "info only with the default levels: {v}");
    assert_eq!(v["source"], "proc");
    assert_eq!(v["hostname"], "fixture-host");
    assert_eq!(v["unreadable"], serde_json::json!([]));
    assert_eq!(v["complete"], true);
    let cw = findings(&v, "close_wait");
    assert_eq!(cw.len(), 1);
    assert_eq!(cw[0]["severity"], "info");
    assert_eq!(
        cw[0]["subject"],
        serde_json::json!({"kind": "process", "pid": 4242, "command": "leakyd"})
    );
    assert_eq!(
        cw[0]["summary"],
        "pid 4242 (leakyd) holds 3 CLOSE_WAIT sockets (warning at 10, critical at 100)"
    );
    let q = findings(&v, "accept_queue");
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["severity"], "info", "/proc has no backlog: not judged");
    assert_eq!(
        (q[0]["value"].as_u64(), q[0]["limit"].as_u64()),
        (Some(2), None)
    );
    assert_eq!(q[0]["evidence"]["processes"][0]["command"], "leakyd");
    assert_eq!(q[0]["evidence"]["counters"]["ListenOverflows"], 2);
    assert_eq!(q[0]["evidence"]["counters"]["ListenDrops"], 2);
    let tw = findings(&v, "time_wait")[0];
    assert_eq!(
        (tw["value"].as_u64(), tw["limit"].as_u64()),
        (Some(5), Some(131072))
    );
    assert_eq!(tw["severity"], "ok");
    let orphans = findings(&v, "orphans")[0];
    assert_eq!(orphans["value"], 50000, "sockstat's host-wide count");
    assert_eq!(orphans["limit"], 4194304);
    let fw2 = findings(&v, "fin_wait_2")[0];
    assert_eq!(
        (
            fw2["value"].as_u64(),
            fw2["evidence"]["numbers"]["orphaned"].as_u64()
        ),
        (Some(3), Some(0))
    );
    let ss = findings(&v, "syn_sent")[0];
    assert_eq!(
        (ss["severity"].as_str(), ss["value"].as_u64()),
        (Some("ok"), Some(2))
    );
    // Every check reported, the thresholds echoed with their defaults.
    let checks: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    assert_eq!(checks.len(), 12, "{checks:?}");
    // TCP buffer memory: sockstat's `mem 70033` pages against tcp_mem `185000 246000 370000`.
    let mem = findings(&v, "tcp_memory")[0];
    assert_eq!(
        (
            mem["severity"].as_str(),
            mem["value"].as_u64(),
            mem["limit"].as_u64()
        ),
        (Some("ok"), Some(70033), Some(246000))
    );
    assert_eq!(
        mem["evidence"]["settings"]["net.ipv4.tcp_mem"],
        serde_json::json!([185000, 246000, 370000])
    );
    assert!(mem["evidence"]["numbers"]["bytes"].as_u64() >= Some(70033 * 4096));
    assert!(mem["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("TCP socket buffers use 70033 pages (")));
    // Raised into pressure by a threshold below it.
    let (v, _) = on_fixture(&["--threshold", "tcp-mem=25%,28%"]);
    assert_eq!(findings(&v, "tcp_memory")[0]["severity"], "critical");
    assert_eq!(
        v["thresholds"]["close_wait"]["warning"],
        serde_json::json!({"count": 10})
    );
    assert_eq!(
        v["thresholds"]["time_wait"]["critical"],
        serde_json::json!({"percent": 90})
    );
    assert_eq!(
        v["thresholds"]["time_wait"]["percent_of"],
        "net.ipv4.tcp_max_tw_buckets"
    );
    // Findings come worst first.
    let order = ["critical", "warning", "info", "ok"];
    let ranks: Vec<usize> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            order
                .iter()
                .position(|s| f["severity"] == *s)
                .expect("severity")
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
}

#[test]
fn thresholds_change_severities_and_the_exit_status() {
    let _serial = serial();
    let (v, code) = on_fixture(&["--threshold", "CLOSE_WAIT=3", "--threshold", "syn-sent=2"]);
    assert_eq!((v["status"].as_str(), code), (Some("warning"), 3));
    let ss = findings(&v, "syn_sent");
    assert_eq!(ss[0]["severity"], "warning");
    assert_eq!(
        ss[0]["evidence"]["processes"],
        serde_json::json!([{"pid": 4300, "command": "client", "total": 2}])
    );
    assert_eq!(
        v["thresholds"]["close_wait"]["warning"],
        serde_json::json!({"count": 3})
    );
    assert_eq!(
        v["thresholds"]["close_wait"]["critical"],
        serde_json::json!({"count": 100})
    );
    let (v, code) = on_fixture(&["--threshold", "CLOSE_WAIT=2,3"]);
    assert_eq!((v["status"].as_str(), code), (Some("critical"), 4));
    let (_, code) = on_fixture(&["--threshold", "TIME_WAIT=5"]);
    assert_eq!(code, 3, "5 TIME_WAIT against an absolute level of 5");
    let (_, code) = on_fixture(&["--threshold", "ORPHANS=1%"]);
    assert_eq!(code, 3, "50000 orphans are 1.2% of 4194304");
    // A count above the default critical percentage: 90% of tcp_max_tw_buckets=131072 is
    // 117965, below the new warning level, so the critical level is raised to it.
    let (v, _) = on_fixture(&["--threshold", "TIME_WAIT=200000"]);
    let tw = findings(&v, "time_wait")[0];
    assert_eq!(
        (tw["warning_at"].as_u64(), tw["critical_at"].as_u64()),
        (Some(200000), Some(200000)),
        "{tw}"
    );
    assert_eq!(
        v["thresholds"]["time_wait"]["critical"],
        serde_json::json!({"percent": 90}),
        "as configured"
    );
    // Both given, of different kinds: the critical level stands, the warning one follows.
    let (v, code) = on_fixture(&["--threshold", "TIME_WAIT=200000,1%"]);
    let tw = findings(&v, "time_wait")[0];
    assert_eq!(
        (tw["warning_at"].as_u64(), tw["critical_at"].as_u64(), code),
        (Some(1311), Some(1311), 0),
        "{tw}"
    );
    // Whatever the levels, critical_at is never below warning_at.
    for f in v["findings"].as_array().expect("findings") {
        if let (Some(w), Some(c)) = (f["warning_at"].as_u64(), f["critical_at"].as_u64()) {
            assert!(c >= w, "{f}");
        }
    }
}

#[test]
fn text_output_is_for_people_and_escapes_process_names() {
    let _serial = serial();
    // A copy of the fixture whose leaking process has a hostile name.
    let tmp = std::env::temp_dir().join(format!("tcpstat-doctor-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let status = Command::new("cp")
        .args(["-a"])
        .arg(fixture("proc-doctor"))
        .arg(&tmp)
        .status()
        .expect("cp");
    assert!(status.success());
    std::fs::write(tmp.join("4242/comm"), "ev\x1b[2Jil\n").expect("comm");
    let args = [
        "doctor",
        "--source",
        "proc",
        "--proc-root",
        tmp.to_str().expect("utf-8"),
        "--threshold",
        "CLOSE_WAIT=3",
        "--color",
        "never",
    ];
    let o = run(&args);
    let text = String::from_utf8(o.stdout.clone()).expect("utf-8");
    assert_eq!(o.status.code(), Some(3), "{}", describe(&args, &o));
    assert!(
        text.starts_with("tcpstat doctor: 1 warning, 1 info, 10 ok\n"),
        "{text}"
    );
    assert!(
        text.contains("WARNING   pid 4242 (ev\\x1b[2Jil) holds 3 CLOSE_WAIT sockets (warning at 3, critical at 100)"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "a raw escape reached the terminal");
    assert!(
        text.contains("INFO      accept queue of 127.0.0.1:8080: 2 connections waiting"),
        "{text}"
    );
    assert!(text.contains("OK        5 TIME_WAIT sockets"), "{text}");
    assert!(text.contains("TIME_WAIT by itself is normal"), "{text}");
    assert!(
        text.contains("source: /proc/net/tcp{,6}  host: fixture-host"),
        "{text}"
    );
    assert!(
        text.lines().all(|l| l.chars().count() <= 100),
        "wrapped at 100 columns"
    );
    // JSON carries the raw name.
    let o = run(&[&args[..args.len() - 2], &["--json"]].concat());
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(
        findings(&v, "close_wait")[0]["subject"]["command"],
        "ev\x1b[2Jil"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn unreadable_limits_are_said_and_never_judged() {
    let _serial = serial();
    // proc-recorded has socket tables but no sysctls, netstat or sockstat.
    let root = fixture("proc-recorded");
    let args = [
        "doctor",
        "--source",
        "proc",
        "--proc-root",
        root.to_str().expect("utf-8"),
        "--color",
        "never",
    ];
    let o = run(&args);
    let text = flat(&String::from_utf8(o.stdout.clone()).expect("utf-8"));
    assert_eq!(o.status.code(), Some(0), "{}", describe(&args, &o));
    assert!(
        text.contains("not readable: net.ipv4.tcp_max_tw_buckets ("),
        "{text}"
    );
    assert!(
        text.contains("net.ipv4.tcp_max_tw_buckets unknown (not judged: the limit is unknown)"),
        "{text}"
    );
    let (v, _) = doctor(&[
        "--source",
        "proc",
        "--proc-root",
        root.to_str().expect("utf-8"),
    ]);
    assert!(v["unreadable"].as_array().expect("list").len() >= 10);
    assert_eq!(findings(&v, "time_wait")[0]["limit"], Value::Null);
}

#[test]
fn state_filters_skip_the_checks_they_exclude() {
    let _serial = serial();
    let (v, code) = on_fixture(&["--state", "close-wait"]);
    assert_eq!(code, 0);
    let skipped: Vec<&str> = v["not_checked"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["check"].as_str())
        .collect();
    assert!(
        skipped.contains(&"time_wait") && skipped.contains(&"syn_sent"),
        "{skipped:?}"
    );
    assert!(!skipped.contains(&"close_wait") && !skipped.contains(&"accept_queue"));
    assert_eq!(findings(&v, "close_wait")[0]["value"], 3);
    assert!(v["not_checked"][0]["reason"]
        .as_str()
        .expect("reason")
        .contains("not selected by --state"));
}

#[test]
fn usage_and_runtime_errors_keep_their_own_codes() {
    let _serial = serial();
    for (args, needle) in [
        (
            vec!["doctor", "--threshold", "BOGUS=1"],
            "unknown threshold",
        ),
        (
            vec!["doctor", "--threshold", "CLOSE_WAIT=5%"],
            "not a percentage",
        ),
        (vec!["doctor", "--threshold", "CLOSE_WAIT"], "KEY=WARN"),
        (
            vec![
                "doctor",
                "--threshold",
                "CLOSE_WAIT=1",
                "--threshold",
                "close-wait=2",
            ],
            "given twice",
        ),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&args, &o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{}",
            describe(&args, &o)
        );
        assert!(o.stdout.is_empty());
    }
    let args = [
        "doctor",
        "--source",
        "proc",
        "--proc-root",
        "/nonexistent/tcpstat",
    ];
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&args, &o));
    assert!(o.stdout.is_empty());
    let help = run(&["doctor", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    for check in [
        "CLOSE_WAIT",
        "ACCEPT_QUEUE",
        "EPHEMERAL_PORTS",
        "ORPHANS",
        "Exit status: 0",
    ] {
        assert!(help.contains(check), "{check}: {help}");
    }
}

#[test]
fn help_lists_every_threshold_with_its_default() {
    let _serial = serial();
    // The help text is written by hand: it must match the defaults the code uses.
    let o = run(&["doctor", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout).to_string();
    let (_, code) = on_fixture(&[]);
    assert_eq!(code, 0);
    let (v, _) = on_fixture(&[]);
    for (check, levels) in v["thresholds"].as_object().expect("thresholds") {
        // JSON names the check (`close_wait`); the help, its threshold key (`CLOSE_WAIT`).
        let key = check.to_ascii_uppercase();
        let line = help
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(key.as_str()))
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        // A level is `{"count": N}` or `{"percent": N}`; the help writes `N` or `N%`.
        let spelled = |level: &Value| match (level["count"].as_u64(), level["percent"].as_u64()) {
            (Some(n), None) => n.to_string(),
            (None, Some(p)) => format!("{p}%"),
            _ => panic!("{key}: a level is a count or a percent: {level}"),
        };
        let want = format!(
            "{} / {}",
            spelled(&levels["warning"]),
            spelled(&levels["critical"])
        );
        assert!(line.contains(&want), "{key}: want {want:?} in {line:?}");
    }
}

/// A namespace of its own, entered with `--netns-pid`: the sockets, and the settings and
/// counters, are that namespace's (a namespace does not show the host-wide
/// `tcp_max_orphans`, which proves they were read inside it).
#[test]
fn another_namespace_is_diagnosed_with_its_own_settings_and_counters() {
    let _serial = serial();
    if let Err(why) = netns::netns_available() {
        skip(format!("doctor --netns-pid: {why}"));
        return;
    }
    let (holder, keep) = netns::in_private_netns(|| {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let listener = Sock::new(Family::V4);
        listener.bind(addr).expect("bind in a fresh namespace");
        listener.listen(1);
        let mut keep = Vec::new();
        let mut held = Vec::new();
        for _ in 0..2 {
            let c = Sock::new(Family::V4);
            c.connect(addr);
            let s = listener.accept();
            c.shutdown_write();
            keep.push(c);
            held.push(s.into_fd());
        }
        // Two connections nobody accepts fill the backlog-1 queue; the next SYN is dropped.
        for _ in 0..2 {
            let c = Sock::new(Family::V4);
            c.connect(addr);
            keep.push(c);
        }
        let c = Sock::new(Family::V4);
        c.connect_nonblocking(addr);
        keep.push(c);
        held.push(listener.into_fd());
        // Started from this thread, the holder lives in the namespace and keeps it alive.
        (Holder::spawn("nsd", held), keep)
    });
    let pid = holder.pid().to_string();
    let (v, code) = wait_for("the namespace's SYN_SENT", || {
        let (v, code) = doctor(&["--netns-pid", &pid, "--threshold", "CLOSE_WAIT=2"]);
        (findings(&v, "syn_sent")[0]["value"] == 1).then_some((v, code))
    });
    assert_eq!(code, 4, "{v}");
    let cw = findings(&v, "close_wait");
    assert_eq!(
        cw[0]["subject"],
        serde_json::json!({"kind": "process", "pid": holder.pid(), "command": "nsd"})
    );
    assert_eq!(cw[0]["severity"], "warning");
    let q = findings(&v, "accept_queue");
    assert_eq!(
        (
            q[0]["severity"].as_str(),
            q[0]["value"].as_u64(),
            q[0]["limit"].as_u64()
        ),
        (Some("critical"), Some(2), Some(1)),
        "{v}"
    );
    assert!(q[0]["evidence"]["counters"]["ListenOverflows"].as_u64() >= Some(1));
    assert!(q[0]["evidence"]["settings"]["net.core.somaxconn"].is_u64());
    let unreadable: Vec<&str> = v["unreadable"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        unreadable
            .iter()
            .any(|u| u.starts_with("net.ipv4.tcp_max_orphans")),
        "read inside the namespace, where the host-wide setting is not visible: {unreadable:?}"
    );
    drop(keep);
    drop(holder);
}

#[test]
fn one_namespace_at_a_time() {
    let _serial = serial();
    let o = run(&["doctor", "--all-netns"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("one network namespace at a time"));
    let o = run(&["check", "--all-netns"]);
    assert_eq!(o.status.code(), Some(3), "check: a usage error is UNKNOWN");
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("TCPSTAT UNKNOWN - usage error: "));
}
