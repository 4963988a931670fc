//! Reads the core's version (the host workspace's `[workspace.package] version`, which
//! `edgerank-core` inherits) so the device can report it in `Response::Info`.
//! The core does not export its version as a constant; see the crate docs.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../Cargo.toml");
    println!("cargo::rerun-if-changed={}", manifest.display());
    println!("cargo::rerun-if-changed=build.rs");
    let text = fs::read_to_string(&manifest).expect("the host workspace's Cargo.toml");
    let version = workspace_version(&text).expect("[workspace.package] version = \"x.y.z\"");
    let parts: Vec<u8> = version.split('.').map(|p| p.parse().expect("numeric version")).collect();
    assert_eq!(parts.len(), 3, "version {version} is not x.y.z");
    println!("cargo::rustc-env=EDGERANK_CORE_VERSION_MAJOR={}", parts[0]);
    println!("cargo::rustc-env=EDGERANK_CORE_VERSION_MINOR={}", parts[1]);
    println!("cargo::rustc-env=EDGERANK_CORE_VERSION_PATCH={}", parts[2]);
}

/// The `version` key of the `[workspace.package]` table.
fn workspace_version(toml: &str) -> Option<String> {
    let mut in_table = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[workspace.package]";
            continue;
        }
        if let (true, Some(rest)) = (in_table, line.strip_prefix("version")) {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_string());
        }
    }
    None
}
