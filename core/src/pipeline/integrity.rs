//! Demotion of inauthentic amplification. Each rule looks at signals the server sends with
//! the candidate and returns a factor in [floor, 1]; honest accounts get exactly 1.
//!
//! | rule | signal | constants (profile) |
//! |---|---|---|
//! | follow farming (X's tweepcred) | (1 + followings) / (1 + followers) above `farm_ratio` with more than `farm_min_followings` followings | factor `exp(-farm_slope * (ratio - farm_ratio))` |
//! | very young account | account age below `young_days` | linear from `young_floor` at day 0 to 1 |
//! | engagement pod | early-engager overlap x (first-10-min / first-2-h engagements); and, apart, with at least [`POD_MIN_EARLY_ENGAGEMENTS`], first-10-min engagements per follower (capped at 1); each above `pod_threshold` | `pod_floor^t` each, t from 0 at the threshold to 1 at signal 1 |
//! | bought followers | at least `bought_min_followers` followers but [`engagement_rate`] (engagements per post per follower) below `bought_rate` | linear to `bought_floor` at rate 0 |
//! | bot-like regularity | posting regularity above `bot_threshold` | linear to `bot_floor` at 1 |
//! | stacked evidence | the product of the factors above below [`DROP_BELOW`] (1/32) | dropped by the filter stage (`FilterReason::Inauthentic`) |
//!
//! The pod rule's demotion is geometric (linear in log space, the shape of X's tweepcred
//! follow-farming penalty, `exp(-slope * excess)`), not linear: a pod's likes, comments and
//! reshares inflate the item's engagement rates, and the heads turn rates into probabilities
//! through a logistic, so the score an inflated item gains grows multiplicatively with the
//! share of its engagement the pod supplied. A linear ramp leaves a strong pod signal
//! (overlap 0.85, burst 0.95) at about a third of the score, which comment-heavy weights
//! (X's reply 5.0 and more, Threads' replies) more than make up; `floor^t` takes it to a
//! fifth, and still leaves weak signals just past the threshold nearly untouched.
//!
//! The pod rule reads the behaviour two ways, and each reading that fires applies its own
//! factor (two independent pieces of evidence, as when any two rules fire). The overlap
//! reading needs the author's history: a closed group engaging every post at once. The
//! audience reading needs none: in its first minutes a post reaches mostly its author's
//! followers (recommendation waits for early engagement, which is why reach is decided in
//! the first hours), so a crowd of engagements within 10 minutes from more accounts than a
//! small share of the followers could supply came on cue from outside the audience: a pod,
//! a coordinated group or a bot network. It fires from the author's first post on, and
//! `POD_MIN_EARLY_ENGAGEMENTS` keeps a few friends' likes on a tiny account out of it.
//!
//! [`engagement_rate`]: crate::input::AuthorSignals::engagement_rate

use super::explain::{FactorChain, FactorKind, Trace};
use crate::input::Candidate;
use crate::num::Factor;
use crate::profile::Profile;

/// Combined integrity factor below which a candidate is dropped instead of demoted (ours):
/// 1/32. No rule with a floor reaches it alone (the lowest built-in floor is a pod reading's
/// 0.1, 0.05 on LinkedIn): it takes stacked evidence, such as both pod readings at once, a
/// pod burst on a brand-new account, clockwork posting with bought followers, or a
/// follow-farming ratio far past X's threshold (that rule has no floor).
/// Why drop rather than multiply: under weights with large negative terms (X's -43.2 for
/// negative feedback and -234 for reports) most honest candidates end with a negative total
/// and are mapped below every positive one, so an amplified item whose inflated engagement
/// keeps its total positive outranks them at any demotion factor. X removes what its spam and
/// amplification detectors find (visibility filtering) rather than only down-weighting it.
pub const DROP_BELOW: Factor = Factor(-5 << 20);

/// First-10-minute engagements below which the audience reading of the pod signal stays 0
/// (ours: a tiny account's few friends can like a post within minutes).
pub const POD_MIN_EARLY_ENGAGEMENTS: u32 = 10;

/// `n / d` for `d > 0`, in 32 bits when both fit (the rules' operands nearly always do): a
/// 64-bit division is a library call on a Cortex-M, a long one on an M0+.
#[inline(always)]
fn div(n: u64, d: u64) -> u64 {
    if (n | d) >> 32 == 0 {
        crate::num::div_u32(n as u32, d as u32) as u64
    } else {
        n / d
    }
}

