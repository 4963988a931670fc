//! A rank call with arbitrary candidates, an arbitrary user history, any profile, time and k.
//!
//! The input is a postcard `RankHeader` (platform, now, k, feedback history, an optional custom
//! profile) followed by
//! postcard `Candidate`s. Invariants: see `edgerank_fuzz::check_page`.
#![no_main]

use edgerank_core::input::Candidate;
use edgerank_core::model::Model;
use edgerank_core::pipeline::RankContext;
use edgerank_fuzz::{check_page, check_user, header_profile, user_from, Input, RankHeader, MAX_INPUT_CANDIDATES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let Some(header) = input.take::<RankHeader>() else { return };
    let mut candidates: Vec<Candidate> = Vec::new();
    while candidates.len() < MAX_INPUT_CANDIDATES {
        match input.take::<Candidate>() {
            Some(c) => candidates.push(c),
            None => break,
        }
    }
    let model = Model::default();
    let profile = header_profile(&header);
    let user = user_from(&header.history);
    check_user(&user);
    let ctx = RankContext { model: &model, profile: &profile, user: &user, now: header.now };
    check_page(&ctx, &candidates, header.k as usize);
});
