//! An embedded cloud simulator with an enrolled client and a kiosk store plus outbox, in a
//! temporary folder: the set-up the outbox tests share.

#![allow(dead_code)]

use bianmin::cloud::api::{EnrollRequest, EnrollResponse, IdentitySession, IdentitySessionRequest};
use bianmin::cloud::{CloudClient, ResidentToken};
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
            enrollment_codes: vec![code.into()],
            case_step: Duration::from_secs(3600),
            payment_ttl: SimOptions::DEFAULT_PAYMENT_TTL,
        },
    )
    .await
    .unwrap()
}

/// A client enrolled as device `serial` with a fresh code the simulator issues (codes are
/// single-use), its token set.
pub async fn enrolled(
    sim: &CloudSim,
    serial: &str,
    timeout: Duration,
) -> (CloudClient, EnrollResponse) {
    let c = CloudClient::new(&sim.url(), timeout).unwrap();
    let e = c
        .enroll(&EnrollRequest {
            enrollment_code: sim.issue_enrollment_code(),
            serial: serial.into(),
            model: "test".into(),
        })
        .await
        .unwrap();
    c.set_device_token(&e.device_token);
    (c, e)
}

/// The n-th demo resident's identity session (from 0, as `demo_residents()`); with
/// `long_term`, the card is read as valid for good (so the resident with the expired card can be
/// asked too).
pub async fn identity(
    c: &CloudClient,
    resident: usize,
    long_term: bool,
) -> (ResidentToken, IdentitySession) {
    let id = &bianmin_idcard::simulator::demo_residents()[resident];
    let s = c
        .open_identity_session(&IdentitySessionRequest {
            card_type: id.card_type.code().into(),
            id_number: id.id_number.as_str().into(),
            name: id.name.clone(),
            valid_to: if long_term {
                "long-term".into()
            } else {
                id.valid_to.wire()
            },
        })
        .await
        .unwrap();
    (ResidentToken::new(s.session_token.clone()), s)
}

pub async fn kiosk(dir: &std::path::Path) -> Kiosk {
    let sim = sim(dir, "C").await;
    let (cloud, e) = enrolled(&sim, "S", Duration::from_secs(2)).await;
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