/// `a * b`, from 32-bit operands when both fit: a 64-bit multiply is
/// a library call on a Cortex-M0+.
#[inline(always)]
fn mul(a: u64, b: u64) -> u64 {
    if (a | b) >> 32 == 0 {
        crate::num::mul_wide(a as u32, b as u32)
    } else {
        a * b
    }
}

/// Applies every integrity rule that fires to the chain, in table order.
#[inline]
pub(crate) fn apply<T: Trace>(profile: &Profile, c: &Candidate, chain: &mut FactorChain<'_, T>) {
    let ig = &profile.integrity;
    if !ig.enabled {
        return;
    }
    let a = &c.author;
    let g = &c.global;
    let mut apply = |kind: FactorKind, x: Factor| chain.apply(kind, x);

    if a.followings > ig.farm_min_followings {
        let (n, d) = (a.followings as u64 + 1, a.followers as u64 + 1);
        // Whether the ratio can pass the threshold, by a product (honest accounts that follow
        // many nearly never pass, and a division is a library call on a Cortex-M0+); then
        // the ratio in Q16 (one division, in 32 bits for all but the largest counts), refined
        // to Q24 from its remainder. floor(n 2^16 / d) >= t exactly when n 2^16 >= t d.
        let threshold_q16 = ig.farm_ratio_q24 >> 8;
        if n << 16 >= mul(threshold_q16, d) {
            let ratio_q16 = div(n << 16, d);
            let remainder = (n << 16) - mul(ratio_q16, d);
            let ratio_q24 = (ratio_q16 << 8) + div(remainder << 8, d);
            if ratio_q24 > ig.farm_ratio_q24 {
                // log2 of exp(-slope * excess) = -slope * log2(e) * excess: linear in log
                // space. The Q24 excess times the Q32 slope (below 2^40 for slopes up to 100)
                // in two parts, each below 2^64: the slope's top 28 bits and its low 12. Exact
                // to 2^-20 up to an excess of 2^12 (a ratio past the factor floor for any
                // slope above 1e-8), coarser beyond, and capped at a ratio of 2^24.
                let excess = (ratio_q24 - ig.farm_ratio_q24).min(1 << 48);
                let (high, low) = (ig.farm_slope_log2_q32 >> 12, ig.farm_slope_log2_q32 & 0xfff);
                let e_q20 = if excess < 1 << 36 {
                    (mul(excess, high) >> 24) + (mul(excess, low) >> 36)
                } else {
                    ((excess >> 16) * high) >> 8
                };
                apply(FactorKind::FollowFarming, Factor(-(e_q20.min(1 << 30) as i32)));
            }
        }
    }
    if a.account_age_days < ig.young_days {
        apply(FactorKind::YoungAccount, ig.young.at((ig.young_days - a.account_age_days) as u64));
    }
    let overlap = g.early_engager_overlap.raw() as u32;
    if g.engagements_first_10m > 0 {
        // Both readings (Q30) are divisions, computed only when they can pass the threshold,
        // which honest items seldom do. The burst is at most 1, so the closed-group reading
        // is at most the overlap.
        let threshold = ig.pod.threshold();
        let closed_group = if overlap << 15 > threshold {
            let two_h = g.engagements_first_2h.max(1) as u64;
            let early = (g.engagements_first_10m as u64).min(two_h);
            let burst_q22 = div(early << 22, two_h);
            (mul(overlap as u64, burst_q22) >> 7).min(1 << 30) as u32
        } else {
            0
        };
        // First-10-minute engagements per follower, divided out only when the product test
        // shows at least `threshold >> 15` (Q15, at most the threshold) per follower: what it
        // skips is below the threshold.
        let crowd = (g.engagements_first_10m as u64) << 15;
        let audience_size = a.followers as u64 + 1;
        let audience = if g.engagements_first_10m >= POD_MIN_EARLY_ENGAGEMENTS
            && crowd >= mul((threshold >> 15) as u64, audience_size)
        {
            (div((g.engagements_first_10m as u64) << 22, audience_size).min(1 << 22) << 8) as u32
        } else {
            0
        };
        // Two independent readings: each applies its own factor.
        for signal in [closed_group, audience] {
            if signal > threshold {
                apply(FactorKind::EngagementPod, ig.pod.at(signal));
            }
        }
    }
    let rate_q30 = (a.engagement_rate.raw() as u32) << 15;
    if a.followers >= ig.bought_min_followers && rate_q30 < ig.bought_rate_q30 {
        apply(FactorKind::BoughtFollowers, ig.bought.at((ig.bought_rate_q30 - rate_q30) as u64));
    }
    let regularity_q30 = (a.posting_regularity.raw() as u32) << 15;
    if regularity_q30 > ig.bot_threshold_q30 {
        apply(FactorKind::BotRegularity, ig.bot.at((regularity_q30 - ig.bot_threshold_q30) as u64));
    }
}

