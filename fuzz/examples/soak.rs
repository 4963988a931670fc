//! Host soak of the core: a long random session with every answer checked.
//!
//! `cargo run --release --example soak -- [ROUNDS] [SEED]` (from fuzz/; default 20,000 rounds).
//! Each round is a rank call of 0 to 300 random candidates (extreme counters and ids
//! included) under a random platform profile, time and k (some above the page capacity), for a
//! user whose state grows from the feedback given on every page, with now and then a model or
//! profile load (valid, or corrupted in transit) and a corrupted frame. Checked on every
//! answer: the page invariants of `edgerank_fuzz::check_page`, the user state's invariants
//! after every feedback event (a refused event changes nothing), a refused blob leaves the
//! active model or profile in place, and no corrupted frame decodes.

use edgerank_core::input::{Candidate, CandidateFlags, ContentKind};
use edgerank_core::model::Model;
use edgerank_core::num::{Prob, WatchRatio, Weight};
use edgerank_core::pipeline::RankContext;
use edgerank_core::profile::{Platform, Profile, PROFILE_BLOB_MAX};
use edgerank_core::state::{Feedback, FeedbackKind, UserState};
use edgerank_core::wire::{
    decode_frame, encode_checked, encode_frame, Envelope, Request, Response, MAX_FRAME, MAX_PAYLOAD,
};
use edgerank_device::server::{load_model, load_profile};
use edgerank_fuzz::{check_page, check_user, K};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn candidate(rng: &mut ChaCha8Rng, id: u32, now: u32) -> Candidate {
    let extreme = rng.random_bool(0.05);
    let mut c = Candidate {
        item_id: if extreme { rng.random() } else { id },
        author_id: rng.random_range(0..if extreme { u32::MAX } else { 200 }),
        created_at: if extreme { rng.random() } else { now.saturating_sub(rng.random_range(0..30 * 86_400)) },
        duration_ms: if extreme { rng.random() } else { rng.random_range(0..600_000) },
        kind: [
            ContentKind::Text,
            ContentKind::Image,
            ContentKind::ShortVideo,
            ContentKind::LongVideo,
            ContentKind::Link,
            ContentKind::Live,
        ][rng.random_range(0..6)],
        topic: rng.random_range(0..if extreme { 255 } else { 64 }),
        flags: CandidateFlags::new(rng.random_bool(0.4), rng.random_bool(0.1), rng.random_bool(0.1)),
        ..Candidate::default()
    };
    let scale = if extreme { u32::MAX } else { 100_000 };
    c.global.impressions = rng.random_range(0..scale);
    c.global.likes = rng.random_range(0..scale / 10 + 1);
    c.global.comments = rng.random_range(0..scale / 50 + 1);
    c.global.shares = rng.random_range(0..scale / 100 + 1);
    c.global.negative = rng.random_range(0..scale / 200 + 1);
    c.global.engagements_first_10m = rng.random_range(0..scale / 20 + 1);
    c.global.engagements_first_2h = rng.random_range(0..scale / 5 + 1);
    c.global.early_engager_overlap = Prob::from_raw(rng.random_range(0..=32768));
    c.global.mean_watch_ratio = WatchRatio::from_f64(rng.random_range(0.0..2.0));
    c.global.completion_rate = Prob::from_raw(rng.random_range(0..=32768));
    c.global.skip_rate = Prob::from_raw(rng.random_range(0..=32768));
    c.author.followers = rng.random_range(0..scale);
    c.author.impressions = rng.random_range(0..scale);
    c
}

fn feedback_kind(rng: &mut ChaCha8Rng) -> FeedbackKind {
    match rng.random_range(0..16) {
        0..=5 => FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(rng.random_range(0.0..1.5)) },
        6 => FeedbackKind::Skip,
        7 => FeedbackKind::Like,
        8 => FeedbackKind::Comment,
        9 => FeedbackKind::Share,
        10 => FeedbackKind::Follow,
        11 => FeedbackKind::Hide,
        12 => FeedbackKind::SeeFewer,
        13 => FeedbackKind::Mute,
        14 => FeedbackKind::Block,
        _ => FeedbackKind::Unmute,
    }
}

