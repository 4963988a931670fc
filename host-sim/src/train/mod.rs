//! `edgerank-sim train`: fits the core's model heads to simulated logs.
//!
//! 1. **Logs** ([`logs`]): one world, the TikTok profile on device (user state refreshed
//!    after every item), ranked by the hand-calibrated [`prior`] model. Every consumed item of
//!    a post-warm-up session is logged with the model inputs exactly as the core built them
//!    (`features::build` with the user state the page was ranked with) and the outcome the
//!    simulated user produced.
//! 2. **Split** by user: a fixed share of users (chosen by a hash of the seed and the user)
//!    is held out; the rest is the training split.
//! 3. **Fit** ([`fit`], f64): logistic regression per event head; YouTube's weighted
//!    logistic regression for watch time (odds = expected seconds); for the
//!    duration-debiased head (D2Q), the per-bucket quantile table of watch time and a
//!    logistic regression on each item's quantile within its bucket.
//! 4. **Quantize** to the core's fixed-point [`Model`] (Q4.11 weights, Q24 biases).
//! 5. **Evaluate** on the held-out users ([`eval`]): AUC per probability head and XAUC (pairs
//!    within a session) for the watch-time heads, for the f64 fit, the quantized model and
//!    the hand-calibrated prior.
//!
//! Everything is deterministic for a given configuration, whatever the number of threads.

pub mod codegen;
pub mod eval;
pub mod fit;
pub mod logs;
pub mod prior;

use edgerank_core::model::{
    Head, Model, DURATION_BUCKETS, FEATURES, HEADS, MODEL_BLOB_MAX, MODEL_FORMAT_VERSION, MODEL_MAGIC, QUANTILE_POINTS,
};
use edgerank_core::num::{Logit, WatchTime, Weight};
use edgerank_core::pipeline::features::FEATURE_NAMES;
use serde::Serialize;

use crate::policy::Policy;
use crate::rng::mix64;
use crate::server::RateBasis;
use crate::session::LoggedView;
use crate::sim::Progress;
use crate::world::{World, WorldParams};

use fit::{Design, FitSettings, Fitted};

/// Settings of a training run.
#[derive(Clone, Debug, Serialize)]
pub struct TrainConfig {
    /// Simulated users.
    pub users: usize,
    /// Seed of the world, the sessions and the split.
    pub seed: u64,
    /// Logged days (after the warm-up).
    pub days: f64,
    /// Warm-up days (user states and counters fill up; not logged).
    pub warmup_days: f64,
    /// Items per page.
    pub page_size: usize,
    /// Candidates per session.
    pub batch_size: usize,
    /// Share of users held out for evaluation.
    pub holdout: f64,
    /// L2 penalty per unit of sample weight.
    pub l2: f64,
    /// Log the scripted inauthentic accounts' actions as rows too (as a platform's logs would
    /// hold them; see [`logs::scripted_view`]).
    pub log_inauthentic: bool,
    /// The world's social proof on displayed likes ([`WorldParams::like_social_proof`]).
    pub like_social_proof: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            users: 2_000,
            seed: 42,
            days: 3.0,
            warmup_days: 1.0,
            page_size: 20,
            batch_size: 240,
            holdout: 0.2,
            l2: 1e-4,
            log_inauthentic: false,
            like_social_proof: 0.0,
        }
    }
}

/// Held-out figures of one head.
#[derive(Clone, Debug, Serialize)]
pub struct HeadReport {
    /// Head name.
    pub head: String,
    /// `auc` (probability heads) or `xauc` (watch-time heads).
    pub metric: String,
    /// Positive rate in the held-out split (mean seconds for watch time).
    pub base_rate: f64,
    /// The f64 fit.
    pub f64: Option<f64>,
    /// The quantized model, as the core evaluates it.
    pub quantized: Option<f64>,
    /// The hand-calibrated prior (the logging policy's model).
    pub prior: Option<f64>,
    /// Newton iterations of the fit.
    pub iterations: usize,
}

