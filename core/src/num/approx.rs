//! Table-driven approximations of the logistic function, `exp` and `log2`, in fixed point.
//!
//! Head outputs need *relative* precision: a report probability of 2e-4 weighted by -234
//! matters as much as a like probability of 0.05 weighted by 0.5. So [`sigmoid`] and
//! [`exp`] return a [`HeadValue`], a 16-bit mantissa with a binary exponent.
//!
//! Error bounds (checked against f64 in the tests below, over the whole input range):
//! - [`sigmoid`]: relative error <= 1e-4 for outputs below 1/2, absolute error <= 5e-5 above;
//!   non-decreasing up to one unit of its mantissa (its terms round separately).
//! - [`log2_sigmoid_q16`]: absolute error <= 8e-5 (in log2); non-decreasing up to one unit of
//!   2^-16 (`x log2(e)` and the table's term round down separately).
//! - [`exp`]: relative error <= 1e-4 (6e-5 for |x| < 20).
//! - `exp2_parts` (the `2^y` of head contributions): relative error <= 4e-5.
//! - [`log2_q20`]: absolute error <= 5e-6, monotone.
//! - [`log2_q12`]: absolute error <= 2e-4 (plus the 2^-12 output step).

use super::{HeadValue, Logit};

mod tables {
    include!(concat!(env!("OUT_DIR"), "/tables.rs"));
}
use tables::{EXP2_FINE_Q15, LOG2_1P_EXP_NEG_Q16, LOG2_1P_Q12, LOG2_FINE_Q20, RECIPROCAL_Q31};

/// Leading zero bits of a byte (8 for 0).
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
const BYTE_LEADING_ZEROS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).leading_zeros() as u8;
        i += 1;
    }
    t
};

/// `x.leading_zeros()` from a 256-byte table: two comparisons and a lookup.
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
const fn leading_zeros_by_table(x: u32) -> u32 {
    let (mut n, mut x) = (0, x);
    if x >> 16 == 0 {
        n += 16;
        x <<= 16;
    }
    if x >> 24 == 0 {
        n += 8;
        x <<= 8;
    }
    n + BYTE_LEADING_ZEROS[(x >> 24) as usize] as u32
}

/// `x.leading_zeros()`. Thumb-1 cores (Cortex-M0/M0+) have no `CLZ` instruction and the
/// library routine takes some 30 instructions; there a table does it in about 10. Everywhere
/// else this is the instruction.
#[inline(always)]
pub(crate) const fn leading_zeros(x: u32) -> u32 {
    #[cfg(thumb1)]
    {
        leading_zeros_by_table(x)
    }
    #[cfg(not(thumb1))]
    {
        x.leading_zeros()
    }
}

/// `x.leading_zeros()` of a 64-bit value: on Thumb-1 cores from its 32-bit halves' (the
/// library routine for 64 bits is a call of some 30 instructions there).
#[inline(always)]
pub(crate) const fn leading_zeros_u64(x: u64) -> u32 {
    #[cfg(thumb1)]
    {
        let hi = (x >> 32) as u32;
        if hi != 0 {
            leading_zeros(hi)
        } else {
            32 + leading_zeros(x as u32)
        }
    }
    #[cfg(not(thumb1))]
    {
        x.leading_zeros()
    }
}

/// Bit `pos` (below 64) of `mask`: on Thumb-1 cores from one 32-bit half (a 64-bit variable
/// shift is a library call there).
#[inline(always)]
pub(crate) const fn bit_u64(mask: u64, pos: u32) -> bool {
    #[cfg(thumb1)]
    {
        let half = if pos < 32 { mask as u32 } else { (mask >> 32) as u32 };
        (half >> (pos % 32)) & 1 != 0
    }
    #[cfg(not(thumb1))]
    {
        (mask >> (pos % 64)) & 1 != 0
    }
}

/// `min((a * b) >> t, 2^31)` for `t < 32`: the 64-bit product's bits, shifted and capped. On
/// Thumb-1 cores (no 32x32->64 multiply, no inline 64-bit shifts) from four 16-bit products.
#[inline(always)]
pub(crate) fn mul_shr_capped(a: u32, b: u32, t: u32) -> u32 {
    #[cfg(thumb1)]
    {
        mul_shr_capped_by_parts(a, b, t)
    }
    #[cfg(not(thumb1))]
    {
        ((a as u64 * b as u64) >> t).min(1 << 31) as u32
    }
}

/// [`mul_shr_capped`] in 32-bit operations (see [`product_words`]).
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
const fn mul_shr_capped_by_parts(a: u32, b: u32, t: u32) -> u32 {
    let (hi, lo) = product_words(a, b);
    if t > 0 && hi >> t != 0 || t == 0 && hi != 0 {
        return 1 << 31;
    }
    let q = if t == 0 { lo } else { (lo >> t) | (hi << (32 - t)) };
    if q > 1 << 31 {
        1 << 31
    } else {
        q
    }
}

