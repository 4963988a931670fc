//! Table-driven approximations of the logistic function, `exp` and `log2`, in fixed point.
//!
//! Head outputs need *relative* precision: a report probability of 2e-4 weighted by -234
//! matters as much as a like probability of 0.05 weighted by 0.5. So [`sigmoid`] and
//! [`exp`] return a [`HeadValue`], a 16-bit mantissa with a binary exponent.
//!
//! Error bounds (checked against f64 in the tests below, over the whole input range):
//! - [`sigmoid`]: relative error <= 1e-4 for outputs below 1/2, absolute error <= 4e-5 above.
//! - [`exp`]: relative error <= 1e-4 (5e-5 for |x| < 20).
//! - [`log2_q20`]: absolute error <= 5e-6, monotone.
//! - [`log2_q12`]: absolute error <= 2e-4 (plus the 2^-12 output step).

use super::{HeadValue, Logit};

mod tables {
    include!(concat!(env!("OUT_DIR"), "/tables.rs"));
}
use tables::{EXP2_FINE_Q15, INV_1P_EXP_Q16, LOG2_1P_Q12, LOG2_FINE_Q20};

/// `2^y` for a Q16 exponent, as `(mantissa, n)` with `2^y = mantissa * 2^(n - 15)` and the
/// mantissa in [2^15, 2^16).
#[inline]
fn exp2_parts(y_q16: i64) -> (u32, i64) {
    let n = y_q16 >> 16; // floor
    let f = (y_q16 & 0xffff) as u32;
    let idx = (f >> 8) as usize;
    let lo = EXP2_FINE_Q15[idx];
    let hi = EXP2_FINE_Q15[idx + 1];
    (lo + (((hi - lo) * (f & 255)) >> 8), n)
}

/// `x * log2(e)` in Q16, for a Q24 `x`.
#[inline]
fn to_log2_q16(x: Logit) -> i64 {
    const LOG2_E_Q20: i64 = 1_512_775; // round(log2(e) * 2^20)
    (x.0 as i64 * LOG2_E_Q20) >> 28
}

/// `e^x` of a logit: the "odds" form of the weighted-logistic watch-time model.
#[inline]
pub fn exp(x: Logit) -> HeadValue {
    let (mant, n) = exp2_parts(to_log2_q16(x));
    HeadValue::normalised(mant, n + 1)
}

/// `1 / (1 + e^-x)` of a logit.
#[inline]
pub fn sigmoid(x: Logit) -> HeadValue {
    let neg = Logit(if x.0 > 0 { x.0.saturating_neg() } else { x.0 });
    // sigma(neg) = e^neg * g(neg), g(z) = 1 / (1 + e^z), tabulated on [-16, 0] at 1/32.
    let a = neg.0.unsigned_abs(); // Q24; table step 1/32 = 2^19 raw
    let idx = (a >> 19) as usize;
    let g = if idx >= INV_1P_EXP_Q16.len() - 1 {
        65535
    } else {
        let lo = INV_1P_EXP_Q16[idx] as u32;
        let hi = INV_1P_EXP_Q16[idx + 1] as u32;
        // |hi - lo| < 2^9, so a 16-bit fraction keeps the product in u32.
        lo + (((hi - lo) * ((a >> 3) & 0xffff)) >> 16)
    };
    let (mant, n) = exp2_parts(to_log2_q16(neg));
    // mant (Q15, in [1, 2)) * g (Q16): value = prod * 2^(n - 31).
    let prod = mant * g;
    let small = HeadValue::normalised(prod >> 15, n);
    if x.0 <= 0 {
        return small;
    }
    // 1 - sigma(-x), in Q16 with exponent 0.
    let q = small.to_q16();
    HeadValue { mant: (65536 - q).min(65535) as u16, exp: 0 }
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
        let z = hi.leading_zeros();
        // z < 32; lo's bits below the 32 kept ones are dropped (as a 64-bit shift drops them).
        (63 - z, if z == 0 { hi } else { (hi << z) | (lo >> (32 - z)) })
    } else {
        let z = lo.leading_zeros();
        (31 - z, lo << z)
    };
    // 24 mantissa bits below the leading one: 8 index the table, 16 interpolate.
    let frac = (top >> 7) & 0xff_ffff;
    let idx = (frac >> 16) as usize;
    let lo = LOG2_FINE_Q20[idx];
    let hi = LOG2_FINE_Q20[idx + 1];
    let m = lo + (((hi - lo) as u64 * (frac & 0xffff) as u64) >> 16) as u32;
    ((n as i32) << 20) + m as i32
}

/// `log2(x)` in Q12 for an integer `x >= 1`; `log2_q12(0) == 0` by definition.
#[inline]
pub fn log2_q12(x: u32) -> i32 {
    if x == 0 {
        return 0;
    }
    let n = 31 - x.leading_zeros();
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
                assert!((exact - got).abs() <= 4e-5, "sigmoid({raw}) = {exact}, got {got}");
            }
        }
        for raw in [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX] {
            let exact = exact_sigmoid(raw);
            let got = sigmoid(Logit(raw)).to_f64();
            assert!((exact - got).abs() <= exact * 1e-4 + 4e-5, "{raw}: {got}");
        }
    }

    #[test]
    fn sigmoid_is_monotone() {
        let mut prev = sigmoid(Logit(-200_000 * 4096)).to_f64();
        for raw in logits(-48.8, 24.4, 0.00073) {
            let p = sigmoid(Logit(raw)).to_f64();
            assert!(p >= prev, "not monotone at {raw}");
            prev = p;
        }
    }

    #[test]
    fn exp_error_is_within_bound() {
        for raw in logits(-48.8, 48.8, 0.0029) {
            let exact = (raw as f64 / 16_777_216.0).exp();
            let got = exp(Logit(raw)).to_f64();
            assert!((exact - got).abs() <= exact * 1e-4, "exp({raw}) = {exact}, got {got}");
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
    fn log2_q20_normalises_in_32_bits_exactly_as_in_64() {
        // The mantissa bits as a 64-bit shift takes them.
        let by_u64 = |x: u64| {
            let n = 63 - x.leading_zeros();
            let frac = if n >= 24 { (x >> (n - 24)) as u32 & 0xff_ffff } else { ((x << (24 - n)) as u32) & 0xff_ffff };
            let idx = (frac >> 16) as usize;
            let (lo, hi) = (LOG2_FINE_Q20[idx], LOG2_FINE_Q20[idx + 1]);
            ((n as i32) << 20) + (lo + (((hi - lo) as u64 * (frac & 0xffff) as u64) >> 16) as u32) as i32
        };
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for shift in 0..64 {
            for _ in 0..200 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
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
