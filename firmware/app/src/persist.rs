//! What the device keeps across resets and power loss: the user state, and the model and
//! profile blobs last loaded over the link.
//!
//! Storage is [`sequential_storage`]'s key-value map over any
//! [`embedded_storage::nor_flash::NorFlash`]: items are appended with a CRC, the newest item of
//! a key wins, pages are used in turn (wear levelling) and erased only when their live items
//! have been moved on, and an item interrupted by a power cut is ignored at the next boot, so
//! a read after any cut returns either the newest committed value or the one before it. On top
//! of that, every value is one of the core's checksummed, versioned blobs, validated again when
//! it is read back ([`UserState::restore_from_blob`], [`Model::from_blob`],
//! [`Profile::from_blob`]): anything that does not validate is dropped and the built-in default
//! is used instead, so a boot always succeeds.
//!
//! A boot restores each value straight into the state the device serves from
//! ([`Store::restore_with`]); the user state, the largest value (2.5 KB when full), is decoded
//! in place: decoded as a value it took a 15 KB stack frame, the deepest point of a warm boot.
//!
//! sequential-storage is written for async flash drivers; [`Blocking`] adapts a blocking
//! driver and [`block_on`] runs its futures, which complete without waiting.

use core::future::Future;
use core::ops::Range;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use edgerank_core::model::{Model, MODEL_BLOB_MAX};
use edgerank_core::profile::{Profile, PROFILE_BLOB_MAX};
use edgerank_core::state::{UserState, STATE_BLOB_MAX};
use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use sequential_storage::cache::Cache;
use sequential_storage::map::{MapConfig, MapStorage, SerializationError, Value};

/// Map keys.
const KEY_USER: u8 = 1;
const KEY_MODEL: u8 = 2;
const KEY_PROFILE: u8 = 3;
/// Every key, in the order a boot reads them.
const KEYS: [u8; 3] = [KEY_USER, KEY_MODEL, KEY_PROFILE];

/// The largest value, rounded up for the key byte and flash-word padding.
pub const BUFFER: usize = max(STATE_BLOB_MAX, max(MODEL_BLOB_MAX, PROFILE_BLOB_MAX)) + 16;

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Why storage failed. The device keeps serving from RAM whatever happens here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreError {
    /// The flash range does not suit the map (alignment, fewer than two pages).
    BadRange,
    /// The flash driver reported an error.
    Flash,
    /// The storage is full (every page holds live data).
    Full,
    /// The storage is corrupted beyond what sequential-storage repairs (it is erased at boot).
    Corrupted,
    /// Anything else sequential-storage reports (buffer sizes, item sizes).
    Other,
}

impl<E> From<sequential_storage::Error<E>> for StoreError {
    fn from(e: sequential_storage::Error<E>) -> Self {
        match e {
            sequential_storage::Error::Storage { .. } => StoreError::Flash,
            sequential_storage::Error::FullStorage => StoreError::Full,
            sequential_storage::Error::Corrupted { .. } => StoreError::Corrupted,
            _ => StoreError::Other,
        }
    }
}

/// What a boot found in storage; `None` where nothing valid was stored.
#[derive(Debug, Default)]
pub struct Restored {
    /// The user state.
    pub user: Option<UserState>,
    /// The model last loaded.
    pub model: Option<Model>,
    /// The profile last loaded.
    pub profile: Option<Profile>,
    /// Stored values that did not validate (dropped).
    pub invalid: u8,
    /// Whether the storage was unreadable or held nothing valid, and was erased (not when it
    /// was blank: the first boot finds it so).
    pub erased: bool,
}

/// What [`Store::restore_with`] restored and found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// Whether a stored user state validated and was restored.
    pub user: bool,
    /// Whether a stored model validated and was restored.
    pub model: bool,
    /// Whether a stored profile validated and was restored.
    pub profile: bool,
    /// Stored values that did not validate (dropped).
    pub invalid: u8,
    /// Whether the storage was unreadable or held nothing valid, and was erased (not when it
    /// was blank).
    pub erased: bool,
}

/// The device's persistent store over a flash driver `F`.
pub struct Store<F: NorFlash> {
    map: MapStorage<
        u8,
        Blocking<F>,
        Cache<
            sequential_storage::cache::Uncached,
            sequential_storage::cache::Uncached,
            sequential_storage::cache::Uncached,
            u8,
        >,
    >,
    /// Set when a boot could not read the store (the flash driver failed): saves are refused
    /// until the next boot, as the first one would hide the stored user state under a fresh
    /// one.
    read_failed: bool,
}

