//! Power cuts at every flash step of every save: after the restart, the store returns either
//! the value being saved or the one committed before it, never anything else, and the device
//! boots and keeps saving.
//!
//! [`CutFlash`] is NOR flash in RAM (erase sets 0xFF, programming only clears bits) that counts
//! each word programmed and each page erased as one step. With a cut at step `n`, step `n`
//! is left half done (a torn word: only some of its bits cleared; a torn erase: half the page
//! erased) and every later operation fails, as when power drops during a save.
//!
//! Run on the host, from the repository root:
//! `cargo test --manifest-path firmware/app/Cargo.toml --no-default-features --release`.

use edgerank_core::model::Model;
use edgerank_core::num::WatchRatio;
use edgerank_core::profile::{Platform, Profile};
use edgerank_core::state::{Feedback, FeedbackKind, UserState};
use edgerank_core::wire::{Request, Response};
use edgerank_device::link::Link;
use edgerank_device::persist::{Store, BUFFER};
use edgerank_device::server::{Device, Server};
use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

const PAGE: usize = 4096;
const PAGES: usize = 6;
const WORD: usize = 4;

#[derive(Clone)]
struct CutFlash {
    mem: Vec<u8>,
    /// Steps left before the cut (`None`: no cut).
    budget: Option<usize>,
    /// Steps done.
    steps: usize,
    /// Power is gone: every operation fails.
    dead: bool,
    /// Reads that fail before the driver recovers.
    failing_reads: usize,
}

#[derive(Debug)]
struct PowerLost;

impl NorFlashError for PowerLost {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::Other
    }
}

impl CutFlash {
    fn new() -> Self {
        Self { mem: vec![0xFF; PAGE * PAGES], budget: None, steps: 0, dead: false, failing_reads: 0 }
    }

    /// One step; `false` when power is cut at this step.
    fn step(&mut self) -> bool {
        if let Some(left) = self.budget {
            if left == 0 {
                self.dead = true;
                return false;
            }
            self.budget = Some(left - 1);
        }
        self.steps += 1;
        true
    }

    /// Power comes back.
    fn restart(mut self) -> Self {
        self.budget = None;
        self.dead = false;
        self
    }
}

impl ErrorType for CutFlash {
    type Error = PowerLost;
}

