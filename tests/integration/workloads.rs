//! `tcpstat workloads` and the workload dimension of every view (issue 15), on real cgroups
//! of the running kernel and a real runc container.
//!
//! How a test is built (see [`crate::util::cgroup`] and [`crate::util::container`]):
//!
//! 1. [`setup`] says whether cgroups can be made here (root, a cgroup2 mount) and skips
//!    otherwise (a failure under CI).
//! 2. A [`Workload`] per runtime grammar ([`Naming`]): a fresh cgroup at a path as systemd,
//!    Docker, Podman, containerd or CRI-O would make it, the [`Recipe`]'s loopback sockets
//!    created in it (v4 and v6, on fresh ports) and held by processes in it. A [`HostRoot`]
//!    holds the files the names come from; `--host-root` points tcpstat at it.
//! 3. The kernel's own view first: `ss -tan cgroup PATH` (a filter on the socket's cgroup id
//!    inside the kernel) must count what the recipe made ([`wait_for_ss_cgroup`]), so a
//!    wrong setup fails as a setup error, not as a tcpstat bug.
//! 4. tcpstat's answer, filtered with `--port` on the workloads' ports so that the counts are
//!    exact on a busy host (or the test runs in a private network namespace), compared with
//!    the kernel's view per family and for both sources.
//!
//! Everything is removed on drop (processes killed, cgroup directories removed deepest first,
//! namespaces deleted), panics included. To add a case: make the workloads, lay out their
//! files, compare a view with [`row_by`] / [`states_of`] against [`Workload::in_cgroup`] or
//! [`ss_cgroup_counts`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::util::cgroup::{
    cgroups_available, container_id, pod_uid, process_cgroup, ss_cgroup_counts, state_map,
    wait_for_ss_cgroup, HostRoot, Named, Naming, Recipe, Workload,
};
use crate::util::container::{runc_available, Container};
use crate::util::netns::{in_private_netns, netns_available};
use crate::util::sockets::Family;
use crate::util::ss::ss_for;
use crate::util::states::{fresh_listener, wait_for_kernel, Counts, Scope, State};
use crate::util::{describe, json, outcome, run, serial, skip, tcpstat, text};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The cgroup2 mount, when cgroups can be made here and `ss` can check them; otherwise a
/// skip of `what` and `None`.
fn setup(what: &str) -> Option<PathBuf> {
    match cgroups_available() {
        Ok(mount) => ss_for(&format!("{what}: ss cgroup PATH")).then_some(mount),
        Err(why) => {
            skip(format!("{what}: {why}"));
            None
        }
    }
}

/// `tcpstat workloads --json ARGS`.
fn workloads(args: &[&str]) -> Value {
    let mut all = vec!["workloads", "--json"];
    all.extend_from_slice(args);
    json(&all)
}

fn rows(v: &Value) -> &Vec<Value> {
    v["workloads"]
        .as_array()
        .unwrap_or_else(|| panic!("no workloads array: {v:#}"))
}

/// The row whose `key` is `value`.
fn row_by<'a>(v: &'a Value, key: &str, value: &str) -> &'a Value {
    rows(v)
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no workload row with {key} = {value:?} in {v:#}"))
}

/// A `states` object, zero states left out.
fn states_of(v: &Value) -> BTreeMap<String, u64> {
    v["states"]
        .as_object()
        .unwrap_or_else(|| panic!("no states object: {v:#}"))
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or_else(|| panic!("{k}: {n}"))))
        .filter(|(_, n)| *n != 0)
        .collect()
}

/// `--port P1,P2,...` over the workloads' ports.
fn ports_arg(ws: &[&Workload]) -> String {
    let ports: Vec<String> = ws
        .iter()
        .flat_map(|w| w.ports.iter().map(|(_, p)| p.to_string()))
        .collect();
    ports.join(",")
}

fn family_flag(f: Family) -> &'static str {
    match f {
        Family::V4 => "-4",
        Family::V6 => "-6",
    }
}

/// Every row, `unattributed` and `ungrouped` add up to the document's `total`: nothing is
/// dropped or counted twice.
fn assert_accounted(v: &Value, ctx: &str) {
    let mut sum: u64 = rows(v)
        .iter()
        .map(|r| r["total"].as_u64().unwrap_or(0))
        .sum();
    for extra in ["unattributed", "ungrouped"] {
        if v[extra].is_object() {
            sum += v[extra]["total"].as_u64().unwrap_or(0);
        }
    }
    assert_eq!(
        Some(sum),
        v["total"].as_u64(),
        "{ctx}: rows + unattributed + ungrouped != total in {v:#}"
    );
    for r in rows(v) {
        let states: u64 = states_of(r).values().sum();
        assert_eq!(
            Some(states),
            r["total"].as_u64(),
            "{ctx}: a row's states != its total: {r:#}"
        );
    }
}

fn short(id: &str) -> &str {
    &id[..12]
}

/// A unique suffix for names (container and pod names must not meet a previous run's).
fn tag() -> String {
    container_id()[..6].to_string()
}

/// One workload of each runtime grammar, with its expected identity.
struct Case {
    w: Workload,
    /// Expected keys of the JSON row (display name, kind, runtime, names).
    want: Vec<(&'static str, Value)>,
}

/// Makes a systemd service, a Docker and a Podman container, a containerd container of a
/// pod (systemd driver), one with the cgroupfs driver and a CRI-O one, their names in `root`.
fn every_runtime(mount: &std::path::Path, root: &mut HostRoot, recipe: Recipe) -> Vec<Case> {
    let t = tag();
    let mut cases = Vec::new();

    let named = Naming::Service.fresh();
    let unit = named.unit.clone().expect("unit");
    cases.push(Case {
        w: Workload::start(mount, named, recipe),
        want: vec![
            ("workload", Value::from(unit.clone())),
            ("kind", "service".into()),
            ("unit", Value::from(unit)),
            ("runtime", Value::Null),
            ("container_id", Value::Null),
            ("pod", Value::Null),
        ],
    });

    let named = Naming::Docker.fresh();
    let id = named.container_id.clone().expect("id");
    let name = format!("web-{t}");
    root.docker(&id, &name);
    cases.push(Case {
        want: vec![
            ("workload", Value::from(name.clone())),
            ("kind", "container".into()),
            ("runtime", "docker".into()),
            ("container_id", Value::from(id.clone())),
            ("container", Value::from(name)),
            ("unit", Value::from(format!("docker-{id}.scope"))),
            ("pod", Value::Null),
        ],
        w: Workload::start(mount, named, recipe),
    });

    let named = Naming::Podman.fresh();
    let id = named.container_id.clone().expect("id");
    let name = format!("db-{t}");
    root.podman(&id, &name);
    cases.push(Case {
        want: vec![
            ("workload", Value::from(name.clone())),
            ("kind", "container".into()),
            ("runtime", "podman".into()),
            ("container_id", Value::from(id.clone())),
            ("container", Value::from(name)),
            ("unit", Value::from(format!("libpod-{id}.scope"))),
        ],
        w: Workload::start(mount, named, recipe),
    });

    let kube = |naming: Naming, runtime: &'static str, ns: &str, pod: &str, container: &str| {
        let named = naming.fresh();
        let id = named.container_id.clone().expect("id");
        let uid = named.pod_uid.clone().expect("uid");
        if runtime == "cri-o" {
            root.crio(&id, ns, pod, &uid, container);
        } else {
            root.containerd(&id, ns, pod, &uid, container);
        }
        root.pod_logs(ns, pod, &uid, container);
        Case {
            want: vec![
                ("workload", Value::from(format!("{ns}/{pod}/{container}"))),
                ("kind", "pod".into()),
                ("runtime", runtime.into()),
                ("container_id", Value::from(id)),
                ("container", Value::from(container)),
                ("pod", Value::from(pod)),
                ("namespace", Value::from(ns)),
                ("pod_uid", Value::from(uid)),
            ],
            w: Workload::start(mount, named, recipe),
        }
    };
    cases.push(kube(
        Naming::KubeSystemd {
            qos: "burstable",
            pod: None,
        },
        "containerd",
        "shop",
        &format!("cart-{t}"),
        "api",
    ));
    cases.push(kube(
        Naming::KubeCgroupfs {
            qos: "besteffort",
            pod: None,
        },
        "containerd",
        "batch",
        &format!("report-{t}"),
        "worker",
    ));
    cases.push(kube(
        Naming::CriO {
            qos: "guaranteed",
            pod: None,
        },
        "cri-o",
        "kube-system",
        &format!("dns-{t}"),
        "coredns",
    ));
    cases
}

