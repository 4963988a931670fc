//! Fixed point vs floating point: the same request ranked by the device pipeline and by the
//! f64 reference, compared by Kendall's tau-b over the candidates' scores and by the set of
//! the top 10 items. `edgerank-sim parity` runs [`run`]; `tests/tests/parity.rs` asserts on it.

use edgerank_core::input::Candidate;
use edgerank_core::model::{Head, Model, FEATURES};
use edgerank_core::pipeline::{rank, rank_after, RankContext, ShownItem};
use edgerank_core::profile::{Profile, ProfileConfig, POSITIVE_OFFSET};
use edgerank_core::reference::{self, FloatModel, RefScored};
use edgerank_core::state::UserState;
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
    /// Kendall tau over the resolvable pairs only: pairs whose f64 scores differ by more than
    /// the fixed-point error bound of both candidates ([`score_uncertainty_log2`]); 1 when no
    /// pair is resolvable.
    pub kendall_tau_resolvable: f64,
    /// Share of the request's pairs that are resolvable.
    pub resolvable_pair_share: f64,
    /// Whether the first 10 positions hold the same set of items.
    pub top10_identical: bool,
    /// Whether the page continued after its first [`CONTINUED_AFTER`] items (those of the
    /// fixed-point page, shown to both) holds the same set of items in its first 10
    /// positions both ways.
    pub continued_top10_identical: bool,
    /// Candidates dropped by one side only: their integrity product sits at the drop
    /// threshold (1/32) within the fixed-point error, so the two sides may round either way.
    pub threshold_disagreements: usize,
    /// For scale: Kendall tau-b between the same reference computed in f32 and in f64, over
    /// the candidates all three admit (what single-precision floats achieve on the request).
    pub kendall_tau_f32: f64,
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
    /// Share of requests whose continued pages have identical top-10 sets.
    pub continued_top10_identical_share: f64,
    /// Share of requests whose tau is at least 0.995.
    pub tau_at_least_0995_share: f64,
    /// Lowest tau over resolvable pairs.
    pub kendall_tau_resolvable_min: f64,
    /// Mean share of resolvable pairs per request.
    pub resolvable_pair_share_mean: f64,
    /// Candidates, over all requests, that one side dropped at the integrity threshold and
    /// the other kept (left out of the tau figures).
    pub integrity_threshold_disagreements: usize,
    /// Lowest tau of the f32 reference against the f64 one.
    pub f32_kendall_tau_min: f64,
    /// Share of requests whose f32-vs-f64 tau is at least 0.995.
    pub f32_tau_at_least_0995_share: f64,
}

