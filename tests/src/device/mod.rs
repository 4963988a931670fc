//! Testing edgerank firmware in QEMU: predict its answers with the host build of the core and
//! check them frame by frame.
//!
//! The client itself (QEMU launcher, boards, frames) is the simulator's
//! [`edgerank_sim::device`], re-exported here so the tests and `edgerank-sim compare --device
//! qemu` share one implementation.
//!
//! - [`mirror`]: [`Mirror`], what the device should answer to each request, computed on the
//!   host with the same core code, frame for frame.
//! - [`traffic`]: random rank sessions, feedback and garbage frames.
//! - [`bench`]: what `cargo xtask device-bench` measures (instruction counts, sizes, stack).
//! - [`reboot`]: a firmware in QEMU that can be reset and boots again (warm boots).
//! - [`Checked`]: a device and its mirror together: whatever is sent goes to both, and
//!   every frame the device sends back must equal the mirror's, byte for byte.
//!
//! The firmware is built by `cargo xtask firmware`; `cargo xtask qemu-test` runs the tests
//! in `tests/tests/qemu_device.rs` that use this module.

pub mod bench;
pub mod mirror;
pub mod reboot;
pub mod traffic;

use std::collections::VecDeque;

use edgerank_core::wire::{FrameError, Request, Response, WireError};

pub use edgerank_sim::device::{
    decode_response, encode, encode_request, encode_response, find_program, qemu, without_delimiter, Board,
    DeviceError, QemuDevice, QemuOptions, BENCH_FIRMWARE, BOARDS, MPS2_AN385, MPS2_AN386, PROTOCOL_FIRMWARE,
};
pub use mirror::Mirror;

/// A device and its [`Mirror`]: every byte sent goes to both, and every frame the device
/// sends must equal the mirror's prediction byte for byte (checked by [`Checked::settle`]).
pub struct Checked {
    /// The device.
    pub device: QemuDevice,
    /// The host's copy.
    pub mirror: Mirror,
    /// Predicted frames (without delimiter) not yet received, with what they encode and the
    /// frame that asked for them.
    expected: VecDeque<(Vec<u8>, u16, Response, Vec<u8>)>,
    /// Frames received and found equal so far.
    pub frames_checked: u64,
    /// Frame errors the device classified as `Malformed` where the host build of the core says
    /// `Truncated` (see [`Checked::settle`]); counted, not failed.
    pub width_dependent_errors: u64,
}

impl Checked {
    /// Pairs a freshly booted device with a mirror of boot `boots`.
    pub fn new(device: QemuDevice, boots: u32) -> Self {
        Self {
            device,
            mirror: Mirror::boot(boots),
            expected: VecDeque::new(),
            frames_checked: 0,
            width_dependent_errors: 0,
        }
    }

    /// Sends raw bytes; returns the answers they must produce (also queued for checking).
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<Vec<(u16, Response)>, String> {
        let answers = self.mirror.receive_frames(bytes);
        for (id, response, frame) in &answers {
            let want = without_delimiter(&encode_response(*id, response)).to_vec();
            self.expected.push_back((want, *id, response.clone(), frame.clone()));
        }
        self.device.send_bytes(bytes).map_err(|e| e.to_string())?;
        Ok(answers.into_iter().map(|(id, response, _)| (id, response)).collect())
    }

    /// Sends one request with a fresh id; returns the answer it must get.
    pub fn send(&mut self, request: &Request) -> Result<Response, String> {
        let id = self.device.next_id();
        let mut answers = self.send_bytes(&encode_request(id, request))?;
        assert_eq!(answers.len(), 1, "one frame, one answer");
        Ok(answers.pop().expect("one answer").1)
    }

    /// Receives every predicted frame and compares it with the prediction.
    ///
    /// One difference is tolerated, and counted in `width_dependent_errors`: a garbage frame
    /// the host decoder calls `Truncated` may be `Malformed` on the device. postcard reads a
    /// length prefix (`usize`) as a varint of at most 5 bytes on a 32-bit target and 10 on a
    /// 64-bit host, so a 6-to-10-byte prefix is a bad varint on the device but a huge length
    /// on the host, which then runs out of bytes. Both refuse the frame; only the reported
    /// reason differs.
    pub fn settle(&mut self) -> Result<(), String> {
        while let Some((want, id, response, asked)) = self.expected.pop_front() {
            let got = self
                .device
                .recv_frame()
                .map_err(|e| format!("waiting for the answer to {id} ({}): {e}", brief(&response)))?;
            if got != want && response == Response::Error(WireError::Frame(FrameError::Truncated)) {
                let malformed = encode_response(0, &Response::Error(WireError::Frame(FrameError::Malformed)));
                if got == without_delimiter(&malformed) {
                    self.width_dependent_errors += 1;
                    self.frames_checked += 1;
                    continue;
                }
            }
            if got != want {
                let decoded = match decode_response(&got) {
                    Ok(env) => format!("id {} {:?}", env.request_id, env.body),
                    Err(e) => format!("undecodable ({e})"),
                };
                return Err(format!(
                    "device answered differently:\n  expected id {id} {}\n  got      {}\n  expected bytes {:02x?}\n  \
                     got bytes      {:02x?}\n  in answer to the frame {:02x?}",
                    brief(&response),
                    truncate(&decoded),
                    &want[..want.len().min(48)],
                    &got[..got.len().min(48)],
                    &asked[..asked.len().min(96)],
                ));
            }
            self.frames_checked += 1;
        }
        Ok(())
    }

    /// Sends one request, waits for every outstanding answer, and returns this one's.
    pub fn call(&mut self, request: &Request) -> Result<Response, String> {
        let response = self.send(request)?;
        self.settle()?;
        Ok(response)
    }

    /// Answers predicted but not yet checked.
    pub fn outstanding(&self) -> usize {
        self.expected.len()
    }
}

/// A response's debug form, shortened for messages.
fn brief(response: &Response) -> String {
    truncate(&format!("{response:?}"))
}

fn truncate(s: &str) -> String {
    if s.len() > 300 {
        format!(
            "{}...",
            &s[..s.char_indices().take_while(|(i, _)| *i < 300).last().map_or(0, |(i, c)| i + c.len_utf8())]
        )
    } else {
        s.to_string()
    }
}
