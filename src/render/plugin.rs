//! The status line of `tcpstat check`, in the monitoring-plugin format:
//! `TCPSTAT STATUS - text | perfdata`, one line (and, with `-vv`, long output after it).
//!
//! Owns: the wording of the text part and the performance data
//! (`label=value;warn;crit;min`, the ranges as given, min 0: counts are never negative), and keeping
//! the text part one line without a `|` (see [`text_part`]). Never reads the kernel or
//! judges: the verdict arrives decided (`check::evaluate`).

use std::io::{self, Write};

use super::text::escape;
use crate::check::{Measured, Verdict};
use crate::error::PluginStatus;
use crate::model::{Outcome, SourceKind};

/// Writes the status line. `verbosity` is the number of `-v`: 1 adds the source and every
/// warning to the text; 2 or more also writes one line per measured value after the status
/// line (the plugin guidelines' long output, which monitoring systems show on the detail
/// page).
pub fn status_line(
    out: &mut dyn Write,
    verdict: &Verdict,
    outcome: &Outcome,
    verbosity: u8,
) -> io::Result<()> {
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
    } else if verbosity >= 1 && !outcome.warnings.is_empty() {
        text.push_str("; ");
        text.push_str(&outcome.warnings.join("; "));
    }
    if verbosity >= 1 {
        text.push_str(&format!("; source {}", outcome.source.name()));
    }
    let perf: Vec<String> = verdict.metrics.iter().map(perfdata).collect();
    writeln!(
        out,
        "TCPSTAT {} - {} | {}",
        verdict.status.label(),
        text_part(&text),
        perf.join(" ")
    )?;
    if verbosity >= 2 {
        for m in &verdict.metrics {
            let mut line = format!("{} {} {}", m.status.label(), m.metric.key, m.value);
            for (word, range) in [("warn", &m.warn), ("crit", &m.crit)] {
                if let Some(range) = range {
                    line.push_str(&format!(" ({word} {})", range.text()));
                }
            }
            writeln!(out, "{}", text_part(&line))?;
        }
    }
    Ok(())
}

/// The text part of a status line, made safe: control characters escaped (as everywhere, so
/// `\n` cannot start a second line, which Nagios reads as long output) and `|` written as
/// `\x7c`, because the first `|` of the line is where monitoring systems start reading
/// performance data (a path such as `/tmp/a|b` in an error would otherwise be split there).
/// [`escape`] doubles backslashes, so the escape cannot be confused with a literal `\x7c`.
pub fn text_part(text: &str) -> String {
    escape(text).replace('|', "\\x7c")
}

/// `label=value;warn;crit;min`: min is 0 (a count), so graphs start at zero; no max (none
/// is known).
fn perfdata(m: &Measured) -> String {
    let warn = m.warn.as_ref().map_or("", |r| r.text());
    let crit = m.crit.as_ref().map_or("", |r| r.text());
    format!("{}={};{warn};{crit};0", m.metric.perf_label(), m.value)
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
        status_line(&mut out, &v, &outcome(), 0).expect("write");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn ok_line_with_perfdata() {
        let l = line(&["CLOSE_WAIT=100"], &["CLOSE_WAIT=500"], 3);
        assert!(
            l.starts_with("TCPSTAT OK - 4 sockets; CLOSE_WAIT 3 | total=4;;;0 listen=0;;;0 "),
            "{l}"
        );
        assert!(l.contains(" close_wait=3;100;500;0 "), "{l}");
        assert!(l.contains(" time_wait=1;;;0 "), "{l}");
        assert!(l.ends_with(" closed=0;;;0\n"), "{l}");
        assert_eq!(l.lines().count(), 1);
    }

    #[test]
    fn verbose_lines_add_the_source_and_long_output() {
        let c = {
            let mut c = CheckCounts::new([]);
            c.record(&SocketRecord::empty(
                Family::V4,
                KernelState::Known(TcpState::CloseWait),
            ));
            c
        };
        let t = parse_threshold("CLOSE_WAIT=5").expect("valid");
        let v = evaluate(&c, StateSet::ALL, &|_| "", &[t], &[]);
        let mut out = Vec::new();
        status_line(&mut out, &v, &outcome(), 1).expect("write");
        let one = String::from_utf8(out).expect("utf-8");
        assert!(one.contains("; source netlink |"), "{one}");
        assert_eq!(one.lines().count(), 1);
        let mut out = Vec::new();
        status_line(&mut out, &v, &outcome(), 2).expect("write");
        let two = String::from_utf8(out).expect("utf-8");
        let long: Vec<&str> = two.lines().skip(1).collect();
        assert!(long.contains(&"OK CLOSE_WAIT 1 (warn 5)"), "{two}");
        assert!(long.contains(&"OK total 1"), "{two}");
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
        assert!(l.contains(" close_wait=5;2;;0 "), "{l}");
        assert!(
            l.trim_end().ends_with(" close_wait_port_8080=5;;4;0"),
            "{l}"
        );
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
