//! Throughput of the ranking core against the straightforward f64 way, side by side.
//!
//! Groups, for N in {64, 256, 1024, 4096}, K = 32, TikTok and X profiles:
//! - `score`: filters, features, heads and non-positional factors for every candidate;
//! - `topk`: bounded top-K selection of already scored entries;
//! - `rank`: the full rank (score, pools, re-rank);
//! - `reference_f64`: the same models and rules in f64, the straightforward way: every
//!   candidate's light score computed, the whole batch sorted by it, the full model on the
//!   profile's shortlist (which it re-hydrates: up to 48 candidates plus exploration ones),
//!   the scored pools sorted whole; no early rejection and no bounded heaps.
//!
//! Throughput is in candidates per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

use edgerank_benches::{batch, NOW};
use edgerank_core::input::{CandidateFlags, ContentKind};
use edgerank_core::model::Model;
use edgerank_core::num::LogScore;
use edgerank_core::pipeline::select::{Pool, PoolEntry};
use edgerank_core::pipeline::{rank, score_candidate, RankContext};
use edgerank_core::profile::{Platform, Profile};
use edgerank_core::reference::{self, FloatModel, RefScored};

const SIZES: [usize; 4] = [64, 256, 1024, 4096];
const K: usize = 32;

fn benches(c: &mut Criterion) {
    let model = Model::default();
    for platform in [Platform::TikTok, Platform::X] {
        let cfg = platform.config();
        let profile = Profile::compile(cfg.clone()).expect("built-in profile");
        let mut group = c.benchmark_group(platform.name());
        for n in SIZES {
            let (candidates, user) = batch(n, n as u64);
            let ctx = RankContext { model: &model, profile: &profile, user: &user, now: NOW };
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new("score", n), &candidates, |b, cands| {
                b.iter(|| {
                    let mut best = LogScore::ZERO_VALUE;
                    for cand in cands {
                        if let Some(s) = score_candidate(&ctx, cand) {
                            best = best.max(s);
                        }
                    }
                    black_box(best)
                })
            });
            let entries: Vec<PoolEntry> = candidates
                .iter()
                .enumerate()
                .filter_map(|(i, cand)| {
                    let score = score_candidate(&ctx, cand)?;
                    Some(PoolEntry {
                        key: score,
                        score,
                        item_id: cand.item_id,
                        author_id: cand.author_id,
                        index: i as u16,
                        kind: ContentKind::Text,
                        flags: CandidateFlags::default(),
                    })
                })
                .collect();
            group.bench_with_input(BenchmarkId::new("topk", n), &entries, |b, entries| {
                b.iter(|| {
                    let mut pool = Pool::<K>::new();
                    for e in entries {
                        pool.offer(*e);
                    }
                    black_box(pool.sorted().len())
                })
            });
            group.bench_with_input(BenchmarkId::new("rank", n), &candidates, |b, cands| {
                b.iter(|| black_box(rank::<4096, K>(&ctx, cands, K).expect("within capacity")))
            });
            let mut scratch =
                vec![
                    RefScored { index: 0, score: 0.0f64, light: 0.0, explore: false, organic: false, taken: false };
                    n
                ];
            // A float ranker keeps its model in floats: converted once, outside the timing.
            let float_model = FloatModel::<f64>::new(&model);
            group.bench_with_input(BenchmarkId::new("reference_f64", n), &candidates, |b, cands| {
                b.iter(|| black_box(reference::rank::<f64, K>(&float_model, &cfg, &user, NOW, cands, K, &mut scratch)))
            });
        }
        group.finish();
    }
}

criterion_group!(rank_benches, benches);
criterion_main!(rank_benches);
