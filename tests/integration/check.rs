//! `tcpstat check` as a monitoring plugin: one status line with performance data and the
//! plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), on the recorded `proc-doctor`
//! fixture (exact numbers) and on real CLOSE_WAIT sockets; usage and runtime errors are
//! UNKNOWN, never clap's 2 (CRITICAL to a monitoring system) or 1.

use std::io::Read;
use std::net::{Ipv4Addr, Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::util::states::fresh_listener;
use std::os::unix::process::CommandExt;

use crate::util::run::hold_as;
use crate::util::{describe, fixture, is_root, run, serial, skip, tcpstat};

/// `check` with `args` on the fixture: (exit status, the one stdout line).
fn check_fixture(args: &[&str]) -> (i32, String) {
    let root = fixture("proc-doctor");
    let mut all = vec![
        "check",
        "--source",
        "proc",
        "--proc-root",
        root.to_str().expect("utf-8"),
    ];
    all.extend_from_slice(args);
    status_line(&all)
}

fn status_line(args: &[&str]) -> (i32, String) {
    let o = run(args);
    let stdout = String::from_utf8(o.stdout.clone()).expect("utf-8");
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one line on stdout for {args:?}: {stdout:?}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.starts_with("TCPSTAT "), "{stdout}");
    (
        o.status.code().expect("exited"),
        stdout.trim_end().to_string(),
    )
}

/// The performance data as (label, value;warn;crit), trailing empty fields dropped. Every
/// item must end with the min field, 0 (a count is never negative), which is checked here
/// and not returned.
fn perfdata(line: &str) -> Vec<(String, String)> {
    let (_, perf) = line.split_once(" | ").expect("perfdata");
    perf.split(' ')
        .map(|item| {
            let (label, rest) = item.split_once('=').expect("label=value");
            let fields: Vec<&str> = rest.split(';').collect();
            assert_eq!(fields.len(), 4, "value;warn;crit;min in {item:?}");
            assert_eq!(fields[3], "0", "min 0 in {item:?}");
            let kept = fields[..3].join(";");
            (label.to_string(), kept.trim_end_matches(';').to_string())
        })
        .collect()
}

fn perf(line: &str, label: &str) -> String {
    perfdata(line)
        .into_iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no {label} in {line}"))
        .1
}

#[test]
fn ok_warning_and_critical_with_perfdata() {
    let _serial = serial();
    // The fixture: 3 CLOSE_WAIT, 5 TIME_WAIT, 2 SYN_SENT, 20 sockets.
    let (code, line) = check_fixture(&["--warn", "CLOSE_WAIT=5", "--crit", "CLOSE_WAIT=10"]);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with("TCPSTAT OK - 20 sockets; CLOSE_WAIT 3 | total=20;;;0 listen=3;;;0 "),
        "{line}"
    );
    assert_eq!(perf(&line, "close_wait"), "3;5;10");
    assert_eq!(perf(&line, "time_wait"), "5");
    assert!(
        perfdata(&line).iter().all(|(l, _)| l != "closed"),
        "/proc cannot see CLOSED: no perfdata for it: {line}"
    );

    let (code, line) = check_fixture(&["--warn", "CLOSE_WAIT=2", "--crit", "CLOSE_WAIT=5"]);
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with("TCPSTAT WARNING - CLOSE_WAIT 3 (warn 2); 20 sockets | "),
        "{line}"
    );
    assert_eq!(perf(&line, "close_wait"), "3;2;5");

    let (code, line) = check_fixture(&[
        "--warn",
        "time-wait=4",
        "--crit",
        "CLOSE_WAIT:8080=2",
        "--crit",
        "total=100",
    ]);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.starts_with(
            "TCPSTAT CRITICAL - CLOSE_WAIT:8080 3 (crit 2), TIME_WAIT 5 (warn 4); 20 sockets | "
        ),
        "{line}"
    );
    assert_eq!(perf(&line, "close_wait_port_8080"), "3;;2");
    assert_eq!(perf(&line, "total"), "20;;100");
    // Port 9000 carries the TIME_WAIT: per-port counts are either side's port.
    let (code, line) = check_fixture(&["--crit", "TIME_WAIT:9000=4"]);
    assert_eq!(
        (code, perf(&line, "time_wait_port_9000")),
        (2, "5;;4".to_string())
    );
}

