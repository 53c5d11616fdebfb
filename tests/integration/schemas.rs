//! The JSON contract: every document tcpstat prints is validated against its published JSON
//! Schema (`docs/schema/*.schema.json`, draft 2020-12).
//!
//! The schemas list every key that is always present in `required` and close every object
//! with `additionalProperties: false`, so a key added, renamed or dropped in the output fails
//! here until its schema says so. The runs cover every document type and format variant:
//! `summary`, `ports`, `procs`, `list --json`, `list --ndjson` (socket and end lines),
//! `watch --json` (ticks, events, error lines, a failed tick) and `doctor --json`,
//!
//! - on the recorded /proc fixtures (`--proc-root tests/fixtures/...`: unknown kernel states,
//!   malformed lines, no IPv6 table, fake processes owning sockets, doctor's findings);
//! - on live sockets of this test (netlink and `--source proc`), with events made while
//!   `watch --events` runs;
//! - as root, in a private network namespace read with `--netns-pid` and `--all-netns`,
//!   where documents gain `netns` and rows `netns_label`.
//!
//! ```text
//! cargo test --test integration schemas
//! ```
//!
//! Helpers are kept in this file (the other test modules have their own).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use jsonschema::Validator;
use serde_json::Value;

const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const BIN: &str = env!("CARGO_BIN_EXE_tcpstat");

/// Every document type, by the name of its schema file (`NAME.schema.json`).
const DOCUMENTS: &[&str] = &[
    "summary",
    "ports",
    "procs",
    "workloads",
    "health",
    "list",
    "list-row",
    "list-end",
    "watch-tick",
    "watch-event",
    "watch-error",
    "doctor",
    "history",
    "history-at",
];

/// How long a wait on a child or on the kernel may take.
const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

fn schema_path(name: &str) -> PathBuf {
    Path::new(SCHEMA_DIR).join(format!("{name}.schema.json"))
}

