use edgerank_core::model::Model;
use edgerank_core::pipeline::{score_candidate, RankContext};
use edgerank_core::profile::Profile;
use edgerank_core::reference;
use edgerank_tests::{parity, workload};
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let mut shown = 0;
    for r in 0..2000u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(r);
        let req = workload::request(&mut rng, 256);
        let p = parity::compare(&model, &req);
        if p.kendall_tau > 0.993 {
            continue;
        }
        let cfg = req.platform.config();
        let profile = Profile::compile(cfg.clone()).unwrap();
        let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
        println!("req {r} {} tau {:.4} n {}", req.platform.name(), p.kendall_tau, req.candidates.len());
        let mut v = vec![];
        for (i, c) in req.candidates.iter().enumerate() {
            if let (Some(f), Some(x)) =
                (score_candidate(&ctx, c), reference::score::<f64>(&model, &cfg, &req.user, req.now, c, i as u32))
            {
                v.push((f.log2(), x.score, i));
            }
        }
        v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());
        for w in v.windows(2) {
            if (w[0].0 < w[1].0) || (w[0].0 == w[1].0) {
                println!("  ref {:.9e} > {:.9e} but fixed {:.9e} vs {:.9e}", w[0].1, w[1].1, w[0].0, w[1].0);
            }
        }
        shown += 1;
        if shown > 3 {
            break;
        }
    }
}
