//! The real executable on recorded /proc fixtures and on the live kernel: JSON contract,
//! warnings, errors, exit codes, colour and pipes. Real-socket state tests live in states.rs.

use std::io::Read;
use std::process::{Command, Output, Stdio};

use serde::Deserialize;

use crate::util::{fixture, run, serial, skip, tcpstat};

fn on_fixture(name: &str, extra: &[&str]) -> Output {
    let root = fixture(name);
    let mut args = vec![
        "summary",
        "--source",
        "proc",
        "--proc-root",
        root.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

// The schema, mirrored with deny_unknown_fields: adding, removing or renaming a key fails here.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    schema_version: u32,
    timestamp: String,
    hostname: Option<String>,
    source_covers: Vec<String>,
    counted_states: Vec<String>,
    counted_families: Vec<String>,
    states: States,
    unknown: u64,
    total: u64,
    families: Families,
    unknown_states: Vec<UnknownState>,
    source: String,
    fallback_reason: Option<String>,
    complete: bool,
    warnings: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
struct States {
    #[serde(rename = "LISTEN")]
    listen: u64,
    #[serde(rename = "SYN_SENT")]
    syn_sent: u64,
    #[serde(rename = "SYN_RECV")]
    syn_recv: u64,
    #[serde(rename = "ESTABLISHED")]
    established: u64,
    #[serde(rename = "FIN_WAIT_1")]
    fin_wait_1: u64,
    #[serde(rename = "FIN_WAIT_2")]
    fin_wait_2: u64,
    #[serde(rename = "CLOSE_WAIT")]
    close_wait: u64,
    #[serde(rename = "CLOSING")]
    closing: u64,
    #[serde(rename = "LAST_ACK")]
    last_ack: u64,
    #[serde(rename = "TIME_WAIT")]
    time_wait: u64,
    #[serde(rename = "CLOSED")]
    closed: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Families {
    ipv4: Family,
    ipv6: Family,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Family {
    states: States,
    unknown: u64,
    total: u64,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct UnknownState {
    state_value: u8,
    ipv4: u64,
    ipv6: u64,
    total: u64,
}

fn parse(o: &Output) -> Summary {
    assert!(
        o.status.success(),
        "exit {:?}, stderr: {}",
        o.status,
        stderr(o)
    );
    let text = stdout(o);
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    serde_json::from_str(&text).expect("matches the schema")
}

/// The recorded table (captured with ss alongside, see tests/fixtures/README.md):
/// IPv4: LISTEN 1, ESTABLISHED 5, CLOSE_WAIT 1, FIN_WAIT_2 1, TIME_WAIT 1;
/// IPv6: LISTEN 1, ESTABLISHED 3 (one of them IPv4-mapped).
#[test]
fn recorded_proc_tables_give_exact_counts() {
    let _serial = serial();
    let s = parse(&on_fixture("proc-recorded", &["--json"]));
    assert_eq!(s.schema_version, 2);
    assert_eq!(s.source, "proc");
    assert_eq!(s.fallback_reason, None);
    assert!(
        !s.source_covers.contains(&"CLOSED".to_string()),
        "{:?}",
        s.source_covers
    );
    assert_eq!(s.source_covers.len(), 10);
    assert_eq!(s.hostname.as_deref(), Some("fixture-host"));
    assert!(
        s.timestamp.ends_with('Z') && s.timestamp.len() == 24,
        "{}",
        s.timestamp
    );
    let v4 = States {
        listen: 1,
        established: 5,
        close_wait: 1,
        fin_wait_2: 1,
        time_wait: 1,
        ..States::default()
    };
    let v6 = States {
        listen: 1,
        established: 3,
        ..States::default()
    };
    assert_eq!(s.families.ipv4.states, v4);
    assert_eq!(s.families.ipv6.states, v6);
    assert_eq!(
        (s.families.ipv4.total, s.families.ipv6.total, s.total),
        (9, 4, 13)
    );
    assert_eq!(s.states.established, 8);
    assert_eq!(s.states.listen, 2);
    assert!(s.complete);
    assert!(s.warnings.is_empty());
    assert!(s.unknown_states.is_empty());
    assert_eq!(s.unknown, 0);
}

#[test]
fn filters_apply_on_the_proc_source() {
    let _serial = serial();
    let s = parse(&on_fixture(
        "proc-recorded",
        &["--json", "--state", "estab,close-wait"],
    ));
    assert_eq!(s.counted_states, ["ESTABLISHED", "CLOSE_WAIT"]);
    assert_eq!(
        (s.states.established, s.states.close_wait, s.total),
        (8, 1, 9)
    );
    let s = parse(&on_fixture("proc-recorded", &["--json", "-6"]));
    assert_eq!((s.families.ipv4.total, s.total), (0, 4));
    assert_eq!(s.counted_families, ["ipv6"]);
    // 8443 is the IPv6 listener; --sport 8443 is its side of the connections only.
    let s = parse(&on_fixture("proc-recorded", &["--json", "--sport", "8443"]));
    assert_eq!((s.states.listen, s.states.established), (1, 2));
    let s = parse(&on_fixture("proc-recorded", &["--json", "--port", "8443"]));
    assert_eq!(s.states.established, 4, "both sides of two connections");
    let s = parse(&on_fixture(
        "proc-recorded",
        &["--json", "--dport", "8080-8080"],
    ));
    assert_eq!(
        (
            s.states.established,
            s.states.fin_wait_2,
            s.states.time_wait
        ),
        (2, 1, 1)
    );
}

#[test]
fn unknown_kernel_states_are_counted_not_dropped() {
    let _serial = serial();
    let s = parse(&on_fixture("proc-unknown", &["--json"]));
    assert_eq!(
        s.unknown_states,
        [
            UnknownState {
                state_value: 0,
                ipv4: 1,
                ipv6: 0,
                total: 1
            },
            UnknownState {
                state_value: 0x2a,
                ipv4: 1,
                ipv6: 0,
                total: 1
            },
        ]
    );
    assert_eq!(s.unknown, 2, "the sockets of every unknown value");
    assert_eq!((s.families.ipv4.unknown, s.families.ipv6.unknown), (2, 0));
    assert_eq!(s.total, 13, "unknown sockets are in the total");
    let table = stdout(&on_fixture("proc-unknown", &["--color", "never"]));
    assert!(
        table.contains("UNKNOWN(42)") && table.contains("UNKNOWN(0)"),
        "{table}"
    );
}

#[test]
fn malformed_lines_are_reported_and_the_rest_counted() {
    let _serial = serial();
    let o = on_fixture("proc-malformed", &["--json"]);
    let s = parse(&o);
    assert!(!s.complete);
    assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    assert!(
        s.warnings[0].contains("net/tcp: 1 malformed line(s)") && s.warnings[0].contains("line 4")
    );
    assert!(s.warnings[1].contains("net/tcp6: 1 malformed line(s)"));
    assert_eq!(s.total, 12, "13 recorded sockets, one line cut short");
    let err = stderr(&o);
    assert_eq!(err.matches("tcpstat: warning:").count(), 2, "{err}");
    let table = stdout(&on_fixture("proc-malformed", &["--color", "never"]));
    assert!(table.contains("incomplete"), "{table}");
}

#[test]
fn missing_ipv6_table_is_a_warning() {
    let _serial = serial();
    let s = parse(&on_fixture("proc-no-tcp6", &["--json"]));
    assert_eq!(s.total, 9);
    assert!(s.warnings[0].contains("IPv6 disabled?"), "{:?}", s.warnings);
}

#[test]
fn unreadable_tables_are_runtime_errors() {
    let _serial = serial();
    let o = on_fixture("proc-empty", &["--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty(), "no partial output");
    let err = stderr(&o);
    assert!(
        err.starts_with("tcpstat: ") && err.contains("net/tcp") && err.contains("empty"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let o = on_fixture("does-not-exist", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("does-not-exist/net/tcp"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn usage_errors_exit_2_and_name_the_value() {
    let _serial = serial();
    for (args, needle) in [
        (&["--state", "bogus"][..], "bogus"),
        (&["summary", "--port", "70000"][..], "70000"),
        (&["--sport", "1-2-3"][..], "2-3"),
        (&["--source", "carrier-pigeon"][..], "carrier-pigeon"),
        (&["frobnicate"][..], "frobnicate"),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    let o = run(&["--state", "nope"]);
    assert!(
        stderr(&o).contains("CLOSE_WAIT") && stderr(&o).contains("synchronized"),
        "lists valid names"
    );
}

#[test]
fn table_lists_all_eleven_states_in_lifecycle_order() {
    let _serial = serial();
    let text = stdout(&on_fixture("proc-recorded", &["--color", "never"]));
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| {
            w.chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        })
        .collect();
    assert_eq!(
        names,
        [
            "STATE",
            "LISTEN",
            "SYN_SENT",
            "SYN_RECV",
            "ESTABLISHED",
            "FIN_WAIT_1",
            "FIN_WAIT_2",
            "CLOSE_WAIT",
            "CLOSING",
            "LAST_ACK",
            "TIME_WAIT",
            "CLOSED",
            "TOTAL"
        ]
    );
    assert!(text.contains("source: /proc/net/tcp{,6}"), "{text}");
    assert!(
        text.contains("- = not visible to this source (/proc cannot see it): CLOSED"),
        "{text}"
    );
    let total = text
        .lines()
        .find(|l| l.trim_start().starts_with("TOTAL "))
        .expect("total row");
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["TOTAL", "9", "4", "13"]
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let _serial = serial();
    let plain = stdout(&on_fixture("proc-recorded", &[]));
    assert!(!plain.contains('\x1b'), "piped output is plain");
    let forced = stdout(&on_fixture("proc-recorded", &["--color", "always"]));
    assert!(forced.contains("\x1b["), "--color always colours");
    let json = stdout(&on_fixture(
        "proc-recorded",
        &["--json", "--color", "always"],
    ));
    assert!(!json.contains('\x1b'), "JSON is never coloured");
    let root = fixture("proc-recorded");
    let o = tcpstat()
        .env("NO_COLOR", "1")
        .args([
            "--source",
            "proc",
            "--proc-root",
            root.to_str().expect("utf-8"),
            "--color",
            "always",
        ])
        .output()
        .expect("runs");
    assert!(
        stdout(&o).contains("\x1b["),
        "--color always beats NO_COLOR"
    );
}

#[test]
fn bare_tcpstat_is_summary_on_the_live_kernel() {
    let _serial = serial();
    let o = run(&["--json", "--source", "netlink"]);
    let s = parse(&o);
    assert_eq!(s.source, "netlink");
    assert_eq!(s.source_covers.len(), 11);
    let sum: u64 = [&s.families.ipv4, &s.families.ipv6]
        .iter()
        .map(|f| f.total)
        .sum();
    assert_eq!(sum, s.total);
    let o = run(&["--color", "never"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("source: netlink (sock_diag)"));
}

#[test]
fn closed_pipe_is_a_silent_success() {
    let _serial = serial();
    for args in [&["summary"][..], &["--json"][..]] {
        let mut child = tcpstat()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        drop(child.stdout.take());
        let status = child.wait().expect("waits");
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("reads");
        assert!(status.success(), "{args:?}: {status:?} {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_stderr_costs_neither_the_results_nor_the_exit_status() {
    let _serial = serial();
    // A logger that went away must not take stdout with it: the warnings (malformed lines
    // here) are lost, the JSON and the exit status are not.
    let root = fixture("proc-malformed");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let o = tcpstat()
        .args(["--json", "--source", "proc", "--proc-root"])
        .arg(&root)
        .stderr(writer)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{:?}", o.status);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("whole JSON on stdout");
    assert_eq!(v["complete"], false, "the warning still reaches the JSON");
    assert!(!v["warnings"].as_array().expect("warnings").is_empty());
}

/// tcpstat run under strace with every socket(2) call failing, as on a kernel without
/// sock_diag: the real fallback path, not a stand-in. `None` (a skip) without strace.
fn without_netlink(args: &[&str]) -> Option<Output> {
    let strace = std::process::Command::new("strace")
        .args(["-f", "-o", "/dev/null", "-e", "trace=socket"])
        .args(["-e", "inject=socket:error=EPROTONOSUPPORT"])
        .arg(env!("CARGO_BIN_EXE_tcpstat"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output();
    match strace {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skip("strace is not installed (apt-get install strace)");
            None
        }
        other => Some(other.expect("strace runs")),
    }
}

#[test]
fn auto_falls_back_to_proc_once_and_says_so_netlink_alone_fails() {
    let _serial = serial();
    let Some(auto) = without_netlink(&["--json"]) else {
        return;
    };
    assert!(auto.status.success(), "{:?} {}", auto.status, stderr(&auto));
    let v: Summary = serde_json::from_slice(&auto.stdout).expect("summary JSON");
    assert_eq!(v.source, "proc");
    let reason = v.fallback_reason.expect("the reason is in the JSON");
    assert!(reason.contains("netlink socket"), "{reason}");
    assert!(!v.counted_states.contains(&"CLOSED".to_string()));
    let err = stderr(&auto);
    assert_eq!(
        err.matches("netlink unavailable").count(),
        1,
        "said once: {err}"
    );

    let table = without_netlink(&["summary"]).expect("strace ran before");
    assert!(table.status.success());
    assert!(
        stdout(&table).contains("netlink unavailable"),
        "{}",
        stdout(&table)
    );

    let strict = without_netlink(&["--source", "netlink"]).expect("strace ran before");
    assert_eq!(strict.status.code(), Some(1));
    assert!(strict.stdout.is_empty(), "no partial output");
    let err = stderr(&strict);
    assert!(
        err.starts_with("tcpstat: cannot open a sock_diag netlink socket"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn help_documents_states_and_exit_codes() {
    let _serial = serial();
    let o = run(&["--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    for needle in ["summary", "--state", "--source", "connected", "Exit status"] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    assert!(!help.contains("proc-root"), "hidden flag stays hidden");
}

#[test]
fn outside_text_in_errors_is_never_raw() {
    let _serial = serial();
    for args in [
        &["--state", "\x1b[2Jbogus"][..],
        &["--user", "\x1b]0;owned\x07"][..],
        &["--source", "proc", "--proc-root", "/tmp/\x1b[31mnope"][..],
        &["--src", "\x1b[6n"][..],
    ] {
        let o = run(args);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            !o.stderr.contains(&0x1b) && !o.stderr.contains(&0x07),
            "{args:?}: {:?}",
            stderr(&o)
        );
        assert!(!stderr(&o).is_empty());
    }
}

#[test]
fn works_with_a_low_descriptor_limit() {
    let _serial = serial();
    // stdin/out/err, the netlink socket, and one directory at a time during the owner walk.
    for args in [
        "summary --json",
        "procs --json",
        "list -p --no-header",
        "ports --json",
        "summary --source proc --json",
        "watch --count 2 --interval 10ms --json",
    ] {
        let script = format!(
            "ulimit -n 8 && exec {} {args}",
            env!("CARGO_BIN_EXE_tcpstat")
        );
        let o = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert!(o.status.success(), "{args}: {:?} {}", o.status, stderr(&o));
        assert!(!o.stdout.is_empty(), "{args}");
        assert!(!stderr(&o).contains("I/O errors"), "{args}: {}", stderr(&o));
    }
}
