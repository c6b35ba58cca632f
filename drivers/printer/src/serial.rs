//! An ESC/POS printer on a serial line: status before each job (DLE EOT 1–4), the job, then
//! GS r 1 to confirm the printer processed everything before it. A port that fails is closed and
//! reopened on the next call, so a USB-serial adapter that comes back is picked up again.

use crate::document::Receipt;
use crate::escpos::{self, EncodeOptions};
use crate::preview::PreviewFonts;
use crate::status::{self, Paper, PrinterStatus};
use crate::{PrintError, ReceiptPrinter};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlowControl {
    #[default]
    None,
    RtsCts,
    XonXoff,
}

impl std::str::FromStr for FlowControl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(FlowControl::None),
            "rts-cts" => Ok(FlowControl::RtsCts),
            "xon-xoff" => Ok(FlowControl::XonXoff),
            other => Err(format!(
                "unknown flow control {other:?} (none, rts-cts, xon-xoff)"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SerialConfig {
    pub path: String,
    pub baud: u32,
    pub flow: FlowControl,
    /// How long to wait for a status byte.
    pub answer_timeout: Duration,
    /// How long the printer may take to finish a job and answer GS r 1.
    pub job_timeout: Duration,
}

impl SerialConfig {
    pub fn new(path: &str, baud: u32) -> Self {
        SerialConfig {
            path: path.into(),
            baud,
            flow: FlowControl::None,
            answer_timeout: Duration::from_millis(500),
            job_timeout: Duration::from_secs(10),
        }
    }
}

pub struct SerialPrinter {
    cfg: SerialConfig,
    port: Option<Box<dyn serialport::SerialPort>>,
    fonts: Arc<PreviewFonts>,
    opts: EncodeOptions,
}

fn io(e: impl std::fmt::Display) -> PrintError {
    PrintError::Io(e.to_string())
}

impl SerialPrinter {
    /// Does not touch the port yet: a printer that is off at start-up is reported by `status`.
    pub fn new(cfg: SerialConfig, fonts: Arc<PreviewFonts>, opts: EncodeOptions) -> Self {
        SerialPrinter {
            cfg,
            port: None,
            fonts,
            opts,
        }
    }

    fn port(&mut self) -> Result<&mut Box<dyn serialport::SerialPort>, PrintError> {
        if self.port.is_none() {
            let flow = match self.cfg.flow {
                FlowControl::None => serialport::FlowControl::None,
                FlowControl::RtsCts => serialport::FlowControl::Hardware,
                FlowControl::XonXoff => serialport::FlowControl::Software,
            };
            let port = serialport::new(&self.cfg.path, self.cfg.baud)
                .flow_control(flow)
                .timeout(self.cfg.answer_timeout)
                .open()
                .map_err(|e| match e.kind() {
                    serialport::ErrorKind::NoDevice => PrintError::Offline,
                    serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => PrintError::Offline,
                    _ => io(format!("{}: {e}", self.cfg.path)),
                })?;
            self.port = Some(port);
        }
        Ok(self.port.as_mut().expect("just opened"))
    }

    /// Runs `f` on the open port; an I/O failure closes it so the next call reopens.
    fn with_port<T>(
        &mut self,
        f: impl FnOnce(&mut Box<dyn serialport::SerialPort>) -> Result<T, PrintError>,
    ) -> Result<T, PrintError> {
        let port = self.port()?;
        let r = f(port);
        if matches!(r, Err(PrintError::Io(_))) {
            self.port = None;
        }
        r
    }

    fn read_byte(
        port: &mut Box<dyn serialport::SerialPort>,
        within: Duration,
    ) -> Result<u8, PrintError> {
        let end = Instant::now() + within;
        let mut b = [0u8; 1];
        loop {
            match port.read(&mut b) {
                Ok(1) => return Ok(b[0]),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(io(e)),
            }
            if Instant::now() >= end {
                return Err(PrintError::NoAnswer);
            }
        }
    }

    /// DLE EOT 1, 2, 3 and 4, decoded.
    pub fn read_status(&mut self) -> Result<PrinterStatus, PrintError> {
        let timeout = self.cfg.answer_timeout;
        self.with_port(|port| {
            let _ = port.clear(serialport::ClearBuffer::Input);
            let mut answers = [0u8; 4];
            for (i, n) in [1u8, 2, 3, 4].into_iter().enumerate() {
                port.write_all(&[status::DLE_EOT[0], status::DLE_EOT[1], n])
                    .map_err(io)?;
                port.flush().map_err(io)?;
                answers[i] = Self::read_byte(port, timeout)?;
            }
            status::decode(answers[0], answers[1], answers[2], answers[3])
                .map_err(|e| PrintError::Io(e.to_string()))
        })
    }

    fn refusal(s: &PrinterStatus) -> PrintError {
        if !s.online && !s.cover_open && s.paper != Paper::Out {
            PrintError::Offline
        } else if s.paper == Paper::Out {
            PrintError::PaperOut
        } else if s.cover_open {
            PrintError::CoverOpen
        } else if s.cutter_error {
            PrintError::CutterError
        } else {
            PrintError::Offline
        }
    }

    /// Sends `bytes` and waits for GS r 1: the printer answers it only after everything before it.
    /// While waiting, DLE EOT 2 (answered at once, even by a stalled printer) tells a printer that
    /// ran out of paper or had its cover opened mid-job from one that is still printing. The two
    /// answers cannot be confused: status bytes have bit 4 set, the GS r answer has it clear.
    fn send_and_confirm(&mut self, bytes: &[u8]) -> Result<(), PrintError> {
        let job_timeout = self.cfg.job_timeout;
        let poll = self.cfg.answer_timeout.min(Duration::from_millis(500));
        self.with_port(|port| {
            let _ = port.clear(serialport::ClearBuffer::Input);
            for chunk in bytes.chunks(256) {
                port.write_all(chunk).map_err(io)?;
            }
            port.write_all(&[0x1d, b'r', 1]).map_err(io)?;
            port.flush().map_err(io)?;
            let end = Instant::now() + job_timeout;
            while Instant::now() < end {
                match Self::read_byte(port, poll) {
                    Ok(b) if b & 0x90 == 0 => return Ok(()),
                    Ok(b) if b & 0x93 == 0x12 => {
                        // An answer to our DLE EOT 2: offline cause.
                        if b & 0x20 != 0 {
                            return Err(PrintError::PaperOut);
                        }
                        if b & 0x04 != 0 {
                            return Err(PrintError::CoverOpen);
                        }
                    }
                    Ok(_) | Err(PrintError::NoAnswer) => {}
                    Err(e) => return Err(e),
                }
                port.write_all(&[status::DLE_EOT[0], status::DLE_EOT[1], 2])
                    .map_err(io)?;
                port.flush().map_err(io)?;
            }
            Err(PrintError::NotConfirmed)
        })
    }
}

impl ReceiptPrinter for SerialPrinter {
    fn backend(&self) -> &'static str {
        "escpos-serial"
    }

    fn status(&mut self) -> Result<PrinterStatus, PrintError> {
        self.read_status()
    }

    fn print(&mut self, receipt: &Receipt) -> Result<(), PrintError> {
        let before = self.read_status()?;
        if !before.can_print() {
            return Err(Self::refusal(&before));
        }
        let job = escpos::encode(receipt, &self.fonts, &self.opts);
        match self.send_and_confirm(&job.bytes) {
            Ok(()) => Ok(()),
            Err(PrintError::NotConfirmed) => {
                // Say why, when the printer can tell: paper ran out or the cover opened mid-job.
                let why = match self.read_status() {
                    Ok(s) if !s.can_print() => Self::refusal(&s),
                    _ => PrintError::NotConfirmed,
                };
                Err(PrintError::InDoubt(Box::new(why)))
            }
            // Bytes went out: whatever happened, the job is in doubt.
            Err(e) => Err(PrintError::InDoubt(Box::new(e))),
        }
    }
}
