//! Real cgroups in the unified (v2) hierarchy, named as systemd, Docker, Podman and
//! Kubernetes name theirs, with loopback sockets created inside them and held there by
//! processes in them; the files container runtimes keep names in, laid out under a
//! temporary root for `--host-root`.
//!
//! - [`cgroup2_mount`]: where cgroup2 is mounted, from `/proc/self/mountinfo`
//!   (`/sys/fs/cgroup` on a pure v2 host, `/sys/fs/cgroup/unified` on a hybrid one).
//! - [`Naming`] and [`Named`]: a fresh path of each runtime's grammar, with the ids in it.
//! - [`TestCgroup`]: a cgroup made for a test (the directories along its path that did not
//!   exist); on drop its processes are killed and those directories removed, deepest first.
//!   [`TestCgroup::enter`] runs a closure with *this test process* moved into the cgroup.
//! - [`Workload`]: a [`TestCgroup`] whose sockets were created while the process was in it
//!   (a socket takes its creator's cgroup when it is made, an accepted one its listener's)
//!   and are held by `sleep` children started in it (so `/proc/PID/cgroup` says the same,
//!   for the `/proc` source); what the kernel must show for it ([`Recipe`]).
//! - [`ss_cgroup_counts`]: what `ss -tan cgroup PATH` (the kernel's own filter on the
//!   socket's cgroup id) counts, to check a setup independently of tcpstat.
//! - [`HostRoot`]: a temporary directory laid out as `/` is for Docker, Podman, containerd
//!   and CRI-O, for `tcpstat --host-root`.
//!
//! Why the test process moves rather than a child: sockets must be *created* in the
//! cgroup, the recipes of [`super::states`] create them in this process, and the test crate
//! has no unsafe code for a `pre_exec`. The move is made under [`super::serial`] (every test
//! that spawns or creates sockets holds it), lasts only while the sockets and their holders
//! are made, and is undone by a guard, panics included. Only cgroup v2 membership moves; on a
//! hybrid host the v1 hierarchies are left alone.
//!
//! Needs root and a cgroup2 mount; [`cgroups_available`] says why not ([`super::skip`]).

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::is_root;
use super::sockets::Family;
use super::states::{fresh_listener, wait_for_kernel, Counts, Scope, State};
use super::wait::{wait_until, WAIT};

// ---------------------------------------------------------------------------
// The cgroup2 mount and a process's cgroup
// ---------------------------------------------------------------------------

/// Undoes the octal escapes of `/proc/self/mountinfo` (`\040` for a space).
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let oct = &bytes[i + 1..i + 4];
            if oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let v = oct.iter().fold(0u32, |a, b| a * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the cgroup2 (unified) hierarchy is mounted, from `/proc/self/mountinfo`: the first
/// `cgroup2` mount of the root of the hierarchy.
pub fn cgroup2_mount() -> Result<PathBuf, String> {
    let info = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("reading /proc/self/mountinfo: {e}"))?;
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        if right.split(' ').next() == Some("cgroup2") && fields.len() >= 5 && fields[3] == "/" {
            return Ok(PathBuf::from(unescape_mountinfo(fields[4])));
        }
    }
    Err("no cgroup2 mount in /proc/self/mountinfo (a v1-only host)".into())
}

/// Whether tests can make cgroups here; `Ok` holds the cgroup2 mount.
pub fn cgroups_available() -> Result<PathBuf, String> {
    static PROBE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            if !is_root() {
                return Err("not running as root (making cgroups and moving processes)".into());
            }
            let mount = cgroup2_mount()?;
            let probe = mount.join(format!("tcpstat-probe-{}", std::process::id()));
            fs::create_dir(&probe)
                .map_err(|e| format!("cannot make a cgroup under {}: {e}", mount.display()))?;
            let _ = fs::remove_dir(&probe);
            own_cgroup().ok_or("this process has no cgroup v2 line in /proc/self/cgroup")?;
            Ok(mount)
        })
        .clone()
}

