//! The server side of one policy's world: counters accumulated from what actually happened
//! (simulated impressions and scripted inauthentic activity), candidate pools rebuilt every
//! tick, and the [`Candidate`] records sent to the device.
//!
//! Nothing here knows which accounts are inauthentic. Every signal the core's integrity rules
//! read is computed from observable history: follower counts (including bought ones), early
//! engagement and who engaged early, posting times, engagement per impression.

use edgerank_core::input::{AuthorSignals, Candidate, CandidateFlags, GlobalSignals};
use edgerank_core::num::{Prob, WatchRatio};
use edgerank_core::state::UserState;
use serde::Serialize;

use std::collections::VecDeque;

use crate::device::check::RankObserver;
use crate::rng::{self, SimRng};
use crate::world::inauthentic::ScriptedEvent;
use crate::world::{CreatorKind, World, DAY, EPOCH, HOUR, WORLD_TOPICS};

/// Bits of an impression delta.
pub mod bits {
    /// Skipped in under 3 s.
    pub const SKIP: u16 = 1;
    /// Watched to the end.
    pub const COMPLETE: u16 = 2;
    /// Rewatched.
    pub const REWATCH: u16 = 4;
    /// Liked.
    pub const LIKE: u16 = 8;
    /// Commented.
    pub const COMMENT: u16 = 16;
    /// Shared.
    pub const SHARE: u16 = 32;
    /// Hid, asked to see fewer, or reported.
    pub const NEGATIVE: u16 = 64;
    /// Followed the author.
    pub const FOLLOW: u16 = 128;
    /// Saved.
    pub const SAVE: u16 = 256;
}

/// One view of an item, as the server logs it.
#[derive(Clone, Copy, Debug)]
pub struct Delta {
    /// Item id.
    pub item: u32,
    /// When.
    pub at: u32,
    /// Who (a user index, or an actor id for scripted accounts).
    pub actor: u32,
    /// [`bits`].
    pub bits: u16,
    /// Played / duration (or dwell ratio), thousandths.
    pub ratio_milli: u32,
}

/// How the server computes [`AuthorSignals::engagement_rate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// Engagements per post per displayed follower over the author's posts: the field's
    /// documented meaning, which the core's bought-follower rule reads.
    PerFollower,
    /// Engagements per impression over the author's posts (for comparison: bought followers
    /// do not lower it, so the bought-follower rule almost never fires).
    PerImpression,
}

/// Counters of one item.
#[derive(Clone, Debug, Default)]
pub struct ItemStats {
    /// Views.
    pub impressions: u32,
    /// Likes.
    pub likes: u32,
    /// Comments.
    pub comments: u32,
    /// Shares.
    pub shares: u32,
    /// Hides, see-fewer and reports.
    pub negative: u32,
    /// Engagements in the first 10 minutes.
    pub eng_10m: u32,
    /// Engagements in the first 2 hours.
    pub eng_2h: u32,
    /// Sum of view ratios, thousandths.
    pub ratio_sum_milli: u64,
    /// Views watched to the end.
    pub completions: u32,
    /// Views skipped in under 3 s.
    pub skips: u32,
    /// Views with a rewatch.
    pub rewatches: u32,
    /// Accounts that engaged in the first 10 minutes (at most [`EARLY_CAP`]).
    pub early: Vec<u32>,
    /// Share of `early` who also engaged early with the author's previous posts.
    pub overlap: f32,
}

/// Most early engagers remembered per item.
pub const EARLY_CAP: usize = 64;
/// Previous posts of the author compared for early-engager overlap.
pub const OVERLAP_POSTS: usize = 5;
/// Recommended items stay in the pools this long.
pub const RECOMMEND_WINDOW_S: u32 = 3 * DAY;
/// Followed accounts' items stay eligible this long.
pub const IN_NETWORK_WINDOW_S: u32 = 3 * DAY;
/// Tournament size of topic retrieval: the best of this many random live items of the topic
/// by retrieval score (a popularity bias that does not depend on the world's size).
const TOPIC_TOURNAMENT: usize = 3;
/// Tournament size of exploration (random topics).
const EXPLORE_TOURNAMENT: usize = 2;
/// Share of items under 24 h kept as trending, and the fewest kept.
const TRENDING_SHARE_OF_DAY: f64 = 0.03;
const TRENDING_MIN: usize = 30;
/// Sponsored items run this long.
const CAMPAIGN_S: u32 = 2 * DAY;
/// The popular-accounts source is recomputed this often.
const POPULAR_EVERY_S: u32 = HOUR;

