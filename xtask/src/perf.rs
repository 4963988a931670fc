//! `cargo xtask perf-report`: runs the criterion benchmarks and the device benchmark, then
//! writes `docs/perf-report.md` (tables against the targets) and
//! `docs/perf-cost-per-candidate.svg` (cost per candidate against N).
//!
//! The host figures are wall-clock throughputs of one criterion run on this machine; the
//! device figures are QEMU instruction counts (deterministic, not cycles).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde_json::Value;

use crate::bench::{self, DeviceLine};
use crate::util::{cargo, root, run, say, Result};

/// Host batch sizes and profiles of `benches/benches/rank.rs`.
const HOST_SIZES: [u64; 4] = [64, 256, 1024, 4096];
const HOST_PROFILES: [&str; 2] = ["tiktok", "x"];
const HOST_BENCHES: [&str; 4] = ["score", "topk", "rank", "reference_f64"];

/// Where criterion writes its estimates: `$CARGO_TARGET_DIR/criterion`, else `target/criterion`.
fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target")).join("criterion")
}

/// Mean time of one iteration in nanoseconds, from criterion's `estimates.json`.
fn mean_ns(group: &str, bench: &str, n: u64) -> Result<f64> {
    let path = criterion_dir().join(group).join(bench).join(n.to_string()).join("new/estimates.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    v["mean"]["point_estimate"].as_f64().ok_or_else(|| format!("{}: no mean.point_estimate", path.display()))
}

/// Candidates per second of each (profile, bench, N).
type HostTable = BTreeMap<(String, String, u64), f64>;

fn host_throughputs() -> Result<HostTable> {
    let mut table = HostTable::new();
    for profile in HOST_PROFILES {
        for bench in HOST_BENCHES {
            for n in HOST_SIZES {
                let ns = mean_ns(profile, bench, n)?;
                table.insert((profile.into(), bench.into(), n), n as f64 / (ns * 1e-9));
            }
        }
    }
    Ok(table)
}

fn millions(x: f64) -> String {
    format!("{:.2} M/s", x / 1e6)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

fn host_section(md: &mut String, host: &HostTable) {
    md.push_str("## Host (criterion, one core, candidates per second)\n\n");
    md.push_str("| profile | N | score only | top-K only | full rank | f64 reference | full rank / reference |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for profile in HOST_PROFILES {
        for n in HOST_SIZES {
            let get = |b: &str| host[&(profile.to_string(), b.to_string(), n)];
            md.push_str(&format!(
                "| {profile} | {n} | {} | {} | {} | {} | {:.2}x |\n",
                millions(get("score")),
                millions(get("topk")),
                millions(get("rank")),
                millions(get("reference_f64")),
                get("rank") / get("reference_f64")
            ));
        }
    }
    md.push('\n');
}

fn device_section(md: &mut String, lines: &[DeviceLine]) {
    md.push_str("## Device (QEMU `-icount shift=0`: instructions, not cycles; K = 32, X profile)\n\n");
    md.push_str("| target | N | MACs/candidate | instructions/candidate | f32 instructions/candidate | f32 / fixed | text | data | bss | stack peak, cold boot | stack peak, warm boot | RAM (data+bss+deeper stack) |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for l in lines {
        md.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.1}x | {} | {} | {} | {} | {} | {} |\n",
            l.target,
            l.candidates,
            l.macs_per_candidate,
            l.instructions_per_candidate,
            l.f32_instructions_per_candidate,
            l.f32_instructions_per_candidate / l.instructions_per_candidate,
            l.text,
            l.data,
            l.bss,
            l.stack_peak,
            l.stack_peak_warm,
            l.ram()
        ));
    }
    md.push('\n');
}

