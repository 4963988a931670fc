//! Helpers shared by the integration tests: candidate and profile builders, a deterministic
//! random generator, page invariant checks, and a naive re-implementation of the documented
//! re-ranking rules (`reference_page`) that the real pipeline is compared against.
#![allow(dead_code)]

use std::collections::HashSet;

use edgerank_core::input::{AuthorSignals, Candidate, CandidateFlags, ContentKind, GlobalSignals};
use edgerank_core::model::{Head, Model};
use edgerank_core::num::{Factor, LogScore, Prob, WatchRatio};
use edgerank_core::pipeline::explain::NoTrace;
use edgerank_core::pipeline::filter::{self, FilterReason};
use edgerank_core::pipeline::{
    self, score, Placement, RankContext, RankedFeed, RankedItem, DEFAULT_POOL, EXPLORATION_POOL, SPONSORED_POOL,
};
use edgerank_core::profile::{Diversity, Profile, ProfileConfig, DIVERSITY_STEPS, SLOT_POSITIONS};
use edgerank_core::state::UserState;

/// Request time used by most tests.
pub const NOW: u32 = 50_000_000;
/// One day in seconds.
pub const DAY: u32 = 86_400;
/// Output capacity used by the tests.
pub const K: usize = 32;
/// Input capacity used by the tests.
pub const N: usize = 256;

/// Author signals that trip no integrity rule under any built-in profile.
pub fn honest_author() -> AuthorSignals {
    AuthorSignals {
        followers: 5_000,
        followings: 300,
        account_age_days: 900,
        impressions: 1_000_000,
        engagement_rate: Prob::from_f64(0.02),
        posting_regularity: Prob::from_f64(0.3),
    }
}

/// An in-network text post by an honest author, ten minutes old; `likes` (out of 1000
/// impressions) moves its like probability, hence its score under [`like_profile`].
pub fn cand(item_id: u32, author_id: u32, likes: u32) -> Candidate {
    Candidate {
        item_id,
        author_id,
        created_at: NOW - 600,
        duration_ms: 0,
        kind: ContentKind::Text,
        topic: 1,
        flags: CandidateFlags::new(true, false, false),
        global: GlobalSignals {
            impressions: 1_000,
            likes,
            engagements_first_10m: 1,
            engagements_first_2h: 20,
            early_engager_overlap: Prob::from_f64(0.05),
            ..GlobalSignals::default()
        },
        author: honest_author(),
    }
}

/// Same candidate, out of network.
pub fn oon(mut c: Candidate) -> Candidate {
    c.flags = CandidateFlags(c.flags.0 & !CandidateFlags::IN_NETWORK);
    c
}

/// Same candidate, sponsored.
pub fn sponsored(mut c: Candidate) -> Candidate {
    c.flags = CandidateFlags(c.flags.0 | CandidateFlags::SPONSORED);
    c
}

/// Same candidate, from a small new creator (eligible for the default exploration rules).
pub fn small_creator(mut c: Candidate) -> Candidate {
    c.author.followers = 10;
    c.author.impressions = 10;
    c
}

/// A neutral profile (every rule off) whose only head weight is `like = 10`, edited by `edit`.
pub fn like_profile(edit: impl FnOnce(&mut ProfileConfig)) -> Profile {
    let mut cfg = ProfileConfig::neutral("test");
    cfg.head_weights[Head::Like.index()] = 10.0;
    edit(&mut cfg);
    Profile::compile(cfg).expect("test profile must compile")
}

/// Everything a rank call reads, owned.
pub struct Env {
    pub model: Model,
    pub profile: Profile,
    pub user: UserState,
    pub now: u32,
}

impl Env {
    pub fn new(profile: Profile) -> Self {
        Self { model: Model::default(), profile, user: UserState::new(), now: NOW }
    }

