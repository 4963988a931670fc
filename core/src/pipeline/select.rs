//! Bounded top-P selection: a binary heap whose root is the worst kept entry, so each new
//! candidate costs O(log P) at most and memory never depends on the number of candidates.
//!
//! An entry carries two scores: the `key` that decides which entries a pool keeps, and the
//! `score` the page is ranked by. They are the same number unless a light pass chose the
//! pool (see [`super::light`]): then the pool keeps the best by light score, and ranks them by
//! their full score.

use core::cmp::Ordering;

use crate::input::{CandidateFlags, ContentKind};
use crate::num::LogScore;

/// What the re-ranker needs of a scored candidate: 20 bytes, no padding (with a 32-bit
/// index it took 24, and the pools of a session are up to 144 entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolEntry {
    /// What the pool keeps the best of: the score, or the light score when a light pass
    /// chose the pool.
    pub key: LogScore,
    /// Score before page-position rules.
    pub score: LogScore,
    /// Item id.
    pub item_id: u32,
    /// Author id.
    pub author_id: u32,
    /// Position in the request (the stable tie-break: earlier wins). 16 bits: a session
    /// takes at most [`MAX_SESSION_CANDIDATES`].
    pub index: u16,
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

/// Most candidates one session takes (its `N`, checked when it is built): the pools keep
/// each candidate's position as 16 bits. A device takes 256, the host benchmarks 4,096.
pub const MAX_SESSION_CANDIDATES: usize = 1 << 16;

const _: () = assert!(core::mem::size_of::<PoolEntry>() == 20);

/// The best `P` entries offered so far (or the best `limit`, see [`Pool::with_limit`]), by
/// [`PoolEntry::key`].
///
/// Between calls to [`Pool::sorted`] the entries form a binary heap whose root is the worst
/// kept entry (the next to evict). Sorting happens in place (heapsort: no recursion, no
/// copy), so a device ranks with the pool's own memory and a stack that does not grow with P.
pub struct Pool<const P: usize> {
    entries: heapless::Vec<PoolEntry, P>,
    limit: usize,
}

impl<const P: usize> Default for Pool<P> {
    fn default() -> Self {
        Self::new()
    }
}

/// The two orders a pool's heap can follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    /// Which entries to keep: [`PoolEntry::key`].
    Key,
    /// Page order: [`PoolEntry::score`].
    Score,
}

/// True when `a` ranks below `b` by the chosen score (the heap's "greater": worse entries rise
/// to the root); by score, `a.rank_cmp(b) == Ordering::Greater`. Ties go to the lower index.
#[inline(always)]
fn worse(a: &PoolEntry, b: &PoolEntry, by: By) -> bool {
    let (ka, kb) = if by == By::Key { (a.key, b.key) } else { (a.score, b.score) };
    // Lower score, or the same score and a later position: two 32-bit comparisons (a 64-bit
    // composite key took a dozen instructions on a Cortex-M).
    ka < kb || (ka == kb && a.index > b.index)
}

/// `heap[to] = heap[from]`, field by field: a whole-entry copy within one slice compiles to a
/// `memmove` call (the compiler cannot tell that the two differ), which costs far more than
/// the five loads and stores.
#[inline(always)]
fn move_entry(heap: &mut [PoolEntry], from: usize, to: usize) {
    let e = &heap[from];
    let (key, score, item_id, author_id, index, kind, flags) =
        (e.key, e.score, e.item_id, e.author_id, e.index, e.kind, e.flags);
    heap[to] = PoolEntry { key, score, item_id, author_id, index, kind, flags };
}

