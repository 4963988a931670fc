//! Metrics: accumulators that sessions fill and merge, and the final per-policy numbers.
//!
//! All accumulators are merged in a fixed order (users ascending within a tick, ticks in
//! time order), so results do not depend on thread scheduling.

use serde::Serialize;

use crate::world::{CreatorKind, World, HOUR};

/// Positions tracked for "watch time along a session".
pub const SESSION_POSITIONS: usize = 100;
/// Hours tracked for "reach over an item's first hours".
pub const REACH_HOURS: usize = 48;
/// Depth of the top-of-page metrics.
pub const TOP: usize = 10;
/// Author classes of the integrity diagnostics: the five inauthentic kinds
/// ([`CreatorKind::INAUTHENTIC`] order), then honest creators.
pub const KIND_SLOTS: usize = 6;

/// Slot of a creator kind in the integrity diagnostics (advertisers have none).
pub fn kind_slot(k: CreatorKind) -> Option<usize> {
    match k {
        CreatorKind::Honest => Some(5),
        other => other.inauthentic_index(),
    }
}

/// How often the integrity rules fire on candidates of one author class.
#[derive(Clone, Debug, Serialize)]
pub struct IntegrityDiagnostics {
    /// Author class (an inauthentic kind, or `honest`).
    pub kind: String,
    /// Share of the class among candidates.
    pub candidate_share: f64,
    /// Share of the class's candidates with any integrity rule firing (factor below 1).
    pub flagged: f64,
    /// Share with a combined integrity factor of at most 0.5.
    pub demoted: f64,
    /// Share dropped: the integrity factors' product below `integrity::DROP_BELOW` (1/32).
    pub dropped: f64,
    /// Mean combined integrity factor.
    pub mean_factor: f64,
}

/// Sums filled by sessions.
#[derive(Clone, Debug)]
pub struct MetricsAcc {
    /// Measured sessions.
    pub sessions: u64,
    /// Items shown.
    pub impressions: u64,
    /// Seconds watched or read.
    pub watch_s: f64,
    /// Session wall time including swipes, seconds.
    pub elapsed_s: f64,
    /// Video impressions.
    pub video_impressions: u64,
    /// Video impressions watched to the end.
    pub video_completions: u64,
    /// Fast skips (all kinds).
    pub skips: u64,
    /// Likes.
    pub likes: u64,
    /// Comments.
    pub comments: u64,
    /// Shares.
    pub shares: u64,
    /// Saves.
    pub saves: u64,
    /// Follows.
    pub follows: u64,
    /// Profile visits.
    pub visits: u64,
    /// Hides.
    pub hides: u64,
    /// "See fewer".
    pub see_fewer: u64,
    /// Reports.
    pub reports: u64,
    /// Realised satisfaction.
    pub satisfaction: f64,
    /// Sponsored impressions.
    pub sponsored_impressions: u64,
    /// Non-sponsored impressions.
    pub organic_impressions: u64,
    /// Organic impressions of honest creators with at most 1000 followers.
    pub small_impressions: u64,
    /// Organic impressions of honest creators with accounts under 30 days old.
    pub new_impressions: u64,
    /// Impressions of inauthentic accounts' items.
    pub inauthentic_impressions: u64,
    /// Pages ranked.
    pub pages: u64,
    /// Sum of NDCG@10 over pages with a positive ideal.
    pub ndcg_sum: f64,
    /// Pages counted in `ndcg_sum`.
    pub ndcg_pages: u64,
    /// Concordant pairs (ties in prediction count 1/2) of predicted vs realised watch time.
    pub xauc_concordant: f64,
    /// Pairs compared.
    pub xauc_pairs: u64,
    /// Ranked positions in the top 10 of pages.
    pub top_slots: u64,
    /// Of those, items by inauthentic accounts.
    pub top_inauthentic: u64,
    /// Of those, by kind ([`CreatorKind::INAUTHENTIC`] order).
    pub top_by_kind: [u64; 5],
    /// Of those, sponsored.
    pub top_sponsored: u64,
    /// Sum over pages of distinct authors in the top 10.
    pub distinct_authors: u64,
    /// Candidates sent by the server.
    pub candidates: u64,
    /// Of those, by inauthentic accounts.
    pub candidates_inauthentic: u64,
    /// Watch seconds by position in the session.
    pub pos_watch: Vec<f64>,
    /// Candidates by author kind ([`KIND_SLOTS`] order).
    pub cand_by_kind: [u64; KIND_SLOTS],
    /// Of those, candidates whose combined integrity factor is below 1 (any rule fired).
    pub flagged_by_kind: [u64; KIND_SLOTS],
    /// Of those, candidates whose combined integrity factor is at most 0.5.
    pub demoted_by_kind: [u64; KIND_SLOTS],
    /// Candidates dropped by the integrity rules, by kind.
    pub dropped_by_kind: [u64; KIND_SLOTS],
    /// Sum of integrity factors by kind.
    pub factor_sum_by_kind: [f64; KIND_SLOTS],
    /// Items on first pages.
    pub first_page_items: u64,
    /// Of those, on one of the session's mood topics.
    pub first_page_mood: u64,
    /// Items on later pages.
    pub later_page_items: u64,
    /// Of those, on one of the session's mood topics.
    pub later_page_mood: u64,
    /// Feedback events the core refused (mute list full of blocks).
    pub feedback_refused: u64,
}

