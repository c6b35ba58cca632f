//! A GA/T 467 SAM reader behind [`IdentityReader`]: polls find (20 01); a new card is selected
//! (20 02) and read (30 01); two missed finds in a row mean the card is gone. Garbage on the line
//! is skipped, a bad frame is a read failure, and a reader that stops answering is "lost" until it
//! answers again.

use super::frame::{decode_frame, encode_request, Answer, FrameError, Sw3};
use super::text::{decode_text, TextError};
use crate::reader::{IdentityReader, ReadFailure, ReaderEvent};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

pub struct SamReader<P: Read + Write + Send> {
    port: P,
    name: String,
    buf: Vec<u8>,
    answer_timeout: Duration,
    attached: bool,
    card_present: bool,
    misses: u32,
}

impl SamReader<Box<dyn serialport::SerialPort>> {
    /// Opens a SAM reader on a serial port (115200 baud is the usual factory setting).
    pub fn open(path: &str, baud: u32) -> Result<Self, ReadFailure> {
        Self::open_with(path, baud, Duration::from_millis(800))
    }

    /// Opens a SAM reader that waits `answer_timeout` for each answer: a technician's probe of
    /// a port that may hold anything uses a short one.
    pub fn open_with(path: &str, baud: u32, answer_timeout: Duration) -> Result<Self, ReadFailure> {
        let port = serialport::new(path, baud)
            .timeout(Duration::from_millis(50))
            .open()
            .map_err(|e| ReadFailure::Reader(format!("{path}: {e}")))?;
        Ok(SamReader::new(port, path, answer_timeout))
    }
}

impl<P: Read + Write + Send> SamReader<P> {
    pub fn new(port: P, name: &str, answer_timeout: Duration) -> Self {
        SamReader {
            port,
            name: name.into(),
            buf: Vec::new(),
            answer_timeout,
            attached: false,
            card_present: false,
            misses: 0,
        }
    }

    /// One command and its answer.
    fn transact(&mut self, cmd: u8, para: u8) -> Result<Answer, ReadFailure> {
        self.buf.clear();
        self.port
            .write_all(&encode_request(cmd, para, &[]))
            .map_err(|e| ReadFailure::Reader(e.to_string()))?;
        let _ = self.port.flush();
        let end = Instant::now() + self.answer_timeout;
        let mut chunk = [0u8; 2048];
        loop {
            let (result, consumed) = decode_frame(&self.buf);
            self.buf.drain(..consumed);
            match result {
                Ok(a) => return Ok(a),
                Err(FrameError::Checksum) => {
                    return Err(ReadFailure::Garbled("frame checksum mismatch".into()))
                }
                Err(FrameError::Length(_)) => continue,
                Err(FrameError::Incomplete) => {}
            }
            if Instant::now() >= end {
                return Err(ReadFailure::Timeout);
            }
            match self.port.read(&mut chunk) {
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(ReadFailure::Reader(e.to_string())),
            }
        }
    }

    /// The SAM's id (read SAM management information, 12 FF), formatted as the readers' tools
    /// print it (`05.01-20101105-0000123456-0001234567`). `Ok(None)`: something that speaks
    /// GA/T 467 answered, but gave no id. A port where nothing answers is `Err(Timeout)`.
    pub fn sam_id(&mut self) -> Result<Option<String>, ReadFailure> {
        let a = self.transact(0x12, 0xFF)?;
        if a.sw3 != Sw3::Ok || a.data.len() < 16 {
            return Ok(None);
        }
        let d = &a.data;
        let le16 = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        let le32 = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        Ok(Some(format!(
            "{:02}.{:02}-{:08}-{:010}-{:010}",
            le16(0),
            le16(2),
            le32(4),
            le32(8),
            le32(12)
        )))
    }

    fn read_card(&mut self) -> Result<crate::Identity, ReadFailure> {
        let sel = self.transact(0x20, 0x02)?;
        if sel.sw3 != Sw3::Ok {
            return Err(ReadFailure::CardRemoved);
        }
        let read = self.transact(0x30, 0x01)?;
        match read.sw3 {
            Sw3::Ok => {}
            Sw3::CardType => return Err(ReadFailure::UnsupportedCard),
            other => return Err(ReadFailure::Reader(format!("read refused ({other:?})"))),
        }
        decode_read_answer(&read.data)
    }
}

/// A read answer's data — `text length (2) | photo length (2) | text | photo` — as an identity.
/// Vendor PC/SC readers with a built-in SAM answer in the same shape.
pub fn decode_read_answer(d: &[u8]) -> Result<crate::Identity, ReadFailure> {
    if d.len() < 4 {
        return Err(ReadFailure::Garbled(
            "answer shorter than its header".into(),
        ));
    }
    let text_len = u16::from_be_bytes([d[0], d[1]]) as usize;
    let photo_len = u16::from_be_bytes([d[2], d[3]]) as usize;
    if d.len() < 4 + text_len + photo_len {
        return Err(ReadFailure::Garbled(
            "answer shorter than its text and photo".into(),
        ));
    }
    let text = &d[4..4 + text_len];
    let photo = d[4 + text_len..4 + text_len + photo_len].to_vec();
    decode_text(text, photo).map_err(|e| match e {
        TextError::Number(n) => ReadFailure::InvalidNumber(n.to_string()),
        TextError::Unsupported(_) => ReadFailure::UnsupportedCard,
        other => ReadFailure::Garbled(other.to_string()),
    })
}

impl<P: Read + Write + Send> IdentityReader for SamReader<P> {
    fn backend(&self) -> &'static str {
        "gat467-serial"
    }

    fn next_event(&mut self, timeout: Duration) -> Option<ReaderEvent> {
        let reader = self.name.clone();
        let started = Instant::now();
        let find = self.transact(0x20, 0x01);
        let event = match find {
            Err(ReadFailure::Timeout) | Err(ReadFailure::Reader(_)) => {
                self.card_present = false;
                std::mem::replace(&mut self.attached, false)
                    .then_some(ReaderEvent::ReaderLost { reader })
            }
            _ if !self.attached => {
                self.attached = true;
                Some(ReaderEvent::ReaderAttached { reader })
            }
            Ok(a) if a.sw3 == Sw3::FindOk => {
                self.misses = 0;
                if self.card_present {
                    None
                } else {
                    self.card_present = true;
                    Some(match self.read_card() {
                        Ok(identity) => ReaderEvent::CardInserted {
                            reader,
                            identity: Box::new(identity),
                        },
                        Err(reason) => ReaderEvent::ReadFailed { reader, reason },
                    })
                }
            }
            Ok(_) | Err(_) => {
                if self.card_present {
                    self.misses += 1;
                    if self.misses >= 2 {
                        self.card_present = false;
                        self.misses = 0;
                        return Some(ReaderEvent::CardRemoved { reader });
                    }
                }
                None
            }
        };
        if event.is_none() {
            // Poll at the caller's pace without spinning.
            std::thread::sleep(timeout.saturating_sub(started.elapsed()));
        }
        event
    }
}
