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

use super::netns::within;
use crate::model::kernel::{KernelFacts, SockStat, Sysctls, TcpMem};
use crate::model::netns::Namespace;

/// Where each sysctl lives under the proc root.
const SYSCTL_DIR: &str = "sys/net";

/// Reads the facts of the namespace `netns` (`None`: tcpstat's own, under the proc root);
/// inside another namespace, where `/proc/sys/net` answers for the reading thread's namespace
/// (`net_ctl_header_lookup` looks at `current`) and `/proc/thread-self/net` is that
/// thread's. Never fails: a namespace that cannot be entered leaves everything unknown, and
/// says why in `missing`.
pub fn read_for(proc_root: &Path, netns: Option<&Namespace>) -> KernelFacts {
    match netns {
        Some(ns) if !ns.current => {
            let net = proc_root.join("thread-self");
            within(ns, || read_at(proc_root, &net)).unwrap_or_else(|e| KernelFacts {
                missing: vec![format!(
                    "every setting and counter of netns {} ({})",
                    ns.label,
                    e.report()
                )],
                ..KernelFacts::default()
            })
        }
        _ => read(proc_root),
    }
}

/// `net.ipv4.ip_local_port_range` of the namespace `netns` (as [`read_for`] reads it);
/// `None` when it cannot be read or entered. Cheaper than [`read_for`]: one file.
pub fn local_port_range(proc_root: &Path, netns: Option<&Namespace>) -> Option<(u16, u16)> {
    let read = || {
        read_sysctl(proc_root, "ipv4/ip_local_port_range")
            .ok()
            .and_then(|text| parse_port_range(&text))
    };
    match netns {
        Some(ns) if !ns.current => within(ns, read).ok().flatten(),
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

/// The kernel's TCP counters of tcpstat's namespace, as `record` stores them: every
/// [`crate::model::history::COUNTERS`] entry from `/proc/net/snmp` (`Tcp:`) and
/// `/proc/net/netstat` (`TcpExt:`), `None` where the kernel does not show it; and the files
/// that could not be read. Two reads, no sysctl.
pub fn tcp_counters(proc_root: &Path) -> (Vec<Option<u64>>, Vec<String>) {
    let mut missing = Vec::new();
    let mut section =
        |file: &str, name: &str| match std::fs::read_to_string(proc_root.join("net").join(file)) {
            Ok(text) => parse_netstat(&text, name),
            Err(e) => {
                missing.push(format!("/proc/net/{file} ({e})"));
                BTreeMap::new()
            }
        };
    let tcp = section("snmp", "Tcp");
    let ext = section("netstat", "TcpExt");
    let values = crate::model::history::COUNTERS
        .iter()
        .map(|&(sec, name)| {
            if sec == "Tcp" {
                tcp.get(name).copied()
            } else {
                ext.get(name).copied()
            }
        })
        .collect();
    (values, missing)
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
