//! Sockets by owning process: the process x state matrix of `procs`, with explicit rows for
//! sockets without a process, and the per-command sums metrics export. Pure: no I/O.

use crate::model::{KernelState, OwnerMap, SocketRecord, StateRow, TcpState};

/// One process's sockets by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcRow {
    /// The network namespace of these sockets (`--all-netns`); else 0. A process with sockets
    /// in several namespaces has a row in each.
    pub netns: u64,
    pub pid: u32,
    pub uid: u32,
    /// Raw command name (escaping is the renderer's job).
    pub command: String,
    pub counts: StateRow,
}

/// The process x state matrix of `procs`, with explicit rows for sockets without a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcMatrix {
    /// Sorted by total descending, then pid.
    pub processes: Vec<ProcRow>,
    /// Connections the kernel completed that their listening process has not accept()ed yet
    /// ([`is_not_accepted`]): no file, so no process holds them, but they are not orphans;
    /// they wait in the accept queue of a listener whose process is in `accept_queues`.
    pub not_accepted: StateRow,
    /// Where the sockets of `not_accepted` wait, per listening address and port.
    pub accept_queues: Vec<AcceptQueue>,
    /// Sockets that cannot have an owner: inode 0 and not waiting to be accepted (TIME_WAIT
    /// and SYN_RECV minisockets, orphans whose process already closed them).
    pub no_owner: StateRow,
    /// Sockets with a file whose owner was not found while some processes could not be read:
    /// their owner is probably one of those.
    pub hidden: StateRow,
    /// Sockets with a file whose owner was not found although every process was read (closed
    /// or passed on during the walk, or held only by a process in another pid namespace).
    pub not_found: StateRow,
    /// Distinct sockets counted (each once, however many owners).
    pub sockets: u64,
    /// The four rows above, per network namespace, when this matrix merges several
    /// ([`ProcMatrix::merge`]); the fields above are then their sums.
    pub by_netns: Vec<OwnerlessRows>,
}

/// The rows of sockets without a known owner, of one network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerlessRows {
    pub netns: u64,
    pub not_accepted: StateRow,
    pub no_owner: StateRow,
    pub hidden: StateRow,
    pub not_found: StateRow,
}

/// The connections not accepted yet on one listening address and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptQueue {
    /// The network namespace (`--all-netns`); else what the sockets were tagged with.
    pub netns: u64,
    /// The listening socket's address (a wildcard for a listener on every address); the
    /// connections' own local address when no listener was found.
    pub address: std::net::IpAddr,
    pub port: u16,
    /// Whether a listening socket matched (by namespace, family, port, and address or
    /// wildcard). It can be missing if it closed while tcpstat read, or was not read.
    pub listener_found: bool,
    /// Connections waiting, counted in [`ProcMatrix::not_accepted`].
    pub sockets: u64,
    /// The processes holding the listening socket(s), in pid order: `(pid, command)`.
    /// Empty when none was found (hidden, or no listener).
    pub owners: Vec<(u32, String)>,
}

/// A connection the kernel completed for a listener whose process has not `accept()`ed it yet:
/// ESTABLISHED, or CLOSE_WAIT when the client already hung up, with inode 0 because a socket
/// gets its file only from `accept()`. Not an orphan: its process (the listener's) has simply
/// not taken it. (Request sockets are SYN_RECV, and a Fast Open child in SYN_RECV with inode 0
/// cannot be told apart from them in what the kernel reports: both stay in `no_owner`.)
pub fn is_not_accepted(r: &SocketRecord) -> bool {
    r.inode == 0
        && matches!(
            r.state,
            KernelState::Known(TcpState::Established | TcpState::CloseWait)
        )
}

/// The listening sockets a connection not accepted yet can be waiting for: same namespace,
/// family and port, and the same address, or a wildcard one when no listener has the exact
/// address (the kernel prefers the exact match too; with SO_REUSEPORT several can match).
fn listeners_for<'l>(
    by_port: &std::collections::HashMap<(u64, u16), Vec<&'l SocketRecord>>,
    r: &SocketRecord,
) -> Vec<&'l SocketRecord> {
    let Some(candidates) = by_port.get(&(r.netns, r.local_port)) else {
        return Vec::new();
    };
    let same_family = candidates.iter().filter(|l| l.family == r.family);
    let exact: Vec<&SocketRecord> = same_family
        .clone()
        .filter(|l| l.local == r.local)
        .copied()
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    same_family
        .filter(|l| l.local.is_unspecified())
        .copied()
        .collect()
}

