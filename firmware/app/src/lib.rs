//! edgerank on a device, independent of the board: the wire protocol server ([`server`]) over
//! any byte stream with [`embedded_io`] `Read + Write` ([`link`]), and the measurement tools
//! the benchmark firmware uses ([`counter`], [`stack`], [`bench`]).
//!
//! A board crate provides the UART (as `embedded_io::Read + Write`), the defmt transport,
//! the panic handler and the `_boot_record` symbol in its memory.x ([`boot`]), puts a
//! [`server::Device`] and a [`link::Link`] in static memory, and calls
//! [`server::Server::run`]. There is no heap and no allocator: every
//! buffer has a compile-time size (see [`server`] for the capacities).
#![no_std]

pub mod boot;
pub mod link;
mod log;
pub mod persist;
pub mod server;
pub mod stack;

pub use edgerank_device_rank::{bench, counter, dsp};
pub use server::{Device, Server, MAX_CANDIDATES, MAX_K};

/// The core's version, as `Response::Info` reports it (read from the host workspace's
/// manifest by build.rs: the core exports no version constant).
pub const CORE_VERSION: (u8, u8, u8) = (
    parse_u8(env!("EDGERANK_CORE_VERSION_MAJOR")),
    parse_u8(env!("EDGERANK_CORE_VERSION_MINOR")),
    parse_u8(env!("EDGERANK_CORE_VERSION_PATCH")),
);

const fn parse_u8(s: &str) -> u8 {
    let b = s.as_bytes();
    let mut v: u32 = 0;
    let mut i = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version part is not a number");
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    assert!(v <= 255, "version part above 255");
    v as u8
}
