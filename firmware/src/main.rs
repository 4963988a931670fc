//! edgerank firmware entry point. Board specifics are in `board`, the instruction counter in
//! `measure`, and everything the firmware does in the board-agnostic `app`.

#![no_std]
#![no_main]

mod app;
mod board;
mod measure;

use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m_rt::{entry, exception, ExceptionFrame};
// The defmt global logger (over semihosting) and the ranking core.
use defmt_semihosting as _;
use edgerank_core as _;

#[entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().expect("peripherals are taken once, here");
    let mut counter = measure::InstructionCounter::new(cp.SYST);
    let ok = app::run(&mut counter);
    board::exit(ok)
}

/// Logs the panic (once: a panic inside the logger must not recurse) and exits with failure.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    static PANICKED: AtomicBool = AtomicBool::new(false);
    if !PANICKED.load(Ordering::Relaxed) {
        PANICKED.store(true, Ordering::Relaxed);
        defmt::error!("panic: {}", defmt::Display2Format(info));
    }
    board::exit(false)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("hard fault at pc {=u32:#010x}", frame.pc());
    board::exit(false)
}