fn read_schema(name: &str) -> Value {
    let path = schema_path(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

/// A validator per document type, formats (`date-time`) checked too.
struct Schemas(BTreeMap<&'static str, Validator>);

impl Schemas {
    fn load() -> Schemas {
        Schemas(
            DOCUMENTS
                .iter()
                .map(|&name| {
                    let validator = jsonschema::draft202012::options()
                        .should_validate_formats(true)
                        .build(&read_schema(name))
                        .unwrap_or_else(|e| panic!("{name}.schema.json does not compile: {e}"));
                    (name, validator)
                })
                .collect(),
        )
    }

    /// Every way `doc` breaks schema `name`, one line each (empty: valid).
    fn errors(&self, name: &str, doc: &Value) -> Vec<String> {
        let validator = &self.0[name];
        validator
            .iter_errors(doc)
            .map(|e| format!("at {}: {e}", e.instance_path()))
            .collect()
    }
}

/// Every way `doc` breaks the schema `name` (`doctor`, `health`, ...), one line each: for
/// documents other modules make live (the health tests' doctor findings about peers).
pub(crate) fn schema_errors(name: &str, doc: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&read_schema(name))
        .unwrap_or_else(|e| panic!("{name}.schema.json does not compile: {e}"));
    validator
        .iter_errors(doc)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

/// The binary with an empty environment but PATH, stdin from /dev/null, output piped.
fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// The schema a line of NDJSON follows, by its `type`.
fn line_schema(line: &Value) -> Option<&'static str> {
    match line["type"].as_str()? {
        "socket" => Some("list-row"),
        "end" => Some("list-end"),
        "tick" => Some("watch-tick"),
        "event" => Some("watch-event"),
        "error" => Some("watch-error"),
        _ => None,
    }
}

/// Runs commands and validates what they print; collects every problem, to report all at once.
struct Checker {
    schemas: Schemas,
    problems: Vec<String>,
    /// Documents validated, by schema.
    seen: BTreeMap<&'static str, usize>,
    /// Every document validated, with its schema: what the runs exercised.
    docs: Vec<(&'static str, Value)>,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            schemas: Schemas::load(),
            problems: Vec::new(),
            seen: BTreeMap::new(),
            docs: Vec::new(),
        }
    }

    /// Validates one document against `schema`.
    fn validate(&mut self, schema: &'static str, doc: &Value, what: &str) {
        for e in self.schemas.errors(schema, doc) {
            self.problems.push(format!("{what}: {schema}: {e}"));
        }
        *self.seen.entry(schema).or_default() += 1;
        self.docs.push((schema, doc.clone()));
    }

    /// Validates every line of NDJSON `text` by its `type`; returns the lines.
    fn validate_lines(&mut self, text: &str, what: &str) -> Vec<Value> {
        let mut lines = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{what}, line {}", n + 1);
            let Ok(value) = serde_json::from_str::<Value>(line) else {
                self.problems.push(format!("{at}: not JSON: {line}"));
                continue;
            };
            match line_schema(&value) {
                Some(schema) => self.validate(schema, &value, &at),
                None => self.problems.push(format!("{at}: no known type: {line}")),
            }
            lines.push(value);
        }
        lines
    }

    /// Runs tcpstat with `args` (a subcommand first) and validates its output: one JSON
    /// document, or NDJSON lines (`list --ndjson`, `watch`). The run must succeed (doctor: 0,
    /// 3 or 4).
    fn run(&mut self, args: &[&str]) -> Vec<Value> {
        let out = command(args)
            .output()
            .unwrap_or_else(|e| panic!("running {BIN}: {e}"));
        let code = out.status.code();
        let ok = if args[0] == "doctor" {
            matches!(code, Some(0 | 3 | 4))
        } else {
            code == Some(0)
        };
        if !ok {
            self.problems.push(describe(args, &out, "failed"));
            return Vec::new();
        }
        self.output(args, &String::from_utf8_lossy(&out.stdout))
    }

    /// Validates what `args` printed on stdout.
    fn output(&mut self, args: &[&str], stdout: &str) -> Vec<Value> {
        let what = format!("tcpstat {}", args.join(" "));
        if args[0] == "watch" || args.contains(&"--ndjson") {
            let lines = self.validate_lines(stdout, &what);
            if args.contains(&"--ndjson") {
                self.check_list_stream(&lines, &what);
            }
            return lines;
        }
        let schema = DOCUMENTS
            .iter()
            .copied()
            .find(|&d| d == args[0])
            .unwrap_or_else(|| panic!("no schema for {what}"));
        match serde_json::from_str::<Value>(stdout) {
            Ok(doc) => {
                if schema == "list" {
                    let rows = doc["sockets"].as_array().map_or(0, Vec::len);
                    if doc["total"] != rows {
                        self.problems
                            .push(format!("{what}: total is not the {rows} sockets"));
                    }
                } else if stdout.lines().count() != 1 {
                    self.problems.push(format!("{what}: not one line"));
                }
                self.validate(schema, &doc, &what);
                vec![doc]
            }
            Err(e) => {
                self.problems
                    .push(format!("{what}: not JSON ({e}): {stdout}"));
                Vec::new()
            }
        }
    }

    /// `list --ndjson`: socket lines, then one end line that counts them.
    fn check_list_stream(&mut self, lines: &[Value], what: &str) {
        let Some((end, sockets)) = lines.split_last() else {
            self.problems.push(format!("{what}: no lines"));
            return;
        };
        if end["type"] != "end" || sockets.iter().any(|s| s["type"] != "socket") {
            self.problems
                .push(format!("{what}: not socket lines and one end line last"));
        }
        if end["total"] != sockets.len() {
            self.problems.push(format!(
                "{what}: the end line's total is not the socket lines"
            ));
        }
    }

    /// Panics with every problem; and unless each of `documents` was validated at least once
    /// (the runs must exercise what they claim to).
    fn finish(self, documents: &[&str]) {
        let mut problems = self.problems;
        for d in documents {
            if !self.seen.contains_key(d) {
                problems.push(format!("no {d} document was validated"));
            }
        }
        assert!(
            problems.is_empty(),
            "{} problem(s) with the JSON contract (docs/schema/):\n{}",
            problems.len(),
            problems.join("\n")
        );
        println!("validated: {:?}", self.seen);
    }

    /// Whether a document of `schema` had `key` (at any depth).
    fn saw_key(&self, schema: &str, key: &str) -> bool {
        self.saw(schema, |doc| {
            let mut keys = BTreeSet::new();
            collect_keys(doc, &mut keys);
            keys.contains(key)
        })
    }

    /// Whether a document of `schema` passed `test`.
    fn saw(&self, schema: &str, test: impl Fn(&Value) -> bool) -> bool {
        self.docs.iter().any(|(s, doc)| *s == schema && test(doc))
    }
}