// ---------------------------------------------------------------------------
// The infrastructure, checked against the kernel alone
// ---------------------------------------------------------------------------

/// The setup itself, independently of tcpstat: each grammar's cgroup holds exactly the
/// recipe's sockets as `ss -tan cgroup PATH` sees them, its holders are in it, and nothing is
/// left behind once the workloads are dropped.
#[test]
fn test_cgroups_hold_what_the_kernel_says() {
    let _serial = serial();
    let Some(mount) = setup("test cgroups") else {
        return;
    };
    let mut root = HostRoot::new();
    let cases = every_runtime(&mount, &mut root, Recipe::SMALL);
    let dirs: Vec<PathBuf> = cases.iter().map(|c| c.w.cgroup.dir()).collect();
    for c in &cases {
        let want = Counts::default()
            .with(Family::V4, State::Listen, 1)
            .with(Family::V4, State::Established, 2)
            .with(Family::V4, State::CloseWait, 1)
            .with(Family::V4, State::FinWait2, 1)
            .with(Family::V6, State::Listen, 1)
            .with(Family::V6, State::Established, 2)
            .with(Family::V6, State::CloseWait, 1)
            .with(Family::V6, State::FinWait2, 1);
        assert_eq!(c.w.in_cgroup(), want, "{}", c.w.path());
        wait_for_ss_cgroup(c.w.path(), want);
        for pid in c.w.pids() {
            assert_eq!(process_cgroup(pid).as_deref(), Some(c.w.path()));
        }
        let mut procs = c.w.cgroup.procs();
        procs.sort_unstable();
        let mut pids = c.w.pids();
        pids.sort_unstable();
        assert_eq!(procs, pids, "{}: only the holders are in it", c.w.path());
    }
    drop(cases);
    for d in dirs {
        assert!(!d.exists(), "{} was left behind", d.display());
    }
    let top = [
        "system.slice",
        "machine.slice",
        "kubepods.slice",
        "kubepods",
    ];
    for t in top {
        let d = mount.join(t);
        if d.exists() {
            let leftover: Vec<_> = std::fs::read_dir(&d)
                .expect("readdir")
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().contains("tcpstat-test"))
                .collect();
            assert!(leftover.is_empty(), "left in {}: {leftover:?}", d.display());
        }
    }
}

// ---------------------------------------------------------------------------
// Counts and names
// ---------------------------------------------------------------------------

/// Per workload, per family, from both sources: tcpstat's states are what the kernel's
/// cgroup filter counts; the identity (display name, kind, runtime, unit, container, pod)
/// comes from the path and the runtime files under `--host-root`.
#[test]
fn every_runtime_is_counted_as_the_kernel_counts_and_named_from_its_files() {
    let _serial = serial();
    let Some(mount) = setup("workloads per runtime") else {
        return;
    };
    let mut root = HostRoot::new();
    let cases = every_runtime(&mount, &mut root, Recipe::SMALL);
    let ws: Vec<&Workload> = cases.iter().map(|c| &c.w).collect();
    let ports = ports_arg(&ws);
    let host_root = root.arg();
    for c in &cases {
        wait_for_ss_cgroup(c.w.path(), c.w.in_cgroup());
    }

    for source in ["netlink", "proc"] {
        for fam in Family::BOTH {
            let args = [
                "--host-root",
                &host_root,
                "--source",
                source,
                family_flag(fam),
                "--port",
                &ports,
            ];
            let v = workloads(&args);
            let ctx = format!("workloads {}", args.join(" "));
            assert_eq!(v["by"], "workload", "{ctx}");
            assert_eq!(v["source"], source, "{ctx}");
            assert_eq!(v["schema_version"], 2, "{ctx}");
            assert_eq!(
                v["cgroup_mount"],
                mount.to_str().expect("utf-8"),
                "{ctx}: the mount found from mountinfo"
            );
            assert_accounted(&v, &ctx);
            for c in &cases {
                let row = row_by(&v, "cgroup", c.w.path());
                let kernel = state_map(ss_cgroup_counts(c.w.path()), Some(fam));
                assert_eq!(states_of(row), kernel, "{ctx}: {} (ss left)", c.w.path());
                assert_eq!(
                    kernel,
                    state_map(c.w.in_cgroup(), Some(fam)),
                    "{ctx}: the kernel changed under the test"
                );
                for (key, want) in &c.want {
                    assert_eq!(&row[*key], want, "{ctx}: {key} of {}: {row:#}", c.w.path());
                }
            }
            // Nothing of ours elsewhere: the rows above hold every socket of the ports.
            let ours: u64 = cases
                .iter()
                .map(|c| c.w.in_cgroup().family_total(fam))
                .sum();
            assert_eq!(v["total"], ours, "{ctx}");
        }
    }

    // Without the runtime files a container is its short id (a pod container, its path or
    // id: not asserted), and TCPSTAT_HOST_ROOT is --host-root.
    let empty = HostRoot::new();
    let v = workloads(&["--host-root", &empty.arg(), "--port", &ports]);
    let docker = &cases[1].w;
    let id = docker.named.container_id.clone().expect("id");
    assert_eq!(
        row_by(&v, "cgroup", docker.path())["workload"],
        short(&id),
        "{v:#}"
    );
    let podman = &cases[2].w;
    let pid = podman.named.container_id.clone().expect("id");
    assert_eq!(row_by(&v, "cgroup", podman.path())["workload"], short(&pid));
    let o = tcpstat()
        .args(["workloads", "--json", "--port", &ports])
        .env("TCPSTAT_HOST_ROOT", &host_root)
        .output()
        .expect("run");
    assert!(o.status.success(), "TCPSTAT_HOST_ROOT: {o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(
        row_by(&v, "cgroup", docker.path())["workload"],
        cases[1].want[0].1,
        "TCPSTAT_HOST_ROOT={host_root}: {v:#}"
    );

    // The table names each workload too.
    let table = text(&["workloads", "--host-root", &host_root, "--port", &ports]);
    for c in &cases {
        let name = c.want[0].1.as_str().expect("name");
        assert!(
            table.contains(name),
            "{name} missing from the table:\n{table}"
        );
    }
}

