//! `compare --device qemu`: every rank call of the simulation also goes through the firmware.
//!
//! Each (policy, user) pair that uses the core gets its own device: a QEMU board running the
//! protocol firmware, loaded with the run's model and the policy's profile. The device sees
//! what a phone would: every feedback event the simulation applies to the user's state (in
//! the same order, flushed before each rank call) and every rank call (the same candidates,
//! time and page size). Its answer must equal, byte for byte, the frame the in-process core's
//! page encodes to, and the page must be the one the simulation used. Any difference, refused
//! frame or link failure is an error that ends the check; [`DeviceCheck::finish`] reports it.
//!
//! The device's capacities bound the run: at most 256 candidates per batch and 32 per page.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use edgerank_core::input::Candidate;
use edgerank_core::model::{Model, MODEL_BLOB_MAX};
use edgerank_core::pipeline::{rank_after, Placement, RankContext, ShownItem};
use edgerank_core::profile::{Profile, PROFILE_BLOB_MAX};
use edgerank_core::state::{Feedback, UserState};
use edgerank_core::wire::{
    encode_checked, RankedPage, Request, Response, WireError, CANDIDATES_PER_CHUNK, FEEDBACK_PER_FRAME, PAGE_MAX,
};
use serde::Serialize;

use super::{encode_request, encode_response, Board, QemuDevice, QemuOptions, MPS2_AN386, PROTOCOL_FIRMWARE};
use crate::policy::{Policy, Ranker};

/// Most candidates the firmware takes in one rank call.
pub const DEVICE_MAX_CANDIDATES: usize = 256;
/// Most items per page the firmware returns.
pub const DEVICE_MAX_PAGE: usize = PAGE_MAX;

/// Which device `compare --device` ranks through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// The protocol firmware on QEMU's mps2-an386 (Cortex-M4F).
    Qemu,
}

/// Where the firmware is and how to run it.
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// The QEMU board.
    pub board: Board,
    /// The protocol firmware ELF.
    pub elf: PathBuf,
}

impl DeviceConfig {
    /// The protocol firmware for `kind` where `cargo xtask firmware` builds it.
    pub fn for_kind(kind: DeviceKind) -> Self {
        match kind {
            DeviceKind::Qemu => DeviceConfig { board: MPS2_AN386, elf: MPS2_AN386.elf(PROTOCOL_FIRMWARE) },
        }
    }

    /// Checks that the firmware is built, and is a 32-bit little-endian ARM ELF file (before
    /// a long run starts; QEMU itself would only abort on the first device).
    pub fn validate(&self) -> Result<(), String> {
        if !self.elf.is_file() {
            return Err(format!(
                "--device qemu needs the protocol firmware, but {} does not exist: build it with `cargo xtask \
                 firmware` (or point EDGERANK_FIRMWARE_TARGET_DIR at its target directory)",
                self.elf.display()
            ));
        }
        let mut header = [0u8; 20];
        let read = std::fs::File::open(&self.elf).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
        // e_ident: magic, ELFCLASS32 (1), ELFDATA2LSB (1); e_machine (bytes 18-19): EM_ARM (40).
        let arm_elf =
            read.is_ok() && header[..4] == *b"\x7fELF" && header[4] == 1 && header[5] == 1 && header[18..20] == [40, 0];
        if arm_elf {
            Ok(())
        } else {
            Err(format!(
                "--device qemu: {} is not a 32-bit ARM ELF file (the protocol firmware): rebuild it with `cargo \
                 xtask firmware`",
                self.elf.display()
            ))
        }
    }
}

/// Receives what a session does with the device's state: each feedback event applied to a
/// user's [`UserState`], and each page ranked. The session calls it; [`DeviceCheck`] is the
/// implementation behind `--device`.
pub trait RankObserver: Sync {
    /// `event` was applied (or refused) to `user`'s state, in application order.
    fn feedback(&self, user: u32, event: &Feedback);
    /// The policy ranked `page` (candidate index and placement, in display order) from
    /// `batch` for `user`, whose state is `state`, at `now`, asking for `k` items after the
    /// `shown` ones (a page continued; none for a new page).
    #[allow(clippy::too_many_arguments)]
    fn ranked(
        &self,
        user: u32,
        state: &UserState,
        now: u32,
        batch: &[Candidate],
        shown: &[ShownItem],
        k: usize,
        page: &[(usize, Placement)],
    );
}

