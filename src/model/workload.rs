//! Workloads: which service, container or pod a cgroup is, from its path alone.
//!
//! Owns: [`Recognised`] (what a cgroup v2 path says: systemd unit, container runtime and id,
//! Kubernetes pod uid and QoS class, LXC or nspawn machine), [`recognise`] (one table of
//! recognisers, tried in order: a new runtime is one entry), [`Names`] (the human names the
//! runtimes' files give: container name, pod name and namespace), [`Workload`] (both, with
//! the path) and [`WorkloadBy`] (the grouping a report asks for). No I/O: `collect::cgroups`
//! maps socket cgroup ids to paths and reads the names.

use std::collections::HashMap;
use std::fmt;

use super::SocketRecord;

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
///
/// The path is split into its components and two things are read from it:
/// - systemd's part, for every path: the innermost unit (a component ending in `.service`,
///   `.scope`, `.slice`, `.socket`, `.mount` or `.swap`) and the uid of the innermost user
///   manager (`user@1000.service`) above it;
/// - then the first entry of the table of recognisers that matches says what holds the cgroup:
///   Kubernetes first (a Docker or containerd scope under a pod is the pod's), then the
///   container runtimes, then systemd's services and units. The root is [`WorkloadKind::Host`];
///   a path nothing matches has no kind (shown as the path).
///
/// Never panics: the path is untrusted text (a cgroup anyone with a delegated subtree can
/// name). Unit names are kept as systemd spells them (`machine-foo\x2dbar.scope`); machine
/// names are unescaped, except into control characters (see [`unescape_unit`]).
pub fn recognise(path: &str) -> Recognised {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut base = Recognised::default();
    if components.is_empty() {
        base.kind = Some(WorkloadKind::Host);
        return base;
    }
    let mut unit_at = None;
    let mut manager_at = None;
    for (i, component) in components.iter().enumerate() {
        if is_unit(component) {
            unit_at = Some(i);
            if let Some(uid) = user_manager(component) {
                base.user = Some(uid);
                manager_at = Some(i);
            }
        }
    }
    base.unit = unit_at.map(|i| components[i].to_string());
    let path = Components {
        all: &components,
        unit_at,
        manager_at,
    };
    for recogniser in RECOGNISERS {
        if let Some(found) = (recogniser.recognise)(&path, &base) {
            return found;
        }
    }
    base
}

/// A path's components and where its systemd units are, as the recognisers see them.
struct Components<'a> {
    all: &'a [&'a str],
    /// Index of the innermost unit.
    unit_at: Option<usize>,
    /// Index of the innermost user manager (`user@UID.service`).
    manager_at: Option<usize>,
}

