//! On-device learning: each feedback event moves the user's topic interest and author
//! affinity toward a reward, as an exponential moving average in fixed point.
//!
//! `interest += (reward - interest) / 2^shift`, so values stay within [-1, 1] whatever the
//! sequence of events, and recent behaviour outweighs old behaviour. The next rank call reads
//! the updated values through the `topic_interest`, `session_interest` and `author_affinity`
//! features.
//!
//! Two speeds per topic: the long-term interest moves 1/8 of the way per event; the session
//! interest moves 1/2 of the way and fades (halves toward zero) every
//! [`SESSION_HALF_LIFE_S`] without events. The session interest is what the user wants right
//! now (a session's "mood", real-time intent in on-device re-ranking): within one or two
//! items it separates the topics the user is watching through from those skipped, which the
//! slow average cannot do within one session. A session shows each topic only once or twice,
//! so the fast average has to act on the first reading (at 1/4 per event it lagged too far
//! for re-ranking after every item to pay: see the host-sim README, "Results").

use serde::{Deserialize, Serialize};

use super::tables::{MuteKind, MuteList, MuteRecord};
use super::UserState;
use crate::error::FeedbackError;
use crate::num::{Feature, WatchRatio};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FeedbackKind {
    /// The item was shown; `watch_ratio` is played / duration for videos, or dwell / expected
    /// reading time for other items (1.0 = read normally).
    Impression {
        /// Watch or dwell ratio.
        watch_ratio: WatchRatio,
    },
    /// Skipped in under 3 s.
    Skip,
    /// Liked.
    Like,
    /// Commented or replied.
    Comment,
    /// Shared or sent.
    Share,
    /// Saved.
    Save,
    /// Followed the author.
    Follow,
    /// Opened the author's profile.
    ProfileVisit,
    /// Hid this item.
    Hide,
    /// Asked to see fewer posts from this author.
    SeeFewer,
    /// Reported the item (the author is also blocked).
    Report,
    /// Muted the author.
    Mute,
    /// Blocked the author.
    Block,
    /// Removed a mute, block or "see fewer" on the author.
    Unmute,
}

/// One feedback event from the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Feedback {
    /// The item acted on.
    pub item_id: u32,
    /// Its author.
    pub author_id: u32,
    /// Its topic.
    pub topic: u8,
    /// When, seconds (same clock as rank requests).
    pub at: u32,
    /// What happened.
    pub kind: FeedbackKind,
}

/// Learning constants.
#[derive(Clone, Copy, Debug)]
pub struct Learning {
    /// Topic interest moves 1/2^shift of the way to the reward per event.
    pub topic_shift: u32,
    /// Session interest moves 1/2^shift of the way to the reward per event.
    pub session_shift: u32,
    /// Author affinity moves 1/2^shift of the way per event (faster: fewer events per author).
    pub author_shift: u32,
}

/// The constants in use: topics 1/8 per event, session interest 1/2, authors 1/4.
pub const LEARNING: Learning = Learning { topic_shift: 3, session_shift: 1, author_shift: 2 };

/// An event dated more than this before the session clock moves the clock back to it (see
/// [`UserState::apply`]); a later one is a late event and leaves the clock alone. One day.
pub const SESSION_CLOCK_RESET_S: u32 = 24 * 3600;

/// The session interest halves (toward zero) per this many seconds without events.
pub const SESSION_HALF_LIFE_S: u32 = 600;

/// Whole session half-lives in `elapsed_s` seconds, capped at 15 (when every stored value
/// has faded to 0). Rank calls read it per candidate: a multiply by the reciprocal instead of
/// a division, which a Cortex-M0+ does in software (exact for every input; tested).
#[inline]
pub(crate) fn half_lives(elapsed_s: u32) -> u32 {
    const CAP: u32 = 15 * SESSION_HALF_LIFE_S;
    // ceil(2^24 / half-life): elapsed * RECIPROCAL stays below 2^32 below the cap.
    const RECIPROCAL: u32 = (1u32 << 24).div_ceil(SESSION_HALF_LIFE_S);
    const _: () = assert!((CAP as u64) * (RECIPROCAL as u64) < 1 << 32);
    if elapsed_s >= CAP {
        15
    } else {
        (elapsed_s * RECIPROCAL) >> 24
    }
}

