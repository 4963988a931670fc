//! What the tests send: rank sessions built from [`crate::workload`] requests, feedback on
//! what was shown, blobs, and garbage frames of every kind a serial link can produce.

use edgerank_core::input::Candidate;
use edgerank_core::model::{Model, MODEL_BLOB_MAX};
use edgerank_core::num::WatchRatio;
use edgerank_core::pipeline::{Placement, ShownItem};
use edgerank_core::profile::{ProfileConfig, PROFILE_BLOB_MAX};
use edgerank_core::state::{Feedback, FeedbackKind};
use edgerank_core::wire::{
    decode_frame, encode_checked, Envelope, Feed, FrameReader, RankedPage, Request, CANDIDATES_PER_CHUNK, CRC,
    FEEDBACK_PER_FRAME, MAX_FRAME, MAX_PAYLOAD,
};
use rand::{Rng, RngExt};

use super::encode_request;

/// A model as a `LoadModel` blob.
pub fn model_blob(model: &Model) -> heapless::Vec<u8, MODEL_BLOB_MAX> {
    let mut buf = [0u8; MODEL_BLOB_MAX];
    let bytes = model.to_blob(&mut buf).expect("a model fits MODEL_BLOB_MAX");
    heapless::Vec::from_slice(bytes).expect("fits")
}

/// A profile configuration as a `LoadProfile` blob (valid or not: it is not compiled here).
pub fn profile_blob(config: &ProfileConfig) -> heapless::Vec<u8, PROFILE_BLOB_MAX> {
    let mut buf = [0u8; PROFILE_BLOB_MAX];
    let bytes = encode_checked(config, &mut buf).expect("a profile fits PROFILE_BLOB_MAX");
    heapless::Vec::from_slice(bytes).expect("fits")
}

/// One rank call: `RankBegin`, the candidates in chunks, `RankEnd`.
pub fn rank_call(now: u32, k: u8, candidates: &[Candidate]) -> Vec<Request> {
    rank_call_after(now, k, candidates, &[])
}

/// A rank call that continues a page after its `shown` items: `RankBegin`, the shown items
/// and the candidates in chunks, `RankEnd`.
pub fn rank_call_after(now: u32, k: u8, candidates: &[Candidate], shown: &[ShownItem]) -> Vec<Request> {
    let mut requests = vec![Request::RankBegin { now, k }];
    for chunk in shown.chunks(CANDIDATES_PER_CHUNK) {
        requests.push(Request::RankShown(heapless::Vec::from_slice(chunk).expect("a chunk")));
    }
    for chunk in candidates.chunks(CANDIDATES_PER_CHUNK) {
        requests.push(Request::RankChunk(heapless::Vec::from_slice(chunk).expect("a chunk")));
    }
    requests.push(Request::RankEnd);
    requests
}

/// Feedback events in frames of at most `FEEDBACK_PER_FRAME`.
pub fn feedback_requests(events: &[Feedback]) -> Vec<Request> {
    events
        .chunks(FEEDBACK_PER_FRAME)
        .map(|c| Request::Feedback(heapless::Vec::from_slice(c).expect("a frame's worth")))
        .collect()
}

/// A random feedback kind, with the spread of `workload::user`.
pub fn feedback_kind<R: Rng>(rng: &mut R) -> FeedbackKind {
    match rng.random_range(0..40) {
        0..=15 => FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(rng.random_range(0.0..1.5)) },
        16..=19 => FeedbackKind::Skip,
        20..=25 => FeedbackKind::Like,
        26..=27 => FeedbackKind::Comment,
        28 => FeedbackKind::Share,
        29..=30 => FeedbackKind::Save,
        31 => FeedbackKind::Follow,
        32..=33 => FeedbackKind::ProfileVisit,
        34..=35 => FeedbackKind::Hide,
        36 => FeedbackKind::SeeFewer,
        37 => FeedbackKind::Mute,
        38 => FeedbackKind::Report,
        _ => FeedbackKind::Unmute,
    }
}

/// What a user does with a page: reactions to some of its items (shown at `now` and after).
pub fn feedback_on_page<R: Rng>(rng: &mut R, page: &RankedPage, candidates: &[Candidate], now: u32) -> Vec<Feedback> {
    let mut events = Vec::new();
    for (pos, item) in page.items.iter().enumerate() {
        if !rng.random_bool(0.4) {
            continue;
        }
        let c = &candidates[item.index as usize];
        events.push(Feedback {
            item_id: c.item_id,
            author_id: c.author_id,
            topic: c.topic,
            at: now.saturating_add(pos as u32 * 20),
            kind: feedback_kind(rng),
        });
    }
    events
}

/// What a device does with `bytes` at the frame level: per completed frame, whether it
/// decodes as a request. A fresh reader, so `bytes` should end with a delimiter.
pub fn frames_decode(bytes: &[u8]) -> Vec<bool> {
    let mut reader = Box::new(FrameReader::<MAX_FRAME>::new());
    let mut out = Vec::new();
    for &b in bytes {
        match reader.feed(b) {
            Feed::Pending => {}
            Feed::Overflow => out.push(false),
            Feed::Frame(f) => out.push(decode_frame::<Envelope<Request>>(f).is_ok()),
        }
    }
    out
}

