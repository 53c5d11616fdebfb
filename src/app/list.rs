//! `tcpstat list`: one row per socket, streamed as it is read unless rows must be sorted or
//! owners found.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use super::{report_warnings, scope};
use crate::aggregate::is_not_accepted;
use crate::cli::SortArg;
use crate::collect::host;
use crate::collect::users::Names;
use crate::collect::workloads::Resolver;
use crate::config::{Config, ListOptions};
use crate::error::Error;
use crate::model::workload::{claim, port_claims, Workload};
use crate::model::{
    Detailed, KernelState, Listeners, OwnerMap, OwnerWalk, Plan, Sink, SocketDetail, SocketRecord,
    StateRow, TcpState,
};
use crate::pipeline;
use crate::render::list::{ListEnd, ListStamp, ListWriter, OwnerRef, Owners};

pub fn run(
    config: &Config,
    options: &ListOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut users = Names::new();
    // When the listing was taken: before the first socket is read.
    let stamp = ListStamp {
        timestamp: super::now_rfc3339(),
        hostname: host::hostname(&config.proc_root),
    };
    let (scope, mut readers) = scope(config)?;
    let needs_owners =
        options.processes || options.sort == Some(SortArg::Pid) || config.filter.needs_owners();
    if !needs_owners && options.sort.is_none() && !options.workloads {
        // Each socket is written as the kernel hands it over. The NETNS column needs every
        // label before the first row; each namespace's counts are known after its last.
        let labels = scope.labels();
        let mut writer = ListWriter::with_detail(
            out,
            options.format,
            false,
            options.timers,
            false,
            options.detail,
            &labels,
            stamp,
        );
        let mut counted: HashMap<u64, StateRow> = HashMap::new();
        let plan = Plan {
            extensions: options.detail,
            ..config.plan()
        };
        let collection = pipeline::stream(&plan, &scope, &mut readers, |ctx, read| {
            let mut sink = ListSink::new(&mut writer, &mut users);
            let outcome = read(&mut sink);
            let tag = pipeline::Collection::<()>::tag(ctx.netns);
            counted.insert(tag, sink.counts);
            outcome
        })?;
        let outcome = collection.outcome();
        let mut view = collection.view(|()| StateRow::default());
        for entry in &mut view.entries {
            if let Some(counts) = &mut entry.counts {
                *counts = counted.get(&entry.ns.inode).copied().unwrap_or_default();
            }
        }
        writer.finish(ListEnd {
            outcome: &outcome,
            netns: &view,
        })?;
        report_warnings(&outcome, err)?;
        return Ok(());
    }
    // -W: the listeners claim the minisockets on their ports; owners stand in for cgroup ids
    // only where there are none (the /proc source).
    let plan = Plan {
        owners: if needs_owners {
            OwnerWalk::Every
        } else if options.workloads {
            OwnerWalk::NoCgroup
        } else {
            OwnerWalk::None
        },
        listeners: if options.workloads {
            Listeners::All
        } else {
            Listeners::None
        },
        extensions: options.detail,
        ..config.plan()
    };
    let mut collection = pipeline::run(&plan, &scope, &mut readers, |_| Detailed::default())?;
    let outcome = collection.outcome();
    report_warnings(&outcome, err)?;
    // The sockets and owners are moved out, not copied (a million records are ~100 MiB).
    let owners = collection.owners.take().unwrap_or_default();
    let mut records = Detailed::default();
    let collection = collection.map(|_, read| {
        let counts = StateRow::of(&read.part.records);
        if records.records.is_empty() {
            records = std::mem::take(&mut read.part);
        } else {
            records.records.append(&mut read.part.records);
            records.details.append(&mut read.part.details);
        }
        counts
    });
    let view = collection.view(|counts| *counts);
    let end = ListEnd {
        outcome: &outcome,
        netns: &view,
    };
    if !options.workloads {
        return write_list(records, &owners, options, stamp, end, &mut users, None, out);
    }
    let mut resolver = Resolver::new(&config.proc_root, &config.host_root);
    let claims: HashMap<u64, HashMap<u16, &SocketRecord>> = collection
        .reads()
        .map(|(netns, read)| {
            let tag = pipeline::Collection::<()>::tag(netns);
            (tag, port_claims(&read.listeners))
        })
        .collect();
    let none = HashMap::new();
    let mut workload_of = |r: &SocketRecord| -> Option<Arc<Workload>> {
        let claim = claim(r, claims.get(&r.netns).unwrap_or(&none));
        resolver.of_claim(claim, Some(&owners))
    };
    write_list(
        records,
        &owners,
        options,
        stamp,
        end,
        &mut users,
        Some(&mut workload_of),
        out,
    )?;
    // Said after the rows: the notes come from resolving them.
    for note in resolver.notes() {
        writeln!(
            err,
            "tcpstat: warning: {}",
            crate::render::text::escape(&note)
        )?;
    }
    Ok(())
}

/// A socket's workload, for `-W`.
type WorkloadOf<'f> = &'f mut dyn FnMut(&SocketRecord) -> Option<Arc<Workload>>;

