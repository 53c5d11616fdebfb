//! `ports`, `procs` and `list` with real sockets held by real processes: attribution to the
//! right pid and command, (no owner) for TIME_WAIT, inert hostile process names, hidden owners
//! without privileges, user names from NSS (a user nss_wrapper serves), service-port
//! direction, every filter, and closed pipes.
//!
//! Each test uses its own ephemeral ports and filters on them, so it is exact whatever else
//! runs on the machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::run::hold_as;
use crate::util::states::fresh_listener;
use crate::util::{
    describe, fixture, is_root, json, run, serial, skip, tcpstat, text, wait_for, wait_until, WAIT,
};

fn my_comm() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .expect("comm")
        .trim_end()
        .to_string()
}

/// A listener with `n` accepted connections, plus their client ends.
struct Service {
    listener: TcpListener,
    clients: Vec<TcpStream>,
    servers: Vec<TcpStream>,
}

impl Service {
    /// On a fresh port of 127.0.0.1 (see `fresh_listener`).
    fn new(n: usize) -> Service {
        let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind 127.0.0.1");
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        for _ in 0..n {
            clients
                .push(TcpStream::connect(listener.local_addr().expect("addr")).expect("connect"));
            servers.push(listener.accept().expect("accept").0);
        }
        Service {
            listener,
            clients,
            servers,
        }
    }

    fn port(&self) -> u16 {
        self.listener.local_addr().expect("addr").port()
    }

    fn port_arg(&self) -> String {
        self.port().to_string()
    }
}

fn state_count(row: &Value, state: &str) -> u64 {
    row["states"][state].as_u64().expect("count")
}

#[test]
fn procs_attributes_sockets_to_this_process_and_time_wait_to_no_owner() {
    let _serial = serial();
    let mut svc = Service::new(3);
    // One connection half-closed by its client: the server end is CLOSE_WAIT, owned by us.
    svc.clients[0].shutdown(Shutdown::Write).expect("shutdown");
    // One connection closed by the client first, then the server: client end in TIME_WAIT.
    let c = svc.clients.remove(1);
    let s = svc.servers.remove(1);
    drop(c);
    let mut buf = [0; 1];
    let mut s = s;
    assert_eq!(s.read(&mut buf).expect("eof"), 0);
    drop(s);
    let port = svc.port_arg();
    let v = wait_for("CLOSE_WAIT and TIME_WAIT", || {
        let v = json(&["procs", "--port", &port, "--json"]);
        (v["no_owner"]["states"]["TIME_WAIT"] == 1
            && v["processes"][0]["states"]["CLOSE_WAIT"] == 1
            && v["processes"][0]["states"]["FIN_WAIT_2"] == 1)
            .then_some(v)
    });
    let procs = v["processes"].as_array().expect("array");
    assert_eq!(procs.len(), 1, "{v}");
    let me = &procs[0];
    assert_eq!(me["pid"], std::process::id());
    assert_eq!(me["command"], my_comm().as_str());
    // LISTEN 1; ESTABLISHED: 2 ends of the untouched connection + the client end of the
    // half-closed one is FIN_WAIT_2; CLOSE_WAIT 1.
    assert_eq!(state_count(me, "LISTEN"), 1);
    assert_eq!(state_count(me, "ESTABLISHED"), 2);
    assert_eq!(state_count(me, "FIN_WAIT_2"), 1, "{v}");
    assert_eq!(state_count(me, "CLOSE_WAIT"), 1);
    assert_eq!(me["total"], 5);
    assert_eq!(v["no_owner"]["total"], 1);
    assert_eq!(v["total"], 6);

    let table = text(&["procs", "--port", &port, "--color", "never"]);
    assert!(table.contains("(no owner)"), "{table}");
    assert!(
        table.contains("TIME_WAIT and SYN_RECV sockets"),
        "legend: {table}"
    );
    let my_row = table
        .lines()
        .find(|l| l.starts_with(&std::process::id().to_string()))
        .expect("a row for this process");
    assert!(my_row.trim_end().ends_with(" 5"), "{my_row}");
}

/// A child process holding `listener` as its stdin, running `/bin/sleep` under `name` (the
/// kernel takes the command name from the executable's file name).
fn child_holding(listener: &TcpListener, name: &str) -> (Child, PathBuf) {
    hold_as(
        name,
        std::os::fd::OwnedFd::from(listener.try_clone().expect("dup")),
    )
}

