//! CSV tables (comma-separated, header row, `.` decimal point).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::metrics::PolicyMetrics;
use crate::sim::Summary;

/// Reads one scalar metric.
pub type Getter = fn(&PolicyMetrics) -> f64;

/// The columns of [`scalar_columns`] that hold counts.
const COUNT_COLUMNS: [&str; 2] = ["sessions", "feedback_refused"];

/// Scalar metric columns of `policies.csv`, in order, with their getters.
pub fn scalar_columns() -> Vec<(&'static str, Getter)> {
    vec![
        ("sessions", |m| m.sessions as f64),
        ("impressions_per_session", |m| m.impressions_per_session),
        ("watch_time_per_session_s", |m| m.watch_time_per_session_s),
        ("session_minutes", |m| m.session_minutes),
        ("completion_rate", |m| m.completion_rate),
        ("skip_rate", |m| m.skip_rate),
        ("engagements_per_session", |m| m.engagements_per_session),
        ("engagement_rate", |m| m.engagement_rate),
        ("follows_per_session", |m| m.follows_per_session),
        ("negative_rate", |m| m.negative_rate),
        ("report_rate", |m| m.report_rate),
        ("satisfaction_per_impression", |m| m.satisfaction_per_impression),
        ("ndcg_at_10", |m| m.ndcg_at_10),
        ("xauc", |m| m.xauc),
        ("distinct_authors_top10", |m| m.distinct_authors_top10),
        ("creator_exposure_gini", |m| m.creator_exposure_gini),
        ("small_creator_reach", |m| m.small_creator_reach),
        ("new_creator_reach", |m| m.new_creator_reach),
        ("inauthentic_top10_share", |m| m.inauthentic_top10_share),
        ("inauthentic_candidate_share", |m| m.inauthentic_candidate_share),
        ("inauthentic_impression_share", |m| m.inauthentic_impression_share),
        ("ad_load", |m| m.ad_load),
        ("mood_share_first_page", |m| m.mood_share_first_page),
        ("mood_share_later_pages", |m| m.mood_share_later_pages),
        ("feedback_refused", |m| m.feedback_refused as f64),
    ]
}

/// Writes `policies.csv`, `watch_along_session.csv`, `reach_first_hours.csv`,
/// `inauthentic_by_kind.csv` and, with the counterfactual runs, `counterfactual.csv`.
pub fn write(s: &Summary, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let cols = scalar_columns();

    let mut t = String::from("policy,profile,refresh,integrity");
    for (name, _) in &cols {
        t.push(',');
        t.push_str(name);
    }
    t.push('\n');
    for m in &s.policies {
        let _ = write!(t, "{},{},{},{}", m.name, m.profile, m.refresh, m.integrity);
        for (name, get) in &cols {
            // Counts as integers, rates and means to six decimals.
            if COUNT_COLUMNS.contains(name) {
                let _ = write!(t, ",{:.0}", get(m));
            } else {
                let _ = write!(t, ",{:.6}", get(m));
            }
        }
        t.push('\n');
    }
    out.push(save(dir, "policies.csv", &t)?);

    let mut t = String::from("position");
    for m in &s.policies {
        let _ = write!(t, ",{}", m.name);
    }
    t.push('\n');
    let n = s.policies.first().map_or(0, |m| m.watch_along_session_s.len());
    for i in 0..n {
        let _ = write!(t, "{}", i + 1);
        for m in &s.policies {
            let _ = write!(t, ",{:.4}", m.watch_along_session_s[i]);
        }
        t.push('\n');
    }
    out.push(save(dir, "watch_along_session.csv", &t)?);

    let mut t = String::from(
        "policy,hours_since_posting,mean_cumulative_impressions,small_creator_mean_cumulative_impressions\n",
    );
    for m in &s.policies {
        for (h, (a, b)) in m.reach_first_hours.iter().zip(&m.reach_first_hours_small).enumerate() {
            let _ = writeln!(t, "{},{},{:.4},{:.4}", m.name, h + 1, a, b);
        }
    }
    out.push(save(dir, "reach_first_hours.csv", &t)?);

    let mut t = String::from("policy,kind,top10_share\n");
    for m in &s.policies {
        for (k, v) in &m.inauthentic_top10_by_kind {
            let _ = writeln!(t, "{},{},{:.6}", m.name, k, v);
        }
    }
    out.push(save(dir, "inauthentic_by_kind.csv", &t)?);

    if !s.counterfactuals.is_empty() {
        let mut t = String::from(
            "policy,kind,top10_share,top10_share_without_gaming,top10_gain,\
             inauthentic_top10_share_without_gaming,sessions\n",
        );
        for c in &s.counterfactuals {
            for g in &c.kinds {
                let gain = g.top10_gain.map_or_else(String::new, |x| format!("{x:.6}"));
                let _ = writeln!(
                    t,
                    "{},{},{:.6},{:.6},{gain},{:.6},{}",
                    c.policy,
                    g.kind,
                    g.top10_share,
                    g.top10_share_without_gaming,
                    g.inauthentic_top10_share_without_gaming,
                    g.sessions
                );
            }
        }
        out.push(save(dir, "counterfactual.csv", &t)?);
    }
    Ok(out)
}

fn save(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    let p = dir.join(name);
    fs::write(&p, text)?;
    Ok(p)
}
