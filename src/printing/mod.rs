//! The app's print path: every document goes into the SQLite spool before any byte reaches the
//! printer, is rendered to a PNG preview from the same layout, and its outcome is recorded.

pub mod templates;

use crate::storage::{StorageError, Store};
use bianmin_printer::{preview, PreviewFonts, PrintError, Receipt, ReceiptPrinter};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The embedded UI subset font: covers GB 2312 and every UI string, so receipts always render.
pub static EMBEDDED_FONT: &[u8] = include_bytes!("../../ui/fonts/BianminSans-Regular.otf");

/// System CJK fonts tried after the embedded one, for rare characters in names and addresses.
const SYSTEM_FONTS: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
];

/// The receipt preview font chain: the embedded subset first, then system CJK fonts, which are
/// read from disk only when a receipt has a character the subset lacks.
pub fn preview_fonts() -> PreviewFonts {
    let mut fonts = PreviewFonts::new();
    fonts
        .push_static(EMBEDDED_FONT)
        .expect("the embedded font is valid");
    for (path, index) in SYSTEM_FONTS {
        fonts.push_lazy(*path, *index);
    }
    fonts
}

/// How a print job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Printed {
    Done,
    PaperOut,
    Failed,
}

impl Printed {
    pub fn code(self) -> &'static str {
        match self {
            Printed::Done => "done",
            Printed::PaperOut => "paper_out",
            Printed::Failed => "failed",
        }
    }
}

/// Why the printer cannot take a job now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    PaperOut,
    Fault,
}

impl Unavailable {
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::PaperOut => "paper_out",
            Unavailable::Fault => "failed",
        }
    }
}

/// A receipt as it will come out (8-bit grey), shared without copying.
#[derive(Debug, Clone)]
pub struct ReceiptImage {
    pub width: u32,
    pub height: u32,
    pub grey: Arc<Vec<u8>>,
}

impl PartialEq for ReceiptImage {
    /// The same rendering, not merely the same pixels: a new print is a new image.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.grey, &other.grey)
    }
}
impl Eq for ReceiptImage {}

impl From<bianmin_printer::PreviewImage> for ReceiptImage {
    fn from(image: bianmin_printer::PreviewImage) -> Self {
        ReceiptImage {
            width: image.width,
            height: image.height,
            grey: Arc::new(image.pixels),
        }
    }
}

/// Whose paper a job is: the visit (one resident at the kiosk, card or not) and the request
/// that asked for it. A job is printed for its owner only; one left in doubt when its visit
/// ended is withheld, never given to the next resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOwner {
    pub visit: String,
    pub request: String,
}

pub struct PrintOutcome {
    pub state: Printed,
    pub preview: Option<ReceiptImage>,
}

/// A record of what was printed, for transcripts (plain text and the preview file).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Printout {
    pub template: String,
    pub text: String,
    pub state: String,
    pub png: Option<PathBuf>,
}

pub struct PrintService {
    printer: Box<dyn ReceiptPrinter>,
    store: Arc<Mutex<Store>>,
    fonts: Arc<PreviewFonts>,
    width: u32,
    out_dir: Option<PathBuf>,
    printouts: Arc<Mutex<Vec<Printout>>>,
    /// Where the printer's state and each job's outcome are told (heartbeat, metrics).
    health: Option<crate::health::HealthBoard>,
}

impl PrintService {
    /// `fonts` is the chain the preview draws with (shared with a raster-printing backend);
    /// `out_dir`, when given, keeps a PNG of every receipt — the demo's simulated printer does,
    /// a real kiosk does not pile up images of residents' paper.
    pub fn new(
        printer: Box<dyn ReceiptPrinter>,
        store: Arc<Mutex<Store>>,
        width: u32,
        fonts: Arc<PreviewFonts>,
        out_dir: Option<PathBuf>,
    ) -> Self {
        PrintService {
            printer,
            store,
            fonts,
            width,
            out_dir,
            printouts: Arc::default(),
            health: None,
        }
    }

    /// Tells `board` the printer's state at each status request and each job's outcome.
    pub fn report_to(&mut self, board: crate::health::HealthBoard) {
        self.health = Some(board);
    }

