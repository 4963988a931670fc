//! The comparison driver: one world, every policy, the same users and sessions; and
//! engagement-only (or other chosen policies) again in five counterfactual worlds
//! ([`Counterfactual`]).
//!
//! Runs go a few at a time (as many as there are threads, so memory holds that many runs'
//! users, and the worlds of counterfactual ones). Within a run, time advances in ticks: at
//! each tick the server applies scripted activity and updates its pools, the tick's sessions run in parallel (one task per
//! user, each reading the same counter snapshot), and their views are merged back in user
//! order. No result depends on thread scheduling.

use std::time::Instant;

use edgerank_core::model::Model;
use rayon::prelude::*;
use serde::Serialize;

use crate::device::check::{DeviceCheck, DeviceConfig, DeviceKind, DeviceReport, DEVICE_MAX_CANDIDATES};
use crate::metrics::{self, Denominators, PolicyMetrics, PolicyRun, REACH_HOURS};
use crate::policy::{Policy, MAX_BATCH, MAX_PAGE};
use crate::server::{RateBasis, Server};
use crate::session::{run_session, SessionEnv, TaskOut, UserDyn, MEASURED};
use crate::world::{Creator, CreatorKind, World, WorldParams, WorldStats, HOUR};

/// Settings of a comparison run.
#[derive(Clone, Debug, Serialize)]
pub struct CompareConfig {
    /// Simulated users.
    pub users: usize,
    /// Seed of everything.
    pub seed: u64,
    /// Measured days.
    pub days: f64,
    /// Warm-up days before measuring (counters and user states fill up).
    pub warmup_days: f64,
    /// Items per ranked page.
    pub page_size: usize,
    /// Candidates the server sends per session.
    pub batch_size: usize,
    /// Tick length, seconds (server counters and pools refresh once per tick).
    pub tick_s: u32,
    /// Meaning of the author engagement rate sent to the device.
    pub author_rate: RateBasis,
    /// Policies to run (empty: all).
    pub policies: Vec<String>,
    /// Light-pass shortlist for the platform profiles' policies (`None`: their own).
    pub shortlist: Option<u16>,
    /// World parameters.
    pub world: WorldParams,
    /// Also rank every call of the core policies on this device and require the same pages
    /// (`--device qemu`; for a few users: one emulated device per user and policy).
    pub device: Option<DeviceKind>,
    /// Policies that also run in the five counterfactual worlds, one per inauthentic kind (see
    /// [`Counterfactual`]): those of them that run at all (in `policies`). Default
    /// `engagement_only`; empty for none. None with `device` (those runs are for a few
    /// users, and the counterfactual runs would not be device-checked).
    pub counterfactual: Vec<String>,
    /// A model blob to rank with (as `train` writes it) instead of the default model; not
    /// with `device` (the firmware ranks with its own default).
    pub model_file: Option<std::path::PathBuf>,
}

/// Reads a model blob (as `train` writes it), checking its checksum, version and bounds.
pub fn load_model(path: &std::path::Path) -> Result<Model, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading the model {}: {e}", path.display()))?;
    Model::from_blob(&bytes).map_err(|e| format!("{} is not a valid model blob: {e}", path.display()))
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            users: 2_000,
            seed: 42,
            days: 3.0,
            warmup_days: 1.0,
            page_size: 20,
            batch_size: 240,
            tick_s: 600,
            author_rate: RateBasis::PerFollower,
            policies: Vec::new(),
            shortlist: None,
            world: WorldParams::default(),
            device: None,
            counterfactual: vec![DEFAULT_COUNTERFACTUAL_POLICY.to_string()],
            model_file: None,
        }
    }
}

/// The policy that runs in the counterfactual worlds by default: the one the gaming targets.
pub const DEFAULT_COUNTERFACTUAL_POLICY: &str = "engagement_only";