/// `a * b` as a 64-bit product. On Thumb-1 cores (no 32x32->64 multiply) from four 16-bit
/// products, inline: the library's 64x64 multiply takes some 40 instructions with its call.
#[inline(always)]
pub(crate) fn mul_wide(a: u32, b: u32) -> u64 {
    #[cfg(thumb1)]
    {
        mul_wide_by_parts(a, b)
    }
    #[cfg(not(thumb1))]
    {
        a as u64 * b as u64
    }
}

/// [`mul_wide`] in 32-bit operations (see [`product_words`]).
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
const fn mul_wide_by_parts(a: u32, b: u32) -> u64 {
    let (hi, lo) = product_words(a, b);
    ((hi as u64) << 32) | lo as u64
}

/// `(a * b) >> 40` for a product below 2^63 (the negative-total rule's scaling). On Thumb-1
/// cores from 32-bit parts, inline, where the library's 64x64 multiply takes some 40
/// instructions with its call.
#[inline(always)]
pub(crate) fn mul_shr40(a: u64, b: u64) -> u64 {
    #[cfg(thumb1)]
    {
        mul_shr40_by_parts(a, b)
    }
    #[cfg(not(thumb1))]
    {
        (a * b) >> 40
    }
}

/// [`mul_shr40`] in 32-bit operations. With `a = ah 2^32 + al` and `b = bh 2^32 + bl`, a
/// product below 2^63 has `ah bh = 0`, so it is `m 2^32 + al bl` with `m = ah bl + al bh`
/// below 2^31; then `floor(. / 2^40) = floor((m + hi(al bl)) / 2^8)`, the low word's share
/// being below 2^-8. Exactly the 64-bit result (tested).
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
const fn mul_shr40_by_parts(a: u64, b: u64) -> u64 {
    let (ah, al, bh, bl) = ((a >> 32) as u32, a as u32, (b >> 32) as u32, b as u32);
    let m = ah.wrapping_mul(bl).wrapping_add(al.wrapping_mul(bh));
    let (hi, _) = product_words(al, bl);
    (m.wrapping_add(hi) >> 8) as u64
}

/// `a * b = hi * 2^32 + lo` as `(hi, lo)`, from the 16-bit halves' four products.
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
const fn product_words(a: u32, b: u32) -> (u32, u32) {
    let (ah, al, bh, bl) = (a >> 16, a & 0xffff, b >> 16, b & 0xffff);
    let (mid, mid_carry) = (ah * bl).overflowing_add(al * bh); // the carry is worth 2^48
    let (lo, lo_carry) = (al * bl).overflowing_add(mid << 16);
    let hi = ah * bh + (mid >> 16) + ((mid_carry as u32) << 16) + lo_carry as u32;
    (hi, lo)
}

/// `x * 2^s` as a 64-bit value, for `s < 64` and results that fit (the bits shifted out of
/// the top are lost). On Thumb-1 cores from two 32-bit shifts: a 64-bit variable shift is a
/// library call there.
#[inline(always)]
pub(crate) fn shl_wide(x: i32, s: u32) -> i64 {
    #[cfg(thumb1)]
    {
        shl_wide_by_parts(x, s)
    }
    #[cfg(not(thumb1))]
    {
        (x as i64) << (s & 63)
    }
}

/// [`shl_wide`] in 32-bit operations: the high word takes `x`'s top `s` bits (sign-extended),
/// the low word the rest.
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
const fn shl_wide_by_parts(x: i32, s: u32) -> i64 {
    let s = s & 63;
    let (high, low) = if s == 0 {
        (x >> 31, x as u32)
    } else if s < 32 {
        (x >> (32 - s), (x as u32) << s)
    } else {
        (x.wrapping_shl(s - 32), 0)
    };
    ((high as i64) << 32) | low as i64
}

/// `(g * w) >> d` (rounded down) for `|g| <= 2^30`, `|w| <= 2^15` and `d < 64`: the light
/// pass's coefficient terms. On Thumb-1 cores from two 32-bit products (a 64-bit multiply and
/// a 64-bit variable shift are two library calls there, some 55 instructions).
#[inline(always)]
pub(crate) fn mul_shr_wide(g: i32, w: i32, d: u32) -> i64 {
    #[cfg(thumb1)]
    {
        mul_shr_wide_by_parts(g, w, d)
    }
    #[cfg(not(thumb1))]
    {
        (g as i64 * w as i64) >> d.min(63)
    }
}

/// [`mul_shr_wide`] in 32-bit operations. With `g = gh 2^15 + gl` (`0 <= gl < 2^15`), the
/// product is `A 2^15 + B` for `A = gh w` and `B = gl w`, both below 2^30 in magnitude:
/// - `d >= 15`: `floor((A 2^15 + B) / 2^d) = (A + floor(B / 2^15)) >> (d - 15)` (B's low
///   15 bits cannot carry into what is kept);
/// - `d < 15`: `A 2^(15 - d) + floor(B / 2^d)`, the first term as a 64-bit value from its
///   two 32-bit words.
///
/// Exactly the 64-bit result (tested).
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
const fn mul_shr_wide_by_parts(g: i32, w: i32, d: u32) -> i64 {
    let a = (g >> 15) * w;
    let b = (g & 0x7fff) * w;
    if d >= 15 {
        let s = d - 15;
        ((a + (b >> 15)) >> if s > 31 { 31 } else { s }) as i64
    } else {
        let s = 15 - d; // 1..=15
        let high = ((a >> (32 - s)) as i64) << 32;
        let low = ((a as u32) << s) as i64;
        (high | low) + (b >> d) as i64
    }
}

