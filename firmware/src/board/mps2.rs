//! What the QEMU mps2 boards share.

use cortex_m_semihosting::debug;

/// SysTick (clock source = core) counts at 25 MHz on the mps2 boards; with QEMU's
/// `-icount shift=0` (1 ns per instruction) one count is 40 instructions.
pub const INSTRUCTIONS_PER_SYSTICK: u32 = 1_000_000_000 / 25_000_000;

/// Ends the QEMU run; QEMU's exit status follows `ok`.
pub fn exit(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached without a semihosting host (e.g. on real hardware without a debugger).
    loop {
        cortex_m::asm::wfi();
    }
}
