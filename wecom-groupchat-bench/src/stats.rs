//! Latency samples and their summary (median, p99), and ratios between two summaries.

use std::time::Duration;

/// Order statistics of a set of latency samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Smallest sample.
    pub min: Duration,
    /// 50th percentile (nearest rank).
    pub median: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
}

impl Summary {
    /// Summarizes `samples` (sorted in place). `None` when there are none.
    pub fn of(samples: &mut [Duration]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        Some(Summary {
            n: samples.len(),
            min: samples[0],
            median: percentile(samples, 0.50),
            p99: percentile(samples, 0.99),
            max: samples[samples.len() - 1],
        })
    }
}

/// The nearest-rank percentile `p` (0..=1) of sorted samples: the smallest sample with at least
/// `p` of all samples at or below it. No interpolation, so it is always a measured value.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let n = sorted.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// The median of some durations (for repeated whole-run timings).
pub fn median(mut samples: Vec<Duration>) -> Option<Duration> {
    Summary::of(&mut samples).map(|s| s.median)
}

/// `a / b` as a plain number.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() { f64::NAN } else { a.as_secs_f64() / b.as_secs_f64() }
}

/// A percentile-bootstrap interval (`level`, e.g. 0.95) of the ratio of the `p` percentiles of two
/// independent sets of samples, `percentile(a, p) / percentile(b, p)`: both sets are resampled with
/// replacement `resamples` times. Deterministic (a fixed seed), so a report regenerates identically
/// from the same samples. `None` when either set is empty.
pub fn bootstrap_ratio(a: &[Duration], b: &[Duration], p: f64, resamples: usize, level: f64) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut buf = Vec::with_capacity(a.len().max(b.len()));
    let mut quantile = |samples: &[Duration], rng: &mut XorShift| {
        buf.clear();
        buf.extend((0..samples.len()).map(|_| samples[rng.below(samples.len())]));
        let rank = ((p * buf.len() as f64).ceil() as usize).clamp(1, buf.len());
        *buf.select_nth_unstable(rank - 1).1
    };
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            let qa = quantile(a, &mut rng);
            let qb = quantile(b, &mut rng);
            ratio(qa, qb)
        })
        .filter(|r| r.is_finite())
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    let at = |q: f64| ratios[((q * ratios.len() as f64).ceil() as usize).clamp(1, ratios.len()) - 1];
    Some((at(tail), at(1.0 - tail)))
}

/// xorshift64*: enough randomness for resampling, no dependency.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((u128::from(x) * n as u128) >> 64) as usize
    }
}

/// A duration in the unit that reads best: `412 µs`, `3.21 ms`, `31.4 s`.
pub fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else {
        format!("{:.2} s", ns / 1_000_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(us).collect();
        let s = Summary::of(&mut samples).unwrap();
        assert_eq!((s.n, s.min, s.median, s.p99, s.max), (100, us(1), us(50), us(99), us(100)));
        let mut one = vec![us(7)];
        let s = Summary::of(&mut one).unwrap();
        assert_eq!((s.median, s.p99), (us(7), us(7)));
        assert!(Summary::of(&mut []).is_none());
    }

    #[test]
    fn formats_and_ratios() {
        assert_eq!(fmt_duration(Duration::from_nanos(850)), "850 ns");
        assert_eq!(fmt_duration(us(412)), "412.0 µs");
        assert_eq!(fmt_duration(Duration::from_micros(3_210)), "3.21 ms");
        assert_eq!(fmt_duration(Duration::from_millis(31_400)), "31.40 s");
        assert!((ratio(us(105), us(100)) - 1.05).abs() < 1e-9);
        assert!(ratio(us(1), Duration::ZERO).is_nan());
    }

    #[test]
    fn bootstrap_intervals() {
        let a: Vec<Duration> = (1..=1000).map(us).collect();
        let b: Vec<Duration> = (1..=1000).map(|n| us(n * 2)).collect();
        // Same distribution up to a factor: the interval is around 0.5 and narrow-ish.
        let (lo, hi) = bootstrap_ratio(&a, &b, 0.99, 500, 0.95).unwrap();
        assert!(lo <= 0.5 && 0.5 <= hi && hi - lo < 0.05, "{lo} {hi}");
        // Identical inputs: the interval holds 1.
        let (lo, hi) = bootstrap_ratio(&a, &a, 0.5, 500, 0.95).unwrap();
        assert!(lo <= 1.0 && 1.0 <= hi, "{lo} {hi}");
        // Deterministic.
        assert_eq!(bootstrap_ratio(&a, &b, 0.99, 100, 0.95), bootstrap_ratio(&a, &b, 0.99, 100, 0.95));
        assert_eq!(bootstrap_ratio(&[], &b, 0.99, 100, 0.95), None);
    }
}
