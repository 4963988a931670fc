//! Table-driven approximations of the logistic function, `exp` and `log2`, in fixed point.
//!
//! Error bounds (checked against f64 in the tests below, over the whole input range):
//! - [`sigmoid`]: absolute error <= 1e-4 (linear interpolation on a 1/16 grid over [0, 12],
//!   mirrored for negative inputs, saturating beyond ±12 where the true value is within 7e-6
//!   of 0 or 1).
//! - [`exp_to_watch_time`]: relative error <= 1e-4 plus the output's 1/32 s step.
//! - [`log2_q12`]: absolute error <= 2e-4 (plus the 2^-12 output step).

use super::{Factor, Logit, Prob, WatchTime};

mod tables {
    include!(concat!(env!("OUT_DIR"), "/tables.rs"));
}
use tables::{EXP2_Q14, LOG2_1P_Q12, SIGMOID_Q15};

/// The logistic function `1 / (1 + e^-x)` of a Q12 logit, as a probability.
#[inline]
pub fn sigmoid(x: Logit) -> Prob {
    let a = x.0.unsigned_abs();
    // Grid step 1/16 = 256 raw; the table covers [0, 12].
    let idx = (a >> 8) as usize;
    let pos = if idx >= SIGMOID_Q15.len() - 1 {
        SIGMOID_Q15[SIGMOID_Q15.len() - 1] as u32
    } else {
        let lo = SIGMOID_Q15[idx] as u32;
        let hi = SIGMOID_Q15[idx + 1] as u32;
        lo + (((hi - lo) * (a & 255)) >> 8)
    };
    if x.0 >= 0 {
        Prob(pos as u16)
    } else {
        Prob((32768 - pos) as u16)
    }
}

/// `e^x` of a Q12 value, read as seconds: the "odds" form of the weighted-logistic
/// watch-time model. Saturates at [`WatchTime::MAX`] (about 2048 s).
#[inline]
pub fn exp_to_watch_time(x: Logit) -> WatchTime {
    // y = x * log2(e), kept in Q16 so the fraction has 16 bits.
    const LOG2_E_Q16: i64 = 94548; // round(log2(e) * 2^16)
    let y = (x.0 as i64 * LOG2_E_Q16) >> 12;
    let n = y >> 16; // floor
    let f = (y & 0xffff) as u32;
    let idx = (f >> 10) as usize;
    let lo = EXP2_Q14[idx] as u32;
    let hi = EXP2_Q14[idx + 1] as u32;
    let mant = lo + (((hi - lo) * (f & 1023)) >> 10); // 2^frac, scale 2^-14, in [16384, 32768]
                                                      // seconds in Q5 = mant * 2^n >> 9.
    let shift = n - 9;
    if shift >= 0 {
        if shift >= 16 {
            return WatchTime::MAX;
        }
        let v = (mant as u64) << shift;
        if v > u16::MAX as u64 {
            WatchTime::MAX
        } else {
            WatchTime(v as u16)
        }
    } else if shift <= -32 {
        WatchTime::ZERO
    } else {
        WatchTime((mant >> (-shift) as u32) as u16)
    }
}

/// `2^-e` for a non-negative Q12 exponent, as a factor (relative error <= 1e-4, plus the
/// factor's 2^-14 step).
#[inline]
pub fn exp2_neg_factor(e_q12: u32) -> Factor {
    // 2^-e = 2^(c - e) * 2^-c with c = ceil(e), so the table argument g = c - e is in [0, 1).
    let c = (e_q12 as u64 + 4095) >> 12;
    if c > 15 {
        return Factor::ZERO;
    }
    let g = ((c << 12) - e_q12 as u64) as u32; // Q12 in [0, 4096)
    let idx = (g >> 6) as usize;
    let lo = EXP2_Q14[idx] as u32;
    let hi = EXP2_Q14[idx + 1] as u32;
    let mant = lo + (((hi - lo) * (g & 63)) >> 6);
    Factor((mant >> c) as u16)
}

/// `log2(x)` in Q12 for an integer `x >= 1`; `log2_q12(0) == 0` by definition.
#[inline]
pub fn log2_q12(x: u32) -> i32 {
    if x == 0 {
        return 0;
    }
    let n = 31 - x.leading_zeros();
    // Mantissa bits below the leading one, left-aligned to 16 bits.
    let frac = if n >= 16 {
        (x >> (n - 16)) & 0xffff
    } else {
        (x << (16 - n)) & 0xffff
    };
    let idx = (frac >> 10) as usize;
    let lo = LOG2_1P_Q12[idx] as u32;
    let hi = LOG2_1P_Q12[idx + 1] as u32;
    let m = lo + (((hi - lo) * (frac & 1023)) >> 10);
    (n as i32) * 4096 + m as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_error_is_within_bound_over_the_whole_input_range() {
        let mut worst = 0.0f64;
        let mut raw = -70_000i32;
        while raw <= 70_000 {
            let x = raw as f64 / 4096.0;
            let exact = 1.0 / (1.0 + (-x).exp());
            let got = sigmoid(Logit(raw)).to_f64();
            worst = worst.max((exact - got).abs());
            raw += 7;
        }
        for raw in [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX] {
            let x = raw as f64 / 4096.0;
            let exact = 1.0 / (1.0 + (-x).exp());
            worst = worst.max((exact - sigmoid(Logit(raw)).to_f64()).abs());
        }
        assert!(worst <= 1e-4, "sigmoid max error {worst}");
    }

    #[test]
    fn sigmoid_is_monotone() {
        let mut prev = sigmoid(Logit(-60_000));
        for raw in (-60_000..60_000).step_by(3) {
            let p = sigmoid(Logit(raw));
            assert!(p >= prev, "not monotone at {raw}");
            prev = p;
        }
    }

    #[test]
    fn exp_error_is_within_bound() {
        let mut raw = -40_000i32;
        while raw <= 32_000 {
            let x = raw as f64 / 4096.0;
            let exact = x.exp();
            let got = exp_to_watch_time(Logit(raw)).to_f64();
            if exact >= WatchTime::MAX.to_f64() {
                assert_eq!(got, WatchTime::MAX.to_f64(), "exp({x}) must saturate");
            } else {
                let tol = exact * 1e-4 + 1.0 / 32.0;
                assert!((exact - got).abs() <= tol, "exp({x}) = {exact}, got {got}");
            }
            raw += 11;
        }
        assert_eq!(exp_to_watch_time(Logit(i32::MAX)), WatchTime::MAX);
        assert_eq!(exp_to_watch_time(Logit(i32::MIN)), WatchTime::ZERO);
        assert_eq!(exp_to_watch_time(Logit::from_f64(10.0)), WatchTime::MAX);
    }

    #[test]
    fn exp2_neg_error_is_within_bound() {
        for e in (0..80_000u32).step_by(13) {
            let exact = (-(e as f64) / 4096.0).exp2();
            let got = exp2_neg_factor(e).to_f64();
            assert!(
                (exact - got).abs() <= exact * 1e-4 + 1.0 / 16384.0,
                "2^-{e}: {exact} vs {got}"
            );
        }
        assert_eq!(exp2_neg_factor(0), Factor::ONE);
        assert_eq!(exp2_neg_factor(u32::MAX), Factor::ZERO);
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
            assert!(
                (exact - got).abs() <= 2e-4 + 1.0 / 4096.0,
                "log2({x}) = {exact}, got {got}"
            );
            x = x + x / 7 + 1;
        }
        assert!(log2_q12(u32::MAX) > 31 * 4096);
    }
}
