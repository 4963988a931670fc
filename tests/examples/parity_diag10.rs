use edgerank_core::input::Candidate;
use edgerank_core::pipeline::{explain::NoTrace, integrity};
use edgerank_core::profile::{Platform, Profile};
fn main() {
    let p = Profile::compile(Platform::X.config()).unwrap();
    for (fw, fr) in [(600u32, 900u32), (1000, 1000), (5000, 1000), (20000, 500), (700, 10), (19000, 0)] {
        let mut c = Candidate::default();
        c.author.followings = fw; c.author.followers = fr; c.author.account_age_days = 1000;
        let f = integrity::factor(&p, &c, &mut NoTrace);
        let ratio = (fw as f64 + 1.0) / (fr as f64 + 1.0);
        let exact = -5.0 * (ratio - 0.6) * std::f64::consts::LOG2_E;
        println!("{fw}/{fr}: fixed {:.6} exact {:.6}", f.0 as f64 / 1048576.0, exact);
    }
}
