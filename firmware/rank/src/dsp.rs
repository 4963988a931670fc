//! The model heads' multiply-accumulates, per core:
//! - Cortex-M4 (thumbv7em): `SMLAD`, two 16 x 16-bit products added to a 32-bit accumulator
//!   in one instruction, so a head's 16 products take 8 `SMLAD`s and the loads of 8 packed
//!   weight pairs (the compiler alone emits one `SMLABB` per product, each with its own loads).
//! - Cortex-M0+ (thumbv6m): the features widened to words once per candidate, then per pair
//!   of products one `LDM` of two features, one `LDM` of a packed weight pair, the two weights
//!   unpacked (`SXTH`, `ASRS`), two `MULS` and two `ADD`s: 4 instructions per product where
//!   the compiler makes 5 (Thumb-1's signed halfword load takes no immediate offset, so each
//!   of its loads needs its offset in a register, and the offsets do not fit in registers).
//!
//! [`Smlad`] returns exactly what `edgerank_core::model::PortableDot` returns: `SMLAD`, `MULS`
//! and `ADD` wrap modulo 2^32 like the portable `wrapping_add` (`SMLAD` only sets the Q flag,
//! which nothing reads), so pages are byte-identical to the host's. The benchmark firmware
//! checks it on the device ([`agrees_with_portable`]).

use edgerank_core::model::{Dot, PortableDot, FEATURES};
use edgerank_core::num::{Feature, Weight};

/// [`Dot`] with `SMLAD` where the core has it, and word loads on Thumb-1 cores.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smlad;

#[cfg(not(all(target_arch = "arm", not(target_feature = "thumb2"))))]
impl Dot for Smlad {
    type Prepared = [Feature; FEATURES];

