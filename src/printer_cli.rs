//! `bianmin printer …`: what a technician runs on site.

use crate::cli::PrinterAction;
use crate::config::Config;
use crate::printing::{self, templates, PrintService};
use crate::storage::Store;
use bianmin_printer::{PrintError, SerialPrinter};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn explain(port: &str, e: &PrintError) -> String {
    match e.cause() {
        PrintError::Offline => {
            format!("no printer at {port} (missing port, unplugged, or switched off)")
        }
        PrintError::NoAnswer => {
            format!("the printer at {port} did not answer (check the cable, baud rate and power)")
        }
        PrintError::PaperOut => "the printer is out of paper".into(),
        PrintError::CoverOpen => "the printer's cover is open".into(),
        PrintError::CutterError => "the printer's cutter is jammed".into(),
        other => other.to_string(),
    }
}

/// Exit codes: 0 fine, 1 the printer cannot print, 2 no printer / no answer / bad arguments.
pub fn main(action: PrinterAction, config: &Config, data_dir: &Path) -> anyhow::Result<i32> {
    let fonts = Arc::new(printing::preview_fonts());
    match action {
        PrinterAction::Status { port, baud, json } => {
            let cfg = config
                .printer
                .serial(&port, baud)
                .map_err(anyhow::Error::msg)?;
            let mut p = SerialPrinter::new(cfg, fonts, config.printer.encode_options());
            match p.read_status() {
                Ok(s) => {
                    if json {
                        println!("{}", serde_json::to_string(&s)?);
                    } else {
                        println!(
                            "online: {}\ncover open: {}\npaper: {:?}\ncutter error: {}",
                            s.online, s.cover_open, s.paper, s.cutter_error
                        );
                    }
                    Ok(if s.can_print() { 0 } else { 1 })
                }
                Err(e) => {
                    eprintln!("bianmin: {}", explain(&port, &e));
                    Ok(2)
                }
            }
        }
        PrinterAction::Test { port, baud } => {
            let cfg = config
                .printer
                .serial(&port, baud)
                .map_err(anyhow::Error::msg)?;
            let printer = SerialPrinter::new(cfg, fonts.clone(), config.printer.encode_options());
            let store = Arc::new(Mutex::new(Store::open_in(data_dir)?));
            let mut svc = PrintService::new(
                Box::new(printer),
                store.clone(),
                config.printer.width_dots,
                fonts,
                None,
            );
            let outcome = svc.print(&templates::test_page(config.printer.width_dots));
            let printed = svc
                .printouts()
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default();
            for p in &printed {
                println!("{} {}", p.template, p.state);
            }
            if outcome.state == crate::printing::Printed::Done {
                Ok(0)
            } else {
                let last = store
                    .lock()
                    .expect("store")
                    .audit_entries()?
                    .last()
                    .map(|e| e.1.clone())
                    .unwrap_or_default();
                eprintln!(
                    "bianmin: the test page did not print ({}; {last})",
                    outcome.state.code()
                );
                Ok(1)
            }
        }
        PrinterAction::Preview { template, out } => {
            let receipt =
                templates::sample(&template, config.printer.width_dots).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown template {template:?} (one of {})",
                        templates::NAMES.join(", ")
                    )
                })?;
            let image =
                bianmin_printer::preview::render(&receipt, &fonts, config.printer.width_dots);
            std::fs::write(&out, image.to_png()?)?;
            println!("{}", out.display());
            Ok(0)
        }
    }
}
