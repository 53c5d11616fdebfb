//! `--netns`, `--netns-pid` and `--all-netns` against network namespaces made here, with
//! known sockets held by known processes.
//!
//! Each namespace gets, on loopback port [`PORT`]: one listener, `pairs` established
//! connections (both ends) and one half-closed connection (the client shut its sending side:
//! it is in FIN_WAIT_2, the server end in CLOSE_WAIT). No socket is an orphan (the kernel
//! may kill orphans at once when the host has many, as a benchmark does), and every one is
//! handed to `sleep` children (three per child, as stdin, stdout and stderr), so owners are
//! exact: those pids, command `sleep`. Kinds of namespace:
//!
//! - anonymous: a thread `unshare`s, creates the sockets and starts the holders, which keep
//!   the namespace alive (reached with `--netns-pid` or `--netns /proc/PID/ns/net`);
//! - named: `ip netns add`, then the same from a thread that `setns`ed into it (removed with
//!   `ip netns delete` on drop, panics included);
//! - named without processes: the holders are started from the host namespace, so nothing
//!   lives in it but sockets, owned from outside (the /proc source must read it through
//!   `/proc/thread-self/net` inside, and the owner walk must not be limited to it).
//!
//! Needs root and `ip` (iproute2); otherwise a skip with the reason (a failure under CI). Queries are
//! filtered with `--port PORT`: other namespaces of the host (benchmarks, containers) can be
//! large, and only ours are checked. Waits poll with a deadline.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

use nix::sched::CloneFlags;
use serde_json::Value;

use crate::util::netns::{bring_lo_up, netns_available};
use crate::util::{json, run, serial, skip, tcpstat, wait_until, WAIT};

/// The port of every test socket (namespaces are fresh, so it is free in each).
const PORT: u16 = 47193;
const NOBODY: u32 = 65534;

/// Expected sockets of one namespace.
#[derive(Debug, Clone, Copy)]
struct Layout {
    pairs: usize,
}

impl Layout {
    fn expected(self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        m.insert("LISTEN", 1);
        m.insert("ESTABLISHED", 2 * self.pairs as u64);
        m.insert("CLOSE_WAIT", 1);
        m.insert("FIN_WAIT_2", 1);
        m
    }

    fn total(self) -> u64 {
        self.expected().values().sum()
    }
}

/// Makes the layout's sockets in the calling thread's namespace, to be held.
fn make_sockets(layout: Layout) -> Vec<OwnedFd> {
    bring_lo_up();
    let listener = TcpListener::bind(("127.0.0.1", PORT)).expect("bind in a fresh namespace");
    let mut held: Vec<OwnedFd> = Vec::new();
    for _ in 0..layout.pairs {
        let client = TcpStream::connect(("127.0.0.1", PORT)).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        held.push(client.into());
        held.push(server.into());
    }
    let closing = TcpStream::connect(("127.0.0.1", PORT)).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    closing.shutdown(Shutdown::Write).expect("half-close");
    held.push(closing.into());
    held.push(server.into());
    held.push(listener.into());
    held
}

/// `sleep` children holding `fds`, three each (stdin, stdout, stderr; /dev/null pads).
fn hold(fds: Vec<OwnedFd>) -> Vec<Child> {
    let mut children = Vec::new();
    let mut fds = fds.into_iter().peekable();
    while fds.peek().is_some() {
        let mut slot = || -> Stdio { fds.next().map_or_else(Stdio::null, Stdio::from) };
        let (stdin, stdout, stderr) = (slot(), slot(), slot());
        // No PR_SET_PDEATHSIG: it fires when the *thread* that forked ends, and holders are
        // started from short-lived namespace threads. Drop kills them; a killed test run
        // leaves `sleep 600`s that end by themselves.
        let child = Command::new("sleep")
            .arg("600")
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("spawn sleep");
        children.push(child);
    }
    children
}

/// A namespace made for a test; its holders are killed and a named one deleted on drop.
struct TestNetns {
    name: Option<String>,
    holders: Vec<Child>,
    inode: u64,
    layout: Layout,
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        for child in &mut self.holders {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(name) = &self.name {
            let _ = Command::new("ip").args(["netns", "delete", name]).status();
        }
    }
}