impl<F: NorFlash> Store<F> {
    /// A store over `range` of `flash` (page-aligned, at least two pages; each page must hold
    /// the largest blob, [`STATE_BLOB_MAX`] bytes, plus sequential-storage's headers).
    ///
    /// The store keeps no buffer of its own: every read and write borrows one of at least
    /// [`BUFFER`] bytes from the caller for its duration (the firmware lends the link's, which
    /// holds nothing between frames; see [`crate::link::Link::buffer`]). A smaller buffer makes
    /// the operation fail ([`StoreError::Other`]), never panic.
    pub fn new(flash: F, range: Range<u32>) -> Result<Self, StoreError> {
        let config = MapConfig::try_new(range).map_err(|_| StoreError::BadRange)?;
        Ok(Self { map: MapStorage::new(Blocking(flash), config, Cache::new_uncached()), read_failed: false })
    }

    /// Reads what is stored, through `buf` (see [`Store::new`]). Unreadable storage (damaged
    /// beyond repair) or storage with nothing valid (but not blank) is erased; a value that
    /// does not validate is dropped. Never fails: the device boots.
    pub fn restore(&mut self, buf: &mut [u8]) -> Restored {
        let mut user = UserState::new();
        let mut model = Model::default();
        let mut profile = crate::server::Device::boot_profile();
        let outcome = self.restore_with(buf, &mut user, &mut model, &mut profile);
        Restored {
            user: outcome.user.then_some(user),
            model: outcome.model.then_some(model),
            profile: outcome.profile.then_some(profile),
            invalid: outcome.invalid,
            erased: outcome.erased,
        }
    }

    /// [`Store::restore`] straight into the device's state: each stored value that validates
    /// replaces the value in its place, and the others are left as they are (the built-in
    /// defaults at boot; `user` should be a fresh state). The user state is decoded in place
    /// ([`UserState::restore_from_blob`]: no state-sized temporary), the model and profile one
    /// at a time in their own out-of-line decoders, so a warm boot's stack stays below that
    /// of serving a rank call.
    ///
    /// Two passes over the same, unchanged flash: the first checks what validates (restoring
    /// the user state on the way), so that no model or profile is restored when the store is
    /// unreadable or holds nothing valid (it is erased then, and `user` is left fresh); the
    /// second decodes the model and profile again, into their places. A store that was never
    /// written is left as it is; one whose flash driver fails to read is left alone too, and
    /// nothing is restored from it.
    pub fn restore_with(
        &mut self,
        buf: &mut [u8],
        user: &mut UserState,
        model: &mut Model,
        profile: &mut Profile,
    ) -> RestoreOutcome {
        self.read_failed = false;
        let mut valid = 0u8;
        let mut invalid = 0u8;
        let mut unreadable = None;
        let mut user_restored = false;
        for key in KEYS {
            let validates = match key {
                KEY_USER => self.load(buf, key, |bytes| decode_user(bytes, user)),
                KEY_MODEL => self.load(buf, key, |bytes| decode_model(bytes, None)),
                _ => self.load(buf, key, |bytes| decode_profile(bytes, None)),
            };
            match validates {
                Ok(Some(true)) => {
                    valid += 1;
                    user_restored |= key == KEY_USER;
                }
                Ok(Some(false)) => invalid += 1,
                Ok(None) => {}
                Err(e) => {
                    unreadable = Some(e);
                    break;
                }
            }
        }
        if unreadable == Some(StoreError::Flash) {
            // The driver failed: erasing through it would not help, and would lose what the
            // flash holds if it recovers. The device boots fresh and saves nothing until the
            // next boot reads the store (a save would hide the stored user state; so a
            // `ResetState` answered meanwhile is not kept either).
            crate::log::error!("storage read failed: booting without it, saves off until the next boot");
            self.read_failed = true;
            if user_restored {
                user.reset();
            }
            return RestoreOutcome { invalid, ..RestoreOutcome::default() };
        }
        if unreadable.is_none() && valid == 0 && invalid == 0 && self.is_blank(buf) {
            // Never written (or erased since): nothing to do. Erasing it again at every boot
            // would wear the flash and, on a real board, take most of a second.
            return RestoreOutcome::default();
        }
        // Unreadable (damaged beyond sequential-storage's repair, or holding an item larger
        // than this build's buffer, which makes every key unreadable), or holding nothing
        // valid (zeroed or random bytes, or values that no longer validate): start from an
        // erased range, so that the next save finds its pages in order.
        if unreadable.is_some() || valid == 0 {
            if unreadable.is_some() {
                crate::log::warn!("storage unreadable: erasing it");
            }
            if user_restored {
                user.reset();
            }
            if block_on(self.map.erase_all()).is_err() {
                crate::log::error!("storage erase failed: running without persistence");
            }
            return RestoreOutcome { invalid, erased: true, ..RestoreOutcome::default() };
        }
        let model_restored = self.load(buf, KEY_MODEL, |bytes| decode_model(bytes, Some(model))) == Ok(Some(true));
        let profile_restored =
            self.load(buf, KEY_PROFILE, |bytes| decode_profile(bytes, Some(profile))) == Ok(Some(true));
        RestoreOutcome { user: user_restored, model: model_restored, profile: profile_restored, invalid, erased: false }
    }

