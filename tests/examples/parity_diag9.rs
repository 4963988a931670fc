use edgerank_core::model::Model;
use edgerank_core::num::{Factor, LogScore};
use edgerank_core::pipeline::{explain, Placement, RankContext, RankedItem};
use edgerank_core::profile::Profile;
use edgerank_core::reference;
use edgerank_tests::workload;
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let mut errs: Vec<(f64, f64)> = vec![]; let mut shown = 0;
    let mut by: std::collections::BTreeMap<String, (usize, f64, f64)> = Default::default();
    for r in 0..1500u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(r);
        let req = workload::request(&mut rng, 256);
        let cfg = req.platform.config();
        let profile = Profile::compile(cfg.clone()).unwrap();
        let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
        for (i, c) in req.candidates.iter().enumerate() {
            let dummy = RankedItem { item_id: 0, author_id: 0, index: i as u32, score: LogScore(0), unplaced: LogScore(0), author_factor: Factor::ONE, kind_factor: Factor::ONE, placement: Placement::Ranked };
            let (Some(why), Some(rs)) = (explain(&ctx, c, &dummy), reference::score::<f64>(&model, &cfg, &req.user, req.now, c, 0)) else { continue };
            let f = why.replay_unplaced(&profile).log2();
            if rs.score < -1000.0 { continue; }
            errs.push(((f - rs.score).abs(), why.weighted_sum().to_f64()));
            let kinds: Vec<String> = why.factors.iter().map(|(k, _)| format!("{k:?}")).collect();
            let key = kinds.join("+");
            if key == "Age+FollowFarming" && (f - rs.score).abs() > 5e-3 && shown < 3 { shown += 1;
                println!("f {f} r {} sum {} factors {:?} author {:?}", rs.score, why.weighted_sum().to_f64(), why.factors.iter().map(|(k,x)| (format!("{k:?}"), x.0 as f64 / 1048576.0)).collect::<Vec<_>>(), c.author);
                let age = req.now.saturating_sub(c.created_at); println!("   age {age} platform {} base fixed {}", req.platform.name(), profile.finish_base(why.weighted_sum()).log2()); }
            let e = by.entry(key).or_insert((0usize, 0f64, 0f64)); e.0 += 1; e.1 = e.1.max((f - rs.score).abs()); e.2 += (f - rs.score).abs();
        }
    }
    for (k, v) in &by { if v.0 > 200 { println!("{k:60} n {:6} max {:.2e} mean {:.2e}", v.0, v.1, v.2 / v.0 as f64); } }
    let mut all: Vec<f64> = errs.iter().map(|e| e.0).collect(); all.sort_by(|a,b| a.partial_cmp(b).unwrap());
    let q = |v: &Vec<f64>, p: f64| v[((v.len() - 1) as f64 * p) as usize];
    println!("n {} median {:.2e} p90 {:.2e} p99 {:.2e} p999 {:.2e} max {:.2e}", all.len(), q(&all,0.5), q(&all,0.9), q(&all,0.99), q(&all,0.999), all[all.len()-1]);
    for (lo, hi) in [(-1e9, -1.0), (-1.0, -0.01), (-0.01, 0.0), (0.0, 0.01), (0.01, 0.1), (0.1, 1.0), (1.0, 1e9)] {
        let mut v: Vec<f64> = errs.iter().filter(|e| e.1 >= lo && e.1 < hi).map(|e| e.0).collect(); v.sort_by(|a,b| a.partial_cmp(b).unwrap());
        if v.is_empty() { continue; }
        println!("S in [{lo}, {hi}): n {} median {:.2e} p99 {:.2e} max {:.2e}", v.len(), q(&v,0.5), q(&v,0.99), v[v.len()-1]);
    }
}
