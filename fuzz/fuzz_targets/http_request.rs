//! The request heads `tcpstat serve` parses: whatever a client sends, a status, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpstat::serve::{parse_head, Refusal};

fuzz_target!(|data: &[u8]| {
    match parse_head(data) {
        Ok(request) => assert!(request.path.starts_with('/')),
        Err(Refusal(status)) => assert!(matches!(status, 400 | 405 | 505)),
    }
});
