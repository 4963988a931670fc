//! Whole-pipeline tests: streaming equals batch ranking, explanations replay every score, the
//! page matches a naive re-implementation of the rules, and feedback changes the next page.

mod common;

use common::*;
use edgerank_core::input::{Candidate, TOPICS};
use edgerank_core::model::Model;
use edgerank_core::num::WatchRatio;
use edgerank_core::pipeline::filter::FilterReason;
use edgerank_core::pipeline::{self, RankContext, RankSession};
use edgerank_core::profile::{Platform, Profile};
use edgerank_core::state::{Feedback, FeedbackKind, UserState};

fn profiles() -> Vec<Profile> {
    Platform::ALL.iter().map(|p| Profile::compile(p.config()).unwrap()).collect()
}

/// A user with some history over the ids and authors `Rng::candidate` produces.
fn user_with_history(rng: &mut Rng, now: u32) -> UserState {
    let mut user = UserState::new();
    let kinds = [
        FeedbackKind::Like,
        FeedbackKind::Share,
        FeedbackKind::Skip,
        FeedbackKind::Hide,
        FeedbackKind::Follow,
        FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(0.8) },
        FeedbackKind::SeeFewer,
        FeedbackKind::Mute,
    ];
    for _ in 0..rng.below(30) {
        let kind = kinds[rng.below(kinds.len() as u32) as usize];
        let _ = user.apply(&Feedback {
            item_id: rng.below(400),
            author_id: rng.below(30),
            topic: rng.below(TOPICS as u32) as u8,
            at: now - rng.below(40 * DAY),
            kind,
        });
    }
    user
}

#[test]
fn streaming_one_by_one_equals_ranking_a_slice() {
    let model = Model::default();
    let mut rng = Rng(1);
    for profile in profiles() {
        for _ in 0..40 {
            let user = user_with_history(&mut rng, NOW);
            let ctx = RankContext { model: &model, profile: &profile, user: &user, now: NOW };
            let n = rng.below(257) as usize;
            let k = rng.below(33) as usize;
            let cands = rng.batch(NOW, n);
            let batch = pipeline::rank::<N, K>(&ctx, &cands, k).unwrap();
            let mut session = RankSession::<N>::new(ctx);
            for c in &cands {
                session.push(c).unwrap();
            }
            let streamed = session.finish::<K>(k).unwrap();
            assert_eq!(streamed, batch, "{}", profile.config().name);
            // A page built halfway leaves the session valid: pushing the rest and building
            // again gives the page of the whole batch.
            let mut session = RankSession::<N>::new(ctx);
            let half = cands.len() / 2;
            for c in &cands[..half] {
                session.push(c).unwrap();
            }
            let early = session.finish::<K>(k).unwrap();
            assert_eq!(early.stats.received as usize, half);
            for c in &cands[half..] {
                session.push(c).unwrap();
            }
            assert_eq!(session.finish::<K>(k).unwrap(), batch, "{}: resumed", profile.config().name);
            check_feed(&ctx, &cands, k, &batch);
        }
    }
}

#[test]
fn explanations_replay_every_item_of_many_random_pages() {
    let model = Model::default();
    let mut rng = Rng(2);
    let mut items = 0;
    for profile in profiles() {
        for _ in 0..60 {
            let user = user_with_history(&mut rng, NOW);
            let ctx = RankContext { model: &model, profile: &profile, user: &user, now: NOW };
            let n = 1 + rng.below(256) as usize;
            let cands = rng.batch(NOW, n);
            let feed = pipeline::rank::<N, K>(&ctx, &cands, K).unwrap();
            for item in &feed.items {
                let why = pipeline::explain(&ctx, &cands[item.index as usize], item).unwrap();
                assert_eq!(why.replay(&profile), item.score);
                assert_eq!(why.replay_unplaced(&profile), item.unplaced);
                // The positional factors are listed after the non-positional ones, and only
                // when they differ from 1.
                let positional = &why.factors[why.non_positional as usize..];
                let expected = [item.author_factor, item.kind_factor]
                    .into_iter()
                    .filter(|f| *f != edgerank_core::num::Factor::ONE)
                    .count();
                assert_eq!(positional.len(), expected);
                items += 1;
            }
        }
    }
    assert!(items > 5_000, "only {items} items explained");
}

#[test]
fn explanations_of_filtered_candidates_are_none() {
    let env = Env::new(Profile::compile(Platform::X.config()).unwrap());
    let c = cand(1, 1, 100);
    let feed = env.rank(&[c], 1);
    let item = feed.items[0];
    let too_old = Candidate { created_at: NOW - 3 * DAY, ..c };
    assert!(pipeline::explain(&env.ctx(), &too_old, &item).is_none());
    let from_future = Candidate { created_at: NOW + 10_000, ..c };
    assert!(pipeline::explain(&env.ctx(), &from_future, &item).is_none());
}

#[test]
fn pages_match_a_naive_implementation_of_the_documented_rules() {
    let model = Model::default();
    let mut rng = Rng(3);
    for profile in profiles() {
        for _ in 0..40 {
            let user = user_with_history(&mut rng, NOW);
            let ctx = RankContext { model: &model, profile: &profile, user: &user, now: NOW };
            let n = rng.below(257) as usize;
            let k = rng.below(33) as usize;
            let cands = rng.batch(NOW, n);
            let feed = pipeline::rank::<N, K>(&ctx, &cands, k).unwrap();
            let reference = reference_default(&ctx, &cands, k);
            assert_eq!(feed.items.as_slice(), reference.as_slice(), "{}", profile.config().name);
        }
    }
}

