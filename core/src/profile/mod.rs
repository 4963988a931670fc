//! Platform profiles: how head predictions combine into a score, and the re-ranking rules.
//!
//! A profile exists in two forms. [`ProfileConfig`] is data: real-valued weights and
//! factors, serialisable, the form users write and send. [`Profile`] is what the ranking path
//! reads: the same numbers compiled once, at load time, into fixed-point tables. Compiling is
//! the only place floats touch a profile, so a profile ranks identically on every target.

mod platforms;

use micromath::F32Ext;
use serde::{Deserialize, Serialize};

use crate::error::BlobError;
use crate::model::{Head, HEADS};
use crate::num::{exp2_parts, log2_q20, unit_q30, Factor, GeometricRamp, HeadValue, LinearRamp, LogScore, Score};

pub use platforms::Platform;

/// Blob format version this build reads and writes.
pub const PROFILE_FORMAT_VERSION: u16 = 2;
/// Light-pass shortlist of the built-in profiles (see [`ProfileConfig::shortlist`]).
pub const DEFAULT_SHORTLIST: u16 = 48;
/// First bytes of every profile blob.
pub const PROFILE_MAGIC: [u8; 4] = *b"ERPF";
/// Longest profile name.
pub const PROFILE_NAME_LEN: usize = 16;
/// Largest encoded profile blob, in bytes (upper bound).
pub const PROFILE_BLOB_MAX: usize = 256;
/// The k-th item (0-based) of the same author (or kind) gets `(1 - floor) * decay^k + floor`
/// for k below this; later ones get the floor itself.
pub const DIVERSITY_STEPS: usize = 16;
/// Positions (0-based) a profile can reserve for slots: the first 64 of a page.
pub const SLOT_POSITIONS: usize = 64;
/// Score offset that keeps every positive total above every negative one (see
/// [`Profile::finish_base`]): 0.001, as in X's ranker.
pub const POSITIVE_OFFSET: Score = Score(4_294_967);

/// Time decay of a post's score with age (X's Earlybird form):
/// `floor + (1 - floor) / (1 + exp(slope * (age_min - halflife_min)))`, and posts older
/// than `max_age_s` are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgeDecay {
    /// Posts older than this are filtered out (seconds).
    pub max_age_s: u32,
    /// Age in minutes at which the factor is halfway between 1 and the floor.
    pub halflife_min: f32,
    /// Steepness, per minute.
    pub slope_per_min: f32,
    /// Factor for very old posts.
    pub floor: f32,
}

/// Geometric decay for the k-th item (0-based) sharing an author or kind:
/// `(1 - floor) * decay^k + floor`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diversity {
    /// Ratio between consecutive steps, in [0, 1]. 1 disables the rule.
    pub decay: f32,
    /// Lowest factor, in [0, 1].
    pub floor: f32,
}

/// Slots reserved for small and new creators ("cold start").
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exploration {
    /// Bit i set: position i (0-based) is an exploration slot. A slot that an ad takes, or
    /// that the network rules hold (no in-network creator left), moves to the next position.
    pub slots: u64,
    /// Eligible authors have at most this many followers.
    pub max_followers: u32,
    /// ... and fewer than this many impressions in total.
    pub max_author_impressions: u32,
    /// ... and the post is younger than this (seconds).
    pub max_age_s: u32,
}

/// Paid placements.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sponsored {
    /// First position (0-based) that may hold a sponsored item.
    pub first_slot: u8,
    /// Distance between sponsored positions (at least 1): sponsored slots are `first_slot`,
    /// `first_slot + spacing`, ... (6 leaves five organic positions between two ads).
    pub spacing: u8,
    /// At most this many per page.
    pub max_per_page: u8,
    /// A sponsored item needs at least this score (after non-positional factors) to be shown.
    pub quality_floor: f32,
}

/// "See fewer" fatigue: an author the user asked to see fewer of is filtered for
/// `filter_days`, then its factor climbs linearly from `start_factor` to 1 over
/// `recovery_days` (X: 14 days, then 0.2 to 1.0 over 140 days).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fatigue {
    /// Days fully filtered.
    pub filter_days: u16,
    /// Days of linear recovery.
    pub recovery_days: u16,
    /// Factor at the start of recovery.
    pub start_factor: f32,
}

/// Demotion of inauthentic amplification. Each rule is a factor that falls from 1 to its
/// floor as its signal passes a threshold; see [`crate::pipeline::integrity`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Integrity {
    /// Turns every rule on or off.
    pub enabled: bool,
    /// Follow farming (tweepcred): applies above this many followings ...
    pub farm_min_followings: u32,
    /// ... when (1 + followings) / (1 + followers) exceeds this ratio ...
    pub farm_ratio: f32,
    /// ... dividing by exp(slope * (ratio - farm_ratio)).
    pub farm_slope: f32,
    /// Accounts younger than this many days are ramped up linearly from `young_floor`.
    pub young_days: u32,
    /// Factor of a brand-new account.
    pub young_floor: f32,
    /// Engagement pods: pod signal (early overlap x share of 2 h engagement in the first
    /// 10 min) above this starts the demotion ...
    pub pod_threshold: f32,
    /// ... which reaches this floor at signal 1.
    pub pod_floor: f32,
    /// Bought followers: applies to authors with at least this many followers ...
    pub bought_min_followers: u32,
    /// ... whose engagements per follower per post are below this rate (ramp to the floor at 0).
    pub bought_rate: f32,
    /// Floor of the bought-follower factor.
    pub bought_floor: f32,
    /// Bot-like posting regularity above this threshold ...
    pub bot_threshold: f32,
    /// ... ramps down to this floor at perfect regularity.
    pub bot_floor: f32,
}

/// A profile as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileConfig {
    /// Always [`PROFILE_MAGIC`].
    pub magic: [u8; 4],
    /// Always [`PROFILE_FORMAT_VERSION`].
    pub format_version: u16,
    /// Display name.
    pub name: heapless::String<PROFILE_NAME_LEN>,
    /// Weight of each head, per unit of its output (per probability; per second of watch
    /// time), in [`Head`] order, each within ±1000; the watch-time head's is not negative.
    pub head_weights: [f32; HEADS],
    /// Age decay and cut.
    pub age: AgeDecay,
    /// Factor for recommended (out-of-network) items.
    pub out_of_network_factor: f32,
    /// Factor for replies.
    pub reply_factor: f32,
    /// At most this many out-of-network items in a row while in-network items remain (0: no
    /// limit). Sponsored items do not count and are not held by it.
    pub max_out_of_network_run: u8,
    /// The page keeps at least this share of in-network items while any remain, in [0, 1]:
    /// at least `floor(share * n)` in-network items among the first `n` positions, for every
    /// `n` (with 0.7: one of the first two, two of the first three, seven of the first ten;
    /// the share is taken in 1/65536ths rounded up, see [`share_q16`]). Sponsored items count
    /// as positions but never as in-network items.
    pub in_network_min_share: f32,
    /// Same-author decay.
    pub author_diversity: Diversity,
    /// Same-kind decay.
    pub kind_diversity: Diversity,
    /// Exploration slots.
    pub exploration: Exploration,
    /// Sponsored slots.
    pub sponsored: Sponsored,
    /// "See fewer" fatigue.
    pub fatigue: Fatigue,
    /// Integrity rules.
    pub integrity: Integrity,
    /// Two-stage ranking: when nonzero, only this many organic candidates, the best by the
    /// light pass (`pipeline::light`), get the full model and compete for the page (sponsored
    /// candidates always get it, exploration candidates while the shortlist fills and then
    /// when their light score is among the best `pipeline::EXPLORATION_SHORTLIST` so far); 0
    /// scores every candidate with the full model. A rank session's organic pool caps it.
    /// A page holds at most this many organic items: below the page size `K`, pages come
    /// out short. Added in format version 2.
    pub shortlist: u16,
}

