//! Runs the full rank on a fixed batch many times: a target for profilers
//! (`valgrind --tool=callgrind`, `perf record`). Arguments: iterations (50) and batch size
//! (4096, the most it takes).

use edgerank_benches::{batch, NOW};
use edgerank_core::model::Model;
use edgerank_core::pipeline::{rank, RankContext};
use edgerank_core::profile::{Platform, Profile};

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let model = Model::default();
    let profile = Profile::compile(Platform::TikTok.config()).expect("built-in profile");
    let n: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(4096).min(4096);
    let (candidates, user) = batch(n, n as u64);
    let ctx = RankContext { model: &model, profile: &profile, user: &user, now: NOW };
    let mut checksum = 0u64;
    for _ in 0..iterations {
        let page = rank::<4096, 32>(&ctx, &candidates, 32).expect("within capacity");
        checksum = checksum.wrapping_add(page.items.iter().map(|i| i.item_id as u64).sum::<u64>());
    }
    println!("{checksum}");
}
