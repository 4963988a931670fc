//! Talking to edgerank firmware in QEMU: start a board with a firmware ELF, exchange wire
//! frames with it over its UART, and predict its answers with the host build of the core.
//!
//! - [`qemu`]: [`QemuDevice`], the client: starts `qemu-system-arm` with the board's UART0
//!   on a TCP socket, decodes the firmware's defmt log with `defmt-print`, sends requests and
//!   reads responses with timeouts, and kills QEMU on drop.
//! - [`mirror`]: [`Mirror`], what the device should answer to each request, computed on the
//!   host with the same core code, frame for frame.
//! - [`traffic`]: random rank sessions, feedback and garbage frames.
//! - [`bench`]: what `cargo xtask device-bench` measures (instruction counts, sizes, stack).
//! - [`Checked`]: a device and its mirror together: whatever is sent goes to both, and
//!   every frame the device sends back must equal the mirror's, byte for byte.
//!
//! The firmware is built by `cargo xtask firmware`; `cargo xtask qemu-test` runs the tests
//! in `tests/tests/qemu_device.rs` that use this module.

pub mod bench;
pub mod mirror;
pub mod qemu;
pub mod traffic;

use std::collections::VecDeque;
use std::path::PathBuf;

use edgerank_core::wire::{
    decode_frame, encode_frame, Envelope, FrameError, Request, Response, WireError, MAX_FRAME, MAX_PAYLOAD,
};

pub use mirror::Mirror;
pub use qemu::{DeviceError, QemuDevice, QemuOptions};

/// A QEMU board the firmware is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Board {
    /// QEMU machine (also the firmware's board feature).
    pub machine: &'static str,
    /// QEMU CPU.
    pub cpu: &'static str,
    /// Rust target the firmware is built for.
    pub target: &'static str,
}

/// Cortex-M4F, ARMv7E-M with FPU.
pub const MPS2_AN386: Board = Board { machine: "mps2-an386", cpu: "cortex-m4", target: "thumbv7em-none-eabihf" };
/// Cortex-M3 running ARMv6-M code.
pub const MPS2_AN385: Board = Board { machine: "mps2-an385", cpu: "cortex-m3", target: "thumbv6m-none-eabi" };
/// Every QEMU board.
pub const BOARDS: [Board; 2] = [MPS2_AN386, MPS2_AN385];

/// The protocol firmware binary.
pub const PROTOCOL_FIRMWARE: &str = "edgerank-firmware";
/// The benchmark firmware binary.
pub const BENCH_FIRMWARE: &str = "edgerank-bench";

impl Board {
    /// Looks a board up by its QEMU machine name.
    pub fn by_machine(machine: &str) -> Option<Board> {
        BOARDS.into_iter().find(|b| b.machine == machine)
    }

    /// The release ELF of firmware binary `bin` for this board: under
    /// `$EDGERANK_FIRMWARE_TARGET_DIR` if set, else `firmware/target` in this repository.
    pub fn elf(&self, bin: &str) -> PathBuf {
        let dir = std::env::var_os("EDGERANK_FIRMWARE_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/target"));
        dir.join(self.target).join("release").join(bin)
    }
}

/// One request as a frame, delimiter included.
pub fn encode_request(request_id: u16, request: &Request) -> Vec<u8> {
    encode(&Envelope::new(request_id, request))
}

/// One response as a frame, delimiter included: what the device must send, byte for byte.
pub fn encode_response(request_id: u16, response: &Response) -> Vec<u8> {
    encode(&Envelope::new(request_id, response))
}

/// Any message as a frame, delimiter included.
pub fn encode<T: serde::Serialize>(message: &T) -> Vec<u8> {
    let mut scratch = vec![0u8; MAX_PAYLOAD];
    let mut out = vec![0u8; MAX_FRAME];
    encode_frame(message, &mut scratch, &mut out).expect("every message fits a frame").to_vec()
}

/// Decodes a received frame (without its delimiter) as a response.
pub fn decode_response(frame: &[u8]) -> Result<Envelope<Response>, FrameError> {
    let mut bytes = frame.to_vec();
    decode_frame(&mut bytes)
}

/// `frame` without its trailing 0x00 delimiter.
pub fn without_delimiter(frame: &[u8]) -> &[u8] {
    frame.strip_suffix(&[0]).unwrap_or(frame)
}

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
