//! Talking to edgerank firmware in QEMU: start a board with a firmware ELF and exchange wire
//! frames with it over its UART.
//!
//! - [`qemu`]: [`QemuDevice`], the client: starts `qemu-system-arm` with the board's UART0
//!   on a TCP socket, decodes the firmware's defmt log with `defmt-print`, sends requests and
//!   reads responses with timeouts, and kills QEMU on drop.
//! - [`Board`], and frames: the QEMU boards the firmware is built for, where their ELFs are,
//!   and requests and responses as COBS frames.
//! - [`check`]: [`check::DeviceCheck`], what `compare --device qemu` uses: every rank call of
//!   the simulation also goes to the firmware, which must answer with the same page.
//!
//! The firmware is built by `cargo xtask firmware`. The device tests (`tests/tests/`) use this
//! module through `edgerank_tests::device`.

pub mod check;
pub mod qemu;

use std::path::PathBuf;

use edgerank_core::wire::{
    decode_frame, encode_frame, Envelope, FrameError, Request, Response, MAX_FRAME, MAX_PAYLOAD,
};

pub use qemu::{find_program, DeviceError, QemuDevice, QemuOptions};

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
