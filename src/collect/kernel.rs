//! Kernel TCP settings and counters that give socket counts their meaning: the limits a
//! count is measured against (sysctls), what the kernel already dropped (`/proc/net/netstat`)
//! and its own socket totals (`/proc/net/sockstat`).
//!
//! Owns: reading and parsing those files under the proc root (`--proc-root`, so recorded
//! fixtures work), and saying which could not be read. It must not read socket tables, judge
//! whether a value is a problem (that is `diagnose`) or format anything.
//!
//! Namespaces: the files are those of the reading process's network namespace, like the
//! sockets netlink returns. Most values are per namespace; four are host-wide, as the kernel
//! keeps them: `tcp_max_orphans` and `tcp_mem` (`ipv4_table` in `net/ipv4/sysctl_net_ipv4.c`,
//! not the per namespace `ipv4_net_table`: inside another namespace they are not shown at all),
//! and the `orphan` and `mem` counts of sockstat (`tcp_orphan_count_sum()` and
//! `proto_memory_allocated()` in `net/ipv4/proc.c`).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// The sysctls that bound TCP socket states. `None`: not readable (missing file in a fixture,
/// an older kernel, a value that did not parse); the name is then in [`KernelFacts::missing`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sysctls {
    /// `net.ipv4.tcp_max_tw_buckets`: TIME_WAIT sockets the namespace may hold; beyond it the
    /// kernel closes connections without TIME_WAIT (`inet_twsk_alloc`, counter
    /// `TCPTimeWaitOverflow`).
    pub tcp_max_tw_buckets: Option<u64>,
    /// `net.ipv4.ip_local_port_range`: the ephemeral ports for outgoing connections,
    /// inclusive.
    pub ip_local_port_range: Option<(u16, u16)>,
    /// `net.ipv4.tcp_syncookies`: 0 off, 1 when the SYN queue overflows, 2 always.
    pub tcp_syncookies: Option<u64>,
    /// `net.ipv4.tcp_max_syn_backlog`: with syncookies off, unverified SYNs are dropped once a
    /// listener's SYN queue is three quarters of this (`tcp_conn_request`).
    pub tcp_max_syn_backlog: Option<u64>,
    /// `net.core.somaxconn`: the cap on every listen() backlog.
    pub somaxconn: Option<u64>,
    /// `net.ipv4.tcp_fin_timeout`, seconds: how long an orphaned FIN_WAIT_2 socket lives.
    pub tcp_fin_timeout: Option<u64>,
    /// `net.ipv4.tcp_max_orphans` (host-wide): orphaned sockets allowed before the kernel
    /// resets new orphans ("too many orphaned sockets", `tcp_too_many_orphans`).
    pub tcp_max_orphans: Option<u64>,
    /// `net.ipv4.tcp_orphan_retries`: FIN retransmissions before an orphan is dropped
    /// (0 means the kernel default of 8, `tcp_orphan_retries()`).
    pub tcp_orphan_retries: Option<u64>,
    /// `net.ipv4.tcp_tw_reuse`: 0 off, 1 on, 2 loopback only: whether outgoing connections
    /// may take over a TIME_WAIT socket's 4-tuple.
    pub tcp_tw_reuse: Option<u64>,
    /// `net.ipv4.tcp_timestamps`: 0 off, 1 on, 2 on without random offsets. TIME_WAIT reuse
    /// needs the timestamps of the old connection (`tcp_twsk_unique`), so with 0 it is off
    /// whatever `tcp_tw_reuse` says.
    pub tcp_timestamps: Option<u64>,
    /// `net.ipv4.tcp_syn_retries`: SYN retransmissions before connect() fails.
    pub tcp_syn_retries: Option<u64>,
    /// `net.ipv4.tcp_abort_on_overflow`: 1 resets connections that find the accept queue full.
    pub tcp_abort_on_overflow: Option<u64>,
    /// `net.ipv4.tcp_mem` (host-wide), in pages: `[min, pressure, max]`. Above `pressure` the
    /// kernel is in memory-pressure mode and shrinks socket buffers; at `max` it refuses new
    /// buffer memory and drops or resets (`TCP: out of memory -- consider tuning tcp_mem`,
    /// counter `TCPAbortOnMemory`). `tcp_mem_over` / `tcp_under_memory_limits` in the kernel.
    pub tcp_mem: Option<TcpMem>,
}

/// `net.ipv4.tcp_mem`, in pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpMem {
    pub min: u64,
    pub pressure: u64,
    pub max: u64,
}