/// Counters of one author.
#[derive(Clone, Debug, Default)]
pub struct AuthorStats {
    /// Impressions of the author's posts.
    pub impressions: u64,
    /// Likes, comments and shares on the author's posts.
    pub engagements: u64,
    /// Simulated users following now.
    pub active_followers: u32,
}

/// Candidate pools, kept up to date every tick.
#[derive(Default)]
pub struct Pools {
    /// Live organic items per topic, in posting order (expired ones leave from the front).
    pub by_topic: Vec<VecDeque<u32>>,
    /// Live sponsored items per topic.
    pub sponsored_by_topic: Vec<VecDeque<u32>>,
    /// All live sponsored items.
    pub sponsored: VecDeque<u32>,
    /// Items under 24 h with the most engagement in their first 2 hours.
    pub trending: Vec<u32>,
    /// Items posted in the last 2 hours: ids `fresh.0..fresh.1` (sponsored ones skipped).
    pub fresh: (u32, u32),
    /// Organic items under 24 h of the accounts with the most followers.
    pub popular: Vec<u32>,
    /// Next item id not yet added.
    next_item: usize,
    /// When `popular` was last rebuilt.
    popular_at: Option<u32>,
}

/// One policy's server.
pub struct Server<'w> {
    world: &'w World,
    basis: RateBasis,
    /// Per-item counters.
    pub items: Vec<ItemStats>,
    /// Per-author counters.
    pub authors: Vec<AuthorStats>,
    /// Pools for the current tick.
    pub pools: Pools,
    scripted_cursor: usize,
    dirty: Vec<u32>,
    observer: Option<&'w dyn RankObserver>,
}

/// Batch composition: shares of the batch per source.
const IN_NETWORK_SHARE: f64 = 0.35;
const TOPIC_SHARE: f64 = 0.30;
const TRENDING_SHARE: f64 = 0.12;
const FRESH_SHARE: f64 = 0.08;
const POPULAR_SHARE: f64 = 0.05;
/// Sponsored candidates per batch: at most 8, one per 30 candidates (8 in the default batch
/// of 240; none below 30, so that a small batch is not mostly ads).
const SPONSORED_PER_BATCH: usize = 8;
const CANDIDATES_PER_SPONSORED: usize = 30;

impl<'w> Server<'w> {
    /// A server with empty counters.
    pub fn new(world: &'w World, basis: RateBasis) -> Self {
        let authors = world
            .creators
            .iter()
            .map(|c| AuthorStats { active_followers: c.initial_active_followers, ..AuthorStats::default() })
            .collect();
        Server {
            world,
            basis,
            items: vec![ItemStats::default(); world.items.len()],
            authors,
            pools: Pools::default(),
            scripted_cursor: 0,
            dirty: Vec::new(),
            observer: None,
        }
    }

    /// The same server, also sending every rank call and feedback event of its users' devices
    /// to `observer` (`compare --device`: the firmware ranks each call too).
    pub fn with_observer(mut self, observer: &'w dyn RankObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Where sessions report each page ranked and each feedback event applied to a user's
    /// state, when the run checks devices ([`crate::device::check`]).
    pub fn observer(&self) -> Option<&'w dyn RankObserver> {
        self.observer
    }

