//! The messages a host and a device exchange. Every size is bounded by a constant, so a
//! device can decode any request into a fixed buffer.
//!
//! A rank call streams: `RankBegin`, then candidates in `RankChunk`s of at most
//! [`CANDIDATES_PER_CHUNK`], then `RankEnd`, answered by `Ranked`. The device scores each
//! candidate as its chunk arrives and never holds the whole batch. A call that continues a
//! page (its first items were shown, and the feedback on them may have changed the scores)
//! also sends those items in `RankShown` requests before `RankEnd`: the page then holds `k`
//! items for the positions after them.

use serde::{Deserialize, Serialize};

use crate::error::{BlobError, FeedbackError, RankError};
use crate::input::Candidate;
use crate::model::MODEL_BLOB_MAX;
use crate::pipeline::{RankStats, RankedItem, ShownItem};
use crate::profile::{PROFILE_BLOB_MAX, PROFILE_NAME_LEN};
use crate::state::Feedback;

/// Wire format version; the first byte of every frame's payload. Version 3 added
/// `RankStats::shortlist_skipped` (and carries version 2 profile blobs, with their shortlist);
/// version 4 added `Request::RankShown` (page continuation) and
/// `DeviceStats::store_failures`.
pub const WIRE_VERSION: u8 = 4;
/// Candidates per `RankChunk`.
pub const CANDIDATES_PER_CHUNK: usize = 8;
/// Feedback events per `Feedback` request.
pub const FEEDBACK_PER_FRAME: usize = 16;
/// Most items a ranked page carries over the wire.
pub const PAGE_MAX: usize = 32;

/// Every frame's payload: version, a request id echoed by the answer, and the body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Always [`WIRE_VERSION`].
    pub version: u8,
    /// Chosen by the host; the device echoes it (0 when the request could not be read).
    pub request_id: u16,
    /// The message.
    pub body: T,
}

impl<T> Envelope<T> {
    /// Wraps a body with the current version.
    pub fn new(request_id: u16, body: T) -> Self {
        Self { version: WIRE_VERSION, request_id, body }
    }
}

/// Host to device.
///
/// Variants differ in size on purpose: a device decodes one request at a time into a single
/// static buffer, so boxing (which needs an allocator) would buy nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum Request {
    /// Liveness check.
    Ping,
    /// Versions, capacities, active model and profile.
    Info,
    /// Replace the model with this blob (kept only if it validates).
    LoadModel(heapless::Vec<u8, MODEL_BLOB_MAX>),
    /// Replace the profile with this blob (kept only if it validates).
    LoadProfile(heapless::Vec<u8, PROFILE_BLOB_MAX>),
    /// Start a rank call.
    RankBegin {
        /// Request time, seconds.
        now: u32,
        /// Items wanted, at most the device's page capacity.
        k: u8,
    },
    /// Candidates of the open rank call.
    RankChunk(heapless::Vec<Candidate, CANDIDATES_PER_CHUNK>),
    /// Close the rank call and answer with the page.
    RankEnd,
    /// Feedback events, applied in order, all or none: if one is refused (a new mute or
    /// block with the mute list full of them), the request changes nothing. Not idempotent:
    /// a request sent again after its answer was lost applies twice.
    Feedback(heapless::Vec<Feedback, FEEDBACK_PER_FRAME>),
    /// Counters.
    Stats,
    /// Forget the user state (start fresh).
    ResetState,
    /// Items already shown on the page the open rank call continues, in page order (appended
    /// to those of earlier `RankShown` requests of the call). At `RankEnd` they count for
    /// every page rule and are not placed again; the page holds `k` items after them. More
    /// positions in all than the device's page capacity, with `k`: `Error(Rank(KTooLarge))`,
    /// and the request adds nothing.
    RankShown(heapless::Vec<ShownItem, CANDIDATES_PER_CHUNK>),
}

/// Device to host (sizes differ on purpose, as for [`Request`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum Response {
    /// Answer to `Ping`.
    Pong,
    /// Answer to `Info`.
    Info(DeviceInfo),
    /// The model was validated and is now active.
    ModelLoaded {
        /// Its id.
        model_id: u32,
    },
    /// The profile was validated and is now active.
    ProfileLoaded {
        /// Its name.
        name: heapless::String<PROFILE_NAME_LEN>,
    },
    /// A rank call is open.
    RankOpen,
    /// A chunk was scored.
    ChunkAccepted {
        /// Candidates received so far in this call.
        received: u32,
    },
    /// The page.
    Ranked(RankedPage),
    /// Feedback applied.
    FeedbackApplied {
        /// Events applied from this request.
        applied: u8,
        /// Events applied since the state was created.
        total_events: u32,
    },
    /// Counters.
    Stats(DeviceStats),
    /// The user state was reset.
    StateReset,
    /// The request failed; nothing changed.
    Error(WireError),
    /// A `RankShown` request was added to the open rank call.
    ShownAccepted {
        /// Items shown so far in this call.
        shown: u8,
    },
}

/// A ranked page on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedPage {
    /// Items in display order.
    pub items: heapless::Vec<RankedItem, PAGE_MAX>,
    /// Counters of the call.
    pub stats: RankStats,
}

/// What a device reports about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Wire format version.
    pub wire_version: u8,
    /// Crate version, as (major, minor, patch).
    pub core_version: (u8, u8, u8),
    /// Most candidates per rank call.
    pub max_candidates: u32,
    /// Most items per page.
    pub max_k: u8,
    /// Active model id.
    pub model_id: u32,
    /// Active profile name.
    pub profile: heapless::String<PROFILE_NAME_LEN>,
}

/// Counters a device keeps since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStats {
    /// Frames decoded and answered.
    pub frames_ok: u32,
    /// Frames refused (bad framing, checksum, version or content).
    pub frames_bad: u32,
    /// Rank calls completed.
    pub rank_calls: u32,
    /// Feedback events applied.
    pub feedback_events: u32,
    /// Boots (persisted across resets where storage exists).
    pub boots: u32,
    /// Changes (user state, model, profile) the device applied but could not save to its
    /// flash store since boot: each is in effect until the next reset and lost at it. A host
    /// that sees this rise can resend what it cares about after a reset.
    pub store_failures: u32,
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireError {
    /// The frame could not be read.
    Frame(FrameError),
    /// A blob was refused.
    Blob(BlobError),
    /// The rank call failed.
    Rank(RankError),
    /// A feedback event was refused, and with it the whole request (nothing changed).
    Feedback(FeedbackError),
    /// A request that makes no sense now (e.g. a chunk with no open rank call).
    UnexpectedRequest,
}

/// Why a frame could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// Longer than the receive buffer; skipped up to the next delimiter.
    TooLong,
    /// Not valid COBS.
    Cobs,
    /// Too short to hold a version and checksum.
    Truncated,
    /// Checksum mismatch.
    BadChecksum,
    /// Does not decode as a message.
    Malformed,
    /// Another wire version.
    UnsupportedVersion(u8),
    /// The output buffer is too small for the message.
    BufferTooSmall,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::TooLong => f.write_str("frame longer than the receive buffer"),
            FrameError::Cobs => f.write_str("frame is not valid COBS"),
            FrameError::Truncated => f.write_str("frame is truncated"),
            FrameError::BadChecksum => f.write_str("frame checksum mismatch"),
            FrameError::Malformed => f.write_str("frame does not decode"),
            FrameError::UnsupportedVersion(v) => write!(f, "wire version {v} is not supported"),
            FrameError::BufferTooSmall => f.write_str("output buffer too small"),
        }
    }
}

impl core::error::Error for FrameError {}
