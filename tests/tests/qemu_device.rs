//! The protocol firmware in QEMU (mps2-an386: Cortex-M4F; mps2-an385: Cortex-M3 running
//! ARMv6-M code), driven over its UART.
//!
//! Every frame the firmware sends is compared, byte for byte, with the frame the host build of
//! the core predicts ([`Checked`]): rank pages, acknowledgements, counters and errors alike.
//!
//! Needs QEMU, defmt-print and the firmware built (`cargo xtask firmware`), so the tests are
//! ignored by a plain `cargo test`; `cargo xtask qemu-test` runs them, two at a time (the
//! longest, [`rank_requests_match_the_host_core_mps2_an386`], alongside all the others).
//!
//! The emulated UART moves about 30 KB/s (QEMU's CMSDK UART model takes one byte per main-loop
//! iteration), which sets the test sizes: the whole file takes two to three and a half minutes.

use std::time::{Duration, Instant};

use edgerank_core::error::{BlobError, FeedbackError, RankError};
use edgerank_core::input::Candidate;
use edgerank_core::model::{Model, MODEL_BLOB_MAX};
use edgerank_core::num::Weight;
use edgerank_core::pipeline::ShownItem;
use edgerank_core::profile::{Platform, ProfileConfig};
use edgerank_core::state::{Feedback, FeedbackKind, MUTE_SLOTS};
use edgerank_core::wire::{encode_checked, Request, Response, WireError, CANDIDATES_PER_CHUNK};
use edgerank_tests::device::traffic::{self, GARBAGE_KINDS};
use edgerank_tests::device::{Board, Checked, QemuDevice, QemuOptions, MPS2_AN385, MPS2_AN386, PROTOCOL_FIRMWARE};
use edgerank_tests::workload;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Rank requests on mps2-an386 (the Cortex-M4F build).
const RANK_REQUESTS: usize = 1_000;
/// Rank requests on mps2-an385 (the ARMv6-M build, slower to emulate).
const RANK_REQUESTS_ARMV6M: usize = 300;
/// Garbage items per board (each one or more unreadable frames, or an empty one).
const GARBAGE_ITEMS: usize = 10_000;

