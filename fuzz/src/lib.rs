//! What the fuzz targets check, shared by the targets (`fuzz_targets/`) and the seed writer
//! (`examples/seeds.rs`).
//!
//! Every target asserts invariants of the answer, not only that nothing panics:
//! - `frame`: a frame that decodes is the canonical encoding of what it decodes to (encoding
//!   it again gives the same payload), and each stream reader hands over exactly the bytes
//!   since the last delimiter, or reports an overflow exactly when they do not fit;
//! - `model_blob`, `profile_blob`: an accepted blob re-encodes to the same bytes, a model's
//!   logits cannot overflow on any feature vector, and the device's loader keeps the previous
//!   model or profile whenever it refuses one;
//! - `rank`: see [`check_page`] (platform or fuzzed custom profiles);
//! - `feedback`: a refused event changes nothing, an accepted one counts once and leaves the
//!   author's mute record as it says, the state stays internally consistent (it survives its
//!   own blob round trip) after every event, and the stream as one `apply_all` batch equals
//!   the events one by one or is refused whole.
//!
//! Structured inputs are read from the fuzzer's bytes with postcard ([`Input`]), so the seeds
//! are plain postcard encodings of valid requests.

use edgerank_core::input::Candidate;
use edgerank_core::model::{Model, FEATURES, HEADS};
use edgerank_core::num::{Factor, Feature};
use edgerank_core::pipeline::{explain, filter, rank, Placement, RankContext, RankSession, RankedFeed, ShownItem};
use edgerank_core::profile::{Platform, Profile, ProfileConfig};
use edgerank_core::state::{Feedback, UserState, AUTHOR_SLOTS, MUTE_SLOTS, STATE_BLOB_MAX};
use serde::{Deserialize, Serialize};

/// Rank capacity the targets use (the device's).
pub const N: usize = 256;
/// Page capacity (the device's).
pub const K: usize = 32;
/// Candidates a rank input may carry: past the capacity, to test its refusal.
pub const MAX_INPUT_CANDIDATES: usize = N + 16;
/// Feedback events in a rank input's user history.
pub const HISTORY: usize = 48;

/// The head of a `rank` input: the context. Candidates follow, one postcard `Candidate` after
/// another, until the bytes run out or stop decoding.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RankHeader {
    /// Index into [`Platform::ALL`] (modulo its length).
    pub platform: u8,
    /// Request time.
    pub now: u32,
    /// Items wanted (above [`K`] must be refused).
    pub k: u8,
    /// Feedback applied to a fresh user state first.
    pub history: heapless::Vec<Feedback, HISTORY>,
    /// A custom profile instead of the platform's (used if it compiles): odd thresholds,
    /// slots and floors reach rules the built-in profiles never do.
    pub custom: Option<ProfileConfig>,
}

/// Reads postcard values one after another from the fuzzer's bytes.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    /// The next value, or `None` when the rest does not decode.
    pub fn take<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        let (value, rest) = postcard::take_from_bytes(self.0).ok()?;
        self.0 = rest;
        Some(value)
    }
}

/// A platform profile from a byte.
pub fn platform_profile(index: u8) -> Profile {
    let platform = Platform::ALL[index as usize % Platform::ALL.len()];
    Profile::compile(platform.config()).expect("built-in profiles compile")
}

/// The profile of a rank input: its custom profile if that compiles, else a platform's.
pub fn header_profile(header: &RankHeader) -> Profile {
    header.custom.clone().and_then(|c| Profile::compile(c).ok()).unwrap_or_else(|| platform_profile(header.platform))
}

/// A user state built from a feedback history (refused events are skipped, as a device does).
pub fn user_from(history: &[Feedback]) -> UserState {
    let mut user = UserState::new();
    for event in history {
        let _ = user.apply(event);
    }
    user
}

