//! cgroups: from a socket's cgroup id to a path, and from a path to the names on disk.
//!
//! Owns: finding the cgroup2 mount (`/proc/self/mountinfo`: `/sys/fs/cgroup` on pure v2,
//! `/sys/fs/cgroup/unified` on a hybrid), the map from cgroup id (the inode of the cgroup's
//! directory) to path, walked once and again only when an id is not found (as iproute2's
//! `lib/cg_map.c`), a process's cgroup (`/proc/PID/cgroup`, for sockets without an id), and
//! the runtimes' files that name containers and pods ([`RuntimeFiles`]). What a path says is
//! `model::workload` (pure); the file parsers here take bytes and are pure too, so they are
//! tested on recorded contents. It must not count or format anything.
//!
//! The id of a cgroup v2 cgroup (`INET_DIAG_CGROUP_ID`, `cgroup_id()` in the kernel) is its
//! kernfs node id, which is also the inode number its directory reports, in `stat` and in
//! `getdents64`'s `d_ino` (`kernfs_ino()`, fs/kernfs/dir.c). So the walk needs one
//! `getdents64` per cgroup and no `stat` except for the root.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::model::workload::{Names, Recognised, Runtime, WorkloadKind};

/// The cgroup2 hierarchy, and the paths of the ids seen so far.
#[derive(Debug, Default)]
pub struct Cgroups {
    /// Where cgroup2 is mounted (`None`: no cgroup2 mount; every id is then unknown).
    pub mount: Option<PathBuf>,
    /// Why it could not be found or read, said once (e.g. "no cgroup2 mount in
    /// /proc/self/mountinfo").
    pub problem: Option<String>,
    /// Set when paths are relative to a cgroup namespace (tcpstat runs in a container): the
    /// note to show.
    pub namespaced: Option<String>,
    paths: HashMap<u64, String>,
    /// Bumped by [`Cgroups::refresh`].
    generation: u64,
    /// The generation of the last walk (`None`: never walked).
    walked: Option<u64>,
}

impl Cgroups {
    /// Finds the cgroup2 mount through `proc_root`'s `self/mountinfo`. Never fails: what
    /// cannot be found is in `problem`.
    ///
    /// Of several cgroup2 mounts, the first whose root is the hierarchy's root wins (a
    /// container may see a bind of its own subtree besides). A mount of a subtree, or a cgroup
    /// namespace of our own (`self/ns/cgroup` differs from `1/ns/cgroup`, when that is
    /// readable), means paths are relative to that subtree: `namespaced` says so.
    pub fn open(proc_root: &Path) -> Cgroups {
        let mut cgroups = Cgroups::default();
        let mountinfo = proc_root.join("self/mountinfo");
        let text = match fs::read(&mountinfo) {
            Ok(text) => text,
            Err(e) => {
                cgroups.problem = Some(format!(
                    "cannot read {}: {}: no workloads",
                    mountinfo.display(),
                    describe(&e)
                ));
                return cgroups;
            }
        };
        let Some((mount, root)) = cgroup2_mount(&text) else {
            cgroups.problem = Some(format!(
                "no cgroup2 mount in {}: no workloads (cgroup v1 only?)",
                mountinfo.display()
            ));
            return cgroups;
        };
        if root != "/" {
            cgroups.namespaced = Some(format!(
                "cgroup2 at {} is the subtree {root}: cgroup paths are relative to it",
                mount.display()
            ));
        } else if own_cgroup_namespace(proc_root) {
            cgroups.namespaced = Some(
                "tcpstat runs in a cgroup namespace of its own: cgroup paths are relative to it"
                    .to_string(),
            );
        }
        cgroups.mount = Some(mount);
        cgroups
    }

    /// The path of cgroup `id` (relative to the mount, `/` for the root), walking the
    /// hierarchy again (once per call to [`Cgroups::refresh`]) when `id` is not known yet.
    /// `None`: no such cgroup (removed before a walk saw it). A known id is answered from the
    /// map, even if its directory went since: cgroup ids are not reused, and a socket can
    /// outlive its cgroup's directory. Each walk replaces the map, so the removed go then.
    pub fn path(&mut self, id: u64) -> Option<&str> {
        if !self.paths.contains_key(&id) && self.walked != Some(self.generation) {
            self.walk();
        }
        self.paths.get(&id).map(String::as_str)
    }

    /// Allows one more walk: call once per collection (a `watch` tick, a scrape).
    pub fn refresh(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// The id of the cgroup at `path` (relative to the mount) and of every cgroup under it,
    /// for `--cgroup PATH`. The error says what is wrong with `path`, for a usage error.
    pub fn subtree(&mut self, path: &str) -> Result<Vec<u64>, String> {
        let Some(mount) = self.mount.clone() else {
            return Err(self
                .problem
                .clone()
                .unwrap_or_else(|| "no cgroup2 mount".to_string()));
        };
        let relative = Path::new(path.trim_start_matches('/'));
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!(
                "cgroup {path:?}: give a path under the cgroup2 mount, without '..'"
            ));
        }
        let dir = mount.join(relative);
        let root_id = match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => meta.ino(),
            Ok(_) => {
                return Err(format!(
                    "cgroup {path:?}: {} is not a cgroup",
                    dir.display()
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(format!("no cgroup {path:?} (under {})", mount.display()))
            }
            Err(e) => {
                return Err(format!(
                    "cgroup {path:?}: {}: {}",
                    dir.display(),
                    describe(&e)
                ))
            }
        };
        let base = format!("/{}", path.trim_matches('/'));
        let mut found = HashMap::new();
        let walk = walk(&dir, &base, root_id, &mut found);
        if let Some(problem) = walk.problem(&dir) {
            self.problem = Some(problem);
        }
        let mut ids: Vec<u64> = found.keys().copied().collect();
        ids.sort_unstable();
        self.paths.extend(found);
        Ok(ids)
    }

    /// Walks the whole hierarchy and replaces the map with what it found (ids of removed
    /// cgroups go).
    fn walk(&mut self) {
        self.walked = Some(self.generation);
        let Some(mount) = &self.mount else {
            return;
        };
        let root_id = match fs::metadata(mount) {
            Ok(meta) => meta.ino(),
            Err(e) => {
                self.problem = Some(format!(
                    "cannot read {}: {}: no workloads",
                    mount.display(),
                    describe(&e)
                ));
                return;
            }
        };
        let mut paths = HashMap::with_capacity(self.paths.len());
        let stats = walk(mount, "/", root_id, &mut paths);
        self.problem = stats.problem(mount);
        self.paths = paths;
    }
}

/// What one walk could not see.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct WalkStats {
    /// Cgroups whose directory could not be listed for lack of permission.
    denied: usize,
    /// Cgroups that could not be listed for another reason.
    failed: usize,
}

