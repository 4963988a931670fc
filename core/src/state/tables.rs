//! The bounded tables inside [`super::UserState`]. All lookups are O(1) (a hash picks a small
//! set) because the ranking loop consults them once per candidate.

use serde::{Deserialize, Serialize};

use crate::num::Feature;

/// Fibonacci hashing: the top `bits` of `id * 2^32 / phi`.
#[inline]
const fn hash(id: u32, bits: u32) -> usize {
    (id.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

const AUTHOR_SET_BITS: u32 = 4;
const AUTHOR_WAYS: usize = 4;
/// Authors remembered: 16 sets of 4.
pub const AUTHOR_SLOTS: usize = (1 << AUTHOR_SET_BITS) * AUTHOR_WAYS;

/// One remembered author.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorEntry {
    /// Author id.
    pub author_id: u32,
    /// Affinity, Q12 in [-1, 1].
    pub affinity: Feature,
    /// LRU stamp (the user's event counter at last use); 0 marks an empty slot.
    pub stamp: u32,
}

/// Affinity per author: 4-way set-associative, least recently used evicted within a set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorTable {
    #[serde(with = "crate::util::serde_array")]
    pub(super) slots: [AuthorEntry; AUTHOR_SLOTS],
}

impl AuthorTable {
    /// Empty.
    pub const fn new() -> Self {
        Self { slots: [AuthorEntry { author_id: 0, affinity: Feature(0), stamp: 0 }; AUTHOR_SLOTS] }
    }

    #[inline]
    fn set(&self, author_id: u32) -> core::ops::Range<usize> {
        let base = hash(author_id, AUTHOR_SET_BITS) * AUTHOR_WAYS;
        base..base + AUTHOR_WAYS
    }

    /// Affinity, or neutral when unknown.
    #[inline]
    pub fn get(&self, author_id: u32) -> Feature {
        for e in &self.slots[self.set(author_id)] {
            if e.stamp != 0 && e.author_id == author_id {
                return e.affinity;
            }
        }
        Feature(0)
    }

    /// Sets an author's affinity, evicting the least recently used entry of its set if needed.
    pub fn put(&mut self, author_id: u32, affinity: Feature, stamp: u32) {
        let range = self.set(author_id);
        let stamp = stamp.max(1);
        let set = &mut self.slots[range];
        let mut victim = 0;
        for (i, e) in set.iter().enumerate() {
            if e.stamp != 0 && e.author_id == author_id {
                victim = i;
                break;
            }
            if e.stamp < set[victim].stamp {
                victim = i;
            }
        }
        set[victim] = AuthorEntry { author_id, affinity, stamp };
    }

    /// Number of remembered authors.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|e| e.stamp != 0).count()
    }

    /// True when no author is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each entry in its author's set, its affinity in [-1, 1], its LRU stamp no later than
    /// the user's event counter `events`, and no author twice (a lookup would find the first
    /// and an update might change the other).
    #[inline]
    pub(crate) fn is_consistent(&self, events: u32) -> bool {
        self.slots.iter().enumerate().all(|(i, e)| {
            e.stamp == 0
                || (self.set(e.author_id).contains(&i)
                    && e.affinity.raw().unsigned_abs() <= Feature::ONE.raw() as u16
                    && e.stamp <= events
                    && !self.slots[..i].iter().any(|o| o.stamp != 0 && o.author_id == e.author_id))
        })
    }
}

impl Default for AuthorTable {
    fn default() -> Self {
        Self::new()
    }
}

/// What the user asked for about an author.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MuteKind {
    /// "See fewer": filtered for a while, then slowly let back (profile's fatigue rule).
    SeeFewer,
    /// Muted until unmuted.
    Mute,
    /// Blocked until unblocked.
    Block,
}

/// One record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MuteRecord {
    /// Author id.
    pub author_id: u32,
    /// What was asked.
    pub kind: MuteKind,
    /// When, seconds.
    pub at: u32,
}

/// Records kept at most.
pub const MUTE_SLOTS: usize = 32;

/// Mute, block and "see fewer" records, with a 64-bit prefilter so the common case (author not
/// in the list) costs one bit test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteList {
    pub(super) records: heapless::Vec<MuteRecord, MUTE_SLOTS>,
    pub(super) filter: u64,
}

impl MuteList {
    /// Empty.
    pub const fn new() -> Self {
        Self { records: heapless::Vec::new(), filter: 0 }
    }

    #[inline]
    fn bit(author_id: u32) -> u64 {
        1u64 << hash(author_id, 6)
    }

    /// The record for an author.
    #[inline]
    pub fn find(&self, author_id: u32) -> Option<&MuteRecord> {
        // The filter bit read from one 32-bit half (a 64-bit variable shift is a library call
        // on a Cortex-M0+): the same test as `filter & bit(author_id) != 0`.
        let h = hash(author_id, 6);
        let half = if h < 32 { self.filter as u32 } else { (self.filter >> 32) as u32 };
        if (half >> (h & 31)) & 1 == 0 {
            return None;
        }
        self.records.iter().find(|r| r.author_id == author_id)
    }