#[test]
fn hostile_process_names_are_printed_inert_and_shared_sockets_count_for_each_owner() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let name = "ev\x1b[2Jil\u{7}\u{202e}";
    let (mut child, dir) = child_holding(&listener, name);
    let child_pid = child.id();
    let v = wait_for("the child to hold the listener", || {
        let v = json(&["procs", "--port", &port, "--json"]);
        (v["processes"].as_array().map_or(0, Vec::len) == 2).then_some(v)
    });
    let pids: Vec<u64> = v["processes"]
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["pid"].as_u64().expect("pid"))
        .collect();
    assert!(pids.contains(&u64::from(child_pid)) && pids.contains(&u64::from(std::process::id())));
    assert_eq!(v["total"], 1, "one socket, two owners");
    let child_row = v["processes"]
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["pid"] == child_pid)
        .expect("child row");
    assert_eq!(
        child_row["command"], name,
        "JSON carries the raw name, escaped by JSON"
    );
    // ... and its bytes are inert: the bidi override is written as \u202e, not raw.
    for args in [
        vec!["procs", "--port", &port, "--json"],
        vec!["list", "-p", "--port", &port, "--ndjson"],
        vec!["list", "-p", "--port", &port, "--json"],
    ] {
        let o = run(&args);
        let raw = String::from_utf8(o.stdout).expect("utf-8");
        assert!(
            !raw.contains('\u{202e}') && !raw.contains('\u{1b}') && raw.contains("\\u202e"),
            "{args:?}: {raw}"
        );
    }

    for args in [
        vec!["procs", "--port", &port],
        vec!["list", "-p", "--port", &port],
        vec!["procs", "--port", &port, "--color", "always"],
    ] {
        let out = text(&args);
        assert!(
            out.contains("ev\\x1b[2Jil\\x07\\u{202e}"),
            "{args:?}: {out}"
        );
        assert!(
            !out.contains("\x1b[2J") && !out.contains('\u{7}') && !out.contains('\u{202e}'),
            "{args:?}: raw escape reached the output"
        );
    }
    let list = text(&["list", "-p", "--port", &port, "--no-header"]);
    assert!(list.contains(&format!("{}/", std::process::id())), "{list}");
    assert!(
        list.contains(&format!(",{child_pid}/")) || list.contains(&format!("{child_pid}/ev")),
        "{list}"
    );

    // --pid and --process select through owners.
    let v = json(&[
        "summary",
        "--json",
        "--port",
        &port,
        "--pid",
        &child_pid.to_string(),
    ]);
    assert_eq!(v["states"]["LISTEN"], 1);
    let v = json(&[
        "summary",
        "--json",
        "--port",
        &port,
        "--process",
        "no-such-command",
    ]);
    assert_eq!(v["total"], 0);
    let v = json(&[
        "summary",
        "--json",
        "--port",
        &port,
        "--process",
        &my_comm(),
    ]);
    assert_eq!(v["total"], 1);

    child.kill().expect("kill");
    child.wait().expect("reap");
    let _ = std::fs::remove_dir_all(dir);
}

/// Format and invisible characters (Unicode Cf: zero-width space, word joiner, byte order
/// mark, tag characters; and the Hangul fillers) are escaped like control characters: before,
/// `\u{200b}nginx` displayed as `nginx`, a process passing for another.
#[test]
fn invisible_characters_in_names_are_escaped() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let names = ["\u{200b}nginx\u{2060}", "\u{feff}\u{e0041}\u{3164}"];
    let shown = ["\\u{200b}nginx\\u{2060}", "\\u{feff}\\u{e0041}\\u{3164}"];
    let children: Vec<(Child, PathBuf)> = names
        .iter()
        .map(|name| child_holding(&listener, name))
        .collect();
    wait_for("the children to hold the listener", || {
        let v = json(&["procs", "--port", &port, "--json"]);
        (v["processes"].as_array().map_or(0, Vec::len) == 3).then_some(())
    });
    let raw = |c: char| {
        matches!(
            c,
            '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{e0041}' | '\u{3164}'
        )
    };
    // JSON carries the names as they are, the invisible characters as \u escapes.
    for args in [
        vec!["procs", "--port", &port, "--json"],
        vec![
            "watch", "--by", "process", "--state", "listen", "--port", &port, "--count", "1",
        ],
    ] {
        let out = text(&args);
        assert_eq!(
            out.chars().find(|&c| raw(c)),
            None,
            "{args:?}: raw in {out}"
        );
        let v: Value = serde_json::from_str(out.trim_end()).expect("one JSON document");
        let rows = v["processes"]
            .as_array()
            .or(v["top"].as_array())
            .expect("rows");
        for name in names {
            assert!(
                rows.iter().any(|r| r["command"] == name),
                "{args:?}: {name:?} in {v}"
            );
        }
    }
    for args in [
        vec!["procs", "--port", &port],
        vec!["list", "-p", "--port", &port],
    ] {
        let out = text(&args);
        for (name, shown) in names.iter().zip(shown) {
            assert!(out.contains(shown), "{args:?}: {name:?} as {shown}: {out}");
        }
        assert_eq!(
            out.chars().find(|&c| raw(c)),
            None,
            "{args:?}: raw in {out}"
        );
    }
    for (mut child, dir) in children {
        child.kill().expect("kill");
        child.wait().expect("reap");
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn without_privileges_owners_are_hidden_not_missing() {
    let _serial = serial();
    if !is_root() {
        skip("needs root to run tcpstat as an unprivileged user (uid 65534)");
        return;
    }
    let svc = Service::new(1);
    let port = svc.port_arg();
    let o = tcpstat()
        .uid(65534)
        .gid(65534)
        .args(["procs", "--port", &port, "--json"])
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        v["owner_scan"]["processes_hidden"].as_u64().expect("n") > 0,
        "{v}"
    );
    assert_eq!(
        v["hidden"]["total"], 3,
        "listener + both ends, owned by root: {v}"
    );
    assert_eq!(v["processes"].as_array().expect("array").len(), 0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("could not be read"), "{err}");
    assert!(err.contains("run as root"), "the advice fits a user: {err}");
    assert!(
        v["hidden"]["reason"]
            .as_str()
            .is_some_and(|r| r.ends_with("without root")),
        "{v}"
    );
    // The counts themselves need no privileges.
    let o = tcpstat()
        .uid(65534)
        .gid(65534)
        .args(["summary", "--port", &port, "--json"])
        .output()
        .expect("runs");
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["total"], 3);
    let table = tcpstat()
        .uid(65534)
        .gid(65534)
        .args(["procs", "--port", &port])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&table.stdout).contains("(hidden: needs root)"));
}