impl WalkStats {
    fn problem(self, mount: &Path) -> Option<String> {
        let unread = self.denied + self.failed;
        (unread > 0).then(|| {
            let why = if self.failed == 0 { "permission denied" } else { "permission denied or I/O error" };
            format!(
                "{unread} cgroups under {} could not be listed ({why}): sockets in cgroups below them show no workload",
                mount.display()
            )
        })
    }
}

/// Adds `root` (as `base`, id `root_id`) and every cgroup under it to `paths`. A directory
/// that vanishes mid-walk is skipped; one that cannot be listed is counted.
fn walk(root: &Path, base: &str, root_id: u64, paths: &mut HashMap<u64, String>) -> WalkStats {
    let mut stats = WalkStats::default();
    paths.insert(root_id, base.to_string());
    let mut stack = vec![(root.to_path_buf(), base.to_string())];
    while let Some((dir, path)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                stats.denied += 1;
                continue;
            }
            Err(_) => {
                stats.failed += 1;
                continue;
            }
        };
        for entry in entries {
            // An error here is the directory going away mid-listing: what was read stands.
            let Ok(entry) = entry else { break };
            // d_type: no stat. cgroupfs (kernfs) always fills it.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name();
            let mut child = path.clone();
            if !child.ends_with('/') {
                child.push('/');
            }
            push_name(&mut child, &name);
            paths.insert(entry.ino(), child.clone());
            stack.push((entry.path(), child));
        }
    }
    stats
}

/// Appends a directory name, UTF-8 as is, any other byte as `\xNN`: distinct names stay
/// distinct (U+FFFD would merge them), and the renderer escapes control characters.
fn push_name(out: &mut String, name: &OsStr) {
    push_bytes(out, name.as_bytes());
}

fn push_bytes(out: &mut String, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                out.push_str(text);
                return;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len()).max(1);
                for byte in &rest[..bad.min(rest.len())] {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
                bytes = &rest[bad.min(rest.len())..];
            }
        }
    }
}

/// The first cgroup2 mount of a mountinfo text whose root is `/`, else the first one: its
/// mount point (octal escapes undone) and its root.
fn cgroup2_mount(mountinfo: &[u8]) -> Option<(PathBuf, String)> {
    let mut first = None;
    for line in mountinfo.split(|&b| b == b'\n') {
        // Mount points are raw bytes apart from the escaped space, tab, newline and backslash;
        // procfs parses text, so bytes that are not UTF-8 (a mount we do not want anyway)
        // become U+FFFD there and only that line is affected.
        let line = String::from_utf8_lossy(line);
        let Ok(info) = procfs::process::MountInfo::from_line(&line) else {
            continue;
        };
        if info.fs_type != "cgroup2" {
            continue;
        }
        let mount = PathBuf::from(OsStr::from_bytes(&unescape_octal(
            info.mount_point.as_os_str().as_bytes(),
        )));
        if info.root == "/" {
            return Some((mount, info.root));
        }
        first.get_or_insert((mount, info.root));
    }
    first
}

/// Undoes mountinfo's `\NNN` octal escapes (`show_mountinfo()`, `mangle()` in fs/proc_namespace.c).
fn unescape_octal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(digits) = bytes.get(i + 1..i + 4) {
                if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                    let value = digits.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                    if let Ok(byte) = u8::try_from(value) {
                        out.push(byte);
                        i += 4;
                        continue;
                    }
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Whether `self` is in another cgroup namespace than pid 1. Unknown (pid 1's link is not
/// readable without privileges, or a sandbox refuses it) counts as no.
fn own_cgroup_namespace(proc_root: &Path) -> bool {
    match (
        fs::read_link(proc_root.join("self/ns/cgroup")),
        fs::read_link(proc_root.join("1/ns/cgroup")),
    ) {
        (Ok(own), Ok(init)) => own != init,
        _ => false,
    }
}

/// The cgroup v2 path of process `pid` (the `0::` line of `/proc/PID/cgroup`).
///
/// Read by hand, not with procfs's `ProcessCGroups`: that reads the file as UTF-8 lines, and
/// one cgroup path with other bytes (untrusted: anyone with a delegated subtree names cgroups)
/// fails the whole file. A cgroup removed since (the process is a zombie, or a socket outlived
/// it) is shown by the kernel with ` (deleted)` after the path (`proc_cgroup_show()`): the
/// path is given without it, so the workload is still recognised.
pub fn process_cgroup(proc_root: &Path, pid: u32) -> Option<String> {
    let bytes = fs::read(proc_root.join(pid.to_string()).join("cgroup")).ok()?;
    parse_process_cgroup(&bytes)
}

/// The `0::PATH` line of a `/proc/PID/cgroup` text.
fn parse_process_cgroup(bytes: &[u8]) -> Option<String> {
    let line = bytes
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"0::"))?;
    let line = line.strip_suffix(b" (deleted)").unwrap_or(line);
    if !line.starts_with(b"/") {
        return None;
    }
    let mut path = String::with_capacity(line.len());
    push_bytes(&mut path, line);
    Some(path)
}

/// The runtimes' files under a root (`/`, or `--host-root`), read once per container.
///
/// Where the names come from, first found first:
/// - Docker: `var/lib/docker/containers/<id>/config.v2.json` (`Name`; the kubelet's labels
///   for dockershim pods), rootless under the user's `~/.local/share/docker`;
/// - Podman: `var/lib/containers/storage/overlay-containers/containers.json` (rootful) or
///   the user's `~/.local/share/containers/...` (rootless, the home from `etc/passwd` under
///   the root), read again only when it changed;
/// - containerd: the OCI bundle `run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/
///   config.json`, its `io.kubernetes.cri.*` annotations (`nerdctl/name` in namespace
///   `default` outside Kubernetes); a sandbox is named `POD`, as the kubelet names it
///   (`leaky.PodInfraContainerName`);
/// - CRI-O: `run/containers/storage/overlay-containers/<id>/userdata/config.json`, its
///   `io.kubernetes.*` annotations;
/// - then, for what is still missing in a pod: the kubelet's log directories,
///   `var/log/pods/<namespace>_<pod>_<uid>/` and
///   `var/log/containers/<pod>_<namespace>_<container>-<id>.log`, listed again only when they
///   changed.
///
/// Never fails: a file that is absent gives no names (the container is gone, or that runtime
/// is not used); one that cannot be read or parsed is a problem, said once per place.
#[derive(Debug, Default)]
pub struct RuntimeFiles {
    pub root: PathBuf,
    /// What could not be read, said once per place (e.g. "/var/lib/docker: permission
    /// denied: container names hidden").
    pub problems: Vec<String>,
    cache: HashMap<String, Names>,
    /// Places already in `problems`.
    noted: HashSet<PathBuf>,
    /// Podman's `containers.json` files: id -> first name, and the mtime read.
    podman: HashMap<PathBuf, Listing<HashMap<String, String>>>,
    /// `var/log/pods`: pod uid -> (namespace, pod).
    pod_logs: Option<Listing<HashMap<String, (String, String)>>>,
    /// `var/log/containers`: container id -> names.
    container_logs: Option<Listing<HashMap<String, Names>>>,
}