/// Flips 1 to 3 distinct random bits of `bytes` (the same bit twice would undo the damage).
fn corrupt(rng: &mut ChaCha8Rng, bytes: &mut [u8]) {
    let flips = rng.random_range(1..=3);
    let mut flipped: Vec<(usize, u8)> = Vec::new();
    while flipped.len() < flips {
        let bit = (rng.random_range(0..bytes.len()), rng.random_range(0..8u8));
        if !flipped.contains(&bit) {
            bytes[bit.0] ^= 1 << bit.1;
            flipped.push(bit);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0x50A4);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut model = Model::default();
    let mut profile = Profile::compile(Platform::X.config()).expect("built-in");
    let mut user = UserState::new();
    let mut now = 1_700_000_000u32;
    let (mut candidates_ranked, mut pages, mut events_applied, mut events_refused) = (0u64, 0u64, 0u64, 0u64);
    let (mut blobs_ok, mut blobs_refused, mut frames_corrupted, mut resets) = (0u64, 0u64, 0u64, 0u64);
    let started = std::time::Instant::now();
    for round in 0..rounds {
        now = now.saturating_add(rng.random_range(0..3_600));
        // A profile or model load now and then, half of them corrupted in transit.
        if rng.random_bool(0.05) {
            let platform = Platform::ALL[rng.random_range(0..Platform::ALL.len())];
            let mut buf = [0u8; PROFILE_BLOB_MAX];
            let mut blob = encode_checked(&platform.config(), &mut buf).expect("fits").to_vec();
            let damaged = rng.random_bool(0.5);
            if damaged {
                corrupt(&mut rng, &mut blob);
            }
            let before = profile.clone();
            match load_profile(&mut profile, &blob) {
                Response::ProfileLoaded { .. } => {
                    // CRC-32C detects every error of up to 3 bits at these lengths.
                    assert!(!damaged, "round {round}: a corrupted profile blob was accepted");
                    blobs_ok += 1;
                }
                _ => {
                    assert_eq!(profile, before, "round {round}: a refused profile replaced the active one");
                    blobs_refused += 1;
                }
            }
        }
        if rng.random_bool(0.01) {
            let mut candidate_model = Model { model_id: rng.random(), ..Model::default() };
            candidate_model.weights[rng.random_range(0..12)][rng.random_range(0..16)] = Weight(rng.random());
            let mut buf = [0u8; edgerank_core::model::MODEL_BLOB_MAX];
            let mut blob = candidate_model.to_blob(&mut buf).expect("fits").to_vec();
            let damaged = rng.random_bool(0.5);
            if damaged {
                corrupt(&mut rng, &mut blob);
            }
            let before = model.clone();
            match load_model(&mut model, &blob) {
                Response::ModelLoaded { model_id } => {
                    assert!(!damaged, "round {round}: a corrupted model blob was accepted");
                    assert_eq!((model_id, &model), (candidate_model.model_id, &candidate_model));
                    blobs_ok += 1;
                }
                _ => {
                    assert_eq!(model, before, "round {round}: a refused model replaced the active one");
                    blobs_refused += 1;
                }
            }
        }
        if rng.random_bool(0.002) {
            user = UserState::new();
            resets += 1;
        }
        // A request frame corrupted in transit never decodes.
        if rng.random_bool(0.1) {
            let mut scratch = [0u8; MAX_PAYLOAD];
            let mut out = [0u8; MAX_FRAME];
            let c = candidate(&mut rng, 1, now);
            let request = Envelope::new(rng.random(), Request::RankChunk(heapless::Vec::from_slice(&[c; 4]).unwrap()));
            let frame = encode_frame(&request, &mut scratch, &mut out).expect("fits");
            let mut bytes = frame[..frame.len() - 1].to_vec();
            corrupt(&mut rng, &mut bytes);
            if !bytes.contains(&0) {
                let decoded = decode_frame::<Envelope<Request>>(&mut bytes);
                assert!(decoded.is_err(), "round {round}: a corrupted frame decoded: {decoded:?}");
                frames_corrupted += 1;
            }
        }

        // The rank call.
        let n = match rng.random_range(0..20) {
            0 => 0,
            1 => rng.random_range(257..=300),
            2 => 256,
            _ => rng.random_range(1..=128),
        };
        let batch: Vec<Candidate> = (0..n).map(|i| candidate(&mut rng, round as u32 * 1000 + i as u32, now)).collect();
        let k = if rng.random_bool(0.03) { rng.random_range(K + 1..=255) } else { rng.random_range(0..=K) };
        let ctx = RankContext { model: &model, profile: &profile, user: &user, now };
        check_page(&ctx, &batch, k);
        candidates_ranked += n as u64;
        pages += 1;

        // Feedback on what a page could have shown.
        for c in batch.iter().take(12) {
            if !rng.random_bool(0.3) {
                continue;
            }
            let event = Feedback {
                item_id: c.item_id,
                author_id: c.author_id,
                topic: c.topic,
                at: now.saturating_add(rng.random_range(0..600)),
                kind: feedback_kind(&mut rng),
            };
            let before = user.clone();
            match user.apply(&event) {
                Ok(()) => {
                    assert_eq!(user.events, before.events.wrapping_add(1));
                    events_applied += 1;
                }
                Err(_) => {
                    assert_eq!(user, before, "round {round}: a refused event changed the state");
                    events_refused += 1;
                }
            }
            check_user(&user);
        }
    }
    println!(
        "host soak, seed {seed:#x}: {rounds} rank calls ({candidates_ranked} candidates, {pages} pages checked), \
         {events_applied} feedback events applied and {events_refused} refused, {blobs_ok} blobs loaded and \
         {blobs_refused} refused, {frames_corrupted} corrupted frames refused, {resets} state resets: every invariant \
         held, {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