/// Ranks `candidates` through a streaming session and in one batch and checks every invariant
/// of the result:
/// - more than [`N`] candidates or `k` above [`K`] is an error, nothing else is;
/// - streaming and batch ranking give the same page, and so do a session of capacity 4,096
///   (with early rejection; the same items) and a session asked for pages along the way;
/// - counters add up: every candidate is either filtered or scored;
/// - the page has at most `min(k, scored)` items, each a distinct candidate of the request
///   (ids match its index) that passes the filters;
/// - sponsored items sit on sponsored slots, and every other item's diversity factors are
///   those of the items of its author and kind before it;
/// - each item's score is its unplaced score times its positional factors, its unplaced score
///   is the candidate's own score, and its explanation replays the score exactly.
pub fn check_page(ctx: &RankContext<'_>, candidates: &[Candidate], k: usize) {
    let batch = rank::<N, K>(ctx, candidates, k);
    let mut session = RankSession::<N>::new(*ctx);
    let mut pushed = Ok(());
    for c in candidates {
        pushed = pushed.and(session.push(c));
    }
    if candidates.len() > N {
        assert!(batch.is_err(), "more than {N} candidates accepted");
        assert!(pushed.is_err(), "the session took more than {N} candidates");
        return;
    }
    assert!(pushed.is_ok(), "a candidate within capacity refused: {pushed:?}");
    let streamed = session.finish::<K>(k);
    if k > K {
        assert!(batch.is_err() && streamed.is_err(), "k = {k} above {K} accepted");
        return;
    }
    let page: RankedFeed<K> = batch.expect("within capacity");
    assert_eq!(Ok(&page), streamed.as_ref(), "streaming and batch ranking differ");
    // A session of a larger capacity, which rejects early past `EARLY_REJECT_AFTER`
    // candidates, places the same items (its counters may split differently).
    let mut large = RankSession::<4096>::new(*ctx);
    for c in candidates {
        large.push(c).expect("within capacity");
    }
    assert_eq!(large.finish::<K>(k).expect("k within capacity").items, page.items, "a larger session differs");
    // Pages taken along the way do not change the last one.
    let mut paged = RankSession::<N>::new(*ctx);
    for (i, c) in candidates.iter().enumerate() {
        paged.push(c).expect("within capacity");
        if i % 7 == 6 {
            let _ = paged.finish::<K>(k);
        }
    }
    assert_eq!(paged.finish::<K>(k).as_ref(), Ok(&page), "pages taken along the way changed the last one");
    // The page continued after each of its prefixes is its own rest; past `K` positions in
    // all, an error.
    for p in 0..=page.items.len() {
        let shown: Vec<ShownItem> =
            page.items[..p].iter().map(|it| ShownItem::new(it, &candidates[it.index as usize])).collect();
        let rest = session.finish_after::<K>(&shown, k - p).expect("within capacity");
        assert_eq!(rest.items[..], page.items[p..], "the page continued after {p} items differs");
        assert!(session.finish_after::<K>(&shown, K + 1 - p).is_err(), "more than {K} positions accepted");
    }

    let stats = &page.stats;
    assert_eq!(stats.received as usize, candidates.len());
    let filtered: u32 = stats.filtered.iter().sum();
    assert_eq!(stats.scored + filtered + stats.shortlist_skipped, stats.received, "{stats:?}");
    assert!(page.items.len() <= k.min(stats.scored as usize), "{} items for k = {k}, {stats:?}", page.items.len());

    // The page-position rules, recomputed from the items before each one: sponsored items on
    // sponsored slots (from `first_slot`, every `spacing`-th position, at most `max_per_page`)
    // with factors of 1; every other item with the diversity factors of the items of its
    // author and of its kind already on the page.
    let sp = &ctx.profile.config().sponsored;
    let mut sponsored = 0;
    for (pos, item) in page.items.iter().enumerate() {
        let c =
            candidates.get(item.index as usize).unwrap_or_else(|| panic!("index {} outside the request", item.index));
        if item.placement == Placement::Sponsored {
            let first = sp.first_slot as usize;
            assert!(pos >= first && (pos - first) % sp.spacing as usize == 0, "sponsored item at {pos}: {sp:?}");
            assert!(sponsored < sp.max_per_page as usize, "more than {} sponsored items", sp.max_per_page);
            assert_eq!((item.author_factor, item.kind_factor), (Factor::ONE, Factor::ONE));
            sponsored += 1;
            continue;
        }
        let before = page.items[..pos].iter().filter(|i| i.placement != Placement::Sponsored);
        let (mut same_author, mut same_kind) = (0, 0);
        for earlier in before {
            let e = &candidates[earlier.index as usize];
            same_author += (e.author_id == c.author_id) as usize;
            same_kind += (e.kind == c.kind) as usize;
        }
        assert_eq!(
            (item.author_factor, item.kind_factor),
            ctx.profile.diversity_factors(same_author, same_kind),
            "position {pos}: {same_author} items of its author and {same_kind} of its kind before it"
        );
    }

    let mut seen = [false; N];
    for item in &page.items {
        let index = item.index as usize;
        let c = candidates.get(index).unwrap_or_else(|| panic!("index {index} outside the request"));
        assert!(!seen[index], "candidate {index} placed twice");
        seen[index] = true;
        assert_eq!((item.item_id, item.author_id), (c.item_id, c.author_id));
        assert!(filter::admit(c, ctx.user, ctx.profile, ctx.now).is_ok(), "a filtered candidate was ranked: {c:?}");
        assert_eq!(item.score, item.unplaced.scaled(item.author_factor.then(item.kind_factor)), "{item:?}");
        assert_eq!(edgerank_core::pipeline::score_candidate(ctx, c), Some(item.unplaced), "{item:?}");
        let why = explain(ctx, c, item).expect("a ranked candidate passes the filters");
        assert_eq!(why.replay(ctx.profile), item.score, "explanation does not replay {item:?}");
    }
}