impl ReadNorFlash for CutFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), PowerLost> {
        if self.dead {
            return Err(PowerLost);
        }
        if self.failing_reads > 0 {
            self.failing_reads -= 1;
            return Err(PowerLost);
        }
        let o = offset as usize;
        bytes.copy_from_slice(&self.mem[o..o + bytes.len()]);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl NorFlash for CutFlash {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), PowerLost> {
        assert!(
            (from as usize).is_multiple_of(PAGE) && (to as usize).is_multiple_of(PAGE) && to as usize <= self.mem.len()
        );
        for page in (from as usize..to as usize).step_by(PAGE) {
            if self.dead {
                return Err(PowerLost);
            }
            if !self.step() {
                // Torn erase: the first half of the page erased, the rest as it was.
                self.mem[page..page + PAGE / 2].fill(0xFF);
                return Err(PowerLost);
            }
            self.mem[page..page + PAGE].fill(0xFF);
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), PowerLost> {
        let o = offset as usize;
        assert!(o.is_multiple_of(WORD) && bytes.len().is_multiple_of(WORD) && o + bytes.len() <= self.mem.len());
        for (w, word) in bytes.chunks(WORD).enumerate() {
            if self.dead {
                return Err(PowerLost);
            }
            let at = o + w * WORD;
            if !self.step() {
                // Torn word: only the bits of every other byte got programmed.
                for (i, &b) in word.iter().enumerate() {
                    if i % 2 == 0 {
                        self.mem[at + i] &= b;
                    }
                }
                return Err(PowerLost);
            }
            for (i, &b) in word.iter().enumerate() {
                self.mem[at + i] &= b;
            }
        }
        Ok(())
    }
}

const RANGE: std::ops::Range<u32> = 0..(PAGE * PAGES) as u32;

/// What one save commits (a test value: its size does not matter).
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
enum Save {
    User(Box<UserState>),
    Model(Model),
    Profile(Profile),
}

/// What the store should hold after a sequence of saves.
#[derive(Clone, Debug, Default, PartialEq)]
struct Committed {
    user: Option<UserState>,
    model: Option<Model>,
    profile: Option<Profile>,
}

impl Committed {
    fn after(&self, save: &Save) -> Self {
        let mut next = self.clone();
        match save {
            Save::User(u) => next.user = Some(UserState::clone(u)),
            Save::Model(m) => next.model = Some(m.clone()),
            Save::Profile(p) => next.profile = Some(p.clone()),
        }
        next
    }
}

fn apply(store: &mut Store<CutFlash>, save: &Save) -> bool {
    let mut buf = [0u8; edgerank_core::model::MODEL_BLOB_MAX];
    match save {
        Save::User(u) => store.save_user(&mut [0u8; BUFFER], u).is_ok(),
        Save::Model(m) => store.save_model(&mut [0u8; BUFFER], m.to_blob(&mut buf).unwrap()).is_ok(),
        Save::Profile(p) => store.save_profile(&mut [0u8; BUFFER], p.to_blob(&mut buf).unwrap()).is_ok(),
    }
}

fn restore(flash: CutFlash) -> (Committed, edgerank_device::persist::Restored, Store<CutFlash>) {
    let mut store = Store::new(flash, RANGE).expect("valid range");
    let r = store.restore(&mut [0u8; BUFFER]);
    let found = Committed { user: r.user.clone(), model: r.model.clone(), profile: r.profile.clone() };
    (found, r, store)
}

/// A user history: each save commits the state after a few more events, so consecutive
/// versions differ.
fn saves() -> Vec<Save> {
    let mut user = UserState::new();
    let mut saves = Vec::new();
    let kinds = [
        FeedbackKind::Like,
        FeedbackKind::Impression { watch_ratio: WatchRatio::from_f64(0.8) },
        FeedbackKind::Follow,
        FeedbackKind::SeeFewer,
        FeedbackKind::Mute,
        FeedbackKind::Skip,
    ];
    for i in 0..48u32 {
        for j in 0..3u32 {
            let e = Feedback {
                item_id: i * 10 + j,
                author_id: 100 + (i * 3 + j) % 40,
                topic: ((i + j) % 64) as u8,
                at: 1_700_000_000 + i * 60 + j,
                kind: kinds[((i + j) % kinds.len() as u32) as usize],
            };
            let _ = user.apply(&e);
        }
        saves.push(Save::User(Box::new(user.clone())));
        if i % 7 == 3 {
            saves.push(Save::Model(Model { model_id: 1000 + i, ..Model::default() }));
        }
        if i % 9 == 5 {
            let platform = Platform::ALL[(i as usize / 9) % Platform::ALL.len()];
            saves.push(Save::Profile(Profile::compile(platform.config()).unwrap()));
        }
    }
    saves
}

#[test]
fn every_power_cut_leaves_the_last_or_the_previous_version() {
    let saves = saves();
    let mut flash = CutFlash::new();
    let mut committed = Committed::default();
    let (mut cuts, mut saw_new, mut saw_old) = (0usize, 0usize, 0usize);
    for (i, save) in saves.iter().enumerate() {
        let next = committed.after(save);
        // The save without a cut: how many steps it takes.
        let mut whole = flash.clone();
        whole.steps = 0;
        let mut store = Store::new(whole, RANGE).unwrap();
        assert!(apply(&mut store, save), "save {i} failed without a cut");
        let steps = store.into_flash().steps;
        for cut in 0..steps {
            let mut cut_flash = flash.clone();
            cut_flash.budget = Some(cut);
            let mut store = Store::new(cut_flash, RANGE).unwrap();
            assert!(!apply(&mut store, save), "save {i} survived a cut at step {cut} of {steps}");
            let (found, r, mut store) = restore(store.into_flash().restart());
            assert!(r.invalid == 0, "save {i}, cut {cut}/{steps}: {r:?}");
            if found == next {
                saw_new += 1;
            } else if found == committed {
                saw_old += 1;
            } else {
                panic!("save {i}, cut at step {cut} of {steps}: restored neither the new nor the previous version");
            }
            // The device goes on: the same save again succeeds and reads back.
            assert!(apply(&mut store, save), "save {i} after a cut at {cut} failed");
            let (found, _, _) = restore(store.into_flash());
            assert_eq!(found, next, "save {i} after a cut at {cut}");
            cuts += 1;
        }
        let mut store = Store::new(flash, RANGE).unwrap();
        assert!(apply(&mut store, save));
        flash = store.into_flash();
        committed = next;
        let (found, _, _) = restore(flash.clone());
        assert_eq!(found, committed, "after save {i}");
    }
    println!(
        "{} saves, {cuts} power cuts (one at every flash write and erase step): {saw_new} restored the new version, \
         {saw_old} the previous one, 0 anything else",
        saves.len()
    );
    assert!(saw_new > 0 && saw_old > 0);
}

#[test]
fn unreadable_storage_is_erased_and_the_device_boots_fresh() {
    let user = saves().into_iter().find_map(|s| if let Save::User(u) = s { Some(*u) } else { None }).unwrap();
    // What a power-on RAM region or a foreign flash image may hold: zeros, random bytes.
    let mut random = CutFlash::new();
    for (i, b) in random.mem.iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1];
    }
    let mut zeros = CutFlash::new();
    zeros.mem.fill(0);
    for (flash, blank) in [(random, false), (zeros, false), (CutFlash::new(), true)] {
        let (found, r, store) = restore(flash);
        assert_eq!(found, Committed::default(), "{r:?}");
        // A blank store (the first boot) is left as it is: no erase, no write.
        assert_eq!(r.erased, !blank, "{r:?}");
        let flash = store.into_flash();
        assert_eq!(flash.steps == 0, blank, "{} flash steps", flash.steps);
        let mut store = Store::new(flash, RANGE).unwrap();
        assert!(store.save_user(&mut [0u8; BUFFER], &user).is_ok());
        let (found, r, _) = restore(store.into_flash());
        assert_eq!(found.user.as_ref(), Some(&user));
        assert!(!r.erased);
    }
}

