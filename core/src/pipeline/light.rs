//! The light pass: the first stage of a two-stage (cascade) ranker. A profile with a
//! `shortlist` sends only that many organic candidates, the best by a cheap linear score, to
//! the full model, the way Facebook's feed runs a light pass before its multitask main pass
//! and X's runs a light ranker before the heavy one.
//!
//! The light score is the profile's weighted sum of head outputs with every head replaced by
//! its tangent at the head's bias: `f(b) + f'(b) (z - b)`, where `z = b + w . x` is the head's
//! logit and `f` the logistic (the exponential for the watch-time head). The sum of tangents is
//! affine in the features, so it is one 16-input dot product per candidate instead of one per
//! weighted head plus a logistic each. The negative-total rule and the non-positional
//! multipliers (age, network, reply, fatigue, integrity) then apply exactly as to the full
//! score, so a light score is a [`LogScore`] on the full score's scale, and an item that the
//! multipliers demote is demoted in the light pass too.
//!
//! The coefficients are derived from the model and the profile when a rank session starts, in
//! integers (no floats on the ranking path): about 200 multiply-adds per session.

use crate::model::{Dot, Head, Model, FEATURES, HEADS};
use crate::num::{exp, sigmoid, Factor, Feature, LogScore, Score, Weight};
use crate::profile::Profile;

/// The light pass of one model under one profile.
///
/// ```
/// use edgerank_core::input::Candidate;
/// use edgerank_core::model::{Model, PortableDot};
/// use edgerank_core::num::Factor;
/// use edgerank_core::pipeline::features;
/// use edgerank_core::pipeline::light::LightPass;
/// use edgerank_core::profile::{Platform, Profile};
/// use edgerank_core::state::UserState;
///
/// let model = Model::default();
/// let profile = Profile::compile(Platform::TikTok.config()).unwrap();
/// let light = LightPass::new(&model, &profile);
/// let user = UserState::new();
/// let mut watched = Candidate::default();
/// watched.global.completion_rate = edgerank_core::num::Prob::from_f64(0.9);
/// let skipped = Candidate::default();
/// let key = |c: &Candidate| light.score::<PortableDot>(&profile, &features::build(c, &user, 60), Factor::ONE);
/// assert!(key(&watched) > key(&skipped));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LightPass {
    /// Coefficient per feature, scaled by `2^-shift` (see [`LightPass::linear`]).
    weights: [Weight; FEATURES],
    /// The sum of the tangents at `x = 0`, in [`Score`] units.
    constant: Score,
    /// Binary exponent of the dot product: `sum = constant + dot * 2^shift`.
    shift: i32,
    /// `floor(2^60 / scale)` of the profile's negative-total rule (`u64::MAX` without
    /// negative weights, scale 0): inverts the rule in [`LightPass::dot_floor`] without a
    /// division.
    negative_reciprocal: u64,
}

/// `value = mant * 2^exp`, a non-negative real as an integer and an exponent.
#[derive(Clone, Copy)]
struct Real {
    mant: i64,
    exp: i32,
}

impl Real {
    /// Keeps the top 30 bits of the mantissa: products with 16-bit weights, twelve of them
    /// summed, stay below 2^49.
    fn narrowed(self) -> Real {
        let bits = 64 - crate::num::leading_zeros_u64(self.mant.unsigned_abs()) as i32;
        let drop = (bits - 30).max(0);
        Real { mant: self.mant >> drop, exp: self.exp + drop }
    }
}