impl TestNetns {
    fn pids(&self) -> Vec<u32> {
        self.holders.iter().map(Child::id).collect()
    }

    /// A holder whose namespace is this one (none for a namespace without processes).
    fn member(&self) -> u32 {
        self.holders[0].id()
    }

    /// An anonymous namespace, alive as long as its holders.
    fn anonymous(layout: Layout) -> TestNetns {
        let made = thread::spawn(move || {
            // Moves only this thread, which ends here.
            nix::sched::unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
            // Children inherit this thread's namespace.
            let holders = hold(make_sockets(layout));
            let inode = fs::metadata("/proc/thread-self/ns/net")
                .expect("own ns")
                .ino();
            (holders, inode)
        });
        let (holders, inode) = made.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        TestNetns {
            name: None,
            holders,
            inode,
            layout,
        }
    }

    /// A named namespace; with `processes`, the holders live in it, else in the host's.
    fn named(layout: Layout, processes: bool) -> TestNetns {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        remove_stale_names();
        let name = format!(
            "tcpstat-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        TestNetns::named_as(name, layout, processes)
    }

    /// [`TestNetns::named`] under a name of the caller's (one just deleted, to be reused).
    fn named_as(name: String, layout: Layout, processes: bool) -> TestNetns {
        let added = Command::new("ip").args(["netns", "add", &name]).status();
        assert!(added.is_ok_and(|s| s.success()), "ip netns add {name}");
        let mut ns = TestNetns {
            name: Some(name.clone()),
            holders: Vec::new(),
            inode: fs::metadata(format!("/run/netns/{name}"))
                .expect("stat the new namespace")
                .ino(),
            layout,
        };
        let made = thread::spawn(move || {
            let file = File::open(format!("/run/netns/{name}")).expect("open netns");
            // Moves only this thread, which ends here.
            nix::sched::setns(&file, CloneFlags::CLONE_NEWNET).expect("setns(CLONE_NEWNET)");
            let fds = make_sockets(layout);
            if processes {
                // Children inherit this thread's namespace.
                (hold(fds), Vec::new())
            } else {
                (Vec::new(), fds)
            }
        });
        let (holders, fds) = made.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        // Without processes: the holders start from the host's namespace.
        ns.holders = if processes { holders } else { hold(fds) };
        ns
    }
}

/// Deletes `tcpstat-test-PID-*` namespaces left by runs that were killed.
fn remove_stale_names() {
    let Ok(entries) = fs::read_dir("/run/netns") else {
        return;
    };
    for name in entries.filter_map(|e| e.ok()?.file_name().into_string().ok()) {
        let Some(pid) = name
            .strip_prefix("tcpstat-test-")
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !fs::exists(format!("/proc/{pid}")).unwrap_or(true) {
            let _ = Command::new("ip").args(["netns", "delete", &name]).status();
        }
    }
}

/// The non-zero entries of a JSON states object.
fn nonzero(states: &Value) -> BTreeMap<String, u64> {
    states
        .as_object()
        .expect("states object")
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_u64().filter(|&n| n > 0)?)))
        .collect()
}