/// `v` halved `halvings` times, rounding toward zero (so it reaches exactly 0).
#[inline]
pub(crate) fn fade(v: Feature, halvings: u32) -> Feature {
    let k = halvings.min(15);
    let r = v.raw() as i32;
    Feature((if r >= 0 { r >> k } else { -((-r) >> k) }) as i16)
}

/// Rewards, Q12 in [-1, 1]: (topic reward, author reward).
fn rewards(kind: FeedbackKind) -> Option<(i32, i32)> {
    const R: i32 = Feature::ONE.0 as i32;
    Some(match kind {
        FeedbackKind::Impression { watch_ratio } => {
            // ratio 0 -> -0.5, 0.5 -> 0, 1 -> +0.5, >= 1.5 -> +1 (WatchRatio is Q12).
            let r = ((watch_ratio.raw() as i32).min(6144) - 2048) * (R / 4096);
            (r, r / 2)
        }
        FeedbackKind::Skip => (-R * 2 / 5, -R / 5),
        FeedbackKind::Like => (R * 3 / 5, R * 3 / 5),
        FeedbackKind::Comment => (R * 4 / 5, R * 4 / 5),
        FeedbackKind::Share => (R, R * 4 / 5),
        FeedbackKind::Save => (R * 7 / 10, R / 2),
        FeedbackKind::Follow => (R / 2, R),
        FeedbackKind::ProfileVisit => (R / 5, R * 2 / 5),
        FeedbackKind::Hide => (-R * 3 / 5, -R * 3 / 5),
        FeedbackKind::SeeFewer => (-R * 3 / 5, -R),
        FeedbackKind::Report | FeedbackKind::Mute | FeedbackKind::Block => (-R, -R),
        FeedbackKind::Unmute => return None,
    })
}

#[inline]
fn ema(current: Feature, target: i32, shift: u32) -> Feature {
    let c = current.raw() as i32;
    // Round toward the target so that small steps still arrive.
    let delta = target - c;
    let step = if delta >= 0 { (delta + (1 << shift) - 1) >> shift } else { -((-delta + (1 << shift) - 1) >> shift) };
    let one = Feature::ONE.0 as i32;
    let v = (c + step).clamp(-one, one);
    Feature(v as i16)
}

/// What an event does to the mute records: the only step of [`UserState::apply`] that can
/// fail (a new mute or block with the list full of mutes and blocks).
fn follow_mutes(mutes: &mut MuteList, fb: &Feedback) -> Result<(), FeedbackError> {
    let record = |kind| MuteRecord { author_id: fb.author_id, kind, at: fb.at };
    match fb.kind {
        FeedbackKind::SeeFewer => mutes.insert(record(MuteKind::SeeFewer))?,
        FeedbackKind::Mute => mutes.insert(record(MuteKind::Mute))?,
        FeedbackKind::Block | FeedbackKind::Report => mutes.insert(record(MuteKind::Block))?,
        FeedbackKind::Unmute => mutes.remove(fb.author_id),
        _ => {}
    }
    Ok(())
}

