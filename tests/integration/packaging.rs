//! What `packaging/` ships (issue 18): the systemd units (`tcpstat-serve`, `tcpstat-record`)
//! verify and keep their hardening scores, their capabilities are the ones the owner walk
//! needs (checked by running tcpstat as an unprivileged user with exactly those
//! capabilities), the record unit's database is in its state directory and every system
//! call and socket family `tcpstat record` uses (run as the unit would run it, under strace)
//! passes the unit's filters, and their default options agree with the default
//! configuration file. The Debian package itself is tested by `packaging/deb-test.sh` (it
//! installs into the system: `.ci/run` runs it).

use std::collections::BTreeSet;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{is_root, serial, skip, BIN};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `packaging/systemd/NAME.service`.
fn unit_named(name: &str) -> String {
    fs::read_to_string(repo().join(format!("packaging/systemd/{name}.service")))
        .unwrap_or_else(|e| panic!("the unit {name}: {e}"))
}

fn unit() -> String {
    unit_named("tcpstat-serve")
}

/// The values of `Key=` lines of the unit, in order.
fn settings(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
        .collect()
}

/// The words of every `Key=` line of the unit.
fn words(unit: &str, key: &str) -> Vec<String> {
    settings(unit, key)
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(str::to_string)
        .collect()
}

/// The unit `name` with its binary replaced by the one under test (verify checks that it
/// exists), in a directory of its own.
fn unit_for_this_build(dir: &Path, name: &str) -> PathBuf {
    fs::create_dir_all(dir).expect("temp dir");
    let path = dir.join(format!("{name}.service"));
    fs::write(&path, unit_named(name).replace("/usr/bin/tcpstat", BIN)).expect("write the unit");
    path
}

fn systemd_analyze() -> Option<()> {
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(o) if o.status.success() => Some(()),
        _ => {
            skip("systemd-analyze is not installed (.ci/run installs the systemd package)");
            None
        }
    }
}

/// `systemd-analyze verify` passes without a word, and `systemd-analyze security` rates the
/// unit `name` at most `max` (its exposure when written: a regression fails).
fn verifies_with_exposure_at_most(name: &str, max: f64) {
    if systemd_analyze().is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tcpstat-unit-{name}-{}", std::process::id()));
    let path = unit_for_this_build(&dir, name);
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze verify");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify {name}: {:?}\n{}",
        verify.status,
        String::from_utf8_lossy(&verify.stderr)
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&path)
        .output()
        .expect("systemd-analyze security");
    let text = String::from_utf8_lossy(&security.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split_once(&format!("Overall exposure level for {name}.service: ")))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(
        score <= max,
        "{name}: exposure {score} (was {max}):\n{text}"
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn the_systemd_unit_verifies_and_keeps_its_hardening() {
    // 2.0 ("OK") when written: what remains is what a socket monitor needs (the host's
    // network and /proc, netlink, ptrace access checks, ambient capabilities).
    verifies_with_exposure_at_most("tcpstat-serve", 2.0);
}

#[test]
fn the_record_unit_verifies_and_keeps_its_hardening() {
    // 1.5 ("OK") when written: serve's, less the Internet sockets (record serves nothing:
    // AF_NETLINK only, IPAddressDeny=any).
    verifies_with_exposure_at_most("tcpstat-record", 1.5);
}

#[test]
fn the_default_file_and_the_units_agree() {
    let default = fs::read_to_string(repo().join("packaging/default/tcpstat")).expect("default");
    let from_file: Vec<&str> = default
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        from_file,
        [
            "TCPSTAT_SERVE_ARGS=\"--listen=127.0.0.1:9555\"",
            "TCPSTAT_RECORD_ARGS=\"\""
        ],
        "serve on loopback; record with its defaults"
    );
    for (name, var, fallback) in [
        ("serve", "TCPSTAT_SERVE_ARGS", "--listen=127.0.0.1:9555"),
        ("record", "TCPSTAT_RECORD_ARGS", ""),
    ] {
        let unit = unit_named(&format!("tcpstat-{name}"));
        assert_eq!(
            settings(&unit, "EnvironmentFile"),
            ["-/etc/default/tcpstat"],
            "{name}"
        );
        assert_eq!(
            settings(&unit, "Environment"),
            [format!("{var}={fallback}")],
            "{name}: the unit's fallback is the file's default"
        );
        assert_eq!(
            settings(&unit, "ExecStart"),
            [format!("/usr/bin/tcpstat {name} ${var}")]
        );
        assert_eq!(
            settings(&unit, "CapabilityBoundingSet"),
            settings(&unit, "AmbientCapabilities"),
            "{name}"
        );
    }
}