/// `--by pod|container|unit|cgroup`: two containers of one pod are one pod row; a service is
/// `ungrouped` by pod and by container; a Docker container is a container but no pod.
#[test]
fn grouping_by_pod_container_unit_and_cgroup() {
    let _serial = serial();
    let Some(mount) = setup("workloads --by") else {
        return;
    };
    let root = HostRoot::new();
    let t = tag();
    let (ns, pod) = ("shop", format!("cart-{t}"));
    let first = Naming::KubeSystemd {
        qos: "burstable",
        pod: None,
    }
    .fresh();
    let uid = first.pod_uid.clone().expect("uid");
    let second = Naming::KubeSystemd {
        qos: "burstable",
        pod: Some(uid.clone()),
    }
    .fresh();
    for (n, c) in [(&first, "api"), (&second, "sidecar")] {
        root.containerd(n.container_id.as_deref().expect("id"), ns, &pod, &uid, c);
        root.pod_logs(ns, &pod, &uid, c);
    }
    let docker = Naming::Docker.fresh();
    let web = format!("web-{t}");
    root.docker(docker.container_id.as_deref().expect("id"), &web);
    let recipe = Recipe::SMALL;
    let api = Workload::start(&mount, first, recipe);
    let sidecar = Workload::start(&mount, second, recipe);
    let web_w = Workload::start(&mount, docker, recipe);
    let svc = Workload::start(&mount, Naming::Service.fresh(), recipe);
    let all = [&api, &sidecar, &web_w, &svc];
    for w in all {
        wait_for_ss_cgroup(w.path(), w.in_cgroup());
    }
    let ports = ports_arg(&all);
    let hr = root.arg();
    let total = |ws: &[&Workload]| -> u64 { ws.iter().map(|w| w.in_cgroup().total()).sum() };
    let sum = |ws: &[&Workload]| -> BTreeMap<String, u64> {
        let mut c = Counts::default();
        for w in ws {
            c.merge(&w.in_cgroup());
        }
        state_map(c, None)
    };

    for source in ["netlink", "proc"] {
        let q = |by: &str| {
            workloads(&[
                "--by",
                by,
                "--host-root",
                &hr,
                "--source",
                source,
                "--port",
                &ports,
            ])
        };
        let ctx = |by: &str| format!("workloads --by {by} --source {source}");

        let v = q("pod");
        assert_eq!(v["by"], "pod", "{}", ctx("pod"));
        assert_accounted(&v, &ctx("pod"));
        assert_eq!(rows(&v).len(), 1, "{}: one pod: {v:#}", ctx("pod"));
        let row = row_by(&v, "pod", &pod);
        assert_eq!(row["namespace"], ns);
        assert_eq!(row["pod_uid"], uid.as_str());
        assert_eq!(row["kind"], "pod");
        assert_eq!(
            row["workload"],
            format!("{ns}/{pod}"),
            "{}: {row:#}",
            ctx("pod")
        );
        assert_eq!(states_of(row), sum(&[&api, &sidecar]), "{}", ctx("pod"));
        assert_eq!(
            v["ungrouped"]["total"],
            total(&[&web_w, &svc]),
            "{}: {v:#}",
            ctx("pod")
        );

        let v = q("container");
        assert_accounted(&v, &ctx("container"));
        assert_eq!(rows(&v).len(), 3, "{}: {v:#}", ctx("container"));
        for (w, name) in [(&api, "api"), (&sidecar, "sidecar"), (&web_w, web.as_str())] {
            let id = w.named.container_id.as_deref().expect("id");
            let row = row_by(&v, "container_id", id);
            assert_eq!(row["container"], name, "{}", ctx("container"));
            assert_eq!(states_of(row), sum(&[w]), "{}: {name}", ctx("container"));
        }
        assert_eq!(
            v["ungrouped"]["total"],
            total(&[&svc]),
            "{}: {v:#}",
            ctx("container")
        );

        let v = q("unit");
        assert_accounted(&v, &ctx("unit"));
        for w in all {
            let unit = w.named.unit.as_deref().expect("unit");
            assert_eq!(
                states_of(row_by(&v, "unit", unit)),
                sum(&[w]),
                "{}",
                ctx("unit")
            );
        }
        let ungrouped = v["ungrouped"]["total"].as_u64().unwrap_or(0);
        assert_eq!(
            ungrouped,
            0,
            "{}: every workload is in a unit: {v:#}",
            ctx("unit")
        );

        let v = q("cgroup");
        assert_accounted(&v, &ctx("cgroup"));
        assert_eq!(rows(&v).len(), 4, "{}: {v:#}", ctx("cgroup"));
        for w in all {
            let row = row_by(&v, "cgroup", w.path());
            assert_eq!(
                row["workload"],
                w.path(),
                "{}: the display name is the path",
                ctx("cgroup")
            );
            assert_eq!(states_of(row), sum(&[w]), "{}", ctx("cgroup"));
        }
    }
}

// ---------------------------------------------------------------------------
// Minisockets
// ---------------------------------------------------------------------------