impl ProcMatrix {
    /// Builds the matrix from sockets and a walk of their owners. A socket shared by several
    /// processes counts once in each of their rows; `sockets` counts it once. `listeners` are
    /// the LISTEN sockets of the namespace (their owners in `owners`), to name the process
    /// whose accept queue holds each connection not accepted yet; it may be empty.
    pub fn build(
        records: &[SocketRecord],
        listeners: &[SocketRecord],
        owners: &OwnerMap,
    ) -> ProcMatrix {
        let hidden_possible = owners.stats().unreadable() > 0;
        let mut per_process = vec![StateRow::default(); owners.process_count()];
        let mut m = ProcMatrix::default();
        let mut by_port: std::collections::HashMap<(u64, u16), Vec<&SocketRecord>> =
            Default::default();
        for l in listeners {
            by_port.entry((l.netns, l.local_port)).or_default().push(l);
        }
        for r in records {
            m.sockets += 1;
            let found = owners.owners(r.inode);
            if is_not_accepted(r) {
                m.not_accepted.add(r.state);
                m.add_to_queue(r, &listeners_for(&by_port, r), owners);
            } else if r.inode == 0 {
                m.no_owner.add(r.state);
            } else if found.is_empty() {
                if hidden_possible {
                    m.hidden.add(r.state);
                } else {
                    m.not_found.add(r.state);
                }
            }
            for idx in found {
                per_process[idx.get()].add(r.state);
            }
        }
        m.processes = owners
            .processes()
            .zip(per_process)
            .filter(|(_, counts)| counts.total() > 0)
            .map(|(p, counts)| ProcRow {
                netns: 0,
                pid: p.pid,
                uid: p.uid,
                command: p.command.clone(),
                counts,
            })
            .collect();
        sort_processes(&mut m.processes);
        m.accept_queues.sort_by(|a, b| {
            b.sockets
                .cmp(&a.sockets)
                .then(a.netns.cmp(&b.netns))
                .then(a.port.cmp(&b.port))
                .then(a.address.cmp(&b.address))
        });
        m
    }

    /// Counts a connection not accepted yet in the queue of its listener(s).
    fn add_to_queue(&mut self, r: &SocketRecord, listeners: &[&SocketRecord], owners: &OwnerMap) {
        let address = listeners.first().map_or(r.local, |l| l.local);
        if let Some(queue) = self
            .accept_queues
            .iter_mut()
            .find(|q| q.netns == r.netns && q.port == r.local_port && q.address == address)
        {
            queue.sockets += 1;
            return;
        }
        let mut processes: Vec<(u32, String)> = listeners
            .iter()
            .flat_map(|l| owners.owner_processes(l.inode))
            .map(|p| (p.pid, p.command.clone()))
            .collect();
        processes.sort();
        processes.dedup();
        self.accept_queues.push(AcceptQueue {
            netns: r.netns,
            address,
            port: r.local_port,
            listener_found: !listeners.is_empty(),
            sockets: 1,
            owners: processes,
        });
    }