/// `floor(2^31 / d)` for `d` in `1..=2^16`. Thumb-1 cores (Cortex-M0/M0+) have no divide
/// instruction and the library's bit-by-bit division takes some 200 instructions for these
/// quotients; there a table, one Newton step and an exact remainder correction take about 50
/// and give the same value. Everywhere else this is the instruction.
#[inline(always)]
pub(crate) fn reciprocal_q31(d: u32) -> u32 {
    #[cfg(thumb1)]
    {
        reciprocal_q31_by_table(d)
    }
    #[cfg(not(thumb1))]
    {
        (1u32 << 31) / d
    }
}

/// [`reciprocal_q31`] in 32-bit multiplies. With `m = d * 2^k` in `[2^15, 2^16)`:
/// 1. `q1 = floor(2^31 / m)` (at most 2^16) from a 256-entry table (relative error <= 2^-9),
///    one Newton step (error below 2 units), then the exact remainder `r1 = 2^31 - q1 m`,
///    corrected until it is in `[0, m)`;
/// 2. `2^31 / d = 2^k (q1 + r1 / m)`, so the result is `q1 * 2^k + floor(r1 * 2^k / m)`, the
///    second part estimated as `(r1 q1) >> (31 - k)` (at most 2 below it) and corrected the
///    same way. Exact for every `d` (tested exhaustively).
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
fn reciprocal_q31_by_table(d: u32) -> u32 {
    reciprocal_q31_by_table_given_zeros(d, leading_zeros(d))
}

/// [`reciprocal_q31`] of a divisor whose leading zeros the caller has counted already
/// (`zeros == d.leading_zeros()`; Thumb-1 has no instruction for it).
#[inline(always)]
pub(crate) fn reciprocal_q31_given_zeros(d: u32, zeros: u32) -> u32 {
    #[cfg(thumb1)]
    {
        reciprocal_q31_by_table_given_zeros(d, zeros)
    }
    #[cfg(not(thumb1))]
    {
        let _ = zeros;
        (1u32 << 31) / d
    }
}

/// [`reciprocal_q31_by_table`] with `zeros == d.leading_zeros()` given.
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
fn reciprocal_q31_by_table_given_zeros(d: u32, zeros: u32) -> u32 {
    if d >= 1 << 16 {
        return if d == 1 << 16 { 1 << 15 } else { (1u32 << 31) / d };
    }
    let k = zeros.wrapping_sub(16) & 31; // 0..=15 for d in 1..2^16
    let m = d << k;
    let y0 = RECIPROCAL_Q31[((m >> 7) & 0xff) as usize] as u32;
    // m y0 = 2^31 - e with |e| < 2^23; y0 (1 + e 2^-31) is within 1/4 of 2^31 / m, and
    // (e >> 8) y0 stays below 2^31 in magnitude.
    let e = (1u32 << 31).wrapping_sub(m * y0) as i32;
    let mut q1 = (y0 as i32 + (((e >> 8) * y0 as i32) >> 23)) as u32;
    let mut r1 = (1u32 << 31).wrapping_sub(q1.wrapping_mul(m)) as i32;
    while r1 < 0 {
        q1 -= 1;
        r1 += m as i32;
    }
    while r1 >= m as i32 {
        q1 += 1;
        r1 -= m as i32;
    }
    // r1 < 2^16 and q1 <= 2^16: the product fits 32 bits.
    let r1 = r1 as u32;
    let mut q2 = (r1 * q1) >> (31 - k);
    let mut r2 = (r1 << k) - q2 * m;
    while r2 >= m {
        q2 += 1;
        r2 -= m;
    }
    (q1 << k) + q2
}

/// `n / d` (rounded down) for `d > 0`. On Thumb-1 cores, from [`reciprocal_q31`] of the
/// divisor (of its top 16 bits for larger divisors), a 64-bit product in 32-bit parts and an
/// exact remainder correction: some 90 instructions where the library's division takes 200
/// (the same value; tested). Everywhere else this is the instruction.
#[inline(always)]
pub(crate) fn div_u32(n: u32, d: u32) -> u32 {
    #[cfg(thumb1)]
    {
        div_u32_by_reciprocal(n, d)
    }
    #[cfg(not(thumb1))]
    {
        n / d
    }
}

/// [`div_u32`] through a reciprocal. An estimate `q <= n / d`, at most 1 below it for divisors
/// up to 2^16 (`floor(2^31 / d)` is below `2^31 / d` by less than 1, `n < 2^31`) and at most
/// 5 below for larger ones (the divisor's top 16 bits plus one, relative error <= 2^-15, on
/// quotients below 2^16), then the remainder `n - q d` (no overflow: `q d <= n`) brought
/// into `[0, d)`. A numerator of 2^31 or more over a small divisor takes the library's route.
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(never)] // one copy for every call site: it is long
fn div_u32_by_reciprocal(n: u32, d: u32) -> u32 {
    let zeros = leading_zeros(d);
    let s = 16u32.saturating_sub(zeros); // divisor bits beyond 16
    let mut q = if s == 0 {
        if n >> 31 != 0 {
            return n / d;
        }
        mul_shr_capped_by_parts(n, reciprocal_q31_by_table_given_zeros(d, zeros), 31)
    } else {
        // (d >> s) + 1 is in [2^15, 2^16]: 16 leading zeros, 15 for 2^16.
        let top = (d >> s) + 1;
        mul_shr_capped_by_parts(n >> s, reciprocal_q31_by_table_given_zeros(top, 16 - (top >> 16)), 31)
    };
    let mut r = n - q * d;
    while r >= d {
        q += 1;
        r -= d;
    }
    q
}

