//! Fixed point vs floating point: the same request ranked by the device pipeline and by the
//! f64 reference, compared by Kendall's tau-b over the candidates' scores and by the set of
//! the top 10 items. `edgerank-sim parity` runs [`run`]; `tests/tests/parity.rs` asserts on it.

use edgerank_core::model::Model;
use edgerank_core::pipeline::{rank, RankContext};
use edgerank_core::profile::Profile;
use edgerank_core::reference::{self, RefScored};
use rayon::prelude::*;
use serde_json::json;

use crate::sim::Progress;

use crate::workload::Request;

/// Outcome of one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RequestParity {
    /// Kendall tau-b between fixed-point and f64 scores of the admitted candidates (1 when
    /// fewer than two).
    pub kendall_tau: f64,
    /// Whether the first 10 positions hold the same set of items.
    pub top10_identical: bool,
}

/// Summary over many requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParityReport {
    /// Requests compared.
    pub requests: usize,
    /// Lowest tau.
    pub kendall_tau_min: f64,
    /// Mean tau.
    pub kendall_tau_mean: f64,
    /// Share of requests with identical top-10 sets.
    pub top10_identical_share: f64,
    /// Share of requests whose tau is at least 0.995.
    pub tau_at_least_0995_share: f64,
}

impl ParityReport {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "requests": self.requests,
            "kendall_tau_min": self.kendall_tau_min,
            "kendall_tau_mean": self.kendall_tau_mean,
            "top10_identical_share": self.top10_identical_share,
            "tau_at_least_0995_share": self.tau_at_least_0995_share,
        })
    }
}

/// Kendall's tau-b of two paired samples (O(n^2); n is at most a batch).
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (mut concordant, mut discordant, mut ties_a, mut ties_b) = (0f64, 0f64, 0f64, 0f64);
    for i in 0..n {
        for j in i + 1..n {
            let da = a[i] - a[j];
            let db = b[i] - b[j];
            if da == 0.0 && db == 0.0 {
                continue;
            } else if da == 0.0 {
                ties_a += 1.0;
            } else if db == 0.0 {
                ties_b += 1.0;
            } else if (da > 0.0) == (db > 0.0) {
                concordant += 1.0;
            } else {
                discordant += 1.0;
            }
        }
    }
    let denom = ((concordant + discordant + ties_a) * (concordant + discordant + ties_b)).sqrt();
    if denom == 0.0 {
        1.0
    } else {
        (concordant - discordant) / denom
    }
}

/// Ranks one request both ways and compares.
pub fn compare(model: &Model, req: &Request) -> RequestParity {
    let cfg = req.platform.config();
    let profile = Profile::compile(cfg.clone()).expect("built-in profiles compile");
    let ctx = RankContext { model, profile: &profile, user: &req.user, now: req.now };
    let page = rank::<4096, 32>(&ctx, &req.candidates, req.k).expect("request within capacity");

    let mut scratch = vec![RefScored { index: 0, score: 0.0f64, explore: false, taken: false }; req.candidates.len()];
    let ref_page = reference::rank::<f64, 32>(model, &cfg, &req.user, req.now, &req.candidates, req.k, &mut scratch)
        .expect("scratch holds the batch");

    // Scores of every admitted candidate, both ways.
    let mut fixed = Vec::new();
    let mut float = Vec::new();
    for (i, c) in req.candidates.iter().enumerate() {
        let r = reference::score::<f64>(model, &cfg, &req.user, req.now, c, i as u32);
        let f = edgerank_core::pipeline::score_candidate(&ctx, c);
        match (f, r) {
            (Some(f), Some(r)) => {
                fixed.push(f.log2());
                float.push(r.score);
            }
            (None, None) => {}
            _ => panic!("filters disagree on candidate {i}"),
        }
    }
    let top = |ids: Vec<u32>| {
        let mut v: Vec<u32> = ids.into_iter().take(10).collect();
        v.sort_unstable();
        v
    };
    RequestParity {
        kendall_tau: kendall_tau_b(&fixed, &float),
        top10_identical: top(page.items.iter().map(|i| i.item_id).collect())
            == top(ref_page.iter().map(|i| i.item_id).collect()),
    }
}

/// The request number `index` of the stream seeded by `seed`: each request has its own
/// ChaCha8 stream, so the set of requests does not depend on threads or order.
pub fn request_at(seed: u64, index: usize) -> Request {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    crate::workload::request(&mut rng, MAX_CANDIDATES)
}

/// Most candidates in a random request.
pub const MAX_CANDIDATES: usize = 256;

/// Compares `requests` random requests from `seed` (in parallel; the result does not depend
/// on the number of threads).
pub fn run(model: &Model, requests: usize, seed: u64) -> ParityReport {
    run_with_progress(model, requests, seed, &crate::sim::NoProgress)
}

/// As [`run`], reporting each request done to `progress`.
pub fn run_with_progress(model: &Model, requests: usize, seed: u64, progress: &dyn Progress) -> ParityReport {
    progress.phase("parity", requests as u64);
    let results: Vec<RequestParity> = (0..requests)
        .into_par_iter()
        .map(|r| {
            let p = compare(model, &request_at(seed, r));
            progress.inc(1);
            p
        })
        .collect();
    summarize(&results)
}

/// Summarizes per-request results (in request order, so the mean is reproducible).
pub fn summarize(results: &[RequestParity]) -> ParityReport {
    let n = results.len().max(1) as f64;
    let share = |f: &dyn Fn(&RequestParity) -> bool| results.iter().filter(|p| f(p)).count() as f64 / n;
    ParityReport {
        requests: results.len(),
        kendall_tau_min: results.iter().map(|p| p.kendall_tau).fold(f64::INFINITY, f64::min),
        kendall_tau_mean: results.iter().map(|p| p.kendall_tau).sum::<f64>() / n,
        top10_identical_share: share(&|p| p.top10_identical),
        tau_at_least_0995_share: share(&|p| p.kendall_tau >= 0.995),
    }
}
