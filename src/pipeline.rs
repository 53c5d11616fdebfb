//! The one pipeline: a [`Plan`] run over a set of network namespaces.
//!
//! Owns: reading each namespace the way the plan asks (listening sockets first when it wants
//! them, then the sockets, from the same source), the one owner walk of a run (socket inodes
//! are unique on the host, so one walk finds the owners of every namespace's sockets,
//! including owners that live in another namespace), the owner filters (`--pid`,
//! `--process`: applied here and nowhere else), skipping a namespace that cannot be entered,
//! and merging what each namespace's read said into one [`Outcome`]. Every subcommand, `watch`
//! each tick and `serve` each scrape run through here; tcpstat's own namespace is a set of
//! one.
//!
//! It reads the kernel only through `collect` and knows nothing of what is counted: the
//! caller gives a [`Sink`] per namespace (a census, a port matrix, a snapshot), built from
//! what the pipeline learned of the namespace first ([`Context`]).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::collect::workloads::Resolver;
use crate::collect::{self, netns, owners, Reader, Target};
use crate::error::Error;
use crate::model::kernel::DEFAULT_EPHEMERAL_PORTS;
use crate::model::netns::{NetnsEntry, NetnsView, Scope};
use crate::model::workload::WorkloadKind;
use crate::model::{
    CgroupMatch, Detailed, Filter, KernelFacts, Listeners, Namespace, NetnsRequest, Outcome,
    OwnerMap, OwnerWalk, Plan, Sink, Snapshot, SocketDetail, SocketRecord, SourceKind, StateRow,
    StateSet, TcpState,
};

/// What a namespace's sink is built from: what was read before its sockets.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The namespace (`None`: tcpstat's own, not asked for).
    pub netns: Option<&'a Namespace>,
    /// Every listening socket of the families read, whatever the other filters
    /// ([`Listeners::All`]); empty otherwise.
    pub listeners: &'a [SocketRecord],
    /// Their ports: a connection to or from one of them is on the service side there.
    pub listening: &'a HashSet<u16>,
    /// `net.ipv4.ip_local_port_range` of the namespace when the plan reads it (else the
    /// kernel's default): outgoing connections take their local port from it.
    pub ephemeral: (u16, u16),
    /// `net.ipv4.ip_local_port_range` as read (`None`: not asked for, or unreadable).
    pub port_range: Option<(u16, u16)>,
    /// The owners found, when they decide what is counted (owner filters): the sink is then
    /// built after the owner walk.
    pub owners: Option<&'a OwnerMap>,
}

impl<'a> Context<'a> {
    /// The listening sockets the filter selects: those matching its address, port and user
    /// filters whatever their state, and, with owner filters, held by a process that passes
    /// them. The one rule for which listeners a report shows (`ports`, metrics, `doctor`).
    pub fn selected_listeners<'f>(
        &self,
        filter: &'f Filter,
    ) -> impl Iterator<Item = &'a SocketRecord> + 'f
    where
        'a: 'f,
    {
        let rows = Filter {
            states: StateSet::ALL,
            ..filter.clone()
        };
        let owners = self.owners;
        self.listeners
            .iter()
            .filter(move |r| rows.matches(r))
            .filter(move |r| !filter.needs_owners() || owned(filter, owners, r))
    }
}

/// What reading one namespace gave.
#[derive(Debug)]
pub struct Read<P> {
    /// The caller's sink, filled.
    pub part: P,
    pub outcome: Outcome,
    /// Every listening socket of the families read ([`Listeners::All`]), unfiltered.
    pub listeners: Vec<SocketRecord>,
    pub listening: HashSet<u16>,
    pub ephemeral: (u16, u16),
    /// `net.ipv4.ip_local_port_range` as read (`None`: not asked for, or unreadable).
    pub port_range: Option<(u16, u16)>,
    /// With [`Plan::kernel_facts`].
    pub facts: Option<KernelFacts>,
}