#[test]
fn a_stored_blob_that_no_longer_validates_is_dropped() {
    // A model blob that sequential-storage keeps intact but the core refuses (out of range):
    // the device boots with the built-in model.
    let mut bad = Model::default();
    bad.weights[0] = [edgerank_core::num::Weight(i16::MAX); 16];
    let mut buf = [0u8; edgerank_core::model::MODEL_BLOB_MAX];
    let blob = edgerank_core::wire::encode_checked(&bad, &mut buf).unwrap();
    let mut store = Store::new(CutFlash::new(), RANGE).unwrap();
    assert!(store.save_model(&mut [0u8; BUFFER], blob).is_ok());
    let (found, r, _) = restore(store.into_flash());
    assert_eq!((found.model, r.invalid), (None, 1));
}

#[test]
fn a_stored_user_state_that_no_longer_validates_leaves_a_fresh_state() {
    // A user state of another format version, next to a valid model: the state is dropped
    // (the place it was decoded into is fresh again), the model is restored.
    let mut old = saves().into_iter().find_map(|s| if let Save::User(u) = s { Some(*u) } else { None }).unwrap();
    old.format_version = 1;
    let model = Model { model_id: 77, ..Model::default() };
    let mut buf = [0u8; edgerank_core::model::MODEL_BLOB_MAX];
    let mut store = Store::new(CutFlash::new(), RANGE).unwrap();
    assert!(store.save_user(&mut [0u8; BUFFER], &old).is_ok());
    assert!(store.save_model(&mut [0u8; BUFFER], model.to_blob(&mut buf).unwrap()).is_ok());
    let mut store = Store::new(store.into_flash(), RANGE).unwrap();
    let (mut user, mut m, mut p) =
        (UserState::new(), Model::default(), Profile::compile(Platform::X.config()).unwrap());
    let outcome = store.restore_with(&mut [0u8; BUFFER], &mut user, &mut m, &mut p);
    assert_eq!((outcome.user, outcome.model, outcome.profile, outcome.invalid), (false, true, false, 1));
    assert_eq!((user, m.model_id), (UserState::new(), 77));
}

#[test]
fn restore_with_writes_only_what_validates_and_keeps_the_rest() {
    // Only a user state stored: it is restored in place; the model and profile keep what
    // their places held (the built-in ones at boot).
    let user = saves().into_iter().find_map(|s| if let Save::User(u) = s { Some(*u) } else { None }).unwrap();
    let mut store = Store::new(CutFlash::new(), RANGE).unwrap();
    assert!(store.save_user(&mut [0u8; BUFFER], &user).is_ok());
    let mut store = Store::new(store.into_flash(), RANGE).unwrap();
    let boot_model = Model { model_id: 5, ..Model::default() };
    let boot_profile = Profile::compile(Platform::Threads.config()).unwrap();
    let (mut u, mut m, mut p) = (UserState::new(), boot_model.clone(), boot_profile.clone());
    let outcome = store.restore_with(&mut [0u8; BUFFER], &mut u, &mut m, &mut p);
    assert_eq!((outcome.user, outcome.model, outcome.profile, outcome.invalid), (true, false, false, 0));
    assert_eq!((u, m, p), (user, boot_model, boot_profile));
}

#[test]
fn an_item_larger_than_the_buffer_makes_the_store_unreadable_and_erased() {
    // What a store written by a build with larger blobs may hold for this one: an item larger
    // than this build's buffer (written through a larger one), next to a valid user state.
    // sequential-storage reads every item while it looks for a key, so no key reads back:
    // the store is erased, and saves work again.
    let user = saves().into_iter().find_map(|s| if let Save::User(u) = s { Some(*u) } else { None }).unwrap();
    let big = vec![0x5A; BUFFER + 200];
    let mut store = Store::new(CutFlash::new(), RANGE).unwrap();
    assert!(store.save_user(&mut [0u8; BUFFER], &user).is_ok());
    assert!(store.save_profile(&mut vec![0u8; BUFFER + 400], &big).is_ok());
    let (found, r, mut store) = restore(store.into_flash());
    assert_eq!((found, r.erased), (Committed::default(), true));
    assert!(store.save_user(&mut [0u8; BUFFER], &user).is_ok());
    let (found, r, _) = restore(store.into_flash());
    assert_eq!((found.user, r.erased), (Some(user), false));
}