/// `2^y` for a Q16 exponent, as `(mantissa, n)` with `2^y = mantissa * 2^(n - 15)` and the
/// mantissa in [2^15, 2^16).
#[inline]
pub(crate) fn exp2_parts(y_q16: i32) -> (u32, i32) {
    let n = y_q16 >> 16; // floor
    let f = (y_q16 & 0xffff) as u32;
    let idx = (f >> 8) as usize;
    let lo = EXP2_FINE_Q15[idx];
    let hi = EXP2_FINE_Q15[idx + 1];
    (lo + (((hi - lo) * (f & 255)) >> 8), n)
}

const LOG2_E_Q20: i64 = 1_512_775; // round(log2(e) * 2^20)

/// `x * log2(e)` in Q16, for a Q24 `x` (the result is below 2^24 in magnitude).
#[inline]
fn to_log2_q16(x: Logit) -> i32 {
    #[cfg(thumb1)]
    {
        to_log2_q16_by_parts(x.0)
    }
    #[cfg(not(thumb1))]
    {
        ((x.0 as i64 * LOG2_E_Q20) >> 28) as i32
    }
}

/// [`to_log2_q16`] from 16-bit halves, in 32-bit arithmetic only (a Cortex-M0+ has no 32x32->64
/// multiply): `x = xh * 2^16 + xl` and `C = ch * 2^16 + cl`, so
/// `floor(x * C / 2^28) = 16 * xh * ch + floor((xh * cl + xl * ch + floor(xl * cl / 2^16)) / 2^12)`.
/// Exactly the 64-bit result (tested).
#[cfg_attr(not(thumb1), allow(dead_code))] // used on Thumb-1 only (and tested everywhere)
#[inline(always)]
const fn to_log2_q16_by_parts(x: i32) -> i32 {
    const CH: i32 = (LOG2_E_Q20 >> 16) as i32;
    const CL: i32 = (LOG2_E_Q20 & 0xffff) as i32;
    let (xh, xl) = (x >> 16, x & 0xffff);
    let mid = xh * CL + xl * CH + ((xl * CL) >> 16);
    16 * xh * CH + (mid >> 12)
}

/// `e^x` of a logit: the "odds" form of the weighted-logistic watch-time model.
#[inline]
pub fn exp(x: Logit) -> HeadValue {
    let (mant, n) = exp2_parts(to_log2_q16(x));
    HeadValue::normalised(mant, n + 1)
}

/// `1 / (1 + e^-x)` of a logit: `2^log2_sigmoid(x)` below 0, `1 - sigmoid(-x)` above.
#[inline]
pub fn sigmoid(x: Logit) -> HeadValue {
    let neg = Logit(if x.0 > 0 { x.0.saturating_neg() } else { x.0 });
    let (mant, n) = exp2_parts(log2_sigmoid_q16(neg));
    let small = HeadValue::normalised(mant, n + 1);
    if x.0 <= 0 {
        return small;
    }
    // 1 - sigma(-x), in Q16 with exponent 0.
    let q = small.to_q16();
    HeadValue { mant: (65536 - q).min(65535) as u16, exp: 0 }
}

/// `log2(1 / (1 + e^-x))` in Q16 (at most 0): the logarithm of a probability head's output,
/// which the scorer adds to the log of the head's weight (`HeadWeight::contribution`) instead
/// of multiplying the two. For `x <= 0` it is `x log2(e) - log2(1 + e^x)`, above 0
/// `-log2(1 + e^-x)`; `log2(1 + e^-|x|)` comes from a table on [0, 16] at steps of 1/32,
/// linear between entries (beyond 16 it is below 2^-22 and taken as 0). Absolute error
/// <= 8e-5 (tested against f64; 5.5e-5 relative on the probability); non-decreasing up to one
/// unit (the two terms round down separately; tested at every input over windows).
#[inline]
pub fn log2_sigmoid_q16(x: Logit) -> i32 {
    let a = x.0.unsigned_abs(); // Q24; table step 1/32 = 2^19 raw
    let idx = (a >> 19) as usize;
    let tail = if idx >= LOG2_1P_EXP_NEG_Q16.len() - 1 {
        0
    } else {
        let lo = LOG2_1P_EXP_NEG_Q16[idx] as u32;
        let hi = LOG2_1P_EXP_NEG_Q16[idx + 1] as u32;
        // The table falls by less than 2^11 per step, so a 16-bit fraction keeps the product
        // in u32.
        (lo - (((lo - hi) * ((a >> 3) & 0xffff)) >> 16)) as i32
    };
    if x.0 <= 0 {
        to_log2_q16(x) - tail
    } else {
        -tail
    }
}

