//! The simulated audience: interests, habits, patience, and the initial follow graph.

use super::creators::{Creator, CreatorKind, FollowIndex};
use super::{diurnal, topic_weights, WorldParams, DAY, DIURNAL_MAX, WORLD_TOPICS};
use crate::rng::{self, Stream};

/// One simulated user.
#[derive(Clone, Debug)]
pub struct User {
    /// True long-term interest per topic, in [-1, 1].
    pub interests: [f32; WORLD_TOPICS],
    /// Favourite topics, most liked first (for session moods).
    pub favourites: Vec<u8>,
    /// Log-scale engagement propensity (0 = typical; most users lurk, a few engage a lot).
    pub activity: f32,
    /// Log-scale propensity to hide or report.
    pub negativity: f32,
    /// Satisfaction below which the user grows impatient.
    pub threshold: f32,
    /// Scale of the hazard of ending a session (about 1.3: half of sessions at neutral
    /// satisfaction end by the intended time).
    pub quit_rate: f32,
    /// Sensitivity to video length (higher: long videos are abandoned sooner).
    pub length_aversion: f32,
    /// Mean sessions per day.
    pub sessions_per_day: f32,
    /// Median time the user intends to spend per session, seconds.
    pub budget_median_s: f32,
    /// Creators followed at the start, sorted.
    pub initial_follows: Vec<u32>,
}

/// One planned session: when it starts and what the user is in the mood for. Plans are part
/// of the static world, so every policy serves exactly the same sessions.
#[derive(Clone, Copy, Debug)]
pub struct SessionPlan {
    /// Start time (core clock).
    pub start: u32,
    /// User index.
    pub user: u32,
    /// The user's n-th session (seeds its behaviour stream).
    pub index: u32,
    /// Time the user means to spend, seconds (the session may end sooner or run over).
    pub budget_s: f32,
    /// Topics the user is in the mood for this session (short-term intent).
    pub mood: [u8; 2],
    /// How many of `mood` apply (1 or 2).
    pub mood_len: u8,
}

impl SessionPlan {
    /// Whether a topic is one of this session's moods.
    #[inline]
    pub fn in_mood(&self, topic: u8) -> bool {
        self.mood[..self.mood_len as usize].contains(&topic)
    }
}

/// Generates users and their initial follows.
pub fn generate(seed: u64, n: usize, creators: &[Creator], p: &WorldParams) -> Vec<User> {
    let tw = topic_weights();
    let mut topic_cum = Vec::with_capacity(WORLD_TOPICS);
    let mut acc = 0.0;
    for w in tw {
        acc += w;
        topic_cum.push(acc);
    }
    let index = FollowIndex::new(creators);
    (0..n)
        .map(|u| {
            let mut r = rng::rng_for(seed, Stream::Users, u as u64, 0);
            let mut interests = [0f32; WORLD_TOPICS];
            for v in interests.iter_mut() {
                *v = (-0.15 + 0.15 * rng::normal(&mut r)).clamp(-0.6, 0.2) as f32;
            }
            let k = 2 + rng::below(&mut r, 5);
            let mut favourites: Vec<(f32, u8)> = Vec::new();
            let mut tries = 0;
            while favourites.len() < k && tries < 50 {
                tries += 1;
                let t = rng::pick_cumulative(&mut r, &topic_cum) as u8;
                if favourites.iter().any(|f| f.1 == t) {
                    continue;
                }
                let v = rng::uniform(&mut r, 0.4, 1.0) as f32;
                interests[t as usize] = v;
                favourites.push((v, t));
            }
            for _ in 0..1 + rng::below(&mut r, 2) {
                let t = rng::below(&mut r, WORLD_TOPICS);
                if !favourites.iter().any(|f| f.1 as usize == t) {
                    interests[t] = rng::uniform(&mut r, -0.9, -0.5) as f32;
                }
            }
            favourites.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let favourites: Vec<u8> = favourites.into_iter().map(|f| f.1).collect();

            // Follows: a topic (mostly a liked one), then a creator of it by audience size.
            let want = rng::lognormal(&mut r, p.follows_median, 0.8).clamp(3.0, 400.0) as usize;
            let mut liked_cum = Vec::with_capacity(WORLD_TOPICS);
            let mut acc = 0.0;
            for (t, v) in interests.iter().enumerate() {
                acc += (v.max(0.0) as f64).powi(2) * 4.0 + 0.02 * tw[t] / tw[0];
                liked_cum.push(acc);
            }
            let mut follows: Vec<u32> = Vec::with_capacity(want);
            let mut tries = 0;
            while follows.len() < want && tries < want * 4 {
                tries += 1;
                let t = if rng::chance(&mut r, 0.75) {
                    rng::pick_cumulative(&mut r, &liked_cum)
                } else {
                    rng::pick_cumulative(&mut r, &topic_cum)
                };
                let (ids, cum) = &index.by_topic[t];
                if ids.is_empty() {
                    continue;
                }
                let c = ids[rng::pick_cumulative(&mut r, cum)];
                if !follows.contains(&c) {
                    follows.push(c);
                }
            }
            follows.sort_unstable();
            User {
                interests,
                favourites,
                activity: (0.8 * rng::normal(&mut r) - 0.2) as f32,
                negativity: (0.5 * rng::normal(&mut r)) as f32,
                threshold: (0.42 + 0.08 * rng::normal(&mut r)).clamp(0.2, 0.7) as f32,
                quit_rate: rng::lognormal(&mut r, 1.3, 0.3) as f32,
                length_aversion: rng::lognormal(&mut r, 0.9, 0.25) as f32,
                sessions_per_day: rng::lognormal(&mut r, p.sessions_per_day_median, 0.6).clamp(0.3, 12.0) as f32,
                budget_median_s: rng::lognormal(&mut r, p.session_budget_median_s, 0.4) as f32,
                initial_follows: follows,
            }
        })
        .collect()
}

