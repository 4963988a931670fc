use edgerank_core::model::Model;
use edgerank_core::pipeline::features;
use edgerank_core::reference;
use edgerank_tests::workload;
use rand::SeedableRng;
fn main() {
    let model = Model::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let req = workload::request(&mut rng, 256);
    let c = &req.candidates[10];
    let age = req.now.saturating_sub(c.created_at);
    let xf = features::build(c, &req.user, age);
    let xr = reference::features::<f64>(c, &req.user, age);
    for i in 0..16 {
        println!("{i:2} fixed {:.5} ref {:.5}", xf[i].to_f64(), xr[i]);
    }
    println!("bias0 {:?} {}", model.bias[0], model.bias[0].to_f64());
    println!("logit0 {}", model.logit(0, &xf).to_f64());
}