/// One namespace of a run: read, or skipped with why.
#[derive(Debug)]
pub struct NamespaceRead<P> {
    /// `None`: tcpstat's own, not asked for.
    pub netns: Option<Namespace>,
    pub read: Result<Read<P>, String>,
}

/// Everything one run of the pipeline read.
#[derive(Debug)]
pub struct Collection<P> {
    /// `--all-netns`: each row says its namespace, and each namespace's problems are said
    /// under its name.
    pub per_row: bool,
    /// Whether namespaces were asked for at all (outputs then say which were read).
    pub asked: bool,
    pub namespaces: Vec<NamespaceRead<P>>,
    /// The owners of the sockets the parts asked about ([`Plan::walks_owners`]).
    pub owners: Option<OwnerMap>,
    /// Namespaces that may be missing (processes whose namespace could not be read).
    pub missing: Vec<String>,
    /// What the owner walk could not see.
    pub notes: Vec<String>,
}

impl<P> Collection<P> {
    /// The namespaces that were read, with what reading them gave.
    pub fn reads(&self) -> impl Iterator<Item = (Option<&Namespace>, &Read<P>)> + '_ {
        self.namespaces
            .iter()
            .filter_map(|n| n.read.as_ref().ok().map(|r| (n.netns.as_ref(), r)))
    }

    /// The filled sinks of the namespaces read.
    pub fn parts(&self) -> impl Iterator<Item = &P> + '_ {
        self.reads().map(|(_, r)| &r.part)
    }

    /// The filled sinks, taken.
    pub fn into_parts(self) -> impl Iterator<Item = (Option<Namespace>, P)> {
        self.namespaces
            .into_iter()
            .filter_map(|n| n.read.ok().map(|r| (n.netns, r.part)))
    }

    /// The same collection with each read namespace's part turned into another by `f` (which
    /// may take what it needs out of the read).
    pub fn map<Q>(self, mut f: impl FnMut(Option<&Namespace>, &mut Read<P>) -> Q) -> Collection<Q> {
        Collection {
            per_row: self.per_row,
            asked: self.asked,
            namespaces: self
                .namespaces
                .into_iter()
                .map(|n| {
                    let read = n.read.map(|mut read| {
                        let part = f(n.netns.as_ref(), &mut read);
                        Read {
                            part,
                            outcome: read.outcome,
                            listeners: read.listeners,
                            listening: read.listening,
                            ephemeral: read.ephemeral,
                            port_range: read.port_range,
                            facts: read.facts,
                        }
                    });
                    NamespaceRead {
                        netns: n.netns,
                        read,
                    }
                })
                .collect(),
            owners: self.owners,
            missing: self.missing,
            notes: self.notes,
        }
    }

    /// The metric label (`netns`) of each namespace read, by tag, except tcpstat's own: its
    /// series carry no such label.
    pub fn metric_labels(&self) -> HashMap<u64, String> {
        self.reads()
            .filter_map(|(netns, _)| netns.filter(|ns| !ns.current))
            .map(|ns| (ns.inode, ns.metric_label()))
            .collect()
    }

    /// The metric label of the one namespace asked for (`--netns`, `--netns-pid`), unless it
    /// is tcpstat's own: what every series of a report about it carries.
    pub fn one_metric_label(&self) -> Option<String> {
        if self.per_row {
            return None;
        }
        self.namespaces
            .first()
            .and_then(|n| n.netns.as_ref())
            .filter(|ns| !ns.current)
            .map(|ns| ns.metric_label())
    }

    /// The tag of a namespace's sockets ([`SocketRecord::netns`]): its inode, 0 for
    /// tcpstat's own unnamed one.
    pub fn tag(netns: Option<&Namespace>) -> u64 {
        netns.map_or(0, |ns| ns.inode)
    }

    /// One outcome for the run. One namespace: its own, with what the owner walk could not
    /// see. Several: /proc if any was read from /proc (it sees less), what every namespace
    /// said alike once, each namespace's other warnings under its label, skipped ones as
    /// warnings, incomplete when anything was.
    pub fn outcome(&self) -> Outcome {
        if !self.per_row {
            if let Some(Ok(read)) = self.namespaces.first().map(|n| &n.read) {
                let mut outcome = read.outcome.clone();
                outcome.warnings.extend(self.notes.iter().cloned());
                return outcome;
            }
        }
        let mut merged = Outcome {
            source: SourceKind::Netlink,
            covers: StateSet::ALL,
            fallback_reason: None,
            warnings: self.missing.clone(),
            complete: self.missing.is_empty(),
        };
        // A warning every namespace gave alike (a --state the source cannot see) is said
        // once, not once per namespace.
        let read: Vec<&Outcome> = self.reads().map(|(_, r)| &r.outcome).collect();
        let everywhere: Vec<&String> = match read.split_first() {
            Some((first, rest)) if !rest.is_empty() => first
                .warnings
                .iter()
                .filter(|w| rest.iter().all(|o| o.warnings.contains(w)))
                .collect(),
            _ => Vec::new(),
        };
        merged
            .warnings
            .extend(everywhere.iter().map(|w| w.to_string()));
        for n in &self.namespaces {
            let label = n.netns.as_ref().map_or("own", |ns| ns.label.as_str());
            match &n.read {
                Ok(read) => {
                    let outcome = &read.outcome;
                    if outcome.source == SourceKind::Proc {
                        merged.source = SourceKind::Proc;
                    }
                    merged.covers = merged.covers.intersect(outcome.covers);
                    if let (None, Some(reason)) =
                        (&merged.fallback_reason, &outcome.fallback_reason)
                    {
                        merged.fallback_reason = Some(format!("netns {label}: {reason}"));
                    }
                    merged.complete &= outcome.complete;
                    merged.warnings.extend(
                        outcome
                            .warnings
                            .iter()
                            .filter(|w| !everywhere.contains(w))
                            .map(|w| format!("netns {label}: {w}")),
                    );
                }
                Err(why) => {
                    merged.complete = false;
                    merged
                        .warnings
                        .push(format!("network namespace {label} skipped: {why}"));
                }
            }
        }
        merged.warnings.extend(self.notes.iter().cloned());
        merged
    }

    /// The namespaces an output covers, each with its counted sockets (`counts` of its part);
    /// empty when none was asked for.
    pub fn view(&self, counts: impl Fn(&P) -> StateRow) -> NetnsView<'_> {
        if !self.asked {
            return NetnsView::default();
        }
        NetnsView {
            entries: self
                .namespaces
                .iter()
                .filter_map(|n| {
                    let ns = n.netns.as_ref()?;
                    Some(NetnsEntry {
                        ns,
                        skipped: n.read.as_ref().err().cloned(),
                        // One namespace asked for: its counts are the output's own.
                        counts: match &n.read {
                            Ok(read) if self.per_row => Some(counts(&read.part)),
                            _ => None,
                        },
                    })
                })
                .collect(),
            per_row: self.per_row,
        }
    }
}

