//! One feed session, end to end.
//!
//! 1. The server gathers a candidate batch (in-network plus recommended pools) and sends the
//!    device [`Candidate`] records built from its counters.
//! 2. The device ranks a page with the policy (the core for profile policies).
//! 3. The user consumes the page item by item: each item's ground-truth response is sampled
//!    (watch, skip, like, hide, ...), turned into core [`Feedback`] events, and applied to the
//!    device's [`UserState`] at once (on-device) or at session end (server-only).
//! 4. After each item the user may leave (time spent versus intended, and recent
//!    satisfaction); otherwise, at the end of the page, the device ranks the next page from
//!    the rest of the batch.
//!
//! Everything the server should learn from the session is returned as [`Delta`]s and applied
//! at the end of the tick.

use edgerank_core::input::Candidate;
use edgerank_core::model::{Model, FEATURES};
use edgerank_core::num::Feature;
use edgerank_core::num::WatchRatio;
use edgerank_core::pipeline::explain::NoTrace;
use edgerank_core::pipeline::filter::admit;
use edgerank_core::pipeline::ShownItem;
use edgerank_core::pipeline::{features, integrity};
use edgerank_core::state::{Feedback, FeedbackKind, UserState};

use crate::metrics::{kind_slot, ndcg_at, xauc_pairs, MetricsAcc, SESSION_POSITIONS, TOP};
use crate::policy::{Policy, Ranker, Refresh};
use crate::rng::{self, Stream};
use crate::server::{bits, Delta, Server, IN_NETWORK_WINDOW_S, RECOMMEND_WINDOW_S};
use crate::world::behaviour::{response_with_taste, taste, Outcome, Viewer};
use crate::world::{CreatorKind, SessionPlan, World};

/// Seconds spent swiping between items (not watch time).
pub const SWIPE_S: f64 = 1.0;
/// Delta bit: the view happened in a measured session.
pub const MEASURED: u16 = 1 << 15;
/// Followers at or below which a creator counts as small.
pub const SMALL_FOLLOWERS: u32 = 1_000;
/// Account age below which a creator counts as new, days.
pub const NEW_DAYS: u32 = 30;

/// What one policy's world remembers about one user between sessions.
#[derive(Clone, Debug)]
pub struct UserDyn {
    /// The device's state.
    pub state: UserState,
    /// Creators followed now (sorted).
    pub follows: Vec<u32>,
    /// Authors the user hid, asked to see fewer of, or reported (ground truth: the user
    /// dislikes them from then on, whatever the device does with the feedback).
    pub disliked: Vec<u32>,
    /// Items already shown (sorted), for the server's dedupe; pruned as items age out.
    pub history: Vec<u32>,
    /// The previous session ends here.
    pub busy_until: u32,
}

impl UserDyn {
    /// A fresh user with the world's initial follows.
    pub fn new(follows: &[u32]) -> Self {
        UserDyn {
            state: UserState::new(),
            follows: follows.to_vec(),
            disliked: Vec::new(),
            history: Vec::new(),
            busy_until: 0,
        }
    }
}

/// Read-only context of the sessions of one tick.
pub struct SessionEnv<'a> {
    /// World.
    pub world: &'a World,
    /// The policy's server (counters as of the tick start).
    pub server: &'a Server<'a>,
    /// Model.
    pub model: &'a Model,
    /// Policy.
    pub policy: &'a Policy,
    /// Items per page.
    pub page_size: usize,
    /// Candidates per batch.
    pub batch_size: usize,
}

/// What the sessions of one user in one tick produced.
#[derive(Default)]
pub struct TaskOut {
    /// Views to log on the server (bit [`MEASURED`] marks measured sessions).
    pub deltas: Vec<Delta>,
    /// Metrics of measured sessions.
    pub acc: MetricsAcc,
    /// Sessions run (measured or not).
    pub sessions: u64,
    /// Training log of measured sessions, kept only when `Some` (the `train` command).
    pub log: Option<Vec<LoggedView>>,
}

