//! The payment soak's kiosk: a process of its own (the soak kills it at random instants), run as
//! an ignored test of the soak's binary with its settings in the environment. It drives the real
//! 生活缴费 service through the service interface, as the kiosk task does (open, utility, account,
//! pay, confirm, then ticks while the QR is up), and plays the resident's phone through the
//! simulator's control route. Between residents it runs the service's upkeep and the outbox, as
//! the kiosk's worker does. Safe to kill at any instant: the ledger and the outbox are the record.
// Each test crate compiles the whole support tree and uses only part of it.
#![allow(dead_code)]

use bianmin::cloud::CloudClient;
use bianmin::outbox::Outbox;
use bianmin::printing::{preview_fonts, PrintService};
use bianmin::services::{CardWatch, Ctx, Input, Next, Registry, Upkeep};
use bianmin::session::PageId;
use bianmin::storage::Store;
use bianmin_printer::SimulatedPrinter;
use rand::Rng;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ENV_DIR: &str = "BIANMIN_PAYSOAK_KIOSK";
pub const ENV_URL: &str = "BIANMIN_PAYSOAK_CLOUD";
pub const ENV_COUNT: &str = "BIANMIN_PAYSOAK_COUNT";
pub const ENV_SETTLE_ONLY: &str = "BIANMIN_PAYSOAK_SETTLE_ONLY";

/// The simulator's soak accounts: water accounts 10000001…, two unpaid bills each.
fn soak_account(i: usize) -> String {
    format!("{}", 10_000_001 + (i % 200))
}

/// Runs the kiosk when the environment names a kiosk folder; returns false otherwise.
pub fn run_from_env() -> bool {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return false;
    };
    let url = std::env::var(ENV_URL).expect("cloud URL");
    let count: usize = std::env::var(ENV_COUNT).expect("count").parse().unwrap();
    let settle_only = std::env::var(ENV_SETTLE_ONLY).is_ok_and(|v| v == "1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(Path::new(&dir), &url, count, settle_only));
    true
}

struct Kiosk {
    store: Arc<Mutex<Store>>,
    outbox: Outbox,
    cloud: CloudClient,
    printer: PrintService,
    site: bianmin::cloud::api::Site,
    registry: Registry,
    url: String,
}