/// One entry of the table: a name (for tests and for whoever adds the next one) and a function
/// that says, from the path's components and what systemd's part already says, what holds the
/// cgroup, or `None` to let the next entry try.
struct Recogniser {
    #[cfg_attr(not(test), allow(dead_code))]
    name: &'static str,
    recognise: fn(&Components<'_>, &Recognised) -> Option<Recognised>,
}

/// The recognisers, in the order they are tried: most specific first. A new runtime is one
/// entry here (and one variant of [`Runtime`]).
const RECOGNISERS: &[Recogniser] = &[
    Recogniser {
        name: "kubernetes",
        recognise: kubernetes,
    },
    Recogniser {
        name: "docker",
        recognise: docker,
    },
    Recogniser {
        name: "podman",
        recognise: podman,
    },
    Recogniser {
        name: "containerd",
        recognise: containerd,
    },
    Recogniser {
        name: "lxc",
        recognise: lxc,
    },
    Recogniser {
        name: "nspawn",
        recognise: nspawn,
    },
    Recogniser {
        name: "systemd",
        recognise: systemd,
    },
];

/// Kubernetes, as the kubelet names pod cgroups with either driver, at any depth (kind and
/// other nested clusters put them under `/kubelet.slice/kubelet-kubepods.slice/...`):
/// - systemd: `kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice` (no `<qos>`
///   for guaranteed pods), the uid's dashes written as `_`; containers in it are
///   `cri-containerd-<id>.scope`, `crio-<id>.scope` or (dockershim) `docker-<id>.scope`;
/// - cgroupfs: `kubepods/<qos>/pod<uid>` (no `<qos>` for guaranteed), containers `<id>` or
///   (CRI-O) `crio-<id>`.
///
/// CRI-O's `crio-conmon-<id>` monitor, the pod's own cgroup and anything else in it belong to
/// the pod but to no container.
fn kubernetes(path: &Components<'_>, base: &Recognised) -> Option<Recognised> {
    let all = path.all;
    let (at, uid, qos) = all.iter().enumerate().find_map(|(i, component)| {
        pod_slice(component)
            .or_else(|| pod_directory(&all[..i], component))
            .map(|(uid, qos)| (i, uid, qos))
    })?;
    let mut found = Recognised {
        kind: Some(WorkloadKind::Pod),
        pod_uid: Some(uid),
        qos: Some(qos.to_string()),
        ..base.clone()
    };
    if let Some(container) = all.get(at + 1) {
        let scope = container.strip_suffix(".scope");
        let name = scope.unwrap_or(container);
        let (runtime, id) = if let Some(id) = name.strip_prefix("cri-containerd-") {
            (Some(Runtime::Containerd), id)
        } else if name.starts_with("crio-conmon-") {
            return Some(found);
        } else if let Some(id) = name.strip_prefix("crio-") {
            (Some(Runtime::CriO), id)
        } else if let Some(id) = name.strip_prefix("docker-").filter(|_| scope.is_some()) {
            (Some(Runtime::Docker), id)
        } else if is_full_id(name) && scope.is_none() {
            // cgroupfs: containerd and dockershim both name it by the bare id.
            (None, name)
        } else {
            return Some(found);
        };
        if is_id(id) {
            found.runtime = runtime;
            found.container_id = Some(id.to_string());
        }
    }
    Some(found)
}

/// `kubepods-burstable-pod<uid>.slice` (systemd driver): the uid (dashes restored) and QoS.
fn pod_slice(component: &str) -> Option<(String, &'static str)> {
    let stem = component.strip_suffix(".slice")?;
    if !stem.contains("kubepods") {
        return None;
    }
    let (before, last) = stem.rsplit_once('-')?;
    let uid = pod_uid(last.strip_prefix("pod")?)?;
    Some((uid, qos_class(before.rsplit('-').next().unwrap_or(""))))
}

/// `pod<uid>` under `kubepods` or `kubepods/<qos>` (cgroupfs driver): the uid and QoS.
fn pod_directory(parents: &[&str], component: &str) -> Option<(String, &'static str)> {
    let uid = pod_uid(component.strip_prefix("pod")?)?;
    match parents {
        [.., "kubepods"] => Some((uid, "guaranteed")),
        [.., "kubepods", qos @ ("burstable" | "besteffort")] => Some((uid, qos_class(qos))),
        _ => None,
    }
}

/// A pod uid as the kubelet writes it in a cgroup name (a UUID, `_` for `-` under systemd; a
/// static pod's is 32 hex digits), with dashes.
fn pod_uid(text: &str) -> Option<String> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    ok.then(|| text.replace('_', "-"))
}

fn qos_class(word: &str) -> &'static str {
    match word {
        "burstable" => "burstable",
        "besteffort" => "besteffort",
        _ => "guaranteed",
    }
}

/// Docker: `docker-<id>.scope` (systemd driver, rootful under `system.slice`, rootless under
/// the user manager) or `docker/<id>` (cgroupfs driver), the innermost one (Docker in Docker).
fn docker(path: &Components<'_>, base: &Recognised) -> Option<Recognised> {
    let all = path.all;
    let id = (0..all.len()).rev().find_map(|i| {
        scoped_id(all[i], "docker-")
            .or_else(|| (i > 0 && all[i - 1] == "docker" && is_full_id(all[i])).then_some(all[i]))
    })?;
    Some(container(base, Runtime::Docker, id))
}

/// Podman: `libpod-<id>.scope` (systemd driver, rootful under `machine.slice` or a pod's
/// `machine-libpod_pod_<pod>.slice`, rootless under the user manager; since podman 4 the
/// payload may sit in its `container` sub-cgroup) or `libpod-<id>` under `libpod_parent`
/// (cgroupfs). Not `libpod-conmon-<id>.scope`: that is the monitor, a plain unit.
fn podman(path: &Components<'_>, base: &Recognised) -> Option<Recognised> {
    let all = path.all;
    let id = (0..all.len()).rev().find_map(|i| {
        scoped_id(all[i], "libpod-").or_else(|| {
            let id = all[i].strip_prefix("libpod-")?;
            (all[..i].contains(&"libpod_parent") && is_id(id)).then_some(id)
        })
    })?;
    Some(container(base, Runtime::Podman, id))
}

/// containerd outside Kubernetes: nerdctl's `nerdctl-<id>.scope`, or a CRI
/// `cri-containerd-<id>.scope` not under a pod.
fn containerd(path: &Components<'_>, base: &Recognised) -> Option<Recognised> {
    let id = path.all.iter().rev().find_map(|component| {
        scoped_id(component, "nerdctl-").or_else(|| scoped_id(component, "cri-containerd-"))
    })?;
    Some(container(base, Runtime::Containerd, id))
}

/// LXC (and LXD): `lxc.payload.<name>` (LXC 4 and later; its monitor `lxc.monitor.<name>` is
/// not the container) or, before, `lxc/<name>`.
fn lxc(path: &Components<'_>, base: &Recognised) -> Option<Recognised> {
    let all = path.all;
    let name = (0..all.len()).find_map(|i| {
        all[i]
            .strip_prefix("lxc.payload.")
            .or_else(|| (i == 1 && all[0] == "lxc").then_some(all[i]))
            .filter(|name| !name.is_empty())
    })?;
    Some(machine(base, Some(Runtime::Lxc), name.to_string()))
}

