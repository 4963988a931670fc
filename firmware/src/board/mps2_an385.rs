//! QEMU mps2-an385: Cortex-M3, running thumbv6m-none-eabi code so that the firmware is
//! measured on the smallest ISA we support (Cortex-M0/M0+ class).

/// QEMU machine name.
pub const NAME: &str = "mps2-an385";
/// Core and target.
pub const CPU: &str = "Cortex-M3, thumbv6m-none-eabi";
