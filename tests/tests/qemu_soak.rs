//! The soak test: the protocol firmware in QEMU receives 100,000 frames (set
//! `EDGERANK_SOAK_FRAMES` for another count) mixing valid requests with noise, and every frame
//! it sends back must equal, byte for byte, the host core's prediction ([`Checked`]); at the end
//! it has never reset.
//!
//! Valid traffic: rank calls of 1 to 64 candidates under every platform profile, feedback on
//! each page, `Ping` / `Info` / `Stats`, profile and model loads, state resets. Noise: one
//! garbage item (see `traffic::garbage`: random bytes, bit flips, truncations, wrong versions,
//! oversized frames, good checksums over bad content, ...) before about a third of the valid
//! frames, so rank calls are interrupted by garbage too.
//!
//! QEMU's emulated UART moves about 30 KB/s, so this is not part of `cargo xtask ci`: run it
//! with `cargo xtask soak` (about 15 minutes per board).

use std::time::Instant;

use edgerank_core::model::Model;
use edgerank_core::num::Weight;
use edgerank_core::profile::Platform;
use edgerank_core::wire::{Request, Response};
use edgerank_tests::device::traffic::{self, GARBAGE_KINDS};
use edgerank_tests::device::{Board, Checked, QemuDevice, QemuOptions, MPS2_AN385, MPS2_AN386, PROTOCOL_FIRMWARE};
use edgerank_tests::workload;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Frames sent by default.
const FRAMES: u64 = 100_000;

fn frames_wanted() -> u64 {
    std::env::var("EDGERANK_SOAK_FRAMES").ok().and_then(|v| v.parse().ok()).unwrap_or(FRAMES)
}

fn ok<T>(board: Board, r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{}: {e}", board.machine))
}

/// What was sent.
#[derive(Default)]
struct Tally {
    sent: u64,
    valid: u64,
    garbage_frames: u64,
    garbage_items: u64,
    per_kind: Vec<u64>,
}

