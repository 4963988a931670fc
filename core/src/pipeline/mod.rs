//! The ranking pipeline, one stage per module, in the order a candidate meets them:
//!
//! 1. [`filter`]: seen items, muted or blocked authors, "see fewer" windows, age cut.
//! 2. [`features`]: the model's inputs from the candidate and the user's state.
//! 3. [`light`]: with a profile's `shortlist`, a one-dot-product light score decides whether
//!    the candidate can still make the shortlist; only then does it go on. Once the shortlist
//!    is full, the dot product alone decides for most candidates
//!    ([`light::LightPass::dot_floor`]).
//! 4. [`score`]: the [`integrity`] rules (which drop stacked evidence, the last filter), model
//!    heads combined by the profile's weights, the negative-total rule, and the
//!    non-positional multipliers, including the integrity factor.
//! 5. [`select`]: bounded top-P pools (organic, exploration, sponsored).
//! 6. [`rerank`]: position by position: slots, diversity, network rules.
//! 7. [`explain`]: on request, the exact breakdown of any ranked item's score.
//!
//! Stages 1-5 run per candidate as it arrives ([`RankSession::push`]), so a device can
//! stream candidates without ever holding the whole batch; stage 5 runs once per page.

pub mod explain;
pub mod features;
pub mod filter;
pub mod integrity;
pub mod light;
pub mod rerank;
pub mod score;
pub mod select;

use core::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::error::RankError;
use crate::input::Candidate;
use crate::model::{Dot, Model, PortableDot, FEATURES};
use crate::num::{Factor, Feature, LogScore};
use crate::profile::Profile;
use crate::state::UserState;

use explain::{Explanation, NoTrace};
use filter::FilterReason;
use light::LightPass;
use select::{Pool, PoolEntry};

pub use rerank::{Placement, RankedItem, ShownItem};

/// Default capacity of the organic pool: the best 128 scored candidates compete for the page.
pub const DEFAULT_POOL: usize = 128;
/// Capacity of the exploration pool (small and new creators).
pub const EXPLORATION_POOL: usize = 8;
/// Capacity of the sponsored pool.
pub const SPONSORED_POOL: usize = 8;
/// With a shortlist, once it is full, an exploration candidate goes on to the full model for
/// the exploration pool only if its light score is among the best this many so far (a
/// running top 16 of their light scores, 64 bytes), so that a batch of thousands does not run
/// the full model on every small creator's post (about one in ten) for a pool of 8. A running
/// top, not a cap: in random order about `16 (1 + ln(n / 16))` of `n` pass, and all of them
/// if their light scores arrive in increasing order; the final best 16 always pass.
pub const EXPLORATION_SHORTLIST: usize = 16;
/// Early rejection (sessions of capacity above [`EARLY_REJECT_MIN_CAPACITY`]): once a session
/// has received this many candidates and its shortlist is full, an organic candidate whose
/// light score could not beat the shortlist's worst under any multipliers is left out from
/// the light pass's dot product alone ([`light::LightPass::dot_floor`]), before the integrity
/// rules, its multipliers and a logarithm; one that passes is left out if its exact light
/// score but for the integrity factor (at most 1) cannot beat it, before the integrity rules.
/// An exploration candidate is left out only if it can pass neither the shortlist nor the
/// exploration gate. The page is the same; the candidate counts as `shortlist_skipped`
/// whatever the integrity rules would have found. Late in a large batch nearly every
/// candidate is left out this way, and the integrity rules are a host's least predictable
/// branches (at N = 4,096 it saves a fifth of the time); early on the shortlist's worst still
/// rises quickly, and the floor's recomputations and the features of candidates the integrity
/// rules would have dropped cost more than it saves.
pub const EARLY_REJECT_AFTER: u32 = 4 * MAX_SHORTLIST as u32;
/// Sessions of this capacity `N` or less are built without early rejection: a batch of 256
/// (a microcontroller's) has too few candidates past [`EARLY_REJECT_AFTER`] to repay its code
/// (measured on a Cortex-M4F with it built in: 3 % more instructions at N = 256, 2 % at 32,
/// and 2.1 KB more text).
pub const EARLY_REJECT_MIN_CAPACITY: usize = 256;
/// Most organic candidates a shortlist holds (a profile's larger `shortlist` is capped here):
/// each waits for the full model with its features, 40 bytes of the session.
pub const MAX_SHORTLIST: usize = 48;