/// Restores the heap below `root` within `heap`: the classic sift-down, moving the entry
/// once into the hole it leaves instead of swapping at each level (the same arrangement as
/// swapping, with fewer copies). Always inlined: with 16-byte entries the compiler kept it
/// out of line, and its call and spills cost 28 instructions per candidate on the M4F
/// (1,732 against 1,704 at N = 256) for 0.8 KB less text.
#[inline(always)]
fn sift_down(heap: &mut [PoolEntry], mut root: usize, by: By) {
    let Some(&item) = heap.get(root) else {
        return;
    };
    loop {
        let left = 2 * root + 1;
        if left >= heap.len() {
            break;
        }
        let right = left + 1;
        let child = if right < heap.len() && worse(&heap[right], &heap[left], by) { right } else { left };
        if !worse(&heap[child], &item, by) {
            break;
        }
        move_entry(heap, child, root);
        root = child;
    }
    heap[root] = item;
}

impl<const P: usize> Pool<P> {
    /// Empty; keeps up to `P` entries.
    pub const fn new() -> Self {
        Self { entries: heapless::Vec::new(), limit: P }
    }

    /// Empty; keeps up to `limit` entries (at most `P`).
    pub const fn with_limit(limit: usize) -> Self {
        Self { entries: heapless::Vec::new(), limit: if limit < P { limit } else { P } }
    }

    /// Whether an entry with this key and index would be kept if offered now.
    #[inline]
    pub fn admits(&self, key: LogScore, index: u16) -> bool {
        match self.entries.first() {
            Some(root) if self.entries.len() >= self.limit => {
                let probe = PoolEntry { key, index, ..*root };
                worse(root, &probe, By::Key)
            }
            _ => self.limit > 0,
        }
    }

    /// Offers an entry: kept if there is room or its key beats the worst kept entry's
    /// (evicted).
    #[inline]
    pub fn offer(&mut self, entry: PoolEntry) {
        if self.entries.len() < self.limit {
            if self.entries.push(entry).is_err() {
                return; // unreachable: limit <= P
            }
            // Sift up: the new entry climbs while it is worse than its parent (parents move
            // down into the hole; the entry is written once, where it stops).
            let heap = self.entries.as_mut_slice();
            let mut i = heap.len() - 1;
            while i > 0 {
                let parent = (i - 1) / 2;
                if !worse(&entry, &heap[parent], By::Key) {
                    break;
                }
                move_entry(heap, parent, i);
                i = parent;
            }
            heap[i] = entry;
        } else {
            let heap = self.entries.as_mut_slice();
            if let Some(root) = heap.first_mut() {
                if worse(root, &entry, By::Key) {
                    *root = entry;
                    sift_down(heap, 0, By::Key);
                }
            }
        }
    }

    /// The entry the next kept offer would evict: the worst kept, once the pool is full.
    #[inline]
    pub fn next_evicted(&self) -> Option<&PoolEntry> {
        if self.entries.len() >= self.limit {
            self.entries.first()
        } else {
            None
        }
    }

    /// The kept entries' positions in the request and scores, in heap order, for changing the
    /// scores in place (the heap follows [`PoolEntry::key`] between sorts, so a score may
    /// change freely).
    #[inline]
    pub fn scores_mut(&mut self) -> impl Iterator<Item = (u16, &mut LogScore)> {
        self.entries.iter_mut().map(|e| (e.index, &mut e.score))
    }

    /// Sets every kept entry's key to `key(entry)` and rebuilds the heap by the new keys.
    pub fn rekey(&mut self, mut key: impl FnMut(&PoolEntry) -> LogScore) {
        for e in self.entries.iter_mut() {
            e.key = key(e);
        }
        self.restore();
    }

    /// The score of the kept entry at this position in the request, if the pool keeps it.
    #[inline]
    pub fn score_of(&self, index: u16) -> Option<LogScore> {
        self.entries.iter().find(|e| e.index == index).map(|e| e.score)
    }

