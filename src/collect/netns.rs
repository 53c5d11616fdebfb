//! Network namespaces: naming them, finding them, and reading inside them.
//!
//! Owns: resolving `--netns NAME|PATH` and `--netns-pid PID` to a [`Namespace`], listing every
//! network namespace of the host for `--all-netns` ([`discover`]), and [`within`],
//! the one place tcpstat enters a namespace. It must not read socket tables, count sockets or
//! format anything.
//!
//! A namespace is identified by the inode of its nsfs file, as `ip netns identify` and `lsns`
//! do: `/proc/PID/ns/net` is a link to it and `/run/netns/NAME` a bind mount of it
//! (`ip netns add`). All nsfs files live on one device, which tells them from other files.
//!
//! Entering. sock_diag answers for the namespace its netlink socket was created in
//! (`sock_net(skb->sk)` in `net/ipv4/inet_diag.c`), and a socket keeps that namespace for
//! life. So a short-lived thread calls `setns(fd, CLONE_NEWNET)`, which moves the calling
//! thread only (`kernel/nsproxy.c`), creates the socket and ends; the socket then works from
//! any thread. A `/proc/thread-self/net/tcp` opened on that thread likewise keeps reading that
//! namespace (`seq_open_net` in `fs/proc/proc_net.c` pins it at open), which is how the /proc
//! source reads a namespace no process is in. `setns` needs CAP_SYS_ADMIN over the target
//! namespace and in the caller's user namespace (`netns_install` in
//! `net/core/net_namespace.c`); dumping needs nothing. Reading `/proc/PID/net/tcp{,6}` of a
//! process in the namespace needs no entering at all, so the /proc source prefers it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::thread;

use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};

use super::owners::{command_name, list_pids};
use crate::error::Error;
use crate::model::netns::{Discovery, Member, Namespace, Scope, UNKNOWN_INODE};
use crate::model::NetnsRequest;

/// Why a process's namespace file can be refused: it needs ptrace read access
/// (`proc_ns_get_link` checks `PTRACE_MODE_READ_FSCREDS`).
const DENIED: &str = "another user's process needs root; a sandbox or LSM can refuse even root";

/// Where `ip netns` keeps named namespaces (iproute2 `NETNS_RUN_DIR`).
pub const RUN_NETNS: &str = "/run/netns";