fn expected_states(layout: Layout) -> BTreeMap<String, u64> {
    layout
        .expected()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Polls `query` until `check` passes (returns `Ok`) or [`WAIT`] has passed (then panics
/// with the last reason).
fn eventually<T>(
    what: &str,
    mut query: impl FnMut() -> T,
    check: impl Fn(&T) -> Result<(), String>,
) -> T {
    wait_until(what, WAIT, || {
        let value = query();
        check(&value).map(|()| value)
    })
}

/// `summary --json` with `args`, once it shows exactly the layout's states.
fn summary_with(args: &[&str], layout: Layout) -> Value {
    eventually(
        &format!("{args:?}"),
        || json(args),
        |doc| {
            let got = nonzero(&doc["states"]);
            (got == expected_states(layout))
                .then_some(())
                .ok_or(format!("states {got:?}"))
        },
    )
}

fn port_filter() -> String {
    PORT.to_string()
}

/// Checks a `procs --json` document: our holders own exactly our sockets. `netns` is the
/// label rows must carry (with --all-netns).
fn check_procs(doc: &Value, ns: &TestNetns, netns: Option<&str>) -> Result<(), String> {
    let mine: Vec<&Value> = doc["processes"]
        .as_array()
        .ok_or("no processes")?
        .iter()
        .filter(|p| ns.pids().contains(&(p["pid"].as_u64().unwrap_or(0) as u32)))
        .filter(|p| netns.is_none_or(|label| p["netns_label"] == label))
        .collect();
    let owned: u64 = mine.iter().map(|p| p["total"].as_u64().unwrap_or(0)).sum();
    if mine.len() != ns.holders.len() || owned != ns.layout.total() {
        return Err(format!(
            "want {} holders owning {} sockets, got {mine:?}",
            ns.holders.len(),
            ns.layout.total()
        ));
    }
    if mine.iter().any(|p| p["command"] != "sleep") {
        return Err(format!("holders are sleep: {mine:?}"));
    }
    Ok(())
}

#[test]
fn netns_pid_and_path_read_an_anonymous_namespace() {
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(why);
        return;
    }
    let layout = Layout { pairs: 2 };
    let ns = TestNetns::anonymous(layout);
    let pid = ns.member().to_string();
    let path = format!("/proc/{pid}/ns/net");
    let port = port_filter();
    for args in [
        vec!["summary", "--json", "--netns-pid", &pid],
        vec!["summary", "--json", "--netns", &path],
        // /proc/PID/net/tcp{,6}: no entering at all.
        vec!["summary", "--json", "--netns-pid", &pid, "--source", "proc"],
    ] {
        let doc = summary_with(&args, layout);
        let entry = &doc["netns"][0];
        assert_eq!(entry["inode"], ns.inode, "{doc}");
        assert_eq!(entry["current"], false);
        assert_eq!(doc["netns"].as_array().map(Vec::len), Some(1));
        if args.contains(&"--netns-pid") {
            assert_eq!(entry["pid"], ns.member());
            assert_eq!(entry["command"], "sleep");
            assert_eq!(entry["label"], format!("ns:[{}] (sleep)", ns.inode));
        } else {
            assert_eq!(entry["label"], path.as_str());
        }
    }
    let doc = eventually(
        "procs --netns-pid",
        || json(&["procs", "--json", "--netns-pid", &pid, "--port", &port]),
        |doc| check_procs(doc, &ns, None),
    );
    assert_eq!(doc["total"], layout.total());
    assert_eq!(doc["no_owner"]["total"], 0);
    // The table says which namespace it read.
    let out = run(&["--netns-pid", &pid]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("network namespace: ns:[{}] (sleep)", ns.inode)),
        "{text}"
    );
    // Without the flag, these sockets are not in tcpstat's own namespace.
    let own = json(&["summary", "--json", "--port", &port]);
    assert!(
        own.get("netns").is_none(),
        "no netns key without the flags: {own}"
    );
    // list -p: every owned socket names one of the holders.
    let doc = json(&["list", "--json", "-p", "--netns-pid", &pid]);
    let sockets = doc["sockets"].as_array().expect("array");
    assert_eq!(sockets.len() as u64, layout.total());
    for s in sockets {
        let owners = s["owners"].as_array().expect("resolved");
        assert_eq!(owners.len(), 1, "{s}");
        let pid = owners[0]["pid"].as_u64().unwrap_or(0) as u32;
        assert!(ns.pids().contains(&pid), "{s}");
        assert!(
            s.get("netns_label").is_none(),
            "no per-row key for one namespace"
        );
    }
}

#[test]
fn netns_name_reads_a_named_namespace_with_and_without_processes() {
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(why);
        return;
    }
    for processes in [true, false] {
        let layout = Layout { pairs: 1 };
        let ns = TestNetns::named(layout, processes);
        let name = ns.name.clone().unwrap_or_default();
        for source in ["netlink", "proc"] {
            // Without processes, /proc is read as /proc/thread-self/net inside the namespace.
            let args = ["summary", "--json", "--netns", &name, "--source", source];
            let doc = summary_with(&args, layout);
            let entry = &doc["netns"][0];
            assert_eq!(entry["label"], name.as_str());
            assert_eq!(entry["name"], name.as_str());
            assert_eq!(entry["inode"], ns.inode);
            assert_eq!(doc["source"], source);
        }
        // Its path is labelled by its name too.
        let path = format!("/run/netns/{name}");
        let doc = summary_with(&["summary", "--json", "--netns", &path], layout);
        assert_eq!(doc["netns"][0]["name"], name.as_str(), "{doc}");
        assert_eq!(doc["netns"][0]["label"], name.as_str(), "{doc}");
        // Owners are found wherever they live: here, for the namespace without processes,
        // in the host's namespace.
        eventually(
            "procs --netns NAME",
            || json(&["procs", "--json", "--netns", &name]),
            |doc| check_procs(doc, &ns, None),
        );
    }
}

