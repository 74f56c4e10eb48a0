//! Percentiles over measured samples.

use std::time::Duration;

/// Sorted samples, for nearest-rank percentiles.
#[derive(Debug, Clone)]
pub(crate) struct Samples {
    sorted: Vec<f64>,
}

impl Samples {
    /// Samples from durations, kept in microseconds.
    pub(crate) fn from_durations(durations: &[Duration]) -> Self {
        Self::new(durations.iter().map(|d| d.as_secs_f64() * 1e6).collect())
    }

    /// Samples from raw values.
    pub(crate) fn new(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        Self { sorted: values }
    }

    /// The nearest-rank `p`-th percentile (`p` in 0..=100); `None` without samples.
    pub(crate) fn percentile(&self, p: f64) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        let n = self.sorted.len();
        // Nearest rank: the smallest value with at least p% of the samples at or below it.
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        let index = rank.clamp(1, n) - 1;
        Some(self.sorted[index])
    }

    /// The median.
    pub(crate) fn p50(&self) -> Option<f64> {
        self.percentile(50.0)
    }

    /// The 99th percentile.
    pub(crate) fn p99(&self) -> Option<f64> {
        self.percentile(99.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples = Samples::new((1..=100).rev().map(f64::from).collect());
        assert_eq!(samples.p50(), Some(50.0));
        assert_eq!(samples.p99(), Some(99.0));
        assert_eq!(samples.percentile(100.0), Some(100.0));
        assert_eq!(samples.percentile(0.0), Some(1.0));
    }

    #[test]
    fn few_samples() {
        let samples = Samples::new(vec![3.0, 1.0, 2.0]);
        assert_eq!(samples.p50(), Some(2.0));
        assert_eq!(samples.p99(), Some(3.0));
        assert_eq!(Samples::new(Vec::new()).p50(), None);
    }

    #[test]
    fn durations_in_microseconds() {
        let samples = Samples::from_durations(&[Duration::from_millis(2)]);
        assert_eq!(samples.p50(), Some(2000.0));
    }
}
