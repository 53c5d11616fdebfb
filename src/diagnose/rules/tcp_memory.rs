//! Host-wide TCP buffer memory (sockstat's `mem`, in pages) against the `tcp_mem` pressure
//! value, with `min` and `max` as evidence. Above pressure the kernel shrinks buffers
//! (`tcp_enter_memory_pressure`, `TCPMemoryPressures`); at max it refuses them and drops or
//! resets (`TCPAbortOnMemory`). Sockstat counts the whole host even inside a namespace,
//! where `tcp_mem` is not shown: then the finding says the limit is unknown.

use super::{counters, finding};
use crate::diagnose::{Check, Evidence, Finding, Inputs, Number, Setting, Subject};

/// One finding for the host; none when sockstat is unreadable.
pub fn examine(inputs: &Inputs<'_>, check: Check) -> Vec<Finding> {
    let facts = inputs.facts;
    let Some(stat) = facts.sockstat else {
        return Vec::new();
    };
    let mem = facts.sysctls.tcp_mem;
    let mut numbers = vec![(
        Number::MemoryBytes,
        stat.mem_pages.saturating_mul(facts.page_size),
    )];
    if let Some(m) = mem {
        numbers.push((
            Number::MemoryMaxBytes,
            m.max.saturating_mul(facts.page_size),
        ));
    }
    vec![finding(
        inputs,
        check,
        Subject::Host,
        stat.mem_pages,
        mem.map(|m| m.pressure),
        Evidence {
            settings: vec![(
                "net.ipv4.tcp_mem",
                mem.map(|m| Setting::Triple(m.min, m.pressure, m.max)),
            )],
            counters: counters(facts, &["TCPMemoryPressures", "TCPAbortOnMemory"]),
            numbers,
            ..Evidence::default()
        },
    )]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::diagnose::fixtures::{facts, of, run_with};
    use crate::diagnose::{Census, Check, Number, Setting, Severity};
    use crate::model::kernel::{SockStat, TcpMem};
    use crate::model::StateSet;

    #[test]
    fn tcp_memory_is_judged_against_the_pressure_value() {
        let census = Census::new(HashSet::new(), None, Vec::new());
        let judge_at = |pages: u64, tcp_mem: Option<TcpMem>| {
            let mut facts = facts();
            facts.sysctls.tcp_mem = tcp_mem;
            facts.sockstat = Some(SockStat {
                mem_pages: pages,
                ..SockStat::default()
            });
            let d = run_with(&census, &facts, StateSet::ALL, true);
            of(&d, Check::TcpMemory)[0].clone()
        };
        let mem = Some(TcpMem {
            min: 500,
            pressure: 1000,
            max: 1500,
        });
        for (pages, severity) in [
            (0, Severity::Ok),
            (799, Severity::Ok),
            (800, Severity::Warning),
            (999, Severity::Warning),
            (1000, Severity::Critical),
            (1600, Severity::Critical),
        ] {
            let f = judge_at(pages, mem);
            assert_eq!(f.severity, severity, "{pages} pages");
            assert_eq!((f.value, f.limit), (pages, Some(1000)));
        }
        let f = judge_at(800, mem);
        assert_eq!((f.warning_at, f.critical_at), (Some(800), Some(1000)));
        assert_eq!(
            f.evidence.number(Number::MemoryBytes),
            Some(800 * 4096),
            "bytes"
        );
        assert_eq!(
            f.evidence.number(Number::MemoryMaxBytes),
            Some(1500 * 4096),
            "max bytes"
        );
        assert_eq!(
            f.evidence.settings,
            [("net.ipv4.tcp_mem", Some(Setting::Triple(500, 1000, 1500)))]
        );
        // Inside a namespace tcp_mem is not shown: counted, not judged.
        let f = judge_at(5000, None);
        assert_eq!(
            (f.severity, f.limit, f.warning_at),
            (Severity::Ok, None, None)
        );
        assert_eq!(Check::parse_key("tcp-mem"), Some(Check::TcpMemory));
        assert_eq!(Check::parse_key("TCP_MEMORY"), Some(Check::TcpMemory));
    }
}
