//! The ranking policies compared in one run.
//!
//! | name | how the page is built | user state refresh |
//! |---|---|---|
//! | `chronological` | followed accounts newest first, then recommended newest first; no ads | after every item |
//! | `engagement_only` | the core with [`engagement_only_config`]: likes, comments, shares; no integrity | after every item |
//! | `facebook` ... `x` | the core with each built-in platform profile | after every item (on device) |
//! | `oracle` | ground-truth expected satisfaction (the ceiling) | after every item |
//! | `tiktok_on_device` | the core with the TikTok profile; the rest of the page re-ranked after every item | after every item |
//! | `tiktok_server_only` | the core with the TikTok profile | once, at session end |
//!
//! Chronological and oracle pages still respect the device's hard filters (items already
//! shown, muted or blocked authors, "see fewer" windows), through the core's own filter with
//! a neutral profile.

use edgerank_core::input::Candidate;
use edgerank_core::model::Head;
use edgerank_core::model::Model;
use edgerank_core::pipeline::filter::admit;
use edgerank_core::pipeline::{rank_after, Placement, RankContext, ShownItem};
use edgerank_core::profile::{Platform, Profile, ProfileConfig};
use edgerank_core::state::UserState;
use serde::Serialize;

/// Most candidates per batch (the core's `N`).
pub const MAX_BATCH: usize = 512;
/// Largest page (the core's `K`).
pub const MAX_PAGE: usize = 32;

/// When the device's user state takes in feedback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refresh {
    /// After every item (on-device learning); pages are ranked whole.
    PerItem,
    /// After every item, and the rest of the page is re-ranked from the whole batch with the
    /// updated state before the next item is shown (on-device re-ranking).
    PerItemReranked,
    /// Once per session, at its end (the server-side baseline).
    PerSession,
    /// Never (no personalisation from feedback; a reference).
    Never,
}

/// What ranks the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ranker {
    /// Newest first (in-network, then recommended).
    Chronological,
    /// The core with a compiled profile.
    Core,
    /// Ground truth.
    Oracle,
}

/// One policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Report name.
    pub name: String,
    /// Ranker.
    pub ranker: Ranker,
    /// Profile name for reports (`none` for chronological and oracle).
    pub profile_name: String,
    /// Refresh mode.
    pub refresh: Refresh,
    /// The compiled profile (core rankers).
    pub profile: Option<Profile>,
    /// Neutral profile for hard filters of non-core rankers.
    pub neutral: Profile,
    /// X's profile: the reference for integrity diagnostics of policies without integrity.
    pub reference: Profile,
}

/// The 2018-style engagement-only profile: [`ProfileConfig::neutral`] with only like, comment
/// and share weights (comments and reshares count more than likes, as in "meaningful social
/// interactions"; the numbers are ours), integrity disabled, no ad slots.
pub fn engagement_only_config() -> ProfileConfig {
    let mut c = ProfileConfig::neutral("engagement_only");
    c.head_weights[Head::Like.index()] = 1.0;
    c.head_weights[Head::Comment.index()] = 4.0;
    c.head_weights[Head::Share.index()] = 4.0;
    c.integrity.enabled = false;
    c
}

fn compile(c: ProfileConfig) -> Profile {
    Profile::compile(c).expect("built-in profile configurations are valid")
}

impl Policy {
    fn new(name: &str, ranker: Ranker, profile: Option<ProfileConfig>, refresh: Refresh) -> Policy {
        Policy {
            name: name.to_string(),
            ranker,
            profile_name: profile.as_ref().map_or("none".to_string(), |p| p.name.as_str().to_string()),
            refresh,
            profile: profile.map(compile),
            neutral: compile(ProfileConfig::neutral("neutral")),
            reference: compile(Platform::X.config()),
        }
    }

    /// Every policy of a comparison, in report order.
    pub fn all() -> Vec<Policy> {
        let mut v = vec![
            Policy::new("chronological", Ranker::Chronological, None, Refresh::PerItem),
            Policy::new("engagement_only", Ranker::Core, Some(engagement_only_config()), Refresh::PerItem),
        ];
        for p in Platform::ALL {
            v.push(Policy::new(p.name(), Ranker::Core, Some(p.config()), Refresh::PerItem));
        }
        v.push(Policy::new("oracle", Ranker::Oracle, None, Refresh::PerItem));
        v.push(Policy::new(
            "tiktok_on_device",
            Ranker::Core,
            Some(Platform::TikTok.config()),
            Refresh::PerItemReranked,
        ));
        v.push(Policy::new("tiktok_server_only", Ranker::Core, Some(Platform::TikTok.config()), Refresh::PerSession));
        v
    }