impl Default for MetricsAcc {
    fn default() -> Self {
        MetricsAcc {
            sessions: 0,
            impressions: 0,
            watch_s: 0.0,
            elapsed_s: 0.0,
            video_impressions: 0,
            video_completions: 0,
            skips: 0,
            likes: 0,
            comments: 0,
            shares: 0,
            saves: 0,
            follows: 0,
            visits: 0,
            hides: 0,
            see_fewer: 0,
            reports: 0,
            satisfaction: 0.0,
            sponsored_impressions: 0,
            organic_impressions: 0,
            small_impressions: 0,
            new_impressions: 0,
            inauthentic_impressions: 0,
            pages: 0,
            ndcg_sum: 0.0,
            ndcg_pages: 0,
            xauc_concordant: 0.0,
            xauc_pairs: 0,
            top_slots: 0,
            top_inauthentic: 0,
            top_by_kind: [0; 5],
            top_sponsored: 0,
            distinct_authors: 0,
            candidates: 0,
            candidates_inauthentic: 0,
            pos_watch: vec![0.0; SESSION_POSITIONS],
            cand_by_kind: [0; KIND_SLOTS],
            flagged_by_kind: [0; KIND_SLOTS],
            demoted_by_kind: [0; KIND_SLOTS],
            dropped_by_kind: [0; KIND_SLOTS],
            factor_sum_by_kind: [0.0; KIND_SLOTS],
            first_page_items: 0,
            first_page_mood: 0,
            later_page_items: 0,
            later_page_mood: 0,
            feedback_refused: 0,
        }
    }
}

impl MetricsAcc {
    /// Adds another accumulator.
    pub fn merge(&mut self, o: &MetricsAcc) {
        self.sessions += o.sessions;
        self.impressions += o.impressions;
        self.watch_s += o.watch_s;
        self.elapsed_s += o.elapsed_s;
        self.video_impressions += o.video_impressions;
        self.video_completions += o.video_completions;
        self.skips += o.skips;
        self.likes += o.likes;
        self.comments += o.comments;
        self.shares += o.shares;
        self.saves += o.saves;
        self.follows += o.follows;
        self.visits += o.visits;
        self.hides += o.hides;
        self.see_fewer += o.see_fewer;
        self.reports += o.reports;
        self.satisfaction += o.satisfaction;
        self.sponsored_impressions += o.sponsored_impressions;
        self.organic_impressions += o.organic_impressions;
        self.small_impressions += o.small_impressions;
        self.new_impressions += o.new_impressions;
        self.inauthentic_impressions += o.inauthentic_impressions;
        self.pages += o.pages;
        self.ndcg_sum += o.ndcg_sum;
        self.ndcg_pages += o.ndcg_pages;
        self.xauc_concordant += o.xauc_concordant;
        self.xauc_pairs += o.xauc_pairs;
        self.top_slots += o.top_slots;
        self.top_inauthentic += o.top_inauthentic;
        for (a, b) in self.top_by_kind.iter_mut().zip(o.top_by_kind) {
            *a += b;
        }
        self.top_sponsored += o.top_sponsored;
        self.distinct_authors += o.distinct_authors;
        self.candidates += o.candidates;
        self.candidates_inauthentic += o.candidates_inauthentic;
        for (a, b) in self.pos_watch.iter_mut().zip(&o.pos_watch) {
            *a += b;
        }
        for k in 0..KIND_SLOTS {
            self.cand_by_kind[k] += o.cand_by_kind[k];
            self.flagged_by_kind[k] += o.flagged_by_kind[k];
            self.demoted_by_kind[k] += o.demoted_by_kind[k];
            self.dropped_by_kind[k] += o.dropped_by_kind[k];
            self.factor_sum_by_kind[k] += o.factor_sum_by_kind[k];
        }
        self.first_page_items += o.first_page_items;
        self.first_page_mood += o.first_page_mood;
        self.later_page_items += o.later_page_items;
        self.later_page_mood += o.later_page_mood;
        self.feedback_refused += o.feedback_refused;
    }
}

