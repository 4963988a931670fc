//! `cargo xtask firmware`: builds `firmware/` for every board (the QEMU boards' protocol and
//! benchmark firmware, and the real board's protocol firmware) and prints the sizes.

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

/// The protocol firmware (serves requests on UART0).
pub const PROTOCOL_BIN: &str = "edgerank-firmware";
/// The benchmark firmware (ranks a fixed batch, logs instruction counts, exits).
pub const BENCH_BIN: &str = "edgerank-bench";

impl Board {
    /// The release ELF of firmware binary `bin` for this board.
    pub fn elf(&self, bin: &str) -> PathBuf {
        root().join("firmware/target").join(self.target).join("release").join(bin)
    }
}

/// A real board: built here, flashed with probe-rs from its own directory (not run here).
pub struct RealBoard {
    pub name: &'static str,
    /// Its package in the firmware workspace (also the binary's name).
    pub package: &'static str,
    pub target: &'static str,
    /// Its directory (with the probe-rs runner in .cargo/config.toml).
    pub dir: &'static str,
}

pub const REAL_BOARDS: &[RealBoard] = &[RealBoard {
    name: "nrf52840-dk",
    package: "edgerank-nrf52840-dk",
    target: "thumbv7em-none-eabihf",
    dir: "firmware/boards/nrf52840-dk",
}];

impl RealBoard {
    pub fn elf(&self) -> PathBuf {
        root().join("firmware/target").join(self.target).join("release").join(self.package)
    }
}

pub fn firmware() -> Result {
    build()?;
    let mut elves: Vec<PathBuf> = BOARDS.iter().flat_map(|b| [b.elf(PROTOCOL_BIN), b.elf(BENCH_BIN)]).collect();
    elves.extend(REAL_BOARDS.iter().map(RealBoard::elf));
    say("firmware sizes");
    run(Command::new("arm-none-eabi-size").args(&elves))?;
    for board in REAL_BOARDS {
        say(format!(
            "{}: built only; flash with `cargo run --release` in {} (not run on hardware here)",
            board.name, board.dir
        ));
    }
    Ok(())
}

/// Builds every firmware binary (quick when nothing changed).
pub fn build() -> Result {
    for board in BOARDS {
        say(format!("building firmware for {} ({})", board.name, board.target));
        // build-std and DEFMT_LOG come from firmware/.cargo/config.toml.
        run(debian_cargo(&root().join("firmware"))
            .args(["build", "--release", "--target", board.target])
            .args(["--features", board.name]))?;
    }
    for board in REAL_BOARDS {
        say(format!("building firmware for {} ({}, build only)", board.name, board.target));
        run(debian_cargo(&root().join("firmware")).args([
            "build",
            "--release",
            "-p",
            board.package,
            "--target",
            board.target,
        ]))?;
    }
    Ok(())
}