/// The cgroup v2 path (`0::PATH`) in a `/proc/PID/cgroup` file's text.
fn v2_line(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
}

/// This process's cgroup v2 path.
pub fn own_cgroup() -> Option<String> {
    v2_line(&fs::read_to_string("/proc/self/cgroup").ok()?)
}

/// A process's cgroup v2 path, as `/proc/PID/cgroup` says it.
pub fn process_cgroup(pid: u32) -> Option<String> {
    v2_line(&fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?)
}

// ---------------------------------------------------------------------------
// Names as runtimes make them
// ---------------------------------------------------------------------------

/// A number no other call in this process gets, mixed with the pid and the clock so that
/// two runs (or a run killed earlier) do not meet either.
fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x =
        nanos ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // splitmix64: spreads the bits, so ids do not share long prefixes.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A fresh 64-hex-digit container id (as Docker, Podman, containerd and CRI-O make them).
pub fn container_id() -> String {
    (0..4).map(|_| format!("{:016x}", unique())).collect()
}

/// A fresh Kubernetes pod uid (a version-4-shaped UUID, with dashes).
pub fn pod_uid() -> String {
    let h = format!("{:016x}{:016x}", unique(), unique());
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Which runtime's grammar a test cgroup's path follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Naming {
    /// `/system.slice/tcpstat-test-<n>.service`
    Service,
    /// `/system.slice/docker-<64hex>.scope` (Docker with the systemd driver).
    Docker,
    /// `/machine.slice/libpod-<64hex>.scope` (rootful Podman with the systemd driver).
    Podman,
    /// `/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/cri-containerd-<64hex>.scope`
    /// (kubelet and containerd with the systemd driver). `pod`: join this pod uid (a second
    /// container of the same pod), else a fresh one.
    KubeSystemd {
        qos: &'static str,
        pod: Option<String>,
    },
    /// `/kubepods/<qos>/pod<uid>/<64hex>` (the cgroupfs driver).
    KubeCgroupfs {
        qos: &'static str,
        pod: Option<String>,
    },
    /// As `KubeSystemd` with a `crio-<64hex>.scope` (CRI-O with the systemd driver).
    CriO {
        qos: &'static str,
        pod: Option<String>,
    },
    /// A path given as it is (relative to the mount, starting with `/`).
    Path(String),
}

/// A fresh cgroup path of some [`Naming`], with the ids it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub path: String,
    /// The systemd unit the path ends in, if it ends in one.
    pub unit: Option<String>,
    pub container_id: Option<String>,
    pub pod_uid: Option<String>,
}

impl Naming {
    /// A fresh path of this grammar.
    pub fn fresh(&self) -> Named {
        let id = container_id();
        match self {
            Naming::Service => {
                let unit = format!("tcpstat-test-{:x}.service", unique() >> 16);
                Named {
                    path: format!("/system.slice/{unit}"),
                    unit: Some(unit),
                    container_id: None,
                    pod_uid: None,
                }
            }
            Naming::Docker => {
                let unit = format!("docker-{id}.scope");
                Named {
                    path: format!("/system.slice/{unit}"),
                    unit: Some(unit),
                    container_id: Some(id),
                    pod_uid: None,
                }
            }
            Naming::Podman => {
                let unit = format!("libpod-{id}.scope");
                Named {
                    path: format!("/machine.slice/{unit}"),
                    unit: Some(unit),
                    container_id: Some(id),
                    pod_uid: None,
                }
            }
            Naming::KubeSystemd { qos, pod } | Naming::CriO { qos, pod } => {
                let uid = pod.clone().unwrap_or_else(pod_uid);
                let prefix = if matches!(self, Naming::CriO { .. }) {
                    "crio"
                } else {
                    "cri-containerd"
                };
                let unit = format!("{prefix}-{id}.scope");
                let under = uid.replace('-', "_");
                let path = if *qos == "guaranteed" {
                    format!("/kubepods.slice/kubepods-pod{under}.slice/{unit}")
                } else {
                    format!("/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{under}.slice/{unit}")
                };
                Named {
                    path,
                    unit: Some(unit),
                    container_id: Some(id),
                    pod_uid: Some(uid),
                }
            }
            Naming::KubeCgroupfs { qos, pod } => {
                let uid = pod.clone().unwrap_or_else(pod_uid);
                let path = if *qos == "guaranteed" {
                    format!("/kubepods/pod{uid}/{id}")
                } else {
                    format!("/kubepods/{qos}/pod{uid}/{id}")
                };
                Named {
                    path,
                    unit: None,
                    container_id: Some(id),
                    pod_uid: Some(uid),
                }
            }
            Naming::Path(p) => Named {
                path: p.clone(),
                unit: None,
                container_id: None,
                pod_uid: None,
            },
        }
    }
}

