//! `cargo bench --bench outbox`: the latency of a durable outbox insert (sealed, written and
//! fsynced with synchronous=FULL before any network byte), p50 / p99 / max, on this machine's disk.

use bianmin::cloud::api::{ReportKind, ReportRequest};
use bianmin::outbox::Outbox;
use bianmin::storage::Store;
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn main() {
    // On the project's disk (not a tmpfs), since fsync cost is the point.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-outbox");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(Mutex::new(Store::open_in(&dir).unwrap()));
    let outbox = Outbox::open(store, &dir.join("outbox.key")).unwrap();
    let req = ReportRequest {
        kind: ReportKind::Hazard,
        category: "fire".into(),
        location: "成华区建设路街道办事处建设南路社区 楼道或单元内".into(),
        description: "消防通道被占用".into(),
        anonymous: false,
        contact_phone: Some("13800001001".into()),
    };
    for _ in 0..20 {
        outbox.submit(&req, None).unwrap();
    }
    let mut t: Vec<f64> = (0..500)
        .map(|_| {
            let s = Instant::now();
            outbox.submit(&req, None).unwrap();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| t[((t.len() as f64 * p) as usize).min(t.len() - 1)];
    println!(
        "durable outbox insert (500 runs): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50),
        pct(0.99),
        t[t.len() - 1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