/// The combined integrity factor alone (for tests and reports).
pub fn factor<T: Trace>(profile: &Profile, c: &Candidate, trace: &mut T) -> Factor {
    let mut chain = FactorChain::new(trace);
    apply(profile, c, &mut chain);
    chain.product
}

#[cfg(test)]
mod tests {
    use super::super::explain::NoTrace;
    use super::*;
    use crate::input::{AuthorSignals, GlobalSignals};
    use crate::num::Prob;
    use crate::profile::Platform;

    fn honest() -> Candidate {
        Candidate {
            author: AuthorSignals {
                followers: 5_000,
                followings: 300,
                account_age_days: 900,
                impressions: 1_000_000,
                engagement_rate: Prob::from_f64(0.02),
                posting_regularity: Prob::from_f64(0.3),
            },
            global: GlobalSignals {
                engagements_first_10m: 5,
                engagements_first_2h: 60,
                early_engager_overlap: Prob::from_f64(0.1),
                ..GlobalSignals::default()
            },
            ..Candidate::default()
        }
    }

    fn x() -> Profile {
        Profile::compile(Platform::X.config()).unwrap()
    }

    #[test]
    fn honest_accounts_are_untouched() {
        assert_eq!(factor(&x(), &honest(), &mut NoTrace), Factor::ONE);
    }

    #[test]
    fn follow_farming_uses_the_tweepcred_formula() {
        let mut c = honest();
        c.author.followings = 4_000;
        c.author.followers = 2_000; // ratio ~2.0
        let ratio = 4001.0 / 2001.0;
        let exact = (-5.0f64 * (ratio - 0.6)).exp();
        let got = factor(&x(), &c, &mut NoTrace).to_f64();
        assert!((got - exact).abs() < exact * 1e-5, "{got} vs {exact}");
        c.author.followers = 0;
        c.author.followings = u32::MAX;
        assert!(factor(&x(), &c, &mut NoTrace) > Factor::ZERO, "extreme ratios demote without reaching zero");
    }

    #[test]
    fn each_inauthentic_pattern_is_demoted() {
        let p = x();
        let mut young = honest();
        young.author.account_age_days = 0;
        assert!((factor(&p, &young, &mut NoTrace).to_f64() - 0.3).abs() < 1e-5);
        let mut pod = honest();
        pod.global.engagements_first_10m = 60;
        pod.global.early_engager_overlap = Prob::ONE;
        assert!((factor(&p, &pod, &mut NoTrace).to_f64() - 0.1).abs() < 1e-5);
        let mut bought = honest();
        bought.author.followers = 200_000;
        bought.author.engagement_rate = Prob::ZERO;
        assert!((factor(&p, &bought, &mut NoTrace).to_f64() - 0.2).abs() < 1e-5);
        let mut bot = honest();
        bot.author.posting_regularity = Prob::ONE;
        assert!((factor(&p, &bot, &mut NoTrace).to_f64() - 0.15).abs() < 1e-5);
    }

    #[test]
    fn pod_demotion_is_geometric_in_the_signal() {
        // X: threshold 0.3, floor 0.1. Overlap 0.65 with every early engagement in the first
        // 10 minutes is half way from the threshold to 1: 0.1^0.5, not the linear 0.55.
        let mut pod = honest();
        pod.global.engagements_first_10m = 60;
        pod.global.early_engager_overlap = Prob::from_f64(0.65);
        let got = factor(&x(), &pod, &mut NoTrace).to_f64();
        assert!((got - 0.1f64.sqrt()).abs() < 1e-5, "{got}");
    }

    #[test]
    fn an_early_crowd_larger_than_the_audience_is_a_pod_without_any_history() {
        // No overlap (the author's first post), but 30 engagements in 10 minutes for 20
        // followers: the audience reading alone reaches the floor.
        let mut c = honest();
        c.author.followers = 20;
        c.global.early_engager_overlap = Prob::ZERO;
        c.global.engagements_first_10m = 30;
        c.global.engagements_first_2h = 200;
        let got = factor(&x(), &c, &mut NoTrace).to_f64();
        assert!((got - 0.1).abs() < 1e-5, "{got}");
        // Half the followers: t = (0.5 - 0.3) / 0.7.
        c.author.followers = 59;
        let got = factor(&x(), &c, &mut NoTrace).to_f64();
        let want = 0.1f64.powf(0.2 / 0.7);
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // A few friends on a tiny account are not a crowd.
        c.author.followers = 3;
        c.global.engagements_first_10m = POD_MIN_EARLY_ENGAGEMENTS - 1;
        assert_eq!(factor(&x(), &c, &mut NoTrace), Factor::ONE);
        // A large audience absorbs the same crowd.
        c.author.followers = 5_000;
        c.global.engagements_first_10m = 30;
        assert_eq!(factor(&x(), &c, &mut NoTrace), Factor::ONE);
    }

