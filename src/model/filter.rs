//! What the user asked to see: states, families and ports.
//!
//! Owns: [`Filter`] and [`PortSet`], their parsers (used by the CLI as value parsers, so bad
//! values are usage errors naming the value) and the per-socket match. Collectors push what
//! they can into the kernel request (the state mask, the families) and use [`Filter::matches`]
//! for the rest. No I/O.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use super::socket::{Family, SocketRecord};
use super::state::{KernelState, StateSet};

/// A set of ports: single ports and inclusive ranges (`80`, `80,443`, `8000-8100`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= port && port <= hi)
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn extend(&mut self, other: &PortSet) {
        self.ranges.extend_from_slice(&other.ranges);
    }

    /// The ranges, for pushing into a kernel filter or echoing in output.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    /// Parses `P`, `LO-HI` and comma lists of those. Ports are 0-65535 (0 matches unbound /
    /// unconnected sides, as in ss).
    pub fn parse(text: &str) -> Result<PortSet, String> {
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(format!("empty port in {text:?}"));
            }
            let range = match item.split_once('-') {
                Some((lo, hi)) => {
                    let (lo, hi) = (parse_port(lo)?, parse_port(hi)?);
                    if lo > hi {
                        return Err(format!("port range {item:?} is backwards (use {hi}-{lo})"));
                    }
                    (lo, hi)
                }
                None => {
                    let port = parse_port(item)?;
                    (port, port)
                }
            };
            ranges.push(range);
        }
        Ok(PortSet { ranges })
    }
}

/// One port: decimal digits, 0-65535. Spaces around it are ignored (`80, 443`); a sign
/// (`+80`) or a leading zero (`080`, which reads as octal elsewhere) is an error rather than a
/// guess.
fn parse_port(text: &str) -> Result<u16, String> {
    let text = text.trim();
    let bad =
        || format!("invalid port {text:?} (expected a number 0-65535 or a range like 8000-8100)");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if text.len() > 1 && text.starts_with('0') {
        let digits = text.trim_start_matches('0');
        let meant = if digits.is_empty() { "0" } else { digits };
        return Err(format!(
            "invalid port {text:?}: no leading zeros (a port is decimal: write {meant})"
        ));
    }
    match text.parse::<u32>() {
        Ok(n) if n <= u32::from(u16::MAX) => Ok(n as u16),
        Ok(n) => Err(format!("port {n} is out of range (0-65535)")),
        Err(_) => Err(bad()),
    }
}

/// An address or a network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address, with host bits cleared.
    pub network: IpAddr,
    /// Prefix length: 0-32 for IPv4, 0-128 for IPv6.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `ADDR` or `ADDR/PREFIX`; IPv6 may be written in brackets (`[::1]`).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(addr);
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("invalid address {addr:?} in {text:?} (expected an IPv4 or IPv6 address, optionally /PREFIX)"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("invalid prefix length {p:?} in {text:?} (0-{max})")),
            },
        };
        Ok(Cidr {
            network: mask(ip, prefix),
            prefix,
        })
    }

    /// True when `ip` is inside the network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
    /// match IPv4 networks, as ss does.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.network
            }
            _ => false,
        }
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

/// Everything that decides whether a socket is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// States to keep. Unknown kernel states are kept only when this is every state.
    pub states: StateSet,
    /// Families to read.
    pub families: Vec<Family>,
    /// Either side's port (`--port`).
    pub any_port: PortSet,
    /// Local port (`--sport`).
    pub local_port: PortSet,
    /// Remote port (`--dport`).
    pub remote_port: PortSet,
    /// Local address in any of these networks (`--src`); empty = any.
    pub local_addr: Vec<Cidr>,
    /// Remote address in any of these networks (`--dst`); empty = any.
    pub remote_addr: Vec<Cidr>,
    /// Socket owner uid in this set (`--user`); empty = any. Minisockets (TIME_WAIT,
    /// SYN_RECV requests, orphans turned into time-wait minisockets) have no owner and never
    /// match.
    pub uids: Vec<u32>,
    /// Owned by one of these processes (`--pid`); needs owner resolution.
    pub pids: Vec<u32>,
    /// Owned by a process whose command name matches (`--process`); needs owner resolution.
    pub process_names: Vec<String>,
    /// `--cgroup PATH` and `--workload NAME` as given; resolved before a run into `cgroups`.
    pub workloads: WorkloadRequest,
    /// The cgroups `workloads` selects, once resolved (`None`: no such filter).
    pub cgroups: Option<CgroupMatch>,
    /// One of two disjoint halves of the sockets (a dump read on two threads); `None`: all.
    pub half: Option<Half>,
}