/// NDCG@k of a page: `page` holds the ground-truth relevance of the shown items in order,
/// `pool` the relevance of every item the policy could have shown. `None` when nothing in the
/// pool has positive relevance.
pub fn ndcg_at(page: &[f64], pool: &mut [f64], k: usize) -> Option<f64> {
    let disc = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = page.iter().take(k).enumerate().map(|(i, r)| r * disc(i)).sum();
    let k = k.min(pool.len());
    if k == 0 {
        return None;
    }
    pool.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    let top = &mut pool[..k];
    top.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = top.iter().enumerate().map(|(i, r)| r * disc(i)).sum();
    (idcg > 0.0).then(|| (dcg / idcg).min(1.0))
}

/// XAUC over all pairs of (predicted, realised): concordant pairs (prediction ties count 1/2)
/// and the number of pairs with distinct realised values.
pub fn xauc_pairs(v: &[(f64, f64)]) -> (f64, u64) {
    let mut conc = 0.0;
    let mut n = 0;
    for i in 0..v.len() {
        for j in i + 1..v.len() {
            let (pi, ri) = v[i];
            let (pj, rj) = v[j];
            if ri == rj {
                continue;
            }
            n += 1;
            if pi == pj {
                conc += 0.5;
            } else if (pi > pj) == (ri > rj) {
                conc += 1.0;
            }
        }
    }
    (conc, n)
}

/// Gini coefficient of non-negative values (0 = equal, near 1 = one takes all).
pub fn gini(values: &[u64]) -> f64 {
    let n = values.len();
    let total: u64 = values.iter().sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let weighted: f64 = v.iter().enumerate().map(|(i, x)| (i as f64 + 1.0) * *x as f64).sum();
    2.0 * weighted / (n as f64 * total as f64) - (n as f64 + 1.0) / n as f64
}

/// One policy's results (see the crate README for the field definitions).
#[derive(Clone, Debug, Serialize)]
pub struct PolicyMetrics {
    /// Policy name.
    pub name: String,
    /// Profile the core ranked with (`none` for chronological and oracle).
    pub profile: String,
    /// When the user state learns: `per_item` (on device) or `per_session` (server only).
    pub refresh: String,
    /// Whether the profile's integrity rules were on.
    pub integrity: bool,
    /// Measured sessions.
    pub sessions: u64,
    /// Items shown per session.
    pub impressions_per_session: f64,
    /// Seconds watched or read per session.
    pub watch_time_per_session_s: f64,
    /// Session length including swipes, minutes.
    pub session_minutes: f64,
    /// Share of video impressions watched to the end.
    pub completion_rate: f64,
    /// Share of impressions skipped in under 3 s.
    pub skip_rate: f64,
    /// Likes, comments, shares, saves and follows per session.
    pub engagements_per_session: f64,
    /// The same per impression.
    pub engagement_rate: f64,
    /// Follows per session.
    pub follows_per_session: f64,
    /// Hides, see-fewer and reports per impression.
    pub negative_rate: f64,
    /// Reports per impression.
    pub report_rate: f64,
    /// Mean realised satisfaction per impression.
    pub satisfaction_per_impression: f64,
    /// Mean NDCG@10 of pages as first ranked (before any on-device re-rank of their rest)
    /// against ground-truth expected satisfaction at that time; NDCG@page for pages shorter
    /// than 10.
    pub ndcg_at_10: f64,
    /// XAUC of the model's watch-time head against realised watch time (pairs within a session).
    pub xauc: f64,
    /// Mean distinct authors in a page's top 10. This and the other page shares count each
    /// page as served: with on-device re-ranking, the last re-rank's order after the last
    /// item shown.
    pub distinct_authors_top10: f64,
    /// Gini of impressions across creators who posted.
    pub creator_exposure_gini: f64,
    /// Share of organic impressions on honest creators with at most 1000 followers at the
    /// start of the run.
    pub small_creator_reach: f64,
    /// Share of organic impressions on honest creators with accounts under 30 days old.
    pub new_creator_reach: f64,
    /// Share of top-10 positions holding items by inauthentic accounts.
    pub inauthentic_top10_share: f64,
    /// The same among the candidates the server sent (the base rate before ranking).
    pub inauthentic_candidate_share: f64,
    /// Share of impressions on inauthentic accounts' items.
    pub inauthentic_impression_share: f64,
    /// Top-10 share by inauthentic kind.
    pub inauthentic_top10_by_kind: std::collections::BTreeMap<String, f64>,
    /// Share of impressions that are sponsored.
    pub ad_load: f64,
    /// Share of first-page items on the session's mood topics (short-term intent).
    pub mood_share_first_page: f64,
    /// The same on later pages: rises when the device adapts to the session within it.
    pub mood_share_later_pages: f64,
    /// Feedback events the core refused.
    pub feedback_refused: u64,
    /// What the integrity rules do to each author class's candidates (under this policy's
    /// profile, or under the X profile's shared integrity rules when the policy has none).
    pub integrity_diagnostics: Vec<IntegrityDiagnostics>,
    /// Mean cumulative watch seconds by position in the session (sessions that ended count
    /// with their final total).
    pub watch_along_session_s: Vec<f64>,
    /// Mean cumulative impressions per organic item by hours since posting.
    pub reach_first_hours: Vec<f64>,
    /// The same for items of small honest creators.
    pub reach_first_hours_small: Vec<f64>,
}