fn soak(board: Board, seed: u64) {
    let started = Instant::now();
    let frames = frames_wanted();
    let elf = board.elf(PROTOCOL_FIRMWARE);
    let device =
        QemuDevice::start(&board, &elf, QemuOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", board.machine));
    let mut link = Checked::new(device, 1);
    let b = board;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now0 = 1_700_000_000u32;
    let template_candidates: Vec<_> = (0..16).map(|i| workload::candidate(&mut rng, 500_000 + i, 8, now0)).collect();
    let templates = traffic::templates(&template_candidates, &Platform::Instagram.config());
    let custom = {
        let mut m = Model { model_id: 0x50A_C0DE, ..Model::default() };
        m.weights[1][2] = Weight(m.weights[1][2].0 / 2);
        m
    };

    let mut t = Tally { per_kind: vec![0; GARBAGE_KINDS.len()], ..Tally::default() };
    let (mut rank_calls, mut pages, mut feedback_events, mut loads) = (0u64, 0u64, 0u64, 0u64);
    let mut call = 0u32;
    // One valid request, after a garbage item a third of the time.
    let send = |t: &mut Tally, link: &mut Checked, rng: &mut ChaCha8Rng, request: &Request| -> Response {
        if rng.random_bool(0.35) {
            let (item, kind) = traffic::garbage(rng, &templates);
            t.per_kind[kind] += 1;
            t.garbage_items += 1;
            let n = traffic::frames_decode(&item).len() as u64;
            t.garbage_frames += n;
            t.sent += n;
            ok(b, link.send_bytes(&item).map(drop));
        }
        t.valid += 1;
        t.sent += 1;
        let response = ok(b, link.send(request));
        if link.outstanding() > 150 {
            ok(b, link.settle());
        }
        response
    };
    while t.sent < frames {
        call += 1;
        let mut req = workload::request(&mut rng, 64);
        let now = req.now;
        let n = rng.random_range(1..=64usize).min(req.candidates.len().max(1));
        req.candidates.truncate(n);
        if req.candidates.is_empty() {
            req.candidates.push(workload::candidate(&mut rng, 900_000 + call, 4, now));
        }
        if link.mirror.profile.config().name.as_str() != req.platform.name() {
            send(&mut t, &mut link, &mut rng, &Request::LoadProfile(traffic::profile_blob(&req.platform.config())));
            loads += 1;
        }
        match rng.random_range(0..100) {
            0 => {
                let model =
                    if link.mirror.model.model_id == custom.model_id { Model::default() } else { custom.clone() };
                send(&mut t, &mut link, &mut rng, &Request::LoadModel(traffic::model_blob(&model)));
                loads += 1;
            }
            1 => {
                send(&mut t, &mut link, &mut rng, &Request::ResetState);
            }
            2..=11 => {
                let r = [Request::Ping, Request::Info, Request::Stats][rng.random_range(0..3)].clone();
                send(&mut t, &mut link, &mut rng, &r);
            }
            _ => {}
        }
        rank_calls += 1;
        let mut page = None;
        for r in traffic::rank_call(now, req.k.min(32) as u8, &req.candidates) {
            if let Response::Ranked(p) = send(&mut t, &mut link, &mut rng, &r) {
                page = Some(p);
            }
        }
        // Garbage cannot close a call (it never decodes), so every call ends with a page.
        let page = page.unwrap_or_else(|| panic!("{}: rank call {call} got no page", b.machine));
        pages += 1;
        let events = traffic::feedback_on_page(&mut rng, &page, &req.candidates, now);
        feedback_events += events.len() as u64;
        for r in traffic::feedback_requests(&events) {
            send(&mut t, &mut link, &mut rng, &r);
        }
    }
    ok(b, link.settle());

    // Never reset: QEMU (run with -no-reboot) still up, one boot logged, boot counter 1.
    let stats = ok(b, link.call(&Request::Stats));
    let Response::Stats(stats) = stats else { panic!("{}: Stats answered {stats:?}", b.machine) };
    assert_eq!(stats.boots, 1, "{}: {stats:?}", b.machine);
    assert_eq!(stats.frames_bad as u64, t.garbage_frames, "{}: {stats:?}", b.machine);
    let status = link.device.exit_status().expect("QEMU state");
    assert!(status.is_none(), "{}: QEMU exited: {status:?}", b.machine);
    let log = link.device.log();
    let boots = log.iter().filter(|l| l.contains("edgerank firmware booted")).count();
    assert_eq!(boots, 1, "{}: {} boots logged", b.machine, boots);
    for bad in ["panic", "hard fault", "ERROR"] {
        assert!(!log.iter().any(|l| l.contains(bad)), "{}: log has {bad:?}", b.machine);
    }
    // Frame errors are classified the same on the 32-bit device and the 64-bit host.
    assert_eq!(link.width_dependent_errors, 0, "{}", b.machine);
    let kinds: Vec<String> = GARBAGE_KINDS.iter().zip(&t.per_kind).map(|((k, _), n)| format!("{k} {n}")).collect();
    println!(
        "{}: soak of {} frames: {} valid requests ({rank_calls} rank calls, {pages} pages, {feedback_events} \
         feedback events, {loads} model/profile loads) and {} garbage frames in {} items ({}); {} answers byte-identical to the host core's, frames_bad {}, 0 resets, {:.0} s",
        b.machine,
        t.sent,
        t.valid,
        t.garbage_frames,
        t.garbage_items,
        kinds.join(", "),
        link.frames_checked,
        stats.frames_bad,
        started.elapsed().as_secs_f64()
    );
}

#[test]
#[ignore = "about 15 minutes in QEMU: cargo xtask soak"]
fn soak_mps2_an386() {
    soak(MPS2_AN386, 0x50A4_0386);
}

#[test]
#[ignore = "about 15 minutes in QEMU: cargo xtask soak --board mps2-an385"]
fn soak_mps2_an385() {
    soak(MPS2_AN385, 0x50A4_0385);
}
