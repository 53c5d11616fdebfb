//! Local ports in use per route (local address -> remote address:port) against the size of
//! `ip_local_port_range`. A new connection needs a local port not in use toward the same
//! remote address and port from the same local address (`__inet_hash_connect`); TIME_WAIT
//! sockets hold theirs for 60 s (`TCP_TIMEWAIT_LEN`) unless `tcp_tw_reuse` lets a new
//! connection take them over ([`tw_reuse`]), and then they are not counted (the evidence
//! still says how many). When the ports run out connect() fails with EADDRNOTAVAIL.

use super::{finding, setting};
use crate::diagnose::census::{PortUse, Route};
use crate::diagnose::{
    tw_reuse, Check, Evidence, Finding, Inputs, Number, Setting, Severity, Subject, TwReuse,
};
use crate::model::kernel::KernelFacts;

/// A finding per route over its levels, fullest first; else the fullest route (or that there
/// are no outgoing connections), below its levels.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let facts = inputs.facts;
    let size = facts
        .sysctls
        .ip_local_port_range
        .map(|(lo, hi)| u64::from(hi - lo) + 1);
    let mut routes: Vec<(&Route, &PortUse)> = inputs.census.routes.iter().collect();
    routes.sort_by(|a, b| {
        in_use(facts, b.0, b.1)
            .cmp(&in_use(facts, a.0, a.1))
            .then((b.1.time_wait + b.1.other).cmp(&(a.1.time_wait + a.1.other)))
            .then(a.0.cmp(b.0))
    });
    let route_finding = |route: &Route, u: &PortUse| {
        let &(local, remote, port) = route;
        finding(
            inputs,
            check,
            Subject::Route {
                local,
                remote,
                port,
            },
            in_use(facts, route, u),
            size,
            evidence(facts, *u, reusable(facts, route)),
        )
    };
    let mut out = Vec::new();
    for &(route, u) in &routes {
        let f = route_finding(route, u);
        if f.severity == Severity::Ok {
            break; // Sorted: the rest are below too.
        }
        out.push(f);
    }
    if out.is_empty() {
        let f = match routes.first() {
            Some(&(route, u)) => route_finding(route, u),
            None => finding(
                inputs,
                check,
                Subject::Host,
                0,
                size,
                evidence(facts, PortUse::default(), false),
            ),
        };
        out.push(f);
    }
    out
}

/// Whether new connections on the route may take over its TIME_WAIT sockets' ports.
fn reusable(facts: &KernelFacts, &(local, remote, _): &Route) -> bool {
    tw_reuse(&facts.sysctls, local, remote) == TwReuse::Applies
}

/// Ports a new connection on the route cannot have.
fn in_use(facts: &KernelFacts, route: &Route, u: &PortUse) -> u64 {
    if reusable(facts, route) {
        u.other
    } else {
        u.time_wait + u.other
    }
}

