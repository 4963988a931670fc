//! `edgerank-sim`: the host simulator's command line.
//!
//! Subcommands live in [`Command`]; each has its own argument struct and a `run` function,
//! so adding one (e.g. `train`, `parity`) is a new variant, a new struct and a new arm.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use edgerank_sim::report;
use edgerank_sim::server::RateBasis;
use edgerank_sim::sim::{run_compare, CompareConfig, Progress};

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
    #[arg(long, value_enum, default_value_t = RateBasis::PerImpression)]
    author_rate: RateBasis,
    /// Only these policies (comma-separated; default all).
    #[arg(long, value_delimiter = ',')]
    policies: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the SVG plots.
    #[arg(long)]
    no_plots: bool,
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

fn compare(a: CompareArgs) -> Result<(), String> {
    if let Some(t) = a.threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global().map_err(|e| e.to_string())?;
    }
    let cfg = CompareConfig {
        users: a.users,
        seed: a.seed,
        days: a.days,
        warmup_days: a.warmup_days,
        page_size: a.page_size,
        batch_size: a.batch,
        author_rate: a.author_rate,
        policies: a.policies,
        ..CompareConfig::default()
    };
    let bar = Bar::new(a.quiet);
    let summary = run_compare(&cfg, &bar)?;
    bar.message("writing reports");
    let written = if a.no_plots {
        std::fs::create_dir_all(&a.out).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
        std::fs::write(a.out.join("summary.json"), json + "\n").map_err(|e| e.to_string())?;
        let mut w = vec![a.out.join("summary.json")];
        w.extend(report::csv::write(&summary, &a.out).map_err(|e| e.to_string())?);
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
    };
    let bar = Bar::new(a.quiet);
    let trained = run_train(&cfg, &bar)?;
    bar.bar.finish_and_clear();
    std::fs::create_dir_all(&a.out).map_err(|e| format!("creating {}: {e}", a.out.display()))?;
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
    for p in &written {
        let _ = writeln!(out, "wrote {}", p.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compare(a) => compare(a),
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
