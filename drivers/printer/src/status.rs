//! Real-time printer status (DLE EOT n), decoded into what the kiosk acts on.
//!
//! Every status byte has bit 1 and bit 4 set and bits 0 and 7 clear (0b0xx1xx10); anything else
//! is not a status answer (line noise, or a printer that speaks another dialect).

use serde::Serialize;

pub const DLE_EOT: [u8; 2] = [0x10, 0x04];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    Ok,
    NearEnd,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PrinterStatus {
    pub online: bool,
    pub cover_open: bool,
    pub paper: Paper,
    pub cutter_error: bool,
}

impl PrinterStatus {
    /// Whether a job can be started now.
    pub fn can_print(&self) -> bool {
        self.online && !self.cover_open && self.paper != Paper::Out && !self.cutter_error
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {byte:#04x} is not a DLE EOT {n} status answer")]
pub struct NotAStatus {
    pub n: u8,
    pub byte: u8,
}

fn check(n: u8, byte: u8) -> Result<u8, NotAStatus> {
    if byte & 0b1001_0011 == 0b0001_0010 {
        Ok(byte)
    } else {
        Err(NotAStatus { n, byte })
    }
}

/// Decodes the answers to DLE EOT 1 (printer), 2 (offline cause), 3 (error cause) and 4 (paper).
pub fn decode(printer: u8, offline: u8, error: u8, paper: u8) -> Result<PrinterStatus, NotAStatus> {
    let printer = check(1, printer)?;
    let offline = check(2, offline)?;
    let error = check(3, error)?;
    let paper = check(4, paper)?;
    let paper_state = if paper & 0x60 != 0 || offline & 0x20 != 0 {
        Paper::Out
    } else if paper & 0x0c != 0 {
        Paper::NearEnd
    } else {
        Paper::Ok
    };
    Ok(PrinterStatus {
        online: printer & 0x08 == 0,
        cover_open: offline & 0x04 != 0,
        paper: paper_state,
        cutter_error: error & 0x08 != 0,
    })
}

/// The bytes an Epson-compatible printer answers for `status` (the test printer uses this).
pub fn encode(status: &PrinterStatus) -> [u8; 4] {
    let base = 0x12;
    let printer = base | if status.online { 0 } else { 0x08 };
    let offline = base
        | if status.cover_open { 0x04 } else { 0 }
        | if status.paper == Paper::Out { 0x20 } else { 0 };
    let error = base | if status.cutter_error { 0x08 | 0x40 } else { 0 };
    let paper = base
        | match status.paper {
            Paper::Ok => 0,
            Paper::NearEnd => 0x0c,
            Paper::Out => 0x6c,
        };
    [printer, offline, error, paper]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_printer_is_ready() {
        let s = decode(0x12, 0x12, 0x12, 0x12).unwrap();
        assert_eq!(
            s,
            PrinterStatus {
                online: true,
                cover_open: false,
                paper: Paper::Ok,
                cutter_error: false
            }
        );
        assert!(s.can_print());
    }

    #[test]
    fn faults_decode() {
        let s = decode(0x1a, 0x16, 0x12, 0x12).unwrap();
        assert!(!s.online && s.cover_open && !s.can_print());
        assert_eq!(
            decode(0x12, 0x12, 0x12, 0x1e).unwrap().paper,
            Paper::NearEnd
        );
        assert!(
            decode(0x12, 0x12, 0x12, 0x1e).unwrap().can_print(),
            "near end still prints"
        );
        assert_eq!(decode(0x1a, 0x32, 0x12, 0x7e).unwrap().paper, Paper::Out);
        assert!(decode(0x12, 0x12, 0x5a, 0x12).unwrap().cutter_error);
    }

    #[test]
    fn noise_is_not_a_status() {
        assert_eq!(
            decode(0xff, 0x12, 0x12, 0x12),
            Err(NotAStatus { n: 1, byte: 0xff })
        );
        assert!(decode(0x12, 0x12, 0x12, 0x00).is_err());
    }

    #[test]
    fn encode_and_decode_agree() {
        for online in [true, false] {
            for cover_open in [true, false] {
                for paper in [Paper::Ok, Paper::NearEnd, Paper::Out] {
                    for cutter_error in [true, false] {
                        let s = PrinterStatus {
                            online,
                            cover_open,
                            paper,
                            cutter_error,
                        };
                        let [a, b, c, d] = encode(&s);
                        assert_eq!(decode(a, b, c, d).unwrap(), s);
                    }
                }
            }
        }
    }
}