/// Sorts (with `--sort`) and writes the sockets of `list`, with their owners (with `-p`) and
/// workloads (with `-W`).
#[allow(clippy::too_many_arguments)] // each is one column's source; a struct would only rename them
fn write_list(
    records: Detailed,
    owners: &OwnerMap,
    options: &ListOptions,
    stamp: ListStamp,
    end: ListEnd<'_>,
    users: &mut Names,
    mut workload_of: Option<WorkloadOf<'_>>,
    out: &mut dyn Write,
) -> Result<(), Error> {
    // Sorted by index, so each record keeps its detail.
    let Detailed { records, details } = records;
    let mut order: Vec<usize> = (0..records.len()).collect();
    if let Some(key) = options.sort {
        sort_records(&records, &mut order, key, owners);
    }
    let mut writer = ListWriter::with_detail(
        out,
        options.format,
        options.processes,
        options.timers,
        workload_of.is_some(),
        options.detail,
        end.netns,
        stamp,
    );
    let hidden_possible = owners.stats().unreadable() > 0;
    let mut refs: Vec<OwnerRef<'_>> = Vec::new();
    for i in order {
        let r = &records[i];
        if writer.failed() {
            break;
        }
        refs.clear();
        refs.extend(owners.owner_processes(r.inode).map(|p| OwnerRef {
            pid: p.pid,
            command: &p.command,
        }));
        let owner_column = if !options.processes {
            Owners::NotResolved
        } else if refs.is_empty() && r.inode != 0 && hidden_possible {
            Owners::Hidden
        } else if is_not_accepted(r) {
            Owners::NotAccepted
        } else {
            Owners::Found(&refs)
        };
        let workload = workload_of.as_mut().and_then(|f| f(r));
        let detail = details.get(i).and_then(|d| d.as_deref());
        writer.row_detailed(
            r,
            users.name(r.uid),
            owner_column,
            workload.as_deref(),
            detail,
        );
    }
    writer.finish(end)?;
    Ok(())
}

/// Streams rows of `list` straight to the writer, counting them by state (a namespace's
/// counts in JSON's `netns` with `--all-netns`).
struct ListSink<'a, 'w> {
    writer: &'a mut ListWriter<'w>,
    users: &'a mut Names,
    /// Rows the writer had written before this sink (earlier namespaces).
    before: u64,
    counts: StateRow,
}

impl<'a, 'w> ListSink<'a, 'w> {
    fn new(writer: &'a mut ListWriter<'w>, users: &'a mut Names) -> ListSink<'a, 'w> {
        let before = writer.rows();
        ListSink {
            writer,
            users,
            before,
            counts: StateRow::default(),
        }
    }
}

impl Sink for ListSink<'_, '_> {
    fn record(&mut self, record: &SocketRecord) {
        self.counts.add(record.state);
        self.writer
            .row(record, self.users.name(record.uid), Owners::NotResolved);
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        self.counts.add(record.state);
        self.writer.row_detailed(
            record,
            self.users.name(record.uid),
            Owners::NotResolved,
            None,
            Some(detail),
        );
    }

    fn reset(&mut self) -> bool {
        // Rows already written cannot be taken back: no fallback after the first row.
        let nothing_written = self.writer.rows() == self.before;
        if nothing_written {
            self.counts = StateRow::default();
        }
        nothing_written
    }
}

/// Orders `order` (indexes into `records`) by `key`.
fn sort_records(records: &[SocketRecord], order: &mut [usize], key: SortArg, owners: &OwnerMap) {
    let state_key = |r: &SocketRecord| match r.state {
        KernelState::Known(s) => s.index() as u16,
        KernelState::Unknown(v) => 100 + u16::from(v),
    };
    let at = |i: usize| &records[i];
    match key {
        SortArg::State => order.sort_by_key(|&i| {
            let r = at(i);
            (state_key(r), r.local, r.local_port)
        }),
        SortArg::Local => order.sort_by_key(|&i| {
            let r = at(i);
            (r.local, r.local_port, r.remote, r.remote_port)
        }),
        SortArg::Remote => order.sort_by_key(|&i| {
            let r = at(i);
            (r.remote, r.remote_port, r.local, r.local_port)
        }),
        SortArg::Port => order.sort_by_key(|&i| {
            let r = at(i);
            (r.local_port, r.local, r.remote, r.remote_port)
        }),
        SortArg::Pid => order.sort_by_key(|&i| {
            let r = at(i);
            // Sockets without an owner last.
            let pid = owners
                .owner_processes(r.inode)
                .next()
                .map_or(u32::MAX, |p| p.pid);
            (pid, r.local_port)
        }),
        SortArg::Queue => order.sort_by_key(|&i| {
            let r = at(i);
            // A listener's send_q is its configured backlog, not queued data.
            let listening = r.state == KernelState::Known(TcpState::Listen);
            let send = if listening { 0 } else { u64::from(r.send_q) };
            (std::cmp::Reverse(u64::from(r.recv_q) + send), r.local_port)
        }),
    }
}
