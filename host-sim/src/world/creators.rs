//! Creator accounts: audience size, quality, cadence, and which of them amplify inauthentically.

use serde::Serialize;

use super::{topic_weights, GroupCounts, User, WorldParams, WORLD_TOPICS};
use crate::rng::{self, Stream};
use crate::session::SMALL_FOLLOWERS;

/// What kind of account a creator is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum CreatorKind {
    /// An ordinary creator.
    Honest,
    /// Posts only paid placements.
    Advertiser,
    /// Posts on a clockwork schedule; a network of reshare bots amplifies each post.
    PostingBot,
    /// Bought tens of thousands of followers that never engage.
    BoughtFollowers,
    /// Follows thousands of accounts to harvest follow-backs.
    FollowFarm,
    /// Member of an engagement pod: every member engages every other member's posts at once.
    PodMember,
    /// Pays a coordinated group of sock puppets to like and reshare each post within minutes.
    CampaignClient,
}

impl CreatorKind {
    /// Every kind.
    pub const ALL: [CreatorKind; 7] = [
        CreatorKind::Honest,
        CreatorKind::Advertiser,
        CreatorKind::PostingBot,
        CreatorKind::BoughtFollowers,
        CreatorKind::FollowFarm,
        CreatorKind::PodMember,
        CreatorKind::CampaignClient,
    ];
    /// The inauthentic kinds, in report order.
    pub const INAUTHENTIC: [CreatorKind; 5] = [
        CreatorKind::PodMember,
        CreatorKind::BoughtFollowers,
        CreatorKind::PostingBot,
        CreatorKind::FollowFarm,
        CreatorKind::CampaignClient,
    ];

    /// Whether the account amplifies itself inauthentically.
    pub const fn is_inauthentic(self) -> bool {
        !matches!(self, CreatorKind::Honest | CreatorKind::Advertiser)
    }

    /// Index into [`Self::INAUTHENTIC`], if inauthentic.
    pub const fn inauthentic_index(self) -> Option<usize> {
        match self {
            CreatorKind::PodMember => Some(0),
            CreatorKind::BoughtFollowers => Some(1),
            CreatorKind::PostingBot => Some(2),
            CreatorKind::FollowFarm => Some(3),
            CreatorKind::CampaignClient => Some(4),
            _ => None,
        }
    }

    /// snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            CreatorKind::Honest => "honest",
            CreatorKind::Advertiser => "advertiser",
            CreatorKind::PostingBot => "posting_bot",
            CreatorKind::BoughtFollowers => "bought_followers",
            CreatorKind::FollowFarm => "follow_farm",
            CreatorKind::PodMember => "engagement_pod",
            CreatorKind::CampaignClient => "coordinated_group",
        }
    }
}

/// What a creator mostly posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Mostly short videos.
    VideoFirst,
    /// Mostly images.
    PhotoFirst,
    /// Mostly text and links.
    TextFirst,
    /// Spam: reposted clips, links, images.
    Spam,
}

/// One creator account.
#[derive(Clone, Debug)]
pub struct Creator {
    /// Kind.
    pub kind: CreatorKind,
    /// Pod, campaign or bot network index (`u32::MAX` for none).
    pub group: u32,
    /// Honest creator posting at fixed daily times (a scheduling tool).
    pub scheduled: bool,
    /// Latent audience appeal (Pareto): drives who follows them.
    pub size: f64,
    /// Latent content quality (honest creators ~ N(0, 1)).
    pub quality: f64,
    /// Propensity of their content to be reported, [0, 1].
    pub spam: f64,
    /// Primary and secondary topic.
    pub topics: [u8; 2],
    /// Content format.
    pub format: Format,
    /// Mean posts per day.
    pub posts_per_day: f64,
    /// Clockwork posting period, seconds (posting bots and scheduled honest creators).
    pub period_s: u32,
    /// Phase of the schedule within a period, seconds.
    pub phase_s: u32,
    /// Account age at the simulation start, days.
    pub age0_days: f64,
    /// Accounts the creator follows.
    pub followings: u32,
    /// Followers outside the simulated audience who never open this feed (inactive accounts).
    pub dormant_followers: u32,
    /// Purchased followers (never engage).
    pub fake_followers: u32,
    /// Follow-backs harvested by a follow farm.
    pub reciprocal_followers: u32,
    /// Simulated users following at the start.
    pub initial_active_followers: u32,
}

