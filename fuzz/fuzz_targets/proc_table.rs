//! A whole /proc/net/tcp{,6} table through the streaming scanner, with a small buffer so
//! lines straddle reads: never a panic, never a hang; every record's fields are in range.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tcpstat::collect::procnet::{parse_line, scan_table};
use tcpstat::model::Sink;
use tcpstat::model::{Family, Filter, SocketRecord};

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
    let family = if data.first().is_some_and(|b| b & 1 == 1) { Family::V6 } else { Family::V4 };
    for line in data.split(|&b| b == b'\n') {
        let _ = parse_line(line, family);
    }
    let mut sink = Count(0);
    let mut buf = vec![0; 512];
    if let Ok(stats) = scan_table(data, family, Path::new("fuzz"), &Filter::default(), &mut sink, &mut buf) {
        assert!(sink.0 <= stats.rows);
    }
});
