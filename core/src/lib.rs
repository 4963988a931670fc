//! edgerank-core: on-device feed ranking.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod input;
pub mod model;
pub mod num;
pub mod pipeline;
pub mod profile;
#[cfg(feature = "reference")]
pub mod reference;
pub mod state;
pub mod wire;

mod util;