/// The processes the owner walk could not read that the owner filters (`--pid`,
/// `--process`) may select: their pid is selected (or no `--pid` was given) and their command
/// name, which anyone can read, matches (or no `--process` was given). Unreadable processes
/// the filters rule out by pid or name cannot hide a selected socket.
fn unseen_owners(plan: &Plan, owners: &OwnerMap) -> Vec<(u32, String)> {
    owners
        .unreadable_pids()
        .iter()
        .filter(|pid| plan.filter.pids.is_empty() || plan.filter.pids.contains(pid))
        .filter_map(|&pid| {
            let command = collect::owners::command_of(&plan.proc_root, pid)?;
            plan.filter
                .matches_owner(pid, &command)
                .then_some((pid, command))
        })
        .collect()
}

/// What the owner filters could not see, in one warning.
fn blind_note(blind: &[(u32, String)], owners: &OwnerMap) -> String {
    let shown: Vec<String> = blind
        .iter()
        .take(5)
        .map(|(pid, command)| format!("{pid} {command}"))
        .collect();
    let more = blind.len().saturating_sub(shown.len());
    format!(
        "{} process(es) the owner filters select could not be read ({}): the sockets they hold \
         are not counted: {}{}",
        blind.len(),
        owners.stats().hidden_reason(),
        shown.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// Whether `r` is held by a process that passes the owner filters.
fn owned(filter: &Filter, owners: Option<&OwnerMap>, r: &SocketRecord) -> bool {
    owners.is_some_and(|map| {
        map.owner_processes(r.inode)
            .any(|p| filter.matches_owner(p.pid, &p.command))
    })
}

/// The readers of a run, kept between runs by `watch` and `serve` (one netlink socket per
/// namespace), and the run's namespaces found again each time: they come and go.
#[derive(Default)]
pub struct Readers {
    readers: HashMap<u64, Reader>,
    /// Short of descriptors (`ulimit -n` below the number of namespaces): keep no socket
    /// between reads.
    transient: bool,
    /// Where to name the workload holding each namespace `--all-netns` finds: the proc and
    /// host roots (see [`Readers::naming_workloads`]), and the resolver, made at the first
    /// such run (a run of one namespace never reads the cgroup hierarchy for it).
    workload_roots: Option<(PathBuf, PathBuf)>,
    workloads: Option<Resolver>,
}

impl Readers {
    /// The namespaces `request` names now (found again for each run of `watch` and `serve`:
    /// they come and go). Out of descriptors while discovering every namespace, the kept
    /// sockets are closed and it is tried once more.
    pub fn resolve(&mut self, request: &NetnsRequest, proc_root: &Path) -> Result<Scope, Error> {
        let mut scope = match netns::resolve(request, proc_root) {
            Err(e) if e.is_out_of_descriptors() && !self.transient => {
                self.go_transient();
                netns::resolve(request, proc_root)
            }
            found => found,
        }?;
        if let (Scope::All(found), Some((proc_root, host_root))) =
            (&mut scope, &self.workload_roots)
        {
            let resolver = self
                .workloads
                .get_or_insert_with(|| Resolver::new(proc_root, host_root));
            resolver.refresh();
            for ns in &mut found.namespaces {
                let Some(member) = &ns.process else { continue };
                ns.workload = resolver
                    .of_pid(member.pid)
                    .filter(|w| {
                        matches!(
                            w.kind(),
                            WorkloadKind::Pod
                                | WorkloadKind::Container
                                | WorkloadKind::Service
                                | WorkloadKind::UserService
                        )
                    })
                    .map(|w| w.name());
                ns.relabel();
            }
        }
        Ok(scope)
    }

    /// Readers whose `--all-netns` namespaces are labelled with the workload (container,
    /// pod, service) of a process in them, its names read under `host_root`.
    pub fn naming_workloads(proc_root: &Path, host_root: &Path) -> Readers {
        Readers {
            workload_roots: Some((proc_root.to_path_buf(), host_root.to_path_buf())),
            ..Readers::default()
        }
    }

    /// Closes every kept socket, and keeps none from now on.
    fn go_transient(&mut self) {
        self.transient = true;
        for reader in self.readers.values_mut() {
            reader.release();
        }
    }

    /// The reader of `netns`, reading from `plan`'s source.
    fn reader(&mut self, netns: Option<&Namespace>, plan: &Plan) -> &mut Reader {
        let key = Collection::<()>::tag(netns);
        let reader = self.readers.entry(key).or_insert_with(|| {
            Reader::new(Target {
                choice: plan.source,
                proc_root: plan.proc_root.clone(),
                netns: netns.cloned(),
            })
        });
        if let Some(ns) = netns {
            // The same namespace found again, perhaps with another process in it.
            reader.retarget(ns.clone());
        }
        reader
    }

    /// Forgets the readers of namespaces that are gone.
    fn keep_only(&mut self, scope: &Scope) {
        let present: HashSet<u64> = scope
            .targets()
            .into_iter()
            .map(Collection::<()>::tag)
            .collect();
        self.readers.retain(|key, _| present.contains(key));
    }
}

/// Runs `plan` over the namespaces of `scope` ([`Readers::resolve`]), filling one sink per
/// namespace, built by `make` from what was read before its sockets.
///
/// With owner filters, each namespace's sockets are held until the one owner walk is done,
/// and only those held by a matching process reach its sink.
pub fn run<P: Sink>(
    plan: &Plan,
    scope: &Scope,
    readers: &mut Readers,
    mut make: impl FnMut(&Context<'_>) -> P,
) -> Result<Collection<P>, Error> {
    let single = scope.targets().len() == 1;
    let filtering = plan.filter.needs_owners();
    // Owner filters: every socket held, then filtered; otherwise each part is filled as its
    // sockets are read.
    let mut read_all = |readers: &mut Readers| {
        read_each(plan, scope, readers, |ctx, read| {
            if filtering {
                let mut held = Held::Snapshot(Detailed::default());
                read(&mut held, false).map(|outcome| (held, outcome))
            } else {
                let mut part = make_part(&mut make, ctx);
                read(&mut part, single).map(|outcome| (part, outcome))
            }
        })
    };
    let (namespaces, owners) = if plan.walks_owners() {
        walk_owners(plan, readers, read_all)?
    } else {
        (read_all(readers)?, None)
    };
    readers.keep_only(scope);
    let mut collection = Collection {
        per_row: matches!(scope, Scope::All(_)),
        asked: !matches!(scope, Scope::Own),
        namespaces: Vec::with_capacity(namespaces.len()),
        owners,
        missing: missing(scope),
        notes: Vec::new(),
    };
    let mut blind = false;
    if let Some(map) = &collection.owners {
        if filtering {
            // An owner filter that could not see a process it might select cannot say how many
            // sockets that process holds: the numbers are incomplete, and say why. Processes
            // it rules out by pid or name do not matter (their sockets are not counted
            // anyway), so the walk's general warnings are not said.
            let unseen = unseen_owners(plan, map);
            if !unseen.is_empty() {
                collection.notes.push(blind_note(&unseen, map));
                blind = true;
            }
        } else {
            collection.notes = map.stats().warnings();
        }
    }
    for n in namespaces {
        let read = n.read.map(|read| {
            let part = match read.part {
                Held::Part(part) => part,
                Held::Snapshot(records) => {
                    let ctx = Context {
                        netns: n.netns.as_ref(),
                        listeners: &read.listeners,
                        listening: &read.listening,
                        ephemeral: read.ephemeral,
                        port_range: read.port_range,
                        owners: collection.owners.as_ref(),
                    };
                    let mut part = make(&ctx);
                    let owners = collection.owners.as_ref();
                    for (r, detail) in records.records.iter().zip(&records.details) {
                        if !owned(&plan.filter, owners, r) {
                            continue;
                        }
                        match detail {
                            Some(detail) => part.record_detail(r, detail),
                            None => part.record(r),
                        }
                    }
                    part
                }
            };
            let mut outcome = read.outcome;
            outcome.complete &= !blind;
            Read {
                part,
                outcome,
                listeners: read.listeners,
                listening: read.listening,
                ephemeral: read.ephemeral,
                port_range: read.port_range,
                facts: read.facts,
            }
        });
        collection.namespaces.push(NamespaceRead {
            netns: n.netns,
            read,
        });
    }
    Ok(collection)
}

/// How [`stream`] hands a namespace over: its context, and the function that streams its
/// sockets into a sink.
pub type Streamer<'s> = dyn FnMut(&mut dyn Sink) -> Result<Outcome, Error> + 's;

/// Runs `plan` over the namespaces of `scope`, streaming every namespace's sockets, in order,
/// into the sink `each` hands to the [`Streamer`] it is given (`list`, written as the kernel
/// hands sockets over). No owner walk: a plan that needs one goes through [`run`].
pub fn stream(
    plan: &Plan,
    scope: &Scope,
    readers: &mut Readers,
    mut each: impl FnMut(&Context<'_>, &mut Streamer<'_>) -> Result<Outcome, Error>,
) -> Result<Collection<()>, Error> {
    debug_assert!(!plan.walks_owners(), "stream() cannot walk owners");
    let namespaces = read_each(plan, scope, readers, |ctx, read| {
        each(ctx, &mut |sink| read(sink, false)).map(|outcome| ((), outcome))
    })?;
    readers.keep_only(scope);
    Ok(Collection {
        per_row: matches!(scope, Scope::All(_)),
        asked: !matches!(scope, Scope::Own),
        namespaces,
        owners: None,
        missing: missing(scope),
        notes: Vec::new(),
    })
}

/// What `--all-netns` may be missing: namespaces only unreadable processes are in.
fn missing(scope: &Scope) -> Vec<String> {
    match scope {
        Scope::All(found) if found.processes_unreadable > 0 => vec![format!(
            "the network namespace of {} process(es) could not be read (another user's \
             processes need root; a sandbox or LSM can refuse even root): a namespace only \
             they are in is missing",
            found.processes_unreadable
        )],
        _ => Vec::new(),
    }
}

/// A namespace's sink, or its sockets held until the owner walk (owner filters).
enum Held<P> {
    Part(P),
    /// With the details the plan asked for, if any, to hand over with each socket.
    Snapshot(Detailed),
}

impl<P: Sink> Sink for Held<P> {
    fn record(&mut self, record: &SocketRecord) {
        match self {
            Held::Part(p) => p.record(record),
            Held::Snapshot(s) => s.record(record),
        }
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        match self {
            Held::Part(p) => p.record_detail(record, detail),
            Held::Snapshot(s) => s.record_detail(record, detail),
        }
    }

    fn reset(&mut self) -> bool {
        match self {
            Held::Part(p) => p.reset(),
            Held::Snapshot(s) => s.reset(),
        }
    }

    fn counts_mut(&mut self) -> Option<&mut crate::model::StateCounts> {
        match self {
            Held::Part(p) => p.counts_mut(),
            Held::Snapshot(_) => None,
        }
    }

    fn aside(&self) -> Option<Box<dyn crate::model::sink::AsideSink>> {
        match self {
            Held::Part(p) => p.aside(),
            Held::Snapshot(_) => None,
        }
    }

    fn absorb(&mut self, aside: Box<dyn crate::model::sink::AsideSink>) {
        if let Held::Part(p) = self {
            p.absorb(aside);
        }
    }

    fn owners_wanted(&self, wanted: &mut HashSet<u64>) {
        match self {
            Held::Part(p) => p.owners_wanted(wanted),
            Held::Snapshot(s) => s.owners_wanted(wanted),
        }
    }
}

fn make_part<P>(make: &mut impl FnMut(&Context<'_>) -> P, ctx: &Context<'_>) -> Held<P> {
    Held::Part(make(ctx))
}

/// Reads every namespace with the owner walk running alongside (every socket's owners, or
/// owner filters), or after it (the owners the parts ask about).
type Namespaces<H> = Vec<NamespaceRead<H>>;

fn walk_owners<H: Sink>(
    plan: &Plan,
    readers: &mut Readers,
    read_all: impl FnOnce(&mut Readers) -> Result<Namespaces<H>, Error>,
) -> Result<(Namespaces<H>, Option<OwnerMap>), Error> {
    let wanted = |namespaces: &Namespaces<H>| {
        let mut wanted = HashSet::new();
        for read in namespaces.iter().filter_map(|n| n.read.as_ref().ok()) {
            read.part.owners_wanted(&mut wanted);
            let no_cgroup = plan.owners == OwnerWalk::NoCgroup;
            wanted.extend(
                read.listeners
                    .iter()
                    .filter(|l| !no_cgroup || l.cgroup_id == 0)
                    .map(|l| l.inode),
            );
        }
        wanted.remove(&0);
        wanted
    };
    if matches!(plan.owners, OwnerWalk::Wanted | OwnerWalk::NoCgroup) && !plan.filter.needs_owners()
    {
        let namespaces = read_all(readers)?;
        let map = owners::scan(&plan.proc_root, &wanted(&namespaces))?;
        return Ok((namespaces, Some(map)));
    }
    let (namespaces, map) = owners::scan_alongside(&plan.proc_root, || {
        let namespaces = read_all(readers)?;
        let wanted = wanted(&namespaces);
        Ok((namespaces, wanted))
    })?;
    Ok((namespaces, Some(map)))
}

/// Reads each namespace of `scope`: its listening sockets first when the plan wants them,
/// its settings, then its sockets through `fill`, which is given the namespace's context and
/// a function that streams the sockets into a sink (`split`: on two threads if it can).
///
/// A namespace that cannot be found, opened or entered is skipped under `--all-netns`; when
/// there are namespaces besides tcpstat's own and every one of them was refused for lack of
/// privilege, the run fails with the first refusal (it names the namespace and the
/// capability). Any other error ends the run.
fn read_each<H>(
    plan: &Plan,
    scope: &Scope,
    readers: &mut Readers,
    mut fill: impl FnMut(
        &Context<'_>,
        &mut dyn FnMut(&mut dyn Sink, bool) -> Result<Outcome, Error>,
    ) -> Result<(H, Outcome), Error>,
) -> Result<Namespaces<H>, Error> {
    let all = matches!(scope, Scope::All(_));
    let mut out = Vec::new();
    let mut refused: Option<Error> = None;
    let mut entered_other = false;
    for netns in scope.targets() {
        let mut result = read_one(plan, netns, readers, &mut fill);
        if all && matches!(&result, Err(e) if e.is_out_of_descriptors()) && !readers.transient {
            readers.go_transient();
            result = read_one(plan, netns, readers, &mut fill);
        }
        if readers.transient {
            readers.reader(netns, plan).release();
        }
        let read = match result {
            Ok(read) => {
                entered_other |= netns.is_some_and(|ns| !ns.current);
                Ok(read)
            }
            Err(e) if all && e.is_out_of_descriptors() => Err("cannot open a socket to read it \
                (out of file descriptors: raise `ulimit -n`)"
                .to_string()),
            // Read through a process of it (/proc/PID/net/tcp) that exited meanwhile: the
            // namespace is probably gone with it; one container stopping must not fail the run.
            Err(e) if all && vanished(&e) => Err(format!(
                "its process exited while it was read ({})",
                e.report()
            )),
            Err(e @ Error::Netns { .. }) if all => {
                let why = skip_reason(&e);
                if netns::is_permission_error(&e) && refused.is_none() {
                    refused = Some(e);
                }
                Err(why)
            }
            Err(e) => return Err(e),
        };
        out.push(NamespaceRead {
            netns: netns.cloned(),
            read,
        });
    }
    if let (Some(first), false) = (refused, entered_other) {
        return Err(first);
    }
    Ok(out)
}

/// Reads one namespace (see [`read_each`]).
fn read_one<H>(
    plan: &Plan,
    netns: Option<&Namespace>,
    readers: &mut Readers,
    fill: &mut impl FnMut(
        &Context<'_>,
        &mut dyn FnMut(&mut dyn Sink, bool) -> Result<Outcome, Error>,
    ) -> Result<(H, Outcome), Error>,
) -> Result<Read<H>, Error> {
    let reader = readers.reader(netns, plan);
    let mut choice = plan.source;
    let mut first: Option<Outcome> = None;
    let mut listeners = Vec::new();
    // A workload filter needs the listeners too: they claim the minisockets on their ports.
    if plan.listeners != Listeners::None || plan.filter.cgroups.is_some() {
        let listen = Filter {
            states: StateSet::of(TcpState::Listen),
            families: plan.filter.families.clone(),
            ..Filter::default()
        };
        let mut snap = Snapshot::default();
        let outcome = reader.read(&listen, &mut snap, false)?;
        // The sockets come from the source the listeners came from: the two never mix.
        choice = outcome.source.only();
        listeners = snap.0;
        first = Some(outcome);
    }
    let facts = plan
        .kernel_facts
        .then(|| collect::kernel::read_for(&plan.proc_root, netns));
    let port_range = match &facts {
        Some(facts) => facts.sysctls.ip_local_port_range,
        None if plan.port_range => collect::kernel::local_port_range(&plan.proc_root, netns),
        None => None,
    };
    let ephemeral = port_range.unwrap_or(DEFAULT_EPHEMERAL_PORTS);
    if let (Some(first), Some(cgroups)) = (&first, &plan.filter.cgroups) {
        if first.source == SourceKind::Proc && !cgroups.by_inode {
            return Err(Error::NeedsCgroupIds {
                what: "--cgroup/--workload",
                reason: first.fallback_reason.clone(),
            });
        }
    }
    let filter = cgroup_scoped(&plan.filter, &listeners);
    if plan.listeners == Listeners::None {
        listeners.clear();
    }
    let listening: HashSet<u16> = listeners.iter().map(|r| r.local_port).collect();
    let ctx = Context {
        netns,
        listeners: &listeners,
        listening: &listening,
        ephemeral,
        port_range,
        owners: None,
    };
    let (part, mut outcome) = fill(&ctx, &mut |sink, split| {
        reader.read_from(
            choice,
            &filter,
            plan.extensions,
            sink,
            split.then_some(ephemeral),
        )
    })?;
    if let Some(first) = first {
        // Said once, by the first pass, which made the choice.
        outcome.fallback_reason = first.fallback_reason;
    }
    Ok(Read {
        part,
        outcome,
        listeners,
        listening,
        ephemeral,
        port_range,
        facts,
    })
}

/// The filter for one namespace: with a workload filter (`--cgroup`, `--workload`), the
/// ports its cgroups listen on there, which claim the minisockets (no cgroup of their own).
fn cgroup_scoped<'f>(filter: &'f Filter, listeners: &[SocketRecord]) -> Cow<'f, Filter> {
    let Some(cgroups) = &filter.cgroups else {
        return Cow::Borrowed(filter);
    };
    let ports = listeners
        .iter()
        .filter(|l| {
            cgroups.ids.contains(&l.cgroup_id)
                || (l.cgroup_id == 0 && cgroups.inodes.contains(&l.inode))
        })
        .map(|l| l.local_port)
        .collect();
    Cow::Owned(Filter {
        cgroups: Some(CgroupMatch {
            ports: Arc::new(ports),
            ..cgroups.clone()
        }),
        ..filter.clone()
    })
}

/// True when reading failed because a /proc file of a process vanished (`ENOENT`, `ESRCH`):
/// the process exited between discovery and the read.
fn vanished(e: &Error) -> bool {
    match e {
        Error::ProcRead { source, .. } => {
            source.kind() == std::io::ErrorKind::NotFound
                || source.raw_os_error() == Some(libc::ESRCH)
        }
        Error::BothSourcesFailed { proc, .. } => vanished(proc),
        _ => false,
    }
}

/// Why a namespace was skipped, without its label (outputs put the label next to it).
fn skip_reason(e: &Error) -> String {
    match e {
        Error::Netns {
            problem,
            source: Some(source),
            ..
        } => format!("{problem}: {source}"),
        Error::Netns { problem, .. } => problem.clone(),
        other => other.report(),
    }
}
