//! Small helpers shared by the modules.

pub(crate) mod serde_array;

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
