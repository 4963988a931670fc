//! QEMU mps2-an386: Cortex-M4F (ARMv7E-M, DSP instructions, single-precision FPU),
//! built for thumbv7em-none-eabihf.

pub use super::mps2::INSTRUCTIONS_PER_SYSTICK;

pub const NAME: &str = "mps2-an386";
pub const CPU: &str = "Cortex-M4F, thumbv7em-none-eabihf";
