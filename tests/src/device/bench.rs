//! `cargo xtask device-bench`: instruction counts, sizes and stack of the firmware, per
//! target and batch size (the `device-bench` binary prints them as JSON lines).
//!
//! - Instructions: the benchmark firmware (`edgerank-bench`) ranks a fixed pseudo-random batch
//!   built on the device with the fixed-point pipeline and with the f32 reference, under QEMU
//!   `-icount shift=0`, and logs SysTick-derived counts. These are instructions executed
//!   (ARMv7E-M or ARMv6-M), not cycles of a real part.
//! - Sizes: `arm-none-eabi-size` of the protocol firmware (`edgerank-firmware`).
//! - Stack: the protocol firmware paints its stack at boot and logs the high-water mark on
//!   each `Stats` request. Cold ([`protocol_stack_peak`]): a fresh boot loads a model and a
//!   profile, takes feedback, ranks one batch of `n` candidates to 32 over the serial link, and
//!   is asked for `Stats`. Warm ([`warm_stack_peak`]): a first boot loads a model and a profile
//!   and takes a long feedback history that fills the user state ([`full_user_history`]), each
//!   change committed to the flash store; a warm reset; the second boot restores the stored
//!   user state, model and profile, ranks one batch of `n`, and is asked for `Stats`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use edgerank_core::model::Model;
use edgerank_core::profile::Platform;
use edgerank_core::state::{Feedback, FeedbackKind, UserState, AUTHOR_SLOTS, MUTE_SLOTS, STATE_BLOB_MAX};
use edgerank_core::wire::{Request, Response};
use rand::{RngExt, SeedableRng};

use super::qemu::spawn_decoded;
use super::reboot::RebootingDevice;
use super::{traffic, Board, Checked, QemuDevice, QemuOptions, PROTOCOL_FIRMWARE};

/// One batch size's counts from the benchmark firmware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchLine {
    /// Candidates ranked.
    pub n: u32,
    /// Items per page.
    pub k: u32,
    /// Instructions of the fixed-point rank (whole batch).
    pub fixed: u64,
    /// Instructions of the f32 reference rank (whole batch).
    pub f32: u64,
    /// The profile used.
    pub profile: String,
}

/// What the benchmark firmware reported.
#[derive(Clone, Debug, Default)]
pub struct BenchRun {
    /// One line per batch size.
    pub lines: Vec<BenchLine>,
    /// The benchmark firmware's own stack peak.
    pub stack_peak: Option<u32>,
    /// The whole decoded log.
    pub log: Vec<String>,
}