/// In a private network namespace (exact counts): TIME_WAIT minisockets on a workload's
/// listening port are that workload's (both sources); a client-side TIME_WAIT whose ports
/// nobody listens on is `unattributed`, never dropped or guessed.
#[test]
fn time_wait_on_a_service_port_is_the_services_and_a_client_side_one_is_unattributed() {
    let _serial = serial();
    let Some(mount) = setup("TIME_WAIT attribution") else {
        return;
    };
    if let Err(why) = netns_available() {
        skip(format!(
            "TIME_WAIT attribution in a private namespace: {why}"
        ));
        return;
    }
    in_private_netns(move || {
        let recipe = Recipe {
            established: 1,
            close_wait: 0,
            time_wait: 2,
            families: &Family::BOTH,
        };
        let svc = Workload::start(&mount, Naming::Service.fresh(), recipe);
        wait_for_ss_cgroup(svc.path(), svc.in_cgroup());
        assert_eq!(svc.attributed.state_total(State::TimeWait), 4);

        // Client side: the client (this process, its own cgroup) closes first; then the
        // listener goes too, so neither port of the TIME_WAIT is listened on.
        let lst = fresh_listener(Family::V4.loopback()).expect("bind");
        let port = lst.local_addr().expect("addr").port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (server, _) = lst.accept().expect("accept");
        drop(lst);
        client
            .shutdown(std::net::Shutdown::Write)
            .expect("client closes first");
        let half = Counts::default().with(Family::V4, State::FinWait2, 1).with(
            Family::V4,
            State::CloseWait,
            1,
        );
        wait_for_kernel("the client's FIN acknowledged", Scope::Port(port), half);
        drop(server);
        drop(client);
        let tw = Counts::default().with(Family::V4, State::TimeWait, 1);
        wait_for_kernel("the client-side TIME_WAIT", Scope::Port(port), tw);

        for source in ["netlink", "proc"] {
            let v = workloads(&["--source", source]);
            let ctx = format!("workloads --source {source} (private namespace)");
            assert_accounted(&v, &ctx);
            let row = row_by(&v, "cgroup", svc.path());
            assert_eq!(
                states_of(row),
                state_map(svc.attributed, None),
                "{ctx}: the service's TIME_WAIT on its port are its own"
            );
            assert_eq!(
                states_of(&v["unattributed"]),
                state_map(tw, None),
                "{ctx}: {v:#}"
            );
            assert_eq!(v["unattributed"]["total"], 1, "{ctx}");
            assert!(
                v["unattributed"]["reason"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
                "{ctx}: unattributed says why: {v:#}"
            );
            assert_eq!(v["total"], svc.attributed.total() + 1, "{ctx}");
        }
        // The list view agrees: the client-side TIME_WAIT has no workload.
        let v = json(&["list", "--json", "-W", "--port", &port.to_string()]);
        let list = v["sockets"].as_array().or_else(|| v.as_array()).cloned();
        if let Some(list) = list {
            assert_eq!(list.len(), 1, "{v:#}");
            assert!(list[0]["workload"].is_null(), "{v:#}");
        }
    });
}

// ---------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------

/// `--cgroup PATH` (the cgroup and below) and `--workload NAME` (display name, unit,
/// container name, id prefix, pod, namespace/pod) on every subcommand that filters; a
/// `--cgroup` that does not exist is a usage error.
#[test]
fn cgroup_and_workload_filters_select_a_workloads_sockets_everywhere() {
    let _serial = serial();
    let Some(mount) = setup("--cgroup and --workload") else {
        return;
    };
    let root = HostRoot::new();
    let t = tag();
    let svc = Workload::start(&mount, Naming::Service.fresh(), Recipe::SMALL);
    let docker = Naming::Docker.fresh();
    let did = docker.container_id.clone().expect("id");
    let web = format!("web-{t}");
    root.docker(&did, &web);
    let web_w = Workload::start(&mount, docker, Recipe::SMALL);
    let kube = Naming::KubeSystemd {
        qos: "besteffort",
        pod: None,
    }
    .fresh();
    let (ns, pod) = ("shop", format!("cart-{t}"));
    let uid = kube.pod_uid.clone().expect("uid");
    root.containerd(
        kube.container_id.as_deref().expect("id"),
        ns,
        &pod,
        &uid,
        "api",
    );
    let api = Workload::start(&mount, kube, Recipe::SMALL);
    let all = [&svc, &web_w, &api];
    for w in all {
        wait_for_ss_cgroup(w.path(), w.in_cgroup());
    }
    let ports = ports_arg(&all);
    let hr = root.arg();

    let summary_total = |filter: &[&str], source: &str| -> u64 {
        let mut a = vec![
            "summary",
            "--json",
            "--host-root",
            &hr,
            "--source",
            source,
            "--port",
            &ports,
        ];
        a.extend_from_slice(filter);
        json(&a)["total"].as_u64().expect("total")
    };
    let kube_slice = format!(
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice",
        uid.replace('-', "_")
    );
    let ns_pod = format!("{ns}/{pod}");
    let ns_pod_api = format!("{ns}/{pod}/api");
    let cases: Vec<(Vec<&str>, Vec<&Workload>)> = vec![
        (vec!["--cgroup", svc.path()], vec![&svc]),
        (vec!["--cgroup", web_w.path()], vec![&web_w]),
        (vec!["--cgroup", "/kubepods.slice"], vec![&api]),
        (vec!["--cgroup", &kube_slice], vec![&api]),
        (
            vec!["--workload", svc.named.unit.as_deref().expect("unit")],
            vec![&svc],
        ),
        (vec!["--workload", &web], vec![&web_w]),
        (vec!["--workload", short(&did)], vec![&web_w]),
        (vec!["--workload", &did], vec![&web_w]),
        (vec!["--workload", &pod], vec![&api]),
        (vec!["--workload", &ns_pod], vec![&api]),
        (vec!["--workload", &ns_pod_api], vec![&api]),
    ];
    for (filter, want) in &cases {
        let expected: u64 = want.iter().map(|w| w.in_cgroup().total()).sum();
        for source in ["netlink", "proc"] {
            assert_eq!(
                summary_total(filter, source),
                expected,
                "summary {filter:?} --source {source}"
            );
        }
        // workloads: exactly the selected rows.
        let mut a = vec!["--host-root", hr.as_str(), "--port", &ports];
        a.extend_from_slice(filter);
        let v = workloads(&a);
        let mut got: Vec<&str> = rows(&v)
            .iter()
            .filter_map(|r| r["cgroup"].as_str())
            .collect();
        got.sort_unstable();
        let mut paths: Vec<&str> = want.iter().map(|w| w.path()).collect();
        paths.sort_unstable();
        assert_eq!(got, paths, "workloads {filter:?}: {v:#}");
        // list: one row per socket.
        let mut a = vec![
            "list",
            "--json",
            "--host-root",
            hr.as_str(),
            "--port",
            &ports,
        ];
        a.extend_from_slice(filter);
        let v = json(&a);
        let n = v["sockets"]
            .as_array()
            .or_else(|| v.as_array())
            .map_or(0, Vec::len) as u64;
        assert_eq!(n, expected, "list {filter:?}: {v:#}");
        // procs: only the workload's holders own sockets.
        let mut a = vec![
            "procs",
            "--json",
            "--host-root",
            hr.as_str(),
            "--port",
            &ports,
        ];
        a.extend_from_slice(filter);
        let v = json(&a);
        let holders: Vec<u64> = want.iter().flat_map(|w| w.pids()).map(u64::from).collect();
        for p in v["processes"].as_array().expect("processes") {
            let pid = p["pid"].as_u64().expect("pid");
            assert!(
                holders.contains(&pid),
                "procs {filter:?}: pid {pid} is not a holder: {v:#}"
            );
        }
        // ports and check.
        let mut a = vec![
            "ports",
            "--json",
            "--host-root",
            hr.as_str(),
            "--port",
            &ports,
        ];
        a.extend_from_slice(filter);
        let v = json(&a);
        let port_total: u64 = v["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|r| r["total"].as_u64().unwrap_or(0))
            .sum();
        assert!(
            (expected == 0) == (port_total == 0),
            "ports {filter:?}: {port_total} vs {expected}: {v:#}"
        );
        let mut a = vec!["check", "--host-root", hr.as_str(), "--port", &ports];
        a.extend_from_slice(filter);
        let o = outcome(&a);
        assert!(
            o.stdout.contains(&format!("total={expected};")),
            "check {filter:?}: {}{}",
            o.stdout,
            o.stderr
        );
    }

    // A path that does not exist, or a name no workload has, is a usage error (exit 2), not
    // an empty answer that a typo would also give.
    for (sub, flag, value) in [
        (
            "summary",
            "--cgroup",
            "/no-such-slice.slice/tcpstat-nothing.service",
        ),
        (
            "workloads",
            "--cgroup",
            "/no-such-slice.slice/tcpstat-nothing.service",
        ),
        (
            "list",
            "--cgroup",
            "/no-such-slice.slice/tcpstat-nothing.service",
        ),
        (
            "ports",
            "--cgroup",
            "/no-such-slice.slice/tcpstat-nothing.service",
        ),
        (
            "procs",
            "--cgroup",
            "/no-such-slice.slice/tcpstat-nothing.service",
        ),
        ("summary", "--workload", "no-such-slice-workload"),
        ("list", "--workload", "no-such-slice-workload"),
    ] {
        let args = [sub, flag, value];
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&args, &o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("no-such-slice"),
            "{}",
            describe(&args, &o)
        );
    }
}

/// `serve --workloads` exports the same series on every scrape, from a resolver it keeps:
/// a workload whose cgroup is made after the server started is found on the next scrape
/// (the hierarchy is walked again when an unknown cgroup id turns up).
#[test]
fn serve_exports_workloads_and_finds_new_cgroups() {
    let _serial = serial();
    let Some(mount) = setup("serve --workloads") else {
        return;
    };
    let root = HostRoot::new();
    let mut cmd = tcpstat();
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--workloads",
        "--host-root",
        &root.arg(),
    ]);
    let server = crate::prometheus::Server::spawn(cmd);
    let first = crate::prometheus::get(server.addr, "/metrics");
    assert_eq!(first.status, 200, "{}", first.body);
    crate::prometheus::promtool(&first.body);
    // Made after the first scrape: its cgroup id is new to the server.
    let docker = Naming::Docker.fresh();
    let name = format!("late-{}", tag());
    root.docker(docker.container_id.as_deref().expect("id"), &name);
    let w = Workload::start(&mount, docker, Recipe::SMALL);
    wait_for_ss_cgroup(w.path(), w.in_cgroup());
    let body = crate::prometheus::get(server.addr, "/metrics").body;
    let samples = crate::prometheus::parse(&body);
    for (state, n) in state_map(w.in_cgroup(), None) {
        let got = crate::prometheus::value(
            &samples,
            "tcpstat_workload_sockets",
            &[
                ("workload", &name),
                ("kind", "container"),
                ("state", &state),
            ],
        );
        // Other sockets may share nothing with this fresh cgroup: the count is exact.
        assert_eq!(got, n as f64, "{state} of {name}:\n{body}");
    }
    crate::prometheus::promtool(&body);
}