/// The TCP line of `/proc/net/sockstat` (`sockstat_seq_show`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SockStat {
    /// Sockets in use in this namespace (not TIME_WAIT).
    pub inuse: u64,
    /// Orphaned sockets, host-wide: closed by their process, still finishing the close.
    pub orphan: u64,
    /// TIME_WAIT minisockets of this namespace (FIN_WAIT_2 orphans handed to the timewait
    /// machinery included), the number `tcp_max_tw_buckets` bounds.
    pub tw: u64,
    /// Allocated sockets.
    pub alloc: u64,
    /// Memory allocated to TCP socket buffers, host-wide, in pages (the number `tcp_mem`
    /// bounds).
    pub mem_pages: u64,
}

/// Everything read, plus what could not be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelFacts {
    pub sysctls: Sysctls,
    /// `TcpExt` counters of `/proc/net/netstat` by the kernel's name (`ListenOverflows`,
    /// `ListenDrops`, ...): counts since boot (or since the namespace was created). Empty when
    /// the file could not be read.
    pub tcp_ext: BTreeMap<String, u64>,
    pub sockstat: Option<SockStat>,
    /// The size of a page in bytes (sockstat's `mem` and `tcp_mem` count pages).
    pub page_size: u64,
    /// What could not be read, as `name (cause)`: shown so a missing limit is never mistaken
    /// for a reassuring one.
    pub missing: Vec<String>,
}

impl KernelFacts {
    /// A `TcpExt` counter by its kernel name.
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.tcp_ext.get(name).copied()
    }
}

/// Where each sysctl lives under the proc root.
const SYSCTL_DIR: &str = "sys/net";

/// Reads the facts of the namespace `options` reads sockets from: under the proc root for
/// tcpstat's own; inside the namespace otherwise, where `/proc/sys/net` answers for the
/// reading thread's namespace (`net_ctl_header_lookup` looks at `current`) and
/// `/proc/thread-self/net` is that thread's. Never fails: a namespace that cannot be entered
/// leaves everything unknown, and says why in `missing`.
pub fn read_for(options: &super::SourceOptions) -> KernelFacts {
    let root = &options.proc_root;
    match &options.netns {
        Some(ns) if !ns.current => {
            let net = root.join("thread-self");
            ns.within(|| read_at(root, &net))
                .unwrap_or_else(|e| KernelFacts {
                    missing: vec![format!(
                        "every setting and counter of netns {} ({e})",
                        ns.label
                    )],
                    ..KernelFacts::default()
                })
        }
        _ => read(root),
    }
}

/// `net.ipv4.ip_local_port_range` of the namespace `options` reads sockets from (under the
/// proc root for tcpstat's own, read inside the namespace otherwise, as [`read_for`] does);
/// `None` when it cannot be read or entered. Cheaper than [`read_for`]: one file.
pub fn local_port_range(options: &super::SourceOptions) -> Option<(u16, u16)> {
    let root = &options.proc_root;
    let read = || {
        read_sysctl(root, "ipv4/ip_local_port_range")
            .ok()
            .and_then(|text| parse_port_range(&text))
    };
    match &options.netns {
        Some(ns) if !ns.current => ns.within(read).ok().flatten(),
        _ => read(),
    }
}

/// Reads the facts under `proc_root` (tcpstat's own namespace, or a recorded fixture). Never
/// fails: whatever is unreadable is `None` and listed in `missing`.
pub fn read(proc_root: &Path) -> KernelFacts {
    read_at(proc_root, proc_root)
}