/// Something read from a file or directory, with its mtime when read.
#[derive(Debug)]
struct Listing<T> {
    modified: Option<SystemTime>,
    value: T,
}

impl RuntimeFiles {
    pub fn new(root: &Path) -> RuntimeFiles {
        RuntimeFiles {
            root: root.to_path_buf(),
            ..RuntimeFiles::default()
        }
    }

    /// The names of a recognised workload: a container's (and its pod's) by container id, a
    /// pod's own cgroup by pod uid; nothing for the rest (LXC and nspawn names are in the
    /// path). Cached, found or not.
    pub fn names(&mut self, recognised: &Recognised) -> Names {
        let key = match (&recognised.container_id, &recognised.pod_uid) {
            (Some(id), _) => id.clone(),
            (None, Some(uid)) => format!("pod {uid}"),
            (None, None) => return Names::default(),
        };
        if let Some(names) = self.cache.get(&key) {
            return names.clone();
        }
        let names = self.find(recognised);
        self.cache.insert(key, names.clone());
        names
    }

    fn find(&mut self, r: &Recognised) -> Names {
        let mut names = Names::default();
        let in_pod = r.kind == Some(WorkloadKind::Pod);
        if let Some(id) = &r.container_id {
            let runtime = r.runtime;
            let maybe = |wanted: Runtime| runtime.is_none() || runtime == Some(wanted);
            if maybe(Runtime::Containerd) {
                fill(
                    &mut names,
                    self.containerd(id, in_pod),
                    Some(Runtime::Containerd),
                );
            }
            if maybe(Runtime::CriO) && in_pod {
                fill(&mut names, self.crio(id), Some(Runtime::CriO));
            }
            if maybe(Runtime::Docker) {
                fill(&mut names, self.docker(id, r.user), Some(Runtime::Docker));
            }
            if runtime == Some(Runtime::Podman) {
                fill(&mut names, self.podman(id, r.user), Some(Runtime::Podman));
            }
            if in_pod && (names.container.is_none() || names.pod.is_none()) {
                fill(&mut names, self.container_log(id), None);
            }
        }
        if let (Some(uid), true) = (&r.pod_uid, names.pod.is_none()) {
            if let Some((namespace, pod)) = self.pod_log(uid) {
                names.namespace.get_or_insert(namespace);
                names.pod.get_or_insert(pod);
            }
        }
        names
    }

    fn docker(&mut self, id: &str, user: Option<u32>) -> Option<Names> {
        let mut places = vec![self.root.join("var/lib/docker")];
        if let Some(home) = user.filter(|&uid| uid != 0).and_then(|uid| self.home(uid)) {
            places.push(home.join(".local/share/docker"));
        }
        places.into_iter().find_map(|place| {
            let file = place.join("containers").join(id).join("config.v2.json");
            let bytes = self.read(&place, &file)?;
            self.parsed(&file, parse_docker_config(&bytes))
        })
    }

    fn podman(&mut self, id: &str, user: Option<u32>) -> Option<Names> {
        let storage = match user.filter(|&uid| uid != 0) {
            Some(uid) => self.home(uid)?.join(".local/share/containers/storage"),
            None => self.root.join("var/lib/containers/storage"),
        };
        let file = storage.join("overlay-containers/containers.json");
        let modified = fs::metadata(&file).and_then(|m| m.modified()).ok();
        let stale = self
            .podman
            .get(&file)
            .is_none_or(|listing| listing.modified != modified && !listing.value.contains_key(id));
        if stale {
            let value = self
                .read(&storage, &file)
                .and_then(|bytes| self.parsed(&file, parse_podman_containers(&bytes)))
                .unwrap_or_default();
            self.podman
                .insert(file.clone(), Listing { modified, value });
        }
        let name = self.podman.get(&file)?.value.get(id)?.clone();
        Some(Names {
            container: Some(name),
            ..Names::default()
        })
    }

    fn containerd(&mut self, id: &str, in_pod: bool) -> Option<Names> {
        let place = self.root.join("run/containerd");
        let namespace = if in_pod { "k8s.io" } else { "default" };
        let file = place
            .join("io.containerd.runtime.v2.task")
            .join(namespace)
            .join(id)
            .join("config.json");
        let bytes = self.read(&place, &file)?;
        self.parsed(&file, parse_oci_annotations(&bytes))
    }

    fn crio(&mut self, id: &str) -> Option<Names> {
        let place = self.root.join("run/containers/storage");
        let file = place
            .join("overlay-containers")
            .join(id)
            .join("userdata/config.json");
        let bytes = self.read(&place, &file)?;
        self.parsed(&file, parse_oci_annotations(&bytes))
    }

    fn container_log(&mut self, id: &str) -> Option<Names> {
        let dir = self.root.join("var/log/containers");
        let modified = fs::metadata(&dir).and_then(|m| m.modified()).ok();
        let stale = self
            .container_logs
            .as_ref()
            .is_none_or(|listing| listing.modified != modified && !listing.value.contains_key(id));
        if stale {
            let value = self
                .list(&dir)
                .into_iter()
                .filter_map(|name| parse_container_log_name(&name))
                .collect();
            self.container_logs = Some(Listing { modified, value });
        }
        self.container_logs.as_ref()?.value.get(id).cloned()
    }

    fn pod_log(&mut self, uid: &str) -> Option<(String, String)> {
        let dir = self.root.join("var/log/pods");
        let modified = fs::metadata(&dir).and_then(|m| m.modified()).ok();
        let stale = self
            .pod_logs
            .as_ref()
            .is_none_or(|listing| listing.modified != modified && !listing.value.contains_key(uid));
        if stale {
            let value = self
                .list(&dir)
                .into_iter()
                .filter_map(|name| parse_pod_log_name(&name))
                .map(|(namespace, pod, uid)| (uid, (namespace, pod)))
                .collect();
            self.pod_logs = Some(Listing { modified, value });
        }
        self.pod_logs.as_ref()?.value.get(uid).cloned()
    }

    /// The home directory of `uid` in `etc/passwd` under the root (the host's, not ours: NSS
    /// would ask this machine; users only in LDAP have no rootless names).
    fn home(&mut self, uid: u32) -> Option<PathBuf> {
        let etc = self.root.join("etc");
        let file = etc.join("passwd");
        let bytes = self.read(&etc, &file)?;
        let home = passwd_home(&String::from_utf8_lossy(&bytes), uid)?;
        Some(self.root.join(home.trim_start_matches('/')))
    }