// ---------------------------------------------------------------------------
// A cgroup made for a test
// ---------------------------------------------------------------------------

/// A cgroup v2 directory made for a test, and those above it that the test made too. On
/// drop: every process still in it is killed and it is removed; then each directory above it
/// that a test made is removed once empty (several tests' cgroups share them: the last one
/// out removes them).
#[derive(Debug)]
pub struct TestCgroup {
    mount: PathBuf,
    path: String,
}

/// Directories above test cgroups that tests made (`/system.slice` on a host without
/// systemd, `/kubepods.slice/...`), removed by the last test cgroup under them to go.
static MADE_ABOVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

impl TestCgroup {
    /// Makes the cgroup at `path` (relative to the cgroup2 mount, starting with `/`), with
    /// the directories above it that are missing. Panics if it exists already: a test's
    /// cgroup is its own.
    pub fn create(mount: &Path, path: &str) -> TestCgroup {
        assert!(
            path.starts_with('/'),
            "cgroup path {path:?} must start with /"
        );
        let mut dir = mount.to_path_buf();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let mut made = MADE_ABOVE.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, part) in parts.iter().enumerate() {
            dir.push(part);
            let leaf = i + 1 == parts.len();
            match fs::create_dir(&dir) {
                Ok(()) if !leaf => {
                    made.insert(dir.clone());
                }
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !leaf => {}
                Err(e) => panic!("mkdir {}: {e}", dir.display()),
            }
        }
        TestCgroup {
            mount: mount.to_path_buf(),
            path: path.to_string(),
        }
    }

    /// The path relative to the mount, as `/proc/PID/cgroup` and tcpstat's JSON write it.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The directory in the mounted hierarchy.
    pub fn dir(&self) -> PathBuf {
        self.mount.join(self.path.trim_start_matches('/'))
    }

    /// The pids in the cgroup (its own, not its children's).
    pub fn procs(&self) -> Vec<u32> {
        procs_of(&self.dir())
    }

    /// Runs `f` with this whole test process in the cgroup (sockets it creates, processes it
    /// starts, are the cgroup's), then moves it back where it was, panics included. Call
    /// under [`super::serial`].
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Back(PathBuf);
        impl Drop for Back {
            fn drop(&mut self) {
                if let Err(e) = move_pid(&self.0, std::process::id()) {
                    // Stay loud but do not panic in a panic.
                    let _ = io::Write::write_all(
                        &mut io::stderr(),
                        format!(
                            "moving the test process back to {}: {e}\n",
                            self.0.display()
                        )
                        .as_bytes(),
                    );
                }
            }
        }
        let home = own_cgroup().expect("this process's cgroup");
        let back = Back(self.mount.join(home.trim_start_matches('/')));
        move_pid(&self.dir(), std::process::id())
            .unwrap_or_else(|e| panic!("moving the test process into {}: {e}", self.path));
        let r = f();
        drop(back);
        r
    }

    /// Removes the cgroup's directory now (and nothing above it), as a runtime does when a
    /// container stops while its sockets live on. Its processes must have left.
    pub fn remove_now(&mut self) {
        let dir = self.dir();
        fs::remove_dir(&dir).unwrap_or_else(|e| panic!("rmdir {}: {e}", dir.display()));
    }
}

