//! Filters: candidates that must not be shown at all, decided before any scoring work.

use serde::{Deserialize, Serialize};

use super::explain::NoTrace;
use super::integrity;
use crate::input::Candidate;
use crate::num::Factor;
use crate::profile::Profile;
use crate::state::{MuteKind, UserState};

/// A candidate posted more than this far in the future (clock skew beyond reason) is dropped;
/// within it, its age counts as zero.
pub const FUTURE_TOLERANCE_S: u32 = 300;

const DAY_S: u64 = 86_400;

/// Why a candidate was filtered out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum FilterReason {
    /// Shown to the user recently.
    Seen = 0,
    /// Author muted or blocked.
    Muted = 1,
    /// Author in the "see fewer" window.
    SeeFewer = 2,
    /// Older than the profile's age cut.
    TooOld = 3,
    /// Timestamp too far in the future.
    FromFuture = 4,
    /// Integrity evidence stacked up below [`integrity::DROP_BELOW`]: detected amplification
    /// is removed, not only demoted.
    Inauthentic = 5,
}

impl FilterReason {
    /// Number of reasons.
    pub const COUNT: usize = 6;
}

/// A candidate that passed the filters, with what the filters learned about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// Age in seconds (0 for slightly-future posts).
    pub age_s: u32,
    /// "See fewer" recovery factor (1 when no record).
    pub fatigue: Factor,
    /// Product of the integrity rules' factors (1 when none fires).
    pub integrity: Factor,
}

/// Decides whether a candidate may be shown at `now`: [`screen`], then [`check_integrity`].
#[inline]
pub fn admit(c: &Candidate, user: &UserState, profile: &Profile, now: u32) -> Result<Admitted, FilterReason> {
    screen(c, user, profile, now).and_then(|admitted| check_integrity(admitted, c, profile))
}

/// Every filter but the integrity drop: the clock (future, age cut) and the user's state
/// (seen, muted or blocked, "see fewer"). The result's `integrity` is 1 until
/// [`check_integrity`] computes it; with early rejection (`pipeline::EARLY_REJECT_AFTER`) a
/// rank session runs that only for candidates that could still enter the shortlist (or pass
/// the exploration gate) undemoted.
#[inline]
pub fn screen(c: &Candidate, user: &UserState, profile: &Profile, now: u32) -> Result<Admitted, FilterReason> {
    let age_s = if c.created_at > now {
        if c.created_at - now > FUTURE_TOLERANCE_S {
            return Err(FilterReason::FromFuture);
        }
        0
    } else {
        now - c.created_at
    };
    if age_s > profile.config().age.max_age_s {
        return Err(FilterReason::TooOld);
    }
    if user.has_seen(c.item_id) {
        return Err(FilterReason::Seen);
    }
    let fatigue = match user.mute_record(c.author_id) {
        None => Factor::ONE,
        Some(r) => match r.kind {
            MuteKind::Mute | MuteKind::Block => return Err(FilterReason::Muted),
            MuteKind::SeeFewer => fatigue_factor(profile, now, r.at)?,
        },
    };
    Ok(Admitted { age_s, fatigue, integrity: Factor::ONE })
}

/// The integrity drop, after [`screen`]: computes the rules' product into `admitted` and
/// drops the candidate if it is below [`integrity::DROP_BELOW`]. Last, because the rules are
/// the most work of the filters.
#[inline]
pub fn check_integrity(admitted: Admitted, c: &Candidate, profile: &Profile) -> Result<Admitted, FilterReason> {
    let integrity = integrity::factor(profile, c, &mut NoTrace);
    if integrity < integrity::DROP_BELOW {
        return Err(FilterReason::Inauthentic);
    }
    Ok(Admitted { integrity, ..admitted })
}

/// A "see fewer" record dated more than this after the request time was stamped by a clock
/// that ran ahead (one day).
pub const RECORD_AHEAD_S: u32 = 24 * 3600;

