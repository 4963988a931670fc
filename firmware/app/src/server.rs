//! The request loop: what the device does with each request.
//!
//! Capacities: a rank call takes up to [`MAX_CANDIDATES`] candidates (in chunks of
//! `CANDIDATES_PER_CHUNK`) and returns up to [`MAX_K`] items.
//!
//! Semantics (the host's expectations in `edgerank-tests` follow them):
//! - `Ping`, `Info`, `Stats` are answered at any time, also while a rank call is open.
//! - `LoadModel` / `LoadProfile`: the blob is decoded and fully validated first; only then
//!   does it replace the active model or profile. A refused blob leaves the old one active
//!   and is answered with `Error(Blob(..))`.
//! - `RankBegin { now, k }` opens a rank call (k above [`MAX_K`]: `Error(Rank(KTooLarge))`,
//!   nothing opens). Each `RankChunk` is filtered, scored and pooled as it arrives, answered
//!   with `ChunkAccepted { received }`; a chunk that would take the call past
//!   [`MAX_CANDIDATES`] is refused whole (`Error(Rank(TooManyCandidates))`, the call stays
//!   open). `RankShown` adds items already shown on the page the call continues, answered
//!   with `ShownAccepted { shown }`; with them and `k`, more than [`MAX_K`] positions are
//!   refused whole (`Error(Rank(KTooLarge))`), and the call stays open. `RankEnd` answers with
//!   the page (the `k` positions after the shown items) and closes the call. A `RankBegin`
//!   while a call is open abandons it and opens a new one.
//! - While a call is open, the requests that would change what it reads (`LoadModel`,
//!   `LoadProfile`, `Feedback`, `ResetState`) are refused with `Error(UnexpectedRequest)`
//!   and change nothing; `RankChunk`, `RankShown` or `RankEnd` with no open call get the same
//!   answer.
//! - `Feedback` applies its events in order, all or none: if one is refused, the request is
//!   answered `Error(Feedback(..))` and changes nothing.
//! - With a store ([`Server::with_store`]), a model or profile that was swapped in, and the
//!   user state after feedback that applied or after `ResetState`, are
//!   committed to flash before the answer is sent ([`crate::persist`]); a boot restores them.
//!   A save that fails leaves the change in effect until the next reset and counts in
//!   `DeviceStats::store_failures`.
//! - Frame counters: `frames_ok` counts frames that decoded as a request (whatever the
//!   answer), `frames_bad` frames that did not (see [`crate::link`]); both include the frame
//!   being answered, so a `Stats` answer counts itself.
//!
//! The rank session borrows the model, profile and user state, and its pools live in the
//! session, so it cannot be parked in a static between frames while those stay mutable.
//! Instead `RankBegin` enters `Server::rank_call`, which keeps the session in its stack frame
//! while `collect` runs the open call's own request loop; the borrow checker then proves that
//! nothing mutates what the session reads.

use core::mem::MaybeUninit;

use edgerank_core::error::RankError;
use edgerank_core::model::Model;
use edgerank_core::pipeline::{RankContext, RankStats, ShownItem};
use edgerank_core::profile::{Platform, Profile};
use edgerank_core::state::{Feedback, UserState};
use edgerank_core::wire::{DeviceInfo, DeviceStats, Envelope, RankedPage, Request, Response, WireError, WIRE_VERSION};
use edgerank_device_rank::{push_chunk, Session};
use embedded_io::{Read, Write};
use embedded_storage::nor_flash::NorFlash;

use crate::link::Link;
use crate::persist::{Persist, Store};
use crate::stack::StackProbe;

/// Most candidates per rank call, and most items per page (the wire's page size).
pub use edgerank_device_rank::{MAX_CANDIDATES, MAX_K};

/// The platform profile active after boot.
pub const BOOT_PROFILE: Platform = Platform::X;

/// What a rank call reads: kept in static memory by the board crate.
pub struct Device {
    /// Active model.
    pub model: Model,
    /// Active profile (compiled).
    pub profile: Profile,
    /// The user's state.
    pub user: UserState,
}

