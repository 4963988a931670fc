//! Picks the board: the `mps2-an386` or `mps2-an385` feature, or, with neither, the board
//! that matches the target (thumbv6m -> mps2-an385, otherwise mps2-an386). It copies that
//! board's `memory.x` where cortex-m-rt's `link.x` finds it and sets `cfg(board = "...")`.

use std::{env, fs, path::PathBuf};

const BOARDS: &[&str] = &["mps2-an386", "mps2-an385"];

fn main() {
    let enabled: Vec<&str> = BOARDS.iter().copied().filter(|b| feature_enabled(b)).collect();
    let target = env::var("TARGET").unwrap();
    let board = match enabled[..] {
        [] if target.starts_with("thumbv6m") => "mps2-an385",
        [] => "mps2-an386",
        [one] => one,
        _ => panic!("enable at most one board feature, got {enabled:?}"),
    };

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let memory = format!("boards/{board}/memory.x");
    fs::copy(&memory, out.join("memory.x")).unwrap();
    // cortex-m-rt's `device` feature: its link.x includes device.x, where a device crate names
    // its interrupt handlers. The mps2 boards define none (src/board/mps2.rs, `__INTERRUPTS`).
    fs::write(out.join("device.x"), "/* No interrupt handlers: see src/board/mps2.rs. */\n").unwrap();
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed={memory}");
    println!("cargo::rerun-if-changed=build.rs");

    // cfg values are identifiers-like: mps2-an386 -> board = "mps2_an386".
    let values: Vec<String> = BOARDS.iter().map(|b| format!("\"{}\"", cfg_value(b))).collect();
    println!("cargo::rustc-check-cfg=cfg(board, values({}))", values.join(", "));
    println!("cargo::rustc-cfg=board=\"{}\"", cfg_value(board));
}

fn feature_enabled(board: &str) -> bool {
    let var = format!("CARGO_FEATURE_{}", board.to_uppercase().replace('-', "_"));
    env::var_os(var).is_some()
}

fn cfg_value(board: &str) -> String {
    board.replace('-', "_")
}
