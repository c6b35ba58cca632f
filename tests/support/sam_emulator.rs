//! A GA/T 467 SAM reader on the master side of a pty: answers find, select and read for the card
//! on it, and can send garbage, corrupt its checksums, or go silent.

#![allow(dead_code)]

use super::pty::openpty;
use bianmin_idcard::sam::frame::{decode_frame, encode_answer, PREAMBLE};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct SamState {
    /// The text block of the card on the reader, if any.
    pub card: Option<Vec<u8>>,
    /// Line noise before every answer.
    pub garbage: bool,
    /// Corrupt the checksum of the next read answer.
    pub bad_checksum_once: bool,
    /// Answer nothing.
    pub silent: bool,
    /// Requests seen, as (cmd, para).
    pub requests: Vec<(u8, u8)>,
}

/// The emulated module's id, as the reader's tools print it: 05.01-20101105-0000123456-0001234567.
pub const SAM_ID: [u8; 16] = {
    let mut id = [0u8; 16];
    let (a, b, c, d, e) = (
        5u16.to_le_bytes(),
        1u16.to_le_bytes(),
        20101105u32.to_le_bytes(),
        123456u32.to_le_bytes(),
        1234567u32.to_le_bytes(),
    );
    id[0] = a[0];
    id[1] = a[1];
    id[2] = b[0];
    id[3] = b[1];
    let mut i = 0;
    while i < 4 {
        id[4 + i] = c[i];
        id[8 + i] = d[i];
        id[12 + i] = e[i];
        i += 1;
    }
    id
};
pub const SAM_ID_TEXT: &str = "05.01-20101105-0000123456-0001234567";

pub struct SamEmulator {
    pub path: String,
    pub state: Arc<Mutex<SamState>>,
    _slave: OwnedFd,
}

impl SamEmulator {
    pub fn start() -> SamEmulator {
        let (master, slave, path) = openpty();
        let state: Arc<Mutex<SamState>> = Arc::default();
        let s = state.clone();
        std::thread::spawn(move || serve(master, s));
        SamEmulator {
            path,
            state,
            _slave: slave,
        }
    }

    pub fn set(&self, f: impl FnOnce(&mut SamState)) {
        f(&mut self.state.lock().unwrap());
    }
}

fn serve(master: OwnedFd, state: Arc<Mutex<SamState>>) {
    let mut file = std::fs::File::from(master);
    let mut out = file.try_clone().unwrap();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            }
        }
        // Requests use the same framing; reuse the answer decoder on a request by reading
        // cmd/para from the body directly.
        while let Some(start) = buf.windows(5).position(|w| w == PREAMBLE) {
            if buf.len() < start + 7 {
                break;
            }
            let len = u16::from_be_bytes([buf[start + 5], buf[start + 6]]) as usize;
            if buf.len() < start + 7 + len {
                break;
            }
            let (cmd, para) = (buf[start + 7], buf[start + 8]);
            buf.drain(..start + 7 + len);
            let mut st = state.lock().unwrap();
            st.requests.push((cmd, para));
            if st.silent {
                continue;
            }
            let answer = match (cmd, para, &st.card) {
                // Read SAM management information: the module's 16-byte id.
                (0x12, 0xFF, _) => encode_answer(0x90, &SAM_ID),
                (0x20, 0x01, Some(_)) => encode_answer(0x9F, &[0, 0, 0, 0]),
                (0x20, 0x01, None) => encode_answer(0x80, &[]),
                (0x20, 0x02, Some(_)) => encode_answer(0x90, &[0; 8]),
                (0x20, 0x02, None) => encode_answer(0x81, &[]),
                (0x30, 0x01, Some(text)) => {
                    let mut data = vec![0x01, 0x00, 0x04, 0x00];
                    data.extend_from_slice(text);
                    data.extend_from_slice(&[0x57; 1024]);
                    let mut a = encode_answer(0x90, &data);
                    if st.bad_checksum_once {
                        st.bad_checksum_once = false;
                        let last = a.len() - 1;
                        a[last] ^= 0x5A;
                    }
                    a
                }
                (0x30, 0x01, None) => encode_answer(0x41, &[]),
                _ => encode_answer(0x21, &[]),
            };
            if st.garbage {
                let _ = out.write_all(&[0x00, 0xAA, 0x13, 0x37, 0xAA, 0xAA]);
            }
            debug_assert!(decode_frame(&answer).0.is_ok() || answer.len() > 1000);
            let _ = out.write_all(&answer);
        }
    }
}
