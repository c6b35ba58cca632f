//! The kiosk's one SQLite file (WAL): device enrolment, config and catalogue caches, the audit
//! log (who did what, never personal data), and the outbox and print spool that later work fills.
//! Schema migrations are numbered and recorded in `PRAGMA user_version`.

mod migrations;

use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

pub use migrations::SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot create the data folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database {path} has schema version {found}, newer than this program knows ({known}); refusing to touch it")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

/// An outbox entry as it ended or stands: (state, offline receipt number, the sealed answer).
pub type OutboxEntry = (String, String, Option<Vec<u8>>);

/// A pending outbox entry as stored: the residents' data only sealed.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    /// The Idempotency-Key it carries for life.
    pub key: String,
    /// The contract path it is posted to.
    pub path: String,
    pub sealed: Vec<u8>,
    pub attempts: i64,
}

impl OutboxRow {
    fn from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
        Ok(OutboxRow {
            id: r.get(0)?,
            key: r.get(1)?,
            path: r.get(2)?,
            sealed: r.get(3)?,
            attempts: r.get(4)?,
        })
    }
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// One line of the audit log (codes and numbers only, never personal data).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub action: String,
    pub detail: String,
}

/// What the kiosk learned when it enrolled.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub device_id: String,
    pub device_token: String,
    pub site: crate::cloud::api::Site,
}

impl Store {
    /// Opens (creating if needed) `DIR/bianmin.db` and brings its schema up to date.
    pub fn open_in(dir: &Path) -> Result<Store, StorageError> {
        std::fs::create_dir_all(dir).map_err(|source| StorageError::Folder {
            path: dir.into(),
            source,
        })?;
        Self::open(&dir.join("bianmin.db"))
    }

