//! The one interface every identity-reader backend implements.

use crate::identity::Identity;
use std::time::Duration;

/// Why a card could not be read. Expired cards and bad check digits are not "read errors":
/// they are read fine and reported on the [`Identity`] / by the number parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadFailure {
    #[error("the card was removed while it was being read")]
    CardRemoved,
    #[error("the card is not a supported identity card")]
    UnsupportedCard,
    #[error("the card answered with data that could not be decoded: {0}")]
    Garbled(String),
    #[error("the ID number on the card is not valid: {0}")]
    InvalidNumber(String),
    #[error("the reader stopped answering")]
    Timeout,
    #[error("reader error: {0}")]
    Reader(String),
}

impl ReadFailure {
    /// A machine code for logs, health reports and JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            ReadFailure::CardRemoved => "card_removed",
            ReadFailure::UnsupportedCard => "unsupported_card",
            ReadFailure::Garbled(_) => "garbled",
            ReadFailure::InvalidNumber(_) => "invalid_number",
            ReadFailure::Timeout => "timeout",
            ReadFailure::Reader(_) => "reader_error",
        }
    }
}

#[derive(Debug, Clone)]
pub enum ReaderEvent {
    ReaderAttached {
        reader: String,
    },
    ReaderLost {
        reader: String,
    },
    CardInserted {
        reader: String,
        identity: Box<Identity>,
    },
    CardRemoved {
        reader: String,
    },
    ReadFailed {
        reader: String,
        reason: ReadFailure,
    },
}

/// A family of card readers (PC/SC, serial SAM, simulator). Blocking by design: backends wait
/// in their native call (SCardGetStatusChange, a serial read) with a timeout, and the app runs
/// each reader on its own thread.
pub trait IdentityReader: Send {
    /// A short name for logs and health reports.
    fn backend(&self) -> &'static str;
    /// Waits up to `timeout` for the next event; `None` when nothing happened.
    fn next_event(&mut self, timeout: Duration) -> Option<ReaderEvent>;
}
