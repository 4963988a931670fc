//! Checksummed postcard encoding shared by blobs (models, profiles, user state) and frames.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::BlobError;

/// CRC-32 used by every checksummed encoding (Castagnoli, as postcard's `use-crc` expects).
pub const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// Encodes `value` as postcard followed by a little-endian CRC-32 of those bytes.
pub fn encode_checked<'b, T: Serialize>(value: &T, buf: &'b mut [u8]) -> Result<&'b mut [u8], BlobError> {
    postcard::to_slice_crc32(value, buf, CRC.digest()).map_err(|_| BlobError::BufferTooSmall)
}

/// Decodes bytes written by [`encode_checked`], verifying the checksum first.
pub fn decode_checked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BlobError> {
    if bytes.len() < 5 {
        return Err(BlobError::Truncated);
    }
    postcard::from_bytes_crc32(bytes, CRC.digest()).map_err(|e| match e {
        postcard::Error::DeserializeBadCrc => BlobError::BadChecksum,
        postcard::Error::DeserializeUnexpectedEnd => BlobError::Truncated,
        _ => BlobError::Malformed,
    })
}