    pub fn open(path: &Path) -> Result<Store, StorageError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Residents' data must not linger in free pages after deletion.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::migrate(&mut conn, path)?;
        Ok(Store {
            conn,
            path: path.into(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64, StorageError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    // ---- device ----

    pub fn enrollment(&self) -> Result<Option<Enrollment>, StorageError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT device_id, device_token, site_json FROM device WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.and_then(|(device_id, device_token, site)| {
            serde_json::from_str(&site).ok().map(|site| Enrollment {
                device_id,
                device_token,
                site,
            })
        }))
    }

    pub fn save_enrollment(&self, e: &Enrollment) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO device(id, device_id, device_token, site_json, enrolled_at) VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET device_id = ?1, device_token = ?2, site_json = ?3, enrolled_at = ?4",
            params![e.device_id, e.device_token, serde_json::to_string(&e.site).expect("json"), now()],
        )?;
        Ok(())
    }

    // ---- caches ----

    pub fn cache_put(&self, key: &str, json: &str) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO cache(key, json, stored_at) VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET json = ?2, stored_at = ?3",
            params![key, json, now()],
        )?;
        Ok(())
    }

    pub fn cache_get(&self, key: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn
            .query_row("SELECT json FROM cache WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    // ---- audit ----

    /// Records what happened. `detail` must never carry a name or ID number: callers pass codes,
    /// ticket numbers, case numbers and outcomes only.
    pub fn audit(&self, action: &str, detail: &str) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO audit_log(at, action, detail) VALUES (?1, ?2, ?3)",
            params![now(), action, detail],
        )?;
        Ok(())
    }

    pub fn audit_entries(&self) -> Result<Vec<(String, String)>, StorageError> {
        let mut stmt = self
            .conn
            .prepare("SELECT action, detail FROM audit_log ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The last `n` audit entries, newest first (the technician page).
    pub fn audit_recent(&self, n: usize) -> Result<Vec<AuditEntry>, StorageError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1")?;
        let rows = stmt
            .query_map([n as i64], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    action: r.get(1)?,
                    detail: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Pending outbox entries and the age in seconds of the oldest (health reports).
    pub fn outbox_pending_age(&self) -> Result<(u32, Option<u64>), StorageError> {
        let (count, oldest): (i64, Option<String>) = self.conn.query_row(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let age = oldest
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| (crate::time::now() - t).num_seconds().max(0) as u64);
        Ok((count.max(0) as u32, age))
    }

    /// Print jobs that failed or were left in doubt in the last `hours` hours.
    pub fn spool_failures_since_hours(&self, hours: i64) -> Result<u32, StorageError> {
        let since = (crate::time::now() - chrono::Duration::hours(hours))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM print_spool WHERE state IN ('failed', 'in_doubt') AND COALESCE(updated_at, created_at) >= ?1",
            [since],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u32)
    }

    // ---- cloud commands ----

    /// The acknowledgement of a command already carried out (`None`: never seen).
    pub fn command_ack(&self, id: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT ack_json FROM device_commands WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A command carried out, with the acknowledgement to deliver.
    pub fn command_done(
        &self,
        id: &str,
        command: &str,
        ack_json: &str,
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO device_commands (id, command, received_at, ack_json) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO NOTHING",
            params![id, command, now(), ack_json],
        )?;
        Ok(())
    }

    /// Acknowledgements no heartbeat has delivered yet, oldest first.
    pub fn commands_unacked(&self) -> Result<Vec<String>, StorageError> {
        let mut stmt = self
            .conn
            .prepare("SELECT ack_json FROM device_commands WHERE acked = 0 ORDER BY received_at, id LIMIT 100")?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The cloud offers a command again that was done: its acknowledgement goes out again.
    pub fn command_resend(&self, id: &str) -> Result<(), StorageError> {
        self.conn
            .execute("UPDATE device_commands SET acked = 0 WHERE id = ?1", [id])?;
        Ok(())
    }

    /// A heartbeat delivered these acknowledgements.
    pub fn commands_acked(&self, ids: &[String]) -> Result<(), StorageError> {
        for id in ids {
            self.conn
                .execute("UPDATE device_commands SET acked = 1 WHERE id = ?1", [id])?;
        }
        Ok(())
    }

    // ---- print spool ----

    /// Writes a job before any byte goes to the printer; returns its id. `owner` is the visit
    /// and request the paper is for (none for papers anyone may take, e.g. a test page).
    pub fn spool_add(
        &self,
        template: &str,
        document_json: &str,
        owner: Option<(&str, &str)>,
    ) -> Result<i64, StorageError> {
        self.conn.execute(
            "INSERT INTO print_spool(created_at, template, document_json, state, visit, request_id) VALUES (?1, ?2, ?3, 'queued', ?4, ?5)",
            params![now(), template, document_json, owner.map(|o| o.0), owner.map(|o| o.1)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The job (id, state) of a request's paper of this template, if one was ever spooled: a
    /// paper is made once per request; later copies reuse its job (补打).
    pub fn spool_job_of_request(
        &self,
        template: &str,
        request: &str,
    ) -> Result<Option<(i64, String)>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, state FROM print_spool WHERE template = ?1 AND request_id = ?2
                 ORDER BY state = 'done' DESC, id LIMIT 1",
                params![template, request],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// A paper for a resident who is not at the kiosk: kept, not printed, until they ask for it.
    pub fn spool_hold(
        &self,
        template: &str,
        document_json: &str,
        owner: (&str, &str),
    ) -> Result<i64, StorageError> {
        self.conn.execute(
            "INSERT INTO print_spool(created_at, template, document_json, state, visit, request_id) VALUES (?1, ?2, ?3, 'held', ?4, ?5)",
            params![now(), template, document_json, owner.0, owner.1],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// A job is sent again for another visit (the same paper, reprinted on request): its
    /// document and owner are set anew.
    pub fn spool_reclaim(
        &self,
        id: i64,
        document_json: &str,
        visit: &str,
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE print_spool SET document_json = ?1, visit = ?2, state = 'queued', reprint = 1, updated_at = ?3 WHERE id = ?4",
            params![document_json, visit, now(), id],
        )?;
        Ok(())
    }

    // ---- payment orders ----

    /// An order shown on this kiosk (idempotent: the same order again changes nothing).
    pub fn payment_opened(&self, payment_id: &str, visit: &str) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO payment_orders(payment_id, visit, state, created_at, updated_at) VALUES (?1, ?2, 'open', ?3, ?3)",
            params![payment_id, visit, now()],
        )?;
        Ok(())
    }

    /// Records an order's state (never out of a final one).
    pub fn payment_state(&self, payment_id: &str, state: &str) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE payment_orders SET state = ?1, updated_at = ?2
             WHERE payment_id = ?3 AND state IN ('open', 'settling')",
            params![state, now(), payment_id],
        )?;
        Ok(())
    }

    /// Nobody stands before the order any more: its close is outbox entry `close_entry` (0: not
    /// written yet), and upkeep settles it.
    pub fn payment_settling(&self, payment_id: &str, close_entry: i64) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE payment_orders SET state = 'settling', close_entry = NULLIF(?1, 0), updated_at = ?2
             WHERE payment_id = ?3 AND state IN ('open', 'settling')",
            params![close_entry, now(), payment_id],
        )?;
        Ok(())
    }

    /// The ledger's state of an order, if this kiosk opened it.
    pub fn payment_order_state(&self, payment_id: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT state FROM payment_orders WHERE payment_id = ?1",
                [payment_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// At start-up nobody stands before any order: every open one is to be settled.
    pub fn payments_orphaned(&self) -> Result<usize, StorageError> {
        Ok(self.conn.execute(
            "UPDATE payment_orders SET state = 'settling', updated_at = ?1 WHERE state = 'open'",
            [now()],
        )?)
    }

    /// Orders to settle: (payment id, visit, the close's outbox entry).
    #[allow(clippy::type_complexity)]
    pub fn payments_settling(&self) -> Result<Vec<(String, String, Option<i64>)>, StorageError> {
        let mut stmt = self.conn.prepare(
            "SELECT payment_id, visit, close_entry FROM payment_orders WHERE state = 'settling' ORDER BY created_at",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// (payment id, state) of every order, oldest first.
    pub fn payment_orders(&self) -> Result<Vec<(String, String)>, StorageError> {
        let mut stmt = self.conn.prepare(
            "SELECT payment_id, state FROM payment_orders ORDER BY created_at, payment_id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// (template, state) of a visit's jobs, oldest first.
    pub fn spool_of_visit(&self, visit: &str) -> Result<Vec<(String, String)>, StorageError> {
        let mut stmt = self
            .conn
            .prepare("SELECT template, state FROM print_spool WHERE visit = ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([visit], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// A job that came out (or was withheld) no longer needs its document: a resident's paper
    /// is not kept on the kiosk once it is in their hand.
    pub fn spool_forget_document(&self, id: i64) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE print_spool SET document_json = '' WHERE id = ?1 AND visit IS NOT NULL",
            [id],
        )?;
        Ok(())
    }

    /// Jobs in doubt that belong to a visit other than `visit` (or to any visit, when `None`)
    /// are withheld and their documents deleted: nobody else may get them. Returns their ids.
    pub fn spool_withhold_others(&self, visit: Option<&str>) -> Result<Vec<i64>, StorageError> {
        let mut stmt = self.conn.prepare(
            "SELECT id FROM print_spool WHERE state IN ('in_doubt', 'queued', 'sending') AND visit IS NOT NULL AND (?1 IS NULL OR visit <> ?1)",
        )?;
        let ids: Vec<i64> = stmt
            .query_map([visit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &ids {
            self.conn.execute(
                "UPDATE print_spool SET state = 'withheld', document_json = '', updated_at = ?1 WHERE id = ?2",
                params![now(), id],
            )?;
        }
        Ok(ids)
    }

    pub fn spool_set_state(&self, id: i64, state: &str) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE print_spool SET state = ?1, updated_at = ?2 WHERE id = ?3",
            params![state, now(), id],
        )?;
        Ok(())
    }

    /// Jobs a dead process left half-sent are in doubt: nobody knows what reached the paper.
    pub fn spool_sending_to_in_doubt(&self) -> Result<usize, StorageError> {
        Ok(self.conn.execute(
            "UPDATE print_spool SET state = 'in_doubt', updated_at = ?1 WHERE state = 'sending'",
            [now()],
        )?)
    }

    /// In-doubt jobs, oldest first: (id, document JSON, already reprinted).
    pub fn spool_in_doubt(&self) -> Result<Vec<(i64, String, bool)>, StorageError> {
        let mut stmt = self.conn.prepare("SELECT id, document_json, reprint FROM print_spool WHERE state = 'in_doubt' AND document_json <> '' ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The newest job that did not come out (failed, or in doubt) and belongs to no visit, with
    /// its document: (id, template, document JSON). A resident's job is never among them (its
    /// document is deleted once it fails or its visit ends).
    pub fn spool_last_failed_unowned(&self) -> Result<Option<(i64, String, String)>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, template, document_json FROM print_spool WHERE state IN ('failed', 'in_doubt') AND visit IS NULL AND document_json <> '' ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    pub fn spool_mark_reprinted(&self, id: i64) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE print_spool SET reprint = 1, updated_at = ?1 WHERE id = ?2",
            params![now(), id],
        )?;
        Ok(())
    }

    /// Scenarios play a failing disk: every write is refused (SQLite's query_only) until
    /// switched back.
    #[cfg(feature = "sim")]
    pub fn refuse_writes(&self, on: bool) -> Result<(), StorageError> {
        self.conn.pragma_update(None, "query_only", on)?;
        Ok(())
    }

    // ---- outbox ----

    /// Writes a submission durably (synchronous=FULL for this commit) before any network byte;
    /// returns its row id. Its offline receipt number (LX + date + row) is assigned here.
    pub fn outbox_insert(
        &self,
        key: &str,
        path: &str,
        online_only: bool,
        sealed: &[u8],
    ) -> Result<i64, StorageError> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        let result = (|| {
            let tx = self.conn.unchecked_transaction()?;
            let n: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM outbox", [], |r| {
                r.get(0)
            })?;
            let local_no = format!("LX{}{:06}", crate::time::today().format("%Y%m%d"), n);
            tx.execute(
                "INSERT INTO outbox(created_at, idempotency_key, route, online_only, body_sealed, state, attempts, next_attempt_at, local_no)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, 0, ?6)",
                params![now(), key, path, online_only, sealed, local_no],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })();
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        result
    }

    /// Pending entries due by `now_ms`, except online-only ones (those are delivered only while
    /// their resident waits).
    pub fn outbox_due(&self, now_ms: i64) -> Result<Vec<OutboxRow>, StorageError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, idempotency_key, route, body_sealed, attempts FROM outbox
             WHERE state = 'pending' AND online_only = 0 AND CAST(next_attempt_at AS INTEGER) <= ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([now_ms], OutboxRow::from_sql)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// One entry, if it is still pending.
    pub fn outbox_pending(&self, id: i64) -> Result<Option<OutboxRow>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, idempotency_key, route, body_sealed, attempts FROM outbox WHERE id = ?1 AND state = 'pending'",
                [id],
                OutboxRow::from_sql,
            )
            .optional()?)
    }

    /// Delivered: the sealed body (residents' data) is deleted, the receipt kept.
    /// `receipt_json` holds the answer's numbers only (in the clear, for staff and lookups);
    /// the whole answer is kept sealed.
    pub fn outbox_delivered(
        &self,
        id: i64,
        receipt_json: &str,
        answer_sealed: &[u8],
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE outbox SET state = 'delivered', body_sealed = x'', result_json = ?1, result_sealed = ?2, last_error = NULL WHERE id = ?3",
            params![receipt_json, answer_sealed, id],
        )?;
        Ok(())
    }

    /// Refused for good (a 4xx that will never succeed): the body is deleted, the reason kept.
    pub fn outbox_failed(&self, id: i64, code: &str) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE outbox SET state = 'failed', body_sealed = x'', last_error = ?1 WHERE id = ?2",
            params![code, id],
        )?;
        Ok(())
    }

    /// Pending online-only entries become failed ("abandoned") and lose their body.
    pub fn outbox_abandon_online_only(&self) -> Result<usize, StorageError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'failed', body_sealed = x'', last_error = 'abandoned' WHERE state = 'pending' AND online_only = 1",
            [],
        )?)
    }

    pub fn outbox_retry_later(
        &self,
        id: i64,
        next_ms: i64,
        error: &str,
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?1, last_error = ?2 WHERE id = ?3",
            params![next_ms, error, id],
        )?;
        Ok(())
    }

    /// The offline receipt number of the delivered entry that became `case_no`.
    pub fn outbox_local_no_of_case(&self, case_no: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT local_no FROM outbox WHERE state = 'delivered' AND json_extract(result_json, '$.case_no') = ?1",
                [case_no],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// (pending, delivered, failed)
    pub fn outbox_counts(&self) -> Result<(i64, i64, i64), StorageError> {
        let c = |state: &str| -> Result<i64, StorageError> {
            Ok(self.conn.query_row(
                "SELECT COUNT(*) FROM outbox WHERE state = ?1",
                [state],
                |r| r.get(0),
            )?)
        };
        Ok((c("pending")?, c("delivered")?, c("failed")?))
    }

    /// The Idempotency-Key an entry is delivered with (the cloud echoes it as `request_id`).
    pub fn outbox_key(&self, id: i64) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT idempotency_key FROM outbox WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// (state, local number, the sealed answer) of an entry.
    pub fn outbox_entry(&self, id: i64) -> Result<Option<OutboxEntry>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT state, local_no, result_sealed FROM outbox WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// Folds the WAL into the main file (so a raw-bytes check sees what is really stored).
    pub fn checkpoint(&self) -> Result<(), StorageError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// (id, template, state, reprint) of every job, for technicians and tests.
    pub fn spool_jobs(&self) -> Result<Vec<(i64, String, String, bool)>, StorageError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, template, state, reprint FROM print_spool ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? != 0))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// (template, request, state) of every job, oldest first.
    pub fn spool_jobs_with_requests(&self) -> Result<Vec<(String, String, String)>, StorageError> {
        let mut stmt = self.conn.prepare(
            "SELECT template, COALESCE(request_id, ''), state FROM print_spool ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn spool_states(&self) -> Result<Vec<(String, String)>, StorageError> {
        let mut stmt = self
            .conn
            .prepare("SELECT template, state FROM print_spool ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

fn now() -> String {
    crate::time::now_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_file_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(dir.path()).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        s.audit("queue_ticket", "A006").unwrap();
        drop(s);
        let s = Store::open_in(dir.path()).unwrap();
        assert_eq!(
            s.audit_entries().unwrap(),
            vec![("queue_ticket".to_string(), "A006".to_string())]
        );
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bianmin.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 5)
            .unwrap();
        assert!(matches!(
            Store::open(&path),
            Err(StorageError::TooNew { .. })
        ));
    }

    #[test]
    fn enrollment_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(dir.path()).unwrap();
        assert!(s.enrollment().unwrap().is_none());
        let e = Enrollment {
            device_id: "kiosk-0001".into(),
            device_token: "dev_x".into(),
            site: crate::cloud::api::Site::example(),
        };
        s.save_enrollment(&e).unwrap();
        let back = s.enrollment().unwrap().unwrap();
        assert_eq!(back.device_token, "dev_x");
        assert_eq!(back.site.hall_id, e.site.hall_id);
    }

    #[test]
    fn spool_and_cache() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(dir.path()).unwrap();
        let id = s.spool_add("queue_ticket", "{}", None).unwrap();
        s.spool_set_state(id, "done").unwrap();
        assert_eq!(
            s.spool_states().unwrap(),
            vec![("queue_ticket".into(), "done".into())]
        );
        s.cache_put("catalog", "{\"v\":1}").unwrap();
        s.cache_put("catalog", "{\"v\":2}").unwrap();
        assert_eq!(
            s.cache_get("catalog").unwrap().as_deref(),
            Some("{\"v\":2}")
        );
    }
}