    /// Records one view.
    pub fn apply(&mut self, d: &Delta) {
        let it = &self.world.items[d.item as usize];
        let s = &mut self.items[d.item as usize];
        s.impressions += 1;
        s.ratio_sum_milli += d.ratio_milli as u64;
        let b = d.bits;
        s.skips += (b & bits::SKIP != 0) as u32;
        s.completions += (b & bits::COMPLETE != 0) as u32;
        s.rewatches += (b & bits::REWATCH != 0) as u32;
        let like = (b & bits::LIKE != 0) as u32;
        let comment = (b & bits::COMMENT != 0) as u32;
        let share = (b & bits::SHARE != 0) as u32;
        s.likes += like;
        s.comments += comment;
        s.shares += share;
        s.negative += (b & bits::NEGATIVE != 0) as u32;
        let eng = like + comment + share;
        if eng > 0 {
            let age = d.at.saturating_sub(it.created_at);
            if age < 600 {
                s.eng_10m += eng;
                if s.early.len() < EARLY_CAP && !s.early.contains(&d.actor) {
                    s.early.push(d.actor);
                    self.dirty.push(d.item);
                }
            }
            if age < 2 * HOUR {
                s.eng_2h += eng;
            }
        }
        let a = &mut self.authors[it.creator as usize];
        a.impressions += 1;
        a.engagements += eng as u64;
        if b & bits::FOLLOW != 0 {
            a.active_followers += 1;
        }
    }

    /// Brings the server to time `t`: scripted activity before `t`, overlaps, pools.
    pub fn advance(&mut self, t: u32) {
        self.advance_observed(t, |_, _| {});
    }