/// Boots the protocol firmware on `board`, paired with a mirror of a first boot.
fn start(board: Board) -> Checked {
    let elf = board.elf(PROTOCOL_FIRMWARE);
    let device =
        QemuDevice::start(&board, &elf, QemuOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", board.machine));
    Checked::new(device, 1)
}

/// Unwraps with the board in the message.
fn ok<T>(board: Board, r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{}: {e}", board.machine))
}

/// The device still runs the boot it started with: QEMU (started with `-no-reboot`, so a
/// reset would end it) has not exited, the firmware logged exactly one boot, and its counters
/// (checked byte for byte against the mirror) report boot 1.
fn assert_never_reset(board: Board, link: &mut Checked) {
    let stats = ok(board, link.call(&Request::Stats));
    let Response::Stats(stats) = stats else { panic!("{}: Stats answered {stats:?}", board.machine) };
    assert_eq!(stats.boots, 1, "{}: {stats:?}", board.machine);
    let status = link.device.exit_status().expect("QEMU state");
    assert!(status.is_none(), "{}: QEMU exited: {status:?}", board.machine);
    let log = link.device.log();
    let boots = log.iter().filter(|l| l.contains("edgerank firmware booted")).count();
    assert_eq!(boots, 1, "{}: log: {log:#?}", board.machine);
    for bad in ["panic", "hard fault", "ERROR"] {
        assert!(!log.iter().any(|l| l.contains(bad)), "{}: log has {bad:?}: {log:#?}", board.machine);
    }
}

/// The stack high-water mark the firmware logs on `Stats`.
fn stack_peak(link: &Checked) -> Option<String> {
    link.device.log().into_iter().rev().find(|l| l.contains("stack peak"))
}

/// A valid model other than the built-in one.
fn custom_model() -> Model {
    let mut m = Model { model_id: 0x00C0_FFEE, ..Model::default() };
    m.weights[0][3] = Weight(m.weights[0][3].0 / 2);
    m.weights[2][5] = Weight(m.weights[2][5].0.saturating_add(100));
    m.validate().expect("still valid");
    m
}

fn batch(rng: &mut impl Rng, n: usize, now: u32) -> Vec<Candidate> {
    (0..n).map(|i| workload::candidate(rng, 100_000 + i as u32, (n as u32 / 3).max(2), now)).collect()
}

/// Boot, identity, and every protocol rule: errors change nothing, blobs are swapped in only
/// after validation, the open rank call refuses what would change its inputs.
fn protocol(board: Board) {
    let started = Instant::now();
    let mut link = start(board);
    let b = board;
    let booted = link.device.wait_for_log("edgerank firmware booted", Duration::from_secs(10));
    assert!(booted.is_some_and(|l| l.contains("boot 1")), "{}: {:?}", b.machine, link.device.log());

    assert_eq!(ok(b, link.call(&Request::Ping)), Response::Pong);
    let Response::Info(info) = ok(b, link.call(&Request::Info)) else { panic!("Info") };
    assert_eq!((info.max_candidates, info.max_k, info.profile.as_str()), (256, 32, "x"));

    // Requests out of place.
    let unexpected = Response::Error(WireError::UnexpectedRequest);
    assert_eq!(ok(b, link.call(&Request::RankEnd)), unexpected);
    assert_eq!(ok(b, link.call(&Request::RankChunk(heapless::Vec::new()))), unexpected);
    let too_large = Response::Error(WireError::Rank(RankError::KTooLarge { capacity: 32 }));
    assert_eq!(ok(b, link.call(&Request::RankBegin { now: 1_000_000, k: 33 })), too_large);
    assert_eq!(ok(b, link.call(&Request::RankShown(heapless::Vec::new()))), unexpected);

    // Blobs: refused ones leave the active model and profile in place.
    let good = traffic::model_blob(&custom_model());
    let mut flipped = good.clone();
    flipped[40] ^= 0x10;
    let bad_checksum = Response::Error(WireError::Blob(BlobError::BadChecksum));
    assert_eq!(ok(b, link.call(&Request::LoadModel(flipped))), bad_checksum);
    let mut overflowing = custom_model();
    overflowing.weights[1] = [Weight(i16::MAX); 16];
    let mut buf = [0u8; MODEL_BLOB_MAX];
    let blob = heapless::Vec::from_slice(encode_checked(&overflowing, &mut buf).unwrap()).unwrap();
    let out_of_range = Response::Error(WireError::Blob(BlobError::OutOfRange));
    assert_eq!(ok(b, link.call(&Request::LoadModel(blob))), out_of_range);
    let truncated = heapless::Vec::from_slice(&good[..good.len() / 2]).unwrap();
    assert!(matches!(ok(b, link.call(&Request::LoadModel(truncated))), Response::Error(WireError::Blob(_))));
    assert_eq!(ok(b, link.call(&Request::LoadModel(good))), Response::ModelLoaded { model_id: 0x00C0_FFEE });

    let mut nan = Platform::TikTok.config();
    nan.head_weights[0] = f32::NAN;
    assert_eq!(ok(b, link.call(&Request::LoadProfile(traffic::profile_blob(&nan)))), out_of_range);
    let custom =
        ProfileConfig { head_weights: Platform::Threads.config().head_weights, ..ProfileConfig::neutral("custom") };
    let loaded = ok(b, link.call(&Request::LoadProfile(traffic::profile_blob(&custom))));
    assert!(matches!(&loaded, Response::ProfileLoaded { name } if name.as_str() == "custom"), "{loaded:?}");
    let Response::Info(info) = ok(b, link.call(&Request::Info)) else { panic!("Info") };
    assert_eq!((info.model_id, info.profile.as_str()), (0x00C0_FFEE, "custom"));

    // An open rank call: read-only requests are answered, the rest refused; a new RankBegin
    // starts over; over-capacity chunks are refused whole.
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EED);
    let now = 1_700_000_000;
    let cands = batch(&mut rng, 300, now);
    for r in traffic::rank_call(now, 20, &cands[..40]).into_iter().take(3) {
        ok(b, link.send(&r));
    }
    for r in [Request::Ping, Request::Info, Request::Stats] {
        ok(b, link.send(&r));
    }
    for r in [
        Request::ResetState,
        Request::LoadProfile(traffic::profile_blob(&Platform::X.config())),
        Request::Feedback(heapless::Vec::new()),
    ] {
        assert_eq!(ok(b, link.send(&r)), unexpected);
    }
    ok(b, link.settle());
    for r in traffic::rank_call(now, 32, &cands[..256]) {
        ok(b, link.send(&r));
    }
    ok(b, link.settle());
    let mut calls = traffic::rank_call(now, 32, &cands);
    let end = calls.pop().unwrap();
    let mut refused = 0;
    for r in calls {
        if ok(b, link.send(&r)) == Response::Error(WireError::Rank(RankError::TooManyCandidates { capacity: 256 })) {
            refused += 1;
        }
    }
    assert_eq!(refused, (300 - 256) / CANDIDATES_PER_CHUNK + 1);
    let page = ok(b, link.send(&end));
    assert!(matches!(&page, Response::Ranked(p) if p.items.len() == 32 && p.stats.received == 256), "{page:?}");
    ok(b, link.settle());

    // Continuing that page after its first 10 items: the shown items and the page after them
    // fill at most 32 positions (more is refused whole, the call stays open), and with the
    // same candidates and state the rest is the page's own.
    let Response::Ranked(page) = page else { unreachable!() };
    let shown: Vec<ShownItem> =
        page.items[..10].iter().map(|it| ShownItem::new(it, &cands[it.index as usize])).collect();
    let mut calls = traffic::rank_call_after(now, 22, &cands[..256], &shown);
    let end = calls.pop().unwrap();
    for r in calls {
        ok(b, link.send(&r));
    }
    let more = Request::RankShown(heapless::Vec::from_slice(&shown[..1]).unwrap());
    assert_eq!(ok(b, link.send(&more)), too_large);
    let rest = ok(b, link.send(&end));
    assert!(matches!(&rest, Response::Ranked(p) if p.items[..] == page.items[10..]), "{rest:?}");
    ok(b, link.settle());

    // Feedback: a full mute list refuses the event, and with it the whole request.
    let mutes: Vec<Feedback> = (0..MUTE_SLOTS as u32 + 4)
        .map(|i| Feedback { item_id: i, author_id: 9_000 + i, topic: 1, at: now, kind: FeedbackKind::Mute })
        .collect();
    for r in traffic::feedback_requests(&mutes) {
        ok(b, link.send(&r));
    }
    ok(b, link.settle());
    let last = ok(b, link.call(&Request::Feedback(heapless::Vec::from_slice(&mutes[35..]).unwrap())));
    assert_eq!(last, Response::Error(WireError::Feedback(FeedbackError::MuteListFull)));
    let frame = |events: &[Feedback]| Request::Feedback(heapless::Vec::from_slice(events).unwrap());
    let like = Feedback { kind: FeedbackKind::Like, ..mutes[0] };
    let Response::FeedbackApplied { total_events, .. } = ok(b, link.call(&frame(&[like]))) else {
        panic!("{}: a like was refused", b.machine)
    };
    let refused = ok(b, link.call(&frame(&[like, mutes[35]])));
    assert_eq!(refused, Response::Error(WireError::Feedback(FeedbackError::MuteListFull)));
    // The refused request's like was not applied: the next one is the next event.
    assert!(matches!(
        ok(b, link.call(&frame(&[like]))),
        Response::FeedbackApplied { applied: 1, total_events: t } if t == total_events + 1
    ));
    assert_eq!(ok(b, link.call(&Request::ResetState)), Response::StateReset);
    assert!(matches!(
        ok(b, link.call(&Request::Feedback(heapless::Vec::from_slice(&mutes[..3]).unwrap()))),
        Response::FeedbackApplied { applied: 3, total_events: 3 }
    ));

    assert_never_reset(board, &mut link);
    println!(
        "{}: protocol checks passed, {} frames compared, {:.1} s; {}",
        b.machine,
        link.frames_checked,
        started.elapsed().as_secs_f64(),
        stack_peak(&link).unwrap_or_default()
    );
}