/// Runs the benchmark firmware under `-icount shift=0` and parses its log.
pub fn run_bench_firmware(board: &Board, elf: &Path, timeout: Duration) -> Result<BenchRun, String> {
    let mut cmd = Command::new("qemu-system-arm");
    cmd.args(["-cpu", board.cpu, "-machine", board.machine])
        .args(["-display", "none", "-monitor", "none", "-serial", "null", "-no-reboot"])
        .args(["-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel"])
        .arg(elf);
    let (mut qemu, mut decoder) = spawn_decoded(&mut cmd, elf)?;
    let decoded = decoder.stdout.take().expect("piped");
    let reader = thread::spawn(move || BufReader::new(decoded).lines().map_while(Result::ok).collect::<Vec<_>>());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = qemu.try_wait().map_err(|e| e.to_string())? {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = qemu.kill();
            let _ = qemu.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let _ = decoder.wait();
    let log = reader.join().map_err(|_| "log reader panicked")?;
    match status {
        None => return Err(format!("{} benchmark timed out after {timeout:?}; log: {log:?}", board.machine)),
        Some(s) if !s.success() => return Err(format!("{} benchmark failed ({s}); log: {log:?}", board.machine)),
        Some(_) => {}
    }
    let mut run = BenchRun { log: log.clone(), ..BenchRun::default() };
    for line in &log {
        let Some(rest) = line.split("device-bench ").nth(1) else { continue };
        let field = |key: &str| rest.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='));
        let num = |key: &str| field(key).and_then(|v| v.parse::<u64>().ok());
        if let Some(peak) = num("stack_peak") {
            run.stack_peak = Some(peak as u32);
            continue;
        }
        let parsed = (|| {
            Some(BenchLine {
                n: num("n")? as u32,
                k: num("k")? as u32,
                fixed: num("fixed")?,
                f32: num("f32")?,
                profile: field("profile")?.to_string(),
            })
        })();
        run.lines.push(parsed.ok_or_else(|| format!("unparsable benchmark line: {line}"))?);
    }
    if run.lines.is_empty() {
        return Err(format!("{}: no benchmark lines in the log: {log:?}", board.machine));
    }
    Ok(run)
}

/// `text`, `data` and `bss` of an ELF, from `arm-none-eabi-size`.
pub fn sizes(elf: &Path) -> Result<(u64, u64, u64), String> {
    let out = Command::new("arm-none-eabi-size")
        .arg(elf)
        .output()
        .map_err(|e| format!("could not run arm-none-eabi-size: {e} (run `cargo xtask setup`)"))?;
    if !out.status.success() {
        return Err(format!("arm-none-eabi-size failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text.lines().nth(1).ok_or("no sizes")?;
    let cols: Vec<Option<u64>> = row.split_whitespace().take(3).map(|c| c.parse().ok()).collect();
    match cols[..] {
        [Some(t), Some(d), Some(b)] => Ok((t, d, b)),
        _ => Err(format!("unexpected arm-none-eabi-size output: {text}")),
    }
}

/// The protocol firmware's stack high-water mark after a fresh boot has loaded a model and a
/// profile, applied a full frame of feedback and ranked `n` candidates to the top 32.
pub fn protocol_stack_peak(board: &Board, n: usize, profile: Platform) -> Result<u32, String> {
    let elf = board.elf(PROTOCOL_FIRMWARE);
    let device = QemuDevice::start(board, &elf, QemuOptions::default()).map_err(|e| e.to_string())?;
    let mut link = Checked::new(device, 1);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xB0_0B5 + n as u64);
    let now = 1_700_000_000;
    link.send(&Request::LoadModel(traffic::model_blob(&Model::default())))?;
    link.send(&Request::LoadProfile(traffic::profile_blob(&profile.config())))?;
    let events: Vec<Feedback> = (0..16)
        .map(|i| Feedback { item_id: i, author_id: i % 5, topic: i as u8, at: now - 3_600, kind: FeedbackKind::Like })
        .collect();
    for r in traffic::feedback_requests(&events) {
        link.send(&r)?;
    }
    let authors = (n as u32 / 3).max(2);
    let candidates: Vec<_> = (0..n).map(|i| crate::workload::candidate(&mut rng, i as u32, authors, now)).collect();
    for r in traffic::rank_call(now, 32, &candidates) {
        link.send(&r)?;
    }
    let stats = link.send(&Request::Stats)?;
    link.settle()?;
    if !matches!(stats, Response::Stats(s) if s.rank_calls == 1) {
        return Err(format!("unexpected Stats answer: {stats:?}"));
    }
    let line = link
        .device
        .wait_for_log("stack peak", Duration::from_secs(5))
        .ok_or_else(|| format!("no stack peak in the log: {:?}", link.device.log()))?;
    parse_stack_line(&line)
}

/// Feedback events a first boot takes before the warm reset in [`warm_stack_peak`].
pub const WARM_HISTORY_EVENTS: usize = 1_500;

/// A month of one user's feedback before `now` that leaves the user state full: every author
/// slot and every mute slot in use, and (about 1,400 distinct items over 128 sets of 2) every
/// seen slot. Item and author ids are random 32-bit values, as hashed ids would be, so they
/// take their full varint width in the stored blob. The kinds follow
/// [`traffic::feedback_kind`]; events the state would refuse (a mute or block once the mute
/// list holds only mutes and blocks) are left out, so the device applies every one.
/// Deterministic.
pub fn full_user_history(now: u32) -> Vec<Feedback> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xF011_57A7E);
    let authors: Vec<u32> = (0..400).map(|_| rng.random()).collect();
    let start = now - 30 * 86_400;
    let mut user = UserState::new();
    let mut events = Vec::with_capacity(WARM_HISTORY_EVENTS);
    while events.len() < WARM_HISTORY_EVENTS {
        let at = start + (events.len() as u32) * (29 * 86_400 / WARM_HISTORY_EVENTS as u32);
        let event = Feedback {
            item_id: rng.random(),
            author_id: authors[rng.random_range(0..authors.len())],
            topic: rng.random_range(0..edgerank_core::input::TOPICS as u8),
            at,
            kind: traffic::feedback_kind(&mut rng),
        };
        if user.apply(&event).is_ok() {
            events.push(event);
        }
    }
    assert_eq!(user.known_authors(), AUTHOR_SLOTS, "the history fills the author table");
    assert_eq!(user.mutes().records().len(), MUTE_SLOTS, "the history fills the mute list");
    events
}

/// What [`warm_stack_peak`] measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WarmBoot {
    /// The second boot's stack high-water mark, bytes.
    pub stack_peak: u32,
    /// The stored user state blob the second boot restored, bytes.
    pub user_blob: usize,
}

