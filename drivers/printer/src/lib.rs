//! Receipt printing for Bianmin kiosks.
//!
//! One [`Receipt`] document model, rendered from the same layout to a PNG preview (what the demo
//! shows and the docs use) and, through the serial backend, to ESC/POS bytes. The
//! [`ReceiptPrinter`] trait is the one interface the app prints through; the simulator keeps what
//! was printed for the demo screen and the tests.

pub mod document;
pub mod escpos;
pub mod preview;
pub mod serial;
pub mod simulator;
pub mod status;

pub use document::{Align, Block, Cell, Receipt, TextSize};
pub use preview::{PreviewFonts, PreviewImage};
pub use serial::{FlowControl, SerialConfig, SerialPrinter};
pub use simulator::SimulatedPrinter;
pub use status::{Paper, PrinterStatus};

/// Why a job did not print. Messages for residents live in the UI; these are for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("the printer is offline")]
    Offline,
    #[error("the printer is out of paper")]
    PaperOut,
    #[error("the printer cover is open")]
    CoverOpen,
    #[error("the printer did not confirm the end of the job")]
    NotConfirmed,
    #[error("the printer's cutter is jammed")]
    CutterError,
    #[error("the printer did not answer")]
    NoAnswer,
    /// The job was sent (wholly or partly) but not confirmed: it may or may not be on paper.
    #[error("the job may be partly printed: {0}")]
    InDoubt(Box<PrintError>),
    #[error("printer I/O error: {0}")]
    Io(String),
}

impl PrintError {
    /// What went wrong, without the in-doubt wrapper.
    pub fn cause(&self) -> &PrintError {
        match self {
            PrintError::InDoubt(inner) => inner.cause(),
            other => other,
        }
    }
}

/// A device that turns a [`Receipt`] into paper.
pub trait ReceiptPrinter: Send {
    fn backend(&self) -> &'static str;
    fn print(&mut self, receipt: &Receipt) -> Result<(), PrintError>;
    /// The printer's state now, so a resident is told before starting a service that must print.
    fn status(&mut self) -> Result<PrinterStatus, PrintError>;
}
