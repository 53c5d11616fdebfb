//! Network namespaces as outputs name them: identity, name, a process in it, a label.
//!
//! Owns: [`Namespace`], the identity of one network namespace once it is resolved (finding
//! and entering namespaces is `collect::netns`), and the labelling rule. No I/O.
//!
//! A namespace is identified by the inode of its nsfs file, as `ip netns identify` and `lsns`
//! do: `/proc/PID/ns/net` is a link to it and `/run/netns/NAME` a bind mount of it
//! (`ip netns add`).

use std::path::PathBuf;

use super::StateRow;

/// A process known to be in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub pid: u32,
    /// `/proc/PID/comm`, raw (escaping is the renderer's job).
    pub command: String,
}

/// One network namespace, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The nsfs inode: the namespace's identity.
    pub inode: u64,
    /// A file that refers to it; opened to enter it.
    pub path: PathBuf,
    /// Its name under /run/netns, if it has one.
    pub name: Option<String>,
    /// A process in it, when one is known (the lowest pid found): the /proc source reads that
    /// process's tables, and the label names its command.
    pub process: Option<Member>,
    /// tcpstat's own namespace: read without entering it.
    pub current: bool,
    /// The workload (container, pod, service) of `process`, when it has one (`--all-netns`):
    /// the label names it.
    pub workload: Option<String>,
    /// How outputs name it: the /run/netns name; else the path the user gave; else
    /// `ns:[INODE] (WORKLOAD: COMMAND)` or `ns:[INODE] (COMMAND)` after a process in it;
    /// else `ns:[INODE]`. Raw text (a command
    /// name comes from another user): renderers escape it.
    pub label: String,
}

impl Namespace {
    pub fn new(inode: u64, path: PathBuf, current: bool) -> Namespace {
        let mut ns = Namespace {
            inode,
            path,
            name: None,
            process: None,
            current,
            workload: None,
            label: String::new(),
        };
        ns.relabel();
        ns
    }

    /// How metrics label it (the `netns` label): its /run/netns name, else `ns:[INODE]` (the
    /// identity `lsns` and `/proc/PID/ns/net` show), else `pid:PID` for a namespace known
    /// only through a process whose `ns/net` could not be read. No command name: a label
    /// value must not change while the namespace lives.
    pub fn metric_label(&self) -> String {
        match (&self.name, &self.process) {
            (Some(name), _) => name.clone(),
            (None, Some(p)) if self.inode == UNKNOWN_INODE => format!("pid:{}", p.pid),
            _ => format!("ns:[{}]", self.inode),
        }
    }

    /// Sets [`Namespace::label`] from the name, the process and the inode.
    pub fn relabel(&mut self) {
        self.label = match (&self.name, &self.process) {
            (Some(name), _) => name.clone(),
            (None, Some(p)) if self.inode == UNKNOWN_INODE => {
                format!("netns of pid {} ({})", p.pid, p.command)
            }
            (None, Some(p)) => match &self.workload {
                Some(w) => format!("ns:[{}] ({w}: {})", self.inode, p.command),
                None => format!("ns:[{}] ({})", self.inode, p.command),
            },
            (None, None) => format!("ns:[{}]", self.inode),
        };
    }
}

/// [`Namespace::inode`] of a namespace known only through a process whose `ns/net` could not
/// be read (see `collect::netns::of_process`).
pub const UNKNOWN_INODE: u64 = 0;

/// Every network namespace of the host, as far as this process can see.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// tcpstat's own first, then named ones by name, then the others by inode.
    pub namespaces: Vec<Namespace>,
    /// Processes whose namespace could not be read (another user's, without root): a
    /// namespace only they are in is missing.
    pub processes_unreadable: u64,
}

/// The network namespaces one run reads.
#[derive(Debug, Clone)]
pub enum Scope {
    /// tcpstat's own, not asked for: outputs look as they always did (no namespace keys).
    Own,
    /// The one `--netns` or `--netns-pid` named.
    One(Namespace),
    /// Every one of the host (`--all-netns`): each row says its namespace.
    All(Discovery),
}

impl Scope {
    /// The namespaces to read, in order (`None`: tcpstat's own, unnamed).
    pub fn targets(&self) -> Vec<Option<&Namespace>> {
        match self {
            Scope::Own => vec![None],
            Scope::One(ns) => vec![Some(ns)],
            Scope::All(found) => found.namespaces.iter().map(Some).collect(),
        }
    }
}

impl Scope {
    /// The namespaces an output will cover, before any is read (labels only): for outputs
    /// that write rows as they are read and need every label first.
    pub fn labels(&self) -> NetnsView<'_> {
        let entry = |ns| NetnsEntry {
            ns,
            skipped: None,
            counts: None,
        };
        match self {
            Scope::Own => NetnsView::default(),
            Scope::One(ns) => NetnsView {
                entries: vec![entry(ns)],
                per_row: false,
            },
            Scope::All(found) => NetnsView {
                entries: found.namespaces.iter().map(entry).collect(),
                per_row: true,
            },
        }
    }
}

/// The network namespaces an output covers, when tcpstat was told which to read.
#[derive(Debug, Clone, Default)]
pub struct NetnsView<'a> {
    /// Every namespace read or skipped, in order; empty when tcpstat read its own namespace
    /// without being asked to (then outputs look exactly as they always did).
    pub entries: Vec<NetnsEntry<'a>>,
    /// `--all-netns`: each row says its namespace (a NETNS column, a `netns` key).
    pub per_row: bool,
}

/// One namespace of a [`NetnsView`].
#[derive(Debug, Clone)]
pub struct NetnsEntry<'a> {
    pub ns: &'a Namespace,
    /// Why it was not read (`--all-netns` skips what it cannot enter).
    pub skipped: Option<String>,
    /// Its sockets that were counted, by state; `None` when skipped.
    pub counts: Option<StateRow>,
}

impl NetnsView<'_> {
    /// The label of the namespace a row was tagged with ([`crate::model::SocketRecord::netns`]).
    pub fn label(&self, inode: u64) -> &str {
        self.entries
            .iter()
            .find(|e| e.ns.inode == inode)
            .map_or("?", |e| e.ns.label.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_rule() {
        let mut ns = Namespace::new(4026532000, PathBuf::from("/proc/1/ns/net"), false);
        assert_eq!(ns.label, "ns:[4026532000]");
        ns.process = Some(Member {
            pid: 42,
            command: "nginx".into(),
        });
        ns.relabel();
        assert_eq!(ns.label, "ns:[4026532000] (nginx)");
        ns.name = Some("blue".into());
        ns.relabel();
        assert_eq!(ns.label, "blue");
    }
}
