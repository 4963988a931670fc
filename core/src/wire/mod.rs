//! The wire format shared by firmware and host: postcard messages with a CRC-32C, framed
//! with COBS. See [`messages`] for what travels and [`frame`] for how.
//!
//! Stability: the encoding of every message is pinned by golden byte vectors in the tests
//! below; changing a message's layout needs a new [`WIRE_VERSION`].
//!
//! ```
//! use edgerank_core::wire::{decode_frame, encode_frame, Envelope, Request, MAX_FRAME, MAX_PAYLOAD};
//! let mut scratch = [0u8; MAX_PAYLOAD];
//! let mut out = [0u8; MAX_FRAME];
//! let frame = encode_frame(&Envelope::new(7, Request::Ping), &mut scratch, &mut out).unwrap();
//! let mut bytes = frame[..frame.len() - 1].to_vec(); // without the 0x00 delimiter
//! let back: Envelope<Request> = decode_frame(&mut bytes).unwrap();
//! assert_eq!(back.body, Request::Ping);
//! ```

mod codec;
pub mod frame;
pub(crate) mod in_place;
pub mod messages;

pub use codec::{decode_checked, encode_checked, CRC};
pub(crate) use codec::{decode_checked_into, DecodeInPlace};
pub use frame::{
    decode_frame, decode_request_frame, encode_frame, encode_frame_in_place, Feed, FrameReader, FRAME_HEADROOM,
    MAX_FRAME, MAX_PAYLOAD,
};
pub use messages::{
    DeviceInfo, DeviceStats, Envelope, FrameError, RankedPage, Request, Response, WireError, CANDIDATES_PER_CHUNK,
    FEEDBACK_PER_FRAME, PAGE_MAX, WIRE_VERSION,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::BlobError;
    use crate::input::{Candidate, ContentKind};
    use crate::model::{Model, MODEL_BLOB_MAX};
    use crate::num::{Factor, LogScore};
    use crate::pipeline::{Placement, RankStats, RankedItem, ShownItem};

    fn encode<T: serde::Serialize>(m: &T) -> heapless::Vec<u8, MAX_FRAME> {
        let mut scratch = [0u8; MAX_PAYLOAD];
        let mut out = [0u8; MAX_FRAME];
        let f = encode_frame(m, &mut scratch, &mut out).unwrap();
        heapless::Vec::from_slice(f).unwrap()
    }

    fn decode<T: serde::de::DeserializeOwned + serde::Serialize>(frame: &[u8]) -> Result<T, FrameError> {
        let mut v: heapless::Vec<u8, MAX_FRAME> = heapless::Vec::from_slice(frame).unwrap();
        let n = v.len() - 1;
        decode_frame(&mut v[..n])
    }

    // Golden vectors, derived by hand from the postcard wire specification (varints,
    // enum variants as varint indices), CRC-32C (Castagnoli, reflected, check value
    // 0xE3069283) and COBS, with an independent script, not by this crate.
    #[test]
    fn golden_ping() {
        let frame = encode(&Envelope::new(7, Request::Ping));
        assert_eq!(frame.as_slice(), &[0x03, 0x04, 0x07, 0x05, 0x25, 0xce, 0xd7, 0x84, 0x00]);
    }

    #[test]
    fn golden_rank_begin() {
        let frame = encode(&Envelope::new(7, Request::RankBegin { now: 1_000_000, k: 32 }));
        assert_eq!(frame.as_slice(), &[0x0c, 0x04, 0x07, 0x04, 0xc0, 0x84, 0x3d, 0x20, 0x6e, 0x0e, 0xe2, 0x34, 0x00]);
    }

    #[test]
    fn golden_rank_shown() {
        // RankShown (variant 10), one item: item 1, author 300 (varint 0xac 0x02), ShortVideo
        // (2), in network (1), Exploration (2).
        let item = ShownItem {
            item_id: 1,
            author_id: 300,
            kind: ContentKind::ShortVideo,
            in_network: true,
            placement: Placement::Exploration,
        };
        let frame = encode(&Envelope::new(7, Request::RankShown(heapless::Vec::from_slice(&[item]).unwrap())));
        #[rustfmt::skip]
        let expected = [
            0x0f, 0x04, 0x07, 0x0a, 0x01, 0x01, 0xac, 0x02, 0x02, 0x01, 0x02, 0x95, 0xbe, 0x19, 0x02, 0x00,
        ];
        assert_eq!(frame.as_slice(), &expected);
    }

    #[test]
    fn golden_error_response() {
        let frame = encode(&Envelope::new(0, Response::Error(WireError::Frame(FrameError::BadChecksum))));
        assert_eq!(frame.as_slice(), &[0x02, 0x04, 0x02, 0x0a, 0x06, 0x03, 0xb9, 0x57, 0x59, 0xc1, 0x00]);
    }

    /// The postcard payload of `m` (no envelope, checksum or framing).
    fn payload<T: serde::Serialize>(m: &T) -> heapless::Vec<u8, MAX_PAYLOAD> {
        let mut buf = [0u8; MAX_PAYLOAD];
        heapless::Vec::from_slice(postcard::to_slice(m, &mut buf).unwrap()).unwrap()
    }

    // Golden payloads of the messages' parts, derived by hand from the postcard
    // specification: u32 and u16 as LEB128 varints (300 = ac 02), u8 as a raw byte (200 = c8),
    // i32 zigzag-encoded then as a varint (-1 = 01, 64 = 80 01, -65 = 81 01), an enum as its
    // variant's index then its fields, a fixed array without a length, a vec with its length
    // first. Each field has its own value, so swapping any two changes the bytes.
    #[test]
    fn golden_candidate() {
        use crate::input::{AuthorSignals, CandidateFlags, ContentKind, GlobalSignals};
        use crate::num::{Prob, WatchRatio};
        let c = Candidate {
            item_id: 1,
            author_id: 2,
            created_at: 300,
            duration_ms: 4,
            kind: ContentKind::ShortVideo,
            topic: 200,
            flags: CandidateFlags(6),
            global: GlobalSignals {
                impressions: 7,
                likes: 8,
                comments: 9,
                shares: 10,
                negative: 11,
                engagements_first_10m: 12,
                engagements_first_2h: 13,
                early_engager_overlap: Prob(14),
                mean_watch_ratio: WatchRatio(15),
                completion_rate: Prob(16),
                skip_rate: Prob(17),
                rewatch_rate: Prob(18),
            },
            author: AuthorSignals {
                followers: 19,
                followings: 20,
                account_age_days: 21,
                impressions: 22,
                engagement_rate: Prob(23),
                posting_regularity: Prob(24),
            },
        };
        #[rustfmt::skip]
        let expected = [
            0x01, 0x02, 0xac, 0x02, 0x04, // ids, created_at, duration_ms
            0x02, 0xc8, 0x06, // kind (ShortVideo), topic, flags
            0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, // global counters
            0x0e, 0x0f, 0x10, 0x11, 0x12, // overlap, watch ratio, completion, skip, rewatch
            0x13, 0x14, 0x15, 0x16, 0x17, 0x18, // author
        ];
        assert_eq!(payload(&c).as_slice(), &expected);
    }

    #[test]
    fn golden_feedback() {
        use crate::num::WatchRatio;
        use crate::state::{Feedback, FeedbackKind};
        let watched = Feedback {
            item_id: 1000,
            author_id: 2,
            topic: 250,
            at: 4,
            kind: FeedbackKind::Impression { watch_ratio: WatchRatio(5) },
        };
        assert_eq!(payload(&watched).as_slice(), &[0xe8, 0x07, 0x02, 0xfa, 0x04, 0x00, 0x05]);
        // Variants in order: Impression, Skip, Like, Comment, Share, Save, Follow,
        // ProfileVisit, Hide, SeeFewer, Report (10), Mute, Block, Unmute (13).
        let report = Feedback { item_id: 1, author_id: 2, topic: 3, at: 4, kind: FeedbackKind::Report };
        assert_eq!(payload(&report).as_slice(), &[0x01, 0x02, 0x03, 0x04, 0x0a]);
        let unmute = Feedback { kind: FeedbackKind::Unmute, ..report };
        assert_eq!(payload(&unmute).as_slice(), &[0x01, 0x02, 0x03, 0x04, 0x0d]);
        // A request of two events: the variant (Feedback, 7), the count, the events.
        let request = Request::Feedback(heapless::Vec::from_slice(&[report, unmute]).unwrap());
        #[rustfmt::skip]
        let expected = [0x07, 0x02, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x0d];
        assert_eq!(payload(&request).as_slice(), &expected);
    }

    #[test]
    fn golden_ranked_page() {
        let item = RankedItem {
            item_id: 1,
            author_id: 2,
            index: 3,
            score: LogScore(-1),
            unplaced: LogScore(64),
            author_factor: Factor(-65),
            kind_factor: Factor(0),
            placement: Placement::Sponsored,
        };
        let stats = RankStats {
            received: 200,
            filtered: [1, 2, 3, 4, 5, 6],
            scored: 7,
            sponsored_below_floor: 8,
            pool_overflow: 9,
            shortlist_skipped: 10,
        };
        let page = Response::Ranked(RankedPage { items: heapless::Vec::from_slice(&[item]).unwrap(), stats });
        #[rustfmt::skip]
        let expected = [
            0x06, 0x01, // Ranked (variant 6), one item
            0x01, 0x02, 0x03, 0x01, 0x80, 0x01, 0x81, 0x01, 0x00, 0x03, // the item (Sponsored: 3)
            0xc8, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, // stats
        ];
        assert_eq!(payload(&page).as_slice(), &expected);
    }

    #[test]
    fn golden_request_and_response_variants() {
        // Requests: Ping, Info, LoadModel, LoadProfile, RankBegin, RankChunk, RankEnd,
        // Feedback, Stats, ResetState, RankShown.
        assert_eq!(payload(&Request::Info).as_slice(), &[0x01]);
        assert_eq!(payload(&Request::RankEnd).as_slice(), &[0x06]);
        assert_eq!(payload(&Request::Stats).as_slice(), &[0x08]);
        assert_eq!(payload(&Request::ResetState).as_slice(), &[0x09]);
        let chunk = Request::RankChunk(heapless::Vec::from_slice(&[Candidate::default()]).unwrap());
        // RankChunk (5), one candidate: 25 fields, all 0 (one byte each).
        let mut expected = [0u8; 27];
        expected[..2].copy_from_slice(&[0x05, 0x01]);
        assert_eq!(payload(&chunk).as_slice(), &expected);
        // Responses: Pong, Info, ModelLoaded, ProfileLoaded, RankOpen, ChunkAccepted, Ranked,
        // FeedbackApplied, Stats, StateReset, Error.
        assert_eq!(payload(&Response::RankOpen).as_slice(), &[0x04]);
        assert_eq!(payload(&Response::ChunkAccepted { received: 300 }).as_slice(), &[0x05, 0xac, 0x02]);
        assert_eq!(
            payload(&Response::FeedbackApplied { applied: 200, total_events: 1 }).as_slice(),
            &[0x07, 0xc8, 0x01]
        );
        assert_eq!(payload(&Response::StateReset).as_slice(), &[0x09]);
        // Error (10), UnexpectedRequest (4).
        assert_eq!(payload(&Response::Error(WireError::UnexpectedRequest)).as_slice(), &[0x0a, 0x04]);
    }

    #[test]
    fn crc_is_castagnoli() {
        assert_eq!(CRC.checksum(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn largest_messages_fit_the_frame_limits() {
        let mut blob = heapless::Vec::<u8, MODEL_BLOB_MAX>::new();
        blob.resize(MODEL_BLOB_MAX, 0xff).unwrap();
        let big_model = encode(&Envelope::new(u16::MAX, Request::LoadModel(blob)));
        assert!(big_model.len() <= MAX_FRAME);
        let worst = Candidate {
            item_id: u32::MAX,
            author_id: u32::MAX,
            created_at: u32::MAX,
            duration_ms: u32::MAX,
            topic: u8::MAX,
            ..Candidate::default()
        };
        let mut worst = worst;
        worst.global.impressions = u32::MAX;
        worst.global.likes = u32::MAX;
        worst.author.followers = u32::MAX;
        let chunk = heapless::Vec::from_slice(&[worst; CANDIDATES_PER_CHUNK]).unwrap();
        assert!(encode(&Envelope::new(u16::MAX, Request::RankChunk(chunk))).len() <= MAX_FRAME);
        let item = RankedItem {
            item_id: u32::MAX,
            author_id: u32::MAX,
            index: u32::MAX,
            score: LogScore(i32::MIN),
            unplaced: LogScore(i32::MIN),
            author_factor: Factor(i32::MIN),
            kind_factor: Factor(i32::MIN),
            placement: Placement::Sponsored,
        };
        let page = RankedPage {
            items: heapless::Vec::from_slice(&[item; PAGE_MAX]).unwrap(),
            stats: RankStats {
                received: u32::MAX,
                filtered: [u32::MAX; crate::pipeline::filter::FilterReason::COUNT],
                ..RankStats::default()
            },
        };
        assert!(encode(&Envelope::new(u16::MAX, Response::Ranked(page))).len() <= MAX_FRAME);
    }

    #[test]
    fn round_trip_and_every_corruption_is_an_error() {
        let mut blob = heapless::Vec::<u8, MODEL_BLOB_MAX>::new();
        let mut buf = [0u8; MODEL_BLOB_MAX];
        let len = Model::default().to_blob(&mut buf).unwrap().len();
        blob.extend_from_slice(&buf[..len]).unwrap();
        let msg = Envelope::new(3, Request::LoadModel(blob));
        let frame = encode(&msg);
        assert_eq!(decode::<Envelope<Request>>(&frame), Ok(msg));
        for i in 0..frame.len() - 1 {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = frame.clone();
                bad[i] ^= flip;
                if bad[i] == 0 {
                    continue; // a new delimiter splits the frame: the reader's job, tested below
                }
                assert!(decode::<Envelope<Request>>(&bad).is_err(), "flip {flip:#x} at {i} accepted");
            }
        }
    }

    #[test]
    fn version_mismatch_is_reported() {
        let mut payload = [0u8; 16];
        let p = encode_checked(&Envelope { version: 9, request_id: 1, body: Request::Ping }, &mut payload).unwrap();
        let mut framed = [0u8; 32];
        let n = cobs::try_encode(p, &mut framed).unwrap();
        assert_eq!(decode_frame::<Envelope<Request>>(&mut framed[..n]), Err(FrameError::UnsupportedVersion(9)));
        let _ = BlobError::Truncated;
    }

    /// Every way a model or profile blob can be bad gets its own error, checked in this order:
    /// length, checksum, encoding, magic, version, values.
    #[test]
    fn bad_blobs_get_clear_errors() {
        use crate::profile::{Platform, Profile, PROFILE_BLOB_MAX};
        fn model_blob(m: &Model) -> heapless::Vec<u8, MODEL_BLOB_MAX> {
            let mut buf = [0u8; MODEL_BLOB_MAX];
            heapless::Vec::from_slice(encode_checked(m, &mut buf).unwrap()).unwrap()
        }
        let good = model_blob(&Model::default());
        assert_eq!(Model::from_blob(&good), Ok(Model::default()));
        assert_eq!(Model::from_blob(&good[..3]), Err(BlobError::Truncated));
        // Cut short in transit: the checksum no longer matches.
        assert_eq!(Model::from_blob(&good[..good.len() - 9]), Err(BlobError::BadChecksum));
        let mut flipped = good.clone();
        flipped[20] ^= 0x04;
        assert_eq!(Model::from_blob(&flipped), Err(BlobError::BadChecksum));
        let mut extra = good.clone();
        let crc_at = extra.len() - 4;
        extra.insert(crc_at, 0).unwrap();
        let crc = CRC.checksum(&extra[..crc_at + 1]).to_le_bytes();
        extra[crc_at + 1..].copy_from_slice(&crc);
        assert_eq!(Model::from_blob(&extra), Err(BlobError::Malformed));
        let magic = Model { magic: *b"ERPF", ..Model::default() };
        assert_eq!(Model::from_blob(&model_blob(&magic)), Err(BlobError::BadMagic));
        let version = Model { format_version: 2, ..Model::default() };
        assert_eq!(Model::from_blob(&model_blob(&version)), Err(BlobError::UnsupportedVersion(2)));
        let mut overflowing = Model::default();
        overflowing.weights[4] = [crate::num::Weight(i16::MIN); crate::model::FEATURES];
        assert_eq!(Model::from_blob(&model_blob(&overflowing)), Err(BlobError::OutOfRange));

        let profile_blob = |c: &crate::profile::ProfileConfig| {
            let mut buf = [0u8; PROFILE_BLOB_MAX];
            heapless::Vec::<u8, PROFILE_BLOB_MAX>::from_slice(encode_checked(c, &mut buf).unwrap()).unwrap()
        };
        let x = Platform::X.config();
        assert!(Profile::from_blob(&profile_blob(&x)).is_ok());
        let mut flipped = profile_blob(&x);
        flipped[7] ^= 0x80;
        assert_eq!(Profile::from_blob(&flipped), Err(BlobError::BadChecksum));
        let bad_magic = crate::profile::ProfileConfig { magic: *b"ERMD", ..x.clone() };
        assert_eq!(Profile::from_blob(&profile_blob(&bad_magic)), Err(BlobError::BadMagic));
        let bad_version = crate::profile::ProfileConfig { format_version: 7, ..x.clone() };
        assert_eq!(Profile::from_blob(&profile_blob(&bad_version)), Err(BlobError::UnsupportedVersion(7)));
        let mut nan = x;
        nan.head_weights[0] = f32::NAN;
        assert_eq!(Profile::from_blob(&profile_blob(&nan)), Err(BlobError::OutOfRange));
    }

    #[test]
    fn reader_resynchronises_after_garbage_and_overflow() {
        let ping = encode(&Envelope::new(1, Request::Ping));
        let mut reader = FrameReader::<16>::new();
        let mut stream: heapless::Vec<u8, 128> = heapless::Vec::new();
        stream.extend_from_slice(&[0x55; 40]).unwrap(); // garbage longer than the buffer
        stream.push(0).unwrap();
        stream.extend_from_slice(&[0x02, 0x01, 0x00]).unwrap(); // short garbage frame
        stream.extend_from_slice(&ping).unwrap();
        let mut seen: heapless::Vec<&str, 8> = heapless::Vec::new();
        for &b in stream.iter() {
            match reader.feed(b) {
                Feed::Pending => {}
                Feed::Overflow => seen.push("overflow").unwrap(),
                Feed::Frame(f) => match decode_frame::<Envelope<Request>>(f) {
                    Ok(m) if m.body == Request::Ping => seen.push("ping").unwrap(),
                    Ok(_) => seen.push("other").unwrap(),
                    Err(_) => seen.push("error").unwrap(),
                },
            }
        }
        assert_eq!(seen.as_slice(), &["overflow", "error", "ping"]);
    }
}