fn describe(args: &[&str], out: &Output, what: &str) -> String {
    format!(
        "tcpstat {}: {what} ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

fn collect_keys(v: &Value, keys: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                keys.insert(k.clone());
                collect_keys(x, keys);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_keys(x, keys)),
        _ => {}
    }
}

/// Every command whose JSON does not depend on the socket table's shape, for the table read
/// with `scope` (extra arguments: a fixture, a source, namespaces, a port filter).
fn every_document(scope: &[&str]) -> Vec<Vec<String>> {
    let variants: &[&[&str]] = &[
        &["summary", "--json"],
        &["summary", "--json", "-6"],
        &["summary", "--json", "--state", "close-wait,listen"],
        &["ports", "--json"],
        &["ports", "--json", "--by", "local", "--all-states"],
        &["ports", "--json", "--by", "remote", "--top", "1"],
        &["procs", "--json"],
        &["procs", "--json", "--top", "1"],
        &["workloads", "--json"],
        &["workloads", "--json", "--by", "pod", "--all-states"],
        &["workloads", "--json", "--by", "unit", "--top", "1"],
        &["health", "--json"],
        &["health", "--json", "--by", "peer", "--top", "1"],
        &["health", "--json", "--by", "prefix", "--prefix", "8"],
        &["health", "--json", "--by", "process"],
        &["health", "--json", "--by", "workload"],
        &["list", "--json"],
        &["list", "--json", "-W"],
        &["list", "--ndjson", "-W", "-p"],
        &["list", "--json", "-p", "-o", "--sort", "state"],
        &["list", "--json", "-i", "-m"],
        &["list", "--ndjson", "-i", "-m", "-p", "--sort", "queue"],
        &["list", "--ndjson"],
        &["list", "--ndjson", "-p", "-o"],
        &[
            "watch",
            "--count",
            "2",
            "--interval",
            "10ms",
            "--json",
            "--events",
        ],
        &[
            "watch",
            "--count",
            "2",
            "--interval",
            "10ms",
            "--json",
            "--by",
            "process",
            "--older-than",
            "0s",
        ],
        &[
            "watch",
            "--count",
            "2",
            "--interval",
            "10ms",
            "--json",
            "--by",
            "workload",
            "--older-than",
            "0s",
        ],
        &[
            "watch",
            "--count",
            "1",
            "--json",
            "--by",
            "remote",
            "--older-than",
            "0s",
            "--top",
            "1",
        ],
        &[
            "watch",
            "--count",
            "2",
            "--interval",
            "10ms",
            "--json",
            "--health",
            "--top",
            "1",
        ],
        &["doctor", "--json"],
        &["doctor", "--json", "--threshold", "CLOSE_WAIT=1,2"],
    ];
    variants
        .iter()
        .filter(|v| !(v[0] == "doctor" && scope.contains(&"--all-netns")))
        .map(|v| v.iter().chain(scope).map(|s| s.to_string()).collect())
        .collect()
}

fn run_all(checker: &mut Checker, scope: &[&str]) {
    for args in every_document(scope) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        checker.run(&args);
    }
}

// ---------------------------------------------------------------------------------------------
// The schema files
// ---------------------------------------------------------------------------------------------

/// Walks a schema: every subschema with `properties` must close the object and list its
/// required keys, and every property must say what it means.
fn check_schema_rules(node: &Value, at: &str, problems: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                if map.get("additionalProperties") != Some(&Value::Bool(false)) {
                    problems.push(format!(
                        "{at}: an object without additionalProperties: false"
                    ));
                }
                match map.get("required").and_then(Value::as_array) {
                    Some(required) => {
                        for r in required {
                            if !r.as_str().is_some_and(|r| props.contains_key(r)) {
                                problems.push(format!("{at}: required {r} is not a property"));
                            }
                        }
                    }
                    None => problems.push(format!("{at}: an object without required")),
                }
                for (name, prop) in props {
                    let described = prop
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| !d.trim().is_empty());
                    if !described {
                        problems.push(format!("{at}.{name}: no description"));
                    }
                }
            }
            for (k, v) in map {
                check_schema_rules(v, &format!("{at}/{k}"), problems);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_schema_rules(v, &format!("{at}/{i}"), problems);
            }
        }
        _ => {}
    }
}

