//! Accept queues: connections that completed the handshake and wait for accept(), per
//! listening socket, against its backlog. The kernel calls a queue full when
//! `sk_ack_backlog > sk_max_ack_backlog` (`sk_acceptq_is_full`, include/net/sock.h), so it
//! holds backlog + 1 before new SYNs are dropped (`ListenOverflows`, `ListenDrops`). sock_diag
//! reports the backlog (`idiag_wqueue`); /proc does not, and then a queue is shown, not judged.

use super::{counters, finding, owning_processes, setting};
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Severity, Subject};
use crate::model::SocketRecord;

/// A finding per listener over its levels (or with connections waiting and no known
/// backlog), fullest first; else one summary of the fullest queue.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut fullest: Option<(&SocketRecord, u64)> = None;
    for r in inputs.listeners {
        let queued = u64::from(r.recv_q);
        let backlog = inputs.backlog_known.then_some(u64::from(r.send_q));
        let subject = Subject::Listener {
            address: r.local,
            port: r.local_port,
        };
        let mut f = finding(inputs, check, subject, queued, backlog, evidence(inputs, r));
        if f.severity == Severity::Ok && queued > 0 && backlog.is_none() {
            // From /proc the backlog is unknown: say what is waiting, without judging.
            f.severity = Severity::Info;
        }
        if f.severity > Severity::Ok {
            out.push(f);
        }
        // Fullest by share of the backlog, else by length.
        let share = match backlog {
            Some(b) => queued.saturating_mul(1000) / b.max(1),
            None => queued,
        };
        if fullest.is_none_or(|(_, s)| share > s) {
            fullest = Some((r, share));
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.value));
    if out.is_empty() {
        out.push(summary(inputs, check, fullest.map(|(r, _)| r)));
    }
    out
}

/// The owner of a listener, the settings that bound its backlog, and the overflow counters.
fn evidence(inputs: &Inputs<'_>, r: &SocketRecord) -> Evidence {
    let facts = inputs.facts;
    Evidence {
        processes: owning_processes(inputs.owners, std::iter::once(r)),
        settings: vec![
            setting("net.core.somaxconn", facts.sysctls.somaxconn),
            setting(
                "net.ipv4.tcp_abort_on_overflow",
                facts.sysctls.tcp_abort_on_overflow,
            ),
        ],
        counters: counters(facts, &["ListenOverflows", "ListenDrops"]),
        ..Evidence::default()
    }
}

/// No queue over its levels: the fullest one (and how many listeners there are), `info`
/// when queues overflowed at some point since boot, else `ok`.
fn summary(inputs: &Inputs<'_>, check: Check, fullest: Option<&SocketRecord>) -> Finding {
    let facts = inputs.facts;
    let overflows = facts.counter("ListenOverflows").unwrap_or(0);
    let drops = facts.counter("ListenDrops").unwrap_or(0);
    let mut summary = match fullest {
        Some(r) => {
            let mut f = finding(
                inputs,
                check,
                Subject::Host,
                u64::from(r.recv_q),
                inputs.backlog_known.then_some(u64::from(r.send_q)),
                evidence(inputs, r),
            );
            f.evidence
                .numbers
                .push((Number::Listeners, inputs.listeners.len() as u64));
            f
        }
        None => finding(
            inputs,
            check,
            Subject::Host,
            0,
            None,
            Evidence {
                counters: counters(facts, &["ListenOverflows", "ListenDrops"]),
                ..Evidence::default()
            },
        ),
    };
    summary.severity = if overflows > 0 || drops > 0 {
        // Queues overflowed at some point since boot, not now.
        Severity::Info
    } else {
        Severity::Ok
    };
    summary
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{ip, of, run, sock};
    use crate::diagnose::{Census, Check, Severity, Subject, Thresholds};
    use crate::model::TcpState;

    #[test]
    fn full_accept_queue_is_critical_and_names_the_listener() {
        let census = Census::new([8080].into_iter().collect(), None, Vec::new());
        let mut l = sock(TcpState::Listen, (1, 8080), (0, 0));
        l.recv_q = 2;
        l.send_q = 1;
        let mut quiet = sock(TcpState::Listen, (1, 22), (0, 0));
        quiet.send_q = 128;
        let d = run(&census, &[quiet, l], &Thresholds::default());
        let f = of(&d, Check::AcceptQueue);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(
            f[0].subject,
            Subject::Listener {
                address: ip(1),
                port: 8080
            }
        );
        assert_eq!(
            (f[0].value, f[0].limit, f[0].critical_at),
            (2, Some(1), Some(1))
        );
        assert_eq!(
            f[0].evidence.counters,
            [("ListenOverflows", Some(7)), ("ListenDrops", None)]
        );
        assert_eq!(d.findings[0].check, Check::AcceptQueue, "worst first");
    }
}