fn procs_of(dir: &Path) -> Vec<u32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Moves process `pid` into the cgroup at `dir` (an absolute directory in the mount).
pub fn move_pid(dir: &Path, pid: u32) -> io::Result<()> {
    fs::write(dir.join("cgroup.procs"), pid.to_string())
}

/// Kills every process in `dir` and waits until it holds none.
fn empty(dir: &Path) {
    // cgroup.kill (Linux 5.14) kills the whole subtree at once, forks included.
    let _ = fs::write(dir.join("cgroup.kill"), "1");
    let _ = wait_until_quiet(dir);
}

fn wait_until_quiet(dir: &Path) -> Result<(), String> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let pids = procs_of(dir);
        if pids.is_empty() {
            return Ok(());
        }
        for pid in &pids {
            if let Some(p) = rustix::process::Pid::from_raw(*pid as i32) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("{} still holds {pids:?}", dir.display()));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let leaf = self.dir();
        if procs_of(&leaf).contains(&std::process::id()) {
            // Never kill the test process itself (a failed move back): leave first.
            let _ = move_pid(&self.mount, std::process::id());
        }
        empty(&leaf);
        // A dying process may keep the directory busy for a moment.
        let deadline = std::time::Instant::now() + WAIT;
        while let Err(e) = fs::remove_dir(&leaf) {
            if e.kind() == io::ErrorKind::NotFound {
                break;
            }
            if std::time::Instant::now() > deadline {
                let _ = io::Write::write_all(
                    &mut io::stderr(),
                    format!("leaving cgroup {}: rmdir: {e}\n", leaf.display()).as_bytes(),
                );
                return;
            }
            empty(&leaf);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // Up the path: what tests made, as long as it is empty (no kill there: another
        // test's cgroup may still be below).
        let mut made = MADE_ABOVE.lock().unwrap_or_else(PoisonError::into_inner);
        let mut dir = leaf.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            if !made.contains(&d) || fs::remove_dir(&d).is_err() {
                break;
            }
            made.remove(&d);
            dir = d.parent().map(Path::to_path_buf);
        }
    }
}

// ---------------------------------------------------------------------------
// Workloads: cgroups with sockets
// ---------------------------------------------------------------------------

/// The sockets a workload makes in each family it is asked for, on one fresh listening port
/// per family (loopback). Every socket but TIME_WAIT is held by the workload's processes;
/// the listener stays open.
#[derive(Debug, Clone, Copy)]
pub struct Recipe {
    /// Connections to the workload's listener whose both ends are the workload's:
    /// 2 ESTABLISHED each.
    pub established: usize,
    /// Connections whose client (the workload's) shut its sending side and whose server end
    /// (the workload's) never closes: CLOSE_WAIT + FIN_WAIT_2 each.
    pub close_wait: usize,
    /// Connections to the listener that the server end closed first: a TIME_WAIT on the
    /// workload's listening port each (no cgroup id: attributed through the listener).
    pub time_wait: usize,
    pub families: &'static [Family],
}

impl Recipe {
    /// LISTEN 1, ESTABLISHED 2, CLOSE_WAIT 1, FIN_WAIT_2 1 per family; no TIME_WAIT.
    pub const SMALL: Recipe = Recipe {
        established: 1,
        close_wait: 1,
        time_wait: 0,
        families: &Family::BOTH,
    };
}

/// A cgroup holding sockets: listener, connections, half-closed connections, TIME_WAIT on
/// its port, held by `sleep` children in the cgroup (killed on drop, before the cgroup is
/// removed).
pub struct Workload {
    holders: Vec<Child>,
    pub cgroup: TestCgroup,
    pub named: Named,
    /// The listening port of each family made, in [`Recipe::families`] order.
    pub ports: Vec<(Family, u16)>,
    /// What tcpstat must attribute to this workload: every socket, TIME_WAIT included.
    pub attributed: Counts,
}