    pub fn ctx(&self) -> RankContext<'_> {
        RankContext { model: &self.model, profile: &self.profile, user: &self.user, now: self.now }
    }

    /// `rank::<N, K>`, unwrapped, with the page invariants checked.
    pub fn rank(&self, cands: &[Candidate], k: usize) -> RankedFeed<K> {
        let feed = pipeline::rank::<N, K>(&self.ctx(), cands, k).expect("within capacity");
        check_feed(&self.ctx(), cands, k, &feed);
        feed
    }

    /// The candidate's score before positional rules, or `None` if it is filtered out.
    pub fn unplaced(&self, c: &Candidate) -> Option<LogScore> {
        unplaced(&self.ctx(), c)
    }
}

/// The candidate's score before positional rules (`pipeline::score_candidate`), checked
/// against the public stage functions it is made of.
pub fn unplaced(ctx: &RankContext<'_>, c: &Candidate) -> Option<LogScore> {
    let s = pipeline::score_candidate(ctx, c);
    let staged = filter::admit(c, ctx.user, ctx.profile, ctx.now)
        .ok()
        .map(|a| score::score(ctx.model, ctx.profile, ctx.user, c, a, &mut NoTrace).unplaced);
    assert_eq!(s, staged, "score_candidate vs filter::admit + score::score");
    s
}

/// The compiled sponsored quality floor.
pub fn sponsored_floor(cfg: &ProfileConfig) -> LogScore {
    LogScore::from_value(cfg.sponsored.quality_floor as f64)
}

/// Item ids of a page, in order.
pub fn ids<const KK: usize>(feed: &RankedFeed<KK>) -> Vec<u32> {
    feed.items.iter().map(|i| i.item_id).collect()
}

/// Placements of a page, in order.
pub fn placements<const KK: usize>(feed: &RankedFeed<KK>) -> Vec<Placement> {
    feed.items.iter().map(|i| i.placement).collect()
}

/// The diversity table exactly as documented and compiled (f32, `(1-floor)*decay^k+floor`
/// for k < DIVERSITY_STEPS, then the floor).
pub fn diversity_steps(d: &Diversity) -> [Factor; DIVERSITY_STEPS + 1] {
    let mut steps = [Factor::from_f32(d.floor); DIVERSITY_STEPS + 1];
    let mut pow = 1.0f32;
    for s in steps.iter_mut().take(DIVERSITY_STEPS) {
        *s = Factor::from_f32((1.0 - d.floor) * pow + d.floor);
        pow *= d.decay;
    }
    steps
}

/// The factor the pipeline applies to the k-th (0-based) item sharing an author or kind.
pub fn diversity_step(d: &Diversity, k: usize) -> Factor {
    diversity_steps(d)[k.min(DIVERSITY_STEPS)]
}

/// Whether a position is a sponsored slot by position alone (ignoring the per-page cap).
pub fn sponsored_position(cfg: &ProfileConfig, pos: usize) -> bool {
    let sp = &cfg.sponsored;
    pos >= sp.first_slot as usize && (pos - sp.first_slot as usize) % sp.spacing as usize == 0
}

/// Whether a candidate is a small or new creator's post by the profile's exploration rules.
pub fn exploration_eligible(cfg: &ProfileConfig, c: &Candidate, age_s: u32) -> bool {
    let e = &cfg.exploration;
    c.author.followers <= e.max_followers && c.author.impressions < e.max_author_impressions && age_s < e.max_age_s
}

