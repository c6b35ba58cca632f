//! Hardware discovery: the serial ports the system lists (and the ones named on the command
//! line) probed side by side for what answers — an ESC/POS printer to DLE EOT, a GA/T 467 SAM
//! reader to its id request — with short timeouts, so a port that says nothing costs under a
//! second; the PC/SC readers pcscd lists; the sound cards ALSA has.

use bianmin_printer::{PrintError, PrinterStatus, SerialPrinter};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a probe waits for a device's first answer.
const PROBE_ANSWER: Duration = Duration::from_millis(250);

/// What answered on one serial port.
#[derive(Debug, Clone)]
pub enum PortAnswer {
    Printer {
        baud: u32,
        status: PrinterStatus,
    },
    Sam {
        baud: u32,
        sam_id: Option<String>,
    },
    /// Nothing that speaks ESC/POS or GA/T 467: why, for the report.
    Nothing(String),
}

#[derive(Debug, Clone)]
pub struct PortFinding {
    pub port: String,
    pub answer: PortAnswer,
    pub probe_ms: u64,
}

/// The serial ports the system lists (USB adapters, on-board UARTs), without panicking where
/// there is no /sys/class/tty (some containers).
pub fn system_ports() -> Vec<String> {
    if !Path::new("/sys/class/tty").is_dir() {
        return Vec::new();
    }
    let mut ports: Vec<String> = serialport::available_ports()
        .map(|v| v.into_iter().map(|p| p.port_name).collect())
        .unwrap_or_default();
    ports.sort();
    ports
}

/// Probes every port on a thread of its own: first DLE EOT at each of `printer_bauds` (a
/// printer answers a status byte; nothing is printed), then the SAM id request at `sam_baud`.
/// The order matters: SAM frames sent to a printer would come out as garbage characters, DLE
/// EOT sent to a SAM reader is line noise it skips.
pub fn probe_ports(ports: &[String], printer_bauds: &[u32], sam_baud: u32) -> Vec<PortFinding> {
    let fonts = Arc::new(bianmin_printer::PreviewFonts::new());
    std::thread::scope(|s| {
        let handles: Vec<_> = ports
            .iter()
            .map(|port| {
                let fonts = fonts.clone();
                s.spawn(move || {
                    let started = Instant::now();
                    let answer = probe_one(port, printer_bauds, sam_baud, fonts);
                    PortFinding {
                        port: port.clone(),
                        answer,
                        probe_ms: started.elapsed().as_millis() as u64,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(ports)
            .map(|(h, port)| {
                h.join().unwrap_or_else(|_| PortFinding {
                    port: port.clone(),
                    answer: PortAnswer::Nothing("the probe stopped unexpectedly".into()),
                    probe_ms: 0,
                })
            })
            .collect()
    })
}

fn probe_one(
    port: &str,
    printer_bauds: &[u32],
    sam_baud: u32,
    fonts: Arc<bianmin_printer::PreviewFonts>,
) -> PortAnswer {
    let mut why = String::new();
    for &baud in printer_bauds {
        let mut cfg = bianmin_printer::SerialConfig::new(port, baud);
        cfg.answer_timeout = PROBE_ANSWER;
        let mut p = SerialPrinter::new(cfg, fonts.clone(), Default::default());
        match p.read_status() {
            Ok(status) => return PortAnswer::Printer { baud, status },
            Err(PrintError::Offline) => {
                return PortAnswer::Nothing("the port cannot be opened (missing)".into())
            }
            Err(PrintError::Io(e)) if e.contains("not a DLE EOT") => {
                why = format!(
                    "something answered DLE EOT at {baud} baud, but not with a printer status"
                );
            }
            Err(PrintError::Io(e)) => {
                // Permission denied, busy: a SAM probe would fail the same way.
                return PortAnswer::Nothing(format!("cannot use the port: {e}"));
            }
            Err(_) => {}
        }
    }
    match bianmin_idcard::sam::SamReader::open_with(port, sam_baud, PROBE_ANSWER + PROBE_ANSWER)
        .and_then(|mut r| r.sam_id())
    {
        Ok(sam_id) => PortAnswer::Sam {
            baud: sam_baud,
            sam_id,
        },
        Err(_) if !why.is_empty() => PortAnswer::Nothing(why),
        Err(_) => PortAnswer::Nothing(format!(
            "nothing answered (DLE EOT at {} baud, GA/T 467 at {sam_baud} baud)",
            printer_bauds
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("/")
        )),
    }
}

/// The sound cards ALSA has (/proc/asound/cards), as "0: PCH (HDA Intel PCH)".
pub fn sound_cards() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/asound/cards").unwrap_or_default();
    text.lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .map(|l| {
            let l = l.trim();
            match l.split_once(" - ") {
                Some((head, name)) => format!(
                    "{}: {}",
                    head.split_whitespace().next().unwrap_or(""),
                    name.trim()
                ),
                None => l.to_string(),
            }
        })
        .collect()
}

/// An ATR as hex bytes ("3B 8F 80 01 …").
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}
