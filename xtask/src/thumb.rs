//! Building for Cortex-M with Debian's Rust 1.96 (`rustc-web`, `cargo-web`, `rust-web-src`):
//! rustup cannot add thumb targets on our machines, so `core` is built from source with
//! `-Z build-std=core`, which the stable compiler accepts under `RUSTC_BOOTSTRAP=1`.

use std::path::Path;
use std::process::Command;

use crate::util::{root, run, say, Result};

pub const DEBIAN_CARGO: &str = "/usr/bin/cargo";
pub const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// `/usr/bin/cargo` set up to use `/usr/bin/rustc`, run in `dir`.
///
/// `~/.cargo/bin` (rustup) comes first on PATH, so both are called by full path, and the
/// rustup variables inherited from `cargo xtask` are dropped.
pub fn debian_cargo(dir: &Path) -> Command {
    let mut cmd = Command::new(DEBIAN_CARGO);
    cmd.current_dir(dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTC", DEBIAN_RUSTC)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

/// The no_std core builds for both ISAs we ship: ARMv6-M (no FPU, no atomics CAS) and
/// ARMv7E-M with FPU; the second one also checks the `defmt` derives.
const CORE_BUILDS: &[(&str, &[&str])] =
    &[("thumbv6m-none-eabi", &[]), ("thumbv7em-none-eabihf", &["--features", "defmt"])];

pub fn thumb_check() -> Result {
    let root = root();
    for (target, extra) in CORE_BUILDS {
        say(format!("building edgerank-core for {target} {}", extra.join(" ")).trim_end());
        run(debian_cargo(&root)
            .args(["build", "--release", "-p", "edgerank-core", "-Z", "build-std=core"])
            .args(["--target", target, "--target-dir", "target/thumb"])
            .args(*extra))?;
    }
    Ok(())
}
