//! The six built-in platform profiles.
//!
//! Each table is built from what the platforms have published or what is widely reported
//! about them (sources in the project's ranking-signals notes). Where a platform has published
//! no number, the value is ours and marked "ours". Head weights are per unit of the head's
//! output: per probability, and per second for `watch_time`.

use super::{
    AgeDecay, Diversity, Exploration, Fatigue, Integrity, ProfileConfig, Sponsored, DEFAULT_SHORTLIST,
    PROFILE_FORMAT_VERSION, PROFILE_MAGIC,
};
use crate::model::HEADS;

/// A platform whose published ranking rules edgerank can emulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Platform {
    /// Facebook feed: "meaningful social interactions".
    Facebook,
    /// Instagram feed and Reels: watch time, likes and sends.
    Instagram,
    /// LinkedIn feed: "viral actions" and dwell.
    LinkedIn,
    /// TikTok For You: completion and watch time.
    TikTok,
    /// Threads: likes, follows, replies, scroll-past.
    Threads,
    /// X "For you" (2026 weights of the open-sourced ranker).
    X,
}

const DAY: u32 = 86_400;

/// Shared integrity defaults: X's tweepcred constants for follow farming; the other
/// thresholds are ours, set where the simulator's honest accounts almost never reach them.
const INTEGRITY: Integrity = Integrity {
    enabled: true,
    farm_min_followings: 500,
    farm_ratio: 0.6,
    farm_slope: 5.0,
    young_days: 30,
    young_floor: 0.3,
    pod_threshold: 0.3,
    pod_floor: 0.1,
    bought_min_followers: 1_000,
    bought_rate: 0.002,
    bought_floor: 0.2,
    bot_threshold: 0.85,
    bot_floor: 0.15,
};

/// X's fatigue rule: filtered 14 days, then 0.2 back to 1.0 over 140 days.
const X_FATIGUE: Fatigue = Fatigue { filter_days: 14, recovery_days: 140, start_factor: 0.2 };

/// X's Earlybird decay defaults: slope 0.003 per minute, halflife 360 min, base 0.6.
const EARLYBIRD: AgeDecay = AgeDecay { max_age_s: 2 * DAY, halflife_min: 360.0, slope_per_min: 0.003, floor: 0.6 };

const NO_DIVERSITY: Diversity = Diversity { decay: 1.0, floor: 1.0 };

/// Bits for 0-based positions.
const fn slots(positions: &[u8]) -> u64 {
    let mut bits = 0u64;
    let mut i = 0;
    while i < positions.len() {
        bits |= 1 << positions[i];
        i += 1;
    }
    bits
}

