//! The host side of the serial link: QEMU running a firmware ELF, its UART0 on a TCP socket.
//!
//! The client listens on an ephemeral port of 127.0.0.1 first and starts QEMU with a socket
//! chardev connecting out to it (`-chardev socket,host=127.0.0.1,port=PORT,server=off`,
//! `-serial chardev:..`), so no port is ever raced for. QEMU runs with `-no-reboot`: a guest reset ends QEMU instead of rebooting, so a
//! firmware that resets shows up as a closed link and an exited process, never silently.
//! Semihosting output (the defmt log) goes to QEMU's stdout, piped into `defmt-print -e ELF`;
//! the decoded lines are kept (and echoed to stderr with `EDGERANK_DEVICE_LOG=1`).

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use edgerank_core::wire::{Envelope, FrameError, Request, Response};

use super::{decode_response, encode_request, Board};

/// How to start QEMU.
#[derive(Clone, Debug)]
pub struct QemuOptions {
    /// `-icount shift=0`: one instruction per virtual nanosecond (deterministic SysTick
    /// instruction counts; slower when the guest waits on the UART).
    pub icount: bool,
    /// Longest wait for QEMU to connect to the serial socket.
    pub connect_timeout: Duration,
    /// Longest wait for any one response frame.
    pub response_timeout: Duration,
}

impl Default for QemuOptions {
    fn default() -> Self {
        Self { icount: false, connect_timeout: Duration::from_secs(20), response_timeout: Duration::from_secs(30) }
    }
}

/// Why an exchange with the device failed.
#[derive(Debug)]
pub enum DeviceError {
    /// Starting or talking to a process or socket failed.
    Io(String),
    /// No frame within the timeout.
    Timeout(Duration),
    /// The device closed the link (QEMU exited: the firmware panicked, faulted or reset).
    Closed(String),
    /// A frame from the device did not decode.
    BadFrame(FrameError, Vec<u8>),
    /// The response echoes another request id.
    WrongId {
        /// Id sent.
        expected: u16,
        /// Id received.
        got: u16,
    },
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::Io(e) => write!(f, "i/o: {e}"),
            DeviceError::Timeout(t) => write!(f, "no response within {t:?}"),
            DeviceError::Closed(why) => write!(f, "link closed: {why}"),
            DeviceError::BadFrame(e, bytes) => write!(f, "undecodable frame ({e}): {bytes:02x?}"),
            DeviceError::WrongId { expected, got } => write!(f, "response to request {got}, expected {expected}"),
        }
    }
}

impl std::error::Error for DeviceError {}

impl From<io::Error> for DeviceError {
    fn from(e: io::Error) -> Self {
        DeviceError::Io(e.to_string())
    }
}

/// What the reader thread hands over.
enum Incoming {
    Frame(Vec<u8>),
    Closed(String),
}

/// A firmware running in QEMU, with its serial link open.
pub struct QemuDevice {
    qemu: Child,
    decoder: Child,
    stream: TcpStream,
    frames: Receiver<Incoming>,
    closed: Option<String>,
    log: Arc<Mutex<Vec<String>>>,
    threads: Vec<JoinHandle<()>>,
    next_id: u16,
    options: QemuOptions,
    elf: PathBuf,
    stderr_log: Arc<Mutex<String>>,
}