impl UserState {
    /// Applies a batch of events in order, all or none: if any event would be refused,
    /// nothing changes, and the error names the first refused event's index. A device's
    /// `Feedback` request is one batch, so a host that sees it refused can resend the events
    /// it wants without applying any twice.
    ///
    /// ```
    /// use edgerank_core::state::{Feedback, FeedbackKind, UserState, MUTE_SLOTS};
    ///
    /// let mut user = UserState::new();
    /// let mute = |author_id| Feedback { item_id: 1, author_id, topic: 0, at: 100, kind: FeedbackKind::Mute };
    /// let mutes: Vec<Feedback> = (0..MUTE_SLOTS as u32).map(mute).collect();
    /// user.apply_all(&mutes).unwrap();
    /// // A like, then one mute too many: refused as a whole, the like included.
    /// let before = user.clone();
    /// let like = Feedback { kind: FeedbackKind::Like, ..mute(7) };
    /// assert_eq!(user.apply_all(&[like, mute(99)]).map_err(|(i, _)| i), Err(1));
    /// assert_eq!(user, before);
    /// ```
    pub fn apply_all(&mut self, events: &[Feedback]) -> Result<(), (usize, FeedbackError)> {
        // Only a new mute record can be refused: a batch that adds none cannot fail. One that
        // does is tried first on a copy of the records (about 400 bytes).
        let adds_records = events.iter().any(|e| {
            matches!(e.kind, FeedbackKind::SeeFewer | FeedbackKind::Mute | FeedbackKind::Block | FeedbackKind::Report)
        });
        if adds_records {
            let mut mutes = self.mutes.clone();
            for (i, fb) in events.iter().enumerate() {
                follow_mutes(&mut mutes, fb).map_err(|e| (i, e))?;
            }
        }
        for (i, fb) in events.iter().enumerate() {
            // The same steps succeeded on the copy, so this does not fail.
            self.apply(fb).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    /// Applies one feedback event. On error nothing changes.
    pub fn apply(&mut self, fb: &Feedback) -> Result<(), FeedbackError> {
        // Record mutes first: that is the only step that can fail.
        follow_mutes(&mut self.mutes, fb)?;
        // Saturating: the LRU stamps then never run backwards (a wrapped counter would make
        // the newest entries the first evicted), and stay within the counter as a restored
        // state must.
        self.events = self.events.saturating_add(1);
        self.last_event_at = self.last_event_at.max(fb.at);
        if let Some((topic_reward, author_reward)) = rewards(fb.kind) {
            if let Some(t) = self.topics.get_mut(fb.topic as usize) {
                *t = ema(*t, topic_reward, LEARNING.topic_shift);
            }
            // Fade the session interest to this event's time (as `session_interest` reads
            // it), then move this topic's. The session clock advances in whole half-lives,
            // keeping the remainder: were it set to each event's time, events less than a
            // half-life apart would never fade anything. An event dated before the clock
            // fades nothing: a late one (out of order, or queued while offline) leaves the
            // clock alone, and one more than `SESSION_CLOCK_RESET_S` earlier moves it back to
            // the event (the clock was set back, or an event dated in the future moved it
            // ahead: a clock that only rose would stop fading until that date).
            if fb.at < self.session_at {
                if self.session_at - fb.at > SESSION_CLOCK_RESET_S {
                    self.session_at = fb.at;
                }
            } else {
                let halvings = half_lives(fb.at - self.session_at);
                // A session faded to nothing (after 15 halvings every Q13 value is) has no
                // clock to keep: a new one starts at this event.
                let mut empty = true;
                for v in self.session.iter_mut() {
                    *v = fade(*v, halvings);
                    empty &= v.raw() == 0;
                }
                self.session_at = if empty { fb.at } else { self.session_at + halvings * SESSION_HALF_LIFE_S };
            }
            if let Some(t) = self.session.get_mut(fb.topic as usize) {
                *t = ema(*t, topic_reward, LEARNING.session_shift);
            }
            let a = ema(self.authors.get(fb.author_id), author_reward, LEARNING.author_shift);
            self.authors.put(fb.author_id, a, self.events);
            self.seen.insert(fb.item_id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn half_lives_are_whole_divisions_capped_at_15() {
        for elapsed in (0..20 * super::SESSION_HALF_LIFE_S).chain([u32::MAX - 1, u32::MAX]) {
            assert_eq!(super::half_lives(elapsed), (elapsed / super::SESSION_HALF_LIFE_S).min(15), "{elapsed}");
        }
    }

    use super::*;

    fn fb(kind: FeedbackKind) -> Feedback {
        Feedback { item_id: 77, author_id: 5, topic: 2, at: 1000, kind }
    }

    /// A watch through and a half (reward +1) of `topic` at `at`.
    fn watch(topic: u8, at: u32) -> Feedback {
        Feedback { topic, at, ..fb(FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(1.5) }) }
    }

    #[test]
    fn positive_events_raise_and_negative_events_lower_interest() {
        let mut u = UserState::new();
        u.apply(&fb(FeedbackKind::Like)).unwrap();
        assert!(u.topic_interest(2).raw() > 0 && u.author_affinity(5).raw() > 0);
        assert!(u.has_seen(77));
        let before = u.topic_interest(2);
        u.apply(&fb(FeedbackKind::Skip)).unwrap();
        assert!(u.topic_interest(2) < before);
        u.apply(&fb(FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(1.2) })).unwrap();
        let after_watch = u.topic_interest(2);
        u.apply(&fb(FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(0.05) })).unwrap();
        assert!(u.topic_interest(2) < after_watch);
    }

    #[test]
    fn session_interest_moves_fast_and_fades_without_events() {
        let mut u = UserState::new();
        let watch = |at| Feedback { at, ..fb(FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(1.5) }) };
        u.apply(&watch(1000)).unwrap();
        // Reward +1: the session interest moves 1/2 of the way, the long-term one 1/8.
        assert_eq!(u.session_interest(2, 1000), Feature(Feature::ONE.raw() / 2));
        assert_eq!(u.topic_interest(2), Feature(Feature::ONE.raw() / 8));
        for i in 1..10 {
            u.apply(&watch(1000 + 20 * i)).unwrap();
        }
        let now = 1180;
        let v = u.session_interest(2, now).raw();
        assert!(v as i32 > Feature::ONE.raw() as i32 * 9 / 10, "{v}");
        // Halved per whole half-life of the session clock, which started at the first event
        // (1000), toward zero; then gone.
        assert_eq!(u.session_at(), 1000);
        assert_eq!(u.session_interest(2, 1000 + SESSION_HALF_LIFE_S - 1).raw(), v);
        assert_eq!(u.session_interest(2, 1000 + SESSION_HALF_LIFE_S).raw(), v >> 1);
        assert_eq!(u.session_interest(2, 1000 + 3 * SESSION_HALF_LIFE_S).raw(), v >> 3);
        assert_eq!(u.session_interest(2, now + 3 * 3600).raw(), 0);
        // Other topics and unknown topics are neutral.
        assert_eq!(u.session_interest(3, now).raw(), 0);
        assert_eq!(u.session_interest(250, now).raw(), 0);
        // A negative session interest fades toward zero too (not to -1 raw).
        let mut n = UserState::new();
        n.apply(&Feedback { at: 50, ..fb(FeedbackKind::Report) }).unwrap();
        assert!(n.session_interest(2, 50).raw() < 0);
        assert_eq!(n.session_interest(2, 50 + 20 * SESSION_HALF_LIFE_S).raw(), 0);
        // The next event after a long pause starts from the faded value.
        u.apply(&Feedback { at: now + 3 * 3600, ..fb(FeedbackKind::Skip) }).unwrap();
        assert!(u.session_interest(2, now + 3 * 3600).raw() < 0);
        // The long-term interest does not fade.
        assert!(u.topic_interest(2).raw() > Feature::ONE.raw() / 2);
    }

    #[test]
    fn session_interest_fades_between_events_less_than_a_half_life_apart() {
        // Topic 2 once, then events on topic 3 every 599 s for two hours: topic 2 fades as
        // if no event had come (12 halvings), and so does a read at the same time.
        let mut u = UserState::new();
        u.apply(&watch(2, 10_000)).unwrap();
        let start = u.session_interest(2, 10_000).raw();
        assert_eq!(start, Feature::ONE.raw() / 2);
        let mut quiet = u.clone();
        let mut at = 10_000;
        while at + 599 <= 10_000 + 12 * SESSION_HALF_LIFE_S {
            at += 599;
            u.apply(&watch(3, at)).unwrap();
        }
        let end = 10_000 + 12 * SESSION_HALF_LIFE_S;
        assert_eq!(u.session_interest(2, end).raw(), start >> 12);
        assert_eq!(quiet.session_interest(2, end).raw(), start >> 12);
        // An event on another topic at `end` folds the same fading in.
        quiet.apply(&watch(3, end)).unwrap();
        assert_eq!(quiet.session_interest_stored(2).raw(), start >> 12);
    }

    #[test]
    fn session_interest_keeps_fading_after_events_dated_in_the_future_or_a_clock_set_back() {
        let watch = |at| Feedback { at, ..fb(FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(1.5) }) };
        for future in [u32::MAX, 2_000_000_000] {
            let mut u = UserState::new();
            u.apply(&watch(future)).unwrap();
            // The device's clock is at one million seconds: its next event restarts the
            // session clock there, and the interest then fades as usual.
            u.apply(&watch(1_000_000)).unwrap();
            let v = u.session_interest(2, 1_000_000).raw();
            assert!(v > 0);
            assert_eq!(u.session_interest(2, 1_000_000 + 3 * SESSION_HALF_LIFE_S).raw(), v >> 3);
            u.apply(&Feedback { topic: 3, ..watch(1_000_000 + 3 * SESSION_HALF_LIFE_S) }).unwrap();
            assert_eq!(u.session_interest_stored(2).raw(), v >> 3);
            assert_eq!(u.session_interest(2, 1_000_000 + 20 * SESSION_HALF_LIFE_S).raw(), 0);
        }
    }