/// What a training run produced.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// Schema version of this document.
    pub schema_version: u32,
    /// The settings.
    pub config: TrainConfig,
    /// Logged views in the training split.
    pub train_rows: usize,
    /// Logged views in the held-out split (simulated users only).
    pub test_rows: usize,
    /// Rows of scripted inauthentic actions in the training split.
    pub train_inauthentic_rows: usize,
    /// Rows of scripted inauthentic actions of held-out accounts (not in `heads`).
    pub test_inauthentic_rows: usize,
    /// Held-out figures over held-out users and held-out scripted accounts together (only
    /// with `log_inauthentic`).
    pub heads_with_inauthentic: Vec<HeadReport>,
    /// Held-out sessions.
    pub test_sessions: usize,
    /// Feature names, in weight order.
    pub features: Vec<String>,
    /// Per head.
    pub heads: Vec<HeadReport>,
    /// The f64 weights, `[head][feature]`.
    pub weights_f64: Vec<Vec<f64>>,
    /// The f64 biases.
    pub bias_f64: Vec<f64>,
    /// Multiply-accumulates per candidate of the model.
    pub macs_per_candidate: usize,
    /// Model id of the quantized model.
    pub model_id: u32,
    /// Watch-time quantile table entries above the core's largest watch time (2047.97 s),
    /// stored at it: the duration-debiased head cannot predict more for long videos. The
    /// held-out figures are the quantized model's, so they include the effect.
    pub watch_quantiles_clipped: usize,
}

/// The result: the report and the quantized model.
pub struct Trained {
    /// Figures.
    pub report: TrainReport,
    /// The quantized model.
    pub model: Model,
}

/// Validates a configuration.
pub fn validate(cfg: &TrainConfig) -> Result<(), String> {
    if !(10..=crate::sim::MAX_USERS).contains(&cfg.users) {
        return Err(format!("--users must be in 10..={}", crate::sim::MAX_USERS));
    }
    if !(cfg.holdout > 0.0 && cfg.holdout < 1.0) {
        return Err("--holdout must be in (0, 1)".into());
    }
    if !(cfg.l2 >= 0.0 && cfg.l2.is_finite()) {
        return Err("--l2 must be a non-negative number".into());
    }
    if !(cfg.like_social_proof >= 0.0 && cfg.like_social_proof <= 5.0) {
        return Err("--like-social-proof must be in [0, 5]".into());
    }
    crate::sim::validate(&crate::sim::CompareConfig {
        users: cfg.users,
        seed: cfg.seed,
        days: cfg.days,
        warmup_days: cfg.warmup_days,
        page_size: cfg.page_size,
        batch_size: cfg.batch_size,
        ..crate::sim::CompareConfig::default()
    })
}

/// Whether a user is in the held-out split.
fn held_out(seed: u64, user: u32, share: f64) -> bool {
    let h = mix64(mix64(seed ^ 0x7EA1_5EED) ^ user as u64);
    ((h >> 11) as f64 / (1u64 << 53) as f64) < share
}

/// Label and sample weight of each head for one view (the D2Q head's label is filled in later).
fn labels(v: &LoggedView) -> [(f64, f64); HEADS] {
    let o = &v.outcome;
    let b = |x: bool| (x as u8 as f64, 1.0);
    let t = v.played_s.max(0.0);
    [
        b(o.like),
        b(o.comment),
        b(o.share),
        b(o.save),
        b(o.follow),
        b(o.visit),
        b(o.hide || o.see_fewer || o.report),
        b(o.report),
        b(o.completed),
        b(o.skipped),
        // Weighted logistic regression: a positive of weight T and a negative of weight 1.
        (t / (t + 1.0), t + 1.0),
        (0.0, 1.0),
    ]
}

fn bucket(duration_ms: u32) -> usize {
    prior::BUCKETS_MS.iter().position(|&u| duration_ms < u).unwrap_or(DURATION_BUCKETS - 1)
}

/// The watch-time quantile table of one bucket (type-7 interpolation) and each value's
/// mid-rank empirical CDF.
fn quantile_table(sorted: &[f64]) -> [f64; QUANTILE_POINTS] {
    let mut q = [0.0; QUANTILE_POINTS];
    if sorted.is_empty() {
        return q;
    }
    for (k, slot) in q.iter_mut().enumerate() {
        let pos = k as f64 / (QUANTILE_POINTS - 1) as f64 * (sorted.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(sorted.len() - 1);
        *slot = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64);
    }
    q
}

/// Mid-rank CDF of `t` in `sorted`.
fn cdf(sorted: &[f64], t: f64) -> f64 {
    let below = sorted.partition_point(|&v| v < t);
    let upto = sorted.partition_point(|&v| v <= t);
    (below + upto) as f64 / 2.0 / sorted.len().max(1) as f64
}

