//! Property tests over arbitrary candidates, user states, profiles and models: the pipeline
//! never panics and every page satisfies the documented invariants (see
//! `common::check_feed`), equals the naive reference re-ranker, and streams identically.
//! Blob decoders never panic on arbitrary or corrupted bytes.

mod common;

use common::*;
use edgerank_core::input::{AuthorSignals, Candidate, CandidateFlags, ContentKind, GlobalSignals};
use edgerank_core::model::{Head, Model, DURATION_BUCKETS, HEADS, MODEL_BLOB_MAX, QUANTILE_POINTS};
use edgerank_core::num::{Logit, Prob, WatchRatio, WatchTime, Weight};
use edgerank_core::pipeline::{self, RankContext, RankSession, ShownItem};
use edgerank_core::profile::{
    AgeDecay, Diversity, Exploration, Fatigue, Integrity, Platform, Profile, ProfileConfig, Sponsored, PROFILE_BLOB_MAX,
};
use edgerank_core::reference::{self, FloatModel, RefScored};
use edgerank_core::state::{Feedback, FeedbackKind, UserState, STATE_BLOB_MAX};
use edgerank_core::wire::CRC;
use proptest::prelude::*;

// ---------------------------------------------------------------- strategies

/// A probability as it can arrive over the wire: postcard does not clamp the raw value, so
/// raw values above 1.0 are possible too.
fn wire_prob(raw: u16) -> Prob {
    let mut buf = [0u8; 4];
    let bytes = postcard::to_slice(&raw, &mut buf).unwrap();
    postcard::from_bytes(bytes).unwrap()
}

/// Probabilities off the wire may carry any raw u16; decoding clamps them.
const WIRE_PROB_MAX: u16 = u16::MAX;

const KINDS: [ContentKind; 6] = [
    ContentKind::Text,
    ContentKind::Image,
    ContentKind::ShortVideo,
    ContentKind::LongVideo,
    ContentKind::Link,
    ContentKind::Live,
];

/// Edge-heavy field values from a seed. Candidates and events are generated from one `u64`
/// each (proptest still shrinks the vectors and the seeds): building hundreds of candidates
/// from per-field strategies is too slow in debug builds.
struct Edgy(common::Rng);

impl Edgy {
    /// Any u32, with 0, u32::MAX and small values over-represented.
    fn u32(&mut self) -> u32 {
        match self.0.below(8) {
            0 => 0,
            1 => u32::MAX,
            2..=4 => self.0.below(2_000),
            _ => self.0.next_u64() as u32,
        }
    }
    fn prob(&mut self) -> Prob {
        match self.0.below(8) {
            0..=3 => Prob::from_raw(self.0.below(32_769) as u16),
            4 => Prob::ONE,
            5 => Prob::ZERO,
            6 => wire_prob(WIRE_PROB_MAX),
            _ => wire_prob(self.0.below(WIRE_PROB_MAX as u32 + 1) as u16),
        }
    }
    /// A time around `now`: recent, old, slightly or far in the future, or anything.
    fn time(&mut self, now: u32) -> u32 {
        match self.0.below(8) {
            0..=3 => now.saturating_sub(self.0.below(3 * DAY)),
            4 => now.saturating_sub(self.0.below(60 * DAY)),
            5 => now.saturating_add(self.0.below(700)),
            6 => now,
            _ => self.0.next_u64() as u32,
        }
    }
    fn id(&mut self, small: u32) -> u32 {
        if self.0.chance(75) {
            self.0.below(small)
        } else {
            self.0.next_u64() as u32
        }
    }
    fn topic(&mut self) -> u8 {
        if self.0.chance(75) {
            self.0.below(8) as u8
        } else {
            self.0.next_u64() as u8
        }
    }
}