/// One consumed item as a training example: the model inputs exactly as the device built
/// them when it ranked the page (`features::build` with that moment's user state), and what
/// the user then did.
#[derive(Clone, Copy, Debug)]
pub struct LoggedView {
    /// User index.
    pub user: u32,
    /// Session index of that user (user and session identify the session).
    pub session: u32,
    /// Model inputs.
    pub x: [Feature; FEATURES],
    /// Content duration, ms (the debiased head's bucket).
    pub duration_ms: u32,
    /// Seconds watched or read.
    pub played_s: f64,
    /// What happened.
    pub outcome: Outcome,
    /// A scripted inauthentic account's action (pod member, sock puppet, reshare bot), logged
    /// as the platform would log it (`user` is then the actor id), not a simulated user's view.
    pub scripted: bool,
}

/// Ground truth of everything the device may show at `now`: `truth[i]`, or -1 where the
/// device's hard filters would drop candidate i.
fn admitted_relevance(cands: &[Candidate], truth: &[f64], state: &UserState, policy: &Policy, now: u32) -> Vec<f64> {
    cands
        .iter()
        .zip(truth)
        .map(|(c, &r)| if admit(c, state, &policy.neutral, now).is_err() { -1.0 } else { r })
        .collect()
}

fn feedback_kinds(o: &Outcome) -> impl Iterator<Item = FeedbackKind> {
    let first = if o.skipped {
        FeedbackKind::Skip
    } else {
        FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(o.ratio) }
    };
    [
        (true, first),
        (o.like, FeedbackKind::Like),
        (o.comment, FeedbackKind::Comment),
        (o.share, FeedbackKind::Share),
        (o.save, FeedbackKind::Save),
        (o.follow, FeedbackKind::Follow),
        (o.visit, FeedbackKind::ProfileVisit),
        (o.hide, FeedbackKind::Hide),
        (o.see_fewer, FeedbackKind::SeeFewer),
        (o.report, FeedbackKind::Report),
    ]
    .into_iter()
    .filter_map(|(on, k)| on.then_some(k))
}

fn delta_bits(o: &Outcome) -> u16 {
    let mut b = 0;
    let mut set = |on: bool, bit: u16| {
        if on {
            b |= bit;
        }
    };
    set(o.skipped, bits::SKIP);
    set(o.completed, bits::COMPLETE);
    set(o.rewatched, bits::REWATCH);
    set(o.like, bits::LIKE);
    set(o.comment, bits::COMMENT);
    set(o.share, bits::SHARE);
    set(o.save, bits::SAVE);
    set(o.hide || o.see_fewer || o.report, bits::NEGATIVE);
    set(o.follow, bits::FOLLOW);
    b
}

/// Drops the entries marked served, keeping the order of the rest.
fn remove_served<T>(v: &mut Vec<T>, served: &[bool]) {
    let mut k = 0;
    v.retain(|_| {
        k += 1;
        !served[k - 1]
    });
}

