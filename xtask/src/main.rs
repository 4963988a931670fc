//! edgerank build tasks: `cargo xtask <task>` (the alias is in .cargo/config.toml).
//! `cargo xtask ci` runs every test; the other tasks are its steps.

mod bench;
mod ci;
mod firmware;
mod fuzz;
mod nopanic;
mod perf;
mod profile;
mod qemu;
mod setup;
mod soak;
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
    /// Build every firmware (QEMU boards: protocol + benchmark; nRF52840-DK: protocol, build
    /// only) and print the sizes.
    Firmware,
    /// Boot each QEMU board's benchmark firmware and check its exit status and log.
    QemuSmoke,
    /// Build the firmware and run the protocol firmware's tests in QEMU on both boards.
    QemuTest,
    /// Instruction counts per candidate (fixed point and f32; QEMU -icount: instructions, not
    /// cycles), sizes and stack peak (cold boot, and warm boot restoring a stored user state)
    /// per target and batch size, as JSON lines (also written to target/device-bench.jsonl).
    /// Fails when a figure exceeds benches/device-budget.json by more than 2 %.
    DeviceBench {
        /// Rewrite benches/device-budget.json from the measured figures instead of checking.
        #[arg(long)]
        update_budget: bool,
    },
    /// Where one device rank call's instructions go: the benchmark firmware traced by QEMU,
    /// each executed instruction attributed to its innermost source function.
    DeviceProfile {
        /// QEMU board (mps2-an386: Cortex-M4F; mps2-an385: Cortex-M0+ code).
        #[arg(long, default_value = "mps2-an386")]
        board: String,
        /// Batch size (32, 64, 128 or 256).
        #[arg(long, default_value_t = 256)]
        candidates: u64,
        /// Rows per table.
        #[arg(long, default_value_t = 30)]
        top: usize,
    },
    /// Run the criterion benchmarks and the device benchmark; write docs/perf-report.md and
    /// docs/perf-cost-per-candidate.svg.
    PerfReport {
        /// Only rebuild the report from the last runs' results.
        #[arg(long)]
        skip_runs: bool,
    },
    /// Build the libFuzzer targets (fuzz/) and run each for a while, from its seed corpus.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Targets to run (default: all).
        targets: Vec<String>,
    },
    /// Panic paths left in the protocol firmware: a build whose panic handler cannot link, and
    /// a census of panic call sites per function and crate (target/no-panic.txt).
    NoPanic,
    /// Power cuts at every flash write and erase step of the firmware's persistent store (host).
    PowerCut,
    /// The firmware in QEMU keeps user state, model and profile across warm resets.
    QemuPersist,
    /// The long runs: a host soak of the core, then the protocol firmware in QEMU receiving
    /// valid requests mixed with noise, every answer checked against the host core.
    Soak {
        /// Frames to send the firmware (0: host soak only).
        #[arg(long, default_value_t = 100_000)]
        frames: u64,
        /// QEMU boards (mps2-an386, mps2-an385).
        #[arg(long = "board", default_values_t = [String::from("mps2-an386")])]
        boards: Vec<String>,
        /// Rank calls of the host soak.
        #[arg(long, default_value_t = 200_000)]
        host_rounds: u64,
    },
    /// Run every check: setup, fmt, clippy, test, fuzz (30 s per target), power-cut, thumb-check,
    /// firmware, no-panic, qemu-test, qemu-persist, device-bench, device-profile.
    Ci,
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Setup => setup::setup(),
        Task::ThumbCheck => thumb::thumb_check(),
        Task::Firmware => firmware::firmware(),
        Task::QemuSmoke => qemu::qemu_smoke(),
        Task::QemuTest => qemu::qemu_test(),
        Task::DeviceBench { update_budget } => bench::device_bench(update_budget),
        Task::DeviceProfile { board, candidates, top } => profile::device_profile(&board, candidates, top),
        Task::PerfReport { skip_runs } => perf::perf_report(skip_runs),
        Task::Fuzz { seconds, targets } => fuzz::fuzz(seconds, &targets),
        Task::NoPanic => nopanic::no_panic(),
        Task::PowerCut => soak::power_cut(),
        Task::QemuPersist => soak::qemu_persist(),
        Task::Soak { frames, boards, host_rounds } => soak::soak(frames, &boards, host_rounds),
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
