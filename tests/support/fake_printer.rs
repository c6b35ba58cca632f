//! A fake ESC/POS printer on the master side of a pseudo-terminal pair. It parses the byte
//! stream by command length (so QR data and raster images are never mistaken for commands),
//! answers DLE EOT and GS r like an Epson TM-T88, and can run out of paper or open its cover
//! mid-job, or go silent.

#![allow(dead_code)]

use super::pty::openpty;
use bianmin_printer::status::{self, Paper, PrinterStatus};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default, Clone)]
pub struct Paperwork {
    /// Decoded text lines (GB18030), in order.
    pub lines: Vec<String>,
    pub qr_payloads: Vec<String>,
    pub barcodes: Vec<String>,
    /// (bytes per row, rows) of each GS v 0 image.
    pub rasters: Vec<(usize, usize)>,
    pub cuts: usize,
    pub resets: usize,
    pub chinese_mode: bool,
    pub bytes_received: usize,
}

#[derive(Debug, Clone)]
pub struct Behaviour {
    pub status: PrinterStatus,
    /// Run out of paper after this many bytes of a job (then stop printing and answering GS r).
    pub paper_out_after: Option<usize>,
    /// Open the cover after this many bytes.
    pub cover_open_after: Option<usize>,
    /// Answer nothing at all.
    pub silent: bool,
    /// Print, but never answer GS r (a job that never gets confirmed).
    pub hold_confirm: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            status: PrinterStatus {
                online: true,
                cover_open: false,
                paper: Paper::Ok,
                cutter_error: false,
            },
            paper_out_after: None,
            cover_open_after: None,
            silent: false,
            hold_confirm: false,
        }
    }
}

pub struct FakePrinter {
    pub path: String,
    pub paper: Arc<Mutex<Paperwork>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
    // Keeps the slave side open so the pty never hangs up between opens.
    _slave: OwnedFd,
}

impl FakePrinter {
    pub fn start(behaviour: Behaviour) -> FakePrinter {
        let (master, slave, path) = openpty();
        let paper: Arc<Mutex<Paperwork>> = Arc::default();
        let behaviour = Arc::new(Mutex::new(behaviour));
        let (p, b) = (paper.clone(), behaviour.clone());
        std::thread::spawn(move || run(master, p, b));
        FakePrinter {
            path,
            paper,
            behaviour,
            _slave: slave,
        }
    }

    pub fn paperwork(&self) -> Paperwork {
        self.paper.lock().unwrap().clone()
    }

    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }
}

struct Reader {
    file: std::fs::File,
    buf: Vec<u8>,
    pos: usize,
}

impl Reader {
    fn byte(&mut self) -> Option<u8> {
        use std::io::Read;
        while self.pos >= self.buf.len() {
            let mut chunk = [0u8; 4096];
            match self.file.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => {
                    self.buf = chunk[..n].to_vec();
                    self.pos = 0;
                }
                // EIO when no one has the slave open: wait for the next open.
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
        self.pos += 1;
        Some(self.buf[self.pos - 1])
    }

    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        (0..n).map(|_| self.byte()).collect()
    }
}