/// `x * 2^shift`, saturating to [`Score`]'s range (32-bit steps where they suffice).
fn scaled_score(x: i32, shift: i32) -> Score {
    if shift <= 0 {
        // |x| < 2^31 is inside the range.
        Score((if shift <= -31 { x >> 31 } else { x >> -shift }) as i64)
    } else if shift < 31 {
        // The usual case, without a leading-zero count (a table lookup and a dozen
        // instructions on a Cortex-M0+) and with the range checked in 32 bits:
        // |x| * 2^shift passes 2^46 exactly when |x| passes 2^(46 - shift), which |x| <= 2^31
        // cannot below a shift of 16.
        if shift >= 16 {
            let limit = 1i32 << (46 - shift);
            if x > limit {
                return Score::MAX;
            } else if x < -limit {
                return Score::MIN;
            }
        }
        Score(crate::num::shl_wide(x, shift as u32))
    } else if x != 0 && shift < crate::num::leading_zeros(x.unsigned_abs()) as i32 + 31 {
        // Below 2^62 in magnitude: shifted within i64, then saturated.
        Score::saturate(crate::num::shl_wide(x, shift as u32))
    } else if x == 0 {
        Score::ZERO
    } else if x > 0 {
        Score::MAX
    } else {
        Score::MIN
    }
}

impl LightPass {
    /// Derives the light pass of `model` under `profile`. Once per session: kept out of line.
    #[inline(never)]
    pub fn new(model: &Model, profile: &Profile) -> Self {
        // Per weighted head: its tangent's slope `g` in Score units per logit (Q32 per 1.0),
        // narrowed to 30 bits, and its value at `x = 0` (where `z = b`): `weight * f(b)`.
        let mut slopes = [Real { mant: 0, exp: 0 }; HEADS];
        let mut constant = Score::ZERO;
        let mut top_exp = i32::MIN;
        for (h, (slot, &weight)) in slopes.iter_mut().zip(profile.heads.iter()).enumerate() {
            if weight.is_zero() {
                continue;
            }
            let bias = model.bias[h];
            // f(b) and f'(b) as mantissa * 2^exp (HeadValue: mant * 2^(exp - 16)).
            let (value, slope) = if h == Head::WatchTime.index() {
                let v = exp(bias);
                (v, Real { mant: v.mant as i64, exp: v.exp as i32 - 16 })
            } else {
                // sigma' = p (1 - p); 1 - p in Q16 keeps the slope of rare events exact to
                // the mantissa's 16 bits.
                let p = sigmoid(bias);
                let q = 65_536 - p.to_q16().min(65_536) as i64;
                (p, Real { mant: p.mant as i64 * q, exp: p.exp as i32 - 32 })
            };
            // Score units: weight * slope * 2^32, the weight being mantissa * 2^exponent
            // (|mantissa| < 2^16, so the product stays below 2^48).
            let (mantissa, exponent) = weight.mantissa_exponent();
            let g = Real { mant: slope.mant * mantissa as i64, exp: slope.exp + 32 + exponent }.narrowed();
            *slot = g;
            top_exp = top_exp.max(g.exp);
            constant = constant.saturating_add(weight.times(value));
        }
        let negative_scale = profile.negative_rule().1;
        let negative_reciprocal = if negative_scale > 0 { (1u64 << 60) / negative_scale as u64 } else { u64::MAX };
        if top_exp == i32::MIN {
            // No weighted head: every light score is the constant.
            return LightPass { weights: [Weight(0); FEATURES], constant, shift: 0, negative_reciprocal };
        }
        // Coefficient j = sum over heads of g * w[j], at the largest slope's exponent; a
        // product g * w is below 2^45 and twelve of them below 2^49.
        let mut acc = [0i64; FEATURES];
        for (h, g) in slopes.iter().enumerate() {
            let drop = top_exp - g.exp;
            if g.mant == 0 || drop >= 63 {
                continue;
            }
            // |g.mant| <= 2^30 (narrowed): a 32x32->64 multiply, one instruction on an M4, two
            // 32-bit ones on an M0+.
            let slope = g.mant as i32;
            for (a, w) in acc.iter_mut().zip(model.weights[h].iter()) {
                *a += crate::num::mul_shr_wide(slope, w.0 as i32, drop as u32);
            }
        }
        // To 16 bits, keeping sum |coefficient| below 2^15 (+8 from rounding): with features
        // below 2^15 the dot product then stays inside i32.
        let total: u64 = acc.iter().map(|a| a.unsigned_abs()).sum();
        let bits = 64 - crate::num::leading_zeros_u64(total) as i32;
        let drop = (bits - 15).max(0);
        let mut weights = [Weight(0); FEATURES];
        for (w, a) in weights.iter_mut().zip(acc.iter()) {
            let rounded = if drop == 0 { *a } else { (*a + (1 << (drop - 1))) >> drop };
            *w = Weight(rounded.clamp(-(i16::MAX as i64), i16::MAX as i64) as i16);
        }
        // Q11 weights times Q13 features: a Q24 logit.
        LightPass { weights, constant, shift: top_exp + drop - 24, negative_reciprocal }
    }

