//! A stream of arbitrary feedback events applied to one user state.
//!
//! Invariants, after every event: a refused event changed nothing; an accepted one counted
//! once; the state is within its capacities and survives its own blob round trip (which checks
//! value ranges and table consistency). At the end, a page ranked for that user holds only
//! candidates the filters admit (no muted, blocked or already-seen item).
#![no_main]

use edgerank_core::model::Model;
use edgerank_core::pipeline::RankContext;
use edgerank_core::state::{Feedback, UserState};
use edgerank_fuzz::{check_page, check_user, platform_profile, sample_batch, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let Some(platform) = input.take::<u8>() else { return };
    let mut user = UserState::new();
    let mut last_at = 0;
    while let Some(event) = input.take::<Feedback>() {
        let before = user.clone();
        match user.apply(&event) {
            Ok(()) => {
                assert_eq!(user.events, before.events.wrapping_add(1), "{event:?}");
                last_at = last_at.max(event.at);
            }
            Err(e) => assert_eq!(user, before, "refused event ({e:?}) changed the state: {event:?}"),
        }
        check_user(&user);
    }
    let model = Model::default();
    let profile = platform_profile(platform);
    let now = last_at.saturating_add(60);
    let ctx = RankContext { model: &model, profile: &profile, user: &user, now };
    check_page(&ctx, &sample_batch(now), 20);
});
