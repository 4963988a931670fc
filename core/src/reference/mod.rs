//! A floating-point reference of the same models and rules (feature `reference`).
//!
//! Written the straightforward way, independently of the fixed-point pipeline: real-valued
//! features, exact `exp`/`log2`/logistic, the profile's real weights and factors, every
//! candidate scored and the whole batch sorted, then a plain greedy page fill that scans the
//! whole pool at every position. It is generic over [`Real`] so the same code serves as the
//! f64 reference on hosts and as the f32 comparison on a device with an FPU.
//!
//! Uses: the parity test (fixed point vs f64 on random requests), the benchmarks' "what a
//! user would write" baseline, and the firmware's f32 instruction-count comparison.

use core::cmp::Ordering;
use core::ops::{Add, Div, Mul, Neg, Sub};

use crate::input::{Candidate, ContentKind};
use crate::model::{Head, Model, FEATURES, HEADS};
use crate::pipeline::features::RATE_PRIOR_IMPRESSIONS;
use crate::pipeline::filter::FUTURE_TOLERANCE_S;
use crate::pipeline::{
    Placement, ShownItem, DEFAULT_POOL, EXPLORATION_POOL, EXPLORATION_SHORTLIST, MAX_SHORTLIST, SPONSORED_POOL,
};
use crate::profile::{Diversity, ProfileConfig, POSITIVE_OFFSET, SLOT_POSITIONS};
use crate::state::{MuteKind, UserState};

/// A real number type for the reference.
pub trait Real:
    Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// From an f64 constant.
    fn from_f64(x: f64) -> Self;
    /// From an f32 configuration value.
    fn from_f32(x: f32) -> Self;
    /// From an integer.
    fn from_u32(x: u32) -> Self;
    /// From a signed integer.
    fn from_i32(x: i32) -> Self;
    /// e^x.
    fn exp(self) -> Self;
    /// log2(x).
    fn log2(self) -> Self;
    /// As f64 (for comparisons in tests).
    fn to_f64(self) -> f64;
    /// The smaller of two.
    fn min(self, other: Self) -> Self {
        if other < self {
            other
        } else {
            self
        }
    }
    /// The larger of two.
    fn max(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }
}