/// systemd-nspawn: `systemd-nspawn@<name>.service` (the payload is in its `payload`
/// sub-cgroup) or a machine registered with systemd-machined, `machine-<name>.scope`, names
/// `\x2d`-escaped. libvirt registers its VMs the same way (`machine-qemu\x2d1\x2dvm.scope`):
/// a machine, but no nspawn one.
fn nspawn(path: &Components<'_>, base: &Recognised) -> Option<Recognised> {
    let (name, scope) = path.all.iter().find_map(|component| {
        component
            .strip_prefix("systemd-nspawn@")
            .and_then(|rest| rest.strip_suffix(".service"))
            .map(|name| (name, false))
            .or_else(|| {
                let name = component.strip_prefix("machine-")?.strip_suffix(".scope")?;
                Some((name, true))
            })
            .filter(|(name, _)| !name.is_empty())
    })?;
    let name = unescape_unit(name);
    let runtime = (!(scope && name.starts_with("qemu-"))).then_some(Runtime::Nspawn);
    Some(machine(base, runtime, name))
}

/// systemd's own: a unit under a user manager is a user unit, a `.service` a service, any
/// other unit (scope, slice) a unit.
fn systemd(path: &Components<'_>, base: &Recognised) -> Option<Recognised> {
    let unit = path.unit_at?;
    let kind = if path.manager_at.is_some_and(|manager| manager < unit) {
        WorkloadKind::UserService
    } else if path.all[unit].ends_with(".service") {
        WorkloadKind::Service
    } else {
        WorkloadKind::Unit
    };
    Some(Recognised {
        kind: Some(kind),
        ..base.clone()
    })
}

fn container(base: &Recognised, runtime: Runtime, id: &str) -> Recognised {
    Recognised {
        kind: Some(WorkloadKind::Container),
        runtime: Some(runtime),
        container_id: Some(id.to_string()),
        ..base.clone()
    }
}

fn machine(base: &Recognised, runtime: Option<Runtime>, name: String) -> Recognised {
    Recognised {
        kind: Some(WorkloadKind::Container),
        runtime,
        machine: Some(name),
        ..base.clone()
    }
}

/// The id in `<prefix><id>.scope`, when it is one (so `libpod-conmon-<id>.scope` is not
/// `libpod-` with id `conmon-<id>`).
fn scoped_id<'a>(component: &'a str, prefix: &str) -> Option<&'a str> {
    let id = component.strip_prefix(prefix)?.strip_suffix(".scope")?;
    is_id(id).then_some(id)
}

