//! The soak test's submitter: a process of its own (the soak kills it at random instants), so it
//! runs as an ignored test of the soak's own binary, started with its settings in the
//! environment. It enqueues synthetic hazard reports until the outbox holds `count` in all,
//! delivering as it goes; safe to kill at any instant and start again, since the outbox is the
//! record.
// Each test crate compiles the whole support tree and uses only part of it.
#![allow(dead_code)]

use bianmin::cloud::api::{ReportKind, ReportRequest};
use bianmin::cloud::CloudClient;
use bianmin::outbox::Outbox;
use bianmin::storage::Store;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