#[test]
fn plugin_ranges_and_groups() {
    let _serial = serial();
    // "N:" alerts below N: 2 SYN_SENT are fewer than 3.
    let (code, line) = check_fixture(&["--warn", "SYN_SENT=3:"]);
    assert_eq!(code, 1, "{line}");
    assert_eq!(perf(&line, "syn_sent"), "2;3:");
    // "@N:M" alerts inside: 3 CLOSE_WAIT are in 1..5.
    let (code, _) = check_fixture(&["--crit", "CLOSE_WAIT=@1:5"]);
    assert_eq!(code, 2);
    let (code, _) = check_fixture(&["--crit", "CLOSE_WAIT=@4:5"]);
    assert_eq!(code, 0);
    // "~:N" alerts above N; a plain N too (and below 0, which a count never is).
    let (code, _) = check_fixture(&["--warn", "total=~:19"]);
    assert_eq!(code, 1);
    let (code, _) = check_fixture(&["--warn", "total=20"]);
    assert_eq!(code, 0, "20 is not above 20");
    // A group sums its states: bucket = SYN_RECV + TIME_WAIT = 5.
    let (code, line) = check_fixture(&["--warn", "bucket=4"]);
    assert_eq!((code, perf(&line, "bucket")), (1, "5;4".to_string()));
}

#[test]
fn what_cannot_be_measured_is_unknown() {
    let _serial = serial();
    // /proc cannot see CLOSED.
    let (code, line) = check_fixture(&["--crit", "CLOSED=1"]);
    assert_eq!(code, 3, "{line}");
    assert!(
        line.starts_with("TCPSTAT UNKNOWN - CLOSED cannot be measured: CLOSED is not visible"),
        "{line}"
    );
    // A state excluded by --state.
    let (code, line) = check_fixture(&["--state", "established", "--warn", "TIME_WAIT=1"]);
    assert_eq!(code, 3, "{line}");
    assert!(
        line.contains("TIME_WAIT is not selected by --state"),
        "{line}"
    );
}

#[test]
fn what_cannot_be_measured_is_left_out_of_the_performance_data() {
    let _serial = serial();
    // A 0 in perfdata is a measurement to a graph: a state not counted must not appear.
    let (code, line) = check_fixture(&["--warn", "CLOSED=1"]);
    assert_eq!(code, 3, "{line}");
    let labels: Vec<String> = perfdata(&line).into_iter().map(|(l, _)| l).collect();
    assert!(!labels.iter().any(|l| l == "closed"), "{line}");
    assert_eq!(perf(&line, "total"), "20", "what was measured stays");
    let (code, line) = check_fixture(&["--state", "close-wait", "--warn", "listen=0:0"]);
    assert_eq!(code, 3, "{line}");
    let labels: Vec<String> = perfdata(&line).into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["total", "close_wait"], "{line}");
    assert_eq!(perf(&line, "close_wait"), "3");
    // A group partly visible (big includes CLOSED, which /proc cannot see) is still measured:
    // its counted states, all but SYN_RECV and TIME_WAIT (5).
    let (code, line) = check_fixture(&["--warn", "big=100"]);
    assert_eq!(
        (code, perf(&line, "big")),
        (0, "15;100".to_string()),
        "{line}"
    );
}

#[test]
fn a_pipe_in_the_status_text_cannot_start_the_performance_data() {
    let _serial = serial();
    let (code, line) = status_line(&["check", "--source", "proc", "--proc-root", "/tmp/a|b"]);
    assert_eq!(code, 3, "{line}");
    assert_eq!(
        line,
        "TCPSTAT UNKNOWN - cannot read /tmp/a\\x7cb/net/tcp: No such file or directory (os error 2)"
    );
    assert!(
        !line.contains('|'),
        "Nagios would split the text here: {line}"
    );
}