// ---------------------------------------------------------------------------
// list -W, Prometheus
// ---------------------------------------------------------------------------

/// `list -W` has a WORKLOAD column naming the container; `list --json -W` carries the
/// workload object on each row.
#[test]
fn list_shows_each_sockets_workload() {
    let _serial = serial();
    let Some(mount) = setup("list -W") else {
        return;
    };
    let root = HostRoot::new();
    let docker = Naming::Docker.fresh();
    let id = docker.container_id.clone().expect("id");
    let name = format!("web-{}", tag());
    root.docker(&id, &name);
    let w = Workload::start(&mount, docker, Recipe::SMALL);
    wait_for_ss_cgroup(w.path(), w.in_cgroup());
    let ports = ports_arg(&[&w]);
    let hr = root.arg();
    for source in ["netlink", "proc"] {
        let table = text(&[
            "list",
            "-W",
            "--host-root",
            &hr,
            "--source",
            source,
            "--port",
            &ports,
        ]);
        let mut lines = table.lines();
        let header = lines.next().unwrap_or_default();
        assert!(header.contains("WORKLOAD"), "{source}: {table}");
        let body: Vec<&str> = lines.filter(|l| l.contains(&name)).collect();
        assert_eq!(
            body.len() as u64,
            w.in_cgroup().total(),
            "{source}: every socket's row names {name}:\n{table}"
        );
        let table2 = text(&[
            "list",
            "--workloads",
            "--host-root",
            &hr,
            "--source",
            source,
            "--port",
            &ports,
        ]);
        assert_eq!(
            table.lines().count(),
            table2.lines().count(),
            "--workloads is -W"
        );

        let v = json(&[
            "list",
            "--json",
            "-W",
            "--host-root",
            &hr,
            "--source",
            source,
            "--port",
            &ports,
        ]);
        let list = v["sockets"]
            .as_array()
            .or_else(|| v.as_array())
            .unwrap_or_else(|| panic!("list --json: {v:#}"));
        assert_eq!(list.len() as u64, w.in_cgroup().total(), "{v:#}");
        for s in list {
            let wl = &s["workload"];
            assert_eq!(wl["workload"], name.as_str(), "{source}: {s:#}");
            assert_eq!(wl["cgroup"], w.path());
            assert_eq!(wl["kind"], "container");
            assert_eq!(wl["runtime"], "docker");
            assert_eq!(wl["container_id"], id.as_str());
            assert!(
                wl.get("states").is_none() && wl.get("total").is_none(),
                "{s:#}"
            );
        }
    }
}