/// Kinds of garbage, for reporting, with their relative frequencies (oversized frames are
/// long, so they are rare: each costs the emulated UART a couple of kilobytes).
pub const GARBAGE_KINDS: [(&str, u32); 10] = [
    ("random bytes", 15),
    ("random bytes with zeros", 10),
    ("bit flips", 20),
    ("truncated", 15),
    ("extended", 10),
    ("wrong version", 8),
    ("oversized", 1),
    ("bad body, good checksum", 10),
    ("empty frames", 3),
    ("byte dropped", 7),
];

/// One item of garbage, ending with a delimiter, that the device cannot read as a request
/// (`templates` are valid request frames to corrupt); returns it with its kind.
pub fn garbage<R: Rng>(rng: &mut R, templates: &[Vec<u8>]) -> (Vec<u8>, usize) {
    let total: u32 = GARBAGE_KINDS.iter().map(|k| k.1).sum();
    loop {
        let mut pick = rng.random_range(0..total);
        let kind = GARBAGE_KINDS
            .iter()
            .position(|k| {
                let hit = pick < k.1;
                pick = pick.saturating_sub(k.1);
                hit
            })
            .expect("pick < total");
        // Mostly the small templates; the last one (a whole model, ~900 bytes) now and then.
        let template = if rng.random_bool(0.03) {
            &templates[templates.len() - 1]
        } else {
            &templates[rng.random_range(0..templates.len() - 1)]
        };
        let body = &template[..template.len() - 1];
        let mut bytes: Vec<u8> = match kind {
            0 => (0..rng.random_range(1..64)).map(|_| rng.random_range(1..=255u8)).collect(),
            1 => (0..rng.random_range(1..100)).map(|_| rng.random()).collect(),
            2 => {
                let mut b = body.to_vec();
                for _ in 0..rng.random_range(1..=3) {
                    let i = rng.random_range(0..b.len());
                    b[i] ^= 1 << rng.random_range(0..8);
                }
                b
            }
            3 => body[..rng.random_range(0..body.len())].to_vec(),
            4 => {
                let mut b = body.to_vec();
                b.extend((0..rng.random_range(1..16)).map(|_| rng.random_range(1..=255u8)));
                b
            }
            5 => {
                let mut version = rng.random::<u8>();
                if version == edgerank_core::wire::WIRE_VERSION {
                    version = version.wrapping_add(1);
                }
                let request = Envelope { version, request_id: rng.random(), body: Request::Ping };
                let mut payload = [0u8; MAX_PAYLOAD];
                let p = encode_checked(&request, &mut payload).expect("fits");
                cobs_encode(p)
            }
            6 => (0..rng.random_range(MAX_FRAME..MAX_FRAME + 64)).map(|_| rng.random_range(1..=255u8)).collect(),
            7 => {
                let mut payload = vec![edgerank_core::wire::WIRE_VERSION];
                payload.extend((0..rng.random_range(1..40)).map(|_| rng.random::<u8>()));
                let crc = CRC.checksum(&payload);
                payload.extend_from_slice(&crc.to_le_bytes());
                cobs_encode(&payload)
            }
            8 => Vec::new(),
            _ => {
                let mut b = body.to_vec();
                b.remove(rng.random_range(0..b.len()));
                b
            }
        };
        bytes.push(0);
        if frames_decode(&bytes).iter().all(|ok| !ok) {
            return (bytes, kind);
        }
    }
}

/// COBS-encodes a payload (without delimiter).
pub fn cobs_encode(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; cobs::max_encoding_length(payload.len())];
    let n = cobs::try_encode(payload, &mut out).expect("sized by max_encoding_length");
    out.truncate(n);
    out
}

/// Valid frames of every request kind, to corrupt; the last one is the largest (a model).
pub fn templates(candidates: &[Candidate], profile: &ProfileConfig) -> Vec<Vec<u8>> {
    let event = Feedback { item_id: 5, author_id: 6, topic: 7, at: 1_700_000_000, kind: FeedbackKind::Like };
    let mut requests = vec![
        Request::Ping,
        Request::Info,
        Request::Stats,
        Request::RankBegin { now: 1_700_000_000, k: 20 },
        Request::RankEnd,
        Request::ResetState,
        Request::Feedback(heapless::Vec::from_slice(&[event; 2]).expect("fits")),
        Request::LoadProfile(profile_blob(profile)),
    ];
    for chunk in candidates.chunks(2).take(2) {
        requests.push(Request::RankChunk(heapless::Vec::from_slice(chunk).expect("a chunk")));
    }
    requests.push(Request::RankChunk(heapless::Vec::from_slice(&candidates[..CANDIDATES_PER_CHUNK]).expect("a chunk")));
    // Shown items of every kind and placement, for the in-place decoder's enum and bool reads.
    let placements = [Placement::Ranked, Placement::Constrained, Placement::Exploration, Placement::Sponsored];
    let shown = candidates[..CANDIDATES_PER_CHUNK].iter().enumerate().map(|(i, c)| ShownItem {
        item_id: c.item_id,
        author_id: c.author_id,
        kind: c.kind,
        in_network: i % 2 == 0,
        placement: placements[i % placements.len()],
    });
    requests.push(Request::RankShown(shown.collect()));
    requests.push(Request::LoadModel(model_blob(&Model::default())));
    requests.iter().enumerate().map(|(i, r)| encode_request(0x4000 + i as u16, r)).collect()
}
