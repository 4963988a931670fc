//! A boot counter that survives warm resets.
//!
//! The board's memory.x defines `_boot_record`: 16 bytes of RAM outside every output section
//! and above the stack, which neither the startup code nor a debugger's or QEMU's loader
//! writes. A reset that keeps RAM powered (a watchdog, `SYSRESETREQ`, a fault handler that
//! resets) leaves it intact, so the count goes up; at power-on RAM holds garbage, the magic
//! does not match, and counting starts again at 1.

use core::ptr;

const MAGIC: u32 = 0xB007_C0DE;

extern "C" {
    /// Defined by the board's memory.x.
    static mut _boot_record: [u32; 4];
}

/// Counts this boot; returns the number of boots since power-on (1 for the first).
pub fn count_boot() -> u32 {
    // SAFETY: the record is reserved for this function by the linker script, word-aligned,
    // and nothing else runs yet.
    unsafe {
        let p = ptr::addr_of_mut!(_boot_record) as *mut u32;
        let magic = ptr::read_volatile(p);
        let count = ptr::read_volatile(p.add(1));
        let check = ptr::read_volatile(p.add(2));
        let boots = if magic == MAGIC && check == !count { count.wrapping_add(1) } else { 1 };
        ptr::write_volatile(p, MAGIC);
        ptr::write_volatile(p.add(1), boots);
        ptr::write_volatile(p.add(2), !boots);
        boots
    }
}
