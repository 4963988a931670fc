//! `cargo xtask firmware`: builds `firmware/` for every board and prints its size.

use std::path::PathBuf;
use std::process::Command;

use crate::thumb::debian_cargo;
use crate::util::{root, run, say, Result};

/// A board we build the firmware for and run under QEMU.
pub struct Board {
    /// QEMU machine name; also the firmware's cargo feature that selects the board.
    pub name: &'static str,
    pub target: &'static str,
    pub qemu_cpu: &'static str,
}

pub const BOARDS: &[Board] = &[
    // Cortex-M4F: ARMv7E-M with DSP instructions and a single-precision FPU.
    Board { name: "mps2-an386", target: "thumbv7em-none-eabihf", qemu_cpu: "cortex-m4" },
    // Cortex-M3 runs ARMv6-M code: the smallest ISA we support (Cortex-M0/M0+ class).
    Board { name: "mps2-an385", target: "thumbv6m-none-eabi", qemu_cpu: "cortex-m3" },
];

impl Board {
    pub fn elf(&self) -> PathBuf {
        root().join("firmware/target").join(self.target).join("release/edgerank-firmware")
    }
}

pub fn firmware() -> Result {
    for board in BOARDS {
        say(format!("building firmware for {} ({})", board.name, board.target));
        // build-std and DEFMT_LOG come from firmware/.cargo/config.toml.
        run(debian_cargo(&root().join("firmware"))
            .args(["build", "--release", "--target", board.target])
            .args(["--features", board.name]))?;
    }
    for board in BOARDS {
        say(format!("size of {} firmware", board.name));
        run(Command::new("arm-none-eabi-size").arg(board.elf()))?;
    }
    Ok(())
}