/// `--format prometheus`: one `tcpstat_workload_sockets` series per workload and state with
/// the workload's name and kind, values equal to the kernel's counts.
#[test]
fn prometheus_series_per_workload_and_state() {
    let _serial = serial();
    let Some(mount) = setup("workloads --format prometheus") else {
        return;
    };
    let root = HostRoot::new();
    let docker = Naming::Docker.fresh();
    let name = format!("web-{}", tag());
    root.docker(docker.container_id.as_deref().expect("id"), &name);
    let w = Workload::start(&mount, docker, Recipe::SMALL);
    let svc = Workload::start(&mount, Naming::Service.fresh(), Recipe::SMALL);
    wait_for_ss_cgroup(w.path(), w.in_cgroup());
    wait_for_ss_cgroup(svc.path(), svc.in_cgroup());
    let ports = ports_arg(&[&w, &svc]);
    let out = text(&[
        "workloads",
        "--format",
        "prometheus",
        "--host-root",
        &root.arg(),
        "--port",
        &ports,
    ]);
    let mut series: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for line in out
        .lines()
        .filter(|l| l.starts_with("tcpstat_workload_sockets{"))
    {
        let (labels, value) = line.rsplit_once(' ').expect("value");
        let get = |k: &str| -> String {
            let pat = format!("{k}=\"");
            labels
                .split(&pat)
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        series.insert(
            (get("workload"), get("kind"), get("state")),
            value.parse().unwrap_or_else(|e| panic!("{line}: {e}")),
        );
    }
    let svc_unit = svc.named.unit.clone().expect("unit");
    for (wl, display, kind) in [(&w, &name, "container"), (&svc, &svc_unit, "service")] {
        for (state, n) in state_map(wl.in_cgroup(), None) {
            assert_eq!(
                series.get(&(display.clone(), kind.to_string(), state.clone())),
                Some(&n),
                "tcpstat_workload_sockets{{workload={display:?},kind={kind:?},state={state:?}}}:\n{out}"
            );
        }
    }
    assert!(
        out.contains("# TYPE tcpstat_workload_sockets gauge"),
        "{out}"
    );
    assert!(
        out.contains("tcpstat_workload_other_sockets"),
        "the other bucket is exported:\n{out}"
    );
    if let Ok(o) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(out.as_bytes())?;
            c.wait_with_output()
        })
    {
        assert!(
            o.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    } else {
        skip("promtool (package prometheus) is not installed");
    }
}

// ---------------------------------------------------------------------------
// Hostile and vanishing cgroups
// ---------------------------------------------------------------------------

/// A cgroup removed while its sockets live (the holders moved out, the directory gone, as
/// when a container stops and its sockets linger): the sockets are still counted, in some
/// row or `unattributed`, never dropped.
#[test]
fn sockets_of_a_removed_cgroup_are_still_counted() {
    let _serial = serial();
    let Some(mount) = setup("a cgroup removed mid-run") else {
        return;
    };
    let mut w = Workload::start(&mount, Naming::Service.fresh(), Recipe::SMALL);
    wait_for_ss_cgroup(w.path(), w.in_cgroup());
    let ports = ports_arg(&[&w]);
    let gone = w.path().to_string();
    let home = crate::util::cgroup::own_cgroup().expect("own cgroup");
    w.abandon_cgroup(&home);
    assert!(!w.cgroup.dir().exists());
    let expected = w.in_cgroup().total();
    for source in ["netlink", "proc"] {
        let v = workloads(&["--source", source, "--port", &ports]);
        let ctx = format!("workloads --source {source} after rmdir {gone}");
        assert_eq!(v["total"], expected, "{ctx}: {v:#}");
        assert_accounted(&v, &ctx);
        for by in ["pod", "container", "unit", "cgroup"] {
            let v = workloads(&["--by", by, "--source", source, "--port", &ports]);
            assert_eq!(v["total"], expected, "{ctx} --by {by}: {v:#}");
            assert_accounted(&v, &format!("{ctx} --by {by}"));
        }
        let s = json(&["summary", "--json", "--source", source, "--port", &ports]);
        assert_eq!(s["total"], expected, "summary --source {source}");
        let table = text(&["workloads", "--source", source, "--port", &ports]);
        assert!(!table.trim().is_empty(), "{ctx}: table");
    }
}

/// A cgroup directory name is untrusted text: an escape sequence in it reaches no terminal
/// (table output escapes it as process names are, JSON carries it as `\u001b`).
#[test]
fn odd_bytes_in_a_cgroup_name_are_escaped() {
    let _serial = serial();
    let Some(mount) = setup("odd bytes in cgroup names") else {
        return;
    };
    let unit = format!("tcpstat-test-{}\x1b[31mred\u{202e}.service", tag());
    let path = format!("/system.slice/{unit}");
    let w = Workload::start(&mount, Naming::Path(path.clone()).fresh(), Recipe::SMALL);
    wait_for_ss_cgroup(w.path(), w.in_cgroup());
    let ports = ports_arg(&[&w]);
    for args in [
        vec!["workloads", "--port", &ports],
        vec!["workloads", "--by", "cgroup", "--port", &ports],
        vec!["workloads", "--by", "unit", "--port", &ports],
        vec!["list", "-W", "--port", &ports],
        vec!["workloads", "--color", "always", "--port", &ports],
    ] {
        let out = text(&args);
        assert!(
            !out.contains("\x1b[31m") && !out.contains('\u{202e}'),
            "{args:?}: a raw escape reached the output:\n{out:?}"
        );
        assert!(
            out.contains("\\x1b[31mred"),
            "{args:?}: the name, escaped:\n{out}"
        );
    }
    let v = workloads(&["--port", &ports]);
    let row = row_by(&v, "cgroup", &path);
    assert_eq!(states_of(row), state_map(w.in_cgroup(), None));
    let raw =
        String::from_utf8(run(&["workloads", "--json", "--port", &ports]).stdout).expect("utf-8");
    assert!(
        !raw.contains('\x1b') && raw.contains("\\u001b[31m"),
        "{raw}"
    );
    let prom = text(&["workloads", "--format", "prometheus", "--port", &ports]);
    assert!(!prom.contains('\x1b'), "{prom}");
}

// ---------------------------------------------------------------------------
// A real container
// ---------------------------------------------------------------------------

