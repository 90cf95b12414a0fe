//! Zipf-skewed choice of a recipient: a few recipients get most of the traffic, as in real
//! messaging, so the server's sticky table sees both hot hits and a long tail of new assignments.

use rand::Rng;
use rand_distr::Distribution;
use thiserror::Error;

/// Parameters that `rand_distr::Zipf` refuses.
#[derive(Debug, Error)]
#[error("invalid Zipf parameters n={n} s={s}: n must be at least 1 and s at least 0")]
pub struct ZipfError {
    /// Number of elements asked for.
    pub(crate) n: u64,
    /// Exponent asked for.
    pub(crate) s: f64,
}

/// Draws 0-based indices in `0..n` where index `i` has probability proportional to `(i+1)^-s`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZipfSampler {
    /// The underlying rejection sampler over ranks `1..=n`.
    dist: rand_distr::Zipf<f64>,
    /// Number of elements, to clamp float rounding at the top rank.
    n: u64,
}

impl ZipfSampler {
    /// A sampler over `n` elements with exponent `s` (`s = 0` is uniform).
    pub(crate) fn new(n: u64, s: f64) -> Result<Self, ZipfError> {
        let dist = rand_distr::Zipf::new(n as f64, s).map_err(|_| ZipfError { n, s })?;
        if n == 0 {
            return Err(ZipfError { n, s });
        }
        Ok(Self { dist, n })
    }

    /// One 0-based index.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let rank = self.dist.sample(rng) as u64;
        rank.clamp(1, self.n) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// The exact probability of 1-based `rank` among `n` with exponent `s`: `rank^-s / H(n, s)`.
    fn rank_probability(n: u64, s: f64, rank: u64) -> f64 {
        let harmonic: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
        (rank as f64).powf(-s) / harmonic
    }

    fn frequencies(n: u64, s: f64, draws: usize) -> Vec<f64> {
        let sampler = ZipfSampler::new(n, s).unwrap();
        let mut rng = StdRng::seed_from_u64(42);
        let mut counts = vec![0u64; n as usize];
        for _ in 0..draws {
            counts[sampler.sample(&mut rng) as usize] += 1;
        }
        counts.iter().map(|&c| c as f64 / draws as f64).collect()
    }

    #[test]
    fn rank_one_frequency_matches_theory() {
        let (n, s, draws) = (1_000, 1.0, 200_000);
        let freq = frequencies(n, s, draws);
        let expected = rank_probability(n, s, 1);
        // 1/H(1000) is about 0.1336; the binomial standard deviation at 200k draws is ~0.00076,
        // so 0.005 is over six sigma and still far from what a wrong exponent would give
        // (s = 0.9 gives ~0.107, s = 1.1 ~0.158).
        assert!((expected - 0.1336).abs() < 0.001, "theory {expected}");
        assert!(
            (freq[0] - expected).abs() < 0.005,
            "rank 1: {} vs {expected}",
            freq[0]
        );
        let rank2 = rank_probability(n, s, 2);
        assert!(
            (freq[1] - rank2).abs() < 0.004,
            "rank 2: {} vs {rank2}",
            freq[1]
        );
        // The tail is reached: a skew must not collapse onto the head.
        assert!(freq[500..].iter().any(|&f| f > 0.0));
    }

    #[test]
    fn zero_exponent_is_uniform() {
        let freq = frequencies(10, 0.0, 100_000);
        for (i, f) in freq.iter().enumerate() {
            assert!((f - 0.1).abs() < 0.006, "index {i}: {f}");
        }
    }

    #[test]
    fn same_seed_same_sequence() {
        let sampler = ZipfSampler::new(100_000, 1.0).unwrap();
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..100)
                .map(|_| sampler.sample(&mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        assert!(draw(7).iter().all(|&i| i < 100_000));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(ZipfSampler::new(0, 1.0).is_err());
        assert!(ZipfSampler::new(10, -1.0).is_err());
    }
}
