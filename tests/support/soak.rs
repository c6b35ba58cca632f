//! The soak test's submitter: a process of its own (the soak kills it at random instants), so it
//! runs as an ignored test of the soak's own binary, started with its settings in the
//! environment. It enqueues synthetic hazard reports until the outbox holds `count` in all,
//! delivering as it goes; safe to kill at any instant and start again, since the outbox is the
//! record.
// Each test crate compiles the whole support tree and uses only part of it.
#![allow(dead_code)]

use bianmin::cloud::api::{EnrollRequest, ReportKind, ReportRequest};
use bianmin::cloud::CloudClient;
use bianmin::outbox::Outbox;
use bianmin::storage::{Enrollment, Store};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Starts `bianmin cloud-sim` on 127.0.0.1:`port` with the soaks' enrolment code `SOAK` (and
/// `extra` arguments), and waits until it listens.
pub fn start_sim(bin: &str, port: u16, db: &Path, extra: &[&str]) -> Child {
    let child = Command::new(bin)
        .args([
            "cloud-sim",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            db.to_str().unwrap(),
            "--enrollment-code",
            "SOAK",
        ])
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the simulator did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// Stops a child by its PID and reaps it.
pub fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `f` until it answers, or fails after `limit` naming `what`.
pub fn until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Enrols a kiosk data folder with the soak simulator at `url` (code `SOAK`); answers the
/// device token.
pub fn enroll(rt: &tokio::runtime::Runtime, url: &str, kiosk: &Path, serial: &str) -> String {
    let cloud = CloudClient::new(url, Duration::from_secs(2)).unwrap();
    let e = rt
        .block_on(cloud.enroll(&EnrollRequest {
            enrollment_code: "SOAK".into(),
            serial: serial.into(),
            model: "soak".into(),
        }))
        .unwrap();
    Store::open_in(kiosk)
        .unwrap()
        .save_enrollment(&Enrollment {
            device_id: e.device_id,
            device_token: e.device_token.clone(),
            site: e.site,
        })
        .unwrap();
    e.device_token
}

pub const ENV_DIR: &str = "BIANMIN_SOAK_KIOSK";
pub const ENV_URL: &str = "BIANMIN_SOAK_CLOUD";
pub const ENV_COUNT: &str = "BIANMIN_SOAK_COUNT";
pub const ENV_PACE_MS: &str = "BIANMIN_SOAK_PACE_MS";

/// Runs the submitter when the environment names a kiosk folder; returns false otherwise.
pub fn submit_from_env() -> bool {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return false;
    };
    let url = std::env::var(ENV_URL).expect("cloud URL");
    let count: i64 = std::env::var(ENV_COUNT).expect("count").parse().unwrap();
    let pace: u64 = std::env::var(ENV_PACE_MS)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    submit(Path::new(&dir), &url, count, Duration::from_millis(pace));
    true
}

fn submit(dir: &Path, url: &str, count: i64, pace: Duration) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(Mutex::new(Store::open_in(dir).unwrap()));
    let outbox = Outbox::open(store.clone(), &dir.join("outbox.key")).unwrap();
    let cloud = CloudClient::new(url, Duration::from_secs(2)).unwrap();
    let token = store
        .lock()
        .unwrap()
        .enrollment()
        .unwrap()
        .unwrap()
        .device_token;
    cloud.set_device_token(&token);
    let mut n = 0u64;
    loop {
        let (pending, delivered, failed) = outbox.counts().unwrap();
        // One submitter at a time: counting, then inserting, stays exactly-once across kills
        // (an insert is one durable transaction; a kill after it is counted next time).
        let full = pending + delivered + failed >= count;
        if !full {
            n += 1;
            let req = ReportRequest {
                kind: ReportKind::Hazard,
                category: "road".into(),
                location: "建设南路18号 北门".into(),
                description: format!("路灯不亮（soak {n}）"),
                anonymous: true,
                contact_phone: None,
            };
            outbox.submit(&req, None).unwrap();
        }
        std::thread::sleep(pace);
        // Delivery ignores backoff here: the soak wants every chance to deliver mid-flap.
        let _ = rt.block_on(outbox.deliver_due_now(&cloud));
        if full && pending == 0 {
            return;
        }
        if full {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
