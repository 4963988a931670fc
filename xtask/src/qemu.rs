//! `cargo xtask qemu-smoke`: boots each board's benchmark firmware in QEMU, decodes its defmt
//! log with `defmt-print`, and checks the exit status and the expected log lines (a quick
//! check that the toolchain, QEMU and the decoder work).
//!
//! `cargo xtask qemu-test`: the protocol firmware's tests in QEMU
//! (`tests/tests/qemu_device.rs`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::firmware::{self, Board, BENCH_BIN, BOARDS};
use crate::util::{cargo, describe, find_cargo_binary, root, run, say, Result};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Substrings each firmware must log. (The firmware checks its own measurements and
/// exits with failure if they are wrong.)
const EXPECTED: &[&str] =
    &["edgerank firmware booted", "trivial loop x1000: ", "device-bench n=256", "edgerank firmware done"];

pub fn qemu_smoke() -> Result {
    let defmt_print = find_cargo_binary("defmt-print")
        .ok_or("defmt-print not found on PATH or in ~/.cargo/bin: run `cargo xtask setup`")?;
    for board in BOARDS {
        let elf = board.elf(BENCH_BIN);
        if !elf.is_file() {
            return Err(format!("{} not built: run `cargo xtask firmware`", elf.display()));
        }
        say(format!("running {} firmware in QEMU ({})", board.name, board.qemu_cpu));
        let mut qemu = qemu_command(board);
        let mut decoder = Command::new(&defmt_print);
        decoder.arg("-e").arg(&elf);
        println!("$ {} | {}", describe(&qemu), describe(&decoder));
        let log = run_piped(&mut qemu, &mut decoder).map_err(|e| format!("{} firmware: {e}", board.name))?;
        for want in EXPECTED {
            if !log.iter().any(|line| line.contains(want)) {
                return Err(format!("{} firmware did not log \"{want}\"", board.name));
            }
        }
        say(format!("{} firmware: exit success, expected log lines present", board.name));
    }
    Ok(())
}

/// QEMU with semihosting (for defmt output and the exit code) and `-icount shift=0`
/// (one guest instruction per virtual ns, so SysTick counts instructions).
fn qemu_command(board: &Board) -> Command {
    let mut cmd = Command::new("qemu-system-arm");
    cmd.args(["-cpu", board.qemu_cpu, "-machine", board.name])
        .args(["-display", "none", "-monitor", "none", "-serial", "null", "-no-reboot"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(["-icount", "shift=0", "-kernel"])
        .arg(board.elf(BENCH_BIN));
    cmd
}

/// The QEMU tests of the protocol firmware (tests/tests/qemu_device.rs).
const QEMU_TESTS: &str = "qemu_device";
/// The longest of them: it runs alone in one process while the others run one after
/// another in a second (two QEMUs at a time on two cores).
const LONGEST_TEST: &str = "rank_requests_match_the_host_core_mps2_an386";

/// Builds the firmware, then runs the QEMU tests of the protocol firmware on both boards:
/// boot, protocol rules, random rank requests byte-identical to the host core, and garbage
/// frames. Two test processes run side by side (output prefixed `[1]` and `[2]`): two to
/// three and a half minutes on two cores, depending on what else runs.
pub fn qemu_test() -> Result {
    firmware::build()?;
    if find_cargo_binary("defmt-print").is_none() {
        return Err("defmt-print not found on PATH or in ~/.cargo/bin: run `cargo xtask setup`".into());
    }
    say("building the QEMU tests");
    let test = || {
        let mut cmd = cargo();
        cmd.current_dir(root()).args(["test", "-p", "edgerank-tests", "--test", QEMU_TESTS]);
        cmd
    };
    run(test().arg("--no-run"))?;
    say("QEMU tests of the protocol firmware");
    let start = Instant::now();
    let mut first = test();
    first.args(["--", "--ignored", "--nocapture", "--exact", LONGEST_TEST]);
    let mut second = test();
    second.args(["--", "--ignored", "--nocapture", "--test-threads", "1", "--skip", LONGEST_TEST]);
    let children = [("[1]", first), ("[2]", second)].map(|(tag, mut cmd)| {
        println!("{tag} $ {}", describe(&cmd));
        let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
        (tag, child)
    });
    let mut failures = Vec::new();
    let mut running = Vec::new();
    for (tag, child) in children {
        match child {
            Ok(mut child) => {
                let out = child.stdout.take().expect("piped");
                let err = child.stderr.take().expect("piped");
                let echo = |stream: Box<dyn std::io::Read + Send>| {
                    thread::spawn(move || {
                        for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                            println!("{tag} {line}");
                        }
                    })
                };
                running.push((tag, child, [echo(Box::new(out)), echo(Box::new(err))]));
            }
            Err(e) => failures.push(format!("{tag} could not start cargo test: {e}")),
        }
    }
    for (tag, mut child, echoes) in running {
        let status = child.wait().map_err(|e| format!("waiting for cargo test: {e}"))?;
        for e in echoes {
            let _ = e.join();
        }
        if !status.success() {
            failures.push(format!("{tag} cargo test failed ({status})"));
        }
    }
    say(format!("QEMU tests finished in {:.0} s", start.elapsed().as_secs_f64()));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Runs `qemu | decoder`, echoing the decoded lines as they come; kills QEMU after
/// `TIMEOUT`. Returns the decoded lines if both processes succeed.
fn run_piped(qemu: &mut Command, decoder: &mut Command) -> Result<Vec<String>> {
    let mut qemu = qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start qemu-system-arm: {e}"))?;
    let qemu_out = qemu.stdout.take().expect("stdout is piped");
    let mut decoder = match decoder.stdin(qemu_out).stdout(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) => {
            kill(&mut qemu);
            return Err(format!("could not start defmt-print: {e}"));
        }
    };
    let decoded = decoder.stdout.take().expect("stdout is piped");
    let reader = thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(decoded).lines().map_while(|l| l.ok()) {
            println!("    {line}");
            lines.push(line);
        }
        lines
    });

    let qemu_status = wait_with_timeout(&mut qemu, TIMEOUT)?;
    let decoder_status = decoder.wait().map_err(|e| format!("waiting for defmt-print: {e}"))?;
    let lines = reader.join().map_err(|_| "the log reader thread panicked")?;
    match qemu_status {
        None => Err(format!("timed out after {} s; QEMU killed", TIMEOUT.as_secs())),
        Some(status) if !status.success() => Err(format!("QEMU exited with {status}")),
        Some(_) if !decoder_status.success() => Err(format!("defmt-print failed ({decoder_status})")),
        Some(_) => Ok(lines),
    }
}

/// Waits for `child`; on timeout kills it and returns `None`.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("waiting for QEMU: {e}"))? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            kill(child);
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
