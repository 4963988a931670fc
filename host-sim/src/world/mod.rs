//! The simulated world: who exists, what they post, and how people react to it.
//!
//! Everything here is *static* for a run: generated once from the seed, then shared read-only
//! by every policy. What changes while a policy runs (counters, follows, user states) lives in
//! [`crate::server`] and [`crate::session`], one copy per policy.
//!
//! - [`users`]: topic interests, engagement propensity, patience, session habits, follow graph.
//! - [`creators`]: heavy-tailed audience sizes, quality, posting cadence, and the inauthentic
//!   actors (posting bots, bought followers, follow-back farms, engagement pods, coordinated
//!   campaigns, advertisers).
//! - [`items`]: posting schedules, content kinds, realistic short-video durations, latent quality.
//! - [`inauthentic`]: scripted amplification (pods, campaign puppets, reshare bots).
//! - [`behaviour`]: the ground-truth response of a user to an item.

pub mod behaviour;
pub mod creators;
pub mod inauthentic;
pub mod items;
pub mod users;

use serde::Serialize;

use crate::rng;

pub use creators::{Creator, CreatorKind, Format};
pub use inauthentic::ScriptedEvent;
pub use items::Item;
pub use users::{SessionPlan, User};

/// Seconds per hour.
pub const HOUR: u32 = 3_600;
/// Seconds per day.
pub const DAY: u32 = 86_400;
/// Simulation time 0 on the core's clock (seconds). Posting history starts a week earlier.
pub const EPOCH: u32 = 14 * DAY;
/// Days of posting history before the simulation starts (used for posting regularity only).
pub const HISTORY_DAYS: u32 = 7;
/// Topics the world uses (must not exceed the core's `TOPICS`).
pub const WORLD_TOPICS: usize = 48;
const _: () = assert!(WORLD_TOPICS <= edgerank_core::input::TOPICS);

/// Actor ids of accounts that are not simulated users (for early-engager sets): the top bits
/// say which population, the rest the index.
pub mod actor {
    /// A creator account engaging (pod members).
    pub const CREATOR: u32 = 1 << 29;
    /// A sock puppet of a coordinated campaign.
    pub const PUPPET: u32 = 2 << 29;
    /// A scheduled reshare bot.
    pub const RESHARE_BOT: u32 = 3 << 29;
}

/// Tunable world parameters. Defaults are documented next to each field; they are set to
/// plausible values from the project's ranking-signals notes, not tuned to any outcome.
#[derive(Clone, Debug, Serialize)]
pub struct WorldParams {
    /// Creators per simulated user (creators scale with users so per-item counters do not
    /// depend on the run size).
    pub creators_per_user: f64,
    /// Fewest creators.
    pub min_creators: usize,
    /// Share of creators that are advertisers (post only sponsored items).
    pub advertiser_share: f64,
    /// Share of creators that are posting bots (clockwork schedule, spammy content).
    pub posting_bot_share: f64,
    /// Share of creators that bought followers.
    pub bought_followers_share: f64,
    /// Share of creators that run follow-back farms.
    pub follow_farm_share: f64,
    /// Share of creators in engagement pods.
    pub pod_member_share: f64,
    /// Share of creators that pay a coordinated group to like and reshare their posts.
    pub campaign_client_share: f64,
    /// Share of honest creators who post with a scheduling tool (fixed daily times).
    pub scheduled_share: f64,
    /// Share of honest creators whose account is under 30 days old.
    pub new_creator_share: f64,
    /// Share of honest posts that are paid boosts (sponsored).
    pub boost_share: f64,
    /// Tail index of creator audience sizes (Pareto).
    pub size_alpha: f64,
    /// Median number of creators a user follows.
    pub follows_median: f64,
    /// Median sessions per user per day.
    pub sessions_per_day_median: f64,
    /// Median time a user intends to spend in a session, seconds.
    pub session_budget_median_s: f64,
    /// Appeal boost of a session's mood topics (short-term intent).
    pub mood_boost: f64,
    /// Pod size range (members).
    pub pod_size: (usize, usize),
    /// Sock puppets per coordinated campaign group.
    pub campaign_puppets: (usize, usize),
    /// Reshare bots per bot network.
    pub reshare_bots: (usize, usize),
    /// Social proof on displayed like counts (herding: one artificial up-vote made the next
    /// viewer's up-vote 32 % more likely, Muchnik, Aral & Taylor 2013): the logit of a like
    /// rises by this much per decade of the item's displayed likes, `log10(1 + likes)`. Off
    /// (0) by default: at 0.25 (the follows' social proof) and 0.92 (one like = odds x1.32)
    /// it did not make a trained engagement ranker amplify inflated items (host-sim README,
    /// "Training"), and 0.92 nearly doubles the like rate. The ground truth follows the
    /// world: a like's share of an item's relevance (`Response::relevance`) includes the
    /// effect, so the oracle sees it too. `--like-social-proof` on `compare` and `train`.
    pub like_social_proof: f64,
    /// A counterfactual world (`sim::Counterfactual`): accounts of this inauthentic kind do
    /// not game. Bought-follower accounts bought none, follow farms harvest no follow-backs
    /// (both lose the follows their social proof drew, see `stop_gaming`), and no pod,
    /// coordinated group or reshare-bot network acts on its members', clients' or network's
    /// posts; accounts, posts, users and sessions are those of the real world. `None` (the
    /// real world) by default.
    pub without_gaming: Option<CreatorKind>,
}