    /// The names in a directory (UTF-8 ones: Kubernetes names are ASCII).
    fn list(&mut self, dir: &Path) -> Vec<String> {
        match fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().into_string().ok())
                .collect(),
            Err(e) => {
                self.note(dir, dir, &e);
                Vec::new()
            }
        }
    }

    /// A file's bytes; `None` and a problem (once per `place`) when it cannot be read, `None`
    /// alone when it is absent.
    fn read(&mut self, place: &Path, file: &Path) -> Option<Vec<u8>> {
        match fs::read(file) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.note(place, file, &e);
                None
            }
        }
    }

    fn note(&mut self, place: &Path, file: &Path, e: &io::Error) {
        if matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ) {
            return;
        }
        if self.noted.insert(place.to_path_buf()) {
            let shown = if e.kind() == io::ErrorKind::PermissionDenied {
                place
            } else {
                file
            };
            self.problems.push(format!(
                "{}: {}: container names hidden",
                shown.display(),
                describe(e)
            ));
        }
    }

    /// A parser's result; a problem (once per file) when it failed.
    fn parsed<T>(&mut self, file: &Path, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(why) => {
                if self.noted.insert(file.to_path_buf()) {
                    self.problems
                        .push(format!("{}: {why}: names from it skipped", file.display()));
                }
                None
            }
        }
    }
}

/// Fills what `names` lacks from `more`.
/// Fills what `names` lacks from `more`, found in `runtime`'s files (`None`: files every
/// runtime writes, such as the kubelet's logs).
fn fill(names: &mut Names, more: Option<Names>, runtime: Option<Runtime>) {
    let Some(more) = more else { return };
    if names.runtime.is_none() {
        names.runtime = runtime;
    }
    if names.container.is_none() {
        names.container = more.container;
    }
    if names.pod.is_none() {
        names.pod = more.pod;
    }
    if names.namespace.is_none() {
        names.namespace = more.namespace;
    }
}

/// An I/O error as a user reads it: "permission denied", not "Permission denied (os error 13)".
fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::NotFound => "not found".to_string(),
        _ => e.to_string(),
    }
}

/// The part of Docker's `config.v2.json` we read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DockerConfig {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Config")]
    config: DockerInner,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DockerInner {
    #[serde(rename = "Labels")]
    labels: Option<HashMap<String, String>>,
}

/// A Docker container's name (`"Name":"/web"` -> `web`), and for a dockershim pod's container
/// the kubelet's labels (`io.kubernetes.container.name`, `.pod.name`, `.pod.namespace`).
fn parse_docker_config(bytes: &[u8]) -> Result<Names, String> {
    let config: DockerConfig = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let labels = config.config.labels.unwrap_or_default();
    let name = config.name.trim_start_matches('/');
    let mut names = kubernetes_names(
        &labels,
        "io.kubernetes.container.name",
        "io.kubernetes.pod.name",
        "io.kubernetes.pod.namespace",
    );
    if names.container.is_none() && !name.is_empty() {
        names.container = Some(name.to_string());
    }
    Ok(names)
}

/// One entry of Podman's `containers.json` (containers/storage).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PodmanEntry {
    id: String,
    names: Vec<String>,
}

/// Podman's (containers/storage's) `containers.json`: container id -> its first name.
fn parse_podman_containers(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let entries: Vec<PodmanEntry> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    Ok(entries
        .into_iter()
        .filter_map(|e| Some((e.id, e.names.into_iter().next()?)))
        .collect())
}

/// The part of an OCI runtime `config.json` we read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OciConfig {
    annotations: Option<HashMap<String, String>>,
}

/// Names from an OCI bundle's annotations: containerd's CRI (`io.kubernetes.cri.container-name`,
/// `.sandbox-name`, `.sandbox-namespace`; a sandbox, `container-type` `sandbox`, is `POD`),
/// CRI-O's (`io.kubernetes.container.name`, `io.kubernetes.pod.name`,
/// `io.kubernetes.pod.namespace`), nerdctl's (`nerdctl/name`).
fn parse_oci_annotations(bytes: &[u8]) -> Result<Names, String> {
    let config: OciConfig = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let a = config.annotations.unwrap_or_default();
    let mut names = kubernetes_names(
        &a,
        "io.kubernetes.cri.container-name",
        "io.kubernetes.cri.sandbox-name",
        "io.kubernetes.cri.sandbox-namespace",
    );
    if names.container.is_none()
        && a.get("io.kubernetes.cri.container-type")
            .map(String::as_str)
            == Some("sandbox")
    {
        names.container = Some("POD".to_string());
    }
    fill(
        &mut names,
        Some(kubernetes_names(
            &a,
            "io.kubernetes.container.name",
            "io.kubernetes.pod.name",
            "io.kubernetes.pod.namespace",
        )),
        None,
    );
    if names.container.is_none() {
        names.container = a.get("nerdctl/name").filter(|n| !n.is_empty()).cloned();
    }
    Ok(names)
}

fn kubernetes_names(
    map: &HashMap<String, String>,
    container: &str,
    pod: &str,
    namespace: &str,
) -> Names {
    let get = |key: &str| map.get(key).filter(|v| !v.is_empty()).cloned();
    Names {
        container: get(container),
        pod: get(pod),
        namespace: get(namespace),
        runtime: None,
    }
}

/// `<namespace>_<pod>_<uid>` (a `var/log/pods` entry) -> (namespace, pod, uid). Kubernetes
/// names and uids hold no `_`.
fn parse_pod_log_name(name: &str) -> Option<(String, String, String)> {
    let mut parts = name.split('_');
    let (namespace, pod, uid) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [namespace, pod, uid].iter().any(|p| p.is_empty()) {
        return None;
    }
    Some((namespace.to_string(), pod.to_string(), uid.to_string()))
}

/// `<pod>_<namespace>_<container>-<id>.log` (a `var/log/containers` entry) -> (id, names).
fn parse_container_log_name(name: &str) -> Option<(String, Names)> {
    let (rest, id) = name.strip_suffix(".log")?.rsplit_once('-')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut parts = rest.split('_');
    let (pod, namespace, container) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [pod, namespace, container].iter().any(|p| p.is_empty()) {
        return None;
    }
    Some((
        id.to_string(),
        Names {
            container: Some(container.to_string()),
            pod: Some(pod.to_string()),
            namespace: Some(namespace.to_string()),
            runtime: None,
        },
    ))
}

