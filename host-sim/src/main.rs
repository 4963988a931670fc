//! `edgerank-sim`: the host simulator's command line.
//!
//! Subcommands live in [`Command`]; each has its own argument struct and a `run` function,
//! so adding one (e.g. `train`) is a new variant, a new struct and a new arm.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use edgerank_core::model::Model;
use edgerank_sim::device::check::DeviceKind;
use edgerank_sim::server::RateBasis;
use edgerank_sim::sim::{run_compare, CompareConfig, Progress};
use edgerank_sim::{parity, report};

/// Feed-world simulator for the edgerank ranking core.
#[derive(Parser, Debug)]
#[command(name = "edgerank-sim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every ranking policy on the same simulated users and write a comparison.
    Compare(CompareArgs),
    /// Compare the fixed-point core with the f64 reference on random rank requests.
    Parity(ParityArgs),
    /// Fit the core's model heads to simulated logs, report held-out AUC / XAUC, export the blob.
    Train(TrainArgs),
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// Simulated users.
    #[arg(long, default_value_t = 2_000)]
    users: usize,
    /// Seed of the world, the sessions and the train / held-out split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Logged days.
    #[arg(long, default_value_t = 3.0)]
    days: f64,
    /// Warm-up days before logging.
    #[arg(long, default_value_t = 1.0)]
    warmup_days: f64,
    /// Items per ranked page.
    #[arg(long, default_value_t = 20)]
    page_size: usize,
    /// Candidates the server sends per session.
    #[arg(long, default_value_t = 240)]
    batch: usize,
    /// Share of users held out for evaluation.
    #[arg(long, default_value_t = 0.2)]
    holdout: f64,
    /// L2 penalty on the weights, per unit of sample weight.
    #[arg(long, default_value_t = 1e-4)]
    l2: f64,
    /// Social proof on displayed like counts in the world: a like's logit rises by this much
    /// per decade of the item's likes (0, the default, leaves the world without it).
    #[arg(long, default_value_t = 0.0)]
    like_social_proof: f64,
    /// Also log each scripted inauthentic action (pod members, sock puppets, reshare bots) as
    /// a row, as a platform's logs would hold it (it cannot tell those accounts from users).
    #[arg(long)]
    log_inauthentic: bool,
    /// Output directory for model.blob and train.json (created if missing).
    #[arg(long, default_value = "train-out")]
    out: PathBuf,
    /// Also write the model as the core's default: DIR/default.rs and DIR/default.blob
    /// (DIR is core/src/model).
    #[arg(long)]
    write_default: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// Simulated users.
    #[arg(long, default_value_t = 2_000)]
    users: usize,
    /// Seed: the same seed reproduces every output (timings aside).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
    /// Measured days.
    #[arg(long, default_value_t = 3.0)]
    days: f64,
    /// Warm-up days before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup_days: f64,
    /// Items per ranked page.
    #[arg(long, default_value_t = 20)]
    page_size: usize,
    /// Candidates the server sends per session.
    #[arg(long, default_value_t = 240)]
    batch: usize,
    /// Meaning of the author engagement rate sent to the device.
    #[arg(long, value_enum, default_value_t = RateBasis::PerFollower)]
    author_rate: RateBasis,
    /// Social proof on displayed like counts in the world: a like's logit rises by this much
    /// per decade of the item's likes (0, the default, leaves the world without it).
    #[arg(long, default_value_t = 0.0)]
    like_social_proof: f64,
    /// Only these policies (comma-separated; default all).
    #[arg(long, value_delimiter = ',')]
    policies: Vec<String>,
    /// Light-pass shortlist of the six platform profiles' policies (default: the profiles'
    /// own, 48, which is also the most a rank session holds; 0 scores every candidate with the
    /// full model; otherwise at least --page-size): what two-stage ranking costs.
    #[arg(long)]
    shortlist: Option<u16>,
    /// Rank with this model blob (as `train` writes it: OUT/model.blob) instead of the
    /// default model. Not with --device.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the SVG plots.
    #[arg(long)]
    no_plots: bool,
    /// Policies that also run in five counterfactual worlds, each the same world with one kind
    /// of inauthentic account not gaming: what its gaming buys it under them (comma-separated;
    /// only those among the policies that run, in the policies' order; five runs each). None
    /// with --device.
    #[arg(long, value_delimiter = ',', default_value = "engagement_only", conflicts_with = "device")]
    counterfactual: Vec<String>,
    /// No counterfactual runs.
    #[arg(long, conflicts_with = "counterfactual")]
    no_counterfactual: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Also rank every call of the core policies on this device (the protocol firmware in
    /// QEMU, built by `cargo xtask firmware`) and fail on any page that differs from the
    /// in-process core's. For a few users: one emulated device per user and policy.
    #[arg(long, value_enum)]
    device: Option<DeviceKind>,
}