    /// [`Server::advance`], calling `before` with each scripted event just before the server
    /// records it (the counters as the acting account's device would have received them).
    pub fn advance_observed(&mut self, t: u32, mut before: impl FnMut(&Server<'w>, &ScriptedEvent)) {
        while let Some(e) = self.world.scripted.get(self.scripted_cursor) {
            if e.at >= t {
                break;
            }
            before(self, e);
            use crate::world::inauthentic::what;
            let mut b = 0;
            if e.what & what::LIKE != 0 {
                b |= bits::LIKE;
            }
            if e.what & what::COMMENT != 0 {
                b |= bits::COMMENT;
            }
            if e.what & what::SHARE != 0 {
                b |= bits::SHARE;
            }
            if e.ratio_milli >= 1000 {
                b |= bits::COMPLETE;
            }
            let d = Delta { item: e.item, at: e.at, actor: e.actor, bits: b, ratio_milli: e.ratio_milli as u32 };
            self.apply(&d);
            self.scripted_cursor += 1;
        }
        self.update_overlaps();
        self.rebuild_pools(t);
    }

    fn update_overlaps(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for &item in &dirty {
            let creator = self.world.items[item as usize].creator as usize;
            let list = &self.world.creator_items[creator];
            let pos = list.partition_point(|&i| i < item);
            let prev = &list[pos.saturating_sub(OVERLAP_POSTS)..pos];
            let early = &self.items[item as usize].early;
            let overlap = if early.is_empty() || prev.is_empty() {
                0.0
            } else {
                let hits =
                    early.iter().filter(|a| prev.iter().any(|&p| self.items[p as usize].early.contains(a))).count();
                hits as f32 / early.len() as f32
            };
            self.items[item as usize].overlap = overlap;
        }
        dirty.clear();
        self.dirty = dirty;
    }

    /// Engagement-based retrieval score (no integrity logic: retrieval is the same for all
    /// policies; ranking is what differs).
    fn retrieval_score(&self, item: u32, now: u32) -> f64 {
        let s = &self.items[item as usize];
        let it = &self.world.items[item as usize];
        let eng = s.likes as f64 + 2.0 * s.comments as f64 + 3.0 * s.shares as f64;
        let ratio =
            if s.impressions > 0 { (s.ratio_sum_milli as f64 / 1000.0 / s.impressions as f64).min(1.5) } else { 0.5 };
        let age_h = now.saturating_sub(it.created_at) as f64 / HOUR as f64;
        (eng + 1.0) / (s.impressions as f64 + 20.0) * (0.5 + ratio / 2.0) / (1.0 + age_h / 24.0)
    }

    fn rebuild_pools(&mut self, now: u32) {
        let w = self.world;
        let items = &w.items;
        let pools = &mut self.pools;
        if pools.by_topic.is_empty() {
            pools.by_topic = vec![VecDeque::new(); WORLD_TOPICS];
            pools.sponsored_by_topic = vec![VecDeque::new(); WORLD_TOPICS];
        }
        // New items (posted before `now`) join their topic; expired ones leave.
        while pools.next_item < items.len() && items[pools.next_item].created_at < now {
            let id = pools.next_item as u32;
            let it = &items[pools.next_item];
            if it.sponsored {
                pools.sponsored_by_topic[it.topic as usize].push_back(id);
                pools.sponsored.push_back(id);
            } else {
                pools.by_topic[it.topic as usize].push_back(id);
            }
            pools.next_item += 1;
        }
        let expired = |q: &mut VecDeque<u32>, window: u32| {
            while let Some(&id) = q.front() {
                if items[id as usize].created_at + window < now {
                    q.pop_front();
                } else {
                    break;
                }
            }
        };
        for q in pools.by_topic.iter_mut() {
            expired(q, RECOMMEND_WINDOW_S);
        }
        for q in pools.sponsored_by_topic.iter_mut() {
            expired(q, CAMPAIGN_S);
        }
        expired(&mut pools.sponsored, CAMPAIGN_S);

        let hi = pools.next_item;
        let day_lo = items.partition_point(|i| i.created_at + DAY < now);
        let fresh_lo = items.partition_point(|i| i.created_at + 2 * HOUR < now);
        pools.fresh = (fresh_lo as u32, hi as u32);
        let mut trending: Vec<(u32, u32)> = (day_lo as u32..hi as u32)
            .filter(|&id| !items[id as usize].sponsored && self.items[id as usize].eng_2h > 0)
            .map(|id| (self.items[id as usize].eng_2h, id))
            .collect();
        let keep = ((hi - day_lo) as f64 * TRENDING_SHARE_OF_DAY).round() as usize;
        let keep = keep.max(TRENDING_MIN);
        let by_count = |a: &(u32, u32), b: &(u32, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        if trending.len() > keep {
            trending.select_nth_unstable_by(keep, by_count);
            trending.truncate(keep);
        }
        trending.sort_by(by_count);
        self.pools.trending = trending.into_iter().map(|(_, id)| id).collect();

        if self.pools.popular_at.is_none_or(|t| now >= t + POPULAR_EVERY_S) {
            self.pools.popular_at = Some(now);
            // The top 2 % of accounts by displayed followers (at least 10), their posts < 24 h.
            let mut by_followers: Vec<(u32, u32)> = (0..w.creators.len() as u32)
                .filter(|&c| w.creators[c as usize].kind != CreatorKind::Advertiser)
                .map(|c| (self.displayed_followers(c), c))
                .collect();
            let k = (w.creators.len() / 50).max(10).min(by_followers.len());
            if k > 0 && k < by_followers.len() {
                by_followers.select_nth_unstable_by(k - 1, by_count);
            }
            let mut popular: Vec<u32> = Vec::new();
            for &(_, c) in &by_followers[..k] {
                for &id in w.creator_items[c as usize].iter().rev() {
                    let it = &items[id as usize];
                    if it.created_at >= now {
                        continue;
                    }
                    if it.created_at + DAY < now {
                        break;
                    }
                    if !it.sponsored {
                        popular.push(id);
                    }
                }
            }
            popular.sort_unstable();
            self.pools.popular = popular;
        }
    }

    /// The best of `k` random live items of a topic by retrieval score.
    fn tournament(&self, topic: usize, k: usize, now: u32, rng: &mut SimRng) -> Option<u32> {
        let q = &self.pools.by_topic[topic];
        if q.is_empty() {
            return None;
        }
        (0..k)
            .map(|_| q[rng::below(rng, q.len())])
            .max_by(|&a, &b| self.retrieval_score(a, now).total_cmp(&self.retrieval_score(b, now)).then(b.cmp(&a)))
    }

    /// Followers the author displays: simulated followers plus dormant, bought and harvested ones.
    pub fn displayed_followers(&self, creator: u32) -> u32 {
        self.authors[creator as usize].active_followers + self.world.creators[creator as usize].static_followers()
    }

    /// The server's candidate generation for one session: in-network items, the user's topics
    /// (as the server knows them: the user state it last received), trending, exploration,
    /// fresh, popular accounts, and a few sponsored items. Items the user was already shown
    /// (`history`, sorted) are left out.
    pub fn gather(
        &self,
        now: u32,
        follows: &[u32],
        known: &UserState,
        history: &[u32],
        batch: usize,
        rng: &mut SimRng,
    ) -> Vec<u32> {
        let w = self.world;
        let sponsored = SPONSORED_PER_BATCH.min(batch / CANDIDATES_PER_SPONSORED);
        // The organic sources fill at most this many; their shares (0.9 of the batch in all)
        // can round past it in a small batch.
        let organic = batch - sponsored;
        let mut out: Vec<u32> = Vec::with_capacity(batch);
        let mut taken = std::collections::HashSet::with_capacity(batch * 2);
        let shown = |id: u32| history.binary_search(&id).is_ok();
        let mut add = |id: u32, out: &mut Vec<u32>| -> bool {
            if out.len() >= organic || shown(id) || w.items[id as usize].created_at > now || !taken.insert(id) {
                return false;
            }
            out.push(id);
            true
        };
        let quota = |share: f64| ((batch as f64) * share).round() as usize;

        // In-network: up to 4 newest posts per followed account, newest first overall.
        let mut inn: Vec<u32> = Vec::new();
        for &c in follows {
            let list = &w.creator_items[c as usize];
            let end = list.partition_point(|&i| w.items[i as usize].created_at <= now);
            let mut n = 0;
            for &id in list[..end].iter().rev() {
                let it = &w.items[id as usize];
                if it.created_at + IN_NETWORK_WINDOW_S < now || n >= 4 {
                    break;
                }
                if !it.sponsored && !shown(id) {
                    inn.push(id);
                    n += 1;
                }
            }
        }
        inn.sort_by(|a, b| b.cmp(a)); // ids are in posting order
        let q = quota(IN_NETWORK_SHARE);
        for id in inn {
            if out.len() >= q {
                break;
            }
            add(id, &mut out);
        }

        // The user's topics as the server knows them.
        let mut topics: Vec<(i16, u8)> =
            (0..WORLD_TOPICS as u8).map(|t| (known.topic_interest(t).raw(), t)).filter(|(v, _)| *v > 0).collect();
        topics.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        topics.truncate(5);
        let q = quota(TOPIC_SHARE);
        if topics.is_empty() {
            // Nothing known yet: popular topics.
            for _ in 0..5 {
                topics.push((0, rng::below(rng, 12) as u8));
            }
        }
        let per = q.div_ceil(topics.len());
        for &(_, t) in &topics {
            for _ in 0..per * 2 {
                if out.len() >= quota(IN_NETWORK_SHARE) + q {
                    break;
                }
                if let Some(id) = self.tournament(t as usize, TOPIC_TOURNAMENT, now, rng) {
                    add(id, &mut out);
                }
            }
        }
        let mut from_list = |pool: &[u32], n: usize, rng: &mut SimRng, out: &mut Vec<u32>| {
            let mut got = 0;
            for _ in 0..n * 3 {
                if pool.is_empty() || got >= n {
                    break;
                }
                if add(pool[rng::below(rng, pool.len())], out) {
                    got += 1;
                }
            }
        };
        from_list(&self.pools.trending, quota(TRENDING_SHARE), rng, &mut out);
        from_list(&self.pools.popular, quota(POPULAR_SHARE), rng, &mut out);
        let (lo, hi) = self.pools.fresh;
        let mut got = 0;
        for _ in 0..quota(FRESH_SHARE) * 3 {
            if hi <= lo || got >= quota(FRESH_SHARE) {
                break;
            }
            let id = lo + rng::below(rng, (hi - lo) as usize) as u32;
            if !w.items[id as usize].sponsored && add(id, &mut out) {
                got += 1;
            }
        }
        // Exploration (random topics) fills the rest.
        for _ in 0..organic * 3 {
            if out.len() >= organic {
                break;
            }
            let t = rng::below(rng, WORLD_TOPICS);
            if let Some(id) = self.tournament(t, EXPLORE_TOURNAMENT, now, rng) {
                add(id, &mut out);
            }
        }
        // Sponsored: targeted to the user's topics, then any.
        let mut sp = 0;
        for &(_, t) in &topics {
            for &id in &self.pools.sponsored_by_topic[t as usize] {
                if sp >= sponsored.div_ceil(2) {
                    break;
                }
                if !shown(id) && w.items[id as usize].created_at <= now && taken.insert(id) {
                    out.push(id);
                    sp += 1;
                }
            }
        }
        let all = &self.pools.sponsored;
        let mut tries = 0;
        while sp < sponsored && !all.is_empty() && tries < 32 {
            tries += 1;
            let id = all[rng::below(rng, all.len())];
            if !shown(id) && w.items[id as usize].created_at <= now && taken.insert(id) {
                out.push(id);
                sp += 1;
            }
        }
        out
    }

    /// The candidate record the device receives for an item at `now`.
    pub fn candidate(&self, item: u32, now: u32, in_network: bool) -> Candidate {
        let w = self.world;
        let it = &w.items[item as usize];
        let s = &self.items[item as usize];
        let c = it.creator;
        let cr = &w.creators[c as usize];
        let a = &self.authors[c as usize];
        let views = s.impressions.max(1) as f64;
        let rate = |n: u32| Prob::from_f64(n as f64 / views);
        let followers = self.displayed_followers(c);
        let list = &w.creator_items[c as usize];
        let posted = list.partition_point(|&i| w.items[i as usize].created_at <= now);
        let regularity = if posted > 0 { w.items[list[posted - 1] as usize].regularity } else { 0.0 };
        let engagement_rate = match self.basis {
            RateBasis::PerImpression => {
                if a.impressions == 0 {
                    0.0
                } else {
                    a.engagements as f64 / a.impressions as f64
                }
            }
            RateBasis::PerFollower => a.engagements as f64 / posted.max(1) as f64 / followers.max(1) as f64,
        };
        Candidate {
            item_id: item,
            author_id: c,
            created_at: it.created_at,
            duration_ms: it.duration_ms,
            kind: it.kind,
            topic: it.topic,
            flags: CandidateFlags::new(in_network, it.sponsored, false),
            global: GlobalSignals {
                impressions: s.impressions,
                likes: s.likes,
                comments: s.comments,
                shares: s.shares,
                negative: s.negative,
                engagements_first_10m: s.eng_10m,
                engagements_first_2h: s.eng_2h,
                early_engager_overlap: Prob::from_f64(s.overlap as f64),
                mean_watch_ratio: if s.impressions == 0 {
                    WatchRatio::ZERO
                } else {
                    WatchRatio::from_f64(s.ratio_sum_milli as f64 / 1000.0 / views)
                },
                completion_rate: if s.impressions == 0 { Prob::ZERO } else { rate(s.completions) },
                skip_rate: if s.impressions == 0 { Prob::ZERO } else { rate(s.skips) },
                rewatch_rate: if s.impressions == 0 { Prob::ZERO } else { rate(s.rewatches) },
            },
            author: AuthorSignals {
                followers,
                followings: cr.followings,
                account_age_days: (cr.age0_days + now.saturating_sub(EPOCH) as f64 / DAY as f64) as u32,
                impressions: a.impressions.min(u32::MAX as u64) as u32,
                engagement_rate: Prob::from_f64(engagement_rate),
                posting_regularity: Prob::from_f64(regularity as f64),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldParams;

    #[test]
    fn a_batch_holds_at_most_its_size_and_a_small_one_is_not_mostly_ads() {
        let world = World::generate(5, 60, 0.5, 0.5, WorldParams::default());
        let mut server = Server::new(&world, RateBasis::PerFollower);
        let now = world.start + 12 * 3600;
        server.advance(now);
        let user = &world.users[0];
        let mut rng = crate::rng::rng_for(5, crate::rng::Stream::Server, 0, 0);
        for batch in [1, 8, 20, 29, 30, 40, 100, 240] {
            let ids = server.gather(now, &user.initial_follows, &UserState::new(), &[], batch, &mut rng);
            let ads = ids.iter().filter(|&&id| world.items[id as usize].sponsored).count();
            assert!(ids.len() <= batch, "batch {batch}: {} candidates", ids.len());
            assert!(ads <= (batch / 30).min(8), "batch {batch}: {ads} sponsored of {}", ids.len());
            if batch == 240 {
                assert_eq!((ids.len(), ads), (240, 8));
            }
        }
    }
}
