//! Soak: N hazard reports submitted while the cloud flaps (the simulator process is killed and
//! restarted) and the submitting process is killed at random points and restarted. Afterwards
//! the cloud holds exactly N reports, each once, and the outbox has nothing pending. Bounded in
//! count and time; everything runs on 127.0.0.1 and is stopped by PID.

mod support;

use rand::Rng;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const N: i64 = 400;
const MIN_KILLS: u32 = 10;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bianmin")
}

fn start_sim(port: u16, db: &Path) -> Child {
    support::soak::start_sim(bin(), port, db, &[])
}

use support::soak::stop;

#[test]
fn outbox_soak() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk = dir.path().join("kiosk");
    let db = dir.path().join("sim.db");
    let port = support::soak::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let sim = Arc::new(Mutex::new(start_sim(port, &db)));

    // Enrol the kiosk's data dir.
    let rt = tokio::runtime::Runtime::new().unwrap();
    support::soak::enroll(&rt, &url, &kiosk, "SOAK-1");

    // The cloud flaps: killed and restarted at random intervals.
    let flapping = Arc::new(AtomicBool::new(true));
    let flaps = {
        let (sim, flapping, db) = (sim.clone(), flapping.clone(), db.clone());
        std::thread::spawn(move || {
            let mut rng = rand::thread_rng();
            let mut n = 0;
            while flapping.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(rng.gen_range(80..250)));
                stop(&mut sim.lock().unwrap());
                std::thread::sleep(Duration::from_millis(rng.gen_range(30..150)));
                *sim.lock().unwrap() = start_sim(port, &db);
                n += 1;
            }
            n
        })
    };

    // The submitter is this test binary again, running only its ignored submitter test.
    let submit = || {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "soak_submitter",
                "--ignored",
                "--test-threads",
                "1",
            ])
            .env(support::soak::ENV_DIR, &kiosk)
            .env(support::soak::ENV_URL, &url)
            .env(support::soak::ENV_COUNT, N.to_string())
            .env(support::soak::ENV_PACE_MS, "8")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    let mut rng = rand::thread_rng();
    let mut kills = 0u32;
    while kills < MIN_KILLS {
        let mut child = submit();
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..150)));
        match child.try_wait().unwrap() {
            Some(_) => break,
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    flapping.store(false, Ordering::SeqCst);
    let flap_count = flaps.join().unwrap();
    // The cloud steady again: the submitter finishes the job.
    let status = submit().wait().unwrap();
    assert!(status.success());
    assert!(
        started.elapsed() < Duration::from_secs(150),
        "the soak stays bounded"
    );
    println!("soak time: {:.1} s", started.elapsed().as_secs_f64());

    let out = Command::new(bin())
        .args([
            "--data-dir",
            kiosk.to_str().unwrap(),
            "outbox",
            "status",
            "--json",
        ])
        .output()
        .unwrap();
    let counts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    stop(&mut sim.lock().unwrap());

    let conn = rusqlite::Connection::open(&db).unwrap();
    let cases: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM cases WHERE kind = 'report'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let keys: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM idempotency WHERE route = 'reports'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let delivered = counts["delivered"].as_i64().unwrap();
    println!(
        "soak: {N} submitted, {delivered} delivered, {} duplicates, {kills} kills",
        cases - N
    );
    println!("(the cloud was killed and restarted {flap_count} times)");
    assert!(kills >= MIN_KILLS);
    assert_eq!(counts["pending"], 0);
    assert_eq!(delivered, N);
    assert_eq!(keys, N, "one Idempotency-Key per submission");
    assert_eq!(cases, N, "each submission exactly once");
}

/// The submitter process of `outbox_soak` (does nothing unless the soak started it).
#[test]
#[ignore = "started by outbox_soak as its submitter process"]
fn soak_submitter() {
    if !support::soak::submit_from_env() {
        eprintln!("soak_submitter runs only as outbox_soak's child");
    }
}
