use edgerank_core::model::{Head, Model};
use edgerank_core::num::{Factor, LogScore};
use edgerank_core::pipeline::{explain, Placement, RankContext, RankedItem};
use edgerank_core::profile::Profile;
use edgerank_core::reference;
use edgerank_tests::workload;
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let r: u64 = std::env::args().nth(1).unwrap().parse().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(r);
    let req = workload::request(&mut rng, 256);
    let cfg = req.platform.config();
    let profile = Profile::compile(cfg.clone()).unwrap();
    let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
    let mut worst = vec![];
    for (i, c) in req.candidates.iter().enumerate() {
        let dummy = RankedItem {
            item_id: c.item_id,
            author_id: c.author_id,
            index: i as u32,
            score: LogScore(0),
            unplaced: LogScore(0),
            author_factor: Factor::ONE,
            kind_factor: Factor::ONE,
            placement: Placement::Ranked,
        };
        let Some(why) = explain(&ctx, c, &dummy) else { continue };
        let Some(rs) = reference::score::<f64>(&model, &cfg, &req.user, req.now, c, 0) else { continue };
        let age = req.now.saturating_sub(c.created_at);
        let x = reference::features::<f64>(c, &req.user, age);
        let h = reference::heads(&model, &x);
        let fixed = why.replay_unplaced(&profile).log2();
        let d = (fixed - rs.score).abs();
        worst.push((d, i, fixed, rs.score, why.clone(), h, c.clone()));
    }
    worst.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    for (d, i, f, r, why, h, c) in worst.iter().take(3) {
        println!("cand {i} diff {d:.5}: fixed {f:.6} ref {r:.6}; sum fixed {:.6}", why.weighted_sum().to_f64());
        let mut rs = 0.0;
        for hd in Head::ALL {
            let w = cfg.head_weights[hd.index()] as f64;
            rs += w * h[hd.index()];
            println!(
                "   {:15} fixed {:.6e} ref {:.6e}  contrib fixed {:.6e} ref {:.6e}",
                hd.name(),
                why.head_values[hd.index()].to_f64(),
                h[hd.index()],
                why.contributions[hd.index()].to_f64(),
                w * h[hd.index()]
            );
        }
        println!("   ref sum {rs:.6}");
        for (k, f) in why.factors.iter() {
            println!("   factor {:?} {:.6}", k, f.to_f64());
        }
        println!("   cand {:?}", c);
    }
}