    #[test]
    fn a_late_event_fades_nothing_and_leaves_the_session_clock_alone() {
        let mut u = UserState::new();
        for i in 0..5 {
            u.apply(&watch(2, 100_000 + 60 * i)).unwrap();
        }
        let (clock, v) = (u.session_at(), u.session_interest(2, 100_300).raw());
        // 700 s and 3 h late (queued while offline): topic 2 keeps its value, the clock stays.
        for late in [100_240 - 700, 100_240 - 3 * 3600] {
            u.apply(&watch(3, late)).unwrap();
            assert_eq!((u.session_at(), u.session_interest(2, 100_300).raw()), (clock, v), "{late}");
        }
        // A day before the clock: still late. More than a day: the clock was wrong, and
        // moves back.
        u.apply(&watch(3, clock - SESSION_CLOCK_RESET_S)).unwrap();
        assert_eq!(u.session_at(), clock);
        u.apply(&watch(3, clock - SESSION_CLOCK_RESET_S - 1)).unwrap();
        assert_eq!(u.session_at(), clock - SESSION_CLOCK_RESET_S - 1);
    }

    #[test]
    fn interest_stays_bounded_and_converges() {
        let mut u = UserState::new();
        for _ in 0..200 {
            u.apply(&fb(FeedbackKind::Share)).unwrap();
        }
        assert_eq!(u.topic_interest(2), Feature::ONE);
        for _ in 0..200 {
            u.apply(&fb(FeedbackKind::Report)).unwrap();
        }
        assert_eq!(u.topic_interest(2).raw(), -Feature::ONE.raw());
        assert_eq!(u.author_affinity(5).raw(), -Feature::ONE.raw());
    }