/// The protocol firmware's stack high-water mark in a warm boot: a first boot loads a model
/// and `profile` and applies [`full_user_history`] (committed to the flash store after every
/// feedback frame); a monitor `system_reset`; the second boot restores the user state, model
/// and profile from the store, ranks `n` candidates to the top 32 (the same batch as
/// [`protocol_stack_peak`]) and is asked for `Stats`. Every answer of both boots is checked
/// byte for byte against the host's mirror, whose second boot keeps the first one's model,
/// profile and user state: a state that was not restored exactly would give other pages.
pub fn warm_stack_peak(board: &Board, n: usize, profile: Platform) -> Result<WarmBoot, String> {
    let elf = board.elf(PROTOCOL_FIRMWARE);
    let mut device = RebootingDevice::start(board, &elf)?;
    let now = 1_700_000_000;
    let model = Model { model_id: 0x0057_A7E0, ..Model::default() };
    device.call(&Request::LoadModel(traffic::model_blob(&model)))?;
    device.call(&Request::LoadProfile(traffic::profile_blob(&profile.config())))?;
    for r in traffic::feedback_requests(&full_user_history(now)) {
        if !matches!(device.call(&r)?, Response::FeedbackApplied { .. }) {
            return Err(format!("{}: feedback refused", board.machine));
        }
    }
    let mut blob = [0u8; STATE_BLOB_MAX];
    let user_blob = device.mirror.user.to_blob(&mut blob).map_err(|e| e.to_string())?.len();
    let events = device.mirror.user.events;

    device.system_reset()?;
    let restored = format!("restored user state ({events} events)");
    device
        .wait_for_boot_log(&restored, Duration::from_secs(5))
        .ok_or_else(|| format!("{}: no \"{restored}\" after the reset: {:?}", board.machine, device.boot_log()))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xB0_0B5 + n as u64);
    let authors = (n as u32 / 3).max(2);
    let candidates: Vec<_> = (0..n).map(|i| crate::workload::candidate(&mut rng, i as u32, authors, now)).collect();
    for r in traffic::rank_call(now, 32, &candidates) {
        device.call(&r)?;
    }
    let stats = device.call(&Request::Stats)?;
    if !matches!(stats, Response::Stats(s) if s.rank_calls == 1 && s.boots == 2) {
        return Err(format!("unexpected Stats answer: {stats:?}"));
    }
    let line = device
        .wait_for_boot_log("stack peak", Duration::from_secs(5))
        .ok_or_else(|| format!("no stack peak in the log: {:?}", device.boot_log()))?;
    Ok(WarmBoot { stack_peak: parse_stack_line(&line)?, user_blob })
}

/// The bytes of a "stack peak: N bytes (of M painted)" log line (an error if saturated).
fn parse_stack_line(line: &str) -> Result<u32, String> {
    if line.contains("SATURATED") {
        return Err(format!("stack probe saturated: {line}"));
    }
    line.split("stack peak: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unparsable stack line: {line}"))
}
