//! The protocol firmware for the QEMU mps2 boards: boots, then answers edgerank wire
//! requests on UART0 forever (see `edgerank_device::server` for what each request does).
//!
//! Static memory holds the model, profile and user state ([`Device`]) and the link's buffer
//! ([`Link`]; the flash store reads and writes through it too); there is no heap. The stack is painted at boot, and each `Stats`
//! request logs its high-water mark.

#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use edgerank_core::model::Model;
use edgerank_core::profile::Profile;
use edgerank_core::state::UserState;
use edgerank_device::link::Link;
use edgerank_device::persist::{RamFlash, Store};
use edgerank_device::stack::StackProbe;
use edgerank_device::{boot, Device, Server, MAX_CANDIDATES, MAX_K};
use edgerank_firmware::board;
use edgerank_firmware::uart::CmsdkUart;

/// Bytes of the store region (memory.x: 8 pages of 4 KiB).
const STORE_BYTES: u32 = 32 * 1024;

/// Stack bytes painted for the high-water mark: far above what the firmware needs.
const STACK_WINDOW: usize = 64 * 1024;

#[entry]
fn main() -> ! {
    let stack = StackProbe::paint(STACK_WINDOW);
    let boots = boot::count_boot();
    defmt::info!("edgerank firmware booted on {=str} ({=str}), boot {=u32}", board::NAME, board::CPU, boots);

    let (device, link, store) = init(boots);
    defmt::info!(
        "serving on UART0: model {=u32}, profile {=str}, up to {=usize} candidates, k <= {=usize}",
        device.model.model_id,
        device.profile.config().name.as_str(),
        MAX_CANDIDATES,
        MAX_K
    );
    Server::new(device, link, Some(stack)).with_store(store).run()
}

/// Puts the device state, the link and the persistent store in static memory, and restores
/// what the store kept from before a warm reset. Out of line, so that the temporaries of
/// building them leave the stack before serving starts; each step is out of line too, so
/// that their temporaries (a whole `Device`, `Link` or `Store` each, built and then moved into
/// its static) overlap on the stack instead of adding up.
#[inline(never)]
fn init(boots: u32) -> (&'static mut Device, &'static mut Link<CmsdkUart>, &'static mut Store<RamFlash>) {
    let device = init_device();
    let link = init_link(boots);
    let store = init_store();
    restore(device, store, link);
    (device, link, store)
}

/// The device state, built field by field in its static. (`Device::boot()` returns 4.7 KB by
/// value; built as a temporary and then moved, it made the boot the deepest point of the
/// firmware's stack.)
#[inline(never)]
fn init_device() -> &'static mut Device {
    static mut DEVICE: (MaybeUninit<Device>, bool) = (MaybeUninit::uninit(), false);
    // SAFETY: nothing else refers to DEVICE (it is local to this function), the flag makes a
    // second call panic instead of aliasing the first one's reference, and every field of
    // `Device` is written before `assume_init_mut` (`device_fields` fails to compile if a
    // field is added).
    unsafe {
        let slot = &mut *addr_of_mut!(DEVICE);
        assert!(!slot.1, "first and only call");
        slot.1 = true;
        let device = slot.0.as_mut_ptr();
        addr_of_mut!((*device).model).write(Model::default());
        addr_of_mut!((*device).user).write(UserState::new());
        // Compiled in its place (a compiled profile returned by value is 1.5 KB of stack).
        Device::boot_profile_in(&mut *addr_of_mut!((*device).profile).cast::<MaybeUninit<Profile>>());
        slot.0.assume_init_mut()
    }
}

/// The fields `init_device` writes: all of them (this stops compiling if one is added).
#[allow(dead_code)]
fn device_fields(device: Device) {
    let Device { model: _, profile: _, user: _ } = device;
}

#[inline(never)]
fn init_link(boots: u32) -> &'static mut Link<CmsdkUart> {
    // SAFETY: the only use of UART0.
    let uart = unsafe { board::uart0() };
    cortex_m::singleton!(: Link<CmsdkUart> = Link::new(uart, boots)).expect("first and only call")
}

#[inline(never)]
fn init_store() -> &'static mut Store<RamFlash> {
    // SAFETY: the only use of the store's region.
    let flash = unsafe { board::store_flash() };
    match Store::new(flash, 0..STORE_BYTES) {
        Ok(store) => cortex_m::singleton!(: Store<RamFlash> = store).expect("first and only call"),
        Err(e) => defmt::panic!("store region unusable: {}", e),
    }
}

#[inline(never)]
fn restore(device: &mut Device, store: &mut Store<RamFlash>, link: &mut Link<CmsdkUart>) {
    // The store reads through the link's buffer: no frame has been read yet.
    device.restore_from(store, link.buffer());
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("hard fault at pc {=u32:#010x}", frame.pc());
    board::exit(false)
}
