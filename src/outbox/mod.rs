//! Store-and-forward for everything a resident submits: the submission is written (sealed, and
//! fsynced) before the first network byte, carries one Idempotency-Key for life, and is delivered
//! with exponential backoff and jitter until the cloud answers. A 4xx that will never succeed is
//! final; 5xx, timeouts and dropped connections retry. Delivered entries keep only the receipt
//! (case number, query code): the residents' data is deleted.

pub mod seal;

use crate::cloud::api::{CaseReceipt, ReportRequest};
use crate::cloud::{CloudClient, CloudError, ResidentToken};
use crate::storage::{StorageError, Store};
use rand::Rng;
use seal::Sealer;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What is sealed in an outbox row.
#[derive(Serialize, Deserialize)]
struct Submission {
    /// The resident's session, when the submission was made with a card.
    session: Option<String>,
    body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub key: String,
    /// The number on an offline receipt.
    pub local_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered(CaseReceipt),
    /// Refused for good, with the cloud's problem code.
    Refused(String),
    /// Will be tried again.
    Later(String),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pass {
    pub delivered: u32,
    pub refused: u32,
    pub retrying: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Seal(#[from] seal::SealError),
}

pub struct Outbox {
    store: Arc<Mutex<Store>>,
    sealer: Sealer,
}

/// 2 s, 4 s, 8 s … up to 5 minutes, each ±25 %, so a fleet does not hammer a cloud coming back.
pub fn backoff(attempts: i64) -> Duration {
    let base = 2_000f64 * 2f64.powi(attempts.clamp(0, 16) as i32);
    let capped = base.min(300_000.0);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    Duration::from_millis((capped * jitter) as u64)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Outbox {
    pub fn open(store: Arc<Mutex<Store>>, key_path: &std::path::Path) -> Result<Outbox, OutboxError> {
        Ok(Outbox { store, sealer: Sealer::load_or_create(key_path)? })
    }

    /// Writes a report durably; nothing has touched the network yet when this returns.
    pub fn enqueue_report(&self, req: &ReportRequest, session: Option<&ResidentToken>) -> Result<Queued, OutboxError> {
        self.enqueue("reports", req, session, None).map(|q| q.expect("no limit"))
    }

    /// As `enqueue_report`, unless the outbox already holds `limit` entries (then None).
    pub fn enqueue_report_up_to(&self, req: &ReportRequest, limit: i64) -> Result<Option<Queued>, OutboxError> {
        self.enqueue("reports", req, None, Some(limit))
    }

    fn enqueue(&self, route: &str, body: &impl Serialize, session: Option<&ResidentToken>, limit: Option<i64>) -> Result<Option<Queued>, OutboxError> {
        let sub = Submission { session: session.map(|s| s.as_str().to_string()), body: serde_json::to_value(body).expect("json") };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&sub).expect("json"));
        let sealed = self.sealer.seal(&plain);
        let key = uuid::Uuid::new_v4().to_string();
        let store = self.store.lock().expect("store lock");
        Ok(store.outbox_insert(&key, route, &sealed, limit)?.map(|(id, local_no)| Queued { id, key, local_no }))
    }

    /// One pass over the entries that are due.
    pub async fn deliver_due(&self, cloud: &CloudClient) -> Result<Pass, OutboxError> {
        self.deliver_until(cloud, now_ms()).await
    }

    /// One pass over every pending entry, whatever its backoff (technicians, tests).
    pub async fn deliver_due_now(&self, cloud: &CloudClient) -> Result<Pass, OutboxError> {
        self.deliver_until(cloud, i64::MAX).await
    }

    async fn deliver_until(&self, cloud: &CloudClient, due_by: i64) -> Result<Pass, OutboxError> {
        let due = self.store.lock().expect("store lock").outbox_due(due_by)?;
        let mut pass = Pass::default();
        for (id, key, route, sealed, attempts) in due {
            let outcome = self.deliver(cloud, &key, &route, &sealed).await;
            let store = self.store.lock().expect("store lock");
            match &outcome {
                Outcome::Delivered(r) => {
                    store.outbox_delivered(id, &serde_json::to_string(r).expect("json"))?;
                    store.audit("outbox_delivered", &format!("{route} {}", r.case_no))?;
                    pass.delivered += 1;
                }
                Outcome::Refused(code) => {
                    store.outbox_failed(id, code)?;
                    // The resident may have left: the audit log is where staff see it.
                    store.audit("outbox_refused", &format!("{route} {code}"))?;
                    pass.refused += 1;
                }
                Outcome::Later(why) => {
                    store.outbox_retry_later(id, now_ms() + backoff(attempts).as_millis() as i64, why)?;
                    pass.retrying += 1;
                }
            }
        }
        Ok(pass)
    }

    async fn deliver(&self, cloud: &CloudClient, key: &str, route: &str, sealed: &[u8]) -> Outcome {
        let plain = match self.sealer.open(sealed) {
            Ok(p) => p,
            Err(e) => return Outcome::Refused(format!("unsealable: {e}")),
        };
        let Ok(sub) = serde_json::from_slice::<Submission>(&plain) else { return Outcome::Refused("undecodable".into()) };
        let session = sub.session.map(ResidentToken::new);
        match route {
            "reports" => {
                let Ok(req) = serde_json::from_value::<ReportRequest>(sub.body) else { return Outcome::Refused("undecodable".into()) };
                let mut result = cloud.submit_report(&req, session.as_ref(), key).await;
                if matches!(&result, Err(CloudError::Problem(p)) if p.status == 401 && p.code.starts_with("session")) && session.is_some() {
                    // The resident's session ended before the network came back: the case is still
                    // theirs by its query code.
                    result = cloud.submit_report(&req, None, key).await;
                }
                match result {
                    Ok(r) => Outcome::Delivered(r),
                    Err(e) if e.is_retryable() => Outcome::Later(e.kind().into()),
                    Err(e) => Outcome::Refused(e.code().unwrap_or("refused").into()),
                }
            }
            other => Outcome::Refused(format!("unknown route {other}")),
        }
    }

    /// Tries to deliver one entry now (the resident is waiting for the answer). `None` when the
    /// entry is not pending any more (delivered or refused already).
    pub async fn deliver_entry(&self, cloud: &CloudClient, id: i64) -> Option<Outcome> {
        let due = self.store.lock().expect("store lock").outbox_due(i64::MAX).ok()?;
        let (_, key, route, sealed, attempts) = due.into_iter().find(|d| d.0 == id)?;
        let outcome = self.deliver(cloud, &key, &route, &sealed).await;
        let store = self.store.lock().expect("store lock");
        let recorded = match &outcome {
            Outcome::Delivered(r) => store
                .outbox_delivered(id, &serde_json::to_string(r).expect("json"))
                .and_then(|_| store.audit("outbox_delivered", &format!("{route} {}", r.case_no))),
            Outcome::Refused(code) => store.outbox_failed(id, code).and_then(|_| store.audit("outbox_refused", &format!("{route} {code}"))),
            Outcome::Later(why) => store.outbox_retry_later(id, now_ms() + backoff(attempts).as_millis() as i64, why),
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "outbox state not recorded");
        }
        Some(outcome)
    }

    /// The offline receipt number of an entry.
    pub fn local_no(&self, id: i64) -> Option<String> {
        self.store.lock().ok()?.outbox_entry(id).ok().flatten().map(|e| e.1)
    }

    /// (pending, delivered, failed)
    pub fn counts(&self) -> Result<(i64, i64, i64), OutboxError> {
        Ok(self.store.lock().expect("store lock").outbox_counts()?)
    }

    /// The case receipt once an entry is delivered.
    pub fn receipt(&self, id: i64) -> Result<Option<CaseReceipt>, OutboxError> {
        let entry = self.store.lock().expect("store lock").outbox_entry(id)?;
        Ok(entry.and_then(|(state, _, json)| (state == "delivered").then_some(json).flatten()).and_then(|j| serde_json::from_str(&j).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        for _ in 0..50 {
            let first = backoff(0).as_millis();
            assert!((1_500..=2_500).contains(&first), "{first}");
            let later = backoff(3).as_millis();
            assert!((12_000..=20_000).contains(&later), "{later}");
            assert!(backoff(40).as_millis() <= 375_000);
        }
    }
}
