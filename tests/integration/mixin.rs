//! `mixin/` (issue 18): the rules and alerts load in Prometheus's own checker, every alert
//! has unit tests that pass (`promtool test rules`, firing and not firing), and every metric
//! an expression or a dashboard panel names is one tcpstat writes, a rule of the mixin
//! records, or Prometheus's own `up`: an alert on a metric that does not exist never fires.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tcpstat::render::prometheus::{Kind, METRICS};

use crate::util::skip;

fn mixin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mixin")
}

/// Runs promtool with `args` in `mixin/`; `None` (a skip) when it is not installed.
fn promtool(args: &[&str]) -> Option<String> {
    let out = match Command::new("promtool")
        .args(args)
        .current_dir(mixin())
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skip("promtool is not installed (.ci/run installs the prometheus package)");
            return None;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    Some(text)
}

#[test]
fn rules_and_alerts_pass_promtool_and_their_unit_tests() {
    let Some(checked) = promtool(&["check", "rules", "rules.yaml", "alerts.yaml"]) else {
        return;
    };
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&["test", "rules", "tests/alerts_test.yaml"]).expect("promtool");
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// `- alert: NAME` / `- record: NAME` / `expr: ...` lines (single-line or `|` blocks).
fn rule_file(name: &str) -> (Vec<String>, Vec<String>) {
    let text = fs::read_to_string(mixin().join(name)).expect("rule file");
    let mut names = Vec::new();
    let mut exprs: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(n) = t.strip_prefix("- alert: ").or(t.strip_prefix("- record: ")) {
            names.push(n.to_string());
            in_block = false;
        } else if let Some(e) = t.strip_prefix("expr: ") {
            in_block = e == "|";
            exprs.push(if in_block {
                String::new()
            } else {
                e.to_string()
            });
        } else if in_block && line.starts_with("          ") {
            if let Some(last) = exprs.last_mut() {
                last.push_str(t);
                last.push(' ');
            }
        } else {
            in_block = false;
        }
    }
    (names, exprs)
}

/// Metric names in a PromQL expression: identifiers that start like tcpstat's, a process
/// metric's or a recording rule's.
fn metrics_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in expr.chars().chain([' ']) {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && (c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            word.push(c);
        } else {
            if word.starts_with("tcpstat") || word.starts_with("process_") || word == "up" {
                out.push(word.clone());
            }
            word.clear();
        }
    }
    out
}

#[test]
fn every_metric_named_exists() {
    let (records, rule_exprs) = rule_file("rules.yaml");
    let (alerts, alert_exprs) = rule_file("alerts.yaml");
    assert_eq!(alerts.len(), 14, "{alerts:?}");
    // A histogram is written as its `_bucket`, `_sum` and `_count` series, never by its name.
    let mut known = BTreeSet::new();
    for m in METRICS {
        if matches!(m.kind, Kind::Histogram) {
            for suffix in ["_bucket", "_sum", "_count"] {
                known.insert(format!("{}{suffix}", m.name));
            }
        } else {
            known.insert(m.name.to_string());
        }
    }
    known.extend(records.iter().cloned());
    known.insert("up".into());
    let dashboard: Value = serde_json::from_str(
        &fs::read_to_string(mixin().join("dashboards/tcpstat.json")).expect("dashboard"),
    )
    .expect("dashboard JSON");
    let mut panel_exprs = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            panel_exprs.push(target["expr"].as_str().expect("expr").to_string());
        }
    }
    assert!(panel_exprs.len() >= 10, "{panel_exprs:?}");
    let mut used = BTreeSet::new();
    for expr in rule_exprs.iter().chain(&alert_exprs).chain(&panel_exprs) {
        let names = metrics_in(expr);
        assert!(!names.is_empty(), "no metric in {expr:?}");
        for name in names {
            assert!(
                known.contains(&name),
                "{name} (in {expr:?}) is not written by tcpstat"
            );
            used.insert(name);
        }
    }
    // Every recording rule is used by an alert or a panel.
    for r in &records {
        assert!(
            alert_exprs
                .iter()
                .chain(&panel_exprs)
                .any(|e| e.contains(r.as_str())),
            "{r} is recorded but never used"
        );
    }
}
