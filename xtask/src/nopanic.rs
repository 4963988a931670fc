//! `cargo xtask no-panic`: which panics remain in the protocol firmware.
//!
//! 1. The proof attempt: the protocol firmware built with the `panic-never` feature, whose
//!    panic handler calls a function that exists nowhere. If the optimiser removed every panic
//!    path, nothing references the handler and the firmware links: no input can panic it.
//!    Otherwise linking fails on that undefined symbol (any other failure is an error).
//! 2. The census: in the ordinary release build of each QEMU board's protocol firmware, every
//!    branch to a panic entry point of `core` (`panic_bounds_check`, `unwrap_failed`,
//!    `panic_fmt`, slice index failures, ...), counted per calling function and per crate, from
//!    `arm-none-eabi-objdump -d`. With fat LTO most code is inlined, so a site is attributed to
//!    the function it ended up in. The report is also written to target/no-panic.txt.
//!
//! The step fails only if the analysis cannot run or the proof build fails for another reason:
//! the figures are for the README, not a gate.

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

use crate::firmware::{self, BOARDS, PROTOCOL_BIN};
use crate::thumb::debian_cargo;
use crate::util::{capture, root, say, Result};

/// The symbol the `panic-never` panic handler calls (see firmware/src/lib.rs).
const TRAP: &str = "edgerank_panic_path_survived_optimisation";

/// Panic entry points of `core` (demangled name prefixes).
const PANIC_ENTRIES: &[&str] = &[
    "core::panicking::",
    "core::slice::index::",
    "core::option::unwrap_failed",
    "core::option::expect_failed",
    "core::result::unwrap_failed",
    "core::cell::panic_",
    "core::str::slice_error_fail",
    "core::fmt::Formatter::pad_integral::write_prefix",
];

pub fn no_panic() -> Result {
    firmware::build()?;
    let mut report = String::new();
    let proved = proof_attempt(&mut report)?;
    for board in BOARDS {
        let elf = board.elf(PROTOCOL_BIN);
        let sites = census(&elf)?;
        let total: usize = sites.values().sum();
        let mut per_crate: BTreeMap<String, usize> = BTreeMap::new();
        for (function, n) in &sites {
            *per_crate.entry(crate_of(function)).or_default() += n;
        }
        report.push_str(&format!(
            "\n{} ({}): {total} panic call sites in {} functions\n  per crate:\n",
            board.name,
            board.target,
            sites.len()
        ));
        let mut crates: Vec<_> = per_crate.into_iter().collect();
        crates.sort_by_key(|c| std::cmp::Reverse(c.1));
        for (krate, n) in crates {
            report.push_str(&format!("    {n:>5}  {krate}\n"));
        }
        report.push_str("  per function:\n");
        let mut functions: Vec<_> = sites.into_iter().collect();
        functions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (function, n) in functions {
            report.push_str(&format!("    {n:>5}  {}\n", shorten(&function)));
        }
    }
    say("panic report");
    print!("{report}");
    let path = root().join("target/no-panic.txt");
    fs::create_dir_all(root().join("target")).map_err(|e| e.to_string())?;
    fs::write(&path, &report).map_err(|e| format!("writing {}: {e}", path.display()))?;
    say(format!(
        "{}; report in {}",
        if proved { "no panic path remains" } else { "panic paths remain (see the census)" },
        path.display()
    ));
    Ok(())
}

/// Builds the `panic-never` firmware for the first board; `true` if it links.
fn proof_attempt(report: &mut String) -> Result<bool> {
    let board = &BOARDS[0];
    say(format!("linking the protocol firmware for {} with a panic handler that cannot link", board.name));
    let out = debian_cargo(&root().join("firmware"))
        .args(["build", "--release", "--bin", PROTOCOL_BIN, "--target", board.target])
        .args(["--features", &format!("{},panic-never", board.name)])
        // Its own directory: the ordinary firmware stays as built.
        .args(["--target-dir", "target/panic-never"])
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        report.push_str(&format!("{}: the panic-never firmware links: no panic path remains\n", board.name));
        return Ok(true);
    }
    if !stderr.contains(TRAP) {
        return Err(format!("the panic-never build failed for another reason:\n{stderr}"));
    }
    report.push_str(&format!(
        "{}: the panic-never firmware does not link (undefined `{TRAP}`): panic paths remain\n",
        board.name
    ));
    Ok(false)
}

/// Panic call sites per function of `elf`.
fn census(elf: &std::path::Path) -> Result<BTreeMap<String, usize>> {
    let disassembly = capture(Command::new("arm-none-eabi-objdump").args(["-d", "--no-show-raw-insn", "-C"]).arg(elf))?;
    let mut sites = BTreeMap::new();
    let mut function = String::new();
    for line in disassembly.lines() {
        // "0000c918 <core::panicking::assert_failed_inner>:"
        if let Some(name) = line.split_once(" <").and_then(|(addr, rest)| {
            (!addr.starts_with(' ') && !addr.is_empty()).then(|| rest.strip_suffix(">:")).flatten()
        }) {
            function = name.to_string();
            continue;
        }
        // "    1252:\tbl\td5ac <core::panicking::panic_bounds_check>"
        let mut fields = line.split('\t');
        let (Some(_), Some(mnemonic), Some(operand)) = (fields.next(), fields.next(), fields.next()) else { continue };
        if !mnemonic.trim().starts_with('b') {
            continue;
        }
        let Some(target) = operand.split_once('<').and_then(|(_, t)| t.strip_suffix('>')) else { continue };
        let target = target.split('+').next().unwrap_or(target);
        if is_panic_entry(target) && !is_panic_entry(&function) && !function.contains("panic") {
            *sites.entry(function.clone()).or_insert(0) += 1;
        }
    }
    Ok(sites)
}

fn is_panic_entry(symbol: &str) -> bool {
    PANIC_ENTRIES.iter().any(|p| symbol.starts_with(p))
}

/// The crate a demangled function belongs to: `<a::B as c::D>::f` belongs to `a`.
fn crate_of(function: &str) -> String {
    let s = function.trim_start_matches('<').trim_start_matches('&').trim_start_matches("mut ");
    s.split("::").next().unwrap_or(s).to_string()
}

fn shorten(function: &str) -> String {
    if function.len() > 140 {
        format!(
            "{}...",
            &function[..function.char_indices().take_while(|(i, _)| *i < 140).last().map_or(0, |(i, _)| i)]
        )
    } else {
        function.to_string()
    }
}
