//! An embedded cloud simulator with an enrolled client and a kiosk store plus outbox, in a
//! temporary folder: the set-up the outbox tests share.

#![allow(dead_code)]

use bianmin::cloud::api::{EnrollRequest, EnrollResponse};
use bianmin::cloud::CloudClient;
use bianmin::cloud_sim::{CloudSim, SimOptions};
use bianmin::outbox::Outbox;
use bianmin::storage::{Enrollment, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Kiosk {
    pub sim: CloudSim,
    pub cloud: CloudClient,
    pub enrollment: EnrollResponse,
    pub store: Arc<Mutex<Store>>,
    pub outbox: Outbox,
}

/// The simulator on 127.0.0.1 with its database in `dir`, enrolling with `code`; its back
/// office asleep (cases stay where the seed put them) and orders open for the default time.
pub async fn sim(dir: &std::path::Path, code: &str) -> CloudSim {
    CloudSim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            db: dir.join("sim.db"),
            enrollment_code: code.into(),
            case_step: Duration::from_secs(3600),
            payment_ttl: SimOptions::DEFAULT_PAYMENT_TTL,
        },
    )
    .await
    .unwrap()
}

pub async fn kiosk(dir: &std::path::Path) -> Kiosk {
    let sim = sim(dir, "C").await;
    let cloud = CloudClient::new(&sim.url(), Duration::from_secs(2)).unwrap();
    let e = cloud
        .enroll(&EnrollRequest {
            enrollment_code: "C".into(),
            serial: "S".into(),
            model: "M".into(),
        })
        .await
        .unwrap();
    cloud.set_device_token(&e.device_token);
    let store = Store::open_in(dir).unwrap();
    store
        .save_enrollment(&Enrollment {
            device_id: e.device_id.clone(),
            device_token: e.device_token.clone(),
            site: e.site.clone(),
        })
        .unwrap();
    let store = Arc::new(Mutex::new(store));
    let outbox = Outbox::open(store.clone(), &dir.join("outbox.key")).unwrap();
    Kiosk {
        sim,
        cloud,
        enrollment: e,
        store,
        outbox,
    }
}
