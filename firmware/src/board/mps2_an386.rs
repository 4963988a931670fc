//! QEMU mps2-an386: Cortex-M4F (ARMv7E-M, DSP instructions, single-precision FPU),
//! built for thumbv7em-none-eabihf.

/// QEMU machine name.
pub const NAME: &str = "mps2-an386";
/// Core and target.
pub const CPU: &str = "Cortex-M4F, thumbv7em-none-eabihf";
