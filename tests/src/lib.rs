//! Helpers shared by edgerank's cross-crate tests and host tools: random rank requests that
//! look like real traffic, and the fixed-point vs floating-point parity check.

pub mod parity;
pub mod workload;
