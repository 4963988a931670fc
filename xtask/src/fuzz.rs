//! `cargo xtask fuzz [--seconds N] [TARGET...]`: builds the libFuzzer targets in `fuzz/` and
//! runs each for N seconds (default 60), starting from its committed seeds
//! (`fuzz/corpus/<target>/seed-*`; libFuzzer adds what it finds there, git ignores those).
//! A crash stops with the failing input saved under `fuzz/artifacts/<target>/`.
//!
//! cargo-fuzz needs `-Z` flags: on a stable toolchain they are allowed with RUSTC_BOOTSTRAP=1.
//! The targets are built with debug assertions (arithmetic overflow panics, so the fuzzer
//! finds it) and without a sanitizer: the code under test forbids `unsafe`, so AddressSanitizer
//! would only halve the executions.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::thread;

use crate::util::{cargo, describe, find_cargo_binary, root, run, say, Result};

/// Every target, in the order they run.
pub const TARGETS: &[&str] = &["frame", "model_blob", "profile_blob", "rank", "feedback"];

/// Seconds per target in `cargo xtask ci`.
pub const CI_SECONDS: u64 = 30;

/// One target's run.
pub struct Outcome {
    pub target: String,
    pub seconds: u64,
    pub executions: u64,
    pub corpus: u64,
}

/// `cargo fuzz <args>` in `fuzz/`, on whatever toolchain runs this xtask.
fn cargo_fuzz() -> Command {
    let mut cmd = cargo();
    cmd.current_dir(root().join("fuzz")).env("RUSTC_BOOTSTRAP", "1").arg("fuzz");
    cmd
}

/// Builds every target (debug assertions on, no sanitizer).
pub fn build() -> Result {
    if find_cargo_binary("cargo-fuzz").is_none() {
        return Err("cargo-fuzz not found: run `cargo xtask setup`".into());
    }
    say("building the fuzz targets");
    run(cargo_fuzz().args(["build", "--sanitizer", "none", "--debug-assertions"]))
}

/// Runs `target` for `seconds`; fails on a crash, a timeout or a leak.
pub fn run_target(target: &str, seconds: u64) -> Result<Outcome> {
    let mut cmd = cargo_fuzz();
    cmd.args(["run", "--sanitizer", "none", "--debug-assertions", target, "--"])
        .arg(format!("-max_total_time={seconds}"))
        // Any single input slower than this is a hang worth reporting.
        .args(["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"]);
    say(format!("fuzzing {target} for {seconds} s"));
    println!("$ {}", describe(&cmd));
    let mut child =
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| format!("cargo fuzz: {e}"))?;
    let out = child.stdout.take().expect("piped");
    let echo = thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            println!("{line}");
        }
    });
    // libFuzzer reports on stderr; keep its final statistics, echo the rest sparingly.
    let mut outcome = Outcome { target: target.to_string(), seconds, executions: 0, corpus: 0 };
    let mut tail: Vec<String> = Vec::new();
    for line in BufReader::new(child.stderr.take().expect("piped")).lines().map_while(|l| l.ok()) {
        if let Some(n) = stat(&line, "stat::number_of_executed_units:") {
            outcome.executions = n;
        }
        // Progress lines: "#123456 pulse  cov: ... corp: 812/40Kb ..."; print the pulses only.
        if let Some(corp) = line.split("corp: ").nth(1) {
            outcome.corpus = corp.split('/').next().and_then(|n| n.parse().ok()).unwrap_or(outcome.corpus);
        }
        if line.contains("pulse") || line.starts_with("Done") || line.contains("ERROR") || line.contains("panicked") {
            println!("    {line}");
        }
        tail.push(line);
        if tail.len() > 60 {
            tail.remove(0);
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for cargo fuzz: {e}"))?;
    let _ = echo.join();
    if !status.success() {
        return Err(format!(
            "fuzz target {target} failed ({status}); the input is under fuzz/artifacts/{target}/. Last output:\n{}",
            tail.join("\n")
        ));
    }
    Ok(outcome)
}

fn stat(line: &str, key: &str) -> Option<u64> {
    line.strip_prefix(key)?.trim().parse().ok()
}

/// Builds, then runs `targets` (all if empty) for `seconds` each, and prints a summary.
pub fn fuzz(seconds: u64, targets: &[String]) -> Result {
    let chosen: Vec<String> = if targets.is_empty() {
        TARGETS.iter().map(|t| t.to_string()).collect()
    } else {
        for t in targets {
            if !TARGETS.contains(&t.as_str()) {
                return Err(format!("unknown fuzz target `{t}` (targets: {})", TARGETS.join(", ")));
            }
        }
        targets.to_vec()
    };
    build()?;
    let mut outcomes = Vec::new();
    for target in &chosen {
        outcomes.push(run_target(target, seconds)?);
    }
    say("fuzz summary: no crash");
    println!("    {:<14} {:>8} {:>14} {:>8}", "target", "seconds", "executions", "corpus");
    for o in &outcomes {
        println!("    {:<14} {:>8} {:>14} {:>8}", o.target, o.seconds, o.executions, o.corpus);
    }
    Ok(())
}

/// The `cargo xtask ci` step: every target for [`CI_SECONDS`].
pub fn smoke() -> Result {
    fuzz(CI_SECONDS, &[])
}