/// Everything a rank call reads.
#[derive(Clone, Copy, Debug)]
pub struct RankContext<'a> {
    /// Model.
    pub model: &'a Model,
    /// Profile.
    pub profile: &'a Profile,
    /// User state (read only while ranking).
    pub user: &'a UserState,
    /// Request time, seconds.
    pub now: u32,
}

/// Counters of one rank call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RankStats {
    /// Candidates received.
    pub received: u32,
    /// Candidates filtered out, by [`FilterReason`].
    pub filtered: [u32; FilterReason::COUNT],
    /// Candidates the full model scored.
    pub scored: u32,
    /// Sponsored candidates below the profile's quality floor.
    pub sponsored_below_floor: u32,
    /// Scored candidates that did not fit the organic or sponsored pool (the weakest are
    /// dropped first). With a shortlist, sponsored ones only: organic candidates left out of
    /// it are `shortlist_skipped`, or, for exploration candidates that passed the exploration
    /// gate, still in their own pool.
    pub pool_overflow: u32,
    /// Candidates that passed the filters but not the light pass: the shortlist (the best by
    /// light score, or none with a zero-capacity pool) left them out, so the full model never
    /// ran on them. With early rejection ([`EARLY_REJECT_AFTER`]: sessions of capacity above
    /// 256, from the 193rd candidate), a candidate left out before the integrity rules run
    /// counts here even if they would have dropped it, and `filtered[Inauthentic]` counts the
    /// candidates the rules dropped among those they ran on: the same batch can split its
    /// counts differently in a session of 256 and in a larger one (the page is the same).
    /// `received` = filtered + `scored` + `shortlist_skipped`.
    pub shortlist_skipped: u32,
}

/// A ranked page of at most `K` items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedFeed<const K: usize> {
    /// The page, in display order.
    pub items: heapless::Vec<RankedItem, K>,
    /// Counters.
    pub stats: RankStats,
}

/// One rank call in progress: accepts up to `N` candidates, keeps the best `P` by score (or,
/// when the profile has a `shortlist`, the best `min(shortlist, P)` by light score; see
/// [`light`]). `D` computes the model heads' multiply-accumulates (see [`Dot`]; every choice
/// gives the same page).
///
/// A shortlist is exact whatever the order candidates arrive in: the organic pool holds the
/// best by light score of all candidates pushed so far, each with its features, and the full
/// model scores only the final shortlist, when the page is built. So `S` of `N` candidates
/// get the full model for a shortlist of `S`, plus the sponsored candidates and the
/// exploration candidates that pass the exploration gate ([`EXPLORATION_SHORTLIST`]: a
/// running top by light score, so which ones pass depends on the order), whose pools rank by
/// the full score. The shortlist holds at most [`MAX_SHORTLIST`].
///
/// ```
/// use edgerank_core::input::Candidate;
/// use edgerank_core::model::Model;
/// use edgerank_core::pipeline::{RankContext, RankSession};
/// use edgerank_core::profile::{Platform, Profile};
/// use edgerank_core::state::UserState;
///
/// let model = Model::default();
/// let profile = Profile::compile(Platform::TikTok.config()).unwrap();
/// let user = UserState::new();
/// let ctx = RankContext { model: &model, profile: &profile, user: &user, now: 10_000 };
/// let mut session = RankSession::<256, 64>::new(ctx);
/// for id in 0..100 {
///     let c = Candidate { item_id: id, author_id: id % 7, created_at: 9_000, ..Candidate::default() };
///     session.push(&c).expect("within capacity");
/// }
/// let page = session.finish::<10>(10).expect("k within capacity");
/// // The session stays valid: the same page again, or a new one after more candidates.
/// assert_eq!(session.finish::<10>(10).unwrap(), page);
/// assert_eq!(page.items.len(), 10);
/// ```
pub struct RankSession<'a, const N: usize, const P: usize = DEFAULT_POOL, D: Dot = PortableDot> {
    ctx: RankContext<'a>,
    /// Whether the profile has a shortlist (the organic pool then keeps the best by light
    /// score).
    shortlist: bool,
    /// The light pass, built when the shortlist first fills.
    light: Option<LightPass>,
    /// Early rejection's dot product floors: the shortlist's, and the exploration gate's.
    reject: RejectBelow,
    gate_reject: RejectBelow,
    /// With a shortlist: the organic pool's candidates waiting for the full model. Each
    /// pool entry names its slot here in its `score` field until [`RankSession::finish`]
    /// replaces the slots with the full scores (see `slotted`).
    waiting: heapless::Vec<Waiting, MAX_SHORTLIST>,
    /// True while the organic entries' `score` fields hold slots in `waiting`; false once
    /// `finish` has scored them (a later `push` turns them back into slots).
    slotted: bool,
    /// True after `finish` until the next `push`: the pools are sorted by score, not heaps
    /// (the next `push` restores them; a rank call that ends with its page never does).
    pools_sorted: bool,
    /// Shortlist candidates that did not get the full model at `push` (all but the exploration
    /// candidates that passed the gate): light-scored, and among those, in the shortlist at
    /// the last `finish`.
    light_only: u32,
    light_only_shortlisted: u32,
    organic: Pool<P>,
    exploration: Pool<EXPLORATION_POOL>,
    /// Light scores of the exploration candidates that went on to the full model since the
    /// shortlist filled: the best [`EXPLORATION_SHORTLIST`] so far.
    exploration_gate: heapless::BinaryHeap<LogScore, heapless::binary_heap::Min, EXPLORATION_SHORTLIST>,
    sponsored: Pool<SPONSORED_POOL>,
    stats: RankStats,
    organic_offers: u32,
    sponsored_offers: u32,
    dot: PhantomData<D>,
}

