//! Board support. Exactly one board is compiled in, chosen by build.rs as
//! `cfg(board = "...")` (from the board feature or the target); each board module provides
//! `NAME` and `CPU`, and both share the mps2 items (UART0, SysTick rate, exit). The rest of
//! the firmware only uses this module's items, so it stays board-agnostic.

#[cfg(board = "mps2_an385")]
mod mps2_an385;
#[cfg(board = "mps2_an385")]
pub use mps2_an385::*;

#[cfg(board = "mps2_an386")]
mod mps2_an386;
#[cfg(board = "mps2_an386")]
pub use mps2_an386::*;

mod mps2;

pub use mps2::{exit, store_flash, uart0, BAUD, INSTRUCTIONS_PER_SYSTICK, PCLK_HZ, UART0_BASE, UART0_RX_IRQ};