#[test]
fn ports_groups_by_service_port_with_direction() {
    let _serial = serial();
    let svc = Service::new(2);
    let port = svc.port_arg();
    let v = json(&["ports", "--port", &port, "--json"]);
    assert_eq!(v["grouping"], "service");
    let rows = v["ports"].as_array().expect("array");
    let find = |dir: &str| {
        rows.iter()
            .find(|r| r["port"] == svc.port() && r["direction"] == dir)
            .unwrap_or_else(|| panic!("no {dir} row: {v}"))
    };
    let inbound = find("in");
    assert_eq!(state_count(inbound, "LISTEN"), 1);
    assert_eq!(state_count(inbound, "ESTABLISHED"), 2, "server ends");
    assert_eq!(inbound["listener"]["queued"], 0);
    assert_eq!(inbound["listener"]["backlog"], 128, "std's listen backlog");
    let outbound = find("out");
    assert_eq!(state_count(outbound, "ESTABLISHED"), 2, "client ends");
    assert_eq!(outbound["listener"], Value::Null);
    assert_eq!(rows.len(), 2, "{v}");
    // --by local: the clients' ephemeral ports become their own rows.
    let v = json(&["ports", "--port", &port, "--by", "local", "--json"]);
    assert_eq!(v["ports"].as_array().expect("array").len(), 3, "{v}");
    // A listener with nothing selected still shows, with its queue.
    let v = json(&["ports", "--sport", &port, "--state", "close-wait", "--json"]);
    let rows = v["ports"].as_array().expect("array");
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["total"], 0);
    assert_eq!(rows[0]["listener"]["listening_sockets"], 1);
    // /proc has no backlog.
    let v = json(&["ports", "--port", &port, "--json", "--source", "proc"]);
    let inbound = v["ports"]
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["direction"] == "in")
        .expect("in row")
        .clone();
    assert_eq!(inbound["listener"]["backlog"], Value::Null);
    let table = text(&["ports", "--port", &port, "--color", "never"]);
    assert!(table.contains("0/128"), "{table}");
    // An unfilled accept queue: connect without accepting.
    let pending = TcpStream::connect(svc.listener.local_addr().expect("addr")).expect("connect");
    let v = wait_for("a queued connection", || {
        let v = json(&["ports", "--sport", &port, "--state", "listen", "--json"]);
        (v["ports"][0]["listener"]["queued"] == 1).then_some(v)
    });
    assert_eq!(v["ports"][0]["total"], 1);
    drop(pending);
}

#[test]
fn address_user_and_port_filters() {
    let _serial = serial();
    let v4 = Service::new(1);
    let v6 = match fresh_listener(Ipv6Addr::LOCALHOST) {
        Ok(l) => l,
        Err(e) => {
            skip(format!("no IPv6 loopback ({e})"));
            return;
        }
    };
    let p4 = v4.port_arg();
    let p6 = v6.local_addr().expect("addr").port().to_string();
    let both = format!("{p4},{p6}");
    let total = |args: &[&str]| -> u64 {
        let mut all = vec!["summary", "--json", "--port", &both];
        all.extend_from_slice(args);
        json(&all)["total"].as_u64().expect("total")
    };
    assert_eq!(total(&[]), 4);
    assert_eq!(total(&["--src", "127.0.0.0/8"]), 3);
    assert_eq!(total(&["--src", "::1"]), 1);
    assert_eq!(total(&["--src", "[::1]/128"]), 1);
    assert_eq!(
        total(&["--dst", "127.0.0.1/32"]),
        2,
        "only connected ends have a peer"
    );
    assert_eq!(total(&["--src", "10.0.0.0/8"]), 0);
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .expect("uid");
    assert_eq!(total(&["--user", &uid.to_string()]), 4);
    assert_eq!(total(&["--user", "4000000000"]), 0);
    if uid == 0 {
        assert_eq!(total(&["--user", "root"]), 4);
    }
    assert_eq!(total(&["--sport", &p4]), 2, "listener and server end");
    assert_eq!(total(&["--dport", &p4]), 1, "client end");
    assert_eq!(
        total(&["--sport", &format!("{}-{}", v4.port(), v4.port())]),
        2
    );
    assert_eq!(total(&["--pid", &std::process::id().to_string()]), 4);
    assert_eq!(total(&["--pid", "1,2"]), 0);
    for (args, needle) in [
        (&["summary", "--src", "10.0.0.0/33"][..], "10.0.0.0/33"),
        (&["ports", "--dst", "not-an-ip"][..], "not-an-ip"),
        (
            &["list", "--user", "no-such-user-xyz"][..],
            "no-such-user-xyz",
        ),
        (&["procs", "--pid", "abc"][..], "abc"),
        (&["list", "--sort", "size"][..], "size"),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn list_formats_and_sorting() {
    let _serial = serial();
    let svc = Service::new(2);
    let port = svc.port_arg();
    let out = text(&["list", "--port", &port]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("STATE") && lines[0].contains("LOCAL") && lines[0].contains("INODE")
    );
    assert_eq!(lines.len(), 6, "{out}");
    let listen_line = format!("127.0.0.1:{port}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("LISTEN") && l.contains(&listen_line)),
        "{out}"
    );
    let out = text(&["ls", "--port", &port, "--no-header"]);
    assert_eq!(out.lines().count(), 5);
    let v = json(&["list", "--port", &port, "--json"]);
    let rows = v["sockets"].as_array().expect("array");
    assert_eq!(rows.len(), 5);
    assert_eq!(v["total"], 5);
    assert!(rows.iter().all(|r| r["owners"].is_null()));
    let nd = text(&["list", "--port", &port, "--ndjson", "-p"]);
    let mut objs: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).expect("object per line"))
        .collect();
    let end = objs.pop().expect("the end line");
    assert_eq!((&end["type"], &end["total"]), (&"end".into(), &5.into()));
    assert_eq!(objs.len(), 5);
    assert!(
        objs.iter()
            .all(|o| o["type"] == "socket" && o["owners"][0]["pid"] == std::process::id()),
        "{nd}"
    );
    let sorted = json(&["list", "--port", &port, "--json", "--sort", "state"]);
    assert_eq!(sorted["sockets"][0]["state"], "LISTEN");
    let by_port = json(&["list", "--port", &port, "--json", "--sort", "port"]);
    let ports: Vec<u64> = by_port["sockets"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["local_port"].as_u64().expect("port"))
        .collect();
    assert!(ports.windows(2).all(|w| w[0] <= w[1]), "{ports:?}");
    let timers = text(&["list", "--port", &port, "-o"]);
    assert!(timers.lines().next().expect("header").contains("TIMER"));
    // Queue sorting puts unread data first.
    let mut c = svc.clients[0].try_clone().expect("clone");
    c.write_all(b"hello").expect("write");
    let v = wait_for("unread bytes", || {
        let v = json(&["list", "--port", &port, "--json", "--sort", "queue"]);
        (v["sockets"][0]["recv_q"] == 5).then_some(v)
    });
    assert_eq!(v["sockets"][0]["state"], "ESTABLISHED");
}