impl Platform {
    /// All six, in alphabetical order.
    pub const ALL: [Platform; 6] =
        [Platform::Facebook, Platform::Instagram, Platform::LinkedIn, Platform::TikTok, Platform::Threads, Platform::X];

    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::LinkedIn => "linkedin",
            Platform::TikTok => "tiktok",
            Platform::Threads => "threads",
            Platform::X => "x",
        }
    }

    /// Looks a platform up by its lower-case name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The platform's profile.
    ///
    /// ```
    /// use edgerank_core::profile::Platform;
    /// let x = Platform::X.config();
    /// assert_eq!(x.head_weights[7], -234.0); // report
    /// ```
    pub fn config(self) -> ProfileConfig {
        let mut name = heapless::String::new();
        // Every built-in name fits PROFILE_NAME_LEN.
        let _ = name.push_str(self.name());
        let base = ProfileConfig {
            magic: PROFILE_MAGIC,
            format_version: PROFILE_FORMAT_VERSION,
            name,
            head_weights: [0.0; HEADS],
            age: EARLYBIRD,
            out_of_network_factor: 1.0,
            reply_factor: 1.0,
            max_out_of_network_run: 0,
            in_network_min_share: 0.0,
            author_diversity: Diversity { decay: 0.5, floor: 0.25 },
            kind_diversity: NO_DIVERSITY,
            exploration: Exploration { slots: 0, max_followers: 1_000, max_author_impressions: 1_000, max_age_s: DAY },
            // Sponsored placement is not published by any of the six; ours: from the 3rd
            // position, every 6th, at most 4 a page, and only above a quality floor.
            sponsored: Sponsored { first_slot: 2, spacing: 6, max_per_page: 4, quality_floor: 0.1 },
            fatigue: X_FATIGUE,
            integrity: INTEGRITY,
            // Two-stage ranking, as Facebook (a light pass before the main pass) and X (a light
            // ranker before the heavy ranker) publish it; the depth is ours: 48, half again a
            // device's 32-item page. host-sim measures what it costs in ranking quality.
            shortlist: DEFAULT_SHORTLIST,
        };
        //                like  comment share save follow visit   negative report  compl  skip   watch/s quantile
        match self {
            // X 2026 (home-mixer params): like 0.5, reply 5.0, share 2.0 (retweet 1.0, DM 5.0),
            // follow 4.0, click 0.4, negative -43.2, report -234, video quality view 0.05,
            // not dwelled -0.02, dwell 0.004/s. Bookmarks carry no published weight.
            // Out-of-network and replies x0.75, at most 2 out-of-network in a row, author
            // diversity 0.5 floor 0.25, cold-start slots 15-16, posts over 48 h dropped.
            Platform::X => ProfileConfig {
                head_weights: [0.5, 5.0, 2.0, 0.0, 4.0, 0.4, -43.2, -234.0, 0.05, -0.02, 0.004, 0.0],
                out_of_network_factor: 0.75,
                reply_factor: 0.75,
                max_out_of_network_run: 2,
                exploration: Exploration { slots: slots(&[14, 15]), ..base.exploration },
                ..base
            },
            // TikTok ("Algo 101": Plike*Vlike + Pcomment*Vcomment + Eplaytime*Vplaytime +
            // Pplay*Vplay; finishing a longer video outweighs weak signals; follower count is
            // not a direct factor). Weights ours within that form; the duration-fair quantile
            // head carries the "finishing" signal; mostly recommended content; older videos
            // keep circulating (30 days, 3-day halflife, ours).
            Platform::TikTok => ProfileConfig {
                head_weights: [1.0, 2.0, 3.0, 1.5, 2.0, 0.5, -20.0, -100.0, 4.0, -2.0, 0.05, 3.0],
                age: AgeDecay { max_age_s: 30 * DAY, halflife_min: 3.0 * 1440.0, slope_per_min: 0.0005, floor: 0.5 },
                author_diversity: Diversity { decay: 0.4, floor: 0.1 },
                exploration: Exploration { slots: slots(&[4, 11, 19, 27]), max_age_s: 2 * DAY, ..base.exploration },
                ..base
            },
            // Instagram 2025: watch time, likes and sends are the top three signals; saves and
            // comments follow. About half of what users see is recommended: keep at least
            // half in network. Weights ours in that order.
            Platform::Instagram => ProfileConfig {
                head_weights: [2.0, 1.5, 3.0, 1.5, 1.0, 0.5, -30.0, -150.0, 2.0, -1.0, 0.03, 1.0],
                in_network_min_share: 0.5,
                age: AgeDecay { max_age_s: 7 * DAY, halflife_min: 1440.0, slope_per_min: 0.002, floor: 0.4 },
                kind_diversity: Diversity { decay: 0.8, floor: 0.6 },
                exploration: Exploration { slots: slots(&[9, 21]), ..base.exploration },
                ..base
            },
            // Facebook "meaningful social interactions" (2018): comments and reshares
            // outweigh likes (reactions once 5x a like); about 30 % of the feed is
            // recommended: keep 70 % in network. Weights ours in that order.
            Platform::Facebook => ProfileConfig {
                head_weights: [1.0, 8.0, 6.0, 1.0, 1.0, 0.5, -40.0, -200.0, 0.5, -0.5, 0.01, 0.0],
                in_network_min_share: 0.7,
                out_of_network_factor: 0.9,
                age: AgeDecay { max_age_s: 7 * DAY, halflife_min: 1440.0, slope_per_min: 0.002, floor: 0.3 },
                kind_diversity: Diversity { decay: 0.85, floor: 0.6 },
                ..base
            },
            // LinkedIn: viral actions (react, comment, reshare), dwell time, click bounces as
            // skips; reach decided early. Weights ours in that order; engagement pods and
            // "ambassador" schedules are common here, so the pod rule is stricter.
            Platform::LinkedIn => ProfileConfig {
                head_weights: [1.0, 4.0, 3.0, 1.5, 2.0, 1.0, -40.0, -200.0, 0.0, -1.5, 0.02, 0.0],
                in_network_min_share: 0.6,
                out_of_network_factor: 0.85,
                age: AgeDecay { max_age_s: 21 * DAY, halflife_min: 2880.0, slope_per_min: 0.001, floor: 0.3 },
                integrity: Integrity { pod_threshold: 0.2, pod_floor: 0.05, ..INTEGRITY },
                ..base
            },
            // Threads: predicts like, follow, scroll-past (fast skip) and read-replies
            // (comment). Weights ours in that order.
            Platform::Threads => ProfileConfig {
                head_weights: [1.0, 3.0, 1.0, 0.0, 4.0, 1.0, -30.0, -150.0, 0.0, -1.0, 0.005, 0.0],
                in_network_min_share: 0.4,
                out_of_network_factor: 0.9,
                reply_factor: 0.9,
                age: AgeDecay { max_age_s: 3 * DAY, halflife_min: 720.0, slope_per_min: 0.003, floor: 0.5 },
                exploration: Exploration { slots: slots(&[7, 19]), ..base.exploration },
                ..base
            },
        }
    }
}