impl Device {
    /// The built-in model, the [`BOOT_PROFILE`], and a fresh user.
    pub fn boot() -> Self {
        Self { model: Model::default(), profile: Self::boot_profile(), user: UserState::new() }
    }

    /// The [`BOOT_PROFILE`], compiled.
    pub fn boot_profile() -> Profile {
        match Profile::compile(BOOT_PROFILE.config()) {
            Ok(p) => p,
            // The core's tests compile every built-in profile: this cannot fail. The error goes
            // to the log (defmt), not into the panic message, which would link core::fmt's
            // `Display` of it.
            Err(e) => {
                crate::log::error!("built-in profile does not compile: {}", e);
                panic!("built-in profile does not compile")
            }
        }
    }

    /// Compiles the [`BOOT_PROFILE`] straight into `slot` (the profile of a device being built
    /// in place, as the firmware builds its static one): a compiled profile returned by value
    /// is 1.5 KB of stack.
    pub fn boot_profile_in(slot: &mut MaybeUninit<Profile>) -> &mut Profile {
        match Profile::compile_in_slot(slot, BOOT_PROFILE.config()) {
            Ok(p) => p,
            // As in `boot_profile`: this cannot fail.
            Err(e) => {
                crate::log::error!("built-in profile does not compile: {}", e);
                panic!("built-in profile does not compile")
            }
        }
    }

    /// Takes over what `store` kept from before the reset (see [`crate::persist`]): each
    /// stored value that validates is decoded straight into its place, read through `buf`
    /// (at least [`crate::persist::BUFFER`] bytes: the firmware lends the link's buffer,
    /// [`Link::buffer`]). Call it on a freshly booted device.
    pub fn restore_from<F: NorFlash>(&mut self, store: &mut Store<F>, buf: &mut [u8]) {
        let outcome = store.restore_with(buf, &mut self.user, &mut self.model, &mut self.profile);
        if outcome.user {
            crate::log::info!("restored user state ({=u32} events)", self.user.events);
        }
        if outcome.model {
            crate::log::info!("restored model {=u32}", self.model.model_id);
        }
        if outcome.profile {
            crate::log::info!("restored profile {=str}", self.profile.config().name.as_str());
        }
        if outcome.invalid > 0 {
            crate::log::warn!("{=u8} stored values did not validate: defaults used", outcome.invalid);
        }
    }
}

/// The request loop over one link.
pub struct Server<'a, IO> {
    device: &'a mut Device,
    link: &'a mut Link<IO>,
    stack: Option<StackProbe>,
    store: Option<&'a mut dyn Persist>,
}

impl<'a, IO: Read + Write> Server<'a, IO> {
    /// A server; with a `stack` probe, every `Stats` request also logs the stack peak.
    pub fn new(device: &'a mut Device, link: &'a mut Link<IO>, stack: Option<StackProbe>) -> Self {
        Self { device, link, stack, store: None }
    }

    /// Commits every change of the user state, model or profile to `store` before answering
    /// the request that made it, so an answer means the change survives a reset, unless the
    /// save failed: the change stays in effect until the next reset, and
    /// `DeviceStats::store_failures` counts it. The store writes through the link's buffer
    /// ([`Link::buffer`]): the request was decoded out of it and its answer is not encoded yet.
    pub fn with_store(mut self, store: &'a mut dyn Persist) -> Self {
        self.store = Some(store);
        self
    }

    /// Answers requests forever.
    pub fn run(&mut self) -> ! {
        loop {
            self.serve_one();
        }
    }

    /// Takes the next request and answers it; a `RankBegin` is served to the end of its rank
    /// call (the page, or the request that abandons it).
    pub fn serve_one(&mut self) {
        if let Some(RankBegin { id, now, k }) = self.serve() {
            self.rank_call(id, now, k);
        }
    }

