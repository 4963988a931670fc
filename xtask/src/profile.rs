//! `cargo xtask device-profile`: where the instructions of one device rank call go.
//!
//! Runs the benchmark firmware of a QEMU board with QEMU's execution trace
//! (`-d in_asm,exec,nochain`: each translated block's instructions once, then one line per
//! block executed), keeps the blocks executed between the firmware's marks around the
//! fixed-point measurement of one batch size (`profile_mark_fixed_start` / `_end` in
//! `firmware/rank/src/bench.rs`), counts every instruction address, and attributes each to
//! its innermost source function with `arm-none-eabi-addr2line -i` (inlined code counts for
//! the function it came from). Prints the functions and source files that cost the most, per
//! candidate, and writes them to `target/device-profile-<board>-<n>.txt`.
//!
//! The total includes the instruction counter's own reads around the measurement, so it
//! exceeds `device-bench`'s figure by a few instructions per batch; when
//! `target/device-bench.jsonl` has the same board and size, the step fails unless the two
//! agree within 2 %.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::firmware::{self, Board, BENCH_BIN, BOARDS};
use crate::util::{root, say, Result};

/// The batch sizes the benchmark firmware measures, in its order (`bench::SIZES`).
const SIZES: [u64; 4] = [32, 64, 128, 256];

/// What the trace shows between the marks of one measurement.
struct Executed {
    /// Times each instruction address ran.
    counts: HashMap<u32, u64>,
    /// Call instructions (`bl`) seen in translated blocks: call site -> callee address.
    calls: HashMap<u32, u32>,
}

/// Instruction addresses executed between the marks of the `occurrence`-th measurement.
fn executed(trace: &Path, occurrence: usize) -> Result<Executed> {
    let reader = BufReader::new(fs::File::open(trace).map_err(|e| format!("{}: {e}", trace.display()))?);
    // Translated blocks: first address -> every instruction address (the latest translation).
    let mut blocks: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut current: Vec<u32> = Vec::new();
    let mut counts: HashMap<u32, u64> = HashMap::new();
    let mut calls: HashMap<u32, u32> = HashMap::new();
    let (mut starts, mut inside, mut done) = (0usize, false, false);
    for line in reader.lines() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(rest) = line.strip_prefix("Trace ") {
            if let Some(first) = current.first() {
                blocks.insert(*first, std::mem::take(&mut current));
            }
            // "Trace 0: 0x7f.. [00800408/000000c0/00000110/ff000200] symbol"
            let Some((fields, symbol)) = rest.split_once("] ") else { continue };
            let Some(pc) = fields.split('/').nth(1).and_then(|h| u32::from_str_radix(h, 16).ok()) else { continue };
            if symbol.contains("profile_mark_fixed_start") {
                starts += 1;
                inside = starts == occurrence + 1;
            } else if symbol.contains("profile_mark_fixed_end") {
                if inside {
                    done = true;
                    break;
                }
            } else if inside {
                for address in blocks.get(&pc).map(Vec::as_slice).unwrap_or(&[]) {
                    *counts.entry(*address).or_default() += 1;
                }
            }
        } else if line.starts_with("IN:") || line.starts_with("----") {
            if let Some(first) = current.first() {
                blocks.insert(*first, std::mem::take(&mut current));
            }
        } else if let Some((hex, text)) = line.strip_prefix("0x").and_then(|l| l.split_once(':')) {
            if let Ok(address) = u32::from_str_radix(hex, 16) {
                current.push(address);
                // "0x00000a3c:  f000 f8b2  bl       #0xba4"
                let mut words = text.split_whitespace().skip_while(|w| *w != "bl");
                if words.next().is_some() {
                    if let Some(target) = words.next().and_then(|t| t.strip_prefix("#0x")) {
                        if let Ok(target) = u32::from_str_radix(target, 16) {
                            calls.insert(address, target);
                        }
                    }
                }
            }
        }
    }
    if !done {
        return Err(format!("the trace has no complete measurement number {} between the marks", occurrence + 1));
    }
    Ok(Executed { counts, calls })
}

/// Where an address is: its innermost function, source file and `file:line`, and the
/// outermost function of its inline chain (the function actually compiled, which calls it).
#[derive(Clone)]
struct Place {
    function: String,
    file: String,
    line: String,
    outer: String,
}

