//! Hydration: turns a candidate, the user's state and the request time into the model's
//! [`FEATURES`] inputs. Every feature is clamped to [-4, 4] (the bound model validation
//! relies on), and every formula is written down here once; the f64 reference mirrors it.

use crate::input::Candidate;
use crate::model::FEATURES;
use crate::num::{log2_q20, Feature};
use crate::state::UserState;

/// Names of the features, in order (for reports and the trainer).
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "topic_interest",   // user's interest in the topic, [-1, 1]
    "author_affinity",  // user's affinity to the author, [-1, 1]
    "in_network",       // 1 if from a followed account
    "like_rate",        // 16 * likes / (impressions + 32)
    "comment_rate",     // 64 * comments / (impressions + 32)
    "share_rate",       // 64 * shares / (impressions + 32)
    "negative_rate",    // 256 * negative / (impressions + 32)
    "mean_watch_ratio", // as is
    "completion_rate",  // as is
    "skip_rate",        // as is
    "rewatch_rate",     // as is
    "log_duration",     // log2(1 + floor(duration_ms / 1024)) / 8
    "early_velocity",   // log2(1 + engagements in the first 2 h) / 16
    "session_interest", // user's session-level interest in the topic, [-1, 1], faded to now
    "age_log",          // log2(1 + floor(age_s / 64)) / 16
    "is_video",         // 1 for video and live kinds
];

// The author's engagement rate was input 13 until the session interest replaced it: trained on
// the simulator's logs its weight was below 0.1 in every head (the item's own rates carry the
// same information), while the session interest is what lets within-session feedback change
// the next page. The integrity rules still read the author's rate.

/// Smoothing: counts are divided by impressions plus this many, so a handful of early views
/// cannot produce an extreme rate.
pub const RATE_PRIOR_IMPRESSIONS: u32 = 32;

/// Feature vector of one candidate. `age_s` is the candidate's age at the request time (see
/// `filter::admit`); the request time itself is recovered as `created_at + age_s` (exact for
/// items posted before the request, at most the filter's 5-minute future tolerance late for
/// the others), which is all the session interest's fading needs.
#[inline]
pub fn build(c: &Candidate, user: &UserState, age_s: u32) -> [Feature; FEATURES] {
    let g = &c.global;
    let rates = Rates::of(g.impressions, !crate::util::BRANCHLESS);
    let rate_q31 = |count: u32| rates.q31(count);
    // Rounding right shift.
    let shr = |x: u32, k: u32| (x + (1 << (k - 1))) >> k;
    let q13 = |raw: u32| Feature::clamped(raw.min(Feature::CLAMP as u32) as i32);
    // log2 in Q20 divided by 2^k, as Q13.
    let log_feature = |x: u64, k: u32| q13(shr(log2_q20(x) as u32, 7 + k));
    [
        user.topic_interest(c.topic),
        user.author_affinity(c.author_id),
        if c.flags.in_network() { Feature::ONE } else { Feature(0) },
        q13(shr(rate_q31(g.likes), 14)),
        q13(shr(rate_q31(g.comments), 12)),
        q13(shr(rate_q31(g.shares), 12)),
        q13(shr(rate_q31(g.negative), 10)),
        q13((g.mean_watch_ratio.raw() as u32) << 1),
        g.completion_rate.to_feature(),
        g.skip_rate.to_feature(),
        g.rewatch_rate.to_feature(),
        log_feature(1 + (c.duration_ms >> 10) as u64, 3),
        log_feature(g.engagements_first_2h as u64 + 1, 4),
        user.session_interest(c.topic, c.created_at.saturating_add(age_s)),
        log_feature(1 + (age_s >> 6) as u64, 4),
        if c.kind.is_video() { Feature::ONE } else { Feature(0) },
    ]
}

/// `count / (impressions + 32)` for the rate features, with one division per candidate: a
/// reciprocal of the denominator's top 16 bits (rounded), with at least 15 significant bits,
/// then a multiply per rate: relative error < 1e-4.
#[derive(Clone, Copy)]
struct Rates {
    denom: u32,
    /// `floor(2^31 / d)`, `d` the denominator's top 16 bits rounded (`denom >> t`, plus its
    /// next bit).
    inv: u32,
    t: u32,
    /// Whether a rate is one 32-bit multiply (see [`Rates::of`]).
    narrow: bool,
}

impl Rates {
    /// `branches`: whether to take the 32-bit route where it applies, at the cost of a branch
    /// that follows the item's impressions (no branch predictor learns it: a host computes
    /// every item the same way).
    #[inline(always)]
    fn of(impressions: u32, branches: bool) -> Self {
        let denom = impressions.saturating_add(RATE_PRIOR_IMPRESSIONS);
        let zeros = crate::num::leading_zeros(denom);
        let t = (32 - zeros).saturating_sub(16);
        let inv = if !branches {
            // The same value as one expression for every `t` (0 included).
            let d = (denom >> t) + ((denom >> t.saturating_sub(1)) & u32::from(t != 0));
            crate::num::reciprocal_q31(d)
        } else if t == 0 {
            // The reciprocal needs the divisor's leading zeros: counted already.
            crate::num::reciprocal_q31_given_zeros(denom, zeros)
        } else {
            // In [2^15, 2^16]: 16 leading zeros, 15 for 2^16.
            let d = (denom >> t) + ((denom >> (t - 1)) & 1);
            crate::num::reciprocal_q31_given_zeros(d, 16 - (d >> 16))
        };
        // The divisor is in 32..=2^16, so inv <= 2^26. Below 2^16 (`t == 0`, most items) it is
        // the denominator itself, so `count * inv <= d * floor(2^31 / d) <= 2^31`: one 32-bit
        // multiply, where the general route needs a 64-bit product (four 16-bit ones on a
        // Cortex-M0+). The same value.
        Rates { denom, inv, t, narrow: branches && t == 0 }
    }

