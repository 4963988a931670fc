//! What the device remembers about its user, in a fixed number of bytes.
//!
//! [`UserState`] holds topic interests (long-term, and a fast session-level interest that
//! fades within minutes of the last event), affinity to authors (a set-associative table with
//! least-recently-used replacement inside each set), "see fewer" / mute / block records with
//! their dates, and recently seen items. It changes only through feedback
//! ([`UserState::apply`]), and its size never depends on how much feedback arrives.

mod learn;
mod restore;
mod tables;

use serde::{Deserialize, Serialize};

use crate::input::TOPICS;
use crate::num::Feature;

pub use learn::{Feedback, FeedbackKind, LEARNING, SESSION_CLOCK_RESET_S, SESSION_HALF_LIFE_S};
pub use tables::{AuthorTable, MuteKind, MuteList, MuteRecord, SeenSet, AUTHOR_SLOTS, MUTE_SLOTS, SEEN_SLOTS};

/// Blob format version of a persisted user state (2: session interest added).
pub const STATE_FORMAT_VERSION: u16 = 2;

/// The user's on-device state.
///
/// ```
/// use edgerank_core::state::{Feedback, FeedbackKind, UserState};
/// let mut user = UserState::new();
/// user.apply(&Feedback { item_id: 1, author_id: 9, topic: 3, at: 100, kind: FeedbackKind::Like })
///     .expect("a like is always accepted");
/// assert!(user.topic_interest(3).raw() > 0);
/// assert!(user.author_affinity(9).raw() > 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    /// Format version, for persistence.
    pub format_version: u16,
    /// Interest per topic, Q12 in [-1, 1].
    #[serde(with = "crate::util::serde_array")]
    pub(crate) topics: [Feature; TOPICS],
    /// Session-level interest per topic, Q13 in [-1, 1], as of `session_at`: a fast moving
    /// average of the same rewards (real-time intent, as on-device re-rankers use it).
    #[serde(with = "crate::util::serde_array")]
    pub(crate) session: [Feature; TOPICS],
    /// The session clock, seconds: `session` holds the values as of this time. Events advance
    /// it in whole half-lives (an event dated more than a day before it moves it back).
    pub(crate) session_at: u32,
    pub(crate) authors: AuthorTable,
    pub(crate) mutes: MuteList,
    pub(crate) seen: SeenSet,
    /// Number of feedback events applied (also the LRU clock).
    pub events: u32,
    /// Latest event time seen, seconds.
    pub last_event_at: u32,
}

impl Default for UserState {
    fn default() -> Self {
        Self::new()
    }
}

impl UserState {
    /// A fresh user: no interests, no history.
    pub const fn new() -> Self {
        Self {
            format_version: STATE_FORMAT_VERSION,
            topics: [Feature(0); TOPICS],
            session: [Feature(0); TOPICS],
            session_at: 0,
            authors: AuthorTable::new(),
            mutes: MuteList::new(),
            seen: SeenSet::new(),
            events: 0,
            last_event_at: 0,
        }
    }

    /// Interest in a topic, Q12 in [-1, 1]; unknown topics are neutral.
    #[inline]
    pub fn topic_interest(&self, topic: u8) -> Feature {
        match self.topics.get(topic as usize) {
            Some(v) => *v,
            None => Feature(0),
        }
    }

    /// Session-level interest in a topic at time `now`, in [-1, 1]: the stored value halved
    /// (toward zero) once per whole [`SESSION_HALF_LIFE_S`] elapsed on the session clock
    /// ([`Self::session_at`]), so it is gone at most 14 half-lives (2 h 20 min) after the user stops,
    /// and a topic the user leaves fades at that pace however often other events come.
    /// Unknown topics are neutral.
    #[inline]
    pub fn session_interest(&self, topic: u8, now: u32) -> Feature {
        match self.session.get(topic as usize) {
            Some(v) => learn::fade(*v, learn::half_lives(now.saturating_sub(self.session_at))),
            None => Feature(0),
        }
    }

    /// The stored session interest of a topic (as of [`Self::session_at`], before fading).
    #[inline]
    pub fn session_interest_stored(&self, topic: u8) -> Feature {
        self.session.get(topic as usize).copied().unwrap_or(Feature(0))
    }

    /// The session clock, seconds: the stored session interests are as of this time. It
    /// starts at an event that finds every session interest at 0, advances in whole
    /// half-lives as later events come (staying less than one half-life behind the latest),
    /// and moves back to an event dated more than a day before it
    /// ([`SESSION_CLOCK_RESET_S`](learn::SESSION_CLOCK_RESET_S)).
    #[inline]
    pub fn session_at(&self) -> u32 {
        self.session_at
    }

    /// Affinity to an author, Q12 in [-1, 1]; unknown (or evicted) authors are neutral.
    #[inline]
    pub fn author_affinity(&self, author_id: u32) -> Feature {
        self.authors.get(author_id)
    }

    /// Whether the item was shown recently.
    #[inline]
    pub fn has_seen(&self, item_id: u32) -> bool {
        self.seen.contains(item_id)
    }

    /// The mute record for an author, if any.
    #[inline]
    pub fn mute_record(&self, author_id: u32) -> Option<&MuteRecord> {
        self.mutes.find(author_id)
    }

    /// The mute list.
    pub fn mutes(&self) -> &MuteList {
        &self.mutes
    }

    /// Number of authors with a remembered affinity.
    pub fn known_authors(&self) -> usize {
        self.authors.len()
    }

    /// Persisted form: postcard with a CRC-32. (`#[inline]`: see [`UserState::restore_from_blob`].)
    #[inline]
    pub fn to_blob<'b>(&self, buf: &'b mut [u8]) -> Result<&'b mut [u8], crate::error::BlobError> {
        crate::wire::encode_checked(self, buf)
    }

    /// Reads a persisted state, checking its checksum, version and internal consistency.
    /// (A device restoring its state at boot: [`UserState::restore_from_blob`], in place.)
    pub fn from_blob(bytes: &[u8]) -> Result<Self, crate::error::BlobError> {
        let state: UserState = crate::wire::decode_checked(bytes)?;
        state.check_restored()?;
        Ok(state)
    }

    /// The checks of a decoded blob: version, ranges, table consistency.
    #[inline]
    fn check_restored(&self) -> Result<(), crate::error::BlobError> {
        if self.format_version != STATE_FORMAT_VERSION {
            return Err(crate::error::BlobError::UnsupportedVersion(self.format_version));
        }
        let in_range = |f: &Feature| f.raw().unsigned_abs() <= Feature::ONE.raw() as u16;
        if !self.topics.iter().all(in_range)
            || !self.session.iter().all(in_range)
            || !self.authors.is_consistent(self.events)
            || !self.mutes.is_consistent()
        {
            return Err(crate::error::BlobError::OutOfRange);
        }
        Ok(())
    }
}

/// Largest encoded user state, in bytes (upper bound).
pub const STATE_BLOB_MAX: usize =
    3 + TOPICS * 3 + TOPICS * 3 + 5 + AUTHOR_SLOTS * 13 + 8 + MUTE_SLOTS * 11 + 2 + SEEN_SLOTS * 5 + 64 + 10 + 4;