/// A container id: hex digits, at least Docker's short 12 (runtimes write the full 64).
fn is_id(text: &str) -> bool {
    (12..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A full 64-digit id: what a bare cgroupfs directory must be to be taken for a container.
fn is_full_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

const UNIT_SUFFIXES: [&str; 6] = [".service", ".scope", ".slice", ".socket", ".mount", ".swap"];

/// Whether a component names a systemd unit (the unit types that have cgroups).
fn is_unit(component: &str) -> bool {
    UNIT_SUFFIXES.iter().any(|suffix| {
        component
            .strip_suffix(suffix)
            .is_some_and(|stem| !stem.is_empty())
    })
}

/// The uid of `user@UID.service`.
fn user_manager(component: &str) -> Option<u32> {
    component
        .strip_prefix("user@")?
        .strip_suffix(".service")?
        .parse()
        .ok()
}

/// Undoes systemd's unit-name escaping (`\xNN` for a byte: `-` is `\x2d`), for machine names.
/// An escape that would give a control character stays escaped, and so does the whole name
/// when the bytes are not UTF-8: the result never holds control characters the path did not
/// hold itself, and the renderer escapes those.
pub fn unescape_unit(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x') {
            let byte = bytes
                .get(i + 2..i + 4)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            if let Some(byte) = byte.filter(|b| !b.is_ascii_control()) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    let controls = |s: &str| s.chars().filter(|c| c.is_control()).count();
    match String::from_utf8(out) {
        // `\xc2\x80` is U+0080, a control character too.
        Ok(unescaped) if controls(&unescaped) == controls(text) => unescaped,
        _ => text.to_string(),
    }
}

/// Names the runtimes' files give a workload (`collect::cgroups::RuntimeFiles`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Names {
    /// The container's name (Docker's `Name`, Podman's names, a Kubernetes container name).
    pub container: Option<String>,
    /// The Kubernetes pod's name and namespace.
    pub pod: Option<String>,
    pub namespace: Option<String>,
    /// The runtime whose files gave the names, when the path did not say (a container under
    /// the cgroupfs driver is a bare id).
    pub runtime: Option<Runtime>,
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
    ///
    /// - `Cgroup`: the path.
    /// - `Pod`: `namespace/pod` when the names are known, else `pod <uid>`; `None` outside a
    ///   pod.
    /// - `Container`: the container's name when known, else the machine name (LXC, nspawn),
    ///   else the 12-digit short id; `None` for what is no container (a pod's own cgroup,
    ///   CRI-O's conmon, a service).
    /// - `Unit`: the innermost systemd unit; `None` when the path has none (Docker's cgroupfs
    ///   driver, the root).
    /// - `Workload`: the most specific of: a pod's container (`namespace/pod/container`, or as
    ///   much as is known: `pod <uid>/<short id>`), the pod, a container, a user unit
    ///   (`user@1000: foo.service`), a unit, `/` for the host, else the path. Never `None`.
    pub fn key(&self, by: WorkloadBy) -> Option<String> {
        match by {
            WorkloadBy::Cgroup => Some(self.cgroup.clone()),
            WorkloadBy::Pod => self.pod(),
            WorkloadBy::Container => self.container(),
            WorkloadBy::Unit => self.recognised.unit.clone(),
            WorkloadBy::Workload => Some(self.name()),
        }
    }

    /// What people call it: `namespace/pod/container`, a container's name (else its short
    /// id), a unit, a machine, else the path: [`Workload::key`] by [`WorkloadBy::Workload`].
    /// Untrusted text: escape before printing.
    pub fn name(&self) -> String {
        let r = &self.recognised;
        let named = match self.kind() {
            WorkloadKind::Pod => self.pod().map(|pod| match self.container() {
                Some(container) => format!("{pod}/{container}"),
                None => pod,
            }),
            WorkloadKind::Container => self.container(),
            WorkloadKind::UserService => r.unit.as_ref().map(|unit| match r.user {
                Some(uid) => format!("user@{uid}: {unit}"),
                None => unit.clone(),
            }),
            WorkloadKind::Service | WorkloadKind::Unit => r.unit.clone(),
            WorkloadKind::Host => Some("/".to_string()),
            WorkloadKind::Cgroup => None,
        };
        named.unwrap_or_else(|| self.cgroup.clone())
    }

    /// `namespace/pod`, `pod`, or `pod <uid>`.
    fn pod(&self) -> Option<String> {
        let uid = self.recognised.pod_uid.as_ref()?;
        Some(match (&self.names.namespace, &self.names.pod) {
            (Some(namespace), Some(pod)) => format!("{namespace}/{pod}"),
            (None, Some(pod)) => pod.clone(),
            _ => format!("pod {uid}"),
        })
    }

    /// The container's name, machine name or short id.
    fn container(&self) -> Option<String> {
        let r = &self.recognised;
        if !matches!(r.kind, Some(WorkloadKind::Pod | WorkloadKind::Container)) {
            return None;
        }
        if r.container_id.is_none() && r.machine.is_none() {
            return None;
        }
        self.names
            .container
            .clone()
            .or_else(|| r.machine.clone())
            .or_else(|| r.container_id.as_ref().map(|id| short_id(id).to_string()))
    }
}

/// The first 12 digits of a container id, as `docker ps` shows it.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "fa7f0ec4fbcbb70c69565a5b2d269926e04ec5601dff59235199d6e60198e95c";
    const UID: &str = "dc380811-8168-4a9e-9b4a-56ded1b6fe9c";
    const UID_: &str = "dc380811_8168_4a9e_9b4a_56ded1b6fe9c";

    fn kind(path: &str) -> Option<WorkloadKind> {
        recognise(path).kind
    }

    /// The workload's name under every grouping, in `WorkloadBy` order.
    fn keys(path: &str, names: Names) -> [Option<String>; 5] {
        let mut w = Workload::from_path(path);
        w.names = names;
        [
            WorkloadBy::Workload,
            WorkloadBy::Unit,
            WorkloadBy::Container,
            WorkloadBy::Pod,
            WorkloadBy::Cgroup,
        ]
        .map(|by| w.key(by))
    }

    fn s(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn the_table_tries_kubernetes_first_and_systemd_last() {
        let names: Vec<_> = RECOGNISERS.iter().map(|r| r.name).collect();
        assert_eq!(names.first(), Some(&"kubernetes"));
        assert_eq!(names.last(), Some(&"systemd"));
    }

    #[test]
    fn root_is_the_host() {
        for path in ["/", "", "//"] {
            let r = recognise(path);
            assert_eq!(r.kind, Some(WorkloadKind::Host), "{path}");
            assert_eq!(Workload::from_path(path).name(), "/");
        }
    }

    #[test]
    fn systemd_services_scopes_and_slices() {
        let r = recognise("/system.slice/nginx.service");
        assert_eq!(r.kind, Some(WorkloadKind::Service));
        assert_eq!(r.unit.as_deref(), Some("nginx.service"));
        assert_eq!(r.user, None);
        let r = recognise("/system.slice/system-getty.slice/getty@tty1.service");
        assert_eq!(r.kind, Some(WorkloadKind::Service));
        assert_eq!(r.unit.as_deref(), Some("getty@tty1.service"));
        // A sub-cgroup a service made in its delegated subtree is still the service.
        let r = recognise("/system.slice/containerd.service/worker");
        assert_eq!(r.unit.as_deref(), Some("containerd.service"));
        assert_eq!(r.kind, Some(WorkloadKind::Service));
        for (path, unit) in [
            ("/user.slice/user-1000.slice/session-3.scope", "session-3.scope"),
            ("/init.scope", "init.scope"),
            ("/system.slice", "system.slice"),
            ("/user.slice/user-1000.slice", "user-1000.slice"),
            ("/machine.slice/libpod-conmon-4d6afbcf669e6342da8864190234ace265dabc5d48cf57c19823fa0072f7cc92.scope",
             "libpod-conmon-4d6afbcf669e6342da8864190234ace265dabc5d48cf57c19823fa0072f7cc92.scope"),
            ("/system.slice/var-lib-docker.mount", "var-lib-docker.mount"),
        ] {
            let r = recognise(path);
            assert_eq!(r.kind, Some(WorkloadKind::Unit), "{path}");
            assert_eq!(r.unit.as_deref(), Some(unit), "{path}");
            assert_eq!(r.container_id, None, "{path}");
        }
        // The user manager itself is a system service; what runs under it is a user unit.
        assert_eq!(
            kind("/user.slice/user-1000.slice/user@1000.service"),
            Some(WorkloadKind::Service)
        );
    }

    #[test]
    fn user_units_carry_the_uid() {
        let path = "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service";
        let r = recognise(path);
        assert_eq!(r.kind, Some(WorkloadKind::UserService));
        assert_eq!(r.user, Some(1000));
        assert_eq!(r.unit.as_deref(), Some("foo.service"));
        assert_eq!(
            keys(path, Names::default()),
            [
                s("user@1000: foo.service"),
                s("foo.service"),
                None,
                None,
                s(path)
            ]
        );
        let r = recognise("/user.slice/user-1000.slice/user@1000.service/init.scope");
        assert_eq!(
            (r.kind, r.user),
            (Some(WorkloadKind::UserService), Some(1000))
        );
        let r = recognise(
            "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-2187.scope",
        );
        assert_eq!(r.kind, Some(WorkloadKind::UserService));
        assert_eq!(r.unit.as_deref(), Some("app-gnome-firefox-2187.scope"));
    }

    #[test]
    fn docker_with_both_drivers() {
        for path in [
            format!("/system.slice/docker-{ID}.scope"),
            format!("/docker/{ID}"),
            // Docker in Docker (cgroupfs inside): the innermost container.
            format!("/docker/{}/docker/{ID}", "0".repeat(64)),
            // Rootless dockerd with the systemd driver.
            format!("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-{ID}.scope"),
        ] {
            let r = recognise(&path);
            assert_eq!(r.kind, Some(WorkloadKind::Container), "{path}");
            assert_eq!(r.runtime, Some(Runtime::Docker), "{path}");
            assert_eq!(r.container_id.as_deref(), Some(ID), "{path}");
        }
        let systemd = format!("/system.slice/docker-{ID}.scope");
        assert_eq!(
            keys(&systemd, Names::default()),
            [
                s("fa7f0ec4fbcb"),
                s(&format!("docker-{ID}.scope")),
                s("fa7f0ec4fbcb"),
                None,
                s(&systemd)
            ]
        );
        let named = Names {
            container: s("web"),
            ..Names::default()
        };
        let cgroupfs = format!("/docker/{ID}");
        assert_eq!(
            keys(&cgroupfs, named),
            [s("web"), None, s("web"), None, s(&cgroupfs)]
        );
        // The daemon is a service, and `docker/` with no id is nothing known.
        assert_eq!(
            kind("/system.slice/docker.service"),
            Some(WorkloadKind::Service)
        );
        assert_eq!(kind("/docker/not-an-id"), None);
        assert_eq!(kind("/docker"), None);
    }

    #[test]
    fn podman_rootful_rootless_and_not_conmon() {
        // Rootless: runc's libcontainer/cgroups/systemd/v2.go gives this example path.
        let id = "132ff0d72245e6f13a3bbc6cdc5376886897b60ac59eaa8dea1df7ab959cbf1c";
        for path in [
            format!("/machine.slice/libpod-{id}.scope"),
            format!("/machine.slice/libpod-{id}.scope/container"),
            format!("/user.slice/user-1001.slice/user@1001.service/user.slice/libpod-{id}.scope"),
            format!(
                "/user.slice/user-1001.slice/user@1001.service/user.slice/libpod-{id}.scope/container"
            ),
            format!("/machine.slice/machine-libpod_pod_9f3c2a.slice/libpod-{id}.scope"),
            format!("/libpod_parent/libpod-{id}"),
        ] {
            let r = recognise(&path);
            assert_eq!(r.kind, Some(WorkloadKind::Container), "{path}");
            assert_eq!(r.runtime, Some(Runtime::Podman), "{path}");
            assert_eq!(r.container_id.as_deref(), Some(id), "{path}");
        }
        let r = recognise(&format!(
            "/user.slice/user-1001.slice/user@1001.service/user.slice/libpod-{id}.scope/container"
        ));
        assert_eq!(r.user, Some(1001));
        assert_eq!(r.unit, Some(format!("libpod-{id}.scope")));
        // conmon, the monitor: a unit (a user unit when rootless), never the container.
        let conmon = recognise(&format!("/machine.slice/libpod-conmon-{id}.scope"));
        assert_eq!(
            (conmon.kind, conmon.runtime),
            (Some(WorkloadKind::Unit), None)
        );
        assert_eq!(conmon.container_id, None);
        let conmon = recognise(&format!(
            "/user.slice/user-1001.slice/user@1001.service/user.slice/libpod-conmon-{id}.scope"
        ));
        assert_eq!(conmon.kind, Some(WorkloadKind::UserService));
        assert_eq!(conmon.container_id, None);
    }

    #[test]
    fn kubernetes_systemd_driver_every_qos_and_runtime() {
        for (pod, qos) in [
            (
                format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice"),
                "burstable",
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice"
                ),
                "besteffort",
            ),
            (format!("/kubepods.slice/kubepods-pod{UID_}.slice"), "guaranteed"),
            // kind and other clusters in a container: kubelet's --cgroup-root=/kubelet.
            (
                format!(
                    "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_}.slice"
                ),
                "besteffort",
            ),
        ] {
            for (leaf, runtime) in [
                (format!("cri-containerd-{ID}.scope"), Some(Runtime::Containerd)),
                (format!("crio-{ID}.scope"), Some(Runtime::CriO)),
                (format!("crio-{ID}.scope/container"), Some(Runtime::CriO)),
                // dockershim (Kubernetes before 1.24): a Docker scope in the pod is the pod's.
                (format!("docker-{ID}.scope"), Some(Runtime::Docker)),
            ] {
                let path = format!("{pod}/{leaf}");
                let r = recognise(&path);
                assert_eq!(r.kind, Some(WorkloadKind::Pod), "{path}");
                assert_eq!(r.runtime, runtime, "{path}");
                assert_eq!(r.container_id.as_deref(), Some(ID), "{path}");
                assert_eq!(r.pod_uid.as_deref(), Some(UID), "{path}");
                assert_eq!(r.qos.as_deref(), Some(qos), "{path}");
            }
            // The pod's own cgroup, and CRI-O's conmon: the pod's, no container's.
            for path in [pod.clone(), format!("{pod}/crio-conmon-{ID}.scope")] {
                let r = recognise(&path);
                assert_eq!(r.kind, Some(WorkloadKind::Pod), "{path}");
                assert_eq!(r.pod_uid.as_deref(), Some(UID), "{path}");
                assert_eq!((r.container_id, r.runtime), (None, None), "{path}");
            }
        }
        // The QoS slices themselves are units, not pods.
        assert_eq!(
            kind("/kubepods.slice/kubepods-burstable.slice"),
            Some(WorkloadKind::Unit)
        );
        assert_eq!(kind("/kubepods.slice"), Some(WorkloadKind::Unit));
    }

    #[test]
    fn kubernetes_cgroupfs_driver() {
        for (path, qos, runtime) in [
            (
                format!("/kubepods/besteffort/pod{UID}/{ID}"),
                "besteffort",
                None,
            ),
            (
                format!("/kubepods/burstable/pod{UID}/{ID}"),
                "burstable",
                None,
            ),
            (format!("/kubepods/pod{UID}/{ID}"), "guaranteed", None),
            (
                format!("/kubepods/burstable/pod{UID}/crio-{ID}"),
                "burstable",
                Some(Runtime::CriO),
            ),
            (
                format!("/kubelet/kubepods/pod{UID}/{ID}"),
                "guaranteed",
                None,
            ),
        ] {
            let r = recognise(&path);
            assert_eq!(r.kind, Some(WorkloadKind::Pod), "{path}");
            assert_eq!(r.pod_uid.as_deref(), Some(UID), "{path}");
            assert_eq!(r.qos.as_deref(), Some(qos), "{path}");
            assert_eq!(r.runtime, runtime, "{path}");
            assert_eq!(r.container_id.as_deref(), Some(ID), "{path}");
            assert_eq!(r.unit, None, "{path}");
        }
        let r = recognise(&format!("/kubepods/besteffort/pod{UID}"));
        assert_eq!((r.kind, r.container_id), (Some(WorkloadKind::Pod), None));
        // A static pod's uid is a 32-digit hash.
        let r = recognise("/kubepods/burstable/pod0f3e5d0c4ad4d1e3e5a1a4d4d6c1c2b3");
        assert_eq!(
            r.pod_uid.as_deref(),
            Some("0f3e5d0c4ad4d1e3e5a1a4d4d6c1c2b3")
        );
        // `pod...` elsewhere is no pod.
        assert_eq!(kind("/podcast"), None);
        assert_eq!(kind(&format!("/kubepods/other/pod{UID}")), None);
    }

    #[test]
    fn pod_keys_say_as_much_as_is_known() {
        let path = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/cri-containerd-{ID}.scope"
        );
        let unit = format!("cri-containerd-{ID}.scope");
        assert_eq!(
            keys(&path, Names::default()),
            [
                s(&format!("pod {UID}/fa7f0ec4fbcb")),
                s(&unit),
                s("fa7f0ec4fbcb"),
                s(&format!("pod {UID}")),
                s(&path)
            ]
        );
        let names = Names {
            container: s("nginx"),
            pod: s("web-7d4b9c-x2x8q"),
            namespace: s("shop"),
            runtime: None,
        };
        assert_eq!(
            keys(&path, names.clone()),
            [
                s("shop/web-7d4b9c-x2x8q/nginx"),
                s(&unit),
                s("nginx"),
                s("shop/web-7d4b9c-x2x8q"),
                s(&path)
            ]
        );
        // The pod's own cgroup: a pod, no container.
        let pod = format!("/kubepods/pod{UID}");
        assert_eq!(
            keys(&pod, names),
            [
                s("shop/web-7d4b9c-x2x8q"),
                None,
                None,
                s("shop/web-7d4b9c-x2x8q"),
                s(&pod)
            ]
        );
    }

    #[test]
    fn lxc_and_nspawn_machines() {
        for (path, name) in [
            ("/lxc.payload.web", "web"),
            ("/lxc.payload.web/system.slice/nginx.service", "web"),
            ("/lxc.payload.shop_db", "shop_db"),
            ("/lxc/old", "old"),
            ("/lxc/old/sub", "old"),
        ] {
            let r = recognise(path);
            assert_eq!(r.kind, Some(WorkloadKind::Container), "{path}");
            assert_eq!(r.runtime, Some(Runtime::Lxc), "{path}");
            assert_eq!(r.machine.as_deref(), Some(name), "{path}");
            assert_eq!(keys(path, Names::default())[2], s(name));
        }
        assert_eq!(kind("/lxc.monitor.web"), None);
        for (path, name) in [
            ("/machine.slice/systemd-nspawn@debian.service", "debian"),
            ("/machine.slice/systemd-nspawn@debian.service/payload", "debian"),
            ("/machine.slice/systemd-nspawn@my\\x2dbox.service/payload/system.slice/sshd.service", "my-box"),
            ("/machine.slice/machine-build\\x2d01.scope", "build-01"),
        ] {
            let r = recognise(path);
            assert_eq!(r.kind, Some(WorkloadKind::Container), "{path}");
            assert_eq!(r.runtime, Some(Runtime::Nspawn), "{path}");
            assert_eq!(r.machine.as_deref(), Some(name), "{path}");
            assert_eq!(Workload::from_path(path).name(), name);
        }
        // libvirt's VMs register with machined too: machines, not nspawn ones.
        let r = recognise("/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator");
        assert_eq!((r.kind, r.runtime), (Some(WorkloadKind::Container), None));
        assert_eq!(r.machine.as_deref(), Some("qemu-1-vm1"));
    }

    #[test]
    fn unknown_paths_are_shown_as_paths() {
        for path in ["/foo", "/foo/bar", "/.service", "/system.slice/.scope/x"] {
            let w = Workload::from_path(path);
            // `/system.slice/.scope/x` still has a unit: system.slice.
            if path.starts_with("/system.slice") {
                assert_eq!(w.kind(), WorkloadKind::Unit);
                continue;
            }
            assert_eq!(w.kind(), WorkloadKind::Cgroup, "{path}");
            assert_eq!(w.name(), path);
            assert_eq!(w.key(WorkloadBy::Unit), None);
            assert_eq!(w.key(WorkloadBy::Container), None);
        }
    }

    #[test]
    fn escapes_never_become_control_characters() {
        assert_eq!(unescape_unit("a\\x2db"), "a-b");
        assert_eq!(unescape_unit("a\\x0ab"), "a\\x0ab");
        assert_eq!(unescape_unit("a\\x7fb"), "a\\x7fb");
        assert_eq!(unescape_unit("\\x"), "\\x");
        assert_eq!(unescape_unit("\\x2"), "\\x2");
        assert_eq!(unescape_unit("\\xzz"), "\\xzz");
        assert_eq!(unescape_unit("caf\\xc3\\xa9"), "café");
        // Not UTF-8 once decoded: kept as written.
        assert_eq!(unescape_unit("bad\\xff"), "bad\\xff");
        assert_eq!(unescape_unit("ü\\x2d"), "ü-");
        assert_eq!(unescape_unit("c1\\xc2\\x80"), "c1\\xc2\\x80");
        let r = recognise("/machine.slice/machine-evil\\x0a\\x1b[31m.scope");
        assert_eq!(r.machine.as_deref(), Some("evil\\x0a\\x1b[31m"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_path_is_recognised_without_panic(path in "(/([a-z@._\\-]{0,12}|[\\x00-\\u{10ffff}]{0,8}|pod[0-9a-f_\\-]{0,40}|kubepods|docker|lxc|[0-9a-f]{64}))*") {
            let mut w = Workload::from_path(&path);
            w.names.container = Some("c".into());
            for by in [WorkloadBy::Workload, WorkloadBy::Unit, WorkloadBy::Container, WorkloadBy::Pod, WorkloadBy::Cgroup] {
                let _ = w.key(by);
            }
            prop_assert!(!w.name().is_empty() || path.is_empty());
            prop_assert_eq!(w.key(WorkloadBy::Workload), Some(w.name()));
        }

        #[test]
        fn names_hold_no_control_character_the_path_did_not(path in "([ -~\\u{a0}-\\u{10ffff}]|\\\\x[0-9a-f]{2}|/machine-|\\.scope|/lxc\\.payload\\.){0,30}") {
            let w = Workload::from_path(&path);
            prop_assert!(!w.name().chars().any(char::is_control), "{:?}", w.name());
        }
    }
}

/// Which listener claims the minisockets of each port: the lowest cgroup id among the port's
/// listeners (several cgroups on one port, with SO_REUSEPORT or other addresses, are rare;
/// the choice is stable).
pub fn port_claims(listeners: &[SocketRecord]) -> HashMap<u16, &SocketRecord> {
    let mut by_port: HashMap<u16, &SocketRecord> = HashMap::new();
    for l in listeners {
        by_port
            .entry(l.local_port)
            .and_modify(|e| {
                if (l.cgroup_id, l.inode) < (e.cgroup_id, e.inode) {
                    *e = l;
                }
            })
            .or_insert(l);
    }
    by_port
}

/// What decides a socket's workload: its cgroup id; else, for a socket with a file (the
/// /proc source), its owner (by inode); else the listener of its port (its id, or its owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Cgroup(u64),
    Owner(u64),
    None,
}

