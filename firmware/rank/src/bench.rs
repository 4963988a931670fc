//! The on-device benchmark: one fixed pseudo-random batch, built on the device, ranked to the
//! top [`K`] by the fixed-point pipeline and by the f32 reference of the same model and
//! rules (`edgerank_core::reference::rank::<f32, K>`), for each batch size in [`SIZES`].
//!
//! Counts are instructions under QEMU `-icount shift=0` (see [`crate::counter`]), not
//! cycles. Results are logged as defmt lines that `cargo xtask device-bench` parses:
//! `device-bench n=.. k=.. fixed=.. f32=.. ...` with totals per batch.

use core::hint::black_box;

use edgerank_core::input::{AuthorSignals, Candidate, CandidateFlags, ContentKind, GlobalSignals, TOPICS};
use edgerank_core::model::Model;
use edgerank_core::num::{Prob, WatchRatio};
use edgerank_core::pipeline::RankContext;
use edgerank_core::profile::{Platform, Profile};
use edgerank_core::reference::{self, FloatModel, RefScored};
use edgerank_core::state::{Feedback, FeedbackKind, UserState};

use crate::counter::InstructionCounter;
use crate::{Session, MAX_CANDIDATES};

/// Batch sizes measured.
pub const SIZES: [usize; 4] = [32, 64, 128, 256];
/// Items per page.
pub const K: usize = 32;
/// The profile the benchmark ranks with.
pub const PROFILE: Platform = Platform::X;
/// Request time of the batch.
pub const NOW: u32 = 1_700_000_000;
/// Feedback events in the user's history.
pub const HISTORY: u32 = 200;

/// The batch and the f32 reference's scratch: about 24 KiB, kept in static memory by the
/// board crate.
pub struct Workload {
    /// The candidates (the first `n` are ranked for size `n`).
    pub candidates: [Candidate; MAX_CANDIDATES],
    /// Room for every scored candidate of the f32 reference.
    pub scratch: [RefScored<f32>; MAX_CANDIDATES],
}

impl Workload {
    /// Empty; call [`Workload::generate`].
    pub const fn new() -> Self {
        const EMPTY: RefScored<f32> =
            RefScored { index: 0, score: 0.0, light: 0.0, explore: false, organic: false, taken: false };
        Self {
            candidates: [Candidate {
                item_id: 0,
                author_id: 0,
                created_at: 0,
                duration_ms: 0,
                kind: ContentKind::Text,
                topic: 0,
                flags: CandidateFlags(0),
                global: GlobalSignals {
                    impressions: 0,
                    likes: 0,
                    comments: 0,
                    shares: 0,
                    negative: 0,
                    engagements_first_10m: 0,
                    engagements_first_2h: 0,
                    early_engager_overlap: Prob::from_raw(0),
                    mean_watch_ratio: WatchRatio(0),
                    completion_rate: Prob::from_raw(0),
                    skip_rate: Prob::from_raw(0),
                    rewatch_rate: Prob::from_raw(0),
                },
                author: AuthorSignals {
                    followers: 0,
                    followings: 0,
                    account_age_days: 0,
                    impressions: 0,
                    engagement_rate: Prob::from_raw(0),
                    posting_regularity: Prob::from_raw(0),
                },
            }; MAX_CANDIDATES],
            scratch: [EMPTY; MAX_CANDIDATES],
        }
    }

    /// Fills the batch from a fixed seed (the same batch on every run and target).
    pub fn generate(&mut self, seed: u32) {
        let mut rng = XorShift(seed | 1);
        let authors = 80;
        for (i, c) in self.candidates.iter_mut().enumerate() {
            *c = candidate(&mut rng, i as u32, authors);
        }
    }
}

impl Default for Workload {
    fn default() -> Self {
        Self::new()
    }
}

/// A user after [`HISTORY`] random feedback events on the batch's authors and topics.
pub fn user(seed: u32) -> UserState {
    let mut rng = XorShift(seed | 1);
    let mut user = UserState::new();
    for i in 0..HISTORY {
        let kind = match rng.below(20) {
            0..=7 => FeedbackKind::Impression { watch_ratio: WatchRatio(rng.below(6144) as u16) },
            8..=9 => FeedbackKind::Skip,
            10..=12 => FeedbackKind::Like,
            13 => FeedbackKind::Comment,
            14 => FeedbackKind::Share,
            15 => FeedbackKind::Save,
            16 => FeedbackKind::Follow,
            17 => FeedbackKind::ProfileVisit,
            18 => FeedbackKind::Hide,
            _ => FeedbackKind::SeeFewer,
        };
        let event = Feedback {
            item_id: 1_000_000 + rng.below(1_000),
            author_id: rng.below(80),
            topic: rng.below(TOPICS as u32) as u8,
            at: NOW - 200 * 86_400 + i * 86_400,
            kind,
        };
        // A full mute list refuses the event; the history goes on.
        let _ = user.apply(&event);
    }
    user
}

/// Instructions for one batch size, both ways.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Measurement {
    /// Candidates ranked.
    pub n: u32,
    /// Fixed-point pipeline (streaming session: filter, score, pool, re-rank, top-K).
    pub fixed: u32,
    /// f32 reference of the same model and rules.
    pub f32: u32,
    /// Items on the fixed-point page.
    pub fixed_items: u32,
    /// Items on the f32 page.
    pub f32_items: u32,
    /// Items at the same position on both pages (they may differ where scores nearly tie).
    pub same_items: u32,
}

