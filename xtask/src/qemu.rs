//! `cargo xtask qemu-smoke`: boots each built firmware in QEMU, decodes its defmt log with
//! `defmt-print`, and checks the exit status and the expected log lines.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::firmware::{Board, BOARDS};
use crate::util::{describe, find_cargo_binary, say, Result};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Substrings each firmware must log. (The firmware checks its own measurements and
/// exits with failure if they are wrong.)
const EXPECTED: &[&str] = &["edgerank firmware booted", "trivial loop x1000: ", "edgerank firmware done"];

pub fn qemu_smoke() -> Result {
    let defmt_print = find_cargo_binary("defmt-print")
        .ok_or("defmt-print not found on PATH or in ~/.cargo/bin: run `cargo xtask setup`")?;
    for board in BOARDS {
        let elf = board.elf();
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
    cmd.args(["-cpu", board.qemu_cpu, "-machine", board.name, "-nographic"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(["-icount", "shift=0", "-kernel"])
        .arg(board.elf());
    cmd
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
