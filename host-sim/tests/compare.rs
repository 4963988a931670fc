//! The done-when results of the comparison, on the default run.
//!
//! One run at the default size (`compare` with no options: 2000 users, seed 42, a warm-up day
//! and 3 measured days, every policy) is shared by all tests of this file. A debug build of the
//! simulator is slow: run these with the workspace's test profile optimising `edgerank-sim`
//! and `edgerank-core` (see README).

use std::sync::OnceLock;

use edgerank_sim::metrics::PolicyMetrics;
use edgerank_sim::sim::{run_compare, CompareConfig, NoProgress, Summary};
use edgerank_sim::world::CreatorKind;

const PLATFORMS: [&str; 6] = ["facebook", "instagram", "linkedin", "tiktok", "threads", "x"];

fn summary() -> &'static Summary {
    static RUN: OnceLock<Summary> = OnceLock::new();
    RUN.get_or_init(|| {
        let cfg = CompareConfig::default();
        assert_eq!((cfg.users, cfg.seed), (2000, 42), "the default size");
        run_compare(&cfg, &NoProgress).expect("valid configuration")
    })
}

fn policy(name: &str) -> &'static PolicyMetrics {
    summary().policy(name).unwrap_or_else(|| panic!("policy {name} missing"))
}

#[test]
fn every_policy_ran_with_sessions_and_sane_metrics() {
    let s = summary();
    assert_eq!(s.policies.len(), 11);
    for m in &s.policies {
        assert!(m.sessions > 500, "{}: {} sessions", m.name, m.sessions);
        assert!(m.watch_time_per_session_s > 30.0, "{}", m.name);
        for (what, v) in [
            ("completion_rate", m.completion_rate),
            ("negative_rate", m.negative_rate),
            ("ndcg_at_10", m.ndcg_at_10),
            ("xauc", m.xauc),
            ("creator_exposure_gini", m.creator_exposure_gini),
            ("small_creator_reach", m.small_creator_reach),
            ("inauthentic_top10_share", m.inauthentic_top10_share),
            ("ad_load", m.ad_load),
        ] {
            assert!((0.0..=1.0).contains(&v), "{}: {what} = {v}", m.name);
        }
        assert!(m.distinct_authors_top10 > 1.0 && m.distinct_authors_top10 <= 10.0);
        // The model's watch-time head orders watch time better than chance.
        assert!(m.xauc > 0.55, "{}: xauc {}", m.name, m.xauc);
    }
    assert_eq!(policy("chronological").ad_load, 0.0);
    assert!(policy("tiktok").ad_load > 0.0);
}

#[test]
fn oracle_beats_every_policy_on_ndcg_at_10() {
    let oracle = policy("oracle").ndcg_at_10;
    for m in &summary().policies {
        if m.name != "oracle" {
            assert!(oracle > m.ndcg_at_10 + 0.05, "oracle {oracle} vs {} {}", m.name, m.ndcg_at_10);
        }
    }
    // And every profile ranks better than the chronological feed.
    for p in PLATFORMS {
        assert!(policy(p).ndcg_at_10 > policy("chronological").ndcg_at_10, "{p}");
    }
}

#[test]
fn engagement_only_ranking_amplifies_inauthentic_items() {
    let eo = policy("engagement_only");
    let chrono = policy("chronological");
    // Ranking by predicted likes, comments and shares lifts inauthentic items above their
    // share of the candidates (measured 45 % vs 39 %) and well above the chronological feed
    // (30 %).
    assert!(
        eo.inauthentic_top10_share > eo.inauthentic_candidate_share,
        "engagement-only top-10 {} vs candidates {}",
        eo.inauthentic_top10_share,
        eo.inauthentic_candidate_share
    );
    assert!(eo.inauthentic_top10_share > 1.3 * chrono.inauthentic_top10_share);
    // Engagement pods are the main beneficiaries.
    let pods = |m: &PolicyMetrics| m.inauthentic_top10_by_kind["engagement_pod"];
    assert!(pods(eo) > 2.0 * pods(chrono), "pods: {} vs {}", pods(eo), pods(chrono));
}

