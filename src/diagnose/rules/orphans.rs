//! Orphans (sockets their process closed, still finishing the close: FIN_WAIT_1,
//! FIN_WAIT_2, CLOSING, LAST_ACK with no file) against `tcp_max_orphans`. Beyond it the
//! kernel resets them at once (`tcp_too_many_orphans`, `TCPAbortOnMemory`). The kernel's own
//! count (sockstat `orphan`) is host-wide even inside a namespace; the census's counts per
//! state say where they are.

use super::{counters, finding, setting};
use crate::diagnose::census::CLOSING_STATES;
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Subject};
use crate::model::TcpState;

/// One finding for the host: the kernel's count when readable, else the census's.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let facts = inputs.facts;
    let census = inputs.census;
    let counted: u64 = census.closing.iter().map(|t| t.orphans).sum();
    let value = facts.sockstat.map_or(counted, |s| s.orphan);
    let mut numbers: Vec<(Number, u64)> = CLOSING_STATES
        .iter()
        .zip(&census.closing)
        .map(|((state, _), t)| (orphans_in(*state), t.orphans))
        .collect();
    if let Some(s) = facts.sockstat {
        numbers.push((Number::SockstatOrphan, s.orphan));
    }
    vec![finding(
        inputs,
        check,
        Subject::Host,
        value,
        facts.sysctls.tcp_max_orphans,
        Evidence {
            settings: vec![
                setting("net.ipv4.tcp_max_orphans", facts.sysctls.tcp_max_orphans),
                setting("net.ipv4.tcp_fin_timeout", facts.sysctls.tcp_fin_timeout),
                setting(
                    "net.ipv4.tcp_orphan_retries",
                    facts.sysctls.tcp_orphan_retries,
                ),
            ],
            counters: counters(facts, &["TCPAbortOnMemory"]),
            numbers,
            ..Evidence::default()
        },
    )]
}

/// The number a closing state's orphans are reported under.
fn orphans_in(state: TcpState) -> Number {
    match state {
        TcpState::FinWait1 => Number::FinWait1Orphans,
        TcpState::FinWait2 => Number::FinWait2Orphans,
        TcpState::Closing => Number::ClosingOrphans,
        _ => Number::LastAckOrphans,
    }
}