    /// Takes the next request and answers it, unless it opens a rank call (returned instead).
    /// Out of line, so that the decoded request (about 900 B) has left the stack before
    /// [`Server::rank_call`] puts the session on it: kept in `run`'s frame, it sat under every
    /// rank call.
    #[inline(never)]
    fn serve(&mut self) -> Option<RankBegin> {
        let mut request = Envelope::new(0, Request::Ping);
        self.link.next_request(&mut request);
        match request.body {
            Request::RankBegin { now, k } => Some(RankBegin { id: request.request_id, now, k }),
            ref body => {
                self.handle(request.request_id, body);
                None
            }
        }
    }

    // The handlers below are kept out of line on purpose: inlined into one loop, their large
    // temporaries (decoded blobs, the rank session, the page) would share one stack frame
    // instead of overlapping, and the firmware would need three times the stack.

    /// One request other than `RankBegin`, with no rank call open.
    #[inline(never)]
    fn handle(&mut self, id: u16, request: &Request) {
        let response = match request {
            Request::RankBegin { .. } | Request::RankChunk(_) | Request::RankShown(_) | Request::RankEnd => {
                Response::Error(WireError::UnexpectedRequest)
            }
            Request::LoadModel(blob) => {
                let response = load_model(&mut self.device.model, blob);
                if let (Response::ModelLoaded { .. }, Some(store)) = (&response, self.store.as_mut()) {
                    let saved = store.model_loaded(self.link.buffer(), blob);
                    self.link.stats.store_failures = self.link.stats.store_failures.wrapping_add(u32::from(!saved));
                }
                response
            }
            Request::LoadProfile(blob) => {
                let response = load_profile(&mut self.device.profile, blob);
                if let (Response::ProfileLoaded { .. }, Some(store)) = (&response, self.store.as_mut()) {
                    let saved = store.profile_loaded(self.link.buffer(), blob);
                    self.link.stats.store_failures = self.link.stats.store_failures.wrapping_add(u32::from(!saved));
                }
                response
            }
            Request::Feedback(events) => {
                let before = self.device.user.events;
                let response = feedback(&mut self.device.user, &mut self.link.stats, events);
                if let (true, Some(store)) = (self.device.user.events != before, self.store.as_mut()) {
                    let saved = store.user_changed(self.link.buffer(), &self.device.user);
                    self.link.stats.store_failures = self.link.stats.store_failures.wrapping_add(u32::from(!saved));
                }
                response
            }
            Request::ResetState => {
                // In place: assigning `UserState::new()` would put a 2.5 KB temporary in this
                // frame, which every other request handled here also pays for.
                self.device.user.reset();
                crate::log::info!("user state reset");
                if let Some(store) = self.store.as_mut() {
                    let saved = store.user_changed(self.link.buffer(), &self.device.user);
                    self.link.stats.store_failures = self.link.stats.store_failures.wrapping_add(u32::from(!saved));
                }
                Response::StateReset
            }
            Request::Ping => read_only(Query::Ping, self.device, &self.link.stats, self.stack.as_ref()),
            Request::Info => read_only(Query::Info, self.device, &self.link.stats, self.stack.as_ref()),
            Request::Stats => read_only(Query::Stats, self.device, &self.link.stats, self.stack.as_ref()),
        };
        self.link.send(id, &response);
    }

    /// A rank call, from its `RankBegin` to the page: the session lives in this stack frame
    /// while [`collect`] takes the call's requests.
    #[inline(never)]
    fn rank_call(&mut self, mut id: u16, mut now: u32, mut k: u8) {
        loop {
            if k as usize > MAX_K {
                let refused = Response::Error(WireError::Rank(RankError::KTooLarge { capacity: MAX_K as u32 }));
                return self.link.send(id, &refused);
            }
            let device: &Device = self.device;
            let ctx = RankContext { model: &device.model, profile: &device.profile, user: &device.user, now };
            let mut session = Session::new(ctx);
            // Items already shown on the page this call continues (`RankShown`).
            let mut shown = heapless::Vec::<ShownItem, MAX_K>::new();
            crate::log::debug!("rank call {=u16}: now {=u32}, k {=u8}", id, now, k);
            send_rank_open(self.link, id);
            match collect(&mut session, &mut shown, k, device, self.link, self.stack.as_ref()) {
                CallEnd::Finish { id } => return finish(&mut session, &shown, k, id, self.link),
                // A new RankBegin abandons this call (dropping its session) and opens another.
                CallEnd::Restart { id: new_id, now: new_now, k: new_k } => (id, now, k) = (new_id, new_now, new_k),
            }
        }
    }
}

