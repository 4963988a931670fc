//! Re-ranking: fills the page position by position from the scored pools.
//!
//! At each position, in this order:
//! 1. a sponsored slot (from `first_slot`, every `spacing`-th position, at most
//!    `max_per_page`) takes the best sponsored item that passed the quality floor;
//! 2. an exploration slot takes the best item from a small or new creator;
//! 3. otherwise the best organic item by *adjusted* score: its score times the author
//!    diversity factor for the k-th item of that author already on the page, times the
//!    content-kind diversity factor.
//!
//! The network rules bind steps 2 and 3: if the page has had `max_out_of_network_run`
//! recommended items in a row, or fewer than `floor(share * n)` of its first `n` items would
//! be in network, the choice is restricted to in-network items while any remain (at an
//! exploration slot, an in-network creator first, then an in-network organic item). An
//! exploration slot that an ad takes, or that the rules give to an in-network organic item,
//! moves to the next position, so a page keeps all its exploration slots while its
//! exploration pool lasts. Sponsored items stand outside the network rules: they neither
//! count toward them nor are held by them.
//!
//! A page can be continued: after its first items were shown (and the user's feedback on them
//! changed the scores), the rest is ranked again with [`ShownItem`]s standing for the items
//! already on it. They count for every rule as if this call had placed them (authors and
//! kinds for diversity, network run and share, sponsored slots, exploration slots filled or
//! still due), positions continue after them, and none of them is placed again. A slot the
//! first ranking gave up because its exploration pool was spent counts as still due: after
//! the user's feedback, a creator's item may now be there to take it.
//!
//! Diversity factors never exceed 1, so an item's adjusted score never exceeds its pool
//! score. The pool is sorted by score, and the scan for the best adjusted score stops at the
//! first item whose pool score is below the best found: usually after a few items, which keeps
//! the page O(K) scans of a short prefix rather than O(K * P).

use serde::{Deserialize, Serialize};

use super::select::PoolEntry;
use crate::input::{Candidate, ContentKind};
use crate::num::{Factor, LogScore};
use crate::profile::{Profile, SLOT_POSITIONS};

/// How an item got its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Placement {
    /// Best adjusted score among all remaining organic items.
    Ranked,
    /// Best adjusted score among in-network items, because a network rule restricted the
    /// choice (out-of-network run length or in-network share).
    Constrained,
    /// An exploration slot for small and new creators.
    Exploration,
    /// A sponsored slot.
    Sponsored,
}

/// One item of the ranked page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RankedItem {
    /// Item id.
    pub item_id: u32,
    /// Author id.
    pub author_id: u32,
    /// Position of the candidate in the request.
    pub index: u32,
    /// Final score: `unplaced` times the positional factors.
    pub score: LogScore,
    /// Score before page-position rules.
    pub unplaced: LogScore,
    /// Same-author factor applied at this position.
    pub author_factor: Factor,
    /// Same-kind factor applied at this position.
    pub kind_factor: Factor,
    /// How it was placed.
    pub placement: Placement,
}

/// An item already on a page that a rank call continues: what the page rules need of it.
///
/// ```
/// use edgerank_core::input::{Candidate, ContentKind};
/// use edgerank_core::model::Model;
/// use edgerank_core::pipeline::{rank, rank_after, RankContext, ShownItem};
/// use edgerank_core::profile::{Platform, Profile};
/// use edgerank_core::state::UserState;
///
/// let model = Model::default();
/// let profile = Profile::compile(Platform::TikTok.config()).unwrap();
/// let user = UserState::new();
/// let ctx = RankContext { model: &model, profile: &profile, user: &user, now: 5_000 };
/// let batch: Vec<Candidate> =
///     (0..40).map(|i| Candidate { item_id: i, author_id: i % 4, created_at: 4_000, ..Default::default() }).collect();
/// let page = rank::<64, 16>(&ctx, &batch, 10).unwrap();
/// // The first three items were shown: the rest of the page, ranked again.
/// let shown: Vec<ShownItem> =
///     page.items[..3].iter().map(|it| ShownItem::new(it, &batch[it.index as usize])).collect();
/// let rest = rank_after::<64, 16>(&ctx, &batch, &shown, 7).unwrap();
/// // Nothing changed since: the rest is the page's own.
/// assert_eq!(rest.items[..], page.items[3..]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ShownItem {
    /// Item id: never placed again.
    pub item_id: u32,
    /// Author id (author diversity).
    pub author_id: u32,
    /// Content kind (kind diversity).
    pub kind: ContentKind,
    /// From an account the user follows (network rules).
    pub in_network: bool,
    /// How it was placed: a sponsored item counts toward the sponsored slots only, an
    /// exploration item fills an exploration slot.
    pub placement: Placement,
}

