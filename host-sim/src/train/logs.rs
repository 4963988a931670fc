//! Training logs: one policy's sessions over a simulated world, with every consumed item
//! recorded as a [`LoggedView`] (the model inputs the device built, and the outcome).
//!
//! The loop is the comparison's (`sim::run_policy`) without its metrics: time advances in
//! ticks, each tick's sessions run in parallel (one task per user) on the same server
//! snapshot, and their views are merged back in user order, so the logs do not depend on the
//! number of threads.

use edgerank_core::model::Model;
use edgerank_core::pipeline::features;
use edgerank_core::state::UserState;
use rayon::prelude::*;

use crate::policy::Policy;
use crate::server::{RateBasis, Server};
use crate::session::{run_session, LoggedView, SessionEnv, TaskOut, UserDyn};
use crate::sim::Progress;
use crate::world::behaviour::Outcome;
use crate::world::inauthentic::ScriptedEvent;
use crate::world::World;

/// How the logging sessions run.
#[derive(Clone, Copy, Debug)]
pub struct LogSettings {
    /// Items per page.
    pub page_size: usize,
    /// Candidates per session.
    pub batch_size: usize,
    /// Tick length, seconds.
    pub tick_s: u32,
    /// Author engagement-rate basis.
    pub author_rate: RateBasis,
    /// Also log every scripted inauthentic action after the warm-up (see [`scripted_view`]).
    pub scripted: bool,
}

/// A scripted inauthentic action (pod member, sock puppet, reshare bot) as a logged row. A
/// platform cannot tell these accounts' likes from a real user's, so its engagement logs hold
/// them too: the row has the model inputs the acting account's device would have built for
/// the item at that moment (the server's counters just before the action, the item's age,
/// an empty [`UserState`]: the world simulates no history for these accounts, nor their
/// follow graph, so the item is out of network), and the action as the outcome (like,
/// comment and share bits; the view's watch ratio; completed at a ratio of 1 or more, as the
/// server counts it; nothing else).
pub fn scripted_view(world: &World, server: &Server<'_>, e: &ScriptedEvent) -> LoggedView {
    use crate::world::inauthentic::what;
    let it = &world.items[e.item as usize];
    let c = server.candidate(e.item, e.at, false);
    let x = features::build(&c, &UserState::new(), e.at.saturating_sub(it.created_at));
    let ratio = e.ratio_milli as f64 / 1000.0;
    let played_s = ratio * it.duration_ms as f64 / 1000.0;
    let outcome = Outcome {
        ratio,
        played_s,
        completed: e.ratio_milli >= 1000,
        like: e.what & what::LIKE != 0,
        comment: e.what & what::COMMENT != 0,
        share: e.what & what::SHARE != 0,
        ..Outcome::default()
    };
    LoggedView { user: e.actor, session: e.item, x, duration_ms: it.duration_ms, played_s, outcome, scripted: true }
}

/// Runs `policy` (ranking with `model`) over the whole world and returns the logged views of
/// sessions that start after the warm-up, in (tick, user, session, position) order; with
/// `scripted`, each tick's scripted actions (in time order) come before its sessions' views.
/// A scripted row is its own (actor, item) group, so it adds next to no pairs to the
/// within-session watch-time XAUC.
pub fn collect(
    world: &World,
    policy: &Policy,
    model: &Model,
    s: &LogSettings,
    progress: &dyn Progress,
) -> Vec<LoggedView> {
    let mut server = Server::new(world, s.author_rate);
    let mut users: Vec<UserDyn> = world.users.iter().map(|u| UserDyn::new(&u.initial_follows)).collect();
    let mut log = Vec::new();
    let mut cursor = 0;
    let mut t0 = world.start;
    let ticks = (world.end - world.start).div_ceil(s.tick_s) as u64;
    progress.phase("logging", ticks);
    while t0 < world.end {
        let t1 = t0 + s.tick_s;
        if s.scripted {
            server.advance_observed(t0, |srv, e| {
                if e.at >= world.warmup_end {
                    log.push(scripted_view(world, srv, e));
                }
            });
        } else {
            server.advance(t0);
        }
        let lo = cursor;
        while cursor < world.sessions.len() && world.sessions[cursor].start < t1 {
            cursor += 1;
        }
        let plans = &world.sessions[lo..cursor];
        let mut mine: Vec<Vec<usize>> = vec![Vec::new(); users.len()];
        for (i, p) in plans.iter().enumerate() {
            mine[p.user as usize].push(i);
        }
        let env =
            SessionEnv { world, server: &server, model, policy, page_size: s.page_size, batch_size: s.batch_size };
        let outs: Vec<TaskOut> = users
            .par_iter_mut()
            .zip(mine.par_iter())
            .filter(|(_, m)| !m.is_empty())
            .map(|(u, m)| {
                let mut out = TaskOut { log: Some(Vec::new()), ..TaskOut::default() };
                for &i in m {
                    run_session(&env, &plans[i], u, &mut out);
                }
                out
            })
            .collect();
        for out in outs {
            for d in &out.deltas {
                server.apply(d);
            }
            log.extend(out.log.unwrap_or_default());
        }
        progress.inc(1);
        t0 = t1;
    }
    log
}