#[test]
fn all_netns_counts_and_attributes_each_namespace() {
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(why);
        return;
    }
    let anonymous = TestNetns::anonymous(Layout { pairs: 1 });
    let named = TestNetns::named(Layout { pairs: 2 }, true);
    let empty = TestNetns::named(Layout { pairs: 3 }, false);
    let ours = [&anonymous, &named, &empty];
    let label = |ns: &TestNetns| match &ns.name {
        Some(name) => name.clone(),
        None => format!("ns:[{}] (sleep)", ns.inode),
    };
    let port = port_filter();

    for source in ["netlink", "proc"] {
        let args = [
            "summary",
            "--all-netns",
            "--json",
            "--port",
            &port,
            "--source",
            source,
        ];
        let doc = eventually(
            &format!("{args:?}"),
            || json(&args),
            |doc| {
                for ns in ours {
                    let entry = doc["netns"]
                        .as_array()
                        .ok_or("no netns array")?
                        .iter()
                        .find(|e| e["inode"] == ns.inode)
                        .ok_or(format!("namespace {} not found", ns.inode))?;
                    let got = nonzero(&entry["states"]);
                    if got != expected_states(ns.layout) {
                        return Err(format!("{}: states {got:?}", label(ns)));
                    }
                    if entry["total"] != ns.layout.total() || entry["label"] != label(ns) {
                        return Err(format!("entry {entry}"));
                    }
                }
                Ok(())
            },
        );
        let entries = doc["netns"].as_array().expect("netns");
        assert_eq!(
            entries.iter().filter(|e| e["current"] == true).count(),
            1,
            "tcpstat's own namespace is read too"
        );
        // The top-level numbers are the sum of the namespaces read.
        let sum: u64 = entries.iter().filter_map(|e| e["total"].as_u64()).sum();
        assert_eq!(doc["total"], sum);
    }

    // procs: rows per namespace and process.
    eventually(
        "procs --all-netns",
        || json(&["procs", "--all-netns", "--json", "--port", &port]),
        |doc| {
            for ns in ours {
                check_procs(doc, ns, Some(&label(ns)))?;
            }
            Ok(())
        },
    );

    // ports: the listener of each namespace is a service port there.
    let doc = json(&["ports", "--all-netns", "--json", "--port", &port]);
    for ns in ours {
        let row = doc["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|r| {
                r["netns_label"] == label(ns).as_str()
                    && r["port"] == PORT
                    && r["direction"] == "in"
            })
            .unwrap_or_else(|| panic!("no {PORT} in row for {}: {doc}", label(ns)));
        // Listener, server ends (ESTABLISHED, CLOSE_WAIT) in; client ends out.
        assert_eq!(row["states"]["LISTEN"], 1, "{row}");
        assert_eq!(
            row["states"]["ESTABLISHED"], ns.layout.pairs as u64,
            "{row}"
        );
        assert_eq!(row["states"]["CLOSE_WAIT"], 1, "{row}");
        assert_eq!(row["listener"]["listening_sockets"], 1, "{row}");
    }

    // list: every socket says its namespace.
    let doc = json(&["list", "--all-netns", "--json", "--port", &port]);
    for ns in ours {
        let n = doc["sockets"]
            .as_array()
            .expect("array")
            .iter()
            .filter(|s| s["netns_label"] == label(ns).as_str())
            .count() as u64;
        assert_eq!(n, ns.layout.total(), "{}", label(ns));
    }

    // watch: one NDJSON tick with every namespace's counts.
    let tick = json(&[
        "watch",
        "--all-netns",
        "--json",
        "--count",
        "1",
        "--port",
        &port,
        "--state",
        "close-wait",
        "--by",
        "process",
        "--top",
        "1000",
    ]);
    for ns in ours {
        let entry = tick["netns"]
            .as_array()
            .expect("netns")
            .iter()
            .find(|e| e["inode"] == ns.inode)
            .unwrap_or_else(|| panic!("{} in the tick: {tick}", label(ns)));
        assert_eq!(entry["states"]["CLOSE_WAIT"], 1, "{entry}");
        assert_eq!(entry["total"], 1);
        let top = tick["top"]
            .as_array()
            .expect("top")
            .iter()
            .find(|g| g["netns_label"] == label(ns).as_str())
            .unwrap_or_else(|| panic!("{} in the top list: {tick}", label(ns)));
        assert_eq!(top["command"], "sleep");
        assert_eq!(top["total"], 1);
    }

    // The tables carry a NETNS column.
    let out = run(&["summary", "--all-netns", "--port", &port]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("NETNS"), "{text}");
    for ns in ours {
        assert!(text.contains(&label(ns)), "{}: {text}", label(ns));
    }
    let out = run(&["procs", "--all-netns", "--port", &port]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("NETNS") && text.contains(&label(&named)),
        "{text}"
    );
}

