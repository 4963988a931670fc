use edgerank_core::model::Model;
use edgerank_tests::{parity, workload};
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let mut per: std::collections::BTreeMap<&str, (f64, f64, usize, usize)> = Default::default();
    for r in 0..2000u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(r);
        let req = workload::request(&mut rng, 256);
        let p = parity::compare(&model, &req);
        let e = per.entry(req.platform.name()).or_insert((1.0, 0.0, 0, 0));
        e.0 = e.0.min(p.kendall_tau);
        e.1 += p.kendall_tau;
        e.2 += 1;
        e.3 += p.top10_identical as usize;
    }
    for (k, v) in per {
        println!("{k:10} min {:.4} mean {:.4} top10 {:.3}", v.0, v.1 / v.2 as f64, v.3 as f64 / v.2 as f64);
    }
}
