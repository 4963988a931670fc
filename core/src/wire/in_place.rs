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

/// A `heapless::Vec` decoded element by element into place (as heapless's own `Deserialize`
/// reads it: a length-prefixed sequence; more than `N` elements is an error).
pub(crate) struct VecInPlace<'a, T, const N: usize>(pub(crate) &'a mut heapless::Vec<T, N>);

impl<'de, T: Deserialize<'de>, const N: usize> DeserializeSeed<'de> for VecInPlace<'_, T, N> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for VecInPlace<'_, T, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.clear();
        while let Some(value) = seq.next_element()? {
            if self.0.push(value).is_err() {
                return Err(A::Error::invalid_length(N + 1, &"at most N elements"));
            }
        }
        Ok(())
    }
}

/// Requests, decoded into their place: the envelope field by field, and the body's variant
/// written first (its discriminant and an empty vector) and then filled element by element,
/// so that no request-sized temporary is built (see [`super::decode_request_frame`]).
mod request {
    use core::fmt;

    use serde::de::{DeserializeSeed, Deserializer, EnumAccess, Error, SeqAccess, Unexpected, VariantAccess, Visitor};

    use super::{next, next_in_place, VecInPlace};
    use crate::wire::messages::{Envelope, Request};
    use crate::wire::DecodeInPlace;

    impl DecodeInPlace for Envelope<Request> {
        fn decode_in_place<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
            EnvelopeInPlace(self).deserialize(deserializer)
        }
    }

    /// The envelope: version, request id, body (the derived impl's sequence form).
    struct EnvelopeInPlace<'a>(&'a mut Envelope<Request>);

    impl<'de> DeserializeSeed<'de> for EnvelopeInPlace<'_> {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_struct("Envelope", &["version", "request_id", "body"], self)
        }
    }

    impl<'de> Visitor<'de> for EnvelopeInPlace<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("struct Envelope")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            // Every field, in declaration order (this stops compiling if one is added).
            let Envelope { version, request_id, body } = self.0;
            *version = next(&mut seq, 0)?;
            *request_id = next(&mut seq, 1)?;
            next_in_place(&mut seq, 2, RequestInPlace(body))
        }
    }

    /// Variant names, in declaration order (the discriminants postcard writes).
    const VARIANTS: &[&str] = &[
        "Ping",
        "Info",
        "LoadModel",
        "LoadProfile",
        "RankBegin",
        "RankChunk",
        "RankEnd",
        "Feedback",
        "Stats",
        "ResetState",
        "RankShown",
    ];

    /// The body: the variant index, then the variant's content, as the derived impl reads it.
    struct RequestInPlace<'a>(&'a mut Request);

    impl<'de> DeserializeSeed<'de> for RequestInPlace<'_> {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_enum("Request", VARIANTS, self)
        }
    }

    impl<'de> Visitor<'de> for RequestInPlace<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("enum Request")
        }

        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
            let body = self.0;
            let (index, variant): (u32, _) = data.variant()?;
            // Variant indices in the declaration order of `Request` (a new variant needs an arm
            // here; the tests decode one of each, through an exhaustive match).
            match index {
                0 => {
                    variant.unit_variant()?;
                    *body = Request::Ping;
                }
                1 => {
                    variant.unit_variant()?;
                    *body = Request::Info;
                }
                2 => {
                    *body = Request::LoadModel(heapless::Vec::new());
                    if let Request::LoadModel(blob) = body {
                        variant.newtype_variant_seed(VecInPlace(blob))?;
                    }
                }
                3 => {
                    *body = Request::LoadProfile(heapless::Vec::new());
                    if let Request::LoadProfile(blob) = body {
                        variant.newtype_variant_seed(VecInPlace(blob))?;
                    }
                }
                4 => {
                    let (now, k) = variant.struct_variant(&["now", "k"], RankBegin)?;
                    *body = Request::RankBegin { now, k };
                }
                5 => {
                    *body = Request::RankChunk(heapless::Vec::new());
                    if let Request::RankChunk(chunk) = body {
                        variant.newtype_variant_seed(VecInPlace(chunk))?;
                    }
                }
                6 => {
                    variant.unit_variant()?;
                    *body = Request::RankEnd;
                }
                7 => {
                    *body = Request::Feedback(heapless::Vec::new());
                    if let Request::Feedback(events) = body {
                        variant.newtype_variant_seed(VecInPlace(events))?;
                    }
                }
                8 => {
                    variant.unit_variant()?;
                    *body = Request::Stats;
                }
                9 => {
                    variant.unit_variant()?;
                    *body = Request::ResetState;
                }
                10 => {
                    *body = Request::RankShown(heapless::Vec::new());
                    if let Request::RankShown(items) = body {
                        variant.newtype_variant_seed(VecInPlace(items))?;
                    }
                }
                _ => {
                    return Err(A::Error::invalid_value(
                        Unexpected::Unsigned(index as u64),
                        &"variant index 0 <= i < 11",
                    ))
                }
            }
            Ok(())
        }
    }

    /// The fields of `RankBegin`.
    struct RankBegin;

    impl<'de> Visitor<'de> for RankBegin {
        type Value = (u32, u8);

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("struct variant Request::RankBegin")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(u32, u8), A::Error> {
            Ok((next(&mut seq, 0)?, next(&mut seq, 1)?))
        }
    }
}
