//! `cargo xtask setup`: installs the thumb toolchain, QEMU, defmt-print and cargo-fuzz on
//! Debian 12.
//! Safe to run repeatedly: each part is skipped when it is already present.

use std::process::Command;

use crate::util::{self, capture, find_cargo_binary, run, say, Result};

/// Debian's Rust 1.96 with its library source (for `-Z build-std=core`), the LLD linker,
/// QEMU for the mps2 boards, the ARM binutils (for `arm-none-eabi-size`, `objdump` and
/// `addr2line`), and a C++ compiler (cargo-fuzz builds libFuzzer from source).
pub const APT_PACKAGES: &[&str] =
    &["rustc-web", "cargo-web", "rust-web-src", "lld-22", "qemu-system-arm", "gcc-arm-none-eabi", "g++"];

pub fn setup() -> Result {
    apt_packages()?;
    defmt_print()?;
    cargo_fuzz()
}

fn apt_packages() -> Result {
    let missing: Vec<&str> = APT_PACKAGES.iter().copied().filter(|pkg| !dpkg_installed(pkg)).collect();
    if missing.is_empty() {
        say(format!("apt packages already installed: {}", APT_PACKAGES.join(" ")));
        return Ok(());
    }
    say(format!("installing apt packages (missing: {})", missing.join(" ")));
    run(apt_get().arg("update"))?;
    run(apt_get().args(["install", "-y", "--no-install-recommends"]).args(APT_PACKAGES))
}

/// True when dpkg reports `pkg` as fully installed.
fn dpkg_installed(pkg: &str) -> bool {
    capture(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
        .is_ok_and(|status| status.trim() == "install ok installed")
}

/// `apt-get`, noninteractive, through `sudo` when we are not root (`-n`: fail rather than
/// wait for a password; `env`: sudo's default `env_reset` would drop `DEBIAN_FRONTEND`).
fn apt_get() -> Command {
    let is_root = capture(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    if is_root {
        let mut cmd = Command::new("apt-get");
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        sudo
    }
}

/// Versions of the cargo-installed tools: defmt-print must decode the firmware's defmt
/// format (1.2.0 reads versions 3 and 4; the firmware's defmt 1.2 writes 4, its `_defmt_version_`), so a fresh
/// machine gets the version CI has run with, not whatever is newest.
pub const DEFMT_PRINT_VERSION: &str = "1.2.0";
/// See [`DEFMT_PRINT_VERSION`].
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Whether `path --version` names `version` (an older tool may not read today's formats).
fn has_version(path: &std::path::Path, version: &str) -> bool {
    capture(Command::new(path).arg("--version")).is_ok_and(|out| out.split_whitespace().any(|w| w == version))
}

fn defmt_print() -> Result {
    if let Some(path) = find_cargo_binary("defmt-print").filter(|p| has_version(p, DEFMT_PRINT_VERSION)) {
        say(format!("defmt-print {DEFMT_PRINT_VERSION} already installed: {}", path.display()));
        return Ok(());
    }
    say("installing defmt-print (cargo install, 1-3 minutes)");
    run(util::cargo().args(["install", "defmt-print", "--version", DEFMT_PRINT_VERSION, "--locked"]))
}

fn cargo_fuzz() -> Result {
    if let Some(path) = find_cargo_binary("cargo-fuzz").filter(|p| has_version(p, CARGO_FUZZ_VERSION)) {
        say(format!("cargo-fuzz {CARGO_FUZZ_VERSION} already installed: {}", path.display()));
        return Ok(());
    }
    say("installing cargo-fuzz (cargo install, 1-3 minutes)");
    run(util::cargo().args(["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked"]))
}
