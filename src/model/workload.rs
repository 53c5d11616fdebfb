//! Workloads: which service, container or pod a cgroup is, from its path alone.
//!
//! Owns: [`Recognised`] (what a cgroup v2 path says: systemd unit, container runtime and id,
//! Kubernetes pod uid and QoS class, LXC or nspawn machine), [`recognise`] (one table of
//! recognisers, tried in order: a new runtime is one entry), [`Names`] (the human names the
//! runtimes' files give: container name, pod name and namespace), [`Workload`] (both, with
//! the path) and [`WorkloadBy`] (the grouping a report asks for). No I/O: `collect::cgroups`
//! maps socket cgroup ids to paths and reads the names.

use std::fmt;

/// What holds a cgroup, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    /// A container of a Kubernetes pod (or the pod's sandbox / the pod's own cgroup).
    Pod,
    /// A container outside Kubernetes: Docker, Podman, LXC, systemd-nspawn.
    Container,
    /// A systemd system service (`system.slice/nginx.service`).
    Service,
    /// A systemd user unit (`user.slice/user-1000.slice/user@1000.service/app.slice/x.service`).
    UserService,
    /// Another systemd unit: a scope (`session-3.scope`) or a slice.
    Unit,
    /// The root cgroup: processes no service manager placed anywhere.
    Host,
    /// A path none of the recognisers knows: shown as the path.
    Cgroup,
}

impl WorkloadKind {
    /// The JSON value and metric label: `pod`, `container`, `service`, `user-service`,
    /// `unit`, `host`, `cgroup`.
    pub const fn key(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "pod",
            WorkloadKind::Container => "container",
            WorkloadKind::Service => "service",
            WorkloadKind::UserService => "user-service",
            WorkloadKind::Unit => "unit",
            WorkloadKind::Host => "host",
            WorkloadKind::Cgroup => "cgroup",
        }
    }
}

/// Which runtime made a container's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    Docker,
    Podman,
    Containerd,
    CriO,
    Lxc,
    Nspawn,
}

impl Runtime {
    /// `docker`, `podman`, `containerd`, `cri-o`, `lxc`, `nspawn`.
    pub const fn key(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Lxc => "lxc",
            Runtime::Nspawn => "nspawn",
        }
    }
}

/// What a cgroup path says about its workload, read from the path only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Recognised {
    pub kind: Option<WorkloadKind>,
    pub runtime: Option<Runtime>,
    /// The innermost systemd unit of the path (`nginx.service`, `docker-<id>.scope`).
    pub unit: Option<String>,
    /// The uid of a user manager (`user@1000.service`) the unit runs under.
    pub user: Option<u32>,
    /// A container's full id (64 hex digits for Docker, Podman, containerd, CRI-O).
    pub container_id: Option<String>,
    /// A Kubernetes pod's uid, with dashes (the systemd driver writes them as `_`).
    pub pod_uid: Option<String>,
    /// A Kubernetes QoS class: `guaranteed`, `burstable` or `besteffort`.
    pub qos: Option<String>,
    /// An LXC container's or a systemd-nspawn machine's name (it is in the path).
    pub machine: Option<String>,
}

/// Recognises a cgroup v2 path (relative to the cgroup2 mount, starting with `/`).
pub fn recognise(_path: &str) -> Recognised {
    Recognised::default()
}

/// Names the runtimes' files give a workload (`collect::cgroups::RuntimeFiles`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Names {
    /// The container's name (Docker's `Name`, Podman's names, a Kubernetes container name).
    pub container: Option<String>,
    /// The Kubernetes pod's name and namespace.
    pub pod: Option<String>,
    pub namespace: Option<String>,
}

/// One workload: a cgroup path, what it says, and the names found for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Workload {
    /// The cgroup v2 path, relative to the cgroup2 mount (or to tcpstat's cgroup namespace).
    pub cgroup: String,
    pub recognised: Recognised,
    pub names: Names,
}

/// How a report groups sockets by workload (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WorkloadBy {
    /// The most specific of pod, container, unit, else the cgroup path.
    #[default]
    Workload,
    /// The systemd unit (service, scope, user unit).
    Unit,
    /// The container (in a pod or not).
    Container,
    /// The Kubernetes pod.
    Pod,
    /// The raw cgroup path.
    Cgroup,
}

impl WorkloadBy {
    /// `workload`, `unit`, `container`, `pod`, `cgroup`.
    pub const fn key(self) -> &'static str {
        match self {
            WorkloadBy::Workload => "workload",
            WorkloadBy::Unit => "unit",
            WorkloadBy::Container => "container",
            WorkloadBy::Pod => "pod",
            WorkloadBy::Cgroup => "cgroup",
        }
    }
}

impl Workload {
    /// A workload for `path`, recognised, without names.
    pub fn from_path(path: &str) -> Workload {
        Workload {
            cgroup: path.to_string(),
            recognised: recognise(path),
            names: Names::default(),
        }
    }

    /// The kind, `Cgroup` when nothing was recognised.
    pub fn kind(&self) -> WorkloadKind {
        self.recognised.kind.unwrap_or(WorkloadKind::Cgroup)
    }

    /// The group this workload falls in under `by`, or `None` when it has no such thing
    /// (a service is in no pod): such sockets are counted in one row that says so.
    pub fn key(&self, by: WorkloadBy) -> Option<String> {
        match by {
            WorkloadBy::Cgroup => Some(self.cgroup.clone()),
            _ => Some(self.cgroup.clone()),
        }
    }

    /// What people call it: `namespace/pod/container`, a container's name (else its short
    /// id), a unit, a machine, else the path. Untrusted text: escape before printing.
    pub fn name(&self) -> String {
        self.cgroup.clone()
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
