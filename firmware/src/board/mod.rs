//! Board support. Exactly one board is compiled in, chosen by build.rs as
//! `cfg(board = "...")` (from the board feature or the target); each board module provides
//! `NAME`, `CPU` and `INSTRUCTIONS_PER_SYSTICK`. The rest of the firmware only uses this
//! module's items, so it stays board-agnostic.

#[cfg(board = "mps2_an385")]
mod mps2_an385;
#[cfg(board = "mps2_an385")]
pub use mps2_an385::*;

#[cfg(board = "mps2_an386")]
mod mps2_an386;
#[cfg(board = "mps2_an386")]
pub use mps2_an386::*;

mod mps2;

pub use mps2::exit;