impl Real for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn from_f32(x: f32) -> Self {
        x as f64
    }
    fn from_u32(x: u32) -> Self {
        x as f64
    }
    fn from_i32(x: i32) -> Self {
        x as f64
    }
    fn exp(self) -> Self {
        libm::exp(self)
    }
    fn log2(self) -> Self {
        libm::log2(self)
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl Real for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn from_f32(x: f32) -> Self {
        x
    }
    fn from_u32(x: u32) -> Self {
        x as f32
    }
    fn from_i32(x: i32) -> Self {
        x as f32
    }
    fn exp(self) -> Self {
        libm::expf(self)
    }
    fn log2(self) -> Self {
        libm::log2f(self)
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// Smallest log2 score of a non-zero value (as on the device).
const LOG2_FLOOR: f64 = -1024.0;

fn c<F: Real>(x: f64) -> F {
    F::from_f64(x)
}

/// A fixed-point input's real value, `raw / one_raw`: one multiply by a constant (the
/// conversion of the scale folds at compile time), as a float ranker reads integer inputs.
#[inline(always)]
fn fixed<F: Real>(raw: i32, one_raw: i64) -> F {
    F::from_i32(raw) * c::<F>(1.0 / one_raw as f64)
}

/// The model in floating point, converted once: what a float ranker keeps in memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatModel<F> {
    /// One row of feature weights per head, in [`Head`] order.
    pub weights: [[F; FEATURES]; HEADS],
    /// One bias per head.
    pub bias: [F; HEADS],
    /// Each head's output and slope at its bias (the light pass's tangents).
    pub tangent: [(F, F); HEADS],
}

impl<F: Real> FloatModel<F> {
    /// Converts a model's weights and biases.
    ///
    /// ```
    /// use edgerank_core::model::{Head, Model};
    /// use edgerank_core::reference::FloatModel;
    /// let model = Model::default();
    /// let float = FloatModel::<f64>::new(&model);
    /// assert_eq!(float.bias[0], model.bias[0].to_f64());
    /// assert!(float.tangent[Head::Like.index()].0 > 0.0);
    /// ```
    pub fn new(model: &Model) -> Self {
        let weights = core::array::from_fn(|h| core::array::from_fn(|i| c::<F>(model.weights[h][i].to_f64())));
        let bias: [F; HEADS] = core::array::from_fn(|h| c::<F>(model.bias[h].to_f64()));
        let tangent = core::array::from_fn(|h| {
            let b = bias[h];
            if h == Head::WatchTime.index() {
                (b.exp(), b.exp())
            } else {
                let p = c::<F>(1.0) / (c::<F>(1.0) + (-b).exp());
                (p, p * (c::<F>(1.0) - p))
            }
        });
        FloatModel { weights, bias, tangent }
    }
}

/// The model's inputs, by the formulas documented in [`crate::pipeline::features`].
pub fn features<F: Real>(cand: &Candidate, user: &UserState, age_s: u32) -> [F; FEATURES] {
    let g = &cand.global;
    let denom = F::from_u32(g.impressions) + F::from_u32(RATE_PRIOR_IMPRESSIONS);
    let rate = |count: u32, scale: f64| (F::from_u32(count).min(denom) / denom * c(scale)).min(c(4.0));
    let flag = |b: bool| if b { c::<F>(1.0) } else { c::<F>(0.0) };
    let prob = |p: crate::num::Prob| fixed::<F>(p.raw() as i32, crate::num::Prob::ONE_RAW);
    let feature = |x: crate::num::Feature| fixed::<F>(x.raw() as i32, crate::num::Feature::ONE_RAW);
    [
        feature(user.topic_interest(cand.topic)),
        feature(user.author_affinity(cand.author_id)),
        flag(cand.flags.in_network()),
        rate(g.likes, 16.0),
        rate(g.comments, 64.0),
        rate(g.shares, 64.0),
        rate(g.negative, 256.0),
        fixed::<F>(g.mean_watch_ratio.raw() as i32, crate::num::WatchRatio::ONE_RAW).min(c(4.0)),
        prob(g.completion_rate),
        prob(g.skip_rate),
        prob(g.rewatch_rate),
        ((c::<F>(1.0) + F::from_u32(cand.duration_ms / 1024)).log2() / c(8.0)).min(c(4.0)),
        ((c::<F>(1.0) + F::from_u32(g.engagements_first_2h)).log2() / c(16.0)).min(c(4.0)),
        session_interest(user, cand.topic, cand.created_at.saturating_add(age_s)),
        ((c::<F>(1.0) + F::from_u32(age_s / 64)).log2() / c(16.0)).min(c(4.0)),
        flag(cand.kind.is_video()),
    ]
}

/// The session interest at `now`: the stored value halved toward zero once per whole
/// half-life since the latest event.
fn session_interest<F: Real>(user: &UserState, topic: u8, now: u32) -> F {
    let halvings = (now.saturating_sub(user.session_at()) / crate::state::SESSION_HALF_LIFE_S).min(15);
    // Integer division truncates toward zero, as halving toward zero does.
    let faded = user.session_interest_stored(topic).raw() as i32 / (1 << halvings);
    fixed::<F>(faded, crate::num::Feature::ONE_RAW)
}

/// Every head's output: probabilities, and seconds for the watch-time head.
pub fn heads<F: Real>(model: &FloatModel<F>, x: &[F; FEATURES]) -> [F; HEADS] {
    let mut out = [c::<F>(0.0); HEADS];
    for (h, slot) in out.iter_mut().enumerate() {
        let mut z = model.bias[h];
        for (w, xi) in model.weights[h].iter().zip(x.iter()) {
            z = z + *w * *xi;
        }
        *slot = if h == Head::WatchTime.index() { z.exp() } else { c::<F>(1.0) / (c::<F>(1.0) + (-z).exp()) };
    }
    out
}

/// A scored candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefScored<F> {
    /// Position in the request.
    pub index: u32,
    /// log2 of the score before page-position rules (-inf for a score of 0).
    pub score: F,
    /// log2 of the light score ([`light_score`]).
    pub light: F,
    /// Whether it may fill an exploration slot.
    pub explore: bool,
    /// In the organic pool (used while filling the page).
    pub organic: bool,
    /// Already on the page (used while filling it).
    pub taken: bool,
}