/// The home directory of `uid` in a passwd text (`name:x:uid:gid:gecos:home:shell`).
fn passwd_home(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 7 && fields[2].parse() == Ok(uid) && fields[5].starts_with('/'))
            .then(|| fields[5].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const ID: &str = "fa7f0ec4fbcbb70c69565a5b2d269926e04ec5601dff59235199d6e60198e95c";
    const UID: &str = "dc380811-8168-4a9e-9b4a-56ded1b6fe9c";

    /// This machine's mountinfo (a v1/v2 hybrid), cut to the cgroup lines and one more.
    const HYBRID: &str = "\
23 28 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    /// A pure v2 host (Debian 12, systemd).
    const PURE: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    /// In a container without its own cgroup namespace: the host's hierarchy, bound from the
    /// container's subtree.
    const BOUND: &str = "\
612 610 0:26 /system.slice/docker-fa7f0ec4fbcbb70c69565a5b2d269926e04ec5601dff59235199d6e60198e95c.scope /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate
";

    /// A fresh directory under the temporary directory, removed (modes restored) on drop.
    struct TempRoot(PathBuf);

    impl TempRoot {
        fn new(name: &str) -> TempRoot {
            let dir =
                std::env::temp_dir().join(format!("tcpstat-cgroups-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create temp root");
            TempRoot(dir)
        }
    }

    impl std::ops::Deref for TempRoot {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(
                self.0.join("var/lib/docker"),
                fs::Permissions::from_mode(0o755),
            );
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Cgroups made by a test, removed (deepest first) on drop, even when it fails.
    struct MadeCgroups(Vec<PathBuf>);

    impl Drop for MadeCgroups {
        fn drop(&mut self) {
            for dir in self.0.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
        }
    }

    fn write(root: &Path, path: &str, text: &str) {
        let file = root.join(path);
        fs::create_dir_all(file.parent().expect("filesystem setup")).expect("filesystem setup");
        fs::File::create(file)
            .expect("present")
            .write_all(text.as_bytes())
            .expect("present");
    }

    /// Says why a test cannot run here; under CI that is a failure (the project's rule: skips
    /// never hide under CI).
    fn skip(reason: &str) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this: {reason}"
        );
        let _ = writeln!(io::stderr(), "skipped: {reason}");
    }

    #[test]
    fn finds_the_cgroup2_mount_hybrid_pure_and_bound() {
        assert_eq!(
            cgroup2_mount(HYBRID.as_bytes()),
            Some((PathBuf::from("/sys/fs/cgroup/unified"), "/".to_string()))
        );
        assert_eq!(
            cgroup2_mount(PURE.as_bytes()),
            Some((PathBuf::from("/sys/fs/cgroup"), "/".to_string()))
        );
        let (mount, root) = cgroup2_mount(BOUND.as_bytes()).expect("parses");
        assert_eq!(mount, PathBuf::from("/sys/fs/cgroup"));
        assert!(root.starts_with("/system.slice/docker-"));
        // The root mount wins over a bound subtree, whatever the order.
        let both = format!("{BOUND}{PURE}");
        assert_eq!(cgroup2_mount(both.as_bytes()).expect("parses").1, "/");
        // Escaped mount points, a line that is not UTF-8 and garbage do not stop the search.
        let odd = b"1 2 0:1 / /mnt/caf\xe9 rw - ext4 /dev/sda1 rw\ngarbage\n\n9 1 0:40 / /run/my\\040cgroups rw - cgroup2 none rw\n";
        assert_eq!(
            cgroup2_mount(odd),
            Some((PathBuf::from("/run/my cgroups"), "/".to_string()))
        );
        assert_eq!(
            cgroup2_mount(b"31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"),
            None
        );
        assert_eq!(unescape_octal(b"a\\134b\\011c\\999\\"), b"a\\b\tc\\999\\");
    }

    #[test]
    fn open_says_what_it_could_not_find() {
        let proc_root = TempRoot::new("open");
        let cgroups = Cgroups::open(&proc_root);
        assert_eq!(cgroups.mount, None);
        assert!(cgroups.problem.expect("a note").contains("cannot read"));

        write(
            &proc_root,
            "self/mountinfo",
            "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n",
        );
        let cgroups = Cgroups::open(&proc_root);
        assert!(cgroups
            .problem
            .expect("a note")
            .starts_with("no cgroup2 mount in"));

        write(&proc_root, "self/mountinfo", BOUND);
        let cgroups = Cgroups::open(&proc_root);
        assert_eq!(cgroups.problem, None);
        assert!(cgroups
            .namespaced
            .as_deref()
            .expect("a note")
            .contains("relative"));
        assert_eq!(cgroups.mount.as_deref(), Some(Path::new("/sys/fs/cgroup")));

        // Different cgroup namespaces for self and pid 1.
        write(&proc_root, "self/mountinfo", PURE);
        fs::create_dir_all(proc_root.join("1/ns")).expect("filesystem setup");
        std::os::unix::fs::symlink("cgroup:[4026531835]", proc_root.join("1/ns/cgroup"))
            .expect("filesystem setup");
        fs::create_dir_all(proc_root.join("self/ns")).expect("filesystem setup");
        std::os::unix::fs::symlink("cgroup:[4026532700]", proc_root.join("self/ns/cgroup"))
            .expect("present");
        let cgroups = Cgroups::open(&proc_root);
        assert!(cgroups
            .namespaced
            .expect("a note")
            .contains("cgroup namespace"));

        // No mount: every id is unknown, and --cgroup says why.
        let mut none = Cgroups::default();
        assert_eq!(none.path(1), None);
        assert!(none.subtree("/system.slice").is_err());
    }

    #[test]
    fn reads_the_unified_line_of_proc_pid_cgroup() {
        // This machine: hybrid, v1 lines first.
        let hybrid = b"9:name=systemd:/\n4:memory:/process_api/13c6\n1:cpu:/\n0::/system.slice/nginx.service\n";
        assert_eq!(
            parse_process_cgroup(hybrid).as_deref(),
            Some("/system.slice/nginx.service")
        );
        assert_eq!(parse_process_cgroup(b"0::/\n").as_deref(), Some("/"));
        assert_eq!(
            parse_process_cgroup(b"0::/system.slice/gone.service (deleted)\n").as_deref(),
            Some("/system.slice/gone.service")
        );
        assert_eq!(
            parse_process_cgroup(b"0::/odd\xff\x01name\n").as_deref(),
            Some("/odd\\xff\u{1}name")
        );
        // cgroup v1 only, empty, garbage.
        assert_eq!(parse_process_cgroup(b"1:cpu:/\n"), None);
        assert_eq!(parse_process_cgroup(b""), None);
        assert_eq!(parse_process_cgroup(b"0::relative\n"), None);
        // Live: our own process has one, a pid that cannot exist has none.
        let own = process_cgroup(Path::new("/proc"), std::process::id());
        if Path::new("/sys/fs/cgroup/unified").exists()
            || Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        {
            assert!(own.is_some_and(|p| p.starts_with('/')));
        }
        assert_eq!(process_cgroup(Path::new("/proc"), u32::MAX), None);
    }

    #[test]
    fn names_from_docker_config() {
        // Excerpt of a real config.v2.json (Docker 24, `docker run -d --name web nginx`).
        let config = format!(
            r#"{{"StreamConfig":{{}},"State":{{"Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"RemovalInProgress":false,"Dead":false,"Pid":23117,"ExitCode":0,"Error":"","StartedAt":"2024-05-02T09:14:03.183545027Z","FinishedAt":"0001-01-01T00:00:00Z","Health":null}},"ID":"{ID}","Created":"2024-05-02T09:14:02.853911458Z","Managed":false,"Path":"/docker-entrypoint.sh","Args":["nginx","-g","daemon off;"],"Config":{{"Hostname":"fa7f0ec4fbcb","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{{"80/tcp":{{}}}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NGINX_VERSION=1.25.5"],"Cmd":["nginx","-g","daemon off;"],"Image":"nginx","Volumes":null,"WorkingDir":"","Entrypoint":["/docker-entrypoint.sh"],"OnBuild":null,"Labels":{{"maintainer":"NGINX Docker Maintainers <docker-maint@nginx.com>"}},"StopSignal":"SIGQUIT"}},"Image":"sha256:7383c266ef252ad70806f3072ee8e63d2a16d1e6bafa6146a2da867fc7c41759","NetworkSettings":{{"Bridge":"","SandboxID":"6a2c0b1f","HairpinMode":false}},"LogPath":"/var/lib/docker/containers/{ID}/{ID}-json.log","Name":"/web","Driver":"overlay2","OS":"linux","RestartCount":0,"HasBeenStartedBefore":true,"HasBeenManuallyStopped":false,"MountPoints":{{}},"AppArmorProfile":"docker-default","HostnamePath":"/var/lib/docker/containers/{ID}/hostname"}}"#
        );
        let names = parse_docker_config(config.as_bytes()).expect("parses");
        assert_eq!(
            names,
            Names {
                container: Some("web".into()),
                ..Names::default()
            }
        );
        // dockershim: the kubelet's labels name the pod too.
        let shim = r#"{"Name":"/k8s_nginx_web-7d4b9c-x2x8q_shop_dc380811_0","Config":{"Labels":{"io.kubernetes.container.name":"nginx","io.kubernetes.pod.name":"web-7d4b9c-x2x8q","io.kubernetes.pod.namespace":"shop","io.kubernetes.pod.uid":"dc380811-8168-4a9e-9b4a-56ded1b6fe9c"}}}"#;
        let names = parse_docker_config(shim.as_bytes()).expect("parses");
        assert_eq!(names.container.as_deref(), Some("nginx"));
        assert_eq!(names.pod.as_deref(), Some("web-7d4b9c-x2x8q"));
        assert_eq!(names.namespace.as_deref(), Some("shop"));
        // Labels null, no name, malformed.
        assert_eq!(
            parse_docker_config(br#"{"Config":{"Labels":null}}"#).expect("parses"),
            Names::default()
        );
        assert!(parse_docker_config(b"{\"Name\":").is_err());
        assert!(parse_docker_config(b"\"web\"").is_err());
    }

    #[test]
    fn names_from_podman_containers_json() {
        // containers/storage's overlay-containers/containers.json, as podman 4.3 writes it.
        let json = format!(
            r#"[{{"id":"{ID}","names":["web","web-alias"],"image":"7383c266ef252ad70806f3072ee8e63d2a16d1e6bafa6146a2da867fc7c41759","layer":"b0c1d3f8e6a4","metadata":"{{\"image-name\":\"docker.io/library/nginx:latest\",\"image-id\":\"7383c266ef25\",\"name\":\"web\",\"created-at\":1714641243,\"mountlabel\":\"\"}}","created":"2024-05-02T09:14:03.5Z","flags":{{"MountLabel":"","ProcessLabel":""}}}},{{"id":"0123456789ab","names":[]}}]"#
        );
        let map = parse_podman_containers(json.as_bytes()).expect("parses");
        assert_eq!(map.get(ID).map(String::as_str), Some("web"));
        assert_eq!(map.len(), 1);
        assert!(parse_podman_containers(b"{}").is_err());
        assert_eq!(parse_podman_containers(b"[]").expect("parses").len(), 0);
    }

    /// An OCI bundle's config.json as containerd's CRI plugin writes it (cut).
    fn containerd_bundle(kind: &str) -> String {
        format!(
            r#"{{"ociVersion":"1.1.0","process":{{"user":{{"uid":101,"gid":101}},"args":["nginx","-g","daemon off;"],"env":["PATH=/usr/local/bin:/usr/bin","HOSTNAME=web-7d4b9c-x2x8q"],"cwd":"/"}},"root":{{"path":"rootfs"}},"hostname":"web-7d4b9c-x2x8q","annotations":{{"io.kubernetes.cri.container-name":"{}","io.kubernetes.cri.container-type":"{kind}","io.kubernetes.cri.image-name":"docker.io/library/nginx:1.25","io.kubernetes.cri.sandbox-id":"5e0b6a5c3b1a1c8f","io.kubernetes.cri.sandbox-name":"web-7d4b9c-x2x8q","io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.sandbox-uid":"{UID}"}},"linux":{{"cgroupsPath":"kubepods-burstable-poddc380811_8168_4a9e_9b4a_56ded1b6fe9c.slice:cri-containerd:{ID}"}}}}"#,
            if kind == "sandbox" { "" } else { "nginx" }
        )
    }

    /// The same, as CRI-O writes it under userdata/ (cut).
    const CRIO_CONFIG: &str = r#"{"ociVersion":"1.0.2-dev","process":{"args":["/agnhost","netexec"]},"annotations":{"io.container.manager":"cri-o","io.kubernetes.container.hash":"9f0e1a2b","io.kubernetes.container.name":"agnhost","io.kubernetes.cri-o.ContainerType":"container","io.kubernetes.cri-o.Name":"k8s_agnhost_net-0_e2e_1f3a_0","io.kubernetes.pod.name":"net-0","io.kubernetes.pod.namespace":"e2e","io.kubernetes.pod.uid":"1f3a5c7e-0b2d-4f6a-8c9e-0a1b2c3d4e5f"},"linux":{"cgroupsPath":"kubepods-besteffort-pod1f3a5c7e_0b2d_4f6a_8c9e_0a1b2c3d4e5f.slice:crio:0123"}}"#;

    #[test]
    fn names_from_oci_annotations() {
        let names =
            parse_oci_annotations(containerd_bundle("container").as_bytes()).expect("parses");
        assert_eq!(
            names,
            Names {
                container: Some("nginx".into()),
                pod: Some("web-7d4b9c-x2x8q".into()),
                namespace: Some("shop".into()),
                runtime: None,
            }
        );
        let sandbox =
            parse_oci_annotations(containerd_bundle("sandbox").as_bytes()).expect("parses");
        assert_eq!(sandbox.container.as_deref(), Some("POD"));
        let names = parse_oci_annotations(CRIO_CONFIG.as_bytes()).expect("parses");
        assert_eq!(names.container.as_deref(), Some("agnhost"));
        assert_eq!(names.pod.as_deref(), Some("net-0"));
        assert_eq!(names.namespace.as_deref(), Some("e2e"));
        let nerdctl =
            parse_oci_annotations(br#"{"annotations":{"nerdctl/name":"redis"}}"#).expect("parses");
        assert_eq!(nerdctl.container.as_deref(), Some("redis"));
        assert_eq!(
            parse_oci_annotations(b"{}").expect("parses"),
            Names::default()
        );
        assert!(parse_oci_annotations(b"\xff").is_err());
    }

    #[test]
    fn names_from_kubelet_log_directories() {
        assert_eq!(
            parse_pod_log_name(&format!("shop_web-7d4b9c-x2x8q_{UID}")),
            Some(("shop".into(), "web-7d4b9c-x2x8q".into(), UID.into()))
        );
        assert_eq!(parse_pod_log_name("a_b"), None);
        assert_eq!(parse_pod_log_name("a_b_c_d"), None);
        assert_eq!(parse_pod_log_name("a__c"), None);
        let (id, names) =
            parse_container_log_name(&format!("web-7d4b9c-x2x8q_shop_nginx-{ID}.log"))
                .expect("parses");
        assert_eq!(id, ID);
        assert_eq!(names.container.as_deref(), Some("nginx"));
        assert_eq!(names.pod.as_deref(), Some("web-7d4b9c-x2x8q"));
        assert_eq!(names.namespace.as_deref(), Some("shop"));
        assert_eq!(parse_container_log_name("x_y_z-nothex.log"), None);
        assert_eq!(parse_container_log_name(&format!("x_y-{ID}.log")), None);
        assert_eq!(parse_container_log_name("x_y_z-abc"), None);
        let passwd = "root:x:0:0:root:/root:/bin/bash\nbroken\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n";
        assert_eq!(passwd_home(passwd, 1000).as_deref(), Some("/home/alice"));
        assert_eq!(passwd_home(passwd, 1001), None);
    }

    #[test]
    fn runtime_files_under_a_root() {
        let root = TempRoot::new("runtime");
        let pod = |runtime, id: &str| Recognised {
            kind: Some(WorkloadKind::Pod),
            runtime,
            container_id: Some(id.to_string()),
            pod_uid: Some(UID.to_string()),
            ..Recognised::default()
        };
        let container = |runtime, id: &str, user| Recognised {
            kind: Some(WorkloadKind::Container),
            runtime: Some(runtime),
            container_id: Some(id.to_string()),
            user,
            ..Recognised::default()
        };
        let docker_id = "1".repeat(64);
        let podman_id = "2".repeat(64);
        let rootless_id = "3".repeat(64);
        let containerd_id = "4".repeat(64);
        let crio_id = "5".repeat(64);
        let logged_id = "6".repeat(64);
        let broken_id = "7".repeat(64);
        write(
            &root,
            &format!("var/lib/docker/containers/{docker_id}/config.v2.json"),
            r#"{"Name":"/web"}"#,
        );
        write(
            &root,
            &format!("var/lib/docker/containers/{broken_id}/config.v2.json"),
            r#"{"Name":"#,
        );
        write(
            &root,
            "var/lib/containers/storage/overlay-containers/containers.json",
            &format!(r#"[{{"id":"{podman_id}","names":["db"]}}]"#),
        );
        write(
            &root,
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        );
        write(
            &root,
            "home/alice/.local/share/containers/storage/overlay-containers/containers.json",
            &format!(r#"[{{"id":"{rootless_id}","names":["toolbox"]}}]"#),
        );
        write(
            &root,
            &format!(
                "run/containerd/io.containerd.runtime.v2.task/k8s.io/{containerd_id}/config.json"
            ),
            &containerd_bundle("container"),
        );
        write(
            &root,
            &format!("run/containers/storage/overlay-containers/{crio_id}/userdata/config.json"),
            CRIO_CONFIG,
        );
        write(
            &root,
            &format!("var/log/pods/shop_web-7d4b9c-x2x8q_{UID}/nginx/0.log"),
            "",
        );
        write(
            &root,
            &format!("var/log/containers/api-0_prod_app-{logged_id}.log"),
            "",
        );

        let mut files = RuntimeFiles::new(&root);
        let n = files.names(&container(Runtime::Docker, &docker_id, None));
        assert_eq!(n.container.as_deref(), Some("web"));
        let n = files.names(&container(Runtime::Podman, &podman_id, None));
        assert_eq!(n.container.as_deref(), Some("db"));
        let n = files.names(&container(Runtime::Podman, &rootless_id, Some(1000)));
        assert_eq!(n.container.as_deref(), Some("toolbox"));
        let n = files.names(&pod(Some(Runtime::Containerd), &containerd_id));
        assert_eq!(n.namespace.as_deref(), Some("shop"));
        assert_eq!(n.container.as_deref(), Some("nginx"));
        // cgroupfs driver: the runtime is not in the path; its files say.
        let n = files.names(&pod(None, &crio_id));
        assert_eq!(n.container.as_deref(), Some("agnhost"));
        // No bundle: the kubelet's log names.
        let n = files.names(&pod(None, &logged_id));
        assert_eq!(
            (
                n.namespace.as_deref(),
                n.pod.as_deref(),
                n.container.as_deref()
            ),
            (Some("prod"), Some("api-0"), Some("app"))
        );
        // The pod's own cgroup, and a container of it without any file: the pod from var/log/pods.
        let own = Recognised {
            container_id: None,
            ..pod(None, "")
        };
        let n = files.names(&own);
        assert_eq!(
            (n.namespace.as_deref(), n.pod.as_deref(), n.container),
            (Some("shop"), Some("web-7d4b9c-x2x8q"), None)
        );
        let n = files.names(&pod(Some(Runtime::Containerd), &"8".repeat(64)));
        assert_eq!(
            (n.pod.as_deref(), n.container),
            (Some("web-7d4b9c-x2x8q"), None)
        );
        assert!(files.problems.is_empty(), "{:?}", files.problems);
        // A malformed file: a problem, once, and no names.
        for _ in 0..2 {
            let n = files.names(&container(Runtime::Docker, &broken_id, None));
            assert_eq!(n, Names::default());
        }
        assert_eq!(files.problems.len(), 1, "{:?}", files.problems);
        assert!(files.problems[0].contains("config.v2.json"));
        // Cached: gone from disk, still named; nothing for what no file names.
        fs::remove_dir_all(root.join("var/lib/docker")).expect("present");
        let n = files.names(&container(Runtime::Docker, &docker_id, None));
        assert_eq!(n.container.as_deref(), Some("web"));
        assert_eq!(files.names(&Recognised::default()), Names::default());
        // A new podman container is found: containers.json is read again when it changed.
        let later = "9".repeat(64);
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(
            &root,
            "var/lib/containers/storage/overlay-containers/containers.json",
            &format!(
                r#"[{{"id":"{podman_id}","names":["db"]}},{{"id":"{later}","names":["cache"]}}]"#
            ),
        );
        let n = files.names(&container(Runtime::Podman, &later, None));
        assert_eq!(n.container.as_deref(), Some("cache"));
    }

    /// Permission problems are said once per place (needs a user the modes apply to).
    #[test]
    fn unreadable_places_are_said_once() {
        let root = TempRoot::new("denied");
        let id = "a".repeat(64);
        write(
            &root,
            &format!("var/lib/docker/containers/{id}/config.v2.json"),
            r#"{"Name":"/web"}"#,
        );
        let mut modes = fs::metadata(root.join("var/lib/docker"))
            .expect("present")
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut modes, 0o000);
        fs::set_permissions(root.join("var/lib/docker"), modes.clone()).expect("filesystem setup");
        let mut files = RuntimeFiles::new(&root);
        let r = Recognised {
            kind: Some(WorkloadKind::Container),
            runtime: Some(Runtime::Docker),
            container_id: Some(id.clone()),
            ..Recognised::default()
        };
        let names = files.names(&r);
        if rustix::process::geteuid().is_root() {
            // Root reads through modes: nothing to say.
            assert_eq!(names.container.as_deref(), Some("web"));
            assert!(files.problems.is_empty());
        } else {
            assert_eq!(names, Names::default());
            let r2 = Recognised {
                container_id: Some("b".repeat(64)),
                ..r
            };
            files.names(&r2);
            assert_eq!(files.problems.len(), 1, "{:?}", files.problems);
            assert!(files.problems[0]
                .ends_with("var/lib/docker: permission denied: container names hidden"));
        }
        std::os::unix::fs::PermissionsExt::set_mode(&mut modes, 0o755);
        fs::set_permissions(root.join("var/lib/docker"), modes).expect("filesystem setup");
    }

    #[test]
    fn walks_the_real_unified_hierarchy() {
        let mut cgroups = Cgroups::open(Path::new("/proc"));
        let Some(mount) = cgroups.mount.clone() else {
            return skip(&format!("no cgroup2 here: {:?}", cgroups.problem));
        };
        if !rustix::process::geteuid().is_root() {
            return skip("making cgroups needs root");
        }
        let root_id = fs::metadata(&mount).expect("stat").ino();
        assert_eq!(cgroups.path(root_id), Some("/"));
        let top = format!("tcpstat-test-{}", std::process::id());
        let dir = mount.join(&top);
        let mut made = MadeCgroups(Vec::new());
        for path in [dir.clone(), dir.join("a.slice")] {
            if let Err(e) = fs::create_dir(&path) {
                return skip(&format!(
                    "cannot make a cgroup under {}: {e}",
                    mount.display()
                ));
            }
            made.0.push(path);
        }
        // Odd bytes: not UTF-8, and an escape (cgroup_mkdir() refuses only a newline).
        let odd = OsStr::from_bytes(b"odd\xff\x1bname.scope");
        fs::create_dir(dir.join("a.slice").join(odd)).expect("mkdir odd cgroup");
        made.0.push(dir.join("a.slice").join(odd));
        let id_of = |p: &Path| fs::metadata(p).expect("stat").ino();
        let (top_id, a_id, odd_id) = (
            id_of(&dir),
            id_of(&dir.join("a.slice")),
            id_of(&dir.join("a.slice").join(odd)),
        );

        // Made after the first walk: not found until refresh() allows another.
        assert_eq!(cgroups.path(a_id), None);
        cgroups.refresh();
        assert_eq!(cgroups.path(top_id), Some(format!("/{top}").as_str()));
        assert_eq!(cgroups.path(a_id), Some(format!("/{top}/a.slice").as_str()));
        let odd_path = format!("/{top}/a.slice/odd\\xff\u{1b}name.scope");
        assert_eq!(cgroups.path(odd_id), Some(odd_path.as_str()));
        assert_eq!(cgroups.problem, None);

        let mut ids = cgroups.subtree(&format!("/{top}")).expect("subtree");
        ids.sort_unstable();
        let mut want = vec![top_id, a_id, odd_id];
        want.sort_unstable();
        assert_eq!(ids, want);
        assert_eq!(
            cgroups
                .subtree(&format!("{top}/a.slice/"))
                .expect("subtree")
                .len(),
            2
        );
        assert!(cgroups
            .subtree(&format!("/{top}/nope"))
            .expect_err("an error")
            .starts_with("no cgroup"));
        assert!(cgroups.subtree("/../etc").is_err());

        drop(made);
        // Removed: still named until a walk (a socket can outlive its cgroup's directory, and
        // ids are not reused); the next walk, on a miss after refresh(), forgets them.
        assert!(cgroups.path(a_id).is_some());
        cgroups.refresh();
        assert_eq!(cgroups.path(u64::MAX), None);
        assert_eq!(cgroups.path(a_id), None);
        assert_eq!(cgroups.path(root_id), Some("/"));
    }
}

/// What a whole walk costs on this machine's hierarchy (not a check: run it by hand, e.g.
/// after making thousands of cgroups,
/// `cargo test --release --lib walk_cost -- --ignored --nocapture`).
#[cfg(test)]
mod cost {
    use super::*;
    use std::io::Write as _;

    #[test]
    #[ignore = "a measurement, printed"]
    fn walk_cost() {
        let mut cgroups = Cgroups::open(Path::new("/proc"));
        let mut times = Vec::new();
        for _ in 0..7 {
            cgroups.refresh();
            let start = std::time::Instant::now();
            let _ = cgroups.path(u64::MAX);
            times.push(start.elapsed());
        }
        times.sort();
        let _ = writeln!(
            io::stderr(),
            "walk of {} cgroups: min {:?}, median {:?}, max {:?} ({:?})",
            cgroups.paths.len(),
            times[0],
            times[3],
            times[6],
            cgroups.problem
        );
    }
}
