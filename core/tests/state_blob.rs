//! `UserState::restore_from_blob` (decoded in place, as a device restores its state at boot)
//! and `UserState::from_blob` (decoded as a value) read every blob the same way: the same
//! state from the same valid blob, whatever the place held before, and the same error from
//! every invalid one, after which the place holds a fresh state.

use edgerank_core::error::BlobError;
use edgerank_core::num::WatchRatio;
use edgerank_core::state::{Feedback, FeedbackKind, UserState, STATE_BLOB_MAX};
use edgerank_core::wire::{encode_checked, CRC};
use proptest::prelude::*;

/// A feedback event from 64 random bits and a position: every kind, ids from a small or the
/// full 32-bit range (1 to 5 varint bytes), topics in and out of range.
fn event(seed: u64, i: u32) -> Feedback {
    let r = |shift: u32, bits: u32| ((seed >> shift) & ((1 << bits) - 1)) as u32;
    let kind = match r(0, 4) {
        0..=2 => FeedbackKind::Impression { watch_ratio: WatchRatio(r(4, 16) as u16) },
        3 => FeedbackKind::Skip,
        4 => FeedbackKind::Like,
        5 => FeedbackKind::Comment,
        6 => FeedbackKind::Share,
        7 => FeedbackKind::Save,
        8 => FeedbackKind::Follow,
        9 => FeedbackKind::ProfileVisit,
        10 => FeedbackKind::Hide,
        11 => FeedbackKind::SeeFewer,
        12 => FeedbackKind::Report,
        13 => FeedbackKind::Mute,
        14 => FeedbackKind::Block,
        _ => FeedbackKind::Unmute,
    };
    let wide = seed >> 63 == 1;
    let item_id = if wide { (seed >> 20) as u32 ^ i.wrapping_mul(0x9E37_79B9) } else { r(20, 8) };
    let author_id = if wide { (seed >> 28) as u32 } else { r(28, 6) };
    Feedback { item_id, author_id, topic: r(40, 7) as u8, at: 1_700_000_000 + i * 37 + r(48, 10), kind }
}

/// A state after `seeds.len()` events (refused ones change nothing).
fn user(seeds: &[u64]) -> UserState {
    let mut user = UserState::new();
    for (i, &seed) in seeds.iter().enumerate() {
        let _ = user.apply(&event(seed, i as u32));
    }
    user
}

fn blob(user: &UserState) -> Vec<u8> {
    let mut buf = [0u8; STATE_BLOB_MAX];
    user.to_blob(&mut buf).expect("a state fits STATE_BLOB_MAX").to_vec()
}

/// Both decoders on `bytes`, the in-place one into `place`: they agree, and a refused blob
/// leaves a fresh state in the place.
fn agree(bytes: &[u8], mut place: UserState) -> Result<UserState, BlobError> {
    let by_value = UserState::from_blob(bytes);
    let in_place = place.restore_from_blob(bytes);
    match &by_value {
        Ok(state) => assert_eq!((in_place, &place), (Ok(()), state)),
        Err(e) => assert_eq!((in_place, &place), (Err(*e), &UserState::new())),
    }
    by_value
}

/// A payload with a valid checksum appended (so the decoders really parse it).
fn checked(payload: &[u8]) -> Vec<u8> {
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&CRC.checksum(payload).to_le_bytes());
    bytes
}

#[test]
fn a_full_state_round_trips_in_place_over_another_state() {
    // Thousands of events over the full id range: every author, mute and seen slot in use.
    let seeds: Vec<u64> = (0..4_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1 << 63).collect();
    let full = user(&seeds);
    assert_eq!(full.known_authors(), edgerank_core::state::AUTHOR_SLOTS);
    let other = user(&seeds[..100]);
    assert_eq!(agree(&blob(&full), other), Ok(full.clone()));
    // And a fresh state over a full one.
    assert_eq!(agree(&blob(&UserState::new()), full.clone()), Ok(UserState::new()));
    // A reset in place gives the fresh state too.
    let mut reset = full;
    reset.reset();
    assert_eq!(reset, UserState::new());
}