    /// The printer's status now (DLE EOT on a serial printer), also told to the health board.
    pub fn status(&mut self) -> Result<bianmin_printer::PrinterStatus, PrintError> {
        let status = self.printer.status();
        if let Some(h) = &self.health {
            h.printer_checked(&status);
        }
        status
    }

    /// The paper's width in dots (documents lay their tables out to it).
    pub fn width_dots(&self) -> u32 {
        self.width
    }

    /// What `receipt` will look like on paper, drawn by the same layout, without printing it.
    pub fn preview(&self, receipt: &Receipt) -> ReceiptImage {
        preview::render(receipt, &self.fonts, self.width).into()
    }

    pub fn printouts(&self) -> Arc<Mutex<Vec<Printout>>> {
        self.printouts.clone()
    }

    /// Prints `receipt` through the spool. A job left in doubt earlier (a dead process, paper
    /// out mid-job) is reprinted first, once, marked 补打; if that job is this very document,
    /// the reprint is the answer and no second copy is made.
    pub fn print(&mut self, receipt: &Receipt) -> PrintOutcome {
        self.print_job(receipt, None)
    }

    /// Prints a resident's paper for `owner` (see [`JobOwner`]).
    pub fn print_for(&mut self, receipt: &Receipt, owner: &JobOwner) -> PrintOutcome {
        self.print_job(receipt, Some(owner))
    }

    /// Prints the one paper a request has (a payment's receipt): the first time as a new job;
    /// a job held for a resident who had left, or one that did not come out, is sent again for
    /// this visit, marked 补打. `None`: that paper came out already and is not printed twice.
    pub fn print_once(&mut self, receipt: &Receipt, owner: &JobOwner) -> Option<PrintOutcome> {
        let existing = self
            .store
            .lock()
            .expect("store lock")
            .spool_job_of_request(&receipt.template, &owner.request);
        match existing {
            Ok(None) => Some(self.print_for(receipt, owner)),
            Ok(Some((_, state))) if state == "done" => None,
            // This visit's own job still in doubt: the spool's recovery sends it once.
            Ok(Some((_, state))) if matches!(state.as_str(), "queued" | "sending" | "in_doubt") => {
                Some(self.print_for(receipt, owner))
            }
            Ok(Some((id, _))) => {
                let again = receipt.marked_reprint();
                let doc = serde_json::to_string(&again).expect("receipts serialise");
                let reclaimed =
                    self.store
                        .lock()
                        .expect("store lock")
                        .spool_reclaim(id, &doc, &owner.visit);
                if let Err(e) = reclaimed {
                    tracing::error!(error = %e, "print job could not be reclaimed");
                }
                Some(self.send(Some(id), &again))
            }
            Err(e) => {
                tracing::error!(error = %e, "spool not readable; printing anyway");
                Some(self.print_for(receipt, owner))
            }
        }
    }

    /// Keeps a request's paper in the spool for a resident who is no longer at the kiosk (a
    /// payment found paid after they left); it prints when they ask for it. Once per request.
    pub fn hold(&self, receipt: &Receipt, owner: &JobOwner) -> Result<(), StorageError> {
        hold_paper(&self.store, receipt, owner)
    }

    /// A visit ended: its jobs still in doubt are withheld (and their documents deleted).
    pub fn visit_ended(&mut self, visit: &str) {
        let withheld = {
            let store = self.store.lock().expect("store lock");
            let _ = store.spool_sending_to_in_doubt();
            // Every owned job still in doubt is this visit's (earlier ones were withheld when
            // they ended).
            tracing::debug!(visit, "visit ended: its jobs in doubt are withheld");
            store.spool_withhold_others(None)
        };
        self.audit_withheld(withheld);
    }

    fn audit_withheld(&self, withheld: Result<Vec<i64>, crate::storage::StorageError>) {
        match withheld {
            Ok(ids) => {
                let store = self.store.lock().expect("store lock");
                for id in ids {
                    // Staff see it in the audit log; the resident was told at the kiosk.
                    tracing::warn!(job = id, "print job withheld: its visit has ended");
                    let _ = store.audit("print_withheld", &id.to_string());
                }
            }
            Err(e) => tracing::error!(error = %e, "spool clean-up failed"),
        }
    }