/// Runs one session of `plan` for user `u`.
pub fn run_session(env: &SessionEnv<'_>, plan: &SessionPlan, u: &mut UserDyn, out: &mut TaskOut) {
    let w = env.world;
    let user = &w.users[plan.user as usize];
    let start = plan.start.max(u.busy_until);
    let measured = plan.start >= w.warmup_end;
    let mut rng = rng::rng_for(w.seed, Stream::Session, plan.user as u64, plan.index as u64);
    let mut server_rng = rng::rng_for(w.seed, Stream::Server, plan.user as u64, plan.index as u64);
    out.sessions += 1;

    // The server forgets impressions of items that can no longer be candidates.
    let window = RECOMMEND_WINDOW_S.max(IN_NETWORK_WINDOW_S);
    let min_live = w.items.partition_point(|i| i.created_at + window < start) as u32;
    u.history.retain(|&id| id >= min_live);

    let mut ids = env.server.gather(start, &u.follows, &u.state, &u.history, env.batch_size, &mut server_rng);
    let mut cands: Vec<Candidate> = ids
        .iter()
        .map(|&id| {
            let creator = w.items[id as usize].creator;
            env.server.candidate(id, start, u.follows.binary_search(&creator).is_ok())
        })
        .collect();
    let mut tastes: Vec<f64> = ids.iter().map(|&id| taste(w, plan.user, id)).collect();
    // Ground-truth relevance at the session start. Within a session only follows and dislikes
    // change it noticeably (staleness moves it by well under 1 % in an hour), so it is
    // recomputed for an author's items when the user follows or dislikes them.
    let relevance_of = |u: &UserDyn, i: usize, at: u32, cands: &[Candidate], ids: &[u32], tastes: &[f64]| {
        let viewer = Viewer { user_idx: plan.user, user, follows: &u.follows, disliked: &u.disliked, plan };
        response_with_taste(w, &viewer, ids[i], at, cands[i].author.followers, cands[i].global.likes, tastes[i])
            .relevance()
    };
    let mut truth: Vec<f64> = (0..ids.len()).map(|i| relevance_of(u, i, start, &cands, &ids, &tastes)).collect();
    let acc = &mut out.acc;
    if measured {
        acc.candidates += ids.len() as u64;
        acc.candidates_inauthentic += ids.iter().filter(|&&id| w.item_inauthentic(id)).count() as u64;
        let profile = env.policy.integrity_profile();
        for (c, &id) in cands.iter().zip(&ids) {
            let Some(k) = kind_slot(w.creators[w.items[id as usize].creator as usize].kind) else {
                continue;
            };
            let factor = integrity::factor(profile, c, &mut NoTrace);
            let f = factor.to_f64();
            acc.dropped_by_kind[k] += (factor < integrity::DROP_BELOW) as u64;
            acc.cand_by_kind[k] += 1;
            acc.flagged_by_kind[k] += (f < 1.0) as u64;
            acc.demoted_by_kind[k] += (f <= 0.5) as u64;
            acc.factor_sum_by_kind[k] += f;
        }
    }

    let rerank = env.policy.refresh == Refresh::PerItemReranked;
    let per_item = env.policy.refresh == Refresh::PerItem || rerank;
    let mut pending: Vec<Feedback> = Vec::new();
    let mut elapsed = 0.0f64;
    let mut sat = user.threshold as f64 + 0.2;
    let mut position = 0usize;
    let mut watched: Vec<(f64, f64)> = Vec::new();
    let hard_cap = (plan.budget_s as f64 * 3.0).min(7_200.0);
    let budget = plan.budget_s as f64;
    let mut quit = false;
    let mut first_page = true;

    while !quit && !cands.is_empty() {
        let now = start + elapsed as u32;
        let relevance = admitted_relevance(&cands, &truth, &u.state, env.policy, now);
        let mut page = env.policy.rank_page(env.model, &u.state, now, &cands, &relevance, env.page_size);
        if let Some(device) = env.server.observer() {
            device.ranked(plan.user, &u.state, now, &cands, &[], env.page_size, &page);
        }
        if page.is_empty() {
            break;
        }
        if measured {
            // NDCG judges the ranking against the relevance it was made with: the page as
            // first ranked. With a page shorter than 10, NDCG@page (the ideal has as many terms
            // as the page has positions).
            let shown: Vec<f64> = page.iter().map(|&(i, _)| relevance[i].max(0.0)).collect();
            let mut pool: Vec<f64> = relevance.iter().copied().filter(|r| *r >= 0.0).collect();
            if let Some(n) = ndcg_at(&shown, &mut pool, TOP.min(env.page_size)) {
                acc.ndcg_sum += n;
                acc.ndcg_pages += 1;
            }
        }
        let was_first_page = first_page;
        first_page = false;
        // Items of this page dropped before display (an author muted earlier on the page).
        let mut dropped: Vec<usize> = Vec::new();
        // The model's inputs and watch-time prediction, from the state the page was ranked with.
        let mut inputs: Vec<[Feature; FEATURES]> = page
            .iter()
            .map(|&(i, _)| {
                let c = &cands[i];
                features::build(c, &u.state, now.saturating_sub(c.created_at))
            })
            .collect();
        let mut predicted: Vec<f64> = inputs.iter().map(|x| env.model.evaluate(x).watch_time().to_f64()).collect();

        let mut p = 0;
        while p < page.len() {
            let i = page[p].0;
            p += 1;
            let t = start + elapsed as u32;
            let c = &cands[i];
            let id = ids[i];
            // On device, an author muted or hidden earlier on this page is dropped at once.
            if per_item && admit(c, &u.state, env.policy.filter_profile(), t).is_err() {
                dropped.push(i);
                continue;
            }
            let viewer = Viewer { user_idx: plan.user, user, follows: &u.follows, disliked: &u.disliked, plan };
            let resp = response_with_taste(w, &viewer, id, t, c.author.followers, c.global.likes, tastes[i]);
            let o = resp.sample(&mut rng);
            let s = o.satisfaction();

            for kind in feedback_kinds(&o) {
                let fb = Feedback { item_id: id, author_id: c.author_id, topic: c.topic, at: t, kind };
                if per_item {
                    if let Some(device) = env.server.observer() {
                        device.feedback(plan.user, &fb);
                    }
                    if u.state.apply(&fb).is_err() && measured {
                        acc.feedback_refused += 1;
                    }
                } else {
                    pending.push(fb);
                }
            }
            let mut changed = false;
            if o.follow {
                if let Err(pos) = u.follows.binary_search(&c.author_id) {
                    u.follows.insert(pos, c.author_id);
                    changed = true;
                }
            }
            if (o.hide || o.see_fewer || o.report) && !u.disliked.contains(&c.author_id) {
                u.disliked.push(c.author_id);
                changed = true;
            }
            if changed {
                let author = c.author_id;
                for j in 0..cands.len() {
                    if cands[j].author_id == author {
                        truth[j] = relevance_of(u, j, t, &cands, &ids, &tastes);
                    }
                }
            }
            u.history.push(id);
            out.deltas.push(Delta {
                item: id,
                at: t,
                actor: plan.user,
                bits: delta_bits(&o) | if measured { MEASURED } else { 0 },
                ratio_milli: (o.ratio * 1000.0).round().min(u32::MAX as f64) as u32,
            });

            if measured {
                let cr = &w.creators[c.author_id as usize];
                acc.impressions += 1;
                acc.watch_s += o.played_s;
                if c.kind.is_video() {
                    acc.video_impressions += 1;
                    acc.video_completions += o.completed as u64;
                }
                acc.skips += o.skipped as u64;
                acc.likes += o.like as u64;
                acc.comments += o.comment as u64;
                acc.shares += o.share as u64;
                acc.saves += o.save as u64;
                acc.follows += o.follow as u64;
                acc.visits += o.visit as u64;
                acc.hides += o.hide as u64;
                acc.see_fewer += o.see_fewer as u64;
                acc.reports += o.report as u64;
                acc.satisfaction += s;
                if c.flags.sponsored() {
                    acc.sponsored_impressions += 1;
                } else {
                    acc.organic_impressions += 1;
                    if cr.kind == CreatorKind::Honest {
                        // Small at the start, as the reach curves count them: the followers
                        // an item shows grow with what the policy does for its creator.
                        acc.small_impressions += cr.is_small_honest() as u64;
                        acc.new_impressions += (c.author.account_age_days < NEW_DAYS) as u64;
                    }
                }
                acc.inauthentic_impressions += cr.kind.is_inauthentic() as u64;
                if position < SESSION_POSITIONS {
                    acc.pos_watch[position] += o.played_s;
                }
                watched.push((predicted[p - 1], o.played_s));
                if let Some(log) = out.log.as_mut() {
                    log.push(LoggedView {
                        user: plan.user,
                        session: plan.index,
                        x: inputs[p - 1],
                        duration_ms: c.duration_ms,
                        played_s: o.played_s,
                        outcome: o,
                        scripted: false,
                    });
                }
            }
            position += 1;
            elapsed += o.played_s + SWIPE_S;

            // Leave? The hazard grows as time spent passes what the user meant to spend and
            // falls with recent satisfaction; a run of bad items makes the user give up.
            sat = 0.75 * sat + 0.25 * s;
            let dt = o.played_s + SWIPE_S;
            let hazard = user.quit_rate as f64 / budget
                * (1.5 * (elapsed / budget - 1.0)).exp()
                * (-2.5 * (sat - user.threshold as f64)).exp();
            let mut p_quit = 1.0 - (-hazard * dt).exp() + 0.002;
            if sat < user.threshold as f64 - 0.35 {
                p_quit = p_quit.max(0.25);
            }
            if rng::chance(&mut rng, p_quit) || elapsed > hard_cap {
                quit = true;
                break;
            }
            if rerank && p < page.len() {
                // On-device re-ranking: the rest of the page is ranked again from the whole
                // batch with the state this item's feedback just updated.
                let t = start + elapsed as u32;
                // Only the oracle ranks by relevance (NDCG describes each page as first
                // ranked): the core's re-rank skips a filter pass over the batch.
                let relevance = if env.policy.ranker == Ranker::Oracle {
                    admitted_relevance(&cands, &truth, &u.state, env.policy, t)
                } else {
                    Vec::new()
                };
                // The page continues after the items shown: they count for its rules (author
                // and kind diversity, network rules, sponsored and exploration slots, whose
                // positions go on), and none is placed again. Items dropped before display
                // were not shown.
                let shown: Vec<ShownItem> = page[..p]
                    .iter()
                    .filter(|(i, _)| !dropped.contains(i))
                    .map(|&(i, placement)| ShownItem::of(&cands[i], placement))
                    .collect();
                let rest =
                    env.policy.rank_page_after(env.model, &u.state, t, &cands, &relevance, &shown, page.len() - p);
                if let Some(device) = env.server.observer() {
                    device.ranked(plan.user, &u.state, t, &cands, &shown, page.len() - p, &rest);
                }
                page.truncate(p);
                page.extend(rest);
                inputs.truncate(p);
                predicted.truncate(p);
                for &(i, _) in &page[p..] {
                    let c = &cands[i];
                    let x = features::build(c, &u.state, t.saturating_sub(c.created_at));
                    predicted.push(env.model.evaluate(&x).watch_time().to_f64());
                    inputs.push(x);
                }
            }
        }
        if measured {
            // The page as served: with on-device re-ranking, its positions after the last item
            // shown are the last re-rank's, not the first ranking's.
            let served: Vec<usize> = page.iter().map(|&(i, _)| i).filter(|i| !dropped.contains(i)).collect();
            let mood = served.iter().filter(|&&i| plan.in_mood(cands[i].topic)).count() as u64;
            if was_first_page {
                acc.first_page_items += served.len() as u64;
                acc.first_page_mood += mood;
            } else {
                acc.later_page_items += served.len() as u64;
                acc.later_page_mood += mood;
            }
            acc.pages += 1;
            let mut authors: Vec<u32> = Vec::with_capacity(TOP);
            for &i in served.iter().take(TOP) {
                let c = &cands[i];
                acc.top_slots += 1;
                if let Some(k) = w.creators[c.author_id as usize].kind.inauthentic_index() {
                    acc.top_inauthentic += 1;
                    acc.top_by_kind[k] += 1;
                }
                acc.top_sponsored += c.flags.sponsored() as u64;
                if !authors.contains(&c.author_id) {
                    authors.push(c.author_id);
                }
            }
            acc.distinct_authors += authors.len() as u64;
        }
        // The page is served: it leaves the batch whether or not every item was reached.
        let mut served = vec![false; cands.len()];
        for &(i, _) in &page {
            served[i] = true;
        }
        remove_served(&mut cands, &served);
        remove_served(&mut ids, &served);
        remove_served(&mut tastes, &served);
        remove_served(&mut truth, &served);
    }

    if env.policy.refresh == Refresh::Never {
        pending.retain(|f| matches!(f.kind, FeedbackKind::Impression { .. } | FeedbackKind::Skip));
        // Keep only the seen-set effect: a neutral impression leaves interests almost unchanged.
        for f in pending.iter_mut() {
            f.kind = FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(0.5) };
        }
    }
    for fb in &pending {
        if let Some(device) = env.server.observer() {
            device.feedback(plan.user, fb);
        }
        if u.state.apply(fb).is_err() && measured {
            acc.feedback_refused += 1;
        }
    }
    u.history.sort_unstable();
    u.history.dedup();
    u.busy_until = start + elapsed as u32 + 1;
    if measured {
        acc.sessions += 1;
        acc.elapsed_s += elapsed;
        let (c, n) = xauc_pairs(&watched);
        acc.xauc_concordant += c;
        acc.xauc_pairs += n;
    }
}
