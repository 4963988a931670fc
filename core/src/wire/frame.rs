//! Framing: payload = postcard(message) + CRC-32C (little-endian), COBS-encoded, ended by a
//! 0x00 byte. COBS guarantees the payload holds no zero byte, so a receiver re-synchronises
//! on the next 0x00 after any garbage.

use serde::{de::DeserializeOwned, Serialize};

use super::codec::{decode_checked, decode_checked_into, encode_checked};
use super::messages::{Envelope, FrameError, Request, WIRE_VERSION};
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

/// Bytes at the front of [`encode_frame_in_place`]'s buffer kept for COBS's overhead and the
/// delimiter: the payload is encoded after them.
pub const FRAME_HEADROOM: usize = MAX_FRAME - MAX_PAYLOAD;

/// [`encode_frame`] in one buffer instead of two: the same frame as `encode_frame` with a
/// scratch of [`MAX_PAYLOAD`] bytes and an output of [`MAX_FRAME`] bytes, built in the first
/// `MAX_FRAME` bytes of `buf` (a device keeps one frame buffer instead of three). The payload
/// is encoded at `buf[FRAME_HEADROOM..MAX_FRAME]`, then COBS-encoded forwards to the front of
/// `buf`: encoding byte `i` writes at most `1 + i + i / 254` (one code byte ahead, plus a
/// code byte per full 254-byte run, at most 7 for MAX_PAYLOAD), below `FRAME_HEADROOM + i`,
/// where byte `i` was read, so no payload byte is overwritten before it is read.
pub fn encode_frame_in_place<'b, T: Serialize>(message: &T, buf: &'b mut [u8]) -> Result<&'b [u8], FrameError> {
    let buf = buf.get_mut(..MAX_FRAME).ok_or(FrameError::BufferTooSmall)?;
    let payload = buf.get_mut(FRAME_HEADROOM..).ok_or(FrameError::BufferTooSmall)?;
    let n = encode_checked(message, payload).map_err(|_| FrameError::BufferTooSmall)?.len();
    let len = cobs_encode_in_place(buf, FRAME_HEADROOM, n).ok_or(FrameError::BufferTooSmall)?;
    *buf.get_mut(len).ok_or(FrameError::BufferTooSmall)? = 0;
    buf.get(..=len).ok_or(FrameError::BufferTooSmall)
}

/// COBS-encodes `buf[from..from + n]` to the front of `buf`, as `cobs::try_encode` does (the
/// same steps, through `cobs::EncoderState`, so the same bytes); the encoded length, or `None`
/// if it does not fit. Needs `from >= 1 + n.div_ceil(254)` (see [`encode_frame_in_place`]).
fn cobs_encode_in_place(buf: &mut [u8], from: usize, n: usize) -> Option<usize> {
    use cobs::PushResult;
    let mut state = cobs::EncoderState::default();
    let mut dest = 1;
    for i in 0..n {
        let byte = *buf.get(from + i)?;
        match state.push(byte) {
            PushResult::AddSingle(b) => *buf.get_mut(dest)? = b,
            PushResult::ModifyFromStartAndSkip((at, code)) => *buf.get_mut(at)? = code,
            PushResult::ModifyFromStartAndPushAndSkip((at, code, b)) => {
                *buf.get_mut(at)? = code;
                *buf.get_mut(dest)? = b;
                // As `CobsEncoder::push`: a full run at the very end takes no extra index.
                if i + 1 < n {
                    dest += 1;
                }
            }
        }
        dest += 1;
    }
    if dest == 1 {
        return Some(0);
    }
    let (at, code) = state.finalize();
    if let Some(slot) = buf.get_mut(at) {
        *slot = code;
    }
    Some(dest)
}

/// Decodes one frame's bytes (without the delimiter), in place.
///
/// Errors, checked in this order: [`FrameError::Cobs`] (including a zero byte anywhere in
/// `frame`), [`FrameError::Truncated`] (no
/// version byte, or too short for a checksum), [`FrameError::UnsupportedVersion`],
/// [`FrameError::BadChecksum`], [`FrameError::Malformed`] (see [`decode_checked`]: the same on
/// every pointer width).
pub fn decode_frame<T: DeserializeOwned + Serialize>(frame: &mut [u8]) -> Result<T, FrameError> {
    decode_checked(versioned_payload(frame)?).map_err(frame_error)
}

/// The COBS-decoded payload of a frame whose version byte is ours (the first checks of
/// [`decode_frame`]).
#[inline]
fn versioned_payload(frame: &mut [u8]) -> Result<&[u8], FrameError> {
    // COBS output holds no zero byte: one inside is a delimiter the caller did not split on,
    // and the decoder would stop there and drop whatever follows.
    if frame.contains(&0) {
        return Err(FrameError::Cobs);
    }
    let n = cobs::decode_in_place(frame).map_err(|_| FrameError::Cobs)?;
    let payload = frame.get(..n).ok_or(FrameError::Cobs)?;
    match payload.first() {
        None => Err(FrameError::Truncated),
        Some(&v) if v != WIRE_VERSION => Err(FrameError::UnsupportedVersion(v)),
        Some(_) => Ok(payload),
    }
}