/// [`Place`] of each address (`addr2line -f -i -C`).
fn attribute(elf: &Path, addresses: &[u32]) -> Result<HashMap<u32, Place>> {
    let mut child = Command::new("arm-none-eabi-addr2line")
        .args(["-f", "-i", "-C", "-a", "-e"])
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("arm-none-eabi-addr2line (cargo xtask setup installs it): {e}"))?;
    let mut stdin = child.stdin.take().ok_or("addr2line stdin")?;
    let input: String = addresses.iter().map(|a| format!("{a:#x}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    writer.join().map_err(|_| "addr2line writer panicked")?.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    // "0x...." then (function, file:line) pairs, innermost first.
    let mut out = HashMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(address) = line.strip_prefix("0x").and_then(|h| u32::from_str_radix(h, 16).ok()) else { continue };
        let function = lines.next().unwrap_or("??").to_string();
        let location = lines.next().unwrap_or("??");
        let location = location.rsplit('/').next().unwrap_or(location);
        // "file.rs:123" or "file.rs:123 (discriminator 4)".
        let line = location.split(' ').next().unwrap_or(location).to_string();
        let file = line.split(':').next().unwrap_or("??").to_string();
        let mut outer = function.clone();
        while lines.peek().is_some_and(|l| !l.starts_with("0x")) {
            let caller = lines.next().unwrap_or_default();
            lines.next(); // its location
            outer = caller.to_string();
        }
        out.insert(address, Place { function, file, line, outer });
    }
    Ok(out)
}

/// Drops generic arguments from a demangled name, keeping qualified-path brackets:
/// `<a::Page<32>>::push::<b::C>` becomes `<a::Page>::push`.
fn short(function: &str) -> String {
    let mut out = String::new();
    // For each open bracket: whether it is a generic argument list (dropped).
    let mut open: Vec<bool> = Vec::new();
    let mut previous = ' ';
    for c in function.chars() {
        let dropping = open.iter().any(|&generic| generic);
        match c {
            '<' => {
                let generic = previous.is_alphanumeric() || previous == '_' || previous == ':';
                if !generic && !dropping {
                    out.push(c);
                }
                open.push(generic);
            }
            '>' => {
                let generic = open.pop().unwrap_or(true);
                if !generic && !open.iter().any(|&g| g) {
                    out.push(c);
                }
            }
            _ if !dropping => out.push(c),
            _ => {}
        }
        previous = c;
    }
    out.trim_end_matches("::").to_string()
}

