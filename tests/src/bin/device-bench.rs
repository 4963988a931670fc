//! Prints one JSON object per line for each QEMU target and batch size: instructions per
//! candidate (fixed point and the f32 reference), sizes and stack of the firmware (after a
//! cold boot, and after a warm boot that restores a full stored user state). Run by
//! `cargo xtask device-bench`, which builds the firmware first; `--out FILE` also writes the
//! lines to FILE.
//!
//! The counts are instructions executed under QEMU `-icount shift=0` (one instruction per
//! virtual nanosecond, read through SysTick), not cycles: see `edgerank_tests::device::bench`.

use std::time::Duration;

use edgerank_core::model::Model;
use edgerank_core::profile::Platform;
use edgerank_tests::device::bench::{protocol_stack_peak, run_bench_firmware, sizes, warm_stack_peak};
use edgerank_tests::device::{BENCH_FIRMWARE, BOARDS, PROTOCOL_FIRMWARE};
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned();
    match run() {
        Ok(lines) => {
            for line in &lines {
                println!("{line}");
            }
            if let Some(path) = out {
                let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("error: writing {path}: {e}");
                    std::process::exit(1);
                }
                eprintln!("wrote {path}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for board in BOARDS {
        let bench = run_bench_firmware(&board, &board.elf(BENCH_FIRMWARE), Duration::from_secs(300))?;
        let (text, data, bss) = sizes(&board.elf(PROTOCOL_FIRMWARE))?;
        eprintln!(
            "{} ({}): benchmark firmware stack peak {} bytes",
            board.machine,
            board.target,
            bench.stack_peak.map_or("?".into(), |p| p.to_string())
        );
        for b in &bench.lines {
            let profile = Platform::from_name(&b.profile).ok_or_else(|| format!("unknown profile {}", b.profile))?;
            let stack_peak = protocol_stack_peak(&board, b.n as usize, profile)?;
            let warm = warm_stack_peak(&board, b.n as usize, profile)?;
            let per = |total: u64| (total as f64 / b.n as f64 * 10.0).round() / 10.0;
            lines.push(
                json!({
                    "target": board.target,
                    "board": board.machine,
                    "candidates": b.n,
                    "k": b.k,
                    "profile": b.profile,
                    "macs_per_candidate": Model::macs_per_candidate(),
                    "instructions_per_candidate": per(b.fixed),
                    "f32_instructions_per_candidate": per(b.f32),
                    "text": text,
                    "data": data,
                    "bss": bss,
                    "stack_peak": stack_peak,
                    "stack_peak_warm": warm.stack_peak,
                    "warm_user_state_blob": warm.user_blob,
                    "ram": data + bss + u64::from(stack_peak.max(warm.stack_peak)),
                })
                .to_string(),
            );
        }
    }
    eprintln!(
        "instructions_per_candidate: instructions executed (QEMU -icount shift=0, via SysTick), not cycles; \
         text/data/bss: arm-none-eabi-size of {PROTOCOL_FIRMWARE}; stack_peak: its stack high-water mark in bytes \
         after a cold boot and one rank call of that size over the serial link; stack_peak_warm: the same after a \
         warm reset that restores a full stored user state (warm_user_state_blob bytes), model and profile; \
         ram: data + bss + the larger stack peak"
    );
    Ok(lines)
}
