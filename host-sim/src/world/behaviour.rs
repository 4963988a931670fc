//! Ground-truth behaviour: how a user responds to an item.
//!
//! Everything starts from the item's *appeal* to this user right now: interest in the topic,
//! the item's latent quality, whether the user follows the author, the session's mood,
//! an idiosyncratic taste term, staleness, and whether it is an ad. From appeal and duration:
//!
//! - fast skip (under 3 s): more likely for unappealing and for long videos;
//! - completion: falls with duration (`length_aversion`), so long videos earn more seconds
//!   but lower completion (the duration bias of watch time);
//! - partial watch fraction and rewatches;
//! - like, comment, share, save, follow, profile visit (given a view), each with its own base
//!   rate and the user's engagement propensity; follows also respond to the follower count
//!   the author displays (social proof, which is what bought followers pay for); likes can
//!   also respond to the like count the item displays (`WorldParams::like_social_proof`, off
//!   by default);
//! - hide / see fewer, and report (spammy content is reported far more).
//!
//! [`Response::relevance`] is the expected satisfaction of showing the item: the ground truth
//! that the oracle ranks by and NDCG@10 is measured against.

use super::items::Item;
use super::{User, World};
use crate::rng::{self, sigmoid, SimRng, Stream};
use crate::world::users::SessionPlan;

/// Who is looking, and in what state of mind.
pub struct Viewer<'a> {
    /// User index.
    pub user_idx: u32,
    /// The user.
    pub user: &'a User,
    /// Creators the user follows now (sorted).
    pub follows: &'a [u32],
    /// Authors the user has hidden, asked to see fewer of, or reported.
    pub disliked: &'a [u32],
    /// The session (mood).
    pub plan: &'a SessionPlan,
}

/// The deterministic response parameters of one (user, item, moment).
#[derive(Clone, Copy, Debug, Default)]
pub struct Response {
    /// Appeal (latent).
    pub appeal: f64,
    /// Seconds of content (video duration or expected dwell).
    pub content_s: f64,
    /// Video (rewatches possible).
    pub is_video: bool,
    /// P(skip in under 3 s).
    pub p_skip: f64,
    /// P(watch or read to the end | not skipped).
    pub p_complete: f64,
    /// Mean watched fraction when not completing.
    pub partial_mean: f64,
    /// P(rewatch | completed), videos only.
    pub p_rewatch: f64,
    /// P(like | viewed).
    pub like: f64,
    /// P(comment | viewed).
    pub comment: f64,
    /// P(share | viewed).
    pub share: f64,
    /// P(save | viewed).
    pub save: f64,
    /// P(follow | viewed), 0 when already following.
    pub follow: f64,
    /// P(profile visit | viewed).
    pub visit: f64,
    /// P(hide or see fewer | shown).
    pub negative: f64,
    /// P(report | shown).
    pub report: f64,
}

/// What happened when the item was shown.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// Skipped in under 3 s.
    pub skipped: bool,
    /// Watched (or read) to the end.
    pub completed: bool,
    /// Rewatched.
    pub rewatched: bool,
    /// Played (or dwelt) / content seconds.
    pub ratio: f64,
    /// Seconds spent on the item.
    pub played_s: f64,
    /// Liked.
    pub like: bool,
    /// Commented.
    pub comment: bool,
    /// Shared.
    pub share: bool,
    /// Saved.
    pub save: bool,
    /// Followed the author.
    pub follow: bool,
    /// Visited the author's profile.
    pub visit: bool,
    /// Hid the item.
    pub hide: bool,
    /// Asked to see fewer of the author.
    pub see_fewer: bool,
    /// Reported.
    pub report: bool,
}

/// Satisfaction weights: the value of a full view and of each action.
const SAT_LIKE: f64 = 0.5;
const SAT_COMMENT: f64 = 0.8;
const SAT_SHARE: f64 = 0.8;
const SAT_SAVE: f64 = 0.6;
const SAT_FOLLOW: f64 = 1.0;
const SAT_VISIT: f64 = 0.2;
const SAT_NEGATIVE: f64 = -1.5;
const SAT_REPORT: f64 = -3.0;
/// Watch ratio counts toward satisfaction up to this cap.
const RATIO_CAP: f64 = 1.3;
/// Partial views watch `partial_mean * U(0.6, 1.4)`, capped here.
const PARTIAL_CAP: f64 = 0.97;

