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

/// `1 - (1 - floor) * t` for a Q14 `floor` and `t` in Q15 [0, 1], as a factor.
#[inline]
pub(crate) fn ramp(floor_q14: u32, t_q15: u32) -> Factor {
    let drop = ((16384 - floor_q14.min(16384)) * t_q15.min(32768)) >> 15;
    Factor::from_q14(16384 - drop)
}

/// `floor^t` for a Q14 `floor` and `t` in Q15 [0, 1], as a factor: t times log2(floor), so
/// the demotion is linear in log space (a floor of 0 counts as the smallest Q14 step).
#[inline]
pub(crate) fn geometric(floor_q14: u32, t_q15: u32) -> Factor {
    let log_floor = Factor::from_q14(floor_q14.clamp(1, 16384)).0 as i64;
    Factor(((log_floor * t_q15.min(32768) as i64) >> 15) as i32)
}

/// `n / d` for `d > 0`, in 32 bits when both fit (the rules' operands nearly always do): a
/// 64-bit division is a library call on a Cortex-M, a long one on an M0+.
#[inline(always)]
fn div(n: u64, d: u64) -> u64 {
    if (n | d) >> 32 == 0 {
        (n as u32 / d as u32) as u64
    } else {
        n / d
    }
}

/// `a * b`, in 32 bits when both are below 2^16.
#[inline(always)]
fn mul(a: u64, b: u64) -> u64 {
    if (a | b) >> 16 == 0 {
        (a as u32 * b as u32) as u64
    } else {
        a * b
    }
}

/// Share of the way from `threshold` to 1 (both Q15), in Q15.
#[inline]
fn past_threshold(signal: u32, threshold: u32) -> u32 {
    ((signal - threshold) << 15) / (32768 - threshold)
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
        let ratio_q16 = div((a.followings as u64 + 1) << 16, a.followers as u64 + 1);
        if ratio_q16 > ig.farm_ratio_q16 {
            // log2 of exp(-slope * excess) = -slope * log2(e) * excess: linear in log space.
            // Capping the excess at 2^34 (a ratio of 262144) keeps the product below 2^62; the
            // factor floor is reached long before.
            let excess = (ratio_q16 - ig.farm_ratio_q16).min(1 << 34);
            let e_q20 = (excess * ig.farm_slope_log2_q20) >> 16;
            apply(FactorKind::FollowFarming, Factor(-(e_q20.min(1 << 30) as i32)));
        }
    }
    if a.account_age_days < ig.young_days {
        let t = div(((ig.young_days - a.account_age_days) as u64) << 15, ig.young_days as u64);
        apply(FactorKind::YoungAccount, ramp(ig.young_floor, t as u32));
    }
    let overlap = g.early_engager_overlap.raw() as u32;
    if g.engagements_first_10m > 0 {
        // Both readings are divisions, computed only when they can pass the threshold, which
        // honest items seldom do. The burst is at most 1, so the closed-group reading is at
        // most the overlap; and a quotient floor(a / b) exceeds t exactly when a >= (t + 1) * b.
        let closed_group = if overlap > ig.pod_threshold {
            let early = g.engagements_first_10m.min(g.engagements_first_2h.max(1)) as u64;
            let burst = div(early << 15, g.engagements_first_2h.max(1) as u64) as u32;
            (overlap * burst) >> 15
        } else {
            0
        };
        let crowd = (g.engagements_first_10m as u64) << 15;
        let audience_size = a.followers as u64 + 1;
        let audience = if g.engagements_first_10m >= POD_MIN_EARLY_ENGAGEMENTS
            && crowd >= mul(ig.pod_threshold as u64 + 1, audience_size)
        {
            div(crowd, audience_size).min(32768) as u32
        } else {
            0
        };
        // Two independent readings: each applies its own factor.
        for signal in [closed_group, audience] {
            if signal > ig.pod_threshold {
                apply(FactorKind::EngagementPod, geometric(ig.pod_floor, past_threshold(signal, ig.pod_threshold)));
            }
        }
    }
    let rate = (a.engagement_rate.raw() as u32) << 9; // Q15 -> Q24
    if a.followers >= ig.bought_min_followers && rate < ig.bought_rate {
        let t = div(((ig.bought_rate - rate) as u64) << 15, ig.bought_rate as u64);
        let t = t as u32;
        apply(FactorKind::BoughtFollowers, ramp(ig.bought_floor, t));
    }
    let regularity = a.posting_regularity.raw() as u32;
    if regularity > ig.bot_threshold {
        apply(FactorKind::BotRegularity, ramp(ig.bot_floor, past_threshold(regularity, ig.bot_threshold)));
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
        assert!((got - exact).abs() < exact * 1e-3, "{got} vs {exact}");
        c.author.followers = 0;
        c.author.followings = u32::MAX;
        assert!(factor(&x(), &c, &mut NoTrace) > Factor::ZERO, "extreme ratios demote without reaching zero");
    }

    #[test]
    fn each_inauthentic_pattern_is_demoted() {
        let p = x();
        let mut young = honest();
        young.author.account_age_days = 0;
        assert!((factor(&p, &young, &mut NoTrace).to_f64() - 0.3).abs() < 1e-4);
        let mut pod = honest();
        pod.global.engagements_first_10m = 60;
        pod.global.early_engager_overlap = Prob::ONE;
        assert!((factor(&p, &pod, &mut NoTrace).to_f64() - 0.1).abs() < 1e-4);
        let mut bought = honest();
        bought.author.followers = 200_000;
        bought.author.engagement_rate = Prob::ZERO;
        assert!((factor(&p, &bought, &mut NoTrace).to_f64() - 0.2).abs() < 1e-4);
        let mut bot = honest();
        bot.author.posting_regularity = Prob::ONE;
        assert!((factor(&p, &bot, &mut NoTrace).to_f64() - 0.15).abs() < 1e-4);
    }

    #[test]
    fn pod_demotion_is_geometric_in_the_signal() {
        // X: threshold 0.3, floor 0.1. Overlap 0.65 with every early engagement in the first
        // 10 minutes is half way from the threshold to 1: 0.1^0.5, not the linear 0.55.
        let mut pod = honest();
        pod.global.engagements_first_10m = 60;
        pod.global.early_engager_overlap = Prob::from_f64(0.65);
        let got = factor(&x(), &pod, &mut NoTrace).to_f64();
        assert!((got - 0.1f64.sqrt()).abs() < 1e-3, "{got}");
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
        assert!((got - 0.1).abs() < 1e-4, "{got}");
        // Half the followers: t = (0.5 - 0.3) / 0.7.
        c.author.followers = 59;
        let got = factor(&x(), &c, &mut NoTrace).to_f64();
        let want = 0.1f64.powf(0.2 / 0.7);
        assert!((got - want).abs() < 1e-3, "{got} vs {want}");
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
        assert!((got - 0.01).abs() < 1e-4, "{got}");
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