/// What a device check found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeviceReport {
    /// Devices started (one per user of a core policy).
    pub devices: u64,
    /// Rank calls sent to the devices.
    pub rank_calls: u64,
    /// Rank calls whose page frame was byte-identical to the in-process core's.
    pub identical: u64,
    /// Feedback events sent.
    pub feedback_events: u64,
}

impl DeviceReport {
    /// Adds another report's counts.
    pub fn add(&mut self, other: &DeviceReport) {
        self.devices += other.devices;
        self.rank_calls += other.rank_calls;
        self.identical += other.identical;
        self.feedback_events += other.feedback_events;
    }
}

/// One user's device under one policy.
struct UserDevice {
    device: QemuDevice,
    /// The state the device should hold (every event sent so far applied), to predict which
    /// feedback frames it refuses and to check that the session reported every event.
    shadow: UserState,
    /// Events not yet sent.
    pending: Vec<Feedback>,
}

/// The devices of one policy's run.
pub struct DeviceCheck<'a> {
    config: DeviceConfig,
    model: &'a Model,
    profile: Option<&'a Profile>,
    policy_name: String,
    users: Vec<Mutex<Option<UserDevice>>>,
    report: Mutex<DeviceReport>,
    error: Mutex<Option<String>>,
}

impl<'a> DeviceCheck<'a> {
    /// A check of `policy` for `users` users (devices start on first use). Policies that do
    /// not rank with the core (chronological, oracle) are not checked.
    pub fn new(config: DeviceConfig, model: &'a Model, policy: &'a Policy, users: usize) -> Self {
        let profile = if policy.ranker == Ranker::Core { policy.profile.as_ref() } else { None };
        DeviceCheck {
            config,
            model,
            profile,
            policy_name: policy.name.clone(),
            users: (0..users).map(|_| Mutex::new(None)).collect(),
            report: Mutex::new(DeviceReport::default()),
            error: Mutex::new(None),
        }
    }

    /// Stops every device and returns the counts, or the first error.
    pub fn finish(self) -> Result<DeviceReport, String> {
        // Dropping each device ends its QEMU.
        drop(self.users);
        if let Some(e) = self.error.into_inner().expect("not poisoned") {
            return Err(e);
        }
        let report = self.report.into_inner().expect("not poisoned");
        if self.profile.is_some() && report.rank_calls == 0 {
            return Err(format!(
                "device check, policy {}: no rank call reached the device (the run had no session to rank: \
                 more --users or --days; or its sessions did not report to the server's observer)",
                self.policy_name
            ));
        }
        Ok(report)
    }

    fn failed(&self) -> bool {
        self.error.lock().expect("not poisoned").is_some()
    }

    fn fail(&self, user: u32, e: String) {
        let mut error = self.error.lock().expect("not poisoned");
        if error.is_none() {
            *error = Some(format!("device check, policy {}, user {user}: {e}", self.policy_name));
        }
    }

    /// Runs `f` on `user`'s device, starting it first if needed.
    fn with_device(&self, user: u32, f: impl FnOnce(&mut UserDevice) -> Result<(), String>) {
        let Some(profile) = self.profile else { return };
        if self.failed() {
            return;
        }
        let Some(slot) = self.users.get(user as usize) else {
            return self.fail(user, "user outside the checked range".into());
        };
        let mut slot = slot.lock().expect("not poisoned");
        if slot.is_none() {
            match self.start(profile) {
                Ok(d) => {
                    *slot = Some(d);
                    self.report.lock().expect("not poisoned").devices += 1;
                }
                Err(e) => return self.fail(user, e),
            }
        }
        if let Err(e) = f(slot.as_mut().expect("started")) {
            self.fail(user, e);
        }
    }

