//! Deterministic randomness: every random stream is a ChaCha8 generator seeded from the run's
//! seed and the stream's identity (what it is for, which user, which session), never from
//! thread or scheduling order. Parallel runs therefore reproduce bit for bit.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator used everywhere.
pub type SimRng = ChaCha8Rng;

/// What a stream is for (keeps streams of different purposes independent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Creator attributes.
    Creators = 1,
    /// User attributes and initial follows.
    Users = 2,
    /// A creator's posting schedule and items.
    Posts = 3,
    /// Scripted inauthentic activity on one item.
    Script = 4,
    /// A user's session plan (times, budgets, moods): shared by all policies.
    Plan = 5,
    /// Behaviour inside one session.
    Session = 6,
    /// Groups: pods, campaigns, bot networks.
    Groups = 7,
    /// Server-side candidate sampling for one session.
    Server = 8,
    /// Idiosyncratic user-item taste (hashed, not a stream).
    Taste = 9,
    /// Which follows a counterfactual world keeps (hashed, not a stream).
    Counterfactual = 10,
}

/// SplitMix64 finaliser: a good 64-bit mix.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit key from the seed, the stream and two ids.
#[inline]
pub fn key(seed: u64, stream: Stream, a: u64, b: u64) -> u64 {
    mix64(mix64(mix64(seed ^ (stream as u64).wrapping_mul(0xA24B_AED4_963E_E407)) ^ a) ^ b)
}

/// The generator of one stream.
pub fn rng_for(seed: u64, stream: Stream, a: u64, b: u64) -> SimRng {
    SimRng::seed_from_u64(key(seed, stream, a, b))
}

/// Uniform in [0, 1) from a hash (for values that must be recomputable without a stream).
#[inline]
pub fn hash_unit(k: u64) -> f64 {
    (mix64(k) >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard normal from a hash (Box-Muller on two hashed uniforms).
#[inline]
pub fn hash_normal(k: u64) -> f64 {
    let u1 = hash_unit(k).max(1e-12);
    let u2 = hash_unit(k ^ 0x5851_F42D_4C95_7F2D);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Uniform in [0, 1).
#[inline]
pub fn unit(rng: &mut SimRng) -> f64 {
    rng.random::<f64>()
}

/// Uniform in [lo, hi).
#[inline]
pub fn uniform(rng: &mut SimRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(rng)
}

/// True with probability p.
#[inline]
pub fn chance(rng: &mut SimRng, p: f64) -> bool {
    unit(rng) < p
}

/// Uniform integer in [0, n) (n > 0).
#[inline]
pub fn below(rng: &mut SimRng, n: usize) -> usize {
    rng.random_range(0..n)
}

/// Standard normal (Box-Muller).
pub fn normal(rng: &mut SimRng) -> f64 {
    let u1 = unit(rng).max(1e-12);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Log-normal with the given median and log-space standard deviation.
pub fn lognormal(rng: &mut SimRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// Pareto (power law) with minimum `xmin` and tail index `alpha`.
pub fn pareto(rng: &mut SimRng, xmin: f64, alpha: f64) -> f64 {
    let u = unit(rng).max(1e-12);
    xmin / u.powf(1.0 / alpha)
}

/// Exponential with the given mean.
pub fn exponential(rng: &mut SimRng, mean: f64) -> f64 {
    -mean * (1.0 - unit(rng)).max(1e-12).ln()
}

/// Poisson count (Knuth for small means, normal approximation above 30).
pub fn poisson(rng: &mut SimRng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        return (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let l = (-mean).exp();
    let mut k = 0u32;
    let mut p = 1.0;
    loop {
        p *= unit(rng);
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Index drawn from cumulative weights (last entry is the total).
pub fn pick_cumulative(rng: &mut SimRng, cumulative: &[f64]) -> usize {
    let total = *cumulative.last().unwrap_or(&0.0);
    let x = unit(rng) * total;
    cumulative.partition_point(|&c| c <= x).min(cumulative.len().saturating_sub(1))
}

/// The logistic function.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| rng_for(7, Stream::Users, 1, 2).random::<u64>()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let b = rng_for(7, Stream::Users, 1, 3).random::<u64>();
        let c = rng_for(7, Stream::Posts, 1, 2).random::<u64>();
        assert_ne!(a[0], b);
        assert_ne!(a[0], c);
    }

    #[test]
    fn samplers_have_plausible_moments() {
        let mut rng = rng_for(1, Stream::Users, 0, 0);
        let n = 20_000;
        let mean_n: f64 = (0..n).map(|_| normal(&mut rng)).sum::<f64>() / n as f64;
        assert!(mean_n.abs() < 0.03);
        let mean_p: f64 = (0..n).map(|_| poisson(&mut rng, 3.0) as f64).sum::<f64>() / n as f64;
        assert!((mean_p - 3.0).abs() < 0.08);
        let mut med: Vec<f64> = (0..n).map(|_| lognormal(&mut rng, 5.0, 0.7)).collect();
        med.sort_by(f64::total_cmp);
        assert!((med[n / 2] - 5.0).abs() < 0.3);
        let cum = [1.0, 1.0, 4.0];
        let hits = (0..n).filter(|_| pick_cumulative(&mut rng, &cum) == 2).count();
        assert!((hits as f64 / n as f64 - 0.75).abs() < 0.02);
        assert!((0..n).all(|_| pick_cumulative(&mut rng, &cum) != 1));
    }
}
