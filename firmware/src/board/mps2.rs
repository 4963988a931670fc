//! What the QEMU mps2 boards share.

use cortex_m_semihosting::debug;

use crate::uart::{CmsdkUart, Irq};

/// SysTick (clock source = core) counts at 25 MHz on the mps2 boards; with QEMU's
/// `-icount shift=0` (1 ns per instruction) one count is 40 instructions.
pub const INSTRUCTIONS_PER_SYSTICK: u32 = 1_000_000_000 / 25_000_000;

/// The APB peripheral clock of the UARTs.
pub const PCLK_HZ: u32 = 25_000_000;
/// UART0's register block (CMSDK APB UART), the one QEMU's first `-serial` connects.
pub const UART0_BASE: usize = 0x4000_4000;
/// UART0's receive interrupt (its transmit interrupt is 1).
pub const UART0_RX_IRQ: Irq = Irq(0);
/// CMSDK APB timer 0.
const TIMER0_BASE: usize = 0x4000_0000;
/// Line rate programmed into UART0 (QEMU passes bytes at socket speed whatever the divider).
pub const BAUD: u32 = 115_200;

/// UART0, 8N1 at [`BAUD`], with APB timer 0 free-running at 1 kHz (see below).
///
/// The timer works around QEMU (7.2): its CMSDK UART model takes a byte from the host only
/// while the receive buffer is empty, and does not tell QEMU's main loop when the guest
/// empties it, so the main loop would notice only at its next timer event, or after its
/// 1-second poll timeout when there is none; a link then stalls for a second now and then. A
/// running timer (its interrupt stays off) gives the main loop an event every millisecond.
/// On hardware it is just an idle timer.
///
/// # Safety
/// Call once: the value owns UART0 and timer 0; the firmware must not use interrupt
/// handlers (see [`CmsdkUart::new`]).
pub unsafe fn uart0() -> CmsdkUart {
    const RELOAD: usize = 0x08;
    const VALUE: usize = 0x04;
    const CTRL: usize = 0x00;
    let ticks_per_ms = PCLK_HZ / 1_000;
    core::ptr::write_volatile((TIMER0_BASE + RELOAD) as *mut u32, ticks_per_ms);
    core::ptr::write_volatile((TIMER0_BASE + VALUE) as *mut u32, ticks_per_ms);
    core::ptr::write_volatile((TIMER0_BASE + CTRL) as *mut u32, 1);
    CmsdkUart::new(UART0_BASE, UART0_RX_IRQ, PCLK_HZ, BAUD)
}

/// Ends the QEMU run; QEMU's exit status follows `ok`.
pub fn exit(ok: bool) -> ! {
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    // Only reached without a semihosting host (e.g. on real hardware without a debugger).
    loop {
        cortex_m::asm::wfi();
    }
}

extern "C" {
    /// The RAM region memory.x reserves for the persistent store (survives warm resets).
    static mut _store_start: u8;
    static mut _store_end: u8;
}

/// The persistent store's flash: the reserved RAM region as NOR flash (see memory.x).
///
/// # Safety
/// Call once: the value owns the region.
pub unsafe fn store_flash() -> edgerank_device::persist::RamFlash {
    let start = core::ptr::addr_of_mut!(_store_start);
    let len = core::ptr::addr_of_mut!(_store_end) as usize - start as usize;
    edgerank_device::persist::RamFlash::new(start, len)
}

/// External interrupts of the mps2 boards (QEMU's mps2 machines give the NVIC 32 lines).
pub const IRQS: usize = 32;

/// The interrupt part of the vector table: one entry per external interrupt of the board, each
/// the default handler (the firmware runs no interrupt handler: UART0's receive interrupt
/// only wakes the core from WFI, with interrupts masked; see [`crate::uart`]). cortex-m-rt's
/// table for a board it does not know has 240 entries on ARMv7-M (960 bytes, 832 more than
/// these boards have lines for); with its `device` feature the board provides this one, and
/// build.rs the (empty) `device.x` its linker script includes.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
pub static __INTERRUPTS: [unsafe extern "C" fn(); IRQS] = [DefaultHandler; IRQS];

extern "C" {
    /// cortex-m-rt's default handler (`DefaultHandler_` unless the firmware defines one).
    fn DefaultHandler();
}
