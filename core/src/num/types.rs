//! The fixed-point types. Each is a transparent newtype over an integer with one documented
//! scale; `from_f64`/`to_f64` are for configuration, training and tests, never the ranking path.

use serde::{Deserialize, Serialize};

macro_rules! fixed_common {
    ($name:ident, $raw:ty, $frac_bits:expr, $min:expr, $max:expr) => {
        impl $name {
            /// Number of fractional bits: the real value is `raw / 2^FRAC_BITS`.
            pub const FRAC_BITS: u32 = $frac_bits;
            /// The raw integer that stands for 1.0.
            pub const ONE_RAW: i64 = 1i64 << $frac_bits;
            /// Smallest representable raw value.
            pub const MIN: Self = Self($min);
            /// Largest representable raw value.
            pub const MAX: Self = Self($max);
            /// Zero.
            pub const ZERO: Self = Self(0);

            /// Wraps a raw value, clamping it into the documented range.
            #[allow(unused_comparisons)]
            #[inline]
            pub const fn from_raw(raw: $raw) -> Self {
                if raw < $min {
                    Self($min)
                } else if raw > $max {
                    Self($max)
                } else {
                    Self(raw)
                }
            }

            /// The raw integer.
            #[inline]
            pub const fn raw(self) -> $raw {
                self.0
            }

            /// Clamps a wide integer into range.
            #[allow(unused_comparisons)]
            #[inline]
            pub const fn saturate(raw: i64) -> Self {
                if raw < $min as i64 {
                    Self($min)
                } else if raw > $max as i64 {
                    Self($max)
                } else {
                    Self(raw as $raw)
                }
            }

            /// Converts from a real number (rounded to nearest, saturating; NaN gives zero).
            pub const fn from_f64(x: f64) -> Self {
                if x != x {
                    return Self::ZERO;
                }
                let scaled = x * (Self::ONE_RAW as f64);
                // Round half away from zero without std.
                let rounded = if scaled >= 0.0 { scaled + 0.5 } else { scaled - 0.5 };
                if rounded <= $min as f64 {
                    Self($min)
                } else if rounded >= $max as f64 {
                    Self($max)
                } else {
                    Self(rounded as i64 as $raw)
                }
            }

            /// Converts from `f32` (same rules as [`Self::from_f64`]).
            pub const fn from_f32(x: f32) -> Self {
                Self::from_f64(x as f64)
            }

            /// The real value.
            #[inline]
            pub fn to_f64(self) -> f64 {
                self.0 as f64 / Self::ONE_RAW as f64
            }
        }
    };
}

/// A probability, `u16` with scale 2^-15: raw 0 = 0.0, raw 32768 = 1.0. Range [0, 1].
/// Decoding clamps raw values above 32768, so a `Prob` off the wire is always in range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(from = "u16")]
#[repr(transparent)]
pub struct Prob(pub(crate) u16);

impl From<u16> for Prob {
    fn from(raw: u16) -> Self {
        Self::from_raw(raw)
    }
}
fixed_common!(Prob, u16, 15, 0, 32768);

impl Prob {
    /// Certainty.
    pub const ONE: Self = Self(32768);
    /// `1 - p`.
    #[inline]
    pub const fn complement(self) -> Self {
        Self(32768 - self.0)
    }
    /// As a model feature (Q2.13), rounded to nearest.
    #[inline]
    pub const fn to_feature(self) -> Feature {
        // Clamping keeps even an unchecked raw value from overflowing.
        let raw = if self.0 > 32768 { 32768 } else { self.0 };
        Feature(((raw + 2) >> 2) as i16)
    }
}

/// A model input, `i16` with scale 2^-13 (Q2.13). Range [-4, 4).
///
/// Feature builders clamp to ±[`Feature::CLAMP`]; model validation allows for any `i16`,
/// `i16::MIN` included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Feature(pub i16);
fixed_common!(Feature, i16, 13, i16::MIN, i16::MAX);

impl Feature {
    /// 1.0.
    pub const ONE: Self = Self(8192);
    /// Largest magnitude a feature builder emits (just under 4.0).
    pub const CLAMP: i32 = i16::MAX as i32;
    /// Clamps a Q13 value into the feature builders' range.
    #[inline]
    pub const fn clamped(raw: i32) -> Self {
        let v = if raw > Self::CLAMP {
            Self::CLAMP
        } else if raw < -Self::CLAMP {
            -Self::CLAMP
        } else {
            raw
        };
        Self(v as i16)
    }
}

