//! Board support for the QEMU mps2 boards (mps2-an386: Cortex-M4F; mps2-an385: Cortex-M3
//! running ARMv6-M code), shared by the two binaries: `edgerank-firmware` (the protocol
//! server, `src/main.rs`) and `edgerank-bench` (the benchmark, `src/bin/edgerank-bench.rs`).
//! Everything board-agnostic is in `edgerank-device` (`app/`).
//!
//! Also here: the defmt logger (semihosting: QEMU writes it to its stdout) and the panic
//! handler, which logs and ends QEMU with a failure status so that a test sees it.

#![no_std]

pub mod board;
pub mod uart;

use core::sync::atomic::{AtomicBool, Ordering};

// The defmt global logger, over semihosting.
use defmt_semihosting as _;

/// Logs the panic (once: a panic inside the logger must not recurse) and exits with failure.
#[cfg(not(feature = "panic-never"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    static PANICKED: AtomicBool = AtomicBool::new(false);
    // load + store, not swap: ARMv6-M has no atomic read-modify-write (and no interrupts
    // run here that could race).
    if !PANICKED.load(Ordering::Relaxed) {
        PANICKED.store(true, Ordering::Relaxed);
        defmt::error!("panic: {}", defmt::Display2Format(info));
    }
    board::exit(false)
}

/// The proof build (`cargo xtask no-panic`): the handler calls a function that exists nowhere,
/// so the firmware links only if the optimiser removed every path to a panic.
#[cfg(feature = "panic-never")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        fn edgerank_panic_path_survived_optimisation() -> !;
    }
    // SAFETY: never linked; see above.
    unsafe { edgerank_panic_path_survived_optimisation() }
}