    /// Number kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sorts the kept entries best first by [`PoolEntry::score`], in place, and returns them.
    /// The pool then accepts offers again only after [`Pool::restore`].
    ///
    /// An insertion sort of the entries' positions, then each entry moved once into its
    /// place. The positions are taken from the heap's end, which holds its better entries (the
    /// heap keeps its worst at the root, by key, which is the score or follows it): each new
    /// one is mostly worse than those placed and stops after a comparison or two. A heapsort
    /// moved 20-byte entries at every level (M0+, X profile, N = 256: about 50 instructions per
    /// candidate, where this takes about 10). The order is the same whatever the sort: by
    /// score, then position in the request, which no two entries share.
    pub fn sorted(&mut self) -> &[PoolEntry] {
        const { assert!(P <= 1 << 16, "a pool's positions are 16-bit") };
        let entries = self.entries.as_mut_slice();
        // Positions best first: `order[k]` is the entry that goes to position `k`.
        let mut order = [0u16; P];
        let Some(order) = order.get_mut(..entries.len()) else {
            return self.entries.as_slice(); // unreachable: a pool holds at most P
        };
        for (placed, i) in (0..entries.len()).rev().enumerate() {
            let entry = &entries[i];
            let mut j = placed;
            while let Some(&before) = j.checked_sub(1).and_then(|b| order.get(b)) {
                if !worse(&entries[before as usize], entry, By::Score) {
                    break;
                }
                order[j] = before;
                j -= 1;
            }
            order[j] = i as u16;
        }
        // Each cycle of the permutation in turn: entries[k] = old entries[order[k]]. A placed
        // position is marked by order[k] == k.
        for start in 0..entries.len() {
            if usize::from(order[start]) == start {
                continue;
            }
            let first = entries[start];
            let mut k = start;
            loop {
                let from = usize::from(order[k]);
                order[k] = k as u16;
                if from == start {
                    entries[k] = first;
                    break;
                }
                move_entry(entries, from, k);
                k = from;
            }
        }
        self.entries.as_slice()
    }