    /// The dot product of the features with the light pass's coefficients: what
    /// [`LightPass::linear`] scales and offsets, and what [`LightPass::dot_floor`] bounds.
    #[inline]
    pub fn dot<D: Dot>(&self, x: &[Feature; FEATURES]) -> i32 {
        D::dot(0, x, &self.weights)
    }

    /// The sum of the heads' tangents, in [`Score`] units.
    #[inline]
    pub fn linear<D: Dot>(&self, x: &[Feature; FEATURES]) -> Score {
        self.linear_of_dot(self.dot::<D>(x))
    }

    /// [`LightPass::linear`] from [`LightPass::dot`]: non-decreasing in `dot`.
    #[inline]
    fn linear_of_dot(&self, dot: i32) -> Score {
        self.constant.saturating_add(scaled_score(dot, self.shift))
    }

    /// The light score: [`LightPass::linear`] through the profile's negative-total rule, times
    /// the non-positional multipliers' `product`. The same value as
    /// [`LightPass::score_of_dot`] of [`LightPass::dot`], written out rather than calling it:
    /// through that call the compiler inlines this function into the Cortex-M4F's rank loop,
    /// which cost 11 instructions per candidate and 0.6 KB of text (measured).
    #[inline]
    pub fn score<D: Dot>(&self, profile: &Profile, x: &[Feature; FEATURES], product: Factor) -> LogScore {
        profile.finish_base(self.linear::<D>(x)).scaled(product)
    }

    /// [`LightPass::score`] from [`LightPass::dot`]: non-decreasing in `dot` and in `product`
    /// (every step is: the scaling, the negative-total rule, `log2_q20`, adding logarithms).
    #[inline]
    pub fn score_of_dot(&self, profile: &Profile, dot: i32, product: Factor) -> LogScore {
        self.base_of_dot(profile, dot).scaled(product)
    }

    /// [`LightPass::score_of_dot`] before the multipliers.
    #[inline]
    pub fn base_of_dot(&self, profile: &Profile, dot: i32) -> LogScore {
        profile.finish_base(self.linear_of_dot(dot))
    }