    /// Whether every byte of the store's range reads 0xFF (read through `buf`).
    #[inline(never)]
    fn is_blank(&mut self, buf: &mut [u8]) -> bool {
        let range = self.map.flash_range();
        let flash = &mut self.map.flash().0;
        // Whole read units (the range is page-aligned, so its end is one too).
        let chunk = buf.len() - buf.len() % F::READ_SIZE.max(1);
        let mut at = range.start;
        while at < range.end && chunk > 0 {
            let len = chunk.min((range.end - at) as usize);
            let Some(part) = buf.get_mut(..len) else { return false };
            if flash.read(at, part).is_err() || part.iter().any(|&b| b != 0xFF) {
                return false;
            }
            at += len as u32;
        }
        chunk > 0
    }

    /// The bytes stored under `key`, read into `buf`.
    #[inline(never)]
    fn fetch<'b>(&mut self, buf: &'b mut [u8], key: u8) -> Result<Option<&'b [u8]>, StoreError> {
        Ok(block_on(self.map.fetch_item::<&[u8]>(buf, &key))?)
    }

    /// The value stored under `key`, handed to `decode` (which says whether it validates);
    /// `None` when nothing is stored. Out of line, once per decoder: the bytes are read before
    /// the decoder's frame is entered, and each decoder's temporaries stay in its own frame.
    #[inline(never)]
    fn load(
        &mut self,
        buf: &mut [u8],
        key: u8,
        decode: impl FnOnce(&[u8]) -> bool,
    ) -> Result<Option<bool>, StoreError> {
        Ok(self.fetch(buf, key)?.map(decode))
    }

    /// Commits the user state (encoded in `buf`, see [`Store::new`]).
    pub fn save_user(&mut self, buf: &mut [u8], user: &UserState) -> Result<(), StoreError> {
        self.save(buf, KEY_USER, &Encoded(user))
    }

    /// Commits a model blob (already validated: it is what the device now runs).
    pub fn save_model(&mut self, buf: &mut [u8], blob: &[u8]) -> Result<(), StoreError> {
        self.save(buf, KEY_MODEL, &blob)
    }

    /// Commits a profile blob (already validated).
    pub fn save_profile(&mut self, buf: &mut [u8], blob: &[u8]) -> Result<(), StoreError> {
        self.save(buf, KEY_PROFILE, &blob)
    }

    fn save<'v, V: Value<'v>>(&mut self, buf: &mut [u8], key: u8, value: &V) -> Result<(), StoreError> {
        if self.read_failed {
            return Err(StoreError::Flash);
        }
        Ok(block_on(self.map.store_item(buf, &key, value))?)
    }

    /// The flash driver back (for tests).
    pub fn into_flash(self) -> F {
        self.map.destroy().0 .0
    }
}

// One decoder per kind of value, out of line: their temporaries do not share a frame. Each
// says whether the value validates, and only then writes it to `into` (the user state is
// decoded in place, and left fresh if it does not validate).

#[inline(never)]
fn decode_user(bytes: &[u8], into: &mut UserState) -> bool {
    into.restore_from_blob(bytes).is_ok()
}

#[inline(never)]
fn decode_model(bytes: &[u8], into: Option<&mut Model>) -> bool {
    match into {
        Some(into) => into.replace_from_blob(bytes).is_ok(),
        None => Model::from_blob(bytes).is_ok(),
    }
}

#[inline(never)]
fn decode_profile(bytes: &[u8], into: Option<&mut Profile>) -> bool {
    match into {
        Some(into) => into.replace_from_blob(bytes).is_ok(),
        None => Profile::from_blob(bytes).is_ok(),
    }
}

/// A user state written straight into sequential-storage's buffer as its blob (no second
/// buffer). Only written, never read back through this type.
struct Encoded<'a>(&'a UserState);

impl<'a> Value<'a> for Encoded<'_> {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        self.0.to_blob(buffer).map(|b| b.len()).map_err(|_| SerializationError::BufferTooSmall)
    }

    fn deserialize_from(_: &'a [u8]) -> Result<(Self, usize), SerializationError> {
        Err(SerializationError::InvalidFormat)
    }
}