/// `log2(e^x)` in Q16: the logarithm of the watch-time head's output (see
/// [`log2_sigmoid_q16`]).
#[inline]
pub fn log2_exp_q16(x: Logit) -> i32 {
    to_log2_q16(x)
}

/// `log2(x)` in Q20 for `x >= 1` (`log2_q20(0) == 0`). Monotone, absolute error <= 5e-6.
#[inline]
pub fn log2_q20(x: u64) -> i32 {
    if x == 0 {
        return 0;
    }
    // The leading one moved to bit 31 of a 32-bit word, in 32-bit operations only (a 64-bit
    // variable shift is a library call on a Cortex-M0+, several instructions on an M4).
    let (hi, lo) = ((x >> 32) as u32, x as u32);
    let (n, top) = if hi != 0 {
        let z = leading_zeros(hi);
        // z < 32; lo's bits below the 32 kept ones are dropped (as a 64-bit shift drops them).
        (63 - z, if z == 0 { hi } else { (hi << z) | (lo >> (32 - z)) })
    } else {
        let z = leading_zeros(lo);
        (31 - z, lo << z)
    };
    // 24 mantissa bits below the leading one: 8 index the table, 16 interpolate.
    let frac = (top >> 7) & 0xff_ffff;
    let idx = (frac >> 16) as usize;
    let lo = LOG2_FINE_Q20[idx];
    let hi = LOG2_FINE_Q20[idx + 1];
    // Table steps are below 2^13 (tested), so the product fits 32 bits.
    let m = lo + (((hi - lo) * (frac & 0xffff)) >> 16);
    ((n as i32) << 20) + m as i32
}