/// One of two disjoint halves of the sockets, by their ports, for reading one dump on two
/// threads: the upper half holds a socket when exactly one of its two ports is at or above
/// `at`, the lower half the rest. With `at` in the middle of the ephemeral port range, the
/// connections of a service split evenly whichever side this host is on: a peer's ephemeral
/// port decides an incoming connection, ours an outgoing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Half {
    pub at: u16,
    pub upper: bool,
}

impl Half {
    /// The two halves split at the middle of `ephemeral` (a port range).
    pub fn split(ephemeral: (u16, u16)) -> [Half; 2] {
        let (lo, hi) = (ephemeral.0.min(ephemeral.1), ephemeral.0.max(ephemeral.1));
        let at = lo + (hi - lo).div_ceil(2);
        [Half { at, upper: false }, Half { at, upper: true }]
    }

    pub fn holds(self, local_port: u16, remote_port: u16) -> bool {
        ((local_port >= self.at) != (remote_port >= self.at)) == self.upper
    }
}

/// `--cgroup PATH` (a cgroup v2 path and everything below it) and `--workload NAME` (a
/// workload's name at any level: unit, container, pod, `namespace/pod`, container id prefix).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkloadRequest {
    pub cgroup_paths: Vec<String>,
    pub names: Vec<String>,
}

impl WorkloadRequest {
    pub fn is_empty(&self) -> bool {
        self.cgroup_paths.is_empty() && self.names.is_empty()
    }
}

/// The cgroups a workload filter selects, by id (the inode of the cgroup's directory, what
/// sock_diag reports per socket).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupMatch {
    pub ids: Arc<BTreeSet<u64>>,
    /// The ports where a selected cgroup's sockets listen, in the namespace being read: a
    /// minisocket (TIME_WAIT, SYN_RECV request: no cgroup of its own) on one of them belongs
    /// to the workload. Filled per namespace by the pipeline, from its listening sockets.
    pub ports: Arc<BTreeSet<u16>>,
    /// With the /proc source (no cgroup ids): the socket inodes the selected cgroups'
    /// processes hold, read when the filter was resolved. Empty with netlink.
    pub inodes: Arc<BTreeSet<u64>>,
    /// Whether `inodes` was read: the filter was made for the /proc source.
    pub by_inode: bool,
}

impl CgroupMatch {
    /// Whether a socket belongs to a selected cgroup: by its cgroup id, or, for a socket
    /// without one (a minisocket), by the port it is on.
    pub fn matches(&self, record: &SocketRecord) -> bool {
        if record.cgroup_id != 0 {
            self.ids.contains(&record.cgroup_id)
        } else if record.inode != 0 {
            self.inodes.contains(&record.inode)
        } else {
            self.ports.contains(&record.local_port)
        }
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            states: StateSet::ALL,
            families: Family::ALL.to_vec(),
            any_port: PortSet::default(),
            local_port: PortSet::default(),
            remote_port: PortSet::default(),
            local_addr: Vec::new(),
            remote_addr: Vec::new(),
            uids: Vec::new(),
            pids: Vec::new(),
            process_names: Vec::new(),
            workloads: WorkloadRequest::default(),
            cgroups: None,
            half: None,
        }
    }
}

impl Filter {
    pub fn wants_family(&self, family: Family) -> bool {
        self.families.contains(&family)
    }

    /// True when every listening socket of the families read passes: LISTEN is selected and
    /// nothing else narrows (ports, addresses, users, owners, workloads). A dump with this
    /// filter then holds every listener, and needs no listener pass of its own.
    pub fn keeps_every_listener(&self) -> bool {
        self.states.contains(super::state::TcpState::Listen)
            && self.any_port.is_empty()
            && self.local_port.is_empty()
            && self.remote_port.is_empty()
            && self.local_addr.is_empty()
            && self.remote_addr.is_empty()
            && self.uids.is_empty()
            && !self.needs_owners()
            && self.workloads.is_empty()
            && self.cgroups.is_none()
    }