impl Default for WorldParams {
    fn default() -> Self {
        Self {
            creators_per_user: 1.0,
            min_creators: 1000,
            advertiser_share: 0.03,
            posting_bot_share: 0.025,
            bought_followers_share: 0.03,
            follow_farm_share: 0.02,
            pod_member_share: 0.06,
            campaign_client_share: 0.015,
            scheduled_share: 0.04,
            new_creator_share: 0.08,
            boost_share: 0.015,
            size_alpha: 1.15,
            follows_median: 25.0,
            sessions_per_day_median: 2.5,
            session_budget_median_s: 420.0,
            mood_boost: 0.9,
            pod_size: (8, 25),
            campaign_puppets: (20, 60),
            reshare_bots: (8, 25),
            like_social_proof: 0.0,
            without_gaming: None,
        }
    }
}

/// Relative popularity of each topic (Zipf-like): shared by creators' topics and users'
/// interests.
pub fn topic_weights() -> [f64; WORLD_TOPICS] {
    let mut w = [0.0; WORLD_TOPICS];
    for (t, slot) in w.iter_mut().enumerate() {
        *slot = 1.0 / (t as f64 + 4.0).powf(0.8);
    }
    w
}

/// Relative activity by hour of day (mean 1): low at night, peaks at lunch and evening.
pub fn diurnal(t: u32) -> f64 {
    let h = (t % DAY) as f64 / HOUR as f64;
    let bump = |c: f64, w: f64| {
        let d = (h - c).abs().min(24.0 - (h - c).abs());
        (-(d / w).powi(2)).exp()
    };
    // Normalised numerically so the day's mean is 1.
    (0.25 + 0.5 * bump(12.5, 2.5) + 1.0 * bump(21.0, 2.2) + 0.35 * bump(8.0, 1.5)) / 0.543_563
}

/// Largest value of [`diurnal`] (for thinning).
pub const DIURNAL_MAX: f64 = 2.35;

/// The whole static world.
pub struct World {
    /// Run seed.
    pub seed: u64,
    /// Parameters.
    pub params: WorldParams,
    /// Simulated users (the feed's audience).
    pub users: Vec<User>,
    /// Creator accounts.
    pub creators: Vec<Creator>,
    /// Items posted during the run, sorted by posting time; an item's id is its index.
    pub items: Vec<Item>,
    /// Each creator's items, oldest first.
    pub creator_items: Vec<Vec<u32>>,
    /// Scripted inauthentic engagement, by time.
    pub scripted: Vec<ScriptedEvent>,
    /// Every session of every user, by start time (identical for all policies).
    pub sessions: Vec<SessionPlan>,
    /// Simulation start (core clock, seconds).
    pub start: u32,
    /// End of the warm-up: metrics count sessions starting at or after this.
    pub warmup_end: u32,
    /// Simulation end.
    pub end: u32,
    /// Number of campaign sock puppets, pods and bot networks (for reports).
    pub groups: GroupCounts,
}

/// How many inauthentic groups exist.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct GroupCounts {
    /// Engagement pods.
    pub pods: usize,
    /// Coordinated campaign groups.
    pub campaigns: usize,
    /// Sock puppets across campaigns.
    pub puppets: usize,
    /// Posting-bot networks.
    pub bot_networks: usize,
    /// Reshare bots across networks.
    pub reshare_bots: usize,
}