/// Any candidate: every field takes edge values (0, u32::MAX, future timestamps, zero and
/// huge durations, unknown topics, every flag bit, wire-range probabilities); ids repeat.
fn candidate_from_seed(seed: u64, now: u32) -> Candidate {
    let mut g = Edgy(common::Rng(seed));
    Candidate {
        item_id: g.id(48),
        author_id: g.id(24),
        created_at: g.time(now),
        duration_ms: g.u32(),
        kind: KINDS[g.0.below(6) as usize],
        topic: g.topic(),
        flags: CandidateFlags(g.0.next_u64() as u8),
        global: GlobalSignals {
            impressions: g.u32(),
            likes: g.u32(),
            comments: g.u32(),
            shares: g.u32(),
            negative: g.u32(),
            engagements_first_10m: g.u32(),
            engagements_first_2h: g.u32(),
            early_engager_overlap: g.prob(),
            mean_watch_ratio: WatchRatio(g.0.next_u64() as u16),
            completion_rate: g.prob(),
            skip_rate: g.prob(),
            rewatch_rate: g.prob(),
        },
        author: AuthorSignals {
            followers: g.u32(),
            followings: g.u32(),
            account_age_days: g.u32(),
            impressions: g.u32(),
            engagement_rate: g.prob(),
            posting_regularity: g.prob(),
        },
    }
}

/// Any feedback event, on the ids and authors the candidates use.
fn feedback_from_seed(seed: u64, now: u32) -> Feedback {
    let mut g = Edgy(common::Rng(seed));
    let kind = match g.0.below(14) {
        0 => FeedbackKind::Impression { watch_ratio: WatchRatio(g.0.next_u64() as u16) },
        1 => FeedbackKind::Skip,
        2 => FeedbackKind::Like,
        3 => FeedbackKind::Comment,
        4 => FeedbackKind::Share,
        5 => FeedbackKind::Save,
        6 => FeedbackKind::Follow,
        7 => FeedbackKind::ProfileVisit,
        8 => FeedbackKind::Hide,
        9 => FeedbackKind::SeeFewer,
        10 => FeedbackKind::Report,
        11 => FeedbackKind::Mute,
        12 => FeedbackKind::Block,
        _ => FeedbackKind::Unmute,
    };
    Feedback { item_id: g.id(48), author_id: g.id(24), topic: g.topic(), at: g.time(now), kind }
}

/// Any u32, with the edges and small values over-represented (profile fields).
fn arb_u32() -> impl Strategy<Value = u32> {
    prop_oneof![3 => any::<u32>(), 1 => Just(0u32), 1 => Just(u32::MAX), 3 => 0u32..2_000]
}

fn arb_now() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => Just(NOW),
        2 => any::<u32>(),
        1 => Just(0u32),
        1 => Just(u32::MAX),
        1 => 0u32..1_000,
    ]
}

/// A user state built from an arbitrary feedback sequence (refused events change nothing).
fn build_user(event_seeds: &[u64], now: u32) -> UserState {
    let mut user = UserState::new();
    for seed in event_seeds {
        let fb = feedback_from_seed(*seed, now);
        let before = user.clone();
        if user.apply(&fb).is_err() {
            assert_eq!(user, before, "a refused event must change nothing");
        }
    }
    user
}

/// A head weight: zero, large, ordinary, or tiny (rare-event weights).
fn arb_weight(limit: f32) -> impl Strategy<Value = f32> {
    prop_oneof![
        2 => Just(0.0f32),
        2 => -limit..limit,
        2 => -2.0f32..2.0,
        1 => -1e-3f32..1e-3,
        1 => (1e-12f32..1e-4, any::<bool>()).prop_map(|(w, neg)| if neg { -w } else { w }),
    ]
}

fn unit() -> impl Strategy<Value = f32> {
    prop_oneof![1 => Just(0.0f32), 1 => Just(1.0f32), 4 => 0.0f32..=1.0]
}

prop_compose! {
    fn arb_age()(
        max_age_s in prop_oneof![1u32..=u32::MAX, 1u32..200_000],
        halflife_min in 0.0f32..100_000.0,
        slope_per_min in prop_oneof![0.0f32..0.1, 0.0f32..50.0],
        floor in unit(),
    ) -> AgeDecay {
        AgeDecay { max_age_s, halflife_min, slope_per_min, floor }
    }
}