#[test]
fn pods_and_bought_followers_raise_their_share_under_engagement_only() {
    // Engagement-only again in the same world where only one kind of account does not game
    // (`sim::Counterfactual`). Measured at seed 42: pods 26.1 % of the top 10 against 3.3 %
    // without their scripted engagement (7.9x), bought-follower accounts 1.98 % against
    // 0.92 % without the purchase (2.14x; 2.2x to 3.6x at seeds 1, 2, 3 and 7).
    let s = summary();
    assert_eq!(s.counterfactuals.len(), 1, "the default run has engagement-only's counterfactual runs");
    let c = &s.counterfactuals[0];
    assert_eq!(c.policy, "engagement_only");
    assert_eq!(c.kinds.len(), CreatorKind::INAUTHENTIC.len());
    let eo = policy("engagement_only");
    for (kind, at_least) in [(CreatorKind::PodMember, 3.0), (CreatorKind::BoughtFollowers, 1.5)] {
        let g = c.kind(kind).unwrap_or_else(|| panic!("{} missing", kind.name()));
        assert_eq!(g.top10_share, eo.inauthentic_top10_by_kind[kind.name()]);
        assert!(g.sessions > 500, "{}: {} sessions", kind.name(), g.sessions);
        assert!(
            g.top10_share > at_least * g.top10_share_without_gaming,
            "{}: {} with its gaming, {} without",
            kind.name(),
            g.top10_share,
            g.top10_share_without_gaming
        );
    }
}

#[test]
fn integrity_aware_profiles_cut_the_inauthentic_share() {
    let eo = policy("engagement_only").inauthentic_top10_share;
    for p in PLATFORMS {
        let m = policy(p);
        assert!(m.integrity);
        assert!(m.inauthentic_top10_share < eo / 2.0, "{p}: {} vs engagement-only {eo}", m.inauthentic_top10_share);
    }
}

#[test]
fn signals_computed_from_history_expose_the_inauthentic_accounts() {
    // The integrity rules read only what the server observed (early engagers, posting times,
    // follower counts); they fire on most amplified accounts and on few honest ones.
    let m = policy("tiktok");
    let flagged = |kind: &str| {
        m.integrity_diagnostics.iter().find(|d| d.kind == kind).unwrap_or_else(|| panic!("{kind} missing")).flagged
    };
    assert!(flagged("engagement_pod") > 0.6, "pods {}", flagged("engagement_pod"));
    assert!(flagged("coordinated_group") > 0.5, "coordinated {}", flagged("coordinated_group"));
    assert!(flagged("posting_bot") > 0.9, "bots {}", flagged("posting_bot"));
    assert!(flagged("follow_farm") > 0.9, "farms {}", flagged("follow_farm"));
    assert!(flagged("honest") < 0.25, "honest {}", flagged("honest"));
    // Stacked evidence drops: most bots, about half the coordinated groups' candidates
    // (measured 48 %), every follow farm, and the honest accounts the follow-farming ratio
    // alone already demoted a thousandfold.
    let dropped = |kind: &str| m.integrity_diagnostics.iter().find(|d| d.kind == kind).map(|d| d.dropped).unwrap();
    assert!(dropped("follow_farm") > 0.9, "farms {}", dropped("follow_farm"));
    assert!(dropped("coordinated_group") > 0.4, "coordinated {}", dropped("coordinated_group"));
    assert!(dropped("honest") < 0.06, "honest {}", dropped("honest"));
}

#[test]
fn integrity_aware_profiles_keep_the_inauthentic_share_five_times_lower() {
    let eo = policy("engagement_only").inauthentic_top10_share;
    for p in PLATFORMS {
        let m = policy(p);
        assert!(m.inauthentic_top10_share * 5.0 <= eo, "{p}: {} vs engagement-only {eo}", m.inauthentic_top10_share);
    }
}

/// Re-ranking on the device after every item, with the state that item's feedback updated,
/// against a server that ranks pages with the state of the session start.
#[test]
fn on_device_feedback_beats_server_only_on_watch_time() {
    let on = policy("tiktok_on_device").watch_time_per_session_s;
    let off = policy("tiktok_server_only").watch_time_per_session_s;
    // Over seeds 1-8 and 42 the gain is +0.6 % to +3.7 %; the test asks for a gain, not its size.
    assert!(on > off, "on-device {on} vs server-only {off}");
}

