//! Checksummed postcard encoding shared by blobs (models, profiles, user state) and frames.
//!
//! Layout: `postcard(value) ++ crc32c(postcard(value)).to_le_bytes()`.
//!
//! Decoding is strict, so that every build reads the same bytes the same way, whatever its
//! pointer width:
//! 1. fewer than 5 bytes (one byte of content and the checksum) is [`BlobError::Truncated`];
//! 2. the checksum is verified before anything is decoded: a mismatch (corruption, or bytes
//!    lost or added in transit) is [`BlobError::BadChecksum`];
//! 3. the content must decode, use every byte, and be the canonical encoding of the value it
//!    decodes to (re-encoding it gives the same bytes), else [`BlobError::Malformed`].
//!
//! Step 3 matters because postcard reads `usize` lengths as varints of at most 5 bytes on
//! 32-bit targets and 10 bytes on 64-bit hosts: an over-long length would be accepted on a host
//! and refused on a device. Canonical encodings of our bounded messages never need more than
//! 3 bytes, so requiring them makes a device and a host agree on every input, error kind
//! included.

use serde::de::{DeserializeOwned, Deserializer};
use serde::Serialize;

use crate::error::BlobError;

/// CRC-32 used by every checksummed encoding: CRC-32C (Castagnoli; `crc::CRC_32_ISCSI`, as
/// postcard's `use-crc` computes it).
pub const CRC: Crc32c = Crc32c;

/// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final XOR all
/// ones; check value 0xE3069283. Computed four bits at a time from a 16-entry table: a
/// device keeps 64 bytes of table instead of the 1 KB of a byte-wise one, and the checksum
/// of a frame still costs little next to receiving it (two lookups per byte). The same
/// values as the `crc` crate's `CRC_32_ISCSI` (tested).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Crc32c;

impl Crc32c {
    /// The reflected polynomial.
    const POLY: u32 = 0x82F6_3B78;

    /// The CRC of each 4-bit value, fed low bit first.
    const NIBBLES: [u32; 16] = {
        let mut table = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut c = i as u32;
            let mut bit = 0;
            while bit < 4 {
                c = if c & 1 != 0 { (c >> 1) ^ Self::POLY } else { c >> 1 };
                bit += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };

    /// The checksum of `bytes`.
    pub fn checksum(&self, bytes: &[u8]) -> u32 {
        !Self::update(!0, bytes)
    }

    /// Feeds `bytes` into a running (not yet inverted) CRC register.
    #[inline]
    fn update(mut crc: u32, bytes: &[u8]) -> u32 {
        for &b in bytes {
            crc ^= b as u32;
            crc = (crc >> 4) ^ Self::NIBBLES[(crc & 15) as usize];
            crc = (crc >> 4) ^ Self::NIBBLES[(crc & 15) as usize];
        }
        crc
    }
}

/// Bytes of the trailing checksum.
const CRC_LEN: usize = 4;

/// Encodes `value` as postcard followed by a little-endian CRC-32 of those bytes.
pub fn encode_checked<'b, T: Serialize>(value: &T, buf: &'b mut [u8]) -> Result<&'b mut [u8], BlobError> {
    postcard::serialize_with_flavor(value, Checked { buf, pos: 0, crc: !0 }).map_err(|_| BlobError::BufferTooSmall)
}

/// A postcard output into a slice that keeps the CRC of what it wrote and appends it (what
/// postcard's `to_slice_crc32` writes).
struct Checked<'b> {
    buf: &'b mut [u8],
    pos: usize,
    /// The running CRC register of the bytes written.
    crc: u32,
}

