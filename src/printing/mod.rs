//! The app's print path: every document goes into the SQLite spool before any byte reaches the
//! printer, is rendered to a PNG preview from the same layout, and its outcome is recorded.

pub mod templates;

use crate::storage::Store;
use crate::view::Preview;
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

/// The receipt preview font chain: the embedded subset first, then system CJK fonts.
pub fn preview_fonts() -> PreviewFonts {
    let mut fonts = PreviewFonts::new();
    fonts.push(EMBEDDED_FONT.to_vec(), 0).expect("the embedded font is valid");
    for (path, index) in SYSTEM_FONTS {
        if let Ok(data) = std::fs::read(path) {
            if let Err(e) = fonts.push(data, *index) {
                tracing::warn!(path, error = %e, "system font not usable for receipts");
            }
        }
    }
    fonts
}

pub struct PrintOutcome {
    /// "done", "paper_out" or "failed" (the UI's print-state keys).
    pub state: &'static str,
    pub preview: Option<Preview>,
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
    out_dir: PathBuf,
    printouts: Arc<Mutex<Vec<Printout>>>,
}

impl PrintService {
    pub fn new(printer: Box<dyn ReceiptPrinter>, store: Arc<Mutex<Store>>, width: u32, out_dir: PathBuf) -> Self {
        PrintService { printer, store, fonts: Arc::new(preview_fonts()), width, out_dir, printouts: Arc::default() }
    }

    pub fn printouts(&self) -> Arc<Mutex<Vec<Printout>>> {
        self.printouts.clone()
    }

    pub fn print(&mut self, receipt: &Receipt) -> PrintOutcome {
        let doc = serde_json::to_string(receipt).expect("receipts serialise");
        let job = {
            let store = self.store.lock().expect("store lock");
            let job = store.spool_add(&receipt.template, &doc);
            if let Ok(id) = job {
                let _ = store.spool_set_state(id, "sending");
            }
            job
        };
        let result = self.printer.print(receipt);
        let state = match &result {
            Ok(()) => "done",
            Err(PrintError::PaperOut) => "paper_out",
            Err(_) => "failed",
        };
        match (&job, &result) {
            (Ok(id), _) => {
                let store = self.store.lock().expect("store lock");
                let _ = store.spool_set_state(*id, if state == "done" { "done" } else { "failed" });
                let _ = store.audit("print", &format!("{} {}", receipt.template, state));
            }
            (Err(e), _) => tracing::error!(error = %e, "print job could not be spooled"),
        }
        if let Err(e) = &result {
            tracing::warn!(template = %receipt.template, error = %e, backend = self.printer.backend(), "print failed");
        }
        let image = preview::render(receipt, &self.fonts, self.width);
        if !image.missing_glyphs.is_empty() {
            tracing::warn!(count = image.missing_glyphs.len(), "receipt has characters no font covers");
        }
        let png = self.save_png(receipt, &image, job.as_ref().ok().copied());
        self.printouts.lock().expect("printouts lock").push(Printout {
            template: receipt.template.clone(),
            text: receipt.plain_text(),
            state: state.into(),
            png,
        });
        let preview = Preview { width: image.width, height: image.height, grey: Arc::new(image.pixels) };
        PrintOutcome { state, preview: Some(preview) }
    }

    fn save_png(&self, receipt: &Receipt, image: &bianmin_printer::PreviewImage, job: Option<i64>) -> Option<PathBuf> {
        let bytes = image.to_png().ok()?;
        std::fs::create_dir_all(&self.out_dir).ok()?;
        let path = self.out_dir.join(format!("{:05}-{}.png", job.unwrap_or(0), receipt.template));
        std::fs::write(&path, bytes).ok()?;
        Some(path)
    }
}