impl<'a, const N: usize, const P: usize, D: Dot> RankSession<'a, N, P, D> {
    /// Starts a rank call. `N` is at most [`select::MAX_SESSION_CANDIDATES`] (65,536; a
    /// larger `N` does not compile).
    pub fn new(ctx: RankContext<'a>) -> Self {
        const { assert!(N <= select::MAX_SESSION_CANDIDATES, "a session takes at most 65,536 candidates") };
        let shortlist = (ctx.profile.config().shortlist as usize).min(MAX_SHORTLIST);
        Self {
            ctx,
            shortlist: shortlist != 0,
            light: None,
            reject: RejectBelow { dot: i32::MIN, key: LogScore::ZERO_VALUE },
            gate_reject: RejectBelow { dot: i32::MIN, key: LogScore::ZERO_VALUE },
            waiting: heapless::Vec::new(),
            slotted: true,
            pools_sorted: false,
            light_only: 0,
            light_only_shortlisted: 0,
            organic: if shortlist == 0 { Pool::new() } else { Pool::with_limit(shortlist) },
            exploration: Pool::new(),
            exploration_gate: heapless::BinaryHeap::new(),
            sponsored: Pool::new(),
            stats: RankStats::default(),
            organic_offers: 0,
            sponsored_offers: 0,
            dot: PhantomData,
        }
    }