impl ProfileConfig {
    /// A profile with every weight zero and every rule neutral, to build custom profiles from.
    pub fn neutral(name: &str) -> Self {
        let mut cfg = Platform::X.config();
        cfg.name.clear();
        // Keep whole characters only: a long name is cut, never split inside a character.
        for ch in name.chars() {
            if cfg.name.push(ch).is_err() {
                break;
            }
        }
        cfg.head_weights = [0.0; HEADS];
        cfg.age = AgeDecay { max_age_s: u32::MAX, halflife_min: 0.0, slope_per_min: 0.0, floor: 1.0 };
        cfg.out_of_network_factor = 1.0;
        cfg.reply_factor = 1.0;
        cfg.max_out_of_network_run = 0;
        cfg.in_network_min_share = 0.0;
        cfg.author_diversity = NO_DIVERSITY;
        cfg.kind_diversity = NO_DIVERSITY;
        cfg.exploration.slots = 0;
        cfg.sponsored = Sponsored { first_slot: 0, spacing: 1, max_per_page: 0, quality_floor: 0.0 };
        cfg.integrity.enabled = false;
        cfg.shortlist = 0;
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::from_name(p.name()), Some(p));
            assert_eq!(p.config().name.as_str(), p.name());
        }
        assert_eq!(Platform::from_name("myspace"), None);
    }

    #[test]
    fn x_uses_the_published_2026_constants() {
        let x = Platform::X.config();
        assert_eq!(x.head_weights[0], 0.5);
        assert_eq!(x.head_weights[1], 5.0);
        assert_eq!(x.head_weights[6], -43.2);
        assert_eq!(x.age.max_age_s, 48 * 3_600);
        assert_eq!(x.max_out_of_network_run, 2);
        assert_eq!(x.exploration.slots, (1 << 14) | (1 << 15));
    }

    #[test]
    fn neutral_profile_truncates_long_names() {
        let n = ProfileConfig::neutral("a-very-long-profile-name");
        assert_eq!(n.name.len(), super::super::PROFILE_NAME_LEN);
        let n = ProfileConfig::neutral("ééééééééééééééééé");
        assert_eq!(n.name.as_str(), "éééééééé");
        assert!(!n.integrity.enabled);
    }
}
