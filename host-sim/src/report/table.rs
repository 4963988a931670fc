//! The console table.

use std::fmt::Write as _;

use crate::sim::Summary;

/// A fixed-width table of the headline metrics, one row per policy.
pub fn render(s: &Summary) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<20} {:>8} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} {:>6} {:>7} {:>6}",
        "policy", "watch/s", "compl", "eng/s", "neg%", "ndcg", "xauc", "authors", "gini", "small%", "inauth%", "ads%"
    );
    let _ = writeln!(t, "{}", "-".repeat(20 + 8 + 6 * 7 + 7 * 2 + 6 + 11));
    for m in &s.policies {
        let _ = writeln!(
            t,
            "{:<20} {:>8.1} {:>6.3} {:>6.2} {:>6.2} {:>6.3} {:>6.3} {:>7.2} {:>6.3} {:>6.1} {:>7.2} {:>6.1}",
            m.name,
            m.watch_time_per_session_s,
            m.completion_rate,
            m.engagements_per_session,
            100.0 * m.negative_rate,
            m.ndcg_at_10,
            m.xauc,
            m.distinct_authors_top10,
            m.creator_exposure_gini,
            100.0 * m.small_creator_reach,
            100.0 * m.inauthentic_top10_share,
            100.0 * m.ad_load,
        );
    }
    for c in &s.counterfactuals {
        let _ = writeln!(
            t,
            "\nwhat gaming buys under {}: share of its top-10 positions held by each kind's items, \
             in this world -> in the same world where only that kind does not game:",
            c.policy
        );
        for g in &c.kinds {
            let gain = g.top10_gain.map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}x"));
            let _ = writeln!(
                t,
                "  {:<20} {:>6.2} % -> {:>6.2} %  ({gain})",
                g.kind,
                100.0 * g.top10_share,
                100.0 * g.top10_share_without_gaming,
            );
        }
    }
    t
}