    /// Boots a device and loads the run's model and the policy's profile.
    fn start(&self, profile: &Profile) -> Result<UserDevice, String> {
        let options = QemuOptions { connect_timeout: Duration::from_secs(60), ..QemuOptions::default() };
        let mut device = QemuDevice::start(&self.config.board, &self.config.elf, options).map_err(|e| e.to_string())?;
        let mut buf = [0u8; MODEL_BLOB_MAX];
        let blob = self.model.to_blob(&mut buf).map_err(|e| format!("model blob: {e:?}"))?;
        let load = Request::LoadModel(heapless::Vec::from_slice(blob).map_err(|_| "model blob too long")?);
        match device.call(&load).map_err(|e| e.to_string())? {
            Response::ModelLoaded { model_id } if model_id == self.model.model_id => {}
            other => return Err(format!("LoadModel answered {other:?}")),
        }
        let mut buf = [0u8; PROFILE_BLOB_MAX];
        let blob = encode_checked(profile.config(), &mut buf).map_err(|e| format!("profile blob: {e:?}"))?;
        let load = Request::LoadProfile(heapless::Vec::from_slice(blob).map_err(|_| "profile blob too long")?);
        match device.call(&load).map_err(|e| e.to_string())? {
            Response::ProfileLoaded { name } if name == profile.config().name => {}
            other => return Err(format!("LoadProfile answered {other:?}")),
        }
        Ok(UserDevice { device, shadow: UserState::new(), pending: Vec::new() })
    }

    /// Sends the pending feedback: frames of up to [`FEEDBACK_PER_FRAME`] events, each ending
    /// before an event the state refuses, which goes alone in a frame of its own (the device
    /// refuses a frame as a whole, so it would take the events before it down with it).
    fn flush(&self, d: &mut UserDevice) -> Result<(), String> {
        let events = std::mem::take(&mut d.pending);
        let mut sent = 0u64;
        let mut rest = &events[..];
        while !rest.is_empty() {
            let mut n = 0;
            let mut expected = None;
            while n < rest.len() && n < FEEDBACK_PER_FRAME {
                // A refused event leaves the shadow as it was.
                if let Err(e) = d.shadow.apply(&rest[n]) {
                    if n == 0 {
                        n = 1;
                        expected = Some(Response::Error(WireError::Feedback(e)));
                    }
                    break;
                }
                n += 1;
            }
            let expected =
                expected.unwrap_or(Response::FeedbackApplied { applied: n as u8, total_events: d.shadow.events });
            let frame = Request::Feedback(heapless::Vec::from_slice(&rest[..n]).expect("at most a frame's worth"));
            let got = d.device.call(&frame).map_err(|e| e.to_string())?;
            if got != expected {
                return Err(format!("feedback answered {got:?}, expected {expected:?}"));
            }
            sent += n as u64;
            rest = &rest[n..];
        }
        self.report.lock().expect("not poisoned").feedback_events += sent;
        Ok(())
    }
}