prop_compose! {
    fn arb_diversity()(decay in unit(), floor in unit()) -> Diversity {
        Diversity { decay, floor }
    }
}

prop_compose! {
    fn arb_slots()(
        exploration_slots in prop_oneof![Just(0u64), any::<u64>(), (0u32..64).prop_map(|b| 1u64 << b)],
        max_followers in arb_u32(), max_author_impressions in arb_u32(), max_age_s in arb_u32(),
        first_slot in prop_oneof![0u8..8, any::<u8>()],
        spacing in prop_oneof![1u8..8, 1u8..=255],
        max_per_page in prop_oneof![0u8..8, any::<u8>()],
        quality_floor in prop_oneof![0.0f32..1.0, 0.0f32..1000.0],
    ) -> (Exploration, Sponsored) {
        (
            Exploration { slots: exploration_slots, max_followers, max_author_impressions, max_age_s },
            Sponsored { first_slot, spacing, max_per_page, quality_floor },
        )
    }
}

prop_compose! {
    fn arb_integrity()(
        enabled in any::<bool>(),
        farm_min_followings in arb_u32(), farm_ratio in 0.0f32..999.0, farm_slope in 0.0f32..=100.0,
        young_days in arb_u32(), young_floor in unit(),
        pod in (0.0f32..0.9999, unit()),
        bought in (arb_u32(), unit(), unit()),
        bot in (0.0f32..0.9999, unit()),
    ) -> Integrity {
        Integrity {
            enabled, farm_min_followings, farm_ratio, farm_slope, young_days, young_floor,
            pod_threshold: pod.0, pod_floor: pod.1,
            bought_min_followers: bought.0, bought_rate: bought.1, bought_floor: bought.2,
            bot_threshold: bot.0, bot_floor: bot.1,
        }
    }
}

prop_compose! {
    fn arb_custom_config()(
        base in prop::sample::select(Platform::ALL.to_vec()),
        neutral in any::<bool>(),
        weights in prop::array::uniform12(arb_weight(500.0)),
        // Not negative: a profile may not weigh the unbounded watch-time head negatively.
        watch_weight in arb_weight(2.0).prop_map(f32::abs),
        age in arb_age(),
        factors in (0.0f32..3.99, 0.0f32..3.99, prop_oneof![0u8..4, any::<u8>()], unit()),
        author_diversity in arb_diversity(),
        kind_diversity in arb_diversity(),
        slots in arb_slots(),
        fatigue in (any::<u16>(), any::<u16>(), unit()),
        integrity in arb_integrity(),
    ) -> ProfileConfig {
        let mut cfg = if neutral { ProfileConfig::neutral("custom") } else { base.config() };
        cfg.head_weights = weights;
        cfg.head_weights[Head::WatchTime.index()] = watch_weight;
        cfg.age = age;
        cfg.out_of_network_factor = factors.0;
        cfg.reply_factor = factors.1;
        cfg.max_out_of_network_run = factors.2;
        cfg.in_network_min_share = factors.3;
        cfg.author_diversity = author_diversity;
        cfg.kind_diversity = kind_diversity;
        cfg.exploration = slots.0;
        cfg.sponsored = slots.1;
        cfg.fatigue = Fatigue { filter_days: fatigue.0, recovery_days: fatigue.1, start_factor: fatigue.2 };
        cfg.integrity = integrity;
        cfg
    }
}

fn arb_profile() -> impl Strategy<Value = Profile> {
    prop_oneof![
        2 => prop::sample::select(Platform::ALL.to_vec())
            .prop_map(|p| Profile::compile(p.config()).unwrap()),
        3 => arb_custom_config()
            .prop_filter_map("profile must compile", |c| Profile::compile(c).ok()),
    ]
}