#[test]
fn list_into_a_closed_pipe_exits_0_silently() {
    let _serial = serial();
    // Enough rows that tcpstat is still writing when the reader goes away.
    let socks: Vec<TcpListener> = (0..300)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let first = socks[0].local_addr().expect("addr").port();
    let last = socks
        .iter()
        .map(|s| s.local_addr().expect("addr").port())
        .max()
        .expect("max");
    let range = format!("{}-{}", first.min(last), last);
    for format in [&[][..], &["--ndjson"][..], &["--json"][..]] {
        let mut child = tcpstat()
            .arg("list")
            .args(format)
            .args(["--sport", &range])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("first line");
        assert!(!line.is_empty());
        drop(reader);
        let status = child.wait().expect("waits");
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("reads");
        assert!(status.success(), "{format:?}: {status:?} {err}");
        assert!(err.is_empty(), "{format:?}: {err}");
    }
    drop(socks);
}

#[test]
fn listing_ipv6_uses_brackets() {
    let _serial = serial();
    let Ok(l) = fresh_listener(Ipv6Addr::LOCALHOST) else {
        skip("no IPv6 loopback");
        return;
    };
    let addr: SocketAddr = l.local_addr().expect("addr");
    let out = text(&["list", "--sport", &addr.port().to_string(), "--no-header"]);
    assert!(out.contains(&format!("[::1]:{}", addr.port())), "{out}");
    assert!(out.contains("[::]:*"), "{out}");
}

/// An orphaned FIN_WAIT_2 socket is usually turned into a time-wait minisocket, which the
/// kernel reports with its FIN_WAIT_2 sub-state, inode 0, the TIME_WAIT timer and uid 0: it
/// belongs to nobody, not to root. The client here runs as uid 65534, so before it closed,
/// its sockets were not root's either; `--user root` must not pick them up afterwards.
#[test]
fn orphaned_fin_wait_2_minisockets_have_no_user() {
    let _serial = serial();
    if !is_root() {
        skip("needs root to run a client as another user (uid 65534)");
        return;
    }
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    // Two connections from uid 65534, closed at once (bash exits): the server keeps its ends
    // open (CLOSE_WAIT), the client ends are orphaned in FIN_WAIT_2.
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} 4<>/dev/tcp/127.0.0.1/{port}");
    let status = match Command::new("bash")
        .args(["-c", &script])
        .uid(65534)
        .gid(65534)
        .status()
    {
        Ok(status) => status,
        Err(e) => {
            skip(format!("no bash to run the client ({e})"));
            return;
        }
    };
    assert!(status.success(), "client: {status:?}");
    let servers: Vec<TcpStream> = (0..2)
        .map(|_| listener.accept().expect("accept").0)
        .collect();
    for source in ["netlink", "proc"] {
        let rows = wait_for("two FIN_WAIT_2 client ends", || {
            let v = json(&[
                "list",
                "--source",
                source,
                "--dport",
                &port,
                "--state",
                "fin-wait-2",
                "--json",
            ]);
            (v["sockets"].as_array().map_or(0, Vec::len) == 2).then_some(v)
        });
        for row in rows["sockets"].as_array().expect("array") {
            if row["timer"]["kind"] == "timewait" {
                assert_eq!(row["inode"], 0, "{source}: {row}");
                assert_eq!(
                    row["uid"],
                    Value::Null,
                    "{source}: a minisocket has no uid: {row}"
                );
                assert_eq!(row["user"], Value::Null, "{source}: {row}");
            } else {
                // tcp_fin_timeout above 60 s keeps a full orphan, which keeps its uid.
                assert_eq!(row["uid"], 65534, "{source}: {row}");
            }
        }
        let v = json(&[
            "summary", "--source", source, "--json", "--port", &port, "--user", "root",
        ]);
        assert_eq!(v["states"]["FIN_WAIT_2"], 0, "{source}: not root's: {v}");
        assert_eq!(
            v["states"]["CLOSE_WAIT"], 2,
            "{source}: the server ends are: {v}"
        );
        assert_eq!(v["states"]["LISTEN"], 1, "{source}: {v}");
        let table = text(&[
            "list",
            "--source",
            source,
            "--dport",
            &port,
            "--state",
            "fin-wait-2",
            "-o",
        ]);
        for line in table.lines().skip(1) {
            let user = line.split_whitespace().nth(5).expect("USER column");
            if line.contains("timewait:") {
                assert_eq!(user, "-", "{source}: {line}");
            } else {
                assert_ne!(user, "root", "{source}: {line}");
            }
        }
    }
    drop(servers);
}

