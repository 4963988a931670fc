//! Any bytes as a `LoadProfile` blob.
//!
//! Invariants: an accepted profile re-encodes to exactly the blob and compiles again to the
//! same profile, and pages ranked under it keep every invariant of `check_page` (its sponsored,
//! exploration, diversity and network rules shape the page); the device's loader swaps it in
//! only if it is accepted and otherwise keeps the previous profile, answering with the same
//! error.
#![no_main]

use edgerank_core::model::Model;
use edgerank_core::pipeline::RankContext;
use edgerank_core::profile::{Profile, PROFILE_BLOB_MAX};
use edgerank_core::state::{Feedback, FeedbackKind};
use edgerank_core::wire::{Response, WireError};
use edgerank_fuzz::{check_page, platform_profile, sample_batch, user_from};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = Profile::from_blob(data);

    let previous = platform_profile(5);
    let mut active = previous.clone();
    let answer = edgerank_device::server::load_profile(&mut active, data);
    match &decoded {
        Ok(profile) => {
            assert_eq!(&active, profile);
            assert_eq!(answer, Response::ProfileLoaded { name: profile.config().name.clone() });
        }
        Err(e) => {
            assert_eq!(active, previous, "a refused profile replaced the active one");
            assert_eq!(answer, Response::Error(WireError::Blob(*e)));
        }
    }

    let Ok(profile) = decoded else { return };
    let mut buf = [0u8; PROFILE_BLOB_MAX];
    assert_eq!(profile.to_blob(&mut buf).expect("fits"), data, "non-canonical profile blob accepted");
    assert_eq!(Profile::compile(profile.config().clone()).as_ref(), Ok(&profile));
    let model = Model::default();
    let now = 1_700_000_000;
    // A user with some history, so fatigue, affinity and mute rules take part.
    let history: Vec<Feedback> = (0..12u32)
        .map(|i| Feedback {
            item_id: 1000 + i,
            author_id: 10 + i % 5,
            topic: (i * 7 % 64) as u8,
            at: now - 3600 + i,
            kind: if i == 7 { FeedbackKind::SeeFewer } else { FeedbackKind::Like },
        })
        .collect();
    let user = user_from(&history);
    let ctx = RankContext { model: &model, profile: &profile, user: &user, now };
    let batch = sample_batch(now);
    for k in [0, 1, 7, 32, 33] {
        check_page(&ctx, &batch, k);
    }
});