/// A random model that passes validation (or the default model).
fn arb_model() -> impl Strategy<Value = Model> {
    let row = prop::array::uniform16(-6_000i16..6_000);
    let rows = prop::collection::vec(row, HEADS);
    let bias = prop::collection::vec(-(1i32 << 29)..(1 << 29), HEADS);
    let buckets = prop::collection::vec(1u32..100_000, DURATION_BUCKETS - 1);
    let quantiles = prop::collection::vec(prop::collection::vec(0u16..8_000, QUANTILE_POINTS), DURATION_BUCKETS);
    prop_oneof![
        1 => Just(Model::default()),
        2 => (rows, bias, buckets, quantiles).prop_filter_map(
            "model must validate",
            |(rows, bias, buckets, quantiles)| {
                let mut m = Model::default();
                for (h, row) in rows.iter().enumerate() {
                    m.weights[h] = row.map(Weight);
                    m.bias[h] = Logit(bias[h]);
                }
                let mut upper = 0u32;
                for (i, step) in buckets.iter().enumerate() {
                    upper = upper.saturating_add(*step);
                    m.duration_bucket_upper_ms[i] = upper;
                }
                for (b, row) in quantiles.iter().enumerate() {
                    let mut sorted = row.clone();
                    sorted.sort_unstable();
                    for (q, v) in sorted.iter().enumerate() {
                        m.watch_quantiles[b][q] = WatchTime(*v);
                    }
                }
                m.validate().ok().map(|_| m)
            },
        ),
    ]
}

#[derive(Debug, Clone)]
struct Request {
    now: u32,
    cands: Vec<Candidate>,
    user: UserState,
    k: usize,
}

fn arb_request() -> impl Strategy<Value = Request> {
    (
        arb_now(),
        prop::collection::vec(any::<u64>(), 0..=N),
        prop::collection::vec(any::<u64>(), 0..48),
        prop_oneof![0usize..=K, Just(K)],
    )
        .prop_map(|(now, cands, events, k)| Request {
            now,
            cands: cands.iter().map(|seed| candidate_from_seed(*seed, now)).collect(),
            user: build_user(&events, now),
            k,
        })
}

/// Most candidates of [`large_batches_rank_as_the_naive_reference`].
const LARGE: usize = 1_500;

