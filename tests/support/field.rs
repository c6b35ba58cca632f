//! Field-operations doubles: an SNTP server on 127.0.0.1 whose clock runs a set offset from
//! ours, and fresh enrolment codes from a standalone simulator (`POST /_sim/enrollment-codes`).

#![allow(dead_code)]

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An SNTP server answering every request from a clock `offset_ms` ahead of this machine's
/// (negative: behind). Written from RFC 4330 independently of the kiosk's client.
pub struct SntpServer {
    pub addr: String,
}

impl SntpServer {
    pub fn start(offset_ms: i64) -> SntpServer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                // Mode 3 (client) requests only.
                if n < 48 || buf[0] & 0x07 != 3 {
                    continue;
                }
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                let ms = now.as_millis() as i64 + offset_ms;
                let secs = (ms.div_euclid(1000)) as u64 + 2_208_988_800;
                let frac = ((ms.rem_euclid(1000) as u64) << 32) / 1000;
                let ts = ((secs << 32) | frac).to_be_bytes();
                let mut a = [0u8; 48];
                a[0] = (4 << 3) | 4; // version 4, server
                a[1] = 1; // stratum 1
                a[24..32].copy_from_slice(&buf[40..48]); // originate = the client's transmit
                a[32..40].copy_from_slice(&ts); // receive
                a[40..48].copy_from_slice(&ts); // transmit
                let _ = sock.send_to(&a, from);
            }
        });
        SntpServer { addr }
    }
}

/// A fresh single-use enrolment code from the simulator at `url`.
pub fn issue_code(url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{url}/_sim/enrollment-codes"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.unwrap();
        v["enrollment_code"].as_str().unwrap().to_string()
    })
}

/// The standalone simulator, stopped by its PID when dropped.
pub struct Sim {
    child: Child,
    pub url: String,
}

impl Sim {
    /// Started with `codes` as its enrolment codes.
    pub fn start(dir: &Path, codes: &[&str]) -> Sim {
        let port = super::soak::free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bianmin"));
        cmd.args([
            "cloud-sim",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            dir.join("sim.db").to_str().unwrap(),
        ]);
        for c in codes {
            cmd.args(["--enrollment-code", c]);
        }
        let child = cmd
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "no simulator");
            std::thread::sleep(Duration::from_millis(10));
        }
        Sim {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        super::soak::stop(&mut self.child);
    }
}