/// Checks every documented invariant of a page against its request. Panics on violation.
pub fn check_feed<const KK: usize>(ctx: &RankContext<'_>, cands: &[Candidate], k: usize, feed: &RankedFeed<KK>) {
    let cfg = ctx.profile.config();
    let stats = &feed.stats;
    // Stats add up.
    assert_eq!(stats.received as usize, cands.len(), "received");
    let filtered: u32 = stats.filtered.iter().sum();
    assert_eq!(filtered + stats.scored + stats.shortlist_skipped, stats.received, "filtered + scored + skipped");
    if cfg.shortlist == 0 {
        assert_eq!(stats.shortlist_skipped, 0);
    }
    assert!(stats.sponsored_below_floor <= stats.scored);
    assert!(stats.pool_overflow <= stats.scored);
    // Length.
    assert!(
        feed.items.len() <= k.min(stats.scored as usize),
        "{} items for k={} and {} admitted",
        feed.items.len(),
        k,
        stats.scored
    );
    let mut seen_ids = HashSet::new();
    let mut author_counts: Vec<(u32, usize)> = Vec::new();
    let mut kind_counts = [0usize; ContentKind::COUNT];
    let mut last_ranked: Option<&RankedItem> = None;
    let mut sponsored_on_page = 0usize;
    let mut explored = 0usize;
    for (pos, item) in feed.items.iter().enumerate() {
        // A subset of the input.
        let c = cands.get(item.index as usize).unwrap_or_else(|| panic!("index {} out of range", item.index));
        assert_eq!(item.item_id, c.item_id, "item_id at index {}", item.index);
        assert_eq!(item.author_id, c.author_id, "author_id at index {}", item.index);
        // No duplicate ids.
        assert!(seen_ids.insert(item.item_id), "item {} appears twice", item.item_id);
        // Admitted, with the unplaced score the scorer gives it.
        let admitted = filter::admit(c, ctx.user, ctx.profile, ctx.now)
            .unwrap_or_else(|r| panic!("filtered candidate {} ranked ({r:?})", item.index));
        assert_eq!(Some(item.unplaced), unplaced(ctx, c), "unplaced of {}", item.index);
        // Final score = unplaced scaled by author_factor.then(kind_factor).
        assert_eq!(
            item.score,
            item.unplaced.scaled(item.author_factor.then(item.kind_factor)),
            "score of {}",
            item.index
        );
        // Sponsored items only in sponsored slots, and only there with Sponsored placement.
        let is_sponsored = c.flags.sponsored();
        assert_eq!(is_sponsored, item.placement == Placement::Sponsored, "sponsored flag vs placement at {pos}");
        if is_sponsored {
            assert!(sponsored_position(cfg, pos), "sponsored item at position {pos}");
            assert!(item.unplaced >= sponsored_floor(cfg));
            assert_eq!((item.author_factor, item.kind_factor), (Factor::ONE, Factor::ONE));
            sponsored_on_page += 1;
            assert!(sponsored_on_page <= cfg.sponsored.max_per_page as usize);
            continue;
        }
        // Positional factors follow the counts of earlier non-sponsored items.
        let a = author_counts.iter().find(|(id, _)| *id == item.author_id).map_or(0, |(_, n)| *n);
        let kc = kind_counts[c.kind.index()];
        assert_eq!(
            item.author_factor,
            diversity_step(&cfg.author_diversity, a),
            "author factor at {pos} (author seen {a} times)"
        );
        assert_eq!(
            item.kind_factor,
            diversity_step(&cfg.kind_diversity, kc),
            "kind factor at {pos} (kind seen {kc} times)"
        );
        match author_counts.iter_mut().find(|(id, _)| *id == item.author_id) {
            Some((_, n)) => *n += 1,
            None => author_counts.push((item.author_id, 1)),
        }
        kind_counts[c.kind.index()] += 1;
        match item.placement {
            Placement::Exploration => {
                // At a slot, or at a later position where a slot moved (an ad took it, or a
                // network rule held it): never more exploration items than slots so far.
                let slots_so_far =
                    (0..=pos.min(SLOT_POSITIONS - 1)).filter(|&p| cfg.exploration.slots & (1 << p) != 0).count();
                explored += 1;
                assert!(explored <= slots_so_far, "exploration item {explored} at {pos}: {slots_so_far} slots so far");
                assert!(exploration_eligible(cfg, c, admitted.age_s), "ineligible exploration item at {pos}");
            }
            Placement::Constrained => {
                assert!(c.flags.in_network(), "constrained pick out of network at {pos}");
            }
            Placement::Ranked => {
                // Ranked items are sorted by final score, ties broken by lower input index.
                if let Some(prev) = last_ranked {
                    assert!(
                        prev.score > item.score || (prev.score == item.score && prev.index < item.index),
                        "ranked order broken at {pos}: {prev:?} then {item:?}"
                    );
                }
                last_ranked = Some(item);
            }
            Placement::Sponsored => unreachable!(),
        }
        // Explanations replay exactly.
        let why = pipeline::explain(ctx, c, item).expect("ranked item must be explainable");
        assert_eq!(why.replay(ctx.profile), item.score, "replay at {pos}");
        assert_eq!(why.replay_unplaced(ctx.profile), item.unplaced, "replay_unplaced at {pos}");
    }
    // Explanations of sponsored items too.
    for item in feed.items.iter().filter(|i| i.placement == Placement::Sponsored) {
        let why = pipeline::explain(ctx, &cands[item.index as usize], item).unwrap();
        assert_eq!(why.replay(ctx.profile), item.score);
        assert_eq!(why.replay_unplaced(ctx.profile), item.unplaced);
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    score: LogScore,
    item_id: u32,
    author_id: u32,
    index: u32,
    kind: ContentKind,
    in_network: bool,
}

/// The documented re-ranking rules, written naively (full scans, no early stop, no incremental
/// bookkeeping), over pools built by sorting every admitted candidate. `pool` is the organic
/// pool capacity `P`.
pub fn reference_page(ctx: &RankContext<'_>, cands: &[Candidate], k: usize, pool: usize) -> Vec<RankedItem> {
    let cfg = ctx.profile.config();
    let floor = sponsored_floor(cfg);
    let light = edgerank_core::pipeline::light::LightPass::new(ctx.model, ctx.profile);
    let (mut organic, mut explore, mut sponsored) = (Vec::new(), Vec::new(), Vec::new());
    // Light scores of the organic candidates, by index.
    let mut light_keys = Vec::new();
    // With a shortlist, once it is full, an exploration candidate goes on to its pool only
    // if its light score beats the 16th best of those that went on since (ties: the earlier).
    let capacity = pool.min(cfg.shortlist as usize).min(edgerank_core::pipeline::MAX_SHORTLIST);
    let (mut organic_seen, mut gate) = (0usize, Vec::<LogScore>::new());
    for (i, c) in cands.iter().enumerate() {
        let Ok(adm) = filter::admit(c, ctx.user, ctx.profile, ctx.now) else {
            continue;
        };
        let x = edgerank_core::pipeline::features::build(c, ctx.user, adm.age_s);
        let product = score::multipliers(ctx.profile, c, adm);
        let light_key = light.score::<edgerank_core::model::PortableDot>(ctx.profile, &x, product);
        light_keys.push((i as u32, light_key));
        let s = score::score(ctx.model, ctx.profile, ctx.user, c, adm, &mut NoTrace).unplaced;
        let e = Entry {
            score: s,
            item_id: c.item_id,
            author_id: c.author_id,
            index: i as u32,
            kind: c.kind,
            in_network: c.flags.in_network(),
        };
        if c.flags.sponsored() {
            if s >= floor {
                sponsored.push(e);
            }
        } else {
            organic.push(e);
            let mut eligible = cfg.exploration.slots != 0 && exploration_eligible(cfg, c, adm.age_s);
            if eligible && cfg.shortlist > 0 && capacity > 0 && organic_seen >= capacity {
                gate.sort();
                eligible = gate.len() < edgerank_core::pipeline::EXPLORATION_SHORTLIST || light_key > gate[0];
                if eligible {
                    if gate.len() == edgerank_core::pipeline::EXPLORATION_SHORTLIST {
                        gate.remove(0);
                    }
                    gate.push(light_key);
                }
            }
            organic_seen += 1;
            if eligible {
                explore.push(e);
            }
        }
    }
    let order = |a: &Entry, b: &Entry| b.score.cmp(&a.score).then(a.index.cmp(&b.index));
    if cfg.shortlist > 0 {
        // Two stages: the best `shortlist` organic candidates by light score, then by score.
        let key = |e: &Entry| light_keys.iter().find(|(i, _)| *i == e.index).expect("admitted").1;
        organic.sort_by(|a, b| key(b).cmp(&key(a)).then(a.index.cmp(&b.index)));
        organic.truncate(pool.min(cfg.shortlist as usize).min(edgerank_core::pipeline::MAX_SHORTLIST));
    }
    organic.sort_by(order);
    explore.sort_by(order);
    sponsored.sort_by(order);
    organic.truncate(pool);
    explore.truncate(EXPLORATION_POOL);
    sponsored.truncate(SPONSORED_POOL);

    let a_steps = diversity_steps(&cfg.author_diversity);
    let k_steps = diversity_steps(&cfg.kind_diversity);
    let share_q16 = edgerank_core::profile::share_q16(cfg.in_network_min_share) as u64;
    let mut page: Vec<RankedItem> = Vec::new();
    let mut page_entries: Vec<Entry> = Vec::new();
    let on_page = |page: &Vec<RankedItem>, id: u32| page.iter().any(|i| i.item_id == id);
    let mut explore_spent = false;
    for pos in 0..k {
        let organic_so_far: Vec<&Entry> = page_entries
            .iter()
            .zip(page.iter())
            .filter(|(_, i)| i.placement != Placement::Sponsored)
            .map(|(e, _)| e)
            .collect();
        let factors = |e: &Entry| {
            let a = organic_so_far.iter().filter(|p| p.author_id == e.author_id).count();
            let kk = organic_so_far.iter().filter(|p| p.kind == e.kind).count();
            (a_steps[a.min(DIVERSITY_STEPS)], k_steps[kk.min(DIVERSITY_STEPS)])
        };
        let make = |e: &Entry, placement: Placement, (a, kf): (Factor, Factor)| RankedItem {
            item_id: e.item_id,
            author_id: e.author_id,
            index: e.index,
            score: e.score.scaled(a.then(kf)),
            unplaced: e.score,
            author_factor: a,
            kind_factor: kf,
            placement,
        };
        // 1. Sponsored slot.
        let sponsored_count = page.iter().filter(|i| i.placement == Placement::Sponsored).count();
        if sponsored_position(cfg, pos) && sponsored_count < cfg.sponsored.max_per_page as usize {
            if let Some(e) = sponsored.iter().find(|e| !on_page(&page, e.item_id)) {
                page.push(make(e, Placement::Sponsored, (Factor::ONE, Factor::ONE)));
                page_entries.push(*e);
                continue;
            }
        }
        // The network rules, which bind steps 2 and 3.
        let mut oon_run = 0;
        for e in organic_so_far.iter().rev() {
            if e.in_network {
                break;
            }
            oon_run += 1;
        }
        let in_network = organic_so_far.iter().filter(|e| e.in_network).count();
        let run = cfg.max_out_of_network_run as usize;
        let needed = ((share_q16 * (pos as u64 + 1)) >> 16) as usize;
        let restricted = (run > 0 && oon_run >= run) || in_network < needed;
        // 2. Exploration slots reached so far and not filled (an ad took one, or the rules
        // held it): the best creator left, in network if the rules hold the position.
        let slots_so_far =
            (0..=pos.min(SLOT_POSITIONS - 1)).filter(|&p| cfg.exploration.slots & (1u64 << p) != 0).count();
        let explored = page.iter().filter(|i| i.placement == Placement::Exploration).count();
        // The rules bind only while an in-network organic item remains.
        let in_network_left = organic.iter().any(|e| e.in_network && !on_page(&page, e.item_id));
        let held = restricted && in_network_left;
        if explored < slots_so_far && !explore_spent {
            let creator = explore.iter().find(|e| !on_page(&page, e.item_id) && (!restricted || e.in_network));
            let creator = creator.or_else(|| explore.iter().find(|e| !held && !on_page(&page, e.item_id)));
            match creator {
                Some(e) => {
                    page.push(make(e, Placement::Exploration, factors(e)));
                    page_entries.push(*e);
                    continue;
                }
                // Held: step 3 takes an in-network item and the slot moves on.
                None if held => {}
                // None left at all: the remaining slots go to organic items.
                None => explore_spent = true,
            }
        }
        // 3. Best organic by adjusted score, restricted to in-network by the network rules.
        let best = |in_network_only: bool| {
            organic
                .iter()
                .filter(|e| !on_page(&page, e.item_id) && (!in_network_only || e.in_network))
                .map(|e| {
                    (
                        e,
                        e.score.scaled({
                            let (a, kf) = factors(e);
                            a.then(kf)
                        }),
                    )
                })
                .min_by(|(ea, sa), (eb, sb)| sb.cmp(sa).then(ea.index.cmp(&eb.index)))
                .map(|(e, _)| *e)
        };
        let pick = if restricted {
            match best(true) {
                Some(e) => Some((e, Placement::Constrained)),
                None => best(false).map(|e| (e, Placement::Ranked)),
            }
        } else {
            best(false).map(|e| (e, Placement::Ranked))
        };
        match pick {
            Some((e, placement)) => {
                page.push(make(&e, placement, factors(&e)));
                page_entries.push(e);
            }
            None => break,
        }
    }
    page
}

/// `reference_page` with the pipeline's default organic pool.
pub fn reference_default(ctx: &RankContext<'_>, cands: &[Candidate], k: usize) -> Vec<RankedItem> {
    reference_page(ctx, cands, k, DEFAULT_POOL)
}

/// Index of a filter reason in `RankStats::filtered`.
pub fn reason(r: FilterReason) -> usize {
    r as usize
}

/// SplitMix64: a small deterministic generator for the non-proptest randomized tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() % n as u64) as u32
    }
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
    pub fn prob(&mut self) -> Prob {
        Prob::from_raw(self.below(32769) as u16)
    }

    /// A plausible candidate: mixed kinds, networks, replies, creators, ages, a few sponsored
    /// items and duplicate ids.
    pub fn candidate(&mut self, now: u32) -> Candidate {
        let kinds = [
            ContentKind::Text,
            ContentKind::Image,
            ContentKind::ShortVideo,
            ContentKind::LongVideo,
            ContentKind::Link,
            ContentKind::Live,
        ];
        let kind = kinds[self.below(6) as usize];
        let impressions = self.below(100_000);
        let small = self.chance(15);
        let mut c = Candidate {
            item_id: self.below(400),
            author_id: self.below(30),
            created_at: now.saturating_sub(self.below(3 * DAY)),
            duration_ms: if kind.is_video() { self.below(600_000) } else { 0 },
            kind,
            topic: self.below(70) as u8,
            flags: CandidateFlags::new(self.chance(50), self.chance(8), self.chance(15)),
            global: GlobalSignals {
                impressions,
                likes: self.below(impressions / 10 + 1),
                comments: self.below(impressions / 50 + 1),
                shares: self.below(impressions / 80 + 1),
                negative: self.below(impressions / 200 + 1),
                engagements_first_10m: self.below(50),
                engagements_first_2h: self.below(500),
                early_engager_overlap: self.prob(),
                mean_watch_ratio: WatchRatio(self.below(8000) as u16),
                completion_rate: self.prob(),
                skip_rate: self.prob(),
                rewatch_rate: self.prob(),
            },
            author: AuthorSignals {
                followers: if small { self.below(1_000) } else { self.below(2_000_000) },
                followings: self.below(5_000),
                account_age_days: self.below(3_000),
                impressions: if small { self.below(1_000) } else { self.below(50_000_000) },
                engagement_rate: Prob::from_raw(self.below(3_000) as u16),
                posting_regularity: self.prob(),
            },
        };
        if self.chance(10) {
            c.global.early_engager_overlap = Prob::ONE;
            c.global.engagements_first_10m = c.global.engagements_first_2h;
        }
        c
    }

    pub fn batch(&mut self, now: u32, n: usize) -> Vec<Candidate> {
        (0..n).map(|_| self.candidate(now)).collect()
    }
}