impl Workload {
    /// Makes the cgroup of `named` and the recipe's sockets in it, in the calling thread's
    /// network namespace; waits until the kernel shows them. Call under [`super::serial`].
    pub fn start(mount: &Path, named: Named, recipe: Recipe) -> Workload {
        let cgroup = TestCgroup::create(mount, &named.path);
        let mut ports = Vec::new();
        let mut attributed = Counts::default();
        let mut holders = Vec::new();
        let mut expect_per_port = Vec::new();
        cgroup.enter(|| {
            for &family in recipe.families {
                let (fds, port, counts) = make_sockets(family, recipe);
                holders.extend(hold(fds));
                ports.push((family, port));
                attributed.merge(&counts);
                expect_per_port.push((port, counts));
            }
        });
        for (port, counts) in expect_per_port {
            wait_for_kernel(
                &format!("the sockets of {}", named.path),
                Scope::Port(port),
                counts,
            );
        }
        for h in &holders {
            assert_eq!(
                process_cgroup(h.id()).as_deref(),
                Some(named.path.as_str()),
                "a holder of {} is not in its cgroup",
                named.path
            );
        }
        Workload {
            holders,
            cgroup,
            named,
            ports,
            attributed,
        }
    }

    /// The cgroup path.
    pub fn path(&self) -> &str {
        self.cgroup.path()
    }

    /// What `ss -tan cgroup PATH` must count: every socket but the TIME_WAIT ones
    /// (minisockets have no cgroup).
    pub fn in_cgroup(&self) -> Counts {
        self.attributed.without(State::TimeWait)
    }

    /// The pids of the holders.
    pub fn pids(&self) -> Vec<u32> {
        self.holders.iter().map(Child::id).collect()
    }

    /// Moves the holders to `to` (a cgroup path) and removes this workload's cgroup: its
    /// sockets keep pointing at a cgroup whose directory is gone.
    pub fn abandon_cgroup(&mut self, to: &str) {
        let mount = cgroup2_mount().expect("cgroup2 mount");
        for pid in self.pids() {
            move_pid(&mount.join(to.trim_start_matches('/')), pid)
                .unwrap_or_else(|e| panic!("moving {pid} to {to}: {e}"));
        }
        self.cgroup.remove_now();
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        for h in &mut self.holders {
            let _ = h.kill();
            let _ = h.wait();
        }
    }
}

/// The recipe's sockets of one family: the fds to hold, the port, and the counts.
fn make_sockets(family: Family, recipe: Recipe) -> (Vec<OwnedFd>, u16, Counts) {
    let listener: TcpListener = fresh_listener(family.loopback()).expect("bind a loopback port");
    let port = listener.local_addr().expect("addr").port();
    let addr = (family.loopback(), port);
    let mut held: Vec<OwnedFd> = Vec::new();
    let mut counts = Counts::default().with(family, State::Listen, 1);
    for _ in 0..recipe.established {
        let client = TcpStream::connect(addr).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        held.push(client.into());
        held.push(server.into());
        counts.add(family, State::Established, 2);
    }
    for _ in 0..recipe.close_wait {
        let client = TcpStream::connect(addr).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        client.shutdown(Shutdown::Write).expect("half-close");
        held.push(client.into());
        held.push(server.into());
        counts.add(family, State::FinWait2, 1);
        counts.add(family, State::CloseWait, 1);
    }
    let mut closing = Vec::new();
    for _ in 0..recipe.time_wait {
        let client = TcpStream::connect(addr).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        server
            .shutdown(Shutdown::Write)
            .expect("server closes first");
        closing.push((client, server));
    }
    if !closing.is_empty() {
        let mut half = counts;
        half.add(family, State::FinWait2, closing.len() as u64);
        half.add(family, State::CloseWait, closing.len() as u64);
        wait_for_kernel(
            "the servers' FIN to be acknowledged",
            Scope::Port(port),
            half,
        );
        for (client, server) in closing {
            drop(server);
            drop(client);
            counts.add(family, State::TimeWait, 1);
        }
    }
    held.push(listener.into());
    (held, port, counts)
}

