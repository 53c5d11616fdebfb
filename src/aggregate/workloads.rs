//! Sockets per workload and state (`tcpstat workloads`, `list -W`, metrics).
//!
//! Owns: [`CgroupTally`], the sink that counts sockets by cgroup id while the dump streams
//! (the id is in every full socket's message: no per-socket filesystem read, no owner walk),
//! [`WorkloadMatrix`], the rows by workload a report shows, built from a tally and a way to
//! name ids.
//!
//! Sockets without a cgroup id are attributed honestly: a minisocket (TIME_WAIT, a SYN_RECV
//! request) on a port a workload listens on belongs to that workload, as a connection belongs
//! to the service it was made to; a full socket without an id (the /proc source) by the
//! cgroup of the process that owns it; anything else is counted as unattributed, never
//! dropped or guessed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::model::sink::AsideSink;
use crate::model::workload::{port_claims, Workload, WorkloadBy};
use crate::model::{KernelState, Sink, SocketRecord, StateRow, TcpState};

/// A hasher for keys that are small integers (cgroup ids, ports): one multiplication
/// (Fibonacci hashing) instead of SipHash, for the two lookups of every socket of a dump.
/// The keys come from the kernel, not from a network peer: no flooding to defend against.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u16(&mut self, key: u16) {
        self.write_u64(u64::from(key));
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by cgroup id or port, hashed by [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Workloads with series of their own in Prometheus text without `--top`
/// (`workloads --format prometheus`, `serve --workloads`); the rest are summed.
pub const DEFAULT_TOP_WORKLOADS: usize = 50;

/// Sockets of one namespace counted by cgroup id, and those without one.
#[derive(Debug, Clone, Default)]
pub struct CgroupTally {
    /// Full sockets, by the cgroup id the kernel reported.
    pub by_id: IdMap<u64, StateRow>,
    /// Minisockets without a cgroup, by local port.
    pub minisockets: IdMap<u16, StateRow>,
    /// The listening sockets of the dump (they claim the minisockets on their ports), kept
    /// so that a run whose filter keeps every listener needs no listener pass of its own.
    pub listeners: Vec<SocketRecord>,
    /// Full sockets without a cgroup id (the /proc source; kernels before 4.19 with no
    /// `INET_DIAG_CGROUP_ID`): inode and state, to be attributed through their owners.
    pub no_id: Vec<(u64, crate::model::KernelState)>,
    pub sockets: u64,
}

impl Sink for CgroupTally {
    fn record(&mut self, r: &SocketRecord) {
        self.sockets += 1;
        if r.state == KernelState::Known(TcpState::Listen) {
            self.listeners.push(*r);
        }
        if r.cgroup_id != 0 {
            self.by_id.entry(r.cgroup_id).or_default().add(r.state);
        } else if r.inode != 0 {
            self.no_id.push((r.inode, r.state));
        } else {
            // Minisockets, and orphans or connections not accepted yet from /proc (no file):
            // all of them are on the service side when their port is listened on.
            self.minisockets
                .entry(r.local_port)
                .or_default()
                .add(r.state);
        }
    }

    fn reset(&mut self) -> bool {
        *self = CgroupTally::default();
        true
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        wanted.extend(self.no_id.iter().map(|&(inode, _)| inode));
    }

    // Counts by id and port add up whatever the order: the bound-only sockets can be dumped
    // on another thread, as `summary` does.
    fn aside(&self) -> Option<Box<dyn AsideSink>> {
        Some(Box::new(CgroupTally::default()))
    }

    fn absorb(&mut self, aside: Box<dyn AsideSink>) {
        let Ok(other) = aside.into_any().downcast::<CgroupTally>() else {
            return;
        };
        for (id, row) in &other.by_id {
            self.by_id.entry(*id).or_default().merge(row);
        }
        for (port, row) in &other.minisockets {
            self.minisockets.entry(*port).or_default().merge(row);
        }
        self.no_id.extend(other.no_id.iter().copied());
        self.listeners.extend(other.listeners.iter().copied());
        self.sockets += other.sockets;
    }
}

/// One row: a workload (grouped under `by`) in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadRow {
    /// The namespace (`--all-netns`), else 0.
    pub netns: u64,
    /// The group's name under the report's `by` (raw: escaping is the renderer's job).
    pub key: String,
    /// The first workload met in the group (with `--by pod`, one of the pod's containers).
    pub workload: Arc<Workload>,
    pub counts: StateRow,
}

