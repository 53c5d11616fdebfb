//! `history --html` and `history --replay` over a fixed recorded database (built here with
//! the library's `Recorder`, as `history.rs` builds its own): the page parses as XML, loads
//! nothing from anywhere, escapes a hostile workload and host name, and its numbers are
//! `history --json`'s; Chromium renders it to a screenshot that is not blank. The replay is
//! driven in tmux: the first screen is the first sample, a step key shows the next one, `q`
//! gives the terminal back; piped, it prints watch's NDJSON (valid by watch-tick's schema),
//! one tick per sample.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tcpstat::model::history::{PortSample, ProcessSample, Sample, WorkloadSample, COUNTERS};
use tcpstat::model::{StateRow, TcpState};
use tcpstat::store::{Recorder, Retention};

use super::util::{self, skip};

/// A workload name that is markup, an entity, a terminal escape and a bidi override.
const HOSTILE: &str = "<script>alert('x')</script>&amp;\u{1b}[31m\u{202e}evil.service";
const HOST: &str = "db<1>&\"host\"";
/// 2024-06-19T12:00:00Z; 60 samples 10 s apart.
const T0: i64 = 1_718_798_400_000;
const SAMPLES: u64 = 60;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpstat-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn row(pairs: &[(TcpState, u64)]) -> StateRow {
    let mut r = StateRow::default();
    for &(s, n) in pairs {
        r.counts[s.index()] = n;
    }
    r
}

/// Sample `i`: CLOSE_WAIT 2 or 3 until sample 40, then 10, 20, ... on port 8080 held by the
/// hostile workload; ESTABLISHED 10 + i % 4 on port 22 (ssh.service); TIME_WAIT every third
/// sample; ActiveOpens +50 a sample, RetransSegs +i, ListenOverflows +5 from sample 50.
fn sample(i: u64) -> Sample {
    let cw = if i < 40 { 2 + i % 2 } else { (i - 39) * 10 };
    let est = 10 + i % 4;
    let tw = if i.is_multiple_of(3) { 7 } else { 0 };
    let mut counters = vec![Some(0); COUNTERS.len()];
    let at = |name: &str| {
        COUNTERS
            .iter()
            .position(|&(_, n)| n == name)
            .expect("a counter")
    };
    counters[at("ActiveOpens")] = Some(1000 + 50 * i);
    counters[at("RetransSegs")] = Some(i * (i + 1) / 2);
    counters[at("ListenOverflows")] = Some(i.saturating_sub(50) * 5);
    Sample {
        t_ms: T0 + i as i64 * 10_000,
        source: "netlink".into(),
        partial: false,
        states: row(&[
            (TcpState::Listen, 2),
            (TcpState::Established, est),
            (TcpState::CloseWait, cw),
            (TcpState::TimeWait, tw),
        ]),
        ports: vec![
            PortSample {
                port: 8080,
                counts: row(&[(TcpState::Listen, 1), (TcpState::CloseWait, cw)]),
                listeners: 1,
                queued: i % 5,
                backlog: Some(128),
                ..PortSample::default()
            },
            PortSample {
                port: 22,
                counts: row(&[
                    (TcpState::Listen, 1),
                    (TcpState::Established, est),
                    (TcpState::TimeWait, tw),
                ]),
                listeners: 1,
                backlog: Some(128),
                ..PortSample::default()
            },
        ],
        workloads: vec![
            WorkloadSample {
                name: HOSTILE.into(),
                counts: row(&[(TcpState::Listen, 1), (TcpState::CloseWait, cw)]),
            },
            WorkloadSample {
                name: "ssh.service".into(),
                counts: row(&[(TcpState::Listen, 1), (TcpState::Established, est)]),
            },
        ],
        counters,
        collect_us: 100,
        cpu_us: Some(90),
        interval_ms: 10_000,
        // Two processes of one command (summed per command on the page); sample 7 did not
        // look the owners up.
        processes: (i != 7).then(|| {
            vec![
                ProcessSample {
                    pid: 4242,
                    uid: Some(1000),
                    user: Some("app".into()),
                    command: "<b>app</b>\u{1b}[31m".into(),
                    counts: row(&[(TcpState::Listen, 1), (TcpState::CloseWait, cw)]),
                },
                ProcessSample {
                    pid: 4243,
                    uid: Some(1000),
                    user: Some("app".into()),
                    command: "<b>app</b>\u{1b}[31m".into(),
                    counts: row(&[(TcpState::CloseWait, 1)]),
                },
            ]
        }),
        ..Sample::default()
    }
}

