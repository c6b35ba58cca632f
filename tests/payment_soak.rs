//! Payment soak: N ≥ 100 生活缴费 payments through the real 生活缴费 service (the same code the
//! kiosk runs: order through the outbox, QR, polling, close, receipt, settling) while the cloud
//! flaps (the simulator process is killed and restarted) and the kiosk process is killed at
//! random instants and started again, at least ten times. The resident's phone pays through the
//! simulator's control route: once, twice, late, or never; some residents walk away from the QR.
//!
//! Afterwards: every bill is paid at most once (no double charge kept), every order the kiosk
//! showed is settled with the cloud's final state, and every paid order has exactly one receipt
//! in the kiosk's spool. Bounded in count and time; everything runs on 127.0.0.1 and is stopped
//! by PID.

mod support;

use bianmin::cloud::api::PaymentStatus;
use bianmin::cloud::CloudClient;
use bianmin::storage::Store;
use rand::Rng;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const N: usize = 110;
const MIN_KILLS: u32 = 10;
/// Orders expire fast here, so expiry and late payments happen within the soak.
const TTL_S: u64 = 3;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bianmin")
}

fn start_sim(port: u16, db: &Path) -> Child {
    support::soak::start_sim(bin(), port, db, &["--payment-ttl", &TTL_S.to_string()])
}

use support::soak::stop;

#[test]
fn payment_soak() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk = dir.path().join("kiosk");
    let db = dir.path().join("sim.db");
    let port = support::soak::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let sim = Arc::new(Mutex::new(start_sim(port, &db)));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = support::soak::enroll(&rt, &url, &kiosk, "SOAK-PAY");
    let cloud = CloudClient::new(&url, Duration::from_secs(2)).unwrap();
    cloud.set_device_token(&token);

    // The cloud flaps: killed and restarted at random intervals (short outages, as a flaky
    // network has; a longer one trips the client's circuit breaker for 10 s, which the soak
    // then waits out like a kiosk).
    let flapping = Arc::new(AtomicBool::new(true));
    let flaps = {
        let (sim, flapping, db) = (sim.clone(), flapping.clone(), db.clone());
        std::thread::spawn(move || {
            let mut rng = rand::thread_rng();
            let mut n = 0;
            while flapping.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(rng.gen_range(1_000..3_000)));
                stop(&mut sim.lock().unwrap());
                std::thread::sleep(Duration::from_millis(rng.gen_range(50..300)));
                *sim.lock().unwrap() = start_sim(port, &db);
                n += 1;
            }
            n
        })
    };

    // The kiosk is this test binary again, running only its ignored kiosk test.
    let kiosk_process = |settle_only: bool| {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "payment_kiosk",
                "--ignored",
                "--test-threads",
                "1",
            ])
            .env(support::payments::ENV_DIR, &kiosk)
            .env(support::payments::ENV_URL, &url)
            .env(support::payments::ENV_COUNT, N.to_string())
            .env(
                support::payments::ENV_SETTLE_ONLY,
                if settle_only { "1" } else { "0" },
            )
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    let mut rng = rand::thread_rng();
    let mut kills = 0u32;
    loop {
        let mut child = kiosk_process(false);
        // Killed at a random instant, or left to finish once enough kills happened.
        let run_for = Duration::from_millis(rng.gen_range(1_000..6_000));
        let until = Instant::now() + run_for;
        let mut finished = None;
        while Instant::now() < until || kills >= MIN_KILLS {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the soak stays bounded"
            );
        }
        match finished {
            Some(status) => {
                assert!(status.success(), "the kiosk process failed: {status}");
                if kills >= MIN_KILLS {
                    break;
                }
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    flapping.store(false, Ordering::SeqCst);
    let flap_count = flaps.join().unwrap();
    // The cloud steady again: the kiosk settles every order it still holds.
    let status = kiosk_process(true).wait().unwrap();
    assert!(status.success(), "the settling run failed");
    println!(
        "payment soak time: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // What the kiosk holds: its ledger and its spool.
    let store = Store::open_in(&kiosk).unwrap();
    let orders = store.payment_orders().unwrap();
    let jobs = store.spool_jobs_with_requests().unwrap();
    drop(store);

    // What the cloud holds, asked over its own API.
    let mut paid = 0;
    for (id, state) in &orders {
        let p = rt.block_on(cloud.payment(id)).unwrap();
        assert!(
            p.status.is_final(),
            "{id} still {:?} at the cloud",
            p.status
        );
        let cloud_state = match p.status {
            PaymentStatus::Paid => "paid",
            PaymentStatus::Expired => "expired",
            _ => "closed",
        };
        assert_eq!(
            state, cloud_state,
            "{id}: the kiosk's ledger and the cloud agree"
        );
        let receipts = jobs
            .iter()
            .filter(|(template, request, _)| template == "payment_receipt" && request == id)
            .count();
        if p.status == PaymentStatus::Paid {
            paid += 1;
            assert_eq!(
                receipts, 1,
                "{id}: a paid order has exactly one receipt in the spool"
            );
            let (_, _, job) = jobs
                .iter()
                .find(|(template, request, _)| template == "payment_receipt" && request == id)
                .unwrap();
            // Printed for its resident, held for one who left, or withheld when the kiosk died
            // mid-print (never printed for the next resident).
            assert!(
                ["done", "held", "withheld"].contains(&job.as_str()),
                "{id}: its receipt is {job}"
            );
        } else {
            assert_eq!(receipts, 0, "{id}: an unpaid order has no receipt");
        }
    }
    stop(&mut sim.lock().unwrap());
    // The cloud's own record, not the kiosk's: every order paid for this kiosk is one the kiosk
    // knows as paid (an order whose creation answer was lost was never shown, so never paid).
    let device = Store::open_in(&kiosk)
        .unwrap()
        .enrollment()
        .unwrap()
        .unwrap()
        .device_id;
    let sim_db = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = sim_db
        .prepare("SELECT payment_id FROM payment_orders WHERE device_id = ?1 AND status = 'paid'")
        .unwrap();
    let cloud_paid: Vec<String> = stmt
        .query_map([&device], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for id in &cloud_paid {
        assert!(
            orders.iter().any(|(o, state)| o == id && state == "paid"),
            "{id}: paid at the cloud, unknown to the kiosk"
        );
    }
    assert_eq!(
        cloud_paid.len(),
        paid,
        "the cloud and the kiosk count the same paid orders"
    );
    let double_charged = support::payments::double_charged(&db);
    println!(
        "payments: {} attempted, {paid} paid, {double_charged} double-charged, {kills} kills",
        orders.len()
    );
    println!("(the cloud was killed and restarted {flap_count} times)");
    assert!(orders.len() >= N);
    assert!(kills >= MIN_KILLS);
    assert!(paid > 0);
    assert_eq!(double_charged, 0, "no bill is paid twice");
}

/// The kiosk process of `payment_soak` (does nothing unless the soak started it).
#[test]
#[ignore = "started by payment_soak as its kiosk process"]
fn payment_kiosk() {
    if !support::payments::run_from_env() {
        eprintln!("payment_kiosk runs only as payment_soak's child");
    }
}
