//! The status line of `tcpstat check`, in the monitoring-plugin format:
//! `TCPSTAT STATUS - text | perfdata`, one line.
//!
//! Owns: the wording of the text part and the performance data
//! (`label=value;warn;crit`, the ranges as given, trailing empty fields dropped), and keeping
//! the text part one line without a `|` (see [`text_part`]). Never reads the kernel or
//! judges: the verdict arrives decided (`check::evaluate`).

use std::io::{self, Write};

use super::text::escape;
use crate::check::{Measured, Verdict};
use crate::error::PluginStatus;
use crate::model::{Outcome, SourceKind};

/// Writes the status line.
pub fn status_line(out: &mut dyn Write, verdict: &Verdict, outcome: &Outcome) -> io::Result<()> {
    let mut text = String::new();
    let total = verdict
        .metrics
        .iter()
        .find(|m| m.metric.key == "total" && m.metric.port.is_none())
        .map_or(0, |m| m.value);
    if !verdict.unmeasurable.is_empty() {
        text.push_str(&verdict.unmeasurable.join("; "));
    } else {
        let mut alerting: Vec<&Measured> = verdict
            .metrics
            .iter()
            .filter(|m| m.status != PluginStatus::Ok)
            .collect();
        alerting.sort_by_key(|m| std::cmp::Reverse(m.status));
        if alerting.is_empty() {
            text.push_str(&format!("{total} sockets"));
            let watched: Vec<String> = verdict
                .metrics
                .iter()
                .filter(|m| m.thresholded)
                .map(|m| format!("{} {}", m.metric.key, m.value))
                .collect();
            if !watched.is_empty() {
                text.push_str("; ");
                text.push_str(&watched.join(", "));
            }
        } else {
            let parts: Vec<String> = alerting
                .iter()
                .map(|m| {
                    let (word, range) = match m.status {
                        PluginStatus::Critical => ("crit", &m.crit),
                        _ => ("warn", &m.warn),
                    };
                    let range = range.as_ref().map_or("", |r| r.text());
                    format!("{} {} ({word} {range})", m.metric.key, m.value)
                })
                .collect();
            text.push_str(&parts.join(", "));
            text.push_str(&format!("; {total} sockets"));
        }
    }
    if outcome.source == SourceKind::Proc && outcome.fallback_reason.is_some() {
        text.push_str("; read /proc (netlink unavailable)");
    }
    if !outcome.complete {
        // What made it partial, said where the monitoring system shows it (not only on
        // stderr, which it never shows).
        text.push_str("; incomplete: ");
        if outcome.warnings.is_empty() {
            text.push_str("some sockets could not be read");
        } else {
            text.push_str(&outcome.warnings.join("; "));
        }
    }
    let perf: Vec<String> = verdict.metrics.iter().map(perfdata).collect();
    writeln!(
        out,
        "TCPSTAT {} - {} | {}",
        verdict.status.label(),
        text_part(&text),
        perf.join(" ")
    )
}

/// The text part of a status line, made safe: control characters escaped (as everywhere, so
/// `\n` cannot start a second line, which Nagios reads as long output) and `|` written as
/// `\x7c`, because the first `|` of the line is where monitoring systems start reading
/// performance data (a path such as `/tmp/a|b` in an error would otherwise be split there).
/// [`escape`] doubles backslashes, so the escape cannot be confused with a literal `\x7c`.
pub fn text_part(text: &str) -> String {
    escape(text).replace('|', "\\x7c")
}

/// `label=value;warn;crit`, without trailing empty fields.
fn perfdata(m: &Measured) -> String {
    let warn = m.warn.as_ref().map_or("", |r| r.text());
    let crit = m.crit.as_ref().map_or("", |r| r.text());
    let mut s = format!("{}={};{warn};{crit}", m.metric.perf_label(), m.value);
    while s.ends_with(';') {
        s.pop();
    }
    s
}

/// The line for a check that could not run (a runtime or usage error): UNKNOWN.
pub fn unknown_line(out: &mut dyn Write, cause: &str) -> io::Result<()> {
    writeln!(
        out,
        "TCPSTAT UNKNOWN - {}",
        text_part(&cause.replace('\n', " "))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{evaluate, parse_threshold, CheckCounts};
    use crate::model::Sink;
    use crate::model::{Family, KernelState, SocketRecord, StateSet, TcpState};

    fn outcome() -> Outcome {
        Outcome {
            source: SourceKind::Netlink,
            covers: crate::model::StateSet::ALL,
            fallback_reason: None,
            warnings: Vec::new(),
            complete: true,
        }
    }

    fn line(warn: &[&str], crit: &[&str], close_wait: usize) -> String {
        let mut c = CheckCounts::new([8080]);
        for _ in 0..close_wait {
            let mut r = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::CloseWait));
            r.local_port = 8080;
            c.record(&r);
        }
        c.record(&SocketRecord::empty(
            Family::V4,
            KernelState::Known(TcpState::TimeWait),
        ));
        let t = |list: &[&str]| -> Vec<_> {
            list.iter()
                .map(|s| parse_threshold(s).expect("valid"))
                .collect()
        };
        let v = evaluate(&c, StateSet::ALL, &|_| "", &t(warn), &t(crit));
        let mut out = Vec::new();
        status_line(&mut out, &v, &outcome()).expect("write");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn ok_line_with_perfdata() {
        let l = line(&["CLOSE_WAIT=100"], &["CLOSE_WAIT=500"], 3);
        assert!(
            l.starts_with("TCPSTAT OK - 4 sockets; CLOSE_WAIT 3 | total=4 listen=0 "),
            "{l}"
        );
        assert!(l.contains(" close_wait=3;100;500 "), "{l}");
        assert!(l.contains(" time_wait=1 "), "{l}");
        assert!(l.ends_with(" closed=0\n"), "{l}");
        assert_eq!(l.lines().count(), 1);
    }

    #[test]
    fn alert_lines_name_what_alerts() {
        let l = line(&["CLOSE_WAIT=2"], &["CLOSE_WAIT:8080=4"], 5);
        assert!(
            l.starts_with(
                "TCPSTAT CRITICAL - CLOSE_WAIT:8080 5 (crit 4), CLOSE_WAIT 5 (warn 2); 6 sockets |"
            ),
            "{l}"
        );
        assert!(l.contains(" close_wait=5;2 "), "{l}");
        assert!(l.trim_end().ends_with(" close_wait_port_8080=5;;4"), "{l}");
        let w = line(&["total=@0:5"], &[], 1);
        assert!(
            w.starts_with("TCPSTAT WARNING - total 2 (warn @0:5)"),
            "{w}"
        );
    }

    #[test]
    fn unknown_line_is_one_escaped_line() {
        let mut out = Vec::new();
        unknown_line(&mut out, "cannot read /x\x1b\nnext").expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "TCPSTAT UNKNOWN - cannot read /x\\x1b next\n"
        );
    }

    #[test]
    fn a_pipe_in_the_text_cannot_start_the_performance_data() {
        let mut out = Vec::new();
        unknown_line(&mut out, "cannot read /tmp/a|b\\x7c/net/tcp").expect("write");
        let line = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            line,
            "TCPSTAT UNKNOWN - cannot read /tmp/a\\x7cb\\\\x7c/net/tcp\n"
        );
        assert!(!line.contains('|'));
    }
}
