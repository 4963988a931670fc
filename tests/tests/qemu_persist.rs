//! Persistence across a reset, in QEMU: the protocol firmware takes feedback, a model and a
//! profile, QEMU resets the board (monitor `system_reset`: a warm reset that keeps RAM, where
//! the QEMU boards keep their flash store, see memory.x), and the firmware boots again with
//! the same user state, model and profile.
//!
//! QEMU runs here without `-no-reboot` (a reset must reboot), with its monitor and UART0 on
//! TCP sockets this test listens on. `cargo xtask qemu-test` runs it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edgerank_core::model::Model;
use edgerank_core::num::Weight;
use edgerank_core::profile::Platform;
use edgerank_core::state::{Feedback, FeedbackKind};
use edgerank_core::wire::{DeviceInfo, Request, Response};
use edgerank_tests::device::traffic;
use edgerank_tests::device::{decode_response, encode_request, Board, MPS2_AN385, MPS2_AN386, PROTOCOL_FIRMWARE};

struct Qemu {
    child: Child,
    uart: TcpStream,
    monitor: TcpStream,
    next_id: u16,
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn accept(listener: &TcpListener, what: &str) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("QEMU did not connect its {what}: {e}"),
        }
    }
}

impl Qemu {
    fn start(board: Board) -> Self {
        let elf = board.elf(PROTOCOL_FIRMWARE);
        assert!(elf.is_file(), "{} not built: run `cargo xtask firmware`", elf.display());
        let uart = TcpListener::bind("127.0.0.1:0").unwrap();
        let monitor = TcpListener::bind("127.0.0.1:0").unwrap();
        let child = Command::new("qemu-system-arm")
            .args(["-cpu", board.cpu, "-machine", board.machine, "-display", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .arg("-chardev")
            .arg(format!(
                "socket,id=uart0,host=127.0.0.1,port={},server=off,nodelay=on",
                uart.local_addr().unwrap().port()
            ))
            .args(["-serial", "chardev:uart0"])
            .arg("-monitor")
            .arg(format!("tcp:127.0.0.1:{},server=off", monitor.local_addr().unwrap().port()))
            .arg("-kernel")
            .arg(&elf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-arm");
        let uart = accept(&uart, "UART");
        let monitor = accept(&monitor, "monitor");
        Self { child, uart, monitor, next_id: 1 }
    }

    fn call(&mut self, request: &Request) -> Response {
        let id = self.next_id;
        self.next_id += 1;
        self.uart.write_all(&encode_request(id, request)).unwrap();
        let mut frame = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            self.uart.read_exact(&mut byte).expect("a response");
            if byte[0] == 0 {
                break;
            }
            frame.push(byte[0]);
        }
        let envelope = decode_response(&frame).expect("a valid response frame");
        assert_eq!(envelope.request_id, id);
        envelope.body
    }

    fn system_reset(&mut self) {
        self.monitor.write_all(b"system_reset\n").unwrap();
        // The firmware boots again; wait until it answers (requests sent before it is ready
        // would be lost with the UART's state).
        std::thread::sleep(Duration::from_millis(500));
        self.uart.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        for _ in 0..30 {
            if self.ping() {
                self.uart.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                return;
            }
        }
        panic!("the firmware did not answer after the reset");
    }

    /// One Ping; `false` on a timeout (the firmware still booting).
    fn ping(&mut self) -> bool {
        let id = self.next_id;
        self.next_id += 1;
        self.uart.write_all(&encode_request(id, &Request::Ping)).unwrap();
        let mut frame = Vec::new();
        let mut byte = [0u8; 1];
        while self.uart.read_exact(&mut byte).is_ok() {
            if byte[0] == 0 {
                if decode_response(&frame).is_ok_and(|e| e.request_id == id && e.body == Response::Pong) {
                    return true;
                }
                frame.clear();
            } else {
                frame.push(byte[0]);
            }
        }
        false
    }

    fn info(&mut self) -> DeviceInfo {
        match self.call(&Request::Info) {
            Response::Info(info) => info,
            other => panic!("Info answered {other:?}"),
        }
    }

    fn boots(&mut self) -> u32 {
        match self.call(&Request::Stats) {
            Response::Stats(s) => s.boots,
            other => panic!("Stats answered {other:?}"),
        }
    }
}

fn survives_a_reset(board: Board) {
    let mut qemu = Qemu::start(board);
    assert_eq!(qemu.boots(), 1);
    let fresh = qemu.info();
    assert_eq!((fresh.model_id, fresh.profile.as_str()), (Model::default().model_id, "x"));

    let mut model = Model { model_id: 0x5AFE_5AFE, ..Model::default() };
    model.weights[0][0] = Weight(model.weights[0][0].0 / 2);
    assert_eq!(
        qemu.call(&Request::LoadModel(traffic::model_blob(&model))),
        Response::ModelLoaded { model_id: 0x5AFE_5AFE }
    );
    let profile = qemu.call(&Request::LoadProfile(traffic::profile_blob(&Platform::TikTok.config())));
    assert!(matches!(profile, Response::ProfileLoaded { .. }), "{profile:?}");
    let events: Vec<Feedback> = (0..12u32)
        .map(|i| Feedback {
            item_id: i,
            author_id: 7 + i % 3,
            topic: 4,
            at: 1_700_000_000 + i,
            kind: FeedbackKind::Like,
        })
        .collect();
    let applied = qemu.call(&Request::Feedback(heapless::Vec::from_slice(&events).unwrap()));
    assert_eq!(applied, Response::FeedbackApplied { applied: 12, total_events: 12 });

    qemu.system_reset();

    assert_eq!(qemu.boots(), 2, "the board did not reboot");
    let info = qemu.info();
    assert_eq!((info.model_id, info.profile.as_str()), (0x5AFE_5AFE, "tiktok"), "model or profile lost");
    // The user state came back: the next event is the 13th.
    let one = heapless::Vec::from_slice(&events[..1]).unwrap();
    assert_eq!(qemu.call(&Request::Feedback(one)), Response::FeedbackApplied { applied: 1, total_events: 13 });
    // A state reset is kept too.
    assert_eq!(qemu.call(&Request::ResetState), Response::StateReset);
    qemu.system_reset();
    assert_eq!(qemu.boots(), 3);
    let one = heapless::Vec::from_slice(&events[..1]).unwrap();
    assert_eq!(qemu.call(&Request::Feedback(one)), Response::FeedbackApplied { applied: 1, total_events: 1 });
    println!("{}: user state, model and profile restored after two warm resets", board.machine);
}

#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn state_survives_a_reset_mps2_an386() {
    survives_a_reset(MPS2_AN386);
}

#[test]
#[ignore = "needs QEMU and the firmware: cargo xtask qemu-test"]
fn state_survives_a_reset_mps2_an385() {
    survives_a_reset(MPS2_AN385);
}