#[test]
fn a_flash_that_fails_to_read_is_left_alone() {
    // A driver error is not damage: nothing is restored, nothing is erased, and nothing is
    // saved until the next boot, even once the driver works again (a fresh state saved then
    // would hide the stored one).
    let user = saves().into_iter().find_map(|s| if let Save::User(u) = s { Some(*u) } else { None }).unwrap();
    let mut store = Store::new(CutFlash::new(), RANGE).unwrap();
    assert!(store.save_user(&mut [0u8; BUFFER], &user).is_ok());
    let mut failing = store.into_flash();
    let held = failing.mem.clone();
    failing.failing_reads = 1;
    let (found, r, mut store) = restore(failing);
    assert_eq!((found, r.erased), (Committed::default(), false));
    assert!(store.save_user(&mut [0u8; BUFFER], &UserState::new()).is_err());
    let flash = store.into_flash();
    assert!(flash.mem == held, "the flash changed");
    let (found, _, _) = restore(flash);
    assert_eq!(found.user, Some(user));
}

/// The request side of a serial link: the bytes to receive, and what the device sent.
struct Pipe {
    input: std::collections::VecDeque<u8>,
    output: Vec<u8>,
}

impl embedded_io::ErrorType for Pipe {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        assert!(!self.input.is_empty(), "the device waits for a request the test did not send");
        let n = buf.len().min(self.input.len());
        for slot in &mut buf[..n] {
            *slot = self.input.pop_front().unwrap();
        }
        Ok(n)
    }
}

impl embedded_io::Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Serves `requests` one by one on a booted device saving to `store`; its answers.
fn serve(store: &mut Store<CutFlash>, requests: &[Request]) -> Vec<Response> {
    use edgerank_core::wire::{decode_frame, encode_frame, Envelope, MAX_FRAME, MAX_PAYLOAD};
    let mut input = std::collections::VecDeque::new();
    for (i, request) in requests.iter().enumerate() {
        let (mut scratch, mut out) = ([0u8; MAX_PAYLOAD], [0u8; MAX_FRAME]);
        input.extend(encode_frame(&Envelope::new(i as u16 + 1, request.clone()), &mut scratch, &mut out).unwrap());
    }
    let mut device = Device::boot();
    let mut link = Link::new(Pipe { input, output: Vec::new() }, 1);
    let mut server = Server::new(&mut device, &mut link, None).with_store(store);
    for _ in requests {
        server.serve_one();
    }
    drop(server);
    let mut output = std::mem::take(&mut link.io_mut().output);
    output
        .split_mut(|&b| b == 0)
        .filter(|frame| !frame.is_empty())
        .map(|frame| decode_frame::<Envelope<Response>>(frame).unwrap().body)
        .collect()
}

#[test]
fn a_change_the_store_could_not_save_is_applied_and_counted() {
    let like = Feedback { item_id: 1, author_id: 2, topic: 3, at: 1_700_000_000, kind: FeedbackKind::Like };
    let requests = [
        Request::Feedback(heapless::Vec::from_slice(&[like]).unwrap()),
        Request::Stats,
        Request::ResetState,
        Request::Stats,
    ];
    let stats = |r: &Response| match r {
        Response::Stats(s) => s.store_failures,
        other => panic!("not Stats: {other:?}"),
    };
    // Power is gone from the first flash step: every save fails. The answers still report
    // the changes (they are in effect until the next reset), and Stats counts each failure.
    let mut dead = Store::new(CutFlash { budget: Some(0), ..CutFlash::new() }, RANGE).unwrap();
    let answers = serve(&mut dead, &requests);
    assert!(matches!(answers[0], Response::FeedbackApplied { applied: 1, total_events: 1 }), "{answers:?}");
    assert_eq!((stats(&answers[1]), &answers[2], stats(&answers[3])), (1, &Response::StateReset, 2));
    // A working store: nothing counted, and the state is there after a restart.
    let mut store = Store::new(CutFlash::new(), RANGE).unwrap();
    let answers = serve(&mut store, &requests[..2]);
    assert_eq!(stats(&answers[1]), 0);
    let (found, _, _) = restore(store.into_flash());
    assert_eq!(found.user.map(|u| u.events), Some(1));
}
