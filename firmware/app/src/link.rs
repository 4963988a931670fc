//! Frames over a byte stream: requests in, responses out, bad frames answered here.
//!
//! Every frame is COBS-encoded postcard with a CRC-32C, ended by 0x00 (see
//! `edgerank_core::wire`). A frame that is corrupted, truncated, longer than [`MAX_FRAME`]
//! or of another wire version is answered with `Response::Error(WireError::Frame(..))` and
//! request id 0, counted in `frames_bad`, and otherwise ignored: the reader re-synchronises
//! on the next delimiter and nothing else changes.
//!
//! One buffer ([`LINK_BUFFER`] bytes) serves every purpose the link has, because their
//! lifetimes never overlap: the frame being read lives in it only inside
//! [`Link::next_request`] (which decodes the request out of the buffer into the caller's
//! place, and only once the frame is complete), a response's payload and frame only inside [`Link::send`],
//! and between those calls it holds nothing and is lent out through [`Link::buffer`] (the
//! flash store reads and writes its values through it). Each use takes `&mut Link`, so the
//! borrow checker rules out any two at once. A response is encoded in place
//! (`encode_frame_in_place`: the payload behind the frame's headroom, COBS-encoded forwards
//! over it), so the link needs [`MAX_FRAME`] bytes and the store's values are larger: the
//! buffer is the store's size. Separate buffers (a frame reader, a payload scratch, an output
//! frame, and the store's own) took 7,864 B of static memory; this one takes 2,984 B.

use edgerank_core::wire::{
    decode_request_frame, encode_frame_in_place, DeviceStats, Envelope, FrameError, Request, Response, WireError,
    MAX_FRAME,
};
use embedded_io::{Read, Write};

use crate::persist::BUFFER;

/// Bytes of the link's buffer: an incoming or outgoing frame of [`MAX_FRAME`] bytes, or a
/// stored value of [`BUFFER`] bytes.
pub const LINK_BUFFER: usize = max(MAX_FRAME, BUFFER);

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Bytes taken from the UART per `read` call (the CMSDK UART hands over one at a time;
/// UARTs with a FIFO may give more).
const RX_CHUNK: usize = 16;

/// The device's end of the serial link, with its buffers and frame counters.
pub struct Link<IO> {
    io: IO,
    /// See the module documentation: the frame being read, or a response being encoded, or
    /// lent out between calls.
    buf: [u8; LINK_BUFFER],
    /// Bytes of the frame being read (in `buf[..len]`, at most [`MAX_FRAME`]); 0 outside
    /// [`Link::next_request`].
    len: usize,
    /// Whether the frame being read passed [`MAX_FRAME`] bytes (dropped at its delimiter).
    overflowed: bool,
    rx: [u8; RX_CHUNK],
    rx_pos: usize,
    rx_len: usize,
    /// Counters since boot (`boots` is the board's boot counter).
    pub stats: DeviceStats,
}

impl<IO: Read + Write> Link<IO> {
    /// A link over `io`; `boots` is reported in `DeviceStats::boots`.
    pub const fn new(io: IO, boots: u32) -> Self {
        Self {
            io,
            buf: [0; LINK_BUFFER],
            len: 0,
            overflowed: false,
            rx: [0; RX_CHUNK],
            rx_pos: 0,
            rx_len: 0,
            stats: DeviceStats { frames_ok: 0, frames_bad: 0, rank_calls: 0, feedback_events: 0, boots, store_failures: 0 },
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

    /// Blocks until a frame decodes as a request, answering every bad frame on the way; the
    /// request is decoded into `into` (in place: `decode_request_frame`).
    ///
    /// Frames are collected as `edgerank_core::wire::FrameReader<MAX_FRAME>` collects them
    /// (the same frames, the same overflow rule), into the link's buffer; it returns only
    /// after a whole frame has been decoded into `into`, with no frame pending. A frame that
    /// does not decode may leave a partly written request in `into`, which the next frame
    /// overwrites.
    pub fn next_request(&mut self, into: &mut Envelope<Request>) {
        loop {
            let byte = self.byte();
            if byte != 0 {
                match self.buf.get_mut(self.len) {
                    Some(slot) if self.len < MAX_FRAME => {
                        *slot = byte;
                        self.len += 1;
                    }
                    _ => self.overflowed = true,
                }
                continue;
            }
            let len = core::mem::replace(&mut self.len, 0);
            let error = if core::mem::replace(&mut self.overflowed, false) {
                FrameError::TooLong
            } else if len == 0 {
                // Back-to-back delimiters: an empty frame carries nothing.
                continue;
            } else {
                // `len` never exceeds MAX_FRAME; `get_mut` keeps a panic path out of the loop.
                match self.buf.get_mut(..len) {
                    Some(frame) => match decode_request_frame(frame, into) {
                        Ok(()) => {
                            self.stats.frames_ok = self.stats.frames_ok.wrapping_add(1);
                            return;
                        }
                        Err(e) => e,
                    },
                    None => FrameError::TooLong,
                }
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

    /// The serial driver (a host test reads what the device sent through it).
    pub fn io_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// The link's buffer, lent out between frames (the flash store encodes and reads its
    /// values in it): nothing of the link's lives in it outside [`Link::next_request`] and
    /// [`Link::send`], and `&mut self` keeps both from running while it is lent.
    pub fn buffer(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Sends one response frame.
    pub fn send(&mut self, request_id: u16, response: &Response) {
        match encode_frame_in_place(&Envelope::new(request_id, response), &mut self.buf) {
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
