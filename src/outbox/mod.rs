//! Store-and-forward for everything a resident submits: the submission is written (sealed, and
//! fsynced) before the first network byte, carries one Idempotency-Key for life, and is delivered
//! with exponential backoff and jitter until the cloud answers. A 4xx that will never succeed is
//! final; 5xx, timeouts and dropped connections retry. Delivered entries keep only the receipt
//! (case number, query code): the residents' data is deleted.

pub mod seal;

use crate::cloud::api::{CaseReceipt, QueueTicketRequest, ReportRequest};
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

#[derive(Debug, Clone)]
pub enum Outcome {
    /// The cloud's answer (a case receipt, a queue ticket, …).
    Delivered(serde_json::Value),
    /// Refused for good: the cloud's problem code, and the error when the cloud gave one.
    Refused {
        code: String,
        error: Option<CloudError>,
    },
    /// Will be tried again.
    Later(CloudError),
}

pub const ROUTE_REPORTS: &str = "reports";
/// Queue tickets go through the outbox for durability and exactly-once, but only while the
/// resident waits: a ticket delivered after they left would call a number nobody holds.
pub const ROUTE_QUEUE_TICKETS: &str = "queue/tickets";
const ONLINE_ONLY: [&str; 1] = [ROUTE_QUEUE_TICKETS];

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
    pub fn open(
        store: Arc<Mutex<Store>>,
        key_path: &std::path::Path,
    ) -> Result<Outbox, OutboxError> {
        Ok(Outbox {
            store,
            sealer: Sealer::load_or_create(key_path)?,
        })
    }

    /// Writes a report durably; nothing has touched the network yet when this returns.
    pub fn enqueue_report(
        &self,
        req: &ReportRequest,
        session: Option<&ResidentToken>,
    ) -> Result<Queued, OutboxError> {
        self.enqueue(ROUTE_REPORTS, req, session, None)
            .map(|q| q.expect("no limit"))
    }

    /// Writes a queue-ticket request durably (delivered only while the resident waits).
    pub fn enqueue_ticket(
        &self,
        req: &QueueTicketRequest,
        session: Option<&ResidentToken>,
    ) -> Result<Queued, OutboxError> {
        self.enqueue(ROUTE_QUEUE_TICKETS, req, session, None)
            .map(|q| q.expect("no limit"))
    }

    /// Online-only entries still pending when their resident has gone are abandoned (recorded,
    /// never sent later). Called when a session ends and at start-up.
    pub fn abandon_online_only(&self) -> Result<usize, OutboxError> {
        let store = self.store.lock().expect("store lock");
        let mut n = 0;
        for route in ONLINE_ONLY {
            n += store.outbox_abandon(route)?;
        }
        if n > 0 {
            store.audit("outbox_abandoned", &n.to_string())?;
        }
        Ok(n)
    }

    /// As `enqueue_report`, unless the outbox already holds `limit` entries (then None).
    pub fn enqueue_report_up_to(
        &self,
        req: &ReportRequest,
        limit: i64,
    ) -> Result<Option<Queued>, OutboxError> {
        self.enqueue(ROUTE_REPORTS, req, None, Some(limit))
    }

    fn enqueue(
        &self,
        route: &str,
        body: &impl Serialize,
        session: Option<&ResidentToken>,
        limit: Option<i64>,
    ) -> Result<Option<Queued>, OutboxError> {
        let sub = Submission {
            session: session.map(|s| s.as_str().to_string()),
            body: serde_json::to_value(body).expect("json"),
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&sub).expect("json"));
        let sealed = self.sealer.seal(&plain);
        let key = uuid::Uuid::new_v4().to_string();
        let store = self.store.lock().expect("store lock");
        Ok(store
            .outbox_insert(&key, route, &sealed, limit)?
            .map(|(id, local_no)| Queued { id, key, local_no }))
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
            if ONLINE_ONLY.contains(&route.as_str()) {
                continue;
            }
            let outcome = self.deliver(cloud, &key, &route, &sealed).await;
            self.record(id, &route, attempts, &outcome)?;
            match outcome {
                Outcome::Delivered(_) => pass.delivered += 1,
                Outcome::Refused { .. } => pass.refused += 1,
                Outcome::Later(_) => pass.retrying += 1,
            }
        }
        Ok(pass)
    }

    /// Records how a delivery attempt ended.
    fn record(
        &self,
        id: i64,
        route: &str,
        attempts: i64,
        outcome: &Outcome,
    ) -> Result<(), OutboxError> {
        let store = self.store.lock().expect("store lock");
        match outcome {
            Outcome::Delivered(v) => {
                store.outbox_delivered(id, &v.to_string())?;
                let what = v
                    .get("case_no")
                    .or_else(|| v.get("ticket_no"))
                    .and_then(|x| x.as_str())
                    .unwrap_or("");
                store.audit("outbox_delivered", &format!("{route} {what}"))?;
            }
            Outcome::Refused { code, .. } => {
                store.outbox_failed(id, code)?;
                // The resident may have left: the audit log is where staff see it.
                store.audit("outbox_refused", &format!("{route} {code}"))?;
            }
            Outcome::Later(e) => store.outbox_retry_later(
                id,
                now_ms() + backoff(attempts).as_millis() as i64,
                e.kind(),
            )?,
        }
        Ok(())
    }

    async fn deliver(&self, cloud: &CloudClient, key: &str, route: &str, sealed: &[u8]) -> Outcome {
        let refused = |code: &str| Outcome::Refused {
            code: code.into(),
            error: None,
        };
        let plain = match self.sealer.open(sealed) {
            Ok(p) => p,
            Err(e) => return refused(&format!("unsealable: {e}")),
        };
        let Ok(sub) = serde_json::from_slice::<Submission>(&plain) else {
            return refused("undecodable");
        };
        let session = sub.session.map(ResidentToken::new);
        let result = match route {
            ROUTE_REPORTS => {
                let Ok(req) = serde_json::from_value::<ReportRequest>(sub.body) else {
                    return refused("undecodable");
                };
                let mut result = cloud.submit_report(&req, session.as_ref(), key).await;
                if matches!(&result, Err(CloudError::Problem(p)) if p.status == 401 && p.code.starts_with("session"))
                    && session.is_some()
                {
                    // The resident's session ended before the network came back: the case is still
                    // theirs by its query code.
                    result = cloud.submit_report(&req, None, key).await;
                }
                result.map(|r| serde_json::to_value(r).expect("json"))
            }
            ROUTE_QUEUE_TICKETS => {
                let Ok(req) = serde_json::from_value::<QueueTicketRequest>(sub.body) else {
                    return refused("undecodable");
                };
                cloud
                    .create_queue_ticket(&req, session.as_ref(), key)
                    .await
                    .map(|t| serde_json::to_value(t).expect("json"))
            }
            other => return refused(&format!("unknown route {other}")),
        };
        match result {
            Ok(v) => Outcome::Delivered(v),
            Err(e) if e.is_retryable() => Outcome::Later(e),
            Err(e) => Outcome::Refused {
                code: e.code().unwrap_or("refused").into(),
                error: Some(e),
            },
        }
    }

    /// Tries to deliver one entry now (the resident is waiting for the answer). An entry that is
    /// not pending any more answers with what it ended as.
    pub async fn deliver_entry(&self, cloud: &CloudClient, id: i64) -> Option<Outcome> {
        let due = self
            .store
            .lock()
            .expect("store lock")
            .outbox_due(i64::MAX)
            .ok()?;
        let Some((_, key, route, sealed, attempts)) = due.into_iter().find(|d| d.0 == id) else {
            let (state, _, json) = self.store.lock().ok()?.outbox_entry(id).ok()??;
            return match state.as_str() {
                "delivered" => json
                    .and_then(|j| serde_json::from_str(&j).ok())
                    .map(Outcome::Delivered),
                _ => Some(Outcome::Refused {
                    code: state,
                    error: None,
                }),
            };
        };
        let outcome = self.deliver(cloud, &key, &route, &sealed).await;
        if let Err(e) = self.record(id, &route, attempts, &outcome) {
            tracing::error!(error = %e, "outbox state not recorded");
        }
        Some(outcome)
    }

    /// The offline receipt number of an entry.
    pub fn local_no(&self, id: i64) -> Option<String> {
        self.store
            .lock()
            .ok()?
            .outbox_entry(id)
            .ok()
            .flatten()
            .map(|e| e.1)
    }

    /// (pending, delivered, failed)
    pub fn counts(&self) -> Result<(i64, i64, i64), OutboxError> {
        Ok(self.store.lock().expect("store lock").outbox_counts()?)
    }

    /// The case receipt once an entry is delivered.
    pub fn receipt(&self, id: i64) -> Result<Option<CaseReceipt>, OutboxError> {
        let entry = self.store.lock().expect("store lock").outbox_entry(id)?;
        Ok(entry
            .and_then(|(state, _, json)| (state == "delivered").then_some(json).flatten())
            .and_then(|j| serde_json::from_str(&j).ok()))
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
