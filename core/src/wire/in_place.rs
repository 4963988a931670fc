//! Pieces for decoding a value straight into its place ([`super::DecodeInPlace`]): the same
//! postcard deserializer reading the same fields in the same order as the derived
//! `Deserialize` impls, with seeds that write each field where it belongs, so that no
//! temporary of the whole value is built (a device decodes its user state and models this way).

use core::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, Error, SeqAccess, Visitor};

/// The next element of a sequence, or postcard's error for a missing one.
pub(crate) fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A, i: usize) -> Result<T, A::Error> {
    seq.next_element()?.ok_or_else(|| A::Error::invalid_length(i, &"more elements"))
}

/// Decodes the next element with `seed` (which writes it in place).
pub(crate) fn next_in_place<'de, A: SeqAccess<'de>, S: DeserializeSeed<'de, Value = ()>>(
    seq: &mut A,
    i: usize,
    seed: S,
) -> Result<(), A::Error> {
    seq.next_element_seed(seed)?.ok_or_else(|| A::Error::invalid_length(i, &"more elements"))
}

/// A `[T; N]` decoded element by element into place (the tuple form of `util::serde_array`
/// and of serde's own arrays).
pub(crate) struct Array<'a, T, const N: usize>(pub(crate) &'a mut [T; N]);

impl<'de, T: Deserialize<'de>, const N: usize> DeserializeSeed<'de> for Array<'_, T, N> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_tuple(N, self)
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Array<'_, T, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {N} elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for (i, slot) in self.0.iter_mut().enumerate() {
            *slot = next(&mut seq, i)?;
        }
        Ok(())
    }
}
