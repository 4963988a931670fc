use edgerank_core::model::Model;
use edgerank_core::pipeline::{rank, RankContext};
use edgerank_core::profile::Profile;
use edgerank_core::reference::{self, RefScored};
use edgerank_tests::{parity, workload};
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let mut shown = 0;
    for r in 0..3000u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(r);
        let req = workload::request(&mut rng, 256);
        let p = parity::compare(&model, &req);
        if p.top10_identical { continue; }
        let cfg = req.platform.config();
        let profile = Profile::compile(cfg.clone()).unwrap();
        let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
        let page = rank::<4096, 32>(&ctx, &req.candidates, req.k).unwrap();
        let mut scratch = vec![RefScored { index: 0, score: 0.0f64, explore: false, taken: false }; req.candidates.len()];
        let rp = reference::rank::<f64, 32>(&model, &cfg, &req.user, req.now, &req.candidates, req.k, &mut scratch).unwrap();
        println!("req {r} {} k {}", req.platform.name(), req.k);
        for i in 0..12.min(page.items.len()).max(12.min(rp.len())) {
            let f = page.items.get(i).map(|x| format!("{:>8} {:>9.5} {:?} in={}", x.item_id, x.score.log2(), x.placement, req.candidates[x.index as usize].flags.in_network())).unwrap_or_default();
            let g = rp.get(i).map(|x| format!("{:>8} {:>9.5} {:?}", x.item_id, x.score, x.placement)).unwrap_or_default();
            println!("  {i:2} {f:50} | {g}");
        }
        shown += 1; if shown >= 4 { break; }
    }
}
