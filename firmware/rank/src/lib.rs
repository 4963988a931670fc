//! The rank call's hot path on a device, and the benchmark that counts its instructions.
//!
//! A crate of its own so that the firmware can build it for speed (`opt-level = 3`) and
//! everything else for size (`firmware/Cargo.toml`). The core's rank session is generic over
//! its capacity, so its code is compiled in the crate that names the capacity: this one, for
//! both the protocol firmware ([`push_chunk`], which `edgerank_device::server` calls for every
//! `RankChunk`) and the benchmark firmware ([`bench::measure`]). The two are compiled together
//! here, as they were when both lived in `edgerank-device`, so the benchmark's figures and the
//! protocol's code come from the same build settings.
#![no_std]

pub mod bench;
pub mod counter;
pub mod dsp;

use edgerank_core::error::RankError;
use edgerank_core::input::Candidate;
use edgerank_core::pipeline::{RankSession, DEFAULT_POOL};
use edgerank_core::wire::PAGE_MAX;

/// Most candidates per rank call.
pub const MAX_CANDIDATES: usize = 256;
/// Most items per page (the wire's page size).
pub const MAX_K: usize = PAGE_MAX;

/// A rank call's session on a device: the model heads' multiply-accumulates use `SMLAD`
/// where the core has it ([`dsp::Smlad`]); the page is the same as with the core's default.
pub type Session<'a> = RankSession<'a, MAX_CANDIDATES, DEFAULT_POOL, dsp::Smlad>;

/// Scores and pools one chunk (the candidates received so far), or refuses it whole if it
/// would pass the capacity.
#[inline(never)]
pub fn push_chunk(session: &mut Session<'_>, received: &mut usize, chunk: &[Candidate]) -> Result<u32, RankError> {
    if *received + chunk.len() > MAX_CANDIDATES {
        return Err(RankError::TooManyCandidates { capacity: MAX_CANDIDATES as u32 });
    }
    for candidate in chunk {
        // Cannot fail: the capacity was checked for the whole chunk.
        let _ = session.push(candidate);
    }
    *received += chunk.len();
    Ok(*received as u32)
}