/// A model weight, `i16` with scale 2^-11 (Q4.11). Range [-16, 16). A feature times a weight
/// is exact in Q24, the scale of [`Logit`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Weight(pub i16);
fixed_common!(Weight, i16, 11, i16::MIN, i16::MAX);

/// A log-odds (or log-seconds) value, `i32` with scale 2^-24 (the exact scale of a feature
/// times a weight). Range [-128, 128).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Logit(pub i32);
fixed_common!(Logit, i32, 24, i32::MIN, i32::MAX);

/// A linear score quantity (head contribution, weighted sum), `i64` with scale 2^-32.
/// Range ±2^14 (saturating).
///
/// 32 fractional bits keep X's 0.001 offset for negative totals and rare-event weights
/// (report: -234 times a probability of 1e-4) resolvable. Ranking itself happens on
/// [`LogScore`], the logarithm of the final value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Score(pub i64);
fixed_common!(Score, i64, 32, -(1i64 << 46), 1i64 << 46);

impl Score {
    /// Saturating addition.
    #[inline]
    pub const fn saturating_add(self, other: Self) -> Self {
        Self::saturate(self.0.saturating_add(other.0))
    }
}

/// The ranking value as `log2(value)`, `i32` with scale 2^-20. Order is the order of values;
/// multiplying the value by a [`Factor`] adds the factor's logarithm. [`LogScore::ZERO_VALUE`]
/// stands for a value of exactly 0 and stays there under any factor.
///
/// Precision is relative: 2^-20 in log2 is a relative step of 6.6e-7, at any magnitude.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct LogScore(pub i32);

/// Lowest log value of a score that is not "zero": 2^-1024.
const LOG_FLOOR: i32 = -(1 << 30);
/// Lowest log value of a product of factors (2^-1536), below any score floor, so that the
/// order in which factors combine does not matter.
const FACTOR_FLOOR: i32 = -(3 << 29);

/// Multiplies two values given as logarithms: adds them, saturating at `floor` and i32::MAX;
/// i32::MIN stands for the value 0 and absorbs anything.
#[inline]
const fn add_logs(a: i32, b: i32, floor: i32) -> i32 {
    if a == i32::MIN || b == i32::MIN {
        return i32::MIN;
    }
    // In 32 bits (a saturating add is one instruction on a Cortex-M4): a sum below i32::MIN
    // saturates there and then rises to the floor, which is above it.
    let v = a.saturating_add(b);
    if v < floor {
        floor
    } else {
        v
    }
}

impl LogScore {
    /// Fractional bits of the logarithm.
    pub const FRAC_BITS: u32 = 20;
    /// The value 0 (log of zero).
    pub const ZERO_VALUE: Self = Self(i32::MIN);
    /// The value 1.
    pub const ONE_VALUE: Self = Self(0);
    /// The lowest score above zero (2^-1024): scaling never takes a non-zero score below it.
    pub const FLOOR: Self = Self(LOG_FLOOR);

    /// Multiplies the value by a factor (adds logarithms; saturating; zero stays zero).
    #[inline]
    pub const fn scaled(self, f: Factor) -> Self {
        Self(add_logs(self.0, f.0, LOG_FLOOR))
    }

    /// From a Q32 linear value (0 gives [`LogScore::ZERO_VALUE`]).
    #[inline]
    pub fn from_q32(v: u64) -> Self {
        if v == 0 {
            Self::ZERO_VALUE
        } else {
            Self(super::approx::log2_q20(v) - (32 << 20))
        }
    }

    /// From a real value (for configuration and tests).
    pub fn from_value(x: f64) -> Self {
        if x > 0.0 {
            Self((log2_f64(x) * (1u64 << 20) as f64) as i32)
        } else {
            Self::ZERO_VALUE
        }
    }

    /// The real value.
    pub fn value(self) -> f64 {
        if self.0 == i32::MIN {
            0.0
        } else {
            exp2_f64(self.0 as f64 / (1u64 << 20) as f64)
        }
    }

    /// The logarithm as a real number.
    pub fn log2(self) -> f64 {
        self.0 as f64 / (1u64 << 20) as f64
    }
}

/// A multiplier, stored as `log2(multiplier)`, `i32` with scale 2^-20. [`Factor::ONE`] is 0;
/// demotions are negative. Combining factors adds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Factor(pub i32);

impl Factor {
    /// The neutral multiplier.
    pub const ONE: Self = Self(0);
    /// Multiplying by zero.
    pub const ZERO: Self = Self(i32::MIN);

    /// Product of two factors (sum of logarithms, saturating; zero stays zero).
    #[inline]
    pub const fn then(self, other: Self) -> Self {
        Self(add_logs(self.0, other.0, FACTOR_FLOOR))
    }

