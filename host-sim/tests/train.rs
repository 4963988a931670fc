//! `edgerank-sim train` at a small size: the fit beats the hand-calibrated prior on held-out
//! users, quantization keeps the f64 figures, the exported blob and generated source agree
//! with the model, and the same configuration reproduces the same model.

use edgerank_core::model::{Head, Model};
use edgerank_sim::sim::{load_model, run_compare, CompareConfig, NoProgress};
use edgerank_sim::train::{codegen, run_train, TrainConfig, Trained};

fn small() -> TrainConfig {
    TrainConfig { users: 200, seed: 5, days: 1.5, warmup_days: 0.5, ..TrainConfig::default() }
}

fn figure(t: &Trained, head: Head) -> (f64, f64, f64) {
    let h = t.report.heads.iter().find(|h| h.head == head.name()).expect("every head is reported");
    (h.f64.expect("f64 figure"), h.quantized.expect("quantized figure"), h.prior.expect("prior figure"))
}

#[test]
fn training_beats_the_prior_and_survives_quantization_and_export() {
    let t = run_train(&small(), &NoProgress).expect("trains");
    assert!(
        t.report.train_rows > 10_000 && t.report.test_rows > 2_000,
        "{} / {}",
        t.report.train_rows,
        t.report.test_rows
    );
    for head in [Head::Like, Head::Completion, Head::FastSkip, Head::WatchTime] {
        let (f, q, p) = figure(&t, head);
        assert!(f > 0.65, "{}: f64 {f}", head.name());
        assert!(f > p, "{}: f64 {f} vs hand prior {p}", head.name());
        assert!((f - q).abs() < 0.005, "{}: f64 {f} vs quantized {q}", head.name());
    }
    for h in &t.report.heads {
        if let (Some(f), Some(q)) = (h.f64, h.quantized) {
            assert!((f - q).abs() < 0.01, "{}: f64 {f} vs quantized {q}", h.head);
        }
    }
    // The blob decodes to the model; the generated source carries its id and raw weights.
    let blob = codegen::blob(&t.model).expect("encodes");
    assert_eq!(Model::from_blob(&blob), Ok(t.model.clone()));
    let src = codegen::default_rs(&t.model, &t.report);
    assert!(src.contains(&format!("pub const DEFAULT_MODEL_ID: u32 = 0x{:08X};", t.model.model_id)));
    let like_row: Vec<String> = t.model.weights[Head::Like.index()].iter().map(|w| w.0.to_string()).collect();
    assert!(src.contains(&format!("    [{}], // like", like_row.join(", "))));
    assert!(src.contains(&codegen::command(&t.report)));
    // `compare --model` and `parity --model` read the blob back, and the comparison ranks
    // with it: other pages than the default model's.
    let path = std::env::temp_dir().join(format!("edgerank-train-test-{}.blob", std::process::id()));
    std::fs::write(&path, &blob).unwrap();
    assert_eq!(load_model(&path), Ok(t.model.clone()));
    let run = |model_file: Option<std::path::PathBuf>| {
        let cfg = CompareConfig {
            users: 80,
            days: 0.5,
            warmup_days: 0.2,
            policies: vec!["x".into()],
            counterfactual: Vec::new(),
            model_file,
            ..CompareConfig::default()
        };
        run_compare(&cfg, &NoProgress).expect("runs").policies[0].ndcg_at_10
    };
    assert_ne!(run(Some(path.clone())), run(None));
    std::fs::write(&path, &blob[..blob.len() - 1]).unwrap();
    assert!(load_model(&path).unwrap_err().contains("is not a valid model blob"));
    let _ = std::fs::remove_file(&path);
    assert!(load_model(&path).unwrap_err().contains("reading the model"));
    // Same configuration, same model, byte for byte.
    let again = run_train(&small(), &NoProgress).expect("trains");
    assert_eq!(again.model, t.model);
    // Another seed gives another model.
    let other = run_train(&TrainConfig { seed: 6, ..small() }, &NoProgress).expect("trains");
    assert_ne!(other.model.weights, t.model.weights);
}

#[test]
fn bad_configurations_are_errors() {
    assert!(run_train(&TrainConfig { users: 3, ..small() }, &NoProgress).is_err());
    assert!(run_train(&TrainConfig { holdout: 1.0, ..small() }, &NoProgress).is_err());
    assert!(run_train(&TrainConfig { l2: -1.0, ..small() }, &NoProgress).is_err());
    assert!(run_train(&TrainConfig { page_size: 0, ..small() }, &NoProgress).is_err());
    assert!(run_train(&TrainConfig { like_social_proof: -0.5, ..small() }, &NoProgress).is_err());
    assert!(run_train(&TrainConfig { like_social_proof: f64::NAN, ..small() }, &NoProgress).is_err());
}

#[test]
fn scripted_rows_are_logged_on_request_and_evaluated_apart() {
    let plain = run_train(&small(), &NoProgress).expect("trains");
    assert_eq!(plain.report.train_inauthentic_rows, 0);
    assert!(plain.report.heads_with_inauthentic.is_empty());
    let t = run_train(&TrainConfig { log_inauthentic: true, ..small() }, &NoProgress).expect("trains");
    let r = &t.report;
    // Scripted actions are added to the users' views (the sessions do not change), and the
    // held-out figures of users alone are over the same views as without them. (At 200 users
    // the world has its minimum of 1000 creators, so scripted rows are about 20 % of the rows;
    // from 1000 users on, creators scale with users and they are about 5 %.)
    assert!(r.train_inauthentic_rows > 0 && r.test_inauthentic_rows > 0);
    assert_eq!(r.test_rows, plain.report.test_rows);
    assert_eq!(r.train_rows - r.train_inauthentic_rows, plain.report.train_rows);
    assert_eq!(r.heads_with_inauthentic.len(), r.heads.len());
    assert!(codegen::command(r).contains("--log-inauthentic"));
    assert_ne!(t.model.weights, plain.model.weights);
    let again = run_train(&TrainConfig { log_inauthentic: true, ..small() }, &NoProgress).expect("trains");
    assert_eq!(again.model, t.model);
}
