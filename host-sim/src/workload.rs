//! Random rank requests: candidate batches with realistic spreads of signals, user states
//! built from random feedback histories, and one of the six platform profiles.

use edgerank_core::input::{AuthorSignals, Candidate, CandidateFlags, ContentKind, GlobalSignals, TOPICS};
use edgerank_core::num::{Prob, WatchRatio};
use edgerank_core::profile::Platform;
use edgerank_core::state::{Feedback, FeedbackKind, UserState};
use rand::{Rng, RngExt};

/// One rank request.
#[derive(Clone, Debug)]
pub struct Request {
    /// Platform whose profile ranks it.
    pub platform: Platform,
    /// Request time.
    pub now: u32,
    /// Items wanted.
    pub k: usize,
    /// The batch.
    pub candidates: Vec<Candidate>,
    /// The user's state.
    pub user: UserState,
}

/// Log-uniform integer in [0, max].
fn log_uniform<R: Rng>(rng: &mut R, max: f64) -> u32 {
    let v = (rng.random::<f64>() * (max + 1.0).ln()).exp() - 1.0;
    v.max(0.0) as u32
}

fn beta_like<R: Rng>(rng: &mut R, mean: f64) -> f64 {
    // Product of uniforms skews toward 0; mix with the mean for a plausible rate spread.
    let u: f64 = rng.random();
    (mean * 2.0 * u * rng.random::<f64>() * 2.0).min(1.0)
}

/// A random candidate posted up to 3 days before `now` (a few from the future), by one of
/// `authors` authors.
pub fn candidate<R: Rng>(rng: &mut R, item_id: u32, authors: u32, now: u32) -> Candidate {
    let kind = match rng.random_range(0..10) {
        0..=1 => ContentKind::Text,
        2..=3 => ContentKind::Image,
        4..=7 => ContentKind::ShortVideo,
        8 => ContentKind::LongVideo,
        _ => ContentKind::Link,
    };
    let duration_ms = match kind {
        ContentKind::ShortVideo => rng.random_range(3_000..180_000),
        ContentKind::LongVideo => rng.random_range(180_000..3_600_000),
        _ => 0,
    };
    let impressions = log_uniform(rng, 2_000_000.0);
    let like_rate = beta_like(rng, 0.04);
    let count = |rng: &mut R, rate: f64| ((impressions as f64) * rate * rng.random_range(0.5..1.5)) as u32;
    let likes = count(rng, like_rate);
    let comments = count(rng, like_rate * 0.15);
    let shares = count(rng, like_rate * 0.1);
    let engagements = likes.saturating_add(comments).saturating_add(shares);
    let e2h = (engagements as f64 * rng.random_range(0.05..0.9)) as u32;
    let e10 = (e2h as f64 * rng.random_range(0.0..0.5)) as u32;
    let followers = log_uniform(rng, 5_000_000.0);
    let negative_rate = beta_like(rng, 0.004);
    let age = if rng.random_bool(0.02) { -(rng.random_range(0..1000) as i64) } else { rng.random_range(0..3 * 86_400) };
    Candidate {
        item_id,
        author_id: rng.random_range(0..authors.max(1)),
        created_at: (now as i64 - age).clamp(0, u32::MAX as i64) as u32,
        duration_ms,
        kind,
        topic: rng.random_range(0..(TOPICS as u8 + 4)),
        flags: CandidateFlags::new(rng.random_bool(0.45), rng.random_bool(0.04), rng.random_bool(0.1)),
        global: GlobalSignals {
            impressions,
            likes,
            comments,
            shares,
            negative: count(rng, negative_rate),
            engagements_first_10m: e10,
            engagements_first_2h: e2h,
            early_engager_overlap: Prob::from_f64(if rng.random_bool(0.05) {
                rng.random_range(0.5..1.0)
            } else {
                rng.random_range(0.0..0.3)
            }),
            mean_watch_ratio: WatchRatio::from_f64(if kind.is_video() {
                rng.random_range(0.05..1.6)
            } else {
                rng.random_range(0.2..1.2)
            }),
            completion_rate: Prob::from_f64(rng.random_range(0.0..0.8)),
            skip_rate: Prob::from_f64(rng.random_range(0.0..0.7)),
            rewatch_rate: Prob::from_f64(rng.random_range(0.0..0.2)),
        },
        author: AuthorSignals {
            followers,
            followings: log_uniform(rng, 20_000.0),
            account_age_days: log_uniform(rng, 4_000.0),
            impressions: log_uniform(rng, 100_000_000.0),
            engagement_rate: Prob::from_f64(beta_like(rng, 0.02)),
            posting_regularity: Prob::from_f64(if rng.random_bool(0.05) {
                rng.random_range(0.85..1.0)
            } else {
                rng.random_range(0.0..0.8)
            }),
        },
    }
}

/// A user state after a random history of `events` feedback events up to `now`.
pub fn user<R: Rng>(rng: &mut R, events: usize, authors: u32, now: u32) -> UserState {
    let mut u = UserState::new();
    for i in 0..events {
        let kind = match rng.random_range(0..20) {
            0..=7 => FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(rng.random_range(0.0..1.5)) },
            8..=9 => FeedbackKind::Skip,
            10..=12 => FeedbackKind::Like,
            13 => FeedbackKind::Comment,
            14 => FeedbackKind::Share,
            15 => FeedbackKind::Save,
            16 => FeedbackKind::Follow,
            17 => FeedbackKind::ProfileVisit,
            18 => FeedbackKind::Hide,
            _ => [FeedbackKind::SeeFewer, FeedbackKind::Mute, FeedbackKind::Report][rng.random_range(0..3)],
        };
        let fb = Feedback {
            item_id: rng.random_range(0..50_000),
            author_id: rng.random_range(0..authors.max(1)),
            topic: rng.random_range(0..TOPICS as u8),
            at: now.saturating_sub(rng.random_range(0..200 * 86_400)).saturating_add(i as u32 % 2),
            kind,
        };
        // A full mute list refuses the event; the history just goes on.
        let _ = u.apply(&fb);
    }
    u
}

/// A random request of at most `max_n` candidates: about 8 % of their ids in the history's
/// range (some already seen), 2 % repeating an earlier candidate's id, 5 % live streams.
pub fn request<R: Rng>(rng: &mut R, max_n: usize) -> Request {
    let now = rng.random_range(400_000_000..1_800_000_000);
    let n = rng.random_range(1..=max_n);
    let authors = (n as u32 / 3).max(2);
    let mut candidates: Vec<Candidate> = Vec::with_capacity(n);
    for i in 0..n {
        // Mostly distinct ids; some from the history's range (seen items to filter), and a
        // few repeats of an earlier candidate's id (the page keeps the better copy only).
        let id = match rng.random_range(0..100) {
            0..=1 if i > 0 => candidates[rng.random_range(0..i)].item_id,
            2..=9 => rng.random_range(0..50_000),
            _ => rng.random_range(0..50_000) ^ ((i as u32 + 1) << 16),
        };
        let mut c = candidate(rng, id, authors, now);
        // One in twenty a live stream (`candidate` makes none: benchmarks keep their inputs).
        if rng.random_range(0..20) == 0 {
            c.kind = ContentKind::Live;
            c.duration_ms = rng.random_range(180_000..3_600_000);
        }
        candidates.push(c);
    }
    let events = rng.random_range(0..300);
    Request {
        platform: Platform::ALL[rng.random_range(0..Platform::ALL.len())],
        now,
        k: rng.random_range(10..=32),
        user: user(rng, events, authors, now),
        candidates,
    }
}