/// One head's weight, in the form the scorer multiplies by: `log2 |w|` in Q16 and the sign,
/// packed in one word as `2 * log2_q16 + negative`. A head's output reaches the scorer as a
/// logarithm too (`num::log2_sigmoid_q16`, `num::log2_exp_q16`), so a contribution is one
/// addition and one `2^y` ([`HeadWeight::contribution`]) rather than a logistic, a normalised
/// mantissa and a multiply. The weight is within 1e-5 relative of the configured value (the
/// 14-bit mantissa this form replaced kept 6e-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadWeight(i32);

impl Default for HeadWeight {
    fn default() -> Self {
        Self::ZERO
    }
}

/// Bound of a head's output in log2, Q16: `log2 e^z` for the widest logit, `|z| < 128`, is
/// below 185 (12.1 million raw); 2^24 leaves room.
const HEAD_LOG2_RANGE_Q16: i32 = 1 << 24;

/// `2^y` for a Q16 `y`, as an integer (floor; 0 for `y < 0`), saturating at 2^46: a raw
/// [`Score`] magnitude.
#[inline(always)]
fn pow2_raw(y: i32) -> i64 {
    if y >= 46 << 16 {
        return Score::MAX.0;
    }
    let (mant, n) = exp2_parts(y); // 2^y = mant * 2^(n - 15), mant < 2^16
    if n < 0 {
        0
    } else if n < 15 {
        (mant >> (15 - n)) as i64
    } else if n < 31 {
        // Below 2^31: a 32-bit shift (a 64-bit one is a library call on a Cortex-M0+).
        (mant << (n - 15)) as i64
    } else {
        (mant as i64) << (n - 15)
    }
}

impl HeadWeight {
    /// A weight of 0: its head contributes nothing.
    pub const ZERO: Self = Self(i32::MIN);

    /// Whether the weight is 0.
    #[inline]
    pub const fn is_zero(self) -> bool {
        self.0 == i32::MIN
    }

    /// Whether the weight is negative.
    #[inline]
    pub const fn is_negative(self) -> bool {
        self.0 & 1 != 0
    }

    /// `log2 |w|` in Q16 (very negative for [`HeadWeight::ZERO`]).
    #[inline]
    pub const fn log2_q16(self) -> i32 {
        self.0 >> 1
    }

    /// The contribution `w * v` in Score units (Q32, floor of the magnitude, saturating at
    /// ±2^46), of a head output given as `log2 v` in Q16. With `y = log2 |w| + log2 v + 32`,
    /// it is `2^y` from the exp2 table: relative error <= 4e-5 plus the Q16 steps of the two
    /// logarithms (tested against f64).
    ///
    /// ```
    /// use edgerank_core::num::{log2_sigmoid_q16, Logit, Score};
    /// use edgerank_core::profile::HeadWeight;
    /// let w = HeadWeight::quantise(-20.0).unwrap();
    /// // P = sigmoid(0) = 1/2: a contribution of -10.
    /// let c = w.contribution(log2_sigmoid_q16(Logit(0)));
    /// assert!((c.to_f64() + 10.0).abs() < 1e-3);
    /// assert_eq!(HeadWeight::ZERO.contribution(0), Score::ZERO);
    /// ```
    #[inline]
    pub fn contribution(self, log2_value_q16: i32) -> Score {
        // Any i32 gives a defined result: clamped to the range of a head's outputs.
        self.contribution_of_head(log2_value_q16.clamp(-HEAD_LOG2_RANGE_Q16, HEAD_LOG2_RANGE_Q16))
    }

    /// [`HeadWeight::contribution`] of a head's output (`Model::log2_output_q16`, within
    /// ±[`HEAD_LOG2_RANGE_Q16`]): the scorer's path, without the clamp.
    #[inline]
    pub(crate) fn contribution_of_head(self, log2_value_q16: i32) -> Score {
        // No overflow: |log2 |w|| <= 100 in Q16 (or ZERO's -2^30), the output within 2^24.
        let magnitude = pow2_raw(self.log2_q16().wrapping_add(log2_value_q16).wrapping_add(32 << 16));
        Score(if self.is_negative() { -magnitude } else { magnitude })
    }

    /// The weight as `mantissa * 2^exponent`, the mantissa signed with |mantissa| in
    /// [2^15, 2^16) (0 for [`HeadWeight::ZERO`]): for integer products. The mantissa is `2^y`
    /// of the Q16 logarithm, from the exp2 table: within 5e-5 of the configured weight.
    #[inline]
    pub fn mantissa_exponent(self) -> (i32, i32) {
        if self.is_zero() {
            return (0, 0);
        }
        let (mant, n) = exp2_parts(self.log2_q16());
        let m = mant as i32;
        (if self.is_negative() { -m } else { m }, n - 15)
    }

    /// The product `w * v` of a head output given as a [`HeadValue`], in Score units (floor,
    /// saturating): an integer multiply of the two mantissas.
    #[inline]
    pub fn times(self, v: HeadValue) -> Score {
        let (m, e) = self.mantissa_exponent();
        // v * w * 2^32 = (v.mant * m) * 2^(v.exp - 16 + e + 32); |v.mant * m| < 2^32.
        let product = v.mant as i64 * m as i64;
        let t = v.exp as i32 + e + 16;
        if product == 0 {
            Score::ZERO
        } else if t >= 31 {
            if product > 0 {
                Score::MAX
            } else {
                Score::MIN
            }
        } else if t >= 0 {
            Score::saturate(product << t)
        } else {
            Score(product >> (-t).min(63))
        }
    }

    /// Quantises a real weight: `log2 |w|` from the bits of the f32 (in integers, as the
    /// profile's factors are: within 5e-6), rounded to Q16; weights below 2^-100 in magnitude
    /// count as 0.
    #[inline]
    pub fn quantise(w: f32) -> Result<Self, BlobError> {
        if !w.is_finite() {
            return Err(BlobError::OutOfRange);
        }
        if w == 0.0 {
            return Ok(Self::ZERO);
        }
        let log2_q20 = log2_q20_of(F32Ext::abs(w));
        if log2_q20 < -(100 << 20) {
            return Ok(Self::ZERO);
        }
        if log2_q20 > 100 << 20 {
            return Err(BlobError::OutOfRange);
        }
        let q16 = (log2_q20 + 8) >> 4;
        Ok(Self(2 * q16 + i32::from(w < 0.0)))
    }

    /// The weight as a real number.
    pub fn to_f64(self) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let magnitude = libm::exp2(self.log2_q16() as f64 / 65536.0);
        if self.is_negative() {
            -magnitude
        } else {
            magnitude
        }
    }
}

