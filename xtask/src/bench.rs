//! `cargo xtask device-bench`: per QEMU target and batch size (32, 64, 128, 256 candidates to
//! the top 32), one JSON line with the instructions per candidate of the fixed-point ranker and
//! of the f32 reference, the protocol firmware's text/data/bss and its stack high-water mark
//! after a cold boot and one rank call (`stack_peak`) and after a warm boot that restores a full
//! stored user state, model and profile and then ranks (`stack_peak_warm`); RAM is data + bss +
//! the larger of the two. Printed, and written to target/device-bench.jsonl.
//!
//! Instruction counts come from QEMU `-icount shift=0` read through SysTick: instructions
//! executed, not cycles (see firmware/rank/src/counter.rs). The work is done by the
//! `device-bench` binary of `edgerank-tests` (tests/src/bin/device-bench.rs), which drives the
//! firmware with the same QEMU client as the tests.
//!
//! The figures are deterministic, so they are held by a budget: `benches/device-budget.json`.
//! The step fails when a figure exceeds its budget by more than 2 %; `--update-budget`
//! rewrites the file from the measured figures (commit it with the change that earned it).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::firmware;
use crate::util::{cargo, root, run, say, Result};

/// Allowed growth over the budget before the step fails.
const TOLERANCE: f64 = 0.02;

/// One line of `device-bench.jsonl` (the fields this crate reads).
#[derive(Clone, Debug, Deserialize)]
pub struct DeviceLine {
    pub target: String,
    pub candidates: u64,
    pub macs_per_candidate: u64,
    pub instructions_per_candidate: f64,
    pub f32_instructions_per_candidate: f64,
    pub text: u64,
    pub data: u64,
    pub bss: u64,
    /// Stack high-water mark after a cold boot and one rank call.
    pub stack_peak: u64,
    /// Stack high-water mark after a warm boot that restores a full stored user state, model
    /// and profile, and one rank call.
    pub stack_peak_warm: u64,
}

impl DeviceLine {
    /// The deeper of the two measured stack peaks (cold and warm boot).
    pub fn stack_peak_max(&self) -> u64 {
        self.stack_peak.max(self.stack_peak_warm)
    }

    /// RAM the firmware needs: static data plus the deeper measured stack peak.
    pub fn ram(&self) -> u64 {
        self.data + self.bss + self.stack_peak_max()
    }
}

/// The budgeted figures of one (target, N).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Budget {
    target: String,
    candidates: u64,
    instructions_per_candidate: f64,
    text: u64,
    data: u64,
    bss: u64,
    stack_peak: u64,
    stack_peak_warm: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct BudgetFile {
    about: String,
    budgets: Vec<Budget>,
}

pub fn jsonl_path() -> PathBuf {
    root().join("target/device-bench.jsonl")
}

fn budget_path() -> PathBuf {
    root().join("benches/device-budget.json")
}

pub fn read_lines(path: &Path) -> Result<Vec<DeviceLine>> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}: {l}", path.display())))
        .collect()
}

/// Every figure of `lines` against its budget; the list of figures over budget + tolerance.
/// A budgeted (target, N) that `lines` lacks is an error: a figure the benchmark stopped
/// reporting would otherwise pass unchecked.
fn over_budget(lines: &[DeviceLine], budgets: &[Budget]) -> Result<Vec<String>> {
    if let Some(b) =
        budgets.iter().find(|b| !lines.iter().any(|l| l.target == b.target && l.candidates == b.candidates))
    {
        return Err(format!(
            "the benchmark reported no figures for {} N={}, which the budget holds",
            b.target, b.candidates
        ));
    }
    let mut over = Vec::new();
    for l in lines {
        let b = budgets.iter().find(|b| b.target == l.target && b.candidates == l.candidates).ok_or_else(|| {
            format!("no budget for {} N={} (run `cargo xtask device-bench --update-budget`)", l.target, l.candidates)
        })?;
        let figures = [
            ("instructions_per_candidate", l.instructions_per_candidate, b.instructions_per_candidate),
            ("text", l.text as f64, b.text as f64),
            ("data", l.data as f64, b.data as f64),
            ("bss", l.bss as f64, b.bss as f64),
            ("stack_peak", l.stack_peak as f64, b.stack_peak as f64),
            ("stack_peak_warm", l.stack_peak_warm as f64, b.stack_peak_warm as f64),
        ];
        for (name, measured, budget) in figures {
            if measured > budget * (1.0 + TOLERANCE) {
                over.push(format!(
                    "{} N={}: {name} {measured:.1} exceeds its budget {budget:.1} by {:.1} %",
                    l.target,
                    l.candidates,
                    (measured / budget - 1.0) * 100.0
                ));
            } else if measured < budget * (1.0 - 2.0 * TOLERANCE) {
                println!(
                    "    note: {} N={}: {name} {measured:.1} is well under its budget {budget:.1}; tighten it with --update-budget",
                    l.target, l.candidates
                );
            }
        }
    }
    Ok(over)
}

