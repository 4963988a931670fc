//! The two shapes of demotion the rules use, as factors to about 1e-5 in log2.
//!
//! A rule's factor falls from 1 as its signal passes a threshold: linearly to a floor
//! ([`LinearRamp`]: young accounts, bought followers, clockwork posting, fatigue recovery) or
//! geometrically, linear in log space ([`GeometricRamp`]: engagement pods). Each is compiled
//! once from the profile, and evaluating one is a multiply and a table logarithm: no
//! division, and no rounding of the signal or the floor to 14 or 15 bits (at 2^-14 a floor
//! of 0.3 is already 6e-5 off in log2, as much as the rest of a score's error).

use super::{log2_q20, Factor};

/// A value in [0, 1] (clamped; NaN gives 0) as Q30, rounded to nearest: an f32 times 2^30
/// is exact, so only the rounding to an integer is lost (at most 1e-9).
pub fn unit_q30(x: f32) -> u32 {
    if x >= 1.0 {
        1 << 30
    } else if x > 0.0 {
        (x * 1_073_741_824.0 + 0.5) as u32
    } else {
        0
    }
}

/// `1 - drop * num / den` for `num` in `[0, den]`: from 1 at `num = 0` to `1 - drop` (the
/// rule's floor) at `num = den`.
///
/// `drop` is Q30 (`1 - floor`); `den` is the signal's full span in the signal's own units
/// (days, or a Q30 rate), at most 2^33. The factor is `log2(den * 2^30 - drop * num)` minus
/// `log2(den * 2^30)`, the latter computed once: two table logarithms, within 1e-5 of the
/// exact value.
///
/// ```
/// # use edgerank_core::num::{Factor, LinearRamp};
/// // Floor 0.3 over a 30-day span: 20 days short of the end is 1 - 0.7 * 20 / 30.
/// let ramp = LinearRamp::new(LinearRamp::drop_q30(0.3), 30);
/// let log2 = ramp.at(20).0 as f64 / (1 << 20) as f64;
/// assert!((log2 - (1.0f64 - 0.7 * 20.0 / 30.0).log2()).abs() < 1e-5);
/// assert_eq!(ramp.at(0), Factor::ONE);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinearRamp {
    drop_q30: u32,
    den: u64,
    log2_full_q20: i32,
}

impl LinearRamp {
    /// The ramp of an empty span (always 1).
    pub const EMPTY: Self = Self { drop_q30: 0, den: 0, log2_full_q20: 0 };
    /// Most `den` can be (so that `den * 2^30` fits 63 bits).
    pub const MAX_DEN: u64 = 1 << 33;

    /// The ramp to `1 - drop_q30 / 2^30` over `den` (capped at [`Self::MAX_DEN`]; a zero
    /// span never ramps: every `num` gives 1).
    pub fn new(drop_q30: u32, den: u64) -> Self {
        let den = den.min(Self::MAX_DEN);
        let drop_q30 = drop_q30.min(1 << 30);
        Self { drop_q30, den, log2_full_q20: if den == 0 { 0 } else { log2_q20(den << 30) } }
    }

    /// `1 - floor` in Q30 for a floor in [0, 1] (clamped).
    pub fn drop_q30(floor: f32) -> u32 {
        (1 << 30) - unit_q30(floor)
    }

    /// The span `den` the ramp runs over.
    #[inline]
    pub fn span(&self) -> u64 {
        self.den
    }

    /// The factor at `num` (capped at `den`): [`Factor::ZERO`] where the floor is 0 and
    /// reached.
    #[inline]
    pub fn at(&self, num: u64) -> Factor {
        if self.den == 0 {
            return Factor::ONE;
        }
        let full = self.den << 30;
        let num = num.min(self.den);
        // The signals the rules pass (days, Q30 rates) fit 32 bits: one 32x32->64 multiply.
        let dropped =
            if num >> 32 == 0 { super::mul_wide(self.drop_q30, num as u32) } else { self.drop_q30 as u64 * num };
        let rest = full - dropped;
        if rest == 0 {
            Factor::ZERO
        } else if rest == full {
            Factor::ONE
        } else {
            Factor(log2_q20(rest) - self.log2_full_q20)
        }
    }
}

/// `floor^t` with `t = (signal - threshold) / (1 - threshold)`, for a Q30 signal in [0, 1]:
/// linear in log space, from 1 at the threshold to the floor at 1.
///
/// Compiled as `log2(floor) / (1 - threshold)`, scaled by 2^32, so the factor is one
/// multiply of the Q30 excess: within 1e-6 of `t * log2(floor)` in log2, plus the error of
/// `log2(floor)` itself (5e-6).
///
/// ```
/// # use edgerank_core::num::{unit_q30, Factor, GeometricRamp};
/// // Threshold 0.3, floor 0.1: half way (signal 0.65) is 0.1^0.5.
/// let pod = GeometricRamp::new(Factor::from_f64(0.1), unit_q30(0.3));
/// let log2 = pod.at(unit_q30(0.65)).0 as f64 / (1 << 20) as f64;
/// assert!((log2 - 0.5 * 0.1f64.log2()).abs() < 1e-5);
/// assert_eq!(pod.at(unit_q30(0.3)), Factor::ONE);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeometricRamp {
    threshold_q30: u32,
    slope_q52: i64,
}

impl GeometricRamp {
    /// The ramp of a floor of 1 (always 1).
    pub const EMPTY: Self = Self { threshold_q30: 0, slope_q52: 0 };
    /// The ramp from 1 at `threshold_q30` (below 2^30) to `log2_floor` at 1.
    pub fn new(log2_floor: Factor, threshold_q30: u32) -> Self {
        let threshold_q30 = threshold_q30.min((1 << 30) - 1);
        let span = ((1u32 << 30) - threshold_q30) as i64;
        // |log2_floor| < 2^31, so the shifted value fits 63 bits.
        Self { threshold_q30, slope_q52: ((log2_floor.0 as i64) << 32) / span }
    }

    /// The threshold, Q30.
    pub fn threshold(&self) -> u32 {
        self.threshold_q30
    }

    /// The factor for a Q30 signal (capped at 1); 1 at or below the threshold.
    #[inline]
    pub fn at(&self, signal_q30: u32) -> Factor {
        let signal = signal_q30.min(1 << 30);
        if signal <= self.threshold_q30 {
            return Factor::ONE;
        }
        // (signal - threshold) * slope is at most |log2_floor| * 2^32 in magnitude.
        Factor((((signal - self.threshold_q30) as i64 * self.slope_q52) >> 32) as i32)
    }
}
