//! One test (or a few) per re-ranking and scoring rule, each through the public API with a
//! profile that turns only that rule on (`ProfileConfig::neutral` plus a like weight).

mod common;

use common::*;
use edgerank_core::error::RankError;
use edgerank_core::input::{Candidate, ContentKind};
use edgerank_core::model::Model;
use edgerank_core::num::{Factor, LogScore, Prob};
use edgerank_core::pipeline::explain::FactorKind;
use edgerank_core::pipeline::filter::{FilterReason, FUTURE_TOLERANCE_S};
use edgerank_core::pipeline::{self, Placement, RankContext, RankSession, RankedItem, ShownItem};
use edgerank_core::profile::{AgeDecay, Diversity, Platform, Profile, ProfileConfig, DIVERSITY_STEPS};
use edgerank_core::state::{Feedback, FeedbackKind, UserState};

/// Candidates whose unplaced scores strictly decrease in the given order (checked).
fn assert_strictly_decreasing(env: &Env, cands: &[Candidate]) {
    let scores: Vec<LogScore> = cands.iter().map(|c| env.unplaced(c).unwrap()).collect();
    for w in scores.windows(2) {
        assert!(w[0] > w[1], "test setup: scores not strictly decreasing: {scores:?}");
    }
}

fn position(items: &[u32], id: u32) -> usize {
    items.iter().position(|&x| x == id).unwrap_or_else(|| panic!("{id} not on the page"))
}

// ---------------------------------------------------------------- author diversity

#[test]
fn author_factor_is_the_documented_geometric_decay() {
    for (decay, floor) in [(0.5f32, 0.2f32), (0.75, 0.25), (0.0, 0.5), (0.9, 0.0)] {
        let d = Diversity { decay, floor };
        let env = Env::new(like_profile(|c| c.author_diversity = d));
        // One author, 16 items: the page keeps score order and the k-th item gets step k.
        let cands: Vec<Candidate> = (0..16).map(|i| cand(i, 7, 250 - i * 12)).collect();
        assert_strictly_decreasing(&env, &cands);
        let feed = env.rank(&cands, 16);
        assert_eq!(ids(&feed), (0..16).collect::<Vec<u32>>());
        for (k, item) in feed.items.iter().enumerate() {
            let exact = (1.0 - floor as f64) * (decay as f64).powi(k as i32) + floor as f64;
            let got = item.author_factor.to_f64();
            assert!((got - exact).abs() <= exact * 1e-3, "decay {decay} floor {floor} k {k}: {got} vs {exact}");
            assert_eq!(item.author_factor, diversity_step(&d, k));
            assert_eq!(item.kind_factor, Factor::ONE, "kind rule is off");
            assert_eq!(item.score, item.unplaced.scaled(item.author_factor));
            assert_eq!(item.placement, Placement::Ranked);
        }
        // The first item of an author is never demoted.
        assert_eq!(feed.items[0].author_factor, Factor::ONE);
        assert_eq!(feed.items[0].score, feed.items[0].unplaced);
    }
}

#[test]
fn a_continued_page_counts_the_authors_already_shown() {
    let d = Diversity { decay: 0.5, floor: 0.2 };
    let env = Env::new(like_profile(|c| c.author_diversity = d));
    // Author 7's items lead; two of its items (not in the batch) were shown already.
    let cands: Vec<Candidate> = (0..6).map(|i| cand(i, if i < 3 { 7 } else { 10 + i }, 250 - i * 10)).collect();
    let before =
        [ShownItem::of(&cand(100, 7, 0), Placement::Ranked), ShownItem::of(&cand(101, 7, 0), Placement::Ranked)];
    let fresh = env.rank(&cands, 4);
    assert_eq!(fresh.items[0].author_factor, Factor::ONE);
    let rest = pipeline::rank_after::<64, 32>(&env.ctx(), &cands, &before, 4).unwrap();
    // Every item of author 7 on the rest is its third or later on the page.
    let of_seven: Vec<_> = rest.items.iter().filter(|it| it.author_id == 7).collect();
    assert!(!of_seven.is_empty());
    for (k, it) in of_seven.iter().enumerate() {
        assert_eq!(it.author_factor, diversity_step(&d, 2 + k), "item {k} of author 7");
    }
    // Others are first of their authors: the first item is no longer author 7's.
    assert_ne!(rest.items[0].author_id, 7);
    assert_eq!(rest.items[0].author_factor, Factor::ONE);
}

#[test]
fn a_continued_page_never_repeats_a_shown_item_and_keeps_within_capacity() {
    let env = Env::new(like_profile(|_| {}));
    let cands: Vec<Candidate> = (0..10).map(|i| cand(i, i, 250 - i * 10)).collect();
    let before: Vec<ShownItem> = cands[..3].iter().map(|c| ShownItem::of(c, Placement::Ranked)).collect();
    let rest = pipeline::rank_after::<64, 8>(&env.ctx(), &cands, &before, 5).unwrap();
    assert_eq!(ids(&rest), vec![3, 4, 5, 6, 7]);
    assert_eq!(
        pipeline::rank_after::<64, 8>(&env.ctx(), &cands, &before, 6),
        Err(RankError::KTooLarge { capacity: 8 })
    );
    // Into a buffer: filled with the same page, and emptied by a refusal.
    let mut session = RankSession::<64>::new(env.ctx());
    for c in &cands {
        session.push(c).unwrap();
    }
    let mut items = heapless::Vec::<RankedItem, 8>::new();
    session.finish_into(&before, 5, &mut items).unwrap();
    assert_eq!(items, rest.items);
    assert_eq!(session.finish_into(&before, 6, &mut items), Err(RankError::KTooLarge { capacity: 8 }));
    assert!(items.is_empty());
}