fn fixed_db(dir: &Path) -> PathBuf {
    let db = dir.join("h.db");
    let keep = Retention {
        keep: Duration::from_secs(365 * 86400),
        max_size: 1 << 30,
    };
    let mut rec = Recorder::open(&db, HOST, Duration::from_secs(10)).expect("open");
    for i in 0..SAMPLES {
        rec.write(&sample(i), keep).expect("write");
    }
    rec.close().expect("close");
    db
}

fn utc(ms: i64) -> String {
    tcpstat::render::text::rfc3339_utc((ms / 1000) as u64, (ms % 1000) as u32)
}

fn period() -> [String; 4] {
    [
        "--since".into(),
        utc(T0),
        "--until".into(),
        utc(T0 + (SAMPLES as i64 - 1) * 10_000),
    ]
}

fn history(db: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = vec!["history".into(), "--db".into(), db.display().to_string()];
    args.extend(period());
    args.extend(extra.iter().map(|s| s.to_string()));
    util::run(&args)
}

fn json(db: &Path, extra: &[&str]) -> Value {
    let out = history(db, &[&["--json"], extra].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The text of a node and all below it.
fn text(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn by_id<'a, 'i>(doc: &'a roxmltree::Document<'i>, id: &str) -> Option<roxmltree::Node<'a, 'i>> {
    doc.descendants().find(|n| n.attribute("id") == Some(id))
}

/// The cells of a table row, as text.
fn cells(row: roxmltree::Node<'_, '_>) -> Vec<String> {
    row.children()
        .filter(|n| n.has_tag_name("td"))
        .map(text)
        .collect()
}

#[test]
fn the_html_report_is_self_contained_escaped_and_agrees_with_json() {
    let dir = scratch("html");
    let db = fixed_db(&dir);
    let page = dir.join("report.html");
    let out = history(
        &db,
        &[
            "--html",
            page.to_str().expect("utf-8"),
            "--state",
            "close-wait",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "the page goes to the file only");
    let html = std::fs::read_to_string(&page).expect("the page");
    // Nothing from outside: no address, no source, no link, no CSS import or url().
    for outside in [
        "http:", "https:", "src=", "href=", "url(", "@import", "<link", "<script",
    ] {
        assert!(
            !html.to_ascii_lowercase().contains(outside),
            "{outside} in the page"
        );
    }
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("not well-formed: {e}"));
    assert!(doc.root_element().has_tag_name("html"));
    assert!(
        doc.descendants()
            .all(|n| !n.has_tag_name("script") && !n.has_tag_name("img")),
        "no script or image element"
    );
    // The hostile names are text, made visible as the terminal outputs make them.
    let shown = tcpstat::render::text::escape(HOSTILE).into_owned();
    let workloads = by_id(&doc, "workloads").expect("the workloads table");
    let names: Vec<String> = workloads
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .filter_map(|r| cells(r).into_iter().next())
        .collect();
    assert_eq!(names, [shown.clone(), "ssh.service".to_string()]);
    assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));
    assert_eq!(by_id(&doc, "host").map(text).as_deref(), Some(HOST));
    // The numbers: history --json for the same period (every state that was not always 0).
    let doc_json = json(&db, &[]);
    let states = doc_json["states"].as_array().expect("states");
    let rows: Vec<roxmltree::Node<'_, '_>> = by_id(&doc, "states")
        .expect("the states table")
        .descendants()
        .filter(|n| n.has_tag_name("tr") && n.attribute("id").is_some())
        .collect();
    assert_eq!(rows.len(), states.len());
    assert_eq!(
        states.len(),
        4,
        "LISTEN, ESTABLISHED, CLOSE_WAIT, TIME_WAIT"
    );
    for s in states {
        let name = s["state"].as_str().expect("a name");
        let row = by_id(&doc, &format!("state-{name}")).expect("a row per state");
        let avg = s["avg"].as_f64().expect("avg");
        assert_eq!(
            cells(row),
            [
                name.to_string(),
                s["min"].to_string(),
                format!("{avg:.1}"),
                s["max"].to_string(),
                s["last"].to_string()
            ],
            "{name}"
        );
        // A chart per state that was not always 0.
        let chart = by_id(&doc, &format!("chart-{name}")).expect("a chart");
        assert!(chart.descendants().any(|n| n.has_tag_name("polyline")));
    }
    for c in doc_json["counters"].as_array().expect("counters") {
        let name = c["name"].as_str().expect("a name");
        let row = by_id(&doc, &format!("counter-{name}"));
        match c["max_per_second"].as_f64() {
            Some(max) if max > 0.0 => {
                let avg = c["avg_per_second"].as_f64().expect("avg");
                assert_eq!(
                    cells(row.expect("a busy counter's row")),
                    [name.to_string(), format!("{avg:.2}"), format!("{max:.2}")]
                );
            }
            _ => assert!(row.is_none(), "{name} never moved"),
        }
    }
    for charted in ["RetransSegs", "ListenOverflows"] {
        assert!(
            by_id(&doc, &format!("chart-{charted}")).is_some(),
            "{charted}"
        );
    }
    assert!(
        by_id(&doc, "quiet-counters").is_some_and(|n| text(n).contains("EstabResets")),
        "counters that never moved are named"
    );
    // The onset of --state close-wait: as history --onset says.
    let onset = &json(&db, &["--onset", "--state", "close-wait"])["onsets"][0];
    let para = by_id(&doc, "onset-CLOSE_WAIT")
        .map(text)
        .expect("the onset");
    assert!(
        para.contains(&format!(": {} sockets", onset["count"])),
        "{para} / {onset}"
    );
    // Who held it then: the port, the workload and the process, named as text.
    let held = doc
        .descendants()
        .filter(|n| n.has_tag_name("td"))
        .map(text)
        .find(|t| t.starts_with("process "))
        .expect("the process at the onset");
    assert_eq!(held, "process 4242/<b>app</b>\\x1b[31m");
    let marker = by_id(&doc, "chart-CLOSE_WAIT")
        .and_then(|c| c.descendants().find(|n| n.has_tag_name("line")))
        .expect("the onset marked on the chart");
    // Sample 40 (the first above the band), of 0..59 on a 600-wide chart.
    let x: f64 = marker
        .attribute("x1")
        .and_then(|x| x.parse().ok())
        .expect("x1");
    assert_eq!(onset["time"], utc(T0 + 40 * 10_000));
    assert!((x - 40.0 * 600.0 / 59.0).abs() < 0.01, "x1 {x}");
    // Top ports: the peaks of the period.
    let ports = by_id(&doc, "ports").expect("the ports table");
    let first = ports
        .descendants()
        .find(|n| n.has_tag_name("tr") && n.children().any(|c| c.has_tag_name("td")))
        .map(cells)
        .expect("a port row");
    assert_eq!(first[0], "8080 (in)");
    assert_eq!(first.last().map(String::as_str), Some("4 / 128"));
    // Top processes: per command, the largest sum of its processes in one sample, as
    // history --process sums them; the sample without processes said.
    let command = "<b>app</b>\u{1b}[31m";
    let by_command = json(&db, &["--process", command, "--state", "close-wait"]);
    let peak = by_command["states"][0]["max"].as_u64().expect("max");
    assert_eq!(peak, (SAMPLES - 1 - 39) * 10 + 1);
    let processes = by_id(&doc, "processes").expect("the processes table");
    let first = processes
        .descendants()
        .find(|n| n.has_tag_name("tr") && n.children().any(|c| c.has_tag_name("td")))
        .map(cells)
        .expect("a process row");
    assert_eq!(first[0], "<b>app</b>\\x1b[31m");
    assert_eq!(first[1], peak.to_string(), "stuck: CLOSE_WAIT only");
    assert!(
        text(doc.root_element()).contains(&format!("({} of the {SAMPLES} samples)", SAMPLES - 1)),
        "the samples without processes are said"
    );
    // `-` writes it to stdout, the same page but for the time it was made.
    let out = history(&db, &["--html", "-"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("<!DOCTYPE html>"));
    // A file that cannot be written: said, exit 1, nothing left behind.
    let nowhere = dir.join("missing").join("report.html");
    let out = history(&db, &["--html", nowhere.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot write"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    screenshot_is_not_blank(&dir, &page);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Chromium renders the page; its screenshot is much larger (as a PNG) than that of an
/// empty page of the same size, which compresses to almost nothing.
fn screenshot_is_not_blank(dir: &Path, page: &Path) {
    let Some(chromium) = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
    else {
        skip("chromium is not installed");
        return;
    };
    let blank = dir.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").expect("blank page");
    let shot = |file: &Path, png: &Path| -> u64 {
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1200,1600",
            ])
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", file.display()))
            .env("HOME", dir)
            .output()
            .expect("chromium runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::metadata(png).expect("a screenshot").len()
    };
    let empty = shot(&blank, &dir.join("blank.png"));
    let full = shot(page, &dir.join("report.png"));
    assert!(
        full > 10 * empty && full > 50_000,
        "report {full} bytes, blank {empty} bytes"
    );
}

/// The numbers of a state's row on the watch screen: COUNT and DELTA.
fn screen_row(pane: &str, state: &str) -> Option<(String, String)> {
    let row = pane.lines().find(|l| l.starts_with(&format!("{state} ")))?;
    let mut words = row.split_whitespace().skip(1);
    Some((words.next()?.to_string(), words.next()?.to_string()))
}

#[test]
fn the_replay_steps_through_the_recording_on_the_watch_screen() {
    let _serial = util::serial();
    let Some(tm) = super::watch::Tmux::start("replay", 120, 40) else {
        return;
    };
    let dir = scratch("replay");
    let db = fixed_db(&dir);
    let [_, since, _, until] = period();
    tm.type_line("echo BEFORE");
    // 10 s a sample: the first screen stays until the test pauses it.
    tm.type_line(&format!(
        "TZ=UTC {} history --db {} --since {since} --until {until} --replay --speed 0.1; \
         echo EXIT=$?",
        env!("CARGO_BIN_EXE_tcpstat"),
        db.display()
    ));
    let first = tm.pane("the first sample", &|p| p.starts_with("REPLAY"));
    assert!(
        first
            .lines()
            .next()
            .is_some_and(|l| l.contains("2024-06-19 12:00:00 +00:00  sample 1/60  playing 0.1/s")),
        "{first}"
    );
    assert_eq!(tm.modes(), "1 0", "on the alternate screen, cursor hidden");
    // Sample 0: CLOSE_WAIT 2, ESTABLISHED 10, TIME_WAIT 7; no delta yet.
    assert_eq!(
        screen_row(&first, "CLOSE_WAIT"),
        Some(("2".into(), "-".into()))
    );
    assert_eq!(
        screen_row(&first, "ESTABLISHED"),
        Some(("10".into(), "-".into()))
    );
    assert!(first.contains("host db<1>&\"host\""), "{first}");
    // The hostile workload, made visible, in the top workloads.
    assert!(
        first.contains("2       -  <script>alert('x')</script>&amp;\\x1b[31m\\u{202e}evil.service"),
        "{first}"
    );
    tm.key("Space");
    tm.pane("paused", &|p| {
        p.lines().next().is_some_and(|l| l.ends_with("paused"))
    });
    tm.key("Right");
    let second = tm.pane("the second sample", &|p| p.contains("sample 2/60"));
    assert!(second.contains("2024-06-19 12:00:10 +00:00"), "{second}");
    assert_eq!(
        screen_row(&second, "CLOSE_WAIT"),
        Some(("3".into(), "+1".into()))
    );
    assert_eq!(
        screen_row(&second, "ESTABLISHED"),
        Some(("11".into(), "+1".into()))
    );
    assert_eq!(
        screen_row(&second, "TIME_WAIT"),
        Some(("0".into(), "-7".into()))
    );
    // The top port and workload, with their change since the sample before.
    assert!(second.contains("3      +1  8080 in"), "{second}");
    assert!(second.contains("3      +1  <script>"), "{second}");
    // The last one, and back one.
    tm.key("G");
    tm.pane("the last sample", &|p| p.contains("sample 60/60"));
    tm.key("Left");
    let before_last = tm.pane("one back", &|p| p.contains("sample 59/60"));
    // Sample 58: CLOSE_WAIT (58 - 39) x 10.
    assert_eq!(
        screen_row(&before_last, "CLOSE_WAIT"),
        Some(("190".into(), "+10".into()))
    );
    tm.key("q");
    let after = tm.pane("the shell again", &|p| p.contains("EXIT=0"));
    assert!(
        after.contains("BEFORE"),
        "the screen before is back: {after}"
    );
    assert_eq!(tm.modes(), "0 1", "the terminal is given back");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_piped_replay_is_watch_ndjson_one_tick_per_sample() {
    let dir = scratch("ndjson");
    let db = fixed_db(&dir);
    let out = history(&db, &["--replay"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let series = json(&db, &[])["series"].clone();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), SAMPLES as usize);
    for (i, tick) in lines.iter().enumerate() {
        let errors = super::schemas::schema_errors("watch-tick", tick);
        assert!(errors.is_empty(), "tick {i}: {errors:?}");
        assert_eq!(tick["type"], "tick");
        assert_eq!(tick["tick"], i + 1);
        assert_eq!(tick["timestamp"], series[i]["time"]);
        assert_eq!(tick["hostname"], HOST);
        for state in ["CLOSE_WAIT", "ESTABLISHED", "TIME_WAIT", "LISTEN"] {
            assert_eq!(
                tick["states"][state], series[i]["counts"][state],
                "{i} {state}"
            );
        }
        let delta = (i > 0).then(|| {
            series[i]["counts"]["CLOSE_WAIT"].as_i64().unwrap_or(0)
                - series[i - 1]["counts"]["CLOSE_WAIT"].as_i64().unwrap_or(0)
        });
        assert_eq!(
            tick["deltas"]["CLOSE_WAIT"].as_i64(),
            Some(delta.unwrap_or(0))
        );
        assert_eq!(tick["elapsed_s"].as_f64(), (i > 0).then_some(10.0));
    }
    // The top ports by the stuck states: port 8080 (CLOSE_WAIT) alone.
    assert_eq!(lines[50]["top"][0]["port"], 8080);
    assert_eq!(lines[50]["top"][0]["total"], 110);
    // With --process, the list is that command's processes (the recording has no port of a
    // process), and the samples that did not look the owners up are left out.
    let command = "<b>app</b>\u{1b}[31m";
    let out = history(&db, &["--replay", "--process", command]);
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(
        lines.len(),
        SAMPLES as usize - 1,
        "sample 7 has no processes"
    );
    let at_50 = &lines[49];
    assert_eq!(at_50["states"]["CLOSE_WAIT"], 111, "{at_50}");
    let top: Vec<(i64, i64)> = at_50["top"]
        .as_array()
        .expect("top")
        .iter()
        .map(|g| {
            (
                g["pid"].as_i64().unwrap_or(0),
                g["total"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(top, [(4242, 110), (4243, 1)], "{at_50}");
    assert_eq!(at_50["top"][0]["command"], command);
    let _ = std::fs::remove_dir_all(&dir);
}
