//! Reading a persisted [`UserState`] straight into its place ([`UserState::restore_from_blob`]).
//!
//! [`UserState::from_blob`] decodes with the derived `Deserialize` impls, which build the state
//! as a value: each layer (the arrays, the author table, the seen set, the state) returns its
//! part by value, and the compiler keeps most of those copies apart. On a Cortex-M4F that
//! decode took a 15 KB stack frame for a 2.5 KB state, six times the state, at the deepest
//! point of a warm boot.
//!
//! Here the same postcard deserializer reads the same fields in the same order, through seeds
//! that write every array element by element into the destination: a struct or a fixed-length
//! array is a tuple in postcard (no length, no field names), which is what the derived impls
//! and `util::serde_array` ask for too; the mute records are a length-prefixed sequence, pushed
//! one by one as heapless's `Vec` does. The result is then checked exactly as `from_blob`
//! checks it (canonical encoding, version, ranges, table consistency), so the two accept the
//! same blobs and give the same errors (`core/tests/state_blob.rs`).

use core::fmt;

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::tables::{AuthorEntry, AuthorTable, MuteList, SeenSet};
use super::{UserState, STATE_FORMAT_VERSION};
use crate::error::BlobError;
use crate::num::Feature;
use crate::wire::in_place::{next, next_in_place, Array, VecInPlace};

impl UserState {
    /// [`UserState::from_blob`], decoded in place into `self` instead of returned: no state-sized
    /// temporary, so the stack it takes does not grow with the state (for a device restoring
    /// its state at boot). Accepts exactly the blobs `from_blob` accepts, with the same errors.
    /// On error `self` is a fresh state ([`UserState::reset`]).
    ///
    /// `#[inline]`, like the other loaders and what they call (`Model::from_blob`,
    /// `Profile::from_blob`, [`UserState::to_blob`]): it is compiled in the crate that calls it,
    /// with that crate's optimisation settings, so a firmware can build its loaders for size and
    /// the ranking path, which never calls them, for speed (`firmware/Cargo.toml`).
    #[inline]
    pub fn restore_from_blob(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        let result = crate::wire::decode_checked_into(bytes, self).and_then(|()| self.check_restored());
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// Back to a fresh state ([`UserState::new`]), in place. Assigning `UserState::new()`
    /// builds the whole state on the stack first; on a device that is 2.5 KB in the frame of
    /// whatever resets it.
    #[inline]
    pub fn reset(&mut self) {
        let UserState { format_version, topics, session, session_at, authors, mutes, seen, events, last_event_at } =
            self;
        *format_version = STATE_FORMAT_VERSION;
        topics.fill(Feature(0));
        session.fill(Feature(0));
        *session_at = 0;
        authors.slots.fill(AuthorEntry::default());
        mutes.records.clear();
        mutes.filter = 0;
        seen.ids.fill(0);
        seen.valid.fill(0);
        seen.newer.fill(0);
        *events = 0;
        *last_event_at = 0;
    }
}

impl crate::wire::DecodeInPlace for UserState {
    fn decode_in_place<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
        InPlace(self).deserialize(deserializer)
    }
}

/// The state, field by field in declaration order (the derived impl's sequence form).
struct InPlace<'a>(&'a mut UserState);

const STATE_FIELDS: &[&str] =
    &["format_version", "topics", "session", "session_at", "authors", "mutes", "seen", "events", "last_event_at"];

impl<'de> DeserializeSeed<'de> for InPlace<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("UserState", STATE_FIELDS, self)
    }
}

impl<'de> Visitor<'de> for InPlace<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct UserState")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Every field, in declaration order (this stops compiling if one is added).
        let UserState { format_version, topics, session, session_at, authors, mutes, seen, events, last_event_at } =
            self.0;
        *format_version = next(&mut seq, 0)?;
        next_in_place(&mut seq, 1, Array(topics))?;
        next_in_place(&mut seq, 2, Array(session))?;
        *session_at = next(&mut seq, 3)?;
        next_in_place(&mut seq, 4, Authors(authors))?;
        next_in_place(&mut seq, 5, Mutes(mutes))?;
        next_in_place(&mut seq, 6, Seen(seen))?;
        *events = next(&mut seq, 7)?;
        *last_event_at = next(&mut seq, 8)?;
        Ok(())
    }
}

/// The author table: one field, its slots.
struct Authors<'a>(&'a mut AuthorTable);

impl<'de> DeserializeSeed<'de> for Authors<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("AuthorTable", &["slots"], self)
    }
}

impl<'de> Visitor<'de> for Authors<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct AuthorTable")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let AuthorTable { slots } = self.0;
        next_in_place(&mut seq, 0, Array(slots))
    }
}

/// The mute list: its records, then its filter.
struct Mutes<'a>(&'a mut MuteList);

impl<'de> DeserializeSeed<'de> for Mutes<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("MuteList", &["records", "filter"], self)
    }
}

impl<'de> Visitor<'de> for Mutes<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct MuteList")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let MuteList { records, filter } = self.0;
        next_in_place(&mut seq, 0, VecInPlace(records))?;
        *filter = next(&mut seq, 1)?;
        Ok(())
    }
}

/// The seen set: its ids in place, then the two bit masks.
struct Seen<'a>(&'a mut SeenSet);

impl<'de> DeserializeSeed<'de> for Seen<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("SeenSet", &["ids", "valid", "newer"], self)
    }
}

impl<'de> Visitor<'de> for Seen<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct SeenSet")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let SeenSet { ids, valid, newer } = self.0;
        next_in_place(&mut seq, 0, Array(ids))?;
        next_in_place(&mut seq, 1, Array(valid))?;
        next_in_place(&mut seq, 2, Array(newer))
    }
}