/// Seconds at quantile `q` of a table row, linear between grid points (the core's rule, in f64).
fn quantile_seconds(row: &[f64; QUANTILE_POINTS], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (QUANTILE_POINTS - 1) as f64;
    let i = (pos.floor() as usize).min(QUANTILE_POINTS - 2);
    row[i] + (row[i + 1] - row[i]) * (pos - i as f64)
}

/// FNV-1a of the model's blob with a zero id: the id names the weights.
fn weights_id(m: &Model) -> Result<u32, String> {
    let mut buf = [0u8; MODEL_BLOB_MAX];
    let blob = Model { model_id: 0, ..m.clone() }.to_blob(&mut buf).map_err(|e| format!("{e:?}"))?.to_vec();
    let mut h: u32 = 0x811C_9DC5;
    for b in blob {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    Ok(h)
}

/// Quantizes an f64 fit into the core's model.
pub fn quantize(heads: &[Fitted], quantiles: &[[f64; QUANTILE_POINTS]; DURATION_BUCKETS]) -> Result<Model, String> {
    let mut weights = [[Weight(0); FEATURES]; HEADS];
    let mut bias = [Logit(0); HEADS];
    for (h, f) in heads.iter().enumerate() {
        for (j, w) in f.weights.iter().enumerate() {
            if w.abs() >= Weight::MAX.to_f64() {
                return Err(format!("{} weight of {} is {w:.3}: outside Q4.11", Head::ALL[h].name(), FEATURE_NAMES[j]));
            }
            weights[h][j] = Weight::from_f64(*w);
        }
        bias[h] = Logit::from_f64(f.bias);
    }
    let mut watch_quantiles = [[WatchTime(0); QUANTILE_POINTS]; DURATION_BUCKETS];
    for (b, row) in quantiles.iter().enumerate() {
        for (k, v) in row.iter().enumerate() {
            watch_quantiles[b][k] = WatchTime::from_f64(*v);
        }
    }
    let mut m = Model {
        magic: MODEL_MAGIC,
        format_version: MODEL_FORMAT_VERSION,
        model_id: 0,
        weights,
        bias,
        duration_bucket_upper_ms: prior::BUCKETS_MS,
        watch_quantiles,
    };
    m.model_id = weights_id(&m)?;
    m.validate().map_err(|e| format!("the quantized model is invalid: {e:?}"))?;
    Ok(m)
}

/// Runs training end to end.
pub fn run_train(cfg: &TrainConfig, progress: &dyn Progress) -> Result<Trained, String> {
    validate(cfg)?;
    progress.message("generating the world");
    let params = WorldParams { like_social_proof: cfg.like_social_proof, ..WorldParams::default() };
    let world = World::generate(cfg.seed, cfg.users, cfg.warmup_days, cfg.days, params);
    let policy = Policy::all().into_iter().find(|p| p.name == "tiktok").ok_or("no tiktok policy")?;
    let prior_model = prior::model();
    let settings = logs::LogSettings {
        page_size: cfg.page_size,
        batch_size: cfg.batch_size,
        tick_s: crate::sim::CompareConfig::default().tick_s,
        author_rate: RateBasis::PerImpression,
        scripted: cfg.log_inauthentic,
    };
    let log = logs::collect(&world, &policy, &prior_model, &settings, progress);
    let (test_all, train): (Vec<&LoggedView>, Vec<&LoggedView>) =
        log.iter().partition(|v| held_out(cfg.seed, v.user, cfg.holdout));
    let test: Vec<&LoggedView> = test_all.iter().copied().filter(|v| !v.scripted).collect();
    let train_inauthentic_rows = train.iter().filter(|v| v.scripted).count();
    let test_inauthentic_rows = test_all.len() - test.len();
    if train.len() < 100 || test.len() < 100 {
        return Err(format!(
            "too few logged views ({} train, {} held out): add users or days",
            train.len(),
            test.len()
        ));
    }
    progress.message(&format!("{} training views ({} scripted)", train.len(), train_inauthentic_rows));

    let design = |rows: &[&LoggedView]| rows.iter().flat_map(|v| v.x.iter().map(|f| f.to_f64())).collect::<Vec<f64>>();
    let x_train = design(&train);

    // D2Q: per-bucket watch-time distribution of the training split.
    let mut by_bucket: Vec<Vec<f64>> = vec![Vec::new(); DURATION_BUCKETS];
    for v in &train {
        by_bucket[bucket(v.duration_ms)].push(v.played_s);
    }
    for b in by_bucket.iter_mut() {
        b.sort_by(f64::total_cmp);
    }
    let mut quantiles = [[0.0; QUANTILE_POINTS]; DURATION_BUCKETS];
    for (b, sorted) in by_bucket.iter().enumerate() {
        quantiles[b] = quantile_table(sorted);
    }

    let fit_settings = FitSettings { l2: cfg.l2, ..FitSettings::default() };
    let train_labels: Vec<[(f64, f64); HEADS]> = train
        .iter()
        .map(|v| {
            let mut l = labels(v);
            l[Head::WatchQuantile.index()].0 = cdf(&by_bucket[bucket(v.duration_ms)], v.played_s);
            l
        })
        .collect();
    progress.phase("fitting", HEADS as u64);
    let mut fitted = Vec::with_capacity(HEADS);
    for h in Head::ALL {
        progress.message(h.name());
        let y: Vec<f64> = train_labels.iter().map(|l| l[h.index()].0).collect();
        let w: Vec<f64> = train_labels.iter().map(|l| l[h.index()].1).collect();
        let f = fit::fit(&Design { x: &x_train, d: FEATURES }, &y, &w, &fit_settings)
            .map_err(|e| format!("{}: {e}", h.name()))?;
        fitted.push(f);
        progress.inc(1);
    }
    let model = quantize(&fitted, &quantiles)?;
    let watch_quantiles_clipped = quantiles.iter().flatten().filter(|&&v| v > WatchTime::MAX.to_f64()).count();

    // Held-out evaluation.
    progress.message("evaluating");
    let heads = evaluate(&test, &fitted, &model, &prior_model, &quantiles);
    let heads_with_inauthentic =
        if cfg.log_inauthentic { evaluate(&test_all, &fitted, &model, &prior_model, &quantiles) } else { Vec::new() };
    let report = TrainReport {
        schema_version: 1,
        config: cfg.clone(),
        train_rows: train.len(),
        test_rows: test.len(),
        train_inauthentic_rows,
        test_inauthentic_rows,
        heads_with_inauthentic,
        test_sessions: sessions(&test).len() - 1,
        features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        heads,
        weights_f64: fitted.iter().map(|f| f.weights.clone()).collect(),
        bias_f64: fitted.iter().map(|f| f.bias).collect(),
        macs_per_candidate: Model::macs_per_candidate(),
        model_id: model.model_id,
        watch_quantiles_clipped,
    };
    Ok(Trained { report, model })
}

/// Start of each session's rows (and the end).
fn sessions(test: &[&LoggedView]) -> Vec<usize> {
    let mut groups = vec![0usize];
    for i in 1..test.len() {
        if (test[i].user, test[i].session) != (test[i - 1].user, test[i - 1].session) {
            groups.push(i);
        }
    }
    groups.push(test.len());
    groups
}

/// Held-out figures of every head on `test`.
fn evaluate(
    test: &[&LoggedView],
    fitted: &[Fitted],
    model: &Model,
    prior_model: &Model,
    quantiles: &[[f64; QUANTILE_POINTS]; DURATION_BUCKETS],
) -> Vec<HeadReport> {
    let design = |rows: &[&LoggedView]| rows.iter().flat_map(|v| v.x.iter().map(|f| f.to_f64())).collect::<Vec<f64>>();
    let x_test = design(test);
    let groups = sessions(test);
    let played: Vec<f64> = test.iter().map(|v| v.played_s).collect();
    let q_outputs: Vec<_> = test.iter().map(|v| model.evaluate(&v.x)).collect();
    let p_outputs: Vec<_> = test.iter().map(|v| prior_model.evaluate(&v.x)).collect();
    let mut heads = Vec::new();
    for h in Head::ALL {
        let i = h.index();
        let f64_logit: Vec<f64> =
            (0..test.len()).map(|r| fitted[i].logit(&x_test[r * FEATURES..(r + 1) * FEATURES])).collect();
        let (metric, base_rate, a_f, a_q, a_p) = match h {
            Head::WatchTime => {
                let pf: Vec<f64> = f64_logit.iter().map(|z| z.exp()).collect();
                let pq: Vec<f64> = q_outputs.iter().map(|o| o.watch_time().to_f64()).collect();
                let pp: Vec<f64> = p_outputs.iter().map(|o| o.watch_time().to_f64()).collect();
                let mean = played.iter().sum::<f64>() / played.len() as f64;
                (
                    "xauc",
                    mean,
                    eval::xauc(&pf, &played, &groups),
                    eval::xauc(&pq, &played, &groups),
                    eval::xauc(&pp, &played, &groups),
                )
            }
            Head::WatchQuantile => {
                let seconds = |m: &Model, o: &edgerank_core::model::HeadValues, d: u32| {
                    m.quantile_watch_time(d, o.prob(Head::WatchQuantile)).to_f64()
                };
                let pf: Vec<f64> = (0..test.len())
                    .map(|r| quantile_seconds(&quantiles[bucket(test[r].duration_ms)], fit::sigmoid(f64_logit[r])))
                    .collect();
                let pq: Vec<f64> =
                    (0..test.len()).map(|r| seconds(model, &q_outputs[r], test[r].duration_ms)).collect();
                let pp: Vec<f64> =
                    (0..test.len()).map(|r| seconds(prior_model, &p_outputs[r], test[r].duration_ms)).collect();
                let mean = played.iter().sum::<f64>() / played.len() as f64;
                (
                    "xauc",
                    mean,
                    eval::xauc(&pf, &played, &groups),
                    eval::xauc(&pq, &played, &groups),
                    eval::xauc(&pp, &played, &groups),
                )
            }
            _ => {
                let y: Vec<bool> = test.iter().map(|v| labels(v)[i].0 > 0.5).collect();
                let pq: Vec<f64> = q_outputs.iter().map(|o| o.value(h)).collect();
                let pp: Vec<f64> = p_outputs.iter().map(|o| o.value(h)).collect();
                let rate = y.iter().filter(|&&b| b).count() as f64 / y.len() as f64;
                ("auc", rate, eval::auc(&f64_logit, &y), eval::auc(&pq, &y), eval::auc(&pp, &y))
            }
        };
        heads.push(HeadReport {
            head: h.name().to_string(),
            metric: metric.to_string(),
            base_rate,
            f64: a_f,
            quantized: a_q,
            prior: a_p,
            iterations: fitted[i].iterations,
        });
    }
    heads
}

/// The report as a text table.
pub fn render(r: &TrainReport) -> String {
    let mut s = render_heads(&r.heads);
    if !r.heads_with_inauthentic.is_empty() {
        s += &format!(
            "\nheld-out users and held-out scripted accounts ({} scripted rows; {} in training):\n",
            r.test_inauthentic_rows, r.train_inauthentic_rows
        );
        s += &render_heads(&r.heads_with_inauthentic);
    }
    s
}

fn render_heads(heads: &[HeadReport]) -> String {
    let mut s = format!(
        "{:<15} {:<5} {:>10} {:>8} {:>10} {:>8} {:>5}\n",
        "head", "", "base rate", "f64", "quantized", "prior", "iter"
    );
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
    for h in heads {
        let base = if h.metric == "xauc" { format!("{:.1} s", h.base_rate) } else { format!("{:.4}", h.base_rate) };
        s += &format!(
            "{:<15} {:<5} {:>10} {:>8} {:>10} {:>8} {:>5}\n",
            h.head,
            h.metric,
            base,
            f(h.f64),
            f(h.quantized),
            f(h.prior),
            h.iterations
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_table_and_cdf_follow_their_definitions() {
        let v: Vec<f64> = (0..=8).map(|i| i as f64).collect();
        assert_eq!(quantile_table(&v), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(cdf(&[1.0, 2.0, 2.0, 3.0], 2.0), 0.5);
        assert_eq!(cdf(&[1.0, 2.0, 2.0, 3.0], 0.5), 0.0);
        assert_eq!(cdf(&[1.0, 2.0, 2.0, 3.0], 9.0), 1.0);
        let row = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 16.0];
        assert_eq!(quantile_seconds(&row, 0.5), 4.0);
        assert_eq!(quantile_seconds(&row, 15.0 / 16.0), 11.5);
    }

    #[test]
    fn the_split_is_deterministic_and_near_its_share() {
        let n = (0..10_000).filter(|&u| held_out(42, u, 0.2)).count();
        assert!((1_800..2_200).contains(&n), "{n}");
        assert_eq!(held_out(42, 17, 0.2), held_out(42, 17, 0.2));
    }
}
