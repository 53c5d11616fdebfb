//! Every parser of command-line text: durations, CIDRs, port sets, state lists, threshold
//! ranges, `check` and `doctor` thresholds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpstat::model::{duration, Cidr, PortSet, Range, StateSet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = duration::parse(text);
    if let Ok(net) = Cidr::parse(text) {
        assert!(net.contains(net.network));
    }
    let _ = PortSet::parse(text);
    if let Ok(set) = StateSet::parse_list(text) {
        assert!(!set.is_empty());
    }
    if let Ok(range) = Range::parse(text) {
        assert_eq!(range.text(), text.trim());
        let _ = range.alerts(0.0);
    }
    let _ = tcpstat::check::parse_threshold(text);
    let _ = tcpstat::diagnose::parse_threshold(text);
});