impl Outcome {
    /// Realised satisfaction (same scale as [`Response::relevance`]).
    pub fn satisfaction(&self) -> f64 {
        let mut s = if self.skipped { 0.0 } else { self.ratio.min(RATIO_CAP) };
        s += SAT_LIKE * self.like as u8 as f64
            + SAT_COMMENT * self.comment as u8 as f64
            + SAT_SHARE * self.share as u8 as f64
            + SAT_SAVE * self.save as u8 as f64
            + SAT_FOLLOW * self.follow as u8 as f64
            + SAT_VISIT * self.visit as u8 as f64;
        if self.hide || self.see_fewer {
            s += SAT_NEGATIVE;
        }
        if self.report {
            s += SAT_REPORT;
        }
        s
    }

    /// Counts as an engagement (like, comment, share, save or follow).
    pub fn engagements(&self) -> u32 {
        self.like as u32 + self.comment as u32 + self.share as u32 + self.save as u32 + self.follow as u32
    }
}

/// The appeal of an item to a viewer at `now`.
pub fn appeal(world: &World, v: &Viewer<'_>, item_id: u32, now: u32) -> f64 {
    appeal_with_taste(world, v, item_id, now, taste(world, v.user_idx, item_id))
}

/// The user's idiosyncratic taste for an item, ~N(0, 1): fixed per (user, item).
pub fn taste(world: &World, user_idx: u32, item_id: u32) -> f64 {
    rng::hash_normal(rng::key(world.seed, Stream::Taste, user_idx as u64, item_id as u64))
}

/// [`appeal`] with the taste term supplied (it is the costly part; sessions cache it).
pub fn appeal_with_taste(world: &World, v: &Viewer<'_>, item_id: u32, now: u32, taste: f64) -> f64 {
    let it = &world.items[item_id as usize];
    let interest = v.user.interests.get(it.topic as usize).copied().unwrap_or(0.0) as f64;
    let follows = v.follows.binary_search(&it.creator).is_ok();
    let disliked = v.disliked.contains(&it.creator);
    let age_h = now.saturating_sub(it.created_at) as f64 / 3_600.0;
    1.5 * interest
        + 0.8 * it.quality as f64
        + 0.5 * follows as u8 as f64
        + world.params.mood_boost * v.plan.in_mood(it.topic) as u8 as f64
        + 0.4 * taste
        - 2.0 * disliked as u8 as f64
        - 0.25 * (1.0 + age_h / 12.0).log2()
        - 0.6 * it.sponsored as u8 as f64
}

/// The response parameters. `displayed_followers` is the follower count the author shows,
/// `displayed_likes` the like count the item shows.
pub fn response(
    world: &World,
    v: &Viewer<'_>,
    item_id: u32,
    now: u32,
    displayed_followers: u32,
    displayed_likes: u32,
) -> Response {
    response_with_taste(world, v, item_id, now, displayed_followers, displayed_likes, taste(world, v.user_idx, item_id))
}

/// [`response`] with the taste term supplied.
pub fn response_with_taste(
    world: &World,
    v: &Viewer<'_>,
    item_id: u32,
    now: u32,
    displayed_followers: u32,
    displayed_likes: u32,
    taste: f64,
) -> Response {
    let it: &Item = &world.items[item_id as usize];
    let cr = &world.creators[it.creator as usize];
    let a = appeal_with_taste(world, v, item_id, now, taste);
    let is_video = it.kind.is_video();
    let content_s = it.content_s();
    let ld = if is_video { (content_s / 20.0).ln() } else { 0.0 };
    let act = v.user.activity as f64;
    let following = v.follows.binary_search(&it.creator).is_ok();
    let la = v.user.length_aversion as f64;
    Response {
        appeal: a,
        content_s,
        is_video,
        p_skip: sigmoid(-1.3 - 1.6 * a + 0.25 * ld),
        p_complete: sigmoid(0.3 + 1.4 * a - la * ld),
        partial_mean: 0.1 + 0.75 * sigmoid(-0.3 + a - 0.3 * ld),
        p_rewatch: if is_video { sigmoid(-2.2 + a - 0.6 * ld) } else { 0.0 },
        like: sigmoid(-3.1 + 1.3 * a + act + world.params.like_social_proof * (1.0 + displayed_likes as f64).log10()),
        comment: sigmoid(-5.3 + 1.1 * a + act + 0.5 * following as u8 as f64),
        share: sigmoid(-5.2 + 1.3 * a + act),
        save: sigmoid(-4.9 + 1.1 * a + 0.5 * act),
        follow: if following {
            0.0
        } else {
            sigmoid(-5.6 + 1.3 * a + 0.25 * (1.0 + displayed_followers as f64).log10())
        },
        visit: sigmoid(-4.2 + 0.9 * a + 0.3 * act),
        negative: sigmoid(-6.0 - 1.3 * a + v.user.negativity as f64),
        report: sigmoid(-8.5 - a + 4.5 * cr.spam),
    }
}

