//! TIME_WAIT in the network namespace against `tcp_max_tw_buckets`. Beyond it the kernel
//! does not create the TIME_WAIT socket (`inet_twsk_alloc`, `TCPTimeWaitOverflow`): the
//! connection closes at once, without protection against old duplicates. Below it TIME_WAIT
//! is normal; what it does to outgoing connections is the ephemeral-ports rule's business.

use super::{counters, finding, setting, top_addrs, top_ports};
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Severity, Subject};

/// One finding for the namespace; `info` below the levels when the kernel has already had to
/// skip TIME_WAIT since boot.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let facts = inputs.facts;
    let tally = &inputs.census.time_wait;
    // The limit is per namespace, whatever the filters: compare the kernel's own count when
    // it is readable. That count is of time-wait entries, which include orphaned FIN_WAIT_2
    // sockets the kernel keeps as timewait minisockets (`tcp_time_wait(sk, TCP_FIN_WAIT2,
    // ..)`), so it is the value judged but not the number of TIME_WAIT sockets: the
    // headline gives both (`Number::TimeWaitCounted` is the real TIME_WAIT count).
    let value = facts
        .sockstat
        .map_or(tally.count, |s| s.tw.max(tally.count));
    let mut numbers = vec![(Number::TimeWaitCounted, tally.count)];
    if let Some(s) = facts.sockstat {
        numbers.push((Number::SockstatTw, s.tw));
    }
    let mut f = finding(
        inputs,
        check,
        Subject::Host,
        value,
        facts.sysctls.tcp_max_tw_buckets,
        Evidence {
            ports: top_ports(&tally.ports),
            remotes: top_addrs(&tally.remotes),
            settings: vec![
                setting(
                    "net.ipv4.tcp_max_tw_buckets",
                    facts.sysctls.tcp_max_tw_buckets,
                ),
                setting("net.ipv4.tcp_tw_reuse", facts.sysctls.tcp_tw_reuse),
            ],
            counters: counters(facts, &["TCPTimeWaitOverflow"]),
            numbers,
            ..Evidence::default()
        },
    );
    if f.severity == Severity::Ok && facts.counter("TCPTimeWaitOverflow").unwrap_or(0) > 0 {
        f.severity = Severity::Info;
    }
    vec![f]
}
