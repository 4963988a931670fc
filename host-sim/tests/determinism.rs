//! `--seed` makes every output reproducible, whatever the thread count.

use edgerank_sim::sim::{run_compare, CompareConfig, NoProgress, Summary};

fn small(seed: u64) -> CompareConfig {
    CompareConfig {
        users: 120,
        seed,
        days: 1.0,
        warmup_days: 0.5,
        // engagement_only brings the five counterfactual runs (other worlds) with it.
        policies: ["chronological", "engagement_only", "tiktok", "tiktok_server_only", "oracle"]
            .map(String::from)
            .to_vec(),
        ..CompareConfig::default()
    }
}

/// The summary without its timing fields.
fn fingerprint(s: &Summary) -> String {
    let mut v = serde_json::to_value(s).unwrap();
    for k in ["sessions_per_second", "elapsed_s", "threads"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v.to_string()
}

fn run_on(threads: usize, seed: u64) -> String {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| fingerprint(&run_compare(&small(seed), &NoProgress).unwrap()))
}

#[test]
fn same_seed_same_results_on_one_or_several_threads() {
    let one = run_on(1, 11);
    let three = run_on(3, 11);
    assert_eq!(one, three);
    let other = run_on(2, 12);
    assert_ne!(one, other, "a different seed should change the results");
}

#[test]
fn counterfactual_runs_follow_the_chosen_policies() {
    let cfg =
        CompareConfig { counterfactual: ["tiktok", "engagement_only", "x"].map(String::from).to_vec(), ..small(3) };
    let s = run_compare(&cfg, &NoProgress).unwrap();
    // x does not run, so it has no counterfactual; the others come in `policies` order, each
    // with its real-world shares, five kinds and as many sessions as the real world.
    let names: Vec<&str> = s.counterfactuals.iter().map(|c| c.policy.as_str()).collect();
    assert_eq!(names, ["engagement_only", "tiktok"]);
    for c in &s.counterfactuals {
        let real = s.policy(&c.policy).unwrap();
        assert_eq!(c.kinds.len(), 5);
        for g in &c.kinds {
            assert_eq!(g.top10_share, real.inauthentic_top10_by_kind[&g.kind]);
            assert_eq!(g.sessions, real.sessions, "same sessions in every world");
        }
    }
    let unknown = CompareConfig { counterfactual: vec!["nope".into()], ..small(3) };
    assert!(run_compare(&unknown, &NoProgress).unwrap_err().contains("--counterfactual"));
    let none = CompareConfig { counterfactual: Vec::new(), ..small(3) };
    assert!(run_compare(&none, &NoProgress).unwrap().counterfactuals.is_empty());
}

#[test]
fn a_shortlist_shorter_than_the_page_is_refused() {
    use edgerank_sim::sim::validate;
    let page = small(3).page_size;
    for (shortlist, ok) in [(0, true), (page - 1, false), (page, true), (48, true), (49, false)] {
        let cfg = CompareConfig { shortlist: Some(shortlist as u16), ..small(3) };
        assert_eq!(validate(&cfg).is_ok(), ok, "--shortlist {shortlist} with a page of {page}");
    }
}

#[test]
fn a_run_with_only_warm_up_sessions_is_refused() {
    // One user, a day of warm-up and a quarter of an hour measured: sessions ran, none counted.
    let cfg = CompareConfig { users: 1, days: 0.01, warmup_days: 1.0, policies: vec!["tiktok".into()], ..small(3) };
    let err = run_compare(&cfg, &NoProgress).unwrap_err();
    assert!(err.contains("no session in its measured days"), "{err}");
}