    /// Filters, scores and pools one candidate. Refuses the (N+1)-th.
    #[inline]
    pub fn push(&mut self, c: &Candidate) -> Result<(), RankError> {
        if self.stats.received as usize >= N {
            return Err(RankError::TooManyCandidates { capacity: N as u32 });
        }
        if self.pools_sorted {
            self.organic.restore();
            self.exploration.restore();
            self.sponsored.restore();
            self.pools_sorted = false;
        }
        let index = self.stats.received;
        self.stats.received += 1;
        let ctx = self.ctx;
        // `index < N <= 65,536` (asserted in `new`).
        let index = index as u16;
        let screened = filter::screen(c, ctx.user, ctx.profile, ctx.now);
        let Some(mut admitted) = self.count_filtered(screened) else { return Ok(()) };
        // Early rejection (see `EARLY_REJECT_AFTER`): the integrity rules wait until the light
        // pass's dot product has shown that the candidate can still enter the shortlist.
        // Otherwise they come first: a candidate they drop needs no features.
        let early_reject =
            N > EARLY_REJECT_MIN_CAPACITY && self.light.is_some() && self.stats.received > EARLY_REJECT_AFTER;
        if !early_reject {
            let checked = filter::check_integrity(admitted, c, ctx.profile);
            let Some(checked) = self.count_filtered(checked) else { return Ok(()) };
            admitted = checked;
        }
        let x = features::build(c, ctx.user, admitted.age_s);
        let sponsored = c.flags.sponsored();
        let mut explore = !sponsored && is_exploration_candidate(ctx.profile, c, admitted.age_s);
        // With early rejection, a candidate the dot product lets through: its light score
        // before multipliers, and its multipliers but the integrity rules'.
        let mut early = None;
        if early_reject {
            if let (Some(light), false) = (&self.light, sponsored) {
                // An exploration candidate also has the exploration gate to pass: it is left
                // out only if it can pass neither (the gate's worst also only rises).
                let gate_worst = self.exploration_gate_worst();
                let dot = light.dot::<D>(&x);
                if self.reject.cannot_enter(light, ctx.profile, self.organic.next_evicted().map(|e| e.key), dot)
                    && (!explore || self.gate_reject.cannot_enter(light, ctx.profile, gate_worst, dot))
                {
                    self.light_only += 1;
                    return Ok(());
                }
                // Then its exact light score but for the integrity factor (at most 1): the
                // rules run only if that could enter.
                let base = light.base_of_dot(ctx.profile, dot);
                let undemoted = score::multipliers(ctx.profile, c, admitted);
                let bound = base.scaled(undemoted);
                let passes_gate = explore && gate_worst.is_none_or(|worst| bound > worst);
                if !self.organic.admits(bound, index) && !passes_gate {
                    self.light_only += 1;
                    return Ok(());
                }
                early = Some((base, undemoted));
            }
            let checked = filter::check_integrity(admitted, c, ctx.profile);
            let Some(checked) = self.count_filtered(checked) else { return Ok(()) };
            admitted = checked;
        }
        // `score::multipliers` applies the integrity factor last.
        let product = match early {
            Some((_, undemoted)) => undemoted.then(admitted.integrity),
            None => score::multipliers(ctx.profile, c, admitted),
        };
        let entry = |score| PoolEntry {
            key: score,
            score,
            item_id: c.item_id,
            author_id: c.author_id,
            index,
            kind: c.kind,
            flags: c.flags,
        };
        if self.shortlist && !sponsored {
            // Until the shortlist is full every candidate joins it: light scores (and the
            // light pass itself) wait until then, so a batch no larger than the shortlist
            // never needs them.
            let full = self.organic.next_evicted().is_some();
            let light = full.then(|| match early {
                Some((base, _)) => base.scaled(product),
                None => self.light_pass().score::<D>(ctx.profile, &x, product),
            });
            if let (true, Some(light)) = (explore, light) {
                explore = self.pass_exploration_gate(light);
            }
            self.offer_to_shortlist(&x, product, index, explore, light, entry);
            if !explore {
                self.light_only += 1;
                return Ok(());
            }
        }
        let scored = score::score_features::<D>(ctx.model, ctx.profile, &x, product);
        self.stats.scored += 1;
        let entry = entry(scored.unplaced);
        if sponsored {
            if scored.unplaced >= ctx.profile.sponsored_floor {
                self.sponsored_offers += 1;
                self.sponsored.offer(entry);
            } else {
                self.stats.sponsored_below_floor += 1;
            }
        } else {
            // With a shortlist the organic pool has had its offer; an exploration candidate
            // also competes in its own pool, ranked by full score.
            if !self.shortlist {
                self.organic_offers += 1;
                self.organic.offer(entry);
            }
            if explore {
                self.exploration.offer(entry);
            }
        }
        Ok(())
    }

    /// The admitted candidate, or `None` after counting why it was filtered out.
    #[inline(always)]
    fn count_filtered(&mut self, admitted: Result<filter::Admitted, FilterReason>) -> Option<filter::Admitted> {
        admitted.map_err(|reason| self.stats.filtered[reason as usize] += 1).ok()
    }

