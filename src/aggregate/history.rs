//! Looking back over recorded samples: per-series statistics, counter rates, and when a
//! count left its normal band. Pure functions of numbers; the samples come from `store`.

use crate::model::{StateRow, TcpState};

/// Min, mean and max of a series, and its last value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub min: u64,
    pub avg: f64,
    pub max: u64,
    pub last: u64,
}

/// The statistics of `values`; `None` when empty.
pub fn stats(values: &[u64]) -> Option<Stats> {
    let last = *values.last()?;
    let sum: u128 = values.iter().map(|&v| u128::from(v)).sum();
    Some(Stats {
        min: values.iter().copied().min().unwrap_or(0),
        max: values.iter().copied().max().unwrap_or(0),
        avg: sum as f64 / values.len() as f64,
        last,
    })
}

/// Per-second rates of raw counters between consecutive samples: `rates[i]` is over
/// `(t[i-1], t[i]]`; `None` for the first sample, where a value is missing, or where the
/// counter went down (a reboot or a new namespace reset it).
pub fn rates(times_ms: &[i64], values: &[Option<u64>]) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        let rate = (i > 0)
            .then(|| {
                let (a, b) = (values[i - 1]?, values[i]?);
                let dt = (times_ms[i] - times_ms[i - 1]) as f64 / 1000.0;
                (b >= a && dt > 0.0).then(|| (b - a) as f64 / dt)
            })
            .flatten();
        out.push(rate);
    }
    out
}

/// How many samples before a point make its normal band.
pub const BAND_WINDOW: usize = 30;
/// The fewest samples a band is drawn from.
pub const BAND_MIN: usize = 5;

/// Where a count left its normal band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Onset {
    /// The index of the first sample above the band.
    pub index: usize,
    pub value: u64,
    /// The median of the samples before it.
    pub median: f64,
    /// The top of the band.
    pub upper: f64,
}

/// The median of `values` (not empty).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The top of the normal band of `window`: median + max(5 x MAD, 10% of the median, 3).
/// Robust (a spike in the window barely moves it), and never so narrow that a flat series
/// (MAD 0) flags a change of one or two sockets.
pub fn band(window: &[u64]) -> (f64, f64) {
    let mut v: Vec<f64> = window.iter().map(|&x| x as f64).collect();
    let med = median(&mut v);
    let mut dev: Vec<f64> = window.iter().map(|&x| (x as f64 - med).abs()).collect();
    let mad = median(&mut dev);
    (med, med + (5.0 * mad).max(0.1 * med).max(3.0))
}

/// The first sample at or after `start` whose value is above the band of the (up to)
/// [`BAND_WINDOW`] samples before it, with at least [`BAND_MIN`] of them.
pub fn onset(values: &[u64], start: usize) -> Option<Onset> {
    (start.max(BAND_MIN)..values.len()).find_map(|i| {
        let window = &values[i.saturating_sub(BAND_WINDOW)..i];
        let (median, upper) = band(window);
        (values[i] as f64 > upper).then_some(Onset {
            index: i,
            value: values[i],
            median,
            upper,
        })
    })
}

/// The groups (ports, processes, workloads) of a sample holding sockets in `state`, each with
/// how much that count grew since `before` (a group absent then counts from 0): the most
/// first, then the fastest grown, at most `top`. `same` says which group of `before` is one
/// of `now`.
pub fn grew_with<T: Clone>(
    now: &[T],
    before: &[T],
    state: TcpState,
    counts: impl Fn(&T) -> &StateRow,
    same: impl Fn(&T, &T) -> bool,
    top: usize,
) -> Vec<(T, i64)> {
    let mut rows: Vec<(T, i64)> = now
        .iter()
        .filter(|g| counts(g).get(state) > 0)
        .map(|g| {
            let was = before
                .iter()
                .find(|b| same(g, b))
                .map_or(0, |b| counts(b).get(state));
            (g.clone(), counts(g).get(state) as i64 - was as i64)
        })
        .collect();
    rows.sort_by(|a, b| {
        counts(&b.0)
            .get(state)
            .cmp(&counts(&a.0).get(state))
            .then(b.1.cmp(&a.1))
    });
    rows.truncate(top);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_a_series() {
        let s = stats(&[3, 1, 2, 6]).expect("values");
        assert_eq!((s.min, s.max, s.last), (1, 6, 6));
        assert!((s.avg - 3.0).abs() < 1e-9);
        assert_eq!(stats(&[]), None);
    }

    #[test]
    fn rates_skip_resets_and_gaps() {
        let t = [0, 1000, 3000, 4000, 5000];
        let v = [Some(10), Some(20), Some(30), Some(5), None];
        assert_eq!(rates(&t, &v), [None, Some(10.0), Some(5.0), None, None]);
    }

    #[test]
    fn onset_is_the_first_sample_above_the_band() {
        // Noise around 10, then a climb from index 40.
        let mut v: Vec<u64> = (0..40).map(|i| 10 + (i % 3)).collect();
        v.extend([13, 20, 40, 80]);
        let o = onset(&v, 0).expect("an onset");
        assert_eq!(o.index, 41);
        assert_eq!(o.value, 20);
        assert!((o.median - 11.0).abs() < 1e-9, "{o:?}");
        // A flat series: a change of 3 is not an onset, 4 is.
        let mut flat = vec![0u64; 10];
        flat.push(3);
        assert_eq!(onset(&flat, 0), None);
        flat.push(4);
        assert_eq!(onset(&flat, 0).map(|o| o.index), Some(11));
        // Too few samples before it: no band, no onset.
        assert_eq!(onset(&[0, 0, 0, 100], 0), None);
        // Only from `start` on.
        assert_eq!(onset(&v, 42).map(|o| o.index), Some(42));
    }
}
