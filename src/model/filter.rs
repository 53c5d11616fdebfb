//! What the user asked to see: states, families and ports.
//!
//! Owns: [`Filter`] and [`PortSet`], their parsers (used by the CLI as value parsers, so bad
//! values are usage errors naming the value) and the per-socket match. Collectors push what
//! they can into the kernel request (the state mask, the families) and use [`Filter::matches`]
//! for the rest. No I/O.

use super::socket::{Family, SocketRecord};
use super::state::{KernelState, StateSet, TcpState};

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

fn parse_port(text: &str) -> Result<u16, String> {
    let text = text.trim();
    match text.parse::<u32>() {
        Ok(n) if n <= u32::from(u16::MAX) => Ok(n as u16),
        Ok(n) => Err(format!("port {n} is out of range (0-65535)")),
        Err(_) => Err(format!(
            "invalid port {text:?} (expected a number 0-65535 or a range like 8000-8100)"
        )),
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
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            states: StateSet::ALL,
            families: Family::ALL.to_vec(),
            any_port: PortSet::default(),
            local_port: PortSet::default(),
            remote_port: PortSet::default(),
        }
    }
}

impl Filter {
    pub fn wants_family(&self, family: Family) -> bool {
        self.families.contains(&family)
    }

    /// True when the filter needs no per-socket check beyond state and family, which the
    /// kernel request already applies.
    pub fn is_kernel_exact(&self) -> bool {
        self.any_port.is_empty() && self.local_port.is_empty() && self.remote_port.is_empty()
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
    }

    /// States the filter asks for, in lifecycle order.
    pub fn state_list(&self) -> impl Iterator<Item = TcpState> {
        self.states.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn unknown_states_are_kept_only_without_a_state_filter() {
        let record = SocketRecord::empty(Family::V4, KernelState::Unknown(42));
        let mut filter = Filter::default();
        assert!(filter.matches(&record));
        filter.states = StateSet::ALL.without(StateSet::of(TcpState::Closed));
        assert!(!filter.matches(&record));
    }
}