#[test]
fn a_continued_page_keeps_the_sponsored_slot_pattern_and_count() {
    // Ads from position 1, every 3rd, at most 2 per page.
    let env = Env::new(like_profile(|c| {
        c.sponsored.first_slot = 1;
        c.sponsored.spacing = 3;
        c.sponsored.max_per_page = 2;
        c.sponsored.quality_floor = 0.0;
    }));
    let mut cands: Vec<Candidate> = (0..12).map(|i| cand(i, i, 250 - i * 10)).collect();
    for i in 20..24 {
        let mut ad = cand(i, i, 200);
        ad.flags = edgerank_core::input::CandidateFlags::new(false, true, false);
        cands.push(ad);
    }
    let page = env.rank(&cands, 10);
    let ads: Vec<usize> =
        page.items.iter().enumerate().filter(|(_, it)| it.placement == Placement::Sponsored).map(|(p, _)| p).collect();
    assert_eq!(ads, vec![1, 4]);
    // After 2 shown items (one of them the ad at position 1), the next ad is at 4 and the
    // page's last; after 5 (both ads), none.
    for (p, want) in [(2usize, vec![4usize]), (5, vec![])] {
        let before: Vec<ShownItem> =
            page.items[..p].iter().map(|it| ShownItem::new(it, &cands[it.index as usize])).collect();
        let rest = pipeline::rank_after::<64, 32>(&env.ctx(), &cands, &before, 10 - p).unwrap();
        let got: Vec<usize> = rest
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.placement == Placement::Sponsored)
            .map(|(i, _)| p + i)
            .collect();
        assert_eq!(got, want, "after {p} shown");
    }
}

#[test]
fn author_factor_beyond_the_table_reaches_the_floor() {
    // DIVERSITY_STEPS docs: "the k-th item ... for k below this gets its own factor; later
    // ones get the floor". Diversity docs: the k-th item gets (1 - floor) * decay^k + floor.
    // Either way, item k >= 16 must get at most (1 - floor) * decay^k + floor.
    let d = Diversity { decay: 0.9, floor: 0.2 };
    let env = Env::new(like_profile(|c| c.author_diversity = d));
    let cands: Vec<Candidate> = (0..20).map(|i| cand(i, 7, 250 - i * 10)).collect();
    let feed = env.rank(&cands, 20);
    assert_eq!(feed.items.len(), 20);
    for (k, item) in feed.items.iter().enumerate().skip(DIVERSITY_STEPS) {
        let bound = (1.0 - 0.2) * 0.9f64.powi(k as i32) + 0.2;
        assert!(
            item.author_factor.to_f64() <= bound * 1.001,
            "k {k}: factor {} above (1-floor)*decay^k+floor = {bound}",
            item.author_factor.to_f64()
        );
    }
}