/// A rank size: 5 % at capacity, the rest log-uniform in 1..=255 (small and large requests
/// both well represented; the emulated UART moves about 30 KB/s, so a uniform spread would
/// make the test several times longer for little more coverage).
fn size(rng: &mut impl Rng) -> usize {
    if rng.random_bool(0.05) {
        256
    } else {
        (rng.random::<f64>() * 256f64.ln()).exp().clamp(1.0, 255.0) as usize
    }
}

/// Random rank requests under several profiles, with feedback on each page before the next
/// and a model swap half way: every answer byte-identical to the host core's.
fn rank_requests(board: Board, requests: usize, seed: u64) {
    let started = Instant::now();
    let mut link = start(board);
    let b = board;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut sizes, mut candidates, mut profile_loads, mut feedback_events, mut at_capacity) = (0, 0, 0, 0, 0);
    let mut continued = 0;
    let mut profiles_seen = std::collections::BTreeSet::new();
    for i in 0..requests {
        let mut req = workload::request(&mut rng, 256);
        let n = size(&mut rng);
        req.candidates.truncate(n);
        while req.candidates.len() < n {
            let id = 200_000 + req.candidates.len() as u32;
            req.candidates.push(workload::candidate(&mut rng, id, (n as u32 / 3).max(2), req.now));
        }
        at_capacity += (n == 256) as usize;
        sizes += 1;
        candidates += n;
        if i == requests / 2 {
            ok(b, link.send(&Request::LoadModel(traffic::model_blob(&custom_model()))));
        }
        if i % 250 == 249 {
            ok(b, link.send(&Request::ResetState));
        }
        if link.mirror.profile.config().name.as_str() != req.platform.name() {
            ok(b, link.send(&Request::LoadProfile(traffic::profile_blob(&req.platform.config()))));
            profile_loads += 1;
        }
        profiles_seen.insert(req.platform.name());
        let mut page = None;
        for r in traffic::rank_call(req.now, req.k as u8, &req.candidates) {
            if let Response::Ranked(p) = ok(b, link.send(&r)) {
                page = Some(p);
            }
        }
        let page = page.unwrap_or_else(|| panic!("{}: request {i} got no page", b.machine));
        let events = traffic::feedback_on_page(&mut rng, &page, &req.candidates, req.now);
        feedback_events += events.len();
        for r in traffic::feedback_requests(&events) {
            ok(b, link.send(&r));
        }
        // Every other page is continued after some of its items, with the feedback applied.
        if i % 2 == 1 && !page.items.is_empty() {
            let p = rng.random_range(1..=page.items.len());
            let shown: Vec<ShownItem> =
                page.items[..p].iter().map(|it| ShownItem::new(it, &req.candidates[it.index as usize])).collect();
            for r in traffic::rank_call_after(req.now + 60, (req.k - p) as u8, &req.candidates, &shown) {
                ok(b, link.send(&r));
            }
            continued += 1;
        }
        if link.outstanding() > 150 {
            ok(b, link.settle());
        }
    }
    ok(b, link.settle());
    assert_never_reset(board, &mut link);
    assert!(profiles_seen.len() >= 5, "{profiles_seen:?}");
    println!(
        "{}: {sizes} rank requests ({candidates} candidates, {at_capacity} at capacity 256, {continued} pages \
         continued), {profile_loads} profile loads, {feedback_events} feedback events: {} frames byte-identical to the \
         host core's, {:.1} s; {}",
        b.machine,
        link.frames_checked,
        started.elapsed().as_secs_f64(),
        stack_peak(&link).unwrap_or_default()
    );
}