fn ramp<F: Real>(floor: f32, t: F) -> F {
    let t = t.max(c(0.0)).min(c(1.0));
    c::<F>(1.0) - (c::<F>(1.0) - F::from_f32(floor)) * t
}

/// log2 of the product of the integrity factors.
pub fn integrity<F: Real>(cfg: &ProfileConfig, cand: &Candidate) -> F {
    let ig = &cfg.integrity;
    let mut f = c::<F>(0.0);
    if !ig.enabled {
        return f;
    }
    let a = &cand.author;
    let g = &cand.global;
    if a.followings > ig.farm_min_followings {
        let ratio = (F::from_u32(a.followings) + c(1.0)) / (F::from_u32(a.followers) + c(1.0));
        let thr = F::from_f32(ig.farm_ratio);
        if ratio > thr {
            // log2(exp(-slope * excess)), floored like every log score at 2^-1024.
            let l = -(F::from_f32(ig.farm_slope) * (ratio - thr)) * c(core::f64::consts::LOG2_E);
            f = f + l.max(c(LOG2_FLOOR));
        }
    }
    if a.account_age_days < ig.young_days {
        let t = F::from_u32(ig.young_days - a.account_age_days) / F::from_u32(ig.young_days);
        f = f + ramp(ig.young_floor, t).log2();
    }
    let overlap = fixed::<F>(g.early_engager_overlap.raw() as i32, crate::num::Prob::ONE_RAW);
    if g.engagements_first_10m > 0 {
        let two_h = F::from_u32(g.engagements_first_2h.max(1));
        let burst = F::from_u32(g.engagements_first_10m).min(two_h) / two_h;
        // The audience reading: first-10-minute engagements per follower, capped at 1.
        let audience = if g.engagements_first_10m >= crate::pipeline::integrity::POD_MIN_EARLY_ENGAGEMENTS {
            (F::from_u32(g.engagements_first_10m) / (F::from_u32(a.followers) + c(1.0))).min(c(1.0))
        } else {
            c(0.0)
        };
        let thr = F::from_f32(ig.pod_threshold);
        for pod in [overlap * burst, audience] {
            if pod > thr {
                // Geometric: floor^t.
                let t = ((pod - thr) / (c::<F>(1.0) - thr)).max(c(0.0)).min(c(1.0));
                f = f + F::from_f32(ig.pod_floor.max(1.0 / 16384.0)).log2() * t;
            }
        }
    }
    let rate = fixed::<F>(a.engagement_rate.raw() as i32, crate::num::Prob::ONE_RAW);
    let bought = F::from_f32(ig.bought_rate);
    if a.followers >= ig.bought_min_followers && rate < bought {
        f = f + ramp(ig.bought_floor, (bought - rate) / bought).log2();
    }
    let reg = fixed::<F>(a.posting_regularity.raw() as i32, crate::num::Prob::ONE_RAW);
    let thr = F::from_f32(ig.bot_threshold);
    if reg > thr {
        f = f + ramp(ig.bot_floor, (reg - thr) / (c::<F>(1.0) - thr)).log2();
    }
    f
}

