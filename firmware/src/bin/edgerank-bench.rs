//! The benchmark firmware for the QEMU mps2 boards: checks the instruction counter, ranks a
//! fixed pseudo-random batch of 32, 64, 128 and 256 candidates to the top 32 with the
//! fixed-point pipeline and with the f32 reference, logs the instruction counts and the stack
//! high-water mark, and exits (run under `-icount shift=0`: see
//! `edgerank_device::counter`). `cargo xtask device-bench` runs it and parses the log.

#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr::addr_of_mut;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use edgerank_core::model::Model;
use edgerank_core::profile::Profile;
use edgerank_core::reference::FloatModel;
use edgerank_device::bench::{self, Workload, K, SIZES};
use edgerank_device::counter::InstructionCounter;
use edgerank_device::stack::StackProbe;
use edgerank_firmware::board;

const STACK_WINDOW: usize = 64 * 1024;
const SEED: u32 = 0xED6E_2A4C;

/// The batch and the reference's scratch (all zero until generated, so in .bss).
static mut WORKLOAD: Workload = Workload::new();

#[entry]
fn main() -> ! {
    let stack = StackProbe::paint(STACK_WINDOW);
    defmt::info!("edgerank firmware booted on {=str} ({=str})", board::NAME, board::CPU);
    let cp = cortex_m::Peripherals::take().expect("peripherals are taken once, here");
    let mut counter = InstructionCounter::new(cp.SYST, board::INSTRUCTIONS_PER_SYSTICK);
    let mut ok = counter_grows(&mut counter);
    // The device's dot product must give the portable code's value (pages are then the
    // host's): edge cases and pseudo-random vectors, before anything is counted.
    let dot_agrees = edgerank_device::dsp::agrees_with_portable(SEED, 4_000);
    defmt::info!("dot product agrees with the portable code: {=bool}", dot_agrees);
    if !dot_agrees {
        defmt::error!("the device's dot product differs from the portable code");
    }
    ok &= dot_agrees;

    // SAFETY: the only reference to WORKLOAD, taken once.
    let workload = unsafe { &mut *addr_of_mut!(WORKLOAD) };
    workload.generate(SEED);
    let model = Model::default();
    let profile = match Profile::compile(bench::PROFILE.config()) {
        Ok(p) => p,
        Err(e) => defmt::panic!("built-in profile does not compile: {}", e),
    };
    let user = bench::user(SEED);
    // The f32 ranker keeps its model in floats, converted once (as the fixed-point model is
    // built once).
    let float_model = FloatModel::<f32>::new(&model);
    for n in SIZES {
        let m = bench::measure(&mut counter, workload, &model, &float_model, &profile, &user, n);
        defmt::info!(
            "device-bench n={=u32} k={=usize} fixed={=u32} f32={=u32} fixed_items={=u32} f32_items={=u32} same_items={=u32} profile={=str}",
            m.n,
            K,
            m.fixed,
            m.f32,
            m.fixed_items,
            m.f32_items,
            m.same_items,
            bench::PROFILE.name()
        );
        ok &= m.fixed > 0 && m.f32 > 0 && m.fixed_items > 0;
    }
    defmt::info!("device-bench stack_peak={=u32} saturated={=bool}", stack.peak(), stack.saturated());
    defmt::info!("edgerank firmware done");
    board::exit(ok)
}

/// The counter must run, and twice the work must cost more.
fn counter_grows(counter: &mut InstructionCounter) -> bool {
    let mut previous = 0;
    for n in [1_000, 2_000] {
        let (_, instructions) = counter.measure(|| trivial_loop(black_box(n)));
        defmt::info!("trivial loop x{=u32}: {=u32} instructions", n, instructions);
        if instructions <= previous {
            defmt::error!("instruction count did not grow: {=u32} after {=u32}", instructions, previous);
            return false;
        }
        previous = instructions;
    }
    true
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

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("hard fault at pc {=u32:#010x}", frame.pc());
    board::exit(false)
}
