//! Long runs and fault injection:
//!
//! - `cargo xtask power-cut` (a `ci` step, about a minute): the firmware's persistent store
//!   under a power cut at every flash write and erase step of 60 saves
//!   (`firmware/app/tests/power_cut.rs`, on the host).
//! - `cargo xtask qemu-persist` (a `ci` step, seconds): the firmware in QEMU keeps its user
//!   state, model and profile across monitor `system_reset`s (`tests/tests/qemu_persist.rs`).
//! - `cargo xtask soak [--frames N] [--board B] [--host-rounds N]`: the host soak of the core
//!   (`fuzz/examples/soak.rs`: random rank calls, feedback, blob loads and corrupted frames,
//!   every answer checked), then the protocol firmware in QEMU receiving N frames (default
//!   100,000) of valid requests mixed with noise, every answer byte-identical to the host
//!   core's and no reset (`tests/tests/qemu_soak.rs`; about 15 minutes per board).

use crate::firmware;
use crate::util::{cargo, root, run, say, Result};

/// The power-cut tests of the persistent store (host build of `edgerank-device`, without
/// defmt).
pub fn power_cut() -> Result {
    say("power cuts at every flash step of the persistent store (host)");
    run(cargo().current_dir(root()).args([
        "test",
        "--manifest-path",
        "firmware/app/Cargo.toml",
        "--no-default-features",
        "--release",
        "--test",
        "power_cut",
        "--",
        "--nocapture",
    ]))
}

/// The QEMU persistence test (`tests/tests/qemu_persist.rs`): user state, model and profile
/// survive warm resets on both boards. Needs the firmware built (`cargo xtask firmware`).
pub fn qemu_persist() -> Result {
    firmware::build()?;
    say("persistence across warm resets in QEMU");
    run(cargo().current_dir(root()).args(["test", "-p", "edgerank-tests", "--test", "qemu_persist", "--"]).args([
        "--ignored",
        "--nocapture",
        "--test-threads",
        "1",
    ]))
}

/// The host soak, then the QEMU soak on `boards` (QEMU machine names).
pub fn soak(frames: u64, boards: &[String], host_rounds: u64) -> Result {
    say(format!("host soak of the core: {host_rounds} rank calls with every answer checked"));
    run(cargo()
        .current_dir(root().join("fuzz"))
        .args(["run", "--release", "--example", "soak", "--"])
        .args([host_rounds.to_string()]))?;
    if frames == 0 {
        return Ok(());
    }
    // An unknown board would name no test, and libtest passes a run of 0 tests.
    if let Some(unknown) = boards.iter().find(|b| !firmware::BOARDS.iter().any(|known| known.name == b.as_str())) {
        let known: Vec<&str> = firmware::BOARDS.iter().map(|b| b.name).collect();
        return Err(format!("unknown board {unknown:?}; known: {}", known.join(", ")));
    }
    firmware::build()?;
    for board in boards {
        let test = format!("soak_{}", board.replace('-', "_"));
        say(format!("QEMU soak on {board}: {frames} frames"));
        run(cargo()
            .current_dir(root())
            .env("EDGERANK_SOAK_FRAMES", frames.to_string())
            .args(["test", "-p", "edgerank-tests", "--test", "qemu_soak", "--"])
            .args(["--ignored", "--nocapture", "--exact", &test]))?;
    }
    Ok(())
}