impl<'b> postcard::ser_flavors::Flavor for Checked<'b> {
    type Output = &'b mut [u8];

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.try_extend(&[byte])
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        let end = self.pos + bytes.len();
        let slot = self.buf.get_mut(self.pos..end).ok_or(postcard::Error::SerializeBufferFull)?;
        slot.copy_from_slice(bytes);
        self.crc = Crc32c::update(self.crc, bytes);
        self.pos = end;
        Ok(())
    }

    fn finalize(self) -> postcard::Result<&'b mut [u8]> {
        let end = self.pos + CRC_LEN;
        let buf = self.buf.get_mut(..end).ok_or(postcard::Error::SerializeBufferFull)?;
        buf.get_mut(self.pos..)
            .ok_or(postcard::Error::SerializeBufferFull)?
            .copy_from_slice(&(!self.crc).to_le_bytes());
        Ok(buf)
    }
}

/// Decodes bytes written by [`encode_checked`]: checksum first, then strict content (see the
/// module documentation for the error each failure gives).
pub fn decode_checked<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, BlobError> {
    let content = checked_content(bytes)?;
    let (value, rest) = postcard::take_from_bytes::<T>(content).map_err(|_| BlobError::Malformed)?;
    if !rest.is_empty() || !is_canonical(&value, content) {
        return Err(BlobError::Malformed);
    }
    Ok(value)
}

/// A value that can be decoded into its place (see [`decode_checked_into`]).
pub(crate) trait DecodeInPlace: Serialize {
    /// Decodes from `deserializer` into `self`, writing each part where it belongs, with no
    /// temporary value of `Self`. On error `self` may be partly written.
    fn decode_in_place<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error>;
}

/// [`decode_checked`] into a place instead of returning a value: the content is decoded
/// straight into `*place`, then the same checks apply, the canonical-encoding one to `*place`.
/// On error `*place` may be partly written.
pub(crate) fn decode_checked_into<T: DecodeInPlace>(bytes: &[u8], place: &mut T) -> Result<(), BlobError> {
    let content = checked_content(bytes)?;
    let mut de = postcard::Deserializer::from_bytes(content);
    place.decode_in_place(&mut de).map_err(|_| BlobError::Malformed)?;
    let rest = de.finalize().map_err(|_| BlobError::Malformed)?;
    if !rest.is_empty() || !is_canonical(place, content) {
        return Err(BlobError::Malformed);
    }
    Ok(())
}

/// The content of a checksummed encoding, once its length and checksum are verified. Always
/// inlined: the frame decoder inlines [`decode_checked`] and keeps this in its body.
#[inline(always)]
fn checked_content(bytes: &[u8]) -> Result<&[u8], BlobError> {
    if bytes.len() <= CRC_LEN {
        return Err(BlobError::Truncated);
    }
    // Cannot fail after the length check; `get` and `try_into` keep a panic path out of the
    // size-built firmware (`split_at` and `split_last_chunk` call an out-of-line `split_at`).
    let at = bytes.len() - CRC_LEN;
    let (Some(content), Some(Ok(stored))) = (bytes.get(..at), bytes.get(at..).map(<[u8; CRC_LEN]>::try_from)) else {
        return Err(BlobError::Truncated);
    };
    if CRC.checksum(content) != u32::from_le_bytes(stored) {
        return Err(BlobError::BadChecksum);
    }
    Ok(content)
}

/// Whether `value` encodes to exactly `bytes` (compared as it is encoded: no buffer needed).
fn is_canonical<T: Serialize>(value: &T, bytes: &[u8]) -> bool {
    postcard::serialize_with_flavor(value, Compare { expected: bytes, pos: 0 }).unwrap_or(false)
}

/// A postcard output that compares the encoding with `expected` instead of storing it.
struct Compare<'a> {
    expected: &'a [u8],
    pos: usize,
}