    /// The light score an exploration candidate must beat to pass the exploration gate once it
    /// is full (`None` before: every candidate passes).
    #[inline]
    fn exploration_gate_worst(&self) -> Option<LogScore> {
        if self.exploration_gate.is_full() {
            self.exploration_gate.peek().copied()
        } else {
            None
        }
    }

    /// Whether an exploration candidate of light score `light` goes on to the full model: it
    /// is among the best [`EXPLORATION_SHORTLIST`] by light score so far (ties go to the
    /// earlier candidate).
    #[inline]
    fn pass_exploration_gate(&mut self, light: LogScore) -> bool {
        let gate = &mut self.exploration_gate;
        if !gate.is_full() {
            return gate.push(light).is_ok();
        }
        match gate.peek_mut() {
            Some(mut worst) if light > *worst => {
                *worst = light;
                true
            }
            _ => false,
        }
    }

    /// Offers an organic candidate (features `x`, multipliers `product`, position `index`,
    /// light score `key` once the shortlist is full) to the shortlist, which keeps the best
    /// by light score, each with its features waiting for the full model. `entry` builds its
    /// pool entry from a score (here: its slot in `waiting`).
    #[inline(always)]
    fn offer_to_shortlist(
        &mut self,
        x: &[Feature; FEATURES],
        product: Factor,
        index: u16,
        explore: bool,
        key: Option<LogScore>,
        entry: impl Fn(LogScore) -> PoolEntry,
    ) {
        if !key.is_none_or(|key| self.organic.admits(key, index)) {
            return;
        }
        self.make_slotted();
        // The slot of the entry this one evicts, or the next free one.
        let slot = self.organic.next_evicted().map_or(self.organic.len(), |e| e.score.0 as usize);
        // Until the shortlist fills, the key is a placeholder that grows with the position, so
        // that a new entry stays where the heap puts it.
        let key = key.unwrap_or(LogScore(i32::from(index)));
        // Built only once admitted: a 40-byte copy per candidate otherwise.
        let waiting = Waiting { x: *x, product, index, explore };
        let stored = match self.waiting.get_mut(slot) {
            Some(w) => {
                *w = waiting;
                true
            }
            None => self.waiting.push(waiting).is_ok(),
        };
        if stored {
            self.organic.offer(PoolEntry { key, ..entry(LogScore(slot as i32)) });
            if self.light.is_none() && self.organic.next_evicted().is_some() {
                self.key_shortlist();
            }
        }
    }

    /// The light pass, built on first use.
    #[inline]
    fn light_pass(&mut self) -> &LightPass {
        let ctx = self.ctx;
        self.light.get_or_insert_with(|| LightPass::new(ctx.model, ctx.profile))
    }

    /// Keys the shortlist's entries by their light scores, once it first fills.
    #[inline(never)]
    fn key_shortlist(&mut self) {
        self.light_pass();
        let ctx = self.ctx;
        let (Some(light), waiting) = (&self.light, &self.waiting) else { return };
        self.organic.rekey(|e| {
            // Every entry's `score` names its slot here (the session is slotted).
            waiting.get(e.score.0 as usize).map_or(e.key, |w| light.score::<D>(ctx.profile, &w.x, w.product))
        });
    }

    /// Turns the organic entries' full scores back into their slots in `waiting` after a
    /// `finish`, so that offers can evict them: once per `finish` followed by pushes, at most
    /// `MAX_SHORTLIST`² comparisons.
    fn make_slotted(&mut self) {
        if self.slotted {
            return;
        }
        for (index, score) in self.organic.scores_mut() {
            if let Some(slot) = self.waiting.iter().position(|w| w.index == index) {
                *score = LogScore(slot as i32);
            }
        }
        self.slotted = true;
    }