/// Answers `RankOpen`. From a temporary of its own, out of line: `&Response::RankOpen` is a
/// constant, a whole `Response` in flash (1 KB, nearly all zeros), and a temporary in
/// `rank_call` would sit under the whole rank call.
#[inline(never)]
fn send_rank_open<IO: Read + Write>(link: &mut Link<IO>, id: u16) {
    let open = Response::RankOpen;
    link.send(id, &open);
}

/// A `RankBegin` request: its id and fields.
struct RankBegin {
    id: u16,
    now: u32,
    k: u8,
}

/// How an open rank call ended.
enum CallEnd {
    /// `RankEnd` with this request id.
    Finish { id: u16 },
    /// A new `RankBegin`.
    Restart { id: u16, now: u32, k: u8 },
}

/// The requests of an open rank call: chunks are scored into `session` as they arrive, shown
/// items join `shown`; `Ping`, `Info` and `Stats` are answered; requests that would change
/// what the session reads are refused. Returns at `RankEnd` or at a new `RankBegin`.
#[inline(never)]
fn collect<IO: Read + Write>(
    session: &mut Session<'_>,
    shown: &mut heapless::Vec<ShownItem, MAX_K>,
    k: u8,
    device: &Device,
    link: &mut Link<IO>,
    stack: Option<&StackProbe>,
) -> CallEnd {
    let mut received = 0usize;
    loop {
        // The request is dropped before the response is built, so the two (about 1 KB each)
        // can share stack.
        let (id, next) = {
            let mut request = Envelope::new(0, Request::Ping);
            link.next_request(&mut request);
            let id = request.request_id;
            let next = match &request.body {
                Request::RankChunk(chunk) => Next::Chunk(push_chunk(session, &mut received, chunk)),
                Request::RankShown(items) => Next::Shown(add_shown(shown, k, items)),
                Request::RankEnd => return CallEnd::Finish { id },
                Request::RankBegin { now, k } => {
                    crate::log::debug!("rank call abandoned after {=usize} candidates", received);
                    return CallEnd::Restart { id, now: *now, k: *k };
                }
                Request::Ping => Next::ReadOnly(Query::Ping),
                Request::Info => Next::ReadOnly(Query::Info),
                Request::Stats => Next::ReadOnly(Query::Stats),
                Request::LoadModel(_) | Request::LoadProfile(_) | Request::Feedback(_) | Request::ResetState => {
                    Next::Unexpected
                }
            };
            (id, next)
        };
        let response = match next {
            Next::Chunk(Ok(received)) => Response::ChunkAccepted { received },
            Next::Chunk(Err(e)) | Next::Shown(Err(e)) => Response::Error(WireError::Rank(e)),
            Next::Shown(Ok(shown)) => Response::ShownAccepted { shown },
            Next::ReadOnly(query) => read_only(query, device, &link.stats, stack),
            Next::Unexpected => Response::Error(WireError::UnexpectedRequest),
        };
        link.send(id, &response);
    }
}

/// A request that reads and changes nothing (answered even while a rank call is open).
#[derive(Clone, Copy)]
enum Query {
    Ping,
    Info,
    Stats,
}

/// What [`collect`] answers to a request that does not end the call.
enum Next {
    /// A chunk: the candidates received so far, or why it was refused.
    Chunk(Result<u32, RankError>),
    /// Shown items: how many the call has, or why they were refused.
    Shown(Result<u8, RankError>),
    /// `Ping`, `Info` or `Stats`.
    ReadOnly(Query),
    /// A request that would change what the session reads.
    Unexpected,
}

