//! Connections whose receive queue our application does not read: unread data while the
//! window this side advertises is closed (`tcpi_rcv_wnd` below one segment, `tcpi_rcv_mss`).
//! The mirror of a zero window seen from the other end; grouped by the process that holds
//! the sockets (it is the one not reading), as CLOSE_WAIT is.

use std::collections::BTreeMap;
use std::collections::HashMap;

use super::close_wait::{owned, Owned};
use super::{at_least_info, finding, top_addrs, top_ports, worst_first_or_ok};
use crate::aggregate::{service_group_in, DEFAULT_EPHEMERAL_PORTS};
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Subject};
use crate::model::SocketRecord;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Process(u32, String),
    Hidden,
    NotFound,
}

/// One finding per process holding full receive queues (under the warning level: `info`),
/// most first; else one `ok` summary.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let Some(health) = inputs.health else {
        return Vec::new();
    };
    let census = inputs.census;
    let ephemeral = census.ephemeral.unwrap_or(DEFAULT_EPHEMERAL_PORTS);
    let mut groups: BTreeMap<Holder, Vec<&SocketRecord>> = BTreeMap::new();
    for r in &health.recv_full {
        let holders = match owned(inputs.owners, r) {
            Owned::By(ps) => ps
                .into_iter()
                .map(|p| Holder::Process(p.pid, p.command.clone()))
                .collect(),
            Owned::Hidden => vec![Holder::Hidden],
            Owned::NotFound => vec![Holder::NotFound],
        };
        for h in holders {
            groups.entry(h).or_default().push(r);
        }
    }
    let out: Vec<Finding> = groups
        .into_iter()
        .map(|(holder, records)| {
            let mut ports = HashMap::new();
            let mut remotes = HashMap::new();
            for r in &records {
                *ports
                    .entry(service_group_in(&census.listening, ephemeral, r))
                    .or_default() += 1;
                *remotes.entry(r.remote).or_default() += 1;
            }
            let unread: u64 = records.iter().map(|r| u64::from(r.recv_q)).sum();
            let subject = match holder {
                Holder::Process(pid, command) => Subject::Process { pid, command },
                Holder::Hidden => Subject::OwnerHidden,
                Holder::NotFound => Subject::OwnerNotFound,
            };
            at_least_info(finding(
                inputs,
                check,
                subject,
                records.len() as u64,
                None,
                Evidence {
                    ports: top_ports(&ports),
                    remotes: top_addrs(&remotes),
                    numbers: vec![(Number::RecvQueueBytes, unread)],
                    ..Evidence::default()
                },
            ))
        })
        .collect();
    let mut numbers = vec![(Number::Connections, health.connections)];
    if health.recv_unknown > 0 {
        numbers.push((Number::RecvWindowUnknown, health.recv_unknown));
    }
    worst_first_or_ok(inputs, check, out, numbers)
}

#[cfg(test)]
mod tests {
    use crate::diagnose::fixtures::{of, run, sock};
    use crate::diagnose::{Census, Check, Number, Severity, Subject, Thresholds};
    use crate::model::{Sink, SocketDetail, TcpInfo, TcpState};

    #[test]
    fn a_closed_window_over_unread_data_is_a_process_not_reading() {
        let mut census = Census::new([8080].into_iter().collect(), None, Vec::new());
        let detail = |wnd| SocketDetail {
            info: Some(TcpInfo {
                rcv_wnd: Some(wnd),
                rcv_mss: Some(1448),
                ..TcpInfo::default()
            }),
            ..SocketDetail::default()
        };
        let mut full = sock(TcpState::Established, (1, 8080), (2, 50000));
        full.recv_q = 200_000;
        full.inode = 77;
        census.record_detail(&full, &detail(0));
        // Unread data, but the window is open: the reader is only behind.
        let mut behind = sock(TcpState::Established, (1, 8080), (2, 50001));
        behind.recv_q = 1000;
        census.record_detail(&behind, &detail(60_000));
        let d = run(&census, &[], &Thresholds::default());
        let f = of(&d, Check::RecvQueue);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (&f[0].subject, f[0].value, f[0].severity),
            (&Subject::OwnerNotFound, 1, Severity::Info)
        );
        assert_eq!(f[0].evidence.number(Number::RecvQueueBytes), Some(200_000));
        assert_eq!(f[0].evidence.ports[0].port, 8080);
    }
}
