//! Named fixed-point formats and the few non-linear functions the ranking path needs.
//!
//! Every number that crosses a stage boundary has a type here, with its scale and range
//! written on the type. Conversions to and from `f32`/`f64` live only in this module, and all
//! arithmetic saturates: a bad input can make a number large, never make it wrap or panic.

mod approx;
mod ramp;
mod types;

pub(crate) use approx::exp2_parts;
pub(crate) use approx::{
    bit_u64, div_u32, leading_zeros, leading_zeros_u64, mul_shr40, mul_shr_capped, mul_shr_wide, mul_wide,
    reciprocal_q31, reciprocal_q31_given_zeros, shl_wide,
};
pub use approx::{exp, log2_exp_q16, log2_q12, log2_q20, log2_sigmoid_q16, sigmoid};
pub use ramp::{unit_q30, GeometricRamp, LinearRamp};
pub use types::{Factor, Feature, HeadValue, LogScore, Logit, Prob, Score, WatchRatio, WatchTime, Weight};