/// /proc does not report a listener's backlog: `list` says `-` / null rather than a false 0,
/// and `--state closed` from /proc, which cannot see bound-only sockets, is said on stderr.
#[test]
fn list_from_proc_marks_what_it_cannot_see() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let v = json(&["list", "--source", "netlink", "--sport", &port, "--json"]);
    assert_eq!(v["sockets"][0]["send_q"], 128, "netlink: the backlog: {v}");
    let v = json(&["list", "--source", "proc", "--sport", &port, "--json"]);
    assert_eq!(v["sockets"][0]["state"], "LISTEN");
    assert_eq!(
        v["sockets"][0]["send_q"],
        Value::Null,
        "proc: unknown, not 0: {v}"
    );
    let table = text(&["list", "--source", "proc", "--sport", &port, "--no-header"]);
    let fields: Vec<&str> = table.split_whitespace().collect();
    assert_eq!(
        (fields[0], fields[3], fields[4]),
        ("LISTEN", "0", "-"),
        "{table}"
    );

    let args = [
        "list", "--source", "proc", "--state", "closed", "--sport", &port,
    ];
    let o = run(&args);
    assert!(o.status.success(), "{}", describe(&args, &o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count(),
        1,
        "header only"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("CLOSED not counted: not visible to the proc source"),
        "{err}"
    );
    let args = [
        "list", "--source", "netlink", "--state", "closed", "--sport", &port,
    ];
    let o = run(&args);
    assert!(o.stderr.is_empty(), "{}", describe(&args, &o));
    let args = ["list", "--source", "proc", "--sport", &port];
    let o = run(&args);
    assert!(
        o.stderr.is_empty(),
        "no --state, nothing to say: {}",
        describe(&args, &o)
    );
}

/// A process renamed so that its name contains the PROCESS column's separators is quoted:
/// `PID/"x,1/sshd root"`, not `PID/x,1/sshd root` (which reads as two owners).
#[test]
fn list_quotes_command_names_with_separators() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let held = std::os::fd::OwnedFd::from(listener.try_clone().expect("dup"));
    // bash renames itself through /proc/PID/comm and holds the listener as its stdin (sleep
    // gets /dev/null, so bash is the only other owner; `; true` keeps bash from exec'ing it).
    let spawned = Command::new("bash")
        .args([
            "-c",
            "printf 'x,1/sshd root' > /proc/$$/comm; sleep 600 < /dev/null; true",
        ])
        .stdin(Stdio::from(held))
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            skip(format!("no bash ({e})"));
            return;
        }
    };
    let pid = child.id();
    let out = wait_for("the renamed child", || {
        let out = text(&["list", "-p", "--sport", &port, "--no-header"]);
        out.contains(&format!("{pid}/\"x,1/sshd root\""))
            .then_some(out)
    });
    assert!(
        out.contains(&format!("{}/", std::process::id())),
        "both owners: {out}"
    );
    let v = json(&["list", "-p", "--sport", &port, "--json"]);
    let owners = v["sockets"][0]["owners"].as_array().expect("owners");
    assert!(
        owners
            .iter()
            .any(|o| o["pid"] == pid && o["command"] == "x,1/sshd root"),
        "JSON is structured, not quoted: {v}"
    );
    child.kill().expect("kill");
    child.wait().expect("reap");
}

