//! The wire format shared by firmware and host: postcard messages, COBS framing.

mod codec;

pub use codec::{decode_checked, encode_checked, CRC};