/// E[min(m * Y, cap)] for Y ~ U(0.6, 1.4).
fn expected_partial(m: f64) -> f64 {
    let (lo, hi) = (0.6 * m, 1.4 * m);
    if hi <= PARTIAL_CAP {
        return m;
    }
    if lo >= PARTIAL_CAP {
        return PARTIAL_CAP;
    }
    ((PARTIAL_CAP * PARTIAL_CAP - lo * lo) / 2.0 + PARTIAL_CAP * (hi - PARTIAL_CAP)) / (hi - lo)
}

impl Response {
    /// Expected satisfaction of showing the item (never below 0): the ground-truth relevance.
    pub fn relevance(&self) -> f64 {
        // Rewatch adds U(0.2, 1.0) to a full view; capped at RATIO_CAP its mean gain is 0.294.
        let view_ratio = self.p_complete * (1.0 + self.p_rewatch * 0.294)
            + (1.0 - self.p_complete) * expected_partial(self.partial_mean);
        let actions = SAT_LIKE * self.like
            + SAT_COMMENT * self.comment
            + SAT_SHARE * self.share
            + SAT_SAVE * self.save
            + SAT_FOLLOW * self.follow
            + SAT_VISIT * self.visit;
        let v = (1.0 - self.p_skip) * (view_ratio + actions) + SAT_NEGATIVE * self.negative + SAT_REPORT * self.report;
        v.max(0.0)
    }

    /// Draws what happens.
    pub fn sample(&self, rng: &mut SimRng) -> Outcome {
        let mut o = Outcome::default();
        if rng::chance(rng, self.p_skip) {
            o.skipped = true;
            o.played_s = rng::uniform(rng, 0.4, 2.9).min(self.content_s);
            o.ratio = o.played_s / self.content_s;
        } else {
            if rng::chance(rng, self.p_complete) {
                o.completed = true;
                o.ratio = 1.0;
                if rng::chance(rng, self.p_rewatch) {
                    o.rewatched = true;
                    o.ratio += rng::uniform(rng, 0.2, 1.0);
                }
            } else {
                o.ratio = (self.partial_mean * rng::uniform(rng, 0.6, 1.4)).min(PARTIAL_CAP);
            }
            o.played_s = o.ratio * self.content_s;
            o.like = rng::chance(rng, self.like);
            o.comment = rng::chance(rng, self.comment);
            o.share = rng::chance(rng, self.share);
            o.save = rng::chance(rng, self.save);
            o.follow = rng::chance(rng, self.follow);
            o.visit = rng::chance(rng, self.visit);
        }
        if rng::chance(rng, self.negative) {
            if rng::chance(rng, 0.6) {
                o.hide = true;
            } else {
                o.see_fewer = true;
            }
        }
        o.report = rng::chance(rng, self.report);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_partial_matches_sampling() {
        let mut r = rng::rng_for(5, Stream::Session, 0, 0);
        for m in [0.2, 0.6, 0.75, 0.85] {
            let n = 200_000;
            let mc: f64 = (0..n).map(|_| (m * rng::uniform(&mut r, 0.6, 1.4)).min(PARTIAL_CAP)).sum::<f64>() / n as f64;
            assert!((mc - expected_partial(m)).abs() < 3e-3, "{m}: {mc} vs {}", expected_partial(m));
        }
    }

    #[test]
    fn relevance_is_the_mean_satisfaction() {
        let resp = Response {
            appeal: 0.5,
            content_s: 20.0,
            is_video: true,
            p_skip: 0.2,
            p_complete: 0.5,
            partial_mean: 0.5,
            p_rewatch: 0.3,
            like: 0.1,
            comment: 0.02,
            share: 0.03,
            save: 0.02,
            follow: 0.01,
            visit: 0.03,
            negative: 0.02,
            report: 0.001,
        };
        let mut r = rng::rng_for(9, Stream::Session, 0, 0);
        let n = 400_000;
        let mc: f64 = (0..n).map(|_| resp.sample(&mut r).satisfaction()).sum::<f64>() / n as f64;
        assert!((mc - resp.relevance()).abs() < 0.01, "{mc} vs {}", resp.relevance());
    }
}
