use edgerank_core::model::Model;
use edgerank_core::reference;
use edgerank_tests::workload;
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(609);
    let req = workload::request(&mut rng, 256);
    let cfg = req.platform.config();
    for (i, c) in req.candidates.iter().enumerate() {
        if c.item_id == 10291221 || c.item_id == 8307425 {
            let s = reference::score::<f64>(&model, &cfg, &req.user, req.now, c, i as u32);
            println!("{} idx {i} {:?} age {} author {:?} flags {:?}", c.item_id, s, req.now as i64 - c.created_at as i64, c.author, c.flags);
        }
    }
}