/// 256 cases by default (the whole file stays well under 30 s in debug builds); set
/// `PROPTEST_CASES` for a longer run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config())]

    /// Never panics; length, subset, no duplicates, ranked order, score composition,
    /// explanations and stats (all in `check_feed`); equal to the naive reference; streaming
    /// push-by-push equals the batch call.
    #[test]
    fn pages_satisfy_every_invariant(req in arb_request(), profile in arb_profile(), model in arb_model()) {
        let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
        let feed = pipeline::rank::<N, K>(&ctx, &req.cands, req.k).unwrap();
        check_feed(&ctx, &req.cands, req.k, &feed);

        let reference = reference_default(&ctx, &req.cands, req.k);
        prop_assert_eq!(feed.items.as_slice(), reference.as_slice());

        let mut session = RankSession::<N>::new(ctx);
        for c in &req.cands {
            session.push(c).unwrap();
        }
        prop_assert_eq!(session.finish::<K>(req.k).unwrap(), feed);
    }

    /// Batches of thousands, where a full shortlist leaves most candidates out from their light
    /// pass dot product alone (before the integrity rules): the same page as the naive
    /// reference, which light-scores every candidate exactly and sorts them all.
    #[test]
    fn large_batches_rank_as_the_naive_reference(
        now in arb_now(),
        seeds in prop::collection::vec(any::<u64>(), 300..=LARGE),
        events in prop::collection::vec(any::<u64>(), 0..48),
        profile in arb_profile(),
        model in arb_model(),
        split in 0.0f64..1.0,
    ) {
        let user = build_user(&events, now);
        let cands: Vec<Candidate> = seeds
            .iter()
            .enumerate()
            .map(|(i, seed)| {
                let c = candidate_from_seed(*seed, now);
                // One in eight may be sponsored (half of them would be otherwise).
                let flags = if i % 8 == 0 { c.flags } else { CandidateFlags(c.flags.0 & !CandidateFlags::SPONSORED) };
                Candidate { item_id: i as u32, flags, ..c }
            })
            .collect();
        let ctx = RankContext { model: &model, profile: &profile, user: &user, now };
        let feed = pipeline::rank::<LARGE, K>(&ctx, &cands, K).unwrap();
        check_feed(&ctx, &cands, K, &feed);
        let reference = reference_default(&ctx, &cands, K);
        prop_assert_eq!(feed.items.as_slice(), reference.as_slice());

        // A page built part way through the stream leaves the session (and its floors) valid:
        // the same final page and counts.
        let mut session = RankSession::<LARGE>::new(ctx);
        let cut = (cands.len() as f64 * split) as usize;
        for c in &cands[..cut] {
            session.push(c).unwrap();
        }
        session.finish::<K>(K).unwrap();
        for c in &cands[cut..] {
            session.push(c).unwrap();
        }
        prop_assert_eq!(session.finish::<K>(K).unwrap(), feed);
    }

    /// A smaller page is a prefix of a larger one: the rules at a position never look ahead.
    #[test]
    fn a_shorter_page_is_a_prefix_of_a_longer_one(req in arb_request(), profile in arb_profile()) {
        let model = Model::default();
        let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
        let full = pipeline::rank::<N, K>(&ctx, &req.cands, K).unwrap();
        let short = pipeline::rank::<N, K>(&ctx, &req.cands, req.k).unwrap();
        prop_assert_eq!(&full.items[..short.items.len()], short.items.as_slice());
        prop_assert_eq!(short.items.len(), req.k.min(full.items.len()));
        prop_assert_eq!(short.stats, full.stats);
    }

    /// A page continued after any number of its items, with the same candidates and state, is
    /// its own rest: the shown items count for every rule as the page's own placements did
    /// (diversity, network run and share, sponsored and exploration slots), and none is
    /// placed again. More than `K` positions in all is an error.
    #[test]
    fn a_page_continued_after_its_first_items_is_its_own_rest(
        req in arb_request(),
        profile in arb_profile(),
        model in arb_model(),
        cut in 0.0f64..=1.0,
    ) {
        let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
        let page = pipeline::rank::<N, K>(&ctx, &req.cands, req.k).unwrap();
        let p = (page.items.len() as f64 * cut) as usize;
        let shown: Vec<ShownItem> =
            page.items[..p].iter().map(|it| ShownItem::new(it, &req.cands[it.index as usize])).collect();
        let mut session = RankSession::<N>::new(ctx);
        for c in &req.cands {
            session.push(c).unwrap();
        }
        let rest = session.finish_after::<K>(&shown, req.k - p).unwrap();
        prop_assert_eq!(rest.items.as_slice(), &page.items[p..]);
        prop_assert_eq!(rest.stats, page.stats);
        prop_assert_eq!(
            pipeline::rank_after::<N, K>(&ctx, &req.cands, &shown, req.k - p).unwrap().items,
            rest.items
        );
        prop_assert!(session.finish_after::<K>(&shown, K - p + 1).is_err());

        // The same of the float reference, with its own page.
        let float = FloatModel::<f64>::new(&model);
        let empty = RefScored { index: 0, score: 0.0, light: 0.0, explore: false, organic: false, taken: false };
        let mut scratch = vec![empty; req.cands.len()];
        let cfg = profile.config();
        let ref_page =
            reference::rank::<f64, K>(&float, cfg, &req.user, req.now, &req.cands, req.k, &mut scratch).unwrap();
        let p = (ref_page.len() as f64 * cut) as usize;
        let shown: Vec<ShownItem> = ref_page[..p]
            .iter()
            .map(|it| ShownItem::of(&req.cands[it.index as usize], it.placement))
            .collect();
        let ref_rest = reference::rank_after::<f64, K>(
            &float, cfg, &req.user, req.now, &req.cands, &shown, req.k - p, &mut scratch,
        )
        .unwrap();
        prop_assert_eq!(ref_rest.as_slice(), &ref_page[p..]);
    }

    /// Over capacity is an error, never a panic, and never a partial page.
    #[test]
    fn capacity_errors(n in 0usize..40, k in 0usize..40) {
        let env = Env::new(Profile::compile(Platform::X.config()).unwrap());
        let cands: Vec<Candidate> = (0..n as u32).map(|i| cand(i, i % 5, 100)).collect();
        let r = pipeline::rank::<16, 8>(&env.ctx(), &cands, k);
        match (n > 16, k > 8) {
            (true, _) => prop_assert!(r.is_err()),
            (false, true) => prop_assert!(r.is_err()),
            (false, false) => prop_assert_eq!(r.unwrap().items.len(), k.min(n)),
        }
    }

    /// Arbitrary bytes, with and without a valid checksum, never panic any decoder.
    #[test]
    fn arbitrary_bytes_never_panic_the_blob_decoders(bytes in prop::collection::vec(any::<u8>(), 0..1_500)) {
        let _ = Model::from_blob(&bytes);
        let _ = Profile::from_blob(&bytes);
        let _ = UserState::from_blob(&bytes);
        let mut checked = bytes.clone();
        checked.extend_from_slice(&CRC.checksum(&bytes).to_le_bytes());
        let _ = Model::from_blob(&checked);
        let _ = Profile::from_blob(&checked);
        let _ = UserState::from_blob(&checked);
    }

    /// Valid blobs with corrupted bytes (checksum fixed so the decoder really parses them)
    /// never panic; whatever is accepted ranks without panicking and keeps the invariants.
    #[test]
    fn corrupted_blobs_never_panic_and_accepted_ones_rank_safely(
        platform in prop::sample::select(Platform::ALL.to_vec()),
        events in prop::collection::vec(any::<u64>(), 0..48),
        which in 0usize..3,
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in prop_oneof![3 => Just(None), 1 => any::<usize>().prop_map(Some)],
    ) {
        let user = build_user(&events, NOW);
        let profile = Profile::compile(platform.config()).unwrap();
        let model = Model::default();
        let mut buf = vec![0u8; MODEL_BLOB_MAX.max(PROFILE_BLOB_MAX).max(STATE_BLOB_MAX)];
        let len = match which {
            0 => model.to_blob(&mut buf).unwrap().len(),
            1 => profile.to_blob(&mut buf).unwrap().len(),
            _ => user.to_blob(&mut buf).unwrap().len(),
        };
        // Untouched blobs round-trip.
        match which {
            0 => prop_assert_eq!(&Model::from_blob(&buf[..len]).unwrap(), &model),
            1 => prop_assert_eq!(&Profile::from_blob(&buf[..len]).unwrap(), &profile),
            _ => prop_assert_eq!(&UserState::from_blob(&buf[..len]).unwrap(), &user),
        }
        let mut payload = buf[..len - 4].to_vec();
        for (at, x) in &edits {
            let i = at % payload.len();
            payload[i] ^= x | 1;
        }
        if let Some(c) = cut {
            payload.truncate(c % (payload.len() + 1));
        }
        let mut blob = payload.clone();
        blob.extend_from_slice(&CRC.checksum(&payload).to_le_bytes());
        let mut m = model.clone();
        let mut p = profile.clone();
        let mut u = user.clone();
        match which {
            0 => match Model::from_blob(&blob) { Ok(x) => m = x, Err(_) => return Ok(()) },
            1 => match Profile::from_blob(&blob) { Ok(x) => p = x, Err(_) => return Ok(()) },
            _ => match UserState::from_blob(&blob) { Ok(x) => u = x, Err(_) => return Ok(()) },
        }
        let mut rng = common::Rng(edits[0].0 as u64);
        let cands = rng.batch(NOW, 200);
        let ctx = RankContext { model: &m, profile: &p, user: &u, now: NOW };
        let feed = pipeline::rank::<N, K>(&ctx, &cands, K).unwrap();
        check_feed(&ctx, &cands, K, &feed);
        let reference = reference_default(&ctx, &cands, K);
        prop_assert_eq!(feed.items.as_slice(), reference.as_slice());
    }
}