    /// The ownerless rows per namespace: `by_netns` of a merged matrix, else this matrix's own
    /// rows as one namespace (tag 0), so that no caller loses them for not having merged.
    pub fn ownerless(&self) -> std::borrow::Cow<'_, [OwnerlessRows]> {
        if !self.by_netns.is_empty() {
            return std::borrow::Cow::Borrowed(&self.by_netns);
        }
        std::borrow::Cow::Owned(vec![OwnerlessRows {
            netns: 0,
            not_accepted: self.not_accepted,
            no_owner: self.no_owner,
            hidden: self.hidden,
            not_found: self.not_found,
        }])
    }

    /// One matrix of several namespaces' matrices, each built from one namespace's sockets
    /// and given with its namespace: every process row and accept queue is kept and tagged
    /// with its namespace, the ownerless rows are summed and also kept per namespace in
    /// `by_netns`.
    pub fn merge(parts: Vec<(u64, ProcMatrix)>) -> ProcMatrix {
        let mut all = ProcMatrix::default();
        for (netns, mut part) in parts {
            for row in &mut part.processes {
                row.netns = netns;
            }
            for queue in &mut part.accept_queues {
                queue.netns = netns;
            }
            all.not_accepted.merge(&part.not_accepted);
            all.no_owner.merge(&part.no_owner);
            all.hidden.merge(&part.hidden);
            all.not_found.merge(&part.not_found);
            all.sockets += part.sockets;
            all.by_netns.push(OwnerlessRows {
                netns,
                not_accepted: part.not_accepted,
                no_owner: part.no_owner,
                hidden: part.hidden,
                not_found: part.not_found,
            });
            all.processes.extend(part.processes);
            all.accept_queues.extend(part.accept_queues);
        }
        sort_processes(&mut all.processes);
        all
    }
}

/// By total descending, then namespace and pid.
fn sort_processes(rows: &mut [ProcRow]) {
    rows.sort_by(|a, b| {
        b.counts
            .total()
            .cmp(&a.counts.total())
            .then(a.netns.cmp(&b.netns))
            .then(a.pid.cmp(&b.pid))
    });
}

#[cfg(test)]
mod proc_tests {
    use super::*;
    use crate::model::Family;

    fn row(pid: u32, netns: u64, established: u64) -> ProcRow {
        let mut counts = StateRow::default();
        counts.counts[TcpState::Established.index()] = established;
        ProcRow {
            netns,
            pid,
            uid: 0,
            command: "x".into(),
            counts,
        }
    }

    fn sock(state: TcpState, local: &str, port: u16, inode: u64) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
        r.local = local.parse().expect("ip");
        r.local_port = port;
        r.remote_port = if state == TcpState::Listen { 0 } else { 40000 };
        r.inode = inode;
        r
    }

    #[test]
    fn connections_not_accepted_are_neither_orphans_nor_minisockets() {
        let listeners = [
            sock(TcpState::Listen, "0.0.0.0", 8080, 11),
            sock(TcpState::Listen, "127.0.0.2", 8080, 12),
        ];
        let records = [
            sock(TcpState::Established, "127.0.0.1", 8080, 0),
            sock(TcpState::CloseWait, "127.0.0.1", 8080, 0),
            sock(TcpState::Established, "127.0.0.2", 8080, 0),
            sock(TcpState::Established, "127.0.0.1", 9090, 0),
            sock(TcpState::TimeWait, "127.0.0.1", 8080, 0),
            sock(TcpState::FinWait2, "127.0.0.1", 40000, 0),
            sock(TcpState::SynRecv, "127.0.0.1", 8080, 0),
            sock(TcpState::Established, "127.0.0.1", 8080, 77),
        ];
        let m = ProcMatrix::build(&records, &listeners, &OwnerMap::default());
        assert_eq!(m.not_accepted.get(TcpState::Established), 3);
        assert_eq!(m.not_accepted.get(TcpState::CloseWait), 1);
        assert_eq!(
            m.no_owner.total(),
            3,
            "TIME_WAIT, orphaned FIN_WAIT_2, request"
        );
        assert_eq!(
            m.not_found.total(),
            1,
            "a socket with a file and no owner found"
        );
        assert_eq!(m.sockets, 8);
        let queues: Vec<(String, u16, bool, u64)> = m
            .accept_queues
            .iter()
            .map(|q| (q.address.to_string(), q.port, q.listener_found, q.sockets))
            .collect();
        assert_eq!(
            queues,
            [
                // On 127.0.0.1, the wildcard listener's; on 127.0.0.2, the exact one's.
                ("0.0.0.0".to_string(), 8080, true, 2),
                ("127.0.0.2".to_string(), 8080, true, 1),
                ("127.0.0.1".to_string(), 9090, false, 1),
            ]
        );
    }

    #[test]
    fn namespaces_merge_with_their_rows_tagged_and_ownerless_rows_summed() {
        let mut a = ProcMatrix {
            processes: vec![row(10, 0, 1)],
            sockets: 2,
            ..ProcMatrix::default()
        };
        a.no_owner.add(KernelState::Known(TcpState::TimeWait));
        let mut b = ProcMatrix {
            processes: vec![row(10, 0, 3), row(20, 0, 1)],
            sockets: 5,
            ..ProcMatrix::default()
        };
        b.no_owner.add(KernelState::Known(TcpState::TimeWait));
        b.hidden.add(KernelState::Known(TcpState::Established));
        let m = ProcMatrix::merge(vec![(111, a), (222, b)]);
        let rows: Vec<(u64, u32, u64)> = m
            .processes
            .iter()
            .map(|p| (p.netns, p.pid, p.counts.total()))
            .collect();
        // A pid with sockets in two namespaces has a row in each; busiest first.
        assert_eq!(rows, [(222, 10, 3), (111, 10, 1), (222, 20, 1)]);
        assert_eq!((m.no_owner.total(), m.hidden.total(), m.sockets), (2, 1, 7));
        let per: Vec<(u64, u64, u64)> = m
            .by_netns
            .iter()
            .map(|n| (n.netns, n.no_owner.total(), n.hidden.total()))
            .collect();
        assert_eq!(per, [(111, 1, 0), (222, 1, 1)]);
    }
}

