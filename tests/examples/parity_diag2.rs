use edgerank_core::model::{Head, Model};
use edgerank_core::num::{Factor, Score};
use edgerank_core::pipeline::{explain, Placement, RankContext, RankedItem};
use edgerank_core::profile::Profile;
use edgerank_core::reference;
use edgerank_tests::workload;
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let mut worst_head = [0f64; 12];
    let mut worst_contrib = [0f64; 12];
    let mut n_neg = 0;
    let mut n = 0;
    for r in 0..300u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(r);
        let req = workload::request(&mut rng, 256);
        let cfg = req.platform.config();
        let profile = Profile::compile(cfg.clone()).unwrap();
        let ctx = RankContext { model: &model, profile: &profile, user: &req.user, now: req.now };
        for (i, c) in req.candidates.iter().enumerate() {
            let dummy = RankedItem {
                item_id: c.item_id,
                author_id: c.author_id,
                index: i as u32,
                score: Score(0),
                unplaced: Score(0),
                author_factor: Factor::ONE,
                kind_factor: Factor::ONE,
                placement: Placement::Ranked,
            };
            let Some(why) = explain(&ctx, c, &dummy) else { continue };
            let Some(_) = reference::score::<f64>(&model, &cfg, &req.user, req.now, c, 0) else { continue };
            let age = req.now.saturating_sub(c.created_at);
            let x = reference::features::<f64>(c, &req.user, age);
            let h = reference::heads(&model, &x);
            n += 1;
            if why.weighted_sum().0 < 0 {
                n_neg += 1;
            }
            for hd in Head::ALL {
                let i = hd.index();
                let fixed = if hd == Head::WatchTime {
                    why.head_values[i] as f64 / 32.0
                } else {
                    why.head_values[i] as f64 / 32768.0
                };
                let err = (fixed - h[i]).abs();
                worst_head[i] = worst_head[i].max(err / h[i].max(1e-9));
                worst_contrib[i] = worst_contrib[i].max(err * cfg.head_weights[i].abs() as f64);
            }
        }
    }
    println!("candidates {n}, negative sums {n_neg}");
    for hd in Head::ALL {
        println!(
            "{:15} worst rel err {:.2e}  worst |w|*err {:.2e}",
            hd.name(),
            worst_head[hd.index()],
            worst_contrib[hd.index()]
        );
    }
}