#[test]
fn without_privileges_the_flags_fail_naming_namespace_and_capability() {
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(why);
        return;
    }
    let ns = TestNetns::named(Layout { pairs: 1 }, true);
    let name = ns.name.clone().unwrap_or_default();
    let as_nobody = |args: &[&str]| {
        let mut cmd = tcpstat();
        cmd.args(args).uid(NOBODY).gid(NOBODY);
        cmd.output().expect("tcpstat runs as nobody")
    };
    for args in [
        vec!["--netns", name.as_str()],
        vec!["--all-netns"],
        vec!["watch", "--all-netns", "--json", "--count", "1"],
    ] {
        let out = as_nobody(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert!(stderr.contains("CAP_SYS_ADMIN"), "{args:?}: {stderr}");
        assert!(stderr.contains("network namespace "), "{args:?}: {stderr}");
    }
    let out = as_nobody(&["--netns", &name]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&name));
    // Another user's process: its namespace cannot even be looked at.
    let pid = ns.member().to_string();
    let out = as_nobody(&["--netns-pid", &pid]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("of pid {pid}")) && stderr.contains("needs root"),
        "{stderr}"
    );
    // ... but its /proc/PID/net/tcp{,6} are world-readable: the /proc source reads them
    // without entering anything, with exact counts.
    let port = port_filter();
    let args = [
        "--netns-pid",
        &pid,
        "--source",
        "proc",
        "--json",
        "--port",
        &port,
    ];
    let doc = eventually(
        "--netns-pid --source proc as nobody",
        || {
            let out = as_nobody(&args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).expect("JSON")
        },
        |doc| {
            let got = nonzero(&doc["states"]);
            let want = expected_states(Layout { pairs: 1 });
            (got == want)
                .then_some(())
                .ok_or(format!("{got:?} != {want:?}"))
        },
    );
    let entry = &doc["netns"][0];
    assert_eq!(entry["pid"], ns.member());
    assert_eq!(entry["inode"], 0, "its inode cannot be read: {doc}");
    assert_eq!(entry["label"], format!("netns of pid {pid} (sleep)"));
}

