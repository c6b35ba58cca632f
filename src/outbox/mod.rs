//! Store-and-forward for everything a resident submits: the submission is written (sealed, and
//! fsynced) before the first network byte, carries one Idempotency-Key for life, and is delivered
//! with exponential backoff and jitter until the cloud answers. A 4xx that will never succeed is
//! final; 5xx, timeouts and dropped connections retry. Delivered entries keep only the receipt
//! (case number, query code): the residents' data is deleted.

mod seal;

use crate::cloud::{CloudClient, CloudError, ResidentToken, Submission};
use crate::storage::{OutboxRow, StorageError, Store};
use rand::Rng;
use seal::Sealer;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What is sealed in an outbox row.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The resident's session, when the submission was made with a card.
    session: Option<String>,
    /// Deliver without the session once it has ended (see [`Submission`]).
    #[serde(default)]
    without_session_when_expired: bool,
    body: serde_json::Value,
}

/// A submission written to the outbox: its row, and the type it was (so its answer is typed).
pub struct Submitted<S> {
    pub id: i64,
    _kind: PhantomData<fn() -> S>,
}

impl<S> Submitted<S> {
    /// The entry with this row id, as a submission of type `S` (e.g. an id kept in a ledger).
    pub fn of(id: i64) -> Self {
        Submitted {
            id,
            _kind: PhantomData,
        }
    }
}

impl<S> Clone for Submitted<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for Submitted<S> {}
impl<S> std::fmt::Debug for Submitted<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Submitted({})", self.id)
    }
}

/// How delivering one submission while the resident waits ended.
#[derive(Debug)]
pub enum Delivery<A> {
    /// The cloud's answer (now, or from an earlier delivery of the same entry).
    Answered(A),
    /// Not delivered yet; the worker tries again (unless the submission is online-only).
    Later(CloudError),
    /// Refused for good: the cloud's problem code, and the error when the cloud gave one.
    Refused {
        code: String,
        error: Option<CloudError>,
    },
    /// The entry is not in the outbox (storage trouble).
    Lost,
}

/// How one delivery attempt of a stored entry ended (the answer as stored JSON).
#[derive(Debug)]
enum Attempt {
    Answered(serde_json::Value),
    Later(CloudError),
    Refused {
        code: String,
        error: Option<CloudError>,
    },
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
    pub fn open(
        store: Arc<Mutex<Store>>,
        key_path: &std::path::Path,
    ) -> Result<Outbox, OutboxError> {
        Ok(Outbox {
            store,
            sealer: Sealer::load_or_create(key_path)?,
        })
    }

    /// Creates the sealing key at `key_path` (mode 0600) unless it is there already:
    /// provisioning makes it, so it exists before any resident's data does.
    pub fn prepare_key(key_path: &std::path::Path) -> Result<(), OutboxError> {
        Sealer::load_or_create(key_path)?;
        Ok(())
    }

