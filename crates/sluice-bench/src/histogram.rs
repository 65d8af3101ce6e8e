//! A log-linear latency histogram over `u64` values (microseconds in this tool).
//!
//! Values below `2^(SUB_BITS + 1)` each get their own bucket. Above that, every power-of-two range
//! `[2^m, 2^(m+1))` is cut into `2^SUB_BITS` equal buckets, so a bucket is never wider than
//! `1 / 2^SUB_BITS` (about 3%) of the values in it. Count, sum, minimum and maximum are exact.

const SUB_BITS: u32 = 5;
const SUB_COUNT: usize = 1 << SUB_BITS;
/// Groups 0 and 1 are exact; groups 2.. cover msb = SUB_BITS + 1 ..= 63.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB_COUNT;

#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

fn bucket_of(value: u64) -> usize {
    if value < (2 * SUB_COUNT) as u64 {
        return value as usize;
    }
    let msb = 63 - value.leading_zeros();
    let shift = msb - SUB_BITS;
    let top = (value >> shift) as usize; // in [SUB_COUNT, 2 * SUB_COUNT)
    (shift as usize + 1) * SUB_COUNT + (top - SUB_COUNT)
}

/// The smallest and largest value that fall into bucket `index`.
fn bucket_bounds(index: usize) -> (u64, u64) {
    if index < 2 * SUB_COUNT {
        return (index as u64, index as u64);
    }
    let shift = (index / SUB_COUNT - 1) as u32;
    let top = (SUB_COUNT + index % SUB_COUNT) as u64;
    let low = top << shift;
    (low, low + ((1u64 << shift) - 1))
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    pub fn record(&mut self, value: u64) {
        self.counts[bucket_of(value)] += 1;
        self.count += 1;
        self.sum += u128::from(value);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn min(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min
        }
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The value at or below which `p` percent of the recorded values lie (nearest rank), reported as
    /// the top of its bucket and never outside the recorded minimum and maximum. 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let p = p.clamp(0.0, 100.0);
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (_, high) = bucket_bounds(index);
                return high.clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_value_range() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(63), 63);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        let mut previous_high = None;
        for index in 0..BUCKETS {
            let (low, high) = bucket_bounds(index);
            assert!(low <= high);
            if let Some(prev) = previous_high {
                assert_eq!(
                    low,
                    prev + 1,
                    "bucket {index} does not follow its neighbour"
                );
            }
            assert_eq!(bucket_of(low), index);
            assert_eq!(bucket_of(high), index);
            // Never wider than 1/32 of its smallest value.
            assert!((high - low) as f64 <= low as f64 / SUB_COUNT as f64);
            previous_high = Some(high);
        }
        assert_eq!(previous_high, Some(u64::MAX));
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::new();
        for v in 1..=50 {
            h.record(v);
        }
        assert_eq!(h.count(), 50);
        assert_eq!(h.percentile(50.0), 25);
        assert_eq!(h.percentile(90.0), 45);
        assert_eq!(h.percentile(99.0), 50);
        assert_eq!(h.percentile(100.0), 50);
        assert_eq!(h.percentile(0.0), 1);
        assert_eq!(h.min(), 1);
        assert_eq!(h.max(), 50);
        assert!((h.mean() - 25.5).abs() < 1e-9);
    }

    #[test]
    fn large_values_are_within_the_bucket_precision() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (p, exact) in [
            (50.0, 50_000u64),
            (90.0, 90_000),
            (99.0, 99_000),
            (99.9, 99_900),
        ] {
            let got = h.percentile(p);
            assert!(got >= exact, "p{p}: {got} below {exact}");
            assert!(
                (got - exact) as f64 <= exact as f64 / SUB_COUNT as f64,
                "p{p}: {got} too far from {exact}"
            );
        }
        assert_eq!(h.percentile(100.0), 100_000);
        assert_eq!(h.max(), 100_000);
    }

    #[test]
    fn skewed_distribution() {
        // 990 fast requests of 100 us and 10 slow ones of 1 s: p99 is still fast, the max is not.
        let mut h = Histogram::new();
        for _ in 0..990 {
            h.record(100);
        }
        for _ in 0..10 {
            h.record(1_000_000);
        }
        assert!(h.percentile(50.0) >= 100 && h.percentile(50.0) <= 103);
        assert!(h.percentile(99.0) <= 103);
        assert!(h.percentile(99.1) >= 1_000_000 * 31 / 32);
        assert_eq!(h.max(), 1_000_000);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        let mut all = Histogram::new();
        for v in 0..5_000u64 {
            let value = v * 37 % 10_007;
            if v % 3 == 0 {
                a.record(value);
            } else {
                b.record(value);
            }
            all.record(value);
        }
        a.merge(&b);
        assert_eq!(a.count(), all.count());
        assert_eq!(a.min(), all.min());
        assert_eq!(a.max(), all.max());
        for p in [50.0, 90.0, 99.0, 100.0] {
            assert_eq!(a.percentile(p), all.percentile(p));
        }
    }

    #[test]
    fn empty_histogram_reports_zeroes() {
        let h = Histogram::new();
        assert_eq!(h.percentile(50.0), 0);
        assert_eq!(h.min(), 0);
        assert_eq!(h.max(), 0);
        assert_eq!(h.mean(), 0.0);
        let mut merged = Histogram::new();
        merged.merge(&h);
        assert_eq!(merged.count(), 0);
    }
}
