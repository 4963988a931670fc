//! Deterministic instruction counts under QEMU.
//!
//! QEMU is not cycle-accurate and DWT.CYCCNT reads 0, but with `-icount shift=0` each
//! guest instruction advances virtual time by 1 ns, and SysTick (clock source = core) counts
//! at the board's core clock, so one SysTick count is a fixed number of instructions (40 on
//! the 25 MHz mps2 boards). This counts instructions of the ISA, not cycles of a real part;
//! the resolution is one SysTick count, so measure whole batches. On real hardware the same
//! counter counts core clock cycles instead.

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// SysTick's counter is 24 bits wide.
const SYST_MASK: u32 = 0x00ff_ffff;

/// SysTick, free-running over its full range.
pub struct InstructionCounter {
    _syst: SYST,
    per_tick: u32,
}

impl InstructionCounter {
    /// Starts SysTick free-running from the core clock; `per_tick` is the number of
    /// instructions (under `-icount shift=0`) per SysTick count.
    pub fn new(mut syst: SYST, per_tick: u32) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(SYST_MASK);
        syst.clear_current();
        syst.enable_counter();
        Self { _syst: syst, per_tick }
    }

    /// Runs `work` and returns its result with the instructions it took. Valid for up to
    /// 2^24 SysTick counts (about 670 million instructions on the mps2 boards).
    pub fn measure<R>(&mut self, work: impl FnOnce() -> R) -> (R, u32) {
        let t0 = SYST::get_current();
        let result = work();
        let t1 = SYST::get_current();
        // SysTick counts down.
        let ticks = t0.wrapping_sub(t1) & SYST_MASK;
        (result, ticks * self.per_tick)
    }
}
