//! `tcpstat record` and `tcpstat history` (issue 17): a real recorder on real loopback
//! sockets whose states change between samples (each recorded sample equals what `summary`
//! counts at the same time), a second recorder refused, SIGTERM ending cleanly, `kill -9`
//! leaving a database that passes `PRAGMA integrity_check`, foreign and corrupt files
//! refused, a full disk reported with a back-off, retention by age and size, and `history`
//! over a database built here with known answers (statistics, filters, rates, onset,
//! `--at`, CSV, JSON validated against `docs/schema/history*.schema.json`).

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::process::{kill_process, Pid, Signal};
use serde_json::Value;
use tcpstat::model::history::{PortSample, ProcessSample, Sample, WorkloadSample, COUNTERS};
use tcpstat::model::{StateRow, TcpState};
use tcpstat::store::{Recorder, Retention};

use super::util::{self, wait_until, WAIT};

/// A fresh directory for one test's database.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpstat-history-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// `tcpstat record` on `db`; samples at the test's `--interval` (`--cpu-budget none`) unless
/// `extra` sets a budget.
fn recorder(db: &Path, extra: &[&str]) -> Child {
    let mut args = vec!["record", "--db", db.to_str().expect("utf-8 path")];
    if !extra.contains(&"--cpu-budget") {
        args.extend(["--cpu-budget", "none"]);
    }
    args.extend(extra);
    util::run::command(&args)
        .spawn()
        .expect("spawn tcpstat record")
}

fn signal(child: &Child, sig: Signal) {
    let pid = Pid::from_raw(child.id() as i32).expect("a pid");
    kill_process(pid, sig).expect("signal the recorder");
}

/// Waits for the child to end, at most [`WAIT`]; its status and stderr.
fn finish(mut child: Child) -> (std::process::ExitStatus, String) {
    let status = wait_until("the recorder to exit", WAIT, || {
        child
            .try_wait()
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "running".to_string())
    });
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (status, err)
}

/// The newest sample's time and id, read as another program would (the sqlite3 shell).
fn newest(db: &Path) -> Option<(i64, i64)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row(
        "SELECT t, id FROM sample ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

fn history_json(db: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "history",
        "--db",
        db.to_str().expect("utf-8 path"),
        "--json",
    ];
    args.extend(extra);
    util::json(&args)
}

fn summary_counts(port: u16) -> Value {
    util::json(&["summary", "--json", "--port", &port.to_string()])["states"].clone()
}

