//! Workloads of sockets: cgroup ids and processes to [`Workload`]s, cached.
//!
//! Owns: [`Resolver`], which turns the cgroup id a socket carries (or, for the /proc source,
//! the pid of its owner) into a recognised, named [`Workload`] through [`Cgroups`] (id ->
//! path) and [`RuntimeFiles`] (container and pod names), remembering every answer, so a run
//! reads the filesystem once per cgroup, never per socket; and the resolution of `--cgroup`
//! and `--workload` into the ids a filter selects. `watch` and `serve` keep one resolver
//! between collections ([`Resolver::refresh`]: new cgroups are found by walking again only
//! when an unknown id turns up).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cgroups::{self, Cgroups, RuntimeFiles};
use crate::model::workload::{Claim, Workload};
use crate::model::OwnerMap;
use crate::model::WorkloadRequest;

/// Cgroup ids and pids to workloads, cached.
#[derive(Debug)]
pub struct Resolver {
    proc_root: PathBuf,
    cgroups: Cgroups,
    files: RuntimeFiles,
    by_id: HashMap<u64, Arc<Workload>>,
    by_path: HashMap<String, Arc<Workload>>,
    /// Ids that were not found in the hierarchy (the cgroup was removed after the socket was
    /// made): counted under a path that says so.
    removed: BTreeSet<u64>,
}

impl Resolver {
    pub fn new(proc_root: &Path, host_root: &Path) -> Resolver {
        Resolver {
            proc_root: proc_root.to_path_buf(),
            cgroups: Cgroups::open(proc_root),
            files: RuntimeFiles::new(host_root),
            by_id: HashMap::new(),
            by_path: HashMap::new(),
            removed: BTreeSet::new(),
        }
    }

    /// Before another collection (a `watch` tick, a scrape): ids not known yet may be looked
    /// up again, and cgroups removed since are forgotten.
    pub fn refresh(&mut self) {
        self.cgroups.refresh();
        self.removed.clear();
        // Removed ids were cached as such; a new walk may not find them either, but it must
        // be allowed to try.
        self.by_id.retain(|_, w| !w.cgroup.starts_with(REMOVED));
    }

    /// Where cgroup2 is mounted, if found.
    pub fn mount(&self) -> Option<&Path> {
        self.cgroups.mount.as_deref()
    }

    /// The workload of cgroup `id` (never 0).
    pub fn of_id(&mut self, id: u64) -> Arc<Workload> {
        if let Some(w) = self.by_id.get(&id) {
            return Arc::clone(w);
        }
        let workload = match self.cgroups.path(id).map(str::to_string) {
            Some(path) => self.of_path(&path),
            None => {
                self.removed.insert(id);
                Arc::new(Workload::from_path(&format!("{REMOVED}{id})")))
            }
        };
        self.by_id.insert(id, Arc::clone(&workload));
        workload
    }

    /// The workload a [`Claim`] names: a cgroup id's, or the cgroup of the first process
    /// holding the socket (`owners`: the owner walk's, where there was one).
    pub fn of_claim(&mut self, claim: Claim, owners: Option<&OwnerMap>) -> Option<Arc<Workload>> {
        match claim {
            Claim::Cgroup(id) => Some(self.of_id(id)),
            Claim::Owner(inode) => {
                let pid = owners?.owner_processes(inode).next()?.pid;
                self.of_pid(pid)
            }
            Claim::None => None,
        }
    }

    /// The workload of process `pid` (its cgroup in /proc/PID/cgroup), `None` when that
    /// cannot be read (the process exited, or hides it).
    pub fn of_pid(&mut self, pid: u32) -> Option<Arc<Workload>> {
        let path = cgroups::process_cgroup(&self.proc_root, pid)?;
        Some(self.of_path(&path))
    }

    fn of_path(&mut self, path: &str) -> Arc<Workload> {
        if let Some(w) = self.by_path.get(path) {
            return Arc::clone(w);
        }
        let mut workload = Workload::from_path(path);
        workload.names = self.files.names(&workload.recognised);
        let workload = Arc::new(workload);
        self.by_path.insert(path.to_string(), Arc::clone(&workload));
        workload
    }

