//! Error values. One small enum per operation; none of them carries borrowed data, so they
//! can cross the wire unchanged.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Why a model, profile or state blob was refused. The previous good one stays in service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BlobError {
    /// Shorter than its header and checksum, or cut short.
    Truncated,
    /// The CRC-32 does not match: corrupted in transit or storage.
    BadChecksum,
    /// The bytes do not decode as the expected structure.
    Malformed,
    /// Wrong magic bytes: not a blob of this kind.
    BadMagic,
    /// A format version this build does not read.
    UnsupportedVersion(u16),
    /// Decodes, but a value is outside what the ranking path may safely use.
    OutOfRange,
    /// The output buffer is too small.
    BufferTooSmall,
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobError::Truncated => f.write_str("blob is truncated"),
            BlobError::BadChecksum => f.write_str("blob checksum mismatch"),
            BlobError::Malformed => f.write_str("blob does not decode"),
            BlobError::BadMagic => f.write_str("blob has the wrong magic bytes"),
            BlobError::UnsupportedVersion(v) => {
                write!(f, "blob format version {v} is not supported")
            }
            BlobError::OutOfRange => f.write_str("blob holds a value outside its valid range"),
            BlobError::BufferTooSmall => f.write_str("output buffer too small"),
        }
    }
}

impl core::error::Error for BlobError {}

/// Why a rank call failed. Nothing is half-done: the user state is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RankError {
    /// More candidates than the ranker's capacity `N`.
    TooManyCandidates {
        /// The capacity.
        capacity: u32,
    },
    /// Asked for more items than the output capacity `K`.
    KTooLarge {
        /// The capacity.
        capacity: u32,
    },
}

impl fmt::Display for RankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RankError::TooManyCandidates { capacity } => {
                write!(f, "more candidates than the capacity of {capacity}")
            }
            RankError::KTooLarge { capacity } => {
                write!(f, "k exceeds the output capacity of {capacity}")
            }
        }
    }
}

impl core::error::Error for RankError {}

/// Why a feedback event was refused. The user state is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FeedbackError {
    /// The mute list is full of mutes and blocks (see-fewer records are evicted first).
    MuteListFull,
}

impl fmt::Display for FeedbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedbackError::MuteListFull => f.write_str("mute list is full"),
        }
    }
}

impl core::error::Error for FeedbackError {}