    /// All records.
    pub fn records(&self) -> &[MuteRecord] {
        &self.records
    }

    /// Adds or replaces a record. When full, the oldest "see fewer" record makes room (one
    /// dated more than a day after the new record first); mutes and blocks are never dropped
    /// silently: a full list of them is an error.
    pub fn insert(&mut self, record: MuteRecord) -> Result<(), crate::error::FeedbackError> {
        if let Some(existing) = self.records.iter_mut().find(|r| r.author_id == record.author_id) {
            // A block is not weakened by a later "see fewer" on the same author.
            let stronger = matches!(
                (existing.kind, record.kind),
                (MuteKind::Block, MuteKind::Mute | MuteKind::SeeFewer) | (MuteKind::Mute, MuteKind::SeeFewer)
            );
            if !stronger {
                *existing = record;
            }
            return Ok(());
        }
        if self.records.is_full() {
            // A record dated more than a day after the new one was stamped by a clock that ran
            // ahead: it counts as the oldest (else it would never make room).
            let ahead = record.at.saturating_add(crate::pipeline::filter::RECORD_AHEAD_S);
            let oldest_see_fewer = self
                .records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.kind == MuteKind::SeeFewer)
                .min_by_key(|(_, r)| if r.at > ahead { 0 } else { r.at })
                .map(|(i, _)| i);
            match oldest_see_fewer {
                Some(i) => {
                    self.records.swap_remove(i);
                }
                None => return Err(crate::error::FeedbackError::MuteListFull),
            }
        }
        // Cannot fail: a slot was checked or freed above.
        let _ = self.records.push(record);
        self.rebuild_filter();
        Ok(())
    }

    /// Removes an author's record.
    pub fn remove(&mut self, author_id: u32) {
        self.records.retain(|r| r.author_id != author_id);
        self.rebuild_filter();
    }

    fn rebuild_filter(&mut self) {
        self.filter = self.records.iter().fold(0, |f, r| f | Self::bit(r.author_id));
    }

    /// The prefilter matches the records, and no author has two records (a lookup would find
    /// the first: a block behind a "see fewer" would be ignored).
    #[inline]
    pub(crate) fn is_consistent(&self) -> bool {
        self.filter == self.records.iter().fold(0, |f, r| f | Self::bit(r.author_id))
            && self
                .records
                .iter()
                .enumerate()
                .all(|(i, r)| !self.records[..i].iter().any(|o| o.author_id == r.author_id))
    }
}

impl Default for MuteList {
    fn default() -> Self {
        Self::new()
    }
}

const SEEN_SET_BITS: u32 = 7;
/// Recently seen items remembered: 128 sets of 2.
pub const SEEN_SLOTS: usize = 2 << SEEN_SET_BITS;

/// Recently shown items: 2-way set-associative; a new item replaces the older of its set.
/// It can forget an item early (then it may be shown again), but never reports an unseen item
/// as seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenSet {
    #[serde(with = "crate::util::serde_array")]
    pub(super) ids: [u32; SEEN_SLOTS],
    /// Bit per slot: occupied.
    pub(super) valid: [u64; SEEN_SLOTS / 64],
    /// Bit per set: which way was written last.
    pub(super) newer: [u64; SEEN_SLOTS / 128],
}

impl SeenSet {
    /// Empty.
    pub const fn new() -> Self {
        Self { ids: [0; SEEN_SLOTS], valid: [0; SEEN_SLOTS / 64], newer: [0; SEEN_SLOTS / 128] }
    }

    #[inline]
    fn valid(&self, slot: usize) -> bool {
        self.valid[slot / 64] & (1 << (slot % 64)) != 0
    }

    /// Whether the item is remembered.
    #[inline]
    pub fn contains(&self, item_id: u32) -> bool {
        let set = hash(item_id, SEEN_SET_BITS);
        let a = set * 2;
        (self.ids[a] == item_id && self.valid(a)) || (self.ids[a + 1] == item_id && self.valid(a + 1))
    }

    /// Remembers an item.
    pub fn insert(&mut self, item_id: u32) {
        if self.contains(item_id) {
            return;
        }
        let set = hash(item_id, SEEN_SET_BITS);
        let newer_bit = 1u64 << (set % 64);
        let newer_is_b = self.newer[set / 64] & newer_bit != 0;
        // Write the way that is not the newer one (the older, or an empty one).
        let way = if !self.valid(set * 2) {
            0
        } else if !self.valid(set * 2 + 1) {
            1
        } else if newer_is_b {
            0
        } else {
            1
        };
        let slot = set * 2 + way;
        self.ids[slot] = item_id;
        self.valid[slot / 64] |= 1 << (slot % 64);
        if way == 1 {
            self.newer[set / 64] |= newer_bit;
        } else {
            self.newer[set / 64] &= !newer_bit;
        }
    }