/// [`decode_frame`] for a request, decoded into `into` instead of returned: the body is
/// written in place (its variant, then its content element by element), so that decoding
/// takes no request-sized temporaries (a device decodes every request it serves). The same
/// frames are accepted and refused, with the same errors (tested). On error `into` may be
/// partly written, but always holds a well-formed request.
///
/// `#[inline]`: compiled in the crate that calls it (see `Model::from_blob`).
#[inline]
pub fn decode_request_frame(frame: &mut [u8], into: &mut Envelope<Request>) -> Result<(), FrameError> {
    decode_checked_into(versioned_payload(frame)?, into).map_err(frame_error)
}

/// A blob error as a frame error (see [`decode_frame`]).
fn frame_error(e: BlobError) -> FrameError {
    match e {
        BlobError::Truncated => FrameError::Truncated,
        BlobError::BadChecksum => FrameError::BadChecksum,
        _ => FrameError::Malformed,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-place encoder gives `cobs::try_encode`'s bytes, for every length up to
    /// MAX_PAYLOAD and for the run lengths where COBS adds a code byte.
    #[test]
    fn cobs_in_place_matches_cobs() {
        let mut next = crate::util::xorshift32(0x9e37_79b9);
        let mut lengths: heapless::Vec<usize, 64> = heapless::Vec::new();
        for n in [0, 1, 2, 253, 254, 255, 256, 507, 508, 509, 762, 1015, 1016, 1270, 1524, 1599, MAX_PAYLOAD] {
            lengths.push(n).unwrap();
        }
        for _ in 0..40 {
            lengths.push(next() as usize % (MAX_PAYLOAD + 1)).unwrap();
        }
        for &n in &lengths {
            // No zeros (full runs), few zeros, many zeros.
            for zeros in [0u32, 97, 3] {
                let mut payload = [0u8; MAX_PAYLOAD];
                for b in payload[..n].iter_mut() {
                    let r = next();
                    *b = if zeros != 0 && r % zeros == 0 { 0 } else { (r >> 8) as u8 | 1 };
                }
                let mut expect = [0u8; MAX_FRAME];
                let want = cobs::try_encode(&payload[..n], &mut expect).unwrap();
                let mut buf = [0xA5u8; MAX_FRAME];
                buf[FRAME_HEADROOM..FRAME_HEADROOM + n].copy_from_slice(&payload[..n]);
                let got = cobs_encode_in_place(&mut buf, FRAME_HEADROOM, n).unwrap();
                assert_eq!(got, want, "n {n}, zeros {zeros}");
                assert_eq!(&buf[..got], &expect[..want], "n {n}, zeros {zeros}");
            }
        }
    }

    /// One request of each kind (the match fails to compile when a kind is added).
    fn every_request() -> [Request; 11] {
        use crate::input::Candidate;
        use crate::state::{Feedback, FeedbackKind};
        let each = |r: &Request| match r {
            Request::Ping
            | Request::Info
            | Request::LoadModel(_)
            | Request::LoadProfile(_)
            | Request::RankBegin { .. }
            | Request::RankChunk(_)
            | Request::RankEnd
            | Request::Feedback(_)
            | Request::Stats
            | Request::ResetState
            | Request::RankShown(_) => (),
        };
        let candidate =
            |i: u32| Candidate { item_id: i * 1_000_003, author_id: i, topic: i as u8, ..Candidate::default() };
        let event = |i: u32| Feedback {
            item_id: i,
            author_id: 7 * i,
            topic: 3,
            at: 1_700_000_000 + i,
            kind: FeedbackKind::Like,
        };
        let all = [
            Request::Ping,
            Request::Info,
            Request::LoadModel(heapless::Vec::from_slice(&[0x45, 0x80, 0xff, 0, 1]).unwrap()),
            Request::LoadProfile(heapless::Vec::from_slice(&[0x45; 40]).unwrap()),
            Request::RankBegin { now: 1_700_000_000, k: 32 },
            Request::RankChunk((0..8).map(candidate).collect()),
            Request::RankEnd,
            Request::Feedback((0..5).map(event).collect()),
            Request::Stats,
            Request::ResetState,
            Request::RankShown(
                (0..8)
                    .map(|i| crate::pipeline::ShownItem {
                        item_id: i * 1_000_003,
                        author_id: i,
                        kind: crate::input::ContentKind::Live,
                        in_network: i % 2 == 0,
                        placement: crate::pipeline::Placement::Constrained,
                    })
                    .collect(),
            ),
        ];
        all.iter().for_each(each);
        all
    }

    /// A zero byte inside a frame is a delimiter the caller missed: the frame is refused,
    /// not decoded up to the zero with the rest dropped.
    #[test]
    fn a_frame_with_a_zero_inside_is_refused() {
        let mut scratch = [0u8; MAX_PAYLOAD];
        let mut out = [0u8; MAX_FRAME];
        let envelope = Envelope::new(7, Request::Ping);
        let frame = encode_frame(&envelope, &mut scratch, &mut out).unwrap();
        let frame = &frame[..frame.len() - 1];
        let mut whole = heapless::Vec::<u8, 64>::from_slice(frame).unwrap();
        assert_eq!(decode_frame::<Envelope<Request>>(&mut whole.clone()), Ok(envelope));
        whole.extend_from_slice(&[0x00, 0x42, 0x99, 0x13]).unwrap();
        assert_eq!(decode_frame::<Envelope<Request>>(&mut whole.clone()), Err(FrameError::Cobs));
        let mut place = Envelope::new(1, Request::Ping);
        assert_eq!(decode_request_frame(&mut whole, &mut place), Err(FrameError::Cobs));
    }

    /// `decode_request_frame` accepts and refuses what `decode_frame` does, with the same
    /// errors and the same requests: valid frames of every kind, every byte of them changed,
    /// truncated and extended, and content changed under a valid checksum.
    #[test]
    fn request_frames_decode_in_place_as_decode_frame_does() {
        fn check(frame: &[u8], seen: &mut [usize; 2]) {
            let mut a = heapless::Vec::<u8, { MAX_FRAME + 8 }>::from_slice(frame).unwrap();
            let mut b = a.clone();
            let expected = decode_frame::<Envelope<Request>>(&mut a);
            // A place left over from another request: decoding overwrites all of it.
            let mut place = Envelope::new(9, Request::Feedback(heapless::Vec::new()));
            let got = decode_request_frame(&mut b, &mut place);
            match expected {
                Ok(request) => {
                    assert_eq!(got, Ok(()), "{frame:02x?}");
                    assert_eq!(place, request);
                    seen[0] += 1;
                }
                Err(e) => {
                    assert_eq!(got, Err(e), "{frame:02x?}");
                    seen[1] += 1;
                }
            }
        }
        let mut seen = [0usize; 2];
        let mut scratch = [0u8; MAX_PAYLOAD];
        let mut out = [0u8; MAX_FRAME];
        for (id, request) in every_request().into_iter().enumerate() {
            let envelope = Envelope::new(id as u16 * 300, request);
            let frame = encode_frame(&envelope, &mut scratch, &mut out).unwrap();
            let frame = &frame[..frame.len() - 1];
            check(frame, &mut seen);
            for i in 0..frame.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut bad = heapless::Vec::<u8, MAX_FRAME>::from_slice(frame).unwrap();
                    bad[i] ^= flip;
                    check(&bad, &mut seen);
                }
                check(&frame[..i], &mut seen);
            }
            // The content changed and the checksum recomputed: each byte changed, dropped, or
            // preceded by an over-long varint's continuation byte.
            let payload = encode_checked(&envelope, &mut scratch).unwrap().len() - 4;
            let content = heapless::Vec::<u8, MAX_PAYLOAD>::from_slice(&scratch[..payload]).unwrap();
            for i in 0..content.len() {
                for variant in 0..4 {
                    let mut changed = content.clone();
                    match variant {
                        0 => changed[i] ^= 0x81,
                        1 => changed[i] = changed[i].wrapping_add(1),
                        2 => {
                            changed.remove(i);
                        }
                        _ => changed.insert(i, 0x80).unwrap(),
                    }
                    changed.extend_from_slice(&super::super::CRC.checksum(&changed).to_le_bytes()).unwrap();
                    let mut framed = [0u8; MAX_FRAME];
                    let n = cobs::try_encode(&changed, &mut framed).unwrap();
                    check(&framed[..n], &mut seen);
                }
            }
        }
        // Both outcomes are exercised, the second far more often.
        assert!(seen[0] >= 10 && seen[1] > seen[0], "{seen:?}");
    }

    /// The same frames as `encode_frame` with separate buffers, and the same refusal of a
    /// message too long for MAX_PAYLOAD.
    #[test]
    fn in_place_frames_match_encode_frame() {
        let mut scratch = [0u8; MAX_PAYLOAD];
        let mut out = [0u8; MAX_FRAME];
        let mut buf = [0u8; MAX_FRAME + 5];
        let mut bytes = heapless::Vec::<u8, 1700>::new();
        for n in [0usize, 1, 250, 251, 252, 253, 254, 600, 1580, 1590, 1594, 1595, 1596, 1600, 1700] {
            bytes.clear();
            for i in 0..n {
                bytes.push((i % 255) as u8 + 1).unwrap();
            }
            let message = (WIRE_VERSION, bytes.as_slice());
            let two = encode_frame(&message, &mut scratch, &mut out);
            let one = encode_frame_in_place(&message, &mut buf);
            assert_eq!(one, two, "{n} bytes");
        }
    }
}
