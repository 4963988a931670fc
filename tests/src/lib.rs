//! Helpers shared by edgerank's cross-crate tests and host tools: random rank requests that
//! look like real traffic, the fixed-point vs floating-point parity check, and the client for
//! firmware running in QEMU.

pub mod device;
pub mod parity;
pub mod workload;