fn run(master: OwnedFd, paper: Arc<Mutex<Paperwork>>, behaviour: Arc<Mutex<Behaviour>>) {
    use std::io::Write;
    let file = std::fs::File::from(master);
    let mut out = file.try_clone().unwrap();
    let mut r = Reader {
        file,
        buf: Vec::new(),
        pos: 0,
    };
    let mut line: Vec<u8> = Vec::new();
    let mut job_bytes = 0usize;
    let mut stalled = false;
    let flush_line = |line: &mut Vec<u8>, paper: &Arc<Mutex<Paperwork>>| {
        if !line.is_empty() {
            let (text, _, _) = encoding_rs::GB18030.decode(line);
            paper
                .lock()
                .unwrap()
                .lines
                .push(text.trim_end().to_string());
            line.clear();
        }
    };
    while let Some(b) = r.byte() {
        paper.lock().unwrap().bytes_received += 1;
        job_bytes += 1;
        {
            let mut beh = behaviour.lock().unwrap();
            if beh.paper_out_after.is_some_and(|n| job_bytes >= n) {
                beh.status.paper = Paper::Out;
                beh.status.online = false;
                stalled = true;
            }
            if beh.cover_open_after.is_some_and(|n| job_bytes >= n) {
                beh.status.cover_open = true;
                beh.status.online = false;
                stalled = true;
            }
        }
        match b {
            0x10 => {
                let Some(cmd) = r.take(2) else { break };
                if cmd[0] == 0x04 {
                    let beh = behaviour.lock().unwrap();
                    if !beh.silent {
                        let answers = status::encode(&beh.status);
                        let n = cmd[1].clamp(1, 4) as usize;
                        let _ = out.write_all(&[answers[n - 1]]);
                    }
                }
                job_bytes = 0;
            }
            0x1b => {
                let Some(cmd) = r.byte() else { break };
                match cmd {
                    b'@' => {
                        flush_line(&mut line, &paper);
                        paper.lock().unwrap().resets += 1;
                        stalled = false;
                    }
                    b'a' | b'E' | b'd' | b'!' | b'-' | b'M' => {
                        r.byte();
                    }
                    _ => {}
                }
            }
            0x1c => {
                if r.byte() == Some(b'&') {
                    paper.lock().unwrap().chinese_mode = true;
                }
            }
            0x1d => {
                let Some(cmd) = r.byte() else { break };
                match cmd {
                    b'!' | b'H' | b'h' | b'w' | b'f' => {
                        r.byte();
                    }
                    b'V' => {
                        let m = r.byte().unwrap_or(0);
                        if m == 65 || m == 66 {
                            r.byte();
                        }
                        flush_line(&mut line, &paper);
                        if !stalled {
                            paper.lock().unwrap().cuts += 1;
                        }
                    }
                    b'(' => {
                        let Some(h) = r.take(3) else { break };
                        let len = h[1] as usize | (h[2] as usize) << 8;
                        let Some(body) = r.take(len) else { break };
                        // fn 80 (store): cn=49, fn=80, m=48, then the data.
                        if h[0] == b'k'
                            && body.len() >= 3
                            && body[0] == 49
                            && body[1] == 80
                            && !stalled
                        {
                            paper
                                .lock()
                                .unwrap()
                                .qr_payloads
                                .push(String::from_utf8_lossy(&body[3..]).to_string());
                        }
                    }
                    b'v' => {
                        let Some(h) = r.take(6) else { break };
                        let (xb, y) = (
                            h[2] as usize | (h[3] as usize) << 8,
                            h[4] as usize | (h[5] as usize) << 8,
                        );
                        if r.take(xb * y).is_none() {
                            break;
                        }
                        if !stalled {
                            paper.lock().unwrap().rasters.push((xb, y));
                        }
                    }
                    b'r' => {
                        r.byte();
                        let beh = behaviour.lock().unwrap();
                        // A stalled printer never reaches the GS r in its buffer.
                        if !beh.silent && !stalled && !beh.hold_confirm {
                            let _ = out.write_all(&[0x00]);
                        }
                        job_bytes = 0;
                    }
                    b'k' => {
                        // CODE128 (GS k 73 n data)
                        let m = r.byte().unwrap_or(0);
                        let n = r.byte().unwrap_or(0) as usize;
                        if m >= 65 {
                            let data = r.take(n).unwrap_or_default();
                            if m == 73 && data.len() >= 2 && !stalled {
                                paper
                                    .lock()
                                    .unwrap()
                                    .barcodes
                                    .push(String::from_utf8_lossy(&data[2..]).to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
            b'\n' => {
                if !stalled {
                    flush_line(&mut line, &paper);
                } else {
                    line.clear();
                }
            }
            _ => line.push(b),
        }
    }
}
