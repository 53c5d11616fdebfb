//! The small kernel and system files tcpstat reads besides the socket tables:
//! `/proc/net/netstat` and `/proc/net/snmp` sections, `/proc/net/sockstat`, the
//! `ip_local_port_range` and `tcp_mem` sysctls. Any bytes: never a panic, and what parses is
//! consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpstat::collect::kernel;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some((low, high)) = kernel::parse_port_range(text) {
        assert!(low <= high, "{low} > {high}");
    }
    let _ = kernel::parse_tcp_mem(text);
    for section in ["TcpExt", "Tcp", "IpExt"] {
        let _ = kernel::parse_netstat(text, section);
    }
    let _ = kernel::parse_sockstat(text);
});