    /// Writes a submission durably (sealed, fsynced) with a fresh Idempotency-Key; nothing has
    /// touched the network yet when this returns.
    pub fn submit<S: Submission>(
        &self,
        req: &S,
        session: Option<&ResidentToken>,
    ) -> Result<Submitted<S>, OutboxError> {
        let envelope = Envelope {
            session: session.map(|s| s.as_str().to_string()),
            without_session_when_expired: S::WITHOUT_SESSION_WHEN_EXPIRED,
            body: serde_json::to_value(req).expect("requests serialise"),
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&envelope).expect("json"));
        let sealed = self.sealer.seal(&plain);
        let key = uuid::Uuid::new_v4().to_string();
        let store = self.store.lock().expect("store lock");
        let id = store.outbox_insert(&key, &req.path(), S::ONLINE_ONLY, &sealed)?;
        Ok(Submitted {
            id,
            _kind: PhantomData,
        })
    }

    /// Online-only entries still pending when their resident has gone are abandoned (recorded,
    /// never sent later). Called when a session ends and at start-up.
    pub fn abandon_online_only(&self) -> Result<usize, OutboxError> {
        let store = self.store.lock().expect("store lock");
        let n = store.outbox_abandon_online_only()?;
        if n > 0 {
            store.audit("outbox_abandoned", &n.to_string())?;
        }
        Ok(n)
    }

    /// One pass over the entries that are due (online-only ones are for the resident's own
    /// delivery, never the worker's).
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
        for row in due {
            match self.attempt(cloud, &row).await? {
                Attempt::Answered(_) => pass.delivered += 1,
                Attempt::Refused { .. } => pass.refused += 1,
                Attempt::Later(_) => pass.retrying += 1,
            }
        }
        Ok(pass)
    }

    /// Tries to deliver one entry now (the resident is waiting for the answer). An entry that was
    /// delivered already answers with what the cloud said then.
    pub async fn deliver_now<S: Submission>(
        &self,
        cloud: &CloudClient,
        entry: Submitted<S>,
    ) -> Delivery<S::Answer> {
        let pending = self
            .store
            .lock()
            .expect("store lock")
            .outbox_pending(entry.id);
        let attempt = match pending {
            Ok(Some(row)) => match self.attempt(cloud, &row).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "outbox state not recorded");
                    return Delivery::Lost;
                }
            },
            Ok(None) => match self.ended(entry.id) {
                Some(a) => a,
                None => return Delivery::Lost,
            },
            Err(e) => {
                tracing::error!(error = %e, "outbox entry not readable");
                return Delivery::Lost;
            }
        };
        match attempt {
            Attempt::Answered(v) => match serde_json::from_value(v) {
                Ok(a) => Delivery::Answered(a),
                // Recorded as delivered, so asking again gives the same answer: say so honestly.
                Err(e) => Delivery::Later(CloudError::Malformed(e.to_string())),
            },
            Attempt::Later(e) => Delivery::Later(e),
            Attempt::Refused { code, error } => Delivery::Refused { code, error },
        }
    }

    /// What an entry that is no longer pending ended as.
    fn ended(&self, id: i64) -> Option<Attempt> {
        let (state, _, sealed) = self.store.lock().ok()?.outbox_entry(id).ok()??;
        match state.as_str() {
            "delivered" => self.open_answer(sealed).map(Attempt::Answered),
            _ => Some(Attempt::Refused {
                code: state,
                error: None,
            }),
        }
    }

    /// The one delivery: opens the entry, posts it to its path with its key, records the outcome.
    async fn attempt(&self, cloud: &CloudClient, row: &OutboxRow) -> Result<Attempt, OutboxError> {
        let attempt = self.send(cloud, row).await;
        self.record(row, &attempt)?;
        Ok(attempt)
    }

    async fn send(&self, cloud: &CloudClient, row: &OutboxRow) -> Attempt {
        let refused = |code: &str| Attempt::Refused {
            code: code.into(),
            error: None,
        };
        let plain = match self.sealer.open(&row.sealed) {
            Ok(p) => p,
            Err(e) => return refused(&format!("unsealable: {e}")),
        };
        let Ok(envelope) = serde_json::from_slice::<Envelope>(&plain) else {
            return refused("undecodable");
        };
        let session = envelope.session.map(ResidentToken::new);
        let mut result = cloud
            .submit_stored(&row.path, &envelope.body, session.as_ref(), &row.key)
            .await;
        let session_ended = matches!(&result, Err(CloudError::Problem(p)) if p.status == 401 && p.code.starts_with("session"));
        if session_ended && session.is_some() && envelope.without_session_when_expired {
            // The resident's session ended before the network came back: the case is still
            // theirs by its query code.
            result = cloud
                .submit_stored(&row.path, &envelope.body, None, &row.key)
                .await;
        }
        match result {
            Ok(v) => Attempt::Answered(v),
            Err(e) if e.is_retryable() => Attempt::Later(e),
            Err(e) => Attempt::Refused {
                code: e.code().unwrap_or("refused").into(),
                error: Some(e),
            },
        }
    }

    /// Records how a delivery attempt ended.
    fn record(&self, row: &OutboxRow, attempt: &Attempt) -> Result<(), OutboxError> {
        let store = self.store.lock().expect("store lock");
        let path = &row.path;
        match attempt {
            Attempt::Answered(v) => {
                // Answers may name the resident (a certificate does): sealed like the request.
                // Case, ticket and certificate numbers are not personal data; staff find
                // deliveries by them.
                let plain = zeroize::Zeroizing::new(serde_json::to_vec(v).expect("json"));
                let receipt = answer_numbers(v);
                store.outbox_delivered(row.id, &receipt.to_string(), &self.sealer.seal(&plain))?;
                let what = RECEIPT_FIELDS
                    .iter()
                    .find_map(|f| v.get(*f).and_then(|x| x.as_str()))
                    .unwrap_or("");
                store.audit("outbox_delivered", &format!("{path} {what}"))?;
            }
            Attempt::Refused { code, .. } => {
                store.outbox_failed(row.id, code)?;
                // The resident may have left: the audit log is where staff see it.
                store.audit("outbox_refused", &format!("{path} {code}"))?;
            }
            Attempt::Later(e) => store.outbox_retry_later(
                row.id,
                now_ms() + backoff(row.attempts).as_millis() as i64,
                e.kind(),
            )?,
        }
        Ok(())
    }

    /// The Idempotency-Key of an entry: the request id the cloud's answer must name.
    pub fn request_id<S>(&self, entry: Submitted<S>) -> Option<String> {
        self.store.lock().ok()?.outbox_key(entry.id).ok().flatten()
    }

    /// The offline receipt number of an entry.
    pub fn local_no<S>(&self, entry: Submitted<S>) -> Option<String> {
        self.store
            .lock()
            .ok()?
            .outbox_entry(entry.id)
            .ok()
            .flatten()
            .map(|e| e.1)
    }

    /// The offline receipt number (LX…) a case delivered from this kiosk was given, so the
    /// resident can tie it to the case number the cloud gave later.
    pub fn local_no_of_case(&self, case_no: &str) -> Option<String> {
        self.store
            .lock()
            .ok()?
            .outbox_local_no_of_case(case_no)
            .ok()
            .flatten()
    }

    /// The entry was refused for good (or abandoned): it will never be answered.
    pub fn failed<S>(&self, entry: Submitted<S>) -> bool {
        self.store
            .lock()
            .ok()
            .and_then(|s| s.outbox_entry(entry.id).ok().flatten())
            .is_some_and(|(state, _, _)| state == "failed")
    }

    /// (pending, delivered, failed)
    pub fn counts(&self) -> Result<(i64, i64, i64), OutboxError> {
        Ok(self.store.lock().expect("store lock").outbox_counts()?)
    }

    /// The cloud's answer once an entry is delivered.
    pub fn answer<S: Submission>(
        &self,
        entry: Submitted<S>,
    ) -> Result<Option<S::Answer>, OutboxError> {
        let row = self
            .store
            .lock()
            .expect("store lock")
            .outbox_entry(entry.id)?;
        Ok(row
            .and_then(|(state, _, sealed)| (state == "delivered").then_some(sealed))
            .and_then(|sealed| self.open_answer(sealed))
            .and_then(|v| serde_json::from_value(v).ok()))
    }

    fn open_answer(&self, sealed: Option<Vec<u8>>) -> Option<serde_json::Value> {
        let plain = self.sealer.open(&sealed?).ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

/// The numbers of an answer a resident or staff look deliveries up by; nothing else of an
/// answer is kept in the clear.
const RECEIPT_FIELDS: [&str; 4] = ["case_no", "ticket_no", "certificate_no", "payment_id"];

fn answer_numbers(v: &serde_json::Value) -> serde_json::Value {
    let kept = RECEIPT_FIELDS
        .iter()
        .filter_map(|f| Some((f.to_string(), v.get(*f)?.clone())))
        .collect();
    serde_json::Value::Object(kept)
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