#[test]
fn a_strong_authors_second_item_is_pushed_below_weaker_authors() {
    let d = Diversity { decay: 0.5, floor: 0.2 }; // second item x0.6
    let mut cands = vec![cand(1, 100, 250), cand(2, 100, 245)];
    // Ten single-item authors below the strong author, spread widely.
    for j in 0..10 {
        cands.push(cand(10 + j, 200 + j, 240 - j * 24));
    }
    let without = Env::new(like_profile(|_| {}));
    assert_strictly_decreasing(&without, &cands);
    let page = ids(&without.rank(&cands, 12));
    assert_eq!(position(&page, 2), 1, "without the rule the second item is second");

    let env = Env::new(like_profile(|c| c.author_diversity = d));
    let feed = env.rank(&cands, 12);
    let page = ids(&feed);
    let second = feed.items.iter().find(|i| i.item_id == 2).unwrap();
    assert_eq!(second.author_factor, diversity_step(&d, 1));
    let adjusted = env.unplaced(&cands[1]).unwrap().scaled(diversity_step(&d, 1));
    let beaten_by = cands[2..].iter().filter(|c| env.unplaced(c).unwrap() > adjusted).count();
    assert!((3..10).contains(&beaten_by), "test setup: {beaten_by}");
    assert_eq!(position(&page, 1), 0, "the author's best item keeps the top");
    assert_eq!(position(&page, 2), 1 + beaten_by, "page {page:?}");
    assert_eq!(second.score, adjusted);
    // Everything else keeps its relative order.
    let others: Vec<u32> = page.iter().copied().filter(|&id| id != 2).collect();
    assert_eq!(others, [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
}

#[test]
fn author_diversity_counts_per_author() {
    // Two authors, alternating once their counts differ.
    let d = Diversity { decay: 0.5, floor: 0.0 };
    let env = Env::new(like_profile(|c| c.author_diversity = d));
    let cands: Vec<Candidate> = (0..6).map(|i| cand(i, if i < 3 { 1 } else { 2 }, 250 - i * 8)).collect();
    assert_strictly_decreasing(&env, &cands);
    let feed = env.rank(&cands, 6);
    assert_eq!(ids(&feed), [0, 3, 1, 4, 2, 5]);
    let factors: Vec<Factor> = feed.items.iter().map(|i| i.author_factor).collect();
    let s = |k| diversity_step(&d, k);
    assert_eq!(factors, [s(0), s(0), s(1), s(1), s(2), s(2)]);
}

// ---------------------------------------------------------------- content-kind diversity

#[test]
fn kind_diversity_interleaves_kinds_and_records_the_factor() {
    let d = Diversity { decay: 0.5, floor: 0.0 };
    let video = |id, likes| Candidate { kind: ContentKind::ShortVideo, ..cand(id, 100 + id, likes) };
    let text = |id, likes| cand(id, 100 + id, likes);
    let cands = vec![
        video(0, 250),
        video(1, 245),
        video(2, 240),
        video(3, 235),
        text(4, 230),
        text(5, 225),
        text(6, 220),
        text(7, 215),
    ];
    let without = Env::new(like_profile(|_| {}));
    assert_strictly_decreasing(&without, &cands);
    assert_eq!(ids(&without.rank(&cands, 8)), [0, 1, 2, 3, 4, 5, 6, 7]);

    let env = Env::new(like_profile(|c| c.kind_diversity = d));
    let feed = env.rank(&cands, 8);
    assert_eq!(ids(&feed), [0, 4, 1, 5, 2, 6, 3, 7]);
    for (pos, item) in feed.items.iter().enumerate() {
        assert_eq!(item.kind_factor, diversity_step(&d, pos / 2), "pos {pos}");
        assert_eq!(item.author_factor, Factor::ONE, "author rule is off");
    }
}

// ---------------------------------------------------------------- network rules

#[test]
fn out_of_network_factor_scales_only_recommended_items() {
    let half = Env::new(like_profile(|c| c.out_of_network_factor = 0.5));
    let one = Env::new(like_profile(|_| {}));
    let o = oon(cand(1, 1, 230));
    let i = cand(2, 2, 200);
    let f = Factor::from_f64(0.5);
    assert_eq!(half.unplaced(&o).unwrap(), one.unplaced(&o).unwrap().scaled(f));
    assert_eq!(half.unplaced(&i), one.unplaced(&i));
    // The factor reorders: the recommended item leads without it and trails with it.
    assert_eq!(ids(&one.rank(&[o, i], 2)), [1, 2]);
    let feed = half.rank(&[o, i], 2);
    assert_eq!(ids(&feed), [2, 1]);
    let why = pipeline::explain(&half.ctx(), &o, &feed.items[1]).unwrap();
    assert!(why.factors.contains(&(FactorKind::OutOfNetwork, f)));
    let why = pipeline::explain(&half.ctx(), &i, &feed.items[0]).unwrap();
    assert!(why.factors.iter().all(|(k, _)| *k != FactorKind::OutOfNetwork));
    // A factor above 1 (allowed up to 4) boosts instead.
    let boost = Env::new(like_profile(|c| c.out_of_network_factor = 1.5));
    assert_eq!(boost.unplaced(&o).unwrap(), one.unplaced(&o).unwrap().scaled(Factor::from_f64(1.5)));
}

#[test]
fn out_of_network_runs_are_capped_while_in_network_items_remain() {
    // Ten strong recommended items, three weak in-network ones.
    let mut cands: Vec<Candidate> = (0..10).map(|i| oon(cand(i, i, 250 - i * 10))).collect();
    cands.extend((10..13).map(|i| cand(i, i, 60 - (i - 10) * 10)));
    let free = Env::new(like_profile(|_| {}));
    assert_strictly_decreasing(&free, &cands);
    let feed = free.rank(&cands, 13);
    assert_eq!(ids(&feed), (0..13).collect::<Vec<u32>>());
    assert!(placements(&feed).iter().all(|p| *p == Placement::Ranked));

    for run in [1u8, 2, 3] {
        let env = Env::new(like_profile(|c| c.max_out_of_network_run = run));
        let feed = env.rank(&cands, 13);
        assert_eq!(feed.items.len(), 13);
        let mut current = 0;
        let mut in_network_left = 3;
        for item in &feed.items {
            let c = &cands[item.index as usize];
            if c.flags.in_network() {
                in_network_left -= 1;
                // Forced: every in-network pick here beats no recommended item on merit.
                if current == run as usize {
                    assert_eq!(item.placement, Placement::Constrained, "run {run}");
                }
                current = 0;
            } else {
                current += 1;
                if in_network_left > 0 {
                    assert!(current <= run as usize, "run {run}: {:?}", ids(&feed));
                }
                assert_eq!(item.placement, Placement::Ranked);
            }
        }
        assert_eq!(in_network_left, 0);
    }
    // Exact page for X's limit of 2.
    let env = Env::new(like_profile(|c| c.max_out_of_network_run = 2));
    let feed = env.rank(&cands, 13);
    assert_eq!(ids(&feed), [0, 1, 10, 2, 3, 11, 4, 5, 12, 6, 7, 8, 9]);
    use Placement::{Constrained as C, Ranked as R};
    assert_eq!(placements(&feed), [R, R, C, R, R, C, R, R, C, R, R, R, R]);
}

#[test]
fn in_network_minimum_share_holds_on_every_prefix() {
    let mut cands: Vec<Candidate> = (0..20).map(|i| oon(cand(i, i, 250 - i * 5))).collect();
    cands.extend((20..40).map(|i| cand(i, i, 60 - (i - 20) * 2)));
    let free = Env::new(like_profile(|_| {}));
    assert_strictly_decreasing(&free, &cands);
    for share in [0.25f32, 0.4, 0.5, 0.7, 1.0] {
        let env = Env::new(like_profile(|c| c.in_network_min_share = share));
        let feed = env.rank(&cands, 20);
        assert_eq!(feed.items.len(), 20);
        let q16 = edgerank_core::profile::share_q16(share) as u64;
        let mut in_network = 0;
        for (pos, item) in feed.items.iter().enumerate() {
            let is_in = cands[item.index as usize].flags.in_network();
            if is_in {
                in_network += 1;
                assert_eq!(item.placement, Placement::Constrained, "share {share} pos {pos}");
            } else {
                assert_eq!(item.placement, Placement::Ranked);
            }
            let needed = ((q16 * (pos as u64 + 1)) >> 16) as usize;
            assert!(in_network >= needed, "share {share}: prefix {} has {in_network}", pos + 1);
        }
        // And no more than needed, floor(share * 20): the recommended items are all stronger.
        let last_needed = match share {
            0.25 => 5,
            0.4 => 8,
            0.5 => 10,
            0.7 => 14,
            _ => 20,
        };
        assert_eq!(in_network, last_needed, "share {share}");
    }
    let env = Env::new(like_profile(|c| c.in_network_min_share = 0.5));
    assert_eq!(ids(&env.rank(&cands, 8)), [0, 20, 1, 21, 2, 22, 3, 23], "half the page in network, alternating");
    // LinkedIn's 0.6 and Threads' 0.4: three of the first five, two of the first five.
    for (share, in_first_five) in [(0.6f32, 3), (0.4, 2)] {
        let env = Env::new(like_profile(|c| c.in_network_min_share = share));
        let feed = env.rank(&cands, 5);
        let count = feed.items.iter().filter(|i| cands[i.index as usize].flags.in_network()).count();
        assert_eq!(count, in_first_five, "share {share}: {:?}", ids(&feed));
    }
}

#[test]
fn network_rules_fall_back_to_recommended_items_when_no_in_network_item_remains() {
    let mut cands: Vec<Candidate> = (0..2).map(|i| cand(i, i, 100 - i * 10)).collect();
    cands.extend((2..7).map(|i| oon(cand(i, i, 250 - i * 10))));
    let env = Env::new(like_profile(|c| {
        c.in_network_min_share = 1.0;
        c.max_out_of_network_run = 1;
    }));
    let feed = env.rank(&cands, 7);
    assert_eq!(ids(&feed), [0, 1, 2, 3, 4, 5, 6]);
    use Placement::{Constrained as C, Ranked as R};
    assert_eq!(placements(&feed), [C, C, R, R, R, R, R]);
}

// ---------------------------------------------------------------- exploration

fn big(mut c: Candidate) -> Candidate {
    c.author.followers = 1_000_000;
    c.author.impressions = 10_000_000;
    c
}

#[test]
fn past_the_shortlist_only_the_best_exploration_candidates_by_light_score_get_the_full_model() {
    // 48 organic candidates fill the shortlist, then 2,000 small creators with distinct like
    // counts arrive in a scrambled order: the full model runs on the shortlist and on the
    // exploration candidates among the best 16 by light score so far (a few dozen records),
    // not on all 2,000, and the best of them still takes the exploration slot.
    let env = Env::new(like_profile(|c| {
        c.exploration.slots = 1 << 3;
        c.shortlist = 48;
    }));
    let mut cands: Vec<Candidate> = (0..48).map(|i| big(cand(i, i, 100))).collect();
    cands.extend((0..2_000u32).map(|j| {
        let mut c = small_creator(cand(100 + j, 100 + j, 100 + (j * 7_919) % 2_000));
        c.global.impressions = 100_000;
        c
    }));
    let feed = pipeline::rank::<4096, K>(&env.ctx(), &cands, 20).expect("within capacity");
    let s = feed.stats;
    assert_eq!(s.received, 2_048);
    assert_eq!(s.received, s.filtered.iter().sum::<u32>() + s.scored + s.shortlist_skipped);
    // 48 + 16 + about 16 ln(2000 / 16) = 141 expected; every candidate would be 2,048.
    assert!((64..250).contains(&s.scored), "{s:?}");
    let best = cands.iter().skip(48).max_by_key(|c| c.global.likes).unwrap().item_id;
    let explored: Vec<u32> =
        feed.items.iter().filter(|i| i.placement == Placement::Exploration).map(|i| i.item_id).collect();
    assert_eq!(explored, [best]);
}

#[test]
fn exploration_slots_take_small_creators_best_first_without_duplicates() {
    let slots = (1u64 << 2) | (1 << 5);
    let mut cands: Vec<Candidate> = (0..8).map(|i| big(cand(i, i, 250 - i * 10))).collect();
    cands.extend((8..11).map(|i| small_creator(cand(i, i, 60 - (i - 8) * 10))));
    let env = Env::new(like_profile(|c| c.exploration.slots = slots));
    assert_strictly_decreasing(&env, &cands);
    let feed = env.rank(&cands, 11);
    assert_eq!(ids(&feed), [0, 1, 8, 2, 3, 9, 4, 5, 6, 7, 10]);
    use Placement::{Exploration as E, Ranked as R};
    assert_eq!(placements(&feed), [R, R, E, R, R, E, R, R, R, R, R]);
    // Exploration items keep their positional factors (neutral here) and unplaced score.
    for item in feed.items.iter().filter(|i| i.placement == E) {
        assert_eq!(item.score, item.unplaced);
    }
    // Without slots the small creators come last.
    let none = Env::new(like_profile(|_| {}));
    assert_eq!(ids(&none.rank(&cands, 11)), (0..11).collect::<Vec<u32>>());
}

#[test]
fn an_exploration_item_already_on_the_page_is_not_placed_twice() {
    let cands = [
        small_creator(cand(1, 1, 250)), // best overall, eligible
        big(cand(2, 2, 200)),
        small_creator(cand(3, 3, 100)),
    ];
    let env = Env::new(like_profile(|c| c.exploration.slots = 1 << 1));
    let feed = env.rank(&cands, 3);
    assert_eq!(ids(&feed), [1, 3, 2]);
    use Placement::{Exploration as E, Ranked as R};
    assert_eq!(placements(&feed), [R, E, R]);
    // Same id offered twice (organic and exploration pools): still once.
    let feed = env.rank(&cands, 10);
    assert_eq!(feed.items.len(), 3);
}

#[test]
fn exploration_slots_fall_back_to_organic_items_when_no_creator_is_eligible() {
    let cands: Vec<Candidate> = (0..5).map(|i| big(cand(i, i, 250 - i * 10))).collect();
    let env = Env::new(like_profile(|c| c.exploration.slots = 0b1011));
    let feed = env.rank(&cands, 5);
    assert_eq!(ids(&feed), [0, 1, 2, 3, 4]);
    assert!(placements(&feed).iter().all(|p| *p == Placement::Ranked));
}

#[test]
fn exploration_slots_keep_the_out_of_network_run_limit() {
    // X's limit of 2 with slots at positions 2 and 3, recommended small creators: at 2 the
    // run is full and no in-network creator is left, so the slot moves on and both land
    // after an in-network item; the run never exceeds 2 while in-network items remain.
    let mut cands: Vec<Candidate> = (0..7).map(|i| oon(big(cand(i, i, 250 - i * 10)))).collect();
    cands.extend((10..15).map(|i| big(cand(i, i, 60 - (i - 10) * 2))));
    cands.extend([oon(small_creator(cand(20, 20, 100))), oon(small_creator(cand(21, 21, 90)))]);
    let env = Env::new(like_profile(|c| {
        c.max_out_of_network_run = 2;
        c.exploration.slots = (1 << 2) | (1 << 3);
    }));
    let feed = env.rank(&cands, 10);
    assert_eq!(ids(&feed), [0, 1, 10, 20, 21, 11, 2, 3, 12, 4]);
    use Placement::{Constrained as C, Exploration as E, Ranked as R};
    assert_eq!(placements(&feed), [R, R, C, E, E, C, R, R, C, R]);
    let mut run = 0;
    for item in &feed.items {
        run = if cands[item.index as usize].flags.in_network() { 0 } else { run + 1 };
        assert!(run <= 2, "{:?}", ids(&feed));
    }
    // An in-network creator takes the slot where the rule holds it, and the next slot goes
    // to the best creator: two slots, two exploration items.
    cands.push(small_creator(cand(22, 22, 80)));
    let feed = env.rank(&cands, 5);
    assert_eq!(ids(&feed), [0, 1, 22, 20, 2]);
    assert_eq!(placements(&feed), [R, R, E, E, R]);
}

#[test]
fn exploration_slots_keep_the_in_network_share() {
    // Instagram's share of 1/2 with a slot at position 1, a recommended small creator: the
    // first two items need one in network, so the creator waits one position.
    let mut cands: Vec<Candidate> = (0..10).map(|i| oon(big(cand(i, i, 250 - i * 10)))).collect();
    cands.extend((10..20).map(|i| big(cand(i, i, 60 - (i - 10) * 2))));
    cands.push(oon(small_creator(cand(20, 20, 100))));
    let env = Env::new(like_profile(|c| {
        c.in_network_min_share = 0.5;
        c.exploration.slots = 1 << 1;
    }));
    let feed = env.rank(&cands, 8);
    assert_eq!(ids(&feed), [0, 10, 20, 11, 1, 12, 2, 13]);
    use Placement::{Constrained as C, Exploration as E, Ranked as R};
    assert_eq!(placements(&feed), [R, C, E, C, R, C, R, C]);
    let mut in_network = 0;
    for (pos, item) in feed.items.iter().enumerate() {
        in_network += usize::from(cands[item.index as usize].flags.in_network());
        // floor((pos + 1) / 2) in network among the first pos + 1.
        assert!(in_network >= pos.div_ceil(2), "prefix {}: {:?}", pos + 1, ids(&feed));
    }
}

#[test]
fn exploration_slots_are_not_held_once_no_in_network_item_remains() {
    // A user who follows few accounts: one in-network item, then recommended ones. Once the
    // in-network item is placed the rules bind nothing, and the slot at position 3 goes to
    // the recommended small creator as usual.
    let mut cands = vec![big(cand(10, 10, 300))];
    cands.extend((0..8).map(|i| oon(big(cand(i, i, 250 - i * 10)))));
    cands.push(oon(small_creator(cand(20, 20, 60))));
    use Placement::{Exploration as E, Ranked as R};
    for rules in
        [|c: &mut ProfileConfig| c.in_network_min_share = 0.5, |c: &mut ProfileConfig| c.max_out_of_network_run = 2]
    {
        let env = Env::new(like_profile(|c| {
            rules(c);
            c.exploration.slots = 1 << 3;
        }));
        let feed = env.rank(&cands, 8);
        assert_eq!(ids(&feed), [10, 0, 1, 20, 2, 3, 4, 5]);
        assert_eq!(placements(&feed), [R, R, R, E, R, R, R, R]);
    }
}

#[test]
fn an_exploration_slot_an_ad_takes_moves_to_the_next_position() {
    // X's layout: an ad slot and an exploration slot at the same position. The ad keeps it,
    // and both creators still get a slot.
    let mut cands: Vec<Candidate> = (0..10).map(|i| big(cand(i, i, 250 - i * 10))).collect();
    cands.push(sponsored(cand(100, 100, 240)));
    cands.extend([small_creator(cand(20, 20, 60)), small_creator(cand(21, 21, 50))]);
    let env = Env::new(like_profile(|c| {
        c.sponsored.first_slot = 2;
        c.sponsored.spacing = 6;
        c.sponsored.max_per_page = 4;
        c.exploration.slots = (1 << 2) | (1 << 3);
    }));
    let feed = env.rank(&cands, 8);
    assert_eq!(ids(&feed), [0, 1, 100, 20, 21, 2, 3, 4]);
    use Placement::{Exploration as E, Ranked as R, Sponsored as S};
    assert_eq!(placements(&feed), [R, R, S, E, E, R, R, R]);
}

#[test]
fn exploration_eligibility_boundaries() {
    let env = Env::new(like_profile(|c| {
        c.exploration.slots = 1;
        c.exploration.max_followers = 1_000;
        c.exploration.max_author_impressions = 1_000;
        c.exploration.max_age_s = 3_600;
    }));
    let top = big(cand(1, 1, 250));
    let mut probe = cand(2, 2, 50);
    probe.author.followers = 1_000; // at the limit: eligible (<=)
    probe.author.impressions = 999;
    probe.created_at = NOW - 3_599;
    let feed = env.rank(&[top, probe], 1);
    assert_eq!((feed.items[0].item_id, feed.items[0].placement), (2, Placement::Exploration));

    for tweak in [
        (|c: &mut Candidate| c.author.followers = 1_001) as fn(&mut Candidate),
        |c| c.author.impressions = 1_000, // strict (<)
        |c| c.created_at = NOW - 3_600,   // strict (<)
    ] {
        let mut p = probe;
        tweak(&mut p);
        let feed = env.rank(&[top, p], 1);
        assert_eq!((feed.items[0].item_id, feed.items[0].placement), (1, Placement::Ranked));
    }
}

// ---------------------------------------------------------------- sponsored

/// The smallest positive f32 whose compiled floor (`LogScore::from_value`) is at least
/// `target` (binary search over the bit patterns, which order positive floats).
fn smallest_floor_reaching(target: LogScore) -> f32 {
    let (mut lo, mut hi) = (1u32, 0x7f7f_ffffu32);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if LogScore::from_value(f32::from_bits(mid) as f64) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    f32::from_bits(lo)
}

#[test]
fn sponsored_slots_follow_first_slot_spacing_cap_and_quality_floor() {
    let organic: Vec<Candidate> = (0..10).map(|i| cand(i, i, 250 - i * 10)).collect();
    let ads: Vec<Candidate> = [(100, 240), (101, 90), (102, 80), (103, 5)]
        .iter()
        .map(|&(id, likes)| sponsored(cand(id, id, likes)))
        .collect();
    let probe = Env::new(like_profile(|_| {}));
    assert_strictly_decreasing(&probe, &ads);
    // A floor exactly at the third ad's score: at the floor is accepted, below is not.
    let third = probe.unplaced(&ads[2]).unwrap();
    let floor = smallest_floor_reaching(third);
    assert_eq!(LogScore::from_value(floor as f64), third, "test setup: no exact floor");
    let mut cands = ads.clone();
    cands.extend(organic.iter().copied());

    for (max, expected_slots) in [(2u8, vec![1usize, 4]), (4, vec![1, 4, 7]), (0, vec![])] {
        let env = Env::new(like_profile(|c| {
            c.sponsored.first_slot = 1;
            c.sponsored.spacing = 3;
            c.sponsored.max_per_page = max;
            c.sponsored.quality_floor = floor;
        }));
        let feed = env.rank(&cands, 10);
        assert_eq!(feed.items.len(), 10);
        assert_eq!(feed.stats.sponsored_below_floor, 1, "only the fourth ad is below");
        let slots: Vec<usize> = feed
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.placement == Placement::Sponsored)
            .map(|(p, _)| p)
            .collect();
        assert_eq!(slots, expected_slots, "max {max}");
        let ad_ids: Vec<u32> = slots.iter().map(|&p| feed.items[p].item_id).collect();
        assert_eq!(ad_ids, [100, 101, 102][..slots.len()], "best ads first");
        for item in &feed.items {
            let is_ad = item.item_id >= 100;
            assert_eq!(is_ad, item.placement == Placement::Sponsored);
            if is_ad {
                assert_eq!((item.author_factor, item.kind_factor), (Factor::ONE, Factor::ONE));
                assert_eq!(item.score, item.unplaced);
            }
        }
        assert!(!ids(&feed).contains(&103));
        // Organic items fill every other position in score order.
        let organic_ids: Vec<u32> = ids(&feed).into_iter().filter(|&id| id < 100).collect();
        assert_eq!(organic_ids, (0..(10 - slots.len()) as u32).collect::<Vec<u32>>());
    }

    // A floor one step above the third ad: it is refused too, and its slot goes organic.
    let above = smallest_floor_reaching(LogScore(third.0 + 1));
    assert!(LogScore::from_value(above as f64) > third);
    let env = Env::new(like_profile(|c| {
        c.sponsored.first_slot = 1;
        c.sponsored.spacing = 3;
        c.sponsored.max_per_page = 4;
        c.sponsored.quality_floor = above;
    }));
    let feed = env.rank(&cands, 10);
    assert_eq!(feed.stats.sponsored_below_floor, 2);
    let ad_ids: Vec<u32> = ids(&feed).into_iter().filter(|&id| id >= 100).collect();
    assert_eq!(ad_ids, [100, 101]);
    assert_eq!(feed.items[7].placement, Placement::Ranked);
}

#[test]
fn a_strong_ad_waits_for_its_slot_and_empty_ad_pools_leave_slots_organic() {
    let mut cands = vec![sponsored(cand(100, 100, 250))];
    cands.extend((0..6).map(|i| cand(i, i, 200 - i * 10)));
    let env = Env::new(like_profile(|c| {
        c.sponsored.first_slot = 2;
        c.sponsored.spacing = 2;
        c.sponsored.max_per_page = 3;
    }));
    let feed = env.rank(&cands, 7);
    assert_eq!(ids(&feed), [0, 1, 100, 2, 3, 4, 5]);
    // Only organic candidates: every slot is organic.
    let feed = env.rank(&cands[1..], 6);
    assert_eq!(ids(&feed), [0, 1, 2, 3, 4, 5]);
    assert!(placements(&feed).iter().all(|p| *p == Placement::Ranked));
    // Ads never fill organic positions, even when nothing organic is left.
    let only_ads: Vec<Candidate> = (0..5).map(|i| sponsored(cand(100 + i, 1, 200))).collect();
    let feed = env.rank(&only_ads, 10);
    assert_eq!(feed.items.len(), 0, "position 0 is not a sponsored slot: the page ends");
}

// ---------------------------------------------------------------- reply, age, fatigue

#[test]
fn reply_factor_scales_only_replies() {
    let half = Env::new(like_profile(|c| c.reply_factor = 0.5));
    let one = Env::new(like_profile(|_| {}));
    let mut reply = cand(1, 1, 200);
    reply.flags.0 |= edgerank_core::input::CandidateFlags::REPLY;
    let post = cand(2, 2, 200);
    let f = Factor::from_f64(0.5);
    assert_eq!(half.unplaced(&reply).unwrap(), one.unplaced(&reply).unwrap().scaled(f));
    assert_eq!(half.unplaced(&post), one.unplaced(&post));
    // Reply is not a model feature: without the factor both tie and the earlier index leads.
    assert_eq!(one.unplaced(&reply), one.unplaced(&post));
    assert_eq!(ids(&one.rank(&[reply, post], 2)), [1, 2]);
    assert_eq!(ids(&half.rank(&[reply, post], 2)), [2, 1]);
}

#[test]
fn age_decay_follows_earlybird_and_old_posts_are_cut() {
    let age = AgeDecay { max_age_s: 2 * DAY, halflife_min: 360.0, slope_per_min: 0.003, floor: 0.6 };
    let env = Env::new(like_profile(|c| c.age = age));
    let flat = Env::new(like_profile(|c| c.age = AgeDecay { floor: 1.0, ..age }));
    let mut prev = Factor(i32::MAX);
    let ages = [0u32, 60, 3_600, 6 * 3_600, 20 * 3_600, 2 * DAY];
    let cands: Vec<Candidate> = ages
        .iter()
        .enumerate()
        .map(|(i, &a)| Candidate { created_at: NOW - a, ..cand(i as u32, i as u32, 150) })
        .collect();
    for (c, &a) in cands.iter().zip(&ages) {
        let f = env.profile.age_factor(a);
        let m = a as f64 / 60.0;
        let exact = 0.6 + 0.4 / (1.0 + (0.003 * (m - 360.0)).exp());
        assert!((f.to_f64() - exact).abs() < 2e-3, "age {a}: {f:?} vs {exact}");
        assert!(f <= prev);
        prev = f;
        assert_eq!(env.unplaced(c).unwrap(), flat.unplaced(c).unwrap().scaled(f), "age {a}");
        assert_eq!(flat.profile.age_factor(a), Factor::ONE);
    }
    let feed = env.rank(&cands, 6);
    assert_eq!(ids(&feed), [0, 1, 2, 3, 4, 5], "newer first when otherwise identical");

    // The cut: exactly max_age is kept, one second more is dropped.
    let old = Candidate { created_at: NOW - 2 * DAY - 1, ..cand(10, 10, 250) };
    let feed = env.rank(&[old, cands[5]], 2);
    assert_eq!(ids(&feed), [5]);
    assert_eq!(feed.stats.filtered[reason(FilterReason::TooOld)], 1);
    assert_eq!(feed.stats.scored, 1);
}

#[test]
fn future_posts_count_as_new_within_tolerance_and_are_dropped_beyond() {
    let env = Env::new(like_profile(|c| {
        c.age = AgeDecay { max_age_s: DAY, halflife_min: 60.0, slope_per_min: 0.1, floor: 0.2 };
    }));
    let now_post = Candidate { created_at: NOW, ..cand(1, 1, 150) };
    let soon = Candidate { created_at: NOW + FUTURE_TOLERANCE_S, ..cand(2, 2, 150) };
    let later = Candidate { created_at: NOW + FUTURE_TOLERANCE_S + 1, ..cand(3, 3, 150) };
    assert_eq!(env.unplaced(&soon), env.unplaced(&now_post));
    let feed = env.rank(&[later, soon, now_post], 3);
    assert_eq!(ids(&feed), [2, 1]);
    assert_eq!(feed.stats.filtered[reason(FilterReason::FromFuture)], 1);
}

// ---------------------------------------------------------------- duplicates

#[test]
fn only_the_best_copy_of_a_duplicated_item_appears() {
    let env = Env::new(like_profile(|c| {
        c.author_diversity = Diversity { decay: 0.5, floor: 0.2 };
    }));
    let cands = [
        cand(5, 1, 100), // index 0: weaker copy
        cand(6, 2, 150),
        cand(5, 1, 240), // index 2: best copy
        cand(7, 3, 50),
        cand(5, 1, 200), // index 4
    ];
    for k in [1, 3, 10] {
        let feed = env.rank(&cands, k);
        let copies: Vec<_> = feed.items.iter().filter(|i| i.item_id == 5).collect();
        assert_eq!(copies.len(), 1, "k {k}");
        assert_eq!(copies[0].index, 2, "the best copy");
        assert_eq!(copies[0].author_factor, Factor::ONE, "the copies do not count as the author's items");
    }
    assert_eq!(ids(&env.rank(&cands, 10)), [5, 6, 7]);
    // Identical copies: the earliest one.
    let same = [cand(9, 1, 100), cand(9, 1, 100), cand(9, 1, 100)];
    let feed = env.rank(&same, 3);
    assert_eq!(feed.items.len(), 1);
    assert_eq!(feed.items[0].index, 0);
}

#[test]
fn a_duplicate_across_sponsored_exploration_and_organic_pools_appears_once() {
    let env = Env::new(like_profile(|c| {
        c.exploration.slots = 0b10;
        c.sponsored.first_slot = 0;
        c.sponsored.spacing = 1;
        c.sponsored.max_per_page = 1;
    }));
    let cands = [sponsored(cand(1, 1, 100)), small_creator(cand(1, 1, 200)), big(cand(2, 2, 150))];
    let feed = env.rank(&cands, 5);
    assert_eq!(ids(&feed), [1, 2]);
    assert_eq!(placements(&feed), [Placement::Sponsored, Placement::Ranked]);
}

// ---------------------------------------------------------------- filters

fn fb(item_id: u32, author_id: u32, kind: FeedbackKind, at: u32) -> Feedback {
    Feedback { item_id, author_id, topic: 9, at, kind }
}

#[test]
fn seen_muted_blocked_and_see_fewer_authors_are_filtered() {
    let cands: Vec<Candidate> = (0..8).map(|i| cand(i, i, 200)).collect();
    let mut env = Env::new(like_profile(|_| {}));
    let apply = |env: &mut Env, f: Feedback| env.user.apply(&f).unwrap();
    apply(&mut env, fb(0, 1000, FeedbackKind::Like, NOW - 10)); // item 0 seen
    apply(&mut env, fb(500, 1, FeedbackKind::Mute, NOW - 10)); // author 1 muted
    apply(&mut env, fb(501, 2, FeedbackKind::Block, NOW - 10)); // author 2 blocked
    apply(&mut env, fb(502, 3, FeedbackKind::Report, NOW - 10)); // author 3 blocked
    apply(&mut env, fb(503, 4, FeedbackKind::SeeFewer, NOW - 10)); // author 4 see-fewer
    apply(&mut env, fb(5, 1001, FeedbackKind::Impression { watch_ratio: Default::default() }, NOW));
    let feed = env.rank(&cands, 8);
    assert_eq!(ids(&feed), [6, 7]);
    let s = feed.stats;
    assert_eq!(s.filtered[reason(FilterReason::Seen)], 2);
    assert_eq!(s.filtered[reason(FilterReason::Muted)], 3);
    assert_eq!(s.filtered[reason(FilterReason::SeeFewer)], 1);
    assert_eq!(s.scored, 2);
    // Unmute lets the author back.
    apply(&mut env, fb(504, 1, FeedbackKind::Unmute, NOW));
    apply(&mut env, fb(505, 4, FeedbackKind::Unmute, NOW));
    let feed = env.rank(&cands, 8);
    assert_eq!(feed.items.len(), 4);
    assert!(ids(&feed).contains(&1) && ids(&feed).contains(&4));
}

#[test]
fn see_fewer_filters_for_the_window_then_recovers_linearly() {
    // X's rule: 14 days filtered, then 0.2 back to 1 over 140 days.
    let mut env = Env::new(like_profile(|_| {}));
    let at = NOW - 100 * DAY;
    env.user.apply(&fb(900, 4, FeedbackKind::SeeFewer, at)).unwrap();
    let c = cand(1, 4, 200);
    let check = |env: &Env, days: u32| {
        let env_now = Env { now: at + days * DAY, ..Env::new(env.profile.clone()) };
        let env_now = Env { user: env.user.clone(), ..env_now };
        let c = Candidate { created_at: env_now.now - 60, ..c };
        let feed = env_now.rank(&[c], 1);
        if days < 14 {
            assert_eq!(feed.items.len(), 0, "day {days}");
            assert_eq!(feed.stats.filtered[reason(FilterReason::SeeFewer)], 1);
            return None;
        }
        let why = pipeline::explain(&env_now.ctx(), &c, &feed.items[0]).unwrap();
        Some(why.factors.iter().find(|(k, _)| *k == FactorKind::Fatigue).map(|(_, f)| *f))
    };
    assert_eq!(check(&env, 0), None);
    assert_eq!(check(&env, 13), None);
    let start = check(&env, 14).unwrap().unwrap();
    assert!((start.to_f64() - 0.2).abs() < 1e-3, "{start:?}");
    let mid = check(&env, 84).unwrap().unwrap();
    assert!((mid.to_f64() - 0.6).abs() < 1e-3, "{mid:?}");
    assert_eq!(check(&env, 154), Some(None), "fully recovered: no factor");
}

// ---------------------------------------------------------------- integrity

type Tweak = fn(&mut Candidate);

fn manipulated() -> Vec<(&'static str, Tweak)> {
    vec![
        ("pod", |c| {
            c.global.early_engager_overlap = Prob::ONE;
            c.global.engagements_first_10m = c.global.engagements_first_2h;
        }),
        ("bought followers", |c| c.author.followers = 500_000),
        ("bot", |c| c.author.posting_regularity = Prob::ONE),
        ("young", |c| c.author.account_age_days = 2),
        ("follow farm", |c| {
            c.author.followings = 5_000;
            c.author.followers = 800;
        }),
    ]
}

#[test]
fn inauthentic_authors_rank_below_identical_honest_ones_under_x_only_with_integrity_on() {
    let model = Model::default();
    let user = UserState::new();
    let x = Profile::compile(Platform::X.config()).unwrap();
    let mut off_cfg = Platform::X.config();
    off_cfg.integrity.enabled = false;
    let off = Profile::compile(off_cfg).unwrap();
    // An honest author with a low engagement rate (0.001) but few followers, so only the
    // follower count separates it from a bought-follower account.
    let mut honest = cand(2, 2, 150);
    honest.author.followers = 900;
    honest.author.engagement_rate = Prob::from_f64(0.001);
    honest.author.followings = 100;
    for (name, tweak) in manipulated() {
        let mut bad = Candidate { item_id: 1, author_id: 1, ..honest };
        tweak(&mut bad);
        // The manipulated one comes first in the request, so it wins ties.
        let cands = [bad, honest];
        for (profile, on) in [(&x, true), (&off, false)] {
            let ctx = RankContext { model: &model, profile, user: &user, now: NOW };
            let feed = pipeline::rank::<N, K>(&ctx, &cands, 2).unwrap();
            check_feed(&ctx, &cands, 2, &feed);
            if on && name == "follow farm" {
                // A ratio of 6.2, far past X's 0.6: exp(-5 * 5.6) is below 1/32, so the
                // candidate is dropped, not demoted.
                assert_eq!(unplaced(&ctx, &bad), None, "{name}");
                assert_eq!(ids(&feed), [2], "{name}");
                assert_eq!(feed.stats.filtered[FilterReason::Inauthentic as usize], 1, "{name}");
                continue;
            }
            let (sb, sh) = (unplaced(&ctx, &bad).unwrap(), unplaced(&ctx, &honest).unwrap());
            if on {
                assert!(sb < sh, "{name}: {sb:?} vs {sh:?}");
                assert_eq!(ids(&feed), [2, 1], "{name}: honest first under X");
                let why = pipeline::explain(&ctx, &bad, &feed.items[1]).unwrap();
                assert!(
                    why.factors.iter().any(|(k, f)| matches!(
                        k,
                        FactorKind::FollowFarming
                            | FactorKind::YoungAccount
                            | FactorKind::EngagementPod
                            | FactorKind::BoughtFollowers
                            | FactorKind::BotRegularity
                    ) && *f < Factor::ONE),
                    "{name}: {why:?}"
                );
            } else {
                assert_eq!(sb, sh, "{name}: identical without integrity");
                assert_eq!(ids(&feed), [1, 2], "{name}: tie goes to the earlier index");
            }
        }
    }
}

// ---------------------------------------------------------------- capacities and edges

#[test]
fn capacity_errors_are_errors_not_panics() {
    let env = Env::new(like_profile(|_| {}));
    let ctx = env.ctx();
    let cands: Vec<Candidate> = (0..5).map(|i| cand(i, i, 100)).collect();
    assert_eq!(pipeline::rank::<4, 8>(&ctx, &cands, 1).unwrap_err(), RankError::TooManyCandidates { capacity: 4 });
    assert!(pipeline::rank::<5, 8>(&ctx, &cands, 1).is_ok());
    assert_eq!(pipeline::rank::<8, 4>(&ctx, &cands, 5).unwrap_err(), RankError::KTooLarge { capacity: 4 });
    assert_eq!(pipeline::rank::<8, 4>(&ctx, &cands, 4).unwrap().items.len(), 4);
    // Streaming: the (N+1)-th push is refused, the session stays usable.
    let mut session = RankSession::<4>::new(ctx);
    for c in &cands[..4] {
        session.push(c).unwrap();
    }
    assert_eq!(session.push(&cands[4]), Err(RankError::TooManyCandidates { capacity: 4 }));
    let feed = session.finish::<4>(4).unwrap();
    assert_eq!(feed.stats.received, 4);
    assert_eq!(feed.items.len(), 4);
    let mut session = RankSession::<4>::new(ctx);
    assert_eq!(session.finish::<2>(3).unwrap_err(), RankError::KTooLarge { capacity: 2 });
    // N = 0 accepts only an empty batch.
    assert!(pipeline::rank::<0, 4>(&ctx, &[], 4).unwrap().items.is_empty());
    assert!(pipeline::rank::<0, 4>(&ctx, &cands[..1], 4).is_err());
}

#[test]
fn empty_batches_and_k_zero_give_empty_pages_with_counted_stats() {
    let env = Env::new(Profile::compile(Platform::X.config()).unwrap());
    let feed = env.rank(&[], 10);
    assert!(feed.items.is_empty());
    assert_eq!(feed.stats, Default::default());
    let cands: Vec<Candidate> = (0..20).map(|i| cand(i, i, 100)).collect();
    let feed = env.rank(&cands, 0);
    assert!(feed.items.is_empty());
    assert_eq!(feed.stats.received, 20);
    assert_eq!(feed.stats.scored, 20);
    // k larger than what is admitted: every admitted item, once.
    let feed = env.rank(&cands[..3], 32);
    assert_eq!(feed.items.len(), 3);
}

#[test]
fn a_small_organic_pool_keeps_the_best_candidates() {
    // P = 4: only the four best compete; pool_overflow counts the rest.
    let env = Env::new(like_profile(|_| {}));
    let cands: Vec<Candidate> = (0..10).map(|i| cand(i, i, 20 + i * 20)).collect();
    let mut session = RankSession::<16, 4>::new(env.ctx());
    for c in &cands {
        session.push(c).unwrap();
    }
    let feed = session.finish::<8>(8).unwrap();
    assert_eq!(ids(&feed), [9, 8, 7, 6]);
    assert_eq!(feed.stats.pool_overflow, 6);
    let reference = reference_page(&env.ctx(), &cands, 8, 4);
    assert_eq!(feed.items.as_slice(), reference.as_slice());
}
