//! The model that ships with the crate.
//!
//! Where its weights come from: a hand calibration, not training. Each head's bias sets a
//! plausible base rate for an average candidate (likes a few percent, reports about 1 in
//! 10,000, per the engagement rates collected in the project's ranking-signals notes), and
//! each weight says how strongly one input moves it, chosen so that the user's own interest
//! and the item's observed rates dominate, as in published feed models. Input 13, the
//! session interest (what the user watches through or skips in this session), weighs about
//! twice the long-term topic interest: real-time intent is the strongest signal on-device
//! re-rankers report (Kuaishou, Alibaba's EdgeRec), and a session reveals it through one or
//! two items per topic. Treat these numbers as a reasonable prior, not as learned truth.
//!
//! The simulator's `train` command fits the same structure to simulated logs and can write its
//! model here (`edgerank-sim train --write-default core/src/model`, see the host-sim README,
//! "Training"). It does not replace this table yet: the trained model misses the fixed-point
//! parity targets (`tests/tests/parity.rs`) on a few near-tied requests.
//!
//! The table is converted to fixed point at compile time: no float code reaches the device.

use super::QUANTILE_POINTS;
use super::{Model, DURATION_BUCKETS, FEATURES, HEADS, MODEL_FORMAT_VERSION, MODEL_MAGIC};
use crate::num::{Logit, WatchTime, Weight};

/// Id of the hand-calibrated default model.
pub const DEFAULT_MODEL_ID: u32 = 0x0001_0002;

// Feature order (see `pipeline::features`):
//  0 topic_interest   1 author_affinity  2 in_network      3 like_rate
//  4 comment_rate     5 share_rate       6 negative_rate   7 mean_watch_ratio
//  8 completion_rate  9 skip_rate       10 rewatch_rate   11 log_duration
// 12 early_velocity  13 session_interest 14 age_log      15 is_video
// Input 13 was the author's engagement rate; the session interest replaced it (model 0x0001_0002
// gave it its weights: 0x0001_0001 had none).
#[rustfmt::skip]
const HAND_WEIGHTS: [[f64; FEATURES]; HEADS] = [
    // like
    [1.4, 1.1, 0.4, 1.6, 0.3, 0.3, -0.8, 0.5, 0.6, -0.7, 0.3, 0.0, 0.4, 3.0, -0.3, 0.0],
    // comment
    [1.0, 1.3, 0.6, 0.4, 2.2, 0.2, -0.3, 0.2, 0.3, -0.5, 0.1, 0.0, 0.5, 2.0, -0.4, -0.2],
    // share
    [1.2, 0.6, -0.1, 0.4, 0.3, 2.4, -0.6, 0.4, 0.5, -0.6, 0.4, 0.0, 0.6, 2.4, -0.3, 0.1],
    // save
    [1.3, 0.5, 0.0, 0.5, 0.2, 0.8, -0.5, 0.4, 0.5, -0.5, 0.6, 0.2, 0.2, 2.4, -0.2, 0.0],
    // follow
    [1.0, -0.8, -1.5, 0.4, 0.3, 0.5, -0.6, 0.5, 0.7, -0.6, 0.4, 0.0, 0.4, 1.6, -0.2, 0.1],
    // profile visit
    [0.9, 0.4, -0.5, 0.3, 0.6, 0.3, -0.2, 0.3, 0.4, -0.4, 0.3, 0.0, 0.3, 1.6, -0.2, 0.0],
    // negative feedback
    [-1.6, -1.2, -0.6, -0.4, 0.1, -0.2, 2.8, -0.4, -0.5, 0.9, -0.2, 0.1, 0.0, -3.2, 0.2, 0.0],
    // report
    [-1.0, -0.8, -0.8, -0.3, 0.2, 0.0, 3.2, -0.2, -0.3, 0.6, -0.1, 0.0, 0.0, -1.6, 0.0, 0.0],
    // completion
    [0.9, 0.4, 0.1, 0.2, 0.0, 0.1, -0.3, 0.8, 2.2, -1.0, 0.6, -1.4, 0.1, 2.4, 0.0, 0.0],
    // fast skip
    [-1.3, -0.7, -0.3, -0.4, 0.0, -0.2, 0.6, -0.8, -0.8, 2.6, -0.2, 0.1, -0.1, -3.2, 0.1, 0.0],
    // watch time (log seconds)
    [0.6, 0.3, 0.1, 0.1, 0.0, 0.1, -0.2, 0.9, 0.4, -0.9, 0.3, 1.7, 0.1, 1.6, 0.0, 0.5],
    // watch quantile within duration bucket
    [1.2, 0.5, 0.1, 0.2, 0.0, 0.1, -0.3, 1.0, 1.0, -1.2, 0.5, 0.0, 0.1, 2.8, 0.0, 0.0],
];

// Base rates, as logits: like 4 %, comment 0.7 %, share 0.6 %, save 0.8 %, follow 0.3 %,
// profile visit 1.5 %, negative 0.6 %, report 0.02 %, completion 30 %, fast skip 30 %,
// watch time e^0.7 = 2 s for a text post, quantile 0.35.
const HAND_BIAS: [f64; HEADS] = [-3.2, -5.0, -5.1, -4.8, -5.8, -4.2, -5.1, -8.5, -0.85, -0.85, 0.7, -0.6];

// Duration buckets (ms, exclusive upper bounds): <5 s, <10 s, <15 s, <30 s, <60 s, <3 min,
// <10 min, longer. Text and images (duration 0) fall in the first.
const BUCKETS_MS: [u32; DURATION_BUCKETS - 1] = [5_000, 10_000, 15_000, 30_000, 60_000, 180_000, 600_000];

// Watch time at quantiles 0, 1/8, ..., 1 of each bucket, as fractions of the bucket's typical
// duration (rewatches push the top above 1).
const QUANTILE_SHAPE: [f64; QUANTILE_POINTS] = [0.0, 0.06, 0.14, 0.25, 0.4, 0.58, 0.8, 1.0, 1.8];
const BUCKET_TYPICAL_S: [f64; DURATION_BUCKETS] = [3.0, 7.5, 12.5, 22.0, 45.0, 120.0, 360.0, 900.0];

const fn build() -> Model {
    let mut weights = [[Weight(0); FEATURES]; HEADS];
    let mut bias = [Logit(0); HEADS];
    let mut h = 0;
    while h < HEADS {
        let mut f = 0;
        while f < FEATURES {
            weights[h][f] = Weight::from_f64(HAND_WEIGHTS[h][f]);
            f += 1;
        }
        bias[h] = Logit::from_f64(HAND_BIAS[h]);
        h += 1;
    }
    let mut watch_quantiles = [[WatchTime(0); QUANTILE_POINTS]; DURATION_BUCKETS];
    let mut b = 0;
    while b < DURATION_BUCKETS {
        let mut q = 0;
        while q < QUANTILE_POINTS {
            watch_quantiles[b][q] = WatchTime::from_f64(QUANTILE_SHAPE[q] * BUCKET_TYPICAL_S[b]);
            q += 1;
        }
        b += 1;
    }
    Model {
        magic: MODEL_MAGIC,
        format_version: MODEL_FORMAT_VERSION,
        model_id: DEFAULT_MODEL_ID,
        weights,
        bias,
        duration_bucket_upper_ms: BUCKETS_MS,
        watch_quantiles,
    }
}

/// The default model as a constant (built at compile time).
pub const DEFAULT_MODEL: Model = build();

impl Default for Model {
    fn default() -> Self {
        DEFAULT_MODEL
    }
}
