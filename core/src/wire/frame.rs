//! Framing: payload = postcard(message) + CRC-32C (little-endian), COBS-encoded, ended by a
//! 0x00 byte. COBS guarantees the payload holds no zero byte, so a receiver re-synchronises
//! on the next 0x00 after any garbage.

use serde::{de::DeserializeOwned, Serialize};

use super::codec::{decode_checked, encode_checked};
use super::messages::{FrameError, WIRE_VERSION};
use crate::error::BlobError;

/// Largest payload (postcard + CRC) of any message.
pub const MAX_PAYLOAD: usize = 1600;
/// Largest frame on the wire, delimiter included.
pub const MAX_FRAME: usize = cobs::max_encoding_length(MAX_PAYLOAD) + 1;

/// Encodes a message as one frame into `out` (using `scratch` for the payload); returns the
/// frame, delimiter included.
pub fn encode_frame<'o, T: Serialize>(
    message: &T,
    scratch: &mut [u8],
    out: &'o mut [u8],
) -> Result<&'o [u8], FrameError> {
    let payload = encode_checked(message, scratch).map_err(|_| FrameError::BufferTooSmall)?;
    let n = cobs::try_encode(payload, out).map_err(|_| FrameError::BufferTooSmall)?;
    let end = out.get_mut(n).ok_or(FrameError::BufferTooSmall)?;
    *end = 0;
    out.get(..=n).ok_or(FrameError::BufferTooSmall)
}

/// Decodes one frame's bytes (without the delimiter), in place.
///
/// Errors, checked in this order: [`FrameError::Cobs`], [`FrameError::Truncated`] (no
/// version byte, or too short for a checksum), [`FrameError::UnsupportedVersion`],
/// [`FrameError::BadChecksum`], [`FrameError::Malformed`] (see [`decode_checked`]: the same on
/// every pointer width).
pub fn decode_frame<T: DeserializeOwned + Serialize>(frame: &mut [u8]) -> Result<T, FrameError> {
    let n = cobs::decode_in_place(frame).map_err(|_| FrameError::Cobs)?;
    let payload = frame.get(..n).ok_or(FrameError::Cobs)?;
    match payload.first() {
        None => return Err(FrameError::Truncated),
        Some(&v) if v != WIRE_VERSION => return Err(FrameError::UnsupportedVersion(v)),
        Some(_) => {}
    }
    decode_checked(payload).map_err(|e| match e {
        BlobError::Truncated => FrameError::Truncated,
        BlobError::BadChecksum => FrameError::BadChecksum,
        _ => FrameError::Malformed,
    })
}

/// Collects bytes from a stream into frames.
pub struct FrameReader<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflowed: bool,
}

/// What one byte completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Feed<'a> {
    /// Nothing yet.
    Pending,
    /// A whole frame (COBS-encoded, delimiter removed), ready for [`decode_frame`].
    Frame(&'a mut [u8]),
    /// A frame that did not fit was dropped.
    Overflow,
}

impl<const N: usize> Default for FrameReader<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameReader<N> {
    /// Empty.
    pub const fn new() -> Self {
        Self { buf: [0; N], len: 0, overflowed: false }
    }

    /// Feeds one byte.
    pub fn feed(&mut self, byte: u8) -> Feed<'_> {
        if byte == 0 {
            let len = core::mem::replace(&mut self.len, 0);
            if core::mem::replace(&mut self.overflowed, false) {
                return Feed::Overflow;
            }
            if len == 0 {
                // Back-to-back delimiters: an empty frame carries nothing.
                return Feed::Pending;
            }
            // `len` never exceeds N; `get_mut` keeps a panic path out of the request loop.
            return match self.buf.get_mut(..len) {
                Some(frame) => Feed::Frame(frame),
                None => Feed::Overflow,
            };
        }
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = byte;
                self.len += 1;
            }
            None => self.overflowed = true,
        }
        Feed::Pending
    }
}