/// Ranks the first `n` candidates both ways and counts the instructions.
pub fn measure(
    counter: &mut InstructionCounter,
    workload: &mut Workload,
    model: &Model,
    float_model: &FloatModel<f32>,
    profile: &Profile,
    user: &UserState,
    n: usize,
) -> Measurement {
    let batch = &workload.candidates[..n];
    let ctx = RankContext { model, profile, user, now: NOW };
    profile_mark_fixed_start(n);
    let (fixed_page, fixed) = counter.measure(|| {
        let mut session = Session::new(black_box(ctx));
        for c in black_box(batch) {
            let _ = session.push(c);
        }
        session.finish::<K>(K)
    });
    profile_mark_fixed_end(n);
    let fixed_page = black_box(fixed_page).ok();
    let scratch = &mut workload.scratch;
    let (f32_page, f32_count) = counter
        .measure(|| reference::rank::<f32, K>(float_model, profile.config(), user, NOW, black_box(batch), K, scratch));
    let f32_page = black_box(f32_page);
    let fixed_items = fixed_page.as_ref().map_or(0, |p| p.items.len() as u32);
    let f32_items = f32_page.as_ref().map_or(0, |p| p.len() as u32);
    let same_items = match (&fixed_page, &f32_page) {
        (Some(a), Some(b)) => a.items.iter().zip(b.iter()).filter(|(x, y)| x.index == y.index).count() as u32,
        _ => 0,
    };
    Measurement { n: n as u32, fixed, f32: f32_count, fixed_items, f32_items, same_items }
}

/// Marks where the fixed-point measurement of one batch size starts, for `cargo xtask
/// device-profile`, which finds this function's calls in QEMU's execution trace. Does nothing
/// else (its body differs from the end mark's so that the linker does not fold the two).
#[inline(never)]
pub fn profile_mark_fixed_start(n: usize) {
    black_box(n);
}

/// Marks where the fixed-point measurement of one batch size ends (see
/// [`profile_mark_fixed_start`]).
#[inline(never)]
pub fn profile_mark_fixed_end(n: usize) {
    black_box(n.wrapping_add(1));
}

/// A small, fast PRNG (xorshift32): the batch only needs to look varied and be reproducible.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// Uniform-ish in [0, n).
    fn below(&mut self, n: u32) -> u32 {
        ((self.next() as u64 * n as u64) >> 32) as u32
    }

    /// Log-uniform-ish in [0, 2^bits): small values are common, large ones possible.
    fn log_uniform(&mut self, bits: u32) -> u32 {
        let b = self.below(bits + 1);
        if b == 0 {
            0
        } else {
            self.next() >> (32 - b)
        }
    }

    fn prob(&mut self, max_q15: u32) -> Prob {
        Prob::from_raw(self.below(max_q15 + 1) as u16)
    }
}

/// One candidate with spreads like real traffic (compare `edgerank-tests`' workload), in
/// integer arithmetic so that generating it costs little on a soft-float core.
fn candidate(rng: &mut XorShift, i: u32, authors: u32) -> Candidate {
    let kind = match rng.below(10) {
        0..=1 => ContentKind::Text,
        2..=3 => ContentKind::Image,
        4..=7 => ContentKind::ShortVideo,
        8 => ContentKind::LongVideo,
        _ => ContentKind::Link,
    };
    let duration_ms = match kind {
        ContentKind::ShortVideo => 3_000 + rng.below(177_000),
        ContentKind::LongVideo => 180_000 + rng.below(3_420_000),
        _ => 0,
    };
    let impressions = rng.log_uniform(21);
    let likes = impressions / (10 + rng.below(90));
    let comments = likes / (3 + rng.below(20));
    let shares = likes / (5 + rng.below(30));
    let engagements = likes + comments + shares;
    let e2h = engagements / (1 + rng.below(10));
    let e10 = e2h / (2 + rng.below(10));
    let age = if rng.below(50) == 0 { 0 } else { rng.below(3 * 86_400) };
    Candidate {
        item_id: 1_000_000 + i * 7,
        author_id: rng.below(authors),
        created_at: NOW - age,
        duration_ms,
        kind,
        topic: rng.below(TOPICS as u32 + 4) as u8,
        flags: CandidateFlags::new(rng.below(100) < 45, rng.below(100) < 4, rng.below(10) == 0),
        global: GlobalSignals {
            impressions,
            likes,
            comments,
            shares,
            negative: impressions / (200 + rng.below(5_000)),
            engagements_first_10m: e10,
            engagements_first_2h: e2h,
            early_engager_overlap: if rng.below(20) == 0 { rng.prob(32_768) } else { rng.prob(9_830) },
            mean_watch_ratio: WatchRatio(200 + rng.below(6_400) as u16),
            completion_rate: rng.prob(26_214),
            skip_rate: rng.prob(22_937),
            rewatch_rate: rng.prob(6_553),
        },
        author: AuthorSignals {
            followers: rng.log_uniform(22),
            followings: rng.log_uniform(14),
            account_age_days: rng.log_uniform(12),
            impressions: rng.log_uniform(26),
            engagement_rate: rng.prob(1_300),
            posting_regularity: if rng.below(20) == 0 { rng.prob(32_768) } else { rng.prob(26_214) },
        },
    }
}