/// What the device's request loop calls after a change it should keep; `buf` is the buffer
/// the write goes through (at least [`BUFFER`] bytes, see [`Store::new`]). Each returns
/// whether the change was saved (the loop counts the ones that were not in
/// `DeviceStats::store_failures`).
pub trait Persist {
    /// The user state changed (feedback applied, or reset).
    #[must_use]
    fn user_changed(&mut self, buf: &mut [u8], user: &UserState) -> bool;
    /// A model blob was validated and is now active.
    #[must_use]
    fn model_loaded(&mut self, buf: &mut [u8], blob: &[u8]) -> bool;
    /// A profile blob was validated and is now active.
    #[must_use]
    fn profile_loaded(&mut self, buf: &mut [u8], blob: &[u8]) -> bool;
}

impl<F: NorFlash> Persist for Store<F> {
    fn user_changed(&mut self, buf: &mut [u8], user: &UserState) -> bool {
        let saved = self.save_user(buf, user);
        if let Err(e) = &saved {
            crate::log::warn!("user state not saved: {}", e);
        }
        saved.is_ok()
    }

    fn model_loaded(&mut self, buf: &mut [u8], blob: &[u8]) -> bool {
        let saved = self.save_model(buf, blob);
        if let Err(e) = &saved {
            crate::log::warn!("model not saved: {}", e);
        }
        saved.is_ok()
    }

    fn profile_loaded(&mut self, buf: &mut [u8], blob: &[u8]) -> bool {
        let saved = self.save_profile(buf, blob);
        if let Err(e) = &saved {
            crate::log::warn!("profile not saved: {}", e);
        }
        saved.is_ok()
    }
}

/// An async view of a blocking flash driver (every operation completes at once).
pub struct Blocking<F>(pub F);

impl<F: ErrorType> ErrorType for Blocking<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> embedded_storage_async::nor_flash::ReadNorFlash for Blocking<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.0.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: NorFlash> embedded_storage_async::nor_flash::NorFlash for Blocking<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.0.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.write(offset, bytes)
    }
}

/// Runs a future that never waits (every flash operation above completes when called).
pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// NOR flash emulated in a RAM region that survives warm resets (the QEMU boards reserve one
/// in memory.x): erased bytes read 0xFF, and a write can only clear bits, as on real NOR.
pub struct RamFlash {
    base: *mut u8,
    len: usize,
}

/// Erase page of [`RamFlash`] (as the nRF52840's).
pub const RAM_FLASH_PAGE: usize = 4096;

/// An error of [`RamFlash`]: out of bounds or misaligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamFlashError(embedded_storage::nor_flash::NorFlashErrorKind);

impl embedded_storage::nor_flash::NorFlashError for RamFlashError {
    fn kind(&self) -> embedded_storage::nor_flash::NorFlashErrorKind {
        self.0
    }
}

impl RamFlash {
    /// # Safety
    /// `base..base + len` is RAM that nothing else uses for as long as the value lives.
    pub unsafe fn new(base: *mut u8, len: usize) -> Self {
        Self { base, len }
    }

    fn check(&self, offset: u32, len: usize, align: usize) -> Result<(), RamFlashError> {
        use embedded_storage::nor_flash::{check_read, NorFlashErrorKind};
        check_read(self, offset, len).map_err(|_| RamFlashError(NorFlashErrorKind::OutOfBounds))?;
        if !(offset as usize).is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(RamFlashError(NorFlashErrorKind::NotAligned));
        }
        Ok(())
    }
}

impl ErrorType for RamFlash {
    type Error = RamFlashError;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.check(offset, bytes.len(), 1)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: in bounds (checked above); the region is ours (see `new`).
            *b = unsafe { core::ptr::read_volatile(self.base.add(offset as usize + i)) };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.len
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = RAM_FLASH_PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = (to as usize).saturating_sub(from as usize);
        self.check(from, len, RAM_FLASH_PAGE)?;
        for i in from as usize..to as usize {
            // SAFETY: as in `read`.
            unsafe { core::ptr::write_volatile(self.base.add(i), 0xFF) };
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.check(offset, bytes.len(), 4)?;
        for (i, &b) in bytes.iter().enumerate() {
            // SAFETY: as in `read`. NOR programming only clears bits.
            unsafe {
                let p = self.base.add(offset as usize + i);
                core::ptr::write_volatile(p, core::ptr::read_volatile(p) & b);
            }
        }
        Ok(())
    }
}

impl embedded_storage::nor_flash::MultiwriteNorFlash for RamFlash {}