impl ShownItem {
    /// The shown item of a ranked item and its candidate.
    pub fn new(item: &RankedItem, candidate: &Candidate) -> Self {
        Self::of(candidate, item.placement)
    }

    /// A candidate shown at a position it got by `placement`.
    pub fn of(candidate: &Candidate, placement: Placement) -> Self {
        Self {
            item_id: candidate.item_id,
            author_id: candidate.author_id,
            kind: candidate.kind,
            in_network: candidate.flags.in_network(),
            placement,
        }
    }
}

/// Page state while filling positions.
struct Page<'p, const K: usize> {
    profile: &'p Profile,
    /// Items already shown, before the first position this call fills.
    shown: &'p [ShownItem],
    items: &'p mut heapless::Vec<RankedItem, K>,
    /// (author, items on the page so far).
    authors: heapless::Vec<(u32, u8), K>,
    kinds: [u8; ContentKind::COUNT],
    in_network: usize,
    oon_run: usize,
    sponsored: usize,
    /// Hashes of the item ids on the page (one bit each): most lookups of an id that is not
    /// on the page end here, without a scan.
    item_bits: IdBits,
    /// The same for the authors on the page.
    author_bits: IdBits,
    /// Entries of the organic pool before this one are all taken (see
    /// [`Page::best_organic`], the only reader of that pool).
    organic_from: usize,
}

/// A 128-bit set of id hashes: `false` from [`IdBits::may_contain`] is exact; `true` means
/// the id may be present (look it up).
#[derive(Clone, Copy, Default)]
struct IdBits([u32; 4]);

impl IdBits {
    /// Bit of an id: the top 7 bits of a multiplicative hash.
    #[inline]
    fn bit(id: u32) -> (usize, u32) {
        let h = id.wrapping_mul(0x9E37_79B1) >> 25;
        ((h >> 5) as usize, 1 << (h & 31))
    }

    #[inline]
    fn insert(&mut self, id: u32) {
        let (w, b) = Self::bit(id);
        self.0[w] |= b;
    }

    #[inline]
    fn may_contain(&self, id: u32) -> bool {
        let (w, b) = Self::bit(id);
        self.0[w] & b != 0
    }
}

