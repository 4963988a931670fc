//! Inputs shared by the edgerank benchmarks: one fixed, realistic batch per size.

use edgerank_core::input::Candidate;
use edgerank_core::state::UserState;
use edgerank_tests::workload;
use rand::SeedableRng;

/// Request time of every benchmark batch.
pub const NOW: u32 = 1_700_000_000;

/// A batch of `n` candidates from about `n / 3` authors, and a user with 200 events of history.
pub fn batch(n: usize, seed: u64) -> (Vec<Candidate>, UserState) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let authors = (n as u32 / 3).max(2);
    let candidates = (0..n).map(|i| workload::candidate(&mut rng, i as u32 * 7 + 1, authors, NOW)).collect();
    let user = workload::user(&mut rng, 200, authors, NOW);
    (candidates, user)
}
