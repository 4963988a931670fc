//! Frames over a byte stream: requests in, responses out, bad frames answered here.
//!
//! Every frame is COBS-encoded postcard with a CRC-32C, ended by 0x00 (see
//! `edgerank_core::wire`). A frame that is corrupted, truncated, longer than [`MAX_FRAME`]
//! or of another wire version is answered with `Response::Error(WireError::Frame(..))` and
//! request id 0, counted in `frames_bad`, and otherwise ignored: the reader re-synchronises
//! on the next delimiter and nothing else changes.

use edgerank_core::wire::{
    decode_frame, encode_frame, DeviceStats, Envelope, Feed, FrameError, FrameReader, Request, Response, WireError,
    MAX_FRAME, MAX_PAYLOAD,
};
use embedded_io::{Read, Write};

/// Bytes taken from the UART per `read` call (the CMSDK UART hands over one at a time;
/// UARTs with a FIFO may give more).
const RX_CHUNK: usize = 16;

/// The device's end of the serial link, with its buffers and frame counters.
pub struct Link<IO> {
    io: IO,
    reader: FrameReader<MAX_FRAME>,
    rx: [u8; RX_CHUNK],
    rx_pos: usize,
    rx_len: usize,
    scratch: [u8; MAX_PAYLOAD],
    out: [u8; MAX_FRAME],
    /// Counters since boot (`boots` is the board's boot counter).
    pub stats: DeviceStats,
}

impl<IO: Read + Write> Link<IO> {
    /// A link over `io`; `boots` is reported in `DeviceStats::boots`.
    pub const fn new(io: IO, boots: u32) -> Self {
        Self {
            io,
            reader: FrameReader::new(),
            rx: [0; RX_CHUNK],
            rx_pos: 0,
            rx_len: 0,
            scratch: [0; MAX_PAYLOAD],
            out: [0; MAX_FRAME],
            stats: DeviceStats { frames_ok: 0, frames_bad: 0, rank_calls: 0, feedback_events: 0, boots },
        }
    }

    /// The next byte from the stream; blocks. Read errors (e.g. a UART overrun) are logged
    /// and skipped: a frame that lost bytes fails its checksum and is answered as bad.
    fn byte(&mut self) -> u8 {
        loop {
            if self.rx_pos < self.rx_len {
                if let Some(&b) = self.rx.get(self.rx_pos) {
                    self.rx_pos += 1;
                    return b;
                }
            }
            if let Ok(n) = self.io.read(&mut self.rx) {
                self.rx_pos = 0;
                // A driver that claims more than the buffer holds cannot push reads past it.
                self.rx_len = n.min(RX_CHUNK);
            } else {
                crate::log::warn!("serial read error");
            }
        }
    }

    /// Blocks until a frame decodes as a request, answering every bad frame on the way.
    pub fn next_request(&mut self) -> Envelope<Request> {
        loop {
            let byte = self.byte();
            let error = match self.reader.feed(byte) {
                Feed::Pending => continue,
                Feed::Overflow => FrameError::TooLong,
                Feed::Frame(frame) => match decode_frame::<Envelope<Request>>(frame) {
                    Ok(request) => {
                        self.stats.frames_ok = self.stats.frames_ok.wrapping_add(1);
                        return request;
                    }
                    Err(e) => e,
                },
            };
            self.stats.frames_bad = self.stats.frames_bad.wrapping_add(1);
            crate::log::debug!("bad frame: {}", error);
            self.refuse(error);
        }
    }

    /// Answers a bad frame. Out of line, so that its response (about 1 KB) does not sit in
    /// [`Link::next_request`]'s frame while a good request is decoded.
    #[inline(never)]
    fn refuse(&mut self, error: FrameError) {
        self.send(0, &Response::Error(WireError::Frame(error)));
    }

    /// Sends one response frame.
    pub fn send(&mut self, request_id: u16, response: &Response) {
        match encode_frame(&Envelope::new(request_id, response), &mut self.scratch, &mut self.out) {
            Ok(frame) => {
                if self.io.write_all(frame).and_then(|()| self.io.flush()).is_err() {
                    crate::log::warn!("serial write error: response {=u16} lost", request_id);
                }
            }
            // The core's tests bound every response below MAX_FRAME.
            Err(e) => crate::log::error!("response {=u16} does not encode: {}", request_id, e),
        }
    }
}
