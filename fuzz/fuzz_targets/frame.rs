//! Any byte stream through the frame reader and decoder (COBS, checksum, postcard envelope).
//!
//! Invariants: a frame that decodes is canonical (its message encodes back to exactly the
//! payload received) and decodes again to the same message; each reader hands over exactly the
//! bytes since the last delimiter when they fit its buffer, reports an overflow exactly when
//! they do not, and skips empty frames; nothing panics.
#![no_main]

use edgerank_core::wire::{
    decode_frame, encode_checked, encode_frame, Envelope, Feed, FrameReader, Request, Response, MAX_FRAME, MAX_PAYLOAD,
};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};

fuzz_target!(|data: &[u8]| {
    // The device's reader, and a small one that overflows often.
    let mut big = FrameReader::<MAX_FRAME>::new();
    let mut small = FrameReader::<24>::new();
    // The bytes since the last delimiter: what each reader must answer at the next one.
    let mut since = 0usize;
    for (at, &byte) in data.iter().enumerate() {
        let frame_bytes = &data[at - since..at];
        let expect = |cap: usize| match byte {
            0 if since == 0 => "pending",
            0 if since > cap => "overflow",
            0 => "frame",
            _ => "pending",
        };
        match big.feed(byte) {
            Feed::Frame(frame) => {
                assert_eq!(expect(MAX_FRAME), "frame");
                assert_eq!(&frame[..], frame_bytes, "the frame is the bytes since the last delimiter");
                check::<Envelope<Request>>(frame);
                check::<Envelope<Response>>(frame);
            }
            Feed::Overflow => assert_eq!(expect(MAX_FRAME), "overflow"),
            Feed::Pending => assert_eq!(expect(MAX_FRAME), "pending"),
        }
        match small.feed(byte) {
            Feed::Frame(frame) => {
                assert_eq!(expect(24), "frame");
                assert_eq!(&frame[..], frame_bytes);
            }
            Feed::Overflow => assert_eq!(expect(24), "overflow", "{since} bytes"),
            Feed::Pending => assert_eq!(expect(24), "pending", "{since} bytes"),
        }
        since = if byte == 0 { 0 } else { since + 1 };
    }
    // The whole input as one frame, zeros included (not valid COBS).
    check::<Envelope<Request>>(data);
});

/// Decodes a copy of `frame`; if it decodes, checks the re-encoding.
fn check<T: DeserializeOwned + Serialize + PartialEq + core::fmt::Debug>(frame: &[u8]) {
    let mut bytes = frame.to_vec();
    let Ok(message) = decode_frame::<T>(&mut bytes) else { return };
    // What the COBS layer held: the payload (postcard + CRC).
    let mut payload = frame.to_vec();
    let n = cobs::decode_in_place(&mut payload).expect("it decoded once");
    let mut again = [0u8; MAX_PAYLOAD];
    let encoded = encode_checked(&message, &mut again).expect("a decoded message fits");
    assert_eq!(&payload[..n], &encoded[..], "accepted a non-canonical encoding of {message:?}");
    let mut scratch = [0u8; MAX_PAYLOAD];
    let mut out = [0u8; MAX_FRAME];
    let reframed = encode_frame(&message, &mut scratch, &mut out).expect("fits a frame");
    let mut reframed = reframed[..reframed.len() - 1].to_vec();
    assert_eq!(decode_frame::<T>(&mut reframed).as_ref(), Ok(&message));
}