impl QemuDevice {
    /// Starts `elf` on `board` and waits for QEMU to connect its UART.
    pub fn start(board: &Board, elf: &Path, options: QemuOptions) -> Result<Self, DeviceError> {
        if !elf.is_file() {
            return Err(DeviceError::Io(format!("{} not found: run `cargo xtask firmware`", elf.display())));
        }
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();

        let mut cmd = Command::new("qemu-system-arm");
        cmd.args(["-cpu", board.cpu, "-machine", board.machine])
            .args(["-display", "none", "-monitor", "none", "-no-reboot"])
            .args(["-semihosting-config", "enable=on,target=native"])
            // nodelay: QEMU sends the UART's bytes one write at a time; with Nagle's algorithm
            // the end of a response could wait for the host's delayed ACK (40 ms).
            .arg("-chardev")
            .arg(format!("socket,id=uart0,host=127.0.0.1,port={port},server=off,nodelay=on"))
            .args(["-serial", "chardev:uart0"]);
        if options.icount {
            cmd.args(["-icount", "shift=0"]);
        }
        cmd.arg("-kernel").arg(elf).stderr(Stdio::piped());
        let (mut qemu, mut decoder) = spawn_decoded(&mut cmd, elf).map_err(DeviceError::Io)?;
        let qemu_err = qemu.stderr.take().expect("piped");

        let log = Arc::new(Mutex::new(Vec::new()));
        let echo = std::env::var_os("EDGERANK_DEVICE_LOG").is_some_and(|v| v != "0");
        let mut threads = Vec::new();
        {
            let log = Arc::clone(&log);
            let decoded = decoder.stdout.take().expect("piped");
            let tag = board.machine;
            threads.push(thread::spawn(move || {
                for line in BufReader::new(decoded).lines().map_while(Result::ok) {
                    if echo {
                        eprintln!("[{tag}] {line}");
                    }
                    log.lock().unwrap().push(line);
                }
            }));
        }
        let stderr_log = Arc::new(Mutex::new(String::new()));
        {
            let stderr_log = Arc::clone(&stderr_log);
            threads.push(thread::spawn(move || {
                let mut text = String::new();
                let _ = BufReader::new(qemu_err).read_to_string(&mut text);
                stderr_log.lock().unwrap().push_str(&text);
            }));
        }

        let stream = match accept_until(&listener, &mut qemu, options.connect_timeout) {
            Ok(s) => s,
            Err(e) => {
                let _ = qemu.kill();
                let _ = qemu.wait();
                let _ = decoder.kill();
                let _ = decoder.wait();
                let stderr = stderr_log.lock().unwrap().clone();
                return Err(DeviceError::Io(format!("{e}; qemu stderr: {}", stderr.trim())));
            }
        };
        stream.set_nodelay(true)?;
        let (tx, frames) = mpsc::channel();
        let mut read_half = stream.try_clone()?;
        threads.push(thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut frame = Vec::new();
            loop {
                match read_half.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Incoming::Closed("end of stream".into()));
                        return;
                    }
                    Ok(n) => {
                        for &b in &buf[..n] {
                            if b == 0 {
                                if !frame.is_empty() && tx.send(Incoming::Frame(std::mem::take(&mut frame))).is_err() {
                                    return;
                                }
                            } else {
                                frame.push(b);
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Incoming::Closed(e.to_string()));
                        return;
                    }
                }
            }
        }));

        Ok(Self {
            qemu,
            decoder,
            stream,
            frames,
            closed: None,
            log,
            threads,
            next_id: 1,
            options,
            elf: elf.to_path_buf(),
            stderr_log,
        })
    }

    /// The ELF running.
    pub fn elf(&self) -> &Path {
        &self.elf
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.qemu.id()
    }

    /// Whether QEMU is still running (`Ok(None)`), or how it ended.
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>, DeviceError> {
        Ok(self.qemu.try_wait()?)
    }

    /// The decoded defmt log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// What QEMU printed on stderr so far (complete only after it exits).
    pub fn qemu_stderr(&self) -> String {
        self.stderr_log.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle`; returns the line.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return Some(line.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// A fresh request id (never 0: the device answers unreadable frames with id 0).
    pub fn next_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }

    /// Sends raw bytes (frames, garbage, anything).
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.stream.write_all(bytes).map_err(|e| self.link_error(e))
    }

    /// Sends one request with id `request_id`.
    pub fn send(&mut self, request_id: u16, request: &Request) -> Result<(), DeviceError> {
        self.send_bytes(&encode_request(request_id, request))
    }

    /// The next frame from the device, without its delimiter.
    pub fn recv_frame(&mut self) -> Result<Vec<u8>, DeviceError> {
        if let Some(why) = &self.closed {
            return Err(DeviceError::Closed(why.clone()));
        }
        match self.frames.recv_timeout(self.options.response_timeout) {
            Ok(Incoming::Frame(f)) => Ok(f),
            Ok(Incoming::Closed(why)) => {
                let why = self.describe_close(why);
                self.closed = Some(why.clone());
                Err(DeviceError::Closed(why))
            }
            Err(RecvTimeoutError::Timeout) => Err(DeviceError::Timeout(self.options.response_timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(DeviceError::Closed("reader thread ended".into())),
        }
    }

    /// The next response, decoded.
    pub fn recv(&mut self) -> Result<Envelope<Response>, DeviceError> {
        let frame = self.recv_frame()?;
        decode_response(&frame).map_err(|e| DeviceError::BadFrame(e, frame))
    }

    /// Sends a request and returns its response (checking the echoed id).
    pub fn call(&mut self, request: &Request) -> Result<Response, DeviceError> {
        let id = self.next_id();
        self.send(id, request)?;
        let answer = self.recv()?;
        if answer.request_id != id {
            return Err(DeviceError::WrongId { expected: id, got: answer.request_id });
        }
        Ok(answer.body)
    }

    /// Closes the link and waits for QEMU to end (killing it after `timeout`); returns its
    /// exit status if it ended by itself.
    pub fn shutdown(mut self, timeout: Duration) -> Option<ExitStatus> {
        let _ = self.stream.shutdown(Shutdown::Both);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.qemu.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn link_error(&mut self, e: io::Error) -> DeviceError {
        DeviceError::Closed(self.describe_close(e.to_string()))
    }

    /// Adds QEMU's state and the end of the log to a closed-link message.
    fn describe_close(&mut self, why: String) -> String {
        thread::sleep(Duration::from_millis(200));
        let status = match self.qemu.try_wait() {
            Ok(Some(s)) => format!("QEMU exited ({s})"),
            Ok(None) => "QEMU still running".into(),
            Err(e) => format!("QEMU state unknown ({e})"),
        };
        let log = self.log();
        let tail = log[log.len().saturating_sub(5)..].join(" | ");
        format!("{why}; {status}; last log lines: {tail}")
    }
}

impl Drop for QemuDevice {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
        // defmt-print ends at the end of its input; kill it in case it does not.
        let _ = self.decoder.kill();
        let _ = self.decoder.wait();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Accepts QEMU's connection, failing early if QEMU exits or the timeout passes.
fn accept_until(listener: &TcpListener, qemu: &mut Child, timeout: Duration) -> Result<TcpStream, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(format!("accepting QEMU's serial connection: {e}")),
        }
        if let Ok(Some(status)) = qemu.try_wait() {
            return Err(format!("QEMU exited before connecting its serial port ({status})"));
        }
        if Instant::now() >= deadline {
            return Err(format!("QEMU did not connect its serial port within {timeout:?}"));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `qemu` (a `qemu-system-arm` command with `-kernel elf`; stdin closed, stdout piped)
/// and `defmt-print -e elf` reading its semihosting output; returns both, the decoder's stdout
/// piped. If the decoder cannot start, QEMU is stopped again.
pub fn spawn_decoded(qemu: &mut Command, elf: &Path) -> Result<(Child, Child), String> {
    let defmt_print = find_program("defmt-print")
        .ok_or("defmt-print not found on PATH or in ~/.cargo/bin: run `cargo xtask setup`")?;
    let mut qemu = qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start qemu-system-arm: {e}"))?;
    let out = qemu.stdout.take().expect("piped");
    match Command::new(defmt_print).arg("-e").arg(elf).stdin(out).stdout(Stdio::piped()).spawn() {
        Ok(decoder) => Ok((qemu, decoder)),
        Err(e) => {
            let _ = qemu.kill();
            let _ = qemu.wait();
            Err(format!("could not start defmt-print: {e}"))
        }
    }
}

/// A program on PATH, or installed by `cargo install` (`$CARGO_HOME/bin`, `~/.cargo/bin`).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file()));
    on_path.or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
        Some(home.join("bin").join(name)).filter(|p| p.is_file())
    })
}