#[test]
fn namespace_errors_are_unknown_with_a_status_line() {
    let _serial = serial();
    // These fail before anything is counted; they must still print the plugin's line.
    for (args, needle) in [
        (
            ["check", "--netns", "/nonexistent/netns"],
            "/nonexistent/netns",
        ),
        (
            ["check", "--netns", "no-such-netns-xyz"],
            "no such named namespace",
        ),
        (
            ["check", "--netns-pid", "999999999"],
            "no process 999999999",
        ),
        (["check", "--netns", "/etc/passwd"], "not a namespace file"),
    ] {
        let o = run(&args);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(3), "{}", describe(&args, &o));
        assert_eq!(stdout.lines().count(), 1, "{}", describe(&args, &o));
        assert!(
            stdout.starts_with("TCPSTAT UNKNOWN - network namespace ") && stdout.contains(needle),
            "{}",
            describe(&args, &o)
        );
        // The same cause on stderr, as for every other subcommand.
        assert!(String::from_utf8_lossy(&o.stderr).contains(needle));
    }
}

#[test]
fn an_owner_filter_matching_no_process_is_unknown_not_zero() {
    let _serial = serial();
    // The fixture's processes: leakyd (4242), client (4300), ...
    let (code, line) = check_fixture(&["--process", "nginx", "--warn", "CLOSE_WAIT=1"]);
    assert_eq!(code, 3, "{line}");
    assert_eq!(
        line,
        "TCPSTAT UNKNOWN - no running process matches --process nginx"
    );
    let (code, line) = check_fixture(&["--pid", "4300", "--process", "leakyd"]);
    assert_eq!(code, 3, "both filters apply: {line}");
    assert!(
        line.ends_with("matches --pid 4300 --process leakyd"),
        "{line}"
    );
    let (code, line) = check_fixture(&["--process", "leakyd", "--warn", "CLOSE_WAIT=2"]);
    assert_eq!(code, 1, "{line}");
    assert_eq!(perf(&line, "close_wait"), "3;2");
    // A live process without sockets is a true 0; a pid that is not running is UNKNOWN.
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    let pid = child.id().to_string();
    let (code, line) = status_line(&["check", "--pid", &pid]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code, 0, "{line}");
    assert!(line.starts_with("TCPSTAT OK - 0 sockets |"), "{line}");
    let (code, line) = status_line(&["check", "--pid", "999999999"]);
    assert_eq!(code, 3, "{line}");
    assert!(
        line.ends_with("no running process matches --pid 999999999"),
        "{line}"
    );
    // A user with no sockets is legitimately 0.
    let (code, line) = status_line(&["check", "--user", "4000000000"]);
    assert_eq!(
        (code, line.starts_with("TCPSTAT OK - 0 sockets")),
        (0, true),
        "{line}"
    );
}