    /// Runs the full model on the shortlist: each organic entry's slot becomes its score.
    fn score_shortlist(&mut self) {
        if !self.slotted {
            return; // scored by the last `finish`, and nothing pushed since
        }
        let ctx = &self.ctx;
        let mut light_only = 0;
        for (_, score) in self.organic.scores_mut() {
            if let Some(w) = self.waiting.get(score.0 as usize) {
                // An exploration candidate had the full model when it was pushed: its score
                // is in the exploration pool while that keeps it (the same inputs, the same
                // score), where computing it again took some 2,300 instructions on a
                // Cortex-M0+.
                let known = if w.explore { self.exploration.score_of(w.index) } else { None };
                *score = match known {
                    Some(known) => known,
                    None => score::score_features::<D>(ctx.model, ctx.profile, &w.x, w.product).unplaced,
                };
                light_only += u32::from(!w.explore);
            }
        }
        self.light_only_shortlisted = light_only;
        self.slotted = false;
    }

    /// Builds the page of at most `k` items.
    ///
    /// Works on the session's own pools in place (no copy of them), and leaves the session
    /// valid: more candidates may be pushed and the page built again over all of them.
    pub fn finish<const K: usize>(&mut self, k: usize) -> Result<RankedFeed<K>, RankError> {
        self.finish_after(&[], k)
    }

    /// Builds the rest of a page whose first items, `shown`, were already shown: at most `k`
    /// items for the positions after them, ranked by the session's candidates and user state
    /// (typically re-scored after the user's feedback on the shown items). The shown items
    /// count for every page rule as if this call had placed them, and none is placed again
    /// (see [`rerank`]). `shown.len() + k` may not exceed `K`.
    ///
    /// With the same session and state, the rest of a page is the page's own: continuing
    /// after its first `p` items gives its items from position `p` on.
    pub fn finish_after<const K: usize>(&mut self, shown: &[ShownItem], k: usize) -> Result<RankedFeed<K>, RankError> {
        let mut items = heapless::Vec::new();
        let stats = self.finish_into(shown, k, &mut items)?;
        Ok(RankedFeed { items, stats })
    }

    /// [`RankSession::finish_after`] into `items` (cleared first, also on an error), returning
    /// the counters: a
    /// device builds the page straight into its answer's message, where a returned page and
    /// the message holding its copy took two pages of stack.
    ///
    /// ```
    /// # use edgerank_core::input::Candidate;
    /// # use edgerank_core::model::Model;
    /// # use edgerank_core::pipeline::{RankContext, RankSession, RankedItem};
    /// # use edgerank_core::profile::{Platform, Profile};
    /// # use edgerank_core::state::UserState;
    /// # let model = Model::default();
    /// # let profile = Profile::compile(Platform::X.config()).unwrap();
    /// # let user = UserState::new();
    /// let ctx = RankContext { model: &model, profile: &profile, user: &user, now: 5_000 };
    /// let mut session = RankSession::<64>::new(ctx);
    /// for i in 0..20 {
    ///     session.push(&Candidate { item_id: i, author_id: i, created_at: 4_000, ..Default::default() }).unwrap();
    /// }
    /// let mut items = heapless::Vec::<RankedItem, 16>::new();
    /// let stats = session.finish_into(&[], 10, &mut items).unwrap();
    /// assert_eq!((items.len(), stats.received), (10, 20));
    /// ```
    pub fn finish_into<const K: usize>(
        &mut self,
        shown: &[ShownItem],
        k: usize,
        items: &mut heapless::Vec<RankedItem, K>,
    ) -> Result<RankStats, RankError> {
        items.clear();
        if k.saturating_add(shown.len()) > K {
            return Err(RankError::KTooLarge { capacity: K as u32 });
        }
        let mut stats = self.stats;
        let organic_overflow = if self.shortlist {
            // Light-scored candidates outside the shortlist never met the full model.
            self.score_shortlist();
            stats.scored += self.light_only_shortlisted;
            stats.shortlist_skipped = self.light_only - self.light_only_shortlisted;
            0
        } else {
            self.organic_offers - self.organic.len() as u32
        };
        stats.pool_overflow = organic_overflow + (self.sponsored_offers - self.sponsored.len() as u32);
        let profile = self.ctx.profile;
        let mut organic_taken = [false; P];
        let mut exploration_taken = [false; EXPLORATION_POOL];
        let mut sponsored_taken = [false; SPONSORED_POOL];
        rerank::fill_page(
            profile,
            rerank::Pools {
                organic: self.organic.sorted(),
                organic_taken: &mut organic_taken,
                exploration: self.exploration.sorted(),
                exploration_taken: &mut exploration_taken,
                sponsored: self.sponsored.sorted(),
                sponsored_taken: &mut sponsored_taken,
            },
            shown,
            k,
            items,
        );
        // The pools stay sorted until a `push` needs them as heaps again.
        self.pools_sorted = true;
        Ok(stats)
    }
}

