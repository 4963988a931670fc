//! Helpers shared by edgerank cross-crate and device tests.