// ---------------------------------------------------------------- on-device learning

/// Two candidates identical except for one field (item id plus `differ`); the one that
/// should gain comes second in the request so it loses the tie before learning.
fn pair(differ: impl Fn(&mut Candidate, bool)) -> [Candidate; 2] {
    let mut a = cand(1, 10, 120);
    let mut b = cand(2, 10, 120);
    differ(&mut a, false);
    differ(&mut b, true);
    [a, b]
}

#[test]
fn liking_and_sharing_a_topic_lifts_it_in_the_next_call() {
    for platform in Platform::ALL {
        for kind in [FeedbackKind::Like, FeedbackKind::Share] {
            let mut env = Env::new(Profile::compile(platform.config()).unwrap());
            let cands = pair(|c, favoured| {
                c.topic = if favoured { 7 } else { 8 };
                c.author_id = if favoured { 20 } else { 21 };
            });
            let before = env.rank(&cands, 2);
            assert_eq!(ids(&before), [1, 2], "tie before learning: earlier index first");
            assert_eq!(before.items[0].unplaced, before.items[1].unplaced, "{platform:?}");
            // Feedback on other items of topic 7 by other authors.
            for i in 0..3 {
                env.user
                    .apply(&Feedback { item_id: 900 + i, author_id: 500 + i, topic: 7, at: NOW - 100, kind })
                    .unwrap();
            }
            let after = env.rank(&cands, 2);
            assert_eq!(ids(&after), [2, 1], "{platform:?} {kind:?}");
            assert!(after.items[0].unplaced > after.items[1].unplaced);
            assert_eq!(after.items[1].unplaced, before.items[0].unplaced, "the other is unchanged");
        }
    }
}

#[test]
fn liking_and_sharing_an_author_lifts_the_author_in_the_next_call() {
    for platform in Platform::ALL {
        for kind in [FeedbackKind::Like, FeedbackKind::Share] {
            let mut env = Env::new(Profile::compile(platform.config()).unwrap());
            let cands = pair(|c, favoured| c.author_id = if favoured { 30 } else { 31 });
            assert_eq!(ids(&env.rank(&cands, 2)), [1, 2]);
            // Feedback on another item of author 30, on an unrelated topic.
            env.user.apply(&Feedback { item_id: 777, author_id: 30, topic: 40, at: NOW - 100, kind }).unwrap();
            let after = env.rank(&cands, 2);
            assert_eq!(ids(&after), [2, 1], "{platform:?} {kind:?}");
            assert!(after.items[0].unplaced > after.items[1].unplaced);
        }
    }
}

#[test]
fn negative_feedback_on_a_topic_lowers_it() {
    let mut env = Env::new(Profile::compile(Platform::Threads.config()).unwrap());
    let cands = pair(|c, disliked| c.topic = if disliked { 3 } else { 4 });
    let cands = [cands[1], cands[0]]; // the disliked one first: it wins the tie before
    assert_eq!(ids(&env.rank(&cands, 2)), [2, 1]);
    for i in 0..3 {
        env.user
            .apply(&Feedback { item_id: 950 + i, author_id: 600 + i, topic: 3, at: NOW, kind: FeedbackKind::Skip })
            .unwrap();
    }
    assert_eq!(ids(&env.rank(&cands, 2)), [1, 2]);
}

#[test]
fn see_fewer_removes_the_author_from_the_next_call() {
    for platform in Platform::ALL {
        let mut env = Env::new(Profile::compile(platform.config()).unwrap());
        let cands: Vec<Candidate> = (0..12).map(|i| cand(i, if i % 3 == 0 { 40 } else { 41 + i }, 100 + i)).collect();
        let before = env.rank(&cands, 12);
        assert_eq!(before.items.iter().filter(|i| i.author_id == 40).count(), 4);
        env.user
            .apply(&Feedback { item_id: 999, author_id: 40, topic: 1, at: NOW - 60, kind: FeedbackKind::SeeFewer })
            .unwrap();
        let after = env.rank(&cands, 12);
        assert!(after.items.iter().all(|i| i.author_id != 40), "{platform:?}");
        assert_eq!(after.items.len(), 8);
        assert_eq!(after.stats.filtered[reason(FilterReason::SeeFewer)], 4);
    }
}

#[test]
fn feedback_marks_the_item_seen_so_it_is_not_shown_again() {
    let mut env = Env::new(Profile::compile(Platform::TikTok.config()).unwrap());
    let cands: Vec<Candidate> = (0..5).map(|i| cand(i, i, 100)).collect();
    let first = env.rank(&cands, 2);
    for item in &first.items {
        env.user
            .apply(&Feedback {
                item_id: item.item_id,
                author_id: item.author_id,
                topic: 1,
                at: NOW,
                kind: FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(1.0) },
            })
            .unwrap();
    }
    let second = env.rank(&cands, 5);
    assert_eq!(second.items.len(), 3);
    for item in &first.items {
        assert!(!ids(&second).contains(&item.item_id));
    }
    assert_eq!(second.stats.filtered[reason(FilterReason::Seen)], 2);
}