/// Real runc containers (busybox `nc` server) in network namespaces of their own: one with a
/// Kubernetes cgroupfs-driver path and its containerd bundle laid out under `--host-root`, one
/// with a Docker path and `config.v2.json`. tcpstat recognises the cgroup runc really made
/// (read from `/proc/PID/cgroup`) and counts what `ss -tan cgroup` counts in the namespace.
#[test]
fn a_real_runc_container_is_recognised_and_counted() {
    let _serial = serial();
    let Some(_mount) = setup("a real runc container") else {
        return;
    };
    if let Err(why) = runc_available() {
        skip(format!("a real runc container: {why}"));
        return;
    }
    let root = HostRoot::new();
    let t = tag();

    // Kubernetes (containerd, cgroupfs driver).
    let id = container_id();
    let uid = pod_uid();
    let (ns, pod) = ("shop", format!("cart-{t}"));
    let bundle = root.path().join(format!(
        "run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}"
    ));
    root.pod_logs(ns, &pod, &uid, "api");
    let annotations = HostRoot::cri_annotations(ns, &pod, &uid, "api");
    let wrote = format!("/kubepods/besteffort/pod{uid}/{id}");
    let mut kube = Container::run(&id, &bundle, &wrote, annotations, 8080);
    kube.connect(2, false);
    kube.connect(1, true);

    // Docker (cgroupfs driver path, as dockerd without systemd makes it).
    let did = container_id();
    let name = format!("web-{t}");
    root.docker(&did, &name);
    let dbundle = root.path().join(format!("var/lib/docker/bundles/{did}"));
    let dwrote = format!("/docker/{did}");
    let mut docker = Container::run(&did, &dbundle, &dwrote, serde_json::json!({}), 80);
    docker.connect(1, false);

    let expected = Counts::default()
        .with(Family::V6, State::Listen, 1)
        .with(Family::V6, State::Established, 2)
        .with(Family::V6, State::CloseWait, 1);
    let dexpected = Counts::default().with(Family::V6, State::Listen, 1).with(
        Family::V6,
        State::Established,
        1,
    );
    let hr = root.arg();
    for (c, want, identity) in [
        (
            &kube,
            expected,
            vec![
                ("workload", Value::from(format!("{ns}/{pod}/api"))),
                ("kind", "pod".into()),
                ("runtime", "containerd".into()),
                ("container_id", Value::from(id.clone())),
                ("pod", Value::from(pod.clone())),
                ("namespace", Value::from(ns)),
                ("pod_uid", Value::from(uid.clone())),
                ("container", "api".into()),
            ],
        ),
        (
            &docker,
            dexpected,
            vec![
                ("workload", Value::from(name.clone())),
                ("kind", "container".into()),
                ("runtime", "docker".into()),
                ("container_id", Value::from(did.clone())),
                ("container", Value::from(name.clone())),
            ],
        ),
    ] {
        let made = c.cgroup.clone();
        eprintln!("runc made {made} (cgroupsPath as written: see the container's config.json)");
        let path = made.clone();
        c.in_netns(move || wait_for_ss_cgroup(&path, want));
        for source in ["netlink", "proc"] {
            let v = workloads(&["--netns", &c.netns, "--host-root", &hr, "--source", source]);
            let ctx = format!("runc container {} in {} (--source {source})", c.id, made);
            assert_accounted(&v, &ctx);
            let row = row_by(&v, "cgroup", &made);
            assert_eq!(states_of(row), state_map(want, None), "{ctx}: {v:#}");
            for (key, val) in &identity {
                assert_eq!(&row[*key], val, "{ctx}: {key}: {row:#}");
            }
            // Every socket of the namespace is the container's: clients are in its
            // namespace but this process's cgroup.
            let host_row_total: u64 = rows(&v)
                .iter()
                .filter(|r| r["cgroup"] != made.as_str())
                .map(|r| r["total"].as_u64().unwrap_or(0))
                .sum();
            assert_eq!(
                host_row_total,
                want.total() - want.get(Family::V6, State::Listen),
                "{ctx}: the client ends are another workload's: {v:#}"
            );
        }
        let name_shown = identity[0].1.as_str().expect("name").to_string();
        let table = text(&["workloads", "--netns", &c.netns, "--host-root", &hr]);
        assert!(table.contains(&name_shown), "{table}");
    }
    assert_eq!(kube.cgroup, wrote, "runc made the cgroupfs path as written");
    assert_eq!(
        docker.cgroup, dwrote,
        "runc made the cgroupfs path as written"
    );
    drop(kube);
    drop(docker);
    let mount = crate::util::cgroup::cgroup2_mount().expect("mount");
    assert!(
        !mount.join(wrote.trim_start_matches('/')).exists(),
        "runc's cgroup left behind"
    );
    assert!(!mount
        .join("kubepods/besteffort")
        .join(format!("pod{uid}"))
        .exists());
}

// ---------------------------------------------------------------------------
// A network namespace per workload
// ---------------------------------------------------------------------------

/// Each workload in a network namespace of its own, as containers are: `--all-netns` counts
/// each workload's sockets from its own namespace, as `ss -tan cgroup` does inside it.
#[test]
fn a_namespace_per_workload_with_all_netns() {
    let _serial = serial();
    let Some(mount) = setup("a namespace per workload") else {
        return;
    };
    if let Err(why) = netns_available() {
        skip(format!("a namespace per workload: {why}"));
        return;
    }
    let mut root = HostRoot::new();
    let t = tag();
    let mut made: Vec<(Workload, String)> = Vec::new();
    for (naming, name) in [
        (Naming::Docker, format!("web-{t}")),
        (Naming::Podman, format!("db-{t}")),
        (Naming::Service, String::new()),
    ] {
        let named: Named = naming.fresh();
        let display = match &naming {
            Naming::Docker => {
                root.docker(named.container_id.as_deref().expect("id"), &name);
                name
            }
            Naming::Podman => {
                root.podman(named.container_id.as_deref().expect("id"), &name);
                name
            }
            _ => named.unit.clone().expect("unit"),
        };
        let m = mount.clone();
        let w = in_private_netns(move || {
            let w = Workload::start(&m, named, Recipe::SMALL);
            wait_for_ss_cgroup(w.path(), w.in_cgroup());
            w
        });
        made.push((w, display));
    }
    let ws: Vec<&Workload> = made.iter().map(|(w, _)| w).collect();
    let ports = ports_arg(&ws);
    for source in ["netlink", "proc"] {
        let v = workloads(&[
            "--all-netns",
            "--host-root",
            &root.arg(),
            "--source",
            source,
            "--port",
            &ports,
        ]);
        let ctx = format!("workloads --all-netns --source {source}");
        assert_accounted(&v, &ctx);
        for (w, display) in &made {
            let row = row_by(&v, "cgroup", w.path());
            assert_eq!(row["workload"], display.as_str(), "{ctx}");
            assert_eq!(
                states_of(row),
                state_map(w.in_cgroup(), None),
                "{ctx}: {v:#}"
            );
        }
        // Without --all-netns, this namespace holds none of them.
        let v = workloads(&[
            "--host-root",
            &root.arg(),
            "--source",
            source,
            "--port",
            &ports,
        ]);
        assert_eq!(
            v["total"], 0,
            "{source}: the workloads' namespaces are not this one: {v:#}"
        );
    }
}

/// `--all-netns` labels a namespace with the workload holding it (lower priority in the
/// issue; kept apart so that it fails on its own).
#[test]
fn all_netns_labels_a_namespace_with_its_workload() {
    let _serial = serial();
    let Some(mount) = setup("namespace labels") else {
        return;
    };
    if let Err(why) = netns_available() {
        skip(format!("namespace labels: {why}"));
        return;
    }
    let root = HostRoot::new();
    let named = Naming::Docker.fresh();
    let name = format!("web-{}", tag());
    root.docker(named.container_id.as_deref().expect("id"), &name);
    let m = mount.clone();
    let w = in_private_netns(move || Workload::start(&m, named, Recipe::SMALL));
    let ports = ports_arg(&[&w]);
    let v = json(&[
        "summary",
        "--all-netns",
        "--json",
        "--host-root",
        &root.arg(),
        "--port",
        &ports,
    ]);
    let ours: Vec<&Value> = v["netns"]
        .as_array()
        .expect("netns")
        .iter()
        .filter(|n| n["total"].as_u64().unwrap_or(0) > 0)
        .collect();
    assert_eq!(ours.len(), 1, "{v:#}");
    assert!(
        ours[0]["label"].as_str().is_some_and(|l| l.contains(&name)),
        "the namespace's label names {name}: {:#}",
        ours[0]
    );
}

// ---------------------------------------------------------------------------
// Layouts and other views
// ---------------------------------------------------------------------------

