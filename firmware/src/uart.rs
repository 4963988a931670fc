//! Driver for the CMSDK APB UART (ARM DDI0479C), as on the mps2 boards, polled, as
//! `embedded_io::Read + Write`.
//!
//! Registers: DATA 0x00, STATE 0x04 (bit 0 TX full, bit 1 RX full, bits 2/3 TX/RX overrun,
//! write 1 to clear), CTRL 0x08 (bit 0 TX enable, bit 1 RX enable), BAUDDIV 0x10 (at least
//! 16). The UART has a one-byte buffer each way and no FIFO.
//!
//! Under QEMU (hw/char/cmsdk-apb-uart.c) the receive side only accepts a byte from the
//! host while RX is enabled and the buffer is empty, so bytes wait in the host socket rather
//! than overrun; reading DATA empties the buffer. A byte written to DATA goes to the chardev
//! at once; TX full stays set while the host side is not accepting. QEMU warns if TX is
//! enabled with BAUDDIV below 16, so the divider is programmed first.
//!
//! Waiting for a byte sleeps (WFI) until the UART's RX interrupt is pending, with interrupts
//! masked (PRIMASK), so no handler runs: the wake-up is all that is needed. On hardware that
//! saves power; under QEMU it stops the guest from hammering the device lock with status
//! reads, which halves QEMU's CPU use per received byte.

use core::ptr;

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const STATE_TX_OVERRUN: u32 = 1 << 2;
const STATE_RX_OVERRUN: u32 = 1 << 3;
const INTSTATUS: usize = 0x0C;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_RX_INTEN: u32 = 1 << 3;
const INT_RX: u32 = 1 << 1;

/// An NVIC interrupt line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Irq(pub u16);

// SAFETY: `number` returns the line it was built with; callers build it from the board's
// interrupt map.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}

/// A received byte was lost because the previous one had not been read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub struct Overrun;

impl core::fmt::Display for Overrun {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("UART receive overrun")
    }
}

impl core::error::Error for Overrun {}

impl embedded_io::Error for Overrun {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// One CMSDK APB UART.
pub struct CmsdkUart {
    base: usize,
    rx_irq: Irq,
}

impl CmsdkUart {
    /// Takes the UART at `base`, 8N1 at `baud` from a `pclk_hz` peripheral clock, TX and RX
    /// enabled; its receive interrupt `rx_irq` is enabled in the NVIC only to wake the core
    /// from WFI, so interrupts are masked (PRIMASK) for good.
    ///
    /// # Safety
    /// `base` must be a CMSDK APB UART whose receive interrupt is `rx_irq`, nothing else may
    /// use it while this value lives, and the firmware must not rely on interrupt handlers.
    pub unsafe fn new(base: usize, rx_irq: Irq, pclk_hz: u32, baud: u32) -> Self {
        let uart = Self { base, rx_irq };
        uart.write_reg(CTRL, 0);
        uart.write_reg(BAUDDIV, (pclk_hz / baud).max(16));
        uart.write_reg(STATE, STATE_TX_OVERRUN | STATE_RX_OVERRUN);
        uart.write_reg(INTSTATUS, 0xF);
        cortex_m::interrupt::disable();
        cortex_m::peripheral::NVIC::unpend(rx_irq);
        cortex_m::peripheral::NVIC::unmask(rx_irq);
        uart.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INTEN);
        uart
    }

    #[inline(always)]
    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract: `base` is this UART's register block.
        unsafe { ptr::read_volatile((self.base + offset) as *const u32) }
    }

    #[inline(always)]
    fn write_reg(&self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }
}

impl ErrorType for CmsdkUart {
    type Error = Overrun;
}

impl Read for CmsdkUart {
    /// Blocks (asleep) until a byte arrives, then returns the bytes available (one: no FIFO).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Overrun> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let state = self.read_reg(STATE);
            if state & STATE_RX_OVERRUN != 0 {
                self.write_reg(STATE, STATE_RX_OVERRUN);
                return Err(Overrun);
            }
            if state & STATE_RX_FULL != 0 {
                buf[0] = self.read_reg(DATA) as u8;
                return Ok(1);
            }
            // Nothing yet: clear the last RX interrupt, look again (a byte that came in
            // meanwhile has raised a new one), and sleep until the next one is pending.
            self.write_reg(INTSTATUS, INT_RX);
            cortex_m::peripheral::NVIC::unpend(self.rx_irq);
            if self.read_reg(STATE) & STATE_RX_FULL == 0 {
                cortex_m::asm::wfi();
            }
        }
    }
}

impl ReadReady for CmsdkUart {
    fn read_ready(&mut self) -> Result<bool, Overrun> {
        Ok(self.read_reg(STATE) & STATE_RX_FULL != 0)
    }
}

impl Write for CmsdkUart {
    /// Sends every byte, waiting for the transmit buffer before each one.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Overrun> {
        for &b in buf {
            while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
            self.write_reg(DATA, b as u32);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Overrun> {
        while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
        Ok(())
    }
}

impl WriteReady for CmsdkUart {
    fn write_ready(&mut self) -> Result<bool, Overrun> {
        Ok(self.read_reg(STATE) & STATE_TX_FULL == 0)
    }
}