/// What gaming buys each kind of inauthentic account under one policy (engagement-only by
/// default). For each kind, the world is generated again with [`WorldParams::without_gaming`]
/// set to it: the same accounts, posts, users and sessions, but bought-follower accounts
/// bought none and follow farms harvest no follow-backs (both also lose the follows that
/// social proof drew to them), and pods, coordinated groups and reshare-bot networks leave
/// their members', clients' and network's posts alone (posting bots still post on their
/// schedule: the posts are the accounts' own). Everything else games as usual, so the kinds
/// still compete with each other for the top 10. The policy ranks every world; a kind's share
/// of the top-10 positions in the real world divided by its share in its counterfactual world
/// is what its gaming raised that share by.
#[derive(Clone, Debug, Serialize)]
pub struct Counterfactual {
    /// The policy.
    pub policy: String,
    /// One entry per inauthentic kind.
    pub kinds: Vec<GamingGain>,
}

/// One inauthentic kind's top-10 share with and without its gaming (see [`Counterfactual`]).
#[derive(Clone, Debug, Serialize)]
pub struct GamingGain {
    /// Kind (snake_case, as in `inauthentic_top10_by_kind`).
    pub kind: String,
    /// Its share of the policy's top-10 positions in the real world.
    pub top10_share: f64,
    /// The same in the world where only this kind does not game.
    pub top10_share_without_gaming: f64,
    /// `top10_share / top10_share_without_gaming` (above 1: its gaming raised its share);
    /// `None` (`null`) when the kind held no top-10 position without its gaming.
    pub top10_gain: Option<f64>,
    /// All inauthentic kinds' top-10 share in that world (the real world's is the policy's
    /// `inauthentic_top10_share`).
    pub inauthentic_top10_share_without_gaming: f64,
    /// Sessions measured in that world.
    pub sessions: u64,
}

impl Counterfactual {
    fn new(with: &PolicyMetrics, without: &[(CreatorKind, PolicyMetrics)]) -> Self {
        let kinds = without
            .iter()
            .map(|(kind, m)| {
                let share = |p: &PolicyMetrics| p.inauthentic_top10_by_kind.get(kind.name()).copied().unwrap_or(0.0);
                let (a, b) = (share(with), share(m));
                GamingGain {
                    kind: kind.name().to_string(),
                    top10_share: a,
                    top10_share_without_gaming: b,
                    top10_gain: (b > 0.0).then(|| a / b),
                    inauthentic_top10_share_without_gaming: m.inauthentic_top10_share,
                    sessions: m.sessions,
                }
            })
            .collect();
        Counterfactual { policy: with.name.clone(), kinds }
    }

    /// The entry of one kind.
    pub fn kind(&self, kind: CreatorKind) -> Option<&GamingGain> {
        self.kinds.iter().find(|g| g.kind == kind.name())
    }
}

/// Most users a device-checked run may have (each user of each core policy is one QEMU).
pub const DEVICE_MAX_USERS: usize = 50;

/// Receives progress (the CLI draws bars; tests pass [`NoProgress`]).
pub trait Progress: Sync {
    /// A new phase with `total` steps.
    fn phase(&self, _name: &str, _total: u64) {}
    /// Steps done.
    fn inc(&self, _n: u64) {}
    /// Free-form status.
    fn message(&self, _msg: &str) {}
}

/// Ignores progress.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Everything a comparison produced.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Schema version of this document.
    pub schema_version: u32,
    /// The settings.
    pub config: CompareConfig,
    /// Sessions simulated, over all runs (policies and counterfactual runs), warm-up included.
    pub sessions: u64,
    /// Sessions per wall-clock second of the simulation loop (the real world's generation
    /// excluded; counterfactual worlds are generated inside the loop).
    pub sessions_per_second: f64,
    /// Wall-clock seconds of the whole run.
    pub elapsed_s: f64,
    /// Threads used.
    pub threads: usize,
    /// The world.
    pub world: WorldStats,
    /// One entry per policy, in run order.
    pub policies: Vec<PolicyMetrics>,
    /// What each kind's gaming buys it under each policy of `config.counterfactual` that ran,
    /// in the policies' order (engagement-only by default; none with `--no-counterfactual` or
    /// `--device`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub counterfactuals: Vec<Counterfactual>,
    /// With `--device`: rank calls sent to the device and how many were byte-identical to
    /// the in-process core (a run with any difference fails instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_check: Option<DeviceReport>,
}

