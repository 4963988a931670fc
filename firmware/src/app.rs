//! What the firmware does, independent of the board. For now: boot, measure a trivial loop
//! with the SysTick instruction counter, and report.

use core::hint::black_box;

use crate::board;
use crate::measure::InstructionCounter;

/// Runs the firmware's work; returns whether it succeeded (the exit status).
pub fn run(counter: &mut InstructionCounter) -> bool {
    defmt::info!(
        "edgerank firmware booted on {=str} ({=str})",
        board::NAME,
        board::CPU
    );

    let mut ok = true;
    let mut previous = 0;
    for n in [1_000, 2_000] {
        let (_, instructions) = counter.measure(|| trivial_loop(black_box(n)));
        defmt::info!("trivial loop x{=u32}: {=u32} instructions", n, instructions);
        // The counter must run, and twice the work must cost more.
        if instructions <= previous {
            defmt::error!(
                "instruction count did not grow: {=u32} after {=u32}",
                instructions,
                previous
            );
            ok = false;
        }
        previous = instructions;
    }

    defmt::info!("edgerank firmware done");
    ok
}

/// `n` iterations of an add that the optimizer cannot remove.
#[inline(never)]
fn trivial_loop(n: u32) -> u32 {
    let mut acc = 0u32;
    for i in 0..n {
        acc = black_box(acc.wrapping_add(i));
    }
    acc
}
