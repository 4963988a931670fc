//! The nRF52840's flash (NVMC) as `embedded_storage::nor_flash::NorFlash`, for the persistent
//! store. Register offsets from the nRF52840 Product Specification v1.7, section 4.3 (NVMC);
//! like the UART driver, not yet run on a part.
//!
//! Flash is 4 KiB pages of 32-bit words; programming only clears bits; a page erase takes up
//! to 85 ms and a word write up to 41 us, during which the CPU stalls if it fetches from flash
//! (this firmware runs from flash, so it simply waits for READY).

use core::ptr;

use embedded_storage::nor_flash::{
    check_erase, check_read, check_write, ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind,
    ReadNorFlash,
};

const NVMC: usize = 0x4001_E000;
const READY: usize = NVMC + 0x400;
const CONFIG: usize = NVMC + 0x504;
const ERASEPAGE: usize = NVMC + 0x508;
const CONFIG_READ: u32 = 0;
const CONFIG_WRITE: u32 = 1;
const CONFIG_ERASE: u32 = 2;

/// Page size.
pub const PAGE: usize = 4096;

/// A window of the on-chip flash: `base..base + len` (page-aligned), addressed from 0.
pub struct Nvmc {
    base: usize,
    len: usize,
}

/// Out of bounds or misaligned.
#[derive(Clone, Copy, Debug)]
pub struct NvmcError(NorFlashErrorKind);

impl NorFlashError for NvmcError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

impl Nvmc {
    /// # Safety
    /// The window is flash that holds no code or data of this firmware (memory.x leaves it
    /// out of FLASH), and nothing else drives the NVMC.
    pub unsafe fn new(base: usize, len: usize) -> Self {
        Self { base, len }
    }

    fn wait_ready() {
        // SAFETY: READY is a read-only NVMC register.
        while unsafe { ptr::read_volatile(READY as *const u32) } & 1 == 0 {}
    }

    fn config(mode: u32) {
        Self::wait_ready();
        // SAFETY: CONFIG selects read, write or erase access; nothing else uses the NVMC.
        unsafe { ptr::write_volatile(CONFIG as *mut u32, mode) };
        Self::wait_ready();
    }
}

impl ErrorType for Nvmc {
    type Error = NvmcError;
}

impl ReadNorFlash for Nvmc {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), NvmcError> {
        check_read(self, offset, bytes.len()).map_err(NvmcError)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: inside the window (checked); flash is memory-mapped for reads.
            *b = unsafe { ptr::read_volatile((self.base + offset as usize + i) as *const u8) };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.len
    }
}

impl NorFlash for Nvmc {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), NvmcError> {
        check_erase(self, from, to).map_err(NvmcError)?;
        Self::config(CONFIG_ERASE);
        for page in (from as usize..to as usize).step_by(PAGE) {
            // SAFETY: a page of the window (checked); erase access is enabled.
            unsafe { ptr::write_volatile(ERASEPAGE as *mut u32, (self.base + page) as u32) };
            Self::wait_ready();
        }
        Self::config(CONFIG_READ);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), NvmcError> {
        check_write(self, offset, bytes.len()).map_err(NvmcError)?;
        Self::config(CONFIG_WRITE);
        for (i, word) in bytes.chunks_exact(4).enumerate() {
            let value = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            let at = self.base + offset as usize + 4 * i;
            // SAFETY: a word of the window (checked, aligned); write access is enabled.
            unsafe { ptr::write_volatile(at as *mut u32, value) };
            Self::wait_ready();
        }
        Self::config(CONFIG_READ);
        Ok(())
    }
}

// Each word may be programmed twice between erases (nRF52840 PS: n_WRITE = 2), which is what
// sequential-storage needs to mark items.
impl MultiwriteNorFlash for Nvmc {}