/// The workload x state matrix, with rows for what has no workload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadMatrix {
    /// Sorted by total descending, then name.
    pub rows: Vec<WorkloadRow>,
    /// Sockets with no cgroup and nothing to attribute them by (a client's TIME_WAIT; with
    /// /proc, sockets whose owner was not found or not readable).
    pub unattributed: StateRow,
    /// With `--by unit|container|pod`: sockets of workloads that have no such thing.
    pub ungrouped: StateRow,
    pub sockets: u64,
}

impl WorkloadMatrix {
    /// Groups one namespace's tally under `by`. `of_id` names a cgroup id (never 0);
    /// `of_inode` the workload of a socket's owner, for sockets without an id (`None`: not
    /// found). `listeners` are the namespace's listening sockets: their cgroups (or owners)
    /// claim the minisockets on their ports.
    pub fn build(
        netns: u64,
        tally: &CgroupTally,
        listeners: &[SocketRecord],
        by: WorkloadBy,
        of_id: &mut dyn FnMut(u64) -> Arc<Workload>,
        of_inode: &mut dyn FnMut(u64) -> Option<Arc<Workload>>,
    ) -> WorkloadMatrix {
        let mut m = WorkloadMatrix {
            sockets: tally.sockets,
            ..WorkloadMatrix::default()
        };
        let mut rows: BTreeMap<String, (Arc<Workload>, StateRow)> = BTreeMap::new();
        let mut add = |m: &mut WorkloadMatrix, w: Arc<Workload>, counts: &StateRow| match w.key(by)
        {
            Some(key) => rows
                .entry(key)
                .or_insert_with(|| (w, StateRow::default()))
                .1
                .merge(counts),
            None => m.ungrouped.merge(counts),
        };
        // Ids in order, so that which workload represents a group does not depend on hashing.
        let mut ids: Vec<(&u64, &StateRow)> = tally.by_id.iter().collect();
        ids.sort_unstable_by_key(|(id, _)| **id);
        for (&id, counts) in ids {
            add(&mut m, of_id(id), counts);
        }
        for &(inode, state) in &tally.no_id {
            let mut one = StateRow::default();
            one.add(state);
            match of_inode(inode) {
                Some(w) => add(&mut m, w, &one),
                None => m.unattributed.merge(&one),
            }
        }
        let by_port = port_claims(listeners);
        let mut ports: Vec<(&u16, &StateRow)> = tally.minisockets.iter().collect();
        ports.sort_unstable_by_key(|(port, _)| **port);
        for (port, counts) in ports {
            let owner = by_port.get(port).and_then(|l| {
                if l.cgroup_id != 0 {
                    Some(of_id(l.cgroup_id))
                } else {
                    of_inode(l.inode)
                }
            });
            match owner {
                Some(w) => add(&mut m, w, counts),
                None => m.unattributed.merge(counts),
            }
        }
        m.rows = rows
            .into_iter()
            .map(|(key, (workload, counts))| WorkloadRow {
                netns,
                key,
                workload,
                counts,
            })
            .collect();
        m.sort();
        m
    }

    /// Several namespaces' matrices in one (`--all-netns`): rows keep their namespace.
    pub fn merge(parts: impl IntoIterator<Item = WorkloadMatrix>) -> WorkloadMatrix {
        let mut all = WorkloadMatrix::default();
        for part in parts {
            all.rows.extend(part.rows);
            all.unattributed.merge(&part.unattributed);
            all.ungrouped.merge(&part.ungrouped);
            all.sockets += part.sockets;
        }
        all.sort();
        all
    }

