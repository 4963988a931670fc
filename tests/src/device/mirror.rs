//! What the device must answer, computed on the host with the same core code.
//!
//! [`Mirror`] keeps the state the firmware keeps (model, profile, user state, counters, the
//! open rank call) and follows the protocol's documented semantics (see the firmware's
//! `edgerank_device::server`), written again here from the core's public API rather than
//! shared with the firmware, so the comparison checks the firmware, not itself. Feeding it
//! the exact bytes sent to the device ([`Mirror::receive`]) gives the exact frames the
//! device must send back.

use edgerank_core::error::RankError;
use edgerank_core::input::Candidate;
use edgerank_core::model::Model;
use edgerank_core::pipeline::{RankContext, RankSession, ShownItem};
use edgerank_core::profile::{Platform, Profile};
use edgerank_core::state::UserState;
use edgerank_core::wire::{
    decode_frame, DeviceInfo, DeviceStats, Envelope, Feed, FrameError, FrameReader, RankedPage, Request, Response,
    WireError, MAX_FRAME, PAGE_MAX, WIRE_VERSION,
};

/// The device's capacities.
pub const MAX_CANDIDATES: usize = 256;
/// Items per page.
pub const MAX_K: usize = PAGE_MAX;
/// The profile the firmware boots with.
pub const BOOT_PROFILE: Platform = Platform::X;

/// A rank call between `RankBegin` and `RankEnd`.
#[derive(Clone, Debug)]
struct OpenCall {
    now: u32,
    k: u8,
    candidates: Vec<Candidate>,
    /// Items already shown on the page the call continues.
    shown: Vec<ShownItem>,
}

/// The host's copy of a device.
pub struct Mirror {
    /// Active model.
    pub model: Model,
    /// Active profile.
    pub profile: Profile,
    /// User state.
    pub user: UserState,
    /// Counters.
    pub stats: DeviceStats,
    call: Option<OpenCall>,
    reader: Box<FrameReader<MAX_FRAME>>,
}

impl Mirror {
    /// A device right after boot number `boots`.
    pub fn boot(boots: u32) -> Self {
        Self {
            model: Model::default(),
            profile: Profile::compile(BOOT_PROFILE.config()).expect("built-in profile"),
            user: UserState::new(),
            stats: DeviceStats { boots, ..DeviceStats::default() },
            call: None,
            reader: Box::new(FrameReader::new()),
        }
    }

    /// Whether a rank call is open.
    pub fn call_open(&self) -> bool {
        self.call.is_some()
    }

    /// Bytes as the device receives them: the `(request id, response)` of every frame they
    /// complete, in order (a frame that cannot be read is answered with id 0).
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<(u16, Response)> {
        self.receive_frames(bytes).into_iter().map(|(id, response, _)| (id, response)).collect()
    }

    /// As [`Mirror::receive`], with each answer's frame as received (COBS, no delimiter;
    /// empty for an overlong one), for diagnostics.
    pub fn receive_frames(&mut self, bytes: &[u8]) -> Vec<(u16, Response, Vec<u8>)> {
        let mut answers = Vec::new();
        for &b in bytes {
            let (decoded, frame) = match self.reader.feed(b) {
                Feed::Pending => continue,
                Feed::Overflow => (Err(FrameError::TooLong), Vec::new()),
                Feed::Frame(frame) => {
                    let raw = frame.to_vec();
                    (decode_frame::<Envelope<Request>>(frame), raw)
                }
            };
            answers.push(match decoded {
                Ok(request) => (request.request_id, self.answer(&request.body), frame),
                Err(e) => (0, self.refuse(e), frame),
            });
        }
        answers
    }

    /// The answer to a frame that did not decode.
    pub fn refuse(&mut self, error: FrameError) -> Response {
        self.stats.frames_bad += 1;
        Response::Error(WireError::Frame(error))
    }