/// Sysctls under `<sys_root>/sys/net`, counters under `<net_root>/net`.
fn read_at(sys_root: &Path, net_root: &Path) -> KernelFacts {
    let proc_root = sys_root;
    let mut missing = Vec::new();
    let mut number = |name: &str, path: &str| -> Option<u64> {
        match read_sysctl(proc_root, path) {
            Ok(text) => match text.trim().parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    missing.push(format!("{name} (not a number: {:?})", text.trim()));
                    None
                }
            },
            Err(e) => {
                missing.push(format!("{name} ({e})"));
                None
            }
        }
    };
    let mut sysctls = Sysctls {
        tcp_max_tw_buckets: number("net.ipv4.tcp_max_tw_buckets", "ipv4/tcp_max_tw_buckets"),
        ip_local_port_range: None,
        tcp_syncookies: number("net.ipv4.tcp_syncookies", "ipv4/tcp_syncookies"),
        tcp_max_syn_backlog: number("net.ipv4.tcp_max_syn_backlog", "ipv4/tcp_max_syn_backlog"),
        somaxconn: number("net.core.somaxconn", "core/somaxconn"),
        tcp_fin_timeout: number("net.ipv4.tcp_fin_timeout", "ipv4/tcp_fin_timeout"),
        tcp_max_orphans: number("net.ipv4.tcp_max_orphans", "ipv4/tcp_max_orphans"),
        tcp_orphan_retries: number("net.ipv4.tcp_orphan_retries", "ipv4/tcp_orphan_retries"),
        tcp_tw_reuse: number("net.ipv4.tcp_tw_reuse", "ipv4/tcp_tw_reuse"),
        tcp_timestamps: number("net.ipv4.tcp_timestamps", "ipv4/tcp_timestamps"),
        tcp_syn_retries: number("net.ipv4.tcp_syn_retries", "ipv4/tcp_syn_retries"),
        tcp_abort_on_overflow: number(
            "net.ipv4.tcp_abort_on_overflow",
            "ipv4/tcp_abort_on_overflow",
        ),
        tcp_mem: None,
    };
    match read_sysctl(proc_root, "ipv4/tcp_mem") {
        Ok(text) => match parse_tcp_mem(&text) {
            Some(mem) => sysctls.tcp_mem = Some(mem),
            None => missing.push(format!(
                "net.ipv4.tcp_mem (not three increasing page counts: {:?})",
                text.trim()
            )),
        },
        Err(e) => missing.push(format!("net.ipv4.tcp_mem ({e})")),
    }
    match read_sysctl(proc_root, "ipv4/ip_local_port_range") {
        Ok(text) => match parse_port_range(&text) {
            Some(range) => sysctls.ip_local_port_range = Some(range),
            None => missing.push(format!(
                "net.ipv4.ip_local_port_range (not two ports: {:?})",
                text.trim()
            )),
        },
        Err(e) => missing.push(format!("net.ipv4.ip_local_port_range ({e})")),
    }
    let tcp_ext = match std::fs::read_to_string(net_root.join("net/netstat")) {
        Ok(text) => {
            let counters = parse_netstat(&text, "TcpExt");
            if counters.is_empty() {
                missing.push("/proc/net/netstat TcpExt (no such section)".to_string());
            }
            counters
        }
        Err(e) => {
            missing.push(format!("/proc/net/netstat ({e})"));
            BTreeMap::new()
        }
    };
    let sockstat = match std::fs::read_to_string(net_root.join("net/sockstat")) {
        Ok(text) => {
            let parsed = parse_sockstat(&text);
            if parsed.is_none() {
                missing.push("/proc/net/sockstat (no TCP line)".to_string());
            }
            parsed
        }
        Err(e) => {
            missing.push(format!("/proc/net/sockstat ({e})"));
            None
        }
    };
    KernelFacts {
        sysctls,
        tcp_ext,
        sockstat,
        page_size: rustix::param::page_size() as u64,
        missing,
    }
}

fn read_sysctl(proc_root: &Path, path: &str) -> io::Result<String> {
    std::fs::read_to_string(proc_root.join(SYSCTL_DIR).join(path))
}

/// `"32768\t60999\n"` -> (32768, 60999). The kernel prints the two bounds tab-separated
/// (`proc_dointvec` style, `ipv4_local_port_range`).
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut parts = text.split_whitespace();
    let lo = parts.next()?.parse::<u16>().ok()?;
    let hi = parts.next()?.parse::<u16>().ok()?;
    (parts.next().is_none() && lo <= hi).then_some((lo, hi))
}

