//! `tcpstat doctor --at TIME` and the processes of `tcpstat record` (issue 17): a real
//! recorder over a real CLOSE_WAIT leak held by a process of its own (in a private network
//! namespace, so the recording holds the test's sockets only), then `doctor --at` the
//! recorded moment names the same process, value and severity live `doctor` gave, says what
//! the recording does not hold, and refuses a time with no sample near it; `history`
//! shows the process at that moment and follows it with `--process`, escaping its name. And
//! a database of schema version 1, made here with that version's DDL, migrates when a
//! recorder opens it, its old samples still read, judged with what they hold.

use std::net::{Ipv4Addr, Shutdown, TcpStream};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rustix::process::{kill_process, Pid, Signal};
use serde_json::Value;

use super::util::netns::{run_in_netns_only, Env};
use super::util::states::fresh_listener;
use super::util::{self, describe, wait_for, wait_until, WAIT};

/// A command name with a control character: human output must escape it.
const NAME: &str = "leak\u{1b}d";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpstat-doctor-at-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `/bin/sleep` under `name`, holding `fds` as its stdio.
struct Holder {
    child: Child,
    dir: PathBuf,
}

impl Holder {
    fn spawn(name: &str, mut fds: Vec<OwnedFd>) -> Holder {
        let dir = scratch("holder");
        let exe = dir.join(name);
        std::os::unix::fs::symlink("/bin/sleep", &exe).expect("symlink");
        let mut cmd = Command::new(&exe);
        cmd.arg("120");
        let mut stdio = || fds.pop().map_or_else(Stdio::null, Stdio::from);
        cmd.stderr(stdio()).stdout(stdio()).stdin(stdio());
        Holder {
            child: cmd.spawn().expect("spawn holder"),
            dir,
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn db_arg(db: &Path) -> &str {
    db.to_str().expect("utf-8 path")
}

/// `tcpstat doctor --json` plus `args`, its document (validated against the doctor schema)
/// and exit status.
fn doctor(args: &[&str]) -> (Value, i32) {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let o = util::run(&all);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(&all, &o)));
    validate("doctor", &v);
    (v, o.status.code().expect("exited"))
}

fn validate(schema: &str, doc: &Value) {
    let errors = super::schemas::schema_errors(schema, doc);
    assert!(errors.is_empty(), "{schema}: {errors:?}\n{doc}");
}

fn close_wait(v: &Value) -> Vec<Value> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == "close_wait")
        .cloned()
        .collect()
}

fn rfc3339(ms: i64) -> String {
    tcpstat::render::text::rfc3339_utc((ms / 1000) as u64, (ms % 1000) as u32)
}

#[test]
fn doctor_at_a_recorded_leak_names_what_live_doctor_named() {
    let _serial = util::serial();
    run_in_netns_only("doctor --at over a recorded CLOSE_WAIT leak", recorded_leak);
}

