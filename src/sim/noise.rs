//! Random building blocks: uniform and normal draws, and smooth coloured noise for slow wander and modulation.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::vec3::V3;

pub(crate) type SimRng = ChaCha8Rng;

/// Uniform draw in `[lo, hi)`.
pub(crate) fn uniform(rng: &mut SimRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Standard normal draw.
pub(crate) fn normal(rng: &mut SimRng) -> f64 {
    rng.sample(StandardNormal)
}

/// A vector of three independent normal draws with standard deviation `sigma`.
pub(crate) fn normal_v3(rng: &mut SimRng, sigma: f64) -> V3 {
    [normal(rng) * sigma, normal(rng) * sigma, normal(rng) * sigma]
}

/// Random sign.
pub(crate) fn sign(rng: &mut SimRng) -> f64 {
    if rng.random::<bool>() { 1.0 } else { -1.0 }
}

/// Exponentially distributed waiting time with the given mean.
pub(crate) fn exponential(rng: &mut SimRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

/// Smooth stationary noise with standard deviation `sigma` and time constant `tau` seconds: white noise through
/// two cascaded first-order low-pass filters, so that its derivative (what a gyroscope sees of an angle) stays
/// bounded, unlike a plain Ornstein-Uhlenbeck path.
#[derive(Debug, Clone)]
pub(crate) struct SmoothNoise {
    a: f64,
    drive: f64,
    inner: f64,
    outer: f64,
    gain: f64,
}

impl SmoothNoise {
    /// Starts in a random state drawn from the stationary distribution.
    pub(crate) fn new(rng: &mut SimRng, sigma: f64, tau: f64, dt: f64) -> Self {
        let a = (-dt / tau.max(dt)).exp();
        // Var(outer) of the cascade is (1 + a²) / (1 + a)² for a unit-variance inner process.
        let gain = sigma * (1.0 + a) / (1.0 + a * a).sqrt();
        let inner = normal(rng);
        SmoothNoise { a, drive: (1.0 - a * a).sqrt(), inner, outer: inner, gain }
    }

    pub(crate) fn step(&mut self, rng: &mut SimRng) -> f64 {
        self.inner = self.a * self.inner + self.drive * normal(rng);
        self.outer = self.a * self.outer + (1.0 - self.a) * self.inner;
        self.outer * self.gain
    }
}

/// Three independent smooth noises, one per axis.
#[derive(Debug, Clone)]
pub(crate) struct SmoothNoise3([SmoothNoise; 3]);

impl SmoothNoise3 {
    pub(crate) fn new(rng: &mut SimRng, sigma: V3, tau: f64, dt: f64) -> Self {
        SmoothNoise3([
            SmoothNoise::new(rng, sigma[0], tau, dt),
            SmoothNoise::new(rng, sigma[1], tau, dt),
            SmoothNoise::new(rng, sigma[2], tau, dt),
        ])
    }

    pub(crate) fn step(&mut self, rng: &mut SimRng) -> V3 {
        [self.0[0].step(rng), self.0[1].step(rng), self.0[2].step(rng)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn smooth_noise_has_the_requested_spread() {
        let mut rng = SimRng::seed_from_u64(7);
        let mut noise = SmoothNoise::new(&mut rng, 2.0, 0.5, 0.02);
        let xs: Vec<f64> = (0..200_000).map(|_| noise.step(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
        assert!((sd - 2.0).abs() < 0.15, "sd {sd}");
        assert!(mean.abs() < 0.2, "mean {mean}");
    }
}