/// Counts describing a generated world (reported in the summary).
#[derive(Clone, Debug, Serialize)]
pub struct WorldStats {
    /// Simulated users.
    pub users: usize,
    /// Creators of each kind.
    pub creators: usize,
    /// Creators by kind, snake_case kind name to count.
    pub creators_by_kind: Vec<(String, usize)>,
    /// Items posted during the run.
    pub items: usize,
    /// Share of items by inauthentic accounts.
    pub inauthentic_item_share: f64,
    /// Share of items that are sponsored.
    pub sponsored_item_share: f64,
    /// Share of short-video items.
    pub short_video_share: f64,
    /// Median short-video duration, seconds.
    pub short_video_median_s: f64,
    /// Scripted inauthentic engagement events.
    pub scripted_events: usize,
    /// Follow edges between users and creators at the start.
    pub initial_follows: usize,
    /// Inauthentic groups.
    pub groups: GroupCounts,
}

impl World {
    /// Generates a world of `users` users over `warmup_days + days` days.
    pub fn generate(seed: u64, users: usize, warmup_days: f64, days: f64, params: WorldParams) -> World {
        let n_creators = ((users as f64 * params.creators_per_user).round() as usize).max(params.min_creators);
        let start = EPOCH;
        let warmup_end = start + (warmup_days * DAY as f64).round() as u32;
        let end = warmup_end + (days * DAY as f64).round() as u32;
        let (mut creators, groups_plan) = creators::generate(seed, n_creators, &params);
        let mut users_v = users::generate(seed, users, &creators, &params);
        if let Some(kind) = params.without_gaming {
            stop_gaming(seed, kind, &mut creators, &mut users_v);
        }
        if params.without_gaming != Some(CreatorKind::FollowFarm) {
            users::farm_follow_backs(seed, &mut users_v, &creators);
        }
        creators::finish_followers(seed, &mut creators, &users_v);
        let (items, creator_items) = items::generate(seed, &creators, &params, start, end);
        let mut scripted = inauthentic::script(seed, &creators, &groups_plan, &items);
        if let Some(kind) = params.without_gaming {
            // Scripted actions target the posts of the account that games.
            scripted.retain(|e| creators[items[e.item as usize].creator as usize].kind != kind);
        }
        let sessions = users::plan_sessions(seed, &users_v, start, end);
        World {
            seed,
            params,
            users: users_v,
            creators,
            items,
            creator_items,
            scripted,
            sessions,
            start,
            warmup_end,
            end,
            groups: groups_plan.counts(),
        }
    }

    /// Whether an item is by an inauthentic account.
    #[inline]
    pub fn item_inauthentic(&self, item: u32) -> bool {
        self.creators[self.items[item as usize].creator as usize].kind.is_inauthentic()
    }

    /// Summary counts.
    pub fn stats(&self) -> WorldStats {
        let mut by_kind: Vec<(String, usize)> = CreatorKind::ALL
            .iter()
            .map(|k| (k.name().to_string(), self.creators.iter().filter(|c| c.kind == *k).count()))
            .collect();
        by_kind.retain(|(_, n)| *n > 0);
        let n = self.items.len().max(1) as f64;
        let mut shorts: Vec<f64> = self
            .items
            .iter()
            .filter(|i| i.kind == edgerank_core::input::ContentKind::ShortVideo)
            .map(|i| i.duration_ms as f64 / 1000.0)
            .collect();
        shorts.sort_by(f64::total_cmp);
        WorldStats {
            users: self.users.len(),
            creators: self.creators.len(),
            creators_by_kind: by_kind,
            items: self.items.len(),
            inauthentic_item_share: (0..self.items.len() as u32).filter(|&i| self.item_inauthentic(i)).count() as f64
                / n,
            sponsored_item_share: self.items.iter().filter(|i| i.sponsored).count() as f64 / n,
            short_video_share: shorts.len() as f64 / n,
            short_video_median_s: shorts.get(shorts.len() / 2).copied().unwrap_or(0.0),
            scripted_events: self.scripted.len(),
            initial_follows: self.users.iter().map(|u| u.initial_follows.len()).sum(),
            groups: self.groups,
        }
    }
}