impl Summary {
    /// A policy's metrics by name.
    pub fn policy(&self, name: &str) -> Option<&PolicyMetrics> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// Mutable references to the elements at `sorted` (strictly increasing) indices.
fn pick_mut<'a, T>(mut slice: &'a mut [T], sorted: &[usize]) -> Vec<&'a mut T> {
    let mut out = Vec::with_capacity(sorted.len());
    let mut base = 0;
    for &i in sorted {
        let (_, rest) = std::mem::take(&mut slice).split_at_mut(i - base);
        let (first, rest) = rest.split_first_mut().expect("index in range and increasing");
        out.push(first);
        slice = rest;
        base = i + 1;
    }
    out
}

/// Most simulated users in a run: user ids are 32-bit, and each user holds a device state of a
/// few KiB (a million users take hours on a laptop and several GiB).
pub const MAX_USERS: usize = 1_000_000;

/// Validates a configuration.
pub fn validate(cfg: &CompareConfig) -> Result<(), String> {
    let known = Policy::names();
    for p in &cfg.counterfactual {
        if !known.contains(p) {
            return Err(format!("--counterfactual: unknown policy {p:?}; known: {}", known.join(", ")));
        }
    }
    if !(1..=MAX_USERS).contains(&cfg.users) {
        return Err(format!("--users must be in 1..={MAX_USERS}"));
    }
    if !(1..=MAX_PAGE).contains(&cfg.page_size) {
        return Err(format!("--page-size must be in 1..={MAX_PAGE}"));
    }
    if let Some(shortlist) = cfg.shortlist {
        // A shortlist shorter than the page leaves the page short of organic items: the
        // comparison would measure empty slots, not two-stage ranking.
        if shortlist != 0
            && ((shortlist as usize) < cfg.page_size || shortlist as usize > edgerank_core::pipeline::MAX_SHORTLIST)
        {
            return Err(format!(
                "--shortlist must be 0 (every candidate gets the full model) or {} (the page size) to {} (the most a rank session holds)",
                cfg.page_size,
                edgerank_core::pipeline::MAX_SHORTLIST
            ));
        }
    }
    if !(cfg.world.like_social_proof >= 0.0 && cfg.world.like_social_proof <= 5.0) {
        return Err("--like-social-proof must be in [0, 5]".into());
    }
    if !(cfg.page_size..=MAX_BATCH).contains(&cfg.batch_size) {
        return Err(format!("--batch must be in {}..={MAX_BATCH}", cfg.page_size));
    }
    if !(cfg.days > 0.0 && cfg.days <= 60.0 && (0.0..=30.0).contains(&cfg.warmup_days)) {
        return Err("--days must be in (0, 60] and --warmup-days in [0, 30]".into());
    }
    if !(60..=3_600).contains(&cfg.tick_s) {
        return Err("tick must be 60..=3600 s".into());
    }
    if cfg.device.is_some() {
        if cfg.model_file.is_some() {
            return Err("--model with --device: the firmware ranks with its built-in default model".into());
        }
        if cfg.users > DEVICE_MAX_USERS {
            return Err(format!("--device runs one emulated device per user: at most {DEVICE_MAX_USERS} users"));
        }
        if cfg.batch_size > DEVICE_MAX_CANDIDATES {
            return Err(format!("--device: the firmware takes at most {DEVICE_MAX_CANDIDATES} candidates (--batch)"));
        }
    }
    for p in &cfg.policies {
        if !known.contains(p) {
            return Err(format!("unknown policy {p:?}; known: {}", known.join(", ")));
        }
    }
    Ok(())
}