/// A pure cgroup v2 layout, as most hosts have: in a private mount namespace the hybrid
/// mounts under `/sys/fs/cgroup` are detached and cgroup2 alone is mounted there. tcpstat
/// finds it there (`cgroup_mount`) and counts as in the hybrid layout.
#[test]
fn a_pure_v2_layout_is_found_at_sys_fs_cgroup() {
    let _serial = serial();
    let Some(mount) = setup("a pure v2 layout") else {
        return;
    };
    let root = HostRoot::new();
    let docker = Naming::Docker.fresh();
    let name = format!("web-{}", tag());
    root.docker(docker.container_id.as_deref().expect("id"), &name);
    let w = Workload::start(&mount, docker, Recipe::SMALL);
    wait_for_ss_cgroup(w.path(), w.in_cgroup());
    let ports = ports_arg(&[&w]);
    let (hr, path, want) = (
        root.arg(),
        w.path().to_string(),
        state_map(w.in_cgroup(), None),
    );
    let layout = std::thread::spawn(move || -> Result<Vec<Value>, String> {
        use nix::mount::{mount as mnt, umount2, MntFlags, MsFlags};
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
        mnt(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| format!("mount --make-rprivate /: {e}"))?;
        // Whatever is at /sys/fs/cgroup (a tmpfs of v1 hierarchies and the unified one, or
        // already cgroup2), detached with everything under it.
        let _ = umount2("/sys/fs/cgroup", MntFlags::MNT_DETACH);
        mnt(
            Some("cgroup2"),
            "/sys/fs/cgroup",
            Some("cgroup2"),
            MsFlags::empty(),
            None::<&str>,
        )
        .map_err(|e| format!("mount -t cgroup2 cgroup2 /sys/fs/cgroup: {e}"))?;
        let info = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
        let cgroup_mounts = info.lines().filter(|l| l.contains(" - cgroup")).count();
        if cgroup_mounts != 1 {
            return Err(format!("still {cgroup_mounts} cgroup mounts:\n{info}"));
        }
        let mut out = Vec::new();
        for source in ["netlink", "proc"] {
            out.push(workloads(&[
                "--host-root",
                &hr,
                "--source",
                source,
                "--port",
                &ports,
            ]));
        }
        Ok(out)
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p));
    let docs = match layout {
        Ok(d) => d,
        Err(why) => {
            skip(format!("a pure v2 layout: {why}"));
            return;
        }
    };
    for v in docs {
        assert_eq!(v["cgroup_mount"], "/sys/fs/cgroup", "{v:#}");
        let row = row_by(&v, "cgroup", &path);
        assert_eq!(row["workload"], name.as_str(), "{v:#}");
        assert_eq!(states_of(row), want, "{v:#}");
    }
}

/// `watch --by workload` names the workload on its screen (lower priority in the issue).
#[test]
fn watch_by_workload_names_it() {
    let _serial = serial();
    let Some(mount) = setup("watch --by workload") else {
        return;
    };
    let root = HostRoot::new();
    let docker = Naming::Docker.fresh();
    let name = format!("web-{}", tag());
    root.docker(docker.container_id.as_deref().expect("id"), &name);
    let w = Workload::start(&mount, docker, Recipe::SMALL);
    wait_for_ss_cgroup(w.path(), w.in_cgroup());
    let ports = ports_arg(&[&w]);
    let out = text(&[
        "watch",
        "--by",
        "workload",
        "--count",
        "1",
        "--host-root",
        &root.arg(),
        "--port",
        &ports,
    ]);
    assert!(out.contains(&name), "{out}");
}

// ---------------------------------------------------------------------------
// health --by workload, process, prefix
// ---------------------------------------------------------------------------

/// `tcpstat health --json ARGS`'s groups.
fn health_groups(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["health", "--json"];
    all.extend_from_slice(args);
    let v = json(&all);
    v["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("health --json: {v:#}"))
        .clone()
}

fn sockets_of(groups: &[Value]) -> u64 {
    groups
        .iter()
        .map(|g| g["sockets"].as_u64().expect("sockets"))
        .sum()
}

/// `health --by workload` puts a service's connections (ESTABLISHED, CLOSE_WAIT and
/// FIN_WAIT_2, both families) in one group named as `workloads` names it, with tcp_info for
/// each; `--by process` puts them under the `sleep` processes holding them; `--by prefix`
/// under 127.0.0.0/8 and ::/64. Every grouping holds the same connections as `--by
/// service`.
#[test]
fn health_groups_connections_by_workload_process_and_prefix() {
    let _serial = serial();
    let Some(mount) = setup("health --by workload") else {
        return;
    };
    let w = Workload::start(&mount, Naming::Service.fresh(), Recipe::SMALL);
    wait_for_ss_cgroup(w.path(), w.in_cgroup());
    let counts = w.in_cgroup();
    let connections: u64 = [State::Established, State::CloseWait, State::FinWait2]
        .iter()
        .map(|&s| counts.state_total(s))
        .sum();
    assert_eq!(connections, 8, "the recipe: {counts:?}");
    let ports = ports_arg(&[&w]);
    let service = health_groups(&["--port", &ports]);
    assert_eq!(sockets_of(&service), connections, "{service:#?}");

    let by_workload = health_groups(&["--port", &ports, "--by", "workload"]);
    let unit = w.path().rsplit('/').next().expect("a unit name");
    assert_eq!(by_workload.len(), 1, "{by_workload:#?}");
    let g = &by_workload[0];
    assert_eq!(g["workload"], unit, "{g:#}");
    assert_eq!(g["workload_kind"], "service");
    assert_eq!(g["sockets"].as_u64(), Some(connections));
    assert_eq!(g["sockets_with_info"].as_u64(), Some(connections));
    assert!(g["rtt_p50_us"].as_u64().is_some(), "{g:#}");

    // Each socket is held by the cgroup's sleep holders (one or more of them: a socket
    // shared by several processes counts for each).
    let by_process = health_groups(&["--port", &ports, "--by", "process"]);
    let holders: BTreeSet<u64> = w.pids().iter().map(|&p| u64::from(p)).collect();
    assert!(!by_process.is_empty());
    for g in &by_process {
        assert_eq!(g["command"], "sleep", "{by_process:#?}");
        let pid = g["pid"].as_u64().expect("pid");
        assert!(holders.contains(&pid), "{pid} is not a holder: {holders:?}");
    }
    assert!(sockets_of(&by_process) >= connections, "{by_process:#?}");

    let by_prefix = health_groups(&["--port", &ports, "--by", "prefix", "--prefix", "8"]);
    let prefixes: BTreeSet<&str> = by_prefix
        .iter()
        .map(|g| g["prefix"].as_str().expect("prefix"))
        .collect();
    assert_eq!(prefixes, ["127.0.0.0/8", "::/64"].into(), "{by_prefix:#?}");
    assert_eq!(sockets_of(&by_prefix), connections);
}