/// `sleep` children holding `fds`, three each (stdin, stdout, stderr; /dev/null pads),
/// started in the caller's cgroup and network namespace.
pub fn hold(fds: Vec<OwnedFd>) -> Vec<Child> {
    let mut children = Vec::new();
    let mut fds = fds.into_iter().peekable();
    while fds.peek().is_some() {
        let mut slot = || -> Stdio { fds.next().map_or_else(Stdio::null, Stdio::from) };
        let (stdin, stdout, stderr) = (slot(), slot(), slot());
        let child = Command::new("sleep")
            .arg("600")
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("spawn sleep");
        children.push(child);
    }
    children
}

// ---------------------------------------------------------------------------
// The kernel's own view: ss -tan cgroup PATH
// ---------------------------------------------------------------------------

/// Counts per family and state of `ss -tanH cgroup PATH` in the calling thread's network
/// namespace: the kernel's filter on the socket's cgroup id (that cgroup only, not those
/// below it). Minisockets (TIME_WAIT, SYN_RECV) have no cgroup and never match.
pub fn ss_cgroup_counts(path: &str) -> Counts {
    let mut counts = Counts::default();
    for fam in Family::BOTH {
        let flag = match fam {
            Family::V4 => "-4",
            Family::V6 => "-6",
        };
        let out = Command::new(super::ss::SS)
            .args(["-tanH", flag, "cgroup", path])
            .output()
            .unwrap_or_else(|e| panic!("running ss: {e}"));
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "ss -tan cgroup {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            let st = State::from_ss_name(name)
                .unwrap_or_else(|| panic!("unknown ss state {name:?} in {line:?}"));
            counts.add(fam, st, 1);
        }
    }
    counts
}

/// Waits until `ss -tan cgroup PATH` counts exactly `want`.
pub fn wait_for_ss_cgroup(path: &str, want: Counts) {
    wait_until(&format!("ss -tan cgroup {path}"), WAIT, || {
        let got = ss_cgroup_counts(path);
        if got == want {
            Ok(())
        } else {
            Err(format!("ss shows {got:?}, want {want:?}"))
        }
    });
}

/// Counts of one family as a JSON-style `{"STATE": n}` map, zero states left out.
pub fn state_map(c: Counts, family: Option<Family>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for st in State::ALL {
        let n = match family {
            Some(f) => c.get(f, st),
            None => c.state_total(st),
        };
        if n != 0 {
            m.insert(st.json_name().to_string(), n);
        }
    }
    m
}

// ---------------------------------------------------------------------------
// Runtime files under a --host-root
// ---------------------------------------------------------------------------

/// A temporary directory laid out as a host's `/` is for container runtimes' files, for
/// `tcpstat --host-root` (removed on drop).
#[derive(Debug)]
pub struct HostRoot {
    dir: PathBuf,
    podman: Vec<Value>,
}