/// Regression: with the earlier `u8` shift representation, a tiny but non-zero head weight
/// (|w| < ~3e-5) compiled to `shift >= 32` and `HeadWeight::apply` shifted an i32 by 32 or
/// more (a panic in debug builds). Tiny weights must rank and contribute about `w * value`.
#[test]
fn tiny_head_weights_rank_and_contribute_their_product() {
    for w in [1e-5f32, -2e-5, 1e-7, -1e-12] {
        let mut cfg = ProfileConfig::neutral("tiny");
        cfg.head_weights[Head::Like.index()] = w;
        cfg.head_weights[Head::Share.index()] = 1.0;
        let profile = Profile::compile(cfg).expect("a finite weight within the limits is accepted");
        let env = Env::new(profile);
        let cands: Vec<Candidate> = (0..4).map(|i| cand(i, i, 50 * i)).collect();
        let feed = env.rank(&cands, 4);
        assert_eq!(feed.items.len(), 4);
        for item in &feed.items {
            let why = pipeline::explain(&env.ctx(), &cands[item.index as usize], item).unwrap();
            let got = why.contribution(Head::Like).to_f64();
            let exact = w as f64 * why.head_values[Head::Like.index()].to_f64();
            assert!(
                (got - exact).abs() <= exact.abs() * 1e-3 + 2.0 / 4_294_967_296.0,
                "weight {w}: like contribution {got} vs {exact}"
            );
        }
    }
}