    /// Rebuilds the heap after [`Pool::sorted`] so that offers work again.
    pub fn restore(&mut self) {
        let heap = self.entries.as_mut_slice();
        for root in (0..heap.len() / 2).rev() {
            sift_down(heap, root, By::Key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::xorshift32;

    fn e(score: i32, index: u16) -> PoolEntry {
        PoolEntry {
            key: LogScore(score),
            score: LogScore(score),
            item_id: index as u32,
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
            pool.offer(e(*s, i as u16));
        }
        let kept: heapless::Vec<(i32, u16), 4> = pool.sorted().iter().map(|x| (x.score.0, x.index)).collect();
        assert_eq!(kept.as_slice(), &[(9, 1), (9, 3), (9, 6), (8, 7)]);
    }

    #[test]
    fn worse_is_the_reverse_rank_order() {
        let values = [i32::MIN, i32::MIN + 1, -5, -1, 0, 1, 7, i32::MAX];
        let indices = [0, 1, 2, u16::MAX - 1, u16::MAX];
        for &sa in &values {
            for &ia in &indices {
                for &sb in &values {
                    for &ib in &indices {
                        let (a, b) = (e(sa, ia), e(sb, ib));
                        assert_eq!(
                            worse(&a, &b, By::Score),
                            a.rank_cmp(&b) == Ordering::Greater,
                            "{sa} {ia} {sb} {ib}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_zero_capacity_pool_keeps_nothing() {
        let mut pool = Pool::<0>::new();
        pool.offer(e(1, 0));
        assert!(pool.is_empty());
        assert_eq!(pool.len(), 0);
    }

    /// The pool keeps exactly the best P of a long pseudo-random stream (many ties), sorted
    /// as a full sort would, and keeps working after `restore`.
    #[test]
    fn matches_a_full_sort_and_survives_restore() {
        let mut next = xorshift32(0x2545_f491);
        let offers: [i32; 300] = core::array::from_fn(|_| (next() % 50) as i32);
        let mut pool = Pool::<16>::new();
        for (i, s) in offers[..200].iter().enumerate() {
            pool.offer(e(*s, i as u16));
        }
        let expect = |n: usize| {
            let mut all: [(i32, u16); 300] = core::array::from_fn(|i| (-offers[i], i as u16));
            all[..n].sort_unstable();
            let mut out = [(0i32, 0u16); 16];
            for (o, a) in out.iter_mut().zip(all.iter()) {
                *o = (-a.0, a.1);
            }
            out
        };
        let got: heapless::Vec<(i32, u16), 16> = pool.sorted().iter().map(|x| (x.score.0, x.index)).collect();
        assert_eq!(got.as_slice(), &expect(200));
        pool.restore();
        for (i, s) in offers.iter().enumerate().skip(200) {
            pool.offer(e(*s, i as u16));
        }
        let got: heapless::Vec<(i32, u16), 16> = pool.sorted().iter().map(|x| (x.score.0, x.index)).collect();
        assert_eq!(got.as_slice(), &expect(300));
    }

    /// With a limit and keys apart from scores, the pool keeps the best `limit` by key (ties:
    /// lower index), ranks them by score, and `admits` answers as `offer` decides.
    #[test]
    fn a_keyed_pool_keeps_by_key_and_ranks_by_score() {
        let mut next = xorshift32(0x9e37_79b9);
        let offers: [(i32, i32); 200] = core::array::from_fn(|_| ((next() % 40) as i32, (next() % 1000) as i32));
        let mut pool = Pool::<32>::with_limit(12);
        for (i, &(key, score)) in offers.iter().enumerate() {
            let entry = PoolEntry { key: LogScore(key), ..e(score, i as u16) };
            let before = pool.len();
            let admitted = pool.admits(entry.key, entry.index);
            pool.offer(entry);
            let kept = pool.entries.iter().any(|k| k.index == i as u16);
            assert_eq!(admitted, kept, "offer {i}");
            assert!(pool.len() >= before && pool.len() <= 12);
        }
        let mut by_key: [(i32, u16); 200] = core::array::from_fn(|i| (-offers[i].0, i as u16));
        by_key.sort_unstable();
        let mut want: heapless::Vec<(i32, u16), 12> =
            by_key[..12].iter().map(|&(_, i)| (offers[i as usize].1, i)).collect();
        want.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let got: heapless::Vec<(i32, u16), 12> = pool.sorted().iter().map(|x| (x.score.0, x.index)).collect();
        assert_eq!(got, want);
        pool.restore();
        assert!(!pool.admits(LogScore(-1), 500));
        assert!(pool.admits(LogScore(1_000), 500));
        assert!(!Pool::<4>::with_limit(0).admits(LogScore(1_000), 0));
    }

    /// Every fill from empty to full, with scores unrelated to the keys (so the heap's order
    /// says nothing of the scores) and many ties: `sorted` gives the full sort's order.
    #[test]
    fn sorts_any_fill_by_score_then_position() {
        let mut next = xorshift32(0x51ed_270b);
        for round in 0..400u32 {
            let limit = (round % 33) as usize;
            let mut pool = Pool::<32>::with_limit(limit);
            let mut offered = heapless::Vec::<(i32, i32, u16), 64>::new();
            for i in 0..(next() % 64) as u16 {
                let (key, score) = ((next() % 20) as i32, (next() % 8) as i32 - 4);
                pool.offer(PoolEntry { key: LogScore(key), ..e(score, i) });
                let _ = offered.push((key, score, i));
            }
            // The kept ones: the best `limit` by key, then lower position.
            offered.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)));
            let mut want: heapless::Vec<(i32, u16), 32> =
                offered.iter().take(limit).map(|&(_, score, i)| (score, i)).collect();
            want.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let got: heapless::Vec<(i32, u16), 32> = pool.sorted().iter().map(|x| (x.score.0, x.index)).collect();
            assert_eq!(got, want, "round {round}");
        }
    }
}
