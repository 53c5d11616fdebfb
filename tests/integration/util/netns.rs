//! Private namespaces, so that counts are exact: a thread moves itself into a new network
//! namespace (and, for the golden outputs, new mount and pid namespaces), brings `lo` up and
//! does its work there; children it spawns inherit its namespaces; they disappear with it.
//! Needs root and `ip` (iproute2); without them a test says a [`skip`] (a failure under CI).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;

use nix::mount::MsFlags;
use nix::sched::CloneFlags;

use super::{is_root, skip};

/// Where a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Env {
    /// The host's namespace, shared with everything else: port-filtered only.
    Host,
    /// A private namespace owned by the current thread: exact everywhere.
    Netns,
}

fn ip_installed() -> bool {
    Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether this process can put a thread in a private network namespace with `lo` up;
/// `Err` holds the reason why not.
pub fn netns_available() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            if !is_root() {
                return Err("not running as root (unshare and setns need CAP_SYS_ADMIN)".into());
            }
            if !ip_installed() {
                return Err("`ip` (iproute2) is not installed: it brings lo up".into());
            }
            thread::spawn(|| {
                nix::sched::unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("unshare(CLONE_NEWNET) is refused here: {e}"))
            })
            .join()
            .unwrap_or_else(|_| Err("the namespace probe thread panicked".into()))
        })
        .clone()
}

/// Why the golden table cannot be built here, if it cannot: it needs a thread of its own in
/// new network, mount and pid namespaces, with a `proc` mounted for the new pid namespace,
/// IPv6, and `ip` to bring `lo` up.
pub fn namespaces_unavailable() -> Option<String> {
    if !is_root() {
        return Some("not running as root (the test unshares namespaces and mounts)".into());
    }
    if !std::path::Path::new("/proc/net/tcp6").exists() {
        return Some("no IPv6 (/proc/net/tcp6 is missing): the table has IPv6 sockets".into());
    }
    if !ip_installed() {
        return Some("`ip` (iproute2) is not installed: it brings lo up".into());
    }
    // The same steps as the test, on a thread that ends here (its namespaces with it).
    let probe = thread::spawn(|| -> Result<(), String> {
        let flags = CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
        nix::sched::unshare(flags)
            .map_err(|e| format!("unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID): {e}"))?;
        let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
        nix::mount::mount(None::<&str>, "/", None::<&str>, private, None::<&str>)
            .map_err(|e| format!("mount --make-rprivate /: {e}"))?;
        let mount = Command::new("mount")
            .args(["-t", "proc", "proc", "/proc"])
            .stderr(Stdio::null())
            .status();
        match mount {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("mount -t proc in a new pid namespace: {s}")),
            Err(e) => Err(format!("running mount: {e}")),
        }
    });
    match probe.join() {
        Ok(Ok(())) => None,
        Ok(Err(why)) => Some(format!("private namespaces are refused here: {why}")),
        Err(_) => Some("the namespace probe thread panicked".into()),
    }
}

/// Brings `lo` up in the calling thread's network namespace (`ip` runs in it: children
/// inherit the thread's namespace).
pub fn bring_lo_up() {
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    assert!(
        up.is_ok_and(|s| s.success()),
        "ip link set lo up (in the new namespace)"
    );
}

/// Moves the calling thread into a new, empty network namespace with `lo` up. Only this
/// thread moves; run it on a thread of its own, which takes the namespace with it when it
/// ends.
pub fn enter_private_netns() {
    nix::sched::unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
    bring_lo_up();
}

/// Runs `f` on a fresh thread inside a fresh, private network namespace with `lo` up.
/// Panics inside `f` propagate to the caller.
pub fn in_private_netns<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let handle = thread::Builder::new()
        .name("netns".into())
        .spawn(move || {
            enter_private_netns();
            // The new namespace must start empty, or whole-namespace counts would mean
            // nothing.
            let leftovers = super::states::proc_sockets();
            assert!(
                leftovers.is_empty(),
                "fresh namespace is not empty: {leftovers:?}"
            );
            f()
        })
        .expect("spawn netns thread");
    match handle.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Whether the calling thread's namespace has a usable IPv6 loopback; when not, says a