    #[inline(always)]
    fn dot(bias: i32, x: &[Feature; FEATURES], w: &[Weight; FEATURES]) -> i32 {
        #[cfg(target_feature = "dsp")]
        return smlad_dot(bias, x, w);
        #[cfg(not(target_feature = "dsp"))]
        return PortableDot::dot(bias, x, w);
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

/// Thumb-1 cores (Cortex-M0/M0+, thumbv6m): one dot product per candidate (the light pass's)
/// stays portable; the full model's twelve read the features widened once.
#[cfg(all(target_arch = "arm", not(target_feature = "thumb2")))]
impl Dot for Smlad {
    type Prepared = thumb1::Widened;

    #[inline(always)]
    fn dot(bias: i32, x: &[Feature; FEATURES], w: &[Weight; FEATURES]) -> i32 {
        PortableDot::dot(bias, x, w)
    }

    #[inline(always)]
    fn prepare(x: &[Feature; FEATURES]) -> thumb1::Widened {
        thumb1::widen(x)
    }

    #[inline(always)]
    fn dot_prepared(bias: i32, x: &thumb1::Widened, w: &[Weight; FEATURES]) -> i32 {
        thumb1::dot(bias, x, w)
    }
}

#[cfg(all(target_arch = "arm", not(target_feature = "thumb2")))]
mod thumb1 {
    use core::mem::MaybeUninit;

    use edgerank_core::model::{Dot, PortableDot, FEATURES};
    use edgerank_core::num::{Feature, Weight};

    /// Features widened to words, for the dot product's word loads.
    #[derive(Clone, Copy, Debug)]
    pub struct Widened([i32; FEATURES]);

    /// The features as words: per pair of packed features one unpack each (`SXTH`, `ASRS`),
    /// four to a `LDM` and a `STM` (24 instructions where the compiler makes 48); the
    /// portable conversion if `x` is not word-aligned.
    #[inline(always)]
    pub fn widen(x: &[Feature; FEATURES]) -> Widened {
        if x.as_ptr() as usize % 4 != 0 {
            return Widened(core::array::from_fn(|i| x[i].0 as i32));
        }
        // Two packed words (four features, the first in the bottom half) in, four words out.
        macro_rules! four {
            () => {
                "ldm r0!, {{r3, r5}}\n\
                 sxth r2, r3\n\
                 asrs r3, r3, #16\n\
                 sxth r4, r5\n\
                 asrs r5, r5, #16\n\
                 stm r1!, {{r2, r3, r4, r5}}\n"
            };
        }
        let mut out = MaybeUninit::<[i32; FEATURES]>::uninit();
        // SAFETY: reads the 32 bytes of `x` (word-aligned: checked above) and writes all 64
        // bytes of `out`, which is then initialised; writes only the declared registers; no
        // stack.
        unsafe {
            core::arch::asm!(
                concat!(four!(), four!(), four!(), four!()),
                inout("r0") x.as_ptr() => _,
                inout("r1") out.as_mut_ptr() => _,
                out("r2") _,
                out("r3") _,
                out("r4") _,
                out("r5") _,
                options(nostack),
            );
            Widened(out.assume_init())
        }
    }

    /// `bias + x . w` with the features as words and the weights as packed pairs (see the
    /// module documentation); the portable code if the weights are not word-aligned (a
    /// model's rows are: `Model` is `repr(C)` with its rows at a word offset).
    #[inline(always)]
    pub fn dot(bias: i32, x: &Widened, w: &[Weight; FEATURES]) -> i32 {
        if w.as_ptr() as usize % 4 != 0 {
            let narrow = core::array::from_fn(|i| Feature(x.0[i] as i16));
            return PortableDot::dot(bias, &narrow, w);
        }
        // One pair of products: two features (words), one packed weight pair (the first
        // weight in the bottom half, little-endian), unpacked with sign.
        macro_rules! pair {
            () => {
                "ldm r0!, {{r2, r3}}\n\
                 ldm r1!, {{r4}}\n\
                 sxth r5, r4\n\
                 muls r5, r2, r5\n\
                 add {acc}, r5\n\
                 asrs r4, r4, #16\n\
                 muls r4, r3, r4\n\
                 add {acc}, r4\n"
            };
        }
        let mut acc = bias;
        // SAFETY: reads the 64 bytes of `x` and the 32 bytes of `w` (word-aligned: checked
        // above; `x` is an i32 array), writes only the declared registers; no stack.
        unsafe {
            core::arch::asm!(
                concat!(pair!(), pair!(), pair!(), pair!(), pair!(), pair!(), pair!(), pair!()),
                acc = inout(reg) acc,
                inout("r0") x.0.as_ptr() => _,
                inout("r1") w.as_ptr() => _,
                out("r2") _,
                out("r3") _,
                out("r4") _,
                out("r5") _,
                options(pure, readonly, nostack),
            );
        }
        acc
    }
}

/// Whether [`Smlad`] returns [`PortableDot`]'s value on the edge cases (every feature and
/// weight at -2^15, 2^15 - 1, 0, alternating signs) and on `cases` pseudo-random vectors from
/// `seed`, through both [`Dot::dot`] and [`Dot::dot_prepared`], with the vectors word-aligned
/// and not (the word-load code and its fallback); the benchmark firmware runs it on the
/// device.
pub fn agrees_with_portable(seed: u32, cases: u32) -> bool {
    /// Word-aligned storage for a row at offset 0 and one at offset 1 (not word-aligned), so
    /// both the word-load code and its fallback are checked.
    #[repr(C, align(4))]
    struct Rows<T>([T; FEATURES + 1]);
    let mut state = seed | 1;
    let mut next = move || {
        // xorshift32
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let agree = |bias: i32, x: &Rows<Feature>, w: &Rows<Weight>| {
        let mut ok = true;
        for offset in [0, 1] {
            let x: &[Feature; FEATURES] = x.0[offset..][..FEATURES].try_into().unwrap_or(&[Feature(0); FEATURES]);
            let w: &[Weight; FEATURES] = w.0[offset..][..FEATURES].try_into().unwrap_or(&[Weight(0); FEATURES]);
            let want = PortableDot::dot(bias, x, w);
            ok &= Smlad::dot(bias, x, w) == want && Smlad::dot_prepared(bias, &Smlad::prepare(x), w) == want;
        }
        ok
    };
    let mut ok = true;
    for (a, b) in [(i16::MIN, i16::MIN), (i16::MAX, i16::MAX), (i16::MIN, i16::MAX), (0, i16::MIN), (-1, 1)] {
        let x = Rows(core::array::from_fn(|i| Feature(if i % 2 == 0 { a } else { b })));
        let w = Rows(core::array::from_fn(|i| Weight(if i % 3 == 0 { b } else { a })));
        ok &= agree(i32::MIN, &x, &w) && agree(i32::MAX, &x, &w) && agree(0, &x, &w);
    }
    for _ in 0..cases {
        let x = Rows(core::array::from_fn(|_| Feature(next() as i16)));
        let w = Rows(core::array::from_fn(|_| Weight(next() as i16)));
        ok &= agree(next() as i32, &x, &w);
    }
    ok
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