/// Turns the real world into the counterfactual one where accounts of `kind` do not game, up to
/// its scripted events (removed by [`World::generate`]): the users, their traits and their
/// sessions stay those of the real world. Their bought and harvested followers go, and with
/// them the social proof those lent when the initial follows were drawn: each user's follow of
/// such an account is kept with probability `w_without / w_with` (the account's
/// [`creators::follow_weight`] without and with them; a draw lands on it in proportion to its
/// weight), with a coin of its own per user and account, so no other draw moves. A follow that
/// goes is not replaced: those users follow one account fewer.
fn stop_gaming(seed: u64, kind: CreatorKind, creators: &mut [Creator], users: &mut [User]) {
    let mut keep = vec![1.0f64; creators.len()];
    for (c, cr) in creators.iter_mut().enumerate().filter(|(_, cr)| cr.kind == kind) {
        let with = creators::follow_weight(cr);
        cr.fake_followers = 0;
        cr.reciprocal_followers = 0;
        keep[c] = (creators::follow_weight(cr) / with).min(1.0);
    }
    for (u, user) in users.iter_mut().enumerate() {
        user.initial_follows.retain(|&c| {
            let p = keep[c as usize];
            p >= 1.0 || rng::unit(&mut rng::rng_for(seed, rng::Stream::Counterfactual, u as u64, c as u64)) < p
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counterfactual_world_differs_only_in_the_gaming_it_removes() {
        let real = World::generate(5, 300, 0.25, 0.5, WorldParams::default());
        for kind in CreatorKind::INAUTHENTIC {
            let cf =
                World::generate(5, 300, 0.25, 0.5, WorldParams { without_gaming: Some(kind), ..Default::default() });
            // The same accounts, posts, sessions and users' traits.
            assert_eq!(real.items.len(), cf.items.len());
            assert!(real
                .items
                .iter()
                .zip(&cf.items)
                .all(|(a, b)| (a.creator, a.created_at) == (b.creator, b.created_at)));
            assert_eq!(real.sessions.len(), cf.sessions.len());
            assert!(real.sessions.iter().zip(&cf.sessions).all(|(a, b)| (a.user, a.start) == (b.user, b.start)));
            let mut follows_removed = 0;
            for (a, b) in real.users.iter().zip(&cf.users) {
                assert_eq!(
                    (a.interests, a.activity, a.sessions_per_day),
                    (b.interests, b.activity, b.sessions_per_day)
                );
                // Follows: a subset, missing only accounts of this kind.
                assert!(b.initial_follows.iter().all(|c| a.initial_follows.binary_search(c).is_ok()));
                for c in a.initial_follows.iter().filter(|c| b.initial_follows.binary_search(c).is_err()) {
                    assert_eq!(real.creators[*c as usize].kind, kind);
                    follows_removed += 1;
                }
            }
            // The kind's own gaming is gone, every other kind's stays.
            let scripted_on = |w: &World, k: CreatorKind| {
                w.scripted.iter().filter(|e| w.creators[w.items[e.item as usize].creator as usize].kind == k).count()
            };
            for other in CreatorKind::INAUTHENTIC {
                let expected = if other == kind { 0 } else { scripted_on(&real, other) };
                assert_eq!(scripted_on(&cf, other), expected, "{kind:?} world, {other:?} events");
            }
            for (a, b) in real.creators.iter().zip(&cf.creators) {
                let gone = a.kind == kind;
                assert_eq!(b.fake_followers, if gone { 0 } else { a.fake_followers });
                assert_eq!(b.reciprocal_followers, if gone { 0 } else { a.reciprocal_followers });
            }
            match kind {
                // Social proof of the bought followers drew some of the real world's follows.
                CreatorKind::BoughtFollowers => assert!(follows_removed > 0),
                // And the harvested followers' social proof.
                CreatorKind::FollowFarm => assert!(follows_removed > 0),
                _ => assert_eq!(follows_removed, 0, "{kind:?}"),
            }
        }
        // And the real world has the gaming.
        assert!(real.creators.iter().any(|c| c.fake_followers > 0));
        assert!(!real.scripted.is_empty());
    }

    #[test]
    fn diurnal_mean_is_about_one() {
        let mean: f64 = (0..DAY).step_by(60).map(diurnal).sum::<f64>() / (DAY / 60) as f64;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        assert!((0..DAY).step_by(60).all(|t| diurnal(t) <= DIURNAL_MAX));
    }
}