/// Light pass dot products below `dot` cannot beat a worst key (the full shortlist's, or the
/// full exploration gate's): the [`LightPass::dot_floor`] of `key`, a worst key it has had
/// (`i32::MIN` before).
struct RejectBelow {
    /// The floor, capped to i32 (at `i32::MAX`, the largest dot product is kept: on the safe
    /// side, and 8 bytes where an i64 took 16).
    dot: i32,
    key: LogScore,
}

impl RejectBelow {
    /// Whether a light pass dot product is below the full shortlist's reach under any
    /// multipliers, `worst` being its worst entry. The worst key only rises while the
    /// shortlist is full, so the floor of an earlier worst still holds: it is recomputed only
    /// when it does not already decide, and the worst has changed since.
    #[inline]
    fn cannot_enter(&mut self, light: &LightPass, profile: &Profile, worst: Option<LogScore>, dot: i32) -> bool {
        if dot < self.dot {
            return true;
        }
        match worst {
            Some(worst) if worst != self.key => {
                self.key = worst;
                let floor = light.dot_floor(profile, worst, profile.max_multipliers());
                self.dot = floor.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                dot < self.dot
            }
            _ => false,
        }
    }
}

/// A shortlisted candidate waiting for the full model: what [`score::score_features`] reads.
/// `repr(C)` with the features first, so they start at a word boundary (a [`Dot`] may read
/// them in packed pairs).
#[derive(Clone, Copy)]
#[repr(C)]
struct Waiting {
    x: [Feature; FEATURES],
    product: Factor,
    /// Position in the request (finds the slot again after a `finish`).
    index: u16,
    /// An exploration candidate that went on to the full model: counted as scored whether or
    /// not it stays shortlisted.
    explore: bool,
}

/// Whether a candidate may fill an exploration slot.
#[inline]
fn is_exploration_candidate(profile: &Profile, c: &Candidate, age_s: u32) -> bool {
    let e = &profile.config().exploration;
    let small = |a: &crate::input::AuthorSignals| a.followers <= e.max_followers;
    let new = |a: &crate::input::AuthorSignals| a.impressions < e.max_author_impressions;
    if crate::util::BRANCHLESS {
        // `&`, not `&&`: the outcomes follow the authors, which no branch predictor learns (a
        // fifth of a host's mispredictions at N = 4,096 were these tests).
        e.slots != 0 && small(&c.author) & new(&c.author) & (age_s < e.max_age_s)
    } else {
        e.slots != 0 && small(&c.author) && new(&c.author) && age_s < e.max_age_s
    }
}
/// Ranks a batch held in memory: at most `N` candidates in, at most `k <= K` items out.
///
/// ```
/// use edgerank_core::input::Candidate;
/// use edgerank_core::model::Model;
/// use edgerank_core::pipeline::{rank, RankContext};
/// use edgerank_core::profile::{Platform, Profile};
/// use edgerank_core::state::UserState;
///
/// let model = Model::default();
/// let profile = Profile::compile(Platform::X.config()).unwrap();
/// let user = UserState::new();
/// let ctx = RankContext { model: &model, profile: &profile, user: &user, now: 5_000 };
/// let batch: Vec<Candidate> =
///     (0..50).map(|i| Candidate { item_id: i, author_id: i, created_at: 4_000, ..Default::default() }).collect();
/// let page = rank::<256, 32>(&ctx, &batch, 20).unwrap();
/// assert_eq!(page.items.len(), 20);
/// assert!(rank::<16, 32>(&ctx, &batch, 20).is_err()); // over capacity: an error, not a panic
/// ```
pub fn rank<const N: usize, const K: usize>(
    ctx: &RankContext<'_>,
    candidates: &[Candidate],
    k: usize,
) -> Result<RankedFeed<K>, RankError> {
    if candidates.len() > N {
        return Err(RankError::TooManyCandidates { capacity: N as u32 });
    }
    rank_after::<N, K>(ctx, candidates, &[], k)
}

