//! Property tests for every parser of outside input: state names, ports, CIDRs, durations,
//! /proc lines, netlink datagrams, kernel counters, thresholds and HTTP request heads. They must never panic, and what they accept must mean
//! what it says.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use tcpstat::collect::netlink::{parse_datagram, DumpStats};
use tcpstat::collect::procnet::parse_line;
use tcpstat::model::duration;
use tcpstat::model::Sink;
use tcpstat::model::{Cidr, Family, Filter, PortSet, SocketRecord, StateSet, TcpState};

struct Count(u64);
impl Sink for Count {
    fn record(&mut self, _: &SocketRecord) {
        self.0 += 1;
    }
    fn reset(&mut self) -> bool {
        self.0 = 0;
        true
    }
}

/// The words of a canonical name (`FIN_WAIT_1` -> ["fin", "wait", "1"]).
fn words(state: TcpState) -> Vec<String> {
    state
        .name()
        .split('_')
        .map(str::to_ascii_lowercase)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn state_names_survive_any_case_and_separator(idx in 0usize..11, sep in prop::sample::select(vec!["-", "_", ""]), upper in prop::collection::vec(any::<bool>(), 20)) {
        let state = TcpState::ALL[idx];
        let joined = words(state).join(sep);
        let cased: String = joined
            .chars()
            .zip(upper.iter().cycle())
            .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
            .collect();
        prop_assert_eq!(TcpState::parse(&cased), Some(state), "{}", cased);
        prop_assert_eq!(StateSet::parse_list(&cased), Ok(StateSet::of(state)));
    }

    #[test]
    fn state_lists_never_panic_and_errors_name_the_entry(text in ".{0,40}") {
        match StateSet::parse_list(&text) {
            Ok(set) => prop_assert!(!set.is_empty()),
            Err(e) => prop_assert!(e.contains("state") || e.contains("no state"), "{}", e),
        }
    }

    #[test]
    fn port_ranges_contain_exactly_their_ports(a in any::<u16>(), b in any::<u16>(), p in any::<u16>()) {
        let (lo, hi) = (a.min(b), a.max(b));
        let set = PortSet::parse(&format!("{lo}-{hi}")).expect("valid range");
        prop_assert_eq!(set.contains(p), lo <= p && p <= hi);
        let single = PortSet::parse(&p.to_string()).expect("valid port");
        prop_assert!(single.contains(p));
        prop_assert_eq!(single.contains(a), a == p);
    }

    #[test]
    fn ports_out_of_range_are_rejected_naming_the_value(n in 65536u64..10_000_000) {
        let err = PortSet::parse(&n.to_string()).expect_err("out of range");
        prop_assert!(err.contains(&n.to_string()), "{}", err);
    }

    #[test]
    fn port_text_never_panics(text in "[0-9,\\- a-z]{0,30}") {
        let _ = PortSet::parse(&text);
    }

    #[test]
    fn v4_networks_contain_their_addresses(bits in any::<u32>(), prefix in 0u8..=32, flip in 0u32..32) {
        let ip = Ipv4Addr::from(bits);
        let net = Cidr::parse(&format!("{ip}/{prefix}")).expect("valid");
        prop_assert!(net.contains(IpAddr::V4(ip)));
        prop_assert!(net.contains(IpAddr::V6(ip.to_ipv6_mapped())), "v4-mapped");
        // Flipping a bit inside the prefix leaves the network; outside it stays.
        let flipped = Ipv4Addr::from(bits ^ (1 << flip));
        let inside_prefix = 31 - flip < u32::from(prefix);
        prop_assert_eq!(net.contains(IpAddr::V4(flipped)), !inside_prefix);
    }

    #[test]
    fn v6_networks_contain_their_addresses(bits in any::<u128>(), prefix in 0u8..=128, flip in 0u32..128) {
        let ip = Ipv6Addr::from(bits);
        let net = Cidr::parse(&format!("{ip}/{prefix}")).expect("valid");
        prop_assert!(net.contains(IpAddr::V6(ip)));
        let flipped = Ipv6Addr::from(bits ^ (1 << flip));
        let inside_prefix = 127 - flip < u32::from(prefix);
        prop_assert_eq!(net.contains(IpAddr::V6(flipped)), !inside_prefix);
        let bracketed = Cidr::parse(&format!("[{ip}]")).expect("valid");
        prop_assert_eq!(bracketed.prefix, 128);
    }

    #[test]
    fn cidr_text_never_panics(text in "[0-9a-f:./\\[\\]]{0,45}") {
        if let Ok(net) = Cidr::parse(&text) {
            let max = if net.network.is_ipv4() { 32 } else { 128 };
            prop_assert!(net.prefix <= max);
        }
    }

    #[test]
    fn durations_round_trip_and_never_panic(ms in 0u64..100_000_000, text in "[0-9a-z. ]{0,12}") {
        prop_assert_eq!(duration::parse(&format!("{ms}ms")).map(|d| d.as_millis()), Ok(u128::from(ms)));
        let secs = format!("{}.{:03}", ms / 1000, ms % 1000);
        prop_assert_eq!(duration::parse(&secs).map(|d| d.as_millis()), Ok(u128::from(ms)), "{}", secs);
        let _ = duration::parse(&text);
    }

    #[test]
    fn proc_lines_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_line(&bytes, Family::V4);
        let _ = parse_line(&bytes, Family::V6);
    }

    #[test]
    fn proc_lines_with_random_fields_never_panic(fields in prop::collection::vec("[0-9A-Fa-f:x-]{0,34}", 0..14)) {
        let line = fields.join(" ");
        let _ = parse_line(line.as_bytes(), Family::V4);
        let _ = parse_line(line.as_bytes(), Family::V6);
    }

    #[test]
    fn netlink_datagrams_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), seq in any::<u32>()) {
        let mut sink = Count(0);
        let mut stats = DumpStats::default();
        let _ = parse_datagram(&bytes, Family::V4, seq, &Filter::default(), &mut sink, &mut stats);
        prop_assert!(sink.0 <= stats.sockets, "recorded more sockets than parsed");
    }

    #[test]
    fn http_request_heads_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        match tcpstat::serve::parse_head(&bytes) {
            Ok(r) => prop_assert!(r.path.starts_with('/')),
            Err(tcpstat::serve::Refusal(status)) => prop_assert!(matches!(status, 400 | 405 | 505)),
        }
    }

    #[test]
    fn request_lines_from_parts_never_panic(method in "[A-Z]{0,8}", path in "[ -~]{0,20}", version in "HTTP/[0-9.]{0,4}") {
        let head = format!("{method} {path} {version}\r\nHost: x");
        let _ = tcpstat::serve::parse_head(head.as_bytes());
    }

    #[test]
    fn ranges_never_panic_and_at_inverts(text in "[@~:0-9.\\-]{0,12}", v in -1000.0f64..1000.0) {
        if let Ok(r) = tcpstat::model::Range::parse(&text) {
            let t = text.trim();
            let other = match t.strip_prefix('@') {
                Some(plain) => tcpstat::model::Range::parse(plain),
                None => tcpstat::model::Range::parse(&format!("@{t}")),
            };
            let other = other.expect("the same range with '@' toggled parses");
            prop_assert_eq!(r.alerts(v), !other.alerts(v), "{} vs {}", r, other);
        }
    }

    #[test]
    fn thresholds_never_panic(text in ".{0,40}") {
        let _ = tcpstat::check::parse_threshold(&text);
        let _ = tcpstat::diagnose::parse_threshold(&text);
    }

    #[test]
    fn kernel_counter_files_never_panic(text in "[A-Za-z: 0-9\n\t-]{0,200}") {
        let _ = tcpstat::collect::kernel::parse_netstat(&text, "TcpExt");
        let _ = tcpstat::collect::kernel::parse_sockstat(&text);
        if let Some((lo, hi)) = tcpstat::collect::kernel::parse_port_range(&text) {
            prop_assert!(lo <= hi);
        }
    }
}