/// Largest total head mass (sum of |weight| times largest output) a profile may have: keeps
/// every weighted sum inside [`Score`]'s range, so sums never saturate.
pub const MAX_TOTAL_MASS: f32 = 8192.0;

/// Age-decay table: 259 factors at ages `(i - 1) << age_shift` seconds (one step before 0 to
/// 257 steps), interpolated by the cubic through the four nodes around each step, in log
/// space: within 1.5e-6 of the curve for the built-in profiles, plus the nodes' own 5e-6
/// (linear interpolation of 256 steps was 3.7e-4 off for Facebook's and LinkedIn's curves).
pub const AGE_TABLE_LEN: usize = AGE_STEPS + 3;

/// Steps of the age table up to `max_age_s`.
const AGE_STEPS: usize = 256;

/// A compiled profile: the only form the ranking path reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    config: ProfileConfig,
    pub(crate) heads: [HeadWeight; HEADS],
    /// Sum of |w| * max output over negative-weight heads (Score units).
    pub(crate) negative_mass: i64,
    /// POSITIVE_OFFSET / (sum of |w| * max output) in Q40, for the negative-total rule.
    pub(crate) negative_scale_q40: i64,
    pub(crate) age_table: [Factor; AGE_TABLE_LEN],
    pub(crate) age_shift: u32,
    pub(crate) oon_factor: Factor,
    pub(crate) reply_factor: Factor,
    /// See [`Profile::max_multipliers`].
    pub(crate) max_multipliers: Factor,
    /// Diversity factors for k = 0..DIVERSITY_STEPS, then the floor.
    pub(crate) author_steps: [Factor; DIVERSITY_STEPS + 1],
    pub(crate) kind_steps: [Factor; DIVERSITY_STEPS + 1],
    pub(crate) in_network_min_share_q16: u32,
    pub(crate) sponsored_floor: LogScore,
    /// See-fewer recovery: the ramp from `start_factor` over the days of recovery (in seconds).
    pub(crate) fatigue_recovery: LinearRamp,
    pub(crate) integrity: CompiledIntegrity,
}

/// Integrity constants in fixed point.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct CompiledIntegrity {
    pub enabled: bool,
    pub farm_min_followings: u32,
    /// Ratio threshold, Q24.
    pub farm_ratio_q24: u64,
    /// Slope times log2(e), Q32 (so the factor is 2^-(slope_log2 * excess)); below 2^40.
    pub farm_slope_log2_q32: u64,
    pub young_days: u32,
    /// Over the days short of `young_days`.
    pub young: LinearRamp,
    pub pod: GeometricRamp,
    pub bought_min_followers: u32,
    /// Q30: small rates need more than Q15.
    pub bought_rate_q30: u32,
    /// Over the Q30 rate short of `bought_rate_q30`.
    pub bought: LinearRamp,
    /// Q30.
    pub bot_threshold_q30: u32,
    /// Over the Q30 regularity past the threshold.
    pub bot: LinearRamp,
}

#[inline]
/// A share in [0, 1] in 1/65536ths, rounded up: `(share_q16 * n) >> 16` is then
/// `floor(share * n)` for the decimal shares profiles state (0.7 * 65536 = 45875.2: truncated,
/// 45875 * 10 >> 16 would give 6 of 10, not 7).
///
/// ```
/// use edgerank_core::profile::share_q16;
/// for (share, n, count) in [(0.7f32, 10u64, 7u64), (0.6, 5, 3), (0.4, 5, 2), (0.5, 3, 1), (1.0, 7, 7), (0.0, 9, 0)] {
///     assert_eq!((share_q16(share) as u64 * n) >> 16, count);
/// }
/// ```
pub fn share_q16(share: f32) -> u32 {
    let scaled = share.clamp(0.0, 1.0) * 65536.0;
    let whole = scaled as u32;
    if (whole as f32) < scaled {
        whole + 1
    } else {
        whole
    }
}

fn unit_interval(x: f32) -> Result<f32, BlobError> {
    if x.is_finite() && (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(BlobError::OutOfRange)
    }
}

#[inline]
fn factor(x: f32) -> Result<Factor, BlobError> {
    if x.is_finite() && (0.0..4.0).contains(&x) {
        Ok(factor_of(x))
    } else {
        Err(BlobError::OutOfRange)
    }
}

/// `log2(x)` in Q20 for `x > 0` from the bits of `x`: the same value as `Factor::from_f32(x)`
/// and `LogScore::from_value(x as f64)`, bit for bit, without their f64 arithmetic (soft-float
/// code on every Cortex-M; the M4F's FPU is single precision). Those compute
/// `exponent + (log2_q20(mantissa) - 52) / 2^20` in f64 from the f64 form of `x`, which is
/// exact (a 20-bit fraction plus a small integer) and then scaled back to the integer
/// `(exponent << 20) + (log2_q20(mantissa) - (52 << 20))`. `log2_q20` reads only the 24 bits
/// below a number's leading one, so the 24-bit significand of the f32 (23 bits and the
/// implicit one, or a subnormal's bits, which the f64 form normalises) gives the same table
/// lookup; its leading-one position plus the f32 exponent is the f64 exponent. Tested
/// against both over every exponent (`log2_bits_match_the_f64_conversions`).
#[inline]
fn log2_q20_of(x: f32) -> i32 {
    let bits = x.to_bits();
    let exponent = (bits >> 23) & 0xff;
    let fraction = bits & 0x7f_ffff;
    match exponent {
        // Infinity: the f64 form has exponent 1024 and a zero mantissa.
        0xff => 1024 << 20,
        // Subnormal: x = fraction * 2^-149.
        0 => log2_q20(fraction as u64) - (149 << 20),
        // Normal: x = (2^23 + fraction) * 2^(exponent - 150).
        _ => log2_q20((fraction | 0x80_0000) as u64) + ((exponent as i32 - 150) << 20),
    }
}

/// `Factor::from_f32(x)` (see [`log2_q20_of`]): zero (and NaN) give [`Factor::ZERO`].
#[inline]
fn factor_of(x: f32) -> Factor {
    if x > 0.0 {
        Factor(log2_q20_of(x))
    } else {
        Factor::ZERO
    }
}

/// The cubic through four table nodes `p` (at steps -1, 0, 1, 2) at `t` in [0, 1) (Q16),
/// less `p[1]`: Newton's form, `t d1 + t(t-1)/2 d2 + (t+1)t(t-1)/6 d3` with the forward
/// differences below, rounded once. `narrow` (a Cortex-M0+, which has no 32x32->64 multiply)
/// adds in 32 bits when the differences allow it (every step but the steepest); elsewhere a
/// multiply-accumulate into 64 bits is one instruction. Both give the same value.
#[inline(always)]
fn cubic_part(p: [i32; 4], t: i32, narrow: bool) -> i32 {
    let d1 = p[2] - p[1];
    let d2 = p[2] - 2 * p[1] + p[0];
    let d3 = p[3] - 3 * p[2] + 3 * p[1] - p[0];
    let half_t_tm1 = (t * (t - 65536)) >> 17; // t(t-1)/2, Q16, in [-2^13, 0]
                                              // Times (t+1)/3; 21845 is 1/3 in Q16.
    let sixth = (((half_t_tm1 * (t + 65536)) >> 16) * 21845) >> 16; // Q16, |.| < 2^13
    if narrow && (d1.unsigned_abs() >> 14) | (d2.unsigned_abs() >> 15) | (d3.unsigned_abs() >> 15) == 0 {
        (d1 * t + d2 * half_t_tm1 + d3 * sixth + (1 << 15)) >> 16
    } else {
        ((d1 as i64 * t as i64 + d2 as i64 * half_t_tm1 as i64 + d3 as i64 * sixth as i64 + (1 << 15)) >> 16) as i32
    }
}