    fn sort(&mut self) {
        self.rows.sort_by(|a, b| {
            b.counts
                .total()
                .cmp(&a.counts.total())
                .then_with(|| a.key.cmp(&b.key))
                .then(a.netns.cmp(&b.netns))
        });
    }

    /// The rows after the first `top`, summed (the `other` of metrics), and how many.
    pub fn rest(&self, top: usize) -> (StateRow, usize) {
        let mut sum = StateRow::default();
        for row in self.rows.iter().skip(top) {
            sum.merge(&row.counts);
        }
        (sum, self.rows.len().saturating_sub(top))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, KernelState, TcpState};

    fn sock(state: TcpState, port: u16, cgroup: u64, inode: u64) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(state));
        r.local_port = port;
        r.cgroup_id = cgroup;
        r.inode = inode;
        r
    }

    fn build(
        records: &[SocketRecord],
        listeners: &[SocketRecord],
        by: WorkloadBy,
    ) -> WorkloadMatrix {
        let mut tally = CgroupTally::default();
        for r in records {
            tally.record(r);
        }
        let paths: HashMap<u64, &str> = [
            (10, "/system.slice/nginx.service"),
            (11, "/system.slice/redis.service"),
        ]
        .into();
        WorkloadMatrix::build(
            0,
            &tally,
            listeners,
            by,
            &mut |id| {
                Arc::new(Workload::from_path(
                    paths.get(&id).copied().unwrap_or("/unknown"),
                ))
            },
            &mut |inode| {
                (inode == 77).then(|| Arc::new(Workload::from_path("/system.slice/redis.service")))
            },
        )
    }

    #[test]
    fn every_socket_lands_in_exactly_one_row() {
        let listeners = [sock(TcpState::Listen, 80, 10, 1)];
        let records = [
            listeners[0],
            sock(TcpState::Established, 80, 10, 2),
            sock(TcpState::CloseWait, 6379, 11, 3),
            // A TIME_WAIT on nginx's port: nginx's.
            sock(TcpState::TimeWait, 80, 0, 0),
            // A client's TIME_WAIT on an ephemeral port: nobody's.
            sock(TcpState::TimeWait, 40000, 0, 0),
            // /proc: no id, owner known / not found.
            sock(TcpState::Established, 5000, 0, 77),
            sock(TcpState::Established, 5001, 0, 78),
        ];
        let m = build(&records, &listeners, WorkloadBy::Cgroup);
        let total: u64 = m.rows.iter().map(|r| r.counts.total()).sum::<u64>()
            + m.unattributed.total()
            + m.ungrouped.total();
        assert_eq!(total, records.len() as u64);
        assert_eq!(m.sockets, records.len() as u64);
        let nginx = m
            .rows
            .iter()
            .find(|r| r.key == "/system.slice/nginx.service")
            .expect("nginx row");
        assert_eq!(nginx.counts.get(TcpState::TimeWait), 1);
        assert_eq!(nginx.counts.total(), 3);
        let redis = m
            .rows
            .iter()
            .find(|r| r.key == "/system.slice/redis.service")
            .expect("redis row");
        assert_eq!(
            redis.counts.total(),
            2,
            "its CLOSE_WAIT and the /proc socket of its owner"
        );
        assert_eq!(m.unattributed.get(TcpState::TimeWait), 1);
        assert_eq!(m.unattributed.get(TcpState::Established), 1);
        assert_eq!(
            m.rows[0].key, "/system.slice/nginx.service",
            "largest first"
        );
    }

    #[test]
    fn merged_namespaces_keep_their_rows() {
        let a = build(
            &[sock(TcpState::Established, 1, 10, 1)],
            &[],
            WorkloadBy::Cgroup,
        );
        let mut b = build(
            &[sock(TcpState::Established, 1, 10, 1)],
            &[],
            WorkloadBy::Cgroup,
        );
        b.rows[0].netns = 5;
        let m = WorkloadMatrix::merge([a, b]);
        assert_eq!(m.rows.len(), 2);
        assert_eq!(m.sockets, 2);
        let (rest, n) = m.rest(1);
        assert_eq!((rest.total(), n), (1, 1));
    }
}
