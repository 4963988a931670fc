//! What the server sends the device about each candidate item.
//!
//! These are plain data: every field accepts any value. Odd values (zero or huge durations,
//! future timestamps, counters that contradict each other) get a defined meaning in the
//! pipeline's filters and feature builders, never a panic.

use serde::{Deserialize, Serialize};

use crate::num::{Prob, WatchRatio};

/// Number of topics the device tracks interest for. Topic ids at or above this are "unknown".
pub const TOPICS: usize = 64;

/// What an item is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ContentKind {
    /// A text post.
    #[default]
    Text = 0,
    /// One or more images.
    Image = 1,
    /// A short video (up to a few minutes).
    ShortVideo = 2,
    /// A long video.
    LongVideo = 3,
    /// A link to an article or page.
    Link = 4,
    /// A live stream.
    Live = 5,
}

impl ContentKind {
    /// Number of kinds.
    pub const COUNT: usize = 6;
    /// Index for per-kind tables.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
    /// Whether watch-time signals apply.
    #[inline]
    pub const fn is_video(self) -> bool {
        matches!(self, Self::ShortVideo | Self::LongVideo | Self::Live)
    }
}

/// Engagement and watch statistics the server has collected for the item from all users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GlobalSignals {
    /// Times the item was shown.
    pub impressions: u32,
    /// Likes (all reactions).
    pub likes: u32,
    /// Comments and replies.
    pub comments: u32,
    /// Reshares and private sends.
    pub shares: u32,
    /// Negative feedback: hides, "see fewer", mutes and reports caused by this item.
    pub negative: u32,
    /// Engagements (likes + comments + shares) in the first 10 minutes after posting.
    pub engagements_first_10m: u32,
    /// Engagements in the first 2 hours after posting (includes the first 10 minutes).
    pub engagements_first_2h: u32,
    /// Share of the first-10-minute engagers who also engaged early with this author's recent
    /// posts: near 1 for a closed group that engages every post at once (an engagement pod).
    pub early_engager_overlap: Prob,
    /// Mean of played / duration over views (videos), above 1 with rewatches.
    pub mean_watch_ratio: WatchRatio,
    /// Share of views watched to the end.
    pub completion_rate: Prob,
    /// Share of views skipped in under 3 s.
    pub skip_rate: Prob,
    /// Share of views that rewatched.
    pub rewatch_rate: Prob,
}

/// What the server knows about the item's author.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AuthorSignals {
    /// Accounts following the author.
    pub followers: u32,
    /// Accounts the author follows.
    pub followings: u32,
    /// Age of the author's account in days.
    pub account_age_days: u32,
    /// Total impressions of the author's posts so far (cold-start detection).
    pub impressions: u32,
    /// The author's engagement rate as marketers quote it: engagements (likes, comments,
    /// shares) per post divided by followers, over the author's recent posts. Per follower,
    /// not per impression: an audience inflated with bought or dormant followers lowers it
    /// whatever the posts' reach, which is what the bought-follower rule
    /// ([`crate::pipeline::integrity`]) reads. Honest accounts typically sit at 0.5-5 %.
    pub engagement_rate: Prob,
    /// How clockwork-regular the author's posting times are: 1 - (coefficient of variation of
    /// the intervals between posts), clamped to [0, 1]. Near 1 for scheduled bots.
    pub posting_regularity: Prob,
}

/// Bit flags of a candidate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CandidateFlags(pub u8);

impl CandidateFlags {
    /// From an account the user follows (otherwise recommended, "out of network").
    pub const IN_NETWORK: u8 = 1;
    /// A paid placement.
    pub const SPONSORED: u8 = 2;
    /// A reply to another post.
    pub const REPLY: u8 = 4;

    /// Builds flags from booleans.
    pub const fn new(in_network: bool, sponsored: bool, reply: bool) -> Self {
        let mut bits = 0;
        if in_network {
            bits |= Self::IN_NETWORK;
        }
        if sponsored {
            bits |= Self::SPONSORED;
        }
        if reply {
            bits |= Self::REPLY;
        }
        Self(bits)
    }
    /// In network.
    #[inline]
    pub const fn in_network(self) -> bool {
        self.0 & Self::IN_NETWORK != 0
    }
    /// Sponsored.
    #[inline]
    pub const fn sponsored(self) -> bool {
        self.0 & Self::SPONSORED != 0
    }
    /// A reply.
    #[inline]
    pub const fn reply(self) -> bool {
        self.0 & Self::REPLY != 0
    }
}

/// One candidate item.
///
/// ```
/// use edgerank_core::input::{Candidate, CandidateFlags, ContentKind};
/// let c = Candidate {
///     item_id: 42,
///     author_id: 7,
///     created_at: 1_000,
///     duration_ms: 15_000,
///     kind: ContentKind::ShortVideo,
///     topic: 3,
///     flags: CandidateFlags::new(true, false, false),
///     ..Candidate::default()
/// };
/// assert!(c.flags.in_network());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Candidate {
    /// Item id, unique per item across the platform.
    pub item_id: u32,
    /// Author id.
    pub author_id: u32,
    /// Posting time, in seconds on the same clock as the request's `now`.
    pub created_at: u32,
    /// Video duration in milliseconds; 0 for items without a duration.
    pub duration_ms: u32,
    /// Content kind.
    pub kind: ContentKind,
    /// Topic id (0..[`TOPICS`]; others are treated as unknown).
    pub topic: u8,
    /// Flags.
    pub flags: CandidateFlags,
    /// Item statistics.
    pub global: GlobalSignals,
    /// Author statistics.
    pub author: AuthorSignals,
}