    /// From a linear multiplier in Q14 (0 gives [`Factor::ZERO`]).
    #[inline]
    pub fn from_q14(v: u32) -> Self {
        if v == 0 {
            Self::ZERO
        } else {
            Self(super::approx::log2_q20(v as u64) - (14 << 20))
        }
    }

    /// From a real multiplier (configuration and tests; not the ranking path).
    pub fn from_f64(x: f64) -> Self {
        if x > 0.0 {
            Self((log2_f64(x) * (1u64 << 20) as f64).round_ties_even_compat() as i32)
        } else {
            Self::ZERO
        }
    }

    /// From a real multiplier given as f32.
    pub fn from_f32(x: f32) -> Self {
        Self::from_f64(x as f64)
    }

    /// The real multiplier.
    pub fn to_f64(self) -> f64 {
        LogScore(self.0).value()
    }
}

trait RoundCompat {
    fn round_ties_even_compat(self) -> f64;
}
impl RoundCompat for f64 {
    fn round_ties_even_compat(self) -> f64 {
        // Round half away from zero, without std.
        if self >= 0.0 {
            (self + 0.5) as i64 as f64
        } else {
            (self - 0.5) as i64 as f64
        }
    }
}

/// log2 for configuration-time conversions, without std: the exponent bits plus the same
/// integer log2 the ranking path uses on the mantissa, so host and device agree bit for bit.
fn log2_f64(x: f64) -> f64 {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mant = (bits & ((1u64 << 52) - 1)) | (1u64 << 52); // the mantissa in [1, 2), Q52
    let frac = (super::approx::log2_q20(mant) - (52 << 20)) as f64 / (1u64 << 20) as f64;
    exp as f64 + frac
}

/// 2^x for display and tests, without std (libm's `exp2`, within an ulp; micromath's series
/// was 1e-3 off).
fn exp2_f64(x: f64) -> f64 {
    libm::exp2(x)
}

/// A head's output: a 16-bit mantissa with a binary exponent, `mant * 2^(exp - 16)`, so that
/// rare-event probabilities (1e-5) keep the same relative precision as common ones. Watch
/// times use the same form (seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeadValue {
    /// Mantissa.
    pub mant: u16,
    /// Binary exponent.
    pub exp: i8,
}

/// `2^e` as f64 for e in the normal range.
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e.clamp(-1022, 1023) + 1023) as u64) << 52)
}

impl HeadValue {
    /// Zero.
    pub const ZERO: Self = Self { mant: 0, exp: 0 };
    /// Exponents are kept within ±100; smaller values are zero, larger ones saturate.
    const EXP_LIMIT: i32 = 100;

    /// From a mantissa below 2^32 and an exponent, keeping the top 16 bits.
    #[inline]
    pub(crate) const fn normalised(mut mant: u32, mut exp: i32) -> Self {
        // Drop the bits above the top 16 in one shift (the same truncation as one at a time).
        if mant > 0xffff {
            let excess = 16 - super::approx::leading_zeros(mant);
            mant >>= excess;
            exp += excess as i32;
        }
        if mant == 0 || exp < -Self::EXP_LIMIT {
            Self::ZERO
        } else if exp > Self::EXP_LIMIT {
            Self { mant: 0xffff, exp: Self::EXP_LIMIT as i8 }
        } else {
            Self { mant: mant as u16, exp: exp as i8 }
        }
    }

    /// The value in Q16 (saturating), e.g. a probability's 65536ths.
    #[inline]
    pub const fn to_q16(self) -> u32 {
        self.to_fixed(16)
    }

    /// The value with `frac_bits` fractional bits (floor, saturating at `u32::MAX`).
    #[inline]
    pub const fn to_fixed(self, frac_bits: u32) -> u32 {
        let e = self.exp as i32 - 16 + frac_bits as i32;
        if e <= 0 {
            if e <= -32 {
                0
            } else {
                (self.mant as u32) >> (-e) as u32
            }
        } else if e >= 16 {
            u32::MAX
        } else {
            (self.mant as u32) << e as u32
        }
    }

    /// From a real value (rounded, saturating; NaN and negatives give zero).
    pub fn from_f64(x: f64) -> Self {
        // NaN and non-positive values are zero.
        if x.is_nan() || x <= 0.0 {
            return Self::ZERO;
        }
        let mut exp = 0i32;
        let mut m = x * 65536.0;
        while m >= 65535.5 && exp < Self::EXP_LIMIT {
            m /= 2.0;
            exp += 1;
        }
        while m < 32767.5 && exp > -Self::EXP_LIMIT {
            m *= 2.0;
            exp -= 1;
        }
        Self::normalised((m + 0.5) as u32, exp)
    }