#[test]
fn summary_json_and_reports_follow_the_documented_schema() {
    let s = summary();
    let dir = std::env::temp_dir().join(format!("edgerank-sim-test-{}", std::process::id()));
    let written = edgerank_sim::report::write_all(s, &dir).expect("reports written");
    for f in [
        "summary.json",
        "policies.csv",
        "watch_along_session.csv",
        "reach_first_hours.csv",
        "inauthentic_by_kind.csv",
        "counterfactual.csv",
        "metrics.svg",
        "watch_along_session.svg",
        "reach_first_hours.svg",
        "inauthentic_by_kind.svg",
    ] {
        assert!(written.contains(&dir.join(f)), "{f} missing");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert!(json["sessions"].as_u64().unwrap() > 0);
    assert!(json["sessions_per_second"].as_f64().unwrap() > 0.0);
    let policies = json["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 11);
    for p in policies {
        for field in [
            "name",
            "watch_time_per_session_s",
            "completion_rate",
            "engagements_per_session",
            "negative_rate",
            "ndcg_at_10",
            "xauc",
            "distinct_authors_top10",
            "creator_exposure_gini",
            "small_creator_reach",
            "inauthentic_top10_share",
            "ad_load",
        ] {
            assert!(!p[field].is_null(), "{field} missing in {}", p["name"]);
        }
    }
    let cf = &json["counterfactuals"][0];
    assert_eq!(json["counterfactuals"].as_array().unwrap().len(), 1);
    assert_eq!(cf["policy"], "engagement_only");
    let kinds = cf["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 5);
    for k in kinds {
        let k = k.as_object().unwrap();
        for field in
            ["kind", "top10_share", "top10_share_without_gaming", "inauthentic_top10_share_without_gaming", "sessions"]
        {
            assert!(!k[field].is_null(), "counterfactual {field} missing in {:?}", k["kind"]);
        }
        // `null` when the kind held no top-10 position without its gaming.
        assert!(k.contains_key("top10_gain"), "counterfactual top10_gain missing in {:?}", k["kind"]);
    }
    let cf_csv = std::fs::read_to_string(dir.join("counterfactual.csv")).unwrap();
    assert_eq!(cf_csv.lines().count(), 6, "a header and one row per kind");
    assert!(cf_csv.contains("\nengagement_only,bought_followers,"));
    let svg = std::fs::read_to_string(dir.join("metrics.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("oracle"));
    // Each policy's stacked bar is on its own name's row: the bars' lengths follow the
    // policies' inauthentic shares.
    let svg = std::fs::read_to_string(dir.join("inauthentic_by_kind.svg")).unwrap();
    let widths = stacked_bar_widths(&svg, &s.policies.iter().map(|m| m.name.clone()).collect::<Vec<_>>());
    let mut by_share: Vec<(f64, f64)> =
        s.policies.iter().zip(&widths).map(|(m, &w)| (m.inauthentic_top10_share, w)).collect();
    by_share.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (least, most) = (by_share[0], by_share[by_share.len() - 1]);
    assert!(most.0 > 3.0 * least.0, "{by_share:?}");
    // Segments are drawn in whole pixels (five per bar), a few hundred for the largest share.
    assert!(most.1 > 300.0, "{by_share:?}");
    for (share, width) in &by_share {
        let expected = share / most.0 * most.1;
        assert!((width - expected).abs() <= 6.0, "share {share}: bar {width} px, expected {expected:.1} px");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The total width of the filled rectangles on the row of each name's label in a horizontal
/// bar chart written by plotters (one `<text>` per label, one `<rect>` per bar segment).
fn stacked_bar_widths(svg: &str, names: &[String]) -> Vec<f64> {
    let attr = |tag: &str, name: &str| -> f64 {
        let start = tag.find(&format!(" {name}=\"")).map(|i| i + name.len() + 3).expect("attribute");
        tag[start..].split('"').next().unwrap().parse().expect("number")
    };
    // Bar segments: filled in colour (not the white background or legend box, nor the
    // legend's outline) and taller than the legend's swatches.
    let rects: Vec<(f64, f64, f64)> = svg
        .split("<rect")
        .skip(1)
        .filter(|t| !t.contains("fill=\"#FFFFFF\"") && !t.contains("fill=\"none\""))
        .map(|t| (attr(t, "y"), attr(t, "height"), attr(t, "width")))
        .filter(|&(_, h, _)| h > 12.0)
        .collect();
    names
        .iter()
        .map(|name| {
            fn body(t: &str) -> Option<&str> {
                t.find('>').and_then(|i| t[i + 1..].split("</text>").next()).map(str::trim)
            }
            let label = svg
                .split("<text")
                .skip(1)
                .find(|t| body(t) == Some(name.as_str()))
                .unwrap_or_else(|| panic!("no label {name}"));
            let y = attr(label, "y");
            rects.iter().filter(|&&(top, h, _)| top <= y && y <= top + h).map(|r| r.2).sum()
        })
        .collect()
}
