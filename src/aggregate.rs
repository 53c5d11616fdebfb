//! Pure functions from sockets to numbers.
//!
//! Owns: [`StateCounts`], the per-family x per-state census that `summary` prints. It is a
//! [`Sink`], so the collector streams into it and memory stays a few hundred bytes whatever the
//! number of sockets. No I/O.

use crate::collect::Sink;
use crate::model::{Family, KernelState, SocketRecord, TcpState};

/// Sockets whose kernel state value is not one we know, kept with that value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownBucket {
    pub value: u8,
    /// Counts by [`Family::index`].
    pub by_family: [u64; 2],
}

impl UnknownBucket {
    pub fn total(&self) -> u64 {
        self.by_family.iter().sum()
    }
}

/// Socket counts by family and state, plus unknown kernel values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    by_family: [[u64; 11]; 2],
    unknown: Vec<UnknownBucket>,
}

impl StateCounts {
    pub fn new() -> StateCounts {
        StateCounts::default()
    }

    pub fn add(&mut self, family: Family, state: KernelState) {
        match state {
            KernelState::Known(s) => self.by_family[family.index()][s.index()] += 1,
            KernelState::Unknown(value) => {
                // Rare: a linear search over a handful of buckets, allocating only for a new value.
                match self.unknown.iter_mut().find(|b| b.value == value) {
                    Some(bucket) => bucket.by_family[family.index()] += 1,
                    None => {
                        let mut by_family = [0; 2];
                        by_family[family.index()] = 1;
                        self.unknown.push(UnknownBucket { value, by_family });
                        self.unknown.sort_by_key(|b| b.value);
                    }
                }
            }
        }
    }

    pub fn get(&self, family: Family, state: TcpState) -> u64 {
        self.by_family[family.index()][state.index()]
    }

    /// Both families together.
    pub fn state_total(&self, state: TcpState) -> u64 {
        Family::ALL.iter().map(|&f| self.get(f, state)).sum()
    }

    /// Every socket of a family, unknown states included.
    pub fn family_total(&self, family: Family) -> u64 {
        self.by_family[family.index()].iter().sum::<u64>()
            + self
                .unknown
                .iter()
                .map(|b| b.by_family[family.index()])
                .sum::<u64>()
    }

    /// Every socket counted, unknown states included.
    pub fn total(&self) -> u64 {
        Family::ALL.iter().map(|&f| self.family_total(f)).sum()
    }

    /// Unknown kernel values, sorted by value.
    pub fn unknown(&self) -> &[UnknownBucket] {
        &self.unknown
    }
}

impl Sink for StateCounts {
    fn record(&mut self, record: &SocketRecord) {
        self.add(record.family, record.state);
    }

    fn reset(&mut self) -> bool {
        *self = StateCounts::default();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_and_unknown_per_family() {
        let mut c = StateCounts::new();
        c.add(Family::V4, KernelState::Known(TcpState::CloseWait));
        c.add(Family::V4, KernelState::Known(TcpState::CloseWait));
        c.add(Family::V6, KernelState::Known(TcpState::CloseWait));
        c.add(Family::V6, KernelState::Unknown(99));
        c.add(Family::V4, KernelState::Unknown(14));
        c.add(Family::V6, KernelState::Unknown(14));
        assert_eq!(c.get(Family::V4, TcpState::CloseWait), 2);
        assert_eq!(c.state_total(TcpState::CloseWait), 3);
        assert_eq!(c.state_total(TcpState::Listen), 0);
        assert_eq!(c.family_total(Family::V4), 3);
        assert_eq!(c.family_total(Family::V6), 3);
        assert_eq!(c.total(), 6);
        let values: Vec<u8> = c.unknown().iter().map(|b| b.value).collect();
        assert_eq!(values, [14, 99]);
        assert_eq!(c.unknown()[0].total(), 2);
        assert!(c.reset());
        assert_eq!(c.total(), 0);
        assert!(c.unknown().is_empty());
    }
}
