//! Kernel answers to a sock_diag dump, as raw datagrams: never a panic; a record is only
//! ever produced from a complete message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpstat::collect::netlink::{parse_datagram, parse_datagram_with, parse_inet_diag_msg, DumpStats};
use tcpstat::collect::tcpinfo::{parse_detail, parse_skmeminfo, parse_tcp_info};
use tcpstat::model::Sink;
use tcpstat::model::{Extensions, Family, Filter, SocketRecord};

struct Count(u64);
impl Sink for Count {
    fn record(&mut self, _: &SocketRecord) {
        self.0 += 1;
    }
    fn reset(&mut self) -> bool {
        true
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_inet_diag_msg(data);
    let seq = data.get(8..12).map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    let mut sink = Count(0);
    let mut stats = DumpStats::default();
    let _ = parse_datagram(data, Family::V4, seq, &Filter::default(), &mut sink, &mut stats);
    assert!(sink.0 <= stats.sockets);
    // The same bytes as a dump that asked for tcp_info and memory, and as the attributes
    // and payloads themselves: lengths of every kind, never a panic.
    let all = Extensions { info: true, memory: true };
    let mut sink = Count(0);
    let mut stats = DumpStats::default();
    let _ = parse_datagram_with(data, Family::V4, seq, &Filter::default(), all, &mut sink, &mut stats);
    assert!(sink.0 <= stats.sockets);
    let _ = parse_detail(data, all);
    if let Some(info) = parse_tcp_info(data) {
        assert_eq!(usize::from(info.length), data.len().min(usize::from(u16::MAX)));
        assert_eq!(info.snd_wnd.is_some(), data.len() >= 232);
    }
    let _ = parse_skmeminfo(data);
});