    fn print_job(&mut self, receipt: &Receipt, owner: Option<&JobOwner>) -> PrintOutcome {
        let doc = serde_json::to_string(receipt).expect("receipts serialise");
        if let Some(outcome) = self.recover_matching(&doc, owner.map(|o| o.visit.as_str())) {
            return outcome;
        }
        let job = self.store.lock().expect("store lock").spool_add(
            &receipt.template,
            &doc,
            owner.map(|o| (o.visit.as_str(), o.request.as_str())),
        );
        if let Err(e) = &job {
            // Printing still goes ahead: the resident's paper matters more than the record of it.
            tracing::error!(error = %e, "print job could not be spooled");
        }
        self.send(job.ok(), receipt)
    }

    /// `None` when the printer can print; else why not.
    pub fn unavailable(&mut self) -> Option<Unavailable> {
        match self.status() {
            Ok(s) if s.can_print() => None,
            Ok(s) if s.paper == bianmin_printer::Paper::Out => Some(Unavailable::PaperOut),
            Ok(_) => Some(Unavailable::Fault),
            Err(e) => {
                tracing::warn!(error = %e, "printer status unknown");
                Some(if *e.cause() == PrintError::PaperOut {
                    Unavailable::PaperOut
                } else {
                    Unavailable::Fault
                })
            }
        }
    }

    /// The technician page's 补打: the newest job that did not come out and belongs to nobody
    /// (a test page, a start-up job), sent again marked 补打. A resident's paper is never
    /// reprinted here: once it failed or its visit ended its document is gone, so nobody else
    /// (a technician neither) can be handed it. `None`: there is no such job.
    pub fn reprint_last_failed(&mut self) -> Option<(String, PrintOutcome)> {
        let last = self
            .store
            .lock()
            .expect("store lock")
            .spool_last_failed_unowned();
        let (id, template, json) = match last {
            Ok(found) => found?,
            Err(e) => {
                tracing::error!(error = %e, "spool not readable");
                return None;
            }
        };
        let Ok(original) = serde_json::from_str::<Receipt>(&json) else {
            tracing::error!(job = id, "a spooled document does not parse; not reprinted");
            return None;
        };
        let _ = self
            .store
            .lock()
            .expect("store lock")
            .spool_mark_reprinted(id);
        tracing::info!(job = id, %template, "reprinting a failed job from the technician page (补打)");
        Some((template, self.send(Some(id), &original.marked_reprint())))
    }

    /// At start-up: residents' jobs left in doubt are withheld (their residents are gone);
    /// other jobs in doubt are reprinted. Returns how many were reprinted.
    pub fn recover(&mut self) -> usize {
        let before = self.printouts.lock().map(|p| p.len()).unwrap_or(0);
        self.recover_matching("", None);
        self.printouts.lock().map(|p| p.len()).unwrap_or(0) - before
    }

    /// Before a job of `visit`: jobs in doubt of any other visit are withheld, then the ones
    /// left (this visit's, and papers nobody owns) are reprinted once, marked 补打.
    fn recover_matching(&mut self, doc: &str, visit: Option<&str>) -> Option<PrintOutcome> {
        let (withheld, pending) = {
            let store = self.store.lock().expect("store lock");
            if let Err(e) = store.spool_sending_to_in_doubt() {
                tracing::error!(error = %e, "spool recovery failed");
            }
            // With no visit (start-up, a technician's test page), every owned job is another
            // visit's.
            let withheld = store.spool_withhold_others(visit);
            (withheld, store.spool_in_doubt().unwrap_or_default())
        };
        self.audit_withheld(withheld);
        let mut matched = None;
        for (id, json, reprinted) in pending {
            let store = self.store.clone();
            if reprinted {
                // Reprinted once already and still in doubt: staff must look at it.
                let s = store.lock().expect("store lock");
                let _ = s.spool_set_state(id, "failed");
                let _ = s.audit("print_in_doubt_twice", &id.to_string());
                continue;
            }
            let Ok(original) = serde_json::from_str::<Receipt>(&json) else {
                let _ = store
                    .lock()
                    .expect("store lock")
                    .spool_set_state(id, "failed");
                continue;
            };
            let _ = store.lock().expect("store lock").spool_mark_reprinted(id);
            tracing::info!(job = id, template = %original.template, "reprinting a job in doubt (补打)");
            let outcome = self.send(Some(id), &original.marked_reprint());
            if json == doc {
                matched = Some(outcome);
            } else if outcome.state != Printed::Done {
                // The printer is still not well: leave the rest for later.
                break;
            }
        }
        matched
    }

