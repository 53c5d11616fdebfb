//! `tcpstat check`: thresholds on socket counts, judged the monitoring-plugin way.
//!
//! Owns: the threshold syntax (`KEY=RANGE`, where KEY is a state name, a state group or
//! `total`, optionally followed by `:PORT`), the counts a check needs ([`CheckCounts`], a
//! [`Sink`], so nothing but counters is kept) and the verdict. It must not read the kernel
//! (`lib.rs` collects) or format the status line (`render::plugin`).

use std::collections::BTreeMap;

use crate::error::PluginStatus;
use crate::model::Sink;
use crate::model::{Range, SocketRecord, StateSet, TcpState};
use crate::model::{StateCounts, StateRow};

/// What a threshold measures: sockets in some states, optionally only those with a port on
/// either side (the sockets `tcpstat summary --port P --state S` counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// As shown in the status line: `CLOSE_WAIT`, `CLOSE_WAIT:8080`, `total`, `connected`.
    pub key: String,
    pub states: StateSet,
    pub port: Option<u16>,
}

impl Metric {
    fn state(state: TcpState) -> Metric {
        Metric {
            key: state.name().to_string(),
            states: StateSet::of(state),
            port: None,
        }
    }

    fn total() -> Metric {
        Metric {
            key: "total".to_string(),
            states: StateSet::ALL,
            port: None,
        }
    }

    /// The performance-data label: lower case, `_port_P` for per-port metrics
    /// (`close_wait`, `close_wait_port_8080`, `total`).
    pub fn perf_label(&self) -> String {
        let base = self
            .key
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match self.port {
            Some(p) => format!("{base}_port_{p}"),
            None => base,
        }
    }

    /// Same sockets measured (whatever the spelling of the key).
    pub fn same_as(&self, other: &Metric) -> bool {
        self.states == other.states && self.port == other.port
    }
}

/// One `--warn` or `--crit` value.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub metric: Metric,
    pub range: Range,
}

/// Parses `[KEY[:PORT]=]RANGE`: `CLOSE_WAIT=100`, `time-wait=20000`, `total=50000`,
/// `CLOSE_WAIT:8080=50`, `connected:443=@0:0`, and a bare `100` (on `total`). State names
/// accept every spelling `--state` does; groups (`connected`, `synchronized`, `bucket`,
/// `big`) sum their states; `total` (or `all`) is every selected socket.
pub fn parse_threshold(text: &str) -> Result<Threshold, String> {
    // A range never holds '=': without one, the range is on `total` (`-w 100`), as the
    // monitoring-plugin guidelines' `-w`/`-c` are.
    let Some((key, range)) = text.split_once('=') else {
        let range = Range::parse(text).map_err(|e| {
            format!(
                "{text:?}: expected [KEY=]RANGE, e.g. 100 (every selected socket) or \
                 CLOSE_WAIT=100 ({e})"
            )
        })?;
        return Ok(Threshold {
            metric: Metric::total(),
            range,
        });
    };
    let (name, port) = match key.split_once(':') {
        Some((name, port)) => {
            let p = port.trim().parse::<u16>().map_err(|_| {
                format!("{text:?}: {port:?} is not a port (0-65535) after ':' in the key")
            })?;
            (name.trim(), Some(p))
        }
        None => (key.trim(), None),
    };
    let (label, states) = if name.eq_ignore_ascii_case("total") || name.eq_ignore_ascii_case("all")
    {
        ("total".to_string(), StateSet::ALL)
    } else if let Some(state) = TcpState::parse(name) {
        (state.name().to_string(), StateSet::of(state))
    } else if let Some(group) = StateSet::parse(name) {
        (name.to_ascii_lowercase(), group)
    } else {
        return Err(format!(
            "{text:?}: unknown key {name:?} (a state name, a state group or total)\n\n{}",
            crate::model::state::valid_names()
        ));
    };
    let range = Range::parse(range).map_err(|e| format!("{text:?}: {e}"))?;
    let key = match port {
        Some(p) => format!("{label}:{p}"),
        None => label,
    };
    Ok(Threshold {
        metric: Metric { key, states, port },
        range,
    })
}

/// The counts a check reads: every selected socket by family and state, plus, for each port
/// named in a threshold, the sockets with that port on either side.
#[derive(Debug, Clone, Default)]
pub struct CheckCounts {
    pub all: StateCounts,
    ports: BTreeMap<u16, StateRow>,
}

impl CheckCounts {
    pub fn new(ports: impl IntoIterator<Item = u16>) -> CheckCounts {
        CheckCounts {
            all: StateCounts::new(),
            ports: ports
                .into_iter()
                .map(|p| (p, StateRow::default()))
                .collect(),
        }
    }