impl Creator {
    /// Followers that are not simulated users (dormant, bought and harvested).
    pub fn static_followers(&self) -> u32 {
        self.dormant_followers + self.fake_followers + self.reciprocal_followers
    }

    /// An honest creator with at most [`SMALL_FOLLOWERS`] followers at the start (simulated
    /// and static): whose reach `small_creator_reach` and the small-creator reach curves
    /// follow.
    pub fn is_small_honest(&self) -> bool {
        self.kind == CreatorKind::Honest && self.initial_active_followers + self.static_followers() <= SMALL_FOLLOWERS
    }
}

/// Group membership decided with the creators.
#[derive(Clone, Debug, Default)]
pub struct GroupsPlan {
    /// Members of each pod.
    pub pods: Vec<Vec<u32>>,
    /// Sock puppets of each campaign group (their actor ids are `first..first + count`).
    pub campaigns: Vec<(u32, u32)>,
    /// Reshare bots of each bot network (`first..first + count`).
    pub bot_networks: Vec<(u32, u32)>,
}

impl GroupsPlan {
    /// Counts for reports.
    pub fn counts(&self) -> GroupCounts {
        GroupCounts {
            pods: self.pods.len(),
            campaigns: self.campaigns.len(),
            puppets: self.campaigns.iter().map(|c| c.1 as usize).sum(),
            bot_networks: self.bot_networks.len(),
            reshare_bots: self.bot_networks.iter().map(|c| c.1 as usize).sum(),
        }
    }
}