#[test]
fn schema_files_are_valid_schemas() {
    let mut problems = Vec::new();
    // One file per document type, no other.
    let files: BTreeSet<String> = fs::read_dir(SCHEMA_DIR)
        .expect("docs/schema/ is readable")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let wanted: BTreeSet<String> = DOCUMENTS
        .iter()
        .map(|d| format!("{d}.schema.json"))
        .collect();
    if files != wanted {
        problems.push(format!("docs/schema/ holds {files:?}, want {wanted:?}"));
    }
    // Shared definitions, by name, as each file has them: they must not drift apart.
    let mut shared: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for name in DOCUMENTS {
        let schema = read_schema(name);
        let file = format!("{name}.schema.json");
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            problems.push(format!("{file}: not a draft 2020-12 schema: {e}"));
        }
        if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
            problems.push(format!("{file}: $schema is not draft 2020-12"));
        }
        if let Err(e) = jsonschema::draft202012::new(&schema) {
            problems.push(format!("{file}: does not compile: {e}"));
        }
        if schema["properties"]["schema_version"]["const"] != tcpstat::render::json::SCHEMA_VERSION
        {
            problems.push(format!(
                "{file}: schema_version is not {}",
                tcpstat::render::json::SCHEMA_VERSION
            ));
        }
        check_schema_rules(&schema, &file, &mut problems);
        for (def, body) in schema["$defs"].as_object().into_iter().flatten() {
            match shared.get(def) {
                Some((first, seen)) if seen != body => {
                    problems.push(format!("{file}: $defs/{def} differs from {first}'s"))
                }
                Some(_) => {}
                None => {
                    shared.insert(def.clone(), (file.clone(), body.clone()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The schemas do reject what they must: a key they do not know, a key renamed, a key
/// missing, a state name that is not one.
#[test]
fn schemas_reject_unknown_renamed_and_missing_keys() {
    let schemas = Schemas::load();
    let out = command(&[
        "summary",
        "--json",
        "--proc-root",
        &fixture("proc-recorded"),
    ])
    .output()
    .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    assert_eq!(schemas.errors("summary", &doc), Vec::<String>::new());
    let mut added = doc.clone();
    added["sockets"] = 23.into();
    let mut renamed = doc.clone();
    let total = renamed
        .as_object_mut()
        .and_then(|o| o.remove("total"))
        .expect("total");
    renamed["count"] = total;
    let mut nested = doc.clone();
    nested["families"]["ipv4"]["states"]["ESTABLISHED_"] = 1.into();
    let mut missing = doc.clone();
    missing
        .as_object_mut()
        .and_then(|o| o.remove("hostname"))
        .expect("hostname");
    let mut wrong_type = doc;
    wrong_type["unknown"] = serde_json::json!([]);
    for (what, bad) in [
        ("an added key", added),
        ("a renamed key", renamed),
        ("an added state", nested),
        ("a missing key", missing),
        ("unknown as schema 1's array", wrong_type),
    ] {
        assert!(
            !schemas.errors("summary", &bad).is_empty(),
            "{what} passes the summary schema"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Recorded fixtures
// ---------------------------------------------------------------------------------------------

#[test]
fn recorded_fixtures_match_the_schemas() {
    let mut checker = Checker::new();
    for name in [
        "proc-recorded",
        "proc-unknown",
        "proc-malformed",
        "proc-no-tcp6",
        "proc-doctor",
    ] {
        let root = fixture(name);
        // A --proc-root selects the /proc source; say it too, for one fixture.
        run_all(&mut checker, &["--proc-root", &root]);
        if name == "proc-recorded" {
            run_all(&mut checker, &["--proc-root", &root, "--source", "proc"]);
        }
    }
    // doctor's findings, with levels that make every kind of subject appear.
    checker.run(&[
        "doctor",
        "--json",
        "--proc-root",
        &fixture("proc-doctor"),
        "--threshold",
        "CLOSE_WAIT=1",
        "--threshold",
        "syn-sent=1",
        "--threshold",
        "accept-queue=1",
        "--threshold",
        "ephemeral-ports=1",
    ]);
    // What the fixtures are there for: unknown states, owners, every kind of group and
    // subject.
    let subjects = |kind: &'static str| {
        move |doc: &Value| {
            doc["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["subject"]["kind"] == kind))
        }
    };
    for (what, seen) in [
        (
            "unknown states",
            checker.saw("summary", |d| d["unknown"].as_u64() > Some(0)),
        ),
        (
            "a socket with owners",
            checker.saw("list-row", |d| {
                d["owners"].as_array().is_some_and(|o| !o.is_empty())
            }),
        ),
        (
            "a group without a process",
            checker.saw("watch-tick", |d| {
                d["top"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|g| g.get("owners_hidden").is_some()))
            }),
        ),
        (
            "a process subject",
            checker.saw("doctor", subjects("process")),
        ),
        (
            "a listener subject",
            checker.saw("doctor", subjects("listener")),
        ),
        ("a route subject", checker.saw("doctor", subjects("route"))),
        (
            "a destination subject",
            checker.saw("doctor", subjects("destination")),
        ),
    ] {
        assert!(seen, "no document with {what} from the fixtures");
    }
    watch_error_lines(&mut checker);
    watch_failed_tick(&mut checker);
    checker.finish(&[
        "summary",
        "ports",
        "procs",
        "workloads",
        "health",
        "list",
        "list-row",
        "list-end",
        "watch-tick",
        "watch-error",
        "doctor",
    ]);
}

/// A watch whose first collections fail prints error lines (then exits 1).
fn watch_error_lines(checker: &mut Checker) {
    let args = [
        "watch",
        "--count",
        "2",
        "--interval",
        "10ms",
        "--json",
        "--proc-root",
        &fixture("proc-empty"),
    ];
    let out = command(&args).output().expect("runs");
    if out.status.code() != Some(1) {
        checker
            .problems
            .push(describe(&args, &out, "should fail with 1"));
    }
    let lines = checker.validate_lines(&String::from_utf8_lossy(&out.stdout), "watch (empty)");
    if !lines.iter().any(|l| l["type"] == "error") {
        checker
            .problems
            .push("watch on an empty table: no error line".into());
    }
}

/// A copy of a recorded /proc root, removed when dropped.
struct ProcCopy(PathBuf);

impl ProcCopy {
    fn of(name: &str) -> ProcCopy {
        let dir =
            std::env::temp_dir().join(format!("tcpstat-schemas-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("net")).expect("temp dir");
        for table in ["tcp", "tcp6"] {
            fs::copy(
                Path::new(&fixture(name)).join("net").join(table),
                dir.join("net").join(table),
            )
            .expect("copy a table");
        }
        ProcCopy(dir)
    }

    fn tcp(&self) -> PathBuf {
        self.0.join("net/tcp")
    }
}

impl Drop for ProcCopy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A tick whose collection failed after a good one: `error` set, `deltas` and `elapsed_s`
/// null. The table is emptied while watch runs, then put back.
fn watch_failed_tick(checker: &mut Checker) {
    let copy = ProcCopy::of("proc-recorded");
    let good = fs::read(copy.tcp()).expect("tcp");
    let root = copy.0.to_string_lossy().into_owned();
    let args = [
        "watch",
        "--interval",
        "50ms",
        "--count",
        "200",
        "--json",
        "--proc-root",
        &root,
    ];
    let mut child = command(&args).spawn().expect("spawn watch");
    let mut lines = String::new();
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let deadline = Instant::now() + WAIT;
    let mut emptied = false;
    let mut failed_seen = false;
    while Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        lines.push_str(&line);
        let tick: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if !emptied && tick["error"].is_null() {
            fs::write(copy.tcp(), "").expect("empty the table");
            emptied = true;
        } else if emptied && tick["error"].is_string() {
            failed_seen = true;
            fs::write(copy.tcp(), &good).expect("put the table back");
        } else if failed_seen && tick["error"].is_null() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let ticks = checker.validate_lines(&lines, "watch (a failed tick)");
    let failed = ticks.iter().find(|t| t["error"].is_string());
    if !failed.is_some_and(|t| t["deltas"].is_null() && t["elapsed_s"].is_null()) {
        checker
            .problems
            .push(format!("watch: no failed tick with null deltas: {lines}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Live sockets
// ---------------------------------------------------------------------------------------------

/// Sockets in several states on one loopback port, held by this process.
struct Table {
    listener: TcpListener,
    /// Client and server ends of accepted connections, and clients never accepted.
    _held: Vec<TcpStream>,
}

impl Table {
    /// A listener on `addr` (port 0: any) with an ESTABLISHED pair, a half-closed pair
    /// (CLOSE_WAIT + FIN_WAIT_2), a connection left in the accept queue and a TIME_WAIT.
    fn new(addr: SocketAddr) -> std::io::Result<Table> {
        let listener = TcpListener::bind(addr)?;
        let at = listener.local_addr()?;
        let mut held = Vec::new();
        for half_close in [false, true] {
            let client = TcpStream::connect(at)?;
            let (server, _) = listener.accept()?;
            if half_close {
                client.shutdown(Shutdown::Write)?;
            }
            held.extend([client, server]);
        }
        // Closed by the server first, then the client: the server end is left in TIME_WAIT.
        let client = TcpStream::connect(at)?;
        drop(listener.accept()?);
        wait_until_eof(&client);
        drop(client);
        held.push(TcpStream::connect(at)?);
        Ok(Table {
            listener,
            _held: held,
        })
    }

    fn port(&self) -> String {
        self.listener
            .local_addr()
            .map(|a| a.port().to_string())
            .unwrap_or_default()
    }
}

fn wait_until_eof(stream: &TcpStream) {
    use std::io::Read;
    let _ = stream.set_read_timeout(Some(WAIT));
    let mut buf = [0u8; 16];
    let _ = (&*stream).read(&mut buf);
}

/// `watch --events` while sockets come and go on a listener of its own: every line it printed
/// until it showed an `enter` and a `leave` event (or the time ran out), validated.
fn watch_with_events(checker: &mut Checker, scope: &[&str]) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let at = listener.local_addr().expect("listening");
    let port = at.port().to_string();
    let mut args = vec![
        "watch",
        "--json",
        "--events",
        "--interval",
        "50ms",
        "--count",
        "400",
        "--port",
        &port,
    ];
    args.extend_from_slice(scope);
    let mut child = command(&args).spawn().expect("spawn watch");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = String::new();
    // After the first tick a new half-closed pair (CLOSE_WAIT and FIN_WAIT_2 enter); once
    // they are seen entering, closed (they leave).
    let mut pair: Option<(TcpStream, TcpStream)> = None;
    let mut made = false;
    let deadline = Instant::now() + WAIT;
    let (mut entered, mut left) = (false, false);
    while Instant::now() < deadline && !(entered && left) {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        lines.push_str(&line);
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        entered |= v["event"] == "enter";
        left |= v["event"] == "leave";
        if !made {
            made = true;
            let client = TcpStream::connect(at).expect("connect");
            let (server, _) = listener.accept().expect("accept");
            client.shutdown(Shutdown::Write).expect("half-close");
            pair = Some((client, server));
        } else if entered {
            pair = None;
        }
    }
    drop(pair);
    let _ = child.kill();
    let _ = child.wait();
    let what = format!("tcpstat {}", args.join(" "));
    checker.validate_lines(&lines, &what);
    if !(entered && left) {
        checker
            .problems
            .push(format!("{what}: no enter and leave events: {lines}"));
    }
}

/// Takes the lock of the tests of this target that fork while they hold sockets (see
/// `util::exclusive`): this test forks tcpstat while it holds its own.
fn alone() -> std::sync::MutexGuard<'static, ()> {
    crate::util::serial()
}

#[test]
fn live_documents_match_the_schemas() {
    let _alone = alone();
    let mut checker = Checker::new();
    let v4 = Table::new("127.0.0.1:0".parse().expect("addr")).expect("IPv4 sockets");
    // IPv6 when the host has it.
    let v6 = Table::new("[::1]:0".parse().expect("addr")).ok();
    let port = v4.port();
    for source in ["auto", "proc"] {
        // The whole host, and only this test's sockets.
        run_all(&mut checker, &["--source", source]);
        run_all(&mut checker, &["--source", source, "--port", &port]);
        watch_with_events(&mut checker, &["--source", source]);
    }
    if let Some(v6) = &v6 {
        run_all(&mut checker, &["--port", &v6.port()]);
    }
    assert!(
        checker.saw("ports", |d| d["ports"]
            .as_array()
            .is_some_and(|rows| rows.iter().any(|r| r["listener"].is_object()))),
        "a listener row from the live table"
    );
    assert!(
        checker.saw("procs", |d| d["not_accepted"]["listeners"]
            .as_array()
            .is_some_and(|l| !l.is_empty())),
        "a connection not accepted, from the live table"
    );
    drop((v4, v6));
    checker.finish(&[
        "summary",
        "ports",
        "procs",
        "list",
        "list-row",
        "list-end",
        "watch-tick",
        "watch-event",
        "doctor",
    ]);
}

// ---------------------------------------------------------------------------------------------
// Network namespaces (root)
// ---------------------------------------------------------------------------------------------

/// Why the namespace test cannot run here, if it cannot: it needs root (a new network
/// namespace, and reading every namespace), and `ip` to bring `lo` up in it.
fn namespaces_unavailable() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root (the test makes a network namespace)".into());
    }
    let ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !ip.is_ok_and(|s| s.success()) {
        return Some("`ip` (iproute2) is not installed: it brings lo up".into());
    }
    None
}

/// A private network namespace with sockets in it, and a `sleep` in it (so it has a process
/// for `--netns-pid` and `--all-netns` to find), all gone when dropped.
struct Namespace {
    sleeper: Child,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Namespace {
    fn new() -> Result<Namespace, String> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Child, String>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            let made = (|| -> Result<(Child, Table), String> {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
                let up = Command::new("ip")
                    .args(["link", "set", "lo", "up"])
                    .status()
                    .map_err(|e| format!("ip: {e}"))?;
                if !up.success() {
                    return Err(format!("ip link set lo up: {up}"));
                }
                let table = Table::new("127.0.0.1:0".parse().expect("addr"))
                    .map_err(|e| format!("sockets in the namespace: {e}"))?;
                // Spawned from this thread, it is in this thread's network namespace.
                let sleeper = Command::new("sleep")
                    .arg("600")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("spawn sleep: {e}"))?;
                Ok((sleeper, table))
            })();
            match made {
                Ok((sleeper, table)) => {
                    let _ = ready_tx.send(Ok(sleeper));
                    // Hold the sockets until the test is done.
                    let _ = stop_rx.recv();
                    drop(table);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
        let sleeper = ready_rx
            .recv()
            .map_err(|_| "the namespace thread died".to_string())??;
        Ok(Namespace {
            sleeper,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    fn pid(&self) -> String {
        self.sleeper.id().to_string()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = self.sleeper.kill();
        let _ = self.sleeper.wait();
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn namespace_documents_match_the_schemas() {
    if let Some(why) = namespaces_unavailable() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test (as root): {why}"
        );
        println!("skipped: {why}");
        return;
    }
    let _alone = alone();
    let ns = Namespace::new().unwrap_or_else(|e| panic!("a private network namespace: {e}"));
    let pid = ns.pid();
    let mut checker = Checker::new();
    run_all(&mut checker, &["--netns-pid", &pid]);
    run_all(&mut checker, &["--netns-pid", &pid, "--source", "proc"]);
    run_all(&mut checker, &["--all-netns"]);
    // A namespace whose only process exits between discovery and the /proc read (another
    // test's `unshare -n`) is skipped with a warning, not a failed run.
    run_all(&mut checker, &["--all-netns", "--source", "proc"]);
    // The shape namespaces add: `netns` in every document (doctor too), `netns_label` in rows,
    // a namespace's counts with --all-netns.
    for schema in [
        "summary",
        "ports",
        "procs",
        "list",
        "list-end",
        "watch-tick",
        "doctor",
    ] {
        assert!(
            checker.saw_key(schema, "netns"),
            "{schema}: no netns with --netns-pid"
        );
    }
    for schema in ["ports", "procs", "list", "list-row", "watch-tick"] {
        assert!(
            checker.saw_key(schema, "netns_label"),
            "{schema}: no netns_label with --all-netns"
        );
    }
    drop(ns);
    checker.finish(&[
        "summary",
        "ports",
        "procs",
        "workloads",
        "health",
        "list",
        "list-row",
        "list-end",
        "watch-tick",
        "doctor",
    ]);
}
