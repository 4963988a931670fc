//! The inner product of a model head: sixteen 16-bit features times sixteen 16-bit weights,
//! accumulated in 32 bits.
//!
//! It is most of the ranking work (12 heads x 16 = 192 multiply-accumulates per candidate), and
//! the one place where an instruction set can do much better than portable code: a Cortex-M4's
//! `SMLAD` multiplies two pairs of packed 16-bit values and adds both products in one
//! instruction. The core stays free of `unsafe` and of target code, so the hot loop is a
//! [`Dot`] type parameter of [`RankSession`](crate::pipeline::RankSession): [`PortableDot`]
//! by default, and a firmware may bring its own (the firmware's `edgerank_device_rank::dsp`
//! uses `SMLAD`, and on a Cortex-M0+ word loads of pre-widened features). Every implementation
//! must return exactly [`PortableDot`]'s value: pages are then byte-identical on every target.

use super::FEATURES;
use crate::num::{Feature, Weight};

/// How the multiply-accumulates of a head are computed.
pub trait Dot {
    /// The features in the form this implementation multiplies fastest when one feature
    /// vector meets several weight rows (the full model's heads): built once per candidate by
    /// [`Dot::prepare`]. A core without 16-bit lanes may widen them to words, for example.
    type Prepared;

    /// `bias + sum(x[i] * w[i])`, in wrapping 32-bit arithmetic (a validated model never
    /// wraps: see [`Model::validate`](super::Model::validate)).
    fn dot(bias: i32, x: &[Feature; FEATURES], w: &[Weight; FEATURES]) -> i32;

    /// The features prepared for [`Dot::dot_prepared`].
    fn prepare(x: &[Feature; FEATURES]) -> Self::Prepared;

    /// [`Dot::dot`] of prepared features: the same value.
    fn dot_prepared(bias: i32, x: &Self::Prepared, w: &[Weight; FEATURES]) -> i32;
}

/// Plain Rust: what the compiler makes of sixteen multiply-adds (on a Cortex-M4, one `SMLABB`
/// and its two loads per product).
///
/// ```
/// use edgerank_core::model::{Dot, PortableDot};
/// use edgerank_core::num::{Feature, Weight};
/// let x = [Feature::ONE; 16];
/// let w = [Weight::from_f64(0.5); 16];
/// // 16 * (1.0 * 0.5) = 8.0 in the logit scale (Q13 x Q11 = Q24).
/// assert_eq!(PortableDot::dot(0, &x, &w), 8 << 24);
/// // Prepared features are the features themselves here.
/// assert_eq!(PortableDot::dot_prepared(0, &PortableDot::prepare(&x), &w), 8 << 24);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PortableDot;

impl Dot for PortableDot {
    type Prepared = [Feature; FEATURES];

    // On x86-64, out of line: the arrays then stay in memory and the compiler turns the loop
    // into two 8-lane multiply-adds (`pmaddwd`); inlined, the features live in registers and
    // it stays scalar (TikTok full rank at N = 4096: 17 % fewer instructions under
    // cachegrind; criterion's throughput change stayed within its noise). Other targets,
    // microcontrollers first, keep it inline.
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    #[cfg_attr(not(target_arch = "x86_64"), inline)]
    fn dot(bias: i32, x: &[Feature; FEATURES], w: &[Weight; FEATURES]) -> i32 {
        let mut acc = bias;
        for i in 0..FEATURES {
            acc = acc.wrapping_add((x[i].0 as i32).wrapping_mul(w[i].0 as i32));
        }
        acc
    }

    #[inline(always)]
    fn prepare(x: &[Feature; FEATURES]) -> [Feature; FEATURES] {
        *x
    }

    #[inline(always)]
    fn dot_prepared(bias: i32, x: &[Feature; FEATURES], w: &[Weight; FEATURES]) -> i32 {
        Self::dot(bias, x, w)
    }
}
