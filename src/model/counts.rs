//! Socket counts by state: per family ([`StateCounts`], what `summary` prints) and for one
//! group ([`StateRow`], a row of `ports` or `procs`). Plain arithmetic, no I/O.

use super::{Family, KernelState, TcpState};

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

    /// Adds another census into this one (`--all-netns`: the host's total; a table read on
    /// another thread).
    pub fn merge(&mut self, other: &StateCounts) {
        for (mine, theirs) in self.by_family.iter_mut().zip(&other.by_family) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        for bucket in &other.unknown {
            match self.unknown.iter_mut().find(|b| b.value == bucket.value) {
                Some(mine) => {
                    for (a, b) in mine.by_family.iter_mut().zip(bucket.by_family) {
                        *a += b;
                    }
                }
                None => self.unknown.push(*bucket),
            }
        }
        self.unknown.sort_by_key(|b| b.value);
    }

    /// Both families in one row.
    pub fn row(&self) -> StateRow {
        let mut row = StateRow::default();
        for state in TcpState::ALL {
            row.counts[state.index()] = self.state_total(state);
        }
        row.unknown = self.unknown.iter().map(UnknownBucket::total).sum();
        row
    }
}

/// Counts of one group (a port, a process) by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateRow {
    /// By [`TcpState::index`].
    pub counts: [u64; 11],
    /// Sockets in a state value we do not know.
    pub unknown: u64,
}

impl StateRow {
    pub fn add(&mut self, state: KernelState) {
        match state {
            KernelState::Known(s) => self.counts[s.index()] += 1,
            KernelState::Unknown(_) => self.unknown += 1,
        }
    }

    pub fn get(&self, state: TcpState) -> u64 {
        self.counts[state.index()]
    }

    /// The sockets of `records` by state, unknown states included, both families together.
    pub fn of(records: &[super::SocketRecord]) -> StateRow {
        let mut row = StateRow::default();
        for r in records {
            row.add(r.state);
        }
        row
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.unknown
    }

    /// Adds another row into this one.
    pub fn merge(&mut self, other: &StateRow) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.unknown += other.unknown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sink;

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

    #[test]
    fn censuses_merge() {
        let mut a = StateCounts::new();
        a.add(Family::V4, KernelState::Known(TcpState::Listen));
        a.add(Family::V4, KernelState::Unknown(14));
        let mut b = StateCounts::new();
        b.add(Family::V6, KernelState::Known(TcpState::Listen));
        b.add(Family::V6, KernelState::Unknown(14));
        b.add(Family::V6, KernelState::Unknown(9));
        a.merge(&b);
        assert_eq!(a.state_total(TcpState::Listen), 2);
        assert_eq!(a.total(), 5);
        let unknown: Vec<(u8, u64)> = a.unknown().iter().map(|u| (u.value, u.total())).collect();
        assert_eq!(unknown, [(9, 1), (14, 2)]);
        let row = a.row();
        assert_eq!(
            (row.get(TcpState::Listen), row.unknown, row.total()),
            (2, 3, 5)
        );
    }
}