/// Builds the firmware, runs the benchmark in QEMU and returns its lines.
pub fn measure() -> Result<Vec<DeviceLine>> {
    firmware::build()?;
    let out = jsonl_path();
    say("device benchmark (instruction counts under QEMU -icount shift=0: instructions, not cycles)");
    run(cargo()
        .current_dir(root())
        .args(["run", "--quiet", "-p", "edgerank-tests", "--bin", "device-bench", "--", "--out"])
        .arg(&out))?;
    read_lines(&out)
}

pub fn device_bench(update_budget: bool) -> Result {
    let lines = measure()?;
    let path = budget_path();
    if update_budget {
        let file = BudgetFile {
            about: "Deterministic device figures (QEMU instruction counts, sizes, stack peak after a cold \
                    boot and after a warm boot that restores a stored user state) that \
                    `cargo xtask device-bench` holds: a figure more than 2 % over its budget fails \
                    the step. Rewritten by `cargo xtask device-bench --update-budget`."
                .into(),
            budgets: lines
                .iter()
                .map(|l| Budget {
                    target: l.target.clone(),
                    candidates: l.candidates,
                    instructions_per_candidate: l.instructions_per_candidate,
                    text: l.text,
                    data: l.data,
                    bss: l.bss,
                    stack_peak: l.stack_peak,
                    stack_peak_warm: l.stack_peak_warm,
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())? + "\n";
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        say(format!("budget rewritten: {}", path.display()));
        return Ok(());
    }
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: BudgetFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let over = over_budget(&lines, &file.budgets)?;
    let missed = targets_missed(&lines)?;
    if over.is_empty() && missed.is_empty() {
        say(format!("device figures within budget ({} + {:.0} %)", path.display(), TOLERANCE * 100.0));
        say("the device targets met so far still hold (M0+ >= 30x soft-float, M4F <= 0.5x f32, RAM, text)");
        Ok(())
    } else {
        let failures: Vec<String> = over.into_iter().chain(missed).collect();
        Err(format!("device figures over budget or targets lost:\n    {}", failures.join("\n    ")))
    }
}

/// Batch size of the performance targets.
const TARGET_N: u64 = 256;

/// One device target of the performance issue (N = 256), as measured: what the report
/// tables, and what `device-bench` holds when `held`.
pub struct DeviceTarget {
    pub what: &'static str,
    pub goal: &'static str,
    pub measured: String,
    pub met: bool,
    /// Held by `device-bench` (a change that loses it fails the step, though the 2 % budget
    /// might let it through): every target met so far. The M4F's 300 instructions per
    /// candidate is not met, so not held.
    pub held: bool,
}

/// The device targets at N = 256: the M4F's instructions per candidate and its ratio to f32
/// on the FPU, the M0+'s ratio to soft-float f32, RAM (data + bss + the deeper stack peak) on
/// both boards, M4F text. Missing N = 256 lines are an error.
pub fn device_targets(lines: &[DeviceLine]) -> Result<Vec<DeviceTarget>> {
    let at = |target: &str| {
        lines
            .iter()
            .find(|l| l.target == target && l.candidates == TARGET_N)
            .ok_or_else(|| format!("the benchmark reported no figures for {target} N={TARGET_N}"))
    };
    let (m4, m0) = (at("thumbv7em-none-eabihf")?, at("thumbv6m-none-eabi")?);
    let target = |what, goal, measured, met, held| DeviceTarget { what, goal, measured, met, held };
    Ok(vec![
        target(
            "Cortex-M4F instructions per candidate",
            "<= 300",
            format!("{:.0}", m4.instructions_per_candidate),
            m4.instructions_per_candidate <= 300.0,
            false,
        ),
        target(
            "Cortex-M4F fixed vs f32 on the FPU",
            "<= 0.5x",
            format!("{:.3}x", m4.instructions_per_candidate / m4.f32_instructions_per_candidate),
            m4.instructions_per_candidate * 2.0 <= m4.f32_instructions_per_candidate,
            true,
        ),
        target(
            "Cortex-M0+ soft-float / fixed",
            ">= 30x",
            format!("{:.1}x", m0.f32_instructions_per_candidate / m0.instructions_per_candidate),
            m0.f32_instructions_per_candidate >= 30.0 * m0.instructions_per_candidate,
            true,
        ),
        target(
            "RAM, Cortex-M4F (data + bss + deeper stack peak)",
            "<= 16384 B",
            format!("{} B", m4.ram()),
            m4.ram() <= 16384,
            true,
        ),
        target(
            "RAM, Cortex-M0+ (data + bss + deeper stack peak)",
            "<= 16384 B",
            format!("{} B", m0.ram()),
            m0.ram() <= 16384,
            true,
        ),
        target("Firmware text, Cortex-M4F", "<= 65536 B", format!("{} B", m4.text), m4.text <= 65536, true),
    ])
}

/// The held device targets that `lines` miss, one line each.
fn targets_missed(lines: &[DeviceLine]) -> Result<Vec<String>> {
    Ok(device_targets(lines)?
        .into_iter()
        .filter(|t| t.held && !t.met)
        .map(|t| format!("{}: {} (target {}) is lost", t.what, t.measured, t.goal))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ipc: f64, text: u64) -> DeviceLine {
        DeviceLine {
            target: "t".into(),
            candidates: 256,
            macs_per_candidate: 192,
            instructions_per_candidate: ipc,
            f32_instructions_per_candidate: 1.0,
            text,
            data: 0,
            bss: 100,
            stack_peak: 1000,
            stack_peak_warm: 2000,
        }
    }

    fn budget() -> Budget {
        Budget {
            target: "t".into(),
            candidates: 256,
            instructions_per_candidate: 1000.0,
            text: 5000,
            data: 0,
            bss: 100,
            stack_peak: 1000,
            stack_peak_warm: 2000,
        }
    }

    /// The two boards' N = 256 lines, as measured on 2026-12-08.
    fn boards() -> Vec<DeviceLine> {
        let board = |target: &str, ipc: f64, f32: f64, text: u64, stack: u64| DeviceLine {
            target: target.into(),
            instructions_per_candidate: ipc,
            f32_instructions_per_candidate: f32,
            text,
            bss: 7812,
            stack_peak: stack,
            stack_peak_warm: stack,
            ..line(0.0, 0)
        };
        vec![
            board("thumbv7em-none-eabihf", 915.6, 2430.5, 64_180, 7824),
            board("thumbv6m-none-eabi", 1498.0, 45_287.3, 71_408, 8040),
        ]
    }

    #[test]
    fn met_targets_hold_and_losing_one_fails() {
        assert_eq!(targets_missed(&boards()).unwrap(), Vec::<String>::new());
        let mut lines = boards();
        lines[1].instructions_per_candidate = 1510.0; // 29.99x
        let missed = targets_missed(&lines).unwrap();
        assert!(missed.len() == 1 && missed[0].contains("30x"), "{missed:?}");
        let mut lines = boards();
        lines[0].instructions_per_candidate = 1216.0; // just over half the f32's 2,430.5
        lines[0].text = 65_537;
        lines[1].stack_peak_warm = 8_573; // RAM 16,385 B
        let missed = targets_missed(&lines).unwrap();
        assert_eq!(missed.len(), 3, "{missed:?}");
        assert!(targets_missed(&boards()[..1]).is_err(), "a board without N = 256 figures");
    }

    #[test]
    fn growth_within_two_percent_passes_and_beyond_fails() {
        assert!(over_budget(&[line(1020.0, 5100)], &[budget()]).unwrap().is_empty());
        let over = over_budget(&[line(1021.0, 5101)], &[budget()]).unwrap();
        assert_eq!(over.len(), 2, "{over:?}");
        assert!(over[0].contains("instructions_per_candidate"));
        assert!(over[1].contains("text"));
    }

    #[test]
    fn the_warm_boot_stack_is_held_and_counts_in_ram() {
        let mut l = line(1000.0, 5000);
        assert_eq!(l.ram(), 100 + 2000, "RAM takes the deeper (warm) stack peak");
        l.stack_peak_warm = 2041;
        let over = over_budget(&[l], &[budget()]).unwrap();
        assert_eq!(over.len(), 1, "{over:?}");
        assert!(over[0].contains("stack_peak_warm"));
    }

    #[test]
    fn a_line_without_budget_is_an_error() {
        let mut l = line(1.0, 1);
        l.candidates = 32;
        let err = over_budget(&[l.clone(), line(1.0, 1)], &[budget()]).unwrap_err();
        assert!(err.contains("no budget for"), "{err}");
    }

    #[test]
    fn a_budget_without_line_is_an_error() {
        let mut other = budget();
        other.candidates = 32;
        let err = over_budget(&[line(1.0, 1)], &[budget(), other]).unwrap_err();
        assert!(err.contains("reported no figures"), "{err}");
    }
}
