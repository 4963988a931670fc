//! `cargo xtask ci`: every test, in order, stopping at the first failure.

use std::time::Instant;

use crate::util::{cargo, root, run, say, Result};
use crate::{bench, firmware, fuzz, nopanic, profile, qemu, setup, soak, thumb};

fn fmt() -> Result {
    run(cargo().current_dir(root()).args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> Result {
    run(cargo().current_dir(root()).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}

fn test() -> Result {
    run(cargo().current_dir(root()).args(["test", "--workspace"]))
}

type Step = fn() -> Result;

const STEPS: &[(&str, Step)] = &[
    ("setup", setup::setup),
    ("fmt", fmt),
    ("clippy", clippy),
    ("test", test),
    ("fuzz", fuzz::smoke),
    ("power-cut", soak::power_cut),
    ("thumb-check", thumb::thumb_check),
    ("firmware", firmware::firmware),
    ("no-panic", nopanic::no_panic),
    ("qemu-test", qemu::qemu_test),
    ("qemu-persist", soak::qemu_persist),
    ("device-bench", || bench::device_bench(false)),
    // The profiler's trace accounts for device-bench's count within 2 %.
    ("device-profile", || profile::device_profile("mps2-an386", 256, 10)),
];

pub fn ci() -> Result {
    let mut done: Vec<(&str, f64, bool)> = Vec::new();
    let mut failure = None;
    for (name, step) in STEPS {
        say(format!("ci step: {name}"));
        let start = Instant::now();
        let result = step();
        done.push((name, start.elapsed().as_secs_f64(), result.is_ok()));
        if let Err(e) = result {
            failure = Some(format!("ci step `{name}` failed: {e}"));
            break;
        }
    }
    println!();
    say("ci summary");
    for (name, secs, ok) in &done {
        println!("    {:<12} {:>4} {secs:>7.1} s", name, if *ok { "ok" } else { "FAIL" });
    }
    for (name, _) in &STEPS[done.len()..] {
        println!("    {name:<12} skipped");
    }
    match failure {
        Some(e) => Err(e),
        None => {
            say("ci passed");
            Ok(())
        }
    }
}