#[inline]
fn diversity_steps(d: &Diversity) -> Result<[Factor; DIVERSITY_STEPS + 1], BlobError> {
    let decay = unit_interval(d.decay)?;
    let floor = unit_interval(d.floor)?;
    let mut steps = [factor_of(floor); DIVERSITY_STEPS + 1];
    let mut pow = 1.0f32;
    for s in steps.iter_mut().take(DIVERSITY_STEPS) {
        *s = factor_of((1.0 - floor) * pow + floor);
        pow *= decay;
    }
    Ok(steps)
}

impl Profile {
    /// Compiles a configuration, checking every value.
    ///
    /// ```
    /// use edgerank_core::profile::{Platform, Profile};
    /// let profile = Profile::compile(Platform::X.config()).expect("built-in profiles are valid");
    /// assert_eq!(profile.config().name.as_str(), "x");
    /// ```
    ///
    /// `#[inline]` for the reason given at [`Profile::from_blob`].
    #[inline]
    pub fn compile(config: ProfileConfig) -> Result<Self, BlobError> {
        let mut profile = Profile::EMPTY;
        profile.compile_into(config)?;
        Ok(profile)
    }

    /// [`Profile::compile`] straight into `slot` (a static being initialised, say): the tables
    /// are written in place, with no profile-sized temporary. The slot is initialised in any
    /// case; on error it holds a profile that is not valid, and must not be ranked with.
    #[inline]
    pub fn compile_in_slot(
        slot: &mut core::mem::MaybeUninit<Profile>,
        config: ProfileConfig,
    ) -> Result<&mut Profile, BlobError> {
        let profile = slot.write(Profile::EMPTY);
        profile.compile_into(config)?;
        Ok(profile)
    }

    /// [`Profile::compile`] into `self`: the tables are written in place, so compiling takes no
    /// profile-sized temporary (a device compiles profiles in its request loop and at boot).
    /// The checks, and so the error, are those of `compile`; on error `self` may be partly
    /// written.
    #[inline]
    fn compile_into(&mut self, config: ProfileConfig) -> Result<(), BlobError> {
        if config.magic != PROFILE_MAGIC {
            return Err(BlobError::BadMagic);
        }
        if config.format_version != PROFILE_FORMAT_VERSION {
            return Err(BlobError::UnsupportedVersion(config.format_version));
        }
        let heads = &mut self.heads;
        // Masses in Score units; f32 keeps load-time code small on FPU-less targets.
        let mut negative_mass = 0f32;
        let mut total_mass = 0f32;
        for head in Head::ALL {
            let w = config.head_weights[head.index()];
            // The negative-total rule needs a bound on what each negatively weighted head can
            // subtract (`HeadUnit::max_value`); the odds watch-time head `e^z` has none (the
            // default model already predicts over an hour for a long video at its clamps), so
            // its weight may not be negative: penalise long watches through the bounded
            // quantile head instead.
            if !w.is_finite() || F32Ext::abs(w) > 1000.0 || (head == Head::WatchTime && w < 0.0) {
                return Err(BlobError::OutOfRange);
            }
            heads[head.index()] = HeadWeight::quantise(w)?;
            // Bounded mass keeps every weighted sum far inside Score's range (±16384).
            let mass = F32Ext::abs(w) * head.unit().max_value();
            total_mass += mass;
            if w < 0.0 {
                negative_mass += mass;
            }
        }
        if total_mass > MAX_TOTAL_MASS {
            return Err(BlobError::OutOfRange);
        }
        // Masses are real numbers here; Q32 for the mass, Q40 for the scale.
        let negative_scale_q40 =
            if negative_mass > 0.0 { (0.001 / negative_mass * 1_099_511_627_776.0) as i64 } else { 0 };

        let age = &config.age;
        let finite = age.halflife_min.is_finite() && age.slope_per_min.is_finite();
        if !finite || age.halflife_min < 0.0 || age.slope_per_min < 0.0 || age.max_age_s == 0 {
            return Err(BlobError::OutOfRange);
        }
        let age_floor = unit_interval(age.floor)?;
        // Table step: the smallest power of two with AGE_STEPS steps covering max_age_s.
        let mut age_shift = 0u32;
        while ((AGE_STEPS as u64) << age_shift) < age.max_age_s as u64 {
            age_shift += 1;
        }
        for (i, slot) in self.age_table.iter_mut().enumerate() {
            let minutes = (((i as u64) << age_shift) as f32 - (1u64 << age_shift) as f32) / 60.0;
            let z = (age.slope_per_min * (minutes - age.halflife_min)).min(80.0);
            // libm's expf (within an ulp), not micromath's (a degree-4 series, 1e-3 off): the
            // table must be bit-identical on host and device, and as exact as the scores.
            *slot = factor_of(age_floor + (1.0 - age_floor) / (1.0 + libm::expf(z)));
        }

        let sp = &config.sponsored;
        if sp.spacing == 0 || !sp.quality_floor.is_finite() || sp.quality_floor < 0.0 {
            return Err(BlobError::OutOfRange);
        }
        let ig = &config.integrity;
        if !ig.farm_ratio.is_finite()
            || ig.farm_ratio < 0.0
            || ig.farm_ratio >= 1000.0
            || !(ig.farm_slope.is_finite() && (0.0..=100.0).contains(&ig.farm_slope))
        {
            return Err(BlobError::OutOfRange);
        }
        let threshold = |x: f32| -> Result<u32, BlobError> {
            // Below 1: the ramp needs a span past the threshold.
            if unit_interval(x)? < 1.0 {
                Ok(unit_q30(x))
            } else {
                Err(BlobError::OutOfRange)
            }
        };
        let ramp = |floor: f32, den: u64| -> Result<LinearRamp, BlobError> {
            Ok(LinearRamp::new(LinearRamp::drop_q30(unit_interval(floor)?), den))
        };
        let (pod_threshold, bot_threshold) = (threshold(ig.pod_threshold)?, threshold(ig.bot_threshold)?);
        let bought_rate_q30 = unit_q30(unit_interval(ig.bought_rate)?);
        let integrity = CompiledIntegrity {
            enabled: ig.enabled,
            farm_min_followings: ig.farm_min_followings,
            // Rounded by adding a half: F32Ext::round goes through i32, and these pass 2^31.
            farm_ratio_q24: (ig.farm_ratio * 16_777_216.0 + 0.5) as u64,
            farm_slope_log2_q32: (ig.farm_slope * core::f32::consts::LOG2_E * 4_294_967_296.0 + 0.5) as u64,
            young_days: ig.young_days,
            young: ramp(ig.young_floor, ig.young_days as u64)?,
            // A floor of 0 counts as 2^-14 (log2 -14): geometric demotion never reaches zero.
            pod: GeometricRamp::new(factor_of(unit_interval(ig.pod_floor)?.max(1.0 / 16384.0)), pod_threshold),
            bought_min_followers: ig.bought_min_followers,
            bought_rate_q30,
            bought: ramp(ig.bought_floor, bought_rate_q30 as u64)?,
            bot_threshold_q30: bot_threshold,
            bot: ramp(ig.bot_floor, ((1 << 30) - bot_threshold) as u64)?,
        };
        let fatigue = &config.fatigue;
        let fatigue_recovery = ramp(fatigue.start_factor, fatigue.recovery_days as u64 * 86_400)?;

        // Field by field, in the order (and so with the errors) of a struct literal; the
        // destructuring below stops compiling if a field is added.
        let Profile {
            config: _,
            heads: _,
            negative_mass: slot_negative_mass,
            negative_scale_q40: slot_negative_scale_q40,
            age_table: _,
            age_shift: slot_age_shift,
            oon_factor,
            reply_factor,
            max_multipliers,
            author_steps,
            kind_steps,
            in_network_min_share_q16,
            sponsored_floor,
            fatigue_recovery: slot_fatigue_recovery,
            integrity: slot_integrity,
        } = self;
        *slot_negative_mass = (negative_mass * 4_294_967_296.0) as i64;
        *slot_negative_scale_q40 = negative_scale_q40;
        *slot_age_shift = age_shift;
        *oon_factor = factor(config.out_of_network_factor)?;
        *reply_factor = factor(config.reply_factor)?;
        // The age factor stays between two of the table's nodes; fatigue and the integrity
        // rules are at most 1.
        let max_age_factor = self.age_table.iter().copied().max().unwrap_or(Factor::ONE);
        *max_multipliers = max_age_factor.then((*oon_factor).max(Factor::ONE)).then((*reply_factor).max(Factor::ONE));
        *author_steps = diversity_steps(&config.author_diversity)?;
        *kind_steps = diversity_steps(&config.kind_diversity)?;
        *in_network_min_share_q16 = share_q16(unit_interval(config.in_network_min_share)?);
        // LogScore::from_value(quality_floor as f64), without f64 (see log2_q20_of).
        *sponsored_floor =
            if sp.quality_floor > 0.0 { LogScore(log2_q20_of(sp.quality_floor)) } else { LogScore::ZERO_VALUE };
        *slot_fatigue_recovery = fatigue_recovery;
        *slot_integrity = integrity;
        self.config = config;
        Ok(())
    }

