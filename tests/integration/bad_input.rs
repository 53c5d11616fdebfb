//! One test per row of the user guide's "Bad input" table: every user input and every kernel
//! input tcpstat takes, what it does with a bad one, and that it does exactly that: a clear
//! message naming the problem, the documented exit status, and nothing half-written on
//! stdout. Kernel-side rows that need crafted bytes are unit tests next to their parsers
//! (named in the table); the rows here run the real binary.

use crate::util::{fixture, run, serial};

/// A recorded `/proc` tree, as an argument.
fn root(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

/// Runs `args`, expects `code`, an empty stdout and a stderr containing every needle.
fn rejects(args: &[&str], code: i32, needles: &[&str]) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert!(
        o.stdout.is_empty(),
        "{args:?}: nothing on stdout, got {:?}",
        String::from_utf8_lossy(&o.stdout)
    );
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
    }
    assert!(!o.stderr.contains(&0x1b), "{args:?}: raw escape in {err:?}");
}

macro_rules! rows {
    ($($name:ident: $args:expr => $code:expr, $needles:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let _serial = serial();
                rejects(&$args, $code, &$needles);
            }
        )*
    };
}

rows! {
    unknown_flag: ["--frobnicate"] => 2, ["--frobnicate"];
    unknown_subcommand: ["frobnicate"] => 2, ["frobnicate"];
    unknown_state_name: ["--state", "close_wiat"] => 2, ["close_wiat", "valid states", "CLOSE_WAIT"];
    empty_state_list: ["--state", ","] => 2, ["no state"];
    port_out_of_range: ["--port", "70000"] => 2, ["70000", "0-65535"];
    port_not_a_number: ["--sport", "http"] => 2, ["\"http\""];
    port_range_backwards: ["--dport", "9000-8000"] => 2, ["backwards"];
    port_list_with_a_hole: ["--port", "80,,443"] => 2, ["empty port"];
    cidr_bad_prefix: ["--src", "10.0.0.0/33"] => 2, ["10.0.0.0/33", "0-32"];
    cidr_bad_v6_prefix: ["--dst", "::/129"] => 2, ["0-128"];
    cidr_not_an_address: ["--dst", "example.com"] => 2, ["example.com"];
    user_unknown: ["--user", "no-such-user-xyz"] => 2, ["no-such-user-xyz", "user database"];
    user_unknown_shows_the_subcommands_usage: ["list", "--user", "no-such-user-xyz"] => 2, ["no-such-user-xyz", "Usage: tcpstat list"];
    pid_not_a_number: ["--pid", "12a"] => 2, ["12a"];
    pid_zero: ["procs", "--pid", "7,0"] => 2, ["'0'", "--pid"];
    process_empty: ["list", "--process", ""] => 2, ["''", "--process", "cannot be empty"];
    top_zero_ports: ["ports", "--top", "0"] => 2, ["'0'", "--top", "at least 1"];
    top_zero_procs: ["procs", "--top", "0"] => 2, ["'0'", "--top", "at least 1"];
    top_zero_watch: ["watch", "--top", "0"] => 2, ["'0'", "--top", "at least 1"];
    source_unknown: ["--source", "kernel"] => 2, ["kernel", "netlink"];
    color_unknown: ["--color", "sometimes"] => 2, ["sometimes"];
    sort_key_unknown: ["list", "--sort", "size"] => 2, ["size"];
    list_json_and_ndjson: ["list", "--json", "--ndjson"] => 2, ["--ndjson"];
    interval_garbage: ["watch", "--interval", "soon"] => 2, ["\"soon\"", "500ms"];
    interval_zero: ["watch", "--interval", "0s"] => 2, ["too short"];
    interval_negative: ["watch", "--interval=-1s"] => 2, ["\"-1s\""];
    interval_absurd: ["watch", "--interval", "99999999999h"] => 2, ["99999999999h", "over a century"];
    older_than_garbage: ["watch", "--older-than", "5 minutes"] => 2, ["5 minutes"];
    count_zero: ["watch", "--count", "0"] => 2, ["0"];
    watch_by_unknown: ["watch", "--by", "colour"] => 2, ["colour"];
    netns_name_missing: ["summary", "--netns", "no-such-netns-xyz"] => 1, ["no-such-netns-xyz"];
    netns_pid_missing: ["summary", "--netns-pid", "999999999"] => 1, ["999999999"];
    netns_flags_together: ["summary", "--netns", "a", "--all-netns"] => 2, ["--all-netns"];
    netns_empty: ["summary", "--netns", ""] => 2, ["--netns"];
    ports_by_local_as_prometheus: ["ports", "--by", "local", "--format", "prometheus"] => 2, ["--by local", "ephemeral ports", "label values"];
    ports_by_remote_as_prometheus: ["ports", "--by", "remote", "--format", "prometheus"] => 2, ["--by remote", "ephemeral ports"];
    proc_root_missing: ["--source", "proc", "--proc-root", "/nonexistent-proc"] => 1, ["/nonexistent-proc/net/tcp"];
    // Near misses are errors, not guesses: a state name is a word, a port is plain decimal.
    state_name_with_a_space: ["--state", "close wait"] => 2, ["'close wait'", "CLOSE_WAIT"];
    state_name_with_a_trailing_underscore: ["--state", "time_wait_"] => 2, ["'time_wait_'", "TIME_WAIT"];
    port_with_a_sign: ["--port", "+80"] => 2, ["'+80'"];
    port_with_a_leading_zero: ["--port", "080"] => 2, ["'080'", "leading zeros", "write 80"];
    // Typed values are shown once, escaped once, whole (not cut at the last escape sequence).
    hostile_typed_value: ["--src", "\u{1b}[2J\u{1b}[31mred"] => 2, ["'\\x1b[2J\\x1b[31mred'", "--src"];
    // What ss and netstat users type first gets the tcpstat spelling.
    ss_tanp: ["-tanp"] => 2, ["`-tanp` is how ss / netstat say it", "tcpstat list -p"];
    ss_listening: ["-l"] => 2, ["tcpstat list --state listen"];
    ss_state_filter: ["state", "established"] => 2, ["tcpstat list --state established"];
    ss_port_filter: ["sport", "=", ":80"] => 2, ["tcpstat list --sport 80"];
    // summary's own options belong after another subcommand (global ones may come first).
    summary_options_before_a_subcommand: ["--json", "ports"] => 2, ["before the subcommand 'ports'", "put them after it"];
}

