//! The logging policy's model: the hand calibration the crate shipped before it had a
//! trained model. Training logs are ranked with it, so `edgerank-sim train` is a function of
//! its arguments alone (not of whatever default model the build happens to carry).
//!
//! Each head's bias sets a plausible base rate for an average candidate (likes a few
//! percent, reports about 1 in 10,000), and each weight says how strongly one input moves it,
//! chosen so that the user's own interest and the item's observed rates dominate. The
//! session-interest input gets no weight: the logs then show what it predicts without it
//! having shaped which items were shown.

use edgerank_core::model::QUANTILE_POINTS;
use edgerank_core::model::{Model, DURATION_BUCKETS, FEATURES, HEADS, MODEL_FORMAT_VERSION, MODEL_MAGIC};
use edgerank_core::num::{Logit, WatchTime, Weight};

/// Id of the hand-calibrated model.
pub const PRIOR_MODEL_ID: u32 = 0x0001_0001;

// Feature order: see `edgerank_core::pipeline::features::FEATURE_NAMES`. Column 13, the
// session interest, is zero (see the module docs).
#[rustfmt::skip]
const HAND_WEIGHTS: [[f64; FEATURES]; HEADS] = [
    // like
    [1.4, 1.1, 0.4, 1.6, 0.3, 0.3, -0.8, 0.5, 0.6, -0.7, 0.3, 0.0, 0.4, 0.0, -0.3, 0.0],
    // comment
    [1.0, 1.3, 0.6, 0.4, 2.2, 0.2, -0.3, 0.2, 0.3, -0.5, 0.1, 0.0, 0.5, 0.0, -0.4, -0.2],
    // share
    [1.2, 0.6, -0.1, 0.4, 0.3, 2.4, -0.6, 0.4, 0.5, -0.6, 0.4, 0.0, 0.6, 0.0, -0.3, 0.1],
    // save
    [1.3, 0.5, 0.0, 0.5, 0.2, 0.8, -0.5, 0.4, 0.5, -0.5, 0.6, 0.2, 0.2, 0.0, -0.2, 0.0],
    // follow
    [1.0, -0.8, -1.5, 0.4, 0.3, 0.5, -0.6, 0.5, 0.7, -0.6, 0.4, 0.0, 0.4, 0.0, -0.2, 0.1],
    // profile visit
    [0.9, 0.4, -0.5, 0.3, 0.6, 0.3, -0.2, 0.3, 0.4, -0.4, 0.3, 0.0, 0.3, 0.0, -0.2, 0.0],
    // negative feedback
    [-1.6, -1.2, -0.6, -0.4, 0.1, -0.2, 2.8, -0.4, -0.5, 0.9, -0.2, 0.1, 0.0, 0.0, 0.2, 0.0],
    // report
    [-1.0, -0.8, -0.8, -0.3, 0.2, 0.0, 3.2, -0.2, -0.3, 0.6, -0.1, 0.0, 0.0, 0.0, 0.0, 0.0],
    // completion
    [0.9, 0.4, 0.1, 0.2, 0.0, 0.1, -0.3, 0.8, 2.2, -1.0, 0.6, -1.4, 0.1, 0.0, 0.0, 0.0],
    // fast skip
    [-1.3, -0.7, -0.3, -0.4, 0.0, -0.2, 0.6, -0.8, -0.8, 2.6, -0.2, 0.1, -0.1, 0.0, 0.1, 0.0],
    // watch time (log seconds)
    [0.6, 0.3, 0.1, 0.1, 0.0, 0.1, -0.2, 0.9, 0.4, -0.9, 0.3, 1.7, 0.1, 0.0, 0.0, 0.5],
    // watch quantile within duration bucket
    [1.2, 0.5, 0.1, 0.2, 0.0, 0.1, -0.3, 1.0, 1.0, -1.2, 0.5, 0.0, 0.1, 0.0, 0.0, 0.0],
];

// Base rates, as logits: like 4 %, comment 0.7 %, share 0.6 %, save 0.8 %, follow 0.3 %,
// profile visit 1.5 %, negative 0.6 %, report 0.02 %, completion 30 %, fast skip 30 %,
// watch time e^0.7 = 2 s for a text post, quantile 0.35.
const HAND_BIAS: [f64; HEADS] = [-3.2, -5.0, -5.1, -4.8, -5.8, -4.2, -5.1, -8.5, -0.85, -0.85, 0.7, -0.6];

/// Duration buckets (ms, exclusive upper bounds): <5 s, <10 s, <15 s, <30 s, <60 s, <3 min,
/// <10 min, longer. Text and images (duration 0) fall in the first. The trained model keeps
/// these bounds.
pub const BUCKETS_MS: [u32; DURATION_BUCKETS - 1] = [5_000, 10_000, 15_000, 30_000, 60_000, 180_000, 600_000];

// Watch time at quantiles 0, 1/8, ..., 1 of each bucket, as fractions of the bucket's typical
// duration (rewatches push the top above 1).
const QUANTILE_SHAPE: [f64; QUANTILE_POINTS] = [0.0, 0.06, 0.14, 0.25, 0.4, 0.58, 0.8, 1.0, 1.8];
const BUCKET_TYPICAL_S: [f64; DURATION_BUCKETS] = [3.0, 7.5, 12.5, 22.0, 45.0, 120.0, 360.0, 900.0];

/// The hand-calibrated model.
pub fn model() -> Model {
    let mut weights = [[Weight(0); FEATURES]; HEADS];
    let mut bias = [Logit(0); HEADS];
    for h in 0..HEADS {
        for f in 0..FEATURES {
            weights[h][f] = Weight::from_f64(HAND_WEIGHTS[h][f]);
        }
        bias[h] = Logit::from_f64(HAND_BIAS[h]);
    }
    let mut watch_quantiles = [[WatchTime(0); QUANTILE_POINTS]; DURATION_BUCKETS];
    for (b, row) in watch_quantiles.iter_mut().enumerate() {
        for (q, v) in row.iter_mut().enumerate() {
            *v = WatchTime::from_f64(QUANTILE_SHAPE[q] * BUCKET_TYPICAL_S[b]);
        }
    }
    Model {
        magic: MODEL_MAGIC,
        format_version: MODEL_FORMAT_VERSION,
        model_id: PRIOR_MODEL_ID,
        weights,
        bias,
        duration_bucket_upper_ms: BUCKETS_MS,
        watch_quantiles,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prior_model_is_valid() {
        assert_eq!(super::model().validate(), Ok(()));
    }
}
