//! Any bytes as a `LoadModel` blob.
//!
//! Invariants: an accepted model re-encodes to exactly the blob, its logits cannot overflow on
//! any feature vector, and it ranks a batch correctly; the device's loader swaps it in only if
//! it is accepted and otherwise keeps the previous model, answering with the same error.
#![no_main]

use edgerank_core::model::Model;
use edgerank_core::pipeline::RankContext;
use edgerank_core::state::UserState;
use edgerank_core::wire::{Response, WireError};
use edgerank_fuzz::{check_model_bounds, check_page, platform_profile, sample_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = Model::from_blob(data);

    let previous = Model::default();
    let mut active = previous.clone();
    let answer = edgerank_device::server::load_model(&mut active, data);
    match &decoded {
        Ok(model) => {
            assert_eq!(&active, model);
            assert_eq!(answer, Response::ModelLoaded { model_id: model.model_id });
        }
        Err(e) => {
            assert_eq!(active, previous, "a refused model replaced the active one");
            assert_eq!(answer, Response::Error(WireError::Blob(*e)));
        }
    }

    let Ok(model) = decoded else { return };
    let mut buf = [0u8; edgerank_core::model::MODEL_BLOB_MAX];
    assert_eq!(model.to_blob(&mut buf).expect("fits"), data, "non-canonical model blob accepted");
    check_model_bounds(&model);
    let profile = platform_profile(data.len() as u8);
    let user = UserState::new();
    let now = 1_700_000_000;
    let ctx = RankContext { model: &model, profile: &profile, user: &user, now };
    check_page(&ctx, &sample_batch(now), 16);
});