    /// The value of `metric`, counting only `counted` states (plus unknown kernel states for
    /// `total`).
    pub fn value(&self, metric: &Metric, counted: StateSet) -> u64 {
        let states = metric.states.intersect(counted);
        match metric.port {
            None => {
                let known: u64 = states.iter().map(|s| self.all.state_total(s)).sum();
                let unknown: u64 = self.all.unknown().iter().map(|b| b.total()).sum();
                known
                    + if metric.states == StateSet::ALL {
                        unknown
                    } else {
                        0
                    }
            }
            Some(p) => {
                let row = self.ports.get(&p).copied().unwrap_or_default();
                let known: u64 = states.iter().map(|s| row.get(s)).sum();
                known
                    + if metric.states == StateSet::ALL {
                        row.unknown
                    } else {
                        0
                    }
            }
        }
    }
}

impl CheckCounts {
    /// Adds another namespace's counts (of the same ports) into these.
    pub fn merge(&mut self, other: &CheckCounts) {
        self.all.merge(&other.all);
        for (port, row) in &other.ports {
            self.ports.entry(*port).or_default().merge(row);
        }
    }
}

impl Sink for CheckCounts {
    fn record(&mut self, record: &SocketRecord) {
        self.all.add(record.family, record.state);
        for (&port, row) in self.ports.iter_mut() {
            if record.local_port == port || record.remote_port == port {
                row.add(record.state);
            }
        }
    }

    fn reset(&mut self) -> bool {
        self.all = StateCounts::new();
        for row in self.ports.values_mut() {
            *row = StateRow::default();
        }
        true
    }
}

/// One metric of the result, with the ranges it was judged against.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub metric: Metric,
    pub value: u64,
    pub warn: Option<Range>,
    pub crit: Option<Range>,
    pub status: PluginStatus,
    /// Whether it was given a threshold (and so belongs in the status text).
    pub thresholded: bool,
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: PluginStatus,
    /// `total`, each counted state, then every other metric named in a threshold, in the
    /// order given: the performance data. Metrics the run cannot measure (their states were
    /// not counted) are left out rather than reported as a false 0 that graphs would record.
    pub metrics: Vec<Measured>,
    /// Thresholds on states the run did not count, with why: they make the result UNKNOWN.
    pub unmeasurable: Vec<String>,
}