/// Scores one candidate, or `None` if a filter drops it.
pub fn score<F: Real>(
    model: &FloatModel<F>,
    cfg: &ProfileConfig,
    user: &UserState,
    now: u32,
    cand: &Candidate,
    index: u32,
) -> Option<RefScored<F>> {
    let p = prepare::<F>(cfg, user, now, cand)?;
    let score = finish(cfg, &p, weighted_sum(model, cfg, &p.x));
    Some(RefScored { index, score, light: score, explore: p.explore, organic: false, taken: false })
}

/// The light score of one candidate (see [`crate::pipeline::light`]): the profile's weighted
/// sum of the heads' tangents at their biases, then the same rules as the score. `None` if a
/// filter drops it.
pub fn light_score<F: Real>(
    model: &FloatModel<F>,
    cfg: &ProfileConfig,
    user: &UserState,
    now: u32,
    cand: &Candidate,
) -> Option<F> {
    let p = prepare::<F>(cfg, user, now, cand)?;
    Some(light_of(&LightLine::new(model, cfg), cfg, &p))
}

/// The light pass's weighted sum as one line in the features, folded once per rank call (as
/// the device folds it, `pipeline::light::LightPass`): `sum_h w_h (value_h + slope_h W_h . x)`
/// = `base + coef . x`.
struct LightLine<F> {
    base: F,
    coef: [F; FEATURES],
}

impl<F: Real> LightLine<F> {
    fn new(model: &FloatModel<F>, cfg: &ProfileConfig) -> Self {
        let mut line = LightLine { base: c(0.0), coef: [c(0.0); FEATURES] };
        for head in Head::ALL {
            let w = F::from_f32(cfg.head_weights[head.index()]);
            if w == c(0.0) {
                continue;
            }
            let (value, slope) = model.tangent[head.index()];
            line.base = line.base + w * value;
            for (k, wi) in line.coef.iter_mut().zip(model.weights[head.index()].iter()) {
                *k = *k + w * slope * *wi;
            }
        }
        line
    }
}

fn light_of<F: Real>(line: &LightLine<F>, cfg: &ProfileConfig, p: &Prepared<F>) -> F {
    let mut sum = line.base;
    for (k, xi) in line.coef.iter().zip(p.x.iter()) {
        sum = sum + *k * *xi;
    }
    finish(cfg, p, sum)
}

/// A candidate past the filters: its features and the log2 of its non-positional factors.
struct Prepared<F> {
    x: [F; FEATURES],
    factors_log2: F,
    explore: bool,
}