/// Sockets per command name: the processes of one command summed, for metrics (pids come and
/// go; command names are few).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRows {
    /// The `top` commands with the most sockets, busiest first (ties by namespace and name),
    /// each with the namespace of its processes (`--all-netns`; else 0).
    pub commands: Vec<(u64, String, StateRow)>,
    /// All other commands summed, per namespace: how many commands, and their sockets.
    pub other: Vec<(u64, usize, StateRow)>,
}

impl ProcMatrix {
    /// Sums processes per namespace and command name and keeps the `top` busiest. A socket
    /// shared by several processes of one command counts once per process, as in `procs`.
    pub fn by_command(&self, top: usize) -> CommandRows {
        let mut per: std::collections::BTreeMap<(u64, &str), StateRow> = Default::default();
        for p in &self.processes {
            per.entry((p.netns, p.command.as_str()))
                .or_default()
                .merge(&p.counts);
        }
        let mut commands: Vec<(u64, String, StateRow)> = per
            .into_iter()
            .map(|((netns, c), row)| (netns, c.to_string(), row))
            .collect();
        commands.sort_by(|a, b| {
            b.2.total()
                .cmp(&a.2.total())
                .then(a.0.cmp(&b.0))
                .then(a.1.cmp(&b.1))
        });
        let mut other: Vec<(u64, usize, StateRow)> = Vec::new();
        for (netns, _, row) in commands.iter().skip(top) {
            match other.iter_mut().find(|(n, _, _)| n == netns) {
                Some((_, n, sum)) => {
                    *n += 1;
                    sum.merge(row);
                }
                None => other.push((*netns, 1, *row)),
            }
        }
        other.sort_by_key(|(netns, _, _)| *netns);
        commands.truncate(top);
        CommandRows { commands, other }
    }
}

#[cfg(test)]
mod command_tests {
    use super::*;

    #[test]
    fn commands_are_summed_and_cut() {
        let proc_row = |pid: u32, command: &str, n: u64| {
            let mut counts = StateRow::default();
            counts.counts[TcpState::Established.index()] = n;
            ProcRow {
                netns: 0,
                pid,
                uid: 0,
                command: command.to_string(),
                counts,
            }
        };
        let m = ProcMatrix {
            processes: vec![
                proc_row(1, "nginx", 5),
                proc_row(2, "nginx", 5),
                proc_row(3, "sshd", 7),
                proc_row(4, "cron", 1),
            ],
            ..ProcMatrix::default()
        };
        let c = m.by_command(2);
        let names: Vec<(&str, u64)> = c
            .commands
            .iter()
            .map(|(_, n, r)| (n.as_str(), r.total()))
            .collect();
        assert_eq!(names, [("nginx", 10), ("sshd", 7)]);
        assert_eq!(c.other.len(), 1);
        assert_eq!(
            (c.other[0].1, c.other[0].2.total()),
            (1, 1),
            "one command folded"
        );
    }
}