    /// True when only owner resolution can decide (`--pid`, `--process`).
    pub fn needs_owners(&self) -> bool {
        !self.pids.is_empty() || !self.process_names.is_empty()
    }

    /// The owner test, applied after owner resolution: does a process with this pid and
    /// command name pass `--pid` and `--process`? A name matches when it equals the command
    /// name (`/proc/PID/comm`, at most 15 bytes) exactly, or when the pattern is longer than
    /// 15 bytes and the command name is its 15-byte prefix (the kernel truncates comm).
    pub fn matches_owner(&self, pid: u32, command: &str) -> bool {
        (self.pids.is_empty() || self.pids.contains(&pid))
            && (self.process_names.is_empty()
                || self
                    .process_names
                    .iter()
                    .any(|p| process_name_matches(p, command)))
    }

    /// The per-socket test. Collectors call it on every record they read, so it must stay
    /// cheap and allocation-free.
    pub fn matches(&self, record: &SocketRecord) -> bool {
        let state_ok = match record.state {
            KernelState::Known(state) => self.states.contains(state),
            // A value we cannot name can only be wanted when everything is.
            KernelState::Unknown(_) => self.states == StateSet::ALL,
        };
        state_ok
            && self.wants_family(record.family)
            && (self.any_port.is_empty()
                || self.any_port.contains(record.local_port)
                || self.any_port.contains(record.remote_port))
            && (self.local_port.is_empty() || self.local_port.contains(record.local_port))
            && (self.remote_port.is_empty() || self.remote_port.contains(record.remote_port))
            && (self.local_addr.is_empty()
                || self.local_addr.iter().any(|c| c.contains(record.local)))
            && (self.remote_addr.is_empty()
                || self.remote_addr.iter().any(|c| c.contains(record.remote)))
            && (self.uids.is_empty() || record.owner_uid().is_some_and(|u| self.uids.contains(&u)))
            && self.cgroups.as_ref().is_none_or(|c| c.matches(record))
            && self
                .half
                .is_none_or(|h| h.holds(record.local_port, record.remote_port))
    }
}

/// The kernel keeps at most 15 bytes of a command name (`TASK_COMM_LEN` - 1).
const COMM_LEN: usize = 15;