    /// Extra policies, run only when asked for by name.
    ///
    /// `tiktok_no_learning`: the TikTok profile on a device whose user state never learns
    /// from feedback (it only remembers what was shown): what learning is worth at all.
    pub fn optional() -> Vec<Policy> {
        vec![Policy::new("tiktok_no_learning", Ranker::Core, Some(Platform::TikTok.config()), Refresh::Never)]
    }

    /// Names of [`Policy::all`] and [`Policy::optional`].
    pub fn names() -> Vec<String> {
        Policy::all().into_iter().chain(Policy::optional()).map(|p| p.name).collect()
    }

    /// The policies a run selects: all defaults when `names` is empty, else those named (in
    /// the default order, optional ones last).
    pub fn select(names: &[String]) -> Vec<Policy> {
        if names.is_empty() {
            return Policy::all();
        }
        Policy::all().into_iter().chain(Policy::optional()).filter(|p| names.contains(&p.name)).collect()
    }

    /// Sets the light-pass shortlist of a policy ranked with a platform profile (others, whose
    /// profiles score every candidate, are left as they are).
    pub fn set_shortlist(&mut self, shortlist: u16) {
        if let Some(p) = &mut self.profile {
            if p.config().shortlist != 0 {
                *p = compile(ProfileConfig { shortlist, ..p.config().clone() });
            }
        }
    }

    /// Whether integrity rules are active.
    pub fn integrity(&self) -> bool {
        self.profile.as_ref().is_some_and(|p| p.config().integrity.enabled)
    }

    /// The profile whose integrity rules the diagnostics report: this policy's when it has
    /// integrity on, otherwise X's (the rules all built-in profiles share).
    pub fn integrity_profile(&self) -> &Profile {
        match &self.profile {
            Some(p) if p.config().integrity.enabled => p,
            _ => &self.reference,
        }
    }

    /// The profile that decides hard filters for this policy.
    pub fn filter_profile(&self) -> &Profile {
        self.profile.as_ref().unwrap_or(&self.neutral)
    }

    /// Ranks one page of at most `k` items from `batch`. `relevance[i]` is the ground truth of
    /// candidate i (negative when the device would filter it); only the oracle reads it.
    pub fn rank_page(
        &self,
        model: &Model,
        user: &UserState,
        now: u32,
        batch: &[Candidate],
        relevance: &[f64],
        k: usize,
    ) -> Vec<(usize, Placement)> {
        self.rank_page_after(model, user, now, batch, relevance, &[], k)
    }

    /// [`Policy::rank_page`] for the rest of a page after its `shown` items (the core
    /// continues the page: `rank_after`; the other rankers leave the shown items out).
    #[allow(clippy::too_many_arguments)]
    pub fn rank_page_after(
        &self,
        model: &Model,
        user: &UserState,
        now: u32,
        batch: &[Candidate],
        relevance: &[f64],
        shown: &[ShownItem],
        k: usize,
    ) -> Vec<(usize, Placement)> {
        let unshown = |i: &usize| !shown.iter().any(|s| s.item_id == batch[*i].item_id);
        match self.ranker {
            Ranker::Core => {
                let profile = self.profile.as_ref().expect("core policies have a profile");
                let ctx = RankContext { model, profile, user, now };
                let feed =
                    rank_after::<MAX_BATCH, MAX_PAGE>(&ctx, batch, shown, k).expect("batch and page within capacity");
                feed.items.iter().map(|it| (it.index as usize, it.placement)).collect()
            }
            Ranker::Chronological => {
                let mut idx: Vec<usize> = (0..batch.len())
                    .filter(|&i| !batch[i].flags.sponsored() && admit(&batch[i], user, &self.neutral, now).is_ok())
                    .filter(unshown)
                    .collect();
                idx.sort_by(|&a, &b| {
                    let (ca, cb) = (&batch[a], &batch[b]);
                    cb.flags
                        .in_network()
                        .cmp(&ca.flags.in_network())
                        .then(cb.created_at.cmp(&ca.created_at))
                        .then(a.cmp(&b))
                });
                idx.truncate(k);
                idx.into_iter().map(|i| (i, Placement::Ranked)).collect()
            }
            Ranker::Oracle => {
                let mut idx: Vec<usize> = (0..batch.len()).filter(|&i| relevance[i] >= 0.0).filter(unshown).collect();
                idx.sort_by(|&a, &b| relevance[b].total_cmp(&relevance[a]).then(a.cmp(&b)));
                idx.truncate(k);
                idx.into_iter()
                    .map(|i| {
                        let p = if batch[i].flags.sponsored() { Placement::Sponsored } else { Placement::Ranked };
                        (i, p)
                    })
                    .collect()
            }
        }
    }
}
