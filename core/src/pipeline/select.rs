//! Bounded top-P selection: a binary heap whose root is the worst kept entry, so each new
//! candidate costs O(log P) at most and memory never depends on the number of candidates.

use core::cmp::Ordering;

use heapless::binary_heap::{BinaryHeap, Max};

use crate::input::{CandidateFlags, ContentKind};
use crate::num::LogScore;

/// What the re-ranker needs of a scored candidate (16 bytes plus padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolEntry {
    /// Score before page-position rules.
    pub score: LogScore,
    /// Item id.
    pub item_id: u32,
    /// Author id.
    pub author_id: u32,
    /// Position in the request (the stable tie-break: earlier wins).
    pub index: u32,
    /// Content kind.
    pub kind: ContentKind,
    /// Flags.
    pub flags: CandidateFlags,
}

impl PoolEntry {
    /// Ranking order: higher score first, then lower index.
    #[inline]
    pub fn rank_cmp(&self, other: &Self) -> Ordering {
        other.score.cmp(&self.score).then(self.index.cmp(&other.index))
    }
}

/// Heap key: "greater" means worse, so the max-heap's root is the entry to evict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Worst(PoolEntry);

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The best `P` entries offered so far.
pub struct Pool<const P: usize> {
    heap: BinaryHeap<Worst, Max, P>,
}

impl<const P: usize> Default for Pool<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const P: usize> Pool<P> {
    /// Empty.
    pub const fn new() -> Self {
        Self { heap: BinaryHeap::new() }
    }

    /// Offers an entry: kept if there is room or it beats the worst kept entry (evicted).
    #[inline]
    pub fn offer(&mut self, entry: PoolEntry) {
        if let Err(rejected) = self.heap.push(Worst(entry)) {
            if let Some(mut worst) = self.heap.peek_mut() {
                if rejected < *worst {
                    *worst = rejected;
                }
            }
        }
    }

    /// Number kept.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept entries, best first.
    pub fn into_sorted(self) -> heapless::Vec<PoolEntry, P> {
        let mut v: heapless::Vec<PoolEntry, P> = self.heap.into_vec().into_iter().map(|w| w.0).collect();
        v.sort_unstable_by(PoolEntry::rank_cmp);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(score: i32, index: u32) -> PoolEntry {
        PoolEntry {
            score: LogScore(score),
            item_id: index,
            author_id: 0,
            index,
            kind: ContentKind::Text,
            flags: CandidateFlags::default(),
        }
    }

    #[test]
    fn keeps_the_best_p_with_stable_ties() {
        let mut pool = Pool::<4>::new();
        for (i, s) in [5, 9, 1, 9, 7, 3, 9, 8].iter().enumerate() {
            pool.offer(e(*s, i as u32));
        }
        let kept: heapless::Vec<(i32, u32), 4> = pool.into_sorted().iter().map(|x| (x.score.0, x.index)).collect();
        assert_eq!(kept.as_slice(), &[(9, 1), (9, 3), (9, 6), (8, 7)]);
    }

    #[test]
    fn a_zero_capacity_pool_keeps_nothing() {
        let mut pool = Pool::<0>::new();
        pool.offer(e(1, 0));
        assert!(pool.is_empty());
        assert_eq!(pool.len(), 0);
    }
}