/// Follow farms follow about 5 % of all accounts; about 12 % of those follow back.
pub fn farm_follow_backs(seed: u64, users: &mut [User], creators: &[Creator]) {
    let n = users.len();
    for (c, cr) in creators.iter().enumerate() {
        if cr.kind != CreatorKind::FollowFarm || n == 0 {
            continue;
        }
        let mut r = rng::rng_for(seed, Stream::Groups, 1, c as u64);
        let k = rng::poisson(&mut r, n as f64 * 0.05 * 0.12);
        for _ in 0..k {
            let u = rng::below(&mut r, n);
            let f = &mut users[u].initial_follows;
            if let Err(pos) = f.binary_search(&(c as u32)) {
                f.insert(pos, c as u32);
            }
        }
    }
}

/// Plans every session of every user over [start, end): a Poisson process following the
/// daily rhythm, at least 20 minutes apart.
pub fn plan_sessions(seed: u64, users: &[User], start: u32, end: u32) -> Vec<SessionPlan> {
    let mut all = Vec::new();
    for (u, user) in users.iter().enumerate() {
        let mut r = rng::rng_for(seed, Stream::Plan, u as u64, 0);
        let rate_max = user.sessions_per_day as f64 * DIURNAL_MAX / DAY as f64;
        let mut t = start as f64;
        let mut index = 0u32;
        let mut last = f64::NEG_INFINITY;
        loop {
            t += rng::exponential(&mut r, 1.0 / rate_max);
            if t >= end as f64 {
                break;
            }
            if !rng::chance(&mut r, diurnal(t as u32) / DIURNAL_MAX) || t - last < 1_200.0 {
                continue;
            }
            last = t;
            let budget = rng::lognormal(&mut r, user.budget_median_s as f64, 0.6).clamp(45.0, 3_600.0);
            let mood_len = if rng::chance(&mut r, 0.7) { 1 } else { 2 };
            let mut mood = [0u8; 2];
            for m in mood.iter_mut() {
                // Mostly a favourite, sometimes something new (a passing curiosity).
                *m = if !user.favourites.is_empty() && rng::chance(&mut r, 0.6) {
                    user.favourites[rng::below(&mut r, user.favourites.len())]
                } else {
                    rng::below(&mut r, WORLD_TOPICS) as u8
                };
            }
            all.push(SessionPlan { start: t as u32, user: u as u32, index, budget_s: budget as f32, mood, mood_len });
            index += 1;
        }
    }
    all.sort_by_key(|s| (s.start, s.user));
    all
}