    /// Every value zero, every bit zero (so that it costs a memset, not a copy of a constant):
    /// where a configuration is compiled (not a valid profile).
    const EMPTY: Profile = Profile {
        config: ProfileConfig {
            magic: [0; 4],
            format_version: 0,
            name: heapless::String::new(),
            head_weights: [0.0; HEADS],
            age: AgeDecay { max_age_s: 0, halflife_min: 0.0, slope_per_min: 0.0, floor: 0.0 },
            out_of_network_factor: 0.0,
            reply_factor: 0.0,
            max_out_of_network_run: 0,
            in_network_min_share: 0.0,
            author_diversity: Diversity { decay: 0.0, floor: 0.0 },
            kind_diversity: Diversity { decay: 0.0, floor: 0.0 },
            exploration: Exploration { slots: 0, max_followers: 0, max_author_impressions: 0, max_age_s: 0 },
            sponsored: Sponsored { first_slot: 0, spacing: 0, max_per_page: 0, quality_floor: 0.0 },
            fatigue: Fatigue { filter_days: 0, recovery_days: 0, start_factor: 0.0 },
            integrity: Integrity {
                enabled: false,
                farm_min_followings: 0,
                farm_ratio: 0.0,
                farm_slope: 0.0,
                young_days: 0,
                young_floor: 0.0,
                pod_threshold: 0.0,
                pod_floor: 0.0,
                bought_min_followers: 0,
                bought_rate: 0.0,
                bought_floor: 0.0,
                bot_threshold: 0.0,
                bot_floor: 0.0,
            },
            shortlist: 0,
        },
        heads: [HeadWeight::ZERO; HEADS],
        negative_mass: 0,
        negative_scale_q40: 0,
        age_table: [Factor::ONE; AGE_TABLE_LEN],
        age_shift: 0,
        oon_factor: Factor::ONE,
        reply_factor: Factor::ONE,
        max_multipliers: Factor::ONE,
        author_steps: [Factor::ONE; DIVERSITY_STEPS + 1],
        kind_steps: [Factor::ONE; DIVERSITY_STEPS + 1],
        in_network_min_share_q16: 0,
        sponsored_floor: LogScore(0),
        fatigue_recovery: LinearRamp::EMPTY,
        integrity: CompiledIntegrity {
            enabled: false,
            farm_min_followings: 0,
            farm_ratio_q24: 0,
            farm_slope_log2_q32: 0,
            young_days: 0,
            young: LinearRamp::EMPTY,
            pod: GeometricRamp::EMPTY,
            bought_min_followers: 0,
            bought_rate_q30: 0,
            bought: LinearRamp::EMPTY,
            bot_threshold_q30: 0,
            bot: LinearRamp::EMPTY,
        },
    };