/// Garbage of every kind, also in the middle of a rank call: each unreadable frame is
/// answered with a frame error, and afterwards the device still ranks correctly, having
/// never reset.
fn garbage(board: Board, items: usize, seed: u64) {
    let started = Instant::now();
    let mut link = start(board);
    let b = board;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = 1_700_000_000;
    let cands = batch(&mut rng, 256, now);
    let templates = traffic::templates(&cands, &Platform::LinkedIn.config());
    let mut per_kind = vec![0usize; GARBAGE_KINDS.len()];
    let mut bytes = 0usize;
    let mut rank_call = traffic::rank_call(now, 25, &cands[..96]).into_iter();
    for i in 0..items {
        let (item, kind) = traffic::garbage(&mut rng, &templates);
        per_kind[kind] += 1;
        bytes += item.len();
        ok(b, link.send_bytes(&item).map(drop));
        // Every so often a valid request, some of them steps of a rank call that garbage
        // keeps interrupting.
        if i % 97 == 0 {
            let request = rank_call.next().unwrap_or(Request::Ping);
            ok(b, link.send(&request));
        }
        if link.outstanding() > 400 {
            ok(b, link.settle());
        }
    }
    ok(b, link.settle());
    assert!(!link.mirror.call_open(), "the interleaved rank call completed");

    // Still serving, with the state it had: a fresh rank call, byte-identical.
    for r in traffic::rank_call(now, 32, &cands) {
        ok(b, link.send(&r));
    }
    ok(b, link.settle());
    let bad = link.mirror.stats.frames_bad;
    assert!(bad as usize >= items * 9 / 10, "{}: only {bad} bad frames", b.machine);
    assert_never_reset(board, &mut link);
    let kinds: Vec<String> = GARBAGE_KINDS.iter().zip(&per_kind).map(|((k, _), n)| format!("{k} {n}")).collect();
    println!(
        "{}: {items} garbage items ({bytes} bytes; {}): {bad} frame errors answered, {} frames compared ({} \
         Truncated on the host but Malformed on the 32-bit device), no reset, {:.1} s",
        b.machine,
        kinds.join(", "),
        link.frames_checked,
        link.width_dependent_errors,
        started.elapsed().as_secs_f64()
    );
}

