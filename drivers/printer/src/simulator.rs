//! The demo printer: keeps every receipt it was given, in order, for the screen and the tests.

use crate::document::Receipt;
use crate::status::{Paper, PrinterStatus};
use crate::{PrintError, ReceiptPrinter};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct SimulatedPrinter {
    printed: Arc<Mutex<Vec<Receipt>>>,
    paper_out: Arc<Mutex<bool>>,
}

impl SimulatedPrinter {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn printed(&self) -> Vec<Receipt> {
        self.printed.lock().expect("printer lock").clone()
    }
    /// Lets the demo and tests play a printer that ran out of paper.
    pub fn set_paper_out(&self, out: bool) {
        *self.paper_out.lock().expect("printer lock") = out;
    }
}

impl ReceiptPrinter for SimulatedPrinter {
    fn backend(&self) -> &'static str {
        "simulator"
    }
    fn status(&mut self) -> Result<PrinterStatus, PrintError> {
        let out = *self.paper_out.lock().expect("printer lock");
        Ok(PrinterStatus {
            online: !out,
            cover_open: false,
            paper: if out { Paper::Out } else { Paper::Ok },
            cutter_error: false,
        })
    }

    fn print(&mut self, receipt: &Receipt) -> Result<(), PrintError> {
        if *self.paper_out.lock().expect("printer lock") {
            return Err(PrintError::PaperOut);
        }
        self.printed
            .lock()
            .expect("printer lock")
            .push(receipt.clone());
        Ok(())
    }
}