/// record's default database is in the unit's state directory (the only place it may
/// write), and the unit has the capabilities of serve's, for the same reason (see its
/// comment).
#[test]
fn the_record_unit_writes_its_database_where_it_may() {
    let unit = unit_named("tcpstat-record");
    assert_eq!(settings(&unit, "StateDirectory"), ["tcpstat"]);
    assert_eq!(settings(&unit, "ProtectSystem"), ["strict"]);
    assert_eq!(settings(&unit, "DynamicUser"), ["yes"]);
    assert_eq!(settings(&unit, "NoNewPrivileges"), ["yes"]);
    let help = crate::util::text(&["record", "--help"]);
    let default_db = help
        .split("[default: ")
        .map(|rest| rest.split(']').next().unwrap_or_default())
        .find(|v| v.ends_with(".db"))
        .unwrap_or_else(|| panic!("no default database in:\n{help}"));
    assert_eq!(
        Path::new(default_db).parent(),
        Some(Path::new("/var/lib/tcpstat")),
        "record's default --db is under /var/lib/<StateDirectory>"
    );
    assert_eq!(
        words(&unit, "AmbientCapabilities"),
        words(&unit_named("tcpstat-serve"), "AmbientCapabilities")
    );
}

/// The lines of `strace -f` output from the one that shows `exec` of `bin` succeeding on
/// (what ran before it is the launcher's, not tcpstat's).
fn after_exec<'a>(trace: &'a str, bin: &str) -> Vec<&'a str> {
    let start = trace
        .lines()
        .position(|l| l.contains(&format!("execve(\"{bin}\"")) && l.ends_with("= 0"))
        .unwrap_or_else(|| panic!("no execve of {bin} in the trace:\n{trace}"));
    trace.lines().skip(start + 1).collect()
}

/// The names of the system calls in `strace -f` lines.
fn syscalls(lines: &[&str]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| {
            let l = l
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start();
            let l = l.strip_prefix("<... ").unwrap_or(l);
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// The system calls a `SystemCallFilter=` list allows, as systemd-analyze expands its sets:
/// the first line's allow list, less every later `~` line's.
fn allowed_syscalls(filters: &[String]) -> BTreeSet<String> {
    fn expand(item: &str, out: &mut BTreeSet<String>) {
        if !item.starts_with('@') {
            out.insert(item.to_string());
            return;
        }
        let o = Command::new("systemd-analyze")
            .args(["syscall-filter", "--no-pager", item])
            .output()
            .expect("systemd-analyze syscall-filter");
        assert!(o.status.success(), "{item}: {o:?}");
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            // Members are indented; comments ("# ...") and the set's header are not.
            if let Some(m) = line.strip_prefix("    ") {
                let m = m.trim();
                if !m.is_empty() && !m.starts_with('#') {
                    expand(m, out);
                }
            }
        }
    }
    let mut allowed = BTreeSet::new();
    for (i, line) in filters.iter().enumerate() {
        let (deny, list) = match line.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, line.as_str()),
        };
        assert!(
            deny == (i > 0),
            "an allow list, then deny lists: {filters:?}"
        );
        let mut set = BTreeSet::new();
        for item in list.split_whitespace() {
            expand(item, &mut set);
        }
        if deny {
            allowed.retain(|s| !set.contains(s));
        } else {
            allowed = set;
        }
    }
    allowed
}

/// Whether this test can run a unit's command as the unit would (as root, with setpriv,
/// strace and systemd-analyze); says a [`skip`] when not.
fn can_trace_as_a_unit() -> bool {
    if !is_root() {
        skip("needs root (setpriv to drop to uid 65534 with capabilities)");
        return false;
    }
    if systemd_analyze().is_none() {
        return false;
    }
    for tool in ["setpriv", "strace"] {
        if Command::new(tool).arg("--version").output().is_err() {
            skip(format!("{tool} is not installed (.ci/run installs it)"));
            return false;
        }
    }
    true
}