    /// `count / denominator` in Q31 (a count above the denominator counts as the
    /// denominator).
    #[inline(always)]
    fn q31(&self, count: u32) -> u32 {
        let count = count.min(self.denom);
        if self.narrow {
            count * self.inv
        } else {
            crate::num::mul_shr_capped(count, self.inv, self.t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{CandidateFlags, ContentKind, GlobalSignals};
    use crate::num::{Prob, WatchRatio};

    #[test]
    fn both_routes_give_the_same_rates() {
        let mut next = crate::util::xorshift32(0x2545_f491);
        let edges = [0, 65_503, 65_504, 65_505, u32::MAX];
        for n in 0..200_005 {
            let i = if n < edges.len() { edges[n] } else { next() >> (next() % 32) };
            let (branchy, flat) = (Rates::of(i, true), Rates::of(i, false));
            for count in [0, 1, i / 100, i / 7, i, i.saturating_add(1), u32::MAX, next() >> (next() % 32)] {
                assert_eq!(branchy.q31(count), flat.q31(count), "{count} of {i}");
            }
        }
    }

    #[test]
    fn features_follow_their_documented_formulas() {
        let c = Candidate {
            item_id: 1,
            author_id: 2,
            created_at: 0,
            duration_ms: 15 * 1024,
            kind: ContentKind::ShortVideo,
            topic: 1,
            flags: CandidateFlags::new(true, false, false),
            global: GlobalSignals {
                impressions: 968,
                likes: 50,
                comments: 10,
                shares: 5,
                negative: 2,
                engagements_first_2h: 63,
                mean_watch_ratio: WatchRatio::from_f64(0.75),
                completion_rate: Prob::from_f64(0.5),
                ..GlobalSignals::default()
            },
            ..Candidate::default()
        };
        let x = build(&c, &UserState::new(), 64 * 255);
        let close = |f: Feature, v: f64| (f.to_f64() - v).abs() < 2.0 / 8192.0;
        assert_eq!(x[0], Feature(0));
        assert_eq!(x[2], Feature::ONE);
        assert!(close(x[3], 16.0 * 50.0 / 1000.0), "{:?}", x[3]);
        assert!(close(x[4], 64.0 * 10.0 / 1000.0));
        assert!(close(x[5], 64.0 * 5.0 / 1000.0));
        assert!(close(x[6], 256.0 * 2.0 / 1000.0));
        assert!(close(x[7], 0.75));
        assert!(close(x[8], 0.5));
        assert!(close(x[11], 4.0 / 8.0));
        assert!(close(x[12], 6.0 / 16.0));
        assert!(close(x[14], 8.0 / 16.0));
        assert_eq!(x[15], Feature::ONE);
    }

    #[test]
    fn session_interest_is_read_at_the_request_time() {
        use crate::state::{Feedback, FeedbackKind, SESSION_HALF_LIFE_S};
        let mut user = UserState::new();
        let watched = FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(1.5) };
        user.apply(&Feedback { item_id: 9, author_id: 3, topic: 4, at: 10_000, kind: watched }).unwrap();
        let c = Candidate { topic: 4, created_at: 9_000, ..Candidate::default() };
        let stored = user.session_interest(4, 10_000);
        assert!(stored.raw() > 0);
        // Request at 10,060 s: the candidate is 1,060 s old.
        assert_eq!(build(&c, &user, 1_060)[13], stored);
        // Half an hour later: three half-lives.
        let later = 1_060 + 3 * SESSION_HALF_LIFE_S;
        assert_eq!(build(&c, &user, later)[13].raw(), stored.raw() >> 3);
        // Another topic: neutral.
        assert_eq!(build(&Candidate { topic: 5, ..c }, &user, 1_060)[13].raw(), 0);
    }

    #[test]
    fn extreme_inputs_stay_within_the_clamp() {
        let mut c = Candidate::default();
        c.global.likes = u32::MAX;
        c.global.negative = u32::MAX;
        c.global.impressions = 0;
        c.global.engagements_first_2h = u32::MAX;
        c.global.mean_watch_ratio = WatchRatio::MAX;
        c.duration_ms = u32::MAX;
        c.author.engagement_rate = Prob::ONE;
        for x in build(&c, &UserState::new(), u32::MAX) {
            assert!(x.raw().unsigned_abs() as i32 <= Feature::CLAMP, "{x:?}");
        }
        c.global.impressions = u32::MAX;
        for x in build(&c, &UserState::new(), 0) {
            assert!(x.raw().unsigned_abs() as i32 <= Feature::CLAMP, "{x:?}");
        }
    }
}