    /// The configuration this profile was compiled from.
    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }

    /// The factors the re-ranker applies to an item whose author already has `author_items`
    /// items on the page and whose content kind has `kind_items` (each capped at
    /// [`DIVERSITY_STEPS`], past which the floor applies), as compiled from the profile's
    /// diversity rules.
    ///
    /// ```
    /// use edgerank_core::num::Factor;
    /// use edgerank_core::profile::{Platform, Profile};
    /// let p = Profile::compile(Platform::X.config()).unwrap();
    /// assert_eq!(p.diversity_factors(0, 0), (Factor::ONE, Factor::ONE));
    /// assert!(p.diversity_factors(1, 0).0 < Factor::ONE);
    /// ```
    #[inline]
    pub fn diversity_factors(&self, author_items: usize, kind_items: usize) -> (Factor, Factor) {
        (self.author_steps[author_items.min(DIVERSITY_STEPS)], self.kind_steps[kind_items.min(DIVERSITY_STEPS)])
    }

    /// The quantised weight of a head.
    pub fn head_weight(&self, head: Head) -> HeadWeight {
        self.heads[head.index()]
    }

    /// The negative-total rule: a weighted sum `s` below zero becomes
    /// `(s + negative mass) / negative mass * 0.001`, in [0, 0.001); otherwise `s + 0.001`.
    /// Positives therefore always outrank negatives, and the order within each group is kept.
    /// The negative mass is the sum over negative-weight heads of |weight| times the head's
    /// largest output (1, or 2048 s), the lowest sum possible.
    ///
    /// X's ranker divides by the total mass of all heads instead; that makes the score jump
    /// at `s = 0` (from `0.001 * negative / total` to 0.001), so a numerically tiny change of
    /// a near-zero sum reorders items by a large factor. Dividing by the negative mass keeps
    /// the map continuous and otherwise identical in spirit.
    #[inline]
    pub fn finish_base(&self, sum: Score) -> LogScore {
        LogScore::from_q32(self.finish_base_linear(sum).0.max(0) as u64)
    }

    /// [`Profile::finish_base`] before the logarithm (Q32 linear).
    #[inline]
    pub fn finish_base_linear(&self, sum: Score) -> Score {
        if sum.0 >= 0 {
            sum.saturating_add(POSITIVE_OFFSET)
        } else {
            // lifted <= negative mass, and scale = 0.001 * 2^40 / negative mass, so the product
            // stays below 0.001 * 2^72 = 2^62.
            let lifted = (sum.0 + self.negative_mass).max(0);
            let scaled = crate::num::mul_shr40(lifted as u64, self.negative_scale_q40 as u64);
            Score::saturate(scaled as i64).min_with(POSITIVE_OFFSET.0 - 1)
        }
    }

    /// The negative-total rule's parameters: the negative mass (Score units) and the scale
    /// (Q40) that maps a lifted negative sum below [`POSITIVE_OFFSET`].
    #[inline]
    pub(crate) fn negative_rule(&self) -> (i64, i64) {
        (self.negative_mass, self.negative_scale_q40)
    }

    /// A bound of the product of the non-positional multipliers (`score::multipliers`): the
    /// age table's largest node (the age factor stays between two nodes), times the network
    /// and reply factors where above 1; fatigue and the integrity rules are at most 1.
    #[inline]
    pub fn max_multipliers(&self) -> Factor {
        self.max_multipliers
    }

    /// Age-decay factor for a post `age_s` seconds old.
    #[inline]
    pub fn age_factor(&self, age_s: u32) -> Factor {
        let step = (age_s >> self.age_shift) as usize;
        if step >= AGE_STEPS {
            return self.age_table[AGE_STEPS + 1];
        }
        // The four nodes around the step: its start is node `step + 1`.
        let p = [
            self.age_table[step].0,
            self.age_table[step + 1].0,
            self.age_table[step + 2].0,
            self.age_table[step + 3].0,
        ];
        let frac = age_s - ((step as u32) << self.age_shift);
        // t in [0, 1), Q16.
        let t =
            (if self.age_shift > 16 { frac >> (self.age_shift - 16) } else { frac << (16 - self.age_shift) }) as i32;
        let part = cubic_part(p, t, cfg!(thumb1));
        // The curve falls with age: between the step's end nodes, so that rounding cannot
        // lift a step's last value above the next step's first.
        Factor((p[1] + part).min(p[1]).max(p[2]))
    }

    /// Encodes the profile's configuration as a checksummed blob.
    pub fn to_blob<'b>(&self, buf: &'b mut [u8]) -> Result<&'b mut [u8], BlobError> {
        crate::wire::encode_checked(&self.config, buf)
    }

    /// Decodes, validates and compiles a profile blob.
    ///
    /// `#[inline]`, like [`Profile::compile`] and the other loaders (`Model::from_blob`,
    /// `UserState::restore_from_blob`): it is compiled in the crate that calls it, with that
    /// crate's optimisation settings, so a firmware can build its loaders for size and the
    /// ranking path, which never calls them, for speed (`firmware/Cargo.toml`).
    #[inline]
    pub fn from_blob(bytes: &[u8]) -> Result<Self, BlobError> {
        Self::compile(decode_config(bytes)?)
    }

    /// [`Profile::from_blob`] into `self`: the blob is decoded, validated and compiled first
    /// (into one temporary profile, in place), and replaces `self` only then; a refused blob
    /// leaves `self` as it was and gives the error `from_blob` gives. Takes about one profile
    /// of stack (a device loads profiles in its request loop).
    #[inline]
    pub fn replace_from_blob(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        let config = decode_config(bytes)?;
        let mut profile = Profile::EMPTY;
        profile.compile_into(config)?;
        *self = profile;
        Ok(())
    }
}

/// A profile blob's [`ProfileConfig`]. A blob of another format version (an earlier one has
/// fewer fields) is refused as [`BlobError::UnsupportedVersion`], not as malformed: its header,
/// the magic and then the version, reads the same in every version.
#[inline]
fn decode_config(bytes: &[u8]) -> Result<ProfileConfig, BlobError> {
    crate::wire::decode_checked(bytes).map_err(|e| match e {
        // The checksum held, so the header is what the sender wrote.
        BlobError::Malformed => other_version(bytes).unwrap_or(e),
        e => e,
    })
}

/// `UnsupportedVersion` if `bytes` start with the profile magic and a version other than
/// [`PROFILE_FORMAT_VERSION`].
fn other_version(bytes: &[u8]) -> Option<BlobError> {
    if bytes.get(..PROFILE_MAGIC.len())? != PROFILE_MAGIC {
        return None;
    }
    let (version, _) = postcard::take_from_bytes::<u16>(bytes.get(PROFILE_MAGIC.len()..)?).ok()?;
    (version != PROFILE_FORMAT_VERSION).then_some(BlobError::UnsupportedVersion(version))
}

