//! Writes the seed corpora under `corpus/<target>/seed-*` from valid messages: every request
//! kind as a frame, the default model, every platform profile, rank calls and feedback streams.
//! Run from this directory: `cargo run --example seeds`. The output is committed; libFuzzer's
//! own additions (other names) are not.

use std::fs;
use std::path::Path;

use edgerank_core::model::{Model, MODEL_BLOB_MAX};
use edgerank_core::num::WatchRatio;
use edgerank_core::pipeline::{Placement, ShownItem};
use edgerank_core::profile::{Platform, ProfileConfig, PROFILE_BLOB_MAX};
use edgerank_core::state::{Feedback, FeedbackKind};
use edgerank_core::wire::{
    encode_checked, encode_frame, Envelope, FrameError, Request, Response, WireError, MAX_FRAME, MAX_PAYLOAD,
};
use edgerank_fuzz::{sample_batch, RankHeader};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn frame<T: serde::Serialize>(message: &T) -> Vec<u8> {
    let mut scratch = [0u8; MAX_PAYLOAD];
    let mut out = [0u8; MAX_FRAME];
    encode_frame(message, &mut scratch, &mut out).unwrap().to_vec()
}

fn model_blob(model: &Model) -> Vec<u8> {
    let mut buf = [0u8; MODEL_BLOB_MAX];
    model.to_blob(&mut buf).unwrap().to_vec()
}

fn profile_blob(config: &ProfileConfig) -> Vec<u8> {
    let mut buf = [0u8; PROFILE_BLOB_MAX];
    encode_checked(config, &mut buf).unwrap().to_vec()
}

fn events(now: u32) -> Vec<Feedback> {
    let kinds = [
        FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(0.7) },
        FeedbackKind::Skip,
        FeedbackKind::Like,
        FeedbackKind::Comment,
        FeedbackKind::Share,
        FeedbackKind::Save,
        FeedbackKind::Follow,
        FeedbackKind::ProfileVisit,
        FeedbackKind::Hide,
        FeedbackKind::SeeFewer,
        FeedbackKind::Report,
        FeedbackKind::Mute,
        FeedbackKind::Block,
        FeedbackKind::Unmute,
    ];
    kinds
        .iter()
        .enumerate()
        .map(|(i, &kind)| Feedback {
            item_id: 1000 + i as u32,
            author_id: 10 + i as u32 % 5,
            topic: (i * 7 % 64) as u8,
            at: now + i as u32,
            kind,
        })
        .collect()
}

fn main() {
    let now = 1_700_000_000u32;
    let batch = sample_batch(now);
    let events = events(now);
    let model = model_blob(&Model::default());
    let x = profile_blob(&Platform::X.config());

    // Frames: every request kind, a response, and a stream of several with garbage between.
    let requests = [
        ("ping", Request::Ping),
        ("info", Request::Info),
        ("load-model", Request::LoadModel(heapless::Vec::from_slice(&model).unwrap())),
        ("load-profile", Request::LoadProfile(heapless::Vec::from_slice(&x).unwrap())),
        ("rank-begin", Request::RankBegin { now, k: 32 }),
        ("rank-chunk", Request::RankChunk(heapless::Vec::from_slice(&batch[..8]).unwrap())),
        ("rank-end", Request::RankEnd),
        ("feedback", Request::Feedback(heapless::Vec::from_slice(&events).unwrap())),
        ("stats", Request::Stats),
        ("reset-state", Request::ResetState),
        (
            "rank-shown",
            Request::RankShown(
                batch[..3]
                    .iter()
                    .map(|c| ShownItem {
                        item_id: c.item_id,
                        author_id: c.author_id,
                        kind: c.kind,
                        in_network: c.flags.in_network(),
                        placement: Placement::Ranked,
                    })
                    .collect(),
            ),
        ),
    ];
    let mut stream = Vec::new();
    for (i, (name, request)) in requests.iter().enumerate() {
        let f = frame(&Envelope::new(i as u16 + 1, request.clone()));
        write("frame", name, &f);
        stream.extend_from_slice(&f);
        stream.extend_from_slice(&[0x55, 0x13, 0x00]);
    }
    write("frame", "stream", &stream);
    write("frame", "error-response", &frame(&Envelope::new(0, Response::Error(WireError::Frame(FrameError::Cobs)))));

    write("model_blob", "default", &model);
    let mut other = Model { model_id: 7, ..Model::default() };
    other.weights[3][4].0 /= 2;
    write("model_blob", "custom", &model_blob(&other));

    for p in Platform::ALL {
        write("profile_blob", p.name(), &profile_blob(&p.config()));
    }
    write("profile_blob", "neutral", &profile_blob(&ProfileConfig::neutral("custom")));

    for (i, p) in Platform::ALL.iter().enumerate() {
        let header = RankHeader {
            platform: i as u8,
            now,
            k: [32, 10, 1, 20, 33, 5][i],
            history: heapless::Vec::from_slice(&events[..events.len().min(4 + 2 * i)]).unwrap(),
            // Every other seed with its platform's profile as a custom one, integrity rules
            // tightened so they fire.
            custom: (i % 2 == 1).then(|| {
                let mut c = p.config();
                c.integrity.pod_threshold = 0.5;
                c.integrity.bot_threshold = 0.5;
                c
            }),
        };
        let mut bytes = postcard::to_allocvec(&header).unwrap();
        for c in batch.iter().take(4 + 4 * i) {
            bytes.extend(postcard::to_allocvec(c).unwrap());
        }
        write("rank", p.name(), &bytes);
    }

    let mut feedback = vec![5u8];
    for e in &events {
        feedback.extend(postcard::to_allocvec(e).unwrap());
    }
    write("feedback", "every-kind", &feedback);
    println!("seed corpora written under {}/corpus", env!("CARGO_MANIFEST_DIR"));
}
