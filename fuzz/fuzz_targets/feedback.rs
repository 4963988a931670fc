//! A stream of arbitrary feedback events applied to one user state.
//!
//! Invariants, after every event: a refused event changed nothing; an accepted one counted
//! once, and a mute, block, report, "see fewer" or unmute left the author's record as it
//! says (a block is not weakened by a later mute or "see fewer", nor a mute by a "see
//! fewer"); the state is within its capacities and survives its own blob round trip (which
//! checks value ranges and table consistency). The same stream as one batch
//! (`UserState::apply_all`) gives the same state when every event applied one by one, and
//! changes nothing, naming the first refused event, otherwise. At the end, a page ranked for
//! that user holds only candidates the filters admit (no muted, blocked or already-seen item).
#![no_main]

use edgerank_core::model::Model;
use edgerank_core::pipeline::RankContext;
use edgerank_core::state::{Feedback, FeedbackKind, MuteKind, UserState};
use edgerank_fuzz::{check_page, check_user, platform_profile, sample_batch, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let Some(platform) = input.take::<u8>() else { return };
    let mut user = UserState::new();
    let mut last_at = 0;
    let mut events = Vec::new();
    while let Some(event) = input.take::<Feedback>() {
        let before = user.clone();
        match user.apply(&event) {
            Ok(()) => {
                assert_eq!(user.events, before.events.saturating_add(1), "{event:?}");
                last_at = last_at.max(event.at);
                let was = before.mute_record(event.author_id).map(|r| r.kind);
                let now = user.mute_record(event.author_id).map(|r| r.kind);
                let expected = match event.kind {
                    FeedbackKind::Block | FeedbackKind::Report => Some(MuteKind::Block),
                    FeedbackKind::Mute if was == Some(MuteKind::Block) => was,
                    FeedbackKind::Mute => Some(MuteKind::Mute),
                    FeedbackKind::SeeFewer if matches!(was, Some(MuteKind::Block | MuteKind::Mute)) => was,
                    FeedbackKind::SeeFewer => Some(MuteKind::SeeFewer),
                    FeedbackKind::Unmute => None,
                    // Other events leave the author's record, unless a later insert evicted a
                    // "see fewer" to make room (only inserts evict).
                    _ => was,
                };
                assert_eq!(now, expected, "record after {event:?}");
            }
            Err(e) => {
                assert_eq!(user, before, "refused event ({e:?}) changed the state: {event:?}");
            }
        }
        events.push(event);
        check_user(&user);
    }
    // The stream as one batch.
    let mut sequential = UserState::new();
    let applied = events.iter().take_while(|e| sequential.apply(e).is_ok()).count();
    let mut batch = UserState::new();
    match batch.apply_all(&events) {
        Ok(()) => assert_eq!((applied, &batch), (events.len(), &sequential)),
        Err((i, _)) => {
            assert_eq!(i, applied, "the batch names the first event refused one by one");
            assert_eq!(batch, UserState::new(), "a refused batch changed the state");
        }
    }
    let model = Model::default();
    let profile = platform_profile(platform);
    let now = last_at.saturating_add(60);
    let ctx = RankContext { model: &model, profile: &profile, user: &user, now };
    check_page(&ctx, &sample_batch(now), 20);
});