    /// Sends one spooled job and records how it ended.
    fn send(&mut self, job: Option<i64>, receipt: &Receipt) -> PrintOutcome {
        if let Some(id) = job {
            let _ = self
                .store
                .lock()
                .expect("store lock")
                .spool_set_state(id, "sending");
        }
        let result = self.printer.print(receipt);
        let (spool_state, state) = match &result {
            Ok(()) => ("done", Printed::Done),
            Err(e) => {
                let row = if matches!(e, PrintError::InDoubt(_)) {
                    "in_doubt"
                } else {
                    "failed"
                };
                (
                    row,
                    if *e.cause() == PrintError::PaperOut {
                        Printed::PaperOut
                    } else {
                        Printed::Failed
                    },
                )
            }
        };
        if let Some(id) = job {
            let store = self.store.lock().expect("store lock");
            let _ = store.spool_set_state(id, spool_state);
            if spool_state != "in_doubt" {
                let _ = store.spool_forget_document(id);
            }
            let _ = store.audit("print", &format!("{} {}", receipt.template, spool_state));
        }
        if let Err(e) = &result {
            tracing::warn!(template = %receipt.template, error = %e, backend = self.printer.backend(), "print failed");
        }
        if let Some(h) = &self.health {
            h.metrics.print_job(spool_state);
            if let Err(e) = &result {
                // What failed the job is the printer's state until it next answers.
                h.printer_checked(&Err(e.clone()));
            }
        }
        let image = preview::render(receipt, &self.fonts, self.width);
        if !image.missing_glyphs.is_empty() {
            tracing::warn!(
                count = image.missing_glyphs.len(),
                "receipt has characters no font covers"
            );
        }
        let png = self.save_png(receipt, &image, job);
        self.printouts
            .lock()
            .expect("printouts lock")
            .push(Printout {
                template: receipt.template.clone(),
                text: receipt.recorded_text(),
                state: state.code().into(),
                png,
            });
        PrintOutcome {
            state,
            preview: Some(image.into()),
        }
    }

    fn save_png(
        &self,
        receipt: &Receipt,
        image: &bianmin_printer::PreviewImage,
        job: Option<i64>,
    ) -> Option<PathBuf> {
        let dir = self.out_dir.as_ref()?;
        let bytes = image.to_png().ok()?;
        std::fs::create_dir_all(dir).ok()?;
        let path = dir.join(format!("{:05}-{}.png", job.unwrap_or(0), receipt.template));
        std::fs::write(&path, bytes).ok()?;
        Some(path)
    }
}

/// A QR code as a grey image, `scale` pixels a module with a four-module quiet zone (for the
/// screen: the payment page's QR is scanned from it).
pub fn qr_image(payload: &str, scale: u32) -> Option<ReceiptImage> {
    let code = qrcode::QrCode::new(payload.as_bytes()).ok()?;
    let n = code.width() as u32;
    let side = (n + 8) * scale;
    let mut grey = vec![255u8; (side * side) as usize];
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % n + 4, i as u32 / n + 4);
        for y in my * scale..(my + 1) * scale {
            let row = (y * side) as usize;
            grey[row + (mx * scale) as usize..row + ((mx + 1) * scale) as usize].fill(0);
        }
    }
    Some(ReceiptImage {
        width: side,
        height: side,
        grey: grey.into(),
    })
}

/// See [`PrintService::hold`]; usable without the printer (by upkeep on the runtime).
pub fn hold_paper(
    store: &Mutex<Store>,
    receipt: &Receipt,
    owner: &JobOwner,
) -> Result<(), StorageError> {
    let store = store.lock().expect("store lock");
    if store
        .spool_job_of_request(&receipt.template, &owner.request)?
        .is_none()
    {
        let doc = serde_json::to_string(receipt).expect("receipts serialise");
        store.spool_hold(&receipt.template, &doc, (&owner.visit, &owner.request))?;
    }
    Ok(())
}