    /// The answer to a request that decoded.
    pub fn answer(&mut self, request: &Request) -> Response {
        self.stats.frames_ok += 1;
        match request {
            Request::Ping => Response::Pong,
            Request::Info => Response::Info(self.info()),
            Request::Stats => Response::Stats(self.stats),
            Request::RankBegin { now, k } => {
                // A new RankBegin abandons an open call, valid or not.
                self.call = None;
                if *k as usize > MAX_K {
                    return Response::Error(WireError::Rank(RankError::KTooLarge { capacity: MAX_K as u32 }));
                }
                self.call = Some(OpenCall { now: *now, k: *k, candidates: Vec::new(), shown: Vec::new() });
                Response::RankOpen
            }
            Request::RankChunk(chunk) => match &mut self.call {
                None => Response::Error(WireError::UnexpectedRequest),
                Some(call) if call.candidates.len() + chunk.len() > MAX_CANDIDATES => {
                    Response::Error(WireError::Rank(RankError::TooManyCandidates { capacity: MAX_CANDIDATES as u32 }))
                }
                Some(call) => {
                    call.candidates.extend_from_slice(chunk);
                    Response::ChunkAccepted { received: call.candidates.len() as u32 }
                }
            },
            Request::RankShown(items) => match &mut self.call {
                None => Response::Error(WireError::UnexpectedRequest),
                // Shown items and the page after them: at most a page's positions.
                Some(call) if call.shown.len() + items.len() + call.k as usize > MAX_K => {
                    Response::Error(WireError::Rank(RankError::KTooLarge { capacity: MAX_K as u32 }))
                }
                Some(call) => {
                    call.shown.extend_from_slice(items);
                    Response::ShownAccepted { shown: call.shown.len() as u8 }
                }
            },
            Request::RankEnd => match self.call.take() {
                None => Response::Error(WireError::UnexpectedRequest),
                Some(call) => match self.rank(&call) {
                    Ok(page) => {
                        self.stats.rank_calls += 1;
                        Response::Ranked(page)
                    }
                    Err(e) => Response::Error(WireError::Rank(e)),
                },
            },
            _ if self.call.is_some() => Response::Error(WireError::UnexpectedRequest),
            Request::LoadModel(blob) => match Model::from_blob(blob) {
                Ok(model) => {
                    self.model = model;
                    Response::ModelLoaded { model_id: self.model.model_id }
                }
                Err(e) => Response::Error(WireError::Blob(e)),
            },
            Request::LoadProfile(blob) => match Profile::from_blob(blob) {
                Ok(profile) => {
                    self.profile = profile;
                    Response::ProfileLoaded { name: self.profile.config().name.clone() }
                }
                Err(e) => Response::Error(WireError::Blob(e)),
            },
            Request::Feedback(events) => {
                // All or none, like the device. The mirror's own check of that: one by one on
                // a copy, kept only if every event applies.
                let mut copy = self.user.clone();
                for event in events {
                    if let Err(e) = copy.apply(event) {
                        return Response::Error(WireError::Feedback(e));
                    }
                }
                self.user = copy;
                self.stats.feedback_events += events.len() as u32;
                Response::FeedbackApplied { applied: events.len() as u8, total_events: self.user.events }
            }
            Request::ResetState => {
                self.user = UserState::new();
                Response::StateReset
            }
        }
    }

    /// What `Info` reports.
    pub fn info(&self) -> DeviceInfo {
        DeviceInfo {
            wire_version: WIRE_VERSION,
            core_version: core_version(),
            max_candidates: MAX_CANDIDATES as u32,
            max_k: MAX_K as u8,
            model_id: self.model.model_id,
            profile: self.profile.config().name.clone(),
        }
    }

    /// The page a call produces: the candidates through a streaming session, as the device
    /// ranks them.
    fn rank(&self, call: &OpenCall) -> Result<RankedPage, RankError> {
        let ctx = RankContext { model: &self.model, profile: &self.profile, user: &self.user, now: call.now };
        let mut session = RankSession::<MAX_CANDIDATES>::new(ctx);
        for c in &call.candidates {
            session.push(c)?;
        }
        let feed = session.finish_after::<MAX_K>(&call.shown, call.k as usize)?;
        Ok(RankedPage { items: feed.items, stats: feed.stats })
    }
}

/// The core's version (the workspace version this crate shares with it).
pub fn core_version() -> (u8, u8, u8) {
    let part = |s: &str| s.parse::<u8>().expect("numeric version");
    (
        part(env!("CARGO_PKG_VERSION_MAJOR")),
        part(env!("CARGO_PKG_VERSION_MINOR")),
        part(env!("CARGO_PKG_VERSION_PATCH")),
    )
}