/// Everything measured for one policy.
#[derive(Clone, Debug)]
pub struct PolicyRun {
    /// Session sums.
    pub acc: MetricsAcc,
    /// Measured impressions per creator.
    pub exposure: Vec<u64>,
    /// Impressions by item age in hours (eligible organic items).
    pub reach: [u64; REACH_HOURS],
    /// The same for small honest creators' items.
    pub reach_small: [u64; REACH_HOURS],
}

impl PolicyRun {
    /// Empty.
    pub fn new(creators: usize) -> Self {
        PolicyRun {
            acc: MetricsAcc::default(),
            exposure: vec![0; creators],
            reach: [0; REACH_HOURS],
            reach_small: [0; REACH_HOURS],
        }
    }
}

/// Inputs to [`finish`] that come from the world.
pub struct Denominators {
    /// Creators eligible for the exposure Gini.
    pub gini_creators: Vec<bool>,
    /// Eligible organic items per reach hour.
    pub reach_items: [u64; REACH_HOURS],
    /// Eligible small-creator items per reach hour.
    pub reach_items_small: [u64; REACH_HOURS],
}

impl Denominators {
    /// Creators eligible for the exposure Gini (non-advertisers that posted organic items in
    /// the window) and organic items eligible for each reach hour.
    pub fn of(world: &World) -> Self {
        let gini_creators: Vec<bool> = (0..world.creators.len())
            .map(|c| {
                world.creators[c].kind != CreatorKind::Advertiser
                    && world.creator_items[c].iter().any(|&i| {
                        world.items[i as usize].created_at >= world.warmup_end && !world.items[i as usize].sponsored
                    })
            })
            .collect();
        let mut reach_items = [0u64; REACH_HOURS];
        let mut reach_items_small = [0u64; REACH_HOURS];
        for it in &world.items {
            if it.sponsored || it.created_at < world.warmup_end {
                continue;
            }
            let small = world.creators[it.creator as usize].is_small_honest();
            for h in 0..REACH_HOURS {
                if it.created_at + (h as u32 + 1) * HOUR <= world.end {
                    reach_items[h] += 1;
                    if small {
                        reach_items_small[h] += 1;
                    }
                }
            }
        }
        Denominators { gini_creators, reach_items, reach_items_small }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Final numbers of one policy.
pub fn finish(
    name: &str,
    profile: &str,
    refresh: &str,
    integrity: bool,
    run: &PolicyRun,
    d: &Denominators,
) -> PolicyMetrics {
    let a = &run.acc;
    let s = a.sessions as f64;
    let imp = a.impressions as f64;
    let engagements = (a.likes + a.comments + a.shares + a.saves + a.follows) as f64;
    let negatives = (a.hides + a.see_fewer + a.reports) as f64;
    let exposure: Vec<u64> = run.exposure.iter().zip(&d.gini_creators).filter(|(_, e)| **e).map(|(x, _)| *x).collect();
    let mut cum = 0.0;
    let watch_along: Vec<f64> = a
        .pos_watch
        .iter()
        .map(|w| {
            cum += w;
            ratio(cum, s)
        })
        .collect();
    let cumulative = |hist: &[u64; REACH_HOURS], items: &[u64; REACH_HOURS]| {
        let mut acc = 0.0;
        hist.iter()
            .zip(items)
            .map(|(h, n)| {
                acc += ratio(*h as f64, *n as f64);
                acc
            })
            .collect::<Vec<f64>>()
    };
    let by_kind = CreatorKind::INAUTHENTIC
        .iter()
        .enumerate()
        .map(|(i, k)| (k.name().to_string(), ratio(a.top_by_kind[i] as f64, a.top_slots as f64)))
        .collect();
    PolicyMetrics {
        name: name.to_string(),
        profile: profile.to_string(),
        refresh: refresh.to_string(),
        integrity,
        sessions: a.sessions,
        impressions_per_session: ratio(imp, s),
        watch_time_per_session_s: ratio(a.watch_s, s),
        session_minutes: ratio(a.elapsed_s / 60.0, s),
        completion_rate: ratio(a.video_completions as f64, a.video_impressions as f64),
        skip_rate: ratio(a.skips as f64, imp),
        engagements_per_session: ratio(engagements, s),
        engagement_rate: ratio(engagements, imp),
        follows_per_session: ratio(a.follows as f64, s),
        negative_rate: ratio(negatives, imp),
        report_rate: ratio(a.reports as f64, imp),
        satisfaction_per_impression: ratio(a.satisfaction, imp),
        ndcg_at_10: ratio(a.ndcg_sum, a.ndcg_pages as f64),
        xauc: ratio(a.xauc_concordant, a.xauc_pairs as f64),
        distinct_authors_top10: ratio(a.distinct_authors as f64, a.pages as f64),
        creator_exposure_gini: gini(&exposure),
        small_creator_reach: ratio(a.small_impressions as f64, a.organic_impressions as f64),
        new_creator_reach: ratio(a.new_impressions as f64, a.organic_impressions as f64),
        inauthentic_top10_share: ratio(a.top_inauthentic as f64, a.top_slots as f64),
        inauthentic_candidate_share: ratio(a.candidates_inauthentic as f64, a.candidates as f64),
        inauthentic_impression_share: ratio(a.inauthentic_impressions as f64, imp),
        inauthentic_top10_by_kind: by_kind,
        ad_load: ratio(a.sponsored_impressions as f64, imp),
        mood_share_first_page: ratio(a.first_page_mood as f64, a.first_page_items as f64),
        mood_share_later_pages: ratio(a.later_page_mood as f64, a.later_page_items as f64),
        feedback_refused: a.feedback_refused,
        integrity_diagnostics: (0..KIND_SLOTS)
            .map(|k| {
                let n = a.cand_by_kind[k] as f64;
                IntegrityDiagnostics {
                    kind: if k < 5 { CreatorKind::INAUTHENTIC[k].name() } else { "honest" }.to_string(),
                    candidate_share: ratio(n, a.candidates as f64),
                    flagged: ratio(a.flagged_by_kind[k] as f64, n),
                    demoted: ratio(a.demoted_by_kind[k] as f64, n),
                    dropped: ratio(a.dropped_by_kind[k] as f64, n),
                    mean_factor: ratio(a.factor_sum_by_kind[k], n),
                }
            })
            .collect(),
        watch_along_session_s: watch_along,
        reach_first_hours: cumulative(&run.reach, &d.reach_items),
        reach_first_hours_small: cumulative(&run.reach_small, &d.reach_items_small),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_extremes() {
        assert_eq!(gini(&[5, 5, 5, 5]), 0.0);
        assert!((gini(&[0, 0, 0, 10]) - 0.75).abs() < 1e-12);
        assert_eq!(gini(&[]), 0.0);
    }

    #[test]
    fn ndcg_is_one_for_the_ideal_order_and_lower_otherwise() {
        let mut pool = vec![0.1, 0.9, 0.5, 0.0];
        assert!((ndcg_at(&[0.9, 0.5, 0.1], &mut pool.clone(), 10).unwrap() - 1.0).abs() < 1e-12);
        assert!(ndcg_at(&[0.1, 0.5, 0.9], &mut pool, 10).unwrap() < 1.0);
        assert_eq!(ndcg_at(&[0.0], &mut [0.0], 10), None);
    }

    #[test]
    fn xauc_counts_ordered_pairs() {
        assert_eq!(xauc_pairs(&[(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]), (3.0, 3));
        assert_eq!(xauc_pairs(&[(3.0, 1.0), (2.0, 2.0), (1.0, 3.0)]), (0.0, 3));
        assert_eq!(xauc_pairs(&[(1.0, 1.0), (1.0, 2.0)]), (0.5, 1));
    }
}