impl ParityReport {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "requests": self.requests,
            "kendall_tau_min": self.kendall_tau_min,
            "kendall_tau_mean": self.kendall_tau_mean,
            "top10_identical_share": self.top10_identical_share,
            "continued_top10_identical_share": self.continued_top10_identical_share,
            "tau_at_least_0995_share": self.tau_at_least_0995_share,
            "kendall_tau_resolvable_min": self.kendall_tau_resolvable_min,
            "resolvable_pair_share_mean": self.resolvable_pair_share_mean,
            "integrity_threshold_disagreements": self.integrity_threshold_disagreements,
            "f32_kendall_tau_min": self.f32_kendall_tau_min,
            "f32_tau_at_least_0995_share": self.f32_tau_at_least_0995_share,
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

/// Relative error bound of one head's contribution in the fixed-point core: model inputs are
/// rounded to Q13 (at most 2^-14 off each), except the four rates (inputs 3-6: counts times a
/// reciprocal of relative error below 1e-4, `features::build`, so up to 4e-4 off at the
/// clamp of 4, plus the rounding: at most 2^-11), the mean watch ratio (input 7: clamped at
/// 4 - 2^-13 where the reference clamps at 4: at most 2^-13) and the three logarithms (inputs
/// 11, 12, 14: the table `log2` adds up to 6.3e-7); that moves the logit by at most
/// `sum |w_i| e_i` and the head's output (a logistic, or `e^logit`) by at most that relative
/// amount; the contribution's own arithmetic adds at most 1.1e-4 relative (`log2` of the
/// logistic 5.5e-5, the weight's Q16 logarithm 1e-5, `2^y` 4e-5; core test
/// `contributions_match_real_products`).
fn head_relative_error(model: &Model, head: Head) -> f64 {
    let input_error = |i: usize| match i {
        3..=6 => 2f64.powi(-11),
        7 => 2f64.powi(-13),
        11 | 12 | 14 => 2f64.powi(-14) + 1e-6,
        _ => 2f64.powi(-14),
    };
    let l1: f64 = (0..FEATURES).map(|i| model.weights[head.index()][i].to_f64().abs() * input_error(i)).sum();
    l1 + 1.1e-4
}

/// How far (log2) the fixed-point score of a candidate may lie from its f64 score, from the
/// error bounds of its heads: `delta = sum |W_h| * h_h * e_h` on the profile's weighted sum,
/// carried through the negative-total rule and the log. Where positive and negative
/// contributions nearly cancel, the weighted sum is smaller than the inputs' resolution and the
/// bound is large (infinite when the score could be zero): the order of such candidates is not
/// determined by the inputs. Multipliers add at most 1e-4: each is within 1e-5 in log2 of its
/// f64 value (core tests `age_factor_follows_the_earlybird_curve` and
/// `every_rule_is_within_1e_5_of_the_f64_reference_per_factor`), and at most ten apply.
pub fn score_uncertainty_log2(model: &Model, cfg: &ProfileConfig, user: &UserState, now: u32, c: &Candidate) -> f64 {
    let age_s = now.saturating_sub(c.created_at);
    let x = reference::features::<f64>(c, user, age_s);
    let h = reference::heads::<f64>(&FloatModel::new(model), &x);
    let (mut sum, mut delta, mut negative_mass) = (0.0, 0.0, 0.0);
    for head in Head::ALL {
        let w = cfg.head_weights[head.index()] as f64;
        let v = h[head.index()];
        sum += w * v;
        delta += (w * v).abs() * head_relative_error(model, head);
        if w < 0.0 {
            negative_mass += -w * head.unit().max_value() as f64;
        }
    }
    let offset = POSITIVE_OFFSET.to_f64();
    let (base, slope) = if sum >= 0.0 {
        (sum + offset, 1.0)
    } else if negative_mass > 0.0 {
        (((sum + negative_mass) / negative_mass * offset).max(0.0), offset / negative_mass)
    } else {
        (0.0, 0.0)
    };
    // Within `delta` of the rule's kink the larger slope applies.
    let slope = if sum.abs() <= delta { 1.0f64.max(slope) } else { slope };
    let d = delta * slope;
    if base <= d {
        return f64::INFINITY;
    }
    ((base + d) / base).log2().max(-((base - d) / base).log2()) + 1e-4
}

/// Kendall tau over the pairs whose f64 scores differ by more than their bounds, and the share
/// of such pairs.
pub fn kendall_tau_resolvable(fixed: &[f64], float: &[f64], bound: &[f64]) -> (f64, f64) {
    let n = fixed.len().min(float.len()).min(bound.len());
    let (mut concordant, mut discordant, mut pairs) = (0f64, 0f64, 0f64);
    for i in 0..n {
        for j in i + 1..n {
            pairs += 1.0;
            let dr = float[i] - float[j];
            if dr.abs() <= bound[i] + bound[j] {
                continue;
            }
            if (fixed[i] - fixed[j]) * dr > 0.0 {
                concordant += 1.0;
            } else {
                discordant += 1.0;
            }
        }
    }
    let resolved = concordant + discordant;
    let tau = if resolved == 0.0 { 1.0 } else { (concordant - discordant) / resolved };
    (tau, if pairs == 0.0 { 1.0 } else { resolved / pairs })
}

/// Ranks one request both ways and compares.
pub fn compare(model: &Model, req: &Request) -> RequestParity {
    let cfg = req.platform.config();
    let profile = Profile::compile(cfg.clone()).expect("built-in profiles compile");
    let ctx = RankContext { model, profile: &profile, user: &req.user, now: req.now };
    let page = rank::<4096, 32>(&ctx, &req.candidates, req.k).expect("request within capacity");

    let mut scratch =
        vec![
            RefScored { index: 0, score: 0.0f64, light: 0.0, explore: false, organic: false, taken: false };
            req.candidates.len()
        ];
    let (float64, float32) = (FloatModel::<f64>::new(model), FloatModel::<f32>::new(model));
    let ref_page = reference::rank::<f64, 32>(&float64, &cfg, &req.user, req.now, &req.candidates, req.k, &mut scratch)
        .expect("scratch holds the batch");
    // The rest of the page after its first items, both ways, with the same items shown.
    let p = CONTINUED_AFTER.min(page.items.len());
    let shown: Vec<ShownItem> =
        page.items[..p].iter().map(|it| ShownItem::new(it, &req.candidates[it.index as usize])).collect();
    let rest = rank_after::<4096, 32>(&ctx, &req.candidates, &shown, req.k - p).expect("request within capacity");
    let ref_rest = reference::rank_after::<f64, 32>(
        &float64,
        &cfg,
        &req.user,
        req.now,
        &req.candidates,
        &shown,
        req.k - p,
        &mut scratch,
    )
    .expect("scratch holds the batch");

    // Scores of every admitted candidate, both ways.
    let mut fixed = Vec::new();
    let mut float = Vec::new();
    let mut bound = Vec::new();
    let mut threshold_disagreements = 0;
    let (mut single, mut double) = (Vec::new(), Vec::new());
    for (i, c) in req.candidates.iter().enumerate() {
        let r = reference::score::<f64>(&float64, &cfg, &req.user, req.now, c, i as u32);
        let f = edgerank_core::pipeline::score_candidate(&ctx, c);
        match (f, r) {
            (Some(f), Some(r)) => {
                fixed.push(f.log2());
                float.push(r.score);
                bound.push(score_uncertainty_log2(model, &cfg, &req.user, req.now, c));
                if let Some(s) = reference::score::<f32>(&float32, &cfg, &req.user, req.now, c, i as u32) {
                    single.push(s.score as f64);
                    double.push(r.score);
                }
            }
            (None, None) => {}
            _ => {
                // The one filter computed in numbers: the integrity drop at a product of 1/32
                // (log2 -5). Within the rules' fixed-point error of it, either side may drop.
                let log2 = reference::integrity::<f64>(&cfg, c);
                assert!((log2 + 5.0).abs() < 1e-3, "filters disagree on candidate {i} (integrity log2 {log2})");
                threshold_disagreements += 1;
            }
        }
    }
    let top = |ids: Vec<u32>| {
        let mut v: Vec<u32> = ids.into_iter().take(10).collect();
        v.sort_unstable();
        v
    };
    let (kendall_tau_resolvable, resolvable_pair_share) = kendall_tau_resolvable(&fixed, &float, &bound);
    RequestParity {
        kendall_tau: kendall_tau_b(&fixed, &float),
        kendall_tau_resolvable,
        resolvable_pair_share,
        top10_identical: top(page.items.iter().map(|i| i.item_id).collect())
            == top(ref_page.iter().map(|i| i.item_id).collect()),
        continued_top10_identical: top(rest.items.iter().map(|i| i.item_id).collect())
            == top(ref_rest.iter().map(|i| i.item_id).collect()),
        threshold_disagreements,
        kendall_tau_f32: kendall_tau_b(&single, &double),
    }
}

/// The request number `index` of the stream seeded by `seed`: each request has its own
/// ChaCha8 stream, so the set of requests does not depend on threads or order.
pub fn request_at(seed: u64, index: usize) -> Request {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    crate::workload::request(&mut rng, MAX_CANDIDATES)
}

/// Items shown before the page is continued in [`compare`].
pub const CONTINUED_AFTER: usize = 3;

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
        continued_top10_identical_share: share(&|p| p.continued_top10_identical),
        tau_at_least_0995_share: share(&|p| p.kendall_tau >= 0.995),
        kendall_tau_resolvable_min: results.iter().map(|p| p.kendall_tau_resolvable).fold(f64::INFINITY, f64::min),
        resolvable_pair_share_mean: results.iter().map(|p| p.resolvable_pair_share).sum::<f64>() / n,
        integrity_threshold_disagreements: results.iter().map(|p| p.threshold_disagreements).sum(),
        f32_kendall_tau_min: results.iter().map(|p| p.kendall_tau_f32).fold(f64::INFINITY, f64::min),
        f32_tau_at_least_0995_share: share(&|p| p.kendall_tau_f32 >= 0.995),
    }
}