impl postcard::ser_flavors::Flavor for Compare<'_> {
    /// Whether every byte matched and none is missing.
    type Output = bool;

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        match self.expected.get(self.pos) {
            Some(&b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            // Stops the encoding at the first difference.
            _ => Err(postcard::Error::SerializeBufferFull),
        }
    }

    fn finalize(self) -> postcard::Result<bool> {
        Ok(self.pos == self.expected.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message with a length prefix, like the wire's blobs and chunks.
    type Bytes = heapless::Vec<u8, 16>;

    fn with_crc(content: &[u8]) -> heapless::Vec<u8, 32> {
        let mut v = heapless::Vec::from_slice(content).unwrap();
        v.extend_from_slice(&CRC.checksum(content).to_le_bytes()).unwrap();
        v
    }

    /// The same checksums as the `crc` crate's CRC-32C (which postcard's `use-crc` uses), and
    /// the same bytes as postcard's `to_slice_crc32`.
    #[test]
    fn crc32c_matches_the_crc_crate_and_postcard() {
        let reference = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
        assert_eq!(CRC.checksum(b"123456789"), 0xE306_9283);
        let mut data = [0u8; 600];
        let mut next = crate::util::xorshift32(0x1234_5678);
        for b in data.iter_mut() {
            *b = next() as u8;
        }
        for n in [0, 1, 2, 3, 7, 8, 255, 256, 599, 600] {
            assert_eq!(CRC.checksum(&data[..n]), reference.checksum(&data[..n]), "{n} bytes");
        }
        for n in [0usize, 1, 5, 16] {
            let value: Bytes = heapless::Vec::from_slice(&data[..n]).unwrap();
            let mut ours = [0u8; 32];
            let mut theirs = [0u8; 32];
            let a = encode_checked(&value, &mut ours).unwrap();
            let b = postcard::to_slice_crc32(&value, &mut theirs, reference.digest()).unwrap();
            assert_eq!(a, b);
            // Too small by one byte, in the content or in the checksum: refused as postcard does.
            for short in [a.len() - 1, a.len() - 5] {
                let mut small = [0u8; 32];
                assert_eq!(encode_checked(&value, &mut small[..short]), Err(BlobError::BufferTooSmall));
            }
        }
    }

    #[test]
    fn round_trips() {
        let value: Bytes = heapless::Vec::from_slice(&[1, 2, 3]).unwrap();
        let mut buf = [0u8; 32];
        let bytes = encode_checked(&value, &mut buf).unwrap();
        assert_eq!(decode_checked::<Bytes>(bytes), Ok(value));
    }

    #[test]
    fn errors_in_order_truncated_checksum_malformed() {
        assert_eq!(decode_checked::<Bytes>(&[0, 1, 2, 3]), Err(BlobError::Truncated));
        let mut good = with_crc(&[2, 7, 9]);
        assert!(decode_checked::<Bytes>(&good).is_ok());
        good[1] ^= 1;
        assert_eq!(decode_checked::<Bytes>(&good), Err(BlobError::BadChecksum));
        // Correct checksum over content that ends early: the length says 5, 2 bytes follow.
        assert_eq!(decode_checked::<Bytes>(&with_crc(&[5, 7, 9])), Err(BlobError::Malformed));
        // Trailing bytes after the value.
        assert_eq!(decode_checked::<Bytes>(&with_crc(&[1, 7, 9])), Err(BlobError::Malformed));
    }

    /// A length prefix as a 6-byte varint: a 32-bit postcard refuses it as a bad varint, a
    /// 64-bit one would read it; both builds must refuse it the same way.
    #[test]
    fn over_long_length_prefix_is_malformed_on_every_width() {
        let zero_in_six_bytes = [0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert_eq!(decode_checked::<Bytes>(&with_crc(&zero_in_six_bytes)), Err(BlobError::Malformed));
        // Two in two bytes (canonical is one byte).
        assert_eq!(decode_checked::<Bytes>(&with_crc(&[0x82, 0x00, 7, 9])), Err(BlobError::Malformed));
        // A huge length in ten bytes, followed by too little: was `Truncated` on 64-bit hosts.
        let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 7];
        assert_eq!(decode_checked::<Bytes>(&with_crc(&huge)), Err(BlobError::Malformed));
    }
}