#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn protocol_mps2_an386() {
    protocol(MPS2_AN386);
}

#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn protocol_mps2_an385() {
    protocol(MPS2_AN385);
}

#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn rank_requests_match_the_host_core_mps2_an386() {
    rank_requests(MPS2_AN386, RANK_REQUESTS, 0xED6E_0386);
}

#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn rank_requests_match_the_host_core_mps2_an385() {
    rank_requests(MPS2_AN385, RANK_REQUESTS_ARMV6M, 0xED6E_0385);
}

#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn garbage_is_answered_and_never_resets_mps2_an386() {
    garbage(MPS2_AN386, GARBAGE_ITEMS, 0x6A6B_0386);
}

#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn garbage_is_answered_and_never_resets_mps2_an385() {
    garbage(MPS2_AN385, GARBAGE_ITEMS, 0x6A6B_0385);
}

/// `edgerank-sim compare --device qemu` on a handful of users: every rank call of the core
/// policies also goes through the protocol firmware (one emulated device per user and policy,
/// fed the same feedback), and every page must be byte-identical to the in-process core's.
#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn simulated_users_rank_the_same_on_the_device_mps2_an386() {
    use edgerank_sim::device::check::DeviceKind;
    use edgerank_sim::sim::{run_compare, CompareConfig, NoProgress};
    let started = Instant::now();
    let cfg = CompareConfig {
        users: 6,
        seed: 11,
        warmup_days: 0.25,
        days: 1.5,
        // On device with the rest of each page continued after every item (`RankShown`),
        // server-only, and a policy without the core (not sent to the device).
        policies: vec!["tiktok_on_device".into(), "tiktok_server_only".into(), "x".into(), "chronological".into()],
        device: Some(DeviceKind::Qemu),
        ..CompareConfig::default()
    };
    let summary = run_compare(&cfg, &NoProgress).unwrap_or_else(|e| panic!("{e}"));
    let d = summary.device_check.expect("a device report");
    assert!(d.devices >= 3, "{d:?}");
    assert!(d.rank_calls >= 20, "{d:?}");
    assert!(d.feedback_events > 0, "{d:?}");
    assert_eq!(d.identical, d.rank_calls, "{d:?}");
    println!(
        "compare --device qemu: {} users, {} devices, {} rank calls byte-identical, {} feedback events, {:.1} s",
        cfg.users,
        d.devices,
        d.identical,
        d.feedback_events,
        started.elapsed().as_secs_f64()
    );
}
