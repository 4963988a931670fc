//! The fixed-point core agrees with the f64 reference of the same models and rules.

use edgerank_core::model::Model;
use edgerank_tests::parity;

#[test]
fn fixed_point_matches_the_f64_reference_on_10000_random_requests() {
    let report = parity::run(&Model::default(), 10_000, 0xED6E_2A4C);
    println!("{}", report.to_json());
    assert_eq!(report.requests, 10_000);
    // Target: tau >= 0.995 on every request. It holds over the resolvable pairs: pairs whose
    // f64 scores differ by more than the fixed-point error bound of both candidates (16-bit
    // model inputs; `score_uncertainty_log2`). Over all pairs, candidates whose positive and
    // negative head contributions nearly cancel (weighted sums far below the inputs'
    // resolution) can swap, which takes a handful of small requests below 0.995: that
    // shortfall is reported in the README, and the strict figures below hold it in place.
    // Measured 1.0 since the multipliers are within 1e-5 each (0.9984 when the age table and
    // the integrity ramps were up to 1e-3 off, ten times the bound).
    assert!(report.kendall_tau_resolvable_min >= 0.999, "{report:?}");
    // The bound must not make the comparison vacuous: most pairs stay resolvable.
    assert!(report.resolvable_pair_share_mean >= 0.95, "{report:?}");
    // Measured 99.95 % and 0.9697 since the requests include seen and repeated ids and live
    // streams (2026-12-07): the minimum is one near-cancelling swap among the 66 pairs of a
    // request with 12 admitted candidates (request 200, Facebook), 1 - 2/66. Before, on
    // another stream of requests: 99.91 % and 0.983 (99.90 % and 0.974 before the heads were
    // combined in the log domain). One such swap in a request of 10 admitted candidates would
    // give 0.956.
    assert!(report.tau_at_least_0995_share >= 0.998, "{report:?}");
    assert!(report.kendall_tau_min >= 0.955, "{report:?}");
    // The integrity drop (a product of 1/32) is the one filter computed in numbers: at most a
    // few candidates in a million sit on it within the rules' fixed-point error.
    assert!(report.integrity_threshold_disagreements <= 20, "{report:?}");
    assert!(report.kendall_tau_mean >= 0.9999, "{report:?}");
    assert!(report.top10_identical_share >= 0.99, "{report:?}");
    // The same for the rest of each page after its first three items were shown.
    assert!(report.continued_top10_identical_share >= 0.99, "{report:?}");
}

#[test]
fn kendall_tau_b_known_values() {
    assert_eq!(parity::kendall_tau_b(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
    assert_eq!(parity::kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
    // One discordant pair of three: (2 - 1) / 3.
    let t = parity::kendall_tau_b(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]);
    assert!((t - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn resolvable_tau_ignores_pairs_within_their_bounds_only() {
    // Pair (0, 1) is 0.1 apart and swapped; the other pairs are far apart and in order.
    let fixed = [1.1, 1.0, 0.0];
    let float = [1.0, 1.1, -1.0];
    // Bounds of 0.1 each: (0, 1) is not resolvable, so its swap does not count.
    let (tau, share) = parity::kendall_tau_resolvable(&fixed, &float, &[0.1, 0.1, 0.1]);
    assert_eq!((tau, share), (1.0, 2.0 / 3.0));
    // No bounds: every pair counts, one of three discordant.
    let (tau, share) = parity::kendall_tau_resolvable(&fixed, &float, &[0.0, 0.0, 0.0]);
    assert_eq!(share, 1.0);
    assert!((tau - 1.0 / 3.0).abs() < 1e-12, "{tau}");
}