/// The filters, the features and the non-positional factors.
fn prepare<F: Real>(cfg: &ProfileConfig, user: &UserState, now: u32, cand: &Candidate) -> Option<Prepared<F>> {
    // Filters (integer rules, restated).
    let age_s = if cand.created_at > now {
        if cand.created_at - now > FUTURE_TOLERANCE_S {
            return None;
        }
        0
    } else {
        now - cand.created_at
    };
    if age_s > cfg.age.max_age_s || user.has_seen(cand.item_id) {
        return None;
    }
    let mut fatigue = c::<F>(1.0);
    if let Some(r) = user.mute_record(cand.author_id) {
        match r.kind {
            MuteKind::Mute | MuteKind::Block => return None,
            MuteKind::SeeFewer => {
                let filter = cfg.fatigue.filter_days as f64;
                // A record dated more than a day ahead starts its recovery (`filter::RECORD_AHEAD_S`).
                let ahead = r.at > now.saturating_add(crate::pipeline::filter::RECORD_AHEAD_S);
                let since = if ahead { filter } else { now.saturating_sub(r.at) as f64 / 86_400.0 };
                let recovery = cfg.fatigue.recovery_days as f64;
                if since < filter {
                    return None;
                }
                if since < filter + recovery {
                    let start = cfg.fatigue.start_factor as f64;
                    fatigue = c(start + (1.0 - start) * (since - filter) / recovery);
                }
            }
        }
    }

    // Stacked integrity evidence drops the candidate (log2 of 1/32, `integrity::DROP_BELOW`).
    let integrity_log2 = integrity::<F>(cfg, cand);
    if integrity_log2 < c(-5.0) {
        return None;
    }

    let x = features::<F>(cand, user, age_s);
    let a = &cfg.age;
    let minutes = F::from_u32(age_s) / c(60.0);
    let z = (F::from_f32(a.slope_per_min) * (minutes - F::from_f32(a.halflife_min))).min(c(80.0));
    let floor = F::from_f32(a.floor);
    // Factors multiply; kept as a sum of logarithms so that long chains of demotions do not
    // underflow (the device ranks on log2 values too).
    let mut f = (floor + (c::<F>(1.0) - floor) / (c::<F>(1.0) + z.exp())).log2();
    if !cand.flags.in_network() {
        f = f + F::from_f32(cfg.out_of_network_factor).log2();
    }
    if cand.flags.reply() {
        f = f + F::from_f32(cfg.reply_factor).log2();
    }
    f = f + fatigue.log2() + integrity_log2;

    let e = &cfg.exploration;
    let explore = !cand.flags.sponsored()
        && e.slots != 0
        && cand.author.followers <= e.max_followers
        && cand.author.impressions < e.max_author_impressions
        && age_s < e.max_age_s;
    Some(Prepared { x, factors_log2: f, explore })
}

/// The profile's weighted sum of the head outputs.
fn weighted_sum<F: Real>(model: &FloatModel<F>, cfg: &ProfileConfig, x: &[F; FEATURES]) -> F {
    let h = heads(model, x);
    let mut sum = c::<F>(0.0);
    for head in Head::ALL {
        sum = sum + F::from_f32(cfg.head_weights[head.index()]) * h[head.index()];
    }
    sum
}

/// log2 of the score from the weighted sum: the negative-total rule, then the factors.
fn finish<F: Real>(cfg: &ProfileConfig, p: &Prepared<F>, sum: F) -> F {
    let mut negative_mass = c::<F>(0.0);
    for head in Head::ALL {
        let w = F::from_f32(cfg.head_weights[head.index()]);
        if w < c(0.0) {
            negative_mass = negative_mass - w * F::from_f32(head.unit().max_value());
        }
    }
    let offset = c::<F>(POSITIVE_OFFSET.to_f64());
    let base = if sum >= c(0.0) {
        sum + offset
    } else if negative_mass > c(0.0) {
        (sum + negative_mass).max(c(0.0)) / negative_mass * offset
    } else {
        c(0.0)
    };
    if base > c(0.0) {
        (base.log2() + p.factors_log2).max(c(LOG2_FLOOR))
    } else {
        base.log2()
    }
}

/// One item of the reference page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefItem<F> {
    /// Position of the candidate in the request.
    pub index: u32,
    /// Item id.
    pub item_id: u32,
    /// log2 of the final score.
    pub score: F,
    /// How it was placed.
    pub placement: Placement,
}

/// log2 of the diversity factor of the k-th item.
fn diversity<F: Real>(d: &Diversity, k: usize) -> F {
    if k >= crate::profile::DIVERSITY_STEPS {
        return F::from_f32(d.floor).log2();
    }
    let mut p = c::<F>(1.0);
    for _ in 0..k {
        p = p * F::from_f32(d.decay);
    }
    ((c::<F>(1.0) - F::from_f32(d.floor)) * p + F::from_f32(d.floor)).log2()
}

fn by_score<F: Real>(a: &RefScored<F>, b: &RefScored<F>) -> Ordering {
    b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal).then(a.index.cmp(&b.index))
}

fn by_light<F: Real>(a: &RefScored<F>, b: &RefScored<F>) -> Ordering {
    b.light.partial_cmp(&a.light).unwrap_or(Ordering::Equal).then(a.index.cmp(&b.index))
}