impl RankObserver for DeviceCheck<'_> {
    fn feedback(&self, user: u32, event: &Feedback) {
        self.with_device(user, |d| {
            d.pending.push(*event);
            Ok(())
        });
    }

    fn ranked(
        &self,
        user: u32,
        state: &UserState,
        now: u32,
        batch: &[Candidate],
        shown: &[ShownItem],
        k: usize,
        page: &[(usize, Placement)],
    ) {
        let Some(profile) = self.profile else { return };
        self.with_device(user, |d| {
            self.flush(d)?;
            if d.shadow != *state {
                return Err("the device's state differs from the session's: a feedback event was not reported".into());
            }
            if batch.len() > DEVICE_MAX_CANDIDATES || shown.len() + k > DEVICE_MAX_PAGE {
                return Err(format!(
                    "{} candidates, page {k} after {} shown: beyond the device's capacity",
                    batch.len(),
                    shown.len()
                ));
            }
            // The page the in-process core gives, as the frame the device must send.
            let ctx = RankContext { model: self.model, profile, user: state, now };
            let feed = rank_after::<DEVICE_MAX_CANDIDATES, DEVICE_MAX_PAGE>(&ctx, batch, shown, k)
                .map_err(|e| format!("{e:?}"))?;
            let mine: Vec<(usize, Placement)> = feed.items.iter().map(|i| (i.index as usize, i.placement)).collect();
            if mine != page {
                return Err(format!("the session's page {page:?} is not the core's {mine:?}"));
            }
            let expected = Response::Ranked(RankedPage { items: feed.items, stats: feed.stats });

            let mut requests = vec![Request::RankBegin { now, k: k as u8 }];
            for chunk in shown.chunks(CANDIDATES_PER_CHUNK) {
                requests.push(Request::RankShown(heapless::Vec::from_slice(chunk).expect("a chunk")));
            }
            for chunk in batch.chunks(CANDIDATES_PER_CHUNK) {
                requests.push(Request::RankChunk(heapless::Vec::from_slice(chunk).expect("a chunk")));
            }
            requests.push(Request::RankEnd);
            // Send the whole call, then read every answer (the link buffers it).
            let first = d.device.next_id();
            let mut bytes = Vec::new();
            let mut ids = vec![first];
            bytes.extend(encode_request(first, &requests[0]));
            for r in &requests[1..] {
                let id = d.device.next_id();
                ids.push(id);
                bytes.extend(encode_request(id, r));
            }
            d.device.send_bytes(&bytes).map_err(|e| e.to_string())?;
            let (mut received, mut shown_so_far) = (0u32, 0u8);
            for (i, id) in ids.iter().enumerate() {
                let frame = d.device.recv_frame().map_err(|e| e.to_string())?;
                let want = match &requests[i] {
                    Request::RankBegin { .. } => Response::RankOpen,
                    Request::RankShown(items) => {
                        shown_so_far += items.len() as u8;
                        Response::ShownAccepted { shown: shown_so_far }
                    }
                    Request::RankChunk(chunk) => {
                        received += chunk.len() as u32;
                        Response::ChunkAccepted { received }
                    }
                    _ => expected.clone(),
                };
                let want_bytes = encode_response(*id, &want);
                if frame[..] != want_bytes[..want_bytes.len() - 1] {
                    let got = super::decode_response(&frame)
                        .map(|e| format!("id {} {:?}", e.request_id, e.body))
                        .unwrap_or_else(|e| format!("undecodable ({e})"));
                    return Err(format!(
                        "rank call at {now} ({} candidates, k {k}): answer {i} differs\n  expected {want:?}\n  got {got}",
                        batch.len()
                    ));
                }
            }
            let mut r = self.report.lock().expect("not poisoned");
            r.rank_calls += 1;
            r.identical += 1;
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_refuses_missing_and_non_arm_firmware_files() {
        let dir = std::env::temp_dir().join(format!("edgerank-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = |name: &str| DeviceConfig { board: MPS2_AN386, elf: dir.join(name) };
        assert!(config("missing").validate().unwrap_err().contains("does not exist"));
        // An ARM ELF header (32-bit, little-endian, EM_ARM), then an x86-64 one, garbage,
        // and an empty file.
        let mut arm = [0u8; 52];
        arm[..6].copy_from_slice(b"\x7fELF\x01\x01");
        arm[18] = 40;
        let mut x86 = arm;
        x86[4] = 2;
        x86[18] = 62;
        for (name, bytes, ok) in [
            ("arm", &arm[..], true),
            ("x86", &x86[..], false),
            ("junk", &[0x42u8; 64][..], false),
            ("empty", &[][..], false),
        ] {
            std::fs::write(dir.join(name), bytes).unwrap();
            let got = config(name).validate();
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
            if !ok {
                assert!(got.unwrap_err().contains("is not a 32-bit ARM ELF file"));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