impl<const K: usize> Page<'_, K> {
    /// Counts the items already shown as this call's own placements (at most `K` with the
    /// ones this call places: the author list has room for `K`).
    fn seed(&mut self) {
        for s in self.shown {
            self.item_bits.insert(s.item_id);
            self.count(s.author_id, s.kind, s.in_network, s.placement);
        }
    }

    /// Where the author's count is in `authors`, if the author is on the page.
    fn author_slot(&self, author_id: u32) -> Option<usize> {
        if !self.author_bits.may_contain(author_id) {
            return None;
        }
        self.authors.iter().position(|(a, _)| *a == author_id)
    }

    /// Items of the author in `slot` on the page.
    fn author_items(&self, slot: Option<usize>) -> usize {
        slot.and_then(|s| self.authors.get(s)).map_or(0, |(_, n)| *n as usize)
    }

    #[inline]
    fn factors(&self, e: &PoolEntry) -> (Factor, Factor) {
        self.factors_at(e, self.author_slot(e.author_id))
    }

    /// [`Page::factors`] with the author's slot looked up already.
    #[inline]
    fn factors_at(&self, e: &PoolEntry, author_slot: Option<usize>) -> (Factor, Factor) {
        self.profile.diversity_factors(self.author_items(author_slot), self.kinds[e.kind.index()] as usize)
    }

    fn contains(&self, item_id: u32) -> bool {
        if !self.item_bits.may_contain(item_id) {
            return false;
        }
        self.items.iter().any(|i| i.item_id == item_id) || self.shown.iter().any(|s| s.item_id == item_id)
    }

    fn push(&mut self, e: &PoolEntry, placement: Placement) {
        // The author looked up once, for the factors and the count (a scan of the page's
        // authors each).
        let author_slot = if placement == Placement::Sponsored { None } else { self.author_slot(e.author_id) };
        let (a, k) = if placement == Placement::Sponsored {
            (Factor::ONE, Factor::ONE)
        } else {
            self.factors_at(e, author_slot)
        };
        let item = RankedItem {
            item_id: e.item_id,
            author_id: e.author_id,
            index: u32::from(e.index),
            score: e.score.scaled(a.then(k)),
            unplaced: e.score,
            author_factor: a,
            kind_factor: k,
            placement,
        };
        // The caller stops at K items, so this push has room.
        let _ = self.items.push(item);
        self.item_bits.insert(e.item_id);
        self.count_at(author_slot, e.author_id, e.kind, e.flags.in_network(), placement);
    }

    /// Counts an item on the page for the rules: sponsored items for the sponsored slots
    /// only, the others for diversity and the network rules.
    fn count(&mut self, author_id: u32, kind: ContentKind, in_network: bool, placement: Placement) {
        let author_slot = if placement == Placement::Sponsored { None } else { self.author_slot(author_id) };
        self.count_at(author_slot, author_id, kind, in_network, placement);
    }

    /// [`Page::count`] with the author's slot (`None`: not on the page) looked up already.
    fn count_at(
        &mut self,
        author_slot: Option<usize>,
        author_id: u32,
        kind: ContentKind,
        in_network: bool,
        placement: Placement,
    ) {
        if placement == Placement::Sponsored {
            self.sponsored += 1;
            return;
        }
        match author_slot.and_then(|s| self.authors.get_mut(s)) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => {
                // Room: at most K items are on the page.
                let _ = self.authors.push((author_id, 1));
                self.author_bits.insert(author_id);
            }
        }
        let kc = &mut self.kinds[kind.index()];
        *kc = kc.saturating_add(1);
        if in_network {
            self.in_network += 1;
            self.oon_run = 0;
        } else {
            self.oon_run += 1;
        }
    }

    /// The first sponsored slot at or after `pos` (the slots are `first_slot`, then one every
    /// `spacing` positions): the page filler steps from one to the next by an addition, where
    /// a remainder per position was a library division on a Cortex-M0+.
    fn sponsored_slot_from(&self, pos: usize) -> usize {
        let (first, spacing) = (self.profile.config().sponsored.first_slot as usize, self.sponsored_spacing());
        if pos <= first {
            first
        } else {
            first + (pos - first).div_ceil(spacing) * spacing
        }
    }

    /// Positions from one sponsored slot to the next (a validated profile's spacing is at
    /// least 1; 0 counts as 1).
    fn sponsored_spacing(&self) -> usize {
        (self.profile.config().sponsored.spacing as usize).max(1)
    }

    /// Whether the page may take another sponsored item.
    fn has_sponsored_room(&self) -> bool {
        self.sponsored < self.profile.config().sponsored.max_per_page as usize
    }

    fn must_pick_in_network(&self, pos: usize) -> bool {
        let run = self.profile.config().max_out_of_network_run as usize;
        let run_full = run > 0 && self.oon_run >= run;
        let share_q16 = self.profile.in_network_min_share_q16;
        let needed = (crate::num::mul_wide(share_q16, (pos as u32).saturating_add(1)) >> 16) as usize;
        run_full || self.in_network < needed
    }

    /// Best remaining entry of a slot pool (by pool score), skipping items already placed,
    /// and out-of-network ones if `in_network_only`.
    fn best_of(&self, pool: &[PoolEntry], taken: &mut [bool], in_network_only: bool) -> Option<usize> {
        for (i, e) in pool.iter().enumerate() {
            if !taken[i] {
                if self.contains(e.item_id) {
                    taken[i] = true;
                    continue;
                }
                if in_network_only && !e.flags.in_network() {
                    continue;
                }
                return Some(i);
            }
        }
        None
    }

    /// Best organic entry by adjusted score (see the module docs for the early stop).
    fn best_organic(&mut self, pool: &[PoolEntry], taken: &mut [bool], in_network_only: bool) -> Option<usize> {
        // Entries only ever become taken: the scan starts after the taken ones at the top of
        // the pool, once, instead of stepping over them at every position.
        while taken.get(self.organic_from).copied().unwrap_or(false) {
            self.organic_from += 1;
        }
        let mut best: Option<(usize, LogScore)> = None;
        for (i, e) in pool.iter().enumerate().skip(self.organic_from) {
            if let Some((_, best_score)) = best {
                if e.score < best_score {
                    break;
                }
            }
            if taken[i] || (in_network_only && !e.flags.in_network()) {
                continue;
            }
            if self.contains(e.item_id) {
                // A duplicate id: an earlier (better) copy is already on the page.
                taken[i] = true;
                continue;
            }
            let (a, k) = self.factors(e);
            let adjusted = e.score.scaled(a.then(k));
            let better = match best {
                None => true,
                Some((bi, bs)) => adjusted > bs || (adjusted == bs && e.index < pool[bi].index),
            };
            if better {
                best = Some((i, adjusted));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// Pools handed to the re-ranker, each sorted best first.
pub(crate) struct Pools<'a> {
    pub organic: &'a [PoolEntry],
    pub organic_taken: &'a mut [bool],
    pub exploration: &'a [PoolEntry],
    pub exploration_taken: &'a mut [bool],
    pub sponsored: &'a [PoolEntry],
    pub sponsored_taken: &'a mut [bool],
}

/// Fills up to `k` positions after the `shown` ones (`shown.len() + k <= K`, checked by the
/// caller).
pub(crate) fn fill_page<const K: usize>(
    profile: &Profile,
    pools: Pools<'_>,
    shown: &[ShownItem],
    k: usize,
    items: &mut heapless::Vec<RankedItem, K>,
) {
    // Built in place: a constructor returning the page (with its 260-byte author list) kept
    // a second copy on a device's stack.
    let mut page = Page {
        profile,
        shown,
        items,
        authors: heapless::Vec::new(),
        kinds: [0; ContentKind::COUNT],
        in_network: 0,
        oon_run: 0,
        sponsored: 0,
        item_bits: IdBits::default(),
        author_bits: IdBits::default(),
        organic_from: 0,
    };
    page.seed();
    let explore_slots = profile.config().exploration.slots;
    let is_explore_slot = |pos: usize| pos < SLOT_POSITIONS && crate::num::bit_u64(explore_slots, pos as u32);
    // Exploration slots reached and not yet filled: an ad took the position, or a network
    // rule held it and no in-network exploration item was left. The shown items' slots
    // count as if this call had filled them.
    let mut explore_due = 0usize;
    for (pos, s) in shown.iter().enumerate() {
        explore_due += usize::from(is_explore_slot(pos));
        if s.placement == Placement::Exploration {
            explore_due = explore_due.saturating_sub(1);
        }
    }
    let start = shown.len().min(K);
    let spacing = page.sponsored_spacing();
    let mut sponsored_slot = page.sponsored_slot_from(start);
    for pos in start..(start + k).min(K) {
        if is_explore_slot(pos) {
            explore_due += 1;
        }
        let is_sponsored_slot = pos == sponsored_slot;
        if is_sponsored_slot {
            sponsored_slot += spacing;
        }
        if is_sponsored_slot && page.has_sponsored_room() {
            if let Some(i) = page.best_of(pools.sponsored, pools.sponsored_taken, false) {
                pools.sponsored_taken[i] = true;
                page.push(&pools.sponsored[i], Placement::Sponsored);
                continue;
            }
        }
        let restricted = page.must_pick_in_network(pos);
        if explore_due > 0 {
            if let Some(i) = page.best_of(pools.exploration, pools.exploration_taken, restricted) {
                pools.exploration_taken[i] = true;
                page.push(&pools.exploration[i], Placement::Exploration);
                explore_due -= 1;
                continue;
            }
            if restricted {
                // The rules hold the slot while an in-network item remains: that item takes
                // the position and the slot moves on. Once none remains they bind nothing,
                // and the best creator takes it.
                if let Some(i) = page.best_organic(pools.organic, pools.organic_taken, true) {
                    pools.organic_taken[i] = true;
                    page.push(&pools.organic[i], Placement::Constrained);
                    continue;
                }
                if let Some(i) = page.best_of(pools.exploration, pools.exploration_taken, false) {
                    pools.exploration_taken[i] = true;
                    page.push(&pools.exploration[i], Placement::Exploration);
                    explore_due -= 1;
                    continue;
                }
            }
            // The exploration pool is spent: the slots go to organic items.
            explore_due = 0;
        }
        let pick = if restricted {
            match page.best_organic(pools.organic, pools.organic_taken, true) {
                Some(i) => Some((i, Placement::Constrained)),
                None => page.best_organic(pools.organic, pools.organic_taken, false).map(|i| (i, Placement::Ranked)),
            }
        } else {
            page.best_organic(pools.organic, pools.organic_taken, false).map(|i| (i, Placement::Ranked))
        };
        match pick {
            Some((i, placement)) => {
                pools.organic_taken[i] = true;
                page.push(&pools.organic[i], placement);
            }
            None => break,
        }
    }
}