/// [`rank`] for the rest of a page whose first items, `shown`, were already shown (see
/// [`RankSession::finish_after`]; an example is at [`ShownItem`]).
pub fn rank_after<const N: usize, const K: usize>(
    ctx: &RankContext<'_>,
    candidates: &[Candidate],
    shown: &[ShownItem],
    k: usize,
) -> Result<RankedFeed<K>, RankError> {
    if candidates.len() > N {
        return Err(RankError::TooManyCandidates { capacity: N as u32 });
    }
    if k.saturating_add(shown.len()) > K {
        return Err(RankError::KTooLarge { capacity: K as u32 });
    }
    let mut session = RankSession::<N>::new(*ctx);
    for c in candidates {
        session.push(c)?;
    }
    session.finish_after(shown, k)
}

/// One candidate's score before page-position rules, or `None` if a filter drops it.
///
/// ```
/// # use edgerank_core::input::Candidate;
/// # use edgerank_core::model::Model;
/// # use edgerank_core::pipeline::{score_candidate, RankContext};
/// # use edgerank_core::profile::{Platform, Profile};
/// # use edgerank_core::state::UserState;
/// # let model = Model::default();
/// # let profile = Profile::compile(Platform::X.config()).unwrap();
/// # let user = UserState::new();
/// let ctx = RankContext { model: &model, profile: &profile, user: &user, now: 5_000 };
/// let fresh = Candidate { created_at: 4_000, ..Default::default() };
/// assert!(score_candidate(&ctx, &fresh).is_some());
/// let stale = Candidate { created_at: 4_000, ..Default::default() };
/// let later = RankContext { now: 4_000 + 3 * 86_400, ..ctx };
/// assert!(score_candidate(&later, &stale).is_none()); // past X's 48 h cut
/// ```
pub fn score_candidate(ctx: &RankContext<'_>, candidate: &Candidate) -> Option<crate::num::LogScore> {
    let admitted = filter::admit(candidate, ctx.user, ctx.profile, ctx.now).ok()?;
    Some(score::score(ctx.model, ctx.profile, ctx.user, candidate, admitted, &mut NoTrace).unplaced)
}

/// The breakdown of a ranked item's score, recomputed from its candidate. `None` if the
/// candidate would not pass the filters in this context (it cannot have been ranked).
///
/// ```
/// # use edgerank_core::input::Candidate;
/// # use edgerank_core::model::Model;
/// # use edgerank_core::pipeline::{explain, rank, RankContext};
/// # use edgerank_core::profile::{Platform, Profile};
/// # use edgerank_core::state::UserState;
/// # let model = Model::default();
/// # let profile = Profile::compile(Platform::X.config()).unwrap();
/// # let user = UserState::new();
/// # let ctx = RankContext { model: &model, profile: &profile, user: &user, now: 5_000 };
/// # let batch: Vec<Candidate> =
/// #     (0..50).map(|i| Candidate { item_id: i, author_id: i % 3, created_at: 4_000, ..Default::default() }).collect();
/// let page = rank::<256, 32>(&ctx, &batch, 10).unwrap();
/// let top = &page.items[0];
/// let why = explain(&ctx, &batch[top.index as usize], top).unwrap();
/// assert_eq!(why.replay(&profile), top.score);
/// ```
pub fn explain(ctx: &RankContext<'_>, candidate: &Candidate, item: &RankedItem) -> Option<Explanation> {
    let admitted = filter::admit(candidate, ctx.user, ctx.profile, ctx.now).ok()?;
    let mut why = Explanation::default();
    score::score(ctx.model, ctx.profile, ctx.user, candidate, admitted, &mut why);
    why.non_positional = why.factors.len() as u8;
    use explain::{FactorKind, Trace};
    if item.author_factor != crate::num::Factor::ONE {
        why.factor(FactorKind::AuthorDiversity, item.author_factor);
    }
    if item.kind_factor != crate::num::Factor::ONE {
        why.factor(FactorKind::KindDiversity, item.kind_factor);
    }
    Some(why)
}
