//! Explanations: the parts of a ranked item's score, which reproduce it exactly.
//!
//! The scorer reports every head contribution and every factor it applies to a [`Trace`].
//! The ranking path passes [`NoTrace`], which compiles to nothing; [`Explanation`] records
//! them, and [`Explanation::replay`] recomputes the final score from the parts alone, using
//! the same fixed-point operations in the same order.

use serde::{Deserialize, Serialize};

use crate::model::{Head, HEADS};
use crate::num::{Factor, HeadValue, LogScore, Score};
use crate::profile::Profile;

/// Most factors one item can receive (non-positional and positional).
pub const MAX_FACTORS: usize = 12;

/// What a multiplier stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FactorKind {
    /// Earlybird age decay.
    Age,
    /// Out-of-network (recommended) item.
    OutOfNetwork,
    /// Reply.
    Reply,
    /// Recovery after "see fewer".
    Fatigue,
    /// Follow-farming ratio.
    FollowFarming,
    /// Very young account.
    YoungAccount,
    /// Engagement-pod burst.
    EngagementPod,
    /// Followers far above what engagement supports.
    BoughtFollowers,
    /// Clockwork posting.
    BotRegularity,
    /// k-th item of the same author on the page.
    AuthorDiversity,
    /// k-th item of the same content kind on the page.
    KindDiversity,
}

/// Receives the parts of a score as the scorer computes them.
pub trait Trace {
    /// Whether this trace wants the output of heads the profile gives no weight (they cannot
    /// change the score, so the ranking path skips them).
    const RECORDS_HEADS: bool = false;
    /// Whether this trace wants each multiplier one by one (the ranking path applies some as
    /// a product computed earlier: the filter's integrity product).
    const RECORDS_FACTORS: bool = false;
    /// A head's output and its contribution to the weighted sum.
    #[inline(always)]
    fn head(&mut self, _head: Head, _value: HeadValue, _contribution: Score) {}
    /// A multiplier, in the order applied.
    #[inline(always)]
    fn factor(&mut self, _kind: FactorKind, _factor: Factor) {}
}

/// The tracer of the ranking path: records nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTrace;
impl Trace for NoTrace {}

/// Multiplies factors in order, reporting each to a trace. Factors of exactly 1 are skipped
/// (multiplying by 1 is exact), so explanations list only the rules that fired.
pub(crate) struct FactorChain<'t, T: Trace> {
    pub product: Factor,
    pub trace: &'t mut T,
}

impl<'t, T: Trace> FactorChain<'t, T> {
    #[inline(always)]
    pub fn new(trace: &'t mut T) -> Self {
        Self { product: Factor::ONE, trace }
    }
    #[inline(always)]
    pub fn apply(&mut self, kind: FactorKind, x: Factor) {
        if x != Factor::ONE {
            self.trace.factor(kind, x);
            self.product = self.product.then(x);
        }
    }
}

/// The breakdown of one item's score.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// Output of each head (a probability, or seconds of watch time).
    pub head_values: [HeadValue; HEADS],
    /// Each head's contribution to the weighted sum (Score units).
    pub contributions: [Score; HEADS],
    /// The multipliers applied, in order (non-positional first, then positional).
    pub factors: heapless::Vec<(FactorKind, Factor), MAX_FACTORS>,
    /// How many of `factors` are non-positional.
    pub non_positional: u8,
}

impl Trace for Explanation {
    const RECORDS_HEADS: bool = true;
    const RECORDS_FACTORS: bool = true;
    fn head(&mut self, head: Head, value: HeadValue, contribution: Score) {
        self.head_values[head.index()] = value;
        self.contributions[head.index()] = contribution;
    }
    fn factor(&mut self, kind: FactorKind, factor: Factor) {
        // MAX_FACTORS exceeds the number of rules, so this never drops one.
        let _ = self.factors.push((kind, factor));
    }
}

impl Explanation {
    /// The weighted sum of head contributions: summed exactly, then saturated, as the scorer
    /// does (each contribution is within ±2^46, so the i64 sum cannot overflow).
    pub fn weighted_sum(&self) -> Score {
        Score::saturate(self.contributions.iter().map(|c| c.0).sum())
    }

    /// The score before positional factors.
    pub fn replay_unplaced(&self, profile: &Profile) -> LogScore {
        let base = profile.finish_base(self.weighted_sum());
        let f = self.factors[..self.non_positional as usize].iter().fold(Factor::ONE, |acc, (_, f)| acc.then(*f));
        base.scaled(f)
    }

    /// The final score, recomputed from the parts.
    pub fn replay(&self, profile: &Profile) -> LogScore {
        let positional =
            self.factors[self.non_positional as usize..].iter().fold(Factor::ONE, |acc, (_, f)| acc.then(*f));
        self.replay_unplaced(profile).scaled(positional)
    }

    /// The contribution of one head.
    pub fn contribution(&self, head: Head) -> Score {
        self.contributions[head.index()]
    }
}