/// `tcpstat args` as the unit's user would run it (uid 65534, exactly the unit's ambient
/// capabilities), under `strace -f` writing to `trace`.
fn traced_as_unit(unit: &str, trace: &Path, args: &[&str]) -> Command {
    let caps: Vec<String> = words(unit, "AmbientCapabilities")
        .iter()
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_lowercase()))
        .collect();
    let caps = caps.join(",");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(trace)
        .args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .arg(format!("--inh-caps={caps}"))
        .arg(format!("--ambient-caps={caps}"))
        .arg(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// Every system call and socket family in `trace` (from tcpstat's exec on) passes the
/// unit's `SystemCallFilter=` and `RestrictAddressFamilies=` (a call the filter refuses
/// would fail with EPERM, a family with EAFNOSUPPORT, only on a real host); `expected` calls
/// must be among them (the trace covers the work).
fn passes_the_units_filters(unit: &str, trace: &Path, expected: &[&str]) {
    let trace = fs::read_to_string(trace).expect("the trace");
    let lines = after_exec(&trace, BIN);
    let used = syscalls(&lines);
    for call in expected {
        assert!(used.contains(*call), "no {call} in the trace: {used:?}");
    }
    let allowed = allowed_syscalls(&settings(unit, "SystemCallFilter"));
    assert!(allowed.len() > 100, "{allowed:?}");
    let refused: Vec<&String> = used.difference(&allowed).collect();
    assert!(
        refused.is_empty(),
        "tcpstat makes system calls the unit refuses: {refused:?}"
    );
    let families: BTreeSet<String> = lines
        .iter()
        .filter_map(|l| l.split_once(" socket(")?.1.split(',').next())
        .map(str::to_string)
        .collect();
    let permitted: BTreeSet<String> = words(unit, "RestrictAddressFamilies").into_iter().collect();
    assert!(
        families.is_subset(&permitted) && families.contains("AF_NETLINK"),
        "socket families {families:?}, the unit permits {permitted:?}"
    );
}

/// `tcpstat record` run as the unit runs it, writing into a directory of its own (the
/// state directory): it records, within the unit's filters.
#[test]
fn the_record_unit_lets_record_do_its_work() {
    if !can_trace_as_a_unit() {
        return;
    }
    let _serial = serial();
    let unit = unit_named("tcpstat-record");
    let dir = std::env::temp_dir().join(format!("tcpstat-record-unit-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let state = dir.join("state");
    fs::create_dir_all(&state).expect("state dir");
    chown(&state, Some(65534), Some(65534)).expect("chown the state dir");
    let trace = dir.join("strace.out");
    let db = state.join("history.db");
    let db = db.to_str().expect("a UTF-8 temp dir");
    let args = ["record", "--count", "3", "--interval", "200ms", "--db", db];
    let o = traced_as_unit(&unit, &trace, &args)
        .output()
        .expect("strace setpriv tcpstat record");
    assert!(o.status.success(), "{o:?}");
    let history = crate::util::json(&["history", "--db", db, "--since", "1h", "--json"]);
    assert_eq!(history["samples"], 3, "three samples recorded: {history}");
    passes_the_units_filters(&unit, &trace, &["sendto", "fsync", "flock"]);
    let _ = fs::remove_dir_all(&dir);
}

/// `tcpstat serve --processes` run as its unit runs it: scraped (gzip and plain) and stopped
/// with SIGTERM (exit 0), within the unit's filters.
#[test]
fn the_serve_unit_lets_serve_do_its_work() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::Stdio;
    if !can_trace_as_a_unit() {
        return;
    }
    let _serial = serial();
    let unit = unit();
    let dir = std::env::temp_dir().join(format!("tcpstat-serve-unit-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    let trace = dir.join("strace.out");
    let args = ["serve", "--listen", "127.0.0.1:0", "--processes"];
    let mut strace = traced_as_unit(&unit, &trace, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace setpriv tcpstat serve");
    let mut stderr = BufReader::new(strace.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("serve's first line");
    let addr = line
        .trim_end()
        .strip_prefix("tcpstat: serving metrics on http://")
        .and_then(|s| s.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    for headers in ["Accept-Encoding: gzip\r\n", ""] {
        let mut s = TcpStream::connect(&addr).expect("connect");
        write!(s, "GET /metrics HTTP/1.1\r\nHost: test\r\n{headers}\r\n").expect("send");
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).expect("read");
        assert!(answer.starts_with(b"HTTP/1.1 200 "), "{headers:?}");
    }
    // setpriv exec'd tcpstat: the one child of strace.
    let children = fs::read_to_string(format!("/proc/{0}/task/{0}/children", strace.id()))
        .expect("strace's children");
    let pid: i32 = children.trim().parse().expect("one child");
    let pid = rustix::process::Pid::from_raw(pid).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let status = strace.wait().expect("wait");
    assert!(status.success(), "serve after SIGTERM: {status:?}");
    passes_the_units_filters(&unit, &trace, &["sendto", "accept4", "readlinkat"]);
    let _ = fs::remove_dir_all(&dir);
}

/// `setpriv` running what follows as uid/gid 65534 with `caps` (`CAP_DAC_READ_SEARCH`, ...)
/// as its inheritable and ambient capabilities, as a unit's `AmbientCapabilities=` does.
fn as_nobody_with(caps: &[&str]) -> Command {
    let caps: Vec<String> = caps
        .iter()
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_lowercase()))
        .collect();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    if !caps.is_empty() {
        let list = caps.join(",");
        cmd.arg(format!("--inh-caps={list}"))
            .arg(format!("--ambient-caps={list}"));
    }
    cmd
}

/// Owners of a socket this (root) process holds, as `tcpstat list -p` sees them when run as
/// uid 65534 with `caps` as its ambient capabilities.
fn owners_seen_with(caps: &[&str], port: u16) -> (Vec<i64>, bool) {
    let mut cmd = as_nobody_with(caps);
    let port = port.to_string();
    let o = cmd
        .args([BIN, "list", "-p", "--json", "--port", &port])
        .env_clear()
        .output()
        .expect("setpriv");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let socket = &v["sockets"][0];
    let pids = socket["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .map(|o| o["pid"].as_i64().expect("pid"))
        .collect();
    (
        pids,
        socket["owners_hidden"].as_bool().expect("owners_hidden"),
    )
}

#[test]
fn the_units_capabilities_are_what_owner_lookup_needs() {
    if !is_root() {
        skip("needs root (a root-held socket, and setpriv to drop to uid 65534)");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        skip("setpriv (util-linux) is not installed");
        return;
    }
    let _serial = serial();
    let unit = unit();
    let ambient = settings(&unit, "AmbientCapabilities");
    let caps: Vec<&str> = ambient.iter().flat_map(|l| l.split_whitespace()).collect();
    assert_eq!(caps, ["CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"]);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let me = i64::from(std::process::id());
    let (pids, hidden) = owners_seen_with(&caps, port);
    assert!(pids.contains(&me) && !hidden, "{pids:?} hidden={hidden}");
    // Each is needed: without either one, root's sockets have hidden owners.
    for (i, _) in caps.iter().enumerate() {
        let mut fewer = caps.clone();
        fewer.remove(i);
        let (pids, hidden) = owners_seen_with(&fewer, port);
        assert!(
            pids.is_empty() && hidden,
            "{fewer:?}: {pids:?} hidden={hidden}"
        );
    }
    drop(listener);
}

/// The documents of `packaging/kubernetes/daemonset.yaml`, as JSON.
fn manifests() -> Vec<Value> {
    use serde::Deserialize;
    let text = fs::read_to_string(repo().join("packaging/kubernetes/daemonset.yaml"))
        .expect("the manifest");
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("YAML"))
        .collect()
}

#[test]
fn the_kubernetes_manifest_has_the_apis_field_names_and_our_settings() {
    // No schema-checking tool for Kubernetes is packaged in Debian (kubeconform is not;
    // kubectl validates against a live API server): the fields used are checked against a
    // closed subset of the API's schema, so a misspelt or misplaced field fails here.
    let schema: Value = serde_json::from_str(
        &fs::read_to_string(repo().join("tests/schemas/kubernetes-subset.json")).expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
    let docs = manifests();
    assert_eq!(docs.len(), 2, "a namespace and the DaemonSet");
    for doc in &docs {
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", doc["kind"]);
    }
    // A typo the schema must catch: the check is not vacuous.
    let mut typo = docs[1].clone();
    typo["spec"]["template"]["spec"]["hostPid"] = Value::Bool(true);
    assert!(!validator.is_valid(&typo));

    let ds = &docs[1];
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(ds["metadata"]["namespace"], docs[0]["metadata"]["name"]);
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"],
        ds["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["hostPID"], true);
    let c = &pod["containers"][0];
    let args: Vec<&str> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string"))
        .collect();
    assert_eq!(args[..2], ["serve", "--all-netns"]);
    // The arguments parse: the same ones against this build (the address made concrete).
    let concrete: Vec<String> = args
        .iter()
        .map(|a| a.replace("$(HOST_IP)", "127.0.0.1"))
        .chain(["--help".to_string()])
        .collect();
    let o = crate::util::run(&concrete);
    assert!(o.status.success(), "{concrete:?}: {o:?}");
    let port = c["ports"][0]["containerPort"].as_u64().expect("port");
    assert!(args.contains(&format!("--listen=$(HOST_IP):{port}").as_str()));
    let annotations = &ds["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], port.to_string());
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    // The unit's two, and setns for --all-netns.
    let unit = unit();
    let mut wanted: Vec<String> = settings(&unit, "AmbientCapabilities")
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(|c| c.trim_start_matches("CAP_").to_string())
        .collect();
    wanted.push("SYS_ADMIN".into());
    assert_eq!(sc["capabilities"]["add"], serde_json::json!(wanted));
    for limit in ["cpu", "memory"] {
        assert!(c["resources"]["limits"][limit].is_string(), "{limit} limit");
    }
}

/// ESTABLISHED sockets per workload name in the one sample `tcpstat record --source proc`
/// takes when run as uid 65534 with `caps` (e.g. `CAP_SYS_PTRACE`) as its ambient
/// capabilities, in the calling thread's network namespace.
fn established_by_workload(caps: &[String], dir: &Path) -> Vec<(String, u64)> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("state dir");
    chown(dir, Some(65534), Some(65534)).expect("chown the state dir");
    let db = dir.join("history.db");
    let db = db.to_str().expect("a UTF-8 temp dir");
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    let mut cmd = as_nobody_with(&caps);
    let o = cmd
        .args([
            BIN, "record", "--source", "proc", "--count", "1", "--db", db,
        ])
        .env_clear()
        .output()
        .expect("setpriv tcpstat record");
    assert!(o.status.success(), "{caps:?}: {o:?}");
    let h = crate::util::json(&["history", "--db", db, "--at", "now", "--json"]);
    h["workloads"]
        .as_array()
        .unwrap_or_else(|| panic!("no workloads: {h}"))
        .iter()
        .map(|w| {
            let name = w["name"].as_str().expect("name").to_string();
            (name, w["counts"]["ESTABLISHED"].as_u64().expect("count"))
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Why the record unit has serve's two capabilities: with the /proc source (no netlink, no
/// cgroup ids) a socket's workload is its owner's, and finding root's sockets among
/// `/proc/PID/fd/*` needs both, as for serve's owner walk. Checked in a private network
/// namespace with one connection held by this (root) process.
#[test]
fn the_record_units_capabilities_are_what_workload_lookup_needs() {
    if !is_root() {
        skip("needs root (a root-held socket, and setpriv to drop to uid 65534)");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        skip("setpriv (util-linux) is not installed");
        return;
    }
    if let Err(why) = crate::util::netns::netns_available() {
        skip(format!(
            "record's capabilities in a private network namespace: {why}"
        ));
        return;
    }
    let _serial = serial();
    let caps = words(&unit_named("tcpstat-record"), "AmbientCapabilities");
    assert_eq!(caps, ["CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"]);
    let dir = std::env::temp_dir().join(format!("tcpstat-record-caps-{}", std::process::id()));
    let in_netns = dir.clone();
    crate::util::netns::in_private_netns(move || {
        let dir = in_netns;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let unattributed = |seen: &[(String, u64)]| {
            seen.iter()
                .filter(|(name, _)| name == "(unattributed)")
                .map(|(_, n)| *n)
                .sum::<u64>()
        };
        let with_both = established_by_workload(&caps, &dir);
        assert_eq!(unattributed(&with_both), 0, "{with_both:?}");
        assert_eq!(
            with_both.iter().map(|(_, n)| n).sum::<u64>(),
            2,
            "{with_both:?}"
        );
        for i in 0..caps.len() {
            let mut fewer = caps.clone();
            fewer.remove(i);
            let seen = established_by_workload(&fewer, &dir);
            assert_eq!(unattributed(&seen), 2, "{fewer:?}: {seen:?}");
        }
        drop((client, server, listener));
    });
    let _ = fs::remove_dir_all(&dir);
}
