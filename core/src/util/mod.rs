//! Small helpers shared by the modules.

pub(crate) mod serde_array;

/// Whether tests whose outcome follows the data (an author's counts, an item's flags) should
/// be computed without branches: on a host, where a mispredicted branch costs 15-20 cycles,
/// yes; on a microcontroller (`target_os = "none"`), whose branches cost a cycle or two and
/// whose benchmark counts instructions, no.
pub(crate) const BRANCHLESS: bool = !cfg!(target_os = "none");

/// A xorshift32 stream from a nonzero `seed`: the tests' reproducible pseudo-random inputs.
#[cfg(test)]
pub(crate) fn xorshift32(mut x: u32) -> impl FnMut() -> u32 {
    move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    }
}