impl HostRoot {
    pub fn new() -> HostRoot {
        let dir = std::env::temp_dir().join(format!(
            "tcpstat-host-root-{}-{:x}",
            std::process::id(),
            unique()
        ));
        fs::create_dir_all(&dir).expect("make the host root");
        HostRoot {
            dir,
            podman: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The path as a `--host-root` argument.
    pub fn arg(&self) -> String {
        self.dir.to_str().expect("utf-8 temp dir").to_string()
    }

    fn write_json(&self, rel: &str, v: &Value) {
        let p = self.dir.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, serde_json::to_vec_pretty(v).expect("json")).expect("write");
    }

    /// Docker's `var/lib/docker/containers/<id>/config.v2.json` naming `id` `name`.
    pub fn docker(&self, id: &str, name: &str) {
        self.write_json(
            &format!("var/lib/docker/containers/{id}/config.v2.json"),
            &json!({
                "ID": id,
                "Name": format!("/{name}"),
                "Created": "2026-12-05T10:00:00.000000000Z",
                "Config": {"Hostname": &id[..12], "Image": "busybox"},
                "State": {"Running": true, "Pid": 4242},
            }),
        );
    }

    /// Adds `id` named `name` to Podman's
    /// `var/lib/containers/storage/overlay-containers/containers.json`.
    pub fn podman(&mut self, id: &str, name: &str) {
        self.podman.push(json!({
            "id": id,
            "names": [name],
            "image": "0123456789abcdef".repeat(4),
            "layer": "fedcba9876543210".repeat(4),
            "metadata": format!("{{\"image-name\":\"localhost/busybox:latest\",\"name\":\"{name}\"}}"),
            "created": "2026-12-05T10:00:00.000000000Z",
        }));
        self.write_json(
            "var/lib/containers/storage/overlay-containers/containers.json",
            &Value::Array(self.podman.clone()),
        );
    }

    /// The Kubernetes annotations containerd's CRI plugin puts in a container's OCI config.
    pub fn cri_annotations(ns: &str, pod: &str, uid: &str, container: &str) -> Value {
        json!({
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.container-name": container,
            "io.kubernetes.cri.sandbox-id": container_id(),
            "io.kubernetes.cri.sandbox-name": pod,
            "io.kubernetes.cri.sandbox-namespace": ns,
            "io.kubernetes.cri.sandbox-uid": uid,
            "io.kubernetes.cri.image-name": "docker.io/library/busybox:latest",
        })
    }

    /// containerd's bundle `run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/`,
    /// whose `config.json` carries the CRI annotations; returns the bundle directory.
    pub fn containerd(&self, id: &str, ns: &str, pod: &str, uid: &str, container: &str) -> PathBuf {
        let rel = format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}");
        self.write_json(
            &format!("{rel}/config.json"),
            &json!({
                "ociVersion": "1.0.2-dev",
                "process": {"args": ["/bin/sh"], "cwd": "/"},
                "root": {"path": "rootfs"},
                "annotations": Self::cri_annotations(ns, pod, uid, container),
            }),
        );
        self.dir.join(rel)
    }

    /// CRI-O's `run/containers/storage/overlay-containers/<id>/userdata/config.json`.
    pub fn crio(&self, id: &str, ns: &str, pod: &str, uid: &str, container: &str) {
        self.write_json(
            &format!("run/containers/storage/overlay-containers/{id}/userdata/config.json"),
            &json!({
                "ociVersion": "1.0.2-dev",
                "process": {"args": ["/bin/sh"], "cwd": "/"},
                "annotations": {
                    "io.kubernetes.container.name": container,
                    "io.kubernetes.pod.name": pod,
                    "io.kubernetes.pod.namespace": ns,
                    "io.kubernetes.pod.uid": uid,
                    "io.container.manager": "cri-o",
                },
            }),
        );
    }

    /// The kubelet's `var/log/pods/<ns>_<pod>_<uid>/<container>/0.log`.
    pub fn pod_logs(&self, ns: &str, pod: &str, uid: &str, container: &str) {
        let d = self
            .dir
            .join(format!("var/log/pods/{ns}_{pod}_{uid}/{container}"));
        fs::create_dir_all(&d).expect("mkdir pod logs");
        fs::write(d.join("0.log"), "").expect("write 0.log");
    }
}

impl Default for HostRoot {
    fn default() -> Self {
        HostRoot::new()
    }
}

impl Drop for HostRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape_mountinfo("/sys/fs/cgroup"), "/sys/fs/cgroup");
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/a\\"), "/a\\");
    }

    #[test]
    fn names_follow_each_grammar() {
        let d = Naming::Docker.fresh();
        let id = d.container_id.clone().expect("id");
        assert_eq!(id.len(), 64);
        assert_eq!(d.path, format!("/system.slice/docker-{id}.scope"));
        let k = Naming::KubeSystemd {
            qos: "burstable",
            pod: None,
        }
        .fresh();
        let uid = k.pod_uid.clone().expect("uid");
        assert_eq!(uid.len(), 36);
        assert!(k.path.contains(&format!(
            "/kubepods-burstable-pod{}.slice/cri-containerd-",
            uid.replace('-', "_")
        )));
    }
}
