//! `cargo xtask device-bench`: per QEMU target and batch size (32, 64, 128, 256 candidates to
//! the top 32), one JSON line with the instructions per candidate of the fixed-point ranker and
//! of the f32 reference, the protocol firmware's text/data/bss and its stack high-water mark.
//! Printed, and written to target/device-bench.jsonl.
//!
//! Instruction counts come from QEMU `-icount shift=0` read through SysTick: instructions
//! executed, not cycles (see firmware/app/src/counter.rs). The work is done by the
//! `device-bench` binary of `edgerank-tests` (tests/src/bin/device-bench.rs), which drives the
//! firmware with the same QEMU client as the tests.

use crate::firmware;
use crate::util::{cargo, root, run, say, Result};

pub fn device_bench() -> Result {
    firmware::build()?;
    let out = root().join("target/device-bench.jsonl");
    say("device benchmark (instruction counts under QEMU -icount shift=0: instructions, not cycles)");
    run(cargo()
        .current_dir(root())
        .args(["run", "--quiet", "-p", "edgerank-tests", "--bin", "device-bench", "--", "--out"])
        .arg(&out))
}