async fn run(dir: &Path, url: &str, count: usize, settle_only: bool) {
    let store = Arc::new(Mutex::new(Store::open_in(dir).unwrap()));
    let outbox = Outbox::open(store.clone(), &dir.join("outbox.key")).unwrap();
    let cloud = CloudClient::new(url, Duration::from_secs(2)).unwrap();
    let enrollment = store.lock().unwrap().enrollment().unwrap().unwrap();
    cloud.set_device_token(&enrollment.device_token);
    let mut printer = PrintService::new(
        Box::new(SimulatedPrinter::new()),
        store.clone(),
        576,
        Arc::new(preview_fonts()),
        None,
    );
    // As the kiosk starts: papers a dead run left in doubt are withheld, online-only
    // submissions of a resident who is gone are abandoned.
    printer.recover();
    outbox.abandon_online_only().unwrap();
    let mut k = Kiosk {
        store,
        outbox,
        cloud,
        printer,
        site: enrollment.site,
        registry: Registry::standard(),
        url: url.to_string(),
    };
    k.upkeep(true).await;
    if settle_only {
        // The cloud is steady: settle until the ledger holds nothing open.
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            k.upkeep(false).await;
            let open = k.store.lock().unwrap().payments_settling().unwrap().len();
            if open == 0 {
                return;
            }
            assert!(Instant::now() < until, "{open} orders still not settled");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    loop {
        let attempted = k.store.lock().unwrap().payment_orders().unwrap().len();
        if attempted >= count {
            return;
        }
        k.resident(attempted).await;
        k.upkeep(false).await;
    }
}

impl Kiosk {
    /// What the kiosk's worker does every few seconds: the services' upkeep, then the outbox.
    async fn upkeep(&self, starting: bool) {
        let u = Upkeep {
            cloud: &self.cloud,
            store: &self.store,
            outbox: &self.outbox,
            site: &self.site,
            starting,
        };
        for spec in self.registry.specs() {
            if let Some(run) = spec.upkeep {
                run(&u).await;
            }
        }
        let _ = self.outbox.deliver_due_now(&self.cloud).await;
    }

    /// One resident: an account's bills, paid (or not) with their phone.
    async fn resident(&mut self, i: usize) {
        let spec = *self.registry.get("utility_bills").expect("utility_bills");
        let mut service = (spec.start)();
        let visit = uuid::Uuid::new_v4().to_string();
        let card = CardWatch::default();
        let mut rng = rand::thread_rng();
        // What the resident's phone does: pay once, twice, late, never; or they walk away.
        let plan = rng.gen_range(0..100);
        let mut ctx = Ctx {
            cloud: &self.cloud,
            site: &self.site,
            lang: bianmin::Lang::Zh,
            resident: None,
            printer: &mut self.printer,
            outbox: &self.outbox,
            store: &self.store,
            visit: &visit,
            card: &card,
        };
        let steps = [
            Input::Open,
            Input::Choose("water".into()),
            Input::Submit(soak_account(i)),
            Input::Choose("pay".into()),
        ];
        for s in steps {
            if let Next::Go(PageId::Result) = service.handle(&mut ctx, s).await {
                // No bills, or the cloud is down: this resident tries again later.
                service.leaving(&self.outbox, &self.store);
                tokio::time::sleep(Duration::from_millis(100)).await;
                return;
            }
        }
        if service.handle(&mut ctx, Input::Confirm).await != Next::Go(PageId::Payment) {
            service.leaving(&self.outbox, &self.store);
            tokio::time::sleep(Duration::from_millis(100)).await;
            return;
        }
        let mut order = service.screen(&screen_ctx(&self.site)).payment.order_no;
        let mut second_thoughts = rng.gen_bool(0.5);
        let shown = Instant::now();
        let pay_at = match plan {
            0..=59 => Some(Duration::from_millis(rng.gen_range(100..1500))),
            60..=69 => Some(Duration::from_millis(rng.gen_range(100..800))),
            // Just as the order expires: paid in time, or refused as no longer payable.
            70..=79 => Some(Duration::from_millis(rng.gen_range(2_700..3_300))),
            _ => None,
        };
        let mut leave_at = (80..=89)
            .contains(&plan)
            .then(|| Duration::from_millis(rng.gen_range(200..2000)));
        let mut payments = 0;
        let wanted = if (60..=69).contains(&plan) { 2 } else { 1 };
        loop {
            let elapsed = shown.elapsed();
            if pay_at.is_some_and(|t| elapsed >= t) && payments < wanted {
                // The phone's call may fail while the cloud is down: it tries again.
                if bianmin_phone_pays(&self.url, &order).await {
                    payments += 1;
                }
            }
            if leave_at.is_some_and(|t| elapsed >= t) {
                let next = service.handle(&mut ctx, Input::Back).await;
                if next == Next::Replace(PageId::Result) {
                    // Paid after all: the close found it so.
                    break;
                }
                if !second_thoughts {
                    break;
                }
                // Back on the confirm page, the resident confirms again: the same open order,
                // a new one, or "the last order is being closed".
                second_thoughts = false;
                if service.handle(&mut ctx, Input::Confirm).await != Next::Go(PageId::Payment) {
                    break;
                }
                order = service.screen(&screen_ctx(&self.site)).payment.order_no;
                payments = 0;
                leave_at = None;
            }
            let next = service.handle(&mut ctx, Input::Tick).await;
            if next == Next::Replace(PageId::Result) || elapsed > Duration::from_secs(20) {
                // Paid, closed, or unknown: the resident reads the result and goes.
                break;
            }
            // The kiosk's own tick is 250 ms (it asks the cloud every 2 s; faster here, so the
            // soak sees more interleavings in its time).
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        service.leaving(&self.outbox, &self.store);
    }
}

fn screen_ctx(site: &bianmin::cloud::api::Site) -> bianmin::services::ScreenCtx<'_> {
    bianmin::services::ScreenCtx {
        lang: bianmin::Lang::Zh,
        site,
        resident: None,
        landscape: false,
    }
}

/// The resident's phone pays (the simulator's control route); false when the call failed.
async fn bianmin_phone_pays(url: &str, order: &str) -> bool {
    let r = reqwest::Client::new()
        .post(format!("{url}/_sim/payments/{order}/pay"))
        .json(&serde_json::json!({ "channel": "wechat" }))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    // 409 (already paid, or no longer payable) is an answer too: the phone is done.
    r.is_ok_and(|r| r.status().is_success() || r.status().as_u16() == 409)
}

/// Bills the cloud kept money for more than once (paid in two orders, neither refunded).
pub fn double_charged(sim_db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(sim_db).unwrap();
    bianmin::cloud_sim::double_charged(&conn).unwrap()
}
