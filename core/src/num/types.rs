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
                let rounded = if scaled >= 0.0 {
                    scaled + 0.5
                } else {
                    scaled - 0.5
                };
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
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Prob(pub(crate) u16);
fixed_common!(Prob, u16, 15, 0, 32768);

impl Prob {
    /// Certainty.
    pub const ONE: Self = Self(32768);
    /// `1 - p`.
    #[inline]
    pub const fn complement(self) -> Self {
        Self(32768 - self.0)
    }
    /// As a model feature (Q3.12), exactly.
    #[inline]
    pub const fn to_feature(self) -> Feature {
        Feature((self.0 >> 3) as i16)
    }
}

/// A model input, `i16` with scale 2^-12 (Q3.12). Range [-8, 8).
///
/// Feature builders keep values within [-4, 4] so that a validated model cannot overflow its
/// 32-bit accumulator (see [`crate::model::Model::validate`]).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Feature(pub i16);
fixed_common!(Feature, i16, 12, i16::MIN, i16::MAX);

impl Feature {
    /// 1.0.
    pub const ONE: Self = Self(4096);
    /// Largest value a feature builder emits (4.0).
    pub const CLAMP: i32 = 4 * 4096;
    /// Clamps a Q12 value into the feature builders' range [-4, 4].
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

/// A model weight, `i16` with scale 2^-12 (Q3.12). Range [-8, 8).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Weight(pub i16);
fixed_common!(Weight, i16, 12, i16::MIN, i16::MAX);

/// A log-odds (or log-seconds) value, `i32` with scale 2^-12. Range about ±524288.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Logit(pub i32);
fixed_common!(Logit, i32, 12, i32::MIN, i32::MAX);

/// A ranking score, `i32` with scale 2^-12. Range about ±524288.
///
/// Base scores are a weighted sum of head outputs; after the negative-total rule every
/// candidate's score is non-negative, and multipliers keep it so.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Score(pub i32);
fixed_common!(Score, i32, 12, i32::MIN, i32::MAX);

impl Score {
    /// Applies a multiplier: `floor(score * factor)`, saturating. This is the one rounding rule
    /// used everywhere a factor meets a score, so explanations can replay it exactly.
    #[inline]
    pub const fn scaled(self, f: Factor) -> Self {
        let wide = (self.0 as i64 * f.0 as i64) >> Factor::FRAC_BITS;
        Self::saturate(wide)
    }

    /// Saturating addition.
    #[inline]
    pub const fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }
}

/// A multiplier, `u16` with scale 2^-14: raw 16384 = 1.0. Range [0, 4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Factor(pub u16);
fixed_common!(Factor, u16, 14, 0, u16::MAX);

impl Factor {
    /// The neutral multiplier.
    pub const ONE: Self = Self(16384);

    /// Product of two factors, `floor(a * b)`, saturating.
    #[inline]
    pub const fn then(self, other: Self) -> Self {
        let wide = (self.0 as u32 * other.0 as u32) >> Self::FRAC_BITS;
        if wide > u16::MAX as u32 {
            Self(u16::MAX)
        } else {
            Self(wide as u16)
        }
    }
}

/// A watch time, `u16` with scale 2^-5 seconds (1/32 s). Range [0, 2047.97] s.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct WatchTime(pub u16);
fixed_common!(WatchTime, u16, 5, 0, u16::MAX);

/// A watch ratio (played / duration; above 1 with rewatches), `u16` with scale 2^-12.
/// Range [0, 16).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
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
        assert_eq!(Feature::from_f64(-1.5).raw(), -6144);
        assert_eq!(Feature::from_f64(100.0), Feature::MAX);
        assert_eq!(Factor::from_f64(0.75).raw(), 12288);
        assert_eq!(WatchTime::from_f64(1.0).raw(), 32);
        assert!((Score::from_f64(3.25).to_f64() - 3.25).abs() < 1e-9);
        assert_eq!(Prob::from_raw(40000), Prob::ONE);
    }

    #[test]
    fn score_scaling_floors_and_saturates() {
        let s = Score::from_f64(10.0);
        assert_eq!(s.scaled(Factor::ONE), s);
        assert_eq!(s.scaled(Factor::from_f64(0.5)).to_f64(), 5.0);
        assert_eq!(Score(i32::MAX).scaled(Factor(u16::MAX)), Score::MAX);
        assert_eq!(Score(3).scaled(Factor(8192)), Score(1));
        assert_eq!(
            Factor::from_f64(0.5).then(Factor::from_f64(0.5)),
            Factor::from_f64(0.25)
        );
        assert_eq!(Factor(u16::MAX).then(Factor(u16::MAX)), Factor(u16::MAX));
    }

    #[test]
    fn prob_helpers() {
        assert_eq!(Prob::from_f64(0.25).complement(), Prob::from_f64(0.75));
        assert_eq!(Prob::ONE.to_feature(), Feature::ONE);
        assert_eq!(Feature::clamped(1 << 20).raw(), 4 * 4096);
        assert_eq!(Feature::clamped(-(1 << 20)).raw(), -4 * 4096);
    }
}
