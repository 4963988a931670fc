use edgerank_core::model::Model;
use edgerank_core::pipeline::{score_candidate, RankContext};
use edgerank_core::profile::Profile;
use edgerank_core::reference;
use edgerank_tests::{parity, workload};
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let mut n = 0;
    for r in 0..10_000u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xED6E_2A4C ^ r.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let req = workload::request(&mut rng, 256);
        let p = parity::compare(&model, &req);
        if p.kendall_tau >= 0.995 { continue; }
        let cfg = req.platform.config();
        let profile = Profile::compile(cfg.clone()).unwrap();
        let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
        let mut v = vec![];
        for (i, c) in req.candidates.iter().enumerate() {
            if let (Some(f), Some(x)) = (score_candidate(&ctx, c), reference::score::<f64>(&model, &cfg, &req.user, req.now, c, i as u32)) { v.push((f.log2(), x.score, i)); }
        }
        println!("req {r} {} tau {:.4} admitted {}", req.platform.name(), p.kendall_tau, v.len());
        let worst = v.iter().max_by(|a, b| (a.0 - a.1).abs().partial_cmp(&(b.0 - b.1).abs()).unwrap()).unwrap();
        if (worst.0 - worst.1).abs() > 0.05 {
            let c = &req.candidates[worst.2];
            let dummy = edgerank_core::pipeline::RankedItem { item_id: 0, author_id: 0, index: 0, score: edgerank_core::num::LogScore(0), unplaced: edgerank_core::num::LogScore(0), author_factor: edgerank_core::num::Factor::ONE, kind_factor: edgerank_core::num::Factor::ONE, placement: edgerank_core::pipeline::Placement::Ranked };
            let why = edgerank_core::pipeline::explain(&ctx, c, &dummy).unwrap();
            println!("  worst {:?} sum {} factors {:?}\n  cand {:?}", worst, why.weighted_sum().to_f64(), why.factors, c);
            let age = req.now.saturating_sub(c.created_at);
            let xr = reference::features::<f64>(c, &req.user, age);
            let xf = edgerank_core::pipeline::features::build(c, &req.user, age);
            let h = reference::heads(&model, &xr);
            let mut rs = 0.0;
            for hd in edgerank_core::model::Head::ALL { let w = cfg.head_weights[hd.index()] as f64; rs += w * h[hd.index()];
                println!("    {:15} fixed {:.6e} ref {:.6e} contrib {:.6e} vs {:.6e}", hd.name(), why.head_values[hd.index()].to_f64(), h[hd.index()], why.contributions[hd.index()].to_f64(), w*h[hd.index()]); }
            println!("    ref sum {rs}");
            for i in 0..16 { println!("    x{i} {:.6} {:.6}", xf[i].to_f64(), xr[i]); }
        }
        for a in 0..v.len() { for b in 0..v.len() { if v[a].1 > v[b].1 && v[a].0 < v[b].0 { println!("   ref {:.6} > {:.6}  fixed {:.6} < {:.6}", v[a].1, v[b].1, v[a].0, v[b].0); } } }
        n += 1; if n > 30 { break; }
    }
}