/// Runs `f` inside `ns`, on a short-lived thread that entered it (or right here for
/// tcpstat's own namespace), and returns what `f` returns. Whatever `f` creates that is bound
/// to a namespace at creation (a netlink socket, an open /proc/thread-self/net file) stays
/// bound to this one. The one place tcpstat enters a namespace.
pub fn within<T: Send>(ns: &Namespace, f: impl FnOnce() -> T + Send) -> Result<T, Error> {
    if ns.current {
        return Ok(f());
    }
    let file = File::open(&ns.path).map_err(|e| open_error(ns, e))?;
    let entered = thread::scope(|scope| {
        let helper = thread::Builder::new()
            .name("tcpstat-netns".into())
            .spawn_scoped(scope, || -> Result<T, Errno> {
                setns(&file, CloneFlags::CLONE_NEWNET)?;
                Ok(f())
            })
            .map_err(|e| error(ns, "cannot start a thread to enter it", Some(e)))?;
        match helper.join() {
            Ok(result) => result.map_err(|errno| enter_error(ns, errno)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })?;
    Ok(entered)
}

fn error(ns: &Namespace, problem: impl Into<String>, source: Option<io::Error>) -> Error {
    Error::Netns {
        netns: ns.label.clone(),
        problem: problem.into(),
        source,
    }
}

fn open_error(ns: &Namespace, e: io::Error) -> Error {
    let problem = match e.kind() {
        io::ErrorKind::NotFound => format!("{} is gone", ns.path.display()),
        io::ErrorKind::PermissionDenied => {
            format!("cannot open {} ({DENIED})", ns.path.display())
        }
        _ => format!("cannot open {}", ns.path.display()),
    };
    error(ns, problem, Some(e))
}

fn enter_error(ns: &Namespace, errno: Errno) -> Error {
    let problem = match errno {
        Errno::EPERM => "cannot enter it: setns(2) needs CAP_SYS_ADMIN (run tcpstat as root)",
        Errno::EINVAL => "cannot enter it: not a network namespace",
        _ => "cannot enter it",
    };
    error(ns, problem, Some(io::Error::from(errno)))
}

/// True for an [`Error::Netns`] caused by missing privileges (`EPERM`, `EACCES`).
pub fn is_permission_error(error: &Error) -> bool {
    matches!(error, Error::Netns { source: Some(e), .. } if e.kind() == io::ErrorKind::PermissionDenied)
}

/// The device of nsfs and the inode of tcpstat's own network namespace.
fn own(proc_root: &Path) -> Result<(u64, u64), Error> {
    let path = proc_root.join("thread-self/ns/net");
    let meta = fs::metadata(&path).map_err(|e| Error::Netns {
        netns: "(own)".into(),
        problem: format!("cannot read {}", path.display()),
        source: Some(e),
    })?;
    Ok((meta.dev(), meta.ino()))
}

/// The namespace of `--netns NAME|PATH`: a name under [`RUN_NETNS`] when it has no `/`,
/// else a path to a namespace file.
pub fn by_name_or_path(
    target: &str,
    proc_root: &Path,
    run_netns: &Path,
) -> Result<Namespace, Error> {
    let named = !target.contains('/');
    let path = if named {
        if target.is_empty() || target == "." || target == ".." {
            return Err(Error::Netns {
                netns: target.into(),
                problem: "not a namespace name".into(),
                source: None,
            });
        }
        run_netns.join(target)
    } else {
        PathBuf::from(target)
    };
    let (nsfs, own_inode) = own(proc_root)?;
    let meta = fs::metadata(&path).map_err(|e| Error::Netns {
        netns: target.into(),
        problem: match (named, e.kind()) {
            (true, io::ErrorKind::NotFound) => format!(
                "no such named namespace (nothing at {}; `ip netns list` shows the names)",
                path.display()
            ),
            _ => format!("cannot stat {}", path.display()),
        },
        source: Some(e),
    })?;
    if meta.dev() != nsfs {
        return Err(Error::Netns {
            netns: target.into(),
            problem: format!(
                "{} is not a namespace file (a stale /run/netns entry, or not nsfs)",
                path.display()
            ),
            source: None,
        });
    }
    let mut ns = Namespace::new(meta.ino(), path, meta.ino() == own_inode);
    // A path to a named namespace (`/run/netns/blue`, or a bind mount of it elsewhere) is
    // labelled by that name, as `--all-netns` labels it.
    ns.name = if named {
        Some(target.to_owned())
    } else {
        name_of(meta.ino(), run_netns)
    };
    ns.relabel();
    if ns.name.is_none() {
        ns.label = target.to_owned();
    }
    Ok(ns)
}

/// The namespace of process `pid` (`--netns-pid`).
///
/// Another user's `/proc/PID/ns/net` needs ptrace access, but its `/proc/PID/net/tcp{,6}` are
/// world-readable. So a refused `ns/net` is not an error yet: the namespace comes back with
/// [`UNKNOWN_INODE`], which the /proc source reads through the process's tables, while
/// entering it (netlink) fails with the refusal.
pub fn of_process(pid: u32, proc_root: &Path) -> Result<Namespace, Error> {
    let (_, own_inode) = own(proc_root)?;
    let dir = proc_root.join(pid.to_string());
    let path = dir.join("ns/net");
    let command = || {
        fs::read(dir.join("comm"))
            .map(command_name)
            .unwrap_or_default()
    };
    let inode = match fs::metadata(&path) {
        Ok(meta) => meta.ino(),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && dir.join("net").exists() => {
            UNKNOWN_INODE
        }
        Err(e) => {
            return Err(Error::Netns {
                netns: format!("of pid {pid}"),
                problem: match e.kind() {
                    io::ErrorKind::NotFound => format!("no process {pid}"),
                    io::ErrorKind::PermissionDenied => {
                        format!("cannot read {} ({DENIED})", path.display())
                    }
                    _ => format!("cannot read {}", path.display()),
                },
                source: Some(e),
            })
        }
    };
    let mut ns = Namespace::new(inode, path, inode == own_inode);
    ns.process = Some(Member {
        pid,
        command: command(),
    });
    ns.relabel();
    Ok(ns)
}

/// The name under `run_netns` of the namespace with nsfs inode `inode`, if it has one.
fn name_of(inode: u64, run_netns: &Path) -> Option<String> {
    let mut names: Vec<String> = fs::read_dir(run_netns)
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let meta = fs::metadata(e.path()).ok()?;
            (meta.ino() == inode).then(|| e.file_name().into_string().ok())?
        })
        .collect();
    names.sort();
    names.into_iter().next()
}