    /// What limits the answers, to be said with them: no cgroup2 mount, paths relative to a
    /// cgroup namespace, runtime files that could not be read, sockets of removed cgroups.
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self.cgroups.problem.iter().cloned().collect();
        notes.extend(self.cgroups.namespaced.iter().cloned());
        notes.extend(self.files.problems.iter().cloned());
        if !self.removed.is_empty() {
            notes.push(format!(
                "{} cgroup id(s) of sockets are no longer in the cgroup hierarchy (the cgroup \
                 was removed while its sockets live on): counted as {REMOVED}ID)",
                self.removed.len()
            ));
        }
        notes
    }

    /// The cgroup ids `--cgroup` and `--workload` select. A path that does not exist, or a
    /// name no workload has, is a usage error (its message).
    pub fn select(&mut self, request: &WorkloadRequest) -> Result<BTreeSet<u64>, String> {
        let mut ids = BTreeSet::new();
        for path in &request.cgroup_paths {
            let path = normalise(path);
            let found = self.cgroups.subtree(&path).map_err(|why| {
                format!("--cgroup {path:?}: {why} (paths are as in /proc/PID/cgroup, e.g. /system.slice/nginx.service)")
            })?;
            ids.extend(found);
        }
        if !request.names.is_empty() {
            let all = self.cgroups.subtree("/").map_err(|why| {
                format!("--workload needs the cgroup hierarchy, which could not be read: {why}")
            })?;
            let mut matched = vec![false; request.names.len()];
            for id in all {
                let workload = self.of_id(id);
                for (i, name) in request.names.iter().enumerate() {
                    if crate::model::workload::answers_to(&workload, name) {
                        matched[i] = true;
                        ids.insert(id);
                    }
                }
            }
            if let Some(i) = matched.iter().position(|m| !m) {
                return Err(format!(
                    "--workload {:?}: no workload has that name (see `tcpstat workloads`; a \
                     systemd unit, container name or id, pod or NAMESPACE/POD)",
                    request.names[i]
                ));
            }
        }
        Ok(ids)
    }
}

impl Resolver {
    /// The socket inodes held by the processes of cgroups `ids` (their `cgroup.procs`, then
    /// each one's `/proc/PID/fd`): what the /proc source has instead of cgroup ids. Processes
    /// that exit meanwhile or cannot be read are skipped.
    pub fn socket_inodes(&mut self, ids: &BTreeSet<u64>) -> BTreeSet<u64> {
        let Some(mount) = self.cgroups.mount.clone() else {
            return BTreeSet::new();
        };
        let mut pids = BTreeSet::new();
        for &id in ids {
            let Some(path) = self.cgroups.path(id) else {
                continue;
            };
            let procs = mount
                .join(path.trim_start_matches('/'))
                .join("cgroup.procs");
            if let Ok(text) = std::fs::read_to_string(procs) {
                pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
            }
        }
        let mut inodes = BTreeSet::new();
        for pid in pids {
            let Ok(fds) = std::fs::read_dir(self.proc_root.join(pid.to_string()).join("fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                if let Ok(target) = std::fs::read_link(fd.path()) {
                    let target = target.as_os_str().as_encoded_bytes();
                    inodes.extend(super::owners::socket_inode(target));
                }
            }
        }
        inodes
    }
}

/// How a socket whose cgroup was removed is shown: `(removed cgroup ID)`.
pub const REMOVED: &str = "(removed cgroup ";

/// `system.slice/x.service` and `/system.slice/x.service/` are the same cgroup.
fn normalise(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_paths_are_normalised() {
        assert_eq!(
            normalise("system.slice/x.service/"),
            "/system.slice/x.service"
        );
        assert_eq!(normalise("/"), "/");
        assert_eq!(normalise("/a"), "/a");
    }
}