/// Judges the counts. `counted` is the states that were both selected and visible to the
/// source; a threshold on none of them cannot be judged and makes the result UNKNOWN.
pub fn evaluate(
    counts: &CheckCounts,
    counted: StateSet,
    not_counted_reason: &dyn Fn(TcpState) -> &'static str,
    warn: &[Threshold],
    crit: &[Threshold],
) -> Verdict {
    let mut metrics: Vec<Metric> = vec![Metric::total()];
    metrics.extend(counted.iter().map(Metric::state));
    for t in warn.iter().chain(crit) {
        let measurable = !t.metric.states.intersect(counted).is_empty();
        if measurable && !metrics.iter().any(|m| m.same_as(&t.metric)) {
            metrics.push(t.metric.clone());
        }
    }
    let mut unmeasurable = Vec::new();
    for t in warn.iter().chain(crit) {
        if t.metric.states.intersect(counted).is_empty() {
            let why: Vec<String> = t
                .metric
                .states
                .iter()
                .map(|s| format!("{s} {}", not_counted_reason(s)))
                .collect();
            let line = format!("{} cannot be measured: {}", t.metric.key, why.join(", "));
            if !unmeasurable.contains(&line) {
                unmeasurable.push(line);
            }
        }
    }
    let find = |list: &[Threshold], m: &Metric| {
        list.iter()
            .find(|t| t.metric.same_as(m))
            .map(|t| t.range.clone())
    };
    let measured: Vec<Measured> = metrics
        .into_iter()
        .map(|metric| {
            let value = counts.value(&metric, counted);
            let warn = find(warn, &metric);
            let crit = find(crit, &metric);
            let v = value as f64;
            let status = if crit.as_ref().is_some_and(|r| r.alerts(v)) {
                PluginStatus::Critical
            } else if warn.as_ref().is_some_and(|r| r.alerts(v)) {
                PluginStatus::Warning
            } else {
                PluginStatus::Ok
            };
            let thresholded = warn.is_some() || crit.is_some();
            Measured {
                metric,
                value,
                warn,
                crit,
                status,
                thresholded,
            }
        })
        .collect();
    let mut status = measured
        .iter()
        .map(|m| m.status)
        .max()
        .unwrap_or(PluginStatus::Ok);
    if !unmeasurable.is_empty() {
        status = PluginStatus::Unknown;
    }
    Verdict {
        status,
        metrics: measured,
        unmeasurable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, KernelState};

    fn t(text: &str) -> Threshold {
        parse_threshold(text).expect("valid")
    }

    fn sock(state: TcpState, local: u16, remote: u16) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
        r.local_port = local;
        r.remote_port = remote;
        r
    }

    #[test]
    fn keys_accept_states_groups_total_and_ports() {
        let a = t("close-wait=100");
        assert_eq!(a.metric.key, "CLOSE_WAIT");
        assert_eq!(a.metric.perf_label(), "close_wait");
        assert_eq!(a.range.text(), "100");
        let b = t("CLOSE_WAIT:8080=@1:5");
        assert_eq!(
            (b.metric.key.as_str(), b.metric.port),
            ("CLOSE_WAIT:8080", Some(8080))
        );
        assert_eq!(b.metric.perf_label(), "close_wait_port_8080");
        assert_eq!(t("TOTAL=5").metric.key, "total");
        assert_eq!(t("all=5").metric.states, StateSet::ALL);
        let g = t("Connected:443=10");
        assert_eq!(g.metric.perf_label(), "connected_port_443");
        assert!(!g.metric.states.contains(TcpState::Listen));
        assert!(t("timewait=1").metric.same_as(&t("TIME_WAIT=2").metric));
        // A bare range is on every selected socket, as -w / -c are in the plugin guidelines.
        let bare = t("@10:20");
        assert!(bare.metric.same_as(&t("total=1").metric));
        assert_eq!(bare.range.text(), "@10:20");
    }

    #[test]
    fn bad_thresholds_say_why() {
        for (bad, why) in [
            ("CLOSE_WAIT", "expected [KEY=]RANGE"),
            ("bogus=1", "unknown key \"bogus\""),
            ("CLOSE_WAIT:http=1", "not a port"),
            ("CLOSE_WAIT:70000=1", "not a port"),
            ("CLOSE_WAIT=x", "not a number"),
        ] {
            let err = parse_threshold(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    fn counts() -> CheckCounts {
        let mut c = CheckCounts::new([8080, 9090]);
        for _ in 0..3 {
            c.record(&sock(TcpState::CloseWait, 8080, 40000));
        }
        c.record(&sock(TcpState::CloseWait, 5000, 6000));
        c.record(&sock(TcpState::TimeWait, 40001, 8080));
        c.record(&sock(TcpState::Established, 8080, 8080));
        c
    }

    #[test]
    fn values_per_state_group_total_and_port() {
        let c = counts();
        let all = StateSet::ALL;
        assert_eq!(c.value(&t("CLOSE_WAIT=1").metric, all), 4);
        assert_eq!(c.value(&t("CLOSE_WAIT:8080=1").metric, all), 3);
        assert_eq!(
            c.value(&t("total:8080=1").metric, all),
            5,
            "both ends counted once"
        );
        assert_eq!(c.value(&t("total=1").metric, all), 6);
        assert_eq!(c.value(&t("bucket=1").metric, all), 1);
        assert_eq!(c.value(&t("total:9090=1").metric, all), 0);
        let without_cw = all.without(StateSet::of(TcpState::CloseWait));
        assert_eq!(c.value(&t("total=1").metric, without_cw), 2);
    }

    #[test]
    fn verdict_is_the_worst_and_perfdata_lists_everything() {
        let c = counts();
        let reason = |_| "not counted";
        let v = evaluate(
            &c,
            StateSet::ALL,
            &reason,
            &[t("CLOSE_WAIT=2"), t("TIME_WAIT=5")],
            &[t("CLOSE_WAIT=10"), t("CLOSE_WAIT:8080=2")],
        );
        assert_eq!(v.status, PluginStatus::Critical);
        let labels: Vec<String> = v.metrics.iter().map(|m| m.metric.perf_label()).collect();
        assert_eq!(labels.len(), 13, "{labels:?}");
        assert_eq!(labels[0], "total");
        assert_eq!(labels[12], "close_wait_port_8080");
        let cw = v
            .metrics
            .iter()
            .find(|m| m.metric.key == "CLOSE_WAIT")
            .expect("close_wait");
        assert_eq!((cw.value, cw.status), (4, PluginStatus::Warning));
        assert_eq!(cw.crit.as_ref().map(Range::text), Some("10"));

        let ok = evaluate(&c, StateSet::ALL, &reason, &[t("CLOSE_WAIT=100")], &[]);
        assert_eq!(ok.status, PluginStatus::Ok);
        let none = evaluate(&c, StateSet::ALL, &reason, &[], &[]);
        assert_eq!(none.status, PluginStatus::Ok);
        assert!(none.metrics.iter().all(|m| !m.thresholded));
    }

    #[test]
    fn thresholds_on_uncounted_states_are_unknown() {
        let c = counts();
        let counted = StateSet::ALL.without(StateSet::of(TcpState::Closed));
        let reason = |_| "(not visible to this source)";
        let v = evaluate(&c, counted, &reason, &[], &[t("CLOSED=1"), t("total=100")]);
        assert_eq!(v.status, PluginStatus::Unknown);
        assert_eq!(
            v.unmeasurable,
            ["CLOSED cannot be measured: CLOSED (not visible to this source)"]
        );
        assert!(
            v.metrics.iter().all(|m| m.metric.key != "CLOSED"),
            "no false 0 in the performance data: {:?}",
            v.metrics
        );
        assert!(v.metrics.iter().any(|m| m.metric.key == "total"));
    }
}
