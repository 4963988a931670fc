//! edgerank build tasks: `cargo xtask <task>` (the alias is in .cargo/config.toml).
//! `cargo xtask ci` runs every test; the other tasks are its steps.

mod ci;
mod firmware;
mod qemu;
mod setup;
mod thumb;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "edgerank build tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the thumb toolchain, QEMU and defmt-print (Debian 12; skips what is present).
    Setup,
    /// Build edgerank-core for thumbv6m-none-eabi and thumbv7em-none-eabihf.
    ThumbCheck,
    /// Build the firmware for each QEMU board and print its size.
    Firmware,
    /// Run each built firmware in QEMU and check its exit status and log.
    QemuSmoke,
    /// Run every check: setup, fmt, clippy, test, thumb-check, firmware, qemu-smoke.
    Ci,
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Setup => setup::setup(),
        Task::ThumbCheck => thumb::thumb_check(),
        Task::Firmware => firmware::firmware(),
        Task::QemuSmoke => qemu::qemu_smoke(),
        Task::Ci => ci::ci(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