    /// The real value.
    pub fn to_f64(self) -> f64 {
        self.mant as f64 * pow2(self.exp as i32 - 16)
    }
}

/// A watch time, `u16` with scale 2^-5 seconds (1/32 s). Range [0, 2047.97] s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct WatchTime(pub u16);
fixed_common!(WatchTime, u16, 5, 0, u16::MAX);

/// A watch ratio (played / duration; above 1 with rewatches), `u16` with scale 2^-12.
/// Range [0, 16).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct WatchRatio(pub u16);
fixed_common!(WatchRatio, u16, 12, 0, u16::MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_and_saturate() {
        assert_eq!(Prob::from_f64(0.5).raw(), 16384);
        assert_eq!(Prob::from_f64(2.0), Prob::ONE);
        assert_eq!(Prob::from_f64(-1.0), Prob::ZERO);
        assert_eq!(Prob::from_f64(f64::NAN), Prob::ZERO);
        assert_eq!(Feature::from_f64(-1.5).raw(), -12288);
        assert_eq!(Feature::from_f64(100.0), Feature::MAX);
        assert_eq!(WatchTime::from_f64(1.0).raw(), 32);
        assert!((Score::from_f64(3.25).to_f64() - 3.25).abs() < 1e-9);
        assert_eq!(Score::from_f64(0.001).raw(), 4_294_967);
        assert_eq!(Score::from_f64(1e9), Score::MAX);
        assert_eq!(Prob::from_raw(40000), Prob::ONE);
    }

    #[test]
    fn log_scores_multiply_by_adding_and_keep_zero() {
        let s = LogScore::from_value(10.0);
        assert!((s.value() - 10.0).abs() < 1e-4);
        assert_eq!(s.scaled(Factor::ONE), s);
        assert!((s.scaled(Factor::from_f64(0.5)).value() - 5.0).abs() < 5e-5);
        assert_eq!(LogScore::ZERO_VALUE.scaled(Factor::from_f64(2.0)), LogScore::ZERO_VALUE);
        assert_eq!(s.scaled(Factor::ZERO), LogScore::ZERO_VALUE);
        assert!(LogScore::ZERO_VALUE < LogScore::from_value(1e-300));
        assert_eq!(LogScore::from_q32(1 << 32), LogScore::ONE_VALUE);
        assert_eq!(LogScore::from_q32(0), LogScore::ZERO_VALUE);
        let half = Factor::from_f64(0.5);
        assert_eq!(half.then(half), Factor::from_f64(0.25));
        assert_eq!(Factor::from_q14(16384), Factor::ONE);
        assert_eq!(Factor::from_q14(8192), half);
        assert!((Factor::from_f64(0.3).to_f64() - 0.3).abs() < 1e-6);
        // A long chain of demotions stays above zero and ordered.
        let tiny = (0..40).fold(LogScore::ONE_VALUE, |acc, _| acc.scaled(Factor::from_f64(1e-30)));
        assert!(tiny > LogScore::ZERO_VALUE && tiny < LogScore::from_value(1e-300));
    }

    #[test]
    fn head_values_keep_relative_precision() {
        for x in [1e-9, 2e-4, 0.03, 0.5, 0.999, 1.0, 7.5, 1234.5] {
            let v = HeadValue::from_f64(x);
            assert!((v.to_f64() - x).abs() <= x * 2e-5, "{x} -> {v:?} = {}", v.to_f64());
        }
        assert_eq!(HeadValue::from_f64(-1.0), HeadValue::ZERO);
        assert_eq!(HeadValue::from_f64(f64::NAN), HeadValue::ZERO);
        assert_eq!(HeadValue::from_f64(0.5).to_q16(), 32768);
        assert_eq!(HeadValue::normalised(0x1_0000, 0), HeadValue { mant: 0x8000, exp: 1 });
        assert_eq!(HeadValue::normalised(5, -200), HeadValue::ZERO);
        assert_eq!(HeadValue::normalised(5, 200).exp, 100);
    }

    #[test]
    fn prob_helpers() {
        assert_eq!(Prob::from_f64(0.25).complement(), Prob::from_f64(0.75));
        assert_eq!(Prob::ONE.to_feature(), Feature::ONE);
        assert_eq!(Feature::clamped(1 << 20).raw(), i16::MAX);
        assert_eq!(Feature::clamped(-(1 << 20)).raw(), -i16::MAX);
    }
}