#[test]
fn recorded_samples_equal_the_live_counts_at_each_tick() {
    let _serial = util::serial();
    let dir = scratch("live");
    let db = dir.join("h.db");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let child = recorder(&db, &["--interval", "200ms", "--top", "1000"]);
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    // Phases: none, 4 connections, 2 of them closed by the server (FIN_WAIT_2 here,
    // CLOSE_WAIT at the client), all closed by the clients too.
    for phase in 0..4 {
        match phase {
            1 => {
                for _ in 0..4 {
                    clients.push(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
                    servers.push(listener.accept().expect("accept").0);
                }
            }
            2 => {
                for s in &servers[..2] {
                    s.shutdown(Shutdown::Write).expect("shutdown");
                }
            }
            3 => {
                servers.clear();
                clients.clear();
            }
            _ => {}
        }
        let live = summary_counts(port);
        let changed = now_ms();
        // A sample begun after the change, and the state unchanged since: they must agree.
        let (t, _) = wait_until("a sample after the change", WAIT, || {
            newest(&db)
                .filter(|&(t, _)| t > changed + 20)
                .ok_or_else(|| "no sample yet".to_string())
        });
        let at = history_json(&db, &["--at", &format!("{}ms", (now_ms() - t).max(0))]);
        let after = summary_counts(port);
        let recorded = history_json(
            &db,
            &[
                "--port",
                &port.to_string(),
                "--since",
                "1h",
                "--state",
                "all",
            ],
        );
        let last = recorded["series"]
            .as_array()
            .and_then(|s| s.iter().find(|p| p["time"] == at["time"]))
            .unwrap_or_else(|| panic!("phase {phase}: the sample at {t} in {recorded}"))
            .clone();
        // TIME_WAIT can only grow on its own after the last phase: compared where stable.
        for state in ["LISTEN", "ESTABLISHED", "FIN_WAIT_2", "CLOSE_WAIT"] {
            if live[state] == after[state] {
                assert_eq!(
                    last["counts"][state], live[state],
                    "phase {phase}: {state} recorded vs summary --port {port}"
                );
            }
        }
    }
    signal(&child, Signal::TERM);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(0), "SIGTERM ends record with 0: {err}");
    assert!(err.contains("samples written"), "{err}");
    let conn = rusqlite::Connection::open(&db).expect("open");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_recorder_on_the_same_file_is_refused() {
    let _serial = util::serial();
    let dir = scratch("second");
    let db = dir.join("h.db");
    let first = recorder(&db, &["--interval", "200ms"]);
    wait_until("a first sample", WAIT, || {
        newest(&db).ok_or_else(|| "none".to_string())
    });
    let out = util::run(&[
        "record",
        "--db",
        db.to_str().expect("utf-8"),
        "--count",
        "1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("another tcpstat record") && err.contains(&format!("pid {}", first.id())),
        "{err}"
    );
    // Readers work meanwhile.
    let doc = history_json(&db, &[]);
    assert!(doc["samples"].as_u64().unwrap_or(0) >= 1, "{doc}");
    signal(&first, Signal::INT);
    let (status, _) = finish(first);
    assert_eq!(status.code(), Some(0), "SIGINT ends record with 0 too");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_9_mid_run_leaves_a_readable_database() {
    let _serial = util::serial();
    let dir = scratch("kill9");
    let db = dir.join("h.db");
    let mut before = 0;
    for round in 0..4 {
        let mut child = recorder(&db, &["--interval", "200ms"]);
        let (_, id) = wait_until("a new sample", WAIT, || {
            newest(&db)
                .filter(|&(_, id)| id > before + round % 2)
                .ok_or_else(|| "none".to_string())
        });
        // At a different moment of the cycle each round (mid-write for some).
        std::thread::sleep(Duration::from_millis(37 * round as u64));
        signal(&child, Signal::KILL);
        let _ = child.wait();
        let conn = rusqlite::Connection::open(&db).expect("open");
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        assert_eq!(ok, "ok", "round {round}");
        drop(conn);
        let doc = history_json(&db, &[]);
        assert!(doc["samples"].as_u64().unwrap_or(0) as i64 >= id, "{doc}");
        before = id;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn foreign_and_corrupt_files_are_refused_with_a_clear_error() {
    let dir = scratch("foreign");
    let text = dir.join("notes.txt");
    std::fs::write(
        &text,
        "not a database, and more than a header's worth of text. ".repeat(20),
    )
    .expect("write");
    let other = dir.join("other.db");
    let conn = rusqlite::Connection::open(&other).expect("create");
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .expect("a table");
    drop(conn);
    for (file, want) in [
        (&text, "is it an SQLite database?"),
        (&other, "not a tcpstat history database"),
    ] {
        let before = std::fs::read(file).expect("read");
        for cmd in ["record", "history"] {
            let out = util::run(
                &[cmd, "--db", file.to_str().expect("utf-8"), "--count", "1"]
                    [..if cmd == "record" { 5 } else { 3 }],
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{cmd} on {}: {err}",
                file.display()
            );
            assert!(
                err.contains("history database") && err.contains(want),
                "{cmd}: {err}"
            );
        }
        assert_eq!(std::fs::read(file).expect("read"), before, "left as it was");
    }
    let out = util::run(&[
        "history",
        "--db",
        dir.join("none.db").to_str().expect("utf-8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("no such file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A synthetic sample: `close_wait` on port 8080 held by app.service, 10 established
/// elsewhere, ActiveOpens at `opens`.
fn synthetic(t_ms: i64, close_wait: u64, opens: u64) -> Sample {
    let row = |pairs: &[(TcpState, u64)]| {
        let mut r = StateRow::default();
        for &(s, n) in pairs {
            r.counts[s.index()] = n;
        }
        r
    };
    let mut counters = vec![Some(0); COUNTERS.len()];
    counters[0] = Some(opens);
    Sample {
        t_ms,
        source: "netlink".into(),
        partial: false,
        states: row(&[
            (TcpState::Listen, 2),
            (TcpState::Established, 10),
            (TcpState::CloseWait, close_wait),
        ]),
        ports: vec![
            PortSample {
                port: 8080,
                counts: row(&[(TcpState::Listen, 1), (TcpState::CloseWait, close_wait)]),
                listeners: 1,
                queued: 0,
                backlog: Some(128),
                ..PortSample::default()
            },
            PortSample {
                port: 22,
                counts: row(&[(TcpState::Listen, 1), (TcpState::Established, 10)]),
                listeners: 1,
                backlog: Some(128),
                ..PortSample::default()
            },
        ],
        workloads: vec![
            WorkloadSample {
                name: "app.service".into(),
                counts: row(&[(TcpState::Listen, 1), (TcpState::CloseWait, close_wait)]),
            },
            WorkloadSample {
                name: "ssh.service".into(),
                counts: row(&[(TcpState::Listen, 1), (TcpState::Established, 10)]),
            },
        ],
        counters,
        collect_us: 100,
        cpu_us: Some(90),
        interval_ms: 10_000,
        processes: Some(vec![
            ProcessSample {
                pid: 4242,
                uid: Some(1000),
                user: Some("app".into()),
                command: "app\x1b[31m".into(),
                counts: row(&[(TcpState::Listen, 1), (TcpState::CloseWait, close_wait)]),
            },
            ProcessSample {
                pid: 22,
                uid: Some(0),
                user: Some("root".into()),
                command: "sshd".into(),
                counts: row(&[(TcpState::Listen, 1), (TcpState::Established, 10)]),
            },
        ]),
        ..Sample::default()
    }
}

const BIG: Retention = Retention {
    keep: Duration::from_secs(365 * 86400),
    max_size: 1 << 30,
};

fn rfc3339(ms: i64) -> String {
    tcpstat::render::text::rfc3339_utc((ms / 1000) as u64, (ms % 1000) as u32)
}

#[test]
fn history_over_a_fixed_database_gives_known_answers() {
    let dir = scratch("fixed");
    let db = dir.join("h.db");
    // 60 samples 10 s apart from 2024-06-19T12:00:00Z: CLOSE_WAIT 2 or 3 for 40 samples,
    // then 10, 20, ... (the leak starts at sample 40); 50 opens per sample (5/s).
    let t0 = 1_718_798_400_000;
    {
        let mut rec = Recorder::open(&db, "fixture", Duration::from_secs(10)).expect("open");
        for i in 0..60u64 {
            let cw = if i < 40 { 2 + i % 2 } else { (i - 39) * 10 };
            rec.write(&synthetic(t0 + i as i64 * 10_000, cw, 1000 + 50 * i), BIG)
                .expect("write");
        }
        rec.close().expect("close");
    }
    let period = ["--since", &rfc3339(t0), "--until", &rfc3339(t0 + 590_000)];
    let doc = history_json(&db, &period);
    assert_eq!(doc["samples"], 60);
    let state = |doc: &Value, name: &str| -> Value {
        doc["states"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["state"] == name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let cw = state(&doc, "CLOSE_WAIT");
    // 20 x 2 + 20 x 3 + 10 x (1 + ... + 20) = 2200 over 60 samples.
    assert_eq!(
        (cw["min"].as_u64(), cw["max"].as_u64()),
        (Some(2), Some(200))
    );
    assert!(
        (cw["avg"].as_f64().unwrap_or(0.0) - 2200.0 / 60.0).abs() < 1e-6,
        "{cw}"
    );
    assert_eq!(state(&doc, "ESTABLISHED")["avg"], 10.0);
    // Always 0: left out without --state.
    assert_eq!(state(&doc, "SYN_SENT"), Value::Null);
    let opens = &doc["counters"][0];
    assert_eq!(opens["name"], "ActiveOpens");
    assert_eq!(opens["avg_per_second"], 5.0);
    assert_eq!(doc["series"][0]["rates"]["ActiveOpens"], Value::Null);
    assert_eq!(doc["series"][1]["rates"]["ActiveOpens"], 5.0);
    // A port: only its sockets.
    let port = history_json(&db, &[&period[..], &["--port", "22"]].concat());
    assert_eq!(state(&port, "ESTABLISHED")["max"], 10);
    assert_eq!(state(&port, "CLOSE_WAIT"), Value::Null);
    // A workload, and a state.
    let app = history_json(
        &db,
        &[
            &period[..],
            &["--workload", "app.service", "--state", "close-wait"],
        ]
        .concat(),
    );
    assert_eq!(app["states"].as_array().map(Vec::len), Some(1));
    assert_eq!(state(&app, "CLOSE_WAIT")["max"], 200);
    // An unknown workload says which there are.
    let out = util::run(
        &[
            &["history", "--db", db.to_str().expect("utf-8")][..],
            &period[..],
            &["--workload", "nope"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("app.service"));
    // When did it start: sample 40, on port 8080, held by app.service.
    let onset = history_json(
        &db,
        &[&period[..], &["--onset", "--state", "close-wait"]].concat(),
    );
    let o = &onset["onsets"][0];
    assert_eq!(o["state"], "CLOSE_WAIT");
    assert_eq!(o["time"], rfc3339(t0 + 400_000));
    assert_eq!(o["count"], 10);
    assert_eq!(o["ports"][0]["port"], 8080);
    assert_eq!(o["ports"][0]["change"], 7);
    assert_eq!(o["workloads"][0]["name"], "app.service");
    // And the process: pid 4242, its name as recorded in JSON, escaped in the table.
    assert_eq!(o["processes"][0]["pid"], 4242, "{o}");
    assert_eq!(o["processes"][0]["command"], "app\x1b[31m");
    assert_eq!(o["processes"][0]["user"], "app");
    assert_eq!(o["processes"][0]["change"], 7);
    let table = util::text(
        &[
            &["history", "--db", db.to_str().expect("utf-8")][..],
            &period[..],
            &["--onset", "--state", "close-wait"],
        ]
        .concat(),
    );
    assert!(table.contains("process  4242/app"), "{table}");
    assert!(!table.contains('\x1b'), "an unescaped name: {table:?}");
    // --process over the fixed database: the holder's CLOSE_WAIT, sample by sample.
    let by_process = history_json(
        &db,
        &[
            &period[..],
            &["--process", "app\x1b[31m", "--state", "close-wait"],
        ]
        .concat(),
    );
    assert_eq!(state(&by_process, "CLOSE_WAIT"), cw, "{by_process}");
    // The onset is found when the period starts at the leak: the band comes from before.
    let late = history_json(
        &db,
        &[
            "--since",
            &rfc3339(t0 + 395_000),
            "--until",
            &rfc3339(t0 + 590_000),
            "--onset",
        ],
    );
    assert_eq!(late["onsets"][0]["time"], rfc3339(t0 + 400_000), "{late}");
    // A moment between two samples: the one before.
    let at = history_json(&db, &["--at", &rfc3339(t0 + 405_000)]);
    assert_eq!(at["time"], rfc3339(t0 + 400_000));
    assert_eq!(at["counts"]["CLOSE_WAIT"], 10);
    assert_eq!(at["rates"]["ActiveOpens"], 5.0);
    assert_eq!(at["ports"][0]["backlog"], 128);
    // CSV: a header and one line per sample.
    let csv = util::text(
        &[
            &["history", "--db", db.to_str().expect("utf-8"), "--csv"][..],
            &period[..],
        ]
        .concat(),
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 61);
    assert!(
        lines[0].starts_with("time,LISTEN,ESTABLISHED,CLOSE_WAIT,ActiveOpens/s"),
        "{}",
        lines[0]
    );
    assert!(
        lines[41].starts_with(&format!("{},2,10,10,5.000", rfc3339(t0 + 400_000))),
        "{}",
        lines[41]
    );
    // The table: a chart per state.
    let table = util::text(
        &[
            &["history", "--db", db.to_str().expect("utf-8")][..],
            &period[..],
        ]
        .concat(),
    );
    assert!(
        table.contains("CLOSE_WAIT") && table.contains('█'),
        "{table}"
    );
    // No sample in the period: said, with what there is.
    let out = util::run(&[
        "history",
        "--db",
        db.to_str().expect("utf-8"),
        "--since",
        "1h",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("it holds samples from"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every document is what its schema says.
    for (schema, doc) in [
        ("history", &doc),
        ("history", &onset),
        ("history", &app),
        ("history-at", &at),
    ] {
        let errors = super::schemas::schema_errors(schema, doc);
        assert!(errors.is_empty(), "{schema}: {errors:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn retention_by_age_and_size_holds() {
    let dir = scratch("retention");
    let db = dir.join("h.db");
    let max_size = 256 * 1024;
    let retention = Retention {
        keep: Duration::from_secs(3600),
        max_size,
    };
    let mut rec = Recorder::open(&db, "fixture", Duration::from_secs(10)).expect("open");
    let t0 = 1_718_798_400_000;
    let mut largest = 0;
    for i in 0..3000i64 {
        rec.write(&synthetic(t0 + i * 10_000, (i % 50) as u64, 0), retention)
            .expect("write");
        largest = largest.max(std::fs::metadata(&db).expect("stat").len());
    }
    // The file never grows past the cap by more than a few pages (a sample is written
    // before the oldest are deleted).
    assert!(largest <= max_size + 16 * 4096, "{largest} bytes");
    let conn = rusqlite::Connection::open(&db).expect("open");
    let (first, last, n): (i64, i64, i64) = conn
        .query_row("SELECT min(t), max(t), count(*) FROM sample", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("span");
    assert_eq!(last, t0 + 2999 * 10_000, "the newest is kept");
    assert!(n > 100, "{n} samples kept");
    assert!(last - first <= 3_600_000, "--keep 1h: {first}..{last}");
    let orphans: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM port WHERE sample NOT IN (SELECT id FROM sample))
                  + (SELECT count(*) FROM workload_state WHERE sample NOT IN (SELECT id FROM sample))
                  + (SELECT count(*) FROM counters WHERE sample NOT IN (SELECT id FROM sample))",
            [],
            |r| r.get(0),
        )
        .expect("orphans");
    assert_eq!(orphans, 0, "rows of deleted samples are deleted");
    drop(conn);
    rec.close().expect("close");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bytes per sample at the default --top 20, and what 10 s samples cost a day.
#[test]
fn bytes_per_sample() {
    let dir = scratch("bytes");
    let db = dir.join("h.db");
    let mut rec = Recorder::open(&db, "fixture", Duration::from_secs(10)).expect("open");
    let t0 = 1_718_798_400_000;
    let n = 2000;
    for i in 0..n {
        let mut s = synthetic(t0 + i * 10_000, (i % 50) as u64, i as u64 * 7);
        // A full sample: 20 ports and 2 "other" rows, 20 workloads and 2 folded rows.
        let base = s.ports[0];
        s.ports = (0..22u16)
            .map(|p| PortSample {
                port: if p < 20 { 1000 + p } else { 0 },
                outgoing: p == 21,
                ..base
            })
            .collect();
        let w = s.workloads[0].clone();
        s.workloads = (0..22)
            .map(|k| WorkloadSample {
                name: format!("service-{k}.service"),
                ..w.clone()
            })
            .collect();
        // 20 processes and the two summed rows, the kernel's settings, a listener waiting.
        let p = s.processes.as_ref().expect("processes")[0].clone();
        s.processes = Some(
            (0..22)
                .map(|k| ProcessSample {
                    pid: if k < 20 { 1000 + k } else { -(k - 20) },
                    command: format!("worker-{k}"),
                    ..p.clone()
                })
                .collect(),
        );
        s.facts = Some(tcpstat::collect::kernel::read(Path::new("/proc")));
        s.listeners = vec![tcpstat::model::history::ListenerSample {
            address: "127.0.0.1".parse().expect("address"),
            port: 1000,
            queued: 3,
            backlog: Some(128),
        }];
        rec.write(&s, BIG).expect("write");
    }
    rec.close().expect("close");
    let bytes = std::fs::metadata(&db).expect("stat").len();
    let per = bytes / n as u64;
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "history: {per} bytes per sample (22 ports, 22 workloads, 22 processes, 28 \
             counters, settings, a listener); \
             {:.1} MiB per day at 10 s\n",
            (per * 8640) as f64 / (1 << 20) as f64
        )
        .as_bytes(),
    );
    // The budget: under 100 MiB a day at the default interval.
    assert!(per * 8640 < 100 << 20, "{per} bytes per sample");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_disk_is_said_and_retried_without_spinning() {
    let _serial = util::serial();
    if !util::is_root() {
        util::skip("mounting a small tmpfs needs root");
        return;
    }
    let dir = scratch("full");
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).expect("mkdir");
    if let Err(e) = nix::mount::mount(
        Some("tmpfs"),
        &mnt,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=320k"),
    ) {
        util::skip(format!("cannot mount a tmpfs: {e}"));
        return;
    }
    let db = mnt.join("h.db");
    let mut child = recorder(&db, &["--interval", "200ms", "--top", "1000"]);
    wait_until("a first sample", WAIT, || {
        newest(&db).ok_or_else(|| "none".to_string())
    });
    // Then fill the file system to the last byte.
    let filler = mnt.join("filler");
    {
        let mut f = std::fs::File::create(&filler).expect("filler");
        while std::io::Write::write_all(&mut f, &[0u8; 1024]).is_ok() {}
    }
    let began = Instant::now();
    let mut err_text = String::new();
    let mut stderr = child.stderr.take().expect("stderr");
    // Read stderr on a thread: the recorder must not block on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    // Keep writing samples until the disk fills (a sample is a few KiB with every socket).
    wait_until("the recorder to say the disk is full", WAIT, || {
        while let Ok(chunk) = rx.try_recv() {
            err_text.push_str(&String::from_utf8_lossy(&chunk));
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("ended: {status}: {err_text}"));
        }
        (err_text.contains("cannot record a sample") && err_text.contains("trying again"))
            .then_some(())
            .ok_or_else(|| err_text.clone())
    });
    assert!(err_text.contains("full"), "{err_text}");
    // Backing off, not spinning: little CPU over two more seconds.
    let cpu = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        fields
            .get(11)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
    };
    let before = cpu(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let ticks = cpu(child.id()) - before;
    assert!(
        ticks < 50,
        "{ticks} clock ticks of CPU in 2 s while the disk is full"
    );
    // Room again: it records again, and says so.
    let _ = std::fs::remove_file(&filler);
    signal(&child, Signal::TERM);
    let (status, _) = finish(child);
    assert_eq!(status.code(), Some(0), "after {:?}", began.elapsed());
    let _ = nix::mount::umount(&mnt);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = Stdio::null();
}

/// CPU time of a single-threaded process so far, to the nanosecond (`/proc/PID/schedstat`'s
/// first field: time on a CPU), with the number of its threads.
fn cpu_of(pid: u32) -> (Duration, usize) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).expect("schedstat");
    let ns: u64 = stat
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .expect("schedstat's first field");
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("task dir")
        .count();
    (Duration::from_nanos(ns), threads)
}

/// `--cpu-budget`: a real recorder whose samples cost more than the budget allows at
/// `--interval` spaces them out, says so, records the spacing it kept, and over the samples
/// after the first two (once it has measured) takes no more than the budget on average, as
/// the kernel counts its CPU time (not as it reports itself).
#[test]
fn the_recorder_keeps_within_its_cpu_budget() {
    let dir = scratch("budget");
    let db = dir.join("h.db");
    // A few hundred sockets so a sample has a dump to do.
    let mut held = super::util::states::Scenario::new(super::util::netns::Env::Host);
    held.established(super::util::sockets::Family::V4, 200);
    let budget = 0.01;
    let interval_ms = 200;
    let child = recorder(
        &db,
        &[
            "--interval",
            "200ms",
            "--cpu-budget",
            "1%",
            "--processes",
            "never",
        ],
    );
    let pid = child.id();
    let samples = |db: &Path| -> Vec<(i64, Option<i64>, Option<i64>)> {
        let Ok(conn) =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        else {
            return Vec::new();
        };
        let Ok(mut st) = conn.prepare("SELECT t, interval_ms, cpu_us FROM sample ORDER BY t")
        else {
            return Vec::new();
        };
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect())
            .unwrap_or_default()
    };
    let at = |n: usize| {
        wait_until(&format!("{n} samples"), Duration::from_secs(60), || {
            let got = samples(&db);
            if got.len() >= n {
                Ok((got[n - 1].0, cpu_of(pid)))
            } else {
                Err(format!("{} samples", got.len()))
            }
        })
    };
    let (t0, (cpu0, _)) = at(2);
    let (t1, (cpu1, threads)) = at(12);
    signal(&child, Signal::TERM);
    let (status, err) = finish(child);
    assert!(status.success(), "{status:?}: {err}");
    assert_eq!(
        threads, 1,
        "the recorder has {threads} threads: schedstat counts one"
    );
    let rows = samples(&db);
    let gaps: Vec<i64> = rows.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let cpu_us: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    let mean_cpu_ms = cpu_us.iter().sum::<i64>() as f64 / cpu_us.len().max(1) as f64 / 1000.0;
    let detail = format!(
        "gaps {gaps:?} ms, sample CPU {cpu_us:?} us, kept {:?}, stderr: {err}",
        rows.iter().map(|r| r.1).collect::<Vec<_>>()
    );
    // Where a sample costs more than 1% of 200 ms (2 ms; on this kind of host 3 to 6 ms),
    // the samples are spaced out, and it is said.
    assert!(mean_cpu_ms > 0.0, "{detail}");
    if mean_cpu_ms > 2.0 * 1.2 {
        assert!(
            err.contains("instead of every 200ms") && err.contains("within 1% of a core"),
            "{detail}"
        );
        let late: Vec<i64> = gaps[2..].to_vec();
        assert!(
            late.iter().all(|&g| g > interval_ms * 11 / 10),
            "samples not spaced out: {detail}"
        );
    }
    // Each sample says the regular spacing kept then; the first one the interval.
    assert_eq!(rows[0].1, Some(interval_ms), "{detail}");
    for (row, gap) in rows[1..].iter().zip(&gaps) {
        let kept = row.1.expect("interval_ms recorded");
        assert!(kept >= interval_ms, "{detail}");
        // Never sooner than the regular spacing (give or take scheduling); later only while
        // a dear sample's debt is paid.
        assert!(*gap >= kept - 50, "gap {gap} kept {kept}: {detail}");
        assert!(*gap < 4 * kept + 500, "gap {gap} kept {kept}: {detail}");
    }
    // The budget, as the kernel counts the recorder's CPU from the 2nd sample to the 12th.
    let span = Duration::from_millis((t1 - t0) as u64);
    let used = cpu1.saturating_sub(cpu0);
    let share = used.as_secs_f64() / span.as_secs_f64();
    assert!(
        share <= budget * 1.3,
        "{:.2}% of a core over {span:?} ({used:?} of CPU): {detail}",
        share * 100.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A version 2 file (before the recorder's pace was recorded) is read as it is by `history`
/// and `doctor --at`; the next `record` on it migrates it to version 3, and its new samples
/// say the spacing they were taken at.
#[test]
fn a_version_2_database_is_read_and_then_migrated() {
    let dir = scratch("v2");
    let db = dir.join("h.db");
    let t0 = now_ms() - 600_000;
    let mut rec = Recorder::open(&db, "fixture", Duration::from_secs(10)).expect("open");
    for i in 0..5 {
        rec.write(&synthetic(t0 + i * 10_000, 3, 10 + i as u64), BIG)
            .expect("write");
    }
    rec.close().expect("close");
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch(
            "ALTER TABLE sample DROP COLUMN interval_ms;
             ALTER TABLE sample DROP COLUMN cpu_us;
             PRAGMA user_version = 2;",
        )
        .expect("make it version 2");
    }
    let db_arg = db.to_str().expect("utf-8 path");
    let since = rfc3339(t0 - 1_000);
    let h = history_json(&db, &["--since", &since]);
    assert_eq!(h["samples"].as_u64(), Some(5), "{h}");
    let at = rfc3339(t0 + 20_000);
    let out = util::run::command(&["doctor", "--at", &at, "--db", db_arg, "--json"])
        .output()
        .expect("doctor --at");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        report["recorded"]["interval_ms"].as_i64(),
        Some(10_000),
        "{report}"
    );
    // The recorder migrates it; its sample records the spacing it kept.
    let (status, err) = finish(recorder(&db, &["--count", "1", "--interval", "1s"]));
    assert!(status.success(), "{status:?}: {err}");
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, tcpstat::store::SCHEMA_VERSION);
    let rows: Vec<(Option<i64>, Option<i64>)> = conn
        .prepare("SELECT interval_ms, cpu_us FROM sample ORDER BY t")
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()
        })
        .expect("samples");
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows[..5].iter().all(|r| *r == (None, None)), "{rows:?}");
    assert_eq!(rows[5].0, Some(1_000), "{rows:?}");
    assert!(rows[5].1.is_some_and(|us| us > 0), "{rows:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