/// The range and the settings that decide reuse, and the route's ports by state.
fn evidence(facts: &KernelFacts, u: PortUse, reusable: bool) -> Evidence {
    Evidence {
        settings: vec![
            (
                "net.ipv4.ip_local_port_range",
                facts
                    .sysctls
                    .ip_local_port_range
                    .map(|(lo, hi)| Setting::Range(lo, hi)),
            ),
            setting("net.ipv4.tcp_tw_reuse", facts.sysctls.tcp_tw_reuse),
            setting("net.ipv4.tcp_timestamps", facts.sysctls.tcp_timestamps),
        ],
        numbers: vec![
            (Number::TimeWait, u.time_wait),
            (Number::OtherStates, u.other),
            (
                Number::TimeWaitReusable,
                if reusable { u.time_wait } else { 0 },
            ),
        ],
        ..Evidence::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::{IpAddr, Ipv4Addr};

    use crate::diagnose::fixtures::{facts, ip, of, run, run_with, sock};
    use crate::diagnose::{Census, Check, Number, Severity, Subject, Thresholds};
    use crate::model::{Sink, StateSet, TcpState};

    #[test]
    fn ephemeral_ports_per_route_and_time_wait_total() {
        let mut census = Census::new([80].into_iter().collect(), Some((40000, 40099)), Vec::new());
        for p in 0..60 {
            census.record(&sock(TcpState::TimeWait, (1, 40000 + p), (9, 5432)));
        }
        for p in 60..95 {
            census.record(&sock(TcpState::Established, (1, 40000 + p), (9, 5432)));
        }
        // Inbound TIME_WAIT on a listening port, and an outgoing one outside the range.
        census.record(&sock(TcpState::TimeWait, (1, 80), (3, 40001)));
        census.record(&sock(TcpState::TimeWait, (1, 30000), (9, 5432)));
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::EphemeralPorts);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].severity, f[0].value, f[0].limit),
            (Severity::Critical, 95, Some(100))
        );
        assert_eq!(
            f[0].subject,
            Subject::Route {
                local: ip(1),
                remote: ip(9),
                port: 5432
            }
        );
        let tw = of(&d, Check::TimeWait)[0];
        assert_eq!(
            (tw.value, tw.limit, tw.severity),
            (62, Some(1000), Severity::Ok)
        );
    }

    #[test]
    fn time_wait_that_new_connections_can_reuse_does_not_exhaust_ports() {
        // 95 TIME_WAIT and 5 ESTABLISHED from 10.0.0.1 to `remote`:7000, range 40000-40099.
        let census = |remote: IpAddr| {
            let mut census = Census::new(HashSet::new(), Some((40000, 40099)), Vec::new());
            for p in 0..100 {
                let state = if p < 95 {
                    TcpState::TimeWait
                } else {
                    TcpState::Established
                };
                let mut r = sock(state, (1, 40000 + p), (0, 7000));
                r.remote = remote;
                census.record(&r);
            }
            census
        };
        let judge = |census: &Census, reuse: u64, timestamps: u64| {
            let mut facts = facts();
            facts.sysctls.tcp_tw_reuse = Some(reuse);
            facts.sysctls.tcp_timestamps = Some(timestamps);
            let d = run_with(census, &facts, StateSet::ALL, true);
            of(&d, Check::EphemeralPorts)[0].clone()
        };
        let loopback = census(IpAddr::V4(Ipv4Addr::LOCALHOST));
        // The default 2 reuses TIME_WAIT toward loopback: only the 5 open ones hold ports.
        let f = judge(&loopback, 2, 1);
        assert_eq!((f.severity, f.value, f.limit), (Severity::Ok, 5, Some(100)));
        assert_eq!(f.evidence.number(Number::TimeWait), Some(95));
        assert_eq!(f.evidence.number(Number::TimeWaitReusable), Some(95));
        assert!(
            f.action().contains("already lets new connections"),
            "{}",
            f.action()
        );
        assert_eq!(judge(&loopback, 1, 1).value, 5);
        // Off, or no timestamps: all 100 count, and the advice says what would help.
        let f = judge(&loopback, 0, 1);
        assert_eq!((f.severity, f.value), (Severity::Critical, 100));
        assert_eq!(f.evidence.number(Number::TimeWaitReusable), Some(0));
        assert_eq!(f.action(), Check::EphemeralPorts.action());
        assert!(f.action().contains("consider net.ipv4.tcp_tw_reuse=1"));
        let f = judge(&loopback, 2, 0);
        assert_eq!((f.severity, f.value), (Severity::Critical, 100));
        assert!(f.action().contains("tcp_timestamps=0"), "{}", f.action());
        // 2 does not reach a remote host: advise 1, not "already on".
        let far = census(ip(9));
        let f = judge(&far, 2, 1);
        assert_eq!((f.severity, f.value), (Severity::Critical, 100));
        assert!(f
            .action()
            .contains("consider net.ipv4.tcp_tw_reuse=1: the current 2"));
        assert_eq!(judge(&far, 1, 1).value, 5);
    }
}