fn process_name_matches(pattern: &str, command: &str) -> bool {
    if pattern == command {
        return true;
    }
    pattern.len() > COMM_LEN
        && command.len() == COMM_LEN
        && pattern.as_bytes().get(..COMM_LEN) == Some(command.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    #[test]
    fn ports_parse_singles_lists_and_ranges() {
        let set = PortSet::parse("80, 443,8000-8100").expect("valid");
        for p in [80, 443, 8000, 8050, 8100] {
            assert!(set.contains(p), "{p}");
        }
        for p in [0, 79, 81, 7999, 8101, 65535] {
            assert!(!set.contains(p), "{p}");
        }
        assert!(PortSet::parse("0").expect("valid").contains(0));
        assert!(PortSet::parse("65535").expect("valid").contains(65535));
    }

    #[test]
    fn bad_ports_name_the_value() {
        for (text, needle) in [
            ("70000", "70000"),
            ("http", "\"http\""),
            ("-1", "\"\""),
            ("90-80", "backwards"),
            ("80,", "empty port"),
            ("", "empty port"),
            ("1-2-3", "\"2-3\""),
            ("+80", "\"+80\""),
            ("080", "no leading zeros"),
            ("8o", "\"8o\""),
        ] {
            let err = PortSet::parse(text).expect_err(text);
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn matches_checks_every_dimension() {
        let mut record = SocketRecord::empty(Family::V6, KernelState::Known(TcpState::CloseWait));
        record.local_port = 8080;
        record.remote_port = 50000;
        let mut filter = Filter::default();
        assert!(filter.matches(&record));
        filter.any_port = PortSet::parse("50000").expect("valid");
        assert!(filter.matches(&record));
        filter.local_port = PortSet::parse("50000").expect("valid");
        assert!(!filter.matches(&record), "sport is local only");
        filter.local_port = PortSet::parse("8000-9000").expect("valid");
        assert!(filter.matches(&record));
        filter.remote_port = PortSet::parse("8080").expect("valid");
        assert!(!filter.matches(&record), "dport is remote only");
        filter.remote_port = PortSet::default();
        filter.families = vec![Family::V4];
        assert!(!filter.matches(&record));
        filter.families = vec![Family::V6];
        filter.states = StateSet::of(TcpState::TimeWait);
        assert!(!filter.matches(&record));
    }

    #[test]
    fn cidrs_parse_and_match() {
        let net = Cidr::parse("10.1.0.0/16").expect("valid");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(
            net.contains("::ffff:10.1.0.9".parse().expect("ip")),
            "v4-mapped"
        );
        assert!(!net.contains("2001:db8::1".parse().expect("ip")));
        let host = Cidr::parse("127.0.0.1").expect("valid");
        assert_eq!(host.prefix, 32);
        assert!(host.contains("127.0.0.1".parse().expect("ip")));
        assert!(!host.contains("127.0.0.2".parse().expect("ip")));
        let v6 = Cidr::parse("2001:db8::ff/32").expect("valid");
        assert_eq!(v6.network.to_string(), "2001:db8::");
        assert!(v6.contains("2001:db8:1::5".parse().expect("ip")));
        assert!(Cidr::parse("[::1]")
            .expect("valid")
            .contains("::1".parse().expect("ip")));
        assert!(Cidr::parse("0.0.0.0/0")
            .expect("valid")
            .contains("8.8.8.8".parse().expect("ip")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host",
            "10.0.0.1/",
            "/8",
            "",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        assert!(Cidr::parse("10.0.0.0/33")
            .expect_err("bad")
            .contains("0-32"));
    }

    #[test]
    fn minisockets_have_no_user() {
        let filter = Filter {
            uids: vec![0],
            ..Filter::default()
        };
        let tw = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::TimeWait));
        assert_eq!(tw.owner_uid(), None);
        assert!(
            !filter.matches(&tw),
            "uid 0 of a TIME_WAIT socket is not root"
        );
        let mut orphan = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::FinWait1));
        orphan.uid = 0;
        assert_eq!(orphan.owner_uid(), Some(0), "orphans keep their uid");
        assert!(filter.matches(&orphan));
        // An orphaned FIN_WAIT_2 turned into a time-wait minisocket: sub-state FIN_WAIT_2,
        // inode 0, the TIME_WAIT timer, uid 0 filled in by the kernel.
        let mut tw = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::FinWait2));
        tw.timer = crate::model::TimerKind::TimeWait;
        assert_eq!(tw.owner_uid(), None);
        assert!(!filter.matches(&tw));
        // A full orphan in FIN_WAIT_2 (tcp_fin_timeout above 60 s keeps it a full socket, on
        // the keepalive timer) keeps its uid; so does an owned socket with the timer.
        tw.timer = crate::model::TimerKind::KeepAlive;
        assert_eq!(tw.owner_uid(), Some(0));
        tw.timer = crate::model::TimerKind::TimeWait;
        tw.inode = 7;
        assert_eq!(tw.owner_uid(), Some(0));
        let mut request = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::SynRecv));
        request.timer = crate::model::TimerKind::Retransmit;
        assert_eq!(request.owner_uid(), None, "request sockets have no owner");
    }

    #[test]
    fn owner_matching() {
        let filter = Filter {
            pids: vec![42],
            process_names: vec!["java".into(), "VeryLongProgramName".into()],
            ..Filter::default()
        };
        assert!(filter.needs_owners());
        assert!(filter.matches_owner(42, "java"));
        assert!(!filter.matches_owner(43, "java"));
        assert!(!filter.matches_owner(42, "javac"), "exact, not substring");
        assert!(
            filter.matches_owner(42, "VeryLongProgram"),
            "15-byte comm prefix"
        );
        assert!(!Filter::default().needs_owners());
    }

    #[test]
    fn unknown_states_are_kept_only_without_a_state_filter() {
        let record = SocketRecord::empty(Family::V4, KernelState::Unknown(42));
        let mut filter = Filter::default();
        assert!(filter.matches(&record));
        filter.states = StateSet::ALL.without(StateSet::of(TcpState::Closed));
        assert!(!filter.matches(&record));
    }
}