/// The [`Claim`] on one socket, `by_port` from [`port_claims`] of its namespace.
pub fn claim(r: &SocketRecord, by_port: &HashMap<u16, &SocketRecord>) -> Claim {
    if r.cgroup_id != 0 {
        return Claim::Cgroup(r.cgroup_id);
    }
    if r.inode != 0 {
        return Claim::Owner(r.inode);
    }
    match by_port.get(&r.local_port) {
        Some(l) if l.cgroup_id != 0 => Claim::Cgroup(l.cgroup_id),
        Some(l) if l.inode != 0 => Claim::Owner(l.inode),
        _ => Claim::None,
    }
}

/// Whether `name` names `workload`: its display name, its unit, its container's name or id
/// (a prefix of 12 hex digits at least), its pod (`POD` or `NAMESPACE/POD`), its machine, or
/// its cgroup path.
pub fn answers_to(workload: &Workload, name: &str) -> bool {
    let r = &workload.recognised;
    let n = &workload.names;
    let id_prefix = |id: &String| {
        name.len() >= 12 && name.bytes().all(|b| b.is_ascii_hexdigit()) && id.starts_with(name)
    };
    let pod = match (&n.namespace, &n.pod) {
        (Some(ns), Some(pod)) => Some(format!("{ns}/{pod}")),
        _ => None,
    };
    workload.name() == name
        || workload.cgroup == name
        || r.unit.as_deref() == Some(name)
        || r.machine.as_deref() == Some(name)
        || n.container.as_deref() == Some(name)
        || n.pod.as_deref() == Some(name)
        || pod.as_deref() == Some(name)
        || r.container_id.as_ref().is_some_and(id_prefix)
        || r.pod_uid.as_deref() == Some(name)
}

#[cfg(test)]
mod answers_to_tests {
    use super::*;

    #[test]
    fn names_a_workload_answers_to() {
        let w = Workload::from_path("/system.slice/nginx.service");
        assert!(answers_to(&w, "/system.slice/nginx.service"));
        assert!(answers_to(&w, "nginx.service"));
        assert!(!answers_to(&w, "redis.service"));
        let id = "4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c8b9a0011";
        let c = Workload::from_path(&format!("/system.slice/docker-{id}.scope"));
        assert!(answers_to(&c, &id[..12]), "a 12-digit id prefix");
        assert!(
            !answers_to(&c, &id[..11]),
            "shorter prefixes are too ambiguous"
        );
    }
}