/// The largest |logit| a feature vector can produce for each head, computed exactly in i64,
/// must equal what the model computes in i32 (so the scorer's wrapping sum never wraps).
pub fn check_model_bounds(model: &Model) {
    let clamp = Feature::CLAMP;
    for head in 0..HEADS {
        for sign in [1i32, -1] {
            // The vector that drives this head's logit furthest in direction `sign`.
            let mut x = [Feature(0); FEATURES];
            let mut exact = model.bias[head].0 as i64;
            for (i, xi) in x.iter_mut().enumerate() {
                let w = model.weights[head][i].0 as i32;
                let v = if w * sign >= 0 { clamp } else { -clamp };
                *xi = Feature(v as i16);
                exact += v as i64 * w as i64;
            }
            assert!(exact.unsigned_abs() < i32::MAX as u64, "validated model can overflow: head {head}, {exact}");
            assert_eq!(model.logit(head, &x).0 as i64, exact, "head {head}");
            let _ = model.evaluate(&x);
        }
    }
    for duration_ms in [0, 1, 999, 15_000, 60_000, 600_000, u32::MAX] {
        for q in [0u16, 1, 4095, 4096, 16384, 32767, 32768, u16::MAX] {
            let q = edgerank_core::num::Prob::from_raw(q);
            let _ = model.quantile_watch_time(duration_ms, q);
        }
    }
}

/// The user state is consistent: within its capacities, and its own blob reads back equal
/// (`UserState::from_blob` checks ranges and table consistency).
pub fn check_user(user: &UserState) {
    assert!(user.known_authors() <= AUTHOR_SLOTS);
    assert!(user.mutes().records().len() <= MUTE_SLOTS);
    let mut buf = [0u8; STATE_BLOB_MAX];
    let blob = user.to_blob(&mut buf).expect("a state fits STATE_BLOB_MAX");
    assert_eq!(UserState::from_blob(blob).as_ref(), Ok(user), "state does not survive its blob");
}

/// A small fixed batch, to rank with fuzzed models, profiles and states.
pub fn sample_batch(now: u32) -> heapless::Vec<Candidate, 24> {
    let mut batch = heapless::Vec::new();
    for i in 0..24u32 {
        let mut c = Candidate {
            item_id: 1000 + i,
            author_id: 10 + i % 5,
            created_at: now.saturating_sub(600 * i),
            duration_ms: 5_000 * i,
            topic: (i * 7 % 64) as u8,
            ..Candidate::default()
        };
        c.flags = edgerank_core::input::CandidateFlags::new(i % 3 == 0, i % 7 == 0, i % 11 == 0);
        c.global.impressions = 100 * i;
        c.global.likes = 7 * i;
        c.global.shares = i;
        c.author.followers = 50 * i * i;
        c.author.followings = 400 * (i % 4);
        c.author.account_age_days = i * 30;
        // Some candidates trip the integrity rules (pods, bot-like regularity, bought reach).
        c.global.engagements_first_10m = 30 * (i % 6);
        c.global.engagements_first_2h = 40 * (i % 6) + 1;
        c.global.early_engager_overlap = edgerank_core::num::Prob::from_raw((i * 1500).min(32768) as u16);
        c.author.posting_regularity = edgerank_core::num::Prob::from_raw((i * 1400).min(32768) as u16);
        let _ = batch.push(c);
    }
    batch
}