/// `log2(x)` in Q12 for an integer `x >= 1`; `log2_q12(0) == 0` by definition.
#[inline]
pub fn log2_q12(x: u32) -> i32 {
    if x == 0 {
        return 0;
    }
    let n = 31 - leading_zeros(x);
    // Mantissa bits below the leading one, left-aligned to 16 bits.
    let frac = if n >= 16 { (x >> (n - 16)) & 0xffff } else { (x << (16 - n)) & 0xffff };
    let idx = (frac >> 10) as usize;
    let lo = LOG2_1P_Q12[idx] as u32;
    let hi = LOG2_1P_Q12[idx + 1] as u32;
    let m = lo + (((hi - lo) * (frac & 1023)) >> 10);
    (n as i32) * 4096 + m as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::xorshift32;

    #[test]
    fn reciprocal_is_the_exact_quotient_for_every_divisor() {
        for d in 1..=1u32 << 16 {
            assert_eq!(reciprocal_q31_by_table(d), (1u32 << 31) / d, "d = {d}");
            assert_eq!(reciprocal_q31(d), (1u32 << 31) / d, "d = {d}");
        }
    }

    #[test]
    fn reciprocal_given_the_callers_zero_counts_is_the_exact_quotient() {
        // The count the callers pass: the divisor's own, and `16 - (d >> 16)` for divisors
        // they know to be in [2^15, 2^16] (`Rates::of`, `div_u32_by_reciprocal`).
        for d in 1..=1u32 << 16 {
            assert_eq!(reciprocal_q31_by_table_given_zeros(d, d.leading_zeros()), (1u32 << 31) / d, "d = {d}");
            assert_eq!(reciprocal_q31_given_zeros(d, d.leading_zeros()), (1u32 << 31) / d, "d = {d}");
        }
        for d in 1u32 << 15..=1 << 16 {
            assert_eq!(reciprocal_q31_by_table_given_zeros(d, 16 - (d >> 16)), (1u32 << 31) / d, "d = {d}");
        }
    }

    #[test]
    fn division_by_reciprocal_is_exact() {
        let mut next = xorshift32(0x9e37_79b9);
        let check = |n: u32, d: u32| {
            assert_eq!(div_u32_by_reciprocal(n, d), n / d, "{n} / {d}");
            assert_eq!(div_u32(n, d), n / d, "{n} / {d}");
        };
        let edges = [0, 1, 2, 3, 0xffff, 0x1_0000, 0x1_0001, 0x7fff_ffff, 0x8000_0000, u32::MAX - 1, u32::MAX];
        for &n in &edges {
            for &d in &edges[1..] {
                check(n, d);
            }
        }
        for _ in 0..2_000_000 {
            let n = next() >> (next() % 32);
            let d = (next() >> (next() % 32)).max(1);
            check(n, d);
            check(n, d.wrapping_add(1).max(1));
            check(n.wrapping_sub(1), d);
        }
        // Exact multiples and their neighbours, over every divisor size.
        for bits in 0..32 {
            let d = (next() >> bits).max(1);
            let q = u32::MAX / d;
            for n in [q * d, (q * d).wrapping_sub(1), (q / 2) * d, (q / 2) * d + d - 1] {
                check(n, d);
            }
        }
    }

    fn exact_sigmoid(raw: i32) -> f64 {
        1.0 / (1.0 + (-(raw as f64) / 16_777_216.0).exp())
    }

    /// Raw Q24 logits from -97.6 to 48.8 in uneven steps.
    fn logits(from: f64, to: f64, step: f64) -> impl Iterator<Item = i32> {
        let n = ((to - from) / step) as i64;
        (0..=n).map(move |i| ((from + i as f64 * step) * 16_777_216.0) as i32)
    }

    #[test]
    fn sigmoid_error_is_within_bound_over_the_whole_input_range() {
        for raw in logits(-97.6, 48.8, 0.0017) {
            let exact = exact_sigmoid(raw);
            let got = sigmoid(Logit(raw)).to_f64();
            if exact < 0.5 {
                // Below 2^-100 head values flush to zero.
                assert!((exact - got).abs() <= exact * 1e-4 + 1e-30, "sigmoid({raw}) = {exact}, got {got}");
            } else {
                assert!((exact - got).abs() <= 5e-5, "sigmoid({raw}) = {exact}, got {got}");
            }
        }
        // Every input of [0, 0.0625), where the absolute error peaks.
        for raw in (0..1 << 20).step_by(3) {
            let (exact, got) = (exact_sigmoid(raw), sigmoid(Logit(raw)).to_f64());
            assert!((exact - got).abs() <= 5e-5, "sigmoid({raw}) = {exact}, got {got}");
        }
        for raw in [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX] {
            let exact = exact_sigmoid(raw);
            let got = sigmoid(Logit(raw)).to_f64();
            assert!((exact - got).abs() <= exact * 1e-4 + 5e-5, "{raw}: {got}");
        }
    }

    #[test]
    fn log2_sigmoid_error_is_within_bound_and_monotone() {
        let mut prev = i32::MIN;
        for raw in logits(-97.6, 48.8, 0.00037) {
            let z = raw as f64 / 16_777_216.0;
            // log2(sigmoid(z)) = -log2(1 + e^-z), computed without cancellation.
            let exact = if z < 0.0 {
                z * core::f64::consts::LOG2_E - (1.0 + z.exp()).log2()
            } else {
                -(1.0 + (-z).exp()).log2()
            };
            let got = log2_sigmoid_q16(Logit(raw));
            assert!((got as f64 / 65536.0 - exact).abs() <= 8e-5, "log2 sigmoid({z}) = {exact}, got {got}");
            assert!(got >= prev.saturating_sub(1), "falls by more than one unit at {raw}");
            prev = got;
        }
        // Every input of a few windows (around 0, inside the table, at its end, beyond).
        for start in [-300_000i32, -203_950_000, -268_500_000, -400_000_000, 268_000_000] {
            let mut prev = log2_sigmoid_q16(Logit(start));
            for raw in start..start + 600_000 {
                let got = log2_sigmoid_q16(Logit(raw));
                assert!(got >= prev - 1 && got <= prev + 1, "step of more than one unit at {raw}");
                prev = prev.max(got);
            }
        }
        assert!(log2_sigmoid_q16(Logit(i32::MIN)) < -180 * 65536);
        assert_eq!(log2_sigmoid_q16(Logit(i32::MAX)), 0);
    }

    #[test]
    fn exp2_parts_error_is_within_bound_over_an_octave() {
        for y in 0..65_536 {
            let (mant, n) = exp2_parts(y);
            assert_eq!(n, 0);
            assert!((32_768..65_536).contains(&mant));
            let exact = 32_768.0 * (y as f64 / 65_536.0).exp2();
            assert!((mant as f64 - exact).abs() <= exact * 4e-5, "2^({y}/65536): {mant} vs {exact}");
        }
        // Other octaves only move the exponent.
        assert_eq!(exp2_parts(-65_536 + 1234), (exp2_parts(1234).0, -1));
        assert_eq!(exp2_parts(5 * 65_536 + 1234), (exp2_parts(1234).0, 5));
    }

    #[test]
    fn sigmoid_is_monotone() {
        // Non-decreasing up to one unit of the 16-bit mantissa (2^-15 relative at worst).
        let mut prev = sigmoid(Logit(-200_000 * 4096)).to_f64();
        for raw in logits(-48.8, 24.4, 0.00073) {
            let p = sigmoid(Logit(raw)).to_f64();
            assert!(p >= prev * (1.0 - 3.1e-5), "falls by more than a unit at {raw}");
            prev = prev.max(p);
        }
        for start in [-203_950_000i32, -16_777_216, -300_000, 100_000_000] {
            let mut prev = sigmoid(Logit(start)).to_f64();
            for raw in start..start + 300_000 {
                let p = sigmoid(Logit(raw)).to_f64();
                assert!(p >= prev * (1.0 - 3.1e-5), "falls by more than a unit at {raw}");
                prev = prev.max(p);
            }
        }
    }

    #[test]
    fn exp_error_is_within_bound() {
        for raw in logits(-48.8, 48.8, 0.0029) {
            let exact = (raw as f64 / 16_777_216.0).exp();
            let got = exp(Logit(raw)).to_f64();
            let bound = if (raw as f64).abs() < 20.0 * 16_777_216.0 { 6e-5 } else { 1e-4 };
            assert!((exact - got).abs() <= exact * bound, "exp({raw}) = {exact}, got {got}");
        }
        assert_eq!(exp(Logit(i32::MIN)).to_f64(), 0.0);
        assert!(exp(Logit(i32::MAX)).to_f64() > 1e29); // saturates at 2^100
    }

    #[test]
    fn log2_q20_error_is_within_bound_and_monotone() {
        let mut x = 1u64;
        let mut prev = -1;
        while x < u64::MAX / 3 {
            let exact = (x as f64).log2();
            let got = log2_q20(x);
            assert!((exact - got as f64 / 1048576.0).abs() <= 5e-6, "log2({x}) = {exact}, got {got}");
            assert!(got >= prev);
            prev = got;
            x = x + x / 1000 + 1;
        }
        for x in (1u64 << 40)..(1u64 << 40) + 5000 {
            assert!(log2_q20(x + 1) >= log2_q20(x));
        }
    }

    #[test]
    fn mul_shr_capped_by_parts_is_the_64_bit_product() {
        let mut next = xorshift32(0x9E37_79B9);
        for _ in 0..300_000 {
            let (a, b, r) = (next(), next(), next());
            let (a, b) = (a >> (r % 32), b >> ((r >> 5) % 32));
            let t = (r >> 10) % 32;
            let want = ((a as u64 * b as u64) >> t).min(1 << 31) as u32;
            assert_eq!(mul_shr_capped_by_parts(a, b, t), want, "{a} * {b} >> {t}");
            assert_eq!(mul_shr_capped(a, b, t), want);
        }
        for (a, b) in [(u32::MAX, u32::MAX), (0, u32::MAX), (1 << 16, 1 << 16), (0xffff, 0x1_0001)] {
            for t in 0..32 {
                assert_eq!(mul_shr_capped_by_parts(a, b, t), ((a as u64 * b as u64) >> t).min(1 << 31) as u32);
            }
        }
    }

    #[test]
    fn mul_wide_by_parts_is_the_64_bit_product() {
        let mut next = xorshift32(0x1B87_3593);
        for _ in 0..300_000 {
            let (a, b, r) = (next(), next(), next());
            let (a, b) = (a >> (r % 32), b >> ((r >> 5) % 32));
            assert_eq!(mul_wide_by_parts(a, b), a as u64 * b as u64, "{a} * {b}");
            assert_eq!(mul_wide(a, b), a as u64 * b as u64, "{a} * {b}");
        }
        let edges = [0, 1, 0xffff, 0x1_0000, 0x1_0001, 0x7fff_ffff, 0x8000_0000, u32::MAX - 1, u32::MAX];
        for &a in &edges {
            for &b in &edges {
                assert_eq!(mul_wide_by_parts(a, b), a as u64 * b as u64, "{a} * {b}");
            }
        }
    }

    #[test]
    fn bit_u64_reads_each_bit() {
        let mut next = xorshift32(0x3C6E_F372);
        for _ in 0..1_000 {
            let mask = (next() as u64) << 32 | next() as u64;
            for pos in 0..64 {
                assert_eq!(bit_u64(mask, pos), mask & (1 << pos) != 0, "{mask:#x} bit {pos}");
            }
        }
    }

    #[test]
    fn leading_zeros_u64_is_the_64_bit_count() {
        for n in 0..64 {
            for low in [0u64, 1, (1 << n) - 1] {
                let x = (1u64 << n) | (low & ((1u64 << n) - 1));
                assert_eq!(leading_zeros_u64(x), x.leading_zeros(), "{x:#x}");
            }
        }
        assert_eq!(leading_zeros_u64(0), 64);
        assert_eq!(leading_zeros_u64(u64::MAX), 0);
    }

    #[test]
    fn mul_shr40_by_parts_is_the_64_bit_result() {
        let mut next = xorshift32(0x2F6B_8A31);
        let wide = |next: &mut dyn FnMut() -> u32| ((next() as u64) << 32 | next() as u64) >> (next() % 64);
        let mut checked = 0;
        while checked < 300_000 {
            let (a, b) = (wide(&mut next), wide(&mut next));
            let Some(p) = a.checked_mul(b).filter(|p| *p < 1 << 63) else { continue };
            assert_eq!(mul_shr40_by_parts(a, b), p >> 40, "{a} * {b}");
            assert_eq!(mul_shr40(a, b), p >> 40, "{a} * {b}");
            checked += 1;
        }
        // The products at the bound, and with one operand's high word zero.
        for (a, b) in
            [(1u64 << 62, 1), (1, (1 << 63) - 1), ((1 << 31) - 1, (1 << 32) + 1), (u32::MAX as u64, u32::MAX as u64)]
        {
            assert_eq!(mul_shr40_by_parts(a, b), (a * b) >> 40, "{a} * {b}");
            assert_eq!(mul_shr40_by_parts(b, a), (a * b) >> 40, "{b} * {a}");
        }
    }

    #[test]
    fn shl_wide_by_parts_is_the_64_bit_shift() {
        let mut next = xorshift32(0x7F4A_7C15);
        for _ in 0..300_000 {
            let (a, r) = (next() as i32, next());
            let x = a >> (r % 32);
            let s = (r >> 5) % 64;
            let want = (x as i64).wrapping_shl(s);
            assert_eq!(shl_wide_by_parts(x, s), want, "{x} << {s}");
            assert_eq!(shl_wide(x, s), want, "{x} << {s}");
        }
        for x in [i32::MIN, -2, -1, 0, 1, 2, i32::MAX] {
            for s in 0..64 {
                assert_eq!(shl_wide_by_parts(x, s), (x as i64).wrapping_shl(s), "{x} << {s}");
            }
        }
    }

    #[test]
    fn mul_shr_wide_by_parts_is_the_64_bit_product() {
        let mut next = xorshift32(0x6C07_8965);
        let check = |g: i32, w: i32, d: u32| {
            let want = (g as i64 * w as i64) >> d;
            assert_eq!(mul_shr_wide_by_parts(g, w, d), want, "{g} * {w} >> {d}");
            assert_eq!(mul_shr_wide(g, w, d), want, "{g} * {w} >> {d}");
        };
        for _ in 0..300_000 {
            let (a, b, r) = (next(), next(), next());
            // |g| <= 2^30 and |w| <= 2^15, at every magnitude.
            let g = ((a as i32) >> 1 >> (r % 31)).clamp(-(1 << 30), 1 << 30);
            let w = ((b as i32) >> 16 >> ((r >> 5) % 16)).clamp(-(1 << 15), 1 << 15);
            check(g, w, (r >> 10) % 64);
        }
        let edges = [-(1 << 30), -(1 << 30) + 1, -32_769, -32_768, -1, 0, 1, 32_767, 32_768, (1 << 30) - 1, 1 << 30];
        for &g in &edges {
            for w in [-(1 << 15), -(1 << 15) + 1, -1, 0, 1, (1 << 15) - 1, 1 << 15] {
                for d in 0..64 {
                    check(g, w, d);
                }
            }
        }
    }

    #[test]
    fn to_log2_q16_by_parts_is_the_64_bit_product() {
        let mut next = xorshift32(0x2545_F491);
        for _ in 0..200_000 {
            let state = next();
            for x in [state as i32, (state as i32) >> (state % 31)] {
                assert_eq!(to_log2_q16_by_parts(x) as i64, (x as i64 * LOG2_E_Q20) >> 28, "{x}");
            }
        }
        for x in [0, 1, -1, 0xffff, 0x10000, -0x10000, i32::MAX, i32::MIN, i32::MIN + 1] {
            assert_eq!(to_log2_q16_by_parts(x) as i64, (x as i64 * LOG2_E_Q20) >> 28, "{x}");
        }
    }

    #[test]
    fn leading_zeros_by_table_is_exact() {
        let mut x = 1u32;
        for shift in 0..32 {
            for v in [x, x | (x - 1), x | 1, x.wrapping_mul(0x9E37_79B9) >> (31 - shift).min(31)] {
                assert_eq!(leading_zeros_by_table(v), v.leading_zeros(), "{v:#x}");
            }
            x <<= 1;
        }
        assert_eq!(leading_zeros_by_table(0), 32);
        assert_eq!(leading_zeros(0x0001_0000), 15);
    }

    #[test]
    fn log2_table_steps_fit_the_32_bit_interpolation() {
        assert!(LOG2_FINE_Q20.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] < 1 << 13));
    }

    #[test]
    fn log2_q20_normalises_in_32_bits_exactly_as_in_64() {
        // The mantissa bits as a 64-bit shift takes them.
        let by_u64 = |x: u64| {
            let n = 63 - x.leading_zeros();
            let frac = if n >= 24 { (x >> (n - 24)) as u32 & 0xff_ffff } else { ((x << (24 - n)) as u32) & 0xff_ffff };
            let idx = (frac >> 16) as usize;
            let (lo, hi) = (LOG2_FINE_Q20[idx], LOG2_FINE_Q20[idx + 1]);
            ((n as i32) << 20) + (lo + (((hi - lo) as u64 * (frac & 0xffff) as u64) >> 16) as u32) as i32
        };
        let mut next = xorshift32(0x7F4A_7C15);
        for shift in 0..64 {
            for _ in 0..200 {
                let state = (next() as u64) << 32 | next() as u64;
                let x = (state >> shift).max(1);
                assert_eq!(log2_q20(x), by_u64(x), "{x:#x}");
            }
            let x = 1u64 << shift;
            assert_eq!(log2_q20(x), by_u64(x));
            assert_eq!(log2_q20(x | (x - 1)), by_u64(x | (x - 1)));
        }
    }

    #[test]
    fn log2_error_is_within_bound() {
        assert_eq!(log2_q12(0), 0);
        assert_eq!(log2_q12(1), 0);
        assert_eq!(log2_q12(1024), 10 * 4096);
        let mut x = 1u32;
        while x < u32::MAX / 3 {
            let exact = (x as f64).log2();
            let got = log2_q12(x) as f64 / 4096.0;
            assert!((exact - got).abs() <= 2e-4 + 1.0 / 4096.0, "log2({x}) = {exact}, got {got}");
            x = x + x / 7 + 1;
        }
        assert!(log2_q12(u32::MAX) > 31 * 4096);
    }
}