/// Ranks a batch: scores every candidate into `scratch` (which needs room for all of them),
/// sorts everything, then fills the page greedily. Returns `None` if `scratch` is too small.
///
/// With a profile `shortlist`, in two stages as on the device: the light score of every
/// candidate, a sort of the whole batch by it, and the full model for the best `shortlist`
/// (at most [`MAX_SHORTLIST`]) organic candidates, every sponsored one, and the
/// exploration-eligible ones that arrived before the shortlist filled or were then among the
/// best [`EXPLORATION_SHORTLIST`] by light score so far; the organic pool is that shortlist.
pub fn rank<F: Real, const K: usize>(
    model: &FloatModel<F>,
    cfg: &ProfileConfig,
    user: &UserState,
    now: u32,
    candidates: &[Candidate],
    k: usize,
    scratch: &mut [RefScored<F>],
) -> Option<heapless::Vec<RefItem<F>, K>> {
    rank_after(model, cfg, user, now, candidates, &[], k.min(K), scratch)
}

/// [`rank`] for the rest of a page after the items already shown (as
/// [`RankSession::finish_after`](crate::pipeline::RankSession::finish_after)): `k` items for
/// the positions after `shown`, which count for every page rule and are not placed again.
/// `None` also if `shown.len() + k` exceeds `K`.
#[allow(clippy::too_many_arguments)]
pub fn rank_after<F: Real, const K: usize>(
    model: &FloatModel<F>,
    cfg: &ProfileConfig,
    user: &UserState,
    now: u32,
    candidates: &[Candidate],
    shown: &[ShownItem],
    k: usize,
    scratch: &mut [RefScored<F>],
) -> Option<heapless::Vec<RefItem<F>, K>> {
    if shown.len().saturating_add(k) > K {
        return None;
    }
    let is_sponsored = |s: &RefScored<F>| candidates[s.index as usize].flags.sponsored();
    let mut n = 0;
    if cfg.shortlist == 0 {
        for (i, cand) in candidates.iter().enumerate() {
            if let Some(s) = score::<F>(model, cfg, user, now, cand, i as u32) {
                *scratch.get_mut(n)? = s;
                n += 1;
            }
        }
    } else {
        let shortlist = (cfg.shortlist as usize).min(DEFAULT_POOL).min(MAX_SHORTLIST);
        // Once `shortlist` organic candidates have arrived, an exploration candidate goes on
        // to the full model only if its light score is among the best EXPLORATION_SHORTLIST
        // of those seen since (ties to the earlier one), as on the device.
        let mut organic_seen = 0;
        let mut gate: heapless::Vec<F, EXPLORATION_SHORTLIST> = heapless::Vec::new();
        let line = LightLine::new(model, cfg);
        for (i, cand) in candidates.iter().enumerate() {
            if let Some(p) = prepare::<F>(cfg, user, now, cand) {
                let light = light_of(&line, cfg, &p);
                let mut explore = p.explore;
                if !cand.flags.sponsored() {
                    if explore && organic_seen >= shortlist {
                        explore = match gate.push(light) {
                            Ok(()) => true,
                            Err(_) => {
                                let (w, worst) =
                                    gate.iter()
                                        .enumerate()
                                        .fold((0, gate[0]), |(wi, wv), (j, &v)| if v < wv { (j, v) } else { (wi, wv) });
                                let pass = light > worst;
                                if pass {
                                    gate[w] = light;
                                }
                                pass
                            }
                        };
                    }
                    organic_seen += 1;
                }
                let s = RefScored { index: i as u32, score: light, light, explore, organic: false, taken: false };
                *scratch.get_mut(n)? = s;
                n += 1;
            }
        }
        let all = &mut scratch[..n];
        all.sort_unstable_by(by_light);
        let mut listed = 0;
        let mut kept = 0;
        for i in 0..n {
            let mut s = all[i];
            if !is_sponsored(&s) && listed < shortlist {
                listed += 1;
                s.organic = true;
            } else if !is_sponsored(&s) && !s.explore {
                continue;
            }
            s.score = score::<F>(model, cfg, user, now, &candidates[s.index as usize], s.index)?.score;
            all[kept] = s;
            kept += 1;
        }
        n = kept;
    }
    let all = &mut scratch[..n];
    all.sort_unstable_by(by_score);
    if cfg.shortlist == 0 {
        // The best DEFAULT_POOL organic items.
        let mut pooled = 0;
        for s in all.iter_mut() {
            if !is_sponsored(s) && pooled < DEFAULT_POOL {
                s.organic = true;
                pooled += 1;
            }
        }
    }

    // The same pools as the device: the organic pool, the best few exploration-eligible
    // items, and sponsored items above the quality floor.
    let sponsored_floor = F::from_f32(cfg.sponsored.quality_floor).log2();
    let mut page: heapless::Vec<RefItem<F>, K> = heapless::Vec::new();
    let explore_limit = all.iter().enumerate().filter(|(_, s)| s.explore).nth(EXPLORATION_POOL).map_or(n, |(i, _)| i);
    let sponsored_limit = all
        .iter()
        .enumerate()
        .filter(|(_, s)| is_sponsored(s) && s.score >= sponsored_floor)
        .nth(SPONSORED_POOL)
        .map_or(n, |(i, _)| i);

    let mut tally =
        Tally::<K> { authors: heapless::Vec::new(), kinds: [0; ContentKind::COUNT], in_net: 0, run: 0, ads: 0 };
    let on_page = |page: &heapless::Vec<RefItem<F>, K>, id: u32| {
        page.iter().any(|p| p.item_id == id) || shown.iter().any(|s| s.item_id == id)
    };
    let is_slot = |pos: usize| pos < SLOT_POSITIONS && cfg.exploration.slots & (1 << pos) != 0;
    // Exploration slots reached and not filled yet (an ad took the position, or a network
    // rule held it): they move to the next position.
    let mut explore_due = 0usize;
    // Every page rule counts the items already shown as placed.
    for (pos, s) in shown.iter().enumerate() {
        tally.count(s.author_id, s.kind, s.in_network, s.placement);
        if is_slot(pos) {
            explore_due += 1;
        }
        if s.placement == Placement::Exploration {
            explore_due = explore_due.saturating_sub(1);
        }
    }
    for pos in shown.len()..shown.len() + k {
        if is_slot(pos) {
            explore_due += 1;
        }
        let sp = &cfg.sponsored;
        let first = sp.first_slot as usize;
        let mut chosen: Option<(usize, F, Placement)> = None;
        if pos >= first && (pos - first) % sp.spacing as usize == 0 && tally.ads < sp.max_per_page as usize {
            chosen = (0..sponsored_limit)
                .find(|&i| {
                    let s = &all[i];
                    !s.taken
                        && is_sponsored(s)
                        && s.score >= sponsored_floor
                        && !on_page(&page, candidates[s.index as usize].item_id)
                })
                .map(|i| (i, all[i].score, Placement::Sponsored));
        }
        let factor = |s: &RefScored<F>, authors: &heapless::Vec<(u32, usize), K>, kinds: &[usize]| {
            let cand = &candidates[s.index as usize];
            let na = authors.iter().find(|(a, _)| *a == cand.author_id).map_or(0, |(_, n)| *n);
            diversity::<F>(&cfg.author_diversity, na) + diversity::<F>(&cfg.kind_diversity, kinds[cand.kind.index()])
        };
        let run_full = cfg.max_out_of_network_run > 0 && tally.run >= cfg.max_out_of_network_run as usize;
        // The share is a rule threshold, stated in 1/65536ths as on the device.
        let share_q16 = crate::profile::share_q16(cfg.in_network_min_share) as u64;
        let need = ((share_q16 * (pos as u64 + 1)) >> 16) as usize;
        let restricted = run_full || tally.in_net < need;
        if chosen.is_none() && explore_due > 0 {
            let eligible = |i: usize| {
                let cand = &candidates[all[i].index as usize];
                all[i].explore
                    && !all[i].taken
                    && !on_page(&page, cand.item_id)
                    && (!restricted || cand.flags.in_network())
            };
            chosen = (0..explore_limit)
                .find(|&i| eligible(i))
                .map(|i| (i, all[i].score + factor(&all[i], &tally.authors, &tally.kinds), Placement::Exploration));
            // The rules hold the slot only while an in-network organic item remains (step 3
            // then takes it and the slot moves on); after that any creator may take it.
            let in_network_left = all.iter().any(|s| {
                let cand = &candidates[s.index as usize];
                !s.taken && s.organic && cand.flags.in_network() && !on_page(&page, cand.item_id)
            });
            if chosen.is_none() && restricted && !in_network_left {
                chosen = (0..explore_limit)
                    .find(|&i| {
                        all[i].explore && !all[i].taken && !on_page(&page, candidates[all[i].index as usize].item_id)
                    })
                    .map(|i| (i, all[i].score + factor(&all[i], &tally.authors, &tally.kinds), Placement::Exploration));
            }
            match chosen {
                Some(_) => explore_due -= 1,
                None if restricted && in_network_left => {}
                // No exploration item left at all: the slots go to organic items.
                None => explore_due = 0,
            }
        }
        if chosen.is_none() {
            let best = |in_network_only: bool| {
                let mut best: Option<(usize, F)> = None;
                for (i, s) in all.iter().enumerate() {
                    let cand = &candidates[s.index as usize];
                    if s.taken || !s.organic || (in_network_only && !cand.flags.in_network()) {
                        continue;
                    }
                    if on_page(&page, cand.item_id) {
                        continue;
                    }
                    let adjusted = s.score + factor(s, &tally.authors, &tally.kinds);
                    // Ties go to the earlier candidate, as on the device.
                    let better = match best {
                        None => true,
                        Some((bi, b)) => adjusted > b || (adjusted == b && s.index < all[bi].index),
                    };
                    if better {
                        best = Some((i, adjusted));
                    }
                }
                best
            };
            chosen = match (restricted, restricted.then(|| best(true)).flatten()) {
                (true, Some((i, s))) => Some((i, s, Placement::Constrained)),
                _ => best(false).map(|(i, s)| (i, s, Placement::Ranked)),
            };
        }
        let Some((i, final_score, placement)) = chosen else { break };
        all[i].taken = true;
        let s = all[i];
        let cand = &candidates[s.index as usize];
        let _ = page.push(RefItem { index: s.index, item_id: cand.item_id, score: final_score, placement });
        tally.count(cand.author_id, cand.kind, cand.flags.in_network(), placement);
    }
    Some(page)
}

/// What the page rules count of the items on a page.
struct Tally<const K: usize> {
    /// (author, items).
    authors: heapless::Vec<(u32, usize), K>,
    kinds: [usize; ContentKind::COUNT],
    in_net: usize,
    /// Out-of-network items in a row.
    run: usize,
    ads: usize,
}

impl<const K: usize> Tally<K> {
    fn count(&mut self, author_id: u32, kind: ContentKind, in_network: bool, placement: Placement) {
        if placement == Placement::Sponsored {
            self.ads += 1;
            return;
        }
        match self.authors.iter_mut().find(|(a, _)| *a == author_id) {
            Some((_, n)) => *n += 1,
            None => {
                let _ = self.authors.push((author_id, 1));
            }
        }
        self.kinds[kind.index()] += 1;
        if in_network {
            self.in_net += 1;
            self.run = 0;
        } else {
            self.run += 1;
        }
    }
}