#[test]
fn usage_errors_are_unknown_not_critical() {
    let _serial = serial();
    for (args, needle) in [
        (vec!["check", "--warn", "bogus=1"], "unknown key \"bogus\""),
        (vec!["check", "--warn", "CLOSE_WAIT=x"], "not a number"),
        (vec!["check", "--crit", "CLOSE_WAIT:http=1"], "not a port"),
        (vec!["check", "--bogus"], "unexpected argument '--bogus'"),
        (vec!["check", "--port", "70000"], "70000"),
        // Found as `check` past an option and its value, even when the line is refused:
        // summary's own options go after a subcommand (global ones such as --source may
        // come before it).
        (
            vec!["--state", "listen", "check"],
            "given before the subcommand 'check'",
        ),
        (
            vec!["check", "--warn", "CLOSE_WAIT=1", "--warn", "close-wait=2"],
            "given twice",
        ),
        (vec!["check", "--user", "no-such-user-here"], "unknown user"),
    ] {
        let o = run(&args);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {stdout}");
        assert!(
            stdout.starts_with("TCPSTAT UNKNOWN - usage error: ") && stdout.lines().count() == 1,
            "{args:?}: {stdout}"
        );
        assert!(stdout.contains(needle), "{args:?}: {stdout}");
        assert!(
            !String::from_utf8_lossy(&o.stderr).is_empty(),
            "the details go to stderr"
        );
    }
    // Help is not an error.
    let o = run(&["check", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("3 UNKNOWN"));
    // Other subcommands keep clap's usage status.
    assert_eq!(run(&["summary", "--bogus"]).status.code(), Some(2));
}

#[test]
fn runtime_errors_are_unknown() {
    let _serial = serial();
    let (code, line) = status_line(&[
        "check",
        "--source",
        "proc",
        "--proc-root",
        "/nonexistent/tcpstat",
        "--crit",
        "CLOSE_WAIT=1",
    ]);
    assert_eq!(code, 3);
    assert!(
        line.starts_with("TCPSTAT UNKNOWN - cannot read /nonexistent/tcpstat/net/tcp: "),
        "{line}"
    );
}

#[test]
fn live_close_wait_sockets_trip_the_thresholds() {
    let _serial = serial();
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut keep = Vec::new();
    for _ in 0..3 {
        let c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (s, _) = listener.accept().expect("accept");
        c.shutdown(Shutdown::Write).expect("shutdown");
        keep.push((c, s));
    }
    let p = port.to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let (code, line) = status_line(&[
            "check",
            "--port",
            &p,
            "--warn",
            "CLOSE_WAIT=2",
            "--crit",
            "CLOSE_WAIT=5",
        ]);
        // The server end is CLOSE_WAIT as soon as the FIN arrives, but the kernel may delay
        // its ACK of that FIN (CLOSE_WAIT turns on delayed-ACK mode), so the client ends can
        // still be FIN_WAIT_1 for a few tens of milliseconds: wait for both.
        if code == 1 && perf(&line, "fin_wait_2") == "3" {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "never WARNING with 3 FIN_WAIT_2: {line}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        line.starts_with("TCPSTAT WARNING - CLOSE_WAIT 3 (warn 2); 7 sockets |"),
        "{line}"
    );
    assert_eq!(perf(&line, "close_wait"), "3;2;5");
    assert_eq!(perf(&line, "fin_wait_2"), "3");
    assert_eq!(perf(&line, "listen"), "1");
    assert_eq!(perf(&line, "closed"), "0", "netlink sees CLOSED");
    let (code, line) = status_line(&[
        "check",
        "--port",
        &p,
        "--crit",
        &format!("CLOSE_WAIT:{p}=2"),
    ]);
    assert_eq!(code, 2, "{line}");
    // The clients finish closing: CLOSE_WAIT goes away, the check recovers.
    for (_, mut s) in keep.drain(..) {
        let mut buf = [0u8; 1];
        assert_eq!(s.read(&mut buf).expect("eof"), 0);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, line) = status_line(&["check", "--port", &p, "--warn", "CLOSE_WAIT=0"]);
        if code == 0 {
            assert_eq!(perf(&line, "close_wait"), "0;0");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "CLOSE_WAIT never cleared: {line}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_collection_that_hangs_is_unknown_within_the_timeout() {
    // A proc root whose socket table is a FIFO nobody writes: opening it blocks for ever,
    // as a read stuck in the kernel would.
    let root = std::env::temp_dir().join(format!("tcpstat-hang-{}", std::process::id()));
    std::fs::create_dir_all(root.join("net")).expect("dir");
    let fifo = root.join("net/tcp");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let began = std::time::Instant::now();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tcpstat"))
        .env_clear()
        .args(["check", "--proc-root"])
        .arg(&root)
        .args(["-t", "300ms", "-w", "10"])
        .output()
        .expect("tcpstat runs");
    let took = began.elapsed();
    let _ = std::fs::remove_dir_all(&root);
    let line = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{line}");
    assert!(
        line.starts_with("TCPSTAT UNKNOWN - timed out after 300ms"),
        "{line}"
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

/// Issue 14, item 1: as an unprivileged user (how NRPE and most agents run plugins), with a
/// socket really in CLOSE_WAIT held by another user's process, `check --process NAME` could
/// not see it and said `OK - 0 sockets`. A plugin never says OK about what it could not
/// measure: UNKNOWN, saying why; root sees the WARNING; every JSON says `complete: false`.
#[test]
fn an_ok_over_processes_it_could_not_read_is_unknown() {
    let _serial = serial();
    if !is_root() {
        skip("needs root to run tcpstat as an unprivileged user (uid 65534)");
        return;
    }
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    client.shutdown(Shutdown::Write).expect("shutdown");
    // The server end, in CLOSE_WAIT, held only by a root process named `cw-holder`.
    let (mut holder, dir) = hold_as("cw-holder", std::os::fd::OwnedFd::from(server));
    let filters = ["--process", "cw-holder", "--port", &port];
    let as_nobody = |args: &[&str]| {
        tcpstat()
            .uid(65534)
            .gid(65534)
            .args(args)
            .output()
            .expect("tcpstat runs as uid 65534")
    };
    let mut args = vec!["check", "--warn", "CLOSE_WAIT=0"];
    args.extend(filters);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, line) = status_line(&args);
        if code == 1 {
            assert!(
                line.starts_with("TCPSTAT WARNING - CLOSE_WAIT 1 (warn 0)"),
                "{line}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "root never saw it: {line}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = as_nobody(&args);
    let line = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{line}");
    assert!(
        line.starts_with("TCPSTAT UNKNOWN - 0 sockets; CLOSE_WAIT 0; incomplete: "),
        "{line}"
    );
    assert!(line.contains("could not be read"), "{line}");
    for report in ["summary", "ports", "procs", "list"] {
        let mut args = vec![report, "--json"];
        args.extend(filters);
        let o = as_nobody(&args);
        assert!(o.status.success(), "{report}: {o:?}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        assert_eq!(v["complete"], false, "{report}: {v}");
        assert!(
            v["warnings"]
                .as_array()
                .expect("warnings")
                .iter()
                .any(|w| w.as_str().is_some_and(|w| w.contains("cw-holder"))),
            "{report}: the warning names the process: {v}"
        );
    }
    holder.kill().expect("kill");
    holder.wait().expect("reap");
    let _ = std::fs::remove_dir_all(dir);
    drop(client);
}

/// Issue 14, item 4: the options the monitoring-plugins guidelines reserve. `-w`/`-c` with
/// a bare range judge the total; `-v` says where the numbers came from, `-vv` adds one line
/// per value; `-V` prints the version on every subcommand; `-t` is tested above.
#[test]
fn plugin_options_follow_the_guidelines() {
    let _serial = serial();
    let (code, bare) = check_fixture(&["-w", "10", "-c", "100"]);
    let (_, keyed) = check_fixture(&["--warn", "total=10", "--crit", "total=100"]);
    assert_eq!(code, 1, "{bare}");
    assert_eq!(bare, keyed);
    assert!(
        bare.starts_with("TCPSTAT WARNING - total 20 (warn 10); 20 sockets |"),
        "{bare}"
    );
    assert_eq!(perf(&bare, "total"), "20;10;100");
    let (_, quiet) = check_fixture(&["-w", "CLOSE_WAIT=1"]);
    let (_, verbose) = check_fixture(&["-w", "CLOSE_WAIT=1", "-v"]);
    assert!(!quiet.contains("source"), "{quiet}");
    assert!(verbose.contains("; source proc |"), "{verbose}");
    let root = fixture("proc-doctor");
    let o = run(&[
        "check",
        "--source",
        "proc",
        "--proc-root",
        root.to_str().expect("utf-8"),
        "-w",
        "CLOSE_WAIT=1",
        "-vv",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        lines[0].starts_with("TCPSTAT WARNING - CLOSE_WAIT 3 (warn 1)"),
        "{out}"
    );
    assert!(lines.contains(&"WARNING CLOSE_WAIT 3 (warn 1)"), "{out}");
    assert!(lines.contains(&"OK total 20"), "{out}");
    for sub in [
        "summary", "ports", "procs", "list", "watch", "doctor", "check", "serve",
    ] {
        let o = run(&[sub, "-V"]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{sub} -V: {o:?}");
        assert!(
            out.trim_end().ends_with(env!("CARGO_PKG_VERSION")),
            "{sub} -V: {out}"
        );
    }
}