#[test]
fn namespace_flags_are_exclusive_and_checked() {
    let _serial = serial();
    for args in [
        vec!["--netns", "a", "--netns-pid", "1"],
        vec!["--netns", "a", "--all-netns"],
        vec!["summary", "--netns-pid", "1", "--all-netns"],
        vec!["--netns-pid", "0"],
        vec!["--netns", ""],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = run(&["--netns", "no-such-namespace-here"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no-such-namespace-here") && stderr.contains("ip netns list"),
        "{stderr}"
    );
    let out = run(&["--netns-pid", &u32::MAX.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no process"));
}

#[test]
fn watch_all_netns_reads_every_namespace_with_fewer_descriptors_than_namespaces() {
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(why);
        return;
    }
    let layout = Layout { pairs: 0 };
    let ours: Vec<TestNetns> = (0..12).map(|_| TestNetns::anonymous(layout)).collect();
    // stdin/out/err and 7 more: a socket kept per namespace would need 12. With --source
    // netlink every tick failed (EMFILE) and the run ended with 1; with auto the namespaces
    // past the limit were read from /proc under a false "netlink unavailable".
    for source in ["netlink", "auto"] {
        let script = format!(
            "ulimit -n 10 && exec {} watch --all-netns --json --count 3 --interval 10ms \
             --state close-wait --port {PORT} --source {source}",
            env!("CARGO_BIN_EXE_tcpstat")
        );
        let out = Command::new("sh")
            .args(["-c", &script])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("sh runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{source}: {:?}: {stderr}", out.status);
        assert!(
            !stderr.contains("netlink unavailable"),
            "{source}: {stderr}"
        );
        let ticks: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(ticks.len(), 3, "{stderr}");
        for tick in &ticks {
            check_every_namespace_read(tick, &ours);
        }
    }
}

/// Each of `ours` was read (not skipped) in `tick`, from netlink, with its one CLOSE_WAIT.
fn check_every_namespace_read(tick: &Value, ours: &[TestNetns]) {
    assert!(tick["error"].is_null(), "{tick}");
    assert_eq!(tick["source"], "netlink", "{tick}");
    for ns in ours {
        let entry = tick["netns"]
            .as_array()
            .expect("netns")
            .iter()
            .find(|e| e["inode"] == ns.inode)
            .unwrap_or_else(|| panic!("namespace {} missing: {tick}", ns.inode));
        assert!(entry["skipped"].is_null(), "{entry}");
        assert_eq!(entry["states"]["CLOSE_WAIT"], 1, "{entry}");
    }
}

// ---------------------------------------------------------------------------
// Found by attacking it (issue 14): each of these failed before its fix
// ---------------------------------------------------------------------------

/// Every series of `--format prometheus` read from another namespace carries its `netns`
/// label, so that one textfile per namespace never collides in node_exporter; and
/// `--all-netns` gives one exposition of them all.
#[test]
fn prometheus_series_of_other_namespaces_are_labelled_and_never_collide() {
    use crate::prometheus::{parse, promtool, value};
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(why);
        return;
    }
    let ours = [
        TestNetns::named(Layout { pairs: 1 }, true),
        TestNetns::named(Layout { pairs: 2 }, true),
    ];
    let mut every_series = std::collections::BTreeSet::new();
    for ns in &ours {
        let name = ns.name.as_deref().expect("named");
        for report in ["summary", "ports", "procs"] {
            let o = run(&[
                report,
                "--format",
                "prometheus",
                "--netns",
                name,
                "--port",
                &port_filter(),
            ]);
            assert!(o.status.success(), "{report} --netns {name}: {o:?}");
            let text = String::from_utf8(o.stdout).expect("utf-8");
            promtool(&text);
            for s in parse(&text) {
                assert_eq!(
                    s.labels.get("netns").map(String::as_str),
                    Some(name),
                    "{report}: every series, meta families included: {s:?}"
                );
                // Two textfiles (one per namespace) in one node_exporter: no series twice.
                assert!(
                    every_series.insert((report, s.name.clone(), s.labels.clone())),
                    "{report}: {s:?} collides"
                );
            }
        }
    }
    let text = String::from_utf8(
        run(&[
            "summary",
            "--format",
            "prometheus",
            "--all-netns",
            "--port",
            &port_filter(),
        ])
        .stdout,
    )
    .expect("utf-8");
    promtool(&text);
    let samples = parse(&text);
    for ns in &ours {
        let name = ns.name.as_deref().expect("named");
        let established = value(
            &samples,
            "tcpstat_sockets",
            &[
                ("state", "ESTABLISHED"),
                ("family", "ipv4"),
                ("netns", name),
            ],
        );
        assert_eq!(established, 2.0 * ns.layout.pairs as f64, "{name}: {text}");
    }
}

/// `tcpstat ARGS` under strace, the `when`th recvfrom(2) failing with ENOMEM (a netlink dump
/// that fails mid-way: the retry must read the same namespace). `None`: no strace (a skip).
fn with_failing_recv(when: &str, args: &[&str]) -> Option<std::process::Output> {
    let out = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=recvfrom"])
        .arg("-e")
        .arg(format!("inject=recvfrom:error=ENOMEM:when={when}"))
        .arg(env!("CARGO_BIN_EXE_tcpstat"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output();
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skip("strace is not installed (apt-get install strace)");
            None
        }
        other => Some(other.expect("strace runs")),
    }
}

/// A netlink error on a dump in another namespace is retried in that namespace, never in
/// tcpstat's own: before the fix, the retry's socket was opened on a thread of the host's
/// namespace and the host's sockets were reported under the namespace's name (0 here, since
/// nothing on the host uses the port), `complete: true`, no warning.
#[test]
fn a_netlink_error_is_retried_in_the_same_namespace() {
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(why);
        return;
    }
    let ns = TestNetns::named(Layout { pairs: 1 }, true);
    let name = ns.name.clone().expect("named");
    let port = port_filter();
    let total = ns.layout.total();
    let sum = |doc: &Value, rows: &str| -> u64 {
        doc[rows]
            .as_array()
            .unwrap_or_else(|| panic!("no {rows}: {doc}"))
            .iter()
            .map(|r| r["total"].as_u64().expect("total"))
            .sum()
    };
    let parse = |text: &str| -> Value { serde_json::from_str(text).expect("JSON") };
    let cases: [(&str, &[&str]); 6] = [
        ("summary", &["--json"]),
        ("ports", &["--json"]),
        ("procs", &["--json"]),
        ("list", &["--json"]),
        ("doctor", &["--json"]),
        ("check", &["-w", "CLOSE_WAIT=0"]),
    ];
    for (sub, extra) in cases {
        for when in ["1", "2", "3"] {
            let mut args = vec![sub, "--netns", &name, "--port", &port];
            args.extend(extra.iter().copied());
            let Some(o) = with_failing_recv(when, &args) else {
                return;
            };
            let stdout = String::from_utf8_lossy(&o.stdout);
            let what = format!("{args:?} with recvfrom #{when} failing: {o:?}");
            match sub {
                "summary" => {
                    assert!(o.status.success(), "{what}");
                    assert_eq!(parse(&stdout)["total"], total, "{what}");
                }
                // Rows already streamed cannot be taken back: a failure after the first one
                // is an error (exit 1, the cause on stderr, no document claiming to be
                // whole), never a switch to another source or namespace.
                "list" if !o.status.success() => {
                    assert_eq!(o.status.code(), Some(1), "{what}");
                    assert!(
                        String::from_utf8_lossy(&o.stderr).contains("Cannot allocate memory"),
                        "{what}"
                    );
                    assert!(!stdout.contains("\"complete\":true"), "{what}");
                }
                "list" => assert_eq!(parse(&stdout)["total"], total, "{what}"),
                "ports" => assert_eq!(sum(&parse(&stdout), "ports"), total, "{what}"),
                "procs" => assert_eq!(sum(&parse(&stdout), "processes"), total, "{what}"),
                "doctor" => {
                    let doc = parse(&stdout);
                    let close_wait = doc["findings"]
                        .as_array()
                        .expect("findings")
                        .iter()
                        .filter(|f| f["check"] == "close_wait")
                        .map(|f| f["value"].as_u64().expect("value"))
                        .max();
                    assert_eq!(close_wait, Some(1), "{what}");
                }
                "check" => assert!(
                    stdout.starts_with("TCPSTAT WARNING - CLOSE_WAIT 1 (warn 0); 5 sockets"),
                    "{what}"
                ),
                _ => unreachable!(),
            }
        }
    }
    // --all-netns: the namespace's own count.
    for when in ["1", "2", "3", "4"] {
        let Some(o) =
            with_failing_recv(when, &["summary", "--all-netns", "--port", &port, "--json"])
        else {
            return;
        };
        let doc = parse(&String::from_utf8_lossy(&o.stdout));
        let entry = doc["netns"]
            .as_array()
            .expect("netns")
            .iter()
            .find(|e| e["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} missing: {doc}"))
            .clone();
        assert!(
            entry["total"] == total || !entry["skipped"].is_null(),
            "recvfrom #{when}: read right or said to be skipped, never another's: {entry}"
        );
    }
    // serve keeps its socket between scrapes too. Its HTTP reads are recvfrom(2) as well,
    // and strace counts calls per thread: from the second call on, only a collecting thread
    // makes them. An answered scrape has the namespace's count or says the collection failed.
    for when in ["2", "3", "4", "5"] {
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=recvfrom"])
            .arg("-e")
            .arg(format!("inject=recvfrom:error=ENOMEM:when={when}"))
            .arg(env!("CARGO_BIN_EXE_tcpstat"))
            .args(["serve", "--listen", "127.0.0.1:0", "--netns", &name])
            .args(["--port", &port])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        let server = crate::prometheus::Server::spawn(cmd);
        let mut answered = Vec::new();
        for _ in 0..4 {
            let Some(body) = scrape(server.addr) else {
                continue;
            };
            let samples = crate::prometheus::parse(&body);
            let success = samples
                .iter()
                .find(|s| s.name == "tcpstat_collection_success")
                .map(|s| s.value);
            let sockets: f64 = samples
                .iter()
                .filter(|s| s.name == "tcpstat_sockets")
                .map(|s| s.value)
                .sum();
            assert!(
                success == Some(0.0) || sockets == total as f64,
                "recvfrom #{when}: {sockets} sockets, success {success:?}: {body}"
            );
            answered.push(sockets);
        }
        assert_eq!(
            answered.last().copied(),
            Some(total as f64),
            "recvfrom #{when}: the last scrapes read the namespace again"
        );
    }
    // watch keeps its socket between ticks: a failure on any tick must not move it.
    for when in ["1", "3", "5"] {
        let Some(o) = with_failing_recv(
            when,
            &[
                "watch",
                "--netns",
                &name,
                "--port",
                &port,
                "--json",
                "--count",
                "4",
                "--interval",
                "50ms",
            ],
        ) else {
            return;
        };
        let ticks: Vec<Value> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(parse)
            .filter(|t| t["type"] == "tick")
            .collect();
        assert_eq!(ticks.len(), 4, "{o:?}");
        for tick in &ticks {
            assert!(
                tick["total"] == total || !tick["error"].is_null(),
                "recvfrom #{when}: every tick reads the namespace: {tick}"
            );
        }
        assert_eq!(ticks[3]["total"], total, "{o:?}");
    }
}

/// `watch --netns NAME` across `ip netns del NAME; ip netns add NAME`: the old namespace is
/// gone, the name is a new one; watch follows it and says so (before: 0 sockets and
/// `complete: true` for ever, from the namespace it had entered first).
#[test]
fn watch_follows_a_namespace_deleted_and_created_again() {
    let _serial = serial();
    if let Err(why) = netns_available() {
        skip(why);
        return;
    }
    let first = TestNetns::named(Layout { pairs: 1 }, true);
    let name = first.name.clone().expect("named");
    let mut child = tcpstat()
        .args([
            "watch",
            "--netns",
            &name,
            "--port",
            &port_filter(),
            "--json",
            "--interval",
            "100ms",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("watch starts");
    let (lines, received) = std::sync::mpsc::channel::<Value>();
    let stdout = child.stdout.take().expect("stdout");
    let reader = thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let tick: Value = serde_json::from_str(&line).expect("a JSON line");
            if lines.send(tick).is_err() {
                break;
            }
        }
    });
    let next_with = |want: &dyn Fn(&Value) -> bool, what: &str| -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match received.recv_timeout(left) {
                Ok(tick) if want(&tick) => return tick,
                Ok(_) => continue,
                Err(e) => panic!("no tick with {what} within {WAIT:?}: {e}"),
            }
        }
    };
    let first_total = first.layout.total();
    next_with(
        &|t| t["total"] == first_total,
        "the first namespace's sockets",
    );
    drop(first); // kills its holders, deletes the name
    let second = TestNetns::named_as(name.clone(), Layout { pairs: 3 }, true);
    let second_total = second.layout.total();
    assert_ne!(first_total, second_total);
    let tick = next_with(
        &|t| t["total"] == second_total,
        "the new namespace's sockets",
    );
    let warned = tick["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| {
            w.as_str()
                .is_some_and(|w| w.contains("is not the one read before"))
        });
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    assert!(warned, "the tick that follows says so: {tick}");
}

/// The body of a `/metrics` answer, `None` when there is none (the server's read of the
/// request failed and it closed the connection).
fn scrape(addr: std::net::SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}