/// Runs one policy over the whole horizon.
pub fn run_policy(
    world: &World,
    cfg: &CompareConfig,
    policy: &Policy,
    model: &Model,
    device: Option<&DeviceCheck<'_>>,
    progress: &dyn Progress,
) -> (PolicyRun, u64) {
    let mut server = Server::new(world, cfg.author_rate);
    if let Some(d) = device {
        server = server.with_observer(d);
    }
    let mut users: Vec<UserDyn> = world.users.iter().map(|u| UserDyn::new(&u.initial_follows)).collect();
    let mut run = PolicyRun::new(world.creators.len());
    let small: Vec<bool> = world.creators.iter().map(Creator::is_small_honest).collect();
    let mut cursor = 0;
    let mut sessions = 0u64;
    let mut t0 = world.start;
    while t0 < world.end {
        let t1 = t0 + cfg.tick_s;
        server.advance(t0);
        let lo = cursor;
        while cursor < world.sessions.len() && world.sessions[cursor].start < t1 {
            cursor += 1;
        }
        let plans = &world.sessions[lo..cursor];
        // One task per user (a user may have several sessions in a long tick).
        let mut by_user: Vec<(u32, usize)> = plans.iter().enumerate().map(|(i, p)| (p.user, i)).collect();
        by_user.sort_unstable();
        let mut user_ids: Vec<usize> = by_user.iter().map(|(u, _)| *u as usize).collect();
        user_ids.dedup();
        let refs = pick_mut(&mut users, &user_ids);
        let env =
            SessionEnv { world, server: &server, model, policy, page_size: cfg.page_size, batch_size: cfg.batch_size };
        // `by_user` is sorted by user: its runs line up with `user_ids`.
        let tasks: Vec<(&mut UserDyn, Vec<usize>)> = refs
            .into_iter()
            .zip(by_user.chunk_by(|a, b| a.0 == b.0))
            .map(|(r, run)| (r, run.iter().map(|(_, i)| *i).collect()))
            .collect();
        let outs: Vec<TaskOut> = tasks
            .into_par_iter()
            .map(|(u, mine)| {
                let mut out = TaskOut::default();
                for i in mine {
                    run_session(&env, &plans[i], u, &mut out);
                }
                out
            })
            .collect();
        for out in &outs {
            sessions += out.sessions;
            run.acc.merge(&out.acc);
            for d in &out.deltas {
                server.apply(d);
                let it = &world.items[d.item as usize];
                if d.bits & MEASURED != 0 {
                    run.exposure[it.creator as usize] += 1;
                }
                if !it.sponsored && it.created_at >= world.warmup_end {
                    let h = ((d.at - it.created_at) / HOUR) as usize;
                    if h < REACH_HOURS && it.created_at + (h as u32 + 1) * HOUR <= world.end {
                        run.reach[h] += 1;
                        if small[it.creator as usize] {
                            run.reach_small[h] += 1;
                        }
                    }
                }
            }
        }
        progress.inc(1);
        t0 = t1;
    }
    (run, sessions)
}