    /// Number of remembered items.
    pub fn len(&self) -> usize {
        self.valid.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for SeenSet {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_table_is_lru_within_a_set() {
        let mut t = AuthorTable::new();
        // Find 5 authors that share a set.
        let target = hash(1, AUTHOR_SET_BITS);
        let same: heapless::Vec<u32, 5> =
            (1..100_000u32).filter(|&a| hash(a, AUTHOR_SET_BITS) == target).take(5).collect();
        for (i, &a) in same.iter().take(4).enumerate() {
            t.put(a, Feature(100 + i as i16), i as u32 + 1);
        }
        // Touch the first so the second is least recent.
        t.put(same[0], Feature(500), 10);
        t.put(same[4], Feature(7), 11);
        assert_eq!(t.get(same[0]).raw(), 500);
        assert_eq!(t.get(same[1]).raw(), 0, "least recently used was evicted");
        assert_eq!(t.get(same[2]).raw(), 102);
        assert_eq!(t.get(same[4]).raw(), 7);
        assert_eq!(t.len(), 4);
        assert!(t.is_consistent(11));
        // A stamp later than the event counter, or an author twice, is not.
        assert!(!t.is_consistent(10));
        let mut twice = t.clone();
        let (a, b) = (twice.set(same[0]).start, twice.set(same[0]).start + 1);
        twice.slots[b] = AuthorEntry { author_id: twice.slots[a].author_id, ..twice.slots[b] };
        assert!(!twice.is_consistent(11));
    }

    #[test]
    fn seen_set_never_reports_unseen_items() {
        let mut s = SeenSet::new();
        for id in 0..1000u32 {
            s.insert(id * 7919);
        }
        assert!(s.len() <= SEEN_SLOTS);
        // The most recent insert is always remembered.
        assert!(s.contains(999 * 7919));
        for id in 0..1000u32 {
            assert!(!s.contains(id * 7919 + 1));
        }
        // Item 0 is distinguishable from an empty slot.
        let mut e = SeenSet::new();
        assert!(!e.contains(0));
        e.insert(0);
        assert!(e.contains(0));
    }

    #[test]
    fn seen_set_keeps_the_two_latest_of_a_set() {
        let mut s = SeenSet::new();
        let target = hash(5, SEEN_SET_BITS);
        let same: heapless::Vec<u32, 3> =
            (1..1_000_000u32).filter(|&a| hash(a, SEEN_SET_BITS) == target).take(3).collect();
        s.insert(same[0]);
        s.insert(same[1]);
        s.insert(same[2]);
        assert!(!s.contains(same[0]));
        assert!(s.contains(same[1]) && s.contains(same[2]));
    }

    #[test]
    fn a_see_fewer_dated_ahead_is_the_first_to_make_room() {
        let day = 86_400;
        let mut m = MuteList::new();
        for a in 0..MUTE_SLOTS as u32 {
            // Author 7's record was stamped by a clock a year ahead.
            let at = if a == 7 { 400 * day } else { 30 * day + a };
            m.insert(MuteRecord { author_id: a, kind: MuteKind::SeeFewer, at }).unwrap();
        }
        m.insert(MuteRecord { author_id: 1000, kind: MuteKind::SeeFewer, at: 35 * day }).unwrap();
        assert!(m.find(7).is_none() && m.find(0).is_some());
        // Within a day of the new record, dates count as they are: the oldest, author 0, goes.
        m.insert(MuteRecord { author_id: 7, kind: MuteKind::SeeFewer, at: 36 * day }).unwrap();
        m.insert(MuteRecord { author_id: 1001, kind: MuteKind::SeeFewer, at: 35 * day + 1 }).unwrap();
        assert!(m.find(0).is_none() && m.find(7).is_some());
    }

    #[test]
    fn mute_list_evicts_see_fewer_first_and_refuses_to_drop_blocks() {
        let mut m = MuteList::new();
        for a in 0..MUTE_SLOTS as u32 {
            let kind = if a == 3 { MuteKind::SeeFewer } else { MuteKind::Block };
            m.insert(MuteRecord { author_id: a, kind, at: a }).unwrap();
        }
        m.insert(MuteRecord { author_id: 1000, kind: MuteKind::Mute, at: 50 }).unwrap();
        assert!(m.find(3).is_none());
        assert!(m.find(1000).is_some());
        assert_eq!(
            m.insert(MuteRecord { author_id: 1001, kind: MuteKind::Mute, at: 51 }),
            Err(crate::error::FeedbackError::MuteListFull)
        );
        // A later "see fewer" does not weaken a block.
        m.insert(MuteRecord { author_id: 5, kind: MuteKind::SeeFewer, at: 99 }).unwrap();
        assert_eq!(m.find(5).map(|r| r.kind), Some(MuteKind::Block));
        m.remove(5);
        assert!(m.find(5).is_none());
        assert!(m.is_consistent());
        // Two records of one author (a forged or corrupted state) are not.
        let first = m.records[0];
        m.records[1] = MuteRecord { kind: MuteKind::SeeFewer, ..first };
        m.rebuild_filter();
        assert!(!m.is_consistent());
    }
}