fn topic_cumulative() -> Vec<f64> {
    let mut acc = 0.0;
    topic_weights()
        .iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Generates `n` creators and their groups.
pub fn generate(seed: u64, n: usize, p: &WorldParams) -> (Vec<Creator>, GroupsPlan) {
    let count = |share: f64| ((n as f64 * share).round() as usize).min(n);
    // Exact counts per kind, assigned over a seeded permutation.
    let mut kinds = Vec::with_capacity(n);
    for (kind, share) in [
        (CreatorKind::Advertiser, p.advertiser_share),
        (CreatorKind::PostingBot, p.posting_bot_share),
        (CreatorKind::BoughtFollowers, p.bought_followers_share),
        (CreatorKind::FollowFarm, p.follow_farm_share),
        (CreatorKind::PodMember, p.pod_member_share),
        (CreatorKind::CampaignClient, p.campaign_client_share),
    ] {
        kinds.extend(std::iter::repeat_n(kind, count(share)));
    }
    kinds.truncate(n);
    kinds.resize(n, CreatorKind::Honest);
    let mut perm_rng = rng::rng_for(seed, Stream::Creators, u64::MAX, 0);
    for i in (1..n).rev() {
        let j = rng::below(&mut perm_rng, i + 1);
        kinds.swap(i, j);
    }

    let topics_cum = topic_cumulative();
    let mut creators: Vec<Creator> =
        kinds.iter().enumerate().map(|(c, &kind)| make_creator(seed, c, kind, p, &topics_cum)).collect();

    // Groups.
    let mut plan = GroupsPlan::default();
    let mut grng = rng::rng_for(seed, Stream::Groups, 0, 0);
    let pod_members: Vec<u32> =
        (0..n as u32).filter(|&c| creators[c as usize].kind == CreatorKind::PodMember).collect();
    let mut i = 0;
    while i < pod_members.len() {
        let size = p.pod_size.0 + rng::below(&mut grng, p.pod_size.1 - p.pod_size.0 + 1);
        let mut end = (i + size).min(pod_members.len());
        // A tiny remainder joins the previous pod.
        if pod_members.len() - end < p.pod_size.0 / 2 {
            end = pod_members.len();
        }
        plan.pods.push(pod_members[i..end].to_vec());
        i = end;
    }
    for (g, pod) in plan.pods.iter().enumerate() {
        // Pods share a niche: members post mostly on the pod's topic.
        let topic = creators[pod[0] as usize].topics[0];
        for &m in pod {
            creators[m as usize].group = g as u32;
            creators[m as usize].topics[1] = topic;
        }
    }
    let clients: Vec<u32> =
        (0..n as u32).filter(|&c| creators[c as usize].kind == CreatorKind::CampaignClient).collect();
    let mut puppet_next = 0u32;
    let mut i = 0;
    while i < clients.len() {
        let k = (1 + rng::below(&mut grng, 3)).min(clients.len() - i);
        let puppets =
            (p.campaign_puppets.0 + rng::below(&mut grng, p.campaign_puppets.1 - p.campaign_puppets.0 + 1)) as u32;
        let g = plan.campaigns.len() as u32;
        plan.campaigns.push((puppet_next, puppets));
        puppet_next += puppets;
        for &c in &clients[i..i + k] {
            creators[c as usize].group = g;
        }
        i += k;
    }
    let bots: Vec<u32> = (0..n as u32).filter(|&c| creators[c as usize].kind == CreatorKind::PostingBot).collect();
    let mut reshare_next = 0u32;
    let mut i = 0;
    while i < bots.len() {
        let k = (2 + rng::below(&mut grng, 4)).min(bots.len() - i);
        let r = (p.reshare_bots.0 + rng::below(&mut grng, p.reshare_bots.1 - p.reshare_bots.0 + 1)) as u32;
        let g = plan.bot_networks.len() as u32;
        plan.bot_networks.push((reshare_next, r));
        reshare_next += r;
        for &c in &bots[i..i + k] {
            creators[c as usize].group = g;
        }
        i += k;
    }
    (creators, plan)
}

fn make_creator(seed: u64, c: usize, kind: CreatorKind, p: &WorldParams, topics_cum: &[f64]) -> Creator {
    let mut r = rng::rng_for(seed, Stream::Creators, c as u64, 0);
    let t0 = rng::pick_cumulative(&mut r, topics_cum) as u8;
    let t1 = if rng::chance(&mut r, 0.5) { t0 } else { rng::pick_cumulative(&mut r, topics_cum) as u8 };
    let size = rng::pareto(&mut r, 1.0, p.size_alpha).min(5_000.0);
    let pick_format = |r: &mut rng::SimRng| {
        let u = rng::unit(r);
        if u < 0.65 {
            Format::VideoFirst
        } else if u < 0.87 {
            Format::PhotoFirst
        } else {
            Format::TextFirst
        }
    };
    let mut cr = Creator {
        kind,
        group: u32::MAX,
        scheduled: false,
        size,
        quality: rng::normal(&mut r),
        spam: 0.0,
        topics: [t0, t1],
        format: pick_format(&mut r),
        posts_per_day: rng::lognormal(&mut r, 0.9, 0.8).clamp(0.1, 12.0),
        period_s: 0,
        phase_s: 0,
        age0_days: rng::lognormal(&mut r, 700.0, 0.8).clamp(30.0, 5_000.0),
        followings: rng::lognormal(&mut r, 120.0, 0.8).min(3_000.0) as u32,
        dormant_followers: 0,
        fake_followers: 0,
        reciprocal_followers: 0,
        initial_active_followers: 0,
    };
    match kind {
        CreatorKind::Honest => {
            if rng::chance(&mut r, p.new_creator_share) {
                cr.age0_days = rng::uniform(&mut r, 0.0, 30.0);
                cr.size = (cr.size * 0.3).max(1.0);
            }
            if rng::chance(&mut r, p.scheduled_share) {
                // A scheduling tool: once or twice a day at fixed times.
                cr.scheduled = true;
                cr.period_s = if rng::chance(&mut r, 0.6) { 86_400 } else { 43_200 };
                cr.phase_s = rng::below(&mut r, cr.period_s as usize) as u32;
                cr.posts_per_day = 86_400.0 / cr.period_s as f64;
            }
        }
        CreatorKind::Advertiser => {
            cr.quality = rng::normal(&mut r) * 0.6 - 0.2;
            cr.spam = 0.05;
            // Campaigns run several creatives a day.
            cr.posts_per_day = rng::lognormal(&mut r, 3.0, 0.4);
            cr.age0_days = rng::lognormal(&mut r, 1_000.0, 0.5);
        }
        CreatorKind::PostingBot => {
            cr.size = (cr.size * 0.2).max(1.0);
            cr.quality = -1.3 + 0.5 * rng::normal(&mut r);
            cr.spam = 0.8;
            cr.format = Format::Spam;
            cr.period_s = [10_800u32, 14_400, 21_600, 28_800][rng::below(&mut r, 4)];
            cr.phase_s = rng::below(&mut r, cr.period_s as usize) as u32;
            cr.posts_per_day = 86_400.0 / cr.period_s as f64;
            cr.age0_days = rng::uniform(&mut r, 2.0, 60.0);
            cr.followings = rng::lognormal(&mut r, 80.0, 1.0).min(3_000.0) as u32;
        }
        CreatorKind::BoughtFollowers => {
            cr.quality = -0.2 + 0.7 * rng::normal(&mut r);
            cr.posts_per_day = rng::lognormal(&mut r, 1.0, 0.6);
            cr.age0_days = rng::lognormal(&mut r, 400.0, 0.8).clamp(10.0, 5_000.0);
            // Log-uniform between 5k and 80k purchased followers (about 12 EUR per 1000).
            cr.fake_followers = (5_000.0 * 16f64.powf(rng::unit(&mut r))) as u32;
        }
        CreatorKind::FollowFarm => {
            cr.quality = -0.7 + 0.6 * rng::normal(&mut r);
            cr.spam = 0.45;
            cr.posts_per_day = rng::lognormal(&mut r, 2.5, 0.4);
            cr.age0_days = rng::uniform(&mut r, 5.0, 200.0);
            cr.followings = rng::uniform(&mut r, 1_500.0, 7_500.0) as u32;
            cr.reciprocal_followers = (cr.followings as f64 * rng::uniform(&mut r, 0.15, 0.35)) as u32;
        }
        CreatorKind::PodMember => {
            cr.quality = -0.1 + 0.7 * rng::normal(&mut r);
            cr.posts_per_day = rng::lognormal(&mut r, 1.2, 0.6).clamp(0.2, 8.0);
            cr.age0_days = rng::lognormal(&mut r, 800.0, 0.6);
        }
        CreatorKind::CampaignClient => {
            cr.quality = -0.3 + 0.7 * rng::normal(&mut r);
            cr.spam = 0.1;
            cr.posts_per_day = rng::lognormal(&mut r, 1.0, 0.6).clamp(0.2, 8.0);
            cr.age0_days = rng::lognormal(&mut r, 500.0, 0.8).clamp(10.0, 5_000.0);
        }
    }
    cr
}

/// After the follow graph exists: simulated followers, and dormant followers in proportion.
pub fn finish_followers(seed: u64, creators: &mut [Creator], users: &[User]) {
    for u in users {
        for &c in &u.initial_follows {
            creators[c as usize].initial_active_followers += 1;
        }
    }
    for (c, cr) in creators.iter_mut().enumerate() {
        let mut r = rng::rng_for(seed, Stream::Creators, c as u64, 1);
        // Many followers of any account never open the feed: between 0.3x and 3x the active ones.
        let ratio = rng::lognormal(&mut r, 1.0, 0.6).clamp(0.3, 3.0);
        cr.dormant_followers = (cr.initial_active_followers as f64 * ratio).round() as u32;
    }
}

/// How strongly a creator attracts follows when users' initial follows are drawn: its audience
/// size, raised by social proof (the follower count it displays, bought or not).
pub fn follow_weight(cr: &Creator) -> f64 {
    let displayed = cr.static_followers() as f64;
    cr.size * (1.0 + 0.5 * (1.0 + displayed / 100.0).log10())
}

/// Creators grouped by primary topic, with cumulative follow weights, for sampling follows.
pub struct FollowIndex {
    /// Per topic: creator ids and cumulative weights.
    pub by_topic: Vec<(Vec<u32>, Vec<f64>)>,
}

impl FollowIndex {
    /// Builds the index: weights from [`follow_weight`]; advertisers are not followed.
    pub fn new(creators: &[Creator]) -> Self {
        let mut by_topic: Vec<(Vec<u32>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); WORLD_TOPICS];
        for (c, cr) in creators.iter().enumerate() {
            if cr.kind == CreatorKind::Advertiser {
                continue;
            }
            let w = follow_weight(cr);
            let (ids, cum) = &mut by_topic[cr.topics[0] as usize];
            let prev = cum.last().copied().unwrap_or(0.0);
            ids.push(c as u32);
            cum.push(prev + w);
        }
        FollowIndex { by_topic }
    }
}
