//! A bounded, deterministic sample of a stream of numbers for a median: every value while there are few, then
//! every k-th (k doubling whenever the sample fills up). The median of the sample is the exact median as long as
//! nothing was dropped, and a close estimate after that — enough for the loader's whole-file decisions (timestamp
//! kind from the median step, accelerometer unit from the median magnitude, docs/FORMATS.md §1), which compare the median
//! with bands far apart.

use super::timestamp::median_in_place;

#[derive(Debug, Clone)]
pub(crate) struct MedianSample {
    values: Vec<f64>,
    capacity: usize,
    /// Every `stride`-th value offered is kept.
    stride: u64,
    offered: u64,
}

impl MedianSample {
    pub fn new(capacity: usize) -> MedianSample {
        MedianSample { values: Vec::new(), capacity: capacity.max(2), stride: 1, offered: 0 }
    }

    pub fn offer(&mut self, value: f64) {
        if self.offered.is_multiple_of(self.stride) {
            self.values.push(value);
            if self.values.len() >= self.capacity {
                let mut i = 0;
                self.values.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride *= 2;
            }
        }
        self.offered += 1;
    }

    /// Values offered so far.
    pub fn offered(&self) -> u64 {
        self.offered
    }

    /// Values in the sample.
    pub fn sampled(&self) -> usize {
        self.values.len()
    }

    /// True while every value offered is in the sample (the median is exact).
    pub fn is_exact(&self) -> bool {
        self.stride == 1
    }

    /// The sample's median (`None` when nothing was offered).
    pub fn median(&self) -> Option<f64> {
        let mut values = self.values.clone();
        median_in_place(&mut values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_while_small_and_close_after() {
        let mut s = MedianSample::new(1000);
        for v in [5.0, 1.0, 3.0, 2.0] {
            s.offer(v);
        }
        assert!(s.is_exact());
        assert_eq!(s.median(), Some(2.5));
        let mut s = MedianSample::new(1000);
        for i in 0..100_001u32 {
            s.offer(f64::from((i * 7919) % 100_001));
        }
        assert!(!s.is_exact());
        assert_eq!(s.offered(), 100_001);
        let m = s.median().unwrap();
        assert!((m - 50_000.0).abs() < 2_000.0, "{m}");
        assert_eq!(MedianSample::new(10).median(), None);
    }
}