/// The state columns of `ports` and `procs` are the states selected (zeros included), and a
/// column that is not a measurement (not selected, not visible to the source) is `-` with
/// summary's footnote.
#[test]
fn state_columns_follow_the_selection_and_mark_what_is_not_counted() {
    let _serial = serial();
    let svc = Service::new(1);
    let port = svc.port_arg();
    let header = |out: &str| -> Vec<String> {
        out.lines()
            .next()
            .expect("header")
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let out = text(&[
        "ports", "--sport", &port, "--state", "syn-sent", "--color", "never",
    ]);
    assert_eq!(
        header(&out),
        ["PORT", "DIR", "SYN_SENT", "TOTAL", "ACCEPT-Q"],
        "no made-up ESTABLISHED column: {out}"
    );
    for source in ["proc", "netlink"] {
        let out = text(&[
            "procs", "--source", source, "--port", &port, "--state", "closed", "--color", "never",
        ]);
        assert_eq!(
            header(&out),
            ["PID", "COMMAND", "USER", "CLOSED", "TOTAL"],
            "{out}"
        );
        let note = out.contains("- = not visible to this source: CLOSED");
        assert_eq!(note, source == "proc", "{source}: {out}");
    }
    let out = text(&[
        "ports",
        "--source",
        "proc",
        "--port",
        &port,
        "--all-states",
        "--state",
        "estab",
        "--color",
        "never",
    ]);
    assert_eq!(header(&out).len(), 2 + 11 + 2, "{out}");
    let inbound = out
        .lines()
        .find(|l| l.starts_with(&format!("{port} ")) && l.contains(" in "))
        .expect("in row");
    let cells: Vec<&str> = inbound.split_whitespace().collect();
    // LISTEN is not selected, ESTABLISHED is counted, CLOSED is not visible to /proc.
    assert_eq!((cells[2], cells[5], cells[12]), ("-", "1", "-"), "{out}");
    assert!(
        out.contains("- = not selected by --state: LISTEN, SYN_SENT, SYN_RECV, FIN_WAIT_1"),
        "{out}"
    );
    assert!(
        out.contains("- = not visible to this source: CLOSED"),
        "{out}"
    );
}

/// `--top N` says what it left out: a footer line and JSON `ports_omitted` /
/// `processes_omitted`.
#[test]
fn top_says_how_many_rows_it_left_out() {
    let _serial = serial();
    let svc = Service::new(2);
    let port = svc.port_arg();
    let v = json(&["ports", "--port", &port, "--json"]);
    assert_eq!(
        (v["ports"].as_array().map(Vec::len), &v["ports_omitted"]),
        (Some(2), &Value::from(0))
    );
    let v = json(&["ports", "--port", &port, "--json", "--top", "1"]);
    assert_eq!(v["ports"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["ports_omitted"], 1, "{v}");
    let out = text(&["ports", "--port", &port, "--top", "1"]);
    assert!(out.contains("1 more row(s) not shown (--top 1)"), "{out}");
    let out = text(&["ports", "--port", &port, "--top", "2"]);
    assert!(!out.contains("not shown"), "{out}");

    let (mut child, dir) = child_holding(&svc.listener, "top-test");
    let child_pid = child.id();
    wait_for("the child to hold the listener", || {
        let v = json(&["procs", "--port", &port, "--json"]);
        (v["processes"].as_array().map_or(0, Vec::len) == 2).then_some(())
    });
    let v = json(&["procs", "--port", &port, "--json", "--top", "1"]);
    assert_eq!(v["processes"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        v["processes"][0]["pid"],
        std::process::id(),
        "the busiest stays: {v}"
    );
    assert_eq!(v["processes_omitted"], 1, "{v}");
    let out = text(&["procs", "--port", &port, "--top", "1"]);
    assert!(out.contains("1 more row(s) not shown (--top 1)"), "{out}");
    assert!(!out.contains(&child_pid.to_string()), "{out}");
    child.kill().expect("kill");
    child.wait().expect("reap");
    let _ = std::fs::remove_dir_all(dir);
}

/// A copy of a recorded /proc tree in the temp directory, removed on drop.
struct FixtureCopy(PathBuf);

impl FixtureCopy {
    fn of(name: &str, tag: &str) -> FixtureCopy {
        let dir =
            std::env::temp_dir().join(format!("tcpstat-breakdown-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ok = Command::new("cp")
            .arg("-a")
            .arg(fixture(name))
            .arg(&dir)
            .status()
            .expect("cp")
            .success();
        assert!(ok, "copy {name}");
        FixtureCopy(dir)
    }

    fn root(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for FixtureCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A process whose descriptors cannot be read because of an I/O error (here: its fd
/// "directory" is a file) is counted as failed, in JSON and in the legend of the hidden row,
/// whose label does not blame permissions.
#[test]
fn owner_walk_failures_are_counted_and_explained() {
    let _serial = serial();
    let tree = FixtureCopy::of("proc-doctor", "failed");
    let fd = tree.0.join("4300/fd");
    std::fs::remove_dir_all(&fd).expect("rm fd");
    std::fs::write(&fd, "not a directory").expect("fd file");
    let args = ["procs", "--source", "proc", "--proc-root", tree.root()];
    let v = json(&[&args[..], &["--json"]].concat());
    assert_eq!(v["owner_scan"]["processes_failed"], 1, "{v}");
    assert_eq!(v["owner_scan"]["processes_hidden"], 0, "{v}");
    assert_eq!(v["hidden"]["total"], 7, "client's sockets: {v}");
    let reason = v["hidden"]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("I/O errors") && !reason.contains("root"),
        "{reason}"
    );
    let out = text(&args);
    assert!(out.contains("(hidden: unreadable)"), "{out}");
    assert!(!out.contains("needs root"), "{out}");
    assert!(
        out.contains("(hidden: unreadable): 1 process(es) could not be read because of I/O errors"),
        "{out}"
    );
}

/// `net.ipv4.ip_local_port_range` of this namespace.
fn ephemeral_range() -> (u16, u16) {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").expect("range");
    let mut bounds = text
        .split_whitespace()
        .map(|p| p.parse::<u16>().expect("port"));
    (bounds.next().expect("low"), bounds.next().expect("high"))
}

/// A loopback listener on a free port outside the ephemeral range.
fn listener_outside_ephemeral_range() -> TcpListener {
    let (lo, hi) = ephemeral_range();
    (1024..lo)
        .rev()
        .chain(hi.saturating_add(1)..=u16::MAX)
        .find_map(|port| TcpListener::bind(("127.0.0.1", port)).ok())
        .expect("a free port outside the ephemeral range")
}

/// When the listener is gone, connections still have a service port: the one outside the
/// ephemeral range, else the lower one; not the client's ephemeral port.
#[test]
fn without_a_listener_the_service_port_is_the_non_ephemeral_one() {
    let _serial = serial();
    let listener = listener_outside_ephemeral_range();
    let port = listener.local_addr().expect("addr").port();
    let clients: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    let servers: Vec<TcpStream> = (0..2)
        .map(|_| listener.accept().expect("accept").0)
        .collect();
    // The server stops listening; the clients hang up; the server never closes its ends.
    drop(listener);
    for c in &clients {
        c.shutdown(Shutdown::Write).expect("shutdown");
    }
    let p = port.to_string();
    for source in ["netlink", "proc"] {
        let v = wait_for("CLOSE_WAIT and FIN_WAIT_2", || {
            let v = json(&["ports", "--source", source, "--port", &p, "--json"]);
            let total = |dir: &str, state: &str| {
                v["ports"]
                    .as_array()
                    .expect("array")
                    .iter()
                    .filter(|r| r["port"] == port && r["direction"] == dir)
                    .map(|r| state_count(r, state))
                    .sum::<u64>()
            };
            (total("in", "CLOSE_WAIT") == 2 && total("out", "FIN_WAIT_2") == 2).then_some(v)
        });
        let rows = v["ports"].as_array().expect("array");
        assert_eq!(
            rows.len(),
            2,
            "{source}: one in and one out row for {port}: {v}"
        );
        assert!(
            rows.iter().all(|r| r["listener"].is_null()),
            "{source}: {v}"
        );
    }
    let table = text(&["ports", "--port", &p, "--color", "never"]);
    assert!(
        table.contains("the side outside net.ipv4.ip_local_port_range"),
        "{table}"
    );

    // Both ports ephemeral (a listener on port 0 gets one from the range): the lower one.
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    drop(listener);
    let lower = port.min(client.local_addr().expect("addr").port());
    let v = json(&["ports", "--port", &port.to_string(), "--json"]);
    let rows: Vec<(u64, &str)> = v["ports"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["port"].as_u64().expect("port"),
                r["direction"].as_str().expect("dir"),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "{v}");
    assert!(
        rows.contains(&(u64::from(lower), "in")) && rows.contains(&(u64::from(lower), "out")),
        "{v}"
    );
    drop((clients, servers, client, server));
}

/// Connections the kernel completed but the listener has not accept()ed yet have no file
/// (inode 0), like orphans, but they are not: they get a row of their own, which names the
/// listening socket and the process that has not accepted them.
#[test]
fn connections_not_accepted_yet_have_their_own_row_naming_the_listener() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let p = port.to_string();
    let mut clients: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    // Two clients hang up before being accepted: their connections wait in CLOSE_WAIT, and
    // the clients' ends are orphans (FIN_WAIT_2), which do belong in (no owner).
    clients.truncate(1);
    let me = std::process::id();
    for source in ["netlink", "proc"] {
        let v = wait_for("the queue in ESTABLISHED and CLOSE_WAIT", || {
            let v = json(&["procs", "--source", source, "--port", &p, "--json"]);
            let q = &v["not_accepted"]["states"];
            (q["ESTABLISHED"] == 1
                && q["CLOSE_WAIT"] == 2
                && v["no_owner"]["states"]["FIN_WAIT_2"] == 2)
                .then_some(v)
        });
        assert_eq!(v["not_accepted"]["total"], 3, "{source}: {v}");
        assert_eq!(
            v["not_accepted"]["listeners"],
            serde_json::json!([{
                "local_address": "127.0.0.1",
                "local_port": port,
                "queued": 3,
                "found": true,
                "owners": [{"pid": me, "command": my_comm()}],
            }]),
            "{source}: {v}"
        );
        assert!(
            v["not_accepted"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("accept()")),
            "{v}"
        );
        let no_owner = &v["no_owner"];
        assert_eq!(no_owner["total"], 2, "{source}: only the orphans: {v}");
        let mine = &v["processes"][0];
        assert_eq!(mine["pid"], me);
        assert_eq!(
            (
                state_count(mine, "LISTEN"),
                state_count(mine, "ESTABLISHED")
            ),
            (1, 1),
            "{source}: the listener and the remaining client: {v}"
        );
        assert_eq!(v["total"], 7, "{source}: {v}");

        let table = text(&[
            "procs", "--source", source, "--port", &p, "--color", "never",
        ]);
        let row = table
            .lines()
            .find(|l| l.contains("(not accepted)"))
            .unwrap_or_else(|| panic!("{source}: no (not accepted) row: {table}"));
        assert!(row.trim_end().ends_with(" 3"), "{row}");
        assert!(
            table.contains(&format!(
                "3 on 127.0.0.1:{port} (listening process: {me}/{})",
                my_comm()
            )),
            "{source}: the legend names the listener: {table}"
        );
        assert!(table.contains("see ACCEPT-Q in `tcpstat ports`"), "{table}");
        let list = text(&[
            "list",
            "-p",
            "--source",
            source,
            "--sport",
            &p,
            "--state",
            "close-wait",
        ]);
        assert_eq!(
            list.lines()
                .filter(|l| l.ends_with(" (not accepted)"))
                .count(),
            2,
            "{source}: {list}"
        );
    }
    // What `ports` shows for the same queue.
    let v = json(&["ports", "--sport", &p, "--state", "listen", "--json"]);
    assert_eq!(v["ports"][0]["listener"]["queued"], 3, "{v}");
    // And the metric: a reason of their own, not no_owner.
    let metrics = text(&["procs", "--port", &p, "--format", "prometheus"]);
    for (reason, state, n) in [
        ("not_accepted", "CLOSE_WAIT", 2),
        ("not_accepted", "ESTABLISHED", 1),
        ("no_owner", "FIN_WAIT_2", 2),
    ] {
        let line = format!("tcpstat_unowned_sockets{{reason=\"{reason}\",state=\"{state}\"}} {n}");
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    drop((listener, clients));
}

/// `libnss_wrapper.so` (Debian: libnss-wrapper), which answers the C library's user and
/// group lookups from files named in the environment instead of the configured NSS sources.
/// Not in the linker cache (no soname): looked for in the library directories, the
/// multiarch ones of this architecture included.
fn nss_wrapper_library() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for base in ["/usr/lib", "/lib", "/usr/lib64", "/lib64", "/usr/local/lib"] {
        let base = PathBuf::from(base);
        if let Ok(entries) = std::fs::read_dir(&base) {
            let mut multiarch: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(std::env::consts::ARCH))
                })
                .collect();
            multiarch.sort();
            dirs.extend(multiarch);
        }
        dirs.push(base);
    }
    dirs.into_iter()
        .map(|d| d.join("libnss_wrapper.so"))
        .find(|p| p.is_file())
}

/// User names come from the C library's user database (NSS: `getpwuid_r`, and `getpwnam_r`
/// for `--user NAME`), not from /etc/passwd alone: a directory user (LDAP, SSSD), here one
/// that nss_wrapper serves and /etc/passwd does not have, is named in `list`, `procs` and
/// `--user`. Before, such a user showed as a number and `--user NAME` was unknown.
#[test]
fn user_names_come_from_nss_not_only_etc_passwd() {
    const UID: u32 = 54321;
    let _serial = serial();
    if !is_root() {
        skip(format!("needs root to connect as another user (uid {UID})"));
        return;
    }
    let Some(library) = nss_wrapper_library() else {
        skip("libnss_wrapper.so is not installed (Debian package libnss-wrapper)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("tcpstat-nss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let passwd = dir.join("passwd");
    let group = dir.join("group");
    std::fs::write(
        &passwd,
        format!("ldapuser:x:{UID}:{UID}:LDAP user:/nonexistent:/bin/false\n"),
    )
    .expect("write passwd");
    std::fs::write(&group, format!("ldapusers:x:{UID}:\n")).expect("write group");
    // tcpstat with the user database nss_wrapper's files make (and nothing else: root is
    // not in them).
    let nss = |args: &[&str]| {
        let o = tcpstat()
            .env("LD_PRELOAD", &library)
            .env("NSS_WRAPPER_PASSWD", &passwd)
            .env("NSS_WRAPPER_GROUP", &group)
            .args(args)
            .output()
            .expect("runs");
        assert!(
            o.status.success(),
            "with nss_wrapper: {}",
            describe(args, &o)
        );
        String::from_utf8(o.stdout).expect("utf-8")
    };

    // The client end of a connection to a listener of ours, made (and held, by sleep) as
    // uid 54321: the socket's uid and its owner process's are 54321.
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let mut child = match Command::new("bash")
        .args([
            "-c",
            &format!("exec 3<>/dev/tcp/127.0.0.1/{port} && exec sleep 600"),
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .uid(UID)
        .gid(UID)
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(child) => Reaped(child),
        Err(e) => {
            skip(format!("no bash to run the client ({e})"));
            return;
        }
    };
    listener.set_nonblocking(true).expect("nonblocking");
    let (server, client) = wait_until("the client to connect", WAIT, || {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("the client ended: {status:?}");
        }
        listener.accept().map_err(|e| e.to_string())
    });
    let client_port = client.port().to_string();
    let sleep_pid = child.0.id();
    wait_for("the client to be sleep, holding the socket", || {
        let v = json(&["procs", "--port", &port, "--json"]);
        v["processes"]
            .as_array()?
            .iter()
            .any(|p| p["pid"] == sleep_pid && p["command"] == "sleep")
            .then_some(())
    });

    // The USER column of `list`: the name NSS gives.
    let user_of = |table: &str| -> String {
        let local = format!("127.0.0.1:{client_port}");
        let row = table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
            .unwrap_or_else(|| panic!("no row for {local}: {table}"));
        row.split_whitespace()
            .nth(5)
            .expect("USER column")
            .to_string()
    };
    let with = nss(&["list", "--port", &port]);
    assert!(
        with.lines().next().is_some_and(|h| h.contains(" USER ")),
        "{with}"
    );
    assert_eq!(user_of(&with), "ldapuser", "{with}");
    // Without nss_wrapper this machine's user database has no uid 54321: the number, so the
    // name above came from NSS.
    let without = text(&["list", "--port", &port]);
    assert_eq!(user_of(&without), UID.to_string(), "{without}");

    // The process's user in `procs`.
    let v: Value = serde_json::from_str(&nss(&["procs", "--port", &port, "--json"])).expect("json");
    let rows = v["processes"].as_array().expect("processes");
    let sleep = rows
        .iter()
        .find(|p| p["pid"] == sleep_pid)
        .unwrap_or_else(|| panic!("no row for sleep ({sleep_pid}): {v}"));
    assert_eq!(
        (&sleep["uid"], &sleep["user"]),
        (&UID.into(), &"ldapuser".into()),
        "{v}"
    );
    let v = json(&["procs", "--port", &port, "--json"]);
    let sleep = v["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .find(|p| p["pid"] == sleep_pid)
        .unwrap_or_else(|| panic!("no row for sleep ({sleep_pid}): {v}"));
    assert_eq!(sleep["user"], Value::Null, "no name without NSS: {v}");

    // `--user NAME` resolves the name through NSS, to the same sockets as the uid: the one
    // client end (the listener and the server end are root's).
    let total = |v: &str| -> (u64, u64) {
        let v: Value = serde_json::from_str(v).expect("json");
        (
            v["total"].as_u64().expect("total"),
            v["states"]["ESTABLISHED"].as_u64().expect("count"),
        )
    };
    let by_name = nss(&["summary", "--user", "ldapuser", "--port", &port, "--json"]);
    assert_eq!(total(&by_name), (1, 1), "{by_name}");
    let by_uid = nss(&[
        "summary",
        "--user",
        &UID.to_string(),
        "--port",
        &port,
        "--json",
    ]);
    assert_eq!(total(&by_uid), (1, 1), "{by_uid}");
    let args = ["summary", "--user", "ldapuser", "--port", &port, "--json"];
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(2),
        "without NSS the name is unknown: {}",
        describe(&args, &o)
    );

    drop((child, server, listener));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A child process killed and reaped when dropped, also when an assertion fails first.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
