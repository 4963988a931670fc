//! edgerank's protocol firmware on the Nordic nRF52840-DK: the same board-agnostic server as
//! the QEMU boards (`edgerank_device::server`), on UART0 through the DK's USB virtual COM port
//! (115200 8N1, RTS/CTS), logging with defmt over RTT.
//!
//! Status: builds (`cargo xtask firmware`); it has NOT been run on hardware. Flash and run
//! with probe-rs from this directory: `cargo run --release` (see .cargo/config.toml).

#![no_std]
#![no_main]

mod nvmc;
mod uart;

use cortex_m_rt::entry;
use defmt_rtt as _;
use edgerank_device::link::Link;
use edgerank_device::persist::Store;
use edgerank_device::stack::StackProbe;
use edgerank_device::{boot, Device, Server, MAX_CANDIDATES, MAX_K};
// Logs the panic over defmt, then stops the core where probe-rs sees it.
use panic_probe as _;

use nvmc::Nvmc;
use uart::Uart0;

extern "C" {
    /// The flash window memory.x keeps out of the image for the persistent store.
    static _store_start: u8;
    static _store_end: u8;
}

/// Stack bytes painted for the high-water mark.
const STACK_WINDOW: usize = 64 * 1024;

#[entry]
fn main() -> ! {
    let stack = StackProbe::paint(STACK_WINDOW);
    let boots = boot::count_boot();
    defmt::info!("edgerank firmware booted on nrf52840-dk (Cortex-M4F, thumbv7em-none-eabihf), boot {=u32}", boots);

    let (device, link, store) = init(boots);
    defmt::info!(
        "serving on UART0 (VCOM): model {=u32}, profile {=str}, up to {=usize} candidates, k <= {=usize}",
        device.model.model_id,
        device.profile.config().name.as_str(),
        MAX_CANDIDATES,
        MAX_K
    );
    Server::new(device, link, Some(stack)).with_store(store).run()
}

/// Puts the device state, the link and the persistent store in static memory, and restores
/// what the store kept. Out of line, so that the temporaries of building them leave the stack
/// before serving starts.
#[inline(never)]
fn init(boots: u32) -> (&'static mut Device, &'static mut Link<Uart0>, &'static mut Store<Nvmc>) {
    // SAFETY: the only use of UART0 and its pins.
    let uart = unsafe { Uart0::new() };
    let device = cortex_m::singleton!(: Device = Device::boot()).expect("first and only call");
    let link = cortex_m::singleton!(: Link<Uart0> = Link::new(uart, boots)).expect("first and only call");
    // Only the symbols' addresses are used.
    let (start, end) = (core::ptr::addr_of!(_store_start) as usize, core::ptr::addr_of!(_store_end) as usize);
    // SAFETY: memory.x keeps this window out of the image; nothing else drives the NVMC.
    let flash = unsafe { Nvmc::new(start, end - start) };
    let store = match Store::new(flash, 0..(end - start) as u32) {
        Ok(store) => cortex_m::singleton!(: Store<Nvmc> = store).expect("first and only call"),
        Err(e) => defmt::panic!("store region unusable: {}", e),
    };
    // The store reads through the link's buffer: no frame has been read yet.
    device.restore_from(store, link.buffer());
    (device, link, store)
}