fn targets_section(md: &mut String, host: &HostTable, lines: &[DeviceLine]) -> Result {
    let worst_host_rank =
        HOST_PROFILES.iter().map(|p| host[&(p.to_string(), "rank".into(), 4096)]).fold(f64::INFINITY, f64::min);
    let worst_host_ratio = HOST_PROFILES
        .iter()
        .map(|p| host[&(p.to_string(), "rank".into(), 4096)] / host[&(p.to_string(), "reference_f64".into(), 4096)])
        .fold(f64::INFINITY, f64::min);
    md.push_str("## Targets (default model, N = 256, K = 32 unless said)\n\n");
    md.push_str("| target | goal | measured | |\n|---|---|---:|---|\n");
    let host_rows = [
        ("Host full rank, N = 4096 (slowest profile)", ">= 50 M/s", millions(worst_host_rank), worst_host_rank >= 50e6),
        (
            "Host full rank / f64 reference, N = 4096",
            ">= 5x",
            format!("{worst_host_ratio:.2}x"),
            worst_host_ratio >= 5.0,
        ),
    ];
    let device_rows = bench::device_targets(lines)?.into_iter().map(|t| (t.what, t.goal, t.measured, t.met));
    for (what, goal, measured, ok) in device_rows.chain(host_rows) {
        md.push_str(&format!("| {what} | {goal} | {measured} | {} |\n", verdict(ok)));
    }
    md.push('\n');
    Ok(())
}

fn plot(path: &Path, host: &HostTable, lines: &[DeviceLine]) -> Result {
    let root_area = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root_area.fill(&WHITE).map_err(|e| e.to_string())?;
    let max_y = lines.iter().map(|l| l.instructions_per_candidate).fold(1000.0, f64::max) * 1.2;
    let mut chart = ChartBuilder::on(&root_area)
        .caption("edgerank: cost per candidate against N (K = 32)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d((16u64..8192u64).log_scale(), (30.0f64..max_y).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("candidates per request (N)")
        .y_desc("instructions per candidate (device) / ns per candidate x 10 (host)")
        .draw()
        .map_err(|e| e.to_string())?;
    let series: [(&str, RGBColor); 2] = [("thumbv7em-none-eabihf", BLUE), ("thumbv6m-none-eabi", RED)];
    for (target, color) in series {
        let pts: Vec<(u64, f64)> =
            lines.iter().filter(|l| l.target == target).map(|l| (l.candidates, l.instructions_per_candidate)).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(format!("{target}: instructions/candidate (QEMU)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled()))).map_err(|e| e.to_string())?;
    }
    for (profile, color) in [("tiktok", GREEN), ("x", MAGENTA)] {
        // ns per candidate x 10 puts the host curve on the same axis as instruction counts.
        let pts: Vec<(u64, f64)> =
            HOST_SIZES.iter().map(|&n| (n, 1e10 / host[&(profile.to_string(), "rank".into(), n)])).collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(format!("host {profile}: full rank, ns/candidate x 10"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| e.to_string())?;
    root_area.present().map_err(|e| e.to_string())
}

pub fn perf_report(skip_runs: bool) -> Result {
    if !skip_runs {
        say("criterion benchmarks (benches/benches/rank.rs)");
        run(cargo().current_dir(root()).args([
            "bench",
            "-p",
            "edgerank-benches",
            "--bench",
            "rank",
            "--",
            "--noplot",
        ]))?;
        bench::measure()?;
    }
    let host = host_throughputs()?;
    let lines = bench::read_lines(&bench::jsonl_path())?;
    let docs = root().join("docs");
    fs::create_dir_all(&docs).map_err(|e| format!("{}: {e}", docs.display()))?;
    let svg = docs.join("perf-cost-per-candidate.svg");
    plot(&svg, &host, &lines)?;

    let mut md = String::new();
    md.push_str("# edgerank performance report\n\n");
    md.push_str(
        "Written by `cargo xtask perf-report` (criterion benchmarks in `benches/`, then `cargo xtask device-bench`).\n",
    );
    md.push_str("Host figures are one criterion run on the machine that wrote this report (wall clock, one core);\n");
    md.push_str("device figures are QEMU instruction counts, deterministic and gated in CI by `benches/device-budget.json`.\n\n");
    md.push_str("![cost per candidate against N](perf-cost-per-candidate.svg)\n\n");
    targets_section(&mut md, &host, &lines)?;
    host_section(&mut md, &host);
    device_section(&mut md, &lines);
    let path = docs.join("perf-report.md");
    fs::write(&path, md).map_err(|e| format!("{}: {e}", path.display()))?;
    say(format!("wrote {} and {}", path.display(), svg.display()));
    Ok(())
}