/// Runs a full comparison.
pub fn run_compare(cfg: &CompareConfig, progress: &dyn Progress) -> Result<Summary, String> {
    validate(cfg)?;
    let device = cfg.device.map(DeviceConfig::for_kind);
    if let Some(d) = &device {
        d.validate()?;
    }
    let model = match &cfg.model_file {
        Some(path) => load_model(path)?,
        None => Model::default(),
    };
    let started = Instant::now();
    progress.message("generating the world");
    let world = World::generate(cfg.seed, cfg.users, cfg.warmup_days, cfg.days, cfg.world.clone());
    let mut policies = Policy::select(&cfg.policies);
    if let Some(shortlist) = cfg.shortlist {
        for p in &mut policies {
            p.set_shortlist(shortlist);
        }
    }
    let d = Denominators::of(&world);
    // Every run: a policy in the real world, or in a counterfactual one.
    let mut jobs: Vec<(&Policy, Option<CreatorKind>)> = policies.iter().map(|p| (p, None)).collect();
    let counterfactual_policies: Vec<&Policy> = if device.is_some() {
        Vec::new()
    } else {
        policies.iter().filter(|p| cfg.counterfactual.contains(&p.name)).collect()
    };
    for &p in &counterfactual_policies {
        jobs.extend(CreatorKind::INAUTHENTIC.iter().map(|&k| (p, Some(k))));
    }

    let ticks = (world.end - world.start).div_ceil(cfg.tick_s) as u64;
    progress.phase("simulating", ticks * jobs.len() as u64);
    let sim_started = Instant::now();
    // As many runs at once as there are threads (each also runs its sessions in parallel):
    // cores stay busy through each run's sequential tick merges. `at_once` loops take the
    // next run as they finish one, so at most `at_once` runs are under way, and memory holds
    // that many runs' users (and counterfactual worlds). (A thread waiting on its run's
    // sessions may start another loop that has not started yet; its own run then waits on
    // the stack until that one is done, still within the bound.)
    let at_once = rayon::current_num_threads().max(1);
    let mut total_sessions = 0;
    let mut results = Vec::new();
    let mut without_gaming = Vec::new();
    let mut device_report = device.as_ref().map(|_| DeviceReport::default());
    type Run = (PolicyMetrics, u64, Option<DeviceReport>);
    let run_job = |&(policy, without): &(&Policy, Option<CreatorKind>)| -> Result<Run, String> {
        progress.message(&policy.name);
        let refresh = match policy.refresh {
            crate::policy::Refresh::PerItem => "per_item",
            crate::policy::Refresh::PerItemReranked => "per_item_reranked",
            crate::policy::Refresh::PerSession => "per_session",
            crate::policy::Refresh::Never => "never",
        };
        let finish = |name: &str, run: &PolicyRun, d: &Denominators| {
            metrics::finish(name, &policy.profile_name, refresh, policy.integrity(), run, d)
        };
        if let Some(kind) = without {
            // Generated here, so that only the running ones are in memory.
            let params = WorldParams { without_gaming: Some(kind), ..cfg.world.clone() };
            let world = World::generate(cfg.seed, cfg.users, cfg.warmup_days, cfg.days, params);
            let (run, sessions) = run_policy(&world, cfg, policy, &model, None, progress);
            let name = format!("{}_without_{}_gaming", policy.name, kind.name());
            return Ok((finish(&name, &run, &Denominators::of(&world)), sessions, None));
        }
        let check = device.clone().map(|d| DeviceCheck::new(d, &model, policy, world.users.len()));
        let (run, sessions) = run_policy(&world, cfg, policy, &model, check.as_ref(), progress);
        Ok((finish(&policy.name, &run, &d), sessions, check.map(DeviceCheck::finish).transpose()?))
    };
    // `at_once` workers take the next job as they finish one; results keep the job order.
    let next = std::sync::atomic::AtomicUsize::new(0);
    // A failed run (a device check that found a difference) stops the loops early.
    let failed = std::sync::atomic::AtomicBool::new(false);
    let outs: std::sync::Mutex<Vec<Option<Result<Run, String>>>> =
        std::sync::Mutex::new((0..jobs.len()).map(|_| None).collect());
    rayon::scope(|scope| {
        for _ in 0..at_once.min(jobs.len()) {
            scope.spawn(|_| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                if failed.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let out = run_job(job);
                if out.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                outs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(out);
            });
        }
    });
    let outs = outs.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    // The first failure in job order (after a failure, later runs may not have run).
    if let Some(e) = outs.iter().flatten().find_map(|o| o.as_ref().err()) {
        return Err(e.clone());
    }
    for (out, &(_, without)) in outs.into_iter().zip(&jobs) {
        let (m, sessions, report) = out.ok_or("a simulation run did not run")??;
        if let (Some(total), Some(report)) = (device_report.as_mut(), report) {
            total.add(&report);
        }
        total_sessions += sessions;
        match without {
            Some(kind) => without_gaming.push((kind, m)),
            None => results.push(m),
        }
    }
    if results.iter().all(|m| m.sessions == 0) {
        // Every metric would be a ratio over no session (warm-up sessions are not measured).
        return Err("the run had no session in its measured days: try more --users or --days".into());
    }
    // Jobs list each counterfactual policy's five runs together, in `counterfactual_policies` order.
    let counterfactuals = counterfactual_policies
        .iter()
        .zip(without_gaming.chunks(CreatorKind::INAUTHENTIC.len()))
        .map(|(p, runs)| {
            let with = results.iter().find(|m| m.name == p.name).expect("the policy ran in the real world");
            Counterfactual::new(with, runs)
        })
        .collect();
    let sim_s = sim_started.elapsed().as_secs_f64();
    Ok(Summary {
        schema_version: 1,
        config: cfg.clone(),
        sessions: total_sessions,
        sessions_per_second: total_sessions as f64 / sim_s.max(1e-9),
        elapsed_s: started.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
        world: world.stats(),
        policies: results,
        counterfactuals,
        device_check: device_report,
    })
}