pub fn device_profile(board_name: &str, n: u64, top: usize) -> Result {
    let board: &Board =
        BOARDS.iter().find(|b| b.name == board_name).ok_or_else(|| format!("unknown QEMU board {board_name}"))?;
    let occurrence = SIZES.iter().position(|&s| s == n).ok_or_else(|| format!("n must be one of {SIZES:?}"))?;
    firmware::build()?;
    let elf = board.elf(BENCH_BIN);
    let trace = root().join(format!("target/device-profile-{}.trace", board.name));
    say(format!("tracing {} under QEMU (-d in_asm,exec,nochain)", elf.display()));
    let status = Command::new("qemu-system-arm")
        .args(["-cpu", board.qemu_cpu, "-machine", board.name])
        .args(["-display", "none", "-monitor", "none", "-serial", "null", "-no-reboot"])
        .args(["-semihosting-config", "enable=on,target=native", "-icount", "shift=0"])
        .args(["-d", "in_asm,exec,nochain", "-D"])
        .arg(&trace)
        .arg("-kernel")
        .arg(&elf)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("qemu-system-arm: {e}"))?;
    if !status.success() {
        return Err(format!("the benchmark firmware failed under QEMU ({status})"));
    }
    let Executed { counts, calls } = executed(&trace, occurrence)?;
    let _ = fs::remove_file(&trace);
    let mut addresses: Vec<u32> = counts.keys().chain(calls.values()).copied().collect();
    addresses.sort_unstable();
    addresses.dedup();
    let places = attribute(&elf, &addresses)?;
    let (mut by_function, mut by_file): (HashMap<String, u64>, HashMap<String, u64>) = Default::default();
    let (mut by_line, mut by_outer): (HashMap<String, u64>, HashMap<String, u64>) = Default::default();
    // Where an inlined helper's instructions run: the same helper costs differently in each
    // function it is inlined into (the pools' sift-down in an offer and in the final sort).
    let mut by_inner_in_outer: HashMap<String, u64> = HashMap::new();
    // Calls into library routines (compiler_builtins: division, 64-bit multiplies and shifts,
    // memcpy) by the source line that makes them: what the routines' instructions above are
    // spent for.
    let mut by_call_site: HashMap<String, u64> = HashMap::new();
    let mut total = 0;
    let unknown = Place { function: "??".into(), file: "??".into(), line: "??".into(), outer: "??".into() };
    for (address, count) in &counts {
        let place = places.get(address).unwrap_or(&unknown);
        *by_function.entry(short(&place.function)).or_default() += count;
        *by_file.entry(place.file.clone()).or_default() += count;
        *by_line.entry(format!("{} in {}", place.line, short(&place.function))).or_default() += count;
        *by_outer.entry(short(&place.outer)).or_default() += count;
        *by_inner_in_outer.entry(format!("{} in {}", short(&place.function), short(&place.outer))).or_default() +=
            count;
        total += count;
        if let Some(callee) = calls.get(address).and_then(|target| places.get(target)) {
            let callee = short(&callee.outer);
            if callee.starts_with("__") || callee.starts_with("compiler_builtins") {
                *by_call_site
                    .entry(format!("{callee} from {} in {}", place.line, short(&place.function)))
                    .or_default() += count;
            }
        }
    }
    let mut report = format!(
        "{} ({}), fixed-point rank of {n} candidates to 32: {total} instructions traced, {:.1} per candidate\n",
        board.name,
        board.target,
        total as f64 / n as f64
    );
    for (title, table) in [
        ("innermost function", &by_function),
        ("compiled function (outermost of the inline chain)", &by_outer),
        ("innermost function in compiled function", &by_inner_in_outer),
        ("source line (innermost)", &by_line),
        ("source file", &by_file),
    ] {
        let mut rows: Vec<(&String, &u64)> = table.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        report.push_str(&format!("\n{:>10} {:>9} {:>6}  {title}\n", "instr", "per cand", "share"));
        for (name, count) in rows.into_iter().take(top) {
            report.push_str(&format!(
                "{count:>10} {:>9.1} {:>5.1}%  {name}\n",
                *count as f64 / n as f64,
                100.0 * *count as f64 / total as f64
            ));
        }
    }
    let mut rows: Vec<(&String, &u64)> = by_call_site.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    report.push_str(&format!("\n{:>10} {:>9}  library calls by call site\n", "calls", "per cand"));
    for (name, count) in rows.into_iter().take(top) {
        report.push_str(&format!("{count:>10} {:>9.2}  {name}\n", *count as f64 / n as f64));
    }
    // The traced total against device-bench's count of the same work, when there is one.
    let traced = total as f64 / n as f64;
    if let Ok(lines) = crate::bench::read_lines(&crate::bench::jsonl_path()) {
        if let Some(line) = lines.iter().find(|l| l.target == board.target && l.candidates == n) {
            let counted = line.instructions_per_candidate;
            report.push_str(&format!("\ndevice-bench counted {counted:.1} per candidate for the same work\n"));
            if (traced - counted).abs() > 0.02 * counted {
                print!("{report}");
                return Err(format!(
                    "traced {traced:.1} instructions per candidate, device-bench counted {counted:.1}"
                ));
            }
        }
    }
    print!("{report}");
    let out = root().join(format!("target/device-profile-{}-{n}.txt", board.name));
    fs::write(&out, &report).map_err(|e| format!("{}: {e}", out.display()))?;
    say(format!("wrote {}", out.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_names_keep_paths_and_drop_generics() {
        assert_eq!(short("<a::Page<32>>::push::<b::C>"), "<a::Page>::push");
        assert_eq!(short("<u32 as core::cmp::Ord>::min"), "<u32 as core::cmp::Ord>::min");
        assert_eq!(short("a::b::apply::<x::NoTrace>"), "a::b::apply");
        assert_eq!(short("plain"), "plain");
    }
}
