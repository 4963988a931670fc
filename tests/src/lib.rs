//! Helpers shared by edgerank's cross-crate and device tests: the device tests' mirror of the
//! firmware and their traffic. Random requests ([`workload`]), the fixed-point vs
//! floating-point parity check ([`parity`]) and the QEMU client live in the simulator crate
//! (`edgerank_sim`) and are re-exported here.

pub mod device;
pub use edgerank_sim::{parity, workload};