/// Validates a model blob and only then replaces the active model: a refused blob leaves
/// `active` untouched.
#[inline(never)]
pub fn load_model(active: &mut Model, blob: &[u8]) -> Response {
    // Decoded in place into one temporary and moved in only once valid (`replace_from_blob`);
    // logged from its place: a copy kept for the log would double the stack this takes.
    match active.replace_from_blob(blob) {
        Ok(()) => {
            crate::log::info!("model {=u32} loaded", active.model_id);
            Response::ModelLoaded { model_id: active.model_id }
        }
        Err(e) => {
            crate::log::info!("model refused: {}", e);
            Response::Error(WireError::Blob(e))
        }
    }
}

/// Validates and compiles a profile blob and only then replaces the active profile: a refused
/// blob leaves `active` untouched.
#[inline(never)]
pub fn load_profile(active: &mut Profile, blob: &[u8]) -> Response {
    // As in `load_model`: compiled in place into one temporary (`replace_from_blob`), moved in
    // only once valid, logged from its place.
    match active.replace_from_blob(blob) {
        Ok(()) => {
            crate::log::info!("profile {=str} loaded", active.config().name.as_str());
            Response::ProfileLoaded { name: active.config().name.clone() }
        }
        Err(e) => {
            crate::log::info!("profile refused: {}", e);
            Response::Error(WireError::Blob(e))
        }
    }
}

/// Builds the page (re-ranking the pools), counts the call and sends the answer.
#[inline(never)]
fn finish<IO: Read + Write>(session: &mut Session<'_>, shown: &[ShownItem], k: u8, id: u16, link: &mut Link<IO>) {
    // The page is built straight into the answer: a page returned and then moved into it
    // took twice the stack (about 0.9 KB more).
    let mut response = Response::Ranked(RankedPage { items: heapless::Vec::new(), stats: RankStats::default() });
    let outcome = match &mut response {
        Response::Ranked(page) => session.finish_into(shown, k as usize, &mut page.items).map(|stats| page.stats = stats),
        _ => Ok(()),
    };
    match outcome {
        Ok(()) => link.stats.rank_calls = link.stats.rank_calls.wrapping_add(1),
        Err(e) => response = Response::Error(WireError::Rank(e)),
    }
    link.send(id, &response);
}

/// Adds shown items to the call's, all or none: with them, the shown items and the `k` the
/// page holds after them may not exceed [`MAX_K`] positions.
fn add_shown(shown: &mut heapless::Vec<ShownItem, MAX_K>, k: u8, items: &[ShownItem]) -> Result<u8, RankError> {
    if shown.len() + items.len() + k as usize > MAX_K || shown.extend_from_slice(items).is_err() {
        return Err(RankError::KTooLarge { capacity: MAX_K as u32 });
    }
    Ok(shown.len() as u8)
}

/// `Ping`, `Info` and `Stats`: they read and change nothing, so a rank call may be open.
#[inline(never)]
fn read_only(query: Query, device: &Device, stats: &DeviceStats, stack: Option<&StackProbe>) -> Response {
    match query {
        Query::Info => Response::Info(DeviceInfo {
            wire_version: WIRE_VERSION,
            core_version: crate::CORE_VERSION,
            max_candidates: MAX_CANDIDATES as u32,
            max_k: MAX_K as u8,
            model_id: device.model.model_id,
            profile: device.profile.config().name.clone(),
        }),
        Query::Stats => {
            if let Some(probe) = stack {
                crate::log::info!(
                    "stack peak: {=u32} bytes (of {=u32} painted{=str})",
                    probe.peak(),
                    probe.capacity(),
                    if probe.saturated() { ", SATURATED" } else { "" }
                );
            }
            Response::Stats(*stats)
        }
        Query::Ping => Response::Pong,
    }
}

/// Applies a request's feedback events in order, all or none ([`UserState::apply_all`]): a
/// refused request changes nothing, so the host can resend what it wants without applying
/// any event twice.
#[inline(never)]
fn feedback(user: &mut UserState, stats: &mut DeviceStats, events: &[Feedback]) -> Response {
    match user.apply_all(events) {
        Ok(()) => {
            stats.feedback_events = stats.feedback_events.wrapping_add(events.len() as u32);
            Response::FeedbackApplied { applied: events.len() as u8, total_events: user.events }
        }
        Err((_, e)) => Response::Error(WireError::Feedback(e)),
    }
}