/// X's fatigue rule for a "see fewer" record made at `at`: filtered for `filter_days`, then
/// linear from `start_factor` to 1 over `recovery_days`. A record dated more than
/// [`RECORD_AHEAD_S`] after `now` gets `start_factor` instead: when it was really made is
/// unknown, and counting from its date would hide the author until then (a clock set years
/// ahead, then corrected). The user's wish still demotes the author, at that factor for as
/// long as the record stays more than a day ahead; once the clock comes within a day of its
/// date, the rule runs from that date (filtered, then recovering).
fn fatigue_factor(profile: &Profile, now: u32, at: u32) -> Result<Factor, FilterReason> {
    let f = &profile.config().fatigue;
    let filter_s = crate::num::mul_wide(f.filter_days as u32, DAY_S as u32);
    // The recovery ramp's span is `recovery_days` in seconds.
    let recovery_s = profile.fatigue_recovery.span();
    let since = if at > now.saturating_add(RECORD_AHEAD_S) { filter_s } else { now.saturating_sub(at) as u64 };
    if since < filter_s {
        return Err(FilterReason::SeeFewer);
    }
    if since >= filter_s + recovery_s {
        return Ok(Factor::ONE);
    }
    Ok(profile.fatigue_recovery.at(filter_s + recovery_s - since))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Platform;
    use crate::state::{Feedback, FeedbackKind};

    fn setup() -> (Profile, UserState, Candidate) {
        let p = Profile::compile(Platform::X.config()).unwrap();
        let c = Candidate { item_id: 10, author_id: 20, created_at: 1_000_000, ..Candidate::default() };
        (p, UserState::new(), c)
    }

    #[test]
    fn age_cut_and_future_tolerance() {
        let (p, u, c) = setup();
        assert_eq!(admit(&c, &u, &p, 1_000_100).map(|a| a.age_s), Ok(100));
        assert_eq!(admit(&c, &u, &p, 1_000_000 - 200).map(|a| a.age_s), Ok(0));
        assert_eq!(admit(&c, &u, &p, 1_000_000 - 301), Err(FilterReason::FromFuture));
        assert_eq!(admit(&c, &u, &p, 1_000_000 + 48 * 3600 + 1), Err(FilterReason::TooOld));
        assert!(admit(&c, &u, &p, 1_000_000 + 48 * 3600).is_ok());
    }

    #[test]
    fn seen_muted_and_see_fewer() {
        let (p, mut u, c) = setup();
        let fb = |item_id, kind| Feedback { item_id, author_id: 20, topic: 0, at: 1_000_000, kind };
        u.apply(&fb(99, FeedbackKind::SeeFewer)).unwrap();
        let now = 1_000_000 + 3600;
        assert_eq!(admit(&c, &u, &p, now), Err(FilterReason::SeeFewer));
        let at = |days: u32| 1_000_000 + days * 86_400;
        let posted = |days| Candidate { created_at: at(days), ..c };
        let start = admit(&posted(14), &u, &p, at(14)).unwrap().fatigue;
        assert!((start.to_f64() - 0.2).abs() < 1e-5, "{start:?}");
        let mid = admit(&posted(84), &u, &p, at(84)).unwrap().fatigue;
        assert!((mid.to_f64() - 0.6).abs() < 1e-3, "{mid:?}");
        assert_eq!(admit(&posted(200), &u, &p, at(200)).map(|a| a.fatigue), Ok(Factor::ONE));
        u.apply(&fb(98, FeedbackKind::Mute)).unwrap();
        assert_eq!(admit(&c, &u, &p, now), Err(FilterReason::Muted));
        let mut u2 = UserState::new();
        u2.apply(&Feedback { author_id: 1, ..fb(10, FeedbackKind::Like) }).unwrap();
        assert_eq!(admit(&c, &u2, &p, now), Err(FilterReason::Seen));
    }

    #[test]
    fn a_see_fewer_dated_ahead_starts_its_recovery() {
        let (p, mut u, c) = setup();
        let day = 86_400;
        // Stamped by a clock a year ahead.
        let fb =
            Feedback { item_id: 99, author_id: 20, topic: 0, at: 1_000_000 + 365 * day, kind: FeedbackKind::SeeFewer };
        u.apply(&fb).unwrap();
        let posted = |at| Candidate { created_at: at, ..c };
        // A day ahead of the request: a clock slightly off, the record counts as made then.
        let now = 1_000_000 + 364 * day;
        assert_eq!(admit(&posted(now), &u, &p, now), Err(FilterReason::SeeFewer));
        // More than a day ahead: demoted at the rule's start factor (0.2), not filtered.
        let now = now - 1;
        let start = admit(&posted(now), &u, &p, now).unwrap().fatigue;
        assert!((start.to_f64() - 0.2).abs() < 1e-5, "{start:?}");
    }

    #[test]
    fn stacked_integrity_evidence_drops_and_single_rules_demote() {
        let (p, u, mut c) = setup();
        c.author = crate::input::AuthorSignals {
            followers: 5_000,
            followings: 300,
            account_age_days: 900,
            engagement_rate: crate::num::Prob::from_f64(0.02),
            ..crate::input::AuthorSignals::default()
        };
        let now = 1_000_000 + 60;
        assert_eq!(admit(&c, &u, &p, now).map(|a| a.integrity), Ok(Factor::ONE));
        // Clockwork posting alone: demoted to X's bot floor 0.15, kept.
        c.author.posting_regularity = crate::num::Prob::ONE;
        let bot = admit(&c, &u, &p, now).unwrap().integrity;
        assert!((bot.to_f64() - 0.15).abs() < 1e-4, "{bot:?}");
        // ... and a brand-new account too: 0.15 * 0.3 = 0.045, still above 1/32.
        c.author.account_age_days = 0;
        assert!(admit(&c, &u, &p, now).is_ok());
        // ... and an early crowd larger than its audience (pod floor 0.1): 0.0045, dropped.
        c.author.followers = 20;
        c.global.engagements_first_10m = 30;
        c.global.engagements_first_2h = 200;
        assert_eq!(admit(&c, &u, &p, now), Err(FilterReason::Inauthentic));
        // With the integrity rules off, nothing is dropped for it.
        let mut cfg = Platform::X.config();
        cfg.integrity.enabled = false;
        let off = Profile::compile(cfg).unwrap();
        assert_eq!(admit(&c, &u, &off, now).map(|a| a.integrity), Ok(Factor::ONE));
    }
}
