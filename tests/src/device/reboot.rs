//! A protocol firmware in QEMU that can be reset and keeps running: a warm boot.
//!
//! [`QemuDevice`](super::QemuDevice) starts QEMU with `-no-reboot` and no monitor, so a reset
//! ends it. Here QEMU runs without `-no-reboot`, with UART0 and the monitor on TCP sockets this
//! side listens on (as in `tests/tests/qemu_persist.rs`), and its semihosting output piped
//! through `defmt-print` as for `QemuDevice`. [`RebootingDevice::system_reset`] sends the
//! monitor's `system_reset` (a warm reset: RAM, and with it the QEMU boards' flash store, is
//! kept) and waits until the firmware serves again. Every frame the firmware sends is checked
//! byte for byte against a [`Mirror`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use edgerank_core::wire::{Request, Response};

use super::qemu::spawn_decoded;
use super::{decode_response, encode_request, encode_response, without_delimiter, Board, Mirror};

/// Longest wait for one answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for the firmware to serve again after a reset.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// The protocol firmware in QEMU, with a monitor to reset it, and the host's [`Mirror`] of it.
pub struct RebootingDevice {
    qemu: Child,
    decoder: Child,
    uart: TcpStream,
    monitor: TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    next_id: u16,
    boots: u32,
    /// What the device must answer (replaced by [`RebootingDevice::system_reset`] with a
    /// mirror of the next boot that keeps the model, profile and user state).
    pub mirror: Mirror,
    machine: &'static str,
}

impl Drop for RebootingDevice {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
        let _ = self.decoder.kill();
        let _ = self.decoder.wait();
        if let Some(t) = self.reader.take() {
            let _ = t.join();
        }
    }
}

/// Accepts one connection from QEMU within `timeout`.
fn accept(listener: &TcpListener, what: &str, timeout: Duration) -> Result<TcpStream, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).map_err(|e| e.to_string())?;
                s.set_nodelay(true).map_err(|e| e.to_string())?;
                return Ok(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(10))
            }
            Err(e) => return Err(format!("QEMU did not connect its {what}: {e}")),
        }
    }
}

impl RebootingDevice {
    /// Starts `elf` (the protocol firmware) on `board`, paired with a mirror of a first boot.
    pub fn start(board: &Board, elf: &std::path::Path) -> Result<Self, String> {
        if !elf.is_file() {
            return Err(format!("{} not found: run `cargo xtask firmware`", elf.display()));
        }
        let uart = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let monitor = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = |l: &TcpListener| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string());
        let mut cmd = Command::new("qemu-system-arm");
        cmd.args(["-cpu", board.cpu, "-machine", board.machine, "-display", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .arg("-chardev")
            .arg(format!("socket,id=uart0,host=127.0.0.1,port={},server=off,nodelay=on", port(&uart)?))
            .args(["-serial", "chardev:uart0"])
            .arg("-monitor")
            .arg(format!("tcp:127.0.0.1:{},server=off", port(&monitor)?))
            .arg("-kernel")
            .arg(elf)
            .stderr(Stdio::null());
        let (mut qemu, mut decoder) = spawn_decoded(&mut cmd, elf)?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let log = Arc::clone(&log);
            let decoded = decoder.stdout.take().expect("piped");
            thread::spawn(move || {
                for line in BufReader::new(decoded).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            })
        };
        let connected =
            accept(&uart, "UART", BOOT_TIMEOUT).and_then(|u| Ok((u, accept(&monitor, "monitor", BOOT_TIMEOUT)?)));
        let (uart, monitor) = match connected {
            Ok(pair) => pair,
            Err(e) => {
                let _ = qemu.kill();
                let _ = qemu.wait();
                let _ = decoder.kill();
                let _ = decoder.wait();
                let _ = reader.join();
                return Err(e);
            }
        };
        let device = Self {
            qemu,
            decoder,
            uart,
            monitor,
            log,
            reader: Some(reader),
            next_id: 1,
            boots: 1,
            mirror: Mirror::boot(1),
            machine: board.machine,
        };
        device.uart.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(|e| e.to_string())?;
        device.wait_serving()?;
        Ok(device)
    }

    /// The decoded defmt log so far (every boot).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The log lines of the current boot (from its "booted" line on).
    pub fn boot_log(&self) -> Vec<String> {
        let log = self.log();
        let start = log.iter().rposition(|l| l.contains("edgerank firmware booted")).unwrap_or(0);
        log[start..].to_vec()
    }

    /// Waits until the current boot's log has a line containing `needle`; returns it.
    pub fn wait_for_boot_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.boot_log().into_iter().find(|l| l.contains(needle)) {
                return Some(line);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until boot number `self.boots` has logged that it serves.
    fn wait_serving(&self) -> Result<(), String> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        let booted = format!("boot {}", self.boots);
        loop {
            let log = self.boot_log();
            if log.first().is_some_and(|l| l.contains(&booted)) && log.iter().any(|l| l.contains("serving on UART0")) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("{}: boot {} did not start serving; log: {:?}", self.machine, self.boots, log));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one request and checks the answer against the mirror, byte for byte; returns it.
    pub fn call(&mut self, request: &Request) -> Result<Response, String> {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        let bytes = encode_request(id, request);
        let mut answers = self.mirror.receive(&bytes);
        if answers.len() != 1 {
            return Err(format!("the mirror answered {} frames to one request", answers.len()));
        }
        let (want_id, want) = answers.pop().expect("one answer");
        self.uart.write_all(&bytes).map_err(|e| format!("{}: sending: {e}", self.machine))?;
        let got = self.recv_frame()?;
        let expected = encode_response(want_id, &want);
        if got != without_delimiter(&expected) {
            let decoded = decode_response(&got).map(|e| format!("{:?}", e.body)).unwrap_or_else(|e| e.to_string());
            let shown = |s: String| s.chars().take(300).collect::<String>();
            return Err(format!(
                "{}: answer to request {id} differs from the host's: expected {}, got {}",
                self.machine,
                shown(format!("{want:?}")),
                shown(decoded)
            ));
        }
        Ok(want)
    }

    /// The next frame from the device, without its delimiter.
    fn recv_frame(&mut self) -> Result<Vec<u8>, String> {
        let mut frame = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            self.uart.read_exact(&mut byte).map_err(|e| format!("{}: waiting for an answer: {e}", self.machine))?;
            if byte[0] == 0 {
                if !frame.is_empty() {
                    return Ok(frame);
                }
            } else {
                frame.push(byte[0]);
            }
        }
    }

    /// A warm reset (the monitor's `system_reset`): waits until the next boot serves, and
    /// replaces the mirror with one of that boot that kept the model, profile and user state
    /// (what the firmware restores from its store).
    pub fn system_reset(&mut self) -> Result<(), String> {
        self.monitor.write_all(b"system_reset\n").map_err(|e| format!("{}: monitor: {e}", self.machine))?;
        self.boots += 1;
        self.wait_serving()?;
        let before = std::mem::replace(&mut self.mirror, Mirror::boot(self.boots));
        self.mirror.model = before.model;
        self.mirror.profile = before.profile;
        self.mirror.user = before.user;
        Ok(())
    }
}