/// `"4194304\t6291456\t8388608\n"` -> min, pressure, max (pages). The kernel keeps them
/// in that order but does not enforce it; a table that is not in order is reported as
/// unreadable rather than judged against a misleading limit.
pub fn parse_tcp_mem(text: &str) -> Option<TcpMem> {
    let mut parts = text.split_whitespace().map(|p| p.parse::<u64>().ok());
    let (Some(Some(min)), Some(Some(pressure)), Some(Some(max)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (min <= pressure && pressure <= max).then_some(TcpMem { min, pressure, max })
}

/// The counters of one section of `/proc/net/netstat` (or `/proc/net/snmp`): the kernel
/// prints each section as a line of names and a line of values, both starting with
/// `Section:` (`netstat_seq_show` in `net/ipv4/proc.c`). Names without a parsable value are
/// left out.
pub fn parse_netstat(text: &str, section: &str) -> BTreeMap<String, u64> {
    let prefix = format!("{section}:");
    let mut lines = text.lines().filter(|l| l.starts_with(&prefix));
    let mut out = BTreeMap::new();
    if let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let names = names[prefix.len()..].split_whitespace();
        let values = values[prefix.len()..].split_whitespace();
        for (name, value) in names.zip(values) {
            if let Ok(v) = value.parse::<u64>() {
                out.insert(name.to_string(), v);
            }
        }
    }
    out
}

/// The `TCP:` line of `/proc/net/sockstat`:
/// `TCP: inuse 3 orphan 0 tw 30 alloc 5 mem 2`.
pub fn parse_sockstat(text: &str) -> Option<SockStat> {
    let line = text.lines().find(|l| l.starts_with("TCP:"))?;
    let mut fields = BTreeMap::new();
    let mut words = line["TCP:".len()..].split_whitespace();
    while let (Some(name), Some(value)) = (words.next(), words.next()) {
        fields.insert(name, value.parse::<u64>().ok()?);
    }
    Some(SockStat {
        inuse: *fields.get("inuse")?,
        orphan: *fields.get("orphan")?,
        tw: *fields.get("tw")?,
        alloc: fields.get("alloc").copied().unwrap_or(0),
        mem_pages: fields.get("mem").copied().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_mem_is_three_increasing_page_counts() {
        assert_eq!(
            parse_tcp_mem("4194304\t6291456\t8388608\n"),
            Some(TcpMem {
                min: 4194304,
                pressure: 6291456,
                max: 8388608
            })
        );
        for bad in ["", "1 2", "1 2 3 4", "3 2 1", "1 x 3", "-1 2 3"] {
            assert_eq!(parse_tcp_mem(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn netstat_sections_pair_names_with_values() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\n\
                    TcpExt: 3 17 18\n\
                    IpExt: InNoRoutes ListenOverflows\n\
                    IpExt: 1 99\n";
        let tcp = parse_netstat(text, "TcpExt");
        assert_eq!(tcp.get("ListenOverflows"), Some(&17));
        assert_eq!(tcp.get("ListenDrops"), Some(&18));
        assert_eq!(tcp.get("SyncookiesSent"), Some(&3));
        assert_eq!(tcp.len(), 3);
        assert!(parse_netstat(text, "MPTcpExt").is_empty());
        assert!(
            parse_netstat("TcpExt: A B\n", "TcpExt").is_empty(),
            "no value line"
        );
    }

    #[test]
    fn sockstat_tcp_line() {
        let text = "sockets: used 22\nTCP: inuse 3 orphan 1948 tw 30 alloc 1951 mem 2028\n\
                    UDP: inuse 0 mem 0\n";
        assert_eq!(
            parse_sockstat(text),
            Some(SockStat {
                inuse: 3,
                orphan: 1948,
                tw: 30,
                alloc: 1951,
                mem_pages: 2028
            })
        );
        assert_eq!(parse_sockstat("UDP: inuse 0\n"), None);
        assert_eq!(parse_sockstat("TCP: inuse x orphan 0 tw 0\n"), None);
    }

    #[test]
    fn port_range() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("1024 1024"), Some((1024, 1024)));
        for bad in ["", "1", "2 1", "1 2 3", "a b", "1 70000"] {
            assert_eq!(parse_port_range(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_missing_root_is_all_unknown_and_says_so() {
        let facts = read(Path::new("/nonexistent/tcpstat-proc-root"));
        assert_eq!(facts.sysctls, Sysctls::default());
        assert!(facts.tcp_ext.is_empty());
        assert_eq!(facts.sockstat, None);
        assert!(facts
            .missing
            .iter()
            .any(|m| m.starts_with("net.ipv4.tcp_max_tw_buckets (")));
        assert!(facts.missing.iter().any(|m| m.contains("sockstat")));
        assert_eq!(facts.missing.len(), 15, "{:?}", facts.missing);
    }

    #[test]
    fn the_live_proc_root_reads() {
        let facts = read(Path::new("/proc"));
        // Every Linux this runs on has these; a sandbox may hide sysctls but not sockstat.
        assert!(facts.sockstat.is_some(), "{:?}", facts.missing);
        assert!(
            facts.counter("ListenOverflows").is_some(),
            "{:?}",
            facts.missing
        );
    }
}
