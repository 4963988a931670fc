//! The model heads' multiply-accumulates with the Cortex-M4's `SMLAD`: two 16 x 16-bit
//! products added to a 32-bit accumulator in one instruction, so a head's 16 products take 8
//! `SMLAD`s and the loads of 8 packed weight pairs (the compiler alone emits one `SMLABB` per
//! product, each with its own loads).
//!
//! [`Smlad`] returns exactly what `edgerank_core::model::PortableDot` returns: `SMLAD` wraps
//! modulo 2^32 like the portable `wrapping_add` (it only sets the Q flag, which nothing
//! reads), so pages are byte-identical to the host's. On cores without the DSP extension
//! (Cortex-M0+, thumbv6m) it is the portable code.

use edgerank_core::model::{Dot, FEATURES};
use edgerank_core::num::{Feature, Weight};

/// [`Dot`] with `SMLAD` where the core has it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smlad;

impl Dot for Smlad {
    #[inline(always)]
    fn dot(bias: i32, x: &[Feature; FEATURES], w: &[Weight; FEATURES]) -> i32 {
        #[cfg(target_feature = "dsp")]
        return smlad_dot(bias, x, w);
        #[cfg(not(target_feature = "dsp"))]
        return edgerank_core::model::PortableDot::dot(bias, x, w);
    }
}

/// The 16 products as 8 `SMLAD`s on packed pairs.
#[cfg(target_feature = "dsp")]
#[inline(always)]
fn smlad_dot(bias: i32, x: &[Feature; FEATURES], w: &[Weight; FEATURES]) -> i32 {
    // Two signed 16-bit values in one word, the first in the bottom half (the operand layout
    // `SMLAD` reads).
    let pack = |lo: i16, hi: i16| (lo as u16 as u32) | ((hi as u16 as u32) << 16);
    let mut acc = bias;
    let mut i = 0;
    while i < FEATURES {
        acc = smlad(pack(x[i].0, x[i + 1].0), pack(w[i].0, w[i + 1].0), acc);
        i += 2;
    }
    acc
}

/// `acc + lo(a) * lo(b) + hi(a) * hi(b)`, wrapping.
#[cfg(target_feature = "dsp")]
#[inline(always)]
fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let out: i32;
    // SAFETY: SMLAD reads three registers and writes one; it touches no memory and no stack.
    // It may set the Q flag (on overflow, which validated models never reach), so flags are
    // not declared preserved.
    unsafe {
        core::arch::asm!(
            "smlad {out}, {a}, {b}, {acc}",
            out = lateout(reg) out,
            a = in(reg) a,
            b = in(reg) b,
            acc = in(reg) acc,
            options(pure, nomem, nostack),
        );
    }
    out
}