/// `Candidate`s reach the device through postcard (`Request::RankChunk`), which does not clamp
/// a `Prob`'s raw value to 32768. Every other use of such values saturates or clamps, but
/// `Prob::to_feature` (num/types.rs:101) computes `(self.0 + 2) >> 2` in u16, which overflows
/// for raw >= 65534: a panic in debug builds, and a wrong feature (0 instead of about 2.0) in
/// release builds.
#[test]
fn wire_probabilities_near_u16_max_do_not_panic() {
    use edgerank_core::wire::{decode_frame, encode_frame, Envelope, Request, MAX_FRAME, MAX_PAYLOAD};
    let env = Env::new(Profile::compile(Platform::TikTok.config()).unwrap());
    for field in 0..3 {
        let mut c = cand(1, 1, 100);
        let p = wire_prob(u16::MAX);
        match field {
            0 => c.global.completion_rate = p,
            1 => c.global.skip_rate = p,
            _ => c.global.rewatch_rate = p,
        }
        // The value survives the real wire path.
        let chunk = Request::RankChunk(heapless::Vec::from_slice(&[c]).unwrap());
        let (mut scratch, mut out) = ([0u8; MAX_PAYLOAD], [0u8; MAX_FRAME]);
        let frame = encode_frame(&Envelope::new(1, chunk), &mut scratch, &mut out).unwrap();
        let mut bytes = frame[..frame.len() - 1].to_vec();
        let back: Envelope<Request> = decode_frame(&mut bytes).unwrap();
        let Request::RankChunk(decoded) = back.body else { panic!("not a chunk") };
        assert_eq!(decoded[0], c);
        assert_eq!(p, Prob::ONE, "decoding clamps an out-of-range raw value to 1.0");
        let feed = env.rank(&decoded, 1);
        assert_eq!(feed.items.len(), 1);
    }
}

#[test]
fn out_of_range_wire_probabilities_are_clamped_and_never_panic() {
    // Raw values above 1.0 decode as 1.0 and rank without panicking.
    let env = Env::new(Profile::compile(Platform::TikTok.config()).unwrap());
    let mut c = cand(1, 1, 100);
    c.global.completion_rate = wire_prob(WIRE_PROB_MAX);
    c.global.early_engager_overlap = wire_prob(WIRE_PROB_MAX);
    c.author.posting_regularity = wire_prob(u16::MAX);
    c.author.engagement_rate = wire_prob(u16::MAX);
    assert_eq!(c.author.engagement_rate, Prob::ONE);
    let feed = env.rank(&[c, cand(2, 2, 100)], 2);
    assert_eq!(feed.items.len(), 2);
}