    #[test]
    fn mute_records_follow_events_and_unknown_topics_are_ignored() {
        let mut u = UserState::new();
        u.apply(&Feedback { topic: 250, ..fb(FeedbackKind::SeeFewer) }).unwrap();
        assert_eq!(u.mute_record(5).map(|r| r.kind), Some(MuteKind::SeeFewer));
        u.apply(&fb(FeedbackKind::Report)).unwrap();
        assert_eq!(u.mute_record(5).map(|r| r.kind), Some(MuteKind::Block));
        u.apply(&fb(FeedbackKind::Unmute)).unwrap();
        assert!(u.mute_record(5).is_none());
        assert_eq!(u.topic_interest(250).raw(), 0);
    }

    #[test]
    fn a_refused_event_changes_nothing() {
        let mut u = UserState::new();
        for a in 0..super::super::MUTE_SLOTS as u32 {
            u.apply(&Feedback { author_id: 1000 + a, ..fb(FeedbackKind::Block) }).unwrap();
        }
        let before = u.clone();
        assert_eq!(u.apply(&fb(FeedbackKind::Mute)), Err(FeedbackError::MuteListFull));
        assert_eq!(u, before);
    }

    #[test]
    fn a_batch_applies_as_its_events_one_by_one_or_not_at_all() {
        let mut full = UserState::new();
        for a in 0..super::super::MUTE_SLOTS as u32 {
            full.apply(&Feedback { author_id: 1000 + a, ..fb(FeedbackKind::Block) }).unwrap();
        }
        let like = fb(FeedbackKind::Like);
        let mute = fb(FeedbackKind::Mute);
        let unblock = Feedback { author_id: 1003, ..fb(FeedbackKind::Unmute) };
        // An unblock first makes room: the batch applies, as its events one by one would.
        let (mut batch, mut single) = (full.clone(), full.clone());
        assert_eq!(batch.apply_all(&[like, unblock, mute]), Ok(()));
        for e in [like, unblock, mute] {
            single.apply(&e).unwrap();
        }
        assert_eq!(batch, single);
        // The mute before the unblock: refused at index 1, and the like is not applied.
        let mut refused = full.clone();
        assert_eq!(refused.apply_all(&[like, mute, unblock]), Err((1, FeedbackError::MuteListFull)));
        assert_eq!(refused, full);
        // A batch that adds no record cannot be refused.
        let mut plain = full.clone();
        assert_eq!(plain.apply_all(&[like, unblock, fb(FeedbackKind::Skip)]), Ok(()));
        assert_eq!(plain.events, full.events + 3);
    }
}