#[derive(Args, Debug)]
struct ParityArgs {
    /// Random requests (up to 256 candidates each, all six profiles, random user histories).
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Seed of the requests (the default is the one the parity test uses).
    #[arg(long, default_value_t = 0xED6E_2A4C)]
    seed: u64,
    /// Compare with this model blob (as `train` writes it) instead of the default model.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Print the figures as one JSON object.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Progress on an indicatif bar (hidden when stderr is not a terminal).
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new(quiet: bool) -> Self {
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar { bar }
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:36}] {percent:>3}% {msg:<20} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        self.bar.set_prefix(name.to_string());
    }
    fn inc(&self, n: u64) {
        self.bar.inc(n);
    }
    fn message(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }
}

/// Creates `dir` if needed and checks that a file can be written in it, before a run whose
/// results would otherwise be lost at the end.
fn writable_dir(dir: &std::path::Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write to {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".edgerank-sim-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

fn set_threads(threads: Option<usize>) -> Result<(), String> {
    if let Some(t) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn parity(a: ParityArgs) -> Result<(), String> {
    set_threads(a.threads)?;
    // Each request's figures are kept for the summary: a bound that fits memory.
    const MAX_REQUESTS: usize = 100_000_000;
    if !(1..=MAX_REQUESTS).contains(&a.requests) {
        return Err(format!("--requests must be in 1..={MAX_REQUESTS}"));
    }
    let model = match &a.model {
        Some(path) => edgerank_sim::sim::load_model(path)?,
        None => Model::default(),
    };
    let bar = Bar::new(a.quiet);
    let report = parity::run_with_progress(&model, a.requests, a.seed, &bar);
    bar.bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    if a.json {
        let _ = writeln!(out, "{}", report.to_json());
    } else {
        let _ = writeln!(
            out,
            "{} requests, seed {}\nKendall tau: min {:.5}, mean {:.6}\nrequests with tau >= 0.995: {:.2} %\n\
             identical top-10 sets: {:.2} %\nidentical top-10 sets of the page continued after its first 3 items: {:.2} %\n\
             over resolvable pairs ({:.2} % of pairs): Kendall tau min {:.5}\n\
             for scale, the reference in f32 vs f64: Kendall tau min {:.5}, requests with tau >= 0.995: {:.2} %",
            report.requests,
            a.seed,
            report.kendall_tau_min,
            report.kendall_tau_mean,
            100.0 * report.tau_at_least_0995_share,
            100.0 * report.top10_identical_share,
            100.0 * report.continued_top10_identical_share,
            100.0 * report.resolvable_pair_share_mean,
            report.kendall_tau_resolvable_min,
            report.f32_kendall_tau_min,
            100.0 * report.f32_tau_at_least_0995_share
        );
    }
    Ok(())
}

fn compare(a: CompareArgs) -> Result<(), String> {
    set_threads(a.threads)?;
    let cfg = CompareConfig {
        users: a.users,
        seed: a.seed,
        days: a.days,
        warmup_days: a.warmup_days,
        page_size: a.page_size,
        batch_size: a.batch,
        author_rate: a.author_rate,
        policies: a.policies,
        shortlist: a.shortlist,
        device: a.device,
        // What runs is what the summary's configuration records.
        counterfactual: if a.no_counterfactual || a.device.is_some() { Vec::new() } else { a.counterfactual },
        world: edgerank_sim::world::WorldParams {
            like_social_proof: a.like_social_proof,
            ..edgerank_sim::world::WorldParams::default()
        },
        model_file: a.model,
        ..CompareConfig::default()
    };
    edgerank_sim::sim::validate(&cfg)?;
    writable_dir(&a.out)?;
    let bar = Bar::new(a.quiet);
    let summary = run_compare(&cfg, &bar)?;
    bar.message("writing reports");
    let written = if a.no_plots {
        let writing = |e: std::io::Error| format!("writing {}: {e}", a.out.display());
        let json = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
        std::fs::write(a.out.join("summary.json"), json + "\n").map_err(writing)?;
        let mut w = vec![a.out.join("summary.json")];
        w.extend(report::csv::write(&summary, &a.out).map_err(writing)?);
        w
    } else {
        report::write_all(&summary, &a.out).map_err(|e| format!("writing {}: {e}", a.out.display()))?
    };
    bar.bar.finish_and_clear();
    // A closed pipe (`| head`) is not an error worth a panic.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "edgerank-sim compare: {} users, seed {}, {} + {} days, {} sessions in {:.1} s ({:.0} sessions/s, {} threads)\n",
        cfg.users, cfg.seed, cfg.warmup_days, cfg.days, summary.sessions, summary.elapsed_s, summary.sessions_per_second, summary.threads
    );
    let _ = write!(out, "{}", report::table::render(&summary));
    if !cfg.counterfactual.is_empty() && summary.counterfactuals.is_empty() {
        let _ = writeln!(
            out,
            "\nno counterfactual runs: none of --counterfactual {} is among the policies",
            cfg.counterfactual.join(",")
        );
    }
    if let Some(d) = &summary.device_check {
        let _ = writeln!(
            out,
            "\ndevice check: {} rank calls on {} emulated devices, {} byte-identical to the in-process core \
             ({} feedback events sent)",
            d.rank_calls, d.devices, d.identical, d.feedback_events
        );
    }
    let _ = writeln!(out, "\nwrote {} files to {}", written.len(), a.out.display());
    Ok(())
}

fn train(a: TrainArgs) -> Result<(), String> {
    use edgerank_sim::train::{codegen, render, run_train, TrainConfig};
    if let Some(t) = a.threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global().map_err(|e| e.to_string())?;
    }
    let cfg = TrainConfig {
        users: a.users,
        seed: a.seed,
        days: a.days,
        warmup_days: a.warmup_days,
        page_size: a.page_size,
        batch_size: a.batch,
        holdout: a.holdout,
        l2: a.l2,
        log_inauthentic: a.log_inauthentic,
        like_social_proof: a.like_social_proof,
    };
    edgerank_sim::train::validate(&cfg)?;
    writable_dir(&a.out)?;
    if let Some(dir) = &a.write_default {
        // The core's model folder: written into, never created.
        if !dir.is_dir() {
            return Err(format!("--write-default: {} is not a directory (the core's src/model)", dir.display()));
        }
        writable_dir(dir)?;
    }
    let bar = Bar::new(a.quiet);
    let trained = run_train(&cfg, &bar)?;
    bar.bar.finish_and_clear();
    let mut written = vec![a.out.join("model.blob"), a.out.join("train.json")];
    std::fs::write(&written[0], codegen::blob(&trained.model)?).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&trained.report).map_err(|e| e.to_string())?;
    std::fs::write(&written[1], json + "\n").map_err(|e| e.to_string())?;
    if let Some(dir) = &a.write_default {
        written.extend(codegen::write_default(dir, &trained.model, &trained.report)?);
    }
    let r = &trained.report;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "edgerank-sim train: {} users, seed {}: {} training views, {} held-out views ({} sessions); model id 0x{:08X}, {} MACs per candidate\n",
        cfg.users, cfg.seed, r.train_rows, r.test_rows, r.test_sessions, r.model_id, r.macs_per_candidate
    );
    let _ = write!(out, "{}", render(r));
    let _ = writeln!(out);
    if r.watch_quantiles_clipped > 0 {
        let _ = writeln!(
            out,
            "note: {} watch-time quantile table entries exceed the core's largest watch time (2047.97 s) and were stored at it\n",
            r.watch_quantiles_clipped
        );
    }
    for p in &written {
        let _ = writeln!(out, "wrote {}", p.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compare(a) => compare(a),
        Command::Parity(a) => parity(a),
        Command::Train(a) => train(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
