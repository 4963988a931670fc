//! The RAM a device needs to rank 256 candidates to the top 32, measured with `size_of` on
//! the build target. Sizes are deterministic, so the budget is gated here.

use core::mem::size_of;

use edgerank_core::input::Candidate;
use edgerank_core::model::Model;
use edgerank_core::pipeline::{RankSession, RankedFeed};
use edgerank_core::profile::Profile;
use edgerank_core::state::UserState;
use edgerank_core::wire::{CANDIDATES_PER_CHUNK, MAX_FRAME, MAX_PAYLOAD};

/// Bytes, by part, for a device that streams candidates in wire chunks.
fn streaming_budget() -> Vec<(&'static str, usize)> {
    vec![
        ("rank session (pools, N = 256, P = 128)", size_of::<RankSession<'static, 256>>()),
        ("ranked page (K = 32)", size_of::<RankedFeed<32>>()),
        ("user state", size_of::<UserState>()),
        ("compiled profile", size_of::<Profile>()),
        ("model", size_of::<Model>()),
        ("candidate chunk buffer", CANDIDATES_PER_CHUNK * size_of::<Candidate>()),
        ("frame buffers (receive + send)", MAX_FRAME * 2),
        ("payload scratch", MAX_PAYLOAD),
    ]
}

#[test]
fn ranking_256_to_32_fits_16_kib() {
    let parts = streaming_budget();
    let total: usize = parts.iter().map(|p| p.1).sum();
    for (name, bytes) in &parts {
        println!("{bytes:>6}  {name}");
    }
    println!(
        "{total:>6}  total (streaming); a whole 256-candidate batch in RAM adds {} bytes",
        256 * size_of::<Candidate>()
    );
    assert!(total <= 16 * 1024, "streaming ranking needs {total} bytes");
}
