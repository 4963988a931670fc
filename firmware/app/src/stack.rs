//! Stack high-water mark: paint the free stack with a pattern at boot, later find the lowest
//! word that no longer holds it.
//!
//! cortex-m-rt places the stack at the top of RAM, growing down from `_stack_start` towards
//! `_stack_end` (the end of the statics). Painting is bounded by a window so that boards with
//! megabytes of RAM (QEMU) do not spend time painting memory no firmware will reach.

use core::ptr;

/// The pattern. Any value a program rarely stores works; a false "unused" reading needs the
/// program to have written exactly this word at the deepest point it reached.
const PAINT: u32 = 0x5EED_C0DE;

extern "C" {
    /// Top of the stack (highest address + 1), from cortex-m-rt's link.x.
    static _stack_start: u32;
    /// Lowest address the stack may reach, from cortex-m-rt's link.x.
    static _stack_end: u32;
}

/// A painted stack region.
pub struct StackProbe {
    /// Lowest painted word.
    lo: usize,
    /// One past the highest painted word.
    hi: usize,
    /// Top of the stack.
    top: usize,
}

impl StackProbe {
    /// Paints at most `window` bytes of free stack below the current stack pointer.
    ///
    /// Call it early in `main`, before anything deep runs, with no interrupt handlers
    /// enabled. Memory below the stack pointer is unused by definition, so painting it is
    /// safe; it reads the linker's stack bounds.
    pub fn paint(window: usize) -> Self {
        // Only the symbols' addresses are taken, never their values.
        let (top, end) = (ptr::addr_of!(_stack_start) as usize, ptr::addr_of!(_stack_end) as usize);
        let sp = cortex_m::register::msp::read() as usize;
        // Leave a little room under the stack pointer for this function's own spills.
        let hi = (sp - 64) & !3;
        let lo = (hi.saturating_sub(window).max(end) + 3) & !3;
        let mut p = lo;
        while p < hi {
            // SAFETY: [lo, hi) is inside the stack region and below the stack pointer, so
            // nothing lives there; the writes are aligned.
            unsafe { ptr::write_volatile(p as *mut u32, PAINT) };
            p += 4;
        }
        Self { lo, hi, top }
    }

    /// Deepest stack use so far, in bytes below the top of the stack.
    pub fn peak(&self) -> u32 {
        let mut p = self.lo;
        // SAFETY: reads of painted, aligned words inside the stack region.
        while p < self.hi && unsafe { ptr::read_volatile(p as *const u32) } == PAINT {
            p += 4;
        }
        (self.top - p) as u32
    }

    /// Bytes the probe can measure: beyond this the peak reads as saturated.
    pub fn capacity(&self) -> u32 {
        (self.top - self.lo) as u32
    }

    /// Whether the deepest painted word was overwritten, so the real peak may be larger.
    pub fn saturated(&self) -> bool {
        // SAFETY: as in `peak`.
        self.lo < self.hi && unsafe { ptr::read_volatile(self.lo as *const u32) } != PAINT
    }
}
