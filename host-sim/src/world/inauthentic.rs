//! Scripted inauthentic amplification. These accounts do not browse the feed: they act on
//! their targets' posts on their own schedule, the same way under every ranking policy.
//!
//! - Engagement pods: every other member likes (and often comments on, sometimes reshares)
//!   each member's post within 1-9 minutes of publication.
//! - Coordinated groups: 20-60 sock puppets like and reshare each client post within minutes.
//! - Reshare bots: each bot of a posting-bot network runs on a 20-minute cron and reshares
//!   (and often likes) every new post of its network at its next run.
//!
//! Bought followers and follow-back farms need no script: they change follower counts only.

use super::actor;
use super::creators::{Creator, CreatorKind, GroupsPlan};
use super::items::Item;
use crate::rng::{self, Stream};

/// Bits of [`ScriptedEvent::what`].
pub mod what {
    /// Liked.
    pub const LIKE: u8 = 1;
    /// Commented.
    pub const COMMENT: u8 = 2;
    /// Reshared.
    pub const SHARE: u8 = 4;
}

/// One scripted action on an item (it also counts as a view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptedEvent {
    /// When (core clock).
    pub at: u32,
    /// Item id.
    pub item: u32,
    /// Acting account (see [`actor`]).
    pub actor: u32,
    /// [`what`] bits.
    pub what: u8,
    /// Played / duration of the accompanying view, in thousandths.
    pub ratio_milli: u16,
}

/// Scripts every inauthentic action on every item.
pub fn script(seed: u64, creators: &[Creator], plan: &GroupsPlan, items: &[Item]) -> Vec<ScriptedEvent> {
    let mut out = Vec::new();
    for (id, it) in items.iter().enumerate() {
        let cr = &creators[it.creator as usize];
        if it.sponsored {
            continue;
        }
        let mut r = rng::rng_for(seed, Stream::Script, id as u64, 0);
        let item = id as u32;
        let mut push = |at: u32, actor: u32, what: u8, r: &mut rng::SimRng| {
            out.push(ScriptedEvent {
                at,
                item,
                actor,
                what,
                ratio_milli: (rng::uniform(r, 0.15, 1.1) * 1000.0) as u16,
            });
        };
        match cr.kind {
            CreatorKind::PodMember => {
                for &m in &plan.pods[cr.group as usize] {
                    if m == it.creator || !rng::chance(&mut r, 0.9) {
                        continue;
                    }
                    let mut w = what::LIKE;
                    if rng::chance(&mut r, 0.45) {
                        w |= what::COMMENT;
                    }
                    if rng::chance(&mut r, 0.15) {
                        w |= what::SHARE;
                    }
                    let at = it.created_at + rng::uniform(&mut r, 60.0, 540.0) as u32;
                    push(at, actor::CREATOR | m, w, &mut r);
                }
            }
            CreatorKind::CampaignClient => {
                let (first, count) = plan.campaigns[cr.group as usize];
                for p in first..first + count {
                    if !rng::chance(&mut r, 0.85) {
                        continue;
                    }
                    let mut w = what::LIKE;
                    if rng::chance(&mut r, 0.55) {
                        w |= what::SHARE;
                    }
                    if rng::chance(&mut r, 0.15) {
                        w |= what::COMMENT;
                    }
                    let at = it.created_at + rng::uniform(&mut r, 30.0, 600.0) as u32;
                    push(at, actor::PUPPET | p, w, &mut r);
                }
            }
            CreatorKind::PostingBot => {
                let (first, count) = plan.bot_networks[cr.group as usize];
                for b in first..first + count {
                    // Cron every 20 minutes with a per-bot phase.
                    let period = 1_200u32;
                    let phase = (rng::mix64(seed ^ b as u64) % period as u64) as u32;
                    let k = (it.created_at.saturating_sub(phase)).div_ceil(period);
                    let at = (k * period + phase).max(it.created_at + 1);
                    let mut w = what::SHARE;
                    if rng::chance(&mut r, 0.5) {
                        w |= what::LIKE;
                    }
                    push(at, actor::RESHARE_BOT | b, w, &mut r);
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(|e| (e.at, e.item, e.actor));
    out
}