/// What is forgiving, and stays so: blanks around a port (a quoted `" 80"`), global options
/// (source, namespace, colour) before the subcommand.
#[test]
fn forgiving_spellings_are_accepted() {
    let _serial = serial();
    for args in [
        vec!["summary", "--port", " 80", "--json"],
        vec!["--source", "proc", "ports", "--json"],
        vec!["--color", "never", "summary", "--json"],
        vec!["summary", "--state", "Close-Wait", "--json"],
    ] {
        let o = run(&args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        assert_eq!(v["schema_version"], 2, "{args:?}");
    }
}

// Kernel input through recorded /proc tables: what is read is counted, what is not is said.

#[test]
fn proc_table_empty_is_an_error_with_the_path() {
    let _serial = serial();
    rejects(
        &["--source", "proc", "--proc-root", &root("proc-empty")],
        1,
        &["net/tcp", "empty"],
    );
}

#[test]
fn proc_table_with_malformed_lines_is_partial_and_says_so() {
    let _serial = serial();
    let o = run(&[
        "--json",
        "--source",
        "proc",
        "--proc-root",
        &root("proc-malformed"),
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["complete"], false);
    assert_eq!(v["total"], 12, "every readable line is counted");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 4") && err.contains("malformed"), "{err}");
}

#[test]
fn proc_unknown_state_values_are_counted_not_dropped() {
    let _serial = serial();
    let o = run(&[
        "--json",
        "--source",
        "proc",
        "--proc-root",
        &root("proc-unknown"),
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["unknown_states"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["unknown"], 2);
    assert_eq!(v["total"], 13);
}

#[test]
fn proc_table_without_tcp6_is_a_warning() {
    let _serial = serial();
    let o = run(&[
        "--json",
        "--source",
        "proc",
        "--proc-root",
        &root("proc-no-tcp6"),
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("IPv6 disabled?"));
}

#[test]
fn older_than_zero_means_every_socket_and_is_accepted() {
    let _serial = serial();
    let o = run(&["watch", "--older-than", "0s", "--count", "1", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["older_than_s"], 0.0);
}

#[test]
fn a_state_the_source_cannot_see_is_a_warning_not_a_silent_zero() {
    let _serial = serial();
    let o = run(&[
        "--json",
        "--source",
        "proc",
        "--state",
        "closed,listen",
        "--proc-root",
        &root("proc-recorded"),
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["counted_states"], serde_json::json!(["LISTEN"]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("CLOSED not counted: not visible to the proc source"),
        "{err}"
    );
    let warnings = v["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("CLOSED not counted"))),
        "{v}"
    );
}

#[test]
fn a_recorded_proc_root_is_read_with_the_proc_source() {
    let _serial = serial();
    let o = run(&["--json", "--proc-root", &root("proc-recorded")]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["source"], "proc", "not the live kernel: {v}");
    assert_eq!(v["fallback_reason"], serde_json::Value::Null);
}
