//! Driver for the nRF52840's UART0 (the non-DMA UART, sharing its ID with UARTE0), polled,
//! as `embedded_io::Read + Write`, with hardware flow control.
//!
//! The DK routes P0.06 (TXD), P0.08 (RXD), P0.05 (RTS) and P0.07 (CTS) to the interface
//! MCU's USB virtual COM port. Flow control matters: the receiver has a 6-byte FIFO, and the
//! firmware stops reading while it scores a chunk or sends an answer, so without RTS the host
//! would overrun it.
//!
//! Register offsets are from the nRF52840 Product Specification (UART, legacy).

use core::ptr;

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};

const UART0: usize = 0x4000_2000;
const TASKS_STARTRX: usize = 0x000;
const TASKS_STARTTX: usize = 0x008;
const EVENTS_RXDRDY: usize = 0x108;
const EVENTS_TXDRDY: usize = 0x11C;
const EVENTS_ERROR: usize = 0x124;
const ERRORSRC: usize = 0x480;
const ENABLE: usize = 0x500;
const PSEL_RTS: usize = 0x508;
const PSEL_TXD: usize = 0x50C;
const PSEL_CTS: usize = 0x510;
const PSEL_RXD: usize = 0x514;
const RXD: usize = 0x518;
const TXD: usize = 0x51C;
const BAUDRATE: usize = 0x524;
const CONFIG: usize = 0x56C;

const ENABLE_UART: u32 = 4;
const BAUD_115200: u32 = 0x01D7_E000;
const CONFIG_HWFC: u32 = 1;

const GPIO_P0: usize = 0x5000_0000;
const GPIO_OUTSET: usize = 0x508;
const GPIO_PIN_CNF: usize = 0x700;

const CLOCK: usize = 0x4000_0000;
const TASKS_HFCLKSTART: usize = 0x000;
const EVENTS_HFCLKSTARTED: usize = 0x100;

/// The DK's virtual COM port pins (port 0).
const PIN_TXD: u32 = 6;
const PIN_RXD: u32 = 8;
const PIN_RTS: u32 = 5;
const PIN_CTS: u32 = 7;

/// What ERRORSRC reported (overrun, parity, framing, break bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub struct LineError(pub u32);

impl core::fmt::Display for LineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "UART line error (ERRORSRC {:#x})", self.0)
    }
}

impl core::error::Error for LineError {}

impl embedded_io::Error for LineError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidData
    }
}

#[inline(always)]
fn read(addr: usize) -> u32 {
    // SAFETY: only called with this module's peripheral register addresses.
    unsafe { ptr::read_volatile(addr as *const u32) }
}

#[inline(always)]
fn write(addr: usize, value: u32) {
    // SAFETY: as in `read`.
    unsafe { ptr::write_volatile(addr as *mut u32, value) }
}

/// UART0 on the DK's virtual COM port: 115200 8N1, RTS/CTS.
pub struct Uart0 {
    _private: (),
}

impl Uart0 {
    /// Starts the crystal oscillator (the internal RC is too coarse for a UART), configures
    /// the pins and starts both directions.
    ///
    /// # Safety
    /// Call once; nothing else may use UART0, UARTE0 or these pins.
    pub unsafe fn new() -> Self {
        write(CLOCK + EVENTS_HFCLKSTARTED, 0);
        write(CLOCK + TASKS_HFCLKSTART, 1);
        while read(CLOCK + EVENTS_HFCLKSTARTED) == 0 {}

        // Outputs idle high; PIN_CNF: bit 0 = output, input buffer connected.
        write(GPIO_P0 + GPIO_OUTSET, (1 << PIN_TXD) | (1 << PIN_RTS));
        write(GPIO_P0 + GPIO_PIN_CNF + 4 * PIN_TXD as usize, 1);
        write(GPIO_P0 + GPIO_PIN_CNF + 4 * PIN_RTS as usize, 1);
        write(GPIO_P0 + GPIO_PIN_CNF + 4 * PIN_RXD as usize, 0);
        write(GPIO_P0 + GPIO_PIN_CNF + 4 * PIN_CTS as usize, 0);

        write(UART0 + PSEL_TXD, PIN_TXD);
        write(UART0 + PSEL_RXD, PIN_RXD);
        write(UART0 + PSEL_RTS, PIN_RTS);
        write(UART0 + PSEL_CTS, PIN_CTS);
        write(UART0 + BAUDRATE, BAUD_115200);
        write(UART0 + CONFIG, CONFIG_HWFC);
        write(UART0 + ENABLE, ENABLE_UART);
        write(UART0 + EVENTS_RXDRDY, 0);
        write(UART0 + EVENTS_TXDRDY, 0);
        write(UART0 + TASKS_STARTRX, 1);
        write(UART0 + TASKS_STARTTX, 1);
        Self { _private: () }
    }
}

impl ErrorType for Uart0 {
    type Error = LineError;
}

impl Read for Uart0 {
    /// Blocks until a byte arrives; returns the bytes waiting in the FIFO, up to `buf`'s size.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LineError> {
        let mut n = 0;
        while n < buf.len() {
            if read(UART0 + EVENTS_ERROR) != 0 {
                if n > 0 {
                    // The bytes that arrived before the error are good: hand them over, and
                    // leave the error for the next read to report.
                    break;
                }
                write(UART0 + EVENTS_ERROR, 0);
                let source = read(UART0 + ERRORSRC);
                write(UART0 + ERRORSRC, source);
                return Err(LineError(source));
            }
            if read(UART0 + EVENTS_RXDRDY) != 0 {
                // Clear the event before reading RXD, so the next byte raises it again.
                write(UART0 + EVENTS_RXDRDY, 0);
                buf[n] = read(UART0 + RXD) as u8;
                n += 1;
            } else if n > 0 {
                break;
            }
        }
        Ok(n)
    }
}

impl ReadReady for Uart0 {
    fn read_ready(&mut self) -> Result<bool, LineError> {
        Ok(read(UART0 + EVENTS_RXDRDY) != 0)
    }
}

impl Write for Uart0 {
    /// Sends every byte, waiting for each to leave (TXDRDY).
    fn write(&mut self, buf: &[u8]) -> Result<usize, LineError> {
        for &b in buf {
            write(UART0 + TXD, b as u32);
            while read(UART0 + EVENTS_TXDRDY) == 0 {}
            write(UART0 + EVENTS_TXDRDY, 0);
        }
        Ok(buf.len())
    }

    /// Every `write` waits for its bytes to leave.
    fn flush(&mut self) -> Result<(), LineError> {
        Ok(())
    }
}

impl WriteReady for Uart0 {
    fn write_ready(&mut self) -> Result<bool, LineError> {
        Ok(true)
    }
}