impl Score {
    #[inline]
    const fn min_with(self, raw: i64) -> Self {
        if self.0 > raw {
            Score(raw)
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_compiles_and_round_trips() {
        for p in Platform::ALL {
            let profile = Profile::compile(p.config()).unwrap();
            let mut buf = [0u8; PROFILE_BLOB_MAX];
            let len = profile.to_blob(&mut buf).unwrap().len();
            let back = Profile::from_blob(&buf[..len]).unwrap();
            assert_eq!(back, profile, "{}", p.name());
        }
    }

    #[test]
    fn head_weights_are_quantised_within_a_relative_error_of_1e_5() {
        for p in Platform::ALL {
            let profile = Profile::compile(p.config()).unwrap();
            for head in Head::ALL {
                let w = p.config().head_weights[head.index()] as f64;
                let back = profile.head_weight(head).to_f64();
                assert!((back - w).abs() <= w.abs() * 1e-5, "{} {:?}: {w} vs {back}", p.name(), head);
            }
        }
        assert_eq!(HeadWeight::quantise(0.0), Ok(HeadWeight::ZERO));
        assert_eq!(HeadWeight::quantise(1e-35), Ok(HeadWeight::ZERO));
        assert_eq!(HeadWeight::quantise(f32::NAN), Err(BlobError::OutOfRange));
        assert!(HeadWeight::quantise(-3.0).unwrap().is_negative());
    }

    #[test]
    fn contributions_match_real_products() {
        for w in [-234.0f32, -43.2, -0.02, 0.004, 0.5, 13.5, 75.0, 1000.0] {
            let hw = HeadWeight::quantise(w).unwrap();
            // From a head value (the light pass's constant) and from a logit (the scorer).
            for v in [1e-6, 2e-4, 0.03, 0.5, 1.0, 9.5, 600.0] {
                let got = hw.times(HeadValue::from_f64(v));
                let exact = w as f64 * v;
                if exact.abs() < Score::MAX.to_f64() {
                    let got = got.to_f64();
                    // 1.5e-5 from the HeadValue's mantissa, 5e-5 from the weight's.
                    assert!((got - exact).abs() <= exact.abs() * 6.5e-5 + 1e-9, "{w} * {v}: {got} vs {exact}");
                } else {
                    assert!(got == Score::MAX || got == Score::MIN, "{w} * {v} must saturate");
                }
            }
            for z in [-30.0, -12.5, -3.1, -0.2, 0.0, 0.7, 4.0, 25.0] {
                let logit = crate::num::Logit::from_f64(z);
                for (head, exact_v) in [(0, 1.0 / (1.0 + libm::exp(-z))), (Head::WatchTime.index(), libm::exp(z))] {
                    let got = hw.contribution(crate::model::Model::log2_output_q16(head, logit));
                    let exact = hw.to_f64() * exact_v;
                    if exact.abs() < Score::MAX.to_f64() {
                        let got = got.to_f64();
                        // 8e-5 in log2 from the logistic's table, 2e-5 from the Q16 steps and
                        // 4e-5 relative from 2^y (tested in `num::approx`); plus a Score unit.
                        assert!(
                            (got - exact).abs() <= exact.abs() * 1.1e-4 + 2.5e-10,
                            "{w} * f({z}) for head {head}: {got} vs {exact}"
                        );
                    } else {
                        assert!(got == Score::MAX || got == Score::MIN, "{w} * f({z}) must saturate");
                    }
                }
            }
        }
        // A sweep of weights and values (xorshift), away from Score's unit and its saturation.
        let mut next = crate::util::xorshift32(0xC0FF_EE11);
        for _ in 0..200_000 {
            let w = (next() as f64 / u32::MAX as f64 * 2000.0 - 1000.0) as f32;
            let v = libm::exp2(next() as f64 / u32::MAX as f64 * 20.0 - 14.0);
            let (hw, hv) = (HeadWeight::quantise(w).unwrap(), HeadValue::from_f64(v));
            let exact = w as f64 * hv.to_f64();
            if exact.abs() > 1e-3 && exact.abs() < 16_000.0 {
                let got = hw.times(hv).to_f64();
                assert!((got - exact).abs() <= exact.abs() * 6.5e-5, "{w} * {v}: {got} vs {exact}");
            }
        }
        assert_eq!(HeadWeight::default().times(HeadValue::from_f64(1.0)), Score::ZERO);
        assert_eq!(HeadWeight::ZERO.contribution(30 << 16), Score::ZERO);
        assert_eq!(HeadWeight::quantise(1000.0).unwrap().contribution(i32::MAX / 4), Score::MAX);
        assert_eq!(HeadWeight::quantise(-1000.0).unwrap().contribution(i32::MAX / 4), Score::MIN);
        // Any input is defined (saturating, no overflow).
        assert_eq!(HeadWeight::quantise(2.0).unwrap().contribution(i32::MAX), Score::MAX);
        assert_eq!(HeadWeight::quantise(2.0).unwrap().contribution(i32::MIN), Score::ZERO);
        assert_eq!(HeadWeight::ZERO.contribution(i32::MIN), Score::ZERO);
    }

    #[test]
    fn negative_rule_keeps_positives_above_negatives_and_order_within() {
        let profile = Profile::compile(Platform::X.config()).unwrap();
        let neg_small = profile.finish_base(Score::from_f64(-1.0));
        let neg_smaller = profile.finish_base(Score::from_f64(-1.001));
        let neg_large = profile.finish_base(Score::from_f64(-200.0));
        assert!(neg_smaller < neg_small, "0.001 apart must stay distinct");
        let zero = profile.finish_base(Score::ZERO);
        let pos = profile.finish_base(Score::from_f64(0.5));
        assert!((pos.value() - 0.501).abs() < 0.501 * 1e-5);
        assert!(neg_large < neg_small, "{neg_large:?} {neg_small:?}");
        assert!(neg_small < zero);
        assert!(zero < pos);
        assert!(neg_large > LogScore::ZERO_VALUE);
        assert_eq!(profile.finish_base_linear(Score::ZERO), POSITIVE_OFFSET);
        assert_eq!(zero, LogScore::from_q32(POSITIVE_OFFSET.0 as u64));
        assert_eq!(profile.finish_base(Score::MIN), LogScore::ZERO_VALUE);
    }

    #[test]
    fn age_factor_follows_the_earlybird_curve() {
        // Within 1e-5 in log2 of the f64 curve, for every built-in profile, at uneven ages
        // (every fraction of a table step), and never growing with age.
        for p in Platform::ALL {
            let profile = Profile::compile(p.config()).unwrap();
            let a = &p.config().age;
            let mut prev = Factor(i32::MAX);
            for age_s in (0..a.max_age_s).step_by(97) {
                let m = age_s as f64 / 60.0;
                let z = (a.slope_per_min as f64 * (m - a.halflife_min as f64)).min(80.0);
                let exact = (a.floor as f64 + (1.0 - a.floor as f64) / (1.0 + z.exp())).log2();
                let got = profile.age_factor(age_s);
                let log2 = got.0 as f64 / (1u64 << 20) as f64;
                assert!((log2 - exact).abs() < 1e-5, "{p:?} age {age_s}: log2 {exact} vs {log2}");
                assert!(got <= prev, "{p:?}: age factor must not grow with age ({age_s} s)");
                prev = got;
            }
            assert!(profile.age_factor(u32::MAX) <= prev);
        }
    }

    #[test]
    fn age_cubic_adds_in_32_bits_exactly_as_in_64() {
        let mut next = crate::util::xorshift32(0x0BAD_5EED);
        let mut narrow = 0;
        for _ in 0..300_000 {
            let base = -((next() >> 8) as i32);
            let mut p = [base; 4];
            let spread = next() % 20;
            for v in p.iter_mut().skip(1) {
                *v = base - ((next() >> 12) >> spread) as i32;
            }
            p.sort_unstable_by(|a, b| b.cmp(a));
            let t = (next() & 0xffff) as i32;
            let d1 = p[2] - p[1];
            narrow += (d1.unsigned_abs() < 1 << 14) as u32;
            assert_eq!(cubic_part(p, t, true), cubic_part(p, t, false), "{p:?} at {t}");
        }
        assert!(narrow > 100_000, "the 32-bit route is exercised ({narrow})");
    }

    /// The integer conversions give `Factor::from_f32` and `LogScore::from_value`, bit for bit:
    /// every exponent (subnormals, infinity) with edge and pseudo-random fractions, and the
    /// values the profiles compile.
    #[test]
    fn log2_bits_match_the_f64_conversions() {
        let mut next = crate::util::xorshift32(0x2545_f491);
        let check = |x: f32| {
            assert_eq!(factor_of(x), Factor::from_f32(x), "{x:e} ({:#010x})", x.to_bits());
            let score = if x > 0.0 { LogScore(log2_q20_of(x)) } else { LogScore::ZERO_VALUE };
            assert_eq!(score, LogScore::from_value(x as f64), "{x:e} ({:#010x})", x.to_bits());
        };
        for exponent in 0..=255u32 {
            for fraction in [0, 1, 2, 3, 0xff, 0x100, 0x7f_ff00, 0x7f_fffe, 0x7f_ffff, 0x40_0000, 0x40_0001] {
                check(f32::from_bits(exponent << 23 | fraction));
            }
            for _ in 0..2_000 {
                check(f32::from_bits(exponent << 23 | (next() & 0x7f_ffff)));
            }
        }
        for x in [0.0, -0.0, -1.0, f32::NAN, 1.0, 0.5, 0.001, 3.999_999_8, 4.0, f32::MAX, f32::MIN_POSITIVE] {
            check(x);
        }
    }

    /// A format-1 blob (no `shortlist`: the format-2 encoding without its last field) and a
    /// blob claiming a later version are refused as `UnsupportedVersion`; with a bad checksum,
    /// or with the version right but a field missing, the error stays what it was.
    #[test]
    fn other_format_versions_are_refused_as_such() {
        let mut buf = [0u8; PROFILE_BLOB_MAX];
        let config = Platform::X.config();
        let mut v1 = config.clone();
        v1.format_version = 1;
        let n = crate::wire::encode_checked(&v1, &mut buf).unwrap().len();
        // The shortlist (48) is the last field: one varint byte before the checksum.
        assert_eq!(buf[n - 5], 48);
        let len = n - 5;
        // `content` followed by its checksum, in `out`.
        let with_crc = |content: &[u8], out: &mut [u8; PROFILE_BLOB_MAX]| {
            out[..content.len()].copy_from_slice(content);
            out[content.len()..content.len() + 4].copy_from_slice(&crate::wire::CRC.checksum(content).to_le_bytes());
            content.len() + 4
        };
        let mut content = [0u8; PROFILE_BLOB_MAX];
        content[..len].copy_from_slice(&buf[..len]);
        let mut blob = [0u8; PROFILE_BLOB_MAX];
        let m = with_crc(&content[..len], &mut blob);
        assert_eq!(Profile::from_blob(&blob[..m]), Err(BlobError::UnsupportedVersion(1)));
        let mut p = Profile::compile(config.clone()).unwrap();
        assert_eq!(p.replace_from_blob(&blob[..m]), Err(BlobError::UnsupportedVersion(1)));
        // Bad checksum: still BadChecksum.
        blob[m - 1] ^= 1;
        assert_eq!(Profile::from_blob(&blob[..m]), Err(BlobError::BadChecksum));
        let mut v3 = config.clone();
        v3.format_version = 3;
        let n3 = crate::wire::encode_checked(&v3, &mut buf).unwrap().len();
        assert_eq!(Profile::from_blob(&buf[..n3]), Err(BlobError::UnsupportedVersion(3)));
        // The current version with its last field cut: malformed.
        content[4] = PROFILE_FORMAT_VERSION as u8;
        let m = with_crc(&content[..len], &mut blob);
        assert_eq!(Profile::from_blob(&blob[..m]), Err(BlobError::Malformed));
    }

    /// `replace_from_blob` replaces with what `from_blob` returns, and on a refusal gives its
    /// error and leaves the profile as it was.
    #[test]
    fn replace_from_blob_matches_from_blob() {
        let mut buf = [0u8; PROFILE_BLOB_MAX];
        let blob = |c: &ProfileConfig, buf: &mut [u8; PROFILE_BLOB_MAX]| {
            crate::wire::encode_checked(c, buf).map(|b| b.len()).unwrap()
        };
        let tiktok = Profile::compile(Platform::TikTok.config()).unwrap();
        let mut bad_weight = Platform::X.config();
        bad_weight.head_weights[3] = f32::INFINITY;
        let mut bad_share = Platform::X.config();
        bad_share.in_network_min_share = 1.5;
        let mut configs: heapless::Vec<ProfileConfig, 12> = Platform::ALL.iter().map(|p| p.config()).collect();
        configs.push(bad_weight).unwrap();
        configs.push(bad_share).unwrap();
        for c in &configs {
            let n = blob(c, &mut buf);
            for bytes in [&buf[..n], &buf[..n - 1]] {
                let mut active = tiktok.clone();
                let replaced = active.replace_from_blob(bytes);
                match Profile::from_blob(bytes) {
                    Ok(p) => {
                        assert_eq!(replaced, Ok(()));
                        assert_eq!(active, p);
                    }
                    Err(e) => {
                        assert_eq!(replaced, Err(e));
                        assert_eq!(active, tiktok);
                    }
                }
            }
        }
    }

    #[test]
    fn max_multipliers_bounds_every_age_network_and_reply_factor() {
        let mut next = crate::util::xorshift32(0x0bad_cafe);
        for platform in Platform::ALL {
            for (oon, reply) in [(None, None), (Some(2.5), Some(0.5)), (Some(0.3), Some(1.7))] {
                let mut config = platform.config();
                config.out_of_network_factor = oon.unwrap_or(config.out_of_network_factor);
                config.reply_factor = reply.unwrap_or(config.reply_factor);
                let max_age = config.age.max_age_s;
                let p = Profile::compile(config).unwrap();
                let max = p.max_multipliers();
                for i in 0..5_000u32 {
                    // Every age up to a minute, then random ones up to the cut.
                    let age = if i < 60 { i } else { next() % (max_age + 1) };
                    let mut product = p.age_factor(age);
                    if next() & 1 == 0 {
                        product = product.then(p.oon_factor);
                    }
                    if next() & 1 == 0 {
                        product = product.then(p.reply_factor);
                    }
                    assert!(product <= max, "{platform:?} at {age} s: {product:?} above {max:?}");
                }
            }
        }
    }

    #[test]
    fn compile_in_slot_matches_compile() {
        for p in Platform::ALL {
            let mut slot = core::mem::MaybeUninit::uninit();
            let compiled = Profile::compile_in_slot(&mut slot, p.config()).unwrap().clone();
            assert_eq!(compiled, Profile::compile(p.config()).unwrap());
        }
        let mut bad = Platform::X.config();
        bad.reply_factor = -1.0;
        let mut slot = core::mem::MaybeUninit::uninit();
        assert_eq!(Profile::compile_in_slot(&mut slot, bad.clone()).err(), Profile::compile(bad).err());
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let mut c = Platform::TikTok.config();
        c.head_weights[0] = f32::NAN;
        assert_eq!(Profile::compile(c), Err(BlobError::OutOfRange));
        let mut c = Platform::TikTok.config();
        c.author_diversity.decay = 1.5;
        assert_eq!(Profile::compile(c), Err(BlobError::OutOfRange));
        let mut c = Platform::TikTok.config();
        c.sponsored.spacing = 0;
        assert_eq!(Profile::compile(c), Err(BlobError::OutOfRange));
        let mut c = Platform::TikTok.config();
        c.age.max_age_s = 0;
        assert_eq!(Profile::compile(c), Err(BlobError::OutOfRange));
        let mut c = Platform::TikTok.config();
        c.magic = *b"NOPE";
        assert_eq!(Profile::compile(c), Err(BlobError::BadMagic));
        let mut c = Platform::TikTok.config();
        c.head_weights[10] = 5000.0;
        assert_eq!(Profile::compile(c), Err(BlobError::OutOfRange));
        // A negative weight on the unbounded watch-time head; the bounded quantile head may
        // take one.
        let mut c = Platform::TikTok.config();
        c.head_weights[Head::WatchTime.index()] = -0.1;
        assert_eq!(Profile::compile(c.clone()), Err(BlobError::OutOfRange));
        c.head_weights[Head::WatchTime.index()] = 0.0;
        c.head_weights[Head::WatchQuantile.index()] = -50.0;
        assert!(Profile::compile(c).is_ok());
    }
}