    /// A dot product below which no light score beats `key`: every `dot < dot_floor(..)`
    /// gives `score_of_dot(profile, dot, product) <= key` for every `product <= max_product`.
    /// `i64::MIN` when there is none.
    ///
    /// A rank session uses it to leave a candidate out of a full shortlist from its dot
    /// product alone, before its multipliers, the integrity rules and a logarithm: `key` is
    /// the shortlist's worst, `max_product` a bound of the multipliers (see
    /// [`Profile::max_multipliers`]). The bound is the light score's chain inverted step by
    /// step, 2^-10 in log2 on the safe side of the approximations' errors, and then checked
    /// exactly at `dot_floor - 1` (the score is non-decreasing in `dot`): a miss gives
    /// `i64::MIN`, never a wrong rejection. About 150 x86 instructions (a `2^y` and, for the
    /// check, a light score with its logarithm), once per change of the shortlist's worst.
    ///
    /// ```
    /// use edgerank_core::model::{Model, PortableDot};
    /// use edgerank_core::num::{Factor, LogScore};
    /// use edgerank_core::pipeline::light::LightPass;
    /// use edgerank_core::profile::{Platform, Profile};
    ///
    /// let model = Model::default();
    /// let profile = Profile::compile(Platform::X.config()).unwrap();
    /// let light = LightPass::new(&model, &profile);
    /// let key = LogScore::from_value(0.02);
    /// let floor = light.dot_floor(&profile, key, Factor::ONE);
    /// assert!(floor > i32::MIN as i64 && floor < i32::MAX as i64);
    /// assert!(light.score_of_dot(&profile, (floor - 1) as i32, Factor::ONE) <= key);
    /// assert!(light.score_of_dot(&profile, (floor + 10_000) as i32, Factor::ONE) > key);
    /// ```
    pub fn dot_floor(&self, profile: &Profile, key: LogScore, max_product: Factor) -> i64 {
        const NONE: i64 = i64::MIN;
        // A light score is `from_q32(lin) + product` (lin: the negative-total rule's Q32
        // value), raised to the score floor if below it: at most `key` when `key` is above the
        // floor and log2_q20(lin) <= y.
        if key <= LogScore::FLOOR {
            return NONE;
        }
        let y_q20 = key.0 as i64 + (32 << 20) - max_product.0 as i64;
        // lin below 2^(y - 2^-10) qualifies: log2_q20 is monotone and within 5e-6 of log2,
        // `2^y` within 4e-5 relative (6e-5 in log2).
        let y_q16 = (y_q20 >> 4) - 64;
        let lin_below: i64 = if y_q16 < 0 {
            return NONE;
        } else if y_q16 >= 48 << 16 {
            1 << 48 // above any lin (a Score is below 2^46)
        } else {
            let (mant, n) = crate::num::exp2_parts(y_q16 as i32);
            if n < 15 {
                (mant >> (15 - n)) as i64
            } else {
                (mant as i64) << (n - 15)
            }
        };
        // The negative-total rule inverted: the Score sums whose lin is below `lin_below`.
        let offset = crate::profile::POSITIVE_OFFSET.0;
        let sum_below = if lin_below > offset {
            lin_below - offset // negative sums map below the offset
        } else if lin_below <= 0 {
            return NONE;
        } else {
            // lifted * scale >> 40 < lin when lifted < lin 2^40 / scale; the reciprocal is
            // rounded down, so the product is at most that. Without negative weights
            // (reciprocal 2^64 - 1) every negative sum maps to 0: the product saturates, and
            // so does the result, at 0.
            let product = (lin_below as u128 * self.negative_reciprocal as u128) >> 20;
            let lifted_below = product.min(i64::MAX as u128) as i64;
            (lifted_below - profile.negative_rule().0).min(0)
        };
        if sum_below <= Score::MIN.0 {
            return NONE;
        }
        // The scaling inverted: sum = constant + x, x = dot scaled by 2^shift.
        let x_below = sum_below - self.constant.0;
        let floor = if self.shift <= 0 {
            // x = dot >> k (floor): x < r exactly when dot < r 2^k.
            let k = (-self.shift).min(31);
            // Past +-(2^31 + 1) every dot product (below 2^31 in magnitude) or none qualifies;
            // the clamp keeps the shift inside i64.
            x_below.clamp(-(1 << 31) - 1, (1 << 31) + 1) << k
        } else {
            // x = dot 2^s: x < r exactly when dot < floor((r - 1) / 2^s) + 1.
            ((x_below - 1) >> self.shift.min(62)) + 1
        };
        let floor = floor.clamp(i32::MIN as i64, i32::MAX as i64 + 1);
        // The exact check: every step above is non-decreasing in `dot`.
        if floor > i32::MIN as i64 && self.score_of_dot(profile, (floor - 1) as i32, max_product) > key {
            return NONE;
        }
        floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PortableDot;
    use crate::profile::Platform;

    /// `scaled_score` is `x * 2^shift` rounded toward minus infinity and clamped to the Score
    /// range, for every shift from -40 to 80 and edge and pseudo-random `x`.
    #[test]
    fn scaled_score_is_the_exact_product_clamped() {
        let mut next = crate::util::xorshift32(0x7f4a_7c15);
        let mut xs = [0, 1, -1, 2, -2, i32::MAX, i32::MIN, i32::MAX - 1, i32::MIN + 1, 1 << 30, -(1 << 30)].to_vec();
        xs.extend((0..200).map(|_| (next() as i32) >> (next() % 32)));
        for x in xs {
            for shift in -40..=80 {
                let exact = if shift >= 0 {
                    (x as i128).checked_shl(shift as u32).map_or(if x < 0 { i128::MIN } else { i128::MAX }, |v| {
                        if v >> shift == x as i128 {
                            v
                        } else if x < 0 {
                            i128::MIN
                        } else {
                            i128::MAX
                        }
                    })
                } else {
                    (x as i128) >> (-shift).min(127)
                };
                let want = exact.clamp(Score::MIN.0 as i128, Score::MAX.0 as i128) as i64;
                assert_eq!(scaled_score(x, shift), Score(want), "x = {x}, shift = {shift}");
            }
        }
    }

    /// The f64 sum of tangents, from the model's and profile's numbers.
    fn tangent_sum(model: &Model, profile: &Profile, x: &[f64; FEATURES]) -> f64 {
        let mut sum = 0.0;
        for h in 0..HEADS {
            let a = profile.heads[h].to_f64();
            if a == 0.0 {
                continue;
            }
            let b = model.bias[h].to_f64();
            let z = b + (0..FEATURES).map(|j| model.weights[h][j].to_f64() * x[j]).sum::<f64>();
            let (f, d) = if h == Head::WatchTime.index() {
                (libm_exp(b), libm_exp(b))
            } else {
                let p = 1.0 / (1.0 + libm_exp(-b));
                (p, p * (1.0 - p))
            };
            sum += a * (f + d * (z - b));
        }
        sum
    }

    fn libm_exp(x: f64) -> f64 {
        // e^x = 2^(x log2 e), through the crate's f64 display helpers' precision is enough.
        let mut r = 1.0;
        let mut term = 1.0;
        for n in 1..60 {
            term *= x / n as f64;
            r += term;
        }
        r
    }

    #[test]
    fn the_light_sum_is_the_sum_of_tangents() {
        let model = Model::default();
        let mut next = crate::util::xorshift32(0x1234_5678);
        for platform in Platform::ALL {
            let profile = Profile::compile(platform.config()).unwrap();
            let light = LightPass::new(&model, &profile);
            // Scale of the sum: the profile's total head mass (Score units per 1.0).
            let mass: f64 =
                (0..HEADS).map(|h| profile.heads[h].to_f64().abs() * Head::ALL[h].unit().max_value() as f64).sum();
            for _ in 0..2_000 {
                let x: [Feature; FEATURES] = core::array::from_fn(|_| Feature((next() % 16_384) as i16 - 8_192));
                let xf: [f64; FEATURES] = core::array::from_fn(|j| x[j].to_f64());
                let want = tangent_sum(&model, &profile, &xf);
                let got = light.linear::<PortableDot>(&x).to_f64();
                // Measured: at most 9.3e-6 of the mass (TikTok), from the 16-bit coefficients
                // and the 16-bit head values at the bias.
                assert!((got - want).abs() <= 3e-5 * mass, "{platform:?}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn dot_floor_rejects_only_dot_products_that_cannot_beat_the_key_and_is_tight() {
        // Keys are light scores of random dot products under random multipliers, so they
        // cover both sides of the negative-total rule; the exact floor is found by bisection
        // (the score is non-decreasing in the dot product).
        let model = Model::default();
        let mut next = crate::util::xorshift32(0x9e37_79b9);
        let (mut checked, mut none) = ([0; 4], [0; 4]);
        for platform in Platform::ALL {
            for variant in 0..4 {
                let mut config = platform.config();
                match variant {
                    1 => {
                        // Factors above 1 raise the multipliers' bound.
                        config.reply_factor = 1.5;
                        config.out_of_network_factor = 2.5;
                    }
                    // No negative weight: no negative-total rule to invert.
                    2 => config.head_weights = config.head_weights.map(f32::abs),
                    // Tiny weights: the dot product is scaled down by 2^31 or more.
                    3 => config.head_weights = config.head_weights.map(|w| w * 1e-9),
                    _ => {}
                }
                let profile = Profile::compile(config).unwrap();
                let light = LightPass::new(&model, &profile);
                let max = profile.max_multipliers();
                for _ in 0..500 {
                    let dot = (next() as i32) >> (next() % 8);
                    // The score never falls as the dot product grows.
                    let lower = dot.saturating_sub((next() >> (1 + next() % 31)) as i32);
                    assert!(light.score_of_dot(&profile, lower, max) <= light.score_of_dot(&profile, dot, max));
                    let product = Factor(max.0 - (next() % (12 << 20)) as i32);
                    let key = light.score_of_dot(&profile, dot, product);
                    if key <= LogScore::FLOOR {
                        // A zero score (a negative sum without negative weights): no floor,
                        // by design.
                        assert_eq!(light.dot_floor(&profile, key, max), i64::MIN);
                        continue;
                    }
                    let floor = light.dot_floor(&profile, key, max);
                    if floor == i64::MIN {
                        none[variant] += 1;
                        continue;
                    }
                    checked[variant] += 1;
                    let above = |d: i64| light.score_of_dot(&profile, d as i32, max) > key;
                    // The smallest dot product whose score beats the key (i32::MAX + 1: none).
                    let (mut lo, mut hi) = (i32::MIN as i64, i32::MAX as i64 + 1);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        if above(mid) {
                            hi = mid;
                        } else {
                            lo = mid + 1;
                        }
                    }
                    assert!(floor <= lo, "{platform:?}: floor {floor} above the exact {lo} for {key:?}");
                    // Tight: at the floor the score is within 2^-9 (in log2) of the key, where
                    // the negative-total rule's Q32 value is above 2^12 (below, its integer
                    // steps are coarser than that), and the weights are not tiny (then the
                    // rule's reciprocal has only a few bits, and the floor is looser).
                    let tight = floor > i32::MIN as i64 && floor <= i32::MAX as i64 && key.0 > -(20 << 20);
                    if tight && variant != 3 {
                        let at = light.score_of_dot(&profile, floor as i32, max);
                        assert!(
                            at.0 >= key.0 - (1 << 11),
                            "{platform:?} {variant}: {at:?} at the floor {floor}, exact {lo}, key {key:?}"
                        );
                    }
                }
            }
        }
        // Keys with no floor: those too small to invert (a sum whose negative-total value is
        // below 1).
        for variant in 0..4 {
            assert!(
                none[variant] * 20 <= checked[variant],
                "variant {variant}: {none:?} without a floor, {checked:?} with"
            );
        }
    }

    #[test]
    fn a_profile_without_weights_gives_one_light_score() {
        let model = Model::default();
        let mut config = Platform::X.config();
        config.head_weights = [0.0; HEADS];
        let profile = Profile::compile(config).unwrap();
        let light = LightPass::new(&model, &profile);
        let a = light.linear::<PortableDot>(&[Feature(0); FEATURES]);
        let b = light.linear::<PortableDot>(&[Feature(8_192); FEATURES]);
        assert_eq!(a, b);
        assert_eq!(a, Score::ZERO);
    }

    #[test]
    fn extreme_features_do_not_overflow() {
        let model = Model::default();
        for platform in Platform::ALL {
            let profile = Profile::compile(platform.config()).unwrap();
            let light = LightPass::new(&model, &profile);
            let total: i64 = light.weights.iter().map(|w| (w.0 as i64).abs()).sum();
            assert!(total * i16::MAX as i64 <= i32::MAX as i64, "{platform:?}");
            for v in [i16::MIN + 1, i16::MAX, 0] {
                let _ = light.score::<PortableDot>(&profile, &[Feature(v); FEATURES], Factor::ONE);
            }
        }
    }
}