#[test]
fn an_unsupported_version_is_refused_the_same_way() {
    let mut old = user(&[1, 2, 3]);
    old.format_version = 1;
    let mut buf = [0u8; STATE_BLOB_MAX];
    let bytes = encode_checked(&old, &mut buf).unwrap().to_vec();
    assert_eq!(agree(&bytes, user(&[7, 8])), Err(BlobError::UnsupportedVersion(1)));
}

#[test]
fn a_state_whose_author_stamps_run_ahead_of_its_event_counter_is_refused() {
    // The LRU stamps are event counts: a stamp above the counter would pin its author in the
    // table (never the least recently used again).
    let mut forged = user(&[4 | 1 << 63, 5, 6]);
    assert!(forged.known_authors() > 0);
    forged.events = 0;
    let mut buf = [0u8; STATE_BLOB_MAX];
    let bytes = encode_checked(&forged, &mut buf).unwrap().to_vec();
    assert_eq!(agree(&bytes, user(&[7, 8])), Err(BlobError::OutOfRange));
}

#[test]
fn every_single_byte_substitution_gets_the_same_answer() {
    // A state with a full mute list and short ids (a short blob, so every byte can be tried),
    // each byte replaced by values that hit varint and length edges (a mute list of 33
    // records, an over-long varint, a zero length...), checksum fixed.
    // "See fewer" on 40 authors (kind 11 in bits 0..4, author in bits 28..34), then 60 likes.
    let mut seeds: Vec<u64> = (0..40u64).map(|i| 11 | i << 28).collect();
    seeds.extend((0..60u64).map(|i| 4 | (i % 7) << 20 | i << 28 | i << 40));
    let state = user(&seeds);
    assert_eq!(state.mutes().records().len(), edgerank_core::state::MUTE_SLOTS);
    let good = blob(&state);
    let payload = &good[..good.len() - 4];
    let mut accepted = 0;
    for i in 0..payload.len() {
        for v in [0x00, 0x01, 0x02, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xff, payload[i] ^ 1] {
            let mut edited = payload.to_vec();
            edited[i] = v;
            accepted += agree(&checked(&edited), state.clone()).is_ok() as usize;
        }
    }
    assert!(accepted > 0);
}

proptest! {
    /// Valid blobs: the same state, whatever the place held.
    #[test]
    fn valid_blobs_decode_to_the_same_state(
        seeds in prop::collection::vec(any::<u64>(), 0..400),
        before in prop::collection::vec(any::<u64>(), 0..100),
    ) {
        let state = user(&seeds);
        prop_assert_eq!(agree(&blob(&state), user(&before)), Ok(state));
    }

    /// Corrupted, truncated or extended blobs with a valid checksum, and bad checksums: the
    /// same outcome from both decoders.
    #[test]
    fn damaged_blobs_get_the_same_answer(
        seeds in prop::collection::vec(any::<u64>(), 0..200),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in prop_oneof![2 => Just(None), 1 => any::<usize>().prop_map(Some)],
        extra in prop::collection::vec(any::<u8>(), 0..3),
        fix_checksum in prop_oneof![4 => Just(true), 1 => Just(false)],
    ) {
        let state = user(&seeds);
        let good = blob(&state);
        let mut payload = good[..good.len() - 4].to_vec();
        for (at, x) in &edits {
            let i = at % payload.len();
            payload[i] ^= x | 1;
        }
        if let Some(c) = cut {
            payload.truncate(c % (payload.len() + 1));
        }
        payload.extend_from_slice(&extra);
        let bytes = if fix_checksum { checked(&payload) } else { [&payload[..], &good[good.len() - 4..]].concat() };
        let _ = agree(&bytes, state);
    }

    /// Arbitrary bytes, with and without a valid checksum.
    #[test]
    fn arbitrary_bytes_get_the_same_answer(bytes in prop::collection::vec(any::<u8>(), 0..3_000)) {
        let _ = agree(&bytes, user(&[5, 6, 7]));
        let _ = agree(&checked(&bytes), user(&[5, 6, 7]));
    }
}