/// The namespaces a run reads, as `request` asks: tcpstat's own (no I/O), the one named or
/// of a process, or every one of the host (discovered now: namespaces come and go).
pub fn resolve(request: &NetnsRequest, proc_root: &Path) -> Result<Scope, Error> {
    Ok(match request {
        NetnsRequest::Own => Scope::Own,
        NetnsRequest::NameOrPath(target) => {
            Scope::One(by_name_or_path(target, proc_root, Path::new(RUN_NETNS))?)
        }
        NetnsRequest::Pid(pid) => Scope::One(of_process(*pid, proc_root)?),
        NetnsRequest::All => Scope::All(discover(proc_root, Path::new(RUN_NETNS))?),
    })
}

/// Lists the namespaces named under `run_netns` and those of every process under
/// `proc_root`, each once (by inode). Processes that exit meanwhile are skipped; processes that
/// cannot be read are counted.
pub fn discover(proc_root: &Path, run_netns: &Path) -> Result<Discovery, Error> {
    let (nsfs, own_inode) = own(proc_root)?;
    let mut found: BTreeMap<u64, Namespace> = BTreeMap::new();
    found.insert(
        own_inode,
        Namespace::new(own_inode, proc_root.join("thread-self/ns/net"), true),
    );
    // No /run/netns (nobody ran `ip netns add`): no named namespaces.
    let mut names: Vec<String> = fs::read_dir(run_netns)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names {
        let path = run_netns.join(&name);
        // An entry whose mount is gone is a plain empty file: not a namespace.
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.dev() != nsfs {
            continue;
        }
        let ns = found
            .entry(meta.ino())
            .or_insert_with(|| Namespace::new(meta.ino(), path, false));
        // The first name (in order) wins; the own namespace keeps its /proc path.
        if ns.name.is_none() {
            ns.name = Some(name);
        }
    }
    let mut discovery = Discovery::default();
    let mut members: BTreeMap<u64, u32> = BTreeMap::new();
    for pid in list_pids(proc_root)? {
        let path = proc_root.join(pid.to_string()).join("ns/net");
        match fs::metadata(&path) {
            Ok(meta) if meta.dev() == nsfs => {
                // Pids ascend: the first one seen is the lowest.
                members.entry(meta.ino()).or_insert(pid);
                found
                    .entry(meta.ino())
                    .or_insert_with(|| Namespace::new(meta.ino(), path, false));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                discovery.processes_unreadable += 1;
            }
            // Exited meanwhile.
            Err(_) => {}
        }
    }
    for (inode, pid) in members {
        if let Some(ns) = found.get_mut(&inode) {
            let command = fs::read(proc_root.join(pid.to_string()).join("comm"))
                .map(command_name)
                .unwrap_or_default();
            ns.process = Some(Member { pid, command });
        }
    }
    let mut namespaces: Vec<Namespace> = found.into_values().collect();
    for ns in &mut namespaces {
        ns.relabel();
    }
    namespaces.sort_by(|a, b| {
        (!a.current, a.name.is_none(), &a.name, a.inode).cmp(&(
            !b.current,
            b.name.is_none(),
            &b.name,
            b.inode,
        ))
    });
    discovery.namespaces = namespaces;
    Ok(discovery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespace_is_found_first_and_needs_no_entering() {
        let proc_root = Path::new("/proc");
        let found = discover(proc_root, Path::new("/nonexistent-run-netns")).expect("discover");
        let first = &found.namespaces[0];
        assert!(first.current);
        assert_eq!(found.namespaces.iter().filter(|n| n.current).count(), 1);
        let pid = std::process::id();
        let mine = of_process(pid, proc_root).expect("own process");
        assert!(mine.current, "{mine:?}");
        assert_eq!(mine.inode, first.inode);
        // Entering the own namespace runs on this very thread.
        let here = thread::current().id();
        assert_eq!(
            within(&mine, || thread::current().id()).expect("no entering"),
            here
        );
    }

    #[test]
    fn bad_targets_are_named_errors() {
        let proc_root = Path::new("/proc");
        let run = Path::new("/nonexistent-run-netns");
        let err = by_name_or_path("blue", proc_root, run).expect_err("no such name");
        let text = err.to_string();
        assert!(
            text.contains("blue") && text.contains("ip netns list"),
            "{text}"
        );
        let err = by_name_or_path("/etc/passwd", proc_root, run).expect_err("not nsfs");
        assert!(err.to_string().contains("not a namespace file"), "{err}");
        let err = by_name_or_path("..", proc_root, run).expect_err("not a name");
        assert!(err.to_string().contains("not a namespace name"), "{err}");
        let err = of_process(u32::MAX, proc_root).expect_err("no such pid");
        assert!(err.to_string().contains("no process"), "{err}");
    }
}
