//! Scoring: model heads combined by the profile's weights, the negative-total rule, then the
//! multipliers that do not depend on page position (age, network, reply, fatigue, integrity).

use super::explain::{FactorChain, FactorKind, NoTrace, Trace};
use super::features;
use super::filter::Admitted;
use super::integrity;
use crate::input::Candidate;
use crate::model::{Dot, Head, Model, PortableDot, FEATURES, HEADS};
use crate::num::{Factor, Feature, LogScore, Logit, Score};
use crate::profile::Profile;
use crate::state::UserState;

/// A candidate's score before page-position rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scored {
    /// After the negative-total rule, before any multiplier.
    pub base: LogScore,
    /// After the non-positional multipliers.
    pub unplaced: LogScore,
}

/// Scores one admitted candidate.
#[inline]
pub fn score<T: Trace>(
    model: &Model,
    profile: &Profile,
    user: &UserState,
    c: &Candidate,
    admitted: Admitted,
    trace: &mut T,
) -> Scored {
    score_with::<T, PortableDot>(model, profile, user, c, admitted, trace)
}

/// [`score`] with the heads' multiply-accumulates computed by `D` (same result).
#[inline]
pub fn score_with<T: Trace, D: Dot>(
    model: &Model,
    profile: &Profile,
    user: &UserState,
    c: &Candidate,
    admitted: Admitted,
    trace: &mut T,
) -> Scored {
    let x = features::build(c, user, admitted.age_s);
    let base = profile.finish_base(weighted_sum::<T, D>(model, profile, &x, trace));
    let mut chain = FactorChain::new(trace);
    apply_multipliers(profile, c, admitted, &mut chain);
    Scored { base, unplaced: base.scaled(chain.product) }
}

/// [`score_with`] from a feature vector and the [`multipliers`] already computed (the rank
/// session builds both once per candidate and shares them with the light pass): the same
/// score.
#[inline]
pub fn score_features<D: Dot>(model: &Model, profile: &Profile, x: &[Feature; FEATURES], product: Factor) -> Scored {
    let base = profile.finish_base(weighted_sum::<NoTrace, D>(model, profile, x, &mut NoTrace));
    Scored { base, unplaced: base.scaled(product) }
}

/// The product of the multipliers that do not depend on page position: age, network, reply,
/// fatigue and integrity.
#[inline]
pub fn multipliers(profile: &Profile, c: &Candidate, admitted: Admitted) -> Factor {
    let mut trace = NoTrace;
    let mut chain = FactorChain::new(&mut trace);
    apply_multipliers(profile, c, admitted, &mut chain);
    chain.product
}

/// The profile's weighted sum of the head outputs.
#[inline]
fn weighted_sum<T: Trace, D: Dot>(model: &Model, profile: &Profile, x: &[Feature; FEATURES], trace: &mut T) -> Score {
    // Each contribution is within ±2^46, so twelve of them cannot overflow i64.
    let mut sum = 0i64;
    // The contribution as a closure: the compiler keeps it out of line on the Cortex-M4F and
    // the M0+, and the loop around it tighter (X profile, N = 256: 1,001.6 -> 972.2 and
    // 1,709.5 -> 1,688.0 instructions per candidate against the same code written in the
    // loop).
    let mut add = |h: usize, logit: Logit| {
        // Weight times output as a sum of logarithms: one `2^y` per head, where the output
        // itself (a logistic or `e^z` as a mantissa and exponent) and a multiply took twice
        // the instructions.
        let contribution = profile.heads[h].contribution_of_head(Model::log2_output_q16(h, logit));
        if T::RECORDS_HEADS {
            trace.head(Head::ALL[h], Model::output(h, logit), contribution);
        }
        sum += contribution.0;
    };
    // A head the profile does not weigh cannot change the score: its work is skipped unless
    // an explanation wants every head's output.
    let weighs = |h: usize| T::RECORDS_HEADS || !profile.heads[h].is_zero();
    // The features in the form `D` multiplies fastest, once for all the heads.
    let prepared = D::prepare(x);
    for h in 0..HEADS {
        if weighs(h) {
            add(h, model.logit_prepared::<D>(h, &prepared));
        }
    }
    Score::saturate(sum)
}

#[inline]
fn apply_multipliers<T: Trace>(profile: &Profile, c: &Candidate, admitted: Admitted, chain: &mut FactorChain<'_, T>) {
    chain.apply(FactorKind::Age, profile.age_factor(admitted.age_s));
    if !c.flags.in_network() {
        chain.apply(FactorKind::OutOfNetwork, profile.oon_factor);
    }
    if c.flags.reply() {
        chain.apply(FactorKind::Reply, profile.reply_factor);
    }
    chain.apply(FactorKind::Fatigue, admitted.fatigue);
    // The filter computed the integrity product already: the ranking path multiplies by it,
    // and only an explanation runs the rules again to record each factor. Both give the same
    // score: factors combine by adding logarithms, which saturate only at a floor below every
    // score's (`FACTOR_FLOOR`), so the grouping does not matter.
    if T::RECORDS_FACTORS {
        integrity::apply(profile, c, chain);
    } else {
        chain.product = chain.product.then(admitted.integrity);
    }
}