    #[test]
    fn both_pod_readings_multiply() {
        let mut c = honest();
        c.author.followers = 20;
        c.global.early_engager_overlap = Prob::ONE;
        c.global.engagements_first_10m = 40;
        c.global.engagements_first_2h = 40;
        let got = factor(&x(), &c, &mut NoTrace).to_f64();
        assert!((got - 0.01).abs() < 1e-6, "{got}");
    }

    #[test]
    fn every_rule_is_within_1e_5_of_the_f64_reference_per_factor() {
        // Random accounts and bursts around every rule's threshold, for every built-in
        // profile: the fixed-point product is within 1e-5 in log2 per factor applied of the
        // f64 rules (`reference::integrity`), the bound the parity harness assumes.
        let mut next = crate::util::xorshift32(0x1234_5678);
        let mut fired = 0;
        for p in Platform::ALL {
            let cfg = p.config();
            let profile = Profile::compile(cfg.clone()).unwrap();
            for _ in 0..20_000 {
                let mut c = honest();
                let scale = |r: u32, bits: u32| r >> (32 - (r % bits + 1));
                c.author.followers = scale(next(), 24);
                c.author.followings = scale(next(), 16);
                c.author.account_age_days = next() % 60;
                c.author.engagement_rate = Prob::from_raw((next() % 200) as u16);
                c.author.posting_regularity = Prob::from_raw((next() % 32769) as u16);
                c.global.engagements_first_2h = scale(next(), 14);
                c.global.engagements_first_10m = next() % (c.global.engagements_first_2h + 2);
                c.global.early_engager_overlap = Prob::from_raw((next() % 32769) as u16);
                let mut why = crate::pipeline::explain::Explanation::default();
                let got = factor(&profile, &c, &mut why);
                let want = crate::reference::integrity::<f64>(&cfg, &c);
                let n = why.factors.len();
                fired += n;
                if want > -1000.0 {
                    let log2 = got.0 as f64 / (1u64 << 20) as f64;
                    assert!((log2 - want).abs() <= 1e-5 * n.max(1) as f64, "{p:?} {c:?}: {log2} vs {want}");
                }
            }
        }
        assert!(fired > 50_000, "the inputs reach the rules ({fired} factors)");
    }

    #[test]
    fn follow_farming_is_exact_for_large_thresholds_and_small_slopes() {
        // Ratio thresholds past 2^31 in Q24 and slopes whose Q20 form would be coarse: within
        // 1e-5 in log2 of the f64 rule wherever the item is not dropped.
        for (ratio, slope) in [(0.6f32, 0.05f32), (200.0, 0.01), (999.0, 0.001), (2.0, 100.0)] {
            let mut cfg = Platform::X.config();
            cfg.integrity.farm_ratio = ratio;
            cfg.integrity.farm_slope = slope;
            let profile = Profile::compile(cfg.clone()).unwrap();
            for excess in [0.001f64, 0.37, 1.0, 12.5, 60.0, 300.0] {
                let mut c = honest();
                c.author.followers = 999;
                c.author.followings = ((ratio as f64 + excess) * 1000.0 - 1.0) as u32;
                let want = crate::reference::integrity::<f64>(&cfg, &c);
                if want < -5.0 || c.author.followings <= cfg.integrity.farm_min_followings {
                    continue;
                }
                let got = factor(&profile, &c, &mut NoTrace).0 as f64 / (1u64 << 20) as f64;
                assert!((got - want).abs() < 1e-5, "ratio {ratio} slope {slope} excess {excess}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn disabled_integrity_is_neutral_and_extremes_do_not_panic() {
        let mut cfg = Platform::X.config();
        cfg.integrity.enabled = false;
        let p = Profile::compile(cfg).unwrap();
        let mut c = honest();
        c.author.account_age_days = 0;
        assert_eq!(factor(&p, &c, &mut NoTrace), Factor::ONE);
        let mut e = Candidate::default();
        e.author.followings = u32::MAX;
        e.author.posting_regularity = Prob::ONE;
        e.global.engagements_first_10m = u32::MAX;
        e.global.early_engager_overlap = Prob::ONE;
        e.author.followers = u32::MAX;
        let f = factor(&x(), &e, &mut NoTrace);
        assert!(f < Factor::ONE);
    }
}
