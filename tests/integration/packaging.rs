//! What `packaging/` ships (issue 18): the systemd unit verifies and keeps its hardening
//! score, its capabilities are the ones the owner walk needs (checked by running tcpstat as
//! an unprivileged user with exactly those capabilities), and its default options agree with
//! the default configuration file. The Debian package itself is tested by
//! `packaging/deb-test.sh` (it installs into the system: `.ci/run` runs it).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{is_root, serial, skip, BIN};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn unit() -> String {
    fs::read_to_string(repo().join("packaging/systemd/tcpstat-serve.service")).expect("the unit")
}

/// The values of `Key=` lines of the unit, in order.
fn settings(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
        .collect()
}

/// The unit with its binary replaced by the one under test (verify checks that it exists),
/// in a directory of its own.
fn unit_for_this_build(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).expect("temp dir");
    let path = dir.join("tcpstat-serve.service");
    fs::write(&path, unit().replace("/usr/bin/tcpstat", BIN)).expect("write the unit");
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

#[test]
fn the_systemd_unit_verifies_and_keeps_its_hardening() {
    if systemd_analyze().is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tcpstat-unit-{}", std::process::id()));
    let path = unit_for_this_build(&dir);
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze verify");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify: {:?}\n{}",
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
        .find_map(|l| l.split_once("Overall exposure level for tcpstat-serve.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    // 2.0 ("OK") when written: what remains is what a socket monitor needs (the host's
    // network and /proc, netlink, ptrace access checks, ambient capabilities).
    assert!(score <= 2.0, "exposure {score} (was 2.0):\n{text}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn the_default_file_and_the_unit_agree() {
    let unit = unit();
    let default = fs::read_to_string(repo().join("packaging/default/tcpstat")).expect("default");
    let from_file: Vec<&str> = default
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        from_file,
        ["TCPSTAT_SERVE_ARGS=\"--listen=127.0.0.1:9555\""],
        "one setting, loopback"
    );
    assert_eq!(
        settings(&unit, "Environment"),
        ["TCPSTAT_SERVE_ARGS=--listen=127.0.0.1:9555"],
        "the unit's fallback is the file's default"
    );
    assert_eq!(
        settings(&unit, "ExecStart"),
        ["/usr/bin/tcpstat serve $TCPSTAT_SERVE_ARGS"]
    );
    assert_eq!(
        settings(&unit, "CapabilityBoundingSet"),
        settings(&unit, "AmbientCapabilities")
    );
}

/// Owners of a socket this (root) process holds, as `tcpstat list -p` sees them when run as
/// uid 65534 with `caps` as its ambient capabilities.
fn owners_seen_with(caps: &[&str], port: u16) -> (Vec<i64>, bool) {
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