fn recorded_leak(_: Env) {
    let dir = scratch("leak");
    let db = dir.join("h.db");
    let listener = fresh_listener(Ipv4Addr::LOCALHOST).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..4 {
        let c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (s, _) = listener.accept().expect("accept");
        c.shutdown(Shutdown::Write).expect("shutdown");
        clients.push(c);
        servers.push(OwnedFd::from(s));
    }
    // Three server ends leak in the holder; the fourth stays here (another process).
    let mine = servers.pop().expect("a fourth");
    let holder = Holder::spawn(NAME, servers);
    let pid = holder.child.id();
    let threshold = ["--threshold", "CLOSE_WAIT=3"];
    // Live: the holder, 3 sockets, a warning.
    let live = wait_for("live doctor to pin the leak on the holder", || {
        let (v, code) = doctor(&threshold);
        let f = close_wait(&v);
        f.iter()
            .find(|f| f["subject"]["pid"] == pid)
            .cloned()
            .map(|f| (f, code))
    });
    assert_eq!(live.0["severity"], "warning", "{}", live.0);
    assert_eq!(live.0["value"], 3);
    let recorder = util::run::command(&[
        "record",
        "--db",
        db_arg(&db),
        "--interval",
        "300ms",
        "--processes",
        "always",
        // Samples at the test's pace, whatever a debug build's sample costs.
        "--cpu-budget",
        "none",
    ])
    .spawn()
    .expect("spawn tcpstat record");
    // A sample that holds the holder's 3 CLOSE_WAIT sockets.
    let t: i64 = wait_until("a sample with the holder", WAIT, || {
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| e.to_string())?;
        conn.query_row(
            "SELECT s.t FROM process_state p JOIN sample s ON s.id = p.sample
             WHERE p.pid = ?1 AND p.close_wait = 3 ORDER BY s.t DESC LIMIT 1",
            [pid],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())
    });
    // Asked a little after the sample: the nearest one is used, and said.
    let asked = rfc3339(t + 100);
    let mut args = vec!["--at", asked.as_str(), "--db", db_arg(&db)];
    args.extend_from_slice(&threshold);
    let (v, code) = doctor(&args);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["status"], "warning");
    let at = close_wait(&v);
    let f = at
        .iter()
        .find(|f| f["subject"]["pid"] == pid)
        .unwrap_or_else(|| panic!("the holder in {v}"));
    for key in ["subject", "severity", "value", "warning_at", "critical_at"] {
        assert_eq!(
            f[key], live.0[key],
            "{key}: recorded {f} vs live {}",
            live.0
        );
    }
    assert_eq!(f["subject"]["command"], NAME);
    // The fourth socket, held by this test process, is its own (info) finding, as live.
    assert!(
        at.iter()
            .any(|f| f["value"] == 1 && f["severity"] == "info"),
        "{v}"
    );
    let rec = &v["recorded"];
    assert_eq!(rec["time"], rfc3339(t), "{rec}");
    assert_eq!(rec["asked"], asked);
    assert_eq!(rec["offset_ms"], -100);
    assert_eq!(rec["processes_recorded"], true);
    assert_eq!(v["timestamp"], rfc3339(t));
    // What the recording does not hold: never judged OK.
    let not_checked: Vec<&str> = v["not_checked"]
        .as_array()
        .expect("not_checked")
        .iter()
        .filter_map(|n| n["check"].as_str())
        .collect();
    assert!(not_checked.contains(&"ephemeral_ports"), "{v}");
    assert!(
        !v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["check"] == "ephemeral_ports"),
        "{v}"
    );
    assert!(
        rec["not_recorded"]
            .as_array()
            .expect("not_recorded")
            .iter()
            .any(|g| g["check"] == "close_wait"),
        "{rec}"
    );
    assert_eq!(f["evidence"]["remotes"], serde_json::json!([]), "{f}");
    // For people: the sample used, the escaped name, what is missing.
    let mut text_args = vec!["doctor", "--color", "never"];
    text_args.extend_from_slice(&args);
    let o = util::run(&text_args);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(3), "{}", describe(&text_args, &o));
    assert!(text.starts_with("recorded at "), "{text}");
    assert!(text.contains("100ms before the time asked"), "{text}");
    assert!(!text.contains('\u{1b}'), "an unescaped name: {text:?}");
    assert!(text.contains(&format!("pid {pid} (leak")), "{text}");
    assert!(text.contains("not checked: EPHEMERAL_PORTS"), "{text}");
    assert!(text.contains("Not in the recording"), "{text}");

    // history at that moment: the process and its sockets, escaped in the table.
    let at_doc = util::json(&["history", "--db", db_arg(&db), "--json", "--at", &asked]);
    validate("history-at", &at_doc);
    let p = at_doc["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap_or_else(|| panic!("the holder in {at_doc}"))
        .clone();
    assert_eq!(p["command"], NAME);
    assert_eq!(p["counts"]["CLOSE_WAIT"], 3);
    let table = util::text(&["history", "--db", db_arg(&db), "--at", &asked]);
    assert!(table.contains(&format!("{pid}/leak")), "{table}");
    assert!(!table.contains('\u{1b}'), "an unescaped name: {table:?}");
    // --process follows it over the period.
    let period = util::json(&[
        "history",
        "--db",
        db_arg(&db),
        "--json",
        "--since",
        "1h",
        "--process",
        NAME,
        "--state",
        "close-wait",
    ]);
    validate("history", &period);
    let series = period["series"].as_array().expect("series");
    let sample = series
        .iter()
        .find(|s| s["time"] == rfc3339(t))
        .unwrap_or_else(|| panic!("the sample in {period}"));
    assert_eq!(sample["counts"]["CLOSE_WAIT"], 3, "{period}");
    assert_eq!(period["processes"], serde_json::json!([NAME]));
    let out = util::run(&[
        "history",
        "--db",
        db_arg(&db),
        "--since",
        "1h",
        "--process",
        "no-such-proc",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no process named no-such-proc"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // No sample near the time asked: a clear error, not a diagnosis.
    let o = util::run(&[
        "doctor",
        "--at",
        "2001-01-01T00:00:00Z",
        "--db",
        db_arg(&db),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        err.contains("no sample within") && err.contains("it holds samples from"),
        "{err}"
    );
    kill_process(
        Pid::from_raw(recorder.id() as i32).expect("pid"),
        Signal::TERM,
    )
    .expect("SIGTERM");
    let out = recorder.wait_with_output().expect("recorder");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop((mine, clients, holder, listener));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The DDL of schema version 1, as tcpstat wrote it before processes were recorded.
const V1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sample (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, source TEXT NOT NULL,
    partial INTEGER NOT NULL, collect_us INTEGER NOT NULL, listen INTEGER NOT NULL,
    syn_sent INTEGER NOT NULL, syn_recv INTEGER NOT NULL, established INTEGER NOT NULL,
    fin_wait_1 INTEGER NOT NULL, fin_wait_2 INTEGER NOT NULL, close_wait INTEGER NOT NULL,
    closing INTEGER NOT NULL, last_ack INTEGER NOT NULL, time_wait INTEGER NOT NULL,
    closed INTEGER NOT NULL, unknown INTEGER NOT NULL);
CREATE INDEX sample_t ON sample (t);
CREATE TABLE port (sample INTEGER NOT NULL, port INTEGER NOT NULL,
    outgoing INTEGER NOT NULL, listen INTEGER NOT NULL, syn_sent INTEGER NOT NULL,
    syn_recv INTEGER NOT NULL, established INTEGER NOT NULL, fin_wait_1 INTEGER NOT NULL,
    fin_wait_2 INTEGER NOT NULL, close_wait INTEGER NOT NULL, closing INTEGER NOT NULL,
    last_ack INTEGER NOT NULL, time_wait INTEGER NOT NULL, closed INTEGER NOT NULL,
    unknown INTEGER NOT NULL, listeners INTEGER NOT NULL, queued INTEGER NOT NULL,
    backlog INTEGER, PRIMARY KEY (sample, port, outgoing)) WITHOUT ROWID;
CREATE TABLE workload (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE workload_state (sample INTEGER NOT NULL, workload INTEGER NOT NULL,
    listen INTEGER NOT NULL, syn_sent INTEGER NOT NULL, syn_recv INTEGER NOT NULL,
    established INTEGER NOT NULL, fin_wait_1 INTEGER NOT NULL, fin_wait_2 INTEGER NOT NULL,
    close_wait INTEGER NOT NULL, closing INTEGER NOT NULL, last_ack INTEGER NOT NULL,
    time_wait INTEGER NOT NULL, closed INTEGER NOT NULL, unknown INTEGER NOT NULL,
    PRIMARY KEY (sample, workload)) WITHOUT ROWID;
CREATE TABLE counters (sample INTEGER PRIMARY KEY, ActiveOpens INTEGER,
    PassiveOpens INTEGER, AttemptFails INTEGER, EstabResets INTEGER, InSegs INTEGER,
    OutSegs INTEGER, RetransSegs INTEGER, InErrs INTEGER, OutRsts INTEGER,
    ListenOverflows INTEGER, ListenDrops INTEGER, TCPAbortOnTimeout INTEGER,
    TCPAbortOnData INTEGER, TCPAbortOnClose INTEGER, TCPAbortOnMemory INTEGER,
    TCPAbortOnLinger INTEGER, TCPAbortFailed INTEGER, TCPTimeouts INTEGER,
    TCPSynRetrans INTEGER, TCPMemoryPressures INTEGER, TCPBacklogDrop INTEGER,
    TCPReqQFullDrop INTEGER, SyncookiesSent INTEGER, SyncookiesFailed INTEGER, TW INTEGER,
    PruneCalled INTEGER);
";

#[test]
fn a_version_1_database_migrates_and_its_samples_say_what_they_lack() {
    let _serial = util::serial();
    let dir = scratch("v1");
    let db = dir.join("h.db");
    let t = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64)
        - 60_000;
    {
        let conn = rusqlite::Connection::open(&db).expect("create");
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA auto_vacuum = INCREMENTAL;")
            .expect("pragmas");
        conn.execute_batch(V1).expect("version 1 DDL");
        conn.execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = 1;
             INSERT INTO meta VALUES ('interval_ms', '10000'), ('hostname', 'old');
             INSERT INTO sample VALUES (1, {t}, 'netlink', 0, 900,
                 1, 0, 0, 4, 0, 0, 12, 0, 0, 3, 0, 0);
             INSERT INTO port VALUES (1, 8080, 0, 1, 0, 0, 4, 0, 0, 12, 0, 0, 3, 0, 0,
                 1, 0, 128);
             INSERT INTO counters (sample, ActiveOpens, ListenOverflows) VALUES (1, 5, 0);",
            tcpstat::store::APPLICATION_ID
        ))
        .expect("a version 1 sample");
    }
    let o = util::run(&["record", "--db", db_arg(&db), "--count", "1"]);
    assert!(o.status.success(), "{}", describe(&["record"], &o));
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, tcpstat::store::SCHEMA_VERSION);
        let rows: Vec<(i64, Option<i64>)> = conn
            .prepare("SELECT id, processes FROM sample ORDER BY id")
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0], (1, None), "the old sample recorded no processes");
        assert!(rows[1].1.is_some(), "the new one did: {rows:?}");
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        assert_eq!(ok, "ok");
    }
    // The old sample reads as before, and says it holds no processes.
    let at = rfc3339(t);
    let doc = util::json(&["history", "--db", db_arg(&db), "--json", "--at", &at]);
    validate("history-at", &doc);
    assert_eq!(doc["time"], at);
    assert_eq!(doc["counts"]["CLOSE_WAIT"], 12);
    assert_eq!(doc["processes"], Value::Null);
    // doctor --at: CLOSE_WAIT cannot be pinned on a process, TIME_WAIT has no limit to be
    // measured against: both not checked, never ok. The closing states are judged.
    let (v, code) = doctor(&["--at", &at, "--db", db_arg(&db)]);
    assert_eq!(code, 0, "{v}");
    let not_checked = |check: &str| {
        v["not_checked"]
            .as_array()
            .expect("not_checked")
            .iter()
            .find(|n| n["check"] == check)
            .map(|n| n["reason"].as_str().unwrap_or("").to_string())
    };
    let why = not_checked("close_wait").unwrap_or_else(|| panic!("close_wait in {v}"));
    assert!(why.contains("12 CLOSE_WAIT sockets"), "{why}");
    assert!(why.contains("did not record their processes"), "{why}");
    assert!(not_checked("time_wait").is_some(), "{v}");
    assert!(not_checked("orphans").is_some(), "{v}");
    assert!(close_wait(&v).is_empty(), "{v}");
    assert_eq!(v["recorded"]["processes_recorded"], false);
    // A recorded sample is judged whole: filters and --netns are usage errors, as is --db
    // without --at.
    for extra in [
        &["--port", "8080"][..],
        &["--state", "close-wait"][..],
        &["--netns-pid", "1"][..],
    ] {
        let mut args = vec!["doctor", "--at", at.as_str(), "--db", db_arg(&db)];
        args.extend_from_slice(extra);
        let o = util::run(&args);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&args, &o));
    }
    // history --process over a period of version 1 samples only: said, not zeros.
    let (from, until) = (rfc3339(t - 1000), rfc3339(t + 1000));
    let args = [
        "history",
        "--db",
        db_arg(&db),
        "--since",
        from.as_str(),
        "--until",
        until.as_str(),
        "--process",
        "x",
    ];
    let o = util::run(&args);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&args, &o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("recorded processes"),
        "{}",
        describe(&args, &o)
    );
    let o = util::run(&["doctor", "--db", db_arg(&db)]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        describe(&["doctor", "--db"], &o)
    );
    assert_eq!(v["recorded"]["settings_recorded"], false);
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["check"] == "fin_wait_2" && f["severity"] == "ok"),
        "{v}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