/// [`skip`] of `what`.
pub fn ipv6_available(what: &str) -> bool {
    match TcpListener::bind("[::1]:0") {
        Ok(_) => true,
        Err(e) => {
            skip(format!("{what}: no IPv6 loopback: {e}"));
            false
        }
    }
}

/// Runs `f` on the host (port-filtered checks) and then, when possible, again in a private
/// network namespace (whole-namespace checks as well).
pub fn run_everywhere(name: &str, f: fn(Env)) {
    f(Env::Host);
    match netns_available() {
        Ok(()) => in_private_netns(move || f(Env::Netns)),
        Err(why) => skip(format!("{name} in a private network namespace: {why}")),
    }
}

/// Runs `f` only in a private network namespace; says a [`skip`] otherwise. Returns whether
/// it ran.
pub fn run_in_netns_only(name: &str, f: fn(Env)) -> bool {
    match netns_available() {
        Ok(()) => {
            in_private_netns(move || f(Env::Netns));
            true
        }
        Err(why) => {
            skip(format!("{name}: {why}"));
            false
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A second private network namespace, owned by a thread of its own that runs what it is
/// given ([`PeerNetns::run`]): sockets made, or commands (`ip`, `nft`, tcpstat) spawned, in a
/// job belong to that namespace. It disappears when dropped (the thread ends). Joined to
/// another namespace with [`veth`].
pub struct PeerNetns {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
    /// The thread's id (what `ip link ... netns` takes for a process).
    pub tid: u32,
}

impl PeerNetns {
    /// A fresh namespace with `lo` up, empty.
    pub fn new() -> PeerNetns {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let (ready, started) = std::sync::mpsc::channel();
        let thread = thread::Builder::new()
            .name("peer-netns".into())
            .spawn(move || {
                enter_private_netns();
                let me = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
                let _ = ready.send(me);
                for job in queue {
                    job();
                }
            })
            .expect("spawn the peer namespace's thread");
        let me = started.recv().expect("the peer namespace started");
        let tid = me
            .file_name()
            .and_then(|t| t.to_str())
            .and_then(|t| t.parse().ok())
            .expect("PID/task/TID");
        PeerNetns {
            jobs: Some(jobs),
            thread: Some(thread),
            tid,
        }
    }

    /// Runs `f` on the namespace's thread and returns what it returns (a panic in `f` is
    /// the caller's).
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let (done, result) = std::sync::mpsc::channel();
        let job: Job = Box::new(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = done.send(r);
        });
        self.jobs
            .as_ref()
            .expect("a running namespace")
            .send(job)
            .expect("the peer namespace's thread is gone");
        match result.recv().expect("the job ran") {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for PeerNetns {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `ip ARGS` in the calling thread's namespace; panics with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running ip {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Joins the calling thread's namespace to `peer`'s with a veth pair on one /24: `local` on
/// this side (device `veth-here`), every address of `remote` on the peer's (`veth-there`),
/// both ends up.
pub fn veth(peer: &PeerNetns, local: std::net::Ipv4Addr, remote: &[std::net::Ipv4Addr]) {
    let tid = peer.tid.to_string();
    ip(&[
        "link",
        "add",
        "veth-here",
        "type",
        "veth",
        "peer",
        "name",
        "veth-there",
        "netns",
        &tid,
    ]);
    ip(&["addr", "add", &format!("{local}/24"), "dev", "veth-here"]);
    ip(&["link", "set", "veth-here", "up"]);
    let remote = remote.to_vec();
    peer.run(move || {
        for a in remote {
            ip(&["addr", "add", &format!("{a}/24"), "dev", "veth-there"]);
        }
        ip(&["link", "set", "veth-there", "up"]);
    });
}
